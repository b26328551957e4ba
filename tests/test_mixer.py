"""The mixer: any block on demand, identical however the session is cut, speech above a ducked tone."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.audio.mixer import Mixer, MixSettings
from assistant.audio.timeline import TimelineSettings, plan
from assistant.audio.tones import ToneSettings, dbfs_to_amplitude
from assistant.library.model import Breathe, Breathing, Exercise, Phase, Say

RATE = 16000


def exercise():
    block = Breathing(phases=(Phase("inhale", 4, "In"), Phase("hold", 2), Phase("exhale", 6, "Out")), cycles=3)
    return Exercise(id="t", title="T", kind="breathing", steps=(Say("Hello"), Breathe(block), Say("Bye")))


def fake_clips(seconds=0.8):
    """Speech stand-ins: a 200 Hz buzz at -6 dBFS with short fades, like a trimmed voice clip."""
    n = round(seconds * RATE)
    clip = 0.5 * np.sin(2 * np.pi * 200 * np.arange(n) / RATE)
    fade = np.linspace(0, 1, 80)
    clip[:80] *= fade
    clip[-80:] *= fade[::-1]
    return {text: clip.astype(np.float32) for text in ("Hello", "In", "Out", "Bye")}


def build(clips=None, tone=ToneSettings()):
    clips = clips or {}
    timeline = plan(exercise(), TimelineSettings(sample_rate=RATE), (lambda t: len(clips[t])) if clips else None)
    return Mixer(timeline, clips, tone)


def render_in_pieces(mixer, sizes):
    pieces, start, i = [], 0, 0
    while start < mixer.total_samples:
        n = sizes[i % len(sizes)]
        pieces.append(mixer.render(start, n))
        start += n
        i += 1
    return np.concatenate(pieces)[: mixer.total_samples]


def test_blocks_are_identical_however_the_session_is_cut():
    """Rendering in 1024-sample blocks equals rendering in odd sizes, with speech and noise in the mix."""
    mixer = build(fake_clips(), ToneSettings(noise="pink"))
    whole = mixer.render(0, mixer.total_samples)
    assert np.array_equal(whole, render_in_pieces(mixer, [1024]))
    assert np.array_equal(whole, render_in_pieces(mixer, [17, 5000, 333, 1]))


def test_render_past_the_end_is_silence():
    """Blocks beyond the session are zeros, so a player can pull past the end safely."""
    mixer = build()
    assert not mixer.render(mixer.total_samples, 4096).any()


def test_session_starts_and_ends_at_silence_without_clicks():
    """First and last samples are zero and no sample jumps from its neighbour."""
    mixer = build(fake_clips())
    audio = mixer.render(0, mixer.total_samples)
    assert audio[0] == 0 and audio[-1] == 0
    # The largest step a 330 Hz tone, a 200 Hz voice and a chime could make at these levels.
    assert np.abs(np.diff(audio)).max() < 0.09


def test_peak_without_speech_is_at_most_minus_12_dbfs():
    """Tone, chimes and noise together stay at or under -12 dBFS by default."""
    audio = build(tone=ToneSettings(noise="brown")).render(0, 10**7)
    assert np.abs(audio).max() <= dbfs_to_amplitude(-12.0)


def test_tone_is_ducked_under_speech():
    """While a prompt plays, the tone bus drops to the duck gain; between prompts it is back at full level."""
    clips = fake_clips()
    silent = {text: np.zeros_like(clip) for text, clip in clips.items()}
    silent_speech = build(silent)  # same timeline, but the speech itself adds nothing
    tone_only = Mixer(silent_speech.timeline, {}, ToneSettings())
    inhale = next(e for e in silent_speech.timeline.of_kind("phase") if e.phase == "inhale" and e.cycle == 1)
    middle = inhale.start + RATE // 4  # inside the 0.8 s "In" clip
    ducked = silent_speech.render(middle, 2000)
    plain = tone_only.render(middle, 2000)
    np.testing.assert_allclose(ducked, plain * MixSettings().duck_gain, atol=1e-6)
    late = inhale.start + 3 * RATE  # well after the clip and its ramp
    np.testing.assert_allclose(silent_speech.render(late, 2000), tone_only.render(late, 2000), atol=1e-7)


def test_speech_starts_exactly_at_its_event():
    """A clip's first sample lands on its event's start sample."""
    clips = fake_clips()
    mixer = build(clips)
    tone_only = Mixer(mixer.timeline, {}, ToneSettings(), MixSettings(duck_gain=1.0))
    first = mixer.timeline.of_kind("speech")[0]
    with_speech = mixer.render(first.start - 100, 400)
    without = tone_only.render(first.start - 100, 400)
    # Before the event only the (ducking) tone differs slightly; from it on, the clip is added.
    np.testing.assert_allclose(with_speech[100:] - without[100:], clips["Hello"][:300], atol=0.02)
    assert np.abs(with_speech[:100]).max() < 1e-6  # lead-in: nothing sounds before the first word


@pytest.mark.parametrize("phase_name,direction", [("inhale", 1), ("exhale", -1)])
def test_pitch_follows_the_breath(phase_name, direction):
    """The tone's pitch rises across an inhale and falls across an exhale."""
    mixer = build()
    event = next(e for e in mixer.timeline.of_kind("phase") if e.phase == phase_name and e.cycle == 1)
    audio = mixer.render(event.start, event.end - event.start).astype(np.float64)

    def pitch(chunk):
        crossings = np.count_nonzero(np.diff(np.signbit(chunk)))
        return crossings / 2 / (len(chunk) / RATE)

    quarter = len(audio) // 4
    early, late = pitch(audio[quarter : 2 * quarter]), pitch(audio[2 * quarter : 3 * quarter])
    assert direction * (late - early) > 10
