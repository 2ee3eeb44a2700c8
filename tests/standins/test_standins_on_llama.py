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
The project's stand-ins for upstream's missing common test modules, run against an in-tree peer (Llama).

Llama's tests are upstream's own shape: a `CausalLMModelTester` naming the base class and a `CausalLMModelTest`.
Passing here shows the stand-ins (`causal_lm_tester`, generation, export, config kwargs) are not tuned to Arlow.

Llama has no cross-attention, so the generation checks with `encoder_hidden_states` run against GPT-2 built with
`add_cross_attention=True`, the in-tree decoder-only model with that feature (and absolute position embeddings, which
makes the left-padding check sensitive to position ids too).
"""

import unittest

from parameterized import parameterized

from transformers import GPT2Config, is_torch_available
from transformers.testing_utils import require_torch, torch_device

from ..causal_lm_tester import CausalLMModelTest, CausalLMModelTester
from ..generation.test_utils import GenerationTesterMixin
from ..test_modeling_common import floats_tensor, ids_tensor, random_attention_mask


if is_torch_available():
    import torch

    from transformers import GPT2LMHeadModel, LlamaForCausalLM, LlamaModel
    from transformers.cache_utils import Cache, StaticCache


class LlamaModelTester(CausalLMModelTester):
    if is_torch_available():
        base_model_class = LlamaModel


@require_torch
class LlamaStandInsTest(CausalLMModelTest, unittest.TestCase):
    model_tester_class = LlamaModelTester
    # As upstream's Llama test: `test_cpu_offload` needs 0.8 rather than 0.9.
    model_split_percents = [0.5, 0.7, 0.8]
    _torch_compile_train_cls = LlamaForCausalLM if is_torch_available() else None


class GPT2CrossAttentionModelTester:
    """A tiny GPT-2 with cross-attention, and prompts that come with encoder states to attend to."""

    def __init__(self, parent, batch_size=3, seq_length=7, encoder_seq_length=5, vocab_size=99, hidden_size=32):
        self.parent = parent
        self.batch_size = batch_size
        self.seq_length = seq_length
        self.encoder_seq_length = encoder_seq_length
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size

    def get_config(self):
        return GPT2Config(
            vocab_size=self.vocab_size,
            n_embd=self.hidden_size,
            n_layer=2,
            n_head=4,
            n_positions=64,
            add_cross_attention=True,
            bos_token_id=1,
            eos_token_id=2,
            pad_token_id=0,
        )

    def prepare_config_and_inputs_for_common(self):
        input_ids = ids_tensor([self.batch_size, self.seq_length], self.vocab_size)
        encoder_hidden_states = floats_tensor([self.batch_size, self.encoder_seq_length, self.hidden_size])
        # Every row hides its first encoder position, so that the mask has something to hide.
        encoder_attention_mask = torch.ones(self.batch_size, self.encoder_seq_length, dtype=torch.long)
        encoder_attention_mask[:, 0] = 0
        inputs = {
            "input_ids": input_ids,
            "attention_mask": random_attention_mask([self.batch_size, self.seq_length]),
            "encoder_hidden_states": encoder_hidden_states,
            "encoder_attention_mask": encoder_attention_mask.to(torch_device),
        }
        return self.get_config(), inputs


@require_torch
class GPT2CrossAttentionStandInsTest(GenerationTesterMixin, unittest.TestCase):
    all_generative_model_classes = (GPT2LMHeadModel,) if is_torch_available() else ()
    has_attentions = True  # what `ModelTesterMixin`, which this class does not use, would say

    def setUp(self):
        self.model_tester = GPT2CrossAttentionModelTester(self)

    # With encoder states, GPT-2 keeps its self-attention cache inside an `EncoderDecoderCache`, which upstream's
    # cache-type checks reject for a config that is not encoder-decoder (Arlow's cross-attention class skips them too).
    @unittest.skip(reason="GPT-2 with encoder states caches in an `EncoderDecoderCache`, not a bare `StaticCache`")
    def test_generate_with_static_cache(self):
        pass

    @unittest.skip(reason="GPT-2 with encoder states caches in an `EncoderDecoderCache`, not a bare `StaticCache`")
    def test_generate_from_inputs_embeds_with_static_cache(self):
        pass

    @unittest.skip(reason="GPT-2 with encoder states caches in an `EncoderDecoderCache`, not a bare `DynamicCache`")
    def test_generate_compile_model_forward_fullgraph(self):
        pass


if is_torch_available():

    class LlamaIgnoringItsAttentionMask(LlamaForCausalLM):
        """Broken on purpose: attends to padding as if it were text."""

        def forward(self, *args, attention_mask=None, **kwargs):
            return super().forward(*args, **kwargs)

    class LlamaIgnoringItsPositionIds(LlamaForCausalLM):
        """Broken on purpose: positions always count from the first token, so packed sequences do not restart."""

        def forward(self, input_ids=None, attention_mask=None, position_ids=None, **kwargs):
            return super().forward(input_ids=input_ids, attention_mask=attention_mask, **kwargs)

    class LlamaWithAStaleCache(LlamaForCausalLM):
        """Broken on purpose: a decoding step that reuses a cache gets logits shifted away from the full pass."""

        broken_cache_class = Cache

        def forward(self, *args, past_key_values=None, **kwargs):
            reuses_cache = (
                isinstance(past_key_values, self.broken_cache_class) and past_key_values.get_seq_length() > 0
            )
            output = super().forward(*args, past_key_values=past_key_values, **kwargs)
            if reuses_cache:
                output.logits = output.logits.roll(1, dims=-1)
            return output

    class LlamaWithAStaleStaticCache(LlamaWithAStaleCache):
        """Broken on purpose: only decoding steps that reuse a static cache are wrong."""

        broken_cache_class = StaticCache


def _run_generation_stand_in(model_class, test_name):
    """Runs the generation stand-in's `test_name` on a tiny `model_class` (a Llama head) and returns the result."""

    class LlamaGenerationTest(GenerationTesterMixin, unittest.TestCase):
        all_generative_model_classes = (model_class,)
        has_attentions = True

        def setUp(self):
            self.model_tester = LlamaModelTester(self)

    result = unittest.TestResult()
    LlamaGenerationTest(test_name).run(result)
    return result


