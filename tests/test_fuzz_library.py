"""Fuzzing the exercise loader and `grounding check`: bad files give FILE:LINE: messages, never a traceback.

What is fuzzed, and how many cases (all seeded, so every run sees the same files):

- 1200 mutants of the bundled exercise and cue files, plus a settings and a
  resources file: byte flips, truncation, deleted, duplicated and swapped lines,
  changed indentation and tabs, CRLF, a BOM, NUL and invalid UTF-8, values swapped
  for wrong types, huge, negative and NaN numbers, unicode, anchors and aliases,
  tags, deep nesting and splices of two files. Each goes through `load_file`
  one by one, then `grounding check` (in-process, a folder of 40 at a time)
  and the first 600 through `load_library` (as the user's folder, 40 at a time).
- 150 structured documents from hypothesis (exercise, cue, settings and
  resources shapes whose values are of any type, with play steps naming broken
  WAVs, a pipe, a link to itself and names no file system takes), each checked
  in-process on its own.
- 2 mutants through the real `python -m assistant check` command, and one
  regression test for each bug the fuzzing found (at the end of this file).

The properties: nothing raises; `check` exits 0 or 1 and every line it prints
is `FILE:LINE: message` with a line inside the file; a file that does not load
is named in the output; `load_library` warns about every broken user file and
goes on; no input file changes by a single byte.
"""

from __future__ import annotations

import hashlib
import io
import os
import random
import re
import subprocess
import sys
import tempfile
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

from assistant.cli import main
from assistant.library import loader
from assistant.library.loader import BUNDLED_DIR, load_library

# Hypothesis keeps a cache in ./.hypothesis even without a database: keep it out of the work tree.
set_hypothesis_home_dir(os.path.join(tempfile.gettempdir(), "grounding-hypothesis"))

MUTANT_COUNT = 1200
BATCH = 40  # mutants per folder handed to one `grounding check` / `load_library`
LIBRARY_COUNT = 600  # of them also loaded as the user's own exercise folder
SEED = 20240607

SETTINGS_SEED = b"""\
settings:
  voice: en-us
  words_per_minute: 105
  volume: 0.8
  tone: {low_hz: 196, high_hz: 294}
  noise: brown
  prefer:
    grounding-5-4-3-2-1: orienting
"""
RESOURCES_SEED = b"""\
resources:
  crisis_lines:
    - label: Samaritans
      number: "116 123"
      hours: any time
  care_team:
    - label: Dr. Rivera's practice
      number: "555 0100"
      hours: weekdays 9 to 5
  replace_defaults: false
"""

# Values a hand-edited file might end up with, and values an attacker would try.
NASTY_VALUES = [
    "", "~", "null", "-1", "0", "-0.0", "1e309", "-1e309", ".nan", ".NaN", "-.inf", ".inf", "1e-320",
    "99999999999999999999999", "9" * 5000, "0x" + "f" * 4000, "0x7fffffff", "0o17", "0b101", "1_000", "190:20:30",
    "true", "no", "yes", "off", "[]", "{}", "[1, [2, [3]]]", "{a: {b: {c: d}}}", "'unterminated", '"unterminated',
    '"\\u0000"', '"\\x07"', '"\\ud800"', "!!binary aGVsbG8=", "!!binary '!!!'", "!!python/object:os.system x",
    "!!python/name:os.system", "*undefined", "&a x", "2001-12-14t21:59:43.10-05:00", "2001-13-45", "!!timestamp x",
    "!!int abc", "!!float abc", "!!bool maybe", "!!str", "!!null x", "!!set {a, b}", "!!omap [a: 1]", "!!pairs [a: 1]",
    "!custom x", "!<tag:x> x", "=", "<<", "? complex", "|\n  block text", ">-\n  folded", "@reserved", "`backtick",
    "śćż", "\u202eevil", "\U0001f600\U0001f600", "\u0301", "\ufeff", "\u2028", "\u00a0", "a" * 3000,
    "[" * 300 + "]" * 300, "{a: " * 200 + "x" + "}" * 200, "- - - - x", "x: y: z", "%", "#comment", "'it''s'",
]
NASTY_KEYS = [
    "id", "title", "kind", "steps", "breathing", "phases", "cycles", "minutes", "max_cycles", "say", "say_cycles",
    "pause", "breathe", "listen", "play", "timeout_seconds", "silence_seconds", "cues", "start", "control",
    "exercise", "phrases", "language", "settings", "resources", "inhale", "exhale", "hold", "rest", "1", "null",
    "true", "<<", "? [a]", "[a, b]", "{a: b}", "&k id", "*k", "\u00e9t\u00e9", "", "'quoted key'",
]
NASTY_LINES = [
    "<<: *a", "base: &a {id: x}", "&anchor", "--- ", "...", "%YAML 1.1", "%TAG ! tag:x,2000:", "- *a",
    "loop: &l [*l]", "a: &b [x, x, x, x, x, x, x, x, x, x]", "c: [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]",
    "? [a, b]", ": value", "- ", "  -", "\t- say: tabbed", "say: |", "  - play: ../../etc/passwd.wav",
    "  - play: /dev/zero.wav", "  - play: missing.wav", "  - play: ~/x.wav", "  - listen: {}", "  - pause: .nan",
    "steps: !!set {a, b}", "id: !!python/object/apply:os.system ['true']", "\x00", "\x07", "\ufeffid: x",
    "kind: breathing", "breathing: {phases: [{inhale: 1e308}], cycles: 1}", "cues: {start: [{exercise: x}]}",
]


