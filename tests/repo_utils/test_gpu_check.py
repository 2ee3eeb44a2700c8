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
Tests of `benchmark/gpu_check.py` (`make gpu-check`) that need no GPU: the commands it builds, its refusal without
CUDA, and the report it writes from the checks' results (the commands themselves replaced by a fake runner).
"""

import sys
from pathlib import Path

import pytest
import torch


REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "benchmark"))

import gpu_check  # noqa: E402
from bench_settings import BenchSettings  # noqa: E402


def test_checks_run_the_attention_tests_the_loss_tests_and_both_gpu_benchmarks(tmp_path):
    checks = gpu_check.build_checks("python", tmp_path)
    by_name = {check.name: check for check in checks}
    assert len(by_name) == 4

    attention = by_name["flash-attention and FlexAttention tests"]
    assert attention.cwd == gpu_check.INTEGRATED_TREE
    assert attention.command[:3] == ["python", "-m", "pytest"]
    assert attention.command[-3:] == ["tests/models/arlow", "-k", "flash or flex"]
    # upstream's flash-attention tests are @slow
    assert attention.env == {"RUN_SLOW": "1"}

    loss = by_name["chunked loss on CUDA"]
    assert loss.command[-1] == "tests/models/arlow/test_chunked_loss_arlow.py"
    assert (gpu_check.INTEGRATED_TREE / loss.command[-1]).parent.name == "arlow"

    for attn in ("flash_attention_2", "sdpa"):
        bench = by_name[f"benchmark, cuda bfloat16 {attn}"]
        command = bench.command
        assert Path(command[1]) == REPO_ROOT / "benchmark" / "run_benchmarks.py"
        options = dict(zip(command[2::2], command[3::2]))
        assert options["--device"] == "cuda" and options["--dtype"] == "bfloat16" and options["--attn"] == attn
        sections = command[command.index("--sections") + 1 : command.index("--output-dir")]
        assert "mfu" in sections and "training" in sections
        assert bench.report_path == tmp_path / f"benchmark_{attn}" / f"benchmark_cuda_bfloat16_{attn}.md"


def test_benchmark_commands_parse_with_the_gpu_preset(tmp_path):
    # the arguments build_checks passes are accepted by run_benchmarks.py, and mean the GPU preset (MFU at 1b)
    import run_benchmarks

    for check in gpu_check.build_checks("python", tmp_path)[2:]:
        settings = run_benchmarks.settings_from_args(run_benchmarks.parse_args(check.command[2:]))
        assert settings == BenchSettings.for_run(
            "cuda", dtype="bfloat16", attn=settings.attn, sections=gpu_check.DEFAULT_BENCH_SECTIONS
        )
        assert "1b" in settings.sizes


def test_without_cuda_it_stops_before_running_anything(tmp_path, capsys):
    ran = []

    def no_cuda():
        raise RuntimeError("`make gpu-check` needs a CUDA GPU, but torch sees none")

    status = gpu_check.main(["--output-dir", str(tmp_path / "out")], run=ran.append, cuda_device=no_cuda)
    assert status == gpu_check.NO_CUDA_EXIT_STATUS
    assert ran == []
    assert not (tmp_path / "out").exists()
    assert "needs a CUDA GPU" in capsys.readouterr().err


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without CUDA")
def test_require_cuda_names_what_is_missing():
    with pytest.raises(RuntimeError, match=r"needs a CUDA GPU.*is_available\(\) is False"):
        gpu_check.require_cuda()


def test_report_holds_every_check_and_the_benchmark_reports(tmp_path):
    def fake_run(check):
        if check.report_path is not None:
            check.report_path.parent.mkdir(parents=True)
            check.report_path.write_text(f"benchmark table of {check.name}\n", encoding="utf-8")
        failed = "sdpa" in check.name
        return {"returncode": 1 if failed else 0, "seconds": 3.0, "output": f"output of {check.name}\n"}

    status = gpu_check.main(["--output-dir", str(tmp_path)], run=fake_run, cuda_device=lambda: "Fake GPU")
    report = (tmp_path / "gpu_check_report.md").read_text(encoding="utf-8")

    assert status == 1  # one check failed
    assert "- Device: Fake GPU" in report
    for check in gpu_check.build_checks("python", tmp_path):
        assert f"## {check.name}" in report
        assert f"output of {check.name}" in report
    assert "| benchmark, cuda bfloat16 sdpa | 1 | 3 |" in report
    assert "benchmark table of benchmark, cuda bfloat16 flash_attention_2" in report
    assert "RUN_SLOW=1" in report
