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
Pretraining Arlow from scratch with a plain training loop on 🤗 Accelerate, on streamed data.

It takes the same arguments as `run_pretrain_arlow.py` (the [`TrainingArguments`] fields it uses: batch sizes,
learning rate and schedule, `max_steps`, gradient accumulation and clipping, bf16/fp16, gradient checkpointing,
torch_compile, logging/eval/save steps, `report_to`, `resume_from_checkpoint`, `fsdp`) and runs under
`accelerate launch` or `torchrun` alike. With `--fsdp` (any value, e.g. `--fsdp full_shard`) the model is sharded with
FSDP2 (`fully_shard` on every decoder layer and the root), on CPU over gloo as on GPUs; otherwise several processes
train with DDP. A checkpoint `checkpoint-N/` holds the model and optimizer as sharded `torch.distributed.checkpoint`
files, and each process's scheduler, step, RNG and data stream position, so resuming continues with the very next
batch.
"""

import contextlib
import json
import logging
import math
import os
import sys

import datasets
import torch
from accelerate import Accelerator
from accelerate.utils import DistributedDataParallelKwargs
from arlow_chunked_loss import apply_chunked_loss
from arlow_pretraining_data import load_data_state, save_data_state, training_dataloader
from arlow_pretraining_setup import (
    GracefulInterrupt,
    build_model,
    check_distributed_launch,
    evaluation_blocks,
    parse_arguments,
    prepare_run,
    shared_tokenizer,
    training_stream,
)
from arlow_sharded_training import (
    full_model_state_dict,
    load_model_and_optimizer,
    save_model_and_optimizer,
    shard_model,
)
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

import transformers
from transformers import default_data_collator, get_scheduler, set_seed


logger = logging.getLogger(__name__)
TRAINING_STATE_NAME = "training_state-rank{rank}.pt"


def optimizer_parameter_groups(model, weight_decay: float) -> list[dict]:
    """Weight decay on matrices only: biases and norm weights (1-d tensors) are not decayed."""
    parameters = [parameter for parameter in model.parameters() if parameter.requires_grad]
    return [
        {"params": [p for p in parameters if p.dim() >= 2], "weight_decay": weight_decay},
        {"params": [p for p in parameters if p.dim() < 2], "weight_decay": 0.0},
    ]


@torch.no_grad()
def evaluate(model, eval_dataloader, accelerator: Accelerator) -> tuple[float, float]:
    """Mean loss over the evaluation blocks of all processes, and its perplexity."""
    model.eval()
    losses = []
    for batch in eval_dataloader:
        loss = model(**batch).loss
        losses.append(accelerator.gather_for_metrics(loss.detach().float().repeat(batch["input_ids"].shape[0])))
    model.train()
    eval_loss = torch.cat(losses).mean().item()
    return eval_loss, math.exp(eval_loss) if eval_loss < 100 else float("inf")


def save_checkpoint(
    accelerator: Accelerator,
    checkpoint_dir: str,
    model,
    optimizer,
    lr_scheduler,
    train_dataloader,
    completed_steps: int,
):
    """
    `checkpoint-N/`: model and optimizer shards (DCP), and per process the step, scheduler and RNG states
    (`training_state-rank<r>.pt`) and the data stream position (`data_state-rank<r>.json`).
    """
    save_model_and_optimizer(checkpoint_dir, model, optimizer)
    state = {
        "completed_steps": completed_steps,
        "lr_scheduler": lr_scheduler.state_dict(),
        "torch_rng_state": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda_rng_state"] = torch.cuda.get_rng_state()
    torch.save(state, os.path.join(checkpoint_dir, TRAINING_STATE_NAME.format(rank=accelerator.process_index)))
    save_data_state(checkpoint_dir, train_dataloader, accelerator.process_index, accelerator.num_processes)
    accelerator.wait_for_everyone()


def load_checkpoint(
    accelerator: Accelerator, checkpoint_dir: str, model, optimizer, lr_scheduler, train_dataloader
) -> int:
    """Restores what [`save_checkpoint`] wrote; returns the number of optimizer steps already done."""
    load_model_and_optimizer(checkpoint_dir, model, optimizer)
    state_path = os.path.join(checkpoint_dir, TRAINING_STATE_NAME.format(rank=accelerator.process_index))
    if not os.path.isfile(state_path):
        raise ValueError(f"{checkpoint_dir!r} holds no training state for process {accelerator.process_index}")
    state = torch.load(state_path, weights_only=True)
    lr_scheduler.load_state_dict(state["lr_scheduler"])
    torch.set_rng_state(state["torch_rng_state"])
    if "cuda_rng_state" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda_rng_state"])
    load_data_state(checkpoint_dir, train_dataloader, accelerator.process_index, accelerator.num_processes)
    return state["completed_steps"]


def save_final_model(accelerator: Accelerator, model, tokenizer, output_dir: str, sharded: bool):
    """`save_pretrained` of the whole model (gathered from the shards with FSDP2) and the tokenizer, by process 0."""
    accelerator.wait_for_everyone()
    state_dict = full_model_state_dict(model) if sharded else None
    if accelerator.is_main_process:
        accelerator.unwrap_model(model).save_pretrained(output_dir, state_dict=state_dict)
        tokenizer.save_pretrained(output_dir)
    accelerator.wait_for_everyone()


def main(argv: list[str] | None = None) -> int:
    model_args, data_args, args = parse_arguments(argv)

    # Every check that can fail runs before the first training step.
    run = prepare_run(model_args, data_args, args)
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
    check_distributed_launch(accelerator.num_processes)
    if sharded and accelerator.num_processes < 2:
        raise ValueError(
            "--fsdp shards the model across processes: launch several, e.g. "
            "`torchrun --nproc_per_node 2 run_pretrain_arlow_no_trainer.py --fsdp full_shard --use_cpu ...`"
        )
    logging.basicConfig(
        format="%(asctime)s - %(levelname)s - %(name)s - %(message)s", datefmt="%m/%d/%Y %H:%M:%S", level=logging.INFO
    )
    logger.info(accelerator.state)
    if accelerator.is_local_main_process:
        datasets.utils.logging.set_verbosity_warning()
        transformers.utils.logging.set_verbosity_warning()
    else:
        logging.getLogger().setLevel(logging.ERROR)
        datasets.utils.logging.set_verbosity_error()
        transformers.utils.logging.set_verbosity_error()

    set_seed(args.seed)
    tokenizer = shared_tokenizer(
        model_args, run, args.output_dir, accelerator.is_main_process, accelerator.main_process_first()
    )
    # the training forwards pass `skip_logits=True`: the loss without the (tokens x vocabulary) logits
    model = apply_chunked_loss(build_model(run.config, tokenizer, run.attn_implementation))
    if args.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=args.gradient_checkpointing_kwargs)
    logger.info(
        f"Training {model_args.model_preset} from scratch: {model.num_parameters():,} parameters, "
        f"attention {run.attn_implementation}, block size {run.block_size}, vocabulary {len(tokenizer)}"
        + (f", sharded with FSDP2 across {accelerator.num_processes} processes" if sharded else "")
    )
    if sharded:
        model = shard_model(model, accelerator.device.type, mixed_precision)

    train_dataloader = training_dataloader(
        training_stream(run, data_args, tokenizer, args.seed, accelerator.process_index, accelerator.num_processes),
        batch_size=args.per_device_train_batch_size,
        num_workers=args.dataloader_num_workers,
    )
    eval_dataloader = DataLoader(
        evaluation_blocks(run, data_args, tokenizer),
        batch_size=args.per_device_eval_batch_size,
        collate_fn=default_data_collator,
    )

    optimizer = torch.optim.AdamW(
        optimizer_parameter_groups(model, args.weight_decay),
        lr=args.learning_rate,
        betas=(args.adam_beta1, args.adam_beta2),
        eps=args.adam_epsilon,
    )
    # Stepped by the loop once per optimizer step, so not handed to `prepare` (which would step it once per process).
    lr_scheduler = get_scheduler(
        args.lr_scheduler_type,
        optimizer=optimizer,
        num_warmup_steps=args.get_warmup_steps(args.max_steps),
        num_training_steps=args.max_steps,
        scheduler_specific_kwargs=args.lr_scheduler_kwargs,
    )
    # The training stream is already this process's part, so its dataloader is not prepared either. A sharded model
    # is not: `prepare` would wrap it in DDP.
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
    if run.checkpoint is None:
        eval_loss, perplexity = evaluate(model, eval_dataloader, accelerator)
        log_history.append({"step": completed_steps, "eval_loss": eval_loss})
        accelerator.print(f"[arlow] eval loss before training: {eval_loss:.4f} (perplexity {perplexity:.2f})")
        if accelerator.is_main_process:
            os.makedirs(args.output_dir, exist_ok=True)
            with open(
                os.path.join(args.output_dir, "eval_before_training_results.json"), "w", encoding="utf-8"
            ) as file:
                json.dump({"eval_loss": eval_loss, "perplexity": perplexity}, file, indent=2)

    gradient_accumulation_steps = args.gradient_accumulation_steps
    progress = tqdm(
        total=args.max_steps,
        initial=completed_steps,
        disable=not accelerator.is_local_main_process or args.disable_tqdm,
    )
    interrupt = GracefulInterrupt()
    first_loss = last_loss = None
    model.train()
    batches = iter(train_dataloader)
    stop = False
    with interrupt:
        while completed_steps < args.max_steps and not stop:
            step_loss = torch.zeros((), device=accelerator.device)
            for micro_step in range(gradient_accumulation_steps):
                batch = {key: value.to(accelerator.device) for key, value in next(batches).items()}
                last_micro_step = micro_step == gradient_accumulation_steps - 1
                # Gradients are reduced across processes only on the last micro-batch of an optimizer step.
                if sharded:
                    model.set_requires_gradient_sync(last_micro_step)
                    synchronisation = contextlib.nullcontext()
                else:
                    synchronisation = contextlib.nullcontext() if last_micro_step else accelerator.no_sync(model)
                with synchronisation:
                    with accelerator.autocast():
                        # Only the loss: the model never materialises the (tokens x vocabulary) logits.
                        loss = model(**batch, skip_logits=True).loss / gradient_accumulation_steps
                    accelerator.backward(loss)
                step_loss += loss.detach()
            if args.max_grad_norm > 0:
                if sharded:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), args.max_grad_norm)
                else:
                    accelerator.clip_grad_norm_(model.parameters(), args.max_grad_norm)
            prepared_optimizer.step()
            lr_scheduler.step()
            prepared_optimizer.zero_grad()
            completed_steps += 1
            progress.update(1)

            if completed_steps % args.logging_steps == 0 or completed_steps == args.max_steps:
                mean_loss = accelerator.reduce(step_loss, reduction="mean").item()
                first_loss = mean_loss if first_loss is None else first_loss
                last_loss = mean_loss
                log_history.append({"step": completed_steps, "loss": mean_loss})
                accelerator.print(f"[arlow] step {completed_steps} loss {mean_loss}")
                if args.report_to:
                    accelerator.log(
                        {"train_loss": mean_loss, "lr": lr_scheduler.get_last_lr()[0]}, step=completed_steps
                    )
            if args.eval_steps and completed_steps % int(args.eval_steps) == 0:
                eval_loss, perplexity = evaluate(model, eval_dataloader, accelerator)
                log_history.append({"step": completed_steps, "eval_loss": eval_loss})
                accelerator.print(
                    f"[arlow] step {completed_steps} eval loss {eval_loss:.4f} (perplexity {perplexity:.2f})"
                )
            stop = interrupt.requested_on_any_rank(accelerator.device)
            if stop or (args.save_steps and completed_steps % int(args.save_steps) == 0):
                checkpoint_dir = os.path.join(args.output_dir, f"checkpoint-{completed_steps}")
                save_checkpoint(
                    accelerator, checkpoint_dir, model, optimizer, lr_scheduler, train_dataloader, completed_steps
                )
                if accelerator.is_main_process:
                    tokenizer.save_pretrained(checkpoint_dir)
    progress.close()

    if stop:
        accelerator.print(
            f"[arlow] stopped by {interrupt.signal_name} at step {completed_steps}; checkpoint saved in "
            f"{args.output_dir}, continue with --resume_from_checkpoint latest"
        )
        # Processes leave together: a gloo process group torn down while its peer still talks to it can abort the peer
        accelerator.wait_for_everyone()
        accelerator.end_training()
        return interrupt.exit_code

    save_final_model(accelerator, model, tokenizer, args.output_dir, sharded)
    if first_loss is not None:
        accelerator.print(f"[arlow] training loss: first logged {first_loss:.4f}, last {last_loss:.4f}")
    eval_loss, perplexity = evaluate(model, eval_dataloader, accelerator)
    log_history.append({"step": completed_steps, "eval_loss": eval_loss})
    accelerator.print(f"[arlow] eval loss after training: {eval_loss:.4f} (perplexity {perplexity:.2f})")
    if accelerator.is_main_process:
        with open(os.path.join(args.output_dir, "eval_results.json"), "w", encoding="utf-8") as file:
            json.dump({"eval_loss": eval_loss, "perplexity": perplexity, "step": completed_steps}, file, indent=2)
        with open(os.path.join(args.output_dir, "log_history.json"), "w", encoding="utf-8") as file:
            json.dump(log_history, file, indent=2)
    accelerator.wait_for_everyone()
    accelerator.end_training()
    return 0


if __name__ == "__main__":
    sys.exit(main())
