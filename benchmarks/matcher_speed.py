"""How long the cue matcher takes: `CueMatcher.match`, `near_cues` and `sounds_near_cues`, per text.

    python benchmarks/matcher_speed.py                                   # texts from the corpus manifest
    python benchmarks/matcher_speed.py --readings benchmarks/out/eval-pocketsphinx-tune.jsonl
                                                                         # both readings of every final there

The detector matches both readings of every final, and when neither matched it
asks for near cues, which run the matcher over each candidate (nearby.py): so
the matcher's time is paid several times per utterance. Figures are wall times
on one core, p50 and p95 over the texts, after one untimed pass (caches warm).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.library.loader import load_library  # noqa: E402
from assistant.speech.cues import CueMatcher  # noqa: E402

DEFAULT_MANIFEST = Path(__file__).resolve().parent / "corpus" / "out" / "manifest.jsonl"


def corpus_texts(manifest: Path) -> list[str]:
    if not manifest.exists():
        raise SystemExit(f"no corpus at {manifest.parent}: build it with `python benchmarks/corpus/build.py`")
    texts = []
    for line in manifest.read_text().splitlines():
        if line.strip():
            entry = json.loads(line)
            texts += [s["text"] for s in entry.get("segments", [])] or [entry["text"] or ""]
    return sorted({text for text in texts if text.strip()})


def reading_texts(path: Path) -> list[str]:
    """Both readings of every final an evaluation run recorded (first reading, second reading)."""
    texts = []
    for line in path.read_text().splitlines():
        for text, is_final, _end, check_text, *_ in json.loads(line).get("hypotheses", []):
            if is_final:
                texts += [text, check_text or ""]
    return [text for text in texts if text.strip()]


def timed(function, texts: list[str]) -> list[float]:
    walls = []
    for text in texts:
        began = time.perf_counter()
        function(text)
        walls.append(time.perf_counter() - began)
    return walls


def quantile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[round(share * (len(ordered) - 1))]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--readings", help="an evaluate.py --out file: time its recorded readings instead")
    parser.add_argument("--manifest", default=str(DEFAULT_MANIFEST), help="corpus manifest (default: %(default)s)")
    parser.add_argument("--limit", type=int, default=2000, help="at most N texts, spread evenly (default: %(default)s)")
    args = parser.parse_args(argv)

    texts = reading_texts(Path(args.readings)) if args.readings else corpus_texts(Path(args.manifest))
    if args.limit and len(texts) > args.limit:
        step = len(texts) / args.limit
        texts = [texts[int(i * step)] for i in range(args.limit)]
    matcher = CueMatcher(load_library().cue_maps)
    for text in texts[:50]:  # warm: regexes compiled, rapidfuzz loaded
        matcher.match(text)
        matcher.near_cues(text)
        matcher.sounds_near_cues(text)  # (and the pronouncing dictionary read)
    source = args.readings or args.manifest
    print(f"{len(texts)} texts from {source}\n")
    print("| call | p50 ms | p95 ms | mean ms |")
    print("|---|---|---|---|")
    calls = (("match", matcher.match), ("near_cues", matcher.near_cues), ("sounds_near_cues", matcher.sounds_near_cues))
    for name, function in calls:
        walls = timed(function, texts)
        print(f"| {name} | {quantile(walls, 0.5) * 1e3:.2f} | {quantile(walls, 0.95) * 1e3:.2f} | "
              f"{statistics.fmean(walls) * 1e3:.2f} |")


if __name__ == "__main__":
    main()
