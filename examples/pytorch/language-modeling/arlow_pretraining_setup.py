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
What the two Arlow pretraining scripts share besides the data: argument groups (in the style of `run_clm.py`), model
presets, the checks that run before any training, the tokenizer, the model (its unused cross-attention frozen, the
chunked loss applied), FSDP2 sharding and graceful interruption.
"""

import logging
import os
import signal
import sys
from dataclasses import dataclass, field

import torch
from arlow_chunked_loss import apply_chunked_loss
from arlow_pretraining_data import TextSource, build_eval_blocks, load_text_sources, packed_blocks
from torch.distributed.device_mesh import init_device_mesh
from torch.distributed.fsdp import FSDPModule, MixedPrecisionPolicy, fully_shard

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

# The small presets: GQA (4 heads, 2 key/value heads), no dropout, no cross-attention (text has no encoder side).
_SMALL = {"num_attention_heads": 4, "num_key_value_heads": 2, "attention_dropout": 0.0, "cross_attention": False}
# Named model sizes: ArlowConfig keyword arguments on top of ArlowConfig's own defaults.
MODEL_PRESETS: dict[str, dict] = {
    # The seed's configuration, every field at ArlowConfig's default: 3.275B parameters with the 131072 vocabulary and
    # tied embeddings, 0.595B of them in the cross-attention layers. For multi-GPU runs with FSDP2 and flash attention.
    "arlow-3b": {},
    # Trains in a few minutes on 2 CPU cores (`make demo`).
    "arlow-demo": _SMALL
    | {"vocab_size": 2048, "hidden_size": 128, "intermediate_size": 384, "num_hidden_layers": 4}
    | {"max_position_embeddings": 256},
    # For tests: a few hundred thousand parameters, seconds per run.
    "arlow-tiny": _SMALL
    | {"vocab_size": 512, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2}
    | {"max_position_embeddings": 64},
}
DEFAULT_BLOCK_SIZE = 1024
# Backends whose kernels have no attention dropout: training with `attention_dropout > 0` fails at its first step.
NO_DROPOUT_ATTN_IMPLEMENTATIONS = ("flash_attention_3", "flex_attention")


@dataclass
class ModelArguments:
    """Which model to pretrain from scratch, and the tokenizer it uses."""

    model_preset: str = field(
        default="arlow-demo",
        metadata={"help": "Named model size to train from scratch.", "choices": list(MODEL_PRESETS)},
    )
    config_overrides: str | None = field(
        default=None,
        metadata={"help": "Override preset fields, e.g. `num_hidden_layers=2,hidden_size=256,cross_attention=false`."},
    )
    tokenizer_name: str | None = field(
        default=None,
        metadata={"help": "Path or Hub name of an existing tokenizer. Without it, one is trained on the data."},
    )
    tokenizer_train_documents: int = field(
        default=2000, metadata={"help": "How many documents from the start of the stream train the tokenizer."}
    )
    attn_implementation: str | None = field(
        default=None,
        metadata={
            "help": "Attention backend: flash_attention_2 when flash-attn is installed with a GPU, else sdpa.",
            "choices": ("eager", "sdpa", "flash_attention_2", "flash_attention_3", "flex_attention"),
        },
    )


@dataclass
class DataTrainingArguments:
    """What data to train and evaluate on. With no dataset and no file, the embedded default corpus is used."""

    dataset_name: str | None = field(default=None, metadata={"help": "Hub dataset name, streamed."})
    dataset_config_name: str | None = field(default=None, metadata={"help": "Configuration of the Hub dataset."})
    train_file: str | None = field(default=None, metadata={"help": "Local training data: txt, json, jsonl, parquet."})
    validation_file: str | None = field(default=None, metadata={"help": "Local evaluation data, same format."})
    text_column_name: str = field(default="text", metadata={"help": "Column holding the text (json/parquet/Hub)."})
    validation_split_percentage: int = field(
        default=5,
        metadata={"help": "Percentage of documents held out for evaluation when there is no validation set."},
    )
    block_size: int | None = field(
        default=None,
        metadata={"help": f"Tokens per sequence (default: min({DEFAULT_BLOCK_SIZE}, max_position_embeddings))."},
    )
    shuffle_buffer_size: int = field(default=1000, metadata={"help": "Blocks held by the streaming shuffle buffer."})
    max_eval_samples: int = field(default=64, metadata={"help": "Number of held-out blocks used for evaluation."})


@dataclass
class PretrainingArguments(TrainingArguments):
    """[`TrainingArguments`] and how often the processes agree on stopping after a SIGINT/SIGTERM."""

    interrupt_check_steps: int = field(
        default=10,
        metadata={
            "help": "After SIGINT/SIGTERM, save a checkpoint and stop at the next optimizer step that is a multiple "
            "of this. Each check synchronises the processes (an all-reduce and a host-device sync)."
        },
    )


def parse_arguments(argv: list[str] | None) -> tuple[ModelArguments, DataTrainingArguments, PretrainingArguments]:
    """The three argument groups, from the command line or from a single JSON file."""
    parser = HfArgumentParser((ModelArguments, DataTrainingArguments, PretrainingArguments))
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) == 1 and argv[0].endswith(".json"):
        return parser.parse_json_file(json_file=os.path.abspath(argv[0]))
    return parser.parse_args_into_dataclasses(args=argv)


def build_config(model_args: ModelArguments) -> ArlowConfig:
    """The preset's config with `--config_overrides` applied (typed and validated by ArlowConfig itself)."""
    fields = dict(MODEL_PRESETS[model_args.model_preset])
    if model_args.config_overrides:
        # `update_from_string` types each value like the field and rejects unknown fields; the config is then built
        # again from the changed fields, so that the derived ones (head_dim, ...) follow them.
        parsed = ArlowConfig()
        try:
            parsed.update_from_string(model_args.config_overrides)
        except (ValueError, TypeError) as error:
            raise ValueError(f"--config_overrides {model_args.config_overrides!r}: {error}") from None
        keys = [item.split("=")[0] for item in model_args.config_overrides.split(",")]
        fields |= {key: getattr(parsed, key) for key in keys}
    return ArlowConfig(**fields)


