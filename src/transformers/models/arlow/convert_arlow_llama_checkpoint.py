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
Converts checkpoints between Arlow and Llama, in both directions.

Without its cross-attention blocks, Arlow is the same network as Llama, with the same parameter names. `to-llama`
writes an Arlow causal-LM checkpoint as a Llama one (weights, `LlamaConfig`, generation config, and the tokenizer as
a generic `PreTrainedTokenizerFast` that any transformers loads with `AutoTokenizer`), so that tools which know Llama
can load, serve or quantize it. `from-llama` writes a Llama checkpoint as an Arlow one, optionally with freshly
initialized cross-attention blocks, to continue pretraining it as Arlow.

Usage:

```bash
python -m transformers.models.arlow.convert_arlow_llama_checkpoint to-llama \
    --input_dir path/to/arlow --output_dir path/to/arlow-as-llama [--drop_cross_attention]
python -m transformers.models.arlow.convert_arlow_llama_checkpoint from-llama \
    --input_dir path/to/llama --output_dir path/to/llama-as-arlow [--add_cross_attention]
```

The output directory is written under a temporary name next to it and renamed at the end, so a failed conversion
leaves nothing behind.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from transformers import (
    ArlowConfig,
    ArlowForCausalLM,
    AutoTokenizer,
    LlamaConfig,
    LlamaForCausalLM,
    PreTrainedConfig,
    PreTrainedTokenizerFast,
)
from transformers.utils import logging


logger = logging.get_logger(__name__)


# The configuration fields Arlow and Llama share, with the same meaning: the architecture, RoPE, norms, tying, ids.
SHARED_CONFIG_FIELDS = (
    "vocab_size",
    "hidden_size",
    "intermediate_size",
    "num_hidden_layers",
    "num_attention_heads",
    "num_key_value_heads",
    "head_dim",
    "hidden_act",
    "max_position_embeddings",
    "initializer_range",
    "rms_norm_eps",
    "rope_parameters",
    "tie_word_embeddings",
    "use_cache",
    "pad_token_id",
    "bos_token_id",
    "eos_token_id",
)

# The weights an Arlow decoder layer holds for its cross-attention block, which Llama has no place for.
CROSS_ATTENTION_WEIGHTS = (
    "cross_attn.q_proj.weight",
    "cross_attn.k_proj.weight",
    "cross_attn.v_proj.weight",
    "cross_attn.o_proj.weight",
    "cross_attn_layernorm.weight",
)

# A generic class every transformers release resolves, unlike the model-specific or v5-only tokenizer class names.
PORTABLE_TOKENIZER_CLASS = "PreTrainedTokenizerFast"


class CheckpointConversionError(ValueError):
    """The input cannot be converted; the message says why."""


def read_config_dict(input_dir: Path, expected_model_type: str) -> dict:
    """Reads `config.json` of a local checkpoint, checking that it is one and of the expected model type."""
    if not input_dir.is_dir():
        raise CheckpointConversionError(f"{input_dir} is not a directory: pass a local checkpoint directory.")
    config_file = input_dir / "config.json"
    if not config_file.is_file():
        raise CheckpointConversionError(
            f"{input_dir} is not a checkpoint: it has no config.json (expected the output of `save_pretrained`)."
        )
    try:
        config_dict, _ = PreTrainedConfig.get_config_dict(str(input_dir))
    except (OSError, ValueError) as error:
        raise CheckpointConversionError(f"{config_file} cannot be read as a model configuration: {error}") from error
    model_type = config_dict.get("model_type")
    if model_type != expected_model_type:
        raise CheckpointConversionError(
            f"{input_dir} holds a checkpoint of model type {model_type!r}, not {expected_model_type!r} "
            f"(architectures: {config_dict.get('architectures')})."
        )
    return config_dict


def cross_attention_summary(config: ArlowConfig) -> str:
    """Names the cross-attention tensors of an Arlow checkpoint and counts their parameters."""
    query_size = config.num_attention_heads * config.head_dim
    key_value_size = config.num_key_value_heads * config.head_dim
    per_layer = 2 * config.hidden_size * query_size + 2 * config.hidden_size * key_value_size + config.hidden_size
    names = ", ".join(f"model.layers.*.{name}" for name in CROSS_ATTENTION_WEIGHTS)
    count = len(CROSS_ATTENTION_WEIGHTS) * config.num_hidden_layers
    return (
        f"{count} tensors ({names}, in each of the {config.num_hidden_layers} layers), "
        f"{per_layer * config.num_hidden_layers:,} parameters"
    )


def llama_config_from_arlow(config: ArlowConfig) -> LlamaConfig:
    """The `LlamaConfig` of the same network as `config` without its cross-attention blocks."""
    fields = {name: getattr(config, name) for name in SHARED_CONFIG_FIELDS}
    # Arlow's projections and MLP have no biases
    return LlamaConfig(
        **fields,
        attention_bias=False,
        mlp_bias=False,
        attention_dropout=config.attention_dropout,
        dtype=config.dtype,
        architectures=["LlamaForCausalLM"],
    )


