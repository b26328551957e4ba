"""Breath tone, phase-change chime and noise bed, each a pure function of the absolute sample index.

The tone is the session's clock. A mixer renders any block [start_sample, start_sample + n)
on demand, in any order and with any block size, so nothing here carries state between calls:
every sample is computed from its absolute index alone, and the output is bit-identical
however the session is cut into blocks.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

PHASES = ("inhale", "hold", "exhale", "rest")
NOISE_KINDS = ("pink", "brown")

_TWO_PI = 2.0 * math.pi
# Bell-like inharmonic partial of the chime, kept well under the fundamental.
_CHIME_PARTIAL_RATIO = 2.76
_CHIME_PARTIAL_RELATIVE_DB = -14.0
# The chime's exponential decay reaches about -43 dB (e^-5) at its end; the tail fade takes it to 0.
_CHIME_DECAY_TIME_CONSTANTS = 5.0
_CHIME_TAIL_FRACTION = 0.1
# Below this the noise spectrum rolls off: sub-audible rumble would eat the peak budget unheard.
_NOISE_CORNER_HZ = 20.0
_NOISE_SLOPES = {"pink": 1.0, "brown": 2.0}  # power spectrum ~ 1/f**slope
_GRID_SAMPLES = 64  # row length of the table used to evaluate the glide's slow sine term


def dbfs_to_amplitude(dbfs: float) -> float:
    """Linear peak amplitude (full scale = 1.0) for a level in dBFS."""
    return 10.0 ** (dbfs / 20.0)


def _rising_cosine(index: np.ndarray, length_samples: int) -> np.ndarray:
    """Raised-cosine gain at integer positions of a ramp of the given length (0 at index 0)."""
    return 0.5 - 0.5 * np.cos(index * (math.pi / length_samples))


def raised_cosine_ramp(length_samples: int) -> np.ndarray:
    """Rising half-cosine ramp 0 -> 1 (float64) of the given length; reverse it for a fade-out."""
    # ramp[0] == 0 and the sample after the ramp would be exactly 1, so a fade-in followed by
    # full level repeats no sample, and a reversed ramp ends on an exact 0.
    if length_samples < 0:
        raise ValueError(f"ramp length must be >= 0 samples, got {length_samples}")
    if length_samples == 0:
        return np.zeros(0, dtype=np.float64)
    return _rising_cosine(np.arange(length_samples, dtype=np.float64), length_samples)


@dataclass(frozen=True)
class ToneSettings:
    """Sound of the breath tone, chime and noise bed; levels are peaks in dBFS."""

    low_hz: float = 220.0  # pitch at the bottom of the breath (end of an exhale)
    high_hz: float = 330.0  # pitch at the top (end of an inhale)
    peak_dbfs: float = -16.0  # tone peak; with chime and noise the no-speech mix stays <= -12 dBFS
    chime_hz: float = 660.0
    chime_peak_dbfs: float = -28.0  # a soft chime, quieter than the tone
    chime_seconds: float = 1.6  # decay length
    noise: str | None = None  # None, "pink" or "brown"
    noise_dbfs: float = -38.0  # peak level of the noise bed
    edge_fade_seconds: float = 0.02  # raised-cosine fade on every sound edge (10-30 ms)
    block_fade_seconds: float = 0.6  # gentler fade where a breathing block's tone starts and ends

    def __post_init__(self) -> None:
        for name in ("low_hz", "high_hz", "chime_hz", "chime_seconds"):
            if not getattr(self, name) > 0:
                raise ValueError(f"ToneSettings.{name} must be > 0, got {getattr(self, name)!r}")
        for name in ("edge_fade_seconds", "block_fade_seconds"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"ToneSettings.{name} must be >= 0, got {getattr(self, name)!r}")
        if self.noise is not None and self.noise not in NOISE_KINDS:
            raise ValueError(
                f"ToneSettings.noise must be None or one of {', '.join(NOISE_KINDS)}; got {self.noise!r}"
            )


@dataclass(frozen=True)
class GlideSegment:
    """One phase of the tone: an eased pitch glide (or a level pitch) over [start_sample, end_sample)."""

    start_sample: int
    end_sample: int  # exclusive
    start_hz: float
    end_hz: float
    start_phase_radians: float  # accumulated oscillator phase at start_sample, in [0, 2*pi)

    @property
    def length_samples(self) -> int:
        """Number of samples in the segment."""
        return self.end_sample - self.start_sample

    def end_phase_radians(self, sample_rate: int) -> float:
        """Phase at end_sample (the next segment's start), reduced to [0, 2*pi)."""
        # The sin term of the integral is 0 at k = L, so only whole cycles of the mean pitch remain;
        # dropping whole cycles before multiplying by 2*pi keeps precision over hour-long sessions.
        cycles = 0.5 * (self.start_hz + self.end_hz) * self.length_samples / sample_rate
        fraction = cycles - math.floor(cycles)
        return (self.start_phase_radians + _TWO_PI * fraction) % _TWO_PI


class _SegmentKernel:
    """Per-segment constants for evaluating its oscillator phase at any run of sample offsets."""

    # f(x) = f0 + (f1 - f0) * (1 - cos(pi x)) / 2 = f_mean - f_half_span * cos(pi x), with x = k / L.
    # Its integral, 2*pi/sr * (f_mean * k - f_half_span * L/pi * sin(pi k / L)), is the continuous
    # form of the running sum of 2*pi*f/sample_rate, evaluated at each offset k directly.
    #
    # Offsets are laid out on a fixed grid, k = G*q + r, so that per-sample work is a few adds and
    # multiplies of small tables: the linear term is mean * G*q + (start + mean * r), and the slow
    # sin(pi k / L) term uses sin(a + b) = sin a cos b + cos a sin b with one sin/cos per row.
    # (A float64 np.sin per sample for that term would cost as much as the oscillator itself.)
    # Each k always maps to the same (q, r) and the same operations, so a sample's value does not
    # depend on how the session is cut into blocks.

    __slots__ = ("row_radians", "row_bend_radians", "fine_linear", "fine_cos", "fine_sin")

    def __init__(self, segment: GlideSegment, sample_rate: int) -> None:
        length_samples = segment.length_samples
        mean_radians_per_sample = _TWO_PI * 0.5 * (segment.start_hz + segment.end_hz) / sample_rate
        fine = np.arange(_GRID_SAMPLES, dtype=np.float64)
        self.row_radians = _GRID_SAMPLES * mean_radians_per_sample
        self.fine_linear = fine * mean_radians_per_sample + segment.start_phase_radians
        if segment.end_hz == segment.start_hz:
            self.row_bend_radians = None
            return
        glide_radians = (segment.end_hz - segment.start_hz) * length_samples / sample_rate
        bend_radians_per_sample = math.pi / length_samples
        self.row_bend_radians = _GRID_SAMPLES * bend_radians_per_sample
        self.fine_cos = glide_radians * np.cos(fine * bend_radians_per_sample)
        self.fine_sin = glide_radians * np.sin(fine * bend_radians_per_sample)

    def phase(self, first_offset: int, stop_offset: int) -> np.ndarray:
        """Oscillator phase in radians (not reduced) at offsets [first_offset, stop_offset) (float64)."""
        first_row = first_offset // _GRID_SAMPLES
        rows = np.arange(first_row, (stop_offset - 1) // _GRID_SAMPLES + 1, dtype=np.float64)
        phase = np.add.outer(rows * self.row_radians, self.fine_linear)
        if self.row_bend_radians is not None:
            rows *= self.row_bend_radians
            term = np.multiply.outer(np.sin(rows), self.fine_cos)
            phase -= term
            np.multiply.outer(np.cos(rows), self.fine_sin, out=term)
            phase -= term
        skip = first_offset - first_row * _GRID_SAMPLES
        return phase.ravel()[skip : skip + stop_offset - first_offset]


@dataclass(frozen=True)
class ToneBlock:
    """One continuous tone under a breathing block: contiguous glide segments, faded in and out at its edges."""

    segments: tuple[GlideSegment, ...]
    amplitude: float
    fade_samples: int
    sample_rate: int | None = None  # rate the segment phases were planned at; checked when rendering
    _segment_starts: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _kernels: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.segments:
            raise ValueError("a ToneBlock needs at least one segment")
        for before, after in zip(self.segments, self.segments[1:]):
            if before.end_sample != after.start_sample:
                raise ValueError(
                    f"segments must be contiguous: one ends at sample {before.end_sample}, "
                    f"the next starts at {after.start_sample}"
                )
        if any(segment.length_samples <= 0 for segment in self.segments):
            raise ValueError("every segment must be at least one sample long")
        if self.fade_samples < 0:
            raise ValueError(f"fade_samples must be >= 0, got {self.fade_samples}")
        object.__setattr__(self, "segments", tuple(self.segments))
        object.__setattr__(self, "_segment_starts", tuple(s.start_sample for s in self.segments))
        object.__setattr__(self, "_kernels", {})  # (segment index, sample_rate) -> _SegmentKernel

    @property
    def start_sample(self) -> int:
        """First sample of the tone."""
        return self.segments[0].start_sample

    @property
    def end_sample(self) -> int:
        """Sample just after the tone ends (exclusive)."""
        return self.segments[-1].end_sample

    def render_into(self, out: np.ndarray, start_sample: int, sample_rate: int) -> None:
        """Add this tone's samples for [start_sample, start_sample + len(out)) into out (float32 or float64), touching nothing outside the block."""
        if out.ndim != 1:
            raise ValueError(f"out must be one-dimensional, got shape {out.shape}")
        if self.sample_rate is not None and sample_rate != self.sample_rate:
            raise ValueError(
                f"tone block was planned at {self.sample_rate} Hz, asked to render at {sample_rate} Hz"
            )
        first = max(start_sample, self.start_sample)
        stop = min(start_sample + len(out), self.end_sample)
        if first >= stop:
            return

        # Every step below is elementwise on values derived from the absolute sample index only,
        # so a sample comes out the same whichever block it is rendered in.
        index = bisect.bisect_right(self._segment_starts, first) - 1
        while index < len(self.segments) and self.segments[index].start_sample < stop:
            segment = self.segments[index]
            piece_first = max(first, segment.start_sample)
            piece_stop = min(stop, segment.end_sample)
            kernel = self._kernel(index, sample_rate)
            wave = kernel.phase(piece_first - segment.start_sample, piece_stop - segment.start_sample)
            np.sin(wave, out=wave)
            wave *= self.amplitude
            self._apply_fades(wave, piece_first, piece_stop)
            out[piece_first - start_sample : piece_stop - start_sample] += wave
            index += 1

    def _kernel(self, index: int, sample_rate: int) -> _SegmentKernel:
        """Constants for segment number index, built on first use (a cache: output is the same without it)."""
        key = (index, sample_rate)
        kernel = self._kernels.get(key)
        if kernel is None:
            kernel = self._kernels[key] = _SegmentKernel(self.segments[index], sample_rate)
        return kernel

    def _apply_fades(self, wave: np.ndarray, first: int, stop: int) -> None:
        """Scale the part of wave (covering [first, stop)) that lies in the block's fade-in or fade-out."""
        fade = self.fade_samples
        if fade == 0:
            return
        fade_in_stop = min(stop, self.start_sample + fade)
        if first < fade_in_stop:
            from_start = np.arange(
                first - self.start_sample, fade_in_stop - self.start_sample, dtype=np.float64
            )
            wave[: fade_in_stop - first] *= _rising_cosine(from_start, fade)
        # Mirror image of the fade-in, counted back from the last sample, which lands on exact 0.
        last = self.end_sample - 1
        fade_out_first = max(first, self.end_sample - fade)
        if fade_out_first < stop:
            to_end = np.arange(last - fade_out_first, last - stop, -1, dtype=np.float64)
            wave[fade_out_first - first :] *= _rising_cosine(to_end, fade)


def _starting_hz(phases: Sequence[tuple[str, int, int]], settings: ToneSettings) -> float:
    """Pitch the block starts at: the top if its first moving phase is an exhale, else the bottom."""
    for name, _, _ in phases:
        if name == "exhale":
            return settings.high_hz
        if name == "inhale":
            return settings.low_hz
    return settings.low_hz


def _phase_targets_hz(phases: Sequence[tuple[str, int, int]], settings: ToneSettings, start_hz: float) -> list[float]:
    """The pitch each phase ends on.

    An inhale ends at high_hz and an exhale at low_hz, holds stay level. Back-to-back
    phases of the same direction (cyclic sighing's inhale and top-up inhale) share one
    glide in proportion to their lengths, so the top-up still rises instead of sounding
    like a hold.
    """
    end_hz = {"inhale": settings.high_hz, "exhale": settings.low_hz}
    targets: list[float] = []
    current_hz = start_hz
    index = 0
    while index < len(phases):
        name = phases[index][0]
        if name not in end_hz:
            targets.append(current_hz)
            index += 1
            continue
        run_end = index
        while run_end + 1 < len(phases) and phases[run_end + 1][0] == name:
            run_end += 1
        run_start_sample, run_end_sample = phases[index][1], phases[run_end][2]
        run_samples = max(1, run_end_sample - run_start_sample)
        for _, _, end in phases[index : run_end + 1]:
            share = (end - run_start_sample) / run_samples
            targets.append(current_hz + (end_hz[name] - current_hz) * share)
        current_hz = end_hz[name]
        index = run_end + 1
    return targets


def plan_tone_block(
    phases: Sequence[tuple[str, int, int]], settings: ToneSettings, sample_rate: int
) -> ToneBlock:
    """phases: contiguous (phase_name, start_sample, end_sample) for one breathing block."""
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be > 0, got {sample_rate}")
    if not phases:
        raise ValueError("a breathing block needs at least one phase")
    previous_end = None
    for name, start, end in phases:
        if name not in PHASES:
            raise ValueError(f"unknown phase {name!r}; valid phases are {', '.join(PHASES)}")
        if end < start:
            raise ValueError(f"phase {name!r} ends (sample {end}) before it starts (sample {start})")
        if previous_end is not None and start != previous_end:
            raise ValueError(
                f"phases must be contiguous: phase {name!r} starts at {start}, previous ended at {previous_end}"
            )
        previous_end = end

    current_hz = _starting_hz(phases, settings)
    phase_radians = 0.0
    segments = []
    for (name, start, end), target_hz in zip(phases, _phase_targets_hz(phases, settings, current_hz)):
        if end == start:
            continue
        segment = GlideSegment(int(start), int(end), current_hz, target_hz, phase_radians)
        segments.append(segment)
        phase_radians = segment.end_phase_radians(sample_rate)
        current_hz = target_hz
    if not segments:
        raise ValueError("a breathing block needs at least one phase longer than zero samples")

    length_samples = segments[-1].end_sample - segments[0].start_sample
    wanted_fade_samples = round(max(settings.block_fade_seconds, settings.edge_fade_seconds) * sample_rate)
    fade_samples = max(1, min(wanted_fade_samples, length_samples // 2))
    return ToneBlock(tuple(segments), dbfs_to_amplitude(settings.peak_dbfs), fade_samples, sample_rate)


def chime_waveform(settings: ToneSettings, sample_rate: int) -> np.ndarray:
    """The soft chime played at a phase change (float32), starting and ending at silence."""
    length_samples = round(settings.chime_seconds * sample_rate)
    if length_samples < 2:
        raise ValueError(f"chime_seconds={settings.chime_seconds} is too short at {sample_rate} Hz")
    time_seconds = np.arange(length_samples, dtype=np.float64) / sample_rate
    decay_seconds = settings.chime_seconds / _CHIME_DECAY_TIME_CONSTANTS
    wave = np.sin(_TWO_PI * settings.chime_hz * time_seconds) * np.exp(-time_seconds / decay_seconds)
    partial_hz = settings.chime_hz * _CHIME_PARTIAL_RATIO
    if partial_hz < 0.45 * sample_rate:  # skip a partial that would alias
        # Higher partials of a bell die away faster than the fundamental.
        wave += (
            dbfs_to_amplitude(_CHIME_PARTIAL_RELATIVE_DB)
            * np.sin(_TWO_PI * partial_hz * time_seconds)
            * np.exp(-2.0 * time_seconds / decay_seconds)
        )
    half = length_samples // 2
    attack_samples = max(1, min(round(settings.edge_fade_seconds * sample_rate), half))
    tail_samples = max(1, min(max(attack_samples, round(_CHIME_TAIL_FRACTION * length_samples)), half))
    wave[:attack_samples] *= raised_cosine_ramp(attack_samples)
    wave[-tail_samples:] *= raised_cosine_ramp(tail_samples)[::-1]
    wave *= dbfs_to_amplitude(settings.chime_peak_dbfs) / np.max(np.abs(wave))
    return wave.astype(np.float32)


def noise_loop(
    kind: str, sample_rate: int, settings: ToneSettings, loop_seconds: float = 8.0, seed: int = 0
) -> np.ndarray:
    """A seamlessly loopable pink or brown noise buffer (float32) at settings.noise_dbfs peak; the mixer indexes it modulo its length."""
    if kind not in _NOISE_SLOPES:
        raise ValueError(f"unknown noise kind {kind!r}; valid kinds are {', '.join(NOISE_KINDS)}")
    length_samples = round(loop_seconds * sample_rate)
    if length_samples < 16:
        raise ValueError(f"loop_seconds={loop_seconds} is too short at {sample_rate} Hz")
    rng = np.random.default_rng(seed)
    spectrum = np.fft.rfft(rng.standard_normal(length_samples))
    frequency_hz = np.fft.rfftfreq(length_samples, d=1.0 / sample_rate)
    # Shape the amplitude spectrum by f**(-slope/2) above the corner and roll off linearly below it.
    # An inverse FFT is periodic in its length, so the buffer wraps around without a seam.
    shaped_hz = np.maximum(frequency_hz, _NOISE_CORNER_HZ)
    gain = shaped_hz ** (-_NOISE_SLOPES[kind] / 2.0) * np.minimum(frequency_hz / _NOISE_CORNER_HZ, 1.0)
    gain[0] = 0.0  # no DC
    wave = np.fft.irfft(spectrum * gain, n=length_samples)
    wave -= wave.mean()
    wave *= dbfs_to_amplitude(settings.noise_dbfs) / np.max(np.abs(wave))
    return wave.astype(np.float32)
