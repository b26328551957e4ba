"""Tests for the breath tone, chime and noise bed: pure numpy, no audio hardware."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from assistant.audio.tones import (
    PHASES,
    GlideSegment,
    ToneBlock,
    ToneSettings,
    chime_waveform,
    dbfs_to_amplitude,
    noise_loop,
    plan_tone_block,
    raised_cosine_ramp,
)

SETTINGS = ToneSettings()
AMPLITUDE = dbfs_to_amplitude(SETTINGS.peak_dbfs)


def breathing_phases(pattern_seconds, sample_rate, cycles=1, start_sample=0):
    """Contiguous (name, start_sample, end_sample) phases repeating a (name, seconds) pattern."""
    phases = []
    cursor_samples = start_sample
    for _ in range(cycles):
        for name, seconds in pattern_seconds:
            length_samples = round(seconds * sample_rate)
            phases.append((name, cursor_samples, cursor_samples + length_samples))
            cursor_samples += length_samples
    return phases


def render_block(block, sample_rate, dtype=np.float64):
    """The whole block rendered in one call."""
    out = np.zeros(block.end_sample - block.start_sample, dtype=dtype)
    block.render_into(out, block.start_sample, sample_rate)
    return out


def max_step(sample_rate, settings=SETTINGS):
    """Largest allowed sample-to-sample change: the steepest slope of the highest pitch, plus 5 %."""
    return 2 * math.pi * settings.high_hz / sample_rate * dbfs_to_amplitude(settings.peak_dbfs) * 1.05


def expected_pitch_hz(phases, settings, sample_rate):
    """Per-sample pitch contour the spec describes, built independently of the module."""
    moving = [name for name, _, _ in phases if name in ("inhale", "exhale")]
    current_hz = settings.high_hz if moving and moving[0] == "exhale" else settings.low_hz
    pieces = []
    for name, start, end in phases:
        target_hz = {"inhale": settings.high_hz, "exhale": settings.low_hz}.get(name, current_hz)
        x = np.arange(end - start) / (end - start)
        pieces.append(current_hz + (target_hz - current_hz) * (1 - np.cos(np.pi * x)) / 2)
        current_hz = target_hz
    return np.concatenate(pieces)


def zero_crossing_pitch(wave, sample_rate):
    """(time_seconds, hz) estimated from the spacing of interpolated upward zero crossings."""
    wave = wave[:-1]  # a block's last sample is an exact 0 that is no crossing
    crossing = np.nonzero((wave[:-1] < 0) & (wave[1:] >= 0))[0]
    fraction = wave[crossing] / (wave[crossing] - wave[crossing + 1])
    times_seconds = (crossing + fraction) / sample_rate
    return (times_seconds[1:] + times_seconds[:-1]) / 2, 1.0 / np.diff(times_seconds)


def low_band_fraction(wave, sample_rate, cutoff_hz=200.0):
    """Share of the signal's energy below cutoff_hz."""
    power = np.abs(np.fft.rfft(wave.astype(np.float64))) ** 2
    frequency_hz = np.fft.rfftfreq(len(wave), 1.0 / sample_rate)
    return power[frequency_hz < cutoff_hz].sum() / power.sum()


FOUR_SEVEN_EIGHT = [("exhale", 4.0), ("inhale", 4.0), ("hold", 7.0), ("exhale", 8.0), ("rest", 1.0)]
# Whole seconds at these pitches are whole cycles, which would hide a phase not carried over; these are not.
UNEVEN = [("inhale", 3.77), ("hold", 1.13), ("exhale", 5.031), ("rest", 0.917), ("inhale", 2.2)]


def test_dbfs_to_amplitude_converts_levels():
    """0 dBFS is full scale, -20 dBFS a tenth, -6.02 dBFS about a half."""
    assert dbfs_to_amplitude(0.0) == 1.0
    assert dbfs_to_amplitude(-20.0) == pytest.approx(0.1)
    assert dbfs_to_amplitude(-6.0206) == pytest.approx(0.5, rel=1e-4)


