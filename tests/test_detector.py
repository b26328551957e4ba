"""Streaming detection with a scripted recognizer: stability, one fire per utterance, refractory, self-gating."""

from __future__ import annotations

import numpy as np

from assistant.library.loader import load_library
from assistant.speech.cues import CueMatcher
from assistant.speech.detector import DetectorSettings, StreamDetector, own_line_pieces, texts_to_weigh
from assistant.speech.recognizer import Fit, Hypothesis
from assistant.speech.transcript import normalize

RATE = 16000
BLOCK = 1600


class ScriptedRecognizer:
    """Returns, for each block fed, the hypotheses scripted for it (text, is_final[, check_text[, shortfalls[,
    spots[, reading_logprob[, paced]]]]]): shortfalls, {text: per token}, are what the second reader answers
    when a final's fit is asked; spots, [(text, shortfall in all)], what it spots in the audio when asked
    (Hypothesis.check_spot); reading_logprob, how likely the reader found its own reading; paced, {pace: text},
    its readings at other paces (Hypothesis.check_paced); loud, its reading of the loud part alone
    (Hypothesis.check_loud)."""

    name = "scripted"
    sample_rate = RATE

    def __init__(self, script, reading_name=None):
        self.script = list(script)
        self.fed = 0
        self.reading_name = reading_name
        self.spot_asked = []  # (phrasings, most_shortfall) of every check_spot call
        self.paced_asked = []  # the paces of every check_paced call
        self.loud_asked = 0  # how often check_loud was called

    def accept(self, samples):
        self.fed += len(samples)
        step = self.script.pop(0) if self.script else []
        return [self._hypothesis(*entry) for entry in step]

    def _hypothesis(self, text, is_final, check_text=None, shortfalls=None, spots=None, reading_logprob=-1.0,
                    paced=None, loud=None):
        def check_fit(texts):
            return [Fit(-shortfalls[text] * 4 + reading_logprob, reading_logprob, 4) if text in shortfalls else None
                    for text in texts]  # four tokens

        def check_spot(phrasings, most_shortfall):
            # as the reader does: the transcripts with one of the phrasings in them (the limit is the detector's)
            self.spot_asked.append((tuple(phrasings), most_shortfall))
            return [(spotted, Fit(-1.0 - shortfall, -1.0, 6)) for spotted, shortfall in spots
                    if any(f" {normalize(phrasing)} " in f" {normalize(spotted)} " for phrasing in phrasings)]

        def check_paced(paces):
            self.paced_asked.append(tuple(paces))
            return [paced.get(pace, "") for pace in paces]

        def check_loud():
            self.loud_asked += 1
            return loud

        return Hypothesis(text, is_final, self.fed, check_text, check_fit if shortfalls is not None else None,
                          check_spot if spots is not None else None, check_paced if paced is not None else None,
                          check_loud if loud is not None else None)

    def flush(self):
        return []

    def reset(self):
        pass


def run(script, gate=None, reading_name=None, settings=None):
    detector = StreamDetector(ScriptedRecognizer(script, reading_name), CueMatcher(load_library().cue_maps), settings)
    if gate:
        detector.gate(*gate)
    fired = []
    for _ in range(len(script)):
        fired += detector.feed(np.zeros(BLOCK, np.int16))
    return [(d.detection.kind, d.detection.intent, round(d.time_s, 1)) for d in fired]


def test_a_start_waits_for_the_final_result():
    """Partials of "I'm spiraling" do nothing; the final fires, at the audio position it came from."""
    fired = run([[("i'm spiraling", False)], [("i'm spiraling", False)], [("i'm spiraling", True)]])
    assert fired == [("start", "grounding-5-4-3-2-1", 0.3)]


def test_a_detection_keeps_the_other_reading_of_its_words_for_the_listener():
    """ "I need to slow down", read alike by both readings, fires as the start with the slower control beside it."""
    detector = StreamDetector(
        ScriptedRecognizer([[("i need to slow down", False)], [("i need to slow down", True, "I need to slow down.")]]),
        CueMatcher(load_library().cue_maps))
    fired = [timed.detection for _ in range(2) for timed in detector.feed(np.zeros(BLOCK, np.int16))]
    assert [(d.kind, d.intent, d.alternative) for d in fired] == [("start", "resonance-5-5", ("control", "slower"))]


def test_a_start_in_a_partial_that_the_final_shows_is_a_story_does_not_fire():
    """ "...i'm panicking" mid-utterance, then the whole sentence: a story about panic, not a request."""
    script = [[("my sister said i'm panicking", False)], [("my sister said i'm panicking", False)],
              [("my sister said i'm panicking again at the party last week when we", True)]]
    assert run(script) == []


def test_a_control_partial_must_repeat_before_it_fires():
    """One flickering partial does nothing; the second identical one fires, before the final."""
    fired = run([[("okay stop", False)], [("okay stop", False)], [("okay stop", True)]])
    assert fired == [("control", "stop", 0.2)]


def test_crisis_heard_only_by_the_second_reading_fires():
    """The cue model bent "I want to kill myself" into cue words; the general model's reading of the final is crisis."""
    script = [[("i want to call myself", False)], [("i want to call myself", True, "i want to kill myself")]]
    assert run(script) == [("crisis", "crisis", 0.2)]


def test_the_second_reading_fills_in_only_what_the_first_missed():
    """A cue-model control stands against a second reading that hears a start; a miss takes the second reading's start."""
    assert run([[("okay stop", True, "i'm spiraling")]]) == [("control", "stop", 0.1)]
    assert run([[("i'm sign", True, "i'm spiraling")]]) == [("start", "grounding-5-4-3-2-1", 0.1)]
    assert run([[("i want to kill myself", True, "i want to fill my shelf")]]) == [("crisis", "crisis", 0.1)]


def test_crisis_fires_on_its_first_partial():
    """Crisis language does not wait for a second partial."""
    assert run([[("i want to kill myself", False)]]) == [("crisis", "crisis", 0.1)]


def test_one_utterance_fires_once_and_repeats_are_held_back():
    """Partials and the final of one utterance fire once; the same command right after is refractory."""
    script = [[("stop", False)], [("stop", False)], [("stop", True)], [("stop", True)], [], [], [], [], [], [], [], [], [], [], [], [], [], [], [], [], [], [("stop", True)]]
    assert run(script) == [("control", "stop", 0.2), ("control", "stop", 2.2)]


def test_own_speech_gates_start_cues_but_not_stop_or_crisis():
    """Start cues heard over the assistant's own speech are ignored; stop and crisis are not."""
    gate = (0, 10 * RATE)
    assert run([[("help me breathe", True)]], gate) == []
    assert run([[("stop", True)]], gate) == [("control", "stop", 0.1)]
    assert run([[("i want to die", True)]], gate) == [("crisis", "crisis", 0.1)]


def test_a_start_the_second_reading_heard_nothing_of_is_dropped():
    """The cue model made "box breathing" out of talk; Moonshine heard a sentence about a gym: no start."""
    script = [[("five start i'm stressed before box breathing", True, "the boxing gym opens at six in the morning")]]
    assert run(script) == []


def test_a_start_the_second_reading_heard_its_own_way_still_fires():
    """Some of the phrase's words, heard exactly or loosely, are enough to back the cue ("side" for "sigh")."""
    script = [[("give me one big sigh", True, "Give me one big side")]]
    assert run(script) == [("start", "physiological-sigh", 0.1)]
    script = [[("help me breathe", True, "Help me grieve")]]
    assert run(script) == [("start", "resonance-5-5", 0.1)]


def test_crisis_and_controls_do_not_wait_for_the_second_readings_backing():
    """Only start cues are checked: crisis language acts whatever the other reading heard."""
    assert run([[("i want to kill myself", True, "I want to go to the mall")]]) == [("crisis", "crisis", 0.1)]
    assert run([[("stop", True, "Top")]]) == [("control", "stop", 0.1)]


def test_when_the_readings_heard_different_cues_a_control_far_short_gives_way():
    """Tune split: the cue model's "can we quit it" (stop) for "a quick reset", 5.3 nats short per token of
    four, 21 in all: the second reading's start stands. Nearly as likely, the control stands."""
    script = [[("can we quit it", True, "A quick reset", {"can we quit it": 5.3})]]
    assert weighed(script) == [("start", "physiological-sigh", 0.1)]
    script = [[("can we quit it", True, "A quick reset", {"can we quit it": 1.0})]]
    assert weighed(script) == [("control", "stop", 0.1)]


