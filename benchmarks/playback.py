"""Live playback under load: underflows, drift and the player's CPU use over a long session.

    python benchmarks/playback.py [--minutes 10] [--busy 1] [--latency SECONDS|high]
    python benchmarks/playback.py --minutes 5 --busy 0 --latency 0.2 --listening inline|process
    python benchmarks/playback.py --minutes 10 --listening process --after-remark 0.4

Plays a breathing session (the breathing block of resonance-5-5, looped to
--minutes, no speech) through OutputPlayer into a private PulseAudio sink
while other processes (--busy, default one) keep cores busy. The sink's monitor is
recorded and compared with the offline render of the same samples, window by
window, exactly as tests/test_playback_pulse.py does (the player, the sink,
the recorder and the comparison are the ones in tests/play_helper.py).
Reports device underflows and ring shortfalls, the lag of the recording at the
start and at the end (their difference is the drift), the largest error, and
the player process's CPU time as a share of one core.

With --listening, the player's process also listens, as `grounding listen`
does: corpus speech (clean and 10 dB, every kind, seeded order) is fed at a
microphone's pace in 0.1 s blocks to pocketsphinx's detector, either in the
player's own process (inline, as before session 13) or in its child process
(as `grounding listen` now runs it). A thread in the player's process that
wakes every 5 ms notes how late it woke: the wait an audio callback would have.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.play_helper import RATE, MonitorRecorder, build_mixer, compare, ensure_pulseaudio, private_sink  # noqa: E402

HELPER = ROOT / "tests" / "play_helper.py"
CORPUS = ROOT / "benchmarks" / "corpus" / "out"
OUT = ROOT / "benchmarks" / "out"
SPEECH_RATE = 16000
REMARK_MOST_SECONDS = 2.5  # --after-remark: "a short remark" (the corpus's ordinary items: 0.8 to 6.4 s, median 2.9)


def speech_to_listen_to(minutes: float, seed: int = 13, after_remark_s: float | None = None) -> Path:
    """Corpus files (clean and 10 dB, every kind) in a seeded order, 0.7 s apart, at 16 kHz: a .npy.

    With `after_remark_s`, every cue instead comes that many seconds after the end of a short remark of
    ordinary talk (at most REMARK_MOST_SECONDS of speech, in the same noise), as in "Okay. I'm spiraling":
    the remark's file is cut half the gap after its speech ends and the cue's file half the gap before its
    speech begins. The remark's final is read (and searched, and read again at other paces, since it
    holds no cue) while the cue is being said, so this is where the cue can wait for the reader."""
    import numpy as np

    from assistant.audio.resample import resample
    from assistant.audio.wavio import read_wav

    manifest = CORPUS / "manifest.jsonl"
    if not manifest.is_file():
        sys.exit(f"no corpus at {CORPUS}: build it with `python benchmarks/corpus/build.py`")
    rows = [json.loads(line) for line in manifest.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = [row for row in rows if row["snr_db"] in (None, 10)]
    rng = random.Random(seed)
    rng.shuffle(rows)
    remarks: dict[tuple, list[dict]] = {}
    if after_remark_s is not None:
        for row in rows:
            if row["kind"] == "ordinary" and row["speech_end_s"] - row["speech_start_s"] <= REMARK_MOST_SECONDS:
                remarks.setdefault((row["snr_db"], row["noise"]), []).append(row)
        rows = [row for row in rows if row["kind"] != "ordinary" and (row["snr_db"], row["noise"]) in remarks]

    def pcm_of(row: dict) -> np.ndarray:
        samples, rate = read_wav(CORPUS / row["file"])
        return np.clip(np.round(resample(samples, rate, SPEECH_RATE) * 32767), -32768, 32767).astype(np.int16)

    gap = np.zeros(round(0.7 * SPEECH_RATE), dtype=np.int16)
    pieces, total, items = [], 0, []

    def add(row: dict, pcm: np.ndarray, offset_s: float = 0.0) -> None:
        nonlocal total
        items.append({"kind": row["kind"], "intent": row["intent"],
                      "start_s": total / SPEECH_RATE + row["speech_start_s"] - offset_s,
                      "end_s": total / SPEECH_RATE + row["speech_end_s"] - offset_s})
        pieces.append(pcm)
        total += len(pcm)

    for row in rows:
        if after_remark_s is None:
            add(row, pcm_of(row))
        else:
            remark = rng.choice(remarks[(row["snr_db"], row["noise"])])
            add(remark, pcm_of(remark)[: round((remark["speech_end_s"] + after_remark_s / 2) * SPEECH_RATE)])
            cut_s = max(0.0, row["speech_start_s"] - after_remark_s / 2)
            add(row, pcm_of(row)[round(cut_s * SPEECH_RATE):], offset_s=cut_s)
        pieces.append(gap)
        total += len(gap)
        if total >= (minutes * 60 + 5) * SPEECH_RATE:  # a little more than is played: it never runs out
            break
    OUT.mkdir(parents=True, exist_ok=True)
    remark_part = "" if after_remark_s is None else f"-after-remark{after_remark_s:g}s"
    path = OUT / f"playback-speech-{minutes:g}min-seed{seed}{remark_part}.npy"
    np.save(path, np.concatenate(pieces))
    path.with_suffix(".json").write_text(json.dumps(items), encoding="utf-8")
    return path


def wall_latencies(report: dict, items: list[dict]) -> dict[str, list[float]]:
    """Per kind, seconds of wall time from the end of a cue's speech to its detection reaching the listening
    loop (the first of its kind, and intent for controls, within 4 s after the speech and before the next
    item's speech begins, so a miss is not credited with its neighbour's detection). A block is handed
    over as a microphone would, once all of it has been heard, so the speech ended (block end - last
    speech sample) / rate before its block was fed."""
    fed_at, block, rate = report["blocks_fed_at"], report["block_samples"], report["rate"]
    latencies: dict[str, list[float]] = {}
    for index, item in enumerate(items):
        if item["kind"] == "ordinary":
            continue
        window_end = min(item["end_s"] + 4.0, items[index + 1]["start_s"] if index + 1 < len(items) else math.inf)
        end_sample = int(item["end_s"] * rate)
        end_block = end_sample // block
        if end_block >= len(fed_at):
            continue
        speech_ended = fed_at[end_block] - ((end_block + 1) * block - end_sample) / rate
        for arrived, time_s, kind, intent in report["fired"]:
            same = kind == item["kind"] and (kind != "control" or intent == item["intent"])
            if same and item["start_s"] <= time_s <= window_end:
                latencies.setdefault(kind, []).append(arrived - speech_ended)
                break
    return latencies


def cpu_seconds_of(pid: int) -> float:
    """User plus system CPU time of a running process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the session played")
    parser.add_argument("--latency", help="stream latency: seconds, 'high' or 'low' (default: OutputPlayer's)")
    parser.add_argument("--busy", type=int, default=1, help="processes spinning on the CPU while playing (0: none)")
    parser.add_argument("--listening", choices=("inline", "process"),
                        help="also recognise corpus speech while playing: in the player's process, or in its child")
    parser.add_argument("--after-remark", type=float, metavar="SECONDS",
                        help="with --listening: every cue comes this long after a short ordinary remark")
    args = parser.parse_args()
    if args.minutes <= 0:
        parser.error("--minutes must be positive")
    try:
        ensure_pulseaudio()
    except RuntimeError as exc:
        parser.error(str(exc))

    listening = []
    if args.listening:
        speech = speech_to_listen_to(args.minutes, after_remark_s=args.after_remark)
        listening = ["--listen-to", str(speech), "--listening", args.listening]
    elif args.after_remark is not None:
        parser.error("--after-remark needs --listening")
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
                     "--seconds", str(args.minutes * 60)] + (["--latency", args.latency] if args.latency else []) + listening,
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
        ("lag changes", (f"{len(result.lag_changes)}: " if len(result.lag_changes) > 8 else "")
                        + (", ".join(f"{lag - result.lag:+d} at {seconds:.0f} s" for seconds, lag in result.lag_changes[:8])
                           + (", …" if len(result.lag_changes) > 8 else "") or "none")),
        ("windows equal to render", f"{result.matching_windows} / {result.windows} (within one 16-bit step, at the start lag)"),
        ("lowest correlation", f"{result.min_correlation:.6f} (at the start lag)"),
        ("largest sample error", f"{result.max_abs_error:.2e} (rms {result.max_rms_error:.2e})"),
        ("stream latency", f"{1000 * report['latency_seconds']:.1f} ms"),
        ("player CPU", f"{100 * report['cpu_seconds'] / report['wall_seconds']:.1f}% of one core "
                       f"({report['cpu_seconds']:.1f} s in {report['wall_seconds']:.1f} s)"),
    ]
    if args.listening:
        where_listening = {"inline": "in the player's process", "process": "in a child process"}
        items = json.loads(Path(listening[1]).with_suffix(".json").read_text(encoding="utf-8"))
        latencies = wall_latencies(report, items)
        rows += [
            (f"{kind} heard, wall latency", f"p50 {statistics.median(values):.2f} s, p95 {sorted(values)[int(0.95 * (len(values) - 1))]:.2f} s "
                                            f"after the speech ended (n={len(values)})")
            for kind, values in sorted(latencies.items())
        ]
        played_s = report["speech_seconds_fed"]
        said = [item for item in items if item["kind"] != "ordinary" and item["end_s"] + 4.0 <= played_s]
        rows += [(f"{kind} cues heard", f"{len(latencies.get(kind, []))} of {sum(item['kind'] == kind for item in said)}"
                  + (f", each {args.after_remark:g} s after a remark" if args.after_remark is not None else ""))
                 for kind in sorted({item["kind"] for item in said})]
        rows += [
            ("listening", f"pocketsphinx + Moonshine, {where_listening[args.listening]}; "
                          f"{report['speech_seconds_fed']} s of speech fed, {report['detections']} detections"),
            ("5 ms thread woken late", f"max {report['late_max_ms']} ms; {report['late_over_100_ms']} times > 100 ms, "
                                       f"{report['late_over_200_ms']} times > 200 ms (of {report['wake_ups']} wake-ups)"),
        ]
    width = max(len(name) for name, _ in rows)
    print(f"live playback through OutputPlayer, recorded from the sink's monitor ({os.cpu_count()} cores)")
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main()
