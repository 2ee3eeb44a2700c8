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
Proves the user install from a clean environment: a new virtual environment with only torch, `pip install <repo>`,
then the public imports, Auto classes and a save/load round trip from an unrelated directory, then a clean
`pip uninstall transformers`. The same environment then checks the Llama export (`utils/verify_llama_export.py`):
exported while Arlow is installed, loaded after the plain transformers release from PyPI replaced it. Each phase
prints how long it took; pip's cache keeps the downloads of later runs short.

Usage: `python utils/verify_user_install.py [--torch-spec torch==2.13.0] [--keep]`
"""

import argparse
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from contextlib import contextmanager
from pathlib import Path

from integrated_tree import UPSTREAM_VERSION
from verify_llama_export import check_without_arlow, export_with_arlow


REPO_ROOT = Path(__file__).resolve().parent.parent

USAGE_SCRIPT = textwrap.dedent(
    """
    import os, tempfile
    import transformers
    from transformers import ArlowConfig, ArlowForCausalLM, ArlowModel, AutoConfig, AutoModelForCausalLM

    assert "site-packages" in transformers.__file__, transformers.__file__
    config = AutoConfig.for_model(
        "arlowgpt", vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2,
    )
    assert isinstance(config, ArlowConfig), type(config)
    model = AutoModelForCausalLM.from_config(config)
    assert isinstance(model, ArlowForCausalLM) and isinstance(model.model, ArlowModel)
    with tempfile.TemporaryDirectory() as saved_dir:
        model.save_pretrained(saved_dir)
        reloaded = AutoModelForCausalLM.from_pretrained(saved_dir)
    assert type(reloaded) is ArlowForCausalLM
    for name, tensor in model.state_dict().items():
        assert (tensor == reloaded.state_dict()[name]).all(), name
    print("user install OK:", transformers.__version__, transformers.__file__)
    """
)


def run(*command: str, cwd: Path) -> None:
    print("+", " ".join(command), flush=True)
    subprocess.run(command, cwd=cwd, check=True)


@contextmanager
def timed(phase: str):
    start = time.perf_counter()
    yield
    print(f"[{phase}: {time.perf_counter() - start:.1f} s]", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().split("\n\n")[0])
    parser.add_argument("--torch-spec", default="torch==2.13.0", help="pip requirement for torch in the clean venv")
    parser.add_argument("--keep", action="store_true", help="keep the temporary environment")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="arlow-user-install-"))
    try:
        venv = workdir / "venv"
        python = str(venv / "bin" / "python")
        with timed("clean venv with torch"):
            run(sys.executable, "-m", "venv", str(venv), cwd=workdir)
            run(python, "-m", "pip", "install", "--quiet", args.torch_spec, cwd=workdir)
        with timed("pip install <repo>"):
            run(python, "-m", "pip", "install", "--quiet", str(REPO_ROOT), cwd=workdir)
        with timed("usage checks"):
            run(python, "-c", USAGE_SCRIPT, cwd=workdir)
        with timed("Llama export with Arlow installed"):
            export_with_arlow(python, workdir)
        with timed("pip uninstall transformers"):
            run(python, "-m", "pip", "uninstall", "--yes", "--quiet", "transformers", cwd=workdir)
        leftover = subprocess.run([python, "-c", "import transformers"], cwd=workdir, capture_output=True)
        if leftover.returncode == 0:
            print("error: `import transformers` still works after `pip uninstall transformers`", file=sys.stderr)
            return 1
        site_packages = next((venv / "lib").glob("python3*/site-packages"))
        remains = sorted(p.name for p in site_packages.iterdir() if p.name.startswith("transformers"))
        if remains:
            print(f"error: `pip uninstall transformers` left {remains} in {site_packages}", file=sys.stderr)
            return 1
        with timed(f"Llama export loaded by transformers {UPSTREAM_VERSION} from PyPI"):
            check_without_arlow(python, workdir, UPSTREAM_VERSION)
        print(
            "user install verified: installed, imported, saved/reloaded, uninstalled cleanly; the Llama export loads "
            f"in transformers {UPSTREAM_VERSION} without Arlow, with identical logits and greedy generation"
        )
        return 0
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
