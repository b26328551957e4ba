"""Heard speech pace of the bundled scripts with the real voice, against the pace asked for.

    python benchmarks/speech_pace.py

Renders every distinct text of every bundled exercise with pyttsx3/espeak-ng
(clips trimmed as they are in a session) at several settings and prints the
words per minute a listener hears, and the total clip length against the
estimate that `grounding list`, `check` and no-speech renders use.
"""

from __future__ import annotations

from assistant.library.loader import load_library
from assistant.library.validate import speech_seconds
from assistant.session_audio import spoken_texts
from assistant.speech.voice import Pyttsx3Voice, VoiceSettings


def main() -> None:
    texts = sorted({text for exercise in load_library().exercises.values() for text in spoken_texts(exercise)})
    words = sum(len(text.split()) for text in texts)
    print(f"{len(texts)} texts, {words} words")
    print(f"{'asked wpm':>9} {'heard wpm':>9} {'clips s':>8} {'estimate s':>10}")
    for asked in (100, 115, 130):
        voice = Pyttsx3Voice(VoiceSettings(words_per_minute=asked))
        try:
            seconds = sum(len(voice.render(text, 16000)) for text in texts) / 16000
        finally:
            voice.close()
        estimate = sum(speech_seconds(text, asked) for text in texts)
        print(f"{asked:>9} {words / seconds * 60:>9.1f} {seconds:>8.1f} {estimate:>10.1f}")


if __name__ == "__main__":
    main()
