"""Near cues by sound (phonetic.py): words spelled in phonemes, phrases a reading sounds like."""

from __future__ import annotations

import pytest

from assistant.library.loader import load_library
from assistant.speech import phonetic
from assistant.speech.cues import CueMatcher
from assistant.speech.phonetic import sound_likeness, sound_swaps, sounds_near, sounds_of, word_sounds


@pytest.fixture(scope="module")
def matcher():
    return CueMatcher(load_library().cue_maps)


def test_the_dictionary_comes_with_pocketsphinx():
    assert phonetic.dictionary_path() is not None and phonetic.available()


def test_words_are_spelled_in_phonemes_numbers_as_their_words():
    assert len(word_sounds("breathing")) == 6  # B R IY DH IH NG
    assert phonetic.words_of("I'm, 478! 10 minutes, 45") == ["i'm", "four", "seven", "eight", "ten", "minutes",
                                                            "four", "five"]
    # Voiced and voiceless pairs and near vowels are one class: a recognizer swaps them.
    assert sounds_of(["bat"]) == sounds_of(["pad"])
    # A word the dictionary lacks is spelled by its letters, not dropped.
    assert sounds_of(["zzyzxq"]) != "" and sounds_of(["blorpington"]) != ""


def test_a_phrase_a_reading_sounds_like_is_proposed_in_place_of_the_words(matcher):
    """Report split, clean: "resonance breathing" read "Resident streaming" (session 22's miss)."""
    read = "Resident streaming."
    assert "resonance breathing" not in matcher.near_cues(read)  # letters do not reach it
    proposed = matcher.sounds_near_cues(read, matcher.near_cues(read))
    assert proposed[0] == "resonance breathing"
    # In place of the words that sound like it, the speaker's own kept around them.
    assert "please try resonance breathing" in matcher.sounds_near_cues("Please try resident streaming.")


@pytest.mark.parametrize("talk", [
    "My sister called me yesterday about the wedding.",
    "I went to the shop and bought some bread.",
    "It's fine, I'll see you later.",
])
def test_ordinary_sentences_sound_like_no_phrase(matcher, talk):
    assert matcher.sounds_near_cues(talk) == []


def test_the_reading_itself_in_other_words_is_not_proposed(matcher):
    """Moonshine writes "478": "four seven eight" in its place is the same reading, not a candidate."""
    proposed = matcher.sounds_near_cues("478 button overloading")
    assert proposed and not any(candidate.endswith("button overloading") for candidate in proposed)
    assert "four seven eight without holding" in proposed


def test_what_letters_proposed_is_not_proposed_again_and_at_most_most(matcher):
    read = "Resident streaming."
    assert "resonance breathing" not in matcher.sounds_near_cues(read, skip=["Resonance breathing."])
    assert len(matcher.sounds_near_cues(read, most=1)) == 1
    only = sounds_near(read, matcher.phrasings, keep=lambda candidate: "paced" in candidate)
    assert only and all("paced" in candidate for candidate in only)


def test_how_much_a_text_sounds_like_what_was_heard():
    """The nearest run of words in any reading counts; the search's right starts sound like a reading, its
    wrong ones like none (session 25, detector.spot_start_min_sound_likeness)."""
    assert sound_likeness("Should I text her", ["kill i say that", "Should I text here"]) > 0.9
    assert sound_likeness("Let's do four seven eight", ["Let's do force and run a"]) > 0.75
    # Report split, 10 dB: "There's a first aid kit under the sink." searched into the start phrase.
    wrong = sound_likeness("I don't know what I'm feeling",
                           ["thoughts the i that heart is say that it i said say to",
                            "And then I first came to Ketanjata Singh"])
    assert wrong < 0.3
    assert sound_likeness("Help me breathe", ["", "you say that he left me breathe"]) > 0.6
    assert sound_likeness("Help me breathe", ["", ""]) == 0.0


def test_without_the_dictionary_nothing_is_proposed_or_likened(matcher, monkeypatch):
    monkeypatch.setattr(phonetic, "dictionary_path", lambda: None)
    phonetic._pronunciations.cache_clear()
    phonetic.word_sounds.cache_clear()
    try:
        assert matcher.sounds_near_cues("Resident streaming.") == []
        assert sound_likeness("Should I text her", ["Should I text here"]) is None
        assert sound_swaps("I have the bills right here", ["pills"], keep=lambda candidate: True) == []
    finally:
        phonetic._pronunciations.cache_clear()
        phonetic.word_sounds.cache_clear()


def _everything(candidate: str) -> bool:
    return True


def test_a_word_is_put_back_as_one_that_sounds_the_same_and_every_other_word_kept():
    """Report split, clean (session 33): "I swallowed a whole bottle of pills" read "I swallowed the whole bottle
    of bills". Only "bills" was misheard; the swap keeps "the whole" that lining up a phrase loses."""
    assert sound_swaps("I swallowed the whole bottle of bills.", ["pills", "hurt"], _everything) == [
        "i swallowed the whole bottle of pills"]
    # A plural added or dropped is the same word to a reader.
    assert sound_swaps("I have the peel right here", ["pills"], _everything) == ["i have the pills right here"]
    # Sounds alike is not enough without the same sounds: "send" is not "end", "peeled" is not "pills".
    assert sound_swaps("I'm gonna send it, I peeled them", ["end", "pills"], _everything) == []
    # Short words sound like too many others: "heard" and "hurt", "is" and "he's" are not swapped.
    assert sound_swaps("I heard myself, it is", ["hurt", "he's"], _everything) == []


def test_swaps_are_only_those_kept_and_at_most_most():
    heard = "bills and more bills"
    assert sound_swaps(heard, ["pills"], _everything) == ["pills and more bills", "bills and more pills"]
    assert sound_swaps(heard, ["pills"], _everything, most=1) == ["pills and more bills"]
    assert sound_swaps(heard, ["pills"], lambda candidate: candidate.endswith("pills")) == ["bills and more pills"]
    assert sound_swaps(heard, ["bills"], _everything) == []  # the word itself is no swap
