# Copyright 2026 The Arlow Authors and The HuggingFace Inc. team. All rights reserved.
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
Builds the *integrated tree*: the pinned upstream transformers release with this repository's contribution overlaid
and the registry entries inserted where upstream's generators would put them. `build` links the Arlow files (editable
install), `setup.py` copies them (`build_tree(mode="copy")`), `patch` writes the upstream patch, `check` fails naming
what drifted. README.md ("The integrated tree", and its environment variables) says more.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path


# The one place naming the upstream release this contribution builds on.
UPSTREAM_VERSION = "5.23.0"
UPSTREAM_SDIST_SHA256 = "19d647a4d5d903a7c644ca5cde2d86efc3dde7d8c687ae7988806ff2205efa71"

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TREE = REPO_ROOT / "build" / "integrated"
SDIST_NAME = f"transformers-{UPSTREAM_VERSION}.tar.gz"
SIMPLE_INDEX_URL = "https://pypi.org/simple/transformers/"
UPSTREAM_CHECKOUT_ENV = "TRANSFORMERS_UPSTREAM_CHECKOUT"

# Contribution files: repository path -> tree path. These form the upstream pull request.
CONTRIBUTION = {
    "src/transformers/models/arlow": "src/transformers/models/arlow",
    "tests/models/arlow": "tests/models/arlow",
    "docs/source/en/model_doc/arlowgpt.md": "docs/source/en/model_doc/arlowgpt.md",
}

# The docs table of contents. The sdist ships no docs/, so the repository's file holds only the Arlow entry inside the
# sections that hold it upstream; the patch merges that entry into an upstream checkout's toctree when one is given.
TOCTREE = "docs/source/en/_toctree.yml"

# Common test modules upstream's checkout has and the sdist lacks: tree path -> stand-in in this repository.
# They are never part of the upstream patch.
STANDINS = "tests/standins"
MISSING_COMMON_TEST_MODULES = {
    "tests/causal_lm_tester.py": f"{STANDINS}/causal_lm_tester.py",
    "tests/exporters/test_export.py": f"{STANDINS}/exporters/test_export.py",
    "tests/generation/test_utils.py": f"{STANDINS}/generation/test_utils.py",
    "tests/utils/test_configuration_utils.py": f"{STANDINS}/utils/test_configuration_utils.py",
    "tests/utils/tiny_model_summary.json": f"{STANDINS}/utils/tiny_model_summary.json",
    # Opened (not read) by upstream's TokenizerTesterMixin.setUpClass.
    "tests/fixtures/sample_text.txt": f"{STANDINS}/fixtures/sample_text.txt",
}

# Modules the sdist's own test mixins import (`test_fsdp_mixin.py`, `test_tensor_parallel_mixin.py`) that neither the
# sdist nor every upstream checkout has: taken from the checkout when it has them, else from the stand-in.
MISSING_SDIST_TEST_HELPERS = {
    "tests/distributed_testing_utils.py": f"{STANDINS}/distributed_testing_utils.py",
}

# What upstream's own copies of those modules import from the checkout beyond `tests/` (its
# `tests/utils/test_configuration_utils.py` puts the tree's `utils/` on `sys.path` for `test_module`): laid into the
# tree only when the modules come from a checkout, since the stand-ins need none of it.
CHECKOUT_SUPPORT_FILES = ["utils/test_module"]

# Project-only test files placed in the tree (the stand-ins' own tests against an in-tree peer).
PROJECT_TREE_FILES = {
    f"{STANDINS}/conftest.py": "conftest.py",
    f"{STANDINS}/test_standins_on_llama.py": "tests/standins/test_standins_on_llama.py",
}
SOURCES_RECORD = ".arlow-common-test-sources"

# Packages that exist in an upstream checkout as empty `__init__.py` files but are absent from the sdist.
TEST_PACKAGES = ["tests", "tests/models", "tests/exporters", "tests/generation", "tests/utils", "tests/standins"]


