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
Greedy `generate` calls and the per-token decoding time measured inside them.

A call producing `n` tokens costs the prefill plus `n - 1` decoding steps. A `StepClock` passed to `generate` as a
stopping criterion (one that never stops) notes the time whenever a token has been produced; the gaps between its
notes are the decoding steps, and their median is the call's per-token time. The prefill (and, for cross-attention,
the one-off projection of the encoder states) comes before the first note, and a slow moment of a shared machine
touches a few steps of a call, not its median.
"""

import statistics
import time
from collections.abc import Callable

import torch
from bench_settings import BenchSettings
from timing import interleaved_times, synchronize

from transformers import CompileConfig, StoppingCriteria, StoppingCriteriaList


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


class StepClock(StoppingCriteria):
    """A stopping criterion that never stops: it notes the time each time `generate` has produced a token."""

    def __init__(self, device: str):
        self.device = device
        self.stamps = []

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs) -> torch.BoolTensor:
        synchronize(self.device)
        self.stamps.append(time.perf_counter())
        return torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)

    def median_step_seconds(self) -> float:
        """The median gap between successive tokens of the last call: its decoding step time."""
        gaps = [later - earlier for earlier, later in zip(self.stamps, self.stamps[1:])]
        if not gaps:
            raise ValueError("A per-token time needs a call that produced two tokens at least.")
        return statistics.median(gaps)


def make_generate_call(
    model,
    prompt_ids: torch.Tensor,
    new_tokens: int,
    cache: str,
    settings: BenchSettings,
    clock: StepClock | None = None,
    **kwargs,
):
    """
    A closure running greedy generation of exactly `new_tokens` tokens with the given cache kind, with `clock` (if
    given) noting the time of every token.
    """
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
            stopping_criteria=StoppingCriteriaList([clock]) if clock is not None else None,
            **options,
            **kwargs,
        )

    return call


def interleaved_step_seconds(
    calls: dict[str, Callable[[], object]], clocks: dict[str, StepClock], warmup: int, reps: int
) -> dict[str, list[float]]:
    """
    Runs the calls interleaved by `timing.interleaved_times` (`warmup` untimed rounds, then `reps`), and returns, per
    call and repetition, the median decoding step time its clock noted.
    """

    def restarting_clock(name: str) -> Callable[[], object]:
        def call():
            clocks[name].stamps.clear()
            return calls[name]()

        return call

    cases = {name: restarting_clock(name) for name in calls}
    readings = {name: clocks[name].median_step_seconds for name in calls}
    return interleaved_times(cases, warmup, reps, readings=readings)


def summarize_per_token(seconds: list[float]) -> dict:
    median = statistics.median(seconds)
    return {
        "per_token_ms": 1000 * median,
        "tokens_per_s": 1 / median if median > 0 else float("nan"),
        "per_token_ms_by_rep": [1000 * value for value in seconds],
    }
