"""`grounding detect --text ... --json` and `grounding detect AUDIO.wav --json`: the contract outside checks rely on."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.cli import main

DATA = Path(__file__).parent / "data"


def detect(capsys, text):
    assert main(["detect", "--text", text, "--json"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    return [json.loads(line) for line in lines]


def test_every_crisis_phrasing_is_reported_as_crisis(capsys):
    """Each crisis phrasing in the test corpus comes back as one crisis detection."""
    phrases = [line.strip() for line in (DATA / "crisis_phrases.txt").read_text().splitlines() if line.strip() and not line.startswith("#")]
    assert len(phrases) >= 40
    missed = [p for p in phrases if [d["kind"] for d in detect(capsys, p)] != ["crisis"]]
    assert missed == []


def test_start_and_control_follow_the_contract(capsys):
    """Start gives the exercise id, control gives the control word, time_s is 0 for text."""
    (start,) = detect(capsys, "I'm spiraling")
    assert start == {"time_s": 0.0, "kind": "start", "intent": start["intent"], "text": "I'm spiraling"}
    assert start["intent"] in {row["id"] for row in json.loads(_run(["list", "--json"]))}
    (control,) = detect(capsys, "okay stop")
    assert control["kind"] == "control" and control["intent"] == "stop"


def test_ordinary_sentence_prints_nothing(capsys):
    """A figure of speech prints no detection at all."""
    assert detect(capsys, "this traffic is killing me") == []


def _run(args):
    return subprocess.run([sys.executable, "-m", "assistant", *args], capture_output=True, text=True, timeout=60, check=True).stdout


def test_detect_runs_as_a_real_command():
    """The installed command line prints one parseable JSON line for a crisis sentence."""
    out = _run(["detect", "--text", "everyone would be better off without me", "--json"])
    assert json.loads(out) == {"time_s": 0.0, "kind": "crisis", "intent": "crisis", "text": "everyone would be better off without me"}


@pytest.mark.integration
def test_danger_from_someone_else_said_aloud_is_crisis(tmp_path):
    """`grounding detect` on espeak-ng en-us (150 words a minute) saying "Someone is breaking in": both readings
    wrote other words ("Someone is making it") until the sentence was in the cue model's language model
    (CRISIS_PHRASINGS, session 18). The same voice saying "The car is breaking down" is talk."""
    if not shutil.which("espeak-ng"):
        pytest.skip("espeak-ng is not installed")
    heard = {}
    for text in ("Someone is breaking in", "The car is breaking down"):
        wav = tmp_path / "said.wav"
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(wav), "--", text], check=True, timeout=60)
        out = subprocess.run([sys.executable, "-m", "assistant", "detect", str(wav), "--json"],
                             capture_output=True, text=True, timeout=180, check=True).stdout
        heard[text] = [json.loads(line)["kind"] for line in out.splitlines() if line.strip()]
    assert heard == {"Someone is breaking in": ["crisis"], "The car is breaking down": []}
