"""Speech activity and levels measured from a clean signal's energy (numpy only).

The definitions here are the corpus's contract, repeated in README.md:

* frames are 10 ms, non-overlapping; a frame's level is its RMS in dBFS;
* speech runs from the first to the last frame whose level is within
  ``BOUNDS_BELOW_PEAK_DB`` of the loudest frame (for real recordings, which have
  a noise floor, also 12 dB above that floor, ignoring blips under 30 ms);
* the *active speech level* is the RMS over the frames within
  ``ACTIVE_BELOW_PEAK_DB`` of the loudest frame, so pauses inside an utterance
  and the silence around it do not lower it;
* SNR = active speech level minus the RMS of the added noise over the whole file.
"""

from __future__ import annotations

import numpy as np

FRAME_SECONDS = 0.010
BOUNDS_BELOW_PEAK_DB = 45.0
ACTIVE_BELOW_PEAK_DB = 30.0
# Frames quieter than this hold no speech whatever the peak (-90 dBFS is below 16-bit dither).
_SILENCE_DBFS = -90.0


def to_db(power_or_rms: np.ndarray | float, *, power: bool = False) -> np.ndarray | float:
    """dB of an RMS (20 log10) or a power (10 log10), with silence floored at -200 dB."""
    value = np.maximum(np.asarray(power_or_rms, dtype=np.float64), 1e-20)
    return (10.0 if power else 20.0) * np.log10(value)


def frame_powers(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Mean square of each whole 10 ms frame (a partial last frame is dropped)."""
    frame_length = int(round(FRAME_SECONDS * sample_rate))
    frame_count = len(samples) // frame_length
    frames = np.asarray(samples[: frame_count * frame_length], dtype=np.float64).reshape(frame_count, frame_length)
    return np.mean(frames * frames, axis=1)


def speech_bounds(samples: np.ndarray, sample_rate: int, recorded: bool = False) -> tuple[int, int] | None:
    """First and one-past-last sample of speech (whole frames), or None when there is none.

    recorded=True is for real recordings, which have a noise floor of their own: the
    threshold is then also 12 dB above the floor (the 10th percentile of frame levels),
    and runs of fewer than 3 active frames (clicks, breaths) are ignored.
    """
    levels_db = to_db(frame_powers(samples, sample_rate), power=True)
    if len(levels_db) == 0 or levels_db.max() < _SILENCE_DBFS:
        return None
    threshold_db = max(levels_db.max() - BOUNDS_BELOW_PEAK_DB, _SILENCE_DBFS)
    if recorded:
        threshold_db = max(threshold_db, float(np.percentile(levels_db, 10)) + 12.0)
    is_active = levels_db >= threshold_db
    if recorded:
        is_active = _without_short_runs(is_active, 3)
    active = np.flatnonzero(is_active)
    if len(active) == 0:
        return None
    frame_length = int(round(FRAME_SECONDS * sample_rate))
    return int(active[0] * frame_length), int((active[-1] + 1) * frame_length)


def _without_short_runs(is_active: np.ndarray, min_run: int) -> np.ndarray:
    """is_active with every run of True shorter than min_run set to False."""
    padded = np.concatenate([[False], is_active, [False]]).astype(np.int8)
    edges = np.diff(padded)
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    kept = np.zeros_like(is_active)
    for start, end in zip(starts, ends):
        if end - start >= min_run:
            kept[start:end] = True
    return kept


def active_rms(samples: np.ndarray, sample_rate: int) -> float:
    """RMS over the frames within ACTIVE_BELOW_PEAK_DB of the loudest frame (linear, not dB)."""
    powers = frame_powers(samples, sample_rate)
    if len(powers) == 0 or powers.max() <= 0.0:
        return 0.0
    active = powers >= powers.max() * 10.0 ** (-ACTIVE_BELOW_PEAK_DB / 10.0)
    return float(np.sqrt(np.mean(powers[active])))


def rms(samples: np.ndarray) -> float:
    """Plain RMS of a whole signal."""
    samples = np.asarray(samples, dtype=np.float64)
    return float(np.sqrt(np.mean(samples * samples))) if len(samples) else 0.0
