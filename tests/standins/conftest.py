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
"""Root conftest of the integrated tree (project tooling, not part of the upstream patch)."""

import os
import sys
from pathlib import Path


# Tests never reach the Hugging Face Hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

_SOURCES_FILE = Path(__file__).parent / ".arlow-common-test-sources"

# Markers upstream's common tests use that the sdist's pyproject.toml does not declare (upstream's own root conftest,
# which the sdist lacks, registers them).
_UPSTREAM_MARKERS = {
    "accelerate_tests": "tests that need accelerate (multi-device placement)",
    "executorch_export_test": "tests that export to ExecuTorch (upstream's tests/exporters/test_export.py)",
    "is_pipeline_test": "pipeline tests (PipelineTesterMixin)",
    "is_staging_test": "tests that run against the Hub's staging environment",
    "onnx_export_test": "tests that export to ONNX (upstream's tests/exporters/test_export.py)",
    "slow": "slow tests, run only with RUN_SLOW=1",
    "torch_compile_test": "tests that exercise torch.compile",
    "torch_export_test": "tests that exercise torch.export",
}


def pytest_configure(config):
    for name, description in _UPSTREAM_MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {description}")


def pytest_report_header(config):
    """Says where each common test module that the sdist lacks came from (written by utils/integrated_tree.py)."""
    if not _SOURCES_FILE.is_file():
        print(f"warning: {_SOURCES_FILE} is missing; rebuild the integrated tree", file=sys.stderr)
        return []
    return [f"common test module {line}" for line in _SOURCES_FILE.read_text(encoding="utf-8").splitlines()]
