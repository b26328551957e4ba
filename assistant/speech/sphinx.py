"""pocketsphinx behind the Recognizer port: the engine that works offline with nothing to download.

How it listens (each choice measured on the benchmark corpus, see benchmarks/README.md):

* **A small language model of what we listen for.** A trigram model is built at
  start-up from the cue phrases (each also inside the frames people wrap it in:
  "okay stop", "can you help me breathe"), a list of crisis phrasings, and a loop
  of the 1000 commonest English words (unigrams from the wheel's en-us.lm.bin)
  for everything else. The matcher then does the real work on the words. On the
  tuning voices this gave twice the recall of the full en-us model, and four
  times fewer false alarms than keyphrase spotting.
* **Our own speech gate instead of pocketsphinx's WebRTC endpointer.** The
  endpointer closed the utterance in only a quarter of the 10 dB files; a band
  energy gate over an adaptive noise floor (`SpeechGate`) closes almost all of
  them, about 0.3 s after the speech ends.
* **The first seconds of speech are decoded twice.** pocketsphinx's running
  cepstral mean starts at the model's own; until it has learnt from about 3 s
  of speech, each utterance is decoded again with the mean it has just taught
  (`settle_seconds`). `grounding detect` and the first words said to `listen`
  are heard that way (on the tune split's clean audio, a recognizer just
  opened heard 6 start and 3 control items fewer than one that had listened
  for a while; with the second pass, 3 and 0 fewer).
* **A noise floor at -60 dBFS is added to the input.** The acoustic model never
  heard digital silence: synthetic speech in near-zero silence decoded 25 %
  worse than the same speech over a faint floor like a real microphone's.

* **A second reading by Moonshine.** The cue model bends speech toward cue
  words; on a voice the acoustic model fits badly it turns a crisis sentence
  into something else. Each closed utterance is also read by Moonshine's base
  English model (assistant/speech/moonshine.py), which has no cue list and
  makes different mistakes; its words ride on the final result
  (`Hypothesis.check_text`) and the detector matches both. The reader can
  also weigh any transcript against the audio it read (`Hypothesis.check_fit`):
  the detector asks it about what only the cue model heard. (A second
  pocketsphinx decoder with the wheel's general English model was tried
  first: it added 2 of 87 crisis items for three to eight times the CPU, and
  was removed.) If Moonshine cannot be loaded, listening goes on without it
  and `reading_problem` says why.

Partial results come every 0.2 s during an utterance (the detector decides how
far to trust them), a final one when the gate hears its end, or after at most
`max_utterance_seconds` when the room never goes quiet. One decoder lives as
long as the recognizer; pocketsphinx is imported lazily.
"""

from __future__ import annotations

import logging
import math
import os
import re
import tempfile
import time
from collections import Counter, deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from assistant.errors import GroundingError
from assistant.speech.band_level import ENERGY_FLOOR, HIGH_HZ, LOW_HZ, BandEnergy
from assistant.speech.crisis import CRISIS_PHRASINGS
from assistant.speech.recognizer import Fit, Hypothesis, SecondReading, to_int16

logger = logging.getLogger(__name__)


class RecognizerUnavailableError(GroundingError):
    """The offline speech engine could not be loaded."""


# How people wrap a cue: short ones (controls) and longer ones (requests); each cue is learned inside these.
SHORT_FRAMES = ("{}", "okay {}", "please {}", "{} please", "{} now", "can you {}", "i said {}", "{} it")
LONG_FRAMES = ("{}", "i think {}", "{} right now", "okay {}", "can you {}", "please {}", "i need {}", "{} again")
SHORT_CUE_WORDS = 3  # cues of up to this many words get the short frames


