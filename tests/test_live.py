"""`run`'s pieces without a device: bedside mode, the session log, speech made ahead."""

from __future__ import annotations

import json

import numpy as np
import pytest

from assistant.audio.tones import ToneSettings, dbfs_to_amplitude
from assistant.library.loader import load_library
from assistant.live import BEDSIDE_OUTRO, RunOptions, render_speech_ahead, session_audio_for, write_session_log
from assistant.library.model import Say
from assistant.session import Session, Summary

RATE = 8000


def test_bedside_mode_fades_the_tone_in_over_30_s_and_out_over_the_last_minute():
    """Bedside: the tone starts far quieter than normal and builds over 30 s; the last minute fades to nothing."""
    exercise = load_library().get("resonance-6")
    normal_audio = session_audio_for(exercise, RunOptions(sample_rate=RATE))
    bedside = session_audio_for(exercise, RunOptions(sample_rate=RATE, bedside=True)).mixer
    normal = normal_audio.mixer.render(0, normal_audio.mixer.total_samples)
    whole = bedside.render(0, bedside.total_samples)
    tone_start = next(e.start for e in normal_audio.timeline.of_kind("phase"))

    def peak(audio, seconds_in):
        start = tone_start + round(seconds_in * RATE)
        return np.abs(audio[start : start + RATE]).max()

    assert peak(whole, 1) < 0.1 * peak(normal, 1)
    assert peak(whole, 10) < peak(whole, 20) < peak(whole, 29)
    assert peak(whole, 40) == pytest.approx(peak(normal, 40), rel=0.1)  # past the fade; only the softer chime differs
    last_minute = whole[len(whole) - 60 * RATE :]
    assert np.abs(last_minute[-RATE:]).max() < 0.05 * np.abs(last_minute[:RATE]).max() + 1e-6
    assert whole[-1] == 0.0


def test_bedside_chimes_sit_well_under_the_tone_and_a_gentle_close_is_added():
    """Bedside chimes are softer than usual, far under the tone; a closing line is added unless the script is a sleep script."""
    audio = session_audio_for(load_library().get("box-breathing"), RunOptions(sample_rate=RATE, bedside=True))
    assert audio.tone.chime_peak_dbfs < ToneSettings().chime_peak_dbfs
    assert audio.tone.chime_peak_dbfs <= audio.tone.peak_dbfs - 12
    assert dbfs_to_amplitude(audio.tone.chime_peak_dbfs) < dbfs_to_amplitude(audio.tone.peak_dbfs)
    assert audio.exercise.steps[-1] == Say(BEDSIDE_OUTRO)
    sleep = session_audio_for(load_library().get("bedside-wind-down"), RunOptions(sample_rate=RATE, bedside=True))
    assert sleep.exercise.steps[-1] != Say(BEDSIDE_OUTRO)


def test_session_log_holds_date_exercise_duration_and_completion_only(tmp_path, monkeypatch):
    """The opt-in log is one JSON line per session with no audio and no words."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    path = write_session_log(Summary("box-breathing", 312.46, 300.0, 19, True, 0))
    (line,) = path.read_text().splitlines()
    entry = json.loads(line)
    assert set(entry) == {"date", "exercise", "seconds", "completed"}
    assert entry["exercise"] == "box-breathing" and entry["seconds"] == 312.5 and entry["completed"] is True


class CountingVoice:
    def __init__(self):
        self.texts = []

    def render(self, text, sample_rate):
        self.texts.append(text)
        return np.full(sample_rate // 2, 0.1, np.float32)


def test_speech_is_made_ahead_in_the_order_it_is_needed():
    """The speech thread renders every text once, first-spoken first, and the session adopts the clips."""
    import threading

    exercise = load_library().get("breathing-4-7-8")
    session = Session(session_audio_for(exercise, RunOptions(sample_rate=RATE)))
    voice = CountingVoice()
    render_speech_ahead(session, voice, threading.Event(), warn=lambda message: None)
    session.pull(256)
    assert voice.texts[0] == exercise.steps[0].text and len(voice.texts) == len(set(voice.texts))
    assert set(session.audio.clips) == set(voice.texts)
