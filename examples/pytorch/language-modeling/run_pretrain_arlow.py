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
Pretraining Arlow from scratch for causal language modeling with the [`Trainer`], on streamed data.

With no data argument it trains on the embedded default corpus (the Python standard library's own source files):

    python run_pretrain_arlow.py --model_preset arlow-demo --output_dir /tmp/arlow-demo \
        --do_train --do_eval --max_steps 300 --per_device_train_batch_size 16 --block_size 128

Multi-process (DDP) runs use the same command under `torchrun --nproc_per_node N` or `accelerate launch`; see
README.md for FSDP. SIGINT or SIGTERM during training saves a checkpoint before stopping; resume it with
`--resume_from_checkpoint latest` (or a checkpoint folder).
"""

import logging
import math
import os
import sys

import datasets
import torch
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

import transformers
from transformers import (
    HfArgumentParser,
    Trainer,
    TrainerCallback,
    TrainingArguments,
    default_data_collator,
    set_seed,
)


logger = logging.getLogger(__name__)


class StreamingPretrainingTrainer(Trainer):
    """
    A [`Trainer`] whose training dataloader leaves the sharding to [`PackedTokenStream`]: every process reads its own
    shard of the stream (and every worker its own part of it), instead of `accelerate` reading one stream on the main
    process and dispatching batches.
    """

    def get_train_dataloader(self) -> DataLoader:
        if not isinstance(self.train_dataset, PackedTokenStream):
            return super().get_train_dataloader()
        return DataLoader(
            self.train_dataset,
            batch_size=self._train_batch_size,
            collate_fn=self.data_collator,
            num_workers=self.args.dataloader_num_workers,
            pin_memory=self.args.dataloader_pin_memory and torch.cuda.is_available(),
            persistent_workers=self.args.dataloader_persistent_workers and self.args.dataloader_num_workers > 0,
            prefetch_factor=self.args.dataloader_prefetch_factor,
            worker_init_fn=worker_ignores_interrupts,
            drop_last=True,
        )


class CheckpointOnInterruptCallback(TrainerCallback):
    """Turns a SIGINT/SIGTERM caught by [`GracefulInterrupt`] into "save a checkpoint now, then stop"."""

    def __init__(self, interrupt: GracefulInterrupt):
        self.interrupt = interrupt

    def on_step_end(self, args, state, control, **kwargs):
        if self.interrupt.requested_on_any_rank(args.device):
            control.should_save = True
            control.should_training_stop = True


class LossReportCallback(TrainerCallback):
    """Prints one plain line per logged training loss and remembers the first and last ones."""

    def __init__(self):
        self.first_loss = None
        self.last_loss = None

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs or "loss" not in logs:
            return
        if self.first_loss is None:
            self.first_loss = logs["loss"]
        self.last_loss = logs["loss"]
        print(f"[arlow] step {state.global_step} loss {logs['loss']}", flush=True)


class EvaluationBeforeTrainingCallback(TrainerCallback):
    """
    Reports the evaluation `eval_on_start` runs inside `train()`, once the model is wrapped for distributed training.
    (Calling `trainer.evaluate()` before `train()` would mark the model as prepared without its DDP wrapper, and the
    processes would then train without synchronising their gradients.)
    """

    def __init__(self):
        self.metrics = None

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        if self.metrics is not None or state.global_step != 0:
            return
        self.metrics = dict(metrics)
        if state.is_world_process_zero:
            report_evaluation(self.metrics, "eval", "before training")


def report_evaluation(metrics: dict, prefix: str, when: str) -> float:
    loss = metrics[f"{prefix}_loss"]
    perplexity = math.exp(loss) if loss < 100 else float("inf")
    metrics[f"{prefix}_perplexity"] = perplexity
    print(f"[arlow] eval loss {when}: {loss:.4f} (perplexity {perplexity:.2f})", flush=True)
    return perplexity


def main(argv: list[str] | None = None, callbacks: tuple[TrainerCallback, ...] = ()) -> int:
    parser = HfArgumentParser((ModelArguments, DataTrainingArguments, TrainingArguments))
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) == 1 and argv[0].endswith(".json"):
        model_args, data_args, training_args = parser.parse_json_file(json_file=os.path.abspath(argv[0]))
    else:
        model_args, data_args, training_args = parser.parse_args_into_dataclasses(args=argv)

    logging.basicConfig(
        format="%(asctime)s - %(levelname)s - %(name)s - %(message)s",
        datefmt="%m/%d/%Y %H:%M:%S",
        handlers=[logging.StreamHandler(sys.stdout)],
    )
    if training_args.should_log:
        transformers.utils.logging.set_verbosity_info()
    log_level = training_args.get_process_log_level()
    logger.setLevel(log_level)
    logging.getLogger("arlow_pretraining_setup").setLevel(log_level)
    datasets.utils.logging.set_verbosity(log_level)
    transformers.utils.logging.set_verbosity(log_level)
    logger.warning(
        f"Process rank: {training_args.process_index} of {training_args.world_size}, device: {training_args.device}, "
        f"mixed precision: {training_args.mixed_precision}"
    )

    # Every check that can fail runs before the first training step.
    if not (training_args.do_train or training_args.do_eval):
        raise ValueError("Nothing to do: pass --do_train and/or --do_eval")
    if training_args.do_train:
        check_training_length(training_args.max_steps)
    check_distributed_launch(training_args.world_size)
    if training_args.fsdp and training_args.device.type == "cpu":
        # accelerate shards with FSDP only on accelerators; on CPU it would quietly run plain DDP instead.
        raise ValueError("--fsdp needs GPUs (or other accelerators): on CPU, accelerate runs DDP instead of FSDP")
    checkpoint = resolve_checkpoint(training_args.resume_from_checkpoint, training_args.output_dir)
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

    if not torch.cuda.is_available():
        training_args.dataloader_pin_memory = False  # pinning needs an accelerator; only a warning without one
    set_seed(training_args.seed)
    # The main process trains (or loads) the tokenizer first and saves it; the others then load that copy.
    with training_args.main_process_first(desc="tokenizer"):
        tokenizer_dir = os.path.join(training_args.output_dir, "tokenizer")
        if training_args.process_index > 0 and os.path.isfile(os.path.join(tokenizer_dir, "tokenizer.json")):
            model_args.tokenizer_name = tokenizer_dir
        tokenizer = load_or_train_tokenizer(model_args, train_documents, checkpoint, config)
        if training_args.process_index == 0:
            tokenizer.save_pretrained(tokenizer_dir)

    model = build_model(config, tokenizer, attn_implementation)
    if announce_unused_parameters(model) and training_args.ddp_find_unused_parameters is None:
        training_args.ddp_find_unused_parameters = True
    logger.info(
        f"Training {model_args.model_preset} from scratch: {model.num_parameters():,} parameters, "
        f"attention {attn_implementation}, block size {block_size}, vocabulary {len(tokenizer)}"
    )

    train_dataset = None
    if training_args.do_train:
        logger.info(f"Training data: {train_documents.description}")
        train_dataset = PackedTokenStream(
            train_documents,
            tokenizer,
            block_size,
            shuffle_buffer_size=data_args.shuffle_buffer_size,
            seed=training_args.seed,
            process_index=training_args.process_index,
            num_processes=training_args.world_size,
        )
    eval_dataset = None
    if training_args.do_eval:
        eval_dataset = build_eval_blocks(eval_documents, tokenizer, block_size, data_args.max_eval_samples)
        logger.info(f"Evaluation data: {len(eval_dataset)} blocks of {eval_documents.description}")

    interrupt = GracefulInterrupt()
    loss_report = LossReportCallback()
    evaluation_before_training = EvaluationBeforeTrainingCallback()
    if training_args.do_eval and training_args.do_train and checkpoint is None:
        training_args.eval_on_start = True
    trainer = StreamingPretrainingTrainer(
        model=model,
        args=training_args,
        train_dataset=train_dataset,
        eval_dataset=eval_dataset,
        processing_class=tokenizer,
        data_collator=default_data_collator,
        callbacks=[CheckpointOnInterruptCallback(interrupt), loss_report, evaluation_before_training, *callbacks],
    )

    if training_args.do_train:
        with interrupt:
            train_result = trainer.train(resume_from_checkpoint=checkpoint)
        if interrupt.requested:
            print(
                f"[arlow] stopped by {interrupt.signal_name} at step {trainer.state.global_step}; checkpoint saved "
                f"in {training_args.output_dir}, continue with --resume_from_checkpoint latest",
                flush=True,
            )
            return interrupt.exit_code
        trainer.save_model()
        if evaluation_before_training.metrics is not None:
            trainer.save_metrics("eval_before_training", evaluation_before_training.metrics)
        metrics = train_result.metrics
        trainer.log_metrics("train", metrics)
        trainer.save_metrics("train", metrics)
        trainer.save_state()
        if loss_report.first_loss is not None:
            print(f"[arlow] training loss: first logged {loss_report.first_loss}, last {loss_report.last_loss}")

    if training_args.do_eval:
        metrics = trainer.evaluate(metric_key_prefix="eval")
        report_evaluation(metrics, "eval", "after training")
        trainer.log_metrics("eval", metrics)
        trainer.save_metrics("eval", metrics)
    return 0


if __name__ == "__main__":
    sys.exit(main())