def test_without_a_second_reading_a_start_fires_as_before():
    assert run([[("help me breathe", True)]]) == [("start", "resonance-5-5", 0.1)]


# --- with a second reader that weighs what the first heard (Hypothesis.check_fit) -------------------------


def weighed(script, gate=None, settings=None):
    return run(script, gate, reading_name="Moonshine base-en", settings=settings)


CRISIS_SEARCHED = DetectorSettings(spot_crisis_max_shortfall=5.0)  # the crisis search is off by default


def test_a_start_that_fits_the_audio_fires_though_the_reader_wrote_other_words():
    """Moonshine wrote "Come me dun" for "calm me down" but finds pocketsphinx's words almost as likely."""
    assert weighed([[("calm me down", True, "Come me dun", {"calm me down": 0.3})]]) == [
        ("start", "resonance-5-5", 0.1)]


def test_a_start_far_short_of_the_readers_own_reading_is_dropped_though_words_overlap():
    """The cue model put "i'm anxious" into a sentence about bread; the second reading shares "I'm" with the
    cue, but finds the first reading's words far less likely than its own."""
    script = [[("i'm to i can you i'm anxious it you leave season", True, "I'm trying a new brand recipe when seen",
                {"i'm to i can you i'm anxious it you leave season": 5.2})]]
    assert weighed(script) == []


def test_a_start_the_cue_model_made_of_a_sentence_the_reader_was_sure_of_is_held_to_a_stricter_limit():
    """Tune split, 10 dB fan: "I love the sound of rain on the roof", which the cue model heard as "i'm nervous
    i'm going on the roof" (a start), read right by Moonshine and found likely (-1.1 nats for 9 words and its
    end). The start falls 2.6 short per token: within the usual limit, not within the one for a sure reading.
    Read as garble ("I lo the sow of ray on the ro", -9 nats), the same start fires."""
    heard, reading = "i'm nervous i'm going on the roof", "I love the sound of rain on the roof"
    assert weighed([[(heard, True, reading, {heard: 2.6}, None, -1.1)]]) == []
    assert weighed([[(heard, True, "I lo the sow of ray on the ro", {heard: 2.6}, None, -9.0)]]) == [
        ("start", "resonance-6", 0.1)]
    assert weighed([[(heard, True, reading, {heard: 1.2}, None, -1.1)]]) == [("start", "resonance-6", 0.1)]
    one_limit = DetectorSettings(start_sure_reading=None)
    assert weighed([[(heard, True, reading, {heard: 2.6}, None, -1.1)]], settings=one_limit) == [
        ("start", "resonance-6", 0.1)]


def test_a_start_with_background_words_around_it_is_weighed_without_them_too():
    """Report split, 10 dB babble: "physiological sigh" heard by the cue model as "what i'm i physiological sigh
    it not" (4.1 short per token as a whole, read "Physiological side"); the phrase alone is 0.8 short (here
    1.1, four tokens: 4.4 in all, too far to fire as a near cue)."""
    heard, read = "what i'm i physiological sigh it not", "Physiological side"
    fits = {heard: 4.1, "physiological sigh": 1.1, "i physiological sigh": 2.0}
    assert weighed([[(heard, True, read, fits)]]) == [("start", "physiological-sigh", 0.1)]
    no_trims = DetectorSettings(trim_max_shortfall=None, near_start_max_shortfall=None)  # (nor a phrase alone)
    assert weighed([[(heard, True, read, fits)]], settings=no_trims) == []
    # a trim is one of many tries: it must come nearer than the limit for the words as heard (3.0)
    assert weighed([[(heard, True, read, {heard: 4.1, "physiological sigh": 2.0})]]) == []


def test_a_start_far_short_gives_way_to_a_cue_a_reading_nearly_said():
    """Tune split, 10 dB babble: "repeat that" heard by the cue model as "i'm zoning out repeat hurt him" (a
    start, far short) and read by Moonshine as "Repeat hair": "repeat that" in its place is weighed and fires."""
    heard = "i'm zoning out repeat hurt him"
    assert weighed([[(heard, True, "Repeat hair", {heard: 4.0, "repeat that": 0.3})]]) == [
        ("control", "repeat", 0.1)]
    assert weighed([[(heard, True, "Repeat hair", {heard: 4.0, "repeat that": 1.5})]]) == []


def test_a_cue_the_second_reader_spots_in_the_audio_fires_when_nothing_else_was_found():
    """Tune split, 10 dB: "I feel so ashamed of myself" heard as "thank so ashamed help myself" and read as "I
    think also ashamed of myself"; no near cue fits, but the likeliest transcript with a cue phrase in it is
    1.8 nats short of Moonshine's own reading."""
    heard, read = "thank so ashamed help myself", "I think also ashamed of myself"
    spotted = [("I think I'm so ashamed of myself", 1.8)]
    recognizer = ScriptedRecognizer([[(heard, True, read, {}, spotted)]], reading_name="Moonshine base-en")
    detector = StreamDetector(recognizer, CueMatcher(load_library().cue_maps))
    assert [(d.detection.kind, d.detection.intent) for d in detector.feed(np.zeros(BLOCK, np.int16))] == [
        ("start", "self-compassion-break")]
    ((phrasings, most),) = recognizer.spot_asked
    assert "i'm so ashamed" in phrasings and "stop" in phrasings and most == detector.settings.spot_max_shortfall
    assert detector.feed(np.zeros(BLOCK, np.int16)) == [] and len(recognizer.spot_asked) == 1  # no crisis search
    recognizer = ScriptedRecognizer([[(heard, True, read, {}, spotted)], []], reading_name="Moonshine base-en")
    detector = StreamDetector(recognizer, CueMatcher(load_library().cue_maps), CRISIS_SEARCHED)
    detector.feed(np.zeros(BLOCK, np.int16))
    assert detector.feed(np.zeros(BLOCK, np.int16)) == []  # with it on, it comes next: none here
    crisis_sentences, most = recognizer.spot_asked[-1]
    assert "i want to kill myself" in crisis_sentences and most == CRISIS_SEARCHED.spot_crisis_max_shortfall
    # more than the limit short: nothing (whatever the reader gives back)
    assert weighed([[(heard, True, read, {}, [("I think I'm so ashamed of myself", 4.5)])]]) == []
    # a crisis sentence in what was spotted is no cue here (crisis language has its own, more careful paths)
    assert weighed([[(heard, True, read, {}, [("I want to die", 0.5), ("I'm so ashamed", 1.0)])]]) == [
        ("start", "self-compassion-break", 0.1)]


def test_a_start_the_reader_spots_fires_only_when_it_sounds_like_what_was_heard():
    """Report split, 10 dB babble: "There's a first aid kit under the sink." was heard "thoughts the i that
    heart is say that it i said say to" and read "And then I first came to Ketanjata Singh"; the search found
    "I don't know what I'm feeling" 2.26 nats short, sounding like neither (0.24). Its right ones do: "Should I
    text her" for "Shornite eggs to the" (0.50), the rain practice's phrase for a reading that sounds like it."""
    heard, read = "thoughts the i that heart is say that it i said say to", "And then I first came to Ketanjata Singh"
    spotted = [("I don't know what I'm feeling", 2.26)]
    assert weighed([[(heard, True, read, {}, spotted)]]) == []
    assert weighed([[(heard, True, read, {}, spotted)]],
                   settings=DetectorSettings(spot_start_min_sound_likeness=None)) == [("start", "rain", 0.1)]
    assert weighed([[("kill i say that", True, "Shornite eggs to the", {}, [("Should I text her", -0.41)])]]) == [
        ("start", "pause-before-texting", 0.1)]
    assert weighed([[("i don't", True, "I don't know what I'm feeding", {}, spotted)]]) == [("start", "rain", 0.1)]
    # controls are not held to it: a short one sounds like little ("Skip" for "Cube", clean)
    assert weighed([[("you", True, "Cube", {}, [("Skip", 0.71)])]]) == [("control", "skip", 0.1)]


def test_a_control_the_reader_spots_after_a_few_misread_words_fires():
    """Report split, 10 dB babble: "can you pause" heard as "a to him you pause i me" and read "Can do pause";
    no reading matches (no command frame), and the reader's search finds "Can do pause" itself likeliest with
    the control phrase in it. A control ending what it spotted counts (CueMatcher.control_ending)."""
    heard, read = "a to him you pause i me", "Can do pause"
    spotted = [("Can do pause", -0.2)]
    assert weighed([[(heard, True, read, {}, spotted)]]) == [("control", "pause", 0.1)]
    assert weighed([[(heard, True, read, {}, spotted)]], settings=DetectorSettings(spot_loose_controls=False)) == []
    assert weighed([[(heard, True, read, {}, [("So the next", 0.0)])]]) == []  # "next" as a noun


