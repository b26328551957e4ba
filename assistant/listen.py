"""`grounding listen`: idle listening -> a cue starts its exercise -> controls and crisis act on it -> back to listening.

Inside an exercise, a listening step ("name five things you can see") waits
while the person answers aloud and moves on when they pause (AnswerWatcher).

One output stream runs for the whole time (silence when idle), so an
exercise starts without opening a device and crisis support replaces
whatever plays by a fade, not by a new stream. The microphone feeds one
long-lived recognizer through the StreamDetector. The Listener is the state
machine; it is driven by detections and is tested without any audio.
"""

from __future__ import annotations

import enum
import math
import queue
import threading
from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np

from assistant.audio.echo_cancel import EchoCanceller, EchoReference
from assistant.audio.echo_timing import EchoTiming
from assistant.audio.timeline import Timeline
from assistant.library.loader import Library
from assistant.session import Session, State
from assistant.session_audio import SessionAudio
from assistant.speech.cues import CueMatcher, Detection
from assistant.speech.detector import StreamDetector, TimedDetection
from assistant.speech.detector_process import DetectorProcess
from assistant.speech.vad import EnergyDetector, ListenSegmenter


class Mode(enum.Enum):
    IDLE = "idle"  # listening for a start cue (and crisis language)
    EXERCISE = "exercise"  # an exercise plays; controls and crisis language act on it
    CRISIS = "crisis"  # the crisis script plays or has played; it stays available


class Conductor:
    """The one output stream's source: the current session, or silence. Thread-safe swaps."""

    def __init__(self, on_end: Callable[[Session], None] | None = None, volume: float = 1.0):
        self._lock = threading.Lock()
        self.current: Session | None = None
        self.on_end = on_end or (lambda session: None)
        self.volume = volume  # 0-1, each session starts at this level
        self.frames_out = 0  # output frames handed to the player, the listening loop's clock for echo gating

    def play(self, audio: SessionAudio, notify: Callable[[str], None] | None = None) -> Session:
        """Play `audio`: fade out whatever is playing first (within the control fade), else start at once."""
        with self._lock:
            current = self.current
            if current is not None and not current.ended:
                current.interrupt(audio)
                return current
            self.current = Session(audio, volume=self.volume, notify=notify)
            return self.current

    def pull(self, frames: int) -> np.ndarray:
        """Never ends: the session's samples, then silence."""
        with self._lock:
            session = self.current
        out = np.zeros(frames, dtype=np.float32)
        if session is not None:
            block = session.pull(frames)
            out[: len(block)] = block
            if session.ended:
                with self._lock:
                    if self.current is session:
                        self.current = None
                self.on_end(session)
        self.frames_out += frames
        return out


class AnswerWatcher:
    """Hears the person answer during a listening step and ends the step once they pause.

    The listening loop hands it every microphone block. Blocks are looked at
    only while the current session is inside a listening step: the prompt
    before it ended at least a speech gap earlier, so the assistant's own voice
    is not what it hears. The noise floor is learned in those moments too.
    """

    def __init__(self, conductor: Conductor, energy: EnergyDetector | None = None):
        self.conductor = conductor
        self.energy = energy or EnergyDetector()
        self.segmenter: ListenSegmenter | None = None
        self._step: tuple[int, int, int] | None = None  # (session, audio, start sample) of the step being heard

    def feed(self, block: np.ndarray, sample_rate: int) -> bool:
        """One microphone block; True when it has just ended a listening step because the person paused."""
        session = self.conductor.current
        now = session.listening() if session is not None else None
        if now is None:
            self._step, self.segmenter = None, None
            return False
        event, step = now
        key = (id(session), id(session.audio), event.start)
        if key != self._step or self.segmenter is None:
            self._step = key
            self.segmenter = ListenSegmenter(timeout_seconds=step.timeout_seconds, silence_seconds=step.silence_seconds)
        if self.segmenter.done:
            return False
        listening = self.segmenter.process(len(block) / sample_rate, self.energy.is_speech(block, sample_rate))
        if not listening and self.segmenter.reason == "silence":
            session.end_listen(event.start)
            return True
        return False  # at a timeout the step ends by itself: it lasts exactly that long


