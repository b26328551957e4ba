"""Transcripts to intents: crisis language, control words and start phrases, tolerant of recognizer text.

Order of precedence: crisis (always first, see `crisis.py`), then control, then
start; but a start phrase that holds the control heard ("I need to slow down"
holds "slow down") is the start, and either way the other is kept on the
detection (`Detection.alternative`) for a listener that can act only on the
other kind just now (`listen.Listener`). Phrases are compared as normalised
word sequences (`transcript.normalize`), found anywhere in a longer utterance
at word boundaries, and with `fuzzy=True` a long word may differ a little
("spiralling", "spiraled" for "spiraling").

Start phrases also match through softeners the speaker adds ("I'm really
anxious", "I still can't sleep" start what "I'm anxious" and "I can't sleep"
start), and a wish not to hold the breath ("box breathing but without holding")
picks an exercise's `-no-hold` twin when there is one.

Control words need more care than start phrases, because they are ordinary
English: "don't stop believing", "I can't stop thinking about him", "can't
wait", "next week". See `_control_fires` for the rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Sequence

from assistant.library.model import CONTROL_INTENTS, CueMap
from assistant.speech.crisis import CUE_FILE_CRISIS, CrisisMatch, detect_crisis
from assistant.speech.nearby import CUE_MIN_SIMILARITY, MOST_CANDIDATES, nearby_phrasings, trimmed
from assistant.speech.phonetic import MOST_SOUND_CANDIDATES, sounds_near
from assistant.speech.transcript import NUMBER_WORDS, normalize, spell_digit_runs, split_clauses, without_fillers

__all__ = ["CONTROL_INTENTS", "CueMatcher", "Detection", "normalize"]

KINDS = ("start", "control", "crisis")

MIN_FUZZY_LETTERS = 5  # shorter words must match exactly: "stop" is not "shop", "pause" not "cause"
MIN_FUZZY_RATIO = 0.8  # Levenshtein ratio per word, 1 - distance / longer length
SUPPORT_RATIO = 0.6  # start_support's looser word test (chosen on the tune split, benchmarks/README.md)
START_MAX_EXTRA_WORDS = 2  # a start phrase in the middle of an utterance needs it this short (see _start_addressed)
START_MAX_STORY_WORDS = 5  # and at its start or end, at most this many words of the person's own around it
START_NEGATION_WINDOW = 2  # "it was not a panic attack": a negation this many words before a start phrase blocks it

_NEGATIONS = frozenset({"not", "never", "nothing", "nobody", "without", "neither", "nor"})
# Words after which a control word is a noun or an object, not a command: "the next", "to finish", "my pause".
_TAKES_A_NOUN = frozenset({"the", "a", "an", "to", "of", "for", "in", "on", "at", "with", "by", "from", "my", "your",
                           "his", "her", "its", "our", "their"})

# Words a speaker adds to a feeling without changing which exercise it asks for: "I'm really anxious",
# "I still can't sleep", "I'm feeling overwhelmed". They are skipped in what was heard, unless the cue
# itself has the word ("still no reply" keeps its "still").
_SOFTENERS = frozenset(
    {"so", "really", "very", "still", "just", "super", "quite", "pretty", "totally", "completely", "feeling"}
)

# Hedges an anxious speaker puts before a feeling: "I'm kind of freaking out", "I'm kinda spiraling" (normalize
# spells "kinda" "kind of"), "I'm sort of panicking", "I'm like really anxious", "my heart is like racing".
# Skipped in start phrases and in what was heard alike (_plain_words): "kind of" and "sort of" anywhere, "like"
# only after a form of "be" ("I feel like a failure" is a cue, and keeps its "like").
_HEDGES = (("kind", "of"), ("sort", "of"))
_BE = frozenset({"am", "is", "are", "was", "were"})

# Words that frame a request without being a story of their own: "okay can you do box breathing with me
# please", "I think I need help to wind down right now". Around a start phrase they do not count against it.
_START_FRAME_WORDS = frozenset(
    "um uh umm uhm er erm hmm mm ah oh okay alright hey please now just yes yeah no so well then and actually "
    "sorry right god oh grounding assistant can could would will you we us i i'm im me my let's lets let do "
    "start try begin some a an the with through guide walk take think need want like help feel again "
    "is it that this for to be am are really here tonight hold holds holding breath without".split()
)

# A wish not to hold the breath: "without holding", "no breath holds", "I don't want to hold my breath".
# "without", "with no" or "but no" and any word counts too: a recognizer turns "without holding" into
# "without building", "hurling" or "folding", and "with no holds" into "with no pose" or "toes" (the report
# split's en-f4 voice), and a hold-free exercise is safe for anyone who asked for the other.
_NO_HOLD_WISH = re.compile(
    r"\b(?:without|no|not|never|skip|skipping|minus)\s+(?:\w+\s+){0,3}?(?:hold|holds|holding)\b"
    r"|\bwithout\s+\w+|\b(?:with|but)\s+no\s+\w+"
)
NO_HOLD_SUFFIX = "-no-hold"  # an exercise's hold-free twin is named like this: box-breathing -> box-breathing-no-hold


@dataclass(frozen=True)
class Detection:
    """One thing heard: an exercise to start, a control for the running one, or crisis language."""

    kind: str  # "start" | "control" | "crisis"
    intent: str  # exercise id for start; a CONTROL_INTENTS entry for control; "crisis" for crisis
    text: str  # the transcript it fired on, as given
    # The same words read as the other kind: (kind, intent) of the start a control's words also hold, or of the
    # control a start's do. Idle, a control acts on nothing and an exercise playing ignores a start, so the
    # listener acts on this one then. Not part of a detection's identity, nor of the `detect` JSON.
    alternative: tuple[str, str] | None = field(default=None, compare=False)

    def as_alternative(self) -> "Detection | None":
        """The other reading of the same words, as a detection of its own (None when there is none)."""
        if self.alternative is None:
            return None
        return Detection(*self.alternative, self.text)

    def to_json(self, time_s: float = 0.0) -> dict:
        """The `grounding detect --json` object: {"time_s", "kind", "intent", "text"}."""
        return {"time_s": float(time_s), "kind": self.kind, "intent": self.intent, "text": self.text}


@dataclass(frozen=True)
class _Cue:
    kind: str  # "start" | "control"
    intent: str
    words: tuple[str, ...]  # the phrase, normalised


# --- the control rule --------------------------------------------------------------------------------
#
# A control phrase fires only when it is the command itself, not a word inside another sentence.
# Within one clause (raw text cut at punctuation; recognizer output is one clause), it fires when:
#
#  (a) COMMAND FRAME: everything before it is a polite lead-in ("okay", "um", "please", "can you",
#      "let's", "I said", "I want to", "we should") and everything after it a courtesy tail ("it",
#      "now", "please", "for a second", "the exercise", another control word). "okay stop", "can you
#      pause for a second", "I want to stop the exercise", "stop stop stop" fire; "don't stop
#      believing", "I can't stop thinking about him", "I can't wait", "next week", "what did you
#      say to her" do not: "not" is never part of a lead-in and "believing", "week" are no tail.
#  (b) TRAILING COMMAND: it ends the clause (courtesy tail allowed) right after an explicit break
#      word ("okay", "please", "um", "no", "hey"), with no negation in the three words before it:
#      "this is too much please stop", "I've heard enough okay next".
#  (c) LEADING STOP: "stop" or "pause" opens the utterance and a new sentence follows at once
#      ("stop I need a minute", "stop it this is too much"): stop must be heard even when the
#      speaker runs on. Only these two words, because "wait I think he's leaving me" is a sentence.
#
# Some controls are everyday verbs that take a person or a place: "can you wait for me", "go on a
# walk", "hang on to the rail". Those (WHOLE_COMMAND_ONLY) fire only as a whole short command: the
# clause is nothing but filler, the phrase and a short tail ("okay wait", "go on then", "hang on a
# sec"); no lead-in, and rules (b) and (c) do not apply to them.
#
# Live, partial results arrive word by word, so "okay stop ..." is usually seen as "okay stop"
# before the rest: (a) then catches it early.

_FILL = (
    r"(?:um+|uh+|uhm|er+|erm|hmm+|mm+|ah+|oh+|okay|alright|hey|please|now|just|yes|yeah|yep|no|so|well|then|"
    r"and|actually|sorry|right|oops|ugh|guys|grounding|assistant)"
)
# "little" alone: the cue model drops the "a" of "a little slower" in noise (report split, 10 dB).
_LEAD_INS = (
    r"(?:(?:can|could|would|will)\s+you|(?:can|could|shall|should)\s+we|we\s+(?:can|could|should|need\s+to|"
    r"have\s+to|must)|let\s+us|i\s+said|i\s+say|i\s+(?:want|need|would\s+like)\s+to|i\s+think|you\s+can|"
    r"it\s+is\s+time\s+to|time\s+to|go\s+ahead\s+and|go|(?:that|it|this)\s+is|(?:you\s+are\s+)?(?:going|talking|"
    r"speaking|counting)|way|a\s+little|little|a\s+bit|bit|much|even)"
)
_TAIL = (
    r"(?:it|that|this|there|here|now|please|again|already|immediately|then|thanks|thank\s+you|right\s+now|"
    r"for\s+now|for\s+today|for\s+tonight|for\s+(?:a|one)\s+(?:second|sec|moment|minute|bit|while)|"
    r"a\s+(?:second|sec|moment|minute|bit|little|little\s+bit)|for\s+me|one|"
    r"(?:the\s+|this\s+|that\s+)?(?:exercise|breathing|session|audio|voice|recording|practice|grounding|music|"
    r"sound|part|step))"
)
_LEAD_IN_ITEM = re.compile(rf"(?:{_FILL}|{_LEAD_INS})")
_FILL_ITEM = re.compile(_FILL)
_BREAK_WORDS = frozenset({"okay", "please", "um", "uh", "umm", "no", "alright", "hey"})
_NEW_SENTENCE = frozenset({"i", "we", "please", "this", "that", "it", "you"})
_LEADING_WORDS = frozenset({"stop", "pause"})
WHOLE_COMMAND_ONLY = frozenset({("wait",), ("go", "on"), ("hang", "on")})
_SHORT_TAIL = (
    r"(?:please|now|then|again|thanks|thank\s+you|a\s+(?:second|sec|moment|minute|bit)|"
    r"for\s+(?:a|one)\s+(?:second|sec|moment|minute|bit))"
)


class CueMatcher:
    """Finds start, control and crisis intents in transcripts, using one or more cue maps."""

    def __init__(self, cue_maps: Sequence[CueMap], fuzzy: bool = True):
        self.fuzzy = fuzzy
        # A later map (the user's) overrides an earlier one (bundled) for the same words.
        cues: dict[tuple[str, tuple[str, ...]], _Cue] = {}
        phrasings: list[str] = []  # as written, lower case: what near_cues offers in place of a near miss
        for cue_map in cue_maps:
            for start in cue_map.start:
                for phrase in start.phrases:
                    words = tuple(_plain_words(normalize(phrase).split()))
                    if words:
                        cues[("start", words)] = _Cue("start", start.exercise_id, words)
                        phrasings.append(" ".join(phrase.lower().split()))
            for intent, phrases in cue_map.control.items():
                for phrase in phrases:
                    words = tuple(normalize(phrase).split())
                    if words:
                        cues[("control", words)] = _Cue("control", intent, words)
                        phrasings.append(" ".join(phrase.lower().split()))
        self._phrasings = tuple(dict.fromkeys(phrasings))
        self._written = frozenset(normalize(phrasing) for phrasing in self._phrasings)
        # A cue file's own crisis phrases (CueMap.crisis), besides the built-in patterns: anywhere in what was
        # heard, no frame needed, and any one of them is enough.
        self._crisis = tuple(dict.fromkeys(
            words for cue_map in cue_maps for phrase in cue_map.crisis if (words := tuple(normalize(phrase).split()))))
        self._start = [cue for cue in cues.values() if cue.kind == "start"]
        self._start_intents = frozenset(cue.intent for cue in self._start)
        self._control = [cue for cue in cues.values() if cue.kind == "control"]
        single = sorted({cue.words[0] for cue in self._control if len(cue.words) == 1})
        tail_words = "|".join(re.escape(word) for word in single)
        tail = rf"(?:{_TAIL}|{_FILL}|{tail_words})" if tail_words else rf"(?:{_TAIL}|{_FILL})"
        self._tail_item = re.compile(tail)
        short_tail = rf"(?:{_SHORT_TAIL}|{_FILL}|{tail_words})" if tail_words else rf"(?:{_SHORT_TAIL}|{_FILL})"
        self._short_tail_item = re.compile(short_tail)
        # A control phrase a recognizer wrote with a comma inside it ("Again, please.") is one command, though a
        # comma otherwise ends a clause ("I'm fine, stop"). Plain words only, and whole: "Stop, it's fine" keeps
        # its comma.
        mendable = sorted({cue.words for cue in self._control if len(cue.words) > 1}, key=len, reverse=True)
        self._comma_inside = re.compile("|".join(
            r"\b" + r"(?:\s*,\s*|\s+)".join(re.escape(word) for word in words) + r"(?![\w'])"
            for words in mendable if all(re.fullmatch(r"[a-z]+", word) for word in words)) or r"(?!)", re.IGNORECASE)

    @property
    def phrasings(self) -> tuple[str, ...]:
        """Every start and control phrase, as written, in lower case."""
        return self._phrasings

    def as_written(self, text: str) -> bool:
        """Whether `text` (normalised) is a start or control phrase as written, alone or after a polite lead-in
        ("please ground me", "can you ground me"): nothing else around it."""
        words = normalize(text).split()
        return any(" ".join(words[start:]) in self._written and _run_of(_LEAD_IN_ITEM, words[:start])
                   for start in range(len(words)))

    def match(self, text: str) -> Detection | None:
        """The one intent to act on: crisis outranks control, control outranks start, unless the start phrase
        found holds the control's words ("I need to slow down" is the start, with "slow down" as its
        alternative); None if nothing fits. A control and a start both heard keep each other as `alternative`."""
        if self.crisis(text) is not None:
            return Detection("crisis", "crisis", text)
        controls = self._controls(text)
        starts = self._starts(text)
        if controls and starts:
            control, start = controls[0], starts[0]
            if _holds(start.words, control.words):
                return Detection("start", start.intent, text, alternative=("control", control.intent))
            return Detection("control", control.intent, text, alternative=("start", start.intent))
        if controls:
            return Detection("control", controls[0].intent, text)
        if starts:
            return Detection("start", starts[0].intent, text)
        return None

    def match_all(self, text: str) -> list[Detection]:
        """Every distinct intent heard, best first within each kind: crisis, then controls, then starts."""
        found: list[Detection] = []
        if self.crisis(text) is not None:
            found.append(Detection("crisis", "crisis", text))
        for cue in self._controls(text) + self._starts(text):
            detection = Detection(cue.kind, cue.intent, text)
            if detection not in found:
                found.append(detection)
        return found

    def start_support(self, intent: str, text: str) -> float:
        """How much of this start cue another reading heard: the largest share of one of its phrases' words
        found in `text`, loosely ("racing" and "raising", "breathe" and "breathing" count): 0.0 to 1.0.

        Looser than matching on purpose: it is asked of a second recognizer's reading of an utterance the
        first already matched, to tell a cue that was said (the other reading has some of its words, heard
        its own way) from one the cue model made up out of other talk (it has none).
        """
        heard = normalize(text).split()
        best = 0.0
        for cue in self._start:
            if cue.intent == intent:
                found = sum(any(near_word(word, other) for other in heard) for word in cue.words)
                best = max(best, found / len(cue.words))
        return best

    def near_cues(
        self, heard: str, min_similarity: float = CUE_MIN_SIMILARITY, most: int = MOST_CANDIDATES,
        keep_extra_words: bool = True,
    ) -> list[str]:
        """Start and control phrases `heard` nearly said, each put in place of the words it lines up with
        ("help me win town" -> "help me wind down"), or merged into it keeping the speaker's own words inside
        it ("i really need to come down" -> "i really need to calm down"), and that would then match:
        candidates for the second reader to weigh against the audio (nearby.py, detector.py), not detections."""
        return nearby_phrasings(heard, self._phrasings, self._is_cue, min_similarity, most, keep_extra_words)

    def _is_cue(self, candidate: str) -> bool:
        """Whether `candidate` matches a start or control phrase (a near cue worth weighing)."""
        detection = self.match(candidate)
        return detection is not None and detection.kind != "crisis"

    def sounds_near_cues(self, heard: str, skip: Sequence[str] = (), most: int = MOST_SOUND_CANDIDATES) -> list[str]:
        """Start and control phrases `heard` sounds like, phoneme by phoneme, put in place of the words that
        sound like them ("resident streaming" -> "resonance breathing"), that would then match and are not in
        `skip` (those near_cues proposed): more candidates for the second reader to weigh (phonetic.py)."""
        return sounds_near(heard, self._phrasings, self._is_cue, most, skip=skip)

    def control_after(self, reading: str, said: Sequence[str], most_words: int = 4) -> tuple[Detection, str] | None:
        """A control the reading ends with, after our own words: (the detection, the words it is in).

        A person who says "stop" as the assistant's own line ends is one utterance with it through the
        microphone: "let this feeling be there just as it is stop", which is no command as a whole (story
        words before it). `said` is what we were saying; a word is ours when near one of its words (loosely:
        the recognizer mishears our voice too). The words after the last of ours are matched alone, then
        with up to two words before them ("stop it" when "it" is ours), at most `most_words` in all; the
        words before must be mostly ours. An ending all of whose words are ours is ours: the crisis script's
        "say repeat" read back must not replay it (the soak), so a person's "stop it" after a line that has
        both words is missed here.
        """
        words = normalize(reading).split()
        ours = {word for text in said for word in normalize(text).split()}
        if not ours:
            return None

        def is_ours(word: str) -> bool:
            return any(near_word(word, own) for own in ours)

        first_new = len(words)
        while first_new > 0 and not is_ours(words[first_new - 1]):
            first_new -= 1
        if first_new == len(words):
            return None
        for start in range(first_new, max(first_new - 3, 0), -1):
            before, ending = words[:start], words[start:]
            if not ending or len(ending) > most_words or 2 * sum(not is_ours(word) for word in before) > len(before):
                continue
            detection = self.match(" ".join(ending))
            if detection is not None and detection.kind == "control":
                return detection, " ".join(ending)
        return None

    def trims(self, text: str, detection: Detection) -> list[str]:
        """`text` with a few words dropped from either end (nearby.trimmed), wherever it still matches as
        `detection` does: what the second reader also weighs of a start only the first reading heard."""
        def keeps(trim: str) -> bool:
            found = self.match(trim)
            return found is not None and (found.kind, found.intent) == (detection.kind, detection.intent)

        return trimmed(text.lower(), keeps)

    def control_ending(self, text: str, most_words_before: int = 3) -> Detection | None:
        """A control that ends `text` (a courtesy tail allowed) after at most `most_words_before` other words,
        none of them a negation: looser than `match`, for a transcript the second reader itself found likeliest
        with a control phrase in it (detector.StreamDetector._spotted), where the words before are its reading
        of what came first, often mangled: "can do pause", "after too fast", "and little slower". Not after a
        word that makes it a noun or an object ("the next", "to finish"); controls that count only as a whole
        short command ("wait", "go on") are left to `match`."""
        words = normalize(text).split()
        found = [
            cue
            for cue in self._control
            if cue.words not in WHOLE_COMMAND_ONLY
            for start in self._occurrences(cue.words, words, fuzzy=len(cue.words) > 1)
            if start <= most_words_before and not _NEGATIONS.intersection(words[:start])
            and not (start and words[start - 1] in _TAKES_A_NOUN)
            and self._clean_tail(words[start + len(cue.words):])
        ]
        if not found:
            return None
        return Detection("control", min(found, key=_control_rank).intent, text)

    def crisis(self, text: str) -> CrisisMatch | None:
        """The crisis phrase and category (the built-in patterns first, then the cue files' crisis phrases,
        category CUE_FILE_CRISIS), for logging and tests; `match` only says that it was crisis."""
        found = detect_crisis(text)
        if found is not None or not self._crisis:
            return found
        words = normalize(text).split()
        unspaced = "".join(words)
        for phrase in self._crisis:
            if phrase[0].isascii():  # softeners skipped as for start cues: "i just want to go be with grandma"
                heard = [word for word in words if word not in _SOFTENERS or word in phrase]
                found = bool(self._occurrences(phrase, heard, fuzzy=len(phrase) > 1))
            else:  # Hangul and the like: where the spaces fall varies (자살하고 / 자살 하고), so not by word
                found = "".join(phrase) in unspaced
            if found:
                return CrisisMatch(" ".join(phrase), CUE_FILE_CRISIS)
        return None

    # --- internals -----------------------------------------------------------------------------------

    def _controls(self, text: str) -> list[_Cue]:
        """Control cues that fire, stop and pause first (the safe reading of a mixed command), longer first."""
        text = self._comma_inside.sub(lambda found: found.group(0).replace(",", " "), text)
        clauses = [normalize(clause).split() for clause in split_clauses(text)] or [[]]
        fired = {
            cue
            for cue in self._control
            for words in clauses
            for start in self._occurrences(cue.words, words, fuzzy=len(cue.words) > 1)
            if self._control_fires(words, start, _past_repeats(cue.words, words, start),
                                   whole_only=cue.words in WHOLE_COMMAND_ONLY)
        }
        return sorted(fired, key=_control_rank)

    def _control_fires(self, words: list[str], start: int, end: int, whole_only: bool = False) -> bool:
        """True when words[start:end] is a command in this clause (rules (a)-(c) above)."""
        before, after = words[:start], words[end:]
        if whole_only:  # "okay wait", "go on please": filler, the phrase and a short tail, nothing else
            return _run_of(self._short_tail_item, after) and _run_of(_FILL_ITEM, before)
        clean_tail = self._clean_tail(after)
        if clean_tail and _run_of(_LEAD_IN_ITEM, before):
            return True  # (a) command frame
        if clean_tail and before and before[-1] in _BREAK_WORDS and not _NEGATIONS.intersection(before[-3:]):
            return True  # (b) trailing command
        if end - start == 1 and words[start] in _LEADING_WORDS and _run_of(_FILL_ITEM, before):
            for split in range(len(after) + 1):  # (c) leading stop, a new sentence after its courtesy tail
                if self._clean_tail(after[:split]) and split < len(after) and after[split] in _NEW_SENTENCE:
                    return True
        return False

    def _clean_tail(self, words: list[str]) -> bool:
        return _run_of(self._tail_item, words)

    def _starts(self, text: str) -> list[_Cue]:
        """Start cues found in the utterance: longer phrases first (a more specific request wins), then exact ones.

        Softeners the cue does not have are skipped in what was heard; a wish not to hold the breath
        puts each found exercise's -no-hold twin first.
        """
        text = spell_digit_runs(text)
        heard = normalize(text).split()
        # Each clause, and each clause of the text without its fillers: "I'm, um, spiraling" is one request.
        clause_texts = split_clauses(text)
        unhesitant = without_fillers(text)
        if unhesitant != text:  # (most texts have no filler: nothing to cut again)
            clause_texts += [clause for clause in split_clauses(unhesitant) if clause not in clause_texts]
        clauses = [_plain_words(normalize(clause).split()) for clause in clause_texts] or [[]]
        # Softeners out of each clause once, and each clause's words as a set: most phrases' first word is too
        # short to be misspelt (MIN_FUZZY_LETTERS), and a phrase whose first word is not there is not looked for.
        plain = [([word for word in clause if word not in _SOFTENERS], set(clause)) for clause in clauses]
        exact: dict[_Cue, bool] = {}
        for cue in self._start:
            first_anywhere = _may_be_misspelt(cue.words[0], self.fuzzy)
            softener_free = _SOFTENERS.isdisjoint(cue.words)
            for clause, (softened, present) in zip(clauses, plain):
                if cue.words[0] not in present and not first_anywhere:
                    continue
                if softener_free:
                    words = softened
                else:
                    words = [word for word in clause if word not in _SOFTENERS or word in cue.words]
                for start in self._occurrences(cue.words, words, fuzzy=self.fuzzy):
                    if not _NEGATIONS.intersection(
                        words[max(0, start - START_NEGATION_WINDOW) : start]
                    ) and self._start_addressed(words, start, start + len(cue.words)):
                        exact[cue] = exact.get(cue, False) or tuple(words[start : start + len(cue.words)]) == cue.words
        found = sorted(exact, key=lambda cue: (-len(cue.words), not exact[cue], -len(" ".join(cue.words)), cue.intent))
        if _NO_HOLD_WISH.search(" ".join(heard)):
            found = self._hold_free_first(found)
        return found

    def _start_addressed(self, words: list[str], start: int, end: int) -> bool:
        """True when the start phrase words[start:end] reads as said to us, not inside someone's story.

        The words around it, not counting framing words ("okay", "can you", "I think", "please", "right
        now"), are few; or it opens the utterance (after a lead-in) or closes it (before a courtesy tail)
        and the rest is still a sentence, not a monologue. "I'm spiraling and I
        don't know what to do" and "okay I think I'm panicking" start; "my sister used to get panic
        attacks at university" does not, nor a recognizer's run-on guess over background talk that
        happens to contain a cue in the middle ("that doctor read sleep racing thoughts it out normal").
        """
        before, after = words[:start], words[end:]
        extra = [word for word in before + after if word not in _START_FRAME_WORDS]
        if len(extra) <= START_MAX_EXTRA_WORDS:
            return True
        at_an_edge = _run_of(_LEAD_IN_ITEM, before) or self._clean_tail(after)
        return at_an_edge and len(extra) <= START_MAX_STORY_WORDS

    def _hold_free_first(self, found: list[_Cue]) -> list[_Cue]:
        """The hold-free twins of the exercises named, then the rest: "box breathing but no holding" is box, hold-free.

        A named exercise outranks a generic hold-free phrase: "four seven eight breathing without holding my
        breath" is 4-7-8 without holds, not the box breathing that "breathing without holding my breath" starts.
        """
        twins = [
            _Cue("start", cue.intent + NO_HOLD_SUFFIX, cue.words)
            for cue in found
            if cue.intent + NO_HOLD_SUFFIX in self._start_intents
        ]
        rest = [cue for cue in found if cue.intent + NO_HOLD_SUFFIX not in self._start_intents]
        ranked: dict[str, _Cue] = {}
        for cue in twins + rest:
            ranked.setdefault(cue.intent, cue)  # one cue per exercise, the best-ranked
        return list(ranked.values())

    def _occurrences(self, phrase: tuple[str, ...], words: list[str], fuzzy: bool) -> list[int]:
        """Where `phrase` starts in `words`, word for word (a long word may differ a little when fuzzy)."""
        fuzzy = fuzzy and self.fuzzy
        size = len(phrase)
        first, rest = phrase[0], phrase[1:]
        # The first word is tested inline, and _same_word called only where it may be misspelt: each match
        # looks for some 250 phrases at every word, and near_cues asks the matcher about each candidate.
        first_fuzzy = _may_be_misspelt(first, fuzzy)
        found = []
        for i in range(len(words) - size + 1):
            heard = words[i]
            if heard != first and not (first_fuzzy and _same_word(first, heard, True)):
                continue
            if all(_same_word(cue, word, fuzzy) for cue, word in zip(rest, words[i + 1 : i + size])):
                found.append(i)
        return found


_MAX_ITEM_WORDS = 6  # no lead-in, filler or tail is longer ("it is time to" and "i would like to" are 4)
# Longer runs are not split every possible way (a clause of thousands of words, checked at each
# control word in it, would cost time squared): they count when each word is an item on its own.
_MAX_RUN_WORDS = 40


_CONTROL_ORDER = {intent: rank for rank, intent in enumerate(CONTROL_INTENTS)}


def _control_rank(cue: _Cue) -> tuple:
    """Which of several controls heard at once to act on first: stop and pause first (CONTROL_INTENTS'
    order, the safe reading of a mixed command), then the longer phrase."""
    return _CONTROL_ORDER.get(cue.intent, len(_CONTROL_ORDER)), -len(cue.words), cue.words


def _holds(phrase: tuple[str, ...], part: tuple[str, ...]) -> bool:
    """Whether `part` is a run of words inside `phrase`: ("i", "need", "to", "slow", "down") holds ("slow", "down")."""
    return any(phrase[start : start + len(part)] == part for start in range(len(phrase) - len(part) + 1))


def _past_repeats(phrase: tuple[str, ...], words: list[str], start: int) -> int:
    """Where the phrase found at words[start] ends, said once or more times over: a recognizer writes no
    punctuation, so "hold on, hold on" comes as "hold on hold on". Only the same phrase: "next too slow" is
    two commands, or one misheard, and not the first said again."""
    end = start + len(phrase)
    while tuple(words[end : end + len(phrase)]) == phrase:
        end += len(phrase)
    return end


def _plain_words(words: list[str]) -> list[str]:
    """The words as meant, for start matching: without the hedges of _HEDGES ("i am kind of freaking out" ->
    "i am freaking out"), and with a run of 2 to 4 words said again at once said once, as when a speaker starts
    over ("he has not he has not texted back", whose first "not" would otherwise read as a negation of the
    phrase). Runs of number words are kept ("three three three" is a cue, and so is counting)."""
    kept: list[str] = []
    k = 0
    while k < len(words):
        if tuple(words[k:k + 2]) in _HEDGES:
            k += 2
        elif words[k] == "like" and kept and kept[-1] in _BE:
            k += 1
        else:
            kept.append(words[k])
            k += 1
    for size in (4, 3, 2):
        k = 0
        while k + 2 * size <= len(kept):
            run = kept[k:k + size]
            if run == kept[k + size:k + 2 * size] and not all(word in NUMBER_WORDS for word in run):
                del kept[k + size:k + 2 * size]
            else:
                k += 1
    return kept


def _run_of(item: re.Pattern, words: list[str]) -> bool:
    """True when `words` is a run of zero or more `item`s (each a few words), found in one pass.

    Not `(?:\\s(?:...))*` over the joined words: where the items overlap ("now" is a filler and a
    tail) such a regex backtracks exponentially when the run fails at its end, and "stop please
    please ... please help" took minutes.
    """
    if len(words) > _MAX_RUN_WORDS:
        return all(item.fullmatch(word) for word in set(words))  # "stop stop stop ...", "please please ..."
    reachable = [True] + [False] * len(words)
    for end in range(1, len(words) + 1):
        first = max(0, end - _MAX_ITEM_WORDS)
        if not any(reachable[first:end]):
            return False  # no run reaches this far, so none can reach the end
        reachable[end] = any(reachable[start] and item.fullmatch(" ".join(words[start:end])) for start in range(first, end))
    return reachable[-1]


def _may_be_misspelt(cue_word: str, fuzzy: bool) -> bool:
    """Whether _same_word may take another word for `cue_word`: only long words are matched fuzzily."""
    return fuzzy and len(cue_word) >= MIN_FUZZY_LETTERS


def _same_word(cue: str, heard: str, fuzzy: bool) -> bool:
    """Exact, or (fuzzy, both words long enough, same first letter) a close spelling or the same stem."""
    if cue == heard:
        return True
    if not fuzzy or min(len(cue), len(heard)) < MIN_FUZZY_LETTERS or cue[0] != heard[0]:
        return False
    return _stem(cue) == _stem(heard) or levenshtein_ratio(cue, heard) >= MIN_FUZZY_RATIO


def near_word(cue: str, heard: str) -> bool:
    """Equal, or both of three letters or more and at least 0.6 alike (start_support's looser test)."""
    return cue == heard or (min(len(cue), len(heard)) >= 3 and levenshtein_ratio(cue, heard) >= SUPPORT_RATIO)


def _stem(word: str) -> str:
    """A light stem so inflections meet: spiraling, spiralling, spiraled -> spiral."""
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            word = word[: -len(suffix)]
            break
    if len(word) >= 5 and word[-1] == word[-2] and word[-1] not in "aeiou":
        word = word[:-1]  # spiralling -> spirall -> spiral
    return word


def levenshtein_ratio(a: str, b: str) -> float:
    """1 - edit distance / length of the longer word: 1.0 for equal words, 0.0 for nothing in common."""
    if not a and not b:
        return 1.0
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b)))
        previous = current
    return 1.0 - previous[-1] / max(len(a), len(b))