def test_raised_cosine_ramp_rises_from_zero_towards_one():
    """The ramp starts at exactly 0, rises monotonically and mirrors itself about one half."""
    ramp = raised_cosine_ramp(100)
    assert ramp.dtype == np.float64 and len(ramp) == 100
    assert ramp[0] == 0.0
    assert np.all(np.diff(ramp) > 0) and ramp[-1] < 1.0
    # Point symmetry: ramp[i] + ramp[n - i] == 1, so the sample after the ramp is exactly 1.
    np.testing.assert_allclose(ramp[1:] + ramp[:0:-1], 1.0, atol=1e-15)
    assert raised_cosine_ramp(0).shape == (0,)
    assert raised_cosine_ramp(100)[::-1][-1] == 0.0


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_rendering_in_random_pieces_is_bit_identical(dtype):
    """Rendering a block in one call equals rendering it in random-sized pieces, in any order."""
    sample_rate = 44100
    pattern = [("inhale", 1.3), ("hold", 0.7), ("exhale", 1.9), ("rest", 0.5)]
    phases = breathing_phases(pattern, sample_rate, cycles=2, start_sample=12345)
    block = plan_tone_block(phases, SETTINGS, sample_rate)
    whole = render_block(block, sample_rate, dtype)

    rng = np.random.default_rng(7)
    window_start = block.start_sample - 1000  # pieces also straddle the block's edges
    window_stop = block.end_sample + 1000
    cuts = [window_start]
    while cuts[-1] < window_stop:
        piece_samples = int(rng.choice([1, 2, 3, 63, 64, 65, 127, 500, 1024, 4097, 30011]))
        cuts.append(min(window_stop, cuts[-1] + piece_samples))
    pieces = list(zip(cuts[:-1], cuts[1:]))
    rng.shuffle(pieces)
    pieced = np.zeros(window_stop - window_start, dtype=dtype)
    for first, stop in pieces:
        out = np.zeros(stop - first, dtype=dtype)
        block.render_into(out, first, sample_rate)
        pieced[first - window_start : stop - window_start] = out

    assert np.array_equal(pieced[1000:-1000], whole)
    assert not pieced[:1000].any() and not pieced[-1000:].any()


@pytest.mark.parametrize("pattern", [FOUR_SEVEN_EIGHT, UNEVEN], ids=["4-7-8", "uneven"])
def test_waveform_is_sine_of_accumulated_eased_pitch(pattern):
    """The tone equals sin of the running sum of 2*pi*f/sample_rate for the eased pitch contour."""
    sample_rate = 16000
    phases = breathing_phases(pattern, sample_rate)
    block = plan_tone_block(phases, SETTINGS, sample_rate)
    wave = render_block(block, sample_rate)

    radians_per_sample = 2 * np.pi * expected_pitch_hz(phases, SETTINGS, sample_rate) / sample_rate
    # Trapezoid rule: a running sum accurate to the integral far below audibility.
    steps = (radians_per_sample[1:] + radians_per_sample[:-1]) / 2
    phase_radians = np.concatenate([[0.0], np.cumsum(steps)])
    inside = slice(block.fade_samples, len(wave) - block.fade_samples)  # away from the fades
    np.testing.assert_allclose(wave[inside], AMPLITUDE * np.sin(phase_radians[inside]), atol=AMPLITUDE * 1e-6)


def test_pitch_rises_on_inhale_falls_on_exhale_and_holds_level():
    """Zero-crossing pitch glides up on an inhale, stays level on a hold and glides down on an exhale."""
    sample_rate = 16000
    phases = breathing_phases([("inhale", 4.0), ("hold", 2.0), ("exhale", 4.0), ("rest", 2.0)], sample_rate)
    block = plan_tone_block(phases, SETTINGS, sample_rate)
    times_seconds, pitch_hz = zero_crossing_pitch(render_block(block, sample_rate), sample_rate)

    def during(first_seconds, stop_seconds):
        return pitch_hz[(times_seconds > first_seconds) & (times_seconds < stop_seconds)]

    inhale, hold = during(0.05, 3.95), during(4.05, 5.95)
    exhale, rest = during(6.05, 9.95), during(10.05, 11.95)
    assert np.all(np.diff(inhale) > -0.2) and inhale[0] < 222 and inhale[-1] > 328
    assert np.all(np.abs(hold - SETTINGS.high_hz) < 0.2)
    assert np.all(np.diff(exhale) < 0.2) and exhale[0] > 328 and exhale[-1] < 222
    assert np.all(np.abs(rest - SETTINGS.low_hz) < 0.2)
    # And it follows the eased contour throughout, to within a fraction of a hertz.
    expected_hz = expected_pitch_hz(phases, SETTINGS, sample_rate)
    at_samples = np.round(times_seconds * sample_rate).astype(int)
    np.testing.assert_allclose(pitch_hz, expected_hz[at_samples], atol=0.5)


