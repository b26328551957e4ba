"""Moonshine as the second reader: the model comes from the wheel, its sentences become words, it hears real speech."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from assistant.audio.resample import resample
from assistant.audio.wavio import read_wav
from assistant.speech.moonshine import MODEL_FILES, ReadingUnavailableError, find_tiny_model, words_of


@pytest.mark.parametrize(
    "sentence, words",
    [
        ("Again, please.", "Again please"),
        ("? I don't know what I'm feeling right now.", "I don't know what I'm feeling right now"),
        ("♪ Free, free, free.", "Free free free"),
        ("Self-compassion break.", "Self compassion break"),
        ("", ""),
    ],
)
def test_sentences_become_words_as_the_matcher_expects(sentence, words):
    """Punctuation is the model's guess, not a pause: it goes, apostrophes stay."""
    assert words_of(sentence) == words


def test_a_package_without_the_model_is_named_with_what_to_install(tmp_path):
    """A later moonshine-voice release (which would download its models) is refused, not used."""
    (tmp_path / "assets" / "tiny-en").mkdir(parents=True)
    (tmp_path / "assets" / "tiny-en" / "tokenizer.bin").write_bytes(b"x")
    with pytest.raises(ReadingUnavailableError) as caught:
        find_tiny_model(tmp_path)
    message = str(caught.value)
    assert "encoder_model.ort" in message and "tokenizer.bin" not in message.split("(")[1]
    assert "moonshine-voice==0.0.59" in message


def test_the_model_is_found_inside_the_installed_package():
    moonshine_voice = pytest.importorskip("moonshine_voice")
    from pathlib import Path

    folder = find_tiny_model(Path(moonshine_voice.__file__).parent)
    assert all((folder / name).stat().st_size > 0 for name in MODEL_FILES)


@pytest.mark.integration
def test_it_reads_real_speech(tmp_path):
    """espeak-ng says a crisis sentence; the reading holds its words, as plain words."""
    if not shutil.which("espeak-ng"):
        pytest.skip("espeak-ng is not installed")
    from assistant.speech.moonshine import MoonshineReading

    path = tmp_path / "say.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "140", "-w", str(path), "--", "I can't do this anymore"],
                   check=True, timeout=60)
    samples, rate = read_wav(path)
    speech = resample(samples, rate, 16000)
    padded = np.concatenate([np.zeros(4000), speech * 0.5, np.zeros(8000)])
    pcm = np.round(padded * 32767).astype(np.int16)
    reading = MoonshineReading()
    text = reading.read(pcm, 16000)
    assert {"do", "this", "anymore"} <= set(text.lower().split())
    assert not any(mark in text for mark in ".,?!")
    assert reading.read(np.zeros(0, dtype=np.int16), 16000) == ""


def test_a_short_line_made_up_in_the_lead_in_is_dropped():
    """Seen in the evaluation: ("Thank you" at 0.0 s for 0.22 s, then the real words at 0.26 s)."""
    from assistant.speech.moonshine import heard_lines

    assert heard_lines([(0.0, 0.22, "Thank you"), (0.26, 1.02, "Faster.")]) == "Faster."
    assert heard_lines([(0.0, 0.26, "You can"), (0.16, 1.41, "A little faster.")]) == "A little faster."
    # kept: a lone line, a long first line, a first line that starts with the speech, later short lines
    assert heard_lines([(0.0, 0.2, "Stop.")]) == "Stop."
    assert heard_lines([(0.0, 1.2, "I can't do this"), (1.4, 0.8, "anymore")]) == "I can't do this anymore"
    assert heard_lines([(0.2, 0.3, "Wait."), (0.6, 0.9, "Stop please.")]) == "Wait. Stop please."
    assert heard_lines([]) == ""
