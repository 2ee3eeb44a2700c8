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
Tests of the Arlow pretraining toolkit: the data pipeline on a synthetic corpus (packing, sharding, the endless stream,
resuming, sources), then the scripts on the `arlow-tiny` preset and the embedded corpus (both training paths,
interruption and exact resume, 2-process DDP and FSDP2 on CPU, presets, bad input).

As a script: `resume-timing [STEPS ...]` measures what resuming costs on the demo's settings (README.md quotes it;
default steps: 10 2000); under torchrun it is the multi-process tests' worker, `parity OUTPUT` (see `parity_worker`)
or `trainer|no_trainer PROBE_DIR <script arguments>` (see `probe`).
"""

import hashlib
import itertools
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import datasets
import pytest
import torch
from safetensors.torch import load_file
from torch.optim.optimizer import register_optimizer_step_post_hook

from transformers import ArlowConfig, ArlowForCausalLM, ArlowTokenizer, AutoModelForCausalLM, AutoTokenizer


EXAMPLES_DIR = Path(__file__).resolve().parent / "language-modeling"
sys.path.insert(0, str(EXAMPLES_DIR))

import arlow_pretraining_data  # noqa: E402
import arlow_pretraining_setup as setup  # noqa: E402
import run_pretrain_arlow  # noqa: E402
import run_pretrain_arlow_no_trainer  # noqa: E402
from arlow_chunked_loss import apply_chunked_loss  # noqa: E402
from arlow_pretraining_data import (  # noqa: E402
    TextSource,
    build_eval_blocks,
    is_held_out,
    load_data_state,
    load_text_sources,
    pack_documents,
    packed_blocks,
    python_stdlib_source_files,
    save_data_state,
    training_dataloader,
)


SCRIPTS = {"trainer": run_pretrain_arlow, "no_trainer": run_pretrain_arlow_no_trainer}
STEP_LINE = re.compile(r"\[arlow\] step (\d+) loss ([\d.]+)")
MAX_STEPS, INTERRUPT_CHECK_STEPS, PROBED_BATCHES = 30, 5, 3
PARITY_STEPS, GLOBAL_BATCH, SEQUENCE_LENGTH = 4, 4, 16
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]


NUM_DOCUMENTS = 60
# How many documents the synthetic generator has produced in this process (readers with num_workers=0 only).
DOCUMENTS_READ = Counter()


def synthetic_text(index: int) -> str:
    return f"document {index} says " + " ".join(f"w{index}x{j}" for j in range(5 + index % 7))


def _generate_synthetic(indices: list[int]):
    for index in indices:
        DOCUMENTS_READ["documents"] += 1
        yield {"text": synthetic_text(index)}


def synthetic_text_source(count: int = NUM_DOCUMENTS) -> TextSource:
    """`count` documents, one shard each (datasets splits a `gen_kwargs` list into shards), as the embedded corpus."""
    features = datasets.Features({"text": datasets.Value("string")})
    indices = {"indices": list(range(count))}
    return TextSource("synthetic", datasets.IterableDataset.from_generator(_generate_synthetic, features, indices))


@pytest.fixture(scope="module")
def tokenizer():
    return ArlowTokenizer().train_new_from_iterator([synthetic_text(index) for index in range(NUM_DOCUMENTS)], 300)


def document_ids(tokenizer, blocks) -> set[int]:
    # Blocks are decoded one by one: a word cut at a block boundary loses its "w" or its "x" and is not counted.
    text = "|".join(tokenizer.decode(block) for block in blocks)
    return {int(match) for match in re.findall(r"w(\d+)x\d", text)}


def read_blocks(dataset, num_workers: int = 0, limit: int | None = None) -> list[tuple]:
    loader = training_dataloader(dataset, batch_size=2, num_workers=num_workers)
    return [tuple(row.tolist()) for batch in itertools.islice(loader, limit) for row in batch["input_ids"]]


def test_packing_concatenates_documents_with_end_of_text_into_endless_blocks(tokenizer):
    texts = [synthetic_text(index) for index in range(10)]
    blocks = pack_documents({"text": texts}, tokenizer, block_size=16)["input_ids"]
    expected = []
    for text in texts:
        expected += tokenizer(text, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    assert all(len(block) == 16 for block in blocks) and len(blocks) == len(expected) // 16
    assert list(itertools.chain.from_iterable(blocks)) == expected[: len(blocks) * 16]
    # the dataloader's batches: input ids and labels, the same (the model shifts them); the stream repeats itself
    one_pass = read_blocks(packed_blocks(synthetic_text_source(), tokenizer, 8, shuffle_buffer_size=0, repeat=False))
    batch = next(iter(training_dataloader(packed_blocks(synthetic_text_source(), tokenizer, 8, 0), batch_size=2)))
    assert set(batch) == {"input_ids", "labels"} and batch["input_ids"].shape == (2, 8)
    torch.testing.assert_close(batch["input_ids"], batch["labels"])
    blocks = read_blocks(
        packed_blocks(synthetic_text_source(), tokenizer, 8, shuffle_buffer_size=0), limit=len(one_pass)
    )
    assert blocks == one_pass + one_pass  # `limit` counts batches of 2: two passes


def test_processes_and_workers_read_disjoint_documents(tokenizer):
    # One pass, no shuffling: 2 processes x 2 workers = 4 readers, every document read by exactly one of them.
    ranks = []
    for rank in range(2):
        stream = packed_blocks(
            synthetic_text_source(), tokenizer, 8, 0, 0, rank, 2, repeat=False, tokenize_batch_size=4
        )
        ranks.append(read_blocks(stream, num_workers=2))
    seen = [document_ids(tokenizer, blocks) for blocks in ranks]
    assert seen[0] and seen[1] and not seen[0] & seen[1] and not set(ranks[0]) & set(ranks[1])
    # Only the tail of each tokenized batch of documents is dropped, so nearly every document is read.
    assert len(seen[0] | seen[1]) >= NUM_DOCUMENTS - 8


@pytest.mark.parametrize("num_workers", [0, 2])
def test_shuffled_resume_reads_nothing_twice(tokenizer, num_workers, tmp_path):
    """
    datasets does not save the content of a shuffle buffer: the blocks it held at the checkpoint are not read in this
    pass (at most `buffer_size` per reader). No block, and no document, is read twice.
    """
    buffer_size = 10

    def loader():
        stream = packed_blocks(synthetic_text_source(), tokenizer, 8, buffer_size, 5, 1, 2, repeat=False)
        return training_dataloader(stream, batch_size=2, num_workers=num_workers)

    one_pass = read_blocks(loader().dataset, num_workers=num_workers)
    interrupted = loader()
    batches = iter(interrupted)
    before = [tuple(row.tolist()) for _ in range(5) for row in next(batches)["input_ids"]]
    save_data_state(str(tmp_path), interrupted, process_index=1, num_processes=2)
    resumed = loader()
    load_data_state(str(tmp_path), resumed, process_index=1, num_processes=2)
    after = [tuple(row.tolist()) for batch in resumed for row in batch["input_ids"]]
    assert len(before + after) == len(set(before + after)), "a block was read twice across the resume"
    assert not document_ids(tokenizer, before) & document_ids(tokenizer, after), "a document was read twice"
    readers = max(num_workers, 1)
    assert len(one_pass) - buffer_size * readers - 2 * readers <= len(before + after) < len(one_pass)


def test_resume_cost_does_not_grow_with_the_position(tokenizer, tmp_path):
    """Resuming reads at most the current shard's documents and one tokenized batch, not everything before it."""

    def loader():
        stream = packed_blocks(synthetic_text_source(), tokenizer, 8, shuffle_buffer_size=0, tokenize_batch_size=4)
        return training_dataloader(stream, batch_size=2)

    documents_read_to_resume = {}
    for consumed in (2, 80):
        interrupted = loader()
        batches = iter(interrupted)
        for _ in range(consumed):
            next(batches)
        save_data_state(str(tmp_path / str(consumed)), interrupted, 0, 1)
        resumed = loader()
        load_data_state(str(tmp_path / str(consumed)), resumed, 0, 1)
        DOCUMENTS_READ.clear()
        next(iter(resumed))
        documents_read_to_resume[consumed] = DOCUMENTS_READ["documents"]
    assert documents_read_to_resume[80] <= documents_read_to_resume[2] + 4, documents_read_to_resume
    assert documents_read_to_resume[80] <= 8, documents_read_to_resume
    # each process resumes its own part of the stream: the same number of processes only
    with pytest.raises(ValueError, match="written by 1 processes, this run has 2"):
        load_data_state(str(tmp_path / "2"), resumed, process_index=0, num_processes=2)
    with pytest.raises(ValueError, match="no data stream position for process 1"):
        load_data_state(str(tmp_path / "2"), resumed, process_index=1, num_processes=2)


