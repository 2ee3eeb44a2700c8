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
Sharded training for the plain-loop pretraining script: FSDP2 (`torch.distributed.fsdp.fully_shard`) on a model built
on the meta device, each process then allocating and initialising only its own shards, and checkpoints written with
`torch.distributed.checkpoint` (DCP), every process writing and reading only its own shards. The same code runs on
CPU (gloo) and GPU (nccl). The checkpoint functions take any model (plain, DDP-wrapped or sharded).
"""

import os

import torch
import torch.distributed.checkpoint as dcp
from torch.distributed.checkpoint.state_dict import (
    StateDictOptions,
    get_model_state_dict,
    get_state_dict,
    set_state_dict,
)
from torch.distributed.device_mesh import init_device_mesh
from torch.distributed.fsdp import FSDPModule, MixedPrecisionPolicy, fully_shard


MIXED_PRECISION_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}
MODEL_AND_OPTIMIZER_FOLDER = "model_and_optimizer"


def shard_model(model, device_type: str, mixed_precision: str = "no") -> FSDPModule:
    """
    Applies FSDP2 in place: `fully_shard` on each decoder layer (the model's `_no_split_modules` classes), then on the
    root (the embeddings, the final norm and the tied `lm_head`, one unit). Every parameter becomes a `DTensor`
    sharded on dim 0 across all processes. A layer's cross-attention block is a unit of its own: pretraining skips it
    (no encoder states), so its frozen weights are never all-gathered. With `mixed_precision` "bf16" or "fp16" the
    layers compute in that dtype while the sharded parameters, the optimizer states and the gradient reduction stay
    in float32.
    """
    if not torch.distributed.is_initialized():
        raise ValueError("FSDP2 needs a distributed launch (torchrun or accelerate launch with several processes)")
    if mixed_precision not in ("no", *MIXED_PRECISION_DTYPES):
        raise ValueError(f"Unknown mixed precision {mixed_precision!r}; use one of no, bf16, fp16")
    mesh = init_device_mesh(device_type, (torch.distributed.get_world_size(),))
    policy = MixedPrecisionPolicy()
    if mixed_precision != "no":
        policy = MixedPrecisionPolicy(param_dtype=MIXED_PRECISION_DTYPES[mixed_precision], reduce_dtype=torch.float32)
    layer_classes = set(model._no_split_modules or ())
    layers = [module for module in model.modules() if type(module).__name__ in layer_classes]
    if not layers:
        raise ValueError(f"{type(model).__name__} has no module of the classes {sorted(layer_classes)} to shard")
    for layer in layers:
        if getattr(layer, "cross_attn", None) is not None:
            fully_shard(layer.cross_attn, mesh=mesh, mp_policy=policy)
        fully_shard(layer, mesh=mesh, mp_policy=policy)
    return fully_shard(model, mesh=mesh, mp_policy=policy)


def materialize_sharded_model(model, device, seed: int):
    """
    For a model built on the meta device and sharded with [`shard_model`]: allocates this process's shards on
    `device` and initialises them with the model's own `_init_weights`. A shard is drawn from this process's
    generator, seeded with `seed + rank` (on GPUs DTensor's own generator draws every shard of one random tensor).
    """
    model.to_empty(device=device)
    rng_state = torch.get_rng_state()
    torch.manual_seed(seed + torch.distributed.get_rank())
    model.initialize_weights()
    torch.set_rng_state(rng_state)
    return model


def save_model_and_optimizer(checkpoint_dir: str, model, optimizer: torch.optim.Optimizer):
    """Writes model and optimizer states to `checkpoint_dir/model_and_optimizer` with DCP (rank 0 writes replicas)."""
    model_state, optimizer_state = get_state_dict(model, optimizer)
    dcp.save(
        {"model": model_state, "optimizer": optimizer_state},
        checkpoint_id=os.path.join(checkpoint_dir, MODEL_AND_OPTIMIZER_FOLDER),
    )


def load_model_and_optimizer(checkpoint_dir: str, model, optimizer: torch.optim.Optimizer):
    """Reads what [`save_model_and_optimizer`] wrote into `model` and `optimizer`, resharding to their layout."""
    path = os.path.join(checkpoint_dir, MODEL_AND_OPTIMIZER_FOLDER)
    if not os.path.isdir(path):
        raise ValueError(
            f"{checkpoint_dir!r} holds no sharded model and optimizer state ({MODEL_AND_OPTIMIZER_FOLDER}/)"
        )
    model_state, optimizer_state = get_state_dict(model, optimizer)
    state = {"model": model_state, "optimizer": optimizer_state}
    dcp.load(state, checkpoint_id=path)
    set_state_dict(model, optimizer, model_state_dict=state["model"], optim_state_dict=state["optimizer"])


def full_model_state_dict(model) -> dict[str, torch.Tensor]:
    """The whole model state on CPU on process 0 (the others get an empty dict), for `save_pretrained`."""
    return get_model_state_dict(model, options=StateDictOptions(full_state_dict=True, cpu_offload=True))
