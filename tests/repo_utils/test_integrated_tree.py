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
"""Tests of `utils/integrated_tree.py`: registry insertion, the tree it builds, its drift check, sdist verification."""

import hashlib

import integrated_tree
import pytest
from conftest import REPO_ROOT
from integrated_tree import REGISTRY_ENTRIES, RegistryEntry


MAPPING_TEXT = """CONFIG_MAPPING_NAMES = OrderedDict(
    [
        # Base model mapping
        ("aria", "AriaConfig"),
        ("zamba", "ZambaConfig"),
    ]
)
"""
MODEL_DIR = "src/transformers/models/arlow"
CAUSAL_LM_ENTRY = next(e for e in REGISTRY_ENTRIES if e.mapping == "MODEL_FOR_CAUSAL_LM_MAPPING_NAMES")


def test_insert_entry_goes_to_its_sorted_place_and_is_idempotent():
    entry = RegistryEntry("f.py", "CONFIG_MAPPING_NAMES", "arlowgpt", '        ("arlowgpt", "ArlowConfig"),')
    once = integrated_tree.insert_entry(MAPPING_TEXT, entry)
    assert once == MAPPING_TEXT.replace('        ("zamba"', f'{entry.line}\n        ("zamba"')
    assert integrated_tree.insert_entry(once, entry) == once


@pytest.fixture(scope="module")
def copied_tree(tmp_path_factory):
    return integrated_tree.build_tree(tmp_path_factory.mktemp("tree") / "integrated", mode="copy")


def test_copy_tree_is_in_sync_and_rebuilding_changes_nothing(copied_tree):
    assert integrated_tree.check_tree(copied_tree) == []
    registry_files = sorted({entry.file for entry in REGISTRY_ENTRIES})
    before = {f: (copied_tree / f).stat().st_mtime_ns for f in registry_files}
    integrated_tree.build_tree(copied_tree, mode="copy")
    assert {f: (copied_tree / f).stat().st_mtime_ns for f in registry_files} == before
    assert integrated_tree.check_tree(copied_tree) == []


@pytest.mark.parametrize(
    "path, old, new, problem",
    [
        (CAUSAL_LM_ENTRY.file, CAUSAL_LM_ENTRY.line + "\n", "", "MODEL_FOR_CAUSAL_LM_MAPPING_NAMES['arlowgpt']"),
        (MODEL_DIR + "/configuration_arlow.py", "\n", "\n# drift\n", f"{MODEL_DIR} differs"),
    ],
    ids=["registry entry removed", "overlaid file edited"],
)  # fmt: skip
def test_check_names_what_drifted(copied_tree, path, old, new, problem):
    original = (copied_tree / path).read_text(encoding="utf-8")
    try:
        (copied_tree / path).write_text(original.replace(old, new, 1), encoding="utf-8")
        assert [problem in found for found in integrated_tree.check_tree(copied_tree)] == [True]
    finally:
        (copied_tree / path).write_text(original, encoding="utf-8")


def test_link_tree_points_at_the_repository(tmp_path):
    tree = integrated_tree.build_tree(tmp_path / "integrated", mode="link")
    assert (tree / MODEL_DIR).is_symlink() and (tree / MODEL_DIR).resolve() == (REPO_ROOT / MODEL_DIR).resolve()
    assert integrated_tree.check_tree(tree) == []
    record = (tree / integrated_tree.SOURCES_RECORD).read_text(encoding="utf-8")  # the root conftest's header
    assert record.splitlines() == integrated_tree.describe_common_test_sources()


def test_tampered_sdist_is_refused_with_both_hashes(tmp_path, monkeypatch):
    (tmp_path / "transformers-tampered.tar.gz").write_bytes(b"not the release")
    monkeypatch.setenv("ARLOW_UPSTREAM_SDIST", str(tmp_path / "transformers-tampered.tar.gz"))
    with pytest.raises(integrated_tree.IntegratedTreeError) as error:
        integrated_tree.fetch_sdist()
    assert hashlib.sha256(b"not the release").hexdigest() in str(error.value)
    assert integrated_tree.UPSTREAM_SDIST_SHA256 in str(error.value)
