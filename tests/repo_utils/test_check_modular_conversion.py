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
Tests of `utils/check_modular_conversion.py` without an upstream checkout: a hand edit of the generated file, or a
modular edit that was not regenerated, fails against the record of the last conversion.
"""

import shutil

import check_modular_conversion
import pytest
from conftest import run_check


@pytest.fixture
def copies(tmp_path):
    """The modular and the generated file, copied, with a record of them as the converter would write it."""
    modular = shutil.copy(check_modular_conversion.MODULAR_FILE, tmp_path / "modular_arlow.py")
    generated = shutil.copy(check_modular_conversion.GENERATED_FILES[0], tmp_path / "modeling_arlow.py")
    check_modular_conversion.write_record(tmp_path / "record.json", modular, (generated,), converter="test")
    return modular, generated, tmp_path / "record.json"


def check(modular, generated, record):
    return run_check("check_modular_conversion", "--modular", modular, "--generated", generated, "--record", record)


def append(path, text):
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def test_files_as_recorded_pass(copies):
    result = check(*copies)
    assert result.returncode == 0, result.stderr


def test_hand_edit_of_the_generated_file_fails(copies):
    append(copies[1], "\n\ndef added_by_hand():\n    pass\n")
    assert "modeling_arlow.py differs from what the converter wrote (edited by hand?)" in check(*copies).stderr


def test_modular_edit_without_regeneration_fails(copies):
    append(copies[0], "\n\nEXTRA = 1\n")
    assert "modular_arlow.py changed since" in check(*copies).stderr


def test_missing_header_and_missing_record_fail(copies):
    modular, generated, record = copies
    text = generated.read_text(encoding="utf-8")
    generated.write_text(text.replace(check_modular_conversion.GENERATED_HEADER_LINE, "# written by hand"), "utf-8")
    record.unlink()
    result = check(*copies)
    assert "does not start with the converter's header" in result.stderr and "record.json is missing" in result.stderr
