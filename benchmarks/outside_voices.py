"""Cue phrasings in espeak-ng voices that are in neither split of the corpus: a diagnosis, not a figure to tune on.

    python benchmarks/outside_voices.py              # en+f5 and en-us+f1, every third phrasing, clean; ~3 min
    python benchmarks/outside_voices.py --every 1 --voice en+f1:150:58
    python benchmarks/outside_voices.py --every 1 --fresh --voice en-us:175:50   # a corpus voice, faster; ~3 min

A voice of the corpus is outside it at another speed: the corpus's espeak-ng voices
speak at 130 to 165 words a minute, slower than espeak-ng's own 175 (session 35).

Each phrasing of benchmarks/corpus/phrases.yaml (start, control, crisis) is spoken,
padded with a second of silence either side at -18 dBFS, and fed through the
same live path as benchmarks/evaluate.py (StreamDetector over the recognizer
`grounding listen` uses, 0.1 s blocks, one warm-up state restored before each
item, or with --fresh a recognizer just opened). It prints recall per voice and
kind, then every miss and every wrong detection with what both readings heard.
Nothing is written to disk but temporary WAV files, removed at the end.
"""

from __future__ import annotations

import argparse
import collections
import sys
import tempfile
from pathlib import Path

import numpy as np
import yaml

from assistant.audio.wavio import write_wav

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE / "corpus"))

import evaluate  # noqa: E402
from levels import rms  # noqa: E402
from voices import SAMPLE_RATE, VOICES, Voice, synthesize  # noqa: E402

LEVEL_DBFS = -18.0
PAD_SECONDS = 1.0
DEFAULT_VOICES = ("en+f5:140:60", "en-us+f1:145:62")  # espeak-ng voice+variant:words per minute:pitch


def parse_voice(spec: str) -> Voice:
    voice, speed, pitch = spec.split(":")
    name = "espeak-" + voice.replace("+", "-")
    known = next((known for known in VOICES if known.voice == voice), None)
    if known is not None:
        if known.words_per_minute == int(speed):
            raise SystemExit(f"{voice} at {speed} words a minute is a corpus voice: this script is for others")
        name += f"-{speed}wpm"
    return Voice(name, "espeak-ng", voice, int(speed), int(pitch))


def phrasings(every: int) -> list[tuple[str, str, str]]:
    """(kind, intent, text): every `every`-th phrasing of each intent."""
    table = yaml.safe_load((HERE / "corpus" / "phrases.yaml").read_text(encoding="utf-8"))
    items = []
    for kind in ("start", "control", "crisis"):
        for intent, texts in table[kind].items():
            items += [(kind, "crisis" if kind == "crisis" else intent, text) for text in texts[::every]]
    return items


def write_item(path: Path, clip: np.ndarray, rate: int) -> None:
    pad = np.zeros(round(PAD_SECONDS * rate))
    write_wav(path, np.concatenate([pad, clip * (10 ** (LEVEL_DBFS / 20) / (rms(clip) or 1.0)), pad]), rate)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--voice", action="append", help="espeak-ng VOICE:WPM:PITCH (default: %s)" % ", ".join(DEFAULT_VOICES))
    parser.add_argument("--every", type=int, default=3, help="every Nth phrasing of each intent (default: %(default)s)")
    parser.add_argument("--fresh", action="store_true",
                        help="each item from a recognizer just opened, as `grounding detect` hears it")
    args = parser.parse_args(argv)
    voices = [parse_voice(spec) for spec in args.voice or DEFAULT_VOICES]
    items = phrasings(args.every)

    evaluate._init_worker("pocketsphinx", argparse.Namespace(
        set=None, corpus=str(evaluate.DEFAULT_CORPUS), model=None, room_seconds=0.0, fresh=args.fresh, all_paces=False))
    tally: dict[tuple[str, str], list[int]] = collections.defaultdict(lambda: [0, 0])
    wrong = []
    with tempfile.TemporaryDirectory(prefix="grounding-voices-") as folder:
        work = Path(folder)
        evaluate._WORKER["corpus"] = work
        for voice in voices:
            clips = synthesize(voice, [text for _, _, text in items], work)
            for (kind, intent, text), clip in zip(items, clips):
                write_item(work / "item.wav", clip, SAMPLE_RATE)
                result = evaluate._decode({"file": "item.wav"})
                fired = [(d["kind"], d["intent"]) for d in result["detections"]]
                heard = (kind, intent) in fired
                tally[(voice.name, kind)][0] += heard
                tally[(voice.name, kind)][1] += 1
                if not heard or len(set(fired)) > 1:
                    readings = [(h[0], h[3]) for h in result["hypotheses"] if h[1]]
                    wrong.append((voice.name, kind, text, fired, readings))
    print("| voice | kind | heard |\n|---|---|---|")
    for (name, kind), (heard, count) in sorted(tally.items()):
        print(f"| {name} | {kind} | {heard}/{count} |")
    print("\nMissed or confused (voice, kind, text, fired, [(cue model, second reading)] per final):")
    for row in wrong:
        print("-", *row)


if __name__ == "__main__":
    main()
