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
`make fixup` on a fresh clone changes nothing: its check-fix path, `make fix-repo` (every `utils/check_*.py` with
`--fix_and_overwrite`, as `make fixup` runs it after formatting, which `make quality` already proves idempotent), run in a
`git clone` of the committed repository, leaves `git status` empty.
"""

import os
import subprocess
import sys

from conftest import REPO_ROOT


def test_fix_repo_on_a_fresh_clone_changes_nothing(tmp_path):
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO_ROOT), str(clone)], check=True)
    environment = {k: v for k, v in os.environ.items() if k != "TRANSFORMERS_UPSTREAM_CHECKOUT"}
    result = subprocess.run(
        ["make", "-s", "fix-repo", f"PY={sys.executable}"],
        cwd=clone,
        capture_output=True,
        text=True,
        env={**environment, "HF_HUB_OFFLINE": "1"},
        timeout=900,
    )
    output = result.stdout + result.stderr
    checks = sorted(path.stem for path in (clone / "utils").glob("check_*.py"))
    assert checks and all(f"{name}: " in output for name in checks), output
    assert "Traceback" not in output, output
    status = subprocess.run(["git", "status", "--porcelain"], cwd=clone, capture_output=True, text=True, check=True)
    assert status.stdout == "", f"`make fix-repo` changed a fresh clone:\n{status.stdout}\n{output}"
