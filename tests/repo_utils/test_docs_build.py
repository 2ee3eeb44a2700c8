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
Tests of `utils/build_docs.py` (`make docs`, which `make test` runs only through these tests): the hf-doc-builder build
of docs/source/en succeeds and renders every documented object and method, and an `[[autodoc]]` that resolves to
nothing fails the build naming the page and the object. (Its docstring rules are `utils/check_docstrings.py`'s.)
"""

import re

from arlow_repo_paths import DOC_PAGE, DOCS_SOURCE, autodoc_blocks
from conftest import run_util, write


def test_repository_docs_build_and_render_every_documented_object(tmp_path):
    result = run_util("build_docs", "--docs", DOCS_SOURCE, "--build_dir", tmp_path)
    assert result.returncode == 0, result.stderr[-6000:]
    built = (tmp_path / "transformers" / "main" / "en" / "model_doc" / "arlowgpt.mdx").read_text(encoding="utf-8")
    anchors = re.findall(r"<docstring><name>[^<]*</name><anchor>([^<]*)</anchor>", built)
    blocks = autodoc_blocks(DOC_PAGE.read_text(encoding="utf-8"))
    assert blocks, "the model page documents nothing"
    for block in blocks:
        name = block.name.split(".")[-1]
        rendered = name.removesuffix("Fast")  # an alias (`ArlowTokenizerFast = ArlowTokenizer`) renders as its class
        assert any(a == f"transformers.{rendered}" or a.endswith(f".{rendered}") for a in anchors), name
        assert all(any(a.endswith(f".{name}.{method}") for a in anchors) for method in block.methods), name


def test_unresolvable_autodoc_fails_naming_the_object(arlow, tmp_path):
    write(arlow.page, "# Arlow\n\n## ArlowGhost\n\n[[autodoc]] ArlowGhost\n")
    result = run_util("build_docs", "--docs", arlow.page.parent.parent, "--build_dir", tmp_path / "build")
    assert result.returncode == 1 and "arlowgpt.md" in result.stderr and "Unable to find ArlowGhost" in result.stderr
