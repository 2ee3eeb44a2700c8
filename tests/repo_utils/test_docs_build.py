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
Tests of `utils/build_docs.py` (`make docs`): the hf-doc-builder build of docs/source/en renders every documented
object, and the build fails, naming the page and the object, on an unresolvable `[[autodoc]]`, a documented object
without a docstring and an undocumented argument.
"""

import re
import subprocess
import sys

import pytest
from conftest import REPO_ROOT, write


sys.path.insert(0, str(REPO_ROOT / "utils"))

from arlow_repo_paths import DOC_PAGE, DOCS_SOURCE, autodoc_blocks  # noqa: E402


TOCTREE = """- title: API
  sections:
  - title: Models
    sections:
    - title: Text models
      sections:
      - local: model_doc/arlowgpt
        title: Arlow
"""


def build(docs, build_dir):
    return subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / "utils" / "build_docs.py"),
            "--docs",
            str(docs),
            "--build_dir",
            str(build_dir),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.fixture(scope="module")
def repository_build(tmp_path_factory):
    build_dir = tmp_path_factory.mktemp("docs")
    result = build(DOCS_SOURCE, build_dir)
    return result, build_dir / "transformers" / "main" / "en" / "model_doc" / "arlowgpt.mdx"


def test_built_page_contains_every_documented_object(repository_build):
    result, page = repository_build
    assert page.is_file(), f"the model page was not built:\n{result.stdout}\n{result.stderr}"
    built = page.read_text(encoding="utf-8")
    anchors = set(re.findall(r"<docstring><name>[^<]*</name><anchor>([^<]*)</anchor>", built))
    blocks = autodoc_blocks(DOC_PAGE.read_text(encoding="utf-8"))
    assert blocks, "the model page documents nothing"
    for block in blocks:
        # an alias (`ArlowTokenizerFast = ArlowTokenizer`) is rendered under the name of the class it aliases
        name = block.name.split(".")[-1].removesuffix("Fast") if block.name.endswith("Fast") else block.name
        assert any(a == f"transformers.{name}" or a.endswith(f".{name}") for a in anchors), (
            f"{block.name} not rendered"
        )
        for method in block.methods:
            assert any(a.endswith(f".{block.name.split('.')[-1]}.{method}") for a in anchors), f"{block.name}.{method}"


def test_repository_docs_build_without_problems(repository_build):
    result, _ = repository_build
    assert result.returncode == 0, result.stderr[-6000:]


def test_unresolvable_autodoc_fails_naming_the_object(tmp_path):
    docs = tmp_path / "en"
    write(docs / "_toctree.yml", TOCTREE)
    write(docs / "model_doc" / "arlowgpt.md", "# Arlow\n\n## ArlowGhost\n\n[[autodoc]] ArlowGhost\n")
    result = build(docs, tmp_path / "build")
    assert result.returncode == 1
    assert "arlowgpt.md" in result.stderr and "Unable to find ArlowGhost" in result.stderr
