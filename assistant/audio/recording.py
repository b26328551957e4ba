"""A clinician's own recording made ready to mix: resampled to the session rate, levelled like the voice, edges faded."""

from __future__ import annotations

import os

import numpy as np

from assistant.audio.resample import resample
from assistant.audio.tones import raised_cosine_ramp
from assistant.audio.wavio import read_wav

# The same peak as the synthetic voice's prompts (about -6 dBFS), so a recorded step is
# neither louder nor quieter than a spoken one and leaves headroom over the breath tone.
PEAK_LEVEL = 0.5
# A quiet recording is raised at most this much: more would raise the room noise with it.
MAX_GAIN = 10.0  # +20 dB
EDGE_FADE_SECONDS = 0.008  # a recording that starts or stops mid-sound must not click


def prepare_recording(samples: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Float32 clip at `to_rate`: levelled to PEAK_LEVEL (at most MAX_GAIN louder), 8 ms raised-cosine edges."""
    peak = float(np.max(np.abs(samples))) if len(samples) else 0.0
    gain = min(PEAK_LEVEL / peak, MAX_GAIN) if peak > 0 else 1.0
    clip = resample(samples, from_rate, to_rate).astype(np.float64) * gain
    fade = raised_cosine_ramp(min(round(EDGE_FADE_SECONDS * to_rate), len(clip) // 2))
    if len(fade):
        clip[: len(fade)] *= fade
        clip[len(clip) - len(fade) :] *= fade[::-1]
    return clip.astype(np.float32)


def load_recording(path: str | os.PathLike, to_rate: int) -> np.ndarray:
    """Read a WAV and prepare it for a session at `to_rate`; raises AudioFileError."""
    samples, rate = read_wav(path)
    return prepare_recording(samples, rate, to_rate)
