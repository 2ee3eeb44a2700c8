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
For the multi-process tests: runs one of the pretraining scripts unchanged and records what each rank did.

    torchrun --nproc_per_node 2 arlow_ddp_probe.py trainer|no_trainer PROBE_DIR <script arguments>

Each rank writes `PROBE_DIR/rank-<r>.json`: its rank and world size, its optimizer and scheduler steps, fingerprints
of the first training samples it read, digests of the whole (gathered) parameters after they were initialised and
after training, and how many elements of each parameter the rank holds.
"""

import hashlib
import json
import os
import sys
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parent / "language-modeling"))

import arlow_pretraining_data  # noqa: E402
import run_pretrain_arlow  # noqa: E402
import run_pretrain_arlow_no_trainer  # noqa: E402
import torch  # noqa: E402
from accelerate import Accelerator  # noqa: E402
from torch.optim.optimizer import register_optimizer_step_post_hook  # noqa: E402
from torchdata.stateful_dataloader import StatefulDataLoader  # noqa: E402

from transformers import TrainerCallback  # noqa: E402


PROBED_BATCHES = 3
SCRIPTS = {"trainer": run_pretrain_arlow, "no_trainer": run_pretrain_arlow_no_trainer}


def parameters_digest(model) -> str:
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        tensor = tensor.full_tensor() if hasattr(tensor, "full_tensor") else tensor  # an FSDP2 shard: the whole
        digest.update(name.encode() + tensor.detach().to(torch.float32).contiguous().numpy().tobytes())
    return digest.hexdigest()


def main(kind: str, probe_dir: str, script_args: list[str]) -> int:
    script = SCRIPTS[kind]
    record = {"samples": [], "global_step": 0, "scheduler_steps": 0}
    models = []

    class RecordingDataLoader(StatefulDataLoader):
        def __iter__(self):
            first = not record["samples"]
            for index, batch in enumerate(super().__iter__()):
                if first and index < PROBED_BATCHES:
                    record["samples"] += [
                        hashlib.sha256(row.numpy().tobytes()).hexdigest() for row in batch["input_ids"]
                    ]
                yield batch

    def probed(function, digest: bool):
        def wrapper(*args, **kwargs):
            model = function(*args, **kwargs)
            models.append(model)
            if digest:
                record["parameters_before"] = parameters_digest(model)
            return model

        return wrapper

    def finish():
        record.update(rank=torch.distributed.get_rank(), world_size=torch.distributed.get_world_size())
        record["parameters_after"] = parameters_digest(models[0])
        record["shards"] = {
            name: (getattr(parameter, "to_local", lambda: parameter)().numel(), parameter.numel())
            for name, parameter in models[0].named_parameters()
        }
        os.makedirs(probe_dir, exist_ok=True)
        Path(probe_dir, f"rank-{record['rank']}.json").write_text(json.dumps(record), encoding="utf-8")

    def count_step(optimizer, args, kwargs):
        record["global_step"] += 1

    def scheduler_step(self, *args, **kwargs):
        scheduler_step.original(self, *args, **kwargs)
        record["scheduler_steps"] = self.last_epoch

    def end_training(self):
        finish()
        end_training.original(self)

    arlow_pretraining_data.StatefulDataLoader = RecordingDataLoader
    register_optimizer_step_post_hook(count_step)
    scheduler_step.original = torch.optim.lr_scheduler.LRScheduler.step
    torch.optim.lr_scheduler.LRScheduler.step = scheduler_step
    # A model built on the meta device (FSDP2) is digested once its shards are initialised.
    sharded = any(argument.startswith("--fsdp") for argument in script_args)
    script.build_model = probed(script.build_model, digest=not sharded)
    if sharded:
        script.materialize_sharded_model = probed(script.materialize_sharded_model, digest=True)
    if kind == "trainer":

        class Finish(TrainerCallback):
            def on_train_end(self, *args, **kwargs):
                finish()

        return script.main(script_args, callbacks=(Finish(),))
    # The plain loop's `end_training` destroys the process group that the digest of a sharded model needs.
    end_training.original = Accelerator.end_training
    Accelerator.end_training = end_training
    return script.main(script_args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[3:]))
