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
Tests of the consistency checks `make check-repo` runs (`utils/check_*.py`): on a copy of Arlow's files broken in one
way, each mistake fails its check with a message naming it, and a fix mode repairs what it claims to; `make fix-repo`
on a fresh clone changes nothing. That the unbroken repository passes is `make check-repo`'s own run.
"""

import dataclasses
import re
import shutil
import sys

import check_modular_conversion
import check_repo
import integrated_tree
import pytest
from conftest import REPO_ROOT, commit_all, git, run, run_util, write


MODEL = "src/transformers/models/arlow/"
PAGE = "docs/source/en/model_doc/arlowgpt.md"


def problems(arlow, check="check_repo", *extra):
    """What `check` reports on the copy (its exit status agreeing)."""
    result = run_util(check, *arlow.args, *extra)
    assert result.returncode == (1 if result.stderr else 0), result.stderr
    return result.stderr


# check_repo.py


MODELING, CONFIG = MODEL + "modeling_arlow.py", MODEL + "configuration_arlow.py"
NEW_HEAD = "\n\nclass ArlowForRanking(ArlowPreTrainedModel):\n    pass\n"
MISTAKES = {
    "new head untested, unregistered, undocumented": (
        [(MODELING, "__all__ = [", '__all__ = [\n    "ArlowForRanking",'), (MODELING, None, NEW_HEAD)],
        ["ForRanking is not tested", "ForRanking is in no Auto mapping", "ForRanking (exported by"],
    ),
    "autodoc block removed": (
        [(PAGE, "[[autodoc]] ArlowForCausalLM\n    - forward\n", "")],
        ["ArlowForCausalLM` block"],
    ),
    "unused config field": (
        [(CONFIG, "    vocab_size:", "    width: int = 3\n    vocab_size:")],
        ["width is not used"],
    ),
    "flash-attn import": ([(MODELING, None, "\n\ndef f():\n    from flash_attn import x\n")], ["imports flash-attn"]),
}


@pytest.mark.parametrize("mistake", MISTAKES)
def test_mistake_fails_check_repo_naming_it(arlow, mistake):
    edits, messages = MISTAKES[mistake]
    for path, old, new in edits:
        arlow.edit(path, old, new)
    found = problems(arlow)
    assert all(message in found for message in messages), found


def test_stale_init_imports_are_reported_then_fixed(arlow):
    original = (arlow.model_dir / "__init__.py").read_text(encoding="utf-8")
    arlow.edit(MODEL + "__init__.py", "    from .tokenization_arlow import *\n", "")
    assert "the TYPE_CHECKING imports should be" in problems(arlow)
    assert problems(arlow, "check_repo", "--fix_and_overwrite") == ""
    assert (arlow.model_dir / "__init__.py").read_text(encoding="utf-8") == original


def test_config_branch_without_codepath_note_is_reported_where_mlinter_0_1_5_is_silent(arlow):
    start = len((arlow.model_dir / "modular_arlow.py").read_text(encoding="utf-8").splitlines())
    body = (
        "\n\ndef build(config, states):\n"
        "    if config.extra_block:\n        return 1\n"  # a fork
        "    # CODEPATH: arlow-large only.\n    if config.other_block:\n        return 2\n"  # noted
        "    if states.shape[-1] != config.hidden_size:\n        raise ValueError('width')\n"  # a guard (0.1.5 skips)
        "    if config.use_cache:\n        return 3\n"  # a plumbing field (0.1.5 exempts)
        "    return 4 if config.wide else 0\n"
    )
    arlow.edit(MODEL + "modular_arlow.py", None, body)
    flagged = [int(n) - start for n in re.findall(r"modular_arlow\.py:(\d+): TRF041", problems(arlow))]
    assert flagged == [4, 9, 11, 13]


def test_registry_entry_naming_the_wrong_class_is_reported(arlow, monkeypatch):
    entries = [
        dataclasses.replace(e, line=e.line.replace("ArlowModel", "ArlowConfig"))
        if e.mapping == "MODEL_MAPPING_NAMES"
        else e
        for e in integrated_tree.REGISTRY_ENTRIES
    ]
    monkeypatch.setattr(integrated_tree, "REGISTRY_ENTRIES", entries)
    found = check_repo.unregistered(arlow.model_dir)
    assert any("names ArlowConfig, a config class, not a model" in p for p in found)
    assert any("ArlowModel is in no Auto mapping" in p for p in found)


def test_page_named_after_the_folder_and_missing_from_the_toctree_is_reported(arlow):
    arlow.page.rename(arlow.page.with_name("arlow.md"))
    found = run_util("check_repo", *arlow.args[:4], "--page", arlow.page.with_name("arlow.md")).stderr
    assert "arlow.md: arlow is not a proper model identifier: name the page arlowgpt.md" in found
    assert "no entry for model_doc/arlow under API > Models > Text models" in found


# check_doc_dates.py

CONTRIBUTED = "*This model was contributed to Hugging Face Transformers on {}.*"
OUTDATED = "*This model was released on {release_date} and added to Hugging Face Transformers on 2026-01-02.*"
PAPER = CONTRIBUTED.replace("contributed", "published in HF papers on last spring and contributed")


def set_dates_line(arlow, line):
    arlow.edit(PAGE, re.search(r"\n(\*This model was .*\*)\n", arlow.page.read_text(encoding="utf-8")).group(1), line)


@pytest.mark.parametrize(
    "line, message",
    [
        (OUTDATED, "missing dates line"),
        (CONTRIBUTED.format("2 January 2026"), "missing dates line"),
        ("", "missing dates line"),
        ("<!-- a note -->\n" + CONTRIBUTED.format("2026-01-02"), "must follow the copyright comment directly"),
        (CONTRIBUTED.format("2026-13-02"), "contributed date '2026-13-02' is not a valid date"),
        (PAPER.format("2026-01-02"), "HF papers date 'last spring' is not a valid YYYY-MM-DD date"),
    ],
)
def test_broken_dates_line_is_reported_then_fixed(arlow, line, message):
    set_dates_line(arlow, line)
    assert message in problems(arlow, "check_doc_dates")
    assert problems(arlow, "check_doc_dates", "--fix_and_overwrite") == ""
    dates = r"-->\n\*This model was contributed to Hugging Face Transformers on \d{4}-\d{2}-\d{2}\.\*\n"
    assert re.search(dates, arlow.page.read_text(encoding="utf-8"))


@pytest.mark.parametrize("first_commit, expected", [("2026-11-29", "2026-11-30"), ("2026-12-05", "2026-12-05")])
def test_date_a_day_from_the_first_commit_stands_and_a_farther_one_is_set_to_it(arlow, first_commit, expected):
    # `make fixup` once rewrote 2026-11-30 to 2026-11-29 (the first commit) while `make check-repo` accepted both
    set_dates_line(arlow, CONTRIBUTED.format("2026-11-30"))
    commit_all(arlow.root, date=first_commit)
    page = arlow.page.read_text(encoding="utf-8")
    assert ("differs by more than a day" in problems(arlow, "check_doc_dates")) == (expected != "2026-11-30")
    assert problems(arlow, "check_doc_dates", "--fix_and_overwrite") == ""
    assert arlow.page.read_text(encoding="utf-8") == page.replace("2026-11-30", expected)


# check_docstrings.py

TOY_MODULE = '''
from transformers import PreTrainedConfig

def scale(x, factor=2.0):
    """
    Args:
        x (`float`): The value.
        factor (`float`, *optional*, defaults to `3.0`):
            The factor.
        y (`float`): Not an argument.
    """

def shift(x, offset):
    """
    Args:
        x (`float`): The value.
    """

def undocumented(x):
    return x

class UnlinkedConfig(PreTrainedConfig):
    """Like [toy-org/toy-base](https://huggingface.co/someone/else)."""

__all__ = ["scale", "shift", "undocumented", "UnlinkedConfig"]
'''


def test_docstring_disagreements_are_reported_and_stale_defaults_fixed(tmp_path):
    write(tmp_path / "toy_docstrings.py", TOY_MODULE)
    args = ("--modules", "toy_docstrings", "--page", tmp_path / "no_page.md")
    found = run_util("check_docstrings", *args, env={"PYTHONPATH": str(tmp_path)}).stderr
    assert "scale documents `factor` as defaulting to `3.0`, but the signature's default is 2.0" in found
    assert "toy_docstrings.py: scale documents `y`, which its signature does not have" in found
    assert "toy_docstrings.py: shift does not document its argument `offset`" in found
    assert "toy_docstrings.py: undocumented has no docstring" in found
    assert "toy_docstrings.py: UnlinkedConfig names no checkpoint" in found
    fixed = run_util("check_docstrings", *args, "--fix_and_overwrite", env={"PYTHONPATH": str(tmp_path)})
    assert "defaults to `2.0`" in (tmp_path / "toy_docstrings.py").read_text(encoding="utf-8")
    assert (
        fixed.returncode == 1 and "factor" not in fixed.stderr and "offset" in fixed.stderr
    )  # the rest needs a person


# check_modular_conversion.py (without an upstream checkout: against the record of the last conversion)


@pytest.mark.parametrize(
    "edited, message",
    [
        ("modeling_arlow.py", "differs from what the converter wrote (edited by hand?)"),
        ("modular_arlow.py", "changed since"),
    ],
)
def test_generated_file_not_as_the_converter_wrote_it_fails(tmp_path, edited, message):
    modular = shutil.copy(check_modular_conversion.MODULAR_FILE, tmp_path / "modular_arlow.py")
    generated = shutil.copy(check_modular_conversion.GENERATED_FILES[0], tmp_path / "modeling_arlow.py")
    check_modular_conversion.write_record(tmp_path / "record.json", modular, (generated,), converter="test")
    args = ("--modular", modular, "--generated", generated, "--record", tmp_path / "record.json")
    assert run_util("check_modular_conversion", *args).returncode == 0
    write(tmp_path / edited, (tmp_path / edited).read_text(encoding="utf-8") + "\n\nEXTRA = 1\n")
    result = run_util("check_modular_conversion", *args)
    assert result.returncode == 1 and f"{edited} {message}" in result.stderr, result.stderr


# make fix-repo (every check's --fix_and_overwrite, as `make fixup` runs it after formatting)


def test_fix_repo_on_a_fresh_clone_changes_nothing(tmp_path):
    git(tmp_path, "clone", "-q", str(REPO_ROOT), "clone")
    result = run(["make", "-s", "fix-repo", f"PY={sys.executable}"], cwd=tmp_path / "clone")
    output = result.stdout + result.stderr
    checks = sorted(path.stem for path in (tmp_path / "clone" / "utils").glob("check_*.py"))
    assert checks and all(f"{name}: " in output for name in checks) and "Traceback" not in output, output
    assert git(tmp_path / "clone", "status", "--porcelain") == "", output