@dataclass
class SpokenLog:
    """What the assistant said and when (in microphone samples), to tell its own voice from the person's."""

    entries: list[tuple[int, int, str]] = field(default_factory=list)

    def add(self, start_sample: int, end_sample: int, text: str) -> None:
        self.entries.append((start_sample, end_sample, text))
        del self.entries[:-64]

    def overlapping(self, sample: int, tail_samples: int) -> list[str]:
        return [text for start, end, text in self.entries if start <= sample <= end + tail_samples]


class Listener:
    """What the assistant does with each detection, in each mode."""

    def __init__(
        self,
        library: Library,
        conductor: Conductor,
        audio_for: Callable[[str], SessionAudio],  # exercise id -> its audio (speech rendered ahead by the caller)
        crisis_audio: SessionAudio,
        matcher: CueMatcher,
        say: Callable[[str], None],  # a line for the screen
        show_crisis: Callable[[], None],  # print the resources large and clear
        echo_tail_samples: int = 8000,
        start_speech: Callable[[Session], None] = lambda session: None,  # render the exercise's speech ahead
        prefer: Mapping[str, str] | None = None,  # exercise a cue starts -> the one the person prefers
    ):
        self.library = library
        self.conductor = conductor
        self.audio_for = audio_for
        self.crisis_audio = crisis_audio
        self.matcher = matcher
        self.say = say
        self.show_crisis = show_crisis
        self.echo_tail_samples = echo_tail_samples
        self.start_speech = start_speech
        self.prefer = dict(prefer or {})
        self.mode = Mode.IDLE
        self.crisis_seen = False
        self.spoken = SpokenLog()
        self.events: "queue.SimpleQueue[str]" = queue.SimpleQueue()

    def exercise_ended(self, session: Session) -> None:
        """Called from the output thread when a session has played out or been stopped."""
        if self.mode is Mode.EXERCISE:
            # After a crisis, crisis support stays one "repeat" away.
            self.mode = Mode.CRISIS if self.crisis_seen else Mode.IDLE
            how = "completed" if session.state is State.FINISHED else "stopped"
            self.events.put(f"{session.audio.exercise.title}: {how}. Listening.")
        # After the crisis script itself the mode stays CRISIS: "repeat" replays the numbers.

    def is_own_echo(self, timed: TimedDetection, input_rate: int) -> bool:
        """True when what was heard matches something the assistant itself was saying at that moment, and the
        echo canceller did not find a person's voice in it (TimedDetection.person_heard): "stop" said with the
        STOP practice's "Stop." is the person's, as is "again please" over our "Once more. Call or text 9 8 8"."""
        if timed.person_heard:
            return False
        sample = round(timed.time_s * input_rate)
        for text in self.spoken.overlapping(sample, self.echo_tail_samples):
            own = self.matcher.match_all(text)
            if any((d.kind, d.intent) == (timed.detection.kind, timed.detection.intent) for d in own):
                return True
        return False

    def on_detection(self, timed: TimedDetection, input_rate: int) -> None:
        detection = timed.detection
        if detection.kind == "crisis":
            # Crisis language wins in every mode, even over our own voice: a false alarm costs little.
            # But the crisis script is not restarted by itself: while it plays, its own words ("the Suicide
            # and Crisis Lifeline") come back through the microphone (the overnight soak caught this).
            if not self._crisis_playing():
                self._crisis()
            return
        if self.is_own_echo(timed, input_rate):
            return
        session = self.conductor.current
        detection = self._fitting(detection, playing=session is not None and not session.ended)
        if detection.kind == "control":
            if self.mode is Mode.CRISIS and detection.intent == "repeat":
                self._crisis()
                return
            if session is None or session.ended:
                return
            action = {
                "stop": session.stop,
                "pause": session.pause,
                "resume": session.resume,
                "slower": session.slower,
                "faster": session.faster,
                "repeat": session.repeat,
                "skip": session.skip,
            }[detection.intent]
            action()
            self.say(f"({detection.intent})")
            return
        # A start cue: begins an exercise when nothing else is playing (in crisis mode too: grounding is offered).
        if session is not None and not session.ended:
            return
        exercise = self.library.get(self._preferred(detection.intent))
        self.mode = Mode.EXERCISE
        self.say(f"Starting {exercise.title}.")
        for caution in exercise.cautions:  # as `grounding run` shows them: "my chest is tight" may not be panic
            self.say(f"  · {caution}")
        self.start_speech(self.conductor.play(self.audio_for(exercise.id), notify=self.say))

    def _fitting(self, detection: Detection, playing: bool) -> Detection:
        """The reading of what was heard that this moment can act on: words that hold both a start and a control
        ("I need to slow down", "stop, I'm spiraling") start the exercise when nothing is playing and act on the
        one playing otherwise. (In crisis mode a "repeat" with nothing playing replays the numbers, as it is.)"""
        other = detection.as_alternative()
        if other is None:
            return detection
        if detection.kind == "control" and not playing:
            keeps_repeat = self.mode is Mode.CRISIS and detection.intent == "repeat"
            return detection if keeps_repeat else other
        if detection.kind == "start" and playing:
            return other
        return detection

    def _preferred(self, exercise_id: str) -> str:
        """The exercise the person prefers for this cue (config.yaml's `prefer`), if it is in the library."""
        wanted = self.prefer.get(exercise_id, exercise_id)
        if wanted not in self.library.exercises:
            self.say(f"(your settings prefer '{wanted}', which is not in the library; starting '{exercise_id}')")
            return exercise_id
        return wanted

    def _crisis_playing(self) -> bool:
        session = self.conductor.current
        return session is not None and not session.ended and session.audio is self.crisis_audio

    def _crisis(self) -> None:
        self.mode = Mode.CRISIS
        self.crisis_seen = True
        self.show_crisis()
        self.conductor.play(self.crisis_audio, notify=self.say)


