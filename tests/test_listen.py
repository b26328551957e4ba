"""The listening loop's state machine, driven by detections, with the conductor pulled like the output stream."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.audio.timeline import TimelineSettings
from assistant.crisis import crisis_exercise
from assistant.library.loader import load_library
from assistant.listen import Conductor, Listener, Mode
from assistant.session import State
from assistant.session_audio import SessionAudio
from assistant.speech.cues import CueMatcher, Detection
from assistant.speech.detector import TimedDetection

RATE = 8000
MIC_RATE = 16000


@pytest.fixture
def loop():
    library = load_library()
    lines = []
    conductor = Conductor()
    listener = Listener(
        library,
        conductor,
        audio_for=lambda exercise_id: SessionAudio(library.get(exercise_id), TimelineSettings(sample_rate=RATE)),
        crisis_audio=SessionAudio(crisis_exercise(), TimelineSettings(sample_rate=RATE)),
        matcher=CueMatcher(library.cue_maps),
        say=lines.append,
        show_crisis=lambda: lines.append("RESOURCES"),
    )
    conductor.on_end = listener.exercise_ended
    return listener, conductor, lines


def heard(kind, intent, text, time_s=1.0):
    return TimedDetection(Detection(kind, intent, text), time_s)


def pull_seconds(conductor, seconds):
    return np.concatenate([conductor.pull(400) for _ in range(round(seconds * RATE / 400))])


class GateClock:
    """The detector's side of OutputFeed: its rate, how much microphone audio it has had (moved on by the test),
    and the spans of our own voice it was told of, (start, end, text) in microphone samples."""

    rate = MIC_RATE

    def __init__(self):
        self.samples_fed = 0
        self.gated = []

    def gate(self, start_sample, end_sample, text):
        self.gated.append((start_sample, end_sample, text))


def test_idle_output_is_silence_and_never_ends(loop):
    """With nothing asked for, the stream gets silence, block after block."""
    _, conductor, _ = loop
    block = conductor.pull(400)
    assert len(block) == 400 and not block.any()


def test_a_start_cue_starts_its_exercise_and_it_returns_to_idle_when_stopped(loop):
    """'I'm spiraling' starts its exercise; 'stop' fades it out; the loop is back to listening."""
    listener, conductor, lines = loop
    listener.on_detection(heard("start", "grounding-5-4-3-2-1", "i'm spiraling"), MIC_RATE)
    assert listener.mode is Mode.EXERCISE and conductor.current.audio.exercise.id == "grounding-5-4-3-2-1"
    pull_seconds(conductor, 2.0)
    listener.on_detection(heard("control", "stop", "stop", 3.0), MIC_RATE)
    pull_seconds(conductor, 0.5)
    assert conductor.current is None and listener.mode is Mode.IDLE
    assert "Listening." in listener.events.get()


def test_controls_reach_the_playing_session(loop):
    """'pause' pauses the exercise that plays; 'resume' resumes it."""
    listener, conductor, _ = loop
    listener.on_detection(heard("start", "box-breathing", "box breathing"), MIC_RATE)
    pull_seconds(conductor, 1.0)
    listener.on_detection(heard("control", "pause", "pause", 2.0), MIC_RATE)
    pull_seconds(conductor, 0.5)
    assert conductor.current.state is State.PAUSED
    listener.on_detection(heard("control", "resume", "keep going", 3.0), MIC_RATE)
    pull_seconds(conductor, 0.5)
    assert conductor.current.state is State.RUNNING


def test_crisis_mid_exercise_fades_it_and_plays_the_crisis_script(loop):
    """Crisis language replaces the exercise within the fade; resources are shown; 'repeat' replays them."""
    listener, conductor, lines = loop
    listener.on_detection(heard("start", "box-breathing", "box breathing"), MIC_RATE)
    pull_seconds(conductor, 30.0)
    listener.on_detection(heard("crisis", "crisis", "i want to die", 31.0), MIC_RATE)
    after = pull_seconds(conductor, 0.3)
    assert conductor.current.audio.exercise.id == "crisis" and listener.mode is Mode.CRISIS
    assert "RESOURCES" in lines
    assert not after[round(0.1 * RATE) :].any()  # the exercise is silent well within 300 ms (crisis lead-in follows)
    pull_seconds(conductor, 20.0)
    position = conductor.current.position
    listener.on_detection(heard("control", "repeat", "say that again", 60.0), MIC_RATE)
    pull_seconds(conductor, 0.5)
    assert conductor.current.position < position  # back to the start of the numbers


