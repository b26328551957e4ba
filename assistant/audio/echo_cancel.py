"""Our own sound taken back out of what the microphone hears: an adaptive echo canceller (pure numpy).

On a laptop or a phone on speaker, the microphone hears our voice and breath tone as loud as the person, or
louder. The detector's gate keeps our words from being taken for theirs, but a person saying "stop" over our
voice is heard through it, and often not heard at all. We know exactly what we played, so we subtract it:
an adaptive filter learns the path from what we played to what the microphone hears (speaker, room,
microphone) and takes its estimate of our sound away, leaving the person.

The filter is the usual one for this job: a frequency-domain normalised LMS filter in partitions (the
multi-delay block filter), 10 ms blocks, a third of a second of room. Two copies of it run: one learns and one
is used, and the used one takes the learner's coefficients only when the learner does better by more than
chance explains (the two-path scheme of Valin's Speex canceller, written here from the idea). A person talking
over our voice would throw the learner off: their voice is not ours, but it looks like a mistake to correct.
So when someone seems to be talking over us (`_talking`, a double-talk detector), the learner waits and the
used filter goes on cancelling. A person much quieter than our sound at the microphone is not noticed, and
the learner drifts while they talk; what that costs is measured in benchmarks/echo_cancel.py.

What we played comes from the output thread a block at a time (`EchoReference.add`, a copy only); the
listening loop turns it into the microphone's rate as it needs it. Where the output lands at the microphone
comes from `EchoTiming` (the output's own clock and the measured lateness); the canceller's copy is placed a
little early (`lead_seconds`), so that the filter, which only looks back, also covers a placement a little
late. After that the filter finds the echo for itself, and the copy is only moved (and what the filter
learnt with it) when the measured placement leaves the filter's reach.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from assistant.audio.resample import StreamResampler


class EchoReference:
    """What we played, as the output thread pulled it, read back at the microphone's rate by the listening loop."""

    def __init__(self, out_rate: int, mic_rate: int, kept_seconds: float = 8.0, behind_seconds: float = 0.5):
        self.out_rate, self.mic_rate = out_rate, mic_rate
        self._behind = round(behind_seconds * mic_rate)  # kept before what was last read (the canceller's past)
        self._ring = np.zeros(round(kept_seconds * out_rate), dtype=np.float32)
        self._added = 0  # output frames added so far
        self._lock = threading.Lock()
        self._resampler = StreamResampler(out_rate, mic_rate)
        self._taken = 0  # output frames given to the resampler
        self._ready = np.zeros(0)  # resampled, from microphone-rate sample self._ready_from on
        self._ready_from = 0

    def add(self, block: np.ndarray) -> None:
        """A block the output stream pulled (output thread: one copy into the ring)."""
        size = len(self._ring)
        with self._lock:
            at = self._added % size
            first = min(len(block), size - at)
            self._ring[at : at + first] = block[:first]
            self._ring[: len(block) - first] = block[first:]
            self._added += len(block)

    def read(self, first: int, count: int) -> np.ndarray:
        """Samples [first, first + count) of what we played at the microphone's rate, sample 0 being output
        frame 0; zeros for what was not played yet or is no longer kept (listening loop)."""
        with self._lock:
            added = self._added
            size = len(self._ring)
            lost = max(0, added - size - self._taken)  # overwritten before the listening loop came for them
            fresh = self._ring[np.arange(self._taken + lost, added) % size].astype(np.float64)
            self._taken = added
        if lost or len(fresh):
            # (after a stall longer than the ring, what was lost counts as silence: the stream stays in step)
            self._ready = np.concatenate([self._ready, self._resampler(np.concatenate([np.zeros(lost), fresh]))])
        # Drop what is older than asked, but for what the canceller may read again when it is placed anew.
        drop = min(len(self._ready), max(0, first - self._behind - self._ready_from))
        self._ready, self._ready_from = self._ready[drop:], self._ready_from + drop
        out = np.zeros(count)
        lo, hi = max(first, self._ready_from), min(first + count, self._ready_from + len(self._ready))
        if hi > lo:
            out[lo - first : hi - first] = self._ready[lo - self._ready_from : hi - self._ready_from]
        return out


@dataclass(frozen=True)
class Left:
    """One microphone block as the canceller saw it, once it has learnt the room: energies (full scale 1)."""

    ours: float  # its estimate of our sound
    left: float  # what it gave out: the person, the room, and what it could not take out of ours
    usual_share: float | None  # of our sound, the share it has lately left where our sound alone was heard


