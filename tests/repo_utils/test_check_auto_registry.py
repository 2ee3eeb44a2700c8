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
"""Tests of `utils/check_auto_registry.py`: the Auto registry entries of the integrated tree."""

import shutil
import sys
from pathlib import Path

import pytest
from conftest import REPO_ROOT, run_check


TREE = REPO_ROOT / "build" / "integrated"
sys.path.insert(0, str(REPO_ROOT / "utils"))
from integrated_tree import REGISTRY_ENTRIES  # noqa: E402


REGISTRY_FILES = sorted({entry.file for entry in REGISTRY_ENTRIES})
MODELING_AUTO = "src/transformers/models/auto/modeling_auto.py"
MODEL_DIR = REPO_ROOT / "src" / "transformers" / "models" / "arlow"
CAUSAL_LM_LINE = '        ("arlowgpt", "ArlowForCausalLM"),\n'


@pytest.fixture
def registry_tree(tmp_path) -> Path:
    """A copy of the integrated tree's registry files and of their pristine versions."""
    if not (TREE / ".pristine").is_dir():
        pytest.fail(f"{TREE} is not built; run `make setup` (or `python utils/integrated_tree.py build`)")
    for file in REGISTRY_FILES:
        for prefix in ("", ".pristine/"):
            target = tmp_path / prefix / file
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(TREE / prefix / file, target)
    return tmp_path


def check(tree: Path, *extra: str):
    return run_check("check_auto_registry", "--tree", tree, "--model_dir", MODEL_DIR, *extra)


def test_integrated_registry_passes(registry_tree):
    result = check(registry_tree)
    assert result.returncode == 0, result.stderr


def test_missing_entry_is_reported_and_fixed(registry_tree):
    modeling_auto = registry_tree / MODELING_AUTO
    modeling_auto.write_text(modeling_auto.read_text(encoding="utf-8").replace(CAUSAL_LM_LINE, ""), encoding="utf-8")
    result = check(registry_tree)
    assert result.returncode == 1
    assert "modeling_auto.py: MODEL_FOR_CAUSAL_LM_MAPPING_NAMES has 0 entries for 'arlowgpt'" in result.stderr
    fixed = check(registry_tree, "--fix_and_overwrite")
    assert fixed.returncode == 0, fixed.stderr
    assert CAUSAL_LM_LINE in modeling_auto.read_text(encoding="utf-8")


def test_entry_out_of_order_is_reported(registry_tree):
    modeling_auto = registry_tree / MODELING_AUTO
    text = modeling_auto.read_text(encoding="utf-8").replace(CAUSAL_LM_LINE, "")
    marker = "MODEL_FOR_CAUSAL_LM_MAPPING_NAMES = OrderedDict(\n    [\n"
    text = text.replace(marker, marker + '        ("zzz", "ZzzForCausalLM"),\n' + CAUSAL_LM_LINE)
    modeling_auto.write_text(text, encoding="utf-8")
    result = check(registry_tree)
    assert result.returncode == 1
    assert "entry 'arlowgpt' is out of alphabetical order" in result.stderr


def test_entry_naming_a_class_that_does_not_exist_or_has_the_wrong_kind(registry_tree):
    modeling_auto = registry_tree / MODELING_AUTO
    text = modeling_auto.read_text(encoding="utf-8")
    text = text.replace(CAUSAL_LM_LINE, '        ("arlowgpt", "ArlowForCausalLMX"),\n')
    text = text.replace('("arlowgpt", "ArlowModel")', '("arlowgpt", "ArlowConfig")')
    modeling_auto.write_text(text, encoding="utf-8")
    result = check(registry_tree)
    assert result.returncode == 1
    assert "names ArlowForCausalLMX, which no module of" in result.stderr
    assert "names ArlowConfig, a config class where a model class belongs" in result.stderr
    assert "ArlowForCausalLM is in no MODEL_*_MAPPING_NAMES" in result.stderr
