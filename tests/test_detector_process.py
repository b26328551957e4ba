"""The detector in its own process (assistant/speech/detector_process.py), with the real engines.

pocketsphinx and its Moonshine reader run in the child; the test process is
the listening loop's side. What it hears must be exactly what the
StreamDetector hears in one process, at the same stream positions, our own
voice's spans included; its failures must reach the caller as the errors
people read; and a child that dies is replaced while listening goes on.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from assistant.audio.resample import resample
from assistant.audio.wavio import read_wav
from assistant.library.loader import load_library
from assistant.speech.detector import TimedDetection
from assistant.speech.detector_process import DetectorProcess
from assistant.speech.engines import make_detector
from assistant.speech.models import ModelNotFoundError, open_recognizer_or_fall_back

pytestmark = pytest.mark.integration

RATE = 16000
BLOCK = 1600  # 0.1 s, as the microphone gives


@pytest.fixture(scope="module")
def cue_maps():
    return load_library().cue_maps


PAUSE_SAMPLES = 2 * RATE  # between the two requests: the first is closed and acted on well inside it
HANG_IN_TEST_S = 4.0  # longer than one block's work (an utterance's end and its reading: up to 2 s here)


def spoken(text: str, folder: Path) -> np.ndarray:
    path = folder / "speech.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(path), text], check=True, timeout=60)
    samples, rate = read_wav(path)
    return np.clip(np.round(resample(samples, rate, RATE) * 32767), -32768, 32767).astype(np.int16)


@pytest.fixture(scope="module")
def two_requests(tmp_path_factory) -> tuple[np.ndarray, int]:
    """espeak-ng asking for two exercises 2 s apart, as 16 kHz int16; and where the second request begins."""
    folder = tmp_path_factory.mktemp("speech")
    first, second = spoken("I'm spiraling.", folder), spoken("Please help me breathe.", folder)
    quiet = np.zeros(RATE // 2, dtype=np.int16)
    pcm = np.concatenate([quiet, first, np.zeros(PAUSE_SAMPLES, dtype=np.int16), second, quiet, quiet])
    return pcm, len(quiet) + len(first) + PAUSE_SAMPLES


def blocks(pcm: np.ndarray):
    for start in range(0, len(pcm), BLOCK):
        yield pcm[start : start + BLOCK]


def heard_in_one_process(cue_maps, pcm: np.ndarray, gate: tuple[int, int, str]) -> list[TimedDetection]:
    """The StreamDetector here: `pcm`, then `pcm` again with our own voice over `gate` of the second pass."""
    detector = make_detector(open_recognizer_or_fall_back("pocketsphinx", None, cue_maps), cue_maps)
    fired: list[TimedDetection] = []
    for block in blocks(pcm):
        fired += detector.feed(block)
    detector.gate(len(pcm) + gate[0], len(pcm) + gate[1], gate[2])
    for block in blocks(pcm):
        fired += detector.feed(block)
    return fired


class Collected:
    """on_fired and on_lost for a DetectorProcess: what came back, and a way to wait for it."""

    def __init__(self) -> None:
        self.fired: list[TimedDetection] = []
        self.lines: list[str] = []
        self._changed = threading.Condition()

    def on_fired(self, fired: list[TimedDetection]) -> None:
        with self._changed:
            self.fired += fired
            self._changed.notify_all()

    def on_lost(self, line: str) -> None:
        with self._changed:
            self.lines.append(line)
            self._changed.notify_all()

    def wait_for_line(self, text: str, timeout_s: float) -> None:
        with self._changed:
            assert self._changed.wait_for(lambda: any(text in line for line in self.lines), timeout_s), self.lines


def test_the_child_hears_what_the_detector_hears_in_one_process_at_the_same_positions(cue_maps, two_requests, monkeypatch, tmp_path):
    """Both start cues come back at the same stream positions as in one process; with our own voice over the
    second (gate), only the first, as in one process. With no Vosk model, the child's notice reaches `warn`."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))  # no downloaded Vosk model: the automatic choice is pocketsphinx
    monkeypatch.delenv("GROUNDING_VOSK_MODEL", raising=False)
    two_requests, second_from = two_requests
    gate = (second_from - RATE // 2, len(two_requests), "please help me breathe")  # our own voice over the second

    expected = heard_in_one_process(cue_maps, two_requests, gate)
    # Both requests the first time; only the first under our own voice.
    assert [t.detection.intent for t in expected] == ["grounding-5-4-3-2-1", "resonance-5-5", "grounding-5-4-3-2-1"], expected

    warnings: list[str] = []
    heard = Collected()
    with DetectorProcess(None, None, cue_maps, "en", warnings.append, on_fired=heard.on_fired) as detector:
        assert detector.rate == RATE and "pocketsphinx" in detector.description
        assert any("no usable Vosk model" in line for line in warnings), warnings
        assert detector.child_pid != os.getpid()
        for block in blocks(two_requests):
            assert detector.feed(block) == []  # detections come back through on_fired
        assert detector.caught_up(60)
        assert detector.samples_fed == len(two_requests)
        detector.gate(len(two_requests) + gate[0], len(two_requests) + gate[1], gate[2])
        for block in blocks(two_requests):
            detector.feed(block)
        assert detector.caught_up(60)
    assert heard.fired == expected  # the same detections at the same stream positions


def test_crisis_language_is_heard_over_our_own_breath_tone(cue_maps, tmp_path):
    """The 2 h soak: our breath tone heard back from the speaker (here 31 dB over a quiet room, gliding between
    its pitches over a 10 s breath) and a crisis sentence about 5 dB over it. Told that the tone sounds, the
    child's speech gate leaves its pitches out and the sentence is heard; before, the gate took the tone for the
    room and the sentence never opened it (so it was in the soak, and here with the spans left out)."""
    speech = spoken("I'm going to kill myself.", tmp_path).astype(np.float64) / 32767
    active = speech[np.abs(speech) > 0.02]
    samples = 8 * RATE
    seconds = np.arange(samples) / RATE
    pitch_hz = 220 + 110 * (0.5 - 0.5 * np.cos(2 * np.pi * seconds / 10))
    tone_rms = 10 ** (-29 / 20)
    mic = np.sin(2 * np.pi * np.cumsum(pitch_hz) / RATE) * tone_rms * np.sqrt(2)
    mic += np.random.default_rng(0).standard_normal(samples) * 10 ** (-60 / 20)
    mic[4 * RATE : 4 * RATE + len(speech)] += speech / np.sqrt(np.mean(active**2)) * tone_rms * 10 ** (5 / 20)
    pcm = np.clip(np.round(mic * 32767), -32768, 32767).astype(np.int16)
    heard = Collected()
    with DetectorProcess("pocketsphinx", None, cue_maps, "en", on_fired=heard.on_fired) as detector:
        detector.tone(0, samples, 220.0, 330.0)
        for block in blocks(np.concatenate([pcm, np.zeros(RATE, np.int16)])):
            detector.feed(block)
        assert detector.caught_up(60)
    assert [t.detection.kind for t in heard.fired] == ["crisis"], heard.fired


def test_a_model_that_is_not_there_is_the_same_error_as_in_one_process(cue_maps, tmp_path):
    missing = tmp_path / "no-such-model"
    with pytest.raises(ModelNotFoundError) as in_one_process:
        open_recognizer_or_fall_back("vosk", missing, cue_maps)
    with pytest.raises(ModelNotFoundError) as from_the_child:
        DetectorProcess("vosk", missing, cue_maps, "en")
    assert str(from_the_child.value) == str(in_one_process.value) and str(missing) in str(from_the_child.value)


def test_a_child_that_dies_is_replaced_and_listening_goes_on_in_the_streams_count(cue_maps, two_requests):
    two_requests, _ = two_requests
    heard = Collected()
    with DetectorProcess("pocketsphinx", None, cue_maps, "en", on_fired=heard.on_fired, on_lost=heard.on_lost) as detector:
        first_pid = detector.child_pid
        for block in blocks(two_requests[: RATE // 2]):
            detector.feed(block)
        assert detector.caught_up(60)
        os.kill(first_pid, signal.SIGKILL)
        heard.wait_for_line("starting it again", 30)
        heard.wait_for_line("Listening again.", 120)
        assert detector.restarts == 1 and detector.child_pid != first_pid
        time.sleep(0.2)
        before = detector.samples_fed
        for block in blocks(two_requests):
            detector.feed(block)
        assert detector.caught_up(60)
    intents = [t.detection.intent for t in heard.fired]
    assert intents == ["grounding-5-4-3-2-1", "resonance-5-5"], heard.fired
    # Positions continue the stream's count across the new child, not from 0.
    assert all(t.time_s > before / RATE for t in heard.fired), (before, heard.fired)


def test_a_child_that_hangs_is_killed_and_replaced_and_the_new_one_knows_where_our_own_voice_is(cue_maps, two_requests):
    """SIGSTOP stands in for a hang in native code: the process lives but answers nothing. The watchdog
    kills it after hang_s; the new child is told our own voice's spans the old one had, so the second
    request, spoken under a span set before the hang, is still taken for our own voice."""
    pcm, second_from = two_requests
    heard = Collected()
    with DetectorProcess("pocketsphinx", None, cue_maps, "en", on_fired=heard.on_fired, on_lost=heard.on_lost,
                         hang_s=HANG_IN_TEST_S) as detector:
        hung_pid = detector.child_pid
        for block in blocks(pcm[: RATE // 2]):
            detector.feed(block)
        resume_at = detector.samples_fed  # nothing is sent while the child hangs, so pcm will begin here
        detector.gate(resume_at + second_from - RATE // 2, resume_at + len(pcm), "please help me breathe")
        assert detector.caught_up(60)  # the old child has the span
        os.kill(hung_pid, signal.SIGSTOP)
        heard.wait_for_line(f"stopped answering for {HANG_IN_TEST_S:g} s and was ended", 30)
        heard.wait_for_line("Listening again.", 120)
        assert detector.restarts == 1 and detector.child_pid != hung_pid
        with pytest.raises(ProcessLookupError):
            os.kill(hung_pid, 0)  # killed and reaped, not left stopped
        assert detector.samples_fed == resume_at
        for block in blocks(pcm):
            detector.feed(block)
        assert detector.caught_up(60)
    assert [t.detection.intent for t in heard.fired] == ["grounding-5-4-3-2-1"], heard.fired


def test_a_child_working_through_a_backlog_is_not_taken_for_hung(cue_maps, tmp_path):
    """Ordinary talk fed faster than real time (as tests and benchmarks feed) keeps the child busy, with
    nothing to report, for longer than hang_s; it says it is alive as it works, so the watchdog leaves it be."""
    talk = spoken("The new software update broke the printer again. We are building a treehouse for the kids. "
                  "The aquarium has three new angelfish.", tmp_path)
    pcm = np.concatenate([talk, np.zeros(RATE // 2, dtype=np.int16)] * 6)
    heard = Collected()
    with DetectorProcess("pocketsphinx", None, cue_maps, "en", on_fired=heard.on_fired, on_lost=heard.on_lost,
                         hang_s=HANG_IN_TEST_S) as detector:
        began = time.monotonic()
        for block in blocks(pcm):
            detector.feed(block)
        assert detector.caught_up(120)
        busy_s = time.monotonic() - began
    print(f"backlog heard in {busy_s:.1f} s")
    assert busy_s > HANG_IN_TEST_S + 1, f"the backlog took only {busy_s:.1f} s: no test of the watchdog"
    assert detector.restarts == 0 and heard.lines == [], heard.lines


def test_the_child_is_told_what_the_echo_canceller_left_of_each_block(monkeypatch):
    """`ours_left` goes down the pipe like the gate, and the child's detector is told it, in order with the
    audio (a control read into what was left of our voice is dropped there). The child's loop, with a pipe
    and a detector that only write down what they are given."""
    from assistant.speech import detector as detector_module
    from assistant.speech import detector_process
    from assistant.speech import models

    told = []

    class Detector:
        rate = 16000

        def __init__(self, recognizer, matcher, settings):
            pass

        def ours_left(self, *message):
            told.append(("left", *message))

        def feed(self, samples):
            told.append(("feed", len(samples)))
            return []

    class Pipe:
        def __init__(self, messages):
            self.messages, self.sent = list(messages), []

        def recv(self):
            return self.messages.pop(0)

        def send(self, message):
            self.sent.append(message)

    opened = type("Opened", (), {"recognizer": None, "description": "stand-in"})()
    monkeypatch.setattr(models, "open_recognizer_or_fall_back", lambda *args: opened)
    monkeypatch.setattr(detector_module, "StreamDetector", Detector)
    pipe = Pipe([("pocketsphinx", None, {}, "en", None), ("left", 0, 1600, 0.5, 0.001, 0.01),
                 ("feed", np.zeros(1600, np.int16)), ("close",)])
    detector_process.serve(pipe)
    assert pipe.sent[0] == ("ready", "stand-in", 16000)
    assert told == [("left", 0, 1600, 0.5, 0.001, 0.01), ("feed", 1600)]
