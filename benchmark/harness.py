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
The pieces every section shares: Arlow and Llama built alike, their training step and greedy `generate` call, and what
the benchmark measures that `torch.utils.benchmark` does not, on top of it.

`torch.utils.benchmark.Timer` does the timing itself: device synchronisation, torch's thread count, the cycle collector
kept off while timing (as `timeit`), a warm-up run before each measurement (`blocked_autorange`), and the statistics
(`Measurement`: median, IQR; `Compare` tabulates them). Kept here, because the library has no such thing:

- interleaving (`interleaved`): the library times one statement after another; here every case (Llama, Arlow, the A/A
  copy of Llama) is measured once per round, in an order that rotates and reverses between rounds, so that a slow
  period of a shared machine hits every case alike. The ratio of two cases (`paired_ratio`) is the median over rounds
  of the ratio of their two adjacent measurements, which cancels such periods better than a ratio of medians;
- the time of a decoding step inside one `generate` call (`StepClock`, a stopping criterion that never stops);
- peak memory of a step (`step_memory`): on CPU, replayed exactly from the allocation and free events of
  `torch.profiler` (`profile_memory=True`) on top of the bytes held between steps (sampling the resident set size
  would add what malloc keeps and miss short peaks); on CUDA, `max_memory_allocated`;
- which operators two calls dispatch (`operator_difference`), from the profiler's exact counts: identical counts make
  any timing gap machine noise.
