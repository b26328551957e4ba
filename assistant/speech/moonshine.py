"""A second reading of each utterance by Moonshine, an open-vocabulary English recognizer.

pocketsphinx listens through a language model built from the cues, which bends
what it hears toward cue words; on voices its acoustic model fits badly it
turns a crisis sentence into something else. Moonshine (a small
encoder-decoder network run by onnxruntime) hears with no cue list at all, so
its mistakes are different ones: the detector matches both readings of every
final (`Hypothesis.check_text`). The child also weighs other transcripts
against the audio it read last (`fit`) and searches that audio for cue phrases
(`spot`). Measured in benchmarks/README.md.

The model is Moonshine's `base-en`, from inside the `moonshine-cpp` wheel,
run by onnxruntime (moonshine_onnx.py): nothing is downloaded, ever. Until
session 5 it was the `tiny-en` model of the `moonshine-voice` wheel; base
heard 10 more of 54 crisis sentences in the same 300 tune-split utterances.

Moonshine runs in a child process (`python -m assistant.speech.moonshine`):
* its onnxruntime thread works hard for a moment after each utterance; in a
  child at lower priority it cannot hold up the audio player;
* a crash or a hang in native code costs one reading, not the listener;
* should it grow (Moonshine's own libraries keep megabytes per utterance; ours
  measured flat), it is replaced past `MAX_CHILD_MIB`: the new one is started
  first and takes over once its model is loaded, so no utterance goes unread.
"""

from __future__ import annotations

import logging
import os
import re
import select
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Sequence

import numpy as np

from assistant.errors import GroundingError
from assistant.speech.recognizer import Fit

logger = logging.getLogger(__name__)

# onnxruntime 1.29 and later send usage telemetry to Microsoft from Linux too, on by default, and keep a
# device id and an offline cache in ~/.cache/Microsoft/DeveloperTools/.onnxruntime. Found by tracing
# `grounding detect` (session 13): the reader's child looked up mobile.events.data.microsoft.com and wrote
# onnxruntime.db. ORT_DISABLE_TELEMETRY=1, set before onnxruntime starts, turns all of it off (uploader,
# events, device id, cache). Every process here that may load onnxruntime gets it; nobody can turn it on.
ONNXRUNTIME_PRIVATE = {"ORT_DISABLE_TELEMETRY": "1"}
MAX_CHILD_MIB = 1000  # replace the child once it holds this much (measured: 550 to 672 MiB, flat)
LOAD_TIMEOUT_SECONDS = 30.0  # loading the model takes about 1.8 s; this is for a very busy machine
READ_TIMEOUT_SECONDS = 5.0  # an utterance is at most 8 s of audio; a 2-3 s one is read in about 0.2 s
CHILD_NICENESS = 5  # the audio player comes first
_NOT_WORDS = re.compile(r"[^\w\s']+")  # punctuation, "?" before a line, music notes for noise
# A request: what to do, and a sample rate and a count of int16 samples that follow (READ), or 0 and a count
# of UTF-8 bytes of transcripts, one a line, to weigh against the last reading (FIT), or of a shortfall and
# then phrasings, one a line, to spot in it (SPOT), or of paces, one a line, to read it again at (PACED), or
# nothing, to read its loud part again (LOUD).
_REQUEST = struct.Struct("<III")
_READ, _FIT, _SPOT, _PACED, _LOUD = 0, 1, 2, 3, 4
# A reply: payload bytes, the child's resident size in KiB, its CPU seconds; then the payload: UTF-8 text for
# READ and LOUD, one _FIT_REPLY per transcript for FIT, one _SPOT_REPLY and its text's UTF-8 bytes per transcript
# for SPOT, UTF-8 texts one a line for PACED.
_REPLY = struct.Struct("<IId")
_FIT_REPLY = struct.Struct("<?ddI")  # whether the model could say; Fit's logprob, reading_logprob, tokens
_SPOT_REPLY = struct.Struct("<ddII")  # Fit's logprob, reading_logprob, tokens; the text's length in bytes


class ReadingUnavailableError(GroundingError):
    """The second reader could not be loaded; listening goes on with the first reading alone."""


def words_of(text: str) -> str:
    """Moonshine writes sentences ("Again, please."); the matcher wants words, as pocketsphinx gives them.

    Its punctuation is the model's guess, not the speaker's pause, and a comma
    would split "again, please" into two clauses that are no control word.
    """
    return " ".join(_NOT_WORDS.sub(" ", text).split())


# --- the parent's side -------------------------------------------------------------------------------


def child_environment() -> dict[str, str]:
    """The environment for a child of ours (`python -m assistant...`): this process's, with the folder that
    holds the `assistant` package first on PYTHONPATH, so the child imports the same code, and onnxruntime's
    telemetry off (ONNXRUNTIME_PRIVATE), should the child or one of its own load it."""
    package_root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    env.update(ONNXRUNTIME_PRIVATE)
    return env


