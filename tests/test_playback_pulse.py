"""The real audio path: OutputPlayer into a private PulseAudio sink, recorded from its monitor, equals the offline render.

The sink is float32 at the session's rate, so nothing is converted or
resampled on the way and the monitor gives back the very samples played. The
player runs in its own process (tests/play_helper.py) with PULSE_SINK set.
These tests fail, never skip, when PulseAudio cannot be reached: CI must not
pass without them really running.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.play_helper import (
    RATE, MonitorRecorder, StallWatch, assert_spoiled_by_a_stall, build_mixer, compare, private_sink,
)

pytestmark = pytest.mark.integration

HELPER = Path(__file__).with_name("play_helper.py")
ONE_S16_STEP = 1 / 32768  # the largest error allowed per sample: one step of 16-bit audio


@pytest.fixture
def sink(pulse, request):
    name = f"grounding_test_{os.getpid()}_{request.node.name[5:25]}"
    with private_sink(name, channels=2):
        yield name


@pytest.fixture(scope="module")
def mixer():
    return build_mixer()


def run_player(sink: str, *args: str, timeout: float) -> dict:
    """Play through OutputPlayer in a child process whose PulseAudio streams go to `sink`; its JSON report."""
    result = subprocess.run(
        [sys.executable, str(HELPER), *args],
        env={**os.environ, "PULSE_SINK": sink}, capture_output=True, text=True, timeout=timeout,
    )
    assert result.returncode == 0, f"the player failed:\n{result.stderr}"
    return json.loads(result.stdout.strip().splitlines()[-1])


def record_playback(sink: str, *args: str, timeout: float):
    recorder = MonitorRecorder(sink, channels=2)
    try:
        recorder.wait_until_flowing()
        report = run_player(sink, *args, timeout=timeout)
    finally:
        recording = recorder.stop()
    return recorder, recording, report


def test_a_minute_of_playback_is_the_render_sample_for_sample(sink, mixer):
    """62 s played live come back at one constant lag, every one-second window equal to the render, with no underflow.

    Once, in CI, a window came back with 28 ms of silence in it while the player saw no underflow and no
    shortfall: the host had stalled. So a second process watches for stalls of the whole machine. A minute
    spoiled only where such a stall was seen (every lag change beside one; underflows with a stall during
    the minute) is played once more, and says so on the output. A gap with no stall beside it fails at
    once, and so does a second spoiled minute.
    """
    for attempt in (1, 2):
        watch = StallWatch()
        try:
            recorder, recording, report = record_playback(sink, "--from-sound", "--seconds", "62", timeout=120)
        finally:
            watch.stop()
        reference = mixer.render(report["first_sample"], report["frames"])
        first = compare(recording[:, 0], reference)
        spoiled = first.drift_samples > 44 or report["underflows"] or report["ring_shortfalls"]
        if not spoiled or attempt == 2:
            break
        assert_spoiled_by_a_stall(recorder, watch, first, report)
    assert report["frames_played"] == len(reference)
    assert report["underflows"] == 0 and report["ring_shortfalls"] == 0, report
    for channel in (0, 1):
        result = first if channel == 0 else compare(recording[:, channel], reference)
        figures = f"channel {channel}: {result}"
        print(figures, report)
        assert result.windows >= 60 and result.loud_windows >= 60, figures
        assert result.drift_samples <= 44, figures  # 1 ms at 44.1 kHz
        assert result.min_correlation > 0.99, figures
        assert result.max_rms_error < 1e-4 and result.max_abs_error <= ONE_S16_STEP, figures
        assert result.silent_before <= ONE_S16_STEP, figures  # nothing before the first sample: no stray sound


def test_the_first_sound_reaches_the_sink_whole(sink, mixer):
    """The first session sample arrives at the sink's monitor, nothing clipped, soon after start().

    How soon is a benchmark figure (benchmarks/first_sound.py, benchmarks/README.md),
    not a timed assertion: on a loaded machine a tight bound here failed while the
    player was fine. The bound below only catches a stream that never really started.
    """
    recorder, recording, report = record_playback(sink, "--from-sound", "--seconds", "2", timeout=60)
    reference = mixer.render(report["first_sample"], report["frames"])
    result = compare(recording[:, 0], reference)
    # The very first played sample (loud by construction) is in the recording: no cold-start clip.
    assert result.max_abs_error <= ONE_S16_STEP and result.silent_before <= ONE_S16_STEP, result
    arrived = recorder.arrival_of_frame(result.lag)
    delay_seconds = arrived - report["start_called_monotonic"]
    print(f"first sound arrived {delay_seconds:.3f} s after start(); stream latency {report['latency_seconds']:.3f} s")
    assert 0 < delay_seconds < 5, f"first sound arrived {delay_seconds:.3f} s after start(); report {report}"
