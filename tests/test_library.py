"""Loading the library: bundled files, the user's own folder, overrides and broken files."""

from __future__ import annotations

import hashlib

import pytest

from assistant.cli import main
from assistant.errors import UnknownExerciseError
from assistant.library.loader import load_library, user_exercise_dir
from assistant.library.model import Breathe, Listen, Say
from tests.test_check import VALID


@pytest.fixture
def user_dir(tmp_path, monkeypatch):
    """An empty user exercise folder under a private XDG_CONFIG_HOME."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    folder = tmp_path / "grounding" / "exercises"
    folder.mkdir(parents=True)
    return folder


def test_user_folder_follows_xdg_config_home(user_dir):
    """User exercises live in $XDG_CONFIG_HOME/grounding/exercises."""
    assert user_exercise_dir() == user_dir


def test_user_folder_defaults_to_dot_config(monkeypatch, tmp_path):
    """Without XDG_CONFIG_HOME the folder is ~/.config/grounding/exercises."""
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert user_exercise_dir() == tmp_path / ".config" / "grounding" / "exercises"


def test_user_file_adds_an_exercise(user_dir):
    """A valid user file appears next to the bundled exercises."""
    (user_dir / "calm.yaml").write_text(VALID)
    library = load_library()
    assert "calm" in library.exercises and "box-breathing" in library.exercises
    assert library.get("calm").path == user_dir / "calm.yaml"


def test_user_file_overrides_a_bundled_id_with_a_notice(user_dir):
    """A user file with a bundled id replaces it, and the person is told."""
    (user_dir / "mine.yaml").write_text(VALID.replace("id: calm", "id: box-breathing").replace("Calm breathing", "My box"))
    notes = []
    library = load_library(warn=notes.append)
    assert library.get("box-breathing").title == "My box"
    assert any("replaces the bundled exercise 'box-breathing'" in n for n in notes)


def test_broken_user_file_is_skipped_with_a_warning_and_left_alone(user_dir):
    """One broken file is skipped with a warning naming it; the rest still load; the file is unchanged."""
    broken = user_dir / "broken.yaml"
    broken.write_text(VALID.replace("inhale: 4", "inhale: soon"))
    (user_dir / "calm.yaml").write_text(VALID)
    before = hashlib.sha256(broken.read_bytes()).hexdigest()
    notes = []
    library = load_library(warn=notes.append)
    assert "calm" in library.exercises
    assert any(str(broken) in n and "must be a number" in n for n in notes)
    assert hashlib.sha256(broken.read_bytes()).hexdigest() == before


def test_broken_user_file_warning_reaches_stderr(user_dir, capsys):
    """`grounding list` still works with a broken user file and names it on stderr."""
    (user_dir / "broken.yaml").write_text("id: [unclosed\n")
    assert main(["list"]) == 0
    captured = capsys.readouterr()
    assert "broken.yaml" in captured.err and "box-breathing" in captured.out


def test_second_user_file_with_the_same_id_is_skipped(user_dir):
    """Two user files with one id: the first (by name) wins, the second is named in a warning."""
    (user_dir / "a.yaml").write_text(VALID.replace("Calm breathing", "First"))
    (user_dir / "b.yaml").write_text(VALID.replace("Calm breathing", "Second"))
    notes = []
    assert load_library(warn=notes.append).get("calm").title == "First"
    assert any("b.yaml" in n and "already used" in n for n in notes)


def test_unknown_id_names_the_known_ones(user_dir):
    """Asking for a missing id says which ids exist."""
    with pytest.raises(UnknownExerciseError, match="box-breathing"):
        load_library().get("nope")


def test_bundled_exercises_use_every_step_type():
    """The bundled set exercises the whole format: say, breathe (fractional seconds) and listen."""
    library = load_library()
    steps = [step for exercise in library.exercises.values() for step in exercise.steps]
    assert any(isinstance(s, Say) for s in steps) and any(isinstance(s, Listen) for s in steps)
    seconds = [p.seconds for s in steps if isinstance(s, Breathe) for p in s.breathing.phases]
    assert any(value != int(value) for value in seconds)
    assert library.get("breathing-4-7-8").breathing_blocks[0].cycles == 4
    assert library.cue_maps and library.cue_maps[0].control["stop"]


def test_cue_maps_are_chosen_by_language(user_dir):
    """The library keeps the cue maps of the language asked for (English by default)."""
    (user_dir / "cues-fr.yaml").write_text("cues:\n  language: fr\n  control:\n    stop: [arrête]\n")
    assert {cue_map.language for cue_map in load_library().cue_maps} == {"en"}
    french = load_library(language="fr").cue_maps
    assert [cue_map.control["stop"] for cue_map in french] == [("arrête",)]
