#!/usr/bin/env python3
"""Download a Vosk speech model (default: vosk-model-small-en-us-0.15) into the user's model folder.

A thin command line over `assistant.speech.models.download_model`: a progress
bar on stderr, SHA-256 verification when a checksum is known or given with
--sha256 (otherwise the zip's CRCs), resume of an interrupted download, and an
atomic unpack. Prints the model folder on stdout.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

from assistant.speech.models import add_download_arguments, run_download  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_download_arguments(parser)
    return run_download(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
