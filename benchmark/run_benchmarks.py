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
Arlow against LlamaForCausalLM in one process: training throughput, peak memory, decoding, cross-attention,
tokenizer, model FLOP utilisation and, on request, the loss operator (`harness.py` and `sections.py` hold the
measurements). `make bench` runs the CPU suite, `make bench-quick` the smoke test.

    python benchmark/run_benchmarks.py                      # CPU float32, results in benchmark/results/
    python benchmark/run_benchmarks.py --quick              # tiny sizes, results in build/benchmark-quick/
    python benchmark/run_benchmarks.py --device cuda --dtype bfloat16 --attn flash_attention_2   # or --attn sdpa
    python benchmark/run_benchmarks.py --sections training memory --sizes small --seq_lens 128 2048
    python benchmark/run_benchmarks.py --sections loss_operator --output_dir build/loss

Libraries do the generic work: `torch.utils.benchmark` times (`Timer.blocked_autorange`) and tabulates the timings
(`Compare`), `torch.utils.collect_env` describes the machine, `HfArgumentParser` maps the options onto
`BenchArguments`. Kept here is what they cannot do: judging the ratios against the targets, tables of what is not a
timing (memory, ratios, counts), and the plots people look at; `harness.py` says what it keeps and why.
"""

import datetime
import gc
import inspect
import json
import math
import os
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal


os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import matplotlib  # noqa: E402
import torch  # noqa: E402
from harness import MODEL_SIZES  # noqa: E402
from sections import SECTIONS  # noqa: E402
from torch.utils.benchmark import Compare  # noqa: E402
from torch.utils.collect_env import get_pretty_env_info  # noqa: E402

from transformers import HfArgumentParser  # noqa: E402
from transformers.utils import logging  # noqa: E402


matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SECTIONS = ["mfu", "training", "memory", "decoding", "cross_attention", "tokenizer"]
# What the options leave unset. CPU: a full run of about a quarter of an hour on two cores; `compile_sizes` are also
# decoded with a static cache under torch.compile; `*_seconds`: time measured per case and round after its warm-up.
# Rounds are multiples of twice the cases timed together (3 in training and decoding, 6 in the tokenizer), so that
# every case runs in every position equally often (`harness.run_order`).
PRESETS = {
    "cpu": {
        **{"sizes": ["mini", "small", "user512", "ratio57"], "seq_lens": [128, 512, 2048], "tokens_per_step": 2048},
        **{"memory_sizes": ["mini", "small", "medium", "user512", "ratio57"], "reps": 12, "min_run_time": 0.0},
        **{"decode_sizes": ["mini", "small"], "compile_sizes": ["mini"], "compile_backend": "inductor"},
        **{"prompt_len": 32, "new_tokens": 64, "decode_reps": 12, "cross_size": "mini", "cross_seq_len": 256},
        **{"encoder_lens": [64, 256, 1024, 4096], "tokenizer_vocab_size": 8192, "tokenizer_texts": None},
        **{"tokenizer_reps": 12, "tokenizer_seconds": 0.0, "matmul_sizes": [512, 1024, 2048], "matmul_seconds": 1.0},
        **{"loss_shapes": ["mini", "small", "medium", "user512", "ratio57"]},
    },
    # tiny models whose timings mean nothing, every code path; the compiled decoding is traced into one graph with the
    # eager backend, since inductor's code generation alone takes minutes on a small CPU
    "quick": {
        **{"sizes": ["tiny"], "seq_lens": [32, 64], "tokens_per_step": 128, "memory_sizes": ["tiny"], "reps": 2},
        **{"decode_sizes": ["tiny"], "compile_sizes": ["tiny"], "compile_backend": "eager", "prompt_len": 8},
        **{"new_tokens": 8, "decode_reps": 2, "cross_size": "tiny", "cross_seq_len": 32, "encoder_lens": [16, 64]},
        **{"tokenizer_vocab_size": 512, "tokenizer_texts": 200, "tokenizer_reps": 2, "matmul_sizes": [128, 256]},
        **{"matmul_seconds": 0.05, "loss_shapes": ["mini"]},
    },
    "cuda": {
        **{"sizes": ["medium", "1b"], "seq_lens": [128, 256, 512, 1024, 2048, 4096], "tokens_per_step": 16384},
        **{"memory_sizes": ["1b"], "reps": 6, "min_run_time": 0.5, "decode_sizes": ["medium", "1b"], "decode_reps": 6},
        **{"new_tokens": 128, "loss_shapes": ["seed"]},
        **{"compile_sizes": ["medium", "1b"], "cross_size": "1b", "cross_seq_len": 1024},
        **{"encoder_lens": [256, 1024, 4096, 16384], "matmul_sizes": [4096, 8192, 16384]},
    },
}
# (section, figure, bound, rows): the worst figure must be >= bound, or <= -bound when negative; None: information.
# Rows: every row ("mean": their geometric mean), those of the longest sequence, or the one naming the given case.
# Training: never slower than Llama, the step's peak never above Llama's (issue #15). Decoding and the tokenizer run
# the same kernels as their peers, so their ratios are the machine's noise, which the A/A controls measure.
# fmt: off
TARGETS = [
    ("training", "Arlow/Llama", 1.0, "mean"), ("training", "Arlow/Llama", 1.0, None), ("training", "A/A", None, None),
    *[("decoding", "Arlow/Llama", 0.98, which) for which in ("mean", None)], ("decoding", "A/A", None, None),
    ("memory", "Arlow/Llama", -1.0, None), ("memory", "Arlow/Llama ckpt", -1.0, None),
    ("memory", "ckpt cut", 0.5, "longest"), ("memory", "ckpt cut above held", 0.5, "longest"),
    ("cross_attention", "key projections per layer and generate", -1.0, None),
    ("tokenizer", "Arlow backend/this", 0.98, "plain in Arlow's pipeline"),
    *[("tokenizer", "Arlow backend/this", None, case) for case in ("plain + BOS template", "plain")],
    ("tokenizer", "this/plain", None, "plain copy (A/A)"),
]
# fmt: on
LABELS = ("size", "seq", "cache", "tokenizer", "encoder length")


@dataclass
class BenchArguments:
    """The options; everything else comes from `PRESETS` (CPU's, updated by `--quick`'s or CUDA's)."""

    quick: bool = field(default=False, metadata={"help": "Tiny sizes: a smoke test whose timings are not judged."})
    device: Literal["cpu", "cuda"] = "cpu"
    dtype: Literal["float32", "bfloat16", "float16"] | None = field(default=None, metadata={"help": "Default: "
        "float32 on CPU, bfloat16 on CUDA."})  # fmt: skip
    attn: Literal["sdpa", "eager", "flash_attention_2", "flash_attention_3", "flex_attention"] = "sdpa"
    sections: list[str] = field(default_factory=lambda: DEFAULT_SECTIONS, metadata={"choices": list(SECTIONS)})
    sizes: list[str] | None = field(default=None, metadata={"choices": list(MODEL_SIZES), "help": "Model sizes of "
        "every section (training, memory, decoding)."})  # fmt: skip
    seq_lens: list[int] | None = field(default=None, metadata={"help": "Training sequence lengths."})
    tokens_per_step: int | None = field(default=None, metadata={"help": "Tokens in a training batch."})
    autocast: bool = field(default=False, metadata={"help": "Training with float32 weights, computing in `dtype` "
        "under autocast (the Trainer's --bf16), instead of weights in `dtype`."})  # fmt: skip
    peak_tflops: float | None = field(default=None, metadata={"help": "The device's datasheet rate in `dtype` (H200 "
        "dense bfloat16: 989): MFU against it too, besides against the measured matmul rate."})  # fmt: skip
    compile: bool = field(default=True, metadata={"help": "Also decode `compile_sizes` under torch.compile."})
    reps: int | None = field(default=None, metadata={"help": "Interleaved rounds of each training case."})
    decode_reps: int | None = field(default=None, metadata={"help": "Interleaved rounds of each decoding case."})
    new_tokens: int | None = field(default=None, metadata={"help": "Tokens generated per decoding call."})
    threads: int | None = field(default=None, metadata={"help": "torch threads. On CPU 1 by default: on busy "
        "cores, threads waiting for each other at every operator made steps 2.5-3.5x slower and erratic."})  # fmt: skip
    output_dir: str | None = None
    note: str = field(default="", metadata={"help": "The conditions of the run, one line for the report."})

    def __post_init__(self):
        if self.sizes:
            self.memory_sizes = self.decode_sizes = self.compile_sizes = self.sizes
        for name, value in {**PRESETS["cpu"], **PRESETS["quick" if self.quick else self.device]}.items():
            setattr(self, name, value if getattr(self, name, None) is None else getattr(self, name))
        self.dtype = self.dtype or ("bfloat16" if self.device == "cuda" else "float32")
        self.compile_sizes = self.compile_sizes if self.compile else []
        self.max_positions = max(*self.seq_lens, self.cross_seq_len, self.prompt_len + self.new_tokens)
        too_long = [seq for seq in self.seq_lens if seq > self.tokens_per_step]
        if too_long or self.reps < 1:
            raise ValueError(f"Sequence lengths {too_long} exceed tokens_per_step, or reps ({self.reps}) is below 1.")


def geometric_mean(values: list) -> float:
    return math.exp(sum(map(math.log, values)) / len(values))


def evaluate_targets(results: dict) -> list:
    """`{"target", "value", "passed"}` per target (None: information) for the sections the run has."""
    targets = []
    for section, key, bound, which in TARGETS:
        rows = results.get(section) or []
        if which == "longest":
            rows = [row for row in rows if row["seq"] == max(row["seq"] for row in rows)]
        elif which not in (None, "mean"):
            rows = [row for row in rows if which in row.values()]
        if not rows:
            continue
        values, name = (
            [row[key] for row in rows],
            f"{section} {key}" + (f" [{which}]" if which not in (None, "mean", "longest") else ""),
        )
        if which == "mean" or bound is None:
            value = geometric_mean(values)
            scope = f"geometric mean of {len(values)}, range {min(values):.3f} to {max(values):.3f}"
            scope = scope if len(values) > 1 else ""
        else:
            worst = (max if bound < 0 else min)(rows, key=lambda row: row[key])
            value, scope = worst[key], "worst: " + " ".join(str(worst[label]) for label in LABELS if label in worst)
            scope = scope if len(values) > 1 else ""
        name += f" {'<=' if bound < 0 else '>='} {abs(bound):.2f}" if bound is not None else ""
        passed = None if bound is None else value <= -bound if bound < 0 else value >= bound
        targets.append({"target": name + f" ({scope})" * bool(scope), "value": value, "passed": passed})
    return targets


def table(rows: list) -> list:
    """A markdown table of the rows' scalar fields (lists and dicts stay in the JSON)."""

    def cell(value) -> str:
        if isinstance(value, float):
            return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}" if abs(value) < 1000 else f"{value:.0f}"
        return str(value)

    header = [key for key, value in (rows or [{}])[0].items() if not isinstance(value, (dict, list))]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] if rows else []
    return lines + ["| " + " | ".join(cell(row.get(key, "")) for key in header) + " |" for row in rows] + [""]


