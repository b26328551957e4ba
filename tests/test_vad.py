"""The listening-step segmenter and the energy detector, driven by numbers and synthetic noise (no sound card)."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.speech.vad import EnergyDetector, ListenSegmenter

CHUNK = 0.1  # seconds


def feed(segmenter: ListenSegmenter, pattern: str) -> int:
    """Feed one 0.1 s chunk per character ('S' speech, '.' quiet); the number fed before it said stop."""
    for index, mark in enumerate(pattern):
        if not segmenter.process(CHUNK, mark == "S"):
            return index + 1
    return len(pattern)


def test_speech_then_silence_ends_the_step():
    """After 0.5 s of speech, 2 s of quiet ends the step: 25 chunks, reason silence."""
    segmenter = ListenSegmenter(timeout_seconds=20, silence_seconds=2)
    assert feed(segmenter, "." * 3 + "S" * 5 + "." * 40) == 3 + 5 + 20
    assert segmenter.done and segmenter.reason == "silence" and segmenter.heard_speech


def test_nothing_heard_ends_at_the_timeout():
    """With no speech the step lasts exactly its timeout."""
    segmenter = ListenSegmenter(timeout_seconds=3, silence_seconds=1)
    assert feed(segmenter, "." * 100) == 30
    assert segmenter.reason == "timeout" and not segmenter.heard_speech


def test_pauses_shorter_than_the_silence_do_not_end_it():
    """Naming things with 1.5 s gaps keeps listening; the 2 s pause after the last one ends it."""
    segmenter = ListenSegmenter(timeout_seconds=30, silence_seconds=2)
    answer = ("SSSS" + "." * 15) * 4
    assert feed(segmenter, answer + "." * 30) == len(answer) + 5
    assert segmenter.reason == "silence"


def test_a_knock_is_not_speech():
    """A 0.1-0.2 s burst is too short to count as the person talking: the step runs to its timeout."""
    segmenter = ListenSegmenter(timeout_seconds=5, silence_seconds=1)
    assert feed(segmenter, ".S........SS" + "." * 60) == 50
    assert segmenter.reason == "timeout"


def test_a_click_in_the_quiet_does_not_restart_it():
    """A single speech chunk during the quiet neither counts as quiet nor restarts the count."""
    segmenter = ListenSegmenter(timeout_seconds=30, silence_seconds=1)
    assert feed(segmenter, "SSSS" + "....." + "S" + "....." + "." * 10) == 4 + 5 + 1 + 5


def test_talking_past_the_timeout_still_ends_at_it():
    """The timeout is the longest a step lasts, talking or not."""
    segmenter = ListenSegmenter(timeout_seconds=2, silence_seconds=1)
    assert feed(segmenter, "S" * 50) == 20 and segmenter.reason == "timeout"


def test_after_it_ends_it_stays_ended():
    """Further chunks keep returning False and change nothing."""
    segmenter = ListenSegmenter(timeout_seconds=1)
    feed(segmenter, "." * 10)
    assert not segmenter.process(CHUNK, True) and segmenter.elapsed_seconds == pytest.approx(1.0)


# ---------------------------------------------------------------- energy

RATE = 16000


def noise(dbfs: float, seconds: float = CHUNK, seed: int = 0) -> np.ndarray:
    """White noise with an RMS level of `dbfs`, as int16 like the microphone gives."""
    samples = np.random.default_rng(seed).standard_normal(round(seconds * RATE))
    samples *= 10 ** (dbfs / 20) / np.sqrt(np.mean(samples**2))
    return np.round(samples * 32767).astype(np.int16)


def test_level_of_int16_and_float_blocks():
    """A -30 dBFS block measures -30 dBFS whether it comes as int16 or float."""
    detector = EnergyDetector()
    block = noise(-30)
    assert detector.level_dbfs(block) == pytest.approx(-30, abs=0.1)
    assert detector.level_dbfs(block / 32768.0) == pytest.approx(-30, abs=0.1)


def test_voice_over_a_quiet_room_is_speech_and_the_room_is_not():
    """Over a -55 dBFS room, a -30 dBFS voice is speech; the room itself never is."""
    detector = EnergyDetector()
    room = [detector.is_speech(noise(-55, seed=i), RATE) for i in range(20)]
    voice = [detector.is_speech(noise(-30, seed=100 + i), RATE) for i in range(10)]
    assert not any(room) and all(voice)


def test_the_floor_learns_a_louder_room():
    """A fan that starts at -35 dBFS is speech at first, then learned as room within seconds."""
    detector = EnergyDetector()
    for i in range(10):
        detector.is_speech(noise(-60, seed=i), RATE)
    fan = [detector.is_speech(noise(-35, seed=50 + i), RATE) for i in range(300)]
    assert fan[0] and not any(fan[-100:])


def test_digital_silence_does_not_make_faint_noise_speech():
    """After exact zeros, a -60 dBFS hiss is still quiet: the floor never drops below -65 dBFS."""
    detector = EnergyDetector()
    detector.is_speech(np.zeros(1600, np.int16), RATE)
    assert not detector.is_speech(noise(-60), RATE)
