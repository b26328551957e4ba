"""The live session state machine, driven through its control API with plain arrays (no audio device)."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.audio.timeline import TimelineSettings
from assistant.library.model import Breathe, Breathing, Exercise, Phase, Say
from assistant.session import ControlSettings, Session, State
from assistant.session_audio import SessionAudio

RATE = 8000
BLOCK = 256


def make_audio(cycles=6, clips=None):
    block = Breathing(phases=(Phase("inhale", 4, "In"), Phase("hold", 1), Phase("exhale", 5, "Out")), cycles=cycles)
    exercise = Exercise(id="t", title="T", kind="breathing", steps=(Say("Hello there"), Breathe(block), Say("Well done")))
    return SessionAudio(exercise, TimelineSettings(sample_rate=RATE), clips=clips or {})


def pull_until(session, position):
    """Pull blocks until the session's render position reaches `position`; returns the audio."""
    out = []
    while session.position < position and not session.ended:
        out.append(session.pull(min(BLOCK, position - session.position)))
    return np.concatenate(out) if out else np.zeros(0, np.float32)


def pull_seconds(session, seconds):
    return np.concatenate([session.pull(BLOCK) for _ in range(round(seconds * RATE / BLOCK))])


def smoothest_possible(audio):
    """The largest sample step the untouched render itself contains (tone glide plus chime): a click would exceed it."""
    return 1.05 * np.abs(np.diff(audio.mixer.render(0, audio.timeline.total_samples))).max()


def test_untouched_session_plays_exactly_the_render():
    """With no controls the pulled audio equals the offline render sample for sample, then ends."""
    audio = make_audio()
    session = Session(audio)
    pieces = []
    while True:
        block = session.pull(BLOCK)
        pieces.append(block)
        if len(block) < BLOCK:
            break
    played = np.concatenate(pieces)
    assert np.array_equal(played, audio.mixer.render(0, audio.timeline.total_samples))
    assert session.state is State.FINISHED and session.pull(BLOCK).size == 0
    assert session.summary().completed and session.summary().cycles_completed == 6


def test_pause_fades_out_and_resume_continues_from_the_same_position():
    """Pause fades to silence within 100 ms and holds the position; resume picks up exactly there."""
    audio = make_audio()
    session = Session(audio)
    inhale = [e for e in audio.timeline.of_kind("phase") if e.cycle == 1][0]
    pull_until(session, inhale.start + RATE)
    session.pause()
    fading = pull_seconds(session, 0.25)
    fade_samples = round(ControlSettings().fade_seconds * RATE)
    assert session.state is State.PAUSED
    assert not fading[fade_samples:].any() and fading[:fade_samples].any()
    held = session.position
    pull_seconds(session, 2.0)
    assert session.position == held  # paused time does not move the exercise
    session.resume()
    resumed = session.pull(4 * fade_samples)
    expected = audio.mixer.render(held, 4 * fade_samples)
    assert np.array_equal(resumed[fade_samples:], expected[fade_samples:])  # exact once faded in
    assert np.abs(resumed[0]) < 1e-6  # ...and starts from silence


def test_pause_and_resume_have_no_clicks():
    """No sample jump larger than the tone itself makes, through a pause and a resume."""
    audio = make_audio()
    session = Session(audio)
    out = [pull_seconds(session, 3.0)]
    session.pause()
    out.append(pull_seconds(session, 0.5))
    session.resume()
    out.append(pull_seconds(session, 0.5))
    played = np.concatenate(out)
    assert np.abs(np.diff(played)).max() <= smoothest_possible(audio)


def test_stop_fades_out_within_100_ms():
    """Stop ends in silence within 100 ms, with a smooth fade, and the summary says it was stopped."""
    session = Session(make_audio())
    pull_seconds(session, 6.0)
    session.stop()
    tail = []
    while not session.ended:
        tail.append(session.pull(BLOCK))
    tail = np.concatenate(tail)
    assert len(tail) <= 0.1 * RATE
    assert abs(tail[-1]) < 1e-3
    assert session.state is State.STOPPED and not session.summary().completed
    assert session.pull(BLOCK).size == 0


def phase_lengths(timeline, block=0):
    return [(e.cycle, e.phase, e.end - e.start) for e in timeline.of_kind("phase") if e.block == block]


