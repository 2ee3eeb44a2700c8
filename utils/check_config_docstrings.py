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
Checks every configuration class names a checkpoint, as upstream's `utils/check_config_docstrings.py` does: either
through `@auto_docstring(checkpoint="owner/name")`, which writes the link into the rendered docstring, or with a
`[owner/name](https://huggingface.co/owner/name)` link in the docstring whose text and address agree. No fix mode
(upstream has none).
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from pathlib import Path

from arlow_repo_paths import MODEL_DIR, base_names, parse_python, relative, run_check


CONFIG_BASES = {"PreTrainedConfig", "PretrainedConfig"}
CHECKPOINT_LINK = re.compile(r"\[(.+?)\]\((https://huggingface\.co/.+?)\)")
CHECKPOINT_NAME = re.compile(r"^[\w.-]+(/[\w.-]+)?$")


def decorator_checkpoint(node: ast.ClassDef) -> str | None:
    """The `checkpoint=` argument of an `@auto_docstring(...)` decorator on the class, if any."""
    for decorator in node.decorator_list:
        if isinstance(decorator, ast.Call) and getattr(decorator.func, "id", None) == "auto_docstring":
            for keyword in decorator.keywords:
                if keyword.arg == "checkpoint" and isinstance(keyword.value, ast.Constant):
                    return keyword.value.value
    return None


def docstring_checkpoint(node: ast.ClassDef) -> str | None:
    """The first `[name](https://huggingface.co/name)` link of the docstring whose text and address agree."""
    for name, link in CHECKPOINT_LINK.findall(ast.get_docstring(node) or ""):
        if link.rstrip("/") == f"https://huggingface.co/{name}":
            return name
    return None


def check(args: argparse.Namespace) -> list[str]:
    model_dir = Path(args.model_dir)
    config_files = sorted(model_dir.glob("configuration_*.py"))
    if not config_files:
        return [f"{relative(model_dir)} has no configuration_*.py"]
    problems = []
    for config_file in config_files:
        for node in parse_python(config_file).body:
            if not isinstance(node, ast.ClassDef) or not CONFIG_BASES.intersection(base_names(node)):
                continue
            checkpoint = decorator_checkpoint(node) or docstring_checkpoint(node)
            if checkpoint is None:
                problems.append(
                    f"{relative(config_file)}: {node.name} names no checkpoint; decorate it with "
                    '`@auto_docstring(checkpoint="owner/name")` or link '
                    "`[owner/name](https://huggingface.co/owner/name)` "
                    "in its docstring"
                )
            elif not CHECKPOINT_NAME.match(checkpoint):
                problems.append(f"{relative(config_file)}: {node.name} names {checkpoint!r}, not a checkpoint id")
    return problems


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model_dir", type=Path, default=MODEL_DIR, help="the model folder (default: Arlow's)")


if __name__ == "__main__":
    sys.exit(run_check("check_config_docstrings", __doc__.strip().split("\n\n")[0], check, None, add_arguments))
