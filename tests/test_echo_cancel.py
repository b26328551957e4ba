"""The echo canceller: our own sound taken out of what the microphone hears; arrays stand in for room and streams."""

from __future__ import annotations

import numpy as np

from assistant.audio.echo_cancel import EchoCanceller, EchoReference
from assistant.audio.resample import resample
from tests.echo_scene import MIC_RATE, OUT_RATE, PULL_FRAMES, bursts, run_canceller

HEARD_AT = 2000  # microphone sample at which output frame 0 is heard


def room(rt60_seconds: float = 0.3, seed: int = 3) -> np.ndarray:
    """Direct path, then reflections dying away: 60 dB down at rt60_seconds (microphone rate)."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(rt60_seconds * MIC_RATE)) / MIC_RATE
    response = 0.3 * rng.standard_normal(len(t)) * np.exp(-6.9 * t / rt60_seconds)
    response[:40] = 0
    response[40] = 1.0
    return response


def echo_of(ours: np.ndarray, gain: float = 0.5) -> np.ndarray:
    """What the microphone hears of `ours`: through the room, frame 0 heard at HEARD_AT."""
    at_mic = np.convolve(resample(ours, OUT_RATE, MIC_RATE).astype(np.float64), room())[: round(len(ours) * MIC_RATE / OUT_RATE)]
    return np.concatenate([np.zeros(HEARD_AT), gain * at_mic])[: len(at_mic)]


def cancel(ours: np.ndarray, heard: np.ndarray, placed_at: float = HEARD_AT, **settings) -> tuple[np.ndarray, EchoCanceller]:
    """The canceller, placed at `placed_at`, over the two streams as `grounding listen` runs them."""
    canceller = EchoCanceller(EchoReference(OUT_RATE, MIC_RATE), **settings)
    canceller.place(placed_at)
    return run_canceller(ours, heard, canceller)[0], canceller


def db(samples: np.ndarray) -> float:
    return 10 * np.log10(float(np.mean(np.square(samples))) + 1e-20)


def seconds(a: float, b: float) -> slice:
    return slice(round(a * MIC_RATE), round(b * MIC_RATE))


def test_our_sound_through_a_room_is_taken_out_by_20_db_once_learnt():
    """Direct sound and reflections over 0.3 s: 12 dB down within the first 3 s, 20 dB after 10 s."""
    ours = bursts(20, seed=1)
    echo = echo_of(ours)
    room_noise = 0.001 * np.random.default_rng(5).standard_normal(len(echo))
    out, _ = cancel(ours, echo + room_noise)
    left = out[: len(echo)] - room_noise[: len(out)]
    assert db(echo[seconds(1, 3)]) - db(left[seconds(1, 3)]) > 12
    assert db(echo[seconds(10, 19)]) - db(left[seconds(10, 19)]) > 20


def test_placed_up_to_the_lead_late_or_early_it_still_cancels():
    """EchoTiming's placement is off by tens of ms: the copy's lead and the filter's length cover it."""
    ours = bursts(15, seed=1)
    echo = echo_of(ours)
    for error_s in (-0.03, 0.03):
        out, canceller = cancel(ours, echo, placed_at=HEARD_AT + error_s * MIC_RATE)
        assert canceller.placements == 1
        assert db(echo[seconds(8, 14)]) - db(out[seconds(8, 14)]) > 18, error_s


def test_a_person_talking_over_our_sound_is_kept_and_does_not_undo_what_was_learnt():
    """They talk for 5 s as loud as our sound at the microphone: their voice comes through (correlation 0.98),
    and our sound stays 15 dB down while they talk and after."""
    ours = bursts(30, seed=1)
    echo = echo_of(ours)
    person = np.zeros_like(echo)
    voice = 3.5 * resample(bursts(5, seed=9, tone=False), OUT_RATE, MIC_RATE)
    person[seconds(15, 15 + len(voice) / MIC_RATE)] = voice
    assert abs(db(voice) - db(echo[seconds(15, 20)])) < 3  # as loud as our sound
    out, _ = cancel(ours, echo + person)
    left = out - person[: len(out)]
    talk = seconds(15, 20)
    assert np.corrcoef(out[talk], person[talk])[0, 1] > 0.98
    assert db(echo[talk]) - db(left[talk]) > 15
    assert db(echo[seconds(21, 29)]) - db(left[seconds(21, 29)]) > 15


def test_with_headphones_the_person_is_heard_exactly_as_they_were():
    """Nothing of ours comes back: the canceller never learns a room and passes the microphone through untouched."""
    ours = bursts(15, seed=1)
    person = 0.2 * resample(bursts(15, seed=9, tone=False), OUT_RATE, MIC_RATE).astype(np.float64)
    pcm_in = np.clip(np.round(person * 32768), -32768, 32767) / 32768
    out, _ = cancel(ours, person)
    assert np.array_equal(out, pcm_in[: len(out)])


