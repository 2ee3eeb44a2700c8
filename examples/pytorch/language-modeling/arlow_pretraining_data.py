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
Streaming data for pretraining, on 🤗 Datasets' streaming `IterableDataset` and torchdata's `StatefulDataLoader`:
text documents (a Hub dataset, local files, or the embedded default: this interpreter's standard library sources)
-> each process's shards (`split_dataset_by_node`) -> tokenized and packed into fixed-size blocks (`map`, the only
home-made step) -> shuffled (`shuffle`) -> endless (`repeat`). A `StatefulDataLoader` state restarts every reader at
its shard and position. README.md describes what a resume keeps and loses.
"""

import hashlib
import itertools
import json
import os
import signal
import sys
import sysconfig
import zlib
from dataclasses import dataclass
from pathlib import Path

import datasets
from datasets.distributed import split_dataset_by_node
from torchdata.stateful_dataloader import StatefulDataLoader

from transformers import default_data_collator


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
    """Whether a document is held out for evaluation: decided by a hash of its text, not by order or sharding."""
    return zlib.crc32(text.encode("utf-8", errors="replace")) % 100 < validation_split_percentage


def has_text(text: str | None) -> bool:
    """Empty and whitespace-only documents are skipped everywhere."""
    return bool(text) and not text.isspace()


@dataclass
class TextSource:
    """A streaming dataset of documents in a `text` column (its shards are what processes and workers split), named."""

    description: str
    dataset: datasets.IterableDataset

    def first_documents(self, count: int) -> list[str]:
        """The first `count` documents of the stream (fewer if the stream is shorter)."""
        try:
            return [example["text"] for example in self.dataset.take(count)]
        except KeyError as error:
            raise ValueError(f"{self.description} has no column {error.args[0]!r}; pass --text_column_name") from None


def _read_source_files(paths: list[str]):
    for path in paths:
        yield {"text": Path(path).read_text(encoding="utf-8", errors="replace")}


def _keep_split(example: dict, keep_held_out: bool, percentage: int) -> bool:
    return has_text(example["text"]) and is_held_out(example["text"], percentage) == keep_held_out


def _split(dataset, description: str, split: str, percentage: int) -> TextSource:
    """The train (`split="train"`) or held-out (`split="validation"`) part of `dataset`, chosen by content hash."""
    keep = {"keep_held_out": split == "validation", "percentage": percentage}
    return TextSource(description, dataset.filter(_keep_split, fn_kwargs=keep))


def embedded_text(split: str, validation_split_percentage: int = 5) -> TextSource:
    """The embedded default corpus: one document (and shard) per distinct standard-library file; `split` of it."""
    # Identical files (the standard library has a few, e.g. `__phello__`'s) are kept once: no document is read twice.
    files_by_content = {}
    for path in python_stdlib_source_files():
        files_by_content.setdefault(hashlib.sha256(path.read_bytes()).digest(), str(path))
    dataset = datasets.IterableDataset.from_generator(
        _read_source_files,
        features=datasets.Features({"text": datasets.Value("string")}),
        gen_kwargs={"paths": list(files_by_content.values())},
    )
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    description = f"the Python standard library's source files (embedded default), Python {version}, {split} split"
    return _split(dataset, description, split, validation_split_percentage)


def load_text_sources(
    dataset_name: str | None = None,
    dataset_config_name: str | None = None,
    train_file: str | None = None,
    validation_file: str | None = None,
    text_column_name: str = "text",
    validation_split_percentage: int = 5,
) -> tuple[TextSource, TextSource]:
    """
    The `(train, validation)` text sources (the embedded corpus without `dataset_name` and `train_file`); without a
    validation split or file, `validation_split_percentage` percent of the documents are held out by content hash.
    """
    if not 0 < validation_split_percentage < 100:
        raise ValueError(f"validation_split_percentage must be between 1 and 99, got {validation_split_percentage}")
    if dataset_name is not None and train_file is not None:
        raise ValueError("Pass either --dataset_name or --train_file, not both")
    if dataset_name is None and train_file is None:
        if validation_file is not None:
            raise ValueError("--validation_file needs --train_file")
        return tuple(embedded_text(split, validation_split_percentage) for split in ("train", "validation"))

    if dataset_name is not None:
        builder, builder_kwargs = dataset_name, {"name": dataset_config_name}
        split_names = list(datasets.get_dataset_split_names(dataset_name, dataset_config_name))
        if "train" not in split_names:
            raise ValueError(f"Dataset {dataset_name!r} has no 'train' split (splits: {split_names})")
        data_files, has_validation = None, "validation" in split_names
        description = f"dataset {dataset_name!r}" + (f" ({dataset_config_name})" if dataset_config_name else "")
    else:
        data_files = {"train": train_file, **({"validation": validation_file} if validation_file else {})}
        suffixes = {Path(path).suffix.lower() for path in data_files.values()}
        if not suffixes <= _LOCAL_FILE_BUILDERS.keys():
            raise ValueError(
                f"Data files {data_files}: unsupported extension, use one of {sorted(_LOCAL_FILE_BUILDERS)}"
            )
        builders = {_LOCAL_FILE_BUILDERS[suffix] for suffix in suffixes}
        if len(builders) > 1:
            raise ValueError("--train_file and --validation_file must have the same format")
        builder = builders.pop()
        # Plain text: one document per paragraph (blank-line separated), not per line.
        builder_kwargs = {"sample_by": "paragraph"} if builder == "text" else {}
        has_validation, description = validation_file is not None, f"file {train_file!r}"

    def open_split(split: str) -> datasets.IterableDataset:
        # datasets itself refuses a data file that does not exist (FileNotFoundError).
        files = None if data_files is None else {split: data_files[split]}
        dataset = datasets.load_dataset(builder, data_files=files, split=split, streaming=True, **builder_kwargs)
        try:
            dataset = dataset.select_columns([text_column_name])
        except ValueError:
            columns = sorted(dataset.column_names)
            raise ValueError(f"{description} has no column {text_column_name!r} (columns: {columns})") from None
        if text_column_name != "text":
            dataset = dataset.rename_column(text_column_name, "text")
        return dataset.filter(lambda example: has_text(example["text"]))

    if has_validation:
        validation = TextSource(f"{description}, validation split", open_split("validation"))
        return TextSource(description, open_split("train")), validation
    documents = open_split("train")
    return (
        _split(documents, f"{description}, train part", "train", validation_split_percentage),
        _split(documents, f"{description}, held-out part", "validation", validation_split_percentage),
    )


def pack_documents(batch: dict[str, list], tokenizer, block_size: int) -> dict[str, list[list[int]]]:
    """
    `map` function: tokenizes a batch of documents, closes each with the end-of-text token and cuts them into blocks of
    `block_size` tokens (the tail of the batch is dropped). The labels are the inputs: the model shifts them itself.
    """
    tokens = []
    for token_ids in tokenizer(batch["text"], add_special_tokens=False)["input_ids"]:
        tokens.extend(token_ids)
        tokens.append(tokenizer.eos_token_id)
    blocks = [tokens[start : start + block_size] for start in range(0, len(tokens) - block_size + 1, block_size)]
    return {"input_ids": blocks, "labels": blocks}


def packed_blocks(
    text: TextSource,
    tokenizer,
    block_size: int,
    shuffle_buffer_size: int = 1000,
    seed: int = 0,
    process_index: int = 0,
    num_processes: int = 1,
    repeat: bool = True,
    tokenize_batch_size: int = 64,
) -> datasets.IterableDataset:
    """One process's shards of `text` packed into blocks, shuffled (buffer 0 or 1: not) and, with `repeat`, endless."""
    if tokenizer.eos_token_id is None:
        raise ValueError("The tokenizer has no end-of-text (eos) token to separate documents with")
    dataset = text.dataset
    if num_processes > 1:
        # Before tokenizing: with whole shards per process, a process reads and tokenizes only its own documents.
        dataset = split_dataset_by_node(dataset, rank=process_index, world_size=num_processes)
    map_options = {"batched": True, "batch_size": tokenize_batch_size, "remove_columns": ["text"]}
    dataset = dataset.map(pack_documents, fn_kwargs={"tokenizer": tokenizer, "block_size": block_size}, **map_options)
    if shuffle_buffer_size > 1:
        # One shard read at a time, as without shuffling: interleaving several shards (datasets' default is 10) makes
        # the first batch wait for a tokenized batch of documents from each of them.
        dataset = dataset.shuffle(seed=seed, buffer_size=shuffle_buffer_size, max_buffer_input_shards=1)
    return dataset.repeat(None) if repeat else dataset


