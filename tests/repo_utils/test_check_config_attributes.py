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
"""Tests of `utils/check_config_attributes.py`: every config field read by the modeling code."""

from conftest import run_check


def test_toy_config_passes(toy):
    # `cross_attention` is read through its `attribute_map` alias, `pad_token_id` is a generic exception
    result = run_check("check_config_attributes", "--model_dir", toy.model_dir)
    assert result.returncode == 0, result.stderr


def test_unused_field_is_reported(toy):
    toy.edit(
        toy.model_dir / "configuration_toy.py",
        "    hidden_size: int = 8\n",
        "    hidden_size: int = 8\n    unused_width: int = 3\n",
    )
    result = run_check("check_config_attributes", "--model_dir", toy.model_dir)
    assert result.returncode == 1
    assert "configuration_toy.py: ToyConfig.unused_width is not used in" in result.stderr


def test_field_read_by_nobody_under_either_name_is_reported(toy):
    toy.edit(toy.model_dir / "modeling_toy.py", "config.add_cross_attention", "None")
    result = run_check("check_config_attributes", "--model_dir", toy.model_dir)
    assert result.returncode == 1
    assert "ToyConfig.cross_attention is not used" in result.stderr
