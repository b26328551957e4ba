"""The StreamDetector in a child process, so that the process that plays the sound only plays it.

Why a process: pocketsphinx's Python binding holds the GIL for the whole of
its C work, and closing an utterance (end_utt with its fwdflat pass, and the
second pass of a recognizer just opened) took up to 960 ms of CPU in the 2 h
soak (p50 168 ms); the cue matcher's near cues, pure Python, up to 224 ms.
In one process the output stream's callback, also Python, waits for the GIL
all that time, longer than the player's 0.2 s device buffer: a gap in the
breath tone. Here the listening loop's process sends microphone blocks and
our own voice's and breath tone's spans (`gate`, `tone`) down a pipe and
gets detections back; the child does all the recognising and matching.

Time stays in samples: the child's detector counts the samples it was sent,
so each detection carries the same stream position as in one process, and
`samples_fed` here counts what was sent (the gate is placed ahead of it, so
it always reaches the child before the audio it covers).

Sending never blocks the caller (a sender thread drains a queue), because
`gate` is called from the audio feeder thread. Detections come back on a
reader thread and are handed to `on_fired` there. If the child dies (a bug,
or killed), it is started again and `on_lost` says so; listening goes on.
A child that stops answering without dying (a hang in native code) is
noticed by a watchdog: the child says it is alive every second while it
works, and answers a ping sent every second while it waits, so one that
says nothing for HANG_SECONDS is killed, and replaced in the same way. (A
backlog is not a hang: audio fed faster than real time, as tests and
benchmarks do, keeps it talking.) Our own voice's recent spans are sent
again to a new child, so it does not take the assistant's words for the
person's.
"""

from __future__ import annotations

import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections import deque
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from assistant.errors import GroundingError
from assistant.library.model import CueMap
from assistant.speech.cues import CueMatcher
from assistant.speech.detector import DetectorSettings, TimedDetection
from assistant.speech.moonshine import child_environment

OPEN_TIMEOUT_SECONDS = 120.0  # opening takes 1-3 s (pocketsphinx, then Moonshine's model); this is for a very busy machine
RESTART_PAUSE_SECONDS = 1.0  # between a child's death and its replacement, so a child that dies at once does not spin
ALIVE_SECONDS = 1.0  # the watchdog pings the child this often, and the child says it is alive this often as it works
# Nothing from the child for this long and it is taken for hung. Its longest honest silence is one block's
# work: an utterance's end (end_utt's fwdflat pass, up to about 1 s in the 2 h soak) and the second
# reader's answer (its own timeout is 5 s), more on a very busy machine.
HANG_SECONDS = 15.0
SPANS_KEPT_SECONDS = 30.0  # our own voice's and tone's spans ending this far back are of no use to a new child


class DetectorProcessError(GroundingError):
    """The listening child could not be started or stopped answering."""