"""

import collections
import functools
import re
import statistics
import sys
import time
import warnings
from pathlib import Path

import torch
from torch.autograd import DeviceType
from torch.profiler import ProfilerActivity, profile
from torch.utils.benchmark import Measurement, Timer

from transformers import ArlowConfig, ArlowForCausalLM, CompileConfig, LlamaConfig, LlamaForCausalLM, StoppingCriteria


sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples" / "pytorch" / "language-modeling"))
from arlow_chunked_loss import apply_chunked_loss, chunked_causal_lm_loss  # noqa: E402, F401


# vocabulary, hidden, intermediate, layers, heads; key/value heads: half the heads (1b: 4)
MODEL_SIZES = {
    **{"tiny": (512, 64, 176, 2, 4), "mini": (4096, 128, 344, 4, 4), "small": (8192, 256, 688, 4, 4)},
    **{"medium": (16384, 512, 1376, 8, 8), "user512": (8192, 512, 1376, 6, 8), "ratio57": (14592, 256, 688, 4, 4)},
    "1b": (131072, 2048, 5632, 16, 16),  # GPU: 0.99B parameters at the seed's vocabulary
}  # user512: the shape users train on CPU, at their batch; ratio57: small at the default's vocab/hidden (131072/2304)
TRAINING_BATCHES = {"user512": [(256, 4)]}  # (sequence length, sequences) instead of every `seq_lens` entry
TRAINING_KWARGS = {"arlow": {"skip_logits": True}}  # what each model's training forward gets besides the labels
SAME_FUNCTION_TOLERANCE = {"float32": 1e-4, "bfloat16": 5e-2, "float16": 1e-2}


def build(name: str, size: str, args, cross_attention: bool = False, seed: int = 0):
    """Llama (`name` "llama", or a copy) or Arlow with the chunked loss applied; every differing default set alike."""
    torch.manual_seed(seed)
    vocab, hidden, intermediate, layers, heads = MODEL_SIZES[size]
    kwargs = {"vocab_size": vocab, "hidden_size": hidden, "intermediate_size": intermediate, "pad_token_id": 0}
    kwargs.update(num_hidden_layers=layers, num_attention_heads=heads, rms_norm_eps=1e-6, tie_word_embeddings=True)
    kwargs.update(num_key_value_heads=4 if size == "1b" else heads // 2, max_position_embeddings=args.max_positions)
    kwargs.update(rope_parameters={"rope_type": "default", "rope_theta": 1e5}, attention_dropout=0.0, bos_token_id=1)
    config = ArlowConfig(**kwargs, cross_attention=cross_attention) if name == "arlow" else LlamaConfig(**kwargs)
    model_class = ArlowForCausalLM if name == "arlow" else LlamaForCausalLM
    dtype = torch.float32 if args.autocast else getattr(torch, args.dtype)  # autocast: float32 weights, as the Trainer
    # `_from_config` checks the attention backend: a missing flash-attn package fails here, with transformers' message
    with torch.device(args.device):  # initialised where it runs: a 1B model's float32 init on the CPU takes a minute
        model = model_class._from_config(config, attn_implementation=args.attn, dtype=dtype)
    return apply_chunked_loss(model) if name == "arlow" else model


def build_pair(size: str, args, with_control: bool = False) -> dict:
    """
    Llama, and Arlow without cross-attention loaded strictly with Llama's weights (the module names match); with
    `with_control`, a second Llama with the same weights, the A/A control. Stops if Arlow's logits or training loss
    differ from Llama's: timing two different functions would be meaningless.
    """
    names = ("llama", "arlow", "llama_copy") if with_control else ("llama", "arlow")
    models = {name: build(name, size, args, seed=seed) for seed, name in enumerate(names)}
    for name in names[1:]:
        models[name].load_state_dict(models["llama"].state_dict(), strict=True)
    ids = token_ids(models["llama"].config.vocab_size, 2, 16, args.device)
    with torch.no_grad():
        logits = [models[name].eval()(ids).logits.float() for name in names[:2]]
    losses = [models[n].train()(input_ids=ids, labels=ids, **TRAINING_KWARGS.get(n, {})).loss for n in names[:2]]
    difference = max((logits[0] - logits[1]).abs().max().item(), (losses[0] - losses[1]).abs().item())
    if difference > SAME_FUNCTION_TOLERANCE[args.dtype]:
        raise RuntimeError(f"Arlow with Llama's weights ({size}) differs from Llama by {difference:.3g}; stopping.")
    return models


def token_ids(vocab_size: int, batch: int, length: int, device: str) -> torch.Tensor:
    # ids 0-2 are the pad/bos/eos tokens; random text avoids them
    return torch.randint(3, vocab_size, (batch, length), generator=torch.Generator().manual_seed(0)).to(device)


def make_optimizer(model, device: str) -> torch.optim.Optimizer:
    return torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.1, fused=True if device == "cuda" else None)


def training_step(args, model, optimizer, input_ids: torch.Tensor, name: str = "", **model_kwargs):
    """A closure: forward with labels (the language-modelling loss; with `args.autocast` under autocast to
    `args.dtype`, as the Trainer's `--bf16`), backward, AdamW step, gradients set to None."""
    model_kwargs.update(TRAINING_KWARGS.get(name, {}))
    autocast = torch.autocast(args.device, getattr(torch, args.dtype), enabled=args.autocast)
    model.train()

    def step():
        with autocast:
            loss = model(input_ids=input_ids, labels=input_ids, **model_kwargs).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    return step


def training_flops_per_token(config, parameters: int, sequence_length: int) -> float:
    """PaLM's estimate (appendix B): 6 x parameters + 12 x layers x hidden size x sequence length (the attention
    scores, without causal halving)."""
    return 6 * parameters + 12 * config.num_hidden_layers * config.hidden_size * sequence_length


def host_syncs(call) -> list:
    """The host-device synchronisations of `call()` on CUDA, as the file:line each came from (the sync debug mode
    warns once for each). An empty call primes the mode first: on the H200 its first use counted one sync more."""
    places = []
    for function in (lambda: None, call):
        torch.cuda.synchronize()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            torch.cuda.set_sync_debug_mode("warn")
            try:
                function()
            finally:
                torch.cuda.set_sync_debug_mode("default")
        places = [f"{Path(w.filename).name}:{w.lineno}" for w in caught if "synchroniz" in str(w.message).lower()]
    return places


def set_checkpointing(model, enabled: bool) -> None:
    """Gradient checkpointing of every decoder layer, non-reentrant (5.23's `activation_checkpointing_*`)."""
    if enabled:
        model.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
    else:
        model.activation_checkpointing_disable()


def generate_call(model, prompt_ids, args, cache: str = "dynamic", clock=None, new_tokens=None, **kwargs):
    """A closure: greedy generation of exactly `new_tokens` (default `args.new_tokens`) tokens, `clock` (a stopping
    criterion) noting each."""
    if cache == "static_compiled":
        # `fullgraph`: a graph break is an error; CUDA graphs only on CUDA; `_compile_all_devices`: compile on CPU too
        mode = "reduce-overhead" if args.device == "cuda" else "default"
        config = CompileConfig(fullgraph=True, dynamic=False, backend=args.compile_backend, mode=mode)
        config._compile_all_devices = True
        kwargs.update(cache_implementation="static", compile_config=config)
    new_tokens = new_tokens or args.new_tokens
    kwargs.update(max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False)
    model.eval()
    return torch.no_grad()(lambda: model.generate(prompt_ids, stopping_criteria=[clock] if clock else None, **kwargs))


def run_order(names: list, index: int) -> list:
    """Round `index`'s order: rotated by `index`, reversed every other `len(names)` rounds (ABBA for two cases)."""
    shift = index % len(names)
    order = names[shift:] + names[:shift]
    return order[::-1] if (index // len(names)) % 2 else order


def interleaved(cases: dict, rounds: int, label: str, sub_label: str, min_run_time: float = 0.0, clocks=None):
    """
    Runs every case once untimed (lazy initialisation, compilation), then `rounds` rounds in `run_order`, each case
    measured by `Timer.blocked_autorange(min_run_time)` (a warm-up run, then timed runs for at least `min_run_time`).
    Returns `{name: [Measurement per round]}`; a case with a `clocks` entry gets its clock's decoding-step times of
    the last call instead of the call's time.
    """
    measured, threads = {name: [] for name in cases}, torch.get_num_threads()
    timer = functools.partial(Timer, "case()", label=label, sub_label=sub_label, num_threads=threads)
    timers = {name: timer(globals={"case": case}, description=str(name)) for name, case in cases.items()}
    for case in cases.values():
        case()
    for index in range(rounds):
        for name in run_order(list(cases), index):
            measurement = timers[name].blocked_autorange(min_run_time=min_run_time)
            measured[name].append(Measurement(1, clocks[name].gaps, measurement.task_spec) if clocks else measurement)
    return measured


def merged(measurements: list) -> Measurement:
    """The rounds of one case as one `Measurement` (every timed run)."""
    return Measurement.merge(measurements)[0]


def paired_ratio(numerator: list, denominator: list) -> float:
    """Median over rounds of `numerator[r].median / denominator[r].median`."""
    if len(numerator) != len(denominator) or not numerator:
        raise ValueError("`paired_ratio` needs two non-empty lists of measurements of the same length.")
    return statistics.median(n.median / d.median for n, d in zip(numerator, denominator))


class StepClock(StoppingCriteria):
    """Never stops `generate`; `gaps` holds the times between the tokens of the last call (its decoding steps)."""

    def __init__(self, device: str):
        self.device, self.stamps, self.length = device, [], 0

    def __call__(self, input_ids, scores, **kwargs):
        if self.device == "cuda":
            torch.cuda.synchronize()
        if input_ids.shape[1] <= self.length:  # a new call began
            self.stamps = []
        self.length = input_ids.shape[1]
        self.stamps.append(time.perf_counter())
        return torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)

    @property
    def gaps(self) -> list:
        if len(self.stamps) < 2:
            raise ValueError("A decoding step time needs a call that produced two tokens at least.")
        return [later - earlier for earlier, later in zip(self.stamps, self.stamps[1:])]


def held_bytes(model, optimizer) -> int:
    """Bytes of every tensor kept between steps (parameters, buffers, optimizer state), each storage counted once."""
    tensors = [*model.parameters(), *model.buffers()]
    tensors += [value for state in optimizer.state.values() for value in state.values() if torch.is_tensor(value)]
    return sum({(t.untyped_storage().data_ptr(), t.device): t.untyped_storage().nbytes() for t in tensors}.values())


def create_optimizer_state(model, optimizer) -> None:
    """Makes AdamW allocate its state, as after a first step, without running the model (zero gradients)."""
    for parameter in model.parameters():
        parameter.grad = torch.zeros_like(parameter)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)


