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

from tokenizers import AddedToken, Regex, Tokenizer, decoders, normalizers, pre_tokenizers
from tokenizers.models import BPE

from ...convert_slow_tokenizer import bytes_to_unicode, import_protobuf
from ...tokenization_utils_base import generate_merges
from ...tokenization_utils_tokenizers import TokenizersBackend
from ...utils import logging


logger = logging.get_logger(__name__)

VOCAB_FILES_NAMES = {"vocab_file": "vocab.json", "merges_file": "merges.txt", "tokenizer_file": "tokenizer.json"}

# Words, runs of up to three digits, punctuation and whitespace: no merge crosses their boundaries.
PRETOKENIZE_REGEX = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""


def _adds_bos_eos(post_processor) -> tuple[bool, bool]:
    """Whether a saved `TemplateProcessing` puts a special token before / after a single sequence (default: BOS)."""
    if post_processor is not None and not isinstance(post_processor, dict):
        post_processor = json.loads(post_processor.__getstate__())
    if not post_processor or post_processor.get("type") != "TemplateProcessing":
        return True, False
    single = post_processor["single"]
    return "SpecialToken" in single[0], "SpecialToken" in single[-1]


def _read_tokenizer_json(tokenizer_file: str) -> dict:
    """Reads a `tokenizer.json`, with an error naming the file when it is missing or not a BPE tokenizer."""
    if not os.path.isfile(tokenizer_file):
        raise FileNotFoundError(f"Cannot load the ArlowTokenizer: the tokenizer file {tokenizer_file} does not exist.")
    try:
        with open(tokenizer_file, encoding="utf-8") as handle:
            serialized = json.load(handle)
        model_type = serialized["model"]["type"]
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{tokenizer_file} is not a valid tokenizer file: {error!r}") from error
    if model_type != "BPE":
        raise ValueError(f"{tokenizer_file} holds a {model_type} model, but ArlowTokenizer is a BPE tokenizer.")
    return serialized


