"""Moonshine as the second reader: the model comes from the wheel, its tokens and sentences become words, it hears
real speech, and its process is replaced or restarted without losing a reading."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from assistant.audio.resample import resample
from assistant.audio.wavio import read_wav
from assistant.speech.moonshine import words_of
from assistant.speech.moonshine_onnx import (
    MODEL_FILES,
    ModelMissingError,
    find_base_model,
    offered_spots,
    read_token_list,
    text_of,
    token_ids_of,
    without_trailing_loop,
)


@pytest.mark.parametrize(
    "sentence, words",
    [
        ("Again, please.", "Again please"),
        ("? I don't know what I'm feeling right now.", "I don't know what I'm feeling right now"),
        ("♪ Free, free, free.", "Free free free"),
        ("Self-compassion break.", "Self compassion break"),
        ("", ""),
    ],
)
def test_sentences_become_words_as_the_matcher_expects(sentence, words):
    """Punctuation is the model's guess, not a pause: it goes, apostrophes stay."""
    assert words_of(sentence) == words


@pytest.mark.parametrize(
    "reading, kept",
    [
        ("One moment One moment", "One moment"),  # tune split, 10 dB: these readings went round
        ("Slow down green. Slow down green.", "Slow down green."),
        ("So you can't go slower So you can't go slower So", "So you can't go slower"),
        ("But also that's a valid valid valid valid valid", "But also that's a valid"),
        ("Stop. Stop.", "Stop. Stop."),  # a word said twice is said
        ("I want to die, I want to die, and nobody cares", "I want to die, I want to die, and nobody cares"),
        ("Hello", "Hello"),
        ("", ""),
    ],
)
def test_a_reading_that_goes_round_is_cut_back_to_its_first_saying(reading, kept):
    assert without_trailing_loop(reading) == kept


def test_a_package_without_the_model_is_named_with_what_to_install(tmp_path):
    """A moonshine-cpp release that no longer carries base-en (it would have to download it) is refused."""
    (tmp_path / "models" / "base-en").mkdir(parents=True)
    (tmp_path / "models" / "base-en" / "tokenizer.bin").write_bytes(b"x")
    with pytest.raises(ModelMissingError) as caught:
        find_base_model(tmp_path)
    message = str(caught.value)
    assert "encoder_model.ort" in message and "tokenizer.bin" not in message.split("(")[1]
    assert "moonshine-cpp==0.1.4" in message


def test_the_model_is_found_inside_the_installed_package():
    pytest.importorskip("onnxruntime")
    folder = find_base_model()
    assert all((folder / name).stat().st_size > 0 for name in MODEL_FILES)
    assert "site-packages" in str(folder) or "dist-packages" in str(folder)


def _token_file(tmp_path, pieces: list[bytes]):
    path = tmp_path / "tokenizer.bin"
    path.write_bytes(b"".join(bytes([len(piece)]) + piece for piece in pieces))
    return path


def test_token_ids_become_text_with_spaces_where_the_pieces_mark_them(tmp_path):
    pieces = [b"<unk>", b"<s>", b"</s>", "\u2581I".encode(), "\u2581can".encode(), b"'t", "\u2581go".encode(), b"",
              b"\xe2", b"\x80", b"\x99"]
    tokens = read_token_list(_token_file(tmp_path, pieces))
    assert tokens == pieces
    assert text_of([3, 4, 5, 6], tokens) == "I can't go"
    assert text_of([3, 8, 9, 10], tokens) == "I\u2019"  # a character spread over byte tokens comes back whole
    assert text_of([3, 4000], tokens) == "I"  # ids past the list (the model's spare outputs) are dropped


