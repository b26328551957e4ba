"""The night the soak benchmark listens to: a seeded programme of what the microphone hears, made block by block.

A programme is a list of stretches (quiet room, ordinary talk, household
noise, an exercise episode, a crisis episode) laid end to end, each holding
items placed at exact microphone samples: corpus clips (cues and ordinary
speech, benchmarks/corpus/out) and generated noise. `Scene` turns it into
audio 0.1 s at a time over a faint room-tone bed, loading a clip when it
starts and dropping it when it ends, so eight hours never sit in memory or on
disk. `EchoPath` adds what the assistant itself played, as a speaker in the
same room would.

Cues are placed with room for the detector to answer: after each cue the
microphone hears only the room for at least CUE_WINDOW_TAIL_S, and a cue's
window (speech start to speech end + CUE_WINDOW_TAIL_S) is where a detection
counts as hearing it.
"""

from __future__ import annotations

import io
import json
import math
import subprocess
import sys
import wave
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks" / "corpus"))

from assistant.audio.resample import resample  # noqa: E402
from assistant.audio.wavio import read_wav  # noqa: E402
from noise import make_noise  # noqa: E402  (benchmarks/corpus/noise.py)

RATE = 16000  # the recognizers' rate, the microphone's
CUE_WINDOW_TAIL_S = 4.0  # a detection up to this long after a cue's speech ends still counts as hearing it
CONTROL_WEIGHTS = {"pause": 0.3, "slower": 0.15, "faster": 0.1, "repeat": 0.2, "skip": 0.25}


@dataclass
class Item:
    """Something the microphone hears, placed at an exact sample."""

    start: int  # first microphone sample
    length: int  # samples
    kind: str  # "start", "control", "crisis", "ordinary" or "noise"
    stretch: int  # index of the stretch it belongs to
    intent: str | None = None  # start: exercise id; control: stop, pause, ...; crisis: the category
    text: str | None = None
    file: str | None = None  # corpus file (relative to the corpus folder)
    speech: tuple[int, int] | None = None  # absolute samples of the measured speech
    noise: str | None = None  # noise items: the type
    level_dbfs: float | None = None  # noise items: RMS level
    seed: int = 0  # noise items
    tts: tuple[str, int, int] | None = None  # synthesised items: (espeak-ng voice, words/min, pitch)
    condition: str | None = None  # corpus items: "clean", "snr20-fan", ...
    segments: list | None = None  # long ordinary files: [(start_s, end_s, text)] per sentence, from the file's start

    def said_at(self, sample: int) -> str | None:
        """Long files: the last two sentences begun by `sample` (a late final can hold both); else the item's text."""
        if not self.segments:
            return self.text
        seconds = (sample - self.start) / RATE
        before = [text for start_s, _, text in self.segments if start_s <= seconds]
        return " / ".join(before[-2:]) if before else self.segments[0][2]

    @property
    def end(self) -> int:
        return self.start + self.length

    @property
    def is_cue(self) -> bool:
        return self.kind in ("start", "control", "crisis")

    def window(self) -> tuple[int, int]:
        """Where a detection counts as hearing this cue: speech start to speech end + the tail."""
        first, last = self.speech or (self.start, self.end)
        return first, last + round(CUE_WINDOW_TAIL_S * RATE)


@dataclass
class Stretch:
    index: int
    kind: str  # "lead", "quiet", "talk", "noise", "episode" or "crisis"
    start: int
    end: int
    note: str = ""  # e.g. the exercise an episode asks for


@dataclass
class Programme:
    rate: int
    total_samples: int
    stretches: list[Stretch]
    items: list[Item]  # sorted by start
    seed: int
    language: str
    clips: dict = field(default_factory=dict, repr=False)  # synthesised cues by (text, voice, speed, pitch)

    def cues(self) -> list[Item]:
        return [item for item in self.items if item.is_cue]

    def summary(self) -> dict:
        seconds: dict[str, float] = {}
        for stretch in self.stretches:
            seconds[stretch.kind] = seconds.get(stretch.kind, 0.0) + (stretch.end - stretch.start) / self.rate
        placed: dict[str, int] = {}
        for item in self.items:
            placed[item.kind] = placed.get(item.kind, 0) + 1
        ordinary_s = sum(i.length for i in self.items if i.kind == "ordinary") / self.rate
        return {
            "hours": round(self.total_samples / self.rate / 3600, 3),
            "minutes_by_stretch": {k: round(v / 60, 1) for k, v in sorted(seconds.items())},
            "items_by_kind": dict(sorted(placed.items())),
            "ordinary_speech_minutes": round(ordinary_s / 60, 1),
        }

    def to_json(self) -> dict:
        return {
            "rate": self.rate, "total_samples": self.total_samples, "seed": self.seed, "language": self.language,
            "stretches": [asdict(s) for s in self.stretches],
            "items": [asdict(i) for i in self.items],
        }


