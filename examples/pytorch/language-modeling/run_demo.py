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
The end-to-end demo behind `make demo`, on a machine with no network and a couple of CPU cores: pretrains the
`arlow-demo` preset from scratch with `run_pretrain_arlow.py` (the Trainer script) on the embedded default corpus,
training its tokenizer first; reports the evaluation loss before and after training, the first and last training
losses and the perplexity; then, in a fresh Python process, reloads the saved model and tokenizer with the Auto
classes and generates a sample.

Usage: `python run_demo.py [--output_dir DIR] [--max_steps N]`.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path


HERE = Path(__file__).resolve().parent
# One intra-op thread unless OMP_NUM_THREADS says otherwise: a model this small gains little from more, and on a
# machine whose cores are busy with other work, extra threads make each step many times slower.
CHILD_ENV = {"OMP_NUM_THREADS": "1", **os.environ, "TOKENIZERS_PARALLELISM": "false"}
TRAINING_OPTIONS = (
    "--model_preset=arlow-demo --do_train --do_eval --per_device_train_batch_size=16 --per_device_eval_batch_size=16 "
    "--block_size=128 --learning_rate=3e-3 --weight_decay=0.1 --warmup_steps=30 --lr_scheduler_type=cosine "
    "--tokenizer_train_documents=300 --max_eval_samples=64 --shuffle_buffer_size=500 --save_total_limit=1 "
    "--seed=42 --log_level=warning --report_to=none"
)


def generate_sample(model_dir: str):
    """Runs in a fresh process: reload what training saved, through the Auto classes, and generate."""
    import torch

    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    print(f"Reloaded {type(model).__name__} ({model.num_parameters():,} parameters) and {type(tokenizer).__name__}")
    torch.manual_seed(0)
    inputs = tokenizer("import os\n\n\ndef ", return_tensors="pt")
    output = model.generate(**inputs, max_new_tokens=80, do_sample=True, temperature=0.7, top_k=40)
    print(f"----- sample -----\n{tokenizer.decode(output[0], skip_special_tokens=True)}\n------------------")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output_dir", type=Path, default=HERE.parents[2] / "build" / "demo" / "arlow-demo")
    parser.add_argument("--max_steps", type=int, default=400)
    parser.add_argument("--generate_from", help=argparse.SUPPRESS)  # internal: the fresh-process generation step
    args = parser.parse_args()
    if args.generate_from:
        generate_sample(args.generate_from)
        return 0

    start = time.perf_counter()
    shutil.rmtree(args.output_dir, ignore_errors=True)  # the demo always starts from scratch, in its own folder
    print(f"Arlow demo: pretraining arlow-demo for {args.max_steps} steps into {args.output_dir}", flush=True)
    steps = [f"--max_steps={args.max_steps}", f"--logging_steps={max(1, args.max_steps // 10)}"]
    steps.append(f"--save_steps={max(1, args.max_steps // 2)}")
    script = [sys.executable, str(HERE / "run_pretrain_arlow.py"), f"--output_dir={args.output_dir}"]
    subprocess.run([*script, *TRAINING_OPTIONS.split(), *steps], check=True, env=CHILD_ENV)
    trained = time.perf_counter()
    print("Reloading in a fresh process and generating...", flush=True)
    subprocess.run([sys.executable, __file__, f"--generate_from={args.output_dir}"], check=True, env=CHILD_ENV)
    finished = time.perf_counter()

    def results(name: str) -> dict:
        return json.loads((args.output_dir / name).read_text(encoding="utf-8"))

    before, after = results("eval_before_training_results.json"), results("eval_results.json")
    losses = [entry["loss"] for entry in results("trainer_state.json")["log_history"] if "loss" in entry]
    print("\n===== Arlow demo summary =====")
    print(f"eval loss before training : {before['eval_loss']:.4f}")
    print(f"training loss first/last  : {losses[0]:.4f} / {losses[-1]:.4f}")
    print(f"eval loss after training  : {after['eval_loss']:.4f}")
    print(f"eval perplexity           : {after['eval_perplexity']:.2f}")
    print(f"model and tokenizer saved : {args.output_dir}")
    times = f"training {trained - start:.0f}s, reload+generate {finished - trained:.0f}s"
    print(f"time: {times}, total {finished - start:.0f}s")
    if not after["eval_loss"] < before["eval_loss"]:
        print("error: the evaluation loss did not go down")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
