"""Sound output through sounddevice: the only module that touches audio hardware.

One long-lived output stream plays a session pulled block by block. A feeder
thread calls `pull` and writes into a preallocated ring; the stream's callback
only copies from the ring into the device buffer, so nothing slow (rendering,
allocation, I/O, logging) can make the sound drop out. sounddevice is imported
lazily, inside functions, so `import assistant.devices` works without PortAudio.
"""

from __future__ import annotations

import importlib
import queue
import logging
import sys
import threading
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from assistant.errors import AudioDeviceError

logger = logging.getLogger(__name__)

Pull = Callable[[int], np.ndarray]  # frames -> the next mono float32 samples; fewer than asked = the end

_RENDER_ADVICE = "use `grounding render ID -o file.wav` to make a file instead"


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
        feeder_thread: bool = True,  # False: the owner calls fill() itself (tests drive the player by hand)
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
        self._ring_shortfalls = 0
        self._space = threading.Event()  # set by the callback whenever it frees ring space
        self._finished = threading.Event()  # set once the session has been played out (or the stream died)
        self._stopping = False
        self._stream_died = False
        self._error: BaseException | None = None
        self._stream: Any = None
        self._latency_seconds = 0.0
        self._feeder: threading.Thread | None = None

    # -- control (any thread but the audio callback) -------------------------------------------------

    def start(self) -> "OutputPlayer":
        """Open the stream, fill the ring, then start playing: the first block is ready before the device asks."""
        if self._stream is not None:
            raise RuntimeError("OutputPlayer.start() was called twice; make a new player for a new stream")
        self._stream = self._stream_factory(
            samplerate=self.sample_rate,
            blocksize=self.blocksize,
            device=self.device,
            channels=self.channels,
            dtype="float32",
            latency=self._latency,
            callback=self._callback,
            finished_callback=self._stream_finished,
        )
        self._latency_seconds = latency_seconds = float(getattr(self._stream, "latency", 0.0) or 0.0)
        # After the last session frame, keep feeding zeros for twice the device latency plus a
        # block: stopping sooner cuts off the end (ALSA's pulse plugin drops what is still queued).
        self._tail_needed = round(2 * latency_seconds * self.sample_rate) + self.blocksize
        # The stream opens with silence, for two reasons. The first milliseconds of a new stream can
        # be lost on the way to the sink (on PulseAudio about the sink's current latency, 4-40 ms
        # measured here, never reached its monitor). And PortAudio fills the whole device buffer in
        # one burst of back-to-back callbacks, faster than the feeder can refill the ring: a
        # latency's worth of zeros lets the burst pass without a shortfall. Zeros lose nothing.
        self._lead_remaining = max(self._lead_silence_frames, round(latency_seconds * self.sample_rate))
        try:
            self.fill()
            if self._use_feeder_thread:
                self._feeder = threading.Thread(target=self._feed, name="grounding-audio-feeder", daemon=True)
                self._feeder.start()
            self._stream.start()
        except _portaudio_errors() as exc:
            self.stop()
            raise _open_failure(self.device, exc) from exc
        except BaseException:
            self.stop()
            raise
        return self

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the session has been played out; False on timeout.

        Re-raises an error from `pull`; AudioDeviceError if the stream stopped on its own (device lost).
        """
        done = self._finished.wait(timeout)
        if self._error is not None:
            raise self._error
        if self._stream_died:
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
            try:
                stream.stop()
            except _portaudio_errors() as exc:  # a stream that already failed: nothing left to stop
                logger.debug("stopping the output stream failed: %s", exc)
            finally:
                stream.close()
        self._finished.set()
        if self._underflows or self._ring_shortfalls:
            logger.warning(
                "playback had %d device underflows and %d ring shortfalls in %d frames",
                self._underflows, self._ring_shortfalls, self._read,
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
            while self._end_at is None and not self._stopping:
                self._space.clear()
                if self._capacity - (self._written - self._read) < self.blocksize:
                    # Woken by the callback as it frees space; the timeout only guards against a lost wake-up.
                    self._space.wait(self.blocksize / self.sample_rate)
                    continue
                self.fill()
        except BaseException as exc:  # noqa: BLE001 - handed to wait(); the session plays out what it has
            self._error = exc
            self._end_at = self._written

    # -- audio callback: copies only ------------------------------------------------------------------

    def _callback(self, outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        if status.output_underflow:
            self._underflows += 1
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

    def _stream_finished(self) -> None:
        # Called by PortAudio whenever the stream stops, also when it dies on its own: never leave wait() hanging.
        if not self._stopping and not self._finished.is_set():
            self._stream_died = True
        self._finished.set()


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
    """One long-lived input stream; its callback only copies each block into a queue for the listening loop."""

    def __init__(self, sample_rate: int = 16000, block_frames: int = 1600, device: int | None = None):
        self.sample_rate = sample_rate
        self.block_frames = block_frames
        self.device = device
        self.overflows = 0
        self._blocks: "queue.Queue[np.ndarray]" = queue.Queue(maxsize=600)  # a minute of 0.1 s blocks
        self._stream: Any = None

    def _callback(self, indata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        if status and status.input_overflow:
            self.overflows += 1
        try:
            self._blocks.put_nowait(indata[:, 0].copy())
        except queue.Full:  # the recognizer has fallen a minute behind: drop rather than block the audio thread
            self.overflows += 1

    def start(self) -> "Microphone":
        sd = load_sounddevice()
        try:
            self._stream = sd.InputStream(
                samplerate=self.sample_rate, blocksize=self.block_frames, device=self.device,
                channels=1, dtype="int16", callback=self._callback,
            )
            self._stream.start()
        except sd.PortAudioError as exc:
            raise AudioDeviceError(
                f"the microphone could not be opened ({_describe_device(self.device)}: {exc}). "
                "Check that a microphone is connected and allowed, or choose one with --input-device."
            ) from exc
        return self

    def read(self, timeout: float | None = None) -> np.ndarray | None:
        """The next block of int16 samples, or None if none arrived within `timeout` seconds."""
        try:
            return self._blocks.get(timeout=timeout)
        except queue.Empty:
            return None

    def stop(self) -> None:
        if self._stream is not None:
            try:
                self._stream.stop()
                self._stream.close()
            finally:
                self._stream = None
