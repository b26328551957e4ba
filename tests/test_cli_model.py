"""`grounding model download` as a person runs it, offline."""

from __future__ import annotations

import socket

from assistant.cli import main


def test_offline_download_says_what_to_do(tmp_path, capsys):
    """With the model site unreachable, the command exits 1 and says where to unzip a model fetched elsewhere."""
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code = main(["model", "download", "--dest", str(tmp_path / "models"), "--quiet", "--base-url", f"http://127.0.0.1:{port}"])
    err = capsys.readouterr().err
    assert code == 1
    assert "could not reach" in err and str(tmp_path / "models") in err
    assert not (tmp_path / "models" / "vosk-model-small-en-us-0.15").exists()
