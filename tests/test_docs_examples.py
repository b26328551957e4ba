"""The worked examples in the docs are real: they check clean and render."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from assistant.audio.wavio import write_wav
from assistant.cli import main

DOCS = Path(__file__).resolve().parent.parent / "docs"


def yaml_blocks(name: str) -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", (DOCS / name).read_text(encoding="utf-8"), re.S)


def test_the_clinician_guide_example_checks_and_renders_with_its_recordings(tmp_path, monkeypatch, capsys):
    """The guide's evening-settle, with its two recordings beside it, checks clean and renders as homework."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    folder = tmp_path / "grounding" / "exercises"
    folder.mkdir(parents=True)
    example = next(block for block in yaml_blocks("clinician-guide.md") if "id: evening-settle" in block)
    path = folder / "evening-settle.yaml"
    path.write_text(example)
    assert main(["check", str(path)]) == 1  # the recordings are not made yet
    assert "there is no recording 'welcome.wav'" in capsys.readouterr().out
    voice = (0.3 * np.sin(np.arange(8000) * 0.2)).astype(np.float32)
    write_wav(folder / "welcome.wav", voice, 16000)
    write_wav(folder / "goodnight.wav", voice, 22050)
    assert main(["check", str(path)]) == 0, capsys.readouterr().out
    assert main(["render", "evening-settle", "-o", str(tmp_path / "homework.wav"), "--sample-rate", "8000", "--no-speech"]) == 0
    assert "2 recording(s)" in capsys.readouterr().err


def test_the_format_guide_examples_check_clean(tmp_path, monkeypatch, capsys):
    """Each complete exercise in exercise-format.md passes `grounding check`."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    exercises = [block for block in yaml_blocks("exercise-format.md") if block.startswith("id:")]
    assert len(exercises) >= 2
    for index, block in enumerate(exercises):
        path = tmp_path / f"example-{index}.yaml"
        path.write_text(block)
        assert main(["check", str(path)]) == 0, capsys.readouterr().out


def test_the_readme_settings_example_checks_clean(tmp_path, monkeypatch, capsys):
    """The settings file shown in the README is valid."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    readme = (DOCS.parent / "README.md").read_text(encoding="utf-8")
    block = next(b for b in re.findall(r"```yaml\n(.*?)```", readme, re.S) if b.startswith("settings:"))
    path = tmp_path / "config.yaml"
    path.write_text(block)
    assert main(["check", str(path)]) == 0, capsys.readouterr().out
