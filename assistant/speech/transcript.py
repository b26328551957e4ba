"""Transcript text made comparable: one spelling for what recognizers and people write many ways.

Shared by the cue matcher and the crisis detector, so both see the same words:
lower case, one apostrophe, contractions expanded ("I'm", "im" and "i m" all
become "i am"; "can't" and "cannot" become "can not"), punctuation gone, small
numbers spelled out ("4-7-8" -> "four seven eight"), single spaces.
"""

from __future__ import annotations

import re
import unicodedata

_APOSTROPHES = re.compile(r"[\u2018\u2019\u201a\u201b\u2032\u02bc\u00b4`]")
_UNKNOWN = re.compile(r"\[unk\]|<unk>|\[noise\]|<noise>|\[laughter\]")
_DIGIT_RUN = re.compile(r"\b\d{3,5}\b")
_SPACED_DIGIT_RUN = re.compile(r"\b\d(?: \d){2,4}\b")  # what _DIGIT_RUN spells out again
_CLAUSE_BREAK = re.compile(r"[.!?;:,\u2026\u2013\u2014\n]+|\s-\s")
# A filler word set off by commas ("I'm, um, spiraling", as a person types it or a recognizer punctuates it)
# is a hesitation inside a start phrase (without_fillers); but "I'm fine, um, stop" is two clauses, the last a
# command, so clauses are still cut there too (split_clauses).
_FILLER_IN_COMMAS = re.compile(r"\s*,?\s*\b(?:u+m+|u+h+m*|e+r+m*|h+m+|m{2,}|a+h+)\b\s*,?\s*", re.IGNORECASE)

# "'s" means "is" after these; elsewhere it is a possessive and only loses its apostrophe.
_IS_WORDS = (
    "it", "that", "what", "he", "she", "there", "here", "who", "where", "how", "when", "why",
    "everything", "nothing", "everyone", "everybody", "nobody", "someone", "somebody", "something", "life", "this",
)
_CONTRACTIONS = (
    (re.compile(r"\bcan't\b"), "can not"),
    (re.compile(r"\bwon't\b"), "will not"),
    (re.compile(r"\bshan't\b"), "shall not"),
    (re.compile(r"\bain't\b"), "is not"),
    (re.compile(r"\b(\w+)n't\b"), r"\1 not"),
    (re.compile(r"\bi'm\b"), "i am"),
    (re.compile(r"\blet's\b"), "let us"),
    (re.compile(r"\b(" + "|".join(_IS_WORDS) + r")'s\b"), r"\1 is"),
    (re.compile(r"\b(\w+)'re\b"), r"\1 are"),
    (re.compile(r"\b(\w+)'ve\b"), r"\1 have"),
    (re.compile(r"\b(\w+)'ll\b"), r"\1 will"),
    (re.compile(r"\b(\w+)'d\b"), r"\1 would"),
)

# Spellings without the apostrophe, as recognizers and quick typists write them, and spoken forms.
# Left out on purpose: "ill", "id", "were", "well", "shell", "hell" are words too. "its" is taken as
# "it is": recognizers drop the apostrophe, and a possessive read as "it is" matches nothing it shouldn't.
_WORDS = {
    "im": "i am", "ive": "i have", "youre": "you are", "youve": "you have", "youll": "you will",
    "theyre": "they are", "theyve": "they have", "theyll": "they will", "weve": "we have",
    "dont": "do not", "doesnt": "does not", "didnt": "did not", "cant": "can not", "cannot": "can not",
    "wont": "will not", "isnt": "is not", "arent": "are not", "wasnt": "was not", "werent": "were not",
    "havent": "have not", "hasnt": "has not", "hadnt": "had not", "couldnt": "could not",
    "wouldnt": "would not", "shouldnt": "should not", "mustnt": "must not", "aint": "is not",
    "thats": "that is", "whats": "what is", "theres": "there is", "heres": "here is", "shes": "she is",
    "hes": "he is", "whos": "who is", "its": "it is", "lets": "let us", "itll": "it will", "thatll": "that will",
    "gonna": "going to", "wanna": "want to", "gotta": "got to", "kinda": "kind of", "sorta": "sort of",
    "outta": "out of", "lemme": "let me", "gimme": "give me", "dunno": "do not know", "ok": "okay",
    "bout": "about", "tryna": "trying to", "finna": "going to", "cuz": "because",
}
# Pairs a recognizer or a stray space splits: "i m", "don t", "it s".
_SPLIT_PAIRS = {
    ("i", "m"): "i am", ("let", "s"): "let us", ("can", "t"): "can not", ("won", "t"): "will not",
    ("my", "self"): "myself", ("your", "self"): "yourself", ("him", "self"): "himself",
    ("her", "self"): "herself", ("all", "right"): "alright", ("any", "more"): "anymore",
}
_NOT_STEMS = ("do", "does", "did", "is", "are", "was", "were", "have", "has", "had", "could", "would", "should", "must", "need")
_PRONOUNS = ("i", "you", "we", "they", "he", "she", "it", "that", "there", "who", "what")
_PRONOUN_ENDINGS = {"re": "are", "ve": "have", "ll": "will", "d": "would"}
# The number words normalize spells out ("4" -> "four"), in order: NUMBER_WORDS[n] is n.
NUMBER_WORDS = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty",
)


