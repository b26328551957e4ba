"""The crisis script: the right numbers, spoken as shown; it silences an exercise; it survives a broken voice."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pytest

from assistant.audio.timeline import TimelineSettings
from assistant.cli import main
from assistant.crisis import US_RESOURCES, crisis_exercise, load_resources, screen_text, spoken_line
from assistant.errors import SpeechUnavailableError
from assistant.library.loader import load_library
from assistant.library.model import Say
from assistant.session import Session, State
from assistant.session_audio import SessionAudio, prepare

RATE = 16000


def spoken_texts_of(exercise):
    return [step.text for step in exercise.steps if isinstance(step, Say)]


def spoken_digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def test_us_numbers_are_exactly_right():
    """988 (call or text, veterans press 1), HOME to 741741, 911: the defaults, checked digit by digit."""
    by_number = {r.number: r for r in US_RESOURCES}
    assert set(by_number) == {"988", "741741", "911"}
    assert by_number["988"].how == "Call or text" and "Veterans, press 1" in by_number["988"].note
    assert by_number["741741"].how == "Text HOME to"
    assert by_number["911"].how == "Call"


def test_each_spoken_line_reads_its_number_digit_by_digit():
    """The digits spoken in each resource's sentence are exactly its number, one digit at a time."""
    for resource in US_RESOURCES:
        line = spoken_line(resource)
        number_part = line.split(",")[0] if len(resource.number) <= 4 else line.split(resource.label)[0]
        assert spoken_digits(number_part) == resource.number
        assert re.search(r"\d\d", number_part) is None  # never "nine hundred eighty-eight"


def test_the_script_speaks_every_number_and_nothing_else_numeric():
    """Every digit sequence the crisis script speaks belongs to a listed resource."""
    texts = spoken_texts_of(crisis_exercise())
    spoken = " ".join(texts)
    for resource in US_RESOURCES:
        assert " ".join(resource.number) in spoken.replace(", ", " ")
    groups = re.findall(r"\d(?:[ ,]+\d)*", spoken)
    allowed = {r.number for r in US_RESOURCES} | {"1"}  # "press 1"
    assert {spoken_digits(g) for g in groups} <= allowed
    assert "HOME" in spoken


def test_rendered_crisis_timeline_speaks_the_numbers(tmp_path):
    """`grounding render crisis` writes a session whose speech events carry 988, 741741 and 911."""
    import json

    timeline = tmp_path / "t.json"
    assert main(["render", "crisis", "-o", str(tmp_path / "c.wav"), "--timeline", str(timeline), "--no-speech", "--sample-rate", "8000"]) == 0
    texts = [e["text"] for e in json.loads(timeline.read_text())["events"] if e["kind"] == "speech"]
    digits = {spoken_digits(t.split(",")[0]) for t in texts} | {spoken_digits(t.split(" the ")[0]) for t in texts}
    assert {"988", "741741", "911"} <= digits


def test_screen_text_shows_numbers_plainly():
    """Printed, the numbers appear as people dial them."""
    text = screen_text()
    for number in ("988", "741741", "911"):
        assert number in text


def test_crisis_is_in_the_library_and_its_id_is_reserved(tmp_path, monkeypatch):
    """`crisis` is always there, and a user file cannot take its id."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    folder = tmp_path / "grounding" / "exercises"
    folder.mkdir(parents=True)
    (folder / "fake.yaml").write_text("id: crisis\ntitle: Fake\nkind: grounding\nsteps:\n  - say: nothing here\n")
    warnings = []
    library = load_library(warn=warnings.append)
    assert library.get("crisis").title == "Crisis support"
    assert any("reserved" in w for w in warnings)


PROFILE = """\
resources:
  crisis_lines:
    - label: Samaritans
      number: "116 123"
      hours: any time
  care_team:
    - label: Dr. Rivera's practice
      number: "555 0100"
      hours: weekdays 9 to 5
