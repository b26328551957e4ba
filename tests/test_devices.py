"""OutputPlayer's ring and callback, device lookup and the PortAudio-missing message, with no sound hardware."""

from __future__ import annotations

import importlib
import logging
import tracemalloc
from types import SimpleNamespace

import numpy as np
import pytest

from assistant import devices
from assistant.devices import OutputPlayer, load_sounddevice, resolve_output_device
from assistant.errors import AudioDeviceError, GroundingError

BLOCK = 256
OK = SimpleNamespace(output_underflow=False)
UNDERFLOW = SimpleNamespace(output_underflow=True)


class FakeStream:
    """Stands in for sd.OutputStream: records its arguments; the test plays the device by calling `callback`."""

    def __init__(self, **kwargs):
        self.kwargs = kwargs
        self.callback = kwargs["callback"]
        self.channels = kwargs["channels"]
        self.latency = 0.0
        self.started = self.stopped = self.closed = False

    def start(self):
        self.started = True

    def stop(self):
        self.stopped = True

    def close(self):
        self.closed = True

    def play(self, frames=BLOCK, status=OK):
        """One device callback: the block the device would hear."""
        out = np.full((frames, self.channels), np.nan, dtype=np.float32)
        self.callback(out, frames, None, status)
        return out


class Session:
    """A pull source: consecutive samples of a known random signal, `total` frames long."""

    def __init__(self, total, seed=0):
        self.signal = np.random.default_rng(seed).uniform(-0.5, 0.5, total).astype(np.float32)
        self.position = 0
        self.calls = 0

    def pull(self, frames):
        self.calls += 1
        block = self.signal[self.position : self.position + frames]
        self.position += len(block)
        return block.copy()


def make_player(session, channels=1, prefill_blocks=3, lead_silence_frames=0, blocksize=BLOCK, feeder_thread=False):
    """A started player on a FakeStream; with no feeder thread the test calls fill() as the feeder would."""
    streams = []

    def factory(**stream_args):
        streams.append(FakeStream(**stream_args))
        return streams[-1]

    player = OutputPlayer(
        session.pull, sample_rate=8000, blocksize=blocksize, prefill_blocks=prefill_blocks, channels=channels,
        lead_silence_frames=lead_silence_frames, stream_factory=factory, feeder_thread=feeder_thread,
    )
    player.start()
    return player, streams[0]


def play_to_the_end(player, stream, frames=BLOCK, limit=10_000):
    """Alternate feeder and device until the player says the session has been played out."""
    heard = []
    while not player.wait(timeout=0):
        player.fill()
        heard.append(stream.play(frames)[:, 0])
        assert len(heard) < limit, "the player never finished"
    return np.concatenate(heard)


def test_start_prefills_the_ring_before_starting_the_stream():
    """The ring is full before the stream starts, so the first callback has data at once."""
    written_at_start = []

    class CheckingStream(FakeStream):
        def start(self):
            written_at_start.append(player._written)

    session = Session(10 * BLOCK)
    player = OutputPlayer(session.pull, blocksize=BLOCK, prefill_blocks=3, feeder_thread=False,
                          stream_factory=lambda **kw: CheckingStream(**kw))
    player.start()
    assert written_at_start == [3 * BLOCK]
    assert player._stream.kwargs["dtype"] == "float32" and player._stream.kwargs["latency"] == "high"
    player.stop()


def test_output_is_the_pulled_signal_in_order_across_wrap_arounds():
    """Callbacks whose size does not divide the ring come out bit-identical to what pull gave, then silence."""
    session = Session(40 * BLOCK + 77)
    player, stream = make_player(session, prefill_blocks=3)
    heard = play_to_the_end(player, stream, frames=200)  # 3 * 256 is no multiple of 200: reads straddle the end
    player.stop()
    assert np.array_equal(heard[: len(session.signal)], session.signal)
    assert not heard[len(session.signal) :].any()
    assert player.stats.ring_shortfalls == 0 and player.frames_played == len(session.signal)


