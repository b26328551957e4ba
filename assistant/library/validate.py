"""Checks a parsed YAML document and builds the model, reporting every problem with its line.

Messages name the field and say how to fix it, because the people who read
them are clinicians editing a text file, not programmers.
"""

from __future__ import annotations

import difflib
import math
import re
from pathlib import Path
from typing import Any, Callable

from assistant.audio.wavio import read_wav
from assistant.errors import AudioFileError

from assistant.library.model import (
    CONTROL_INTENTS,
    KINDS,
    PHASE_NAMES,
    Breathe,
    Breathing,
    CueMap,
    Exercise,
    Listen,
    Pause,
    Phase,
    Play,
    Say,
    SayCycles,
    StartCue,
    Step,
)
from assistant.library.yamlsafe import Document, PathKey, Problem

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
# Longer than this and a breathing block or pause is almost certainly a typo (minutes typed as seconds).
MAX_PHASE_SECONDS = 60.0
MAX_PAUSE_SECONDS = 600.0
MAX_CYCLES = 1000
MAX_BLOCK_MINUTES = 60.0
# A recorded step longer than this is better split into several: each is read into memory whole.
MAX_RECORDING_SECONDS = 180.0
MAX_RECORDING_BYTES = 100_000_000
RECORDING_SUFFIXES = (".wav", ".wave")

EXERCISE_KEYS = ("id", "title", "kind", "summary", "source", "cautions", "intro", "outro", "breathing", "steps")
BREATHING_KEYS = ("phases", "cycles", "minutes", "max_cycles")
PHASE_KEYS = PHASE_NAMES + ("say", "say_cycles")
STEP_KEYS = ("say", "pause", "breathe", "listen", "play")
LISTEN_KEYS = ("timeout_seconds", "silence_seconds")
CUE_KEYS = ("language", "start", "control", "crisis")
START_CUE_KEYS = ("exercise", "phrases")


def speech_seconds(text: str, words_per_minute: float) -> float:
    """How long a text takes to say at a speech rate: the estimate used when no voice has rendered it."""
    words = len(text.split())
    return words * 60.0 / words_per_minute if words else 0.0


