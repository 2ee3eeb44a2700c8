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
Pretraining Arlow from scratch with a plain training loop on 🤗 Accelerate, on streamed data, under `torchrun` or
`accelerate launch`. It takes the arguments of `run_pretrain_arlow.py` (of [`TrainingArguments`] the batch sizes,
optimizer and schedule, `max_steps`, gradient accumulation and clipping, bf16/fp16, gradient checkpointing,
torch_compile, logging/eval/save steps, `report_to`, `resume_from_checkpoint` and `fsdp`). Several processes train
with DDP, or with `--fsdp` (any value) with FSDP2 on a model built on the meta device, on CPU as on GPUs; checkpoints
are sharded and resume with the very next batch (README.md).
"""

import contextlib
import json
import logging
import math
import os
import sys

import datasets
import torch
import torch.distributed.checkpoint as dcp
from accelerate import Accelerator
from accelerate.utils import DistributedDataParallelKwargs
from arlow_pretraining_data import load_data_state, save_data_state, training_dataloader
from arlow_pretraining_setup import (
    GracefulInterrupt,
    build_model,
    parse_arguments,
    prepare_run,
    shard_model,
    shared_tokenizer,
)
from torch.distributed.checkpoint.state_dict import (
    StateDictOptions,
    get_model_state_dict,
    get_state_dict,
    set_state_dict,
)
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

import transformers
from transformers import default_data_collator, get_scheduler, set_seed


logger = logging.getLogger(__name__)


def save_checkpoint(accelerator, checkpoint_dir: str, model, optimizer, lr_scheduler, dataloader, step: int):
    """
    `checkpoint-N/`: model and optimizer shards (DCP, any model: plain, DDP or FSDP2), and per process the step,
    scheduler and RNG states (`training_state-rank<r>.pt`) and data stream position (`data_state-rank<r>.json`).
    """
    model_state, optimizer_state = get_state_dict(model, optimizer)
    dcp.save(
        {"model": model_state, "optimizer": optimizer_state}, checkpoint_id=f"{checkpoint_dir}/model_and_optimizer"
    )
    state = {"completed_steps": step, "lr_scheduler": lr_scheduler.state_dict(), "rng": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda_rng"] = torch.cuda.get_rng_state()
    torch.save(state, os.path.join(checkpoint_dir, f"training_state-rank{accelerator.process_index}.pt"))
    save_data_state(checkpoint_dir, dataloader, accelerator.process_index, accelerator.num_processes)
    accelerator.wait_for_everyone()


def load_checkpoint(accelerator, checkpoint_dir: str, model, optimizer, lr_scheduler, dataloader) -> int:
    """Restores what [`save_checkpoint`] wrote, resharding to this run's layout; returns the steps already done."""
    path = os.path.join(checkpoint_dir, f"training_state-rank{accelerator.process_index}.pt")
    if not os.path.isfile(path):
        raise ValueError(f"{checkpoint_dir!r} holds no training state for process {accelerator.process_index}")
    model_state, optimizer_state = get_state_dict(model, optimizer)
    states = {"model": model_state, "optimizer": optimizer_state}
    dcp.load(states, checkpoint_id=f"{checkpoint_dir}/model_and_optimizer")
    set_state_dict(model, optimizer, model_state_dict=states["model"], optim_state_dict=states["optimizer"])
    state = torch.load(path, weights_only=True)
    lr_scheduler.load_state_dict(state["lr_scheduler"])
    torch.set_rng_state(state["rng"])
    if "cuda_rng" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda_rng"])
    load_data_state(checkpoint_dir, dataloader, accelerator.process_index, accelerator.num_processes)
    return state["completed_steps"]


def write_json(accelerator: Accelerator, path: str, content):
    if accelerator.is_main_process:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as file:
            json.dump(content, file, indent=2)


