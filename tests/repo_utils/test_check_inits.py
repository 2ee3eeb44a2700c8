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
"""Tests of `utils/check_inits.py`: the model `__init__.py` in upstream's generated form."""

from conftest import run_check


def test_fix_generates_upstream_form_and_check_then_passes(toy):
    assert run_check("check_inits", "--model_dir", toy.model_dir).returncode == 1
    fixed = run_check("check_inits", "--model_dir", toy.model_dir, "--fix_and_overwrite")
    assert fixed.returncode == 0, fixed.stderr
    text = (toy.model_dir / "__init__.py").read_text(encoding="utf-8")
    assert "generated from the modules in `src/transformers/models/toy`" in text
    assert text.index("from .configuration_toy import *") < text.index("from .tokenization_toy import *")
    assert "# Copyright 2026 The Toy Authors" in text
    assert run_check("check_inits", "--model_dir", toy.model_dir).returncode == 0


def test_a_module_missing_from_the_init_is_reported(toy):
    run_check("check_inits", "--model_dir", toy.model_dir, "--fix_and_overwrite")
    toy.edit(toy.model_dir / "__init__.py", "    from .tokenization_toy import *\n", "")
    result = run_check("check_inits", "--model_dir", toy.model_dir)
    assert result.returncode == 1
    assert "toy/__init__.py" in result.stderr and "missing `from .tokenization_toy import *`" in result.stderr


def test_an_export_the_module_does_not_define_is_reported(toy):
    toy.edit(toy.model_dir / "modeling_toy.py", '"ToyForCausalLM",', '"ToyForCausalLM", "ToyGhost",')
    result = run_check("check_inits", "--model_dir", toy.model_dir)
    assert result.returncode == 1
    assert "modeling_toy.py" in result.stderr and "'ToyGhost', which the module does not define" in result.stderr