def test_crisis_language_while_the_crisis_script_plays_does_not_restart_it(loop):
    """The script's own words ("Suicide and Crisis Lifeline") heard back, or the person going on: it plays on."""
    listener, conductor, lines = loop
    listener.on_detection(heard("crisis", "crisis", "i want to die"), MIC_RATE)
    pull_seconds(conductor, 10.0)
    session, position = conductor.current, conductor.current.position
    listener.on_detection(heard("crisis", "crisis", "that suicide", 11.0), MIC_RATE)
    pull_seconds(conductor, 0.5)
    assert conductor.current is session and session.position > position
    assert lines.count("RESOURCES") == 1
    listener.on_detection(heard("control", "repeat", "say that again", 12.0), MIC_RATE)  # asked for: it does restart
    pull_seconds(conductor, 0.5)
    assert conductor.current.position < position


def test_each_word_we_say_is_noted_for_the_echo_check_every_time_it_is_played(loop):
    """The crisis script played twice: its words are noted both times (one audio object, two passes), for the
    listener's echo check and for the detector's gate alike."""
    from assistant.listen import OutputFeed

    listener, conductor, _ = loop
    noted, ranges = [], []
    def note(start, end, text):
        noted.append(text)
        ranges.append((start, end, text))
    listener.spoken.add = note
    clock = GateClock()
    feed = OutputFeed(conductor, listener, clock, RATE)
    words = [event.text for event in listener.crisis_audio.timeline.of_kind("speech")]
    listener.on_detection(heard("crisis", "crisis", "i want to die"), MIC_RATE)
    while conductor.current is not None:
        feed(400)
    listener.on_detection(heard("control", "repeat", "say that again", 200.0), MIC_RATE)
    while conductor.current is not None:
        feed(400)
    assert noted == words + words
    assert clock.gated == ranges


def test_our_next_words_are_placed_where_they_are_heard_when_a_listening_step_ends_early(loop):
    """The person answered and paused: the listening step ends and the next prompt follows in the same block of
    output. Its words are placed from where the jump landed (session 30: placed from where the block began,
    the soak's prompt was noted 9 s late, no gate covered our own voice, and Moonshine's reading of it
    paused the exercise)."""
    from assistant.listen import OutputFeed

    listener, conductor, _ = loop
    clock = GateClock()
    feed = OutputFeed(conductor, listener, clock, RATE, delay_seconds=0.25)
    listener.on_detection(heard("start", "grounding-5-4-3-2-1", "grounding"), MIC_RATE)
    session = conductor.current
    while session.listening() is None or session.position < session.listening()[0].start + 2 * RATE:
        feed(400)
        clock.samples_fed += 400 * MIC_RATE // RATE
    target = session.listening()[0].end  # 2 s into the step, with more of it to come
    session.end_listen()
    heard_at = clock.samples_fed + 0.25 * MIC_RATE  # where this block's first frame is heard
    clock.gated = []
    feed(2 * RATE)  # the jump, and the next prompt's first words, in one block
    following = [e for e in session.timeline.of_kind("speech") if target <= e.start < target + 2 * RATE]
    assert following and session.position == target + 2 * RATE
    assert [text for *_, text in clock.gated] == [e.text for e in following]
    for (start, *_), event in zip(clock.gated, following):
        assert abs(start - (heard_at + (event.start - target) * MIC_RATE / RATE)) < 0.05 * MIC_RATE


def test_the_rest_of_a_line_resumed_in_its_middle_is_noted_where_it_is_heard(loop):
    """Paused in the middle of a line and resumed: the rest of the line is our voice again, and is noted from
    where it is taken up (session 30: it went ungated, and Moonshine's "Dear God we continue", read in it,
    resumed an exercise that was already playing)."""
    from assistant.listen import OutputFeed

    listener, conductor, _ = loop
    clock = GateClock()
    feed = OutputFeed(conductor, listener, clock, RATE, delay_seconds=0.25)

    def play(seconds):
        for _ in range(round(seconds * RATE / 400)):
            feed(400)
            clock.samples_fed += 400 * MIC_RATE // RATE

    listener.on_detection(heard("start", "grounding-5-4-3-2-1", "grounding"), MIC_RATE)
    session = conductor.current
    line = next(e for e in session.timeline.of_kind("speech") if e.end - e.start > 4 * RATE)
    while session.position < (line.start + line.end) // 2:
        play(0.05)
    session.pause()
    play(5.0)
    assert session.state is State.PAUSED
    clock.gated = []
    while not listener.events.empty():
        listener.events.get()
    session.resume()
    taken_up_at = session.position
    heard_at = clock.samples_fed + 0.25 * MIC_RATE
    play(0.5)
    rest = [(start, end) for start, end, text in clock.gated if text == line.text]
    assert len(rest) == 1
    start, end = rest[0]
    assert abs(start - heard_at) < 0.05 * MIC_RATE
    assert abs((end - start) - (line.end - taken_up_at) * MIC_RATE / RATE) < 0.01 * MIC_RATE
    shown = []
    while not listener.events.empty():
        shown.append(listener.events.get())
    assert f"  “{line.text}”" not in shown  # (shown once, when it began)


