"""Real playback through PulseAudio for the integration test and the playback benchmark.

Run as a script it is the player: it builds a session, plays part of it
through `OutputPlayer` and prints one JSON line of what happened. It runs in
its own process so that `PULSE_SINK` (read when the stream is opened) points
it at a test sink, and so its CPU time is its own:

    PULSE_SINK=grounding_test python tests/play_helper.py --from-sound --seconds 65

Imported, it gives the other half: a private sink, a recorder of its
monitor (`parec`, timestamped as data arrives) and the comparison of a
recording with the offline render of the same samples.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

import numpy as np

RATE = 44100  # hertz, the rate of the session, the stream and the test sink alike
EXERCISE = "resonance-5-5"
SOUND_LEVEL = 0.01  # a sample above this counts as sound (the tone peaks near 0.16)


# -- the session ------------------------------------------------------------------------------------


def build_mixer(exercise_id: str = EXERCISE, breathing_minutes: float | None = None):
    """The exercise's mixer without speech; with `breathing_minutes`, only its breathing block, looped that long."""
    from assistant.audio.timeline import TimelineSettings
    from assistant.library.loader import load_library
    from assistant.library.model import Breathe
    from assistant.session_audio import prepare

    exercise = load_library().get(exercise_id)
    if breathing_minutes is not None:
        block = exercise.breathing_blocks[0]
        cycles = math.ceil(breathing_minutes * 60 / block.cycle_seconds)
        block = dataclasses.replace(block, cycles=cycles, max_cycles=max(cycles, block.max_cycles or 0))
        exercise = dataclasses.replace(exercise, steps=(Breathe(block),))
    return prepare(exercise, None, TimelineSettings(sample_rate=RATE)).mixer


def first_sound_sample(mixer, level: float = SOUND_LEVEL) -> int:
    """The first sample of the session louder than `level` (the intro is silent without speech)."""
    step = RATE
    for start in range(0, mixer.total_samples, step):
        loud = np.flatnonzero(np.abs(mixer.render(start, step)) > level)
        if len(loud):
            return start + int(loud[0])
    raise ValueError("the session is silent")


def play(mixer, first_sample: int, frames: int, channels: int, latency: str | float | None = None,
         while_playing=None) -> dict:
    """Play [first_sample, first_sample + frames) of the session and say how it went.

    `while_playing(player)`, if given, runs on this thread instead of waiting (it must return once the
    player has finished); the dict it returns is added to the report.
    """
    from assistant.devices import OutputPlayer

    position, end = first_sample, first_sample + frames

    def pull(wanted: int) -> np.ndarray:
        nonlocal position
        count = max(0, min(wanted, end - position))
        block = mixer.render(position, count)
        position += count
        return block

    options = {} if latency is None else {"latency": latency}
    player = OutputPlayer(pull, sample_rate=RATE, channels=channels, **options)
    cpu_before = os.times()
    start_called = time.monotonic()
    extra = {}
    with player:
        started = time.monotonic()
        if while_playing is None:
            player.wait()
        else:
            extra = while_playing(player)
    wall_seconds = time.monotonic() - start_called
    cpu_after = os.times()
    cpu_seconds = (cpu_after.user - cpu_before.user) + (cpu_after.system - cpu_before.system)
    return {
        "start_called_monotonic": start_called,
        "start_returned_monotonic": started,
        "first_sample": first_sample,
        "frames": frames,
        "latency_seconds": player.latency_seconds,
        "wall_seconds": wall_seconds,
        "cpu_seconds": cpu_seconds,
        **dataclasses.asdict(player.stats),
        **extra,
    }


# -- listening beside the player (benchmarks/playback.py --listening) --------------------------------------


class LateWakeUps:
    """A thread that wakes every 5 ms, as an audio callback would, and notes how late each wake-up was."""

    def __init__(self, period_s: float = 0.005):
        self.period_s = period_s
        self.late_s: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="late-wake-ups", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        last = time.monotonic()
        while not self._stop.wait(self.period_s):
            now = time.monotonic()
            self.late_s.append(now - last - self.period_s)
            last = now

    def stop(self) -> dict:
        self._stop.set()
        self._thread.join()
        late_ms = np.array(self.late_s) * 1000
        return {"wake_ups": len(late_ms), "late_max_ms": round(float(late_ms.max()), 1),
                "late_over_100_ms": int((late_ms > 100).sum()), "late_over_200_ms": int((late_ms > 200).sum())}


