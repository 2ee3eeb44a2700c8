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
What the consistency checks (`utils/check_*.py`) and the docs build share: where the contribution's files live, the
one command line every check has (`--fix_and_overwrite`, the paths it reads, exit status 1 on a problem), and the
parsers of a model folder, a page's `[[autodoc]]` blocks and a docstring's argument list. The checks take the paths they
read as arguments, so that the tests can point them at a deliberately broken copy.
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


REPO_ROOT = Path(__file__).resolve().parent.parent
MODEL_DIR = REPO_ROOT / "src" / "transformers" / "models" / "arlow"
MODEL_TEST_DIR = REPO_ROOT / "tests" / "models" / "arlow"
DOCS_SOURCE = REPO_ROOT / "docs" / "source" / "en"
# Upstream names a model's page after its `model_type` (`check_model_type_doc_match` of its `utils/check_repo.py`).
DOC_PAGE = DOCS_SOURCE / "model_doc" / "arlowgpt.md"
CONFIG_BASES = {"PreTrainedConfig", "PretrainedConfig"}


def relative(path: Path) -> str:
    """`path` relative to the repository when it lies inside it (shorter messages), else as given."""
    try:
        return str(Path(path).resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def run_check(
    check: Callable[[argparse.Namespace], list[str]],
    fix: Callable[[argparse.Namespace], list[str]] | None = None,
    add_arguments: Callable[[argparse.ArgumentParser], None] | None = None,
) -> int:
    """
    The command line of a check script: `check(args)` returns the problems found, each naming the file; `fix(args)`,
    where there is a fix mode, rewrites what it can and returns a line per change, and the check then runs on the
    result, so `--fix_and_overwrite` still fails on what needs a person. Returns the exit status.
    """
    module = sys.modules["__main__"]
    name = Path(module.__file__).stem
    parser = argparse.ArgumentParser(prog=f"{name}.py", description=module.__doc__.strip().split("\n\n")[0])
    parser.add_argument("--fix_and_overwrite", action="store_true", help="fix what can be fixed, then check")
    parser.add_argument("--model_dir", type=Path, default=MODEL_DIR, help="the model folder (default: Arlow's)")
    parser.add_argument("--test_dir", type=Path, default=MODEL_TEST_DIR, help="its tests (default: Arlow's)")
    parser.add_argument("--page", type=Path, default=DOC_PAGE, help="the model page (default: Arlow's)")
    if add_arguments is not None:
        add_arguments(parser)
    args = parser.parse_args()
    if args.fix_and_overwrite:
        if fix is None:
            print(f"{name}: no fix mode (upstream's has none either); checking only.")
        else:
            for change in fix(args):
                print(f"{name}: fixed {change}")
    problems = check(args)
    for problem in problems:
        print(f"{name}: {problem}", file=sys.stderr)
    if problems:
        print(f"{name}: {len(problems)} problem(s) found.", file=sys.stderr)
        return 1
    print(f"{name}: OK")
    return 0


# Python sources, read without importing them


def parse_python(path: Path) -> ast.Module:
    """The syntax tree of `path`; a syntax error is reported with the file name."""
    try:
        return ast.parse(Path(path).read_text(encoding="utf-8"), filename=str(path))
    except SyntaxError as error:
        raise ValueError(f"{relative(path)}: cannot be parsed ({error.msg}, line {error.lineno})") from error


def model_modules(model_dir: Path) -> list[Path]:
    """The model folder's modules, `__init__.py` and modular files aside, sorted by name."""
    return sorted(
        p for p in Path(model_dir).glob("*.py") if p.name != "__init__.py" and not p.name.startswith("modular_")
    )


def assigned_names(node: ast.AST) -> list[str]:
    """The plain names an assignment statement (`x = ...`, `x: int = ...`) binds; none for other statements."""
    targets = (
        node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
    )
    return [target.id for target in targets if isinstance(target, ast.Name)]


def top_level_definitions(path: Path) -> dict[str, ast.AST]:
    """Classes, functions and assigned names defined at the top level of `path`."""
    names: dict[str, ast.AST] = {}
    for node in parse_python(path).body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            names[node.name] = node
        names.update(dict.fromkeys(assigned_names(node), node))
    return names


def exported_objects(model_dir: Path) -> dict[str, Path]:
    """Every name in a top-level `__all__ = [...]` of the model folder's modules, mapped to the module exporting it."""
    exported: dict[str, Path] = {}
    for module in model_modules(model_dir):
        node = top_level_definitions(module).get("__all__")
        if node is not None:
            exported.update(dict.fromkeys(ast.literal_eval(node.value), module))
    return exported


def base_names(node: ast.ClassDef) -> list[str]:
    """The base classes of a class definition, as written (last component of dotted names)."""
    return [getattr(base, "id", getattr(base, "attr", None)) for base in node.bases]


def config_classes(model_dir: Path) -> dict[str, tuple[ast.ClassDef, Path]]:
    """The configuration classes of the folder's `configuration_*.py` files: name -> (definition, file)."""
    return {
        node.name: (node, path)
        for path in sorted(Path(model_dir).glob("configuration_*.py"))
        for node in parse_python(path).body
        if isinstance(node, ast.ClassDef) and CONFIG_BASES.intersection(base_names(node))
    }


def config_model_types(model_dir: Path) -> list[str]:
    """The `model_type = "..."` of the folder's configuration classes."""
    return [
        statement.value.value
        for node, _ in config_classes(model_dir).values()
        for statement in node.body
        if "model_type" in assigned_names(statement) and isinstance(statement.value, ast.Constant)
    ]


def model_classes(model_dir: Path) -> dict[str, Path]:
    """
    Exported classes deriving, directly or through the folder's own classes, from `PreTrainedModel`, without the
    `XPreTrainedModel` base itself (the classes upstream's `check_repo.py` calls models).
    """
    classes = {
        node.name: (base_names(node), module)
        for module in model_modules(model_dir)
        for node in parse_python(module).body
        if isinstance(node, ast.ClassDef)
    }
    derived = {"PreTrainedModel"}
    while new := {name for name, (bases, _) in classes.items() if name not in derived and derived & set(bases)}:
        derived |= new
    exported = exported_objects(model_dir)
    return {
        name: classes[name][1]
        for name in sorted(derived & exported.keys())
        if name in classes and not name.endswith("PreTrainedModel")
    }


# The model page


@dataclass(frozen=True)
class AutodocBlock:
    """One `[[autodoc]] Name` block of a page, with the methods listed under it and its line."""

    name: str
    methods: tuple[str, ...]
    line: int


_AUTODOC = re.compile(r"^(\s*)\[\[autodoc\]\]\s+(\S+)\s*$")
_METHOD_ITEM = re.compile(r"^(\s*)-\s+(\S+)\s*$")


def autodoc_blocks(text: str) -> list[AutodocBlock]:
    """The `[[autodoc]]` blocks of a page in order, with their `- method` items (the doc-builder's syntax)."""
    lines = text.split("\n")
    blocks = []
    for index, line in enumerate(lines):
        match = _AUTODOC.match(line)
        if match is None:
            continue
        methods = []
        for item_line in lines[index + 1 :]:
            item = _METHOD_ITEM.match(item_line)
            if item is not None and len(item.group(1)) > len(match.group(1)):
                methods.append(item.group(2))
            elif item_line.strip():
                break
        blocks.append(AutodocBlock(match.group(2), tuple(methods), index + 1))
    return blocks


# Docstrings

_SECTION = re.compile(r"^(\s*)(Args|Arguments|Parameters|Attributes):\s*$")
_ARGUMENT = re.compile(r"^\s*\**(\w+)\s*(\(.*\))?\s*:")
_DEFAULT = re.compile(r"defaults to\s+`([^`]*)`")


def documented_arguments(docstring: str | None) -> dict[str, tuple[str, str | None]]:
    """
    The arguments a docstring documents in its `Args:`/`Parameters:` sections, in upstream's format (one
    ``name (`type`, *optional*, defaults to `value`):`` line per argument, its description indented below), each mapped
    to (its header line, the value after "defaults to" or None).
    """
    arguments: dict[str, tuple[str, str | None]] = {}
    section_indent = argument_indent = None
    for line in (docstring or "").expandtabs().split("\n"):
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        if section := _SECTION.match(line):
            section_indent, argument_indent = len(section.group(1)), None
        elif section_indent is not None and indent <= section_indent:
            section_indent = None
        elif section_indent is not None:
            argument_indent = argument_indent if argument_indent is not None else indent
            if indent == argument_indent and (match := _ARGUMENT.match(line)):
                default = _DEFAULT.search(line)
                arguments[match.group(1)] = (line.strip(), default.group(1) if default else None)
    return arguments
