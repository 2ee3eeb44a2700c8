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
"""The machine's peak matrix-multiply rate, measured in the run, and the model FLOP utilisation derived from it."""

import torch
from bench_settings import BenchSettings
from model_pairs import torch_dtype
from timing import interleaved_times, summarize


def measure_peak_matmul(settings: BenchSettings) -> dict:
    """
    Times `torch.mm` of square matrices of each size in `settings.matmul_sizes` (2 n^3 floating-point operations each)
    in the benchmark's dtype and thread count. The peak is the best median rate over the sizes: the rate a large,
    well-shaped matrix multiply reaches on this machine right now, which is what a model's matmuls could reach at most.
    """
    dtype = torch_dtype(settings.dtype)
    generator = torch.Generator().manual_seed(0)
    cases, operands = {}, {}
    for size in settings.matmul_sizes:
        first = torch.randn(size, size, generator=generator).to(settings.device, dtype)
        second = torch.randn(size, size, generator=generator).to(settings.device, dtype)
        operands[size] = (first, second)
        cases[str(size)] = lambda pair=operands[size]: torch.mm(*pair)
    times = interleaved_times(cases, warmup=1, reps=settings.matmul_reps, device=settings.device)
    by_size = {}
    for size in settings.matmul_sizes:
        summary = summarize(times[str(size)])
        summary["flops_per_s"] = 2 * size**3 / summary["median_s"]
        by_size[str(size)] = summary
    best = max(by_size, key=lambda size: by_size[size]["flops_per_s"])
    return {
        "dtype": settings.dtype,
        "by_size": by_size,
        "peak_flops_per_s": by_size[best]["flops_per_s"],
        "at_size": int(best),
    }


def model_flops_utilisation(parameters: int, tokens_per_s: float, peak_flops_per_s: float) -> float:
    """
    MFU as in the PaLM paper without the attention term: a training step does about 6 floating-point operations per
    parameter per token (2 forward, 4 backward), so `6 * parameters * tokens_per_s / peak`. The attention scores add
    work this count leaves out, so at long sequences the true utilisation is somewhat higher than the figure.
    """
    if peak_flops_per_s <= 0:
        raise ValueError(f"The peak rate must be positive, got {peak_flops_per_s}.")
    return 6 * parameters * tokens_per_s / peak_flops_per_s
