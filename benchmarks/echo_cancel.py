"""How much of our own sound the echo canceller takes out, and what it leaves of a person talking over it.

    python benchmarks/echo_cancel.py [--set name=value ...]

Scenes built from arrays (no audio server, no recognizer), each through `EchoReference` and `EchoCanceller`
exactly as `grounding listen` runs them (output pulled 1024 frames at a time ahead of the microphone's 0.1 s
blocks), and through a room (`soak_scene.Room`: a direct path and reflections dying away over 0.3 s):

- voice: our speech-like sound for 30 s; what is taken out after 1-3 s and after 10 s.
- talk over, loud / quiet: a person talks for 5 s from 15 s, as loud as our sound at the microphone or 8 dB
  below it; what is taken out while they talk and after, and how much of their voice comes through
  (correlation of the output with their voice alone); four people (seeds), each figure listed per person.
  Also with the reflections 10 dB louder than the direct sound (a speaker across a bare room).
- breath tone: the real breath tone of an exercise (resonance breathing, gliding between 220 and 330 Hz) for
  60 s; the share of 0.5 s stretches after the first 20 s with less than 6 dB taken out.
- voice after tone: two minutes of steady tone, then our voice; the most any 0.5 s stretch of the voice is
  made louder, and what is taken out of it over its first 8 s.
- CPU: seconds per second of microphone audio, median of the scenes.

`--set` changes a setting of EchoCanceller for the run (as tried in session 29).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from assistant.audio.echo_cancel import EchoCanceller, EchoReference  # noqa: E402
from assistant.audio.resample import resample  # noqa: E402
from tests.echo_scene import MIC_BLOCK, MIC_RATE, OUT_RATE, PULL_FRAMES, bursts, run_canceller  # noqa: E402

HEARD_AT = 2000  # microphone sample at which output frame 0 is heard
PLACED_LATE = 0.02  # seconds: EchoTiming's placement is not exact
PERSON_SEEDS = (9, 10, 11, 12)  # four people talking over us


def breath_tone(seconds: float) -> np.ndarray:
    """The breath tone of resonance breathing as `grounding render` makes it, without the words (44.1 kHz)."""
    from assistant.audio.timeline import TimelineSettings
    from assistant.library.loader import load_library
    from assistant.session_audio import SessionAudio

    from assistant.session import Session

    session = Session(SessionAudio(load_library().get("resonance-5-5"), TimelineSettings(sample_rate=OUT_RATE)))
    frames = round(seconds * OUT_RATE)
    return np.concatenate([session.pull(PULL_FRAMES) for _ in range(-(-frames // PULL_FRAMES))])[:frames].astype(np.float32)


def through_room(ours: np.ndarray, gain: float = 0.5, reflections_db: float = 0.0) -> np.ndarray:
    """What the microphone hears of `ours` (resampled, through the room, frame 0 heard at HEARD_AT)."""
    from soak_scene import Room

    at_mic = resample(ours, OUT_RATE, MIC_RATE).astype(np.float64) * gain
    room = Room(0.3, MIC_BLOCK, seed=7, reflections_db=reflections_db)
    padded = np.concatenate([np.zeros(HEARD_AT), at_mic])
    padded = np.concatenate([padded, np.zeros(-len(padded) % MIC_BLOCK)])
    heard = np.concatenate([room(padded[i : i + MIC_BLOCK].astype(np.float32)) for i in range(0, len(padded), MIC_BLOCK)])
    return heard[: len(at_mic)].astype(np.float64)


def run(ours: np.ndarray, heard: np.ndarray, settings: dict) -> tuple[np.ndarray, float]:
    """The canceller's output for `heard` and its CPU seconds per second of audio."""
    canceller = EchoCanceller(EchoReference(OUT_RATE, MIC_RATE), **settings)
    canceller.place(HEARD_AT + PLACED_LATE * MIC_RATE)
    return run_canceller(ours, heard, canceller)


def db(samples: np.ndarray) -> float:
    return 10 * np.log10(float(np.mean(np.square(samples))) + 1e-20)


