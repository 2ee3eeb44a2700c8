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
Checks the model's entries in the Auto registries of the integrated tree, mirroring the registry rules of upstream's
`utils/check_repo.py` and `utils/check_auto.py`: every entry `utils/integrated_tree.py` inserts is present exactly once
and at its alphabetical place; the names it maps to are classes the model folder exports (a configuration class in
`CONFIG_MAPPING_NAMES`, model classes in the modeling mappings, a tokenizer class in `TOKENIZER_MAPPING_NAMES`); the
model type's module name is the model folder; every model class sits in at least one modeling mapping; and the model
type of every mapping is a key of `CONFIG_MAPPING_NAMES`. `--fix_and_overwrite` rewrites the registry files as
`utils/integrated_tree.py build` does (pristine release plus the entries).
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

import integrated_tree
from arlow_repo_paths import (
    INTEGRATED_TREE,
    MODEL_DIR,
    MODEL_TYPE,
    base_names,
    exported_objects,
    model_classes,
    parse_python,
    relative,
    run_check,
)


AUTO = "src/transformers/models/auto"
MODELS_INIT = "src/transformers/models/__init__.py"


def mapping_pairs(tree: ast.Module, mapping: str) -> list[tuple[str, list[str]]] | None:
    """
    `(key, [class names])` of `MAPPING = OrderedDict([...])` (or a plain dict) in order, or None when the file has no
    such mapping.
    """
    for node in tree.body:
        if not (isinstance(node, ast.Assign) and any(getattr(t, "id", None) == mapping for t in node.targets)):
            continue
        call = node.value
        if isinstance(call, ast.Dict):  # a plain `{key: "ClassName"}` registry
            return [
                (key.value, [value.value])
                for key, value in zip(call.keys, call.values)
                if isinstance(key, ast.Constant) and isinstance(value, ast.Constant)
            ]
        if not (isinstance(call, ast.Call) and call.args and isinstance(call.args[0], (ast.List, ast.Tuple))):
            return None
        pairs = []
        for element in call.args[0].elts:
            if isinstance(element, ast.Tuple) and len(element.elts) == 2 and isinstance(element.elts[0], ast.Constant):
                names = [
                    n.value
                    for n in ast.walk(element.elts[1])
                    if isinstance(n, ast.Constant) and isinstance(n.value, str)
                ]
                pairs.append((element.elts[0].value, names))
        return pairs
    return None


def type_checking_imports(tree: ast.Module) -> list[str] | None:
    """The packages `models/__init__.py` star-imports under `if TYPE_CHECKING:`."""
    for node in tree.body:
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            return [n.module for n in node.body if isinstance(n, ast.ImportFrom) and n.level == 1 and n.module]
    return None


def exported_kinds(model_dir: Path) -> dict[str, str]:
    """Exported class name -> "config", "model" or "tokenizer" (or "other")."""
    kinds = dict.fromkeys(exported_objects(model_dir), "other")
    kinds.update(dict.fromkeys(model_classes(model_dir), "model"))
    for module in sorted(model_dir.glob("*.py")):
        for node in parse_python(module).body:
            if isinstance(node, ast.ClassDef) and node.name in kinds and kinds[node.name] == "other":
                if {"PreTrainedConfig", "PretrainedConfig"}.intersection(base_names(node)):
                    kinds[node.name] = "config"
                elif "Tokenizer" in node.name:
                    kinds[node.name] = "tokenizer"
            elif isinstance(node, ast.Assign) and "Tokenizer" in ast.unparse(node.value):
                # `ArlowTokenizerFast = ArlowTokenizer`: an alias of the tokenizer class
                for target in node.targets:
                    if getattr(target, "id", None) in kinds:
                        kinds[target.id] = "tokenizer"
    return kinds


def expected_kind(mapping: str) -> str:
    if mapping in ("CONFIG_MAPPING_NAMES", "HARDCODED_CONFIG_FOR_MODELS"):
        return "config"
    if mapping == "TOKENIZER_MAPPING_NAMES":
        return "tokenizer"
    return "model"


