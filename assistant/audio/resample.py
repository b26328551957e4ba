"""Band-limited resampling of short clips with one FFT (pure numpy)."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

# Zeros appended before the FFT so the clip's end does not ring into its start
# (the FFT treats the signal as periodic). A quarter of the clip, at least this many samples.
_MIN_PAD_SAMPLES = 1024


def resample(samples: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Band-limited resampling of a short clip (FFT method); returns float32 of length round(len*to/from)."""
    samples = np.asarray(samples)
    if samples.ndim != 1:
        raise ValueError(f"resample expects a mono (1-D) clip, got shape {samples.shape}")
    if from_rate <= 0 or to_rate <= 0 or int(from_rate) != from_rate or int(to_rate) != to_rate:
        raise ValueError(f"sample rates must be positive integers, got {from_rate!r} -> {to_rate!r}")
    from_rate, to_rate = int(from_rate), int(to_rate)
    if from_rate == to_rate:
        return samples.astype(np.float32, copy=True)

    in_count = len(samples)
    out_count = round(Fraction(in_count * to_rate, from_rate))
    if in_count == 0 or out_count == 0:
        return np.zeros(out_count, dtype=np.float32)

    # The padded length must be a multiple of from_rate/gcd so the padded output length is a
    # whole number of samples at exactly to_rate; otherwise the output grid would be slightly
    # stretched and the pitch would shift.
    common = math.gcd(from_rate, to_rate)
    in_step, out_step = from_rate // common, to_rate // common
    wanted_count = in_count + max(_MIN_PAD_SAMPLES, in_count // 4)
    padded_in_count = -(-wanted_count // in_step) * in_step
    padded_out_count = padded_in_count // in_step * out_step

    spectrum = np.fft.rfft(samples.astype(np.float64), n=padded_in_count)
    new_spectrum = np.zeros(padded_out_count // 2 + 1, dtype=np.complex128)
    kept_bins = min(len(spectrum), len(new_spectrum))
    new_spectrum[:kept_bins] = spectrum[:kept_bins]
    if padded_out_count > padded_in_count and padded_in_count % 2 == 0:
        # The old Nyquist bin stands for a +f/-f pair; in the wider spectrum it is split in two.
        new_spectrum[padded_in_count // 2] *= 0.5
    elif padded_out_count < padded_in_count and padded_out_count % 2 == 0:
        # A component exactly at the new Nyquist frequency is ambiguous; drop it rather than alias.
        new_spectrum[-1] = 0.0

    # irfft divides by the output length, rfft did not divide by the input length: rescale.
    resampled = np.fft.irfft(new_spectrum, n=padded_out_count) * (padded_out_count / padded_in_count)
    return resampled[:out_count].astype(np.float32)
