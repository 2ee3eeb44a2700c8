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
Streaming data for pretraining: text documents -> tokens -> fixed-size packed blocks.

The pipeline shared by `run_pretrain_arlow.py` (Trainer) and `run_pretrain_arlow_no_trainer.py` (plain loop):

1. A [`DocumentSource`] yields text documents: a Hub dataset or local txt/json/jsonl/parquet files read with
   `datasets.load_dataset(..., streaming=True)`, or, when no data is named, the embedded default: the source files of
   the Python standard library of the interpreter running the script (present on every machine with Python).
2. Documents are split into disjoint shards, one per (process, dataloader worker) pair, so no two ranks or workers
   ever read the same document.
3. Each shard tokenizes its documents on the fly (in batches, through the tokenizer's Rust backend), appends the
   end-of-text token after every document and cuts the token stream into blocks of exactly `block_size` tokens.
4. A seeded shuffle buffer mixes the blocks. The training stream repeats (a new shuffle order on every pass), so
   `max_steps` decides the length of training.

Everything is deterministic for a given seed, number of processes and number of workers, which is what makes
resuming exact: [`PackedTokenStream.load_state_dict`] fast-forwards each shard past the samples already consumed, so
a restarted run continues with the very next block, repeating and skipping nothing.
"""

import itertools
import random
import sys
import sysconfig
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.data import Dataset, IterableDataset, get_worker_info


EMBEDDED_DATASET_DESCRIPTION = "the Python standard library's source files (embedded default)"
# Folders of the standard library that are not library code (test suites hold deliberately odd files).
_STDLIB_EXCLUDED_FOLDERS = {"site-packages", "dist-packages", "test", "tests", "idle_test", "__pycache__"}
_LOCAL_FILE_BUILDERS = {".txt": "text", ".text": "text", ".json": "json", ".jsonl": "json", ".parquet": "parquet"}


def python_stdlib_source_files() -> list[Path]:
    """The `.py` files of this interpreter's standard library, sorted by path (a fixed, machine-local corpus)."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    files = [
        path
        for path in stdlib.rglob("*.py")
        if not _STDLIB_EXCLUDED_FOLDERS.intersection(path.relative_to(stdlib).parts[:-1])
    ]
    return sorted(files, key=lambda path: path.relative_to(stdlib).as_posix())


def is_held_out(text: str, validation_split_percentage: int) -> bool:
    """
    Whether a document belongs to the held-out evaluation split. The decision hashes the text itself, so it does not
    depend on the order of documents or on sharding, and exact duplicates always land on the same side.
    """
    return zlib.crc32(text.encode("utf-8", errors="replace")) % 100 < validation_split_percentage


@dataclass
class DocumentSource:
    """
    A re-iterable stream of text documents that can be read in disjoint shards.

    Args:
        description (`str`):
            Human-readable name of the data, used in logs and error messages.
        iter_shard (`Callable[[int, int], Iterable[str]]`):
            `iter_shard(index, num_shards)` yields the documents of shard `index` out of `num_shards`; the shards are
            disjoint and together hold every document exactly once.
    """

    description: str
    iter_shard: Callable[[int, int], Iterable[str]]

    def __iter__(self) -> Iterator[str]:
        yield from self.iter_shard(0, 1)

    def first_documents(self, count: int) -> list[str]:
        """The first `count` non-empty documents of the stream (fewer if the stream is shorter)."""
        return list(itertools.islice(filter(has_text, self), count))


def has_text(text: str | None) -> bool:
    """Empty and whitespace-only documents are skipped everywhere."""
    return bool(text) and not text.isspace()


def _keep_every_nth(documents: Iterable[str], index: int, num_shards: int) -> Iterator[str]:
    return itertools.islice(documents, index, None, num_shards)


def _split_filter(documents: Iterable[str], split: str, validation_split_percentage: int) -> Iterator[str]:
    keep_held_out = split == "validation"
    for text in documents:
        if has_text(text) and is_held_out(text, validation_split_percentage) == keep_held_out:
            yield text


def embedded_documents(split: str, validation_split_percentage: int = 5) -> DocumentSource:
    """
    The embedded default corpus: one document per standard-library source file. `split` is `"train"` or
    `"validation"`; the validation split holds about `validation_split_percentage` percent of the files.
    """
    files = python_stdlib_source_files()

    def iter_shard(index: int, num_shards: int) -> Iterator[str]:
        texts = (path.read_text(encoding="utf-8", errors="replace") for path in files)
        yield from _keep_every_nth(_split_filter(texts, split, validation_split_percentage), index, num_shards)

    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    return DocumentSource(f"{EMBEDDED_DATASET_DESCRIPTION}, Python {version}, {split} split", iter_shard)


