"""Band-limited resampling of short clips with one FFT (pure numpy)."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

# Zeros appended before the FFT so the clip's end does not ring into its start
# (the FFT treats the signal as periodic). A quarter of the clip, at least this many samples.
_MIN_PAD_SAMPLES = 1024


def _whole_rates(from_rate, to_rate) -> tuple[int, int]:
    """Both rates as ints; ValueError unless they are positive whole numbers."""
    if from_rate <= 0 or to_rate <= 0 or int(from_rate) != from_rate or int(to_rate) != to_rate:
        raise ValueError(f"sample rates must be positive integers, got {from_rate!r} -> {to_rate!r}")
    return int(from_rate), int(to_rate)


def resample(samples: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Band-limited resampling of a short clip (FFT method); returns float32 of length round(len*to/from)."""
    samples = np.asarray(samples)
    if samples.ndim != 1:
        raise ValueError(f"resample expects a mono (1-D) clip, got shape {samples.shape}")
    from_rate, to_rate = _whole_rates(from_rate, to_rate)
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


class StreamResampler:
    """Band-limited resampling of an endless stream given in pieces (windowed-sinc interpolation, pure numpy).

    Output sample n stands for input time exactly n * from_rate / to_rate, computed from the `half_taps` input
    samples either side of it, so it comes out once those have arrived: what one call returns is what the
    input so far allows, and pieces of any length give the same stream as the whole. Integer rates, so the
    positions never drift. Used for the echo canceller's copy of what we played (44.1 kHz to the
    microphone's 16 kHz), where `resample`, made for whole clips, would click at every block's edges.
    """

    def __init__(self, from_rate: int, to_rate: int, half_taps: int = 16):
        from_rate, to_rate = _whole_rates(from_rate, to_rate)
        common = math.gcd(from_rate, to_rate)
        self.from_step, self.to_step = from_rate // common, to_rate // common
        self.half_taps = half_taps
        # Cut off a little below the lower Nyquist frequency: the window's transition band falls inside it.
        self._cutoff = 0.9 * min(1.0, self.to_step / self.from_step)  # of the input's Nyquist frequency
        self._taps = np.arange(-half_taps + 1, half_taps + 1)  # input samples around floor(position)
        # One kernel per phase: an output sample falls at one of to_step fractions between two input samples.
        distance = (np.arange(self.to_step) / self.to_step)[:, None] - self._taps[None, :]
        window = 0.5 + 0.5 * np.cos(np.pi * distance / (half_taps + 1))  # Hann, never quite zero inside
        self._kernels = self._cutoff * np.sinc(self._cutoff * distance) * window
        self._kept = np.zeros(half_taps)  # the input not yet used up, from input sample self._kept_from on
        self._kept_from = -half_taps  # as if half_taps zeros came before the stream
        self.produced = 0  # output samples so far

    def __call__(self, samples: np.ndarray) -> np.ndarray:
        """The output samples that the input so far completes (float64)."""
        self._kept = np.concatenate([self._kept, np.asarray(samples, dtype=np.float64)])
        last_input = self._kept_from + len(self._kept) - 1
        # Output n needs input up to floor(n * from / to) + half_taps.
        ready = ((last_input - self.half_taps + 1) * self.to_step + self.from_step - 1) // self.from_step
        n = np.arange(self.produced, max(self.produced, ready))
        if len(n) == 0:
            return np.zeros(0)
        if not self._kept.any():  # silence in, silence out: what idle listening resamples all the time
            out = np.zeros(len(n))
        else:
            whole, phase = np.divmod(n * self.from_step, self.to_step)
            at = (whole - self._kept_from)[:, None] + self._taps[None, :]  # input samples used by each output
            out = np.einsum("ij,ij->i", self._kept[at], self._kernels[phase])
        self.produced = int(n[-1]) + 1
        # Keep what the next output sample needs onwards.
        first_needed = (self.produced * self.from_step) // self.to_step - self.half_taps + 1
        drop = max(0, first_needed - self._kept_from)
        self._kept, self._kept_from = self._kept[drop:], self._kept_from + drop
        return out
