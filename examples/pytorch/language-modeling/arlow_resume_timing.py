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
Measures what resuming the training stream costs, on the demo's data and settings (`make demo`: the embedded corpus,
a 2048-token tokenizer trained on 300 documents, blocks of 128 tokens, batches of 16, a shuffle buffer of 500, seed
42): for each position, reads that many batches, saves the `StatefulDataLoader` state, then times a new dataloader
from its construction to its first batch after `load_state_dict`.

    python arlow_resume_timing.py --steps 10 2000 [--num_workers 0]
"""

import argparse
import tempfile
import time

from arlow_pretraining_data import (
    load_data_state,
    load_text_sources,
    packed_blocks,
    save_data_state,
    training_dataloader,
)
from arlow_pretraining_setup import train_tokenizer


def demo_stream(train_text, tokenizer):
    return packed_blocks(train_text, tokenizer, block_size=128, shuffle_buffer_size=500, seed=42)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, nargs="+", default=[10, 2000])
    parser.add_argument("--num_workers", type=int, default=0)
    args = parser.parse_args()
    train_text, _ = load_text_sources()
    tokenizer = train_tokenizer(train_text.first_documents(300), 2048)
    for steps in args.steps:
        started = time.perf_counter()
        loader = training_dataloader(demo_stream(train_text, tokenizer), batch_size=16, num_workers=args.num_workers)
        batches = iter(loader)
        for _ in range(steps):
            next(batches)
        reading = time.perf_counter() - started
        with tempfile.TemporaryDirectory() as checkpoint_dir:
            save_data_state(checkpoint_dir, loader, process_index=0, num_processes=1)
            del batches, loader
            started = time.perf_counter()
            resumed = training_dataloader(
                demo_stream(train_text, tokenizer), batch_size=16, num_workers=args.num_workers
            )
            load_data_state(checkpoint_dir, resumed, process_index=0, num_processes=1)
            next(iter(resumed))
            resuming = time.perf_counter() - started
        print(
            f"step {steps}: reading the first {steps} batches took {reading:.2f}s; "
            f"resuming (new dataloader to first batch) took {resuming:.2f}s",
            flush=True,
        )


if __name__ == "__main__":
    main()