# --- the corpus ----------------------------------------------------------------------------------------


def _condition(row: dict) -> str:
    return "clean" if row.get("snr_db") is None else f"snr{row['snr_db']}-{row.get('noise')}"


class Corpus:
    """The corpus manifest, sorted into the pools a night is drawn from."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        manifest = self.folder / "manifest.jsonl"
        if not manifest.is_file():
            raise SystemExit(
                f"no corpus at {self.folder} (no manifest.jsonl): build it with `python benchmarks/corpus/build.py` "
                "(or --quick for a small one)"
            )
        rows = [json.loads(line) for line in manifest.read_text(encoding="utf-8").splitlines() if line.strip()]
        self.start = [r for r in rows if r["kind"] == "start"]
        self.control: dict[str, list[dict]] = {}
        for r in rows:
            if r["kind"] == "control":
                self.control.setdefault(r["intent"], []).append(r)
        self.crisis = [r for r in rows if r["kind"] == "crisis"]
        self.ordinary_long = [r for r in rows if r["kind"] == "ordinary" and r.get("segments")]
        self.ordinary_single = [r for r in rows if r["kind"] == "ordinary" and not r.get("segments")]
        missing = [name for name, pool in (("start", self.start), ("crisis", self.crisis), ("ordinary", self.ordinary_single)) if not pool]
        if missing or "stop" not in self.control:
            raise SystemExit(f"the corpus at {self.folder} lacks {', '.join(missing or ['stop controls'])}")


class _Cycle:
    """Draws from a pool in shuffled rounds, so every entry is used before any is used again."""

    def __init__(self, pool: Sequence, rng: np.random.Generator):
        self.pool, self.rng, self.order = list(pool), rng, []

    def next(self):
        if not self.order:
            self.order = list(self.rng.permutation(len(self.pool)))
        return self.pool[self.order.pop()]


# --- synthesised cues (languages the corpus does not speak) -----------------------------------------------

KOREAN_VOICES = (("ko", 140, 50), ("ko+f2", 130, 60), ("ko+m3", 150, 40), ("ko+f4", 120, 55))


def espeak(text: str, voice: str, speed: int, pitch: int) -> np.ndarray:
    """espeak-ng speech at RATE, float32, trimmed to the speech and levelled to about -26 dBFS RMS."""
    wav = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "--stdout", text],
        capture_output=True, check=True, timeout=60,
    ).stdout
    with wave.open(io.BytesIO(wav)) as reader:
        rate = reader.getframerate()
        pcm = np.frombuffer(reader.readframes(reader.getnframes()), dtype=np.int16)
    audio = resample(pcm.astype(np.float32) / 32768.0, rate, RATE)
    loud = np.flatnonzero(np.abs(audio) > 0.01)
    if len(loud):
        audio = audio[loud[0] : loud[-1] + 1]
    rms = float(np.sqrt(np.mean(audio.astype(np.float64) ** 2))) or 1.0
    return (audio * (10 ** (-26 / 20) / rms)).astype(np.float32)


# --- the programme -----------------------------------------------------------------------------------------


class _Planner:
    def __init__(self, corpus: Corpus, rng: np.random.Generator, exercise_seconds: dict[str, float],
                 crisis_seconds: float, compact: bool, cue_maps, language: str):
        self.corpus, self.rng = corpus, rng
        self.exercise_seconds, self.crisis_seconds = exercise_seconds, crisis_seconds
        self.compact, self.language = compact, language
        self.items: list[Item] = []
        self.stretches: list[Stretch] = []
        self.start_pool = _Cycle(corpus.start, rng)
        self.control_pools = {intent: _Cycle(rows, rng) for intent, rows in corpus.control.items()}
        self.crisis_pool = _Cycle(corpus.crisis, rng)
        self.long_pool = _Cycle(corpus.ordinary_long or corpus.ordinary_single, rng)
        self.single_pool = _Cycle(corpus.ordinary_single, rng)
        self.tts_start: _Cycle | None = None
        self.tts_control: dict[str, _Cycle] = {}
        if language != "en":  # the corpus speaks English: cues are synthesised in the cue maps' language
            starts = [(cue.exercise_id, phrase) for m in cue_maps for cue in m.start for phrase in cue.phrases]
            self.tts_start = _Cycle(starts, rng)
            for m in cue_maps:
                for intent, phrases in m.control.items():
                    self.tts_control[intent] = _Cycle(list(phrases), rng)
        self.voice_pool = _Cycle(KOREAN_VOICES, rng)
        self.note = ""  # what the stretch being planned asks for (an episode's exercise)
        self.clips: dict[tuple, np.ndarray] = {}  # synthesised cues, rendered while planning

    def s(self, seconds: float) -> int:
        return round(seconds * RATE)

    # Items ------------------------------------------------------------------------------------------------

    def corpus_item(self, row: dict, at: int, stretch: int) -> Item:
        length = self.s(row["duration_s"])
        speech = (at + self.s(row["speech_start_s"]), at + self.s(row["speech_end_s"]))
        segments = [(seg["start_s"], seg["end_s"], seg["text"]) for seg in row["segments"]] if row.get("segments") else None
        item = Item(at, length, row["kind"], stretch, row.get("intent"), row.get("text"), row["file"], speech,
                    condition=_condition(row), segments=segments)
        self.items.append(item)
        return item

    def cue(self, kind: str, intent: str | None, at: int, stretch: int) -> Item:
        """A start/control/crisis cue at `at`; returns it (the caller leaves the tail quiet)."""
        if self.language != "en" and kind in ("start", "control"):
            voice = self.voice_pool.next()
            if kind == "start":
                exercise, text = self.tts_start.next()
                intent = exercise
            else:
                text = self.tts_control[intent].next()
            key = (text, *voice)
            if key not in self.clips:
                self.clips[key] = espeak(text, *voice)
            clip = len(self.clips[key])
            lead = self.s(0.5)
            item = Item(at, lead + clip + self.s(1.5), kind, stretch, intent, text, None, (at + lead, at + lead + clip), tts=voice)
            self.items.append(item)
            return item
        if kind == "start":
            row = self.start_pool.next()
        elif kind == "control":
            row = self.control_pools[intent].next()
        else:
            row = self.crisis_pool.next()
        return self.corpus_item(row, at, stretch)

    def after_cue(self, item: Item) -> int:
        """The first sample free after a cue: its file's end, and at least the window tail after its speech."""
        return max(item.end, item.window()[1]) + self.s(0.5)

    # Stretches -------------------------------------------------------------------------------------------

    def quiet(self, at: int, index: int) -> int:
        seconds = self.rng.uniform(10, 30) if self.compact else math.exp(self.rng.uniform(math.log(120), math.log(1500)))
        return at + self.s(seconds)

    def talk(self, at: int, index: int) -> int:
        t = at + self.s(1.0)
        if not self.compact and self.rng.random() < 0.5:
            for _ in range(1 + int(self.rng.random() < 0.4)):
                t = self.corpus_item(self.long_pool.next(), t, index).end + self.s(self.rng.uniform(1, 4))
            return t
        count = int(self.rng.integers(2, 5) if self.compact else self.rng.integers(6, 20))
        for _ in range(count):
            t = self.corpus_item(self.single_pool.next(), t, index).end + self.s(self.rng.uniform(0.5, 6))
        return t

    def noise(self, at: int, index: int) -> int:
        seconds = self.rng.uniform(15, 30) if self.compact else self.rng.uniform(60, 480)
        kind = str(self.rng.choice(["fan", "household", "pink", "brown"]))
        level = float(self.rng.uniform(-45, -30))
        item = Item(at, self.s(seconds), "noise", index, noise=kind, level_dbfs=round(level, 1),
                    seed=int(self.rng.integers(2**31)), text=f"{kind} noise at {level:.0f} dBFS")
        self.items.append(item)
        return item.end

    def episode(self, at: int, index: int) -> int:
        start = self.cue("start", None, at + self.s(1.0), index)
        t = self.after_cue(start)
        exercise = start.intent
        expected = self.exercise_seconds.get(exercise, 300.0)
        self.note = exercise
        planned = self.rng.uniform(20, 35) if self.compact else self.rng.uniform(60, 480)
        runs_out = planned >= expected  # let it finish by itself, else say "stop"
        horizon = at + self.s(min(planned, expected))
        controls = int(self.rng.integers(1, 3) if self.compact else self.rng.integers(0, 4))
        paused_s = 0.0
        for _ in range(controls):
            t += self.s(self.rng.uniform(3, 8) if self.compact else self.rng.uniform(15, 60))
            if t >= horizon:
                break
            intents = list(CONTROL_WEIGHTS)
            weights = np.array([CONTROL_WEIGHTS[i] for i in intents])
            intent = str(self.rng.choice(intents, p=weights / weights.sum()))
            if self.language == "en" and (intent not in self.corpus.control or (intent == "pause" and "resume" not in self.corpus.control)):
                continue
            item = self.cue("control", intent, t, index)
            t = self.after_cue(item)
            if intent == "pause":
                wait = self.rng.uniform(3, 8) if self.compact else self.rng.uniform(5, 25)
                t += self.s(wait)
                item = self.cue("control", "resume", t, index)
                t = self.after_cue(item)
                paused_s += (t - item.start) / RATE + wait
        if runs_out:
            return max(t, at + self.s(expected + paused_s + 20))
        t = max(t, horizon)
        stop = self.cue("control", "stop", t, index)
        return self.after_cue(stop) + self.s(2.0)

    def crisis(self, at: int, index: int) -> int:
        if self.language != "en":  # crisis language is matched in English only
            return self.quiet(at, index)
        item = self.cue("crisis", None, at + self.s(1.0), index)
        t = self.after_cue(item)
        t += self.s(self.rng.uniform(8, 15) if self.compact else self.rng.uniform(30, 90))
        if not self.compact and self.rng.random() < 0.5 and "repeat" in self.corpus.control:
            t = self.after_cue(self.cue("control", "repeat", t, index)) + self.s(self.rng.uniform(20, 60))
        if self.compact or self.rng.random() < 0.6:
            return self.after_cue(self.cue("control", "stop", t, index)) + self.s(2.0)
        return max(t, item.end + self.s(self.crisis_seconds + 10))


