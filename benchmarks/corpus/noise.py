"""Background noise made here, from a seeded generator (no downloads): every result has RMS 1.

pink, brown  - coloured noise, shaped in the frequency domain.
fan          - a broad band around a few hundred hertz, a faint blade tone and a slow wobble.
household    - mains hum (50 or 60 Hz and harmonics), room tone, a little hiss and
               occasional clatter (short bright bursts, some ringing like a cup or cutlery).
babble       - several talkers at once: ordinary sentences in other voices, summed.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

NOISE_TYPES = ("pink", "brown", "fan", "household", "babble")

_HIGH_PASS_HZ = 20.0  # below hearing and below any microphone; keeps brown noise from drifting
_BABBLE_TALKERS = 6


def make_noise(
    noise_type: str,
    sample_count: int,
    sample_rate: int,
    rng: np.random.Generator,
    babble_clips: Sequence[Sequence[np.ndarray]] = (),
) -> np.ndarray:
    """sample_count samples of one noise type at RMS 1; babble needs clips from several talkers."""
    if noise_type == "pink":
        noise = _shaped(sample_count, sample_rate, rng, lambda f: 1.0 / np.sqrt(f))
    elif noise_type == "brown":
        noise = _shaped(sample_count, sample_rate, rng, lambda f: 1.0 / f)
    elif noise_type == "fan":
        noise = _fan(sample_count, sample_rate, rng)
    elif noise_type == "household":
        noise = _household(sample_count, sample_rate, rng)
    elif noise_type == "babble":
        noise = _babble(sample_count, sample_rate, rng, babble_clips)
    else:
        raise ValueError(f"unknown noise type {noise_type!r}; choose from {', '.join(NOISE_TYPES)}")
    return _unit_rms(noise)


def _unit_rms(noise: np.ndarray) -> np.ndarray:
    level = float(np.sqrt(np.mean(noise * noise)))
    return noise / level if level > 0 else noise


def _shaped(sample_count: int, sample_rate: int, rng: np.random.Generator, gain_of_hz) -> np.ndarray:
    """White Gaussian noise with its amplitude spectrum multiplied by gain_of_hz (high-passed at 20 Hz)."""
    spectrum = np.fft.rfft(rng.standard_normal(sample_count))
    hz = np.fft.rfftfreq(sample_count, 1.0 / sample_rate)
    gain = np.zeros_like(hz)
    audible = hz >= _HIGH_PASS_HZ
    gain[audible] = gain_of_hz(hz[audible])
    return _unit_rms(np.fft.irfft(spectrum * gain, n=sample_count))


def _fan(sample_count: int, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    centre_hz = rng.uniform(250.0, 600.0)
    # A bump about an octave and a half wide on a log-frequency axis, over a faint pink floor.
    band = _shaped(
        sample_count,
        sample_rate,
        rng,
        lambda f: np.exp(-0.5 * (np.log2(f / centre_hz) / 0.75) ** 2) + 0.08 / np.sqrt(f / centre_hz),
    )
    t = np.arange(sample_count) / sample_rate
    blade_hz = rng.uniform(35.0, 70.0)
    blade = sum(
        amplitude * np.sin(2 * np.pi * harmonic * blade_hz * t + rng.uniform(0, 2 * np.pi))
        for harmonic, amplitude in ((1, 0.25), (2, 0.12), (3, 0.06))
    )
    wobble = 1.0 + 0.12 * np.sin(2 * np.pi * rng.uniform(0.15, 0.5) * t + rng.uniform(0, 2 * np.pi))
    return (band + blade) * wobble


def _household(sample_count: int, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(sample_count) / sample_rate
    mains_hz = 50.0 if rng.random() < 0.5 else 60.0
    hum = sum(
        amplitude * np.sin(2 * np.pi * harmonic * mains_hz * t + rng.uniform(0, 2 * np.pi))
        for harmonic, amplitude in ((1, 1.0), (2, 0.5), (3, 0.35), (5, 0.15))
    )
    hum = _unit_rms(hum) * 0.3
    # Room tone: pink below a couple of kilohertz (distant traffic, a fridge, the building), so it
    # masks speech; a 1/f rumble alone would sit below the band recognizers listen to.
    room = _shaped(sample_count, sample_rate, rng, lambda f: np.exp(-((f / 2000.0) ** 2)) / np.sqrt(f))
    hiss = _shaped(sample_count, sample_rate, rng, lambda f: 1.0 / np.sqrt(f)) * 0.1
    background = hum + room + hiss
    return background + _clatter(sample_count, sample_rate, rng)


def _clatter(sample_count: int, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """Short bright transients at random times, about one every three seconds."""
    clatter = np.zeros(sample_count)
    event_count = rng.poisson(0.35 * sample_count / sample_rate)
    for _ in range(event_count):
        length = int(rng.uniform(0.04, 0.25) * sample_rate)
        start = int(rng.integers(0, max(1, sample_count - length)))
        length = min(length, sample_count - start)
        if length < 16:
            continue
        t = np.arange(length) / sample_rate
        decay = np.exp(-t / rng.uniform(0.01, 0.05))
        burst = _shaped(length, sample_rate, rng, lambda f: np.where(f > 1500.0, 1.0, (f / 1500.0) ** 2))
        if rng.random() < 0.5:
            # A ringing rim: crockery or cutlery.
            ring_hz = rng.uniform(2000.0, 6000.0)
            burst = burst + 1.5 * np.sin(2 * np.pi * ring_hz * t) * np.exp(-t / rng.uniform(0.03, 0.12))
        clatter[start : start + length] += rng.uniform(2.0, 6.0) * burst * decay
    return clatter


def _babble(
    sample_count: int, sample_rate: int, rng: np.random.Generator, clips_per_talker: Sequence[Sequence[np.ndarray]]
) -> np.ndarray:
    """Up to six talkers, each a stream of their clips in random order with short gaps, summed."""
    talkers = [clips for clips in clips_per_talker if len(clips)]
    if not talkers:
        raise ValueError("babble needs clips from at least one talker")
    order = rng.permutation(len(talkers))[:_BABBLE_TALKERS]
    total = np.zeros(sample_count)
    for index in order:
        clips = talkers[index]
        stream = []
        stream_length = 0
        # Start somewhere inside the stream so talkers do not all begin together.
        lead = int(rng.integers(0, sample_rate))
        while stream_length < sample_count + lead:
            clip = clips[int(rng.integers(0, len(clips)))]
            gap = np.zeros(int(rng.uniform(0.05, 0.4) * sample_rate))
            stream.extend((clip.astype(np.float64), gap))
            stream_length += len(clip) + len(gap)
        talker = np.concatenate(stream)[lead : lead + sample_count]
        total += _unit_rms(talker) * rng.uniform(0.7, 1.0)
    return total