def normalize(text: str) -> str:
    """Lower case, contractions expanded, punctuation removed, small numbers spelled out, single spaces."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = _APOSTROPHES.sub("'", text)
    text = _UNKNOWN.sub(" ", text)
    for pattern, replacement in _CONTRACTIONS:
        text = pattern.sub(replacement, text)
    text = text.replace("'", "")  # possessives and the rest: "john's" -> "johns", "o'clock" -> "oclock"
    # Letters of any script survive (a Korean cue file must match what a Korean model hears).
    text = re.sub(r"[\W_]+", " ", text)
    words: list[str] = []
    for word in text.split():
        if word.isascii() and word.isdigit() and int(word) <= 20:
            word = NUMBER_WORDS[int(word)]
        words.extend(_WORDS.get(word, word).split())
    return " ".join(_join_split_pairs(words))


def spell_digit_runs(text: str) -> str:
    """Digits written together spaced apart: "478 with no hold" -> "4 7 8 with no hold".

    A recognizer writes "four seven eight", said as a name, as "478", and "five four three two one" as
    "54321": for the exercises named so. Only where amounts do not matter (start phrases, not crisis
    language, where "45 pills" is a number).
    """
    return _DIGIT_RUN.sub(lambda run: " ".join(run.group()), text)


def in_digits(text: str) -> list[str]:
    """The ways a recognizer may write the number words of bare lower-case `text` in digits, [] when it has
    none: "four seven eight breathing" -> ["478 breathing", "4 7 8 breathing"], "ten minutes of breathing" ->
    ["10 minutes of breathing"].

    What `normalize` and `spell_digit_runs` turn back into words. The second reader writes numbers as digits
    ("478 but not holding", "10 minutes of breathing", "Can I have a 3 minutes breathing space"), so a phrase
    it is asked to weigh is scored in these forms too: in session 22 it found "The 478 breath" 1.5 nats less
    likely than its own "The force emanates breath", "the four seven eight breath" 5.1.
    """
    words = text.split()
    numbers = [word in NUMBER_WORDS for word in words]
    # "one" alone is mostly a pronoun ("no one would miss me", "next one"), written as a word; in a run it counts.
    for k, word in enumerate(words):
        if word == "one" and not any(numbers[max(k - 1, 0):k] + numbers[k + 1:k + 2]):
            numbers[k] = False
    if not any(numbers):
        return []
    spaced = " ".join(str(NUMBER_WORDS.index(word)) if number else word for word, number in zip(words, numbers))
    joined = _SPACED_DIGIT_RUN.sub(lambda run: run.group().replace(" ", ""), spaced)
    return list(dict.fromkeys([joined, spaced]))


def _join_split_pairs(words: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(words):
        pair = tuple(words[i : i + 2])
        if pair in _SPLIT_PAIRS:
            out.extend(_SPLIT_PAIRS[pair].split())
            i += 2
        elif len(pair) == 2 and pair[1] == "t" and pair[0][:-1] in _NOT_STEMS and pair[0].endswith("n"):
            out.extend([pair[0][:-1], "not"])  # "don t" -> "do not"
            i += 2
        elif len(pair) == 2 and pair[0] in _PRONOUNS and pair[1] in _PRONOUN_ENDINGS:
            out.extend([pair[0], _PRONOUN_ENDINGS[pair[1]]])  # "i ll" -> "i will"
            i += 2
        elif len(pair) == 2 and pair[1] == "s" and pair[0] in _IS_WORDS:  # "it s" -> "it is"
            out.extend([pair[0], "is"])
            i += 2
        else:
            out.append(words[i])
            i += 1
    return out


def split_clauses(text: str) -> list[str]:
    """The raw text cut at sentence and clause punctuation; recognizer output is usually one clause."""
    return [part for part in _CLAUSE_BREAK.split(text) if part.strip()]


def without_fillers(text: str) -> str:
    """The raw text without filler words ("um", "uh", "er", "hmm") and the commas around them: "I'm, um,
    spiraling" -> "I'm spiraling"."""
    return _FILLER_IN_COMMAS.sub(" ", text)
