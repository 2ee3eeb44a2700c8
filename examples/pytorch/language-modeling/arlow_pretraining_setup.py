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
What the two Arlow pretraining scripts share besides the data: argument groups (in the style of `run_clm.py`) and
their parsing, model presets, the checks that run before any training, building the config, tokenizer and model,
freezing the cross-attention weights that text-only data cannot train, and graceful interruption.
"""

import ast
import logging
import os
import signal
import sys
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

from arlow_pretraining_data import TextSource, build_eval_blocks, load_text_sources, packed_blocks

from transformers import (
    ArlowConfig,
    ArlowTokenizer,
    AutoModelForCausalLM,
    AutoTokenizer,
    HfArgumentParser,
    TrainingArguments,
)
from transformers.trainer_utils import get_last_checkpoint
from transformers.utils import is_flash_attn_2_available


logger = logging.getLogger(__name__)

# Named model sizes: ArlowConfig keyword arguments on top of ArlowConfig's own defaults.
MODEL_PRESETS: dict[str, dict] = {
    # The seed's configuration, unchanged: every field at ArlowConfig's default. 3.275B parameters with the 131072
    # vocabulary and tied embeddings, of which 0.595B are the cross-attention layers (2.680B without them; counted
    # on the meta device). Meant for multi-GPU runs with FSDP2 and flash attention.
    "arlow-3b": {},
    # Trains in a few minutes on 2 CPU cores (`make demo`). Without an encoder side in the data, cross-attention
    # layers would only be weights that never receive a gradient, so the demo model is built without them.
    "arlow-demo": {
        "vocab_size": 2048,
        "hidden_size": 128,
        "intermediate_size": 384,
        "num_hidden_layers": 4,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "max_position_embeddings": 256,
        "attention_dropout": 0.0,
        "cross_attention": False,
    },
    # For tests: a few hundred thousand parameters, seconds per run.
    "arlow-tiny": {
        "vocab_size": 512,
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "max_position_embeddings": 64,
        "attention_dropout": 0.0,
        "cross_attention": False,
    },
}
# Old preset names: still accepted, with a warning naming the new one.
RENAMED_PRESETS = {"arlow-2.3b": "arlow-3b"}  # the seed's configuration has 3.275B parameters, not 2.3B
DEFAULT_BLOCK_SIZE = 1024
SUPPORTED_ATTN_IMPLEMENTATIONS = ("eager", "sdpa", "flash_attention_2", "flash_attention_3", "flex_attention")


@dataclass
class ModelArguments:
    """Which model to pretrain from scratch, and the tokenizer it uses."""

    model_preset: str = field(
        default="arlow-demo",
        metadata={"help": f"Named model size to train from scratch, one of {sorted(MODEL_PRESETS)}."},
    )
    config_overrides: str | None = field(
        default=None,
        metadata={
            "help": "Override preset fields, e.g. `num_hidden_layers=2,hidden_size=256,cross_attention=false`. "
            "Values are parsed with the type of the field's default."
        },
    )
    tokenizer_name: str | None = field(
        default=None,
        metadata={"help": "Path or Hub name of an existing tokenizer. Without it, one is trained on the data."},
    )
    tokenizer_vocab_size: int | None = field(
        default=None, metadata={"help": "Vocabulary size of a tokenizer trained here (default: the preset's)."}
    )
    tokenizer_train_documents: int = field(
        default=2000, metadata={"help": "How many documents from the start of the stream train the tokenizer."}
    )
    attn_implementation: str | None = field(
        default=None,
        metadata={
            "help": "Attention backend: flash_attention_2 when flash-attn is installed with a GPU, else sdpa.",
            "choices": SUPPORTED_ATTN_IMPLEMENTATIONS,
        },
    )


@dataclass
class DataTrainingArguments:
    """What data to train and evaluate on. With no dataset and no file, the embedded default corpus is used."""

    dataset_name: str | None = field(default=None, metadata={"help": "Hub dataset name, streamed."})
    dataset_config_name: str | None = field(default=None, metadata={"help": "Configuration of the Hub dataset."})
    train_file: str | None = field(
        default=None, metadata={"help": "Local training data: txt, json, jsonl or parquet."}
    )
    validation_file: str | None = field(default=None, metadata={"help": "Local evaluation data, same format."})
    text_column_name: str = field(default="text", metadata={"help": "Column holding the text (json/parquet/Hub)."})
    validation_split_percentage: int = field(
        default=5,
        metadata={"help": "Percentage of documents held out for evaluation when there is no validation set."},
    )
    block_size: int | None = field(
        default=None,
        metadata={
            "help": f"Tokens per training sequence (default: min({DEFAULT_BLOCK_SIZE}, max_position_embeddings))."
        },
    )
    shuffle_buffer_size: int = field(default=1000, metadata={"help": "Blocks held by the streaming shuffle buffer."})
    max_eval_samples: int = field(default=64, metadata={"help": "Number of held-out blocks used for evaluation."})
    trust_remote_code: bool = field(default=False, metadata={"help": "Allow Hub datasets that run their own code."})


def parse_config_overrides(config_overrides: str | None) -> dict:
    """Parses `key=value,key=value` into a dict, typing each value like ArlowConfig's default for that field."""
    if not config_overrides:
        return {}
    reference = ArlowConfig()
    overrides = {}
    for item in config_overrides.split(","):
        key, separator, raw_value = item.partition("=")
        key, raw_value = key.strip(), raw_value.strip()
        if not separator or not key:
            raise ValueError(f"--config_overrides: expected key=value, got {item!r}")
        if not hasattr(reference, key):
            raise ValueError(f"--config_overrides: ArlowConfig has no field {key!r}")
        default = getattr(reference, key)
        if isinstance(default, bool):
            if raw_value.lower() not in ("true", "false"):
                raise ValueError(f"--config_overrides: {key} takes true or false, got {raw_value!r}")
            overrides[key] = raw_value.lower() == "true"
        elif isinstance(default, (int, float, str)):
            try:
                overrides[key] = type(default)(raw_value)
            except ValueError:
                raise ValueError(
                    f"--config_overrides: {key}={raw_value!r} is not a {type(default).__name__}"
                ) from None
        else:
            try:
                overrides[key] = ast.literal_eval(raw_value)
            except (ValueError, SyntaxError):
                overrides[key] = raw_value
    return overrides