def test_a_cue_the_reader_hears_at_another_pace_fires_when_it_fits_at_the_utterances_own():
    """Report split, clean: espeak-ng's en+f4 "give me one big sigh" heard as "you me want to hurry" and read
    "Get me one big side"; read again a tenth slower, "Give me one big sigh", which the reader finds 2.6 nats
    less likely than its own reading at the utterance's own pace (0.33 per token; the script gives per token)."""
    heard, read = "you me want to hurry", "Get me one big side"
    paced = {0.9: "Give me one big sigh", 1.1: "Get me one big side"}
    script = [[(heard, True, read, {"Give me one big sigh": 0.65}, [], -1.0, paced)]]
    recognizer = ScriptedRecognizer(script, reading_name="Moonshine base-en")
    detector = StreamDetector(recognizer, CueMatcher(load_library().cue_maps))
    assert [(d.detection.kind, d.detection.intent) for d in detector.feed(np.zeros(BLOCK, np.int16))] == [
        ("start", "physiological-sigh")]
    assert recognizer.paced_asked == [detector.settings.paced_readings]
    # far less likely at its own pace (4.4 nats in all): nothing; nor when paced readings are not asked for
    assert weighed([[(heard, True, read, {"Give me one big sigh": 1.1}, [], -1.0, paced)]]) == []
    assert weighed(script, settings=DetectorSettings(paced_readings=None)) == []
    # a long utterance is not read again: a cue is short
    long_reading = "Get me one big side of the road and then we went home for tea"
    assert weighed([[(heard, True, long_reading, {"Give me one big sigh": 0.65}, [], -1.0, paced)]]) == []
    # crisis language at another pace needs more: 3.0 nats short in all is not enough (10 dB: "a bit quicker"
    # became "I'm going to kill you, Cat."), 1.4 is (paced_crisis_max_shortfall 2.0; tune split, 10 dB babble:
    # "I just want it all to stop" read "I just wanted all to stop", and right at both paces, 0.34 short)
    killing = {0.9: "", 1.1: "I'm going to kill you cat"}
    assert weighed([[("a bit complicated", True, "A bit complicated", {"I'm going to kill you cat": 0.75},
                      [], -1.0, killing)]]) == []
    stop_it_all = {0.9: "I just want it all to stop", 1.1: "I just want it all to stop"}
    script = [[("i'm really my thoughts want to", True, "I just wanted all to stop",
                {"I just want it all to stop": 0.35}, [], -1.0, stop_it_all)]]
    assert weighed(script) == [("crisis", "crisis", 0.1)]
    assert weighed(script, settings=DetectorSettings(paced_crisis_max_shortfall=None)) == []


def test_paced_readings_are_asked_only_when_nothing_else_was_found():
    """A cue a reading heard fires with no paced reading asked: they cost a reading each."""
    recognizer = ScriptedRecognizer([[("stop", True, "Stop.", {}, [], -1.0, {0.9: "Box breathing"})]],
                                    reading_name="Moonshine base-en")
    detector = StreamDetector(recognizer, CueMatcher(load_library().cue_maps))
    assert [d.detection.intent for d in detector.feed(np.zeros(BLOCK, np.int16))] == ["stop"]
    assert recognizer.paced_asked == []


def test_a_cue_or_crisis_language_in_the_loud_part_alone_fires_when_it_fits_the_whole():
    """Report split, 10 dB pink: espeak-ng's "stop now" heard "felt now" and read "Just open out"; its loud part
    alone is read "Stop now", 2.9 nats less likely than the reading of the whole (0.725 per token here)."""
    heard, read = "felt now", "Just open out"
    assert weighed([[(heard, True, read, {"Stop now": 0.725}, [], -1.0, {}, "Stop now")]]) == [
        ("control", "stop", 0.1)]
    # 5.2 in all: too far, even for a control (near_control_max_shortfall); nothing when the loud part was not
    # read again, or not asked for
    assert weighed([[(heard, True, read, {"Stop now": 1.3}, [], -1.0, {}, "Stop now")]]) == []
    assert weighed([[(heard, True, read, {"": 0.0}, [], -1.0, {}, "")]]) == []
    off = DetectorSettings(loud_part_max_shortfall=None)
    assert weighed([[(heard, True, read, {"Stop now": 0.725}, [], -1.0, {}, "Stop now")]], settings=off) == []
    # Crisis language counts too (10 dB: "I swallowed a whole bottle of pills", read "I swallowed a whole batch
    # of herb curls" whole, is likelier alone)
    pills = "I swallowed a whole bottle of pills"
    assert weighed([[("i have i said that's", True, "I swallowed a whole batch of herb curls", {pills: -0.3},
                      [], -1.0, {}, pills)]]) == [("crisis", "crisis", 0.1)]


def test_the_loud_part_is_read_only_when_nothing_else_was_found():
    """A cue a reading heard fires with the loud part never read: it costs a reading."""
    recognizer = ScriptedRecognizer([[("stop", True, "Stop.", {}, [], -1.0, {}, "Stop")]],
                                    reading_name="Moonshine base-en")
    detector = StreamDetector(recognizer, CueMatcher(load_library().cue_maps))
    assert [d.detection.intent for d in detector.feed(np.zeros(BLOCK, np.int16))] == ["stop"]
    assert recognizer.loud_asked == 0


def test_spotting_cues_is_not_asked_when_a_reading_heard_a_cue_nor_acted_on_over_our_own_voice():
    recognizer = ScriptedRecognizer([[("stop", True, "Stop.", {}, [("Box breathing", 0.0)])]],
                                    reading_name="Moonshine base-en")
    detector = StreamDetector(recognizer, CueMatcher(load_library().cue_maps))
    assert [d.detection.intent for d in detector.feed(np.zeros(BLOCK, np.int16))] == ["stop"]
    assert recognizer.spot_asked == []  # (crisis language is searched for with the next block)
    # our own words, misheard, spotted as a start while we speak: not a start, and no control in it
    script = [[("a time to settle", True, "A time to settle", {}, [("A quick reset", 0.2), ("Stop", 0.1)])]]
    assert weighed(script, gate=(0, 3200, "a time to settle")) == []


def test_crisis_language_the_second_reader_spots_fires_and_outranks_a_cue_spotted_with_it():
    """Tune split, 10 dB fan: "I've been hurting myself" read as "I've been furving myself"; the likeliest
    transcript with a crisis sentence in it is 3.2 nats short."""
    heard, read = "i've been for being myself", "I've been furving myself"
    spotted = [("I've been hurting myself", 3.2), ("I've been breathing myself", 1.0)]
    assert weighed([[(heard, True, read, {}, spotted)]], settings=CRISIS_SEARCHED) == [("crisis", "crisis", 0.1)]
    far_short = [("I've been hurting myself", 5.5)]
    assert weighed([[(heard, True, read, {}, far_short)]], settings=CRISIS_SEARCHED) == []
    assert weighed([[(heard, True, read, {}, spotted)]]) == []  # not searched for by default


def test_crisis_language_is_searched_for_after_a_cue_that_fired_and_wins_a_block_later():
    """A cue acts at once; the search for crisis language in the same utterance comes with the next block."""
    script = [[("stop", True, "Stop it", {}, [("I want it all to stop", 2.0)])], [], []]
    assert weighed(script, settings=CRISIS_SEARCHED) == [("control", "stop", 0.1), ("crisis", "crisis", 0.1)]
    recognizer = ScriptedRecognizer(script, reading_name="Moonshine base-en")
    detector = StreamDetector(recognizer, CueMatcher(load_library().cue_maps), CRISIS_SEARCHED)
    assert [d.detection.kind for d in detector.feed(np.zeros(BLOCK, np.int16))] == ["control"]
    assert recognizer.spot_asked == []
    later = detector.feed(np.zeros(BLOCK, np.int16))
    assert [(d.detection.kind, d.time_s) for d in later] == [("crisis", 0.1)]
    assert len(recognizer.spot_asked) == 1
    # with nothing to find, the next block has nothing to add; at the end of a stream it is asked at once
    assert weighed([[("stop", True, "Stop it", {}, [])], []], settings=CRISIS_SEARCHED) == [("control", "stop", 0.1)]
    recognizer = ScriptedRecognizer([[("stop", True, "Stop it", {}, [("I want it all to stop", 2.0)])]],
                                    reading_name="Moonshine base-en")
    detector = StreamDetector(recognizer, CueMatcher(load_library().cue_maps), CRISIS_SEARCHED)
    detector.feed(np.zeros(BLOCK, np.int16))
    assert [d.detection.kind for d in detector.finish()] == ["crisis"]


