"""Fuzzing the WAV reader and `grounding detect AUDIO.wav`: a damaged file is a clear error, never a traceback.

What is fuzzed, and how many cases (all seeded or derandomized, so every run is the same):

- 200 well-formed files from hypothesis: 8/16/24/32-bit integer and 32/64-bit
  float samples, plain or WAVE_FORMAT_EXTENSIBLE, 1 to 4 channels, odd rates,
  odd-sized extra chunks before and after the data. Each must decode to exactly
  the samples written (averaged over channels).
- 1500 seeded mutants of valid files: byte and bit flips, truncation, chunk
  sizes of 0, odd, short and 4 GB, zero channels, zero or huge rates, unknown
  format tags and sample widths, inserted and duplicated chunks, non-RIFF
  starts. Each is read by `read_wav`: either a valid decoding or an
  AudioFileError whose message starts with the file name.
- 9 special paths (empty file, folder, folder named .wav, a pipe, /dev/null, a
  link to itself, a link to a folder, no such file, a text file).
- 60 of those files through `grounding detect FILE.wav` in-process (with a stand-in
  recognizer, since what is tested is reading the file), and 2 through the
  real `python -m assistant detect` with pocketsphinx.

No input file changes by a single byte.
"""

from __future__ import annotations

import hashlib
import io
import os
import random
import struct
import subprocess
import sys
import tempfile
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

from assistant.audio.wavio import MAX_SAMPLE_RATE, MIN_SAMPLE_RATE, read_wav
from assistant.cli import main
from assistant.errors import AudioFileError

# Hypothesis keeps a cache in ./.hypothesis even without a database: keep it out of the work tree.
set_hypothesis_home_dir(os.path.join(tempfile.gettempdir(), "grounding-hypothesis"))

MUTANT_COUNT = 1500
DETECT_COUNT = 60
SEED = 7_2024

_GUID_TAIL = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"


def wav_bytes(
    frames: bytes,
    sample_rate: int = 8000,
    channel_count: int = 1,
    width_bytes: int = 2,
    format_tag: int = 1,
    extensible: bool = False,
    before: bytes = b"",
    after: bytes = b"",
) -> bytes:
    """A RIFF/WAVE file around raw frames, with whatever header values are asked for (valid or not).

    `extensible` writes WAVE_FORMAT_EXTENSIBLE with `format_tag` as its sub-format; `before` and
    `after` are extra chunks placed around the data chunk.
    """
    block_align = (channel_count * width_bytes) & 0xFFFF
    fmt = struct.pack(
        "<HHIIHH",
        0xFFFE if extensible else format_tag,
        channel_count & 0xFFFF,
        sample_rate & 0xFFFFFFFF,
        (sample_rate * block_align) & 0xFFFFFFFF,
        block_align,
        (8 * width_bytes) & 0xFFFF,
    )
    if extensible:
        fmt += struct.pack("<HHI", 22, (8 * width_bytes) & 0xFFFF, 0) + struct.pack("<H", format_tag) + _GUID_TAIL
    data = b"data" + struct.pack("<I", len(frames)) + frames + (b"\x00" if len(frames) % 2 else b"")
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + before + data + after
    return b"RIFF" + struct.pack("<I", len(body)) + body


def chunk(chunk_id: bytes, payload: bytes) -> bytes:
    """One RIFF chunk, padded to an even length."""
    return chunk_id + struct.pack("<I", len(payload)) + payload + (b"\x00" if len(payload) % 2 else b"")


# --------------------------------------------------------------------------------- valid files decode exactly

SAMPLE_FORMATS = [
    # (format tag, bytes per sample, numpy dtype of the stored values, full scale, offset)
    (1, 1, "u1", 128.0, 128.0),
    (1, 2, "<i2", 32768.0, 0.0),
    (1, 3, None, 8388608.0, 0.0),
    (1, 4, "<i4", 2147483648.0, 0.0),
    (3, 4, "<f4", 1.0, 0.0),
    (3, 8, "<f8", 1.0, 0.0),
]


def _encode(values: np.ndarray, width_bytes: int, dtype: str | None) -> bytes:
    if dtype is None:  # 24-bit: three little-endian bytes each
        return b"".join(int(v).to_bytes(3, "little", signed=True) for v in values.ravel())
    return values.astype(dtype).tobytes()


