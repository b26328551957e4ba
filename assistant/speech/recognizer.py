"""The recognizer port: what the listening loop needs from an offline speech engine.

Adapters (pocketsphinx, vosk) implement it and import their engine lazily;
the detector and the listening loop depend only on this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence

import numpy as np


@dataclass(frozen=True)
class Hypothesis:
    """Words the engine heard, and where in the audio stream they ended."""

    text: str
    is_final: bool  # True when the engine has closed the utterance; False for a (stable) partial
    end_sample: int  # stream position (at the recognizer's sample rate) of the audio fed when it was produced
    # A second reading of the same utterance by another recognizer that does not lean toward the cues
    # (finals only; None when there is none): the detector matches it too (DetectorSettings.use_check_reading).
    check_text: str | None = None


class Recognizer(Protocol):
    """A long-lived streaming recognizer; one per listening session (warm-up costs accuracy)."""

    name: str  # "pocketsphinx" or "vosk", for the announcement and the benchmarks
    sample_rate: int  # hertz of the mono audio `accept` expects (16000 for both engines)

    def accept(self, samples: np.ndarray) -> Sequence[Hypothesis]:
        """Feed the next block (mono int16, or float32 in [-1, 1]); return any new partial or final results."""
        ...

    def flush(self) -> Sequence[Hypothesis]:
        """End of input: finish the current utterance and return what it held."""
        ...

    def reset(self) -> None:
        """Drop the current utterance (e.g. audio that overlapped our own speech)."""
        ...


class SecondReading(Protocol):
    """Another engine that reads a whole utterance once the first has closed it (assistant/speech/moonshine.py)."""

    name: str

    def read(self, samples: np.ndarray, sample_rate: int) -> str:
        """The words heard in this audio (mono int16), without punctuation; empty when none."""
        ...


def to_int16(samples: np.ndarray) -> np.ndarray:
    """Engines want 16-bit PCM; float input in [-1, 1] is scaled and clipped."""
    if samples.dtype == np.int16:
        return samples
    return np.clip(np.round(np.asarray(samples, dtype=np.float64) * 32767.0), -32768, 32767).astype(np.int16)
