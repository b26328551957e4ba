"""Spoken prompts as numpy clips: pyttsx3 (espeak-ng on Linux) on one worker thread, plus a cache.

pyttsx3 is imported lazily, inside the worker, so `import assistant` works without it.
"""

from __future__ import annotations

import concurrent.futures
import logging
import os
import queue
import sys
import tempfile
import threading
import time
import weakref
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Protocol

import numpy as np

from assistant.audio.resample import resample
from assistant.audio.wavio import read_wav
from assistant.errors import AudioFileError, SpeechUnavailableError

logger = logging.getLogger(__name__)

_SILENCE_THRESHOLD_DBFS = -50.0
_LEAD_SECONDS = 0.010  # kept before the first sound, so the fade never touches the onset
_TAIL_SECONDS = 0.050  # kept after the last sound, so the decay of the last word survives
_FADE_SECONDS = 0.008  # raised-cosine edges: the clip starts and ends at exactly 0, no click
_PEAK_LEVEL = 0.5  # about -6 dBFS: leaves headroom when mixed over the breath tone
_CLOSE_WAIT_SECONDS = 2.0

# Below this espeak-ng does not slow down further: it silently falls back to its default 175 wpm.
_ESPEAK_SLOWEST_WPM = 80
# Measured on the bundled scripts (benchmarks/README.md): with leading and trailing silence
# trimmed, espeak-ng speaks about 1.15x the rate it is given (100 -> 115 words a minute).
# Dividing by this makes `words_per_minute` mean the pace a listener actually hears.
_ESPEAK_PACE_FACTOR = 1.15

_ADVICE = "install espeak-ng (`apt-get install espeak-ng`) or run with --no-speech"


@dataclass(frozen=True)
class VoiceSettings:
    """How prompts are spoken."""

    voice: str | None = None  # pyttsx3 voice id or name substring; None = engine default
    words_per_minute: int = 115  # guidance pace: 100-130 wpm; espeak-ng's default is far too fast
    timeout_seconds: float = 10.0  # a synthesis that takes longer is treated as a failure

    def __post_init__(self) -> None:
        if self.words_per_minute <= 0:
            raise ValueError(f"words_per_minute must be positive, got {self.words_per_minute}")
        if self.timeout_seconds <= 0:
            raise ValueError(f"timeout_seconds must be positive, got {self.timeout_seconds}")


class Voice(Protocol):
    """Anything that turns text into a mono clip at a given sample rate."""

    def render(self, text: str, sample_rate: int) -> np.ndarray:
        """Float32 mono clip of `text` spoken; raises SpeechUnavailableError."""
        ...


def _make_pyttsx3_engine() -> Any:
    """The real engine; imported here so only a voice that is used needs pyttsx3."""
    try:
        import pyttsx3
    except ImportError as error:
        raise SpeechUnavailableError(
            f"Text-to-speech is not available: pyttsx3 is not installed ({error}); "
            "install it (`pip install pyttsx3`) or run with --no-speech."
        ) from error
    try:
        return pyttsx3.init()
    except Exception as error:  # pyttsx3 raises whatever its driver raised (OSError, RuntimeError, ...)
        raise SpeechUnavailableError(
            f"Text-to-speech could not start ({type(error).__name__}: {error}); {_ADVICE}."
        ) from error


@dataclass
class _Request:
    """One synthesis job for the worker; the future carries back (samples, sample_rate)."""

    text: str
    settings: VoiceSettings
    future: concurrent.futures.Future


