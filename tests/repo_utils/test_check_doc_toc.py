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
"""Tests of `utils/check_doc_toc.py`: model sections sorted and free of duplicates, the page listed."""

from conftest import run_check, write


UNSORTED = """- title: API
  sections:
  - title: Models
    sections:
    - title: Text models
      sections:
      - local: model_doc/zeta
        title: Zeta
      - local: model_doc/toy
        title: Toy
"""


def test_toy_toctree_passes(toy):
    result = run_check("check_doc_toc", "--toctree", toy.toctree, "--page", toy.page, "--model_dir", toy.model_dir)
    assert result.returncode == 0, result.stderr


def test_unsorted_section_is_reported_then_sorted(toy):
    write(toy.toctree, UNSORTED)
    write(toy.docs / "model_doc" / "zeta.md", "# Zeta\n")
    result = run_check("check_doc_toc", "--toctree", toy.toctree, "--page", toy.page, "--model_dir", toy.model_dir)
    assert result.returncode == 1
    assert "_toctree.yml" in result.stderr and "not sorted by title" in result.stderr and "'Zeta'" in result.stderr
    fixed = run_check(
        "check_doc_toc",
        "--toctree",
        toy.toctree,
        "--page",
        toy.page,
        "--model_dir",
        toy.model_dir,
        "--fix_and_overwrite",
    )
    assert fixed.returncode == 0, fixed.stderr
    text = toy.toctree.read_text(encoding="utf-8")
    assert text.index("model_doc/toy") < text.index("model_doc/zeta")


def test_missing_entry_and_missing_page_are_reported(toy):
    toy.edit(toy.toctree, "model_doc/toy", "model_doc/other")
    result = run_check("check_doc_toc", "--toctree", toy.toctree, "--page", toy.page, "--model_dir", toy.model_dir)
    assert result.returncode == 1
    assert "no entry for model_doc/toy" in result.stderr
    assert "model_doc/other is listed but" in result.stderr


def test_duplicate_entry_is_reported(toy):
    toy.edit(
        toy.toctree, "        title: Toy\n", "        title: Toy\n      - local: model_doc/toy\n        title: Toy\n"
    )
    result = run_check("check_doc_toc", "--toctree", toy.toctree, "--page", toy.page, "--model_dir", toy.model_dir)
    assert result.returncode == 1
    assert "model_doc/toy is listed 2 times" in result.stderr


def test_page_without_toctree_entry_is_reported(toy):
    write(toy.docs / "model_doc" / "zeta.md", "# Zeta\n")
    result = run_check("check_doc_toc", "--toctree", toy.toctree, "--page", toy.page, "--model_dir", toy.model_dir)
    assert result.returncode == 1
    assert "zeta.md is in `model_doc` but not under API > Models" in result.stderr


def test_entry_named_after_the_folder_instead_of_the_model_type_is_reported(toy):
    toy.edit(toy.model_dir / "configuration_toy.py", 'model_type = "toy"', 'model_type = "toygpt"')
    result = run_check("check_doc_toc", "--toctree", toy.toctree, "--page", toy.page, "--model_dir", toy.model_dir)
    assert result.returncode == 1
    assert "toy.md: the page must be named after the model type" in result.stderr
    assert "`local: model_doc/toygpt`" in result.stderr
    # renamed as upstream asks, page and entry together, it passes
    toy.page.rename(toy.page.with_name("toygpt.md"))
    toy.edit(toy.toctree, "model_doc/toy", "model_doc/toygpt")
    renamed = run_check(
        "check_doc_toc",
        "--toctree",
        toy.toctree,
        "--page",
        toy.page.with_name("toygpt.md"),
        "--model_dir",
        toy.model_dir,
    )
    assert renamed.returncode == 0, renamed.stderr
