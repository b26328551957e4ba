"""What a reading would say had it been a phrase it nearly is: candidates for the second reader to weigh.

A recognizer turns a word it does not expect into one it does: "hurting" into
"turning", "wind down" into "win town". The detector cannot know from the
words alone whether "I've been turning myself" was "hurting", but the second
reader's model, which heard the audio, can weigh "I've been hurting myself"
against its own reading (`Hypothesis.check_fit`). This module only proposes:
each phrase much like part of what was heard, put in place of the words it
lines up with, or merged into them word by word. Pure string work: the
100 crisis sentences take under a millisecond a reading; the 249 start and
control phrasings, lined up from 60 and merged, p50 9 ms and p95 33 ms a
reading (`python benchmarks/matcher_speed.py`, session 10; 20 and 90 ms before
the matcher's phrase search was made cheaper), most of it the matcher checking
candidates and the word alignment in Python.
"""

from __future__ import annotations

from typing import Callable, Iterable

import numpy as np

# rapidfuzz partial_ratio, 0-100, of a phrase to the part of the reading it lines up with, and how many
# candidates at most. Tune split, against 75 and 4: start 392 -> 397 of 438, control 255 -> 258 of 300, crisis
# 168 -> 169 of 171 (with near_cue_max_shortfall 4.0), no new false alarm; the weighing costs 15-25 ms per 4.
MIN_SIMILARITY = 70.0
# Start and control phrases are lined up from lower: the reader's fit, not the letters, tells them from talk.
# Tune split (session 9), with the merges below, against 70: start 406 -> 418 of 438 (10 dB 126 -> 132),
# control 266 -> 268 of 300, no new false alarm; in ordinary talk the nearest candidate came 5.4 nats short
# (limit 4.0; 5.8 at 70). 55 with 12 or 16 candidates gained no more, 50 less (better ones pushed out).
CUE_MIN_SIMILARITY = 60.0
MOST_CANDIDATES = 8
MOST_MERGES = 4  # merged candidates (merged_in) offered besides those
# A one-word phrase is 67 like a word one letter off it ("stop" and "hop" in "please hop"): short phrasings
# are lined up from this instead.
SHORT_PHRASING_LETTERS = 6
SHORT_MIN_SIMILARITY = 60.0
MIN_COVERAGE = 0.75  # a reading shorter than the phrase must reach this share of its letters
MAX_LENGTH_RATIO = 1.35  # and one up to this much longer may have been the phrase alone, in other words


def nearby_phrasings(
    heard: str, phrasings: Iterable[str], keep: Callable[[str], bool], min_similarity: float = MIN_SIMILARITY,
    most: int = MOST_CANDIDATES, keep_extra_words: bool = False,
) -> list[str]:
    """Each phrasing much like part of `heard`, put in its place and widened to whole words ("so i've been
    turning myself lately" -> "so i've been hurting myself lately"), or alone when `heard` is about its
    length; only those `keep` accepts. Lower case; those that change the reading least first.

    With `keep_extra_words`, also up to MOST_MERGES more: the phrasing merged word by word into what was
    heard, keeping the words heard inside it that it lacks ("i swallowed a whole battle of kills" -> "i
    swallowed a whole bottle of pills", which putting "i swallowed a bottle of pills" in place loses "whole"
    from)."""
    from rapidfuzz import fuzz

    text = " ".join(heard.lower().split())
    if not text:
        return []
    placed: dict[str, float] = {}  # candidate: how little the whole reading had to change (rapidfuzz ratio)
    merged: dict[str, float] = {}
    for phrasing in phrasings:
        cutoff = min(min_similarity, SHORT_MIN_SIMILARITY) if len(phrasing) <= SHORT_PHRASING_LETTERS else min_similarity
        aligned = fuzz.partial_ratio_alignment(phrasing, text, score_cutoff=cutoff)
        if aligned is None:
            continue
        candidates = []
        if len(text) < len(phrasing):  # the reading was lined up inside the phrasing
            if len(text) < MIN_COVERAGE * len(phrasing):
                continue
        else:  # the phrasing inside the reading
            start = text.rfind(" ", 0, aligned.dest_start) + 1
            end = text.find(" ", aligned.dest_end)
            candidates.append(" ".join((text[:start] + phrasing + (text[end:] if end >= 0 else "")).split()))
        if len(text) <= MAX_LENGTH_RATIO * len(phrasing):
            candidates.append(phrasing)
        for found, offered in ((placed, candidates), (merged, merged_in(phrasing, text) if keep_extra_words else [])):
            for candidate in offered:
                if candidate not in found and candidate != text:
                    found[candidate] = fuzz.ratio(candidate, text)
    # Merges come on top of the phrases put in place, never instead: ranked with them, they kept more of the
    # reading and pushed right ones out ("i want to go hurt myself" out-ranking "i want to hurt myself").
    chosen = best_kept(placed, keep, most)
    chosen += best_kept({c: r for c, r in merged.items() if c not in placed}, keep, MOST_MERGES if most else 0)
    everything = placed | merged
    return sorted(chosen, key=lambda candidate: -everything[candidate])


