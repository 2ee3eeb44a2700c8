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

import copy
import tempfile
import unittest

import pytest
from parameterized import parameterized

from transformers import ArlowConfig, is_torch_available, set_seed
from transformers.testing_utils import (
    require_flash_attn,
    require_torch,
    require_torch_gpu,
    slow,
    torch_device,
)

from ...generation.test_utils import GenerationTesterMixin
from ...test_configuration_common import ConfigTester
from ...test_modeling_common import ModelTesterMixin, floats_tensor, ids_tensor
from ...test_pipeline_mixin import PipelineTesterMixin


if is_torch_available():
    import torch

    from transformers import (
        ArlowForCausalLM,
        ArlowForQuestionAnswering,
        ArlowForSequenceClassification,
        ArlowForTokenClassification,
        ArlowModel,
        AutoModelForCausalLM,
    )
    from transformers.models.arlow.modeling_arlow import ArlowRotaryEmbedding


class ArlowModelTester:
    def __init__(
        self,
        parent,
        batch_size=13,
        seq_length=7,
        encoder_states_length=5,
        is_training=True,
        use_input_mask=True,
        use_labels=True,
        use_encoder_hidden_states=False,
        vocab_size=99,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        intermediate_size=37,
        hidden_act="silu",
        attention_dropout=0.1,
        max_position_embeddings=512,
        type_sequence_label_size=2,
        initializer_range=0.02,
        num_labels=3,
        num_choices=4,
        pad_token_id=0,
        bos_token_id=1,
        eos_token_id=2,
        cross_attention=True,
    ):
        self.parent = parent
        self.batch_size = batch_size
        self.seq_length = seq_length
        self.encoder_states_length = encoder_states_length
        self.is_training = is_training
        self.use_input_mask = use_input_mask
        self.use_labels = use_labels
        self.use_encoder_hidden_states = use_encoder_hidden_states
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.num_key_value_heads = num_key_value_heads
        self.intermediate_size = intermediate_size
        self.hidden_act = hidden_act
        self.attention_dropout = attention_dropout
        self.max_position_embeddings = max_position_embeddings
        self.type_sequence_label_size = type_sequence_label_size
        self.initializer_range = initializer_range
        self.num_labels = num_labels
        self.num_choices = num_choices
        self.pad_token_id = pad_token_id
        self.bos_token_id = bos_token_id
        self.eos_token_id = eos_token_id
        self.cross_attention = cross_attention
        self.head_dim = hidden_size // num_attention_heads

    def get_config(self):
        return ArlowConfig(
            vocab_size=self.vocab_size,
            hidden_size=self.hidden_size,
            num_hidden_layers=self.num_hidden_layers,
            num_attention_heads=self.num_attention_heads,
            num_key_value_heads=self.num_key_value_heads,
            intermediate_size=self.intermediate_size,
            hidden_act=self.hidden_act,
            attention_dropout=self.attention_dropout,
            max_position_embeddings=self.max_position_embeddings,
            initializer_range=self.initializer_range,
            pad_token_id=self.pad_token_id,
            bos_token_id=self.bos_token_id,
            eos_token_id=self.eos_token_id,
            cross_attention=self.cross_attention,
        )

    def prepare_encoder_inputs(self):
        encoder_hidden_states = floats_tensor([self.batch_size, self.encoder_states_length, self.hidden_size])
        # Every row keeps at least two encoder positions; some rows mask the tail
        encoder_attention_mask = torch.ones(self.batch_size, self.encoder_states_length, dtype=torch.long)
        encoder_attention_mask[1::2, -2:] = 0
        return encoder_hidden_states.to(torch_device), encoder_attention_mask.to(torch_device)

    def prepare_config_and_inputs(self):
        input_ids = ids_tensor([self.batch_size, self.seq_length], self.vocab_size)

        input_mask = None
        if self.use_input_mask:
            input_mask = torch.tril(torch.ones_like(input_ids).to(torch_device))

        sequence_labels = None
        token_labels = None
        choice_labels = None
        if self.use_labels:
            sequence_labels = ids_tensor([self.batch_size], self.type_sequence_label_size)
            token_labels = ids_tensor([self.batch_size, self.seq_length], self.num_labels)
            choice_labels = ids_tensor([self.batch_size], self.num_choices)

        config = self.get_config()

        return config, input_ids, input_mask, sequence_labels, token_labels, choice_labels

    def create_and_check_model(self, config, input_ids, input_mask, sequence_labels, token_labels, choice_labels):
        model = ArlowModel(config=config)
        model.to(torch_device)
        model.eval()
        result = model(input_ids, attention_mask=input_mask)
        result = model(input_ids)
        self.parent.assertEqual(result.last_hidden_state.shape, (self.batch_size, self.seq_length, self.hidden_size))

    def prepare_config_and_inputs_for_common(self):
        config, input_ids, input_mask, _, _, _ = self.prepare_config_and_inputs()
        inputs_dict = {"input_ids": input_ids, "attention_mask": input_mask}
        if self.use_encoder_hidden_states:
            encoder_hidden_states, encoder_attention_mask = self.prepare_encoder_inputs()
            inputs_dict["encoder_hidden_states"] = encoder_hidden_states
            inputs_dict["encoder_attention_mask"] = encoder_attention_mask
        return config, inputs_dict


