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
`TRANSFORMERS_UPSTREAM_CHECKOUT`, else the project's stand-ins; the header every test run in the tree prints about it;
and the table naming the upstream test each stand-in test mirrors. No tree is built.
"""

import ast
import functools
import importlib.util
import os
import shutil
from pathlib import Path

import integrated_tree
import pytest
from conftest import REPO_ROOT, write
from integrated_tree import MISSING_COMMON_TEST_MODULES, MISSING_SDIST_TEST_HELPERS, UPSTREAM_CHECKOUT_ENV


ALL_STAND_INS = {**MISSING_COMMON_TEST_MODULES, **MISSING_SDIST_TEST_HELPERS}


def load(path: Path):
    spec = importlib.util.spec_from_file_location(f"{path.stem}_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def checkout(tmp_path, monkeypatch):
    """A checkout-shaped folder holding the modules the sdist lacks (upstream main lacks the mixins' helpers too)."""
    for tree_path in MISSING_COMMON_TEST_MODULES:
        write(tmp_path / "checkout" / tree_path, "{}\n" if tree_path.endswith(".json") else f"# {tree_path}\n")
    monkeypatch.delenv(UPSTREAM_CHECKOUT_ENV, raising=False)
    return tmp_path / "checkout"


@pytest.mark.parametrize("with_checkout", [False, True], ids=["stand-ins", "checkout"])
def test_each_module_comes_from_the_checkout_when_one_is_named_and_the_header_says_so(
    tmp_path, checkout, monkeypatch, with_checkout
):
    if with_checkout:
        monkeypatch.setenv(UPSTREAM_CHECKOUT_ENV, str(checkout))
    sources, expected = integrated_tree.overlay_sources(), []
    for tree_path, standin in ALL_STAND_INS.items():
        upstream = with_checkout and tree_path in MISSING_COMMON_TEST_MODULES
        source = checkout / tree_path if upstream else REPO_ROOT / standin
        assert sources[tree_path] == source and source.is_file(), tree_path
        expected.append(f"{tree_path}: {'upstream checkout' if upstream else 'project stand-in'} ({source})")
    assert integrated_tree.describe_common_test_sources() == expected
    # what `build_tree` records next to the tree's root conftest, which prints it in the header of every run
    (tmp_path / integrated_tree.SOURCES_RECORD).write_text("\n".join(expected) + "\n", encoding="utf-8")
    conftest = load(shutil.copy(REPO_ROOT / "tests/standins/conftest.py", tmp_path / "conftest.py"))
    assert conftest.pytest_report_header(config=None) == [f"common test module {line}" for line in expected]


@pytest.mark.parametrize("missing", list(MISSING_COMMON_TEST_MODULES))
def test_a_checkout_lacking_a_module_is_refused_naming_it(checkout, monkeypatch, missing):
    (checkout / missing).unlink()
    monkeypatch.setenv(UPSTREAM_CHECKOUT_ENV, str(checkout))
    with pytest.raises(integrated_tree.IntegratedTreeError, match=f"{UPSTREAM_CHECKOUT_ENV}=.* has no {missing}"):
        integrated_tree.overlay_sources()


@functools.cache
def defined_tests(path: Path) -> set[str]:
    """`Class::test_x` for each test method of each class of `path`, and `test_x` for each module-level test."""
    names = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        prefix, body = (f"{node.name}::", node.body) if isinstance(node, ast.ClassDef) else ("", [node])
        names |= {prefix + f.name for f in body if isinstance(f, ast.FunctionDef) and f.name.startswith("test")}
    return names


def mirrors() -> dict[str, str]:
    return load(REPO_ROOT / "tests/standins/upstream_mirrors.py").UPSTREAM_MIRRORS


def test_the_mirror_table_maps_every_stand_in_test_to_the_upstream_test_of_its_name():
    expected = {
        f"{standin}::{test}": f"{tree_path}::{test}"
        for tree_path, standin in ALL_STAND_INS.items()
        if standin.endswith(".py")
        for test in defined_tests(REPO_ROOT / standin)
    }
    assert expected and mirrors() == expected


@pytest.mark.skipif(not os.environ.get(UPSTREAM_CHECKOUT_ENV), reason=f"needs {UPSTREAM_CHECKOUT_ENV}")
def test_every_mirrored_test_exists_in_the_upstream_checkout():
    checkout = Path(os.environ[UPSTREAM_CHECKOUT_ENV])
    upstream = [test.split("::", 1) for test in mirrors().values()]
    assert [f"{file}::{name}" for file, name in upstream if name not in defined_tests(checkout / file)] == []
