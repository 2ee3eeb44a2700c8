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
Tests of `benchmark/`: the quick mode end to end (in a subprocess: every section's figures and every target present;
no speed is asserted), and the pieces whose results are exact (memory replay, interleaving order, targets, options).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch


BENCHMARK_DIR = Path(__file__).resolve().parents[2] / "benchmark"
sys.path.insert(0, str(BENCHMARK_DIR))

from harness import cpu_step_peak_bytes, create_optimizer_state, paired_ratio, run_order, step_memory  # noqa: E402
from run_benchmarks import BenchArguments, evaluate_targets  # noqa: E402
from torch.utils.benchmark import Measurement, TaskSpec  # noqa: E402

from transformers import HfArgumentParser  # noqa: E402


def test_quick_benchmark_reports_every_figure(tmp_path):
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1"}
    command = [sys.executable, str(BENCHMARK_DIR / "run_benchmarks.py"), "--quick", "--output_dir", str(tmp_path)]
    command += ["--sections", "mfu", "training", "memory", "decoding", "cross_attention", "tokenizer", "loss_operator"]
    completed = subprocess.run(command, capture_output=True, text=True, env=environment)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    results = json.loads((tmp_path / "benchmark_cpu_float32_quick.json").read_text(encoding="utf-8"))
    assert results["errors"] == {} and "PyTorch version" in results["machine"]
    assert [(row["size"], row["seq"]) for row in results["training"]] == [("tiny", 32), ("tiny", 64)]
    for row in results["training"] + results["decoding"]:
        assert row["Arlow/Llama"] > 0 and row["A/A"] > 0 and row["llama_copy tok/s"] > 0
    assert all(row["MFU arlow"] > 0 and row["TFLOP/s arlow"] > 0 for row in results["training"])
    for row in results["memory"]:  # checkpointing keeps fewer activations, whatever the size
        assert row["arlow ckpt MiB"] < row["arlow MiB"] and row["llama ckpt MiB"] < row["llama MiB"]
        assert row["held MiB"] < row["arlow ckpt MiB"]
    assert [row["cache"] for row in results["decoding"]] == ["dynamic", "static_compiled"]
    assert all(row["same greedy tokens"] and row["operators"] == 0 for row in results["decoding"])
    assert results["decoding"][1]["compiled"] is True
    # the encoder keys/values are projected once per layer for a whole generate call, not once per token
    assert [row["key projections per layer and generate"] for row in results["cross_attention"]] == [1, 1]
    tokenizer = {row["tokenizer"]: row for row in results["tokenizer"]}
    texts = results["arguments"]["tokenizer_texts"]
    assert tokenizer["plain + BOS template"]["tokens"] == tokenizer["plain"]["tokens"] + texts
    assert tokenizer["plain copy (A/A)"]["tokens"] == tokenizer["plain"]["tokens"]
    assert len(results["targets"]) == 15
    losses = {row["loss"]: row for row in results["loss_operator"]}
    assert losses["arlow"]["time/Arlow's"] == 1 and losses["arlow"]["peak MiB"] < losses["full logits"]["peak MiB"]
    assert len(losses) == 5
    # against float32 full logits, in float32: the chunked loss and its gradients agree to rounding
    assert max(losses["arlow"][f"error {name}"] for name in ("loss", "grad hidden", "grad weight")) < 1e-5
    markdown = (tmp_path / "benchmark_cpu_float32_quick.md").read_text(encoding="utf-8")
    assert "## Targets" in markdown and "## cross_attention" in markdown and "Times are in" in markdown
    assert [(tmp_path / name).read_bytes()[:4] for name in results["plots"]] == [b"\x89PNG"] * 3


def test_cpu_step_peak_replays_allocations_exactly():
    def step():
        first, second = torch.empty(2**20, dtype=torch.uint8), torch.empty(2**21, dtype=torch.uint8)
        del first
        third = torch.empty(2**19, dtype=torch.uint8)
        del second, third

    assert cpu_step_peak_bytes(step) == 3 * 2**20


