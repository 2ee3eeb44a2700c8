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
The language-modelling loss alone (forward + backward of the output projection and cross-entropy), at the shapes of
the training benchmark: Arlow's chunked function against PyTorch's `linear_cross_entropy` with its chunking options
and against full logits, in float32 and bfloat16. This is the measurement behind the choice made in
`examples/pytorch/language-modeling/arlow_chunked_loss.py`.

    python benchmark/bench_loss_operator.py [--reps 10] [--dtypes float32 bfloat16] [--output results.json]
"""

import argparse
import json
import sys
from pathlib import Path

import torch
from bench_memory import cpu_step_peak_bytes
from timing import interleaved_times, paired_ratio, summarize


sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples" / "pytorch" / "language-modeling"))
import arlow_chunked_loss  # noqa: E402


# (name, tokens, hidden, vocabulary): the training benchmark's sizes at 2048 tokens per step, the 4 x 256-token batch
# users train at hidden 512, and a CPU-sized model with the seed's vocabulary/hidden ratio (131072 / 2304 = 57)
LOSS_SHAPES = (
    ("mini", 2048, 128, 4096),
    ("small", 2048, 256, 8192),
    ("medium", 2048, 512, 16384),
    ("users_512", 1024, 512, 8192),
    ("ratio57", 2048, 256, 14592),
)


def loss_cases(hidden_states, weight, targets) -> dict:
    """Closures running forward and backward of the loss, one per implementation."""
    lce = torch.nn.functional.linear_cross_entropy
    options = torch.nn.LinearCrossEntropyOptions
    count = (targets != -100).sum()

    def torch_operator(**option_kwargs):
        return lambda: lce(hidden_states, weight, targets, reduction="sum", options=options(**option_kwargs)) / count

    implementations = {
        "full_logits": lambda: torch.nn.functional.cross_entropy((hidden_states @ weight.T).float(), targets),
        "arlow": lambda: arlow_chunked_loss.chunked_causal_lm_loss(hidden_states, weight, shift_labels=targets),
        "torch_auto": torch_operator(),
        "torch_aspect_ratio": torch_operator(chunking_method="aspect_ratio", acc_policy="accurate"),
        "torch_rows_256": torch_operator(chunking_method=None, batch_chunk_size=256, acc_policy="accurate"),
    }

    def step(loss_function):
        def run():
            hidden_states.grad = weight.grad = None
            loss_function().backward()

        return run

    return {name: step(function) for name, function in implementations.items()}


def bench_loss_operator(reps: int, dtypes, log=print) -> list[dict]:
    rows = []
    for dtype_name in dtypes:
        dtype = getattr(torch, dtype_name)
        for name, tokens, hidden, vocab in LOSS_SHAPES:
            generator = torch.Generator().manual_seed(0)
            hidden_states = torch.randn(tokens, hidden, generator=generator).to(dtype).requires_grad_()
            weight = (0.02 * torch.randn(vocab, hidden, generator=generator)).to(dtype).requires_grad_()
            targets = torch.randint(0, vocab, (tokens,), generator=generator)
            cases = loss_cases(hidden_states, weight, targets)
            times = interleaved_times(cases, warmup=1, reps=reps)
            row = {"shape": name, "tokens": tokens, "hidden": hidden, "vocab": vocab, "dtype": dtype_name}
            for case, run in cases.items():
                row[case] = summarize(times[case])
                row[case]["step_peak_bytes"] = cpu_step_peak_bytes(run)
                row[case]["time_over_arlow"] = paired_ratio(times[case], times["arlow"])
            log(
                f"{dtype_name} {name} ({tokens}x{hidden}, vocab {vocab}): "
                + ", ".join(
                    f"{case} {1000 * row[case]['median_s']:.1f} ms ({row[case]['time_over_arlow']:.2f}x arlow), "
                    f"{row[case]['step_peak_bytes'] / 2**20:.1f} MiB"
                    for case in cases
                )
            )
            rows.append(row)
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=10)
    parser.add_argument("--dtypes", nargs="+", default=["float32", "bfloat16"], choices=["float32", "bfloat16"])
    parser.add_argument("--output", help="Write the rows as JSON here.")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    rows = bench_loss_operator(args.reps, args.dtypes)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as file:
            json.dump(rows, file, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
