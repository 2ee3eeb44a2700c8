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
Runs upstream's own repository-consistency checks on the contribution, as a reviewer would: the upstream checkout named
by `TRANSFORMERS_UPSTREAM_CHECKOUT` (or `--checkout`) is copied into a git repository whose `main` is the untouched
checkout, the project's upstream patch is committed on a branch of it, and each check of upstream's
`make check-repository-consistency` / `check-code-quality` that applies to a model runs on both trees. A checkout newer
or older than the pinned release fails some checks on its own, so only the lines of a failing check that appear only on
the patched tree or name the model are reported. Exit status 1 when there is such a finding, 2 when the trees cannot be
prepared.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from integrated_tree import MISSING_SDIST_TEST_HELPERS, git, write_upstream_patch
from integrated_tree import UPSTREAM_CHECKOUT_ENV as CHECKOUT_ENV
from integrated_tree import IntegratedTreeError as PreparationError  # e.g. no checkout, git failed


REPO_ROOT = Path(__file__).resolve().parent.parent
# A line names the contribution when it names the model folder, class prefix or model type (arlow, Arlow, arlowgpt).
MODEL_PATTERN = re.compile(r"arlow", re.IGNORECASE)
PATCH_BRANCH = "arlow-contribution"
BASELINE_BRANCH = "untouched"

# (name in upstream's Makefile, script under utils/, arguments when the script declares no CHECKER_CONFIG). The
# arguments upstream's `utils/checkers.py` passes are read from the script's CHECKER_CONFIG when it has one.
UPSTREAM_CHECKS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("copies", "check_copies.py", ()),
    ("modular_conversion", "check_modular_conversion.py", ()),
    ("dummies", "check_dummies.py", ()),
    ("repo", "check_repo.py", ()),
    ("inits", "check_inits.py", ()),
    ("config_docstrings", "check_config_docstrings.py", ()),
    ("config_attributes", "check_config_attributes.py", ()),
    ("doctest_list", "check_doctest_list.py", ()),
    ("docstrings", "check_docstrings.py", ()),
    ("doc_toc", "check_doc_toc.py", ()),
    ("add_dates", "add_dates.py", ("--check-only",)),
    ("modeling_structure", "check_modeling_structure.py", ("--rules-toml", "utils/rules.toml")),
    ("auto_mappings", "check_auto.py", ()),
    ("sort_auto_mappings", "sort_auto_mappings.py", ("--check_only",)),
    ("model_tester", "check_model_tester.py", ()),
)

# Checks whose entry point calls several stages and stops at the first that raises: on a checkout that fails an early
# stage on its own, the later ones (e.g. `check_model_type_doc_match` of `check_repo.py`) would never look at the
# model. They run stage by stage instead: each call of the entry point, and each argument-free `check_*` function such
# a stage calls, in its own `try`.
STAGED_CHECKS = {"check_repo.py": "check_repo_quality"}
STAGE_RUNNER = """
import ast, sys, traceback
sys.path.insert(0, "utils")
script, entry = sys.argv[1], sys.argv[2]
module = __import__(script[:-3])
functions = {n.name: n for n in ast.parse(open("utils/" + script, encoding="utf-8").read()).body
             if isinstance(n, ast.FunctionDef)}
def calls(name):
    found = [c.func.id for c in ast.walk(functions[name]) if isinstance(c, ast.Call) and isinstance(c.func, ast.Name)]
    return [f for f in dict.fromkeys(found) if f in functions and not functions[f].args.args and f != name]
stages = []
for stage in calls(entry):
    stages += [stage] + [f for f in calls(stage) if f.startswith("check_")]
failed = 0
for stage in dict.fromkeys(stages):
    try:
        getattr(module, stage)()
        print(f"stage {stage}: ok")
    except Exception as error:
        failed += 1
        print(f"stage {stage}: {type(error).__name__}")
        print(str(error) or traceback.format_exc())
sys.exit(1 if failed else 0)
"""

# Checks that import every model's test module and stop at the first one this environment cannot import (upstream's
# `check_model_tester.py` meets a missing optional dependency such as `librosa` long before it reaches the model, in an
# order set by the file system). They run on the model's own test modules instead, on both trees: the `glob.glob`
# call that lists the modules returns those the pattern matches in the tree (none on the untouched one).
MODEL_SCOPED_CHECKS = {"check_model_tester.py": "tests/models/arlow/test_modeling_*.py"}
MODEL_SCOPED_RUNNER = """
import glob, runpy, sys
sys.path.insert(0, "utils")
script, model_pattern = sys.argv[1], sys.argv[2]
list_files = glob.glob
glob.glob = lambda pattern, *args, **kwargs: sorted(list_files(model_pattern))
print(f"test modules: {glob.glob(model_pattern)}")
runpy.run_path("utils/" + script, run_name="__main__")
"""

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# A unified diff's hunk positions move when the patch adds lines above the hunk; its lines are what matters.
_HUNK = re.compile(r"^@@ -\d+(,\d+)? \+\d+(,\d+)? @@", re.MULTILINE)
_SHA = re.compile(r"\b[0-9a-f]{40}\b")
_DURATION = re.compile(r"\b\d+(\.\d+)?\s?(s|sec|seconds|ms)\b")


