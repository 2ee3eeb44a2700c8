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
Tests of the Arlow pretraining scripts: both training paths, interruption and exact resume, a 2-process DDP run on
CPU, the interrupt check's period, and the bad-input errors. The scripts run on the `arlow-tiny` preset and the
embedded default corpus, a few dozen steps each.
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file


EXAMPLES_DIR = Path(__file__).resolve().parent / "language-modeling"
sys.path.insert(0, str(EXAMPLES_DIR))

import arlow_pretraining_setup as setup  # noqa: E402
import run_pretrain_arlow  # noqa: E402
import run_pretrain_arlow_no_trainer  # noqa: E402
from arlow_ddp_probe import PROBED_BATCHES  # noqa: E402
from arlow_pretraining_data import embedded_text  # noqa: E402

from transformers import (  # noqa: E402
    ArlowConfig,
    ArlowForCausalLM,
    ArlowTokenizer,
    AutoModelForCausalLM,
    AutoTokenizer,
)


SCRIPTS = {"trainer": run_pretrain_arlow, "no_trainer": run_pretrain_arlow_no_trainer}
STEP_LINE = re.compile(r"\[arlow\] step (\d+) loss ([\d.]+)")
MAX_STEPS, INTERRUPT_CHECK_STEPS = 30, 5
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}


@pytest.fixture(scope="module")
def tiny_tokenizer(tmp_path_factory) -> str:
    """A 512-token tokenizer trained on the start of the embedded corpus, shared by the script runs."""
    path = tmp_path_factory.mktemp("tokenizer")
    ArlowTokenizer().train_new_from_iterator(embedded_text("train").first_documents(40), 512).save_pretrained(path)
    return str(path)


def script_args(output_dir: Path, tokenizer: str | None, **overrides) -> list[str]:
    arguments = {
        "model_preset": "arlow-tiny",
        "output_dir": str(output_dir),
        "max_steps": MAX_STEPS,
        "per_device_train_batch_size": 4,
        "per_device_eval_batch_size": 8,
        "block_size": 32,
        "learning_rate": 5e-3,
        "warmup_steps": 3,
        "logging_steps": 1,
        "save_steps": 1000,
        "max_eval_samples": 16,
        # Unshuffled: datasets does not save a shuffle buffer's content, so only an unshuffled stream resumes with
        # exactly the batches of an uninterrupted run (test_arlow_pretraining_data.py tests the shuffled resume).
        "shuffle_buffer_size": 0,
        "interrupt_check_steps": INTERRUPT_CHECK_STEPS,
        "seed": 7,
        "disable_tqdm": "true",
        "log_level": "warning",
        **overrides,
    }
    # The Trainer runs train their own tokenizer (the default path); the plain-loop runs load a saved one.
    if tokenizer is not None:
        arguments["tokenizer_name"] = tokenizer
    else:
        arguments.setdefault("tokenizer_train_documents", 40)
    return [f"--{key}={value}" for key, value in arguments.items()]


def with_actions(kind: str, args: list[str]) -> list[str]:
    return ["--do_train", "--do_eval", *args] if kind == "trainer" else args


