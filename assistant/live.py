"""`grounding run`: one exercise played live through the output stream, with keys, pacer and captions.

Threads: the output player's feeder pulls blocks from the Session; a speech
thread renders clips ahead of need and hands them to the Session; a key thread
turns keypresses into Session controls; the main thread draws the pacer and
waits. The Session owns all timing: nothing here sleeps to schedule sound.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import select
import signal
import sys
import threading
import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, TextIO

import numpy as np

from assistant.audio.mixer import MixSettings
from assistant.audio.timeline import TimelineSettings
from assistant.audio.tones import ToneSettings
from assistant.errors import AudioDeviceError, SpeechUnavailableError
from assistant.library.model import Exercise, Say
from assistant.pacer import HELP_LINE, pacer_lines
from assistant.session import Session, Summary
from assistant.session_audio import SessionAudio, spoken_texts
from assistant.speech.voice import Voice

BEDSIDE_OUTRO = "Rest now. There is nothing more you need to do."
FIRST_WORDS_WAIT_SECONDS = 0.45  # the first words are made before the sound starts, unless the voice takes longer
RUN_RECOVER_SECONDS = 15.0  # a lost sound output is reopened for this long (a replugged headset), then run ends


@dataclass(frozen=True)
class RunOptions:
    """What `grounding run` was asked for."""

    sample_rate: int = 44100
    speech: bool = True
    output_device: str | int | None = None
    volume: float | None = None  # 0..1; None = 1 (or the bedside default)
    pacer: bool = True
    bedside: bool = False
    sleep_timer_minutes: float | None = None
    log: bool = False
    noise: str | None = None  # "pink" or "brown" noise bed under the tone
    words_per_minute: float = 115.0  # speech pace, also used to plan texts not yet rendered
    tone_low_hz: float = 220.0  # breath tone pitch at the bottom of the breath
    tone_high_hz: float = 330.0  # and at the top
    recover_seconds: float = RUN_RECOVER_SECONDS  # how long a lost sound output is reopened before run ends


def _format_position(seconds: float, total_seconds: float) -> str:
    def clock(value: float) -> str:
        minutes, rest = divmod(round(value), 60)
        return f"{minutes}:{rest:02d}"

    return f"{clock(seconds)} of {clock(total_seconds)}"


def session_audio_for(exercise: Exercise, options: RunOptions) -> SessionAudio:
    """The exercise with the settings `run` plays it with (bedside mode: slow fades, softer chimes, a gentle close)."""
    tone = ToneSettings(low_hz=options.tone_low_hz, high_hz=options.tone_high_hz, noise=options.noise)
    mix = MixSettings()
    if options.bedside:
        if exercise.kind != "sleep":  # a sleep script already ends softly, in its own words
            exercise = _with_bedside_outro(exercise)
        # Chimes 16 dB under the tone; the tone fades in over 30 s and out over the last 60 s.
        tone = replace(tone, chime_peak_dbfs=tone.peak_dbfs - 16.0)
        mix = MixSettings(fade_in_seconds=30.0, fade_out_seconds=60.0)
    settings = TimelineSettings(sample_rate=options.sample_rate, words_per_minute=options.words_per_minute)
    return SessionAudio(exercise, settings, tone, mix)


def _with_bedside_outro(exercise: Exercise) -> Exercise:
    return replace(exercise, steps=exercise.steps + (Say(BEDSIDE_OUTRO),))


class SpeechTrouble:
    """Says once that the voice is unavailable, whichever thread finds out first; the session goes on without it."""

    def __init__(self, warn: Callable[[str], None]):
        self._warn = warn
        self._lock = threading.Lock()
        self.said = False

    def report(self, message: str) -> None:
        with self._lock:
            if self.said:
                return
            self.said = True
        self._warn(message)


def render_speech_ahead(
    session: Session,
    voice: Voice,
    stop: threading.Event,
    warn: Callable[[str], None],
    first: "concurrent.futures.Future | None" = None,  # the first text's clip, already being made
) -> None:
    """Render every text in the order it is first spoken and hand each clip to the session."""
    texts = spoken_texts(session.audio.exercise)
    if first is not None and texts:
        try:
            session.add_clip(texts[0], first.result())  # the session keeps it only if it is still in time
        except SpeechUnavailableError as exc:
            warn(f"the voice is unavailable, so the session goes on with tones and captions: {exc}")
            return
        texts = texts[1:]
    for text in texts:
        if stop.is_set():
            return
        try:
            clip = voice.render(text, session.rate)
        except SpeechUnavailableError as exc:
            warn(f"the voice is unavailable, so the session goes on with tones and captions: {exc}")
            return
        session.add_clip(text, clip)


def _render_in_background(voice: Voice, text: str, sample_rate: int) -> "concurrent.futures.Future":
    """The clip of `text`, made on a thread of its own: the caller decides how long to wait for it."""
    future: concurrent.futures.Future = concurrent.futures.Future()

    def work() -> None:
        try:
            future.set_result(voice.render(text, sample_rate))
        except BaseException as exc:  # noqa: BLE001 - handed to whoever waits for the clip
            future.set_exception(exc)

    threading.Thread(target=work, name="first-words", daemon=True).start()
    return future


class KeyReader:
    """Reads single keys from a terminal in cbreak mode and maps them to session controls."""

    ESCAPES = {"\x1b[A": "+", "\x1b[B": "-", "\x1b[C": "f", "\x1b[D": "s"}

    def __init__(self, session: Session, stream: TextIO = sys.stdin):
        self.session = session
        self.stream = stream
        self.stop = threading.Event()
        self.actions: dict[str, Callable[[], None]] = {
            " ": session.toggle_pause,
            "p": session.toggle_pause,
            "s": session.slower,
            "f": session.faster,
            "r": session.repeat,
            "n": session.skip,
            "+": session.volume_up,
            "=": session.volume_up,
            "-": session.volume_down,
            "q": session.stop,
        }

    def handle(self, key: str) -> None:
        action = self.actions.get(self.ESCAPES.get(key, key).lower())
        if action:
            action()

    def run(self) -> None:
        import termios
        import tty

        fd = self.stream.fileno()
        saved = termios.tcgetattr(fd)
        try:
            tty.setcbreak(fd)
            while not self.stop.is_set():
                ready, _, _ = select.select([fd], [], [], 0.1)
                if not ready:
                    continue
                key = os.read(fd, 8).decode("utf-8", "ignore")
                if key:
                    self.handle(key)
        finally:
            termios.tcsetattr(fd, termios.TCSADRAIN, saved)


class PacerView:
    """Draws the pacer in place on a terminal, or prints captions as plain lines without one.

    Short notices from the session ("A little slower, from the next breath.")
    appear on a line of their own under the pacer, or as plain lines.
    """

    NOTICE_SECONDS = 4.0  # how long a notice stays under the pacer (display only)

    def __init__(self, out: TextIO, interactive: bool, show_pacer: bool, clock: Callable[[], float] = time.monotonic):
        self.out = out
        self.interactive = interactive and show_pacer
        self.clock = clock
        self.last_caption: str | None = None
        self.notice: tuple[str, float] | None = None
        self.drawn_lines = 0

    def notify(self, message: str) -> None:
        """Called from the session's thread; shown on the next redraw."""
        self.notice = (message, self.clock())

    def show(self, snapshot) -> None:
        notice = self.notice
        if self.interactive:
            lines = pacer_lines(snapshot)
            fresh = notice is not None and self.clock() - notice[1] < self.NOTICE_SECONDS
            lines.append(notice[0] if fresh else "")
            if self.drawn_lines:
                self.out.write(f"\x1b[{self.drawn_lines}F")
            self.out.write("".join(f"\x1b[2K{line}\n" for line in lines))
            self.drawn_lines = len(lines)
        else:
            if snapshot.caption and snapshot.caption != self.last_caption:
                self.out.write(f"{snapshot.caption}\n")
            if notice is not None:
                self.out.write(f"({notice[0]})\n")
                self.notice = None
        self.last_caption = snapshot.caption
        self.out.flush()


