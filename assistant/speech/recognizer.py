"""The recognizer port: what the listening loop needs from an offline speech engine.

Adapters (pocketsphinx, vosk) implement it and import their engine lazily;
the detector and the listening loop depend only on this module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Protocol, Sequence

import numpy as np


@dataclass(frozen=True)
class Fit:
    """How well a transcript fits an utterance by the second reader's model: natural-log probabilities."""

    logprob: float  # of the transcript asked about, its end included
    reading_logprob: float  # of the reader's own reading
    tokens: int  # in the transcript asked about, its end included

    @property
    def shortfall(self) -> float:
        """How much less likely than its own reading the model finds the transcript, in nats in all."""
        return self.reading_logprob - self.logprob

    @property
    def shortfall_per_token(self) -> float:
        """The same per token, and 0 when the transcript is as likely or likelier."""
        return max(0.0, self.shortfall) / max(1, self.tokens)


@dataclass(frozen=True)
class Hypothesis:
    """Words the engine heard, and where in the audio stream they ended."""

    text: str
    is_final: bool  # True when the engine has closed the utterance; False for a (stable) partial
    end_sample: int  # stream position (at the recognizer's sample rate) of the audio fed when it was produced
    # A second reading of the same utterance by another recognizer that does not lean toward the cues
    # (finals only; None when there is none): the detector matches it too (DetectorSettings.use_check_reading).
    check_text: str | None = None
    # And how well texts fit this utterance by the second reader's model, one Fit (or None, when it cannot say)
    # per text (finals only). Ask at once, while the result is being considered: it refers to the reader's
    # last reading.
    check_fit: Callable[[Sequence[str]], list[Fit | None]] | None = field(default=None, compare=False, repr=False)
    # And the second reader's likeliest transcripts of this utterance that contain one of some phrasings, with
    # their Fits, down to a shortfall: check_spot(phrasings, most_shortfall) (finals only; ask at once, too).
    check_spot: Callable[[Sequence[str], float], list[tuple[str, Fit]]] | None = field(
        default=None, compare=False, repr=False)
    # And the second reader's readings of the same utterance played at other paces: check_paced((0.9, 1.1)),
    # one text per pace ([] when it cannot say; finals only; ask at once, too).
    check_paced: Callable[[Sequence[float]], list[str]] | None = field(default=None, compare=False, repr=False)
    # And the second reader's reading of the utterance's loud part alone (loud_part.py): check_loud(), "" when
    # that is nearly all of it or it cannot say (finals only; ask at once, too).
    check_loud: Callable[[], str] | None = field(default=None, compare=False, repr=False)


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

    # Optional: hear_tone(tone_hz: tuple[float, float] | None) -> None, told when our own breath tone starts and
    # stops sounding in the audio fed (its lowest and highest pitch), for an engine whose speech gate would take
    # it for the room (pocketsphinx's, sphinx.SpeechGate). Vosk finds speech with its own model and has none.


class SecondReading(Protocol):
    """Another engine that reads a whole utterance once the first has closed it (assistant/speech/moonshine.py)."""

    name: str

    def read(self, samples: np.ndarray, sample_rate: int) -> str:
        """The words heard in this audio (mono int16), without punctuation; empty when none."""
        ...

    def fit(self, texts: Sequence[str]) -> list[Fit | None]:
        """How well each text fits the audio of the last `read`; None where that cannot be said."""
        ...

    def spot(self, phrasings: Sequence[str], most_shortfall: float) -> list[tuple[str, Fit]]:
        """The likeliest transcripts of the last `read` with one of the phrasings in them, and their Fits."""
        ...

    def read_paced(self, paces: Sequence[float]) -> list[str]:
        """The last `read`'s audio read again at each pace (0.9: a tenth slower), one text each."""
        ...

    def read_loud_part(self) -> str:
        """The last `read`'s loud part read on its own; "" when that is nearly all of it."""
        ...


def to_int16(samples: np.ndarray) -> np.ndarray:
    """Engines want 16-bit PCM; float input in [-1, 1] is scaled and clipped."""
    if samples.dtype == np.int16:
        return samples
    return np.clip(np.round(np.asarray(samples, dtype=np.float64) * 32767.0), -32768, 32767).astype(np.int16)