def build_config(model_args: ModelArguments) -> ArlowConfig:
    """The preset's config with the overrides applied (validated by ArlowConfig itself)."""
    if model_args.model_preset in RENAMED_PRESETS:
        new_name = RENAMED_PRESETS[model_args.model_preset]
        logger.warning(
            f"--model_preset {model_args.model_preset} is deprecated and will be removed: it is the seed's "
            f"configuration, 3.275B parameters, now named {new_name}; use --model_preset {new_name}"
        )
        model_args.model_preset = new_name
    if model_args.model_preset not in MODEL_PRESETS:
        raise ValueError(f"Unknown --model_preset {model_args.model_preset!r}; choose one of {sorted(MODEL_PRESETS)}")
    return ArlowConfig(
        **{**MODEL_PRESETS[model_args.model_preset], **parse_config_overrides(model_args.config_overrides)}
    )


def resolve_block_size(data_args: DataTrainingArguments, config: ArlowConfig) -> int:
    if data_args.block_size is None:
        return min(DEFAULT_BLOCK_SIZE, config.max_position_embeddings)
    if data_args.block_size < 2:
        raise ValueError(f"--block_size must be at least 2, got {data_args.block_size}")
    if data_args.block_size > config.max_position_embeddings:
        raise ValueError(
            f"--block_size {data_args.block_size} exceeds the model's max_position_embeddings "
            f"({config.max_position_embeddings}); lower --block_size or raise it with "
            f"--config_overrides max_position_embeddings={data_args.block_size}"
        )
    return data_args.block_size


def resolve_attn_implementation(requested: str | None) -> str:
    """flash_attention_2 when usable, else sdpa; an explicit flash request that cannot be served fails here."""
    if requested is None:
        return "flash_attention_2" if is_flash_attn_2_available() else "sdpa"
    if requested not in SUPPORTED_ATTN_IMPLEMENTATIONS:
        raise ValueError(
            f"Unknown --attn_implementation {requested!r}; choose one of {SUPPORTED_ATTN_IMPLEMENTATIONS}"
        )
    if requested == "flash_attention_2" and not is_flash_attn_2_available():
        raise ValueError(
            "--attn_implementation flash_attention_2 needs the flash-attn package (>= 2.3.3) and a CUDA GPU, "
            "and they are not available here; install flash-attn on a GPU machine or use --attn_implementation sdpa"
        )
    return requested


