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
Checks the docstrings of the model's public objects, as rendered (`@auto_docstring` having filled in what it knows),
as upstream's `utils/check_docstrings.py` and `utils/check_config_docstrings.py` do: every exported object, and every
other object the page documents by path, has a docstring; each argument of its signature (a class's constructor, less
what a configuration inherits from `PreTrainedConfig`; the `forward` of each model class) is documented; nothing is
documented that a signature without `**kwargs` lacks; a "defaults to `...`" matches the default; no docstring kept
`@auto_docstring`'s `ModelConfig` placeholder; and a configuration names its checkpoint in a
`[owner/name](https://huggingface.co/owner/name)` link (from `@auto_docstring(checkpoint=...)`). `--fix_and_overwrite`
corrects stale defaults written literally in the source, as upstream's fix mode does; the rest needs a person.
`utils/build_docs.py` applies the same docstring rules to every object the docs build renders.
"""

from __future__ import annotations

import importlib
import inspect
import re
import sys
from pathlib import Path

from arlow_repo_paths import REPO_ROOT, autodoc_blocks, documented_arguments, model_modules, relative, run_check


PLACEHOLDER_CONFIG = "[`ModelConfig`]"
CHECKPOINT_LINK = re.compile(r"\[([\w.-]+/[\w.-]+)\]\(https://huggingface\.co/([\w.-]+/[\w.-]+)/?\)")


def objects_to_check(module_names: list[str], page: Path, reload: bool = False) -> dict[str, object]:
    """The modules' `__all__` and the page's `models.<...>` autodoc paths into them; `reload` after a fix."""
    modules = {name: importlib.import_module(name) for name in module_names}
    if reload:
        importlib.invalidate_caches()
        modules = {name: importlib.reload(module) for name, module in modules.items()}
    names = [(name, attribute) for name, module in modules.items() for attribute in getattr(module, "__all__", [])]
    if page.is_file():
        names += [f"transformers.{b.name}".rsplit(".", 1) for b in autodoc_blocks(page.read_text(encoding="utf-8"))]
    return {
        f"{module}.{attribute}": getattr(modules[module], attribute)
        for module, attribute in names
        if module in modules and hasattr(modules[module], attribute)
    }


def signature_parameters(obj) -> tuple[list[inspect.Parameter], bool] | None:
    """The named parameters to document and whether the signature takes `**kwargs` (None: no signature)."""
    try:
        parameters = list(inspect.signature(obj).parameters.values())
    except (TypeError, ValueError):
        return None
    variadic = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    named = [p for p in parameters if p.name != "self" and p.kind not in variadic]
    if inspect.isclass(obj):
        from transformers import PreTrainedConfig

        if issubclass(obj, PreTrainedConfig):
            inherited = set(inspect.signature(PreTrainedConfig).parameters) - set(
                obj.__dict__.get("__annotations__", {})
            )
            named = [p for p in named if p.name not in inherited]
    return named, any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)


def same_default(documented: str, actual) -> bool:
    documented = documented.strip().strip("\"'")
    if isinstance(actual, (str, bool)) or actual is None:
        return documented == str(actual)
    if isinstance(actual, (int, float)):
        try:
            return float(documented) == float(actual)
        except ValueError:
            return False
    return True  # objects without a faithful text form (factories, callables) are not compared


def docstring_problems(name: str, obj, label: str, where: str) -> tuple[list[str], list[tuple[str, str, str]]]:
    """The problems of one docstring, and the (file, stale header, fixed header) replacements a fix can make."""
    doc = obj.__doc__
    if not doc or not doc.strip():
        return [f"{where}: {label} has no docstring"], []
    problems, fixes = [], []
    if PLACEHOLDER_CONFIG in doc:
        problems.append(
            f"{where}: {label}'s rendered docstring names the placeholder {PLACEHOLDER_CONFIG}: @auto_docstring did "
            "not find the model's configuration class (a folder named unlike its model type needs an entry in "
            "HARDCODED_CONFIG_FOR_MODELS of utils/auto_docstring.py)"
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
        header, stated = documented[parameter.name]
        if stated is not None and parameter.default is not inspect.Parameter.empty:
            if not same_default(stated, parameter.default):
                problems.append(
                    f"{where}: {label} documents `{parameter.name}` as defaulting to `{stated}`, but the signature's "
                    f"default is {parameter.default!r}"
                )
                fixes.append((where, header, header.replace(f"`{stated}`", f"`{parameter.default}`", 1)))
    if not has_kwargs:
        names = {p.name for p in named}
        problems += [
            f"{where}: {label} documents `{argument}`, which its signature does not have"
            for argument in documented
            if argument not in names
        ]
    return problems, fixes


def checkpoint_problems(obj, label: str, where: str) -> list[str]:
    """Upstream's `check_config_docstrings.py`: a configuration links the checkpoint it describes."""
    from transformers import PreTrainedConfig

    if not (inspect.isclass(obj) and issubclass(obj, PreTrainedConfig)):
        return []
    if any(text == link for text, link in CHECKPOINT_LINK.findall(obj.__doc__ or "")):
        return []
    return [
        f'{where}: {label} names no checkpoint: decorate it with `@auto_docstring(checkpoint="owner/name")` (or link '
        "`[owner/name](https://huggingface.co/owner/name)` in its docstring)"
    ]


def source_file(obj) -> str:
    try:
        return relative(Path(inspect.getsourcefile(inspect.unwrap(obj))))
    except TypeError:
        return "<unknown file>"


def collect(args) -> tuple[list[str], list[tuple[str, str, str]]]:
    from transformers import PreTrainedModel

    modules = args.modules or [
        f"transformers.models.{Path(args.model_dir).name}.{p.stem}" for p in model_modules(args.model_dir)
    ]
    try:
        objects = objects_to_check(modules, Path(args.page), reload=getattr(args, "modules_rewritten", False))
    except ImportError as error:
        return [f"cannot import the modules to check ({error})"], []
    problems, fixes = [], []
    for name, obj in objects.items():
        short = name.rsplit(".", 1)[-1]
        targets = [(obj, short)]
        if inspect.isclass(obj) and issubclass(obj, PreTrainedModel) and not short.endswith("PreTrainedModel"):
            targets.append((obj.forward, f"{short}.forward"))
        for target, label in targets:
            found, replacements = docstring_problems(name, target, label, source_file(target))
            problems += found + checkpoint_problems(target, label, source_file(target))
            fixes += replacements
    return problems, fixes


def check(args) -> list[str]:
    return collect(args)[0]


def fix(args) -> list[str]:
    changed = []
    for where, stale, fixed in collect(args)[1]:
        path = REPO_ROOT / where  # `where` is absolute for a file outside the repository
        if path.is_file() and (text := path.read_text(encoding="utf-8")).count(stale) == 1:
            path.write_text(text.replace(stale, fixed), encoding="utf-8")
            changed.append(f"{where}: {stale!r} -> {fixed!r}")
    args.modules_rewritten = bool(changed)
    return changed


if __name__ == "__main__":
    sys.exit(
        run_check(check, fix, lambda parser: parser.add_argument("--modules", nargs="*", help="modules to check"))
    )
