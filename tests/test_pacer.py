"""The terminal pacer and key mapping, as strings and calls (no terminal needed)."""

from __future__ import annotations

import io

from assistant.audio.timeline import Event
from assistant.live import KeyReader, PacerView
from assistant.pacer import bar_fraction, pacer_lines
from assistant.session import Snapshot, State

RATE = 1000


def snap(phase, progress, caption=None, state=State.RUNNING):
    event = Event("phase", 0, 4000, phase=phase, block=0, cycle=0)
    return Snapshot(state, round(progress * 4000), event, caption, RATE)


def test_bar_grows_on_inhale_and_shrinks_on_exhale():
    """The bar fills through an inhale, stays full on a hold, empties through an exhale."""
    assert bar_fraction(snap("inhale", 0.25)) < bar_fraction(snap("inhale", 0.75))
    assert bar_fraction(snap("hold", 0.5)) == 1.0
    assert bar_fraction(snap("exhale", 0.25)) > bar_fraction(snap("exhale", 0.75))
    assert bar_fraction(snap("rest", 0.5)) == 0.0


def test_lines_show_phase_countdown_bar_and_caption():
    """Three lines: the phase word with seconds left, the bar, and the caption in quotes."""
    head, bar, caption = pacer_lines(snap("inhale", 0.5, "Breathe in"), width=10)
    assert head.startswith("Breathe in") and head.endswith("2 s")
    assert bar == "[█████     ]"
    assert caption == "“Breathe in”"


def test_paused_state_says_how_to_resume():
    """While paused the pacer says so."""
    assert "Paused" in pacer_lines(snap("inhale", 0.5, state=State.PAUSED))[0]


def test_without_a_terminal_captions_are_plain_lines_once_each():
    """Non-interactive output prints each caption once as a plain line, no escape codes."""
    out = io.StringIO()
    view = PacerView(out, interactive=False, show_pacer=True)
    for caption in ["Hello", "Hello", None, "In", "In"]:
        view.show(snap("inhale", 0.1, caption))
    assert out.getvalue() == "Hello\nIn\n"


class Recorder:
    def __getattr__(self, name):
        return lambda *args: self.calls.append(name)

    def __init__(self):
        self.calls = []


def test_keys_map_to_session_controls():
    """Space, s/f, arrows, r, n, +/- and q reach the matching session control."""
    session = Recorder()
    keys = KeyReader(session)
    for key in [" ", "s", "f", "\x1b[D", "\x1b[C", "r", "n", "+", "-", "q", "x"]:
        keys.handle(key)
    assert session.calls == [
        "toggle_pause", "slower", "faster", "slower", "faster", "repeat", "skip", "volume_up", "volume_down", "stop",
    ]


def test_notices_show_under_the_pacer_for_a_while():
    """A notice (e.g. after 'slower') is drawn on its own line, then cleared after a few seconds."""
    now = [0.0]
    out = io.StringIO()
    view = PacerView(out, interactive=True, show_pacer=True, clock=lambda: now[0])
    view.notify("A little slower, from the next breath.")
    view.show(snap("inhale", 0.5))
    assert "A little slower, from the next breath." in out.getvalue().splitlines()[-1]
    now[0] = 10.0
    view.show(snap("inhale", 0.6))
    assert out.getvalue().splitlines()[-1] == "\x1b[2K"


def test_notices_print_as_plain_lines_without_a_terminal():
    """Without a terminal a notice prints once, in brackets."""
    out = io.StringIO()
    view = PacerView(out, interactive=False, show_pacer=True)
    view.notify("Paused.")
    view.show(snap("inhale", 0.1))
    view.show(snap("inhale", 0.2))
    assert out.getvalue() == "(Paused.)\n"
