"""The speech band's energy, frame by frame: from 250 Hz to 4 kHz, where speech is.

A fan's or a car's rumble below the band and hiss above it count for little. Shared by the speech gate that
cuts utterances (sphinx.SpeechGate, one frame at a time) and the loud part of an utterance (loud_part.py,
all its frames at once), each of which takes it in dB as 10·log10(energy + ENERGY_FLOOR). Pure numpy.
"""

from __future__ import annotations

import numpy as np

LOW_HZ, HIGH_HZ = 250.0, 4000.0
ENERGY_FLOOR = 1e-3  # added before the logarithm: digital silence has a level too


class BandEnergy:
    """Frames of `frame` samples in, their energy in the band (Hann-windowed, in the samples' units squared) out."""

    def __init__(self, frame: int, sample_rate: int, low_hz: float = LOW_HZ, high_hz: float = HIGH_HZ):
        self._window = np.hanning(frame)
        frequencies = np.fft.rfftfreq(frame, 1 / sample_rate)
        self._band = (frequencies >= low_hz) & (frequencies <= high_hz)

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        """One frame's energy (a 0-d array), or one per row of a 2-d array of frames."""
        spectrum = np.fft.rfft(np.asarray(frames, dtype=np.float64) * self._window, axis=-1)
        return np.sum(np.abs(spectrum[..., self._band]) ** 2, axis=-1)