STRETCH_WEIGHTS = {"quiet": 0.28, "talk": 0.32, "noise": 0.15, "episode": 0.20, "crisis": 0.05}
COMPACT_ORDER = ("episode", "talk", "episode", "crisis", "noise", "episode", "quiet", "talk")


def make_programme(
    corpus: Corpus,
    hours: float,
    seed: int,
    exercise_seconds: dict[str, float],
    crisis_seconds: float,
    cue_maps=(),
    language: str = "en",
) -> Programme:
    """A night of `hours`, drawn from `seed`. Runs under half an hour use short stretches in a fixed order first."""
    rng = np.random.default_rng(seed)
    compact = hours < 0.5
    planner = _Planner(corpus, rng, exercise_seconds, crisis_seconds, compact, cue_maps, language)
    total = round(hours * 3600 * RATE)
    lead = round(8.0 * RATE)  # the recognizers learn the room's noise floor
    stretches = [Stretch(0, "lead", 0, lead)]
    t = lead
    kinds = list(STRETCH_WEIGHTS)
    weights = np.array([STRETCH_WEIGHTS[k] for k in kinds])
    previous = None
    while t < total:
        index = len(stretches)
        if compact and index - 1 < len(COMPACT_ORDER):
            kind = COMPACT_ORDER[index - 1]
        else:
            kind = str(rng.choice(kinds, p=weights / weights.sum()))
            if kind == previous and kind in ("quiet", "noise"):
                continue
        planner.note = ""
        end = getattr(planner, kind)(t, index)
        stretches.append(Stretch(index, kind, t, end, planner.note))
        previous, t = kind, end
    # Whatever runs past the end is cut: items starting after it are dropped, the last stretch shortened.
    items = sorted((i for i in planner.items if i.start < total), key=lambda i: i.start)
    stretches = [s for s in stretches if s.start < total]
    stretches[-1].end = min(stretches[-1].end, total)
    return Programme(RATE, total, stretches, items, seed, language, planner.clips)