def write_session_log(summary: Summary) -> Path:
    """Append one line (date, exercise, duration, completed) to the local session log; never audio or words."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    path = Path(base) / "grounding" / "sessions.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    entry = {
        "date": datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds"),
        "exercise": summary.exercise_id,
        "seconds": round(summary.played_seconds, 1),
        "completed": summary.completed,
    }
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry) + "\n")
    return path


def run_exercise(
    exercise: Exercise,
    options: RunOptions,
    voice: Voice | None,
    warn: Callable[[str], None],
    out: TextIO = sys.stdout,
) -> Summary:
    """Play one exercise live until it ends, is stopped, or a signal arrives; returns its summary."""
    from assistant.devices import OutputPlayer, resolve_output_device

    audio = session_audio_for(exercise, options)
    for problem in audio.recording_problems:
        warn(f"a recording could not be played, so its step is quiet: {problem}")
    volume = options.volume if options.volume is not None else (0.5 if options.bedside else 1.0)
    is_tty = out.isatty() and sys.stdin.isatty()
    view = PacerView(out, interactive=is_tty, show_pacer=options.pacer)
    session = Session(audio, volume=volume, notify=view.notify)
    if options.sleep_timer_minutes:
        session.stop_after(options.sleep_timer_minutes * 60.0)

    stop_speech = threading.Event()
    trouble = SpeechTrouble(warn)
    texts = spoken_texts(exercise)
    # The first words are asked for now and the stream opens meanwhile; the session waits for them, in silence,
    # so they are never late (about 0.1-0.3 s). A voice that fails or hangs must not hold the session up:
    # after FIRST_WORDS_WAIT_SECONDS it starts anyway, with tones and captions, and words join in if the voice
    # catches up.
    first = _render_in_background(voice, texts[0], session.rate) if voice is not None and texts else None
    asked_at = time.monotonic()
    started = threading.Event()  # set once the session may play; until then the stream plays silence
    if first is None:
        started.set()
    held_frames = 0  # output frames of that silence, not part of the session

    def pull(frames: int) -> np.ndarray:
        nonlocal held_frames
        if not started.is_set():
            held_frames += frames
            return np.zeros(frames, dtype=np.float32)
        return session.pull(frames)

    # Ctrl-C and SIGTERM fade out and end cleanly instead of cutting the sound.
    previous = {sig: signal.signal(sig, lambda *_: session.stop()) for sig in (signal.SIGINT, signal.SIGTERM)}
    keys = KeyReader(session) if sys.stdin.isatty() else None
    # A lost output (an unplugged headset) is reopened for a while, saying so; the session carries on from
    # the sample it had reached. Under the pacer the notice shows on its line, else on stderr.
    player = OutputPlayer(
        pull, sample_rate=audio.sample_rate, device=resolve_output_device(options.output_device),
        recover_seconds=options.recover_seconds, notify=view.notify if view.interactive else warn,
    )
    key_thread = threading.Thread(target=keys.run, name="keys", daemon=True) if keys is not None else None
    try:
        if key_thread is not None:
            key_thread.start()
            print(HELP_LINE, file=out)
        player.start()
        if first is not None:
            try:
                wait_seconds = max(0.0, asked_at + FIRST_WORDS_WAIT_SECONDS - time.monotonic())
                session.add_clip(texts[0], first.result(timeout=wait_seconds))
                first = None
            except SpeechUnavailableError as exc:
                trouble.report(f"the voice is unavailable, so the session goes on with tones and captions: {exc}")
                voice = None
            except concurrent.futures.TimeoutError:
                trouble.report(
                    f"the voice has not answered within {FIRST_WORDS_WAIT_SECONDS:g} s, so the session goes on "
                    "with tones and captions; the words join in if it catches up"
                )
        started.set()
        if voice is not None:
            threading.Thread(
                target=render_speech_ahead, args=(session, voice, stop_speech, trouble.report, first),
                name="speech-ahead", daemon=True,
            ).start()
        try:
            while not player.wait(timeout=0.1):
                view.show(session.snapshot(player.frames_played - held_frames))
        except AudioDeviceError as exc:
            where = _format_position(session.position / session.rate, session.timeline.seconds)
            raise AudioDeviceError(f"{exc} The session stopped at {where}.") from exc
    finally:
        started.set()
        stop_speech.set()
        if key_thread is not None:
            keys.stop.set()
            key_thread.join(timeout=1.0)  # it restores the terminal mode on its way out
        player.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    summary = session.summary(underflows=player.underflows)
    if options.log:
        write_session_log(summary)
    return summary