TONE_TOLD_AHEAD_SECONDS = 1.0  # the detector is told of our tone this far ahead: a message a second, not a block


class OutputFeed:
    """The output stream's source in `grounding listen`: the conductor's blocks, noting our own words as they go out.

    Each speech event about to be heard is added to the listener's SpokenLog and
    the detector's gate in microphone samples (the detector's clock plus
    `delay_seconds`, the time from pull to speaker, smoothed and corrected by how
    late our sound is measured to come back: `timing`, EchoTiming), so our own
    voice is not taken for the person's. While the breath tone sounds, the detector is told
    that too (`tone`, a second ahead at a time), so that the tone coming back
    from the speaker does not hide the person's voice. Each block also goes to `played`, from which the
    echo canceller (`canceller`, given to `hear`) takes our sound back out of what the microphone hears.
    """

    def __init__(self, conductor: Conductor, listener: Listener, detector: StreamDetector | DetectorProcess, out_rate: int,
                 delay_seconds: float = 0.25):
        self.conductor = conductor
        self.listener = listener
        self.detector = detector
        self.out_rate = out_rate
        self.delay_seconds = delay_seconds
        self.timing = EchoTiming(detector.rate, out_rate)  # where each block is really heard: measured
        self.played = EchoReference(out_rate, detector.rate)  # what went out, for the echo canceller
        self.canceller = EchoCanceller(self.played)  # takes it back out of what the microphone hears
        self.microphone_frames: Callable[[], int] | None = None  # frames the microphone has captured, once it runs
        self._tone_told_until = 0  # microphone sample up to which the detector knows our tone sounds
        # Where the last stretch played ended: its session, timeline, position and the session's output frame
        self._carries_on: tuple[Session, Timeline, int, int] | None = None

    def __call__(self, frames: int) -> np.ndarray:
        session = self.conductor.current
        frames_before = session.output_frames if session is not None else 0
        block = self.conductor.pull(frames)
        mic_rate, out_rate, listener = self.detector.rate, self.out_rate, self.listener
        # Where the microphone is now: what it has captured, once it runs (the listening loop, and so
        # samples_fed, can be behind it: at the start, while the recognizers load).
        now = self.detector.samples_fed if self.microphone_frames is None else self.microphone_frames()
        heard_at = self.timing.place(now + round(self.delay_seconds * mic_rate), block)
        self.played.add(block)
        if session is None:
            return block
        # Each word is noted once, as it goes out, where in this block it went out. The position does not always
        # move on smoothly within a block: ending a listening step once the person has answered jumps it to the
        # next step, as resume and skip do (session 30: measured from where the block began, the next prompt was
        # placed 9 s late, and Moonshine's reading of our own voice paused the exercise). A replay (the crisis
        # script again, "repeat") is a new pass and is noted again. (A set of (id(timeline), start) keys used
        # to stand in for this and missed most words: ids are reused and the crisis audio is one object played
        # many times; the soak measured 331 of 738 words noted.)
        # A line taken up again in its middle (resumed after a pause within it, or after a jump into it) is
        # noted again from there: the rest of it is our voice too (session 30: paused mid-line and resumed, the
        # rest of "Good. Now four things you can touch or feel..." went ungated, and Moonshine's "Dear God we
        # continue" in it resumed an exercise that was playing).
        tone_heard: tuple[int, int] | None = None
        for out_frame, position, count, timeline in session.played(frames_before):
            at = heard_at + round((out_frame - frames_before) / out_rate * mic_rate)  # where this stretch is heard
            last = self._carries_on
            taken_up = last is None or last[0] is not session or last[1] is not timeline or last[2:] != (
                position, out_frame)
            self._carries_on = (session, timeline, position + count, out_frame + count)
            for event in timeline.of_kind("speech"):
                begins = position <= event.start < position + count
                if not (begins or (taken_up and event.start < position < event.end)):
                    continue
                noted_from = max(event.start, position)  # its start, or where it was taken up
                start = at + round((noted_from - position) / out_rate * mic_rate)
                end = start + round((event.end - noted_from) / out_rate * mic_rate)
                listener.spoken.add(start, end, event.text)
                self.detector.gate(start, end, event.text)  # controls heard over it are weighed first
                if begins:  # (a caption once, when the line begins)
                    listener.events.put(f"  “{event.text}”")  # printed by the main thread, not this one
            if any(event.kind == "phase" and event.start < position + count and position < event.end
                   for event in timeline.events):  # (the output callback: no list built)
                until = at + round(count / out_rate * mic_rate)
                tone_heard = (at if tone_heard is None else tone_heard[0], until)
        if tone_heard is not None and tone_heard[1] > self._tone_told_until:
            start, end = tone_heard
            until = end + round(TONE_TOLD_AHEAD_SECONDS * mic_rate)
            tone = session.audio.tone
            self.detector.tone(max(start, self._tone_told_until), until, tone.low_hz, tone.high_hz)
            self._tone_told_until = until
        return block


