"""Fuzzing the cue matcher, the crisis detector and `grounding detect --text`: any text, an answer, quickly.

What is fuzzed, and how many cases (hypothesis with derandomize=True and no database, so every
run sees the same texts):

- 300 texts of any unicode (surrogates, controls, combining marks, private use), and
  200 built from cue phrases, crisis words, fillers, control words, other scripts
  (Korean, Arabic, Cyrillic, Devanagari, emoji) and punctuation storms, joined
  by any separator. `CueMatcher.match`, `match_all` and `detect_crisis` never
  raise, give valid Detections (None or one of the known kinds and intents),
  agree with each other, and give the same answer twice and from a second matcher.
- 300 crisis sentences from tests/data wrapped in 0-3 harmless words before and
  after (fillers, courtesy and time words, control words, start phrases):
  crisis must still win.
- 6 long texts (up to 20,000 characters), each answered within seconds.
- 40 texts through `grounding detect --text ... --json` in-process (exit 0, one
  JSON object per line), and 2 through the real command with bytes that are
  not UTF-8 and a strict stdout.
"""

from __future__ import annotations

import io
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

from assistant.cli import main
from assistant.library.loader import load_library
from assistant.library.model import CONTROL_INTENTS
from assistant.speech.crisis import CATEGORIES, CrisisMatch, detect_crisis
from assistant.speech.cues import KINDS, CueMatcher, Detection

# Hypothesis keeps a cache in ./.hypothesis even without a database: keep it out of the work tree.
set_hypothesis_home_dir(os.path.join(tempfile.gettempdir(), "grounding-hypothesis"))

DATA = Path(__file__).parent / "data"
SEED = 2024_11


def _lines(name: str) -> list[str]:
    text = (DATA / name).read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


CRISIS_SENTENCES = _lines("crisis_phrases.txt") + _lines("crisis_phrases_dev.txt")

# Words that frame a sentence without changing what it says. Before it: anything a person might
# open with, cues included. After it: fillers, courtesy and time words and controls; a start phrase
# after an end-anchored crisis phrase ("I can't go on I'm spiraling") is a known gap, see the report.
HARMLESS_BEFORE = [
    "okay", "um", "uh", "so", "well", "hey", "listen", "honestly", "and", "look", "you know", "i think",
    "hello", "right", "please", "sorry", "stop", "pause", "wait", "help me breathe", "i'm spiraling",
    "box breathing", "slower", "okay grounding", "hmm", "like",
]
HARMLESS_AFTER = [
    "okay", "um", "so", "please", "today", "tonight", "right now", "now", "honestly", "i guess", "you know",
    "stop", "pause", "slower", "thank you", "thanks", "though", "really", "like", "help me", "help me breathe",
    "anyway", "uh",
]

OTHER_SCRIPTS = ["안녕하세요 숨", "나 너무 불안해", "مرحبا بك", "привет как дела", "नमस्ते", "こんにちは", "你好吗", "שלום", "🙂🙃💀🔪", "e\u0301\u0301\u0301"]
PUNCTUATION = ["!!!", "???", "...", "—", ";;", "::", "''", '"', "(", ")", "[unk]", "<noise>", "\u2026", "-", "’s", "n't", "'", "&", "#", "\\"]


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    """The bundled library only: an empty user folder and a private XDG_CONFIG_HOME."""
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CONFIG_HOME", str(home))
        yield load_library(user_dir=home / "none")


@pytest.fixture(scope="module")
def matcher(library) -> CueMatcher:
    return CueMatcher(library.cue_maps)


@pytest.fixture(scope="module")
def second_matcher(library) -> CueMatcher:
    return CueMatcher(library.cue_maps)


def _vocabulary(library) -> list[str]:
    """Every cue phrase in the bundled maps, plus words from the crisis sentences."""
    words = [phrase for cue_map in library.cue_maps for cue in cue_map.start for phrase in cue.phrases]
    words += [phrase for cue_map in library.cue_maps for group in cue_map.control.values() for phrase in group]
    words += sorted({word for sentence in CRISIS_SENTENCES for word in sentence.split()})
    return words


VOCABULARY = _vocabulary(load_library(user_dir=Path("/nonexistent-user-folder")))

