"""Renders any block [start, start + n) of a session on demand: tone, chimes, noise bed and speech.

Every source is a pure function of the absolute sample index, so a live player
pulling 1024-sample blocks and an offline render pulling large ones produce
the same samples. Speech sits on top; the tone bus (tone, chimes, noise) is
ducked under it with raised-cosine ramps.
"""

from __future__ import annotations

import bisect
import functools
from dataclasses import dataclass
from typing import Mapping

import numpy as np

from assistant.audio.timeline import Event, Timeline
from assistant.audio.tones import (
    ToneBlock,
    ToneSettings,
    chime_waveform,
    noise_loop,
    plan_tone_block,
    raised_cosine_ramp,
)


@dataclass(frozen=True)
class MixSettings:
    """Levels and ramps of the mix."""

    duck_gain: float = 0.3  # tone bus level under speech (about -10 dB)
    duck_ramp_seconds: float = 0.15
    noise_fade_seconds: float = 3.0  # the noise bed fades in and out slowly: nothing startles
    fade_in_seconds: float = 0.0  # the tone bus fades in this slowly from its first sound (bedside: 30 s)
    fade_out_seconds: float = 0.0  # and out over this long at the end (bedside: 60 s); words stay clear


class _Placed:
    """Clips placed at sample positions, found quickly for any block."""

    def __init__(self, placements: list[tuple[int, np.ndarray]]):
        placements.sort(key=lambda item: item[0])
        self.starts = [start for start, _ in placements]
        self.clips = [clip for _, clip in placements]
        self.longest = max((len(clip) for clip in self.clips), default=0)

    def add_into(self, out: np.ndarray, start_sample: int) -> None:
        end_sample = start_sample + len(out)
        first = bisect.bisect_left(self.starts, start_sample - self.longest)
        last = bisect.bisect_left(self.starts, end_sample)
        for index in range(first, last):
            clip_start = self.starts[index]
            clip = self.clips[index]
            lo = max(start_sample, clip_start)
            hi = min(end_sample, clip_start + len(clip))
            if hi > lo:
                out[lo - start_sample : hi - start_sample] += clip[lo - clip_start : hi - clip_start]


