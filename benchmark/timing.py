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
"""Interleaved timing: every case runs once per repetition, in alternating order, so drift hits all cases alike."""

import contextlib
import gc
import statistics
import time
from collections.abc import Callable, Iterator

import torch


def synchronize(device: str) -> None:
    """Waits for queued device work, so that a wall-clock reading covers it."""
    if device == "cuda":
        torch.cuda.synchronize()


@contextlib.contextmanager
def no_garbage_collection() -> Iterator[None]:
    """
    Collects garbage, then keeps Python's cycle collector off for the block, as `timeit` does: a collection that
    happens to fall inside one timed call (the tokenizer makes thousands of Python objects per call) would otherwise
    be charged to whichever case runs then. Reference counting still frees everything else.
    """
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def interleaved_times(
    cases: dict[str, Callable[[], object]],
    warmup: int,
    reps: int,
    device: str = "cpu",
    readings: dict[str, Callable[[], float]] | None = None,
) -> dict[str, list[float]]:
    """
    Runs every case `warmup` times untimed, then `reps` times timed, all interleaved (see `run_order`), so that a slow
    period of a shared machine or a thermal trend is spread over all cases. Returns the wall-clock seconds of each
    timed run, per case; or, for a case with a `readings` entry, what that reading returns right after each timed run.
    """
    if not cases:
        raise ValueError("`interleaved_times` needs at least one case.")
    names = list(cases)
    for index in range(warmup):
        for name in run_order(names, index):
            cases[name]()
            synchronize(device)
    times = {name: [] for name in names}
    for index in range(reps):
        for name in run_order(names, index):
            with no_garbage_collection():
                synchronize(device)
                start = time.perf_counter()
                cases[name]()
                synchronize(device)
                elapsed = time.perf_counter() - start
            times[name].append(readings[name]() if readings and name in readings else elapsed)
    return times


def run_order(names: list[str], index: int) -> list[str]:
    """
    The order of the cases in repetition `index`: the list rotated by `index`, reversed every other round of
    `len(names)` repetitions. Over `2 * len(names)` repetitions every case runs in every position, after and before
    every other case, equally often; for two cases this is ABBA: AB, BA, BA, AB.
    """
    shift = index % len(names)
    order = names[shift:] + names[:shift]
    return order[::-1] if (index // len(names)) % 2 else order


def summarize(times: list[float]) -> dict:
    """Median, minimum and maximum of a list of timings, and the timings themselves."""
    return {
        "median_s": statistics.median(times),
        "min_s": min(times),
        "max_s": max(times),
        "times_s": list(times),
    }


def paired_ratio(numerator: list[float], denominator: list[float]) -> float:
    """
    The median over repetitions of `numerator[r] / denominator[r]`. The two runs of one repetition are adjacent in
    time, so their ratio cancels slow periods of a shared machine better than a ratio of medians does.
    """
    if len(numerator) != len(denominator) or not numerator:
        raise ValueError("`paired_ratio` needs two non-empty lists of the same length.")
    return statistics.median(n / d for n, d in zip(numerator, denominator))