@dataclass
class PretrainingRun:
    """What both scripts settle before they touch a model: every check that can fail has passed."""

    checkpoint: str | None
    attn_implementation: str
    config: ArlowConfig
    block_size: int
    train_text: TextSource
    eval_text: TextSource
    data_args: DataTrainingArguments

    def training_stream(self, tokenizer, seed: int, process_index: int, num_processes: int):
        """This process's endless stream of shuffled, packed training blocks (a `datasets.IterableDataset`)."""
        logger.info(f"Training data: {self.train_text.description}")
        buffer = self.data_args.shuffle_buffer_size
        return packed_blocks(self.train_text, tokenizer, self.block_size, buffer, seed, process_index, num_processes)

    def evaluation_blocks(self, tokenizer):
        """The fixed evaluation set: the first `max_eval_samples` packed blocks of the held-out documents."""
        blocks = build_eval_blocks(self.eval_text, tokenizer, self.block_size, self.data_args.max_eval_samples)
        logger.info(f"Evaluation data: {len(blocks)} blocks of {self.eval_text.description}")
        return blocks


def prepare_run(model_args, data_args, args: PretrainingArguments, world_size: int, trains: bool = True):
    """Runs the checks both scripts share (`world_size`: the processes training together) and opens the data."""
    launched = int(os.environ.get("WORLD_SIZE", "1"))
    if launched > 1 and world_size == 1:
        # A multi-process launch that did not set up distributed training would train independent copies.
        raise ValueError(
            f"Launched as {launched} processes, but training is not distributed (no GPU was found): "
            "on CPU pass --use_cpu to train with DDP over gloo"
        )
    if trains and args.max_steps <= 0:
        raise ValueError("The data is streamed and has no length: set the length of training with --max_steps N")
    if args.interrupt_check_steps < 1:
        raise ValueError(f"--interrupt_check_steps must be at least 1, got {args.interrupt_check_steps}")
    checkpoint = args.resume_from_checkpoint
    if checkpoint is not None and checkpoint.lower() in ("latest", "true"):
        checkpoint = get_last_checkpoint(args.output_dir) if os.path.isdir(args.output_dir) else None
        if checkpoint is None:
            raise ValueError(f"--resume_from_checkpoint latest: no checkpoint in {args.output_dir!r}")
    elif checkpoint is not None and not os.path.isdir(checkpoint):
        raise ValueError(f"--resume_from_checkpoint {checkpoint!r} is not a checkpoint folder")
    # flash_attention_2 when usable, else sdpa; transformers refuses a backend that cannot run here when building.
    attn_implementation = model_args.attn_implementation
    if attn_implementation is None:
        attn_implementation = "flash_attention_2" if is_flash_attn_2_available() else "sdpa"
    config = build_config(model_args)
    if trains and config.attention_dropout > 0 and attn_implementation in NO_DROPOUT_ATTN_IMPLEMENTATIONS:
        raise ValueError(
            f"--attn_implementation {attn_implementation} has no attention dropout, but the model's attention_dropout "
            f"is {config.attention_dropout} (ArlowConfig's default, kept by the {model_args.model_preset} preset): "
            "training would fail at its first step. Pass --config_overrides attention_dropout=0.0, or use "
            "--attn_implementation sdpa or flash_attention_2, which apply the dropout"
        )
    block_size = data_args.block_size or min(DEFAULT_BLOCK_SIZE, config.max_position_embeddings)
    if not 2 <= block_size <= config.max_position_embeddings:
        raise ValueError(
            f"--block_size {block_size} must be at least 2 and at most the model's max_position_embeddings "
            f"({config.max_position_embeddings}); change --block_size, or max_position_embeddings with "
            f"--config_overrides max_position_embeddings={block_size}"
        )
    sources = ("dataset_name", "dataset_config_name", "train_file", "validation_file", "text_column_name")
    sources += ("validation_split_percentage",)
    train_text, eval_text = load_text_sources(**{name: getattr(data_args, name) for name in sources})
    if not train_text.first_documents(1):
        raise ValueError(f"The training data ({train_text.description}) holds no text")
    return PretrainingRun(checkpoint, attn_implementation, config, block_size, train_text, eval_text, data_args)