def test_text_is_cut_into_tokens_lowest_merge_first():
    """A byte-pair vocabulary: the join with the lowest id wins, so "▁ab" + "c" beats "▁a" + "bc" when it
    ranks first; a character with no token of its own falls back to its bytes."""
    space = "\u2581"
    ids = {piece.encode(): i for i, piece in enumerate(
        ["<unk>", "<s>", "</s>", "a", "b", "c", space, "\xe2", "\x80", "\x99", space + "a", space + "ab", "bc",
         space + "abc"])}
    ids.update({bytes([0xE2]): 7, bytes([0x80]): 8, bytes([0x99]): 9})
    assert token_ids_of("abc", ids) == [13]
    del ids[(space + "abc").encode()]
    assert token_ids_of("abc", ids) == [11, 5]  # "▁ab" (11) is merged before "bc" (12)
    assert token_ids_of("a a", ids) == [10, 10]
    assert token_ids_of("a\u2019", ids) == [10, 7, 8, 9]


def test_a_file_that_is_no_token_list_is_refused(tmp_path):
    path = tmp_path / "tokenizer.bin"
    path.write_bytes(b"\x09short")
    with pytest.raises(ValueError, match="not a Moonshine token list"):
        read_token_list(path)


def test_the_shipped_token_list_reads_whole():
    pytest.importorskip("onnxruntime")
    tokens = read_token_list(find_base_model() / "tokenizer.bin")
    assert len(tokens) == 32000 and tokens[:3] == [b"<unk>", b"<s>", b"</s>"]


def test_a_spotted_transcript_must_account_for_the_reading():
    """A phrase may stand for a garbled stretch ("Panic attack" for "Pound your coat hug", two words short),
    but a transcript that ends more than four words before the reading does is not offered: cut there, "my
    sister used to get panic attacks at university..." read as a cue (report split, 20 dB fan). Likeliest
    first, once each however punctuated, at most `most`."""
    pytest.importorskip("onnxruntime")
    tokens = read_token_list(find_base_model() / "tokenizer.bin")
    ids = {piece: i for i, piece in enumerate(tokens)}

    def ended(*transcripts):
        return {tuple(token_ids_of(text, ids)): -10.0 - rank for rank, text in enumerate(transcripts)}

    long_reading = token_ids_of("My sister used to get panic attacks at university and her be really held", ids)
    said = "My sister used to get panic attack at university and her be really held"
    offered = offered_spots(ended("My sister used to get panic attack", said), long_reading, -9.0, tokens, 3)
    assert [text for text, _ in offered] == [said]
    assert offered[0][1].shortfall == pytest.approx(2.0) and offered[0][1].tokens == len(token_ids_of(said, ids)) + 1

    garbled = token_ids_of("Pound your coat hug", ids)
    offered = offered_spots(ended("Panic attack.", "Panic attack", "Panic attack please", "Panic attacks now"),
                            garbled, -9.0, tokens, 2)
    assert [text for text, _ in offered] == ["Panic attack.", "Panic attack please"]


def _spoken(tmp_path, text: str, voice: str = "en-us") -> np.ndarray:
    """espeak-ng saying `text`, as the speech gate hands an utterance over: int16, 16 kHz, quiet around it."""
    if not shutil.which("espeak-ng"):
        pytest.skip("espeak-ng is not installed")
    path = tmp_path / "say.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", "140", "-w", str(path), "--", text], check=True, timeout=60)
    samples, rate = read_wav(path)
    padded = np.concatenate([np.zeros(4000), resample(samples, rate, 16000) * 0.5, np.zeros(6000)])
    return np.round(padded * 32767).astype(np.int16)


@pytest.mark.integration
def test_it_reads_real_speech(tmp_path):
    """espeak-ng says a crisis sentence; the reading holds its words, as plain words."""
    from assistant.speech.moonshine import MoonshineReading

    reading = MoonshineReading()
    text = reading.read(_spoken(tmp_path, "I can't do this anymore"), 16000)
    assert {"do", "this", "anymore"} <= set(text.lower().split())
    assert not any(mark in text for mark in ".,?!")
    assert reading.read(np.zeros(0, dtype=np.int16), 16000) == ""


