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
The benchmark's sections. Each takes the run's settings and the results so far, and returns `(rows, measurements)`:
flat rows of figures (the JSON and the report's tables) and the `torch.utils.benchmark` measurements that `Compare`
tabulates. Ratios are "Arlow/Llama" (higher is better for throughput) and "A/A" (a second Llama with the same weights
against Llama: what the machine's noise alone does to a ratio in the same run).
"""

import functools
from pydoc_data.topics import topics

import numpy as np
import torch
from harness import (
    TRAINING_BATCHES,
    StepClock,
    build,
    build_pair,
    chunked_causal_lm_loss,
    create_optimizer_state,
    generate_call,
    host_syncs,
    interleaved,
    make_optimizer,
    merged,
    operator_difference,
    paired_ratio,
    set_checkpointing,
    step_memory,
    step_peak_bytes,
    token_ids,
    training_flops_per_token,
    training_step,
)
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from torch.utils.benchmark import Timer

from transformers import ArlowTokenizer


TIMED = ("llama", "arlow", "llama_copy")
MIB = 2**20


def mfu(args, results):
    """The peak `torch.mm` rate (square matrices, 2 n^3 operations), best median over the sizes; MFU divides by it."""
    rows, measurements = [], []
    mm = functools.partial(Timer, "torch.mm(a, b)", label="torch.mm", description=args.dtype)  # `torch` is a global
    for n in args.matmul_sizes:
        a, b = (torch.randn(n, n).to(args.device, getattr(torch, args.dtype)) for _ in range(2))
        timer = mm(globals={"a": a, "b": b}, sub_label=str(n))
        measurements.append(timer.blocked_autorange(min_run_time=args.matmul_seconds))
        rows.append({"size": n, "GFLOP/s": 2 * n**3 / measurements[-1].median / 1e9})
    return rows, measurements


def _compared(row: dict, times: dict, work: float) -> dict:
    """Each model's rate (`work` per median second) and the paired ratios Arlow/Llama and A/A (Llama copy/Llama)."""
    row.update({f"{name} tok/s": work / merged(times[name]).median for name in TIMED})
    row.update({"Arlow/Llama": paired_ratio(times["llama"], times["arlow"])})
    row.update({"A/A": paired_ratio(times["llama"], times["llama_copy"])})
    print(
        ", ".join(f"{key} {value:.4g}" if isinstance(value, float) else f"{key} {value}" for key, value in row.items())
    )
    return row


def shapes(size: str, args) -> list:
    return TRAINING_BATCHES.get(size) or [(seq, args.tokens_per_step // seq) for seq in args.seq_lens]


def training(args, results):
    """Forward with labels, backward, AdamW step; "operators" counts those Llama and Arlow dispatch unequally often."""
    rows, measurements = [], []
    peak = max((row["GFLOP/s"] for row in results.get("mfu") or []), default=None)
    for size in args.sizes:
        models = build_pair(size, args, with_control=True)
        optimizers = {name: make_optimizer(models[name], args.device) for name in TIMED}
        parameters, vocab = sum(p.numel() for p in models["llama"].parameters()), models["llama"].config.vocab_size
        ids = token_ids(vocab, 1, shapes(size, args)[0][0], args.device)  # one profiled step each
        operators = operator_difference(*(training_step(args, models[n], optimizers[n], ids, n) for n in TIMED[:2]))
        for seq, batch in shapes(size, args):
            ids = token_ids(vocab, batch, seq, args.device)
            steps = {name: training_step(args, models[name], optimizers[name], ids, name) for name in TIMED}
            times = interleaved(steps, args.reps, "training step", f"{size} {seq}x{batch}", args.min_run_time)
            row = {"size": size, "params M": parameters / 1e6, "seq": seq, "batch": batch}
            row = _compared(row, times, seq * batch)
            flops = training_flops_per_token(models["llama"].config, parameters, seq)
            for name in TIMED[:2]:
                row[f"TFLOP/s {name}"] = flops * row[f"{name} tok/s"] / 1e12
                row.update({f"MFU {name}": 1e3 * row[f"TFLOP/s {name}"] / peak} if peak else {})
                if args.peak_tflops:
                    row[f"MFU datasheet {name}"] = row[f"TFLOP/s {name}"] / args.peak_tflops
                if args.device == "cuda":
                    places = host_syncs(steps[name])
                    row.update({f"host syncs {name}": len(places), f"host sync places {name}": places})
            rows.append({**row, "operators": len(operators)})
            measurements += [merged(times[name]) for name in TIMED]
        rows[-len(shapes(size, args))]["operator counts [Llama, Arlow]"] = operators
    return rows, measurements


def memory(args, results):
    """
    Peak of a training step = bytes held between steps (weights, AdamW state) + the step's high-water mark above them,
    with and without gradient checkpointing; exact, so one step per case. "ckpt cut": Arlow's peak saved by it.
    """
    rows = []
    for size in args.memory_sizes:
        models = build_pair(size, args)
        optimizers = {name: make_optimizer(model, args.device) for name, model in models.items()}
        for name, model in models.items():
            create_optimizer_state(model, optimizers[name])
        for seq, batch in shapes(size, args):
            ids, peaks = token_ids(models["llama"].config.vocab_size, batch, seq, args.device), {}
            for (name, model), ckpt in ((pair, ckpt) for ckpt in ("", " ckpt") for pair in models.items()):
                set_checkpointing(model, bool(ckpt))
                step = training_step(args, model, optimizers[name], ids, name)
                peaks[name + ckpt] = step_memory(model, optimizers[name], step, args.device)
                set_checkpointing(model, False)
            row = {"size": size, "seq": seq, "batch": batch, "held MiB": peaks["arlow"]["held_bytes"] / MIB}
            row.update({f"{name} MiB": peak["peak_bytes"] / MIB for name, peak in peaks.items()})
            row["Arlow/Llama"] = row["arlow MiB"] / row["llama MiB"]
            row["Arlow/Llama ckpt"] = row["arlow ckpt MiB"] / row["llama ckpt MiB"]
            row["ckpt cut"] = 1 - row["arlow ckpt MiB"] / row["arlow MiB"]
            row["ckpt cut above held"] = (
                1 - peaks["arlow ckpt"]["above_held_bytes"] / peaks["arlow"]["above_held_bytes"]
            )
            rows.append(row)
            print(row)
    return rows, []


def decoding(args, results):
    """Greedy, batch 1; per-token time = the median gap between successive tokens of a call (the prefill left out)."""
    rows, measurements = [], []
    for size in args.decode_sizes:
        models = build_pair(size, args, with_control=True)
        for model in models.values():  # weights in `dtype` even with `--autocast`: a static cache needs one dtype
            model.to(getattr(torch, args.dtype))
        prompt = token_ids(models["llama"].config.vocab_size, 1, args.prompt_len, args.device)
        for cache in ("dynamic", "static_compiled") if size in args.compile_sizes else ("dynamic",):
            clocks = {name: StepClock(args.device) for name in TIMED}
            calls = {name: generate_call(models[name], prompt, args, cache, clocks[name]) for name in TIMED}
            times = interleaved(calls, args.decode_reps, f"decoding step, {cache} cache", size, clocks=clocks)
            row = _compared({"size": size, "cache": cache}, times, 1)
            row["same greedy tokens"] = torch.equal(calls["llama"](), calls["arlow"]())
            # `generate` keeps the compiled forward on the model once it has used it
            row["compiled"] = (
                all(hasattr(models[name], "_compiled_call") for name in TIMED) if "static" in cache else ""
            )
            # operators of a 4-token call: the profiler's events of a whole 1b call took over 20 s on the H200 (the
            # compiled call keeps its length, which another length would recompile)
            short = (
                calls
                if "static" in cache
                else {n: generate_call(models[n], prompt, args, new_tokens=4) for n in TIMED[:2]}
            )
            operators = operator_difference(short["llama"], short["arlow"], kernels=args.device == "cuda")
            rows.append({**row, "operators": len(operators), "operator counts [Llama, Arlow]": operators})
            measurements += [merged(times[name]) for name in TIMED]
    return rows, measurements


def cross_attention(args, results):
    """
    Arlow built with cross-attention: encoder states of each length against none (off), in a training step and in
    decoding. Hooks count the key projections of one whole `generate` (one per layer: the encoder keys/values are
    cached), and "re-projection" times what each decoding step would pay again without that cache.
    """
    model = build("arlow", args.cross_size, args, cross_attention=True)
    layers, seq = model.model.layers, args.cross_seq_len
    vocab, hidden = model.config.vocab_size, model.config.hidden_size
    batch, optimizer = max(1, args.tokens_per_step // seq), make_optimizer(model, args.device)
    ids, prompt = token_ids(vocab, batch, seq, args.device), token_ids(vocab, 1, args.prompt_len, args.device)
    states, train, decode, clocks = {}, {}, {}, {}
    for length in [0, *args.encoder_lens]:
        for rows in (batch, 1):
            encoded = torch.randn(rows, length, hidden, generator=torch.Generator().manual_seed(length))
            states[rows, length] = encoded.to(args.device, model.dtype) if length else None
        train[length] = training_step(args, model, optimizer, ids, encoder_hidden_states=states[batch, length])
        clocks[length] = clock = StepClock(args.device)
        decode[length] = generate_call(model, prompt, args, clock=clock, encoder_hidden_states=states[1, length])
    train = interleaved(train, args.reps, "cross-attention training step", f"{seq}x{batch}", args.min_run_time)
    decode = interleaved(decode, args.decode_reps, "cross-attention decoding step", "", clocks=clocks)
    rows = []
    for length in args.encoder_lens:
        counted = []
        hooks = [layer.cross_attn.k_proj.register_forward_hook(lambda *_: counted.append(1)) for layer in layers]
        generate_call(model, prompt, args, encoder_hidden_states=states[1, length])()
        for hook in hooks:
            hook.remove()

        @torch.no_grad()
        def project(encoded=states[1, length]):
            for layer in layers:
                layer.cross_attn.k_proj(encoded), layer.cross_attn.v_proj(encoded)

        reprojection = Timer("project()", globals={"project": project}).blocked_autorange(min_run_time=0.2).median
        row = {"encoder length": length, "training on/off": paired_ratio(train[0], train[length])}
        row["decoding ms/token"], row["off ms/token"] = (1000 * merged(decode[n]).median for n in (length, 0))
        row["key projections per layer and generate"] = len(counted) / len(layers)
        row["re-projection ms"] = 1000 * reprojection
        rows.append(row)
    for key in ("decoding ms/token", "re-projection ms"):  # least-squares slopes, ms per 1000 encoder tokens
        fit = np.polyfit(np.array(args.encoder_lens) / 1000, [row[key] for row in rows], 1) if len(rows) > 1 else [0]
        rows[0][f"slope of {key} per 1k encoder tokens"] = float(fit[0])
    return rows, [merged(m) for m in (*train.values(), *decode.values())]


def tokenizer(args, results):
    """
    ArlowTokenizer against a plain `tokenizers` byte-level BPE trained on the same text (Python's reference docs,
    shipped with Python). Arlow adds BOS (a template) and splits with a Llama-3-style rule before the byte-level
    mapping, so the plain BPE is timed as is, with the BOS template, and in Arlow's whole pipeline (the like-for-like
    reference); a second copy of it is the A/A control. One batch, one thread, token ids as Python lists.
    """
    texts = [p for name in sorted(topics) for p in topics[name].split("\n\n") if p.strip()]
    texts, size = texts[: args.tokenizer_texts or None], args.tokenizer_vocab_size
    arlow = ArlowTokenizer().train_new_from_iterator(texts, size)
    plain = Tokenizer(models.BPE())
    plain.pre_tokenizer, plain.decoder = pre_tokenizers.ByteLevel(add_prefix_space=False), decoders.ByteLevel()
    options = {"min_frequency": 2, "initial_alphabet": pre_tokenizers.ByteLevel.alphabet(), "show_progress": False}
    trainer = trainers.BpeTrainer(vocab_size=size, special_tokens=list(arlow.all_special_tokens), **options)
    plain.train_from_iterator(texts, trainer=trainer)
    bos, pipeline, with_bos, copy = arlow.bos_token, *(Tokenizer.from_str(plain.to_str()) for _ in range(3))
    special_tokens = [(bos, plain.token_to_id(bos))]
    for backend in (pipeline, with_bos):  # the single and pair templates, then the special tokens
        backend.post_processor = processors.TemplateProcessing(f"{bos} $A", f"{bos} $A {bos} $B:1", special_tokens)
    pipeline.pre_tokenizer = arlow.backend_tokenizer.pre_tokenizer
    backends = {"Arlow backend": arlow.backend_tokenizer, "plain in Arlow's pipeline": pipeline}
    backends.update({"plain + BOS template": with_bos, "plain": plain, "plain copy (A/A)": copy})
    cases = {"Arlow tokenizer(texts)": lambda: arlow(texts)["input_ids"]}  # the transformers call, masks included
    for name, backend in backends.items():
        cases[name] = lambda backend=backend: [encoding.ids for encoding in backend.encode_batch(texts)]
    times = interleaved(cases, args.tokenizer_reps, "tokenizer", f"{len(texts)} texts", args.tokenizer_seconds)
    text_bytes, rows = sum(len(text.encode()) for text in texts), []
    for name, call in cases.items():
        row = {"tokenizer": name, "MiB/s": text_bytes / merged(times[name]).median / MIB}
        row["tokens"] = sum(map(len, call()))
        row["Arlow backend/this"] = paired_ratio(times[name], times["Arlow backend"])
        row["this/plain"] = paired_ratio(times["plain"], times[name])
        rows.append({**row, "vocabulary": len(arlow) if "Arlow" in name else plain.get_vocab_size()})
    return rows, [merged(m) for m in times.values()]


def loss_operator(args, results):
    """
    The loss alone (forward + backward of the output projection and cross-entropy) at the training shapes, or at the
    seed's width and vocabulary ("seed": 8192 tokens, 2304, 131072): Arlow's chunked function against full logits and,
    where torch has it (2.12 on), `torch.nn.functional.linear_cross_entropy` (its default chunking, "aspect_ratio",
    Arlow's 256 rows). Peak memory is above the inputs; errors are relative to float32 full logits (the loss, then the
    gradients of the hidden states and of the weight). Behind `arlow_chunked_loss.py`'s choice; not a default section.
    """
    rows, measurements, functional = [], [], torch.nn.functional
    shapes = {"mini": (2048, 128, 4096), "small": (2048, 256, 8192), "medium": (2048, 512, 16384)}
    shapes.update({"user512": (1024, 512, 8192), "ratio57": (2048, 256, 14592), "seed": (8192, 2304, 131072)})
    for name in args.loss_shapes:
        tokens, hidden, vocab = shapes[name]
        generator = torch.Generator().manual_seed(0)
        h32 = torch.randn(tokens, hidden, generator=generator).to(args.device).requires_grad_()
        w32 = (0.02 * torch.randn(vocab, hidden, generator=generator)).to(args.device).requires_grad_()
        h, w = (t.detach().to(getattr(torch, args.dtype)).requires_grad_() for t in (h32, w32))
        y = torch.randint(0, vocab, (tokens,), generator=generator).to(args.device)

        def full(h, w):
            return functional.cross_entropy((h @ w.T).float(), y)

        def gradients(loss, inputs=(h, w)):
            value = loss()
            return [value.detach(), *torch.autograd.grad(value, inputs)]

        def torch_operator(**options):
            options = torch.nn.LinearCrossEntropyOptions(**options)
            return lambda: functional.linear_cross_entropy(h, w, y, reduction="sum", options=options) / tokens

        losses = {"arlow": lambda: chunked_causal_lm_loss(h, w, shift_labels=y), "full logits": lambda: full(h, w)}
        if hasattr(functional, "linear_cross_entropy"):
            losses["torch auto"] = torch_operator()
            losses["torch aspect_ratio"] = torch_operator(chunking_method="aspect_ratio", acc_policy="accurate")
            losses["torch 256 rows"] = torch_operator(
                chunking_method=None, batch_chunk_size=256, acc_policy="accurate"
            )
        reference = gradients(lambda: full(h32, w32), (h32, w32))
        steps = {case: lambda loss=loss: gradients(loss) for case, loss in losses.items()}
        times = interleaved(steps, args.reps, "loss forward + backward", f"{name} {tokens}x{hidden}, vocab {vocab}")
        for case, step in steps.items():
            row = {"shape": name, "loss": case, "ms": 1e3 * merged(times[case]).median}
            row["time/Arlow's"] = paired_ratio(times[case], times["arlow"])
            row["peak MiB"] = step_peak_bytes(step, args.device) / MIB
            for error, got, want in zip(("loss", "grad hidden", "grad weight"), step(), reference):
                row[f"error {error}"] = ((got.float() - want).norm() / want.norm()).item()
            rows.append(row)
            print(row)
        measurements += [merged(m) for m in times.values()]
    return rows, measurements


SECTIONS = {"mfu": mfu, "training": training, "memory": memory, "decoding": decoding}
SECTIONS.update({"cross_attention": cross_attention, "tokenizer": tokenizer, "loss_operator": loss_operator})
