# Copyright 2026 The Arlow Authors and The HuggingFace Inc. team. All rights reserved.
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
import os
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

import transformers
from transformers import ArlowConfig, ArlowForCausalLM, ArlowTokenizer, AutoModelForCausalLM, AutoTokenizer
from transformers.models.arlow import convert_arlow_llama_checkpoint as converter


CORPUS = ["Plants create energy through photosynthesis.", "The quick brown fox, 1234 times!", "def f(a):\n  return a"]
SHAPE = {"hidden_size": 32, "intermediate_size": 48, "num_hidden_layers": 2, "num_attention_heads": 4}
SHAPE |= {"num_key_value_heads": 2, "max_position_embeddings": 64}
to_llama, from_llama = converter.convert_arlow_to_llama, converter.convert_llama_to_arlow


def save_arlow(directory, dtype=torch.float32, **overrides):
    """A tiny Arlow causal LM saved with a byte-level BPE tokenizer trained here and a chat template."""
    tokenizer = ArlowTokenizer().train_new_from_iterator(CORPUS * 4, vocab_size=300, min_frequency=1)
    tokenizer.chat_template = "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
    ids = {f"{name}_token_id": getattr(tokenizer, f"{name}_token_id") for name in ("pad", "bos", "eos")}
    model = ArlowForCausalLM(ArlowConfig(vocab_size=len(tokenizer), **ids, **SHAPE, **overrides)).eval()
    model.to(dtype).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return model, tokenizer


def run_converter(*arguments):
    """The command line as users run it. Not in-process: on CI, transformers' warnings reach pytest's live log
    (`log_cli`), which resets `sys.stdout` to pytest's capture, so a `redirect_stdout` loses the command's output."""
    path = [os.path.dirname(os.path.dirname(transformers.__file__)), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path), "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, "-m", "transformers.models.arlow.convert_arlow_llama_checkpoint", *arguments]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)


@pytest.mark.parametrize("tied, dtype", [(True, torch.float32), (False, torch.float32), (True, torch.bfloat16)])
def test_round_trip_is_bit_exact(tmp_path, tied, dtype):
    save_arlow(tmp_path / "arlow", dtype, cross_attention=False, tie_word_embeddings=tied)
    to_llama(tmp_path / "arlow", tmp_path / "llama")
    from_llama(tmp_path / "llama", tmp_path / "again")
    original, again = (load_file(tmp_path / name / "model.safetensors") for name in ("arlow", "again"))
    assert sorted(original) == sorted(again) and ("lm_head.weight" not in original) == tied
    for name, tensor in original.items():
        assert tensor.dtype == again[name].dtype == dtype and torch.equal(tensor, again[name]), name
    for file in ("config.json", "generation_config.json", "tokenizer.json"):
        assert (tmp_path / "arlow" / file).read_text() == (tmp_path / "again" / file).read_text(), file


def test_command_line_export_is_a_llama_with_the_same_outputs(tmp_path):
    arlow, tokenizer = save_arlow(tmp_path / "arlow")  # cross_attention=True, the default
    llama_dir = tmp_path / "llama"
    arguments = ["to-llama", "--input_dir", str(tmp_path / "arlow"), "--output_dir", str(llama_dir)]
    refused = run_converter(*arguments)
    assert refused.returncode == 1 and not llama_dir.exists()
    assert all(p in refused.stderr for p in ("error: ", "cross_attention=True", "10 tensors", "cross_attn.q_proj"))
    converted = run_converter(*arguments, "--drop-cross-attention")
    assert converted.returncode == 0, converted.stderr
    assert f"Wrote the Llama checkpoint to {llama_dir}" in converted.stdout
    assert "Leaving out the cross-attention blocks" in converted.stderr and "from-llama" in run_converter("-h").stdout
    assert "Arlow" not in (llama_dir / "tokenizer_config.json").read_text()
    llama, llama_tokenizer = AutoModelForCausalLM.from_pretrained(llama_dir), AutoTokenizer.from_pretrained(llama_dir)
    assert (type(llama).__name__, type(llama_tokenizer)) == ("LlamaForCausalLM", transformers.PreTrainedTokenizerFast)
    for text in CORPUS + ["Unseen wörds 🙂 and\ttabs."]:
        assert llama_tokenizer(text)["input_ids"] == tokenizer(text)["input_ids"], text
    hi = [{"role": "user", "content": "hi"}]
    assert [t.apply_chat_template(hi, tokenize=False) for t in (llama_tokenizer, tokenizer)] == ["user: hi\n"] * 2
    assert llama_tokenizer.special_tokens_map == tokenizer.special_tokens_map
    input_ids = torch.tensor([tokenizer("Plants create")["input_ids"]])
    assert torch.equal(llama(input_ids).logits, arlow(input_ids).logits)
    assert torch.equal(llama.generate(input_ids, max_new_tokens=8), arlow.generate(input_ids, max_new_tokens=8))
    # back to Arlow with fresh cross-attention blocks: the same model until encoder states are passed
    from_llama(llama_dir, tmp_path / "again", add_cross_attention=True)
    again = ArlowForCausalLM.from_pretrained(tmp_path / "again")
    assert again.config.cross_attention and torch.equal(again(input_ids).logits, arlow(input_ids).logits)
    for layer in again.model.layers:  # initialized, not left empty
        assert layer.cross_attn_layernorm.weight.eq(1).all() and 0.01 < layer.cross_attn.q_proj.weight.std() < 0.03
    with_encoder = again(input_ids, encoder_hidden_states=torch.randn(1, 3, 32)).logits
    assert not torch.equal(with_encoder, arlow(input_ids).logits)


def test_bad_inputs_are_refused_and_leave_nothing_behind(tmp_path):
    save_arlow(tmp_path / "arlow", cross_attention=False)
    transformers.LlamaConfig().save_pretrained(tmp_path / "llama")  # the refusals come before any weight is read
    transformers.LlamaConfig(mlp_bias=True).save_pretrained(tmp_path / "bias")
    (tmp_path / "out").mkdir()

    def assert_refused(convert, name, *phrases, output_dir=tmp_path / "out/new"):
        with pytest.raises(converter.CheckpointConversionError) as error:
            convert(tmp_path / name, output_dir)
        assert all(phrase in str(error.value) for phrase in phrases), str(error.value)
        assert not any((tmp_path / "out").iterdir())  # nothing written

    assert_refused(from_llama, "bias", "mlp_bias=True", "Arlow's projections have no biases")
    assert_refused(to_llama, "missing", "is not a directory")
    assert_refused(to_llama, "out", "has no config.json")
    assert_refused(to_llama, "llama", "model type 'llama', not 'arlowgpt'")
    assert_refused(from_llama, "arlow", "model type 'arlowgpt', not 'llama'")
    assert_refused(to_llama, "arlow", "already exists and is not empty", output_dir=tmp_path / "llama")
    ArlowConfig.from_pretrained(tmp_path / "arlow", intermediate_size=40).save_pretrained(tmp_path / "arlow")
    assert_refused(to_llama, "arlow", "shapes do not match", "up_proj.weight (checkpoint [48, 32], expected [40, 32])")
    (tmp_path / "arlow/model.safetensors").unlink()
    assert_refused(to_llama, "arlow", "its weights cannot be read")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["arlow", "bias", "llama", "out"]
