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
import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import transformers
from transformers import (
    ArlowConfig,
    ArlowForCausalLM,
    ArlowTokenizer,
    AutoModelForCausalLM,
    AutoTokenizer,
    LlamaConfig,
    LlamaForCausalLM,
    PreTrainedTokenizerFast,
    is_torch_available,
)
from transformers.testing_utils import require_tokenizers, require_torch


if is_torch_available():
    import torch
    from safetensors.torch import load_file

    from transformers.models.arlow.convert_arlow_llama_checkpoint import (
        CheckpointConversionError,
        convert_arlow_to_llama,
        convert_llama_to_arlow,
        main,
    )


CORPUS = [
    "Plants create energy through a process known as photosynthesis.",
    "The quick brown fox jumps over the lazy dog, 1234 times!",
    "def add(a, b):\n    return a + b\n",
] * 4
CHAT_TEMPLATE = "{% for message in messages %}{{ message['role'] }}: {{ message['content'] }}\n{% endfor %}"
TINY_SHAPE = {
    "hidden_size": 32,
    "intermediate_size": 48,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "max_position_embeddings": 64,
}
CROSS_ATTENTION_NAMES = ("cross_attn.q_proj", "cross_attn.k_proj", "cross_attn.v_proj", "cross_attn.o_proj")


def _tiny_arlow_checkpoint(directory, seed=0, dtype=None, **overrides):
    """Saves a tiny Arlow causal LM (float32 or `dtype`) with a trained byte-level tokenizer and a chat template."""
    tokenizer = ArlowTokenizer().train_new_from_iterator(CORPUS, vocab_size=300, min_frequency=1)
    tokenizer.chat_template = CHAT_TEMPLATE
    config = ArlowConfig(
        vocab_size=len(tokenizer),
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        **{**TINY_SHAPE, **overrides},
    )
    torch.manual_seed(seed)
    model = ArlowForCausalLM(config).eval()
    # Larger weights than the default init, so that the logits are well apart and greedy decoding has no ties
    with torch.no_grad():
        for parameter in model.parameters():
            if parameter.dim() == 2:
                parameter.normal_(0.0, 0.3)
    if dtype is not None:
        model.to(dtype)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return model, tokenizer


def _tiny_llama_checkpoint(directory, **overrides):
    config = LlamaConfig(vocab_size=128, **{**TINY_SHAPE, **overrides})
    torch.manual_seed(0)
    model = LlamaForCausalLM(config).eval()
    model.save_pretrained(directory)
    return model


def _quietly(function, *args, **kwargs):
    with contextlib.redirect_stderr(io.StringIO()):
        return function(*args, **kwargs)


