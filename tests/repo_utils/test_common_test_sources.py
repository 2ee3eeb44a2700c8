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
Where the integrated tree takes the common test modules the sdist lacks from: an upstream checkout named by
`TRANSFORMERS_UPSTREAM_CHECKOUT`, else the project's stand-ins; the root conftest's header that reports it; and the
table naming the upstream test each stand-in test mirrors. Only `overlay_sources()` / `describe_common_test_sources()`
run here: no tree is built.
"""

import ast
import importlib.util
import os
import shutil
import sys
from pathlib import Path

import pytest


REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "utils"))

import integrated_tree  # noqa: E402
from integrated_tree import (  # noqa: E402
    MISSING_COMMON_TEST_MODULES,
    MISSING_SDIST_TEST_HELPERS,
    SOURCES_RECORD,
    UPSTREAM_CHECKOUT_ENV,
    IntegratedTreeError,
)


STANDINS_DIR = REPO_ROOT / "tests" / "standins"
ALL_STAND_INS = {**MISSING_COMMON_TEST_MODULES, **MISSING_SDIST_TEST_HELPERS}


@pytest.fixture
def fake_checkout(tmp_path):
    """An upstream-checkout-shaped folder holding the four modules, each with recognisable content."""
    checkout = tmp_path / "transformers-checkout"
    for tree_path in MISSING_COMMON_TEST_MODULES:
        target = checkout / tree_path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("{}\n" if target.suffix == ".json" else f"# upstream {tree_path}\n", encoding="utf-8")
    return checkout


@pytest.fixture
def no_checkout(monkeypatch):
    monkeypatch.delenv(UPSTREAM_CHECKOUT_ENV, raising=False)


def test_without_a_checkout_the_stand_ins_are_used(no_checkout):
    sources = integrated_tree.overlay_sources()
    for tree_path, standin in ALL_STAND_INS.items():
        assert sources[tree_path] == REPO_ROOT / standin
        assert sources[tree_path].is_file(), f"the stand-in {standin} is missing"
        assert sources[tree_path].is_relative_to(STANDINS_DIR)
    lines = integrated_tree.describe_common_test_sources()
    assert lines == [
        f"{tree_path}: project stand-in ({REPO_ROOT / standin})" for tree_path, standin in ALL_STAND_INS.items()
    ]


def test_a_checkout_named_by_the_environment_replaces_every_stand_in(fake_checkout, monkeypatch):
    monkeypatch.setenv(UPSTREAM_CHECKOUT_ENV, str(fake_checkout))
    sources = integrated_tree.overlay_sources()
    for tree_path in MISSING_COMMON_TEST_MODULES:
        assert sources[tree_path] == fake_checkout / tree_path
        assert not sources[tree_path].is_relative_to(STANDINS_DIR)
    # A checkout without the sdist mixins' helper module (upstream main of August 2026 has none) keeps the stand-in.
    for tree_path, standin in MISSING_SDIST_TEST_HELPERS.items():
        assert sources[tree_path] == REPO_ROOT / standin
    lines = integrated_tree.describe_common_test_sources()
    assert lines == [
        f"{tree_path}: upstream checkout ({fake_checkout / tree_path})" for tree_path in MISSING_COMMON_TEST_MODULES
    ] + [
        f"{tree_path}: project stand-in ({REPO_ROOT / standin})"
        for tree_path, standin in MISSING_SDIST_TEST_HELPERS.items()
    ]


@pytest.mark.parametrize("missing", list(MISSING_COMMON_TEST_MODULES))
def test_a_checkout_lacking_a_module_is_refused_naming_it(fake_checkout, monkeypatch, missing):
    (fake_checkout / missing).unlink()
    monkeypatch.setenv(UPSTREAM_CHECKOUT_ENV, str(fake_checkout))
    with pytest.raises(IntegratedTreeError, match=f"{UPSTREAM_CHECKOUT_ENV}=.* has no {missing}"):
        integrated_tree.overlay_sources()


def _load_root_conftest(folder: Path):
    shutil.copy(STANDINS_DIR / "conftest.py", folder / "conftest.py")
    spec = importlib.util.spec_from_file_location("arlow_root_conftest_under_test", folder / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("with_checkout", [False, True], ids=["stand-ins", "checkout"])
def test_the_root_conftest_prints_one_header_line_per_module(tmp_path, fake_checkout, monkeypatch, with_checkout):
    if with_checkout:
        monkeypatch.setenv(UPSTREAM_CHECKOUT_ENV, str(fake_checkout))
    else:
        monkeypatch.delenv(UPSTREAM_CHECKOUT_ENV, raising=False)
    tree = tmp_path / "tree"
    tree.mkdir()
    # What `build_tree` writes next to the root conftest.
    (tree / SOURCES_RECORD).write_text("\n".join(integrated_tree.describe_common_test_sources()) + "\n", "utf-8")
    header = _load_root_conftest(tree).pytest_report_header(config=None)
    assert len(header) == len(ALL_STAND_INS)
    for line, tree_path in zip(header, ALL_STAND_INS):
        origin = (
            "upstream checkout" if with_checkout and tree_path in MISSING_COMMON_TEST_MODULES else "project stand-in"
        )
        assert line.startswith(f"common test module {tree_path}: {origin} (")


# ---------------------------------------------------------------------------------------------------------------
# The upstream test each stand-in test mirrors
# ---------------------------------------------------------------------------------------------------------------


def _load_mirror_table():
    spec = importlib.util.spec_from_file_location("upstream_mirrors_under_test", STANDINS_DIR / "upstream_mirrors.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.UPSTREAM_MIRRORS


def _tests_defined_in(path: Path) -> set[str]:
    """`Class::test_x` for every test method of every class of `path`, and `test_x` for module-level tests."""
    names = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.ClassDef):
            names |= {
                f"{node.name}::{item.name}"
                for item in node.body
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name.startswith("test")
            }
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"):
            names.add(node.name)
    return names


def _standin_python_modules() -> list[str]:
    return [standin for standin in ALL_STAND_INS.values() if standin.endswith(".py")]


def test_every_stand_in_test_names_the_upstream_test_it_mirrors():
    mirrors = _load_mirror_table()
    standin_tests = {
        f"{standin}::{test}"
        for standin in _standin_python_modules()
        for test in _tests_defined_in(REPO_ROOT / standin)
    }
    assert standin_tests, "no stand-in defines a test"
    assert sorted(standin_tests - set(mirrors)) == [], (
        "stand-in tests without an upstream mirror in upstream_mirrors.py"
    )
    assert sorted(set(mirrors) - standin_tests) == [], "upstream_mirrors.py lists tests no stand-in defines"


def test_each_mirror_is_the_test_of_the_same_name_in_the_module_the_stand_in_replaces():
    tree_path_of = {standin: tree_path for tree_path, standin in ALL_STAND_INS.items()}
    for standin_test, upstream_test in _load_mirror_table().items():
        standin_file, standin_name = standin_test.split("::", 1)
        upstream_file, upstream_name = upstream_test.split("::", 1)
        assert upstream_file == tree_path_of[standin_file], standin_test
        assert upstream_name == standin_name, f"{standin_test} mirrors {upstream_test}, a test of another name"


@pytest.mark.skipif(
    not os.environ.get(UPSTREAM_CHECKOUT_ENV), reason=f"needs an upstream checkout named by {UPSTREAM_CHECKOUT_ENV}"
)
def test_every_mirrored_test_exists_in_the_upstream_checkout():
    checkout = Path(os.environ[UPSTREAM_CHECKOUT_ENV])
    missing = []
    upstream_tests: dict[str, set[str]] = {}
    for upstream_test in _load_mirror_table().values():
        upstream_file, name = upstream_test.split("::", 1)
        if upstream_file not in upstream_tests:
            upstream_tests[upstream_file] = _tests_defined_in(checkout / upstream_file)
        if name not in upstream_tests[upstream_file]:
            missing.append(upstream_test)
    assert missing == [], f"mirrored tests that {checkout} does not define"
