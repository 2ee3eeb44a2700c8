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
"""
The pretraining toolkit's memory-saving language-modelling loss: computed from the final hidden states and the output
projection a chunk of tokens at a time, so that the (tokens x vocabulary) logits are never materialised.

[`apply_chunked_loss`] puts it on a causal LM instance the way Liger puts its kernels on one (the Trainer's
`use_liger_kernel`): the instance's `forward` is replaced, so `nn.Module.__call__` and every module hook (FSDP2's
included) still run around it, and `model(input_ids=..., labels=..., skip_logits=True)` then returns the loss with
`logits=None`. Without `skip_logits` the model behaves exactly as before.

Why not `torch.nn.functional.linear_cross_entropy`: torch 2.11 (the GPU machine's) lacks it; on torch 2.13's CPU build
(`benchmark/run_benchmarks.py --sections loss_operator`: 1024 to 2048 tokens, hidden 128 to 512, vocabulary 4096 to
16384, float32) its default chunking is 1.19x to 1.65x slower, with 256-row chunks 0.96x to 1.15x the time for 1.2x to
1.4x the peak memory; in bfloat16 it sums the loss in bfloat16 (8.5e-2 off float32 at hidden 256, vocabulary 8192,
against 3.8e-6 here). On an H200 (benchmark/results/gpu/) this takes 1.4x the time of full logits, 0.4x the memory.
"""

import functools
import inspect

import torch
from torch import nn

from transformers.modeling_outputs import CausalLMOutputWithCrossAttentions, CausalLMOutputWithPast


# Rows per chunk, at least: 256 was the fastest on CPU (float32, against 64 to 2048).
MIN_LOSS_CHUNK_ROWS = 256

# On an accelerator a chunk holds at least this many bytes of float32 logits. Each chunk is a full pass over the
# float32 weight gradient: on an H200 (bfloat16, 8192 tokens, hidden 2304, vocabulary 131072) the CPU's rule, 32
# chunks of 256 rows, took 0.102 s for forward and backward against 0.034 s for full logits. 1 GiB (2048 rows there)
# makes few passes and still a small part of the full logits' memory.
ACCELERATOR_CHUNK_LOGITS_BYTES = 2**30

# Devices on which float16/bfloat16 products (outside autocast) run in float32: a CPU emulates half-precision matrix
# products about 10x slower than float32 (as PyTorch's `linear_cross_entropy` does, it upcasts there).
FLOAT32_PRODUCT_DEVICES = {"cpu"}


