# Copyright 2026 The Arlow Authors. All rights reserved.
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
"""Training-step throughput of Arlow and Llama (same weights), interleaved, at every model size and sequence length."""

from bench_settings import BenchSettings
from model_pairs import build_pair, max_logit_difference, parameter_count, random_token_ids
from op_counts import operator_count_difference
from timing import interleaved_times, paired_ratio, summarize
from training_step import make_optimizer, make_training_step, training_forward_kwargs


MODELS = ("llama", "arlow")
TIMED = (*MODELS, "llama_copy")  # the copy is the A/A control: same model, same weights, timed alike


def bench_training(settings: BenchSettings, log=print) -> list[dict]:
    """
    For each size: one Llama and one Arlow holding its weights, each with its own AdamW. For each batch of the size
    (`settings.training_batches`) the two models' steps are timed interleaved; Arlow's asks for `skip_logits=True`.
    """
    rows = []
    for size in settings.sizes:
        models = build_pair(size, settings, with_control=True)
        same_function_difference = max_logit_difference(models["llama"], models["arlow"], settings)
        optimizers = {name: make_optimizer(models[name], settings.device) for name in TIMED}
        parameters = parameter_count(models["llama"])
        # one step of each at the shortest sequence, profiled: empty when both dispatch the same operators
        shortest = min(seq_len for seq_len, _ in settings.training_batches(size))
        input_ids = random_token_ids(models["llama"].config.vocab_size, 1, shortest, settings.device)
        operator_difference = operator_count_difference(
            *(
                make_training_step(models[name], optimizers[name], input_ids, **training_forward_kwargs(name))
                for name in MODELS
            )
        )
        for seq_len, batch in settings.training_batches(size):
            input_ids = random_token_ids(models["llama"].config.vocab_size, batch, seq_len, settings.device)
            cases = {
                name: make_training_step(models[name], optimizers[name], input_ids, **training_forward_kwargs(name))
                for name in TIMED
            }
            times = interleaved_times(cases, settings.warmup, settings.reps, settings.device)
            row = {
                "size": size,
                "parameters": parameters,
                "seq_len": seq_len,
                "batch": batch,
                "tokens_per_step": batch * seq_len,
                "max_logit_difference_at_start": same_function_difference,
                "operator_count_difference_llama_arlow": operator_difference,
            }
            for name in TIMED:
                row[name] = summarize(times[name])
                row[name]["tokens_per_s"] = batch * seq_len / row[name]["median_s"]
            # tokens/s ratio Arlow/Llama = time ratio Llama/Arlow, paired per repetition
            row["ratio_arlow_over_llama"] = paired_ratio(times["llama"], times["arlow"])
            row["ratio_llama_copy_over_llama"] = paired_ratio(times["llama"], times["llama_copy"])
            log(
                f"training {size} seq={seq_len} batch={batch}: llama {row['llama']['tokens_per_s']:.0f} tok/s, "
                f"arlow {row['arlow']['tokens_per_s']:.0f} tok/s, ratio {row['ratio_arlow_over_llama']:.3f} "
                f"(A/A control {row['ratio_llama_copy_over_llama']:.3f})"
            )
            rows.append(row)
        del models, optimizers
    return rows
