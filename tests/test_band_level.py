"""The speech band's energy, shared by the speech gate and the loud part: speech frequencies count, rumble and
hiss hardly, and a frame alone gives what it gives among others."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.speech.band_level import BandEnergy

RATE = 16000
FRAME = 480  # the speech gate's 30 ms


def _tone(hz: float) -> np.ndarray:
    return np.sin(2 * np.pi * hz * np.arange(FRAME) / RATE)


def test_speech_frequencies_count_and_rumble_and_hiss_hardly():
    energy = BandEnergy(FRAME, RATE)
    voice, hum, hiss = (float(energy(_tone(hz))) for hz in (1000.0, 60.0, 6500.0))
    assert voice > 1000 * hum and voice > 1000 * hiss


def test_a_frame_alone_and_among_others_give_the_same():
    energy = BandEnergy(FRAME, RATE)
    frames = np.stack([_tone(300.0), _tone(2000.0), np.zeros(FRAME)])
    together = energy(frames)
    assert together.shape == (3,) and together[2] == 0.0
    # (the same but for rounding: a batch of transforms is summed in another order)
    assert [float(energy(frame)) for frame in frames] == pytest.approx(list(together), rel=1e-12)
