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
The model page's usage snippets (skip_logits, LoRA target modules, a chat template) run and do what the page says.
"""

import re
import shutil
import sys
import textwrap
from pathlib import Path

import torch

from transformers import ArlowConfig, ArlowForCausalLM


REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "examples" / "pytorch" / "language-modeling"))
from arlow_chunked_loss import apply_chunked_loss  # noqa: E402


MODEL_PAGE = REPO_ROOT / "docs" / "source" / "en" / "model_doc" / "arlowgpt.md"
FIXTURE_TOKENIZER = REPO_ROOT / "tests" / "models" / "arlow" / "fixtures" / "byte_level"
NUM_LAYERS = 2


def page_snippet(marker: str) -> str:
    """The one Python code block of the model page that contains `marker`, dedented."""
    blocks = re.findall(r"```py\n(.*?)```", MODEL_PAGE.read_text(encoding="utf-8"), flags=re.DOTALL)
    matching = [textwrap.dedent(block) for block in blocks if marker in block]
    assert len(matching) == 1, f"expected one snippet with {marker!r} on {MODEL_PAGE.name}, found {len(matching)}"
    return matching[0]


def tiny_model(**overrides) -> ArlowForCausalLM:
    config = ArlowConfig(
        vocab_size=512,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=NUM_LAYERS,
        num_attention_heads=4,
        num_key_value_heads=2,
        attention_dropout=0.0,
        **overrides,
    )
    torch.manual_seed(0)
    return ArlowForCausalLM(config)


def test_skip_logits_snippet():
    # the pretraining toolkit's loss, applied to the instance (examples/pytorch/language-modeling/arlow_chunked_loss.py)
    model = apply_chunked_loss(tiny_model(cross_attention=False)).train()
    input_ids = torch.randint(0, 512, (2, 8))
    namespace = {"model": model, "input_ids": input_ids}
    exec(page_snippet("skip_logits=True"), namespace)
    outputs = namespace["outputs"]
    assert outputs.logits is None
    assert model.lm_head.weight.grad is not None
    expected = model(input_ids, labels=input_ids).loss
    torch.testing.assert_close(outputs.loss, expected)


def test_lora_snippet_adapts_every_projection_but_cross_attention():
    model = tiny_model(cross_attention=True)
    namespace = {"model": model}
    exec(page_snippet("LoraConfig"), namespace)
    adapted = {
        name.removeprefix("base_model.model.").removesuffix(".lora_A")
        for name, _ in namespace["model"].named_modules()
        if name.endswith(".lora_A")
    }
    projections = [f"self_attn.{p}_proj" for p in "qkvo"] + [f"mlp.{p}_proj" for p in ("gate", "up", "down")]
    expected = {f"model.layers.{layer}.{projection}" for layer in range(NUM_LAYERS) for projection in projections}
    assert adapted == expected


def test_chat_template_snippet(tmp_path):
    checkpoint = tmp_path / "arlow-checkpoint"
    shutil.copytree(FIXTURE_TOKENIZER, checkpoint)
    snippet = page_snippet("chat_template =").replace("path/to/arlow-checkpoint", str(checkpoint))
    namespace = {}
    exec(snippet, namespace)
    tokenizer, inputs = namespace["tokenizer"], namespace["inputs"]
    text = tokenizer.decode(inputs["input_ids"][0])
    assert "<|user|>\nWhat is Arlow?" + tokenizer.eos_token in text
    assert text.endswith("<|assistant|>\n")
    # the template was saved with the tokenizer
    from transformers import AutoTokenizer

    assert AutoTokenizer.from_pretrained(checkpoint).chat_template == tokenizer.chat_template