def test_embedded_default_splits_the_standard_library():
    files = python_stdlib_source_files()
    assert len(files) > 100 and not any("site-packages" in path.parts for path in files)
    train, validation = load_text_sources()
    # One shard per distinct file: processes and workers split the corpus by files.
    assert len(files) - 10 <= train.dataset.n_shards <= len(files)
    held_out = validation.first_documents(5)
    assert len(held_out) == 5 and all(is_held_out(text, 5) for text in held_out)
    assert not any(is_held_out(text, 5) for text in train.first_documents(20))


@pytest.mark.parametrize("suffix", [".txt", ".jsonl"])
def test_local_files_stream_with_a_held_out_part(tmp_path, suffix):
    texts = [synthetic_text(index) for index in range(200)]
    path = tmp_path / f"corpus{suffix}"
    if suffix == ".txt":
        path.write_text("\n\n".join(texts) + "\n", encoding="utf-8")
    else:
        path.write_text("".join(json.dumps({"text": text}) + "\n" for text in texts), encoding="utf-8")
    train, validation = load_text_sources(train_file=str(path), validation_split_percentage=10)
    train_texts = [text.strip() for text in train.first_documents(1000)]
    validation_texts = [text.strip() for text in validation.first_documents(1000)]
    assert sorted(train_texts + validation_texts) == sorted(texts)
    assert validation_texts and not set(train_texts) & set(validation_texts)