def best_kept(found: dict[str, float], keep: Callable[[str], bool], most: int) -> list[str]:
    """The `most` candidates nearest the reading that `keep` accepts. `keep` (a matcher, some milliseconds a
    text) is asked only until it has them."""
    kept: list[str] = []
    for candidate in sorted(found, key=lambda candidate: -found[candidate]):
        if len(kept) >= most:
            break
        if keep(candidate):
            kept.append(candidate)
    return kept


# Word alignment costs for merged_in: a word heard inside the phrase and kept, a phrase word heard as nothing,
# and a word heard for a phrase word (0 when the same, up to 1 when nothing alike). A word of one's own inside a
# phrase ("really", "whole") is commoner than one misheard past all likeness ("really" for "i've"), and a
# phrase word misheard commoner than one dropped ("pills" for "water" at the end of the phrase).
_KEPT_COST = 0.6
_MISSING_COST = 1.25
MOST_KEPT_WORDS = 2  # a phrase with more words of the reading's own inside it is another sentence
MERGE_MARGIN = 0.5  # in alignment cost: about one word kept, or a word paired that is not much alike


def merged_in(phrasing: str, heard: str) -> list[str]:
    """`phrasing` lined up word by word with a run of `heard` (an edit alignment in which words are alike by
    their letters), and the words heard inside that run but not in the phrasing kept in their places: "i
    swallowed a whole battle of kills" with "i swallowed a bottle of pills" gives "i swallowed a whole bottle
    of pills". One merge for the run the phrasing fits best, and for each run ending elsewhere that fits
    nearly as well (MERGE_MARGIN): "my chest is really tied" fits "my chest is tight" best as "my chest is
    [really for tight] tied", but "my chest is really tight" is what was said. Only merges that keep one to
    MOST_KEPT_WORDS words (with none, putting the phrasing in place gives the same)."""
    from rapidfuzz import fuzz
    from rapidfuzz.process import cdist

    wanted, words = phrasing.split(), heard.split()
    if not wanted or not words:
        return []
    likeness = cdist(wanted, words, scorer=fuzz.ratio, dtype=np.float64)  # every pair at once, in C++
    rows, columns = len(wanted) + 1, len(words) + 1
    # cost[i][j]: the phrasing's first i words lined up with a run of heard words ending before j (any start).
    cost = [[0.0] * columns for _ in range(rows)]
    step = [[""] * columns for _ in range(rows)]
    for i in range(1, rows):
        cost[i][0], step[i][0] = i * _MISSING_COST, "missing"
        for j in range(1, columns):
            alike = 1.0 - float(likeness[i - 1, j - 1]) / 100.0
            # On a tie a pair wins: a phrase word heard as another word is the recognizer's usual mistake.
            cost[i][j], _, step[i][j] = min(
                (cost[i - 1][j - 1] + alike, 0, "pair"),
                (cost[i - 1][j] + _MISSING_COST, 1, "missing"),
                (cost[i][j - 1] + _KEPT_COST, 2, "kept"),
            )
    best = min(cost[rows - 1])
    found = []
    for end in sorted(range(columns), key=lambda j: cost[rows - 1][j]):
        if cost[rows - 1][end] > best + MERGE_MARGIN:
            break
        merged: list[str] = []
        kept = 0
        i, j = rows - 1, end
        while i > 0:
            move = step[i][j]
            if move == "pair":
                merged.append(wanted[i - 1])
                i, j = i - 1, j - 1
            elif move == "missing":
                merged.append(wanted[i - 1])
                i -= 1
            else:
                merged.append(words[j - 1])
                kept += 1
                j -= 1
        if 0 < kept <= MOST_KEPT_WORDS:
            found.append(" ".join(words[:j] + merged[::-1] + words[end:]))
    return found


# How many of the cue model's words before and after what it matched are also tried without them (trimmed).
TRIM_LEADING_WORDS = 3
TRIM_TRAILING_WORDS = 2


def trimmed(heard: str, keeps: Callable[[str], bool], most_leading: int = TRIM_LEADING_WORDS,
            most_trailing: int = TRIM_TRAILING_WORDS) -> list[str]:
    """`heard` with up to `most_leading` words dropped from its start and up to `most_trailing` from its end,
    wherever `keeps` still holds of what is left; `heard` itself not included, longest first. In babble the
    cue model writes other voices' words around what was said ("i said i someone is hurting me on", "what
    i'm i physiological sigh it not"), and the second reader finds the whole far less likely than the words
    said alone: candidates for it to weigh, like the others here."""
    words = heard.split()
    trims = [
        " ".join(words[first : len(words) - last])
        for first in range(min(most_leading, len(words) - 1) + 1)
        for last in range(min(most_trailing, len(words) - 1 - first) + 1)
        if first or last
    ]
    trims.sort(key=lambda trim: -len(trim.split()))
    return [trim for trim in dict.fromkeys(trims) if keeps(trim)]
