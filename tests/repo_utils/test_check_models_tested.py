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
"""Tests of `utils/check_models_tested.py`: every model class in the tests' `all_model_classes`."""

from conftest import run_check


def test_toy_tests_pass(toy):
    result = run_check("check_models_tested", "--model_dir", toy.model_dir, "--test_dir", toy.test_dir)
    assert result.returncode == 0, result.stderr


def test_untested_model_class_is_reported(toy):
    toy.edit(toy.test_dir / "test_modeling_toy.py", "(ToyModel, ToyForCausalLM)", "(ToyModel,)")
    result = run_check("check_models_tested", "--model_dir", toy.model_dir, "--test_dir", toy.test_dir)
    assert result.returncode == 1
    assert "modeling_toy.py: ToyForCausalLM is not tested" in result.stderr and "test_modeling_toy.py" in result.stderr


def test_missing_test_file_is_reported(toy):
    (toy.test_dir / "test_modeling_toy.py").unlink()
    result = run_check("check_models_tested", "--model_dir", toy.model_dir, "--test_dir", toy.test_dir)
    assert result.returncode == 1
    assert "modeling_toy.py has no test file" in result.stderr


def test_causal_lm_tester_attributes_count_as_tested(toy):
    (toy.test_dir / "test_modeling_toy.py").write_text(
        "class ToyModelTester(CausalLMModelTester):\n    base_model_class = ToyModel\n"
        "    causal_lm_class = ToyForCausalLM\n",
        encoding="utf-8",
    )
    result = run_check("check_models_tested", "--model_dir", toy.model_dir, "--test_dir", toy.test_dir)
    assert result.returncode == 0, result.stderr


def test_heads_a_causal_lm_tester_leaves_unset_are_inferred_as_upstream_does(toy):
    toy.edit(
        toy.model_dir / "modeling_toy.py",
        '__all__ = ["ToyModel", "ToyForCausalLM", "ToyPreTrainedModel"]',
        "class ToyForSequenceClassification(ToyPreTrainedModel):\n    pass\n\n\n"
        "class ToyForRanking(ToyPreTrainedModel):\n    pass\n\n\n"
        '__all__ = ["ToyModel", "ToyForCausalLM", "ToyForSequenceClassification", "ToyForRanking", '
        '"ToyPreTrainedModel"]',
    )
    (toy.test_dir / "test_modeling_toy.py").write_text(
        "class ToyModelTester(CausalLMModelTester):\n    if is_torch_available():\n"
        "        base_model_class = ToyModel\n",
        encoding="utf-8",
    )
    result = run_check("check_models_tested", "--model_dir", toy.model_dir, "--test_dir", toy.test_dir)
    assert result.returncode == 1
    # ToyForCausalLM and ToyForSequenceClassification are inferred from ToyModel; a head outside the tester's
    # list is not
    assert "ToyForRanking is not tested" in result.stderr
    assert "ToyForCausalLM" not in result.stderr and "ToyForSequenceClassification" not in result.stderr


def test_a_head_set_to_none_is_not_inferred(toy):
    (toy.test_dir / "test_modeling_toy.py").write_text(
        "class ToyModelTester(CausalLMModelTester):\n    base_model_class = ToyModel\n    causal_lm_class = None\n",
        encoding="utf-8",
    )
    result = run_check("check_models_tested", "--model_dir", toy.model_dir, "--test_dir", toy.test_dir)
    assert result.returncode == 1
    assert "ToyForCausalLM is not tested" in result.stderr
