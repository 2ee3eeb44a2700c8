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
"""Tests of the streaming pretraining data pipeline: packing, sharding, shuffling, exact resume, sources."""

import itertools
import json
import re
import sys
from collections import Counter
from pathlib import Path

import pytest
import torch
from torch.utils.data import DataLoader


sys.path.insert(0, str(Path(__file__).resolve().parent / "language-modeling"))

from arlow_pretraining_data import (  # noqa: E402
    DocumentSource,
    PackedTokenStream,
    build_eval_blocks,
    embedded_documents,
    is_held_out,
    load_document_sources,
    python_stdlib_source_files,
)

from transformers import ArlowTokenizer  # noqa: E402


NUM_DOCUMENTS = 60


def synthetic_text(index: int) -> str:
    return f"document {index} says " + " ".join(f"w{index}x{j}" for j in range(5 + index % 7))


def synthetic_documents(count: int = NUM_DOCUMENTS) -> DocumentSource:
    texts = [synthetic_text(index) for index in range(count)]
    return DocumentSource("synthetic", lambda index, num_shards: texts[index::num_shards])


@pytest.fixture(scope="module")
def tokenizer():
    texts = [synthetic_text(index) for index in range(NUM_DOCUMENTS)]
    return ArlowTokenizer.train_from_iterator(texts, vocab_size=300)


def document_ids(tokenizer, blocks) -> set[int]:
    # Blocks are decoded one by one: a word cut at a block boundary loses its "w" or its "x" and is not counted.
    text = "|".join(tokenizer.decode(block) for block in blocks)
    return {int(match) for match in re.findall(r"w(\d+)x\d", text)}