def test_missing_column_bad_extension_and_short_evaluation_data_are_clear_errors(tmp_path, tiny_tokenizer):
    path = tmp_path / "corpus.jsonl"
    path.write_text(json.dumps({"content": "hello"}) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match="has no column 'text'"):
        load_text_sources(train_file=str(path))[0].first_documents(1)
    with pytest.raises(ValueError, match="fewer than block_size=4096 tokens"):
        build_eval_blocks(synthetic_text_source(1), AutoTokenizer.from_pretrained(tiny_tokenizer), 4096, max_blocks=5)
    (tmp_path / "corpus.csv").write_text("text\nhello\n", encoding="utf-8")
    with pytest.raises(ValueError, match="unsupported extension"):
        load_text_sources(train_file=str(tmp_path / "corpus.csv"))


@pytest.fixture(scope="module")
def tiny_tokenizer(tmp_path_factory) -> str:
    """A 512-token tokenizer trained on the start of the embedded corpus, shared by the script runs."""
    path = tmp_path_factory.mktemp("tokenizer")
    texts = arlow_pretraining_data.embedded_text("train").first_documents(40)
    ArlowTokenizer().train_new_from_iterator(texts, 512).save_pretrained(path)
    return str(path)


# Unshuffled: datasets does not save a shuffle buffer's content, so only an unshuffled stream resumes with exactly the
# batches of an uninterrupted run (test_shuffled_resume_reads_nothing_twice tests the shuffled resume).
SCRIPT_ARGS = (
    f"--model_preset=arlow-tiny --max_steps={MAX_STEPS} --per_device_train_batch_size=4 --per_device_eval_batch_size=8"
    " --block_size=32 --learning_rate=5e-3 --warmup_steps=3 --logging_steps=1 --save_steps=1000 --max_eval_samples=16 "
    f"--shuffle_buffer_size=0 --interrupt_check_steps={INTERRUPT_CHECK_STEPS} --seed=7 --disable_tqdm=true "
    "--log_level=warning --tokenizer_train_documents=40"
).split()


def script_args(output_dir: Path, tokenizer: str | None, **overrides) -> list[str]:
    """The scripts' arguments; later ones win. The Trainer runs train their own tokenizer, the others load one."""
    overrides = {"output_dir": output_dir, **({"tokenizer_name": tokenizer} if tokenizer else {}), **overrides}
    return SCRIPT_ARGS + [f"--{key}={value}" for key, value in overrides.items()]


def with_actions(kind: str, args: list[str]) -> list[str]:
    return ["--do_train", "--do_eval", *args] if kind == "trainer" else args