def span(a: float, b: float) -> slice:
    return slice(round(a * MIC_RATE), round(b * MIC_RATE))


def taken_out(echo: np.ndarray, left: np.ndarray, a: float, b: float) -> float:
    return round(db(echo[span(a, b)]) - db(left[span(a, b)]), 1)


def measure(settings: dict) -> dict:
    rng = np.random.default_rng(5)
    results, cpus = {}, []

    ours = bursts(30, seed=1)
    echo = through_room(ours)
    noise = 0.001 * rng.standard_normal(len(echo))
    out, cpu = run(ours, echo + noise, settings)
    cpus.append(cpu)
    left = out - noise[: len(out)]
    results["voice"] = {"taken_out_db_1_3s": taken_out(echo, left, 1, 3), "taken_out_db_10_29s": taken_out(echo, left, 10, 29)}

    far_echo = through_room(ours, reflections_db=10.0)
    for name, level_db, echo in (("talk_over_loud", 0.0, echo), ("talk_over_quiet", -8.0, echo),
                                 ("talk_over_loud_far_room", 0.0, far_echo)):
        while_talking, after, kept, kept_without = [], [], [], []
        for seed in PERSON_SEEDS:
            voice = resample(bursts(5, seed=seed, tone=False), OUT_RATE, MIC_RATE).astype(np.float64)
            voice *= 10 ** ((db(echo[span(15, 20)]) + level_db - db(voice)) / 20)
            person = np.zeros_like(echo)
            person[span(15, 15 + len(voice) / MIC_RATE)] = voice
            out, cpu = run(ours, echo + person + noise, settings)
            cpus.append(cpu)
            left = out - person[: len(out)] - noise[: len(out)]
            talk = span(15, 20)
            while_talking.append(taken_out(echo, left, 15, 20))
            after.append(taken_out(echo, left, 21, 29))
            kept.append(round(float(np.corrcoef(out[talk], person[talk])[0, 1]), 3))
            kept_without.append(round(float(np.corrcoef((echo + person)[talk], person[talk])[0, 1]), 3))
        results[name] = {
            "person_db_against_ours": level_db,
            "taken_out_db_while_talking": while_talking,
            "taken_out_db_after": after,
            "person_correlation": kept,
            "person_correlation_without_canceller": kept_without,
        }

    tone = breath_tone(60)
    echo = through_room(tone)
    noise = 0.001 * rng.standard_normal(len(echo))
    out, cpu = run(tone, echo + noise, settings)
    cpus.append(cpu)
    left = out - noise[: len(out)]
    stretches = [taken_out(echo, left, a, a + 0.5) for a in np.arange(20, 59.5, 0.5) if db(echo[span(a, a + 0.5)]) > -60]
    results["breath_tone"] = {
        "stretches": len(stretches),
        "share_under_6_db": round(sum(s < 6 for s in stretches) / max(1, len(stretches)), 3),
        "taken_out_db_p50": float(np.median(stretches)) if stretches else None,
    }

    hum = (0.05 * np.sin(2 * np.pi * 220 * np.arange(120 * OUT_RATE) / OUT_RATE)).astype(np.float32)
    ours = np.concatenate([hum, bursts(10, seed=1)])
    echo = through_room(ours)
    noise = 0.001 * rng.standard_normal(len(echo))
    out, cpu = run(ours, echo + noise, settings)
    cpus.append(cpu)
    left = out - noise[: len(out)]
    results["voice_after_tone"] = {
        "worst_made_louder_db": round(max(-taken_out(echo, left, a, a + 0.5) for a in np.arange(120, 129, 0.5)), 1),
        "taken_out_db_120_128s": taken_out(echo, left, 120, 128),
    }
    results["cpu_s_per_s"] = round(float(np.median(cpus)), 4)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="an EchoCanceller setting")
    args = parser.parse_args(argv)
    settings = {}
    for item in args.set:
        name, _, value = item.partition("=")
        settings[name] = float(value)
    print(json.dumps({"settings": settings, **measure(settings)}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
