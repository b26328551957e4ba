"""FFT resampling of short clips, checked with synthetic sines."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.audio.resample import resample

SOURCE_RATE = 22050


def _sine(frequency_hz: float, seconds: float, sample_rate: int, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(round(seconds * sample_rate)) / sample_rate
    return amplitude * np.sin(2 * np.pi * frequency_hz * t)


def _dominant_frequency_hz(samples: np.ndarray, sample_rate: int) -> float:
    """Peak of a Hann-windowed, zero-padded spectrum, refined by parabolic interpolation."""
    windowed = samples * np.hanning(len(samples))
    size = 8 * len(samples)
    magnitude = np.abs(np.fft.rfft(windowed, n=size))
    peak = int(np.argmax(magnitude))
    left, centre, right = np.log(magnitude[peak - 1 : peak + 2])
    offset = 0.5 * (left - right) / (left - 2 * centre + right)
    return (peak + offset) * sample_rate / size


@pytest.mark.parametrize("to_rate", [44100, 16000, 48000, 8000])
def test_sine_stays_a_1khz_sine(to_rate):
    """A 1 kHz sine keeps its frequency and amplitude (within 1%) at the new rate."""
    clip = _sine(1000.0, 1.5, SOURCE_RATE)
    out = resample(clip, SOURCE_RATE, to_rate)
    middle = out[len(out) // 4 : 3 * len(out) // 4]  # away from the clip's abrupt edges
    assert _dominant_frequency_hz(middle, to_rate) == pytest.approx(1000.0, rel=0.01)
    amplitude = np.sqrt(2.0) * np.sqrt(np.mean(middle.astype(np.float64) ** 2))
    assert amplitude == pytest.approx(0.5, rel=0.01)


@pytest.mark.parametrize("to_rate", [44100, 16000])
def test_matches_the_ideal_sine_sample_by_sample(to_rate):
    """Away from the edges the output is the same sine sampled at the new rate, not a shifted one."""
    clip = _sine(1000.0, 1.0, SOURCE_RATE)
    out = resample(clip, SOURCE_RATE, to_rate)
    ideal = _sine(1000.0, 1.0, to_rate)
    middle = slice(len(out) // 4, 3 * len(out) // 4)
    assert np.max(np.abs(out[middle] - ideal[middle])) < 1e-3


@pytest.mark.parametrize(
    ("count", "from_rate", "to_rate", "expected"),
    [
        (22050, 22050, 44100, 44100),
        (22050, 22050, 16000, 16000),
        (1001, 22050, 16000, 726),  # 726.35 rounds down
        (3, 22050, 44100, 6),
        (12345, 44100, 48000, 13437),  # 13436.7 rounds up
    ],
)
def test_length_is_rounded_ratio(count, from_rate, to_rate, expected):
    """Output length is round(len * to / from)."""
    assert len(resample(np.zeros(count), from_rate, to_rate)) == expected


def test_silence_stays_silence():
    """Zeros in, zeros out."""
    out = resample(np.zeros(5000), SOURCE_RATE, 44100)
    assert out.dtype == np.float32
    assert not np.any(out)


def test_same_rate_is_a_float32_copy():
    """Equal rates return a float32 copy that does not share memory with the input."""
    clip = np.linspace(-1, 1, 100)
    out = resample(clip, 16000, 16000)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, clip, atol=1e-7)
    out[0] = 5.0
    assert clip[0] == -1.0


def test_empty_clip():
    """An empty clip resamples to an empty float32 clip."""
    out = resample(np.zeros(0, dtype=np.float32), SOURCE_RATE, 44100)
    assert out.dtype == np.float32
    assert len(out) == 0


def test_no_wrap_around_from_end_to_start():
    """A loud ending does not ring into the quiet start of the clip (the padding works)."""
    clip = np.zeros(4000)
    clip[-400:] = _sine(3000.0, 400 / SOURCE_RATE, SOURCE_RATE, amplitude=1.0)
    out = resample(clip, SOURCE_RATE, 16000)
    assert np.max(np.abs(out[:500])) < 1e-3


def test_downsampling_removes_content_above_new_nyquist():
    """A 10 kHz tone, above 16 kHz's Nyquist (8 kHz), is removed instead of aliasing to 6 kHz."""
    out = resample(_sine(10000.0, 1.0, SOURCE_RATE), SOURCE_RATE, 16000)
    middle = out[len(out) // 4 : 3 * len(out) // 4]
    assert np.max(np.abs(middle)) < 0.01


def test_rejects_bad_rates():
    """Zero or negative rates are programming errors."""
    with pytest.raises(ValueError):
        resample(np.zeros(10), 0, 16000)


@pytest.mark.parametrize("from_rate, to_rate", [(44100, 16000), (48000, 16000), (22050, 16000), (16000, 44100)])
def test_a_stream_in_pieces_of_any_length_is_the_stream_whole(from_rate, to_rate):
    """StreamResampler: what comes out does not depend on how the input was cut up."""
    from assistant.audio.resample import StreamResampler

    rng = np.random.default_rng(4)
    samples = rng.standard_normal(from_rate)
    whole = StreamResampler(from_rate, to_rate)(samples)
    pieces, at, resampler = [], 0, StreamResampler(from_rate, to_rate)
    while at < len(samples):
        size = int(rng.integers(1, 3000))
        pieces.append(resampler(samples[at : at + size]))
        at += size
    assert np.array_equal(np.concatenate(pieces), whole)
    # (the outputs of the last half_taps inputs await what comes after them)
    assert 0 <= len(samples) * to_rate / from_rate - len(whole) <= resampler.half_taps * max(1, to_rate / from_rate) + 1


def test_a_streamed_sine_lands_on_the_ideal_samples_and_what_cannot_be_kept_is_taken_out():
    """44.1 kHz to 16 kHz: a 1 kHz sine sample by sample at the new rate, a 10 kHz one (above 8 kHz) 40 dB down."""
    from assistant.audio.resample import StreamResampler

    one_k = StreamResampler(44100, 16000)(_sine(1000, 1.0, 44100))
    ideal = _sine(1000, len(one_k) / 16000, 16000)
    assert np.max(np.abs(one_k[50:] - ideal[50:])) < 1e-3
    ten_k = StreamResampler(44100, 16000)(_sine(10000, 1.0, 44100))
    assert np.sqrt(np.mean(ten_k[50:] ** 2)) < 0.5 / np.sqrt(2) * 0.01


def test_a_stream_of_silence_then_sound_is_resampled_as_a_whole():
    """Silence is passed through without computing (idle listening resamples silence all day), and the sound
    after it comes out exactly as if the silence had been computed."""
    from assistant.audio.resample import StreamResampler

    samples = np.concatenate([np.zeros(30000), _sine(440, 0.5, 44100)])
    whole = StreamResampler(44100, 16000)(samples)
    resampler = StreamResampler(44100, 16000)
    pieces = [resampler(samples[at : at + 1024]) for at in range(0, len(samples), 1024)]
    assert np.allclose(np.concatenate(pieces), whole, atol=1e-12)
    assert not whole[: round(30000 * 16000 / 44100) - 20].any()
