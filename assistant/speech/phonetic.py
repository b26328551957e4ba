"""Phrases a reading sounds like: near cues found by their sounds, not their letters.

The second reader, hearing words it does not expect, writes others that sound
alike but share few letters: "Resident streaming" for "resonance breathing",
"She falls and drips like" for "she hasn't replied", "Reimructus" for "rain
practice". Lined up by letters (nearby.py) these are too far apart to be
proposed; lined up by their phonemes they are near. Each
word is spelled in phonemes from the CMU pronouncing dictionary that
pocketsphinx ships (a data file read here, not the engine), or, for a word it
lacks, from its letters by rule; the words' phonemes are run together, since a
misheard phrase rarely keeps its word breaks. `sound_swaps` does the same for one
word alone, keeping the rest of the reading: "the whole bottle of bills" for
"pills". Pure string work, like nearby.py:
what it proposes is only a candidate for the second reader to weigh against the
audio (Hypothesis.check_fit), never a detection.
"""

from __future__ import annotations

import functools
import importlib.util
import re
from pathlib import Path
from typing import Callable, Iterable

from assistant.speech.nearby import best_kept
from assistant.speech.transcript import normalize, spell_digit_runs

# Levenshtein similarity, 0-1, of a phrase's phonemes (in the coarse classes below) to those of a run of whole
# words of the reading, and how many candidates at most. Chosen offline from session 22's misses, before the
# splits were decoded with it; in session 23's decodes the right ones came 0.60 to 0.67 alike, and the one
# false start it brought 0.65: the reader's fit, not the likeness, tells them apart (detector.py).
MIN_SOUND_SIMILARITY = 0.6
MOST_SOUND_CANDIDATES = 4
MIN_PHONEMES = 5  # shorter phrases ("stop", "pause") sound like too many words
MAX_LENGTH_RATIO = 1.35  # a reading up to this much longer than the phrase may have been the phrase alone
# A word swapped for one that sounds the same (sound_swaps) must have this many phonemes: shorter ones sound
# like too many others ("is" and "he's", "it" and "hit", "hurt" and "heard").
MIN_SWAP_PHONEMES = 3
MOST_SWAPS = 2

# The 39 ARPAbet phonemes of the CMU dictionary, one character each so that rapidfuzz can line them up.
_PHONEMES = ("AA AE AH AO AW AY B CH D DH EH ER EY F G HH IH IY JH K L M N NG OW OY P R S SH T TH UH UW V W Y Z "
             "ZH").split()
_CODE = {phoneme: chr(ord("A") + k) if k < 26 else chr(ord("a") + k - 26) for k, phoneme in enumerate(_PHONEMES)}
# A word the dictionary lacks (a name, a made-up word the reader wrote) is spelled by its letters: pairs first.
_LETTER_PAIRS = {"th": "TH", "sh": "SH", "ch": "CH", "ng": "NG", "ph": "F", "ck": "K", "ee": "IY", "oo": "UW",
                 "ea": "IY", "ai": "EY", "ay": "EY", "ou": "AW", "ow": "OW", "oa": "OW", "qu": "K W", "wh": "W"}
_LETTERS = {"a": "AE", "b": "B", "c": "K", "d": "D", "e": "EH", "f": "F", "g": "G", "h": "HH", "i": "IH", "j": "JH",
            "k": "K", "l": "L", "m": "M", "n": "N", "o": "AA", "p": "P", "q": "K", "r": "R", "s": "S", "t": "T",
            "u": "AH", "v": "V", "w": "W", "x": "K S", "y": "Y", "z": "Z"}
# Sounds a recognizer confuses most, merged: voiced and voiceless pairs, near vowels; "h" dropped.
_MERGED = {"P": "B", "T": "D", "K": "G", "F": "V", "S": "Z", "TH": "DH", "SH": "ZH", "CH": "JH", "AA": "AH", "AO": "AH",
           "IY": "IH", "AE": "EH", "UW": "UH", "NG": "N", "ER": "R"}
