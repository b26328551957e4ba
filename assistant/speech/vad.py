"""When has the person finished answering? Energy-based voice activity and a listening-step segmenter.

Two small pieces, in the manner of Home Assistant's assist_pipeline/vad.py:

- `EnergyDetector` says whether one block of microphone audio is speech: its
  level is compared with a noise floor that follows the quiet parts of the room.
- `ListenSegmenter` is told, block by block, how long the block was and whether
  it was speech (`process(chunk_seconds, is_speech)`), and says when a listening
  step is over: after speech followed by `silence_seconds` of quiet, or at
  `timeout_seconds` if nothing was heard. Its time is audio consumed, never a
  clock, so tests drive it with numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

_EPSILON_SECONDS = 1e-9  # chunk lengths are summed as floats: 30 x 0.1 must reach 3.0


@dataclass
class EnergyDetector:
    """Speech is a block louder than the room's noise floor by `margin_db`.

    The floor drops at once to any quieter block and rises slowly
    (`rise_seconds`), so a fan that starts is learned as room within seconds
    while the short gaps between words keep pulling it back down.
    """

    margin_db: float = 10.0  # how far above the floor speech must be
    rise_seconds: float = 8.0  # time constant of the floor's climb towards louder rooms
    lowest_floor_dbfs: float = -65.0  # digital silence does not make every whisper of noise "speech"
    floor_dbfs: float | None = None  # learned from the first block

    def level_dbfs(self, samples: np.ndarray) -> float:
        """RMS level of a block in dBFS; int16 blocks are scaled to full scale first."""
        values = np.asarray(samples, dtype=np.float64)
        if np.asarray(samples).dtype == np.int16:
            values = values / 32768.0
        rms = math.sqrt(float(np.mean(values * values))) if len(values) else 0.0
        return 20.0 * math.log10(max(rms, 1e-10))

    def is_speech(self, samples: np.ndarray, sample_rate: int) -> bool:
        """Whether this block is speech; the floor learns from it either way."""
        level = self.level_dbfs(samples)
        if self.floor_dbfs is None:
            self.floor_dbfs = max(level, self.lowest_floor_dbfs)
        speech = level > self.floor_dbfs + self.margin_db
        if level < self.floor_dbfs:
            self.floor_dbfs = max(level, self.lowest_floor_dbfs)
        else:
            chunk_seconds = len(samples) / sample_rate
            self.floor_dbfs += (level - self.floor_dbfs) * (1.0 - math.exp(-chunk_seconds / self.rise_seconds))
        return speech


@dataclass
class ListenSegmenter:
    """One listening step: over after speech then `silence_seconds` of quiet, or at `timeout_seconds`."""

    timeout_seconds: float
    silence_seconds: float = 2.5
    speech_seconds: float = 0.3  # this much speech in a row counts as the person talking (a knock does not)
    resume_seconds: float = 0.2  # speech this long in a row during the quiet starts the quiet count again
    heard_speech: bool = False
    done: bool = False
    reason: str | None = None  # "silence" or "timeout" once done
    elapsed_seconds: float = 0.0
    _speech_run_seconds: float = 0.0
    _quiet_run_seconds: float = 0.0

    def process(self, chunk_seconds: float, is_speech: bool) -> bool:
        """Account for one chunk of audio; True while still listening, False once the step is over."""
        if self.done:
            return False
        self.elapsed_seconds += chunk_seconds
        if is_speech:
            self._speech_run_seconds += chunk_seconds
            needed = self.resume_seconds if self.heard_speech else self.speech_seconds
            if self._speech_run_seconds >= needed - _EPSILON_SECONDS:
                self.heard_speech = True
                self._quiet_run_seconds = 0.0
        else:
            self._speech_run_seconds = 0.0
            if self.heard_speech:
                self._quiet_run_seconds += chunk_seconds
        if self.heard_speech and self._quiet_run_seconds >= self.silence_seconds - _EPSILON_SECONDS:
            self._finish("silence")
        elif self.elapsed_seconds >= self.timeout_seconds - _EPSILON_SECONDS:
            self._finish("timeout")
        return not self.done

    def _finish(self, reason: str) -> None:
        self.done, self.reason = True, reason