def test_stereo_duplicates_the_mono_session():
    """Every channel carries the same samples."""
    session = Session(4 * BLOCK)
    player, stream = make_player(session, channels=2)
    out = stream.play()
    player.stop()
    assert np.array_equal(out[:, 0], session.signal[:BLOCK]) and np.array_equal(out[:, 1], out[:, 0])


def test_lead_silence_comes_before_the_first_session_sample():
    """The stream opens with zeros, then the session from its first sample; the zeros are not session time."""
    session = Session(4 * BLOCK)
    player, stream = make_player(session, lead_silence_frames=BLOCK + 10)
    heard = np.concatenate([stream.play()[:, 0] for _ in range(3)])
    player.stop()
    assert not heard[: BLOCK + 10].any()
    assert np.array_equal(heard[BLOCK + 10 :], session.signal[: 2 * BLOCK - 10])
    assert player.frames_played == 2 * BLOCK - 10


def test_a_ring_shortfall_plays_zeros_counts_and_loses_nothing():
    """When the feeder is behind, the callback plays zeros, counts a shortfall, and the session resumes where it was."""
    session = Session(100 * BLOCK)
    player, stream = make_player(session, prefill_blocks=2)
    first = np.concatenate([stream.play()[:, 0] for _ in range(2)])
    short = stream.play()[:, 0]  # no fill() in between: the feeder has fallen behind
    assert np.array_equal(first, session.signal[: 2 * BLOCK])
    assert not short.any()
    assert player.stats.ring_shortfalls == 1 and player.frames_played == 2 * BLOCK
    player.fill()
    assert np.array_equal(stream.play()[:, 0], session.signal[2 * BLOCK : 3 * BLOCK])
    player.stop()