class ArlowTokenizer(TokenizersBackend):
    r"""
    Construct an Arlow tokenizer, backed by HuggingFace's *tokenizers* library. Based on byte-level Byte-Pair-Encoding:
    any text is encoded without unknown tokens and decoded back exactly. The text is not normalized; it is split into
    words, runs of up to three digits, punctuation and whitespace before the merges apply. Spaces are parts of the
    tokens, so a word is encoded differently at the start of a text than after a space.

    ```python
    >>> from transformers import ArlowTokenizer

    >>> tokenizer = ArlowTokenizer()  # the 256 byte symbols and the special tokens
    >>> tokenizer = tokenizer.train_new_from_iterator(["Arlow reads bytes.", "Any text can be encoded."], 300)
    >>> tokenizer.decode(tokenizer("Any bytes.")["input_ids"], skip_special_tokens=True)
    'Any bytes.'
    ```

    A folder holding a SentencePiece BPE model (`tokenizer.model`) and no `tokenizer.json` also loads: its pieces keep
    their ids and the tokenizer encodes as SentencePiece does.

    This tokenizer inherits from [`TokenizersBackend`] which contains most of the main methods. Users should refer to
    this superclass for more information regarding those methods.

    Args:
        vocab (`str` or `dict[str, int]`, *optional*):
            The vocabulary, or the path to a `vocab.json` file. It must hold the 256 byte-level symbols. Defaults to
            the special tokens followed by the 256 byte-level symbols.
        merges (`str` or `list[str]` or `list[tuple[str, str]]`, *optional*):
            The merges, highest priority first, or the path to a `merges.txt` file.
        pad_token (`str` or `tokenizers.AddedToken`, *optional*, defaults to `"<|pad|>"`):
            The token used for padding, for example when batching sequences of different lengths.
        bos_token (`str` or `tokenizers.AddedToken`, *optional*, defaults to `"<|begin_of_text|>"`):
            The beginning of sequence token that was used during pretraining.
        eos_token (`str` or `tokenizers.AddedToken`, *optional*, defaults to `"<|end_of_text|>"`):
            The end of sequence token.
        unk_token (`str` or `tokenizers.AddedToken`, *optional*):
            The unknown token: only a SentencePiece model has one.
        add_bos_token (`bool`, *optional*):
            Whether or not to add the `bos_token` at the start of sequences. Defaults to `True`, or to the saved
            setting.
        add_eos_token (`bool`, *optional*):
            Whether or not to add the `eos_token` at the end of sequences. Defaults to `False`, or to the saved
            setting.
        add_prefix_space (`bool`, *optional*, defaults to `False`):
            Whether or not to add a space before the text, so that its first word is encoded like the others.
        clean_up_tokenization_spaces (`bool`, *optional*, defaults to `False`):
            Whether or not to clean up spaces after decoding; byte-level decoding is already exact.
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
        # A given backend (converted from SentencePiece, or trained) is used as it is.
        template = kwargs.get("post_processor")
        if kwargs.get("tokenizer_object") is not None:
            template = kwargs["tokenizer_object"].post_processor
        elif kwargs.get("tokenizer_file") is not None:
            template = _read_tokenizer_json(kwargs["tokenizer_file"]).get("post_processor")
        else:
            self._tokenizer = self._byte_level_bpe(vocab, merges, [pad_token, bos_token, eos_token], add_prefix_space)
        saved_bos, saved_eos = _adds_bos_eos(template)
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
    def _byte_level_bpe(vocab, merges, special_tokens, add_prefix_space: bool) -> Tokenizer:
        if isinstance(vocab, str):
            for path in (vocab, merges):
                if not isinstance(path, str) or not os.path.isfile(path):
                    raise FileNotFoundError(f"A `vocab.json` path needs a `merges.txt` path; {path} does not exist.")
            vocab, merges = BPE.read_file(vocab, merges)
        byte_symbols = list(bytes_to_unicode().values())
        if vocab is None:
            vocab = {str(token): index for index, token in enumerate(t for t in special_tokens if t is not None)}
            vocab.update({symbol: len(vocab) + index for index, symbol in enumerate(byte_symbols)})
        merges = [tuple(merge.split(" ")) if isinstance(merge, str) else tuple(merge) for merge in merges or []]
        missing = [symbol for symbol in byte_symbols if symbol not in vocab]
        if missing:
            raise ValueError(f"The vocabulary lacks {len(missing)} of the 256 byte-level symbols, e.g. {missing[:5]}.")
        for rank, merge in enumerate(merges):  # the Rust BPE model panics on these
            if len(merge) != 2 or any(token not in vocab for token in (*merge, "".join(merge))):
                raise ValueError(f"Merge #{rank} {merge} is not a pair of tokens whose merge is in the vocabulary.")

        # `continuing_subword_prefix`/`end_of_word_suffix` stay unset: even "" makes every miss build affixed copies.
        tokenizer = Tokenizer(BPE(vocab=vocab, merges=merges, dropout=None, fuse_unk=False, byte_fallback=False))
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

    def train_new_from_iterator(self, text_iterator, vocab_size, length=None, new_special_tokens=None, **kwargs):
        # As the base class, but a `vocab_size` without room for the byte symbols and special tokens is an error.
        smallest = len(self.all_special_tokens) + len(new_special_tokens or []) + 256
        if vocab_size < smallest:
            raise ValueError(
                f"vocab_size={vocab_size} is too small: a byte-level BPE vocabulary holds the 256 byte symbols and "
                f"the special tokens, so it needs at least {smallest}."
            )
        return super().train_new_from_iterator(text_iterator, vocab_size, length, new_special_tokens, **kwargs)

    @classmethod
    def _from_pretrained(cls, resolved_vocab_files, pretrained_model_name_or_path, *init_inputs, **kwargs):
        # Errors that name the problem, before the base class reads the files.
        if resolved_vocab_files.get("tokenizer_file") is not None:
            _read_tokenizer_json(resolved_vocab_files["tokenizer_file"])
        elif resolved_vocab_files.get("vocab_file") is None and kwargs.get("gguf_file") is None:
            raise ValueError(
                f"Cannot load the ArlowTokenizer from {pretrained_model_name_or_path}: it holds no `tokenizer.json`, "
                "`vocab.json` or SentencePiece `tokenizer.model`."
            )
        return super()._from_pretrained(resolved_vocab_files, pretrained_model_name_or_path, *init_inputs, **kwargs)

    @classmethod
    def convert_to_native_format(cls, **kwargs):
        """
        Turns the files `from_pretrained` found into `__init__` arguments: a byte-level `tokenizer.json` or
        `vocab.json`/`merges.txt` give the vocabulary and merges; another `tokenizer.json` (such as a converted
        SentencePiece model) is loaded as saved; a SentencePiece BPE `tokenizer.model` is converted.
        """
        tokenizer_file, vocab_file = kwargs.get("tokenizer_file"), kwargs.get("vocab_file")
        if tokenizer_file is not None:
            if '"ByteLevel"' not in json.dumps(_read_tokenizer_json(tokenizer_file).get("pre_tokenizer")):
                return kwargs
        elif (vocab_file or "").endswith(".model") and kwargs.get("gguf_file") is None:
            return cls._convert_sentencepiece_bpe(vocab_file, kwargs)
        return super().convert_to_native_format(**kwargs)

    @staticmethod
    def _convert_sentencepiece_bpe(model_file: str, kwargs: dict) -> dict:
        """A backend that encodes as the SentencePiece BPE model does: same pieces, normalization and byte fallback."""
        proto = import_protobuf().ModelProto()
        try:
            with open(model_file, "rb") as handle:
                proto.ParseFromString(handle.read())
        except Exception as error:  # protobuf raises its own `DecodeError`
            raise ValueError(f"{model_file} is not a valid SentencePiece model: {error}") from error
        trainer_spec, normalizer_spec = proto.trainer_spec, proto.normalizer_spec
        if trainer_spec.model_type != 2 or not proto.pieces:  # `TrainerSpec.ModelType.BPE`
            raise ValueError(f"{model_file} is not a SentencePiece BPE model, the only kind ArlowTokenizer loads.")

        vocab = {piece.piece: index for index, piece in enumerate(proto.pieces)}
        special_pieces = [piece.piece for piece in proto.pieces if piece.type in (2, 3)]  # UNKNOWN, CONTROL
        unk_piece = trainer_spec.unk_piece if trainer_spec.unk_id >= 0 else None
        merges = generate_merges(vocab, skip_tokens=special_pieces)
        backend = Tokenizer(
            BPE(vocab, merges, unk_token=unk_piece, fuse_unk=True, byte_fallback=trainer_spec.byte_fallback)
        )
        steps = []
        if normalizer_spec.precompiled_charsmap:
            steps.append(normalizers.Precompiled(normalizer_spec.precompiled_charsmap))
        if normalizer_spec.remove_extra_whitespaces:
            steps += [normalizers.Strip(), normalizers.Replace(Regex(" {2,}"), " ")]
        if normalizer_spec.add_dummy_prefix:
            steps.append(normalizers.Prepend(" "))
        backend.normalizer = normalizers.Sequence([*steps, normalizers.Replace(" ", "▁")])
        strip_dummy_prefix = [decoders.Strip(" ", 1, 0)] if normalizer_spec.add_dummy_prefix else []
        backend.decoder = decoders.Sequence(
            [decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(), *strip_dummy_prefix]
        )

        kwargs["tokenizer_object"] = backend
        for name in ("pad", "bos", "eos", "unk"):  # the model's own special pieces, or none
            has_piece = getattr(trainer_spec, f"{name}_id") >= 0
            kwargs.setdefault(f"{name}_token", getattr(trainer_spec, f"{name}_piece") if has_piece else None)
        named = {str(kwargs[f"{name}_token"]) for name in ("pad", "bos", "eos", "unk")}
        if extra := [piece for piece in special_pieces if piece not in named]:
            kwargs.setdefault("extra_special_tokens", extra)
        return kwargs


__all__ = ["ArlowTokenizer", "ArlowTokenizerFast"]

# The tokenizers backend is the only implementation; the `Fast` name is kept for compatibility.
ArlowTokenizerFast = ArlowTokenizer
