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
torch_compile, logging/eval/save steps, `report_to`, `resume_from_checkpoint`) and runs under `accelerate launch` or
`torchrun` alike. A checkpoint is `accelerator.save_state` (model, optimizer, scheduler, RNG states) plus the data
stream position, so resuming continues with the very next batch.
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
from arlow_pretraining_data import (
    PackedTokenStream,
    build_eval_blocks,
    load_document_sources,
    worker_ignores_interrupts,
)
from arlow_pretraining_setup import (
    DataTrainingArguments,
    GracefulInterrupt,
    ModelArguments,
    announce_unused_parameters,
    build_config,
    build_model,
    check_distributed_launch,
    check_not_empty,
    check_training_length,
    load_or_train_tokenizer,
    resolve_attn_implementation,
    resolve_block_size,
    resolve_checkpoint,
)
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

import transformers
from transformers import HfArgumentParser, TrainingArguments, default_data_collator, get_scheduler, set_seed


logger = logging.getLogger(__name__)
TRAINING_STATE_NAME = "arlow_training_state.json"


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
    tokenizer,
    output_dir: str,
    completed_steps: int,
    batch_size: int,
    gradient_accumulation_steps: int,
):
    """`checkpoint-N/`: the accelerate state, the tokenizer, and how far training and the data stream got."""
    checkpoint_dir = os.path.join(output_dir, f"checkpoint-{completed_steps}")
    accelerator.save_state(checkpoint_dir)
    if accelerator.is_main_process:
        tokenizer.save_pretrained(checkpoint_dir)
        state = {
            "completed_steps": completed_steps,
            "data": PackedTokenStream.state_dict_after(completed_steps * gradient_accumulation_steps, batch_size),
        }
        with open(os.path.join(checkpoint_dir, TRAINING_STATE_NAME), "w", encoding="utf-8") as file:
            json.dump(state, file, indent=2)
    accelerator.wait_for_everyone()
    return checkpoint_dir