def hear(
    block: np.ndarray, detector: StreamDetector | DetectorProcess, listener: Listener, answers: AnswerWatcher,
    timing: EchoTiming | None = None, canceller: EchoCanceller | None = None,
) -> list[TimedDetection]:
    """One microphone block through the echo timing (how late our own sound comes back), the echo canceller
    (our sound taken out), the detector, the listener and the answer watcher; the detections it fired (none
    from a DetectorProcess, whose detections come through its on_fired)."""
    if timing is not None:
        timing.heard(detector.samples_fed, block)  # what was really heard: our sound is what it measures by
        if canceller is not None and timing.heard_offset is not None:
            canceller.place(timing.heard_offset)
    if canceller is not None:
        start = detector.samples_fed
        block = canceller.cancel(start, block)
        left = canceller.last_left
        if left is not None:  # (before the block: a control read into what is left of our voice is dropped)
            detector.ours_left(start, start + len(block), left.ours, left.left, left.usual_share)
    fired = detector.feed(block)
    for timed in fired:
        listener.on_detection(timed, detector.rate)
    answers.feed(block, detector.rate)
    return fired


@dataclass(frozen=True)
class ListenOptions:
    """What `grounding listen` was asked for."""

    engine: str | None = None
    model: str | None = None
    input_device: str | int | None = None
    output_device: str | int | None = None
    sample_rate: int = 44100
    speech: bool = True
    language: str = "en"
    voice: str | None = None  # text-to-speech voice; None = the engine's
    words_per_minute: float = 115.0
    volume: float = 1.0  # 0-1
    noise: str | None = None  # "pink", "brown" or None
    tone_low_hz: float = 220.0
    tone_high_hz: float = 330.0
    prefer: Mapping[str, str] = field(default_factory=dict)  # exercise a cue starts -> the one to start instead


