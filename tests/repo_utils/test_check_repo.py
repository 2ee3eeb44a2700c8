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
Tests of `utils/check_repo.py` on a copy of Arlow's contribution broken in one way each: the copy passes, and each
mistake fails the check (as it fails `make check-repo`) with a message naming it.
"""

import re

import check_repo
import integrated_tree
from conftest import run_check


NEW_HEAD = "\n\nclass ArlowForRanking(ArlowPreTrainedModel):\n    pass\n"


def problems(arlow):
    result = run_check("check_repo", *arlow.args)
    assert result.returncode == (1 if result.stderr else 0), result.stderr
    return result.stderr


def test_copy_of_the_contribution_passes(arlow):
    assert problems(arlow) == ""


def test_new_head_untested_unregistered_undocumented_is_reported(arlow):
    modeling = arlow.model_dir / "modeling_arlow.py"
    arlow.edit(modeling, "__all__ = [", '__all__ = [\n    "ArlowForRanking",')
    modeling.write_text(modeling.read_text(encoding="utf-8") + NEW_HEAD, encoding="utf-8")
    found = problems(arlow)
    assert "ArlowForRanking is not tested: add it to `all_model_classes`" in found
    assert "ArlowForRanking is in no Auto mapping: add its entry to REGISTRY_ENTRIES" in found
    assert "arlowgpt.md: ArlowForRanking (exported by" in found and "has no `[[autodoc]] ArlowForRanking`" in found


def test_public_class_without_its_autodoc_block_is_reported(arlow):
    text = arlow.page.read_text(encoding="utf-8")
    arlow.page.write_text(re.sub(r"\[\[autodoc\]\] ArlowForCausalLM\n(\s+- \w+\n)*", "", text), encoding="utf-8")
    assert "has no `[[autodoc]] ArlowForCausalLM` block" in problems(arlow)


def test_registry_entry_naming_the_wrong_class_is_reported(arlow, monkeypatch):
    entries = [
        e
        if e.mapping != "MODEL_MAPPING_NAMES"
        else integrated_tree.RegistryEntry(e.file, e.mapping, e.key, e.line.replace("ArlowModel", "ArlowConfig"))
        for e in integrated_tree.REGISTRY_ENTRIES
    ]
    monkeypatch.setattr(integrated_tree, "REGISTRY_ENTRIES", entries)
    found = check_repo.unregistered(arlow.model_dir)
    assert any("names ArlowConfig, a config class, not a model" in p for p in found)
    assert any("ArlowModel is in no Auto mapping" in p for p in found)


def test_page_named_after_the_folder_and_missing_from_the_toctree_is_reported(arlow):
    arlow.page.rename(arlow.page.with_name("arlow.md"))
    result = run_check("check_repo", *arlow.args[:4], "--page", arlow.page.with_name("arlow.md"))
    assert "arlow.md: arlow is not a proper model identifier: name the page arlowgpt.md" in result.stderr
    assert "no entry for model_doc/arlow under API > Models > Text models" in result.stderr


def test_stale_init_imports_are_reported_then_fixed(arlow):
    init = arlow.model_dir / "__init__.py"
    original = init.read_text(encoding="utf-8")
    arlow.edit(init, "    from .tokenization_arlow import *\n", "")
    assert "the TYPE_CHECKING imports should be" in problems(arlow)
    assert run_check("check_repo", *arlow.args, "--fix_and_overwrite").returncode == 0
    assert init.read_text(encoding="utf-8") == original


def test_config_field_the_model_never_reads_is_reported(arlow):
    config = arlow.model_dir / "configuration_arlow.py"
    text = config.read_text(encoding="utf-8")
    config.write_text(
        re.sub(r"(\n    \w+: [^\n]+ = [^\n]+\n)", r"\1    unused_width: int = 3\n", text, count=1), "utf-8"
    )
    assert "ArlowConfig.unused_width is not used in" in problems(arlow)


def test_config_branch_without_codepath_note_is_reported_where_mlinter_0_1_5_is_silent(arlow):
    modular = arlow.model_dir / "modular_arlow.py"
    start = len(modular.read_text(encoding="utf-8").splitlines())
    body = (
        "\n\ndef build(config, states):\n"
        "    if config.extra_block:\n        return 1\n"  # a fork
        "    # CODEPATH: arlow-large only.\n    if config.other_block:\n        return 2\n"  # noted
        "    if states.shape[-1] != config.hidden_size:\n        raise ValueError('width')\n"  # a guard (0.1.5 exempts)
        "    if config.use_cache:\n        return 3\n"  # a plumbing field (0.1.5 exempts)
        "    return 4 if config.wide else 0\n"
    )
    modular.write_text(modular.read_text(encoding="utf-8") + body, encoding="utf-8")
    flagged = [int(n) - start for n in re.findall(r"modular_arlow\.py:(\d+): TRF041", problems(arlow))]
    assert flagged == [4, 9, 11, 13]


def test_flash_attn_import_inside_a_function_is_reported(arlow):
    modeling = arlow.model_dir / "modeling_arlow.py"
    modeling.write_text(modeling.read_text(encoding="utf-8") + "\n\ndef f():\n    from flash_attn import x\n", "utf-8")
    assert "imports flash-attn" in problems(arlow)
