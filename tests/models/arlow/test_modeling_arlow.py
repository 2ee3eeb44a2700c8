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
"""Testing suite for the PyTorch Arlow model."""

import tempfile
import unittest
from unittest import mock

from huggingface_hub.errors import StrictDataclassError
from parameterized import parameterized

from transformers import ArlowConfig, is_torch_available, set_seed
from transformers.testing_utils import require_torch, torch_device

from ...causal_lm_tester import CausalLMModelTest, CausalLMModelTester
from ...generation.test_utils import GenerationTesterMixin
from ...test_configuration_common import ConfigTester
from ...test_modeling_common import ModelTesterMixin, floats_tensor


if is_torch_available():
    import torch

    from transformers import (
        ArlowForCausalLM,
        ArlowModel,
        BertConfig,
        DynamicCache,
        EncoderDecoderCache,
        EncoderDecoderConfig,
        EncoderDecoderModel,
        LlamaConfig,
        LlamaForCausalLM,
        StaticCache,
    )
    from transformers.integrations.sdpa_attention import sdpa_attention_forward
    from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, flash_attention_mask
    from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS


class ArlowModelTester(CausalLMModelTester):
    """
    Upstream's tiny causal-LM tester with grouped-query attention, no dropout and 64 positions (upstream's
    `utils/check_model_tester.py` asks for fewer than 128), without cross-attention; `use_encoder_hidden_states` adds
    encoder states (of `encoder_states_length`, since the common tests read `encoder_seq_length` as a prompt length)
    and `use_encoder_attention_mask` a mask padding every other row.
    """

    if is_torch_available():
        base_model_class = ArlowModel

    def __init__(
        self,
        parent,
        num_attention_heads=4,
        num_key_value_heads=2,
        intermediate_size=37,
        hidden_act="silu",
        attention_dropout=0.0,
        max_position_embeddings=64,
        cross_attention=False,
        use_encoder_hidden_states=False,
        use_encoder_attention_mask=True,
        encoder_states_length=5,
        **kwargs,
    ):
        super().__init__(
            parent,
            num_attention_heads=num_attention_heads,
            num_key_value_heads=num_key_value_heads,
            intermediate_size=intermediate_size,
            hidden_act=hidden_act,
            attention_dropout=attention_dropout,
            max_position_embeddings=max_position_embeddings,
            cross_attention=cross_attention,
            **kwargs,
        )
        self.use_encoder_hidden_states = use_encoder_hidden_states
        self.use_encoder_attention_mask = use_encoder_attention_mask
        self.encoder_states_length = encoder_states_length

    def prepare_config_and_inputs_for_common(self):
        config, inputs_dict = super().prepare_config_and_inputs_for_common()
        if self.use_encoder_hidden_states:
            shape = [self.batch_size, self.encoder_states_length, self.hidden_size]
            inputs_dict["encoder_hidden_states"] = floats_tensor(shape).to(torch_device)
        if self.use_encoder_hidden_states and self.use_encoder_attention_mask:
            # Every row keeps at least two encoder positions; every other row masks the last two.
            encoder_attention_mask = torch.ones(self.batch_size, self.encoder_states_length, dtype=torch.long)
            encoder_attention_mask[1::2, -2:] = 0
            inputs_dict["encoder_attention_mask"] = encoder_attention_mask.to(torch_device)
        return config, inputs_dict


@require_torch
class ArlowModelTest(CausalLMModelTest, unittest.TestCase):
    model_tester_class = ArlowModelTester

    # As Llama's test: `test_cpu_offload` needs 0.8 rather than 0.9.
    model_split_percents = [0.5, 0.7, 0.8]

    # used in `test_torch_compile_for_training`
    _torch_compile_train_cls = ArlowForCausalLM if is_torch_available() else None


class ArlowCrossAttentionModelTester(ArlowModelTester):
    def __init__(self, parent, **kwargs):
        super().__init__(parent, cross_attention=True, use_encoder_hidden_states=True, **kwargs)


