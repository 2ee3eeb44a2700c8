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
Checks every field a configuration class declares is read by the model's modeling files, as upstream's
`utils/check_config_attributes.py` does: `config.<field>`, `getattr(config, "<field>"...)` or
`getattr(self.config, "<field>"...)`, under the field's own name or its `attribute_map` alias. Fields upstream accepts
without a use (token ids, `use_cache`, `initializer_range`, `tie_word_embeddings` left at `False`) pass, and so do the
fields of `ALLOWED_UNUSED`, each with the reason it is kept. Fields inherited from `PreTrainedConfig` are not the
model's to check. No fix mode (upstream has none).
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from pathlib import Path

from arlow_repo_paths import MODEL_DIR, base_names, parse_python, relative, run_check


CONFIG_BASES = {"PreTrainedConfig", "PretrainedConfig"}

# Upstream's generic exceptions: attributes read by shared code rather than by the modeling file (`use_cache` by
# generation, `initializer_range` by `PreTrainedModel._init_weights`, token ids by generation and the tokenizers).
GENERIC_ALLOWED = {"use_cache", "initializer_range"}
GENERIC_ALLOWED_SUFFIXES = ("_token_id",)

# Config class -> {field: reason it is kept although the modeling files do not read it}. Keep this short.
ALLOWED_UNUSED: dict[str, dict[str, str]] = {
    "ArlowConfig": {
        # Arlow ties by default (upstream exempts only a `False` default): `PreTrainedModel` reads it, through
        # `_tied_weights_keys`, when it ties the LM head to the input embeddings.
        "tie_word_embeddings": "read by PreTrainedModel's weight tying (default True differs from upstream's False)",
    },
}


def config_fields(node: ast.ClassDef) -> list[tuple[str, ast.expr | None]]:
    """The fields a config class body declares (annotated names), with their default expressions."""
    fields = []
    for statement in node.body:
        if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
            name = statement.target.id
            annotation = ast.unparse(statement.annotation)
            if not name.startswith("_") and "ClassVar" not in annotation:
                fields.append((name, statement.value))
    return fields


def attribute_aliases(node: ast.ClassDef) -> dict[str, list[str]]:
    """Field -> the alias names `attribute_map` gives it."""
    aliases: dict[str, list[str]] = {}
    for statement in node.body:
        if (
            isinstance(statement, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "attribute_map" for t in statement.targets)
            and isinstance(statement.value, ast.Dict)
        ):
            for key, value in ast.literal_eval(statement.value).items():
                aliases.setdefault(value, []).append(key)
    return aliases


def is_used(name: str, sources: list[str]) -> bool:
    pattern = re.compile(rf"\bconfig\.{name}\b|getattr\(\s*(self\.)?config\s*,\s*[\"']{name}[\"']")
    return any(pattern.search(source) for source in sources)


def generically_allowed(name: str, default: ast.expr | None) -> bool:
    if name in GENERIC_ALLOWED or name.endswith(GENERIC_ALLOWED_SUFFIXES):
        return True
    return name == "tie_word_embeddings" and isinstance(default, ast.Constant) and default.value is False


def check(args: argparse.Namespace) -> list[str]:
    model_dir = Path(args.model_dir)
    config_files = sorted(model_dir.glob("configuration_*.py"))
    modeling_files = sorted(model_dir.glob("modeling_*.py"))
    if not config_files:
        return [f"{relative(model_dir)} has no configuration_*.py"]
    if not modeling_files:
        return [f"{relative(model_dir)} has no modeling_*.py to read the configuration attributes"]
    sources = [path.read_text(encoding="utf-8") for path in modeling_files]
    problems = []
    for config_file in config_files:
        for node in parse_python(config_file).body:
            if not isinstance(node, ast.ClassDef) or not CONFIG_BASES.intersection(base_names(node)):
                continue
            allowed = ALLOWED_UNUSED.get(node.name, {})
            aliases = attribute_aliases(node)
            fields = config_fields(node)
            for name, default in fields:
                names = [name, *aliases.get(name, [])]
                if any(is_used(n, sources) for n in names):
                    if name in allowed:
                        problems.append(
                            f"utils/check_config_attributes.py: ALLOWED_UNUSED lists {node.name}.{name}, which "
                            f"{', '.join(relative(p) for p in modeling_files)} uses; remove it from the list"
                        )
                    continue
                if generically_allowed(name, default):
                    continue
                if name not in allowed:
                    problems.append(
                        f"{relative(config_file)}: {node.name}.{name} is not used in "
                        f"{', '.join(relative(p) for p in modeling_files)}; use it, remove it, or add it with a "
                        "reason to ALLOWED_UNUSED in utils/check_config_attributes.py"
                    )
            stale = sorted(set(allowed) - {name for name, _ in fields})
            problems += [
                f"utils/check_config_attributes.py: ALLOWED_UNUSED names {node.name}.{name}, which is not a field"
                for name in stale
            ]
    return problems


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model_dir", type=Path, default=MODEL_DIR, help="the model folder (default: Arlow's)")


if __name__ == "__main__":
    sys.exit(run_check("check_config_attributes", __doc__.strip().split("\n\n")[0], check, None, add_arguments))