class Pyttsx3Voice:
    """Renders text to numpy buffers with pyttsx3 (espeak-ng on Linux), one engine on one dedicated worker thread."""

    def __init__(
        self,
        settings: VoiceSettings = VoiceSettings(),
        engine_factory: Callable[[], Any] = _make_pyttsx3_engine,
    ) -> None:
        # `settings` may be replaced while running (e.g. "slower"); each render uses the current value.
        self.settings = settings
        self._engine_factory = engine_factory
        self._requests: queue.Queue[_Request | None] = queue.Queue()
        self._worker: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._broken_reason: SpeechUnavailableError | None = None
        self._closed = False

    def render(self, text: str, sample_rate: int) -> np.ndarray:
        """Float32 mono clip of `text`: trimmed, faded, peak about -6 dBFS, at `sample_rate` hertz."""
        if self._closed:
            raise RuntimeError("render() called on a closed Pyttsx3Voice")
        if not text or not text.strip():
            return np.zeros(0, dtype=np.float32)
        if self._broken_reason is not None:
            # Fail fast: queueing behind a hung engine would only hang this caller too.
            raise SpeechUnavailableError(str(self._broken_reason))

        settings = self.settings
        request = _Request(text=text, settings=settings, future=concurrent.futures.Future())
        self._ensure_worker()
        self._requests.put(request)
        try:
            raw_samples, raw_rate = request.future.result(timeout=settings.timeout_seconds)
        except concurrent.futures.TimeoutError:
            request.future.cancel()
            self._broken_reason = SpeechUnavailableError(
                f"Text-to-speech did not answer within {settings.timeout_seconds:g} s; {_ADVICE}."
            )
            # Logged quietly: the caller says it once, in words for people (SpeechUnavailableError).
            logger.info("pyttsx3 hung on %r; speech is off for this voice", text)
            raise SpeechUnavailableError(str(self._broken_reason)) from None
        return shape_prompt(raw_samples, raw_rate, sample_rate)

    def close(self) -> None:
        """Stop the worker and delete its temporary folder; a hung worker is left to die with the process."""
        self._closed = True
        if self._worker is None:
            return
        self._requests.put(None)
        if self._broken_reason is None:
            self._worker.join(timeout=_CLOSE_WAIT_SECONDS)

    def __enter__(self) -> Pyttsx3Voice:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _ensure_worker(self) -> None:
        """Start the worker on first use, so a voice that is never used never loads espeak."""
        with self._start_lock:
            if self._worker is None:
                self._worker = threading.Thread(target=self._run_worker, name="pyttsx3-voice", daemon=True)
                self._worker.start()

    def _run_worker(self) -> None:
        """Own the engine and a private temporary folder; serve requests until told to stop."""
        with tempfile.TemporaryDirectory(prefix="grounding-voice-") as folder:
            try:
                session = _EngineSession(self._engine_factory(), folder)
            except SpeechUnavailableError as error:
                self._broken_reason = error
            except Exception as error:
                self._broken_reason = SpeechUnavailableError(
                    f"Text-to-speech could not start ({type(error).__name__}: {error}); {_ADVICE}."
                )
            if self._broken_reason is not None:
                self._fail_requests_until_stopped()
                return
            try:
                while (request := self._requests.get()) is not None:
                    if request.future.set_running_or_notify_cancel():
                        self._serve(session, request)
            finally:
                session.close()

    @staticmethod
    def _serve(session: _EngineSession, request: _Request) -> None:
        """Run one request and hand back its clip or a SpeechUnavailableError."""
        try:
            request.future.set_result(session.synthesize(request.text, request.settings))
        except SpeechUnavailableError as error:
            request.future.set_exception(error)
        except Exception as error:  # any engine failure becomes advice, not a traceback
            logger.debug("pyttsx3 failed", exc_info=True)
            failure = SpeechUnavailableError(f"Text-to-speech failed ({type(error).__name__}: {error}); {_ADVICE}.")
            failure.__cause__ = error
            request.future.set_exception(failure)

    def _fail_requests_until_stopped(self) -> None:
        """Answer requests queued before the startup failure was noticed."""
        while (request := self._requests.get()) is not None:
            if request.future.set_running_or_notify_cancel():
                request.future.set_exception(SpeechUnavailableError(str(self._broken_reason)))


# pyttsx3.init() hands every caller the same engine object, so two voices would share one
# engine from two threads (its "run loop already started" failure). One lock per engine
# object serialises them; distinct (fake) engines never wait on each other.
_engine_locks: weakref.WeakKeyDictionary[Any, threading.Lock] = weakref.WeakKeyDictionary()
_engine_locks_guard = threading.Lock()


def _lock_for(engine: Any) -> threading.Lock:
    """The lock that serialises use of one engine object."""
    with _engine_locks_guard:
        lock = _engine_locks.get(engine)
        if lock is None:
            lock = _engine_locks[engine] = threading.Lock()
        return lock


