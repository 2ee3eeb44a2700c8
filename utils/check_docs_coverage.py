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
Checks the model page documents the model's public objects, as `check_all_objects_are_documented` and
`check_public_method_exists` in upstream's `utils/check_repo.py` do: every name the model folder exports through
`__all__` has an `[[autodoc]]` block (upstream's exemptions apply: `XPreTrainedModel`, names ending in `Layer`,
`Attention`, `Embeddings`, `Encoder`, `Decoder`, and constants); every `[[autodoc]]` names an object that exists (an
exported name, or a `models.<folder>.<module>.<name>` path to a top-level definition) and appears once; every method
listed under a block is defined by its class; and the page is named after the model type its configuration declares,
not after the module folder (`check_model_type_doc_match`: `openai-gpt.md` documents the folder `openai`). No fix mode
(upstream has none).
"""

from __future__ import annotations

import argparse
import ast
import importlib
import sys
from collections import Counter
from difflib import get_close_matches
from pathlib import Path

from arlow_repo_paths import (
    DOC_PAGE,
    MODEL_DIR,
    autodoc_blocks,
    config_model_types,
    exported_objects,
    parse_python,
    relative,
    run_check,
    top_level_definitions,
)


UNDOCUMENTED_SUFFIXES = ("PreTrainedModel", "Layer", "Attention", "Embeddings", "Encoder", "Decoder")


def needs_documentation(name: str) -> bool:
    return not (name.isupper() or name.startswith("_") or name.endswith(UNDOCUMENTED_SUFFIXES))


def resolve(name: str, model_dir: Path, exported: dict[str, Path]) -> tuple[Path, ast.AST] | str:
    """The module and definition an autodoc name points at, or a message saying why it does not resolve."""
    parts = name.split(".")
    if len(parts) == 1:
        if name not in exported:
            return f"`[[autodoc]] {name}` names no object of the model folder's `__all__`"
        module = exported[name]
    else:
        if parts[0] == "transformers":
            parts = parts[1:]
        if len(parts) != 4 or parts[:2] != ["models", model_dir.name]:
            return (
                f"`[[autodoc]] {name}` is not a path `models.{model_dir.name}.<module>.<name>` into the model folder"
            )
        module = model_dir / f"{parts[2]}.py"
        if not module.is_file():
            return f"`[[autodoc]] {name}`: {relative(module)} does not exist"
    definition = top_level_definitions(module).get(parts[-1])
    if definition is None:
        return f"`[[autodoc]] {name}`: {relative(module)} defines no top-level {parts[-1]}"
    return module, definition


def class_defines(module: Path, node: ast.ClassDef, method: str, model_dir: Path) -> bool:
    """Whether the class (or a base class defined in the model folder) defines `method`; imports it otherwise."""
    if any(isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)) and s.name == method for s in node.body):
        return True
    folder_classes = {}
    for path in sorted(model_dir.glob("*.py")):
        folder_classes.update({n.name: n for n in parse_python(path).body if isinstance(n, ast.ClassDef)})
    bases = [getattr(b, "id", getattr(b, "attr", None)) for b in node.bases]
    if any(b in folder_classes and class_defines(module, folder_classes[b], method, model_dir) for b in bases):
        return True
    # Inherited from transformers itself (e.g. `GenericForSequenceClassification.forward`): ask the imported class
    try:
        imported = importlib.import_module(f"transformers.models.{model_dir.name}.{module.stem}")
    except ImportError:
        return False
    if Path(imported.__file__).resolve() != module.resolve():
        return False
    return callable(getattr(getattr(imported, node.name, None), method, None))


def page_name_problems(page: Path, model_dir: Path) -> list[str]:
    """
    Upstream's `check_model_type_doc_match`: a model page is named after a model type (a key of `CONFIG_MAPPING_NAMES`,
    which is the config's `model_type`), not after the module folder, e.g. `openai-gpt.md` for the folder `openai`.
    """
    try:
        model_types = config_model_types(model_dir)
    except ValueError as error:
        return [str(error)]
    if not model_types:
        return [f"{relative(model_dir)}: no configuration class sets `model_type`, so the page name cannot be checked"]
    if page.stem in model_types:
        return []
    close = get_close_matches(page.stem, list(model_types))
    hint = f" Did you mean {'/'.join(close)}?" if close else ""
    expected = " or ".join(f"{model_type}.md" for model_type in sorted(model_types))
    return [
        f"{relative(page)}: {page.stem} is not a proper model identifier.{hint} The page must be named after the "
        f"model type ({relative(model_types[sorted(model_types)[0]])} sets it): {expected}"
    ]


def check(args: argparse.Namespace) -> list[str]:
    page, model_dir = Path(args.page), Path(args.model_dir)
    if not page.is_file():
        return [f"{relative(page)} does not exist"]
    blocks = autodoc_blocks(page.read_text(encoding="utf-8"))
    exported = exported_objects(model_dir)
    where = relative(page)
    problems = []
    problems += page_name_problems(page, model_dir)
    counts = Counter(block.name for block in blocks)
    problems += [f"{where}: `[[autodoc]] {name}` appears {n} times" for name, n in counts.items() if n > 1]
    documented = {block.name.split(".")[-1] for block in blocks}
    problems += [
        f"{where}: {name} (exported by {relative(module)}) has no `[[autodoc]] {name}` block"
        for name, module in exported.items()
        if needs_documentation(name) and name not in documented
    ]
    for block in blocks:
        resolved = resolve(block.name, model_dir, exported)
        if isinstance(resolved, str):
            problems.append(f"{where}:{block.line}: {resolved}")
            continue
        module, definition = resolved
        if block.methods and not isinstance(definition, ast.ClassDef):
            problems.append(f"{where}:{block.line}: {block.name} is not a class, but methods are listed under it")
            continue
        if len(set(block.methods)) != len(block.methods):
            problems.append(f"{where}:{block.line}: {block.name} lists a method twice")
        for method in block.methods:
            if method in ("all", "none"):
                continue
            if not class_defines(module, definition, method, model_dir):
                problems.append(f"{where}:{block.line}: {block.name} has no method `{method}` to document")
    return problems


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--page", type=Path, default=DOC_PAGE, help="the model page (default: Arlow's)")
    parser.add_argument("--model_dir", type=Path, default=MODEL_DIR, help="the model folder (default: Arlow's)")


if __name__ == "__main__":
    sys.exit(run_check("check_docs_coverage", __doc__.strip().split("\n\n")[0], check, None, add_arguments))