# --- the audio ---------------------------------------------------------------------------------------------


def _seamless_loop(noise: np.ndarray, length: int, crossfade: int) -> np.ndarray:
    """`length` samples that loop without a seam: the extra `crossfade` samples are blended into the head."""
    loop = noise[:length].copy()
    ramp = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, crossfade))
    loop[:crossfade] = noise[:crossfade] * ramp + noise[length : length + crossfade] * (1 - ramp)
    return loop


class _Active:
    def __init__(self, item: Item, audio: np.ndarray, looped: bool = False, fade: int = 0):
        self.item, self.audio, self.looped, self.fade = item, audio, looped, fade


class Scene:
    """The programme as microphone audio (float32 at RATE), one block after another."""

    def __init__(self, programme: Programme, corpus: Corpus, bed_dbfs: float = -58.0, seed: int = 0):
        self.programme, self.corpus = programme, corpus
        self.position = 0
        self._next = 0  # index of the next item to start
        self._active: list[_Active] = []
        rng = np.random.default_rng([seed, 1])
        seconds, fade = 60, RATE // 2
        pink = make_noise("pink", seconds * RATE + fade, RATE, rng)
        brown = make_noise("brown", seconds * RATE + fade, RATE, rng)
        mix = (0.6 * pink + 0.8 * brown) / math.sqrt(0.6**2 + 0.8**2)
        self._bed = (_seamless_loop(mix, seconds * RATE, fade) * 10 ** (bed_dbfs / 20)).astype(np.float32)

    def active_items(self) -> list[Item]:
        return [a.item for a in self._active]

    def read(self, count: int) -> np.ndarray:
        start, end = self.position, self.position + count
        bed_at = start % len(self._bed)
        out = np.take(self._bed, np.arange(bed_at, bed_at + count), mode="wrap").astype(np.float32)
        items = self.programme.items
        while self._next < len(items) and items[self._next].start < end:
            self._active.append(self._load(items[self._next]))
            self._next += 1
        keep = []
        for active in self._active:
            item = active.item
            lo, hi = max(start, item.start), min(end, item.end)
            if lo < hi:
                if active.looped:
                    idx = np.arange(lo - item.start, hi - item.start)
                    piece = active.audio[idx % len(active.audio)]
                    ramp = np.minimum(1.0, np.minimum(idx, item.length - 1 - idx) / active.fade)
                    out[lo - start : hi - start] += piece * ramp.astype(np.float32)
                else:
                    out[lo - start : hi - start] += active.audio[lo - item.start : hi - item.start]
            if item.end > end:
                keep.append(active)
        self._active = keep
        self.position = end
        return out

    def _load(self, item: Item) -> _Active:
        if item.kind == "noise":
            rng = np.random.default_rng(item.seed)
            seconds, fade = 30, RATE // 4
            noise = make_noise(item.noise, seconds * RATE + fade, RATE, rng)
            loop = _seamless_loop(noise, seconds * RATE, fade) * 10 ** (item.level_dbfs / 20)
            return _Active(item, loop.astype(np.float32), looped=True, fade=RATE)
        if item.tts is not None:
            clip = self.programme.clips[(item.text, *item.tts)]
            lead = item.speech[0] - item.start
            audio = np.zeros(item.length, dtype=np.float32)
            audio[lead : lead + len(clip)] = clip
            return _Active(item, audio)
        samples, rate = read_wav(self.corpus.folder / item.file)
        if rate != RATE:
            samples = resample(samples, rate, RATE)
        audio = np.zeros(item.length, dtype=np.float32)
        audio[: min(len(samples), item.length)] = samples[: item.length]
        return _Active(item, audio)