class Mixer:
    """The whole session as audio, rendered block by block."""

    def __init__(
        self,
        timeline: Timeline,
        clips: Mapping[str, np.ndarray] | None = None,
        tone: ToneSettings = ToneSettings(),
        mix: MixSettings = MixSettings(),
    ):
        self.timeline = timeline
        self.sample_rate = timeline.sample_rate
        self.total_samples = timeline.total_samples
        self.mix = mix
        clips = clips or {}
        self.tone_blocks = _tone_blocks(timeline, tone)
        chime = _chime(tone, self.sample_rate) if timeline.of_kind("chime") else np.zeros(0, np.float32)
        self.chimes = _Placed([(event.start, chime) for event in timeline.of_kind("chime")])
        speech = [event for event in timeline.of_kind("speech") if len(clips.get(event.text, ())) > 0]
        self.speech = _Placed([(event.start, clips[event.text]) for event in speech])
        self.speech_spans = [(event.start, event.start + len(clips[event.text])) for event in speech]
        self.speech_starts = [span[0] for span in self.speech_spans]
        self.longest_speech = max((b - a for a, b in self.speech_spans), default=0)
        self.duck_ramp = raised_cosine_ramp(max(1, round(mix.duck_ramp_seconds * self.sample_rate)))
        self.noise = _noise(tone, self.sample_rate) if tone.noise else None
        self.noise_fade = raised_cosine_ramp(max(1, round(mix.noise_fade_seconds * self.sample_rate)))
        self.bus_fade_in = raised_cosine_ramp(round(mix.fade_in_seconds * self.sample_rate)) if mix.fade_in_seconds > 0 else None
        self.bus_fade_out = raised_cosine_ramp(round(mix.fade_out_seconds * self.sample_rate)) if mix.fade_out_seconds > 0 else None
        self.bus_fade_in_from = min((block.start_sample for block in self.tone_blocks), default=0)

    def render(self, start_sample: int, frames: int) -> np.ndarray:
        """The mono float32 samples for [start_sample, start_sample + frames); silence past the end."""
        bus = np.zeros(frames, dtype=np.float64)
        end_sample = start_sample + frames
        for block in self.tone_blocks:
            if block.start_sample < end_sample and block.end_sample > start_sample:
                block.render_into(bus, start_sample, self.sample_rate)
        self.chimes.add_into(bus, start_sample)
        if self.noise is not None:
            self._add_noise(bus, start_sample)
        if self.speech_spans:
            bus *= self._duck_gain(start_sample, frames)
        if self.bus_fade_in is not None or self.bus_fade_out is not None:
            bus *= self._bus_fade_gain(start_sample, frames)
        self.speech.add_into(bus, start_sample)
        # Levels are designed to stay far below full scale; clipping here would mean a bug, not loud content.
        np.clip(bus, -1.0, 1.0, out=bus)
        return bus.astype(np.float32)

    def _add_noise(self, bus: np.ndarray, start_sample: int) -> None:
        lo, hi = max(start_sample, 0), min(start_sample + len(bus), self.total_samples)
        if hi <= lo:
            return
        positions = np.arange(lo, hi)
        noise = self.noise[positions % len(self.noise)].astype(np.float64)
        # Fade in from the session's start and out towards its end.
        gain = np.minimum(
            _ramp_at(self.noise_fade, positions),
            _ramp_at(self.noise_fade, self.total_samples - 1 - positions),
        )
        bus[lo - start_sample : hi - start_sample] += noise * gain

    def _bus_fade_gain(self, start_sample: int, frames: int) -> np.ndarray:
        """Tone-bus gain in bedside mode: a slow fade in from the tone's first sound and out to the end.

        Speech is left out of it, so the first and last words are never whispered away.
        """
        positions = np.arange(start_sample, start_sample + frames)
        gain = np.ones(frames)
        if self.bus_fade_in is not None:
            gain = np.minimum(gain, _ramp_at(self.bus_fade_in, positions - self.bus_fade_in_from))
        if self.bus_fade_out is not None:
            gain = np.minimum(gain, _ramp_at(self.bus_fade_out, self.total_samples - 1 - positions))
        return gain

    def _duck_gain(self, start_sample: int, frames: int) -> np.ndarray:
        """Tone-bus gain for this block: 1 away from speech, duck_gain under it, raised-cosine ramps between."""
        ramp = len(self.duck_ramp)
        end_sample = start_sample + frames
        depth = np.zeros(frames, dtype=np.float64)
        first = bisect.bisect_left(self.speech_starts, start_sample - self.longest_speech - ramp)
        last = bisect.bisect_left(self.speech_starts, end_sample + ramp)
        positions = None
        for speech_start, speech_end in self.speech_spans[first:last]:
            if speech_end + ramp <= start_sample or speech_start - ramp >= end_sample:
                continue
            if positions is None:
                positions = np.arange(start_sample, end_sample)
            # Ramp down just before the voice, stay down while it speaks, ramp back up after.
            rise = _ramp_at(self.duck_ramp, positions - (speech_start - ramp))
            fall = _ramp_at(self.duck_ramp, (speech_end + ramp - 1) - positions)
            np.maximum(depth, np.minimum(rise, fall), out=depth)
        return 1.0 - (1.0 - self.mix.duck_gain) * depth


# A live session rebuilds its mixer when the tempo changes; the chime and noise bed stay the same.
@functools.lru_cache(maxsize=4)
def _chime(tone: ToneSettings, sample_rate: int) -> np.ndarray:
    return chime_waveform(tone, sample_rate)


@functools.lru_cache(maxsize=4)
def _noise(tone: ToneSettings, sample_rate: int) -> np.ndarray:
    return noise_loop(tone.noise, sample_rate, tone)


def _ramp_at(ramp: np.ndarray, index: np.ndarray) -> np.ndarray:
    """The ramp's value at each index: 0 before it, 1 after it."""
    return np.where(index < 0, 0.0, np.where(index >= len(ramp), 1.0, ramp[np.clip(index, 0, len(ramp) - 1)]))


def _tone_blocks(timeline: Timeline, tone: ToneSettings) -> list[ToneBlock]:
    """One continuous tone per breathing block, from its phase events."""
    by_block: dict[int, list[Event]] = {}
    for event in timeline.of_kind("phase"):
        by_block.setdefault(event.block, []).append(event)
    return [
        plan_tone_block([(e.phase, e.start, e.end) for e in events], tone, timeline.sample_rate)
        for _, events in sorted(by_block.items())
    ]