# Why the three generation checks below do not apply to `ArlowCrossAttentionModelTest`.
ENCODER_DECODER_CACHE_REASON = (
    "Given encoder states, Arlow keeps its self-attention cache in an `EncoderDecoderCache` next to the encoder keys/"
    "values (as GPT-2 does); this check asserts a bare cache. ArlowModelTest runs it without encoder states, "
    "ArlowCrossAttentionTest checks static-cache and compiled generation with them."
)


@require_torch
class ArlowCrossAttentionModelTest(ModelTesterMixin, GenerationTesterMixin, unittest.TestCase):
    """The common suites again, with encoder states in every input, so that each check runs through cross-attention."""

    all_model_classes = (ArlowModel, ArlowForCausalLM) if is_torch_available() else ()

    def setUp(self):
        self.model_tester = ArlowCrossAttentionModelTester(self)
        self.config_tester = ConfigTester(self, config_class=ArlowConfig)

    def test_config(self):
        self.config_tester.run_common_tests()

    def test_sdpa_can_dispatch_on_flash(self):
        # Upstream's test drops the attention masks, since SDPA's flash kernel takes none; the encoder's mask too
        self.model_tester.use_encoder_attention_mask = False
        super().test_sdpa_can_dispatch_on_flash()

    @unittest.skip(reason=ENCODER_DECODER_CACHE_REASON)
    def test_generate_with_static_cache(self):
        pass

    @unittest.skip(reason=ENCODER_DECODER_CACHE_REASON)
    def test_generate_from_inputs_embeds_with_static_cache(self):
        pass

    @unittest.skip(reason=ENCODER_DECODER_CACHE_REASON)
    def test_generate_compile_model_forward_fullgraph(self):
        pass


# The tester's shape, with dropout off so that every check is deterministic
TINY_SHAPE = {"vocab_size": 99, "hidden_size": 32, "intermediate_size": 37, "num_hidden_layers": 2,
              "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 64,
              "attention_dropout": 0.0, "pad_token_id": 0}  # fmt: skip


def _tiny_config(**overrides):
    return ArlowConfig(**{**TINY_SHAPE, **overrides})


def _tiny_model(attn_implementation="eager", **overrides):
    """A tiny model in eval mode, with weights larger than the default init's: a broken mask or cache shows."""
    set_seed(0)
    model = ArlowForCausalLM(_tiny_config(**overrides))
    model.set_attn_implementation(attn_implementation)
    with torch.no_grad():
        for parameter in model.parameters():
            if parameter.ndim >= 2:
                parameter.normal_(mean=0.0, std=0.2)
    return model.to(torch_device).eval()


def _encoder_inputs(batch_size=2, length=5, hidden_size=32, seed=1):
    """Encoder states and a mask; the first row has two padded encoder positions."""
    generator = torch.Generator().manual_seed(seed)
    encoder_hidden_states = torch.randn(batch_size, length, hidden_size, generator=generator)
    encoder_attention_mask = torch.ones(batch_size, length, dtype=torch.long, device=torch_device)
    encoder_attention_mask[0, -2:] = 0
    return {
        "encoder_hidden_states": encoder_hidden_states.to(torch_device),
        "encoder_attention_mask": encoder_attention_mask,
    }


def _input_ids(batch_size=2, length=6, seed=2):
    generator = torch.Generator().manual_seed(seed)
    # Ids from 3 up: no pad/bos/eos inside the prompts
    return torch.randint(3, 99, (batch_size, length), generator=generator).to(torch_device)