class Checker:
    """Collects problems for one document, each at the line of the value it is about."""

    def __init__(self, doc: Document):
        self.doc = doc
        self.problems: list[Problem] = []

    def error(self, path: PathKey, message: str) -> None:
        self.problems.append(Problem(self.doc.file, self.doc.line_of(path), message))

    def warn(self, path: PathKey, message: str) -> None:
        self.problems.append(Problem(self.doc.file, self.doc.line_of(path), message, is_warning=True))

    @property
    def failed(self) -> bool:
        return any(not p.is_warning for p in self.problems)

    def mapping(self, path: PathKey, value: Any, what: str, allowed: tuple[str, ...]) -> dict | None:
        """The value as a mapping with unknown keys reported (with a suggestion), or None if it is not one."""
        if not isinstance(value, dict):
            self.error(path, f"{what} must be a mapping of keys to values, not {describe(value)}")
            return None
        for key in value:
            if key not in allowed:
                self.error(path + (key,), f"unknown key '{key}' in {what}{did_you_mean(key, allowed)}")
        return value

    def text(self, path: PathKey, value: Any, field: str) -> str | None:
        if isinstance(value, str) and value.strip():
            return " ".join(value.split())
        if isinstance(value, str):
            self.error(path, f"'{field}' is empty; write the text, or remove the key")
        else:
            self.error(path, f"'{field}' must be text, not {describe(value)}; put it in quotes if needed")
        return None

    def number(self, path: PathKey, value: Any, field: str, maximum: float, unit: str = "seconds") -> float | None:
        """A positive finite number no larger than `maximum` (fractions allowed)."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.error(path, f"'{field}' must be a number of {unit}, like 4 or 4.5, not {describe(value)}")
            return None
        if not math.isfinite(value) or value <= 0:
            self.error(path, f"'{field}' must be more than 0 {unit}; it is {value}")
            return None
        if value > maximum:
            self.error(path, f"'{field}' is {value} {unit}; the most allowed is {maximum:g} (was it meant in another unit?)")
            return None
        return float(value)

    def count(self, path: PathKey, value: Any, field: str, maximum: int) -> int | None:
        """A whole number from 1 to `maximum`."""
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(path, f"'{field}' must be a whole number, like 4, not {describe(value)}")
            return None
        if value < 1 or value > maximum:
            self.error(path, f"'{field}' must be between 1 and {maximum}; it is {value}")
            return None
        return value


def describe(value: Any) -> str:
    """How a wrongly typed value reads to a person."""
    if value is None:
        return "nothing (the value is missing)"
    if isinstance(value, bool):
        return f"yes/no ({str(value).lower()})"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        shown = value if len(value) <= 30 else value[:27] + "..."
        return f"the text '{shown}'"
    return f"{type(value).__name__} {value!r}"


def did_you_mean(word: str, choices: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    if close:
        return f"; did you mean '{close[0]}'?"
    return f"; allowed keys are: {', '.join(choices)}"


def is_cue_map(doc: Document) -> bool:
    """A cue map file has a top-level 'cues' key; everything else is an exercise."""
    return isinstance(doc.data, dict) and "cues" in doc.data


# ---------------------------------------------------------------- exercises


def build_exercise(doc: Document, words_per_minute: float, folder: Path | None = None) -> tuple[Exercise | None, list[Problem]]:
    """Check an exercise document and build it; the Exercise is None when any error was found.

    `folder` is where its recordings (play steps) must be; by default the folder of `doc.file`.
    """
    check = Checker(doc)
    folder = Path(doc.file).parent if folder is None else folder
    data = check.mapping((), doc.data, "an exercise file", EXERCISE_KEYS + ("cues",))
    if data is None:
        return None, check.problems
    for key in ("id", "title", "kind"):
        if key not in data:
            check.error((), f"the exercise has no '{key}'; add `{key}: ...` at the top level{_example(key)}")
    exercise_id = data.get("id")
    if "id" in data and not (isinstance(exercise_id, str) and ID_PATTERN.match(exercise_id)):
        check.error(
            ("id",),
            f"'id' must be lower-case letters, digits and dashes, like box-breathing; it is {describe(exercise_id)}",
        )
    title = check.text(("title",), data["title"], "title") if "title" in data else None
    kind = data.get("kind")
    if "kind" in data and kind not in KINDS:
        check.error(("kind",), f"'kind' must be one of {', '.join(KINDS)}; it is {describe(kind)}{_suggest(kind, KINDS)}")
    summary = check.text(("summary",), data["summary"], "summary") if "summary" in data else ""
    source = check.text(("source",), data["source"], "source") if "source" in data else ""
    cautions = _text_list(check, ("cautions",), data.get("cautions", []), "cautions")
    intro = _text_list(check, ("intro",), data.get("intro", []), "intro")
    outro = _text_list(check, ("outro",), data.get("outro", []), "outro")

    body: list[Step] = []
    if ("breathing" in data) == ("steps" in data):
        check.error((), "an exercise needs either 'breathing' (one paced-breathing block) or 'steps' (a guided sequence), not both or neither")
    elif "breathing" in data:
        block = _breathing(check, ("breathing",), data["breathing"], words_per_minute)
        if block is not None:
            body.append(Breathe(block))
    else:
        body.extend(_steps(check, ("steps",), data["steps"], words_per_minute, folder))
    if "cues" in data:
        check.error(("cues",), "'cues' belongs in a cue map file of its own, not in an exercise")

    if check.failed:
        return None, check.problems
    steps = tuple(Say(t) for t in intro) + tuple(body) + tuple(Say(t) for t in outro)
    if not steps:
        check.error((), "the exercise has no steps; add some under 'steps'")
        return None, check.problems
    exercise = Exercise(
        id=exercise_id,
        title=title,
        kind=kind,
        steps=steps,
        summary=summary or "",
        source=source or "",
        cautions=tuple(cautions),
    )
    return exercise, check.problems


def _example(key: str) -> str:
    return {
        "id": ", e.g. `id: my-breathing`",
        "title": ", e.g. `title: Slow breathing`",
        "kind": f" (one of {', '.join(KINDS)})",
    }[key]


def _suggest(value: Any, choices: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(str(value), list(choices), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def _text_list(check: Checker, path: PathKey, value: Any, field: str) -> list[str]:
    """A text or a list of texts (intro, outro, cautions)."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        check.error(path, f"'{field}' must be a text or a list of texts, not {describe(value)}")
        return []
    texts = []
    for index, item in enumerate(value):
        text = check.text(path + (index,), item, field)
        if text:
            texts.append(text)
    return texts


