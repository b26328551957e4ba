"""The terminal pacer: a bar that grows on the inhale and shrinks on the exhale, with captions.

Pure text rendering (tested with strings); the live loop that draws it lives in `live.py`.
"""

from __future__ import annotations

from assistant.session import Snapshot, State

BAR_WIDTH = 40
PHASE_WORDS = {"inhale": "Breathe in", "hold": "Hold", "exhale": "Breathe out", "rest": "Rest"}


def bar_fraction(snapshot: Snapshot) -> float:
    """How full the breath bar is: filling through an inhale, full on a hold, emptying through an exhale."""
    phase = snapshot.phase
    if phase is None:
        return 0.0
    progress = snapshot.phase_progress
    return {"inhale": progress, "hold": 1.0, "exhale": 1.0 - progress, "rest": 0.0}[phase.phase]


def pacer_lines(snapshot: Snapshot, width: int = BAR_WIDTH) -> list[str]:
    """Three lines for a terminal: phase and countdown, the breath bar, and the caption."""
    if snapshot.state is State.PAUSED:
        head = "Paused  (space to resume)"
    elif snapshot.phase is not None:
        head = f"{PHASE_WORDS[snapshot.phase.phase]:<12} {snapshot.phase_seconds_left:4.0f} s"
    else:
        head = ""
    filled = round(bar_fraction(snapshot) * width)
    bar = "[" + "█" * filled + " " * (width - filled) + "]"
    caption = f"“{snapshot.caption}”" if snapshot.caption else ""
    return [head, bar, caption]


HELP_LINE = "space pause · s/← slower · f/→ faster · r repeat · n next · +/− volume · q quit"