def _hub_or_file_documents(
    dataset, description: str, text_column_name: str, split: str | None, validation_split_percentage: int
) -> DocumentSource:
    """Wraps a streaming `datasets.IterableDataset`; `split` filters held-out documents when it is not None."""

    def iter_texts(hf_dataset) -> Iterator[str]:
        # `.iter()` rather than `iter()`: inside a DataLoader worker, `datasets` would otherwise split the stream
        # between workers on its own, on top of the sharding done here.
        for batch in hf_dataset.iter(batch_size=256):
            if text_column_name not in batch:
                raise ValueError(
                    f"{description} has no column {text_column_name!r} (columns: {sorted(batch)}); "
                    "pass --text_column_name"
                )
            yield from filter(has_text, batch[text_column_name])

    def iter_shard(index: int, num_shards: int) -> Iterator[str]:
        if split is not None:
            # The held-out rule looks at every document, so the filter comes before sharding.
            texts = _split_filter(iter_texts(dataset), split, validation_split_percentage)
            yield from _keep_every_nth(texts, index, num_shards)
        elif num_shards > 1 and dataset.n_shards % num_shards == 0:
            # Whole files per shard: each shard opens only its own files.
            yield from iter_texts(dataset.shard(num_shards=num_shards, index=index))
        else:
            yield from _keep_every_nth(iter_texts(dataset), index, num_shards)

    return DocumentSource(description, iter_shard)


def load_document_sources(
    dataset_name: str | None = None,
    dataset_config_name: str | None = None,
    train_file: str | None = None,
    validation_file: str | None = None,
    text_column_name: str = "text",
    validation_split_percentage: int = 5,
    trust_remote_code: bool = False,
) -> tuple[DocumentSource, DocumentSource]:
    """
    Returns the `(train, validation)` document sources for the given data arguments.

    With neither `dataset_name` nor `train_file`, this is the embedded default corpus. A Hub dataset without a
    validation split, or a train file without a validation file, gives up `validation_split_percentage` percent of
    its documents (chosen by content hash) to the validation split.
    """
    if not 0 < validation_split_percentage < 100:
        raise ValueError(f"validation_split_percentage must be between 1 and 99, got {validation_split_percentage}")
    if dataset_name is not None and train_file is not None:
        raise ValueError("Pass either --dataset_name or --train_file, not both")
    if dataset_name is None and train_file is None:
        if validation_file is not None:
            raise ValueError("--validation_file needs --train_file")
        return (
            embedded_documents("train", validation_split_percentage),
            embedded_documents("validation", validation_split_percentage),
        )

    import datasets

    if dataset_name is not None:
        builder, builder_kwargs = dataset_name, {"name": dataset_config_name, "trust_remote_code": trust_remote_code}
        split_names = list(datasets.get_dataset_split_names(dataset_name, dataset_config_name))
        train_split = "train"
        validation_split = "validation" if "validation" in split_names else None
        if train_split not in split_names:
            raise ValueError(f"Dataset {dataset_name!r} has no 'train' split (splits: {split_names})")

        def open_split(split_name: str):
            return datasets.load_dataset(builder, split=split_name, streaming=True, **builder_kwargs)

        description = f"dataset {dataset_name!r}" + (f" ({dataset_config_name})" if dataset_config_name else "")
    else:
        data_files = {"train": train_file}
        if validation_file is not None:
            data_files["validation"] = validation_file
        builder = None
        for path in data_files.values():
            if not Path(path).is_file():
                raise FileNotFoundError(f"Data file {path!r} does not exist")
            suffix = Path(path).suffix.lower()
            if suffix not in _LOCAL_FILE_BUILDERS:
                raise ValueError(
                    f"Data file {path!r}: unsupported extension {suffix!r}, use one of {sorted(_LOCAL_FILE_BUILDERS)}"
                )
            if builder not in (None, _LOCAL_FILE_BUILDERS[suffix]):
                raise ValueError("--train_file and --validation_file must have the same format")
            builder = _LOCAL_FILE_BUILDERS[suffix]
        # Plain text: one document per paragraph (blank-line separated), not per line.
        builder_kwargs = {"sample_by": "paragraph"} if builder == "text" else {}
        validation_split = "validation" if validation_file is not None else None
        train_split = "train"

        def open_split(split_name: str):
            return datasets.load_dataset(
                builder,
                data_files={split_name: data_files[split_name]},
                split=split_name,
                streaming=True,
                **builder_kwargs,
            )

        description = f"file {train_file!r}"

    train_stream = open_split(train_split)
    if validation_split is not None:
        train = _hub_or_file_documents(train_stream, description, text_column_name, None, validation_split_percentage)
        validation = _hub_or_file_documents(
            open_split(validation_split),
            f"{description}, validation split",
            text_column_name,
            None,
            validation_split_percentage,
        )
    else:
        train = _hub_or_file_documents(
            train_stream, f"{description}, train part", text_column_name, "train", validation_split_percentage
        )
        validation = _hub_or_file_documents(
            train_stream,
            f"{description}, held-out part",
            text_column_name,
            "validation",
            validation_split_percentage,
        )
    return train, validation