@require_torch
class ArlowConfigTest(unittest.TestCase):
    def test_seed_fields_keep_their_names_and_defaults(self):
        config = ArlowConfig()
        expected = {
            "vocab_size": 131072,
            "hidden_size": 2304,
            "intermediate_size": 9216,
            "max_position_embeddings": 2048,
            "num_attention_heads": 12,
            "num_key_value_heads": 12,
            "num_hidden_layers": 28,
            "attention_dropout": 0.1,
            "initializer_range": 0.02,
            "hidden_act": "silu",
            "use_cache": True,
            "rms_norm_eps": 1e-6,
            "tie_word_embeddings": True,
            "pad_token_id": None,
            "cross_attention": True,
            "use_cross_attention": True,
            "head_dim": 192,
            "rope_parameters": {"rope_type": "default", "rope_theta": 100000.0},
            "model_type": "arlowgpt",
        }
        self.assertEqual({name: getattr(config, name) for name in expected}, expected)
        # `rope_theta`, the seed's argument, lands in the rope parameters and survives a save/load round trip
        with tempfile.TemporaryDirectory() as tmpdir:
            ArlowConfig(rope_theta=5e5).save_pretrained(tmpdir)
            self.assertEqual(ArlowConfig.from_pretrained(tmpdir).rope_parameters["rope_theta"], 5e5)

    @parameterized.expand(
        [
            ({"hidden_size": 30}, "hidden_size"),
            ({"num_key_value_heads": 3}, "num_key_value_heads"),
            ({"hidden_size": 12, "num_attention_heads": 4}, "head_dim"),
            ({"vocab_size": 0}, "vocab_size"),
            ({"hidden_size": -32}, "hidden_size"),
            ({"num_hidden_layers": 0}, "num_hidden_layers"),
            ({"num_attention_heads": 0}, "num_attention_heads"),
            ({"rms_norm_eps": 0.0}, "rms_norm_eps"),
            ({"hidden_act": "swiglu-typo"}, "hidden_act"),
            ({"attention_dropout": 1.0}, "attention_dropout"),
            ({"is_decoder": False}, "is_decoder"),
        ]
    )
    def test_invalid_config_raises_naming_the_field(self, overrides, field):
        with self.assertRaisesRegex((StrictDataclassError, ValueError), field):
            _tiny_config(**overrides)

    def test_cross_attention_aliases_and_decoder_flag(self):
        config = ArlowConfig(add_cross_attention=False, is_decoder=True)
        self.assertFalse(config.cross_attention)
        config.add_cross_attention = True  # what `EncoderDecoderModel` sets
        self.assertTrue(config.cross_attention and config.is_decoder)
        self.assertNotIn("add_cross_attention", config.to_dict())
        self.assertNotIn("is_decoder", config.to_dict())


