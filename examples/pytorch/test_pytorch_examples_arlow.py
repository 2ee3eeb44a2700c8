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
Tests of the Arlow pretraining examples: the Trainer script, the plain-loop script, interruption and exact resume, a
2-process DDP run on CPU, and the bad-input errors. The scripts run as subprocesses on the `arlow-tiny` preset and the
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

import arlow_pretraining_setup  # noqa: E402
import run_pretrain_arlow  # noqa: E402
import run_pretrain_arlow_no_trainer  # noqa: E402
from arlow_ddp_probe import PROBED_BATCHES  # noqa: E402
from arlow_pretraining_data import embedded_text  # noqa: E402

from transformers import ArlowConfig, ArlowForCausalLM, AutoModelForCausalLM, AutoTokenizer  # noqa: E402


SCRIPTS = {"trainer": "run_pretrain_arlow.py", "no_trainer": "run_pretrain_arlow_no_trainer.py"}
MAINS = {"trainer": run_pretrain_arlow.main, "no_trainer": run_pretrain_arlow_no_trainer.main}
STEP_LINE = re.compile(r"\[arlow\] step (\d+) loss ([\d.]+)")
EVAL_LINE = re.compile(r"\[arlow\] eval loss (before|after) training: ([\d.]+)")
MAX_STEPS = 30


def subprocess_env() -> dict[str, str]:
    return {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "HF_HUB_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "PYTHONUNBUFFERED": "1",
    }


@pytest.fixture(scope="module")
def tiny_tokenizer(tmp_path_factory) -> str:
    """A 512-token tokenizer trained on the start of the embedded corpus, shared by the script runs."""
    path = tmp_path_factory.mktemp("tokenizer")
    texts = embedded_text("train").first_documents(40)
    arlow_pretraining_setup.train_tokenizer(texts, vocab_size=512).save_pretrained(path)
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
        "seed": 7,
        "disable_tqdm": "true",
        "log_level": "warning",
        **overrides,
    }
    if tokenizer is not None:
        arguments["tokenizer_name"] = tokenizer
    else:
        arguments.setdefault("tokenizer_train_documents", 40)
    return [f"--{key}={value}" for key, value in arguments.items()]


def script_command(kind: str, args: list[str]) -> list[str]:
    return [*(["--do_train", "--do_eval"] if kind == "trainer" else []), *args]


def parse_output(returncode: int, output: str):
    losses = {int(step): float(loss) for step, loss in STEP_LINE.findall(output)}
    evals = {when: float(loss) for when, loss in EVAL_LINE.findall(output)}
    return returncode, output, losses, evals


def read_log_history(output_dir: Path) -> list[dict]:
    """What a run logged: the Trainer's `trainer_state.json` log history, or the plain loop's `log_history.json`."""
    trainer_state = output_dir / "trainer_state.json"
    if trainer_state.is_file():
        return json.loads(trainer_state.read_text())["log_history"]
    return json.loads((output_dir / "log_history.json").read_text())


