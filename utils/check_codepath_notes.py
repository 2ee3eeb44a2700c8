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
Checks that every branch on a config attribute in the model's `modeling_*.py` and `modular_*.py` files carries a
`# CODEPATH:` note: rule TRF041 as upstream's `utils/check_modeling_structure.py` applies it with upstream's own
`utils/rules.toml`, which is stricter than the rule of the PyPI `transformers-mlinter` 0.1.5 that `make check-repo`
also runs (no built-in list of exempt "plumbing" fields, no exemption for guards that only raise or warn).

A finding is an `if`/`elif` statement or a conditional expression whose condition reads a `config.<field>` or
`self.config.<field>` attribute and has no `# CODEPATH:` comment on its own line or in the contiguous comment block
right above it. Exempt, as upstream: `x if x is not None else fallback` where the tested field is itself one of the
results (a default, not a fork); a line suppressed with `# trf-ignore: TRF041` (on the line, or right above it past
decorators); and fields a module-level `# trf-ignore: TRF041 config.a, config.b` directive at column 0 names (a
condition is exempt only when every field it reads is). No fix mode: which checkpoints take a path is for the model's
author to write.
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from arlow_repo_paths import MODEL_DIR, parse_python, relative, run_check


RULE = "TRF041"
MARKER = "# codepath:"
SUPPRESSION = f"trf-ignore: {RULE}".lower()
FIELD_WORD = re.compile(r"[a-z_][a-z0-9_.]*")


@dataclass(frozen=True)
class ConfigBranch:
    """A branch without its note: where it is, what kind of branch, and the first config field it reads."""

    path: Path
    line: int
    kind: str
    field: str

    def message(self) -> str:
        return (
            f"{relative(self.path)}:{self.line}: {RULE}: {self.kind} on `{self.field}` has no `# CODEPATH:` note; "
            "add one naming the checkpoints that take each path, or delete the branch"
        )


def field_name(dotted: str) -> str:
    """`self.config.x`, `config.x` and `x` name the same field."""
    return dotted.strip().removeprefix("self.").removeprefix("config.")


def dotted_name(node: ast.AST) -> str | None:
    """`a.b.c` for a chain of names and attributes, None for anything else (calls, subscripts, ...)."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted_name(node.value)
        return None if base is None else f"{base}.{node.attr}"
    return None


def config_fields_read(condition: ast.expr) -> list[str]:
    """Every `config.*` / `self.config.*` attribute the condition reads, in order, each once."""
    fields: list[str] = []
    for node in ast.walk(condition):
        if isinstance(node, ast.Attribute):
            dotted = dotted_name(node)
            if dotted is not None and dotted.removeprefix("self.").startswith("config.") and dotted not in fields:
                fields.append(dotted)
    return fields


def is_default_value(node: ast.IfExp) -> bool:
    """Whether `node` is `x if x is (not) None else y` (or the mirror image) with `x` one of the two results."""
    test = node.test
    if not (
        isinstance(test, ast.Compare)
        and len(test.ops) == 1
        and isinstance(test.ops[0], (ast.Is, ast.IsNot))
        and isinstance(test.comparators[0], ast.Constant)
        and test.comparators[0].value is None
    ):
        return False
    tested = dotted_name(test.left)
    return tested is not None and tested in (dotted_name(node.body), dotted_name(node.orelse))


def file_exempt_fields(lines: list[str]) -> set[str]:
    """Fields named by module-level `# trf-ignore: TRF041 <fields>` directives (column 0, at least one field)."""
    fields: set[str] = set()
    for line in lines:
        if not line.startswith("#") or SUPPRESSION not in line.lower():
            continue
        for word in line.lower().partition(SUPPRESSION)[2].replace(",", " ").split():
            if not FIELD_WORD.fullmatch(word):
                break
            fields.add(field_name(word))
    fields.discard("")
    return fields


def has_note(lines: list[str], line_number: int) -> bool:
    """A `# CODEPATH:` comment on the branch line or in the unbroken comment block directly above it."""
    index = line_number - 1
    if MARKER in lines[index].lower():
        return True
    index -= 1
    while index >= 0 and lines[index].strip().startswith("#"):
        if MARKER in lines[index].lower():
            return True
        index -= 1
    return False


def is_suppressed(lines: list[str], line_number: int) -> bool:
    """`# trf-ignore: TRF041` on the line itself, or on the line above it (decorators in between allowed)."""
    index = line_number - 1
    if SUPPRESSION in lines[index].lower():
        return True
    index -= 1
    while index >= 0:
        stripped = lines[index].strip()
        if SUPPRESSION in stripped.lower():
            return True
        if not stripped.startswith("@"):
            return False
        index -= 1
    return False


def branches_without_note(path: Path) -> list[ConfigBranch]:
    """The config-gated branches of one file that TRF041 reports, in line order."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    exempt = file_exempt_fields(lines)
    found = []
    for node in ast.walk(parse_python(path)):
        if isinstance(node, ast.If):
            kind = "branch"
        elif isinstance(node, ast.IfExp) and not is_default_value(node):
            kind = "conditional expression"
        else:
            continue
        reportable = [f for f in config_fields_read(node.test) if field_name(f) not in exempt]
        if not reportable or has_note(lines, node.lineno) or is_suppressed(lines, node.lineno):
            continue
        found.append(ConfigBranch(Path(path), node.lineno, kind, reportable[0]))
    return sorted(found, key=lambda branch: (branch.line, branch.kind))


def checked_files(model_dir: Path) -> list[Path]:
    """The files TRF041 applies to: the folder's modeling and modular files."""
    return sorted(p for p in Path(model_dir).glob("*.py") if p.name.startswith(("modeling_", "modular_")))


def check(args: argparse.Namespace) -> list[str]:
    model_dir = Path(args.model_dir)
    if not model_dir.is_dir():
        return [f"{relative(model_dir)} is not a folder"]
    problems = []
    for path in checked_files(model_dir):
        try:
            problems += [branch.message() for branch in branches_without_note(path)]
        except ValueError as error:
            problems.append(str(error))
    return problems


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model_dir", type=Path, default=MODEL_DIR, help="the model folder (default: Arlow's)")


if __name__ == "__main__":
    sys.exit(run_check("check_codepath_notes", __doc__.strip().split("\n\n")[0], check, None, add_arguments))