@dataclass(frozen=True)
class SphinxSettings:
    """How the recognizer segments audio and how strongly its language model leans toward the cues."""

    search: str = "cues"  # "cues" (the cue language model), "full" (en-us.lm.bin) or "keyphrase" (spotting)
    # Input and segmentation.
    noise_floor_dbfs: float = -60.0  # faint noise added to all input (None: off); see the module docstring
    frame_seconds: float = 0.03  # speech gate frame
    gate_margin_db: float = 8.0  # a frame is loud when its 250-4000 Hz level is this far over the noise floor
    floor_seconds: float = 2.0  # the noise floor is the 10th percentile of the levels over this much audio
    start_seconds: float = 0.15  # speech starts when most frames of this window are loud
    end_seconds: float = 0.35  # and ends after this much quiet
    preroll_seconds: float = 0.25  # audio before the start handed to the decoder (it wants silence before a word)
    # Until the decoder has heard this much speech, each final is decoded a second time with the cepstral mean
    # the utterance itself just taught it (see _final): the model's own starting mean cost a recognizer just
    # opened 6 of 146 start and 3 of 100 control items on the tune split's clean audio.
    settle_seconds: float = 3.0
    max_utterance_seconds: float = 8.0  # a final result at least this often, however noisy the room
    partial_every_seconds: float = 0.2  # a partial result this often during an utterance
    # Language model (search="cues").
    common_words: int = 1000  # size of the everything-else word loop
    common_word_count: int = 1  # its weight: count given to each common word (a cue sentence counts once per repeat)
    cue_repeat: int = 3  # each cue sentence counts this many times
    crisis_repeat: int = 1  # and each crisis sentence this many: 3 heard no more crises on the tune split (121 vs 122
    # of 171) and gave 27 % more false alarms (33 vs 26 in 0.74 h of ordinary speech)
    # pocketsphinx's second, flat-lexicon pass over each utterance (-fwdflat). It takes 130 ms median and up
    # to 0.56 s per final while holding the GIL (the overnight soak), a dropout risk with the player's 0.2 s
    # buffer; but without it the report split lost 9 of 261 crisis, 36 of 648 start and 9 of 444 control items.
    second_pass: bool = True
    language_weight: float = 6.5  # pocketsphinx -lw
    word_insertion_penalty: float = 0.65  # -wip
    filler_probability: float = 1e-2  # -fillprob: lets noise and mumbling go to [NOISE]/[SPEECH], not to words
    keyphrase_threshold_per_phone: float = 4.0  # search="keyphrase": threshold 1e-(this * phones)
    decoder_options: dict = field(default_factory=dict)  # any other pocketsphinx Config options
    # Who reads each closed utterance a second time: "moonshine" or "none" (see the module docstring).
    second_reading: str = "moonshine"
    # The second reading starts once the speaker has been quiet this long, before the gate's end_seconds
    # close the utterance, so that the final does not wait for all of it (0 or None: at the final). If they
    # speak again, that reading is dropped and the whole utterance is read at its end.
    early_reading_seconds: float | None = 0.2


def import_pocketsphinx():
    """The pocketsphinx module, or a RecognizerUnavailableError saying how to install it."""
    try:
        import pocketsphinx
    except ImportError as error:
        raise RecognizerUnavailableError(
            f"the offline recognizer pocketsphinx is not installed ({error}). Install it with "
            "`pip install pocketsphinx` (5.0 or later): its wheel carries the English model, nothing else to download."
        ) from None
    return pocketsphinx


def dictionary_words(text: str) -> list[str]:
    """Cue text as pronunciation-dictionary words: lower case, apostrophes kept ("i'm", "can't"), no punctuation."""
    text = text.lower().replace("\u2019", "'")
    return re.sub(r"[^a-z' ]+", " ", text).split()


def make_pocketsphinx_recognizer(phrases: Sequence[str], settings: SphinxSettings | None = None):
    """The listening loop's factory: a recognizer for these cue phrases (crisis language is always added)."""
    return PocketsphinxRecognizer(phrases, settings)