def test_the_detector_is_told_while_our_breath_tone_sounds(loop):
    """Resonance breathing speaks for 25 s before its tone: the detector hears of the tone only from then, in
    microphone samples (its clock plus the delay to the speaker), in spans that follow on from each other,
    a second ahead at a time; once the exercise has stopped, no more."""
    from assistant.listen import OutputFeed

    class Clock:  # the detector's side of OutputFeed, its clock moving as a microphone's would
        rate = MIC_RATE
        samples_fed = 0
        toned = []

        def gate(self, start_sample, end_sample, text):
            pass

        def tone(self, start_sample, end_sample, low_hz, high_hz):
            self.toned.append((start_sample, end_sample, low_hz, high_hz))

    listener, conductor, _ = loop
    clock = Clock()
    feed = OutputFeed(conductor, listener, clock, RATE, delay_seconds=0.25)
    listener.on_detection(heard("start", "resonance-5-5", "resonance breathing"), MIC_RATE)
    first_phase = conductor.current.timeline.of_kind("phase")[0].start / RATE
    for _ in range(round(40 * RATE / 400)):
        feed(400)
        clock.samples_fed += 400 * MIC_RATE // RATE
    starts = [start for start, *_ in clock.toned]
    assert abs(starts[0] / MIC_RATE - (first_phase + 0.25)) < 0.1
    assert all(after == before for (_, before, *_), after in zip(clock.toned, starts[1:]))
    assert {(low, high) for *_, low, high in clock.toned} == {(220.0, 330.0)}
    assert 15 <= len(clock.toned) <= 17  # one a second
    assert 40.25 <= clock.toned[-1][1] / MIC_RATE <= 40.25 + 1.05  # (told again when what it knew runs out)
    listener.on_detection(heard("control", "stop", "stop", 40.0), MIC_RATE)
    while conductor.current is not None:
        feed(400)
        clock.samples_fed += 400 * MIC_RATE // RATE
    told = len(clock.toned)
    for _ in range(20):
        feed(400)
    assert len(clock.toned) == told


def test_our_words_and_tone_are_placed_by_the_microphones_clock_and_the_measured_lateness(loop):
    """OutputFeed places what goes out from the frames the microphone has captured (not what the listening loop
    has fed on, which can be behind) plus the assumed delay, moved by what EchoTiming measured."""
    from assistant.listen import OutputFeed

    class Clock:
        rate = MIC_RATE
        samples_fed = 0  # the listening loop, far behind
        gated, toned = [], []

        def gate(self, start_sample, end_sample, text):
            self.gated.append(start_sample)

        def tone(self, start_sample, end_sample, low_hz, high_hz):
            self.toned.append(start_sample)

    listener, conductor, _ = loop
    placed = {}
    for lateness_s in (0.0, 0.4):
        clock = Clock()
        clock.gated, clock.toned = [], []
        feed = OutputFeed(conductor, listener, clock, RATE, delay_seconds=0.25)
        captured = [0]
        feed.microphone_frames = lambda: captured[0]
        feed.timing.lateness_samples = round(lateness_s * MIC_RATE)
        listener.on_detection(heard("start", "physiological-sigh", "physiological sigh"), MIC_RATE)
        for _ in range(round(12 * RATE / 400)):
            feed(400)
            captured[0] += 400 * MIC_RATE // RATE
        listener.on_detection(heard("control", "stop", "stop"), MIC_RATE)
        while conductor.current is not None:
            feed(400)
        placed[lateness_s] = (clock.gated, clock.toned[0])
    (words, tone), (words_late, tone_late) = placed[0.0], placed[0.4]
    assert words and len(words) == len(words_late)
    assert all(abs(late - early - 0.4 * MIC_RATE) <= 2 for early, late in zip(words, words_late))
    assert abs(tone_late - tone - 0.4 * MIC_RATE) <= 2
    # the first word (at 0.25 s of the session) is placed by the frames captured, not by samples_fed (0)
    assert abs(words[0] / MIC_RATE - (0.25 + 0.25)) < 0.05


