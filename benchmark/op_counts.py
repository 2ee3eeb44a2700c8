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
The operators two calls dispatch, counted by PyTorch's profiler. Unlike a timing, the count is exact: when Arlow and
Llama dispatch the same operators the same number of times, any gap in their timings is noise of the machine.
"""

import collections
import re
from collections.abc import Callable

from torch.profiler import ProfilerActivity, profile


def operator_counts(call: Callable[[], object]) -> collections.Counter:
    with profile(activities=[ProfilerActivity.CPU]) as profiler:
        call()
    return collections.Counter(_generic_name(event.name) for event in profiler.events())


def _generic_name(name: str) -> str:
    # compiled regions and generated kernels are numbered per model ("Torch-Compiled Region: 0/1"); operators are not
    return name if name.startswith("aten::") else re.sub(r"\d+", "#", name)


def operator_count_difference(first: Callable[[], object], second: Callable[[], object]) -> dict[str, list[int]]:
    """`{operator: [count in first, count in second]}` for every operator dispatched a different number of times."""
    first_counts, second_counts = operator_counts(first), operator_counts(second)
    return {
        name: [first_counts[name], second_counts[name]]
        for name in sorted(set(first_counts) | set(second_counts))
        if first_counts[name] != second_counts[name]
    }