@pytest.mark.integration
def test_its_own_readings_cut_back_into_the_same_tokens(tmp_path):
    """Our tokenizer agrees with the model's: what it wrote, cut again, is the token sequence it chose."""
    from assistant.speech.moonshine_onnx import MoonshineOnnx

    model = MoonshineOnnx(find_base_model())
    for sentence in ("I can't do this anymore", "let's do box breathing", "the four seven eight breath, please"):
        text = model.read(_spoken(tmp_path, sentence).astype(np.float32) / 32768)
        assert token_ids_of(text, model._token_ids) == model._last.token_ids, text


@pytest.mark.integration
def test_the_words_said_fit_the_audio_and_others_do_not(tmp_path):
    """The second opinion the detector asks for: the sentence spoken fits about as well as the model's own
    reading, in pocketsphinx's bare lower case too; a sentence that was not said falls far short."""
    from assistant.speech.moonshine import MoonshineReading

    reading = MoonshineReading()
    assert reading.fit(["help me breathe"]) == [None]  # nothing read yet
    heard = reading.read(_spoken(tmp_path, "I want to hurt myself"), 16000)
    said, other, own, blank = reading.fit(["i want to hurt myself", "i'm having a panic attack", heard, "   "])
    assert said is not None and other is not None
    assert said.tokens == 6 and said.shortfall_per_token < 0.5, (heard, said)  # five words and the end
    assert other.shortfall_per_token > 1.5, other
    assert own.shortfall_per_token < 0.2  # its own reading, as words
    assert blank is None
    assert reading.fit([]) == []
    reading.close()


@pytest.mark.integration
def test_a_cue_phrase_misread_is_spotted_in_the_audio(tmp_path):
    """espeak-ng's en-us says two cues that Moonshine misreads into no cue at all; searching the audio for the
    likeliest transcript with a cue phrase in it finds each, nearly as likely as (or likelier than) the
    reading, through the child process as the detector asks."""
    from assistant.library.loader import load_library
    from assistant.speech.cues import CueMatcher
    from assistant.speech.moonshine import MoonshineReading

    matcher = CueMatcher(load_library().cue_maps)
    reading = MoonshineReading()
    assert reading.spot(matcher.phrasings, 4.0) == []  # nothing read yet
    for said, intent in (("I'm about to snap at him", "stop-practice"), ("that's enough for now", "stop")):
        heard = reading.read(_spoken(tmp_path, said), 16000)
        assert matcher.match(heard) is None, heard  # ("I'm about to snare pet him", "Let's see how far they are")
        spotted = reading.spot(matcher.phrasings, 4.0)
        assert spotted and all(fit.shortfall <= 4.0 for _, fit in spotted), spotted
        text, fit = spotted[0]
        assert text.lower() == said.lower() and matcher.match(text).intent == intent, spotted
        assert fit.tokens > len(said.split())  # its tokens and the end
        # transcripts are given back as words, once each however they were punctuated
        assert len({words.lower() for words, _ in spotted}) == len(spotted)
        # phrases that were not said are not found within the limit
        assert reading.spot(("box breathing", "help me sleep"), 4.0) == []
    reading.close()


@pytest.mark.integration
def test_a_cue_misread_is_read_right_at_another_pace_and_weighed_at_its_own(tmp_path):
    """espeak-ng's en-us "I want to text them again" is read "I want to take a stand again." and "a little
    faster" "That little faster"; a tenth slower, both are read right (read_paced, through the child). What
    `fit` weighs against stays the reading at the utterance's own pace, and there the paced reading is within
    the detector's limit."""
    from assistant.library.loader import load_library
    from assistant.speech.cues import CueMatcher
    from assistant.speech.detector import DetectorSettings
    from assistant.speech.moonshine import MoonshineReading

    matcher = CueMatcher(load_library().cue_maps)
    reading = MoonshineReading()
    assert reading.read_paced((0.9,)) == []  # nothing read yet
    for said, intent in (("I want to text them again", "pause-before-texting"), ("a little faster", "faster")):
        heard = reading.read(_spoken(tmp_path, said), 16000)
        assert matcher.match(heard) is None, heard
        slower, _ = reading.read_paced((0.9, 1.1))
        assert matcher.match(slower).intent == intent, slower
        assert not any(mark in slower for mark in ".,?!")
        own, paced = reading.fit([heard, slower])
        assert own.shortfall == pytest.approx(0.0, abs=0.05), own  # still the reading at its own pace
        assert paced.shortfall <= DetectorSettings().paced_max_shortfall, paced
    reading.close()


