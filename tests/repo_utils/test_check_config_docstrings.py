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
"""Tests of `utils/check_config_docstrings.py`: the configuration names a checkpoint."""

from conftest import run_check


def test_checkpoint_from_auto_docstring_passes(toy):
    result = run_check("check_config_docstrings", "--model_dir", toy.model_dir)
    assert result.returncode == 0, result.stderr


def test_checkpoint_link_in_docstring_passes(toy):
    path = toy.model_dir / "configuration_toy.py"
    toy.edit(path, '@auto_docstring(checkpoint="toy-org/toy-base")\n', "")
    toy.edit(path, '    r"""\n', '    r"""\n    Like [toy-org/toy-base](https://huggingface.co/toy-org/toy-base).\n')
    result = run_check("check_config_docstrings", "--model_dir", toy.model_dir)
    assert result.returncode == 0, result.stderr


def test_config_without_checkpoint_is_reported(toy):
    toy.edit(
        toy.model_dir / "configuration_toy.py", '@auto_docstring(checkpoint="toy-org/toy-base")', "@auto_docstring"
    )
    result = run_check("check_config_docstrings", "--model_dir", toy.model_dir)
    assert result.returncode == 1
    assert "configuration_toy.py: ToyConfig names no checkpoint" in result.stderr


def test_link_whose_text_and_address_disagree_is_not_a_checkpoint(toy):
    path = toy.model_dir / "configuration_toy.py"
    toy.edit(path, '@auto_docstring(checkpoint="toy-org/toy-base")\n', "")
    toy.edit(path, '    r"""\n', '    r"""\n    Like [toy-org/toy-base](https://huggingface.co/someone/else).\n')
    result = run_check("check_config_docstrings", "--model_dir", toy.model_dir)
    assert result.returncode == 1
    assert "ToyConfig names no checkpoint" in result.stderr
