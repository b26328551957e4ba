#!/usr/bin/env python3
"""Build the recognizer benchmark corpus (issue 4) from phrases.yaml and ordinary.txt.

    python benchmarks/corpus/build.py [--out benchmarks/corpus/out] [--quick] [--seed N] [--jobs N]

Speaks every phrasing in several synthetic voices, mixes it clean, at 20 dB and
at 10 dB SNR with noise made here, and writes 16 kHz mono 16-bit WAVs plus
manifest.jsonl. The same seed gives the same files. See README.md.
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import hashlib
import json
import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO))  # `assistant` when run from a checkout that is not installed

from levels import speech_bounds  # noqa: E402
from plan import babble_texts, plan  # noqa: E402
from render import init_worker, render  # noqa: E402
from texts import load_ordinary, load_phrases, ordinary_problems  # noqa: E402
from voices import QUICK_VOICE_NAMES, SAMPLE_RATE, VOICES, Voice, engine_versions, synthesize, unavailable_reason  # noqa: E402

logger = logging.getLogger("corpus")

DEFAULT_SEED = 4
ADDED_PHRASES_STREAM = 1  # which generator of the seed plans phrases.yaml's `added` section (plan.py)
TRIM_BEFORE_SECONDS = 0.02  # kept before the measured onset of a synthesized clip
TRIM_AFTER_SECONDS = 0.05  # kept after its measured end


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--out", type=Path, default=HERE / "out", help="output folder (its generated parts are replaced)")
    parser.add_argument("--quick", action="store_true", help="a small subset (three espeak-ng voices, mostly clean) for CI")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seed for voices, levels, gaps and noise")
    parser.add_argument("--jobs", type=int, default=2, help="parallel workers")
    parser.add_argument("--no-cache", action="store_true", help="ignore speech cached in OUT/.cache from earlier builds")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    started = time.monotonic()

    phrases, voices_per_phrase, warnings = load_phrases(HERE / "phrases.yaml", REPO / "assistant/exercises/cues.yaml")
    sentences = load_ordinary(HERE / "ordinary.txt")
    problems = ordinary_problems(sentences, phrases)
    for warning in warnings:
        logger.warning("warning: %s", warning)
    if problems:
        for problem in problems:
            logger.error("error: %s", problem)
        return 1

    voices, skipped = _usable_voices(args.quick)
    if not voices:
        logger.error("error: no voice can speak here: %s", "; ".join(skipped))
        return 1
    rng = np.random.default_rng(args.seed)
    # phrases.yaml's `added` phrasings draw from a generator of their own: adding some changes no other file.
    added_rng = np.random.default_rng([args.seed, ADDED_PHRASES_STREAM])
    items = plan(phrases, voices_per_phrase, sentences, voices, rng, args.quick, added_rng)
    babble_by_voice = babble_texts(sentences, voices, rng, args.quick)

    out = args.out.resolve()
    _clear_generated(out)
    clips = _speak_all(items, babble_by_voice, voices, out / ".cache" / "tts", args.jobs, not args.no_cache)
    babble_pool = {name: [clips[(name, text)] for text in texts] for name, texts in babble_by_voice.items()}

    logger.info("rendering %d items ...", len(items))
    rows = []
    with concurrent.futures.ProcessPoolExecutor(
        args.jobs, initializer=init_worker, initargs=(out, args.seed, babble_pool)
    ) as pool:
        tasks = [(item, [clips.get((voice, text)) for voice, text, _ in item.pieces]) for item in items]
        for item_rows in pool.map(render, tasks, chunksize=4):
            rows.extend(item_rows)
    rows.sort(key=lambda row: row["file"])
    with open(out / "manifest.jsonl", "w", encoding="utf-8") as manifest:
        for row in rows:
            manifest.write(json.dumps(row, ensure_ascii=False) + "\n")
    summary = _summary(rows, voices, skipped, args, out, time.monotonic() - started)
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    _print_report(summary, out)
    return 0


def _usable_voices(quick: bool) -> tuple[list[Voice], list[str]]:
    wanted = [voice for voice in VOICES if not quick or voice.name in QUICK_VOICE_NAMES]
    voices, skipped = [], []
    for voice in wanted:
        reason = unavailable_reason(voice)
        if reason:
            logger.warning("warning: skipping voice %s: %s", voice.name, reason)
            skipped.append(f"{voice.name} ({reason})")
        else:
            voices.append(voice)
    return voices, skipped


def _clear_generated(out: Path) -> None:
    """Remove what an earlier build made (but not the speech cache), so no stale file survives."""
    out.mkdir(parents=True, exist_ok=True)
    for name in ("items", "long", "human"):
        shutil.rmtree(out / name, ignore_errors=True)
    for name in ("manifest.jsonl", "summary.json"):
        (out / name).unlink(missing_ok=True)


def _speak_all(items, babble_texts, voices, cache: Path, jobs: int, use_cache: bool) -> dict:
    """Every (voice, text) needed, synthesized once, at 16 kHz and trimmed to the speech; cached by content."""
    wanted = collections.defaultdict(set)
    for item in items:
        for voice, text, _ in item.pieces:
            wanted[voice].add(text)
    for voice, texts in babble_texts.items():
        wanted[voice].update(texts)
    versions = engine_versions()
    clips = {}
    for voice in voices:
        texts = sorted(wanted.get(voice.name, ()))
        keys = {text: _cache_key(voice, text, versions.get(voice.engine, "")) for text in texts}
        missing = [text for text in texts if not (use_cache and (cache / f"{keys[text]}.npy").exists())]
        logger.info("speaking %d texts with %s (%d cached) ...", len(texts), voice.name, len(texts) - len(missing))
        if missing:
            with tempfile.TemporaryDirectory() as folder:
                spoken = synthesize(voice, missing, Path(folder), jobs)
            cache.mkdir(parents=True, exist_ok=True)
            for text, clip in zip(missing, spoken):
                np.save(cache / f"{keys[text]}.npy", _trim(clip, voice.name, text))
        for text in texts:
            clips[(voice.name, text)] = np.load(cache / f"{keys[text]}.npy")
    return clips


def _cache_key(voice: Voice, text: str, version: str) -> str:
    description = json.dumps([voice.engine, voice.voice, voice.words_per_minute, voice.pitch, version, SAMPLE_RATE, text])
    return hashlib.sha256(description.encode()).hexdigest()[:32]


def _trim(clip: np.ndarray, voice: str, text: str) -> np.ndarray:
    bounds = speech_bounds(clip, SAMPLE_RATE)
    if bounds is None:
        raise RuntimeError(f"{voice} produced silence for {text!r}")
    start = max(0, bounds[0] - round(TRIM_BEFORE_SECONDS * SAMPLE_RATE))
    end = min(len(clip), bounds[1] + round(TRIM_AFTER_SECONDS * SAMPLE_RATE))
    return clip[start:end].astype(np.float32)


# ---- the report ----


def _summary(rows: list[dict], voices: list[Voice], skipped: list[str], args, out: Path, seconds: float) -> dict:
    files = collections.Counter()
    minutes = collections.Counter()
    speech_minutes = collections.Counter()
    by_voice = collections.defaultdict(collections.Counter)
    noises = collections.Counter()
    for row in rows:
        condition = "clean" if row["snr_db"] is None else f"{row['snr_db']} dB"
        files[f"{row['kind']} / {condition}"] += 1
        minutes[f"{row['kind']} / {condition}"] += row["duration_s"] / 60
        if row["kind"] == "ordinary":
            group = "ordinary long files" if row["intent"] == "ordinary-long" else (
                "ordinary human recordings" if row["source"] == "pocketsphinx-testdata" else "ordinary single sentences")
            speech_minutes[f"{group} / {condition}"] += row["duration_s"] / 60
        if row["snr_db"] is None:
            for voice in row["voice"].split("+"):
                by_voice[voice][row["kind"]] += 1
        if row["noise"]:
            noises[row["noise"]] += 1
    total_bytes = sum((out / row["file"]).stat().st_size for row in rows)
    return {
        "seed": args.seed,
        "quick": args.quick,
        "build_seconds": round(seconds, 1),
        "files": len(rows),
        "hours": round(sum(row["duration_s"] for row in rows) / 3600, 2),
        "megabytes": round(total_bytes / 1e6, 1),
        "files_by_kind_and_condition": dict(sorted(files.items())),
        "minutes_by_kind_and_condition": {key: round(value, 1) for key, value in sorted(minutes.items())},
        "ordinary_minutes_by_group": {key: round(value, 1) for key, value in sorted(speech_minutes.items())},
        "clean_files_by_voice_and_kind": {voice: dict(sorted(kinds.items())) for voice, kinds in sorted(by_voice.items())},
        "noisy_files_by_noise": dict(sorted(noises.items())),
        "voices": [voice.name for voice in voices],
        "skipped_voices": skipped,
        "engines": engine_versions(),
    }


def _print_report(summary: dict, out: Path) -> None:
    print(f"corpus in {out}: {summary['files']} files, {summary['hours']} h of audio, "
          f"{summary['megabytes']} MB, built in {summary['build_seconds']} s (seed {summary['seed']})")
    print("files and minutes by kind and condition:")
    for key, count in summary["files_by_kind_and_condition"].items():
        print(f"  {key:<22} {count:5d} files  {summary['minutes_by_kind_and_condition'][key]:7.1f} min")
    print("ordinary speech by group:")
    for key, value in summary["ordinary_minutes_by_group"].items():
        print(f"  {key:<40} {value:6.1f} min")
    print("clean files by voice:")
    for voice, kinds in summary["clean_files_by_voice_and_kind"].items():
        print(f"  {voice:<24} " + ", ".join(f"{kind} {count}" for kind, count in kinds.items()))
    print("noisy files by noise: " + ", ".join(f"{noise} {count}" for noise, count in summary["noisy_files_by_noise"].items()))
    if summary["skipped_voices"]:
        print("skipped voices: " + "; ".join(summary["skipped_voices"]))


if __name__ == "__main__":
    sys.exit(main())