def test_slower_takes_effect_at_the_next_cycle_boundary():
    """Mid-phase 'slower' leaves the current cycle alone and stretches every phase from the next one by 1.15."""
    audio = make_audio()
    session = Session(audio)
    before = phase_lengths(audio.timeline)
    middle_of_cycle_1 = [e for e in audio.timeline.of_kind("phase") if e.cycle == 1 and e.phase == "hold"][0]
    pull_until(session, middle_of_cycle_1.start + 100)
    session.slower()
    session.pull(BLOCK)
    after = phase_lengths(session.timeline)
    assert after[:6] == before[:6]  # cycles 0 and 1 untouched, including the phase playing now
    for (cycle, name, old), (_, _, new) in zip(before[6:], after[6:]):
        assert new == pytest.approx(old * 1.15, abs=1)
    boundary = [e for e in session.timeline.of_kind("phase") if e.cycle == 2][0].start
    assert boundary == [e for e in audio.timeline.of_kind("phase") if e.cycle == 2][0].start


def test_tempo_change_keeps_the_audio_continuous():
    """Audio around a tempo change joins without a jump: nothing already rendered is altered."""
    audio = make_audio()
    session = Session(audio)
    first = pull_seconds(session, 5.0)
    session.faster()
    second = pull_seconds(session, 15.0)
    played = np.concatenate([first, second])
    assert np.abs(np.diff(played)).max() <= smoothest_possible(audio)


def cycle_lengths(timeline):
    lengths = {}
    for e in timeline.of_kind("phase"):
        lengths[e.cycle] = lengths.get(e.cycle, 0) + e.end - e.start
    return lengths


def test_faster_and_slower_stay_within_bounds():
    """Repeated 'slower' stops at three steps, 'faster' never passes 10 breaths a minute."""
    messages = []
    session = Session(make_audio(cycles=20), notify=messages.append)
    for _ in range(6):
        session.slower()
    session.pull(BLOCK)
    assert max(cycle_lengths(session.timeline).values()) == pytest.approx(10 * RATE * 1.15**3, abs=3)
    assert "This is as slow as it goes." in messages
    for _ in range(12):
        session.faster()
    session.pull(BLOCK)
    assert min(cycle_lengths(session.timeline).values()) >= 6.0 * RATE - 3  # 10 breaths/min = 6 s cycles
    assert "This is as quick as it goes." in messages


def test_repeat_says_the_last_instruction_again_without_moving_phases():
    """'Repeat' adds the last spoken text at the current position; the phases stay where they were."""
    audio = make_audio()
    session = Session(audio)
    pull_until(session, audio.timeline.of_kind("speech")[0].end + RATE)
    position = session.position
    session.repeat()
    session.pull(BLOCK)
    repeats = [e for e in session.timeline.of_kind("speech") if e.start == position]
    assert [e.text for e in repeats] == ["Hello there"]
    assert session.timeline.of_kind("phase") == audio.timeline.of_kind("phase")


def test_skip_moves_to_the_next_step():
    """'Skip' fades out and continues at the start of the next step."""
    audio = make_audio()
    session = Session(audio)
    pull_seconds(session, 1.0)  # inside the first spoken step
    session.skip()
    pull_seconds(session, 0.2)
    second_step = audio.timeline.step_starts[1]
    assert second_step <= session.position < second_step + 0.2 * RATE


def test_volume_down_lowers_the_level_by_3_db():
    """After 'volume down' and its short ramp, output is the render times -3 dB."""
    audio = make_audio()
    session = Session(audio)
    pull_seconds(session, 5.0)
    session.volume_down()
    session.pull(BLOCK * 4)  # past the 50 ms ramp
    position = session.position
    block = session.pull(BLOCK)
    np.testing.assert_allclose(block, audio.mixer.render(position, BLOCK) * 10 ** (-3 / 20), atol=1e-6)


def test_late_clip_is_not_allowed_to_rewrite_the_past():
    """A clip that would change audio already played is left out; an early one is adopted."""
    audio = make_audio()
    session = Session(audio)
    clip = np.full(RATE * 3, 0.01, np.float32)
    session.add_clip("Out", clip)  # first used in the first exhale, well ahead: adopted
    session.pull(BLOCK)
    assert "Out" in session.audio.clips
    pull_until(session, audio.timeline.of_kind("speech")[0].start + 10)
    session.add_clip("Hello there", clip)  # already being spoken: too late
    session.pull(BLOCK)
    assert "Hello there" not in session.audio.clips


