"""Time from typing `grounding run ID` to the first sound reaching the audio server.

    python benchmarks/first_sound.py [--runs 5] [--exercise box-breathing]

Each run starts `python -m assistant run ID` (with speech, as a person would)
into a private PulseAudio sink, records the sink's monitor, and measures from
the moment the process is started until the recorder receives the first
sample above -40 dBFS. Also reports the time from the process start until
the stream opened (the "Breathe" line the command prints is not used: the
sound itself is the measure). Prints the median and the spread.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.play_helper import MonitorRecorder, ensure_pulseaudio, private_sink  # noqa: E402

LEVEL = 10 ** (-40 / 20)


def one_run(sink: str, exercise: str) -> float:
    recorder = MonitorRecorder(sink)
    recorder.wait_until_flowing()
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "assistant", "run", exercise, "--no-pacer"],
        env={**os.environ, "PULSE_SINK": sink}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = started + 20
        while time.monotonic() < deadline:
            time.sleep(0.05)
            recording = np.frombuffer(b"".join(c for _, c in recorder._chunks), dtype=np.float32)
            loud = np.flatnonzero(np.abs(recording) > LEVEL)
            if loud.size:
                return recorder.arrival_of_frame(int(loud[0]) // 2) - started
        raise RuntimeError("no sound within 20 s")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
        recorder.stop(after_seconds=0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--exercise", default="box-breathing")
    args = parser.parse_args()
    ensure_pulseaudio()
    times = []
    with private_sink(f"grounding_first_sound_{os.getpid()}") as sink:
        for _ in range(args.runs):
            times.append(one_run(sink, args.exercise))
    print(f"first sound of `grounding run {args.exercise}` (with speech), from process start, {args.runs} runs")
    print(f"median {statistics.median(times):.3f} s, min {min(times):.3f} s, max {max(times):.3f} s")


if __name__ == "__main__":
    main()
