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

Multi-process (DDP) runs use the same command under `torchrun --nproc_per_node N` or `accelerate launch`; on GPUs,
`--fsdp` shards the model with FSDP2 through accelerate (see README.md). SIGINT or SIGTERM during training saves a
checkpoint before stopping; resume it with `--resume_from_checkpoint latest` (or a checkpoint folder): the data stream
continues from the position saved in the checkpoint.
"""

import logging
import math
import sys

import datasets
import torch
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

import transformers
from transformers import Trainer, TrainerCallback, default_data_collator, set_seed


logger = logging.getLogger(__name__)


class StreamingPretrainingTrainer(Trainer):
    """
    A [`Trainer`] for a streamed training set that every process reads on its own (its own shards, split further
    between its dataloader workers by 🤗 Datasets), instead of `accelerate` reading one stream on the main process and
    dispatching batches. The dataloader is torchdata's `StatefulDataLoader`: checkpoints hold its position, and a
    resumed run restores it instead of replaying the batches already trained on. Training forwards ask the model for
    the loss only (`skip_logits=True`), so the (tokens x vocabulary) logits are never materialised.

    Args:
        resume_data_from (`str`, *optional*):
            A checkpoint folder whose data stream position the training dataloader starts from.
    """

    def __init__(self, *args, resume_data_from: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.resume_data_from = resume_data_from

    def get_train_dataloader(self):
        if not isinstance(self.train_dataset, datasets.IterableDataset):
            return super().get_train_dataloader()
        dataloader = training_dataloader(
            self.train_dataset,
            batch_size=self._train_batch_size,
            num_workers=self.args.dataloader_num_workers,
            pin_memory=self.args.dataloader_pin_memory and torch.cuda.is_available(),
            persistent_workers=self.args.dataloader_persistent_workers and self.args.dataloader_num_workers > 0,
            prefetch_factor=self.args.dataloader_prefetch_factor,
        )
        if self.resume_data_from is not None:
            load_data_state(self.resume_data_from, dataloader, self.args.process_index, self.args.world_size)
        return dataloader

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if model.training and "labels" in inputs:
            inputs = {**inputs, "skip_logits": True}
        return super().compute_loss(
            model, inputs, return_outputs=return_outputs, num_items_in_batch=num_items_in_batch
        )


class DataStateCallback(TrainerCallback):
    """Saves each process's data stream position into every checkpoint the [`Trainer`] writes."""

    def on_save(self, args, state, control, train_dataloader=None, **kwargs):
        if hasattr(train_dataloader, "state_dict"):
            checkpoint_dir = f"{args.output_dir}/checkpoint-{state.global_step}"
            save_data_state(checkpoint_dir, train_dataloader, args.process_index, args.world_size)


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
    model_args, data_args, training_args = parse_arguments(argv)

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
    check_distributed_launch(training_args.world_size)
    if training_args.fsdp and training_args.device.type == "cpu":
        # accelerate shards with FSDP only on accelerators; on CPU it would quietly run plain DDP instead.
        raise ValueError(
            "--fsdp with the Trainer needs GPUs (or other accelerators): on CPU, accelerate runs DDP instead of FSDP. "
            "run_pretrain_arlow_no_trainer.py --fsdp shards with FSDP2 on CPU too"
        )
    run = prepare_run(model_args, data_args, training_args, trains=training_args.do_train)
    # The stream position comes from the checkpoint (DataStateCallback), not from re-reading the batches trained on.
    training_args.ignore_data_skip = True

    if not torch.cuda.is_available():
        training_args.dataloader_pin_memory = False  # pinning needs an accelerator; only a warning without one
    set_seed(training_args.seed)
    tokenizer = shared_tokenizer(
        model_args,
        run,
        training_args.output_dir,
        training_args.process_index == 0,
        training_args.main_process_first(desc="tokenizer"),
    )
    # the training forwards pass `skip_logits=True`: the loss without the (tokens x vocabulary) logits
    model = apply_chunked_loss(build_model(run.config, tokenizer, run.attn_implementation))
    logger.info(
        f"Training {model_args.model_preset} from scratch: {model.num_parameters():,} parameters, "
        f"attention {run.attn_implementation}, block size {run.block_size}, vocabulary {len(tokenizer)}"
    )

    train_dataset = None
    if training_args.do_train:
        train_dataset = training_stream(
            run, data_args, tokenizer, training_args.seed, training_args.process_index, training_args.world_size
        )
    eval_dataset = evaluation_blocks(run, data_args, tokenizer) if training_args.do_eval else None

    interrupt = GracefulInterrupt()
    loss_report = LossReportCallback()
    evaluation_before_training = EvaluationBeforeTrainingCallback()
    if training_args.do_eval and training_args.do_train and run.checkpoint is None:
        training_args.eval_on_start = True
    trainer = StreamingPretrainingTrainer(
        model=model,
        args=training_args,
        train_dataset=train_dataset,
        eval_dataset=eval_dataset,
        processing_class=tokenizer,
        data_collator=default_data_collator,
        callbacks=[
            CheckpointOnInterruptCallback(interrupt),
            DataStateCallback(),
            loss_report,
            evaluation_before_training,
            *callbacks,
        ],
        resume_data_from=run.checkpoint,
    )

    if training_args.do_train:
        with interrupt:
            train_result = trainer.train(resume_from_checkpoint=run.checkpoint)
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
