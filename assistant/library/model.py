"""The exercise model: what a YAML exercise file means once it has been checked."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Union

PHASE_NAMES = ("inhale", "hold", "exhale", "rest")
KINDS = ("breathing", "grounding", "self-support", "sleep", "crisis")
CONTROL_INTENTS = ("stop", "pause", "resume", "slower", "faster", "repeat", "skip")


@dataclass(frozen=True)
class SayCycles:
    """Which cycles a phase prompt is spoken in: all, the first N, every Nth, or first N then every Nth."""

    first: int | None = None
    every: int | None = None

    def includes(self, cycle_index: int) -> bool:
        """True when the prompt is spoken in this (0-based) cycle."""
        if self.first is None and self.every is None:
            return True
        if self.first is not None and cycle_index < self.first:
            return True
        return self.every is not None and cycle_index % self.every == 0


@dataclass(frozen=True)
class Phase:
    """One phase of a breathing cycle, with the prompt spoken as it starts."""

    name: str  # one of PHASE_NAMES
    seconds: float
    say: str | None = None
    say_cycles: SayCycles = SayCycles()


@dataclass(frozen=True)
class Breathing:
    """A paced-breathing block: a cycle of phases repeated a whole number of times."""

    phases: tuple[Phase, ...]
    cycles: int
    max_cycles: int | None = None  # a safety cap that slowing down or repeating never passes

    @property
    def cycle_seconds(self) -> float:
        return sum(phase.seconds for phase in self.phases)

    @property
    def breaths_per_minute(self) -> float:
        return 60.0 / self.cycle_seconds


@dataclass(frozen=True)
class Say:
    """Speak a text, then leave a short quiet gap."""

    text: str


@dataclass(frozen=True)
class Pause:
    """Quiet for a number of seconds."""

    seconds: float


@dataclass(frozen=True)
class Breathe:
    """A breathing block inside a guided exercise."""

    breathing: Breathing


@dataclass(frozen=True)
class Listen:
    """Wait for the person to speak; ends after `silence_seconds` of quiet following speech, or at the timeout."""

    timeout_seconds: float
    silence_seconds: float = 2.5


@dataclass(frozen=True)
class Play:
    """Play the author's own recording, a WAV file beside the exercise file, instead of a spoken text."""

    file: str  # as written in the exercise: a name relative to the exercise's folder
    path: Path  # where it is, checked to be inside the exercise's folder
    frames: int  # length at the recording's own rate
    sample_rate: int  # hertz, of the file

    @property
    def seconds(self) -> float:
        return self.frames / self.sample_rate

    @property
    def caption(self) -> str:
        """What is shown while it plays (and the key its audio is kept under)."""
        return f"[recording: {self.file}]"

    def length_at(self, sample_rate: int) -> int:
        """Its length in samples once resampled to `sample_rate` (the same rounding as the resampler)."""
        return round(Fraction(self.frames * sample_rate, self.sample_rate))


Step = Union[Say, Pause, Breathe, Listen, Play]


@dataclass(frozen=True)
class Exercise:
    """A checked exercise: metadata plus the ordered steps that make its timeline."""

    id: str
    title: str
    kind: str
    steps: tuple[Step, ...]
    summary: str = ""
    source: str = ""
    cautions: tuple[str, ...] = ()
    path: Path | None = field(default=None, compare=False)

    @property
    def breathing_blocks(self) -> tuple[Breathing, ...]:
        return tuple(step.breathing for step in self.steps if isinstance(step, Breathe))


@dataclass(frozen=True)
class StartCue:
    """Phrases that start an exercise."""

    exercise_id: str
    phrases: tuple[str, ...]


@dataclass(frozen=True)
class CueMap:
    """What the speech loop listens for: start phrases per exercise, control words, and crisis phrases.

    `crisis` only adds: the built-in crisis patterns (English) always apply, and a cue file cannot turn them
    off. It is for a person's own words and for other languages, which the patterns do not read."""

    language: str = "en"
    start: tuple[StartCue, ...] = ()
    control: dict[str, tuple[str, ...]] = field(default_factory=dict)
    crisis: tuple[str, ...] = ()
    path: Path | None = field(default=None, compare=False)

    @property
    def phrases(self) -> tuple[str, ...]:
        """Every phrase of the map, start, then control, then crisis: what a recognizer is told to listen for."""
        starts = [phrase for cue in self.start for phrase in cue.phrases]
        controls = [phrase for group in self.control.values() for phrase in group]
        return (*starts, *controls, *self.crisis)