def _breathing(check: Checker, path: PathKey, value: Any, words_per_minute: float) -> Breathing | None:
    data = check.mapping(path, value, "a breathing block", BREATHING_KEYS)
    if data is None:
        return None
    raw_phases = data.get("phases")
    if raw_phases is None:
        check.error(path, "the breathing block has no 'phases'; add a list such as `phases: [{inhale: 4}, {exhale: 6}]`")
        return None
    if not isinstance(raw_phases, list) or not raw_phases:
        check.error(path + ("phases",), f"'phases' must be a non-empty list of phases, not {describe(raw_phases)}")
        return None
    phases = [_phase(check, path + ("phases", i), item, words_per_minute) for i, item in enumerate(raw_phases)]
    if not any(p is not None and p.name in ("inhale", "exhale") for p in phases):
        check.error(path + ("phases",), "the phases need at least one inhale or exhale")

    has_cycles, has_minutes = "cycles" in data, "minutes" in data
    if has_cycles == has_minutes:
        check.error(path, "give the length as either 'cycles' (a whole number) or 'minutes' (fractions allowed), exactly one of them")
        return None
    max_cycles = None
    if "max_cycles" in data:
        max_cycles = check.count(path + ("max_cycles",), data["max_cycles"], "max_cycles", MAX_CYCLES)
    if any(p is None for p in phases):
        return None
    cycle_seconds = sum(p.seconds for p in phases)
    if has_cycles:
        cycles = check.count(path + ("cycles",), data["cycles"], "cycles", MAX_CYCLES)
    else:
        minutes = check.number(path + ("minutes",), data["minutes"], "minutes", MAX_BLOCK_MINUTES, unit="minutes")
        # Whole cycles only, so the block always ends where a breath ends.
        cycles = None
        if minutes:
            whole = minutes * 60.0 / cycle_seconds  # inf when the phases are a denormal fraction of a second
            if whole > MAX_CYCLES + 0.5:
                # Tiny phases would make millions of cycles: `grounding list` would plan them all and hang.
                check.error(
                    path + ("minutes",),
                    f"{minutes:g} minutes of a {cycle_seconds:g} s cycle is more than {MAX_CYCLES} cycles; "
                    "give the phases their length in seconds (like inhale: 4), or use fewer minutes",
                )
                return None
            cycles = max(1, round(whole))
    if cycles is None:
        return None
    if max_cycles is not None and cycles > max_cycles:
        where = path + (("cycles",) if has_cycles else ("minutes",))
        check.error(where, f"this block runs {cycles} cycles but 'max_cycles' is {max_cycles}; lower it or raise max_cycles")
        return None
    return Breathing(phases=tuple(phases), cycles=cycles, max_cycles=max_cycles)


def _phase(check: Checker, path: PathKey, value: Any, words_per_minute: float) -> Phase | None:
    data = check.mapping(path, value, "a phase", PHASE_KEYS)
    if data is None:
        return None
    names = [key for key in data if key in PHASE_NAMES]
    if len(names) != 1:
        found = f"found {', '.join(names)}" if names else "found none"
        check.error(path, f"each phase needs exactly one of {', '.join(PHASE_NAMES)} with its seconds, like `- inhale: 4` ({found})")
        return None
    name = names[0]
    seconds = check.number(path + (name,), data[name], name, MAX_PHASE_SECONDS)
    say = check.text(path + ("say",), data["say"], "say") if "say" in data else None
    say_cycles = _say_cycles(check, path + ("say_cycles",), data["say_cycles"]) if "say_cycles" in data else SayCycles()
    if seconds is None or ("say" in data and say is None) or say_cycles is None:
        return None
    if say:
        needed = speech_seconds(say, words_per_minute)
        if needed > seconds:
            check.warn(
                path + ("say",),
                f"'{say}' takes about {needed:.1f} s to say at {words_per_minute:g} words per minute, "
                f"but the {name} lasts {seconds:g} s; shorten the prompt or it will run into the next phase",
            )
    return Phase(name=name, seconds=seconds, say=say, say_cycles=say_cycles)


def _say_cycles(check: Checker, path: PathKey, value: Any) -> SayCycles | None:
    if value == "all":
        return SayCycles()
    if not isinstance(value, dict):
        check.error(path, f"'say_cycles' must be all, or a mapping like {{first: 3}}, {{every: 4}} or {{first: 3, every: 4}}, not {describe(value)}")
        return None
    data = check.mapping(path, value, "say_cycles", ("first", "every"))
    if data is None or not data:
        if data is not None:
            check.error(path, "'say_cycles' is empty; use {first: N}, {every: N} or both")
        return None
    first = check.count(path + ("first",), data["first"], "first", MAX_CYCLES) if "first" in data else None
    every = check.count(path + ("every",), data["every"], "every", MAX_CYCLES) if "every" in data else None
    if ("first" in data and first is None) or ("every" in data and every is None):
        return None
    return SayCycles(first=first, every=every)


