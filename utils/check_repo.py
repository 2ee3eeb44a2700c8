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
The repository-consistency checks that read the contribution's sources without importing them, one function per
mistake, each named after the upstream check it mirrors (upstream's runs only with an upstream checkout, in
`utils/run_upstream_checks.py`; these run offline, in CI):

- `untested` (`check_all_models_are_tested` of upstream's `utils/check_repo.py`): a model class outside every
  `all_model_classes` and every class a `CausalLMModelTester` names or infers (`XModel` + an unset head's suffix);
- `unregistered` (`check_all_models_are_auto_configured`): a model class no modeling entry of `REGISTRY_ENTRIES` in
  `utils/integrated_tree.py` names, or an entry naming a class the folder does not export with that role (the tree
  tool writes the entries and `integrated_tree.py check` fails when the tree lacks one, but neither knows the classes);
- `undocumented` (`check_all_objects_are_documented`): an exported name without its `[[autodoc]]` block on the page
  (upstream's exemptions apply); that every block resolves is `utils/build_docs.py`'s job;
- `misplaced_page` (`check_model_type_doc_match`, and `utils/check_doc_toc.py`'s `ensure_all_models_in_toctree`): a
  page not named after the `model_type`, or missing from API > Models > Text models of the toctree;
- `stale_init` (`utils/check_inits.py`): the lazy `__init__.py`'s `TYPE_CHECKING` star-imports are not the sorted
  modules that export `__all__` (the runtime half finds modules by itself, so only type checkers would notice);
- `unused_config_fields` (`utils/check_config_attributes.py`): a config field no modeling file reads;
- `branches_without_note` (rule TRF041 of `utils/check_modeling_structure.py`, mlinter with upstream's rules.toml,
  stricter than the PyPI mlinter 0.1.5 `make check-repo` runs: no exempt "plumbing" fields, no exempt guards): a
  config-gated branch in a modeling or modular file without its `# CODEPATH:` note (read with mlinter's own helpers);
- `flash_attn_imports` (no upstream check; DESIGN.md section 4): the model imports flash-attn instead of leaving it to
  `attn_implementation` and transformers' integrations.

`--fix_and_overwrite` rewrites the `TYPE_CHECKING` imports, as upstream's `check_inits.py` does; the rest needs a person.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import integrated_tree
from arlow_repo_paths import (
    assigned_names,
    autodoc_blocks,
    base_names,
    config_classes,
    config_model_types,
    exported_objects,
    model_classes,
    parse_python,
    relative,
    run_check,
)
from mlinter import trf041
from mlinter._helpers import _has_rule_suppression


# The heads a `CausalLMModelTester` infers from `base_model_class` when the attribute is left unset.
INFERRED_HEADS = {
    "causal_lm_class": "ForCausalLM",
    "question_answering_class": "ForQuestionAnswering",
    "sequence_classification_class": "ForSequenceClassification",
    "token_classification_class": "ForTokenClassification",
}
UNDOCUMENTED_SUFFIXES = ("PreTrainedModel", "Layer", "Attention", "Embeddings", "Encoder", "Decoder")
# Config fields read by shared code rather than the modeling file: `use_cache` by generation, `initializer_range` by
# `PreTrainedModel._init_weights`, token ids (suffix `_token_id`) by generation and the tokenizers.
GENERIC_CONFIG_FIELDS = {"use_cache", "initializer_range"}
# Config class -> {field: why it is kept although the modeling files do not read it}. Keep this short.
ALLOWED_UNUSED: dict[str, dict[str, str]] = {
    # Upstream exempts only a `False` default: Arlow ties by default, which `PreTrainedModel` reads through
    # `_tied_weights_keys` when it ties the LM head to the input embeddings.
    "ArlowConfig": {"tie_word_embeddings": "read by PreTrainedModel's weight tying (default True)"},
}
INIT_IMPORTS = re.compile(r"(?<=^if TYPE_CHECKING:\n)(?:    from \.\w+ import \*\n)*", re.MULTILINE)


def tested_classes(test_file: Path) -> set[str]:
    """The classes a test file hands to the common tests: `all_model_classes` and the testers' model classes."""
    tree = parse_python(test_file)
    tested = set()
    for node in ast.walk(tree):
        if {"all_model_classes", "base_model_class", *INFERRED_HEADS} & set(assigned_names(node)) and node.value:
            tested |= {n.id for n in ast.walk(node.value) if isinstance(n, ast.Name) and n.id[:1].isupper()}
        if isinstance(node, ast.ClassDef) and "CausalLMModelTester" in base_names(node):
            attributes = {name: n for n in ast.walk(node) for name in assigned_names(n)}
            base = getattr(attributes.get("base_model_class"), "value", None)
            if isinstance(base, ast.Name):
                prefix = base.id.removesuffix("Model")
                tested |= {prefix + suffix for attr, suffix in INFERRED_HEADS.items() if attr not in attributes}
    return tested


def untested(model_dir: Path, test_dir: Path) -> list[str]:
    problems = []
    for name, module in model_classes(model_dir).items():
        test_file = test_dir / f"test_{module.name}"
        if name not in (tested_classes(test_file) if test_file.is_file() else set()):
            problems.append(
                f"{relative(module)}: {name} is not tested: add it to `all_model_classes` in {relative(test_file)}"
            )
    return problems


def unregistered(model_dir: Path) -> list[str]:
    exported, models = exported_objects(model_dir), model_classes(model_dir)
    roles = {name: "tokenizer" if "Tokenizer" in name else "other" for name in exported}
    roles.update({**dict.fromkeys(config_classes(model_dir), "config"), **dict.fromkeys(models, "model")})
    problems, registered = [], set()
    for entry in integrated_tree.REGISTRY_ENTRIES:
        if entry.mapping not in ("TYPE_CHECKING", "SPECIAL_MODEL_TYPE_TO_MODULE_NAME"):
            expected = {"MODEL": "model", "TOKENIZER": "tokenizer"}.get(entry.mapping.split("_")[0], "config")
            for name in re.findall(r'"([A-Z]\w+)"', entry.line):
                registered.add(name)
                if roles.get(name) != expected:
                    role = f"a {roles[name]} class" if name in roles else f"not exported by {relative(model_dir)}"
                    problems.append(f"utils/integrated_tree.py: {entry.name} names {name}, {role}, not a {expected}")
    return problems + [
        f"{relative(path)}: {name} is in no Auto mapping: add its entry to REGISTRY_ENTRIES in utils/integrated_tree.py"
        for name, path in models.items()
        if name not in registered
    ]


def undocumented(page: Path, model_dir: Path) -> list[str]:
    documented = [block.name.split(".")[-1] for block in autodoc_blocks(page.read_text(encoding="utf-8"))]
    problems = [
        f"{relative(page)}: `[[autodoc]] {n}` appears twice" for n in set(documented) if documented.count(n) > 1
    ]
    return problems + [
        f"{relative(page)}: {name} (exported by {relative(module)}) has no `[[autodoc]] {name}` block"
        for name, module in exported_objects(model_dir).items()
        if not (name.isupper() or name.endswith(UNDOCUMENTED_SUFFIXES)) and name not in documented
    ]


def misplaced_page(page: Path, model_dir: Path) -> list[str]:
    import yaml

    problems, model_types = [], config_model_types(model_dir)
    if page.stem not in model_types:
        expected = " or ".join(f"{t}.md" for t in model_types) or "?, as no configuration sets `model_type`"
        problems.append(f"{relative(page)}: {page.stem} is not a proper model identifier: name the page {expected}")
    toctree = page.parent.parent / "_toctree.yml"
    entries = integrated_tree.toctree_entries(yaml.safe_load(toctree.read_text(encoding="utf-8")) or [])
    if ("Text models", f"model_doc/{page.stem}") not in [(modality, e.get("local")) for modality, e in entries]:
        problems.append(f"{relative(toctree)}: no entry for model_doc/{page.stem} under API > Models > Text models")
    return problems


def init_imports(model_dir: Path) -> tuple[Path, str, re.Match | None, str]:
    """The init, its text, its `TYPE_CHECKING` star-imports and what they should be."""
    init = model_dir / "__init__.py"
    text = init.read_text(encoding="utf-8") if init.is_file() else ""
    modules = sorted({path.stem for path in exported_objects(model_dir).values()})
    return init, text, INIT_IMPORTS.search(text), "".join(f"    from .{m} import *\n" for m in modules)


def stale_init(model_dir: Path) -> list[str]:
    init, _, block, expected = init_imports(model_dir)
    if block is None:
        return [f"{relative(init)}: no lazy `__init__.py` with an `if TYPE_CHECKING:` block"]
    if block.group(0) != expected:
        return [
            f"{relative(init)}: the TYPE_CHECKING imports should be\n{expected}(the sorted modules exporting `__all__`); "
            "run `python utils/check_repo.py --fix_and_overwrite`"
        ]
    return []


def unused_config_fields(model_dir: Path) -> list[str]:
    modeling = sorted(model_dir.glob("modeling_*.py"))
    sources, readers = [p.read_text(encoding="utf-8") for p in modeling], ", ".join(map(relative, modeling)) or "?"
    problems = []
    for name, (node, path) in config_classes(model_dir).items():
        allowed = ALLOWED_UNUSED.get(name, {})
        aliases = {}
        for s in node.body:
            if "attribute_map" in assigned_names(s):
                for alias, field in ast.literal_eval(s.value).items():
                    aliases.setdefault(field, []).append(alias)
        fields = {
            s.target.id: s.value
            for s in node.body
            if isinstance(s, ast.AnnAssign) and not s.target.id.startswith("_") and "ClassVar" not in ast.unparse(s)
        }
        for field, default in fields.items():
            pattern = "|".join(
                rf"\bconfig\.{n}\b|getattr\(\s*(self\.)?config\s*,\s*[\"']{n}[\"']"
                for n in [field, *aliases.get(field, [])]
            )
            used = any(re.search(pattern, source) for source in sources)
            generic = field in GENERIC_CONFIG_FIELDS or field.endswith("_token_id")
            generic |= field == "tie_word_embeddings" and getattr(default, "value", None) is False
            if used and field in allowed:
                problems.append(f"utils/check_repo.py: ALLOWED_UNUSED lists {name}.{field}, which {readers} reads")
            elif not (used or generic or field in allowed):
                problems.append(
                    f"{relative(path)}: {name}.{field} is not used in {readers}; use it, remove it, or add it with a "
                    "reason to ALLOWED_UNUSED in utils/check_repo.py"
                )
        problems += [
            f"utils/check_repo.py: ALLOWED_UNUSED names {name}.{f}, not a field" for f in set(allowed) - set(fields)
        ]
    return problems


def branches_without_note(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    exempt = trf041._file_scoped_ignores(lines, "TRF041")
    found = []
    for node in ast.walk(parse_python(path)):
        if not isinstance(node, (ast.If, ast.IfExp)) or trf041._is_default_coalesce(node):
            continue
        fields = [f for f in trf041._config_attributes(node.test) if trf041._normalise_attribute(f) not in exempt]
        if (
            fields
            and not trf041._has_marker(lines, node.lineno)
            and not _has_rule_suppression(lines, "TRF041", node.lineno)
        ):
            kind = "branch" if isinstance(node, ast.If) else "conditional expression"
            found.append(
                (
                    node.lineno,
                    f"{relative(path)}:{node.lineno}: TRF041: {kind} on `{fields[0]}` has no "
                    "`# CODEPATH:` note; add one naming the checkpoints that take each path, or delete the branch",
                )
            )
    return [message for _, message in sorted(found)]


def flash_attn_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(parse_python(path)):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
        names += [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []
        if any(name.split(".")[0] in ("flash_attn", "flash_attn_interface") for name in names):
            found.append(f"{relative(path)}:{node.lineno}: imports flash-attn; leave it to `attn_implementation`")
    return found


def check(args) -> list[str]:
    model_dir, page = Path(args.model_dir), Path(args.page)
    if not model_classes(model_dir):
        return [f"{relative(model_dir)} exports no model class"]
    problems = untested(model_dir, Path(args.test_dir)) + unregistered(model_dir) + stale_init(model_dir)
    problems += unused_config_fields(model_dir)
    for path in sorted(model_dir.glob("*.py")):
        problems += flash_attn_imports(path)
        problems += branches_without_note(path) if path.name.startswith(("modeling_", "modular_")) else []
    if not page.is_file():
        return problems + [f"{relative(page)} does not exist"]
    return problems + undocumented(page, model_dir) + misplaced_page(page, model_dir)


def fix(args) -> list[str]:
    init, text, block, expected = init_imports(Path(args.model_dir))
    if block is None or block.group(0) == expected:
        return []
    init.write_text(text[: block.start()] + expected + text[block.end() :], encoding="utf-8")
    return [f"{relative(init)}: TYPE_CHECKING imports rewritten"]


if __name__ == "__main__":
    sys.exit(run_check(check, fix))