def resolve_checkpoint(resume_from_checkpoint: str | None, output_dir: str) -> str | None:
    """`--resume_from_checkpoint` as a folder; `latest` (or `true`) means the newest checkpoint in output_dir."""
    if resume_from_checkpoint is None:
        return None
    if resume_from_checkpoint.lower() in ("latest", "last", "true"):
        checkpoint = get_last_checkpoint(output_dir) if os.path.isdir(output_dir) else None
        if checkpoint is None:
            raise ValueError(f"--resume_from_checkpoint {resume_from_checkpoint}: no checkpoint in {output_dir!r}")
        return checkpoint
    if not os.path.isdir(resume_from_checkpoint):
        raise ValueError(f"--resume_from_checkpoint {resume_from_checkpoint!r} is not a checkpoint folder")
    return resume_from_checkpoint


def check_training_length(max_steps: int):
    if max_steps <= 0:
        raise ValueError("The data is streamed and has no length: set the length of training with --max_steps N")


def check_distributed_launch(world_size: int):
    """A multi-process launch that did not set up distributed training would train independent copies: refuse it."""
    launched = int(os.environ.get("WORLD_SIZE", "1"))
    if launched > 1 and world_size == 1:
        raise ValueError(
            f"Launched as {launched} processes, but training is not distributed (no GPU was found): "
            "on CPU pass --use_cpu to train with DDP over gloo"
        )


def check_not_empty(text: TextSource):
    if not text.first_documents(1):
        raise ValueError(f"The training data ({text.description}) holds no text")


def parse_arguments(argv: list[str] | None) -> tuple[ModelArguments, DataTrainingArguments, TrainingArguments]:
    """The three argument groups, from the command line or from a single JSON file."""
    parser = HfArgumentParser((ModelArguments, DataTrainingArguments, TrainingArguments))
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) == 1 and argv[0].endswith(".json"):
        return parser.parse_json_file(json_file=os.path.abspath(argv[0]))
    return parser.parse_args_into_dataclasses(args=argv)


@dataclass
class PretrainingRun:
    """What both scripts settle before they touch a model: every check that can fail has passed."""

    checkpoint: str | None
    attn_implementation: str
    config: ArlowConfig
    block_size: int
    train_text: TextSource
    eval_text: TextSource


def prepare_run(
    model_args: ModelArguments, data_args: DataTrainingArguments, args: TrainingArguments, trains: bool = True
) -> PretrainingRun:
    """Runs the checks shared by both scripts and opens the data; returns a [`PretrainingRun`]."""
    if trains:
        check_training_length(args.max_steps)
    checkpoint = resolve_checkpoint(args.resume_from_checkpoint, args.output_dir)
    attn_implementation = resolve_attn_implementation(model_args.attn_implementation)
    config = build_config(model_args)
    block_size = resolve_block_size(data_args, config)
    train_text, eval_text = load_text_sources(
        dataset_name=data_args.dataset_name,
        dataset_config_name=data_args.dataset_config_name,
        train_file=data_args.train_file,
        validation_file=data_args.validation_file,
        text_column_name=data_args.text_column_name,
        validation_split_percentage=data_args.validation_split_percentage,
        trust_remote_code=data_args.trust_remote_code,
    )
    check_not_empty(train_text)
    return PretrainingRun(checkpoint, attn_implementation, config, block_size, train_text, eval_text)


def training_stream(
    run: PretrainingRun, data_args: DataTrainingArguments, tokenizer, seed: int, process_index: int, num_processes: int
):
    """This process's endless stream of shuffled, packed training blocks (a `datasets.IterableDataset`)."""
    logger.info(f"Training data: {run.train_text.description}")
    return packed_blocks(
        run.train_text,
        tokenizer,
        run.block_size,
        shuffle_buffer_size=data_args.shuffle_buffer_size,
        seed=seed,
        process_index=process_index,
        num_processes=num_processes,
    )


def evaluation_blocks(run: PretrainingRun, data_args: DataTrainingArguments, tokenizer):
    """The fixed evaluation set: the first `max_eval_samples` packed blocks of the held-out documents."""
    blocks = build_eval_blocks(run.eval_text, tokenizer, run.block_size, data_args.max_eval_samples)
    logger.info(f"Evaluation data: {len(blocks)} blocks of {run.eval_text.description}")
    return blocks


def train_tokenizer(texts: list[str], vocab_size: int):
    """A byte-level BPE [`ArlowTokenizer`] with `vocab_size` tokens trained on `texts`."""
    return ArlowTokenizer().train_new_from_iterator(texts, vocab_size)


