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
"""Tests of `utils/check_docs_coverage.py`: every public object documented, every documented object real."""

from conftest import run_check


def test_toy_page_passes(toy):
    result = run_check("check_docs_coverage", "--page", toy.page, "--model_dir", toy.model_dir)
    assert result.returncode == 0, result.stderr


def test_undocumented_export_is_reported(toy):
    toy.edit(toy.page, "[[autodoc]] ToyForCausalLM\n    - forward\n", "")
    result = run_check("check_docs_coverage", "--page", toy.page, "--model_dir", toy.model_dir)
    assert result.returncode == 1
    assert (
        "toy.md: ToyForCausalLM (exported by" in result.stderr
        and "has no `[[autodoc]] ToyForCausalLM` block" in result.stderr
    )


def test_documented_object_that_does_not_exist_is_reported(toy):
    toy.edit(
        toy.page,
        "[[autodoc]] ToyConfig\n",
        "[[autodoc]] ToyConfig\n\n[[autodoc]] ToyGhost\n\n[[autodoc]] models.toy.modeling_toy.ToyNorm\n",
    )
    result = run_check("check_docs_coverage", "--page", toy.page, "--model_dir", toy.model_dir)
    assert result.returncode == 1
    assert "`[[autodoc]] ToyGhost` names no object" in result.stderr
    assert "modeling_toy.py defines no top-level ToyNorm" in result.stderr


def test_documented_method_the_class_lacks_is_reported(toy):
    toy.edit(toy.page, "[[autodoc]] ToyModel\n    - forward\n", "[[autodoc]] ToyModel\n    - forward\n    - fly\n")
    result = run_check("check_docs_coverage", "--page", toy.page, "--model_dir", toy.model_dir)
    assert result.returncode == 1
    assert "ToyModel has no method `fly`" in result.stderr


def give_toy_model_type(toy, model_type):
    """The toy config declares `model_type` (folder `toy`), as Arlow's declares `arlowgpt` (folder `arlow`)."""
    toy.edit(toy.model_dir / "configuration_toy.py", 'model_type = "toy"', f'model_type = "{model_type}"')


def test_page_named_after_the_folder_instead_of_the_model_type_is_reported(toy):
    give_toy_model_type(toy, "toygpt")
    result = run_check("check_docs_coverage", "--page", toy.page, "--model_dir", toy.model_dir)
    assert result.returncode == 1
    assert "toy.md: toy is not a proper model identifier. Did you mean toygpt?" in result.stderr
    assert "must be named after the model type" in result.stderr and "toygpt.md" in result.stderr


def test_page_named_after_the_model_type_passes(toy):
    give_toy_model_type(toy, "toygpt")
    renamed = toy.page.with_name("toygpt.md")
    toy.page.rename(renamed)
    result = run_check("check_docs_coverage", "--page", renamed, "--model_dir", toy.model_dir)
    assert result.returncode == 0, result.stderr


def test_page_named_after_neither_is_reported(toy):
    renamed = toy.page.with_name("other.md")
    toy.page.rename(renamed)
    result = run_check("check_docs_coverage", "--page", renamed, "--model_dir", toy.model_dir)
    assert result.returncode == 1
    assert "other.md: other is not a proper model identifier. The page must be named" in result.stderr
