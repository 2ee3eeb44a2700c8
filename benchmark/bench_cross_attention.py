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
Arlow with cross-attention on (encoder states of several lengths) against off (no encoder states), for a training step
and for decoding. Decoding should project the encoder states into keys/values once per `generate` call and reuse them:
then a decoding step's cost grows with the encoder length only through the attention over the cached keys, which is
far less than projecting the encoder states again. The benchmark measures both and counts the projections.
"""

import statistics

import numpy as np
import torch
from bench_settings import BenchSettings
from decoding import StepClock, interleaved_step_seconds, make_generate_call, summarize_per_token
from model_pairs import build_arlow, random_token_ids, torch_dtype
from timing import interleaved_times, paired_ratio, summarize
from training_step import make_optimizer, make_training_step


def encoder_states(batch: int, length: int, model, settings: BenchSettings) -> torch.Tensor:
    generator = torch.Generator().manual_seed(length)
    states = torch.randn(batch, length, model.config.hidden_size, generator=generator)
    return states.to(settings.device, torch_dtype(settings.dtype))


def bench_cross_attention_training(model, settings: BenchSettings, log=print) -> list[dict]:
    seq_len = settings.cross_seq_len
    batch = max(1, settings.tokens_per_step // seq_len)
    input_ids = random_token_ids(model.config.vocab_size, batch, seq_len, settings.device)
    optimizer = make_optimizer(model, settings.device)
    cases = {"off": make_training_step(model, optimizer, input_ids)}
    for length in settings.encoder_lens:
        states = encoder_states(batch, length, model, settings)
        cases[f"on/{length}"] = make_training_step(model, optimizer, input_ids, encoder_hidden_states=states)
    times = interleaved_times(cases, settings.warmup, settings.reps, settings.device)
    off = summarize(times["off"])
    rows = []
    for length in settings.encoder_lens:
        on = summarize(times[f"on/{length}"])
        row = {
            "seq_len": seq_len,
            "batch": batch,
            "encoder_len": length,
            "off_tokens_per_s": batch * seq_len / off["median_s"],
            "on_tokens_per_s": batch * seq_len / on["median_s"],
            "ratio_on_over_off": paired_ratio(times["off"], times[f"on/{length}"]),
            "off": off,
            "on": on,
        }
        log(
            f"cross-attention training enc={length}: off {row['off_tokens_per_s']:.0f} tok/s, on "
            f"{row['on_tokens_per_s']:.0f} tok/s, ratio on/off {row['ratio_on_over_off']:.3f}"
        )
        rows.append(row)
    return rows


def count_cross_projections(model, prompt_ids, states, settings: BenchSettings) -> int:
    """How many times the cross-attention key projections run, summed over layers, in one `generate` call."""
    calls = []
    handles = [
        layer.cross_attn.k_proj.register_forward_hook(lambda *_: calls.append(1)) for layer in model.model.layers
    ]
    try:
        make_generate_call(model, prompt_ids, settings.new_tokens, "dynamic", settings, encoder_hidden_states=states)()
    finally:
        for handle in handles:
            handle.remove()
    return len(calls)


@torch.no_grad()
def projection_seconds(model, states, settings: BenchSettings) -> float:
    """Median time of projecting the encoder states into keys and values in every layer: what a step would pay again
    if the cross-attention cache were not reused."""
    layers = model.model.layers

    def project():
        for layer in layers:
            layer.cross_attn.k_proj(states)
            layer.cross_attn.v_proj(states)

    times = interleaved_times({"project": project}, warmup=1, reps=settings.decode_reps, device=settings.device)
    return statistics.median(times["project"])


def bench_cross_attention_decoding(model, settings: BenchSettings, log=print) -> dict:
    prompt_ids = random_token_ids(model.config.vocab_size, 1, settings.prompt_len, settings.device)
    states = {length: encoder_states(1, length, model, settings) for length in settings.encoder_lens}
    names = ["off", *(f"on/{length}" for length in settings.encoder_lens)]
    clocks = {name: StepClock(settings.device) for name in names}
    calls = {"off": make_generate_call(model, prompt_ids, settings.new_tokens, "dynamic", settings, clocks["off"])}
    for length in settings.encoder_lens:
        name = f"on/{length}"
        calls[name] = make_generate_call(
            model,
            prompt_ids,
            settings.new_tokens,
            "dynamic",
            settings,
            clocks[name],
            encoder_hidden_states=states[length],
        )
    per_token = interleaved_step_seconds(calls, clocks, 1, settings.decode_reps)
    off = summarize_per_token(per_token["off"])
    rows = []
    for length in settings.encoder_lens:
        on = summarize_per_token(per_token[f"on/{length}"])
        row = {
            "encoder_len": length,
            "per_token_ms": on["per_token_ms"],
            "tokens_per_s": on["tokens_per_s"],
            "off_per_token_ms": off["per_token_ms"],
            "per_token_ms_by_rep": on["per_token_ms_by_rep"],
            "cross_key_projections_per_generate": count_cross_projections(model, prompt_ids, states[length], settings),
            "reprojection_ms": 1000 * projection_seconds(model, states[length], settings),
        }
        log(
            f"cross-attention decoding enc={length}: {row['per_token_ms']:.2f} ms/token (off "
            f"{row['off_per_token_ms']:.2f}); key projections per generate "
            f"{row['cross_key_projections_per_generate']} for {model.config.num_hidden_layers} layers; "
            f"re-projecting would add {row['reprojection_ms']:.2f} ms/token"
        )
        rows.append(row)
    lengths = np.array(settings.encoder_lens, dtype=float)
    measured = np.array([row["per_token_ms"] for row in rows])
    reprojection = np.array([row["reprojection_ms"] for row in rows])
    # least-squares slopes in ms per 1000 encoder tokens (needs two lengths at least)
    slope = float(np.polyfit(lengths / 1000, measured, 1)[0]) if len(lengths) > 1 else float("nan")
    reprojection_slope = float(np.polyfit(lengths / 1000, reprojection, 1)[0]) if len(lengths) > 1 else float("nan")
    return {
        "prompt_len": settings.prompt_len,
        "new_tokens": settings.new_tokens,
        "num_layers": model.config.num_hidden_layers,
        "off_per_token_ms": off["per_token_ms"],
        "rows": rows,
        "per_token_ms_per_1k_encoder_tokens": slope,
        "reprojection_ms_per_1k_encoder_tokens": reprojection_slope,
    }


def bench_cross_attention(settings: BenchSettings, log=print) -> dict:
    model = build_arlow(settings.cross_size, settings, cross_attention=True)
    return {
        "size": settings.cross_size,
        "training": bench_cross_attention_training(model, settings, log),
        "decoding": bench_cross_attention_decoding(model, settings, log),
    }