def _steps(check: Checker, path: PathKey, value: Any, words_per_minute: float, folder: Path) -> list[Step]:
    if not isinstance(value, list) or not value:
        check.error(path, f"'steps' must be a non-empty list of steps (say, pause, breathe, listen, play), not {describe(value)}")
        return []
    steps: list[Step] = []
    for index, item in enumerate(value):
        step = _step(check, path + (index,), item, words_per_minute, folder)
        if step is not None:
            steps.append(step)
    return steps


def _step(check: Checker, path: PathKey, value: Any, words_per_minute: float, folder: Path) -> Step | None:
    data = check.mapping(path, value, "a step", STEP_KEYS)
    if data is None:
        return None
    kinds = [key for key in data if key in STEP_KEYS]
    if len(kinds) != 1:
        check.error(path, f"each step needs exactly one of {', '.join(STEP_KEYS)}, like `- say: Notice your feet.` or `- pause: 3`")
        return None
    kind = kinds[0]
    where = path + (kind,)
    raw = data[kind]
    builders: dict[str, Callable[[], Step | None]] = {
        "say": lambda: _maybe(Say, check.text(where, raw, "say")),
        "pause": lambda: _maybe(Pause, check.number(where, raw, "pause", MAX_PAUSE_SECONDS)),
        "breathe": lambda: _maybe(Breathe, _breathing(check, where, raw, words_per_minute)),
        "listen": lambda: _listen(check, where, raw),
        "play": lambda: _play(check, where, raw, folder),
    }
    return builders[kind]()


def _maybe(make, value):
    return None if value is None else make(value)


def _listen(check: Checker, path: PathKey, value: Any) -> Listen | None:
    data = check.mapping(path, value, "a listen step", LISTEN_KEYS)
    if data is None:
        return None
    if "timeout_seconds" not in data:
        check.error(path, "a listen step needs 'timeout_seconds': how long to wait when nothing is said, e.g. 20")
        return None
    timeout = check.number(path + ("timeout_seconds",), data["timeout_seconds"], "timeout_seconds", MAX_PAUSE_SECONDS)
    silence = 2.5
    if "silence_seconds" in data:
        silence = check.number(path + ("silence_seconds",), data["silence_seconds"], "silence_seconds", 30.0)
    if timeout is None or silence is None:
        return None
    return Listen(timeout_seconds=timeout, silence_seconds=silence)


def _play(check: Checker, path: PathKey, value: Any, folder: Path) -> Play | None:
    """A recording beside the exercise file: a readable WAV, not too long, and never outside the folder."""
    if not isinstance(value, str) or not value.strip():
        check.error(path, f"'play' must be the name of a WAV file beside the exercise, like `play: my-voice.wav`, not {describe(value)}")
        return None
    name = value.strip()
    written = Path(name)
    home = folder.resolve()
    where = f"beside the exercise file, in {home}"
    if written.is_absolute() or name.startswith("~"):
        check.error(path, f"'play: {name}' is a full path; give just the file name and put the recording {where}")
        return None
    if ".." in written.parts:
        check.error(path, f"'play: {name}' leads outside this exercise's folder ('..'); a recording must be {where}")
        return None
    if written.suffix.lower() not in RECORDING_SUFFIXES:
        check.error(path, f"'play: {name}' is not a WAV file; save or convert the recording as WAV (e.g. `ffmpeg -i {written.stem}{written.suffix} {written.stem}.wav`)")
        return None
    try:
        target = _recording_file(check, path, name, home / written, home, where)
    except (OSError, ValueError, RuntimeError) as exc:
        # A NUL in the name, a name too long for the file system, a link that points to itself (RuntimeError).
        reason = getattr(exc, "strerror", None) or str(exc)
        check.error(path, f"'play: {name}' cannot be used as a file name ({reason}); give the name of a WAV file {where}")
        return None
    if target is None:
        return None
    try:
        samples, sample_rate = read_wav(target)
    except AudioFileError as exc:
        reason = str(exc).removeprefix(f"{target}: ")
        check.error(path, f"'{name}' cannot be played: {reason}")
        return None
    seconds = len(samples) / sample_rate
    if seconds > MAX_RECORDING_SECONDS:
        check.error(path, f"'{name}' lasts {seconds:.0f} s; a recorded step may last at most {MAX_RECORDING_SECONDS:g} s, so split it into shorter steps")
        return None
    if not samples.any():
        check.warn(path, f"'{name}' is silent from start to end; was the microphone muted?")
    return Play(file=name, path=target, frames=len(samples), sample_rate=sample_rate)


