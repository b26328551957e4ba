"""Fuzzing the WAV reader: malformed files give a clear AudioFileError, never a traceback.

(The fuzz tests follow; this first part is the WAV builder they and the loader fuzz use.)
"""

from __future__ import annotations

import struct


def wav_bytes(
    frames: bytes,
    sample_rate: int = 8000,
    channel_count: int = 1,
    width_bytes: int = 2,
    format_tag: int = 1,
) -> bytes:
    """A RIFF/WAVE file around raw frames, with whatever header values are asked for (valid or not)."""
    block_align = (channel_count * width_bytes) & 0xFFFF
    fmt = struct.pack(
        "<HHIIHH", format_tag, channel_count, sample_rate & 0xFFFFFFFF, (sample_rate * block_align) & 0xFFFFFFFF, block_align, (8 * width_bytes) & 0xFFFF
    )
    data = b"data" + struct.pack("<I", len(frames)) + frames + (b"\x00" if len(frames) % 2 else b"")
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + data
    return b"RIFF" + struct.pack("<I", len(body)) + body