def shared_tokenizer(model_args: ModelArguments, run: PretrainingRun, output_dir: str, is_main_process: bool):
    """
    The same tokenizer in every process (call it with the main process first): `--tokenizer_name`, else the resumed
    checkpoint's, else an [`ArlowTokenizer`] the main process trains on the first `--tokenizer_train_documents`
    documents and saves in `output_dir/tokenizer`, where the other processes load it.
    """
    tokenizer_dir = os.path.join(output_dir, "tokenizer")
    source = model_args.tokenizer_name
    if source is None and run.checkpoint and os.path.isfile(os.path.join(run.checkpoint, "tokenizer.json")):
        source = run.checkpoint
    if source is None and not is_main_process:
        source = tokenizer_dir
    if source is not None:
        tokenizer = AutoTokenizer.from_pretrained(source)
    else:
        texts = run.train_text.first_documents(model_args.tokenizer_train_documents)
        logger.info(
            f"Training a {run.config.vocab_size}-token tokenizer on {len(texts)} documents of the training data"
        )
        tokenizer = ArlowTokenizer().train_new_from_iterator(texts, run.config.vocab_size)
    if is_main_process:
        tokenizer.save_pretrained(tokenizer_dir)
    return tokenizer


def build_model(config: ArlowConfig, tokenizer, attn_implementation: str, device: str = "cpu"):
    """
    A freshly initialised causal LM whose vocabulary and special tokens follow the tokenizer, with the chunked loss
    applied (`skip_logits=True`), and its cross-attention frozen: pretraining text has no encoder side, so no gradient
    would ever reach it (README.md says why that matters). On the meta device nothing is allocated ([`shard_model`]
    then materialises each process's shards).
    """
    config.vocab_size = len(tokenizer)
    config.pad_token_id = tokenizer.pad_token_id
    config.bos_token_id = tokenizer.bos_token_id
    config.eos_token_id = tokenizer.eos_token_id
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(config, attn_implementation=attn_implementation)
    frozen = [parameter.requires_grad_(False) for name, parameter in model.named_parameters() if ".cross_attn" in name]
    if frozen:
        logger.warning(
            f"The model has cross-attention layers (cross_attention=True), but the pretraining data has no encoder "
            f"side: their {len(frozen)} tensors ({sum(p.numel() for p in frozen):,} parameters) would receive no "
            "gradient, so they are frozen and stay at their initial values. Build the model with --config_overrides "
            "cross_attention=false to leave them out."
        )
    return apply_chunked_loss(model)


