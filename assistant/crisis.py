"""Crisis resources and the crisis script: the words spoken when someone may be in danger.

The script is built in code from one list of resources, so the number that is
shown and the digits that are spoken can never disagree, and nobody can remove
the crisis lines by editing a YAML file. A profile (resources.yaml) can add
local crisis lines and the person's own care team.

Safe messaging: hope and help, never methods.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from assistant.library.model import Exercise, Pause, Say
from assistant.library.validate import Checker, describe
from assistant.library.yamlsafe import Document, Problem, build_optional_file

CRISIS_ID = "crisis"


@dataclass(frozen=True)
class Resource:
    """One place to reach a person."""

    label: str
    number: str  # as written and shown, e.g. "988" or "741741"
    how: str  # how to reach it, spoken and shown: "Call or text", "Text HOME to", "Call"
    hours: str = ""
    note: str = ""  # e.g. "Veterans, press 1."
    is_crisis_line: bool = True  # a practice's scheduling line is not

    @property
    def spoken_number(self) -> str:
        """The number as digits read one at a time ("9 8 8"), grouped in threes for longer ones."""
        digits = re.sub(r"\D", "", self.number)
        if len(digits) <= 4:
            return " ".join(digits)
        groups = [digits[i : i + 3] for i in range(0, len(digits), 3)]
        return ", ".join(" ".join(group) for group in groups)


US_RESOURCES = (
    Resource("the Suicide and Crisis Lifeline", "988", "Call or text", "any time, day or night", "Veterans, press 1 after you call."),
    Resource("the Crisis Text Line", "741741", "Text HOME to", "any time"),
    Resource("emergency services, if you are in danger right now", "911", "Call"),
)


def crisis_exercise(resources: tuple[Resource, ...] = US_RESOURCES) -> Exercise:
    """The crisis script as an exercise (id `crisis`), so it renders and plays like any other."""
    # The numbers come first: someone in crisis should not wait through a preamble.
    steps: list = [Say("I'm here with you. You don't have to face this alone.")]
    for resource in resources:
        steps.append(Say(spoken_line(resource)))
        steps.append(Pause(1.0))
    first = resources[0]
    steps += [
        Say("What you are feeling matters. There are people ready to help, right now."),
        Say(f"Once more. {first.how} {first.spoken_number}."),
        Say("I'm staying right here. Say repeat, and I will say the numbers again."),
        Say("If you like, we can breathe slowly together while you reach out."),
    ]
    return Exercise(
        id=CRISIS_ID,
        title="Crisis support",
        kind="crisis",
        steps=tuple(steps),
        summary="Ways to reach a person right now.",
        source="988 Suicide & Crisis Lifeline; Crisis Text Line; safe messaging guidelines.",
    )


def spoken_line(resource: Resource) -> str:
    """One resource as a calm sentence, digits read one by one."""
    parts = [f"{resource.how} {resource.spoken_number}, {resource.label}."]
    if resource.hours:
        parts.append(f"{resource.hours[0].upper()}{resource.hours[1:]}.")
    if resource.note:
        parts.append(resource.note)
    if not resource.is_crisis_line:
        parts.append("This is your care team's line, not a crisis line. For a crisis, use the numbers above.")
    return " ".join(parts)


def screen_text(resources: tuple[Resource, ...] = US_RESOURCES) -> str:
    """The resources printed large and clear, for when there is no sound or as a companion to it."""
    lines = ["", "  You don't have to face this alone. Reach a person now:", ""]
    for resource in resources:
        lines.append(f"    {resource.how:<13} {resource.number:<10} {resource.label}")
        extra = ". ".join(part.rstrip(".") for part in (resource.hours, resource.note) if part)
        if not resource.is_crisis_line:
            extra = (extra + " (your care team, not a crisis line)").strip()
        if extra:
            lines.append(f"    {'':<13} {'':<10} {extra}")
    lines.append("")
    return "\n".join(lines)


# ---------------------------------------------------------------- the profile


def profile_path() -> Path:
    """`$XDG_CONFIG_HOME/grounding/resources.yaml`."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "grounding" / "resources.yaml"


PROFILE_KEYS = ("crisis_lines", "care_team", "replace_defaults")
RESOURCE_KEYS = ("label", "number", "how", "hours", "note")


def is_resources_file(doc: Document) -> bool:
    return isinstance(doc.data, dict) and "resources" in doc.data


def build_resources(doc: Document) -> tuple[tuple[Resource, ...] | None, list[Problem]]:
    """Check a resources profile and return the full list (defaults first, unless replaced)."""
    check = Checker(doc)
    top = check.mapping((), doc.data, "a resources file", ("resources",))
    if top is None:
        return None, check.problems
    data = check.mapping(("resources",), top["resources"], "'resources'", PROFILE_KEYS)
    if data is None:
        return None, check.problems
    added: list[Resource] = []
    for key, is_crisis_line in (("crisis_lines", True), ("care_team", False)):
        entries = data.get(key, [])
        if not isinstance(entries, list):
            check.error(("resources", key), f"'{key}' must be a list of {{label, number, hours}}, not {describe(entries)}")
            continue
        for index, entry in enumerate(entries):
            resource = _resource(check, ("resources", key, index), entry, is_crisis_line)
            if resource is not None:
                added.append(resource)
    replace = data.get("replace_defaults", False)
    if not isinstance(replace, bool):
        check.error(("resources", "replace_defaults"), f"'replace_defaults' must be true or false, not {describe(replace)}")
    elif replace and not any(r.is_crisis_line for r in added):
        check.error(("resources", "replace_defaults"), "replacing the default crisis lines needs at least one entry under 'crisis_lines'")
    if check.failed:
        return None, check.problems
    crisis_lines = [r for r in added if r.is_crisis_line]
    care_team = [r for r in added if not r.is_crisis_line]
    defaults = [] if replace else list(US_RESOURCES)
    return tuple(defaults + crisis_lines + care_team), check.problems


def _resource(check: Checker, path: tuple, value, is_crisis_line: bool) -> Resource | None:
    data = check.mapping(path, value, "a resource", RESOURCE_KEYS)
    if data is None:
        return None
    for key in ("label", "number"):
        if key not in data:
            check.error(path, f"a resource needs '{key}'")
            return None
    label = check.text(path + ("label",), data["label"], "label")
    number = data["number"]
    if isinstance(number, int) and not isinstance(number, bool):
        number = str(number)
    if not isinstance(number, str) or not re.fullmatch(r"\+?[\d][\d\s().-]{1,19}", number.strip()):
        check.error(path + ("number",), f"'number' must be a phone number written with digits, like \"116 123\", not {describe(number)}; put it in quotes")
        return None
    how = check.text(path + ("how",), data["how"], "how") if "how" in data else "Call"
    hours = check.text(path + ("hours",), data["hours"], "hours") if "hours" in data else ""
    note = check.text(path + ("note",), data["note"], "note") if "note" in data else ""
    if label is None or how is None or hours is None or note is None:
        return None
    return Resource(label, number.strip(), how, hours, note, is_crisis_line)


def load_resources(path: Path | None = None, warn=None) -> tuple[Resource, ...]:
    """The person's resources: the defaults plus their profile; a broken profile keeps the defaults and says so."""
    path = profile_path() if path is None else path
    resources, error = build_optional_file(path, build_resources)
    if resources is None:
        if error is not None and warn:
            warn(f"your resources file could not be used, so the default crisis lines are shown: {error}")
        return US_RESOURCES
    return resources
