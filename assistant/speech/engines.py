"""Choosing the recognizer: Vosk when a model is found, else pocketsphinx with its bundled English model."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from assistant.audio.resample import resample
from assistant.audio.wavio import read_wav
from assistant.errors import GroundingError
from assistant.library.model import CueMap
from assistant.speech.cues import CueMatcher
from assistant.speech.detector import BLOCK_SECONDS, StreamDetector, TimedDetection
from assistant.speech.recognizer import Recognizer

ENGINES = ("vosk", "pocketsphinx")


@dataclass
class OpenedRecognizer:
    recognizer: Recognizer
    description: str  # said at start: which engine and which model


def open_recognizer(
    engine: str | None,
    model: Path | None,
    cue_maps: Sequence[CueMap],
    language: str = "en",
    warn: Callable[[str], None] = lambda message: None,
) -> OpenedRecognizer:
    """The recognizer asked for, or the best available: Vosk with a model, else pocketsphinx (English)."""
    if engine not in (None, *ENGINES):
        raise GroundingError(f"unknown engine '{engine}'; choose one of {', '.join(ENGINES)}")
    if engine in (None, "vosk"):
        from assistant.speech.models import ModelNotFoundError, find_model

        try:
            path = find_model(model, language)
        except ModelNotFoundError as exc:
            if engine == "vosk" or model is not None:
                raise
            warn(f"no usable Vosk model, so listening with pocketsphinx's bundled English model ({exc})")
        else:
            from assistant.speech.vosk_engine import cue_phrases, distractors_for, make_vosk_recognizer

            # English: the full vocabulary, so crisis language (matched by patterns, not a phrase list) is
            # transcribed at all; a phrase list would force every utterance onto cue words. Other
            # languages: cue phrases plus common distractor words (measured on Korean; see benchmarks/README.md).
            if language == "en":
                recognizer = make_vosk_recognizer(path, None)
            else:
                recognizer = make_vosk_recognizer(path, cue_phrases(cue_maps), distractors=distractors_for(language))
            missing = getattr(recognizer, "missing_words", [])
            if missing:
                warn(f"these cue words are not in the Vosk model and cannot be heard: {', '.join(missing)}")
            return OpenedRecognizer(recognizer, f"Vosk, model {path}")
    if language != "en":
        raise GroundingError(
            f"pocketsphinx here has only its English model; for '{language}' cues install a Vosk model "
            "of that language (`grounding model download NAME`) or pass --model"
        )
    from assistant.speech.sphinx import PocketsphinxRecognizer

    recognizer = PocketsphinxRecognizer([phrase for cue_map in cue_maps for phrase in cue_map.phrases])
    if recognizer.reading_problem:
        warn(f"no second reading of what is heard, so crisis language is a little less likely to be caught: "
             f"{recognizer.reading_problem}")
    description = "pocketsphinx, bundled US English model"
    if recognizer.reading_name:
        description += f", each utterance read again by {recognizer.reading_name}"
    return OpenedRecognizer(recognizer, description)


def detect_file(path: Path, detector: StreamDetector) -> list[TimedDetection]:
    """Stream a WAV file through the live detection path in live-sized blocks, as fast as it will go."""
    samples, rate = read_wav(path)
    if rate != detector.rate:
        samples = resample(samples, rate, detector.rate)
    block = round(BLOCK_SECONDS * detector.rate)
    pcm = np.clip(np.round(samples.astype(np.float64) * 32767), -32768, 32767).astype(np.int16)
    fired: list[TimedDetection] = []
    for start in range(0, len(pcm), block):
        fired += detector.feed(pcm[start : start + block])
    # Half a second of silence closes an utterance that ends with the file, as a pause would live.
    fired += detector.feed(np.zeros(detector.rate // 2, dtype=np.int16))
    fired += detector.finish()
    return fired


def make_detector(opened: OpenedRecognizer, cue_maps: Sequence[CueMap]) -> StreamDetector:
    return StreamDetector(opened.recognizer, CueMatcher(cue_maps))
