"""EchoTiming: our output placed at the microphone where it is really heard; arrays stand in for both streams."""

from __future__ import annotations

import numpy as np

from assistant.audio.echo_timing import EchoTiming
from tests.echo_scene import MIC_BLOCK, MIC_RATE, OUT_RATE, PULL_FRAMES, bursts

ASSUMED_DELAY_S = 0.3  # what the listener adds to samples_fed: the output stream's latency


def our_output(seconds: float, seed: int = 1) -> np.ndarray:
    """Speech-like bursts of noise, 0.1 to 0.6 s on and off, over a quiet tone: what we play."""
    return bursts(seconds, seed, smooth=1)


def listen(output: np.ndarray, echo_late_s: float | None, echo_gain: float = 0.3, seed: int = 2):
    """Run the two streams as `grounding listen` does: the output pulled 1024 frames at a time, each pull placed
    at samples_fed plus the assumed delay; the microphone fed 0.1 s blocks as they are captured. Our output is
    really heard `echo_late_s` after the assumed delay (None: not at all, headphones). Returns the timing and,
    for each pull, (where `place` put it, where it was really heard)."""
    rng = np.random.default_rng(seed)
    seconds = len(output) / OUT_RATE
    mic = 0.01 * rng.standard_normal(round(seconds * MIC_RATE))  # the room
    if echo_late_s is not None:
        # frame k leaves the output stream's buffer (is pulled) at k / OUT_RATE s and is heard ASSUMED_DELAY_S
        # + echo_late_s later
        heard_at_s = np.arange(len(output)) / OUT_RATE + ASSUMED_DELAY_S + echo_late_s
        mic += echo_gain * np.interp(np.arange(len(mic)) / MIC_RATE, heard_at_s, output, left=0, right=0)
    mic16 = np.clip(mic * 32768, -32768, 32767).astype(np.int16)
    timing = EchoTiming(MIC_RATE, OUT_RATE)
    placed = []
    fed = 0
    for first in range(0, len(output) - PULL_FRAMES, PULL_FRAMES):
        now_s = first / OUT_RATE
        while fed + MIC_BLOCK <= now_s * MIC_RATE:  # blocks captured by now are fed first
            timing.heard(fed, mic16[fed : fed + MIC_BLOCK])
            fed += MIC_BLOCK
        start = timing.place(fed + round(ASSUMED_DELAY_S * MIC_RATE), output[first : first + PULL_FRAMES])
        really = round((now_s + ASSUMED_DELAY_S + (echo_late_s or 0.0)) * MIC_RATE)
        placed.append((start, really))
    return timing, np.array(placed)


def test_our_sound_heard_later_than_assumed_is_placed_where_it_is_heard():
    """Heard 0.2 s later than the output latency says (and the microphone's 0.1 s blocks make the raw placement
    early by another 0.05 s on average): after the first measurements, each pull is placed within 20 ms."""
    timing, placed = listen(our_output(30.0), echo_late_s=0.2)
    assert timing.measured_seconds, "no measurement"
    assert all(0.22 <= seconds <= 0.28 for seconds in timing.measured_seconds), timing.measured_seconds
    settled = placed[len(placed) // 2 :]
    error_s = (settled[:, 0] - settled[:, 1]) / MIC_RATE
    assert np.max(np.abs(error_s)) < 0.02, (error_s.min(), error_s.max())


def test_placements_do_not_jump_with_the_microphones_blocks():
    """samples_fed stands still for four pulls and then jumps 0.1 s (1600 samples); the placements step evenly,
    within about a millisecond of the pull's own length."""
    _, placed = listen(our_output(10.0), echo_late_s=None)
    steps = np.diff(placed[len(placed) // 4 :, 0])
    assert np.all(np.abs(steps - PULL_FRAMES * MIC_RATE / OUT_RATE) <= 20), (steps.min(), steps.max())


def test_nothing_of_ours_heard_back_leaves_the_placement_as_assumed():
    """Headphones: the microphone hears only the room, so nothing is measured and nothing moves."""
    timing, placed = listen(our_output(30.0), echo_late_s=None)
    assert timing.measured_seconds == [] and timing.lateness_samples == 0
    raw_error_s = (placed[len(placed) // 2 :, 0] - placed[len(placed) // 2 :, 1]) / MIC_RATE
    assert -0.1 <= np.median(raw_error_s) <= 0.0  # early by the blocks' half-step, as the raw placement was


def test_a_person_talking_is_not_taken_for_our_echo():
    """Speech of the person's own, with nothing of ours heard back: bursts in the microphone that are not ours
    do not line up with ours at any lateness."""
    output = our_output(30.0, seed=1)
    rng = np.random.default_rng(5)
    person = our_output(30.0, seed=7)  # another pattern of bursts, as loud as ours
    fed = 0
    mic = np.clip(np.interp(np.arange(round(30.0 * MIC_RATE)) / MIC_RATE, np.arange(len(person)) / OUT_RATE, person)
                  * 0.3 * 32768 + 300 * rng.standard_normal(round(30.0 * MIC_RATE)), -32768, 32767).astype(np.int16)
    timing = EchoTiming(MIC_RATE, OUT_RATE)
    for first in range(0, len(output) - PULL_FRAMES, PULL_FRAMES):
        while fed + MIC_BLOCK <= first / OUT_RATE * MIC_RATE:
            timing.heard(fed, mic[fed : fed + MIC_BLOCK])
            fed += MIC_BLOCK
        timing.place(fed + round(ASSUMED_DELAY_S * MIC_RATE), output[first : first + PULL_FRAMES])
    assert timing.measured_seconds == []


def test_a_restarted_player_is_placed_afresh():
    """The raw placement jumps (the output stream was reopened): the anchor follows at once, not over seconds."""
    timing = EchoTiming(MIC_RATE, OUT_RATE)
    block = np.zeros(PULL_FRAMES, np.float32)
    step = PULL_FRAMES * MIC_RATE / OUT_RATE
    for pull in range(100):
        timing.place(round(8000 + pull * step), block)
    assert abs(timing.place(round(8000 + 100 * step), block) - (8000 + 100 * step)) <= 2
    assert abs(timing.place(round(8000 + 101 * step + 3 * MIC_RATE), block) - (8000 + 101 * step + 3 * MIC_RATE)) <= 2