@require_torch
class ArlowCrossAttentionTest(unittest.TestCase):
    def test_encoder_states_change_the_output_unless_absent_or_switched_off(self):
        model = _tiny_model()
        plain_model = ArlowForCausalLM(_tiny_config(cross_attention=False)).to(torch_device).eval()
        plain_model.set_attn_implementation("eager")
        state_dict = {name: tensor for name, tensor in model.state_dict().items() if ".cross_attn" not in name}
        plain_model.load_state_dict(state_dict, strict=True)  # every other weight is a plain decoder's
        input_ids = _input_ids()
        encoder_hidden_states = _encoder_inputs()["encoder_hidden_states"]
        with torch.no_grad():
            output = model(input_ids, use_cache=True)
            attended = model(input_ids, encoder_hidden_states=encoder_hidden_states).logits
            # without encoder states the cross-attention is skipped: the plain decoder's output, no cross cache
            torch.testing.assert_close(output.logits, plain_model(input_ids).logits, rtol=0, atol=0)
            model.config.use_cross_attention = False  # switched off at run time: the encoder states are ignored
            torch.testing.assert_close(model(input_ids, **_encoder_inputs()).logits, output.logits, rtol=0, atol=0)
        self.assertIsInstance(output.past_key_values, DynamicCache)
        self.assertFalse(torch.allclose(output.logits, attended, atol=1e-3))

    @parameterized.expand([("eager",), ("sdpa",)])
    def test_encoder_attention_mask_is_honoured(self, attn_implementation):
        model = _tiny_model(attn_implementation=attn_implementation)
        input_ids = _input_ids()
        inputs = _encoder_inputs()  # row 0 masks its last two positions
        encoder_hidden_states = inputs["encoder_hidden_states"]
        with torch.no_grad():
            masked = model(input_ids, **inputs, output_attentions=attn_implementation == "eager")
            # Masked positions are invisible: changing them changes nothing...
            perturbed_states = encoder_hidden_states.clone()
            perturbed_states[0, -2:] += 10.0
            perturbed = model(input_ids, **{**inputs, "encoder_hidden_states": perturbed_states}).logits
            # ...and the masked row equals that row with the padding cut off
            truncated = model(input_ids[:1], encoder_hidden_states=encoder_hidden_states[:1, :-2]).logits
            unmasked = model(input_ids, encoder_hidden_states=encoder_hidden_states).logits
        torch.testing.assert_close(perturbed, masked.logits)
        torch.testing.assert_close(masked.logits[:1], truncated, rtol=1e-5, atol=1e-5)
        self.assertFalse(torch.allclose(masked.logits[0], unmasked[0], atol=1e-3))
        torch.testing.assert_close(masked.logits[1], unmasked[1])
        for weights in masked.cross_attentions or ():  # eager returns them: padded positions get no weight
            self.assertEqual(weights.shape, (2, 4, input_ids.shape[1], encoder_hidden_states.shape[1]))
            self.assertTrue((weights[0, :, :, -2:] == 0).all())
        self.assertEqual(len(masked.cross_attentions or ()), 2 if attn_implementation == "eager" else 0)

    def test_incremental_forward_matches_full_forward(self):
        model = _tiny_model()
        input_ids = _input_ids(length=9)
        inputs = _encoder_inputs()
        self_attention_cache = DynamicCache(config=model.config)
        with torch.no_grad():
            full = model(input_ids, **inputs).logits
            prefix = model(input_ids[:, :6], past_key_values=self_attention_cache, **inputs)
            suffix = model(input_ids[:, 6:], past_key_values=prefix.past_key_values, **inputs)
        # a plain cache is wrapped, the encoder keys/values are cached next to it
        self.assertIsInstance(prefix.past_key_values, EncoderDecoderCache)
        self.assertIs(prefix.past_key_values.self_attention_cache, self_attention_cache)
        self.assertEqual(prefix.past_key_values.cross_attention_cache.get_seq_length(), 5)
        torch.testing.assert_close(suffix.logits, full[:, 6:], rtol=1e-5, atol=1e-5)

    def test_encoder_keys_and_values_are_projected_once_per_generate(self):
        model = _tiny_model()
        input_ids = _input_ids()
        calls = []
        for layer in model.model.layers:
            for name in ("k_proj", "v_proj"):
                getattr(layer.cross_attn, name).register_forward_hook(lambda *args: calls.append(1))
        generate_kwargs = {"max_new_tokens": 5, "do_sample": False, "eos_token_id": None, "pad_token_id": 0}
        cached = model.generate(input_ids, use_cache=True, **_encoder_inputs(), **generate_kwargs)
        cached_calls = len(calls)
        calls.clear()
        uncached = model.generate(input_ids, use_cache=False, **_encoder_inputs(), **generate_kwargs)
        uncached_calls = len(calls)
        num_projections = 2 * model.config.num_hidden_layers
        self.assertEqual(cached_calls, num_projections)  # once, at the prefill step
        self.assertEqual(uncached_calls, 5 * num_projections)  # every step without a cache
        torch.testing.assert_close(cached, uncached, rtol=0, atol=0)

    def test_bad_encoder_inputs_raise(self):
        input_ids = _input_ids()
        encoder_hidden_states = _encoder_inputs()["encoder_hidden_states"]
        with self.assertRaisesRegex(ValueError, "cross_attention=False"):
            _tiny_model(cross_attention=False)(input_ids, encoder_hidden_states=encoder_hidden_states)
        model = _tiny_model()
        for wrong in (torch.randn(2, 5, 24), encoder_hidden_states[:1], torch.randn(2, 32)):  # width, batch, rank
            with self.assertRaisesRegex(ValueError, r"`encoder_hidden_states` must be \(2, length, 32\)"):
                model(input_ids, encoder_hidden_states=wrong.to(torch_device))

    def test_static_cache_generation_with_encoder_states(self):
        # The common static-cache checks skipped above, with encoder states: a static self-attention cache sized for
        # the generation, the encoder keys/values next to it, the tokens and scores of the default dynamic cache
        model = _tiny_model(attn_implementation="sdpa")
        input_ids = _input_ids()
        generate_kwargs = {
            **_encoder_inputs(),
            "attention_mask": torch.ones_like(input_ids),
            "max_new_tokens": 6,
            "do_sample": False,
            "eos_token_id": None,
            "output_scores": True,
            "return_dict_in_generate": True,
        }
        dynamic = model.generate(input_ids, **generate_kwargs)
        static = model.generate(input_ids, cache_implementation="static", disable_compile=True, **generate_kwargs)
        self.assertIsInstance(static.past_key_values.self_attention_cache, StaticCache)
        self.assertEqual(static.past_key_values.self_attention_cache.get_max_length(0), input_ids.shape[1] + 6 - 1)
        self.assertEqual(static.past_key_values.cross_attention_cache.get_seq_length(), 5)
        self.assertEqual(static.sequences.tolist(), dynamic.sequences.tolist())
        for static_scores, dynamic_scores in zip(static.scores, dynamic.scores):
            torch.testing.assert_close(static_scores, dynamic_scores, rtol=1e-5, atol=1e-5)

    def test_compiled_decode_step_with_encoder_states_has_no_graph_break(self):
        # A decode step over a static self-attention cache and cached encoder keys/values traces as one graph
        model = _tiny_model(attn_implementation="sdpa")
        input_ids = _input_ids()
        inputs = _encoder_inputs()
        cache, reference_cache = (
            EncoderDecoderCache(StaticCache(config=model.config, max_cache_len=16), DynamicCache(config=model.config))
            for _ in range(2)
        )
        torch._dynamo.reset()
        # `fullgraph=True` fails on any graph break; the eager backend checks the tracing without compiling kernels
        compiled_forward = torch.compile(model.forward, fullgraph=True, backend="eager")
        with torch.no_grad():
            prefill = model(input_ids, past_key_values=cache, use_cache=True, **inputs)
            model(input_ids, past_key_values=reference_cache, use_cache=True, **inputs)
            position_ids = torch.full((2, 1), input_ids.shape[1], device=torch_device)
            step = {"input_ids": prefill.logits[:, -1:].argmax(-1), "position_ids": position_ids, **inputs}
            compiled_logits = compiled_forward(past_key_values=cache, use_cache=True, **step).logits
            eager_logits = model(past_key_values=reference_cache, use_cache=True, **step).logits
        torch.testing.assert_close(compiled_logits, eager_logits)

    @parameterized.expand([("reentrant", True), ("non_reentrant", False)])
    def test_gradient_checkpointing_reaches_the_encoder_states(self, _, use_reentrant):
        model = _tiny_model().train()  # dropout is 0, so both passes compute the same function
        input_ids = _input_ids()
        inputs = _encoder_inputs()

        def gradients():
            model.zero_grad()
            states = inputs["encoder_hidden_states"].clone().requires_grad_(True)
            loss = model(input_ids, labels=input_ids, **{**inputs, "encoder_hidden_states": states}).loss
            loss.backward()
            return [loss.detach(), states.grad] + [p.grad.clone() for p in model.parameters()]

        expected = gradients()
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": use_reentrant})
        checkpointed = gradients()
        self.assertIsNotNone(checkpointed[1])  # the encoder states are passed positionally, so their gradient flows
        for checkpointed_value, value in zip(checkpointed, expected):
            torch.testing.assert_close(checkpointed_value, value)

    def test_sdpa_gets_no_mask_without_padding(self):
        # SDPA can only pick its flash kernel without a mask (what `test_sdpa_can_dispatch_on_flash` checks on GPUs):
        # unpadded decoder inputs and encoder states without a mask give it none, in self- and cross-attention
        model = _tiny_model(attn_implementation="sdpa")
        masks = []
        sdpa = torch.nn.functional.scaled_dot_product_attention

        def recording_sdpa(*args, attn_mask=None, **kwargs):
            masks.append(attn_mask)
            return sdpa(*args, attn_mask=attn_mask, **kwargs)

        with mock.patch.object(torch.nn.functional, "scaled_dot_product_attention", recording_sdpa), torch.no_grad():
            model(_input_ids(), encoder_hidden_states=_encoder_inputs()["encoder_hidden_states"])
        self.assertEqual(masks, [None] * 4)  # 2 layers, self- and cross-attention

    def test_flash_attention_runs_padded_cross_attention_through_sdpa(self):
        # A flash kernel unpads the queries with the key mask, right for one query only: a padded encoder mask with
        # several decoder tokens runs through SDPA instead, unpadded encoder states stay on flash. The stand-in "flash"
        # backend takes flash's 2D masks, records them and computes unmasked SDPA (flash's result without padding).
        calls = []

        def flash_stand_in(module, query, key, value, attention_mask, **kwargs):
            calls.append((module.is_causal, attention_mask))
            return sdpa_attention_forward(module, query, key, value, None, **kwargs)

        name = "arlow_test_flash_attention"
        with (
            mock.patch.dict(ALL_ATTENTION_FUNCTIONS._global_mapping, {name: flash_stand_in}),
            mock.patch.dict(ALL_MASK_ATTENTION_FUNCTIONS._global_mapping, {name: flash_attention_mask}),
            torch.no_grad(),
        ):
            model = _tiny_model(attn_implementation="sdpa")
            input_ids, inputs = _input_ids(), _encoder_inputs()
            expected = model(input_ids, **inputs).logits
            model.config._attn_implementation = name
            padded = model(input_ids, **inputs).logits
            self.assertEqual(calls, [(True, None)] * 2)  # the self-attention only
            calls.clear()
            model(input_ids, encoder_hidden_states=inputs["encoder_hidden_states"])
            self.assertEqual(calls, [(True, None), (False, None)] * 2)
        torch.testing.assert_close(padded, expected)


