"""The corpus plan (benchmarks/corpus/plan.py): phrasings added later change no file planned before them."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks" / "corpus"))

from plan import plan  # noqa: E402
from texts import Phrase, Sentence, load_phrases  # noqa: E402
from voices import Voice  # noqa: E402

VOICES = [Voice(f"voice-{n}", "espeak-ng", "en") for n in range(6)]
SENTENCES = [Sentence("smalltalk", n, f"the weather was fine on day {n}", near_miss=n % 2 == 0) for n in range(12)]
PHRASES = [
    Phrase("start", "box-breathing", 0, "box breathing", True),
    Phrase("start", "box-breathing", 1, "square breathing", False),
    Phrase("control", "stop", 0, "stop", True),
    Phrase("control", "stop", 1, "please stop", False),
    Phrase("crisis", "suicidal-direct", 0, "I want to die", None),
]


def _plan(phrases: list[Phrase]) -> list:
    return plan(phrases, {"start": 2, "control": 4, "crisis": 4}, SENTENCES, VOICES, np.random.default_rng(4), False,
                np.random.default_rng([4, 1]))


def test_added_phrasings_leave_every_other_item_its_voice_and_noise():
    """An `added` phrasing is planned after everything else from its own generator: the rest is as it was."""
    before = _plan(PHRASES)
    added = [Phrase("control", "stop", 2, "be quiet", True, added=True),
             Phrase("control", "pause", 0, "take a break", True, added=True)]
    after = _plan(PHRASES + added)
    assert after[: len(before)] == before
    new = after[len(before):]
    assert [item.text for item in new] == ["be quiet"] * 4 + ["take a break"] * 4
    assert len({item.voice for item in new if item.text == "be quiet"}) == 4  # distinct voices, as for the rest
    assert all(item.noise and item.id.startswith("control/") for item in new)


def test_added_phrasings_are_numbered_after_their_intents_list(tmp_path):
    """Their file names are new ones: an added "stop" phrasing follows the stop list's own numbers."""
    (tmp_path / "phrases.yaml").write_text(
        "voices_per_phrase: {start: 2, control: 4, crisis: 4}\n"
        "control:\n  stop: [stop, please stop]\n"
        "added:\n  control:\n    stop: [be quiet]\n    pause: [take a break]\n")
    (tmp_path / "cues.yaml").write_text(
        "cues:\n  start: []\n  control:\n    stop: [stop, be quiet]\n    pause: [take a break]\n")
    phrases, _, _ = load_phrases(tmp_path / "phrases.yaml", tmp_path / "cues.yaml")
    assert [(p.intent, p.index, p.text, p.in_cues_yaml, p.added) for p in phrases] == [
        ("stop", 0, "stop", True, False), ("stop", 1, "please stop", False, False),
        ("stop", 2, "be quiet", True, True), ("pause", 0, "take a break", True, True),
    ]
