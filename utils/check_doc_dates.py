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
Checks the model page carries the dates line upstream's `utils/add_dates.py` maintains: right below the copyright
comment that opens the page, `*This model was released on <date> and added to Hugging Face Transformers on
<YYYY-MM-DD>.*`, where the release date is a `YYYY-MM-DD` date or the `{release_date}` placeholder (no paper), and the
added date is the date of the first commit of the model's `__init__.py` (checked when the folder is under git).
`--fix_and_overwrite` inserts the line or corrects the added date, as `add_dates.py` does.
"""

from __future__ import annotations

import argparse
import datetime
import re
import subprocess
import sys
from pathlib import Path

from arlow_repo_paths import DOC_PAGE, MODEL_DIR, relative, run_check


# The line as upstream's `add_dates.py` matches it; it sits right after the first `-->`.
DATES_LINE = re.compile(
    r"\n\*This model was released on (.*) and added to Hugging Face Transformers on (\d{4}-\d{2}-\d{2})\.\*"
)
RELEASE_PLACEHOLDER = "{release_date}"
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


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


def is_date(text: str) -> bool:
    if not ISO_DATE.match(text):
        return False
    try:
        datetime.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def check(args: argparse.Namespace) -> list[str]:
    page, init = Path(args.page), Path(args.model_dir) / "__init__.py"
    if not page.is_file():
        return [f"{relative(page)} does not exist"]
    content = page.read_text(encoding="utf-8")
    if not content.startswith("<!--") or "-->" not in content:
        return [f"{relative(page)}: the page must open with its copyright comment (`<!--Copyright ... -->`)"]
    if "Copyright" not in content[: content.index("-->")]:
        return [f"{relative(page)}: the opening comment carries no copyright notice"]
    marker_end = content.index("-->") + len("-->")
    match = DATES_LINE.match(content, marker_end)
    if match is None:
        where = "elsewhere in the page" if DATES_LINE.search(content) else "anywhere"
        return [
            f"{relative(page)}: the dates line must follow the copyright comment directly, but it is {where}; "
            "expected `*This model was released on {release_date} and added to Hugging Face Transformers on "
            "YYYY-MM-DD.*` (run `python utils/check_doc_dates.py --fix_and_overwrite`)"
        ]
    problems = []
    released, added = match.group(1), match.group(2)
    if released != RELEASE_PLACEHOLDER and not is_date(released):
        problems.append(
            f"{relative(page)}: release date {released!r} is neither a YYYY-MM-DD date nor `{RELEASE_PLACEHOLDER}`"
        )
    if not is_date(added):
        problems.append(f"{relative(page)}: added date {added!r} is not a valid date")
    expected_added = first_commit_date(init) if init.is_file() else None
    if expected_added is not None and added != expected_added:
        problems.append(
            f"{relative(page)}: added date {added} differs from the first commit of {relative(init)} "
            f"({expected_added}); run `python utils/check_doc_dates.py --fix_and_overwrite`"
        )
    return problems


def fix(args: argparse.Namespace) -> list[str]:
    page, init = Path(args.page), Path(args.model_dir) / "__init__.py"
    if not page.is_file():
        return []
    content = page.read_text(encoding="utf-8")
    if not content.startswith("<!--") or "-->" not in content:
        return []
    added = (first_commit_date(init) if init.is_file() else None) or datetime.date.today().isoformat()
    marker_end = content.index("-->") + len("-->")
    match = DATES_LINE.match(content, marker_end)
    if match is None:
        released = RELEASE_PLACEHOLDER
        elsewhere = DATES_LINE.search(content)
        if elsewhere is not None:
            released = elsewhere.group(1)
            content = content[: elsewhere.start()] + content[elsewhere.end() :]
        line = f"\n*This model was released on {released} and added to Hugging Face Transformers on {added}.*"
        new = content[:marker_end] + line + content[marker_end:]
    elif match.group(2) != added:
        line = f"\n*This model was released on {match.group(1)} and added to Hugging Face Transformers on {added}.*"
        new = content[:marker_end] + line + content[match.end() :]
    else:
        return []
    page.write_text(new, encoding="utf-8")
    return [f"{relative(page)}: dates line set (added {added})"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--page", type=Path, default=DOC_PAGE, help="the model page (default: Arlow's)")
    parser.add_argument("--model_dir", type=Path, default=MODEL_DIR, help="the model folder (default: Arlow's)")


if __name__ == "__main__":
    sys.exit(run_check("check_doc_dates", __doc__.strip().split("\n\n")[0], check, fix, add_arguments))