def _worker_ignores_interrupts(worker_id: int):
    """Leaves SIGINT to the main process, which saves a checkpoint before stopping."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def training_dataloader(dataset, batch_size: int, num_workers: int = 0, **kwargs) -> StatefulDataLoader:
    """A `StatefulDataLoader` (each worker's position in its `state_dict()`) over this process's own stream."""
    return StatefulDataLoader(
        dataset,
        batch_size=batch_size,
        collate_fn=default_data_collator,
        num_workers=num_workers,
        worker_init_fn=_worker_ignores_interrupts,
        drop_last=True,
        **kwargs,
    )


def save_data_state(checkpoint_dir: str, dataloader: StatefulDataLoader, process_index: int, num_processes: int):
    """Writes this process's stream position (`data_state-rank<r>.json`) into the checkpoint folder."""
    os.makedirs(checkpoint_dir, exist_ok=True)
    with open(os.path.join(checkpoint_dir, f"data_state-rank{process_index}.json"), "w", encoding="utf-8") as file:
        json.dump({"num_processes": num_processes, "dataloader": dataloader.state_dict()}, file)


def load_data_state(checkpoint_dir: str, dataloader: StatefulDataLoader, process_index: int, num_processes: int):
    """Restores this process's stream position from a checkpoint written by [`save_data_state`]."""
    path = os.path.join(checkpoint_dir, f"data_state-rank{process_index}.json")
    if not os.path.isfile(path):
        raise ValueError(
            f"{checkpoint_dir!r} holds no data stream position for process {process_index} "
            f"({os.path.basename(path)}): resume with the number of processes the checkpoint was written with"
        )
    with open(path, encoding="utf-8") as file:
        state = json.load(file)
    if state["num_processes"] != num_processes:
        raise ValueError(
            f"{checkpoint_dir!r} was written by {state['num_processes']} processes, this run has {num_processes}: "
            "each process resumes its own part of the data stream, so resume with the same number of processes"
        )
    dataloader.load_state_dict(state["dataloader"])


def build_eval_blocks(text: TextSource, tokenizer, block_size: int, max_blocks: int) -> datasets.Dataset:
    """The first `max_blocks` packed blocks of `text`, in order (no shuffling), as a map-style dataset."""
    stream = packed_blocks(text, tokenizer, block_size, shuffle_buffer_size=0, repeat=False)
    blocks = [example["input_ids"] for example in itertools.islice(stream, max_blocks)]
    if not blocks:
        raise ValueError(
            f"The evaluation data ({text.description}) holds fewer than block_size={block_size} tokens: "
            "no evaluation block can be built"
        )
    return datasets.Dataset.from_dict({"input_ids": blocks, "labels": blocks})