ANY_TEXT = st.text(alphabet=st.characters(exclude_categories=()), max_size=200)
PIECE = st.one_of(
    st.sampled_from(VOCABULARY),
    st.sampled_from(CRISIS_SENTENCES),
    st.sampled_from(HARMLESS_BEFORE + HARMLESS_AFTER),
    st.sampled_from(OTHER_SCRIPTS),
    st.sampled_from(PUNCTUATION),
    st.text(alphabet=st.characters(exclude_categories=()), max_size=8),
)
SEPARATOR = st.sampled_from([" ", " ", " ", "", ", ", ". ", "... ", "\n", "\t", " - ", "—", "!", "? ", "  "])
WORDY_TEXT = st.lists(st.tuples(PIECE, SEPARATOR), max_size=25).map(lambda parts: "".join(p + s for p, s in parts))


def _assert_answers_are_sound(text: str, matcher: CueMatcher, second_matcher: CueMatcher, exercise_ids: set[str]) -> None:
    """The properties every text must have (see the module docstring)."""
    found = matcher.match(text)
    everything = matcher.match_all(text)
    crisis = detect_crisis(text)
    for detection in ([found] if found else []) + everything:
        assert isinstance(detection, Detection) and detection.kind in KINDS and detection.text == text
        if detection.kind == "crisis":
            assert detection.intent == "crisis"
        elif detection.kind == "control":
            assert detection.intent in CONTROL_INTENTS
        else:
            assert detection.intent in exercise_ids, detection
        assert set(detection.to_json(0.0)) == {"time_s", "kind", "intent", "text"}
    assert len(everything) == len(set(everything))
    assert found == (everything[0] if everything else None)  # match is the best of match_all
    assert (crisis is not None) == (found is not None and found.kind == "crisis")
    if crisis is not None:
        assert isinstance(crisis, CrisisMatch) and crisis.category in CATEGORIES and isinstance(crisis.phrase, str)
    # Deterministic: the same answers again, and from a matcher built separately.
    assert matcher.match(text) == found and matcher.match_all(text) == everything and detect_crisis(text) == crisis
    assert second_matcher.match(text) == found and second_matcher.match_all(text) == everything


FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)


@settings(FUZZ, max_examples=300)
@given(text=ANY_TEXT)
def test_any_unicode_gets_a_sound_answer(matcher, second_matcher, library, text):
    """Arbitrary unicode, surrogates and control characters included: no exception, valid and repeatable answers."""
    _assert_answers_are_sound(text, matcher, second_matcher, set(library.exercises))


@settings(FUZZ, max_examples=200)
@given(text=WORDY_TEXT)
def test_cue_soup_gets_a_sound_answer(matcher, second_matcher, library, text):
    """Cue phrases, crisis words, other scripts and punctuation storms mixed: valid and repeatable answers."""
    _assert_answers_are_sound(text, matcher, second_matcher, set(library.exercises))


@settings(FUZZ, max_examples=300)
@given(
    sentence=st.sampled_from(CRISIS_SENTENCES),
    before=st.lists(st.sampled_from(HARMLESS_BEFORE), max_size=3),
    after=st.lists(st.sampled_from(HARMLESS_AFTER), max_size=3),
)
def test_crisis_wins_whatever_harmless_words_surround_it(matcher, sentence, before, after):
    """A known crisis sentence with harmless words (cues among them) around it is still crisis, and wins."""
    text = " ".join(before + [sentence] + after)
    assert detect_crisis(text) is not None, text
    found = matcher.match(text)
    assert found is not None and found.kind == "crisis", (text, found)
    assert matcher.match_all(text)[0].kind == "crisis"


def _long_texts() -> list[tuple[str, str]]:
    rng = random.Random(SEED)
    soup = " ".join(rng.choice(VOCABULARY + OTHER_SCRIPTS + PUNCTUATION) for _ in range(1000))
    return [
        ("cue soup", soup),
        ("punctuation storm", "".join(rng.choice(PUNCTUATION) for _ in range(6_000))),
        ("no spaces", "".join(rng.choice("abcdefghij') ") for _ in range(20_000)).replace(" ", "")),
        ("mixed scripts", " ".join(rng.choice(OTHER_SCRIPTS) for _ in range(800))),
        ("stop repeated", "stop " * 2000),
        ("framing words then a story", "please " * 300 + "stop " + "now " * 300 + "I need water"),
    ]


