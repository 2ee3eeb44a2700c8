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
Tests of `utils/run_upstream_checks.py` without an upstream checkout: how it reads a check's arguments, normalises its
output, and tells the contribution's findings from a checkout's own failures, on small fake outputs and fake checkouts.
"""

import sys
import textwrap
from pathlib import Path

from conftest import REPO_ROOT, write


sys.path.insert(0, str(REPO_ROOT / "utils"))

import run_upstream_checks as upstream  # noqa: E402
from run_upstream_checks import CheckRun, compare, normalise_output  # noqa: E402


TREES = [Path("/tmp/work/untouched"), Path("/tmp/work/patched")]


def output(text):
    return normalise_output(text, TREES)


def test_normalise_output_removes_what_differs_between_the_trees_for_no_reason():
    patched = output(
        "\x1b[1;31mError\x1b[0m in /tmp/work/patched/src/transformers/models/llama/modeling_llama.py:12\n"
        "Current head is at 0123456789abcdef0123456789abcdef01234567\n\n"
        "Checked 3 files in 2.51s\n"
    )
    untouched = output(
        "Error in /tmp/work/untouched/src/transformers/models/llama/modeling_llama.py:12\n"
        "Current head is at fedcba9876543210fedcba9876543210fedcba98\n"
        "Checked 3 files in 0.7s\n"
    )
    assert (
        patched
        == untouched
        == [
            "Error in <tree>/src/transformers/models/llama/modeling_llama.py:12",
            "Current head is at <sha>",
            "Checked 3 files in <duration>",
        ]
    )


def test_failure_of_the_checkout_itself_is_not_a_finding():
    drift = output("Traceback (most recent call last):\nImportError: cannot import name 'is_torch_fx_proxy'\n")
    result = compare("repo", CheckRun(1, drift), CheckRun(1, list(drift)))
    assert result.verdict == "fails on the untouched tree too"
    assert result.findings == []


def test_lines_only_on_the_patched_tree_or_naming_the_model_are_findings():
    untouched = output(
        "Some model doc pages do not match any existing model type:\nfoo is not a proper model identifier.\n"
    )
    patched = output(
        "Some model doc pages do not match any existing model type:\n"
        "foo is not a proper model identifier.\n"
        "arlow is not a proper model identifier. Did you mean arlowgpt?\n"
        "src/transformers/models/auto/modeling_auto.py:88: unsorted mapping\n"
    )
    result = compare("repo", CheckRun(1, untouched), CheckRun(1, patched))
    assert result.verdict == "finding"
    assert result.findings == [
        "arlow is not a proper model identifier. Did you mean arlowgpt?",
        "src/transformers/models/auto/modeling_auto.py:88: unsorted mapping",
    ]


def test_failure_only_on_the_patched_tree_is_a_finding_even_without_new_lines():
    lines = output("Running the check\n")
    result = compare("dummies", CheckRun(0, lines), CheckRun(1, list(lines)))
    assert result.verdict == "finding"
    assert result.findings == ["Running the check"]


def test_fake_checkout_end_to_end(tmp_path, monkeypatch):
    """Two fake checks on a tiny fake checkout: one fails on its own, one fails only because of the patch."""
    checkout = tmp_path / "checkout"
    write(checkout / "src" / "transformers" / "__init__.py", "")
    write(checkout / "src" / "transformers" / "models" / "registry.txt", "llama\n")
    write(
        checkout / "utils" / "check_copies.py",
        "import sys\nprint('drift: utils newer than src')\nsys.exit(1)\n",
    )
    # as upstream's check_repo.py: stages called in turn, the first failing one (here on the checkout itself) raising
    # before the one that looks at the model, which is nested in a later stage
    write(
        checkout / "utils" / "check_repo.py",
        textwrap.dedent(
            """
            import pathlib


            def check_models_are_tested():
                raise ValueError("llama4 has no test file")


            def check_model_type_doc_match():
                names = pathlib.Path("src/transformers/models/registry.txt").read_text().split()
                bad = [n for n in names if n != "llama"]
                if bad:
                    raise ValueError("\\n".join(f"{n} is not a proper model identifier." for n in bad))


            def check_all_objects_are_documented():
                raise ValueError("LlamaThing is not documented")
                check_model_type_doc_match()


            def check_repo_quality():
                print("Repository-wide checks:")
                check_models_are_tested()
                check_all_objects_are_documented()


            if __name__ == "__main__":
                check_repo_quality()
            """
        ),
    )

    def fake_patch(checkout_dir, output_path):
        output_path.write_text(
            "diff --git a/src/transformers/models/registry.txt b/src/transformers/models/registry.txt\n"
            "--- a/src/transformers/models/registry.txt\n"
            "+++ b/src/transformers/models/registry.txt\n"
            "@@ -1 +1,2 @@\n"
            " llama\n"
            "+arlow\n",
            encoding="utf-8",
        )

    monkeypatch.setattr(upstream, "write_patch", fake_patch)
    json_path = tmp_path / "report.json"
    status = upstream.main(
        [
            "--checkout",
            str(checkout),
            "--checks",
            "copies,repo",
            "--work_dir",
            str(tmp_path / "w"),
            "--json",
            str(json_path),
        ]
    )
    assert status == 1
    report = json_path.read_text(encoding="utf-8")
    assert '"verdict": "fails on the untouched tree too"' in report
    assert '"arlow is not a proper model identifier."' in report
    # every stage ran, the nested one too, though the first raised on both trees
    assert '"stage check_models_are_tested: ValueError"' in report
    assert '"stage check_model_type_doc_match: ValueError"' in report
