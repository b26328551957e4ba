"""Idle `grounding listen`, whole: CPU of its process tree while nobody talks.

    python benchmarks/listen_idle.py [--seconds 60] [--room-dbfs -50]

Starts the real `grounding listen --engine pocketsphinx --no-speech` on the
PulseAudio server, with a private sink's monitor as its microphone and another
private sink as its speaker (tests/play_helper.py). Once it says it is
listening and has settled for 5 s, the microphone sink is fed silence, or
pink noise at --room-dbfs (a quiet room), for --seconds, and the CPU time of
every process in the tree (the listening loop and its player, the detector's
child, Moonshine's reader) is read from /proc before and after.

evaluate.py's idle figure is the recognizer alone; this one is everything
`listen` runs, the output stream (silence while idle) and the pipe to the
detector's child included.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks" / "corpus"))

from noise import make_noise  # noqa: E402  (benchmarks/corpus/noise.py)
from tests.conftest import pulse_server_env  # noqa: E402
from tests.play_helper import ensure_pulseaudio, private_sink  # noqa: E402

RATE = 16000


def tree_of(pid: int) -> list[int]:
    """The process and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo += children.get(current, [])
    return found


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    ticks = os.sysconf("SC_CLK_TCK")
    result = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        result[pid] = (int(fields[11]) + int(fields[12])) / ticks
    return result


def name_of(pid: int) -> str:
    try:
        arguments = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    text = " ".join(part.decode(errors="replace") for part in arguments if part)
    for short in ("detector_process", "moonshine", "assistant listen"):
        if short in text:
            return short
    return text[:40]


def room_audio(seconds: float, dbfs: float | None) -> np.ndarray:
    """Silence, or the corpus's pink noise (RMS 1) at `dbfs`, as 16 kHz int16."""
    if dbfs is None:
        return np.zeros(round(seconds * RATE), dtype=np.int16)
    pink = make_noise("pink", round(seconds * RATE), RATE, np.random.default_rng(0))
    return (pink * 32768 * 10 ** (dbfs / 20)).astype(np.int16)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--room-dbfs", type=float, help="pink noise at this level instead of silence")
    args = parser.parse_args()
    ensure_pulseaudio()
    pid = os.getpid()
    with tempfile.TemporaryDirectory() as folder, private_sink(f"idle_mic_{pid}") as mic, private_sink(f"idle_speaker_{pid}") as speaker:
        audio = Path(folder) / "room.raw"
        audio.write_bytes(room_audio(args.seconds + 10, args.room_dbfs).tobytes())
        # A fresh config folder: no settings of ours, no disclaimer marker; the server named outright.
        env = {**os.environ, **pulse_server_env(), "PULSE_SINK": speaker, "PULSE_SOURCE": f"{mic}.monitor", "XDG_CONFIG_HOME": folder}
        listen = subprocess.Popen(
            [sys.executable, "-m", "assistant", "listen", "--engine", "pocketsphinx", "--no-speech"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        feeder = None
        try:
            for line in listen.stdout:
                if line.startswith("Listening with"):
                    break
            else:
                sys.exit("`grounding listen` ended before it listened")
            feeder = subprocess.Popen(
                ["pacat", "--playback", f"--device={mic}", "--format=s16le", f"--rate={RATE}", "--channels=1", "--raw", str(audio)],
            )
            time.sleep(5)  # start-up work (Moonshine's first reading of nothing, the gate learning the room) is not idle
            pids = tree_of(listen.pid)
            names = {process: name_of(process) for process in pids}
            before, began = cpu_seconds(pids), time.monotonic()
            time.sleep(args.seconds)
            after, wall = cpu_seconds(pids), time.monotonic() - began
        finally:
            if feeder is not None:
                feeder.kill()
            listen.send_signal(signal.SIGTERM)
            listen.wait(timeout=20)
    what = "silence" if args.room_dbfs is None else f"pink noise at {args.room_dbfs:g} dBFS"
    print(f"`grounding listen` idle for {wall:.0f} s ({what} into its microphone), CPU as a share of one core:")
    total = 0.0
    for process in pids:
        if process in before and process in after:
            share = (after[process] - before[process]) / wall
            total += share
            print(f"  {names[process]:<20} {100 * share:5.1f} %")
    print(f"  {'all':<20} {100 * total:5.1f} %")


if __name__ == "__main__":
    main()
