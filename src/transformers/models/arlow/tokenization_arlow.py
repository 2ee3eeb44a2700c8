# Copyright 2026 The Arlow Authors and The HuggingFace Inc. team. All rights reserved.
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.
"""Tokenization classes for Arlow."""

import json
import os
from collections.abc import Iterable

from tokenizers import AddedToken, Regex, Tokenizer, decoders, normalizers, pre_tokenizers
from tokenizers.models import BPE
from tokenizers.trainers import BpeTrainer

from ...convert_slow_tokenizer import bytes_to_unicode, import_protobuf
from ...tokenization_utils_base import generate_merges
from ...tokenization_utils_tokenizers import TokenizersBackend
from ...utils import logging


logger = logging.get_logger(__name__)

VOCAB_FILES_NAMES = {"vocab_file": "tokenizer.model", "tokenizer_file": "tokenizer.json"}

# Splits text into words, runs of at most three digits, punctuation and whitespace before the byte-level mapping, so
# that no merge crosses a word boundary. English contractions are separate pieces, in any case.
PRETOKENIZE_REGEX = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+"
    r"|\s+(?!\S)|\s+"
)

# The 256 symbols a byte-level BPE writes the bytes 0..255 with.
BYTE_TO_SYMBOL = bytes_to_unicode()
NUM_BYTE_SYMBOLS = len(BYTE_TO_SYMBOL)

SPIECE_UNDERLINE = "▁"
# `ModelProto.SentencePiece.Type` and `TrainerSpec.ModelType` values of sentencepiece_model.proto.
_SPM_PIECE_UNKNOWN, _SPM_PIECE_CONTROL = 2, 3
_SPM_MODEL_BPE = 2


def _normalize_merges(merges: Iterable[str | tuple[str, str] | list[str]]) -> list[tuple[str, str]]:
    normalized = []
    for rank, merge in enumerate(merges):
        pair = merge.split(" ") if isinstance(merge, str) else merge
        if len(pair) != 2:
            raise ValueError(f"Merge #{rank} {merge!r} is not a pair of tokens: expected `'left right'` or a 2-tuple.")
        normalized.append((pair[0], pair[1]))
    return normalized


def _check_vocab_and_merges(vocab: dict[str, int], merges: list[tuple[str, str]]) -> None:
    """Raises when the vocabulary cannot encode every byte, or when a merge does not match the vocabulary."""
    missing_symbols = [symbol for symbol in BYTE_TO_SYMBOL.values() if symbol not in vocab]
    if missing_symbols:
        raise ValueError(
            f"The vocabulary lacks {len(missing_symbols)} of the {NUM_BYTE_SYMBOLS} byte-level symbols (for example "
            f"{missing_symbols[:5]}), so some texts could not be encoded: a byte-level BPE vocabulary holds them all."
        )
    for rank, (left, right) in enumerate(merges):
        for token in (left, right, left + right):
            if token not in vocab:
                raise ValueError(
                    f"The merges do not match the vocabulary: merge #{rank} ({left!r}, {right!r}) needs the token "
                    f"{token!r}, which is not in the vocabulary."
                )


def _added_bos_eos(post_processor) -> tuple[bool, bool] | None:
    """Whether a `TemplateProcessing` post-processor puts a special token before and after a single sequence."""
    if post_processor is None:
        return None
    state = post_processor if isinstance(post_processor, dict) else json.loads(post_processor.__getstate__())
    if state.get("type") != "TemplateProcessing" or not state.get("single"):
        return None
    single = state["single"]
    return "SpecialToken" in single[0], "SpecialToken" in single[-1]


def _is_byte_level(serialized_tokenizer: dict) -> bool:
    """Whether a serialized `tokenizers.Tokenizer` maps its input to bytes before its model."""
    pre_tokenizer = serialized_tokenizer.get("pre_tokenizer") or {}
    steps = pre_tokenizer.get("pretokenizers", []) if pre_tokenizer.get("type") == "Sequence" else [pre_tokenizer]
    return any(step.get("type") == "ByteLevel" for step in steps)


