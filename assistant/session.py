"""A live session: the state machine between the mixer and the output stream.

The output stream's feeder thread calls `pull(frames)` for the next block; the
session's position is "samples of the timeline rendered", so the audio is the
clock. Controls (pause, slower, repeat...) may come from any thread: they are
queued and applied by `pull` between blocks, so all session state is owned by
one thread and no control can tear a block. Every change of level is a
raised-cosine fade; tempo changes take effect at the next cycle boundary.
"""

from __future__ import annotations

import bisect
import enum
import math
import queue
from collections import deque
from dataclasses import dataclass
from typing import Callable

import numpy as np

from assistant.audio.timeline import Event, Timeline
from assistant.audio.tones import raised_cosine_ramp
from assistant.library.model import Listen
from assistant.session_audio import SessionAudio


class State(enum.Enum):
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"  # ended early, by the person or a signal
    FINISHED = "finished"  # played to its end


@dataclass(frozen=True)
class ControlSettings:
    """How controls behave; every duration in seconds."""

    fade_seconds: float = 0.08  # pause, resume, stop and skip fades: click-free, under 100 ms
    tempo_step: float = 1.15  # "slower" multiplies phase lengths by this, "faster" divides
    slowest_scale: float = 1.15**3  # at most three steps slower than written...
    fastest_scale: float = 1.15**-2  # ...and two steps faster
    fastest_breaths_per_minute: float = 10.0  # "faster" never takes a pattern past slow breathing
    volume_step_db: float = 3.0
    min_volume_db: float = -36.0
    volume_ramp_seconds: float = 0.05
    caption_hold_seconds: float = 2.0  # a caption stays on screen this long after its words end


@dataclass(frozen=True)
class Snapshot:
    """What the person is hearing now, for a pacer or captions."""

    state: State
    position: int  # timeline sample being heard
    phase: Event | None  # the breathing phase being heard, if any
    caption: str | None
    sample_rate: int

    @property
    def phase_progress(self) -> float:
        """0 at the start of the phase, 1 at its end."""
        if self.phase is None:
            return 0.0
        return min(1.0, max(0.0, (self.position - self.phase.start) / max(1, self.phase.end - self.phase.start)))

    @property
    def phase_seconds_left(self) -> float:
        return 0.0 if self.phase is None else max(0, self.phase.end - self.position) / self.sample_rate


@dataclass(frozen=True)
class Summary:
    """How a session went, for the closing line and the optional local log."""

    exercise_id: str
    played_seconds: float  # wall-clock length, pauses included
    position_seconds: float  # how far into the exercise it got
    cycles_completed: int
    completed: bool
    underflows: int = 0


class _Fade:
    """A raised-cosine gain change over a number of samples."""

    def __init__(self, start_gain: float, end_gain: float, length: int):
        self.start_gain, self.end_gain = start_gain, end_gain
        self.shape = raised_cosine_ramp(max(1, length))
        self.done_samples = 0

    @property
    def remaining(self) -> int:
        return len(self.shape) - self.done_samples

    def take(self, frames: int) -> np.ndarray:
        part = self.shape[self.done_samples : self.done_samples + frames]
        self.done_samples += len(part)
        gains = self.start_gain + (self.end_gain - self.start_gain) * part
        if len(part) < frames:
            gains = np.concatenate([gains, np.full(frames - len(part), self.end_gain)])
        return gains