class EchoPath:
    """What the assistant played, heard back at the microphone: the output delayed by the player's latency,
    and through a `Room` when given one.

    The output is pulled ahead of the microphone by `delay` seconds, exactly as
    the live player runs ahead of the speaker, so output frame f is heard at
    microphone time f / out_rate. Each 0.1 s microphone block is resampled
    from the output with half a block of context either side (no block-edge
    clicks). Output rates whose 0.1 s is a whole number of frames only.
    """

    def __init__(self, out_rate: int, gain_db: float | None, block: int = 1600, room_rt60_seconds: float | None = None,
                 seed: int = 7):
        self.out_rate, self.block = out_rate, block
        self.gain = None if gain_db is None else 10 ** (gain_db / 20)
        self.room = None if room_rt60_seconds is None else Room(room_rt60_seconds, block, seed)
        self.out_block = out_rate * block / RATE
        if self.out_block != int(self.out_block) or int(self.out_block) % 2:
            raise ValueError(f"output rate {out_rate} does not fit whole 0.1 s blocks")
        self.out_block = int(self.out_block)
        self.margin = self.out_block // 2
        self._ring = np.zeros(1 << 18, dtype=np.float32)  # the last ~6 s of output, written round and round
        self.pulled = 0

    def add(self, block: np.ndarray) -> None:
        at = np.arange(self.pulled, self.pulled + len(block)) % len(self._ring)
        self._ring[at] = block
        self.pulled += len(block)

    def heard(self, block_index: int) -> np.ndarray | None:
        """What the microphone hears of our output during microphone block `block_index` (None: nothing)."""
        if self.gain is None:
            return None
        lo = block_index * self.out_block - self.margin
        hi = (block_index + 1) * self.out_block + self.margin
        if hi > self.pulled:
            raise RuntimeError("the output has not been pulled far enough ahead for the echo")
        if self.pulled - lo > len(self._ring):
            raise RuntimeError("the output has been pulled too far ahead for the echo")
        window = np.zeros(hi - lo, dtype=np.float32)
        a = max(lo, 0)
        window[a - lo :] = self._ring[np.arange(a, hi) % len(self._ring)]  # (np.take's "wrap" subtracts in a loop: slow this far in)
        if not window.any():
            if self.room is None or not self.room.ringing:
                return None
            return self.room(np.zeros(self.block, dtype=np.float32))  # the room still rings after we stop
        mic = resample(window, self.out_rate, RATE)
        edge = self.block // 2
        heard = mic[edge : edge + self.block] * self.gain
        return heard if self.room is None else self.room(heard)


