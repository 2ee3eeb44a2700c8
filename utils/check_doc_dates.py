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
Checks the model page carries the dates line of upstream's `utils/add_dates.py --check-only`, matched by its pattern:
`*This model was contributed to Hugging Face Transformers on YYYY-MM-DD.*`, or `*This model was published in HF papers
on <date> and contributed to Hugging Face Transformers on YYYY-MM-DD.*`, right below the page's copyright comment. As
upstream, the contributed date may differ by at most one day from the first commit of the model's `__init__.py` (when
it is under git). `--fix_and_overwrite` inserts or corrects the line where the check fails it, and only there: both
take the date from `contributed_date`, so a date the check accepts is never rewritten.
"""

from __future__ import annotations

import datetime
import re
import subprocess
import sys
from pathlib import Path

from arlow_repo_paths import relative, run_check


# Upstream's `_get_dates_pattern_match`: group 1 the HF papers date (absent without a paper), group 2 the contribution.
DATES_LINE = re.compile(
    r"\n\*This model was (?:published in HF papers on (.*) and )?contributed to Hugging Face Transformers on "
    r"(\d{4}-\d{2}-\d{2})\.\*"
)
# The line of earlier `add_dates.py` versions, which upstream's pattern no longer accepts; the fix replaces it.
OUTDATED_LINE = re.compile(r"\n\*This model was released on .* and added to Hugging Face Transformers on .*\*")
EXPECTED = "`*This model was contributed to Hugging Face Transformers on YYYY-MM-DD.*`"


def first_commit_date(init: Path) -> datetime.date | None:
    """The date of the first commit of `init`, or None outside git or before that commit."""
    try:
        log = subprocess.run(
            ["git", "log", "--reverse", "--format=%ad", "--date=short", "--", init.name],
            cwd=init.parent,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        return None
    return datetime.date.fromisoformat(log[0]) if log else None


def parse_date(text: str | None) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(text) if text and re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) else None
    except ValueError:
        return None


def contributed_date(written: datetime.date | None, first_commit: datetime.date | None) -> datetime.date:
    """
    The date the line must carry, the one rule of both the check and the fix: the written date when it is within a day
    of the first commit (or nothing is committed yet), else the first commit's date (today's before the first commit).
    """
    if written is not None and (first_commit is None or abs(written - first_commit) <= datetime.timedelta(days=1)):
        return written
    return first_commit or datetime.date.today()


def copyright_end(content: str) -> int | None:
    """Where the opening `<!--Copyright ... -->` comment ends, or None when the page does not open with one."""
    end = content.find("-->")
    return end + 3 if content.startswith("<!--") and "Copyright" in content[: max(end, 0)] else None


def date_problems(page: Path, content: str, first_commit: datetime.date | None) -> list[str]:
    """What is wrong with the page's dates line."""
    where = relative(page)
    match = DATES_LINE.search(content)
    if copyright_end(content) is None:
        return [f"{where}: the page must open with its copyright comment (`<!--Copyright ... -->`)"]
    if match is None:
        outdated = OUTDATED_LINE.search(content)
        found = f"; found the outdated form {outdated.group(0).strip()!r}" if outdated else ""
        return [
            f"{where}: missing dates line (upstream's `add_dates.py --check-only` rejects the page): expected "
            f"{EXPECTED}, or the form with an HF papers date{found}"
        ]
    problems = []
    if match.start() != copyright_end(content):
        problems.append(f"{where}: the dates line must follow the copyright comment directly")
    if match.group(1) is not None and parse_date(match.group(1)) is None:
        problems.append(f"{where}: HF papers date {match.group(1)!r} is not a valid YYYY-MM-DD date")
    written = parse_date(match.group(2))
    if written is None:
        problems.append(f"{where}: contributed date {match.group(2)!r} is not a valid date")
    elif contributed_date(written, first_commit) != written:
        problems.append(
            f"{where}: contributed date {written} differs by more than a day from the first commit of the model's "
            f"`__init__.py` ({first_commit})"
        )
    return problems


def check(args) -> list[str]:
    page = Path(args.page)
    if not page.is_file():
        return [f"{relative(page)} does not exist"]
    return date_problems(
        page, page.read_text(encoding="utf-8"), first_commit_date(Path(args.model_dir) / "__init__.py")
    )


def fix(args) -> list[str]:
    page = Path(args.page)
    first_commit = first_commit_date(Path(args.model_dir) / "__init__.py")
    if not page.is_file():
        return []
    content = page.read_text(encoding="utf-8")
    if not date_problems(page, content, first_commit) or copyright_end(content) is None:
        return []
    match = DATES_LINE.search(content) or OUTDATED_LINE.search(content)
    paper = match.group(1) if match is not None and match.re is DATES_LINE else None
    if match is not None:
        content = content[: match.start()] + content[match.end() :]
    written = parse_date(match.group(2)) if match is not None and match.re is DATES_LINE else None
    contributed = contributed_date(written, first_commit).isoformat()
    papers = f"published in HF papers on {paper} and " if parse_date(paper) else ""
    line = f"\n*This model was {papers}contributed to Hugging Face Transformers on {contributed}.*"
    end = copyright_end(content)
    page.write_text(content[:end] + line + content[end:], encoding="utf-8")
    return [f"{relative(page)}: dates line set (contributed {contributed})"]


if __name__ == "__main__":
    sys.exit(run_check(check, fix))