def run_in_process(kind: str, args: list[str], output_dir: Path):
    """
    Runs a script's `main` in this process (no interpreter start-up), with one thread like the subprocesses, and
    reads back what it logged.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        returncode = MAINS[kind](script_command(kind, args))
    finally:
        torch.set_num_threads(threads)
    history = read_log_history(output_dir)
    losses = {entry["step"]: entry["loss"] for entry in history if "loss" in entry}
    evals = {
        when: json.loads((output_dir / name).read_text())["eval_loss"]
        for when, name in (("before", "eval_before_training_results.json"), ("after", "eval_results.json"))
        if (output_dir / name).is_file()
    }
    return returncode, f"log history: {history}", losses, evals


def run_and_interrupt(kind: str, args: list[str], after_step: int, signum: int):
    """Runs a script in a subprocess and sends it `signum` once it has logged the loss of step `after_step`."""
    process = subprocess.Popen(
        [sys.executable, str(EXAMPLES_DIR / SCRIPTS[kind]), *script_command(kind, args)],
        cwd=EXAMPLES_DIR,
        env=subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines = []
    for line in process.stdout:
        lines.append(line)
        match = STEP_LINE.search(line)
        if match and int(match.group(1)) == after_step:
            process.send_signal(signum)
    return parse_output(process.wait(timeout=600), "".join(lines))


def saved_weights(folder: Path) -> dict[str, torch.Tensor]:
    return load_file(str(folder / "model.safetensors"))


def tokenizer_for(kind: str, tiny_tokenizer: str) -> str | None:
    """The Trainer runs train their own tokenizer (the default path); the plain-loop runs load a saved one."""
    return None if kind == "trainer" else tiny_tokenizer


@pytest.fixture(scope="module")
def uninterrupted_runs(tmp_path_factory, tiny_tokenizer):
    """
    One full run per script, the reference for the path and resume tests. Each is made on first use, so a test
    worker that only runs one script's tests makes only that run.
    """

    class Runs(dict):
        def __missing__(self, kind):
            output_dir = tmp_path_factory.mktemp(f"{kind}-full")
            args = script_args(output_dir, tokenizer_for(kind, tiny_tokenizer))
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
    assert type(model).__name__ == "ArlowForCausalLM"
    assert model.config.num_hidden_layers == arlow_pretraining_setup.MODEL_PRESETS["arlow-tiny"]["num_hidden_layers"]
    assert (
        model.config.vocab_size == len(tokenizer) == arlow_pretraining_setup.MODEL_PRESETS["arlow-tiny"]["vocab_size"]
    )
    assert model.config.eos_token_id == tokenizer.eos_token_id


@pytest.mark.parametrize(("kind", "signum"), [("trainer", signal.SIGTERM), ("no_trainer", signal.SIGINT)])
def test_interrupted_run_resumes_exactly(kind, signum, tmp_path, tiny_tokenizer, uninterrupted_runs):
    reference_dir, _, _, reference_losses, _ = uninterrupted_runs[kind]
    args = script_args(tmp_path, tokenizer_for(kind, tiny_tokenizer))

    returncode, output, first_losses, _ = run_and_interrupt(kind, args, after_step=3, signum=signum)
    assert returncode == 128 + signum, output
    stopped_at = max(first_losses)
    assert 3 <= stopped_at < MAX_STEPS, output
    assert (tmp_path / f"checkpoint-{stopped_at}").is_dir(), output

    returncode, output, resumed_losses, _ = run_in_process(kind, [*args, "--resume_from_checkpoint=latest"], tmp_path)
    assert returncode == 0, output
    # The Trainer's log history carries the steps before the interruption over from the checkpoint.
    resumed_losses = {step: loss for step, loss in resumed_losses.items() if step > stopped_at}
    assert sorted(resumed_losses) == list(range(stopped_at + 1, MAX_STEPS + 1)), output
    for step, loss in {**first_losses, **resumed_losses}.items():
        assert loss == reference_losses[step], f"step {step}: {loss} != {reference_losses[step]}"
    final, reference = saved_weights(tmp_path), saved_weights(reference_dir)
    assert final.keys() == reference.keys()
    for name in final:
        torch.testing.assert_close(final[name], reference[name], rtol=0, atol=0, msg=name)


def torchrun_command() -> list[str]:
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]


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
    ("launch_command", "kind"),
    [(torchrun_command, "trainer"), (accelerate_launch_command, "no_trainer")],
    ids=["torchrun-trainer", "accelerate-no_trainer"],
)
def test_two_process_ddp_reads_disjoint_samples_and_stays_in_sync(launch_command, kind, tmp_path, tiny_tokenizer):
    probe_dir = tmp_path / "probe"
    steps, batch_size = 4, 4
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
    command = [
        *launch_command(),
        str(EXAMPLES_DIR / "arlow_ddp_probe.py"),
        kind,
        str(probe_dir),
        # With --do_eval the Trainer also evaluates before training, which must not keep DDP from wrapping the model.
        *(["--do_train", "--do_eval"] if kind == "trainer" else []),
        *args,
    ]
    result = subprocess.run(
        command, cwd=EXAMPLES_DIR, env=subprocess_env(), capture_output=True, text=True, timeout=600
    )
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


@pytest.mark.parametrize("main", [run_pretrain_arlow.main, run_pretrain_arlow_no_trainer.main], ids=SCRIPTS)
@pytest.mark.parametrize(
    ("extra_args", "message"),
    [
        (["--model_preset=arlow-huge"], "Unknown --model_preset 'arlow-huge'"),
        (["--block_size=65"], "--block_size 65 exceeds the model's max_position_embeddings \\(64\\)"),
        (["--attn_implementation=flash_attention_2"], "flash_attention_2 needs the flash-attn package"),
        (["--config_overrides=hidden_sise=64"], "ArlowConfig has no field 'hidden_sise'"),
        (["--train_file=/nonexistent/corpus.txt"], "Data file '/nonexistent/corpus.txt' does not exist"),
        (["--max_steps=-1"], "set the length of training with --max_steps"),
    ],
    ids=["unknown-preset", "block-size", "flash-attn", "override", "missing-file", "no-max-steps"],
)
def test_bad_input_fails_before_training(main, extra_args, message, tmp_path, tiny_tokenizer):
    if "flash" in extra_args[0] and arlow_pretraining_setup.is_flash_attn_2_available():
        pytest.skip("flash-attn is installed with a GPU here, so the request is valid")
    args = script_args(tmp_path, tiny_tokenizer, max_steps=2) + ["--do_train"] + extra_args
    with pytest.raises((ValueError, FileNotFoundError), match=message):
        main(args)
    assert not list(tmp_path.glob("checkpoint-*"))


def test_fsdp_on_cpu_is_refused(tmp_path, tiny_tokenizer):
    args = script_args(tmp_path, tiny_tokenizer, max_steps=2, use_cpu="true", fsdp="full_shard auto_wrap")
    with pytest.raises(ValueError, match="--fsdp with the Trainer needs GPUs"):
        run_pretrain_arlow.main(["--do_train", *args])


@pytest.mark.parametrize(
    ("extra_args", "message"),
    [
        ([], "--fsdp shards the model across processes: launch several"),
        (["--bf16=false", "--fp16=true"], "--fsdp trains in bf16 \\(--bf16\\) or float32"),
    ],
    ids=["one-process", "fp16"],
)
def test_plain_loop_fsdp_needs_processes_and_no_fp16(extra_args, message, tmp_path, tiny_tokenizer):
    args = script_args(tmp_path, tiny_tokenizer, max_steps=2, use_cpu="true", fsdp="full_shard")
    with pytest.raises(ValueError, match=message):
        run_pretrain_arlow_no_trainer.main([*args, *extra_args])
    assert not list(tmp_path.glob("checkpoint-*"))


@pytest.mark.parametrize("content", ["", "\n\n\n"], ids=["empty", "blank-lines"])
def test_empty_dataset_is_rejected(content, tmp_path, tiny_tokenizer):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(content, encoding="utf-8")
    args = script_args(tmp_path / "out", tiny_tokenizer, train_file=str(corpus)) + ["--do_train"]
    with pytest.raises(ValueError, match="holds no text"):
        run_pretrain_arlow.main(args)


def test_presets_and_overrides():
    build_config = arlow_pretraining_setup.build_config
    model_arguments = arlow_pretraining_setup.ModelArguments
    seed = build_config(model_arguments(model_preset="arlow-3b"))
    assert seed.to_dict() == ArlowConfig().to_dict()
    assert (seed.vocab_size, seed.hidden_size, seed.num_hidden_layers, seed.cross_attention) == (
        131072,
        2304,
        28,
        True,
    )
    demo = build_config(model_arguments(model_preset="arlow-demo"))
    assert demo.cross_attention is False
    overridden = build_config(
        model_arguments(
            model_preset="arlow-demo", config_overrides="num_hidden_layers=2,rms_norm_eps=1e-5,cross_attention=true"
        )
    )
    assert (overridden.num_hidden_layers, overridden.rms_norm_eps, overridden.cross_attention) == (2, 1e-5, True)
    assert overridden.hidden_size == demo.hidden_size
    with pytest.raises(ValueError, match="num_hidden_layers='two' is not a int"):
        build_config(model_arguments(config_overrides="num_hidden_layers=two"))


def test_seed_preset_is_named_after_its_size(caplog):
    """The seed's configuration has 3.275B parameters (2.680B without cross-attention), counted on the meta device."""
    config = arlow_pretraining_setup.build_config(arlow_pretraining_setup.ModelArguments(model_preset="arlow-3b"))
    with torch.device("meta"):
        model = ArlowForCausalLM(config)
    cross_attention = sum(p.numel() for name, p in model.named_parameters() if ".cross_attn" in name)
    assert round(model.num_parameters() / 1e9, 3) == 3.275
    assert round((model.num_parameters() - cross_attention) / 1e9, 3) == 2.680
    # The old, wrong name still works, with a warning that names the new one.
    with caplog.at_level("WARNING", logger="arlow_pretraining_setup"):
        renamed = arlow_pretraining_setup.build_config(
            arlow_pretraining_setup.ModelArguments(model_preset="arlow-2.3b")
        )
    assert renamed.to_dict() == config.to_dict()
    assert "use --model_preset arlow-3b" in caplog.text


def test_unused_cross_attention_is_frozen_and_said_at_start(tiny_tokenizer, caplog):
    config = arlow_pretraining_setup.build_config(
        arlow_pretraining_setup.ModelArguments(model_preset="arlow-tiny", config_overrides="cross_attention=true")
    )
    with caplog.at_level("WARNING", logger="arlow_pretraining_setup"):
        model = arlow_pretraining_setup.build_model(config, AutoTokenizer.from_pretrained(tiny_tokenizer), "sdpa")
    frozen = {name for name, parameter in model.named_parameters() if not parameter.requires_grad}
    assert frozen == {name for name, _ in model.named_parameters() if ".cross_attn" in name}
    # Per layer: the cross-attention q/k/v/o projections and its norm.
    assert len(frozen) == 5 * config.num_hidden_layers
    assert "so they are frozen" in caplog.text
