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
Checks that `modeling_arlow.py` is exactly what upstream's modular converter writes from `modular_arlow.py`, as
upstream's `utils/check_modular_conversion.py` does by regenerating every `modeling_*.py` and failing on a difference.
The converter is upstream's code, not this repository's, so:

- with `TRANSFORMERS_UPSTREAM_CHECKOUT` naming an upstream checkout, upstream's check runs on a copy of that checkout
  with the contribution applied; `--fix_and_overwrite` runs upstream's converter there instead, writes the result back
  here and records both files' hashes in `utils/modular_conversion_record.json`;
- without one (CI), the generated file must carry the converter's header, and both files must be the ones recorded at
  the last conversion: a hand edit of the generated file, or a modular edit not regenerated, shows as a mismatch.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from arlow_repo_paths import MODEL_DIR, REPO_ROOT, relative, run_check
from run_upstream_checks import CHECKOUT_ENV, PreparationError, prepare_trees, upstream_tool_environment


MODULAR_FILE = MODEL_DIR / "modular_arlow.py"
GENERATED_FILES = (MODEL_DIR / "modeling_arlow.py",)
RECORD = REPO_ROOT / "utils" / "modular_conversion_record.json"
MODULAR_IN_TREE = "src/transformers/models/arlow/modular_arlow.py"
# The line upstream's converter writes near the top of every file it generates
GENERATED_HEADER_LINE = f"#           This file was automatically generated from {MODULAR_IN_TREE}."


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def write_record(record: Path, modular: Path, generated: tuple[Path, ...], converter: str) -> None:
    content = {
        "converter": converter,
        "modular": {modular.name: sha256(modular)},
        "generated": {path.name: sha256(path) for path in generated},
    }
    record.write_text(json.dumps(content, indent=2) + "\n", encoding="utf-8")


def offline_problems(modular: Path, generated: tuple[Path, ...], record_path: Path) -> list[str]:
    regenerate = (
        f"edit {relative(modular)} and regenerate with upstream's converter "
        f"({CHECKOUT_ENV}=<checkout> python utils/check_modular_conversion.py --fix_and_overwrite)"
    )
    problems = [
        f"{relative(path)} does not start with the converter's header naming {MODULAR_IN_TREE}"
        for path in generated
        if GENERATED_HEADER_LINE not in path.read_text(encoding="utf-8").splitlines()[:6]
    ]
    if not record_path.is_file():
        return problems + [f"{relative(record_path)} is missing: {regenerate}"]
    record = json.loads(record_path.read_text(encoding="utf-8"))
    if record.get("modular", {}).get(modular.name) != sha256(modular):
        return problems + [f"{relative(modular)} changed since {relative(record_path)} was written: {regenerate}"]
    return problems + [
        f"{relative(path)} differs from what the converter wrote (edited by hand?): {regenerate}"
        for path in generated
        if record.get("generated", {}).get(path.name) != sha256(path)
    ]


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


def check(args) -> list[str]:
    generated = tuple(args.generated)
    problems = offline_problems(args.modular, generated, args.record)
    checkout = upstream_checkout()
    if checkout is not None and args.modular == MODULAR_FILE:
        try:
            problems += upstream_problems(checkout)
        except PreparationError as error:
            problems.append(f"upstream's check could not run: {error}")
    return problems


def fix(args) -> list[str]:
    checkout = upstream_checkout()
    if checkout is None:
        print(
            f"check_modular_conversion: regenerating needs upstream's converter: set {CHECKOUT_ENV} to an "
            "upstream checkout; checking only."
        )
        return []
    return regenerate(checkout, args.modular, tuple(args.generated), args.record)


def add_arguments(parser) -> None:
    parser.add_argument("--modular", type=Path, default=MODULAR_FILE, help="the modular file (default: Arlow's)")
    parser.add_argument("--generated", type=Path, nargs="+", default=list(GENERATED_FILES), help="files made from it")
    parser.add_argument("--record", type=Path, default=RECORD, help="the record of the last conversion")


if __name__ == "__main__":
    sys.exit(run_check(check, fix, add_arguments))
