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
"""One training step (forward, backward, AdamW), the unit the training, memory and cross-attention benchmarks time."""

from collections.abc import Callable

import torch


# What each model's training forward is asked for besides the labels: Arlow computes its loss without materialising
# the logits (`skip_logits=True` after `apply_chunked_loss`, as the pretraining scripts ask); Llama takes its standard
# path
TRAINING_FORWARD_KWARGS = {"arlow": {"skip_logits": True}}


def training_forward_kwargs(name: str) -> dict:
    """The keyword arguments the training step of the model named `name` ("llama", "arlow", ...) passes."""
    return dict(TRAINING_FORWARD_KWARGS.get(name, {}))


def make_optimizer(model, device: str) -> torch.optim.Optimizer:
    # the fused kernel where the device has one, otherwise PyTorch's default implementation for the device
    return torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.1, fused=True if device == "cuda" else None)


def make_training_step(model, optimizer, input_ids: torch.Tensor, **model_kwargs) -> Callable[[], float]:
    """A closure running one step on a fixed batch (labels are the inputs: a language-modelling loss)."""
    model.train()

    def step() -> float:
        loss = model(input_ids=input_ids, labels=input_ids, **model_kwargs).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss.detach()

    return step


def set_gradient_checkpointing(model, enabled: bool) -> None:
    """Checkpoints every decoder layer (5.23's `activation_checkpointing_*`, formerly `gradient_checkpointing_*`)."""
    if enabled:
        model.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
    else:
        model.activation_checkpointing_disable()
