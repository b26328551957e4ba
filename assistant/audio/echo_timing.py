"""Where at the microphone our own sound is heard: placed by the output stream's clock, corrected by measuring.

`grounding listen` tells its detector which stretches of the microphone stream hold our own voice (the gate)
and our breath tone (the tone spans), so that neither is taken for the person. Each block the output stream
pulls was placed at `samples_fed + delay_seconds * mic_rate`, and that was off two ways. The microphone is fed
0.1 s at a time, so `samples_fed` stood still for four pulls and then jumped: placements jittered by 0.15 s
(p5 to p95). And the assumed delay (the output stream's latency) leaves out the microphone's own latency and
the audio server's: through PulseAudio with our output looped back into the microphone
(tests/test_listen_pulse.py) our sound came back 0.17 s later than placed (median; session 28), and a
Bluetooth speaker adds more.

So the output is placed on a clock of its own: the frames pulled, at the microphone's rate, from an anchor that
follows the raw placement slowly (a moving average over about a second of pulls), which takes the jitter out.
And the lateness is measured: the loudness of what we played and of what the microphone heard is kept in 10 ms
slots, and every few seconds the offset at which their changes line up best is found (a normalised
correlation of the slot-to-slot changes in log energy, over the last 8 s). Only a clear answer, confirmed by
another, is taken: with headphones nothing of ours comes back and the placement stays as assumed. Numpy only;
the output thread calls `place`, the microphone thread `heard`.
"""

from __future__ import annotations

import threading

import numpy as np

SLOT_SECONDS = 0.01
SILENT_LOG_ENERGY = -9.0  # log10 of a slot's mean square: digital silence of ours is left out of the measure


