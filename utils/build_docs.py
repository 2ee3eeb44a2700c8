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
Builds the documentation in `docs/source/en` with hf-doc-builder, the tool upstream builds its docs with, against the
`transformers` package the environment imports (the integrated tree), without network access. Fails when an
`[[autodoc]]` does not resolve or the doc-builder rejects a docstring, when a documented object (or a method listed
under it) has no docstring, and when an argument of a documented signature is not documented.

Usage: `python utils/build_docs.py [--docs docs/source/en] [--build_dir build/docs]` (`make docs`). The MDX pages land
in `<build_dir>/transformers/main/en/`.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from arlow_repo_paths import DOCS_SOURCE, REPO_ROOT, autodoc_blocks, relative


DEFAULT_BUILD_DIR = REPO_ROOT / "build" / "docs"
PACKAGE = "transformers"
VERSION = "main"  # the doc-builder's default version


def import_doc_builder():
    """Imports hf-doc-builder, with links to other libraries' docs resolved offline (rendered as plain code)."""
    try:
        import doc_builder
        import doc_builder.external
        from doc_builder.autodoc import find_object_in_package
    except ModuleNotFoundError as error:
        raise SystemExit(
            f"error: hf-doc-builder cannot be imported: module {error.name!r} is missing. hf-doc-builder 0.5.0 imports "
            "`requests` without declaring it; `make setup` installs both (requirements-dev.txt)."
        ) from error
    # The doc-builder downloads the `objects.inv` of the other Hugging Face libraries to link their objects. Seeding
    # its cache with empty maps keeps the build offline: such links are rendered as code, as for any unknown object.
    for library in doc_builder.external.HUGGINFACE_LIBS:
        doc_builder.external.EXTERNAL_DOC_OBJECTS_CACHE.setdefault(library, {})
    return doc_builder, find_object_in_package


def docstring_problems(docs: Path, package, find_object_in_package) -> list[str]:
    """
    The documented objects without a docstring or with undocumented arguments (after a successful build). A class block
    without a method list documents every public method with a docstring of its own, as the doc-builder renders them.
    """
    import inspect

    from check_docstrings import docstring_problems as signature_problems
    from doc_builder.autodoc import find_documented_methods

    problems = []
    pages = sorted(docs.glob("**/*.md"))
    for page, block in [(page, block) for page in pages for block in autodoc_blocks(page.read_text(encoding="utf-8"))]:
        where, name, methods = f"{relative(page)}:{block.line}", block.name, block.methods
        obj = find_object_in_package(name, package)
        if obj is None:
            problems.append(f"{where}: `[[autodoc]] {name}` does not resolve in {package.__name__}")
            continue
        problems += signature_problems(name, obj, name, where)[0]
        if not methods and inspect.isclass(obj):
            methods = tuple(find_documented_methods(obj))
        for method in methods:
            if method in ("all", "none"):
                continue
            member = getattr(obj, method, None)
            if member is None:
                problems.append(f"{where}: {name} has no method `{method}`")
                continue
            problems += signature_problems(f"{name}.{method}", member, f"{name}.{method}", where)[0]
    return problems


def build(docs: Path, build_dir: Path) -> tuple[Path, list[str]]:
    """Builds the docs; returns the folder of the built MDX pages and the problems found."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    doc_builder, find_object_in_package = import_doc_builder()
    import transformers

    output = build_dir / PACKAGE / VERSION / "en"
    print(f"Building {relative(docs)} against transformers {transformers.__version__} ({transformers.__file__})")
    try:
        doc_builder.build_doc(PACKAGE, docs, output, is_python_module=True)  # version "main", language "en", clean
    except Exception as error:  # the doc-builder raises plain ValueError/RuntimeError/AttributeError with the cause
        return output, [f"hf-doc-builder failed: {type(error).__name__}: {error}"]
    return output, docstring_problems(docs, transformers, find_object_in_package)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="build_docs.py", description=__doc__.strip().split("\n\n")[0])
    parser.add_argument("--docs", type=Path, default=DOCS_SOURCE, help="the docs source (default: docs/source/en)")
    parser.add_argument("--build_dir", type=Path, default=DEFAULT_BUILD_DIR, help="the output (default: build/docs)")
    args = parser.parse_args(argv)
    if not (args.docs / "_toctree.yml").is_file():
        print(f"error: {relative(args.docs)} has no _toctree.yml", file=sys.stderr)
        return 2
    output, problems = build(args.docs.resolve(), args.build_dir.resolve())
    for problem in problems:
        print(f"build_docs: {problem}", file=sys.stderr)
    if problems:
        print(f"build_docs: {len(problems)} problem(s); the docs are not publishable.", file=sys.stderr)
        return 1
    print(f"Docs built in {relative(output)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
