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
Everything that needs a CUDA GPU, in one command (`make gpu-check`), with one report:

1. the flash-attention and FlexAttention tests of `tests/models/arlow` (with `RUN_SLOW=1`, which upstream's flash
   tests need), inside the integrated tree;
2. the chunked loss tests on CUDA (float16 + loss scale and bfloat16 against float32, the model's `skip_logits=True`);
3. the benchmark in GPU mode, bfloat16, once with `flash_attention_2` and once with `sdpa`, MFU included (sizes medium
   and 1b, 16384 tokens per step: the GPU preset of `bench_settings.py`).

    python benchmark/gpu_check.py [--output-dir build/gpu-check] [--bench-sections mfu training memory decoding]

The report is `<output-dir>/gpu_check_report.md`: each check's command, exit status, duration and output tail, then
the benchmark reports. Without CUDA it stops before running anything, with exit status 2.
"""

import argparse
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path


REPO_ROOT = Path(__file__).resolve().parents[1]
INTEGRATED_TREE = REPO_ROOT / "build" / "integrated"
BENCH_ATTENTION_BACKENDS = ("flash_attention_2", "sdpa")
DEFAULT_BENCH_SECTIONS = ("mfu", "training", "memory", "decoding")
OUTPUT_TAIL_CHARS = 6000
NO_CUDA_EXIT_STATUS = 2


@dataclass
class Check:
    """One command of the GPU check: what it is, how to run it, and where its benchmark report lands (if any)."""

    name: str
    command: list[str]
    cwd: Path
    env: dict = field(default_factory=dict)
    report_path: Path | None = None


def build_checks(python: str, output_dir: Path, bench_sections=DEFAULT_BENCH_SECTIONS) -> list[Check]:
    """The checks in the order they run: attention tests, chunked-loss tests, then one benchmark per backend."""
    pytest = [python, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rs"]
    checks = [
        Check(
            "flash-attention and FlexAttention tests",
            [*pytest, "tests/models/arlow", "-k", "flash or flex"],
            INTEGRATED_TREE,
            {"RUN_SLOW": "1"},
        ),
        Check("chunked loss on CUDA", [*pytest, "tests/models/arlow/test_chunked_loss_arlow.py"], INTEGRATED_TREE),
    ]
    for attn in BENCH_ATTENTION_BACKENDS:
        bench_dir = output_dir / f"benchmark_{attn}"
        checks.append(
            Check(
                f"benchmark, cuda bfloat16 {attn}",
                [
                    python,
                    str(REPO_ROOT / "benchmark" / "run_benchmarks.py"),
                    "--device",
                    "cuda",
                    "--dtype",
                    "bfloat16",
                    "--attn",
                    attn,
                    "--sections",
                    *bench_sections,
                    "--output-dir",
                    str(bench_dir),
                ],
                REPO_ROOT,
                report_path=bench_dir / f"benchmark_cuda_bfloat16_{attn}.md",
            )
        )
    return checks


def require_cuda() -> str:
    """The name of the CUDA device torch sees; raises a `RuntimeError` saying so when it sees none."""
    import torch

    if not torch.cuda.is_available():
        raise RuntimeError(
            f"`make gpu-check` needs a CUDA GPU, but torch {torch.__version__} sees none "
            f"(torch.cuda.is_available() is False; CUDA build: {torch.version.cuda}). Run it on a machine with one."
        )
    return torch.cuda.get_device_name(0)


def run_check(check: Check, log=print) -> dict:
    log(f"== {check.name}: {' '.join(check.command)} (in {check.cwd})")
    start = time.perf_counter()
    completed = subprocess.run(
        check.command,
        cwd=check.cwd,
        env={**os.environ, "HF_HUB_OFFLINE": "1", **check.env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    seconds = time.perf_counter() - start
    log(f"   exit status {completed.returncode} after {seconds:.0f} s")
    return {"returncode": completed.returncode, "seconds": seconds, "output": completed.stdout}


def markdown_report(device_name: str, checks: list[Check], results: list[dict]) -> str:
    """The report: a summary table, then each check's command and output tail, then the benchmark reports."""
    lines = [
        "# Arlow GPU check",
        "",
        f"- Device: {device_name}",
        f"- Date (UTC): {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}",
        "",
        "| check | exit status | seconds |",
        "|---|---|---|",
    ]
    lines += [f"| {c.name} | {r['returncode']} | {r['seconds']:.0f} |" for c, r in zip(checks, results)]
    for check, result in zip(checks, results):
        env = " ".join(f"{key}={value}" for key, value in check.env.items())
        command = " ".join(check.command)
        lines += [
            "",
            f"## {check.name}",
            "",
            f"`cd {check.cwd} && {env + ' ' if env else ''}{command}`: exit status {result['returncode']}",
            "",
            "```",
            result["output"][-OUTPUT_TAIL_CHARS:].rstrip(),
            "```",
        ]
        if check.report_path is not None and check.report_path.exists():
            lines += ["", check.report_path.read_text(encoding="utf-8")]
    return "\n".join(lines) + "\n"


def main(argv=None, run=run_check, cuda_device=require_cuda) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output-dir", type=Path, default=REPO_ROOT / "build" / "gpu-check")
    parser.add_argument("--bench-sections", nargs="+", default=list(DEFAULT_BENCH_SECTIONS))
    args = parser.parse_args(argv)
    try:
        device_name = cuda_device()
    except RuntimeError as error:
        print(f"error: {error}", file=sys.stderr)
        return NO_CUDA_EXIT_STATUS
    args.output_dir.mkdir(parents=True, exist_ok=True)
    checks = build_checks(sys.executable, args.output_dir, tuple(args.bench_sections))
    results = [run(check) for check in checks]
    report_path = args.output_dir / "gpu_check_report.md"
    report_path.write_text(markdown_report(device_name, checks, results), encoding="utf-8")
    failed = [check.name for check, result in zip(checks, results) if result["returncode"] != 0]
    print(f"Wrote {report_path}" + (f"; failed: {', '.join(failed)}" if failed else "; every check passed"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
