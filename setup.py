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
`pip install .` builds the integrated tree (the pinned upstream release with Arlow overlaid, see
`utils/integrated_tree.py`) and installs it as the `transformers` distribution. The distribution's requirements,
extras and entry points are the pinned release's own.
"""

import configparser
import sys
from pathlib import Path

from setuptools import find_packages, setup


HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "utils"))

from integrated_tree import UPSTREAM_VERSION, build_tree  # noqa: E402


TREE = build_tree(HERE / "build" / "install-tree", mode="copy")
SOURCE = TREE.relative_to(HERE) / "src"
EGG_INFO = TREE / "src" / "transformers.egg-info"


def read_requirements() -> tuple[list[str], dict[str, list[str]]]:
    """Parses the release's `requires.txt`: the install requirements, then one `[extra]` section each."""
    install_requires, extras, current = [], {}, None
    for line in (EGG_INFO / "requires.txt").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith("["):
            name, _, marker = line[1:-1].partition(":")
            current = extras.setdefault(f"{name}:{marker}" if marker else name, [])
        elif current is None:
            install_requires.append(line)
        else:
            current.append(line)
    return install_requires, extras


def read_entry_points() -> dict[str, list[str]]:
    parser = configparser.ConfigParser()
    parser.read(EGG_INFO / "entry_points.txt", encoding="utf-8")
    return {group: [f"{name} = {target}" for name, target in parser[group].items()] for group in parser.sections()}


install_requires, extras = read_requirements()
setup(
    name="transformers",
    version=f"{UPSTREAM_VERSION}+arlow",
    description=f"Hugging Face transformers {UPSTREAM_VERSION} with the Arlow model integrated.",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="Apache 2.0 License",
    package_dir={"": str(SOURCE)},
    packages=find_packages(str(SOURCE)),
    package_data={"": ["**/*.cu", "**/*.cpp", "**/*.cuh", "**/*.h", "**/*.pyx", "py.typed"]},
    zip_safe=False,
    python_requires=">=3.11.0",
    install_requires=install_requires,
    extras_require=extras,
    entry_points=read_entry_points(),
)