def listening_beside(speech_path: str, mode: str):
    """A `while_playing` hook: 16 kHz int16 speech (a .npy) fed in 0.1 s blocks at the pace of a microphone
    to the detector `grounding listen` uses, in this process ("inline") or in its child ("process")."""
    from assistant.library.loader import load_library

    speech = np.load(speech_path)
    cue_maps = load_library().cue_maps
    fired: list = []  # (when it reached this thread, time.monotonic; the detection)

    def arrived(detections) -> None:
        now = time.monotonic()
        fired.extend((now, timed) for timed in detections)

    if mode == "process":
        from assistant.speech.detector_process import DetectorProcess

        detector = DetectorProcess("pocketsphinx", None, cue_maps, "en", on_fired=arrived)
    else:
        from assistant.speech.engines import make_detector
        from assistant.speech.models import open_recognizer_or_fall_back

        detector = make_detector(open_recognizer_or_fall_back("pocketsphinx", None, cue_maps), cue_maps)

    def hook(player) -> dict:
        block = detector.rate // 10
        probe = LateWakeUps()
        began = time.monotonic()
        fed = 0
        fed_at: list[float] = []  # when each block was handed over, time.monotonic
        while not player.wait(timeout=0) and fed + block <= len(speech):
            due = began + fed / detector.rate  # a microphone gives a block every 0.1 s, whatever we do
            if due > time.monotonic():
                time.sleep(min(0.01, due - time.monotonic()))
                continue
            fed_at.append(time.monotonic())
            arrived(detector.feed(speech[fed : fed + block]) or [])
            fed += block
        player.wait()  # should the speech run out first, the session still plays to its end
        late = probe.stop()
        if mode == "process":
            detector.caught_up(30)
            detector.close()
        return {
            "listening": mode, "speech_seconds_fed": round(fed / detector.rate, 1), "detections": len(fired), **late,
            "block_samples": block, "rate": detector.rate, "blocks_fed_at": fed_at,
            "fired": [(at, timed.time_s, timed.detection.kind, timed.detection.intent) for at, timed in fired],
        }

    return hook


def main() -> None:
    parser = argparse.ArgumentParser(description="Play part of a session through OutputPlayer; print JSON stats.")
    parser.add_argument("--exercise", default=EXERCISE)
    parser.add_argument("--breathing-minutes", type=float, help="play only the breathing block, looped this long")
    parser.add_argument("--from-sound", action="store_true", help="start at the first audible sample, not at 0")
    parser.add_argument("--seconds", type=float, help="how much to play (default: to the end)")
    parser.add_argument("--channels", type=int, default=2)
    parser.add_argument("--latency", help="stream latency: seconds, 'high' or 'low' (default: OutputPlayer's)")
    parser.add_argument("--listen-to", help="a .npy of 16 kHz int16 speech to recognise while playing")
    parser.add_argument("--listening", choices=("inline", "process"), default="process",
                        help="with --listen-to: the detector in this process, or in its child as `grounding listen` runs it")
    args = parser.parse_args()
    mixer = build_mixer(args.exercise, args.breathing_minutes)
    first = first_sound_sample(mixer) if args.from_sound else 0
    frames = mixer.total_samples - first
    if args.seconds is not None:
        frames = min(frames, round(args.seconds * RATE))
    latency = args.latency if args.latency in (None, "high", "low") else float(args.latency)
    hook = listening_beside(args.listen_to, args.listening) if args.listen_to else None
    print(json.dumps(play(mixer, first, frames, args.channels, latency, hook)), flush=True)


# -- the audio server -------------------------------------------------------------------------------