_COARSE = str.maketrans({_CODE[phoneme]: _CODE[into] for phoneme, into in _MERGED.items()} | {_CODE["HH"]: None})
_NOT_A_WORD = re.compile(r"[^\w']+")


def dictionary_path() -> Path | None:
    """The CMU pronouncing dictionary inside the pocketsphinx wheel, found without importing pocketsphinx; None
    when pocketsphinx is not installed."""
    spec = importlib.util.find_spec("pocketsphinx")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "model" / "en-us" / "cmudict-en-us.dict"
    return path if path.is_file() else None


@functools.lru_cache(maxsize=1)
def _pronunciations() -> dict[str, str]:
    """word: its first pronunciation, coded one character a phoneme, stress dropped (about 0.3 s, once)."""
    path = dictionary_path()
    if path is None:
        return {}
    coded: dict[str, str] = {}
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            word, _, phonemes = line.partition(" ")
            if "(" in word or word in coded:  # "read(2)": the first pronunciation only
                continue
            coded[word] = "".join(_CODE.get(phoneme.rstrip("012"), "") for phoneme in phonemes.split())
    return coded


def available() -> bool:
    """Whether words can be spelled from the dictionary (else only by letter rules: nothing is proposed)."""
    return bool(_pronunciations())


def _by_letters(word: str) -> str:
    coded, k = [], 0
    while k < len(word):
        pair = _LETTER_PAIRS.get(word[k:k + 2])
        if pair is not None:
            coded.append(pair)
            k += 2
            continue
        if word[k] in _LETTERS and not (k and word[k] == word[k - 1]):  # a doubled letter is one sound
            coded.append(_LETTERS[word[k]])
        k += 1
    return "".join(_CODE[phoneme] for phonemes in coded for phoneme in phonemes.split())


@functools.lru_cache(maxsize=4096)
def word_sounds(word: str) -> str:
    """A lower-case word's phonemes, one character each."""
    return _pronunciations().get(word) or _pronunciations().get(word.strip("'")) or _by_letters(word.replace("'", ""))


def words_of(text: str) -> list[str]:
    """Lower-case words, punctuation dropped, apostrophes kept ("i'm"), numbers in words: digit runs one
    number word a digit ("478" -> "four seven eight"), other numbers up to twenty as normalize spells them."""
    words = []
    for word in _NOT_A_WORD.sub(" ", spell_digit_runs(text.lower())).split():
        if word.isascii() and word.isdigit():
            words += normalize(word if int(word) <= 20 else " ".join(word)).split()
        else:
            words.append(word)
    return words


def sounds_of(words: Iterable[str]) -> str:
    """The words' phonemes run together, in the coarse classes a misheard word keeps (_COARSE)."""
    return "".join(word_sounds(word) for word in words).translate(_COARSE)


@functools.lru_cache(maxsize=1024)
def _phrase_sounds(phrasing: str) -> str:
    """A cue phrasing's sounds (sounds_of), spelled once: the same 250 phrasings are lined up with every reading."""
    return sounds_of(words_of(phrasing))


def _runs(words: list[str]) -> tuple[list[tuple[int, int]], list[str]]:
    """Every run of whole words, as (first, end), and each run's sounds (sounds_of)."""
    runs = [(first, end) for first in range(len(words)) for end in range(first + 1, len(words) + 1)]
    return runs, [sounds_of(words[first:end]) for first, end in runs]


def sound_likeness(text: str, heard: Iterable[str]) -> float | None:
    """How much `text` sounds like the nearest run of words in any of the `heard` readings: 1.0 the same
    phonemes (coarse classes), 0.0 nothing alike; None when words cannot be spelled from the dictionary."""
    from rapidfuzz.distance import Levenshtein
    from rapidfuzz.process import cdist

    if not available():
        return None
    sounds = sounds_of(words_of(text))
    runs = [sounds for reading in heard for sounds in _runs(words_of(reading))[1]]
    if not sounds or not runs:
        return 0.0
    return float(cdist([sounds], runs, scorer=Levenshtein.normalized_similarity).max())