class _Child:
    """One Moonshine process and its pipes."""

    def __init__(self) -> None:
        env = child_environment()
        # Its complaints go to a nameless file (a pipe nobody drains could fill and stall it): read on failure.
        self._errors = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "assistant.speech.moonshine"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._errors, env=env,
        )
        self.resident_mib = 0.0
        self.cpu_seconds = 0.0

    def wait_ready(self, timeout_s: float) -> None:
        try:
            line = self._read_line(timeout_s)
        except OSError as error:
            self.close()
            raise ReadingUnavailableError(f"Moonshine could not start: {error}") from None
        if line != "ready":
            error = line.partition(" ")[2] if line.startswith("error ") else self._stderr_tail() or "it stopped"
            self.close()
            raise ReadingUnavailableError(f"Moonshine could not start: {error}")

    def read(self, samples: np.ndarray, sample_rate: int, timeout_s: float) -> str:
        payload = self._ask(_REQUEST.pack(_READ, sample_rate, len(samples)) + samples.tobytes(), timeout_s)
        return payload.decode("utf-8", errors="replace")

    def fit(self, texts: Sequence[str], timeout_s: float) -> list[Fit | None]:
        encoded = "\n".join(" ".join(text.split()) for text in texts).encode("utf-8")
        payload = self._ask(_REQUEST.pack(_FIT, 0, len(encoded)) + encoded, timeout_s)
        fits: list[Fit | None] = []
        for offset in range(0, len(payload), _FIT_REPLY.size):
            said, *numbers = _FIT_REPLY.unpack_from(payload, offset)
            fits.append(Fit(*numbers) if said else None)
        return fits

    def spot(self, phrasings: Sequence[str], most_shortfall: float, timeout_s: float) -> list[tuple[str, Fit]]:
        encoded = "\n".join([repr(float(most_shortfall)), *phrasings]).encode("utf-8")
        payload = self._ask(_REQUEST.pack(_SPOT, 0, len(encoded)) + encoded, timeout_s)
        found: list[tuple[str, Fit]] = []
        offset = 0
        while offset < len(payload):
            logprob, reading_logprob, tokens, length = _SPOT_REPLY.unpack_from(payload, offset)
            offset += _SPOT_REPLY.size
            text = payload[offset:offset + length].decode("utf-8", errors="replace")
            offset += length
            found.append((text, Fit(logprob, reading_logprob, tokens)))
        return found

    def read_paced(self, paces: Sequence[float], timeout_s: float) -> list[str]:
        encoded = "\n".join(repr(float(pace)) for pace in paces).encode("utf-8")
        payload = self._ask(_REQUEST.pack(_PACED, 0, len(encoded)) + encoded, timeout_s)
        return payload.decode("utf-8", errors="replace").split("\n")

    def read_loud_part(self, timeout_s: float) -> str:
        return self._ask(_REQUEST.pack(_LOUD, 0, 0), timeout_s).decode("utf-8", errors="replace")

    def _ask(self, request: bytes, timeout_s: float) -> bytes:
        assert self.process.stdin is not None
        self.process.stdin.write(request)
        self.process.stdin.flush()
        length, resident_kib, self.cpu_seconds = _REPLY.unpack(self._read_exactly(_REPLY.size, timeout_s))
        self.resident_mib = resident_kib / 1024
        return self._read_exactly(length, timeout_s)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for pipe in (self.process.stdin, self.process.stdout, self._errors):
            if pipe is not None:
                try:
                    pipe.close()
                except OSError:  # stdin still holding what a dead child never read
                    pass

    def _read_line(self, timeout_s: float) -> str:
        data = b""
        while not data.endswith(b"\n"):
            chunk = self._read_some(1, timeout_s)
            if not chunk:
                break
            data += chunk
        return data.decode("utf-8", errors="replace").strip()

    def _read_exactly(self, count: int, timeout_s: float) -> bytes:
        data = b""
        deadline = time.monotonic() + timeout_s
        while len(data) < count:
            chunk = self._read_some(count - len(data), max(0.0, deadline - time.monotonic()))
            if not chunk:
                raise OSError(f"Moonshine stopped answering ({self._stderr_tail() or 'no reason given'})")
            data += chunk
        return data

    def _read_some(self, count: int, timeout_s: float) -> bytes:
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], timeout_s)
        if not ready:
            raise TimeoutError(f"Moonshine gave no answer within {timeout_s:.0f} s")
        return os.read(self.process.stdout.fileno(), count)

    def _stderr_tail(self) -> str:
        if self.process.poll() is None or self._errors.closed:
            return ""
        self._errors.seek(0)
        lines = self._errors.read().decode("utf-8", errors="replace").strip().splitlines()
        return lines[-1] if lines else ""


