"""The loud part of an utterance (assistant/speech/loud_part.py), with arrays."""

from __future__ import annotations

import numpy as np

from assistant.speech.loud_part import band_levels_db, loud_span

RATE = 16000


def tone(hz: float, seconds: float, amplitude: float) -> np.ndarray:
    t = np.arange(round(seconds * RATE)) / RATE
    return amplitude * np.sin(2 * np.pi * hz * t)


def noise(seconds: float, amplitude: float, seed: int = 0) -> np.ndarray:
    return amplitude * np.random.default_rng(seed).standard_normal(round(seconds * RATE))


def test_the_loud_part_is_the_speech_band_burst_with_a_little_either_side():
    """1.5 s of noise, 1 s of a 1 kHz burst 20 dB above it, 1.5 s of noise: the burst, 0.2 s each side."""
    quiet = noise(4.0, 0.01)
    audio = quiet.copy()
    audio[24000:40000] += tone(1000, 1.0, 0.14)
    start, end = loud_span(audio, RATE)
    assert abs(start - (24000 - 3200)) <= 1600 and abs(end - (40000 + 3200)) <= 1600


def test_a_rumble_below_the_speech_band_does_not_count_as_loud():
    """A loud 80 Hz hum throughout (a fan, a car) does not stretch the loud part over the whole."""
    audio = tone(80, 4.0, 0.5) + noise(4.0, 0.003)
    audio[24000:40000] += tone(1000, 1.0, 0.05)
    start, end = loud_span(audio, RATE)
    assert end - start < 0.5 * len(audio)
    assert start <= 24000 <= 40000 <= end


def test_steady_sound_is_loud_all_through():
    """Nothing stands out: the loud part is (nearly) the whole, so it would be read as the whole was."""
    audio = noise(3.0, 0.05)
    start, end = loud_span(audio, RATE)
    assert start == 0 and end >= len(audio) - 320


def test_one_knock_does_not_set_the_loudest():
    """A 20 ms click far louder than the speech: the loudest is a percentile, so the speech is still loud."""
    audio = noise(4.0, 0.005)
    audio[8000:40000] += tone(600, 2.0, 0.1)
    audio[56000:56320] += 0.9
    start, end = loud_span(audio, RATE)
    assert start <= 8000 and end >= 40000


def test_audio_shorter_than_a_frame_is_all_loud():
    assert loud_span(np.zeros(100), RATE) == (0, 100)
    assert len(band_levels_db(np.zeros(100), RATE)) == 0