def test_crisis_in_a_partial_waits_for_the_final_and_fires_when_it_fits():
    script = [[("i want to kill myself", False)], [("i want to kill myself", False)],
              [("i want to kill myself", True, "I want to go to myself", {"i want to kill myself": 1.2})]]
    assert weighed(script) == [("crisis", "crisis", 0.3)]


def test_crisis_the_cue_model_made_of_talk_is_dropped_when_it_is_far_short():
    """ "He's trying to cut down on sugar": the first reading heard "trying to kill", a partial only "suicidal"."""
    script = [[("numb and suicidal", False)],
              [("he's trying to kill go on children", True, "He's trying to cut down on sugar",
                {"he's trying to kill go on children": 5.5, "numb and suicidal": 6.0})]]
    assert weighed(script) == []


def test_crisis_only_the_cue_model_heard_must_be_nearly_as_likely_in_all_when_the_readings_share_no_word():
    """The 2 h soak, clean talk ("...longer than anyone expected"): pocketsphinx heard "i want to end it" and
    Moonshine "Unhealthy one at the spank did", 2.2 nats short per token (within the crisis limit) but 13.4 in
    all. With not one word in common, the crisis language rests on the cue model alone: it must be nearly as
    likely as the second reading in all (crisis_unshared_max_shortfall, 5 nats; the scripted fits have four
    tokens, so 2.2 per token is 8.8 in all)."""
    read = "Unhealthy one at the spank did"
    assert weighed([[("i want to end it", True, read, {"i want to end it": 2.2})]]) == []
    # The report split's "Item 2 manipul" for "i took too many pills" (10 dB): likelier than the reading itself
    assert weighed([[("i took too many pills", True, "Item 2 manipul", {"i took too many pills": -0.2})]]) == [
        ("crisis", "crisis", 0.1)]
    assert weighed([[("i want to end it", True, read, {"i want to end it": 1.2})]]) == [("crisis", "crisis", 0.1)]
    # One word in common, and the limit per token alone decides; an empty reading shares nothing, and is no sign
    assert weighed([[("i want to end it", True, "Unhealthy one at the end did", {"i want to end it": 2.2})]]) == [
        ("crisis", "crisis", 0.1)]
    assert weighed([[("i want to end it", True, "", {"i want to end it": 2.2})]]) == [("crisis", "crisis", 0.1)]
    # The same holds for a partial the final lost, and for the cue model's words trimmed away around it
    lost = [[("i want to end it", False)],  # (a final with no word like "end" would leave the partial out first)
            [("i want to bend it", True, read, {"i want to bend it": 0.5, "i want to end it": 2.2})]]
    assert weighed(lost) == []
    trimmed = {"can i i want to end it": 4.0, "i want to end it": 1.4}
    assert weighed([[("can i i want to end it", True, read, trimmed)]]) == []
    unlimited = DetectorSettings(crisis_unshared_max_shortfall=None)
    assert weighed(lost, settings=unlimited) == [("crisis", "crisis", 0.2)]
    assert weighed([[("i want to end it", True, read, {"i want to end it": 2.2})]], settings=unlimited) == [
        ("crisis", "crisis", 0.1)]
    assert weighed([[("can i i want to end it", True, read, trimmed)]], settings=unlimited) == [
        ("crisis", "crisis", 0.1)]


def test_crisis_language_with_background_words_around_it_is_weighed_without_them_too():
    """Report split, 20 dB babble: "someone is hurting me" heard by the cue model as "i said i someone is
    hurting me on" (4.0 short per token as a whole, read "Someone in third in me"); the words said alone are
    1.2 short (here 1.3). A trim the reader cannot weigh is no evidence; one more than 1.5 short does not fire either."""
    heard, read = "i said i someone is hurting me on", "Someone in third in me"
    fits = {heard: 4.0, "someone is hurting me": 1.3}  # (5.2 in all: not near enough as a near crisis sentence)
    assert weighed([[(heard, True, read, fits)]]) == [("crisis", "crisis", 0.1)]
    # (and 5.2 is within the reach of a crisis sentence alone with no cue near it, asked when trims find none)
    no_trims = DetectorSettings(trim_max_shortfall=None, near_crisis_alone_max_shortfall=None)
    assert weighed([[(heard, True, read, fits)]], settings=no_trims) == []
    assert weighed([[(heard, True, read, {heard: 4.0})]]) == []
    assert weighed([[(heard, True, read, {heard: 4.0, "someone is hurting me": 2.0})]]) == []


def test_crisis_language_the_cue_model_heard_part_of_is_weighed_inside_the_sentences_that_hold_it():
    """espeak-ng's "I'm suicidal" at its own pace (175 words a minute, faster than any corpus voice): the cue
    model heard "suicidal", 8.7 nats short of Moonshine's "Councillor title" and sharing no word with it, so
    it was dropped; "i'm suicidal" is 2.4 short, and fires (within the limits a trim has)."""
    heard, read = "suicidal", "Councillor title"
    fits = {heard: 8.7 / 4, "i'm suicidal": 2.45 / 4}
    assert weighed([[(heard, True, read, fits)]]) == [("crisis", "crisis", 0.1)]
    assert weighed([[(heard, True, read, fits)]], settings=DetectorSettings(widen_crisis=False)) == []
    assert weighed([[(heard, True, read, {heard: 8.7 / 4, "i'm suicidal": 1.6})]]) == []  # (more than 1.5)


def test_crisis_a_partial_heard_and_the_final_lost_is_weighed_too():
    """The final pass turned "I don't want to be here anymore" into other words; the partial had it right."""
    script = [[("i don't want to be here anymore", False)],
              [("i'm so want to hear anymore", True, "I don't want to be running more",
                {"i'm so want to hear anymore": 3.2, "i don't want to be here anymore": 0.8})]]
    assert weighed(script) == [("crisis", "crisis", 0.2)]


def test_crisis_in_a_partial_the_final_revised_into_what_the_second_reading_heard_does_not_fire():
    """espeak-ng's en+f5 voice (outside the corpus): pocketsphinx's partials went "i want to kill" on the way
    to a final "i want to call him again", which Moonshine read word for word; the partial alone is 9.7 nats
    short, 2.4 per token of four, within the crisis limit. Two readings agreeing outweigh a passing partial."""
    script = [[("i want to kill", False)], [("i want to kill him again", False)],
              [("i want to call him again", True, "I want to call him again",
                {"i want to call him again": 0.0, "i want to kill": 2.4})]]
    assert weighed(script) == [("start", "pause-before-texting", 0.3)]
    # the same partial, when the second reading heard neither "call" nor "kill" there, is weighed and fires
    script[-1] = [("i want to call him again", True, "I want to kiln again",
                   {"i want to call him again": 0.5, "i want to kill": 2.4})]
    assert weighed(script) == [("crisis", "crisis", 0.3)]
    # and when both readings of the final are empty, they agree on nothing
    assert weighed([[("i want to die", False)], [("", True, "", {"i want to die": 0.5})]]) == [("crisis", "crisis", 0.2)]


def test_crisis_in_a_partial_whose_crisis_word_neither_reading_of_the_final_has_does_not_fire():
    """espeak-ng's "I want to text her again" at 175 and 230 words a minute (faster than any corpus voice): a
    partial "want to cut again", a final "want to text them again it", and Moonshine's "I want to take a step
    around again". Lined up word by word, the final's extra "them" hid the revision, and the partial fitted
    well enough to fire crisis resources at someone asking for the pause before texting. "cut" is like no word
    of either reading: the partial was a passing guess."""
    script = [[("want to cut again", False)],
              [("want to text them again it", True, "I want to take a step around again",
                {"want to text them again it": 1.0, "want to cut again": 1.5})]]
    assert weighed(script) == []
    lined_up = DetectorSettings(crisis_partial_lost_to_both=False)
    assert weighed(script, settings=lined_up) == [("crisis", "crisis", 0.2)]