@dataclass(frozen=True)
class RegistryEntry:
    """One line upstream's generators (or a maintainer, for `modeling_auto.py`) would add to a registry."""

    file: str
    mapping: str
    key: str
    line: str
    # Sorted registries get the entry at its alphabetical place; unsorted ones (plain dicts) at their end.
    keep_sorted: bool = True

    @property
    def name(self) -> str:
        return f"{self.mapping}[{self.key!r}] in {self.file}"


AUTO = "src/transformers/models/auto"


def _auto(file: str, mapping: str, value: str) -> RegistryEntry:
    """The `("arlowgpt", value)` entry of an Auto mapping in `models/auto/<file>`."""
    return RegistryEntry(f"{AUTO}/{file}", mapping, "arlowgpt", f'        ("arlowgpt", {value}),')


REGISTRY_ENTRIES = [
    _auto("auto_mappings.py", "CONFIG_MAPPING_NAMES", '"ArlowConfig"'),
    _auto("auto_mappings.py", "SPECIAL_MODEL_TYPE_TO_MODULE_NAME", '"arlow"'),
    _auto("modeling_auto.py", "MODEL_MAPPING_NAMES", '"ArlowModel"'),
    _auto("modeling_auto.py", "MODEL_FOR_CAUSAL_LM_MAPPING_NAMES", '"ArlowForCausalLM"'),
    _auto("modeling_auto.py", "MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING_NAMES", '"ArlowForSequenceClassification"'),
    _auto("modeling_auto.py", "MODEL_FOR_QUESTION_ANSWERING_MAPPING_NAMES", '"ArlowForQuestionAnswering"'),
    _auto("modeling_auto.py", "MODEL_FOR_TOKEN_CLASSIFICATION_MAPPING_NAMES", '"ArlowForTokenClassification"'),
    _auto(
        "tokenization_auto.py", "TOKENIZER_MAPPING_NAMES", '"ArlowTokenizer" if is_tokenizers_available() else None'
    ),
    RegistryEntry("src/transformers/models/__init__.py", "TYPE_CHECKING", "arlow", "    from .arlow import *"),
    # The model folder (`arlow`) is not a model type (`arlowgpt`): `auto_docstring` needs the folder's config by hand.
    RegistryEntry(
        "src/transformers/utils/auto_docstring.py",
        "HARDCODED_CONFIG_FOR_MODELS",
        "arlow",
        '    "arlow": "ArlowConfig",',
        keep_sorted=False,
    ),
]


class IntegratedTreeError(RuntimeError):
    """Raised with a message that says what went wrong and how to fix it."""


# The pinned sdist


def verify_sdist(path: Path) -> Path:
    with open(path, "rb") as f:
        actual = hashlib.file_digest(f, "sha256").hexdigest()
    if actual != UPSTREAM_SDIST_SHA256:
        raise IntegratedTreeError(
            f"Refusing {path}: its sha256 is {actual}, but transformers {UPSTREAM_VERSION} has sha256 "
            f"{UPSTREAM_SDIST_SHA256}. The file is corrupt or was tampered with; delete it and try again."
        )
    return path