def ensure_pulseaudio() -> None:
    """Make sure a PulseAudio server answers, starting one if needed; RuntimeError says why not."""
    if _pactl_ok():
        return
    try:
        subprocess.run(
            ["pulseaudio", "--daemonize=yes", "--exit-idle-time=-1"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=20,
        )
    except FileNotFoundError as exc:
        raise RuntimeError("pulseaudio is not installed (apt-get install pulseaudio pulseaudio-utils)") from exc
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if _pactl_ok():
            return
        time.sleep(0.1)
    raise RuntimeError("PulseAudio did not start: `pulseaudio --daemonize=yes --exit-idle-time=-1` left no server")


def _pactl_ok() -> bool:
    try:
        return subprocess.run(["pactl", "info"], capture_output=True, timeout=10).returncode == 0
    except FileNotFoundError as exc:
        raise RuntimeError("pactl is missing (apt-get install pulseaudio-utils)") from exc


@contextmanager
def private_sink(name: str, channels: int = 2) -> Iterator[str]:
    """A float32 sink at RATE of our own, whose monitor returns exactly the samples played into it.

    It is a remap (filter) sink on the default sink with its output muted,
    not a new null sink: loading a null sink makes PulseAudio's
    module-always-sink unload `auto_null` and may make the new sink the
    default, so other programs' sound (and other tests on a shared server)
    would be redirected into ours. A filter sink leaves the server as it was.
    """
    master = _pactl("get-default-sink").strip()
    positions = "front-left,front-right" if channels == 2 else "mono"
    module = _pactl(
        "load-module", "module-remap-sink", f"sink_name={name}", f"master={master}",
        "format=float32le", f"rate={RATE}", f"channels={channels}",
        f"channel_map={positions}", f"master_channel_map={positions}", "remix=no",
        f"sink_properties=device.description={name}",
    ).strip()
    try:
        if _pactl("get-default-sink").strip() != master:  # never take over other programs' sound
            _pactl("set-default-sink", master)
        for sink_input in _sink_inputs_of(module):
            _pactl("set-sink-input-mute", sink_input, "1")
        yield name
    finally:
        subprocess.run(["pactl", "unload-module", module], capture_output=True)


@contextmanager
def loopback(source: str, sink: str) -> Iterator[None]:
    """PulseAudio's module-loopback from `source` into `sink`, at full volume, while inside: what a speaker
    plays, heard by a microphone beside it."""
    module = _pactl("load-module", "module-loopback", f"source={source}", f"sink={sink}", "latency_msec=60",
                    "source_dont_move=true", "sink_dont_move=true").strip()
    try:
        for sink_input in _sink_inputs_of(module):
            _pactl("set-sink-input-volume", sink_input, "0dB")
        yield
    finally:
        subprocess.run(["pactl", "unload-module", module], capture_output=True)


def _sink_inputs_of(module: str) -> list[str]:
    """The indexes of the sink inputs a loaded module owns."""
    listing = _pactl("list", "sink-inputs").split("Sink Input #")[1:]
    return [sink_input.split("\n", 1)[0].strip() for sink_input in listing if f"Owner Module: {module}\n" in sink_input]


def _pactl(*args: str) -> str:
    return subprocess.run(["pactl", *args], capture_output=True, text=True, check=True).stdout


class MonitorRecorder:
    """Records a sink's monitor with parec, noting when each chunk arrived (time.monotonic)."""

    def __init__(self, sink: str, channels: int = 2):
        self.channels = channels
        self._process = subprocess.Popen(
            ["parec", "-d", f"{sink}.monitor", "--format=float32le", f"--rate={RATE}",
             f"--channels={channels}", "--raw", "--latency-msec=20"],
            stdout=subprocess.PIPE,
        )
        self._chunks: list[tuple[float, bytes]] = []
        self._bytes = 0
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        fd = self._process.stdout.fileno()
        while True:
            data = os.read(fd, 1 << 16)
            if not data:
                return
            self._chunks.append((time.monotonic(), data))
            self._bytes += len(data)

    def wait_until_flowing(self, seconds: float = 0.3, timeout: float = 15.0) -> None:
        """Wait until data really arrives: a new null sink's monitor starts delivering only after ~2 s."""
        deadline = time.monotonic() + timeout
        while self._bytes < seconds * RATE * 4 * self.channels:
            if time.monotonic() > deadline or self._process.poll() is not None:
                raise RuntimeError(f"parec delivered no audio from the monitor within {timeout} s")
            time.sleep(0.02)

    def stop(self, after_seconds: float = 0.5) -> np.ndarray:
        """Record `after_seconds` more (whatever was just played is still on its way), then stop; (frames, channels)."""
        wanted = self._bytes + after_seconds * RATE * 4 * self.channels
        deadline = time.monotonic() + after_seconds + 5
        while self._bytes < wanted and time.monotonic() < deadline and self._process.poll() is None:
            time.sleep(0.02)
        self._process.terminate()
        self._process.wait(timeout=10)
        self._reader.join(timeout=10)
        data = b"".join(chunk for _, chunk in self._chunks)
        usable = len(data) // (4 * self.channels) * (4 * self.channels)
        return np.frombuffer(data[:usable], dtype=np.float32).reshape(-1, self.channels)

    def arrival_of_frame(self, frame: int) -> float:
        """When the chunk holding this frame of the recording arrived from parec."""
        frame_bytes, seen = 4 * self.channels, 0
        for arrived, chunk in self._chunks:
            seen += len(chunk)
            if seen > frame * frame_bytes:
                return arrived
        raise IndexError(f"frame {frame} was never recorded")


class StallWatch:
    """Another process that sleeps 2 ms at a time and notes each time it woke more than 30 ms late.

    When the whole machine stalls (a busy CI host, a paused virtual machine), every process waits,
    this one too; a gap in a recording that comes with such a stall is the machine's, not the player's.
    Its times are time.monotonic(), the same clock (CLOCK_MONOTONIC) in every process.
    """

    SCRIPT = (
        "import time\n"
        "last = time.monotonic()\n"
        "while True:\n"
        "    time.sleep(0.002)\n"
        "    now = time.monotonic()\n"
        "    if now - last > 0.032:\n"
        "        print(f'{now:.4f} {now - last - 0.002:.4f}', flush=True)\n"
        "    last = now\n"
    )

    def __init__(self) -> None:
        self.stalls: list[tuple[float, float]] = []  # (when it woke, how late in seconds)
        self._process = subprocess.Popen([sys.executable, "-c", self.SCRIPT], stdout=subprocess.PIPE, text=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self._process.stdout:
            woke, late = line.split()
            self.stalls.append((float(woke), float(late)))

    def stop(self) -> list[tuple[float, float]]:
        self._process.kill()
        self._process.wait(timeout=10)
        self._reader.join(timeout=10)
        return self.stalls

    def near(self, first: float, last: float, margin_s: float = 0.5) -> list[tuple[float, float]]:
        """The stalls between `first` and `last` (time.monotonic), with a margin either side."""
        return [(woke, late) for woke, late in self.stalls if first - margin_s <= woke <= last + margin_s]


def assert_spoiled_by_a_stall(
    recorder: MonitorRecorder, watch: StallWatch, result: "Comparison", context: object
) -> None:
    """A recording that does not equal its render may be played once more only if the whole machine stalled
    beside every place its lag changed: a gap with no stall beside it is the player's, and fails now."""
    last_frame = recorder._bytes // (4 * recorder.channels) - 1
    for seconds, _ in result.lag_changes:
        frames = (result.lag + round((seconds - 1) * RATE), result.lag + round((seconds + 2) * RATE))
        began, ended = (recorder.arrival_of_frame(min(max(0, frame), last_frame)) for frame in frames)
        assert watch.near(began, ended), (
            f"the recording's lag changed at {seconds:.0f} s with no stall of the machine beside it: {result}; "
            f"stalls seen: {watch.stalls}; {context}"
        )
    assert watch.stalls, f"spoiled with no stall of the machine: {result}; {context}"
    print(f"the machine stalled while playing ({watch.stalls}): {result}; {context}; playing it again")


# -- the comparison ---------------------------------------------------------------------------------


@dataclass
class Comparison:
    """A recording against the render it should equal, window by window."""

    lag: int  # recording index of the render's first sample
    windows: int  # one-second windows compared
    loud_windows: int  # of which had sound, so a lag could be measured in them
    drift_samples: int  # largest distance of a window's own best lag from `lag`
    first_lag: int  # the best lag of the first loud whole window ...
    last_lag: int  # ... and of the last: the drift from start to end is their difference
    min_correlation: float  # over loud windows
    max_rms_error: float
    max_abs_error: float
    silent_before: float  # peak of the recording before the render's first sample
    matching_windows: int  # windows within one 16-bit step of the render at `lag`
    lag_changes: list  # (seconds into the render, new lag) wherever a window's best lag differs from the last


def find_lag(recording: np.ndarray, reference: np.ndarray, window: int = RATE) -> int:
    """Where the reference starts in the recording: normalised cross-correlation of its first loud window."""
    loud = next(
        start for start in range(0, len(reference) - window + 1, window)
        if np.sqrt(np.mean(reference[start : start + window].astype(np.float64) ** 2)) > 1e-3
    )
    probe = reference[loud : loud + window].astype(np.float64)
    size = 1 << math.ceil(math.log2(len(recording) + window))
    correlation = np.fft.irfft(np.fft.rfft(recording, size) * np.conj(np.fft.rfft(probe, size)), size)
    # Normalised by the recording's energy under the probe: otherwise a louder later passage
    # can out-correlate the quieter passage that really matches.
    energy = np.concatenate(([0.0], np.cumsum(recording.astype(np.float64) ** 2)))
    under = np.zeros(size)
    under[: len(recording) - window + 1] = energy[window:] - energy[: len(recording) - window + 1]
    correlation = correlation / np.sqrt(np.maximum(under, 1e-12))
    # Only lags that put the whole reference inside the recording: the breath tone repeats every
    # cycle, so a later cycle correlates as well as the right one.
    latest = len(recording) - len(reference)
    if latest < 0:
        raise AssertionError(f"the recording ({len(recording)} frames) is shorter than the render ({len(reference)})")
    return int(np.argmax(correlation[loud : loud + latest + 1]))


def best_local_lag(recording: np.ndarray, reference_window: np.ndarray, expected: int, search: int) -> int:
    """The offset in [-search, search] from `expected` where the window matches best (least squared error)."""
    width = len(reference_window)
    lo = expected - search
    segment = recording[lo : lo + width + 2 * search].astype(np.float64)
    ref = reference_window.astype(np.float64)
    size = 1 << math.ceil(math.log2(len(segment) + width))
    cross = np.fft.irfft(np.fft.rfft(segment, size) * np.conj(np.fft.rfft(ref, size)), size)[: 2 * search + 1]
    energy = np.concatenate(([0.0], np.cumsum(segment**2)))
    windowed_energy = energy[width : width + 2 * search + 1] - energy[: 2 * search + 1]
    error = windowed_energy - 2 * cross + np.sum(ref**2)
    return int(np.argmin(error)) - search


def compare(recording: np.ndarray, reference: np.ndarray, window: int = RATE, search: int = 2000) -> Comparison:
    """Check every one-second window of the reference against the recording at one constant lag."""
    recording = np.asarray(recording, dtype=np.float32)
    lag = find_lag(recording, reference, window)
    if lag < search or lag + len(reference) + search > len(recording):
        raise AssertionError(
            f"the recording ({len(recording)} frames) does not hold the whole render ({len(reference)} frames) "
            f"with margin: it starts at {lag}"
        )
    windows = loud = drift = matching = 0
    local_lags: list[int] = []
    changes: list[tuple[float, int]] = []
    min_corr, max_rms, max_abs = 1.0, 0.0, 0.0
    for start in range(0, len(reference), window):
        ref = reference[start : start + window].astype(np.float64)
        rec = recording[lag + start : lag + start + len(ref)].astype(np.float64)
        diff = rec - ref
        max_rms = max(max_rms, float(np.sqrt(np.mean(diff**2))))
        max_abs = max(max_abs, float(np.max(np.abs(diff))))
        matching += bool(np.max(np.abs(diff)) <= 1 / 32768)
        windows += 1
        if np.sqrt(np.mean(ref**2)) > 1e-3:
            loud += 1
            min_corr = min(min_corr, float(np.corrcoef(ref, rec)[0, 1]))
            if len(ref) == window:
                local_lags.append(lag + best_local_lag(recording, reference[start : start + window], lag + start, search))
                if local_lags[-1] != (local_lags[-2] if len(local_lags) > 1 else lag):
                    changes.append((start / RATE, local_lags[-1]))
                drift = max(drift, abs(local_lags[-1] - lag))
    return Comparison(
        lag=lag, windows=windows, loud_windows=loud, drift_samples=drift,
        first_lag=local_lags[0] if local_lags else lag, last_lag=local_lags[-1] if local_lags else lag,
        min_correlation=min_corr, max_rms_error=max_rms, max_abs_error=max_abs,
        silent_before=float(np.max(np.abs(recording[:lag]))) if lag else 0.0,
        matching_windows=matching, lag_changes=changes,
    )


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    main()