class ChunkedLinearCrossEntropy(torch.autograd.Function):
    """
    The mean (or `num_items_in_batch`-normalised) cross-entropy of `hidden_states @ weight.T` against `targets`,
    computed a chunk of rows at a time. Each chunk's float32 logits are made, turned into their contribution to the
    loss and, when gradients are needed, straight into the gradients of `hidden_states` and `weight`, then freed: the
    full (rows x vocabulary) logits, their log-softmax and their gradient never exist. The gradients are computed in
    the forward pass for the summed loss and only scaled in the backward pass, by the incoming gradient divided by the
    normaliser, so nothing is recomputed.

    The division by the normaliser waits for the backward pass because the incoming gradient carries a loss scale
    (`GradScaler`'s, 65536 by default) that keeps small terms representable: a softmax probability divided by the
    token count alone falls below float16's smallest subnormal (6e-8) at large vocabularies. For the same reason the
    gradients' matrix products run in float32 when the logits' product runs in float16; in bfloat16, whose exponent
    range is float32's, they run in bfloat16.
    """

    @staticmethod
    def forward(ctx, hidden_states, weight, targets, ignore_index, normalizer, chunk_size, compute_dtype):
        num_rows = hidden_states.shape[0]
        needs_input_grad = hidden_states.requires_grad
        needs_weight_grad = weight.requires_grad
        input_dtype, weight_dtype = hidden_states.dtype, weight.dtype
        # the logits' product runs in `compute_dtype`: autocast's dtype under autocast (as `lm_head` would), else the
        # inputs'; the gradients' products in `grad_dtype`
        grad_dtype = torch.float32 if compute_dtype == torch.float16 else compute_dtype
        logits_hidden_states, logits_weight = hidden_states.to(compute_dtype), weight.to(compute_dtype)
        grad_hidden_states_input, grad_weight_input = hidden_states.to(grad_dtype), weight.to(grad_dtype)
        grad_hidden_states = (
            torch.empty(hidden_states.shape, dtype=grad_dtype, device=hidden_states.device)
            if needs_input_grad
            else None
        )
        # float32 accumulator over the chunks, whatever the weight's dtype
        grad_weight = torch.zeros_like(weight, dtype=torch.float32) if needs_weight_grad else None
        loss_sum = torch.zeros((), dtype=torch.float32, device=hidden_states.device)

        for start in range(0, num_rows, chunk_size):
            chunk = slice(start, start + chunk_size)
            chunk_targets = targets[chunk]
            keep = chunk_targets != ignore_index
            safe_targets = chunk_targets.masked_fill(~keep, 0).unsqueeze(-1)
            logits = (logits_hidden_states[chunk] @ logits_weight.T).float()
            target_logits = logits.gather(-1, safe_targets)
            max_logits = logits.amax(dim=-1, keepdim=True)
            # exp(logits - max) in place: the softmax before normalisation, without a second chunk-sized tensor
            probabilities = logits.sub_(max_logits).exp_()
            sum_exp = probabilities.sum(dim=-1, keepdim=True)
            log_normalizer = max_logits + sum_exp.log()
            loss_sum += ((log_normalizer - target_logits).squeeze(-1) * keep).sum()
            if needs_input_grad or needs_weight_grad:
                # d(summed loss)/d(logits) = softmax - one_hot(target) on the kept rows, 0 on the others
                grad_logits = probabilities.div_(sum_exp)
                grad_logits.scatter_add_(-1, safe_targets, torch.full_like(target_logits, -1.0))
                grad_logits.mul_(keep.unsqueeze(-1))
                grad_logits = grad_logits.to(grad_dtype)
                if needs_input_grad:
                    torch.mm(grad_logits, grad_weight_input, out=grad_hidden_states[chunk])
                if needs_weight_grad and grad_dtype == torch.float32:
                    grad_weight.addmm_(grad_logits.T, grad_hidden_states_input[chunk])
                elif needs_weight_grad:
                    grad_weight += (grad_logits.T @ grad_hidden_states_input[chunk]).float()
                del grad_logits
            # free this chunk's logits before the next chunk allocates its own
            del logits, probabilities

        ctx.input_dtype, ctx.weight_dtype = input_dtype, weight_dtype
        ctx.save_for_backward(grad_hidden_states, grad_weight, normalizer)
        return loss_sum / normalizer

    @staticmethod
    def backward(ctx, grad_loss):
        grad_hidden_states, grad_weight, normalizer = ctx.saved_tensors
        # the loss scale in `grad_loss` multiplies before the division by the normaliser, in float32
        scale = grad_loss.float() / normalizer
        if grad_hidden_states is not None:
            grad_hidden_states = (grad_hidden_states.float() * scale).to(ctx.input_dtype)
        if grad_weight is not None:
            grad_weight = (grad_weight * scale).to(ctx.weight_dtype)
        return grad_hidden_states, grad_weight, None, None, None, None, None


