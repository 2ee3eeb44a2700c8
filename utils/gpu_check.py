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
Everything that needs a CUDA GPU, as one offline command for a lent GPU machine that has no network.

    python utils/gpu_check.py bundle            # here, with PyPI: writes build/gpu-bundle/ (`make gpu-bundle`)
    python3 utils/gpu_check.py run [--out DIR]  # there, with the image's python (`make gpu-check`)
    python3 utils/gpu_check.py run --steps decoding "pretraining demo"   # the install, then only these steps

`bundle` gathers what the image lacks: the pinned sdist and wheels of `BUNDLED_PACKAGES`, for the image's Python 3.12
and for the interpreter running `bundle` (the rehearsal here installs the same files). `run` builds the integrated tree
from the sdist into `build/gpu-tree/`, installs the wheels with `pip --no-index` into `build/gpu-site/` (the image's
environment is left as it is), puts both first on `PYTHONPATH` so every step imports the integrated transformers, then
runs the steps of `plan` (Arlow's CUDA tests, then `benchmark/run_benchmarks.py` sections at 1B parameters and the
demo), each in a process of its own under a time limit (`TOTAL_LIMIT_SECONDS` in all). The report
(`gpu-report.md`, `gpu-report.json` in `--out`: `$OUT` or `build/gpu-report`) is rewritten after every step, so a step
that hangs, or a machine taken back, leaves the report of the steps before it. Without CUDA, the steps that need it are
"not run: no CUDA" and the others run as there: the rehearsal test in `tests/repo_utils/test_gpu_check.py`.
"""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from integrated_tree import SDIST_NAME, fetch_sdist


REPO_ROOT = Path(__file__).resolve().parents[1]
SCRIPT = str(Path(__file__).resolve())


BUNDLE_DIR = REPO_ROOT / "build" / "gpu-bundle"
GPU_TREE = REPO_ROOT / "build" / "gpu-tree"
GPU_SITE = REPO_ROOT / "build" / "gpu-site"
WORK_DIR = REPO_ROOT / "build" / "gpu-work"
# What the run imports that the GPU machine's image (torch 2.11, transformers 5.17, accelerate, pytest, xdist, ...)
# lacks: the examples' data pipeline (datasets and the two packages it needs the image lacks, torchdata), upstream's
# test modules (parameterized) and the sdist's pytest configuration (pytest-env).
BUNDLED_PACKAGES = (
    "datasets==5.2.0",
    "dill==0.4.1",
    "multiprocess==0.70.19",
    "torchdata==0.11.0",
    "parameterized==0.9.0",
    "pytest-env==1.2.0",
)
DEVICE_PYTHON = "3.12"
DEVICE_PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64")
TOTAL_LIMIT_SECONDS = 480
H200_DATASHEET_BF16_TFLOPS = 989  # dense bfloat16, NVIDIA's H100/H200 SXM datasheet
ATTENTION_TESTS = "sdpa or flex or flash"
OUTPUT_TAIL_CHARS = 3000


@dataclass
class Step:
    """One step of the run: a command, its time limit, and whether it needs CUDA to mean anything."""

    name: str
    limit_seconds: int
    command: list[str]
    needs_cuda: bool = False
    cwd: Path = REPO_ROOT
    env: dict = field(default_factory=dict)
    pytest: bool = False  # whether its output is pytest's, whose test outcomes the report counts
    result: Path | None = None  # the folder a measurement step writes its JSON into


def plan(python: str, work: Path = WORK_DIR, cuda: bool = True) -> list[Step]:
    """The steps of `run`, in order (the first, the offline install, must pass for any other to run); their limits
    add up to at most `TOTAL_LIMIT_SECONDS`. Each step writes its JSON into a folder of `work`: the report folder holds
    only the report (the GPU machine sends back at most 8 files). The measurements are `run_benchmarks.py` sections;
    without CUDA the training step is the quick preset's, in bfloat16."""
    pytest = [python, "-m", "pytest", "-p", "no:cacheprovider", "-v", "-rs", "--timeout", "120"]
    model_tests = "tests/models/arlow/test_modeling_arlow.py"

    def measure(name, limit, options, needs_cuda=False):
        folder = work / name.split(",")[0]
        bench = [python, str(REPO_ROOT / "benchmark" / "run_benchmarks.py"), "--output_dir", str(folder)]
        return Step(name, limit, [*bench, *options], needs_cuda, result=folder)

    def tests(name, limit, arguments, cwd=GPU_TREE, env=None):
        return Step(
            f"tests: {name}", limit, [*pytest, *arguments], needs_cuda=True, cwd=cwd, env=env or {}, pytest=True
        )

    # bfloat16 under autocast, about 1B parameters at the seed's vocabulary, 8 sequences of 2048 tokens
    training = ["--device", "cuda", "--autocast", "--peak_tflops", str(H200_DATASHEET_BF16_TFLOPS), "--sizes", "1b"]
    training += ["--seq_lens", "2048", "--tokens_per_step", "16384", "--reps", "2"]
    quick = ["--quick", "--autocast", "--dtype", "bfloat16", "--sections", "training"]
    measured = [*training, "--sections", "mfu", "training", "memory", "loss_operator"] if cuda else quick
    # dynamic cache, then static cache under torch.compile with CUDA graphs (the figure this machine's host jitter
    # leaves readable: run 6), 2 rounds of 64 tokens
    decoding = ["--device", "cuda", "--sizes", "1b", "--decode_reps", "2", "--new_tokens", "64"]
    demo = REPO_ROOT / "examples" / "pytorch" / "language-modeling" / "run_demo.py"
    return [
        Step("install", 15, [python, SCRIPT, "install"]),
        Step("environment", 25, [python, SCRIPT, "environment", "--out", str(work / "env")], result=work / "env"),
        tests("attention backends", 100, ["-n", "6", model_tests, "-k", ATTENTION_TESTS], env={"RUN_SLOW": "1"}),
        tests("other model tests", 125, ["-n", "14", model_tests, "-k", f"not ({ATTENTION_TESTS})"]),
        tests("chunked loss", 30, ["-n", "2", "examples/pytorch/test_arlow_chunked_loss.py"], cwd=REPO_ROOT),
        measure("training, memory, loss", 55, measured),
        measure("decoding", 90, [*decoding, "--sections", "decoding"], needs_cuda=True),
        Step(
            "pretraining demo", 40, [python, str(demo), "--output_dir", str(work / "demo"), "--max_steps", "100"], True
        ),
    ]


