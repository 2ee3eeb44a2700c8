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
Checks the docstrings of the model's public objects agree with their signatures, as upstream's
`utils/check_docstrings.py` does, on the docstrings as rendered (so `@auto_docstring` has filled in the arguments it
knows): every exported object, and every other object the model page documents, has a docstring; each argument of its
signature (a class's constructor, without the fields a configuration inherits from `PreTrainedConfig`; the `forward`
of each model class) is documented; no documented argument is missing from a signature without `**kwargs`; the
"defaults to `...`" of an argument matches its default; and no docstring kept `@auto_docstring`'s `ModelConfig`
placeholder, the sign that it could not find the model's configuration class. `--fix_and_overwrite` corrects stale
defaults written literally in the source, as upstream's fix mode does; the rest needs a person.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import sys
from pathlib import Path

from arlow_repo_paths import (
    DOC_PAGE,
    MODEL_DIR,
    REPO_ROOT,
    autodoc_blocks,
    documented_arguments,
    model_modules,
    relative,
    run_check,
)


PLACEHOLDER_CONFIG = "[`ModelConfig`]"


def default_modules(model_dir: Path) -> list[str]:
    return [f"transformers.models.{model_dir.name}.{path.stem}" for path in model_modules(model_dir)]


def objects_to_check(module_names: list[str], page: Path, reload: bool = False) -> list[tuple[str, object]]:
    """
    (qualified name, object) for the modules' `__all__` and the page's `models.<...>` autodoc paths into them; `reload`
    re-executes the modules (after the fix mode rewrote them).
    """
    objects = {}
    modules = {name: importlib.import_module(name) for name in module_names}
    if reload:
        importlib.invalidate_caches()
        modules = {name: importlib.reload(module) for name, module in modules.items()}
    for name, module in modules.items():
        for attribute in getattr(module, "__all__", []):
            objects[f"{name}.{attribute}"] = getattr(module, attribute)
    if page.is_file():
        for block in autodoc_blocks(page.read_text(encoding="utf-8")):
            module_name, _, attribute = f"transformers.{block.name}".rpartition(".")
            if module_name in modules and hasattr(modules[module_name], attribute):
                objects[f"{module_name}.{attribute}"] = getattr(modules[module_name], attribute)
    return list(objects.items())


def signature_parameters(obj) -> tuple[list[inspect.Parameter], bool] | None:
    """The named parameters to document and whether the signature takes `**kwargs` (None: no signature)."""
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):
        return None
    parameters = list(signature.parameters.values())
    has_kwargs = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)
    named = [
        p
        for p in parameters
        if p.name != "self" and p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    ]
    if inspect.isclass(obj):
        from transformers import PreTrainedConfig

        if issubclass(obj, PreTrainedConfig):
            inherited = set(inspect.signature(PreTrainedConfig).parameters)
            named = [p for p in named if p.name not in inherited or p.name in obj.__dict__.get("__annotations__", {})]
    return named, has_kwargs


def same_default(documented: str, actual) -> bool:
    documented = documented.strip().strip("\"'")
    if isinstance(actual, str):
        return documented == actual
    if isinstance(actual, bool) or actual is None:
        return documented == str(actual)
    if isinstance(actual, (int, float)):
        try:
            return float(documented) == float(actual)
        except ValueError:
            return False
    return True  # objects without a faithful text form (dataclass fields with factories, callables) are not compared


def is_model_class(obj) -> bool:
    if not inspect.isclass(obj):
        return False
    try:
        from transformers import PreTrainedModel
    except ImportError:
        return False
    return inspect.isclass(obj) and issubclass(obj, PreTrainedModel) and not obj.__name__.endswith("PreTrainedModel")


def source_file(obj) -> str:
    try:
        return relative(Path(inspect.getsourcefile(inspect.unwrap(obj))))
    except TypeError:
        return "<unknown file>"


def docstring_problems(name: str, obj, label: str, where: str) -> tuple[list[str], list[tuple[str, str, str]]]:
    """Problems of one docstring, and the (file, stale header, fixed header) replacements a fix could make."""
    doc = obj.__doc__
    if not doc or not doc.strip():
        return [f"{where}: {label} has no docstring"], []
    problems, fixes = [], []
    if PLACEHOLDER_CONFIG in doc:
        problems.append(
            f"{where}: {label}'s rendered docstring names the placeholder {PLACEHOLDER_CONFIG}: @auto_docstring did "
            "not find the model's configuration class (a model folder named differently from its model type needs "
            "an entry in HARDCODED_CONFIG_FOR_MODELS of utils/auto_docstring.py)"
        )
    parameters = signature_parameters(obj)
    if parameters is None:
        return problems, fixes
    named, has_kwargs = parameters
    documented = documented_arguments(doc)
    for parameter in named:
        if parameter.name not in documented:
            problems.append(f"{where}: {label} does not document its argument `{parameter.name}`")
            continue
        stated = documented[parameter.name].default
        if (
            stated is not None
            and parameter.default is not inspect.Parameter.empty
            and not same_default(stated, parameter.default)
        ):
            problems.append(
                f"{where}: {label} documents `{parameter.name}` as defaulting to `{stated}`, but the signature's "
                f"default is {parameter.default!r}"
            )
            header = documented[parameter.name].header
            fixes.append((where, header, header.replace(f"`{stated}`", f"`{parameter.default}`", 1)))
    if not has_kwargs:
        names = {p.name for p in named}
        problems += [
            f"{where}: {label} documents `{argument}`, which its signature does not have"
            for argument in documented
            if argument not in names
        ]
    return problems, fixes


def collect(args: argparse.Namespace) -> tuple[list[str], list[tuple[str, str, str]]]:
    module_names = args.modules or default_modules(Path(args.model_dir))
    problems, fixes = [], []
    try:
        objects = objects_to_check(module_names, Path(args.page), reload=getattr(args, "modules_rewritten", False))
    except ImportError as error:
        return [f"cannot import the modules to check ({error})"], []
    for name, obj in objects:
        short = name.rsplit(".", 1)[-1]
        found, replacements = docstring_problems(name, obj, short, source_file(obj))
        problems += found
        fixes += replacements
        if is_model_class(obj):
            found, replacements = docstring_problems(name, obj.forward, f"{short}.forward", source_file(obj.forward))
            problems += found
            fixes += replacements
    return problems, fixes


def check(args: argparse.Namespace) -> list[str]:
    return collect(args)[0]


def fix(args: argparse.Namespace) -> list[str]:
    changed = []
    for where, stale, fixed in collect(args)[1]:
        path = Path(where) if Path(where).is_absolute() else REPO_ROOT / where
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        if text.count(stale) == 1:
            path.write_text(text.replace(stale, fixed), encoding="utf-8")
            changed.append(f"{where}: {stale!r} -> {fixed!r}")
    args.modules_rewritten = bool(changed)
    return changed


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model_dir", type=Path, default=MODEL_DIR, help="the model folder (default: Arlow's)")
    parser.add_argument("--modules", nargs="*", help="importable modules to check (default: the model folder's)")
    parser.add_argument("--page", type=Path, default=DOC_PAGE, help="the model page (default: Arlow's)")


if __name__ == "__main__":
    sys.exit(run_check("check_docstrings", __doc__.strip().split("\n\n")[0], check, fix, add_arguments))