# Comparing the two runs of a check


@dataclass
class CheckRun:
    """One check's run on one tree: its exit status and its output, one normalised line per entry."""

    returncode: int | None  # None: the script is not in this checkout
    lines: list[str] = field(default_factory=list)
    timed_out: bool = False

    @property
    def failed(self) -> bool:
        return self.timed_out or self.returncode not in (None, 0)


@dataclass
class Comparison:
    """What one check says about the contribution."""

    name: str
    verdict: str  # "finding", "passes", "fails on the untouched tree too", "not run"
    findings: list[str]
    untouched: CheckRun
    patched: CheckRun

    def summary(self) -> str:
        return f"{self.name}: {self.verdict}"


def normalise_output(text: str, trees: list[Path]) -> list[str]:
    """
    The output's non-empty lines with what differs between two runs of the same check for no reason removed: the
    temporary trees' paths, colour codes, commit hashes and durations.
    """
    for tree in sorted(trees, key=lambda p: len(str(p)), reverse=True):
        text = text.replace(str(tree), "<tree>")
    text = _HUNK.sub("@@ <hunk> @@", _DURATION.sub("<duration>", _SHA.sub("<sha>", _ANSI.sub("", text))))
    return [line.rstrip() for line in text.splitlines() if line.strip()]


def compare(name: str, untouched: CheckRun, patched: CheckRun) -> Comparison:
    """
    The findings of one check on the contribution: when the check fails on the patched tree, its output lines that the
    untouched tree's run does not have, and those naming the model; nothing when it passes there.
    """
    if patched.returncode is None and not patched.timed_out:
        return Comparison(name, "not run", [], untouched, patched)
    if not patched.failed:
        return Comparison(name, "passes", [], untouched, patched)
    baseline = set(untouched.lines)
    findings = [line for line in patched.lines if line not in baseline or MODEL_PATTERN.search(line)]
    findings = list(dict.fromkeys(findings))
    if patched.timed_out and not untouched.timed_out:
        findings.append("(timed out on the patched tree only)")
    if not findings and not untouched.failed:
        # It fails only with the contribution, but says nothing the untouched run did not: show how it ended.
        findings = patched.lines[-10:] or [f"(exit status {patched.returncode}, no output)"]
    if findings:
        return Comparison(name, "finding", findings, untouched, patched)
    return Comparison(name, "fails on the untouched tree too", [], untouched, patched)


def format_report(comparisons: list[Comparison]) -> str:
    """A human-readable report: one line per check, then the findings of each check that has some."""
    out = ["Upstream checks on the contribution (patched tree against the untouched checkout):"]
    for comparison in comparisons:
        extra = ""
        if comparison.verdict == "fails on the untouched tree too":
            extra = " (no line of its output is new or names the model; it may stop before reaching the model)"
        out.append(f"  {comparison.summary()}{extra}")
    for comparison in comparisons:
        if comparison.findings:
            out.append(f"\n{comparison.name}: {len(comparison.findings)} line(s) that the contribution brings:")
            out += [f"    {line}" for line in comparison.findings]
    count = sum(bool(c.findings) for c in comparisons)
    out.append(f"\n{count} check(s) with findings on the contribution.")
    return "\n".join(out)


# Preparing the trees and running the checks


