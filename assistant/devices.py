"""Sound output through sounddevice: the only module that touches audio hardware.

One long-lived output stream plays a session pulled block by block. A feeder
thread calls `pull` and writes into a preallocated ring; the stream's callback
only copies from the ring into the device buffer, so nothing slow (rendering,
allocation, I/O, logging) can make the sound drop out. sounddevice is imported
lazily, inside functions, so `import assistant.devices` works without PortAudio.
"""

from __future__ import annotations

import importlib
import os
import queue
import logging
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from assistant.errors import AudioDeviceError

logger = logging.getLogger(__name__)

Pull = Callable[[int], np.ndarray]  # frames -> the next mono float32 samples; fewer than asked = the end

_RENDER_ADVICE = "use `grounding render ID -o file.wav` to make a file instead"
FIRST_REOPEN_AFTER_SECONDS = 0.3  # a lost stream is first reopened this long after it died...
REOPEN_EVERY_SECONDS = 0.5  # ...then this often
START_TIMEOUT_SECONDS = 1.0  # a stream that has not started by then is given up on (see start_within)
REOPEN_TIMEOUT_SECONDS = 1.0  # a reopen that has not returned by then is given up on (see open_within)...
OPEN_TIMEOUT_SECONDS = 5.0  # ...and the first open, patient with a slow device, while a person waits anyway
_given_up: list[Any] = []  # streams (or opens) that hung: kept, never used or closed again


class DeviceHungError(AudioDeviceError):
    """An open or start that did not return in time (see start_within); callers say which device and what to do."""


def load_sounddevice() -> Any:
    """Import sounddevice, turning a missing PortAudio library into an AudioDeviceError that says what to install."""
    try:
        return importlib.import_module("sounddevice")
    except OSError as exc:  # sounddevice raises OSError when it cannot load libportaudio
        raise AudioDeviceError(
            "PortAudio is not installed: install it with `sudo apt-get install libportaudio2` "
            "(Debian/Ubuntu), then try again. `grounding render` still works without it."
        ) from exc
    except ImportError as exc:
        raise AudioDeviceError(
            "the sounddevice package is not installed: install it with `pip install sounddevice`, "
            "then try again. `grounding render` still works without it."
        ) from exc


def list_output_devices() -> list[dict]:
    """Every device that can play sound: index, name, channels, default_samplerate, is_default."""
    sd = load_sounddevice()
    try:
        devices = sd.query_devices()
        default_output = sd.default.device[1]
        if default_output is None or default_output < 0:
            try:
                default_output = sd.query_devices(kind="output")["index"]
            except (sd.PortAudioError, ValueError):
                default_output = -1
    except sd.PortAudioError as exc:
        raise AudioDeviceError(f"the list of audio devices could not be read ({exc}). Check that sound works.") from exc
    return [
        {
            "index": int(device["index"]),
            "name": str(device["name"]),
            "channels": int(device["max_output_channels"]),
            "default_samplerate": float(device["default_samplerate"]),
            "is_default": int(device["index"]) == default_output,
        }
        for device in devices
        if device["max_output_channels"] > 0
    ]


def format_devices(devices: list[dict]) -> str:
    """Output devices as lines a person can read: index, name, channels, rate, and which is the default."""
    if not devices:
        return "  (no output devices found)"
    return "\n".join(
        f"  {d['index']:>3}  {d['name']}  ({d['channels']} ch, {d['default_samplerate']:.0f} Hz)"
        + ("  [default]" if d["is_default"] else "")
        for d in devices
    )


def resolve_output_device(spec: str | int | None, devices: list[dict] | None = None) -> int | None:
    """The index of the output device meant by `spec` (an index or a name substring); None means the default.

    `devices` defaults to `list_output_devices()`; passing a list keeps this testable without hardware.
    """
    if spec is None or (isinstance(spec, str) and not spec.strip()):
        return None
    if devices is None:
        devices = list_output_devices()
    if isinstance(spec, int) or spec.strip().isdigit():
        index = int(spec)
        if any(d["index"] == index for d in devices):
            return index
        raise AudioDeviceError(_unknown_device(f"there is no output device with index {index}", devices))
    wanted = spec.strip().lower()
    exact = [d for d in devices if d["name"].lower() == wanted]
    if exact:
        return exact[0]["index"]
    matches = [d for d in devices if wanted in d["name"].lower()]
    if len(matches) == 1:
        return matches[0]["index"]
    if matches:
        raise AudioDeviceError(
            f"'{spec}' matches several output devices; give the index of one of them:\n{format_devices(matches)}"
        )
    raise AudioDeviceError(_unknown_device(f"no output device is called '{spec}'", devices))