def sounds_near(
    heard: str, phrasings: Iterable[str], keep: Callable[[str], bool], most: int = MOST_SOUND_CANDIDATES,
    min_similarity: float = MIN_SOUND_SIMILARITY, skip: Iterable[str] = (),
) -> list[str]:
    """Each phrasing whose phonemes are much like those of a run of `heard`'s words, put in place of that run
    ("resident streaming please" -> "resonance breathing please"), or alone when `heard` sounds about its
    length; at most `most` that `keep` accepts and that are not in `skip` (those proposed by letters
    already), the nearest by sound first. Lower case, without punctuation."""
    from rapidfuzz.distance import Levenshtein
    from rapidfuzz.process import cdist

    if not available():
        return []
    words = words_of(heard)
    if not words:
        return []
    runs, run_sounds = _runs(words)
    heard_length = len(sounds_of(words))
    wanted = [(phrasing.lower(), _phrase_sounds(phrasing)) for phrasing in phrasings]
    wanted = [(phrasing, sounds) for phrasing, sounds in wanted if len(sounds) >= MIN_PHONEMES]
    if not wanted:
        return []
    # Every phrase against every run at once, in C++: 250 phrases and a ten-word reading's 55 runs, under 1 ms.
    likeness = cdist([sounds for _, sounds in wanted], run_sounds, scorer=Levenshtein.normalized_similarity)
    text = " ".join(words)
    skipped = {" ".join(words_of(other)) for other in skip} | {text}
    found: dict[str, float] = {}
    for (phrasing, sounds), row in zip(wanted, likeness):
        best = int(row.argmax())
        if row[best] < min_similarity:
            continue
        first, end = runs[best]
        candidates = [" ".join(words[:first] + [phrasing] + words[end:])]
        if heard_length <= MAX_LENGTH_RATIO * len(sounds):
            candidates.append(phrasing)
        for candidate in candidates:
            if candidate not in skipped:
                found[candidate] = max(found.get(candidate, 0.0), float(row[best]))
    return best_kept(found, keep, most)


_PLURAL = _CODE["Z"]  # "S" is in its class


def _swap_key(word: str) -> str:
    """A word's sounds in the coarse classes, a last "s" or "z" dropped ("pills" and "peel" alike: a reader adds
    and drops a plural); "" when that leaves fewer than MIN_SWAP_PHONEMES."""
    sounds = sounds_of([word])
    if sounds.endswith(_PLURAL):
        sounds = sounds[:-1]
    return sounds if len(sounds) >= MIN_SWAP_PHONEMES else ""


@functools.lru_cache(maxsize=8)
def _by_sound(vocabulary: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """The vocabulary's words by their _swap_key."""
    found: dict[str, list[str]] = {}
    for word in vocabulary:
        key = _swap_key(word)
        if key:
            found.setdefault(key, []).append(word)
    return {key: tuple(words) for key, words in found.items()}


def sound_swaps(
    heard: str, vocabulary: Iterable[str], keep: Callable[[str], bool], most: int = MOST_SWAPS
) -> list[str]:
    """`heard` with one word put back as a vocabulary word that sounds the same in the coarse classes, every other
    word kept ("i swallowed the whole bottle of bills" -> "...of pills"): a slip the second reader makes in a
    reading otherwise right, which lining up by letters or by phrase cannot mend without losing words of the
    reading. At most `most` that `keep` accepts, in the reading's order. Lower case, without
    punctuation."""
    if not available():
        return []
    index = _by_sound(tuple(vocabulary))  # (a caller's constant vocabulary is indexed once)
    words = words_of(heard)
    found: list[str] = []
    for position, word in enumerate(words):
        for alike in index.get(_swap_key(word), ()):  # (no word is indexed under "", a key too short)
            if len(found) >= most:
                return found
            candidate = " ".join(words[:position] + [alike] + words[position + 1:])
            if alike != word and candidate not in found and keep(candidate):
                found.append(candidate)
    return found
