"""PROTOTYPE - being measured."""

from __future__ import annotations

import logging
import os
import re
import tempfile
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from assistant.errors import GroundingError
from assistant.speech.recognizer import Hypothesis, to_int16

logger = logging.getLogger(__name__)


class RecognizerUnavailableError(GroundingError):
    """The offline speech engine could not be loaded."""


CRISIS_SENTENCES = """
i want to kill myself
i am going to kill myself
i am going to kill myself tonight
i want to die
i just want to die
i wish i was dead
i wish i were dead
i would be better off dead
i am better off dead
i want to end my life
i am going to end my life
i want to end it all
i am going to end it tonight
i am going to end it all
i keep thinking about ending it
i have been thinking about killing myself
i keep thinking about killing myself
i think about suicide
i am thinking about suicide
i am suicidal
i feel suicidal
i have suicidal thoughts
everyone would be better off without me
everybody would be better off without me
my family would be better off without me
they would be better off without me
the world would be better without me
i do not want to be here anymore
i do not want to be alive anymore
i do not want to live anymore
i do not want to wake up
i wish i could go to sleep and never wake up
i do not want to exist
i can not do this anymore
i can not go on
i can not go on like this
i can not take it anymore
i can not keep going
there is no point in living
there is no reason to live
i have nothing to live for
life is not worth living
nobody would miss me
nobody would care if i was gone
no one would miss me if i was gone
i am a burden
i am just a burden to everyone
i am a burden to my family
i want to disappear forever
i want it all to stop
i just want it all to end
i want to give up on life
i have written goodbye letters
i wrote a goodbye letter
this is goodbye
i have been giving my things away
i gave away all my stuff
i want to hurt myself
i feel like hurting myself
i have been hurting myself
i hurt myself again
i cut myself
i just cut myself
i have been cutting myself
i want to cut myself
i want to cut again
i burned myself on purpose
i took too many pills
i took a bunch of pills
i swallowed a bottle of pills
i swallowed all my pills
i took an overdose
i have taken an overdose
i want to overdose
i have the pills right here
the pills are right here
i have a gun
i have a gun right here
i bought a rope
i am on the bridge
i am standing on the roof
i am on the ledge
i want to jump
i want to jump off the bridge
i am going to jump
i have a plan
i have a plan to kill myself
i picked a date
i am not safe
i do not feel safe
i am not safe at home
someone is hurting me
he is hurting me
she is hurting me
he is going to hurt me
i am scared he is going to hurt me
i want to hurt someone
i am going to hurt someone
i want to kill him
i am going to hurt him
"""

# Ways people wrap a command or a request; each cue phrase is also learned inside these frames.
_CONTROL_FRAMES = ("{}", "okay {}", "please {}", "{} please", "{} now", "can you {}", "i said {}", "{} it")
_START_FRAMES = ("{}", "i think {}", "{} right now", "okay {}", "can you {}", "please {}", "i need {}", "{} again")


@dataclass
class SphinxSettings:
    mode: str = "lm"  # lm | full | kws
    vad_window_seconds: float = 0.3
    vad_ratio: float = 0.9
    vad_mode: int = 0
    partial_every_seconds: float = 0.2
    max_utterance_seconds: float = 12.0
    filler_words: int = 1000
    filler_count: int = 1
    domain_repeat: int = 3
    lw: float = 6.5
    wip: float = 0.65
    kws_threshold_per_phone: float = 4.0
    general_words: int = 0  # >0: mix a bigram model of this many common words (from en-us.lm.bin) with the cue model
    domain_weight: float = 0.5  # interpolation weight of the cue model
    variants: bool = False
    noise_floor_dbfs: float = -60.0
    preroll_seconds: float = 0.25
    extra: dict = field(default_factory=dict)


def _import_pocketsphinx():
    try:
        import pocketsphinx
    except ImportError as error:
        raise RecognizerUnavailableError(
            f"pocketsphinx is not installed ({error}). Install it with `pip install pocketsphinx` "
            "(its wheel carries the English model: nothing else to download)."
        ) from None
    return pocketsphinx