def load_or_train_tokenizer(model_args: ModelArguments, text: TextSource, checkpoint: str | None, config):
    """
    The tokenizer: `--tokenizer_name` if given; else the one saved with the checkpoint being resumed; else a new one
    trained on the first `tokenizer_train_documents` documents.
    """
    if model_args.tokenizer_name is not None:
        return AutoTokenizer.from_pretrained(model_args.tokenizer_name)
    if checkpoint is not None and (Path(checkpoint) / "tokenizer.json").is_file():
        return AutoTokenizer.from_pretrained(checkpoint)
    vocab_size = model_args.tokenizer_vocab_size or config.vocab_size
    texts = text.first_documents(model_args.tokenizer_train_documents)
    logger.info(f"Training a tokenizer with {vocab_size} tokens on {len(texts)} documents of {text.description}")
    return train_tokenizer(texts, vocab_size)


def shared_tokenizer(
    model_args: ModelArguments,
    run: PretrainingRun,
    output_dir: str,
    is_main_process: bool,
    main_process_first: AbstractContextManager,
):
    """
    The tokenizer of every process: the main process trains (or loads) it first and saves it in
    `output_dir/tokenizer`; the others then load that copy, so all processes use the very same vocabulary.
    """
    with main_process_first:
        tokenizer_dir = os.path.join(output_dir, "tokenizer")
        if not is_main_process and os.path.isfile(os.path.join(tokenizer_dir, "tokenizer.json")):
            model_args.tokenizer_name = tokenizer_dir
        tokenizer = load_or_train_tokenizer(model_args, run.train_text, run.checkpoint, run.config)
        if is_main_process:
            tokenizer.save_pretrained(tokenizer_dir)
    return tokenizer


def build_model(config: ArlowConfig, tokenizer, attn_implementation: str):
    """
    A freshly initialised causal LM whose vocabulary and special tokens match the tokenizer, with its cross-attention
    weights frozen (see [`freeze_cross_attention`]).
    """
    config.vocab_size = len(tokenizer)
    config.pad_token_id = tokenizer.pad_token_id
    config.bos_token_id = tokenizer.bos_token_id
    config.eos_token_id = tokenizer.eos_token_id
    model = AutoModelForCausalLM.from_config(config, attn_implementation=attn_implementation)
    freeze_cross_attention(model)
    return model


def freeze_cross_attention(model) -> int:
    """
    Pretraining text has no encoder side, so a model built with `cross_attention=True` skips its cross-attention
    blocks and no gradient ever reaches their weights. They are frozen (`requires_grad=False`): the optimizer does not
    hold them, DDP does not wait for their gradients, FSDP2 does not reduce them, and a checkpoint holds no optimizer
    state that could be missing for them. They are still saved, at their initial values. Returns how many parameters
    were frozen, and says so.
    """
    if not getattr(model.config, "cross_attention", False):
        return 0
    frozen = [parameter for name, parameter in model.named_parameters() if ".cross_attn" in name]
    for parameter in frozen:
        parameter.requires_grad_(False)
    count = sum(parameter.numel() for parameter in frozen)
    logger.warning(
        f"The model has cross-attention layers (cross_attention=True), but the pretraining data has no encoder side: "
        f"their {len(frozen)} tensors ({count:,} parameters) would receive no gradient, so they are frozen and stay "
        "at their initial values. Build the model with --config_overrides cross_attention=false to leave them out."
    )
    return count


class GracefulInterrupt:
    """
    Catches SIGINT and SIGTERM during training: the first signal asks the loop to save a checkpoint and stop at the
    end of the current optimizer step; a second SIGINT stops at once.
    """

    def __init__(self):
        self.signal_name: str | None = None
        self._previous = {}

    @property
    def requested(self) -> bool:
        return self.signal_name is not None

    def _handle(self, signum, frame):
        if self.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.signal_name = signal.Signals(signum).name
        logger.warning(f"{self.signal_name} received: saving a checkpoint after the current step, then stopping")

    def __enter__(self):
        for signum in (signal.SIGINT, signal.SIGTERM):
            self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc_info):
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        return False

    def requested_on_any_rank(self, device) -> bool:
        """
        Whether any process caught a signal. Processes may catch it at different steps, but they must all stop after
        the same one (a DDP step or a checkpoint waits for every rank), so the decision is all-reduced.
        """
        import torch

        if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
            return self.requested
        flag = torch.tensor([1.0 if self.requested else 0.0], device=device)
        torch.distributed.all_reduce(flag, op=torch.distributed.ReduceOp.MAX)
        if flag.item() > 0 and self.signal_name is None:
            self.signal_name = "SIGTERM"  # another rank was signalled; stop with it
        return flag.item() > 0

    @property
    def exit_code(self) -> int:
        """The conventional exit status of a process stopped by this signal (128 + its number)."""
        return 128 + signal.Signals[self.signal_name].value
