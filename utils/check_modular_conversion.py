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
Checks that `modeling_arlow.py` is exactly what upstream's modular converter writes from `modular_arlow.py`.

Mirrors upstream's `utils/check_modular_conversion.py` (run by `make repo-consistency`), which regenerates every
`modeling_*.py` from its `modular_*.py` with `utils/modular_model_converter.py` and fails on any difference.

The converter is upstream's own code and is not part of this repository, so the check has two modes:

- with `TRANSFORMERS_UPSTREAM_CHECKOUT` naming an upstream checkout, it runs upstream's `check_modular_conversion.py`
  on a copy of that checkout with the contribution applied (`--fix_and_overwrite` runs upstream's converter instead
  and writes the result back here, recording it in `utils/modular_conversion_record.json`);
- without one, it checks what can be checked offline: the generated file carries the converter's header, the modular
  file and the generated file are the ones recorded at the last conversion (a hand edit of either shows as a
  mismatch), and every function and method written in the modular file appears unchanged in the generated file.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from arlow_repo_paths import MODEL_DIR, REPO_ROOT, parse_python, relative, run_check
from run_upstream_checks import CHECKOUT_ENV, PreparationError, prepare_trees, upstream_tool_environment


MODULAR_FILE = MODEL_DIR / "modular_arlow.py"
GENERATED_FILES = (MODEL_DIR / "modeling_arlow.py",)
RECORD = REPO_ROOT / "utils" / "modular_conversion_record.json"
MODULAR_IN_TREE = "src/transformers/models/arlow/modular_arlow.py"
# The first lines upstream's converter writes at the top of every file it generates
GENERATED_HEADER_LINE = f"#           This file was automatically generated from {MODULAR_IN_TREE}."


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def read_record(record: Path) -> dict:
    if not record.is_file():
        return {}
    return json.loads(record.read_text(encoding="utf-8"))


def write_record(record: Path, modular: Path, generated: tuple[Path, ...], converter: str) -> None:
    content = {
        "converter": converter,
        "modular": {modular.name: sha256(modular)},
        "generated": {path.name: sha256(path) for path in generated},
    }
    record.write_text(json.dumps(content, indent=2) + "\n", encoding="utf-8")


def calls_super(function: ast.AST) -> bool:
    return any(
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "super"
        for node in ast.walk(function)
    )


def written_definitions(tree: ast.Module, copied_as_written: bool = False) -> dict[str, str]:
    """
    The functions and methods a module writes out, keyed by qualified name (`Class.method` or `function`), as the
    dump of their syntax tree (comments and formatting do not count, code and docstrings do).

    With `copied_as_written`, the module is a modular file and only what the converter copies unchanged is kept: a
    method calling `super()` in a class that inherits from another model's class is merged with the parent's code
    (its `super()` call unrolled), so it is left out.
    """
    local_classes = {node.name for node in tree.body if isinstance(node, ast.ClassDef)}
    definitions = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            definitions[node.name] = ast.dump(node)
        elif isinstance(node, ast.ClassDef):
            inherits_other_model = any(
                not (isinstance(base, ast.Name) and base.id in local_classes) for base in node.bases
            )
            for item in node.body:
                if not isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    continue
                if copied_as_written and inherits_other_model and calls_super(item):
                    continue
                definitions[f"{node.name}.{item.name}"] = ast.dump(item)
    return definitions