"""


def test_profile_adds_local_lines_and_care_team(tmp_path):
    """A profile adds its lines after the defaults; the care team line is said not to be a crisis line."""
    path = tmp_path / "resources.yaml"
    path.write_text(PROFILE)
    resources = load_resources(path)
    assert [r.number for r in resources] == ["988", "741741", "911", "116 123", "555 0100"]
    care = resources[-1]
    assert not care.is_crisis_line and "not a crisis line" in spoken_line(care)
    assert spoken_digits(spoken_line(resources[3]).split(",")[0] + spoken_line(resources[3]).split(",")[1]) == "116123"


def test_broken_profile_keeps_the_defaults_and_says_so(tmp_path):
    """A profile with a bad number is reported and the default lines are still used."""
    path = tmp_path / "resources.yaml"
    path.write_text(PROFILE.replace('"116 123"', "call them"))
    warnings = []
    assert load_resources(path, warn=warnings.append) == US_RESOURCES
    assert warnings and "number" in warnings[0]


def test_check_validates_the_profile(tmp_path, capsys):
    """`grounding check resources.yaml` names file, line and field."""
    path = tmp_path / "resources.yaml"
    path.write_text(PROFILE.replace('"116 123"', "call them"))
    assert main(["check", str(path)]) == 1
    assert f"{path}:4: 'number' must be a phone number" in capsys.readouterr().out
    path.write_text(PROFILE)
    assert main(["check", str(path)]) == 0


def exercise_audio():
    return SessionAudio(load_library().get("box-breathing"), TimelineSettings(sample_rate=RATE))


def test_crisis_mid_exercise_silences_it_within_300_ms():
    """Crisis language mid-exercise: the exercise is silent within 300 ms and the crisis script plays next."""
    session = Session(exercise_audio())
    for _ in range(round(30 * RATE / 512)):
        session.pull(512)
    crisis = SessionAudio(crisis_exercise(), TimelineSettings(sample_rate=RATE))
    session.interrupt(crisis)
    after = np.concatenate([session.pull(512) for _ in range(round(0.5 * RATE / 512))])
    silent_from = np.flatnonzero(np.abs(after) > 1e-4)
    assert silent_from.size and silent_from[-1] < 0.3 * RATE  # nothing of the exercise after 300 ms
    assert session.audio.exercise.id == "crisis" and session.state is State.RUNNING


class FailingAfterFirstUse:
    """A voice that works at start-up and then breaks, as espeak-ng or pyttsx3 can."""

    def __init__(self, inner):
        self.inner, self.broken = inner, False

    def render(self, text, sample_rate):
        if self.broken:
            raise SpeechUnavailableError("the voice broke")
        return self.inner.render(text, sample_rate)


@pytest.mark.integration
@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed (apt-get install espeak-ng)")
def test_crisis_speech_plays_when_the_voice_has_failed_since_start():
    """Crisis audio rendered at start-up still plays after the text-to-speech engine fails."""
    from assistant.speech.voice import Pyttsx3Voice

    voice = FailingAfterFirstUse(Pyttsx3Voice())
    crisis = prepare(crisis_exercise(), voice, TimelineSettings(sample_rate=RATE))  # at program start
    voice.broken = True
    with pytest.raises(SpeechUnavailableError):
        voice.render("anything", RATE)
    session = Session(exercise_audio())
    session.pull(4096)
    session.interrupt(crisis)
    played = np.concatenate([session.pull(4096) for _ in range(round(25 * RATE / 4096))])
    fade = round(session.controls.fade_seconds * RATE)
    line_988 = next(e for e in crisis.timeline.of_kind("speech") if "9 8 8" in e.text)
    assert crisis.clips and line_988.start < 8 * RATE  # the numbers come within seconds
    heard = played[fade + line_988.start : fade + line_988.end]
    assert np.array_equal(heard, crisis.mixer.render(line_988.start, line_988.end - line_988.start))
    assert np.sqrt(np.mean(heard.astype(np.float64) ** 2)) > 0.02  # it is speech, not silence


@pytest.mark.integration
def test_listen_without_any_sound_output_prints_the_resources_before_its_error(capsys):
    """No speaker at all: nothing can be spoken, so the numbers are on screen, then the device error (exit 1)."""
    code = main(["listen", "--engine", "pocketsphinx", "--no-speech", "--output-device", "no-such-speaker"])
    out, err = capsys.readouterr()
    assert code == 1
    assert "no output device is called 'no-such-speaker'" in err
    for resource in US_RESOURCES:
        assert resource.number in out
    assert "Traceback" not in out + err