class EchoCanceller:
    """Takes our own sound out of microphone blocks; `cancel` is called by the listening loop for each block."""

    def __init__(
        self,
        reference: EchoReference,
        block_samples: int = 160,  # 10 ms at 16 kHz: the microphone's 0.1 s blocks are ten of these
        partitions: int = 32,  # blocks of room the filter spans: 0.32 s, a furnished room's echo tail
        step: float = 1.0,  # of the normalised LMS: how much of each block's error is corrected
        lead_seconds: float = 0.04,  # our copy placed this much early: a placement up to this late is covered
        later_seconds: float = 0.1,  # our sound measured this much later than placed is left to the filter
        floor_share: float = 1.0,  # of our sound's mean power over frequencies: added to each one's in the step
        learnt_share: float = 0.25,  # the room is learnt once the used filter leaves this share of what is heard
        talk_ratio: float = 2.0,  # heard this much more than our sound as expected: someone talks over it
        return_weight: float = 0.01,  # of each block our sound alone is heard in, in how loud it comes back
        return_margin: float = 1.5,  # heard this much more than that: someone talks over it
        talk_hold_seconds: float = 0.2,  # learning waits this long after they were last heard
        talk_longest_seconds: float = 1.5,  # heard over our sound for longer than this: our own new sound
        copy_margin: float = 0.8,  # the learner is taken when its saving, smoothed, passes this many spreads^2
        restore_margin: float = 4.0,  # and put back when it does worse by this many
    ):
        self.reference = reference
        self.block = block_samples
        self.partitions = partitions
        self.step = step
        self.floor_share = floor_share
        self.learnt_share, self.talk_ratio = learnt_share, talk_ratio
        self.return_weight, self.return_margin = return_weight, return_margin
        self.talk_hold_blocks = round(talk_hold_seconds * reference.mic_rate / block_samples)
        self.talk_longest_blocks = round(talk_longest_seconds * reference.mic_rate / block_samples)
        self.lead = round(lead_seconds * reference.mic_rate)
        self.later = round(later_seconds * reference.mic_rate)
        self._reread = False  # the filter's past to be read again from where the copy now is
        self.copy_margin, self.restore_margin = copy_margin, restore_margin
        self.offset: int | None = None  # microphone sample at which output frame 0 is heard, as placed
        self.placements = 0  # how often the copy was placed (figures, tests)
        self.skipped = 0  # blocks passed through as they were: not whole 10 ms blocks
        self.last: np.ndarray | None = None  # the last block given out (figures: what is left of our sound)
        # And, once the room is learnt, that block's Left (else None): the detector tells a person talking over
        # us from words read into what is left of our own sound. (Every block, our sound or not: an utterance
        # over our voice often runs on past the filter's reach, into the gate's tail.)
        self.last_left: Left | None = None
        bins = block_samples + 1
        self._spectra = np.zeros((partitions, bins), dtype=np.complex128)  # of our sound, newest first
        self._used = np.zeros((partitions, bins), dtype=np.complex128)
        self._learner = np.zeros((partitions, bins), dtype=np.complex128)
        self._power = np.zeros(bins)  # our sound's power per bin, smoothed
        self._previous = np.zeros(block_samples)  # the last block of our sound (overlap-save)
        self._ours_energy = np.zeros(partitions)  # of each block of our sound the filter spans, newest first
        self._gain = self._spread = 0.0  # smoothed: what the learner would save on the used filter's error, and
        # how much that swings by chance
        self._learnt = False  # the room learnt once: the used filter takes out most of what is heard
        self._heard_energy = self._left_energy = 0.0  # smoothed, until then: heard, and left by the used filter
        self._log_return = None  # how loud our sound comes back, lately: log of heard energy per energy played
        self._log_left = None  # and how much of it the used filter leaves, lately: log of left per estimated
        self._talk_blocks = 0  # blocks in a row in which someone seemed to talk over our sound
        self._quiet_blocks = 1 << 30  # blocks since then (the learner waits talk_hold_blocks)

    def place(self, heard_offset: float) -> None:
        """Where output frame 0 is heard, in microphone samples (EchoTiming's anchor and lateness).

        Once placed, the copy stays where it is while our sound falls within what the filter spans from
        there (from half the lead early to `later_seconds` late): the filter finds where the echo is for itself,
        to the sample, better than a measurement of loudness can, and a person talking can throw that
        measurement off just when cancelling matters. Beyond that, the copy moves.
        """
        wanted = round(heard_offset) - self.lead
        if self.offset is None:
            self.offset = wanted
            self.placements += 1
            return
        direct_tap = wanted + self.lead - self.offset  # where in the filter our sound now starts, as measured
        if self.lead // 2 <= direct_tap <= self.lead + self.later:
            return
        # Most often the measurement has improved while our sound stayed where it was (EchoTiming's first
        # measurement of the lateness, at the start of every session: 0.17 s through PulseAudio): what the filter
        # learnt is moved by as much, so that it still lines up with the copy, and nothing is learnt again.
        # (When our sound itself moved, a new speaker say, the filter learns it again.)
        self._shift(wanted - self.offset)
        self.offset = wanted
        self.placements += 1

    def _shift(self, samples: int) -> None:
        """The copy is to be read `samples` later, our sound staying put: what the filter learnt moves that much
        earlier in its span; its past is read again from the new place before the next block."""
        b = self.block
        for filter_ in (self._used, self._learner):
            taps = np.fft.irfft(filter_, 2 * b, axis=1)[:, :b].reshape(-1)
            moved = np.zeros_like(taps)
            if samples >= 0:
                moved[: max(0, len(taps) - samples)] = taps[samples:]
            else:
                moved[-samples:] = taps[: len(taps) + samples]
            halves = np.concatenate([moved.reshape(self.partitions, b), np.zeros((self.partitions, b))], axis=1)
            filter_[:] = np.fft.rfft(halves, axis=1)
        self._reread = True

    def _read_past(self, start: int) -> None:
        """The filter's past from the copy at its new place: the blocks of ours before microphone sample `start`."""
        b = self.block
        past = self.reference.read(start - self.offset - (self.partitions + 1) * b, (self.partitions + 1) * b)
        blocks = past.reshape(self.partitions + 1, b)[::-1]  # newest first
        for k in range(self.partitions):
            self._spectra[k] = np.fft.rfft(np.concatenate([blocks[k + 1], blocks[k]]))
            self._ours_energy[k] = float(np.dot(blocks[k], blocks[k]))
        self._previous = blocks[0].copy()
        self._reread = False

    def cancel(self, start: int, samples: np.ndarray) -> np.ndarray:
        """Microphone block from stream sample `start` (int16) with our sound taken out (int16, same length)."""
        self.last_left = None
        if self.offset is None or len(samples) % self.block:
            self.skipped += 1
            return samples
        if self._reread:
            self._read_past(start)
        ours = self.reference.read(start - self.offset, len(samples))
        heard = samples.astype(np.float64) / 32768.0
        out = np.empty_like(heard)
        for at in range(0, len(heard), self.block):
            out[at : at + self.block] = self._one_block(ours[at : at + self.block], heard[at : at + self.block])
        if self._learnt:
            estimate = heard - out
            usual = None if self._log_left is None else float(np.exp(self._log_left))
            self.last_left = Left(float(np.dot(estimate, estimate)), float(np.dot(out, out)), usual)
        self.last = np.clip(np.round(out * 32768.0), -32768, 32767).astype(np.int16)
        return self.last

    def _talking(self, heard: np.ndarray, heard_energy: float, used_error: np.ndarray, used_energy: float) -> bool:
        """Is someone talking over our sound? (A double-talk detector.)

        Two tests, both needed. Far more is heard than the used filter expects of our sound. And more is heard
        than our sound usually comes back at, for what we played within the filter's span (Geigel's test, with
        the room's loss measured rather than assumed: a running average, of the logarithm, of heard energy per
        energy of our loudest block, in blocks the used filter explains). The first alone
        takes any sound of ours the filter has not learnt yet for someone talking (the breath tone gliding to
        a pitch it has not sounded at for a while), and would stop it learning just then. The second alone
        would miss a person much quieter than our voice.
        Then their voice is not ours to learn, and the learner waits, as it was, until they have been quiet a
        while; unless it goes on for longer than people talk over us (`talk_longest_seconds`): then it is our
        own sound that neither test knows (our voice after a long steady tone), and waiting would never end.
        """
        ours_loudest = float(np.max(self._ours_energy))  # of the blocks of ours still echoing now
        estimate = heard - used_error  # the used filter's estimate of our sound
        explained = used_energy < self.learnt_share * heard_energy
        estimate_energy = float(np.dot(estimate, estimate))
        if explained and ours_loudest > 0 and heard_energy > 0:  # our sound alone: how loud it comes back
            sample = np.log(heard_energy / ours_loudest)
            self._log_return = sample if self._log_return is None else (
                self.return_weight * sample + (1 - self.return_weight) * self._log_return)
            if estimate_energy > 0 and used_energy > 0:  # and how much of it is left (Left.usual_share)
                sample = np.log(used_energy / estimate_energy)
                self._log_left = sample if self._log_left is None else (
                    self.return_weight * sample + (1 - self.return_weight) * self._log_left)
        return (
            heard_energy > self.talk_ratio * estimate_energy
            and self._log_return is not None
            and heard_energy > self.return_margin * np.exp(self._log_return) * ours_loudest
        )

    def _one_block(self, ours: np.ndarray, heard: np.ndarray) -> np.ndarray:
        b = self.block
        self._spectra[1:] = self._spectra[:-1]
        self._spectra[0] = np.fft.rfft(np.concatenate([self._previous, ours]))
        self._previous = ours
        self._ours_energy[1:] = self._ours_energy[:-1]
        self._ours_energy[0] = float(np.dot(ours, ours))
        if not self._spectra.any():  # nothing of ours within the filter's reach
            return heard
        used_error = heard - np.fft.irfft(np.sum(self._used * self._spectra, axis=0), 2 * b)[b:]
        learner_echo = np.fft.irfft(np.sum(self._learner * self._spectra, axis=0), 2 * b)[b:]
        learner_error = heard - learner_echo
        heard_energy = float(np.dot(heard, heard))
        used_energy = float(np.dot(used_error, used_error))
        if not self._learnt:
            self._heard_energy = 0.9 * self._heard_energy + 0.1 * heard_energy
            self._left_energy = 0.9 * self._left_energy + 0.1 * used_energy
            self._learnt = self._left_energy < self.learnt_share * self._heard_energy
        else:
            talking = self._talking(heard, heard_energy, used_error, used_energy)
            self._talk_blocks = self._talk_blocks + 1 if talking else 0
            if 0 < self._talk_blocks <= self.talk_longest_blocks:
                self._quiet_blocks = 0
        if self._quiet_blocks < self.talk_hold_blocks:
            self._quiet_blocks += 1
            self._learner[:] = self._used
            return used_error if self._learnt else heard

        # The learner: one normalised LMS step, each partition's correction kept to one block long (the
        # constraint that makes the circular products of the FFT a true filter).
        self._power = 0.9 * self._power + 0.1 * np.abs(self._spectra[0]) ** 2
        # Frequencies where we play little are learnt slowly, not fast: our breath tone is a few pure tones, and a
        # step normalised by next to no power there would fit the person's voice and the room's noise, to be
        # played back out of the filter when our voice comes. In a 2-minute soak at 0 dB echo (while this was
        # written, with an earlier form of the talk test), a floor of 1 %
        # of the mean power took out 14.6 dB of our sound (13 blocks in 90 with more left than heard), 10 %
        # 19.7 dB, the mean itself 21.0 dB (4 in 90).
        floor = self.floor_share * float(np.mean(self._power)) + 1e-10
        error_spectrum = np.fft.rfft(np.concatenate([np.zeros(b), learner_error]))
        gradient = np.conj(self._spectra) * error_spectrum / (self.partitions * (self._power + floor))
        correction = np.fft.irfft(gradient, 2 * b, axis=1)
        correction[:, b:] = 0
        self._learner += self.step * np.fft.rfft(correction, axis=1)

        # Which one is used. The learner is taken when it does better by more than chance would explain: the
        # difference between the two errors is the difference between their estimates of our sound, and while
        # the person talks it swings both ways by about sqrt(used error x that difference) (a significance
        # test, as the Speex canceller does it), so their voice is not learnt as ours.
        gain = used_energy - float(np.dot(learner_error, learner_error))  # what the learner would save
        spread = used_energy * float(np.dot(used_error - learner_error, used_error - learner_error))
        self._gain = 0.7 * self._gain + 0.3 * gain
        self._spread = 0.49 * self._spread + 0.09 * spread
        clearly_better = gain > 0 and gain * gain > spread
        if clearly_better or self._gain > 0 and self._gain ** 2 > self.copy_margin * self._spread:
            self._used[:] = self._learner
            self._gain = self._spread = 0.0
            used_error = learner_error
        elif gain < 0 and gain * gain > self.restore_margin * spread:  # the learner has gone clearly wrong
            self._learner[:] = self._used
            self._gain = self._spread = 0.0
        # Until the room has been learnt, what is heard goes on as it was: with headphones nothing of ours comes
        # back, and a filter fitted to the person's voice would only add a shadow of our sound to it.
        return used_error if self._learnt else heard
