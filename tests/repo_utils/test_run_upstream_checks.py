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
Tests of `utils/run_upstream_checks.py` without an upstream checkout: how it normalises a check's output and tells the
contribution's findings from a checkout's own failures, on small fake outputs and a fake checkout.
"""

import textwrap
from pathlib import Path

import pytest
import run_upstream_checks as upstream
from conftest import write
from run_upstream_checks import CheckRun, compare, normalise_output


def output(text):
    return normalise_output(text, [Path("/tmp/work/untouched"), Path("/tmp/work/patched")])


def test_normalise_output_removes_what_differs_between_the_trees_for_no_reason():
    patched = (
        "\x1b[1;31mError\x1b[0m in /tmp/work/patched/src/a.py:12\nHead at 0123456789abcdef0123456789abcdef01234567\n\n"
    )
    untouched = "Error in /tmp/work/untouched/src/a.py:12\nHead at fedcba9876543210fedcba9876543210fedcba98\n"
    expected = ["Error in <tree>/src/a.py:12", "Head at <sha>", "Checked 3 files in <duration>"]
    assert (
        output(patched + "Checked 3 files in 2.51s\n") == output(untouched + "Checked 3 files in 0.7s\n") == expected
    )


UNTOUCHED = "Some model doc pages do not match any existing model type:\nfoo is not a proper model identifier.\n"
NEW_LINES = "arlow is not a proper model identifier. Did you mean arlowgpt?\nmodeling_auto.py:88: unsorted mapping\n"
CHECKOUT_DRIFT = "Traceback (most recent call last):\nImportError: cannot import name 'is_torch_fx_proxy'\n"


@pytest.mark.parametrize(
    "untouched, patched, verdict, findings",
    [
        ((1, CHECKOUT_DRIFT), (1, CHECKOUT_DRIFT), "fails on the untouched tree too", []),
        ((1, UNTOUCHED), (1, UNTOUCHED + NEW_LINES), "finding", NEW_LINES.splitlines()),
        ((0, "Running the check\n"), (1, "Running the check\n"), "finding", ["Running the check"]),  # no new line
    ],
    ids=["the checkout's own failure", "lines only on the patched tree", "failure only on the patched tree"],
)
def test_compare_reports_only_what_the_patch_causes(untouched, patched, verdict, findings):
    result = compare("check", CheckRun(untouched[0], output(untouched[1])), CheckRun(patched[0], output(patched[1])))
    assert (result.verdict, result.findings) == (verdict, findings)


# As upstream's check_repo.py: stages called in turn, the first failing one (here on the checkout itself) raising
# before the one that looks at the model, which is nested in a later stage.
FAKE_CHECK_REPO = """
import pathlib

def check_models_are_tested():
    raise ValueError("llama4 has no test file")

def check_model_type_doc_match():
    bad = [n for n in pathlib.Path("src/transformers/models/registry.txt").read_text().split() if n != "llama"]
    if bad:
        raise ValueError("\\n".join(f"{n} is not a proper model identifier." for n in bad))

def check_all_objects_are_documented():
    raise ValueError("LlamaThing is not documented")
    check_model_type_doc_match()

def check_repo_quality():
    check_models_are_tested()
    check_all_objects_are_documented()
"""
REGISTRY_PATCH = """diff --git a/src/transformers/models/registry.txt b/src/transformers/models/registry.txt
--- a/src/transformers/models/registry.txt
+++ b/src/transformers/models/registry.txt
@@ -1 +1,2 @@
 llama
+arlow
"""


def test_fake_checkout_end_to_end(tmp_path, monkeypatch):
    """Two fake checks on a tiny fake checkout: one fails on its own, one fails only because of the patch."""
    checkout = tmp_path / "checkout"
    write(checkout / "src" / "transformers" / "__init__.py", "")
    write(checkout / "src" / "transformers" / "models" / "registry.txt", "llama\n")
    write(checkout / "utils" / "check_copies.py", "import sys\nprint('drift: utils newer than src')\nsys.exit(1)\n")
    write(checkout / "utils" / "check_repo.py", textwrap.dedent(FAKE_CHECK_REPO))
    monkeypatch.setattr(upstream, "write_patch", lambda checkout_dir, path: write(path, REGISTRY_PATCH))
    args = [
        "--checkout",
        checkout,
        "--checks",
        "copies,repo",
        "--work_dir",
        tmp_path / "w",
        "--json",
        tmp_path / "r.json",
    ]
    assert upstream.main(list(map(str, args))) == 1
    report = (tmp_path / "r.json").read_text(encoding="utf-8")
    assert '"verdict": "fails on the untouched tree too"' in report
    assert '"arlow is not a proper model identifier."' in report
    # every stage ran, the nested one too, though the first raised on both trees
    assert '"stage check_models_are_tested: ValueError"' in report
    assert '"stage check_model_type_doc_match: ValueError"' in report