def cpu_step_peak_bytes(step) -> int:
    """The most bytes allocated at once during `step()` above what was live before, replayed from profiler events."""
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as profiler:
        step()
    events = [e for e in profiler.profiler.kineto_results.events() if e.name() == "[memory]"]
    live = peak = 0
    for event in sorted(events, key=lambda event: event.start_ns()):
        live += event.nbytes() if event.device_type() == DeviceType.CPU else 0
        peak = max(peak, live)
    return peak


def step_peak_bytes(step, device: str) -> int:
    """The most bytes allocated at once during `step()` above what was live before: on CPU replayed from profiler
    events, on CUDA `max_memory_allocated`."""
    if device != "cuda":
        return cpu_step_peak_bytes(step)
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    before = torch.cuda.memory_allocated()
    step()
    torch.cuda.synchronize()
    return torch.cuda.max_memory_allocated() - before


def step_memory(model, optimizer, step, device: str) -> dict:
    above, held = step_peak_bytes(step, device), held_bytes(model, optimizer)
    return {"held_bytes": held, "above_held_bytes": above, "peak_bytes": held + above}


def operator_difference(first, second, kernels: bool = False) -> dict:
    """`{operator: [count in first, count in second]}` for every operator the two calls dispatch unequally often; with
    `kernels` (CUDA), also every CUDA runtime call (launches, copies, synchronisations) and kernel."""
    counts, cuda = [], [ProfilerActivity.CUDA] if kernels else []
    for call in (first, second):
        with profile(activities=[ProfilerActivity.CPU, *cuda]) as profiler:
            call()
        # compiled regions and generated kernels are numbered per model ("Torch-Compiled Region: 0/1")
        counts.append(collections.Counter(re.sub(r"\d+", "#", event.name) for event in profiler.events()))
    return {
        op: [counts[0][op], counts[1][op]] for op in sorted(counts[0] | counts[1]) if counts[0][op] != counts[1][op]
    }
