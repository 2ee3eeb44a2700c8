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
"""Tests of `utils/check_doc_dates.py`: the dates line of upstream's `add_dates.py` below the copyright comment."""

import re

from conftest import run_check


def test_toy_page_passes(toy):
    result = run_check("check_doc_dates", "--page", toy.page, "--model_dir", toy.model_dir)
    assert result.returncode == 0, result.stderr


def test_missing_dates_line_is_reported_then_fixed(toy):
    toy.edit(
        toy.page,
        "*This model was released on {release_date} and added to Hugging Face Transformers on 2026-01-02.*\n",
        "",
    )
    result = run_check("check_doc_dates", "--page", toy.page, "--model_dir", toy.model_dir)
    assert result.returncode == 1
    assert "toy.md" in result.stderr and "dates line must follow the copyright comment" in result.stderr
    fixed = run_check("check_doc_dates", "--page", toy.page, "--model_dir", toy.model_dir, "--fix_and_overwrite")
    assert fixed.returncode == 0, fixed.stderr
    text = toy.page.read_text(encoding="utf-8")
    assert re.search(
        r"-->\n\*This model was released on \{release_date\} and added to Hugging Face Transformers on \d{4}-\d{2}-\d{2}\.\*",
        text,
    )


def test_malformed_release_date_is_reported(toy):
    toy.edit(toy.page, "released on {release_date}", "released on last spring")
    result = run_check("check_doc_dates", "--page", toy.page, "--model_dir", toy.model_dir)
    assert result.returncode == 1
    assert "toy.md" in result.stderr and "release date 'last spring'" in result.stderr


def test_page_without_copyright_comment_is_reported(toy):
    toy.page.write_text("# Toy\n", encoding="utf-8")
    result = run_check("check_doc_dates", "--page", toy.page, "--model_dir", toy.model_dir)
    assert result.returncode == 1
    assert "toy.md" in result.stderr and "copyright comment" in result.stderr