class DetectorProcess:
    """What the listening loop needs of a StreamDetector (`rate`, `samples_fed`, `matcher`, `feed`, `gate`,
    `tone`), run in a child process. Detections arrive through `on_fired(detections)`, on a reader thread;
    both callbacks may be set after construction (nothing fires before the first `feed`)."""

    def __init__(
        self,
        engine: str | None,
        model: Path | None,
        cue_maps: Sequence[CueMap],
        language: str = "en",
        warn: Callable[[str], None] = lambda message: None,
        on_fired: Callable[[list[TimedDetection]], None] = lambda fired: None,
        on_lost: Callable[[str], None] | None = None,  # a line for people when the child died and is restarted
        settings: DetectorSettings | None = None,
        open_timeout_s: float = OPEN_TIMEOUT_SECONDS,
        hang_s: float = HANG_SECONDS,
    ):
        self._args = (engine, model, list(cue_maps), language, settings)
        self._warn = warn
        self.on_fired = on_fired
        self.on_lost = on_lost or warn
        self._open_timeout_s = open_timeout_s
        self._hang_s = hang_s
        self.matcher = CueMatcher(cue_maps)  # the Listener's echo check asks it; cheap to build twice
        self.samples_fed = 0  # samples sent to the child: its stream position once it has caught up
        self._outbox: "queue.SimpleQueue[tuple | None]" = queue.SimpleQueue()
        self._send_lock = threading.Lock()  # the sender, and a restart handing it a new pipe
        self._samples_sent = 0  # samples the sender has taken from the queue (sent, or lost to a dead child)
        self._closing = threading.Event()  # set by close: ends the watchdog, and a death is no longer restarted
        self._synced = threading.Condition()
        self._sync_asked = self._sync_answered = 0
        # Our own voice's, breath tone's and echo canceller's recent spans, as sent ("gate", "tone" or "left", start,
        # end, ...), for a new child
        self._spans: deque[tuple] = deque()
        self._spans_lock = threading.Lock()
        self._hung: str | None = None  # why the watchdog killed the child, for the restart's line
        self._last_heard = time.monotonic()  # when the child last sent anything (the watchdog's clock)
        self._restarting = False  # a replacement is opening: the watchdog does not judge it yet
        self.restarts = 0
        self._process, self._connection = self._start()
        self.description, self.rate = self._wait_ready(warn)
        self._last_heard = time.monotonic()
        self._sender = threading.Thread(target=self._send_loop, name="detector-sender", daemon=True)
        self._reader = threading.Thread(target=self._read_loop, name="detector-reader", daemon=True)
        self._watchdog = threading.Thread(target=self._watch_loop, name="detector-watchdog", daemon=True)
        self._sender.start()
        self._reader.start()
        self._watchdog.start()

    # -- what the listening loop calls ------------------------------------------------------------------

    def feed(self, samples: np.ndarray) -> list[TimedDetection]:
        """Send the next microphone block; detections come later through on_fired, so none are returned here."""
        self.samples_fed += len(samples)
        self._outbox.put(("feed", np.ascontiguousarray(samples)))
        return []

    def gate(self, start_sample: int, end_sample: int, text: str = "") -> None:
        """As StreamDetector.gate: our own voice over [start, end). Never blocks (called by the audio feeder)."""
        self._send_span(("gate", start_sample, end_sample, text))

    def tone(self, start_sample: int, end_sample: int, low_hz: float, high_hz: float) -> None:
        """As StreamDetector.tone: our own breath tone over [start, end). Never blocks (called by the audio feeder)."""
        self._send_span(("tone", start_sample, end_sample, low_hz, high_hz))

    def ours_left(self, start_sample: int, end_sample: int, ours: float, left: float, usual_share: float | None) -> None:
        """As StreamDetector.ours_left: what the echo canceller made of [start, end). Never blocks."""
        self._send_span(("left", start_sample, end_sample, ours, left, usual_share))

    def _send_span(self, message: tuple) -> None:
        with self._spans_lock:
            self._spans.append(message)
            too_old = self.samples_fed - round(SPANS_KEPT_SECONDS * self.rate)
            while self._spans and self._spans[0][2] < too_old:
                self._spans.popleft()
        self._outbox.put(message)

    def caught_up(self, timeout_s: float) -> bool:
        """Wait until the child has heard everything sent so far (its detections handed on); False on timeout.
        True too once a dead child has been replaced: what it had not heard is lost, and nothing more will come of it."""
        with self._synced:
            self._sync_asked += 1
            token = self._sync_asked
            self._outbox.put(("sync", token))
            return self._synced.wait_for(lambda: self._sync_answered >= token, timeout_s)

    def close(self) -> None:
        """Stop the child (it also stops by itself when this process goes away)."""
        if self._closing.is_set():
            return
        self._closing.set()
        self._outbox.put(None)
        self._sender.join(timeout=5)
        _reap(self._process)
        self._connection.close()

    @property
    def child_pid(self) -> int | None:
        return self._process.pid

    def __enter__(self) -> "DetectorProcess":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- the child's life -----------------------------------------------------------------------------

    def _start(self) -> tuple[subprocess.Popen, Connection]:
        """A new child on one end of a socket pair, told what to open.

        A fresh interpreter (`python -m`), not multiprocessing's spawn, which would import the caller's
        main script again, and not fork, which would copy a process that has audio threads.
        """
        ours, theirs = socket.socketpair()
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", "assistant.speech.detector_process", str(theirs.fileno())],
                pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                env=child_environment(),
            )
        finally:
            theirs.close()  # only the child holds its end: when it dies, recv here ends with EOFError
        connection = Connection(ours.detach())
        connection.send(self._args)
        return process, connection

    def _wait_ready(self, warn: Callable[[str], None], connection=None) -> tuple[str, int]:
        """Pass on the child's warnings until it says it is ready; its error, raised here, if it could not open."""
        connection = connection or self._connection
        deadline = time.monotonic() + self._open_timeout_s
        while True:
            if not connection.poll(max(0.0, deadline - time.monotonic())):
                self._process.kill()
                raise DetectorProcessError(f"listening did not start within {self._open_timeout_s:g} s; the machine may be very busy")
            try:
                message = connection.recv()
            except EOFError:
                _reap(self._process)
                raise DetectorProcessError(
                    f"the listening process ended while starting (exit code {self._process.returncode})"
                ) from None
            kind = message[0]
            if kind == "warn":
                warn(message[1])
            elif kind == "ready":
                return message[1], message[2]
            elif kind == "failed":  # a GroundingError for people (no model, bad engine…): raised as it was
                raise message[1]
            elif kind == "crashed":
                raise DetectorProcessError(f"listening could not start, because of a bug:\n{message[1]}")

    def _send_loop(self) -> None:
        while True:
            message = self._outbox.get()
            with self._send_lock:
                if message is None:
                    try:
                        self._connection.send(("close",))
                    except (OSError, ValueError):
                        pass
                    return
                if message[0] == "feed":
                    self._samples_sent += len(message[1])
                try:
                    self._connection.send(message)
                except (OSError, ValueError):
                    # The child is gone and the reader is starting another. What is sent meanwhile is
                    # lost, as sound would be while a microphone is away.
                    pass

    def _read_loop(self) -> None:
        while True:
            try:
                message = self._connection.recv()
            except (EOFError, OSError):
                if self._closing.is_set():
                    return
                self._restart("the listening process stopped")
                continue
            self._last_heard = time.monotonic()
            kind = message[0]
            if kind == "fired":
                self.on_fired(message[1])
            elif kind == "synced":
                with self._synced:
                    self._sync_answered = max(self._sync_answered, message[1])
                    self._synced.notify_all()
            elif kind == "warn":
                self._warn(message[1])
            elif kind == "crashed":
                if not self._closing.is_set():
                    self.on_lost(f"listening hit a bug and is starting again:\n{message[1]}")

    def _watch_loop(self) -> None:
        """Ping the child; kill one that has said nothing for hang_s. The reader then replaces it."""
        while not self._closing.wait(ALIVE_SECONDS):
            process = self._process  # (taken first: a replacement being opened is assigned while _restarting)
            if self._restarting:
                continue
            self._outbox.put(("ping",))
            if time.monotonic() - self._last_heard > self._hang_s and process.poll() is None:
                self._hung = f"the listening process stopped answering for {self._hang_s:g} s and was ended"
                process.kill()

    def _restart(self, why: str) -> None:
        """Start a new child in place of a dead one. It listens from where the stream is now, recognizer fresh."""
        self._restarting = True
        _reap(self._process)
        why, self._hung = self._hung or why, None
        self.on_lost(f"{why} (exit code {self._process.returncode}); starting it again…")
        while not self._closing.is_set():
            time.sleep(RESTART_PAUSE_SECONDS)
            process, connection = self._start()
            self._process = process
            try:
                self._wait_ready(self._warn, connection)
            except GroundingError as exc:
                connection.close()
                _reap(process)
                self.on_lost(f"listening could not start again ({exc}); trying again…")
                continue
            with self._send_lock:
                old, self._connection = self._connection, connection
                # The new child counts from 0: it joins the stream where the sender has got to, knowing
                # where our own voice is (spans sent to the old child, or lost while none was there).
                connection.send(("skip", self._samples_sent))
                with self._spans_lock:
                    spans = list(self._spans)
                for message in spans:
                    connection.send(message)
            old.close()
            with self._synced:  # what the dead child was asked, it will never answer: nothing more is coming
                self._sync_answered = self._sync_asked
                self._synced.notify_all()
            self._last_heard = time.monotonic()
            self.restarts += 1
            self._restarting = False
            self.on_lost("Listening again.")
            return


