"""Streaming detection with a scripted recognizer: stability, one fire per utterance, refractory, self-gating."""

from __future__ import annotations

import numpy as np

from assistant.library.loader import load_library
from assistant.speech.cues import CueMatcher
from assistant.speech.detector import StreamDetector
from assistant.speech.recognizer import Hypothesis

RATE = 16000
BLOCK = 1600


class ScriptedRecognizer:
    """Returns, for each block fed, the hypotheses scripted for it (text, is_final[, check_text])."""

    name = "scripted"
    sample_rate = RATE

    def __init__(self, script):
        self.script = list(script)
        self.fed = 0

    def accept(self, samples):
        self.fed += len(samples)
        step = self.script.pop(0) if self.script else []
        return [Hypothesis(*entry[:2], self.fed, *entry[2:]) for entry in step]

    def flush(self):
        return []

    def reset(self):
        pass


def run(script, gate=None):
    detector = StreamDetector(ScriptedRecognizer(script), CueMatcher(load_library().cue_maps))
    if gate:
        detector.gate(*gate)
    fired = []
    for _ in range(len(script)):
        fired += detector.feed(np.zeros(BLOCK, np.int16))
    return [(d.detection.kind, d.detection.intent, round(d.time_s, 1)) for d in fired]


def test_a_start_waits_for_the_final_result():
    """Partials of "I'm spiraling" do nothing; the final fires, at the audio position it came from."""
    fired = run([[("i'm spiraling", False)], [("i'm spiraling", False)], [("i'm spiraling", True)]])
    assert fired == [("start", "grounding-5-4-3-2-1", 0.3)]


def test_a_start_in_a_partial_that_the_final_shows_is_a_story_does_not_fire():
    """ "...i'm panicking" mid-utterance, then the whole sentence: a story about panic, not a request."""
    script = [[("my sister said i'm panicking", False)], [("my sister said i'm panicking", False)],
              [("my sister said i'm panicking again at the party last week when we", True)]]
    assert run(script) == []


def test_a_control_partial_must_repeat_before_it_fires():
    """One flickering partial does nothing; the second identical one fires, before the final."""
    fired = run([[("okay stop", False)], [("okay stop", False)], [("okay stop", True)]])
    assert fired == [("control", "stop", 0.2)]


def test_crisis_heard_only_by_the_second_reading_fires():
    """The cue model bent "I want to kill myself" into cue words; the general model's reading of the final is crisis."""
    script = [[("i want to call myself", False)], [("i want to call myself", True, "i want to kill myself")]]
    assert run(script) == [("crisis", "crisis", 0.2)]


def test_the_second_reading_fills_in_only_what_the_first_missed():
    """A cue-model control stands against a second reading that hears a start; a miss takes the second reading's start."""
    assert run([[("okay stop", True, "i'm spiraling")]]) == [("control", "stop", 0.1)]
    assert run([[("i'm sign", True, "i'm spiraling")]]) == [("start", "grounding-5-4-3-2-1", 0.1)]
    assert run([[("i want to kill myself", True, "i want to fill my shelf")]]) == [("crisis", "crisis", 0.1)]


def test_crisis_fires_on_its_first_partial():
    """Crisis language does not wait for a second partial."""
    assert run([[("i want to kill myself", False)]]) == [("crisis", "crisis", 0.1)]


def test_one_utterance_fires_once_and_repeats_are_held_back():
    """Partials and the final of one utterance fire once; the same command right after is refractory."""
    script = [[("stop", False)], [("stop", False)], [("stop", True)], [("stop", True)], [], [], [], [], [], [], [], [], [], [], [], [], [], [], [], [], [], [("stop", True)]]
    assert run(script) == [("control", "stop", 0.2), ("control", "stop", 2.2)]


def test_own_speech_gates_start_cues_but_not_stop_or_crisis():
    """Start cues heard over the assistant's own speech are ignored; stop and crisis are not."""
    gate = (0, 10 * RATE)
    assert run([[("help me breathe", True)]], gate) == []
    assert run([[("stop", True)]], gate) == [("control", "stop", 0.1)]
    assert run([[("i want to die", True)]], gate) == [("crisis", "crisis", 0.1)]


def test_a_start_the_second_reading_heard_nothing_of_is_dropped():
    """The cue model made "box breathing" out of talk; Moonshine heard a sentence about a gym: no start."""
    script = [[("five start i'm stressed before box breathing", True, "the boxing gym opens at six in the morning")]]
    assert run(script) == []


def test_a_start_the_second_reading_heard_its_own_way_still_fires():
    """Some of the phrase's words, heard exactly or loosely, are enough to back the cue ("side" for "sigh")."""
    script = [[("give me one big sigh", True, "Give me one big side")]]
    assert run(script) == [("start", "physiological-sigh", 0.1)]
    script = [[("help me breathe", True, "Help me grieve")]]
    assert run(script) == [("start", "resonance-5-5", 0.1)]


def test_crisis_and_controls_do_not_wait_for_the_second_readings_backing():
    """Only start cues are checked: crisis language acts whatever the other reading heard."""
    assert run([[("i want to kill myself", True, "I want to go to the mall")]]) == [("crisis", "crisis", 0.1)]
    assert run([[("stop", True, "Top")]]) == [("control", "stop", 0.1)]


def test_without_a_second_reading_a_start_fires_as_before():
    assert run([[("help me breathe", True)]]) == [("start", "resonance-5-5", 0.1)]
