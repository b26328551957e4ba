"""Overnight soak: hours of a seeded night pushed through the live listening path, faster than real time.

    python benchmarks/soak.py --hours 8                      # pocketsphinx (or Vosk if an English model is found)
    python benchmarks/soak.py --hours 2 --engine vosk --language ko
    python benchmarks/soak.py --hours 8 --recycle-minutes 60 --seed 5 --echo-db off

What runs is what `grounding listen` runs, with only the sound card replaced:
the recognizer from engines.open_recognizer, the StreamDetector in 0.1 s
blocks, the Listener with its real sessions (a start cue starts an exercise,
controls act on it, crisis language wins), the AnswerWatcher, and
listen.OutputFeed, which notes our own words for the echo check. The
microphone is benchmarks/soak_scene.Scene (corpus speech, silence, household
noise and cues on a seeded timeline) plus what we played ourselves
(EchoPath, --echo-db below the output), and the player is this loop pulling
1024-frame output blocks so the output stays its latency ahead of the
microphone, exactly as the device would. An exercise's speech is rendered by
the real voice before the session's first block (live it is rendered ahead
on a thread; here the loop runs faster than that thread would). One
difference: live, the detector runs in a child process
(assistant/speech/detector_process.py); here it runs in this one, so that the
loop stays in step faster than real time. So the 5 ms thread below now
measures how long the detector's process holds the interpreter, not gaps in
the player (benchmarks/playback.py --listening measures those, live).

Measured: crashes; resident memory every --sample-minutes of audio and its
growth per hour; every detection, scored against the placed cues (a cue is
heard when a detection of its kind, and intent for controls, fires between
its speech start and 4 s after its speech end; a start or crisis detection
outside every cue window is a false start); wall time per 0.1 s block
(stalls); CPU per audio second. Results: a Markdown table on stdout and in
benchmarks/out/soak-*.md, everything in benchmarks/out/soak-*.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import math
import subprocess
import sys
import threading
import time
import traceback
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from assistant.listen import AnswerWatcher, Conductor, Listener, ListenOptions, Mode, OutputFeed, hear  # noqa: E402
from assistant.speech.detector import BLOCK_SECONDS, TimedDetection  # noqa: E402
from assistant.speech.moonshine import MAX_CHILD_MIB  # noqa: E402
from soak_scene import CUE_WINDOW_TAIL_S, RATE, Corpus, EchoPath, Programme, Scene, make_programme  # noqa: E402

DEFAULT_CORPUS = REPO / "benchmarks" / "corpus" / "out"
DEFAULT_OUT = REPO / "benchmarks" / "out"
DEVICE_BLOCK = 1024  # frames the output device asks for at a time
DEVICE_LATENCY_S = 0.2  # `grounding listen` opens its player with latency=0.2


# --- measuring ---------------------------------------------------------------------------------------------


def rss_mib() -> float:
    """Resident set size of this process now (Linux /proc), MiB."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def slope_per_hour(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of (hours, value) points; None with fewer than three."""
    if len(points) < 3:
        return None
    x = np.array([p[0] for p in points])
    y = np.array([p[1] for p in points])
    if np.ptp(x) == 0:
        return None
    return float(np.polyfit(x, y, 1)[0])


