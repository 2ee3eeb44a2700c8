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
Shared pieces of the repository-consistency checks (`utils/check_*.py`) and the docs build: where the contribution's
files live, a command-line runner giving every check the same `--fix_and_overwrite` interface and exit codes, and small
parsers (a module's `__all__`, a page's `[[autodoc]]` blocks, a docstring's argument list, the toctree).

Every check takes the paths it reads as arguments (defaulting to this repository's), so that the tests can point a
check at a deliberately broken copy in a temporary folder.
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
MODEL_NAME = "arlow"
MODEL_TYPE = "arlowgpt"
MODEL_DIR = REPO_ROOT / "src" / "transformers" / "models" / MODEL_NAME
MODEL_TEST_DIR = REPO_ROOT / "tests" / "models" / MODEL_NAME
DOCS_SOURCE = REPO_ROOT / "docs" / "source" / "en"
# Upstream names a model's page after its `model_type` (`check_model_type_doc_match` in `utils/check_repo.py`), as
# it does for `openai-gpt`, whose folder is `openai`.
DOC_PAGE = DOCS_SOURCE / "model_doc" / f"{MODEL_TYPE}.md"
TOCTREE = DOCS_SOURCE / "_toctree.yml"
INTEGRATED_TREE = REPO_ROOT / "build" / "integrated"


def relative(path: Path) -> str:
    """`path` relative to the repository when it lies inside it (shorter messages), else as given."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


# ---------------------------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------------------------

CheckFunction = Callable[[argparse.Namespace], list[str]]


def run_check(
    name: str,
    description: str,
    check: CheckFunction,
    fix: CheckFunction | None = None,
    add_arguments: Callable[[argparse.ArgumentParser], None] | None = None,
    argv: list[str] | None = None,
) -> int:
    """
    Runs one consistency check from the command line and returns its exit status.

    `check(args)` returns the problems found, each naming the file and what is wrong. `fix(args)`, for checks that have
    a fix mode, rewrites what it can and returns a line per file it changed; the check then runs on the result, so
    `--fix_and_overwrite` still fails on what could not be fixed. Without a fix mode, `--fix_and_overwrite` says so and
    only checks.
    """
    parser = argparse.ArgumentParser(prog=f"{name}.py", description=description)
    parser.add_argument(
        "--fix_and_overwrite",
        action="store_true",
        help="rewrite the files to fix what can be fixed, then check"
        if fix
        else "accepted for uniformity: no fix mode",
    )
    if add_arguments is not None:
        add_arguments(parser)
    args = parser.parse_args(argv)
    if args.fix_and_overwrite:
        if fix is None:
            print(f"{name}: no fix mode (upstream has none either); checking only.")
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


# ---------------------------------------------------------------------------------------------------------------
# Python sources, read without importing them
# ---------------------------------------------------------------------------------------------------------------


def parse_python(path: Path) -> ast.Module:
    """The syntax tree of `path`; a syntax error is reported with the file name."""
    try:
        return ast.parse(Path(path).read_text(encoding="utf-8"), filename=str(path))
    except SyntaxError as error:
        raise ValueError(f"{relative(path)}: cannot be parsed ({error.msg}, line {error.lineno})") from error


def module_all(path: Path) -> list[str] | None:
    """The names a module exports through a top-level `__all__ = [...]`, or None when it has no `__all__`."""
    for node in parse_python(path).body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            try:
                value = ast.literal_eval(node.value)
            except ValueError as error:
                raise ValueError(f"{relative(path)}: `__all__` is not a literal list of names") from error
            return list(value)
    return None


def top_level_definitions(path: Path) -> dict[str, ast.AST]:
    """Classes, functions and assigned names defined at the top level of `path`."""
    names: dict[str, ast.AST] = {}
    for node in parse_python(path).body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            names[node.name] = node
        elif isinstance(node, ast.Assign):
            names.update({t.id: node for t in node.targets if isinstance(t, ast.Name)})
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names[node.target.id] = node
    return names


def model_modules(model_dir: Path) -> list[Path]:
    """The model folder's modules, `__init__.py` and modular files aside, sorted by name."""
    return sorted(
        p for p in Path(model_dir).glob("*.py") if p.name != "__init__.py" and not p.name.startswith("modular_")
    )


def exported_objects(model_dir: Path) -> dict[str, Path]:
    """Every name in the `__all__` of the model folder's modules, mapped to the module exporting it."""
    exported: dict[str, Path] = {}
    for module in model_modules(model_dir):
        for name in module_all(module) or []:
            exported[name] = module
    return exported


def config_model_types(model_dir: Path) -> dict[str, Path]:
    """The `model_type = "..."` class attributes of the folder's `configuration_*.py` files, mapped to the file."""
    found: dict[str, Path] = {}
    for module in sorted(Path(model_dir).glob("configuration_*.py")):
        for node in ast.walk(parse_python(module)):
            if not isinstance(node, ast.ClassDef):
                continue
            for statement in node.body:
                targets = statement.targets if isinstance(statement, ast.Assign) else []
                if isinstance(statement, ast.AnnAssign):
                    targets = [statement.target]
                value = getattr(statement, "value", None)
                if (
                    any(isinstance(t, ast.Name) and t.id == "model_type" for t in targets)
                    and isinstance(value, ast.Constant)
                    and isinstance(value.value, str)
                ):
                    found[value.value] = module
    return found


def base_names(node: ast.ClassDef) -> list[str]:
    """The base classes of a class definition, as written (last component of dotted names)."""
    names = []
    for base in node.bases:
        if isinstance(base, ast.Name):
            names.append(base.id)
        elif isinstance(base, ast.Attribute):
            names.append(base.attr)
    return names


def model_classes(model_dir: Path) -> dict[str, Path]:
    """
    Exported classes that derive, directly or through the folder's own classes, from `PreTrainedModel`, without the
    `XPreTrainedModel` base itself (the classes upstream's `check_repo.py` calls models).
    """
    classes: dict[str, tuple[list[str], Path]] = {}
    for module in model_modules(model_dir):
        for node in parse_python(module).body:
            if isinstance(node, ast.ClassDef):
                classes[node.name] = (base_names(node), module)
    derived = {"PreTrainedModel"}
    changed = True
    while changed:
        changed = False
        for name, (bases, _) in classes.items():
            if name not in derived and derived.intersection(bases):
                derived.add(name)
                changed = True
    exported = exported_objects(model_dir)
    return {
        name: classes[name][1]
        for name in sorted(derived)
        if name in classes and name in exported and not name.endswith("PreTrainedModel")
    }


# ---------------------------------------------------------------------------------------------------------------
# The model page
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AutodocBlock:
    """One `[[autodoc]] Name` block of a page, with the methods listed under it."""

    name: str
    methods: tuple[str, ...]
    line: int


_AUTODOC = re.compile(r"^(\s*)\[\[autodoc\]\]\s+(\S+)\s*$")
_METHOD_ITEM = re.compile(r"^(\s*)-\s+(\S+)\s*$")


def autodoc_blocks(text: str) -> list[AutodocBlock]:
    """The `[[autodoc]]` blocks of a page in order, with their `- method` items (the doc-builder's syntax)."""
    lines = text.split("\n")
    blocks = []
    index = 0
    while index < len(lines):
        match = _AUTODOC.match(lines[index])
        index += 1
        if match is None:
            continue
        indent, name, start = len(match.group(1)), match.group(2), index
        methods = []
        while index < len(lines):
            item = _METHOD_ITEM.match(lines[index])
            if item is not None and len(item.group(1)) > indent:
                methods.append(item.group(2))
            elif lines[index].strip():
                break
            index += 1
        blocks.append(AutodocBlock(name, tuple(methods), start))
    return blocks


# ---------------------------------------------------------------------------------------------------------------
# Docstrings
# ---------------------------------------------------------------------------------------------------------------

_SECTION = re.compile(r"^(\s*)(Args|Arguments|Parameters|Attributes):\s*$")
_ARGUMENT = re.compile(r"^(\s*)\**(\w+)\s*(\((.*)\))?\s*:")
_DEFAULT = re.compile(r"defaults to\s+`([^`]*)`")


@dataclass(frozen=True)
class DocumentedArgument:
    name: str
    header: str

    @property
    def default(self) -> str | None:
        """The value after "defaults to" in the argument's header, without backquotes, when there is one."""
        match = _DEFAULT.search(self.header)
        return match.group(1) if match else None


def documented_arguments(docstring: str | None) -> dict[str, DocumentedArgument]:
    """
    The arguments a docstring documents in its `Args:`/`Parameters:` sections (upstream's format: one
    ``name (`type`, *optional*, defaults to `value`):`` line per argument, the description indented below it).
    """
    arguments: dict[str, DocumentedArgument] = {}
    lines = (docstring or "").expandtabs().split("\n")
    index = 0
    while index < len(lines):
        section = _SECTION.match(lines[index])
        index += 1
        if section is None:
            continue
        section_indent = len(section.group(1))
        argument_indent = None
        while index < len(lines):
            line = lines[index]
            if line.strip():
                indent = len(line) - len(line.lstrip())
                if indent <= section_indent:
                    break
                if argument_indent is None:
                    argument_indent = indent
                match = _ARGUMENT.match(line)
                if indent == argument_indent and match is not None:
                    arguments[match.group(2)] = DocumentedArgument(match.group(2), line.strip())
            index += 1
    return arguments


# ---------------------------------------------------------------------------------------------------------------
# The toctree
# ---------------------------------------------------------------------------------------------------------------


def load_toctree(path: Path) -> list:
    import yaml

    try:
        content = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ValueError(f"{relative(path)}: not valid YAML ({error})") from error
    if not isinstance(content, list):
        raise ValueError(f"{relative(path)}: a toctree is a YAML list of sections")
    return content


def find_section(sections: list, title: str, where: str) -> dict:
    """The unique section titled `title` in `sections`; `where` names the place for the error message."""
    found = [s for s in sections if isinstance(s, dict) and s.get("title") == title]
    if len(found) != 1:
        raise ValueError(f"{where} has {len(found)} sections titled {title!r}, expected exactly one")
    if not isinstance(found[0].get("sections"), list):
        raise ValueError(f"{where} > {title} has no `sections` list")
    return found[0]


def model_doc_modalities(toctree: list, path: Path) -> list[dict]:
    """The modality sections (Text models, Vision models, ...) under API > Models, as upstream's toctree nests them."""
    api = find_section(toctree, "API", relative(path))
    models = find_section(api["sections"], "Models", f"{relative(path)}: API")
    return [s for s in models["sections"] if isinstance(s, dict) and "sections" in s]


def toctree_entry(toctree: list, path: Path, local: str) -> tuple[str, dict] | None:
    """The modality title and the entry whose `local` is `local`, or None when the toctree lacks it."""
    for modality in model_doc_modalities(toctree, path):
        for entry in modality["sections"]:
            if isinstance(entry, dict) and entry.get("local") == local:
                return modality["title"], entry
    return None
