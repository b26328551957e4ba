"""Our output and the microphone as arrays, for the echo timing and echo canceller tests and benchmarks/echo_cancel.py."""

from __future__ import annotations

import time
from typing import Callable

import numpy as np

MIC_RATE, OUT_RATE = 16000, 44100
PULL_FRAMES, MIC_BLOCK = 1024, 1600  # the output stream's pulls; the microphone's 0.1 s blocks


def bursts(seconds: float, seed: int, tone: bool = True, smooth: int = 8) -> np.ndarray:
    """Speech-like, at OUT_RATE: bursts of noise 0.1 to 0.6 s on and off (averaged over `smooth` samples, which
    takes its top off as a voice's is), over our quiet breath tone at 220 Hz."""
    rng = np.random.default_rng(seed)
    frames = round(seconds * OUT_RATE)
    envelope = np.zeros(frames)
    at = 0
    while at < frames:
        on = round(rng.uniform(0.1, 0.6) * OUT_RATE)
        envelope[at : at + on] = rng.uniform(0.2, 1.0)
        at += on + round(rng.uniform(0.1, 0.6) * OUT_RATE)
    voice = np.convolve(rng.standard_normal(frames), np.ones(smooth) / smooth, "same")
    hum = 0.05 * np.sin(2 * np.pi * 220 * np.arange(frames) / OUT_RATE) if tone else 0.0
    return (0.3 * envelope * voice + hum).astype(np.float32)


def run_canceller(ours: np.ndarray, heard: np.ndarray, canceller, before_block: Callable[[int], None] | None = None):
    """As `grounding listen` runs it: our output pulled PULL_FRAMES at a time, 0.3 s ahead of the microphone,
    into the canceller's copy; the microphone's blocks through the canceller (`before_block(start)` first).
    Returns what came out (float) and the canceller's CPU seconds per second of audio."""
    pcm = np.clip(np.round(heard * 32768), -32768, 32767).astype(np.int16)
    out, pulled, cpu = [], 0, 0.0
    for start in range(0, len(pcm) - MIC_BLOCK + 1, MIC_BLOCK):
        while pulled < (start + MIC_BLOCK) / MIC_RATE * OUT_RATE + 0.3 * OUT_RATE and pulled < len(ours):
            canceller.reference.add(ours[pulled : pulled + PULL_FRAMES])
            pulled += PULL_FRAMES
        if before_block is not None:
            before_block(start)
        began = time.thread_time()
        out.append(canceller.cancel(start, pcm[start : start + MIC_BLOCK]))
        cpu += time.thread_time() - began
    result = np.concatenate(out).astype(np.float64) / 32768
    return result, cpu / (len(result) / MIC_RATE)
