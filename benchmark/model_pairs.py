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
"""Arlow and Llama built with the same hyperparameters and, with cross-attention off, the same weights."""

import contextlib
import sys
from pathlib import Path

import torch
from bench_settings import MODEL_SIZES, BenchSettings
from training_step import training_forward_kwargs

from transformers import ArlowConfig, ArlowForCausalLM, LlamaConfig, LlamaForCausalLM


sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples" / "pytorch" / "language-modeling"))
from arlow_chunked_loss import apply_chunked_loss  # noqa: E402


ROPE_THETA = 100000.0  # Arlow's default base; Llama is given the same
# Largest |logit difference| accepted between the two models of a pair before the comparison is called off
SAME_FUNCTION_TOLERANCE = {"float32": 1e-4, "bfloat16": 5e-2, "float16": 1e-2}


def shared_hyperparameters(size: str, max_positions: int) -> dict:
    """The hyperparameters both models get: a size of `MODEL_SIZES` plus the fields whose defaults differ."""
    return {
        **MODEL_SIZES[size],
        "max_position_embeddings": max_positions,
        "rope_parameters": {"rope_type": "default", "rope_theta": ROPE_THETA},
        "rms_norm_eps": 1e-6,
        "hidden_act": "silu",
        "attention_dropout": 0.0,
        "tie_word_embeddings": True,
        "initializer_range": 0.02,
        "pad_token_id": 0,
        "bos_token_id": 1,
        "eos_token_id": 2,
    }


def torch_dtype(name: str) -> torch.dtype:
    return getattr(torch, name)


def _instantiate(model_class, config, settings: BenchSettings):
    # `_from_config` checks the attention backend (a missing flash-attn package fails here, with transformers' message)
    model = model_class._from_config(config, attn_implementation=settings.attn, dtype=torch_dtype(settings.dtype))
    return model.to(settings.device)


def build_llama(size: str, settings: BenchSettings, seed: int = 0) -> LlamaForCausalLM:
    torch.manual_seed(seed)
    config = LlamaConfig(**shared_hyperparameters(size, settings.max_positions))
    return _instantiate(LlamaForCausalLM, config, settings)


def build_arlow(size: str, settings: BenchSettings, cross_attention: bool, seed: int = 0) -> ArlowForCausalLM:
    torch.manual_seed(seed)
    config = ArlowConfig(**shared_hyperparameters(size, settings.max_positions), cross_attention=cross_attention)
    # the pretraining toolkit's loss, as the scripts apply it: `skip_logits=True` computes the loss without logits
    return apply_chunked_loss(_instantiate(ArlowForCausalLM, config, settings))


def build_pair(size: str, settings: BenchSettings, with_control: bool = False) -> dict:
    """
    Returns `{"llama": ..., "arlow": ...}`: a freshly initialised LlamaForCausalLM and an ArlowForCausalLM without
    cross-attention that holds exactly Llama's weights (the module names match, so the state dict loads strictly).
    Raises if the two do not compute the same logits, since timing two different functions would be meaningless.
    With `with_control`, also `"llama_copy"`: a second Llama with the same weights, whose timings against Llama's
    measure the noise of the machine (an A/A comparison).
    """
    llama = build_llama(size, settings)
    arlow = build_arlow(size, settings, cross_attention=False, seed=1)
    arlow.load_state_dict(llama.state_dict(), strict=True)
    models = {"llama": llama, "arlow": arlow}
    if with_control:
        models["llama_copy"] = build_llama(size, settings, seed=2)
        models["llama_copy"].load_state_dict(llama.state_dict(), strict=True)
    differences = {
        "logits": max_logit_difference(llama, arlow, settings),
        # Arlow's training loss is computed in chunks, without logits (`skip_logits=True`): same value expected
        "training loss": training_loss_difference(
            llama, arlow, settings, training_forward_kwargs("llama"), training_forward_kwargs("arlow")
        ),
    }
    for what, difference in differences.items():
        if difference > SAME_FUNCTION_TOLERANCE[settings.dtype]:
            raise RuntimeError(
                f"Arlow loaded with Llama's weights ({size}) differs from Llama by {difference:.3g} in the {what}; "
                "the benchmark compares the same function and cannot go on."
            )
    return models


@contextlib.contextmanager
def in_mode(models, training: bool):
    """Puts every model in training (or eval) mode for the block, then back in the mode each was in."""
    was_training = [model.training for model in models]
    for model in models:
        model.train(training)
    try:
        yield
    finally:
        for model, mode in zip(models, was_training):
            model.train(mode)


@torch.no_grad()
def max_logit_difference(first, second, settings: BenchSettings) -> float:
    input_ids = random_token_ids(first.config.vocab_size, 2, 16, settings.device)
    with in_mode((first, second), training=False):
        return (first(input_ids).logits.float() - second(input_ids).logits.float()).abs().max().item()


def training_loss_difference(
    first, second, settings: BenchSettings, first_kwargs: dict | None = None, second_kwargs: dict | None = None
) -> float:
    """
    |loss difference| of the two models in training mode, with gradients enabled (no backward pass is run), each
    forward given its keyword arguments.
    """
    first_kwargs, second_kwargs = first_kwargs or {}, second_kwargs or {}
    input_ids = random_token_ids(first.config.vocab_size, 2, 16, settings.device)
    with in_mode((first, second), training=True), torch.enable_grad():
        losses = [
            model(input_ids=input_ids, labels=input_ids, **forward_kwargs).loss.detach().float()
            for model, forward_kwargs in ((first, first_kwargs), (second, second_kwargs))
        ]
    return (losses[0] - losses[1]).abs().item()


def parameter_count(model) -> int:
    """Parameters of the model, each shared tensor (tied embeddings) counted once."""
    return sum(p.numel() for p in model.parameters())


def random_token_ids(vocab_size: int, batch: int, length: int, device: str, seed: int = 0) -> torch.Tensor:
    # ids 0-2 are the pad/bos/eos tokens of the shared hyperparameters; random text avoids them
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(3, vocab_size, (batch, length), generator=generator).to(device)