def _recording_file(check: Checker, path: PathKey, name: str, candidate: Path, home: Path, where: str) -> Path | None:
    """The recording's resolved path when it is a file of a usable size inside `home`; else reports why and returns None."""
    target = candidate.resolve()
    if not target.is_relative_to(home):
        # Only a link can get here: the name itself has no '..' and is not absolute.
        check.error(path, f"'play: {name}' is a link to {target}, outside this exercise's folder; copy the recording {where} instead of linking to it")
        return None
    if not target.exists():
        check.error(path, f"there is no recording '{name}' {where}; record it there, or correct the name")
        return None
    if target.is_dir():
        check.error(path, f"'play: {name}' is a folder, not a WAV file")
        return None
    if not target.is_file():
        check.error(path, f"'play: {name}' is not a regular file (a pipe or a device?); save the recording as a WAV file {where}")
        return None
    size = target.stat().st_size
    if size > MAX_RECORDING_BYTES:
        check.error(path, f"'{name}' is {size / 1e6:.0f} MB; recordings must be under {MAX_RECORDING_BYTES / 1e6:.0f} MB (split it into shorter steps)")
        return None
    return target


# ---------------------------------------------------------------- cue maps


def build_cue_map(doc: Document, known_ids: set[str] | None) -> tuple[CueMap | None, list[Problem]]:
    """Check a cue map document; exercise ids are checked against `known_ids` when given."""
    check = Checker(doc)
    top = check.mapping((), doc.data, "a cue map file", ("cues",))
    if top is None:
        return None, check.problems
    path = ("cues",)
    data = check.mapping(path, top["cues"], "'cues'", CUE_KEYS)
    if data is None:
        return None, check.problems
    language = data.get("language", "en")
    if not (isinstance(language, str) and re.fullmatch(r"[a-z]{2,3}(-[A-Za-z]{2,4})?", language)):
        check.error(path + ("language",), f"'language' must be a language code like en or ko, not {describe(language)}")
    seen: dict[str, PathKey] = {}

    def phrases(where: PathKey, value: Any) -> tuple[str, ...]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value:
            check.error(where, f"phrases must be a non-empty list of texts, not {describe(value)}")
            return ()
        result = []
        for index, item in enumerate(value):
            text = check.text(where + (index,), item, "phrase")
            if not text:
                continue
            key = text.lower()
            if key in seen:
                check.error(where + (index,), f"the phrase '{text}' is listed twice (also at line {doc.line_of(seen[key])}); keep it under one intent")
            seen[key] = where + (index,)
            result.append(text)
        return tuple(result)

    starts: list[StartCue] = []
    raw_start = data.get("start", [])
    if not isinstance(raw_start, list):
        check.error(path + ("start",), f"'start' must be a list of {{exercise: ID, phrases: [...]}}, not {describe(raw_start)}")
        raw_start = []
    for index, item in enumerate(raw_start):
        where = path + ("start", index)
        cue = check.mapping(where, item, "a start cue", START_CUE_KEYS)
        if cue is None:
            continue
        exercise_id = cue.get("exercise")
        if not isinstance(exercise_id, str):
            check.error(where, f"a start cue needs 'exercise: ID' naming the exercise it starts, not {describe(exercise_id)}")
            continue
        if known_ids is not None and exercise_id not in known_ids:
            check.error(where + ("exercise",), f"no exercise has the id '{exercise_id}'{_suggest(exercise_id, tuple(sorted(known_ids)))}; `grounding list` shows the ids")
        if "phrases" not in cue:
            check.error(where, "a start cue needs 'phrases': what a person says to start it")
            continue
        starts.append(StartCue(exercise_id, phrases(where + ("phrases",), cue["phrases"])))

    control: dict[str, tuple[str, ...]] = {}
    raw_control = data.get("control", {})
    control_map = check.mapping(path + ("control",), raw_control, "'control'", CONTROL_INTENTS)
    for intent, value in (control_map or {}).items():
        if intent in CONTROL_INTENTS:
            control[intent] = phrases(path + ("control", intent), value)
    crisis = phrases(path + ("crisis",), data["crisis"]) if "crisis" in data else ()
    if check.failed:
        return None, check.problems
    return CueMap(language=language, start=tuple(starts), control=control, crisis=crisis), check.problems