def test_a_partial_ring_plays_what_it_has_then_zeros():
    """A callback that finds less than a block plays that much, zero-fills the rest and counts one shortfall."""
    session = Session(100 * BLOCK)
    player, stream = make_player(session, prefill_blocks=2)
    stream.play(BLOCK + BLOCK // 2)
    out = stream.play()[:, 0]
    assert np.array_equal(out[: BLOCK // 2], session.signal[BLOCK + BLOCK // 2 : 2 * BLOCK])
    assert not out[BLOCK // 2 :].any()
    assert player.stats.ring_shortfalls == 1
    player.stop()


def test_the_end_of_the_session_is_played_out_then_wait_returns():
    """A short pull ends the session: its last samples play, the tail is silence (not shortfalls), wait() returns."""
    session = Session(5 * BLOCK + 30)
    player, stream = make_player(session, prefill_blocks=2)
    heard = play_to_the_end(player, stream)
    assert player.wait(timeout=0)
    player.stop()
    assert np.array_equal(heard[: len(session.signal)], session.signal)
    assert not heard[len(session.signal) :].any()
    assert len(heard) - len(session.signal) >= BLOCK  # the tail keeps the stream running after the last sample
    assert player.stats.ring_shortfalls == 0
    assert stream.stopped and stream.closed


def test_an_empty_session_finishes_after_the_silent_tail():
    """pull returning nothing at once is a session of length zero, not an error."""
    player, stream = make_player(Session(0))
    assert not player.wait(timeout=0)
    stream.play()
    assert player.wait(timeout=0)
    player.stop()
    assert player.frames_played == 0 and player.stats.ring_shortfalls == 0


def test_device_underflows_are_counted_apart_from_shortfalls(caplog):
    """status.output_underflow is counted as an underflow; the block itself still plays normally. The warning
    at the end says where in the session the first ones came, so a dropout can be traced to what was going on."""
    session = Session(10 * BLOCK)
    player, stream = make_player(session)
    first = stream.play(status=UNDERFLOW)
    player.fill()
    stream.play(status=UNDERFLOW)
    with caplog.at_level(logging.WARNING):
        player.stop()
    assert np.array_equal(first[:, 0], session.signal[:BLOCK])
    assert player.underflows == 2
    assert player.stats.ring_shortfalls == 0 and player.frames_played == 2 * BLOCK
    at = f"(at 0.0 s, {BLOCK / player.sample_rate:.1f} s)"
    assert any(f"2 device underflows {at}" in record.getMessage() for record in caplog.records), caplog.text


def test_the_ring_never_runs_more_than_prefill_blocks_ahead():
    """The feeder buffers at most prefill_blocks blocks, so a pause decided behind pull is heard quickly."""
    session = Session(1000 * BLOCK)
    player, stream = make_player(session, prefill_blocks=3)
    for _ in range(20):
        player.fill()
        player.fill()
        assert session.position - player.frames_played <= 3 * BLOCK
        stream.play()
    player.stop()


def test_the_feeder_thread_keeps_the_ring_full():
    """With its own thread the player refills the ring as the device drains it, and finishes on its own."""
    session = Session(50 * BLOCK + 5)
    player, stream = make_player(session, prefill_blocks=4, feeder_thread=True)
    heard = []
    while not player.wait(timeout=0):
        if player._written - player._read >= BLOCK or player._end_at is not None:
            heard.append(stream.play()[:, 0])
        else:
            player._space.wait(0.01)  # give the feeder thread its turn; no audio depends on this wait
        assert len(heard) < 1000
    player.stop()
    heard = np.concatenate(heard)
    assert np.array_equal(heard[: len(session.signal)], session.signal)
    assert player.stats.ring_shortfalls == 0


def test_the_callback_neither_pulls_nor_allocates_a_block():
    """A callback copies only: it never calls pull, and allocates far less than one block of samples."""
    blocksize = 4096
    session = Session(40 * blocksize)
    player, stream = make_player(session, channels=2, prefill_blocks=2, blocksize=blocksize)
    out = np.zeros((blocksize, 2), dtype=np.float32)
    stream.play(1000)  # from now on, each callback straddles the ring's end at some point
    player.fill()
    measured = 0
    for _ in range(10):
        straddles = player._read % (2 * blocksize) + blocksize > 2 * blocksize
        calls = session.calls
        tracemalloc.start()
        try:
            before, _ = tracemalloc.get_traced_memory()
            player._callback(out, blocksize, None, OK)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert session.calls == calls, "the callback called pull"
        assert peak - before < 2048, f"the callback allocated {peak - before} bytes; one block is {blocksize * 8}"
        measured += straddles
        player.fill()
    assert measured, "no callback copied across the ring's end"
    assert player.stats.ring_shortfalls == 0
    player.stop()


def test_an_error_in_pull_ends_playback_and_is_raised_by_wait():
    """A failing pull does not reach the audio thread: the session plays out what it has, and wait() re-raises."""
    calls = []

    def pull(frames):
        calls.append(frames)
        if len(calls) > 3:
            raise RuntimeError("render failed")
        return np.full(frames, 0.25, dtype=np.float32)

    player = OutputPlayer(pull, blocksize=BLOCK, prefill_blocks=3, lead_silence_frames=0, feeder_thread=False,
                          stream_factory=lambda **kw: FakeStream(**kw))
    player.start()
    stream = player._stream
    stream.play()
    player._feed()  # the feeder thread's loop, run here: the fourth pull fails
    heard = np.concatenate([stream.play()[:, 0] for _ in range(4)])
    assert np.all(heard[: 2 * BLOCK] == 0.25) and not heard[2 * BLOCK :].any()
    with pytest.raises(RuntimeError, match="render failed"):
        player.wait(timeout=0)
    player.stop()


def test_pull_returning_too_much_is_a_programming_error():
    """pull may return fewer frames than asked, never more; start() then closes the stream it opened."""
    streams = []
    player = OutputPlayer(lambda frames: np.zeros(frames + 1, dtype=np.float32), feeder_thread=False,
                          stream_factory=lambda **kw: streams.append(FakeStream(**kw)) or streams[-1])
    with pytest.raises(ValueError, match="never more"):
        player.start()
    assert streams[0].closed


def test_missing_portaudio_becomes_an_error_that_says_what_to_install(monkeypatch):
    """sounddevice's OSError for a missing libportaudio becomes AudioDeviceError naming the package."""

    def failing_import(name, *args, **kwargs):
        raise OSError("PortAudio library not found")

    monkeypatch.setattr(importlib, "import_module", failing_import)
    with pytest.raises(AudioDeviceError, match="libportaudio2") as caught:
        load_sounddevice()
    assert isinstance(caught.value, GroundingError)
    assert "grounding render" in str(caught.value)


DEVICES = [
    {"index": 0, "name": "HDA Intel PCH: ALC257 Analog (hw:0,0)", "channels": 2, "default_samplerate": 48000.0, "is_default": False},
    {"index": 3, "name": "pulse", "channels": 32, "default_samplerate": 44100.0, "is_default": False},
    {"index": 4, "name": "default", "channels": 32, "default_samplerate": 44100.0, "is_default": True},
]


def test_devices_are_found_by_index_or_name_substring():
    """An index, a digit string or a case-insensitive part of the name all resolve; None means the default."""
    assert resolve_output_device(None, DEVICES) is None
    assert resolve_output_device(3, DEVICES) == 3
    assert resolve_output_device("0", DEVICES) == 0
    assert resolve_output_device("alc257", DEVICES) == 0
    assert resolve_output_device("PULSE", DEVICES) == 3


def test_an_unknown_device_lists_the_outputs_and_the_devices_command():
    """An unknown name says which devices exist and how to list them."""
    with pytest.raises(AudioDeviceError) as caught:
        resolve_output_device("usb headset", DEVICES)
    message = str(caught.value)
    assert "usb headset" in message and "grounding devices" in message
    assert all(device["name"] in message for device in DEVICES)
    with pytest.raises(AudioDeviceError, match="index 7"):
        resolve_output_device(7, DEVICES)


def test_an_ambiguous_name_asks_for_an_index():
    """A substring that matches several devices is not guessed at."""
    with pytest.raises(AudioDeviceError, match="several"):
        resolve_output_device("u", DEVICES)


def test_a_stream_that_will_not_open_says_which_device_and_what_to_do(monkeypatch):
    """PortAudioError opening the stream becomes AudioDeviceError naming the device and `grounding render`."""

    class PortAudioError(Exception):
        pass

    def refuse(**kwargs):
        raise PortAudioError("Error opening OutputStream: Device unavailable [PaErrorCode -9985]")

    fake_sd = SimpleNamespace(PortAudioError=PortAudioError, OutputStream=refuse)
    monkeypatch.setattr(devices, "load_sounddevice", lambda: fake_sd)
    monkeypatch.setattr(devices, "list_output_devices", lambda: DEVICES)
    player = OutputPlayer(lambda frames: np.zeros(0, np.float32), device=0)
    with pytest.raises(AudioDeviceError) as caught:
        player.start()
    message = str(caught.value)
    assert "ALC257" in message and "Device unavailable" in message
    assert "grounding devices" in message and "grounding render" in message


def test_importing_devices_does_not_import_sounddevice():
    """The module loads sounddevice only when asked to, so it imports on machines without PortAudio."""
    import subprocess
    import sys

    code = "import sys, assistant.devices; print('sounddevice' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_stream_that_dies_on_its_own_makes_wait_raise():
    """If PortAudio ends the stream before the session is over (device lost), wait() says so instead of hanging."""
    player, stream = make_player(Session(100 * BLOCK))
    stream.play()
    stream.kwargs["finished_callback"]()
    with pytest.raises(AudioDeviceError, match="stopped playing"):
        player.wait(timeout=1)
    player.stop()


def test_the_lead_silence_covers_the_stream_latency():
    """The device fills its whole buffer at once when it starts: zeros for that long, so the burst never runs the ring dry."""

    class SlowStream(FakeStream):
        latency = 0.25  # seconds: 2000 frames at 8000 Hz

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.latency = SlowStream.latency

    session = Session(100 * BLOCK)
    player = OutputPlayer(session.pull, sample_rate=8000, blocksize=BLOCK, prefill_blocks=2, channels=1,
                          lead_silence_frames=100, feeder_thread=False, stream_factory=lambda **kw: SlowStream(**kw))
    player.start()
    burst = np.concatenate([player._stream.play()[:, 0] for _ in range(2000 // BLOCK + 2)])
    player.stop()
    assert not burst[:2000].any()
    assert np.array_equal(burst[2000:], session.signal[: len(burst) - 2000])
    assert player.stats.ring_shortfalls == 0
