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
Benchmarks Arlow against LlamaForCausalLM in one process: training throughput, peak memory, decoding, cross-attention,
tokenizer, and model FLOP utilisation. `make bench` runs the full CPU suite, `make bench-quick` a smoke test.

    python benchmark/run_benchmarks.py                      # full, CPU float32, results in benchmark/results/
    python benchmark/run_benchmarks.py --quick              # tiny sizes, under a minute, results in build/
    python benchmark/run_benchmarks.py --device cuda --dtype bfloat16 --attn flash_attention_2
"""

import argparse
import os
import sys
import time
import traceback
from pathlib import Path


os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402
from bench_cross_attention import bench_cross_attention  # noqa: E402
from bench_decoding import bench_decoding  # noqa: E402
from bench_memory import bench_memory  # noqa: E402
from bench_mfu import measure_peak_matmul, model_flops_utilisation  # noqa: E402
from bench_settings import ATTENTION_BACKENDS, DEVICES, DTYPES, MODEL_SIZES, SECTIONS, BenchSettings  # noqa: E402
from bench_tokenizer import bench_tokenizer  # noqa: E402
from bench_training import bench_training  # noqa: E402
from machine import describe_machine, load_average  # noqa: E402
from report import markdown_report, write_report  # noqa: E402
from targets import evaluate_targets  # noqa: E402

from transformers.utils import logging  # noqa: E402


REPO_ROOT = Path(__file__).resolve().parents[1]
SECTION_FUNCTIONS = {
    "mfu": lambda settings, log: measure_peak_matmul(settings),
    "training": bench_training,
    "memory": bench_memory,
    "decoding": bench_decoding,
    "cross_attention": bench_cross_attention,
    "tokenizer": bench_tokenizer,
}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="Tiny sizes, a smoke test that asserts no speed.")
    parser.add_argument("--device", choices=DEVICES, default="cpu")
    parser.add_argument("--dtype", choices=DTYPES, default=None, help="float32 on CPU, bfloat16 on CUDA by default.")
    parser.add_argument(
        "--attn", choices=ATTENTION_BACKENDS, default="sdpa", help="attn_implementation of both models."
    )
    parser.add_argument("--sections", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument(
        "--sizes",
        nargs="+",
        choices=sorted(MODEL_SIZES),
        help="Model sizes of the training, memory and decoding benchmarks.",
    )
    parser.add_argument("--seq-lens", nargs="+", type=int, help="Sequence lengths of the training benchmarks.")
    parser.add_argument("--tokens-per-step", type=int, help="Tokens in a training batch (batch = this / seq len).")
    parser.add_argument("--reps", type=int, help="Timed repetitions of each training case.")
    parser.add_argument(
        "--threads",
        type=int,
        help="torch CPU threads. Default on CPU: 1, since on a machine whose cores are busy with other work, threads "
        "that wait for each other at every operator make timings slow and erratic. On CUDA: torch's choice.",
    )
    parser.add_argument("--output-dir", type=Path, help="Where to write the results (created if missing).")
    return parser.parse_args(argv)


def settings_from_args(args: argparse.Namespace) -> BenchSettings:
    overrides = {"sections": tuple(args.sections)}
    if args.sizes:
        for name in ("sizes", "memory_sizes", "decode_sizes", "compile_sizes"):
            overrides[name] = tuple(args.sizes)
    if args.seq_lens:
        overrides["seq_lens"] = tuple(args.seq_lens)
    if args.tokens_per_step:
        overrides["tokens_per_step"] = args.tokens_per_step
    if args.reps:
        overrides["reps"] = args.reps
    dtype = args.dtype or ("bfloat16" if args.device == "cuda" else "float32")
    return BenchSettings.for_run(args.device, args.quick, dtype=dtype, attn=args.attn, **overrides)


def add_mfu(results: dict) -> None:
    """Adds the MFU of every training figure, against the peak matrix-multiply rate measured in the same run."""
    if not results.get("mfu") or not results.get("training"):
        return
    peak = results["mfu"]["peak_flops_per_s"]
    for row in results["training"]:
        for name in ("llama", "arlow", "llama_copy"):
            row[name]["mfu"] = model_flops_utilisation(row["parameters"], row[name]["tokens_per_s"], peak)


def run(settings: BenchSettings, log=print) -> dict:
    if settings.device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("`--device cuda` was asked for, but torch sees no CUDA device.")
    results = {"machine": describe_machine(settings.device), "settings": settings.to_dict(), "errors": {}}
    start = time.perf_counter()
    for section in settings.sections:
        section_start = time.perf_counter()
        log(f"== {section}")
        try:
            results[section] = SECTION_FUNCTIONS[section](settings, log)
        except Exception as error:  # one failing section is reported, the others still run
            traceback.print_exc()
            results["errors"][section] = f"{type(error).__name__}: {error}"
        log(f"   {section} took {time.perf_counter() - section_start:.0f} s")
    results["wall_s"] = time.perf_counter() - start
    results["machine"]["load_average_at_end"] = load_average()
    add_mfu(results)
    results["targets"] = evaluate_targets(results)
    return results


def main(argv=None) -> int:
    args = parse_args(argv)
    settings = settings_from_args(args)
    if args.threads or settings.device == "cpu":
        torch.set_num_threads(args.threads or 1)
    logging.set_verbosity_error()  # generation warnings would drown the progress lines
    results = run(settings)
    stem = f"benchmark_{settings.device}_{settings.dtype}" + (f"_{settings.attn}" if settings.device == "cuda" else "")
    if settings.quick:
        stem += "_quick"
    default_directory = REPO_ROOT / ("build/benchmark-quick" if settings.quick else "benchmark/results")
    paths = write_report(results, args.output_dir or default_directory, stem)
    print(markdown_report(results))
    print(f"Wrote {paths['json']} and {paths['markdown']}")
    return 1 if results["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