def run_in_process(kind: str, args: list[str], output_dir: Path):
    """Runs a script's `main` in this process with one thread; returns its status, logged losses and eval losses."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        returncode = SCRIPTS[kind].main(with_actions(kind, args))
    finally:
        torch.set_num_threads(threads)
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
    model = AutoModelForCausalLM.from_pretrained(output_dir)
    tokenizer = AutoTokenizer.from_pretrained(output_dir)
    preset = setup.MODEL_PRESETS["arlow-tiny"]
    assert type(model).__name__ == "ArlowForCausalLM"
    assert model.config.num_hidden_layers == preset["num_hidden_layers"]
    assert model.config.vocab_size == len(tokenizer) == preset["vocab_size"]
    assert model.config.eos_token_id == tokenizer.eos_token_id


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
    first_losses = {int(step): float(loss) for step, loss in STEP_LINE.findall(output)}
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
    final, reference = load_file(tmp_path / "model.safetensors"), load_file(reference_dir / "model.safetensors")
    assert final.keys() == reference.keys()
    for name in final:
        torch.testing.assert_close(final[name], reference[name], rtol=0, atol=0, msg=name)


def test_interrupt_is_agreed_on_only_every_n_steps(monkeypatch, tmp_path):
    """In a process group, each check is an all-reduce (a collective and a host sync): only every N steps."""
    torch.distributed.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1)
    all_reduce = torch.distributed.all_reduce
    reduced_at = []

    def counting_all_reduce(tensor, *args, **kwargs):
        reduced_at.append(step)
        return all_reduce(tensor, *args, **kwargs)

    monkeypatch.setattr(torch.distributed, "all_reduce", counting_all_reduce)
    try:
        interrupt = setup.GracefulInterrupt(check_every=4)
        with interrupt:
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


def accelerate_launch_command() -> list[str]:
    """`accelerate launch` with the repository's 2-process CPU DDP configuration, on a free port."""
    with socket.socket() as probe_socket:
        probe_socket.bind(("127.0.0.1", 0))
        port = probe_socket.getsockname()[1]
    config = EXAMPLES_DIR / "accelerate_configs" / "ddp_cpu_2proc.yaml"
    return [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        f"--config_file={config}",
        f"--main_process_port={port}",
    ]


@pytest.mark.parametrize(
    ("launcher", "kind"),
    [("torchrun", "trainer"), ("accelerate", "no_trainer")],
    ids=["torchrun-trainer", "accelerate-no_trainer"],
)
def test_two_process_ddp_reads_disjoint_samples_and_stays_in_sync(launcher, kind, tmp_path, tiny_tokenizer):
    probe_dir, steps, batch_size = tmp_path / "probe", 4, 4
    args = script_args(
        tmp_path / "run",
        tiny_tokenizer,
        max_steps=steps,
        per_device_train_batch_size=batch_size,
        dataloader_num_workers=2,
        use_cpu="true",
        # Cross-attention layers get no gradient: the scripts freeze them, and DDP must not wait for them.
        config_overrides="cross_attention=true",
    )
    launch = (
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
        if launcher == "torchrun"
        else accelerate_launch_command()
    )
    # With --do_eval the Trainer also evaluates before training, which must not keep DDP from wrapping the model.
    command = [
        *launch,
        str(EXAMPLES_DIR.parent / "arlow_ddp_probe.py"),
        kind,
        str(probe_dir),
        *with_actions(kind, args),
    ]
    result = subprocess.run(command, cwd=EXAMPLES_DIR, env=ENV, capture_output=True, text=True, timeout=600)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
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


@pytest.mark.parametrize("kind", sorted(SCRIPTS))
@pytest.mark.parametrize(
    ("extra_args", "message"),
    [
        (["--model_preset=arlow-huge"], "Unknown --model_preset 'arlow-huge'"),
        (["--block_size=65"], "--block_size 65 must be at least 2 and at most the model's max_position_embeddings"),
        (["--attn_implementation=flash_attention_2"], "flash_attention_2 needs the flash-attn package"),
        (
            ["--attn_implementation=flex_attention", "--config_overrides=attention_dropout=0.1"],
            "flex_attention has no attention dropout.*--config_overrides attention_dropout=0.0",
        ),
        (
            ["--attn_implementation=flash_attention_3", "--model_preset=arlow-3b"],
            "flash_attention_3 has no attention dropout, but the model's attention_dropout is 0.1",
        ),
        (["--config_overrides=hidden_sise=64"], "key hidden_sise isn't in the original config"),
        (["--config_overrides=num_hidden_layers=two"], "--config_overrides 'num_hidden_layers=two'"),
        (["--train_file=/nonexistent/corpus.txt"], "Data file '/nonexistent/corpus.txt' does not exist"),
        (["--max_steps=-1"], "set the length of training with --max_steps"),
        (["--interrupt_check_steps=0"], "--interrupt_check_steps must be at least 1"),
    ],
)
def test_bad_input_fails_before_training(kind, extra_args, message, tmp_path, tiny_tokenizer):
    if "flash_attention_2" in extra_args[0] and setup.is_flash_attn_2_available():
        pytest.skip("flash-attn is installed with a GPU here, so the request is valid")
    args = script_args(tmp_path, tiny_tokenizer, max_steps=2) + ["--do_train"] + extra_args
    with pytest.raises((ValueError, FileNotFoundError), match=message):
        SCRIPTS[kind].main(args)
    assert not list(tmp_path.glob("checkpoint-*"))


