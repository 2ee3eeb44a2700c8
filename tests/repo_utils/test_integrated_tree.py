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
"""Tests of `utils/integrated_tree.py`: registry insertion, drift detection, sdist verification and fetching."""

import hashlib
import sys
from pathlib import Path

import pytest


REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "utils"))

import integrated_tree  # noqa: E402
from integrated_tree import REGISTRY_ENTRIES, IntegratedTreeError, RegistryEntry  # noqa: E402


MAPPING_TEXT = """X = 1
CONFIG_MAPPING_NAMES = OrderedDict(
    [
        # Base model mapping
        ("aimv2", "Aimv2Config"),
        ("aria", "AriaConfig"),
        ("zamba", "ZambaConfig"),
    ]
)
"""


def _entry(key, value):
    return RegistryEntry("f.py", "CONFIG_MAPPING_NAMES", key, f'        ("{key}", "{value}"),')


def test_insert_entry_goes_to_its_sorted_place_and_is_idempotent():
    once = integrated_tree.insert_entry(MAPPING_TEXT, _entry("arlowgpt", "ArlowConfig"))
    lines = once.split("\n")
    assert lines.index('        ("arlowgpt", "ArlowConfig"),') == lines.index('        ("aria", "AriaConfig"),') + 1
    assert integrated_tree.insert_entry(once, _entry("arlowgpt", "ArlowConfig")) == once


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


def test_check_names_a_removed_registry_entry(copied_tree):
    entry = next(e for e in REGISTRY_ENTRIES if e.mapping == "MODEL_FOR_CAUSAL_LM_MAPPING_NAMES")
    path = copied_tree / entry.file
    original = path.read_text(encoding="utf-8")
    try:
        path.write_text(original.replace(entry.line + "\n", ""), encoding="utf-8")
        problems = integrated_tree.check_tree(copied_tree)
        assert len(problems) == 1
        assert "MODEL_FOR_CAUSAL_LM_MAPPING_NAMES['arlowgpt']" in problems[0]
    finally:
        path.write_text(original, encoding="utf-8")


def test_check_names_a_drifted_overlay_file(copied_tree):
    target = copied_tree / "src/transformers/models/arlow/configuration_arlow.py"
    original = target.read_text(encoding="utf-8")
    try:
        target.write_text(original + "\n# drift\n", encoding="utf-8")
        problems = integrated_tree.check_tree(copied_tree)
        assert problems == [
            f"src/transformers/models/arlow differs from {REPO_ROOT / 'src/transformers/models/arlow'}"
        ]
    finally:
        target.write_text(original, encoding="utf-8")


def test_link_tree_points_at_the_repository(tmp_path):
    tree = integrated_tree.build_tree(tmp_path / "integrated", mode="link")
    model_dir = tree / "src/transformers/models/arlow"
    assert model_dir.is_symlink() and model_dir.resolve() == (REPO_ROOT / "src/transformers/models/arlow").resolve()
    assert integrated_tree.check_tree(tree) == []
    record = (tree / integrated_tree.SOURCES_RECORD).read_text(encoding="utf-8").splitlines()
    assert [line.split(":")[0] for line in record] == [
        *integrated_tree.MISSING_COMMON_TEST_MODULES,
        *integrated_tree.MISSING_SDIST_TEST_HELPERS,
    ]


def test_tampered_sdist_is_refused_with_both_hashes(tmp_path, monkeypatch):
    fake = tmp_path / "transformers-tampered.tar.gz"
    fake.write_bytes(b"not the release")
    monkeypatch.setenv("ARLOW_UPSTREAM_SDIST", str(fake))
    with pytest.raises(IntegratedTreeError) as error:
        integrated_tree.fetch_sdist()
    message = str(error.value)
    assert hashlib.sha256(b"not the release").hexdigest() in message
    assert integrated_tree.UPSTREAM_SDIST_SHA256 in message
