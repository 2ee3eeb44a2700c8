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
Checks the docs table of contents the way upstream's `utils/check_doc_toc.py` does: under API > Models, every modality
section lists each page once and in alphabetical order of title (case-insensitive), and, as its
`ensure_all_models_in_toctree`, every page of `model_doc/` is listed and every listed page exists. It also checks the
model page has its entry in the "Text models" section under the model type's name (`local: model_doc/<model_type>`,
the page name `check_model_type_doc_match` of upstream's `utils/check_repo.py` asks for). `--fix_and_overwrite` removes
duplicates and sorts, as upstream's fix mode does.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import yaml
from arlow_repo_paths import (
    DOC_PAGE,
    MODEL_DIR,
    TOCTREE,
    config_model_types,
    load_toctree,
    model_doc_modalities,
    relative,
    run_check,
    toctree_entry,
)


MODALITY = "Text models"


def modality_problems(modality: dict, where: str) -> list[str]:
    entries = [e for e in modality["sections"] if isinstance(e, dict)]
    problems = []
    for entry in entries:
        if not {"local", "title"} <= entry.keys():
            problems.append(f"{where}: entry {entry} needs both `local` and `title`")
    entries = [e for e in entries if {"local", "title"} <= e.keys()]
    counts = Counter(e["local"] for e in entries)
    for local, count in sorted(counts.items()):
        if count > 1:
            titles = sorted({e["title"] for e in entries if e["local"] == local})
            problems.append(f"{where}: {local} is listed {count} times (titles: {', '.join(titles)})")
    titles = [e["title"] for e in entries]
    if titles != sorted(titles, key=str.lower):
        first = next(i for i, (a, b) in enumerate(zip(titles, sorted(titles, key=str.lower))) if a != b)
        problems.append(
            f"{where}: entries are not sorted by title (case-insensitive); {titles[first]!r} is out of place. "
            "Run `python utils/check_doc_toc.py --fix_and_overwrite`."
        )
    return problems


def check(args: argparse.Namespace) -> list[str]:
    toctree_path, page = Path(args.toctree), Path(args.page)
    if not toctree_path.is_file():
        return [f"{relative(toctree_path)} does not exist"]
    try:
        toctree = load_toctree(toctree_path)
        modalities = model_doc_modalities(toctree, toctree_path)
    except ValueError as error:
        return [str(error)]
    problems = []
    for modality in modalities:
        problems += modality_problems(modality, f"{relative(toctree_path)}: API > Models > {modality.get('title')}")
    try:
        model_types = sorted(config_model_types(Path(args.model_dir)))
    except ValueError as error:
        return problems + [str(error)]
    if model_types and page.stem not in model_types:
        problems.append(
            f"{relative(page)}: the page must be named after the model type, as upstream's `check_repo.py` asks, so "
            f"the toctree entry is `local: model_doc/{model_types[0]}`"
        )
    local = f"{page.parent.name}/{page.stem}"
    found = toctree_entry(toctree, toctree_path, local)
    if found is None:
        problems.append(f"{relative(toctree_path)}: no entry for {local} under API > Models > {MODALITY}")
    elif found[0] != MODALITY:
        problems.append(f"{relative(toctree_path)}: {local} is listed under {found[0]!r}, expected {MODALITY!r}")
    docs_root = toctree_path.parent
    listed = {
        entry["local"]
        for modality in modalities
        for entry in modality["sections"]
        if isinstance(entry, dict) and "local" in entry
    }
    for model_page in sorted((docs_root / "model_doc").glob("*.md")):
        if model_page.stem != "auto" and f"model_doc/{model_page.stem}" not in listed:
            problems.append(
                f"{relative(toctree_path)}: {relative(model_page)} is in `model_doc` but not under API > Models"
            )
    for modality in modalities:
        for entry in modality["sections"]:
            if isinstance(entry, dict) and "local" in entry and not (docs_root / f"{entry['local']}.md").is_file():
                problems.append(
                    f"{relative(toctree_path)}: {entry['local']} is listed but {relative(docs_root)}/"
                    f"{entry['local']}.md does not exist"
                )
    return problems


def clean_modality(entries: list) -> list:
    """The entries without duplicates (first title kept), sorted by title, case-insensitive."""
    seen, cleaned = set(), []
    for entry in entries:
        key = entry.get("local") if isinstance(entry, dict) else None
        if key is not None and key in seen:
            continue
        seen.add(key)
        cleaned.append(entry)
    return sorted(cleaned, key=lambda e: str(e.get("title", "")).lower() if isinstance(e, dict) else "")


def fix(args: argparse.Namespace) -> list[str]:
    toctree_path = Path(args.toctree)
    try:
        toctree = load_toctree(toctree_path)
        modalities = model_doc_modalities(toctree, toctree_path)
    except (OSError, ValueError):
        return []
    changed = False
    for modality in modalities:
        cleaned = clean_modality(modality["sections"])
        if cleaned != modality["sections"]:
            modality["sections"] = cleaned
            changed = True
    if not changed:
        return []
    text = toctree_path.read_text(encoding="utf-8")
    comments = "".join(line + "\n" for line in text.split("\n") if line.startswith("#"))
    toctree_path.write_text(comments + yaml.safe_dump(toctree, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return [f"{relative(toctree_path)}: model sections deduplicated and sorted"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--toctree", type=Path, default=TOCTREE, help="the toctree (default: the repository's)")
    parser.add_argument("--page", type=Path, default=DOC_PAGE, help="the model page it must list (default: Arlow's)")
    parser.add_argument("--model_dir", type=Path, default=MODEL_DIR, help="the model folder (default: Arlow's)")


if __name__ == "__main__":
    sys.exit(run_check("check_doc_toc", __doc__.strip().split("\n\n")[0], check, fix, add_arguments))