def git_state() -> dict:
    def run(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    dirty = run("status", "--porcelain", "--", "assistant", "benchmarks/soak.py", "benchmarks/soak_scene.py")
    return {"commit": run("rev-parse", "--short", "HEAD"), "changed_since_commit": sorted(line.split()[-1] for line in dirty.splitlines())}


# --- the recognizer, recycled on a schedule ------------------------------------------------------------------


class RecyclingRecognizer:
    """A recognizer replaced by a fresh one every `every_seconds` of audio (its stream clock carried over).

    At a recycle the old recognizer is flushed (its last utterance comes out as
    a final, as at a pause) and dropped; end_sample stays the stream's.
    """

    def __init__(self, inner, factory, every_seconds: float):
        self.inner, self.factory, self.every = inner, factory, round(every_seconds * inner.sample_rate)
        self.name, self.sample_rate = inner.name, inner.sample_rate
        self.offset = 0  # stream samples fed to recognizers before the current one
        self.fed = 0  # samples fed to the current one
        self.recycles = 0

    def _shift(self, hypotheses):
        # (dataclasses.replace keeps the second reading and what weighs with it: a new Hypothesis lost them)
        return [dataclasses.replace(h, end_sample=h.end_sample + self.offset) for h in hypotheses]

    def accept(self, samples):
        found = []
        if self.fed >= self.every:
            found += self._shift(self.inner.flush())
            self.inner = None
            gc.collect()
            self.inner = self.factory()
            self.offset += self.fed
            self.fed = 0
            self.recycles += 1
        self.fed += len(samples)
        return found + self._shift(self.inner.accept(samples))

    def flush(self):
        return self._shift(self.inner.flush())

    def reset(self):
        self.inner.reset()


class GilProbe(threading.Thread):
    """A thread that wakes every 5 ms, as an audio callback would, and notes how late each wake-up was.

    A long gap means another thread could not run: the listening loop held the
    interpreter (a C call that keeps the GIL) or the machine did not schedule us.
    """

    def __init__(self, period_s: float = 0.005):
        super().__init__(daemon=True)
        self.period_s = period_s
        self.gaps = np.zeros(0)
        self._gaps: list[float] = []
        self._done = threading.Event()

    def run(self) -> None:
        last = time.perf_counter()
        while not self._done.is_set():
            time.sleep(self.period_s)
            now = time.perf_counter()
            late = now - last - self.period_s
            if late > 0.02:
                self._gaps.append(late)
            last = now

    def finish(self) -> dict:
        self._done.set()
        self.join(timeout=1)
        gaps = np.array(self._gaps)
        return {
            "max_ms": round(float(gaps.max()) * 1000, 1) if len(gaps) else 0.0,
            "over_50_ms": int(np.sum(gaps > 0.05)), "over_100_ms": int(np.sum(gaps > 0.1)),
            "over_player_buffer": int(np.sum(gaps > DEVICE_LATENCY_S + 4 * DEVICE_BLOCK / 44100)),
        }


# --- the listener, watched -----------------------------------------------------------------------------------


class WatchedListener(Listener):
    """The real Listener; each detection is also written down with what the Listener did about it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.log: list[dict] = []

    def on_detection(self, timed: TimedDetection, input_rate: int) -> None:
        d = timed.detection
        before = self.conductor.current
        before_id = before.audio.exercise.id if before is not None and not before.ended else None
        mode = self.mode
        echo = d.kind != "crisis" and self.is_own_echo(timed, input_rate)
        super().on_detection(timed, input_rate)
        after = self.conductor.current
        if d.kind == "crisis":
            outcome = "crisis support" if before_id != "crisis" else "crisis script restarted"
        elif echo:
            outcome = "ignored: own echo"
        elif d.kind == "start":
            outcome = f"started {after.audio.exercise.id}" if after is not None and after is not before else "ignored: playing"
        elif mode is Mode.CRISIS and d.intent == "repeat":
            outcome = "crisis script replayed"
        elif before_id is None:
            outcome = "ignored: nothing playing"
        else:
            outcome = f"{d.intent} {before_id}"
        self.log.append({
            "time_s": round(timed.time_s, 2), "kind": d.kind, "intent": d.intent, "text": d.text,
            "mode": mode.value, "playing": before_id, "outcome": outcome,
        })


# --- the run -------------------------------------------------------------------------------------------------


@dataclass
class SoakOptions:
    hours: float = 8.0
    engine: str | None = None  # None: as `grounding listen` chooses (Vosk with a model, else pocketsphinx)
    model: str | None = None
    language: str = "en"
    seed: int = 1
    recycle_minutes: float | None = None
    corpus: Path = DEFAULT_CORPUS
    echo_db: float | None = -10.0  # our own output at the microphone, dB below what was played; None: no echo
    room_rt60_seconds: float | None = 0.3  # the echo's room (soak_scene.Room); None: a plain delay
    echo_cancel: bool = True  # as `grounding listen` does
    speech: bool = True  # render exercise speech with the real voice, as `listen` does
    sample_minutes: float = 10.0  # memory sampled this often (audio time)
    progress: bool = True


def run_soak(options: SoakOptions) -> dict:
    """The whole soak; returns the report (see `report_markdown`). Never raises for a crash in the loop: it is counted."""
    from assistant.audio.timeline import TimelineSettings
    from assistant.crisis import crisis_exercise, load_resources
    from assistant.library.loader import load_library
    from assistant.live import RunOptions, render_speech_ahead, session_audio_for
    from assistant.session_audio import prepare
    from assistant.speech.engines import make_detector, open_recognizer

    wall_start, cpu_start = time.perf_counter(), time.process_time()
    code = git_state()  # the code this run loads (sphinx.py, cues.yaml... may change while it runs)
    warnings: list[str] = []
    warn = warnings.append
    rss_before_setup = rss_mib()
    listen = ListenOptions(engine=options.engine, model=options.model, language=options.language, speech=options.speech)
    out_rate = listen.sample_rate

    # The same objects run_listen makes.
    library = load_library(warn=warn, language=listen.language)
    model = Path(listen.model) if listen.model else None
    opened = open_recognizer(listen.engine, model, library.cue_maps, listen.language, warn)
    engine = opened.recognizer.name
    if options.recycle_minutes:
        if engine == "vosk":
            opened.recognizer.recycle_after_seconds = options.recycle_minutes * 60  # its own: keeps the model
        else:
            opened.recognizer = RecyclingRecognizer(
                opened.recognizer, lambda: open_recognizer(listen.engine or engine, model, library.cue_maps, listen.language, warn).recognizer,
                options.recycle_minutes * 60,
            )
    detector = make_detector(opened, library.cue_maps)
    voice = crisis_voice = None
    if listen.speech:
        from assistant.speech.voice import CachedVoice, Pyttsx3Voice, VoiceSettings

        voice = CachedVoice(Pyttsx3Voice(VoiceSettings(voice=listen.voice, words_per_minute=round(listen.words_per_minute))))
        crisis_voice = CachedVoice(Pyttsx3Voice(VoiceSettings(voice=listen.voice, words_per_minute=100)))
    resources = load_resources(warn=warn)
    crisis_audio = prepare(
        crisis_exercise(resources), crisis_voice, TimelineSettings(sample_rate=out_rate, words_per_minute=100), warn=warn
    )
    run_options = RunOptions(
        sample_rate=out_rate, speech=listen.speech, noise=listen.noise, words_per_minute=listen.words_per_minute,
        tone_low_hz=listen.tone_low_hz, tone_high_hz=listen.tone_high_hz,
    )
    stop = threading.Event()
    speech_wall = [0.0]
    speech_cpu = [0.0]

    def audio_for(exercise_id: str):
        return session_audio_for(library.get(exercise_id), run_options)

    def start_speech(session) -> None:
        if voice is not None:
            began, began_cpu = time.perf_counter(), time.thread_time()
            render_speech_ahead(session, voice, stop, warn)  # live: on its own thread, well ahead of need
            speech_wall[0] += time.perf_counter() - began
            speech_cpu[0] += time.thread_time() - began_cpu

    lines: deque[tuple[float, str]] = deque(maxlen=400)
    line_count = [0]
    mic_seconds = [0.0]

    speech_noted = [0]

    def say(line: str) -> None:
        line_count[0] += 1
        speech_noted[0] += line.startswith("  “")
        lines.append((round(mic_seconds[0], 1), line))

    crisis_screens = [0]
    listener: WatchedListener | None = None
    playback: list[dict] = []

    def on_end(session) -> None:
        if playback and playback[-1]["end_s"] is None:
            playback[-1].update(end_s=round(mic_seconds[0], 1), how=session.state.value)
        if listener:
            listener.exercise_ended(session)

    conductor = Conductor(on_end=on_end, volume=listen.volume)
    listener = WatchedListener(
        library, conductor, audio_for, crisis_audio, detector.matcher, say,
        show_crisis=lambda: crisis_screens.__setitem__(0, crisis_screens[0] + 1),
        start_speech=start_speech, prefer=listen.prefer,
    )
    answers = AnswerWatcher(conductor)
    feed = OutputFeed(conductor, listener, detector, out_rate)
    feed.delay_seconds = DEVICE_LATENCY_S + 4 * DEVICE_BLOCK / out_rate  # as run_listen sets it once the player runs

    # The night.
    exercise_seconds = {
        ex.id: session_audio_for(ex, RunOptions(sample_rate=RATE, speech=False)).timeline.total_samples / RATE
        for ex in library.exercises.values()
    }
    crisis_seconds = crisis_audio.timeline.total_samples / crisis_audio.sample_rate
    corpus = Corpus(options.corpus)
    programme = make_programme(corpus, options.hours, options.seed, exercise_seconds, crisis_seconds, library.cue_maps, listen.language)
    scene = Scene(programme, corpus, seed=options.seed)
    echo = EchoPath(out_rate, options.echo_db, room_rt60_seconds=options.room_rt60_seconds)
    setup_s = time.perf_counter() - wall_start

    block = round(BLOCK_SECONDS * RATE)
    blocks = programme.total_samples // block
    # Filled (not np.zeros, whose pages would become resident one by one): the harness must not look like growth.
    block_wall = np.full(blocks, 0.0, dtype=np.float32)
    block_cpu = np.full(blocks, 0.0, dtype=np.float32)  # this thread's CPU: what the block cost, whatever else the machine did
    out_wall = np.full(blocks, 0.0, dtype=np.float32)  # of block_wall: the player's pulls (sessions, mixer, echo log)
    echo_db = np.full(blocks, np.nan, dtype=np.float32)  # RMS of our own output at the microphone, per block
    echo_left_db = np.full(blocks, np.nan, dtype=np.float32)  # and of what the echo canceller left of it
    sample_every = max(1, round(options.sample_minutes * 60 / BLOCK_SECONDS))
    memory: list[dict] = []
    harness_cpu = 0.0  # making the microphone's audio: the stand-in for the room, not the assistant
    pulled = 0
    speech_played = 0
    playing_key = None
    crash = None
    done = 0
    loop_wall_start, loop_cpu_start = time.perf_counter(), time.process_time()
    probe = GilProbe()
    probe.start()

    def sample_memory(index: int) -> None:
        cached = sum(c.nbytes for v in (voice, crisis_voice) if v is not None for c in v._clips.values()) / 2**20
        recycles = getattr(opened.recognizer, "recycles", 0)
        # pocketsphinx's second reader (Moonshine) lives in a child process: its size and CPU are not in ours.
        reader = opened.recognizer.reading_costs() if hasattr(opened.recognizer, "reading_costs") else {}
        memory.append({
            "audio_h": round(index * BLOCK_SECONDS / 3600, 4), "wall_s": round(time.perf_counter() - wall_start, 1),
            "rss_mib": round(rss_mib(), 1), "voice_cache_mib": round(cached, 1), "python_objects": len(gc.get_objects()),
            "recycles": recycles, "reader_mib": round(reader.get("resident_mib", 0.0), 1),
            "reader_cpu_s": round(reader.get("cpu_s", 0.0), 1),
            "reader_replacements": int(reader.get("replacements", 0)),
        })
        if options.progress:
            m = memory[-1]
            speed = index * BLOCK_SECONDS / max(1e-9, time.perf_counter() - loop_wall_start)
            print(f"soak: {m['audio_h']:.2f} h of audio, {m['wall_s']:.0f} s wall ({speed:.1f}x real time), "
                  f"RSS {m['rss_mib']:.1f} MiB (voice cache {cached:.1f}), {len(listener.log)} detections",
                  file=sys.stderr, flush=True)

    try:
        for index in range(blocks):
            if index % sample_every == 0:
                sample_memory(index)
            began, began_cpu = time.perf_counter(), time.thread_time()
            speech_before, speech_cpu_before = speech_wall[0], speech_cpu[0]
            # The player: keep the output its latency ahead of what the microphone hears now.
            target = round(((index + 1) * BLOCK_SECONDS + feed.delay_seconds) * out_rate)
            while pulled + DEVICE_BLOCK <= target:
                before_session = conductor.current
                frames_before = before_session.output_frames if before_session is not None else 0
                echo.add(feed(DEVICE_BLOCK))
                pulled += DEVICE_BLOCK
                if before_session is not None:  # the speech OutputFeed should have noted for the echo check
                    speech_played += sum(
                        1 for _, position, count, timeline in before_session.played(frames_before)
                        for e in timeline.of_kind("speech") if position <= e.start < position + count)
                session = conductor.current
                key = (id(session), session.audio.exercise.id) if session is not None and not session.ended else None
                if key != playing_key:
                    heard_at = round(pulled / out_rate - feed.delay_seconds, 1)  # when its first sound reaches the room
                    if playback and playback[-1]["end_s"] is None:
                        playback[-1].update(end_s=heard_at, how="replaced")
                    if key is not None:
                        playback.append({"exercise": key[1], "start_s": heard_at, "end_s": None, "how": None})
                    playing_key = key
            out_done = time.perf_counter()
            # The microphone.
            h0 = time.thread_time()
            mic = room_alone = scene.read(block)
            ours = echo.heard(index)
            if ours is not None:
                mic = mic + ours
                echo_db[index] = 10 * np.log10(float(np.mean(ours.astype(np.float64) ** 2)) + 1e-12)
            pcm = np.clip(np.round(mic * 32767.0), -32768, 32767).astype(np.int16)
            harness = time.thread_time() - h0
            harness_cpu += harness
            mic_done = time.perf_counter()
            mic_seconds[0] = (index + 1) * BLOCK_SECONDS
            # The listening loop's body.
            hear(pcm, detector, listener, answers, feed.timing, feed.canceller if options.echo_cancel else None)
            if ours is not None and options.echo_cancel and feed.canceller.last is not None:
                # what is left of our sound: the canceller's output less the room's own sound (as quantised)
                left = (feed.canceller.last - np.clip(np.round(room_alone * 32767.0), -32768, 32767)) / 32768.0
                echo_left_db[index] = 10 * np.log10(float(np.mean(left**2)) + 1e-12)
            while not listener.events.empty():
                say(listener.events.get())
            ended = time.perf_counter()
            out_wall[index] = out_done - began
            block_wall[index] = (out_done - began) + (ended - mic_done) - (speech_wall[0] - speech_before)
            block_cpu[index] = time.thread_time() - began_cpu - harness - (speech_cpu[0] - speech_cpu_before)
            done = index + 1
        for timed in detector.finish():
            listener.on_detection(timed, detector.rate)
    except Exception:  # a crash is a result, not the end of the report
        crash = traceback.format_exc()
        print(crash, file=sys.stderr)
    sample_memory(done)
    if playback and playback[-1]["end_s"] is None:
        playback[-1].update(end_s=round(done * BLOCK_SECONDS, 1), how="still playing")
    loop_wall = time.perf_counter() - loop_wall_start
    probe_result = probe.finish()
    loop_cpu = time.process_time() - loop_cpu_start
    stop.set()

    return score(
        options=options, engine=engine, description=opened.description, programme=programme,
        detections=listener.log, playback=playback, memory=memory, block_wall=block_wall[:done], block_cpu=block_cpu[:done], out_wall=out_wall[:done],
        echo_db=echo_db[:done], echo_left_db=echo_left_db[:done], echo_lateness_s=list(feed.timing.measured_seconds), done_blocks=done,
        crash=crash, warnings=warnings, setup_s=setup_s, loop_wall=loop_wall, loop_cpu=loop_cpu, harness_cpu=harness_cpu,
        speech_wall=speech_wall[0], total_wall=time.perf_counter() - wall_start, total_cpu=time.process_time() - cpu_start,
        rss_before_setup=rss_before_setup, lines=list(lines), line_count=line_count[0], crisis_screens=crisis_screens[0],
        recycles=getattr(opened.recognizer, "recycles", 0), probe=probe_result, code=code,
        speech_played=speech_played, speech_noted=speech_noted[0],
    )


# --- scoring -------------------------------------------------------------------------------------------------


def _merged(windows: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[list[int]] = []
    for lo, hi in sorted(windows):
        if merged and lo <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    return [(lo, hi) for lo, hi in merged]


def _context(programme: Programme, sample: int, playback: list[dict]) -> str:
    """What the microphone heard around a detection: the ordinary sentence, the noise, or the quiet room."""
    tail = round(CUE_WINDOW_TAIL_S * RATE)
    talk = [i for i in programme.items if i.kind == "ordinary" and i.start <= sample <= i.end + tail]
    noise = [i for i in programme.items if i.kind == "noise" and i.start <= sample <= i.end]
    seconds = sample / RATE
    ours = [p for p in playback if p["start_s"] <= seconds <= (p["end_s"] if p["end_s"] is not None else math.inf)]
    parts = []
    if talk:
        t = talk[-1]
        parts.append(f"talk: \"{t.said_at(sample)}\" ({t.file})")
    if noise:
        parts.append(f"noise: {noise[-1].noise} at {noise[-1].level_dbfs} dBFS")
    if ours:
        parts.append(f"our output: {ours[-1]['exercise']}")
    return "; ".join(parts) or "quiet room"


def score(**r) -> dict:
    options: SoakOptions = r["options"]
    programme: Programme = r["programme"]
    detections: list[dict] = r["detections"]
    audio_s = r["done_blocks"] * BLOCK_SECONDS
    heard_until = r["done_blocks"] * round(BLOCK_SECONDS * RATE)
    cues = [c for c in programme.cues() if c.speech and c.speech[0] < heard_until]
    windows = _merged([c.window() for c in cues])
    cue_window_s = sum(min(hi, heard_until) - lo for lo, hi in windows) / RATE
    no_cue_h = max(1e-9, (audio_s - cue_window_s) / 3600)

    def in_window(sample: int) -> bool:
        return any(lo <= sample <= hi for lo, hi in windows)

    # Cues heard.
    per_kind: dict[str, dict] = {}
    cue_rows = []
    # Crisis language detected beside a start or control cue is as false as any other, but the cue's window
    # keeps it out of the false tally below (session 28: "I'm not a man" read in the babble just after a
    # "speed up" became "i'm not safe", and crisis support replaced the exercise).
    crisis_beside_cues = []
    for cue in cues:
        lo, hi = cue.window()
        near = [d for d in detections if lo <= d["time_s"] * RATE <= hi]
        if cue.kind != "crisis":
            crisis_beside_cues += [{**d, "cue": f"{cue.kind}/{cue.intent}: {cue.text} ({cue.condition})"}
                                   for d in near if d["kind"] == "crisis"]
        if cue.kind == "start":
            hit = [d for d in near if d["kind"] == "start"]
            right = [d for d in hit if d["intent"] == cue.intent]
        elif cue.kind == "control":
            hit = right = [d for d in near if d["kind"] == "control" and d["intent"] == cue.intent]
        else:
            hit = right = [d for d in near if d["kind"] == "crisis"]
        k = per_kind.setdefault(cue.kind, {"placed": 0, "heard": 0, "right_intent": 0, "acted": 0})
        k["placed"] += 1
        k["heard"] += bool(hit)
        k["right_intent"] += bool(right)
        acted = any(not d["outcome"].startswith("ignored") for d in right)
        k["acted"] += acted
        cue_rows.append({
            "time_s": round(cue.speech[0] / RATE, 1), "kind": cue.kind, "intent": cue.intent, "text": cue.text,
            "file": cue.file, "condition": cue.condition, "heard": bool(hit), "right_intent": bool(right), "acted": acted,
            "detections": [f"{d['kind']}/{d['intent']}: {d['text']} -> {d['outcome']}" for d in near],
        })

    # Detections outside every cue window.
    false_rows = []
    for d in detections:
        sample = round(d["time_s"] * RATE)
        if in_window(sample):
            continue
        false_rows.append({**d, "context": _context(programme, sample, r["playback"])})
    false_start = [d for d in false_rows if d["kind"] == "start"]
    false_crisis = [d for d in false_rows if d["kind"] == "crisis"]
    false_control = [d for d in false_rows if d["kind"] == "control"]
    woke = [d for d in false_rows if d["outcome"].startswith("started") or (d["kind"] == "crisis" and d["playing"] is None)]

    # Memory.
    memory = r["memory"]
    warm = 1.0 if audio_s >= 2 * 3600 else audio_s / 3600 / 2
    after_warm = [m for m in memory if m["audio_h"] >= warm]
    growth = slope_per_hour([(m["audio_h"], m["rss_mib"]) for m in after_warm])
    growth_uncached = slope_per_hour([(m["audio_h"], m["rss_mib"] - m["voice_cache_mib"]) for m in after_warm])

    # Stalls.
    walls = r["block_wall"].astype(np.float64)
    slow = np.flatnonzero(walls > BLOCK_SECONDS)
    worst = np.argsort(walls)[::-1][:8]
    cpus = r["block_cpu"].astype(np.float64)
    stalls = {
        "cpu_max_ms": round(float(cpus.max()) * 1000, 1) if len(cpus) else None,
        "cpu_p99_ms": round(float(np.percentile(cpus, 99)) * 1000, 2) if len(cpus) else None,
        "cpu_blocks_over_real_time": int(np.sum(cpus > BLOCK_SECONDS)),
        "cpu_blocks_over_player_buffer": int(np.sum(cpus > DEVICE_LATENCY_S + 4 * DEVICE_BLOCK / 44100)),
        "max_ms": round(float(walls.max()) * 1000, 1) if len(walls) else None,
        "p99_ms": round(float(np.percentile(walls, 99)) * 1000, 2) if len(walls) else None,
        "p999_ms": round(float(np.percentile(walls, 99.9)) * 1000, 2) if len(walls) else None,
        "mean_ms": round(float(walls.mean()) * 1000, 3) if len(walls) else None,
        "blocks_slower_than_real_time": int(len(slow)),
        "worst": [{"time_s": round((i + 1) * BLOCK_SECONDS, 1), "ms": round(float(walls[i]) * 1000, 1), "cpu_ms": round(float(cpus[i]) * 1000, 1),
                   "output_ms": round(float(r["out_wall"][i]) * 1000, 1),
                   "detections": [f"{d['kind']}/{d['intent']} -> {d['outcome']}" for d in detections
                                  if abs(d["time_s"] - (i + 1) * BLOCK_SECONDS) < 0.15]} for i in worst],
    }
    assistant_cpu = r["loop_cpu"] - r["harness_cpu"]
    heard_echo = r["echo_db"][~np.isnan(r["echo_db"])].astype(np.float64)
    # What the canceller took out, over blocks where our sound was heard above the room's quiet: dB of our
    # sound at the microphone less dB of what was left of it.
    audible = ~np.isnan(r["echo_db"]) & ~np.isnan(r["echo_left_db"]) & (r["echo_db"] > -60)
    taken_out = (r["echo_db"][audible] - r["echo_left_db"][audible]).astype(np.float64)
    echo = {
        "db_below_output": options.echo_db,
        "room_rt60_seconds": options.room_rt60_seconds,
        "cancelled": options.echo_cancel,
        "taken_out_db_p50": round(float(np.percentile(taken_out, 50)), 1) if len(taken_out) else None,
        "taken_out_db_p10": round(float(np.percentile(taken_out, 10)), 1) if len(taken_out) else None,
        "taken_out_blocks": int(len(taken_out)),
        "blocks": int(len(heard_echo)),
        "rms_dbfs_p50": round(float(np.percentile(heard_echo, 50)), 1) if len(heard_echo) else None,
        "rms_dbfs_p90": round(float(np.percentile(heard_echo, 90)), 1) if len(heard_echo) else None,
        # how much later than OutputFeed places it our sound was measured to come back (EchoTiming)
        "lateness_measured": len(r["echo_lateness_s"]),
        "lateness_s_p50": round(float(np.median(r["echo_lateness_s"])), 3) if r["echo_lateness_s"] else None,
        "lateness_s_range": [min(r["echo_lateness_s"]), max(r["echo_lateness_s"])] if r["echo_lateness_s"] else None,
    }
    return {
        "command": "python benchmarks/soak.py " + " ".join(sys.argv[1:]) if sys.argv and sys.argv[0].endswith("soak.py") else None,
        "options": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(options).items()},
        "engine": r["engine"], "recognizer": r["description"], "git": r["code"],
        "programme": programme.summary(),
        "audio_hours": round(audio_s / 3600, 3),
        "crashes": 0 if r["crash"] is None else 1, "crash": r["crash"],
        "wall": {
            "total_s": round(r["total_wall"], 1), "setup_s": round(r["setup_s"], 1), "loop_s": round(r["loop_wall"], 1),
            "times_real_time": round(audio_s / max(1e-9, r["loop_wall"]), 1),
            "speech_rendering_s": round(r["speech_wall"], 1),
        },
        "cpu": {
            "total_s": round(r["total_cpu"], 1), "loop_s": round(r["loop_cpu"], 1), "microphone_stand_in_s": round(r["harness_cpu"], 1),
            "per_audio_second": round(assistant_cpu / max(1e-9, audio_s), 4),
            "note": "per_audio_second: loop CPU (recognizer, detector, listener, sessions, mixer, speech rendering) "
                    "without making the microphone's audio",
        },
        "memory": {
            "rss_before_setup_mib": round(r["rss_before_setup"], 1),
            "rss_first_mib": memory[0]["rss_mib"] if memory else None, "rss_last_mib": memory[-1]["rss_mib"] if memory else None,
            "rss_max_mib": max(m["rss_mib"] for m in memory) if memory else None,
            "warm_up_h": round(warm, 2),
            "growth_mib_per_h": None if growth is None else round(growth, 2),
            "growth_without_voice_cache_mib_per_h": None if growth_uncached is None else round(growth_uncached, 2),
            "recycles": r["recycles"],
            "reader_max_mib": max((m.get("reader_mib", 0.0) for m in memory), default=0.0),
            "reader_cpu_s": memory[-1].get("reader_cpu_s", 0.0) if memory else 0.0,
            "reader_replacements": memory[-1].get("reader_replacements", 0) if memory else 0,
            "samples": memory,
        },
        "cues": per_kind,
        "false": {
            "no_cue_hours": round(no_cue_h, 3),
            "starts": len(false_start), "crisis": len(false_crisis), "controls": len(false_control),
            "starts_and_crisis_per_hour": round((len(false_start) + len(false_crisis)) / no_cue_h, 2),
            "controls_per_hour": round(len(false_control) / no_cue_h, 2),
            "woke": len(woke), "woke_per_hour": round(len(woke) / no_cue_h, 2),
            "detections": false_rows,
            "crisis_beside_cues": crisis_beside_cues,
        },
        "stalls": {**stalls, "other_thread_wake_up_late": r["probe"]},
        "speech_events": {"played": r["speech_played"], "noted_for_echo_check": r["speech_noted"]},
        "echo": echo,
        "sessions": {
            "played": len(r["playback"]),
            "by_end": {how: sum(1 for p in r["playback"] if p["how"] == how) for how in sorted({str(p["how"]) for p in r["playback"]})},
            "minutes_of_output": round(sum((p["end_s"] or 0) - p["start_s"] for p in r["playback"]) / 60, 1),
            "crisis_screens": r["crisis_screens"],
            "list": r["playback"],
        },
        "detections_total": len(detections),
        "cue_list": cue_rows,
        "lines_said": r["line_count"], "last_lines": r["lines"][-40:],
        "warnings": sorted(set(r["warnings"]))[:50],
    }


# --- the report ----------------------------------------------------------------------------------------------


def report_markdown(rep: dict) -> str:
    mem, fa, st, cpu, wall = rep["memory"], rep["false"], rep["stalls"], rep["cpu"], rep["wall"]

    def cue(kind: str) -> str:
        c = rep["cues"].get(kind)
        if not c:
            return "none placed"
        extra = f", right exercise {c['right_intent']}" if kind == "start" else ""
        return f"{c['heard']}/{c['placed']} ({100 * c['heard'] / c['placed']:.0f} %){extra}, acted on {c['acted']}"

    def num(value, unit=""):
        return "n/a" if value is None else f"{value}{unit}"

    p = rep["programme"]
    rows = [
        ("audio", f"{rep['audio_hours']} h ({', '.join(f'{k} {v} min' for k, v in p['minutes_by_stretch'].items())}); "
                  f"{p['ordinary_speech_minutes']} min of ordinary speech", ""),
        ("engine", rep["recognizer"], ""),
        ("crashes", str(rep["crashes"]), "0"),
        ("wall time", f"{wall['total_s'] / 60:.1f} min ({wall['times_real_time']}x real time; setup {wall['setup_s']} s)", ""),
        ("CPU per audio second", f"{cpu['per_audio_second']} s (all: {cpu['total_s']} s CPU)", ""),
        ("RSS first → last (max)", f"{mem['rss_first_mib']} → {mem['rss_last_mib']} MiB ({mem['rss_max_mib']})", ""),
        (f"RSS growth after {mem['warm_up_h']} h", num(mem["growth_mib_per_h"], " MiB/h"), "≤ 10 MB/h"),
        ("… without the speech cache", num(mem["growth_without_voice_cache_mib_per_h"], " MiB/h"), ""),
        ("recognizer recycles", str(mem["recycles"]), ""),
        ("second reader's process (Moonshine): largest, CPU", f"{mem.get('reader_max_mib', 0.0)} MiB (replaced past "
                                                              f"{MAX_CHILD_MIB} MiB: {mem.get('reader_replacements', 0)} in all), "
                                                              f"{mem.get('reader_cpu_s', 0.0)} s CPU", ""),
        ("false starts + crisis (no cue near)", f"{fa['starts']} + {fa['crisis']} = {fa['starts_and_crisis_per_hour']}/h "
                                                f"over {fa['no_cue_hours']} h", ""),
        ("… that started sound while quiet", f"{fa['woke']} ({fa['woke_per_hour']}/h)", "0"),
        ("crisis beside a start or control cue (false too)", str(len(fa.get("crisis_beside_cues", []))), "0"),
        ("false controls", f"{fa['controls']} ({fa['controls_per_hour']}/h)", ""),
        ("start cues heard", cue("start"), ""),
        ("control cues heard", cue("control"), ""),
        ("crisis cues heard", cue("crisis"), ""),
        ("sessions played", f"{rep['sessions']['played']} ({', '.join(f'{k} {v}' for k, v in rep['sessions']['by_end'].items())}), "
                            f"{rep['sessions']['minutes_of_output']} min", ""),
        ("longest 0.1 s block, CPU", f"{st['cpu_max_ms']} ms (p99 {st['cpu_p99_ms']} ms); {st['cpu_blocks_over_real_time']} over 100 ms, "
                                      f"{st['cpu_blocks_over_player_buffer']} over the player's 293 ms", "< 100 ms"),
        ("longest 0.1 s block, wall", f"{st['max_ms']} ms (p99 {st['p99_ms']} ms, p99.9 {st['p999_ms']} ms)", ""),
        ("blocks slower than real time (wall)", str(st["blocks_slower_than_real_time"]), "0"),
        ("a 5 ms thread woken late (audio-callback stand-in)", f"max {st['other_thread_wake_up_late']['max_ms']} ms; "
         f"{st['other_thread_wake_up_late']['over_100_ms']} times > 100 ms, {st['other_thread_wake_up_late']['over_player_buffer']} "
         "longer than the player's buffer", "0 longer than the buffer"),
        ("our words noted for the echo check", f"{rep['speech_events']['noted_for_echo_check']} of {rep['speech_events']['played']} played", "all"),
        ("our output at the microphone", "off" if rep["echo"]["db_below_output"] is None else
         f"{rep['echo']['db_below_output']} dB: block RMS p50 {rep['echo']['rms_dbfs_p50']} dBFS, p90 {rep['echo']['rms_dbfs_p90']} dBFS", ""),
        ("our output taken out by the echo canceller", "off" if not rep["echo"].get("cancelled") else
         f"p50 {rep['echo'].get('taken_out_db_p50')} dB, p10 {rep['echo'].get('taken_out_db_p10')} dB over {rep['echo'].get('taken_out_blocks')} blocks (room RT60 {rep['echo'].get('room_rt60_seconds')} s)", ""),
        ("our output's lateness measured (EchoTiming)", f"{rep['echo'].get('lateness_measured', 0)} times; p50 "
         f"{rep['echo'].get('lateness_s_p50')} s, range {rep['echo'].get('lateness_s_range')}", ""),
    ]
    out = ["| figure | value | target |", "|---|---|---|"]
    out += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    out += ["", "| audio h | wall s | RSS MiB | speech cache MiB | Python objects | recycles |", "|---|---|---|---|---|---|"]
    out += [f"| {m['audio_h']:.2f} | {m['wall_s']:.0f} | {m['rss_mib']} | {m['voice_cache_mib']} | {m['python_objects']} | {m['recycles']} |"
            for m in mem["samples"]]
    if fa["detections"]:
        out += ["", "False detections (no cue near):", ""]
        out += [f"- {d['time_s'] / 3600:.2f} h {d['kind']}/{d['intent']} \"{d['text']}\" -> {d['outcome']}; {d['context']}"
                for d in fa["detections"][:40]]
    if fa.get("crisis_beside_cues"):
        out += ["", "Crisis language beside a start or control cue:", ""]
        out += [f"- {d['time_s'] / 3600:.2f} h \"{d['text']}\" -> {d['outcome']}; cue {d['cue']}" for d in fa["crisis_beside_cues"]]
    if rep["crash"]:
        out += ["", "Crash:", "", "```", rep["crash"].rstrip(), "```"]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hours", type=float, default=8.0, help="audio to listen to (default 8)")
    parser.add_argument("--engine", choices=("vosk", "pocketsphinx"), help="default: as `grounding listen` chooses")
    parser.add_argument("--model", help="Vosk model folder")
    parser.add_argument("--language", default="en", help="cue language (ko: the Korean Vosk model; cues synthesised by espeak-ng)")
    parser.add_argument("--seed", type=int, default=1, help="the night's timeline (default 1)")
    parser.add_argument("--recycle-minutes", type=float, help="replace the recognizer after this much audio (Vosk: its KaldiRecognizer)")
    parser.add_argument("--echo-db", default="-10", help="our own output heard at the microphone, dB relative to what is played (default -10); 'off' for none")
    parser.add_argument("--room-rt60", default="0.3", help="the echo's room: seconds for its reflections to die away by 60 dB (default 0.3); 'off' for a plain delay")
    parser.add_argument("--no-echo-cancel", action="store_true", help="our sound is not taken out of what the microphone hears")
    parser.add_argument("--no-speech", action="store_true", help="exercises with tones and captions only")
    parser.add_argument("--sample-minutes", type=float, default=10.0, help="memory sampled every this many minutes of audio (default 10)")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--out", type=Path, help="JSON report (default benchmarks/out/soak-ENGINE-Hh-seedN.json; .md beside it)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    args = parser.parse_args(argv)
    options = SoakOptions(
        hours=args.hours, engine=args.engine, model=args.model, language=args.language, seed=args.seed,
        recycle_minutes=args.recycle_minutes, corpus=args.corpus,
        echo_db=None if args.echo_db.lower() == "off" else float(args.echo_db), speech=not args.no_speech,
        room_rt60_seconds=None if args.room_rt60.lower() == "off" else float(args.room_rt60), echo_cancel=not args.no_echo_cancel,
        sample_minutes=args.sample_minutes, progress=not args.quiet,
    )
    report = run_soak(options)
    out = args.out or DEFAULT_OUT / (
        f"soak-{report['engine']}-{args.hours:g}h-seed{args.seed}" + (f"-recycle{args.recycle_minutes:g}" if args.recycle_minutes else "") + ".json"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    markdown = report_markdown(report)
    out.with_suffix(".md").write_text(markdown, encoding="utf-8")
    print(markdown)
    print(f"wrote {out} and {out.with_suffix('.md')}", file=sys.stderr)
    return 1 if report["crashes"] else 0


if __name__ == "__main__":
    sys.exit(main())
