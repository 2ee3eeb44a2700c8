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
The measurements of `make gpu-check`, one per command, each run by `gpu_check.py` in a process of its own (so a hang or
a crash costs only that step) and each writing its results as JSON:

    python benchmark/gpu_steps.py {environment,training,loss,decoding} --result result.json

`training` times one bfloat16 training step (autocast, float32 weights, fused AdamW) of Arlow and Llama of about 1B
parameters with the seed's vocabulary (131072) at sequence length 2048, interleaved in one process so drift hits both
alike, and counts the host-device synchronisations of one step (`torch.cuda.set_sync_debug_mode`). Without CUDA it runs
a tiny bfloat16 step on the CPU instead, which proves the code path and measures nothing.
"""

import argparse
import json
import math
import statistics
import sys
import time
import warnings
from pathlib import Path


REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "examples" / "pytorch" / "language-modeling"))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402


H200_DATASHEET_BF16_TFLOPS = 989.0  # dense bfloat16, NVIDIA's H100/H200 SXM datasheet
# About 1B parameters with the seed's vocabulary; the same hyperparameters for both models
SIZE_1B = {"vocab_size": 131072, "hidden_size": 2048, "intermediate_size": 5632, "num_hidden_layers": 16}
SIZE_1B.update(num_attention_heads=16, num_key_value_heads=4)
SIZE_TINY = {**SIZE_1B, "vocab_size": 512, "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2}
SEQUENCE_LENGTH, BATCH_SIZE = 2048, 8
LOSS_VOCAB, LOSS_HIDDEN, LOSS_TOKENS = 131072, 2304, 8192


def _sync():
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def environment() -> dict:
    """The machine as `torch.utils.collect_env` describes it (GPU, driver, CUDA, cuDNN, torch, Python), the compute
    capability, which optional packages import, and proof that the transformers imported is the integrated tree's,
    with Arlow in it."""
    from torch.utils.collect_env import get_env_info

    import transformers
    from transformers import ArlowConfig, AutoConfig

    keys = ("nvidia_gpu_models", "nvidia_driver_version", "cuda_runtime_version", "cudnn_version", "torch_version")
    result = {key: getattr(get_env_info(), key) for key in (*keys, "python_version")}
    result.update(
        torch_cuda_build=torch.version.cuda,
        transformers=transformers.__version__,
        transformers_path=str(Path(transformers.__file__).parent),
        arlow_config_is_arlow=isinstance(AutoConfig.for_model("arlowgpt"), ArlowConfig),
        cuda_available=torch.cuda.is_available(),
    )
    if torch.cuda.is_available():
        result["compute_capability"] = ".".join(map(str, torch.cuda.get_device_capability(0)))
    for package in ("flash_attn", "flash_attn_interface", "datasets", "torchdata", "parameterized", "accelerate"):
        try:
            result[f"{package}_version"] = getattr(__import__(package), "__version__", "importable")
        except ImportError as error:
            result[f"{package}_version"] = f"absent ({error})"
    return result


def measured_matmul_tflops(n: int = 8192, repeats: int = 10) -> float:
    """The bfloat16 matrix-product rate of this GPU, in TFLOP/s: the mean of `repeats` n x n x n products."""
    a, b = (torch.randn(n, n, device="cuda", dtype=torch.bfloat16) for _ in range(2))
    for _ in range(3):
        a @ b
    _sync()
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    _sync()
    return 2 * n**3 * repeats / (time.perf_counter() - start) / 1e12


def build_pair(size: dict, device: str, attn: str) -> dict:
    """Arlow (cross-attention off: the network Llama is) and Llama with the same hyperparameters and weights."""
    from arlow_chunked_loss import apply_chunked_loss

    from transformers import ArlowConfig, ArlowForCausalLM, LlamaConfig, LlamaForCausalLM

    shared = {
        **size,
        "max_position_embeddings": 4096,
        "rope_parameters": {"rope_type": "default", "rope_theta": 100000.0},
        "attention_dropout": 0.0,
        "tie_word_embeddings": True,
        "pad_token_id": 0,
    }
    with torch.device(device):
        torch.manual_seed(0)
        llama = LlamaForCausalLM._from_config(LlamaConfig(**shared), attn_implementation=attn)
        arlow = ArlowForCausalLM._from_config(ArlowConfig(**shared, cross_attention=False), attn_implementation=attn)
    arlow.load_state_dict(llama.state_dict())
    # Arlow trains as the pretraining scripts train it: the loss from hidden states, never the full logits
    apply_chunked_loss(arlow)
    return {"arlow": arlow, "llama": llama}


def training_flops_per_token(model, sequence_length: int) -> float:
    """6 x (parameters of the linear layers, the tied output layer included) + 12 x layers x attention width x
    sequence length: PaLM's estimate (appendix B), attention counted without causal halving."""
    config = model.config
    linear = sum(module.weight.numel() for module in model.modules() if isinstance(module, torch.nn.Linear))
    attention_width = config.num_attention_heads * (config.hidden_size // config.num_attention_heads)
    return 6 * linear + 12 * config.num_hidden_layers * attention_width * sequence_length


def _train_step(model, optimizer, batch, device_type, forward_kwargs):
    with torch.autocast(device_type, dtype=torch.bfloat16):
        loss = model(input_ids=batch, labels=batch, **forward_kwargs).loss
    loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return loss


def training(timed_steps: int = 6) -> dict:
    cuda = torch.cuda.is_available()
    device = "cuda" if cuda else "cpu"
    size, sequence_length, batch_size = (SIZE_1B, SEQUENCE_LENGTH, BATCH_SIZE) if cuda else (SIZE_TINY, 64, 2)
    result = {"device": device, "size": size, "sequence_length": sequence_length, "batch_size": batch_size}
    if cuda:
        result["matmul_tflops_measured"] = measured_matmul_tflops()
    models = build_pair(size, device, "sdpa")
    kwargs = {"arlow": {"skip_logits": True}, "llama": {}}
    optimizers = {name: torch.optim.AdamW(m.parameters(), lr=1e-5, fused=cuda) for name, m in models.items()}
    batch = torch.randint(3, size["vocab_size"], (batch_size, sequence_length), device=device)
    times = {name: [] for name in models}
    peaks, losses = {}, {}
    for index in range(2 + (timed_steps if cuda else 1)):
        for name, model in models.items():
            if cuda:
                torch.cuda.reset_peak_memory_stats()
            _sync()
            start = time.perf_counter()
            losses[name] = _train_step(model, optimizers[name], batch, device, kwargs[name]).item()
            _sync()
            if index >= 2:
                times[name].append(time.perf_counter() - start)
            if cuda:
                peaks[name] = torch.cuda.max_memory_allocated() / 2**30
    tokens = batch_size * sequence_length
    for name, model in models.items():
        seconds = statistics.median(times[name])
        tflops = training_flops_per_token(model, sequence_length) * tokens / seconds / 1e12
        result[name] = {
            "step_seconds": seconds,
            "tokens_per_s": tokens / seconds,
            "loss": losses[name],
            "tflops": tflops,
        }
        result[name]["parameters"] = sum(p.numel() for p in model.parameters())
        if cuda:
            matmul, datasheet = result["matmul_tflops_measured"], H200_DATASHEET_BF16_TFLOPS
            result[name].update(mfu_datasheet=tflops / datasheet, mfu_measured_matmul=tflops / matmul)
            result[name]["peak_memory_gib"] = peaks[name]
    result["arlow_over_llama_tokens_per_s"] = result["arlow"]["tokens_per_s"] / result["llama"]["tokens_per_s"]
    if cuda:
        result["arlow_over_llama_peak_memory"] = peaks["arlow"] / peaks["llama"]
        for name, model in models.items():
            syncs = host_syncs(lambda: _train_step(model, optimizers[name], batch, device, kwargs[name]))
            result[name].update(host_syncs_per_step=len(syncs), host_sync_places=sorted(set(syncs)))
    return result


def host_syncs(function) -> list[str]:
    """The host-device synchronisations `function` makes, as the Python file:line each came from (CUDA's sync debug
    mode warns once for each). On the H200 the first model measured in a process showed one synchronisation more than
    the second, at torch/cuda/__init__.py, in training and in decoding alike: taken to be the mode's first use, so an
    empty call comes first (the next run on a GPU confirms or refutes it)."""
    torch.cuda.synchronize()
    if not getattr(host_syncs, "primed", False):
        host_syncs.primed = True
        host_syncs(lambda: None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            function()
        finally:
            torch.cuda.set_sync_debug_mode("default")
    synchronizing = [w for w in caught if "synchroniz" in str(w.message).lower()]
    return [f"{Path(w.filename).parent.name}/{Path(w.filename).name}:{w.lineno}" for w in synchronizing]


def loss(device: str = "cuda", tokens: int = LOSS_TOKENS, vocab: int = LOSS_VOCAB, width: int = LOSS_HIDDEN) -> dict:
    """The memory-saving loss against full logits and `torch.nn.functional.linear_cross_entropy` (where this torch
    has it) at the seed's vocabulary: forward + backward time, peak memory above the inputs (CUDA), and the error of
    the loss and of both gradients against a float32 full-logits reference."""
    from arlow_chunked_loss import chunked_causal_lm_loss

    cuda = device == "cuda"
    torch.manual_seed(0)
    hidden = torch.randn(tokens, width, device=device) / math.sqrt(width)
    weight = torch.randn(vocab, width, device=device)
    targets = torch.randint(0, vocab, (tokens,), device=device)

    def full(h, w):
        return F.cross_entropy((h @ w.T).float(), targets)

    methods = {"full logits": full, "arlow chunked": lambda h, w: chunked_causal_lm_loss(h, w, shift_labels=targets)}
    if hasattr(F, "linear_cross_entropy"):
        methods["torch linear_cross_entropy"] = lambda h, w: F.linear_cross_entropy(h, w, targets)

    def run(method, dtype):
        h = hidden.detach().to(dtype).requires_grad_()
        w = weight.detach().to(dtype).requires_grad_()
        value = method(h, w)
        value.backward()
        return value.detach().float(), h.grad.float(), w.grad.float()

    reference = run(full, torch.float32)
    result = {"tokens": tokens, "vocab": vocab, "hidden": width, "dtype": "bfloat16"}
    if not hasattr(F, "linear_cross_entropy"):
        result["torch linear_cross_entropy"] = f"absent in torch {torch.__version__}"
    for name, method in methods.items():
        run(method, torch.bfloat16)  # warm-up
        _sync()
        if cuda:
            base = torch.cuda.memory_allocated()
            torch.cuda.reset_peak_memory_stats()
        start = time.perf_counter()
        outputs = run(method, torch.bfloat16)
        _sync()
        seconds = time.perf_counter() - start
        errors = [(got - want).norm().item() / want.norm().item() for got, want in zip(outputs[1:], reference[1:])]
        result[name] = {
            "seconds": seconds,
            "peak_memory_above_inputs_gib": (torch.cuda.max_memory_allocated() - base) / 2**30 if cuda else None,
            "loss_abs_error": abs(outputs[0].item() - reference[0].item()),
            "grad_hidden_rel_error": errors[0],
            "grad_weight_rel_error": errors[1],
        }
    return result


def decoding(
    device: str = "cuda", size: dict = SIZE_1B, new_tokens: int = 128, prompt_length: int = 128, rounds: int = 2
) -> dict:
    """Greedy decoding of `new_tokens` tokens after a `prompt_length`-token prompt, batch 1, bfloat16 weights. Each
    model first generates the same lengths once (kernel plans chosen per shape are then cached for both: the first run
    at each shape pays for them), then the two are timed in turn, `rounds` times; the best time of each counts."""
    models = build_pair(size, device, "sdpa")
    prompt = torch.randint(3, size["vocab_size"], (1, prompt_length), device=device)
    result = {"new_tokens": new_tokens, "prompt_length": prompt_length, "batch_size": 1, "rounds": rounds}
    arguments = {"max_new_tokens": new_tokens, "min_new_tokens": new_tokens, "do_sample": False, "pad_token_id": 0}
    seconds = {name: [] for name in models}
    for model in models.values():
        model.to(torch.bfloat16).eval()
    for round_index in range(rounds + 1):
        for name, model in models.items():
            _sync()
            start = time.perf_counter()
            model.generate(prompt, **arguments)
            _sync()
            if round_index:
                seconds[name].append(time.perf_counter() - start)
    for name, model in models.items():
        result[name] = {"tokens_per_s": new_tokens / min(seconds[name]), "seconds": seconds[name]}
        if device == "cuda":
            syncs = host_syncs(
                lambda: model.generate(prompt, **{**arguments, "max_new_tokens": 2, "min_new_tokens": 2})
            )
            result[name].update(host_syncs_two_tokens=len(syncs), host_sync_places=sorted(set(syncs)))
    result["arlow_over_llama"] = result["arlow"]["tokens_per_s"] / result["llama"]["tokens_per_s"]
    return result


STEPS = {"environment": environment, "training": training, "loss": loss, "decoding": decoding}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("step", choices=sorted(STEPS))
    parser.add_argument("--result", type=Path, required=True, help="where to write the step's results as JSON")
    args = parser.parse_args(argv)
    result = STEPS[args.step]()
    args.result.write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")
    print(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