class EchoTiming:
    """Maps output frames to the microphone samples at which they are heard, and measures how late they are."""

    def __init__(
        self,
        mic_rate: int,
        out_rate: int,
        kept_seconds: float = 8.0,  # the stretch compared each time
        earliest_seconds: float = -0.3,  # lateness searched: from this early ...
        latest_seconds: float = 1.2,  # ... to this late, against the placement
        every_seconds: float = 2.0,  # of microphone audio, between measurements
        min_correlation: float = 0.5,  # a clear answer; through the loopback the best offset scored 0.9
        min_played_seconds: float = 1.0,  # of our own sound (not silence) in the stretch compared
        agree_seconds: float = 0.03,  # two measurements this close confirm each other
        anchor_weight: float = 0.02,  # of each pull's raw placement in the anchor (about 1 s at 43 pulls a second)
        reanchor_seconds: float = 0.5,  # a raw placement this far off (the player restarted) resets the anchor
    ):
        self.mic_rate, self.out_rate = mic_rate, out_rate
        self.slot = round(mic_rate * SLOT_SECONDS)
        self.lateness_samples = 0  # measured: added to every placement
        self.measured_seconds: list[float] = []  # each clear measurement, in order (figures, tests)
        self._kept_slots = round(kept_seconds / SLOT_SECONDS)
        self._lags = np.arange(round(earliest_seconds / SLOT_SECONDS), round(latest_seconds / SLOT_SECONDS) + 1)
        self._every_slots = round(every_seconds / SLOT_SECONDS)
        self._min_correlation = min_correlation
        self._min_played_slots = round(min_played_seconds / SLOT_SECONDS)
        self._agree_seconds = agree_seconds
        self._anchor_weight = anchor_weight
        self._reanchor_samples = reanchor_seconds * mic_rate
        size = self._kept_slots + len(self._lags) + round(2.0 / SLOT_SECONDS)
        self._played = _Slots(size)
        self._heard = _Slots(size)
        self._frames_out = 0
        self._anchor: float | None = None  # microphone sample of output frame 0, smoothed
        self._next_measure_slot: int | None = None

    def place(self, raw_start: int, block: np.ndarray) -> int:
        """The microphone sample at which this pulled block's first frame will be heard. `raw_start` is where
        it would have been placed (samples_fed plus the assumed delay). Output thread."""
        ratio = self.mic_rate / self.out_rate
        raw_anchor = raw_start - self._frames_out * ratio
        if self._anchor is None or abs(raw_anchor - self._anchor) > self._reanchor_samples:
            self._anchor = raw_anchor
        else:
            self._anchor += self._anchor_weight * (raw_anchor - self._anchor)
        start = self._anchor + self._frames_out * ratio
        self._frames_out += len(block)
        if len(block) and np.any(block):
            positions = (start + np.arange(len(block)) * ratio).astype(np.int64) // self.slot
            energies = np.bincount(positions - positions[0], weights=np.square(block, dtype=np.float64))
            self._played.add(int(positions[0]), energies)
        return round(start) + self.lateness_samples

    @property
    def heard_offset(self) -> float | None:
        """The microphone sample at which output frame 0 is heard (smoothed placement plus measured lateness);
        None before the first pull. Read by the microphone thread for the echo canceller."""
        anchor = self._anchor
        return None if anchor is None else anchor + self.lateness_samples

    def heard(self, start: int, samples: np.ndarray) -> None:
        """A microphone block, from sample `start` of the stream; measures again when due. Microphone thread."""
        if len(samples) == 0:
            return
        values = samples.astype(np.float64) / (32768.0 if samples.dtype == np.int16 else 1.0)
        positions = (start + np.arange(len(values))) // self.slot
        self._heard.add(int(positions[0]), np.bincount(positions - positions[0], weights=np.square(values)))
        last_slot = int(positions[-1])
        if self._next_measure_slot is None:
            self._next_measure_slot = last_slot + self._every_slots
        if last_slot >= self._next_measure_slot:
            self._next_measure_slot = last_slot + self._every_slots
            self.measure(last_slot)

    def measure(self, last_slot: int) -> float | None:
        """How late our sound came back over the stretch before `last_slot`, in seconds, when clear; the
        lateness in use becomes the median of those of the last five clear measurements that another confirms."""
        first_slot = last_slot - self._kept_slots
        heard = self._heard.log_energies(first_slot, last_slot)
        played = self._played.log_energies(first_slot - self._lags[-1], last_slot - self._lags[0])
        if heard is None or played is None:
            return None
        best_lag, best = None, self._min_correlation
        for lag in self._lags:
            # heard slot s against played slot s - lag
            ours = played[self._lags[-1] - lag : self._lags[-1] - lag + len(heard)]
            sounding = ours > SILENT_LOG_ENERGY
            if np.count_nonzero(sounding) < self._min_played_slots:
                continue
            both = sounding[1:] & sounding[:-1]
            a, b = np.diff(heard)[both], np.diff(ours)[both]
            a, b = a - a.mean(), b - b.mean()
            scale = np.sqrt(np.dot(a, a) * np.dot(b, b))
            if scale == 0:
                continue
            correlation = float(np.dot(a, b) / scale)
            if correlation > best:
                best_lag, best = lag, correlation
        if best_lag is None:
            return None
        seconds = float(best_lag) * SLOT_SECONDS
        self.measured_seconds.append(seconds)
        # Taken only when another of the last five agrees within agree_seconds: the first measurement through
        # the loopback (our first words over the person's own cue) said 0.63 s, the next ones 0.16 and 0.17.
        recent = self.measured_seconds[-5:]
        agreed = [one for i, one in enumerate(recent)
                  if any(abs(one - other) <= self._agree_seconds for j, other in enumerate(recent) if j != i)]
        if agreed:
            self.lateness_samples = round(float(np.median(agreed)) * self.mic_rate)
        return seconds


class _Slots:
    """Energies summed into numbered slots, in a ring; a slot not written since it was last reused is missing."""

    def __init__(self, size: int):
        self._energy = np.zeros(size)
        self._number = np.full(size, -1, dtype=np.int64)
        self._lock = threading.Lock()

    def add(self, first: int, energies: np.ndarray) -> None:
        numbers = np.arange(first, first + len(energies))
        cells = numbers % len(self._energy)
        with self._lock:
            stale = self._number[cells] != numbers
            self._energy[cells[stale]] = 0.0
            self._number[cells] = numbers
            self._energy[cells] += energies

    def log_energies(self, first: int, last: int) -> np.ndarray | None:
        """log10 of each slot's mean square (per sample of a full slot: relative values are what count), slots
        [first, last); silence for slots never written; None when the range is longer than the ring."""
        if last - first > len(self._energy) or last <= first:
            return None
        numbers = np.arange(first, last)
        cells = numbers % len(self._energy)
        with self._lock:
            energy = np.where(self._number[cells] == numbers, self._energy[cells], 0.0)
        return np.log10(energy + 1e-12)
