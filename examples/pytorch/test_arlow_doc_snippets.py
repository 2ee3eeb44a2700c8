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
The documentation's snippets run as written and do what the text around them says: every Python block of the
pretraining guide (examples/pytorch/language-modeling/README.md: the memory-saving loss, LoRA target modules, a chat
template) and of the model page (generation with a pipeline and with the Auto classes, cross-attention), and the
guide's converter commands.
"""

import ast
import re
import shlex
import shutil
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from transformers import ArlowConfig, ArlowForCausalLM, ArlowTokenizer, AutoTokenizer, LlamaConfig, LlamaForCausalLM
from transformers.models.arlow.convert_arlow_llama_checkpoint import main as convert


EXAMPLES_DIR = Path(__file__).resolve().parent / "language-modeling"
sys.path.insert(0, str(EXAMPLES_DIR))  # the guide's snippets import the toolkit's modules as its scripts do
GUIDE = EXAMPLES_DIR / "README.md"
MODEL_PAGE = Path(__file__).resolve().parents[2] / "docs" / "source" / "en" / "model_doc" / "arlowgpt.md"
# The marker that picks out each Python snippet, per document: a snippet without a test fails the count below.
TESTED_SNIPPETS = {
    GUIDE: ["skip_logits=True", "LoraConfig", "chat_template ="],
    MODEL_PAGE: ['task="text-generation"', "AutoModelForCausalLM.from_pretrained(", "encoder_hidden_states ="],
}
PROMPT = "Plants create energy through a process known as"
TINY = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4}
TINY |= {"num_key_value_heads": 2, "max_position_embeddings": 128, "attention_dropout": 0.0}


def code_blocks(document: Path, language: str = "py") -> list[str]:
    """The `language` code blocks of `document`, dedented (the model page indents those in its list items)."""
    text = document.read_text(encoding="utf-8")
    return [textwrap.dedent(block) for block in re.findall(rf"```{language}\n(.*?)```", text, flags=re.DOTALL)]


def run_snippet(document: Path, marker: str, namespace: dict, **replacements):
    """Runs the one Python block of `document` holding `marker` in `namespace`; returns its last expression's value."""
    matching = [block for block in code_blocks(document) if marker in block]
    assert len(matching) == 1, f"expected one snippet with {marker!r} in {document.name}, found {len(matching)}"
    code = matching[0]
    for old, new in replacements.items():
        code = code.replace(old, new)
    tree = ast.parse(code)
    last = tree.body.pop() if isinstance(tree.body[-1], ast.Expr) else None
    exec(compile(tree, document.name, "exec"), namespace)
    return eval(compile(ast.Expression(last.value), document.name, "eval"), namespace) if last else None


def tiny_model(**overrides) -> ArlowForCausalLM:
    torch.manual_seed(0)
    return ArlowForCausalLM(ArlowConfig(vocab_size=512, **TINY, **overrides))


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    """A saved tiny Arlow (cross-attention on, the default) with a byte-level BPE tokenizer trained on a few lines."""
    directory = tmp_path_factory.mktemp("arlow-checkpoint")
    corpus = [PROMPT + " photosynthesis.", "What is Arlow? A decoder-only Transformer."] * 8
    tokenizer = ArlowTokenizer().train_new_from_iterator(corpus, vocab_size=300, min_frequency=1)
    ids = {f"{name}_token_id": getattr(tokenizer, f"{name}_token_id") for name in ("pad", "bos", "eos")}
    torch.manual_seed(0)
    ArlowForCausalLM(ArlowConfig(vocab_size=len(tokenizer), **ids, **TINY)).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


@pytest.mark.parametrize("document", TESTED_SNIPPETS)
def test_every_python_snippet_is_tested(document):
    assert len(code_blocks(document)) == len(TESTED_SNIPPETS[document])


def test_guide_memory_saving_loss_snippet():
    model = tiny_model(cross_attention=False).train()
    input_ids = torch.randint(0, 512, (2, 8))
    namespace = {"model": model, "input_ids": input_ids}
    run_snippet(GUIDE, "skip_logits=True", namespace)
    assert namespace["outputs"].logits is None and model.lm_head.weight.grad is not None
    torch.testing.assert_close(namespace["outputs"].loss, model(input_ids, labels=input_ids).loss)
    assert model(input_ids).logits.shape == (2, 8, 512)  # without skip_logits, the logits as before


