"""The benchmark corpus builder (benchmarks/corpus/build.py --quick): complete, well-formed, exact and repeatable."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from assistant.audio.wavio import read_wav

REPO = Path(__file__).resolve().parents[1]
BUILD = REPO / "benchmarks" / "corpus" / "build.py"
KINDS = {"start", "control", "crisis", "ordinary"}
NOISES = {"pink", "brown", "fan", "household", "babble"}
FIELDS = {"file", "kind", "intent", "text", "voice", "snr_db", "noise", "speech_start_s", "speech_end_s", "duration_s"}

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        shutil.which("espeak-ng") is None,
        reason="espeak-ng is not installed (Debian: apt-get install espeak-ng); the quick corpus is spoken with it",
    ),
]


def _build(out: Path) -> list[dict]:
    result = subprocess.run(
        [sys.executable, str(BUILD), "--quick", "--out", str(out), "--seed", "7"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[Path, list[dict]]:
    out = tmp_path_factory.mktemp("corpus_a")
    return out, _build(out)


def _active_rms(samples: np.ndarray) -> float:
    """The README's active speech level: RMS over 10 ms frames within 30 dB of the loudest frame."""
    frames = samples[: len(samples) // 160 * 160].astype(np.float64).reshape(-1, 160)
    powers = np.mean(frames**2, axis=1)
    return float(np.sqrt(np.mean(powers[powers >= powers.max() * 1e-3])))


def _clean_partner(rows: list[dict], row: dict) -> dict:
    return next(other for other in rows if other["id"] == row["id"] and other["snr_db"] is None)


def test_manifest_lines_are_valid(corpus):
    """Every line has the documented fields with values of the documented kinds."""
    _, rows = corpus
    assert rows, "empty manifest"
    for row in rows:
        assert FIELDS <= row.keys(), row
        assert row["kind"] in KINDS
        assert row["snr_db"] in (None, 20, 10)
        assert (row["noise"] is None) == (row["snr_db"] is None)
        assert row["noise"] is None or row["noise"] in NOISES
        assert row["intent"] and row["voice"]
        assert row["text"] or row["source"] == "pocketsphinx-testdata"
    assert len({row["file"] for row in rows}) == len(rows)


def test_quick_corpus_covers_every_kind_condition_and_noise(corpus):
    """Even the quick subset has each kind, clean and both SNRs, and all five noises."""
    _, rows = corpus
    assert {row["kind"] for row in rows} == KINDS
    assert {row["snr_db"] for row in rows} == {None, 20, 10}
    assert {row["noise"] for row in rows if row["noise"]} == NOISES
    assert any(row["intent"] == "ordinary-long" for row in rows)


def test_every_file_exists_as_16_khz_mono_16_bit(corpus):
    """Each listed file is there, in the recognizers' format, as long as the manifest says."""
    out, rows = corpus
    for row in rows:
        with wave.open(str(out / row["file"]), "rb") as reader:
            assert (reader.getframerate(), reader.getnchannels(), reader.getsampwidth()) == (16000, 1, 2)
            assert reader.getnframes() / 16000 == pytest.approx(row["duration_s"], abs=0.001)


def test_speech_bounds_lie_inside_the_file_with_lead_and_tail(corpus):
    """Speech starts at 1.0 s and leaves 1.5 s after it; real recordings may bring more of their own."""
    _, rows = corpus
    for row in rows:
        assert 0.0 <= row["speech_start_s"] < row["speech_end_s"] <= row["duration_s"], row["file"]
        assert row["speech_start_s"] >= 1.0 - 0.011, row["file"]
        assert row["duration_s"] - row["speech_end_s"] >= 1.5 - 0.011, row["file"]
        if row["source"] != "pocketsphinx-testdata":
            assert row["speech_start_s"] == pytest.approx(1.0, abs=0.011), row["file"]
            assert row["duration_s"] - row["speech_end_s"] == pytest.approx(1.5, abs=0.011), row["file"]


def test_speech_end_is_measured_from_the_signal(corpus):
    """A clean file holds speech just before speech_end_s and only sub-threshold sound after it."""
    out, rows = corpus
    for row in (r for r in rows if r["snr_db"] is None and r["source"] != "pocketsphinx-testdata"):
        samples, _ = read_wav(out / row["file"])
        end = round(row["speech_end_s"] * 16000)
        before = samples[end - 800 : end].astype(np.float64)
        after = samples[end + 160 :].astype(np.float64)
        frames = samples[: len(samples) // 160 * 160].astype(np.float64).reshape(-1, 160)
        loudest_frame_rms = float(np.sqrt(np.max(np.mean(frames**2, axis=1))))
        # README: speech is what lies within 45 dB of the loudest 10 ms frame.
        assert np.sqrt(np.mean(before**2)) > loudest_frame_rms * 10 ** (-45 / 20), row["file"]
        assert np.sqrt(np.mean(after**2)) < loudest_frame_rms * 10 ** (-45 / 20), row["file"]


def test_noisy_items_have_the_snr_on_their_label(corpus):
    """Noisy minus clean is the noise; active speech level over its RMS is the label within 1 dB."""
    out, rows = corpus
    noisy = [row for row in rows if row["snr_db"] is not None]
    assert noisy
    for row in noisy:
        clean, _ = read_wav(out / _clean_partner(rows, row)["file"])
        mixed, _ = read_wav(out / row["file"])
        noise = mixed.astype(np.float64) - clean
        snr_db = 20 * np.log10(_active_rms(clean) / np.sqrt(np.mean(noise**2)))
        assert snr_db == pytest.approx(row["snr_db"], abs=1.0), row["file"]
        # The noise runs through the lead-in too, not only under the speech.
        assert np.sqrt(np.mean(noise[:8000] ** 2)) > 0.1 * np.sqrt(np.mean(noise**2)), row["file"]


def test_long_ordinary_file_segments_are_ordered_and_inside(corpus):
    """A long ordinary file lists each sentence with its time, in order, within the speech."""
    _, rows = corpus
    for row in (r for r in rows if r["intent"] == "ordinary-long"):
        segments = row["segments"]
        assert len(segments) > 1
        assert segments[0]["start_s"] == pytest.approx(row["speech_start_s"], abs=0.011)
        assert segments[-1]["end_s"] == pytest.approx(row["speech_end_s"], abs=0.011)
        for previous, current in zip(segments, segments[1:]):
            assert previous["end_s"] < current["start_s"]


def test_two_builds_with_one_seed_are_identical(corpus, tmp_path):
    """Same seed, same manifest and the same bytes in every file."""
    out_a, rows_a = corpus
    rows_b = _build(tmp_path)
    assert rows_a == rows_b
    for row in rows_a:
        digest_a = hashlib.sha256((out_a / row["file"]).read_bytes()).hexdigest()
        digest_b = hashlib.sha256((tmp_path / row["file"]).read_bytes()).hexdigest()
        assert digest_a == digest_b, row["file"]


def test_evaluate_replay_gives_what_the_decode_gave(corpus, tmp_path):
    """`evaluate.py --replay` runs today's detector over the recorded hypotheses: unchanged, it reports the decode's figures."""
    out, rows = corpus
    evaluate = [sys.executable, str(REPO / "benchmarks" / "evaluate.py"), "--corpus", str(out), "--split", "all"]
    results = tmp_path / "results.jsonl"
    decoded = subprocess.run(
        evaluate + ["--jobs", "1", "--no-idle", "--limit", "16", "--out", str(results)],
        capture_output=True, text=True, timeout=600,
    )
    assert decoded.returncode == 0, decoded.stderr[-3000:]
    recorded = [json.loads(line) for line in results.read_text().splitlines()]
    assert len(recorded) == 16 and all("hypotheses" in row for row in recorded)
    assert any(row["detections"] for row in recorded)  # something was heard, so the comparison means something
    replayed = subprocess.run(
        evaluate + ["--limit", "16", "--replay", str(results)], capture_output=True, text=True, timeout=600
    )
    assert replayed.returncode == 0, replayed.stderr[-3000:]
    assert replayed.stdout == decoded.stdout
