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
Converts causal-LM checkpoints between Arlow and Llama, which without Arlow's cross-attention blocks are the same
network with the same parameter names: `to-llama [--drop_cross_attention]` writes an Arlow checkpoint as a Llama one
(its tokenizer as a generic `PreTrainedTokenizerFast`), `from-llama [--add_cross_attention]` the reverse.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from transformers import ArlowConfig, ArlowForCausalLM, AutoTokenizer, LlamaConfig, LlamaForCausalLM
from transformers.tokenization_utils_tokenizers import PreTrainedTokenizerFast
from transformers.utils import logging


logger = logging.get_logger(__name__)

SHARED_CONFIG_FIELDS = (
    "vocab_size hidden_size intermediate_size num_hidden_layers num_attention_heads num_key_value_heads head_dim "
    "hidden_act max_position_embeddings initializer_range rms_norm_eps rope_parameters tie_word_embeddings use_cache "
    "pad_token_id bos_token_id eos_token_id"
).split()
# The weights of an Arlow layer's cross-attention block, which Llama has no place for.
CROSS_ATTENTION_WEIGHTS = tuple(f"cross_attn.{name}_proj.weight" for name in "qkvo") + ("cross_attn_layernorm.weight",)


class CheckpointConversionError(ValueError):
    """The input cannot be converted; the message says why."""


