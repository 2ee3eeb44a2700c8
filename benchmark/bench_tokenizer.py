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

Arlow's tokenizer differs from a plain byte-level BPE in two deliberate ways, both carried out in Rust: it adds the
BOS token to every text (a `TemplateProcessing` post-processor, as Llama's tokenizer does), and it splits text with a
Llama-3-style rule (digits in groups of at most three) in a `Split` pre-tokenizer before the byte-level mapping,
where the plain BPE uses the GPT-2 rule built into `ByteLevel`. So the plain BPE is timed three ways: as is, with the
same BOS template, and with the same BOS template and pre-tokenizer (the same pipeline around its own merges). The
last is the like-for-like reference for Arlow's tokenizer, the others price each of the two choices. A second copy of
the plain BPE, timed against the first, is the A/A control: the spread the machine's noise alone gives a ratio.
"""

from pydoc_data.topics import topics

from bench_settings import BenchSettings
from timing import interleaved_times, paired_ratio, summarize
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

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


def with_arlow_pipeline(tokenizer: Tokenizer, arlow: ArlowTokenizer, pre_tokenizer: bool) -> Tokenizer:
    """
    A copy of `tokenizer` that puts Arlow's BOS token before every text, as ArlowTokenizer does, and, with
    `pre_tokenizer`, splits text with ArlowTokenizer's pre-tokenizer instead of its own.
    """
    copy = Tokenizer.from_str(tokenizer.to_str())
    bos_token = arlow.bos_token
    copy.post_processor = processors.TemplateProcessing(
        single=f"{bos_token} $A",
        pair=f"{bos_token} $A {bos_token} $B:1",
        special_tokens=[(bos_token, copy.token_to_id(bos_token))],
    )
    if pre_tokenizer:
        copy.pre_tokenizer = arlow.backend_tokenizer.pre_tokenizer
    return copy


def bench_tokenizer(settings: BenchSettings, log=print) -> dict:
    texts = corpus(settings.tokenizer_texts)
    text_bytes = sum(len(text.encode("utf-8")) for text in texts)
    arlow = ArlowTokenizer().train_new_from_iterator(texts, settings.tokenizer_vocab_size)
    plain = train_plain_byte_level_bpe(texts, settings.tokenizer_vocab_size, list(arlow.all_special_tokens))
    plain_with_bos = with_arlow_pipeline(plain, arlow, pre_tokenizer=False)
    plain_same_pipeline = with_arlow_pipeline(plain, arlow, pre_tokenizer=True)
    plain_copy = Tokenizer.from_str(plain.to_str())
    cases = {
        # the user-facing call: one batch through the Rust backend, token ids (and attention masks) as Python lists
        "arlow": lambda: arlow(texts)["input_ids"],
        # Arlow's own tokenization pipeline in Rust, without the transformers wrapper: the like-for-like comparison
        "arlow_backend": lambda: [encoding.ids for encoding in arlow.backend_tokenizer.encode_batch(texts)],
        "plain_same_pipeline": lambda: [encoding.ids for encoding in plain_same_pipeline.encode_batch(texts)],
        "plain_with_bos": lambda: [encoding.ids for encoding in plain_with_bos.encode_batch(texts)],
        "plain": lambda: [encoding.ids for encoding in plain.encode_batch(texts)],
        "plain_copy": lambda: [encoding.ids for encoding in plain_copy.encode_batch(texts)],
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
        # time ratio reference/arlow = throughput ratio arlow/reference on the same texts
        "ratio_arlow_backend_over_plain_same_pipeline": paired_ratio(
            times["plain_same_pipeline"], times["arlow_backend"]
        ),
        "ratio_arlow_backend_over_plain_with_bos": paired_ratio(times["plain_with_bos"], times["arlow_backend"]),
        "ratio_arlow_backend_over_plain": paired_ratio(times["plain"], times["arlow_backend"]),
        "ratio_arlow_over_plain": paired_ratio(times["plain"], times["arlow"]),
        "ratio_plain_with_bos_over_plain": paired_ratio(times["plain"], times["plain_with_bos"]),
        "ratio_plain_copy_over_plain": paired_ratio(times["plain"], times["plain_copy"]),
    }
    for name in cases:
        result[name] = summarize(times[name])
        result[name]["bytes_per_s"] = text_bytes / result[name]["median_s"]
        result[name]["tokens_per_s"] = tokens[name] / result[name]["median_s"]
    log(
        f"tokenizer: Arlow's backend {result['arlow_backend']['bytes_per_s'] / 2**20:.2f} MiB/s, "
        "plain BPE in the same "
        f"pipeline {result['plain_same_pipeline']['bytes_per_s'] / 2**20:.2f} MiB/s: ratio "
        f"{result['ratio_arlow_backend_over_plain_same_pipeline']:.3f} (against the plain BPE with BOS "
        f"{result['ratio_arlow_backend_over_plain_with_bos']:.3f}, "
        f"as is {result['ratio_arlow_backend_over_plain']:.3f}; "
        f"A/A {result['ratio_plain_copy_over_plain']:.3f})"
    )
    return result