# The stand-in checks each broken model must fail.
CHECKS_BROKEN_BY = {
    "LlamaIgnoringItsAttentionMask": ["test_left_padding_compatibility"],
    "LlamaIgnoringItsPositionIds": [
        "test_eager_padding_matches_padding_free_with_position_ids",
        "test_sdpa_padding_matches_padding_free_with_position_ids",
    ],
    "LlamaWithAStaleCache": ["test_greedy_generate", "test_greedy_generate_dict_outputs_use_cache"],
    "LlamaWithAStaleStaticCache": ["test_generate_with_static_cache"],
}


@require_torch
class StandInsFailOnBrokenModelsTest(unittest.TestCase):
    """Each stand-in check that guards a behaviour fails on a Llama that breaks exactly that behaviour."""

    @parameterized.expand(
        [(name, test_name) for name, test_names in CHECKS_BROKEN_BY.items() for test_name in test_names]
    )
    def test_check_fails_on_the_broken_model(self, broken_class_name, test_name):
        result = _run_generation_stand_in(globals()[broken_class_name], test_name)
        self.assertEqual((result.skipped, result.errors), ([], []), f"{test_name} did not run cleanly")
        self.assertEqual(len(result.failures), 1, f"{test_name} passed on {broken_class_name}")

    @parameterized.expand(sorted({test_name for test_names in CHECKS_BROKEN_BY.values() for test_name in test_names}))
    def test_check_passes_on_llama(self, test_name):
        # The control: the unbroken model passes every check the broken ones fail.
        result = _run_generation_stand_in(LlamaForCausalLM, test_name)
        self.assertTrue(result.wasSuccessful() and not result.skipped, f"{test_name}: {result.failures}")


@require_torch
class CausalLMModelTesterValidationTest(unittest.TestCase):
    """The tester stand-in infers Llama's classes by name and refuses a misconfigured tester, naming the attribute."""

    def test_classes_are_inferred_from_the_base_model_class(self):
        tester = LlamaModelTester(self)
        self.assertIs(tester.causal_lm_class, LlamaForCausalLM)
        self.assertEqual(tester.config_class.__name__, "LlamaConfig")
        self.assertEqual(
            [model_class.__name__ for model_class in tester.all_model_classes],
            [
                "LlamaModel",
                "LlamaForCausalLM",
                "LlamaForQuestionAnswering",
                "LlamaForSequenceClassification",
                "LlamaForTokenClassification",
            ],
        )
        self.assertEqual(tester.get_config().hidden_size, tester.hidden_size)

    def test_a_tester_without_a_base_model_class_is_refused(self):
        class NoBaseTester(CausalLMModelTester):
            pass

        with self.assertRaisesRegex(ValueError, "base_model_class"):
            NoBaseTester(self)

    def test_a_config_class_that_is_not_a_config_is_refused(self):
        class WrongConfigTester(CausalLMModelTester):
            base_model_class = LlamaModel
            config_class = LlamaModel

        with self.assertRaisesRegex(ValueError, "config_class"):
            WrongConfigTester(self)

    def test_an_unexpected_model_class_attribute_is_refused(self):
        class TypoTester(CausalLMModelTester):
            base_model_class = LlamaModel
            causal_lm_clas = LlamaForCausalLM

        with self.assertRaisesRegex(ValueError, "causal_lm_clas"):
            TypoTester(self)