@require_torch
class ArlowEncoderDecoderTest(unittest.TestCase):
    """Arlow as the decoder of `EncoderDecoderModel`, with a tiny BERT encoder built from its config."""

    def _model(self, encoder_hidden_size=32):
        encoder_config = BertConfig(
            vocab_size=99, hidden_size=encoder_hidden_size, num_hidden_layers=2, num_attention_heads=4
        )
        # Built without cross-attention: `EncoderDecoderConfig` switches it on through `add_cross_attention`
        decoder_config = _tiny_config(cross_attention=False)
        config = EncoderDecoderConfig.from_encoder_decoder_configs(encoder_config, decoder_config)
        config.decoder_start_token_id, config.pad_token_id = 1, 0
        set_seed(0)
        return EncoderDecoderModel(config=config).to(torch_device)

    def test_train_step(self):
        model = self._model().train()
        self.assertIsInstance(model.decoder, ArlowForCausalLM)
        self.assertTrue(all(hasattr(layer, "cross_attn") for layer in model.decoder.model.layers))
        input_ids = _input_ids(length=8, seed=3)
        output = model(input_ids=input_ids, attention_mask=torch.ones_like(input_ids), labels=_input_ids(seed=4))
        output.loss.backward()
        cross_grad = model.decoder.model.layers[0].cross_attn.k_proj.weight.grad
        encoder_grad = model.encoder.embeddings.word_embeddings.weight.grad
        self.assertGreater(cross_grad.abs().sum().item(), 0)
        self.assertGreater(encoder_grad.abs().sum().item(), 0)  # the decoder's loss trains the encoder

    def test_generate(self):
        model = self._model().eval()
        input_ids = _input_ids(length=8, seed=3)
        calls = []
        model.decoder.model.layers[0].cross_attn.k_proj.register_forward_hook(lambda *args: calls.append(1))
        cached = model.generate(input_ids, max_new_tokens=5, do_sample=False, use_cache=True)
        self.assertEqual(len(calls), 1)  # encoder keys/values projected once for the whole generation
        uncached = model.generate(input_ids, max_new_tokens=5, do_sample=False, use_cache=False)
        self.assertEqual(cached.shape, (2, 6))
        torch.testing.assert_close(cached, uncached, rtol=0, atol=0)

    def test_encoder_of_another_width_is_projected(self):
        model = self._model(encoder_hidden_size=24).eval()
        self.assertIsInstance(model.enc_to_dec_proj, torch.nn.Linear)
        with torch.no_grad():
            output = model(input_ids=_input_ids(length=8, seed=3), decoder_input_ids=_input_ids(length=4, seed=4))
        self.assertEqual(output.logits.shape, (2, 4, 99))


