"""Personal settings: `$XDG_CONFIG_HOME/grounding/config.yaml`, checked like every other file.

The file is optional. A broken one never stops a session: it is reported
(naming the file and its first problem) and the defaults are used instead.
Options given on the command line win over the file.

    settings:
      voice: en-us                 # a text-to-speech voice name (see `espeak-ng --voices`)
      words_per_minute: 110        # 92-220; calm guidance sits at 100-130
      volume: 0.8                  # 0-1 of the designed level, for live playback
      tone: {low_hz: 196, high_hz: 294}
      noise: brown                 # pink, brown or none
      prefer:                      # when a cue would start the exercise on the left,
        grounding-5-4-3-2-1: orienting   # start the one on the right instead
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from assistant.library.validate import ID_PATTERN, Checker, describe, did_you_mean
from assistant.library.yamlsafe import Document, PathKey, Problem, build_optional_file

SETTINGS_KEYS = ("voice", "words_per_minute", "volume", "tone", "noise", "prefer")
TONE_KEYS = ("low_hz", "high_hz")
NOISE_CHOICES = ("pink", "brown", "none")
# espeak-ng cannot go slower than about 92 words a minute (its rate 80); above 220 is no longer calm.
SLOWEST_WORDS_PER_MINUTE = 92.0
FASTEST_WORDS_PER_MINUTE = 220.0
# A breath tone outside this range is either a rumble or a whistle.
LOWEST_TONE_HZ = 60.0
HIGHEST_TONE_HZ = 1200.0
RESERVED_IDS = ("crisis",)  # the crisis script is never swapped for something else


@dataclass(frozen=True)
class Settings:
    """One person's preferences; each field's unit is in its name or its comment."""

    voice: str | None = None  # text-to-speech voice name or id; None = the engine's default
    words_per_minute: float = 115.0
    volume: float = 1.0  # linear gain 0-1 of the designed level, live playback only
    tone_low_hz: float = 220.0  # pitch at the bottom of the breath
    tone_high_hz: float = 330.0  # pitch at the top of the breath
    noise: str | None = None  # "pink", "brown", or None for no noise bed
    prefer: tuple[tuple[str, str], ...] = ()  # (exercise a cue starts, exercise to start instead)
    path: Path | None = field(default=None, compare=False)

    def preferred(self, exercise_id: str) -> str:
        """The exercise to start when a cue asks for `exercise_id`."""
        return dict(self.prefer).get(exercise_id, exercise_id)


DEFAULTS = Settings()


def config_path() -> Path:
    """`$XDG_CONFIG_HOME/grounding/config.yaml`, defaulting to ~/.config."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "grounding" / "config.yaml"


def is_settings_file(doc: Document) -> bool:
    """A settings file has a top-level 'settings' key."""
    return isinstance(doc.data, dict) and "settings" in doc.data


def build_settings(doc: Document, known_ids: set[str] | None = None) -> tuple[Settings | None, list[Problem]]:
    """Check a settings document; exercise ids under 'prefer' are checked against `known_ids` when given."""
    check = Checker(doc)
    top = check.mapping((), doc.data, "a settings file", ("settings",))
    if top is None:
        return None, check.problems
    path: PathKey = ("settings",)
    raw = top["settings"]
    if raw is None:  # `settings:` with nothing under it: all defaults
        raw = {}
    data = check.mapping(path, raw, "'settings'", SETTINGS_KEYS)
    if data is None:
        return None, check.problems
    values: dict[str, Any] = {}
    if "voice" in data:
        values["voice"] = check.text(path + ("voice",), data["voice"], "voice")
    if "words_per_minute" in data:
        values["words_per_minute"] = _within(
            check, path + ("words_per_minute",), data["words_per_minute"], "words_per_minute",
            SLOWEST_WORDS_PER_MINUTE, FASTEST_WORDS_PER_MINUTE, "words per minute", "guidance sits at 100-130",
        )
    if "volume" in data:
        values["volume"] = _volume(check, path + ("volume",), data["volume"])
    if "tone" in data:
        values.update(_tone(check, path + ("tone",), data["tone"]))
    if "noise" in data:
        values["noise"] = _noise(check, path + ("noise",), data["noise"])
    if "prefer" in data:
        values["prefer"] = _prefer(check, path + ("prefer",), data["prefer"], known_ids)
    if check.failed:
        return None, check.problems
    return Settings(**values), check.problems