def arlow_config_from_llama(config: LlamaConfig, add_cross_attention: bool) -> ArlowConfig:
    """The `ArlowConfig` of the same network as `config`, with fresh cross-attention blocks if asked for."""
    unsupported = [name for name in ("attention_bias", "mlp_bias") if getattr(config, name, False)]
    if unsupported:
        raise CheckpointConversionError(
            f"The Llama checkpoint sets {', '.join(f'{name}=True' for name in unsupported)}: Arlow's projections "
            "have no biases, so it cannot hold this checkpoint."
        )
    fields = {name: getattr(config, name) for name in SHARED_CONFIG_FIELDS}
    return ArlowConfig(
        **fields,
        attention_dropout=config.attention_dropout or 0.0,
        cross_attention=add_cross_attention,
        dtype=config.dtype,
        architectures=["ArlowForCausalLM"],
    )


def load_weights(model_class, input_dir: Path, config: PreTrainedConfig, allowed_unexpected=(), allowed_missing=()):
    """
    Loads the checkpoint in `input_dir` into `model_class(config)` by parameter name, in the checkpoint's dtype.

    Raises when a weight has the wrong shape, when the model lacks a weight other than `allowed_missing` (which would
    otherwise be left at random initialization) or when the checkpoint has a weight other than `allowed_unexpected`.
    """
    try:
        model, info = model_class.from_pretrained(
            str(input_dir), config=config, dtype="auto", output_loading_info=True, ignore_mismatched_sizes=True
        )
    except OSError as error:
        raise CheckpointConversionError(f"{input_dir} has a config.json but its weights cannot be read: {error}")
    problems = []
    if info["mismatched_keys"]:
        shapes = sorted(
            f"{key} (checkpoint {list(saved)}, expected {list(expected)})"
            for key, saved, expected in info["mismatched_keys"]
        )
        problems.append(f"weights whose shapes do not match config.json: {', '.join(shapes)}")
    missing = sorted(key for key in info["missing_keys"] if not key.endswith(allowed_missing))
    if missing:
        problems.append(f"missing weights: {', '.join(missing)}")
    unexpected = sorted(key for key in info["unexpected_keys"] if not key.endswith(allowed_unexpected))
    if unexpected:
        problems.append(f"weights {model_class.__name__} has no place for: {', '.join(unexpected)}")
    if problems:
        raise CheckpointConversionError(f"{input_dir} cannot be converted, it has " + "; ".join(problems) + ".")
    return model


