"""WAV reading and writing, with files built in a temporary folder."""

from __future__ import annotations

import errno
import os
import wave

import numpy as np
import pytest

from assistant.audio import wavio
from assistant.audio.wavio import read_wav, write_wav, write_wav_blocks
from assistant.errors import AudioFileError


def _write_pcm(path, frames: bytes, channel_count: int, width_bytes: int, sample_rate: int = 8000) -> None:
    """A WAV written by the stdlib, for formats write_wav does not produce."""
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(channel_count)
        writer.setsampwidth(width_bytes)
        writer.setframerate(sample_rate)
        writer.writeframes(frames)


def _sine(count: int, amplitude: float = 0.5) -> np.ndarray:
    return (amplitude * np.sin(2 * np.pi * np.arange(count) / 37.0)).astype(np.float32)


def test_round_trip_keeps_samples_and_rate(tmp_path):
    """Mono float32 written and read back matches within one 16-bit step."""
    samples = _sine(1000)
    path = tmp_path / "clip.wav"
    write_wav(path, samples, 22050)
    read_back, sample_rate = read_wav(path)
    assert sample_rate == 22050
    assert read_back.dtype == np.float32
    assert read_back.shape == samples.shape
    assert np.max(np.abs(read_back - samples)) < 1.0 / 32767


def test_written_file_is_mono_16_bit(tmp_path):
    """The file on disk is plain mono 16-bit PCM that any player reads."""
    path = tmp_path / "clip.wav"
    write_wav(str(path), _sine(10), 16000)
    with wave.open(str(path), "rb") as reader:
        assert (reader.getnchannels(), reader.getsampwidth(), reader.getframerate(), reader.getnframes()) == (
            1,
            2,
            16000,
            10,
        )


def test_write_clips_and_rounds(tmp_path):
    """Values beyond full scale are clipped, and conversion rounds rather than truncates."""
    path = tmp_path / "clip.wav"
    write_wav(path, np.array([2.0, -2.0, 0.9 / 32767, -0.9 / 32767, 0.4 / 32767]), 8000)
    with wave.open(str(path), "rb") as reader:
        pcm = np.frombuffer(reader.readframes(5), dtype="<i2")
    assert pcm.tolist() == [32767, -32767, 1, -1, 0]


def test_stereo_is_averaged(tmp_path):
    """Left and right channels are averaged into one."""
    left = np.array([10000, -20000, 0], dtype="<i2")
    right = np.array([20000, 0, 32767], dtype="<i2")
    path = tmp_path / "stereo.wav"
    _write_pcm(path, np.column_stack([left, right]).tobytes(), channel_count=2, width_bytes=2)
    samples, _ = read_wav(path)
    np.testing.assert_allclose(samples, (left / 32768 + right / 32768) / 2, atol=1e-7)


def test_8_bit_unsigned(tmp_path):
    """8-bit WAV is unsigned with 128 as silence."""
    path = tmp_path / "eight.wav"
    _write_pcm(path, bytes([128, 255, 0, 192]), channel_count=1, width_bytes=1)
    samples, _ = read_wav(path)
    np.testing.assert_allclose(samples, [0.0, 127 / 128, -1.0, 0.5])


def test_24_bit_signed(tmp_path):
    """24-bit samples, including negative ones, are sign-extended correctly."""
    values = [0, 1, -1, 8388607, -8388608, 4194304]
    path = tmp_path / "twentyfour.wav"
    frames = b"".join(v.to_bytes(3, "little", signed=True) for v in values)
    _write_pcm(path, frames, channel_count=1, width_bytes=3)
    samples, _ = read_wav(path)
    np.testing.assert_allclose(samples, np.array(values) / 8388608, atol=1e-9)


def test_32_bit_signed(tmp_path):
    """32-bit integer PCM is scaled to [-1, 1)."""
    values = np.array([0, 2**30, -(2**31)], dtype="<i4")
    path = tmp_path / "thirtytwo.wav"
    _write_pcm(path, values.tobytes(), channel_count=1, width_bytes=4)
    samples, _ = read_wav(path)
    np.testing.assert_allclose(samples, [0.0, 0.5, -1.0])


def test_missing_file(tmp_path):
    """A missing file is an AudioFileError naming the file."""
    with pytest.raises(AudioFileError, match="nowhere.wav"):
        read_wav(tmp_path / "nowhere.wav")


def test_zero_byte_file(tmp_path):
    """A zero-byte file is an AudioFileError, not an EOFError traceback."""
    path = tmp_path / "zero.wav"
    path.write_bytes(b"")
    with pytest.raises(AudioFileError, match="zero.wav"):
        read_wav(path)


