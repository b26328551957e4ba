"""Errors meant for people: each says what went wrong and what to do about it."""

from __future__ import annotations


class GroundingError(Exception):
    """Base for every error the command line reports as a message, not a traceback."""


class ExerciseFileError(GroundingError):
    """A YAML file could not be used; carries every problem found in it."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class UnknownExerciseError(GroundingError):
    """An exercise id that no bundled or user file defines."""


class SpeechUnavailableError(GroundingError):
    """Text-to-speech could not produce audio (engine missing, failing or hanging)."""


class AudioFileError(GroundingError):
    """An audio file could not be read or written."""


class AudioDeviceError(GroundingError):
    """Sound could not be played: PortAudio missing, no such output device, or a stream that would not open."""