def offline_problems(modular: Path, generated: tuple[Path, ...], record_path: Path) -> list[str]:
    problems = []
    regenerate = (
        f"edit {relative(modular)} and regenerate with upstream's converter "
        f"({CHECKOUT_ENV}=<checkout> python utils/check_modular_conversion.py --fix_and_overwrite)"
    )
    for path in generated:
        if GENERATED_HEADER_LINE not in path.read_text(encoding="utf-8").splitlines()[:6]:
            problems.append(f"{relative(path)} does not start with the converter's header naming {MODULAR_IN_TREE}")

    record = read_record(record_path)
    if not record:
        return problems + [f"{relative(record_path)} is missing: {regenerate}"]
    if record.get("modular", {}).get(modular.name) != sha256(modular):
        problems.append(f"{relative(modular)} changed since {relative(record_path)} was written: {regenerate}")
    else:
        for path in generated:
            if record.get("generated", {}).get(path.name) != sha256(path):
                problems.append(
                    f"{relative(path)} differs from what the converter wrote (edited by hand?): {regenerate}"
                )

    # Whatever the record says, the code written in the modular file must reach the generated files unchanged: the
    # converter renames only inherited code, so a method written out in the modular file is copied as it is.
    written = written_definitions(parse_python(modular), copied_as_written=True)
    generated_definitions = {}
    for path in generated:
        generated_definitions.update(written_definitions(parse_python(path)))
    for name, dump in sorted(written.items()):
        if name not in generated_definitions:
            problems.append(
                f"{name}, written in {relative(modular)}, is missing from the generated file: {regenerate}"
            )
        elif generated_definitions[name] != dump:
            problems.append(f"{name} differs between {relative(modular)} and the generated file: {regenerate}")
    return problems


def run_upstream_tool(checkout: Path, script: str, generated: tuple[Path, ...] = ()) -> tuple[int, str]:
    """
    Runs one of upstream's modular tools on Arlow's modular file in the patched copy of `checkout` that
    `run_upstream_checks.prepare_trees` makes (branch `main` the untouched checkout, the patch committed on top, as
    upstream's `check_modular_conversion.py` expects). Copies the tree's version of each of `generated` back into the
    repository where it differs. Returns the tool's exit status and output.
    """
    with tempfile.TemporaryDirectory(prefix="arlow-modular-") as workdir:
        _, tree = prepare_trees(checkout, Path(workdir))
        command = [sys.executable, script, "--files", MODULAR_IN_TREE, "--num_workers", "1"]
        result = subprocess.run(command, cwd=tree, env=upstream_tool_environment(tree), capture_output=True, text=True)
        for path in generated:
            output = tree / "src" / "transformers" / "models" / "arlow" / path.name
            if result.returncode == 0 and output.read_bytes() != path.read_bytes():
                shutil.copyfile(output, path)
    return result.returncode, result.stdout + result.stderr


def upstream_problems(checkout: Path) -> list[str]:
    returncode, output = run_upstream_tool(checkout, "utils/check_modular_conversion.py")
    if returncode == 0:
        return []
    return [f"upstream's utils/check_modular_conversion.py on {checkout} failed:\n{output}"]


def regenerate(checkout: Path, modular: Path, generated: tuple[Path, ...], record: Path) -> list[str]:
    before = {path: path.read_bytes() for path in generated}
    returncode, output = run_upstream_tool(checkout, "utils/modular_model_converter.py", generated)
    if returncode != 0:
        raise RuntimeError(f"upstream's modular_model_converter.py failed:\n{output}")
    write_record(record, modular, generated, converter=f"utils/modular_model_converter.py of {checkout}")
    return [relative(path) for path in generated if path.read_bytes() != before[path]]


def upstream_checkout() -> Path | None:
    value = os.environ.get(CHECKOUT_ENV)
    return Path(value) if value else None


def check(args: argparse.Namespace) -> list[str]:
    generated = tuple(args.generated)
    problems = offline_problems(args.modular, generated, args.record)
    checkout = upstream_checkout()
    if checkout is not None and args.modular == MODULAR_FILE:
        try:
            problems += upstream_problems(checkout)
        except PreparationError as error:
            problems.append(f"upstream's check could not run: {error}")
    return problems


def fix(args: argparse.Namespace) -> list[str]:
    checkout = upstream_checkout()
    if checkout is None:
        print(
            f"check_modular_conversion: regenerating needs upstream's converter: set {CHECKOUT_ENV} to an "
            "upstream checkout; checking only."
        )
        return []
    return regenerate(checkout, args.modular, tuple(args.generated), args.record)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--modular", type=Path, default=MODULAR_FILE, help="the modular file (default: Arlow's)")
    parser.add_argument(
        "--generated", type=Path, nargs="+", default=list(GENERATED_FILES), help="the files generated from it"
    )
    parser.add_argument("--record", type=Path, default=RECORD, help="the record of the last conversion")


if __name__ == "__main__":
    sys.exit(run_check("check_modular_conversion", __doc__.strip().split("\n\n")[0], check, fix, add_arguments))