class _EngineSession:
    """Worker-thread-only wrapper: applies settings, renders to a file, reads it back and deletes it."""

    def __init__(self, engine: Any, folder: str) -> None:
        self._engine = engine
        self._folder = folder
        self._lock = _lock_for(engine)
        self._render_count = 0
        self._voice_ids: dict[str, str] = {}
        self._errors: list[BaseException] = []
        self._finished = threading.Event()
        # pyttsx3 reports some failures (e.g. a bad voice) only through its "error" callback.
        # Its espeak driver synthesises on espeak's own thread: runAndWait() can return before the
        # file is written, so "finished-utterance" (sent after the file is closed) is the real signal.
        self._tokens = [
            engine.connect("error", self._on_error),
            engine.connect("finished-utterance", self._on_finished),
        ]
        self._default_voice_id = engine.getProperty("voice")
        self._is_espeak = getattr(engine, "driver_name", None) == "espeak"
        if self._is_espeak:
            _size_espeak_text_truly()
        self._is_idle = _espeak_idle_probe(engine)
        self._warned_rates: set[int] = set()
        if getattr(engine, "isBusy", lambda: False)():
            # A new pyttsx3 engine queues property changes until its first run loop, where they
            # would race the synthesis; one empty run makes later changes apply at once.
            engine.runAndWait()

    def _on_error(self, name: object = None, exception: BaseException | None = None, **_: object) -> None:
        self._errors.append(exception or RuntimeError("unknown pyttsx3 error"))

    def _on_finished(self, name: object = None, completed: bool = True, **_: object) -> None:
        self._finished.set()

    def synthesize(self, text: str, settings: VoiceSettings) -> tuple[np.ndarray, int]:
        """Raw engine output for `text`: samples and their sample rate."""
        with self._lock:
            voice_id = self._resolve_voice(settings.voice)
            self._errors.clear()
            self._wait_until_idle(settings.timeout_seconds)
            words_per_minute = self._usable_rate(settings.words_per_minute)
            self._engine.setProperty("voice", voice_id)
            self._engine.setProperty("rate", words_per_minute)
            self._wait_until_idle(settings.timeout_seconds)
            if self._is_idle is not None and self._engine.getProperty("rate") != words_per_minute:
                # A lost rate would make the prompt too fast or too slow without anyone noticing.
                raise SpeechUnavailableError(
                    f"Text-to-speech did not accept {words_per_minute} words per minute "
                    f"(it reports {self._engine.getProperty('rate')}); {_ADVICE}."
                )
            # pyttsx3 sometimes writes an empty or no file (a known bug): one retry, then give up.
            for attempt in (1, 2):
                clip = self._render_once(text, settings.timeout_seconds)
                if self._errors:
                    error = self._errors[0]
                    raise SpeechUnavailableError(
                        f"Text-to-speech reported an error ({type(error).__name__}: {error}); {_ADVICE}."
                    ) from error
                if clip is not None:
                    return clip
                logger.warning("pyttsx3 wrote no audio for %r (attempt %d of 2)", text, attempt)
        raise SpeechUnavailableError(f"Text-to-speech produced no audio for {text!r} twice; {_ADVICE}.")

    def _usable_rate(self, words_per_minute: int) -> int:
        """The rate to give the engine for a heard pace of `words_per_minute`, within what it can do."""
        if not self._is_espeak:
            return int(words_per_minute)
        engine_rate = round(words_per_minute / _ESPEAK_PACE_FACTOR)
        if engine_rate < _ESPEAK_SLOWEST_WPM:
            if words_per_minute not in self._warned_rates:
                self._warned_rates.add(words_per_minute)
                logger.warning(
                    "espeak-ng cannot speak slower than about %d words per minute; using that instead of %d",
                    round(_ESPEAK_SLOWEST_WPM * _ESPEAK_PACE_FACTOR),
                    words_per_minute,
                )
            return _ESPEAK_SLOWEST_WPM
        return engine_rate

    def _wait_until_idle(self, timeout_seconds: float) -> None:
        """Wait until espeak has worked through its command queue.

        pyttsx3's run loop calls espeak's Cancel() if espeak is still busy when the loop starts
        (e.g. applying a new rate, or finishing the previous utterance). Cancel() drops queued
        settings and can cut the next utterance to nothing: the "empty file" bug.
        """
        if self._is_idle is None:
            return
        deadline = time.monotonic() + timeout_seconds
        while not self._is_idle():
            if time.monotonic() > deadline:
                raise SpeechUnavailableError(
                    f"Text-to-speech stayed busy for {timeout_seconds:g} s; {_ADVICE}."
                )
            time.sleep(0.001)

    def _render_once(self, text: str, timeout_seconds: float) -> tuple[np.ndarray, int] | None:
        """One save_to_file + runAndWait; None when the engine left no usable file."""
        self._render_count += 1
        path = os.path.join(self._folder, f"prompt-{self._render_count}.wav")
        self._finished.clear()
        try:
            with _stdout_without_saved_notice(path):
                self._wait_until_idle(timeout_seconds)
                self._engine.save_to_file(text, path)
                self._engine.runAndWait()
                if not self._finished.wait(timeout_seconds):
                    # The caller has given up by now too; this only frees the worker.
                    raise SpeechUnavailableError(
                        f"Text-to-speech did not finish within {timeout_seconds:g} s; {_ADVICE}."
                    )
            if not os.path.exists(path):
                return None
            try:
                return read_wav(path)
            except AudioFileError as error:
                logger.debug("unusable pyttsx3 output: %s", error)
                return None
        finally:
            # Nothing of the session stays on disk longer than it takes to read it.
            try:
                os.remove(path)
            except FileNotFoundError:
                pass

    def _resolve_voice(self, wanted: str | None) -> str:
        """Engine voice id for a configured id or name substring; None means the engine default."""
        if wanted is None:
            return self._default_voice_id
        if wanted not in self._voice_ids:
            self._voice_ids[wanted] = _match_voice(wanted, self._engine.getProperty("voices"))
        return self._voice_ids[wanted]

    def close(self) -> None:
        """Drop the subscriptions so a shared engine does not call into a finished worker."""
        for token in self._tokens:
            try:
                self._engine.disconnect(token)
            except Exception:  # best effort at shutdown
                logger.debug("could not disconnect from pyttsx3", exc_info=True)