def _sdist_url() -> str:
    request = urllib.request.Request(SIMPLE_INDEX_URL, headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        index = json.load(response)
    for entry in index["files"]:
        if entry["filename"] == SDIST_NAME:
            return entry["url"]
    raise IntegratedTreeError(f"{SIMPLE_INDEX_URL} does not list {SDIST_NAME}.")


def fetch_sdist() -> Path:
    """Returns the verified pinned sdist: from `ARLOW_UPSTREAM_SDIST`, the cache, or PyPI (then cached)."""
    local = os.environ.get("ARLOW_UPSTREAM_SDIST")
    if local:
        if not Path(local).is_file():
            raise IntegratedTreeError(f"ARLOW_UPSTREAM_SDIST={local} does not name a file.")
        return verify_sdist(Path(local))
    cached = Path(os.environ.get("ARLOW_CACHE_DIR", Path.home() / ".cache" / "arlow")) / SDIST_NAME
    if cached.is_file():
        return verify_sdist(cached)
    cached.parent.mkdir(parents=True, exist_ok=True)
    partial = cached.with_suffix(".part")
    try:
        url = _sdist_url()
        print(f"Downloading {url}", file=sys.stderr)
        with urllib.request.urlopen(url, timeout=300) as response, open(partial, "wb") as f:
            shutil.copyfileobj(response, f)
    except (urllib.error.URLError, OSError, TimeoutError) as error:
        partial.unlink(missing_ok=True)
        raise IntegratedTreeError(
            f"Could not fetch {SDIST_NAME} from PyPI ({error}). Download it by other means and point "
            f"ARLOW_UPSTREAM_SDIST at the file, or place it at {cached}."
        ) from error
    verify_sdist(partial).replace(cached)  # a corrupt download stays `.part`, never taken for the cached file
    return cached


def extract_pristine(dest: Path) -> Path:
    """Extracts the pinned sdist into `dest` (which must not exist) and returns the release's root folder."""
    with tarfile.open(fetch_sdist()) as archive:
        archive.extractall(dest, filter="data")
    return dest / f"transformers-{UPSTREAM_VERSION}"


# Registry edits


# The key of a registry line: `("key", ...),`, `"key": ...,` or `from .key import *` (a tuple split over lines has none).
_ENTRY_KEY = re.compile(r'\s*(?:\("([^"]+)"|"([^"]+)": |from \.(\w+) import \*$)')


def _entry_key(line: str) -> str | None:
    match = _ENTRY_KEY.match(line)
    return next(key for key in match.groups() if key) if match else None


def _block_bounds(lines: list[str], entry: RegistryEntry) -> tuple[int, int]:
    """Returns the [start, end) line range holding the entries of `entry.mapping`."""
    header = "if TYPE_CHECKING:" if entry.mapping == "TYPE_CHECKING" else f"{entry.mapping} = "
    starts = [i for i, line in enumerate(lines) if line.startswith(header)]
    if len(starts) != 1:
        raise IntegratedTreeError(f"Cannot find the unique `{header.strip()}` block for {entry.name}.")
    start = starts[0] + 1
    closing = {"TYPE_CHECKING": "else:", "HARDCODED_CONFIG_FOR_MODELS": "}"}.get(entry.mapping, "    ]")
    end = next((i for i in range(start, len(lines)) if lines[i] == closing), None)
    if end is None:
        raise IntegratedTreeError(f"The `{header.strip()}` block for {entry.name} has no closing `{closing.strip()}`.")
    return start, end


def insert_entry(text: str, entry: RegistryEntry) -> str:
    """Inserts `entry` at its sorted place (replacing a line with the same key); idempotent."""
    lines = text.split("\n")
    start, end = _block_bounds(lines, entry)
    keyed = [(i, _entry_key(lines[i])) for i in range(start, end) if _entry_key(lines[i]) is not None]
    for i, key in keyed:
        if key == entry.key:
            lines[i] = entry.line
            return "\n".join(lines)
    following = (i for i, key in keyed if key > entry.key) if entry.keep_sorted else iter(())
    position = next(following, keyed[-1][0] + 1)
    lines.insert(position, entry.line)
    return "\n".join(lines)


def edited_registry_files(pristine_root: Path) -> dict[str, str]:
    """The registry files of the integrated tree: pristine text with every entry inserted."""
    texts: dict[str, str] = {}
    for entry in REGISTRY_ENTRIES:
        if entry.file not in texts:
            texts[entry.file] = (pristine_root / entry.file).read_text(encoding="utf-8")
        texts[entry.file] = insert_entry(texts[entry.file], entry)
    return texts


# The tree


def overlay_sources() -> dict[str, Path]:
    """Tree path -> source path for every file or folder overlaid on the release."""
    sources = {tree: REPO_ROOT / repo for repo, tree in CONTRIBUTION.items()}
    checkout = os.environ.get(UPSTREAM_CHECKOUT_ENV)
    for tree, standin in MISSING_COMMON_TEST_MODULES.items():
        upstream = Path(checkout) / tree if checkout else None
        if checkout and not upstream.is_file():
            raise IntegratedTreeError(f"{UPSTREAM_CHECKOUT_ENV}={checkout} has no {tree}.")
        sources[tree] = upstream if upstream else REPO_ROOT / standin
    for tree, standin in MISSING_SDIST_TEST_HELPERS.items():
        upstream = Path(checkout) / tree if checkout else None
        sources[tree] = upstream if upstream and upstream.is_file() else REPO_ROOT / standin
    if checkout:
        sources.update({tree: Path(checkout) / tree for tree in CHECKOUT_SUPPORT_FILES})
    sources.update({tree: REPO_ROOT / repo for repo, tree in PROJECT_TREE_FILES.items()})
    return sources


def describe_common_test_sources() -> list[str]:
    """One line per module the sdist lacks, saying where the tree's copy comes from."""
    sources = overlay_sources()
    lines = []
    for tree in [*MISSING_COMMON_TEST_MODULES, *MISSING_SDIST_TEST_HELPERS]:
        origin = "project stand-in" if sources[tree].is_relative_to(REPO_ROOT / STANDINS) else "upstream checkout"
        lines.append(f"{tree}: {origin} ({sources[tree]})")
    return lines


def _place(source: Path, target: Path, mode: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.is_symlink() or target.is_file():
        target.unlink()
    elif target.is_dir():
        shutil.rmtree(target)
    if mode == "link":
        target.symlink_to(source, target_is_directory=source.is_dir())
    elif source.is_dir():
        shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    else:
        shutil.copy2(source, target)


def _write_if_changed(path: Path, text: str) -> None:
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def build_tree(dest: Path = DEFAULT_TREE, mode: str = "link") -> Path:
    """Builds (or refreshes) the integrated tree at `dest`; idempotent. `mode` is "link" or "copy"."""
    if mode not in ("link", "copy"):
        raise ValueError(f"mode must be 'link' or 'copy', got {mode!r}")
    dest = Path(dest)
    stamp = dest / ".arlow-release"
    if not stamp.is_file() or stamp.read_text(encoding="utf-8") != UPSTREAM_SDIST_SHA256:
        if dest.exists():
            shutil.rmtree(dest)
        with tempfile.TemporaryDirectory(dir=dest.parent if dest.parent.exists() else None) as tmp:
            root = extract_pristine(Path(tmp))
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(root), dest)
        shutil.copytree(dest / "src", dest / ".pristine" / "src")
        stamp.write_text(UPSTREAM_SDIST_SHA256, encoding="utf-8")
    for tree, source in overlay_sources().items():
        if not source.exists():
            continue
        target = dest / tree
        if mode == "link" and target.is_symlink() and target.readlink() == source:
            continue
        _place(source, target, mode)
    for package in TEST_PACKAGES:
        (dest / package).mkdir(parents=True, exist_ok=True)
        (dest / package / "__init__.py").touch()
    for file, text in edited_registry_files(dest / ".pristine").items():
        _write_if_changed(dest / file, text)
    _write_if_changed(dest / SOURCES_RECORD, "\n".join(describe_common_test_sources()) + "\n")
    return dest


def check_tree(dest: Path = DEFAULT_TREE) -> list[str]:
    """Returns the ways the tree at `dest` drifted from the sources (empty when in sync)."""
    dest = Path(dest)
    if not (dest / ".arlow-release").is_file():
        return [f"{dest} is not an integrated tree; run `python utils/integrated_tree.py build`."]
    problems = []
    for file, expected in edited_registry_files(dest / ".pristine").items():
        actual = (dest / file).read_text(encoding="utf-8")
        if actual == expected:
            continue
        bad = [e for e in REGISTRY_ENTRIES if e.file == file and actual.split("\n").count(e.line) != 1]
        problems += [f"registry entry {e.name} is missing, duplicated or differs: {e.line.strip()}" for e in bad]
        if not bad:
            problems.append(f"{file} differs from the pristine release plus the registry entries")
    for tree, source in overlay_sources().items():
        if not source.exists():
            continue
        target = dest / tree
        if target.is_symlink():
            if target.resolve() != source.resolve():
                problems.append(f"{tree} links to {target.resolve()} instead of {source}")
        elif not target.exists():
            problems.append(f"{tree} is missing (source: {source})")
        elif _contents(source) != _contents(target):
            problems.append(f"{tree} differs from {source}")
    return problems


def _contents(path: Path) -> dict[str, bytes]:
    """The file `path`, or every file under the folder `path` but `__pycache__`, by relative path."""
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    return {str(p.relative_to(path)): p.read_bytes() for p in files}


# The upstream patch


def git(cwd: Path, *args: str) -> str:
    """Runs `git args` in `cwd` as a throwaway committer; a failure is an `IntegratedTreeError` with git's message."""
    command = ["git", "-c", "user.name=arlow", "-c", "user.email=arlow@localhost", *args]
    completed = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if completed.returncode != 0:
        raise IntegratedTreeError(f"`git {' '.join(args)}` failed in {cwd}: {completed.stderr.strip()}")
    return completed.stdout


def toctree_entries(toctree: list) -> list[tuple[str, dict]]:
    """(modality title, entry) for every page under API > Models of a parsed toctree."""
    entries = []
    for api in (s for s in toctree if isinstance(s, dict) and s.get("title") == "API"):
        for models in (s for s in api.get("sections", []) if isinstance(s, dict) and s.get("title") == "Models"):
            for modality in (s for s in models.get("sections", []) if isinstance(s, dict) and "sections" in s):
                entries += [(modality.get("title"), e) for e in modality["sections"] if isinstance(e, dict)]
    return entries


def insert_toctree_entry(text: str, modality: str, local: str, title: str) -> str:
    """
    Inserts `{local, title}` into the `modality` section of an upstream toctree, at its alphabetical place by title (as
    upstream's `utils/check_doc_toc.py` sorts), editing the text so that the rest of the file is untouched; idempotent.
    """
    import yaml

    entries = [e for m, e in toctree_entries(yaml.safe_load(text)) if m == modality and "local" in e]
    if not entries:
        raise IntegratedTreeError(f"The upstream toctree has no API > Models > {modality} section.")
    if any(e["local"] == local for e in entries):
        return text
    lines = text.split("\n")

    def entry_start(entry_local: str) -> int:
        index = next((i for i, line in enumerate(lines) if line.strip().endswith(f"local: {entry_local}")), None)
        if index is None:
            raise IntegratedTreeError(f"Cannot find `local: {entry_local}` in the upstream toctree.")
        return index if lines[index].lstrip().startswith("- ") else index - 1

    following = next((e for e in entries if e["title"].lower() > title.lower()), None)
    anchor = entry_start((following or entries[-1])["local"])
    indent = lines[anchor][: len(lines[anchor]) - len(lines[anchor].lstrip())]
    new_entry = [f"{indent}- local: {local}", f"{indent}  title: {title}"]
    if following is None:  # after the last entry: skip its lines (deeper-indented or its own keys)
        anchor += 1
        while anchor < len(lines) and lines[anchor].startswith(indent + "  "):
            anchor += 1
    lines[anchor:anchor] = new_entry
    merged = "\n".join(lines)
    placed = [e["local"] for m, e in toctree_entries(yaml.safe_load(merged)) if m == modality]
    if local not in placed:
        raise IntegratedTreeError(f"Inserting {local} into the upstream toctree did not land in {modality}.")
    return merged


def repository_toctree_entry() -> tuple[str, str, str]:
    """(modality, local, title) of the model page's entry in the repository's toctree."""
    import yaml

    local = "model_doc/arlowgpt"
    for modality, entry in toctree_entries(yaml.safe_load((REPO_ROOT / TOCTREE).read_text(encoding="utf-8")) or []):
        if entry.get("local") == local:
            return modality, local, entry["title"]
    raise IntegratedTreeError(f"{TOCTREE} has no API > Models entry for {local}.")


def write_upstream_patch(output: Path, checkout: str | Path | None = None) -> tuple[Path, str | None]:
    """
    Writes the contribution as a git patch against the pristine release (registry edits included), and returns it with
    a note when the toctree entry could not be included. The sdist has no docs/_toctree.yml to edit: the entry is
    merged into the toctree of the upstream `checkout` (default: `TRANSFORMERS_UPSTREAM_CHECKOUT`), whose file then
    joins the base of the diff, so that the patch edits upstream's toctree in place.
    """
    entry = repository_toctree_entry()
    checkout = checkout or os.environ.get(UPSTREAM_CHECKOUT_ENV)
    upstream_toctree = Path(checkout) / TOCTREE if checkout else None
    note = None
    if upstream_toctree is None or not upstream_toctree.is_file():
        note = (
            f"The patch leaves out the toctree entry ({entry[1]} under API > Models > {entry[0]}): the sdist has no "
            f"{TOCTREE}. Set {UPSTREAM_CHECKOUT_ENV} to an upstream checkout of v{UPSTREAM_VERSION} to include it."
        )
    with tempfile.TemporaryDirectory() as tmp:
        root = extract_pristine(Path(tmp))
        if note is None:
            (root / TOCTREE).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(upstream_toctree, root / TOCTREE)
        for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", f"transformers {UPSTREAM_VERSION}"]):
            git(root, *args)
        for repo_path, tree_path in CONTRIBUTION.items():
            source = REPO_ROOT / repo_path
            if source.exists():
                _place(source, root / tree_path, "copy")
        for file, text in edited_registry_files(root).items():
            (root / file).write_text(text, encoding="utf-8")
        if note is None:
            toctree = root / TOCTREE
            toctree.write_text(insert_toctree_entry(toctree.read_text(encoding="utf-8"), *entry), encoding="utf-8")
        git(root, "add", "-A")
        patch = git(root, "diff", "--cached", "--binary", "HEAD")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(patch, encoding="utf-8")
    return output, note


# Command line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], prog="integrated_tree.py")
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="build or refresh the integrated tree")
    build.add_argument("--dest", type=Path, default=DEFAULT_TREE)
    build.add_argument("--mode", choices=("link", "copy"), default="link")
    check = commands.add_parser("check", help="fail when the tree drifted from the sources")
    check.add_argument("--dest", type=Path, default=DEFAULT_TREE)
    patch = commands.add_parser("patch", help="write the upstream pull request as a patch")
    patch.add_argument("--output", type=Path, default=REPO_ROOT / "build" / "arlow-upstream.patch")
    commands.add_parser("sources", help="say where the common test modules missing from the sdist come from")
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            print(f"Integrated tree ready at {build_tree(args.dest, args.mode)}")
        elif args.command == "check":
            problems = check_tree(args.dest)
            for problem in problems:
                print(f"{args.dest}: {problem}", file=sys.stderr)
            if problems:
                return 1
            print(f"{args.dest} is in sync with the sources.")
        elif args.command == "patch":
            path, note = write_upstream_patch(args.output)
            print(f"Wrote {path}")
            if note:
                print(f"note: {note}", file=sys.stderr)
        else:
            print("\n".join(describe_common_test_sources()))
    except IntegratedTreeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
