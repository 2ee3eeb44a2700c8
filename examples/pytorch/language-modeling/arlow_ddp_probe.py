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
Runs `run_pretrain_arlow.py` unchanged, plus a callback that records what each rank did, for the multi-process test:

    torchrun --nproc_per_node 2 arlow_ddp_probe.py PROBE_DIR <run_pretrain_arlow.py arguments>

Each rank writes `PROBE_DIR/rank-<r>.json` with fingerprints of the first training samples its dataloader yields and
a digest of its parameters before and after training.
"""

import hashlib
import json
import os
import sys

import torch
from run_pretrain_arlow import main

from transformers import TrainerCallback


def parameters_digest(model) -> str:
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().to(torch.float32).contiguous().numpy().tobytes())
    return digest.hexdigest()


class RankProbe(TrainerCallback):
    def __init__(self, probe_dir: str, batches: int = 3):
        self.probe_dir = probe_dir
        self.batches = batches
        self.record = {}

    def on_train_begin(self, args, state, control, model=None, train_dataloader=None, **kwargs):
        # A fresh iterator over the deterministic stream yields the batches training is about to read.
        samples = []
        for batch_index, batch in enumerate(train_dataloader):
            if batch_index == self.batches:
                break
            samples.extend(hashlib.sha256(row.numpy().tobytes()).hexdigest() for row in batch["input_ids"])
        self.record.update(rank=args.process_index, world_size=args.world_size, samples=samples)
        self.record["parameters_before"] = parameters_digest(model)

    def on_train_end(self, args, state, control, model=None, **kwargs):
        self.record["parameters_after"] = parameters_digest(model)
        self.record["global_step"] = state.global_step
        os.makedirs(self.probe_dir, exist_ok=True)
        with open(os.path.join(self.probe_dir, f"rank-{args.process_index}.json"), "w", encoding="utf-8") as file:
            json.dump(self.record, file)


if __name__ == "__main__":
    sys.exit(main(sys.argv[2:], callbacks=(RankProbe(sys.argv[1]),)))
