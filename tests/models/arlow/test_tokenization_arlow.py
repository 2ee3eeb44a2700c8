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
import io
import json
import os
import shutil
import tempfile
import unittest
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from tokenizers import Tokenizer

from transformers import ArlowConfig, ArlowTokenizer, AutoTokenizer, TokenizersBackend
from transformers.testing_utils import require_sentencepiece, require_tokenizers

from ...test_tokenization_common import TokenizerTesterMixin


# The test tokenizers are trained at set-up from these lines, deterministically: no tokenizer file is committed.
CORPUS = [
    "The lighthouse keeper climbed 112 steps every evening, and he counted them twice: 1, 2, 3.",
    "Hello world! Hello again, world. The world said hello back, which surprised everyone in the room.",
    "def add(first, second):\n    return first + second  # the sum of two numbers",
    "Les enfants jouaient dans le jardin; der alte Müller ging über die Brücke. 春天来了，花开了。",
    "Старый кот спал. Emoji are text too: 😊 🚀 🌍, and\ttabs and\n\nnewlines survive the round trip.",
]
SPECIAL_TOKENS = ["<|pad|>", "<|begin_of_text|>", "<|end_of_text|>"]
TEXT = "The keeper counted 112 steps, 😊"


def train_sentencepiece(folder: str, **options):
    import sentencepiece

    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(CORPUS), model_writer=model, num_threads=1, minloglevel=2, **options
    )
    Path(folder, "tokenizer.model").write_bytes(model.getvalue())
    return sentencepiece.SentencePieceProcessor(model_proto=model.getvalue())


