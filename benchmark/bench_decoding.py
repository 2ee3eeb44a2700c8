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
"""
Greedy decoding throughput of Arlow and Llama (same weights): dynamic cache, and static cache under torch.compile.
"""

import torch
from bench_settings import BenchSettings
from decoding import StepClock, interleaved_step_seconds, make_generate_call, summarize_per_token
from model_pairs import build_pair, random_token_ids
from op_counts import operator_count_difference
from timing import paired_ratio


MODELS = ("llama", "arlow")
TIMED = (*MODELS, "llama_copy")  # the copy is the A/A control: same model, same weights, timed alike


def bench_decoding(settings: BenchSettings, log=print) -> list[dict]:
    rows = []
    for size in settings.decode_sizes:
        models = build_pair(size, settings, with_control=True)
        prompt_ids = random_token_ids(models["llama"].config.vocab_size, 1, settings.prompt_len, settings.device)
        caches = ("dynamic", "static_compiled") if size in settings.compile_sizes else ("dynamic",)
        for cache in caches:
            clocks = {name: StepClock(settings.device) for name in TIMED}
            calls = {
                name: make_generate_call(models[name], prompt_ids, settings.new_tokens, cache, settings, clocks[name])
                for name in TIMED
            }
            # the first calls of a compiled cache trace and compile the decoding step: more warm-up
            warmup = 2 if cache == "static_compiled" else 1
            per_token = interleaved_step_seconds(calls, clocks, warmup, settings.decode_reps)
            outputs = {name: calls[name]() for name in MODELS}
            full_calls = [calls[name] for name in MODELS]
            row = {
                "size": size,
                "cache": cache,
                "prompt_len": settings.prompt_len,
                "new_tokens": settings.new_tokens,
                "same_greedy_tokens": bool(torch.equal(outputs["llama"], outputs["arlow"])),
                "operator_count_difference_llama_arlow": operator_count_difference(*full_calls),
            }
            if cache == "static_compiled":
                row["compile_backend"] = settings.compile_backend
                # `generate` keeps the compiled forward on the model once it has used it
                row["compiled"] = {name: hasattr(models[name], "_compiled_call") for name in TIMED}
            for name in TIMED:
                row[name] = summarize_per_token(per_token[name])
            # tokens/s ratio Arlow/Llama = per-token time ratio Llama/Arlow, paired per repetition
            row["ratio_arlow_over_llama"] = paired_ratio(per_token["llama"], per_token["arlow"])
            row["ratio_llama_copy_over_llama"] = paired_ratio(per_token["llama"], per_token["llama_copy"])
            log(
                f"decoding {size} {cache}: llama {row['llama']['tokens_per_s']:.1f} tok/s, arlow "
                f"{row['arlow']['tokens_per_s']:.1f} tok/s, ratio {row['ratio_arlow_over_llama']:.3f} (A/A control "
                f"{row['ratio_llama_copy_over_llama']:.3f})"
            )
            rows.append(row)
        del models
    return rows
