"""Read and write WAV files as float32 numpy arrays (stdlib `wave` + numpy only)."""

from __future__ import annotations

import logging
import os
import secrets
import struct
import wave
from typing import Iterable

import numpy as np

from assistant.errors import AudioFileError

logger = logging.getLogger(__name__)

# Full-scale value of each PCM width: dividing by it maps the format to [-1, 1).
_FULL_SCALE_BY_WIDTH_BYTES = {1: 128.0, 2: 32768.0, 3: 8388608.0, 4: 2147483648.0}
_INT16_MAX = 32767


def read_wav(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """Mono float32 samples in [-1, 1] and the sample rate; stereo is averaged; 8/16/24/32-bit PCM supported."""
    name = os.fspath(path)
    try:
        with wave.open(name, "rb") as reader:
            channel_count = reader.getnchannels()
            width_bytes = reader.getsampwidth()
            sample_rate = reader.getframerate()
            frame_count = reader.getnframes()
            data = reader.readframes(frame_count)
    except FileNotFoundError:
        raise AudioFileError(f"{name}: no such file.") from None
    except IsADirectoryError:
        raise AudioFileError(f"{name}: is a folder, not a WAV file.") from None
    except OSError as error:
        raise AudioFileError(f"{name}: could not be read ({error.strerror or error}).") from error
    except EOFError:
        # `wave` raises a bare EOFError for zero-byte files and headers cut short.
        raise AudioFileError(f"{name}: not a WAV file (it is empty or its header is cut short).") from None
    except (wave.Error, struct.error) as error:
        raise AudioFileError(
            f"{name}: not a usable WAV file ({error}); expected uncompressed 8/16/24/32-bit PCM."
        ) from None

    if width_bytes not in _FULL_SCALE_BY_WIDTH_BYTES:
        raise AudioFileError(f"{name}: {8 * width_bytes}-bit samples are not supported; use 8/16/24/32-bit PCM.")
    if channel_count < 1 or sample_rate <= 0:
        raise AudioFileError(f"{name}: broken header ({channel_count} channels at {sample_rate} Hz).")
    if frame_count == 0:
        raise AudioFileError(f"{name}: contains no audio (0 frames).")
    frame_bytes = channel_count * width_bytes
    if len(data) < frame_count * frame_bytes:
        # `wave` silently returns fewer bytes when the data chunk is cut short.
        raise AudioFileError(
            f"{name}: truncated; the header promises {frame_count} frames "
            f"but only {len(data) // frame_bytes} are present."
        )

    interleaved = _pcm_to_float(data, width_bytes)
    # Mean over channels; float64 so averaging does not lose precision before the cast.
    samples = interleaved.reshape(frame_count, channel_count).mean(axis=1, dtype=np.float64)
    return samples.astype(np.float32), sample_rate


def write_wav(path: str | os.PathLike, samples: np.ndarray, sample_rate: int) -> None:
    """Write mono 16-bit PCM atomically: to a temp file in the same folder, then os.replace, so a failed write never leaves a half file under the final name."""
    write_wav_blocks(path, [samples], sample_rate)


def write_wav_blocks(path: str | os.PathLike, blocks: Iterable[np.ndarray], sample_rate: int) -> None:
    """Like write_wav, but streams consecutive mono blocks, so a long session is never held in memory whole."""
    if int(sample_rate) != sample_rate or sample_rate <= 0:
        raise ValueError(f"sample_rate must be a positive integer, got {sample_rate!r}")
    final_path = os.fspath(path)
    folder, base_name = os.path.split(final_path)
    temp_path = os.path.join(folder, f".{base_name}.{secrets.token_hex(4)}.tmp")
    try:
        # os.open with mode 0o666 lets the umask decide permissions, as a plain open() would.
        descriptor = os.open(temp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as error:
        raise AudioFileError(f"Could not write {final_path}: {error.strerror or error}.") from error
    try:
        with os.fdopen(descriptor, "wb") as temp_file:
            with wave.open(temp_file, "wb") as writer:
                writer.setnchannels(1)
                writer.setsampwidth(2)
                writer.setframerate(int(sample_rate))
                for block in blocks:
                    writer.writeframes(_to_pcm16(block))
            temp_file.flush()
            os.fsync(temp_file.fileno())
        os.replace(temp_path, final_path)
    except OSError as error:
        _remove_quietly(temp_path)
        raise AudioFileError(f"Could not write {final_path}: {error.strerror or error}.") from error
    except BaseException:
        # Bad samples or a failing producer of blocks: no half file either way.
        _remove_quietly(temp_path)
        raise


def _to_pcm16(samples: np.ndarray) -> bytes:
    """Mono float samples as little-endian int16 bytes: clipped to [-1, 1] and rounded."""
    samples = np.asarray(samples)
    if samples.ndim != 1:
        raise ValueError(f"expected mono (1-D) samples, got shape {samples.shape}")
    if not np.all(np.isfinite(samples)):
        raise ValueError("got NaN or infinite samples")
    # Scale by 32767 (not 32768) so +1.0 fits; round so quiet signals are not biased toward zero.
    return np.rint(np.clip(samples.astype(np.float64), -1.0, 1.0) * _INT16_MAX).astype("<i2").tobytes()


def _pcm_to_float(data: bytes, width_bytes: int) -> np.ndarray:
    """Little-endian PCM bytes of one width to float64 values in [-1, 1)."""
    full_scale = _FULL_SCALE_BY_WIDTH_BYTES[width_bytes]
    if width_bytes == 1:
        # 8-bit WAV is unsigned with 128 as silence.
        return (np.frombuffer(data, dtype=np.uint8).astype(np.float64) - 128.0) / full_scale
    if width_bytes == 3:
        # numpy has no int24: place the 3 bytes in the top of an int32 and shift back (sign-extends).
        triples = np.frombuffer(data, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        values = (triples[:, 0] << 8) | (triples[:, 1] << 16) | (triples[:, 2] << 24)
        return (values >> 8).astype(np.float64) / full_scale
    dtype = "<i2" if width_bytes == 2 else "<i4"
    return np.frombuffer(data, dtype=dtype).astype(np.float64) / full_scale


def _remove_quietly(path: str) -> None:
    """Delete a leftover temp file; a failure here must not hide the original error."""
    try:
        os.remove(path)
    except FileNotFoundError:
        pass
    except OSError as error:
        logger.warning("Could not remove temporary file %s: %s", path, error)
