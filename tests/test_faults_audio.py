"""Faults on the real audio path: the speaker or the microphone goes away mid-session, the voice hangs.

Each test runs `grounding` as a person would, against a PulseAudio server of
its own (started here, stopped after): unloading a sink there cannot disturb
other tests on the shared server. Its daemon.conf turns off stream rescue and
its default sink is a decoy, so a stream whose sink is unloaded really dies,
as it does when a USB headset is pulled out and nothing takes its place,
instead of being moved quietly to another sink. Times are measured from the
moment the test pulls the device to what the program says and does, and
printed (pytest -s shows them).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from tests.play_helper import RATE, MonitorRecorder, best_local_lag

pytestmark = pytest.mark.integration

ONE_S16_STEP = 1 / 32768


class PrivatePulse:
    """A PulseAudio server for one test: its own socket, a decoy default sink, no stream rescue."""

    def __init__(self) -> None:
        if shutil.which("pulseaudio") is None or shutil.which("pactl") is None:
            pytest.fail("the fault tests need pulseaudio and pactl (apt-get install pulseaudio pulseaudio-utils)")
        # A short path: the socket's path must fit in 108 bytes.
        self.folder = Path(tempfile.mkdtemp(prefix="gpa-"))
        (self.folder / "daemon.conf").write_text("rescue-streams = no\nexit-idle-time = -1\n")
        self.server = f"unix:{self.folder}/native"
        env = {
            **os.environ, "PULSE_CONFIG": str(self.folder / "daemon.conf"), "PULSE_RUNTIME_PATH": str(self.folder),
            "PULSE_STATE_PATH": str(self.folder), "HOME": str(self.folder),
        }
        self.log = open(self.folder / "log", "w")
        self.process = subprocess.Popen(
            ["pulseaudio", "-n", "--daemonize=no", "--use-pid-file=no", "--disallow-exit", "--exit-idle-time=-1",
             "-L", f"module-native-protocol-unix socket={self.folder}/native auth-anonymous=1",
             "-L", "module-null-sink sink_name=decoy"],
            env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 10
        while subprocess.run(["pactl", "info"], env=self.env(), capture_output=True).returncode != 0:
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.stop()
                pytest.fail(f"the private PulseAudio server did not start: {(self.folder / 'log').read_text()}")
            time.sleep(0.05)
        self.pactl("set-default-sink", "decoy")
        self.pactl("set-default-source", "decoy.monitor")

    def env(self) -> dict[str, str]:
        return {**os.environ, "PULSE_SERVER": self.server}

    def pactl(self, *args: str) -> str:
        return subprocess.run(["pactl", *args], env=self.env(), capture_output=True, text=True, check=True).stdout

    def load_sink(self, name: str, rate: int = RATE, channels: int = 2, sample_format: str = "float32le") -> str:
        """A null sink (its monitor is a source); returns the module to unload."""
        return self.pactl(
            "load-module", "module-null-sink", f"sink_name={name}", f"rate={rate}", f"channels={channels}",
            f"format={sample_format}",
        ).strip()

    def unload(self, module: str) -> None:
        self.pactl("unload-module", module)

    def streams_on(self, sink: str) -> int:
        """How many playback streams the sink has now."""
        sinks = {line.split("\t")[1]: line.split("\t")[0] for line in self.pactl("list", "short", "sinks").splitlines()}
        if sink not in sinks:
            return 0
        return sum(line.split("\t")[1] == sinks[sink] for line in self.pactl("list", "short", "sink-inputs").splitlines())

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture
def pulse_server(monkeypatch):
    server = PrivatePulse()
    monkeypatch.setenv("PULSE_SERVER", server.server)  # parec in MonitorRecorder inherits it
    try:
        yield server
    finally:
        server.stop()


class Lines:
    """Collects a process's output lines on a thread, with the time each arrived."""

    def __init__(self, stream):
        self.lines: list[tuple[float, str]] = []
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream) -> None:
        for line in stream:
            self.lines.append((time.monotonic(), line.rstrip("\n")))

    def text(self) -> str:
        return "\n".join(line for _, line in self.lines)

    def count(self, text: str) -> int:
        return sum(text in line for _, line in self.lines)

    def wait_for(self, text: str, seconds: float, after: float = 0.0) -> float:
        """When the first line holding `text` (arriving after `after`) came; fails after `seconds`."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for arrived, line in list(self.lines):
                if arrived >= after and text in line:
                    return arrived
            time.sleep(0.02)
        raise AssertionError(f"{text!r} never appeared; output was:\n{self.text()}")


def grounding(env: dict[str, str], *args: str) -> tuple[subprocess.Popen, Lines]:
    """`python -m assistant ARGS` with stdout and stderr merged into one timed line reader."""
    process = subprocess.Popen(
        [sys.executable, "-m", "assistant", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    return process, Lines(process.stdout)


def finish(process: subprocess.Popen, out: Lines) -> int:
    """SIGTERM (a person's Ctrl-C), then the exit code."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise AssertionError(f"it did not end on SIGTERM; output was:\n{out.text()}") from None


def base_env(server: PrivatePulse, home: Path, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("GROUNDING_", "PULSE_"))}
    env.update(
        PULSE_SERVER=server.server, XDG_CONFIG_HOME=str(home / "config"), XDG_DATA_HOME=str(home / "data"),
        PYTHONPATH=os.pathsep.join(filter(None, [str(Path(__file__).resolve().parents[1]), os.environ.get("PYTHONPATH")])),
    )
    env.update(extra)
    return env


