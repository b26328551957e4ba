"""`grounding render`: the WAV and timeline a new user gets, checked sample by sample."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from assistant.audio.timeline import TimelineSettings
from assistant.audio.wavio import read_wav
from assistant.cli import main
from assistant.errors import SpeechUnavailableError
from assistant.library.loader import load_library
from assistant.session_audio import prepare

RATE = 44100


@pytest.fixture(scope="module")
def box_render(tmp_path_factory):
    """`grounding render box-breathing ... --no-speech` run as a real command."""
    folder = tmp_path_factory.mktemp("box")
    wav, timeline = folder / "box.wav", folder / "t.json"
    result = subprocess.run(
        [sys.executable, "-m", "assistant", "render", "box-breathing", "-o", str(wav),
         "--timeline", str(timeline), "--sample-rate", str(RATE), "--no-speech"],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    audio, rate = read_wav(wav)
    return audio.astype(np.float64), rate, json.loads(timeline.read_text())


def test_every_box_boundary_is_at_exactly_its_sample(box_render):
    """Box phases of 4 s sit at block start + k x 176400 samples, with no drift."""
    _, rate, timeline = box_render
    assert rate == RATE and timeline["sample_rate"] == RATE
    phases = [e for e in timeline["events"] if e["kind"] == "phase"]
    assert [p["phase"] for p in phases[:4]] == ["inhale", "hold", "exhale", "rest"]
    origin = phases[0]["start"]
    for index, event in enumerate(phases):
        assert event["start"] == origin + index * 4 * RATE
        assert event["end"] == event["start"] + 4 * RATE


def test_box_audio_has_no_discontinuities(box_render):
    """No sample jumps: the largest step is what a smooth 330 Hz tone plus a soft chime can make."""
    audio, _, _ = box_render
    tone_step = 2 * np.pi * 330 / RATE * 10 ** (-16 / 20)
    assert np.abs(np.diff(audio)).max() < 1.5 * tone_step + 0.01


def test_box_audio_starts_and_ends_at_silence(box_render):
    """The file begins and ends with silence (quantised to 16-bit zero)."""
    audio, _, _ = box_render
    assert np.abs(audio[: RATE // 10]).max() == 0
    assert np.abs(audio[-RATE // 10 :]).max() == 0


def test_box_peak_is_at_most_minus_12_dbfs(box_render):
    """The default mix peaks at or under -12 dBFS."""
    audio, _, _ = box_render
    assert 20 * np.log10(np.abs(audio).max()) <= -12.0


def _pitch_hz(chunk: np.ndarray) -> float:
    return np.count_nonzero(np.diff(np.signbit(chunk))) / 2 / (len(chunk) / RATE)


def test_box_pitch_rises_on_inhales_and_falls_on_exhales(box_render):
    """In every cycle the tone is higher late in the inhale than early, and lower late in the exhale."""
    audio, _, timeline = box_render
    phases = [e for e in timeline["events"] if e["kind"] == "phase"]
    for event in phases:
        if event["phase"] not in ("inhale", "exhale"):
            continue
        start, end = event["start"], event["end"]
        quarter = (end - start) // 4
        early = _pitch_hz(audio[start + quarter // 2 : start + 3 * quarter // 2])  # after the chime has faded
        late = _pitch_hz(audio[end - quarter : end])
        if event["phase"] == "inhale":
            assert late > early + 20, event
        else:
            assert late < early - 20, event


@pytest.mark.integration
def test_render_with_real_speech(tmp_path):
    """With espeak-ng the render speaks its prompts at the timeline's speech events."""
    wav, timeline_path = tmp_path / "r.wav", tmp_path / "r.json"
    assert main(["render", "breathing-4-7-8", "-o", str(wav), "--timeline", str(timeline_path), "--sample-rate", "22050"]) == 0
    audio, rate = read_wav(wav)
    timeline = json.loads(timeline_path.read_text())
    speech = [e for e in timeline["events"] if e["kind"] == "speech"]
    assert speech and rate == 22050 == timeline["sample_rate"]
    for event in speech:
        spoken = audio[event["start"] : event["end"]]
        assert np.sqrt(np.mean(spoken.astype(np.float64) ** 2)) > 0.02, event["text"]
    assert np.abs(audio).max() < 1.0


class BrokenVoice:
    """A voice whose engine fails, as a missing espeak-ng or a crashed pyttsx3 would."""

    def render(self, text, sample_rate):
        raise SpeechUnavailableError("the test broke the voice")


def test_failing_speech_renders_tones_and_says_so():
    """If speech cannot be made the session is still built, without speech, and the warning says why."""
    warnings = []
    exercise = load_library().get("box-breathing")
    session = prepare(exercise, BrokenVoice(), TimelineSettings(sample_rate=8000), warn=warnings.append)
    assert session.clips == {} and "the test broke the voice" in session.speech_problem
    assert any("tones and captions only" in w for w in warnings)
    assert np.abs(session.mixer.render(0, session.mixer.total_samples)).max() > 0.05


def test_render_command_survives_a_failing_voice(tmp_path, monkeypatch, capsys):
    """`grounding render` with a broken speech engine still writes the file and says it has no speech."""
    from assistant.speech import voice as voice_module

    monkeypatch.setattr(voice_module.Pyttsx3Voice, "render", BrokenVoice.render)
    wav = tmp_path / "x.wav"
    assert main(["render", "breathing-4-7-8", "-o", str(wav), "--sample-rate", "8000"]) == 0
    err = capsys.readouterr().err
    assert "speech could not be rendered" in err and "tones and chimes only" in err
    assert read_wav(wav)[0].size > 0


def test_unknown_exercise_is_a_message_not_a_traceback(tmp_path, capsys):
    """A mistyped id names the known ones and exits 1."""
    assert main(["render", "box-breething", "-o", str(tmp_path / "x.wav"), "--no-speech"]) == 1
    err = capsys.readouterr().err
    assert "no exercise 'box-breething'" in err and "box-breathing" in err
    assert not (tmp_path / "x.wav").exists()


def test_unwritable_output_is_a_message(tmp_path, capsys):
    """Rendering into a folder that does not exist fails with a message and leaves nothing behind."""
    target = tmp_path / "no-such-folder" / "x.wav"
    assert main(["render", "box-breathing", "-o", str(target), "--no-speech", "--sample-rate", "8000"]) == 1
    assert str(target) in capsys.readouterr().err
    assert not target.exists()


def test_bad_sample_rate_is_refused_by_the_parser(capsys):
    """A sample rate that is not a supported whole number ends with a usage message."""
    with pytest.raises(SystemExit) as exit_info:
        main(["render", "box-breathing", "-o", "x.wav", "--sample-rate", "12345"])
    assert exit_info.value.code == 2
    assert "not supported" in capsys.readouterr().err


def test_list_json_follows_the_contract(capsys):
    """`grounding list --json` prints id, title, kind and seconds for each exercise, matching the render length."""
    assert main(["list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {"box-breathing", "breathing-4-7-8", "resonance-5-5", "grounding-5-4-3-2-1"} <= {r["id"] for r in rows}
    for row in rows:
        assert set(row) == {"id", "title", "kind", "seconds"}
        assert row["kind"] in ("breathing", "grounding", "self-support", "sleep", "crisis")
    box = next(r for r in rows if r["id"] == "box-breathing")
    session = prepare(load_library().get("box-breathing"), None, TimelineSettings(sample_rate=8000))
    assert box["seconds"] == pytest.approx(session.timeline.seconds, abs=0.1)
