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
"""Tests of `utils/check_codepath_notes.py`: upstream's TRF041, a `# CODEPATH:` note on every config-gated branch."""

import pytest
from conftest import dedent, run_check, write


HEADER = "import torch\n\n\n"


def codepaths(toy, body, name="modeling_toy.py"):
    """Writes `body` as the toy's `name` and runs the check on the toy folder."""
    write(toy.model_dir / name, HEADER + dedent(body))
    return run_check("check_codepath_notes", "--model_dir", toy.model_dir)


def flagged_lines(result):
    """The line numbers the check reports, in order."""
    return [int(line.split(".py:")[1].split(":")[0]) for line in result.stderr.splitlines() if "TRF041" in line]


def test_toy_without_config_branches_passes(toy):
    result = run_check("check_codepath_notes", "--model_dir", toy.model_dir)
    assert result.returncode == 0, result.stderr


def test_branch_on_config_without_note_is_reported(toy):
    result = codepaths(
        toy,
        """
        def forward(self, x):
            if self.config.cross_attention:
                x = x + 1
            return x
        """,
    )
    assert result.returncode == 1
    assert "modeling_toy.py:5: TRF041: branch on `self.config.cross_attention` has no `# CODEPATH:` note" in (
        result.stderr
    )


@pytest.mark.parametrize(
    "note",
    [
        "    # CODEPATH: toy-large has the extra block, toy-base does not.\n    if config.extra_block:\n",
        "    # The extra block.\n    # codepath: toy-large only.\n    # (see the paper)\n    if config.extra_block:\n",
        "    if config.extra_block:  # CODEPATH: toy-large only.\n",
    ],
    ids=["comment above", "inside the comment block above", "same line"],
)
def test_branch_with_note_passes(toy, note):
    write(toy.model_dir / "modeling_toy.py", f"def build(config):\n{note}        return 1\n    return 0\n")
    result = run_check("check_codepath_notes", "--model_dir", toy.model_dir)
    assert result.returncode == 0, result.stderr


def test_note_separated_by_code_or_blank_line_does_not_count(toy):
    result = codepaths(
        toy,
        """
        def build(config):
            # CODEPATH: toy-large only.

            if config.extra_block:
                return 1
            # CODEPATH: toy-large only.
            width = 2
            if config.other_block:
                return width
            return 0
        """,
    )
    assert flagged_lines(result) == [7, 11]


def test_guards_and_plumbing_fields_are_reported_unlike_mlinter_0_1_5(toy):
    # Upstream's rules.toml has no exemption for guards that only raise, nor a list of exempt plumbing fields
    result = codepaths(
        toy,
        """
        def check(self, states):
            if not self.config.cross_attention:
                raise ValueError("no cross-attention")
            if states.shape[-1] != self.config.hidden_size:
                raise ValueError("wrong width")
            if self.config.use_cache:
                return 1
            return 0
        """,
    )
    assert result.returncode == 1
    assert flagged_lines(result) == [5, 7, 9]
    assert "branch on `self.config.hidden_size`" in result.stderr


def test_elif_and_conditional_expressions_are_reported(toy):
    result = codepaths(
        toy,
        """
        def build(config, x):
            if x > 0:
                return 0
            elif config.scale_embedding:
                return 1
            width = 2 if config.wide else 1
            return width
        """,
    )
    assert flagged_lines(result) == [7, 9]
    assert "conditional expression on `config.wide`" in result.stderr


def test_default_value_is_exempt_but_a_fork_on_none_is_not(toy):
    result = codepaths(
        toy,
        """
        def build(config):
            head_dim = config.head_dim if config.head_dim is not None else 64
            tower = 1 if config.vision_config is not None else 0
            return head_dim, tower
        """,
    )
    assert flagged_lines(result) == [6]
    assert "`config.vision_config`" in result.stderr


def test_conditions_without_config_fields_are_not_reported(toy):
    result = codepaths(
        toy,
        """
        def forward(self, x, config_value):
            if self.training and x is not None:
                x = x + 1
            if config_value:
                x = x * 2
            if self.model.config is not None:
                x = x - 1
            return x
        """,
    )
    assert result.returncode == 0, result.stderr


def test_file_directive_exempts_the_named_fields_only(toy):
    result = codepaths(
        toy,
        """
        # trf-ignore: TRF041 config.problem_type, self.config.hidden_act and the rest is prose: config.use_cache
        def build(config):
            if config.problem_type == "regression":
                return 1
            if config.hidden_act:
                return 2
            if config.problem_type and config.use_cache:
                return 3
            if config.use_cache:
                return 4
            return 0
        """,
    )
    assert flagged_lines(result) == [10, 12]
    assert "branch on `config.use_cache`" in result.stderr


def test_bare_directive_suppresses_its_own_line_only(toy):
    result = codepaths(
        toy,
        """
        def build(config):
            if config.extra_block:  # trf-ignore: TRF041
                return 1
            # trf-ignore: TRF041
            if config.other_block:
                return 2
            if config.third_block:
                return 3
            return 0
        """,
    )
    assert flagged_lines(result) == [10]


def test_modular_file_is_checked_and_configuration_is_not(toy):
    body = """
    def build(config):
        if config.extra_block:
            return 1
        return 0
    """
    write(toy.model_dir / "configuration_toy.py", HEADER + dedent(body))
    result = codepaths(toy, body, name="modular_toy.py")
    assert result.returncode == 1
    assert "modular_toy.py:5: TRF041" in result.stderr
    assert "configuration_toy.py" not in result.stderr
