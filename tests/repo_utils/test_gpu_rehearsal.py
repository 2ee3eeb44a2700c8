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
The rehearsal of the GPU run: `make gpu-bundle`, then `make gpu-check` in a virtual environment made like the GPU
machine's image (transformers 5.17.0 and the image's other versions installed, none of the packages the bundle carries,
pip allowed no index and no network), so a bundle that would fail on the machine fails here first. Without CUDA the
command installs offline, proves that Arlow comes from the integrated tree, and runs a tiny bfloat16 training step; the
CUDA steps are reported as not run.

The image has torch 2.11 (CUDA 13.0); here the environment gets the CPU build that `TORCH_SPEC` names (2.13.0 by
default), so the code on the GPU path guards anything newer than 2.11 by feature (`hasattr`), never by version.
"""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


REPO_ROOT = Path(__file__).resolve().parents[2]
# The GPU machine's image as its description lists it (python3 3.12 there; the interpreter running the tests here)
IMAGE_PACKAGES = (
    os.environ.get("TORCH_SPEC", "torch==2.13.0"),
    "transformers==5.17.0",
    "tokenizers==0.23.2",
    "accelerate==1.15.0",
    "huggingface_hub==1.33.0",
    "safetensors==0.8.0",
    "pytest",
    "pytest-xdist",
    "pytest-timeout",
    "hypothesis",
    "sentencepiece",
    "numpy",
    "pandas",
    "pyarrow",
    "xxhash",
    "fsspec",
    "aiohttp",
    "requests",
    "tqdm",
    "pyyaml",
    "psutil",
    "httpx",
)
REHEARSAL_DIR = REPO_ROOT / "build" / "gpu-rehearsal"


def image_like_python() -> Path:
    """The rehearsal environment's interpreter, made once per package list (a stamp file holds the list's hash)."""
    venv = REHEARSAL_DIR / "venv"
    python = venv / "bin" / "python"
    stamp = venv / ".image-packages"
    wanted = hashlib.sha256("\n".join(IMAGE_PACKAGES).encode()).hexdigest()
    if not (python.exists() and stamp.exists() and stamp.read_text() == wanted):
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", *IMAGE_PACKAGES], check=True)
        stamp.write_text(wanted)
    return python


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory):
    python = image_like_python()
    subprocess.run(["make", "--no-print-directory", "gpu-bundle"], cwd=REPO_ROOT, check=True)
    out = tmp_path_factory.mktemp("gpu-report")
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    # as on the machine: no index for pip, and no network for anything (a proxy that refuses every connection)
    env.update(PIP_NO_INDEX="1", HTTP_PROXY="http://127.0.0.1:9", HTTPS_PROXY="http://127.0.0.1:9", HF_HUB_OFFLINE="1")
    command = ["make", "--no-print-directory", "gpu-check", f"GPU_PYTHON={python}", f"OUT={out}"]
    completed = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600)
    report = json.loads((out / "gpu-report.json").read_text(encoding="utf-8"))
    return python, completed, report, out


def test_rehearsal_installs_offline_and_imports_arlow_from_the_integrated_tree(rehearsal):
    python, completed, report, out = rehearsal
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    steps = {step["name"]: step for step in report["steps"]}
    assert steps["install"]["status"] == "passed"
    environment = steps["environment"]["results"]
    assert environment["transformers"] == "5.23.0"
    assert Path(environment["transformers_path"]) == REPO_ROOT / "build" / "gpu-tree" / "src" / "transformers"
    assert environment["arlow_config_is_arlow"] is True
    for package in ("datasets", "torchdata", "parameterized"):
        assert not environment[f"{package}_version"].startswith("absent"), environment
    # the image's own environment is left as it was: its transformers is still 5.17.0, and it has no datasets
    probe = (
        "import transformers, importlib.util as u; print(transformers.__version__, u.find_spec('datasets') is None)"
    )
    assert subprocess.run([str(python), "-c", probe], capture_output=True, text=True).stdout.split() == [
        "5.17.0",
        "True",
    ]
    assert (out / "gpu-report.md").is_file() and (out / "gpu-check.log").is_file()


def test_rehearsal_trains_in_bfloat16_on_the_cpu_and_reports_the_cuda_steps_as_not_run(rehearsal):
    _, _, report, _ = rehearsal
    steps = {step["name"]: step for step in report["steps"]}
    training = steps["training"]["results"]
    assert steps["training"]["status"] == "passed" and training["device"] == "cpu"
    assert training["arlow"]["loss"] > 0 and training["llama"]["loss"] > 0
    not_run = [name for name, step in steps.items() if step["status"] == "not run: no CUDA"]
    assert "training" not in not_run and {"loss", "decoding", "tests: attention backends"} <= set(not_run)
    assert report["limit"] <= 8 * 60
