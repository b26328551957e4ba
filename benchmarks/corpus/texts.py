"""The corpus's words: phrases.yaml (what should trigger) and ordinary.txt (what must not)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

KINDS = ("start", "control", "crisis")


@dataclass(frozen=True)
class Phrase:
    """One phrasing to be spoken on purpose."""

    kind: str  # start, control or crisis
    intent: str  # exercise id, control intent or crisis category
    index: int  # position within its intent in phrases.yaml, from 0
    text: str
    in_cues_yaml: bool | None  # None for crisis, which cues.yaml does not hold
    added: bool = False  # from phrases.yaml's `added` section: planned after everything else (plan.py)


@dataclass(frozen=True)
class Sentence:
    """One ordinary sentence that must trigger nothing."""

    section: str  # the manifest's intent for ordinary speech
    index: int  # line order within ordinary.txt, from 0
    text: str
    near_miss: bool  # also rendered as a single-sentence item


def words(text: str) -> tuple[str, ...]:
    """Lower-case words with apostrophes kept, so phrases compare regardless of case and punctuation."""
    return tuple(re.findall(r"[a-z0-9']+", text.lower().replace("\u2019", "'")))


def load_phrases(path: Path, cues_path: Path) -> tuple[list[Phrase], dict[str, int], list[str]]:
    """The phrases, voices per phrase by kind, and warnings (cue phrases missing from the corpus)."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    cue_words = _cue_phrases(cues_path)
    phrases = []
    seen: dict[tuple[str, ...], str] = {}
    added = document.get("added") or {}
    for section, is_added in ((document, False), (added, True)):
        for kind in KINDS:
            for intent, texts in (section.get(kind) or {}).items():
                # An added phrasing is numbered after its intent's own list, so its files' names are new ones.
                first = len((document.get(kind) or {}).get(intent) or []) if is_added else 0
                for index, text in enumerate(texts, start=first):
                    key = words(str(text))
                    if key in seen:
                        raise ValueError(f"{path}: {text!r} appears twice ({seen[key]} and {kind}/{intent})")
                    seen[key] = f"{kind}/{intent}"
                    in_cues = None if kind == "crisis" else key in cue_words.get(kind, {}).get(intent, set())
                    phrases.append(Phrase(kind, str(intent), index, str(text), in_cues, is_added))
    voices_per_phrase = {kind: int(document["voices_per_phrase"][kind]) for kind in KINDS}
    warnings = []
    for kind, intents in cue_words.items():
        for intent, cue_set in intents.items():
            covered = {words(p.text) for p in phrases if p.kind == kind and p.intent == intent}
            for missing in sorted(cue_set - covered):
                warnings.append(f"cues.yaml {kind}/{intent} phrase {' '.join(missing)!r} is not in phrases.yaml")
    return phrases, voices_per_phrase, warnings


def _cue_phrases(cues_path: Path) -> dict[str, dict[str, set[tuple[str, ...]]]]:
    cues = yaml.safe_load(cues_path.read_text(encoding="utf-8"))["cues"]
    start = {entry["exercise"]: {words(p) for p in entry["phrases"]} for entry in cues.get("start", [])}
    control = {intent: {words(p) for p in texts} for intent, texts in cues.get("control", {}).items()}
    return {"start": start, "control": control}


def load_ordinary(path: Path) -> list[Sentence]:
    """Sentences of ordinary.txt with their section; '#' lines are comments."""
    sentences = []
    section, near_miss = None, False
    for line_number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        header = re.fullmatch(r"\[([a-z0-9-]+)\]\s*(near-miss)?", line)
        if header:
            section, near_miss = header.group(1), bool(header.group(2))
            continue
        if section is None:
            raise ValueError(f"{path}:{line_number}: sentence before the first [section] line")
        sentences.append(Sentence(section, len(sentences), line, near_miss))
    return sentences


def ordinary_problems(sentences: list[Sentence], phrases: list[Phrase]) -> list[str]:
    """Sentences that would be right to trigger: they hold a start or crisis phrase, or are a control phrase."""
    problems = []
    for sentence in sentences:
        sentence_words = words(sentence.text)
        for phrase in phrases:
            phrase_words = words(phrase.text)
            if phrase.kind == "control":
                hit = sentence_words == phrase_words
            else:
                hit = _contains(sentence_words, phrase_words)
            if hit:
                problems.append(f"ordinary.txt: {sentence.text!r} contains {phrase.kind} phrase {phrase.text!r}")
    return problems


def _contains(haystack: tuple[str, ...], needle: tuple[str, ...]) -> bool:
    width = len(needle)
    return any(haystack[start : start + width] == needle for start in range(len(haystack) - width + 1))
