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
"""Tests of `utils/check_docstrings.py`: rendered docstrings against signatures, and the configuration's checkpoint."""

import textwrap

from conftest import run_check, write


MODULE = '''
from transformers import PreTrainedConfig


def scale(x, factor=2.0):
    """
    Args:
        x (`float`): The value.
        factor (`float`, *optional*, defaults to `3.0`):
            The factor.
    """


def shift(x, offset, **kwargs):
    """
    Args:
        x (`float`): The value.
        step (`float`): Documented although absent, accepted because of `**kwargs`.
    """


def undocumented(x):
    return x


def extra(x):
    """
    Args:
        x (`float`): The value.
        y (`float`): Not an argument.
    """


class LinkedConfig(PreTrainedConfig):
    """Like [toy-org/toy-base](https://huggingface.co/toy-org/toy-base)."""


class UnlinkedConfig(PreTrainedConfig):
    """Like [toy-org/toy-base](https://huggingface.co/someone/else)."""


__all__ = ["scale", "shift", "undocumented", "extra", "LinkedConfig", "UnlinkedConfig"]
'''


def test_disagreements_are_reported_and_stale_defaults_fixed(tmp_path):
    module = tmp_path / "toy_docstrings.py"
    write(module, textwrap.dedent(MODULE))
    args = ("--modules", "toy_docstrings", "--page", tmp_path / "no_page.md")
    result = run_check("check_docstrings", *args, env={"PYTHONPATH": str(tmp_path)})
    assert result.returncode == 1
    assert "scale documents `factor` as defaulting to `3.0`, but the signature's default is 2.0" in result.stderr
    assert "toy_docstrings.py: shift does not document its argument `offset`" in result.stderr
    assert "toy_docstrings.py: undocumented has no docstring" in result.stderr
    assert "toy_docstrings.py: extra documents `y`, which its signature does not have" in result.stderr
    assert "UnlinkedConfig names no checkpoint" in result.stderr
    assert "step" not in result.stderr and "LinkedConfig names" not in result.stderr.replace("UnlinkedConfig", "")

    fixed = run_check("check_docstrings", *args, "--fix_and_overwrite", env={"PYTHONPATH": str(tmp_path)})
    assert "defaults to `2.0`" in module.read_text(encoding="utf-8")
    assert fixed.returncode == 1  # what needs a person remains
    assert "factor" not in fixed.stderr and "offset" in fixed.stderr
