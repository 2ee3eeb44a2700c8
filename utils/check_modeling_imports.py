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
Checks the model folder's modules import nothing from other models' folders (upstream's one-model-one-file policy,
which `transformers-mlinter` rule TRF009 also enforces for relative imports) and never import `flash_attn`: flash
attention is an optional backend picked with `attn_implementation`, loaded lazily by transformers' integrations, so
the model builds and trains where flash-attn is not installed. Imports are found anywhere in a module (inside
functions and `try` blocks too), in relative, absolute and `importlib.import_module("...")` form. The `auto` package
is allowed (the registry, not another model's implementation), and so are `modular_*.py` files (the converter's input,
which imports from other models by design). No fix mode.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

from arlow_repo_paths import MODEL_DIR, parse_python, relative, run_check


ALLOWED_MODEL_PACKAGES = {"auto"}
FORBIDDEN_TOP_LEVEL = {"flash_attn", "flash_attn_interface"}


def imported_modules(tree: ast.Module, package: list[str]) -> list[tuple[int, str]]:
    """(line, absolute dotted module) for every import in `tree`; `package` is the module's package, as a list."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.append((node.lineno, module))
            # `from .. import llama` names a package through the imported name
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names if alias.name != "*"]
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            function = node.func
            name = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", "")
            if name in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                found.append((node.lineno, node.args[0].value))
    return found


def module_problems(path: Path, model_name: str) -> list[str]:
    package = ["transformers", "models", model_name]
    problems = []
    reported = set()
    for line, module in imported_modules(parse_python(path), package):
        if line in reported:
            continue
        parts = module.split(".")
        if parts[0] in FORBIDDEN_TOP_LEVEL:
            problems.append(
                f"{relative(path)}:{line}: imports `{module}`; flash attention must be chosen with "
                "`attn_implementation` and loaded by transformers' integrations, never imported by the model"
            )
            reported.add(line)
        elif parts[:2] == ["transformers", "models"] and len(parts) > 2:
            other = parts[2]
            if other not in (model_name, *ALLOWED_MODEL_PACKAGES):
                problems.append(
                    f"{relative(path)}:{line}: imports `{module}` from another model's folder (`models/{other}`); "
                    "copy what is needed into the model's own files instead"
                )
                reported.add(line)
    return problems


def check(args: argparse.Namespace) -> list[str]:
    model_dir = Path(args.model_dir)
    # Modular files are the input of upstream's converter and import from other models by design
    modules = sorted(p for p in model_dir.glob("*.py") if not p.name.startswith("modular_"))
    if not modules:
        return [f"{relative(model_dir)} holds no Python module"]
    problems = []
    for module in modules:
        try:
            problems += module_problems(module, model_dir.name)
        except ValueError as error:
            problems.append(str(error))
    return problems


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model_dir", type=Path, default=MODEL_DIR, help="the model folder (default: Arlow's)")


if __name__ == "__main__":
    sys.exit(run_check("check_modeling_imports", __doc__.strip().split("\n\n")[0], check, None, add_arguments))