def _unknown_device(problem: str, devices: list[dict]) -> str:
    return (
        f"{problem}. The output devices are:\n{format_devices(devices)}\n"
        "Give an index or part of a name (`grounding devices` lists them)."
    )


def _describe_device(device: int | None) -> str:
    if device is None:
        return "the default output device"
    try:
        name = next((d["name"] for d in list_output_devices() if d["index"] == device), None)
    except AudioDeviceError:
        name = None
    return f"output device {device} ({name})" if name else f"output device {device}"


def _open_failure(device: int | None, exc: BaseException) -> AudioDeviceError:
    return AudioDeviceError(
        f"no audio output device could be opened ({_describe_device(device)}: {exc}). "
        f"Check that sound works (`grounding devices` lists outputs), or {_RENDER_ADVICE}."
    )


def _portaudio_errors() -> tuple[type[BaseException], ...]:
    """sounddevice's PortAudioError if sounddevice is loaded (a fake stream in tests never raises it)."""
    sd = sys.modules.get("sounddevice")
    return (sd.PortAudioError,) if sd is not None else ()


def open_output_stream(**stream_args: Any) -> Any:
    """A `sounddevice.OutputStream` with these arguments; failures become AudioDeviceError."""
    sd = load_sounddevice()
    try:
        return sd.OutputStream(**stream_args)
    except sd.PortAudioError as exc:
        raise _open_failure(stream_args.get("device"), exc) from exc


def start_within(stream: Any, seconds: float) -> None:
    """stream.start(), but AudioDeviceError instead of waiting for ever if it does not return within `seconds`.

    PortAudio's ALSA back end (19.6) can hang for good in Pa_StartStream: if
    the stream opens but its start then fails (PulseAudio answering "No such
    entity" for a sink that is coming or going), the stream's thread exits
    holding the lock the caller waits for. Seen here in about half the runs in
    which a speaker sink was unloaded and loaded again shortly after the
    microphone had been reopened. So the start runs on the device thread
    (_device_thread); one that hangs is left there, its stream kept aside and
    never touched again, and PortAudio is not shut down at exit (that could
    wait on the same lock): the process ends without it. Callers make sure a
    given-up stream's callback does no harm.
    """
    _call_within(seconds, stream.start, "start", keep_aside=stream)


def open_within(seconds: float, factory: Callable[..., Any], **stream_args: Any) -> Any:
    """factory(**stream_args), but AudioDeviceError instead of waiting for ever if it does not return in `seconds`.

    Opening can hang for good too, on the same failure: in 1 of 80 logged
    runs of the listen fault test here (and in CI), a reopen made while the
    speaker's sink was away printed PulseAudio's "No such entity" and never
    returned, so the speaker was never reopened. A stream such an open
    returns late, if ever, is kept aside unstarted like a hung start's.
    """
    return _call_within(seconds, lambda: factory(**stream_args), "open")