def test_our_voice_after_a_long_steady_tone_is_learnt_quickly():
    """Two minutes of breath tone alone teach the filter only the tone's few frequencies; when our voice comes
    it must not be made louder by what the filter learnt elsewhere (the soak found +10 dB before the floor on
    the step) and is 10 dB down within 3 s."""
    hum = (0.05 * np.sin(2 * np.pi * 220 * np.arange(120 * OUT_RATE) / OUT_RATE)).astype(np.float32)
    ours = np.concatenate([hum, bursts(10, seed=1)])
    echo = echo_of(ours)
    room_noise = 0.001 * np.random.default_rng(5).standard_normal(len(echo))
    out, _ = cancel(ours, echo + room_noise)
    left = out - room_noise[: len(out)]
    assert db(echo[seconds(100, 119)]) - db(left[seconds(100, 119)]) > 20  # the tone alone
    for a in np.arange(120, 129, 0.5):  # never more of our voice than was heard, half a second at a time
        assert db(left[seconds(a, a + 0.5)]) < db(echo[seconds(a, a + 0.5)]) + 0.5, a
    assert db(echo[seconds(121, 129)]) - db(left[seconds(121, 129)]) > 10


def test_a_small_change_of_placement_is_left_to_the_filter():
    """EchoTiming's placement wobbles by tens of ms (and a person talking can move its measurement): the copy
    stays where it is while the filter reaches (half the lead early to later_seconds late)."""
    canceller = EchoCanceller(EchoReference(OUT_RATE, MIC_RATE))
    canceller.place(HEARD_AT)
    for moved_s in (-0.01, 0.03, 0.09):
        canceller.place(HEARD_AT + moved_s * MIC_RATE)
    assert canceller.placements == 1 and canceller.offset == HEARD_AT - canceller.lead


def test_when_the_measured_placement_moves_beyond_the_filters_reach_what_it_learnt_moves_with_it():
    """Placed 0.2 s early until EchoTiming has measured how late our sound really comes back (0.17 s through
    PulseAudio), the filter learns the room 0.2 s into its span; when the measurement arrives the copy moves and
    what was learnt moves with it: our sound is still 12 dB down in the second after (16 dB when written), not
    heard in full while the filter learns again (3 dB when it forgot; in the loopback, 0 to 2 dB)."""
    ours = bursts(16, seed=1)
    echo = echo_of(ours)
    measured_at_s, early_s = 12.0, 0.2
    canceller = EchoCanceller(EchoReference(OUT_RATE, MIC_RATE))
    canceller.place(HEARD_AT - early_s * MIC_RATE)

    def measured(start: int) -> None:
        if start == round(measured_at_s * MIC_RATE):
            canceller.place(HEARD_AT)

    out, _ = run_canceller(ours, echo, canceller, before_block=measured)
    assert canceller.placements == 2
    before, after = seconds(measured_at_s - 1, measured_at_s), seconds(measured_at_s, measured_at_s + 1)
    assert db(echo[before]) - db(out[before]) > 15
    assert db(echo[after]) - db(out[after]) > 12


def test_blocks_it_cannot_cut_into_10_ms_pass_through_and_nothing_is_done_before_placing():
    canceller = EchoCanceller(EchoReference(OUT_RATE, MIC_RATE))
    block = (np.arange(1600) % 300).astype(np.int16)
    assert canceller.cancel(0, block) is block  # not placed yet
    canceller.place(0)
    odd = block[:1000]
    assert canceller.cancel(1600, odd) is odd
    assert canceller.skipped == 2


def test_the_copy_of_what_we_played_is_read_at_the_microphones_rate_and_stays_in_step_after_a_stall():
    """EchoReference: samples in order, zeros for what is not played yet; a listening loop that stalls longer
    than the ring holds reads silence for what was lost and the right samples after it."""
    reference = EchoReference(OUT_RATE, MIC_RATE, kept_seconds=1.0)
    t = np.arange(4 * OUT_RATE) / OUT_RATE
    ours = sum(0.1 * np.sin(2 * np.pi * hz * t + hz) for hz in (310, 1130, 2970)).astype(np.float32)
    expected = resample(ours, OUT_RATE, MIC_RATE)
    played = 20 * PULL_FRAMES  # 0.46 s
    for first in range(0, played, PULL_FRAMES):
        reference.add(ours[first : first + PULL_FRAMES])
    def close(got, want):
        return np.sqrt(np.mean((got - want) ** 2)) < 0.01 * np.sqrt(np.mean(want**2))

    assert close(reference.read(1600, 1600), expected[1600:3200])
    assert not reference.read(round(0.5 * MIC_RATE), 1600).any()  # not played yet
    for first in range(played + PULL_FRAMES // 2, round(4 * OUT_RATE), PULL_FRAMES):
        reference.add(ours[first - PULL_FRAMES // 2 : first + PULL_FRAMES // 2])  # (pieces of another size)
    # the loop comes back 3 s later: more than the ring's 1 s was played meanwhile
    late = round(3.5 * MIC_RATE)
    assert close(reference.read(late, 1600), expected[late : late + 1600])