def lm_words(text: str) -> list[str]:
    """Cue text as dictionary words: lower case, apostrophes kept, contractions as the dictionary spells them."""
    text = text.lower().replace("\u2019", "'")
    text = re.sub(r"[^a-z' ]+", " ", text)
    return text.split()


class PocketsphinxRecognizer:
    """Streaming pocketsphinx recognizer (prototype)."""

    name = "pocketsphinx"
    sample_rate = 16000

    def __init__(self, phrases: Sequence[str] = (), settings: SphinxSettings | None = None):
        ps = _import_pocketsphinx()
        self._ps = ps
        self.settings = settings or SphinxSettings()
        s = self.settings
        model = ps.get_model_path()
        hmm = os.path.join(model, "en-us", "en-us")
        dict_path = os.path.join(model, "en-us", "cmudict-en-us.dict")
        self._pron = _read_dict(dict_path)
        for phrase in phrases:
            for w in lm_words(phrase):
                if w not in self._pron and (guess := _guess_pronunciation(w, self._pron)):
                    self._pron[w] = [guess]
        config = dict(hmm=hmm, loglevel="FATAL", lw=s.lw, wip=s.wip)
        config.update(s.extra)
        self._tmp = tempfile.TemporaryDirectory(prefix="grounding-sphinx-")
        if s.mode == "full":
            config.update(lm=os.path.join(model, "en-us", "en-us.lm.bin"), dict=dict_path)
        elif s.mode == "lm" and s.general_words > 0:
            sentences = self._domain_sentences(phrases)
            path, words = _mixed_lm(ps, self._pron, sentences, s.general_words, s.domain_weight, self._tmp.name)
            config.update(lm=path, dict=self._write_dict(words))
        elif s.mode == "lm":
            sentences = self._domain_sentences(phrases)
            fillers = self._filler_words(s.filler_words)
            arpa, words = self._build_lm(sentences, fillers)
            config.update(lm=arpa, dict=self._write_dict(words))
        elif s.mode == "kws":
            sentences = [" ".join(lm_words(p)) for p in list(phrases)]
            kws, words = self._build_kws(sentences)
            config.update(kws=kws, dict=self._write_dict(words), lm=None)
        self._decoder = ps.Decoder(ps.Config(**config))
        self._frame = None
        self._new_endpointer()
        self._pending = np.zeros(0, dtype=np.int16)
        self._samples_fed = 0
        self._rng = np.random.default_rng(0)
        self._in_utt = False
        self._utt_samples = 0
        self._since_partial = 0
        if s.mode == "kws":
            self._decoder.start_utt()
            self._last_kws = None

    # --- model building ---------------------------------------------------------------------------
    def _domain_sentences(self, phrases):
        from assistant.speech.cues import CONTROL_INTENTS  # noqa

        out = []
        for phrase in phrases:
            words = " ".join(lm_words(phrase))
            frames = _CONTROL_FRAMES if len(words.split()) <= 3 else _START_FRAMES
            out += [f.format(words) for f in frames]
        out += [line.strip() for line in CRISIS_SENTENCES.splitlines() if line.strip()]
        return out

    def _filler_words(self, count):
        ps = self._ps
        lm = ps.NGramModel.readfile(os.path.join(ps.get_model_path(), "en-us", "en-us.lm.bin"))
        scored = sorted(((lm.prob([w]), w) for w in self._pron if "'" not in w or True), reverse=True)
        return [w for _, w in scored if w.isalpha() or "'" in w][:count]

    def _build_lm(self, sentences, fillers):
        from pocketsphinx.lm import ArpaBoLM

        s = self.settings
        kept = []
        for sentence in sentences:
            missing = [w for w in sentence.split() if w not in self._pron]
            if missing:
                logger.warning("no pronunciation for %s: dropped %r", missing, sentence)
                continue
            kept.append(sentence)
        text = "\n".join(kept * s.domain_repeat)
        lm = ArpaBoLM(text=text, add_start=True)
        for w in fillers:
            if w not in lm.grams_1:
                lm.grams_1[w] = s.filler_count
        lm.compute()
        path = os.path.join(self._tmp.name, "cues.arpa")
        lm.write_file(path)
        words = set(lm.grams_1) - {"<s>", "</s>"}
        return path, words

    def _build_kws(self, sentences):
        s = self.settings
        lines = []
        words = set()
        for sentence in dict.fromkeys(sentences):
            if any(w not in self._pron for w in sentence.split()):
                continue
            phones = sum(len(self._pron[w][0].split()) for w in sentence.split())
            lines.append(f"{sentence} /1e-{max(1, round(s.kws_threshold_per_phone * phones))}/")
            words.update(sentence.split())
        path = os.path.join(self._tmp.name, "cues.kws")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path, words

    def _write_dict(self, words):
        path = os.path.join(self._tmp.name, "cues.dict")
        with open(path, "w") as f:
            for w in sorted(words):
                prons = self._pron.get(w, [])
                if self.settings.variants:
                    prons = list(dict.fromkeys(prons + [v for p in prons for v in _variants(p)]))
                for i, pron in enumerate(prons):
                    f.write(f"{w}{'' if i == 0 else f'({i + 1})'} {pron}\n")
        return path

    # --- streaming ---------------------------------------------------------------------------------
    def _new_endpointer(self):
        s = self.settings
        self._ep = self._ps.Endpointer(s.vad_window_seconds, s.vad_ratio, s.vad_mode, self.sample_rate)
        self._frame = self._ep.frame_bytes // 2
        from collections import deque
        self._history = deque()
        self._history_frames = round(2.0 * self.sample_rate / self._frame)
        self._endpointer_base = getattr(self, "_samples_fed", 0) - len(getattr(self, "_pending", ()))
        self._history_start = self._endpointer_base

    def accept(self, samples):
        samples = to_int16(np.asarray(samples).reshape(-1))
        self._samples_fed += len(samples)
        if self.settings.noise_floor_dbfs is not None:
            floor = self._rng.standard_normal(len(samples)) * (32768 * 10 ** (self.settings.noise_floor_dbfs / 20))
            samples = np.clip(samples + floor, -32768, 32767).astype(np.int16)
        if self.settings.mode == "kws":
            return self._accept_kws(samples)
        buffer = np.concatenate([self._pending, samples]) if len(self._pending) else samples
        whole = len(buffer) // self._frame * self._frame
        self._pending = buffer[whole:].copy()
        out = []
        for start in range(0, whole, self._frame):
            frame = buffer[start : start + self._frame]
            was_in_speech = self._ep.in_speech
            speech = self._ep.process(frame.tobytes())
            self._history.append(frame)
            self._history_start += 0 if len(self._history) <= self._history_frames else len(self._history.popleft())
            if not speech:
                continue
            if not was_in_speech and not self._in_utt:
                speech = self._preroll() + speech
            out += self._speech(speech, ended=not self._ep.in_speech)
        return out

    def _preroll(self) -> bytes:
        """Audio just before the endpointer's speech start: the decoder needs some silence before the first word."""
        start = round(self._ep.speech_start * self.sample_rate) - self._endpointer_base
        first = start - round(self.settings.preroll_seconds * self.sample_rate)
        frames = []
        position = self._history_start
        for frame in self._history:
            if position >= first and position + len(frame) <= start:
                frames.append(frame)
            position += len(frame)
        return b"".join(f.tobytes() for f in frames)

    def _speech(self, speech: bytes, ended: bool):
        s = self.settings
        d = self._decoder
        out = []
        if not self._in_utt:
            d.start_utt()
            self._in_utt = True
            self._utt_samples = 0
            self._since_partial = 0
        d.process_raw(speech, False, False)
        n = len(speech) // 2
        self._utt_samples += n
        self._since_partial += n
        if ended or self._utt_samples >= s.max_utterance_seconds * self.sample_rate:
            out.append(self._end())
        elif self._since_partial >= s.partial_every_seconds * self.sample_rate:
            self._since_partial = 0
            hyp = d.hyp()
            if hyp is not None and hyp.hypstr.strip():
                out.append(Hypothesis(self._clean(hyp.hypstr), False, self._samples_fed))
        return out

    def _end(self):
        d = self._decoder
        d.end_utt()
        self._in_utt = False
        hyp = d.hyp()
        return Hypothesis(self._clean(hyp.hypstr) if hyp else "", True, self._samples_fed)

    def _clean(self, text):
        return " ".join(w for w in text.split() if not w.startswith(("<", "[", "+")))

    def _accept_kws(self, samples):
        d = self._decoder
        d.process_raw(samples.tobytes(), False, False)
        hyp = d.hyp()
        out = []
        if hyp is not None and hyp.hypstr:
            out.append(Hypothesis(hyp.hypstr, True, self._samples_fed))
            d.end_utt()
            d.start_utt()
        return out

    def flush(self):
        if self.settings.mode == "kws":
            return []
        out = []
        if len(self._pending):
            speech = self._ep.end_stream(self._pending.tobytes())
            self._pending = np.zeros(0, dtype=np.int16)
            if speech:
                out += self._speech(speech, ended=True)
                return out
        if self._in_utt:
            out.append(self._end())
        self._new_endpointer()
        return out

    def reset(self):
        if self.settings.mode == "kws":
            self._decoder.end_utt()
            self._decoder.start_utt()
            return
        if self._in_utt:
            self._decoder.end_utt()
            self._in_utt = False
        self._pending = np.zeros(0, dtype=np.int16)
        self._new_endpointer()


