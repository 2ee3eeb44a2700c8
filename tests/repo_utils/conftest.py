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
Fixtures of the consistency-check tests: a small, well-formed "toy" model contribution in a temporary folder (model
package, test file, page, toctree) that each test breaks in one way, and a runner for the `utils/check_*.py` scripts.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest


REPO_ROOT = Path(__file__).resolve().parents[2]
UTILS = REPO_ROOT / "utils"

LICENSE = "# Copyright 2026 The Toy Authors. All rights reserved.\n# Licensed under the Apache License, Version 2.0.\n"

CONFIGURATION = '''
from ...configuration_utils import PreTrainedConfig
from ...utils import auto_docstring


@auto_docstring(checkpoint="toy-org/toy-base")
class ToyConfig(PreTrainedConfig):
    r"""
    cross_attention (`bool`, *optional*, defaults to `False`):
        Whether to attend to encoder states.
    """

    model_type = "toy"
    attribute_map = {"add_cross_attention": "cross_attention"}

    hidden_size: int = 8
    cross_attention: bool = False
    pad_token_id: int | None = None


__all__ = ["ToyConfig"]
'''

MODELING = """
from ...modeling_utils import PreTrainedModel


class ToyPreTrainedModel(PreTrainedModel):
    base_model_prefix = "model"


class ToyModel(ToyPreTrainedModel):
    def __init__(self, config):
        super().__init__(config)
        self.width = config.hidden_size
        self.cross = config.add_cross_attention

    def forward(self, input_ids):
        return input_ids


class ToyForCausalLM(ToyPreTrainedModel):
    def forward(self, input_ids, labels=None):
        return input_ids


__all__ = ["ToyModel", "ToyForCausalLM", "ToyPreTrainedModel"]
"""

TOKENIZATION = '''
from ...tokenization_utils_tokenizers import TokenizersBackend


class ToyTokenizer(TokenizersBackend):
    """A toy tokenizer."""


ToyTokenizerFast = ToyTokenizer

__all__ = ["ToyTokenizer", "ToyTokenizerFast"]
'''

INIT = """from typing import TYPE_CHECKING

from ...utils import _LazyModule
from ...utils.import_utils import define_import_structure


if TYPE_CHECKING:
    from .configuration_toy import *
    from .modeling_toy import *
    from .tokenization_toy import *
else:
    import sys

    _file = globals()["__file__"]
    sys.modules[__name__] = _LazyModule(__name__, _file, define_import_structure(_file), module_spec=__spec__)
"""

TEST_MODELING = """
import unittest

from transformers import ToyForCausalLM, ToyModel


class ToyModelTest(unittest.TestCase):
    all_model_classes = (ToyModel, ToyForCausalLM)
"""

PAGE = """<!--Copyright 2026 The Toy Authors. All rights reserved.

Licensed under the Apache License, Version 2.0.

-->
*This model was contributed to Hugging Face Transformers on 2026-01-02.*

# Toy

## ToyTokenizer

[[autodoc]] ToyTokenizer

## ToyTokenizerFast

[[autodoc]] ToyTokenizerFast

## ToyConfig

[[autodoc]] ToyConfig

## ToyModel

[[autodoc]] ToyModel
    - forward

## ToyForCausalLM

[[autodoc]] ToyForCausalLM
    - forward
"""

TOCTREE = """- title: API
  sections:
  - title: Models
    isExpanded: false
    sections:
    - title: Text models
      sections:
      - local: model_doc/toy
        title: Toy
"""


@dataclass
class ToyRepo:
    root: Path

    @property
    def model_dir(self) -> Path:
        return self.root / "src" / "transformers" / "models" / "toy"

    @property
    def test_dir(self) -> Path:
        return self.root / "tests" / "models" / "toy"

    @property
    def docs(self) -> Path:
        return self.root / "docs" / "source" / "en"

    @property
    def page(self) -> Path:
        return self.docs / "model_doc" / "toy.md"

    @property
    def toctree(self) -> Path:
        return self.docs / "_toctree.yml"

    def edit(self, path: Path, old: str, new: str) -> None:
        """Replaces `old` (which must occur) by `new` in `path`."""
        text = path.read_text(encoding="utf-8")
        assert old in text, f"{old!r} not in {path}"
        path.write_text(text.replace(old, new), encoding="utf-8")


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.fixture
def toy(tmp_path) -> ToyRepo:
    repo = ToyRepo(tmp_path)
    write(repo.model_dir / "configuration_toy.py", LICENSE + CONFIGURATION)
    write(repo.model_dir / "modeling_toy.py", LICENSE + MODELING)
    write(repo.model_dir / "tokenization_toy.py", LICENSE + TOKENIZATION)
    write(repo.model_dir / "__init__.py", LICENSE + INIT)
    write(repo.test_dir / "test_modeling_toy.py", LICENSE + TEST_MODELING)
    write(repo.page, PAGE)
    write(repo.toctree, TOCTREE)
    return repo


@dataclass
class CheckResult:
    returncode: int
    stdout: str
    stderr: str


def run_check(name: str, *args: str | Path, env: dict[str, str] | None = None) -> CheckResult:
    """Runs `utils/<name>.py` with `args` from the repository root, as the Makefile does."""
    completed = subprocess.run(
        [sys.executable, str(UTILS / f"{name}.py"), *map(str, args)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})},
        timeout=600,
    )
    return CheckResult(completed.returncode, completed.stdout, completed.stderr)


def dedent(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")