def test_what_we_play_is_taken_back_out_of_what_the_detector_hears(loop):
    """OutputFeed keeps a copy of each block it gives the output stream; `hear` places it by EchoTiming and the
    canceller takes our sound out of each microphone block before the detector gets it: the breath tone heard
    back through a plain delay is 15 dB down once learnt (measured: 24 dB in the last 20 s of a minute;
    until EchoTiming has measured where it lands, which takes the tone half a minute here, nothing)."""
    from assistant.audio.resample import StreamResampler
    from assistant.listen import AnswerWatcher, OutputFeed, hear

    class Detector:
        rate = MIC_RATE
        samples_fed = 0
        fed = []

        def gate(self, start_sample, end_sample, text):
            pass

        def tone(self, start_sample, end_sample, low_hz, high_hz):
            pass

        def ours_left(self, start_sample, end_sample, ours, left, usual_share):
            self.told.append((start_sample, end_sample, self.samples_fed, ours, left, usual_share))

        def feed(self, block):
            self.fed.append(block)
            self.samples_fed += len(block)
            return []

    listener, conductor, _ = loop
    detector = Detector()
    detector.fed, detector.told = [], []
    feed = OutputFeed(conductor, listener, detector, RATE, delay_seconds=0.25)
    answers = AnswerWatcher(conductor)
    listener.on_detection(heard("start", "resonance-5-5", "resonance breathing"), MIC_RATE)
    # output frame f is heard at microphone sample 2f: the soak's plain delay
    to_mic_rate, at_mic, pulled, raw = StreamResampler(RATE, MIC_RATE), [np.zeros(0)], 0, []
    seconds, block = 60, 1600
    for index in range(round(seconds * MIC_RATE / block)):
        while pulled < ((index + 1) * block / MIC_RATE + 0.25) * RATE:
            at_mic.append(to_mic_rate(feed(400)))
            pulled += 400
        at_mic = [np.concatenate(at_mic)]
        ours = 0.5 * at_mic[0][index * block : (index + 1) * block]
        mic = np.clip(np.round(ours * 32768), -32768, 32767).astype(np.int16)
        raw.append(mic)
        hear(mic, detector, listener, answers, feed.timing, feed.canceller)
    heard_raw = np.concatenate(raw[-200:]).astype(np.float64)
    given = np.concatenate(detector.fed[-200:]).astype(np.float64)
    assert np.mean(heard_raw**2) > 1e4  # the tone is heard back (about -25 dBFS)
    assert 10 * np.log10(np.mean(heard_raw**2) / np.mean(given**2)) > 15
    assert feed.canceller.placements >= 1 and feed.timing.measured_seconds
    # Once learnt, the detector is told what was left of each block, before it is fed that block: at the end,
    # every block, less of it left than our tone, most often 15 dB less, and the share lately left known.
    told = detector.told[-200:]
    assert len(told) == 200 and all(start == fed_then and end - start == block for start, end, fed_then, *_ in told)
    shares = [left / ours for *_, ours, left, _ in told]
    assert all(share < 1 for share in shares) and np.median(shares) < 10**-1.5
    assert all(usual is not None and usual < 0.1 for *_, usual in told)


def test_im_fine_does_not_end_crisis_support(loop):
    """One 'I'm fine' is not a command: crisis support keeps playing and stays available."""
    listener, conductor, _ = loop
    listener.on_detection(heard("crisis", "crisis", "i can't go on"), MIC_RATE)
    pull_seconds(conductor, 2.0)
    detection = listener.matcher.match("I'm fine")
    if detection is not None:
        listener.on_detection(TimedDetection(detection, 3.0), MIC_RATE)
    pull_seconds(conductor, 0.5)
    assert conductor.current is not None and conductor.current.audio.exercise.id == "crisis"
    assert listener.mode is Mode.CRISIS


