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
"""Testing suite for the chunked language-modelling loss of `ArlowForCausalLM` (`skip_logits=True`)."""

import copy
import unittest
from unittest import mock

from parameterized import parameterized

from transformers import is_torch_available
from transformers.testing_utils import require_torch, torch_device

from .test_modeling_arlow import _input_ids, _tiny_model


if is_torch_available():
    import torch
    from torch.autograd import DeviceType
    from torch.profiler import ProfilerActivity, profile

    from transformers.loss.loss_utils import ForCausalLMLoss
    from transformers.models.arlow import loss_arlow


def _labels_with_ignored_positions(input_ids):
    labels = input_ids.clone()
    labels[0, :3] = -100
    labels[1, -2:] = -100
    return labels


def _loss_and_gradients(model, chunked, input_ids, **kwargs):
    model.train()
    model.zero_grad(set_to_none=True)
    outputs = model(input_ids, skip_logits=chunked, **kwargs)
    outputs.loss.backward()
    # the cross-attention blocks get no gradient without encoder states
    gradients = {
        name: parameter.grad.clone() for name, parameter in model.named_parameters() if parameter.grad is not None
    }
    return outputs, gradients


def _cpu_peak_bytes(function):
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


@require_torch
class ArlowChunkedLossTest(unittest.TestCase):
    def setUp(self):
        # 7 rows per chunk at least instead of 256: the tiny batches below then span several chunks, the last partial
        patcher = mock.patch.object(loss_arlow, "MIN_LOSS_CHUNK_ROWS", 7)
        patcher.start()
        self.addCleanup(patcher.stop)

    @parameterized.expand(
        [
            ("every_position", {}),
            ("ignored_positions", {"ignored": True}),
            ("num_items_in_batch_tensor", {"ignored": True, "num_items_in_batch": 13, "as_tensor": True}),
            ("num_items_in_batch_int", {"num_items_in_batch": 5}),
            ("shift_labels", {"shift_labels": True}),
            ("padded_batch", {"ignored": True, "padded": True}),
            ("gradient_checkpointing", {"ignored": True, "checkpointing": True}),
        ]
    )
    def test_same_loss_and_gradients_as_the_full_logits(self, _, case):
        model = _tiny_model(weight_std=0.05)
        input_ids = _input_ids(batch_size=2, length=9)
        labels = _labels_with_ignored_positions(input_ids) if case.get("ignored") else input_ids
        kwargs = {"labels": labels}
        if "num_items_in_batch" in case:
            count = case["num_items_in_batch"]
            kwargs["num_items_in_batch"] = torch.tensor(count) if case.get("as_tensor") else count
        if case.get("shift_labels"):
            # what context parallelism passes: labels already shifted, `labels` itself only switches the loss on
            kwargs["shift_labels"] = torch.roll(input_ids, -1, dims=1)
        if case.get("padded"):
            attention_mask = torch.ones_like(input_ids)
            attention_mask[1, -2:] = 0
            kwargs["attention_mask"] = attention_mask
        if case.get("checkpointing"):
            model.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})

        full, full_gradients = _loss_and_gradients(model, False, input_ids, **kwargs)
        chunked, chunked_gradients = _loss_and_gradients(model, True, input_ids, **kwargs)

        self.assertIsNotNone(full.logits)
        self.assertIsNone(chunked.logits)
        torch.testing.assert_close(chunked.loss, full.loss, rtol=1e-6, atol=1e-6)
        self.assertEqual(chunked_gradients.keys(), full_gradients.keys())
        for name, gradient in full_gradients.items():
            torch.testing.assert_close(chunked_gradients[name], gradient, rtol=1e-5, atol=1e-6, msg=name)

    def test_loss_is_the_cross_entropy_of_the_shifted_labels(self):
        # an independent reference: the per-token negative log-likelihood of the next token, averaged
        model = _tiny_model(weight_std=0.05)
        input_ids = _input_ids(batch_size=2, length=9)
        labels = _labels_with_ignored_positions(input_ids)
        with torch.no_grad():
            logits = model.eval()(input_ids).logits.float()
        log_probs = torch.log_softmax(logits[:, :-1], dim=-1)
        targets = labels[:, 1:]
        kept = targets != -100
        expected = -log_probs.gather(-1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1)[kept].mean()

        loss = model.train()(input_ids, labels=labels, skip_logits=True).loss
        torch.testing.assert_close(loss, expected, rtol=1e-6, atol=1e-6)

    def test_evaluation_without_gradients_gives_the_loss_of_the_full_logits(self):
        # the Trainer's evaluation with `use_liger_kernel` passes `skip_logits=True` under `torch.no_grad()`
        model = _tiny_model(weight_std=0.05)
        input_ids = _input_ids(batch_size=2, length=9)
        labels = _labels_with_ignored_positions(input_ids)
        with torch.no_grad():
            full = model(input_ids, labels=labels)
            chunked = model(input_ids, labels=labels, skip_logits=True)
        self.assertIsNone(chunked.logits)
        torch.testing.assert_close(chunked.loss, full.loss, rtol=1e-6, atol=1e-6)

    def test_bfloat16_is_as_accurate_as_the_full_logits(self):
        # Both bfloat16 paths round differently; each is judged against float32 arithmetic on the same weights
        model = _tiny_model(weight_std=0.05).to(torch.bfloat16)
        reference = copy.deepcopy(model).float()
        input_ids = _input_ids(batch_size=2, length=9)
        expected, expected_gradients = _loss_and_gradients(reference, False, input_ids, labels=input_ids)
        full, full_gradients = _loss_and_gradients(model, False, input_ids, labels=input_ids)
        chunked, chunked_gradients = _loss_and_gradients(model, True, input_ids, labels=input_ids)

        self.assertEqual(chunked.loss.dtype, torch.float32)
        self.assertLessEqual((chunked.loss - expected.loss).abs(), 1.5 * (full.loss - expected.loss).abs() + 1e-4)
        for name, gradient in expected_gradients.items():
            self.assertEqual(chunked_gradients[name].dtype, torch.bfloat16, msg=name)
            full_error = (full_gradients[name].float() - gradient).norm() / gradient.norm()
            chunked_error = (chunked_gradients[name].float() - gradient).norm() / gradient.norm()
            self.assertLess(full_error, 0.05, msg=name)
            self.assertLessEqual(chunked_error, 1.25 * full_error, msg=name)

    def test_autocast_is_as_accurate_as_the_full_logits(self):
        # float32 weights under bfloat16 autocast (the Trainer's `--bf16`): the products run in bfloat16 as `lm_head`
        # would, the gradients come back in float32
        model = _tiny_model(weight_std=0.05)
        input_ids = _input_ids(batch_size=2, length=9)
        expected, expected_gradients = _loss_and_gradients(model, False, input_ids, labels=input_ids)
        with torch.autocast(torch_device, dtype=torch.bfloat16):
            full, full_gradients = _loss_and_gradients(model, False, input_ids, labels=input_ids)
            chunked, chunked_gradients = _loss_and_gradients(model, True, input_ids, labels=input_ids)

        self.assertGreater((full.loss - expected.loss).abs(), 0)  # autocast did change the arithmetic
        self.assertLessEqual((chunked.loss - expected.loss).abs(), 1.5 * (full.loss - expected.loss).abs() + 1e-4)
        for name, gradient in expected_gradients.items():
            self.assertEqual(chunked_gradients[name].dtype, torch.float32, msg=name)
            full_error = (full_gradients[name] - gradient).norm() / gradient.norm()
            chunked_error = (chunked_gradients[name] - gradient).norm() / gradient.norm()
            self.assertLessEqual(chunked_error, 1.25 * full_error + 1e-6, msg=name)

    def test_no_predicted_token_gives_the_same_loss_as_the_full_logits(self):
        model = _tiny_model()
        input_ids = _input_ids()
        labels = torch.full_like(input_ids, -100)
        model.train()
        chunked = model(input_ids, labels=labels, skip_logits=True).loss
        full = model(input_ids, labels=labels).loss
        # both divide a sum over no token by a count of zero, as `ForCausalLMLoss` does
        self.assertTrue(torch.isnan(full))
        self.assertTrue(torch.isnan(chunked))
        self.assertEqual(model(input_ids, labels=labels, num_items_in_batch=4, skip_logits=True).loss.item(), 0.0)

    def test_logits_are_returned_unless_skip_logits_is_asked_for(self):
        model = _tiny_model()
        input_ids = _input_ids()
        logits_shape = (*input_ids.shape, model.config.vocab_size)

        for training in (True, False):
            model.train(training)
            # the output contract of every transformers causal LM, in training too
            self.assertEqual(model(input_ids, labels=input_ids).logits.shape, logits_shape)
            self.assertEqual(model(input_ids).logits.shape, logits_shape)
            self.assertEqual(model(input_ids, labels=input_ids, return_dict=False)[1].shape, logits_shape)
            outputs = model(input_ids, labels=input_ids, skip_logits=True)
            self.assertIsNone(outputs.logits)
            self.assertEqual(outputs.loss.shape, ())

    def test_skip_logits_without_labels_raises(self):
        model = _tiny_model()
        with self.assertRaisesRegex(ValueError, "`skip_logits=True`.*`labels`"):
            model(_input_ids(), skip_logits=True)

    def test_hooked_or_replaced_lm_head_keeps_the_full_logits(self):
        # a hook may change what `lm_head` returns (or move its weight in from offload): it must run
        model = _tiny_model().train()
        input_ids = _input_ids()
        calls = []
        handle = model.lm_head.register_forward_hook(lambda module, args, output: calls.append(output.shape))
        outputs = model(input_ids, labels=input_ids, skip_logits=True)
        handle.remove()
        self.assertEqual(len(calls), 1)
        self.assertIsNone(outputs.logits)

        class ScaledLinear(torch.nn.Linear):
            def forward(self, hidden_states):
                return 2 * super().forward(hidden_states)

        scaled = ScaledLinear(model.config.hidden_size, model.config.vocab_size, bias=False)
        scaled.weight = model.lm_head.weight
        model.lm_head = scaled
        outputs = model(input_ids, labels=input_ids, skip_logits=True)
        self.assertIsNone(outputs.logits)
        logits = model(input_ids).logits
        expected = model.loss_function(logits, input_ids, vocab_size=model.config.vocab_size)
        torch.testing.assert_close(outputs.loss, expected)

    def test_compiles_without_graph_breaks(self):
        model = _tiny_model().train()
        input_ids = _input_ids(length=9)
        torch._dynamo.reset()
        explanation = torch._dynamo.explain(model)(input_ids, labels=input_ids, skip_logits=True)
        torch._dynamo.reset()
        # one graph: `torch.compile(..., fullgraph=True)` of a training step keeps working with the chunked loss
        self.assertEqual(explanation.graph_break_count, 0, msg=[str(reason) for reason in explanation.break_reasons])
        self.assertEqual(explanation.graph_count, 1)

    def test_labels_of_another_shape_raise(self):
        model = _tiny_model().train()
        input_ids = _input_ids(length=6)
        with self.assertRaisesRegex(ValueError, "`labels` hold 10 positions .* hidden states for 12"):
            model(input_ids, labels=input_ids[:, :5], skip_logits=True)


