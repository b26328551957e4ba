"""Recognizer evaluation on the generated corpus: recall, false alarms, latency, speed, memory.

    python benchmarks/evaluate.py --engine pocketsphinx
    python benchmarks/evaluate.py --engine vosk --model DIR
    python benchmarks/evaluate.py --engine pocketsphinx --split tune --conditions clean,10 --limit 200

Every manifest file (benchmarks/corpus/README.md) goes through the live path:
`StreamDetector(recognizer, CueMatcher(load_library().cue_maps))` in 0.1 s blocks,
faster than real time, one long-lived recognizer per worker process (reset between
files; the detection times are counted from each file's start). Each worker takes a
fixed share of the files in a fixed order, so a run is repeatable (see _decode_all).

Scoring (of what `grounding listen` acts on: a detection whose words hold a start and a control counts
as its start when idle, as its control during an exercise; see acted_on)
  start    hit when a start detection names the expected exercise id (heard idle)
  control  hit when a control detection has the expected intent (heard during an exercise)
  crisis   hit when a crisis detection fires
  ordinary every start or crisis detection is a false start/crisis alarm; every control
           detection a false control alarm (one holding both counts as both); per hour of ordinary audio
  latency  first right detection's time minus the manifest's speech_end_s (p50, p95)
  speed    CPU seconds per second of audio (real-time factor), per worker process
  memory   peak resident set (ru_maxrss) of the worker processes
  idle     CPU share of one core while listening to 60 s of near-silence and 60 s of quiet room noise

State: every file starts from the state of a recognizer that has listened for a while
(half a minute of tune-split cues, restored before each file). `--fresh` starts each
from a recognizer just opened instead, as `grounding detect FILE` hears it; and
`--room-seconds S` lets it hear S seconds of the file's own room (its lead-in before
the speech, repeated) first, as if the noise had been on all along.

Split (so figures are not reported on what was tuned): `tune` holds every file spoken
only by the tune voices (TUNE_VOICES: three espeak-ng voices and one festival voice,
and the two long ordinary files they alone speak); `report` holds all the rest, six
voices never tuned on, the other six long files and the human recordings. Default
`--split report`.

Engines are a small registry (ENGINES): a name and a factory taking the parsed
arguments and the cue phrases. Per-file results go to a JSON-lines file (`--out`) so
they can be re-scored (`--rescore FILE`) without decoding again. Each file's row also
holds every hypothesis the recognizer gave, and the second reader's weighing of
the texts the detector may ask about, so `--replay FILE` can run the detector
and matcher as they are now over them (seconds, not the minutes a decode takes):
for trying a change to cues.yaml, crisis.py or the detector on recognizer output
(a change that asks the reader about other texts needs a new decode).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import multiprocessing
import os
import queue
import resource
import statistics
import sys
import time
import wave
from collections import Counter, defaultdict
from pathlib import Path
from typing import Callable

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from assistant.library.loader import load_library  # noqa: E402
from assistant.speech.crisis import CRISIS_SENTENCE_FORMS  # noqa: E402
from assistant.speech.cues import CueMatcher  # noqa: E402
from assistant.speech.detector import (  # noqa: E402
    BLOCK_SECONDS, DetectorSettings, StreamDetector, TimedDetection, texts_to_weigh, texts_to_weigh_of_readings)
from assistant.speech.recognizer import Fit, Hypothesis  # noqa: E402

DEFAULT_CORPUS = REPO / "benchmarks" / "corpus" / "out"
DEFAULT_OUT = REPO / "benchmarks" / "out"
TUNE_VOICES = frozenset({"espeak-en-us", "espeak-en-m3", "espeak-en-us-f3", "festival-kal"})
CONDITIONS = {"clean": None, "20": 20, "10": 10}
KINDS = ("start", "control", "crisis")


# --- engines --------------------------------------------------------------------------------------


def cue_phrases(cue_maps) -> list[str]:
    """Every phrase of the cue maps (CueMap.phrases, crisis ones too): what an engine is told to listen for."""
    return list(dict.fromkeys(phrase for cue_map in cue_maps for phrase in cue_map.phrases))


def _pocketsphinx(args: argparse.Namespace, phrases: list[str]):
    from assistant.speech.sphinx import PocketsphinxRecognizer, SphinxSettings

    settings = SphinxSettings()
    for item in args.set or []:
        key, _, value = item.partition("=")
        if not hasattr(settings, key):
            raise SystemExit(f"--set {key}: not a pocketsphinx setting (see SphinxSettings in assistant/speech/sphinx.py)")
        current = getattr(settings, key)
        parsed = json.loads(value) if isinstance(current, (dict, bool)) or current is None else type(current)(value)
        settings = dataclasses.replace(settings, **{key: parsed})
    return PocketsphinxRecognizer(phrases, settings)


def _vosk(args: argparse.Namespace, phrases: list[str]):
    """Vosk as `grounding listen` opens it for the English cues (engines.open_recognizer): the full vocabulary,
    not `phrases` as a phrase list, which could not write crisis language. What is measured is what ships."""
    from assistant.speech.engines import open_recognizer

    if not args.model:
        raise SystemExit("--engine vosk needs --model DIR (an unpacked Vosk model)")
    return open_recognizer("vosk", Path(args.model), load_library().cue_maps, "en", warn=print).recognizer


ENGINES: dict[str, Callable] = {"pocketsphinx": _pocketsphinx, "vosk": _vosk}


# --- the corpus -----------------------------------------------------------------------------------


def voices_of(entry: dict) -> list[str]:
    return entry["voice"].split("+")


def split_of(entry: dict) -> str:
    """'tune' when only tune voices speak in the file, else 'report'."""
    return "tune" if all(voice in TUNE_VOICES for voice in voices_of(entry)) else "report"


def condition_of(entry: dict) -> str:
    return "clean" if entry["snr_db"] is None else str(entry["snr_db"])


def load_manifest(corpus: Path, split: str, conditions: list[str], kinds: list[str], limit: int | None) -> list[dict]:
    path = corpus / "manifest.jsonl"
    if not path.exists():
        raise SystemExit(f"no corpus at {corpus}: build it with `python benchmarks/corpus/build.py`")
    entries = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    entries = [
        e for e in entries
        if (split == "all" or split_of(e) == split) and condition_of(e) in conditions and e["kind"] in kinds
    ]
    if limit and len(entries) > limit:
        # An even spread over the (sorted) manifest, so a limited run still covers every kind and voice.
        step = len(entries) / limit
        entries = [entries[int(i * step)] for i in range(limit)]
    # Longest first, so the two workers finish together.
    return sorted(entries, key=lambda e: -e["duration_s"])


def read_pcm16(path: Path) -> np.ndarray:
    with wave.open(str(path), "rb") as wav:
        if wav.getnchannels() != 1 or wav.getsampwidth() != 2:
            raise SystemExit(f"{path}: expected 16-bit mono")
        return np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)


# --- decoding (in worker processes) ---------------------------------------------------------------


class _FileClock:
    """Wraps a recognizer so each file's hypotheses count samples from that file's start; records them all."""

    def __init__(self, recognizer, matcher: CueMatcher, all_paces: bool = False):
        self.inner = recognizer
        self.all_paces = all_paces  # read every final at PACES_RECORDED, or only at the paces the detector asks
        self.matcher = matcher  # which texts are worth weighing (detector.texts_to_weigh), see _shift
        self.settings = DetectorSettings()  # the detector's own: what it may ask the reader for
        self.name = recognizer.name
        self.sample_rate = recognizer.sample_rate
        self.base = 0
        self.fed = 0
        self.finals: list[str] = []
        # [text, is_final, end_sample, check_text, fits, spots] for --replay. fits, on finals: {text: [logprob,
        # reading_logprob, tokens]}, the second reader's Fit of the final's text, of its utterance's partials
        # with crisis language, of their trims and the final's start's (DetectorSettings.trim_max_shortfall)
        # and of near crisis and cue candidates, asked of every final here (live, only
        # what the detector needs). spots: {"cue" or "crisis": [[text, logprob, reading_logprob, tokens], ...]},
        # what the second reader spotted of the cue phrasings and of the crisis sentences (Hypothesis.check_spot)
        # down to the detector's limits (SPOT_RECORDED_LIMITS for a search it does not make), every final too.
        # paced: {pace: text}, the second reader's readings at other paces (Hypothesis.check_paced): those the
        # detector asked for, or with all_paces at PACES_RECORDED for every final; the fits include those of
        # the paced readings that hold a cue or crisis language. loud: the second reader's reading of the
        # utterance's loud part alone (Hypothesis.check_loud), every final ("" when nearly all of it), its fit
        # weighed when it holds a cue or crisis language. The fits hold those of the cue phrases the paced and
        # loud readings nearly say as well (detector.near_cues_of_readings).
        self.hypotheses: list[list] = []
        self.fit_walls: list[float] = []  # wall seconds each final's weighing took (all its texts at once)
        self.spot_walls: list[float] = []  # and its spotting (Hypothesis.check_spot, both searches), every final
        self.paced_walls: list[float] = []  # and its readings at other paces (Hypothesis.check_paced), where read
        self.loud_walls: list[float] = []  # and its reading of the loud part (Hypothesis.check_loud), every final
        self._crisis_partials: list[str] = []  # in the utterance under way
        self.reading_walls: list[float] = []  # wall seconds each final's second reading took
        self.reading_waits: list[float] = []  # and how long the final waited for it
        self.warm = None  # the recognizer's adaptation after the warm-up, restored before every file
        self.cold = None  # and before it

    def warm_up(self, audio: np.ndarray) -> None:
        """Let the recognizer hear `audio`, then keep what it learnt as every file's starting point.

        Without this each file started from whatever the files before it had left (cepstral mean, noise
        floor): two runs of the same code with the files in another order differed by up to 14 of 148
        control items in one condition and by 10 false alarms. Engines without `adaptation()` are only reset.
        """
        if not hasattr(self.inner, "adaptation"):
            return
        self.cold = self.inner.adaptation()  # as a recognizer just opened, for --fresh
        # pocketsphinx decodes its first seconds of speech twice (SphinxSettings.settle_seconds), and each
        # second pass leaves its running mean weighted a little differently: the warm-up is heard without
        # them, so the state every file starts from is the one earlier sessions measured from, and is
        # counted as settled (half a minute of speech).
        settings = getattr(self.inner, "settings", None)
        settle = getattr(settings, "settle_seconds", None)
        if settle is not None:
            self.inner.settings = dataclasses.replace(settings, settle_seconds=0.0)
        block = round(BLOCK_SECONDS * self.sample_rate)
        for start in range(0, len(audio), block):
            self.accept(audio[start : start + block])
        self.flush()
        self.warm = self.inner.adaptation()
        if settle is not None:
            self.inner.settings = settings
            self.warm = (*self.warm[:-1], settle)

    def start_file(self, room: np.ndarray | None = None) -> None:
        """Back to the warm-up state (or reset), let the recognizer hear `room` unrecorded and unweighed
        (`room_before`), and count from there."""
        if self.warm is not None:
            self.inner.restore(self.warm)
        else:
            self.inner.reset()
        if room is not None:
            block = round(BLOCK_SECONDS * self.sample_rate)
            for start in range(0, len(room), block):
                self.inner.accept(room[start : start + block])
            self.fed += len(room)
        self.base = self.fed
        self.finals = []
        self.hypotheses = []
        self.reading_walls = []
        self.reading_waits = []
        self.fit_walls = []
        self.spot_walls = []
        self.paced_walls = []
        self.loud_walls = []
        self._crisis_partials = []

    @property
    def reading_name(self) -> str | None:
        return getattr(self.inner, "reading_name", None)

    def reading_costs(self) -> dict[str, float]:
        costs = getattr(self.inner, "reading_costs", None)
        return costs() if costs else {"cpu_s": 0.0, "resident_mib": 0.0, "last_wall_s": 0.0, "last_wait_s": 0.0}

    def _shift(self, hypotheses):
        out = []
        for h in hypotheses:
            if h.is_final and h.text.strip():
                self.finals.append(h.text)
            if h.is_final and h.check_text is not None:
                costs = self.reading_costs()
                self.reading_walls.append(costs["last_wall_s"])
                self.reading_waits.append(costs["last_wait_s"])
            fits: dict[str, Fit] = {}
            if not h.is_final and self.matcher.crisis(h.text):
                if h.text not in self._crisis_partials:
                    self._crisis_partials.append(h.text)
            paced: dict[float, str] = {}
            if h.is_final and h.check_paced is not None and self.all_paces:
                began = time.perf_counter()
                paced = dict(zip(PACES_RECORDED, h.check_paced(PACES_RECORDED)))
                self.paced_walls.append(time.perf_counter() - began)
            loud = ""
            if h.is_final and h.check_loud is not None:
                began = time.perf_counter()
                loud = h.check_loud()
                self.loud_walls.append(time.perf_counter() - began)
            if h.is_final:
                if h.check_fit is not None:
                    # Every text the detector might ask about, weighed whether it asks or not, so that --replay
                    # can try other limits on the shortfall.
                    texts = texts_to_weigh(self.matcher, h, self._crisis_partials, [loud, *paced.values()],
                                           self.settings.sound_near_cues)
                    began = time.perf_counter()
                    weighed = h.check_fit(texts) if texts else []
                    self.fit_walls.append(time.perf_counter() - began)
                    fits = {text: fit for text, fit in zip(texts, weighed) if fit is not None}
                self._crisis_partials = []
            spots: dict[str, list[tuple[str, Fit]]] = {}
            if h.is_final and h.check_spot is not None:
                settings = self.settings
                began = time.perf_counter()
                for kind, phrasings, most in (("cue", self.matcher.phrasings, settings.spot_max_shortfall),
                                              ("crisis", CRISIS_SENTENCE_FORMS, settings.spot_crisis_max_shortfall)):
                    spots[kind] = h.check_spot(phrasings, SPOT_RECORDED_LIMITS[kind] if most is None else most)
                self.spot_walls.append(time.perf_counter() - began)
            recorded = {text: [f.logprob, f.reading_logprob, f.tokens] for text, f in fits.items()}
            spotted = {kind: [[text, f.logprob, f.reading_logprob, f.tokens] for text, f in found]
                       for kind, found in spots.items()}
            paced_row = {repr(pace): text for pace, text in paced.items()}
            check_fit, check_paced = _fits_of(fits), _paced_of(paced) if paced else None
            if h.is_final and h.check_paced is not None and not self.all_paces:
                check_paced = self._paced_as_asked(h, fits, recorded, paced_row)
                check_fit = check_fit or (lambda texts: [fits.get(text) for text in texts])  # fits may come
            shifted = dataclasses.replace(h, end_sample=h.end_sample - self.base, check_fit=check_fit,
                                          check_spot=_spots_of(spots) if h.is_final else None, check_paced=check_paced,
                                          check_loud=_loud_of(loud) if h.check_loud is not None else None)
            self.hypotheses.append([shifted.text, shifted.is_final, shifted.end_sample, shifted.check_text,
                                    recorded, spotted, paced_row, loud])
            out.append(shifted)
        return out

    def _paced_as_asked(self, h, fits: dict[str, Fit], recorded: dict[str, list], paced_row: dict[str, str]):
        """A Hypothesis.check_paced that reads at the paces the detector asks for, as listening does, and records
        the readings (paced_row) and the fits of those that hold a cue or crisis language (fits, recorded)."""
        def check_paced(paces) -> list[str]:
            new = [pace for pace in paces if repr(float(pace)) not in paced_row]
            if new:
                began = time.perf_counter()
                for pace, text in zip(new, h.check_paced(new)):
                    paced_row[repr(float(pace))] = text
                self.paced_walls.append(time.perf_counter() - began)
                read = [paced_row.get(repr(float(pace)), "") for pace in new]
                cued = [text for text in texts_to_weigh_of_readings(self.matcher, read, self.settings.sound_near_cues)
                        if text not in fits]
                if cued and h.check_fit is not None:
                    for text, fit in zip(cued, h.check_fit(cued)):
                        if fit is not None:
                            fits[text] = fit
                            recorded[text] = [fit.logprob, fit.reading_logprob, fit.tokens]
            return [paced_row.get(repr(float(pace)), "") for pace in paces]

        return check_paced

    def accept(self, samples):
        self.fed += len(samples)
        return self._shift(self.inner.accept(samples))

    def flush(self):
        return self._shift(self.inner.flush())

    def reset(self):
        self.inner.reset()


def _fits_of(fits: dict[str, Fit]):
    """A Hypothesis.check_fit that knows the answers asked already, and no others."""
    if not fits:
        return None
    return lambda texts: [fits.get(text) for text in texts]


def _paced_of(paced: dict[float, str]):
    """A Hypothesis.check_paced that gives back the readings made already ("" for a pace not recorded)."""
    return lambda paces: [paced.get(float(pace), "") for pace in paces]


def _loud_of(loud: str):
    """A Hypothesis.check_loud that gives back the reading of the loud part made already."""
    return lambda: loud


# The paces every final is read again at with --all-paces, for --replay: the detector's
# (DetectorSettings.paced_readings) and one more, so a replay can judge another choice.
PACES_RECORDED = (0.85, 0.9, 1.1)

# What each search is recorded down to when the detector's own limit is None (it does not search), so that a
# replay can judge turning it on (`--detector spot_crisis_max_shortfall=5.0`).
SPOT_RECORDED_LIMITS = {"cue": 4.0, "crisis": 5.0}


def _spots_of(spots: dict[str, list[tuple[str, Fit]]]):
    """A Hypothesis.check_spot that gives back what was spotted already: for the crisis sentences, or else for
    the cue phrasings ([] where that search was not recorded)."""
    def spot(phrasings, most_shortfall: float) -> list[tuple[str, Fit]]:
        found = spots.get("crisis" if tuple(phrasings) == CRISIS_SENTENCE_FORMS else "cue", [])
        return [(text, fit) for text, fit in found if fit.shortfall <= most_shortfall]

    return spot


_WORKER: dict = {}


def _init_worker(engine: str, args: argparse.Namespace) -> None:
    # Workers run at the priority of the Moonshine reader's process (assistant/speech/moonshine.py), so that
    # one worker's decoding does not starve the other's reader: live, nothing else competes like that.
    from assistant.speech.moonshine import CHILD_NICENESS

    os.setpriority(os.PRIO_PROCESS, 0, CHILD_NICENESS)
    library = load_library()
    recognizer = ENGINES[engine](args, cue_phrases(library.cue_maps))
    _WORKER["matcher"] = CueMatcher(library.cue_maps)
    _WORKER["clock"] = _FileClock(recognizer, _WORKER["matcher"], args.all_paces)
    _WORKER["corpus"] = Path(args.corpus)
    _WORKER["room_seconds"] = args.room_seconds
    _WORKER["clock"].warm_up(warm_up_audio(Path(args.corpus)))
    if args.fresh:  # every file heard as `grounding detect` hears it, by a recognizer that has heard nothing
        _WORKER["clock"].warm = _WORKER["clock"].cold


def warm_up_audio(corpus: Path) -> np.ndarray:
    """About half a minute the recognizer hears before any measured file: the first clean start, control
    and crisis items of the tune split (tune voices only, so no report-split figure is on audio it has heard)."""
    entries = [json.loads(line) for line in (corpus / "manifest.jsonl").read_text().splitlines() if line.strip()]
    chosen = []
    for kind in ("start", "control", "crisis"):
        items = [e for e in entries if e["kind"] == kind and split_of(e) == "tune" and e["snr_db"] is None]
        chosen += sorted(items, key=lambda e: e["file"])[:3]
    if not chosen:
        return np.zeros(0, dtype=np.int16)
    return np.concatenate([read_pcm16(corpus / e["file"]) for e in chosen])


ROOM_MARGIN_SECONDS = 0.3  # the file's lead-in up to this long before the speech is the room alone


def room_before(samples: np.ndarray, entry: dict, seconds: float, sample_rate: int) -> np.ndarray:
    """`seconds` of the room the file is set in, as heard before anyone spoke: its lead-in before the speech,
    repeated. In the corpus the noise starts with the file, 1 s before the words, so a recognizer that
    adapted to a quiet room takes the noise's onset for speech and reads it with the words; in a real room
    the fan or the television was on long before. Empty when `seconds` is 0 or the lead-in is too short."""
    wanted = round(seconds * sample_rate)
    if wanted <= 0:
        return samples[:0]  # (and files outside the manifest, benchmarks/outside_voices.py, say no speech_start_s)
    lead = samples[: round(max(0.0, entry["speech_start_s"] - ROOM_MARGIN_SECONDS) * sample_rate)]
    if len(lead) < round(BLOCK_SECONDS * sample_rate):
        return samples[:0]
    return np.tile(lead, -(-wanted // len(lead)))[:wanted]


def _decode(entry: dict) -> dict:
    clock: _FileClock = _WORKER["clock"]
    samples = read_pcm16(_WORKER["corpus"] / entry["file"])
    clock.start_file(room_before(samples, entry, _WORKER["room_seconds"], clock.sample_rate))
    # The recognizer's own stream position is ahead of this file's start by clock.base; the wrapper
    # shifts hypotheses back, and the detector counts from zero.
    detector = StreamDetector(clock, _WORKER["matcher"])
    block = round(BLOCK_SECONDS * clock.sample_rate)
    detections = []
    began, reading_began = time.process_time(), clock.reading_costs()["cpu_s"]
    for start in range(0, len(samples), block):
        detections += detector.feed(samples[start : start + block])
    detections += detector.finish()
    # A second reader in a child process (Moonshine) spends CPU there: it is counted too.
    reading = clock.reading_costs()
    cpu = time.process_time() - began + reading["cpu_s"] - reading_began
    return {
        "file": entry["file"],
        "cpu_s": cpu,
        "reading_walls_s": clock.reading_walls,
        "reading_waits_s": clock.reading_waits,
        "fit_walls_s": clock.fit_walls,
        "spot_walls_s": clock.spot_walls,
        "paced_walls_s": clock.paced_walls,
        "loud_walls_s": clock.loud_walls,
        "reading_rss_mib": reading["resident_mib"],
        "detections": [detection_row(d) for d in detections],
        "finals": clock.finals,
        "hypotheses": clock.hypotheses,
        "maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "pid": os.getpid(),
    }


def _decode_shard(shard: int, jobs: int, entries: list[dict], args: argparse.Namespace, results) -> None:
    try:
        _init_worker(args.engine, args)
        for entry in entries[shard::jobs]:
            results.put(_decode(entry))
    finally:
        results.put(None)


def _decode_all(entries: list[dict], args: argparse.Namespace):
    """Each file's result, decoded by `args.jobs` worker processes.

    Worker k takes files k, k + jobs, k + 2·jobs… in manifest order, and each file starts from the same
    warm-up state (_FileClock.warm_up), so a run gives the same hypotheses whatever the number of workers.
    A worker that dies without a word (a crash in the engine) ends the run with an error, not a hang.
    """
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    workers = [context.Process(target=_decode_shard, args=(k, args.jobs, entries, args, results)) for k in range(args.jobs)]
    for worker in workers:
        worker.start()
    running = len(workers)
    while running:
        try:
            result = results.get(timeout=5)
        except queue.Empty:
            if not any(worker.is_alive() for worker in workers):
                break
            continue
        if result is None:
            running -= 1
        else:
            yield result
    for worker in workers:
        worker.join()
        if worker.exitcode:
            raise SystemExit(f"a decoding worker failed (exit {worker.exitcode}); see the messages above")


def _idle(engine: str, args: argparse.Namespace) -> dict:
    """CPU share of one core while the recognizer hears 60 s of near-silence and 60 s of quiet room noise."""
    library = load_library()
    recognizer = ENGINES[engine](args, cue_phrases(library.cue_maps))
    rate = recognizer.sample_rate
    rng = np.random.default_rng(0)
    silence = rng.triangular(-1, 0, 1, 60 * rate).round().astype(np.int16)
    white = rng.standard_normal(60 * rate)
    pink = np.fft.irfft(np.fft.rfft(white) / np.sqrt(np.maximum(np.fft.rfftfreq(len(white), 1 / rate), 20.0)))
    room = (pink / np.sqrt(np.mean(pink**2)) * 32768 * 10 ** (-50 / 20)).astype(np.int16)  # -50 dBFS pink
    result = {}
    block = round(BLOCK_SECONDS * rate)
    for label, audio in (("silence", silence), ("room noise -50 dBFS", room)):
        recognizer.reset()
        began = time.process_time()
        for start in range(0, len(audio), block):
            recognizer.accept(audio[start : start + block])
        result[label] = (time.process_time() - began) / (len(audio) / rate)
    return result


class _Recorded:
    """A recognizer that gives back, block by block, the hypotheses an earlier decode recorded."""

    name = "replay"

    def __init__(self, hypotheses: list[list], sample_rate: int = 16000):
        self.sample_rate = sample_rate
        self._queue = []
        # Whether the decode had a second reader, which changes what the detector does with partials.
        self.reading_name = "recorded" if any(h[3] is not None for h in hypotheses) else None
        for text, final, end, check, *fits in hypotheses:  # runs before session 6 recorded no fits, before 11 no spots
            recorded = {text: Fit(*fit) for text, fit in ((fits[0] or {}) if fits else {}).items()}
            spotted = None
            if len(fits) > 1:
                spotted = {kind: [(spot[0], Fit(*spot[1:])) for spot in found] for kind, found in fits[1].items()}
            paced = {float(pace): reading for pace, reading in fits[2].items()} if len(fits) > 2 else {}  # session 16
            loud = fits[3] if len(fits) > 3 and final else None  # session 21
            self._queue.append(Hypothesis(text, final, end, check, _fits_of(recorded),
                                          _spots_of(spotted) if spotted is not None and final else None,
                                          _paced_of(paced) if paced else None,
                                          _loud_of(loud) if loud is not None else None))
        self._fed = 0

    def accept(self, samples):
        self._fed += len(samples)
        due = [h for h in self._queue if h.end_sample <= self._fed]
        self._queue = self._queue[len(due):]
        return due

    def flush(self):
        rest, self._queue = self._queue, []
        return rest

    def reset(self) -> None:
        pass


def replay(results: dict[str, dict], entries: list[dict], matcher: CueMatcher,
           settings: DetectorSettings | None = None) -> dict[str, dict]:
    """Each file's recorded hypotheses through today's StreamDetector and matcher: new detections, same audio."""
    replayed = {}
    for entry in entries:
        row = results.get(entry["file"])
        if row is None:
            continue
        if "hypotheses" not in row:
            raise SystemExit(f"--replay: {entry['file']} has no recorded hypotheses (decoded before they were kept)")
        recorded = _Recorded(row["hypotheses"])
        detector = StreamDetector(recorded, matcher, settings)
        block = round(BLOCK_SECONDS * recorded.sample_rate)
        detections = []
        for _ in range(math.ceil(entry["duration_s"] * recorded.sample_rate / block)):
            detections += detector.feed(np.zeros(block, dtype=np.int16))
        detections += detector.finish()
        replayed[entry["file"]] = {**row, "detections": [detection_row(d) for d in detections]}
    return replayed


def detection_row(timed: TimedDetection) -> dict:
    """A detection as `grounding detect --json` prints it, with its `alternative` [kind, intent] when it has one."""
    row = timed.to_json()
    if timed.detection.alternative is not None:
        row["alternative"] = list(timed.detection.alternative)
    return row


# --- scoring --------------------------------------------------------------------------------------


def acted_on(detection: dict, idle: bool) -> tuple[str, str]:
    """(kind, intent) of what `grounding listen` acts on for this detection (listen.Listener._fitting): idle, the
    start a control's words also hold; while an exercise plays, the control a start's words also hold. Start
    items are scored as heard idle, control items as heard during an exercise."""
    alternative = detection.get("alternative")
    if alternative is not None and (detection["kind"], alternative[0]) == (("control", "start") if idle else ("start", "control")):
        return alternative[0], alternative[1]
    return detection["kind"], detection["intent"]


def score(entries: list[dict], results: dict[str, dict], matcher: CueMatcher | None = None) -> dict:
    """Figures per kind and condition, per voice, false alarms per hour, latency, speed, memory.

    With a matcher, also the matcher's own ceiling: how many items it gets right, and how many
    ordinary files it fires on, when given the manifest's text instead of a recognizer's.
    """
    hits: dict = defaultdict(lambda: [0, 0])  # key -> [hits, total]
    latencies: dict = defaultdict(list)
    ordinary_seconds: Counter = Counter()
    false_alarms: dict = defaultdict(Counter)  # condition -> Counter(kind)
    false_list: list = []
    confusions: Counter = Counter()
    cpu = audio = 0.0
    for entry in entries:
        result = results.get(entry["file"])
        if result is None:
            continue
        cpu += result["cpu_s"]
        audio += entry["duration_s"]
        condition = condition_of(entry)
        kind = entry["kind"]
        detections = result["detections"]
        if matcher is not None and entry["text"] and condition == "clean":
            texts = [s["text"] for s in entry.get("segments", [])] or [entry["text"]]
            found = [d for d in (matcher.match(t) for t in texts) if d is not None]
            expected = "crisis" if kind == "crisis" else entry["intent"]
            if kind == "ordinary":
                hits[("text", "ordinary")][0] += sum(
                    d.kind in ("start", "crisis") or (d.alternative or ("",))[0] == "start" for d in found)
                hits[("text", "ordinary")][1] += len(texts)
            else:
                hits[("text", kind)][0] += any((kind, expected) in ((d.kind, d.intent), d.alternative) for d in found)
                hits[("text", kind)][1] += 1
        if kind == "ordinary":
            ordinary_seconds[condition] += entry["duration_s"]
            for d in detections:
                # Talk may be heard idle or during an exercise: words that hold a start and a control count as both.
                for acted_kind, acted_intent in dict.fromkeys([acted_on(d, idle=True), acted_on(d, idle=False)]):
                    false_alarms[condition][acted_kind] += 1
                    false_list.append((condition, entry["file"], acted_kind, acted_intent, d["text"]))
            continue
        expected = "crisis" if kind == "crisis" else entry["intent"]
        acted = [acted_on(d, idle=kind != "control") for d in detections]
        right = [d for d, it in zip(detections, acted) if it == (kind, expected)]
        for d, (acted_kind, acted_intent) in zip(detections, acted):
            if d not in right:
                confusions[(kind, entry["intent"], acted_kind, acted_intent)] += 1
        hit = 1 if right else 0
        family = "festival" if entry["voice"].startswith("festival") else "espeak"
        phrasing = "cues.yaml" if entry.get("in_cues_yaml") else "variant"
        for key in (
            (kind, condition), (kind, "all"), ("voice", entry["voice"], kind), ("family", family, kind, condition),
            ("phrasing", kind, phrasing, condition),
        ):
            hits[key][0] += hit
            hits[key][1] += 1
        if right:
            latencies[kind].append(right[0]["time_s"] - entry["speech_end_s"])
    return {
        "hits": {"|".join(map(str, k)): v for k, v in hits.items()},
        "latency": dict(latencies),
        "ordinary_seconds": dict(ordinary_seconds),
        "false_alarms": {c: dict(v) for c, v in false_alarms.items()},
        "false_list": false_list,
        "confusions": {"|".join(k): v for k, v in confusions.items()},
        "rtf": cpu / audio if audio else 0.0,
        "audio_hours": audio / 3600,
        "peak_mib": max((r["maxrss_mib"] for r in results.values()), default=0.0),
        "reading_peak_mib": max((r.get("reading_rss_mib", 0.0) for r in results.values()), default=0.0),
        "reading_walls": [w for r in results.values() for w in r.get("reading_walls_s", [])],
        # runs before session 5 read at the final, so what a final waited was the reading's wall time
        "reading_waits": [w for r in results.values() for w in r.get("reading_waits_s", r.get("reading_walls_s", []))],
    }


def _ratio(pair) -> str:
    got, total = pair
    return f"{got / total:.3f} ({got}/{total})" if total else "-"


def report(figures: dict, title: str, idle: dict | None) -> str:
    hits = figures["hits"]
    lines = [f"## {title}", ""]
    conditions = [c for c in CONDITIONS if any(f"{k}|{c}" in hits for k in KINDS)]
    lines.append("| recall | " + " | ".join("clean" if c == "clean" else f"{c} dB" for c in conditions) + " | all |")
    lines.append("|---" * (len(conditions) + 2) + "|")
    for kind in KINDS:
        cells = [_ratio(hits.get(f"{kind}|{c}", (0, 0))) for c in conditions + ["all"]]
        lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    lines.append("")
    if any(k.startswith("text|") for k in hits):
        cells = [f"{k} {_ratio(hits.get(f'text|{k}', (0, 0)))}" for k in KINDS]
        fired, sentences = hits.get("text|ordinary", (0, 0))
        lines.append(
            "The matcher itself, given the true text of each clean item (the most any recognizer can reach "
            f"here): {', '.join(cells)}; it fires start/crisis on {fired} of {sentences} ordinary sentences."
        )
        lines.append("")
    seconds = figures["ordinary_seconds"]
    if seconds:
        lines.append("| ordinary audio | hours | false start/crisis alarms | per hour | false control alarms | per hour |")
        lines.append("|---|---|---|---|---|---|")
        total_h = total_sc = total_c = 0.0
        for condition in conditions + [c for c in seconds if c not in conditions]:
            if condition not in seconds:
                continue
            hours = seconds[condition] / 3600
            fa = figures["false_alarms"].get(condition, {})
            sc = fa.get("start", 0) + fa.get("crisis", 0)
            ctl = fa.get("control", 0)
            total_h, total_sc, total_c = total_h + hours, total_sc + sc, total_c + ctl
            label = "clean" if condition == "clean" else f"{condition} dB"
            lines.append(f"| {label} | {hours:.2f} | {sc} | {sc / hours:.1f} | {ctl} | {ctl / hours:.1f} |")
        lines.append(
            f"| all | {total_h:.2f} | {total_sc:.0f} | {total_sc / total_h:.1f} | {total_c:.0f} | {total_c / total_h:.1f} |"
        )
        lines.append("")
    confused = Counter()
    for key, count in figures["confusions"].items():
        confused[key.split("|")[2]] += count
    if confused:
        # Mostly where only the noise was heard after the cue: with babble, someone else's talk.
        lines.append("Detections of another kind or intent in cue and crisis items (start, control and crisis "
                     "items together): " + ", ".join(f"{kind} {confused[kind]}" for kind in KINDS)
                     + ". The false alarms above count ordinary audio only.")
        lines.append("")
    all_lat = [x for v in figures["latency"].values() for x in v]
    if all_lat:
        lines.append("| latency after speech end (s) | p50 | p95 | n |")
        lines.append("|---|---|---|---|")
        for kind in KINDS + ("all",):
            values = all_lat if kind == "all" else figures["latency"].get(kind, [])
            if values:
                p50 = statistics.median(values)
                p95 = float(np.percentile(values, 95))
                lines.append(f"| {kind} | {p50:.2f} | {p95:.2f} | {len(values)} |")
        lines.append("")
    lines.append(
        f"Real-time factor {figures['rtf']:.3f} (CPU s per audio s, {figures['audio_hours']:.2f} h decoded); "
        f"peak RSS {figures['peak_mib']:.0f} MiB per worker"
        + (f", and {figures['reading_peak_mib']:.0f} MiB in its second reader's process." if figures.get("reading_peak_mib") else ".")
    )
    walls, waits = figures.get("reading_walls"), figures.get("reading_waits")
    if walls and waits:
        # The latencies above count audio fed; a final also waits this long (wall time) for its second reading,
        # which may have started before the final (SphinxSettings.early_reading_seconds).
        lines.append(
            f"Each final waits for its second reading: p50 {statistics.median(waits):.2f} s, "
            f"p95 {float(np.percentile(waits, 95)):.2f} s of wall time ({len(waits)} readings; on top of the "
            f"final-based latencies above); a reading itself takes p50 {statistics.median(walls):.2f} s, "
            f"p95 {float(np.percentile(walls, 95)):.2f} s."
        )
    if idle:
        lines.append("Idle listening: " + ", ".join(f"{k} {v * 100:.1f}% of one core" for k, v in idle.items()) + ".")
    lines.append("")
    families = sorted({k.split("|")[1] for k in hits if k.startswith("family|")})
    if families:
        lines.append("| recall by voice family | " + " | ".join(f"{k} {c}" for k in KINDS for c in ("clean", "10")) + " |")
        lines.append("|---" * (2 * len(KINDS) + 1) + "|")
        for family in families:
            cells = [_ratio(hits.get(f"family|{family}|{k}|{c}", (0, 0))) for k in KINDS for c in ("clean", "10")]
            lines.append(f"| {family} | " + " | ".join(cells) + " |")
        lines.append("")
    voices = sorted({k.split("|")[1] for k in hits if k.startswith("voice|")})
    if voices:
        lines.append("| recall by voice (all conditions) | " + " | ".join(KINDS) + " |")
        lines.append("|---" * (len(KINDS) + 1) + "|")
        for voice in voices:
            lines.append(f"| {voice} | " + " | ".join(_ratio(hits.get(f"voice|{voice}|{k}", (0, 0))) for k in KINDS) + " |")
        lines.append("")
    phr = sorted({tuple(k.split("|")[1:3]) for k in hits if k.startswith("phrasing|") and k.split("|")[1] != "crisis"})
    if phr:
        lines.append("| recall by phrasing | clean | 20 dB | 10 dB |")
        lines.append("|---|---|---|---|")
        for kind, phrasing in phr:
            cells = [_ratio(hits.get(f"phrasing|{kind}|{phrasing}|{c}", (0, 0))) for c in ("clean", "20", "10")]
            lines.append(f"| {kind}, {phrasing} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


# --- command --------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engine", choices=sorted(ENGINES), default="pocketsphinx")
    parser.add_argument("--model", help="model folder, for engines that need one (vosk)")
    parser.add_argument("--corpus", default=str(DEFAULT_CORPUS), help="built corpus folder (default: %(default)s)")
    parser.add_argument("--split", choices=["report", "tune", "all"], default="report", help="default: %(default)s")
    parser.add_argument("--conditions", default="clean,20,10", help="any of clean,20,10 (default: %(default)s)")
    parser.add_argument("--kinds", default="start,control,crisis,ordinary", help="default: %(default)s")
    parser.add_argument("--limit", type=int, help="at most N files, spread evenly over the manifest")
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1), help="worker processes (default: %(default)s)")
    parser.add_argument("--out", help="per-file results, JSON lines (default: benchmarks/out/eval-ENGINE-SPLIT.jsonl)")
    parser.add_argument("--rescore", help="score an earlier --out file instead of decoding")
    parser.add_argument("--replay", help="run today's detector and matcher over an earlier --out file's hypotheses")
    parser.add_argument("--no-idle", action="store_true", help="skip the idle-listening CPU measurement")
    parser.add_argument("--all-paces", action="store_true",
                        help="read every final again at each of PACES_RECORDED, so that --replay can try other "
                             "paces (about twice the time); by default only at the paces the detector asks for")
    parser.add_argument("--fresh", action="store_true",
                        help="start every file from the state of a recognizer just opened, as `grounding detect` "
                             "does, instead of one that has heard the warm-up (as a listener running for a while)")
    parser.add_argument("--room-seconds", type=float, default=0.0,
                        help="let the recognizer hear this much of each file's room (its lead-in before the speech, "
                             "repeated) before the file, as if the noise had been on all along (default: 0, none)")
    parser.add_argument("--false-alarms", action="store_true", help="list every false alarm and confusion (stderr)")
    parser.add_argument("--set", action="append", metavar="KEY=VALUE", help="engine setting (pocketsphinx: SphinxSettings)")
    parser.add_argument("--detector", action="append", metavar="KEY=VALUE",
                        help="with --replay: a DetectorSettings value (JSON: 4.0, null for off)")
    args = parser.parse_args(argv)
    detector_settings = DetectorSettings()
    for item in args.detector or []:
        key, _, value = item.partition("=")
        if not hasattr(detector_settings, key):
            parser.error(f"--detector {key}: not a DetectorSettings field (assistant/speech/detector.py)")
        detector_settings = dataclasses.replace(detector_settings, **{key: json.loads(value)})
    if args.detector and not args.replay:
        parser.error("--detector needs --replay (a decode asks what the detector asks by default)")

    conditions = [c.strip() for c in args.conditions.split(",") if c.strip()]
    if not set(conditions) <= set(CONDITIONS):
        parser.error(f"--conditions: choose from {', '.join(CONDITIONS)}")
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    entries = load_manifest(Path(args.corpus), args.split, conditions, kinds, args.limit)
    out = Path(args.out) if args.out else DEFAULT_OUT / f"eval-{args.engine}-{args.split}.jsonl"

    idle = None
    if args.rescore or args.replay:
        results = {}
        for line in Path(args.rescore or args.replay).read_text().splitlines():
            row = json.loads(line)
            results[row["file"]] = row
        if args.replay:
            results = replay(results, entries, CueMatcher(load_library().cue_maps), detector_settings)
    else:
        print(f"{args.engine}: decoding {len(entries)} files on {args.jobs} worker(s)...", file=sys.stderr)
        out.parent.mkdir(parents=True, exist_ok=True)
        results = {}
        began = time.perf_counter()
        with open(out, "w") as sink:
            for done, result in enumerate(_decode_all(entries, args), 1):
                results[result["file"]] = result
                sink.write(json.dumps(result) + "\n")
                if done % 200 == 0:
                    print(f"  {done}/{len(entries)} files, {time.perf_counter() - began:.0f} s", file=sys.stderr)
        print(f"decoded in {time.perf_counter() - began:.0f} s; per-file results in {out}", file=sys.stderr)
        if not args.no_idle:
            idle = _idle(args.engine, args)
    figures = score(entries, results, CueMatcher(load_library().cue_maps))
    if args.false_alarms:
        for row in figures["false_list"]:
            print("FALSE", *row, sep=" | ", file=sys.stderr)
        for key, count in sorted(figures["confusions"].items(), key=lambda kv: -kv[1]):
            print("CONFUSED", key, count, sep=" | ", file=sys.stderr)
    settings = " ".join((args.set or []) + (args.detector or []))
    print(report(figures, f"{args.engine} on the {args.split} split {settings}".strip(), idle))


if __name__ == "__main__":
    main()