def test_packing_concatenates_documents_with_end_of_text(tokenizer):
    documents = synthetic_documents()
    stream = PackedTokenStream(documents, tokenizer, block_size=16, shuffle_buffer_size=0, repeat=False)
    blocks = list(stream.iter_shard(0, 1))
    expected = []
    for text in documents:
        expected += tokenizer(text, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    assert all(len(block) == 16 for block in blocks)
    assert len(blocks) == len(expected) // 16
    assert list(itertools.chain.from_iterable(blocks)) == expected[: len(blocks) * 16]
    assert Counter(itertools.chain.from_iterable(blocks))[tokenizer.eos_token_id] >= NUM_DOCUMENTS - 1


def test_examples_are_input_ids_and_labels(tokenizer):
    stream = PackedTokenStream(synthetic_documents(), tokenizer, block_size=16, shuffle_buffer_size=0)
    example = next(iter(stream))
    assert set(example) == {"input_ids", "labels"}
    assert example["input_ids"].shape == (16,) and example["input_ids"].dtype == torch.long
    torch.testing.assert_close(example["input_ids"], example["labels"])


def test_document_shards_partition_the_stream():
    for source in (synthetic_documents(), embedded_documents("validation")):
        everything = list(source)
        shards = [list(source.iter_shard(index, 3)) for index in range(3)]
        assert sorted(itertools.chain.from_iterable(shards)) == sorted(everything)
        assert sum(len(shard) for shard in shards) == len(everything)


def read_rank(stream: PackedTokenStream, num_workers: int, num_batches: int) -> list[list[int]]:
    loader = DataLoader(stream, batch_size=2, num_workers=num_workers)
    return [row.tolist() for batch in itertools.islice(loader, num_batches) for row in batch["input_ids"]]


def test_processes_and_workers_read_disjoint_documents(tokenizer):
    # One pass, no shuffling: 2 processes x 2 workers = 4 readers, every document read by exactly one of them.
    ranks = []
    for rank in range(2):
        stream = PackedTokenStream(
            synthetic_documents(),
            tokenizer,
            8,
            shuffle_buffer_size=0,
            process_index=rank,
            num_processes=2,
            repeat=False,
        )
        ranks.append(read_rank(stream, num_workers=2, num_batches=1000))
    seen = [document_ids(tokenizer, blocks) for blocks in ranks]
    assert seen[0] and seen[1]
    assert not seen[0] & seen[1]
    assert not {tuple(block) for block in ranks[0]} & {tuple(block) for block in ranks[1]}
    # Only the last partial block of each reader is dropped, so nearly every document is read.
    assert len(seen[0] | seen[1]) >= NUM_DOCUMENTS - 4


def test_shuffle_buffer_reorders_one_pass_without_loss(tokenizer):
    plain = PackedTokenStream(synthetic_documents(), tokenizer, 8, shuffle_buffer_size=0, repeat=False)
    shuffled = PackedTokenStream(synthetic_documents(), tokenizer, 8, shuffle_buffer_size=10, seed=3, repeat=False)
    plain_blocks, shuffled_blocks = list(plain.iter_shard(0, 1)), list(shuffled.iter_shard(0, 1))
    assert sorted(plain_blocks) == sorted(shuffled_blocks)
    assert plain_blocks != shuffled_blocks
    again = PackedTokenStream(synthetic_documents(), tokenizer, 8, shuffle_buffer_size=10, seed=3, repeat=False)
    assert list(again.iter_shard(0, 1)) == shuffled_blocks


def test_repeating_stream_starts_a_reshuffled_pass(tokenizer):
    stream = PackedTokenStream(synthetic_documents(), tokenizer, 8, shuffle_buffer_size=10, seed=3)
    one_pass = len(list(PackedTokenStream(synthetic_documents(), tokenizer, 8, repeat=False).iter_shard(0, 1)))
    blocks = list(itertools.islice(stream.iter_shard(0, 1), 3 * one_pass))
    assert len(blocks) == 3 * one_pass
    assert blocks[:one_pass] != blocks[one_pass : 2 * one_pass]


@pytest.mark.parametrize("num_workers", [0, 2])
def test_resume_continues_exactly_where_the_stream_stopped(tokenizer, num_workers):
    def stream():
        return PackedTokenStream(
            synthetic_documents(), tokenizer, 8, shuffle_buffer_size=10, seed=5, process_index=1, num_processes=2
        )

    batch_size, consumed, more = 2, 5, 6
    uninterrupted = DataLoader(stream(), batch_size=batch_size, num_workers=num_workers)
    expected = [batch["input_ids"] for batch in itertools.islice(uninterrupted, consumed + more)]

    resumed_stream = stream()
    resumed_stream.load_state_dict(PackedTokenStream.state_dict_after(consumed, batch_size))
    resumed = DataLoader(resumed_stream, batch_size=batch_size, num_workers=num_workers)
    actual = [batch["input_ids"] for batch in itertools.islice(resumed, more)]
    for expected_batch, actual_batch in zip(expected[consumed:], actual, strict=True):
        torch.testing.assert_close(actual_batch, expected_batch, rtol=0, atol=0)


def test_a_reader_without_documents_is_an_error(tokenizer):
    stream = PackedTokenStream(synthetic_documents(2), tokenizer, 8, process_index=2, num_processes=3)
    with pytest.raises(ValueError, match="holds no documents"):
        next(iter(stream))


def test_eval_blocks_are_fixed_and_bounded(tokenizer):
    blocks = build_eval_blocks(synthetic_documents(), tokenizer, block_size=8, max_blocks=5)
    assert len(blocks) == 5
    assert (
        blocks[0]["input_ids"].tolist()
        == build_eval_blocks(synthetic_documents(), tokenizer, 8, 5)[0]["input_ids"].tolist()
    )
    with pytest.raises(ValueError, match="fewer than block_size=4096 tokens"):
        build_eval_blocks(synthetic_documents(1), tokenizer, block_size=4096, max_blocks=5)


def test_embedded_default_splits_the_standard_library():
    files = python_stdlib_source_files()
    assert len(files) > 100
    assert not any("site-packages" in path.parts for path in files)
    train, validation = load_document_sources()
    held_out = validation.first_documents(5)
    assert len(held_out) == 5
    assert all(is_held_out(text, 5) for text in held_out)
    assert not any(is_held_out(text, 5) for text in train.first_documents(20))


@pytest.mark.parametrize("suffix", [".txt", ".jsonl"])
def test_local_files_stream_with_a_held_out_part(tmp_path, suffix):
    texts = [synthetic_text(index) for index in range(200)]
    path = tmp_path / f"corpus{suffix}"
    if suffix == ".txt":
        path.write_text("\n\n".join(texts) + "\n", encoding="utf-8")
    else:
        path.write_text("".join(json.dumps({"text": text}) + "\n" for text in texts), encoding="utf-8")
    train, validation = load_document_sources(train_file=str(path), validation_split_percentage=10)
    train_texts, validation_texts = [text.strip() for text in train], [text.strip() for text in validation]
    assert sorted(train_texts + validation_texts) == sorted(texts)
    assert validation_texts and not set(train_texts) & set(validation_texts)
    assert sorted(itertools.chain(train.iter_shard(0, 2), train.iter_shard(1, 2))) == sorted(train)


def test_missing_column_and_bad_extension_are_clear_errors(tmp_path):
    path = tmp_path / "corpus.jsonl"
    path.write_text(json.dumps({"content": "hello"}) + "\n", encoding="utf-8")
    train, _ = load_document_sources(train_file=str(path))
    with pytest.raises(ValueError, match="has no column 'text'"):
        list(train)
    (tmp_path / "corpus.csv").write_text("text\nhello\n", encoding="utf-8")
    with pytest.raises(ValueError, match="unsupported extension '.csv'"):
        load_document_sources(train_file=str(tmp_path / "corpus.csv"))