def test_step_memory_counts_held_state_once():
    model = torch.nn.Linear(256, 128, bias=False)
    optimizer = torch.optim.AdamW(model.parameters())
    create_optimizer_state(model, optimizer)
    assert all(parameter.grad is None for parameter in model.parameters())
    memory = step_memory(model, optimizer, lambda: torch.empty(1000, dtype=torch.uint8), "cpu")
    # weights, exp_avg and exp_avg_sq, plus AdamW's scalar step counter
    assert memory == {"held_bytes": 3 * 256 * 128 * 4 + 4, "above_held_bytes": 1000, "peak_bytes": 3 * 131072 + 1004}


def test_run_order_puts_every_case_in_every_position_and_pairs_rounds():
    orders = [run_order(["a", "b", "c"], index) for index in range(6)]
    assert orders[:4] == [["a", "b", "c"], ["b", "c", "a"], ["c", "a", "b"], ["c", "b", "a"]]
    for position in range(3):
        assert sorted(order[position] for order in orders) == ["a", "a", "b", "b", "c", "c"]
    measurements = [
        [Measurement(1, [seconds], TaskSpec("pass", "pass")) for seconds in times] for times in ([2, 4, 30], [1, 1, 1])
    ]
    assert paired_ratio(*measurements) == 4.0
    with pytest.raises(ValueError, match="same length"):
        paired_ratio(measurements[0], measurements[1][:2])


def test_targets_pass_and_miss():
    def row(size, seq, ratio, cut):
        return {"size": size, "seq": seq, "Arlow/Llama": ratio, "A/A": 1.0, "Arlow/Llama ckpt": 0.9, "ckpt cut": cut}

    results = {
        "training": [row("small", 128, 1.03, 0), row("small", 256, 0.99, 0)],
        "memory": [{**row("small", 128, 1.05, 0.2), "ckpt cut above held": 0.6}],
    }
    results["memory"].append({**row("small", 256, 0.9, 0.45), "ckpt cut above held": 0.7})
    verdicts = [(target["target"].split(" (")[0], target["passed"]) for target in evaluate_targets(results)]
    # the geometric mean 1.01 passes, the worst figure 0.99 misses; memory 1.05 misses; at the longest sequence (256)
    # checkpointing cuts 45% of the whole peak (miss) and 70% above the held state (pass)
    assert verdicts == [
        ("training Arlow/Llama >= 1.00", True),
        ("training Arlow/Llama >= 1.00", False),
        ("training A/A", None),
        ("memory Arlow/Llama <= 1.00", False),
        ("memory Arlow/Llama ckpt <= 1.00", True),
        ("memory ckpt cut >= 0.50", False),
        ("memory ckpt cut above held >= 0.50", True),
    ]


def test_options_take_the_presets_and_reject_bad_values():
    parse = HfArgumentParser(BenchArguments).parse_args_into_dataclasses
    (quick,) = parse(["--quick"])
    assert quick.sizes == ["tiny"] and quick.dtype == "float32" and quick.compile_backend == "eager"
    (cuda,) = parse(["--device", "cuda", "--attn", "flash_attention_2", "--sizes", "medium"])
    assert (
        cuda.dtype == "bfloat16" and cuda.memory_sizes == cuda.decode_sizes == ["medium"] and cuda.min_run_time == 0.5
    )
    (gpu_check,) = parse(["--device", "cuda", "--sizes", "1b", "--no_compile", "--autocast"])
    assert gpu_check.compile_sizes == [] and gpu_check.autocast and gpu_check.loss_shapes == ["seed"]
    with pytest.raises(SystemExit):
        parse(["--attn", "flash"])
    with pytest.raises(ValueError, match="tokens_per_step"):
        BenchArguments(seq_lens=[4096], tokens_per_step=2048)
    with pytest.raises(ValueError, match="reps"):
        parse(["--reps", "0"])