@st.composite
def valid_wavs(draw):
    """(file bytes, expected mono samples, rate) for a well-formed file of any supported kind."""
    format_tag, width_bytes, dtype, full_scale, offset = draw(st.sampled_from(SAMPLE_FORMATS))
    channel_count = draw(st.integers(1, 4))
    frame_count = draw(st.integers(1, 300))
    rate = draw(st.sampled_from([MIN_SAMPLE_RATE, 8000, 11025, 16000, 22050, 44100, 48000, 96000, 44101, MAX_SAMPLE_RATE]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    shape = (frame_count, channel_count)
    if format_tag == 3:
        values = rng.uniform(-1.0, 1.0, size=shape)
        if draw(st.booleans()):
            values[0, 0] = draw(st.sampled_from([np.nan, np.inf, -np.inf, 3.5, -7.0, 1e-40]))
        expected = np.clip(np.nan_to_num(values.astype(dtype).astype(np.float64), nan=0.0, posinf=1.0, neginf=-1.0), -1, 1)
    else:
        low, high = -full_scale + offset, full_scale - 1 + offset
        values = rng.integers(int(low), int(high), size=shape, endpoint=True)
        expected = (values.astype(np.float64) - offset) / full_scale
    extra = st.sampled_from([b"", chunk(b"LIST", b"INFOISFT\x03\x00\x00abc\x00"), chunk(b"junk", b"x"), chunk(b"fact", b"\x01\x00\x00\x00")])
    data = wav_bytes(
        _encode(values, width_bytes, dtype),
        sample_rate=rate,
        channel_count=channel_count,
        width_bytes=width_bytes,
        format_tag=format_tag,
        extensible=draw(st.booleans()),
        before=draw(extra),
        after=draw(extra),
    )
    return data, expected.mean(axis=1), rate


@settings(
    max_examples=200,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=valid_wavs())
def test_every_supported_format_decodes_exactly(tmp_path, case):
    """Integer and float, plain and extensible, any channel count and extra chunks: the samples come back."""
    data, expected, rate = case
    path = tmp_path / "valid.wav"
    path.write_bytes(data)
    samples, got_rate = read_wav(path)
    assert got_rate == rate
    assert samples.dtype == np.float32 and samples.shape == expected.shape
    np.testing.assert_allclose(samples, expected.astype(np.float32), atol=1e-6)
    assert path.read_bytes() == data


# --------------------------------------------------------------------------------- damaged files are errors


def _seeds() -> list[bytes]:
    rng = np.random.default_rng(SEED)
    tone = (0.5 * np.sin(np.arange(400) / 5.0) * 32767).astype("<i2")
    return [
        wav_bytes(tone.tobytes(), 16000),
        wav_bytes(np.repeat(tone, 2).tobytes(), 44100, channel_count=2),
        wav_bytes(rng.integers(0, 255, 301, dtype=np.uint8).tobytes(), 8000, width_bytes=1),
        wav_bytes(b"".join(int(v).to_bytes(3, "little", signed=True) for v in tone[:100] * 256), 48000, width_bytes=3, extensible=True),
        wav_bytes(rng.uniform(-1, 1, 200).astype("<f4").tobytes(), 22050, width_bytes=4, format_tag=3),
        wav_bytes(tone[:99].tobytes(), 11025, before=chunk(b"LIST", b"odd"), after=chunk(b"junk", b"12345")),
    ]


_HEADER_FIELDS = {  # offset in a plain file: what a damaged header might hold there
    4: "<I",  # RIFF size
    16: "<I",  # fmt size
    20: "<H",  # format tag
    22: "<H",  # channels
    24: "<I",  # sample rate
    32: "<H",  # block align
    34: "<H",  # bits per sample
    40: "<I",  # data size
}
_NASTY_NUMBERS = [0, 1, 2, 3, 7, 15, 17, 255, 0x7FFF, 0xFFFE, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF, 999, 44100, 16]


def _mutate(rng: random.Random, data: bytes, seeds: list[bytes]) -> tuple[str, bytes]:
    kind = rng.choice(
        ["byte", "bit", "truncate", "field", "field", "insert-chunk", "duplicate-chunk", "prefix", "splice", "zero-run", "empty"]
    )
    out = bytearray(data)
    if kind == "byte" and out:
        for _ in range(rng.randint(1, 4)):
            out[rng.randrange(min(len(out), 64))] = rng.randrange(256)
    elif kind == "bit" and out:
        i = rng.randrange(len(out))
        out[i] ^= 1 << rng.randrange(8)
    elif kind == "truncate":
        out = out[: rng.choice([0, 1, 4, 8, 11, 12, 13, 20, 35, 36, 43, 44, 45, rng.randrange(len(out) + 1)])]
    elif kind == "field":
        offset = rng.choice(list(_HEADER_FIELDS))
        fmt = _HEADER_FIELDS[offset]
        value = rng.choice(_NASTY_NUMBERS) & (0xFFFF if fmt == "<H" else 0xFFFFFFFF)
        if offset + struct.calcsize(fmt) <= len(out):
            struct.pack_into(fmt, out, offset, value)
    elif kind == "insert-chunk":
        size = rng.choice([0, 1, 3, 0xFFFFFFFF, 0x7FFFFFFF, 100])
        body = bytes(rng.randrange(256) for _ in range(rng.randrange(12)))
        at = rng.choice([12, 36, len(out)])
        out[at:at] = rng.choice([b"junk", b"LIST", b"fmt ", b"data", b"\x00\x00\x00\x00"]) + struct.pack("<I", size) + body
    elif kind == "duplicate-chunk":
        out[12:12] = out[12:36]
    elif kind == "prefix":
        out[0:4] = rng.choice([b"RIFX", b"RF64", b"riff", b"\x00\x00\x00\x00", b"ID3\x03", b"fLaC", b"OggS"])
    elif kind == "splice":
        other = rng.choice(seeds)
        out = out[: rng.randrange(len(out) + 1)] + other[rng.randrange(len(other) + 1) :]
    elif kind == "zero-run":
        start = rng.randrange(len(out) + 1)
        out[start : start + rng.randint(1, 40)] = bytes(rng.randint(1, 40))
    else:
        out = bytearray(rng.choice([b"", b"RIFF", b"RIFF\x00\x00\x00\x00WAVE", b"hello, not audio\n" * 20]))
    return kind, bytes(out)


def mutants(count: int, seed: int = SEED) -> list[tuple[str, bytes]]:
    """`count` damaged files, (label, bytes), one to three mutations of a valid file each."""
    rng = random.Random(seed)
    seeds = _seeds()
    made = []
    for index in range(count):
        data = seeds[index % len(seeds)]
        labels = []
        for _ in range(rng.choice([1, 1, 2, 3])):
            label, data = _mutate(rng, data, seeds)
            labels.append(label)
        made.append((f"{index:04d}.{'+'.join(labels)}", data))
    return made


def _assert_read_is_sound(path: Path) -> str:
    """read_wav gives a valid decoding or an AudioFileError naming the file; returns 'ok' or the message."""
    try:
        samples, rate = read_wav(path)
    except AudioFileError as exc:
        message = str(exc)
        assert message.startswith(f"{path}: ") and len(message) > len(f"{path}: ") + 5, message
        assert "\n" not in message
        return message
    assert isinstance(samples, np.ndarray) and samples.dtype == np.float32 and samples.ndim == 1
    assert len(samples) > 0 and np.all(np.isfinite(samples)) and np.all(np.abs(samples) <= 1.0)
    assert isinstance(rate, int) and MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE
    return "ok"


@pytest.fixture(scope="module")
def damaged(tmp_path_factory) -> list[tuple[Path, bytes]]:
    folder = tmp_path_factory.mktemp("damaged-wavs")
    written = []
    for name, data in mutants(MUTANT_COUNT):
        path = folder / f"{name}.wav"
        path.write_bytes(data)
        written.append((path, data))
    return written


def test_mutator_is_deterministic():
    """The same seed gives the same damaged files."""
    assert mutants(100) == mutants(100)


def test_damaged_files_are_errors_or_decode(damaged):
    """Each of 1500 damaged files: an AudioFileError naming it, or a valid decoding; never anything else."""
    outcomes = {"ok": 0, "error": 0}
    for path, data in damaged:
        outcome = _assert_read_is_sound(path)
        outcomes["ok" if outcome == "ok" else "error"] += 1
        assert path.read_bytes() == data, f"{path.name} was modified"
    # Both sides are exercised: some damage is harmless (a flipped sample), most is not.
    assert outcomes["ok"] > 50 and outcomes["error"] > 500, outcomes


@pytest.fixture
def special_paths(tmp_path) -> list[Path]:
    """Paths that are not WAV files at all."""
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    folder = tmp_path / "folder.wav"
    folder.mkdir()
    pipe = tmp_path / "pipe.wav"
    os.mkfifo(pipe)
    loop = tmp_path / "loop.wav"
    loop.symlink_to(loop)
    to_folder = tmp_path / "to-folder.wav"
    to_folder.symlink_to(folder)
    text = tmp_path / "notes.wav"
    text.write_text("these are my notes, not audio\n" * 10)
    return [empty, folder, tmp_path, pipe, Path(os.devnull), loop, to_folder, tmp_path / "missing.wav", text]


def test_special_paths_are_errors_not_hangs(special_paths):
    """Empty files, folders, a pipe (never opened: that would wait for a writer), a device, link loops."""
    for path in special_paths:
        with pytest.raises(AudioFileError) as error:
            read_wav(path)
        assert str(error.value).startswith(f"{path}: "), error.value


# --------------------------------------------------------------------------------- grounding detect FILE.wav


class SilentRecognizer:
    """Hears nothing; counts the samples it was fed, to show the file really streamed through."""

    name = "stand-in"
    sample_rate = 16000

    def __init__(self):
        self.fed = 0

    def accept(self, samples):
        self.fed += len(samples)
        return []

    def flush(self):
        return []

    def reset(self):
        pass


@pytest.fixture(scope="module")
def bundled_library(tmp_path_factory):
    from assistant.library.loader import load_library

    return load_library(user_dir=tmp_path_factory.mktemp("no-user-files"))


@pytest.fixture
def stand_in_recognizer(monkeypatch, tmp_path, bundled_library):
    """`grounding detect` with a recognizer that loads instantly and the library loaded once: reading the file is what is tested."""
    from assistant.library import loader
    from assistant.speech import engines

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setattr(loader, "load_library", lambda *args, **kwargs: bundled_library)
    opened = []

    def open_stand_in(*args, **kwargs):
        opened.append(SilentRecognizer())
        return engines.OpenedRecognizer(opened[-1], "a stand-in recognizer")

    monkeypatch.setattr(engines, "open_recognizer", open_stand_in)
    return opened


def _detect(path: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["detect", str(path), "--json"])
    return code, out.getvalue(), err.getvalue()


def test_detect_on_damaged_files_exits_cleanly(damaged, special_paths, stand_in_recognizer):
    """`grounding detect FILE.wav`: exit 0 having streamed the audio, or exit 1 with `grounding: FILE: ...`."""
    rng = random.Random(SEED)
    chosen = [path for path, _ in rng.sample(damaged, DETECT_COUNT - len(special_paths))] + special_paths
    for path in chosen:
        before = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() and path.name != "pipe.wav" else None
        code, out, err = _detect(path)
        assert "Traceback" not in out + err
        if _assert_read_is_sound(path) == "ok":
            assert code == 0, err
            assert stand_in_recognizer[-1].fed > 0
        else:
            assert code == 1, err
            assert f"grounding: {path}: " in err, err
            assert out == ""
        if before is not None:
            assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_detect_as_a_real_command_on_damaged_files(tmp_path):
    """The real `python -m assistant detect` with pocketsphinx: exit 1, the file named, no traceback."""
    truncated = tmp_path / "truncated.wav"
    truncated.write_bytes(_seeds()[0][:300])
    folder = tmp_path / "folder.wav"
    folder.mkdir()
    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / "config"), PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    for path in (truncated, folder):
        before = path.read_bytes() if path.is_file() else None
        result = subprocess.run(
            [sys.executable, "-m", "assistant", "detect", str(path), "--json", "--engine", "pocketsphinx"],
            capture_output=True, text=True, timeout=120, env=env,
        )
        assert result.returncode == 1, result.stderr
        assert "Traceback" not in result.stderr and result.stdout == ""
        assert f"{path}: " in result.stderr
        if before is not None:
            assert path.read_bytes() == before


# --------------------------------------------------------------------------------- what fuzzing found


def test_a_zero_length_chunk_before_fmt_is_skipped_not_a_runtime_error(tmp_path):
    """The stdlib `wave` raised a bare RuntimeError here; the file decodes."""
    good = _seeds()[0]
    path = tmp_path / "junk-first.wav"
    path.write_bytes(good[:12] + chunk(b"junk", b"") + good[12:])
    samples, rate = read_wav(path)
    assert rate == 16000 and len(samples) == 400


def test_a_rate_no_recording_has_is_a_broken_header(tmp_path, stand_in_recognizer):
    """2^31-1 Hz once made `detect` resample through a 16 GB FFT (MemoryError); now the header is called broken."""
    path = tmp_path / "rate.wav"
    path.write_bytes(wav_bytes(b"\x00\x01" * 200_000, sample_rate=2**31 - 1))
    with pytest.raises(AudioFileError, match="broken header"):
        read_wav(path)
    code, _, err = _detect(path)
    assert code == 1 and "broken header" in err


def test_24_bit_extensible_and_float_files_are_read(tmp_path):
    """ffmpeg writes 24-bit PCM as WAVE_FORMAT_EXTENSIBLE, and float as format 3; both used to be refused."""
    path = tmp_path / "ext.wav"
    path.write_bytes(wav_bytes((4194304).to_bytes(3, "little", signed=True) * 3, 48000, width_bytes=3, extensible=True))
    assert read_wav(path)[0].tolist() == [0.5, 0.5, 0.5]
    path.write_bytes(wav_bytes(np.array([0.25, -2.0, np.nan], dtype="<f4").tobytes(), 48000, width_bytes=4, format_tag=3))
    assert read_wav(path)[0].tolist() == [0.25, -1.0, 0.0]


def test_compressed_formats_say_how_to_convert(tmp_path):
    """An ADPCM or mu-law WAV is refused with the ffmpeg line that converts it."""
    path = tmp_path / "adpcm.wav"
    path.write_bytes(wav_bytes(b"\x00" * 64, 8000, width_bytes=1, format_tag=2))
    with pytest.raises(AudioFileError, match=r"ADPCM, not uncompressed PCM.*ffmpeg -i IN -c:a pcm_s16le OUT.wav"):
        read_wav(path)
