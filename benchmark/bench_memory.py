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
Peak memory of a training step, with and without gradient checkpointing, for Arlow and Llama (same weights).

On CPU the peak is the high-water mark of live tensor bytes, replayed exactly from the allocation and free events
that PyTorch's profiler records (`profile_memory=True`), on top of the bytes held between steps (weights, AdamW state,
buffers). It counts what the model code decides, every allocation included, and is free of what the C allocator and
the operating system add (freed pages kept by malloc, shared libraries, the Python heap), which makes the resident set
size (RSS) a poor and noisy measure of a model's memory. On CUDA it is `torch.cuda.max_memory_allocated`, the same
quantity as kept by the caching allocator.
"""

import torch
from bench_settings import BenchSettings
from model_pairs import build_pair, random_token_ids
from torch.autograd import DeviceType
from torch.profiler import ProfilerActivity, profile
from training_step import make_optimizer, make_training_step, set_gradient_checkpointing, training_forward_kwargs


MODELS = ("llama", "arlow")
MEMORY_EVENT = "[memory]"


def held_bytes(model, optimizer) -> int:
    """Bytes of every tensor kept between training steps: parameters, buffers and the optimizer's state."""
    storages = {}
    tensors = [*model.parameters(), *model.buffers()]
    for state in optimizer.state.values():
        tensors.extend(value for value in state.values() if torch.is_tensor(value))
    for tensor in tensors:
        storage = tensor.untyped_storage()
        storages[(storage.data_ptr(), tensor.device)] = storage.nbytes()
    return sum(storages.values())


def create_optimizer_state(model, optimizer) -> None:
    """Makes AdamW allocate its state, as after any first step, without running the model (zero gradients)."""
    for parameter in model.parameters():
        parameter.grad = torch.zeros_like(parameter)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)


def cpu_step_peak_bytes(step) -> int:
    """The highest number of bytes allocated at once during `step()`, above what was live when it started."""
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as profiler:
        step()
    events = [event for event in profiler.profiler.kineto_results.events() if event.name() == MEMORY_EVENT]
    events.sort(key=lambda event: event.start_ns())
    live = peak = 0
    for event in events:
        if event.device_type() == DeviceType.CPU:
            live += event.nbytes()
            peak = max(peak, live)
    return peak


def cuda_step_peak_bytes(step) -> int:
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    before = torch.cuda.memory_allocated()
    step()
    torch.cuda.synchronize()
    return torch.cuda.max_memory_allocated() - before


def measure_step_memory(model, optimizer, step, device: str) -> dict:
    step_peak = cuda_step_peak_bytes(step) if device == "cuda" else cpu_step_peak_bytes(step)
    held = held_bytes(model, optimizer)
    return {"held_bytes": held, "step_peak_above_held_bytes": step_peak, "peak_bytes": held + step_peak}


def bench_memory(settings: BenchSettings, log=print) -> list[dict]:
    """
    For each memory size and sequence length, per model, with AdamW's state in place: one measured step without and
    one with gradient checkpointing. The counts are exact (no repetition needed): the same step allocates the same
    tensors every time.
    """
    rows = []
    for size in settings.memory_sizes:
        models = build_pair(size, settings)
        optimizers = {name: make_optimizer(models[name], settings.device) for name in MODELS}
        for name in MODELS:
            create_optimizer_state(models[name], optimizers[name])
        for seq_len, batch in settings.training_batches(size):
            input_ids = random_token_ids(models["llama"].config.vocab_size, batch, seq_len, settings.device)
            row = {"size": size, "seq_len": seq_len, "batch": batch}
            for name in MODELS:
                step = make_training_step(models[name], optimizers[name], input_ids, **training_forward_kwargs(name))
                set_gradient_checkpointing(models[name], False)
                row[name] = {
                    "no_checkpointing": measure_step_memory(models[name], optimizers[name], step, settings.device)
                }
                set_gradient_checkpointing(models[name], True)
                row[name]["checkpointing"] = measure_step_memory(models[name], optimizers[name], step, settings.device)
                set_gradient_checkpointing(models[name], False)
                without, with_ = row[name]["no_checkpointing"], row[name]["checkpointing"]
                row[name]["checkpointing_reduction"] = 1 - with_["peak_bytes"] / without["peak_bytes"]
                row[name]["checkpointing_reduction_above_held"] = (
                    1 - with_["step_peak_above_held_bytes"] / without["step_peak_above_held_bytes"]
                )
            for mode in ("no_checkpointing", "checkpointing"):
                row[f"ratio_arlow_over_llama_{mode}"] = (
                    row["arlow"][mode]["peak_bytes"] / row["llama"][mode]["peak_bytes"]
                )
            log(
                f"memory {size} seq={seq_len}: peak llama "
                f"{row['llama']['no_checkpointing']['peak_bytes'] / 2**20:.1f} "
                f"MiB, arlow {row['arlow']['no_checkpointing']['peak_bytes'] / 2**20:.1f} MiB "
                f"(ratio {row['ratio_arlow_over_llama_no_checkpointing']:.3f}); with checkpointing arlow "
                f"{row['arlow']['checkpointing']['peak_bytes'] / 2**20:.1f} MiB "
                f"(-{100 * row['arlow']['checkpointing_reduction']:.0f}%)"
            )
            rows.append(row)
        del models, optimizers
    return rows