@require_torch
@require_tokenizers
class ConvertArlowLlamaCheckpointTest(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.tmp = Path(self._tmp.name)
        self.input_ids = torch.tensor([[1, 17, 42, 7, 99, 5, 23]])

    def tearDown(self):
        self._tmp.cleanup()

    def assert_conversion_refused(self, convert, input_dir, *expected_phrases, **kwargs):
        """The conversion raises a message with `expected_phrases` and leaves nothing next to the output."""
        output_parent = self.tmp / "out"
        output_parent.mkdir(exist_ok=True)
        with self.assertRaises(CheckpointConversionError) as context:
            _quietly(convert, input_dir, output_parent / "converted", **kwargs)
        for phrase in expected_phrases:
            self.assertIn(phrase, str(context.exception))
        self.assertEqual(list(output_parent.iterdir()), [], "a refused conversion left files behind")
        return str(context.exception)

    def test_round_trip_arlow_llama_arlow_is_bit_exact(self):
        for tie_word_embeddings, dtype in ((True, torch.float32), (False, torch.float32), (True, torch.bfloat16)):
            with self.subTest(tie_word_embeddings=tie_word_embeddings, dtype=dtype):
                root = self.tmp / f"tied-{tie_word_embeddings}-{dtype}"
                _tiny_arlow_checkpoint(
                    root / "arlow", cross_attention=False, tie_word_embeddings=tie_word_embeddings, dtype=dtype
                )
                _quietly(convert_arlow_to_llama, root / "arlow", root / "llama")
                _quietly(convert_llama_to_arlow, root / "llama", root / "arlow-again")

                original = load_file(root / "arlow" / "model.safetensors")
                round_trip = load_file(root / "arlow-again" / "model.safetensors")
                self.assertEqual(sorted(original), sorted(round_trip))
                self.assertEqual(tie_word_embeddings, "lm_head.weight" not in original)
                self.assertEqual({tensor.dtype for tensor in original.values()}, {dtype})
                for name, tensor in original.items():
                    self.assertEqual(tensor.dtype, round_trip[name].dtype, name)
                    self.assertTrue(torch.equal(tensor, round_trip[name]), name)

                original_config = json.loads((root / "arlow" / "config.json").read_text())
                round_trip_config = json.loads((root / "arlow-again" / "config.json").read_text())
                self.assertEqual(original_config, round_trip_config)
                for file in ("generation_config.json", "tokenizer.json"):
                    self.assertEqual((root / "arlow" / file).read_text(), (root / "arlow-again" / file).read_text())

    def test_exported_llama_loads_with_auto_classes_and_matches_arlow(self):
        arlow, tokenizer = _tiny_arlow_checkpoint(self.tmp / "arlow", cross_attention=False)
        _quietly(convert_arlow_to_llama, self.tmp / "arlow", self.tmp / "llama")

        tokenizer_config = json.loads((self.tmp / "llama" / "tokenizer_config.json").read_text())
        self.assertEqual(tokenizer_config["tokenizer_class"], "PreTrainedTokenizerFast")
        self.assertNotIn("Arlow", (self.tmp / "llama" / "tokenizer_config.json").read_text())
        config = json.loads((self.tmp / "llama" / "config.json").read_text())
        self.assertEqual((config["model_type"], config["architectures"]), ("llama", ["LlamaForCausalLM"]))

        llama = AutoModelForCausalLM.from_pretrained(self.tmp / "llama").eval()
        llama_tokenizer = AutoTokenizer.from_pretrained(self.tmp / "llama")
        self.assertIs(type(llama), LlamaForCausalLM)
        self.assertIsInstance(llama_tokenizer, PreTrainedTokenizerFast)
        for name in ("rope_parameters", "rms_norm_eps", "tie_word_embeddings", "head_dim", "num_key_value_heads"):
            self.assertEqual(getattr(llama.config, name), getattr(arlow.config, name), name)

        for text in CORPUS[:3] + ["Unseen wörds, émojis 🙂 and\ttabs."]:
            self.assertEqual(llama_tokenizer(text)["input_ids"], tokenizer(text)["input_ids"], text)
        self.assertEqual(llama_tokenizer.special_tokens_map, tokenizer.special_tokens_map)
        self.assertEqual(llama_tokenizer.padding_side, tokenizer.padding_side)
        messages = [{"role": "user", "content": "hi"}]
        self.assertEqual(
            llama_tokenizer.apply_chat_template(messages, tokenize=False),
            tokenizer.apply_chat_template(messages, tokenize=False),
        )

        input_ids = torch.tensor([tokenizer("Plants create energy")["input_ids"]])
        with torch.no_grad():
            self.assertTrue(torch.equal(llama(input_ids).logits, arlow(input_ids).logits))
        generation = {"max_new_tokens": 8, "do_sample": False}
        self.assertTrue(torch.equal(llama.generate(input_ids, **generation), arlow.generate(input_ids, **generation)))

    def test_cross_attention_checkpoint_is_refused_without_drop_flag(self):
        _tiny_arlow_checkpoint(self.tmp / "arlow", cross_attention=True)
        message = self.assert_conversion_refused(
            convert_arlow_to_llama,
            self.tmp / "arlow",
            "cross_attention=True",
            "Llama has no place for them",
            "10 tensors",
            "in each of the 2 layers",
            "--drop_cross_attention",
        )
        for name in CROSS_ATTENTION_NAMES + ("cross_attn_layernorm",):
            self.assertIn(name, message)

    def test_drop_cross_attention_exports_the_model_without_encoder_states(self):
        arlow, _ = _tiny_arlow_checkpoint(self.tmp / "arlow", cross_attention=True)
        _quietly(convert_arlow_to_llama, self.tmp / "arlow", self.tmp / "llama", drop_cross_attention=True)

        exported = load_file(self.tmp / "llama" / "model.safetensors")
        self.assertFalse([name for name in exported if "cross_attn" in name])
        llama = LlamaForCausalLM.from_pretrained(self.tmp / "llama").eval()
        with torch.no_grad():
            self.assertTrue(torch.equal(llama(self.input_ids).logits, arlow(self.input_ids).logits))

    def test_llama_to_arlow_with_fresh_cross_attention(self):
        llama = _tiny_llama_checkpoint(self.tmp / "llama")
        arlow = _quietly(convert_llama_to_arlow, self.tmp / "llama", self.tmp / "arlow", add_cross_attention=True)

        reloaded = ArlowForCausalLM.from_pretrained(self.tmp / "arlow").eval()
        self.assertTrue(reloaded.config.cross_attention)
        self.assertEqual(reloaded.config.attention_dropout, llama.config.attention_dropout)
        saved = load_file(self.tmp / "arlow" / "model.safetensors")
        for name, tensor in load_file(self.tmp / "llama" / "model.safetensors").items():
            self.assertTrue(torch.equal(saved[name], tensor), name)
        for layer in reloaded.model.layers:
            self.assertTrue(torch.equal(layer.cross_attn_layernorm.weight, torch.ones(TINY_SHAPE["hidden_size"])))
            for projection in (layer.cross_attn.q_proj, layer.cross_attn.o_proj):
                std = projection.weight.std().item()
                self.assertAlmostEqual(std, reloaded.config.initializer_range, delta=0.01)
        self.assertTrue(
            torch.equal(
                arlow.model.layers[0].cross_attn.q_proj.weight, reloaded.model.layers[0].cross_attn.q_proj.weight
            )
        )

        with torch.no_grad():
            self.assertTrue(torch.equal(reloaded(self.input_ids).logits, llama(self.input_ids).logits))
            encoder_hidden_states = torch.randn(1, 3, TINY_SHAPE["hidden_size"])
            with_encoder = reloaded(self.input_ids, encoder_hidden_states=encoder_hidden_states).logits
        self.assertFalse(torch.equal(with_encoder, llama(self.input_ids).logits))

    def test_llama_with_biases_is_refused(self):
        _tiny_llama_checkpoint(self.tmp / "llama", attention_bias=True)
        self.assert_conversion_refused(
            convert_llama_to_arlow, self.tmp / "llama", "attention_bias=True", "Arlow's projections have no biases"
        )

    def test_bad_inputs_are_refused_and_leave_nothing_behind(self):
        _tiny_arlow_checkpoint(self.tmp / "arlow", cross_attention=False)
        _tiny_llama_checkpoint(self.tmp / "llama")
        (self.tmp / "empty").mkdir()
        (self.tmp / "file.txt").write_text("not a checkpoint")

        self.assert_conversion_refused(convert_arlow_to_llama, self.tmp / "missing", "is not a directory")
        self.assert_conversion_refused(convert_arlow_to_llama, self.tmp / "file.txt", "is not a directory")
        self.assert_conversion_refused(convert_arlow_to_llama, self.tmp / "empty", "has no config.json")
        self.assert_conversion_refused(convert_arlow_to_llama, self.tmp / "llama", "model type 'llama'", "'arlowgpt'")
        self.assert_conversion_refused(convert_llama_to_arlow, self.tmp / "arlow", "model type 'arlowgpt'", "'llama'")

        # config.json and the weights disagree
        config = json.loads((self.tmp / "arlow" / "config.json").read_text())
        (self.tmp / "arlow" / "config.json").write_text(json.dumps({**config, "intermediate_size": 40}))
        self.assert_conversion_refused(
            convert_arlow_to_llama,
            self.tmp / "arlow",
            "shapes do not match config.json",
            "model.layers.0.mlp.up_proj.weight (checkpoint [48, 32], expected [40, 32])",
        )
        (self.tmp / "arlow" / "config.json").write_text(json.dumps(config))

        # weights missing from the checkpoint
        (self.tmp / "arlow" / "model.safetensors").rename(self.tmp / "weights.safetensors")
        self.assert_conversion_refused(convert_arlow_to_llama, self.tmp / "arlow", "its weights cannot be read")

    def test_existing_output_directory_is_not_overwritten(self):
        _tiny_arlow_checkpoint(self.tmp / "arlow", cross_attention=False)
        output_dir = self.tmp / "taken"
        output_dir.mkdir()
        (output_dir / "keep.txt").write_text("keep")
        with self.assertRaisesRegex(CheckpointConversionError, "already exists and is not an empty directory"):
            _quietly(convert_arlow_to_llama, self.tmp / "arlow", output_dir)
        self.assertEqual([path.name for path in output_dir.iterdir()], ["keep.txt"])
        self.assertEqual(sorted(path.name for path in self.tmp.iterdir()), ["arlow", "taken"])

    def run_command_line(self, *arguments):
        """Runs the converter as its users do, `python -m ...`, in a fresh process on this tree's `transformers`.

        In-process capture would not do: upstream's pytest configuration turns on live logging (`log_cli`), on a CI
        machine (`CI` set) transformers' warnings propagate to it, and each one it prints resets `sys.stdout` to
        pytest's own capture, taking the command's output away from a `contextlib.redirect_stdout`.
        """
        python_path = [str(Path(transformers.__file__).parents[1]), os.environ.get("PYTHONPATH", "")]
        environment = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(path for path in python_path if path),
            "HF_HUB_OFFLINE": "1",
        }
        command = [sys.executable, "-m", "transformers.models.arlow.convert_arlow_llama_checkpoint", *arguments]
        return subprocess.run(command, capture_output=True, text=True, env=environment, timeout=300)

    def test_command_line(self):
        _tiny_arlow_checkpoint(self.tmp / "arlow", cross_attention=True)
        arguments = ["to-llama", "--input_dir", str(self.tmp / "arlow"), "--output_dir", str(self.tmp / "llama")]
        refused = self.run_command_line(*arguments)
        self.assertEqual(refused.returncode, 1, refused.stderr)
        self.assertIn("error: ", refused.stderr)
        self.assertIn("--drop_cross_attention", refused.stderr)
        self.assertFalse((self.tmp / "llama").exists())

        converted = self.run_command_line(*arguments, "--drop-cross-attention")
        self.assertEqual(converted.returncode, 0, converted.stderr)
        self.assertIn(f"Wrote the Llama checkpoint to {self.tmp / 'llama'}", converted.stdout)
        self.assertIn("Leaving out the cross-attention blocks", converted.stderr)
        self.assertTrue((self.tmp / "llama" / "model.safetensors").is_file())

        # argparse's help exits before any conversion (and any logging), so it is safe to run in-process
        with contextlib.redirect_stdout(io.StringIO()) as stdout, self.assertRaises(SystemExit) as context:
            main(["--help"])
        self.assertEqual(context.exception.code, 0)
        self.assertIn("to-llama", stdout.getvalue())
        self.assertIn("from-llama", stdout.getvalue())