def test_snapshot_reports_phase_and_caption():
    """The pacer sees the phase being heard, its progress and the caption of what is being said."""
    audio = make_audio()
    session = Session(audio)
    inhale = [e for e in audio.timeline.of_kind("phase") if e.cycle == 0][0]
    pull_until(session, inhale.start + 2 * RATE)
    snap = session.snapshot(session.output_frames - 1)
    assert snap.phase.phase == "inhale"
    assert snap.phase_progress == pytest.approx(0.5, abs=0.01)
    assert snap.caption == "In"
    assert snap.phase_seconds_left == pytest.approx(2.0, abs=0.01)


def test_sleep_timer_fades_to_a_stop():
    """A sleep timer ends the session, silent, at the time it was given."""
    session = Session(make_audio(cycles=60))
    session.stop_after(seconds=10.0, fade_seconds=4.0)
    out = []
    while not session.ended:
        out.append(session.pull(BLOCK))
    played = np.concatenate(out)
    assert len(played) == pytest.approx(10.0 * RATE, abs=BLOCK + 1)
    assert session.state is State.STOPPED and abs(played[-1]) < 1e-3


# ---------------------------------------------------------------- ending a listening step early


def listening_audio(noise=None, timeout_seconds=10.0):
    from assistant.audio.tones import ToneSettings
    from assistant.library.model import Listen

    exercise = Exercise(
        id="l", title="L", kind="grounding",
        steps=(Say("Name three things."), Listen(timeout_seconds=timeout_seconds, silence_seconds=2.0), Say("Thank you.")),
    )
    return SessionAudio(exercise, TimelineSettings(sample_rate=RATE), tone=ToneSettings(noise=noise))


def test_end_listen_jumps_to_the_end_of_the_listening_step():
    """Inside a listening step, end_listen moves straight to its end: the next step follows at once."""
    audio = listening_audio()
    session = Session(audio)
    listen = audio.timeline.of_kind("listen")[0]
    pull_until(session, listen.start + 3 * RATE)
    event, step = session.listening()
    assert event == listen and step.silence_seconds == 2.0
    session.end_listen(listen.start)
    session.pull(BLOCK)
    assert session.position == listen.end + BLOCK
    assert session.listening() is None


def test_end_listen_does_nothing_outside_a_listening_step():
    """Before the step, after it, or while paused, end_listen changes nothing."""
    audio = listening_audio()
    session = Session(audio)
    listen = audio.timeline.of_kind("listen")[0]
    pull_until(session, listen.start - RATE)
    assert session.listening() is None
    session.end_listen()
    session.pull(BLOCK)
    assert session.position == listen.start - RATE + BLOCK
    pull_until(session, listen.start + RATE)
    session.pause()
    pull_seconds(session, 0.5)
    assert session.listening() is None
    session.end_listen()
    pull_seconds(session, 0.5)
    assert session.position == listen.start + RATE + round(0.08 * RATE)  # only the pause fade played


def test_end_listen_for_another_step_is_ignored():
    """end_listen names the step it means; a request for an earlier one does not end the current one."""
    audio = listening_audio()
    session = Session(audio)
    listen = audio.timeline.of_kind("listen")[0]
    pull_until(session, listen.start + RATE)
    session.end_listen(listen.start - 1)
    session.pull(BLOCK)
    assert session.position == listen.start + RATE + BLOCK


def test_end_listen_over_a_noise_bed_fades_instead_of_clicking():
    """With a noise bed under the step, the jump is faded out and in: no step larger than the noise's own."""
    audio = listening_audio(noise="brown")
    session = Session(audio)
    listen = audio.timeline.of_kind("listen")[0]
    played = [pull_until(session, listen.start + 4 * RATE)]
    session.end_listen()
    played.append(pull_seconds(session, 1.0))
    audio_out = np.concatenate(played).astype(np.float64)
    assert session.position > listen.end
    steps = np.abs(np.diff(audio_out))
    own = np.abs(np.diff(audio.mixer.render(0, audio.timeline.total_samples).astype(np.float64))).max()
    assert steps.max() <= 1.05 * own
