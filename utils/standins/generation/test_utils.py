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

`GenerationTesterMixin` keeps the name and the hooks upstream's model tests use, so a model's test class works
unchanged with either module:

- `all_generative_model_classes` (a property of `ModelTesterMixin`: the model classes whose `can_generate()` is true);
- `self.model_tester.prepare_config_and_inputs_for_common()`, the source of the config and the inputs;
- `prepare_config_and_inputs_for_generate(batch_size)`, which a test class may override to change the inputs. Every
  tensor it returns with a batch dimension is passed to `generate` and to the model's forward, so a decoder with
  cross-attention gets its `encoder_hidden_states` (and `encoder_attention_mask`) simply by returning them here;
- `max_new_tokens`, the length of every generation.

The checks are written for decoder-only models (causal language models, with or without cross-attention inputs).
Every check runs on every generative class; models are tiny and generations a few tokens long.
"""

import copy
import inspect

import pytest

from transformers import is_torch_available, set_seed
from transformers.testing_utils import (
    require_torch,
    torch_device,
)


if is_torch_available():
    import torch

    from transformers.cache_utils import Cache, EncoderDecoderCache, StaticCache
    from transformers.generation import GenerateBeamDecoderOnlyOutput, GenerateDecoderOnlyOutput


# Inputs of the model tester that generation tests must not receive: labels are for training, the cache switch is set
# by each test, and decoder inputs belong to encoder-decoder models.
INPUTS_NOT_FOR_GENERATE = ("labels", "use_cache", "decoder_input_ids", "decoder_attention_mask")
# Tolerances for scores computed along two different paths (with and without cache, batched and alone) in float32.
SCORE_TOLERANCE = {"rtol": 1e-4, "atol": 1e-5}
# Standard deviation the weight matrices are redrawn with. At the usual initializer range (0.02) a tiny model's logits
# are nearly uniform (about 1e-2 apart), so a broken cache or mask moves the scores by less than the tolerance and ties
# between tokens are likely; at 0.2 logits are a few units apart and such bugs move them visibly. The equivalences
# checked here hold for any weights.
WEIGHT_STD = 0.2


@require_torch
class GenerationTesterMixin:
    """Checks `generate` on every class of `all_generative_model_classes` (see the module docstring for the hooks)."""

    model_tester = None
    all_generative_model_classes = ()
    max_new_tokens = 3

    # -----------------------------------------------------------------------------------------------------------
    # Hooks and helpers
    # -----------------------------------------------------------------------------------------------------------

    def prepare_config_and_inputs_for_generate(self, batch_size=2):
        """
        The config and the keyword inputs of `generate` for the first `batch_size` rows of the model tester's common
        inputs. End-of-sequence is switched off so that every generation runs exactly `max_new_tokens` steps.
        """
        config, inputs_dict = self.model_tester.prepare_config_and_inputs_for_common()
        inputs = {
            key: value[:batch_size] if isinstance(value, torch.Tensor) and value.ndim > 0 else value
            for key, value in inputs_dict.items()
            if key not in INPUTS_NOT_FOR_GENERATE
        }
        for text_config in {id(c): c for c in (config, config.get_text_config())}.values():
            if getattr(text_config, "eos_token_id", None) is not None:
                text_config.eos_token_id = None
        return config, inputs

    def _generative_classes_and_inputs(self, batch_size=2):
        """The classes to test and the generation inputs, or a skip saying why there is nothing to test."""
        if not self.all_generative_model_classes:
            self.skipTest(reason=f"{self.__class__.__name__} has no generative model class")
        config, inputs = self.prepare_config_and_inputs_for_generate(batch_size=batch_size)
        if config.is_encoder_decoder:
            self.skipTest(
                reason="the project's generation stand-in covers decoder-only models; encoder-decoder generation "
                "needs upstream's tests/generation/test_utils.py"
            )
        if "input_ids" not in inputs:
            self.skipTest(reason="the model tester gives no `input_ids`, which these token-level checks start from")
        return self.all_generative_model_classes, config, inputs

    def _build_model(self, model_class, config, attn_implementation=None):
        set_seed(0)
        model = model_class(copy.deepcopy(config))
        if attn_implementation is not None:
            model.set_attn_implementation(attn_implementation)
        with torch.no_grad():
            for parameter in model.parameters():
                if parameter.ndim >= 2:
                    parameter.normal_(mean=0.0, std=WEIGHT_STD)
        return model.to(torch_device).eval()

    @staticmethod
    def _batch_size(inputs):
        return inputs["input_ids"].shape[0]

    def _rows(self, inputs, rows):
        """The inputs restricted to the batch rows `rows` (a slice); tensors without that batch size are kept."""
        batch_size = self._batch_size(inputs)
        return {
            key: value[rows]
            if isinstance(value, torch.Tensor) and value.ndim > 0 and value.shape[0] == batch_size
            else value
            for key, value in inputs.items()
        }

    def _repeat_rows(self, inputs, times):
        """Each batch row repeated `times` times in place (the layout of `num_return_sequences`)."""
        batch_size = self._batch_size(inputs)
        return {
            key: value.repeat_interleave(times, dim=0)
            if isinstance(value, torch.Tensor) and value.ndim > 0 and value.shape[0] == batch_size
            else value
            for key, value in inputs.items()
        }

    @staticmethod
    def _without_padding(inputs):
        """The inputs with an all-ones attention mask, so that positions are plain 0..n-1 on every path."""
        inputs = dict(inputs)
        inputs["attention_mask"] = torch.ones_like(inputs["input_ids"])
        return inputs

    @staticmethod
    def _extra_inputs(inputs):
        """Everything but the tokens and their mask (for instance `encoder_hidden_states`)."""
        return {key: value for key, value in inputs.items() if key not in ("input_ids", "attention_mask")}

    def _generate(self, model, inputs, **generate_kwargs):
        generate_kwargs.setdefault("do_sample", False)
        generate_kwargs.setdefault("num_beams", 1)
        return model.generate(**inputs, max_new_tokens=self.max_new_tokens, **generate_kwargs)

    def _assert_same_scores(self, scores, expected_scores, message):
        self.assertEqual(len(scores), len(expected_scores), message)
        for step, (score, expected) in enumerate(zip(scores, expected_scores)):
            torch.testing.assert_close(
                score, expected, **SCORE_TOLERANCE, msg=lambda m: f"{message}, step {step}: {m}"
            )

    def _check_generate_dict_outputs(self, output, config, prompt_length, batch_size, use_cache, num_beams=1):
        """Shapes documented for `GenerateDecoderOnlyOutput` / `GenerateBeamDecoderOnlyOutput` with every output on."""
        text_config = config.get_text_config()
        rows = batch_size * num_beams
        total_length = prompt_length + self.max_new_tokens
        self.assertEqual(output.sequences.shape, (batch_size, total_length))
        for name in ("scores", "logits"):
            steps = getattr(output, name)
            self.assertEqual(len(steps), self.max_new_tokens, f"one entry of `{name}` per generated token")
            for step in steps:
                self.assertEqual(step.shape, (rows, text_config.vocab_size), f"shape of each entry of `{name}`")
        self.assertEqual(len(output.attentions), self.max_new_tokens, "one entry of `attentions` per step")
        self.assertEqual(len(output.hidden_states), self.max_new_tokens, "one entry of `hidden_states` per step")
        for step in range(self.max_new_tokens):
            seen = prompt_length + step
            query_length = (prompt_length if step == 0 else 1) if use_cache else seen
            attentions, hidden_states = output.attentions[step], output.hidden_states[step]
            self.assertEqual(len(attentions), text_config.num_hidden_layers, "one attention map per layer")
            for layer_attention in attentions:
                self.assertEqual(
                    layer_attention.shape, (rows, text_config.num_attention_heads, query_length, seen), f"step {step}"
                )
            self.assertEqual(len(hidden_states), text_config.num_hidden_layers + 1, "embeddings plus one per layer")
            for layer_states in hidden_states:
                self.assertEqual(layer_states.shape, (rows, query_length, text_config.hidden_size), f"step {step}")
        if use_cache:
            self.assertIsInstance(output.past_key_values, Cache)
            # The last generated token is never fed back, so the cache holds one position less than the sequences.
            self.assertEqual(output.past_key_values.get_seq_length(), total_length - 1)
        else:
            self.assertIsNone(output.past_key_values)

    # -----------------------------------------------------------------------------------------------------------
    # Greedy decoding
    # -----------------------------------------------------------------------------------------------------------

    @pytest.mark.generate
    def test_greedy_generate(self):
        """Greedy decoding is deterministic and picks, at each step, the argmax of a full forward pass."""
        classes, config, inputs = self._generative_classes_and_inputs()
        inputs = self._without_padding(inputs)
        for model_class in classes:
            model = self._build_model(model_class, config)
            first = self._generate(model, inputs)
            second = self._generate(model, inputs)
            self.assertTrue(torch.equal(first, second), f"{model_class.__name__}: greedy decoding is not repeatable")

            tokens = inputs["input_ids"]
            with torch.no_grad():
                for _ in range(self.max_new_tokens):
                    logits = model(
                        input_ids=tokens,
                        attention_mask=torch.ones_like(tokens),
                        use_cache=False,
                        **self._extra_inputs(inputs),
                    ).logits
                    tokens = torch.cat([tokens, logits[:, -1].argmax(dim=-1, keepdim=True)], dim=-1)
            self.assertEqual(first.tolist(), tokens.tolist(), f"{model_class.__name__}: generate vs step-wise argmax")

    @pytest.mark.generate
    def test_greedy_generate_with_and_without_cache(self):
        """Reusing the key/value cache gives the tokens and scores of recomputing everything at each step."""
        classes, config, inputs = self._generative_classes_and_inputs()
        for model_class in classes:
            model = self._build_model(model_class, config)
            outputs = {
                use_cache: self._generate(
                    model, inputs, use_cache=use_cache, output_scores=True, return_dict_in_generate=True
                )
                for use_cache in (True, False)
            }
            self.assertEqual(outputs[True].sequences.tolist(), outputs[False].sequences.tolist(), model_class.__name__)
            self._assert_same_scores(outputs[True].scores, outputs[False].scores, f"{model_class.__name__} cache")

    @pytest.mark.generate
    def test_greedy_generate_dict_outputs(self):
        """`return_dict_in_generate` without a cache: scores, logits, attentions, hidden states have their shapes."""
        self._check_greedy_dict_outputs(use_cache=False)

    @pytest.mark.generate
    def test_greedy_generate_dict_outputs_use_cache(self):
        """`return_dict_in_generate` with a cache: attentions shrink to one query per step and the cache is kept."""
        self._check_greedy_dict_outputs(use_cache=True)

    def _check_greedy_dict_outputs(self, use_cache):
        classes, config, inputs = self._generative_classes_and_inputs()
        for model_class in classes:
            # Attention weights are only returned by the eager implementation.
            model = self._build_model(model_class, config, attn_implementation="eager")
            output = self._generate(
                model,
                inputs,
                use_cache=use_cache,
                return_dict_in_generate=True,
                output_scores=True,
                output_logits=True,
                output_attentions=True,
                output_hidden_states=True,
            )
            self.assertIsInstance(output, GenerateDecoderOnlyOutput)
            prompt_length = inputs["input_ids"].shape[1]
            self._check_generate_dict_outputs(output, config, prompt_length, self._batch_size(inputs), use_cache)
            self.assertEqual(output.sequences[:, :prompt_length].tolist(), inputs["input_ids"].tolist())
            # Greedy: each generated token is the argmax of the processed scores of its step.
            chosen = torch.stack([score.argmax(dim=-1) for score in output.scores], dim=-1)
            self.assertEqual(output.sequences[:, prompt_length:].tolist(), chosen.tolist(), model_class.__name__)

    # -----------------------------------------------------------------------------------------------------------
    # Padding, caches, embeddings
    # -----------------------------------------------------------------------------------------------------------

    @pytest.mark.generate
    def test_left_padding_compatibility(self):
        """A left-padded batch continues each row exactly as that row generated alone, without padding."""
        classes, config, inputs = self._generative_classes_and_inputs()
        inputs = self._without_padding(inputs)
        prompt_length = inputs["input_ids"].shape[1]
        if prompt_length < 3:
            self.skipTest(reason=f"prompts of {prompt_length} tokens are too short to pad one of them")
        pad_length = prompt_length // 2
        padded = dict(inputs)
        # Row 1 keeps only its last tokens; the tokens under the padding are deliberately arbitrary, since the mask
        # must hide them whatever they are.
        padded["attention_mask"] = inputs["attention_mask"].clone()
        padded["attention_mask"][1, :pad_length] = 0
        padded["input_ids"] = inputs["input_ids"].clone()
        padded["input_ids"][1, :pad_length] = inputs["input_ids"][0, :pad_length]
        alone = [self._rows(inputs, slice(0, 1)), self._without_padding(self._rows(inputs, slice(1, 2)))]
        alone[1]["input_ids"] = alone[1]["input_ids"][:, pad_length:]
        alone[1]["attention_mask"] = alone[1]["attention_mask"][:, pad_length:]
        for model_class in classes:
            model = self._build_model(model_class, config)
            batched = self._generate(model, padded, output_scores=True, return_dict_in_generate=True)
            for row, row_inputs in enumerate(alone):
                single = self._generate(model, row_inputs, output_scores=True, return_dict_in_generate=True)
                self.assertEqual(
                    batched.sequences[row, prompt_length:].tolist(),
                    single.sequences[0, -self.max_new_tokens :].tolist(),
                    f"{model_class.__name__}: row {row} of the left-padded batch",
                )
                self._assert_same_scores(
                    [score[row : row + 1] for score in batched.scores],
                    single.scores,
                    f"{model_class.__name__}: row {row} of the left-padded batch",
                )

    @pytest.mark.generate
    def test_generate_with_static_cache(self):
        """A static cache gives the tokens and scores of the default dynamic cache."""
        classes, config, inputs = self._generative_classes_and_inputs()
        for model_class in classes:
            model = self._build_model(model_class, config)
            dynamic = self._generate(model, inputs, output_scores=True, return_dict_in_generate=True)
            # Compilation is switched off: this compares the caches, not the compiler.
            static = self._generate(
                model,
                inputs,
                cache_implementation="static",
                disable_compile=True,
                output_scores=True,
                return_dict_in_generate=True,
            )
            cache = static.past_key_values
            if isinstance(cache, EncoderDecoderCache):
                cache = cache.self_attention_cache
            self.assertIsInstance(cache, StaticCache, f"{model_class.__name__} did not generate with a static cache")
            self.assertEqual(dynamic.sequences.tolist(), static.sequences.tolist(), model_class.__name__)
            self._assert_same_scores(static.scores, dynamic.scores, f"{model_class.__name__} static cache")

    @pytest.mark.generate
    def test_generate_from_inputs_embeds(self):
        """Generating from `inputs_embeds` continues the prompt exactly as generating from its `input_ids`."""
        classes, config, inputs = self._generative_classes_and_inputs()
        for model_class in classes:
            model = self._build_model(model_class, config)
            if "inputs_embeds" not in inspect.signature(model.forward).parameters:
                self.skipTest(reason=f"{model_class.__name__}.forward takes no `inputs_embeds`")
            from_ids = self._generate(model, inputs)
            embeds_inputs = dict(inputs)
            embeds_inputs["inputs_embeds"] = model.get_input_embeddings()(embeds_inputs.pop("input_ids"))
            from_embeds = self._generate(model, embeds_inputs)
            # Only the new tokens come back when the prompt was given as embeddings.
            prompt_length = inputs["input_ids"].shape[1]
            self.assertEqual(from_embeds.tolist(), from_ids[:, prompt_length:].tolist(), model_class.__name__)
            from_both = self._generate(model, {**inputs, "inputs_embeds": embeds_inputs["inputs_embeds"]})
            self.assertEqual(from_both.tolist(), from_ids.tolist(), f"{model_class.__name__}: ids with embeddings")

    # -----------------------------------------------------------------------------------------------------------
    # Sampling, beam search, assisted decoding
    # -----------------------------------------------------------------------------------------------------------

    @pytest.mark.generate
    def test_sample_generate(self):
        """Sampling with a fixed seed is reproducible, and sampling among the top-1 token is greedy decoding."""
        classes, config, inputs = self._generative_classes_and_inputs()
        for model_class in classes:
            model = self._build_model(model_class, config)
            samples = []
            for _ in range(2):
                torch.manual_seed(0)
                samples.append(self._generate(model, inputs, do_sample=True, top_k=0, num_return_sequences=2))
            self.assertEqual(samples[0].tolist(), samples[1].tolist(), f"{model_class.__name__}: same seed")
            batch_size, prompt_length = inputs["input_ids"].shape
            self.assertEqual(samples[0].shape, (batch_size * 2, prompt_length + self.max_new_tokens))
            self.assertTrue(
                torch.equal(samples[0][:, :prompt_length], inputs["input_ids"].repeat_interleave(2, dim=0)),
                "each prompt is repeated once per returned sequence",
            )
            self.assertTrue(bool(((samples[0] >= 0) & (samples[0] < config.get_text_config().vocab_size)).all()))
            greedy = self._generate(model, inputs)
            top_one = self._generate(model, inputs, do_sample=True, top_k=1)
            self.assertEqual(top_one.tolist(), greedy.tolist(), f"{model_class.__name__}: top-1 sampling vs greedy")

    @pytest.mark.generate
    def test_beam_search_generate(self):
        """Beam search returns its best hypotheses first, each scored by the log-probability of its new tokens."""
        classes, config, inputs = self._generative_classes_and_inputs()
        inputs = self._without_padding(inputs)
        num_beams, num_return_sequences = 3, 2
        batch_size, prompt_length = inputs["input_ids"].shape
        for model_class in classes:
            model = self._build_model(model_class, config)
            output = self._generate(
                model,
                inputs,
                num_beams=num_beams,
                num_return_sequences=num_return_sequences,
                # No length normalisation: a hypothesis' score is then the plain sum of its tokens' log-probabilities.
                length_penalty=0.0,
                output_scores=True,
                return_dict_in_generate=True,
            )
            name = model_class.__name__
            self.assertIsInstance(output, GenerateBeamDecoderOnlyOutput)
            rows = batch_size * num_return_sequences
            self.assertEqual(output.sequences.shape, (rows, prompt_length + self.max_new_tokens), name)
            self.assertEqual(output.sequences_scores.shape, (rows,), name)
            self.assertEqual(output.beam_indices.shape[0], rows, name)
            used_indices = output.beam_indices[output.beam_indices >= 0]
            self.assertTrue(bool((used_indices < batch_size * num_beams).all()), f"{name}: beam index out of range")
            self.assertEqual(len(output.scores), self.max_new_tokens, name)
            for score in output.scores:
                self.assertEqual(score.shape, (batch_size * num_beams, config.get_text_config().vocab_size), name)
            self.assertTrue(bool(torch.isfinite(output.sequences_scores).all()), name)
            self.assertTrue(
                torch.equal(
                    output.sequences[:, :prompt_length], inputs["input_ids"].repeat_interleave(num_return_sequences, 0)
                ),
                f"{name}: hypotheses must extend their own prompt",
            )
            per_prompt = output.sequences_scores.view(batch_size, num_return_sequences)
            self.assertTrue(bool((per_prompt[:, :-1] >= per_prompt[:, 1:]).all()), f"{name}: best hypothesis first")

            # Score each returned sequence again with one forward pass.
            extra = self._extra_inputs(self._repeat_rows(inputs, num_return_sequences))
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

    @pytest.mark.generate
    def test_assisted_decoding_matches_greedy_search(self):
        """Assisted decoding with the model as its own assistant gives greedy decoding's tokens and scores."""
        classes, config, inputs = self._generative_classes_and_inputs(batch_size=1)
        for model_class in classes:
            model = self._build_model(model_class, config)
            # Draft two tokens per round so that candidates are both proposed and verified within a short generation.
            model.generation_config.num_assistant_tokens = 2
            model.generation_config.num_assistant_tokens_schedule = "constant"
            greedy = self._generate(model, inputs, output_scores=True, return_dict_in_generate=True)
            assisted = self._generate(
                model, inputs, assistant_model=model, output_scores=True, return_dict_in_generate=True
            )
            self.assertEqual(assisted.sequences.tolist(), greedy.sequences.tolist(), model_class.__name__)
            self._assert_same_scores(assisted.scores, greedy.scores, f"{model_class.__name__} assisted")

    # -----------------------------------------------------------------------------------------------------------
    # Cross-attention inputs
    # -----------------------------------------------------------------------------------------------------------

    @pytest.mark.generate
    def test_generate_with_cross_attention_inputs(self):
        """
        `encoder_hidden_states` given to `generate` reach every step: they change the scores, positions hidden by
        `encoder_attention_mask` do not, and the cached decoding gives the tokens and scores of recomputing
        everything at each step, greedy and with beams.
        """
        classes, config, inputs = self._generative_classes_and_inputs()
        if inputs.get("encoder_hidden_states") is None:
            self.skipTest(
                reason="the model tester passes no `encoder_hidden_states` to generate (override "
                "`prepare_config_and_inputs_for_generate` to add them for a decoder with cross-attention)"
            )
        other_states = dict(inputs)
        other_states["encoder_hidden_states"] = torch.flip(inputs["encoder_hidden_states"], dims=[1]) * -1.0
        # Encoder positions hidden by `encoder_attention_mask`, when there are any, must not matter.
        hidden = None
        encoder_mask = inputs.get("encoder_attention_mask")
        if encoder_mask is not None and bool((encoder_mask == 0).any()):
            hidden = dict(inputs)
            hidden["encoder_hidden_states"] = inputs["encoder_hidden_states"].masked_fill(
                (encoder_mask == 0).unsqueeze(-1), 1e4
            )
        for model_class in classes:
            model = self._build_model(model_class, config)
            name = model_class.__name__
            cached = self._generate(model, inputs, output_scores=True, return_dict_in_generate=True)
            uncached = self._generate(model, inputs, use_cache=False, output_scores=True, return_dict_in_generate=True)
            self.assertEqual(cached.sequences.tolist(), uncached.sequences.tolist(), name)
            self._assert_same_scores(cached.scores, uncached.scores, f"{name} with encoder states")

            changed = self._generate(model, other_states, output_scores=True, return_dict_in_generate=True)
            self.assertFalse(
                torch.allclose(changed.scores[0], cached.scores[0]),
                f"{name}: the first step's scores do not depend on `encoder_hidden_states`",
            )
            if hidden is not None:
                masked_changed = self._generate(model, hidden, output_scores=True, return_dict_in_generate=True)
                self.assertEqual(masked_changed.sequences.tolist(), cached.sequences.tolist(), name)
                self._assert_same_scores(
                    masked_changed.scores, cached.scores, f"{name}: encoder states under `encoder_attention_mask`"
                )

            beams = {
                use_cache: self._generate(
                    model,
                    inputs,
                    num_beams=2,
                    use_cache=use_cache,
                    output_scores=True,
                    return_dict_in_generate=True,
                )
                for use_cache in (True, False)
            }
            self.assertEqual(beams[True].sequences.tolist(), beams[False].sequences.tolist(), f"{name} beams")
            torch.testing.assert_close(beams[True].sequences_scores, beams[False].sequences_scores, **SCORE_TOLERANCE)