def _call_within(seconds: float, action: Callable[[], Any], what: str, keep_aside: Any = None) -> Any:
    """action() on the device thread: what it returns or raises, or DeviceHungError after `seconds`."""
    outcome: dict[str, Any] = {}
    done = threading.Event()

    def run() -> None:
        try:
            outcome["value"] = action()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            outcome["error"] = exc
        finally:
            done.set()

    jobs = _device_thread()
    jobs.put(run)
    if not done.wait(seconds):
        _leave_device_thread(jobs)
        # Kept aside, never touched again: the stream, or the outcome a hung open may yet fill in.
        _given_up.append(keep_aside if keep_aside is not None else outcome)
        _skip_portaudio_shutdown()
        logger.debug("a stream did not %s within %.1f s and was given up on", what, seconds)
        raise DeviceHungError(f"it did not {what} within {seconds:g} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


# Streams are opened and started on one long-lived thread, never on threads that end. An input stream
# opened on a short-lived thread sometimes never reported its device going away: PortAudio's capture
# thread spun printing "self->capture.ready || self->playback.ready" instead of stopping the stream, so
# the lost microphone was never noticed (listen with a speaker open, the machine busy: 6 of 25 and 2 of
# 40 runs; opened on the main thread or on one lasting thread, 0 of 25 and 0 of 40).
_device_jobs: "queue.Queue[Callable[[], None]] | None" = None
_device_lock = threading.Lock()


def _device_thread() -> "queue.Queue[Callable[[], None]]":
    """The queue of the thread that opens and starts streams, started on first use."""
    global _device_jobs
    with _device_lock:
        if _device_jobs is None:
            _device_jobs = queue.Queue()
            threading.Thread(target=_serve, args=(_device_jobs,), name="grounding-audio-device", daemon=True).start()
        return _device_jobs


def _leave_device_thread(jobs: "queue.Queue[Callable[[], None]]") -> None:
    """The device thread is stuck in a call that hung: later calls go to a new one."""
    global _device_jobs
    with _device_lock:
        if _device_jobs is jobs:
            _device_jobs = None


def _serve(jobs: "queue.Queue[Callable[[], None]]") -> None:
    # Never returns, even once left for a hung call that comes back: streams it opened must outlive it.
    while True:
        jobs.get()()


def _skip_portaudio_shutdown() -> None:
    import atexit

    sd = sys.modules.get("sounddevice")
    handler = getattr(sd, "_exit_handler", None)
    if handler is not None:
        atexit.unregister(handler)


@dataclass(frozen=True)
class PlaybackStats:
    """What the player has done so far."""

    frames_played: int  # session frames handed to the device (not lead-in or tail silence)
    underflows: int  # callbacks where PortAudio reported output_underflow (the device ran dry)
    ring_shortfalls: int  # callbacks where the feeder had not kept up and zeros were played instead


class OutputPlayer:
    """Plays a session pulled block by block through one long-lived output stream.

    The player never knows about exercises: `pull(frames)` returns the next
    mono float32 samples and keeps the position itself. Returning fewer frames
    than asked (or none) ends the session; the player plays out what it holds
    and `wait()` returns. At most `prefill_blocks` blocks are buffered ahead,
    so a pause or stop decided by whatever is behind `pull` is heard within
    about prefill_blocks * blocksize / sample_rate seconds plus the stream's latency.
    """

    def __init__(
        self,
        pull: Pull,
        sample_rate: int = 44100,  # hertz
        device: int | None = None,  # a PortAudio device index; None = the default output
        blocksize: int = 1024,  # frames per callback
        prefill_blocks: int = 4,  # blocks buffered ahead of the device
        channels: int = 2,  # the mono session is duplicated on every channel
        latency: str | float = "high",  # PortAudio's suggested latency: 'high' is the robust choice
        lead_silence_frames: int = 4096,  # zeros before the first session sample, at least the latency (see start)
        stream_factory: Callable[..., Any] = open_output_stream,
        feeder_thread: bool = True,  # False: the owner calls fill() and recover() itself (tests drive the player by hand)
        recover_seconds: float = 0.0,  # how long to keep reopening a stream that died (device lost); 0 = never, math.inf = always
        notify: Callable[[str], None] | None = None,  # lines for people: the sound output was lost, is back
        clock: Callable[[], float] = time.monotonic,  # only paces reopen attempts; the session's clock is the samples
    ):
        if blocksize <= 0 or prefill_blocks <= 0 or channels <= 0 or sample_rate <= 0:
            raise ValueError("sample_rate, blocksize, prefill_blocks and channels must all be positive")
        self._pull = pull
        self.sample_rate = sample_rate
        self.device = device
        self.blocksize = blocksize
        self.channels = channels
        self._latency = latency
        self._stream_factory = stream_factory
        self._use_feeder_thread = feeder_thread
        self._capacity = prefill_blocks * blocksize
        self._ring = np.zeros(self._capacity, dtype=np.float32)
        # Counters are plain ints, each written by one thread only: _written by the feeder,
        # _read by the callback. The ring holds frames [_read, _written), at position index % capacity.
        self._written = 0
        self._read = 0
        self._end_at: int | None = None  # total frames in the session, once pull has said it is over
        self._lead_silence_frames = max(0, lead_silence_frames)
        self._lead_remaining = 0
        self._tail_frames = 0
        self._tail_needed = blocksize
        self._underflows = 0
        self._underflow_frames: list[int] = []  # where the first few came (frames read), for the warning below
        self._ring_shortfalls = 0
        self._space = threading.Event()  # set by the callback whenever it frees ring space
        self._finished = threading.Event()  # set once the session has been played out (or the stream died)
        self._stopping = False
        self._stream_died = False
        self._error: BaseException | None = None
        self._stream: Any = None
        self._latency_seconds = 0.0
        self._feeder: threading.Thread | None = None
        self._recover_seconds = max(0.0, recover_seconds)
        self._notify = notify or (lambda message: None)
        self._clock = clock
        self._generation = 0  # which stream is current: a replaced stream's late finished callback is ignored
        self._lost = threading.Event()  # the current stream died on its own and is being reopened
        self._lost_since: float | None = None
        self._next_attempt = 0.0
        self._attempts = 0
        self._last_failure: BaseException | None = None
        self.reopened = 0  # how often a lost stream was opened again

    # -- control (any thread but the audio callback) -------------------------------------------------

    def start(self) -> "OutputPlayer":
        """Open the stream, fill the ring, then start playing: the first block is ready before the device asks."""
        if self._stream is not None:
            raise RuntimeError("OutputPlayer.start() was called twice; make a new player for a new stream")
        try:
            self._stream = self._open(self.device, OPEN_TIMEOUT_SECONDS)
        except DeviceHungError as exc:
            raise _open_failure(self.device, exc) from exc
        try:
            self.fill()
            if self._use_feeder_thread:
                self._feeder = threading.Thread(target=self._feed, name="grounding-audio-feeder", daemon=True)
                self._feeder.start()
            start_within(self._stream, START_TIMEOUT_SECONDS)
        except _portaudio_errors() as exc:
            self.stop()
            raise _open_failure(self.device, exc) from exc
        except DeviceHungError as exc:  # given up on while starting, never to be closed (see start_within)
            self._generation += 1
            self._stream = None
            self.stop()
            raise _open_failure(self.device, exc) from exc
        except BaseException:
            self.stop()
            raise
        return self

    def _open(self, device: int | None, seconds: float) -> Any:
        """A new stream on `device` (given up after `seconds`), its callbacks bound to this player; lead silence
        and tail set for its latency."""
        self._generation += 1
        generation = self._generation

        def callback(outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
            if generation == self._generation:
                self._callback(outdata, frames, time_info, status)
            else:  # a stream given up on while it started: it must not take the ring's samples
                outdata.fill(0)

        stream = open_within(
            seconds,
            self._stream_factory,
            samplerate=self.sample_rate,
            blocksize=self.blocksize,
            device=device,
            channels=self.channels,
            dtype="float32",
            latency=self._latency,
            callback=callback,
            finished_callback=lambda: self._stream_finished(generation),
        )
        self._latency_seconds = latency_seconds = float(getattr(stream, "latency", 0.0) or 0.0)
        # After the last session frame, keep feeding zeros for twice the device latency plus a
        # block: stopping sooner cuts off the end (ALSA's pulse plugin drops what is still queued).
        self._tail_needed = round(2 * latency_seconds * self.sample_rate) + self.blocksize
        # The stream opens with silence, for two reasons. The first milliseconds of a new stream can
        # be lost on the way to the sink (on PulseAudio about the sink's current latency, 4-40 ms
        # measured here, never reached its monitor). And PortAudio fills the whole device buffer in
        # one burst of back-to-back callbacks, faster than the feeder can refill the ring: a
        # latency's worth of zeros lets the burst pass without a shortfall. Zeros lose nothing.
        self._lead_remaining = max(self._lead_silence_frames, round(latency_seconds * self.sample_rate))
        return stream

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the session has been played out; False on timeout.

        Re-raises an error from `pull`; AudioDeviceError if the stream stopped on its own (device lost).
        """
        done = self._finished.wait(timeout)
        if self._error is not None:
            raise self._error
        if self._stream_died:
            if self._attempts:
                logger.debug("the last attempt to reopen the output failed: %s", self._last_failure)
                raise AudioDeviceError(
                    f"sound stopped: {_describe_device(self.device)} went away and could not be opened again "
                    f"within {self._recover_seconds:g} s. Check that sound works (`grounding devices` "
                    f"lists outputs), or {_RENDER_ADVICE}."
                )
            raise AudioDeviceError(
                f"sound stopped: {_describe_device(self.device)} stopped playing before the session ended. "
                f"Check that sound works (`grounding devices` lists outputs), or {_RENDER_ADVICE}."
            )
        return done

    def stop(self) -> None:
        """Stop the feeder and close the stream; safe to call more than once."""
        self._stopping = True
        self._space.set()
        if self._feeder is not None and self._feeder is not threading.current_thread():
            self._feeder.join()
        stream, self._stream = self._stream, None
        if stream is not None:
            _close_quietly(stream)
        self._finished.set()
        if self._underflows or self._ring_shortfalls:
            where = ", ".join(f"{frame / self.sample_rate:.1f} s" for frame in self._underflow_frames)
            logger.warning(
                "playback had %d device underflows%s and %d ring shortfalls in %d frames",
                self._underflows, f" (at {where})" if where else "", self._ring_shortfalls, self._read,
            )

    def __enter__(self) -> "OutputPlayer":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def frames_played(self) -> int:
        """Session frames handed to the device so far: the audio clock (what is heard lags by `latency_seconds`)."""
        return self._read

    @property
    def lost(self) -> bool:
        """True while the stream has died on its own and is being reopened."""
        return self._lost.is_set()

    @property
    def latency_seconds(self) -> float:
        """The stream's output latency as PortAudio reported it when opened (0 before start)."""
        return self._latency_seconds

    @property
    def underflows(self) -> int:
        """Callbacks in which PortAudio reported that the device ran dry."""
        return self._underflows

    @property
    def stats(self) -> PlaybackStats:
        return PlaybackStats(self._read, self._underflows, self._ring_shortfalls)

    # -- feeder thread --------------------------------------------------------------------------------

    def fill(self) -> None:
        """Pull blocks into the ring while a whole block fits and the session has not ended (the feeder's work)."""
        while self._end_at is None and not self._stopping and self._capacity - (self._written - self._read) >= self.blocksize:
            block = np.asarray(self._pull(self.blocksize), dtype=np.float32).reshape(-1)
            if len(block) > self.blocksize:
                raise ValueError(f"pull({self.blocksize}) returned {len(block)} frames; it may return fewer, never more")
            self._write(block)
            if len(block) < self.blocksize:
                self._end_at = self._written

    def _write(self, block: np.ndarray) -> None:
        start = self._written % self._capacity
        first = min(len(block), self._capacity - start)
        self._ring[start : start + first] = block[:first]
        self._ring[: len(block) - first] = block[first:]
        self._written += len(block)  # published only after the samples are in place

    def _feed(self) -> None:
        try:
            while not self._stopping and not self._finished.is_set():
                self._space.clear()
                if self._lost.is_set():
                    self.recover()
                    self._space.wait(0.05)
                    continue
                if self._end_at is not None or self._capacity - (self._written - self._read) < self.blocksize:
                    # Woken by the callback as it frees space; the timeout only guards against a lost wake-up.
                    # Once the session has ended the feeder stays, idle, in case the stream dies in its tail.
                    self._space.wait(self.blocksize / self.sample_rate)
                    continue
                self.fill()
        except BaseException as exc:  # noqa: BLE001 - handed to wait(); the session plays out what it has
            self._error = exc
            self._end_at = self._written
            if self._lost.is_set():
                self._finished.set()

    # -- a stream that died: reopen it (feeder thread) ------------------------------------------------

    def recover(self) -> None:
        """If the stream has died, try to open a new one when the next attempt is due (the feeder's work).

        The ring keeps what was not yet handed to the device, so the new stream
        carries on from there: the session's position is in samples, not in time.
        The first attempt comes FIRST_REOPEN_AFTER_SECONDS after the loss, then one
        every REOPEN_EVERY_SECONDS, until `recover_seconds` have passed; then
        wait() raises AudioDeviceError.
        The chosen device is tried first, then the default output.
        """
        if not self._lost.is_set() or self._stopping:
            return
        now = self._clock()
        if self._lost_since is None:
            # The first attempt waits a moment: a device that is going away can still be found while the
            # server takes it down, and a stream opened then fails as it starts (see start_within).
            self._lost_since, self._next_attempt, self._attempts = now, now + FIRST_REOPEN_AFTER_SECONDS, 0
            stream, self._stream = self._stream, None
            if stream is not None:
                _close_quietly(stream)
            self._notify(f"Sound output lost ({_describe_device(self.device)} stopped); trying to reopen it…")
        if now - self._lost_since > self._recover_seconds:
            self._stream_died = True
            self._finished.set()
            return
        if now < self._next_attempt:
            return
        self._attempts += 1
        self._next_attempt = now + REOPEN_EVERY_SECONDS
        for device in dict.fromkeys((self.device, None)):
            try:
                stream = self._open(device, REOPEN_TIMEOUT_SECONDS)
            except AudioDeviceError as exc:
                self._last_failure = exc.__cause__ or exc
                continue
            try:
                start_within(stream, START_TIMEOUT_SECONDS)
            except _portaudio_errors() as exc:
                self._last_failure = exc
                _close_quietly(stream)
                continue
            except DeviceHungError as exc:  # given up on (see start_within)
                self._last_failure = exc
                self._generation += 1
                continue
            self._stream = stream
            self.reopened += 1
            self._lost.clear()
            where = "" if device == self.device else f" on {_describe_device(device)}"
            self._notify(f"Sound output is back{where} after {now - self._lost_since:.1f} s; carrying on where the session was.")
            self._lost_since = None
            return

    # -- audio callback: copies only ------------------------------------------------------------------

    def _callback(self, outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        if status.output_underflow:
            self._underflows += 1
            if len(self._underflow_frames) < 5:
                self._underflow_frames.append(self._read)
        done = 0
        lead = self._lead_remaining
        if lead:
            done = lead if lead < frames else frames
            outdata[:done] = 0
            self._lead_remaining = lead - done
        wanted = frames - done
        read = self._read
        available = self._written - read
        count = wanted if available >= wanted else available
        if count > 0:
            start = read % self._capacity
            first = self._capacity - start
            if first > count:
                first = count
            ring = self._ring
            for channel in range(self.channels):
                outdata[done : done + first, channel] = ring[start : start + first]
                if count > first:
                    outdata[done + first : done + count, channel] = ring[: count - first]
            self._read = read + count
            self._space.set()
        if count < wanted:
            outdata[done + count :] = 0
            end_at = self._end_at
            if end_at is not None and read + count >= end_at:
                self._tail_frames += wanted - count
                if self._tail_frames >= self._tail_needed and not self._finished.is_set():
                    self._finished.set()
            else:
                self._ring_shortfalls += 1

    def _stream_finished(self, generation: int | None = None) -> None:
        # Called by PortAudio whenever the stream stops, also when it dies on its own: never leave wait() hanging.
        if generation is not None and generation != self._generation:
            return  # a stream already replaced by a new one
        if self._stopping or self._finished.is_set():
            self._finished.set()
            return
        if self._end_at is not None and self._read >= self._end_at:
            self._finished.set()  # it died in the silent tail: everything was played
            return
        if self._recover_seconds > 0:
            self._lost.set()  # the feeder reopens it
            self._space.set()
            return
        self._stream_died = True
        self._finished.set()


def _close_quietly(stream: Any) -> None:
    """Stop and close a stream, which may already have failed: nothing is left to stop then."""
    try:
        stream.stop()
    except _portaudio_errors() as exc:
        logger.debug("stopping the stream failed: %s", exc)
    finally:
        try:
            stream.close()
        except _portaudio_errors() as exc:
            logger.debug("closing the stream failed: %s", exc)


def resolve_input_device(spec: str | int | None) -> int | None:
    """An input device by index or case-insensitive name substring; None = the default input."""
    if spec is None:
        return None
    sd = load_sounddevice()
    try:
        devices = [dict(d, index=i) for i, d in enumerate(sd.query_devices()) if d["max_input_channels"] > 0]
    except sd.PortAudioError as exc:
        raise AudioDeviceError(f"the list of audio devices could not be read ({exc}). Check that sound works.") from exc
    if isinstance(spec, int) or str(spec).isdigit():
        index = int(spec)
        if any(d["index"] == index for d in devices):
            return index
    else:
        matches = [d["index"] for d in devices if str(spec).lower() in d["name"].lower()]
        if len(matches) == 1:
            return matches[0]
    names = ", ".join(f"{d['index']} {d['name']}" for d in devices) or "none"
    raise AudioDeviceError(f"no single microphone matches '{spec}'. Inputs: {names}.")


class Microphone:
    """One long-lived input stream; its callback only copies each block into a queue for the listening loop.

    If the stream dies on its own (the microphone was unplugged, its source
    removed), `keep_open()`, called by the listening loop, says so and tries
    to open it again every `retry_seconds` for as long as the loop runs.
    """

    def __init__(
        self,
        sample_rate: int = 16000,
        block_frames: int = 1600,
        device: int | None = None,
        stream_factory: Callable[..., Any] | None = None,  # default: sounddevice.InputStream
        retry_seconds: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.sample_rate = sample_rate
        self.block_frames = block_frames
        self.device = device
        self.overflows = 0
        self.frames_captured = 0  # by the stream, counted as they arrive (the listening loop may be behind)
        self.reopened = 0  # how often a lost microphone was opened again
        self._blocks: "queue.Queue[np.ndarray]" = queue.Queue(maxsize=600)  # a minute of 0.1 s blocks
        self._stream: Any = None
        self._stream_factory = stream_factory
        self._retry_seconds = retry_seconds
        self._clock = clock
        self._generation = 0
        self._stopping = False
        self._lost = threading.Event()
        self._lost_since: float | None = None
        self._next_attempt = 0.0

    def _callback(self, indata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        if status and status.input_overflow:
            self.overflows += 1
        self.frames_captured += frames
        try:
            self._blocks.put_nowait(indata[:, 0].copy())
        except queue.Full:  # the recognizer has fallen a minute behind: drop rather than block the audio thread
            self.overflows += 1

    def _finished(self, generation: int) -> None:
        # PortAudio calls this when the stream stops, also when it dies on its own.
        if generation == self._generation and not self._stopping:
            self._lost.set()

    def _open(self, seconds: float) -> Any:
        """A started input stream (its open given up after `seconds`); AudioDeviceError says what to check."""
        self._generation += 1
        generation = self._generation
        if self._stream_factory is None:
            sd = load_sounddevice()
            factory, errors = sd.InputStream, (sd.PortAudioError,)
        else:
            factory, errors = self._stream_factory, _portaudio_errors()

        def callback(indata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
            if generation == self._generation:  # not a stream given up on while it started
                self._callback(indata, frames, time_info, status)

        where = _describe_input(self.device)
        advice = "Check that a microphone is connected and allowed, or choose one with --input-device."
        try:
            stream = open_within(
                seconds, factory, samplerate=self.sample_rate, blocksize=self.block_frames, device=self.device,
                channels=1, dtype="int16", callback=callback,
                finished_callback=lambda: self._finished(generation),
            )
        except (*errors, DeviceHungError) as exc:
            raise AudioDeviceError(f"the microphone could not be opened ({where}: {exc}). {advice}") from exc
        try:
            start_within(stream, START_TIMEOUT_SECONDS)
        except (*errors, DeviceHungError) as exc:
            if isinstance(exc, DeviceHungError):
                self._generation += 1  # given up on: its callback now does nothing
            else:
                _close_quietly(stream)
            raise AudioDeviceError(f"the microphone could not be started ({where}: {exc}). {advice}") from exc
        return stream

    def start(self) -> "Microphone":
        self._stream = self._open(OPEN_TIMEOUT_SECONDS)
        return self

    @property
    def lost(self) -> bool:
        """True while the stream has died on its own and is being reopened."""
        return self._lost.is_set()

    def keep_open(self) -> str | None:
        """Reopen a lost microphone when an attempt is due; a line for people when it is lost or back, else None."""
        if not self._lost.is_set() or self._stopping:
            return None
        now = self._clock()
        if self._lost_since is None:
            self._lost_since, self._next_attempt = now, now + self._retry_seconds
            stream, self._stream = self._stream, None
            if stream is not None:
                _close_quietly(stream)
            return (
                f"Microphone lost ({_describe_input(self.device)} stopped); retrying every "
                f"{self._retry_seconds:g} s… What is playing goes on."
            )
        if now < self._next_attempt:
            return None
        self._next_attempt = now + self._retry_seconds
        try:
            stream = self._open(REOPEN_TIMEOUT_SECONDS)
        except AudioDeviceError as exc:
            logger.debug("the microphone is still gone: %s", exc)
            return None
        self._stream = stream
        self._lost.clear()
        self.reopened += 1
        seconds, self._lost_since = now - self._lost_since, None
        return f"Microphone is back after {seconds:.1f} s; listening again."

    def read(self, timeout: float | None = None) -> np.ndarray | None:
        """The next block of int16 samples, or None if none arrived within `timeout` seconds."""
        try:
            return self._blocks.get(timeout=timeout)
        except queue.Empty:
            return None

    def stop(self) -> None:
        self._stopping = True
        stream, self._stream = self._stream, None
        if stream is not None:
            _close_quietly(stream)


def _describe_input(device: int | None) -> str:
    return "the default input" if device is None else f"input device {device}"


# Lines PortAudio and alsa-lib print straight to file descriptor 2 when a device fails or goes away.
_NATIVE_NOISE = ("Expression '", "ALSA lib ", "PaAlsaStream", "Cannot connect to server", "jack server is not running")


class NativeStderrFilter:
    """Keeps the audio libraries' own diagnostics off the screen; everything else still reaches stderr.

    When a device goes away, libportaudio prints lines such as "Expression
    '...' failed in 'src/hostapi/alsa/pa_linux_alsa.c'" and alsa-lib prints
    "ALSA lib pcm_pulse.c:...: Unable to create stream", from C, straight to
    file descriptor 2, once per reopen attempt. A person gets our own message
    instead. Python's sys.stderr (our messages, a bug's traceback) is pointed
    at the real stderr directly; only what C code writes to descriptor 2 goes
    through a pipe, where those lines are logged at debug level and the rest
    passed on. Does nothing where stderr is not a real file descriptor.
    """

    def __init__(self) -> None:
        self._saved_fd: int | None = None
        self._saved_stderr: Any = None
        self._reader: threading.Thread | None = None

    def __enter__(self) -> "NativeStderrFilter":
        try:
            sys.stderr.flush()
            self._saved_fd = os.dup(2)
            read_fd, write_fd = os.pipe()
        except (OSError, ValueError, AttributeError):
            self._saved_fd = None
            return self
        self._saved_stderr = sys.stderr
        sys.stderr = open(os.dup(self._saved_fd), "w", buffering=1, encoding=getattr(sys.stderr, "encoding", None) or "utf-8",
                          errors="backslashreplace")
        os.dup2(write_fd, 2)
        os.close(write_fd)
        self._reader = threading.Thread(target=self._forward, args=(read_fd, self._saved_fd), name="stderr-filter", daemon=True)
        self._reader.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._saved_fd is None:
            return
        try:
            sys.stderr.flush()
        finally:
            ours, sys.stderr = sys.stderr, self._saved_stderr
            ours.close()
            os.dup2(self._saved_fd, 2)  # closes the pipe's last write end: the reader sees its end and stops
            if self._reader is not None:
                self._reader.join(timeout=1.0)
            os.close(self._saved_fd)
            self._saved_fd = None

    @staticmethod
    def _forward(read_fd: int, out_fd: int) -> None:
        pending = b""
        with os.fdopen(read_fd, "rb", buffering=0) as pipe:
            while True:
                chunk = pipe.read(4096)
                if not chunk:
                    break
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    _pass_on(line, out_fd)
        if pending:
            _pass_on(pending, out_fd)


def _pass_on(line: bytes, out_fd: int) -> None:
    text = line.decode("utf-8", "replace")
    if not text.strip() or text.startswith(_NATIVE_NOISE):
        if text.strip():
            logger.debug("audio library: %s", text)
        return
    try:
        os.write(out_fd, line + b"\n")
    except OSError:
        pass
