"""Play steps: a clinician's own WAV beside the exercise, checked for place, format and length, and mixed at its step."""

from __future__ import annotations

import json
import os
import re

import numpy as np
import pytest

from assistant.audio.recording import PEAK_LEVEL, prepare_recording
from assistant.audio.resample import resample
from assistant.audio.timeline import TimelineSettings
from assistant.audio.wavio import read_wav, write_wav
from assistant.cli import main
from assistant.library.loader import load_file, load_library
from assistant.library.model import Play
from assistant.session_audio import SessionAudio, prepare, spoken_texts

CLIP_RATE = 16000
EXERCISE = """\
id: my-welcome
title: My welcome
kind: self-support
source: Written by me.
steps:
  - say: Hello.
  - play: {clip}
  - say: Well done.
"""


def speech_like(seconds: float, rate: int = CLIP_RATE) -> np.ndarray:
    """A tone with a slow swell, peak exactly PEAK_LEVEL, so levelling leaves it as it is."""
    t = np.arange(round(seconds * rate)) / rate
    wave = np.sin(2 * np.pi * 440 * t) * np.sin(np.pi * t / seconds) ** 2
    return (PEAK_LEVEL * wave / np.abs(wave).max()).astype(np.float32)


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """The user exercise folder under a private XDG_CONFIG_HOME."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    path = tmp_path / "config" / "grounding" / "exercises"
    path.mkdir(parents=True)
    return path


def write_exercise(folder, clip: str):
    path = folder / "my-welcome.yaml"
    path.write_text(EXERCISE.format(clip=clip))
    return path


def check_output(capsys, path) -> tuple[int, str]:
    code = main(["check", str(path)])
    return code, capsys.readouterr().out


def test_a_recording_beside_the_exercise_checks_clean_and_is_measured(folder, capsys):
    """`play: my-voice.wav` next to the file passes check and the step knows the clip's length and rate."""
    write_wav(folder / "my-voice.wav", speech_like(1.5), CLIP_RATE)
    path = write_exercise(folder, "my-voice.wav")
    assert check_output(capsys, path) == (0, "")
    step = load_file(path).exercise.steps[1]
    assert step == Play(file="my-voice.wav", path=(folder / "my-voice.wav").resolve(), frames=24000, sample_rate=CLIP_RATE)
    assert step.caption == "[recording: my-voice.wav]" and step.seconds == 1.5


def test_a_recording_in_a_subfolder_is_inside_the_folder(folder, capsys):
    """A clip in a folder under the exercise's own folder is allowed."""
    (folder / "clips").mkdir()
    write_wav(folder / "clips" / "intro.wav", speech_like(0.5), CLIP_RATE)
    assert check_output(capsys, write_exercise(folder, "clips/intro.wav")) == (0, "")


REJECTED = [
    ("parent", "../outside.wav", "leads outside this exercise's folder"),
    ("deeper-parent", "clips/../../outside.wav", "leads outside this exercise's folder"),
    ("absolute", "{outside}", "is a full path"),
    ("home", "~/outside.wav", "is a full path"),
    ("link", "linked.wav", "is a link to"),
    ("missing", "not-recorded-yet.wav", "there is no recording 'not-recorded-yet.wav' beside the exercise file"),
    ("not-wav-name", "voice.mp3", "is not a WAV file"),
    ("not-wav-content", "fake.wav", "cannot be played: not a"),
    ("folder", "adir.wav", "is a folder"),
    ("number", "42", "must be the name of a WAV file"),
]


@pytest.mark.parametrize("name,clip,fragment", REJECTED, ids=[r[0] for r in REJECTED])
def test_a_bad_recording_is_rejected_with_a_clear_message(folder, tmp_path, capsys, name, clip, fragment):
    """Escaping paths, links out of the folder, missing and non-WAV clips: FILE:LINE: naming the problem, exit 1."""
    outside = tmp_path / "outside.wav"
    write_wav(outside, speech_like(0.5), CLIP_RATE)
    os.symlink(outside, folder / "linked.wav")
    (folder / "fake.wav").write_bytes(b"ID3\x03\x00\x00\x00 this is an mp3, not a wav")
    (folder / "adir.wav").mkdir()
    path = write_exercise(folder, clip.format(outside=outside))
    code, out = check_output(capsys, path)
    assert code == 1
    assert re.search(rf"^{re.escape(str(path))}:7: .*{re.escape(fragment)}", out, re.M), out


def test_a_link_inside_the_folder_is_fine(folder, capsys):
    """A symlink whose target is inside the folder does not escape it."""
    write_wav(folder / "take-3.wav", speech_like(0.5), CLIP_RATE)
    os.symlink(folder / "take-3.wav", folder / "final.wav")
    assert check_output(capsys, write_exercise(folder, "final.wav")) == (0, "")


def test_a_too_long_recording_is_rejected(folder, capsys):
    """More than three minutes in one step is refused, with the advice to split it."""
    write_wav(folder / "long.wav", np.full(181 * 1000, 0.1, np.float32), 1000)
    code, out = check_output(capsys, write_exercise(folder, "long.wav"))
    assert code == 1 and "at most 180 s" in out and "split it" in out


