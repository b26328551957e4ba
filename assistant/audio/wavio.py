"""Read and write WAV files as float32 numpy arrays (numpy and the stdlib only).

Reading walks the RIFF chunks here rather than through the stdlib `wave`: that
module (3.11) raises RuntimeError, EOFError or struct.error on damaged files and
knows neither float samples nor WAVE_FORMAT_EXTENSIBLE, which ffmpeg writes for
every 24-bit file. Writing still uses `wave`.
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
import struct
import wave
from typing import Iterable

import numpy as np

from assistant.errors import AudioFileError

logger = logging.getLogger(__name__)

# Full-scale value of each PCM width: dividing by it maps the format to [-1, 1).
_FULL_SCALE_BY_WIDTH_BYTES = {1: 128.0, 2: 32768.0, 3: 8388608.0, 4: 2147483648.0}
_INT16_MAX = 32767

_PCM, _FLOAT, _EXTENSIBLE = 0x0001, 0x0003, 0xFFFE
# The GUID of an extensible format is its format tag followed by these 14 bytes.
_GUID_TAIL = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
_FORMAT_NAMES = {0x0002: "Microsoft ADPCM", 0x0006: "A-law", 0x0007: "\u00b5-law", 0x0011: "IMA ADPCM", 0x0055: "MP3"}
# Outside these a header is damaged, and resampling from such a rate would need gigabytes.
MIN_SAMPLE_RATE = 1_000  # hertz
MAX_SAMPLE_RATE = 768_000  # hertz
_CONVERT = "convert it with `ffmpeg -i IN -c:a pcm_s16le OUT.wav`"


def read_wav(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """Mono float32 samples in [-1, 1] and the sample rate; channels are averaged.

    Reads 8/16/24/32-bit integer PCM and 32/64-bit float, plain or WAVE_FORMAT_EXTENSIBLE;
    anything else, or a damaged file, is an AudioFileError that names the file.
    """
    name = os.fspath(path)
    raw = _read_riff(name)
    format_tag, channel_count, sample_rate, bits, data, declared_bytes = _parse_chunks(name, raw)

    if channel_count < 1 or not MIN_SAMPLE_RATE <= sample_rate <= MAX_SAMPLE_RATE:
        raise AudioFileError(
            f"{name}: broken header ({channel_count} channel{'' if channel_count == 1 else 's'} at {sample_rate} Hz; "
            f"expected at least 1 channel at {MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz)."
        )
    width_bytes = (bits + 7) // 8  # the container: 20-bit samples are stored in 3 bytes
    if format_tag == _PCM and width_bytes not in _FULL_SCALE_BY_WIDTH_BYTES:
        raise AudioFileError(f"{name}: {bits}-bit samples are not supported; use 8/16/24/32-bit PCM.")
    if format_tag == _FLOAT and width_bytes not in (4, 8):
        raise AudioFileError(f"{name}: {bits}-bit float samples are not supported; use 32 or 64-bit float, or {_CONVERT}.")
    frame_bytes = channel_count * width_bytes
    frame_count = declared_bytes // frame_bytes
    if frame_count == 0:
        raise AudioFileError(f"{name}: contains no audio (0 frames).")
    if len(data) < frame_count * frame_bytes:
        raise AudioFileError(
            f"{name}: truncated; the header promises {frame_count} frames "
            f"but only {len(data) // frame_bytes} are present."
        )

    data = data[: frame_count * frame_bytes]  # an odd byte or a partial frame at the end is dropped
    if format_tag == _FLOAT:
        # Float files may go past full scale, or hold NaN where a writer failed: keep to [-1, 1].
        with np.errstate(invalid="ignore"):  # a signalling NaN warns as it is widened
            interleaved = np.frombuffer(data, dtype="<f4" if width_bytes == 4 else "<f8").astype(np.float64)
        interleaved = np.clip(np.nan_to_num(interleaved, nan=0.0, posinf=1.0, neginf=-1.0), -1.0, 1.0)
    else:
        interleaved = _pcm_to_float(data, width_bytes)
    # Mean over channels; float64 so averaging does not lose precision before the cast.
    samples = interleaved.reshape(frame_count, channel_count).mean(axis=1, dtype=np.float64)
    return samples.astype(np.float32), sample_rate


def _read_riff(name: str) -> bytes:
    """The whole file, once it is known to be a regular file that starts like a WAV."""
    try:
        info = os.stat(name)
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError
        if not stat.S_ISREG(info.st_mode):
            # Opening a pipe waits for a writer, and a device may never end (/dev/zero): read neither.
            raise AudioFileError(f"{name}: not a regular file; save the audio to a WAV file first.")
        with open(name, "rb") as handle:
            header = handle.read(12)
            if len(header) < 12:
                raise AudioFileError(f"{name}: not a WAV file (it is empty or its header is cut short).")
            if header[:4] != b"RIFF" or header[8:12] != b"WAVE":
                kind = {b"RIFX": "a big-endian RIFX file", b"RF64": "an RF64 file, a WAV over 4 GB"}.get(header[:4])
                what = kind or "it does not start with RIFF....WAVE"
                raise AudioFileError(
                    f"{name}: not a usable WAV file ({what}); expected uncompressed 8/16/24/32-bit PCM."
                )
            return header + handle.read()
    except FileNotFoundError:
        raise AudioFileError(f"{name}: no such file.") from None
    except IsADirectoryError:
        raise AudioFileError(f"{name}: is a folder, not a WAV file.") from None
    except OSError as error:
        raise AudioFileError(f"{name}: could not be read ({error.strerror or error}).") from error


def _parse_chunks(name: str, raw: bytes) -> tuple[int, int, int, int, memoryview, int]:
    """(format tag, channels, rate, bits per sample, the data present, the data size declared) from the chunks."""
    fmt: bytes | None = None
    data: memoryview | None = None
    declared_bytes = 0
    view = memoryview(raw)
    position = 12
    while position + 8 <= len(raw):
        chunk_id = raw[position : position + 4]
        (size,) = struct.unpack_from("<I", raw, position + 4)
        body = position + 8
        if chunk_id == b"fmt " and fmt is None:
            fmt = raw[body : body + size]
        elif chunk_id == b"data" and data is None:
            data, declared_bytes = view[body : body + size], size
        position = body + size + (size & 1)  # chunks are padded to an even length
    if fmt is None:
        raise AudioFileError(
            f"{name}: not a usable WAV file (no 'fmt ' chunk, so the header is cut short or damaged); "
            "expected uncompressed 8/16/24/32-bit PCM."
        )
    if data is None:
        raise AudioFileError(f"{name}: contains no audio (no 'data' chunk; the file may be cut short).")
    if len(fmt) < 16:
        raise AudioFileError(f"{name}: broken header (its 'fmt ' chunk is {len(fmt)} bytes, not at least 16).")
    format_tag, channel_count, sample_rate, _, _, bits = struct.unpack_from("<HHIIHH", fmt)
    if format_tag == _EXTENSIBLE:
        if len(fmt) < 40 or fmt[26:40] != _GUID_TAIL:
            raise AudioFileError(f"{name}: broken header (an extensible format without a known sub-format); {_CONVERT}.")
        (format_tag,) = struct.unpack_from("<H", fmt, 24)
    if format_tag not in (_PCM, _FLOAT):
        what = _FORMAT_NAMES.get(format_tag, f"format 0x{format_tag:04x}")
        raise AudioFileError(
            f"{name}: not a usable WAV file ({what}, not uncompressed PCM); {_CONVERT}."
        )
    if bits == 0:
        raise AudioFileError(f"{name}: broken header (0 bits per sample).")
    return format_tag, channel_count, sample_rate, bits, data, declared_bytes


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