def _scaled_loss_gradients(loss_function, hidden_states, weight, dtype):
    """
    Gradients of hidden states and weight after a backward pass of the loss times 65536 (`GradScaler`'s initial
    scale), unscaled afterwards as `GradScaler.unscale_` does; under `dtype` autocast, or none when `dtype` is None.
    """
    hidden_states = hidden_states.clone().requires_grad_()
    weight = weight.clone().requires_grad_()
    with torch.autocast(hidden_states.device.type, dtype=dtype, enabled=dtype is not None):
        loss = loss_function(hidden_states, weight)
    (loss * LOSS_SCALE).backward()
    return hidden_states.grad / LOSS_SCALE, weight.grad / LOSS_SCALE


LOSS_SCALE = 65536.0


@require_torch
class ArlowChunkedLossHalfPrecisionTest(unittest.TestCase):
    @parameterized.expand([("float16", "float16"), ("bfloat16", "bfloat16")])
    def test_scaled_autocast_gradients_are_as_accurate_as_the_full_logits(self, _, dtype_name):
        # A large vocabulary and many tokens per optimizer step: 256 tokens here, normalised by the 32768 predicted
        # tokens of 128 accumulated micro-batches (`num_items_in_batch`, as the Trainer passes it). A softmax
        # probability (about 1 / 16384) divided by 32768 is below float16's smallest subnormal (6e-8): the loss scale
        # must multiply it before anything is cast to float16.
        vocab_size, hidden_size, num_items_in_batch = 16384, 32, 32768
        generator = torch.Generator().manual_seed(0)
        hidden_states = torch.randn(1, 256, hidden_size, generator=generator).to(torch_device)
        weight = (0.1 * torch.randn(vocab_size, hidden_size, generator=generator)).to(torch_device)
        labels = torch.randint(0, vocab_size, (1, 256), generator=generator).to(torch_device)

        def chunked_loss(hidden_states, weight):
            return loss_arlow.chunked_causal_lm_loss(
                hidden_states, weight, labels, num_items_in_batch=num_items_in_batch
            )

        def full_logits_loss(hidden_states, weight):
            logits = torch.nn.functional.linear(hidden_states, weight)
            return ForCausalLMLoss(logits, labels, vocab_size, num_items_in_batch=num_items_in_batch)

        expected = _scaled_loss_gradients(full_logits_loss, hidden_states, weight, None)
        dtype = getattr(torch, dtype_name)
        full = _scaled_loss_gradients(full_logits_loss, hidden_states, weight, dtype)
        chunked = _scaled_loss_gradients(chunked_loss, hidden_states, weight, dtype)
        for name, reference, full_gradient, chunked_gradient in zip(
            ("hidden states", "weight"), expected, full, chunked
        ):
            self.assertEqual(chunked_gradient.dtype, torch.float32, msg=name)
            full_error = (full_gradient - reference).norm() / reference.norm()
            chunked_error = (chunked_gradient - reference).norm() / reference.norm()
            self.assertGreater(full_error, 0, msg=name)  # autocast did change the arithmetic
            self.assertLessEqual(chunked_error, 1.25 * full_error, msg=name)