def entry_problems(tree_root: Path, entry, kinds: dict[str, str], model_dir: Path) -> list[str]:
    path = tree_root / entry.file
    where = relative(path)
    if not path.is_file():
        return [f"{where} does not exist (is {relative(tree_root)} an integrated tree?)"]
    tree = parse_python(path)
    if entry.mapping == "TYPE_CHECKING":
        packages = type_checking_imports(tree)
        if packages is None:
            return [f"{where}: no `if TYPE_CHECKING:` block"]
        return order_problems(where, "the TYPE_CHECKING imports", packages, entry.key)
    pairs = mapping_pairs(tree, entry.mapping)
    if pairs is None:
        return [f"{where}: no `{entry.mapping} = OrderedDict([...])` mapping"]
    keys = [key for key, _ in pairs]
    if entry.keep_sorted:
        problems = order_problems(where, entry.mapping, keys, entry.key)
    else:
        count = keys.count(entry.key)
        problems = (
            [] if count == 1 else [f"{where}: {entry.mapping} has {count} entries for {entry.key!r}, expected one"]
        )
    for key, names in pairs:
        if key != entry.key:
            continue
        if entry.mapping == "SPECIAL_MODEL_TYPE_TO_MODULE_NAME":
            if names != [model_dir.name]:
                problems.append(
                    f"{where}: {entry.mapping}[{key!r}] is {names}, not the model folder {model_dir.name!r}"
                )
            continue
        if not names:
            problems.append(f"{where}: {entry.mapping}[{key!r}] names no class")
        for name in names:
            kind = kinds.get(name)
            if kind is None:
                problems.append(
                    f"{where}: {entry.mapping}[{key!r}] names {name}, which no module of {relative(model_dir)} exports"
                )
            elif kind != expected_kind(entry.mapping):
                problems.append(
                    f"{where}: {entry.mapping}[{key!r}] names {name}, a {kind} class where a "
                    f"{expected_kind(entry.mapping)} class belongs"
                )
    return problems


def order_problems(where: str, mapping: str, keys: list[str], key: str) -> list[str]:
    count = keys.count(key)
    if count != 1:
        return [f"{where}: {mapping} has {count} entries for {key!r}, expected exactly one"]
    index = keys.index(key)
    before = keys[index - 1] if index > 0 else None
    after = keys[index + 1] if index + 1 < len(keys) else None
    if (before is not None and before > key) or (after is not None and after < key):
        return [f"{where}: {mapping} entry {key!r} is out of alphabetical order (between {before!r} and {after!r})"]
    return []


def coverage_problems(tree_root: Path, model_dir: Path, model_type: str) -> list[str]:
    """Every model class is in a modeling mapping; every modeling mapping's model type is a configuration key."""
    modeling_auto = tree_root / AUTO / "modeling_auto.py"
    auto_mappings = tree_root / AUTO / "auto_mappings.py"
    if not modeling_auto.is_file() or not auto_mappings.is_file():
        return []
    tree = parse_python(modeling_auto)
    mapped, model_types = set(), set()
    for node in tree.body:
        for target in getattr(node, "targets", []):
            name = getattr(target, "id", "")
            if name.startswith("MODEL_") and name.endswith("_MAPPING_NAMES"):
                for key, names in mapping_pairs(tree, name) or []:
                    if key == model_type:
                        mapped.update(names)
                        model_types.add(key)
    problems = [
        f"{relative(path)}: {name} is in no MODEL_*_MAPPING_NAMES of {relative(modeling_auto)} for {model_type!r}"
        for name, path in model_classes(model_dir).items()
        if name not in mapped
    ]
    config_keys = {key for key, _ in mapping_pairs(parse_python(auto_mappings), "CONFIG_MAPPING_NAMES") or []}
    problems += [
        f"{relative(modeling_auto)}: model type {key!r} is mapped but is not a key of CONFIG_MAPPING_NAMES"
        for key in sorted(model_types - config_keys)
    ]
    return problems


def check(args: argparse.Namespace) -> list[str]:
    tree_root, model_dir = Path(args.tree), Path(args.model_dir)
    if not model_dir.is_dir():
        return [f"{relative(model_dir)} does not exist"]
    kinds = exported_kinds(model_dir)
    problems = []
    for entry in integrated_tree.REGISTRY_ENTRIES:
        problems += entry_problems(tree_root, entry, kinds, model_dir)
    return problems + coverage_problems(tree_root, model_dir, args.model_type)


def fix(args: argparse.Namespace) -> list[str]:
    tree_root = Path(args.tree)
    if not (tree_root / ".pristine").is_dir():
        return []
    changed = []
    for file, text in integrated_tree.edited_registry_files(tree_root / ".pristine").items():
        path = tree_root / file
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            changed.append(f"{relative(path)}: registry entries rewritten")
    return changed


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tree", type=Path, default=INTEGRATED_TREE, help="the integrated tree (default: build/)")
    parser.add_argument("--model_dir", type=Path, default=MODEL_DIR, help="the model folder (default: Arlow's)")
    parser.add_argument("--model_type", default=MODEL_TYPE, help="the model type (default: Arlow's)")


if __name__ == "__main__":
    sys.exit(run_check("check_auto_registry", __doc__.strip().split("\n\n")[0], check, fix, add_arguments))
