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
Project stand-in for upstream's `tests/generation/test_utils.py`, which the transformers sdist does not ship.

Every test here has the name of an upstream `GenerationTesterMixin` test and asserts what that test asserts, the same
way (the table in `tests/standins/upstream_mirrors.py` names each one); a few add a stricter equivalence on top, said
in their docstring. The hooks are upstream's:

- `all_generative_model_classes` (a property of `ModelTesterMixin`: the model classes whose `can_generate()` is true);
- `self.model_tester.prepare_config_and_inputs_for_common()` and `self.model_tester.seq_length`;
- `prepare_config_and_inputs_for_generate(batch_size)`, which a test class may override. Every tensor it returns is
  passed to `generate`, so a decoder with cross-attention gets its `encoder_hidden_states` by returning them here;
- `max_new_tokens`, the length of most generations, and `has_attentions` (from `ModelTesterMixin`).

The stand-in covers decoder-only models (causal language models, with or without cross-attention inputs).
"""

import copy
import inspect
import tempfile

import pytest
from parameterized import parameterized

from transformers import PreTrainedModel, is_torch_available, logging, set_seed
from transformers.testing_utils import (
    CaptureLogger,
    is_flaky,
    require_torch,
    require_torch_greater_or_equal,
    set_config_for_less_flaky_test,
    set_model_for_less_flaky_test,
    torch_device,
)


if is_torch_available():
    import torch

    from transformers.cache_utils import Cache, DynamicCache, EncoderDecoderCache, StaticCache
    from transformers.generation import CompileConfig, GenerateBeamDecoderOnlyOutput, GenerateDecoderOnlyOutput
    from transformers.generation.candidate_generator import PromptLookupCandidateGenerator


# Inputs of the model tester that generation tests must not receive: decoder inputs belong to encoder-decoder models,
# each test sets the cache switch, and labels are for training.
INPUTS_NOT_FOR_GENERATE = ("decoder_input_ids", "decoder_attention_mask", "use_cache", "labels")
# Logits processors upstream's greedy/sampling/beam checks run with, so that processed scores differ from raw logits.
LOGITS_PROCESSOR_KWARGS = {"bad_words_ids": [[1, 0]], "repetition_penalty": 1.2, "remove_invalid_values": True}
SAMPLING_KWARGS = {"top_k": 10, "top_p": 0.7, "temperature": 0.7}
BEAM_KWARGS = {"early_stopping": False, "length_penalty": 2.0, "num_beams": 2}


def assert_similar_generate_outputs(output_1, output_2, atol=1e-5, rtol=1e-5):
    """
    Two generations agree when their sequences are equal or, where they first differ, the scores up to and including
    that step are close (a near-tie may then be broken either way).
    """
    prompt_length = output_1.sequences.shape[1] - len(output_1.scores)
    same = output_1.sequences == output_2.sequences
    if bool(same.all()):
        return
    for row in range(output_1.sequences.shape[0]):
        if bool(same[row].all()):
            continue
        first_difference = int((~same[row]).nonzero()[0]) - prompt_length
        if first_difference < 0:
            raise AssertionError(f"row {row}: the prompts differ")
        for step in range(first_difference + 1):
            torch.testing.assert_close(
                output_1.scores[step][row],
                output_2.scores[step][row],
                atol=atol,
                rtol=rtol,
                msg=lambda message: f"row {row}, step {step}, before the first token that differs: {message}",
            )


@require_torch
class GenerationTesterMixin:
    """`generate` checks for every class of `all_generative_model_classes` (see the module docstring for the hooks)."""

    input_name = "input_ids"
    model_tester = None
    max_new_tokens = 3

    # -----------------------------------------------------------------------------------------------------------
    # Hooks and helpers
    # -----------------------------------------------------------------------------------------------------------

    def prepare_config_and_inputs_for_generate(self, batch_size=2):
        """
        The config and the first `batch_size` rows of the model tester's common inputs. End-of-sequence is switched
        off (pad falls back to the old eos) so that every generation runs its full length.
        """
        config, inputs_dict = self.model_tester.prepare_config_and_inputs_for_common()
        inputs = {
            key: value[:batch_size, ...] if isinstance(value, torch.Tensor) else value
            for key, value in inputs_dict.items()
            if key not in INPUTS_NOT_FOR_GENERATE
        }
        text_config = config.get_text_config(decoder=True)
        if text_config.eos_token_id is not None and text_config.pad_token_id is None:
            eos = text_config.eos_token_id
            text_config.pad_token_id = eos if isinstance(eos, int) else eos[0]
        text_config.eos_token_id = None
        text_config.forced_eos_token_id = None
        return config, inputs

    def _generate(self, model, inputs_dict, logits_processors=True, do_sample=False, **generate_kwargs):
        """`generate` for exactly `max_new_tokens` new tokens, with upstream's logits processors unless turned off."""
        kwargs = dict(LOGITS_PROCESSOR_KWARGS) if logits_processors else {}
        if do_sample and logits_processors:
            kwargs.update(SAMPLING_KWARGS)
        kwargs.update(max_new_tokens=self.max_new_tokens, min_new_tokens=self.max_new_tokens, do_sample=do_sample)
        kwargs.update(generate_kwargs)
        return model.generate(**kwargs, **inputs_dict)

    def _generate_with_every_output(self, model, inputs_dict, use_cache, **generate_kwargs):
        """`generate` (greedy unless told) returning a dict with scores, logits, hidden states and attentions."""
        return self._generate(
            model,
            inputs_dict,
            output_scores=True,
            output_logits=True,
            output_hidden_states=True,
            output_attentions=self.has_attentions,
            return_dict_in_generate=True,
            use_cache=use_cache,
            **generate_kwargs,
        )

    def _check_prompt_and_new_tokens(self, sequences, inputs_dict, num_return_sequences=1):
        """Upstream's length check for decoder-only models, and each row continues its own prompt."""
        prompt = inputs_dict["input_ids"]
        self.assertEqual(sequences.shape[1], self.max_new_tokens + prompt.shape[1])
        expected_prompts = prompt.repeat_interleave(num_return_sequences, dim=0)
        self.assertEqual(sequences[:, : prompt.shape[1]].tolist(), expected_prompts.tolist())

    def _check_generate_outputs(self, output, config, use_cache=False, num_return_sequences=1, num_beams=1):
        """
        The shapes of scores, logits, attentions, hidden states and cache, as upstream checks a decoder-only model.
        """
        config = config.get_text_config(decoder=True)
        input_batch_size = output.sequences.shape[0] // num_return_sequences
        rows = input_batch_size * (num_beams if num_beams > 1 else num_return_sequences)
        prompt_length = self.model_tester.seq_length
        output_length = output.sequences.shape[1]
        generated_length = output_length - prompt_length
        vocab_size = config.vocab_size

        self.assertIsInstance(output.scores, tuple)
        self.assertEqual(len(output.scores), generated_length)
        self.assertEqual([tuple(score.shape) for score in output.scores], [(rows, vocab_size)] * generated_length)
        self.assertIsInstance(output.logits, tuple)
        self.assertEqual([tuple(logit.shape) for logit in output.logits], [(rows, vocab_size)] * len(output.logits))

        cache = output.past_key_values
        self_attention_cache = cache.self_attention_cache if isinstance(cache, EncoderDecoderCache) else cache
        for name in ("attentions", "hidden_states"):
            if name == "attentions" and not self.has_attentions:
                continue
            per_step = getattr(output, name)
            self.assertIsInstance(per_step, tuple)
            self.assertEqual(len(per_step), generated_length, f"one entry of `{name}` per generated token")
            for step, layers in enumerate(per_step):
                self.assertIsInstance(layers, tuple)
                query_length = 1 if use_cache and step > 0 else prompt_length + step
                if name == "hidden_states":
                    expected = (rows, query_length, config.hidden_size)
                else:
                    key_length = prompt_length + step
                    if isinstance(self_attention_cache, StaticCache):
                        key_length = self_attention_cache.get_max_length(0)
                    expected = (rows, config.num_attention_heads, query_length, key_length)
                self.assertEqual([tuple(layer.shape) for layer in layers], [expected] * len(layers), f"{name} {step}")

        if use_cache:
            self._check_past_key_values_for_generate(rows, cache, output_length - 1, config)
        else:
            self.assertIsNone(cache)

    def _check_past_key_values_for_generate(self, batch_size, past_key_values, seq_length, config):
        """
        One (keys, values) pair per layer of shape (batch, key/value heads, `seq_length`, head dim); an
        `EncoderDecoderCache` is checked part by part, its cross-attention part without the sequence dimension.
        """
        if not isinstance(past_key_values, Cache):
            raise ValueError("The cache is not a `Cache`; a model with another format must override this check.")
        if isinstance(past_key_values, EncoderDecoderCache):
            self._check_past_key_values_for_generate(
                batch_size, past_key_values.self_attention_cache, seq_length, config
            )
            self._check_past_key_values_for_generate(batch_size, past_key_values.cross_attention_cache, None, config)
            return
        config = config.get_text_config(decoder=True)
        self.assertEqual(len(past_key_values), config.num_hidden_layers)
        num_kv_heads = getattr(config, "num_key_value_heads", config.num_attention_heads)
        head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
        for layer in past_key_values.layers:
            keys, values = layer.keys, layer.values
            if seq_length is None:
                keys, values = keys[:, :, 0, :], values[:, :, 0, :]
                expected = (batch_size, num_kv_heads, head_dim)
            else:
                expected = (batch_size, num_kv_heads, seq_length, head_dim)
            self.assertEqual(tuple(keys.shape), expected)
            self.assertEqual(tuple(values.shape), expected)

    # -----------------------------------------------------------------------------------------------------------
    # Greedy decoding, sampling, beam search
    # -----------------------------------------------------------------------------------------------------------

    @pytest.mark.generate
    def test_greedy_generate(self):
        """
        Greedy decoding returns the prompt plus `max_new_tokens` tokens. Stricter than upstream: without logits
        processors, each new token is the argmax of a full forward pass over everything before it.
        """
        for model_class in self.all_generative_model_classes:
            config, inputs_dict = self.prepare_config_and_inputs_for_generate()
            model = model_class(config).to(torch_device).eval()
            sequences = self._generate(model, inputs_dict)
            self._check_prompt_and_new_tokens(sequences, inputs_dict)

            unpadded = {**inputs_dict, "attention_mask": torch.ones_like(inputs_dict["input_ids"])}
            plain = self._generate(model, unpadded, logits_processors=False)
            tokens = inputs_dict["input_ids"]
            extra = {k: v for k, v in inputs_dict.items() if k not in ("input_ids", "attention_mask")}
            with torch.no_grad():
                for _ in range(self.max_new_tokens):
                    logits = model(input_ids=tokens, attention_mask=torch.ones_like(tokens), use_cache=False, **extra)
                    next_tokens = logits.logits[:, -1].argmax(dim=-1, keepdim=True)
                    tokens = torch.cat([tokens, next_tokens], dim=-1)
            self.assertEqual(plain.tolist(), tokens.tolist(), f"{model_class.__name__}: generate vs step-wise argmax")

    @pytest.mark.generate
    def test_greedy_generate_dict_outputs(self):
        for model_class in self.all_generative_model_classes:
            config, inputs_dict = self.prepare_config_and_inputs_for_generate()
            if self.has_attentions:
                config._attn_implementation = "eager"  # only eager attention returns attention weights
            model = model_class(config).to(torch_device).eval()
            output = self._generate_with_every_output(model, inputs_dict, use_cache=False)
            self._check_prompt_and_new_tokens(output.sequences, inputs_dict)
            self.assertIsInstance(output, GenerateDecoderOnlyOutput)
            self._check_generate_outputs(output, model.config)

    @pytest.mark.generate
    def test_greedy_generate_dict_outputs_use_cache(self):
        """
        As upstream, with the cache on. Stricter than upstream: the tokens and scores are those of the same generation
        without a cache.
        """
        for model_class in self.all_generative_model_classes:
            config, inputs_dict = self.prepare_config_and_inputs_for_generate()
            if self.has_attentions:
                config._attn_implementation = "eager"
            if not hasattr(config.get_text_config(), "use_cache"):
                self.skipTest(reason=f"{model_class.__name__} doesn't support caching")
            config.is_decoder = True
            model = model_class(config).to(torch_device).eval()
            outputs = {
                use_cache: self._generate_with_every_output(model, inputs_dict, use_cache=use_cache)
                for use_cache in (True, False)
            }
            self._check_prompt_and_new_tokens(outputs[True].sequences, inputs_dict)
            self._check_generate_outputs(outputs[True], model.config, use_cache=True)
            assert_similar_generate_outputs(outputs[True], outputs[False])

    @pytest.mark.generate
    def test_sample_generate(self):
        """Sampling returns the prompt plus `max_new_tokens` tokens. Stricter than upstream: a seed repeats it."""
        for model_class in self.all_generative_model_classes:
            config, inputs_dict = self.prepare_config_and_inputs_for_generate()
            model = model_class(config).to(torch_device).eval()
            samples = []
            for _ in range(2):
                torch.manual_seed(0)
                samples.append(self._generate(model, inputs_dict, do_sample=True, num_return_sequences=1))
            self._check_prompt_and_new_tokens(samples[0], inputs_dict)
            self.assertEqual(samples[0].tolist(), samples[1].tolist(), f"{model_class.__name__}: same seed")

    @pytest.mark.generate
    def test_beam_search_generate(self):
        """
        Beam search returns the prompt plus `max_new_tokens` tokens. Stricter than upstream: without length penalty
        or processors, each returned hypothesis is scored by the summed log-probabilities of its new tokens, best
        first.
        """
        for model_class in self.all_generative_model_classes:
            config, inputs_dict = self.prepare_config_and_inputs_for_generate()
            model = model_class(config).to(torch_device).eval()
            sequences = self._generate(model, inputs_dict, num_return_sequences=1, **BEAM_KWARGS)
            self._check_prompt_and_new_tokens(sequences, inputs_dict)

            # Without padding, so that one forward pass over each hypothesis sees it exactly as beam search did.
            unpadded = {**inputs_dict, "attention_mask": torch.ones_like(inputs_dict["input_ids"])}
            output = self._generate(
                model,
                unpadded,
                logits_processors=False,
                num_beams=3,
                num_return_sequences=2,
                length_penalty=0.0,
                output_scores=True,
                return_dict_in_generate=True,
            )
            self.assertIsInstance(output, GenerateBeamDecoderOnlyOutput)
            self._check_prompt_and_new_tokens(output.sequences, inputs_dict, num_return_sequences=2)
            prompt_length = inputs_dict["input_ids"].shape[1]
            extra = {
                key: value.repeat_interleave(2, dim=0) if isinstance(value, torch.Tensor) else value
                for key, value in inputs_dict.items()
                if key not in ("input_ids", "attention_mask")
            }
            with torch.no_grad():
                logits = model(
                    input_ids=output.sequences,
                    attention_mask=torch.ones_like(output.sequences),
                    use_cache=False,
                    **extra,
                ).logits
            log_probs = logits[:, prompt_length - 1 : -1].float().log_softmax(dim=-1)
            new_tokens = output.sequences[:, prompt_length:]
            recomputed = log_probs.gather(-1, new_tokens.unsqueeze(-1)).squeeze(-1).sum(dim=-1)
            torch.testing.assert_close(output.sequences_scores, recomputed, rtol=1e-4, atol=1e-4)
            per_prompt = output.sequences_scores.view(-1, 2)
            self.assertTrue(bool((per_prompt[:, 0] >= per_prompt[:, 1]).all()), "best hypothesis first")

    @pytest.mark.generate
    def test_sample_generate_dict_output(self):
        for model_class in self.all_generative_model_classes:
            config, inputs_dict = self.prepare_config_and_inputs_for_generate()
            if self.has_attentions:
                config._attn_implementation = "eager"
            model = model_class(config).to(torch_device).eval()
            output = self._generate_with_every_output(
                model, inputs_dict, use_cache=False, do_sample=True, num_return_sequences=2
            )
            self._check_prompt_and_new_tokens(output.sequences, inputs_dict, num_return_sequences=2)
            self.assertIsInstance(output, GenerateDecoderOnlyOutput)
            self._check_generate_outputs(output, model.config, num_return_sequences=2)

    @pytest.mark.generate
    def test_beam_search_generate_dict_output(self):
        for model_class in self.all_generative_model_classes:
            config, inputs_dict = self.prepare_config_and_inputs_for_generate()
            if self.has_attentions:
                config._attn_implementation = "eager"
            model = model_class(config).to(torch_device).eval()
            output = self._generate_with_every_output(
                model, inputs_dict, use_cache=False, num_return_sequences=1, **BEAM_KWARGS
            )
            self._check_prompt_and_new_tokens(output.sequences, inputs_dict)
            self.assertIsInstance(output, GenerateBeamDecoderOnlyOutput)
            self._check_generate_outputs(output, model.config, num_beams=BEAM_KWARGS["num_beams"])

    @pytest.mark.generate
    def test_beam_search_generate_dict_outputs_use_cache(self):
        for model_class in self.all_generative_model_classes:
            config, inputs_dict = self.prepare_config_and_inputs_for_generate()
            if not hasattr(config.get_text_config(), "use_cache"):
                self.skipTest(reason=f"{model_class.__name__} doesn't support caching")
            if self.has_attentions:
                config._attn_implementation = "eager"
            config.is_decoder = True
            model = model_class(config).to(torch_device).eval()
            output = self._generate_with_every_output(
                model, inputs_dict, use_cache=True, num_return_sequences=1, **BEAM_KWARGS
            )
            self._check_prompt_and_new_tokens(output.sequences, inputs_dict)
            self._check_generate_outputs(output, model.config, use_cache=True, num_beams=BEAM_KWARGS["num_beams"])

    @pytest.mark.generate
    def test_beam_sample_generate(self):
        """Beam sampling returns the prompt plus `max_new_tokens` tokens."""
        for model_class in self.all_generative_model_classes:
            config, inputs_dict = self.prepare_config_and_inputs_for_generate()
            model = model_class(config).to(torch_device).eval()
            set_seed(42)
            sequences = self._generate(
                model, inputs_dict, do_sample=True, use_cache=True, num_return_sequences=1, **BEAM_KWARGS
            )
            if model.config.is_encoder_decoder:
                self.assertEqual(sequences.shape[1], self.max_new_tokens + 1)
            else:
                self.assertEqual(sequences.shape[1], self.max_new_tokens + inputs_dict["input_ids"].shape[1])

    @pytest.mark.generate
    def test_beam_sample_generate_dict_output(self):
        for model_class in self.all_generative_model_classes:
            config, inputs_dict = self.prepare_config_and_inputs_for_generate()
            if self.has_attentions:
                config._attn_implementation = "eager"
            model = model_class(config).to(torch_device).eval()
            set_seed(42)
            output = self._generate_with_every_output(
                model, inputs_dict, use_cache=False, do_sample=True, num_return_sequences=1, **BEAM_KWARGS
            )
            self.assertEqual(output.sequences.shape[1], self.max_new_tokens + inputs_dict["input_ids"].shape[1])
            self.assertIsInstance(output, GenerateBeamDecoderOnlyOutput)
            self._check_generate_outputs(
                output, model.config, num_return_sequences=1, num_beams=BEAM_KWARGS["num_beams"]
            )

    @pytest.mark.generate
    def test_generate_continue_from_past_key_values(self):
        """Generating 3 tokens, then 1 more from the returned cache, gives the 4-token generation and its cache."""
        for model_class in self.all_generative_model_classes:
            set_seed(42)
            config, inputs = self.model_tester.prepare_config_and_inputs_for_common()
            if not hasattr(config.get_text_config(), "use_cache"):
                self.skipTest(reason=f"{model_class.__name__} doesn't support caching")
            inputs.pop("token_type_ids", None)
            # Left padding only, so that positions stay consecutive across the two calls.
            attention_mask = inputs.get("attention_mask")
            if attention_mask is not None and attention_mask.ndim == 2 and 0 in attention_mask[:, -1]:
                attention_mask = torch.ones_like(attention_mask)
                attention_mask[0, :1] = 0
                attention_mask[1:, :2] = 0
                inputs["attention_mask"] = attention_mask
            model = model_class(config).to(torch_device).eval()
            if "past_key_values" not in model(**inputs):
                self.skipTest(reason="This model doesn't return `past_key_values`")
            generate_kwargs = {
                "pad_token_id": -1,
                "eos_token_id": -1,
                "forced_eos_token_id": None,
                "use_cache": True,
                "do_sample": False,
                "return_dict_in_generate": True,
                "output_scores": True,
            }
            at_once = model.generate(**inputs, **generate_kwargs, max_new_tokens=4)
            first = model.generate(**inputs, **generate_kwargs, max_new_tokens=3)
            inputs["past_key_values"] = first.past_key_values
            inputs["input_ids"] = first.sequences
            if "attention_mask" in inputs:
                extra = first.sequences.shape[-1] - inputs["attention_mask"].shape[1]
                inputs["attention_mask"] = torch.nn.functional.pad(inputs["attention_mask"], (0, extra), value=1)
            continued = model.generate(**inputs, **generate_kwargs, max_new_tokens=1)
            continued.scores = first.scores + continued.scores
            assert_similar_generate_outputs(at_once, continued)
            self._check_caches_are_equal(at_once.past_key_values, continued.past_key_values)

    def _check_caches_are_equal(self, cache_1, cache_2):
        """Same cache type, same number of layers, and the same keys and values in each."""
        self.assertEqual(type(cache_1), type(cache_2))
        if isinstance(cache_1, EncoderDecoderCache):
            self._check_caches_are_equal(cache_1.self_attention_cache, cache_2.self_attention_cache)
            self._check_caches_are_equal(cache_1.cross_attention_cache, cache_2.cross_attention_cache)
            return
        self.assertEqual(len(cache_1), len(cache_2))
        for layer_1, layer_2 in zip(cache_1.layers, cache_2.layers):
            torch.testing.assert_close(layer_1.keys, layer_2.keys)
            torch.testing.assert_close(layer_1.values, layer_2.values)

    def _candidate_decoding_kwargs(self, do_sample, **generate_kwargs):
        """
        The `generate` arguments of upstream's assisted and prompt-lookup tests: no eos, 4 new tokens (at least two
        forward passes of the main model), every output, the cache, and upstream's logits processors.
        """
        return {
            "eos_token_id": -1,
            "max_new_tokens": 4,
            "num_beams": 1,
            "do_sample": do_sample,
            "output_scores": True,
            "output_logits": True,
            "output_hidden_states": True,
            "output_attentions": self.has_attentions,
            "return_dict_in_generate": True,
            "use_cache": True,
            **LOGITS_PROCESSOR_KWARGS,
            **generate_kwargs,
        }

    @parameterized.expand([("random",), ("same",)])
    @pytest.mark.generate
    def test_assisted_decoding_matches_greedy_search(self, assistant_type):
        """Assisted decoding (an assistant that always or never agrees) gives greedy decoding's outputs."""
        for model_class in self.all_generative_model_classes:
            if model_class._is_stateful:
                self.skipTest(reason="Stateful models don't support assisted generation")
            set_seed(42)
            config, inputs_dict = self.prepare_config_and_inputs_for_generate(batch_size=1)
            set_config_for_less_flaky_test(config)
            if self.has_attentions:
                config._attn_implementation = "eager"
            if not hasattr(config.get_text_config(), "use_cache"):
                self.skipTest(reason=f"{model_class.__name__} doesn't support caching")
            config.is_decoder = True
            model = model_class._from_config(config, attn_implementation="eager").to(torch_device).eval()
            set_model_for_less_flaky_test(model)
            generation_kwargs = self._candidate_decoding_kwargs(do_sample=False)
            greedy = model.generate(**generation_kwargs, **inputs_dict)
            assistant = model if assistant_type == "same" else model_class(model.config).to(torch_device).eval()
            assistant.config._attn_implementation = "eager"
            assistant.generation_config.num_assistant_tokens = 2
            assistant.generation_config.num_assistant_tokens_schedule = "constant"
            assisted = model.generate(**generation_kwargs, **inputs_dict, assistant_model=assistant)
            assert_similar_generate_outputs(greedy, assisted)
            for output in (greedy, assisted):
                self._check_generate_outputs(output, model.config, use_cache=True)

    # -----------------------------------------------------------------------------------------------------------
    # Cache format, inputs, logits to keep
    # -----------------------------------------------------------------------------------------------------------

    @pytest.mark.generate
    def test_past_key_values_format(self):
        """A forward pass with the cache on returns a cache of the standard per-layer (keys, values) shapes."""
        for model_class in self.all_generative_model_classes:
            config, inputs = self.model_tester.prepare_config_and_inputs_for_common()
            text_config = config.get_text_config(decoder=True)
            if not hasattr(text_config, "use_cache"):
                self.skipTest(reason=f"{model_class.__name__} doesn't support caching")
            model = model_class(config).to(torch_device).eval()
            inputs.setdefault("use_cache", True)
            outputs = model(**inputs)
            if "past_key_values" not in outputs:
                self.skipTest(reason="This model doesn't return `past_key_values`")
            prompt = inputs["decoder_input_ids"] if config.is_encoder_decoder else inputs["input_ids"]
            batch_size, seq_length = prompt.shape[:2]
            self._check_past_key_values_for_generate(batch_size, outputs["past_key_values"], seq_length, text_config)

    @pytest.mark.generate
    def test_generate_without_input_ids(self):
        """With a `bos_token_id` and no prompt, greedy generation starts from it and returns something."""
        config, _ = self.prepare_config_and_inputs_for_generate()
        text_config = config.get_text_config(decoder=True)
        if text_config.bos_token_id is None:
            self.skipTest(reason="bos_token_id is None")
        # A pad token equal to bos would mask the only prompt token.
        if text_config.bos_token_id == text_config.pad_token_id:
            text_config.pad_token_id = None
        for model_class in self.all_generative_model_classes:
            model = model_class(config).to(torch_device).eval()
            sequences = model.generate(do_sample=False, max_new_tokens=self.max_new_tokens, remove_invalid_values=True)
            self.assertIsNotNone(sequences)

    @pytest.mark.generate
    def test_inherits_generation_mixin(self):
        """Each generative class lists `GenerationMixin` among its own bases (not only through `PreTrainedModel`)."""
        for model_class in self.all_generative_model_classes:
            self.assertIn("GenerationMixin", str(model_class.__bases__))

    def test_generate_with_and_without_position_ids(self):
        """
        Greedy generation from a left-padded prompt is the same whether `generate` infers the position ids from the
        mask or is given them.
        """
        ran_a_model = False
        for model_class in self.all_generative_model_classes:
            config, inputs_dict = self.prepare_config_and_inputs_for_generate()
            model = model_class(config).to(torch_device).eval()
            parameters = inspect.signature(model.forward).parameters
            # Models with 3D rotary positions (a `get_rope_index`) do not take 2D position ids.
            holders = (model, *(getattr(model, name, None) for name in ("model", "language_model", "text_model")))
            if any(hasattr(holder, "get_rope_index") for holder in holders):
                continue
            if "position_ids" not in parameters or "input_ids" not in inputs_dict:
                self.skipTest("This model doesn't use `position_ids`")
            if config.is_encoder_decoder:
                self.skipTest("This model doesn't prepare `position_ids` in generate")
            ran_a_model = True
            input_ids = inputs_dict["input_ids"]
            prompt_length = input_ids.shape[1]
            mask = inputs_dict.get("attention_mask")
            if mask is not None and 0 in mask[:, -1]:
                inputs_dict["attention_mask"] = mask.flip(1)  # right padding turned into left padding
            else:
                generation_config = copy.deepcopy(model.generation_config)
                model._prepare_special_tokens(generation_config)
                inputs_dict["attention_mask"] = model._prepare_attention_mask_for_generation(
                    input_ids, generation_config, model_kwargs={}
                )
            inferred = model.generate(**inputs_dict, max_new_tokens=5, use_cache=True, do_sample=False)

            attention_mask = inputs_dict["attention_mask"]
            position_ids = (attention_mask.long().cumsum(-1) - 1).masked_fill(attention_mask == 0, 0)
            position_ids = position_ids[..., -prompt_length:].view(-1, prompt_length)
            given = model.generate(
                **inputs_dict, position_ids=position_ids, max_new_tokens=5, use_cache=True, do_sample=False
            )
            self.assertListEqual(inferred.tolist(), given.tolist())
        if not ran_a_model:
            self.skipTest(
                "Every model class here has 3D rotary positions (`get_rope_index`), for which 2D `position_ids` are "
                "accepted but give wrong outputs."
            )

    def test_forward_with_logits_to_keep(self):
        """`logits_to_keep=0` returns every position's logits and `logits_to_keep=1` the last one's, the same."""
        for model_class in self.all_generative_model_classes:
            if "logits_to_keep" not in inspect.signature(model_class.forward).parameters:
                self.skipTest(reason="This model does not support `logits_to_keep` argument.")
            config, inputs = self.model_tester.prepare_config_and_inputs_for_common()
            batch_size, seq_length = inputs["input_ids"].shape[:2]
            vocab_size = config.get_text_config().vocab_size
            model = model_class(config).to(device=torch_device).eval()
            inputs.pop("labels", None)  # `logits_to_keep` is not for training
            every_logit = model(**inputs, logits_to_keep=0).logits
            last_logit = model(**inputs, logits_to_keep=1).logits
            self.assertEqual(tuple(every_logit.shape), (batch_size, seq_length, vocab_size))
            self.assertEqual(tuple(last_logit.shape), (batch_size, 1, vocab_size))
            torch.testing.assert_close(every_logit[:, -1:, :], last_logit, rtol=1e-5, atol=1e-5)

    @pytest.mark.generate
    def test_generate_methods_with_logits_to_keep(self):
        """Greedy generation with every position's logits (`logits_to_keep=0`) equals the default (last only)."""
        for model_class in self.all_generative_model_classes:
            if "logits_to_keep" not in inspect.signature(model_class.forward).parameters:
                self.skipTest(reason="This model does not support `logits_to_keep` argument.")
            config, inputs_dict = self.prepare_config_and_inputs_for_generate()
            config.is_decoder = True
            model = model_class(config).to(torch_device).eval()
            model.generation_config.use_cache = True
            generation_kwargs = {"max_new_tokens": 10, "do_sample": False}
            with_every_logit = model.generate(**generation_kwargs, **inputs_dict, logits_to_keep=0)
            with_the_default = model.generate(**inputs_dict, **generation_kwargs)
            self.assertEqual(with_every_logit.tolist(), with_the_default.tolist())

    @pytest.mark.generate
    def test_assisted_decoding_sample(self):
        """
        Sampling with the model as its own assistant (two draft tokens per call) returns outputs of the shapes that
        upstream checks. Seeded assisted sampling need not equal plain sampling, so the tokens are not compared.
        """
        for model_class in self.all_generative_model_classes:
            if model_class._is_stateful:
                self.skipTest(reason="Stateful models don't support assisted generation")
            config, inputs_dict = self.prepare_config_and_inputs_for_generate(batch_size=1)
            if self.has_attentions:
                config._attn_implementation = "eager"
            if not hasattr(config.get_text_config(), "use_cache"):
                self.skipTest(reason=f"{model_class.__name__} doesn't support caching")
            config.is_decoder = True
            model = model_class._from_config(config, attn_implementation="eager").to(torch_device).eval()
            model.generation_config.num_assistant_tokens = 2
            model.generation_config.num_assistant_tokens_schedule = "constant"
            generation_kwargs = self._candidate_decoding_kwargs(do_sample=True, assistant_model=model)
            assisted = model.generate(**generation_kwargs, **inputs_dict)
            self._check_generate_outputs(assisted, model.config, use_cache=True)

    @pytest.mark.generate
    @is_flaky()
    def test_prompt_lookup_decoding_matches_greedy_search(self):
        """
        Prompt lookup decoding (two proposed tokens) gives greedy decoding's outputs. Upstream writes `@is_flaky`
        without calling it, which replaces its test by the decorator so that the body never runs; here it is called,
        so the check runs and is retried on failure, as upstream means.
        """
        for model_class in self.all_generative_model_classes:
            if model_class._is_stateful:
                self.skipTest(reason="Stateful models don't support assisted generation")
            set_seed(42)
            config, inputs_dict = self.prepare_config_and_inputs_for_generate(batch_size=1)
            if self.has_attentions:
                config._attn_implementation = "eager"
            if not hasattr(config.get_text_config(), "use_cache"):
                self.skipTest(reason=f"{model_class.__name__} doesn't support caching")
            config.is_decoder = True
            model = model_class(config).to(torch_device).eval()
            generation_kwargs = self._candidate_decoding_kwargs(do_sample=False)
            greedy = model.generate(**generation_kwargs, **inputs_dict)
            prompt_lookup = model.generate(**generation_kwargs, **inputs_dict, prompt_lookup_num_tokens=2)
            # Mixture-of-experts layers (a config with an experts implementation) round differently per shape.
            tolerance = 1e-3 if getattr(config, "_experts_implementation", None) is not None else 1e-5
            assert_similar_generate_outputs(greedy, prompt_lookup, atol=tolerance, rtol=tolerance)
            for output in (greedy, prompt_lookup):
                self._check_generate_outputs(output, model.config, use_cache=True)

    @pytest.mark.generate
    def test_prompt_lookup_decoding_stops_at_eos(self):
        """
        Prompt lookup does not propose the tokens that follow an earlier match when the first of them is eos: the
        prompt ends with a token whose only other occurrence is followed by eos, and no candidate comes back.
        """
        input_ids = torch.randint(1, 50, (1, 10), device=torch_device)
        repeated_token = 51  # outside the range above, so that it matches only where it is placed
        eos_token_id = torch.tensor([0], device=torch_device)
        input_ids[:, 3] = repeated_token
        input_ids[:, 4] = eos_token_id
        input_ids[:, -1] = repeated_token
        candidate_generator = PromptLookupCandidateGenerator(
            eos_token_id=eos_token_id, num_output_tokens=4, max_matching_ngram_size=1
        )
        candidates = candidate_generator.get_candidates(input_ids)[0]
        self.assertEqual(candidates.shape[-1], 10)

    # -----------------------------------------------------------------------------------------------------------
    # Attention masks: custom 4D masks, padding-free (packed) inputs
    # -----------------------------------------------------------------------------------------------------------

    def test_custom_4d_attention_mask(self):
        """
        Three prompts that share all but their last token give the same next-token distributions when packed into one
        row after the shared prefix, with a 4D mask that keeps the three endings from seeing each other.
        """
        if not self.has_attentions:
            self.skipTest(reason="Model architecture does not support attentions")
        for model_class in self.all_generative_model_classes:
            if not model_class._can_compile_fullgraph:
                self.skipTest(f"{model_class.__name__} is not guaranteed to work with custom 4D attention masks")
            config, _ = self.model_tester.prepare_config_and_inputs_for_common()
            set_config_for_less_flaky_test(config)
            sliding_window = getattr(config, "sliding_window", 0)
            if sliding_window is not None and sliding_window > 0:
                self.skipTest(f"{model_class.__name__} with sliding window attention is not supported by this test")
            model = model_class(config).to(device=torch_device, dtype=torch.float32).eval()
            set_model_for_less_flaky_test(model)
            if "position_ids" not in inspect.signature(model.forward).parameters:
                continue  # positions are modelled some other way

            input_ids = torch.tensor([[10, 11, 12, 13], [10, 11, 12, 14], [10, 11, 12, 15]], device=torch_device)
            position_ids = torch.arange(4, device=torch_device).expand(3, 4)
            packed_ids = torch.cat([input_ids[0, :-1], input_ids[:, -1]]).unsqueeze(0)
            packed_position_ids = torch.tensor([[0, 1, 2, 3, 3, 3]], device=torch_device)
            # Causal over the prefix; each ending sees the prefix and itself only.
            allowed = torch.tril(torch.ones(6, 6, dtype=torch.bool))
            allowed[3:, 3:] = torch.eye(3, dtype=torch.bool)
            packed_mask = torch.zeros(1, 1, 6, 6, dtype=torch.float32)
            packed_mask.masked_fill_(~allowed, torch.finfo(torch.float32).min)
            packed_mask = packed_mask.to(torch_device)

            last_logits = model.forward(input_ids, position_ids=position_ids).logits[:, -1, :]
            packed_logits = model(packed_ids, attention_mask=packed_mask, position_ids=packed_position_ids)[0]
            torch.testing.assert_close(
                torch.nn.functional.softmax(last_logits, dim=-1),
                torch.nn.functional.softmax(packed_logits[0, -3:, :], dim=-1),
                rtol=1e-3,
                atol=1e-3,
            )

    def _check_padding_matches_padding_free(self, attn_implementation):
        """
        In bfloat16 with `attn_implementation`, the logits of a left-padded batch (positions from the mask) equal, at
        every real token, those of the same tokens packed into one row with positions restarting at each sequence.
        """
        if not self.has_attentions:
            self.skipTest(reason="Model architecture does not support attentions")
        support_flag = {"sdpa": "_supports_sdpa"}
        for model_class in self.all_generative_model_classes:
            if attn_implementation != "eager" and not getattr(model_class, support_flag[attn_implementation]):
                self.skipTest(f"{model_class.__name__} does not support {attn_implementation}")
            # Packing needs the mask API that comes with attention-backend support.
            if not model_class._supports_attention_backend:
                self.skipTest(f"{model_class.__name__} does not support new attention mask API")
            if model_class._is_stateful:
                self.skipTest(f"{model_class.__name__} doesn't support packing!")
            config, inputs_dict = self.model_tester.prepare_config_and_inputs_for_common()
            if config.is_encoder_decoder:
                self.skipTest("Model is an encoder-decoder")
            if "input_ids" not in inputs_dict or inputs_dict["input_ids"].ndim != 2:
                self.skipTest("Model dummy inputs should contain text input ids")
            if "attention_mask" not in inputs_dict or 0 not in inputs_dict["attention_mask"]:
                self.skipTest("Model dummy inputs should contain padding in their attention mask")
            input_ids = inputs_dict["input_ids"]
            if hasattr(config, "max_position_embeddings"):
                config.max_position_embeddings = 30 + input_ids.shape[1] + 1
            model = model_class(config)
            if attn_implementation != "eager" and not all(
                getattr(module, support_flag[attn_implementation])
                for module in model.modules()
                if isinstance(module, PreTrainedModel)
            ):
                self.skipTest(f"At least some parts of {model_class.__name__} don't support {attn_implementation}")
            if "position_ids" not in inspect.signature(model.forward).parameters:
                self.skipTest("Model does not support position_ids")

            with tempfile.TemporaryDirectory() as checkpoint:
                model.save_pretrained(checkpoint)
                padded = {"input_ids": input_ids, "attention_mask": inputs_dict["attention_mask"]}
                if 0 in padded["attention_mask"][:, -1]:
                    padded["attention_mask"] = padded["attention_mask"].flip(1)  # left padding
                attention_mask = padded["attention_mask"]
                is_token = attention_mask.bool()
                input_ids[~is_token] = config.get_text_config().pad_token_id
                padded["position_ids"] = (is_token.long().cumsum(dim=1) - 1) * is_token.long()
                model = (
                    model_class.from_pretrained(
                        checkpoint, dtype=torch.bfloat16, attn_implementation=attn_implementation
                    )
                    .to(torch_device)
                    .eval()
                )
                lengths = attention_mask.sum(1).tolist()
                padding_free = {
                    "input_ids": input_ids[is_token].unsqueeze(0),
                    "position_ids": torch.cat([torch.arange(n) for n in lengths]).long().unsqueeze(0).to(torch_device),
                }
                # Without a cache, so that the forward takes the packed-sequence path.
                padded_logits = model(**padded, use_cache=False).logits[is_token]
                padding_free_logits = model(**padding_free, use_cache=False).logits[0]
                tolerance = torch.finfo(torch.bfloat16).eps
                torch.testing.assert_close(padded_logits, padding_free_logits, rtol=tolerance, atol=tolerance)

    def test_eager_padding_matches_padding_free_with_position_ids(self):
        self._check_padding_matches_padding_free(attn_implementation="eager")

    def test_sdpa_padding_matches_padding_free_with_position_ids(self):
        self._check_padding_matches_padding_free(attn_implementation="sdpa")

    @pytest.mark.generate
    def test_prepare_inputs_for_generation_kwargs_forwards(self, **extra_kwargs):
        """
        `prepare_inputs_for_generation` passes the prompt under its name and forwards arbitrary keyword arguments.
        """
        for model_class in self.all_generative_model_classes:
            config, _ = self.prepare_config_and_inputs_for_generate()
            model = model_class(config).to(torch_device).eval()
            prompt = {
                "input_ids": torch.tensor([[1, 2, 3], [4, 5, 6]], device=torch_device),
                "position_ids": torch.tensor([[0, 1, 2], [0, 1, 2]], device=torch_device),
            }
            arbitrary_kwargs = {
                "output_attentions": True,
                "output_hidden_states": True,
                "custom_arg": "test_value",
                "numeric_arg": 42,
            }
            model_inputs = model.prepare_inputs_for_generation(**prompt, **arbitrary_kwargs, **extra_kwargs)
            self.assertIn("decoder_input_ids" if config.is_encoder_decoder else "input_ids", model_inputs)
            for key, value in arbitrary_kwargs.items():
                self.assertIn(key, model_inputs)
                self.assertTrue(model_inputs[key] == value)

    # -----------------------------------------------------------------------------------------------------------
    # Padding, embeddings, static cache
    # -----------------------------------------------------------------------------------------------------------

    @pytest.mark.generate
    def test_left_padding_compatibility(self):
        """32 positions of left padding leave the next-token logits unchanged (no cache, positions from the mask)."""
        if not self.has_attentions:
            self.skipTest(reason="This model doesn't support padding.")
        decoder_only_classes = [
            model_class
            for model_class in self.all_generative_model_classes
            if not self.prepare_config_and_inputs_for_generate()[0].is_encoder_decoder
        ]
        if not decoder_only_classes:
            self.skipTest(reason="No decoder-only architecture available for this model.")
        config, _ = self.prepare_config_and_inputs_for_generate()
        if any(name.startswith("encoder") and name != "encoder_no_repeat_ngram_size" for name in config.to_dict()):
            self.skipTest(
                reason="The decoder-only derived from encoder-decoder models are not expected to support left-padding."
            )

        def forward_inputs(inputs, parameters):
            kwargs = {"input_ids": inputs["input_ids"], "attention_mask": inputs["attention_mask"]}
            if "position_ids" in parameters:
                position_ids = inputs["attention_mask"].long().cumsum(-1) - 1
                kwargs["position_ids"] = position_ids.masked_fill(inputs["attention_mask"] == 0, 1)
            kwargs.update({k: v for k, v in inputs.items() if k not in kwargs and k in parameters})
            return kwargs

        for model_class in decoder_only_classes:
            config, inputs_dict = self.prepare_config_and_inputs_for_generate()
            model = model_class(config).to(torch_device).eval()
            parameters = inspect.signature(model.forward).parameters.keys()
            model.generation_config.use_cache = False
            if inputs_dict.get("attention_mask") is None:
                inputs_dict["attention_mask"] = torch.ones_like(inputs_dict["input_ids"])
            unpadded_logits = model(**forward_inputs(inputs_dict, parameters)).logits[:, -1, :]

            input_ids, attention_mask = inputs_dict["input_ids"], inputs_dict["attention_mask"]
            pad_token_id = getattr(config.get_text_config(decoder=True), "pad_token_id", None) or 0
            pad_shape = (input_ids.shape[0], 32, *input_ids.shape[2:])
            padded = copy.deepcopy(inputs_dict)
            padded["input_ids"] = torch.cat([input_ids.new_full(pad_shape, pad_token_id), input_ids], dim=1)
            padded["attention_mask"] = torch.cat([attention_mask.new_zeros(pad_shape[:2]), attention_mask], dim=1)
            if inputs_dict.get("token_type_ids") is not None:
                token_type_ids = inputs_dict["token_type_ids"]
                padded["token_type_ids"] = torch.cat([token_type_ids.new_zeros(pad_shape[:2]), token_type_ids], dim=1)
            padded_logits = model(**forward_inputs(padded, parameters)).logits[:, -1, :]
            torch.testing.assert_close(unpadded_logits, padded_logits, rtol=1e-5, atol=1e-5)

    @parameterized.expand([("greedy", 1), ("beam search", 2)])
    @pytest.mark.generate
    def test_generate_from_inputs_embeds(self, _, num_beams):
        """
        Generating from `inputs_embeds` (with or without the `input_ids`) continues the prompt as generating from its
        `input_ids`; other embeddings change the scores.
        """
        for model_class in self.all_generative_model_classes:
            set_seed(42)
            config, inputs_dict = self.prepare_config_and_inputs_for_generate()
            if config.is_encoder_decoder:
                continue
            config.is_decoder = True
            set_config_for_less_flaky_test(config)
            model = model_class(config).to(torch_device).eval()
            set_model_for_less_flaky_test(model)
            if "inputs_embeds" not in inspect.signature(model.prepare_inputs_for_generation).parameters:
                continue
            has_attention_mask = "attention_mask" in inputs_dict
            input_ids = inputs_dict.pop("input_ids")
            generation_kwargs = {
                "return_dict_in_generate": True,
                "output_scores": True,
                "num_beams": num_beams,
                "do_sample": False,
                "max_new_tokens": 5,
                "min_new_tokens": 5,
                "use_cache": True,
            }
            from_ids = model.generate(input_ids=input_ids, **generation_kwargs, **inputs_dict)
            self.assertEqual(from_ids.sequences.shape[:2], (input_ids.shape[0], input_ids.shape[1] + 5))

            inputs_embeds = model.get_input_embeddings()(input_ids)
            from_both = model.generate(
                input_ids=input_ids, inputs_embeds=inputs_embeds, **generation_kwargs, **inputs_dict
            )
            assert_similar_generate_outputs(from_ids, from_both)

            if has_attention_mask:
                # Without `input_ids` only the new tokens come back.
                from_embeds = model.generate(inputs_embeds=inputs_embeds, **generation_kwargs, **inputs_dict)
                from_both.sequences = from_both.sequences[:, inputs_embeds.shape[1] :]
                assert_similar_generate_outputs(from_embeds, from_both)

            random_embeds = torch.rand_like(inputs_embeds)
            from_random = model.generate(
                input_ids=input_ids, inputs_embeds=random_embeds, **generation_kwargs, **inputs_dict
            )
            for step in range(len(from_random.scores)):
                self.assertFalse(torch.allclose(from_both.scores[step], from_random.scores[step]))

    @pytest.mark.generate
    def test_generate_from_random_inputs_embeds(self):
        """Other `inputs_embeds` for the same `input_ids` change the scores of every generated token."""
        for model_class in self.all_generative_model_classes:
            config, inputs_dict = self.prepare_config_and_inputs_for_generate()
            if config.is_encoder_decoder:
                continue
            config.is_decoder = True
            model = model_class(config).to(torch_device).eval()
            if "inputs_embeds" not in inspect.signature(model.prepare_inputs_for_generation).parameters:
                continue
            if model_class.main_input_name != "input_ids" or "moshi" in model_class.__name__.lower():
                self.skipTest(
                    "The model's main input name in not `input_ids` and we need kwargs from input dict as well."
                )
            if hasattr(config, "scale_embedding"):
                config.scale_embedding = False
            generation_kwargs = {
                "return_dict_in_generate": True,
                "output_scores": True,
                "do_sample": False,
                "max_new_tokens": 5,
                "min_new_tokens": 5,
            }
            input_ids = inputs_dict.pop("input_ids")
            inputs_embeds = model.get_input_embeddings()(input_ids)
            from_embeds = model.generate(input_ids, inputs_embeds=inputs_embeds, **generation_kwargs)
            random_embeds = torch.rand_like(inputs_embeds)
            from_random = model.generate(input_ids=input_ids, inputs_embeds=random_embeds, **generation_kwargs)
            for step in range(len(from_random.scores)):
                self.assertFalse(torch.allclose(from_embeds.scores[step], from_random.scores[step]))

    @pytest.mark.generate
    def test_generate_continue_from_inputs_embeds(self):
        """
        Generating 3 tokens from `inputs_embeds`, then 1 more from the embeddings of everything so far and the
        returned cache, gives the 4-token generation and the same cache.
        """
        for model_class in self.all_generative_model_classes:
            config, inputs_dict = self.prepare_config_and_inputs_for_generate()
            inputs_dict.pop("token_type_ids", None)
            if config.is_encoder_decoder:
                self.skipTest(reason="This model is encoder-decoder")
            # As upstream: the top-level config, not the text config, is asked about the cache here.
            if not hasattr(config, "use_cache"):
                self.skipTest(reason=f"{model_class.__name__} doesn't support caching")
            model = model_class(config).to(torch_device).eval()
            if "inputs_embeds" not in inspect.signature(model.prepare_inputs_for_generation).parameters:
                self.skipTest(reason="This model does not support `inputs_embeds` in generation")
            if "past_key_values" not in model(**inputs_dict):
                self.skipTest(reason="This model doesn't return `past_key_values`")
            input_ids = inputs_dict.pop("input_ids")
            model.generation_config.pad_token_id = model.generation_config.eos_token_id = -1
            model.generation_config.forced_eos_token_id = None
            model.config.is_decoder = True
            model.generation_config.use_cache = True
            generation_kwargs = {"return_dict_in_generate": True, "do_sample": False}

            embed = model.get_input_embeddings()
            inputs_embeds = embed(input_ids)
            at_once = model.generate(inputs_embeds=inputs_embeds, max_new_tokens=4, **generation_kwargs)
            first = model.generate(inputs_embeds=inputs_embeds, max_new_tokens=3, **generation_kwargs)
            continued = model.generate(
                inputs_embeds=torch.cat([inputs_embeds, embed(first.sequences)], dim=1),
                max_new_tokens=1,
                past_key_values=first.past_key_values,
                **generation_kwargs,
            )
            self.assertListEqual(
                at_once.sequences.tolist(), torch.cat([first.sequences, continued.sequences], dim=1).tolist()
            )
            self._check_caches_are_equal(at_once.past_key_values, continued.past_key_values)

    @pytest.mark.generate
    def test_generate_from_inputs_embeds_with_static_cache(self):
        """From `inputs_embeds` with a static cache, the cache holds the prompt plus all new tokens but the last."""
        for model_class in self.all_generative_model_classes:
            if not model_class._can_compile_fullgraph:
                self.skipTest(reason="This model does not support the static cache format")
            config, inputs_dict = self.prepare_config_and_inputs_for_generate()
            if config.is_encoder_decoder:
                self.skipTest(reason="This model is encoder-decoder and has Encoder-Decoder Cache")
            model = model_class(config).to(torch_device).eval()
            if "inputs_embeds" not in inspect.signature(model.prepare_inputs_for_generation).parameters:
                self.skipTest(reason="This model does not support `inputs_embeds` in generation")
            input_ids = inputs_dict.pop("input_ids")
            model.generation_config.use_cache = True
            model.config.is_decoder = True
            max_new_tokens = 10
            model.generation_config.eos_token_id = model.config.get_text_config().eos_token_id = -1
            inputs_embeds = model.get_input_embeddings()(input_ids)
            outputs = model.generate(
                inputs_embeds=inputs_embeds,
                max_new_tokens=max_new_tokens,
                cache_implementation="static",
                return_dict_in_generate=True,
                **inputs_dict,
            )
            self.assertIsInstance(outputs.past_key_values, StaticCache)
            max_length = max_new_tokens + inputs_embeds.shape[1] - 1
            self._check_past_key_values_for_generate(
                input_ids.shape[0], outputs.past_key_values, max_length, model.config.get_text_config()
            )

    @pytest.mark.generate
    def test_generate_with_static_cache(self):
        """
        In float32 and float16, a static cache gives the dynamic cache's generation, and is a `StaticCache` sized for
        the prompt plus all new tokens but the last.
        """
        for model_class in self.all_generative_model_classes:
            if not model_class._can_compile_fullgraph:
                self.skipTest(reason="This model does not support the static cache format")
            set_seed(42)
            config, inputs_dict = self.prepare_config_and_inputs_for_generate()
            set_config_for_less_flaky_test(config)
            if config.is_encoder_decoder:
                self.skipTest(reason="This model is encoder-decoder and has Encoder-Decoder Cache")
            config.is_decoder = True
            batch_size = inputs_dict[model_class.main_input_name].shape[0]
            max_new_tokens = 20
            for dtype in (torch.float32, torch.float16):
                model = model_class(copy.deepcopy(config)).to(torch_device).to(dtype).eval()
                inputs = {
                    key: value.to(dtype) if isinstance(value, torch.Tensor) and value.is_floating_point() else value
                    for key, value in inputs_dict.items()
                }
                set_model_for_less_flaky_test(model)
                generation_kwargs = {
                    "max_new_tokens": max_new_tokens,
                    "return_dict_in_generate": True,
                    "output_scores": True,
                    "use_cache": True,
                }
                static = model.generate(**generation_kwargs, **inputs, cache_implementation="static")
                self.assertTrue(isinstance(static.past_key_values, StaticCache))
                max_cache_length = self.model_tester.seq_length + max_new_tokens - 1
                self._check_past_key_values_for_generate(
                    batch_size, static.past_key_values, max_cache_length, model.config.get_text_config()
                )
                dynamic = model.generate(**generation_kwargs, **inputs)
                assert_similar_generate_outputs(dynamic, static)

    @pytest.mark.generate
    @pytest.mark.torch_compile_test
    @require_torch_greater_or_equal("2.6")  # torch.compiler.set_stance
    def test_generate_compile_model_forward_fullgraph(self):
        """
        Generation that compiles the forward (a static cache, `fullgraph=True`, static shapes) gives the eager dynamic
        cache's outputs on two different batches of the same shape, with no recompilation; the eager run keeps a
        `DynamicCache` and compiles nothing.
        """
        for model_class in self.all_generative_model_classes:
            if not model_class._can_compile_fullgraph:
                self.skipTest("This model doesn't support compilation without graph breaks")
            config, inputs_dict = self.prepare_config_and_inputs_for_generate(batch_size=4)
            set_config_for_less_flaky_test(config)
            model = model_class(config).to(torch_device)
            set_model_for_less_flaky_test(model)
            model.eval()  # the mask is built from `self.training`

            # Two different batches of the same shape: the second must reuse the first one's compiled graph.
            half = inputs_dict[model.main_input_name].shape[0] // 2
            batches = [
                {
                    k: v[start : start + half].to(torch_device) if isinstance(v, torch.Tensor) else v
                    for k, v in inputs_dict.items()
                }
                for start in (0, half)
            ]
            self.assertEqual(batches[0][model.main_input_name].shape, batches[1][model.main_input_name].shape)

            torch.compiler.reset()
            has_defined_cache_implementation = model.generation_config.cache_implementation is not None
            compile_config = CompileConfig(fullgraph=True, dynamic=False)
            compile_config._compile_all_devices = True  # compile on every device, CPU included
            generation_kwargs = {
                "use_cache": True,
                "do_sample": False,
                "max_new_tokens": 5,
                "return_dict_in_generate": True,
                "output_scores": True,
                "compile_config": compile_config,
            }

            eager_outputs = []
            with torch.compiler.set_stance("force_eager"):
                for batch in batches:
                    output = model.generate(**batch, **generation_kwargs)
                    eager_outputs.append(output)
                    if not has_defined_cache_implementation:
                        decoder_cache = (
                            output.past_key_values.self_attention_cache
                            if config.is_encoder_decoder
                            else output.past_key_values
                        )
                        self.assertTrue(isinstance(decoder_cache, DynamicCache))
                        if not decoder_cache.is_compileable:
                            self.assertFalse(hasattr(model, "_compiled_call"))

            if not has_defined_cache_implementation:
                generation_kwargs["cache_implementation"] = "static"
            compiled_outputs = []
            try:
                torch._logging.set_logs(recompiles_verbose=True)
                with CaptureLogger(logging.get_logger("torch._dynamo.guards")) as captured:
                    for batch in batches:
                        output = model.generate(**batch, **generation_kwargs)
                        compiled_outputs.append(output)
                        decoder_cache = (
                            output.past_key_values.self_attention_cache
                            if config.is_encoder_decoder
                            else output.past_key_values
                        )
                        self.assertFalse(isinstance(decoder_cache, DynamicCache))
                        self.assertTrue(decoder_cache.is_compileable)
                        self.assertTrue(hasattr(model, "_compiled_call"))
            finally:
                torch._logging.set_logs()
            has_sliding_layers = any(decoder_cache.is_sliding)
            recompiled = "Recompiling" in captured.out or ("guard" in captured.out and "failure" in captured.out)
            if recompiled and not has_sliding_layers:
                raise RuntimeError(f"`torch.compile` recompiled part of the forward pass of {model_class.__name__}.")
            for eager_output, compiled_output in zip(eager_outputs, compiled_outputs):
                assert_similar_generate_outputs(eager_output, compiled_output)
