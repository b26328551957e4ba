"""Crisis language in transcripts: caught directly, indirectly and as a recognizer mangles it; figures of speech left alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.library.loader import load_library
from assistant.speech.crisis import (
    CATEGORIES,
    CrisisMatch,
    crisis_trims,
    crisis_widenings,
    detect_crisis,
    near_crisis_sentences,
)
from assistant.speech.nearby import MOST_CANDIDATES, MOST_MERGES
from assistant.speech.phonetic import MOST_SWAPS
from assistant.speech.cues import CueMatcher, normalize

DATA = Path(__file__).parent / "data"
MAX_ORDINARY_FLAGGED = 2  # of the ordinary sentences; the aim is 0
MAX_DEV_FLAGGED_SHARE = 0.01  # of the dev set's ordinary sentences


def _lines(name: str) -> list[str]:
    text = (DATA / name).read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


@pytest.fixture(scope="module")
def matcher(tmp_path_factory) -> CueMatcher:
    """The bundled cue map only (an empty user folder), as `grounding detect --text` would use it."""
    library = load_library(user_dir=tmp_path_factory.mktemp("no-user-files"))
    return CueMatcher(library.cue_maps)


def test_the_phrase_files_are_big_enough():
    """At least 60 crisis phrasings and 150 ordinary sentences, none listed twice."""
    crisis, ordinary = _lines("crisis_phrases.txt"), _lines("ordinary_sentences.txt")
    assert len(crisis) >= 60 and len(ordinary) >= 150
    assert len({normalize(line) for line in crisis}) == len(crisis)
    assert len({normalize(line) for line in ordinary}) == len(ordinary)


def test_every_crisis_phrase_is_caught():
    """Recall on our own phrasings is total: a miss is the worst failure the product can have."""
    phrases = _lines("crisis_phrases.txt")
    missed = [phrase for phrase in phrases if detect_crisis(phrase) is None]
    print(f"\ncrisis recall: {len(phrases) - len(missed)}/{len(phrases)}")
    assert not missed, "missed crisis phrasings:\n" + "\n".join(missed)


def test_the_dev_sets_are_big_enough_and_new():
    """Dev sets: at least 60 crisis phrasings and 150 ordinary sentences, none listed twice or taken from the first sets."""
    crisis, ordinary = _lines("crisis_phrases_dev.txt"), _lines("ordinary_sentences_dev.txt")
    assert len(crisis) >= 60 and len(ordinary) >= 150
    assert len({normalize(line) for line in crisis}) == len(crisis)
    assert len({normalize(line) for line in ordinary}) == len(ordinary)
    earlier = {normalize(line) for line in _lines("crisis_phrases.txt") + _lines("ordinary_sentences.txt")}
    assert not earlier.intersection(normalize(line) for line in crisis + ordinary)


def test_every_dev_crisis_phrase_is_caught():
    """Every dev phrasing is caught: means at hand, dangerous places, preparing, passive wishes, others at risk."""
    phrases = _lines("crisis_phrases_dev.txt")
    missed = [phrase for phrase in phrases if detect_crisis(phrase) is None]
    print(f"\ndev crisis recall: {len(phrases) - len(missed)}/{len(phrases)}")
    assert not missed, "missed crisis phrasings:\n" + "\n".join(missed)


def test_dev_ordinary_sentences_are_at_most_one_percent_crisis():
    """Ordinary dev sentences (other people's accidents, pills and guns and bridges in passing) are rarely crisis."""
    sentences = _lines("ordinary_sentences_dev.txt")
    flagged = [(sentence, detect_crisis(sentence)) for sentence in sentences]
    flagged = [(sentence, found) for sentence, found in flagged if found is not None]
    print(f"\ndev ordinary sentences taken as crisis: {len(flagged)}/{len(sentences)}")
    for sentence, found in flagged:
        print(f"  {sentence!r} -> {found.category}: {found.phrase!r}")
    assert len(flagged) <= MAX_DEV_FLAGGED_SHARE * len(sentences)


def test_ordinary_sentences_are_almost_never_crisis():
    """Ordinary talk, full of 'kill', 'dead', 'done' and 'pills' in harmless senses, is rarely taken as crisis."""
    sentences = _lines("ordinary_sentences.txt")
    flagged = [(sentence, detect_crisis(sentence)) for sentence in sentences]
    flagged = [(sentence, found) for sentence, found in flagged if found is not None]
    print(f"\nordinary sentences taken as crisis: {len(flagged)}/{len(sentences)}")
    for sentence, found in flagged:
        print(f"  {sentence!r} -> {found.category}: {found.phrase!r}")
    assert len(flagged) <= MAX_ORDINARY_FLAGGED


@pytest.mark.parametrize(
    "sentence",
    [
        "this traffic is killing me",
        "I'm dying to see it",
        "my phone is dead",
        "I want to end the session",
        "kill the lights",
        "I could kill for a coffee",
        "that joke killed",
        "the battery died",
        "I'm dead tired",
        "dead end job",
        "I'm so done with this homework",
        "I can't go on with this meeting",
        "I killed myself laughing",
        "I cut myself shaving",
        "I'd rather die than wear those shoes",
        "that cake was to die for",
        "I want to dye my hair",
        "he shot himself in the foot with that email",
        "I'm hopeless at maths",
        "I overdosed on coffee today",
        "I took my pills this morning",
        "I'm not safe to drive after that wine",
        "you're better off without that phone plan",
        "I said goodbye to him at the airport",
        "I left a note on the fridge for the kids",
        "I could sleep forever on a Sunday",
        "my boss is going to kill me",
        "he beat me at chess",
        "he hit me up about the party",
        "he keeps hitting me up about the party",
        "she was beating me at chess again",
        "the police are tightening the noose around the gang",
        "the hangman's noose was used in the old west",
    ],
)
def test_figures_of_speech_are_not_crisis(sentence):
    """Each common figure of speech built from crisis words is left alone."""
    assert detect_crisis(sentence) is None


def test_a_noose_counts_with_what_is_done_with_it_not_as_a_word_heard_for_the_news():
    """Moonshine read "The news can be overwhelming if you read it all day" (10 dB babble) as "A noose can be
    overwhelming ...": the word alone was a false crisis alarm. Said with what someone did with it, where it is,
    or last, it is crisis language."""
    assert detect_crisis("A noose can be overwhelming this leading water day") is None
    assert detect_crisis("the noose makes me anxious") is None
    for said in ("I tied a noose", "I've got a noose ready", "there's a noose in my room", "a noose",
                 "I keep thinking about the noose", "the noose is around my neck"):
        assert detect_crisis(said) is not None, said


@pytest.mark.parametrize(
    "sentence, category",
    [
        ("I want to kill myself", "suicidal"),
        ("he's trying to kill me", "unsafe"),
        ("I'm scared he's going to kill me", "unsafe"),
        ("someone is breaking in", "unsafe"),
        ("I want to end it all", "suicidal"),
        ("I wish I was dead", "suicidal"),
        ("I took a bunch of pills", "overdose"),
        ("I've been cutting again", "self-harm"),
        ("I'm not safe right now", "unsafe"),
        ("everyone would be better off without me", "burden"),
        ("I'm a burden", "burden"),
        ("this is goodbye", "goodbye"),
        ("there's no point anymore", "hopeless"),
        ("I can't do this anymore", "hopeless"),
        ("the pills are lined up next to me", "means"),
        ("my dad's rifle is under the bed", "means"),
        ("I'm standing at the edge of the platform", "place"),
        ("I've been giving away all my belongings", "preparing"),
        ("I've put all my affairs in order", "preparing"),
    ],
)
def test_each_kind_of_crisis_language_has_its_category(sentence, category):
    """Direct and indirect phrasings come back with the category that names them."""
    found = detect_crisis(sentence)
    assert found == CrisisMatch(found.phrase, category) and found.category in CATEGORIES
    assert found.phrase and found.phrase in normalize(sentence)


@pytest.mark.parametrize(
    "transcript",
    [
        "i want to kill my self",
        "kill myself",
        "i keep thinking about cell harm",
        "sell harming",
        "i want to end it al",
        "im not safe",
        "dont want to be here anymore",
        "I WANT TO DIE!!!",
        "i want to\u2026 die",
        "i don\u2019t want to be here any more",
        "okay so um i just really want to die",
        "i want die",
        "im gonna kill myself",
        "i took to many pills",
        "over dose",
        "i think everyone would be happier if i was gone",
        "no body would miss me",
        "better off with out me",
    ],
)
def test_recognizer_mangled_crisis_language_is_caught(transcript):
    """Lower case, no punctuation, dropped words, homophones and odd apostrophes still count."""
    assert detect_crisis(transcript) is not None


@pytest.mark.parametrize(
    "transcript",
    [
        "i have my pills in my hand",
        "theres a loaded gun in the house",  # "a loaded gun" is enough
        "i just climbed onto the roof",
        "i'm sitting on the ledge right now",
        "i want to jump",
        "i know exactly when i'm going to do it",
        "i've been looking up how many tablets it takes",
        "i'd be okay if i never woke up",
        "it'd be easier for everyone if i had never been born",
        "i'm cutting again right now",
        "im going to do something i cant undo",
    ],
)
def test_danger_told_without_naming_it_is_caught(transcript):
    """Means at hand, a dangerous place, a plan, a passive wish: crisis without the word suicide."""
    assert detect_crisis(transcript) is not None


@pytest.mark.parametrize(
    "sentence",
    [
        "my uncle nicked himself shaving",
        "she burned herself on the kettle",
        "he hurt himself playing rugby",
        "my son cut himself on a broken glass",
        "she hurt herself when she tripped",
        "they hurt themselves in the crash",
        "I hurt myself lifting boxes",
    ],
)
def test_ordinary_accidents_told_of_anyone_are_not_crisis(sentence):
    """An injury with what caused it is an accident, whoever it happened to."""
    assert detect_crisis(sentence) is None


@pytest.mark.parametrize(
    "sentence",
    [
        "my friend says she wants to kill herself",
        "my sister keeps cutting herself",
        "he told me he wants to end his life",
        "my friend is on the bridge and says he wants to jump",
        "my brother says he is a burden to everyone",
        "my mom said she doesn't want to be alive anymore",
    ],
)
def test_someone_elses_risk_told_by_a_caller_is_crisis(sentence):
    """Third-person risk counts: the resources help the caller too."""
    assert detect_crisis(sentence) is not None


def test_an_accident_said_to_be_on_purpose_is_crisis():
    """The accident mask stands down when the speaker says it was deliberate."""
    assert detect_crisis("I cut myself shaving") is None
    assert detect_crisis("I burned myself on the stove on purpose") is not None
    assert detect_crisis("she cut herself on the glass deliberately") is not None


def test_better_off_without_someone_else_is_not_burden_language():
    """'Better off without him' is breakup advice; only 'without me' is burden language."""
    assert detect_crisis("honestly you're better off without him") is None
    assert detect_crisis("honestly you're better off without me") is not None


def test_a_benign_phrase_does_not_hide_crisis_in_the_same_utterance():
    """Masking a figure of speech blanks only its own words; the rest of the sentence is still read."""
    assert detect_crisis("this traffic is killing me and I want to kill myself") is not None
    assert detect_crisis("I'm dead tired and honestly I wish I was dead") is not None
    assert detect_crisis("let's end the session, I want to end my life") is not None


def test_nothing_and_noise_are_not_crisis():
    """Empty text and recognizer noise markers are not crisis."""
    assert detect_crisis("") is None
    assert detect_crisis("[unk] [unk]") is None
    assert detect_crisis("   ") is None


@pytest.mark.parametrize(
    "transcript",
    [
        "stop, I want to kill myself",
        "stop i want to die",
        "pause I took too many pills",
        "I'm spiraling and I want to die",
        "okay slower please, I don't want to be here anymore",
        "box breathing, nobody would miss me anyway",
    ],
)
def test_crisis_outranks_start_and_control(matcher, transcript):
    """When a start or control cue shares the utterance with crisis language, crisis wins."""
    detection = matcher.match(transcript)
    assert (detection.kind, detection.intent) == ("crisis", "crisis")
    assert matcher.match_all(transcript)[0].kind == "crisis"


def test_crisis_needs_no_cue_map():
    """The crisis lexicon lives in code: a matcher with no cue maps at all still hears it."""
    detection = CueMatcher([]).match("everyone would be better off without me")
    assert detection is not None and detection.kind == "crisis"


@pytest.mark.parametrize(
    "text",
    ["i can't go on i'm spiraling", "i can't take it anymore i'm so tired", "i don't want to be here anymore you know",
     "i wish i was dead i mean it"],
)
def test_a_clause_ending_phrase_run_on_into_the_next_sentence_is_crisis(text):
    """Recognizers write no full stops: a crisis phrase followed straight by "I'm..." or "you..." still counts."""
    assert detect_crisis(text) is not None


def test_a_run_on_cut_does_not_turn_harmless_plans_into_crisis():
    """Only sentence openers cut: "I can't go on the ride" and "I want to dye my hair" stay harmless."""
    for text in ["i can't go on the ride because i'm scared", "i want to dye my hair", "i can't go on vacation this year"]:
        assert detect_crisis(text) is None, text


# --- readings that nearly said a crisis sentence ---------------------------------------------------------


@pytest.mark.parametrize(
    "heard, meant",
    [
        ("I've been turning myself", "i've been hurting myself"),  # a word the reader did not expect
        ("I want to go to myself", "i want to hurt myself"),
        ("I talk too many films", "i took too many pills"),
        ("Someone in herd in me", "someone is hurting me"),
        ("I've written goodbye later", "i've written goodbye letters"),
        ("so I've been turning myself lately", "so i've been hurting myself lately"),  # put in place, words kept
        # One word put back as a crisis sentence's word that sounds the same, the rest kept (session 33).
        ("I swallowed the whole bottle of bills", "i swallowed the whole bottle of pills"),
    ],
)
def test_a_reading_that_nearly_said_a_crisis_sentence_offers_it(heard, meant):
    """Candidates for the second reader to weigh against the audio, not detections."""
    assert not detect_crisis(heard)
    candidates = near_crisis_sentences(heard)
    assert meant in candidates, candidates
    assert all(detect_crisis(candidate) for candidate in candidates)
    assert len(candidates) <= MOST_CANDIDATES + MOST_MERGES + MOST_SWAPS


@pytest.mark.parametrize(
    "heard",
    ["The band's final song was amazing", "I need to renew my passport before the summer", "I want to", "",
     "I want to kill myself"],  # already crisis language: nothing to offer
)
def test_talk_that_is_not_near_any_crisis_sentence_offers_nothing(heard):
    assert near_crisis_sentences(heard) == []


def test_the_harmless_twin_is_offered_too_and_left_to_the_audio():
    """ "I want to treat myself" is as near "hurt myself" as "go to myself" is: only the second reader, which
    heard the audio, can tell them apart (tests/test_moonshine.py shows it does)."""
    assert "i want to hurt myself" in near_crisis_sentences("I want to treat myself")


def test_crisis_trims_drop_a_few_words_either_side_and_keep_only_crisis_language():
    trims = crisis_trims("i said i someone is hurting me on")
    assert "someone is hurting me" in trims and "i said i someone is hurting me on" not in trims
    assert all(detect_crisis(trim) for trim in trims)
    assert "is hurting me" not in trims  # (not crisis language without "someone")
    # at most three words dropped before and two after
    trims = crisis_trims("one two three four i want to die five six seven")
    assert len(trims) == 11 and all(trim.startswith(("one", "two", "three", "four")) for trim in trims)
    assert all(trim.endswith(("five", "six", "seven")) for trim in trims)
    assert crisis_trims("i want to die") == ["want to die"]


def test_crisis_widenings_are_the_crisis_sentences_that_hold_what_was_heard_with_a_word_or_two_more():
    assert crisis_widenings("suicidal") == ["i am suicidal", "i'm suicidal", "i feel suicidal"]
    assert "i'm suicidal" in crisis_widenings("i suicidal it")  # (from its trim "suicidal")
    assert "i just want to die" in crisis_widenings("i want to die")
    assert "i want to die" not in crisis_widenings("i want to die")  # (what was heard is weighed as it is)
    assert crisis_widenings("kill myself") == []  # ("i want to kill myself" has three words more)
    assert all(detect_crisis(widened) for text in ("suicidal", "want to kill myself", "i want to end it")
               for widened in crisis_widenings(text))