class PocketsphinxRecognizer:
    """pocketsphinx with a cue language model and its own speech gate, 16 kHz mono in, partials and finals out."""

    name = "pocketsphinx"
    sample_rate = 16000

    def __init__(
        self, phrases: Sequence[str] = (), settings: SphinxSettings | None = None, reading: SecondReading | None = None,
    ):
        """`reading`: a second reader to use instead of the one `settings.second_reading` names (tests)."""
        self._ps = import_pocketsphinx()
        self.settings = settings or SphinxSettings()
        model = os.path.join(self._ps.get_model_path(), "en-us")
        self._pronunciations = read_dictionary(os.path.join(model, "cmudict-en-us.dict"))
        self.missing_words: list[str] = []  # cue words with no pronunciation: their phrases cannot be heard
        self.reading_problem: str | None = None  # why there is no second reading, when one was asked for
        # The second reader loads its model in its own process while the decoder is built here.
        self._reading = reading if reading is not None else self._open_reading()
        self._folder = tempfile.TemporaryDirectory(prefix="grounding-sphinx-")
        try:
            self._decoder = self._ps.Decoder(self._ps.Config(**self._config(model, phrases)))
        finally:
            self._folder.cleanup()  # the decoder has read its files
        self._await_reading()
        if self.missing_words:
            logger.warning("no pronunciation for %s: phrases with them cannot be heard", ", ".join(self.missing_words))
        # What the decoder heard of this utterance: for the second reading, and for a second pass (_settled_words).
        self._utterance_audio: list[bytes] = []
        self._rng = np.random.default_rng(0)  # the added noise floor, the same on every run
        self._frame = round(self.settings.frame_seconds * self.sample_rate)
        self._gate = SpeechGate(
            self.sample_rate, self._frame, self.settings.gate_margin_db, self.settings.floor_seconds,
            self.settings.start_seconds, self.settings.end_seconds,
        )
        lookback = self.settings.preroll_seconds + self.settings.start_seconds
        self._recent_frames: deque[np.ndarray] = deque(maxlen=max(1, round(lookback / self.settings.frame_seconds)))
        self._pending = np.zeros(0, dtype=np.int16)  # samples short of a whole gate frame
        self._samples_fed = 0
        # Readings run on one thread of their own, in order: an early one that turned out too early finishes
        # before the next starts (the reader serves one request at a time).
        self._reader_thread = ThreadPoolExecutor(1, "second-reading") if self._reading is not None else None
        self._early_reading: Future | None = None
        self._last_reading_wait_s = 0.0
        early = self.settings.early_reading_seconds
        self._early_frames = round(early / self.settings.frame_seconds) if early else 0
        self._in_utterance = False
        self._utterance_samples = 0
        self._since_partial = 0
        self._speech_heard_s = 0.0  # utterance audio the decoder has heard since it opened (or was restored)
        if self.settings.search == "keyphrase":
            self._decoder.start_utt()

    # --- the port ------------------------------------------------------------------------------------

    def accept(self, samples: np.ndarray) -> list[Hypothesis]:
        """Feed the next block; return any partial or final results it completed."""
        samples = to_int16(np.asarray(samples).reshape(-1))
        self._samples_fed += len(samples)
        if self.settings.noise_floor_dbfs is not None and len(samples):
            scale = 32768.0 * 10 ** (self.settings.noise_floor_dbfs / 20)
            samples = np.clip(samples + self._rng.standard_normal(len(samples)) * scale, -32768, 32767).astype(np.int16)
        if self.settings.search == "keyphrase":
            return self._spot(samples)
        buffer = np.concatenate([self._pending, samples]) if len(self._pending) else samples
        whole = len(buffer) // self._frame * self._frame
        self._pending = buffer[whole:].copy()
        results: list[Hypothesis] = []
        for start in range(0, whole, self._frame):
            frame = buffer[start : start + self._frame]
            event = self._gate.process(frame)
            if self._in_utterance:
                results += self._decode(frame.tobytes(), ended=event == "end")
                if self._in_utterance:
                    self._read_early()
            elif event == "start":
                self._recent_frames.append(frame)
                results += self._decode(b"".join(f.tobytes() for f in self._recent_frames), ended=False)
                self._recent_frames.clear()
            else:
                self._recent_frames.append(frame)
        return results

    def flush(self) -> list[Hypothesis]:
        """End of input: close the utterance in progress and return its final result."""
        if self.settings.search == "keyphrase":
            return []
        results = []
        if self._in_utterance:
            if len(self._pending):
                self._process(self._pending.tobytes())
            results.append(self._final())
        self._forget_audio()
        return results

    def reset(self) -> None:
        """Drop the utterance in progress; the noise floor the gate has learnt is kept."""
        if self.settings.search == "keyphrase":
            self._decoder.end_utt()
            self._decoder.start_utt()
            return
        if self._in_utterance:
            self._decoder.end_utt()
            self._in_utterance = False
        self._forget_audio()

    def hear_tone(self, tone_hz: tuple[float, float] | None) -> None:
        """Our own breath tone sounds in the audio fed from now on, between these pitches (Hz); None: it does not.
        The speech gate then leaves those pitches out (SpeechGate.hear_tone)."""
        self._gate.hear_tone(tone_hz)

    @property
    def reading_name(self) -> str | None:
        """The second reader in use, for the announcement; None when there is none."""
        return None if self._reading is None else self._reading.name

    def reading_costs(self) -> dict[str, float]:
        """What a second reader in its own process costs, for the benchmarks: its CPU seconds so far, its
        resident MiB, the wall seconds its last reading took, how long the last final waited for it (less,
        when it started early), and how often its process was replaced for its size (all 0 without one)."""
        return {
            "cpu_s": getattr(self._reading, "cpu_seconds", 0.0),
            "resident_mib": getattr(self._reading, "resident_mib", 0.0),
            "last_wall_s": getattr(self._reading, "last_wall_seconds", 0.0),
            "last_wait_s": self._last_reading_wait_s,
            "replacements": float(getattr(self._reading, "replacements", 0)),
        }

    def adaptation(self) -> tuple:
        """What the recognizer has learnt of the room and the voice: the decoder's cepstral mean, the gate's floor,
        and how much speech taught the mean (`settle_seconds`)."""
        return self._decoder.get_cmn(False), self._gate.levels(), self._speech_heard_s

    def restore(self, adaptation: tuple) -> None:
        """Back to an earlier `adaptation()`, with nothing in progress: for measuring files one at a time.

        Both carry over from one utterance to the next, so what was heard before shapes what is heard
        next; the evaluation restores one snapshot before every file so that a file's result does not
        depend on which files came before it (benchmarks/evaluate.py). Listening never needs this.
        """
        self.reset()
        cmn, levels, self._speech_heard_s = adaptation
        self._decoder.reinit_feat()  # the front end's noise estimate carries over too; it starts afresh
        self._decoder.set_cmn(cmn)
        self._gate.set_levels(levels)
        self._rng = np.random.default_rng(0)

    # --- decoding ------------------------------------------------------------------------------------

    def _decode(self, audio: bytes, ended: bool) -> list[Hypothesis]:
        if not self._in_utterance:
            self._decoder.start_utt()
            self._in_utterance = True
            self._utterance_audio = []
            self._utterance_samples = self._since_partial = 0
        self._process(audio)
        self._utterance_samples += len(audio) // 2
        self._since_partial += len(audio) // 2
        if ended or self._utterance_samples >= self.settings.max_utterance_seconds * self.sample_rate:
            return [self._final()]  # after a forced end the gate is still in speech: the next frame starts anew
        if self._since_partial >= self.settings.partial_every_seconds * self.sample_rate:
            self._since_partial = 0
            text = self._words()
            if text:
                return [Hypothesis(text, False, self._samples_fed)]
        return []

    def _process(self, audio: bytes) -> None:
        self._decoder.process_raw(audio, False, False)
        if self._reading is not None or self._speech_heard_s < self.settings.settle_seconds:
            self._utterance_audio.append(audio)

    def _final(self) -> Hypothesis:
        self._decoder.end_utt()
        self._in_utterance = False
        words = self._settled_words()
        check_text = self._read_again()
        check_fit = self._fit_to_reading if check_text is not None else None
        check_spot = self._spot_in_reading if check_text is not None else None
        check_paced = self._read_at_paces if check_text is not None else None
        check_loud = self._read_loud_part if check_text is not None else None
        return Hypothesis(words, True, self._samples_fed, check_text, check_fit, check_spot, check_paced, check_loud)

    def _settled_words(self) -> str:
        """The utterance's words; while the decoder is new to the voice and the room, from a second pass.

        pocketsphinx subtracts a running cepstral mean, which starts at the model's own and learns from each
        utterance as it ends. A recognizer just opened (`grounding detect`, and the first thing said to
        `grounding listen`, often the cue that matters most) heard its first words with a mean that fits
        neither this microphone nor this voice. So until it has heard settle_seconds of speech, the
        utterance is decoded again with the mean it has just learnt: a tenth to a seventh of its length in
        time (benchmarks/README.md), partly hidden behind the wait for the second reading.
        """
        words = self._words()
        if self._speech_heard_s >= self.settings.settle_seconds or not self._utterance_audio:
            return words
        audio = b"".join(self._utterance_audio)  # (_read_again lets it go, after this)
        self._speech_heard_s += len(audio) / 2 / self.sample_rate
        learnt = self._decoder.get_cmn(False)
        self._decoder.start_utt()
        self._decoder.process_raw(audio, False, True)
        self._decoder.end_utt()
        self._decoder.set_cmn(learnt)  # the utterance counts once in the mean, not twice
        return self._words()

    def _read_early(self) -> None:
        """Start the second reading when the speaker has paused long enough; drop it when they go on."""
        if self._reading is None or not self._early_frames:
            return
        if self._gate.quiet_frames == 0:
            self._early_reading = None  # more speech: that reading was of part of the utterance
        elif self._gate.quiet_frames == self._early_frames and self._early_reading is None:
            self._early_reading = self._submit_reading()

    def _submit_reading(self) -> Future:
        assert self._reader_thread is not None and self._reading is not None
        audio = np.frombuffer(b"".join(self._utterance_audio), dtype=np.int16)
        return self._reader_thread.submit(self._reading.read, audio, self.sample_rate)

    def _read_again(self) -> str | None:
        """The second reader's words for the utterance just closed; None without one, or when it failed."""
        if self._reading is None:
            return None
        reading, self._early_reading = self._early_reading or self._submit_reading(), None
        self._utterance_audio = []
        began = time.perf_counter()
        try:
            return reading.result()  # the reader's own time limits bound this
        except Exception as error:  # a broken second reader must never stop the first from being heard
            logger.warning("the second reading (%s) failed and is switched off: %s", self._reading.name, error)
            self.reading_problem = f"{self._reading.name} failed: {error}"
            self._reading = None
            return None
        finally:
            self._last_reading_wait_s = time.perf_counter() - began

    def _fit_to_reading(self, texts: Sequence[str]) -> list[Fit | None]:
        """How well texts fit the utterance just read, by the second reader (Hypothesis.check_fit)."""
        return self._ask_reader("fit", "weigh transcripts", [None] * len(texts), texts)

    def _spot_in_reading(self, phrasings: Sequence[str], most_shortfall: float) -> list[tuple[str, Fit]]:
        """Transcripts of the utterance just read with a phrasing in them, by the second reader
        (Hypothesis.check_spot)."""
        return self._ask_reader("spot", "spot phrases", [], phrasings, most_shortfall)

    def _read_at_paces(self, paces: Sequence[float]) -> list[str]:
        """The utterance just read, read again at other paces by the second reader (Hypothesis.check_paced)."""
        return self._ask_reader("read_paced", "read again at other paces", [], paces)

    def _read_loud_part(self) -> str:
        """The loud part of the utterance just read, read on its own by the second reader (Hypothesis.check_loud)."""
        return self._ask_reader("read_loud_part", "read the loud part again", "")

    def _ask_reader(self, method: str, doing: str, unanswered, *args):
        """The second reader's `method`(*args) about the utterance it read last, on its thread (in turn with the
        readings: one reader, one pipe); `unanswered` when there is no such reader or it fails."""
        reading, thread = self._reading, self._reader_thread
        if reading is None or thread is None or not hasattr(reading, method):
            return unanswered
        try:
            return thread.submit(getattr(reading, method), *args).result()
        except Exception as error:  # a second opinion that cannot be had is no reason to stop listening
            logger.warning("the second reader (%s) could not %s: %s", reading.name, doing, error)
            return unanswered

    def _open_reading(self) -> SecondReading | None:
        choice = self.settings.second_reading
        if choice == "none" or self.settings.search != "cues":
            return None
        if choice != "moonshine":
            raise ValueError(f"unknown second_reading {choice!r}: moonshine or none")
        from assistant.speech.moonshine import MoonshineReading

        return MoonshineReading(wait=False)

    def _await_reading(self) -> None:
        wait_ready = getattr(self._reading, "wait_ready", None)
        if wait_ready is None:
            return
        from assistant.speech.moonshine import ReadingUnavailableError

        try:
            wait_ready()
        except ReadingUnavailableError as error:
            self.reading_problem = str(error)
            self._reading = None

    def _words(self) -> str:
        """The best hypothesis so far, without silence and filler tokens ("<sil>", "[NOISE]", "[SPEECH]")."""
        hypothesis = self._decoder.hyp()
        if hypothesis is None:
            return ""
        return " ".join(word for word in hypothesis.hypstr.split() if not word.startswith(("<", "[", "+")))

    def _spot(self, samples: np.ndarray) -> list[Hypothesis]:
        self._decoder.process_raw(samples.tobytes(), False, False)
        hypothesis = self._decoder.hyp()
        if hypothesis is None or not hypothesis.hypstr:
            return []
        self._decoder.end_utt()
        self._decoder.start_utt()
        return [Hypothesis(hypothesis.hypstr, True, self._samples_fed)]

    def _forget_audio(self) -> None:
        self._pending = np.zeros(0, dtype=np.int16)
        self._utterance_audio = []
        self._early_reading = None
        self._gate.end_speech()
        self._recent_frames.clear()

    # --- models --------------------------------------------------------------------------------------

    def _config(self, model: str, phrases: Sequence[str]) -> dict:
        s = self.settings
        config = {
            "hmm": os.path.join(model, "en-us"),
            "loglevel": "FATAL",
            "lw": s.language_weight,
            "wip": s.word_insertion_penalty,
            "fillprob": s.filler_probability,
            "fwdflat": s.second_pass,
        }
        cues = self._usable(cue_sentences(phrases))
        crisis = self._usable(list(CRISIS_PHRASINGS))
        sentences = cues + crisis
        if s.search == "full":
            config.update(lm=os.path.join(model, "en-us.lm.bin"), dict=os.path.join(model, "cmudict-en-us.dict"))
        elif s.search == "cues":
            common = common_words(self._ps, os.path.join(model, "en-us.lm.bin"), self._pronunciations, s.common_words)
            weighted = cues * s.cue_repeat + crisis * s.crisis_repeat  # counts add up, so a repeat is a weight
            arpa = cue_language_model(weighted, common, 1, s.common_word_count)
            lm_path = os.path.join(self._folder.name, "cues.arpa")
            with open(lm_path, "w", encoding="utf-8") as out:
                out.write(arpa)
            words = {w for sentence in sentences for w in sentence.split()} | set(common)
            config.update(lm=lm_path, dict=self._write_dictionary(words))
        elif s.search == "keyphrase":
            lines = []
            for sentence in dict.fromkeys(sentences):
                phones = sum(len(self._pronunciations[w][0].split()) for w in sentence.split())
                lines.append(f"{sentence} /1e-{max(1, round(s.keyphrase_threshold_per_phone * phones))}/")
            kws_path = os.path.join(self._folder.name, "cues.kws")
            with open(kws_path, "w", encoding="utf-8") as out:
                out.write("\n".join(lines) + "\n")
            words = {w for sentence in sentences for w in sentence.split()}
            config.update(kws=kws_path, dict=self._write_dictionary(words), lm=None)
        else:
            raise ValueError(f"unknown search {s.search!r}: cues, full or keyphrase")
        config.update(s.decoder_options)
        return config

    def _usable(self, sentences: list[str]) -> list[str]:
        """Sentences whose every word can be pronounced (guessing "orienting" from "orient"); notes the rest."""
        usable = []
        for sentence in dict.fromkeys(sentences):
            for word in sentence.split():
                if word not in self._pronunciations and (guess := guess_pronunciation(word, self._pronunciations)):
                    self._pronunciations[word] = [guess]
            missing = [w for w in sentence.split() if w not in self._pronunciations]
            self.missing_words += [w for w in missing if w not in self.missing_words]
            if not missing:
                usable.append(sentence)
        return usable

    def _write_dictionary(self, words: set[str]) -> str:
        path = os.path.join(self._folder.name, "cues.dict")
        with open(path, "w", encoding="utf-8") as out:
            for word in sorted(words):
                for index, phones in enumerate(self._pronunciations[word]):
                    out.write(f"{word}{'' if index == 0 else f'({index + 1})'} {phones}\n")
        return path


