"""Personal settings: loading, defaults, FILE:LINE checks, and a broken file falling back to defaults."""

from __future__ import annotations

import re

import numpy as np
import pytest

from assistant.cli import main
from assistant.config import DEFAULTS, Settings, config_path, load_settings

GOOD = """\
settings:
  voice: en-us
  words_per_minute: 105
  volume: 0.7
  tone:
    low_hz: 196
    high_hz: 294
  noise: brown
  prefer:
    grounding-5-4-3-2-1: orienting
"""


@pytest.fixture
def config_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    (tmp_path / "grounding").mkdir()
    return tmp_path / "grounding"


def test_config_path_follows_xdg_config_home(config_home):
    """The file lives at $XDG_CONFIG_HOME/grounding/config.yaml."""
    assert config_path() == config_home / "config.yaml"


def test_no_file_means_defaults(config_home):
    """Without a file every setting has its default: 115 words a minute, full volume, 220-330 Hz, no noise."""
    settings = load_settings()
    assert settings == DEFAULTS
    assert (settings.words_per_minute, settings.volume, settings.tone_low_hz, settings.tone_high_hz, settings.noise) == (115.0, 1.0, 220.0, 330.0, None)


def test_every_setting_is_read(config_home):
    """Each key of a good file reaches its field."""
    (config_home / "config.yaml").write_text(GOOD)
    settings = load_settings()
    assert settings == Settings(
        voice="en-us", words_per_minute=105.0, volume=0.7, tone_low_hz=196.0, tone_high_hz=294.0,
        noise="brown", prefer=(("grounding-5-4-3-2-1", "orienting"),),
    )
    assert settings.preferred("grounding-5-4-3-2-1") == "orienting"
    assert settings.preferred("box-breathing") == "box-breathing"


def test_noise_none_and_empty_settings(config_home):
    """`noise: none` turns the bed off; `settings:` with nothing under it is all defaults."""
    (config_home / "config.yaml").write_text("settings:\n  noise: none\n")
    assert load_settings().noise is None
    (config_home / "config.yaml").write_text("settings:\n")
    assert load_settings() == DEFAULTS


def test_broken_file_warns_naming_it_and_uses_defaults(config_home):
    """A broken file never stops a session: the warning names the file and line, and defaults are used."""
    path = config_home / "config.yaml"
    path.write_text("settings:\n  words_per_minute: 400\n")
    warnings = []
    assert load_settings(warn=warnings.append) == DEFAULTS
    assert len(warnings) == 1 and f"{path}:2:" in warnings[0] and "words_per_minute" in warnings[0]


BAD = [
    ("slow", "settings:\n  words_per_minute: 60\n", 2, "between 92 and 220"),
    ("pace-text", "settings:\n  words_per_minute: slow\n", 2, "must be a number"),
    ("volume-high", "settings:\n  volume: 3\n", 2, "at most 1"),
    ("volume-zero", "settings:\n  volume: 0\n", 2, "above 0"),
    ("tone-inverted", "settings:\n  tone: {low_hz: 400, high_hz: 300}\n", 2, "below 'high_hz'"),
    ("tone-ultrasonic", "settings:\n  tone:\n    high_hz: 20000\n", 3, "between 60 and 1200"),
    ("tone-typo", "settings:\n  tone:\n    low: 200\n", 3, "did you mean 'low_hz'"),
    ("noise-white", "settings:\n  noise: white\n", 2, "pink, brown, none"),
    ("unknown-key", "settings:\n  speed: 100\n", 2, "unknown key 'speed'"),
    ("prefer-unknown", "settings:\n  prefer:\n    grounding-5-4-3-2-1: orientng\n", 3, "did you mean 'orienting'"),
    ("prefer-list", "settings:\n  prefer: [orienting]\n", 2, "must map"),
    ("prefer-crisis", "settings:\n  prefer:\n    crisis: orienting\n", 3, "crisis script"),
]


@pytest.mark.parametrize("name,content,line,fragment", BAD, ids=[b[0] for b in BAD])
def test_check_reports_bad_settings_at_their_line(config_home, capsys, name, content, line, fragment):
    """`grounding check config.yaml` prints FILE:LINE: naming the setting and how to fix it, exit 1."""
    path = config_home / "config.yaml"
    path.write_text(content)
    assert main(["check", str(path)]) == 1
    out = capsys.readouterr().out
    assert re.search(rf"^{re.escape(str(path))}:{line}: .*{re.escape(fragment)}", out, re.M), out


