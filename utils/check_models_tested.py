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
Checks every model class is exercised by the common tests, as `check_all_models_are_tested` in upstream's
`utils/check_repo.py` does: each `modeling_<name>.py` has a `test_modeling_<name>.py`, and every class it exports that
derives from `PreTrainedModel` (the `XPreTrainedModel` base aside) is listed in that file's `all_model_classes`, or is
one of the classes a `CausalLMModelTester` names (`base_model_class`, `causal_lm_class`,
`sequence_classification_class`, `question_answering_class`, `token_classification_class`). As upstream's
`find_tested_models`, a head attribute a `CausalLMModelTester` subclass leaves unset counts as the class the tester
infers from `base_model_class` (`XModel` gives `XForCausalLM`, `XForSequenceClassification`, ...). No fix mode
(upstream has none).
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

from arlow_repo_paths import MODEL_DIR, MODEL_TEST_DIR, base_names, model_classes, parse_python, relative, run_check


TESTER_ATTRIBUTES = (
    "base_model_class",
    "causal_lm_class",
    "sequence_classification_class",
    "question_answering_class",
    "token_classification_class",
)


# The head classes `CausalLMModelTester` infers when a tester leaves the attribute unset (transformers.testing_utils'
# `_COMMON_MODEL_NAMES_MAP`): the base model's name without "Model", plus this suffix.
INFERRED_SUFFIXES = {
    "causal_lm_class": "ForCausalLM",
    "question_answering_class": "ForQuestionAnswering",
    "sequence_classification_class": "ForSequenceClassification",
    "token_classification_class": "ForTokenClassification",
}


def assigned_names(node: ast.AST) -> list[str]:
    """The names an assignment statement binds (none for other statements)."""
    if isinstance(node, ast.Assign):
        return [t.id for t in node.targets if isinstance(t, ast.Name)]
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return [node.target.id]
    return []


def inferred_by_causal_lm_testers(tree: ast.Module) -> set[str]:
    """The head classes `CausalLMModelTester` subclasses test without naming them (their attribute left unset)."""
    inferred = set()
    for tester in ast.walk(tree):
        if not isinstance(tester, ast.ClassDef) or "CausalLMModelTester" not in base_names(tester):
            continue
        attributes: dict[str, ast.AST] = {}
        for node in ast.walk(tester):
            for name in assigned_names(node):
                attributes.setdefault(name, node)
        base = attributes.get("base_model_class")
        if base is None or not isinstance(base.value, ast.Name):
            continue
        prefix = base.value.id.replace("Model", "")
        inferred |= {prefix + suffix for attr, suffix in INFERRED_SUFFIXES.items() if attr not in attributes}
    return inferred


def tested_classes(test_file: Path) -> set[str]:
    """The class names a test file hands to the common tests."""
    tree = parse_python(test_file)
    tested = inferred_by_causal_lm_testers(tree)
    for node in ast.walk(tree):
        targets = []
        if isinstance(node, ast.Assign):
            targets = [getattr(t, "id", None) for t in node.targets]
        elif isinstance(node, ast.AnnAssign):
            targets = [getattr(node.target, "id", None)]
        if "all_model_classes" in targets or any(t in TESTER_ATTRIBUTES for t in targets):
            tested.update(n.id for n in ast.walk(node.value) if isinstance(n, ast.Name) and n.id[:1].isupper())
    return tested


def check(args: argparse.Namespace) -> list[str]:
    model_dir, test_dir = Path(args.model_dir), Path(args.test_dir)
    classes = model_classes(model_dir)
    if not classes:
        return [f"{relative(model_dir)} exports no model class"]
    problems = []
    for module in sorted(set(classes.values())):
        test_file = test_dir / f"test_{module.name}"
        if not test_file.is_file():
            problems.append(f"{relative(module)} has no test file {relative(test_file)}")
            continue
        tested = tested_classes(test_file)
        if not tested:
            problems.append(
                f"{relative(test_file)} defines no `all_model_classes` (nor a CausalLMModelTester's model class "
                "attributes), so the common tests run on none of the models"
            )
            continue
        problems += [
            f"{relative(module)}: {name} is not tested: add it to `all_model_classes` in {relative(test_file)}"
            for name, path in classes.items()
            if path == module and name not in tested
        ]
    return problems


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model_dir", type=Path, default=MODEL_DIR, help="the model folder (default: Arlow's)")
    parser.add_argument("--test_dir", type=Path, default=MODEL_TEST_DIR, help="its tests (default: Arlow's)")


if __name__ == "__main__":
    sys.exit(run_check("check_models_tested", __doc__.strip().split("\n\n")[0], check, None, add_arguments))
