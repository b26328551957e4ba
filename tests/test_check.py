"""`grounding check`: every malformed file gets FILE:LINE: and exit 1, never a traceback, never a change."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys

import pytest

from assistant.cli import main

VALID = """\
id: calm
title: Calm breathing
kind: breathing
source: Test source
breathing:
  phases:
    - inhale: 4
      say: In
    - exhale: 6
      say: Out
  cycles: 3
"""

# (name, file content, expected line, a fragment the message must contain)
MALFORMED = [
    ("empty", "", 1, "empty"),
    ("only-comment", "# nothing here\n", 1, "empty"),
    ("binary", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", 1, "binary"),
    ("nul-bytes", "id: calm\ntitle: x\x00y\n", 2, "NUL"),
    ("control-chars", "id: calm\ntitle: x\x07y\n", 2, "not readable as YAML"),
    ("latin1", None, 2, "UTF-8"),
    ("syntax-colon", "id: calm\ntitle: Calm: breathing: now\n", 2, "quoted"),
    ("syntax-indent", "id: calm\ntitle: x\n  kind: breathing\n", 3, "YAML syntax error"),
    ("tabs", "id: calm\n\ttitle: x\n", 2, "tab"),
    ("top-level-list", "- id: calm\n- title: x\n", 1, "must be a mapping"),
    ("top-level-scalar", "just some words\n", 1, "must be a mapping"),
    ("missing-id", VALID.replace("id: calm\n", ""), 1, "no 'id'"),
    ("bad-id", VALID.replace("id: calm", "id: Calm Breathing!"), 1, "'id' must be lower-case"),
    ("unknown-key", VALID.replace("source:", "sorce:"), 4, "did you mean 'source'"),
    ("unknown-phase-key", VALID.replace("      say: In", "      sya: In"), 8, "did you mean 'say'"),
    ("bad-kind", VALID.replace("kind: breathing", "kind: breething"), 3, "did you mean 'breathing'"),
    ("seconds-text", VALID.replace("inhale: 4", "inhale: four"), 7, "must be a number"),
    ("seconds-zero", VALID.replace("inhale: 4", "inhale: 0"), 7, "more than 0"),
    ("seconds-negative", VALID.replace("exhale: 6", "exhale: -6"), 9, "more than 0"),
    ("seconds-huge", VALID.replace("exhale: 6", "exhale: 600"), 9, "most allowed"),
    ("seconds-nan", VALID.replace("exhale: 6", "exhale: .nan"), 9, "more than 0"),
    ("cycles-float", VALID.replace("cycles: 3", "cycles: 2.5"), 11, "whole number"),
    ("cycles-zero", VALID.replace("cycles: 3", "cycles: 0"), 11, "between 1 and"),
    ("cycles-and-minutes", VALID.replace("cycles: 3", "cycles: 3\n  minutes: 2"), 5, "exactly one"),
    ("no-length", VALID.replace("  cycles: 3\n", ""), 5, "exactly one"),
    ("two-phase-names", VALID.replace("    - inhale: 4\n", "    - inhale: 4\n      exhale: 4\n"), 7, "exactly one of"),
    ("phases-not-list", VALID.split("  phases:")[0] + "  phases: 4\n  cycles: 3\n", 6, "non-empty list"),
    ("say-number", VALID.replace("say: In", "say: 42"), 8, "must be text"),
    ("say-empty", VALID.replace("say: In", "say: ''"), 8, "empty"),
    ("duplicate-key", VALID.replace("title: Calm breathing", "title: Calm breathing\ntitle: Again"), 3, "appears twice"),
    ("both-body", VALID + "steps:\n  - say: hi\n", 1, "not both"),
    ("step-unknown", "id: g\ntitle: G\nkind: grounding\nsteps:\n  - say: hi\n  - wait: 3\n", 6, "allowed keys are: say, pause"),
    ("step-pause-negative", "id: g\ntitle: G\nkind: grounding\nsteps:\n  - pause: -1\n", 5, "more than 0"),
    ("listen-no-timeout", "id: g\ntitle: G\nkind: grounding\nsteps:\n  - listen: {silence_seconds: 2}\n", 5, "timeout_seconds"),
    ("say-cycles-bad", VALID.replace("say: In", "say: In\n      say_cycles: sometimes"), 9, "say_cycles"),
    ("max-cycles-exceeded", VALID.replace("cycles: 3", "cycles: 12\n  max_cycles: 8"), 11, "max_cycles"),
    ("two-documents", VALID + "---\nid: other\n", 12, "YAML syntax error"),
    ("alias-bomb", "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
     "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
     "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n", None, "aliases"),
    ("merge-key", "base: &b {id: x}\n<<: *b\n", 2, "merge keys"),
    ("python-tag", "id: !!python/object/apply:os.system ['echo hacked']\n", 1, "not allowed"),
    ("python-scalar-tag", "id: !!python/name:os.system\n", 1, "cannot read this value"),
    ("cue-unknown-exercise", "cues:\n  start:\n    - exercise: no-such-thing\n      phrases: [hello there]\n", 3, "no exercise has the id"),
    ("cue-unknown-control", "cues:\n  control:\n    stpo: [stop]\n", 3, "did you mean 'stop'"),
    ("cue-duplicate-phrase", "cues:\n  control:\n    stop: [stop]\n    pause: [Stop]\n", 4, "listed twice"),
]


def _write(tmp_path, name, content):
    path = tmp_path / f"{name}.yaml"
    if content is None:  # latin-1 bytes that are not UTF-8
        path.write_bytes(b"id: calm\ntitle: Caf\xe9\n")
    else:
        path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


@pytest.mark.parametrize("name,content,line,fragment", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_file_is_reported_with_file_and_line(tmp_path, capsys, name, content, line, fragment):
    """Each malformed file gets FILE:LINE: message naming the problem, exit 1, and is left untouched."""
    path = _write(tmp_path, name, content)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    code = main(["check", str(path)])
    out = capsys.readouterr().out
    assert code == 1, out
    pattern = re.escape(str(path)) + (r":\d+: " if line is None else rf":{line}: ")
    matching = [row for row in out.splitlines() if re.match(pattern, row)]
    assert matching, f"no {pattern!r} line in:\n{out}"
    assert any(fragment in row for row in matching), out
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_malformed_corpus_is_large_enough():
    """The issue asks for at least 20 malformed files."""
    assert len(MALFORMED) >= 20


def test_valid_file_passes(tmp_path, capsys):
    """A well-formed file checks clean with exit 0."""
    path = _write(tmp_path, "calm", VALID)
    assert main(["check", str(path)]) == 0
    assert capsys.readouterr().out == ""


def test_bundled_library_checks_clean(capsys, tmp_path, monkeypatch):
    """`grounding check` with no paths passes on everything bundled."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert main(["check"]) == 0, capsys.readouterr().out
    assert "crisis language" not in capsys.readouterr().out  # (no line of ours opens crisis support by its echo)


