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
Runs one of the pretraining scripts unchanged and records what each rank did, for the multi-process tests:

    torchrun --nproc_per_node 2 arlow_ddp_probe.py trainer PROBE_DIR <run_pretrain_arlow.py arguments>
    accelerate launch --config_file accelerate_configs/ddp_cpu_2proc.yaml arlow_ddp_probe.py no_trainer PROBE_DIR \
        <run_pretrain_arlow_no_trainer.py arguments>

Each rank writes `PROBE_DIR/rank-<r>.json` with its rank, the world size, the number of optimizer and scheduler
steps, fingerprints of the first training samples it reads, a digest of the (whole, gathered) parameters before and
after training and, for a model sharded with `--fsdp`, how many elements of each parameter the rank holds. The Trainer
script is probed through a [`TrainerCallback`]; the plain loop, which has no callbacks, through instrumented versions
of the `Accelerator`, dataloader, scheduler and sharding function it uses.
"""

import hashlib
import json
import os
import sys

import arlow_pretraining_data
import run_pretrain_arlow
import run_pretrain_arlow_no_trainer
import torch
from accelerate import Accelerator
from arlow_sharded_training import local_shard_sizes
from torchdata.stateful_dataloader import StatefulDataLoader

from transformers import TrainerCallback


PROBED_BATCHES = 3


def parameters_digest(model) -> str:
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        if hasattr(tensor, "full_tensor"):  # a shard of an FSDP2 parameter: digest the whole parameter
            tensor = tensor.full_tensor()
        digest.update(tensor.detach().to(torch.float32).contiguous().numpy().tobytes())
    return digest.hexdigest()


def sample_fingerprints(batch) -> list[str]:
    return [hashlib.sha256(row.numpy().tobytes()).hexdigest() for row in batch["input_ids"]]


def write_record(probe_dir: str, record: dict):
    os.makedirs(probe_dir, exist_ok=True)
    with open(os.path.join(probe_dir, f"rank-{record['rank']}.json"), "w", encoding="utf-8") as file:
        json.dump(record, file)


class RankProbe(TrainerCallback):
    def __init__(self, probe_dir: str):
        self.probe_dir = probe_dir
        self.record = {}

    def on_train_begin(self, args, state, control, model=None, train_dataloader=None, **kwargs):
        # A fresh iterator over the deterministic stream yields the batches training is about to read.
        samples = []
        for batch_index, batch in enumerate(train_dataloader):
            if batch_index == PROBED_BATCHES:
                break
            samples.extend(sample_fingerprints(batch))
        self.record.update(rank=args.process_index, world_size=args.world_size, samples=samples)
        self.record["parameters_before"] = parameters_digest(model)

    def on_train_end(self, args, state, control, model=None, lr_scheduler=None, **kwargs):
        self.record["parameters_after"] = parameters_digest(model)
        self.record["global_step"] = state.global_step
        self.record["scheduler_steps"] = lr_scheduler.last_epoch
        write_record(self.probe_dir, self.record)


def instrument_plain_loop(probe_dir: str):
    """
    Makes the plain loop build a training dataloader that fingerprints the first batches as the loop reads them, a
    scheduler whose optimizer counts its steps, a sharding function that notes the shard sizes, and an `Accelerator`
    that digests the model and writes the record when training ends.
    """
    record = {"samples": [], "global_step": 0}
    probed = {}

    class RecordingDataLoader(StatefulDataLoader):
        def __iter__(self):
            for batch_index, batch in enumerate(super().__iter__()):
                if batch_index < PROBED_BATCHES:
                    record["samples"].extend(sample_fingerprints(batch))
                yield batch

    def count_step(optimizer, args, kwargs):
        record["global_step"] += 1

    def probed_get_scheduler(*args, optimizer, **kwargs):
        optimizer.register_step_post_hook(count_step)
        probed["scheduler"] = get_scheduler(*args, optimizer=optimizer, **kwargs)
        return probed["scheduler"]

    def probed_shard_model(model, *args, **kwargs):
        record["parameters_before"] = parameters_digest(model)
        probed["model"] = shard_model(model, *args, **kwargs)
        record["shards"] = local_shard_sizes(probed["model"])
        return probed["model"]

    class ProbedAccelerator(Accelerator):
        def prepare(self, *objects, **kwargs):
            prepared = super().prepare(*objects, **kwargs)
            for obj in prepared:
                if isinstance(obj, torch.nn.Module):
                    probed["model"] = obj
                    record["parameters_before"] = parameters_digest(self.unwrap_model(obj))
            return prepared

        def end_training(self):
            record.update(rank=self.process_index, world_size=self.num_processes)
            record["parameters_after"] = parameters_digest(self.unwrap_model(probed["model"]))
            record["scheduler_steps"] = probed["scheduler"].last_epoch
            write_record(probe_dir, record)
            super().end_training()

    get_scheduler = run_pretrain_arlow_no_trainer.get_scheduler
    shard_model = run_pretrain_arlow_no_trainer.shard_model
    arlow_pretraining_data.StatefulDataLoader = RecordingDataLoader
    run_pretrain_arlow_no_trainer.get_scheduler = probed_get_scheduler
    run_pretrain_arlow_no_trainer.shard_model = probed_shard_model
    run_pretrain_arlow_no_trainer.Accelerator = ProbedAccelerator


def main(kind: str, probe_dir: str, script_args: list[str]) -> int:
    if kind == "trainer":
        return run_pretrain_arlow.main(script_args, callbacks=(RankProbe(probe_dir),))
    if kind == "no_trainer":
        instrument_plain_loop(probe_dir)
        return run_pretrain_arlow_no_trainer.main(script_args)
    raise ValueError(f"Unknown script kind {kind!r}: use 'trainer' or 'no_trainer'")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[3:]))
