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
Fixtures of the consistency-check tests: a copy of Arlow's contribution (model folder, tests, page, toctree) in a
temporary folder that each test breaks in one way, and a runner for the `utils/check_*.py` scripts.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest


REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "utils"))


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def run_check(name: str, *args, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Runs `utils/<name>.py` with `args` from the repository root, as the Makefile does, without an upstream checkout."""
    environment = {k: v for k, v in os.environ.items() if k != "TRANSFORMERS_UPSTREAM_CHECKOUT"}
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / "utils" / f"{name}.py"), *map(str, args)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        env={**environment, "HF_HUB_OFFLINE": "1", **(env or {})},
        timeout=600,
    )


@dataclass
class Contribution:
    root: Path

    model_dir = property(lambda self: self.root / "src" / "transformers" / "models" / "arlow")
    test_dir = property(lambda self: self.root / "tests" / "models" / "arlow")
    page = property(lambda self: self.root / "docs" / "source" / "en" / "model_doc" / "arlowgpt.md")

    @property
    def args(self) -> list:
        return ["--model_dir", self.model_dir, "--test_dir", self.test_dir, "--page", self.page]

    def edit(self, path: Path, old: str, new: str) -> None:
        """Replaces the one occurrence of `old` in `path` by `new`."""
        text = path.read_text(encoding="utf-8")
        assert text.count(old) == 1, f"{old!r} is not in {path.name} exactly once"
        path.write_text(text.replace(old, new), encoding="utf-8")


@pytest.fixture
def arlow(tmp_path) -> Contribution:
    copy = Contribution(tmp_path)
    ignore = shutil.ignore_patterns("__pycache__", "fixtures")
    shutil.copytree(REPO_ROOT / "src/transformers/models/arlow", copy.model_dir, ignore=ignore)
    shutil.copytree(REPO_ROOT / "tests/models/arlow", copy.test_dir, ignore=ignore)
    shutil.copytree(REPO_ROOT / "docs/source/en", copy.page.parent.parent)
    return copy