def test_our_own_voice_saying_stop_does_not_stop_us(loop):
    """A 'stop' heard while the assistant itself says "Stop." (the STOP practice) is its own echo and ignored."""
    listener, conductor, _ = loop
    listener.on_detection(heard("start", "stop-practice", "stop practice"), MIC_RATE)
    pull_seconds(conductor, 1.0)
    listener.spoken.add(10 * MIC_RATE, 11 * MIC_RATE, "Stop.")
    listener.on_detection(heard("control", "stop", "stop", 10.5), MIC_RATE)
    pull_seconds(conductor, 0.5)
    assert conductor.current is not None and conductor.current.state is State.RUNNING
    # ...but the person saying stop a moment later, over other words of ours, is obeyed.
    listener.spoken.add(14 * MIC_RATE, 16 * MIC_RATE, "Take a slow breath in.")
    listener.on_detection(heard("control", "stop", "stop", 15.0), MIC_RATE)
    pull_seconds(conductor, 0.5)
    assert conductor.current is None


def test_a_person_saying_stop_as_our_voice_says_stop_is_obeyed(loop):
    """The STOP practice says "Stop."; someone saying "stop" at that moment, which the echo canceller found far
    more of than it leaves of our voice (TimedDetection.person_heard), stops it."""
    listener, conductor, _ = loop
    listener.on_detection(heard("start", "stop-practice", "stop practice"), MIC_RATE)
    pull_seconds(conductor, 1.0)
    listener.spoken.add(10 * MIC_RATE, 11 * MIC_RATE, "Stop.")
    listener.on_detection(TimedDetection(Detection("control", "stop", "stop"), 10.5, person_heard=True), MIC_RATE)
    pull_seconds(conductor, 0.5)
    assert conductor.current is None


def test_start_cues_are_ignored_while_an_exercise_plays(loop):
    """A second start cue during an exercise does not interrupt it."""
    listener, conductor, _ = loop
    listener.on_detection(heard("start", "box-breathing", "box breathing"), MIC_RATE)
    pull_seconds(conductor, 1.0)
    listener.on_detection(heard("start", "resonance-5-5", "help me breathe"), MIC_RATE)
    assert conductor.current.audio.exercise.id == "box-breathing"


def both(kind, intent, alternative, text, time_s=1.0):
    return TimedDetection(Detection(kind, intent, text, alternative=alternative), time_s)


def test_words_holding_a_start_and_a_control_start_when_idle_and_control_during_an_exercise(loop):
    """'I need to slow down' starts resonance when nothing plays, and slows the exercise that plays; 'stop, I'm
    spiraling' said when nothing plays starts the exercise asked for (there is nothing to stop)."""
    listener, conductor, lines = loop
    listener.on_detection(both("control", "stop", ("start", "grounding-5-4-3-2-1"), "stop i'm spiraling"), MIC_RATE)
    assert listener.mode is Mode.EXERCISE and conductor.current.audio.exercise.id == "grounding-5-4-3-2-1"
    pull_seconds(conductor, 1.0)
    listener.on_detection(heard("control", "stop", "stop", 2.0), MIC_RATE)
    pull_seconds(conductor, 0.5)
    assert conductor.current is None
    slow_down = both("start", "resonance-5-5", ("control", "slower"), "i need to slow down", 3.0)
    listener.on_detection(slow_down, MIC_RATE)
    session = conductor.current
    assert session.audio.exercise.id == "resonance-5-5"
    pull_seconds(conductor, 1.0)
    listener.on_detection(slow_down, MIC_RATE)  # said again while it plays: slower, not ignored
    pull_seconds(conductor, 0.5)
    assert conductor.current is session and "(slower)" in lines
    # ...and a control holding a start, during an exercise, is the control.
    listener.on_detection(both("control", "stop", ("start", "grounding-5-4-3-2-1"), "stop i'm spiraling", 5.0), MIC_RATE)
    pull_seconds(conductor, 0.5)
    assert conductor.current is None and listener.mode is Mode.IDLE


def test_repeat_after_the_crisis_script_replays_it_even_when_its_words_hold_a_start(loop):
    """In crisis mode with nothing playing, 'repeat' replays the resources; it never starts an exercise instead."""
    listener, conductor, lines = loop
    listener.on_detection(heard("crisis", "crisis", "i want to die"), MIC_RATE)
    pull_seconds(conductor, 200.0)  # the crisis script has played out
    assert conductor.current is None or conductor.current.ended
    listener.on_detection(both("control", "repeat", ("start", "grounding-5-4-3-2-1"), "say that again i'm spiraling",
                               201.0), MIC_RATE)
    assert conductor.current.audio.exercise.id == "crisis" and lines.count("RESOURCES") == 2


