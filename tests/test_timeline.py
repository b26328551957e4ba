"""The timeline: exact sample positions, no accumulated rounding, speech that never moves a phase."""

from __future__ import annotations

import pytest

from assistant.audio.timeline import TimelineSettings, plan
from assistant.library.model import Breathe, Breathing, Exercise, Listen, Pause, Phase, Say, SayCycles


def breathing_exercise(phases, cycles, intro=()):
    block = Breathing(phases=tuple(Phase(name, seconds, say) for name, seconds, say in phases), cycles=cycles)
    return Exercise(id="t", title="T", kind="breathing", steps=tuple(Say(t) for t in intro) + (Breathe(block),))


def test_box_boundaries_fall_on_exact_samples():
    """Every box-breathing boundary is block start + round(rate x seconds into the block)."""
    exercise = breathing_exercise([("inhale", 4, "In"), ("hold", 4, None), ("exhale", 4, "Out"), ("rest", 4, None)], 19)
    timeline = plan(exercise, TimelineSettings(sample_rate=44100))
    phases = timeline.of_kind("phase")
    assert len(phases) == 19 * 4
    origin = phases[0].start
    for index, event in enumerate(phases):
        assert event.start == origin + index * 4 * 44100
        assert event.end - event.start == 4 * 44100
    assert [e.phase for e in phases[:4]] == ["inhale", "hold", "exhale", "rest"]


def test_phases_are_contiguous_and_ordered():
    """Each phase ends exactly where the next begins."""
    exercise = breathing_exercise([("inhale", 4.5, None), ("exhale", 6.4, None)], 30)
    phases = plan(exercise).of_kind("phase")
    for before, after in zip(phases, phases[1:]):
        assert before.end == after.start


@pytest.mark.parametrize("sample_rate", [16000, 44100, 48000])
def test_an_hour_of_fractional_cycles_stays_within_one_sample(sample_rate):
    """A 10.909 s cycle (5.5 breaths/min) is still within one sample of k x cycle after an hour."""
    cycle_seconds = 4.5 + 6.409
    cycles = int(3600 / cycle_seconds) + 1
    exercise = breathing_exercise([("inhale", 4.5, None), ("exhale", 6.409, None)], cycles)
    timeline = plan(exercise, TimelineSettings(sample_rate=sample_rate))
    inhales = [e for e in timeline.of_kind("phase") if e.phase == "inhale"]
    origin = inhales[0].start
    assert (inhales[-1].start - origin) / sample_rate > 3590
    for k, event in enumerate(inhales):
        assert abs(event.start - origin - k * cycle_seconds * sample_rate) <= 1.0


def test_speech_never_moves_a_phase():
    """Phase positions inside a block do not depend on how long the prompts are."""
    exercise = breathing_exercise([("inhale", 4, "Breathe in"), ("exhale", 6, "Breathe out")], 5)
    short = plan(exercise, speech_length=lambda text: 100)
    long = plan(exercise, speech_length=lambda text: 44100 * 9)  # longer than any phase
    rel = lambda t: [(e.start - t.of_kind("phase")[0].start, e.end - t.of_kind("phase")[0].start) for e in t.of_kind("phase")]
    assert rel(short) == rel(long)


def test_prompts_start_exactly_at_their_phase():
    """A phase prompt's speech event starts on the phase's first sample."""
    exercise = breathing_exercise([("inhale", 4, "In"), ("exhale", 6, "Out")], 3)
    timeline = plan(exercise)
    phase_starts = {e.start for e in timeline.of_kind("phase")}
    prompts = [e for e in timeline.of_kind("speech") if e.text in ("In", "Out")]
    assert len(prompts) == 6
    assert all(e.start in phase_starts for e in prompts)


def test_say_cycles_first_and_every():
    """{first: 2, every: 3} speaks in cycles 0, 1, 3, 6 and 9."""
    phase = Phase("inhale", 2, "In", SayCycles(first=2, every=3))
    block = Breathing(phases=(phase, Phase("exhale", 3)), cycles=10)
    timeline = plan(Exercise(id="t", title="T", kind="breathing", steps=(Breathe(block),)))
    inhales = {e.start: e.cycle for e in timeline.of_kind("phase") if e.phase == "inhale"}
    spoken = [inhales[e.start] for e in timeline.of_kind("speech")]
    assert spoken == [0, 1, 3, 6, 9]


def test_say_steps_take_their_clip_length_plus_a_gap():
    """Guided speech is laid end to end with the configured quiet gap between instructions."""
    settings = TimelineSettings(sample_rate=16000, gap_after_speech_seconds=2.0, lead_in_seconds=0.5)
    exercise = Exercise(id="t", title="T", kind="grounding", steps=(Say("one"), Say("two"), Pause(3.0), Say("three")))
    timeline = plan(exercise, settings, speech_length=lambda text: 16000)
    speech = timeline.of_kind("speech")
    assert [e.start for e in speech] == [8000, 8000 + 3 * 16000, 8000 + 6 * 16000 + 3 * 16000]


def test_listen_step_lasts_its_timeout_when_rendered():
    """Offline, a listening step becomes its timeout."""
    settings = TimelineSettings(sample_rate=8000)
    exercise = Exercise(id="t", title="T", kind="grounding", steps=(Listen(timeout_seconds=12.5),))
    (listen,) = plan(exercise, settings).of_kind("listen")
    assert listen.end - listen.start == 12.5 * 8000


def test_chimes_mark_every_phase_change_but_not_the_first():
    """A chime sits at each phase boundary inside a block, none at the very first inhale."""
    exercise = breathing_exercise([("inhale", 4, None), ("hold", 4, None), ("exhale", 4, None)], 2)
    timeline = plan(exercise)
    chimes = [e.start for e in timeline.of_kind("chime")]
    phases = [e.start for e in timeline.of_kind("phase")]
    assert chimes == phases[1:]


def test_session_starts_and_ends_in_silence():
    """Nothing sounds in the lead-in, and the tail is quiet after the last event."""
    settings = TimelineSettings(sample_rate=8000, lead_in_seconds=0.5, tail_seconds=1.5)
    timeline = plan(breathing_exercise([("inhale", 4, "In"), ("exhale", 6, None)], 2, intro=("Hello there",)), settings)
    assert min(e.start for e in timeline.events) == 4000
    assert timeline.total_samples >= max(e.end for e in timeline.events if e.kind != "chime")


def test_timeline_json_has_the_contract_fields():
    """JSON carries sample_rate and events with kind, phase/text, start, end."""
    data = plan(breathing_exercise([("inhale", 4, "In"), ("exhale", 6, None)], 1)).to_json()
    assert data["sample_rate"] == 44100
    kinds = {e["kind"] for e in data["events"]}
    assert {"phase", "speech"} <= kinds
    phase = next(e for e in data["events"] if e["kind"] == "phase")
    assert set(phase) >= {"kind", "phase", "start", "end"}
    speech = next(e for e in data["events"] if e["kind"] == "speech")
    assert set(speech) >= {"kind", "text", "start", "end"}
