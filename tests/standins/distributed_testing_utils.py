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
Project stand-in for `tests/distributed_testing_utils.py`, which the transformers 5.23.0 sdist's own
`tests/test_fsdp_mixin.py` and `tests/test_tensor_parallel_mixin.py` import but do not ship.

It provides exactly the names those two mixins use: the device type and process-group backend of this machine, the
device of a rank, and two ways of starting one process per rank (`_start_rank_processes`, and the `run_distributed`
decorator, which also sets up and tears down the process group around the decorated function).
"""

import os
import socket

from transformers import is_torch_available
from transformers.testing_utils import backend_torch_accelerator_module


if is_torch_available():
    import torch
    import torch.distributed as dist
    import torch.multiprocessing as mp


# Process-group backend of each device type; anything else falls back to gloo, which runs everywhere.
_BACKENDS = {"cpu": "gloo", "cuda": "nccl", "xpu": "xccl", "hpu": "hccl"}


def _get_distributed_device_type():
    """The device type ranks run on: the current accelerator's, or "cpu" (MPS cannot host a process group)."""
    device_type = torch._C._get_accelerator().type
    return "cpu" if device_type == "mps" else device_type


def _get_distributed_backend():
    return _BACKENDS.get(_get_distributed_device_type(), "gloo")


def _get_rank_device(rank):
    """The device of `rank`: the CPU for every rank on a CPU machine, else accelerator number `rank`."""
    device_type = _get_distributed_device_type()
    return torch.device("cpu") if device_type == "cpu" else torch.device(device_type, rank)


def _set_rank_device(rank):
    """Makes accelerator number `rank` the current one of this process (nothing to do on CPU)."""
    accelerator = backend_torch_accelerator_module(_get_distributed_device_type())
    if accelerator is not None and hasattr(accelerator, "set_device"):
        accelerator.set_device(rank)


def _start_rank_processes(function, args=(), nprocs=1):
    """Runs `function(rank, *args)` in `nprocs` fresh processes and waits for all; an error in any rank is raised."""
    mp.start_processes(function, args=args, nprocs=nprocs, join=True, start_method="spawn")


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("localhost", 0))
        return probe.getsockname()[1]


def _run_in_process_group(rank, function, world_size, port, function_args, function_kwargs):
    os.environ.update(
        WORLD_SIZE=str(world_size),
        RANK=str(rank),
        LOCAL_RANK=str(rank),
        MASTER_ADDR="localhost",
        MASTER_PORT=str(port),
    )
    _set_rank_device(rank)
    dist.init_process_group(backend=_get_distributed_backend(), rank=rank, world_size=world_size)
    try:
        function(rank, *function_args, **function_kwargs)
        dist.barrier()
    finally:
        dist.destroy_process_group()


def run_distributed(world_size):
    """
    Decorator: `run_distributed(world_size)(function)(*args, **kwargs)` calls `function(rank, *args, **kwargs)` on
    `world_size` processes joined in one process group, and raises if any rank fails.
    """

    def decorate(function):
        def run(*args, **kwargs):
            _start_rank_processes(
                _run_in_process_group,
                args=(function, world_size, _free_port(), args, kwargs),
                nprocs=world_size,
            )

        return run

    return decorate
