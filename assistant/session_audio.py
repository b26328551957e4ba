"""Turns an exercise into playable audio: speech clips, timeline and mixer, the same for render and live play."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from assistant.audio.mixer import Mixer, MixSettings
from assistant.audio.recording import load_recording
from assistant.audio.timeline import Event, Tempo, Timeline, TimelineSettings, estimated_speech_length, plan
from assistant.audio.tones import ToneSettings
from assistant.errors import AudioFileError, SpeechUnavailableError
from assistant.library.model import Breathe, Exercise, Play, Say
from assistant.speech.voice import Voice


@dataclass
class SessionAudio:
    """An exercise with its settings and the speech clips made so far; builds timelines and mixers.

    A clip's length sets how long its guided step lasts. Texts without a clip
    (not rendered yet, or speech unavailable) are planned at their estimated
    length and play as captions only. Recordings (play steps) are read when the
    session is made and kept among the clips under their captions.
    """

    exercise: Exercise
    timeline_settings: TimelineSettings = TimelineSettings()
    tone: ToneSettings = ToneSettings()
    mix: MixSettings = MixSettings()
    clips: dict[str, np.ndarray] = field(default_factory=dict)
    speech_problem: str | None = None  # why speech is missing, when it was wanted but could not be made
    recording_problems: list[str] = field(default_factory=list)  # recordings that could not be read: their steps stay quiet
    timeline: Timeline = field(init=False)
    mixer: Mixer = field(init=False)

    def __post_init__(self) -> None:
        for step in self.exercise.steps:
            if isinstance(step, Play) and step.caption not in self.clips:
                try:
                    self.clips[step.caption] = load_recording(step.path, self.sample_rate)
                except AudioFileError as exc:
                    # Checked when the exercise loaded, so the file changed since: keep the step's time, quiet.
                    self.recording_problems.append(str(exc))
        self.timeline, self.mixer = self.build()

    @property
    def sample_rate(self) -> int:
        return self.timeline_settings.sample_rate

    def speech_length(self, text: str, clips: dict[str, np.ndarray] | None = None) -> int:
        """A text's length in samples: its clip's if there is one, else the estimate at the speech rate."""
        clip = (self.clips if clips is None else clips).get(text)
        return len(clip) if clip is not None else estimated_speech_length(self.timeline_settings)(text)

    def build(
        self,
        tempo: Tempo | None = None,
        extra_events: tuple[Event, ...] = (),
        clips: dict[str, np.ndarray] | None = None,
    ) -> tuple[Timeline, Mixer]:
        """A timeline (with tempo changes and added events such as repeats) and the mixer that plays it.

        `clips` replaces the session's clips for a trial build (a clip that may have arrived too late).
        """
        clips = self.clips if clips is None else clips
        timeline = plan(self.exercise, self.timeline_settings, lambda text: self.speech_length(text, clips), tempo)
        for event in extra_events:
            timeline = timeline.with_event(event)
        return timeline, Mixer(timeline, clips, self.tone, self.mix)


def spoken_texts(exercise: Exercise) -> list[str]:
    """Every distinct text the voice speaks, in the order it first speaks them (recordings are not among them)."""
    texts: dict[str, None] = {}
    for step in exercise.steps:
        if isinstance(step, Say):
            texts[step.text] = None
        elif isinstance(step, Breathe):
            for phase in step.breathing.phases:
                if phase.say:
                    texts[phase.say] = None
    return list(texts)


def prepare(
    exercise: Exercise,
    voice: Voice | None,
    timeline_settings: TimelineSettings = TimelineSettings(),
    tone: ToneSettings = ToneSettings(),
    mix: MixSettings = MixSettings(),
    warn: Callable[[str], None] | None = None,
) -> SessionAudio:
    """Render all speech first (if a voice is given), then plan the timeline around it and build the mixer.

    A session speaks all of its words or none: if any text cannot be made the
    session is built without speech and `speech_problem` says why.
    """
    clips: dict[str, np.ndarray] = {}
    problem = None
    if voice is not None:
        try:
            clips = {text: voice.render(text, timeline_settings.sample_rate) for text in spoken_texts(exercise)}
        except SpeechUnavailableError as exc:
            problem = str(exc)
            clips = {}
            if warn:
                warn(f"speech could not be rendered, so this session has tones and captions only: {problem}")
    session = SessionAudio(exercise, timeline_settings, tone, mix, clips, problem)
    for recording_problem in session.recording_problems:
        if warn:
            warn(f"a recording could not be played, so its step is quiet: {recording_problem}")
    return session


def render_all(mixer: Mixer, block_frames: int = 1 << 16):
    """Yield the whole session as consecutive float32 blocks."""
    for start in range(0, mixer.total_samples, block_frames):
        yield mixer.render(start, min(block_frames, mixer.total_samples - start))
