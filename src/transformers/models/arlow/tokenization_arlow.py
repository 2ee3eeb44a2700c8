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


SPECIAL_TOKENS = {"pad_token": "<|pad|>", "bos_token": "<|begin_of_text|>", "eos_token": "<|end_of_text|>"}

# Words, runs of up to three digits, punctuation and whitespace: no merge crosses their boundaries.
PRETOKENIZE_REGEX = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""


def _read(reader, path, *args, kind: str):
    try:
        return reader(path, *args)
    except Exception as error:  # `tokenizers` raises a bare `Exception`, protobuf a `DecodeError`: name the file
        raise ValueError(f"{path} is not a valid {kind}: {error}") from error


class ArlowTokenizer(TokenizersBackend):
    r"""
    Construct an Arlow tokenizer, a byte-level BPE that decodes any text back exactly (or a SentencePiece BPE model).
    `ArlowTokenizer()` holds the special tokens and the 256 byte symbols, ready for `train_new_from_iterator`.

    Args:
        vocab (`str` or `dict[str, int]`, *optional*):
            Path to a `vocab.json`, or the vocabulary; by default the special tokens and the 256 byte symbols.
        merges (`str` or `list`, *optional*):
            Path to a `merges.txt` (when `vocab` is a path), or the merges, as `"a b"` strings or pairs of tokens.
        add_bos_token (`bool`, *optional*):
            Whether to add the BOS token at the start of sequences: as a loaded `tokenizer.json` does, else `True`.
        add_eos_token (`bool`, *optional*):
            Whether to add the EOS token at the end of sequences: as a loaded `tokenizer.json` does, else `False`.
    """

    vocab_files_names = {"vocab_file": "vocab.json", "merges_file": "merges.txt", "tokenizer_file": "tokenizer.json"}
    padding_side = "left"
    model = BPE

    def __init__(self, vocab=None, merges=None, add_bos_token=None, add_eos_token=None, **kwargs):
        kwargs = {**SPECIAL_TOKENS, "unk_token": None, "add_prefix_space": False, **kwargs}
        if (tokenizer_file := kwargs.pop("tokenizer_file", None)) is not None:  # used as saved
            kwargs["tokenizer_object"] = _read(Tokenizer.from_file, tokenizer_file, kind="tokenizer file")
        if kwargs.get("tokenizer_object") is None:
            if isinstance(vocab, str):
                vocab, merges = _read(BPE.read_file, vocab, merges, kind="vocab.json with a merges.txt")
            byte_symbols = list(bytes_to_unicode().values())
            defaults = [str(kwargs[name]) for name in SPECIAL_TOKENS if kwargs[name] is not None] + byte_symbols
            vocab = {token: index for index, token in enumerate(defaults)} if vocab is None else vocab
            merges = [tuple(merge.split(" ")) if isinstance(merge, str) else tuple(merge) for merge in merges or []]
            if missing := [symbol for symbol in byte_symbols if symbol not in vocab]:
                raise ValueError(f"The vocabulary lacks {len(missing)} of the 256 byte symbols, e.g. {missing[:5]}.")
            if bad := [merge for merge in merges if len(merge) != 2 or "".join(merge) not in vocab]:  # Rust panics
                raise ValueError(f"The merge {bad[0]} is not a pair of tokens whose merge is in the vocabulary.")
            self._tokenizer = Tokenizer(BPE(vocab=vocab, merges=merges, dropout=None, fuse_unk=False))
            split = pre_tokenizers.Split(Regex(PRETOKENIZE_REGEX), behavior="isolated", invert=False)
            byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)  # the split is the regex
            self._tokenizer.pre_tokenizer = pre_tokenizers.Sequence([split, byte_level])
            self._tokenizer.decoder = decoders.ByteLevel()
            if kwargs["add_prefix_space"]:  # a space the decoder takes away again
                self._tokenizer.normalizer = normalizers.Prepend(" ")
                self._tokenizer.decoder = decoders.Sequence([decoders.ByteLevel(), decoders.Strip(" ", 1, 0)])
        template = kwargs.get("post_processor") or (kwargs.get("tokenizer_object") or self._tokenizer).post_processor
        single = json.loads(template.__getstate__()).get("single", []) if template is not None else []
        add_bos_token = "SpecialToken" in single[0] if add_bos_token is None and single else add_bos_token is not False
        add_eos_token = "SpecialToken" in single[-1] if add_eos_token is None and single else bool(add_eos_token)
        super().__init__(add_bos_token=add_bos_token, add_eos_token=add_eos_token, **kwargs)

    @classmethod
    def convert_to_native_format(cls, **kwargs):
        # A non-byte-level `tokenizer.json` is used as saved; a bad `tokenizer.model` (not tiktoken!) is an error.
        tokenizer_file, vocab_file = kwargs.get("tokenizer_file"), kwargs.get("vocab_file")
        if tokenizer_file is None and vocab_file is None and kwargs.get("gguf_file") is None:
            raise ValueError(f"{kwargs.get('name_or_path')} holds no tokenizer.json, vocab.json or tokenizer.model.")
        if tokenizer_file is not None and '"ByteLevel"' not in Path(tokenizer_file).read_text("utf-8"):
            return kwargs
        if tokenizer_file is None and str(vocab_file).endswith(".model"):
            proto = _read(SentencePieceExtractor, vocab_file, kind="SentencePiece model").proto
            if proto.trainer_spec.model_type != 2:  # BPE
                raise ValueError(f"{vocab_file} is not a SentencePiece BPE model, the only kind ArlowTokenizer loads.")
        return super().convert_to_native_format(**kwargs)

    @classmethod
    def convert_from_spm_model(cls, vocab, merges, vocab_file, **kwargs):
        # The base class's hook for a SentencePiece model: adds its whitespace handling, dummy prefix, special pieces.
        sp, norm = (proto := SentencePieceExtractor(vocab_file).proto).trainer_spec, proto.normalizer_spec
        backend = SpmConverter.build_tokenizer_from_spm_proto(proto, vocab, merges)
        steps = [normalizers.Precompiled(norm.precompiled_charsmap)] if norm.precompiled_charsmap else []
        if norm.remove_extra_whitespaces:
            steps += [normalizers.Strip(), normalizers.Replace(Regex(" {2,}"), " ")]
        if norm.add_dummy_prefix:
            steps.append(normalizers.Prepend(" "))
            backend.decoder = decoders.Sequence([backend.decoder, decoders.Strip(" ", 1, 0)])
        backend.normalizer = normalizers.Sequence([*steps, normalizers.Replace(" ", "▁")])
        names = ("pad", "bos", "eos", "unk")  # the model's own special pieces, or none
        pieces = {f"{n}_token": getattr(sp, f"{n}_piece") if getattr(sp, f"{n}_id") >= 0 else None for n in names}
        return {**pieces, **kwargs, "vocab_file": vocab_file, "tokenizer_object": backend}


ArlowTokenizerFast = ArlowTokenizer  # the tokenizers backend is the only implementation; the name is kept
__all__ = ["ArlowTokenizer", "ArlowTokenizerFast"]
