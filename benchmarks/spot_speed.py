"""What spotting costs: Moonshine's search of an utterance for cue phrases and crisis sentences, against its reading.

    python benchmarks/spot_speed.py [--files 120] [--split tune]

Utterances are cut from the corpus as the speech gate would hand them over (the item's speech with 0.3 s
around it; ordinary talk split at pauses of 0.5 s), read once, then searched for the cue phrasings and for
the crisis sentences (`MoonshineOnnx.spot`: 4 nats, as the detector asks; 5 for the crisis search, which
the detector does not make by default, as the evaluation records it), in this process on one
onnxruntime thread, as the reader's child runs. Prints medians and 95th percentiles of the wall time per
utterance, and the search's time as a share of the reading's. Build the corpus first
(`python benchmarks/corpus/build.py`).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from assistant.audio.wavio import read_wav  # noqa: E402
from assistant.library.loader import load_library  # noqa: E402
from assistant.speech.crisis import CRISIS_SENTENCE_FORMS  # noqa: E402
from assistant.speech.cues import CueMatcher  # noqa: E402
from assistant.speech.detector import DetectorSettings  # noqa: E402
from assistant.speech.moonshine_onnx import MoonshineOnnx, find_base_model  # noqa: E402
from assistant.speech.vad import EnergyDetector  # noqa: E402
from evaluate import DEFAULT_CORPUS, SPOT_RECORDED_LIMITS, load_manifest  # noqa: E402

MARGIN_SECONDS = 0.3
PAUSE_BLOCKS = 5  # 0.1 s blocks of quiet that end an utterance of ordinary talk
LONGEST_BLOCKS = 80  # and the gate's longest utterance, 8 s


def utterances(entry: dict, audio: np.ndarray, rate: int):
    """The utterances of one corpus file, as float audio at its rate."""
    margin = round(MARGIN_SECONDS * rate)
    if entry["kind"] != "ordinary":
        first = max(0, round(entry["speech_start_s"] * rate) - margin)
        yield audio[first:round(entry["speech_end_s"] * rate) + margin]
        return
    detector, block = EnergyDetector(), rate // 10
    speech = [detector.is_speech(audio[k:k + block], rate) for k in range(0, len(audio) - block + 1, block)]
    began, quiet = None, 0
    for k, loud in enumerate(speech + [False] * PAUSE_BLOCKS):
        if loud:
            began = k if began is None else began
            quiet = 0
        elif began is not None:
            quiet += 1
            if quiet >= PAUSE_BLOCKS or k - began >= LONGEST_BLOCKS:
                ended = k - quiet + 1
                if ended - began >= 3:
                    yield audio[max(0, began * block - margin):ended * block + margin]
                began, quiet = None, 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=120, help="corpus files, spread over the split (default: %(default)s)")
    parser.add_argument("--split", default="tune", choices=["tune", "report", "all"])
    args = parser.parse_args(argv)

    settings = DetectorSettings()
    crisis_limit = settings.spot_crisis_max_shortfall
    crisis_limit = SPOT_RECORDED_LIMITS["crisis"] if crisis_limit is None else crisis_limit
    cues = CueMatcher(load_library().cue_maps).phrasings
    model = MoonshineOnnx(find_base_model())
    model.read(np.zeros(16000, dtype=np.float32))  # onnxruntime's first run is slow
    entries = load_manifest(DEFAULT_CORPUS, args.split, ["clean", "20", "10"],
                            ["start", "control", "crisis", "ordinary"], args.files)
    walls: dict[str, list[float]] = {"reading": [], "cue search": [], "crisis search": [], "both searches": []}
    speech_seconds = 0.0
    for entry in entries:
        audio, rate = read_wav(DEFAULT_CORPUS / entry["file"])
        if rate != 16000:
            raise SystemExit(f"{entry['file']}: {rate} Hz, expected 16000")
        for utterance in utterances(entry, audio.astype(np.float32), rate):
            speech_seconds += len(utterance) / rate
            began = time.perf_counter()
            model.read(utterance)
            read = time.perf_counter()
            model.spot(cues, settings.spot_max_shortfall)
            cue = time.perf_counter()
            model.spot(CRISIS_SENTENCE_FORMS, crisis_limit)
            crisis = time.perf_counter()
            walls["reading"].append(read - began)
            walls["cue search"].append(cue - read)
            walls["crisis search"].append(crisis - cue)
            walls["both searches"].append(crisis - read)

    count = len(walls["reading"])
    print(f"{count} utterances from {len(entries)} files ({args.split} split), {speech_seconds:.0f} s of audio\n")
    print("| per utterance (wall s) | p50 | p95 | total |")
    print("|---|---|---|---|")
    for name, values in walls.items():
        p50, p95 = np.percentile(values, [50, 95])
        print(f"| {name} | {p50:.3f} | {p95:.3f} | {sum(values):.1f} |")
    reading = np.array(walls["reading"])
    cue_ratio = np.median(np.array(walls["cue search"]) / reading)
    both_ratio = np.median(np.array(walls["both searches"]) / reading)
    print(f"\nThe cue search takes {cue_ratio:.2f}x the reading's time, both searches {both_ratio:.2f}x "
          "(medians of per-utterance ratios).")


if __name__ == "__main__":
    main()
