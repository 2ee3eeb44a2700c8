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
edits and nothing of the project's tooling, applies with `git apply --check` to a git-initialised copy of the pristine
sdist, and the patched tree imports Arlow through `from transformers import ...` and the Auto classes. With an upstream
checkout's toctree, the patch also inserts the toctree entry at its sorted place.
"""

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import REPO_ROOT


sys.path.insert(0, str(REPO_ROOT / "utils"))

import integrated_tree  # noqa: E402
from integrated_tree import REGISTRY_ENTRIES, TOCTREE, insert_toctree_entry  # noqa: E402


CONTRIBUTION_PREFIXES = (
    "src/transformers/models/arlow/",
    "tests/models/arlow/",
    "docs/source/en/model_doc/arlowgpt.md",
)
REGISTRY_FILES = sorted({entry.file for entry in REGISTRY_ENTRIES})

UPSTREAM_TOCTREE = """- sections:
  - local: index
    title: Transformers
  title: Get started
- title: API
  sections:
  - local: main_classes/model
    title: Models
  - title: Models
    isExpanded: false
    sections:
    - title: Text models
      sections:
      - local: model_doc/albert
        title: ALBERT
      - local: model_doc/apertus
        title: Apertus
      - local: model_doc/bamba
        title: Bamba
    - title: Vision models
      sections:
      - local: model_doc/beit
        title: BEiT
"""


def write_patch(output: Path, checkout: Path | None = None) -> Path:
    env = {key: value for key, value in os.environ.items() if key != integrated_tree.UPSTREAM_CHECKOUT_ENV}
    if checkout is not None:
        env[integrated_tree.UPSTREAM_CHECKOUT_ENV] = str(checkout)
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "utils" / "integrated_tree.py"), "patch", "--output", str(output)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    return output


def git(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t"}
    env["GIT_COMMITTER_EMAIL"] = "t@t"
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=env)


def pristine_checkout(tmp: Path, toctree: str | None = None) -> Path:
    """A git repository holding the pristine sdist (plus an upstream toctree when given), committed."""
    root = integrated_tree.extract_pristine(tmp)
    if toctree is not None:
        (root / TOCTREE).parent.mkdir(parents=True)
        (root / TOCTREE).write_text(toctree, encoding="utf-8")
    for args in (("init", "-q"), ("add", "-A"), ("commit", "-q", "-m", "pristine")):
        assert git(root, *args).returncode == 0
    return root


def patched_files(patch: str) -> list[str]:
    return re.findall(r"^diff --git a/(\S+) b/", patch, flags=re.MULTILINE)


@pytest.fixture(scope="module")
def patch_path(tmp_path_factory) -> Path:
    return write_patch(tmp_path_factory.mktemp("patch") / "arlow-upstream.patch")


def test_patch_holds_the_contribution_and_registry_edits_only(patch_path):
    patch = patch_path.read_text(encoding="utf-8")
    files = patched_files(patch)
    for required in (
        "src/transformers/models/arlow/__init__.py",
        "src/transformers/models/arlow/configuration_arlow.py",
        "src/transformers/models/arlow/modeling_arlow.py",
        "src/transformers/models/arlow/tokenization_arlow.py",
        "tests/models/arlow/test_modeling_arlow.py",
        "docs/source/en/model_doc/arlowgpt.md",
        *REGISTRY_FILES,
    ):
        assert required in files, f"{required} is not in the patch"
    stray = [f for f in files if not f.startswith(CONTRIBUTION_PREFIXES) and f not in REGISTRY_FILES]
    assert stray == [], f"the patch carries files outside the contribution: {stray}"
    assert not any("__pycache__" in f or f.endswith(".pyc") for f in files)
    # Registry files change by exactly the entries' lines
    for file in REGISTRY_FILES:
        section = patch.split(f"diff --git a/{file} b/{file}\n", 1)[1].split("\ndiff --git ", 1)[0]
        added = [line[1:] for line in section.split("\n") if line.startswith("+") and not line.startswith("+++")]
        removed = [line for line in section.split("\n") if line.startswith("-") and not line.startswith("---")]
        assert removed == [], f"{file}: the patch removes lines"
        assert sorted(added) == sorted(e.line for e in REGISTRY_ENTRIES if e.file == file)


def test_patch_applies_to_the_pristine_sdist_and_the_result_imports_arlow(patch_path, tmp_path):
    root = pristine_checkout(tmp_path)
    check = git(root, "apply", "--check", str(patch_path))
    assert check.returncode == 0, check.stderr
    assert git(root, "apply", str(patch_path)).returncode == 0
    script = textwrap.dedent(
        """
        import transformers
        from transformers import ArlowConfig, ArlowForCausalLM, ArlowTokenizer, AutoConfig, AutoModelForCausalLM
        from transformers.models.auto.tokenization_auto import TOKENIZER_MAPPING_NAMES

        assert transformers.__file__.startswith(PATCHED), transformers.__file__
        config = AutoConfig.for_model(
            "arlowgpt", vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
            num_attention_heads=2, num_key_value_heads=1, cross_attention=False,
        )
        assert type(config) is ArlowConfig
        model = AutoModelForCausalLM.from_config(config)
        assert type(model) is ArlowForCausalLM
        assert TOKENIZER_MAPPING_NAMES["arlowgpt"] == ArlowTokenizer.__name__
        print("ok")
        """
    ).replace("PATCHED", repr(str(root / "src")))
    env = {**os.environ, "PYTHONPATH": str(root / "src"), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=600
    )
    assert result.returncode == 0 and result.stdout.strip().endswith("ok"), result.stderr[-4000:]


def test_toctree_entry_goes_to_its_sorted_place_and_is_idempotent():
    merged = insert_toctree_entry(UPSTREAM_TOCTREE, "Text models", "model_doc/arlowgpt", "Arlow")
    lines = merged.split("\n")
    position = lines.index("      - local: model_doc/arlowgpt")
    assert lines[position - 1] == "        title: Apertus" and lines[position + 1] == "        title: Arlow"
    assert lines[position + 2] == "      - local: model_doc/bamba"
    assert insert_toctree_entry(merged, "Text models", "model_doc/arlowgpt", "Arlow") == merged
    last = insert_toctree_entry(UPSTREAM_TOCTREE, "Text models", "model_doc/zz", "Zz").split("\n")
    assert last[last.index("      - local: model_doc/zz") - 1] == "        title: Bamba"
    assert last[last.index("      - local: model_doc/zz") + 2] == "    - title: Vision models"


def test_patch_with_an_upstream_checkout_edits_its_toctree(tmp_path):
    checkout = tmp_path / "checkout"
    (checkout / TOCTREE).parent.mkdir(parents=True)
    (checkout / TOCTREE).write_text(UPSTREAM_TOCTREE, encoding="utf-8")
    patch_path = write_patch(tmp_path / "with-toctree.patch", checkout)
    patch = patch_path.read_text(encoding="utf-8")
    assert TOCTREE in patched_files(patch)
    assert "+      - local: model_doc/arlowgpt\n+        title: Arlow\n" in patch
    root = pristine_checkout(tmp_path / "tree", toctree=UPSTREAM_TOCTREE)
    check = git(root, "apply", "--check", str(patch_path))
    assert check.returncode == 0, check.stderr
