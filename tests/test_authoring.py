"""`grounding new`: a template or a copy in the user's folder, checked clean, and never written over a file."""

from __future__ import annotations

import pytest

from assistant.cli import main
from assistant.library.loader import load_file, load_library


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    return tmp_path / "grounding" / "exercises"


def test_new_writes_a_template_that_checks_clean(folder, capsys):
    """`grounding new my-calm` creates the folder and a commented file, prints its path and the next step."""
    assert main(["new", "my-calm"]) == 0
    path = folder / "my-calm.yaml"
    out = capsys.readouterr().out
    assert out == f"wrote {path}\nedit it, then `grounding check {path}`\n"
    text = path.read_text()
    assert text.startswith("#") and "# - play: my-voice.wav" in text
    assert main(["check", str(path)]) == 0 and capsys.readouterr().out == ""
    exercise = load_library().get("my-calm")
    assert exercise.title == "My calm" and exercise.path == path


def test_new_never_writes_over_an_existing_file(folder, capsys):
    """A second `new` with the same id is an error that names the file, and the file is unchanged."""
    assert main(["new", "my-calm"]) == 0
    path = folder / "my-calm.yaml"
    path.write_text(path.read_text().replace("Let's take a moment together.", "My own words."))
    before = path.read_bytes()
    capsys.readouterr()
    assert main(["new", "my-calm"]) == 1
    err = capsys.readouterr().err
    assert f"{path} already exists" in err and "never writes over" in err
    assert path.read_bytes() == before


def test_new_refuses_an_id_another_of_your_files_uses(folder, capsys):
    """An id already defined in another file of the folder is refused: the library would skip one of them."""
    folder.mkdir(parents=True)
    (folder / "evening.yaml").write_text("id: my-calm\ntitle: Mine\nkind: grounding\nsteps:\n  - say: Hello.\n")
    assert main(["new", "my-calm"]) == 1
    assert f"already used by {folder / 'evening.yaml'}" in capsys.readouterr().err
    assert not (folder / "my-calm.yaml").exists()


def test_new_from_copies_an_exercise_under_the_new_id(folder, capsys):
    """`--from box-breathing` copies its YAML, comments included, with only the id changed."""
    assert main(["new", "my-box", "--from", "box-breathing"]) == 0
    path = folder / "my-box.yaml"
    copied = load_file(path).exercise
    original = load_library().get("box-breathing")
    assert copied.id == "my-box" and copied.steps == original.steps and copied.title == original.title
    assert "Copied from 'box-breathing'" in path.read_text()
    assert main(["check", str(path)]) == 0, capsys.readouterr().out


def test_new_with_a_bundled_id_notes_that_it_replaces_it(folder, capsys):
    """Customising a bundled exercise under its own id is allowed, with a note that the file replaces it."""
    assert main(["new", "orienting", "--from", "orienting"]) == 0
    assert "your file will replace it" in capsys.readouterr().err
    assert load_library().get("orienting").path == folder / "orienting.yaml"


@pytest.mark.parametrize(
    "argv,fragment",
    [
        (["new", "My Calm!"], "cannot be an id"),
        (["new", "mine", "--from", "no-such-exercise"], "there is no exercise 'no-such-exercise'"),
        (["new", "mine", "--from", "crisis"], "cannot be copied"),
    ],
    ids=["bad-id", "unknown-source", "crisis"],
)
def test_new_explains_what_it_cannot_do(folder, capsys, argv, fragment):
    """A bad id, an unknown source, or the built-in crisis script: a message and exit 1, no file."""
    assert main(argv) == 1
    assert fragment in capsys.readouterr().err
    assert not folder.exists() or not list(folder.iterdir())