@pytest.mark.parametrize(
    ("kind", "extra_args", "message"),
    [
        ("trainer", ["--fsdp=full_shard auto_wrap", "--do_train"], "--fsdp with the Trainer needs GPUs"),
        ("no_trainer", ["--fsdp=full_shard"], "--fsdp shards the model across processes: launch several"),
        ("no_trainer", ["--fsdp=full_shard", "--fp16"], "--fsdp trains in bf16 \\(--bf16\\) or float32"),
    ],
    ids=["trainer-cpu", "one-process", "fp16"],
)
def test_fsdp_misuse_is_refused(kind, extra_args, message, tmp_path, tiny_tokenizer):
    args = script_args(tmp_path, tiny_tokenizer, max_steps=2, use_cpu="true")
    with pytest.raises(ValueError, match=message):
        SCRIPTS[kind].main([*args, *extra_args])
    assert not list(tmp_path.glob("checkpoint-*"))


@pytest.mark.parametrize("content", ["", "\n\n\n"], ids=["empty", "blank-lines"])
def test_empty_dataset_is_rejected(content, tmp_path, tiny_tokenizer):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match="holds no text"):
        run_pretrain_arlow.main(script_args(tmp_path / "out", tiny_tokenizer, train_file=corpus) + ["--do_train"])


def test_presets_and_overrides(caplog):
    def build_config(**arguments):
        return setup.build_config(setup.ModelArguments(**arguments))

    seed = build_config(model_preset="arlow-3b")
    assert seed.to_dict() == ArlowConfig().to_dict()
    assert (seed.vocab_size, seed.hidden_size, seed.num_hidden_layers, seed.cross_attention) == (
        131072,
        2304,
        28,
        True,
    )
    # The seed's configuration has 3.275B parameters (2.680B without cross-attention), counted on the meta device.
    with torch.device("meta"):
        model = ArlowForCausalLM(seed)
    cross_attention = sum(p.numel() for name, p in model.named_parameters() if ".cross_attn" in name)
    assert round(model.num_parameters() / 1e9, 3) == 3.275
    assert round((model.num_parameters() - cross_attention) / 1e9, 3) == 2.680
    # The old, wrong name still works, with a warning that names the new one.
    with caplog.at_level("WARNING", logger="arlow_pretraining_setup"):
        assert build_config(model_preset="arlow-2.3b").to_dict() == seed.to_dict()
    assert "use --model_preset arlow-3b" in caplog.text

    demo = build_config(model_preset="arlow-demo")
    assert demo.cross_attention is False
    overrides = "num_hidden_layers=2,rms_norm_eps=1e-5,cross_attention=true,hidden_size=64"
    overridden = build_config(model_preset="arlow-demo", config_overrides=overrides)
    assert (overridden.num_hidden_layers, overridden.rms_norm_eps, overridden.cross_attention) == (2, 1e-5, True)
    assert (overridden.intermediate_size, overridden.head_dim) == (demo.intermediate_size, 64 // 4)


def test_unused_cross_attention_is_frozen_and_said_at_start(tiny_tokenizer, caplog):
    config = setup.build_config(
        setup.ModelArguments(model_preset="arlow-tiny", config_overrides="cross_attention=true")
    )
    with caplog.at_level("WARNING", logger="arlow_pretraining_setup"):
        model = setup.build_model(config, AutoTokenizer.from_pretrained(tiny_tokenizer), "sdpa")
    frozen = {name for name, parameter in model.named_parameters() if not parameter.requires_grad}
    assert frozen == {name for name, _ in model.named_parameters() if ".cross_attn" in name}
    # Per layer: the cross-attention q/k/v/o projections and its norm.
    assert len(frozen) == 5 * config.num_hidden_layers
    assert "so they are frozen" in caplog.text