@require_sentencepiece
@require_tokenizers
class ArlowTokenizationTest(TokenizerTesterMixin, unittest.TestCase):
    tokenizer_class = ArlowTokenizer
    integration_expected_decoded_text = TokenizerTesterMixin.integration_test_input_string

    @classmethod
    def setUpClass(cls):
        cls.from_pretrained_id = [tempfile.mkdtemp()]
        cls.addClassCleanup(shutil.rmtree, cls.from_pretrained_id[0])
        ArlowTokenizer().train_new_from_iterator(CORPUS, 400).save_pretrained(cls.from_pretrained_id[0])
        # The reference for the integration test: the saved `tokenizer.json` run by the `tokenizers` library alone.
        reference = Tokenizer.from_file(os.path.join(cls.from_pretrained_id[0], "tokenizer.json"))
        reference = reference.encode(cls.integration_test_input_string, add_special_tokens=False)
        cls.integration_expected_tokens, cls.integration_expected_token_ids = reference.tokens, reference.ids
        spm_folder = tempfile.mkdtemp(dir=cls.from_pretrained_id[0])  # a SentencePiece BPE model, byte fallback
        processor = train_sentencepiece(
            spm_folder, model_type="bpe", vocab_size=500, byte_fallback=True, hard_vocab_limit=False, character_coverage=1.0,
            normalization_rule_name="identity", split_digits=True, remove_extra_whitespaces=False, pad_id=0, bos_id=1,
            eos_id=2, unk_id=3, pad_piece=SPECIAL_TOKENS[0], bos_piece=SPECIAL_TOKENS[1], eos_piece=SPECIAL_TOKENS[2],
        )  # fmt: skip
        cls.sentencepiece = processor, ArlowTokenizer.from_pretrained(spm_folder)
        super().setUpClass()

    def test_special_tokens_and_where_they_are_added(self):
        tokenizer, config = self.get_tokenizer(), ArlowConfig()
        ids = tokenizer.encode(TEXT, add_special_tokens=False)
        self.assertEqual([tokenizer.pad_token, tokenizer.bos_token, tokenizer.eos_token], SPECIAL_TOKENS)
        self.assertEqual([tokenizer.pad_token_id, tokenizer.bos_token_id, tokenizer.eos_token_id], [0, 1, 2])
        self.assertEqual([config.bos_token_id, config.eos_token_id, tokenizer.unk_token], [1, 2, None])
        self.assertEqual([tokenizer.padding_side, tokenizer.encode(TEXT)], ["left", [1, *ids]])
        both, neither = self.get_tokenizer(add_eos_token=True), self.get_tokenizer(add_bos_token=False)
        self.assertEqual([both.encode(TEXT), neither.encode(TEXT)], [[1, *ids, 2], ids])
        neither.add_eos_token = True  # the setters update the backend at once
        self.assertEqual(neither.encode(TEXT), [*ids, 2])
        with tempfile.TemporaryDirectory() as tmp_dir:  # the setting is saved with the tokenizer
            both.save_pretrained(tmp_dir)
            self.assertEqual(ArlowTokenizer.from_pretrained(tmp_dir).encode(TEXT), [1, *ids, 2])
            self.assertEqual(ArlowTokenizer.from_pretrained(tmp_dir, add_bos_token=False).encode(TEXT), [*ids, 2])

    @settings(max_examples=100, deadline=None, derandomize=True, database=None)
    @given(texts=st.lists(st.text().filter(lambda text: "<" not in text), min_size=1, max_size=4))
    def test_any_text(self, texts):
        tokenizer, prefixed = self.get_tokenizer(), self.get_tokenizer(add_prefix_space=True)
        self.assertEqual(tokenizer.batch_decode(tokenizer(texts)["input_ids"], skip_special_tokens=True), texts)
        self.assertEqual(prefixed.batch_decode(prefixed(texts, add_special_tokens=False)["input_ids"]), texts)
        text = "a" + texts[0]  # with `add_prefix_space`, encoded as after a space
        self.assertEqual(prefixed.encode(text), [1, *tokenizer.encode(" " + text, add_special_tokens=False)])
        processor, spm = self.sentencepiece  # the SentencePiece model's tokenizer encodes and decodes as it does
        ids = spm(texts, add_special_tokens=False)["input_ids"]
        self.assertEqual([ids, spm.batch_decode(ids)], [processor.encode(texts), processor.decode(ids)])

    def test_other_ways_in(self):
        untrained = ArlowTokenizer()  # the special tokens and the 256 byte symbols: one token per byte
        self.assertEqual([len(untrained), len(untrained.encode("héllo 😊", add_special_tokens=False))], [259, 11])
        split = untrained.backend_tokenizer.pre_tokenizer.pre_tokenize_str("(Hi)!\n")  # Llama-3's split, no other
        self.assertEqual([piece for piece, _ in split], ["(Hi", ")!Ċ"])
        reference, model = self.get_tokenizer(), json.loads(self.get_tokenizer().backend_tokenizer.to_str())["model"]
        with tempfile.TemporaryDirectory() as tmp_dir:  # the layout of upstream's byte-level BPE checkpoints
            Path(tmp_dir, "vocab.json").write_text(json.dumps(model["vocab"]), encoding="utf-8")
            merges = "\n".join(["#version: 0.2", *map(" ".join, model["merges"])])
            Path(tmp_dir, "merges.txt").write_text(merges, encoding="utf-8")
            self.assertEqual(ArlowTokenizer.from_pretrained(tmp_dir).encode(TEXT), reference.encode(TEXT))
            from_files = ArlowTokenizer(f"{tmp_dir}/vocab.json", f"{tmp_dir}/merges.txt")
            self.assertEqual(from_files.get_vocab(), model["vocab"])
        saved = self.from_pretrained_id[0]  # Auto classes, and a transformers without Arlow
        self.assertIsInstance(AutoTokenizer.from_pretrained(saved), ArlowTokenizer)
        self.assertEqual(TokenizersBackend.from_pretrained(saved).encode(TEXT), reference.encode(TEXT))
        processor, tokenizer = self.sentencepiece  # a SentencePiece BPE model
        self.assertEqual([tokenizer.pad_token, tokenizer.bos_token, tokenizer.eos_token], SPECIAL_TOKENS)
        self.assertEqual([tokenizer.unk_token_id, len(tokenizer)], [3, processor.get_piece_size()])
        self.assertEqual(tokenizer.encode("Hello world!"), [1, *processor.encode("Hello world!")])
        batch = tokenizer(CORPUS, add_special_tokens=False)["input_ids"]
        self.assertEqual([batch, tokenizer.batch_decode(batch)], [processor.encode(CORPUS), CORPUS])
        with tempfile.TemporaryDirectory() as tmp_dir:  # saved as a `tokenizer.json`, loaded as it is
            tokenizer.save_pretrained(tmp_dir)
            self.assertEqual(ArlowTokenizer.from_pretrained(tmp_dir).encode(TEXT), tokenizer.encode(TEXT))

    def test_bad_input_is_a_clear_error(self):
        vocab, load = self.get_tokenizer().get_vocab(), ArlowTokenizer.from_pretrained
        with tempfile.TemporaryDirectory() as tmp_dir:
            self.assertRaisesRegex(ValueError, "holds no tokenizer.json, vocab.json or tokenizer.model", load, tmp_dir)
            train_sentencepiece(tmp_dir, model_type="unigram", vocab_size=100)
            self.assertRaisesRegex(ValueError, "tokenizer.model is not a SentencePiece BPE model", load, tmp_dir)
            Path(tmp_dir, "tokenizer.model").write_bytes(b"not a sentencepiece model")
            self.assertRaisesRegex(ValueError, "tokenizer.model is not a valid SentencePiece model", load, tmp_dir)
            Path(tmp_dir, "tokenizer.json").write_text('{"added_tokens": [], "model": {}}', encoding="utf-8")
            self.assertRaisesRegex(ValueError, "tokenizer.json is not a valid tokenizer file", load, tmp_dir)
        for kwargs, message in [
            ({"tokenizer_file": "/no/tokenizer.json"}, "/no/tokenizer.json is not a valid tokenizer file"),
            ({"vocab": "/no/vocab.json", "merges": "/no/merges.txt"}, "/no/vocab.json is not a valid vocab.json"),
            ({"vocab": {k: i for k, i in vocab.items() if k != "Ā"}}, "lacks 1 of the 256 byte symbols"),
            ({"vocab": vocab, "merges": ["a b c"]}, "is not a pair of tokens whose merge is in the vocabulary"),
            ({"vocab": vocab, "merges": [("Q", "z")]}, "is not a pair of tokens whose merge"),
        ]:
            with self.subTest(message), self.assertRaisesRegex(ValueError, message):
                ArlowTokenizer(**kwargs)