def checked_checkpoint(input_dir, model_type: str) -> Path:
    """`input_dir` as a `Path`, once it is known to be a local checkpoint of `model_type`."""
    input_dir = Path(input_dir)
    if not (input_dir / "config.json").is_file():
        what = "is not a checkpoint: it has no config.json" if input_dir.is_dir() else "is not a directory"
        raise CheckpointConversionError(f"{input_dir} {what}: pass a directory written by `save_pretrained`.")
    try:
        config = json.loads((input_dir / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise CheckpointConversionError(f"{input_dir / 'config.json'} cannot be read as JSON: {error}") from error
    if config.get("model_type") != model_type:
        raise CheckpointConversionError(
            f"{input_dir} holds a checkpoint of model type {config.get('model_type')!r}, not {model_type!r} "
            f"(architectures: {config.get('architectures')})."
        )
    return input_dir


def translated_config(config_class, source, architecture: str, **fields):
    """A `config_class` with the shape, RoPE, norms, tying, ids and dtype of `source`, and `fields`."""
    shared = {name: getattr(source, name) for name in SHARED_CONFIG_FIELDS}
    shared |= {"attention_dropout": source.attention_dropout or 0.0, "dtype": source.dtype}
    return config_class(**shared, architectures=[architecture], **fields)


def cross_attention_summary(config: ArlowConfig) -> str:
    """Names the cross-attention tensors of an Arlow checkpoint and counts their parameters."""
    projections = 2 * (config.num_attention_heads + config.num_key_value_heads) * config.head_dim
    parameters = (projections + 1) * config.hidden_size * config.num_hidden_layers
    names = ", ".join(f"model.layers.*.{name}" for name in CROSS_ATTENTION_WEIGHTS)
    count = f"{len(CROSS_ATTENTION_WEIGHTS) * config.num_hidden_layers} tensors"
    return f"{count} ({names}, in each of the {config.num_hidden_layers} layers), {parameters:,} parameters"


def load_weights(model_class, input_dir: Path, config, allowed_unexpected=(), allowed_missing=()):
    """Loads `input_dir` into `model_class(config)` in its dtype; any misshapen, missing or extra weight raises."""
    try:
        model, info = model_class.from_pretrained(
            str(input_dir), config=config, dtype="auto", output_loading_info=True, ignore_mismatched_sizes=True
        )
    except OSError as error:
        raise CheckpointConversionError(f"{input_dir} has a config.json but its weights cannot be read: {error}")
    problems = []
    if info["mismatched_keys"]:
        shapes = sorted(f"{k} (checkpoint {list(s)}, expected {list(e)})" for k, s, e in info["mismatched_keys"])
        problems.append(f"weights whose shapes do not match config.json: {', '.join(shapes)}")
    if missing := sorted(key for key in info["missing_keys"] if not key.endswith(allowed_missing)):
        problems.append(f"missing weights: {', '.join(missing)}")
    if unexpected := sorted(key for key in info["unexpected_keys"] if not key.endswith(allowed_unexpected)):
        problems.append(f"weights {model_class.__name__} has no place for: {', '.join(unexpected)}")
    if problems:
        raise CheckpointConversionError(f"{input_dir} cannot be converted, it has {'; '.join(problems)}.")
    return model


def save_tokenizer(input_dir: Path, output_dir: Path, portable: bool) -> None:
    """Saves the tokenizer of `input_dir`, if any; `portable` saves it as a generic `PreTrainedTokenizerFast`."""
    if not any(input_dir.glob("tokenizer*")):  # tokenizer_config.json, tokenizer.json or tokenizer.model
        return logger.warning(f"{input_dir} has no tokenizer: the checkpoint is written without one.")
    tokenizer = AutoTokenizer.from_pretrained(str(input_dir))
    if not portable:
        return tokenizer.save_pretrained(str(output_dir))
    PreTrainedTokenizerFast(  # the same pipeline, special tokens, chat template and padding side
        tokenizer_object=tokenizer.backend_tokenizer,
        model_max_length=tokenizer.model_max_length,
        padding_side=tokenizer.padding_side,
        chat_template=tokenizer.chat_template,
        **tokenizer.special_tokens_map,
    ).save_pretrained(str(output_dir))
    # transformers 5 writes the class name "TokenizersBackend", which earlier releases do not know
    config_file = output_dir / "tokenizer_config.json"
    tokenizer_config = json.loads(config_file.read_text(encoding="utf-8"))
    tokenizer_config["tokenizer_class"] = "PreTrainedTokenizerFast"
    config_file.write_text(json.dumps(tokenizer_config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def write_atomically(model, input_dir: Path, output_dir, portable_tokenizer: bool) -> None:
    """Saves `model` and the tokenizer in a temporary directory next to `output_dir`, then renames it."""
    output_dir = Path(output_dir)
    if output_dir.exists() and (not output_dir.is_dir() or any(output_dir.iterdir())):
        raise CheckpointConversionError(f"{output_dir} already exists and is not empty: choose a new path.")
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp_dir = Path(tempfile.mkdtemp(prefix=f".{output_dir.name}.partial-", dir=output_dir.parent))
    try:
        model.save_pretrained(str(tmp_dir))
        save_tokenizer(input_dir, tmp_dir, portable_tokenizer)
        if output_dir.exists():
            output_dir.rmdir()
        os.replace(tmp_dir, output_dir)
    except BaseException:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        raise


def convert_arlow_to_llama(input_dir, output_dir, drop_cross_attention: bool = False):
    """Writes the Arlow checkpoint in `input_dir` as a Llama one; dropping cross-attention blocks must be asked for."""
    input_dir = checked_checkpoint(input_dir, ArlowConfig.model_type)
    config = ArlowConfig.from_pretrained(str(input_dir))
    if config.cross_attention and not drop_cross_attention:
        raise CheckpointConversionError(
            f"{input_dir} has cross-attention blocks (cross_attention=True) and Llama has no place for them. "
            f"Exporting drops {cross_attention_summary(config)}; the Llama model then computes what the Arlow model "
            "computes without `encoder_hidden_states`. Pass --drop_cross_attention to export anyway."
        )
    llama_config = translated_config(LlamaConfig, config, "LlamaForCausalLM", attention_bias=False, mlp_bias=False)
    unexpected = CROSS_ATTENTION_WEIGHTS if config.cross_attention else ()
    model = load_weights(LlamaForCausalLM, input_dir, llama_config, allowed_unexpected=unexpected)
    if config.cross_attention:
        logger.warning(f"Leaving out the cross-attention blocks: {cross_attention_summary(config)}.")
    write_atomically(model, input_dir, output_dir, portable_tokenizer=True)
    return model


def convert_llama_to_arlow(input_dir, output_dir, add_cross_attention: bool = False):
    """Writes the Llama checkpoint in `input_dir` as an Arlow one, with fresh cross-attention blocks if asked for."""
    input_dir = checked_checkpoint(input_dir, LlamaConfig.model_type)
    llama_config = LlamaConfig.from_pretrained(str(input_dir))
    if biases := [name for name in ("attention_bias", "mlp_bias") if getattr(llama_config, name, False)]:
        raise CheckpointConversionError(
            f"The Llama checkpoint sets {', '.join(f'{name}=True' for name in biases)}: Arlow's projections have no "
            "biases, so it cannot hold this checkpoint."
        )
    config = translated_config(ArlowConfig, llama_config, "ArlowForCausalLM", cross_attention=add_cross_attention)
    missing = CROSS_ATTENTION_WEIGHTS if add_cross_attention else ()
    model = load_weights(ArlowForCausalLM, input_dir, config, allowed_missing=missing)
    write_atomically(model, input_dir, output_dir, portable_tokenizer=False)
    return model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m transformers.models.arlow.convert_arlow_llama_checkpoint")
    commands = parser.add_subparsers(dest="command", required=True)
    for command, flag, help in (
        ("to-llama", "drop_cross_attention", "export a checkpoint without its cross-attention blocks"),
        ("from-llama", "add_cross_attention", "give every layer a freshly initialized cross-attention block"),
    ):
        subparser = commands.add_parser(command, help="weights, config, generation config and tokenizer")
        subparser.add_argument("--input_dir", required=True, help="the checkpoint directory to convert")
        subparser.add_argument("--output_dir", required=True, help="where to write it (a new or empty directory)")
        subparser.add_argument(f"--{flag}", f"--{flag.replace('_', '-')}", action="store_true", dest="flag", help=help)
    args = parser.parse_args(argv)
    convert = convert_arlow_to_llama if args.command == "to-llama" else convert_llama_to_arlow
    try:
        convert(args.input_dir, args.output_dir, args.flag)
    except CheckpointConversionError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"Wrote the {'Llama' if args.command == 'to-llama' else 'Arlow'} checkpoint to {args.output_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