def main(argv: list[str] | None = None) -> int:
    model_args, data_args, args = parse_arguments(argv)

    # Every check that can fail runs before the first training step.
    sharded = bool(args.fsdp)
    mixed_precision = "bf16" if args.bf16 else "fp16" if args.fp16 else "no"
    if sharded and mixed_precision == "fp16":
        raise ValueError("--fsdp trains in bf16 (--bf16) or float32: fp16 would need a sharded gradient scaler")
    accelerator = Accelerator(
        cpu=args.use_cpu,
        # With FSDP2 the sharding's own mixed-precision policy casts the layers (see `shard_model`), not autocast.
        mixed_precision="no" if sharded else mixed_precision,
        log_with=args.report_to or None,
        project_dir=args.output_dir,
        kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=bool(args.ddp_find_unused_parameters))],
    )
    if sharded and accelerator.num_processes < 2:
        raise ValueError(
            "--fsdp shards the model across processes: launch several, e.g. "
            "`torchrun --nproc_per_node 2 run_pretrain_arlow_no_trainer.py --fsdp full_shard --use_cpu ...`"
        )
    run = prepare_run(model_args, data_args, args, accelerator.num_processes)
    logging.basicConfig(format="%(asctime)s - %(levelname)s - %(name)s - %(message)s", level=logging.INFO)
    logger.info(accelerator.state)
    verbosity = logging.WARNING if accelerator.is_local_main_process else logging.ERROR
    logging.getLogger().setLevel(logging.INFO if accelerator.is_local_main_process else logging.ERROR)
    datasets.utils.logging.set_verbosity(verbosity)
    transformers.utils.logging.set_verbosity(verbosity)

    set_seed(args.seed)
    with accelerator.main_process_first():
        tokenizer = shared_tokenizer(model_args, run, args.output_dir, accelerator.is_main_process)
    # Sharded, the model is built on the meta device: no process ever holds all of it.
    model = build_model(run.config, tokenizer, run.attn_implementation, device="meta" if sharded else "cpu")
    if args.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=args.gradient_checkpointing_kwargs)
    logger.info(
        f"Training {model_args.model_preset} from scratch: {model.num_parameters():,} parameters, "
        f"attention {run.attn_implementation}, block size {run.block_size}, vocabulary {len(tokenizer)}"
        + (f", sharded with FSDP2 across {accelerator.num_processes} processes" if sharded else "")
    )
    if sharded:
        model = shard_model(model, accelerator.device, mixed_precision, seed=args.seed)

    train_dataloader = training_dataloader(
        run.training_stream(tokenizer, args.seed, accelerator.process_index, accelerator.num_processes),
        batch_size=args.per_device_train_batch_size,
        num_workers=args.dataloader_num_workers,
    )
    eval_dataloader = DataLoader(
        run.evaluation_blocks(tokenizer), batch_size=args.per_device_eval_batch_size, collate_fn=default_data_collator
    )
    # Weight decay on matrices only: biases and norm weights (1-d tensors) are not decayed.
    trained = [parameter for parameter in model.parameters() if parameter.requires_grad]
    groups = [{"params": [p for p in trained if p.dim() >= 2]}, {"params": [p for p in trained if p.dim() < 2]}]
    groups[1]["weight_decay"] = 0.0
    betas, eps = (args.adam_beta1, args.adam_beta2), args.adam_epsilon
    optimizer = torch.optim.AdamW(groups, args.learning_rate, betas, eps, weight_decay=args.weight_decay)
    # Stepped by the loop once per optimizer step, so not handed to `prepare` (which would step it once per process).
    lr_scheduler = get_scheduler(
        args.lr_scheduler_type,
        optimizer=optimizer,
        num_warmup_steps=args.get_warmup_steps(args.max_steps),
        num_training_steps=args.max_steps,
        scheduler_specific_kwargs=args.lr_scheduler_kwargs,
    )
    # The training stream is already this process's part, so its dataloader is not prepared; nor is a sharded model
    # (`prepare` would wrap it in DDP).
    if sharded:
        eval_dataloader = accelerator.prepare(eval_dataloader)
        prepared_optimizer = optimizer
    else:
        model, prepared_optimizer, eval_dataloader = accelerator.prepare(model, optimizer, eval_dataloader)
    completed_steps = 0
    if run.checkpoint is not None:
        completed_steps = load_checkpoint(
            accelerator, run.checkpoint, model, optimizer, lr_scheduler, train_dataloader
        )
        logger.info(f"Resumed from {run.checkpoint} at step {completed_steps}")
    if args.torch_compile:
        model = torch.compile(model, backend=args.torch_compile_backend or "inductor", mode=args.torch_compile_mode)
    if args.report_to:
        accelerator.init_trackers(
            "arlow_pretraining", {"model_preset": model_args.model_preset, "block_size": run.block_size}
        )

    # What was logged, also written to `log_history.json` (the counterpart of the Trainer's `log_history`).
    log_history = []

    @torch.no_grad()
    def log_evaluation(when: str):
        """Mean loss over the evaluation blocks of all processes, and its perplexity."""
        model.eval()
        losses = [
            accelerator.gather_for_metrics(model(**b).loss.float().repeat(len(b["input_ids"])))
            for b in eval_dataloader
        ]
        model.train()
        eval_loss = torch.cat(losses).mean().item()
        perplexity = math.exp(eval_loss) if eval_loss < 100 else float("inf")
        log_history.append({"step": completed_steps, "eval_loss": eval_loss})
        accelerator.print(f"[arlow] eval loss {when}: {eval_loss:.4f} (perplexity {perplexity:.2f})")
        return {"eval_loss": eval_loss, "perplexity": perplexity, "step": completed_steps}

    if run.checkpoint is None:
        results = log_evaluation("before training")
        write_json(accelerator, os.path.join(args.output_dir, "eval_before_training_results.json"), results)

    accumulation = args.gradient_accumulation_steps
    disable_progress = not accelerator.is_local_main_process or args.disable_tqdm
    progress = tqdm(total=args.max_steps, initial=completed_steps, disable=disable_progress)
    interrupt = GracefulInterrupt(args.interrupt_check_steps)
    model.train()
    batches = iter(train_dataloader)
    with interrupt:
        while completed_steps < args.max_steps and not interrupt.stopped:
            step_loss = torch.zeros((), device=accelerator.device)
            for micro_step in range(accumulation):
                batch = {key: value.to(accelerator.device) for key, value in next(batches).items()}
                last_micro_step = micro_step == accumulation - 1
                # Gradients are reduced across processes only on the last micro-batch of an optimizer step.
                synchronisation = contextlib.nullcontext()
                if sharded:
                    model.set_requires_gradient_sync(last_micro_step)
                elif not last_micro_step:
                    synchronisation = accelerator.no_sync(model)
                with synchronisation:
                    with accelerator.autocast():
                        # Only the loss: the model never materialises the (tokens x vocabulary) logits.
                        loss = model(**batch, skip_logits=True).loss / accumulation
                    accelerator.backward(loss)
                step_loss += loss.detach()
            if args.max_grad_norm > 0:
                clip_grad_norm = torch.nn.utils.clip_grad_norm_ if sharded else accelerator.clip_grad_norm_
                clip_grad_norm(model.parameters(), args.max_grad_norm)
            prepared_optimizer.step()
            lr_scheduler.step()
            prepared_optimizer.zero_grad()
            completed_steps += 1
            progress.update(1)

            if completed_steps % args.logging_steps == 0 or completed_steps == args.max_steps:
                last_loss = accelerator.reduce(step_loss, reduction="mean").item()
                log_history.append({"step": completed_steps, "loss": last_loss})
                accelerator.print(f"[arlow] step {completed_steps} loss {last_loss}")
                if args.report_to:
                    accelerator.log({"train_loss": last_loss, "lr": lr_scheduler.get_last_lr()[0]}, completed_steps)
            if args.eval_steps and completed_steps % int(args.eval_steps) == 0:
                log_evaluation(f"at step {completed_steps}")
            stop = interrupt.should_stop(completed_steps, accelerator.device)
            if stop or (args.save_steps and completed_steps % int(args.save_steps) == 0):
                checkpoint_dir = os.path.join(args.output_dir, f"checkpoint-{completed_steps}")
                save_checkpoint(
                    accelerator, checkpoint_dir, model, optimizer, lr_scheduler, train_dataloader, completed_steps
                )
                if accelerator.is_main_process:
                    tokenizer.save_pretrained(checkpoint_dir)
    progress.close()

    if interrupt.stopped:
        accelerator.print(
            f"[arlow] stopped by {interrupt.signal_name} at step {completed_steps}; checkpoint saved in "
            f"{args.output_dir}, continue with --resume_from_checkpoint latest"
        )
    else:
        # The whole model (gathered from the shards with FSDP2 on process 0, on CPU) and the tokenizer.
        accelerator.wait_for_everyone()
        full_state = StateDictOptions(full_state_dict=True, cpu_offload=True)
        state_dict = get_model_state_dict(model, options=full_state) if sharded else None
        if accelerator.is_main_process:
            accelerator.unwrap_model(model).save_pretrained(args.output_dir, state_dict=state_dict)
            tokenizer.save_pretrained(args.output_dir)
        write_json(accelerator, os.path.join(args.output_dir, "eval_results.json"), log_evaluation("after training"))
        write_json(accelerator, os.path.join(args.output_dir, "log_history.json"), log_history)
    # Processes leave together: a gloo process group torn down while its peer still talks to it can abort the peer.
    accelerator.wait_for_everyone()
    accelerator.end_training()
    return interrupt.exit_code if interrupt.stopped else 0


if __name__ == "__main__":
    sys.exit(main())
