"""Live playback under load: underflows, drift and the player's CPU use over a long session.

    python benchmarks/playback.py [--minutes 10] [--busy 1] [--latency SECONDS|high]

Plays a breathing session (the breathing block of resonance-5-5, looped to
--minutes, no speech) through OutputPlayer into a private PulseAudio sink
while other processes (--busy, default one) keep cores busy. The sink's monitor is
recorded and compared with the offline render of the same samples, window by
window, exactly as tests/test_playback_pulse.py does (the player, the sink,
the recorder and the comparison are the ones in tests/play_helper.py).
Reports device underflows and ring shortfalls, the lag of the recording at the
start and at the end (their difference is the drift), the largest error, and
the player process's CPU time as a share of one core.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.play_helper import RATE, MonitorRecorder, build_mixer, compare, ensure_pulseaudio, private_sink  # noqa: E402

HELPER = ROOT / "tests" / "play_helper.py"


def cpu_seconds_of(pid: int) -> float:
    """User plus system CPU time of a running process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the session played")
    parser.add_argument("--latency", help="stream latency: seconds, 'high' or 'low' (default: OutputPlayer's)")
    parser.add_argument("--busy", type=int, default=1, help="processes spinning on the CPU while playing (0: none)")
    args = parser.parse_args()
    if args.minutes <= 0:
        parser.error("--minutes must be positive")
    try:
        ensure_pulseaudio()
    except RuntimeError as exc:
        parser.error(str(exc))

    sink_name = f"grounding_bench_{os.getpid()}"
    if args.busy < 0:
        parser.error("--busy must be 0 or more")
    load = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.busy)]
    load_began = time.monotonic()
    try:
        with private_sink(sink_name, channels=2):
            recorder = MonitorRecorder(sink_name, channels=2)
            try:
                recorder.wait_until_flowing()
                player = subprocess.run(
                    [sys.executable, str(HELPER), "--breathing-minutes", str(args.minutes),
                     "--seconds", str(args.minutes * 60)] + (["--latency", args.latency] if args.latency else []),
                    env={**os.environ, "PULSE_SINK": sink_name}, capture_output=True, text=True,
                )
            finally:
                recording = recorder.stop()
        load_cpu = sum(cpu_seconds_of(p.pid) for p in load) / (time.monotonic() - load_began)
    finally:
        for process in load:
            process.kill()
            process.wait()
    if player.returncode != 0:
        sys.exit(f"the player failed:\n{player.stderr}")
    report = json.loads(player.stdout.strip().splitlines()[-1])

    mixer = build_mixer(breathing_minutes=args.minutes)
    reference = mixer.render(report["first_sample"], report["frames"])
    result = compare(recording[:, 0], reference)

    audio_seconds = report["frames"] / RATE
    rows = [
        ("session played", f"{audio_seconds / 60:.1f} min ({report['frames']} frames at {RATE} Hz)"),
        ("other load", f"{len(load)} busy processes ({100 * load_cpu:.0f}% of a core in all)" if load else "none"),
        ("device underflows", str(report["underflows"])),
        ("ring shortfalls", str(report["ring_shortfalls"])),
        ("frames played / asked", f"{report['frames_played']} / {report['frames']}"),
        ("lag at start", f"{result.first_lag} samples"),
        ("lag at end", f"{result.last_lag} samples"),
        ("drift start -> end", f"{result.last_lag - result.first_lag} samples "
                               f"({1000 * (result.last_lag - result.first_lag) / RATE:.2f} ms)"),
        ("largest lag deviation", f"{result.drift_samples} samples over {result.loud_windows} one-second windows"),
        ("lag changes", ", ".join(f"{lag - result.lag:+d} at {seconds:.0f} s" for seconds, lag in result.lag_changes) or "none"),
        ("windows equal to render", f"{result.matching_windows} / {result.windows} (within one 16-bit step, at the start lag)"),
        ("lowest correlation", f"{result.min_correlation:.6f} (at the start lag)"),
        ("largest sample error", f"{result.max_abs_error:.2e} (rms {result.max_rms_error:.2e})"),
        ("stream latency", f"{1000 * report['latency_seconds']:.1f} ms"),
        ("player CPU", f"{100 * report['cpu_seconds'] / report['wall_seconds']:.1f}% of one core "
                       f"({report['cpu_seconds']:.1f} s in {report['wall_seconds']:.1f} s)"),
    ]
    width = max(len(name) for name, _ in rows)
    print(f"live playback through OutputPlayer, recorded from the sink's monitor ({os.cpu_count()} cores)")
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main()
