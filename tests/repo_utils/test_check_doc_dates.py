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
Tests of `utils/check_doc_dates.py`: the dates line upstream's `add_dates.py --check-only` accepts (with or without an
HF papers date), below the copyright comment.
"""

import os
import re
import subprocess

import pytest
from conftest import run_check


NO_PAPER_LINE = "*This model was contributed to Hugging Face Transformers on 2026-01-02.*"


def dates(toy, *extra):
    return run_check("check_doc_dates", "--page", toy.page, "--model_dir", toy.model_dir, *extra)


def test_toy_page_without_paper_passes(toy):
    result = dates(toy)
    assert result.returncode == 0, result.stderr


def test_page_with_hf_papers_date_passes(toy):
    toy.edit(
        toy.page,
        NO_PAPER_LINE,
        "*This model was published in HF papers on 2025-03-04 and contributed to Hugging Face Transformers on "
        "2026-01-02.*",
    )
    result = dates(toy)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "line",
    [
        # the form of earlier `add_dates.py` versions, which upstream's pattern rejects ("missing dates")
        "*This model was released on {release_date} and added to Hugging Face Transformers on 2026-01-02.*",
        "*This model was released on 2025-03-04 and added to Hugging Face Transformers on 2026-01-02.*",
        "*This model was contributed to Hugging Face Transformers on 2 January 2026.*",
        "*This model was contributed to Hugging Face on 2026-01-02.*",
        "",
    ],
)
def test_line_upstream_pattern_rejects_is_reported_then_fixed(toy, line):
    toy.edit(toy.page, NO_PAPER_LINE, line)
    result = dates(toy)
    assert result.returncode == 1
    assert "toy.md: missing dates line" in result.stderr
    fixed = dates(toy, "--fix_and_overwrite")
    assert fixed.returncode == 0, fixed.stderr
    text = toy.page.read_text(encoding="utf-8")
    assert re.search(
        r"-->\n\*This model was contributed to Hugging Face Transformers on \d{4}-\d{2}-\d{2}\.\*\n", text
    )
    assert "released on" not in text


def test_outdated_line_is_named(toy):
    toy.edit(
        toy.page,
        "contributed to Hugging Face Transformers",
        "released on {release_date} and added to Hugging Face Transformers",
    )
    result = dates(toy)
    assert result.returncode == 1
    assert "found the outdated form" in result.stderr


def test_malformed_paper_date_is_reported(toy):
    toy.edit(toy.page, "was contributed", "was published in HF papers on last spring and contributed")
    result = dates(toy)
    assert result.returncode == 1
    assert "toy.md: HF papers date 'last spring' is not a valid YYYY-MM-DD date" in result.stderr


def test_impossible_contributed_date_is_reported(toy):
    toy.edit(toy.page, "2026-01-02", "2026-13-02")
    result = dates(toy)
    assert result.returncode == 1
    assert "contributed date '2026-13-02' is not a valid date" in result.stderr


def test_line_away_from_the_copyright_comment_is_reported_then_moved(toy):
    toy.edit(toy.page, NO_PAPER_LINE + "\n", "")
    toy.edit(toy.page, "# Toy\n", "# Toy\n" + NO_PAPER_LINE + "\n")
    result = dates(toy)
    assert result.returncode == 1
    assert "must follow the copyright comment directly" in result.stderr
    assert dates(toy, "--fix_and_overwrite").returncode == 0
    assert toy.page.read_text(encoding="utf-8").count("This model was contributed") == 1


def commit_model_folder(toy, date):
    env = {"GIT_AUTHOR_DATE": f"{date}T12:00:00", "GIT_COMMITTER_DATE": f"{date}T12:00:00"}
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(toy.root)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "toy"], check=True, env={**os.environ, **env})


def test_contributed_date_within_a_day_of_the_first_commit_passes(toy):
    commit_model_folder(toy, "2026-01-03")
    result = dates(toy)
    assert result.returncode == 0, result.stderr


def test_contributed_date_far_from_the_first_commit_is_reported_then_fixed(toy):
    commit_model_folder(toy, "2026-02-10")
    result = dates(toy)
    assert result.returncode == 1
    assert "contributed date 2026-01-02 differs by more than a day from the first commit" in result.stderr
    assert "(2026-02-10)" in result.stderr
    assert dates(toy, "--fix_and_overwrite").returncode == 0
    assert "contributed to Hugging Face Transformers on 2026-02-10.*" in toy.page.read_text(encoding="utf-8")


def test_page_without_copyright_comment_is_reported(toy):
    toy.page.write_text("# Toy\n", encoding="utf-8")
    result = dates(toy)
    assert result.returncode == 1
    assert "toy.md" in result.stderr and "copyright comment" in result.stderr