def shard_model(model, device, mixed_precision: str = "no", seed: int | None = None) -> FSDPModule:
    """
    Applies FSDP2 in place: `fully_shard` on each decoder layer (the `_no_split_modules` classes), then on the root
    (embeddings, final norm, tied `lm_head`). A layer's cross-attention block is a unit of its own: pretraining skips
    it, so its frozen weights are never all-gathered. With `mixed_precision="bf16"` the layers compute in bfloat16,
    the sharded parameters, optimizer states and gradient reduction staying float32. With a `seed`, the model was built
    on the meta device: each process allocates its shards on `device` and initialises them with `_init_weights`, from
    its own generator seeded with `seed + rank` (on GPUs DTensor's own generator draws every shard of a tensor).
    """
    device = torch.device(device)
    mesh = init_device_mesh(device.type, (torch.distributed.get_world_size(),))
    policy = MixedPrecisionPolicy()
    if mixed_precision == "bf16":
        policy = MixedPrecisionPolicy(param_dtype=torch.bfloat16, reduce_dtype=torch.float32)
    layer_classes = set(model._no_split_modules or ())
    for layer in [module for module in model.modules() if type(module).__name__ in layer_classes]:
        if getattr(layer, "cross_attn", None) is not None:
            fully_shard(layer.cross_attn, mesh=mesh, mp_policy=policy)
        fully_shard(layer, mesh=mesh, mp_policy=policy)
    model = fully_shard(model, mesh=mesh, mp_policy=policy)
    if seed is not None:
        model.to_empty(device=device)
        rng_state = torch.get_rng_state()
        torch.manual_seed(seed + torch.distributed.get_rank())
        model.initialize_weights()
        torch.set_rng_state(rng_state)
    return model


class GracefulInterrupt:
    """
    Catches SIGINT and SIGTERM: the first asks the loop to save a checkpoint and stop at the next optimizer step that
    [`should_stop`] checks (every `check_every` steps); a second SIGINT stops at once.
    """

    def __init__(self, check_every: int = 1):
        self.check_every, self.signal_name, self.stopped, self._previous = check_every, None, False, {}

    def _handle(self, signum, frame):
        if self.signal_name is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.signal_name = signal.Signals(signum).name
        logger.warning(
            f"{self.signal_name} received: saving a checkpoint within {self.check_every} steps, then stopping"
        )

    def __enter__(self):
        self._previous = {signum: signal.signal(signum, self._handle) for signum in (signal.SIGINT, signal.SIGTERM)}
        return self

    def __exit__(self, *exc_info):
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def should_stop(self, step: int, device) -> bool:
        """Whether to stop after `step`; every `check_every` steps the processes agree on it (an all-reduce)."""
        if step % self.check_every:
            return False
        stop = self.signal_name is not None
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            flag = torch.tensor([float(stop)], device=device)
            torch.distributed.all_reduce(flag, op=torch.distributed.ReduceOp.MAX)
            stop = bool(flag.item())
            self.signal_name = self.signal_name or ("SIGTERM" if stop else None)  # another rank was signalled
        self.stopped = stop
        return stop

    @property
    def exit_code(self) -> int:
        """128 + the signal's number, the conventional exit status."""
        return 128 + signal.Signals[self.signal_name].value
