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
`pip uninstall transformers`. Each phase prints how long it took; pip's cache keeps later runs' downloads short.

The same environment then checks the Llama export where it matters, in a transformers that knows nothing of Arlow.
While Arlow is installed, a tiny Arlow checkpoint (the default `cross_attention=True`, a trained byte-level tokenizer
with a chat template) records its logits and greedy generation and is exported with `python -m
transformers.models.arlow.convert_arlow_llama_checkpoint to-llama --drop_cross_attention`. Once the plain
transformers release from PyPI has replaced Arlow's, `AutoModelForCausalLM` and `AutoTokenizer` load the export and
must give the same token ids, logits (bit for bit), greedy generation and chat-template rendering.

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


REPO_ROOT = Path(__file__).resolve().parent.parent
CONVERTER_MODULE = "transformers.models.arlow.convert_arlow_llama_checkpoint"

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


ARLOW_SIDE_SCRIPT = textwrap.dedent(
    """
    import sys
    from pathlib import Path

    import torch
    from transformers import ArlowConfig, ArlowForCausalLM, ArlowTokenizer

    workdir = Path(sys.argv[1])
    corpus = [
        "Plants create energy through a process known as photosynthesis.",
        "The quick brown fox jumps over the lazy dog, 1234 times!",
        "def add(a, b):\\n    return a + b\\n",
    ] * 4
    tokenizer = ArlowTokenizer().train_new_from_iterator(corpus, vocab_size=300, min_frequency=1)
    tokenizer.chat_template = "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\\n{% endfor %}"
    config = ArlowConfig(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=48, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    assert config.cross_attention, "the export should be checked on the default, cross_attention=True"
    torch.manual_seed(0)
    model = ArlowForCausalLM(config).eval()
    with torch.no_grad():  # weights larger than the default init, so that greedy decoding has no near-ties
        for parameter in model.parameters():
            if parameter.dim() == 2:
                parameter.normal_(0.0, 0.3)
    model.save_pretrained(workdir / "arlow")
    tokenizer.save_pretrained(workdir / "arlow")

    prompts = ["Plants create energy", "def add(a, b):", "Unseen wörds 🙂"]
    input_ids = [tokenizer(prompt)["input_ids"] for prompt in prompts]
    with torch.no_grad():
        logits = [model(torch.tensor([ids])).logits for ids in input_ids]
    generated = [model.generate(torch.tensor([ids]), max_new_tokens=10, do_sample=False) for ids in input_ids]
    chat = tokenizer.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False)
    torch.save(
        {"prompts": prompts, "input_ids": input_ids, "logits": logits, "generated": generated, "chat": chat},
        workdir / "reference.pt",
    )
    print("Arlow reference saved:", [len(ids) for ids in input_ids], "prompt tokens")
    """
)

LLAMA_SIDE_SCRIPT = textwrap.dedent(
    """
    import importlib.util
    import sys
    from pathlib import Path

    import torch
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaForCausalLM

    workdir, expected_version = Path(sys.argv[1]), sys.argv[2]
    assert transformers.__version__ == expected_version, transformers.__version__
    assert importlib.util.find_spec("transformers.models.arlow") is None, "this transformers has Arlow"
    assert not hasattr(transformers, "ArlowForCausalLM"), "this transformers has Arlow"

    reference = torch.load(workdir / "reference.pt")
    tokenizer = AutoTokenizer.from_pretrained(workdir / "llama")
    model = AutoModelForCausalLM.from_pretrained(workdir / "llama").eval()
    assert type(model) is LlamaForCausalLM, type(model)
    for prompt, ids, logits, generated in zip(
        reference["prompts"], reference["input_ids"], reference["logits"], reference["generated"]
    ):
        assert tokenizer(prompt)["input_ids"] == ids, (prompt, tokenizer(prompt)["input_ids"], ids)
        with torch.no_grad():
            llama_logits = model(torch.tensor([ids])).logits
        assert torch.equal(llama_logits, logits), (prompt, (llama_logits - logits).abs().max())
        llama_generated = model.generate(torch.tensor([ids]), max_new_tokens=10, do_sample=False)
        assert torch.equal(llama_generated, generated), (prompt, llama_generated, generated)
    chat = tokenizer.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False)
    assert chat == reference["chat"], (chat, reference["chat"])
    print(
        f"Llama export OK in transformers {transformers.__version__} without Arlow: {type(model).__name__}, "
        f"{type(tokenizer).__name__}, logits and greedy generation identical for {len(reference['prompts'])} prompts"
    )
    """
)


def run(*command: str, cwd: Path) -> None:
    # Inline scripts are shown by their first line only
    print("+", " ".join(part.strip().split("\n")[0] for part in command), flush=True)
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
        with timed("Llama export with Arlow installed"):  # a tiny checkpoint, its reference outputs, its export
            run(python, "-c", ARLOW_SIDE_SCRIPT, str(workdir), cwd=workdir)
            export = ["--input_dir", str(workdir / "arlow"), "--output_dir", str(workdir / "llama")]
            run(python, "-m", CONVERTER_MODULE, "to-llama", *export, "--drop_cross_attention", cwd=workdir)
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
            run(python, "-m", "pip", "install", "--quiet", f"transformers=={UPSTREAM_VERSION}", cwd=workdir)
            run(python, "-c", LLAMA_SIDE_SCRIPT, str(workdir), UPSTREAM_VERSION, cwd=workdir)
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