def check_arguments(script: Path, default: tuple[str, ...]) -> list[str]:
    """The `check_args` of the script's CHECKER_CONFIG (what upstream's `make` passes), else `default`."""
    for node in ast.parse(script.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "CHECKER_CONFIG":
            try:
                return [str(argument) for argument in ast.literal_eval(node.value)["check_args"]]
            except (ValueError, KeyError, TypeError):
                break
    return list(default)


def write_patch(checkout: Path, output: Path) -> None:
    """The project's upstream patch, with the toctree entry merged into the checkout's toctree."""
    write_upstream_patch(output, checkout)


def prepare_trees(checkout: Path, work_dir: Path) -> tuple[Path, Path]:
    """
    Copies the checkout to `work_dir/untouched` as a git repository whose `main` is the checkout, on a branch equal to
    `main`, and adds a worktree `work_dir/patched` on a branch with the patch committed, as a pull request would be.
    """
    if not (checkout / "utils").is_dir() or not (checkout / "src" / "transformers").is_dir():
        raise PreparationError(f"{checkout} is not an upstream transformers checkout (no utils/ or src/transformers/)")
    untouched, patched, patch = work_dir / "untouched", work_dir / "patched", work_dir / "arlow-upstream.patch"
    write_patch(checkout, patch)
    shutil.copytree(checkout, untouched, ignore=shutil.ignore_patterns(".git", "__pycache__"), symlinks=True)
    # Without the test helpers 5.23's own mixins import, no model test module built on `CausalLMModelTester` imports.
    # A checkout that lacks one gets the integrated tree's stand-in in both trees, before either is committed, so the
    # patch never carries it.
    for helper, standin in MISSING_SDIST_TEST_HELPERS.items():
        if (untouched / helper).parent.is_dir() and not (untouched / helper).exists():
            shutil.copyfile(REPO_ROOT / standin, untouched / helper)
    git(untouched, "init", "-q", "-b", "main")
    git(untouched, "add", "-A")
    git(untouched, "commit", "-q", "--no-verify", "-m", "upstream checkout")
    git(untouched, "checkout", "-q", "-b", BASELINE_BRANCH)
    git(untouched, "worktree", "add", "-q", "-b", PATCH_BRANCH, str(patched), "main")
    git(patched, "apply", "--binary", "--whitespace=nowarn", str(patch))
    git(patched, "add", "-A")
    git(patched, "commit", "-q", "--no-verify", "-m", "Add Arlow")
    return untouched, patched


def upstream_tool_environment(tree: Path) -> dict[str, str]:
    """
    The environment upstream's tools run in from `tree`'s root, as upstream's Makefile runs them: `transformers`
    imported from the tree's own `src`, and `ruff` (which the checks and the modular converter call by name) from this
    environment.
    """
    return {
        **os.environ,
        "PYTHONPATH": str(tree / "src"),
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        "HF_HUB_OFFLINE": "1",
        "TQDM_DISABLE": "1",
        "NO_COLOR": "1",
        "TERM": "dumb",
        "COLUMNS": "1000",
    }


def run_check(tree: Path, script: str, default_args: tuple[str, ...], timeout: float, trees: list[Path]) -> CheckRun:
    """Runs `utils/<script>` from `tree`'s root the way upstream's Makefile does (its own `src` first on the path)."""
    path = tree / "utils" / script
    if not path.is_file():
        return CheckRun(None)
    env = upstream_tool_environment(tree)
    if script in STAGED_CHECKS:
        command = [sys.executable, "-c", STAGE_RUNNER, script, STAGED_CHECKS[script]]
    elif script in MODEL_SCOPED_CHECKS:
        command = [sys.executable, "-c", MODEL_SCOPED_RUNNER, script, MODEL_SCOPED_CHECKS[script]]
    else:
        command = [sys.executable, str(path), *check_arguments(path, default_args)]
    try:
        completed = subprocess.run(command, cwd=tree, capture_output=True, text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired as expired:  # its output is bytes, whatever `text` says
        text = ((expired.stdout or b"") + (expired.stderr or b"")).decode("utf-8", "replace")
        return CheckRun(None, normalise_output(text, trees), timed_out=True)
    return CheckRun(completed.returncode, normalise_output(completed.stdout + completed.stderr, trees))


def selected_checks(names: str | None) -> list[tuple[str, str, tuple[str, ...]]]:
    if not names:
        return list(UPSTREAM_CHECKS)
    known = {check[0]: check for check in UPSTREAM_CHECKS}
    wanted = [name.strip() for name in names.split(",") if name.strip()]
    unknown = [name for name in wanted if name not in known]
    if unknown:
        raise PreparationError(f"unknown check(s) {', '.join(unknown)}; known: {', '.join(known)}")
    return [known[name] for name in wanted]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="run_upstream_checks.py", description=__doc__.strip().split("\n\n")[0])
    parser.add_argument("--checkout", type=Path, default=os.environ.get(CHECKOUT_ENV) or None, help=f"${CHECKOUT_ENV}")
    parser.add_argument(
        "--checks", default=None, help="comma-separated subset of: " + ", ".join(c[0] for c in UPSTREAM_CHECKS)
    )
    parser.add_argument("--work_dir", type=Path, default=None, help="keep the two trees here (default: a temp dir)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds each check may run on each tree")
    parser.add_argument("--json", type=Path, default=None, help="also write the comparison as JSON here")
    args = parser.parse_args(argv)

    if not args.checkout:
        print(f"run_upstream_checks: set {CHECKOUT_ENV} or pass --checkout (an upstream checkout).", file=sys.stderr)
        return 2
    try:
        checks = selected_checks(args.checks)
        with tempfile.TemporaryDirectory(prefix="arlow-upstream-checks-") as tmp:
            work_dir = args.work_dir or Path(tmp)
            work_dir.mkdir(parents=True, exist_ok=True)
            if any(work_dir.iterdir()):
                raise PreparationError(f"{work_dir} is not empty")
            trees = prepare_trees(args.checkout.resolve(), work_dir)  # untouched, patched
            comparisons = []
            for name, script, default_args in checks:
                start = time.monotonic()
                runs = [run_check(tree, script, default_args, args.timeout, trees) for tree in trees]
                comparisons.append(done := compare(name, *runs))
                print(f"run_upstream_checks: {done.summary()} ({time.monotonic() - start:.0f}s)", flush=True)
    except PreparationError as error:
        print(f"run_upstream_checks: {error}", file=sys.stderr)
        return 2
    print(format_report(comparisons))
    if args.json is not None:
        args.json.write_text(json.dumps([asdict(c) for c in comparisons], indent=2), encoding="utf-8")
    return 1 if any(c.findings for c in comparisons) else 0


if __name__ == "__main__":
    sys.exit(main())