def cue_sentences(phrases: Sequence[str]) -> list[str]:
    """Each cue phrase alone and inside the frames people put around it."""
    sentences = []
    for phrase in phrases:
        words = " ".join(dictionary_words(phrase))
        if words:
            frames = SHORT_FRAMES if len(words.split()) <= SHORT_CUE_WORDS else LONG_FRAMES
            sentences += [frame.format(words) for frame in frames]
    return sentences


def common_words(ps, lm_path: str, pronunciations: dict[str, list[str]], count: int) -> list[str]:
    """The `count` most probable words of the general English model that the dictionary can pronounce."""
    general = ps.NGramModel.readfile(lm_path)
    scored = sorted(
        ((general.prob([word]), word) for word in pronunciations if word.replace("'", "").isalpha()), reverse=True
    )
    return [word for _, word in scored[:count]]


def cue_language_model(sentences: Sequence[str], common: Sequence[str], repeat: int, common_count: int) -> str:
    """An ARPA trigram model: the sentences (each counted `repeat` times) plus the common words as unigrams.

    Fixed-discount back-off (half the mass of each history goes to lower orders), as in
    pocketsphinx's own `lm.py`, which is enough for a model this small.
    """
    discount = 0.5
    unigrams: Counter = Counter()
    bigrams: Counter = Counter()
    trigrams: Counter = Counter()
    for sentence in sentences:
        words = ["<s>"] + sentence.split() + ["</s>"]
        for i, word in enumerate(words):
            unigrams[word] += repeat
            if i + 1 < len(words):
                bigrams[(word, words[i + 1])] += repeat
            if i + 2 < len(words):
                trigrams[(word, words[i + 1], words[i + 2])] += repeat
    for word in common:
        if word not in unigrams:
            unigrams[word] = common_count
    total = sum(unigrams.values())
    p1 = {w: c * (1 - discount) / total for w, c in unigrams.items()}
    history1: Counter = Counter()
    for (a, _), c in bigrams.items():
        history1[a] += c
    history2: Counter = Counter()
    for (a, b, _), c in trigrams.items():
        history2[(a, b)] += c
    p2 = {(a, b): c * (1 - discount) / history1[a] for (a, b), c in bigrams.items()}
    p3 = {k: c * (1 - discount) / history2[k[:2]] for k, c in trigrams.items()}
    followers1: dict[str, float] = Counter()
    for (a, b) in bigrams:
        followers1[a] += p1[b]
    followers2: dict[tuple[str, str], float] = Counter()
    for (a, b, c) in trigrams:
        followers2[(a, b)] += p2[(b, c)]
    alpha1 = {w: discount / (1 - followers1.get(w, 0.0)) for w in unigrams}
    alpha2 = {h: discount / (1 - followers2.get(h, 0.0)) for h in bigrams}

    def log10(x: float) -> str:
        return f"{math.log10(x):.4f}"

    lines = ["\\data\\", f"ngram 1={len(unigrams)}", f"ngram 2={len(bigrams)}", f"ngram 3={len(trigrams)}", ""]
    lines.append("\\1-grams:")
    for word in sorted(unigrams):
        lines.append(f"{log10(p1[word])} {word} {log10(alpha1[word])}")
    lines += ["", "\\2-grams:"]
    for (a, b) in sorted(bigrams):
        lines.append(f"{log10(p2[(a, b)])} {a} {b} {log10(alpha2[(a, b)])}")
    lines += ["", "\\3-grams:"]
    for key in sorted(trigrams):
        lines.append(f"{log10(p3[key])} {' '.join(key)}")
    lines += ["", "\\end\\", ""]
    return "\n".join(lines)


