"""Candidates a reading nearly said: the phrase merged word by word into what was heard."""

import pytest

from assistant.speech.nearby import MOST_KEPT_WORDS, merged_in, nearby_phrasings


@pytest.mark.parametrize(
    "phrasing, heard, merged",
    [
        # A word of the speaker's own inside the phrase stays, where putting the phrase in place loses it.
        ("i swallowed a bottle of pills", "i swallowed a whole battle of kills", "i swallowed a whole bottle of pills"),
        ("i've been hurting myself", "i've really been turning myself", "i've really been hurting myself"),
        # Words before and after the run the phrase lines up with stay too.
        ("i took too many pills", "so i took way to many bills tonight", "so i took way too many pills tonight"),
        # A last phrase word heard as another, unlike word is paired with it, not added after it.
        ("i swallowed a bottle of pills", "i swallowed a whole bottle of water", "i swallowed a whole bottle of pills"),
        # The best alignment pairs "tight" with "really" and leaves "tied" after it; the merge that keeps
        # "really" and pairs "tight" with "tied" is nearly as good, and offered too.
        ("my chest is tight", "my chest is really tied", "my chest is really tight"),
    ],
)
def test_a_phrase_is_merged_into_what_was_heard_keeping_the_words_inside_it(phrasing, heard, merged):
    assert merged in merged_in(phrasing, heard)


@pytest.mark.parametrize(
    "phrasing, heard",
    [
        ("i want to hurt myself", "so i want to hurt myself today"),  # nothing inside it to keep: the splice gives it
        ("i want to hurt myself", "i want to treat myself"),  # every word paired: "treat" for "hurt"
        ("i want to die", ""),
        ("", "i want to die"),
    ],
)
def test_no_merge_when_no_word_is_kept(phrasing, heard):
    assert merged_in(phrasing, heard) == []


def test_a_merge_keeps_at_most_the_allowed_words():
    assert MOST_KEPT_WORDS == 2
    phrasing = "i swallowed a bottle of pills"
    assert merged_in(phrasing, "i swallowed a very big battle of kills") == ["i swallowed a very big bottle of pills"]
    assert merged_in(phrasing, "i swallowed a very big whole battle of kills") == []


def test_merged_candidates_are_offered_only_when_asked():
    heard = "i swallowed a whole battle of kills"
    phrasings = ["i swallowed a bottle of pills"]
    assert "i swallowed a whole bottle of pills" in nearby_phrasings(heard, phrasings, lambda _: True, keep_extra_words=True)
    assert "i swallowed a whole bottle of pills" not in nearby_phrasings(heard, phrasings, lambda _: True)