def markdown(results: dict, compare: str) -> str:
    args, quick = results["arguments"], results["arguments"]["quick"]
    verdicts = {None: "info", True: "not judged" if quick else "pass", False: "not judged" if quick else "MISS"}
    lines = ["# Arlow vs Llama benchmark", "", results["note"] or "(no note)", ""]
    lines += [
        f"Started {results['started_utc']} UTC, {results['wall_s']:.0f} s; load average (1, 5, 15 min) at start",
        f"{results['load_start']}, at end {results['load_end']}; {args['device']} {args['dtype']}, attention",
        f"{args['attn']}, {results['threads']} torch thread(s); rounds {args['reps']} (decoding {args['decode_reps']}).",
        "",
    ]
    targets = [
        {"target": t["target"], "value": t["value"], "result": verdicts[t["passed"]]} for t in results["targets"]
    ]
    lines += ["## Targets", "", *table(targets), *[f"- `{name}` FAILED: {e}" for name, e in results["errors"].items()]]
    for section in args["sections"]:
        if results.get(section):
            lines += [f"## {section}", "", inspect.getdoc(SECTIONS[section]), "", *table(results[section])]
    lines += ["## Timings (`torch.utils.benchmark.Compare`: medians of every timed run)", "", "```", compare, "```"]
    machine = "\n".join(line for line in results["machine"].splitlines() if not line.startswith(("Flags", "Vuln")))
    return "\n".join([*lines, "", "## Machine (`torch.utils.collect_env`)", "", "```", machine, "```", ""])