def test_again_please_said_over_our_once_more_line_replays_the_numbers_when_a_person_said_it(loop):
    """Our crisis script says "Once more. Call or text 9 8 8." By its words alone, "again please" heard as that
    plays is the line's own echo (the soak, session 30, at -10 dB); when the echo canceller found a person's
    voice in it, the person asked for all the numbers again."""
    listener, conductor, lines = loop
    listener.on_detection(heard("crisis", "crisis", "i want to die"), MIC_RATE)
    pull_seconds(conductor, 30.0)
    listener.spoken.add(30 * MIC_RATE, 33 * MIC_RATE, "Once more. Call or text 9 8 8.")
    listener.on_detection(heard("control", "repeat", "again please", 32.0), MIC_RATE)
    assert lines.count("RESOURCES") == 1
    listener.on_detection(TimedDetection(Detection("control", "repeat", "again please"), 32.5, person_heard=True),
                          MIC_RATE)
    assert lines.count("RESOURCES") == 2  # (the script fades out and starts again from the numbers)


def test_an_exercise_started_by_voice_shows_its_cautions(loop):
    """ "I can't breathe" starts the extended exhale, and its cautions are on the screen as `run` shows them,
    the chest-pain one among them: breathlessness is not always panic."""
    listener, conductor, lines = loop
    listener.on_detection(heard("start", "extended-exhale", "i can't breathe"), MIC_RATE)
    assert lines[0] == "Starting Extended exhale."
    assert any("chest pain" in line and "emergency number" in line for line in lines[1:])


def test_a_preferred_exercise_starts_instead_of_the_cues_own(loop):
    """With `prefer: {grounding-5-4-3-2-1: orienting}`, "I'm spiraling" starts orienting."""
    listener, conductor, _ = loop
    listener.prefer = {"grounding-5-4-3-2-1": "orienting"}
    listener.on_detection(heard("start", "grounding-5-4-3-2-1", "i'm spiraling"), MIC_RATE)
    assert conductor.current.audio.exercise.id == "orienting"


def test_a_preferred_exercise_that_is_gone_falls_back_to_the_cues_own(loop):
    """A preference naming an exercise no longer in the library says so and starts the cue's exercise."""
    listener, conductor, lines = loop
    listener.prefer = {"grounding-5-4-3-2-1": "deleted-one"}
    listener.on_detection(heard("start", "grounding-5-4-3-2-1", "i'm spiraling"), MIC_RATE)
    assert conductor.current.audio.exercise.id == "grounding-5-4-3-2-1"
    assert any("deleted-one" in line for line in lines)


def test_the_conductor_plays_at_the_volume_from_settings():
    """A conductor made with volume 0.5 plays each session at half the rendered level."""
    library = load_library()
    audio = SessionAudio(library.get("box-breathing"), TimelineSettings(sample_rate=RATE))
    conductor = Conductor(volume=0.5)
    conductor.play(audio)
    played = np.concatenate([conductor.pull(400) for _ in range(40)])
    assert np.allclose(played, 0.5 * audio.mixer.render(0, len(played)), atol=1e-6)


# ---------------------------------------------------------------- listening steps, with synthetic microphone audio

MIC_BLOCK = MIC_RATE // 10  # 0.1 s, as the microphone delivers it
OUT_BLOCK = RATE // 10


def mic_noise(dbfs, seed):
    """0.1 s of white noise at an RMS level in dBFS, int16 like the microphone's."""
    samples = np.random.default_rng(seed).standard_normal(MIC_BLOCK)
    samples *= 10 ** (dbfs / 20) / np.sqrt(np.mean(samples**2))
    return np.round(samples * 32767).astype(np.int16)


def play_with_microphone(conductor, answers, talking, seconds):
    """Pull the output and feed the microphone in step, 0.1 s at a time.

    `talking(position, event)` says whether the person is talking while the session is at
    `position` (None when idle). Returns the output position before and after each block.
    """
    positions = []
    for index in range(round(seconds * 10)):
        session = conductor.current
        before = session.position if session else None
        now = session.listening() if session else None
        voice = now is not None and talking(before - now[0].start)
        answers.feed(mic_noise(-28 if voice else -58, index), MIC_RATE)
        conductor.pull(OUT_BLOCK)
        positions.append((before, session.position if session else None))
    return positions