class Session:
    """Plays one exercise from its SessionAudio, answering controls between blocks."""

    def __init__(
        self,
        audio: SessionAudio,
        controls: ControlSettings = ControlSettings(),
        volume: float = 1.0,
        notify: Callable[[str], None] | None = None,
    ):
        self.audio = audio
        self.controls = controls
        self.notify = notify or (lambda message: None)  # short spoken-style feedback, shown as a caption
        self.rate = audio.sample_rate
        self.timeline, self.mixer = audio.timeline, audio.mixer
        self.state = State.RUNNING
        self.position = 0  # next timeline sample to render
        self.output_frames = 0  # samples handed to the output, pauses included
        self._commands: queue.SimpleQueue = queue.SimpleQueue()
        self._fade: _Fade | None = None
        self._after_fade: Callable[[], None] | None = None
        self._volume_db = 0.0 if volume >= 1.0 else 20 * math.log10(max(volume, 1e-4))
        self._volume_gain = 10 ** (self._volume_db / 20)
        self._volume_fade: _Fade | None = None
        self._tempo: dict[int, list[tuple[int, float]]] = {}
        self._extra_events: list[Event] = []
        self._stop_at_output_frame: int | None = None
        # (first output frame, timeline position, frames, playing, timeline) per rendered piece, for the pacer and
        # for what was played (`played`).
        self._history: deque = deque(maxlen=256)

    # ------------------------------------------------------------------ controls (any thread)

    def pause(self) -> None:
        self._commands.put(self._pause)

    def resume(self) -> None:
        self._commands.put(self._resume)

    def toggle_pause(self) -> None:
        self._commands.put(lambda: self._resume() if self.state is State.PAUSED else self._pause())

    def stop(self, fade_seconds: float | None = None) -> None:
        self._commands.put(lambda: self._stop(fade_seconds))

    def slower(self) -> None:
        self._commands.put(lambda: self._change_tempo(self.controls.tempo_step))

    def faster(self) -> None:
        self._commands.put(lambda: self._change_tempo(1 / self.controls.tempo_step))

    def repeat(self) -> None:
        self._commands.put(self._repeat)

    def skip(self) -> None:
        self._commands.put(self._skip)

    def volume_up(self) -> None:
        self._commands.put(lambda: self._set_volume(self._volume_db + self.controls.volume_step_db))

    def volume_down(self) -> None:
        self._commands.put(lambda: self._set_volume(self._volume_db - self.controls.volume_step_db))

    def stop_after(self, seconds: float, fade_seconds: float = 60.0) -> None:
        """A sleep timer: start a long fade so the session is silent `seconds` from its start."""
        fade_start = max(0.0, seconds - fade_seconds)
        self._stop_at_output_frame = round(fade_start * self.rate)
        self._sleep_fade_seconds = min(fade_seconds, seconds)

    def interrupt(self, audio: SessionAudio) -> None:
        """Fade out whatever is playing (within the control fade) and play `audio` from its start instead.

        This is how crisis language wins: the output stream never stops, the
        exercise is faded out and the crisis script takes its place.
        """
        command = lambda: self._interrupt(audio)  # noqa: E731
        command.always = True  # crisis support must start even if the exercise has just ended
        self._commands.put(command)

    def end_listen(self, start_sample: int | None = None) -> None:
        """The person has answered and paused: end the listening step being played now.

        Only a listening step is ever ended this way, and only while it plays
        (and, given `start_sample`, only the one that starts there): at any other
        moment this does nothing.
        """
        self._commands.put(lambda: self._end_listen(start_sample))

    def listening(self) -> tuple[Event, Listen] | None:
        """The listening step being played now, with its event, or None (any thread: reads only)."""
        steps, timeline, position = self.audio.exercise.steps, self.timeline, self.position
        if self.state is not State.RUNNING:
            return None
        event = _event_at(timeline.of_kind("listen"), position)
        if event is None or event.start not in timeline.step_starts:
            return None
        index = timeline.step_starts.index(event.start)
        # Read from another thread while crisis support may be swapping the audio: check, don't assume.
        step = steps[index] if index < len(steps) else None
        return (event, step) if isinstance(step, Listen) else None

    def add_clip(self, text: str, clip: np.ndarray) -> None:
        """A speech clip rendered in the background; it is used if it arrives before it is needed."""
        self._commands.put(lambda: self._adopt_clip(text, clip))

    @property
    def ended(self) -> bool:
        return self.state in (State.STOPPED, State.FINISHED)

    # ------------------------------------------------------------------ the feeder thread

    def pull(self, frames: int) -> np.ndarray:
        """The next `frames` samples to play; fewer (possibly none) once the session has ended."""
        self._apply_commands()
        if self._stop_at_output_frame is not None and self.output_frames >= self._stop_at_output_frame:
            self._stop_at_output_frame = None
            self._stop(self._sleep_fade_seconds)
        out = np.zeros(frames, dtype=np.float32)
        written = 0
        while written < frames and not self.ended:
            if self.state is State.PAUSED:
                self._history.append(
                    (self.output_frames + written, self.position, frames - written, False, self.timeline))
                written = frames
                break
            remaining = self.timeline.total_samples - self.position
            if remaining <= 0:
                self.state = State.FINISHED
                break
            count = min(frames - written, remaining)
            if self._fade is not None:
                count = min(count, max(1, self._fade.remaining))
            chunk = self.mixer.render(self.position, count)
            gain = self._gain(count)
            out[written : written + count] = chunk if gain is None else chunk * gain
            self._history.append((self.output_frames + written, self.position, count, True, self.timeline))
            self.position += count
            written += count
            if self._fade is not None and self._fade.remaining <= 0:
                self._finish_fade()
        self.output_frames += written
        return out if written == frames else out[:written]

    def _gain(self, frames: int) -> np.ndarray | None:
        """Fade and volume gains for the next samples; None when both are exactly 1 (bit-exact playback)."""
        gain = None
        if self._fade is not None:
            gain = self._fade.take(frames)
        if self._volume_fade is not None:
            volume = self._volume_fade.take(frames)
            if self._volume_fade.remaining <= 0:
                self._volume_fade = None
        elif self._volume_gain != 1.0:
            volume = self._volume_gain
        else:
            return gain
        return volume if gain is None else gain * volume

    def _apply_commands(self) -> None:
        while True:
            try:
                command = self._commands.get_nowait()
            except queue.Empty:
                return
            if not self.ended or getattr(command, "always", False):
                command()

    def _start_fade(self, start_gain: float, end_gain: float, after: Callable[[], None] | None, seconds: float | None = None) -> None:
        length = round((self.controls.fade_seconds if seconds is None else seconds) * self.rate)
        self._fade, self._after_fade = _Fade(start_gain, end_gain, length), after

    def _finish_fade(self) -> None:
        after = self._after_fade
        self._fade, self._after_fade = None, None
        if after is not None:
            after()

    # ------------------------------------------------------------------ control handlers (feeder thread)

    def _current_gain(self) -> float:
        if self._fade is None:
            return 1.0
        done = self._fade.done_samples
        part = self._fade.shape[min(done, len(self._fade.shape) - 1)]
        return self._fade.start_gain + (self._fade.end_gain - self._fade.start_gain) * part

    def _pause(self) -> None:
        if self.state is State.RUNNING:
            self._start_fade(self._current_gain(), 0.0, self._paused)
            self.notify("Paused. Say resume, or press space, when you are ready.")

    def _paused(self) -> None:
        self.state = State.PAUSED

    def _resume(self) -> None:
        if self.state is State.PAUSED:
            self.state = State.RUNNING
            self._start_fade(0.0, 1.0, None)
            self.notify("Resuming.")
        elif self._after_fade == self._paused:  # resumed while still fading out
            self._start_fade(self._current_gain(), 1.0, None)

    def _stop(self, fade_seconds: float | None = None) -> None:
        if self.state is State.PAUSED:
            self.state = State.STOPPED
            return
        self._start_fade(self._current_gain(), 0.0, self._stopped, fade_seconds)

    def _stopped(self) -> None:
        self.state = State.STOPPED

    def _skip(self) -> None:
        target = next((start for start in self.timeline.step_starts if start > self.position), None)
        if target is None:
            self._stop()
            return
        if self.state is State.PAUSED:
            self.position = target  # resuming fades in from the next step
            return

        def jump() -> None:
            self.position = target
            self._start_fade(0.0, 1.0, None)

        self._start_fade(self._current_gain(), 0.0, jump)

    def _end_listen(self, start_sample: int | None) -> None:
        if self.state is not State.RUNNING or self._fade is not None:
            return  # paused, stopping or already jumping: the person's words are not an answer now
        event = _event_at(self.timeline.of_kind("listen"), self.position)
        if event is None or (start_sample is not None and event.start != start_sample):
            return
        target = event.end
        # A listening step is quiet: if the mix is silent just before here and just before the
        # step's end, jumping joins silence to what would follow that silence anyway, with no
        # fade to soften the next words. If something sounds over the step (a noise bed, a
        # repeated instruction), fade out, jump, fade in.
        edge = round(self.controls.fade_seconds * self.rate)
        before = self.mixer.render(max(0, self.position - edge), min(edge, self.position))
        before_end = self.mixer.render(max(0, target - edge), min(edge, target))
        if not before.any() and not before_end.any():
            self.position = target
            return

        def jump() -> None:
            self.position = target
            self._start_fade(0.0, 1.0, None)

        self._start_fade(self._current_gain(), 0.0, jump)

    def _interrupt(self, audio: SessionAudio) -> None:
        def switch() -> None:
            self.audio, self.timeline, self.mixer = audio, audio.timeline, audio.mixer
            self.position = 0
            self._tempo, self._extra_events = {}, []
            self.state = State.RUNNING

        if self.state is not State.RUNNING:
            switch()
        else:
            self._start_fade(self._current_gain(), 0.0, switch)

    def _set_volume(self, volume_db: float) -> None:
        volume_db = min(0.0, max(self.controls.min_volume_db, volume_db))
        if volume_db == self._volume_db:
            self.notify("That is as loud as it goes." if volume_db == 0.0 else "That is as quiet as it goes.")
            return
        target = 10 ** (volume_db / 20)
        length = round(self.controls.volume_ramp_seconds * self.rate)
        self._volume_fade = _Fade(self._volume_gain, target, length)
        self._volume_db, self._volume_gain = volume_db, target

    def _repeat(self) -> None:
        """Say the last instruction again, from now, over whatever is playing (the tone ducks under it)."""
        spoken = [e for e in self.timeline.of_kind("speech") if e.start <= self.position]
        if not spoken:
            self.notify("Nothing has been said yet.")
            return
        text = spoken[-1].text
        event = Event("speech", self.position, self.position + self.audio.speech_length(text), text=text)
        self._extra_events.append(event)
        self._rebuild()

    def _change_tempo(self, factor: float) -> None:
        """Scale phase lengths from the next cycle boundary of the current (or next) breathing block."""
        boundary = self._next_cycle_boundary()
        if boundary is None:
            self.notify("There is no breathing left in this exercise to change.")
            return
        block, cycle = boundary
        scale = (self._tempo.get(block) or [(0, 1.0)])[-1][1]
        cycle_seconds = self.audio.exercise.breathing_blocks[block].cycle_seconds
        # Faster never takes a slow pattern past slow breathing (but never slows a quick one either).
        quickest = min(1.0, max(self.controls.fastest_scale, 60.0 / (cycle_seconds * self.controls.fastest_breaths_per_minute)))
        new_scale = min(self.controls.slowest_scale, max(quickest, scale * factor))
        if math.isclose(new_scale, scale):
            self.notify("This is as slow as it goes." if factor > 1 else "This is as quick as it goes.")
            return
        changes = [c for c in self._tempo.get(block, []) if c[0] < cycle] + [(cycle, new_scale)]
        self._tempo[block] = changes
        self._rebuild()
        self.notify("A little slower, from the next breath." if factor > 1 else "A little quicker, from the next breath.")

    def _next_cycle_boundary(self) -> tuple[int, int] | None:
        """(block, cycle) of the first cycle that starts at or after the current position."""
        seen: set[tuple[int, int]] = set()
        for event in self.timeline.of_kind("phase"):
            key = (event.block, event.cycle)
            if key in seen:
                continue
            seen.add(key)  # the first phase event of a cycle is where the cycle starts
            if event.start >= self.position:
                return key
        return None

    def _adopt_clip(self, text: str, clip: np.ndarray) -> None:
        """Use a clip that arrived late only if nothing it changes has been played yet."""
        clips = {**self.audio.clips, text: clip}
        timeline, mixer = self.audio.build(self._tempo, tuple(self._extra_events), clips)
        if _first_difference(self.timeline, timeline) < self.position:
            # Too late to change what has been heard: these words stay captions only.
            self.notify(f"(The voice was slow; “{text}” is shown, not spoken.)")
            return
        self.audio.clips[text] = clip
        self.timeline, self.mixer = timeline, mixer

    def _rebuild(self) -> None:
        self.timeline, self.mixer = self.audio.build(self._tempo, tuple(self._extra_events))

    # ------------------------------------------------------------------ what is heard (any thread)

    def position_at(self, output_frame: int) -> tuple[int, bool]:
        """The timeline position heard at an output frame (e.g. the player's frames played), and whether it is playing."""
        history = list(self._history)
        for start, position, frames, playing, _ in reversed(history):
            if start <= output_frame:
                if not playing:
                    return position, False
                return position + min(output_frame - start, frames), True
        return 0, True

    def played(self, since_output_frame: int) -> list[tuple[int, int, int, Timeline]]:
        """What the output frames from `since_output_frame` on played, in order: (first output frame, timeline
        position, frames, timeline) for each stretch played straight through (pauses left out). The position
        does not always move on smoothly: ending a listening step, resuming or skipping jumps it, and crisis
        support swaps the timeline (the feeder thread, after `pull`, which alone changes the history: no copy is
        needed, and only this pull's few stretches at its end are looked at; the last 256 are kept)."""
        stretches = []
        for start, position, frames, playing, timeline in reversed(self._history):
            if start < since_output_frame:
                break
            if playing:
                stretches.append((start, position, frames, timeline))
        return stretches[::-1]

    def snapshot(self, output_frame: int) -> Snapshot:
        """The phase, caption and state at the given output frame."""
        position, playing = self.position_at(output_frame)
        timeline = self.timeline
        phase = _event_at(timeline.of_kind("phase"), position)
        hold = round(self.controls.caption_hold_seconds * self.rate)
        caption = None
        for event in timeline.of_kind("speech"):
            if event.start > position:
                break
            if position < event.end + hold:
                caption = event.text
        state = self.state if playing or self.ended else State.PAUSED
        return Snapshot(state, position, phase, caption, self.rate)

    def summary(self, underflows: int = 0) -> Summary:
        """How far the session got."""
        cycle_ends: dict[tuple[int, int], int] = {}
        for event in self.timeline.of_kind("phase"):
            key = (event.block, event.cycle)
            cycle_ends[key] = max(cycle_ends.get(key, 0), event.end)
        finished = sum(1 for end in cycle_ends.values() if end <= self.position)
        return Summary(
            exercise_id=self.audio.exercise.id,
            played_seconds=self.output_frames / self.rate,
            position_seconds=self.position / self.rate,
            cycles_completed=finished,
            completed=self.state is State.FINISHED,
            underflows=underflows,
        )


def _event_at(events: list[Event], position: int) -> Event | None:
    starts = [e.start for e in events]
    index = bisect.bisect_right(starts, position) - 1
    if index >= 0 and events[index].start <= position < events[index].end:
        return events[index]
    return None


def _first_difference(old: Timeline, new: Timeline) -> int:
    """The first sample at which two timelines differ (their length if they never do)."""
    for a, b in zip(old.events, new.events):
        if a != b:
            return min(a.start, b.start)
    if len(old.events) != len(new.events):
        shorter = old if len(old.events) < len(new.events) else new
        longer = new if shorter is old else old
        return longer.events[len(shorter.events)].start
    return min(old.total_samples, new.total_samples) if old.total_samples != new.total_samples else old.total_samples
