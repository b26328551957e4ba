"""The loud part of an utterance: where the speaker is, when noise fills the rest of it.

In noise the speech gate takes the noise around the words for speech too, and the second reader, given all
of it, writes words for the noise and garbles the words said: espeak-ng's "stop now" in 10 dB pink noise was
read "Just open out", its loud part alone "Stop now". What that gains and costs is measured in
benchmarks/README.md (session 21) and DetectorSettings.loud_part_max_shortfall.

The level is the speech band's (band_level.py, 250 Hz to 4 kHz) in 20 ms frames smoothed over 100 ms. The
loudest is the 95th percentile of those levels, so a single knock does not set it.
"""

from __future__ import annotations

import numpy as np

from assistant.speech.band_level import ENERGY_FLOOR, BandEnergy

FRAME_SECONDS = 0.02
SMOOTH_FRAMES = 5  # 100 ms
LOUDEST_PERCENTILE = 95.0


def band_levels_db(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """Each whole 20 ms frame's speech band energy, in dB (of float audio, about -1..1), smoothed over 100 ms."""
    frame = round(FRAME_SECONDS * sample_rate)
    count = len(audio) // frame
    if count == 0:
        return np.zeros(0)
    energy = BandEnergy(frame, sample_rate)(np.asarray(audio[: count * frame]).reshape(count, frame))
    levels = 10.0 * np.log10(energy + ENERGY_FLOOR)
    smooth = min(SMOOTH_FRAMES, count)
    return np.convolve(levels, np.ones(smooth) / smooth, mode="same")


def loud_span(audio: np.ndarray, sample_rate: int, below_db: float = 8.0, pad_seconds: float = 0.2) -> tuple[int, int]:
    """The samples [start, end) from the first to the last frame within `below_db` of the loudest, with
    `pad_seconds` either side (a word's soft onset and tail); the whole when it is shorter than a frame."""
    levels = band_levels_db(audio, sample_rate)
    if len(levels) == 0:
        return 0, len(audio)
    loud = np.nonzero(levels >= np.percentile(levels, LOUDEST_PERCENTILE) - below_db)[0]
    frame = round(FRAME_SECONDS * sample_rate)
    pad = round(pad_seconds * sample_rate)
    return max(0, int(loud[0]) * frame - pad), min(len(audio), (int(loud[-1]) + 1) * frame + pad)