@require_torch
class ArlowModelTest(ModelTesterMixin, GenerationTesterMixin, PipelineTesterMixin, unittest.TestCase):
    all_model_classes = (
        (
            ArlowModel,
            ArlowForCausalLM,
            ArlowForSequenceClassification,
            ArlowForQuestionAnswering,
            ArlowForTokenClassification,
        )
        if is_torch_available()
        else ()
    )
    pipeline_model_mapping = (
        {
            "feature-extraction": ArlowModel,
            "text-classification": ArlowForSequenceClassification,
            "text-generation": ArlowForCausalLM,
            "zero-shot": ArlowForSequenceClassification,
            "question-answering": ArlowForQuestionAnswering,
            "token-classification": ArlowForTokenClassification,
        }
        if is_torch_available()
        else {}
    )
    # The tester mirrors the default config (`cross_attention=True`) but feeds no encoder states, so the
    # cross-attention weights get no gradient here. `ArlowCrossAttentionModelTest` runs the same check with them.
    test_all_params_have_gradient = False

    def setUp(self):
        self.model_tester = ArlowModelTester(self)
        self.config_tester = ConfigTester(
            self, config_class=ArlowConfig, hidden_size=64, num_attention_heads=4, num_key_value_heads=2
        )

    def test_config(self):
        self.config_tester.run_common_tests()

    def test_model(self):
        config_and_inputs = self.model_tester.prepare_config_and_inputs()
        self.model_tester.create_and_check_model(*config_and_inputs)

    def _classification_inputs(self):
        config, input_dict = self.model_tester.prepare_config_and_inputs_for_common()
        config.num_labels = 3
        input_ids = input_dict["input_ids"]
        attention_mask = input_ids.ne(config.pad_token_id).to(torch_device)
        return config, input_ids, attention_mask

    def test_sequence_classification_model(self):
        config, input_ids, attention_mask = self._classification_inputs()
        sequence_labels = ids_tensor([self.model_tester.batch_size], self.model_tester.type_sequence_label_size)
        model = ArlowForSequenceClassification(config).to(torch_device).eval()
        result = model(input_ids, attention_mask=attention_mask, labels=sequence_labels)
        self.assertEqual(result.logits.shape, (self.model_tester.batch_size, self.model_tester.num_labels))
        self.assertTrue(torch.isfinite(result.loss))

    def test_sequence_classification_model_for_single_label(self):
        config, input_ids, attention_mask = self._classification_inputs()
        config.problem_type = "single_label_classification"
        sequence_labels = ids_tensor([self.model_tester.batch_size], self.model_tester.type_sequence_label_size)
        model = ArlowForSequenceClassification(config).to(torch_device).eval()
        result = model(input_ids, attention_mask=attention_mask, labels=sequence_labels)
        self.assertEqual(result.logits.shape, (self.model_tester.batch_size, self.model_tester.num_labels))
        self.assertTrue(torch.isfinite(result.loss))

    def test_sequence_classification_model_for_multi_label(self):
        config, input_ids, attention_mask = self._classification_inputs()
        config.problem_type = "multi_label_classification"
        sequence_labels = ids_tensor(
            [self.model_tester.batch_size, config.num_labels], self.model_tester.type_sequence_label_size
        ).to(torch.float)
        model = ArlowForSequenceClassification(config).to(torch_device).eval()
        result = model(input_ids, attention_mask=attention_mask, labels=sequence_labels)
        self.assertEqual(result.logits.shape, (self.model_tester.batch_size, self.model_tester.num_labels))
        self.assertTrue(torch.isfinite(result.loss))

    def test_token_classification_model(self):
        config, input_ids, attention_mask = self._classification_inputs()
        token_labels = ids_tensor([self.model_tester.batch_size, self.model_tester.seq_length], config.num_labels)
        model = ArlowForTokenClassification(config=config).to(torch_device).eval()
        result = model(input_ids, attention_mask=attention_mask, labels=token_labels)
        self.assertEqual(
            result.logits.shape,
            (self.model_tester.batch_size, self.model_tester.seq_length, self.model_tester.num_labels),
        )
        self.assertTrue(torch.isfinite(result.loss))

    def test_question_answering_model(self):
        config, input_ids, attention_mask = self._classification_inputs()
        model = ArlowForQuestionAnswering(config=config).to(torch_device).eval()
        result = model(input_ids, attention_mask=attention_mask)
        expected_shape = (self.model_tester.batch_size, self.model_tester.seq_length)
        self.assertEqual(result.start_logits.shape, expected_shape)
        self.assertEqual(result.end_logits.shape, expected_shape)

    @parameterized.expand([("linear",), ("dynamic",), ("yarn",)])
    def test_model_rope_scaling_from_config(self, scaling_type):
        config, _ = self.model_tester.prepare_config_and_inputs_for_common()
        short_input = ids_tensor([1, 10], config.vocab_size)
        long_input = ids_tensor([1, int(config.max_position_embeddings * 1.5)], config.vocab_size)

        set_seed(42)  # the same seed for both models, so that only the RoPE differs
        config.rope_parameters = {"rope_type": "default", "rope_theta": 10_000.0}
        original_model = ArlowModel(config).to(torch_device).eval()
        original_short_output = original_model(short_input).last_hidden_state
        original_long_output = original_model(long_input).last_hidden_state

        set_seed(42)
        config.rope_parameters = {"rope_type": scaling_type, "factor": 10.0, "rope_theta": 10_000.0}
        config.standardize_rope_params()
        config.validate_rope()
        scaled_model = ArlowModel(config).to(torch_device).eval()
        scaled_short_output = scaled_model(short_input).last_hidden_state
        scaled_long_output = scaled_model(long_input).last_hidden_state

        # Dynamic NTK scaling only kicks in beyond `max_position_embeddings`
        if scaling_type == "dynamic":
            torch.testing.assert_close(original_short_output, scaled_short_output, rtol=1e-5, atol=1e-5)
        else:
            self.assertFalse(torch.allclose(original_short_output, scaled_short_output, atol=1e-5))
        self.assertFalse(torch.allclose(original_long_output, scaled_long_output, atol=1e-5))

    def test_model_rope_scaling_frequencies(self):
        config, _ = self.model_tester.prepare_config_and_inputs_for_common()
        factor = 10
        short_length = 10
        long_length = int(config.max_position_embeddings * 1.5)
        x = torch.randn(1, dtype=torch.float32, device=torch_device)  # only carries the dtype and device
        short_positions = torch.arange(short_length, device=torch_device).unsqueeze(0)
        long_positions = torch.arange(long_length, device=torch_device).unsqueeze(0)

        def rope_tables(rope_parameters, positions):
            config.rope_parameters = {"rope_theta": 10_000.0, **rope_parameters}
            config.standardize_rope_params()
            rope = ArlowRotaryEmbedding(config=config).to(torch_device)
            return rope, *rope(x, positions)

        original_rope, original_cos_long, original_sin_long = rope_tables({"rope_type": "default"}, long_positions)
        _, original_cos_short, _ = rope_tables({"rope_type": "default"}, short_positions)
        torch.testing.assert_close(original_cos_short, original_cos_long[:, :short_length])

        # Linear scaling: new position p sees the angles of original position p / factor
        _, linear_cos_long, linear_sin_long = rope_tables({"rope_type": "linear", "factor": factor}, long_positions)
        for new_position in range(0, long_length, factor):
            torch.testing.assert_close(linear_cos_long[:, new_position], original_cos_long[:, new_position // factor])
            torch.testing.assert_close(linear_sin_long[:, new_position], original_sin_long[:, new_position // factor])

        # Dynamic NTK: unchanged for short inputs, lower frequencies once the input is long
        ntk_rope, ntk_cos_short, _ = rope_tables({"rope_type": "dynamic", "factor": factor}, short_positions)
        torch.testing.assert_close(ntk_cos_short, original_cos_short)
        ntk_cos_long, _ = ntk_rope(x, long_positions)
        self.assertFalse(torch.allclose(ntk_cos_long, original_cos_long))
        self.assertTrue((ntk_rope.inv_freq <= original_rope.inv_freq).all())

        # YaRN: scaled over the whole input
        _, yarn_cos_short, _ = rope_tables({"rope_type": "yarn", "factor": factor}, short_positions)
        self.assertFalse(torch.allclose(yarn_cos_short, original_cos_short))

    def test_causal_lm_can_accept_training_kwargs(self):
        config, inputs_dict = self.model_tester.prepare_config_and_inputs_for_common()
        with tempfile.TemporaryDirectory() as tmpdir:
            AutoModelForCausalLM.from_config(config).save_pretrained(tmpdir)
            model = AutoModelForCausalLM.from_pretrained(tmpdir, dtype=torch.float32, device_map=torch_device)
        self.assertIsInstance(model, ArlowForCausalLM)
        inputs_dict["num_items_in_batch"] = torch.tensor(inputs_dict["input_ids"].shape[0])
        inputs_dict["labels"] = inputs_dict["input_ids"]
        loss = model(**inputs_dict, return_dict=False)[0]
        self.assertTrue(torch.isfinite(loss))

    @require_flash_attn
    @require_torch_gpu
    @pytest.mark.flash_attn_test
    @slow
    def test_flash_attn_2_equivalence(self):
        config, inputs_dict = self.model_tester.prepare_config_and_inputs_for_common()
        for model_class in self.all_model_classes:
            model = model_class(copy.deepcopy(config))
            with tempfile.TemporaryDirectory() as tmpdirname:
                model.save_pretrained(tmpdirname)
                model_fa = model_class.from_pretrained(
                    tmpdirname, dtype=torch.bfloat16, attn_implementation="flash_attention_2"
                ).to(torch_device)
                model_eager = model_class.from_pretrained(
                    tmpdirname, dtype=torch.bfloat16, attn_implementation="eager"
                ).to(torch_device)
            input_ids = inputs_dict["input_ids"].to(torch_device)
            hidden_eager = model_eager(input_ids, output_hidden_states=True).hidden_states[-1]
            hidden_fa = model_fa(input_ids, output_hidden_states=True).hidden_states[-1]
            torch.testing.assert_close(hidden_fa, hidden_eager, atol=3e-2, rtol=3e-2)


@require_torch
class ArlowCrossAttentionModelTest(ModelTesterMixin, GenerationTesterMixin, unittest.TestCase):
    """The common suites again, with encoder states in every input, so that each check runs through cross-attention."""

    all_model_classes = (ArlowModel, ArlowForCausalLM) if is_torch_available() else ()

    def setUp(self):
        self.model_tester = ArlowModelTester(self, use_encoder_hidden_states=True)
        self.config_tester = ConfigTester(
            self, config_class=ArlowConfig, hidden_size=64, num_attention_heads=4, num_key_value_heads=2
        )

    def test_config(self):
        self.config_tester.run_common_tests()
