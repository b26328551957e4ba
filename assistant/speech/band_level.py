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
        self._frequencies = np.fft.rfftfreq(frame, 1 / sample_rate)
        self._band = (self._frequencies >= low_hz) & (self._frequencies <= high_hz)
        # The level without a tone takes a Blackman window: it spreads a pure tone over three bins either side of
        # its own and past them leaves it 58 dB down (the Hann window's sidelobes, 31 dB down, left a tone 40 dB
        # over a quiet room loud enough to open the gate).
        self._tone_window = np.blackman(frame)
        self._leak_hz = 3 * sample_rate / frame
        self._without_tone: tuple[tuple[float, float] | None, np.ndarray] = (None, self._band)  # (tone, its mask)

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        """One frame's energy (a 0-d array), or one per row of a 2-d array of frames."""
        return np.sum(self._power(frames)[..., self._band], axis=-1)

    def without(self, frame: np.ndarray, tone_hz: tuple[float, float]) -> tuple[float, float]:
        """One frame's energy in the band, and in the band less a tone gliding between tone_hz's two pitches
        (and what the window spreads of it): the speech gate's level while our own breath tone sounds."""
        if self._without_tone[0] != tone_hz:  # (the same tone frame after frame: its mask is made once)
            low_hz, high_hz = tone_hz
            tone = (self._frequencies >= low_hz - self._leak_hz) & (self._frequencies <= high_hz + self._leak_hz)
            self._without_tone = (tone_hz, self._band & ~tone)
        # (The Blackman window's energy is 0.82 of the Hann window's: the two levels are kept apart, each with
        # its own floor, so the difference never matters.)
        without_tone = np.sum(self._power(frame, self._tone_window)[self._without_tone[1]])
        return float(self(frame)), float(without_tone)

    def _power(self, frames: np.ndarray, window: np.ndarray | None = None) -> np.ndarray:
        window = self._window if window is None else window
        return np.abs(np.fft.rfft(np.asarray(frames, dtype=np.float64) * window, axis=-1)) ** 2