@pytest.mark.parametrize("name,text", _long_texts(), ids=[name for name, _ in _long_texts()])
def test_long_texts_are_answered_in_seconds(matcher, second_matcher, library, name, text):
    """Thousands of words: the same sound answers, in seconds rather than minutes (a limit loose enough for a busy CI)."""
    started = time.monotonic()
    found = matcher.match(text)
    assert time.monotonic() - started < 20.0, f"{name}: {time.monotonic() - started:.1f} s"
    assert found == matcher.match(text)
    if name == "stop repeated":
        assert found is not None and (found.kind, found.intent) == ("control", "stop")


# --------------------------------------------------------------------------------- grounding detect --text


def _detect_text(text: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["detect", "--text", text, "--json"])
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def private_config(tmp_path_factory, library):
    """A private XDG_CONFIG_HOME, and the library loaded once: `detect` is what is tested, not loading."""
    from assistant.library import loader

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("config")))
        patch.setattr(loader, "load_library", lambda *args, **kwargs: library)
        yield


@settings(FUZZ, max_examples=40)
@given(text=st.one_of(ANY_TEXT, WORDY_TEXT))
def test_detect_text_prints_one_json_object_per_detection(private_config, matcher, text):
    """`grounding detect --text T --json`: exit 0, and what the matcher found as {"time_s", "kind", "intent", "text"} lines."""
    code, out, err = _detect_text(text)
    assert code == 0 and "Traceback" not in err
    rows = [json.loads(line) for line in out.splitlines()]
    expected = matcher.match(text)
    assert rows == ([] if expected is None else [expected.to_json(0.0)])


@pytest.mark.parametrize("raw", [b"I want to die \xff", b"\xfe\xff stop"], ids=["crisis", "control"])
def test_detect_text_with_bytes_that_are_not_utf8(tmp_path, raw):
    """Argument bytes that are not UTF-8 under a strict stdout were a UnicodeEncodeError; now escaped, valid JSON."""
    env = dict(
        os.environ,
        XDG_CONFIG_HOME=str(tmp_path),
        PYTHONIOENCODING="utf-8:strict",
        PYTHONPATH=str(Path(__file__).resolve().parent.parent),
    )
    result = subprocess.run(
        [os.fsencode(sys.executable), b"-m", b"assistant", b"detect", b"--text", raw, b"--json"],
        capture_output=True, timeout=60, env=env,
    )
    assert result.returncode == 0, result.stderr.decode("utf-8", "replace")
    (row,) = [json.loads(line) for line in result.stdout.decode("utf-8").splitlines()]
    assert row["kind"] in ("crisis", "control") and row["text"] == os.fsdecode(raw)


# --------------------------------------------------------------------------------- what fuzzing found


@pytest.mark.parametrize(
    "text,intent",
    [
        ("stop" + " please" * 30 + " help", "stop"),
        ("okay pause" + " now" * 30 + " I need water", "pause"),
        ("can you pause" + " right now" * 20 + " the kettle", None),
    ],
    ids=["stop-please", "pause-now", "right-now"],
)
def test_overlapping_framing_words_do_not_backtrack_for_ever(matcher, text, intent):
    """A control word then many words that are both filler and tail, then something else, took 2^n steps (hours)."""
    started = time.monotonic()
    found = matcher.match(text)
    assert time.monotonic() - started < 5.0
    if intent is not None:
        assert found is not None and found.intent == intent


@pytest.mark.parametrize(
    "text",
    [
        "I wish I was dead right now",
        "I want to end it all right now",
        "I'd be better off dead right now",
        "I'm going to take all my pills today",
        "I can't go on please",
        "there's no way out help me breathe",
        "i want to jump stop",
        "the knife is right next to me please",
        "ive got everything ready for tonight thank you",
    ],
)
def test_crisis_phrases_ending_a_clause_still_fire_with_a_tail(text):
    """Phrases that must end their clause were missed when a courtesy word, a time or a control followed unpaused."""
    assert detect_crisis(text) is not None