def _within(check: Checker, path: PathKey, value: Any, field: str, low: float, high: float, unit: str, advice: str) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        check.error(path, f"'{field}' must be a number of {unit} ({advice}), not {describe(value)}")
        return None
    if not low <= value <= high:
        check.error(path, f"'{field}' is {value:g}; choose between {low:g} and {high:g} {unit} ({advice})")
        return None
    return float(value)


def _volume(check: Checker, path: PathKey, value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        check.error(path, f"'volume' must be a number above 0 and at most 1, like 0.8, not {describe(value)}")
        return None
    if not 0 < value <= 1:
        check.error(path, f"'volume' is {value:g}; choose a number above 0 and at most 1 (1 is the designed level)")
        return None
    return float(value)


def _tone(check: Checker, path: PathKey, value: Any) -> dict[str, float]:
    data = check.mapping(path, value, "'tone'", TONE_KEYS)
    if data is None:
        return {}
    found: dict[str, float] = {}
    for key in TONE_KEYS:
        if key in data:
            hz = _within(check, path + (key,), data[key], key, LOWEST_TONE_HZ, HIGHEST_TONE_HZ, "hertz", "the default glide is 220 to 330")
            if hz is not None:
                found[f"tone_{key}"] = hz
    low = found.get("tone_low_hz", DEFAULTS.tone_low_hz)
    high = found.get("tone_high_hz", DEFAULTS.tone_high_hz)
    if ("low_hz" in data or "high_hz" in data) and not low < high:
        check.error(path, f"the tone must rise on the inhale: 'low_hz' ({low:g}) has to be below 'high_hz' ({high:g})")
    return found


def _noise(check: Checker, path: PathKey, value: Any) -> str | None:
    if value is None or value is False or value == "none":
        return None
    if value not in NOISE_CHOICES:
        check.error(path, f"'noise' must be one of {', '.join(NOISE_CHOICES)}; it is {describe(value)}")
        return None
    return value


def _prefer(check: Checker, path: PathKey, value: Any, known_ids: set[str] | None) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, dict):
        check.error(path, f"'prefer' must map the exercise a cue starts to the one you want instead, like `grounding-5-4-3-2-1: orienting`, not {describe(value)}")
        return ()
    pairs = []
    for asked, wanted in value.items():
        where = path + (asked,)
        ok = _exercise_id(check, where, asked, known_ids, "the exercise a cue starts")
        ok = _exercise_id(check, where, wanted, known_ids, "the exercise to start instead") and ok
        if ok:
            if asked == wanted:
                check.warn(where, f"'{asked}' is preferred to itself; remove the line, it changes nothing")
            pairs.append((asked, wanted))
    return tuple(pairs)


def _exercise_id(check: Checker, where: PathKey, value: Any, known_ids: set[str] | None, role: str) -> bool:
    if not (isinstance(value, str) and ID_PATTERN.match(value)):
        check.error(where, f"{role} must be an exercise id like orienting, not {describe(value)}")
        return False
    if value in RESERVED_IDS:
        check.error(where, "the crisis script cannot be swapped or chosen here; it always starts on crisis language")
        return False
    if known_ids is not None and value not in known_ids:
        hint = did_you_mean(value, sorted(known_ids)) if known_ids else ""
        if "allowed keys" in hint:  # no close match: point to the list instead of printing every id
            hint = ""
        check.error(where, f"no exercise has the id '{value}'{hint}; `grounding list` shows the ids")
        return False
    return True


def load_settings(path: Path | None = None, warn: Callable[[str], None] | None = None) -> Settings:
    """The person's settings, or the defaults when there is no file; a broken file keeps the defaults and says so."""
    path = config_path() if path is None else path
    settings, error = build_optional_file(path, build_settings)
    if settings is None:
        if error is not None and warn:
            warn(f"your settings file could not be used, so the defaults are: {error} (run `grounding check {path}`)")
        return DEFAULTS
    return replace(settings, path=path)
