"""Shared fixtures for the tests that use the real audio server."""

from __future__ import annotations

import os
import subprocess

import pytest

from assistant.speech.moonshine import ONNXRUNTIME_PRIVATE
from tests.play_helper import ensure_pulseaudio

# Tests that import onnxruntime themselves (not through moonshine_onnx) must not start its telemetry either.
os.environ.update(ONNXRUNTIME_PRIVATE)


@pytest.fixture(scope="session")
def pulse():
    """A running PulseAudio server; the audio-server tests fail (never skip) without one: CI must run them."""
    try:
        ensure_pulseaudio()
    except RuntimeError as exc:
        pytest.fail(f"the audio-server tests need PulseAudio and could not get it: {exc}")


def pulse_server_env() -> dict[str, str]:
    """PULSE_SERVER and PULSE_COOKIE named outright.

    PulseAudio clients find the server and its cookie under XDG_CONFIG_HOME;
    tests that point XDG_CONFIG_HOME at an empty folder must name them.
    """
    info = subprocess.run(["pactl", "info"], capture_output=True, text=True, check=True).stdout
    server = next(line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("Server String"))
    env = {"PULSE_SERVER": server if ":" in server else f"unix:{server}"}
    cookie = os.path.join(os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config"), "pulse", "cookie")
    if os.path.exists(cookie):
        env["PULSE_COOKIE"] = cookie
    return env
