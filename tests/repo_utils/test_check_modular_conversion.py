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
Tests of `utils/check_modular_conversion.py` without an upstream checkout: a hand edit of the generated file fails.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "utils"))

import check_modular_conversion  # noqa: E402


MODEL_DIR = REPO_ROOT / "src" / "transformers" / "models" / "arlow"


@pytest.fixture
def copies(tmp_path):
    """The modular file, the generated file and the record, copied to a temporary folder."""
    modular = shutil.copy(MODEL_DIR / "modular_arlow.py", tmp_path / "modular_arlow.py")
    generated = shutil.copy(MODEL_DIR / "modeling_arlow.py", tmp_path / "modeling_arlow.py")
    record = shutil.copy(check_modular_conversion.RECORD, tmp_path / "record.json")
    return Path(modular), Path(generated), Path(record)


def run_check(modular, generated, record):
    env = {key: value for key, value in os.environ.items() if key != "TRANSFORMERS_UPSTREAM_CHECKOUT"}
    command = [
        sys.executable,
        str(REPO_ROOT / "utils" / "check_modular_conversion.py"),
        "--modular",
        str(modular),
        "--generated",
        str(generated),
        "--record",
        str(record),
    ]
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO_ROOT)


def replace_once(path, old, new):
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} is not in {path.name} exactly once"
    path.write_text(text.replace(old, new), encoding="utf-8")


def rerecord(modular, generated, record):
    """What someone hiding a hand edit would do: write the record again from the edited files."""
    check_modular_conversion.write_record(record, modular, (generated,), converter="by hand")


def test_repository_files_pass(copies):
    result = run_check(*copies)
    assert result.returncode == 0, result.stderr
    assert "check_modular_conversion: OK" in result.stdout


def test_hand_edit_of_inherited_code_fails(copies):
    modular, generated, record = copies
    # `ArlowRMSNorm.forward` comes from Llama's code: the modular file does not write it, only the record sees it
    replace_once(generated, "torch.rsqrt(variance + self.variance_epsilon)", "torch.rsqrt(variance + 1e-5)")
    result = run_check(modular, generated, record)
    assert result.returncode == 1
    assert "modeling_arlow.py differs from what the converter wrote (edited by hand?)" in result.stderr


def test_hand_edit_of_written_code_fails_even_with_a_new_record(copies):
    modular, generated, record = copies
    replace_once(generated, "past_key_values.is_updated[self.layer_idx] = True", "pass")
    rerecord(modular, generated, record)
    result = run_check(modular, generated, record)
    assert result.returncode == 1
    assert "ArlowCrossAttention.forward differs between" in result.stderr


def test_modular_edit_without_regeneration_fails(copies):
    modular, generated, record = copies
    replace_once(modular, "self.is_causal = False", "self.is_causal = False\n        self.extra = 1")
    result = run_check(modular, generated, record)
    assert result.returncode == 1
    assert "modular_arlow.py changed since" in result.stderr
    assert "ArlowCrossAttention.__init__ differs between" in result.stderr


def test_missing_header_fails(copies):
    modular, generated, record = copies
    replace_once(generated, check_modular_conversion.GENERATED_HEADER_LINE, "# written by hand")
    rerecord(modular, generated, record)
    result = run_check(modular, generated, record)
    assert result.returncode == 1
    assert "does not start with the converter's header" in result.stderr


def test_missing_record_fails(copies):
    modular, generated, record = copies
    record.unlink()
    result = run_check(modular, generated, record)
    assert result.returncode == 1
    assert "record.json is missing" in result.stderr


def test_unrolled_methods_are_not_compared():
    # A method calling super() in a class that inherits another model's class is merged with the parent's body by the
    # converter; a method of a class inheriting a class of the same modular file is copied as written.
    modular = check_modular_conversion.ast.parse(
        "class A(LlamaAttention):\n"
        "    def __init__(self):\n        super().__init__()\n"
        "    def forward(self):\n        return 1\n"
        "class B(A):\n"
        "    def __init__(self):\n        super().__init__()\n"
    )
    written = check_modular_conversion.written_definitions(modular, copied_as_written=True)
    assert sorted(written) == ["A.forward", "B.__init__"]


def test_record_names_both_files():
    record = json.loads(check_modular_conversion.RECORD.read_text(encoding="utf-8"))
    assert set(record["modular"]) == {"modular_arlow.py"}
    assert set(record["generated"]) == {"modeling_arlow.py"}