def _read_dict(path):
    pron: dict[str, list[str]] = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if not parts:
                continue
            word = re.sub(r"\(\d+\)$", "", parts[0])
            pron.setdefault(word, []).append(" ".join(p for p in parts[1:] if not p.startswith("#")))
    return pron


def _guess_pronunciation(word, pron):
    """A word the dictionary lacks, from its stem: orienting = orient + ing."""
    for suffix, phones in (("ing", "IH NG"), ("ed", "D"), ("s", "Z"), ("ly", "L IY")):
        if word.endswith(suffix) and word[: -len(suffix)] in pron:
            return pron[word[: -len(suffix)]][0] + " " + phones
    return None


def _mixed_lm(ps, pron, sentences, general_words, weight, folder):
    """ARPA model: linear mix of a cue trigram model and a bigram model of common English (en-us.lm.bin)."""
    import math
    from collections import Counter, defaultdict

    LN = math.log(1.0001)
    lm_path = os.path.join(ps.get_model_path(), "en-us", "en-us.lm.bin")
    general = ps.NGramModel.readfile(lm_path)
    def gp(words):  # P(words[-1] | words[:-1]) from the general model
        return math.exp(general.prob(list(reversed(words))) * LN)
    scored = sorted(((general.prob([w]), w) for w in pron if w.replace("'", "").isalpha()), reverse=True)
    vocab = [w for _, w in scored[:general_words]]
    # Cue model counts.
    kept = [s.split() for s in sentences if all(w in pron for w in s.split())]
    c1, c2, c3 = Counter(), Counter(), Counter()
    for words in kept:
        seq = ["<s>"] + words + ["</s>"]
        c1.update(seq[1:])
        c2.update(zip(seq, seq[1:]))
        c3.update(zip(seq, seq[1:], seq[2:]))
    h1 = Counter(); h2 = Counter()
    for (a, b), n in c2.items(): h1[a] += n
    for (a, b, c), n in c3.items(): h2[(a, b)] += n
    vocab = list(dict.fromkeys(vocab + [w for w in c1 if w not in ("<s>", "</s>")]))
    V = set(vocab) | {"<s>", "</s>"}
    total1 = sum(c1.values())
    D = 0.5
    def dp1(w):
        return c1.get(w, 0) / total1
    def dp2(a, b):
        n = h1.get(a, 0)
        if not n:
            return dp1(b)
        types = sum(1 for _ in ())  # unused
        seen = c2.get((a, b), 0)
        nt = n1types[a]
        return max(seen - D, 0) / n + D * nt / n * dp1(b)
    n1types = Counter(a for (a, b) in c2)
    n2types = Counter((a, b) for (a, b, c) in c3)
    def dp3(a, b, c):
        n = h2.get((a, b), 0)
        if not n:
            return dp2(b, c)
        return max(c3.get((a, b, c), 0) - D, 0) / n + D * n2types[(a, b)] / n * dp2(b, c)
    lam = weight
    uni = {w: lam * dp1(w) + (1 - lam) * gp([w]) for w in V if w != "<s>"}
    z = sum(uni.values())
    uni = {w: p / z for w, p in uni.items()}
    # General bigrams among the vocabulary: the pairs whose probability is above the back-off estimate.
    gvocab = [w for w in vocab[:general_words]] + ["<s>"]
    lp1 = {w: general.prob([w]) for w in gvocab + ["</s>"]}
    targets = [w for w in vocab[:general_words]] + ["</s>"]
    pairs = set()
    for a in gvocab:
        diffs = [(general.prob([b, a]) - lp1[b], b) for b in targets]
        values = sorted(d for d, _ in diffs)
        backoff = values[len(values) // 2]
        pairs.update((a, b) for d, b in diffs if d > backoff + 2000)
    pairs |= {(a, b) for (a, b) in c2}
    bi = {}
    for a, b in pairs:
        bi[(a, b)] = lam * dp2(a, b) + (1 - lam) * gp([a, b])
    tri = {}
    for a, b, c in c3:
        tri[(a, b, c)] = lam * dp3(a, b, c) + (1 - lam) * bi.get((b, c), gp([b, c]))
    # Back-off weights so every history sums to one.
    by1 = defaultdict(list)
    for (a, b), p in bi.items(): by1[a].append((b, p))
    alpha1 = {}
    for a, lst in by1.items():
        num = 1 - sum(p for _, p in lst)
        den = 1 - sum(uni.get(b, 0) for b, _ in lst)
        alpha1[a] = max(num, 1e-6) / max(den, 1e-6)
    by2 = defaultdict(list)
    for (a, b, c), p in tri.items(): by2[(a, b)].append((c, p))
    alpha2 = {}
    for h, lst in by2.items():
        num = 1 - sum(p for _, p in lst)
        den = 1 - sum(bi.get((h[1], c), alpha1.get(h[1], 1) * uni.get(c, 0)) for c, _ in lst)
        alpha2[h] = max(num, 1e-6) / max(den, 1e-6)
    L = lambda x: math.log10(max(x, 1e-99))
    path = os.path.join(folder, "mixed.arpa")
    with open(path, "w") as f:
        f.write(f"\\data\\\nngram 1={len(uni) + 1}\nngram 2={len(bi)}\nngram 3={len(tri)}\n\n\\1-grams:\n")
        f.write(f"-99.0000 <s> {L(alpha1.get('<s>', 1)):.4f}\n")
        for w, p in sorted(uni.items()):
            f.write(f"{L(p):.4f} {w} {L(alpha1.get(w, 1)):.4f}\n")
        f.write("\n\\2-grams:\n")
        for (a, b), p in sorted(bi.items()):
            f.write(f"{L(p):.4f} {a} {b} {L(alpha2.get((a, b), 1)):.4f}\n")
        f.write("\n\\3-grams:\n")
        for (a, b, c), p in sorted(tri.items()):
            f.write(f"{L(p):.4f} {a} {b} {c}\n")
        f.write("\n\\end\\\n")
    return path, set(vocab)


_VOWELS = {"AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW"}
_BATH_NEXT = {"F", "S", "TH", "N"}


def _variants(pron):
    """British-style variants: no R after a vowel unless a vowel follows; broad A before f, s, th, n."""
    phones = pron.split()
    out = []
    nonrhotic = []
    for i, p in enumerate(phones):
        nxt = phones[i + 1] if i + 1 < len(phones) else None
        if p == "ER" and (nxt is None or nxt not in _VOWELS):
            nonrhotic.append("AH")
        elif p == "R" and i > 0 and phones[i - 1] in _VOWELS and (nxt is None or nxt not in _VOWELS):
            continue
        else:
            nonrhotic.append(p)
    if nonrhotic != phones:
        out.append(" ".join(nonrhotic))
    broad = [("AA" if p == "AE" and i + 1 < len(phones) and phones[i + 1] in _BATH_NEXT else p) for i, p in enumerate(nonrhotic)]
    if broad != nonrhotic:
        out.append(" ".join(broad))
    return out