def main(argv: list[str] | None = None) -> int:
    parser = HfArgumentParser((ModelArguments, DataTrainingArguments, TrainingArguments))
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) == 1 and argv[0].endswith(".json"):
        model_args, data_args, args = parser.parse_json_file(json_file=os.path.abspath(argv[0]))
    else:
        model_args, data_args, args = parser.parse_args_into_dataclasses(args=argv)

    # Every check that can fail runs before the first training step.
    check_training_length(args.max_steps)
    checkpoint = resolve_checkpoint(args.resume_from_checkpoint, args.output_dir)
    attn_implementation = resolve_attn_implementation(model_args.attn_implementation)
    config = build_config(model_args)
    block_size = resolve_block_size(data_args, config)
    train_documents, eval_documents = load_document_sources(
        dataset_name=data_args.dataset_name,
        dataset_config_name=data_args.dataset_config_name,
        train_file=data_args.train_file,
        validation_file=data_args.validation_file,
        text_column_name=data_args.text_column_name,
        validation_split_percentage=data_args.validation_split_percentage,
        trust_remote_code=data_args.trust_remote_code,
    )
    check_not_empty(train_documents)

    mixed_precision = "bf16" if args.bf16 else "fp16" if args.fp16 else "no"
    # Cross-attention layers get no gradient without encoder states; DDP must be told to expect that.
    find_unused = args.ddp_find_unused_parameters
    if find_unused is None:
        find_unused = bool(config.cross_attention)
    accelerator = Accelerator(
        cpu=args.use_cpu,
        mixed_precision=mixed_precision,
        log_with=args.report_to or None,
        project_dir=args.output_dir,
        kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=find_unused)],
        # The loop steps the scheduler once per optimizer step itself. Linked to the optimizer, a prepared scheduler
        # would step once per process, which is right only for a prepared (split) dataloader, not for this stream.
        step_scheduler_with_optimizer=False,
    )
    check_distributed_launch(accelerator.num_processes)
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
    with accelerator.main_process_first():
        tokenizer_dir = os.path.join(args.output_dir, "tokenizer")
        if not accelerator.is_main_process and os.path.isfile(os.path.join(tokenizer_dir, "tokenizer.json")):
            model_args.tokenizer_name = tokenizer_dir
        tokenizer = load_or_train_tokenizer(model_args, train_documents, checkpoint, config)
        if accelerator.is_main_process:
            tokenizer.save_pretrained(tokenizer_dir)

    model = build_model(config, tokenizer, attn_implementation)
    announce_unused_parameters(model)
    if args.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=args.gradient_checkpointing_kwargs)
    logger.info(
        f"Training {model_args.model_preset} from scratch: {model.num_parameters():,} parameters, "
        f"attention {attn_implementation}, block size {block_size}, vocabulary {len(tokenizer)}"
    )

    train_dataset = PackedTokenStream(
        train_documents,
        tokenizer,
        block_size,
        shuffle_buffer_size=data_args.shuffle_buffer_size,
        seed=args.seed,
        process_index=accelerator.process_index,
        num_processes=accelerator.num_processes,
    )
    completed_steps = 0
    if checkpoint is not None:
        with open(os.path.join(checkpoint, TRAINING_STATE_NAME), encoding="utf-8") as file:
            training_state = json.load(file)
        completed_steps = training_state["completed_steps"]
        train_dataset.load_state_dict(training_state["data"])
    # The dataset shards itself across processes and workers, so this dataloader is not passed to `prepare`.
    train_dataloader = DataLoader(
        train_dataset,
        batch_size=args.per_device_train_batch_size,
        collate_fn=default_data_collator,
        num_workers=args.dataloader_num_workers,
        worker_init_fn=worker_ignores_interrupts,
        drop_last=True,
    )
    eval_dataloader = DataLoader(
        build_eval_blocks(eval_documents, tokenizer, block_size, data_args.max_eval_samples),
        batch_size=args.per_device_eval_batch_size,
        collate_fn=default_data_collator,
    )

    optimizer = torch.optim.AdamW(
        optimizer_parameter_groups(model, args.weight_decay),
        lr=args.learning_rate,
        betas=(args.adam_beta1, args.adam_beta2),
        eps=args.adam_epsilon,
    )
    lr_scheduler = get_scheduler(
        args.lr_scheduler_type,
        optimizer=optimizer,
        num_warmup_steps=args.get_warmup_steps(args.max_steps),
        num_training_steps=args.max_steps,
        scheduler_specific_kwargs=args.lr_scheduler_kwargs,
    )
    model, optimizer, eval_dataloader, lr_scheduler = accelerator.prepare(
        model, optimizer, eval_dataloader, lr_scheduler
    )
    if args.torch_compile:
        model = torch.compile(model, backend=args.torch_compile_backend or "inductor", mode=args.torch_compile_mode)
    if checkpoint is not None:
        accelerator.load_state(checkpoint)
        logger.info(f"Resumed from {checkpoint} at step {completed_steps}")
    if args.report_to:
        accelerator.init_trackers(
            "arlow_pretraining", {"model_preset": model_args.model_preset, "block_size": block_size}
        )

    # What was logged, also written to `log_history.json` (the counterpart of the Trainer's `log_history`).
    log_history = []
    if checkpoint is None:
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
                # Gradients are all-reduced only on the last micro-batch of an optimizer step.
                with contextlib.nullcontext() if last_micro_step else accelerator.no_sync(model):
                    with accelerator.autocast():
                        loss = model(**batch).loss / gradient_accumulation_steps
                    accelerator.backward(loss)
                step_loss += loss.detach()
            if args.max_grad_norm > 0:
                accelerator.clip_grad_norm_(model.parameters(), args.max_grad_norm)
            optimizer.step()
            lr_scheduler.step()
            optimizer.zero_grad()
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
                save_checkpoint(
                    accelerator,
                    tokenizer,
                    args.output_dir,
                    completed_steps,
                    args.per_device_train_batch_size,
                    gradient_accumulation_steps,
                )
    progress.close()

    if stop:
        accelerator.print(
            f"[arlow] stopped by {interrupt.signal_name} at step {completed_steps}; checkpoint saved in "
            f"{args.output_dir}, continue with --resume_from_checkpoint latest"
        )
        accelerator.end_training()
        return interrupt.exit_code

    accelerator.wait_for_everyone()
    unwrapped = accelerator.unwrap_model(model)
    unwrapped.save_pretrained(
        args.output_dir, is_main_process=accelerator.is_main_process, save_function=accelerator.save
    )
    if accelerator.is_main_process:
        tokenizer.save_pretrained(args.output_dir)
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
    accelerator.end_training()
    return 0


if __name__ == "__main__":
    sys.exit(main())