def _tokenize_and_pack(
    documents: Iterable[str], tokenizer, block_size: int, end_of_text_id: int, tokenize_batch_size: int
) -> Iterator[list[int]]:
    """Tokenizes documents in batches, appends `end_of_text_id` after each one and cuts blocks of `block_size`."""
    pending: list[int] = []
    documents = iter(documents)
    while batch := list(itertools.islice(documents, tokenize_batch_size)):
        for token_ids in tokenizer(batch, add_special_tokens=False)["input_ids"]:
            pending.extend(token_ids)
            pending.append(end_of_text_id)
        full_blocks = len(pending) // block_size
        for start in range(0, full_blocks * block_size, block_size):
            yield pending[start : start + block_size]
        del pending[: full_blocks * block_size]


def _shuffled(blocks: Iterable[list[int]], buffer_size: int, rng: random.Random) -> Iterator[list[int]]:
    """Buffer shuffle: keep `buffer_size` blocks, emit a random one each time a new one arrives."""
    if buffer_size <= 1:
        yield from blocks
        return
    buffer: list[list[int]] = []
    for block in blocks:
        if len(buffer) < buffer_size:
            buffer.append(block)
            continue
        index = rng.randrange(buffer_size)
        yield buffer[index]
        buffer[index] = block
    rng.shuffle(buffer)
    yield from buffer


def _to_example(block: list[int]) -> dict[str, torch.Tensor]:
    input_ids = torch.tensor(block, dtype=torch.long)
    # The model shifts labels itself: labels are the inputs.
    return {"input_ids": input_ids, "labels": input_ids.clone()}


