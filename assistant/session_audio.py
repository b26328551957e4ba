"""Turns an exercise into playable audio: speech clips, timeline and mixer, the same for render and live play."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from assistant.audio.mixer import Mixer, MixSettings
from assistant.audio.timeline import Timeline, TimelineSettings, plan
from assistant.audio.tones import ToneSettings
from assistant.errors import SpeechUnavailableError
from assistant.library.model import Breathe, Exercise, Say
from assistant.speech.voice import Voice


@dataclass
class SessionAudio:
    """Everything needed to play an exercise: its timeline, its mixer, and whether speech is in it."""

    exercise: Exercise
    timeline: Timeline
    mixer: Mixer
    clips: dict[str, np.ndarray] = field(default_factory=dict)
    speech_problem: str | None = None  # why speech is missing, when it was wanted but could not be made


def spoken_texts(exercise: Exercise) -> list[str]:
    """Every distinct text the exercise speaks, in the order it first speaks them."""
    texts: dict[str, None] = {}
    for step in exercise.steps:
        if isinstance(step, Say):
            texts[step.text] = None
        elif isinstance(step, Breathe):
            for phase in step.breathing.phases:
                if phase.say:
                    texts[phase.say] = None
    return list(texts)


def render_clips(texts: list[str], voice: Voice, sample_rate: int) -> dict[str, np.ndarray]:
    """Speech for every text, or SpeechUnavailableError: a session speaks all of its words or none."""
    return {text: voice.render(text, sample_rate) for text in texts}


def prepare(
    exercise: Exercise,
    voice: Voice | None,
    timeline_settings: TimelineSettings = TimelineSettings(),
    tone: ToneSettings = ToneSettings(),
    mix: MixSettings = MixSettings(),
    warn: Callable[[str], None] | None = None,
) -> SessionAudio:
    """Render speech (if a voice is given), plan the timeline around it, and build the mixer.

    If speech cannot be made the session is built without it, planned from
    estimated speech lengths, and `speech_problem` says why.
    """
    clips: dict[str, np.ndarray] = {}
    problem = None
    if voice is not None:
        try:
            clips = render_clips(spoken_texts(exercise), voice, timeline_settings.sample_rate)
        except SpeechUnavailableError as exc:
            problem = str(exc)
            clips = {}
            if warn:
                warn(f"speech could not be rendered, so this session has tones and captions only: {problem}")
    speech_length = (lambda text: len(clips[text])) if clips else None
    timeline = plan(exercise, timeline_settings, speech_length)
    mixer = Mixer(timeline, clips, tone, mix)
    return SessionAudio(exercise, timeline, mixer, clips, problem)


def render_all(mixer: Mixer, block_frames: int = 1 << 16):
    """Yield the whole session as consecutive float32 blocks."""
    for start in range(0, mixer.total_samples, block_frames):
        yield mixer.render(start, min(block_frames, mixer.total_samples - start))
