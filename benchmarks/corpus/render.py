"""Rendering one planned item into its clean and noisy WAV files; runs in worker processes."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from assistant.audio.wavio import read_wav, write_wav
from levels import active_rms, speech_bounds, to_db
from noise import make_noise
from plan import Item
from voices import SAMPLE_RATE

LEAD_SECONDS = 1.0  # silence (or noise) before the utterance
TAIL_SECONDS = 1.5  # after it, so latency after the end of speech can be measured
SPEECH_LEVEL_DBFS = (-30.0, -20.0)  # active speech level, drawn per utterance: near and far talkers
PEAK_LIMIT = 0.97  # the loudest condition of an item is turned down to stay below this
GAP_SECONDS = (0.3, 1.2)  # between sentences of a long ordinary file

_worker: dict = {}


def init_worker(out: Path, seed: int, babble_pool: dict) -> None:
    _worker.update(out=out, seed=seed, babble=babble_pool)


def _rng(item_id: str, stream: str) -> np.random.Generator:
    """A generator for one item and one purpose: independent of build order and of other items."""
    digest = hashlib.sha256(f"{item_id}|{stream}".encode()).digest()
    return np.random.default_rng([_worker["seed"], int.from_bytes(digest[:8], "little")])


def render(task) -> list[dict]:
    item, clips = task
    if item.recording:
        speech, bounds = _recording_track(item.recording)
        segments = []
    else:
        speech, segments = _speech_track(item, clips)
        bounds = speech_bounds(speech, SAMPLE_RATE)
        if bounds is None:
            raise RuntimeError(f"{item.id}: no speech found")
    # Noise for the noisy conditions, scaled against the active speech level.
    noise_unit = None
    if any(snr is not None for snr in item.snrs_db):
        others = [clips for voice, clips in sorted(_worker["babble"].items()) if voice not in item.voice.split("+")]
        noise_unit = make_noise(item.noise, len(speech), SAMPLE_RATE, _rng(item.id, "noise"), others)
    speech_level = active_rms(speech, SAMPLE_RATE)
    # Turn everything down together if the loudest condition would clip: the SNRs stay exact.
    loudest = np.max(np.abs(speech))
    for snr in item.snrs_db:
        if snr is not None:
            loudest = max(loudest, np.max(np.abs(speech + noise_unit * speech_level / 10 ** (snr / 20))))
    if loudest > PEAK_LIMIT:
        speech = speech * (PEAK_LIMIT / loudest)
        speech_level *= PEAK_LIMIT / loudest

    rows = []
    out = _worker["out"]
    for snr in item.snrs_db:
        if snr is None:
            # One least significant bit of triangular dither: no stretch of digital zeros in a "clean" file.
            dither_rng = _rng(item.id, "dither")
            mix = speech + (dither_rng.random(len(speech)) - dither_rng.random(len(speech))) / 32767.0
            condition, noise_name = "clean", None
        else:
            mix = speech + noise_unit * (speech_level / 10 ** (snr / 20))
            condition, noise_name = f"snr{snr}-{item.noise}", item.noise
        relative = f"{item.stem}_{condition}.wav"
        path = out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        write_wav(path, mix.astype(np.float32), SAMPLE_RATE)
        row = {
            "file": relative,
            "id": item.id,
            "kind": item.kind,
            "intent": item.intent,
            "text": item.text,
            "voice": item.voice,
            "snr_db": snr,
            "noise": noise_name,
            "speech_start_s": round(bounds[0] / SAMPLE_RATE, 3),
            "speech_end_s": round(bounds[1] / SAMPLE_RATE, 3),
            "duration_s": round(len(mix) / SAMPLE_RATE, 3),
            "speech_level_dbfs": round(float(to_db(speech_level)), 2),
            "source": item.source,
        }
        if item.kind in ("start", "control"):
            row["in_cues_yaml"] = item.in_cues_yaml
        if segments:
            row["segments"] = segments
        rows.append(row)
    return rows


def _speech_track(item: Item, clips: list[np.ndarray]) -> tuple[np.ndarray, list[dict]]:
    """The clean speech of an item: 1.0 s lead, the clip(s), 1.5 s after the last speech."""
    level_rng, gap_rng = _rng(item.id, "level"), _rng(item.id, "gaps")
    base_level_db = level_rng.uniform(*SPEECH_LEVEL_DBFS)
    # In a long file each talker has a level of their own, and each sentence varies a little.
    talker_offset_db = {voice: level_rng.uniform(-3.0, 3.0) for voice in dict.fromkeys(v for v, _, _ in item.pieces)}
    placed, segments = [], []
    position = 0
    for (voice, text, section), clip in zip(item.pieces, clips):
        clip = clip.astype(np.float64)
        bounds = speech_bounds(clip, SAMPLE_RATE)
        if placed:
            position += round(gap_rng.uniform(*GAP_SECONDS) * SAMPLE_RATE)
        else:
            # Some voices start speaking in their first sample: place by the onset, not the clip.
            position = round(LEAD_SECONDS * SAMPLE_RATE) - bounds[0]
        level_db = base_level_db + (talker_offset_db[voice] + level_rng.uniform(-2.0, 2.0) if len(item.pieces) > 1 else 0.0)
        clip = clip * (10 ** (level_db / 20) / active_rms(clip, SAMPLE_RATE))
        placed.append((position, clip))
        segments.append(
            {
                "start_s": round((position + bounds[0]) / SAMPLE_RATE, 3),
                "end_s": round((position + bounds[1]) / SAMPLE_RATE, 3),
                "voice": voice,
                "section": section,
                "text": text,
            }
        )
        position += len(clip)
    last_end = round(segments[-1]["end_s"] * SAMPLE_RATE)
    track = np.zeros(max(position, last_end + round(TAIL_SECONDS * SAMPLE_RATE)))
    for start, clip in placed:
        track[start : start + len(clip)] += clip
    # Only long files need the per-sentence segments.
    return track, segments if len(item.pieces) > 1 else []


def _recording_track(path: str) -> tuple[np.ndarray, tuple[int, int]]:
    """A real recording at its own level, padded so its speech has 1.0 s before and 1.5 s after; and its speech bounds.

    The bounds are measured on the recording before padding: its own background is its floor.
    """
    if path.endswith(".raw"):
        samples = np.frombuffer(Path(path).read_bytes(), dtype="<i2").astype(np.float64) / 32768.0
    else:
        samples, rate = read_wav(path)
        if rate != SAMPLE_RATE:
            raise RuntimeError(f"{path}: {rate} Hz, expected {SAMPLE_RATE}")
        samples = samples.astype(np.float64)
    # Short fades so the recording's own background does not start or stop with a click.
    fade = np.linspace(0.0, 1.0, round(0.01 * SAMPLE_RATE))
    samples = samples.copy()
    samples[: len(fade)] *= fade
    samples[-len(fade) :] *= fade[::-1]
    bounds = speech_bounds(samples, SAMPLE_RATE, recorded=True)
    if bounds is None:
        raise RuntimeError(f"{path}: no speech found")
    lead = max(0, round(LEAD_SECONDS * SAMPLE_RATE) - bounds[0])
    tail = max(0, round(TAIL_SECONDS * SAMPLE_RATE) - (len(samples) - bounds[1]))
    return np.concatenate([np.zeros(lead), samples, np.zeros(tail)]), (lead + bounds[0], lead + bounds[1])