def test_a_silent_recording_warns(folder, capsys):
    """An all-zero recording passes with a warning: the microphone was probably muted."""
    write_wav(folder / "quiet.wav", np.zeros(8000, np.float32), 8000)
    code, out = check_output(capsys, write_exercise(folder, "quiet.wav"))
    assert code == 0 and "warning:" in out and "muted" in out


def test_a_broken_recording_skips_the_exercise_when_loading(folder):
    """An exercise with a missing recording is skipped with a warning, like any broken user file."""
    write_exercise(folder, "missing.wav")
    warnings = []
    library = load_library(warn=warnings.append)
    assert "my-welcome" not in library.exercises
    assert any("missing.wav" in w for w in warnings)


def test_recordings_are_not_sent_to_the_voice(folder):
    """The voice speaks the texts only; the recording is planned at its own length."""
    write_wav(folder / "my-voice.wav", speech_like(3.0), CLIP_RATE)
    exercise = load_file(write_exercise(folder, "my-voice.wav")).exercise
    assert spoken_texts(exercise) == ["Hello.", "Well done."]
    audio = SessionAudio(exercise, TimelineSettings(sample_rate=8000))
    event = next(e for e in audio.timeline.of_kind("speech") if e.text == "[recording: my-voice.wav]")
    assert event.end - event.start == 24000 == len(audio.clips[event.text])


def test_the_recording_plays_in_a_render_at_its_step(folder, tmp_path, capsys):
    """`grounding render` writes the clinician's clip, resampled to the session rate, exactly at its event."""
    raw = speech_like(2.0)
    write_wav(folder / "my-voice.wav", raw, CLIP_RATE)
    write_exercise(folder, "my-voice.wav")
    out, timeline_path = tmp_path / "homework.wav", tmp_path / "t.json"
    assert main(["render", "my-welcome", "-o", str(out), "--timeline", str(timeline_path), "--sample-rate", "8000", "--no-speech"]) == 0
    assert "1 recording(s)" in capsys.readouterr().err
    rendered, rate = read_wav(out)
    timeline = json.loads(timeline_path.read_text())
    event = next(e for e in timeline["events"] if e.get("text") == "[recording: my-voice.wav]")
    played = rendered[event["start"] : event["end"]].astype(np.float64)
    clip, _ = read_wav(folder / "my-voice.wav")  # as stored: 16-bit
    expected = prepare_recording(clip, CLIP_RATE, 8000)
    assert rate == 8000 and len(played) == len(expected) == 16000
    quantum = 1 / 32767
    assert np.abs(played - expected).max() <= quantum
    # Away from its 8 ms edge fades the clip is the plain resampled recording, at its own level.
    inner = slice(100, -100)
    assert np.abs(played[inner] - resample(clip, CLIP_RATE, 8000)[inner]).max() <= 2 * quantum
    # Nothing else sounds over it (speech is off, so the texts around it are quiet captions).
    assert not rendered[: event["start"]].any()


def test_a_recording_gone_since_loading_leaves_its_step_quiet(folder):
    """If the file disappears between loading and playing, the session warns and keeps the step's time in quiet."""
    write_wav(folder / "my-voice.wav", speech_like(1.0), CLIP_RATE)
    exercise = load_file(write_exercise(folder, "my-voice.wav")).exercise
    (folder / "my-voice.wav").unlink()
    warnings = []
    audio = prepare(exercise, None, TimelineSettings(sample_rate=8000), warn=warnings.append)
    assert warnings and "my-voice.wav" in warnings[0]
    event = next(e for e in audio.timeline.of_kind("speech") if e.text.startswith("[recording"))
    assert event.end - event.start == 8000 and not audio.mixer.render(event.start, 8000).any()


def test_prepare_recording_levels_loud_and_quiet_clips():
    """A clip peaking at full scale comes down to the voice's level; a quiet one goes up, at most 20 dB."""
    loud = np.sin(np.linspace(0, 200, 8000)).astype(np.float32)
    assert np.abs(prepare_recording(loud, 8000, 8000)).max() == pytest.approx(PEAK_LEVEL, rel=0.01)
    whisper = 0.001 * loud
    assert np.abs(prepare_recording(whisper, 8000, 8000)).max() == pytest.approx(0.01, rel=0.01)
    faded = prepare_recording(np.full(8000, 0.5, np.float32), 8000, 8000)
    assert faded[0] == 0.0 and faded[-1] == pytest.approx(0.0, abs=1e-3)


def test_the_schema_for_editors_knows_the_play_step():
    """Editors using the JSON Schema accept `play: NAME.wav` and flag a full path or another format."""
    import jsonschema
    import yaml

    from tests.test_schema import SCHEMA_PATH

    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))
    assert validator.is_valid(yaml.safe_load(EXERCISE.format(clip="my-voice.wav")))
    assert not validator.is_valid(yaml.safe_load(EXERCISE.format(clip="/home/me/voice.wav")))
    assert not validator.is_valid(yaml.safe_load(EXERCISE.format(clip="voice.mp3")))
