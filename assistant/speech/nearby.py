"""What a reading would say had it been a phrase it nearly is: candidates for the second reader to weigh.

A recognizer turns a word it does not expect into one it does: "hurting" into
"turning", "wind down" into "win town". The detector cannot know from the
words alone whether "I've been turning myself" was "hurting", but the second
reader's model, which heard the audio, can weigh "I've been hurting myself"
against its own reading (`Hypothesis.check_fit`). This module only proposes:
each phrase much like part of what was heard, put in place of the words it
lines up with. Pure string work (rapidfuzz, in C++), well under a millisecond
for a hundred phrases.
"""

from __future__ import annotations

from typing import Callable, Iterable

# rapidfuzz partial_ratio, 0-100, of a phrase to the part of the reading it lines up with, and how many
# candidates at most. Tune split, against 75 and 4: start 392 -> 397 of 438, control 255 -> 258 of 300, crisis
# 168 -> 169 of 171 (with near_cue_max_shortfall 4.0), no new false alarm; the weighing costs 15-25 ms per 4.
MIN_SIMILARITY = 70.0
MOST_CANDIDATES = 8
# A one-word phrase is 67 like a word one letter off it ("stop" and "hop" in "please hop"): short phrasings
# are lined up from this instead.
SHORT_PHRASING_LETTERS = 6
SHORT_MIN_SIMILARITY = 60.0
MIN_COVERAGE = 0.75  # a reading shorter than the phrase must reach this share of its letters
MAX_LENGTH_RATIO = 1.35  # and one up to this much longer may have been the phrase alone, in other words


def nearby_phrasings(
    heard: str, phrasings: Iterable[str], keep: Callable[[str], bool], min_similarity: float = MIN_SIMILARITY,
    most: int = MOST_CANDIDATES,
) -> list[str]:
    """Each phrasing much like part of `heard`, put in its place and widened to whole words ("so i've been
    turning myself lately" -> "so i've been hurting myself lately"), or alone when `heard` is about its
    length; only those `keep` accepts. Lower case; those that change the reading least first."""
    from rapidfuzz import fuzz

    text = " ".join(heard.lower().split())
    if not text:
        return []
    found: dict[str, float] = {}
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
        for candidate in candidates:
            if candidate not in found and candidate != text and keep(candidate):
                found[candidate] = fuzz.ratio(candidate, text)  # how little the whole reading had to change
    return sorted(found, key=lambda candidate: -found[candidate])[:most]
