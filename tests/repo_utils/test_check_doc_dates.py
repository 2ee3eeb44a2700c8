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
Tests of `utils/check_doc_dates.py`: the dates line upstream's `add_dates.py --check-only` accepts, below the copyright
comment, within a day of the model's first commit; the fix rewrites exactly what the check rejects.
"""

import os
import re
import subprocess

import pytest
from conftest import run_check


def dates(arlow, *extra):
    return run_check("check_doc_dates", "--page", arlow.page, "--model_dir", arlow.model_dir, *extra)


def dates_line(arlow):
    return re.search(r"\n\*This model was .*\*\n", arlow.page.read_text(encoding="utf-8")).group(0).strip()


def set_line(arlow, line):
    arlow.edit(arlow.page, dates_line(arlow), line)


def commit_model_folder(arlow, day):
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(arlow.root)]
    env = {**os.environ, "GIT_AUTHOR_DATE": f"{day}T12:00:00", "GIT_COMMITTER_DATE": f"{day}T12:00:00"}
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "model"]):
        subprocess.run([*git, *command], check=True, env=env)


@pytest.mark.parametrize(
    "line",
    [
        "*This model was released on {release_date} and added to Hugging Face Transformers on 2026-01-02.*",
        "*This model was contributed to Hugging Face Transformers on 2 January 2026.*",
        "",
    ],
)
def test_line_upstream_pattern_rejects_is_reported_then_fixed(arlow, line):
    set_line(arlow, line)
    result = dates(arlow)
    assert result.returncode == 1 and "arlowgpt.md: missing dates line" in result.stderr
    assert dates(arlow, "--fix_and_overwrite").returncode == 0
    assert re.search(
        r"-->\n\*This model was contributed to Hugging Face Transformers on \d{4}-\d{2}-\d{2}\.\*\n",
        arlow.page.read_text(encoding="utf-8"),
    )


def test_paper_date_and_impossible_date_are_reported(arlow):
    set_line(
        arlow,
        "*This model was published in HF papers on last spring and contributed to Hugging Face Transformers on 2026-13-02.*",
    )
    result = dates(arlow)
    assert "HF papers date 'last spring' is not a valid YYYY-MM-DD date" in result.stderr
    assert "contributed date '2026-13-02' is not a valid date" in result.stderr


def test_line_away_from_the_copyright_comment_is_reported_then_moved(arlow):
    line = dates_line(arlow)
    arlow.edit(arlow.page, line + "\n", "")
    arlow.page.write_text(arlow.page.read_text(encoding="utf-8") + "\n" + line + "\n", encoding="utf-8")
    assert "must follow the copyright comment directly" in dates(arlow).stderr
    assert dates(arlow, "--fix_and_overwrite").returncode == 0
    assert arlow.page.read_text(encoding="utf-8").split("-->\n", 1)[1].startswith(line)


def test_check_and_fix_agree_on_a_date_a_day_from_the_first_commit(arlow):
    # `make fixup` once rewrote 2026-11-30 to 2026-11-29 (the first commit) while `make check-repo` accepted both
    set_line(arlow, "*This model was contributed to Hugging Face Transformers on 2026-11-30.*")
    commit_model_folder(arlow, "2026-11-29")
    before = arlow.page.read_text(encoding="utf-8")
    assert dates(arlow).returncode == 0
    assert dates(arlow, "--fix_and_overwrite").stdout.strip() == "check_doc_dates: OK"
    assert arlow.page.read_text(encoding="utf-8") == before


def test_date_far_from_the_first_commit_is_reported_then_set_to_it(arlow):
    set_line(arlow, "*This model was contributed to Hugging Face Transformers on 2026-01-02.*")
    commit_model_folder(arlow, "2026-02-10")
    assert "contributed date 2026-01-02 differs by more than a day from the first commit" in dates(arlow).stderr
    assert dates(arlow, "--fix_and_overwrite").returncode == 0
    assert dates_line(arlow) == "*This model was contributed to Hugging Face Transformers on 2026-02-10.*"
