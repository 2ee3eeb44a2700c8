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
The upstream test each stand-in test mirrors: `stand-in file::Class::test` -> `upstream file::Class::test`.

A stand-in test asserts what the upstream test of the same name asserts, the same way, and may add a stricter check
that its docstring names. `tests/repo_utils/test_common_test_sources.py` checks that every test of every stand-in is
listed here and, with `TRANSFORMERS_UPSTREAM_CHECKOUT` set, that every mirrored test exists in that checkout.
"""


def _same_test(standin_file, upstream_file, class_name, tests):
    return {f"{standin_file}::{class_name}::{test}": f"{upstream_file}::{class_name}::{test}" for test in tests}


UPSTREAM_MIRRORS = {
    **_same_test(
        "tests/standins/generation/test_utils.py",
        "tests/generation/test_utils.py",
        "GenerationTesterMixin",
        [
            "test_greedy_generate",
            "test_greedy_generate_dict_outputs",
            "test_greedy_generate_dict_outputs_use_cache",
            "test_sample_generate",
            "test_sample_generate_dict_output",
            "test_beam_search_generate",
            "test_beam_search_generate_dict_output",
            "test_beam_search_generate_dict_outputs_use_cache",
            "test_assisted_decoding_matches_greedy_search",
            "test_left_padding_compatibility",
            "test_generate_continue_from_past_key_values",
            "test_generate_from_inputs_embeds",
            "test_generate_from_inputs_embeds_with_static_cache",
            "test_generate_with_static_cache",
            "test_generate_compile_model_forward_fullgraph",
            "test_past_key_values_format",
            "test_generate_without_input_ids",
            "test_inherits_generation_mixin",
            "test_generate_with_and_without_position_ids",
            "test_forward_with_logits_to_keep",
            "test_generate_methods_with_logits_to_keep",
            "test_generate_continue_from_inputs_embeds",
            "test_generate_from_random_inputs_embeds",
            "test_beam_sample_generate",
            "test_beam_sample_generate_dict_output",
            "test_assisted_decoding_sample",
            "test_prompt_lookup_decoding_matches_greedy_search",
            "test_prompt_lookup_decoding_stops_at_eos",
            "test_custom_4d_attention_mask",
            "test_eager_padding_matches_padding_free_with_position_ids",
            "test_sdpa_padding_matches_padding_free_with_position_ids",
            "test_prepare_inputs_for_generation_kwargs_forwards",
        ],
    ),
    **_same_test(
        "tests/standins/exporters/test_export.py",
        "tests/exporters/test_export.py",
        "ExportTesterMixin",
        ["test_torch_export"],
    ),
    **_same_test(
        "tests/standins/causal_lm_tester.py",
        "tests/causal_lm_tester.py",
        "CausalLMModelTest",
        [
            "test_config",
            "test_model",
            "test_sequence_classification_model",
            "test_sequence_classification_model_for_single_label",
            "test_sequence_classification_model_for_multi_label",
            "test_token_classification_model",
            "test_question_answering_model",
            "test_flash_attn_2_equivalence",
            "test_causal_lm_can_accept_training_kwargs",
        ],
    ),
}