# --------------------------------------------------------------------------------- the mutator


def seed_files() -> list[tuple[str, bytes]]:
    """Every bundled YAML file, plus a settings and a resources file, as (name, bytes)."""
    seeds = [(path.name, path.read_bytes()) for path in sorted(BUNDLED_DIR.glob("*.yaml"))]
    return seeds + [("config.yaml", SETTINGS_SEED), ("resources.yaml", RESOURCES_SEED)]


def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def _value_swap(rng: random.Random, data: bytes) -> bytes:
    """Replace what follows the first ': ' (or '- ') on a random line with a nasty value."""
    lines = _lines(data)
    candidates = [i for i, line in enumerate(lines) if b": " in line or line.lstrip().startswith(b"- ")]
    if not candidates:
        return data
    i = rng.choice(candidates)
    line = lines[i]
    cut = line.index(b": ") + 2 if b": " in line else line.index(b"- ") + 2
    lines[i] = line[:cut] + rng.choice(NASTY_VALUES).encode("utf-8", "surrogatepass")
    return b"\n".join(lines)


def _key_swap(rng: random.Random, data: bytes) -> bytes:
    lines = _lines(data)
    candidates = [i for i, line in enumerate(lines) if b":" in line]
    if not candidates:
        return data
    i = rng.choice(candidates)
    line = lines[i]
    indent = len(line) - len(line.lstrip(b" -"))
    lines[i] = line[:indent] + rng.choice(NASTY_KEYS).encode() + line[line.index(b":") :]
    return b"\n".join(lines)


def _insert_line(rng: random.Random, data: bytes) -> bytes:
    lines = _lines(data)
    i = rng.randrange(len(lines) + 1)
    indent = b" " * rng.choice([0, 0, 2, 4, 6])
    lines.insert(i, indent + rng.choice(NASTY_LINES).encode())
    return b"\n".join(lines)


def _reindent(rng: random.Random, data: bytes) -> bytes:
    lines = _lines(data)
    i = rng.randrange(len(lines))
    stripped = lines[i].lstrip(b" ")
    lines[i] = rng.choice([b"", b" ", b"   ", b"\t", b"  \t", b" " * 9]) + stripped
    return b"\n".join(lines)


def _alias_bomb(rng: random.Random, data: bytes) -> bytes:
    """Anchor a list and repeat it through aliases, nested a few levels."""
    levels = rng.randint(2, 5)
    width = rng.randint(2, 9)
    text = b"a0: &a0 [" + b", ".join([b"x"] * width) + b"]\n"
    for level in range(1, levels):
        text += b"a%d: &a%d [" % (level, level) + b", ".join([b"*a%d" % (level - 1)] * width) + b"]\n"
    return data + b"\n" + text if rng.random() < 0.5 else text + data


def _nest(rng: random.Random, data: bytes) -> bytes:
    depth = rng.choice([60, 99, 101, 150, 300])  # around MAX_DEPTH; deeper costs PyYAML's scanner quadratic time
    style = rng.choice(["flow-list", "flow-map", "block"])
    if style == "flow-list":
        deep = b"[" * depth + b"]" * depth
    elif style == "flow-map":
        deep = b"{a: " * depth + b"x" + b"}" * depth
    else:
        deep = b"\n" + b"".join(b"  " * (k + 1) + b"- \n" for k in range(min(depth, 400)))
    return data + b"\nsteps: " + deep + b"\n"


