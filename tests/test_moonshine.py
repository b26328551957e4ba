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


def _spoken(tmp_path, text: str) -> np.ndarray:
    """espeak-ng saying `text`, as the speech gate hands an utterance over: int16, 16 kHz, quiet around it."""
    if not shutil.which("espeak-ng"):
        pytest.skip("espeak-ng is not installed")
    path = tmp_path / "say.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "140", "-w", str(path), "--", text], check=True, timeout=60)
    samples, rate = read_wav(path)
    padded = np.concatenate([np.zeros(4000), resample(samples, rate, 16000) * 0.5, np.zeros(6000)])
    return np.round(padded * 32767).astype(np.int16)


@pytest.mark.integration
def test_it_reads_real_speech(tmp_path):
    """espeak-ng says a crisis sentence; the reading holds its words, as plain words."""
    from assistant.speech.moonshine import MoonshineReading

    reading = MoonshineReading()
    text = reading.read(_spoken(tmp_path, "I can't do this anymore"), 16000)
    assert {"do", "this", "anymore"} <= set(text.lower().split())
    assert not any(mark in text for mark in ".,?!")
    assert reading.read(np.zeros(0, dtype=np.int16), 16000) == ""


@pytest.mark.integration
def test_a_grown_child_is_replaced_and_reading_goes_on(tmp_path):
    """Past its size limit a fresh child loads beside the old one and takes over; no reading is lost."""
    import time

    from assistant.speech.moonshine import MoonshineReading

    audio = _spoken(tmp_path, "a little slower")
    reading = MoonshineReading(max_child_mib=1)  # every child is "too big" after its first reading
    first_pid = reading.child_pid
    texts = [reading.read(audio, 16000)]
    deadline = time.monotonic() + 60
    while reading.replacements == 0 and time.monotonic() < deadline:
        texts.append(reading.read(audio, 16000))
        time.sleep(0.2)
    assert reading.replacements >= 1 and reading.child_pid != first_pid
    assert all("slower" in text.lower() for text in texts), texts
    assert reading.cpu_seconds > 0
    reading.close()


@pytest.mark.integration
def test_a_child_that_died_is_started_again_for_the_same_utterance(tmp_path):
    """Native code that crashes costs a restart, not the reading."""
    import os
    import signal

    from assistant.speech.moonshine import MoonshineReading

    audio = _spoken(tmp_path, "stop please")
    reading = MoonshineReading()
    os.kill(reading.child_pid, signal.SIGKILL)
    assert "stop" in reading.read(audio, 16000).lower()
    reading.close()