def assert_no_traceback(out: Lines) -> None:
    assert "Traceback" not in out.text(), out.text()
    assert "Expression '" not in out.text(), "PortAudio's own lines reached the screen:\n" + out.text()


def sound_arrived(recorder: MonitorRecorder, level: float = 0.01) -> bool:
    data = b"".join(chunk for _, chunk in list(recorder._chunks))
    samples = np.frombuffer(data[: len(data) // 4 * 4], dtype=np.float32)
    return samples.size > 0 and float(np.abs(samples).max()) > level


def wait_until(condition, seconds: float, what: str) -> float:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {seconds} s")
        time.sleep(0.02)
    return time.monotonic()


def render_reference(exercise_id: str, noise: str, seconds: float) -> np.ndarray:
    """The first `seconds` of the exercise as `run --no-speech --noise NOISE` plays it: the timeline live play must follow."""
    from assistant.audio.timeline import TimelineSettings
    from assistant.audio.tones import ToneSettings
    from assistant.library.loader import load_library
    from assistant.session_audio import prepare

    tone = ToneSettings(noise=noise)
    mixer = prepare(load_library().get(exercise_id), None, TimelineSettings(sample_rate=RATE), tone=tone).mixer
    return mixer.render(0, min(mixer.total_samples, round(seconds * RATE)))


def test_run_reopens_a_lost_speaker_and_carries_on_from_the_same_sample(pulse_server, tmp_path):
    """`grounding run`: the sink it plays into is unloaded; it says so at once, reopens it when it returns and goes on from where the timeline was."""
    server = pulse_server
    module = server.load_sink("speaker")
    before = MonitorRecorder("speaker")
    before.wait_until_flowing()
    # The pink noise bed makes every second of the session unlike the others, so a recording can be placed on the timeline.
    env = base_env(server, tmp_path, PULSE_SINK="speaker")
    process, out = grounding(env, "run", "resonance-6", "--no-speech", "--no-pacer", "--noise", "pink")
    try:
        wait_until(lambda: sound_arrived(before), 30, "the session's first sound")
        time.sleep(2.0)
        pulled = time.monotonic()
        server.unload(module)
        lost = out.wait_for("Sound output lost", 5, after=pulled)
        time.sleep(0.5)  # away for a while: the reopen attempts fail meanwhile
        returned = time.monotonic()
        server.load_sink("speaker")
        after = MonitorRecorder("speaker")  # a new null sink starts consuming after 2 s: this hears the stream's first sample
        reattached = wait_until(lambda: server.streams_on("speaker") > 0, 5, "a new stream on the returned speaker")
        back = out.wait_for("Sound output is back", 5, after=returned)
        after.wait_until_flowing(seconds=0.5, timeout=15)
        assert process.poll() is None, out.text()
    finally:
        code = finish(process, out)
        recording_before = before.stop(after_seconds=0.0)[:, 0]
        recording_after = after.stop(after_seconds=0.5)[:, 0] if "after" in locals() else None
    print(
        f"speaker unloaded -> 'lost' said in {lost - pulled:.2f} s; speaker back -> stream reattached in "
        f"{reattached - returned:.2f} s, 'back' said in {back - returned:.2f} s"
    )
    assert lost - pulled < 2.0 and back - returned < 2.0 and reattached - returned < 2.0
    assert code == 0 and "stopped after" in out.text(), out.text()
    assert out.count("Sound output lost") == 1 and out.count("Sound output is back") == 1
    assert_no_traceback(out)

    # Where the session was when the speaker went, and where it went on from, in timeline samples: the
    # last quarter second heard before, and the first heard after, placed on the offline render.
    reference = render_reference("resonance-6", "pink", len(recording_before) / RATE + 5)
    piece = RATE // 4
    # The recording began before the program did, so the piece lies at most 6 s before its own place in it.
    search = min(3 * RATE, (len(recording_before) - piece) // 2)
    guess = len(recording_before) - piece - search
    ended = guess + best_local_lag(reference, recording_before[-piece:], guess, search) + piece
    onset = int(np.flatnonzero(np.abs(recording_after) > 1e-6)[0])
    first_after = recording_after[onset : onset + piece]
    resumed = ended + RATE + best_local_lag(reference, first_after, ended + RATE, 2 * RATE)
    print(
        f"heard up to {ended / RATE:.3f} s of the timeline; after the reopen it went on from {resumed / RATE:.3f} s "
        f"({(resumed - ended) / RATE * 1000:.0f} ms that were in the lost device's buffer)"
    )
    assert np.abs(recording_before[-piece:] - reference[ended - piece : ended]).max() <= ONE_S16_STEP
    assert np.abs(first_after - reference[resumed : resumed + piece]).max() <= ONE_S16_STEP, "not the timeline after the reopen"
    assert 0 <= resumed - ended < 0.5 * RATE  # neither back to the start nor skipping ahead


# -- grounding listen: microphone and speaker pulled out and put back --------------------------------


def synthesise(text: str, path: Path) -> Path:
    from tests.test_listen_pulse import synthesise as speech

    speech(text, path)
    return path


def say_into(sink: str, wav: Path) -> None:
    """Play a WAV into the sink whose monitor is the pretend microphone (PULSE_SERVER is the private server)."""
    subprocess.run(["paplay", f"--device={sink}", str(wav)], check=True, timeout=30)


def loud_since(recorder: MonitorRecorder, since: float) -> float:
    data = b"".join(chunk for arrived, chunk in list(recorder._chunks) if arrived >= since)
    samples = np.frombuffer(data[: len(data) // 4 * 4], dtype=np.float32)
    return float(np.abs(samples).max()) if samples.size else 0.0


def test_listen_keeps_going_when_the_microphone_and_the_speaker_go_away(pulse_server, tmp_path):
    """`grounding listen`: the microphone's source and then the speaker are unloaded; it says so, retries, and once
    both are back it hears crisis language and the crisis script plays on the returned speaker."""
    server = pulse_server
    crisis_wav = synthesise("I want to kill myself.", tmp_path / "crisis.wav")
    speaker = server.load_sink("speaker")
    mic = server.load_sink("mic")
    env = base_env(server, tmp_path, PULSE_SINK="speaker", PULSE_SOURCE="mic.monitor")
    process, out = grounding(env, "listen", "--engine", "pocketsphinx")
    try:
        out.wait_for("Listening with", 60)

        pulled = time.monotonic()
        server.unload(mic)
        mic_lost = out.wait_for("Microphone lost", 5, after=pulled)
        time.sleep(1.5)  # several attempts fail while it is away
        assert process.poll() is None, out.text()
        returned = time.monotonic()
        server.load_sink("mic")
        mic_back = out.wait_for("Microphone is back", 5, after=returned)

        pulled_speaker = time.monotonic()
        server.unload(speaker)
        speaker_lost = out.wait_for("Sound output lost", 5, after=pulled_speaker)
        time.sleep(0.5)
        speaker_returned = time.monotonic()
        server.load_sink("speaker")
        recorder = MonitorRecorder("speaker")
        speaker_back = out.wait_for("Sound output is back", 5, after=speaker_returned)
        recorder.wait_until_flowing(seconds=0.3, timeout=15)  # also lets the new microphone's monitor start
        assert loud_since(recorder, 0) < 1e-3, "the idle speaker should be silent"

        spoken = time.monotonic()
        say_into("mic", crisis_wav)
        heard = out.wait_for("988", 10, after=spoken)  # the crisis resources on screen
        crisis_sound = wait_until(lambda: loud_since(recorder, heard) > 0.05, 10, "crisis speech on the returned speaker")
        assert process.poll() is None, out.text()
    finally:
        code = finish(process, out)
        if "recorder" in locals():
            recorder.stop(after_seconds=0.0)
    print(
        f"microphone unloaded -> 'lost' said in {mic_lost - pulled:.2f} s, back -> 'back' in {mic_back - returned:.2f} s; "
        f"speaker unloaded -> 'lost' in {speaker_lost - pulled_speaker:.2f} s, back -> 'back' in "
        f"{speaker_back - speaker_returned:.2f} s; crisis phrase played -> numbers on screen {heard - spoken:.2f} s "
        f"(the phrase itself included), crisis speech heard {crisis_sound - heard:.2f} s after"
    )
    assert mic_lost - pulled < 2.0 and mic_back - returned < 2.0
    assert speaker_lost - pulled_speaker < 2.0 and speaker_back - speaker_returned < 2.0
    assert out.count("Microphone lost") == 1 and out.count("Sound output lost") == 1
    assert code == 0, out.text()
    assert_no_traceback(out)


# -- the voice fails: a stand-in pyttsx3 that speaks a 1 kHz tone, or hangs or raises when told -------------

FAKE_PYTTSX3 = '''\
"""A stand-in for pyttsx3 in the fault tests: each text becomes a 1 kHz tone, until the engine breaks.

FAKE_TTS_BREAK: "hang" (runAndWait never returns) or "raise" (runAndWait raises).
FAKE_TTS_SWITCH: if set, the engine works until a file at this path exists; if not, it is broken from the start.
FAKE_TTS_MARK: a file to write time.monotonic() to the first time the engine breaks.
"""
import math, os, struct, threading, time, wave

_engine = None


class _Voice:
    id = "fake"
    name = "fake voice"


class _Engine:
    driver_name = "fake"

    def __init__(self):
        self._callbacks = {}
        self._properties = {"voice": "fake", "rate": 200, "voices": [_Voice()], "volume": 1.0}
        self._queued = []

    def connect(self, topic, callback):
        self._callbacks.setdefault(topic, []).append(callback)
        return (topic, callback)

    def disconnect(self, token):
        topic, callback = token
        self._callbacks.get(topic, []).remove(callback)

    def getProperty(self, name):
        return self._properties[name]

    def setProperty(self, name, value):
        self._properties[name] = value

    def isBusy(self):
        return False

    def save_to_file(self, text, path):
        self._queued.append((text, path))

    def runAndWait(self):
        switch = os.environ.get("FAKE_TTS_SWITCH")
        if self._queued and (not switch or os.path.exists(switch)):
            mark = os.environ.get("FAKE_TTS_MARK")
            if mark and not os.path.exists(mark):
                with open(mark, "w") as handle:
                    handle.write(repr(time.monotonic()))
            self._queued.clear()
            if os.environ.get("FAKE_TTS_BREAK") == "hang":
                threading.Event().wait()
            raise RuntimeError("the fake speech engine broke")
        for text, path in self._queued:
            rate = 22050
            count = max(int(0.3 * rate), int(0.05 * rate * len(text)))
            frames = b"".join(
                struct.pack("<h", int(16000 * math.sin(2 * math.pi * 1000 * i / rate))) for i in range(count)
            )
            with wave.open(path, "wb") as out:
                out.setnchannels(1)
                out.setsampwidth(2)
                out.setframerate(rate)
                out.writeframes(frames)
            for callback in self._callbacks.get("finished-utterance", []):
                callback(name=text, completed=True)
        self._queued.clear()


def init(driverName=None, debug=False):
    global _engine
    if _engine is None:
        _engine = _Engine()
    return _engine
'''


@pytest.fixture
def fake_voice(tmp_path):
    """A folder holding the stand-in pyttsx3, to put first on PYTHONPATH."""
    folder = tmp_path / "fake-pyttsx3"
    (folder / "pyttsx3").mkdir(parents=True)
    (folder / "pyttsx3" / "__init__.py").write_text(FAKE_PYTTSX3)
    return folder


def with_fake_voice(env: dict[str, str], folder: Path, **settings: str) -> dict[str, str]:
    return {**env, "PYTHONPATH": os.pathsep.join([str(folder), env["PYTHONPATH"]]), **settings}


def first_words(exercise_id: str) -> str:
    from assistant.library.loader import load_library
    from assistant.session_audio import spoken_texts

    return spoken_texts(load_library().get(exercise_id))[0]


def test_run_goes_on_with_tones_and_captions_when_the_voice_hangs(pulse_server, fake_voice, tmp_path):
    """`grounding run` with a voice that hangs: captions within 1 s of the hang, sound follows, one notice, exit 0."""
    server = pulse_server
    server.load_sink("speaker")
    recorder = MonitorRecorder("speaker")
    recorder.wait_until_flowing()
    mark = tmp_path / "hung-at"
    env = with_fake_voice(
        base_env(server, tmp_path, PULSE_SINK="speaker"), fake_voice, FAKE_TTS_BREAK="hang", FAKE_TTS_MARK=str(mark),
    )
    process, out = grounding(env, "run", "physiological-sigh", "--no-pacer")
    try:
        notice = out.wait_for("has not answered", 30)
        hung = float(mark.read_text())
        first_caption = out.wait_for(first_words("physiological-sigh"), 5)
        # The hung voice gives up after its own timeout (10 s): it must not be said a second time.
        wait_until(lambda: sound_arrived(recorder), 20, "the breath tone")
        time.sleep(max(0.0, hung + 11.0 - time.monotonic()))
        assert process.poll() is None, out.text()
    finally:
        code = finish(process, out)
        recorder.stop(after_seconds=0.0)
    print(f"voice hung -> notice {notice - hung:.2f} s, first caption {first_caption - hung:.2f} s")
    assert first_caption - hung < 1.0 and notice - hung < 1.0
    assert out.count("the voice") == 1, out.text()
    assert code == 0 and "stopped after" in out.text(), out.text()
    assert_no_traceback(out)


def test_listen_goes_on_and_crisis_speech_plays_when_the_voice_breaks_after_start_up(pulse_server, fake_voice, tmp_path):
    """`grounding listen`, voice breaking after start-up: the exercise goes on in captions and sound, one notice,
    and the crisis script made at start-up is still spoken."""
    server = pulse_server
    cue_wav = synthesise("I'm spiraling.", tmp_path / "cue.wav")
    crisis_wav = synthesise("I want to kill myself.", tmp_path / "crisis.wav")
    server.load_sink("speaker")
    server.load_sink("mic")
    recorder = MonitorRecorder("speaker")
    recorder.wait_until_flowing()
    switch = tmp_path / "break-the-voice"
    env = with_fake_voice(
        base_env(server, tmp_path, PULSE_SINK="speaker", PULSE_SOURCE="mic.monitor"), fake_voice,
        FAKE_TTS_BREAK="raise", FAKE_TTS_SWITCH=str(switch),
    )
    process, out = grounding(env, "listen", "--engine", "pocketsphinx", "--noise", "pink")
    try:
        out.wait_for("Listening with", 60)
        switch.touch()  # from now on every text the voice is asked for fails
        time.sleep(1.0)
        say_into("mic", cue_wav)
        started = out.wait_for("Starting", 10)
        caption = out.wait_for("  “", 5, after=started)
        notice = out.wait_for("voice is unavailable", 5, after=started)
        wait_until(lambda: loud_since(recorder, started) > 0.002, 10, "the exercise's noise bed")
        time.sleep(1.0)
        spoken = time.monotonic()
        say_into("mic", crisis_wav)
        heard = out.wait_for("988", 10, after=spoken)
        time.sleep(6.0)  # the crisis script's first lines
        assert process.poll() is None, out.text()
    finally:
        code = finish(process, out)
        recorder.stop(after_seconds=0.0)
    print(f"cue -> first caption {caption - started:.2f} s after 'Starting', voice notice {notice - started:.2f} s")
    assert caption - started < 1.0
    assert out.count("voice is unavailable") == 1, out.text()
    # The crisis script's words were made at start-up by the voice (a 1 kHz tone here): they play after it broke.
    data = b"".join(chunk for arrived, chunk in recorder._chunks if arrived > heard)
    after_crisis = np.frombuffer(data[: len(data) // 8 * 8], dtype=np.float32)[0::2]  # left channel
    spectrum = np.abs(np.fft.rfft(after_crisis))
    frequencies = np.fft.rfftfreq(len(after_crisis), 1 / RATE)
    audible = frequencies > 100  # above any rumble
    strongest = frequencies[audible][np.argmax(spectrum[audible])]
    print(f"after the crisis phrase: strongest frequency {strongest:.0f} Hz, peak {np.abs(after_crisis).max():.2f}")
    assert abs(strongest - 1000) < 5 and float(np.abs(after_crisis).max()) > 0.2
    assert code == 0, out.text()
    assert_no_traceback(out)