def launch(*command: str) -> str:
    result = subprocess.run(command, cwd=EXAMPLES_DIR, env=ENV, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def logged_losses(output: str) -> dict[int, float]:
    return {int(step): float(loss) for step, loss in STEP_LINE.findall(output)}


def assert_same_weights(directory: Path, reference_dir: Path):
    final, reference = load_file(directory / "model.safetensors"), load_file(reference_dir / "model.safetensors")
    assert final.keys() == reference.keys()
    for name in final:
        torch.testing.assert_close(final[name], reference[name], rtol=0, atol=0, msg=name)


@pytest.fixture(autouse=True)
def one_thread():
    """One torch thread, as the scripts' processes and the multi-process workers have (OMP_NUM_THREADS=1)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def run_in_process(kind: str, args: list[str], output_dir: Path):
    """Runs a script's `main` in this process; returns its status, logged losses and eval losses."""
    returncode = SCRIPTS[kind].main(with_actions(kind, args))
    if (output_dir / "trainer_state.json").is_file():
        history = json.loads((output_dir / "trainer_state.json").read_text())["log_history"]
    else:
        history = json.loads((output_dir / "log_history.json").read_text())
    evals = {
        when: json.loads((output_dir / name).read_text())["eval_loss"]
        for when, name in (("before", "eval_before_training_results.json"), ("after", "eval_results.json"))
        if (output_dir / name).is_file()  # a resumed run does not evaluate before training
    }
    losses = {entry["step"]: entry["loss"] for entry in history if "loss" in entry}
    return returncode, f"log history: {history}", losses, evals


@pytest.fixture(scope="module")
def uninterrupted_runs(tmp_path_factory, tiny_tokenizer):
    """One full run per script, made on first use: the reference of the path and resume tests."""

    class Runs(dict):
        def __missing__(self, kind):
            output_dir = tmp_path_factory.mktemp(f"{kind}-full")
            args = script_args(output_dir, None if kind == "trainer" else tiny_tokenizer)
            self[kind] = (output_dir, *run_in_process(kind, args, output_dir))
            return self[kind]

    return Runs()


@pytest.mark.parametrize("kind", sorted(SCRIPTS))
def test_script_trains_saves_and_reloads(kind, uninterrupted_runs):
    output_dir, returncode, output, losses, evals = uninterrupted_runs[kind]
    assert returncode == 0, output
    assert sorted(losses) == list(range(1, MAX_STEPS + 1)), output
    assert evals["after"] < evals["before"] - 0.5, output
    model, tokenizer = AutoModelForCausalLM.from_pretrained(output_dir), AutoTokenizer.from_pretrained(output_dir)
    assert type(model) is ArlowForCausalLM and model.config.num_hidden_layers == 2
    assert model.config.vocab_size == len(tokenizer) == 512 and model.config.eos_token_id == tokenizer.eos_token_id


@pytest.mark.parametrize(("kind", "signum"), [("trainer", signal.SIGTERM), ("no_trainer", signal.SIGINT)])
def test_interrupted_run_stops_at_a_checked_step_and_resumes_exactly(
    kind, signum, tmp_path, tiny_tokenizer, uninterrupted_runs
):
    reference_dir, _, _, reference_losses, _ = uninterrupted_runs[kind]
    args = script_args(tmp_path, None if kind == "trainer" else tiny_tokenizer)
    command = [sys.executable, str(EXAMPLES_DIR / f"{SCRIPTS[kind].__name__}.py"), *with_actions(kind, args)]
    process = subprocess.Popen(
        command, cwd=EXAMPLES_DIR, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines = []
    for line in process.stdout:
        lines.append(line)
        if (match := STEP_LINE.search(line)) and int(match.group(1)) == 3:
            process.send_signal(signum)
    output = "".join(lines)
    assert process.wait(timeout=600) == 128 + signum, output
    first_losses = logged_losses(output)
    # The signal arrives after step 3; the processes check for it every INTERRUPT_CHECK_STEPS steps.
    stopped_at = max(first_losses)
    assert stopped_at % INTERRUPT_CHECK_STEPS == 0 and 3 < stopped_at < MAX_STEPS, output
    assert (tmp_path / f"checkpoint-{stopped_at}").is_dir(), output
    returncode, output, resumed_losses, _ = run_in_process(kind, [*args, "--resume_from_checkpoint=latest"], tmp_path)
    assert returncode == 0, output
    # The Trainer's log history carries the steps before the interruption over from the checkpoint.
    resumed_losses = {step: loss for step, loss in resumed_losses.items() if step > stopped_at}
    assert sorted(resumed_losses) == list(range(stopped_at + 1, MAX_STEPS + 1)), output
    for step, loss in {**first_losses, **resumed_losses}.items():
        assert loss == reference_losses[step], f"step {step}: {loss} != {reference_losses[step]}"
    assert_same_weights(tmp_path, reference_dir)


def test_interrupt_is_agreed_on_only_every_n_steps(monkeypatch, tmp_path):
    """In a process group, each check is an all-reduce (a collective and a host sync): only every N steps."""
    torch.distributed.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1)
    all_reduce, reduced_at = torch.distributed.all_reduce, []

    def counting_all_reduce(tensor, *args, **kwargs):
        reduced_at.append(step)
        return all_reduce(tensor, *args, **kwargs)

    monkeypatch.setattr(torch.distributed, "all_reduce", counting_all_reduce)
    try:
        with setup.GracefulInterrupt(check_every=4) as interrupt:
            decisions = {}
            for step in range(1, 13):
                if step == 6:
                    os.kill(os.getpid(), signal.SIGTERM)  # handled by GracefulInterrupt: asks for a stop
                decisions[step] = interrupt.should_stop(step, "cpu")
    finally:
        torch.distributed.destroy_process_group()
    assert reduced_at == [4, 8, 12]
    assert [step for step, stop in decisions.items() if stop] == [8, 12]
    assert interrupt.stopped and interrupt.exit_code == 128 + signal.SIGTERM


def parameters_digest(model) -> str:
    tensors = sorted(model.state_dict().items())
    return hashlib.sha256(b"".join(t.detach().float().contiguous().numpy().tobytes() for _, t in tensors)).hexdigest()


def probe(kind: str, probe_dir: str, args: list[str]) -> int:
    """
    Runs one of the pretraining scripts unchanged (DDP) and writes `PROBE_DIR/rank-<r>.json`: the world size, its
    optimizer and scheduler steps, fingerprints of the first training samples it read, and digests of the parameters
    after they were initialised and after training.
    """
    record, models = {"samples": [], "global_step": 0}, []

    class RecordingDataLoader(arlow_pretraining_data.StatefulDataLoader):
        def __iter__(self):
            first = not record["samples"]
            for index, batch in enumerate(super().__iter__()):
                if first and index < PROBED_BATCHES:
                    record["samples"] += [
                        hashlib.sha256(row.numpy().tobytes()).hexdigest() for row in batch["input_ids"]
                    ]
                yield batch

    def count_step(optimizer, *args):
        record.update(global_step=record["global_step"] + 1, world_size=torch.distributed.get_world_size())

    def count_scheduler_step(self, *args, **kwargs):
        scheduler_step(self, *args, **kwargs)
        record["scheduler_steps"] = self.last_epoch

    def recording_build_model(*args, **kwargs):
        models.append(build_model(*args, **kwargs))
        record["parameters_before"] = parameters_digest(models[0])
        return models[0]

    script, build_model = SCRIPTS[kind], SCRIPTS[kind].build_model
    scheduler_step = torch.optim.lr_scheduler.LRScheduler.step
    arlow_pretraining_data.StatefulDataLoader = RecordingDataLoader
    register_optimizer_step_post_hook(count_step)
    torch.optim.lr_scheduler.LRScheduler.step = count_scheduler_step
    script.build_model = recording_build_model
    returncode = script.main(args)
    record["parameters_after"] = parameters_digest(models[0])
    Path(probe_dir).mkdir(exist_ok=True)
    Path(probe_dir, f"rank-{os.environ['RANK']}.json").write_text(json.dumps(record), encoding="utf-8")
    return returncode


@pytest.mark.parametrize(("launcher", "kind"), [("torchrun", "trainer"), ("accelerate", "no_trainer")])
def test_two_process_ddp_reads_disjoint_samples_and_stays_in_sync(launcher, kind, tmp_path, tiny_tokenizer):
    probe_dir, steps, batch_size = tmp_path / "probe", 4, 4
    ddp = {
        "max_steps": steps,
        "per_device_train_batch_size": batch_size,
        "dataloader_num_workers": 2,
        "use_cpu": "true",
    }
    # Cross-attention layers get no gradient: the scripts freeze them, and DDP must not wait for them.
    args = script_args(tmp_path / "run", tiny_tokenizer, config_overrides="cross_attention=true", **ddp)
    launcher_command = TORCHRUN
    if launcher == "accelerate":
        # `accelerate launch` with the repository's 2-process CPU DDP configuration, on a free port
        with socket.socket() as probe_socket:
            probe_socket.bind(("127.0.0.1", 0))
            config = EXAMPLES_DIR / "accelerate_configs" / "ddp_cpu_2proc.yaml"
            launcher_command = [sys.executable, "-m", "accelerate.commands.launch", f"--config_file={config}"]
            launcher_command.append(f"--main_process_port={probe_socket.getsockname()[1]}")
    # With --do_eval the Trainer also evaluates before training, which must not keep DDP from wrapping the model.
    output = launch(*launcher_command, __file__, kind, str(probe_dir), *with_actions(kind, args))
    # A launcher that started one process instead of two leaves one record, of a world of size 1.
    assert sorted(path.name for path in probe_dir.glob("rank-*.json")) == ["rank-0.json", "rank-1.json"], output
    ranks = [json.loads((probe_dir / f"rank-{rank}.json").read_text()) for rank in (0, 1)]
    assert [record["world_size"] for record in ranks] == [2, 2]
    assert [record["global_step"] for record in ranks] == [steps, steps]
    # One learning-rate step per optimizer step on every rank, not one per process
    assert [record["scheduler_steps"] for record in ranks] == [steps, steps]
    samples = [set(record["samples"]) for record in ranks]
    assert len(samples[0]) == len(samples[1]) == PROBED_BATCHES * batch_size
    assert not samples[0] & samples[1], "the two ranks read the same samples"
    assert ranks[0]["parameters_after"] == ranks[1]["parameters_after"], "parameters diverged across ranks"
    assert ranks[0]["parameters_after"] != ranks[0]["parameters_before"], "training did not change the parameters"
    assert "so they are frozen" in output


def tiny_config(cross_attention: bool) -> ArlowConfig:
    sizes = {"vocab_size": 96, "max_position_embeddings": SEQUENCE_LENGTH, "cross_attention": cross_attention}
    return ArlowConfig(**setup.MODEL_PRESETS["arlow-tiny"] | sizes)


def train_steps(cross_attention: bool, rank=0, world_size=1, sharded=False, mixed_precision="no") -> list[float]:
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
        model = setup.shard_model(model, "cpu", mixed_precision)
        # The mixed-precision policy computes in bf16; the sharded parameters (and so AdamW's states) stay float32.
        assert {parameter.dtype for parameter in model.parameters()} == {torch.float32}
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    batch = torch.randint(0, 96, (GLOBAL_BATCH, SEQUENCE_LENGTH), generator=torch.Generator().manual_seed(1))
    batch = batch[rank::world_size]
    losses, gathered, all_gather = [], [], torch.distributed.all_gather_single

    def counting_all_gather(output, *args, **kwargs):
        gathered.append(output.numel())
        return all_gather(output, *args, **kwargs)

    for step in range(PARITY_STEPS):
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
    """Trains the tiny model sharded by `shard_model`, then builds one on the meta device and materialises it."""
    torch.distributed.init_process_group("gloo")
    rank, world_size = torch.distributed.get_rank(), torch.distributed.get_world_size()
    results = {
        "plain": train_steps(False, rank, world_size, sharded=True),
        "cross-attention": train_steps(True, rank, world_size, sharded=True),
        "plain-bf16": train_steps(False, rank, world_size, sharded=True, mixed_precision="bf16"),
    }
    with torch.device("meta"):
        model = ArlowForCausalLM(tiny_config(cross_attention=True))
    model = setup.shard_model(model, "cpu", seed=0)
    embeddings = model.model.embed_tokens.weight.to_local()
    initialised = {
        "embedding_std": embeddings.std().item(),
        "first_row": embeddings[0].tolist(),
        "norms": [p.full_tensor().tolist() for name, p in model.named_parameters() if name.endswith("norm.weight")],
        "tied": model.lm_head.weight is model.model.embed_tokens.weight,
        "shards": {name: [p.to_local().numel(), p.numel()] for name, p in model.named_parameters()},
    }
    results["initialised"] = [None] * world_size
    torch.distributed.all_gather_object(results["initialised"], initialised)
    if rank == 0:
        Path(output_path).write_text(json.dumps(results), encoding="utf-8")
    # Both processes leave together: a gloo process group torn down while its peer still talks to it can abort the
    # peer ("terminate called without an active exception").
    torch.distributed.barrier()
    torch.distributed.destroy_process_group()


def test_fsdp2_shards_and_equals_a_single_process_run_of_the_global_batch(tmp_path):
    launch(*TORCHRUN, __file__, "parity", str(tmp_path / "results.json"))
    sharded = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    # The cross-attention blocks (skipped without encoder states) are units of their own, never all-gathered:
    # beyond the plain model's, the only weights gathered are the layers' cross-attention norms, in the forward
    # and the backward.
    config = tiny_config(cross_attention=True)
    assert sharded["cross-attention"].pop() == sharded["plain"].pop() + 2 * 2 * config.hidden_size
    sharded["plain-bf16"].pop()
    for name in ("plain", "cross-attention"):
        single = train_steps(name == "cross-attention")
        torch.testing.assert_close(sharded[name], single, rtol=1e-5, atol=1e-5, msg=name)
        assert len(single) == PARITY_STEPS and single[-1] < single[0]
    # With the bf16 mixed-precision policy: the same training within bf16's precision (8 bits of mantissa).
    torch.testing.assert_close(sharded["plain-bf16"], train_steps(False), rtol=2e-2, atol=2e-2)
    assert sharded["plain-bf16"] != sharded["plain"], "the bf16 policy computed in float32"
    assert sharded["plain-bf16"][-1] < sharded["plain-bf16"][0]
    # Built on the meta device, each process initialises its own shards (each from its own generator on CPU), and
    # holds half of every parameter (split along its first dimension).
    initialised = sharded["initialised"]
    for rank in initialised:
        assert abs(rank["embedding_std"] - config.initializer_range) < 0.1 * config.initializer_range
        assert all(value == 1.0 for norm in rank["norms"] for value in norm) and rank["tied"]
        assert rank["shards"] == initialised[0]["shards"]
        assert all(2 * local == total for local, total in rank["shards"].values()), rank["shards"]
    assert initialised[0]["first_row"] != initialised[1]["first_row"], "the two shards were drawn alike"


@pytest.mark.parametrize("cross_attention", ["false", "true"])
def test_fsdp2_resumes_exactly_from_a_sharded_checkpoint(cross_attention, tmp_path, tiny_tokenizer):
    max_steps, resume_at = 6, 3
    fsdp = {"max_steps": max_steps, "save_steps": resume_at, "warmup_steps": 2, "max_eval_samples": 8}
    fsdp |= {"dataloader_num_workers": 2, "use_cpu": "true", "fsdp": "full_shard"}
    fsdp |= {"config_overrides": f"cross_attention={cross_attention}"}
    script = str(EXAMPLES_DIR / "run_pretrain_arlow_no_trainer.py")
    full_losses = logged_losses(launch(*TORCHRUN, script, *script_args(tmp_path / "full", tiny_tokenizer, **fsdp)))
    assert sorted(full_losses) == list(range(1, max_steps + 1))
    checkpoint = tmp_path / "full" / f"checkpoint-{resume_at}"
    assert (checkpoint / "model_and_optimizer" / ".metadata").is_file()
    resumed_args = script_args(tmp_path / "resumed", tiny_tokenizer, resume_from_checkpoint=checkpoint, **fsdp)
    resumed_losses = logged_losses(launch(*TORCHRUN, script, *resumed_args))
    assert resumed_losses == {step: full_losses[step] for step in range(resume_at + 1, max_steps + 1)}
    assert_same_weights(tmp_path / "resumed", tmp_path / "full")


DROPOUT_REFUSED = "has no attention dropout, but the model's attention_dropout is 0.1.*attention_dropout=0.0"
BAD_INPUT = [
    (["--block_size=65"], "--block_size 65 must be at least 2 and at most the model's max_position_embeddings"),
    (["--attn_implementation=flex_attention", "--config_overrides=attention_dropout=0.1"], DROPOUT_REFUSED),
    (["--attn_implementation=flash_attention_3", "--model_preset=arlow-3b"], DROPOUT_REFUSED),
    (["--config_overrides=hidden_sise=64"], "--config_overrides 'hidden_sise=64': key hidden_sise isn't in the"),
    (["--train_file=/nonexistent/corpus.txt"], "Unable to find '/nonexistent/corpus.txt'"),
    (["--train_file={tmp_path}/blank.txt"], "holds no text"),
    (["--max_steps=-1"], "set the length of training with --max_steps"),
    (["--interrupt_check_steps=0"], "--interrupt_check_steps must be at least 1"),
]


@pytest.mark.parametrize(
    ("kind", "extra_args", "message"),
    [(kind, *case) for kind in SCRIPTS for case in BAD_INPUT]
    + [
        ("trainer", ["--fsdp=full_shard auto_wrap"], "--fsdp with the Trainer needs GPUs"),
        ("no_trainer", ["--fsdp=full_shard"], "--fsdp shards the model across processes: launch several"),
        ("no_trainer", ["--fsdp=full_shard", "--fp16"], "--fsdp trains in bf16 \\(--bf16\\) or float32"),
    ],
)
def test_bad_input_fails_before_training(kind, extra_args, message, tmp_path, tiny_tokenizer):
    (tmp_path / "blank.txt").write_text("\n\n\n", encoding="utf-8")
    args = script_args(tmp_path, tiny_tokenizer, max_steps=2, use_cpu="true")
    with pytest.raises((ValueError, FileNotFoundError), match=message):
        SCRIPTS[kind].main([*args, "--do_train", *(argument.format(tmp_path=tmp_path) for argument in extra_args)])
    assert not list(tmp_path.glob("checkpoint-*"))


def test_presets_overrides_and_frozen_cross_attention(tiny_tokenizer, caplog):
    # The seed's configuration has 3.275B parameters (2.680B without cross-attention), counted on the meta device.
    seed = setup.build_config(setup.ModelArguments(model_preset="arlow-3b"))
    assert seed.to_dict() == ArlowConfig().to_dict()
    with torch.device("meta"):
        model = ArlowForCausalLM(seed)
    cross_attention = sum(p.numel() for name, p in model.named_parameters() if ".cross_attn" in name)
    assert round(model.num_parameters() / 1e9, 3) == 3.275
    assert round((model.num_parameters() - cross_attention) / 1e9, 3) == 2.680
    overrides = "num_hidden_layers=2,rms_norm_eps=1e-5,cross_attention=true,hidden_size=64"
    config = setup.build_config(setup.ModelArguments(model_preset="arlow-demo", config_overrides=overrides))
    assert (config.num_hidden_layers, config.rms_norm_eps, config.cross_attention) == (2, 1e-5, True)
    assert (config.intermediate_size, config.head_dim) == (setup.MODEL_PRESETS["arlow-demo"]["intermediate_size"], 16)
    # Unused cross-attention is frozen (per layer: its q/k/v/o projections and its norm), and said at start.
    with caplog.at_level("WARNING", logger="arlow_pretraining_setup"):
        model = setup.build_model(config, AutoTokenizer.from_pretrained(tiny_tokenizer), "sdpa")
    frozen = {name for name, parameter in model.named_parameters() if not parameter.requires_grad}
    assert frozen == {name for name, _ in model.named_parameters() if ".cross_attn" in name}
    assert len(frozen) == 5 * config.num_hidden_layers and "so they are frozen" in caplog.text


def measure_resume(steps_list: list[int]):
    """From building a dataloader to its first batch after `load_state_dict`, against reading the batches up to it."""
    train_text, _ = load_text_sources()
    demo_tokenizer = ArlowTokenizer().train_new_from_iterator(train_text.first_documents(300), 2048)

    def demo_loader():
        return training_dataloader(packed_blocks(train_text, demo_tokenizer, 128, 500, seed=42), batch_size=16)

    for steps in steps_list or [10, 2000]:
        started, loader = time.perf_counter(), demo_loader()
        for _ in itertools.islice(loader, steps):
            pass
        reading = time.perf_counter() - started
        with tempfile.TemporaryDirectory() as checkpoint_dir:
            save_data_state(checkpoint_dir, loader, process_index=0, num_processes=1)
            started, resumed = time.perf_counter(), demo_loader()
            load_data_state(checkpoint_dir, resumed, process_index=0, num_processes=1)
            next(iter(resumed))
        print(
            f"step {steps}: reading {steps} batches took {reading:.2f}s, resuming {time.perf_counter() - started:.2f}s"
        )


if __name__ == "__main__":
    if sys.argv[1] == "resume-timing":
        measure_resume([int(argument) for argument in sys.argv[2:]])
    elif sys.argv[1] == "parity":
        parity_worker(sys.argv[2])
    else:
        sys.exit(probe(sys.argv[1], sys.argv[2], sys.argv[3:]))
