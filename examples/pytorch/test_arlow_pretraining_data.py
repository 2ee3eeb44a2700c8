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
"""
Tests of the streaming pretraining data pipeline: packing, sharding across processes and workers, the endless stream,
resuming from a `StatefulDataLoader` state (nothing read twice with shuffling, at a cost that does not grow with the
steps done; the script tests prove the exact resume without shuffling), and the data sources.

Run as a script, it measures what resuming costs on the demo's data and settings (README.md quotes it):
`python test_arlow_pretraining_data.py [STEPS ...]` (default: 10 2000).
"""

import itertools
import json
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import datasets
import pytest
import torch


sys.path.insert(0, str(Path(__file__).resolve().parent / "language-modeling"))

from arlow_pretraining_data import (  # noqa: E402
    TextSource,
    build_eval_blocks,
    is_held_out,
    load_data_state,
    load_text_sources,
    pack_documents,
    packed_blocks,
    python_stdlib_source_files,
    save_data_state,
    training_dataloader,
)

from transformers import ArlowTokenizer  # noqa: E402


NUM_DOCUMENTS = 60
# How many documents the synthetic generator has produced in this process (readers with num_workers=0 only).
DOCUMENTS_READ = Counter()


def synthetic_text(index: int) -> str:
    return f"document {index} says " + " ".join(f"w{index}x{j}" for j in range(5 + index % 7))


def _generate_synthetic(indices: list[int]):
    for index in indices:
        DOCUMENTS_READ["documents"] += 1
        yield {"text": synthetic_text(index)}


def synthetic_text_source(count: int = NUM_DOCUMENTS) -> TextSource:
    """`count` documents, one shard each (datasets splits a list in `gen_kwargs` into shards), like the embedded corpus."""
    features = datasets.Features({"text": datasets.Value("string")})
    indices = {"indices": list(range(count))}
    return TextSource("synthetic", datasets.IterableDataset.from_generator(_generate_synthetic, features, indices))


@pytest.fixture(scope="module")
def tokenizer():
    return ArlowTokenizer().train_new_from_iterator([synthetic_text(index) for index in range(NUM_DOCUMENTS)], 300)


def document_ids(tokenizer, blocks) -> set[int]:
    # Blocks are decoded one by one: a word cut at a block boundary loses its "w" or its "x" and is not counted.
    text = "|".join(tokenizer.decode(block) for block in blocks)
    return {int(match) for match in re.findall(r"w(\d+)x\d", text)}


def read_blocks(dataset, num_workers: int = 0, limit: int | None = None) -> list[tuple]:
    loader = training_dataloader(dataset, batch_size=2, num_workers=num_workers)
    return [tuple(row.tolist()) for batch in itertools.islice(loader, limit) for row in batch["input_ids"]]


