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
Tests of the pretraining toolkit's memory-saving loss (`arlow_chunked_loss`): `apply_chunked_loss(model)` makes
`model(..., labels=..., skip_logits=True)` return the loss of the full logits, with the same gradients, in float32,
bfloat16, under autocast and with a float16 loss scale, without materialising the logits; without `skip_logits` the
model is unchanged (the Trainer sees its signature); module hooks (FSDP2's) keep running.
"""

import copy
import inspect
import sys
from pathlib import Path

import pytest
import torch
from torch.autograd import DeviceType
from torch.profiler import ProfilerActivity, profile

from transformers import ArlowConfig, ArlowForCausalLM, LlamaConfig, LlamaForCausalLM, set_seed
from transformers.loss.loss_utils import ForCausalLMLoss
from transformers.testing_utils import torch_device


EXAMPLES_DIR = Path(__file__).resolve().parent / "language-modeling"
sys.path.insert(0, str(EXAMPLES_DIR))

import arlow_chunked_loss  # noqa: E402
from arlow_chunked_loss import apply_chunked_loss, chunked_causal_lm_loss  # noqa: E402


TINY_SHAPE = {"vocab_size": 99, "hidden_size": 32, "intermediate_size": 37, "num_hidden_layers": 2}
TINY_SHAPE |= {"num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 64}
TINY_SHAPE |= {"attention_dropout": 0.0, "pad_token_id": 0}
LOSS_SCALE = 65536.0  # `GradScaler`'s initial scale


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch):
    # 7 rows per chunk at least instead of 256 (and no 1 GiB minimum on accelerators): the tiny batches below then
    # span several chunks, the last partial
    monkeypatch.setattr(arlow_chunked_loss, "MIN_LOSS_CHUNK_ROWS", 7)
    monkeypatch.setattr(arlow_chunked_loss, "ACCELERATOR_CHUNK_LOGITS_BYTES", 0)


def tiny_model(model_class=ArlowForCausalLM, weight_std=0.2, **overrides):
    """A tiny model (eager attention) with the chunked loss applied; larger weights than the default init."""
    set_seed(0)
    config_class = LlamaConfig if model_class is LlamaForCausalLM else ArlowConfig
    model = model_class(config_class(**{**TINY_SHAPE, **overrides}))
    model.set_attn_implementation("eager")
    with torch.no_grad():
        for parameter in model.parameters():
            if parameter.ndim >= 2:
                parameter.normal_(mean=0.0, std=weight_std)
    return apply_chunked_loss(model.to(torch_device))


def input_ids(batch_size=2, length=9, vocab_size=99):
    ids = torch.randint(3, vocab_size, (batch_size, length), generator=torch.Generator().manual_seed(2))
    return ids.to(torch_device)


def labels_with_ignored_positions(ids):
    labels = ids.clone()
    labels[0, :3] = -100
    labels[1, -2:] = -100
    return labels


def loss_and_gradients(model, chunked, ids, **kwargs):
    model.train()
    model.zero_grad(set_to_none=True)
    outputs = model(ids, skip_logits=chunked, **kwargs)
    outputs.loss.backward()
    # the cross-attention blocks get no gradient without encoder states
    gradients = {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}
    return outputs, gradients


def relative_error(value, reference):
    return (value.float() - reference).norm() / reference.norm()


@pytest.mark.parametrize(
    "case",
    [
        {},
        {"ignored": True},
        {"ignored": True, "num_items_in_batch": 13, "as_tensor": True},
        {"num_items_in_batch": 5},
        {"shift_labels": True},
        {"ignored": True, "padded": True},
        {"ignored": True, "checkpointing": True},
        {"model_class": LlamaForCausalLM, "ignored": True},
    ],
    ids=["every_position", "ignored", "items_tensor", "items_int", "shift_labels", "padded", "checkpointing", "llama"],
)
def test_same_loss_and_gradients_as_the_full_logits(case):
    model = tiny_model(case.get("model_class", ArlowForCausalLM), weight_std=0.05)
    ids = input_ids()
    kwargs = {"labels": labels_with_ignored_positions(ids) if case.get("ignored") else ids}
    if "num_items_in_batch" in case:
        count = case["num_items_in_batch"]
        kwargs["num_items_in_batch"] = torch.tensor(count, device=torch_device) if case.get("as_tensor") else count
    if case.get("shift_labels"):
        # what context parallelism passes: labels already shifted, `labels` itself only switches the loss on
        kwargs["shift_labels"] = torch.roll(ids, -1, dims=1)
    if case.get("padded"):
        kwargs["attention_mask"] = torch.ones_like(ids)
        kwargs["attention_mask"][1, -2:] = 0
    if case.get("checkpointing"):
        model.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
    full, full_gradients = loss_and_gradients(model, False, ids, **kwargs)
    chunked, chunked_gradients = loss_and_gradients(model, True, ids, **kwargs)
    assert full.logits is not None and chunked.logits is None
    torch.testing.assert_close(chunked.loss, full.loss, rtol=1e-6, atol=1e-6)
    assert chunked_gradients.keys() == full_gradients.keys()
    for name, gradient in full_gradients.items():
        torch.testing.assert_close(chunked_gradients[name], gradient, rtol=1e-5, atol=1e-6, msg=name)
    # evaluation without gradients (the Trainer's `use_liger_kernel` evaluation passes `skip_logits=True` so)
    with torch.no_grad():
        torch.testing.assert_close(model.eval()(ids, skip_logits=True, **kwargs).loss, full.loss, rtol=1e-6, atol=1e-6)


def test_without_skip_logits_the_model_is_unchanged():
    model = tiny_model()
    reference = copy.deepcopy(model)
    del reference.forward  # the class's own forward again
    ids = input_ids()
    logits_shape = (*ids.shape, model.config.vocab_size)
    for training in (True, False):
        model.train(training), reference.train(training)
        for kwargs in ({}, {"labels": ids}, {"labels": ids, "skip_logits": False}):
            outputs = model(ids, **kwargs)
            expected = reference(ids, labels=kwargs.get("labels"))
            assert outputs.logits.shape == logits_shape
            torch.testing.assert_close(outputs.logits, expected.logits)
        assert model(ids, labels=ids, return_dict=False)[1].shape == logits_shape
        chunked = model(ids, labels=ids, skip_logits=True)
        assert chunked.logits is None and chunked.loss.shape == ()
        assert model(ids, labels=ids, skip_logits=True, return_dict=False)[0].shape == ()
    # only this instance is patched, and patching twice wraps once
    assert ArlowForCausalLM.forward is type(model).forward and apply_chunked_loss(model).forward is model.forward
    # the Trainer reads the forward's signature (columns to keep, whether to pass `num_items_in_batch`)
    assert inspect.signature(model.forward) == inspect.signature(reference.forward)


@pytest.mark.parametrize("autocast", [False, True], ids=["bfloat16_weights", "float32_weights_under_autocast"])
def test_bfloat16_is_as_accurate_as_the_full_logits(autocast):
    # Both bfloat16 paths round differently; each is judged against float32 arithmetic on the same weights. Under
    # bfloat16 autocast (the Trainer's `--bf16`) the products run in bfloat16 as `lm_head` would.
    model = tiny_model(weight_std=0.05)
    model = model if autocast else model.to(torch.bfloat16)
    reference = copy.deepcopy(model).float()
    del reference.forward  # the class's own forward, on the float32 copy
    ids = input_ids()
    expected, expected_gradients = loss_and_gradients(reference, False, ids, labels=ids)
    with torch.autocast(torch_device, dtype=torch.bfloat16, enabled=autocast):
        full, full_gradients = loss_and_gradients(model, False, ids, labels=ids)
        chunked, chunked_gradients = loss_and_gradients(model, True, ids, labels=ids)
    assert chunked.loss.dtype == torch.float32 and (full.loss - expected.loss).abs() > 0
    assert (chunked.loss - expected.loss).abs() <= 1.5 * (full.loss - expected.loss).abs() + 1e-4
    assert expected_gradients.keys() == chunked_gradients.keys()
    for name, gradient in expected_gradients.items():
        assert chunked_gradients[name].dtype == model.lm_head.weight.dtype, name
        full_error = relative_error(full_gradients[name], gradient)
        assert full_error < 0.05, name
        assert relative_error(chunked_gradients[name], gradient) <= 1.25 * full_error + 1e-6, name


def scaled_loss_gradients(loss_function, hidden_states, weight, dtype):
    """The gradients of the loss times `LOSS_SCALE`, unscaled as `GradScaler` does; under `dtype` autocast if any."""
    hidden_states = hidden_states.clone().requires_grad_()
    weight = weight.clone().requires_grad_()
    with torch.autocast(torch_device, dtype=dtype, enabled=dtype is not None):
        loss = loss_function(hidden_states, weight)
    (loss * LOSS_SCALE).backward()
    return hidden_states.grad / LOSS_SCALE, weight.grad / LOSS_SCALE


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=["float16", "bfloat16"])
def test_scaled_autocast_gradients_are_as_accurate_as_the_full_logits(dtype):
    # A large vocabulary and many tokens per optimizer step: 256 tokens here, normalised by the 32768 predicted tokens
    # of 128 accumulated micro-batches (`num_items_in_batch`, as the Trainer passes it). A softmax probability (about
    # 1 / 16384) divided by 32768 is below float16's smallest subnormal (6e-8): the loss scale must multiply it before
    # anything is cast to float16.
    vocab_size, hidden_size, num_items_in_batch = 16384, 32, 32768
    generator = torch.Generator().manual_seed(0)
    hidden_states = torch.randn(1, 256, hidden_size, generator=generator).to(torch_device)
    weight = (0.1 * torch.randn(vocab_size, hidden_size, generator=generator)).to(torch_device)
    labels = torch.randint(0, vocab_size, (1, 256), generator=generator).to(torch_device)

    def chunked_loss(hidden_states, weight):
        return chunked_causal_lm_loss(hidden_states, weight, labels, num_items_in_batch=num_items_in_batch)

    def full_logits_loss(hidden_states, weight):
        logits = torch.nn.functional.linear(hidden_states, weight)
        return ForCausalLMLoss(logits, labels, vocab_size, num_items_in_batch=num_items_in_batch)

    expected = scaled_loss_gradients(full_logits_loss, hidden_states, weight, None)
    full = scaled_loss_gradients(full_logits_loss, hidden_states, weight, dtype)
    chunked = scaled_loss_gradients(chunked_loss, hidden_states, weight, dtype)
    for name, reference, full_gradient, chunked_gradient in zip(("hidden states", "weight"), expected, full, chunked):
        assert chunked_gradient.dtype == torch.float32, name
        full_error = relative_error(full_gradient, reference)
        assert full_error > 0, name  # autocast did change the arithmetic
        assert relative_error(chunked_gradient, reference) <= 1.25 * full_error, name


def test_no_predicted_token_and_bad_inputs():
    model = tiny_model().train()
    ids = input_ids(length=6)
    labels = torch.full_like(ids, -100)
    # no predicted token: both divide a sum over no token by a count of zero, as `ForCausalLMLoss` does
    assert torch.isnan(model(ids, labels=labels).loss) and torch.isnan(
        model(ids, labels=labels, skip_logits=True).loss
    )
    assert model(ids, labels=labels, num_items_in_batch=4, skip_logits=True).loss.item() == 0.0
    with pytest.raises(ValueError, match="`skip_logits=True`.*`labels`"):
        model(ids, skip_logits=True)
    with pytest.raises(ValueError, match="`labels` hold 10 positions .* hidden states for 12"):
        model(ids, labels=ids[:, :5], skip_logits=True)


def test_module_hooks_run_and_a_hooked_lm_head_keeps_the_full_logits():
    # `nn.Module.__call__` still wraps the replaced forward: FSDP2's pre-/post-forward hooks (its all-gathers) run
    model = tiny_model().train()
    ids = input_ids()
    calls = []
    model.register_forward_pre_hook(lambda module, args, kwargs: calls.append("pre"), with_kwargs=True)
    model.register_forward_hook(lambda module, args, output: calls.append(output.logits))
    model(ids, labels=ids, skip_logits=True)
    assert calls == ["pre", None]
    # a hook on `lm_head` (or a head that is not a plain linear layer) may change what it returns, or move its weight
    # in from offload: the head must run, so the loss comes from its full logits
    head_calls = []
    model.lm_head.register_forward_hook(lambda module, args, output: head_calls.append(output.shape) or 2 * output)
    outputs = model(ids, labels=ids, skip_logits=True)
    assert outputs.logits is None and len(head_calls) == 1
    expected = model.loss_function(model(ids).logits, ids, vocab_size=model.config.vocab_size)
    torch.testing.assert_close(outputs.loss, expected)


def test_compiles_without_graph_breaks():
    model = tiny_model().train()
    ids = input_ids()
    torch._dynamo.reset()
    explanation = torch._dynamo.explain(model)(ids, labels=ids, skip_logits=True)
    torch._dynamo.reset()
    # one graph: `torch.compile(..., fullgraph=True)` of a training step keeps working with the chunked loss
    assert explanation.graph_break_count == 0, [str(reason) for reason in explanation.break_reasons]
    assert explanation.graph_count == 1


def cpu_peak_bytes(function):
    """The high-water mark of live CPU tensor bytes while `function()` runs, replayed from the profiler's events."""
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as profiler:
        function()
    events = [event for event in profiler.profiler.kineto_results.events() if event.name() == "[memory]"]
    live = peak = 0
    for event in sorted(events, key=lambda event: event.start_ns()):
        if event.device_type() == DeviceType.CPU:
            live += event.nbytes()
            peak = max(peak, live)
    return peak


@pytest.mark.skipif(torch_device != "cpu", reason="the peak is replayed from the profiler's CPU memory events")
def test_training_step_peak_memory_is_below_the_full_logits_path(monkeypatch):
    # Vocabulary-heavy shape: the (tokens x vocabulary) float32 tensors dominate a step of the full-logits path.
    # The usual 256-row chunks: 512 tokens make 2 chunks.
    monkeypatch.setattr(arlow_chunked_loss, "MIN_LOSS_CHUNK_ROWS", 256)
    model = tiny_model(vocab_size=4096).train()
    ids = torch.randint(3, 4096, (2, 256), generator=torch.Generator().manual_seed(0)).to(torch_device)
    full_logits_bytes = ids.numel() * 4096 * 4

    def step(chunked):
        model.zero_grad(set_to_none=True)
        model(ids, labels=ids, skip_logits=chunked).loss.backward()

    full_peak = cpu_peak_bytes(lambda: step(False))
    chunked_peak = cpu_peak_bytes(lambda: step(True))
    # the full path holds the logits' log-softmax, its gradient and the logits' gradient at once (3 x 8 MiB); the
    # chunked one at most a chunk's logits and their gradient (2 x 4 MiB here)
    assert full_peak >= 3 * full_logits_bytes
    assert chunked_peak <= full_peak - 1.5 * full_logits_bytes


def test_accelerators_take_chunks_of_a_gibibyte_of_logits(monkeypatch):
    # on a GPU each chunk adds a full (vocabulary x hidden) pass into the float32 weight gradient: few, large chunks
    chunk_sizes = []
    apply = arlow_chunked_loss.ChunkedLinearCrossEntropy.apply

    def spy(*args):
        chunk_sizes.append(args[5])
        return apply(*args)

    monkeypatch.setattr(arlow_chunked_loss.ChunkedLinearCrossEntropy, "apply", spy)
    hidden_states, weight = torch.randn(2, 300, 8), torch.randn(64, 8)
    labels = torch.randint(0, 64, (2, 300))
    reference = chunked_causal_lm_loss(hidden_states, weight, labels)
    monkeypatch.setattr(arlow_chunked_loss, "FLOAT32_PRODUCT_DEVICES", set())  # the CPU treated as an accelerator
    monkeypatch.setattr(arlow_chunked_loss, "ACCELERATOR_CHUNK_LOGITS_BYTES", 4 * 64 * 100)
    torch.testing.assert_close(chunked_causal_lm_loss(hidden_states, weight, labels), reference)
    assert chunk_sizes == [75, 100]  # CPU: 600 rows in ceil(64 / 8) = 8 chunks; accelerator: 100 rows of 64 floats
