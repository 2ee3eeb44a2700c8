# Copyright 2026 The Arlow Authors. All rights reserved.
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
"""
Encoding throughput of ArlowTokenizer against a plain `tokenizers` byte-level BPE with the same vocabulary size, the
same special tokens, trained on the same text. The text is Python's own reference documentation (`pydoc_data`),
which every Python installation ships: English prose with code, identical for a given Python version, no download.
"""

from pydoc_data.topics import topics

from bench_settings import BenchSettings
from timing import interleaved_times, paired_ratio, summarize
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from transformers import ArlowTokenizer


def corpus(limit: int = 0) -> list[str]:
    """The paragraphs of Python's reference documentation, in a fixed order; the first `limit` of them if given."""
    paragraphs = [
        paragraph for name in sorted(topics) for paragraph in topics[name].split("\n\n") if paragraph.strip()
    ]
    return paragraphs[:limit] if limit else paragraphs


def train_plain_byte_level_bpe(texts: list[str], vocab_size: int, special_tokens: list[str]) -> Tokenizer:
    """The reference: `tokenizers`' BPE model with byte-level pre-tokenization and decoding, nothing else."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=special_tokens,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    return tokenizer


def bench_tokenizer(settings: BenchSettings, log=print) -> dict:
    texts = corpus(settings.tokenizer_texts)
    text_bytes = sum(len(text.encode("utf-8")) for text in texts)
    arlow = ArlowTokenizer.train_from_iterator(texts, vocab_size=settings.tokenizer_vocab_size)
    plain = train_plain_byte_level_bpe(texts, settings.tokenizer_vocab_size, list(arlow.all_special_tokens))
    cases = {
        # the user-facing call: one batch through the Rust backend, token ids (and attention masks) as Python lists
        "arlow": lambda: arlow(texts)["input_ids"],
        # Arlow's own tokenization pipeline in Rust, without the transformers wrapper: the like-for-like comparison
        "arlow_backend": lambda: [encoding.ids for encoding in arlow.backend_tokenizer.encode_batch(texts)],
        "plain": lambda: [encoding.ids for encoding in plain.encode_batch(texts)],
    }
    times = interleaved_times(cases, warmup=1, reps=settings.tokenizer_reps)
    tokens = {name: sum(len(ids) for ids in call()) for name, call in cases.items()}
    result = {
        "corpus": "pydoc_data.topics paragraphs",
        "texts": len(texts),
        "bytes": text_bytes,
        "vocab_size_requested": settings.tokenizer_vocab_size,
        "vocab_size": {"arlow": len(arlow), "plain": plain.get_vocab_size()},
        "tokens": tokens,
        # time ratio plain/arlow = throughput ratio arlow/plain on the same texts
        "ratio_arlow_over_plain": paired_ratio(times["plain"], times["arlow"]),
        "ratio_arlow_backend_over_plain": paired_ratio(times["plain"], times["arlow_backend"]),
    }
    for name in cases:
        result[name] = summarize(times[name])
        result[name]["bytes_per_s"] = text_bytes / result[name]["median_s"]
        result[name]["tokens_per_s"] = tokens[name] / result[name]["median_s"]
    log(
        f"tokenizer: arlow {result['arlow']['bytes_per_s'] / 2**20:.2f} MiB/s (backend "
        f"{result['arlow_backend']['bytes_per_s'] / 2**20:.2f}), plain {result['plain']['bytes_per_s'] / 2**20:.2f} "
        f"MiB/s; ratios {result['ratio_arlow_over_plain']:.3f} (call), {result['ratio_arlow_backend_over_plain']:.3f} "
        "(backend)"
    )
    return result