def test_check_with_no_paths_includes_the_config(config_home, capsys):
    """With no paths, `check` checks the settings file too: clean when good, exit 1 when not."""
    path = config_home / "config.yaml"
    path.write_text(GOOD)
    assert main(["check"]) == 0, capsys.readouterr().out
    path.write_text("settings:\n  volume: loud\n")
    assert main(["check"]) == 1
    assert f"{path}:2:" in capsys.readouterr().out


def test_preferring_an_exercise_from_the_user_folder(config_home, capsys):
    """An id defined in the user's own exercise folder counts as known."""
    exercises = config_home / "exercises"
    exercises.mkdir()
    (exercises / "mine.yaml").write_text("id: mine\ntitle: Mine\nkind: grounding\nsteps:\n  - say: Hello.\n")
    path = config_home / "config.yaml"
    path.write_text("settings:\n  prefer:\n    grounding-5-4-3-2-1: mine\n")
    assert main(["check", str(path)]) == 0, capsys.readouterr().out


# ---------------------------------------------------------------- the settings reach the commands

SHORT = """\
id: short-breath
title: Short breath
kind: breathing
source: Test.
intro: Let's breathe together for a moment.
breathing:
  phases:
    - inhale: 4
    - exhale: 6
  cycles: 2
"""


@pytest.fixture
def short_exercise(config_home):
    (config_home / "exercises").mkdir()
    (config_home / "exercises" / "short-breath.yaml").write_text(SHORT)
    return config_home


def _render(tmp_path, *options):
    out = tmp_path / f"out-{len(list(tmp_path.iterdir()))}.wav"
    assert main(["render", "short-breath", "-o", str(out), "--sample-rate", "8000", "--no-speech", *options]) == 0
    from assistant.audio.wavio import read_wav

    return read_wav(out)[0]


def _crossings_per_second(audio, start_s, end_s, rate=8000):
    part = audio[round(start_s * rate) : round(end_s * rate)]
    return np.count_nonzero(np.diff(np.signbit(part))) / 2 / (end_s - start_s)


def test_render_uses_the_tone_pitch_and_noise_bed_from_settings(short_exercise, tmp_path):
    """config.yaml's tone pitch lowers the breath tone; its noise bed is added, and --noise none takes it away."""
    plain = _render(tmp_path)
    (short_exercise / "config.yaml").write_text("settings:\n  tone: {low_hz: 110, high_hz: 165}\n")
    low = _render(tmp_path)
    # Mid-exhale of the first cycle: the default glide passes about 275 Hz, the lowered one about 138 Hz.
    lead = 0.25 + 2.6 + 2.0  # lead-in, the estimated intro, the gap after it
    assert _crossings_per_second(low, lead + 5.5, lead + 7.5) == pytest.approx(_crossings_per_second(plain, lead + 5.5, lead + 7.5) / 2, rel=0.1)
    (short_exercise / "config.yaml").write_text("settings:\n  noise: brown\n")
    noisy = _render(tmp_path)
    assert len(noisy) == len(plain) and not np.array_equal(noisy, plain)
    assert np.array_equal(_render(tmp_path, "--noise", "none"), plain)


def test_list_reports_lengths_at_the_pace_from_settings(short_exercise, capsys):
    """A slower speech rate in config.yaml makes spoken exercises longer in `grounding list`."""
    import json

    def seconds():
        assert main(["list", "--json"]) == 0
        return {row["id"]: row["seconds"] for row in json.loads(capsys.readouterr().out)}

    before = seconds()
    (short_exercise / "config.yaml").write_text("settings:\n  words_per_minute: 92\n")
    after = seconds()
    assert after["grounding-5-4-3-2-1"] > before["grounding-5-4-3-2-1"]
    assert after["crisis"] == before["crisis"]  # the crisis script keeps its own pace


def test_cli_options_override_settings():
    """--words-per-minute, --voice, --volume and --noise win over the file."""
    import argparse

    from assistant.cli import _noise, _pace, _volume_for
    from assistant.library.model import Exercise, Say

    settings = Settings(words_per_minute=100.0, volume=0.6, noise="pink")
    exercise = Exercise(id="x", title="X", kind="grounding", steps=(Say("Hi."),))
    asked = argparse.Namespace(words_per_minute=130.0, volume=0.9, noise="none")
    assert (_pace(asked, exercise, settings), _volume_for(asked, settings), _noise(asked, settings)) == (130.0, 0.9, None)
    default = argparse.Namespace(words_per_minute=None, volume=None, noise=None)
    assert (_pace(default, exercise, settings), _volume_for(default, settings), _noise(default, settings)) == (100.0, 0.6, "pink")
    assert _volume_for(default, settings, bedside=True) == pytest.approx(0.3)