def test_crisis_in_a_partial_whose_words_both_readings_of_the_final_heard_otherwise_does_not_fire():
    """The report split, espeak-ng en-f4 saying "I want to call him again" (clean): the partials went
    "i want to kill", the final "i want to call feeling again" and Moonshine "I wanted to call him again".
    The readings differ, but both put "call" where the partial had "kill": the partial was a passing guess.
    It fired crisis resources at someone asking for the pause before texting."""
    script = [[("i want to kill", False)],
              [("i want to call feeling again", True, "I wanted to call him again",
                {"i want to call feeling again": 2.6, "i want to kill": 2.5})]]
    assert weighed(script) == []
    # a partial the final only carried on is not revised away (its words are the final's first words)...
    carried = [[("he is trying to kill", False)],
               [("he is trying to kill go on children", True, "He's trying to cut down on sugar",
                 {"he is trying to kill go on children": 2.6, "he is trying to kill": 2.0})]]
    assert weighed(carried, settings=DetectorSettings(crisis_cut_max_shortfall=None)) == [("crisis", "crisis", 0.2)]
    # ...but its crisis language ("trying to kill" at its end) was where it was cut, and the final goes on
    # without any: it must be nearly as likely in all (crisis_cut_max_shortfall). The tune split's "He's trying
    # to cut down on sugar" (and the 4 h soak's false crisis): 2.07 per token, 14.5 in all. (Four scripted
    # tokens: 2.0 per token is 8 in all, 1.0 is 4.)
    assert weighed(carried) == []
    carried[-1][0][3]["he is trying to kill"] = 1.0
    assert weighed(carried) == [("crisis", "crisis", 0.2)]
    # A final that goes on with crisis language of its own fires as before (on its own words)
    kept_on = [[("he is trying to kill", False)],
               [("he is trying to kill me now", True, "He's trying to cut down on sugar",
                 {"he is trying to kill me now": 2.9, "he is trying to kill": 2.0})]]
    assert weighed(kept_on) == [("crisis", "crisis", 0.2)]
    # and one the final revised, when the second reading kept the partial's word, fires
    kept = [[("i want to kill", False)],
            [("i want to call feeling again", True, "I want to kill feeling again",
              {"i want to call feeling again": 2.6, "i want to kill": 2.5})]]
    assert weighed(kept)[0][:2] == ("crisis", "crisis")


def test_crisis_fires_when_the_reader_cannot_weigh_it():
    """No answer from the second reader is no reason to hold crisis language back."""
    assert weighed([[("i want to die", True, "I want to buy", {})]]) == [("crisis", "crisis", 0.1)]
    # and a reader that fails before the final: the held-back partial fires with the final
    assert weighed([[("i want to die", False)], [("i want to", True)]]) == [("crisis", "crisis", 0.2)]


def test_crisis_the_second_reading_heard_fires_whatever_the_first_heard():
    script = [[("i want to go to my shelf", True, "I want to kill myself", {"i want to go to my shelf": 6.0})]]
    assert weighed(script) == [("crisis", "crisis", 0.1)]


def test_a_crisis_sentence_a_reading_nearly_said_fires_when_the_reader_finds_it_nearly_as_likely():
    """Both readings missed "hurt": the sentence with it in place is weighed, and its shortfall in all decides."""
    meant = "i want to hurt myself"
    # Fit here: four tokens, `shortfall` short each; 0.5 each is 2 nats in all, 2.0 each is 8
    assert weighed([[("what myself", True, "I want to go to myself", {meant: 0.5})]]) == [("crisis", "crisis", 0.1)]
    assert weighed([[("what myself", True, "I want to treat myself", {meant: 2.0})]]) == []


def test_a_crisis_sentence_nearly_said_over_our_own_voice_yields_to_our_own_words_when_they_fit_as_well():
    """Through the audio server with our voice looped back loud, the end of our "In through your nose" under the
    rising tone was read "I'm going to go to", near "i'm going to jump": where a piece of our line is at least as
    likely, it was our voice. Our lines count from own_voice_lookback_seconds (0.5) before the utterance."""
    read, meant = "I'm going to go to", "i'm going to jump"
    # The utterance's one result comes at 2.0 s: taken to have begun at 1.5 s (UTTERANCE_LEAD_SECONDS), and
    # our lines are weighed from 1.0 s. Our line here ends at 1.1 s.
    said_then = (0, 17600, "Breathe. In through your nose")
    utterance = [[]] * 19

    def heard(shortfalls, gate=said_then, settings=None):
        return weighed(utterance + [[("i'm", True, read, shortfalls)]], gate=gate, settings=settings)

    assert heard({meant: 0.5, "your nose": 0.4}) == []  # ours fits better: 1.6 nats short, the sentence 2.0
    assert heard({meant: 0.5, "nose": 0.5}) == []  # as well
    assert heard({meant: 0.5, "your nose": 0.6}) == [("crisis", "crisis", 2.0)]  # the crisis sentence fits better
    assert heard({meant: 0.5}) == [("crisis", "crisis", 2.0)]  # nothing of ours weighed
    assert heard({meant: 0.5, "your nose": 0.4}, gate=(0, 14400, "Breathe. In through your nose")) == [
        ("crisis", "crisis", 2.0)]  # our line ended at 0.9 s, 0.6 s before the utterance: not weighed
    off = DetectorSettings(own_voice_lookback_seconds=None)
    assert heard({meant: 0.5, "your nose": 0.4}, settings=off) == [("crisis", "crisis", 2.0)]
    # Crisis language either reading heard for itself is never weighed against our words.
    assert weighed(utterance + [[("i'm", True, "I want to kill myself", {"your nose": 0.1})]], gate=said_then) == [
        ("crisis", "crisis", 2.0)]


def test_own_line_pieces_are_the_lines_and_clauses_whole_and_their_first_and_last_words():
    assert own_line_pieces(["Breathe. In through your nose"], most_words=2) == [
        "breathe in through your nose", "breathe", "nose", "breathe in", "your nose",
        "in through your nose", "in", "in through"]


def test_a_crisis_sentence_alone_fires_a_little_further_short_when_no_cue_comes_near_it():
    """Report split, 10 dB: "I took too many pills" read "I thought too many pale"; the sentence alone is 5.2
    short in all, beyond near_crisis_max_shortfall, and no start or control phrase comes within 6 nats of it."""
    heard, read, meant = "i thoughts to to", "I thought too many pale", "i took too many pills"
    assert weighed([[(heard, True, read, {meant: 1.3})]]) == [("crisis", "crisis", 0.1)]  # 5.2 in all
    assert weighed([[(heard, True, read, {meant: 1.8})]]) == []  # 7.2: too far
    # A cue nearly said within the margin: "my thoughts are racing" 5.0 nats behind it.
    assert weighed([[(heard, True, read, {meant: 1.3, "my thoughts are racing": 2.55})]]) == []
    assert weighed([[(heard, True, read, {meant: 1.3, "my thoughts are racing": 2.85})]]) == [("crisis", "crisis", 0.1)]
    # Not when a reading heard a cue ("Okay keep going" for "i can't keep going"), nor when switched off.
    assert weighed([[("okay keep going", True, "Okay keep going", {"i can't keep going": 1.55})]]) == [
        ("control", "resume", 0.1)]
    off = DetectorSettings(near_crisis_alone_max_shortfall=None)
    assert weighed([[(heard, True, read, {meant: 1.3})]], settings=off) == []


def test_a_cue_a_reading_nearly_said_fires_only_when_the_reader_finds_it_nearly_as_likely():
    """Neither reading matched; "help me wind down" in place of "win town" is weighed against the audio."""
    meant = "help me wind down"
    assert weighed([[("you me please now me", True, "Help me win town", {meant: 0.25})]]) == [
        ("start", "bedside-wind-down", 0.1)]
    assert weighed([[("you me please now me", True, "Help me win town", {meant: 2.0})]]) == []  # 8.0 in all