CRISIS_SPEECH_WAIT_SECONDS = 3.0  # listening starts once crisis speech is made (about 1 s), or after this long anyway


def run_listen(options: ListenOptions, warn: Callable[[str], None], out) -> int:
    """The main loop: listen, play what is asked for, act on controls and crisis language, until Ctrl-C."""
    from pathlib import Path

    from assistant.library.loader import load_library

    library = load_library(warn=warn, language=options.language)
    # Recognising runs in a child process: pocketsphinx holds the GIL while it decodes, which here would
    # starve the output stream's callback (assistant/speech/detector_process.py).
    detector = DetectorProcess(
        options.engine, Path(options.model) if options.model else None, library.cue_maps, options.language, warn,
    )
    try:
        return _listen(options, warn, out, library, detector)
    finally:
        detector.close()


def _listen(options: ListenOptions, warn: Callable[[str], None], out, library: Library, detector: DetectorProcess) -> int:
    """run_listen once the detector's process is up."""
    import signal

    from assistant.crisis import crisis_exercise, load_resources, screen_text
    from assistant.devices import Microphone, OutputPlayer, resolve_input_device, resolve_output_device
    from assistant.live import RunOptions, SpeechTrouble, render_speech_ahead, session_audio_for
    from assistant.session_audio import prepare

    voice = None
    if options.speech:
        from assistant.speech.voice import CachedVoice, Pyttsx3Voice, VoiceSettings

        voice = CachedVoice(Pyttsx3Voice(VoiceSettings(voice=options.voice, words_per_minute=round(options.words_per_minute))))
    resources = load_resources(warn=warn)
    # The voice is said to be unavailable once, by whichever part finds out first; everything goes on without it.
    trouble = SpeechTrouble(warn)
    from assistant.audio.timeline import TimelineSettings

    # Until its speech is made (below), or if the voice cannot make it, crisis support plays with captions.
    crisis_settings = TimelineSettings(sample_rate=options.sample_rate, words_per_minute=100)
    crisis_audio = prepare(crisis_exercise(resources), None, crisis_settings, warn=warn)
    run_options = RunOptions(
        sample_rate=options.sample_rate, speech=options.speech, noise=options.noise, words_per_minute=options.words_per_minute,
        tone_low_hz=options.tone_low_hz, tone_high_hz=options.tone_high_hz,
    )
    stop = threading.Event()

    def audio_for(exercise_id: str) -> SessionAudio:
        return session_audio_for(library.get(exercise_id), run_options)

    def start_speech(session: Session) -> None:
        if voice is not None:
            threading.Thread(target=render_speech_ahead, args=(session, voice, stop, trouble.report), daemon=True).start()

    def say(line: str) -> None:
        print(line, file=out, flush=True)

    listener: Listener | None = None
    conductor = Conductor(on_end=lambda session: listener.exercise_ended(session) if listener else None, volume=options.volume)
    listener = Listener(
        library, conductor, audio_for, crisis_audio, detector.matcher, say,
        show_crisis=lambda: print(screen_text(resources), file=out, flush=True),
        start_speech=start_speech,
        prefer=options.prefer,
    )
    # Detections arrive on the detector's reader thread, while the main thread hands microphone blocks to
    # the answer watcher: one lock keeps the two from acting on the session at once.
    hear_lock = threading.Lock()

    def on_fired(fired: list[TimedDetection]) -> None:
        with hear_lock:
            for timed in fired:
                listener.on_detection(timed, detector.rate)

    detector.on_fired = on_fired
    detector.on_lost = listener.events.put  # printed by the main thread
    if options.speech:
        # Crisis speech is made now, so it plays even if speech synthesis fails later.
        from assistant.speech.voice import CachedVoice, Pyttsx3Voice, VoiceSettings

        crisis_voice = CachedVoice(Pyttsx3Voice(VoiceSettings(voice=options.voice, words_per_minute=100)))
        crisis_made = threading.Event()

        def make_crisis_speech() -> None:
            spoken = prepare(crisis_exercise(resources), crisis_voice, crisis_settings)
            if spoken.speech_problem is None:
                listener.crisis_audio = spoken
            else:
                trouble.report(
                    "the voice is unavailable, so crisis support and exercises go on with captions and tones "
                    f"(the crisis numbers are shown on screen): {spoken.speech_problem}"
                )
            crisis_made.set()

        threading.Thread(target=make_crisis_speech, name="crisis-speech", daemon=True).start()
        # About a second; a voice that hangs must not hold listening up for long (it gives up after its timeout).
        crisis_made.wait(CRISIS_SPEECH_WAIT_SECONDS)

    answers = AnswerWatcher(conductor)
    mic_rate = detector.rate
    out_rate = options.sample_rate
    pull = OutputFeed(conductor, listener, detector, out_rate)
    # A larger device buffer than `run`: the recognizer shares the CPU, and 0.2 s more before a
    # pause is heard costs little next to a dropout.
    # A lost speaker is reopened for as long as listening goes on, saying so; meanwhile what plays waits where
    # it was, and crisis language still brings the numbers up on screen.
    from assistant.errors import AudioDeviceError

    try:
        player = OutputPlayer(
            pull, sample_rate=out_rate, device=resolve_output_device(options.output_device), latency=0.2,
            recover_seconds=math.inf, notify=listener.events.put,
        )
        player.start()
    except AudioDeviceError:
        # With no sound at all, crisis support cannot be spoken: the numbers go on screen before the error.
        say("There is no sound output, so nothing can be spoken. If you need someone now:")
        say(screen_text(resources))
        raise
    mic = None
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        mic = Microphone(sample_rate=mic_rate, device=resolve_input_device(options.input_device))
        pull.delay_seconds = player.latency_seconds + 4 * 1024 / out_rate
        pull.microphone_frames = lambda: mic.frames_captured
        mic.start()
        input_name = options.input_device if options.input_device is not None else "default input"
        output_name = options.output_device if options.output_device is not None else "default output"
        say(f"Listening with {detector.description}; microphone: {input_name}; speaker: {output_name}.")
        say("Say “I'm spiraling” or “help me breathe” to begin; “stop” ends an exercise. Ctrl-C quits.")
        while not stop.is_set():
            while not listener.events.empty():
                say(listener.events.get())
            change = mic.keep_open()  # a lost microphone is retried for as long as listening goes on
            if change:
                say(change)
            block = mic.read(timeout=0.1)  # short: device notices and retries are looked at between reads
            if block is None:
                continue
            with hear_lock:
                # (the detector's feed only sends; on_fired acts)
                hear(block, detector, listener, answers, pull.timing, pull.canceller)
            while not listener.events.empty():
                say(listener.events.get())
    finally:
        stop.set()
        session = conductor.current
        if session is not None and not session.ended:
            session.stop()
            player.wait(timeout=0.5)
        if mic is not None:
            mic.stop()
        player.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
