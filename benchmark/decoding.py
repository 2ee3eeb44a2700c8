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
Greedy `generate` calls and the per-token decoding time derived from them.

A call producing `n` tokens costs the prefill plus `n - 1` decoding steps. Each repetition times a call with `n = 1`
(prefill only) next to one with `n = new_tokens`; their difference over `new_tokens - 1` is the time of one decoding
step, without the prefill (and without the one-off projection of encoder states, for cross-attention).
"""

import statistics
from collections.abc import Callable

import torch
from bench_settings import BenchSettings

from transformers import CompileConfig


CACHE_KINDS = ("dynamic", "static_compiled")


def compile_config(settings: BenchSettings) -> CompileConfig:
    # CUDA graphs ("reduce-overhead") only exist on CUDA; `fullgraph` makes a graph break an error, not a slowdown
    config = CompileConfig(
        fullgraph=True,
        dynamic=False,
        backend=settings.compile_backend,
        mode="reduce-overhead" if settings.device == "cuda" else "default",
    )
    # `generate` compiles automatically on accelerators only; this flag asks for it on CPU too
    config._compile_all_devices = True
    return config


def make_generate_call(
    model, prompt_ids: torch.Tensor, new_tokens: int, cache: str, settings: BenchSettings, **kwargs
):
    """A closure running greedy generation of exactly `new_tokens` tokens with the given cache kind."""
    if cache not in CACHE_KINDS:
        raise ValueError(f"`cache` must be one of {CACHE_KINDS}, got {cache!r}.")
    options = (
        {"cache_implementation": "static", "compile_config": compile_config(settings)} if cache != "dynamic" else {}
    )
    model.eval()

    @torch.no_grad()
    def call() -> torch.Tensor:
        return model.generate(
            prompt_ids,
            do_sample=False,
            max_new_tokens=new_tokens,
            min_new_tokens=new_tokens,
            pad_token_id=model.config.pad_token_id,
            **options,
            **kwargs,
        )

    return call


def decoding_cases(calls: dict[str, Callable], new_tokens: int) -> dict[str, Callable]:
    """Splits each named call factory `calls[name](n)` into the two timed cases `name/1` and `name/new_tokens`."""
    cases = {}
    for name, factory in calls.items():
        cases[f"{name}/1"] = factory(1)
        cases[f"{name}/{new_tokens}"] = factory(new_tokens)
    return cases


def per_token_seconds(times: dict[str, list[float]], name: str, new_tokens: int) -> list[float]:
    """Per repetition, the decoding time of one token: (t(new_tokens) - t(1)) / (new_tokens - 1)."""
    return [
        (full - prefill) / (new_tokens - 1) for full, prefill in zip(times[f"{name}/{new_tokens}"], times[f"{name}/1"])
    ]


def summarize_per_token(seconds: list[float]) -> dict:
    median = statistics.median(seconds)
    return {
        "per_token_ms": 1000 * median,
        "tokens_per_s": 1 / median if median > 0 else float("nan"),
        "per_token_ms_by_rep": [1000 * value for value in seconds],
    }