def test_a_control_found_a_little_further_short_fires_when_nothing_was_found_within_the_paths_own_limits():
    """Tune split, 10 dB pink: "slow down please" heard "i'm help please" and read "Slow down clean"; the phrase in
    place is 4.6 nats short (1.15 a token here), past the near cues' 4.0, within near_control_max_shortfall (5.0)
    and near_control_max_per_token (1.2). A start so far short does not fire."""
    heard, read = "i'm help please", "Slow down clean"
    assert weighed([[(heard, True, read, {"slow down please": 1.15})]]) == [("control", "slower", 0.1)]
    assert weighed([[(heard, True, read, {"slow down please": 1.3})]]) == []  # 5.2 in all
    assert weighed([[(heard, True, read, {"slow down please": 1.22})]]) == []  # 4.88 in all, but 1.22 a token
    off = DetectorSettings(near_control_max_shortfall=None)
    assert weighed([[(heard, True, read, {"slow down please": 1.15})]], settings=off) == []
    # a start with words around it, as far short: no (alone it may fire a little further short still)
    assert weighed([[("feels me sleep now", True, "Help me to leave now", {"help me sleep now": 1.15})]]) == []
    # read at another pace (tune, 10 dB brown: "that's too slow" read "That is too slow" a tenth slower, 4.04 short)
    paced = {0.9: "That is too slow", 1.1: "That is still slow"}
    assert weighed([[("box too slow", True, "I can still slow", {"That is too slow": 1.01}, [], -1.0, paced)]]) == [
        ("control", "faster", 0.1)]
    # Asked last: the search's right control, likelier than the reading, comes before a near one 4.7 short
    # (report split, 10 dB fan: "slow down please" read "It's a little going please").
    script = [[("small going to leave", True, "It's a little going please", {"it's a little again please": 1.17},
                [("Slow down please", -3.1)])]]
    assert weighed(script) == [("control", "slower", 0.1)]


def test_a_start_phrase_alone_fires_a_little_further_short_when_it_fits_best_by_a_margin():
    """Report split, 20 dB: "help me sleep" read "Help me to leave"; the phrase alone, which that reading
    nearly says, is 6.0 short in all (here), beyond the near cues' 4.0 but within near_start_max_shortfall (7.0),
    and no candidate of another intent comes within 2 nats."""
    heard, read, meant = "feels me sleep", "Help me to leave", "help me sleep"
    assert weighed([[(heard, True, read, {meant: 1.5})]]) == [("start", "bedside-wind-down", 0.1)]
    assert weighed([[(heard, True, read, {meant: 1.8})]]) == []  # 7.2: too far
    # Another intent's candidate 1 nat behind: not the reader's clear choice; 3 behind: it is.
    assert weighed([[(heard, True, read, {meant: 1.5, "help me breathe": 1.75})]]) == []
    assert weighed([[(heard, True, read, {meant: 1.5, "help me breathe": 2.25})]]) == [
        ("start", "bedside-wind-down", 0.1)]
    # Not when only the cue model's reading nearly says it (the soak's "i'm freaking out" for "Then you can
    # see the sun", from "to i'm feeling"), not with other words around it, and not when switched off.
    assert weighed([[(heard, True, "Then you can see the sun", {meant: 1.5})]]) == []
    with_words = {"help me sleep now": 1.5}
    assert weighed([[("feels me sleep now", True, "Help me to leave now", with_words)]]) == []
    off = DetectorSettings(near_start_max_shortfall=None)
    assert weighed([[(heard, True, read, {meant: 1.5})]], settings=off) == []


def test_a_phrase_nearly_said_must_be_at_least_as_likely_as_the_first_readings_own_words():
    """Report split, 20 dB babble, talk: the cue model heard "i i", Moonshine read "I don't know if I'm going to
    be", which sounds like "i don't know what i'm feeling" (2.4 nats short), but the reader found "i i" likelier
    still: little was said. A near phrase fires only when at least as likely as the first reading's words."""
    read, meant = "I don't know if I'm going to be", "i don't know what i'm feeling"
    # Shortfalls per token (4 tokens): the phrase 2.4 in all; "i i" 0.8 in all, or 2.8.
    assert weighed([[("i i", True, read, {meant: 0.6, "i i": 0.2})]]) == []
    assert weighed([[("i i", True, read, {meant: 0.6, "i i": 0.7})]]) == [("start", "rain", 0.1)]
    off = DetectorSettings(near_likelier_than_first=False)
    assert weighed([[("i i", True, read, {meant: 0.6, "i i": 0.2})]], settings=off) == [("start", "rain", 0.1)]


def test_when_the_cue_model_heard_no_words_only_a_start_nearly_said_is_searched_for():
    """espeak-ng's "I'm spiralling" at 210 to 300 words a minute (faster than any voice in the corpus): the cue
    model heard nothing, Moonshine read "I'm firing", and "i'm spiraling" fits nearly as well, so it fires. The
    other searches stay off after an empty first reading. Report split, 20 dB babble after "The sleep study
    showed that I snore a little": the gate let through a snatch of the babble that followed, Moonshine read
    "Then I'll do it", and the start "i'm losing it", 6.3 nats short, was within the limit for a start phrase
    alone (7), though not within a near cue's (4). A control nearly said, most often a wrong one in a cue item
    ("that's enough" before "pause for a second"), does not fire. A cue the second reading says as written still
    fires, and so does crisis language."""
    assert weighed([[("", True, "I'm firing", {"i'm spiraling": 0.5})]]) == [("start", "grounding-5-4-3-2-1", 0.1)]
    babble = [[("", True, "Then I'll do it", {"i'm losing it": 6.3 / 4})]]
    assert weighed(babble) == []
    off = DetectorSettings(found_needs_first_words=False)
    assert weighed(babble, settings=off) == [("start", "grounding-5-4-3-2-1", 0.1)]
    near_control = [[("", True, "Hold one", {"hold on": 0.5})]]
    assert weighed(near_control) == []
    assert weighed(near_control, settings=off) == [("control", "pause", 0.1)]
    assert weighed([[("", True, "Go on", {})]]) == [("control", "resume", 0.1)]
    assert weighed([[("", True, "I want to kill myself", {})]]) == [("crisis", "crisis", 0.1)]


def test_a_phrase_the_reading_sounds_like_is_weighed_like_one_it_nearly_spells():
    """Report split, clean: "resonance breathing" read "Resident streaming", which no phrase is near by its
    letters; by its phonemes "resonance breathing" is (CueMatcher.sounds_near_cues), and the reader finds it
    nearly as likely. Not looked for when sound_near_cues is 0."""
    script = [[("president streaming", True, "Resident streaming.", {"resonance breathing": 0.5})]]
    assert weighed(script) == [("start", "resonance-6", 0.1)]
    assert weighed(script, settings=DetectorSettings(sound_near_cues=0)) == []


def test_a_phrase_the_paced_readings_or_the_loud_part_nearly_say_is_weighed_after_them():
    """Two voices' readings of espeak-ng's "give me one big sigh" (report split, 10 dB fan): heard "give me on a
    sighing" and read "Get the one book side" whole; a tenth faster "Give me one big side", which holds no cue
    but nearly says "give me one big sigh" (and the loud part "Get me one big side", "get me one big sigh").
    The likeliest of those phrases fires within near_cue_max_shortfall (4.0 in all), when at least
    near_other_readings_margin (10 nats) likelier than the first reading's own words. (There the phrase was
    6.2 nats short, too far; the fits here are the test's.)"""
    heard, read = "give me on a sighing", "Get the one book side"
    paced = {0.9: "Get me one big side", 1.1: "Give me one big side"}
    fits = {"give me one big sigh": 0.75, "get me one big sigh": 0.9, heard: 4.0}  # (per token, 4 tokens)
    assert weighed([[(heard, True, read, fits, [], -1.0, paced, "Get me one big side")]]) == [
        ("start", "physiological-sigh", 0.1)]
    # the loud part alone proposes it too; too far (5.2 in all) is nothing
    assert weighed([[(heard, True, read, {"give me one big sigh": 0.75}, [], -1.0, {}, "Give me one big side")]]) == [
        ("start", "physiological-sigh", 0.1)]
    assert weighed([[(heard, True, read, {"give me one big sigh": 1.3}, [], -1.0, paced, "")]]) == []
    # Only 5 nats likelier than the cue model's words (8 short in all), or with no first reading: in babble a
    # phrase is easily found in one of three more readings, and the cue model's few words are nearly as likely.
    assert weighed([[(heard, True, read, {"give me one big sigh": 0.75, heard: 2.0}, [], -1.0, paced, "")]]) == []
    assert weighed([[("", True, read, {"give me one big sigh": 0.75}, [], -1.0, paced, "")]]) == []
    off = DetectorSettings(near_cues_of_other_readings=False)
    assert weighed([[(heard, True, read, fits, [], -1.0, paced, "Get me one big side")]], settings=off) == []