def plots(results: dict, directory: Path, stem: str) -> list:
    """Training tokens/s and peak memory against sequence length per size; cross-attention decoding time."""
    written, rows = [], results.get("cross_attention")
    for section, unit in (("training", " tok/s"), ("memory", " MiB")):
        by_size = {}
        for row in results.get(section) or []:
            by_size.setdefault(row["size"], []).append(row)
        by_size = {size: rows for size, rows in by_size.items() if len(rows) > 1}
        if by_size:
            figure, axes = plt.subplots(1, len(by_size), figsize=(3.5 * len(by_size), 3), squeeze=False)
            for axis, (size, size_rows) in zip(axes[0], by_size.items()):
                seqs = [row["seq"] for row in size_rows]
                for key in (key for key in size_rows[0] if key.endswith(unit) and not key.startswith("llama_copy")):
                    axis.plot(seqs, [row[key] for row in size_rows], "o-", label=key)
                axis.set_xscale("log", base=2)
                axis.set(xticks=seqs, xticklabels=seqs, xlabel="sequence length", title=f"{section}, {size}")
                axis.legend(fontsize=7)
            written.append(save(figure, directory / f"{stem}_{section}.png"))
    if rows:
        figure, axis = plt.subplots(figsize=(4.5, 3))
        lengths, off = [row["encoder length"] for row in rows], rows[0]["off ms/token"]
        axis.plot(lengths, [row["decoding ms/token"] for row in rows], "o-", label="measured (cached K/V)")
        axis.plot(lengths, [off + row["re-projection ms"] for row in rows], "x:", label="K/V re-projected each step")
        axis.axhline(off, color="gray", linestyle="--", label="cross-attention off")
        axis.set(xscale="log", xlabel="encoder length", ylabel="ms per decoded token", title="Arlow cross-attention")
        axis.legend(fontsize=7)
        written.append(save(figure, directory / f"{stem}_cross_attention_decoding.png"))
    return written


