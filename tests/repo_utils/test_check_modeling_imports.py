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
"""Tests of `utils/check_modeling_imports.py`: no imports from other models' folders, never flash_attn."""

from conftest import run_check


def test_toy_model_passes(toy):
    result = run_check("check_modeling_imports", "--model_dir", toy.model_dir)
    assert result.returncode == 0, result.stderr


def test_import_from_another_model_is_reported(toy):
    toy.edit(
        toy.model_dir / "modeling_toy.py",
        "from ...modeling_utils import PreTrainedModel\n",
        "from ...modeling_utils import PreTrainedModel\nfrom ..llama.modeling_llama import LlamaMLP\n",
    )
    result = run_check("check_modeling_imports", "--model_dir", toy.model_dir)
    assert result.returncode == 1
    assert "modeling_toy.py:5" in result.stderr and "another model's folder (`models/llama`)" in result.stderr


def test_flash_attn_import_inside_a_function_is_reported(toy):
    toy.edit(
        toy.model_dir / "modeling_toy.py",
        "    def forward(self, input_ids):\n",
        "    def forward(self, input_ids):\n        from flash_attn import flash_attn_func\n",
    )
    result = run_check("check_modeling_imports", "--model_dir", toy.model_dir)
    assert result.returncode == 1
    assert "modeling_toy.py" in result.stderr and "imports `flash_attn`" in result.stderr


def test_no_fix_mode_says_so_and_still_checks(toy):
    toy.edit(toy.model_dir / "modeling_toy.py", "from ...modeling_utils", "import flash_attn\nfrom ...modeling_utils")
    result = run_check("check_modeling_imports", "--model_dir", toy.model_dir, "--fix_and_overwrite")
    assert result.returncode == 1
    assert "no fix mode" in result.stdout
