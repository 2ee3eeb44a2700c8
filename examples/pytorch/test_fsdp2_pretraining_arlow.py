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
FSDP2 tests of the plain-loop pretraining script, with 2 CPU processes over gloo (`torchrun`): the parameters are
really sharded, the losses equal a single-process run of the same global batch (within bf16's precision with the
bf16 mixed-precision policy), and a run resumed from a sharded (torch.distributed.checkpoint) checkpoint continues
with exactly the losses and weights of the uninterrupted run, for a model without and with (frozen, unused)
cross-attention layers. The frozen cross-attention is never all-gathered, and a model built on the meta device gets
each process's shards initialised.

Run as a script under torchrun, this file is also the worker of the loss-equality test.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file


EXAMPLES_DIR = Path(__file__).resolve().parent / "language-modeling"
sys.path.insert(0, str(EXAMPLES_DIR))

from arlow_chunked_loss import apply_chunked_loss  # noqa: E402
from arlow_sharded_training import materialize_sharded_model, shard_model  # noqa: E402

from transformers import ArlowConfig, ArlowForCausalLM, ArlowTokenizer  # noqa: E402


STEP_LINE = re.compile(r"\[arlow\] step (\d+) loss ([\d.]+)")
MAX_STEPS, RESUME_AT = 6, 3
PARITY_STEPS, GLOBAL_BATCH, SEQUENCE_LENGTH = 4, 4, 16
CROSS_ATTENTION = {"plain": "cross_attention=false", "cross-attention": "cross_attention=true"}


def subprocess_env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}