class MoonshineReading:
    """Reads one whole utterance at a time: mono int16 audio in, its words without punctuation out."""

    name = "Moonshine base-en"

    def __init__(self, max_child_mib: float = MAX_CHILD_MIB, wait: bool = True) -> None:
        """Starts the child; `wait=False` returns at once (the model loads while the caller does other work)
        and leaves `wait_ready()` to the caller, which raises ReadingUnavailableError if it did not load."""
        self.max_child_mib = max_child_mib
        self.replacements = 0  # children retired for their size, for the soak's report
        self.last_wall_seconds = 0.0  # how long the last reading took, from handing over the audio to the words
        self._retired_cpu_seconds = 0.0
        self._closed = False
        self._child = _Child()
        self._loaded = False
        self._next: _Child | None = None  # a replacement loading its model
        self._next_ready = threading.Event()
        self._read_by: _Child | None = None  # the process that holds the last reading, for `fit`
        if wait:
            self.wait_ready()

    def wait_ready(self) -> None:
        if not self._loaded:
            self._child.wait_ready(LOAD_TIMEOUT_SECONDS)
            self._loaded = True

    def read(self, samples: np.ndarray, sample_rate: int) -> str:
        """The words heard in this utterance ("" when none). Raises OSError if Moonshine fails twice running."""
        audio = np.ascontiguousarray(np.asarray(samples).reshape(-1), dtype=np.int16)
        if len(audio) == 0:
            return ""
        self.wait_ready()
        self._take_over_if_ready()
        began = time.perf_counter()
        try:
            text = self._child.read(audio, sample_rate, READ_TIMEOUT_SECONDS)
        except OSError as error:  # TimeoutError included: one more try with a fresh child, then give up
            logger.warning("Moonshine failed (%s); starting it again", error)
            self._retire(self._start())
            text = self._child.read(audio, sample_rate, READ_TIMEOUT_SECONDS)
        self.last_wall_seconds = time.perf_counter() - began
        self._read_by = self._child
        if self._child.resident_mib > self.max_child_mib and self._next is None:
            self._start_replacement()
        return words_of(text)

    def fit(self, texts: Sequence[str]) -> list[Fit | None]:
        """How well each text fits the audio of the last reading, by Moonshine's model (moonshine_onnx.py);
        None where it cannot say: no reading yet, no words, or the process that read it has been replaced."""
        if not any(text.split() for text in texts):
            return [None] * len(texts)
        return self._ask_reader("fit", "weigh transcripts", [None] * len(texts), texts, READ_TIMEOUT_SECONDS)

    def spot(self, phrasings: Sequence[str], most_shortfall: float) -> list[tuple[str, Fit]]:
        """The likeliest transcripts of the last reading's audio with one of `phrasings` in them, words only,
        each with its Fit, at most `most_shortfall` nats short of Moonshine's own reading (moonshine_onnx.py);
        [] where it cannot say."""
        if not phrasings:
            return []
        found = self._ask_reader("spot", "spot phrases", [], phrasings, most_shortfall, READ_TIMEOUT_SECONDS)
        return [(words_of(text), fit) for text, fit in found]

    def read_paced(self, paces: Sequence[float]) -> list[str]:
        """The last reading's audio read again at each pace (moonshine_onnx.MoonshineOnnx.read_paced), words
        only, one text each; [] where it cannot say. `fit` and `spot` still refer to the reading itself."""
        if not paces:
            return []
        # Each is a whole reading: the time limit is a reading's for each.
        texts = self._ask_reader("read_paced", "read again at other paces", [], paces,
                                 READ_TIMEOUT_SECONDS * len(paces))
        return [words_of(text) for text in texts]

    def read_loud_part(self) -> str:
        """The last reading's loud part read on its own (moonshine_onnx.MoonshineOnnx.read_loud_part), words
        only; "" when that is nearly all of it or it cannot say. `fit` and `spot` still refer to the whole."""
        return words_of(self._ask_reader("read_loud_part", "read the loud part again", "", READ_TIMEOUT_SECONDS))

    def _ask_reader(self, method: str, doing: str, unanswered, *args):
        """The child's `method`(*args) about the last reading; `unanswered` when the process that read it has
        been replaced (or nothing was read), or when it fails, and then it is replaced."""
        if self._read_by is None or self._read_by is not self._child:
            return unanswered
        try:
            return getattr(self._child, method)(*args)
        except OSError as error:
            # A late answer would be taken for the next reading's: this process is done with.
            logger.warning("Moonshine could not %s (%s); starting it again", doing, error)
            self._read_by = None
            self._retire(self._start())
            return unanswered

    @property
    def resident_mib(self) -> float:
        """The child's resident size after its last reading (it is a separate process: not in our own RSS)."""
        return self._child.resident_mib

    @property
    def child_pid(self) -> int:
        """The process reading now (it changes when one is replaced or restarted)."""
        return self._child.process.pid

    @property
    def cpu_seconds(self) -> float:
        """CPU time all children have spent reading so far (not in our own process_time either)."""
        return self._retired_cpu_seconds + self._child.cpu_seconds

    def close(self) -> None:
        self._closed = True
        self._child.close()
        if self._next is not None:
            self._next.close()  # a replacement still loading is stopped, not waited for

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    def _start(self) -> _Child:
        child = _Child()
        child.wait_ready(LOAD_TIMEOUT_SECONDS)
        return child

    def _start_replacement(self) -> None:
        """A new child loads its model on a thread while the old one goes on reading."""
        self._next_ready.clear()
        self._next = _Child()

        def load(child: _Child = self._next) -> None:
            try:
                child.wait_ready(LOAD_TIMEOUT_SECONDS)
            except (ReadingUnavailableError, OSError, ValueError) as error:  # ValueError: close() shut its pipe
                if not self._closed:
                    logger.warning("a fresh Moonshine process did not start (%s); the old one goes on", error)
                child.close()
            self._next_ready.set()

        threading.Thread(target=load, name="moonshine-replacement", daemon=True).start()

    def _take_over_if_ready(self) -> None:
        if self._next is None or not self._next_ready.is_set():
            return
        fresh, self._next = self._next, None
        if fresh.process.poll() is None:
            self._retire(fresh)
            self.replacements += 1

    def _retire(self, successor: _Child) -> None:
        self._retired_cpu_seconds += self._child.cpu_seconds
        self._child.close()
        self._child = successor