class PackedTokenStream(IterableDataset):
    """
    Streaming dataset of packed token blocks, sharded across processes and dataloader workers.

    Each (process, worker) pair reads its own disjoint shard of documents: shard `process_index * num_workers +
    worker_id` out of `num_processes * num_workers`. Examples are `{"input_ids", "labels"}` tensors of length
    `block_size`.

    Args:
        documents ([`DocumentSource`]): the documents to read.
        tokenizer: a tokenizer with an end-of-text (`eos_token_id`) token, called on batches of texts.
        block_size (`int`): tokens per example.
        shuffle_buffer_size (`int`, defaults to 1000): blocks held by the shuffle buffer; 0 or 1 disables shuffling.
        seed (`int`, defaults to 0): seed of the shuffle order.
        process_index (`int`, defaults to 0), num_processes (`int`, defaults to 1): this process's rank and the
            number of processes reading the data.
        repeat (`bool`, defaults to `True`): start a new pass (reshuffled) when the documents run out, so the stream
            never ends. With `False` the stream ends after one pass and the last partial block is dropped.
        tokenize_batch_size (`int`, defaults to 64): documents tokenized per call of the tokenizer.
    """

    def __init__(
        self,
        documents: DocumentSource,
        tokenizer,
        block_size: int,
        shuffle_buffer_size: int = 1000,
        seed: int = 0,
        process_index: int = 0,
        num_processes: int = 1,
        repeat: bool = True,
        tokenize_batch_size: int = 64,
    ):
        if block_size < 1:
            raise ValueError(f"block_size must be positive, got {block_size}")
        if not 0 <= process_index < num_processes:
            raise ValueError(f"process_index {process_index} is out of range for {num_processes} processes")
        if tokenizer.eos_token_id is None:
            raise ValueError("The tokenizer has no end-of-text (eos) token to separate documents with")
        self.documents = documents
        self.tokenizer = tokenizer
        self.block_size = block_size
        self.shuffle_buffer_size = shuffle_buffer_size
        self.seed = seed
        self.process_index = process_index
        self.num_processes = num_processes
        self.repeat = repeat
        self.tokenize_batch_size = tokenize_batch_size
        self._resume_batches = 0
        self._resume_batch_size = 0

    def iter_shard(self, shard_index: int, num_shards: int) -> Iterator[list[int]]:
        """The blocks of one shard, as token id lists, in the order this shard yields them."""
        # One random generator per shard, kept across passes, so every pass is shuffled differently.
        rng = random.Random(self.seed * 1_000_003 + shard_index)
        end_of_text_id = self.tokenizer.eos_token_id
        documents_in_pass = 0

        def documents() -> Iterator[str]:
            nonlocal documents_in_pass
            for pass_index in itertools.count():
                documents_in_pass = 0
                for text in self.documents.iter_shard(shard_index, num_shards):
                    documents_in_pass += 1
                    yield text
                if documents_in_pass == 0:
                    raise ValueError(
                        f"Shard {shard_index} of {num_shards} of {self.documents.description} holds no documents "
                        f"(pass {pass_index}): the data is too small for {num_shards} readers "
                        "(processes x dataloader workers); use fewer workers or more data"
                    )
                if not self.repeat:
                    return

        blocks = _tokenize_and_pack(
            documents(), self.tokenizer, self.block_size, end_of_text_id, self.tokenize_batch_size
        )
        yield from _shuffled(blocks, self.shuffle_buffer_size, rng)

    def load_state_dict(self, state_dict: dict[str, int]):
        """
        Resumes the stream after the batches this process already consumed. `state_dict` is what
        [`~PackedTokenStream.state_dict_after`] returned: `{"batches_consumed": n, "batch_size": b}`.

        The DataLoader takes batches from its workers in turn (batch `i` comes from worker `i % num_workers`), so
        each shard skips exactly the samples of the batches it produced before the interruption, and the shards are
        assigned to workers so that the rotation continues where it stopped. Resuming needs the same batch size,
        number of processes, number of workers and seed as the interrupted run.
        """
        self._resume_batches = int(state_dict["batches_consumed"])
        self._resume_batch_size = int(state_dict["batch_size"])

    @staticmethod
    def state_dict_after(batches_consumed: int, batch_size: int) -> dict[str, int]:
        """The stream position after `batches_consumed` batches of `batch_size` examples on this process."""
        return {"batches_consumed": batches_consumed, "batch_size": batch_size}

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        worker = get_worker_info()
        worker_id, num_workers = (worker.id, worker.num_workers) if worker is not None else (0, 1)
        # A resumed DataLoader asks worker 0 first, but the next batch belongs to the worker after the one that made
        # the last consumed batch: worker ids are rotated so each worker continues the shard that comes next.
        reader = (worker_id + self._resume_batches) % num_workers
        shard_index = self.process_index * num_workers + reader
        num_shards = self.num_processes * num_workers
        batches_of_this_worker = len(range(reader, self._resume_batches, num_workers))
        samples_to_skip = batches_of_this_worker * self._resume_batch_size
        blocks = itertools.islice(self.iter_shard(shard_index, num_shards), samples_to_skip, None)
        for block in blocks:
            yield _to_example(block)


class PackedBlocks(Dataset):
    """A fixed list of packed blocks (the evaluation set), as a map-style dataset of `{"input_ids", "labels"}`."""

    def __init__(self, blocks: list[list[int]]):
        self.blocks = blocks

    def __len__(self) -> int:
        return len(self.blocks)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return _to_example(self.blocks[index])


def build_eval_blocks(documents: DocumentSource, tokenizer, block_size: int, max_blocks: int) -> PackedBlocks:
    """The first `max_blocks` packed blocks of `documents`, in order (no shuffling), for evaluation."""
    stream = PackedTokenStream(documents, tokenizer, block_size, shuffle_buffer_size=0, repeat=False)
    blocks = list(itertools.islice(stream.iter_shard(0, 1), max_blocks))
    if not blocks:
        raise ValueError(
            f"The evaluation data ({documents.description}) holds fewer than block_size={block_size} tokens: "
            "no evaluation block can be built"
        )
    return PackedBlocks(blocks)


def worker_ignores_interrupts(worker_id: int):
    """DataLoader `worker_init_fn`: leave SIGINT to the main process, which saves a checkpoint before stopping."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
