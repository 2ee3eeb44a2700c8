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
Tests of `make gpu-bundle` and `make gpu-check` (utils/gpu_check.py) needing no GPU: the rehearsal of the whole
offline command in an environment made like the GPU machine's image, the time budget, a step that hangs, and the
per-backend test counts. Its measurements are `run_benchmarks.py` sections, tested in test_benchmark_quick.py.
"""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "utils"))

import gpu_check  # noqa: E402


# The GPU machine's image as its description lists it (python3 3.12 and torch 2.11 there; here the interpreter running
# the tests and the CPU build `TORCH_SPEC` names, so the GPU path guards anything newer than torch 2.11 by feature)
IMAGE_PACKAGES = (
    *(
        os.environ.get("TORCH_SPEC", "torch==2.13.0"),
        "transformers==5.17.0",
        "tokenizers==0.23.2",
        "accelerate==1.15.0",
    ),
    *("huggingface_hub==1.33.0", "safetensors==0.8.0", "pytest", "pytest-xdist", "pytest-timeout", "hypothesis"),
    *("sentencepiece", "numpy", "pandas", "pyarrow", "xxhash", "fsspec", "aiohttp", "requests", "tqdm", "pyyaml"),
    *("psutil", "httpx", "matplotlib"),
)


def image_like_python() -> Path:
    """The rehearsal environment's interpreter, made once per package list (a stamp file holds the list's hash)."""
    venv = REPO_ROOT / "build" / "gpu-rehearsal" / "venv"
    python, stamp = venv / "bin" / "python", venv / ".image-packages"
    wanted = hashlib.sha256("\n".join(IMAGE_PACKAGES).encode()).hexdigest()
    if not (python.exists() and stamp.exists() and stamp.read_text() == wanted):
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", *IMAGE_PACKAGES], check=True)
        stamp.write_text(wanted)
    return python


def test_rehearsal_installs_offline_imports_arlow_from_the_tree_and_trains_in_bfloat16(tmp_path):
    python = image_like_python()
    subprocess.run(["make", "--no-print-directory", "gpu-bundle"], cwd=REPO_ROOT, check=True)
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    # as on the machine: no index for pip, and no network for anything (a proxy that refuses every connection)
    env.update(PIP_NO_INDEX="1", HTTP_PROXY="http://127.0.0.1:9", HTTPS_PROXY="http://127.0.0.1:9", HF_HUB_OFFLINE="1")
    command = ["make", "--no-print-directory", "gpu-check", f"GPU_PYTHON={python}", f"OUT={tmp_path}"]
    completed = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    steps = {step["name"]: step for step in json.loads((tmp_path / "gpu-report.json").read_text())["steps"]}
    environment, training = steps["environment"]["results"], steps["training, memory, loss"]["results"]
    assert steps["install"]["status"] == "passed" and environment["transformers"] == "5.23.0"
    assert Path(environment["transformers_path"]) == REPO_ROOT / "build" / "gpu-tree" / "src" / "transformers"
    assert environment["arlow_config_is_arlow"] is True
    assert not any(environment[f"{name}_version"].startswith("absent") for name in ("datasets", "torchdata"))
    # the image's own environment is left as it was: its transformers is still 5.17.0, and it has no datasets
    probe = (
        "import transformers, importlib.util as u; print(transformers.__version__, u.find_spec('datasets') is None)"
    )
    assert subprocess.run([str(python), "-c", probe], capture_output=True, text=True).stdout.split() == [
        "5.17.0",
        "True",
    ]
    # without CUDA: tiny bfloat16 training steps of both models run; the CUDA steps are reported as not run
    assert steps["training, memory, loss"]["status"] == "passed" and training["errors"] == {}
    assert all(row["arlow tok/s"] > 0 and row["llama tok/s"] > 0 for row in training["training"])
    not_run = {name for name, step in steps.items() if step["status"] == "not run: no CUDA"}
    assert {"decoding", "tests: attention backends", "tests: chunked loss", "pretraining demo"} <= not_run
    assert (tmp_path / "gpu-report.md").is_file() and (tmp_path / "gpu-check.log").is_file()


def test_step_limits_fit_the_machines_ten_minute_command_limit():
    steps = gpu_check.plan("python", Path("work"))
    assert sum(step.limit_seconds for step in steps) <= gpu_check.TOTAL_LIMIT_SECONDS == 8 * 60
    assert steps[0].name == "install" and not steps[0].needs_cuda
    # every step writes its outputs outside the report folder, which the machine sends back (at most 8 files)
    assert all(str(step.result).startswith("work") for step in steps if step.result)
    # `--steps`: the install, then the steps named; a misspelt name stops before anything runs
    assert [step.name for step in gpu_check.chosen(steps, ["decoding"])] == ["install", "decoding"]
    with pytest.raises(SystemExit, match=r"no step named \['decode'\]; the steps are \['install'"):
        gpu_check.chosen(steps, ["decode"])


def test_a_step_that_hangs_is_killed_and_the_report_keeps_the_steps_before_it(tmp_path):
    result = tmp_path / "first"  # a step's folder, where it writes its JSON
    write = f"import json, os; os.makedirs({str(result)!r}); "
    write += f"json.dump({{'value': 1}}, open({str(result / 'r.json')!r}, 'w'))"
    # a pytest run stopped at its limit: the tests it finished are counted from what it printed
    hang = "import time; print('[gw0] [ 50%] PASSED tests/t.py::T::test_sdpa_x', flush=True); time.sleep(60)"
    steps = [
        gpu_check.Step("first", 20, [sys.executable, "-c", write], result=result),
        gpu_check.Step("hangs", 2, [sys.executable, "-c", hang], pytest=True),
        gpu_check.Step("needs a GPU", 5, [sys.executable, "-c", "raise SystemExit(3)"], needs_cuda=True),
        gpu_check.Step("fails", 20, [sys.executable, "-c", "raise SystemExit(3)"]),
    ]
    status = gpu_check.run(tmp_path / "out", steps, python_path="", cuda=False)

    report = json.loads((tmp_path / "out" / "gpu-report.json").read_text())
    statuses = [step["status"] for step in report["steps"]]
    assert status == 1
    assert statuses == ["passed", "timed out after 2 s", "not run: no CUDA", "failed (exit status 3)"]
    assert report["steps"][0]["results"] == {"value": 1}
    assert report["steps"][1]["seconds"] < 15 and "PASSED" in report["steps"][1]["output_tail"]
    assert report["steps"][1]["tests"] == {"sdpa": {"passed": 1, "failed": 0, "skipped": 0}}
    markdown = (tmp_path / "out" / "gpu-report.md").read_text()
    assert "| hangs | timed out after 2 s |" in markdown and '"value": 1' in markdown
    assert "test_sdpa_x" in (tmp_path / "out" / "gpu-check.log").read_text()


def test_test_counts_per_backend_never_count_absent_flash_attention_as_passed():
    # pytest-xdist's verbose lines, as the H200 printed them (collection lines without an outcome are not counted)
    output = "\n".join(
        f"[gw{i % 3}] [ {i}%] {outcome} tests/t.py::ArlowModelTest::{name}"
        for i, (outcome, name) in enumerate(
            [
                ("PASSED", "test_sdpa_padding"),
                ("FAILED", "test_eager_matches_sdpa_inference_00_fp16_pad_left"),
                ("PASSED", "test_sdpa_can_dispatch_on_flash"),
                ("PASSED", "test_flex_attention_with_grads"),
                ("SKIPPED", "test_flash_attn_2_inference_equivalence"),
                ("PASSED", "test_model_forward"),
            ]
        )
    )
    output += "\ntests/t.py::ArlowModelTest::test_not_finished\n"
    # pytest's short summary repeats a failure: it is counted once
    output += "FAILED tests/t.py::ArlowModelTest::test_eager_matches_sdpa_inference_00_fp16_pad_left - x\n"
    counts = gpu_check.test_summary(gpu_check.streamed_outcomes(output), flash_attn_present=False)
    failed = ["test_eager_matches_sdpa_inference_00_fp16_pad_left"]
    assert counts["sdpa"] == {"passed": 2, "failed": 1, "skipped": 0, "failed tests": failed}
    assert counts["flex"]["passed"] == 1
    flash = "flash (flash-attn absent: skipped = not run; passed = error and fallback paths only)"
    assert counts[flash] == {"passed": 0, "failed": 0, "skipped": 1}
    assert counts["eager and common"]["passed"] == 1


def test_without_the_bundle_the_install_fails_naming_the_fix_and_nothing_else_runs(tmp_path):
    steps = gpu_check.plan(sys.executable, tmp_path / "work")
    steps[0].command += ["--bundle-dir", str(tmp_path / "no-bundle")]
    assert gpu_check.run(tmp_path / "out", steps[:2], python_path="", cuda=False) == 1
    report = json.loads((tmp_path / "out" / "gpu-report.json").read_text())
    assert report["steps"][0]["status"] == "failed (exit status 1)"
    assert "run `make gpu-bundle`" in report["steps"][0]["output_tail"]
    assert report["steps"][1]["status"] == "not run: install did not pass"