def chosen(steps: list[Step], names: list[str] | None) -> list[Step]:
    """The install, then the steps named (all when `names` is empty); an unknown name is an error listing the names."""
    if unknown := set(names or []) - {step.name for step in steps}:
        raise SystemExit(f"error: no step named {sorted(unknown)}; the steps are {[step.name for step in steps]}")
    return [step for step in steps if step is steps[0] or not names or step.name in names]


def environment() -> dict:
    """The machine as `torch.utils.collect_env` describes it, the compute capability, which optional packages import,
    and proof that the transformers imported is the integrated tree's, with Arlow in it."""
    import torch
    from torch.utils.collect_env import get_env_info

    import transformers
    from transformers import ArlowConfig, AutoConfig

    keys = ("nvidia_gpu_models", "nvidia_driver_version", "cuda_runtime_version", "cudnn_version", "torch_version")
    result = {key: getattr(get_env_info(), key) for key in (*keys, "python_version")}
    result.update(torch_cuda_build=torch.version.cuda, transformers=transformers.__version__)
    result["transformers_path"] = str(Path(transformers.__file__).parent)
    result["arlow_config_is_arlow"] = isinstance(AutoConfig.for_model("arlowgpt"), ArlowConfig)
    if torch.cuda.is_available():
        result["compute_capability"] = ".".join(map(str, torch.cuda.get_device_capability(0)))
    for package in ("flash_attn", "flash_attn_interface", "datasets", "torchdata", "parameterized", "accelerate"):
        try:
            result[f"{package}_version"] = getattr(__import__(package), "__version__", "importable")
        except ImportError as error:
            result[f"{package}_version"] = f"absent ({error})"
    return result