def test_packing_concatenates_documents_with_end_of_text_into_endless_blocks(tokenizer):
    texts = [synthetic_text(index) for index in range(10)]
    blocks = pack_documents({"text": texts}, tokenizer, block_size=16)["input_ids"]
    expected = []
    for text in texts:
        expected += tokenizer(text, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    assert all(len(block) == 16 for block in blocks) and len(blocks) == len(expected) // 16
    assert list(itertools.chain.from_iterable(blocks)) == expected[: len(blocks) * 16]
    # the dataloader's batches: input ids and labels, the same (the model shifts them); the stream repeats itself
    one_pass = read_blocks(packed_blocks(synthetic_text_source(), tokenizer, 8, shuffle_buffer_size=0, repeat=False))
    batch = next(iter(training_dataloader(packed_blocks(synthetic_text_source(), tokenizer, 8, 0), batch_size=2)))
    assert set(batch) == {"input_ids", "labels"} and batch["input_ids"].shape == (2, 8)
    torch.testing.assert_close(batch["input_ids"], batch["labels"])
    blocks = read_blocks(
        packed_blocks(synthetic_text_source(), tokenizer, 8, shuffle_buffer_size=0), limit=len(one_pass)
    )
    assert blocks == one_pass + one_pass  # `limit` counts batches of 2: two passes


def test_processes_and_workers_read_disjoint_documents(tokenizer):
    # One pass, no shuffling: 2 processes x 2 workers = 4 readers, every document read by exactly one of them.
    ranks = []
    for rank in range(2):
        stream = packed_blocks(
            synthetic_text_source(), tokenizer, 8, 0, 0, rank, 2, repeat=False, tokenize_batch_size=4
        )
        ranks.append(read_blocks(stream, num_workers=2))
    seen = [document_ids(tokenizer, blocks) for blocks in ranks]
    assert seen[0] and seen[1] and not seen[0] & seen[1] and not set(ranks[0]) & set(ranks[1])
    # Only the tail of each tokenized batch of documents is dropped, so nearly every document is read.
    assert len(seen[0] | seen[1]) >= NUM_DOCUMENTS - 8


@pytest.mark.parametrize("num_workers", [0, 2])
def test_shuffled_resume_reads_nothing_twice(tokenizer, num_workers, tmp_path):
    """
    datasets does not save the content of a shuffle buffer: the blocks it held at the checkpoint are not read in this
    pass (at most `buffer_size` per reader). No block, and no document, is read twice.
    """
    buffer_size = 10

    def loader():
        stream = packed_blocks(synthetic_text_source(), tokenizer, 8, buffer_size, 5, 1, 2, repeat=False)
        return training_dataloader(stream, batch_size=2, num_workers=num_workers)

    one_pass = read_blocks(loader().dataset, num_workers=num_workers)
    interrupted = loader()
    batches = iter(interrupted)
    before = [tuple(row.tolist()) for _ in range(5) for row in next(batches)["input_ids"]]
    save_data_state(str(tmp_path), interrupted, process_index=1, num_processes=2)
    resumed = loader()
    load_data_state(str(tmp_path), resumed, process_index=1, num_processes=2)
    after = [tuple(row.tolist()) for batch in resumed for row in batch["input_ids"]]
    assert len(before + after) == len(set(before + after)), "a block was read twice across the resume"
    assert not document_ids(tokenizer, before) & document_ids(tokenizer, after), "a document was read twice"
    readers = max(num_workers, 1)
    assert len(one_pass) - buffer_size * readers - 2 * readers <= len(before + after) < len(one_pass)


def test_resume_cost_does_not_grow_with_the_position(tokenizer, tmp_path):
    """Resuming reads at most the current shard's documents and one tokenized batch, not everything before it."""

    def loader():
        stream = packed_blocks(synthetic_text_source(), tokenizer, 8, shuffle_buffer_size=0, tokenize_batch_size=4)
        return training_dataloader(stream, batch_size=2)

    documents_read_to_resume = {}
    for consumed in (2, 80):
        interrupted = loader()
        batches = iter(interrupted)
        for _ in range(consumed):
            next(batches)
        save_data_state(str(tmp_path / str(consumed)), interrupted, 0, 1)
        resumed = loader()
        load_data_state(str(tmp_path / str(consumed)), resumed, 0, 1)
        DOCUMENTS_READ.clear()
        next(iter(resumed))
        documents_read_to_resume[consumed] = DOCUMENTS_READ["documents"]
    assert documents_read_to_resume[80] <= documents_read_to_resume[2] + 4, documents_read_to_resume
    assert documents_read_to_resume[80] <= 8, documents_read_to_resume
    # each process resumes its own part of the stream: the same number of processes only
    with pytest.raises(ValueError, match="written by 1 processes, this run has 2"):
        load_data_state(str(tmp_path / "2"), resumed, process_index=0, num_processes=2)
    with pytest.raises(ValueError, match="no data stream position for process 1"):
        load_data_state(str(tmp_path / "2"), resumed, process_index=1, num_processes=2)


def test_eval_blocks_are_fixed_and_bounded(tokenizer):
    blocks = build_eval_blocks(synthetic_text_source(), tokenizer, block_size=8, max_blocks=5)
    assert len(blocks) == 5 and blocks[0]["input_ids"] == blocks[0]["labels"]
    assert blocks[0]["input_ids"] == build_eval_blocks(synthetic_text_source(), tokenizer, 8, 5)[0]["input_ids"]
    with pytest.raises(ValueError, match="fewer than block_size=4096 tokens"):
        build_eval_blocks(synthetic_text_source(1), tokenizer, block_size=4096, max_blocks=5)


def test_embedded_default_splits_the_standard_library():
    files = python_stdlib_source_files()
    assert len(files) > 100 and not any("site-packages" in path.parts for path in files)
    train, validation = load_text_sources()
    # One shard per distinct file: processes and workers split the corpus by files.
    assert len(files) - 10 <= train.dataset.n_shards <= len(files)
    held_out = validation.first_documents(5)
    assert len(held_out) == 5 and all(is_held_out(text, 5) for text in held_out)
    assert not any(is_held_out(text, 5) for text in train.first_documents(20))


@pytest.mark.parametrize("suffix", [".txt", ".jsonl"])
def test_local_files_stream_with_a_held_out_part(tmp_path, suffix):
    texts = [synthetic_text(index) for index in range(200)]
    path = tmp_path / f"corpus{suffix}"
    if suffix == ".txt":
        path.write_text("\n\n".join(texts) + "\n", encoding="utf-8")
    else:
        path.write_text("".join(json.dumps({"text": text}) + "\n" for text in texts), encoding="utf-8")
    train, validation = load_text_sources(train_file=str(path), validation_split_percentage=10)
    train_texts = [text.strip() for text in train.first_documents(1000)]
    validation_texts = [text.strip() for text in validation.first_documents(1000)]
    assert sorted(train_texts + validation_texts) == sorted(texts)
    assert validation_texts and not set(train_texts) & set(validation_texts)


def test_missing_column_and_bad_extension_are_clear_errors(tmp_path):
    path = tmp_path / "corpus.jsonl"
    path.write_text(json.dumps({"content": "hello"}) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match="has no column 'text'"):
        load_text_sources(train_file=str(path))[0].first_documents(1)
    (tmp_path / "corpus.csv").write_text("text\nhello\n", encoding="utf-8")
    with pytest.raises(ValueError, match="unsupported extension"):
        load_text_sources(train_file=str(tmp_path / "corpus.csv"))


if __name__ == "__main__":
    # From building a dataloader to its first batch after `load_state_dict`, against reading the batches up to there.
    train_text, _ = load_text_sources()
    demo_tokenizer = ArlowTokenizer().train_new_from_iterator(train_text.first_documents(300), 2048)

    def demo_loader():
        return training_dataloader(packed_blocks(train_text, demo_tokenizer, 128, 500, seed=42), batch_size=16)

    for steps in [int(argument) for argument in sys.argv[1:]] or [10, 2000]:
        started, loader = time.perf_counter(), demo_loader()
        for _ in itertools.islice(loader, steps):
            pass
        reading = time.perf_counter() - started
        with tempfile.TemporaryDirectory() as checkpoint_dir:
            save_data_state(checkpoint_dir, loader, process_index=0, num_processes=1)
            started, resumed = time.perf_counter(), demo_loader()
            load_data_state(checkpoint_dir, resumed, process_index=0, num_processes=1)
            next(iter(resumed))
        print(
            f"step {steps}: reading {steps} batches took {reading:.2f}s, resuming {time.perf_counter() - started:.2f}s"
        )
