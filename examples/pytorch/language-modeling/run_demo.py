#!/usr/bin/env python
# Copyright 2026 The Arlow Authors and The HuggingFace Inc. team. All rights reserved.
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
The end-to-end demo behind `make demo`, on a machine with no network and a couple of CPU cores:

1. pretrains the `arlow-demo` preset from scratch with `run_pretrain_arlow.py` (the Trainer script) on the embedded
   default corpus (the Python standard library's source files), training its tokenizer on the same data first;
2. reports the evaluation loss before and after training, the first and last training losses and the perplexity;
3. in a fresh Python process, reloads the saved model and tokenizer with `AutoModelForCausalLM`/`AutoTokenizer` and
   generates a sample.

Usage: `python run_demo.py [--output_dir DIR] [--max_steps N]`.
"""

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path


HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[2]
DEFAULT_OUTPUT_DIR = REPO_ROOT / "build" / "demo" / "arlow-demo"
SAMPLE_PROMPT = "import os\n\n\ndef "


def child_environment() -> dict[str, str]:
    """
    One intra-op thread unless OMP_NUM_THREADS says otherwise: a model this small gains little from more, and on a
    machine whose cores are busy with other work, extra threads make each step many times slower.
    """
    return {
        **os.environ,
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
        "PYTHONUNBUFFERED": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }


def training_command(output_dir: Path, max_steps: int) -> list[str]:
    return [
        sys.executable,
        str(HERE / "run_pretrain_arlow.py"),
        "--model_preset=arlow-demo",
        f"--output_dir={output_dir}",
        "--do_train",
        "--do_eval",
        f"--max_steps={max_steps}",
        "--per_device_train_batch_size=16",
        "--per_device_eval_batch_size=16",
        "--block_size=128",
        "--learning_rate=3e-3",
        "--weight_decay=0.1",
        "--warmup_steps=30",
        "--lr_scheduler_type=cosine",
        "--tokenizer_train_documents=300",
        "--max_eval_samples=64",
        "--shuffle_buffer_size=500",
        f"--logging_steps={max(1, max_steps // 10)}",
        f"--save_steps={max(1, max_steps // 2)}",
        "--save_total_limit=1",
        "--seed=42",
        "--log_level=warning",
        "--report_to=none",
    ]


def run_training(output_dir: Path, max_steps: int) -> dict[str, float]:
    """Runs the Trainer script, echoing its output, and collects the losses it reports."""
    process = subprocess.Popen(
        training_command(output_dir, max_steps), stdout=subprocess.PIPE, text=True, env=child_environment()
    )
    results = {}
    patterns = {
        "eval_loss_before": r"\[arlow\] eval loss before training: ([\d.]+)",
        "eval_loss_after": r"\[arlow\] eval loss after training: ([\d.]+)",
        "perplexity_after": r"\[arlow\] eval loss after training: [\d.]+ \(perplexity ([\d.]+)\)",
        "train_loss_first": r"\[arlow\] training loss: first logged ([\d.]+)",
        "train_loss_last": r"\[arlow\] training loss: first logged [\d.]+, last ([\d.]+)",
    }
    for line in process.stdout:
        print(line, end="", flush=True)
        for name, pattern in patterns.items():
            if match := re.search(pattern, line):
                results[name] = float(match.group(1))
    if process.wait() != 0:
        raise SystemExit(f"Training failed with exit status {process.returncode}")
    missing = sorted(set(patterns) - set(results))
    if missing:
        raise SystemExit(f"Training finished but did not report {missing}")
    return results


def generate_sample(model_dir: str) -> None:
    """Runs in a fresh process: reload what training saved, through the Auto classes, and generate."""
    import torch

    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    print(f"Reloaded {type(model).__name__} ({model.num_parameters():,} parameters) and {type(tokenizer).__name__}")
    inputs = tokenizer(SAMPLE_PROMPT, return_tensors="pt")
    torch.manual_seed(0)
    output = model.generate(**inputs, max_new_tokens=80, do_sample=True, temperature=0.7, top_k=40)
    print("----- sample -----")
    print(tokenizer.decode(output[0], skip_special_tokens=True))
    print("------------------")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output_dir", type=Path, default=DEFAULT_OUTPUT_DIR)
    parser.add_argument("--max_steps", type=int, default=400)
    parser.add_argument("--generate_from", help=argparse.SUPPRESS)  # internal: the fresh-process generation step
    args = parser.parse_args()
    if args.generate_from:
        generate_sample(args.generate_from)
        return 0

    start = time.perf_counter()
    if args.output_dir.exists():
        # The demo always starts from scratch; only its own output folder is removed.
        import shutil

        shutil.rmtree(args.output_dir)
    print(
        f"Arlow demo: pretraining the arlow-demo preset for {args.max_steps} steps into {args.output_dir}", flush=True
    )
    results = run_training(args.output_dir, args.max_steps)
    trained = time.perf_counter()

    print("Reloading in a fresh process and generating...", flush=True)
    subprocess.run(
        [sys.executable, __file__, "--generate_from", str(args.output_dir)], check=True, env=child_environment()
    )
    finished = time.perf_counter()

    print("\n===== Arlow demo summary =====")
    print(f"eval loss before training : {results['eval_loss_before']:.4f}")
    print(f"training loss first/last  : {results['train_loss_first']:.4f} / {results['train_loss_last']:.4f}")
    print(f"eval loss after training  : {results['eval_loss_after']:.4f}")
    print(f"eval perplexity           : {results['perplexity_after']:.2f}")
    print(f"model and tokenizer saved : {args.output_dir}")
    print(
        f"time: training {trained - start:.0f}s, reload+generate {finished - trained:.0f}s, "
        f"total {finished - start:.0f}s"
    )
    if not results["eval_loss_after"] < results["eval_loss_before"]:
        print("error: the evaluation loss did not go down")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