@require_torch
class ArlowLlamaEquivalenceTest(unittest.TestCase):
    """With cross-attention off and no dropout, Arlow computes the same function as Llama given the same weights."""

    def _models(self, tie_word_embeddings=True, rope_parameters=None, attn_implementation="eager"):
        rope_parameters = rope_parameters or {"rope_type": "default", "rope_theta": 100000.0}
        shared = {**TINY_SHAPE, "tie_word_embeddings": tie_word_embeddings, "bos_token_id": 1, "eos_token_id": 2}
        set_seed(0)
        llama = LlamaForCausalLM(LlamaConfig(**shared, rope_parameters=dict(rope_parameters)))
        with torch.no_grad():
            for parameter in llama.parameters():
                if parameter.ndim >= 2:
                    parameter.normal_(mean=0.0, std=0.2)
        arlow_config = ArlowConfig(**shared, rope_parameters=dict(rope_parameters), cross_attention=False)
        with tempfile.TemporaryDirectory() as tmpdir:
            llama.save_pretrained(tmpdir)
            arlow = ArlowForCausalLM.from_pretrained(tmpdir, config=arlow_config)
        llama.set_attn_implementation(attn_implementation)
        arlow.set_attn_implementation(attn_implementation)
        return llama.to(torch_device).eval(), arlow.to(torch_device).eval()

    @parameterized.expand(
        [
            ("tied_default_rope_eager", True, None, "eager"),
            ("untied_llama3_rope_sdpa", False, {"rope_type": "llama3", "rope_theta": 5e5, "factor": 8.0,
             "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 16}, "sdpa"),
        ]
    )  # fmt: skip
    def test_same_logits_as_llama(self, _, tie_word_embeddings, rope_parameters, attn_implementation):
        llama, arlow = self._models(tie_word_embeddings, rope_parameters, attn_implementation)
        for name, parameter in llama.state_dict().items():
            torch.testing.assert_close(arlow.state_dict()[name], parameter, rtol=0, atol=0, msg=name)
        input_ids = _input_ids(length=20)
        attention_mask = torch.ones_like(input_ids)
        attention_mask[0, :5] = 0  # left padding on the first row
        with torch.no_grad():
            llama_logits = llama(input_ids, attention_mask=attention_mask).logits
            arlow_logits = arlow(input_ids, attention_mask=attention_mask).logits
        torch.testing.assert_close(arlow_logits, llama_logits, rtol=1e-6, atol=1e-6)
        generate_kwargs = {"max_new_tokens": 20, "do_sample": False, "eos_token_id": None, "pad_token_id": 0}
        llama_tokens = llama.generate(input_ids, attention_mask=attention_mask, **generate_kwargs)
        torch.testing.assert_close(
            arlow.generate(input_ids, attention_mask=attention_mask, **generate_kwargs), llama_tokens
        )