def talking_between(start_s, end_s):
    return lambda offset: start_s * RATE <= offset < end_s * RATE


def listening_exercise(timeout_seconds=10.0):
    from assistant.library.model import Exercise, Listen, Say

    return Exercise(
        id="l", title="L", kind="grounding",
        steps=(Say("Name three things."), Listen(timeout_seconds=timeout_seconds, silence_seconds=2.0), Say("Thank you.")),
    )


def test_the_listening_step_moves_on_after_speech_then_silence():
    """The person answers for 2 s, then is quiet: 2 s later the step ends, well before its 10 s timeout."""
    from assistant.listen import AnswerWatcher

    conductor = Conductor()
    audio = SessionAudio(listening_exercise(), TimelineSettings(sample_rate=RATE))
    session = conductor.play(audio)
    answers = AnswerWatcher(conductor)
    listen = audio.timeline.of_kind("listen")[0]
    positions = play_with_microphone(conductor, answers, talking_between(1.0, 3.0), 16.0)
    jumps = [(a, b) for a, b in positions if a is not None and b - a > OUT_BLOCK]
    assert len(jumps) == 1
    jumped_from, jumped_to = jumps[0]
    # Talking 1-3 s into the step, then 2 s of quiet: it ends about 5 s in (one block of give).
    assert (jumped_from - listen.start) / RATE == pytest.approx(5.0, abs=0.15)
    assert jumped_to == listen.end + OUT_BLOCK
    assert answers.segmenter is None  # out of the step: nothing is listened to until the next one
    assert session.state is State.FINISHED  # and "Thank you." played to the end


def test_the_listening_step_waits_out_its_timeout_when_nothing_is_heard():
    """Only the room is heard: the step lasts exactly its timeout and the exercise goes on."""
    from assistant.listen import AnswerWatcher

    conductor = Conductor()
    audio = SessionAudio(listening_exercise(timeout_seconds=6.0), TimelineSettings(sample_rate=RATE))
    session = conductor.play(audio)
    answers = AnswerWatcher(conductor)
    listen = audio.timeline.of_kind("listen")[0]
    positions = play_with_microphone(conductor, answers, lambda offset: False, 12.0)
    assert all(b - a == OUT_BLOCK for a, b in positions if a is not None and b is not None and b < audio.timeline.total_samples)
    inside = [a for a, _ in positions if a is not None and listen.start <= a < listen.end]
    assert len(inside) * OUT_BLOCK == pytest.approx(6.0 * RATE, abs=OUT_BLOCK)
    assert session.position > listen.end


def test_our_own_prompt_is_not_taken_for_an_answer():
    """Sound while the prompt plays (before the step) is not listened to: the step starts fresh."""
    from assistant.listen import AnswerWatcher

    conductor = Conductor()
    audio = SessionAudio(listening_exercise(timeout_seconds=6.0), TimelineSettings(sample_rate=RATE))
    conductor.play(audio)
    answers = AnswerWatcher(conductor)
    listen = audio.timeline.of_kind("listen")[0]
    # Loud "speech" for every block before the step (the prompt playing): the watcher must ignore it.
    while conductor.current.position < listen.start:
        answers.feed(mic_noise(-25, 0), MIC_RATE)
        conductor.pull(OUT_BLOCK)
    assert answers.segmenter is None
    positions = play_with_microphone(conductor, answers, lambda offset: False, 7.0)
    assert not any(b - a > OUT_BLOCK for a, b in positions if a is not None and b is not None)


def test_five_four_three_two_one_follows_the_person_through_every_prompt():
    """The bundled 5-4-3-2-1 with answers after each prompt finishes sooner than its render, one jump per step."""
    from assistant.listen import AnswerWatcher

    library = load_library()
    conductor = Conductor()
    audio = SessionAudio(library.get("grounding-5-4-3-2-1"), TimelineSettings(sample_rate=RATE))
    session = conductor.play(audio)
    answers = AnswerWatcher(conductor)
    positions = play_with_microphone(conductor, answers, talking_between(0.5, 4.0), audio.timeline.seconds)
    jumps = [(a, b) for a, b in positions if a is not None and b is not None and b - a > OUT_BLOCK]
    assert len(jumps) == len(audio.timeline.of_kind("listen")) == 5
    assert session.state is State.FINISHED