def test_garbage_file(tmp_path):
    """A file that is not a WAV says so."""
    path = tmp_path / "garbage.wav"
    path.write_bytes(b"this is not audio at all, just some text" * 10)
    with pytest.raises(AudioFileError, match="not a usable WAV"):
        read_wav(path)


def test_header_cut_short(tmp_path):
    """A file cut inside its header is an AudioFileError."""
    path = tmp_path / "clip.wav"
    write_wav(path, _sine(100), 8000)
    path.write_bytes(path.read_bytes()[:20])
    with pytest.raises(AudioFileError, match="clip.wav"):
        read_wav(path)


def test_truncated_data(tmp_path):
    """A data chunk shorter than its header promises is reported as truncated."""
    path = tmp_path / "clip.wav"
    write_wav(path, _sine(1000), 8000)
    path.write_bytes(path.read_bytes()[:-500])
    with pytest.raises(AudioFileError, match="truncated"):
        read_wav(path)


def test_wav_without_frames(tmp_path):
    """A valid header with no audio frames is an AudioFileError."""
    path = tmp_path / "empty.wav"
    _write_pcm(path, b"", channel_count=1, width_bytes=2)
    with pytest.raises(AudioFileError, match="no audio"):
        read_wav(path)


def test_folder_instead_of_file(tmp_path):
    """Passing a folder is an AudioFileError."""
    with pytest.raises(AudioFileError, match="folder"):
        read_wav(tmp_path)


def test_write_into_missing_folder(tmp_path):
    """Writing into a folder that does not exist names the path, leaves nothing behind."""
    target = tmp_path / "missing" / "out.wav"
    with pytest.raises(AudioFileError, match="out.wav"):
        write_wav(target, _sine(10), 8000)
    assert not target.exists()


def test_write_where_parent_is_a_file(tmp_path):
    """A parent path that is a regular file (unwritable even for root) is an AudioFileError."""
    blocker = tmp_path / "blocker"
    blocker.write_text("I am a file")
    with pytest.raises(AudioFileError, match="out.wav"):
        write_wav(blocker / "out.wav", _sine(10), 8000)


def test_disk_full_leaves_no_partial_file(tmp_path, monkeypatch):
    """When the final rename fails (disk full), no temp file and no final file remain."""

    def full_disk(source, destination):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(wavio.os, "replace", full_disk)
    target = tmp_path / "out.wav"
    with pytest.raises(AudioFileError, match="No space left"):
        write_wav(target, _sine(1000), 8000)
    assert list(tmp_path.iterdir()) == []


def test_disk_full_keeps_previous_file(tmp_path, monkeypatch):
    """A failed overwrite leaves the earlier good file untouched."""
    target = tmp_path / "out.wav"
    write_wav(target, _sine(100), 8000)
    before = target.read_bytes()

    def full_disk(descriptor):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(wavio.os, "fsync", full_disk)
    with pytest.raises(AudioFileError):
        write_wav(target, _sine(5000), 8000)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["out.wav"]


def test_overwrite_replaces_file(tmp_path):
    """Writing twice to one path leaves only the second clip."""
    target = tmp_path / "out.wav"
    write_wav(target, _sine(100), 8000)
    write_wav(target, np.zeros(7, dtype=np.float32), 8000)
    samples, _ = read_wav(target)
    assert len(samples) == 7
    assert [p.name for p in tmp_path.iterdir()] == ["out.wav"]


def test_write_rejects_stereo_arrays(tmp_path):
    """Passing a 2-D array is a programming error, reported loudly."""
    with pytest.raises(ValueError):
        write_wav(tmp_path / "out.wav", np.zeros((10, 2)), 8000)


def test_blocks_are_written_in_order(tmp_path):
    """write_wav_blocks writes consecutive blocks as one clip."""
    target = tmp_path / "session.wav"
    clip = _sine(3000)
    write_wav_blocks(target, (clip[i : i + 1024] for i in range(0, 3000, 1024)), 44100)
    read_back, sample_rate = read_wav(target)
    assert sample_rate == 44100
    assert np.max(np.abs(read_back - clip)) < 1.0 / 32767


def test_failing_block_producer_leaves_nothing(tmp_path):
    """If producing a block fails midway, its error propagates and no file is left behind."""

    def blocks():
        yield _sine(1000)
        raise RuntimeError("mixer broke")

    with pytest.raises(RuntimeError, match="mixer broke"):
        write_wav_blocks(tmp_path / "session.wav", blocks(), 44100)
    assert list(tmp_path.iterdir()) == []
