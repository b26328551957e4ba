"""The self-help disclaimer, shown the first time something plays."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

DISCLAIMER = (
    "Grounding is a self-help tool. It is not therapy, and it is not emergency care.\n"
    "If you are in danger or thinking about ending your life, call or text 988 (US),\n"
    "or call 911. `grounding crisis` shows these numbers at any time."
)


def _marker() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "grounding" / ".disclaimer-shown"


def show_disclaimer_once(say: Callable[[str], None]) -> bool:
    """Say the disclaimer if it has never been shown on this machine; True if it was shown now."""
    marker = _marker()
    if marker.exists():
        return False
    say(DISCLAIMER)
    try:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text("The first-start disclaimer has been shown.\n", encoding="utf-8")
    except OSError:
        pass  # an unwritable config folder only means the disclaimer shows again next time
    return True
