"""Who says what, in which noise: the corpus plan, every choice drawn from the seed."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from noise import NOISE_TYPES
from texts import Phrase, Sentence
from voices import Voice

logger = logging.getLogger("corpus")

SNRS_DB = (20, 10)
LONG_FILE_WORDS = 480  # about three to four minutes of speech per long file
BABBLE_SENTENCES_PER_VOICE = 15
BABBLE_SECTIONS = ("smalltalk", "work-and-study", "hobbies-and-home", "everyday-feelings")
HUMAN_DATA = Path("/usr/share/pocketsphinx/test/data")

# Real recordings shipped by Debian's pocketsphinx-testdata, with their transcripts.
# numbers.raw ships without one; the file name of the tidigits item spells its digits.
HUMAN_EXTRA = (
    ("goforward.raw", "human-commands", "go forward ten meters"),
    ("something.raw", "human-commands", "go somewhere and do something"),
    ("numbers.raw", "human-commands", None),
    ("tidigits/dhd.2934z.raw", "human-commands", "two nine three four zero"),
)


@dataclass
class Item:
    """One thing to render: an utterance, a long ordinary file or a real recording, in its conditions."""

    id: str  # shared by the clean and noisy files of the same speech
    kind: str
    intent: str
    text: str | None
    voice: str
    stem: str  # file path under the output folder, without condition and extension
    snrs_db: tuple  # None for clean, then the SNRs
    noise: str  # noise type of the noisy conditions
    source: str
    in_cues_yaml: bool | None = None
    pieces: list = field(default_factory=list)  # (voice, text, section) spoken in order
    recording: str | None = None  # path of a real recording


def _slug(text: str, width: int = 40) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower().replace("'", "")).strip("-")[:width].rstrip("-")


def plan(
    phrases: list[Phrase],
    voices_per_phrase: dict[str, int],
    sentences: list[Sentence],
    voices: list[Voice],
    rng: np.random.Generator,
    quick: bool,
    added_rng: np.random.Generator,
) -> list[Item]:
    """Which voice says what, and in which noise; all choices drawn from the seed.

    `added_rng` plans the phrasings of phrases.yaml's `added` section, after everything else, so that adding
    some leaves every other file, its voice and its noise as they were (and so the figures before comparable).
    """
    names = [voice.name for voice in voices]
    items: list[Item] = []
    added = [p for p in phrases if p.added]
    phrases = [p for p in phrases if not p.added]
    if quick:
        wanted = {("start", "grounding-5-4-3-2-1"), ("start", "resonance-5-5"), ("start", "name-the-story"),
                  ("control", "stop"), ("control", "pause"), ("control", "slower"),
                  ("crisis", "suicidal-direct"), ("crisis", "suicidal-indirect")}
        phrases = [p for p in phrases if (p.kind, p.intent) in wanted and p.index == 0]
        voices_per_phrase = {kind: 1 for kind in voices_per_phrase}
        added = []
    items.extend(_phrase_items(phrases, voices_per_phrase, names, rng, quick))
    if quick:
        # Few items: spread the five noise types over all kinds together.
        _assign_noise(items, rng, quick)

    near_misses = [s for s in sentences if s.near_miss]
    if quick:
        near_misses = near_misses[::80][:3]
    order = list(rng.permutation(names))
    ordinary_items = []
    for position, sentence in enumerate(near_misses):
        voice = order[position % len(order)]
        ordinary_items.append(
            Item(
                id=f"ordinary/{sentence.section}/{sentence.index:03d}/{voice}",
                kind="ordinary",
                intent=sentence.section,
                text=sentence.text,
                voice=voice,
                stem=f"items/ordinary/{sentence.section}/{sentence.index:03d}_{_slug(sentence.text)}_{voice}",
                snrs_db=(None,) + SNRS_DB,
                noise="",
                source="ordinary.txt",
                pieces=[(voice, sentence.text, sentence.section)],
            )
        )
    _assign_noise(ordinary_items, rng, quick=quick, noisy_in_quick=0)
    items.extend(ordinary_items)
    items.extend(_long_items(sentences, names, rng, quick))
    items.extend(_human_items(rng, quick))
    items.extend(_phrase_items(added, voices_per_phrase, names, added_rng, quick))
    return items


def _phrase_items(
    phrases: list[Phrase], voices_per_phrase: dict[str, int], names: list[str], rng: np.random.Generator, quick: bool,
) -> list[Item]:
    """Each phrasing in its voices, with a noise for its noisy conditions."""
    items: list[Item] = []
    for kind in ("start", "control", "crisis"):
        # One shuffled voice order per kind, walked phrase after phrase: every voice gets an equal
        # share, and the voices of one phrasing are distinct.
        order = list(rng.permutation(names))
        count = min(voices_per_phrase[kind], len(order))
        cursor = 0
        kind_items = []
        for phrase in (p for p in phrases if p.kind == kind):
            for step in range(count):
                voice = order[(cursor + step) % len(order)]
                kind_items.append(_utterance_item(phrase, voice))
            cursor += count
        if not quick:
            _assign_noise(kind_items, rng, quick)
        items.extend(kind_items)
    return items


def _utterance_item(phrase: Phrase, voice: str) -> Item:
    return Item(
        id=f"{phrase.kind}/{phrase.intent}/{phrase.index:03d}/{voice}",
        kind=phrase.kind,
        intent=phrase.intent,
        text=phrase.text,
        voice=voice,
        stem=f"items/{phrase.kind}/{phrase.intent}/{phrase.index:03d}_{_slug(phrase.text)}_{voice}",
        snrs_db=(None,) + SNRS_DB,
        noise="",
        source="phrases.yaml",
        in_cues_yaml=phrase.in_cues_yaml,
        pieces=[(voice, phrase.text, None)],
    )


def _assign_noise(items: list[Item], rng: np.random.Generator, quick: bool, noisy_in_quick: int = len(NOISE_TYPES)) -> None:
    """Noise types in rotation over a shuffled order, so each kind meets every noise about equally.

    In a quick build only the first few items in that order get noisy conditions: one per noise type.
    """
    for position, index in enumerate(rng.permutation(len(items))):
        item = items[index]
        item.noise = NOISE_TYPES[position % len(NOISE_TYPES)]
        if quick and position >= noisy_in_quick:
            item.snrs_db = (None,)


def _long_items(sentences: list[Sentence], names: list[str], rng: np.random.Generator, quick: bool) -> list[Item]:
    """All ordinary sentences, shuffled, in files of a few minutes; two voices take turns in each file."""
    order = [sentences[i] for i in rng.permutation(len(sentences))]
    if quick:
        order = order[:10]
    files, current, word_count = [], [], 0
    for sentence in order:
        current.append(sentence)
        word_count += len(sentence.text.split())
        if word_count >= LONG_FILE_WORDS:
            files.append(current)
            current, word_count = [], 0
    if current:
        # A short remainder joins the last file rather than making a file of its own.
        if files and word_count < LONG_FILE_WORDS // 2:
            files[-1].extend(current)
        else:
            files.append(current)
    voice_order = list(rng.permutation(names))
    items = []
    for number, file_sentences in enumerate(files, start=1):
        # Pairs (0,1), (2,3), ... of the shuffled voices, then (1,2), (3,4), ... once every voice has had a turn.
        first = (2 * (number - 1) + (number - 1) // max(1, len(voice_order) // 2)) % len(voice_order)
        pair = list(dict.fromkeys([voice_order[first], voice_order[(first + 1) % len(voice_order)]]))
        pieces = [(pair[position % len(pair)], s.text, s.section) for position, s in enumerate(file_sentences)]
        items.append(
            Item(
                id=f"ordinary-long/{number:02d}",
                kind="ordinary",
                intent="ordinary-long",
                text=" ".join(s.text for s in file_sentences),
                voice="+".join(pair),
                stem=f"long/ordinary-long-{number:02d}_{'+'.join(pair)}",
                snrs_db=(None,) if quick else (None,) + SNRS_DB,
                noise="",
                source="ordinary.txt",
                pieces=pieces,
            )
        )
    _assign_noise(items, rng, quick=False)
    return items


def _human_items(rng: np.random.Generator, quick: bool) -> list[Item]:
    """Real speech from Debian's pocketsphinx-testdata, when it is installed."""
    if not HUMAN_DATA.is_dir():
        logger.warning("warning: %s not found (apt-get install pocketsphinx-testdata): no real speech in the corpus", HUMAN_DATA)
        return []
    recordings = []
    librivox = HUMAN_DATA / "librivox"
    for line in (librivox / "transcription").read_text().splitlines() if librivox.is_dir() else []:
        match = re.fullmatch(r"<s>\s*(.*?)\s*</s>\s*\((\S+)\)", line.strip())
        if match and (librivox / f"{match.group(2)}.wav").exists():
            recordings.append((librivox / f"{match.group(2)}.wav", "human-librivox", match.group(1), "human-librivox"))
    cards = HUMAN_DATA / "cards"
    for line in (cards / "cards.transcription").read_text().splitlines() if cards.is_dir() else []:
        match = re.fullmatch(r"<s>\s*(.*?)\s*</s>\s*\((\S+)\)", line.strip())
        if match and (cards / f"{match.group(2)}.wav").exists():
            recordings.append((cards / f"{match.group(2)}.wav", "human-commands", match.group(1), "human-cmu"))
    for name, intent, text in HUMAN_EXTRA:
        if (HUMAN_DATA / name).exists():
            recordings.append((HUMAN_DATA / name, intent, text, "human-cmu"))
    items = []
    for path, intent, text, voice in recordings:
        name = path.relative_to(HUMAN_DATA).with_suffix("").as_posix().replace("/", "-")
        items.append(
            Item(
                id=f"human/{name}",
                kind="ordinary",
                intent=intent,
                text=text,
                voice=voice,
                stem=f"human/{name}",
                snrs_db=(None,) if quick else (None,) + SNRS_DB,
                noise="",
                source="pocketsphinx-testdata",
                recording=str(path),
            )
        )
    _assign_noise(items, rng, quick=False)
    return items


def babble_texts(sentences: list[Sentence], voices: list[Voice], rng: np.random.Generator, quick: bool) -> dict[str, list[str]]:
    """A few plain sentences per voice for babble; never near-miss ones, so babble holds no hard case."""
    plain = [s.text for s in sentences if s.section in BABBLE_SECTIONS]
    count = 4 if quick else BABBLE_SENTENCES_PER_VOICE
    return {voice.name: [plain[i] for i in rng.choice(len(plain), count, replace=False)] for voice in voices}
