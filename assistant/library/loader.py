"""Finds, loads and checks exercise and cue files: bundled ones, then the user's own.

User files add to the bundled library and may override a bundled exercise by
using its id. A broken user file is skipped with a warning that names it; it is
never rewritten.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterable

from assistant.config import build_settings, config_path, is_settings_file
from assistant.crisis import CRISIS_ID, build_resources, crisis_exercise, is_resources_file, load_resources, profile_path
from assistant.errors import UnknownExerciseError
from assistant.library.model import CueMap, Exercise
from assistant.library.validate import build_cue_map, build_exercise, is_cue_map
from assistant.library.yamlsafe import Document, Problem, YamlProblem, read_document
from assistant.speech.crisis import detect_crisis

BUNDLED_DIR = Path(__file__).resolve().parent.parent / "exercises"
YAML_SUFFIXES = (".yaml", ".yml")
DEFAULT_WORDS_PER_MINUTE = 115.0

Warn = Callable[[str], None]


def user_exercise_dir() -> Path:
    """`$XDG_CONFIG_HOME/grounding/exercises`, defaulting to ~/.config."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "grounding" / "exercises"


def yaml_files(folder: Path) -> list[Path]:
    """YAML files directly in a folder, in a stable order; none if the folder does not exist."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix in YAML_SUFFIXES and p.is_file())


@dataclass
class LoadedFile:
    """What one file gave: an exercise, a cue map, or nothing, and the problems found."""

    path: Path
    exercise: Exercise | None = None
    cue_map: CueMap | None = None
    problems: list[Problem] = field(default_factory=list)
    document: Document | None = None

    @property
    def is_cue_file(self) -> bool:
        return self.document is not None and is_cue_map(self.document)

    @property
    def is_settings_file(self) -> bool:
        return self.document is not None and is_settings_file(self.document)

    @property
    def ok(self) -> bool:
        return not any(not p.is_warning for p in self.problems)


def load_file(path: Path, words_per_minute: float = DEFAULT_WORDS_PER_MINUTE) -> LoadedFile:
    """Read and check one file; cue map ids are not checked here (see `resolve_cues`)."""
    loaded = LoadedFile(path)
    try:
        doc = read_document(path)
    except YamlProblem as exc:
        loaded.problems.append(exc.problem)
        return loaded
    loaded.document = doc
    if is_cue_map(doc):
        cue_map, problems = build_cue_map(doc, known_ids=None)
        loaded.cue_map, loaded.problems = cue_map, problems
    elif is_resources_file(doc):
        _, loaded.problems = build_resources(doc)
    elif is_settings_file(doc):
        _, loaded.problems = build_settings(doc)
    else:
        exercise, problems = build_exercise(doc, words_per_minute)
        if exercise is not None:
            exercise = replace(exercise, path=path)
            if exercise.id == CRISIS_ID:
                # The crisis script is built from the resources profile, never from an exercise file.
                problems.append(Problem(str(path), doc.line_of(("id",)), "the id 'crisis' is reserved for the crisis script; choose another id (local crisis lines go in resources.yaml)"))
                exercise = None
        loaded.exercise, loaded.problems = exercise, problems
    return loaded


def resolve_cues(loaded: LoadedFile, known_ids: set[str]) -> None:
    """Re-check a cue or settings file now that every exercise id is known."""
    if loaded.is_settings_file:
        _, loaded.problems = build_settings(loaded.document, known_ids)
        return
    if not loaded.is_cue_file:
        return
    cue_map, problems = build_cue_map(loaded.document, known_ids)
    if cue_map is not None:
        cue_map = replace(cue_map, path=loaded.path)
    loaded.cue_map, loaded.problems = cue_map, problems


@dataclass
class Library:
    """Every usable exercise by id, and the cue maps, with where each came from."""

    exercises: dict[str, Exercise]
    cue_maps: list[CueMap]

    def get(self, exercise_id: str) -> Exercise:
        try:
            return self.exercises[exercise_id]
        except KeyError:
            known = ", ".join(sorted(self.exercises))
            raise UnknownExerciseError(
                f"there is no exercise '{exercise_id}'. Known exercises: {known}. `grounding list` shows them all."
            ) from None


def load_library(
    user_dir: Path | None = None,
    warn: Warn | None = None,
    words_per_minute: float = DEFAULT_WORDS_PER_MINUTE,
    language: str = "en",
) -> Library:
    """Bundled exercises plus the user's; broken user files are skipped with a warning.

    Only cue maps in `language` are kept: cues are matched against what a
    recognizer of that language hears (a Korean Vosk model, Korean cues).
    """
    warn = warn or (lambda message: None)
    user_dir = user_exercise_dir() if user_dir is None else user_dir
    bundled = [load_file(p, words_per_minute) for p in yaml_files(BUNDLED_DIR)]
    user = [load_file(p, words_per_minute) for p in yaml_files(user_dir)]

    exercises: dict[str, Exercise] = {}
    for loaded in bundled:
        if loaded.exercise is not None:
            exercises[loaded.exercise.id] = loaded.exercise
        elif not loaded.ok:
            warn(f"bundled file skipped (please report this): {_first_error(loaded)}")
    bundled_ids = set(exercises)
    user_ids: dict[str, Path] = {}
    for loaded in user:
        if not loaded.ok:
            warn(f"skipping {loaded.path}: {_first_error(loaded)} (run `grounding check {loaded.path}` for all problems)")
            continue
        exercise = loaded.exercise
        if exercise is None:
            continue
        if exercise.id in user_ids:
            warn(f"skipping {loaded.path}: the id '{exercise.id}' is already used by {user_ids[exercise.id]}")
            continue
        if exercise.id in bundled_ids:
            warn(f"note: {loaded.path} replaces the bundled exercise '{exercise.id}'")
        user_ids[exercise.id] = loaded.path
        exercises[exercise.id] = exercise

    exercises[CRISIS_ID] = crisis_exercise(load_resources(warn=warn))
    known = set(exercises)
    cue_maps = []
    for loaded in bundled + user:
        if not loaded.is_cue_file:
            continue
        resolve_cues(loaded, known)
        if loaded.cue_map is not None:
            if loaded.cue_map.language == language:
                cue_maps.append(loaded.cue_map)
        else:
            warn(f"skipping cue file {loaded.path}: {_first_error(loaded)}")
    return Library(exercises=exercises, cue_maps=cue_maps)


def _first_error(loaded: LoadedFile) -> str:
    errors = [p for p in loaded.problems if not p.is_warning]
    return str(errors[0]) if errors else "unknown problem"


def check_files(
    paths: Iterable[Path],
    user_dir: Path | None = None,
    words_per_minute: float = DEFAULT_WORDS_PER_MINUTE,
) -> list[Problem]:
    """Every problem in the given files (or, with none given, in everything that would load)."""
    paths = list(paths)
    user_dir = user_exercise_dir() if user_dir is None else user_dir
    if not paths:
        personal = [path for path in (profile_path(), config_path()) if path.is_file()]
        targets = yaml_files(BUNDLED_DIR) + yaml_files(user_dir) + personal
        context: list[Path] = []
    else:
        targets = []
        for path in paths:
            targets.extend(yaml_files(path) if path.is_dir() else [path])
        # Ids defined elsewhere still count when a cue file names them.
        chosen = {t.resolve() for t in targets}
        context = [p for p in yaml_files(BUNDLED_DIR) + yaml_files(user_dir) if p.resolve() not in chosen]

    loaded = [load_file(p, words_per_minute) for p in targets]
    problems: list[Problem] = []
    first_use: dict[str, Path] = {}
    for item in loaded:
        if item.exercise is None:
            continue
        previous = first_use.get(item.exercise.id)
        if previous is not None and _same_origin(previous, item.path):
            item.problems.append(
                Problem(str(item.path), _id_line(item), f"the id '{item.exercise.id}' is already used by {previous}; give this exercise its own id")
            )
        first_use.setdefault(item.exercise.id, item.path)
    known = set(first_use)
    if any(item.is_cue_file or item.is_settings_file for item in loaded):
        # Only cue and settings files name other exercises; an exercise file alone needs no context.
        for path in context:
            other = load_file(path, words_per_minute)
            if other.exercise is not None:
                known.add(other.exercise.id)
    for item in loaded:
        resolve_cues(item, known)
        problems.extend(item.problems)
        if item.exercise is not None:
            problems.extend(_crisis_language_spoken(item.document))
    return problems


SPOKEN_KEYS = ("say", "intro", "outro")


def _crisis_language_spoken(doc: Document) -> list[Problem]:
    """A warning for each line of the script that holds crisis language: the listener acts on crisis language
    even over our own voice, so its echo through the microphone could open crisis support mid-exercise
    ("It doesn't need to vanish" once did, by the words alone)."""
    problems = []
    for path, text in _spoken_texts(doc.data, ()):
        found = detect_crisis(text)
        if found is not None:
            message = (f"this line holds words the assistant listens for as crisis language ('{found.phrase}'): "
                       "spoken aloud, its echo may open crisis support in the middle of the exercise. Please reword it")
            problems.append(Problem(doc.file, doc.line_of(path), message, is_warning=True))
    return problems


def _spoken_texts(value, path: tuple) -> list[tuple[tuple, str]]:
    """Every text the script will speak (under say, intro and outro, at any depth), with its path."""
    if isinstance(value, dict):
        found = []
        for key, inner in value.items():
            if key in SPOKEN_KEYS:
                texts = inner if isinstance(inner, list) else [inner]
                found += [(path + (key,) + ((index,) if isinstance(inner, list) else ()), text)
                          for index, text in enumerate(texts) if isinstance(text, str)]
            else:
                found += _spoken_texts(inner, path + (key,))
        return found
    if isinstance(value, list):
        return [found for index, inner in enumerate(value) for found in _spoken_texts(inner, path + (index,))]
    return []


def _same_origin(a: Path, b: Path) -> bool:
    """Two files clash on an id unless one is bundled and the other a user override."""
    return _is_bundled(a) == _is_bundled(b)


def _is_bundled(path: Path) -> bool:
    try:
        path.resolve().relative_to(BUNDLED_DIR)
        return True
    except ValueError:
        return False


def _id_line(item: LoadedFile) -> int:
    return item.document.line_of(("id",)) if item.document else 1
