"""benchmarks/evaluate.py's own helpers: the room a file is set in, heard before the file."""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from evaluate import BLOCK_SECONDS, ROOM_MARGIN_SECONDS, room_before  # noqa: E402

RATE = 16000


def test_the_room_is_the_lead_in_before_the_speech_repeated_to_the_length_asked():
    lead_seconds = 1.0
    samples = np.arange(3 * RATE, dtype=np.int16)  # every sample tells where it came from
    room = room_before(samples, {"speech_start_s": lead_seconds}, 2.5, RATE)
    assert len(room) == round(2.5 * RATE)
    lead = round((lead_seconds - ROOM_MARGIN_SECONDS) * RATE)
    assert room.max() < lead  # nothing from the speech or the margin before it
    assert np.array_equal(room[:lead], samples[:lead]) and np.array_equal(room[lead : 2 * lead], samples[:lead])


def test_no_room_when_none_is_asked_or_the_lead_in_is_too_short():
    samples = np.ones(3 * RATE, dtype=np.int16)
    assert len(room_before(samples, {"speech_start_s": 1.0}, 0.0, RATE)) == 0
    too_short = ROOM_MARGIN_SECONDS + BLOCK_SECONDS / 2
    assert len(room_before(samples, {"speech_start_s": too_short}, 3.0, RATE)) == 0