def bundle(dest: Path = BUNDLE_DIR, python: str = sys.executable) -> int:
    """Writes the bundle (sdist + wheels) into `dest`; returns its size in bytes."""
    wheels = dest / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    shutil.copy2(fetch_sdist(), dest / SDIST_NAME)
    download = [python, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:", "-d", str(wheels)]
    device = ["--python-version", DEVICE_PYTHON, "--implementation", "cp"]
    device += [option for platform in DEVICE_PLATFORMS for option in ("--platform", platform)]
    subprocess.run([*download, *device, *BUNDLED_PACKAGES], check=True)
    subprocess.run([*download, *BUNDLED_PACKAGES], check=True)
    return sum(path.stat().st_size for path in dest.rglob("*") if path.is_file())


def install(bundle_dir: Path = BUNDLE_DIR, python: str = sys.executable) -> None:
    """On the GPU machine, offline: the integrated tree from the bundled sdist, the bundled wheels into `GPU_SITE`."""
    sdist = bundle_dir / SDIST_NAME
    if not sdist.is_file():
        raise SystemExit(f"error: {sdist} is missing: run `make gpu-bundle` where PyPI is reachable, and carry it.")
    env = {**os.environ, "ARLOW_UPSTREAM_SDIST": str(sdist)}
    tree_tool = [python, str(REPO_ROOT / "utils" / "integrated_tree.py"), "build", "--dest", str(GPU_TREE)]
    subprocess.run(tree_tool, check=True, env=env)
    names = [requirement.split("==")[0] for requirement in BUNDLED_PACKAGES]
    pip = [python, "-m", "pip", "install", "--quiet", "--no-index", "--no-deps", "--no-compile", "--upgrade"]
    pip += ["--find-links", str(bundle_dir / "wheels"), "--target", str(GPU_SITE), *names]
    subprocess.run(pip, check=True, env={**os.environ, "PIP_NO_INDEX": "1"})


def run_step(step: Step, env: dict, log) -> dict:
    """Runs one step in a new process session, streaming its output; kills the whole group at its time limit."""
    log(f"== {step.name} (limit {step.limit_seconds} s): {' '.join(step.command)}")
    start = time.monotonic()
    process = subprocess.Popen(
        step.command,
        cwd=step.cwd,
        env={**env, **step.env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines = []

    def pump():
        for line in process.stdout:
            lines.append(line)
            log(line.rstrip("\n"))

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        returncode = process.wait(timeout=step.limit_seconds)
        status = "passed" if returncode == 0 else f"failed (exit status {returncode})"
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        status = f"timed out after {step.limit_seconds} s"
    reader.join(timeout=5)
    seconds = time.monotonic() - start
    log(f"   {status} after {seconds:.0f} s")
    output = "".join(lines)
    return {
        "status": status,
        "seconds": round(seconds, 1),
        "output_tail": output[-OUTPUT_TAIL_CHARS:],
        "output": output,
    }


def streamed_outcomes(output: str) -> list[tuple[str, str]]:
    """(test name, passed/failed/skipped) of each test pytest-xdist reported in its verbose lines (`[gw0] [ 5%] PASSED
    path::Class::test`), as they stream: a step stopped at its time limit still counts the tests it finished. (On the
    H200 these counts matched pytest's own summary line, which its JUnit file does not where subtests skip.)"""
    labels = {"PASSED": "passed", "FAILED": "failed", "ERROR": "failed", "SKIPPED": "skipped"}
    # keyed by node id: a test reported twice (a summary line, an error in teardown) counts once, with its last outcome
    found = {node: labels[word] for word, node in re.findall(r"\b(PASSED|FAILED|ERROR|SKIPPED) (\S+::\S+)", output)}
    return [(node.split("::")[-1], outcome) for node, outcome in found.items()]


def test_summary(outcomes: list[tuple[str, str]], flash_attn_present: bool) -> dict:
    """Counts per attention backend (read from the test names) of passed, failed and skipped tests, with the names of
    the failed ones."""
    counts = {}
    for name, outcome in outcomes:
        backend = next((b for b in ("sdpa", "flex", "flash") if b in name.lower()), "eager and common")
        if backend == "flash" and not flash_attn_present:
            # without flash-attn, the FA2/FA3 kernel tests skip; what passes is the error and fallback paths
            backend = "flash (flash-attn absent: skipped = not run; passed = error and fallback paths only)"
        entry = counts.setdefault(backend, {"passed": 0, "failed": 0, "skipped": 0})
        entry[outcome] += 1
        if outcome == "failed":
            entry.setdefault("failed tests", []).append(name)
    return counts


def markdown(report: dict) -> str:
    lines = ["# Arlow GPU check", "", f"Started {report['started']} (UTC); limits add up to {report['limit']} s.", ""]
    lines += ["| step | status | seconds | limit |", "|---|---|---|---|"]
    lines += [f"| {s['name']} | {s['status']} | {s.get('seconds', '')} | {s['limit']} |" for s in report["steps"]]
    for step in report["steps"]:
        lines += ["", f"## {step['name']}", "", f"Status: {step['status']}"]
        for key in ("tests", "results"):
            if step.get(key):
                lines += ["", "```json", json.dumps(step[key], indent=2, default=str), "```"]
        if step.get("output_tail") and not step["status"].startswith("passed"):
            lines += ["", "Output (end):", "", "```", step["output_tail"].rstrip(), "```"]
    return "\n".join(lines) + "\n"


def write_report(out: Path, report: dict) -> None:
    (out / "gpu-report.json").write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
    (out / "gpu-report.md").write_text(markdown(report), encoding="utf-8")


def run(out: Path, steps: list[Step], python_path: str, cuda: bool) -> int:
    """Runs `steps` in order, rewriting the report after each; returns 1 if any step that ran did not pass."""
    out.mkdir(parents=True, exist_ok=True)
    log_file = (out / "gpu-check.log").open("a", encoding="utf-8")

    def log(text):
        print(text, flush=True)
        log_file.write(text + "\n")
        log_file.flush()

    report = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "limit": sum(s.limit_seconds for s in steps),
        "steps": [{"name": s.name, "status": "pending", "limit": s.limit_seconds} for s in steps],
    }
    write_report(out, report)
    env = {**os.environ, "PYTHONPATH": python_path, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    flash_attn_present = False
    for step, entry in zip(steps, report["steps"]):
        if step.needs_cuda and not cuda:
            entry["status"] = "not run: no CUDA"
        elif report["steps"][0]["status"] != "passed" and entry is not report["steps"][0]:
            entry["status"] = f"not run: {steps[0].name} did not pass"
        else:
            if step.result is not None:
                shutil.rmtree(step.result, ignore_errors=True)
            entry.update(run_step(step, env, log))
            output = entry.pop("output")
            if step.pytest:
                entry["tests"] = test_summary(streamed_outcomes(output), flash_attn_present)
            for path in sorted(step.result.glob("*.json")) if step.result else []:
                entry["results"] = results = json.loads(path.read_text(encoding="utf-8"))
                if "arguments" in results:  # a benchmark's: its sections and targets, not its options and machine
                    keep = ("errors", "targets", *results["arguments"]["sections"])
                    entry["results"] = {key: results[key] for key in keep if key in results}
                flash_attn_present |= "absent" not in str(results.get("flash_attn_version", "absent"))
        write_report(out, report)
    log_file.close()
    return int(any(e["status"].startswith(("failed", "timed out")) for e in report["steps"]))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("bundle", "install", "environment", "run"))
    parser.add_argument("--steps", nargs="+", help="run only these steps of `plan` (after the install), by name")
    parser.add_argument("--out", type=Path, default=Path(os.environ.get("OUT") or REPO_ROOT / "build" / "gpu-report"))
    parser.add_argument("--bundle-dir", type=Path, default=BUNDLE_DIR)
    args = parser.parse_args(argv)
    if args.command == "bundle":
        print(f"Wrote {args.bundle_dir}: {bundle(args.bundle_dir) / 2**20:.1f} MiB")
        return 0
    if args.command == "install":
        install(args.bundle_dir)
        return 0
    if args.command == "environment":
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "environment.json").write_text(json.dumps(environment(), indent=2), encoding="utf-8")
        return 0
    python_path = os.pathsep.join([str(GPU_TREE / "src"), str(GPU_SITE)])
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    import torch  # the image's, which the steps use too

    steps = chosen(plan(sys.executable, cuda=torch.cuda.is_available()), args.steps)
    return run(args.out.resolve(), steps, python_path, torch.cuda.is_available())


if __name__ == "__main__":
    sys.exit(main())
