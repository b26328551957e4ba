"""Private by construction: the everyday commands open no network connection and write nothing of the person's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

# Run a command with every IP socket connect/sendto/bind made to fail loudly and recorded;
# unix sockets (PulseAudio) stay allowed. The record goes to a file so the test can read it.
GUARD = textwrap.dedent(
    """
    import json, os, runpy, socket, sys
    log = os.environ["GROUNDING_NET_LOG"]
    def record(what, address):
        with open(log, "a") as handle:
            handle.write(json.dumps([what, repr(address)]) + "\\n")
        raise OSError("network use is not allowed in this test")
    original_connect, original_sendto = socket.socket.connect, socket.socket.sendto
    def connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            record("connect", address)
        return original_connect(self, address)
    def sendto(self, *args):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            record("sendto", args[-1])
        return original_sendto(self, *args)
    socket.socket.connect, socket.socket.sendto = connect, sendto
    socket.getaddrinfo = lambda *args, **kwargs: record("getaddrinfo", args[:2])
    sys.argv = ["grounding"] + sys.argv[1:]
    runpy.run_module("assistant", run_name="__main__")
    """
)


def run_guarded(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess, list]:
    log = tmp_path / "network.log"
    env = {**os.environ, "GROUNDING_NET_LOG": str(log), "XDG_DATA_HOME": str(tmp_path / "data")}
    result = subprocess.run([sys.executable, "-c", GUARD, *args], capture_output=True, text=True, env=env, timeout=120)
    attempts = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return result, attempts


@pytest.mark.parametrize(
    "args",
    [
        ["list", "--json"],
        ["check"],
        ["render", "breathing-4-7-8", "-o", "{tmp}/out.wav", "--sample-rate", "16000"],
        ["detect", "--text", "I'm spiraling", "--json"],
        ["crisis", "--no-sound"],
    ],
    ids=lambda a: a[0],
)
def test_commands_open_no_network_connection(tmp_path, args):
    """list, check, render (with real speech), detect and crisis run to completion without touching the network."""
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    result, attempts = run_guarded(tmp_path, *args)
    assert attempts == [], attempts
    assert result.returncode == 0, result.stderr


@pytest.mark.integration
def test_detect_on_audio_opens_no_network_connection(tmp_path):
    """Streaming a WAV file through pocketsphinx needs no network either."""
    wav = tmp_path / "cue.wav"
    subprocess.run(["espeak-ng", "-w", str(wav), "help me breathe"], check=True, timeout=60)
    result, attempts = run_guarded(tmp_path, "detect", str(wav), "--engine", "pocketsphinx", "--json")
    assert attempts == [], attempts
    assert result.returncode == 0, result.stderr


@pytest.mark.integration
def test_no_process_of_detect_opens_a_connection_even_from_native_code(tmp_path):
    """strace follows every process and thread (the Moonshine child, onnxruntime, pocketsphinx): nothing is sent.

    The Python guard above cannot see native code or the child process; the kernel's view can. (A library
    may bind a socket to ::1 once to learn whether IPv6 exists, as urllib3 does: loopback, no traffic.)
    """
    import shutil

    if not shutil.which("strace"):
        pytest.skip("strace is not installed (scripts/setup --test installs it)")
    probe = subprocess.run(["strace", "-f", "-qq", "-o", os.devnull, "true"], capture_output=True, text=True, timeout=30)
    if probe.returncode != 0:  # a sandbox that forbids ptrace: the machine's limit, said, not a pass
        pytest.skip(f"strace cannot trace on this machine: {probe.stderr.strip()[:200]}")
    wav = tmp_path / "cue.wav"
    subprocess.run(["espeak-ng", "-w", str(wav), "I can't do this anymore"], check=True, timeout=60)
    trace = tmp_path / "trace.log"
    home = tmp_path / "home"
    home.mkdir()
    # -v: whole environments of execve, to see what the reader's child was started with.
    command = ["strace", "-f", "-qq", "-v", "-s", "256", "-e", "trace=execve,connect,bind,sendto,sendmsg", "-o", str(trace),
               sys.executable, "-m", "assistant", "detect", str(wav), "--engine", "pocketsphinx", "--json"]
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data"), "HOME": str(home)}
    env.pop("XDG_CACHE_HOME", None)
    env.pop("ORT_DISABLE_TELEMETRY", None)  # the code must turn it off itself
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=180)
    assert result.returncode == 0, result.stderr
    assert "Moonshine" in result.stderr  # the second reader really ran, in its own process
    calls = trace.read_text().splitlines()
    reader = [line for line in calls if "execve" in line and "assistant.speech.moonshine" in line]
    assert reader  # it followed the child
    # onnxruntime 1.29+ sends telemetry from Linux unless told not to before it starts: it looked up
    # mobile.events.data.microsoft.com from a background thread (only now and then, so the trace alone
    # cannot be relied on) and wrote ~/.cache/Microsoft/DeveloperTools/.onnxruntime/onnxruntime.db.
    assert all('"ORT_DISABLE_TELEMETRY=1"' in line for line in reader), reader[0][-400:]
    assert [str(path.relative_to(home)) for path in home.rglob("*")] == []  # no cache, no device id, nothing
    sent = [line for line in calls if "AF_INET" in line and ("connect(" in line or "send" in line)]
    bound = [line for line in calls if "AF_INET" in line and "bind(" in line and not ('"::1"' in line or '"127.0.0.1"' in line)]
    assert sent == [] and bound == [], (sent + bound)[:5]


@pytest.mark.integration
@pytest.mark.parametrize(
    "args",
    [["run", "box-breathing", "--no-speech", "--no-pacer"], ["listen", "--engine", "pocketsphinx", "--no-speech"]],
    ids=lambda a: a[0],
)
def test_live_commands_open_no_network_connection(pulse, tmp_path, args):
    """run plays and listen listens (real PulseAudio, real pocketsphinx) for a few seconds, then SIGTERM: no network."""
    import signal
    import time

    from tests.conftest import pulse_server_env

    log = tmp_path / "network.log"
    env = {**os.environ, **pulse_server_env(), "GROUNDING_NET_LOG": str(log), "XDG_DATA_HOME": str(tmp_path / "data")}
    process = subprocess.Popen(
        [sys.executable, "-c", GUARD, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    if args[0] == "listen":  # wait until it really listens (slow on a busy machine), then a few seconds more
        lines = []
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not any("Listening with" in line for line in lines):
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
    time.sleep(4)  # play or listen a while
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=30)
    if args[0] == "listen":
        out = "".join(lines) + out
    attempts = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    assert attempts == [], attempts
    assert process.returncode == 0, err
    assert "Traceback" not in err
    if args[0] == "listen":
        assert "Listening with pocketsphinx" in out, out + err  # it really was listening
    data = tmp_path / "data"
    assert not data.exists() or not any(data.rglob("*")), "nothing of the session is written unless asked"


def test_nothing_of_the_person_is_written(tmp_path):
    """Rendering and detecting leave no audio, transcript or log behind in the user's data folder."""
    run_guarded(tmp_path, "detect", "--text", "I want to kill myself", "--json")
    run_guarded(tmp_path, "render", "box-breathing", "-o", str(tmp_path / "x.wav"), "--no-speech", "--sample-rate", "8000")
    data = tmp_path / "data"
    assert not data.exists() or not any(data.rglob("*"))


def test_yaml_is_loaded_safely(tmp_path):
    """A YAML tag that would run code in an unsafe loader is refused by check, and nothing runs."""
    marker = tmp_path / "pwned"
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"id: !!python/object/apply:os.system ['touch {marker}']\ntitle: x\nkind: grounding\nsteps: [{{say: hi}}]\n")
    result, _ = run_guarded(tmp_path, "check", str(bad))
    assert result.returncode == 1 and "not allowed" in result.stdout
    assert not marker.exists()


def test_the_guard_itself_catches_a_connection(tmp_path):
    """The network guard is not vacuous: a real connection attempt is recorded and refused."""
    log = tmp_path / "network.log"
    probe = GUARD.replace('runpy.run_module("assistant", run_name="__main__")', 'socket.create_connection(("127.0.0.1", 9), timeout=1)')
    env = {**os.environ, "GROUNDING_NET_LOG": str(log)}
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode != 0 and "network use is not allowed" in result.stderr
    assert log.read_text().strip()
