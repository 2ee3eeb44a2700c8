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
Pretraining Arlow from scratch for causal language modeling with the [`Trainer`], on streamed data (by default the
embedded corpus, the Python standard library's own source files):

    python run_pretrain_arlow.py --model_preset arlow-demo --output_dir /tmp/arlow-demo \
        --do_train --do_eval --max_steps 300 --per_device_train_batch_size 16 --block_size 128

The same command runs under `torchrun` or `accelerate launch` (DDP; FSDP2 through accelerate on GPUs). SIGINT or
SIGTERM saves a checkpoint before stopping; `--resume_from_checkpoint latest` continues the data stream from there.
"""

import logging
import math
import sys

import datasets
import torch
from arlow_pretraining_data import load_data_state, save_data_state, training_dataloader
from arlow_pretraining_setup import GracefulInterrupt, build_model, parse_arguments, prepare_run, shared_tokenizer

import transformers
from transformers import Trainer, TrainerCallback, default_data_collator, set_seed


logger = logging.getLogger(__name__)


class StreamingPretrainingTrainer(Trainer):
    """
    A [`Trainer`] whose every process reads its own shards of the stream (instead of `accelerate` dispatching batches
    from the main process) through torchdata's `StatefulDataLoader`, restored from `resume_data_from` (a checkpoint
    folder) instead of replaying the batches already trained on. Training forwards ask for the loss only
    (`skip_logits=True`): the (tokens x vocabulary) logits are never materialised.
    """

    def __init__(self, *args, resume_data_from: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.resume_data_from = resume_data_from

    def get_train_dataloader(self):
        workers = self.args.dataloader_num_workers
        dataloader = training_dataloader(
            self.train_dataset,
            batch_size=self._train_batch_size,
            num_workers=workers,
            pin_memory=self.args.dataloader_pin_memory,
            persistent_workers=self.args.dataloader_persistent_workers and workers > 0,
            prefetch_factor=self.args.dataloader_prefetch_factor,
        )
        if self.resume_data_from is not None:
            load_data_state(self.resume_data_from, dataloader, self.args.process_index, self.args.world_size)
        return dataloader

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if model.training and "labels" in inputs:
            inputs = {**inputs, "skip_logits": True}
        return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)


class PretrainingCallback(TrainerCallback):
    """
    Saves each process's stream position into every checkpoint, turns a caught SIGINT/SIGTERM into "save, then stop",
    prints each logged loss, and reports the evaluation `eval_on_start` runs inside `train()` once the model is wrapped
    for DDP (a `trainer.evaluate()` before `train()` would mark it prepared without its DDP wrapper).
    """

    def __init__(self, interrupt: GracefulInterrupt):
        self.interrupt, self.metrics_before_training = interrupt, None

    def on_save(self, args, state, control, train_dataloader=None, **kwargs):
        if hasattr(train_dataloader, "state_dict"):
            checkpoint_dir = f"{args.output_dir}/checkpoint-{state.global_step}"
            save_data_state(checkpoint_dir, train_dataloader, args.process_index, args.world_size)

    def on_step_end(self, args, state, control, **kwargs):
        if self.interrupt.should_stop(state.global_step, args.device):
            control.should_save = control.should_training_stop = True

    def on_log(self, args, state, control, logs=None, **kwargs):
        if state.is_world_process_zero and logs and "loss" in logs:
            print(f"[arlow] step {state.global_step} loss {logs['loss']}", flush=True)

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        if self.metrics_before_training is None and state.global_step == 0:
            self.metrics_before_training = dict(metrics)
            if state.is_world_process_zero:
                report_evaluation(self.metrics_before_training, "before training")


def report_evaluation(metrics: dict, when: str):
    loss = metrics["eval_loss"]
    metrics["eval_perplexity"] = math.exp(loss) if loss < 100 else float("inf")
    print(f"[arlow] eval loss {when}: {loss:.4f} (perplexity {metrics['eval_perplexity']:.2f})", flush=True)


def main(argv: list[str] | None = None) -> int:
    model_args, data_args, training_args = parse_arguments(argv)
    logging.basicConfig(
        format="%(asctime)s - %(levelname)s - %(name)s - %(message)s", handlers=[logging.StreamHandler(sys.stdout)]
    )
    log_level = training_args.get_process_log_level()
    for module_logger in (logger, logging.getLogger("arlow_pretraining_setup")):
        module_logger.setLevel(log_level)
    datasets.utils.logging.set_verbosity(log_level)
    transformers.utils.logging.set_verbosity(log_level)
    logger.warning(
        f"Process rank: {training_args.process_index} of {training_args.world_size}, device: {training_args.device}"
    )

    # Every check that can fail runs before the first training step.
    if not (training_args.do_train or training_args.do_eval):
        raise ValueError("Nothing to do: pass --do_train and/or --do_eval")
    if training_args.fsdp and training_args.device.type == "cpu":
        # accelerate shards with FSDP only on accelerators; on CPU it would quietly run plain DDP instead.
        raise ValueError(
            "--fsdp with the Trainer needs GPUs (or other accelerators): on CPU, accelerate runs DDP instead of FSDP. "
            "run_pretrain_arlow_no_trainer.py --fsdp shards with FSDP2 on CPU too"
        )
    run = prepare_run(model_args, data_args, training_args, training_args.world_size, trains=training_args.do_train)
    # The stream position comes from the checkpoint (see `on_save`), not from re-reading the batches trained on.
    training_args.ignore_data_skip = True
    if not torch.cuda.is_available():
        training_args.dataloader_pin_memory = False  # pinning needs an accelerator; only a warning without one
    if training_args.do_eval and training_args.do_train and run.checkpoint is None:
        training_args.eval_on_start = True

    set_seed(training_args.seed)
    with training_args.main_process_first(desc="tokenizer"):
        tokenizer = shared_tokenizer(model_args, run, training_args.output_dir, training_args.process_index == 0)
    model = build_model(run.config, tokenizer, run.attn_implementation)
    logger.info(
        f"Training {model_args.model_preset} from scratch: {model.num_parameters():,} parameters, "
        f"attention {run.attn_implementation}, block size {run.block_size}, vocabulary {len(tokenizer)}"
    )
    world = (training_args.process_index, training_args.world_size)
    train_dataset = run.training_stream(tokenizer, training_args.seed, *world) if training_args.do_train else None

    interrupt = GracefulInterrupt(training_args.interrupt_check_steps)
    pretraining = PretrainingCallback(interrupt)
    trainer = StreamingPretrainingTrainer(
        model=model,
        args=training_args,
        train_dataset=train_dataset,
        eval_dataset=run.evaluation_blocks(tokenizer) if training_args.do_eval else None,
        processing_class=tokenizer,
        data_collator=default_data_collator,
        callbacks=[pretraining],
        resume_data_from=run.checkpoint,
    )

    if training_args.do_train:
        with interrupt:
            train_result = trainer.train(resume_from_checkpoint=run.checkpoint)
        if interrupt.stopped:
            print(
                f"[arlow] stopped by {interrupt.signal_name} at step {trainer.state.global_step}; checkpoint saved "
                f"in {training_args.output_dir}, continue with --resume_from_checkpoint latest",
                flush=True,
            )
            return interrupt.exit_code
        trainer.save_model()
        if pretraining.metrics_before_training is not None:
            trainer.save_metrics("eval_before_training", pretraining.metrics_before_training)
        trainer.log_metrics("train", train_result.metrics)
        trainer.save_metrics("train", train_result.metrics)
        trainer.save_state()

    if training_args.do_eval:
        metrics = trainer.evaluate(metric_key_prefix="eval")
        report_evaluation(metrics, "after training")
        trainer.log_metrics("eval", metrics)
        trainer.save_metrics("eval", metrics)
    return 0


if __name__ == "__main__":
    sys.exit(main())