class Room:
    """The way from speaker to microphone in a room: a direct path, then reflections dying away (Gaussian noise
    under an exponential decay reaching -60 dB at `rt60_seconds`), applied block by block (overlap-add), so
    the echo canceller faces a room, not a plain delay. By default the reflections carry as much energy as the
    direct path: a small furnished room heard from a metre or so; `reflections_db` more: further away."""

    def __init__(self, rt60_seconds: float, block: int, seed: int, reflections_db: float = 0.0):
        rng = np.random.default_rng(seed)
        length = round(rt60_seconds * RATE)
        t = np.arange(length) / RATE
        tail = rng.standard_normal(length) * np.exp(-6.9 * t / rt60_seconds)
        tail[: round(0.003 * RATE)] = 0  # the first reflection a metre behind the direct sound
        tail *= 10 ** (reflections_db / 20) / np.sqrt(np.sum(tail**2))
        response = np.zeros(length)
        response[0] = 1.0
        response += tail
        response /= np.sqrt(1.0 + 10 ** (reflections_db / 10))  # the level stays the echo's level
        self.size = 1 << int(np.ceil(np.log2(block + length)))
        self._response = np.fft.rfft(response, self.size)
        self._carry = np.zeros(self.size - block)
        self.block = block

    def __call__(self, block: np.ndarray) -> np.ndarray:
        out = np.fft.irfft(np.fft.rfft(block.astype(np.float64), self.size) * self._response, self.size)
        out[: len(self._carry)] += self._carry
        self._carry = out[self.block :]
        return out[: self.block].astype(np.float32)

    @property
    def ringing(self) -> bool:
        return bool(np.any(np.abs(self._carry) > 1e-6))