def test_a_line_holding_crisis_language_is_a_warning_at_its_line(tmp_path, capsys):
    """The listener acts on crisis language even over our own voice, so a script line holding it could, by
    its own echo, open crisis support mid-exercise. It is a warning: the file still loads."""
    text = """\
id: echo
title: Echo
kind: grounding
source: Test source
intro: [Welcome., "The urge may stay. It doesn't need to vanish."]
steps:
  - say: This traffic is killing me, people say.
  - breathe:
      phases:
        - inhale: 4
        - exhale: 6
          say: Let the wish to disappear soften
      cycles: 2
  - say: I want to end it all, said no one here.
"""
    path = _write(tmp_path, "echo", text)
    assert main(["check", str(path)]) == 0
    out = capsys.readouterr().out
    warned = sorted(int(line) for line in re.findall(rf"{re.escape(str(path))}:(\d+): warning: .*crisis language", out))
    assert warned == [5, 12, 14], out  # the intro's second line, the phase's prompt, the last step


def test_prompt_too_long_for_its_phase_is_a_warning(tmp_path, capsys):
    """A prompt that cannot be said within its phase warns but does not fail."""
    long_prompt = "Breathe in slowly and deeply through your nose and feel your belly rise"
    path = _write(tmp_path, "long", VALID.replace("say: In", f"say: {long_prompt}"))
    assert main(["check", str(path)]) == 0
    out = capsys.readouterr().out
    assert re.search(rf"{re.escape(str(path))}:8: warning: .*words per minute.*inhale lasts 4 s", out), out


def test_duplicate_ids_across_files(tmp_path, capsys):
    """Two files with the same id: the second is reported at its id line."""
    first = _write(tmp_path, "a", VALID)
    second = _write(tmp_path, "b", VALID)
    assert main(["check", str(first), str(second)]) == 1
    out = capsys.readouterr().out
    assert f"{second}:1: the id 'calm' is already used by {first}" in out


def test_cue_file_may_name_exercises_from_other_files(tmp_path, capsys):
    """A cue map may start an exercise defined in a sibling file or in the bundled library."""
    _write(tmp_path, "calm", VALID)
    _write(tmp_path, "cues", "cues:\n  start:\n    - exercise: calm\n      phrases: [calm me]\n    - exercise: box-breathing\n      phrases: [box please]\n")
    assert main(["check", str(tmp_path)]) == 0, capsys.readouterr().out


def test_a_cue_file_crisis_section_is_checked_with_lines(tmp_path, capsys):
    """`crisis:` in a cue file takes phrases like any intent: a phrase also under a start cue, or an empty
    list, is reported at its line; a good one passes."""
    good = _write(tmp_path, "good", "cues:\n  crisis: [the darkness is winning, I want to go be with grandma]\n")
    assert main(["check", str(good)]) == 0, capsys.readouterr().out
    twice = _write(tmp_path, "twice", "cues:\n  start:\n    - exercise: box-breathing\n      phrases: [box please]\n"
                                      "  crisis:\n    - the darkness is winning\n    - box please\n")
    empty = _write(tmp_path, "empty", "cues:\n  crisis: []\n")
    assert main(["check", str(twice), str(empty)]) == 1
    out = capsys.readouterr().out
    assert f"{twice}:7: the phrase 'box please' is listed twice (also at line 4)" in out
    assert f"{empty}:2: phrases must be a non-empty list of texts" in out


def test_missing_path_is_reported(tmp_path, capsys):
    """A path that does not exist is a problem, not a crash."""
    assert main(["check", str(tmp_path / "nope.yaml")]) == 1
    assert "no such file" in capsys.readouterr().out


def test_check_runs_as_a_command_without_traceback(tmp_path):
    """The real `python -m assistant check` prints FILE:LINE: and no traceback."""
    path = _write(tmp_path, "bad", VALID.replace("inhale: 4", "inhale: -4"))
    result = subprocess.run([sys.executable, "-m", "assistant", "check", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert f"{path}:7: 'inhale' must be more than 0 seconds" in result.stdout
    assert "Traceback" not in result.stderr