class ArlowTokenizer(TokenizersBackend):
    r"""
    Construct an Arlow tokenizer, backed by HuggingFace's *tokenizers* library. Based on byte-level Byte-Pair-Encoding:
    the text is read as UTF-8 bytes, so any string is encoded without unknown tokens and decoded back exactly.

    The text is split into words, runs of up to three digits, punctuation and whitespace before the merges are applied,
    and it is not normalized. Spaces are parts of the tokens, so a word is encoded differently at the start of a text
    than after a space:

    ```python
    >>> from transformers import ArlowTokenizer

    >>> tokenizer = ArlowTokenizer.from_pretrained("path/to/arlow-tokenizer")
    >>> ids = tokenizer("Hello world!")["input_ids"]
    >>> tokenizer.decode(ids, skip_special_tokens=True)
    'Hello world!'
    ```

    The tokenizer is built from a vocabulary and merges, from a `tokenizer.json` file, or trained from texts with
    [`~ArlowTokenizer.train_from_iterator`]. A folder holding a SentencePiece BPE model (`tokenizer.model`) and no
    `tokenizer.json` also loads: its pieces keep their ids and the tokenizer encodes as SentencePiece does, with byte
    fallback instead of the byte-level alphabet.

    This tokenizer inherits from [`TokenizersBackend`] which contains most of the main methods. Users should refer to
    this superclass for more information regarding those methods.

    Args:
        vocab (`str` or `dict[str, int]`, *optional*):
            The vocabulary, as a mapping from byte-level token to id or as the path to a `vocab.json` file. It must hold
            the 256 byte-level symbols. Without it, the vocabulary is the special tokens and the 256 byte-level symbols.
        merges (`str` or `list[str]` or `list[tuple[str, str]]`, *optional*):
            The merges, highest priority first, as pairs of tokens, as `"left right"` strings or as the path to a
            `merges.txt` file. Both tokens of a merge and their concatenation must be in `vocab`.
        pad_token (`str` or `tokenizers.AddedToken`, *optional*, defaults to `"<|pad|>"`):
            The token used for padding, for example when batching sequences of different lengths.
        bos_token (`str` or `tokenizers.AddedToken`, *optional*, defaults to `"<|begin_of_text|>"`):
            The beginning of sequence token that was used during pretraining.
        eos_token (`str` or `tokenizers.AddedToken`, *optional*, defaults to `"<|end_of_text|>"`):
            The end of sequence token.
        unk_token (`str` or `tokenizers.AddedToken`, *optional*):
            The unknown token. A byte-level vocabulary encodes any text, so it is only set for a SentencePiece model
            that has one.
        add_bos_token (`bool`, *optional*):
            Whether or not to add the `bos_token` at the start of sequences. Defaults to `True` for a new tokenizer and
            to the saved setting (kept in the post-processor of `tokenizer.json`) for a loaded one.
        add_eos_token (`bool`, *optional*):
            Whether or not to add the `eos_token` at the end of sequences. Defaults to `False` for a new tokenizer and
            to the saved setting for a loaded one.
        add_prefix_space (`bool`, *optional*, defaults to `False`):
            Whether or not to add a space before the text, so that its first word is encoded like the others.
            Decoding removes that space again.
        clean_up_tokenization_spaces (`bool`, *optional*, defaults to `False`):
            Whether or not to clean up spaces after decoding. Byte-level decoding is already exact, so this should stay
            `False`.
    """

    vocab_files_names = VOCAB_FILES_NAMES
    padding_side = "left"
    model_input_names = ["input_ids", "attention_mask"]
    model = BPE

    def __init__(
        self,
        vocab: str | dict[str, int] | None = None,
        merges: str | list[str] | list[tuple[str, str]] | None = None,
        pad_token: str | AddedToken | None = "<|pad|>",
        bos_token: str | AddedToken | None = "<|begin_of_text|>",
        eos_token: str | AddedToken | None = "<|end_of_text|>",
        unk_token: str | AddedToken | None = None,
        add_bos_token: bool | None = None,
        add_eos_token: bool | None = None,
        add_prefix_space: bool = False,
        clean_up_tokenization_spaces: bool = False,
        **kwargs,
    ):
        # A given backend (`tokenizer_object`, `tokenizer_file`) is used as it is by the base class; otherwise the
        # byte-level pipeline is built here. The saved post-processor says whether BOS/EOS are added.
        template = kwargs.get("post_processor")
        if kwargs.get("tokenizer_object") is not None:
            template = kwargs["tokenizer_object"].post_processor
        elif kwargs.get("tokenizer_file") is not None:
            template = self._read_tokenizer_file(kwargs["tokenizer_file"]).get("post_processor")
        else:
            self._tokenizer = self._build_backend(vocab, merges, pad_token, bos_token, eos_token, add_prefix_space)
        saved_bos, saved_eos = _added_bos_eos(template) or (True, False)

        super().__init__(
            pad_token=pad_token,
            bos_token=bos_token,
            eos_token=eos_token,
            unk_token=unk_token,
            add_bos_token=saved_bos if add_bos_token is None else add_bos_token,
            add_eos_token=saved_eos if add_eos_token is None else add_eos_token,
            add_prefix_space=add_prefix_space,
            clean_up_tokenization_spaces=clean_up_tokenization_spaces,
            **kwargs,
        )

    @staticmethod
    def _build_backend(vocab, merges, pad_token, bos_token, eos_token, add_prefix_space: bool) -> Tokenizer:
        """Checks the vocabulary and merges, and builds the byte-level BPE pipeline around them."""
        if isinstance(vocab, str) or isinstance(merges, str):
            if not (isinstance(vocab, str) and isinstance(merges, str)):
                raise ValueError(
                    "Pass `vocab` and `merges` both as file paths (`vocab.json`, `merges.txt`) or neither."
                )
            for path in (vocab, merges):
                if not os.path.isfile(path):
                    raise FileNotFoundError(f"Cannot build an ArlowTokenizer: the file {path} does not exist.")
            vocab, merges = BPE.read_file(vocab, merges)
        if vocab is None:
            if merges:
                raise ValueError("Merges were given without a vocabulary: pass the `vocab` they refer to.")
            vocab = {}
            for token in [pad_token, bos_token, eos_token, *BYTE_TO_SYMBOL.values()]:
                if token is not None:
                    vocab.setdefault(str(token), len(vocab))
        merges = _normalize_merges(merges or [])
        _check_vocab_and_merges(vocab, merges)

        tokenizer = Tokenizer(
            BPE(
                vocab=vocab,
                merges=merges,
                dropout=None,
                unk_token=None,
                # `continuing_subword_prefix` and `end_of_word_suffix` are left unset: set, even to "", they make the
                # Rust model build a copy of every character with the affix (same tokens, about a tenth slower).
                fuse_unk=False,
                byte_fallback=False,
            )
        )
        tokenizer.normalizer = normalizers.Prepend(" ") if add_prefix_space else None
        tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
            [
                pre_tokenizers.Split(Regex(PRETOKENIZE_REGEX), behavior="isolated", invert=False),
                pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
            ]
        )
        tokenizer.decoder = decoders.ByteLevel()
        if add_prefix_space:
            tokenizer.decoder = decoders.Sequence([decoders.ByteLevel(), decoders.Strip(" ", 1, 0)])
        return tokenizer

    @staticmethod
    def _read_tokenizer_file(tokenizer_file: str) -> dict:
        """Reads a `tokenizer.json` file, with an error naming it when it is missing or not a BPE tokenizer."""
        if not os.path.isfile(tokenizer_file):
            raise FileNotFoundError(
                f"Cannot load the ArlowTokenizer: the tokenizer file {tokenizer_file} does not exist."
            )
        try:
            with open(tokenizer_file, encoding="utf-8") as handle:
                serialized = json.load(handle)
            model_type = serialized["model"].get("type") if isinstance(serialized.get("model"), dict) else None
        except (UnicodeDecodeError, json.JSONDecodeError, AttributeError) as error:
            raise ValueError(f"The tokenizer file {tokenizer_file} is not valid tokenizer JSON: {error}") from error
        if model_type != "BPE":
            raise ValueError(
                f"The tokenizer file {tokenizer_file} does not hold a BPE model (its `model.type` is {model_type!r}), "
                "but ArlowTokenizer is a BPE tokenizer."
            )
        return serialized

    @staticmethod
    def _read_sentencepiece_model(model_file: str):
        """Reads a SentencePiece model file, with an error naming it when it is not a SentencePiece BPE model."""
        model_proto = import_protobuf().ModelProto()
        try:
            with open(model_file, "rb") as handle:
                model_proto.ParseFromString(handle.read())
        except Exception as error:  # protobuf raises its own `DecodeError` for a corrupt file
            raise ValueError(f"{model_file} is not a valid SentencePiece model: {error}") from error
        if model_proto.trainer_spec.model_type != _SPM_MODEL_BPE or not model_proto.pieces:
            raise ValueError(f"{model_file} is not a SentencePiece BPE model, the only kind ArlowTokenizer converts.")
        return model_proto

    @classmethod
    def _from_pretrained(cls, resolved_vocab_files, pretrained_model_name_or_path, *init_inputs, **kwargs):
        # Fail with an error naming the problem before the base class reads the files.
        tokenizer_file = resolved_vocab_files.get("tokenizer_file")
        if tokenizer_file is not None:
            cls._read_tokenizer_file(tokenizer_file)
        elif resolved_vocab_files.get("vocab_file") is not None:
            cls._read_sentencepiece_model(resolved_vocab_files["vocab_file"])
        elif kwargs.get("gguf_file") is None:
            raise ValueError(
                f"Cannot load the ArlowTokenizer from {pretrained_model_name_or_path}: found neither a "
                "`tokenizer.json` nor a SentencePiece `tokenizer.model` file there."
            )
        return super()._from_pretrained(resolved_vocab_files, pretrained_model_name_or_path, *init_inputs, **kwargs)

    @classmethod
    def convert_to_native_format(cls, **kwargs):
        """
        Turns the files `from_pretrained` found into the arguments of `__init__`. A byte-level `tokenizer.json` gives
        its vocabulary and merges, which `__init__` rebuilds the pipeline from (so that options such as
        `add_prefix_space` apply); another `tokenizer.json` (such as one converted from SentencePiece) is loaded as
        saved; without a `tokenizer.json`, a SentencePiece `tokenizer.model` is converted.

        Args:
            kwargs (`dict[str, Any]`, *optional*):
                The resolved files (`tokenizer_file`, `vocab_file`, ...) and the other `__init__` arguments, passed on
                to [`~TokenizersBackend.convert_to_native_format`] for everything but a non-byte-level
                `tokenizer.json`.
        """
        tokenizer_file = kwargs.get("tokenizer_file")
        if tokenizer_file is not None and not _is_byte_level(cls._read_tokenizer_file(tokenizer_file)):
            return kwargs
        return super().convert_to_native_format(**kwargs)

    @classmethod
    def convert_from_spm_model(cls, vocab_file: str, **kwargs) -> dict:
        """
        Converts a SentencePiece BPE model (`tokenizer.model`) to a `tokenizers` backend that encodes as SentencePiece
        does: the same pieces and ids, the text normalized by the model's rules, spaces written `"▁"`, a dummy prefix
        when the model adds one, and characters outside the vocabulary written as byte pieces (`<0x..>`) when the model
        was trained with byte fallback. Control and unknown pieces are the special tokens.

        Args:
            vocab_file (`str`):
                Path to the SentencePiece `tokenizer.model` file (a BPE model).
            kwargs (`dict[str, Any]`, *optional*):
                The other `__init__` arguments, returned with the converted backend added.
        """
        model_proto = cls._read_sentencepiece_model(vocab_file)
        trainer_spec, normalizer_spec = model_proto.trainer_spec, model_proto.normalizer_spec

        vocab = {piece.piece: piece_id for piece_id, piece in enumerate(model_proto.pieces)}
        special_pieces = [
            piece.piece for piece in model_proto.pieces if piece.type in (_SPM_PIECE_CONTROL, _SPM_PIECE_UNKNOWN)
        ]
        unk_piece = trainer_spec.unk_piece if trainer_spec.unk_id >= 0 else None
        tokenizer = Tokenizer(
            BPE(
                vocab=vocab,
                merges=generate_merges(vocab, skip_tokens=special_pieces),
                dropout=None,
                unk_token=unk_piece,
                fuse_unk=True,
                byte_fallback=trainer_spec.byte_fallback,
            )
        )
        steps = []
        if normalizer_spec.precompiled_charsmap:
            steps.append(normalizers.Precompiled(normalizer_spec.precompiled_charsmap))
        if normalizer_spec.remove_extra_whitespaces:
            steps += [normalizers.Strip(left=True, right=True), normalizers.Replace(Regex(" {2,}"), " ")]
        if normalizer_spec.add_dummy_prefix:
            steps.append(normalizers.Prepend(" "))
        steps.append(normalizers.Replace(" ", SPIECE_UNDERLINE))
        tokenizer.normalizer = normalizers.Sequence(steps)
        steps = [decoders.Replace(SPIECE_UNDERLINE, " ")]
        if trainer_spec.byte_fallback:
            steps += [decoders.ByteFallback(), decoders.Fuse()]
        if normalizer_spec.add_dummy_prefix:
            steps.append(decoders.Strip(" ", 1, 0))
        tokenizer.decoder = decoders.Sequence(steps)

        for name in ("vocab", "merges", "additional_special_tokens", "_spm_precompiled_charsmap"):
            kwargs.pop(name, None)
        kwargs["tokenizer_object"] = tokenizer
        kwargs["vocab_file"] = vocab_file
        for name, piece_id, piece in (
            ("pad_token", trainer_spec.pad_id, trainer_spec.pad_piece),
            ("bos_token", trainer_spec.bos_id, trainer_spec.bos_piece),
            ("eos_token", trainer_spec.eos_id, trainer_spec.eos_piece),
            ("unk_token", trainer_spec.unk_id, unk_piece),
        ):
            kwargs.setdefault(name, piece if piece_id >= 0 else None)
        named_tokens = {str(kwargs[name]) for name in ("pad_token", "bos_token", "eos_token", "unk_token")}
        extra_tokens = [piece for piece in special_pieces if piece not in named_tokens]
        if extra_tokens:
            kwargs.setdefault("extra_special_tokens", extra_tokens)
        return kwargs

    @classmethod
    def train_from_iterator(
        cls,
        text_iterator: Iterable[str] | Iterable[list[str]],
        vocab_size: int = 131072,
        min_frequency: int = 2,
        show_progress: bool = False,
        length: int | None = None,
        **kwargs,
    ) -> "ArlowTokenizer":
        """
        Trains a byte-level BPE vocabulary on a corpus and returns the tokenizer that uses it.

        The special tokens take the first ids (`pad_token`, `bos_token` and `eos_token`, then an `unk_token` and
        `extra_special_tokens` when `kwargs` gives them), followed by the 256 byte-level symbols and the merged tokens.
        Training is deterministic: the same texts and arguments give the same `tokenizer.json`, byte for byte.

        Args:
            text_iterator (iterable of `str` or of `list[str]`):
                The training corpus, as texts or batches of texts. It is read once, so it can be a generator streaming
                a dataset.
            vocab_size (`int`, *optional*, defaults to 131072):
                The largest vocabulary to learn, special tokens included. Training stops earlier when no pair of tokens
                occurs `min_frequency` times. It must leave room for the special tokens and the 256 byte-level symbols.
            min_frequency (`int`, *optional*, defaults to 2):
                How many times a pair of tokens must occur in the corpus to be merged.
            show_progress (`bool`, *optional*, defaults to `False`):
                Whether or not to show progress bars while training.
            length (`int`, *optional*):
                The number of items in `text_iterator`, for the progress bars.
            kwargs (`dict[str, Any]`, *optional*):
                Arguments of the tokenizer's constructor, for example other special tokens or `add_eos_token=True`.

        Returns:
            [`ArlowTokenizer`]: The trained tokenizer.

        Example:

        ```python
        >>> from transformers import ArlowTokenizer

        >>> texts = ["Arlow reads bytes.", "Any text can be encoded."] * 10
        >>> tokenizer = ArlowTokenizer.train_from_iterator(texts, vocab_size=300)
        >>> tokenizer.decode(tokenizer("Any bytes.")["input_ids"], skip_special_tokens=True)
        'Any bytes.'
        ```
        """
        for name in ("vocab", "merges", "tokenizer_file", "tokenizer_object"):
            if name in kwargs:
                raise ValueError(f"`{name}` cannot be passed to `train_from_iterator`, which learns the vocabulary.")
        special_tokens = []
        for name, default in (
            ("pad_token", "<|pad|>"),
            ("bos_token", "<|begin_of_text|>"),
            ("eos_token", "<|end_of_text|>"),
            ("unk_token", None),
        ):
            token = kwargs.get(name, default)
            if token is not None and str(token) not in special_tokens:
                special_tokens.append(str(token))
        for token in kwargs.get("extra_special_tokens") or []:
            if str(token) not in special_tokens:
                special_tokens.append(str(token))

        smallest_vocab_size = len(special_tokens) + NUM_BYTE_SYMBOLS
        if vocab_size < smallest_vocab_size:
            raise ValueError(
                f"vocab_size={vocab_size} is too small: a byte-level BPE vocabulary holds the {NUM_BYTE_SYMBOLS} byte "
                f"symbols and the {len(special_tokens)} special tokens, so it needs at least {smallest_vocab_size}."
            )

        # The untrained pipeline: the byte symbols only, which the trainer replaces with what it learns.
        alphabet = {symbol: index for index, symbol in enumerate(BYTE_TO_SYMBOL.values())}
        tokenizer = cls._build_backend(alphabet, [], None, None, None, kwargs.get("add_prefix_space", False))
        trainer = BpeTrainer(
            vocab_size=vocab_size,
            min_frequency=min_frequency,
            show_progress=show_progress,
            special_tokens=[AddedToken(token, special=True, normalized=False) for token in special_tokens],
            initial_alphabet=list(BYTE_TO_SYMBOL.values()),
        )
        tokenizer.train_from_iterator(text_iterator, trainer=trainer, length=length)
        trained_model = json.loads(tokenizer.to_str())["model"]
        return cls(vocab=trained_model["vocab"], merges=trained_model["merges"], **kwargs)


__all__ = ["ArlowTokenizer", "ArlowTokenizerFast"]

# The tokenizers backend is the only implementation; the `Fast` name is kept for compatibility.
ArlowTokenizerFast = ArlowTokenizer