@pytest.mark.integration
def test_the_loud_part_alone_is_read_right_where_the_whole_was_not(tmp_path):
    """espeak-ng's en-us "I want to text them again" with a second of faint hiss either side, as the speech gate
    may hand it over, is read "I want to take a stand again"; its loud part alone (read_loud_part, through the
    child) is read right, and `fit`, still of the whole, finds that within the detector's limit."""
    from assistant.library.loader import load_library
    from assistant.speech.cues import CueMatcher
    from assistant.speech.detector import DetectorSettings
    from assistant.speech.moonshine import MoonshineReading

    matcher = CueMatcher(load_library().cue_maps)
    speech = _spoken(tmp_path, "I want to text them again")[4000:-6000] / 32767  # the words alone
    audio = np.concatenate([np.zeros(16000), speech, np.zeros(16000)])
    audio = np.round((audio + 0.003 * np.random.default_rng(0).standard_normal(len(audio))) * 32767)
    reading = MoonshineReading()
    assert reading.read_loud_part() == ""  # nothing read yet
    heard = reading.read(audio.astype(np.int16), 16000)
    assert matcher.match(heard) is None, heard
    loud = reading.read_loud_part()
    assert matcher.match(loud).intent == "pause-before-texting", loud
    own, alone = reading.fit([heard, loud])
    assert own.shortfall == pytest.approx(0.0, abs=0.05), own  # still the reading of the whole
    assert alone.shortfall <= DetectorSettings().loud_part_max_shortfall, alone
    reading.close()


@pytest.mark.integration
def test_the_search_takes_the_readings_own_steps_as_a_decoder_run_would_give_them(tmp_path):
    """The transcript still on the model's own words takes the reading's scores and cache instead of running
    the decoder again: the same transcripts, as likely, as when every step runs."""
    from assistant.library.loader import load_library
    from assistant.speech.cues import CueMatcher
    from assistant.speech.moonshine_onnx import MoonshineOnnx

    phrasings = CueMatcher(load_library().cue_maps).phrasings
    model = MoonshineOnnx(find_base_model())
    model.read(_spoken(tmp_path, "I'm about to snap at him").astype(np.float32) / 32768)
    reused = model.spot(phrasings, 12.0)
    model._last.step_scores = None  # as if the steps were not kept
    every_step_run = model.spot(phrasings, 12.0)
    assert len(reused) == 3 and [text for text, _ in reused] == [text for text, _ in every_step_run]
    for (_, fit), (_, again) in zip(reused, every_step_run):
        assert fit.logprob == pytest.approx(again.logprob, abs=1e-3)


@pytest.mark.integration
def test_number_words_are_weighed_and_searched_for_as_the_model_writes_them(tmp_path):
    """espeak-ng's en-us+f3 "the four seven eight breath" is read "The fourth emanate breath". The model writes
    that name in digits: the phrase is weighed in the likeliest of its forms ("The 478 breath", not "4 7 8"), and
    the search for cue phrases finds it so, as a start of that exercise."""
    from assistant.library.loader import load_library
    from assistant.speech.cues import CueMatcher
    from assistant.speech.moonshine import MoonshineReading

    matcher = CueMatcher(load_library().cue_maps)
    reading = MoonshineReading()
    heard = reading.read(_spoken(tmp_path, "the four seven eight breath", voice="en-us+f3"), 16000)
    assert matcher.match(heard) is None, heard
    words, joined, spaced = reading.fit(["the four seven eight breath", "the 478 breath", "the 4 7 8 breath"])
    assert words.logprob == pytest.approx(joined.logprob) and words.tokens == joined.tokens
    assert spaced.logprob < joined.logprob
    text, fit = reading.spot(matcher.phrasings, 4.0)[0]
    assert "478" in text and matcher.match(text).intent == "breathing-4-7-8", (text, fit)
    reading.close()


