"""The synthetic voices of the corpus and how to run them (espeak-ng and festival, via subprocess)."""

from __future__ import annotations

import concurrent.futures
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from assistant.audio.resample import resample
from assistant.audio.wavio import read_wav

SAMPLE_RATE = 16000  # hertz: what pocketsphinx and the Vosk small models listen at


@dataclass(frozen=True)
class Voice:
    """One synthetic talker: an engine, its voice and, for espeak-ng, speed and pitch."""

    name: str  # the id used in file names and the manifest
    engine: str  # "espeak-ng" or "festival"
    voice: str  # espeak-ng voice+variant, or festival voice function without "voice_"
    words_per_minute: int | None = None  # espeak-ng -s
    pitch: int | None = None  # espeak-ng -p, 0-99
    description: str = ""


VOICES = (
    Voice("espeak-en-us", "espeak-ng", "en-us", 150, 50, "espeak-ng US English, default male"),
    Voice("espeak-en-us-f3", "espeak-ng", "en-us+f3", 140, 65, "espeak-ng US English, female variant f3"),
    Voice("espeak-en-m3", "espeak-ng", "en+m3", 165, 40, "espeak-ng British English, male variant m3, brisk"),
    Voice("espeak-en-f4", "espeak-ng", "en+f4", 135, 55, "espeak-ng British English, female variant f4, slow"),
    Voice("espeak-en-us-m3", "espeak-ng", "en-us+m3", 155, 30, "espeak-ng US English, male variant m3, low pitch"),
    Voice("espeak-en-scotland-f2", "espeak-ng", "en-gb-scotland+f2", 145, 70, "espeak-ng Scottish English, female f2, high pitch"),
    Voice("espeak-en-us-nyc-klatt", "espeak-ng", "en-us-nyc+klatt", 130, 45, "espeak-ng New York English, Klatt synthesis, slow"),
    Voice("festival-slt", "festival", "cmu_us_slt_arctic_hts", description="festival CMU Arctic SLT (US female, HTS), festvox-us-slt-hts"),
    Voice("festival-kal", "festival", "kal_diphone", description="festival KAL (US male, diphone), festvox-kallpc16k"),
    Voice("festival-ked", "festival", "ked_diphone", description="festival KED (US male, diphone), festvox-kdlpc16k"),
)
QUICK_VOICE_NAMES = ("espeak-en-us", "espeak-en-us-f3", "espeak-en-m3")

_TIMEOUT_SECONDS = 600


def engine_versions() -> dict[str, str]:
    """Version line of each installed engine; part of the cache key so an upgrade re-renders."""
    versions = {}
    for engine, argument in (("espeak-ng", "--version"), ("festival", "--version")):
        if shutil.which(engine):
            result = subprocess.run([engine, argument], capture_output=True, text=True, timeout=60)
            versions[engine] = (result.stdout or result.stderr).strip().splitlines()[0]
    return versions


def unavailable_reason(voice: Voice) -> str | None:
    """Why a voice cannot be used here (None when it can): a missing program or voice package."""
    if not shutil.which(voice.engine):
        return f"{voice.engine} is not installed"
    with tempfile.TemporaryDirectory() as folder:
        try:
            synthesize(voice, ["test"], Path(folder))
        except RuntimeError as error:
            return str(error)
    return None


def synthesize(voice: Voice, texts: Sequence[str], workdir: Path, jobs: int = 1) -> list[np.ndarray]:
    """Speak each text; mono float32 at SAMPLE_RATE, untrimmed, in the order given."""
    workdir.mkdir(parents=True, exist_ok=True)
    if voice.engine == "espeak-ng":
        paths = [workdir / f"{index:05d}.wav" for index in range(len(texts))]
        with concurrent.futures.ThreadPoolExecutor(max(1, jobs)) as pool:
            list(pool.map(lambda pair: _espeak(voice, *pair), zip(texts, paths)))
    elif voice.engine == "festival":
        paths = _festival(voice, texts, workdir, jobs)
    else:
        raise ValueError(f"unknown engine {voice.engine!r}")
    clips = []
    for path in paths:
        samples, rate = read_wav(path)
        clips.append(resample(samples, rate, SAMPLE_RATE))
        path.unlink()
    return clips


def _espeak(voice: Voice, text: str, path: Path) -> None:
    command = ["espeak-ng", "-v", voice.voice, "-w", str(path)]
    if voice.words_per_minute:
        command += ["-s", str(voice.words_per_minute)]
    if voice.pitch is not None:
        command += ["-p", str(voice.pitch)]
    # "--" so a text can never be read as an option.
    _run(command + ["--", text], voice)
    if not path.exists() or path.stat().st_size <= 44:
        raise RuntimeError(f"{voice.name}: espeak-ng wrote no audio for {text!r}")


def _festival(voice: Voice, texts: Sequence[str], workdir: Path, jobs: int) -> list[Path]:
    """One festival process per share of the texts: loading a voice costs more than a sentence."""
    paths = [workdir / f"{index:05d}.wav" for index in range(len(texts))]
    share_count = max(1, min(jobs, len(texts) // 20 or 1))
    shares = [list(range(len(texts)))[start::share_count] for start in range(share_count)]

    def run_share(share_index: int) -> None:
        lines = [f"(voice_{voice.voice})"]
        for index in shares[share_index]:
            quoted = texts[index].replace("\\", " ").replace('"', " ")
            lines.append(f'(utt.save.wave (utt.synth (Utterance Text "{quoted}")) "{paths[index]}" \'riff)')
        script = workdir / f"share{share_index}.scm"
        script.write_text("\n".join(lines) + "\n", encoding="utf-8")
        _run(["festival", "-b", str(script)], voice)
        script.unlink()

    with concurrent.futures.ThreadPoolExecutor(share_count) as pool:
        list(pool.map(run_share, range(share_count)))
    missing = [texts[index] for index, path in enumerate(paths) if not path.exists() or path.stat().st_size <= 44]
    if missing:
        raise RuntimeError(f"{voice.name}: festival wrote no audio for {len(missing)} texts, e.g. {missing[0]!r}")
    return paths


def _run(command: list[str], voice: Voice) -> None:
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=_TIMEOUT_SECONDS)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise RuntimeError(f"{voice.name}: {command[0]} failed: {error}") from error
    # festival -b exits 0 even when a voice function is undefined; the missing files catch that.
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"{voice.name}: {command[0]} exited {result.returncode}: {detail[0]}")
    if "SIOD ERROR" in result.stderr or "unbound variable" in result.stderr:
        raise RuntimeError(f"{voice.name}: festival: {result.stderr.strip().splitlines()[-1]}")