def _size_espeak_text_truly() -> None:
    """Give espeak-ng the true size of each text pyttsx3's espeak driver asks it to speak.

    pyttsx3 2.99 passes ten times the text's length as its size (pyttsx3 issue 448), and espeak-ng copies that
    many bytes from it: up to nine times the text's length is read past its end. Most often that is harmless
    garbage, but when the read runs off the memory mapped there, the whole process dies (SIGSEGV), with no
    traceback and no crisis screen. Session 30 met it in the short soak run by the tests: 7 of 17 runs crashed
    in espeak_Synth, depending only on where the text happened to lie (benchmarks/README.md). The size given
    here is the text's own, with its terminating zero, as the same module's Synth_Mark already gives.
    """
    try:
        from pyttsx3.drivers import _espeak  # private to pyttsx3: a plain ctypes binding of espeak_Synth
    except Exception:  # a future pyttsx3 may move it, and perhaps fix it
        logger.debug("could not reach pyttsx3's espeak binding", exc_info=True)
        return
    if getattr(_espeak.Synth, "truly_sized", False) or not hasattr(_espeak, "cSynth"):
        return
    characters, unique_identifier = _espeak.POS_CHARACTER, None

    def synth(text, position=0, position_type=characters, end_position=0, flags=0, user_data=None):
        if isinstance(text, str):
            text = text.encode("utf-8")
        return _espeak.cSynth(text, len(text) + 1, position, position_type, end_position, flags, unique_identifier,
                              user_data)

    synth.truly_sized = True
    _espeak.Synth = synth


def _espeak_idle_probe(engine: Any) -> Callable[[], bool] | None:
    """A check that espeak's command queue is empty, for pyttsx3's espeak driver; None otherwise."""
    if getattr(engine, "driver_name", None) != "espeak":
        return None
    try:
        # Private to pyttsx3, but a plain ctypes binding of espeak's public espeak_IsPlaying().
        from pyttsx3.drivers import _espeak
    except Exception:  # a future pyttsx3 may move it; then only the retry guards against Cancel()
        logger.debug("espeak idle check unavailable", exc_info=True)
        return None
    return lambda: not _espeak.IsPlaying()


def _match_voice(wanted: str, voices: list[Any]) -> str:
    """Id of the voice whose id equals `wanted`, or whose name equals or contains it (case-insensitive)."""
    key = wanted.casefold()
    for matches in (
        lambda v: str(v.id).casefold() == key,
        lambda v: str(v.id).casefold().rsplit("/", 1)[-1] == key,  # "en-us" for espeak's "gmw/en-us"
        lambda v: str(v.name).casefold() == key,
        lambda v: key in str(v.name).casefold(),
    ):
        for voice in voices:
            if matches(voice):
                return voice.id
    names = [str(v.name) for v in voices]
    # Show English voices first: they are the likeliest wanted, and the list is long (130+ for espeak-ng).
    names.sort(key=lambda name: "english" not in name.casefold())
    shown = ", ".join(names[:6]) or "none"
    raise SpeechUnavailableError(
        f"Voice {wanted!r} is not installed. Some available voices: {shown} "
        f"({len(names)} in all; `espeak-ng --voices` lists them). Set the voice to one of these names or ids."
    )


