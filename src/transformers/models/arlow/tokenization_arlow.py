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
from pathlib import Path

from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers
from tokenizers.models import BPE

from ...convert_slow_tokenizer import SentencePieceExtractor, SpmConverter, bytes_to_unicode
from ...tokenization_utils_tokenizers import TokenizersBackend


VOCAB_FILES_NAMES = {"vocab_file": "vocab.json", "merges_file": "merges.txt", "tokenizer_file": "tokenizer.json"}

# Words, runs of up to three digits, punctuation and whitespace: no merge crosses their boundaries.
PRETOKENIZE_REGEX = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""


def _read(reader, path, *args, kind: str):
    """`reader(path, *args)`, with an error naming the file when it is missing or not a valid `kind`."""
    try:
        return reader(path, *args)
    except Exception as error:  # `tokenizers` raises a bare `Exception`, protobuf its own `DecodeError`
        raise ValueError(f"{path} is not a valid {kind}: {error}") from error


class ArlowTokenizer(TokenizersBackend):
    r"""
    Construct an Arlow tokenizer: a byte-level BPE, backed by HuggingFace's *tokenizers* library, that encodes any text
    without unknown tokens and decodes it back exactly. Merges never cross words, runs of up to three digits,
    punctuation or whitespace. `vocab` and `merges` (or `vocab.json` and `merges.txt` paths) default to the special
    tokens (`<|pad|>`, `<|begin_of_text|>`, `<|end_of_text|>`) and the 256 byte symbols. `add_bos_token` (default
    `True`) and `add_eos_token` (default `False`) choose what is added around a sequence, unless a loaded file says
    otherwise; `add_prefix_space=True` encodes the first word like the others. A SentencePiece BPE `tokenizer.model`
    loads too, and encodes as SentencePiece does.

    ```python
    >>> from transformers import ArlowTokenizer

    >>> tokenizer = ArlowTokenizer().train_new_from_iterator(["Arlow reads bytes.", "Any text can be encoded."], 300)
    >>> tokenizer.decode(tokenizer("Any bytes.")["input_ids"], skip_special_tokens=True)
    'Any bytes.'
    ```
    """

    vocab_files_names = VOCAB_FILES_NAMES
    padding_side = "left"
    model_input_names = ["input_ids", "attention_mask"]
    model = BPE

    def __init__(
        self, vocab=None, merges=None, add_bos_token=None, add_eos_token=None, add_prefix_space=False, **kwargs
    ):
        defaults = {"pad_token": "<|pad|>", "bos_token": "<|begin_of_text|>", "eos_token": "<|end_of_text|>"}
        kwargs = {**defaults, "unk_token": None, "clean_up_tokenization_spaces": False, **kwargs}
        if (tokenizer_file := kwargs.pop("tokenizer_file", None)) is not None:  # used as saved
            kwargs["tokenizer_object"] = _read(Tokenizer.from_file, tokenizer_file, kind="tokenizer file")
        if kwargs.get("tokenizer_object") is None:
            if isinstance(vocab, str):
                vocab, merges = _read(BPE.read_file, vocab, merges, kind="vocab.json with a merges.txt")
            byte_symbols = list(bytes_to_unicode().values())
            if vocab is None:
                vocab = {token: index for index, token in enumerate(kwargs[name] for name in defaults) if token}
                vocab.update({symbol: len(vocab) + index for index, symbol in enumerate(byte_symbols)})
            merges = [tuple(merge.split(" ")) if isinstance(merge, str) else tuple(merge) for merge in merges or []]
            if missing := [symbol for symbol in byte_symbols if symbol not in vocab]:
                raise ValueError(f"The vocabulary lacks {len(missing)} of the 256 byte symbols, e.g. {missing[:5]}.")
            for merge in merges:  # the Rust BPE model panics on these
                if len(merge) != 2 or any(token not in vocab for token in (*merge, "".join(merge))):
                    raise ValueError(f"The merge {merge} is not a pair of tokens whose merge is in the vocabulary.")
            self._tokenizer = Tokenizer(BPE(vocab=vocab, merges=merges, dropout=None, fuse_unk=False))
            split = pre_tokenizers.Split(Regex(PRETOKENIZE_REGEX), behavior="isolated", invert=False)
            byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
            self._tokenizer.pre_tokenizer = pre_tokenizers.Sequence([split, byte_level])
            self._tokenizer.decoder = decoders.ByteLevel()
            if add_prefix_space:  # a space the decoder takes away again
                self._tokenizer.normalizer = normalizers.Prepend(" ")
                self._tokenizer.decoder = decoders.Sequence([decoders.ByteLevel(), decoders.Strip(" ", 1, 0)])
        # Unless set, a loaded template (`tokenizer.json`, a trained backend) says what is added; else BOS only.
        template = kwargs.get("post_processor") or (kwargs.get("tokenizer_object") or self._tokenizer).post_processor
        single = json.loads(template.__getstate__()).get("single", []) if template is not None else []
        add_bos_token = "SpecialToken" in single[0] if add_bos_token is None and single else add_bos_token is not False
        add_eos_token = "SpecialToken" in single[-1] if add_eos_token is None and single else bool(add_eos_token)
        super().__init__(
            add_bos_token=add_bos_token, add_eos_token=add_eos_token, add_prefix_space=add_prefix_space, **kwargs
        )

    def train_new_from_iterator(self, text_iterator, vocab_size, length=None, new_special_tokens=None, **kwargs):
        # As the base class, but a `vocab_size` without room for the byte symbols and special tokens is an error.
        if vocab_size < (smallest := len(self.all_special_tokens) + len(new_special_tokens or []) + 256):
            raise ValueError(f"vocab_size={vocab_size} is too small: the bytes and special tokens need {smallest}.")
        return super().train_new_from_iterator(text_iterator, vocab_size, length, new_special_tokens, **kwargs)

    @classmethod
    def convert_to_native_format(cls, **kwargs):
        # As the base class, but a `tokenizer.json` that is not byte-level (from SentencePiece) is used as saved, and a
        # bad `tokenizer.model` (taken for tiktoken) or a folder without tokenizer files (an empty tokenizer) is an error.
        tokenizer_file, vocab_file = kwargs.get("tokenizer_file"), kwargs.get("vocab_file")
        if tokenizer_file is None and vocab_file is None and kwargs.get("gguf_file") is None:
            raise ValueError(f"{kwargs.get('name_or_path')} holds no tokenizer.json, vocab.json or tokenizer.model.")
        if tokenizer_file is not None and '"ByteLevel"' not in Path(tokenizer_file).read_text("utf-8"):
            return kwargs
        if tokenizer_file is None and str(vocab_file).endswith(".model"):
            proto = _read(SentencePieceExtractor, vocab_file, kind="SentencePiece model").proto
            if proto.trainer_spec.model_type != 2:  # `TrainerSpec.BPE`
                raise ValueError(f"{vocab_file} is not a SentencePiece BPE model, the only kind ArlowTokenizer loads.")
        return super().convert_to_native_format(**kwargs)

    @classmethod
    def convert_from_spm_model(cls, vocab, merges, vocab_file, **kwargs):
        # The base class's hook for the pieces of a SentencePiece model: the backend it builds lacks the model's
        # whitespace handling and dummy prefix, added here, and the special tokens are the model's own pieces.
        proto = SentencePieceExtractor(vocab_file).proto
        spec, norm = proto.trainer_spec, proto.normalizer_spec
        backend = SpmConverter.build_tokenizer_from_spm_proto(proto, vocab, merges)
        steps = [normalizers.Precompiled(norm.precompiled_charsmap)] if norm.precompiled_charsmap else []
        if norm.remove_extra_whitespaces:
            steps += [normalizers.Strip(), normalizers.Replace(Regex(" {2,}"), " ")]
        if norm.add_dummy_prefix:
            steps.append(normalizers.Prepend(" "))
            backend.decoder = decoders.Sequence([backend.decoder, decoders.Strip(" ", 1, 0)])
        backend.normalizer = normalizers.Sequence([*steps, normalizers.Replace(" ", "▁")])
        for name in ("pad", "bos", "eos", "unk"):
            piece = getattr(spec, f"{name}_piece") if getattr(spec, f"{name}_id") >= 0 else None
            kwargs.setdefault(f"{name}_token", piece)
        return {**kwargs, "vocab_file": vocab_file, "tokenizer_object": backend}


__all__ = ["ArlowTokenizer", "ArlowTokenizerFast"]

# The tokenizers backend is the only implementation; the `Fast` name is kept for compatibility.
ArlowTokenizerFast = ArlowTokenizer
