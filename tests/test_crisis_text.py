"""Crisis language in transcripts: caught directly, indirectly and as a recognizer mangles it; figures of speech left alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.library.loader import load_library
from assistant.speech.crisis import CATEGORIES, CrisisMatch, detect_crisis
from assistant.speech.cues import CueMatcher, normalize

DATA = Path(__file__).parent / "data"
MAX_ORDINARY_FLAGGED = 2  # of the ordinary sentences; the aim is 0


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
    ],
)
def test_figures_of_speech_are_not_crisis(sentence):
    """Each common figure of speech built from crisis words is left alone."""
    assert detect_crisis(sentence) is None


@pytest.mark.parametrize(
    "sentence, category",
    [
        ("I want to kill myself", "suicidal"),
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
