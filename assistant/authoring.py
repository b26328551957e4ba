"""`grounding new`: start an exercise of your own from a commented template or a copy of an existing one.

A file is only ever created, never replaced: the person may have spent an
afternoon on the one that is already there.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import GroundingError
from assistant.library.loader import Library, user_exercise_dir
from assistant.library.validate import ID_PATTERN
from assistant.library.yamlsafe import YamlProblem, read_document

TEMPLATE = """\
# A new exercise. Lines starting with # are notes and are ignored.
# Edit it, then check it:  grounding check @PATH@
# Hear it:                 grounding render @ID@ -o @ID@.wav   (or: grounding run @ID@)
# The format: docs/exercise-format.md; a worked example: docs/clinician-guide.md.
#
# The id: lower-case letters, digits and dashes. The title is what `grounding list` shows.
id: @ID@
title: @TITLE@
kind: grounding              # breathing, grounding, self-support or sleep
summary: One sentence on what this exercise is for.
source: Where the words and timings come from (your practice, a book, a paper).
cautions:                    # shown before the exercise starts
  - Stop whenever you like. If anything feels uncomfortable, breathe normally.
steps:                       # played in order
  - say: Let's take a moment together.     # spoken, then about two seconds of quiet
  - pause: 2                               # seconds of quiet
  - say: Look around. Name three things you can see.
  - listen: {timeout_seconds: 20, silence_seconds: 3}   # waits while they answer aloud
  - breathe:                               # paced breathing over the rising and falling tone
      phases:
        - inhale: 4
          say: Breathe in
        - exhale: 6
          say: And out
          say_cycles: {first: 2}           # prompts only in the first two breaths
      cycles: 3                            # or `minutes: 2`
  # - play: my-voice.wav                   # your own recording, a WAV file in this folder, instead of a spoken text
  - say: Well done. Come back to this whenever you need it.
"""

_ID_LINE = re.compile(r"^(?P<key>\s*id\s*:\s*)(?P<quote>[\"']?)(?P<id>[a-z0-9][a-z0-9-]*)(?P=quote)")


@dataclass(frozen=True)
class NewExercise:
    """What `grounding new` wrote, and anything worth telling the author."""

    path: Path
    notes: tuple[str, ...] = ()


def new_exercise(exercise_id: str, library: Library, copy_from: str | None = None, folder: Path | None = None) -> NewExercise:
    """Write a template (or a copy of `copy_from` under the new id) into the user exercise folder; never over a file."""
    if not ID_PATTERN.match(exercise_id):
        raise GroundingError(f"'{exercise_id}' cannot be an id: use lower-case letters, digits and dashes, like my-breathing")
    folder = user_exercise_dir() if folder is None else folder
    path = folder / f"{exercise_id}.yaml"
    if path.exists():
        raise _exists(path)
    notes = []
    existing = library.exercises.get(exercise_id)
    if existing is not None and existing.path is not None:
        if _inside(existing.path, folder):
            raise GroundingError(f"the id '{exercise_id}' is already used by {existing.path}; choose another id, or edit that file")
        notes.append(f"'{exercise_id}' is a bundled exercise; your file will replace it (delete the file to get the bundled one back)")
    text = TEMPLATE.replace("@ID@", exercise_id).replace("@PATH@", str(path)).replace("@TITLE@", _title(exercise_id))
    if copy_from is not None:
        text = _copy(library, copy_from, exercise_id)
    folder.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: created here and now, or not at all; never written over.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except FileExistsError:
        raise _exists(path) from None
    except OSError as exc:
        raise GroundingError(f"cannot create {path}: {exc.strerror or exc}") from None
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    return NewExercise(path, tuple(notes))


def _exists(path: Path) -> GroundingError:
    return GroundingError(f"{path} already exists, and Grounding never writes over a file; choose another id, or edit it and run `grounding check {path}`")


def _title(exercise_id: str) -> str:
    words = exercise_id.replace("-", " ").strip()
    return words[:1].upper() + words[1:]


def _copy(library: Library, source_id: str, new_id: str) -> str:
    """The source exercise's own YAML, comments and all, with its id changed to `new_id`."""
    source = library.get(source_id)
    if source.path is None:
        raise GroundingError(f"'{source_id}' is built into Grounding, not read from a file, so it cannot be copied; start from the template instead")
    try:
        text = source.path.read_text(encoding="utf-8-sig")
        line = read_document(source.path).line_of(("id",))
    except (OSError, YamlProblem) as exc:
        raise GroundingError(f"cannot read {source.path} to copy it: {exc}") from None
    lines = text.splitlines(keepends=True)
    match = _ID_LINE.match(lines[line - 1]) if 0 < line <= len(lines) else None
    if match is None or match["id"] != source.id:
        raise GroundingError(f"cannot find the line `id: {source.id}` in {source.path} to change it; copy the file by hand and change its id")
    lines[line - 1] = lines[line - 1][: match.start("id")] + new_id + lines[line - 1][match.end("id") :]
    header = f"# Copied from '{source.id}' ({source.path}) by `grounding new`. Change the title too, so the two are told apart.\n"
    return header + "".join(lines)


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False