@pytest.mark.parametrize("pattern", [FOUR_SEVEN_EIGHT, UNEVEN], ids=["4-7-8", "uneven"])
@pytest.mark.parametrize("sample_rate", [16000, 44100, 48000])
def test_no_click_anywhere_in_a_block(sample_rate, pattern):
    """Sample-to-sample steps stay below a sine's steepest slope everywhere, and the edges are silent."""
    phases = breathing_phases(pattern, sample_rate)
    block = plan_tone_block(phases, SETTINGS, sample_rate)
    wave = render_block(block, sample_rate)

    steps = np.abs(np.diff(wave))
    assert steps.max() <= max_step(sample_rate)
    for _, boundary, _ in phases[1:]:
        offset = boundary - block.start_sample
        assert steps[offset - 3 : offset + 3].max() <= max_step(sample_rate)
        # A phase jump would show up as a spike in curvature; a smooth sine bends at most A*w^2.
        curvature = np.abs(np.diff(wave[offset - 3 : offset + 4], 2))
        assert curvature.max() <= AMPLITUDE * (2 * np.pi * SETTINGS.high_hz / sample_rate) ** 2 * 1.05
    assert abs(wave[0]) < 1e-9 and abs(wave[-1]) < 1e-9
    # Raised-cosine fades of block_fade_seconds at both edges.
    assert block.fade_samples == round(SETTINGS.block_fade_seconds * sample_rate)
    assert np.abs(wave[: block.fade_samples // 10]).max() < 0.03 * AMPLITUDE


def test_peak_stays_at_setting_and_default_mix_below_minus_12_dbfs():
    """The tone never exceeds peak_dbfs, and by default tone + chime + noise peaks stay <= -12 dBFS."""
    sample_rate = 16000
    for settings in (SETTINGS, ToneSettings(peak_dbfs=-6.0)):
        block = plan_tone_block(breathing_phases(FOUR_SEVEN_EIGHT, sample_rate), settings, sample_rate)
        wave = render_block(block, sample_rate)
        assert np.abs(wave).max() <= dbfs_to_amplitude(settings.peak_dbfs) + 1e-12
        assert np.abs(wave).max() > 0.999 * dbfs_to_amplitude(settings.peak_dbfs)
    chime_and_noise = dbfs_to_amplitude(SETTINGS.chime_peak_dbfs) + dbfs_to_amplitude(SETTINGS.noise_dbfs)
    worst_mix = AMPLITUDE + chime_and_noise
    assert worst_mix <= dbfs_to_amplitude(-12.0)


def test_phase_stays_continuous_after_400_cycles():
    """After 400 cycles of a 4.5 s / 6.409 s pattern at 44.1 kHz the last segment join is still seamless."""
    sample_rate = 44100
    phases = breathing_phases([("inhale", 4.5), ("exhale", 6.409)], sample_rate, cycles=400)
    block = plan_tone_block(phases, SETTINGS, sample_rate)
    last = block.segments[-1]

    # The carried phase matches the exact total (mean pitch is 275 Hz in every segment).
    total_cycles = sum(Fraction(275) * (end - start) / sample_rate for _, start, end in phases[:-1])
    exact_radians = 2 * math.pi * float(total_cycles - math.floor(total_cycles))
    assert abs(math.remainder(last.start_phase_radians - exact_radians, 2 * math.pi)) < 1e-8
    assert 0.0 <= last.start_phase_radians < 2 * math.pi

    out = np.zeros(400)
    block.render_into(out, last.start_sample - 200, sample_rate)
    assert np.abs(np.diff(out)).max() <= max_step(sample_rate)
    curvature = np.abs(np.diff(out, 2))
    assert curvature.max() <= AMPLITUDE * (2 * np.pi * SETTINGS.high_hz / sample_rate) ** 2 * 1.05
    # The samples either side of the join are where the previous segment's sine would have put them.
    before = block.segments[-2]
    offsets = before.length_samples + np.array([-2.0, -1.0, 0.0, 1.0])
    mean_radians = 2 * np.pi * 0.5 * (before.start_hz + before.end_hz) / sample_rate
    glide_radians = (before.end_hz - before.start_hz) * before.length_samples / sample_rate
    bend = glide_radians * np.sin(np.pi * offsets / before.length_samples)
    continued = before.start_phase_radians + mean_radians * offsets - bend
    np.testing.assert_allclose(out[198:202], AMPLITUDE * np.sin(continued), atol=AMPLITUDE * 1e-9)


def test_block_starting_with_exhale_starts_at_high_pitch():
    """A block whose first moving phase is an exhale starts at high_hz; otherwise at low_hz."""
    sample_rate = 16000
    phases = breathing_phases([("rest", 1.0), ("exhale", 3.0), ("inhale", 3.0)], sample_rate)
    exhale_first = plan_tone_block(phases, SETTINGS, sample_rate)
    glides_hz = [(s.start_hz, s.end_hz) for s in exhale_first.segments]
    assert glides_hz == [(330.0, 330.0), (330.0, 220.0), (220.0, 330.0)]
    times_seconds, pitch_hz = zero_crossing_pitch(render_block(exhale_first, sample_rate), sample_rate)
    assert np.all(np.abs(pitch_hz[(times_seconds > 0.05) & (times_seconds < 0.95)] - SETTINGS.high_hz) < 0.2)

    phases = breathing_phases([("hold", 1.0), ("inhale", 3.0)], sample_rate)
    inhale_first = plan_tone_block(phases, SETTINGS, sample_rate)
    assert inhale_first.segments[0].start_hz == SETTINGS.low_hz


def test_render_into_touches_nothing_outside_the_block():
    """Samples of out before and after the block keep their values; windows missing the block add nothing."""
    sample_rate = 16000
    phases = breathing_phases([("inhale", 1.0), ("exhale", 1.0)], sample_rate, start_sample=5000)
    block = plan_tone_block(phases, SETTINGS, sample_rate)
    out = np.full(block.end_sample + 3000, 0.25, dtype=np.float32)
    block.render_into(out, 0, sample_rate)
    assert np.all(out[: block.start_sample] == 0.25)
    assert np.all(out[block.end_sample :] == 0.25)
    assert np.abs(out[block.start_sample : block.end_sample] - 0.25).max() > 0.9 * AMPLITUDE

    for window_start in (0, block.end_sample, block.start_sample - 100):
        out = np.zeros(100)
        block.render_into(out, window_start, sample_rate)
        assert not out.any()


def test_plan_rejects_bad_phases():
    """Unknown phase names, gaps between phases and empty blocks raise ValueError."""
    with pytest.raises(ValueError, match=", ".join(PHASES)):
        plan_tone_block([("breathe", 0, 100)], SETTINGS, 16000)
    with pytest.raises(ValueError, match="contiguous"):
        plan_tone_block([("inhale", 0, 100), ("exhale", 150, 200)], SETTINGS, 16000)
    with pytest.raises(ValueError):
        plan_tone_block([("inhale", 100, 100)], SETTINGS, 16000)
    with pytest.raises(ValueError):
        ToneBlock((GlideSegment(0, 10, 220.0, 220.0, 0.0), GlideSegment(11, 20, 220.0, 220.0, 0.0)), 0.1, 2)


def test_short_block_clamps_fade_to_half_its_length():
    """A block shorter than two block fades fades over half its length and still starts and ends silent."""
    sample_rate = 16000
    block = plan_tone_block([("inhale", 0, 4000), ("exhale", 4000, 8000)], SETTINGS, sample_rate)
    assert block.fade_samples == 4000
    wave = render_block(block, sample_rate)
    assert wave[0] == 0.0 and abs(wave[-1]) < 1e-9
    assert np.abs(np.diff(wave)).max() <= max_step(sample_rate)


def test_chime_is_soft_and_starts_and_ends_silent():
    """The chime starts and ends at exact 0, peaks at chime_peak_dbfs below the tone, partials 12 dB down."""
    sample_rate = 44100
    chime = chime_waveform(SETTINGS, sample_rate)
    assert chime.dtype == np.float32
    assert len(chime) == round(SETTINGS.chime_seconds * sample_rate)
    assert chime[0] == 0.0 and chime[-1] == 0.0
    peak = np.abs(chime).max()
    assert peak == pytest.approx(dbfs_to_amplitude(SETTINGS.chime_peak_dbfs), rel=1e-6)
    assert peak < AMPLITUDE
    # Raised-cosine attack: no step bigger than the chime's own sine slopes allow.
    assert np.abs(np.diff(chime)).max() < peak * 2 * np.pi * SETTINGS.chime_hz * 2.76 / sample_rate
    # Any partial is at least 12 dB below the fundamental.
    magnitude = np.abs(np.fft.rfft(chime))
    frequency_hz = np.fft.rfftfreq(len(chime), 1.0 / sample_rate)
    near_fundamental = np.abs(frequency_hz - SETTINGS.chime_hz) < 20
    partials = magnitude[~near_fundamental & (frequency_hz > 100)]
    assert partials.max() <= magnitude[near_fundamental].max() * dbfs_to_amplitude(-12.0)
    # It decays: the last quarter is far quieter than the first.
    quarter = len(chime) // 4
    assert np.abs(chime[-quarter:]).max() < 0.1 * peak


@pytest.mark.parametrize("kind", ["pink", "brown"])
def test_noise_loop_is_seamless_at_level_and_deterministic(kind):
    """The noise buffer wraps around without a seam, peaks at noise_dbfs, has no DC and repeats per seed."""
    sample_rate = 16000
    noise = noise_loop(kind, sample_rate, SETTINGS, loop_seconds=4.0, seed=3)
    assert noise.dtype == np.float32 and len(noise) == 4 * sample_rate
    assert np.abs(noise).max() == pytest.approx(dbfs_to_amplitude(SETTINGS.noise_dbfs), rel=1e-6)
    assert abs(float(noise.astype(np.float64).mean())) < 1e-3 * np.abs(noise).max()
    wrap_step = abs(float(noise[0]) - float(noise[-1]))
    assert wrap_step <= np.percentile(np.abs(np.diff(noise)), 99.9)
    assert np.array_equal(noise, noise_loop(kind, sample_rate, SETTINGS, loop_seconds=4.0, seed=3))
    assert not np.array_equal(noise, noise_loop(kind, sample_rate, SETTINGS, loop_seconds=4.0, seed=4))


def test_noise_colours_tilt_towards_low_frequencies():
    """Pink noise has more low-frequency energy than white, and brown more than pink."""
    sample_rate = 16000
    white = np.random.default_rng(0).standard_normal(8 * sample_rate)
    pink = noise_loop("pink", sample_rate, SETTINGS)
    brown = noise_loop("brown", sample_rate, SETTINGS)
    white_low, pink_low, brown_low = (low_band_fraction(wave, sample_rate) for wave in (white, pink, brown))
    assert white_low < pink_low < brown_low


def test_unknown_noise_kind_names_the_valid_ones():
    """An unknown noise kind raises ValueError listing pink and brown."""
    with pytest.raises(ValueError, match="pink, brown"):
        noise_loop("violet", 16000, SETTINGS)
    with pytest.raises(ValueError, match="pink, brown"):
        ToneSettings(noise="white")


def test_top_up_inhale_keeps_rising():
    """Two inhales in a row (cyclic sighing) share the glide: the top-up still rises to the top."""
    rate = 16000
    settings = ToneSettings()
    block = plan_tone_block([("inhale", 0, 3 * rate), ("inhale", 3 * rate, 4 * rate), ("exhale", 4 * rate, 11 * rate)], settings, rate)
    first, top_up, exhale = block.segments
    assert first.start_hz == settings.low_hz
    assert settings.low_hz < first.end_hz < settings.high_hz
    assert top_up.start_hz == first.end_hz and top_up.end_hz == settings.high_hz
    assert first.end_hz == pytest.approx(settings.low_hz + 0.75 * (settings.high_hz - settings.low_hz))
    assert exhale.end_hz == settings.low_hz