def save_portable_tokenizer(input_dir: Path, output_dir: Path) -> bool:
    """
    Saves the tokenizer of `input_dir` as a generic fast tokenizer that loads without Arlow's classes: the same
    `tokenizer.json` pipeline, special tokens, chat template and padding side. Returns whether there was one.
    """
    if not (input_dir / "tokenizer.json").is_file():
        return False
    tokenizer = AutoTokenizer.from_pretrained(str(input_dir))
    special_tokens = dict(tokenizer.special_tokens_map)
    if tokenizer.chat_template is not None:
        special_tokens["chat_template"] = tokenizer.chat_template
    portable = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer.backend_tokenizer,
        model_max_length=tokenizer.model_max_length,
        padding_side=tokenizer.padding_side,
        **special_tokens,
    )
    portable.save_pretrained(str(output_dir))
    # transformers 5 writes the backend's class name ("TokenizersBackend"); earlier releases only know the alias
    config_file = output_dir / "tokenizer_config.json"
    tokenizer_config = json.loads(config_file.read_text(encoding="utf-8"))
    tokenizer_config["tokenizer_class"] = PORTABLE_TOKENIZER_CLASS
    config_file.write_text(json.dumps(tokenizer_config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return True


# The files one of which a saved tokenizer has.
TOKENIZER_FILES = ("tokenizer_config.json", "tokenizer.json", "tokenizer.model")


def save_tokenizer(input_dir: Path, output_dir: Path) -> bool:
    """Saves the tokenizer of `input_dir`, if it has one, with its own class. Returns whether there was one."""
    if not any((input_dir / name).is_file() for name in TOKENIZER_FILES):
        return False
    AutoTokenizer.from_pretrained(str(input_dir)).save_pretrained(str(output_dir))
    return True


def write_atomically(output_dir: Path, write) -> None:
    """Calls `write(tmp_dir)` on a temporary directory next to `output_dir`, then renames it to `output_dir`."""
    if output_dir.exists() and (not output_dir.is_dir() or any(output_dir.iterdir())):
        raise CheckpointConversionError(
            f"{output_dir} already exists and is not an empty directory: choose a new path."
        )
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp_dir = Path(tempfile.mkdtemp(prefix=f".{output_dir.name}.partial-", dir=output_dir.parent))
    try:
        write(tmp_dir)
        if output_dir.exists():
            output_dir.rmdir()
        os.replace(tmp_dir, output_dir)
    except BaseException:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        raise


def convert_arlow_to_llama(
    input_dir: str | os.PathLike, output_dir: str | os.PathLike, drop_cross_attention: bool = False
):
    """
    Writes the Arlow causal-LM checkpoint in `input_dir` as a Llama checkpoint in `output_dir`.

    A checkpoint built with `cross_attention=True` is refused unless `drop_cross_attention` is set: Llama has no
    cross-attention, and the exported model computes what the Arlow model computes without `encoder_hidden_states`.
    """
    input_dir, output_dir = Path(input_dir), Path(output_dir)
    read_config_dict(input_dir, ArlowConfig.model_type)
    config = ArlowConfig.from_pretrained(str(input_dir))
    if config.cross_attention and not drop_cross_attention:
        raise CheckpointConversionError(
            f"{input_dir} has cross-attention blocks (cross_attention=True) and Llama has no place for them. "
            f"Exporting drops {cross_attention_summary(config)}; the Llama model then computes what the Arlow model "
            "computes without `encoder_hidden_states`. Pass --drop_cross_attention to export anyway."
        )
    model = load_weights(
        LlamaForCausalLM,
        input_dir,
        llama_config_from_arlow(config),
        allowed_unexpected=CROSS_ATTENTION_WEIGHTS if config.cross_attention else (),
    )

    if config.cross_attention:
        logger.warning(f"Leaving out the cross-attention blocks: {cross_attention_summary(config)}.")

    def write(tmp_dir: Path):
        model.save_pretrained(str(tmp_dir))
        if not save_portable_tokenizer(input_dir, tmp_dir):
            logger.warning(f"{input_dir} has no tokenizer.json: the Llama checkpoint is written without a tokenizer.")

    write_atomically(output_dir, write)
    return model


def convert_llama_to_arlow(
    input_dir: str | os.PathLike, output_dir: str | os.PathLike, add_cross_attention: bool = False
):
    """
    Writes the Llama causal-LM checkpoint in `input_dir` as an Arlow checkpoint in `output_dir`.

    With `add_cross_attention`, every layer gets a freshly initialized cross-attention block; without encoder states
    the model still computes what the Llama model computes.
    """
    input_dir, output_dir = Path(input_dir), Path(output_dir)
    read_config_dict(input_dir, LlamaConfig.model_type)
    config = arlow_config_from_llama(LlamaConfig.from_pretrained(str(input_dir)), add_cross_attention)
    model = load_weights(
        ArlowForCausalLM,
        input_dir,
        config,
        allowed_missing=CROSS_ATTENTION_WEIGHTS if add_cross_attention else (),
    )

    def write(tmp_dir: Path):
        model.save_pretrained(str(tmp_dir))
        if not save_tokenizer(input_dir, tmp_dir):
            logger.warning(f"{input_dir} has no tokenizer: the Arlow checkpoint is written without one.")

    write_atomically(output_dir, write)
    return model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m transformers.models.arlow.convert_arlow_llama_checkpoint",
        description="Converts a causal-LM checkpoint between Arlow and Llama (local `save_pretrained` directories).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    to_llama = commands.add_parser("to-llama", help="Arlow -> Llama (weights, config, generation config, tokenizer).")
    from_llama = commands.add_parser(
        "from-llama", help="Llama -> Arlow (weights, config, generation config, tokenizer)."
    )
    for command in (to_llama, from_llama):
        command.add_argument("--input_dir", required=True, help="The checkpoint directory to convert.")
        command.add_argument(
            "--output_dir", required=True, help="Where to write the converted checkpoint (a new or empty directory)."
        )
    to_llama.add_argument(
        "--drop_cross_attention",
        "--drop-cross-attention",
        action="store_true",
        help="Export a checkpoint built with cross_attention=True by leaving out its cross-attention blocks.",
    )
    from_llama.add_argument(
        "--add_cross_attention",
        "--add-cross-attention",
        action="store_true",
        help="Give every layer a freshly initialized cross-attention block (cross_attention=True).",
    )
    args = parser.parse_args(argv)
    try:
        if args.command == "to-llama":
            convert_arlow_to_llama(args.input_dir, args.output_dir, drop_cross_attention=args.drop_cross_attention)
        else:
            convert_llama_to_arlow(args.input_dir, args.output_dir, add_cross_attention=args.add_cross_attention)
    except CheckpointConversionError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    target = "Llama" if args.command == "to-llama" else "Arlow"
    print(f"Wrote the {target} checkpoint to {args.output_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