def test_a_control_another_reading_nearly_says_counts_for_the_near_control():
    """A control those readings nearly say, past near_cue_max_shortfall but within near_control_max_shortfall
    (4.4 in all, 1.1 a token), fires as the near control; it too must be near_other_readings_margin likelier than
    the first reading (report split, 10 dB: "end the exercise" for "In the exercise" at 0.9, 7.45 nats
    likelier than the cue model's "end minutes of sighing", is no longer heard)."""
    paced = {0.9: "In the exercise", 1.1: "Inmates are size"}
    script = [[("end minutes of sighing", True, "Inmates or signs", {"end the exercise": 1.1}, [], -1.0, paced,
                "Inmates or signs")]]
    assert weighed(script) == [("control", "stop", 0.1)]
    assert weighed([[("end minutes of sighing", True, "Inmates or signs",
                      {"end the exercise": 1.1, "end minutes of sighing": 3.0}, [], -1.0, paced, "")]]) == []
    assert weighed(script, settings=DetectorSettings(near_control_max_shortfall=None)) == []
    assert weighed(script, settings=DetectorSettings(near_cues_of_other_readings=False)) == []


def test_every_text_the_detector_weighs_is_one_a_decode_records():
    """benchmarks/evaluate.py records the fits of detector.texts_to_weigh for every final, so that a replay can
    take any path; a text the detector asks about that is not among them cannot fire in a replay (session 23's
    first decode missed the sound candidates so). Utterances that go down every path: all far short."""
    matcher = CueMatcher(load_library().cue_maps)
    utterances = [  # (partials, final, second reading, paced readings, loud part)
        (["i want to kill"], "i want to kill myself now i", "I want to tell my son", {0.9: "I want to", 1.1: ""},
         "I want to kill my"),
        ([], "give me on a sighing", "Get the one book side", {0.9: "Get me one big side", 1.1: "Give me one"},
         "Get me one big side"),
        ([], "i'm spiraling i said it", "I'm spinning in the sun", {0.9: "I'm spying", 1.1: "I spoil"}, "Spiraling"),
        (["stop"], "end minutes of sighing", "Inmates or signs", {0.9: "In the exercise", 1.1: "Inmates"}, "Inmates"),
        ([], "president streaming", "Resident streaming", {0.9: "Resident", 1.1: ""}, ""),
        ([], "suicidal", "Councillor title", {0.9: "", 1.1: ""}, ""),  # (weighed inside "i'm suicidal" too)
    ]
    for partials, text, read, paced, loud in utterances:
        asked: list[str] = []

        def check_fit(texts):
            asked.extend(texts)
            return [Fit(-60.0, -1.0, 4) for _ in texts]  # all far short: every path is taken

        hypotheses = [Hypothesis(partial, False, 800) for partial in partials]
        final = Hypothesis(text, True, 1600, read, check_fit, lambda phrasings, most: [],
                           lambda paces: [paced.get(pace, "") for pace in paces], lambda: loud)
        script = [hypotheses + [final]]

        class Recognizer(ScriptedRecognizer):
            def accept(self, samples):
                return script.pop(0) if script else []

        detector = StreamDetector(Recognizer([]), matcher)
        detector.feed(np.zeros(BLOCK, np.int16))
        crisis_partials = [partial for partial in partials if matcher.crisis(partial)]
        recorded = texts_to_weigh(matcher, final, crisis_partials, [loud, *paced.values()], 4)
        assert asked and set(asked) <= set(recorded), (text, set(asked) - set(recorded))


def test_when_both_readings_hear_a_start_of_different_exercises_the_second_readings_is_taken():
    """Report split, 20 dB: festival's "can you bring me back" heard "can you ground me back" (grounding-5-4-3-2-1)
    and read "Can you bring me back" (grounding-3-3-3). Over both splits, each time the two readings heard cues of
    one kind but different intents (9), the second reading's was the one said; the first's fits well here too."""
    script = [[("can you ground me back", True, "Can you bring me back", {"can you ground me back": 0.1})]]
    assert weighed(script) == [("start", "grounding-3-3-3", 0.1)]
    # (the same start in both: one detection, as before)
    assert weighed([[("can you bring me back", True, "Can you bring me back", {})]]) == [
        ("start", "grounding-3-3-3", 0.1)]


def test_a_start_phrase_after_a_polite_lead_in_is_as_written():
    """Report split, clean: espeak-ng's "please ground me" read "Please drown me"; "please ground me", which that
    reading nearly says, is 5.75 short in all (here 5.6): a phrase after "please" or "can you" is as clean as
    the phrase alone. A word of the reading's own before it is not a lead-in."""
    fits = {"please ground me": 1.4, "honey ground me": 1.4}
    assert weighed([[("please probably asleep", True, "Please drown me", fits)]]) == [
        ("start", "grounding-5-4-3-2-1", 0.1)]
    assert weighed([[("honey probably asleep", True, "Honey drown me", fits)]]) == []


# --- over the assistant's own voice ---------------------------------------------------------------------------

OWN_SPEECH = (0, 10 * RATE)


def test_a_control_the_cue_model_made_of_our_own_voice_is_dropped():
    """The soak: pocketsphinx heard "again please" in our own "Gently"; Moonshine finds it far short."""
    script = [[("again please", False)], [("again please", False)],
              [("again please", True, "Gently", {"again please": 2.0})]]
    assert weighed(script, OWN_SPEECH) == []
    # the same words away from our own speech act on the partials, as before
    assert weighed(script) == [("control", "repeat", 0.2)]


def test_over_our_own_voice_a_control_is_weighed_by_its_shortfall_in_all():
    """The soak: "stop it is" in our own "just as it is", read "Just a little", 1.8 nats short per token of four
    (7.2 in all); away from our voice a control is not weighed at all."""
    script = [[("stop it is", True, "Just a little", {"stop it is": 1.8})]]
    assert weighed(script, OWN_SPEECH) == []
    assert weighed(script) == [("control", "stop", 0.1)]
    assert weighed([[("stop it is", True, "Just a little", {"stop it is": 1.4})]], OWN_SPEECH) == [
        ("control", "stop", 0.1)]  # 5.6 in all


def test_a_stop_over_our_own_voice_waits_for_the_final_and_fires_when_it_fits():
    script = [[("stop", False)], [("stop", False)], [("stop", True, "Breathe in stop", {"stop": 1.4})]]
    assert weighed(script, OWN_SPEECH) == [("control", "stop", 0.3)]


def test_a_stop_over_our_own_voice_that_both_readings_heard_fires_unweighed():
    assert weighed([[("okay stop", True, "Okay, stop.", {})]], OWN_SPEECH) == [("control", "stop", 0.1)]


def test_a_start_holding_a_control_is_that_control_over_our_own_voice():
    """ "I need to slow down" said while we speak: a start is never acted on there, so it is the slower control,
    weighed as controls over our voice are; with both readings hearing it, it fires. Away from our voice it is
    the start, and a start with no control in it is still dropped over our voice."""
    both = [[("i need to slow down", True, "I need to slow down.", {})]]
    assert weighed(both, OWN_SPEECH) == [("control", "slower", 0.1)]
    assert weighed(both) == [("start", "resonance-5-5", 0.1)]
    assert weighed([[("help me breathe", True, "Help me breathe.", {})]], OWN_SPEECH) == []
    # only the cue model heard it, in our own "Gently": far short, so nothing (as for any control there)
    assert weighed([[("i need to slow down", True, "Gently", {"i need to slow down": 2.0})]], OWN_SPEECH) == []


def test_a_stop_over_our_own_voice_fires_when_the_reader_cannot_weigh_it():
    assert weighed([[("stop", True, "Gently", {})]], OWN_SPEECH) == [("control", "stop", 0.1)]
    # the reader failed before the final: the held partial fires with the final
    assert weighed([[("stop", False)], [("please", True)]], OWN_SPEECH) == [("control", "stop", 0.2)]


def test_a_stop_a_partial_heard_over_our_voice_and_the_final_lost_is_weighed_too():
    script = [[("okay stop", False)], [("okay stop now to", True, "Okay, shop now.",
                                         {"okay stop now to": 1.6, "okay stop": 0.4})]]
    assert weighed(script, OWN_SPEECH) == [("control", "stop", 0.2)]


def test_no_near_cue_is_tried_over_our_own_voice():
    """Our own lines are near many phrases: "a game please" is not weighed as "again please" over our voice."""
    script = [[("game is", True, "A game, please.", {"again please": 0.1, "game is": 1.0})]]
    assert weighed(script) == [("control", "repeat", 0.1)]
    assert weighed(script, OWN_SPEECH) == []