def torchrun(*arguments: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", *arguments]
    result = subprocess.run(
        command, cwd=EXAMPLES_DIR, env=subprocess_env(), capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def tiny_config(cross_attention: bool) -> ArlowConfig:
    return ArlowConfig(
        vocab_size=96,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=SEQUENCE_LENGTH,
        attention_dropout=0.0,
        cross_attention=cross_attention,
    )


def train_steps(
    cross_attention: bool, rank: int = 0, world_size: int = 1, sharded: bool = False, mixed_precision: str = "no"
) -> list[float]:
    """
    `PARITY_STEPS` AdamW steps of a seeded tiny model on one fixed batch of `GLOBAL_BATCH` sequences; a process of a
    `world_size` run takes its rows of the batch. Returns the loss of the global batch at every step, and sharded, the
    number of elements all-gathered in the first step last.
    """
    torch.manual_seed(0)
    model = apply_chunked_loss(ArlowForCausalLM(tiny_config(cross_attention)))
    for name, parameter in model.named_parameters():
        parameter.requires_grad_(".cross_attn" not in name)
    if sharded:
        model = shard_model(model, "cpu", mixed_precision)
        # The mixed-precision policy computes in bf16; the sharded parameters (and so AdamW's states) stay float32.
        assert {parameter.dtype for parameter in model.parameters()} == {torch.float32}
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    generator = torch.Generator().manual_seed(1)
    batch = torch.randint(0, 96, (GLOBAL_BATCH, SEQUENCE_LENGTH), generator=generator)[rank::world_size]
    losses, gathered = [], []
    all_gather = torch.distributed.all_gather_single if sharded else None

    def counting_all_gather(output, *args, **kwargs):
        gathered.append(output.numel())
        return all_gather(output, *args, **kwargs)

    for step in range(PARITY_STEPS):
        if sharded:
            torch.distributed.all_gather_single = counting_all_gather if step == 0 else all_gather
        loss = model(input_ids=batch, labels=batch, skip_logits=True).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad()
        global_loss = loss.detach().clone()
        if world_size > 1:
            # Every process holds as many tokens, so the mean of the processes' losses is the global batch's.
            torch.distributed.all_reduce(global_loss, op=torch.distributed.ReduceOp.AVG)
        losses.append(global_loss.item())
    return losses + [sum(gathered)] if sharded else losses


def parity_worker(output_path: str):
    torch.distributed.init_process_group("gloo")
    rank, world_size = torch.distributed.get_rank(), torch.distributed.get_world_size()
    losses = {
        name: train_steps(cross == "cross_attention=true", rank, world_size, sharded=True)
        for name, cross in CROSS_ATTENTION.items()
    }
    losses["plain-bf16"] = train_steps(False, rank, world_size, sharded=True, mixed_precision="bf16")
    # Built on the meta device, each process initialises its own shards (each from its own generator on CPU).
    with torch.device("meta"):
        model = ArlowForCausalLM(tiny_config(cross_attention=True))
    model = materialize_sharded_model(shard_model(model, "cpu"), "cpu", seed=0)
    embeddings = model.model.embed_tokens.weight.to_local()
    initialised = {
        "embedding_std": embeddings.std().item(),
        "first_row": embeddings[0].tolist(),
        "norms": [p.full_tensor().tolist() for name, p in model.named_parameters() if name.endswith("norm.weight")],
        "tied": model.lm_head.weight is model.model.embed_tokens.weight,
    }
    per_rank = [None] * world_size
    torch.distributed.all_gather_object(per_rank, initialised)
    if rank == 0:
        Path(output_path).write_text(json.dumps({**losses, "initialised": per_rank}), encoding="utf-8")
    # Both processes leave together: a gloo process group torn down while its peer still talks to it can abort the
    # peer ("terminate called without an active exception").
    torch.distributed.barrier()
    torch.distributed.destroy_process_group()


def test_fsdp2_losses_equal_a_single_process_run_of_the_global_batch(tmp_path):
    output = tmp_path / "losses.json"
    torchrun(__file__, str(output))
    sharded = json.loads(output.read_text(encoding="utf-8"))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        # The cross-attention blocks (skipped without encoder states) are units of their own, never all-gathered:
        # beyond the plain model's, the only weights gathered are the layers' cross-attention norms, in the forward
        # and the backward.
        config = tiny_config(cross_attention=True)
        extra = 2 * config.num_hidden_layers * config.hidden_size
        assert sharded["cross-attention"].pop() == sharded["plain"].pop() + extra
        sharded["plain-bf16"].pop()
        for name, cross in CROSS_ATTENTION.items():
            single = train_steps(cross == "cross_attention=true")
            assert len(sharded[name]) == PARITY_STEPS
            torch.testing.assert_close(sharded[name], single, rtol=1e-5, atol=1e-5, msg=name)
            assert single[-1] < single[0]
        # With the bf16 mixed-precision policy: the same training within bf16's precision (8 bits of mantissa).
        torch.testing.assert_close(sharded["plain-bf16"], train_steps(False), rtol=2e-2, atol=2e-2)
        assert sharded["plain-bf16"] != sharded["plain"], "the bf16 policy computed in float32"
        assert sharded["plain-bf16"][-1] < sharded["plain-bf16"][0]
    finally:
        torch.set_num_threads(threads)
    initialised = sharded["initialised"]
    for rank in initialised:
        assert abs(rank["embedding_std"] - config.initializer_range) < 0.1 * config.initializer_range
        assert all(value == 1.0 for norm in rank["norms"] for value in norm) and rank["tied"]
    assert initialised[0]["first_row"] != initialised[1]["first_row"], "the two shards were drawn alike"


def script_args(output_dir: Path, tokenizer: str, cross_attention: str, **overrides) -> list[str]:
    arguments = {
        "model_preset": "arlow-tiny",
        "config_overrides": cross_attention,
        "tokenizer_name": tokenizer,
        "output_dir": str(output_dir),
        "max_steps": MAX_STEPS,
        "save_steps": RESUME_AT,
        "per_device_train_batch_size": 4,
        "per_device_eval_batch_size": 8,
        "block_size": 32,
        "learning_rate": 5e-3,
        "warmup_steps": 2,
        "logging_steps": 1,
        "max_eval_samples": 8,
        # Unshuffled, so the resumed stream is exactly the uninterrupted one (see the data pipeline's tests).
        "shuffle_buffer_size": 0,
        "dataloader_num_workers": 2,
        "seed": 7,
        "use_cpu": "true",
        "fsdp": "full_shard",
        "disable_tqdm": "true",
        **overrides,
    }
    return [f"--{key}={value}" for key, value in arguments.items()]


@pytest.fixture(scope="module")
def tiny_tokenizer(tmp_path_factory) -> str:
    from arlow_pretraining_data import embedded_text

    path = tmp_path_factory.mktemp("tokenizer")
    ArlowTokenizer().train_new_from_iterator(embedded_text("train").first_documents(40), 512).save_pretrained(path)
    return str(path)


@pytest.mark.parametrize("cross_attention", sorted(CROSS_ATTENTION), ids=sorted(CROSS_ATTENTION))
def test_fsdp2_shards_and_resumes_exactly_from_a_sharded_checkpoint(cross_attention, tmp_path, tiny_tokenizer):
    probe_dir, full_dir, resumed_dir = tmp_path / "probe", tmp_path / "full", tmp_path / "resumed"
    args = script_args(full_dir, tiny_tokenizer, CROSS_ATTENTION[cross_attention])
    full = torchrun(str(EXAMPLES_DIR.parent / "arlow_ddp_probe.py"), "no_trainer", str(probe_dir), *args)
    full_losses = {int(step): float(loss) for step, loss in STEP_LINE.findall(full.stdout)}
    assert sorted(full_losses) == list(range(1, MAX_STEPS + 1)), full.stdout + full.stderr

    ranks = [json.loads((probe_dir / f"rank-{rank}.json").read_text(encoding="utf-8")) for rank in (0, 1)]
    assert [record["world_size"] for record in ranks] == [2, 2]
    assert [record["global_step"] for record in ranks] == [MAX_STEPS, MAX_STEPS]
    assert not set(ranks[0]["samples"]) & set(ranks[1]["samples"]), "the two ranks read the same samples"
    assert ranks[0]["parameters_after"] != ranks[0]["parameters_before"]
    # Every parameter is split in two along its first dimension (even in the tiny preset): each rank holds half.
    assert ranks[0]["shards"].keys() == ranks[1]["shards"].keys()
    for name, (local, total) in ranks[0]["shards"].items():
        assert ranks[1]["shards"][name] == [local, total], name
        assert 2 * local == total, f"{name}: rank 0 holds {local} of {total} elements"
    assert any(".cross_attn" in name for name in ranks[0]["shards"]) == (cross_attention == "cross-attention")

    checkpoint = full_dir / f"checkpoint-{RESUME_AT}"
    assert (checkpoint / "model_and_optimizer" / ".metadata").is_file()
    resumed = torchrun(
        str(EXAMPLES_DIR / "run_pretrain_arlow_no_trainer.py"),
        *script_args(resumed_dir, tiny_tokenizer, CROSS_ATTENTION[cross_attention]),
        f"--resume_from_checkpoint={checkpoint}",
    )
    resumed_losses = {int(step): float(loss) for step, loss in STEP_LINE.findall(resumed.stdout)}
    assert sorted(resumed_losses) == list(range(RESUME_AT + 1, MAX_STEPS + 1)), resumed.stdout + resumed.stderr
    for step, loss in resumed_losses.items():
        assert loss == full_losses[step], f"step {step}: {loss} != {full_losses[step]}"
    final, reference = (
        load_file(str(resumed_dir / "model.safetensors")),
        load_file(str(full_dir / "model.safetensors")),
    )
    assert final.keys() == reference.keys()
    for name in final:
        torch.testing.assert_close(final[name], reference[name], rtol=0, atol=0, msg=name)


if __name__ == "__main__":
    parity_worker(sys.argv[1])