def test_guide_lora_snippet_adapts_every_projection_but_cross_attention():
    namespace = {"model": tiny_model(cross_attention=True)}
    run_snippet(GUIDE, "LoraConfig", namespace)
    names = [name for name, _ in namespace["model"].named_modules() if name.endswith(".lora_A")]
    adapted = {name.removeprefix("base_model.model.").removesuffix(".lora_A") for name in names}
    projections = [f"self_attn.{p}_proj" for p in "qkvo"] + [f"mlp.{p}_proj" for p in ("gate", "up", "down")]
    assert adapted == {f"model.layers.{layer}.{projection}" for layer in range(2) for projection in projections}


def test_guide_chat_template_snippet(checkpoint, tmp_path):
    copy = shutil.copytree(checkpoint, tmp_path / "arlow-checkpoint")
    namespace = {}
    run_snippet(GUIDE, "chat_template =", namespace, **{"path/to/arlow-checkpoint": str(copy)})
    tokenizer, inputs = namespace["tokenizer"], namespace["inputs"]
    text = tokenizer.decode(inputs["input_ids"][0])
    assert text == f"<|user|>\nWhat is Arlow?{tokenizer.eos_token}\n<|assistant|>\n"
    assert AutoTokenizer.from_pretrained(copy).chat_template == tokenizer.chat_template  # saved with the tokenizer


def test_guide_converter_commands(checkpoint, tmp_path):
    LlamaForCausalLM(LlamaConfig(vocab_size=128, **TINY)).save_pretrained(tmp_path / "llama-checkpoint")
    paths = {"path/to/arlow-checkpoint": checkpoint, "path/to/llama-checkpoint": tmp_path / "llama-checkpoint"}
    paths |= {f"path/to/{name}": tmp_path / name for name in ("arlow-as-llama", "llama-as-arlow")}
    commands = [block for block in code_blocks(GUIDE, "bash") if "convert_arlow_llama_checkpoint" in block]
    assert len(commands) == 1
    for command in commands[0].replace("\\\n", " ").splitlines():
        arguments = [str(paths.get(argument, argument)) for argument in shlex.split(command)]
        assert arguments[:3] == ["python", "-m", "transformers.models.arlow.convert_arlow_llama_checkpoint"]
        assert convert(arguments[3:]) == 0, command
    assert LlamaConfig.from_pretrained(tmp_path / "arlow-as-llama").model_type == "llama"
    assert ArlowConfig.from_pretrained(tmp_path / "llama-as-arlow").cross_attention


def test_model_page_pipeline_snippet(checkpoint):
    outputs = run_snippet(MODEL_PAGE, 'task="text-generation"', {}, **{"path/to/arlow-checkpoint": str(checkpoint)})
    assert outputs[0]["generated_text"].startswith(PROMPT)


def test_model_page_auto_model_snippet(checkpoint, capsys):
    namespace = {}
    run_snippet(
        MODEL_PAGE, "AutoModelForCausalLM.from_pretrained(", namespace, **{"path/to/arlow-checkpoint": str(checkpoint)}
    )
    assert namespace["model"].config.model_type == "arlowgpt" and capsys.readouterr().out.startswith(PROMPT)


def test_model_page_cross_attention_snippet():
    namespace = {}
    run_snippet(MODEL_PAGE, "encoder_hidden_states =", namespace)
    model, input_ids, encoder_hidden_states = (
        namespace[name] for name in ("model", "input_ids", "encoder_hidden_states")
    )
    assert torch.equal(namespace["generated"][0, : input_ids.shape[1]], input_ids[0])
    with torch.no_grad():  # the encoder states condition the output (bad states: tests/models/arlow)
        conditioned = model(input_ids, encoder_hidden_states=encoder_hidden_states).logits
        assert not torch.allclose(conditioned, model(input_ids).logits)