def read_dictionary(path: str) -> dict[str, list[str]]:
    """word -> its pronunciations, from a CMU-style dictionary ("word(2)" lines are alternatives)."""
    pronunciations: dict[str, list[str]] = {}
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            parts = line.split()
            if len(parts) < 2:
                continue
            word = re.sub(r"\(\d+\)$", "", parts[0])
            phones = " ".join(p for p in parts[1:] if not p.startswith("#"))
            pronunciations.setdefault(word, []).append(phones)
    return pronunciations


def guess_pronunciation(word: str, pronunciations: dict[str, list[str]]) -> str | None:
    """A word the dictionary lacks, from its stem: "orienting" is "orient" + "ing"."""
    for suffix, phones in (("ing", "IH NG"), ("ed", "D"), ("s", "Z"), ("ly", "L IY")):
        stem = word[: -len(suffix)]
        if word.endswith(suffix) and stem in pronunciations:
            return f"{pronunciations[stem][0]} {phones}"
    return None


def _db(energy: float) -> float:
    """A band energy in dB (of int16 units); digital silence has a level too."""
    return 10 * math.log10(energy + ENERGY_FLOOR)


class SpeechGate:
    """Speech or not, frame by frame: band level over an adaptive noise floor, with start and end hangover.

    Pure numpy, no engine: `process(frame)` returns "start" when speech begins,
    "end" when it has stopped for `end_seconds`, else None. The floor is a low
    percentile of recent frame levels, so it follows a fan switched on within
    about `floor_seconds`, and speech 8 dB over it counts even at 10 dB SNR.

    Our own breath tone, heard back from the speaker, is a steady sound in the
    band that the floor would follow too: in the 2 h soak it sat 14 dB over the
    room, and a clean "okay stop" and a crisis sentence after it came only 6 dB
    over it and never opened the gate. While the listener says the tone sounds
    (`hear_tone`), the level is taken without the tone's pitches, from a floor
    kept the same way since the tone was first heard.
    """

    def __init__(
        self,
        sample_rate: int,
        frame: int,  # samples per frame
        margin_db: float = 8.0,
        floor_seconds: float = 2.0,
        start_seconds: float = 0.15,
        end_seconds: float = 0.35,
        low_hz: float = LOW_HZ,
        high_hz: float = HIGH_HZ,
        floor_percentile: float = 10.0,
    ):
        self.margin_db = margin_db
        self.floor_percentile = floor_percentile
        self._band_energy = BandEnergy(frame, sample_rate, low_hz, high_hz)
        frame_seconds = frame / sample_rate
        self._levels: deque[float] = deque(maxlen=max(3, round(floor_seconds / frame_seconds)))
        self._tone_hz: tuple[float, float] | None = None  # our own breath tone's lowest and highest pitch, sounding
        self._kept_tone_hz: tuple[float, float] | None = None  # the last tone heard, whose floor is kept
        self._levels_without_tone: deque[float] = deque(maxlen=self._levels.maxlen)
        self._recent: deque[bool] = deque(maxlen=max(1, round(start_seconds / frame_seconds)))
        self._end_frames = max(1, round(end_seconds / frame_seconds))
        self.in_speech = False
        self.quiet_frames = 0  # frames since speech was last heard, while in speech

    def level_db(self, frame: np.ndarray) -> float:
        """Energy of the frame's speech band, in dB (of int16 units)."""
        return _db(float(self._band_energy(frame)))

    def hear_tone(self, tone_hz: tuple[float, float] | None) -> None:
        """Our own breath tone sounds now, between these two pitches (Hz); None: it does not."""
        if tone_hz is not None and tone_hz != self._kept_tone_hz:
            self._kept_tone_hz = tone_hz
            self._levels_without_tone.clear()
        self._tone_hz = tone_hz

    def process(self, frame: np.ndarray) -> str | None:
        """The next frame: "start", "end" or None."""
        if self._kept_tone_hz is None:
            level = self.level_db(frame)
            loud = self._louder_than_floor(level, self._levels)
        else:
            level, level_without_tone = map(_db, self._band_energy.without(frame, self._kept_tone_hz))
            loud = self._louder_than_floor(level, self._levels)
            loud_without_tone = self._louder_than_floor(level_without_tone, self._levels_without_tone)
            if self._tone_hz is not None:
                loud = loud_without_tone
        self._recent.append(loud)
        if not self.in_speech:
            if sum(self._recent) >= 0.6 * self._recent.maxlen:
                self.in_speech, self.quiet_frames = True, 0
                return "start"
            return None
        self.quiet_frames = 0 if loud else self.quiet_frames + 1
        if self.quiet_frames >= self._end_frames:
            self.end_speech()
            return "end"
        return None

    def _louder_than_floor(self, level: float, levels: deque[float]) -> bool:
        floor = float(np.percentile(levels, self.floor_percentile)) if len(levels) >= 3 else level
        levels.append(level)
        return level > floor + self.margin_db

    def levels(self) -> list[float]:
        """The recent frame levels the noise floor is taken from."""
        return list(self._levels)

    def set_levels(self, levels: Sequence[float]) -> None:
        self._levels.clear()
        self._levels.extend(levels)

    def end_speech(self) -> None:
        """Back to waiting for speech (the floor is kept)."""
        self.in_speech = False
        self.quiet_frames = 0
        self._recent.clear()
