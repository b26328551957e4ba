"""Render speed and peak memory of a 5-minute session, with and without speech.

    python benchmarks/render_speed.py [--runs 5] [--exercise resonance-5-5]

Each measurement runs in a fresh child process (so peak RSS is that render's
own and the speech cache starts cold) and renders the whole session to a WAV
file in a temporary folder, exactly as `grounding render` does. Prints the
median over the runs of: seconds of audio per second of wall time (x real
time), wall time, and peak resident memory.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def child(exercise_id: str, with_speech: bool) -> None:
    """One render, timed from the start of speech synthesis to the closed WAV file."""
    from assistant.audio.timeline import TimelineSettings
    from assistant.audio.wavio import write_wav_blocks
    from assistant.library.loader import load_library
    from assistant.session_audio import prepare, render_all

    exercise = load_library().get(exercise_id)
    voice = None
    if with_speech:
        from assistant.speech.voice import CachedVoice, Pyttsx3Voice

        voice = CachedVoice(Pyttsx3Voice())
    with tempfile.TemporaryDirectory() as folder:
        began = time.perf_counter()
        session = prepare(exercise, voice, TimelineSettings(sample_rate=44100))
        write_wav_blocks(Path(folder) / "out.wav", render_all(session.mixer), 44100)
        wall = time.perf_counter() - began
    if with_speech and not session.clips:
        raise SystemExit(f"speech was not rendered: {session.speech_problem}")
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"audio_seconds": session.timeline.seconds, "wall_seconds": wall, "peak_mib": peak_kib / 1024}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--exercise", default="resonance-5-5")
    parser.add_argument("--child", choices=["speech", "no-speech"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.exercise, args.child == "speech")
        return
    print(f"render of '{args.exercise}' at 44100 Hz, median of {args.runs} runs, each in a fresh process")
    print(f"{'mode':<10} {'audio s':>8} {'wall s':>8} {'x real time':>12} {'peak MiB':>9}")
    for mode in ("no-speech", "speech"):
        results = []
        for _ in range(args.runs):
            out = subprocess.run(
                [sys.executable, __file__, "--child", mode, "--exercise", args.exercise],
                capture_output=True, text=True, check=True,
            )
            results.append(json.loads(out.stdout.strip().splitlines()[-1]))
        audio = results[0]["audio_seconds"]
        wall = statistics.median(r["wall_seconds"] for r in results)
        peak = statistics.median(r["peak_mib"] for r in results)
        print(f"{mode:<10} {audio:>8.1f} {wall:>8.3f} {audio / wall:>12.0f} {peak:>9.1f}")


if __name__ == "__main__":
    main()
