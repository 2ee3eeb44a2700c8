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
What the tests of `utils/` share: `utils/` on the import path, runners for its scripts, git as a throwaway user, and a
copy of Arlow's contribution (model folder, tests, docs) in a temporary folder that a test breaks in one way.
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


def run(command: list, cwd: Path = REPO_ROOT, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Runs `command` as the Makefile does: offline, and without an upstream checkout unless `env` names one."""
    environment = {k: v for k, v in os.environ.items() if k != "TRANSFORMERS_UPSTREAM_CHECKOUT"}
    environment |= {"HF_HUB_OFFLINE": "1", **(env or {})}
    return subprocess.run(
        list(map(str, command)), cwd=cwd, capture_output=True, text=True, env=environment, timeout=900
    )


def run_util(name: str, *args, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Runs `utils/<name>.py args` in the repository."""
    return run([sys.executable, REPO_ROOT / "utils" / f"{name}.py", *args], env=env)


def git(cwd: Path, *args: str, date: str = "2026-01-01") -> str:
    """Runs `git args` in `cwd` as a throwaway user, committing on `date`; fails the test on an error."""
    env = {**os.environ, "GIT_AUTHOR_DATE": f"{date}T12:00:00", "GIT_COMMITTER_DATE": f"{date}T12:00:00"}
    command = ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args]
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env)
    assert result.returncode == 0, f"git {' '.join(args)}: {result.stderr}"
    return result.stdout


def commit_all(root: Path, date: str = "2026-01-01") -> None:
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "files"]):
        git(root, *args, date=date)


@dataclass
class Contribution:
    root: Path

    model_dir = property(lambda self: self.root / "src" / "transformers" / "models" / "arlow")
    test_dir = property(lambda self: self.root / "tests" / "models" / "arlow")
    page = property(lambda self: self.root / "docs" / "source" / "en" / "model_doc" / "arlowgpt.md")
    args = property(lambda self: ["--model_dir", self.model_dir, "--test_dir", self.test_dir, "--page", self.page])

    def edit(self, path: str | Path, old: str | None, new: str) -> None:
        """Replaces the one `old` in `path` (under the copy) by `new`; appends `new` when `old` is None."""
        path = self.root / path
        text = path.read_text(encoding="utf-8")
        assert old is None or text.count(old) == 1, f"{old!r} is not in {path.name} exactly once"
        path.write_text(text + new if old is None else text.replace(old, new), encoding="utf-8")


@pytest.fixture
def arlow(tmp_path) -> Contribution:
    copy = Contribution(tmp_path)
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(REPO_ROOT / "src/transformers/models/arlow", copy.model_dir, ignore=ignore)
    shutil.copytree(REPO_ROOT / "tests/models/arlow", copy.test_dir, ignore=ignore)
    shutil.copytree(REPO_ROOT / "docs/source/en", copy.page.parent.parent)
    return copy