def chunked_causal_lm_loss(
    hidden_states: torch.Tensor,
    weight: torch.Tensor,
    labels: torch.Tensor | None = None,
    ignore_index: int = -100,
    num_items_in_batch: torch.Tensor | int | None = None,
    shift_labels: torch.Tensor | None = None,
    **kwargs,
) -> torch.Tensor:
    """
    The causal language-modelling loss of transformers' `ForCausalLMLoss` (same shift, `ignore_index`, and
    normalisation by `num_items_in_batch` when given, else by the number of predicted tokens), computed from the final
    hidden states and the output projection's weight by [`ChunkedLinearCrossEntropy`], without the logits.

    The rows are split into about ceil(vocab_size / hidden_size) chunks, so that one chunk's logits take about as
    much memory as the hidden states themselves, but of at least `MIN_LOSS_CHUNK_ROWS` rows each, below which the
    matrix products lose efficiency; on an accelerator, of at least `ACCELERATOR_CHUNK_LOGITS_BYTES` of float32
    logits each, so that the weight gradient is accumulated in few passes.
    """
    if shift_labels is None:
        shift_labels = nn.functional.pad(labels, (0, 1), value=ignore_index)[..., 1:]
    hidden_size = hidden_states.shape[-1]
    hidden_states = hidden_states.reshape(-1, hidden_size)
    targets = shift_labels.reshape(-1).to(hidden_states.device)
    if targets.shape[0] != hidden_states.shape[0]:
        raise ValueError(
            f"`labels` hold {targets.shape[0]} positions but the model produced hidden states for "
            f"{hidden_states.shape[0]}: they must have the same batch size and sequence length."
        )
    if num_items_in_batch is None:
        normalizer = (targets != ignore_index).sum().float()
    elif torch.is_tensor(num_items_in_batch):
        normalizer = num_items_in_batch.to(device=hidden_states.device, dtype=torch.float32)
    else:
        normalizer = torch.full((), float(num_items_in_batch), dtype=torch.float32, device=hidden_states.device)
    num_chunks = -(-weight.shape[0] // hidden_size)
    chunk_size = max(MIN_LOSS_CHUNK_ROWS, -(-targets.shape[0] // num_chunks))
    device_type = hidden_states.device.type
    if device_type not in FLOAT32_PRODUCT_DEVICES:
        chunk_size = max(chunk_size, ACCELERATOR_CHUNK_LOGITS_BYTES // (4 * weight.shape[0]))
    compute_dtype = hidden_states.dtype
    if torch.is_autocast_enabled(device_type):
        # autocast's dtype, as `lm_head` would run under autocast
        compute_dtype = torch.get_autocast_dtype(device_type)
    elif device_type in FLOAT32_PRODUCT_DEVICES and compute_dtype in (torch.float16, torch.bfloat16):
        compute_dtype = torch.float32
    # autocast off inside: the function casts by itself, and its in-place and `out=` products must keep their dtypes
    with torch.autocast(device_type, enabled=False):
        return ChunkedLinearCrossEntropy.apply(
            hidden_states, weight, targets, ignore_index, normalizer, chunk_size, compute_dtype
        )


def lm_head_is_plain_linear(model) -> bool:
    """
    Whether `model.lm_head` computes exactly `hidden_states @ lm_head.weight.T` and the model's loss is the standard
    causal-LM one, so that the loss may be computed from the weight without calling the head. Anything that changes
    what `lm_head` computes makes the forward call it instead: a replaced or wrapped module (adapters, quantization,
    kernels), hooks on it (accelerate's offloading), a sharded weight (tensor parallelism, an `lm_head` sharded on its
    own by FSDP2), or a custom loss.
    """
    lm_head = getattr(model, "lm_head", None)
    return (
        not hasattr(model, "_loss_function")
        and getattr(model.config, "loss_type", None) in (None, "ForCausalLM")
        and type(lm_head) is nn.Linear
        and lm_head.bias is None
        and type(lm_head.weight) is nn.Parameter
        and not (lm_head._forward_hooks or lm_head._forward_pre_hooks or hasattr(lm_head, "_hf_hook"))
    )


def apply_chunked_loss(model):
    """
    Replaces `model.forward` (on this instance only) so that `model(..., labels=..., skip_logits=True)` returns the
    causal language-modelling loss computed by [`chunked_causal_lm_loss`], with `logits=None`; without `skip_logits`
    (or with `skip_logits=False`) the original forward runs unchanged. Works for any `*ForCausalLM` whose decoder is
    `model.model` and whose forward passes its extra keyword arguments to it, as Arlow's and Llama's do. When `lm_head`
    is not a plain linear layer (see [`lm_head_is_plain_linear`]), `skip_logits=True` runs the original forward and
    drops its logits. Applying it twice changes nothing. Returns the model.
    """
    if getattr(model.forward, "_chunked_loss", False):
        return model
    original_forward = model.forward
    signature = inspect.signature(original_forward)
    positional_names = [
        name
        for name, parameter in signature.parameters.items()
        if parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD)
    ]

    @functools.wraps(original_forward)
    def forward(*args, skip_logits: bool | None = None, **kwargs):
        if not skip_logits:
            return original_forward(*args, **kwargs)
        kwargs.update(zip(positional_names, args))
        labels = kwargs.pop("labels", None)
        if labels is None:
            raise ValueError("`skip_logits=True` computes only the loss, so it needs `labels`.")
        if not lm_head_is_plain_linear(model):
            outputs = original_forward(labels=labels, **kwargs)
            outputs.logits = None
            return outputs
        return_dict = kwargs.pop("return_dict", None)
        logits_to_keep = kwargs.pop("logits_to_keep", 0)
        outputs = model.model(**kwargs)
        hidden_states = outputs.last_hidden_state
        if logits_to_keep:
            # as `slice_logits_to_keep`: the last `logits_to_keep` positions, or the given indices
            keep = slice(-logits_to_keep, None) if isinstance(logits_to_keep, int) else logits_to_keep
            hidden_states = hidden_states[:, keep, :]
        loss = chunked_causal_lm_loss(hidden_states, model.lm_head.weight, labels, **kwargs)
        # the head's output class: with `cross_attentions` when the decoder records them (Arlow), else Llama's
        output_class = (
            CausalLMOutputWithCrossAttentions if hasattr(outputs, "cross_attentions") else CausalLMOutputWithPast
        )
        extras = {key: value for key, value in outputs.items() if key != "last_hidden_state"}
        result = output_class(loss=loss, logits=None, **extras)
        if return_dict is None:
            return_dict = model.config.return_dict
        return result if return_dict else result.to_tuple()

    forward._chunked_loss = True
    model.forward = forward
    return model
