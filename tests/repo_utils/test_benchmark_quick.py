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
Tests of `benchmark/`: the quick mode end to end (in a subprocess, every figure present in the JSON; no speed is
asserted), and the measuring pieces whose results are exact (memory replay, interleaving order, ratios, targets).
"""

import gc
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch


REPO_ROOT = Path(__file__).resolve().parents[2]
BENCHMARK_DIR = REPO_ROOT / "benchmark"
sys.path.insert(0, str(BENCHMARK_DIR))

from bench_memory import cpu_step_peak_bytes, create_optimizer_state, held_bytes  # noqa: E402
from bench_settings import BenchSettings  # noqa: E402
from decoding import StepClock, interleaved_step_seconds, make_generate_call  # noqa: E402
from model_pairs import build_arlow, random_token_ids  # noqa: E402
from targets import evaluate_targets  # noqa: E402
from timing import interleaved_times, no_garbage_collection, paired_ratio, run_order  # noqa: E402


MIB = 2**20
MEASURED = {"median_s", "min_s", "max_s", "times_s"}


def run_quick_benchmark(output_dir: Path) -> dict:
    """Runs `run_benchmarks.py --quick` in a subprocess; returns its JSON results."""
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1"}
    completed = subprocess.run(
        [sys.executable, str(BENCHMARK_DIR / "run_benchmarks.py"), "--quick", "--output-dir", str(output_dir)],
        capture_output=True,
        text=True,
        env=environment,
        cwd=REPO_ROOT,
    )
    assert completed.returncode == 0, (
        f"quick benchmark failed:\n{completed.stdout[-4000:]}\n{completed.stderr[-4000:]}"
    )
    results = json.loads((output_dir / "benchmark_cpu_float32_quick.json").read_text(encoding="utf-8"))
    return results


def _positive(value) -> bool:
    return isinstance(value, (int, float)) and value > 0


def _check_describes_machine_and_settings(results, output_dir):
    assert results["errors"] == {}
    for key in ("cpu_model", "cpu_logical_cores", "torch", "transformers", "date_utc", "load_average_at_end"):
        assert key in results["machine"], key
    assert results["settings"]["quick"] is True


def _check_training_and_mfu_figures(results, output_dir):
    settings = results["settings"]
    assert _positive(results["mfu"]["peak_flops_per_s"])
    rows = results["training"]
    assert [(row["size"], row["seq_len"]) for row in rows] == [
        (size, seq) for size in settings["sizes"] for seq in settings["seq_lens"]
    ]
    for row in rows:
        assert row["max_logit_difference_at_start"] < 1e-4  # the two models hold the same weights
        assert isinstance(row["operator_count_difference_llama_arlow"], dict)
        assert _positive(row["ratio_arlow_over_llama"]) and _positive(row["ratio_llama_copy_over_llama"])
        for name in ("llama", "arlow", "llama_copy"):
            assert row[name].keys() >= MEASURED
            assert len(row[name]["times_s"]) == settings["reps"]
            assert _positive(row[name]["tokens_per_s"]) and _positive(row[name]["mfu"])


def _check_memory_figures(results, output_dir):
    rows = results["memory"]
    assert len(rows) == len(results["settings"]["memory_sizes"]) * len(results["settings"]["seq_lens"])
    for row in rows:
        for name in ("llama", "arlow"):
            for mode in ("no_checkpointing", "checkpointing"):
                memory = row[name][mode]
                assert _positive(memory["held_bytes"]) and _positive(memory["step_peak_above_held_bytes"])
                assert memory["peak_bytes"] == memory["held_bytes"] + memory["step_peak_above_held_bytes"]
            # checkpointing keeps fewer activations, whatever the size
            assert row[name]["checkpointing"]["peak_bytes"] < row[name]["no_checkpointing"]["peak_bytes"]
        assert _positive(row["ratio_arlow_over_llama_no_checkpointing"])
        assert _positive(row["ratio_arlow_over_llama_checkpointing"])


def _check_decoding_figures(results, output_dir):
    caches = {(row["size"], row["cache"]) for row in results["decoding"]}
    assert ("tiny", "dynamic") in caches and ("tiny", "static_compiled") in caches
    for row in results["decoding"]:
        assert row["same_greedy_tokens"] is True
        assert isinstance(row["operator_count_difference_llama_arlow"], dict)
        assert _positive(row["ratio_llama_copy_over_llama"])
        for name in ("llama", "arlow", "llama_copy"):
            assert len(row[name]["per_token_ms_by_rep"]) == results["settings"]["decode_reps"]
        if row["cache"] == "static_compiled":
            assert row["compiled"] == {"llama": True, "arlow": True, "llama_copy": True}


def _check_cross_attention_reuses_encoder_keys(results, output_dir):
    cross = results["cross_attention"]
    lengths = results["settings"]["encoder_lens"]
    assert [row["encoder_len"] for row in cross["training"]] == lengths
    assert all(_positive(row["ratio_on_over_off"]) for row in cross["training"])
    decoding = cross["decoding"]
    assert [row["encoder_len"] for row in decoding["rows"]] == lengths
    for row in decoding["rows"]:
        # projected once per layer for the whole generation, not once per decoded token
        assert row["cross_key_projections_per_generate"] == decoding["num_layers"]
        assert _positive(row["reprojection_ms"])
    assert "per_token_ms_per_1k_encoder_tokens" in decoding


def _check_tokenizer_figures(results, output_dir):
    tokenizer = results["tokenizer"]
    assert tokenizer["vocab_size"]["arlow"] == tokenizer["vocab_size"]["plain"]
    for name in ("arlow", "arlow_backend", "plain_same_pipeline", "plain_with_bos", "plain", "plain_copy"):
        assert _positive(tokenizer[name]["bytes_per_s"]) and _positive(tokenizer[name]["tokens_per_s"])
    for key in (
        "ratio_arlow_over_plain",
        "ratio_arlow_backend_over_plain",
        "ratio_arlow_backend_over_plain_with_bos",
        "ratio_arlow_backend_over_plain_same_pipeline",
        "ratio_plain_with_bos_over_plain",
        "ratio_plain_copy_over_plain",
    ):
        assert _positive(tokenizer[key]), key
    # the like-for-like reference adds the BOS token as Arlow does: one more token per text than the plain BPE
    assert tokenizer["tokens"]["plain_with_bos"] == tokenizer["tokens"]["plain"] + tokenizer["texts"]
    assert tokenizer["tokens"]["plain_copy"] == tokenizer["tokens"]["plain"]


def _check_writes_report_and_plots(results, output_dir):
    markdown = (output_dir / "benchmark_cpu_float32_quick.md").read_text(encoding="utf-8")
    for heading in ("## Targets", "## Training step", "## Peak memory", "## Greedy decoding", "## Cross-attention"):
        assert heading in markdown
    assert len(results["plots"]) == 3
    for name in results["plots"]:
        assert (output_dir / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert {target["target"].split(" Arlow")[0] for target in results["targets"]} >= {
        "training tokens/s",
        "decoding tokens/s",
    }


def test_quick_benchmark_reports_every_figure(tmp_path):
    # one test, so that the benchmark runs once even when pytest-xdist spreads the tests over workers
    results = run_quick_benchmark(tmp_path)
    _check_describes_machine_and_settings(results, tmp_path)
    _check_training_and_mfu_figures(results, tmp_path)
    _check_memory_figures(results, tmp_path)
    _check_decoding_figures(results, tmp_path)
    _check_cross_attention_reuses_encoder_keys(results, tmp_path)
    _check_tokenizer_figures(results, tmp_path)
    _check_writes_report_and_plots(results, tmp_path)


def test_cpu_step_peak_replays_allocations_exactly():
    def step():
        first = torch.empty(MIB, dtype=torch.uint8)
        second = torch.empty(2 * MIB, dtype=torch.uint8)
        del first
        third = torch.empty(MIB // 2, dtype=torch.uint8)
        del second, third

    assert cpu_step_peak_bytes(step) == 3 * MIB


def test_held_bytes_counts_parameters_and_optimizer_state_once():
    model = torch.nn.Linear(256, 128, bias=False)
    optimizer = torch.optim.AdamW(model.parameters())
    assert held_bytes(model, optimizer) == 256 * 128 * 4
    model(torch.randn(2, 256)).sum().backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    # weights, exp_avg and exp_avg_sq, plus AdamW's scalar step counter
    assert held_bytes(model, optimizer) == 3 * 256 * 128 * 4 + 4
    # the benchmark's shortcut to that state (zero gradients, no forward pass) holds exactly as much
    fresh_model = torch.nn.Linear(256, 128, bias=False)
    fresh_optimizer = torch.optim.AdamW(fresh_model.parameters())
    create_optimizer_state(fresh_model, fresh_optimizer)
    assert held_bytes(fresh_model, fresh_optimizer) == 3 * 256 * 128 * 4 + 4
    assert all(parameter.grad is None for parameter in fresh_model.parameters())


def test_step_clock_notes_every_token_without_stopping_generation():
    settings = BenchSettings.for_run("cpu", True, dtype="float32", attn="sdpa")
    model = build_arlow("tiny", settings, cross_attention=False)
    prompt_ids = random_token_ids(model.config.vocab_size, 1, 4, "cpu")
    clocks = {"a": StepClock("cpu"), "b": StepClock("cpu")}
    calls = {name: make_generate_call(model, prompt_ids, 6, "dynamic", settings, clocks[name]) for name in clocks}

    output = calls["a"]()
    assert output.shape == (1, 4 + 6)  # the clock never ends the generation early
    assert len(clocks["a"].stamps) == 6  # one note per produced token: 5 gaps, the decoding steps
    assert clocks["a"].stamps == sorted(clocks["a"].stamps)

    seconds = interleaved_step_seconds(calls, clocks, warmup=1, reps=3)
    assert {name: len(values) for name, values in seconds.items()} == {"a": 3, "b": 3}
    assert all(value > 0 for values in seconds.values() for value in values)
    with pytest.raises(ValueError, match="two tokens"):
        StepClock("cpu").median_step_seconds()


def test_interleaved_times_alternates_order():
    calls = []
    cases = {"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}
    times = interleaved_times(cases, warmup=1, reps=3)
    # warm-up AB, then AB, BA, BA
    assert calls == ["a", "b", "a", "b", "b", "a", "b", "a"]
    assert {name: len(values) for name, values in times.items()} == {"a": 3, "b": 3}


def test_run_order_puts_every_case_in_every_position():
    names = ["a", "b", "c"]
    orders = [run_order(names, index) for index in range(6)]
    assert orders[:3] == [["a", "b", "c"], ["b", "c", "a"], ["c", "a", "b"]]
    for position in range(3):
        assert sorted(order[position] for order in orders) == ["a", "a", "b", "b", "c", "c"]


def test_paired_ratio_is_median_of_per_repetition_ratios():
    assert paired_ratio([2.0, 4.0, 30.0], [1.0, 1.0, 1.0]) == 4.0
    with pytest.raises(ValueError, match="same length"):
        paired_ratio([1.0], [1.0, 2.0])


def test_targets_pass_and_miss():
    def memory_row(seq_len, llama_peak, arlow_peak, reduction):
        row = {"size": "small", "seq_len": seq_len}
        row["arlow"] = {"checkpointing_reduction": reduction, "checkpointing_reduction_above_held": reduction + 0.1}
        row["ratio_arlow_over_llama_no_checkpointing"] = arlow_peak / llama_peak
        row["ratio_arlow_over_llama_checkpointing"] = 1.0
        return row

    results = {
        "training": [
            {"size": "small", "seq_len": 128, "ratio_arlow_over_llama": 1.03},
            {"size": "small", "seq_len": 256, "ratio_arlow_over_llama": 0.99},
        ],
        "decoding": [{"size": "small", "cache": "dynamic", "ratio_arlow_over_llama": 0.99}],
        "memory": [memory_row(128, 100, 101, 0.2), memory_row(256, 100, 105, 0.6)],
    }
    results["memory"][1]["arlow"]["checkpointing_reduction"] = 0.45  # above held stays 0.7
    verdicts = [target["passed"] for target in evaluate_targets(results)]
    # training: mean 1.01 passes, worst 0.99 misses (training asks for 1.00, decoding for 0.98); decoding 0.99 passes
    # twice; memory ratio 1.05 misses;
    # checkpointing at the longest sequence (256) cuts 45% of the whole peak (miss) and 70% above held (pass)
    assert verdicts == [True, False, True, True, False, False, True]


def test_settings_reject_bad_values():
    with pytest.raises(ValueError, match="device"):
        BenchSettings(device="tpu")
    with pytest.raises(ValueError, match="Unknown model sizes"):
        BenchSettings(sizes=("huge",))
    with pytest.raises(ValueError, match="tokens_per_step"):
        BenchSettings(seq_lens=(4096,), tokens_per_step=2048)


def test_no_garbage_collection_pauses_and_restores_the_collector():
    assert gc.isenabled()
    with no_garbage_collection():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), no_garbage_collection():
        raise RuntimeError("a failing case")
    assert gc.isenabled()