@require_torch
class ArlowChunkedLossMemoryTest(unittest.TestCase):
    @unittest.skipIf(torch_device != "cpu", "the peak is replayed from the profiler's CPU memory events")
    def test_training_step_peak_memory_is_below_the_full_logits_path(self):
        # Vocabulary-heavy shape: the (tokens x vocabulary) float32 tensors dominate a step of the full-logits path.
        # The usual 256-row chunks: 512 tokens make 2 chunks.
        model = _tiny_model(vocab_size=4096).train()
        input_ids = torch.randint(3, 4096, (2, 256), generator=torch.Generator().manual_seed(0))
        full_logits_bytes = input_ids.numel() * 4096 * 4

        def step(chunked):
            model.zero_grad(set_to_none=True)
            model(input_ids, labels=input_ids, skip_logits=chunked).loss.backward()

        full_peak = _cpu_peak_bytes(lambda: step(False))
        chunked_peak = _cpu_peak_bytes(lambda: step(True))
        # the full path holds the logits' log-softmax, its gradient and the logits' gradient at once (3 x 8 MiB); the
        # chunked one at most a chunk's logits and their gradient (2 x 4 MiB here)
        self.assertGreaterEqual(full_peak, 3 * full_logits_bytes)
        self.assertLessEqual(chunked_peak, full_peak - 1.5 * full_logits_bytes)
