"""Grounding: an offline, hands-free grounding assistant."""

__version__ = "0.1.0"