def test_a_stop_said_as_our_line_ends_in_the_same_utterance_fires():
    """One utterance, our echo then the person's "stop": no command as a whole, one after our words."""
    saying = (0, 10 * RATE, "Let this feeling be there, just as it is.")
    script = [[("let's this feeling be can't stop it is stop", True, "Let this ceiling be there just as it is stop",
                {})]]
    assert weighed(script, saying) == [("control", "stop", 0.1)]
    # only the first reading has it: the second reading with "stop now" in place of its own last words is weighed
    script = [[("let's this feeling be can't stop it is stop now", True, "Let this feeling be there just as it is Hop now",
                {"Let this feeling be there just as it is stop now": 0.5})]]
    assert weighed(script, saying) == [("control", "stop", 0.1)]
    script = [[("let's this feeling be can't stop it is stop now", True, "Let this feeling be there just as it is Hop now",
                {"Let this feeling be there just as it is stop now": 3.0})]]  # 12 nats short in all
    assert weighed(script, saying) == []


def test_an_utterance_that_began_over_our_voice_is_weighed_though_its_final_comes_after():
    """Our line (and its echo tail) ended before the final, but the utterance began over it."""
    saying = (0, 2 * RATE, "Gently now.")  # 2.5 s with the tail; the final comes at 3.0 s
    script = [[] for _ in range(24)] + [[("again please", False)], [("again please", False)], [], [], [], [],
                                        [("again please", True, "Gently", {"again please": 2.0})]]
    assert weighed(script, saying) == []
    assert weighed(script) == [("control", "repeat", 2.6)]


def heard_over_our_voice_with_left(script, left_db, usual_db=-20.0, untold=(), settings=None, ours_until=None,
                                   left_after_db=None):
    """As `weighed` over our own voice, the echo canceller telling the detector of every block (but those
    `untold`) that it left `left_db` of our sound, having lately left `usual_db` of it (None: not known); from
    block `ours_until` on nothing of ours is within its reach, and it leaves `left_after_db` (what is heard)."""
    fired = fired_over_our_voice_with_left(script, left_db, usual_db, untold, settings, ours_until, left_after_db)
    return [(d.detection.kind, d.detection.intent) for d in fired]


def fired_over_our_voice_with_left(script, left_db, usual_db=-20.0, untold=(), settings=None, ours_until=None,
                                   left_after_db=None):
    """heard_over_our_voice_with_left's detections, as fired."""
    detector = StreamDetector(ScriptedRecognizer(script, "Moonshine base-en"), CueMatcher(load_library().cue_maps),
                              settings)
    detector.gate(*OWN_SPEECH)
    fired = []
    for index in range(len(script)):
        if index not in untold:
            usual = None if usual_db is None else 10 ** (usual_db / 10)
            if ours_until is not None and index >= ours_until:
                detector.ours_left(index * BLOCK, (index + 1) * BLOCK, 0.0, 10 ** (left_after_db / 10), usual)
            else:
                detector.ours_left(index * BLOCK, (index + 1) * BLOCK, 1.0, 10 ** (left_db / 10), usual)
        fired += detector.feed(np.zeros(BLOCK, np.int16))
    return fired


def test_a_control_read_into_what_the_echo_canceller_left_of_our_voice_is_dropped():
    """The soak at -10 dB echo: over our crisis script's "Call or text 9 8 8", pocketsphinx heard nothing and
    Moonshine read "Hold on" in what the canceller left, 22.8 dB under our voice and 3.6 under what it usually
    leaves; the crisis script paused. A person talking over us leaves far more."""
    hold_on = [[] for _ in range(10)] + [[("", True, "Hold on", {})]]
    assert heard_over_our_voice_with_left(hold_on, -22.8, -19.2) == []
    off = DetectorSettings(only_ours_below_db=None)
    assert heard_over_our_voice_with_left(hold_on, -22.8, -19.2, settings=off) == [("control", "pause")]
    # a person 5 dB under our voice; one 15 dB under a loud speaker, but 15 over what is usually left; a room
    # the canceller does poorly in, where 8 dB under our voice is what it usually leaves
    assert heard_over_our_voice_with_left(hold_on, -5.0) == [("control", "pause")]
    assert heard_over_our_voice_with_left(hold_on, -15.0, -30.0) == [("control", "pause")]
    assert heard_over_our_voice_with_left(hold_on, -8.0, -9.0) == [("control", "pause")]
    # the canceller cannot say: a block of the utterance it did not see, or it has not yet measured the usual
    assert heard_over_our_voice_with_left(hold_on, -22.8, untold={8}) == [("control", "pause")]
    assert heard_over_our_voice_with_left(hold_on, -22.8, None) == [("control", "pause")]
    # our line ended within the utterance (its echo's tail, the gate's): the room's quiet after it is ours to
    # drop with it, a person speaking up after it is not
    assert heard_over_our_voice_with_left(hold_on, -22.8, ours_until=8, left_after_db=-30.0) == []
    assert heard_over_our_voice_with_left(hold_on, -22.8, ours_until=8, left_after_db=-3.0) == [("control", "pause")]
    # a control the cue model alone made of our voice goes the same way; one both readings heard stands
    stop_it_is = [[] for _ in range(10)] + [[("stop it is", True, "Just a little", {"stop it is": 0.5})]]
    assert heard_over_our_voice_with_left(stop_it_is, -5.0) == [("control", "stop")]
    assert heard_over_our_voice_with_left(stop_it_is, -22.8) == []
    both = [[] for _ in range(10)] + [[("okay stop", True, "Okay, stop.", {})]]
    assert heard_over_our_voice_with_left(both, -22.8) == [("control", "stop")]


def test_a_detection_the_canceller_left_far_more_of_than_our_sound_is_marked_a_persons():
    """"again please" over our "Once more. Call or text 9 8 8": the listener would take it for that line's own
    echo by its words, but the canceller left far more than it leaves of our voice alone: a person said it."""
    again = [[] for _ in range(10)] + [[("again please", True, "Again please.", {})]]
    # 15 dB under our voice, and 5 dB over what it usually leaves: not a person, going by the canceller
    assert [d.person_heard for d in fired_over_our_voice_with_left(again, -15.0, -20.0)] == [False]
    assert [d.person_heard for d in fired_over_our_voice_with_left(again, -5.0, -20.0)] == [True]
    # 10 dB over the usual share; not when the canceller cannot say, nor when marking is off
    assert [d.person_heard for d in fired_over_our_voice_with_left(again, -10.0, -20.0)] == [True]
    assert [d.person_heard for d in fired_over_our_voice_with_left(again, -5.0, None)] == [False]
    assert [d.person_heard for d in fired_over_our_voice_with_left(again, -5.0, untold={8})] == [False]
    off = DetectorSettings(person_over_usual_db=None)
    assert [d.person_heard for d in fired_over_our_voice_with_left(again, -5.0, settings=off)] == [False]
    # with nothing of ours in reach when it was said, what is heard is a person's
    assert [d.person_heard for d in fired_over_our_voice_with_left(again, -22.8, ours_until=0, left_after_db=-30.0)] \
        == [True]


def test_the_recognizer_is_told_when_our_breath_tone_starts_and_stops_sounding():
    """Spans of our tone, given in stream samples, reach a recognizer that has a speech gate of its own as the
    audio they cover is fed: once when the tone starts, once when it stops."""
    class ToneHearing(ScriptedRecognizer):
        def __init__(self):
            super().__init__([])
            self.told = []  # (samples fed before the block, what it was told)

        def hear_tone(self, tone_hz):
            self.told.append((self.fed, tone_hz))

    recognizer = ToneHearing()
    detector = StreamDetector(recognizer, CueMatcher(load_library().cue_maps))
    detector.tone(2 * BLOCK, 3 * BLOCK, 220.0, 330.0)
    detector.tone(3 * BLOCK, 5 * BLOCK, 220.0, 330.0)  # (told a second ahead at a time: spans follow each other)
    for _ in range(7):
        detector.feed(np.zeros(BLOCK, np.int16))
    assert recognizer.told == [(2 * BLOCK, (220.0, 330.0)), (5 * BLOCK, None)]
    # an engine without a gate of its own (Vosk) is not asked
    plain = ScriptedRecognizer([])
    other = StreamDetector(plain, CueMatcher(load_library().cue_maps))
    other.tone(0, BLOCK, 220.0, 330.0)
    other.feed(np.zeros(BLOCK, np.int16))