@pytest.mark.integration
def test_a_crisis_sentence_misread_is_spotted_in_the_audio(tmp_path):
    """The same search over the crisis sentences: Moonshine reads "I've taken an overdose" as "I'm taking an old
    redust" and "I've been hurting myself" as "...turning myself"; both are found, and an ordinary sentence
    holds no crisis sentence within the limit."""
    from assistant.speech.crisis import CRISIS_SENTENCE_FORMS, detect_crisis
    from assistant.speech.moonshine import MoonshineReading

    reading = MoonshineReading()
    for said in ("I've taken an overdose", "I've been hurting myself"):
        heard = reading.read(_spoken(tmp_path, said), 16000)
        assert detect_crisis(heard) is None, heard
        text, fit = reading.spot(CRISIS_SENTENCE_FORMS, 5.0)[0]
        assert text == said and detect_crisis(text) is not None and fit.shortfall <= 5.0, (text, fit)
    reading.read(_spoken(tmp_path, "I have been turning the soil in the garden"), 16000)
    assert reading.spot(CRISIS_SENTENCE_FORMS, 5.0) == []
    reading.close()


@pytest.mark.integration
def test_a_grown_child_is_replaced_and_reading_goes_on(tmp_path):
    """Past its size limit a fresh child loads beside the old one and takes over; no reading is lost."""
    import time

    from assistant.speech.moonshine import MoonshineReading

    audio = _spoken(tmp_path, "can you go slower")
    reading = MoonshineReading(max_child_mib=1)  # every child is "too big" after its first reading
    first_pid = reading.child_pid
    texts = [reading.read(audio, 16000)]
    deadline = time.monotonic() + 60
    while reading.replacements == 0 and time.monotonic() < deadline:
        texts.append(reading.read(audio, 16000))
        time.sleep(0.2)
    assert reading.replacements >= 1 and reading.child_pid != first_pid
    assert all("slower" in text.lower() for text in texts), texts
    assert reading.cpu_seconds > 0
    reading.close()


@pytest.mark.integration
def test_a_child_that_died_is_started_again_for_the_same_utterance(tmp_path):
    """Native code that crashes costs a restart, not the reading."""
    import os
    import signal

    from assistant.speech.moonshine import MoonshineReading

    audio = _spoken(tmp_path, "stop please")
    reading = MoonshineReading()
    os.kill(reading.child_pid, signal.SIGKILL)
    assert "stop" in reading.read(audio, 16000).lower()
    reading.close()


def test_unnamed_branches_are_named_so_onnxruntime_loads_the_graph():
    """onnxruntime's own format drops the names of an If's branches; ONNX requires them, so we restore them."""
    onnx = pytest.importorskip("onnx")
    onnxruntime = pytest.importorskip("onnxruntime")
    from onnx import TensorProto, helper

    from assistant.speech.moonshine_onnx import _name_branches

    def branch(value: float):
        constant = helper.make_node("Constant", [], ["y"], value=helper.make_tensor("v", TensorProto.FLOAT, [1], [value]))
        return helper.make_graph([constant], "", [], [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])

    choose = helper.make_node("If", ["flag"], ["y"], name="choose", then_branch=branch(1.0), else_branch=branch(2.0))
    graph = helper.make_graph(
        [choose], "g", [helper.make_tensor_value_info("flag", TensorProto.BOOL, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    with pytest.raises(Exception, match="name"):
        onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    _name_branches(model.graph)
    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    assert session.run(None, {"flag": np.array([False])})[0].tolist() == [2.0]
    assert {a.g.name for a in model.graph.node[0].attribute} == {"choose_then_branch", "choose_else_branch"}
