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
Tests of `make upstream-patch` (`utils/integrated_tree.py patch`): the patch holds the contribution and its registry
edits and nothing of the project's tooling, applies with `git apply` to a git-initialised copy of the pristine sdist,
and the patched tree imports Arlow through `from transformers import ...` and the Auto classes. With an upstream
checkout's toctree, the patch also inserts the toctree entry at its sorted place.
"""

import re
import sys

import integrated_tree
import pytest
from conftest import REPO_ROOT, commit_all, git, run, run_util, write
from integrated_tree import REGISTRY_ENTRIES, TOCTREE, insert_toctree_entry


CONTRIBUTION = ["src/transformers/models/arlow", "tests/models/arlow", "docs/source/en/model_doc/arlowgpt.md"]
REGISTRY_FILES = sorted({entry.file for entry in REGISTRY_ENTRIES})
UPSTREAM_TOCTREE = """- title: API
  sections:
  - local: main_classes/model
    title: Models
  - title: Models
    isExpanded: false
    sections:
    - title: Text models
      sections:
      - local: model_doc/apertus
        title: Apertus
      - local: model_doc/bamba
        title: Bamba
    - title: Vision models
      sections:
      - local: model_doc/beit
        title: BEiT
"""
IMPORTS_ARLOW = """
import transformers
from transformers import ArlowConfig, ArlowForCausalLM, ArlowTokenizer, AutoConfig, AutoModelForCausalLM
from transformers.models.auto.tokenization_auto import TOKENIZER_MAPPING_NAMES

assert transformers.__file__.startswith(sys.argv[1]), transformers.__file__
config = AutoConfig.for_model("arlowgpt", vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                              num_attention_heads=2, num_key_value_heads=1, cross_attention=False)
assert type(config) is ArlowConfig and type(AutoModelForCausalLM.from_config(config)) is ArlowForCausalLM
assert TOKENIZER_MAPPING_NAMES["arlowgpt"] == ArlowTokenizer.__name__
"""


def write_patch(output, checkout=None):
    env = {integrated_tree.UPSTREAM_CHECKOUT_ENV: str(checkout)} if checkout else None
    result = run_util("integrated_tree", "patch", "--output", output, env=env)
    assert result.returncode == 0, result.stderr
    return output.read_text(encoding="utf-8")


def applied_to_the_pristine_sdist(patch, tmp_path, toctree=None):
    """A git repository of the pristine sdist (with an upstream toctree when given), the patch applied."""
    root = integrated_tree.extract_pristine(tmp_path)
    if toctree is not None:
        write(root / TOCTREE, toctree)
    commit_all(root)
    write(tmp_path / "arlow.patch", patch)
    git(root, "apply", "--check", str(tmp_path / "arlow.patch"))
    git(root, "apply", str(tmp_path / "arlow.patch"))
    return root


@pytest.fixture(scope="module")
def patch(tmp_path_factory):
    return write_patch(tmp_path_factory.mktemp("patch") / "arlow-upstream.patch")


def test_patch_holds_the_contribution_and_registry_edits_only(patch):
    contribution = [p for path in CONTRIBUTION for p in [REPO_ROOT / path, *(REPO_ROOT / path).rglob("*")]]
    expected = [str(p.relative_to(REPO_ROOT)) for p in contribution if p.is_file() and "__pycache__" not in p.parts]
    assert sorted(re.findall(r"^diff --git a/(\S+) b/", patch, flags=re.MULTILINE)) == sorted(
        expected + REGISTRY_FILES
    )
    for file in REGISTRY_FILES:  # each registry file gains exactly its entries' lines
        section = patch.split(f"diff --git a/{file} b/{file}\n", 1)[1].split("\ndiff --git ", 1)[0].split("\n")
        assert [line for line in section if line.startswith("-") and not line.startswith("---")] == []
        added = [line[1:] for line in section if line.startswith("+") and not line.startswith("+++")]
        assert sorted(added) == sorted(e.line for e in REGISTRY_ENTRIES if e.file == file)


def test_patch_applies_to_the_pristine_sdist_and_the_result_imports_arlow(patch, tmp_path):
    root = applied_to_the_pristine_sdist(patch, tmp_path)
    env = {"PYTHONPATH": str(root / "src"), "OMP_NUM_THREADS": "1"}
    result = run([sys.executable, "-c", f"import sys\n{IMPORTS_ARLOW}", str(root / "src")], cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr[-4000:]


def test_toctree_entry_goes_to_its_sorted_place_and_is_idempotent():
    merged = insert_toctree_entry(UPSTREAM_TOCTREE, "Text models", "model_doc/arlowgpt", "Arlow")
    entry = "      - local: model_doc/arlowgpt\n        title: Arlow\n"
    assert merged == UPSTREAM_TOCTREE.replace(
        "      - local: model_doc/bamba\n", entry + "      - local: model_doc/bamba\n"
    )
    assert insert_toctree_entry(merged, "Text models", "model_doc/arlowgpt", "Arlow") == merged
    last = insert_toctree_entry(UPSTREAM_TOCTREE, "Text models", "model_doc/zz", "Zz")
    assert last == UPSTREAM_TOCTREE.replace(
        "    - title: Vision", "      - local: model_doc/zz\n        title: Zz\n    - title: Vision"
    )


def test_patch_with_an_upstream_checkout_edits_its_toctree(tmp_path):
    write(tmp_path / "checkout" / TOCTREE, UPSTREAM_TOCTREE)
    patch = write_patch(tmp_path / "with-toctree.patch", tmp_path / "checkout")
    root = applied_to_the_pristine_sdist(patch, tmp_path / "tree", toctree=UPSTREAM_TOCTREE)
    assert (root / TOCTREE).read_text(encoding="utf-8") == insert_toctree_entry(
        UPSTREAM_TOCTREE, "Text models", "model_doc/arlowgpt", "Arlow"
    )