def _splice(rng: random.Random, data: bytes, other: bytes) -> bytes:
    a, b = rng.randrange(len(data) + 1), rng.randrange(len(other) + 1)
    return data[:a] + other[b:]


MUTATIONS = [
    ("byte-flip", lambda rng, d, o: _set_byte(rng, d, rng.randrange(256))),
    ("bit-flip", lambda rng, d, o: _flip_bit(rng, d)),
    ("truncate", lambda rng, d, o: d[: rng.randrange(len(d) + 1)]),
    ("delete-line", lambda rng, d, o: _edit_lines(rng, d, "delete")),
    ("duplicate-line", lambda rng, d, o: _edit_lines(rng, d, "duplicate")),
    ("swap-lines", lambda rng, d, o: _edit_lines(rng, d, "swap")),
    ("repeat-line", lambda rng, d, o: _edit_lines(rng, d, "repeat")),
    ("reindent", lambda rng, d, o: _reindent(rng, d)),
    ("tabs", lambda rng, d, o: d.replace(b"  ", b"\t", rng.randint(1, 5))),
    ("crlf", lambda rng, d, o: d.replace(b"\n", rng.choice([b"\r\n", b"\r", b"\x85", "\u2028".encode()]))),
    ("bom", lambda rng, d, o: rng.choice([b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"]) + d),
    ("insert-bytes", lambda rng, d, o: _insert_bytes(rng, d)),
    ("value", lambda rng, d, o: _value_swap(rng, d)),
    ("key", lambda rng, d, o: _key_swap(rng, d)),
    ("line", lambda rng, d, o: _insert_line(rng, d)),
    ("aliases", lambda rng, d, o: _alias_bomb(rng, d)),
    ("nesting", lambda rng, d, o: _nest(rng, d)),
    ("splice", lambda rng, d, o: _splice(rng, d, o)),
    ("empty", lambda rng, d, o: rng.choice([b"", b"\n", b" ", b"---", b"...", b"# only a comment\n", b"~", b"[]", b"{}"])),
]


def _set_byte(rng: random.Random, data: bytes, value: int) -> bytes:
    if not data:
        return bytes([value])
    i = rng.randrange(len(data))
    return data[:i] + bytes([value]) + data[i + 1 :]


def _flip_bit(rng: random.Random, data: bytes) -> bytes:
    if not data:
        return data
    i = rng.randrange(len(data))
    return data[:i] + bytes([data[i] ^ (1 << rng.randrange(8))]) + data[i + 1 :]


def _insert_bytes(rng: random.Random, data: bytes) -> bytes:
    chunk = rng.choice([b"\x00", b"\x07", b"\x1b[31m", b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\x7f", b"\xc2\x85"])
    i = rng.randrange(len(data) + 1)
    return data[:i] + chunk + data[i:]


def _edit_lines(rng: random.Random, data: bytes, how: str) -> bytes:
    lines = _lines(data)
    i = rng.randrange(len(lines))
    if how == "delete":
        del lines[i]
    elif how == "duplicate":
        lines.insert(i, lines[i])
    elif how == "swap":
        j = rng.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
    else:
        lines[i : i + 1] = [lines[i]] * rng.choice([10, 50, 300])
    return b"\n".join(lines)


def mutants(count: int, seed: int = SEED) -> list[tuple[str, bytes]]:
    """`count` mutated files, (label, bytes): one to three mutations of a seed file each."""
    rng = random.Random(seed)
    seeds = seed_files()
    made = []
    for index in range(count):
        name, data = seeds[index % len(seeds)]
        labels = []
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            label, mutate = rng.choice(MUTATIONS)
            data = mutate(rng, data, rng.choice(seeds)[1])
            labels.append(label)
        made.append((f"{index:04d}.{'+'.join(labels)}.{Path(name).stem}", data))
    return made


# --------------------------------------------------------------------------------- the properties

PROBLEM_LINE = re.compile(r"^(?P<file>.+?):(?P<line>\d+): (?P<message>\S.*)$")


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _line_count(data: bytes) -> int:
    """Lines as YAML counts them: \\r\\n, \\r, \\n, and also U+0085, U+2028 and U+2029."""
    text = data.decode("utf-8", "replace").replace("\r\n", "\n")
    return 1 + sum(text.count(brk) for brk in ("\n", "\r", "\x85", "\u2028", "\u2029"))


def _assert_problem_is_sound(problem, path: Path, data: bytes) -> None:
    """A problem names the file, a line that exists (or the one just after the end) and a message."""
    assert problem.file == str(path)
    assert 1 <= problem.line <= _line_count(data) + 1, (problem, _line_count(data))
    assert problem.message.strip() and "Traceback" not in problem.message
    assert "\n" not in str(problem)


def _run_check(args: list[str]) -> tuple[int, str, str]:
    """`grounding check ...` in-process; the exit code, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["check", *args])
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def private_home(tmp_path, monkeypatch):
    """XDG_CONFIG_HOME in a temporary folder, so no real user file takes part."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return tmp_path


@pytest.fixture(scope="module", autouse=True)
def bundled_files_parsed_once():
    """The bundled files are read once for the module, not in every check: they are not what is fuzzed."""
    parsed: dict[tuple[Path, float], loader.LoadedFile] = {}
    real_load_file = loader.load_file

    def load_file_once(path: Path, words_per_minute: float = loader.DEFAULT_WORDS_PER_MINUTE) -> loader.LoadedFile:
        if path.parent != BUNDLED_DIR:
            return real_load_file(path, words_per_minute)
        key = (path, words_per_minute)
        if key not in parsed:
            parsed[key] = real_load_file(path, words_per_minute)
        return parsed[key]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(loader, "load_file", load_file_once)
        yield


@dataclass
class Written:
    """One mutant on disk, and what `load_file` made of it."""

    path: Path
    data: bytes
    loaded: loader.LoadedFile


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> list[Written]:
    """Every mutant written to a file of its own and loaded once; the tests below judge the results."""
    folder = tmp_path_factory.mktemp("mutants")
    written = []
    for name, data in mutants(MUTANT_COUNT):
        path = folder / f"{name}.yaml"
        path.write_bytes(data)
        written.append(Written(path, data, loader.load_file(path)))
    return written


def test_mutator_is_deterministic_and_varied():
    """The same seed gives the same files; the mutants are mostly distinct and use every mutation."""
    first, again = mutants(200), mutants(200)
    assert first == again
    assert len({data for _, data in first}) > 180
    used = {label for name, _ in mutants(MUTANT_COUNT) for label in name.split(".")[1].split("+")}
    assert used == {label for label, _ in MUTATIONS}


def test_each_mutant_loads_without_raising_and_is_left_alone(corpus):
    """`load_file` on every mutant: no exception, a reason when nothing usable came out, problems at real lines."""
    assert len(corpus) == MUTANT_COUNT
    for item in corpus:
        for problem in item.loaded.problems:
            _assert_problem_is_sound(problem, item.path, item.data)
        if item.loaded.exercise is None and item.loaded.document is None:
            assert not item.loaded.ok, item.path.name  # nothing usable came out, so it must say why
        assert item.path.read_bytes() == item.data, f"{item.path.name} was modified"
    usable = sum(item.loaded.ok for item in corpus)
    assert 0.05 * MUTANT_COUNT < usable < 0.95 * MUTANT_COUNT  # the mutants are neither all harmless nor all junk


def _batches(corpus: list[Written], folder: Path):
    """The mutants in folders of BATCH, as the same bytes under new names."""
    for start in range(0, len(corpus), BATCH):
        batch_folder = folder / f"batch-{start:04d}"
        batch_folder.mkdir()
        batch = []
        for item in corpus[start : start + BATCH]:
            path = batch_folder / item.path.name
            path.write_bytes(item.data)
            batch.append(Written(path, item.data, item.loaded))
        yield batch_folder, batch


def test_check_reports_every_broken_mutant_with_file_and_line(corpus, private_home):
    """`grounding check FOLDER` on 40 mutants at a time: exit 0/1, only FILE:LINE: lines, every broken file named."""
    for folder, batch in _batches(corpus, private_home):
        by_name = {str(item.path): item for item in batch}
        code, out, err = _run_check([str(folder)])
        assert code in (0, 1)
        assert "Traceback" not in out + err
        named = set()
        for row in out.splitlines():
            found = PROBLEM_LINE.match(row)
            assert found, f"not FILE:LINE: message: {row!r}"
            assert found["file"] in by_name, row
            assert 1 <= int(found["line"]) <= _line_count(by_name[found["file"]].data) + 1, row
            if not found["message"].startswith("warning: "):
                named.add(found["file"])
        broken = {name for name, item in by_name.items() if not item.loaded.ok}
        assert broken <= named, f"broken but not reported: {sorted(broken - named)}"
        assert (code == 1) == bool(named), out
        assert all(item.path.read_bytes() == item.data for item in batch)


def test_load_library_warns_about_broken_user_files_and_goes_on(corpus, private_home):
    """Mutants as the user's own files: load_library never raises, warns about each broken one, keeps the rest."""
    bundled = set(load_library(user_dir=private_home / "none").exercises)
    for folder, batch in _batches(corpus[:LIBRARY_COUNT], private_home):
        warnings: list[str] = []
        library = load_library(user_dir=folder, warn=warnings.append)
        for item in batch:
            assert item.path.read_bytes() == item.data
            if not item.loaded.ok:
                assert any(str(item.path) in warning for warning in warnings), f"no warning for {item.path.name}"
        assert bundled <= set(library.exercises)  # a broken user file never costs a bundled exercise
        assert library.get("crisis").kind == "crisis"


def test_check_as_a_real_command_on_a_few_mutants(corpus, private_home):
    """The real `python -m assistant check FILE`: exit 0 or 1, FILE:LINE: lines, no traceback."""
    rng = random.Random(SEED)
    for item in rng.sample(corpus, 2):
        path, data = item.path, item.data
        result = subprocess.run(
            [sys.executable, "-m", "assistant", "check", str(path)],
            capture_output=True, text=True, timeout=60, env=_env(private_home),
        )
        assert result.returncode in (0, 1), result.stderr
        assert "Traceback" not in result.stderr + result.stdout
        for row in result.stdout.splitlines():
            assert row.startswith(f"{path}:") and PROBLEM_LINE.match(row), row
        assert path.read_bytes() == data


def _env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["XDG_CONFIG_HOME"] = str(home / "config")
    env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)
    return env


# --------------------------------------------------------------------------------- structured documents

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.sampled_from(["breathing", "grounding", "box-breathing", "inhale", "all", "4", "en", "ko", "x.wav", "broken.wav", "../up.wav"]),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(NASTY_KEYS[:26]) | st.text(max_size=8), inner, max_size=4),
    ),
    max_leaves=12,
)
PHASE = st.fixed_dictionaries(
    {},
    optional={"inhale": VALUES, "exhale": VALUES, "hold": VALUES, "say": VALUES, "say_cycles": VALUES},
)
BREATHING = st.fixed_dictionaries({}, optional={"phases": st.lists(PHASE, max_size=3) | VALUES, "cycles": VALUES, "minutes": VALUES, "max_cycles": VALUES})
# Recordings in the play folder (see `play_folder`), and names no file system takes.
PLAY_NAMES = st.one_of(
    st.sampled_from(["broken.wav", "empty.wav", "good.wav", "folder.wav", "pipe.wav", "loop.wav", "missing.wav",
                     "../good.wav", "/etc/passwd.wav", "~/x.wav", "x\x00.wav", "a" * 300 + ".wav", "sub/" * 40 + "x.wav"]),
    st.text(max_size=20).map(lambda name: name + ".wav"),
)
STEP = st.one_of(
    st.fixed_dictionaries({"say": VALUES}),
    st.fixed_dictionaries({"pause": VALUES}),
    st.fixed_dictionaries({"breathe": BREATHING}),
    st.fixed_dictionaries({"listen": st.fixed_dictionaries({}, optional={"timeout_seconds": VALUES, "silence_seconds": VALUES})}),
    st.fixed_dictionaries({"play": PLAY_NAMES | VALUES}),
    VALUES,
)
EXERCISE = st.fixed_dictionaries(
    {},
    optional={
        "id": st.sampled_from(["calm", "box-breathing", "crisis", "Bad Id"]) | VALUES,
        "title": VALUES,
        "kind": st.sampled_from(["breathing", "grounding", "sleep"]) | VALUES,
        "summary": VALUES,
        "cautions": VALUES,
        "intro": VALUES,
        "breathing": BREATHING | VALUES,
        "steps": st.lists(STEP, max_size=5) | VALUES,
    },
)
CUES = st.fixed_dictionaries(
    {"cues": st.fixed_dictionaries({}, optional={
        "language": VALUES,
        "start": st.lists(st.fixed_dictionaries({}, optional={"exercise": VALUES, "phrases": VALUES}), max_size=3) | VALUES,
        "control": st.dictionaries(st.sampled_from(["stop", "pause", "slower", "stpo"]), VALUES, max_size=3) | VALUES,
    }) | VALUES}
)
PERSONAL = st.one_of(
    st.fixed_dictionaries({"settings": st.fixed_dictionaries({}, optional={
        "voice": VALUES, "words_per_minute": VALUES, "volume": VALUES, "tone": VALUES, "noise": VALUES, "prefer": VALUES,
    }) | VALUES}),
    st.fixed_dictionaries({"resources": st.fixed_dictionaries({}, optional={
        "crisis_lines": st.lists(st.fixed_dictionaries({}, optional={"label": VALUES, "number": VALUES, "hours": VALUES}), max_size=2) | VALUES,
        "care_team": VALUES, "replace_defaults": VALUES,
    }) | VALUES}),
)
DOCUMENT = st.one_of(EXERCISE, EXERCISE, CUES, PERSONAL, VALUES)


def _dump(document, style: int) -> bytes:
    """A document as YAML text, block or flow style; values YAML cannot write become plain text."""
    try:
        text = yaml.safe_dump(document, default_flow_style=bool(style % 2), allow_unicode=style > 1, sort_keys=False)
    except (yaml.YAMLError, ValueError):
        text = repr(document)
    return text.encode("utf-8", "surrogatepass")


@pytest.fixture(scope="module")
def play_folder(tmp_path_factory):
    """A folder with the recordings play steps name: good, empty, broken, and a folder ending in .wav."""
    from tests.test_fuzz_wav import wav_bytes

    folder = tmp_path_factory.mktemp("structured")
    (folder / "good.wav").write_bytes(wav_bytes(frames=b"\x00\x01" * 800, sample_rate=8000))
    (folder / "empty.wav").write_bytes(b"")
    (folder / "broken.wav").write_bytes(wav_bytes(frames=b"\x00\x01" * 800, sample_rate=0))
    (folder / "folder.wav").mkdir()
    os.mkfifo(folder / "pipe.wav")
    (folder / "loop.wav").symlink_to(folder / "loop.wav")
    return folder


@settings(
    max_examples=150,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)
@given(document=DOCUMENT, style=st.integers(min_value=0, max_value=3))
def test_structured_documents_check_cleanly(play_folder, document, style, monkeypatch):
    """Generated exercise, cue, settings and resources documents: check exits 0/1 with FILE:LINE: lines only."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(play_folder / "config"))
    data = _dump(document, style)
    path = play_folder / "doc.yaml"
    path.write_bytes(data)
    loaded = loader.load_file(path)
    for problem in loaded.problems:
        _assert_problem_is_sound(problem, path, data)
    code, out, err = _run_check([str(path)])
    assert code in (0, 1) and "Traceback" not in out + err
    for row in out.splitlines():
        found = PROBLEM_LINE.match(row)
        assert found and found["file"] == str(path), row
    assert (code == 0) == loaded.ok or loaded.is_cue_file or loaded.is_settings_file
    assert path.read_bytes() == data


# --------------------------------------------------------------------------------- what fuzzing found

BREATHING_WITH = "id: tiny\ntitle: Tiny\nkind: breathing\nbreathing:\n  phases:\n    - inhale: {seconds}\n  minutes: {minutes}\n"

REGRESSIONS = [
    # (name, file content, expected line, a fragment of the message)
    ("deep-flow-list", "id: x\nsteps: " + "[" * 1000 + "]" * 1000 + "\n", 2, "nested more than 100 levels"),
    ("deep-flow-map", "id: x\nsteps: " + "{a: " * 500 + "x" + "}" * 500 + "\n", 2, "nested more than 100 levels"),
    ("deep-through-aliases", "".join(
        f"a{k}: &a{k} " + "[" * 60 + (f"*a{k - 1}" if k else "x") + "]" * 60 + "\n" for k in range(4)
    ), None, "nested more than 100 levels"),
    ("long-integer", "id: x\ntitle: x\nkind: breathing\nbreathing: {phases: [{inhale: " + "9" * 5000 + "}], cycles: 1}\n", 4, "too large"),
    ("long-hex", "id: x\nsteps:\n  - pause: 0x" + "f" * 4000 + "\n", 3, "too large"),
    ("huge-integer", "settings:\n  words_per_minute: 1" + "0" * 400 + "\n", 2, "too large"),
    ("thirteenth-month", "id: x\nsource: 2001-13-45\n", 2, "cannot read this value (month must be in 1..12)"),
    ("int-tag-on-text", "id: x\ntitle: !!int abc\n", 2, "cannot read this value"),
    ("float-tag-on-text", "id: x\ntitle: !!float abc\n", 2, "cannot read this value"),
    ("bool-tag-on-text", "id: x\ntitle: !!bool maybe\n", 2, "cannot read this value"),
    ("timestamp-tag-on-text", "id: x\ntitle: !!timestamp x\n", 2, "cannot read this value"),
    ("denormal-phase", BREATHING_WITH.format(seconds="1.0e-320", minutes=1), 7, "more than 1000 cycles"),
    ("tiny-phase", BREATHING_WITH.format(seconds=0.001, minutes=60), 7, "more than 1000 cycles"),
]


@pytest.mark.parametrize("name,content,line,fragment", REGRESSIONS, ids=[r[0] for r in REGRESSIONS])
def test_what_fuzzing_found_is_a_message_not_a_crash(private_home, name, content, line, fragment):
    """Each file once raised (RecursionError, ValueError, OverflowError...) or hung; now check names file and line."""
    path = private_home / f"{name}.yaml"
    path.write_text(content, encoding="utf-8")
    code, out, err = _run_check([str(path)])
    assert code == 1, out + err
    prefix = f"{path}:{line}: " if line else f"{path}:"
    assert any(row.startswith(prefix) and fragment in row for row in out.splitlines()), out


def test_a_key_with_a_line_break_stays_on_its_own_line(private_home):
    """A key such as '\\r' or U+2028 is escaped in the message, so each problem is still one FILE:LINE: line."""
    path = private_home / "breaks.yaml"
    path.write_text('"a\\rb": 1\n"c\\u2028d": 2\n"e\\ud800": 3\n', encoding="utf-8")
    code, out, err = _run_check([str(path)])
    assert code == 1
    rows = out.splitlines()
    assert rows and all(PROBLEM_LINE.match(row) and row.startswith(f"{path}:") for row in rows), rows
    assert "unknown key 'a\\rb'" in out and "'c\\u2028d'" in out and "'e\\ud800'" in out


@pytest.mark.parametrize(
    "name,fragment",
    [
        ('"x\\0.wav"', "cannot be used as a file name (embedded null byte)"),
        ("a" * 300 + ".wav", "cannot be used as a file name (File name too long)"),
        ("loop.wav", "cannot be used as a file name (Symlink loop"),
        ("pipe.wav", "is not a regular file"),
    ],
    ids=["nul", "too-long", "link-loop", "pipe"],
)
def test_play_names_no_file_system_takes_are_problems(private_home, name, fragment):
    """`play:` with a NUL, a 300-letter name or a link to itself raised ValueError/OSError/RuntimeError in check."""
    (private_home / "loop.wav").symlink_to(private_home / "loop.wav")
    os.mkfifo(private_home / "pipe.wav")
    path = private_home / "play.yaml"
    path.write_text(f"id: p\ntitle: P\nkind: grounding\nsteps:\n  - play: {name}\n", encoding="utf-8")
    code, out, err = _run_check([str(path)])
    assert code == 1, out + err
    assert out.startswith(f"{path}:5: ") and fragment in out, out


def test_check_of_a_pipe_or_a_device_is_a_problem_not_a_hang(private_home):
    """`grounding check` of a pipe waited for a writer for ever, and of /dev/zero read until memory ran out."""
    pipe = private_home / "pipe.yaml"
    os.mkfifo(pipe)
    huge = private_home / "huge.yaml"
    huge.write_bytes(b"a" * 2_000_000)
    code, out, err = _run_check([str(pipe), os.devnull, str(huge)])
    assert code == 1, out + err
    assert f"{pipe}:1: this is not a regular file" in out
    assert f"{os.devnull}:1: this is not a regular file" in out
    assert f"{huge}:1: the file is 2,000,000 bytes" in out