class _StdoutFilter:
    """Stands in for sys.stdout: drops pyttsx3's "Audio saved to <path>" line, forwards everything else."""

    def __init__(self, target: Any, saved_path: str) -> None:
        self._target = target
        self._saved_path = saved_path
        self._threads_owing_newline: set[int] = set()

    def write(self, text: str) -> int:
        thread_id = threading.get_ident()
        if text.startswith("Audio saved to") and self._saved_path in text:
            logger.debug("pyttsx3 printed: %s", text)
            self._threads_owing_newline.add(thread_id)  # print() writes its "\n" separately
            return len(text)
        if text == "\n" and thread_id in self._threads_owing_newline:
            self._threads_owing_newline.discard(thread_id)
            return len(text)
        return self._target.write(text)

    def flush(self) -> None:
        self._target.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target, name)


@contextmanager
def _stdout_without_saved_notice(saved_path: str) -> Iterator[None]:
    """Keep pyttsx3's print (made on espeak's thread) off stdout, which may be carrying --json output."""
    original = sys.stdout
    stand_in = _StdoutFilter(original, saved_path)
    sys.stdout = stand_in
    try:
        yield
    finally:
        if sys.stdout is stand_in:  # someone else may have swapped stdout meanwhile; leave theirs
            sys.stdout = original


def shape_prompt(samples: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Trim silence (10 ms lead, 50 ms tail), resample, fade the edges to 0 and set the peak to -6 dBFS."""
    samples = np.asarray(samples, dtype=np.float32)
    threshold = 10.0 ** (_SILENCE_THRESHOLD_DBFS / 20.0)
    loud = np.flatnonzero(np.abs(samples) > threshold)
    if len(loud) == 0:
        logger.warning("text-to-speech produced only silence")
        return np.zeros(0, dtype=np.float32)
    start_sample = max(0, int(loud[0]) - round(_LEAD_SECONDS * from_rate))
    end_sample = min(len(samples), int(loud[-1]) + 1 + round(_TAIL_SECONDS * from_rate))
    clip = resample(samples[start_sample:end_sample], from_rate, to_rate).astype(np.float64)

    # Fade after resampling, so resampling cannot leave the edges slightly off zero.
    fade_samples = min(round(_FADE_SECONDS * to_rate), len(clip) // 2)
    if fade_samples > 0:
        ramp = 0.5 - 0.5 * np.cos(np.pi * np.arange(fade_samples) / fade_samples)  # ramp[0] == 0
        clip[:fade_samples] *= ramp
        clip[len(clip) - fade_samples :] *= ramp[::-1]
    peak = float(np.max(np.abs(clip))) if len(clip) else 0.0
    if peak > 0.0:
        clip *= _PEAK_LEVEL / peak
    return clip.astype(np.float32)


class CachedVoice:
    """Wraps any Voice; caches rendered clips in memory keyed by (text, voice, words_per_minute, sample_rate)."""

    def __init__(self, inner: Voice, max_clips: int = 256) -> None:
        self._inner = inner
        self._max_clips = max_clips
        self._clips: OrderedDict[tuple[Any, ...], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def render(self, text: str, sample_rate: int) -> np.ndarray:
        """The inner voice's clip, from memory when this text was rendered with the same settings; a fresh copy each call."""
        # Voices without `settings` (e.g. simple fakes) are keyed on text and rate alone.
        settings = getattr(self._inner, "settings", None)
        key = (
            text,
            getattr(settings, "voice", None),
            getattr(settings, "words_per_minute", None),
            sample_rate,
        )
        with self._lock:
            clip = self._clips.get(key)
            if clip is not None:
                self._clips.move_to_end(key)
                return clip.copy()
        # Render outside the lock: a slow synthesis must not block cache hits on other threads.
        clip = np.asarray(self._inner.render(text, sample_rate), dtype=np.float32)
        with self._lock:
            self._clips[key] = clip
            self._clips.move_to_end(key)
            while len(self._clips) > self._max_clips:
                self._clips.popitem(last=False)
        return clip.copy()