def save(figure, path: Path) -> str:
    figure.tight_layout()
    figure.savefig(path, dpi=72)
    plt.close(figure)
    return path.name


def main(argv=None) -> int:
    (args,) = HfArgumentParser(BenchArguments).parse_args_into_dataclasses(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("`--device cuda` was asked for, but torch sees no CUDA device.")
    torch.set_num_threads(args.threads or (1 if args.device == "cpu" else torch.get_num_threads()))
    logging.set_verbosity_error()  # generation warnings would drown the progress lines
    started, start = datetime.datetime.now(datetime.UTC), time.perf_counter()
    load = lambda: [round(value, 2) for value in os.getloadavg()]  # noqa: E731
    results = {"note": args.note, "started_utc": started.isoformat(timespec="seconds"), "load_start": load()}
    results.update(arguments=vars(args), threads=torch.get_num_threads(), machine=get_pretty_env_info(), errors={})
    measurements = []
    for section in args.sections:
        print(f"== {section}", flush=True)
        try:
            results[section], timed = SECTIONS[section](args, results)
            measurements += timed
        except Exception as error:  # a failing section is reported, the others still run
            traceback.print_exc()
            results["errors"][section] = f"{type(error).__name__}: {error}"
        gc.collect()  # the section's models, before the next one builds its own (1B models on a GPU)
    results.update(wall_s=time.perf_counter() - start, load_end=load(), targets=evaluate_targets(results))
    stem = f"benchmark_{args.device}_{args.dtype}" + f"_{args.attn}" * (args.device == "cuda") + "_quick" * args.quick
    directory = Path(args.output_dir or REPO_ROOT / ("build/benchmark-quick" if args.quick else "benchmark/results"))
    directory.mkdir(parents=True, exist_ok=True)
    results["plots"] = plots(results, directory, stem)
    report = markdown(results, str(Compare(measurements)))
    (directory / f"{stem}.json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    (directory / f"{stem}.md").write_text(report, encoding="utf-8")
    print(report, f"\nWrote {directory / stem}.json and .md", sep="")
    return 1 if results["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
