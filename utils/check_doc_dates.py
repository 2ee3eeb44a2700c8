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
Checks the model page carries the dates line of upstream's `utils/add_dates.py` (`--check-only`, run by upstream's
`make check-repository-consistency`), matched by the same pattern: either
`*This model was published in HF papers on <date> and contributed to Hugging Face Transformers on <YYYY-MM-DD>.*` for a
model with a paper on HF papers, or `*This model was contributed to Hugging Face Transformers on <YYYY-MM-DD>.*` for a
model without one. As upstream, the contributed date may differ by at most one day from the first commit of the model's
`__init__.py` (checked when the folder is under git). The project also asks what upstream's fix mode writes: the line
right below the copyright comment that opens the page, and a real `YYYY-MM-DD` paper date. `--fix_and_overwrite`
inserts the line or corrects the contributed date, as `add_dates.py` does.
"""

from __future__ import annotations

import argparse
import datetime
import re
import subprocess
import sys
from pathlib import Path

from arlow_repo_paths import DOC_PAGE, MODEL_DIR, relative, run_check


# Upstream's `_get_dates_pattern_match` pattern, searched anywhere in the page: group 1 is the paper date (absent for
# a model without a paper), group 2 the date the model was contributed.
DATES_LINE = re.compile(
    r"\n\*This model was (?:published in HF papers on (.*) and )?contributed to Hugging Face Transformers on "
    r"(\d{4}-\d{2}-\d{2})\.\*"
)
# The date-like lines of earlier versions of `add_dates.py`, which upstream's pattern no longer accepts.
OUTDATED_LINE = re.compile(r"\n\*This model was released on .* and added to Hugging Face Transformers on .*\*")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Upstream tolerates one day between the line and the first commit (time zones).
TOLERANCE = datetime.timedelta(days=1)


def first_commit_date(path: Path) -> str | None:
    """The date (YYYY-MM-DD) of the first commit touching `path`, or None outside git or before the first commit."""
    try:
        log = subprocess.run(
            ["git", "log", "--reverse", "--format=%ad", "--date=short", "--", path.name],
            cwd=path.parent,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        return None
    return log[0] if log else None


def parse_date(text: str | None) -> datetime.date | None:
    if text is None or not ISO_DATE.match(text):
        return None
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        return None


def dates_line(paper_date: str | None, contributed: str) -> str:
    """The line `add_dates.py` writes, with or without a paper date."""
    if paper_date is None:
        return f"\n*This model was contributed to Hugging Face Transformers on {contributed}.*"
    return (
        f"\n*This model was published in HF papers on {paper_date} and contributed to Hugging Face Transformers "
        f"on {contributed}.*"
    )


def copyright_end(content: str) -> int | None:
    """Where the opening copyright comment ends, or None when the page does not open with one."""
    if not content.startswith("<!--") or "-->" not in content:
        return None
    end = content.index("-->")
    return end + len("-->") if "Copyright" in content[:end] else None


def check(args: argparse.Namespace) -> list[str]:
    page, init = Path(args.page), Path(args.model_dir) / "__init__.py"
    if not page.is_file():
        return [f"{relative(page)} does not exist"]
    content = page.read_text(encoding="utf-8")
    marker_end = copyright_end(content)
    if marker_end is None:
        return [f"{relative(page)}: the page must open with its copyright comment (`<!--Copyright ... -->`)"]
    match = DATES_LINE.search(content)
    if match is None:
        outdated = OUTDATED_LINE.search(content)
        found = f"; found the outdated form {outdated.group(0).strip()!r}" if outdated else ""
        return [
            f"{relative(page)}: missing dates line "
            "(upstream's `add_dates.py --check-only` rejects the page): expected "
            "`*This model was contributed to Hugging Face Transformers on YYYY-MM-DD.*`, or `*This model was "
            "published in HF papers on YYYY-MM-DD and contributed to Hugging Face Transformers on YYYY-MM-DD.*`"
            f"{found} (run `python utils/check_doc_dates.py --fix_and_overwrite`)"
        ]
    problems = []
    if match.start() != marker_end:
        problems.append(
            f"{relative(page)}: the dates line must follow the copyright comment directly (where `add_dates.py` "
            "writes it)"
        )
    paper_date, contributed = match.group(1), match.group(2)
    if paper_date is not None and parse_date(paper_date) is None:
        problems.append(f"{relative(page)}: HF papers date {paper_date!r} is not a valid YYYY-MM-DD date")
    contributed_date = parse_date(contributed)
    if contributed_date is None:
        problems.append(f"{relative(page)}: contributed date {contributed!r} is not a valid date")
    expected = parse_date(first_commit_date(init) if init.is_file() else None)
    if contributed_date is not None and expected is not None and abs(contributed_date - expected) > TOLERANCE:
        problems.append(
            f"{relative(page)}: contributed date {contributed} differs by more than a day from the first commit of "
            f"{relative(init)} ({expected}); run `python utils/check_doc_dates.py --fix_and_overwrite`"
        )
    return problems


def fix(args: argparse.Namespace) -> list[str]:
    page, init = Path(args.page), Path(args.model_dir) / "__init__.py"
    if not page.is_file():
        return []
    content = page.read_text(encoding="utf-8")
    marker_end = copyright_end(content)
    if marker_end is None:
        return []
    contributed = (first_commit_date(init) if init.is_file() else None) or datetime.date.today().isoformat()
    match = DATES_LINE.search(content)
    paper_date = match.group(1) if match is not None else None
    if match is not None:
        if match.start() == marker_end and match.group(2) == contributed:
            return []
        content = content[: match.start()] + content[match.end() :]
    else:
        outdated = OUTDATED_LINE.search(content)
        if outdated is not None:
            content = content[: outdated.start()] + content[outdated.end() :]
    marker_end = copyright_end(content)
    page.write_text(
        content[:marker_end] + dates_line(paper_date, contributed) + content[marker_end:], encoding="utf-8"
    )
    return [f"{relative(page)}: dates line set (contributed {contributed})"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--page", type=Path, default=DOC_PAGE, help="the model page (default: Arlow's)")
    parser.add_argument("--model_dir", type=Path, default=MODEL_DIR, help="the model folder (default: Arlow's)")


if __name__ == "__main__":
    sys.exit(run_check("check_doc_dates", __doc__.strip().split("\n\n")[0], check, fix, add_arguments))