def _reap(process: subprocess.Popen, timeout_s: float = 5.0) -> None:
    """Wait for a child that was told to stop (or died); kill it if it will not."""
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout_s)


def serve(connection: Connection) -> None:
    """The child: open the recognizer, then feed it what arrives and send back what fires, until told to stop."""
    from assistant.speech.detector import StreamDetector
    from assistant.speech.models import open_recognizer_or_fall_back

    # Ctrl-C reaches the whole terminal's process group; the listening loop's process decides what it means.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    engine, model, cue_maps, language, settings = connection.recv()

    def warn(message: str) -> None:
        connection.send(("warn", message))

    try:
        opened = open_recognizer_or_fall_back(engine, model, cue_maps, language, warn)
        detector = StreamDetector(opened.recognizer, CueMatcher(cue_maps), settings)
    except GroundingError as exc:
        connection.send(("failed", exc))
        return
    except Exception:
        connection.send(("crashed", traceback.format_exc()))
        return
    connection.send(("ready", opened.description, detector.rate))
    said_alive = time.monotonic()
    try:
        while True:
            try:
                message = connection.recv()
            except EOFError:  # the listening loop's process is gone
                return
            kind = message[0]
            if kind == "feed":
                fired = detector.feed(message[1])
                if fired:
                    connection.send(("fired", fired))
            elif kind == "gate":
                detector.gate(*message[1:])
            elif kind == "tone":
                detector.tone(*message[1:])
            elif kind == "left":
                detector.ours_left(*message[1:])
            elif kind == "sync":  # everything before this has been heard
                connection.send(("synced", message[1]))
            elif kind == "skip":  # a restarted child joins the stream where it is now
                detector.samples_fed = message[1]
            elif kind == "close":
                return
            # A ping is answered; and working through a backlog is not hanging, so it says so as it goes.
            if kind == "ping" or time.monotonic() - said_alive >= ALIVE_SECONDS:
                connection.send(("alive",))
                said_alive = time.monotonic()
    except (BrokenPipeError, EOFError):
        return
    except Exception:
        try:
            connection.send(("crashed", traceback.format_exc()))
        except OSError:
            pass
        raise


if __name__ == "__main__":
    serve(Connection(int(sys.argv[1])))
