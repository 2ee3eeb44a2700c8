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
The Llama export, checked where it matters: in an environment whose transformers knows nothing of Arlow.

`utils/verify_user_install.py` calls the two halves in one clean virtual environment. While the distribution with
Arlow is installed, `export_with_arlow` saves a tiny Arlow checkpoint (the default `cross_attention=True`, a trained
byte-level tokenizer with a chat template), records its logits and greedy generation, and exports it with
`python -m transformers.models.arlow.convert_arlow_llama_checkpoint to-llama --drop_cross_attention`. After that
distribution is uninstalled and the plain transformers release is installed from PyPI, `check_without_arlow` loads
the export with `AutoModelForCausalLM` and `AutoTokenizer` and requires the same token ids, logits (bit for bit),
greedy generation and chat-template rendering.
"""

import subprocess
import textwrap
from pathlib import Path


CONVERTER_MODULE = "transformers.models.arlow.convert_arlow_llama_checkpoint"

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


def _run(*command: str, cwd: Path) -> None:
    # Inline scripts are shown by their first line only
    print("+", " ".join(part.strip().split("\n")[0] for part in command), flush=True)
    subprocess.run(command, cwd=cwd, check=True)


def export_with_arlow(python: str, workdir: Path) -> None:
    """With Arlow installed in `python`'s environment: a tiny checkpoint, its reference outputs, its Llama export."""
    _run(python, "-c", ARLOW_SIDE_SCRIPT, str(workdir), cwd=workdir)
    _run(
        python,
        "-m",
        CONVERTER_MODULE,
        "to-llama",
        "--input_dir",
        str(workdir / "arlow"),
        "--output_dir",
        str(workdir / "llama"),
        "--drop_cross_attention",
        cwd=workdir,
    )


def check_without_arlow(python: str, workdir: Path, transformers_version: str) -> None:
    """With the plain release installed in `python`'s environment: the export loads and matches the reference."""
    _run(python, "-m", "pip", "install", "--quiet", f"transformers=={transformers_version}", cwd=workdir)
    _run(python, "-c", LLAMA_SIDE_SCRIPT, str(workdir), transformers_version, cwd=workdir)