# --- the child's side ---------------------------------------------------------------------------------


def _resident_kib() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def _give_back_freed_memory() -> None:
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: its memory stays as it is
        pass


def serve() -> None:
    """Load the model, say "ready", then answer requests on stdin until it closes."""
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    try:  # at least this nice, whatever the parent's niceness (the benchmarks run their workers at it too)
        os.setpriority(os.PRIO_PROCESS, 0, max(CHILD_NICENESS, os.getpriority(os.PRIO_PROCESS, 0)))
    except OSError:
        pass
    try:
        from assistant.audio.resample import resample
        from assistant.speech.moonshine_onnx import SAMPLE_RATE, MoonshineOnnx, find_base_model

        model = MoonshineOnnx(find_base_model())
        model.read(np.zeros(SAMPLE_RATE, dtype=np.float32))  # onnxruntime's first run is slow: not on a real one
        _give_back_freed_memory()  # what loading used on the way (the model a second time, as ONNX)
    except ImportError as error:
        stdout.write(f"error a part Moonshine needs is not installed ({error}); pip install onnxruntime onnx\n".encode())
        stdout.flush()
        return
    except Exception as error:  # a missing model package or file, or onnxruntime's own error type
        stdout.write(f"error {' '.join(str(error).split())}\n".encode())
        stdout.flush()
        return
    stdout.write(b"ready\n")
    stdout.flush()
    while True:
        header = stdin.read(_REQUEST.size)
        if len(header) < _REQUEST.size:
            return  # the parent is gone
        kind, sample_rate, count = _REQUEST.unpack(header)
        if kind == _FIT:
            fits = model.fit(stdin.read(count).decode("utf-8", errors="replace").split("\n"))
            payload = b"".join(
                _FIT_REPLY.pack(False, 0.0, 0.0, 0) if fit is None
                else _FIT_REPLY.pack(True, fit.logprob, fit.reading_logprob, fit.tokens)
                for fit in fits
            )
        elif kind == _SPOT:
            most_shortfall, *phrasings = stdin.read(count).decode("utf-8", errors="replace").split("\n")
            payload = b""
            for text, fit in model.spot(tuple(phrasings), float(most_shortfall)):
                encoded = text.encode("utf-8")
                payload += _SPOT_REPLY.pack(fit.logprob, fit.reading_logprob, fit.tokens, len(encoded)) + encoded
        elif kind == _LOUD:
            payload = " ".join(model.read_loud_part().split()).encode("utf-8")
        elif kind == _PACED:
            paces = tuple(float(line) for line in stdin.read(count).decode("utf-8").split("\n"))
            payload = "\n".join(" ".join(text.split()) for text in model.read_paced(paces)).encode("utf-8")
        else:
            samples = np.frombuffer(stdin.read(count * 2), dtype=np.int16).astype(np.float32) / 32768.0
            if sample_rate != SAMPLE_RATE:
                samples = resample(samples, sample_rate, SAMPLE_RATE)
            payload = model.read(samples).encode("utf-8")
        stdout.write(_REPLY.pack(len(payload), _resident_kib(), time.process_time()) + payload)
        stdout.flush()


if __name__ == "__main__":
    serve()
