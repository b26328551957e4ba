"""An exercise planned as events at exact sample positions: the session's clock.

Every phase boundary is computed from the start of its breathing block as
round(sample_rate * (cycle_index * cycle_seconds + offset_seconds)), never by
adding phase lengths one after another, so rounding cannot accumulate: after
an hour of 10.909 s cycles a boundary is still within half a sample of
k x cycle. Speech is placed at the start of its phase and never moves one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Mapping, Sequence

from assistant.library.model import Breathe, Breathing, Exercise, Listen, Pause, Play, Say
from assistant.library.validate import speech_seconds

SpeechLength = Callable[[str], int]  # text -> clip length in samples
# Per breathing block: (first cycle, scale of every phase) changes, in cycle order. "Slower" from
# cycle 5 of block 0 is {0: [(5, 1.15)]}; cycles before the first change run at scale 1.
Tempo = Mapping[int, Sequence[tuple[int, float]]]


@dataclass(frozen=True)
class TimelineSettings:
    """How an exercise is laid out in time; every field is in seconds unless it says otherwise."""

    sample_rate: int = 44100  # hertz
    lead_in_seconds: float = 0.25  # quiet before the first sound: playback starts at silence, yet promptly
    tail_seconds: float = 1.5  # quiet after the last sound
    gap_after_speech_seconds: float = 2.0  # quiet between spoken instructions (guidance: 2-5 s)
    words_per_minute: float = 115.0  # used to estimate speech length when no voice renders it
    chime_seconds: float = 1.6  # length of the chime at a phase change
    chimes: bool = True


@dataclass(frozen=True)
class Event:
    """Something that happens over [start, end) samples."""

    kind: str  # "phase", "speech" (spoken text or a recording), "chime", "listen" or "pause"
    start: int
    end: int
    phase: str | None = None
    text: str | None = None
    block: int | None = None  # which breathing block a phase belongs to
    cycle: int | None = None  # 0-based cycle within its block

    def to_json(self) -> dict:
        data = {"kind": self.kind}
        if self.phase is not None:
            data["phase"] = self.phase
        if self.text is not None:
            data["text"] = self.text
        data["start"], data["end"] = self.start, self.end
        if self.block is not None:
            data["block"], data["cycle"] = self.block, self.cycle
        return data


@dataclass(frozen=True)
class Timeline:
    """All events of a session, sorted by start, and its total length."""

    sample_rate: int
    events: tuple[Event, ...]
    total_samples: int
    step_starts: tuple[int, ...] = ()  # first sample of each step of the exercise, in order

    @property
    def seconds(self) -> float:
        return self.total_samples / self.sample_rate

    def of_kind(self, kind: str) -> list[Event]:
        return [event for event in self.events if event.kind == kind]

    def with_event(self, event: Event) -> "Timeline":
        """This timeline with one more event (e.g. a repeated instruction), still sorted."""
        events = sorted(self.events + (event,), key=lambda e: (e.start, _KIND_ORDER[e.kind]))
        return replace(self, events=tuple(events), total_samples=max(self.total_samples, event.end))

    def to_json(self) -> dict:
        """The timeline in the JSON form `grounding render --timeline` writes."""
        return {
            "sample_rate": self.sample_rate,
            "total_samples": self.total_samples,
            "events": [event.to_json() for event in self.events],
        }


def estimated_speech_length(settings: TimelineSettings) -> SpeechLength:
    """Clip lengths guessed from word counts, for planning without a voice (captions only)."""

    def length(text: str) -> int:
        return round(speech_seconds(text, settings.words_per_minute) * settings.sample_rate)

    return length


def plan(
    exercise: Exercise,
    settings: TimelineSettings = TimelineSettings(),
    speech_length: SpeechLength | None = None,
    tempo: Tempo | None = None,
) -> Timeline:
    """Lay an exercise out as a timeline; `speech_length` gives each text's clip length in samples.

    `tempo` slows or quickens breathing blocks from a given cycle on; everything
    before the first changed cycle is exactly as it would be without it.
    """
    speech_length = speech_length or estimated_speech_length(settings)
    rate = settings.sample_rate
    events: list[Event] = []
    cursor = round(settings.lead_in_seconds * rate)
    gap = round(settings.gap_after_speech_seconds * rate)
    block_index = 0
    step_starts = []
    for step in exercise.steps:
        step_starts.append(cursor)
        if isinstance(step, Say):
            length = speech_length(step.text)
            events.append(Event("speech", cursor, cursor + length, text=step.text))
            cursor += length + gap
        elif isinstance(step, Play):
            # A recording is placed and ducked like speech; its length is known from the file, voice or not.
            length = step.length_at(rate)
            events.append(Event("speech", cursor, cursor + length, text=step.caption))
            cursor += length + gap
        elif isinstance(step, Pause):
            end = cursor + round(step.seconds * rate)
            events.append(Event("pause", cursor, end))
            cursor = end
        elif isinstance(step, Listen):
            # Rendered offline a listening step lasts its whole timeout; live, speech then silence ends it sooner.
            end = cursor + round(step.timeout_seconds * rate)
            events.append(Event("listen", cursor, end))
            cursor = end
        elif isinstance(step, Breathe):
            changes = (tempo or {}).get(block_index, ())
            block_events, cursor = plan_breathing(step.breathing, cursor, block_index, settings, speech_length, changes)
            events.extend(block_events)
            block_index += 1
            # Leave the tone's fade and the last prompt room before anything else is said.
            cursor += gap
        else:  # pragma: no cover - the model has no other step types
            raise TypeError(f"unknown step {step!r}")
    total = cursor + round(settings.tail_seconds * rate)
    # Sound that runs past the planned end (a long last clip) extends the session rather than being cut.
    total = max([total] + [event.end for event in events])
    events.sort(key=lambda event: (event.start, _KIND_ORDER[event.kind]))
    return Timeline(sample_rate=rate, events=tuple(events), total_samples=total, step_starts=tuple(step_starts))


_KIND_ORDER = {"phase": 0, "chime": 1, "speech": 2, "listen": 3, "pause": 4}


def plan_breathing(
    breathing: Breathing,
    start_sample: int,
    block_index: int,
    settings: TimelineSettings,
    speech_length: SpeechLength,
    tempo_changes: Sequence[tuple[int, float]] = (),
) -> tuple[list[Event], int]:
    """Events for one breathing block starting at `start_sample`; returns them and the block's end sample."""
    rate = settings.sample_rate
    chime_length = round(settings.chime_seconds * rate)
    offsets_seconds = []
    offset = 0.0
    for phase in breathing.phases:
        offsets_seconds.append(offset)
        offset += phase.seconds
    cycle_seconds = breathing.cycle_seconds
    # Start time (seconds into the block) and scale of each cycle. Within a stretch of one
    # tempo a cycle's start is one multiplication from the stretch's start, so a tempo
    # change adds one rounding at most, never one per cycle.
    cycle_start_seconds, cycle_scale = [], []
    stretch_start_cycle, stretch_start_seconds, scale = 0, 0.0, 1.0
    changes = dict(tempo_changes)
    for cycle in range(breathing.cycles + 1):
        if cycle in changes:
            stretch_start_seconds += (cycle - stretch_start_cycle) * cycle_seconds * scale
            stretch_start_cycle, scale = cycle, changes[cycle]
        cycle_start_seconds.append(stretch_start_seconds + (cycle - stretch_start_cycle) * cycle_seconds * scale)
        cycle_scale.append(scale)

    def at(cycle: int, offset_seconds: float) -> int:
        seconds = cycle_start_seconds[cycle] + offset_seconds * cycle_scale[cycle]
        return start_sample + round(rate * seconds)

    events: list[Event] = []
    for cycle in range(breathing.cycles):
        for index, phase in enumerate(breathing.phases):
            begin = at(cycle, offsets_seconds[index])
            end = at(cycle + 1, 0.0) if index == len(breathing.phases) - 1 else at(cycle, offsets_seconds[index + 1])
            events.append(Event("phase", begin, end, phase=phase.name, block=block_index, cycle=cycle))
            if settings.chimes and (cycle, index) != (0, 0):
                events.append(Event("chime", begin, begin + chime_length, block=block_index, cycle=cycle))
            if phase.say and phase.say_cycles.includes(cycle):
                events.append(Event("speech", begin, begin + speech_length(phase.say), text=phase.say))
    return events, at(breathing.cycles, 0.0)
