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
import functools
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

from transformers import ArlowConfig, ArlowTokenizer, ArlowTokenizerFast, AutoTokenizer, TokenizersBackend
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
PROPERTY = settings(max_examples=100, deadline=None, derandomize=True, database=None)
TEXT = "The keeper counted 112 steps, 😊"


def train_sentencepiece(folder: str, **options):
    import sentencepiece

    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(CORPUS), model_writer=model, num_threads=1, minloglevel=2, **options
    )
    Path(folder, "tokenizer.model").write_bytes(model.getvalue())
    return sentencepiece.SentencePieceProcessor(model_proto=model.getvalue())


@require_tokenizers
class ArlowTokenizationTest(TokenizerTesterMixin, unittest.TestCase):
    tokenizer_class = ArlowTokenizer
    from_pretrained_kwargs = {}
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
        super().setUpClass()

    @functools.cached_property
    def sentencepiece(self):
        # A SentencePiece BPE model with byte fallback and Arlow's special tokens, and the tokenizer loaded from it
        folder = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, folder)
        processor = train_sentencepiece(
            folder, model_type="bpe", vocab_size=500, byte_fallback=True, hard_vocab_limit=False, character_coverage=1.0,
            normalization_rule_name="identity", split_digits=True, remove_extra_whitespaces=False, pad_id=0, bos_id=1,
            eos_id=2, unk_id=3, pad_piece=SPECIAL_TOKENS[0], bos_piece=SPECIAL_TOKENS[1], eos_piece=SPECIAL_TOKENS[2],
        )  # fmt: skip
        return processor, ArlowTokenizer.from_pretrained(folder)

    def test_defaults_and_special_tokens(self):
        tokenizer, config = self.get_tokenizer(), ArlowConfig()
        self.assertIs(ArlowTokenizerFast, ArlowTokenizer)
        self.assertEqual([tokenizer.pad_token, tokenizer.bos_token, tokenizer.eos_token], SPECIAL_TOKENS)
        self.assertEqual([tokenizer.pad_token_id, tokenizer.bos_token_id, tokenizer.eos_token_id], [0, 1, 2])
        self.assertEqual([config.bos_token_id, config.eos_token_id, tokenizer.unk_token], [1, 2, None])
        self.assertEqual([tokenizer.padding_side, tokenizer.add_bos_token, tokenizer.add_eos_token], ["left", 1, 0])
        self.assertEqual(tokenizer.decode(tokenizer.encode("Hello world!")), "<|begin_of_text|>Hello world!")
        ids = tokenizer.encode("one<|end_of_text|>two", add_special_tokens=False)
        self.assertEqual([ids.count(2), tokenizer.decode(ids, skip_special_tokens=True)], [1, "onetwo"])
        untrained = ArlowTokenizer()  # the special tokens and the 256 byte symbols: one token per byte
        self.assertEqual([len(untrained), len(untrained.encode("héllo 😊", add_special_tokens=False))], [259, 11])
        retrained = untrained.train_new_from_iterator(iter(CORPUS), 400)  # training is deterministic
        self.assertEqual(retrained.backend_tokenizer.to_str(), tokenizer.backend_tokenizer.to_str())

    def test_add_bos_and_eos_token(self):
        text_ids = self.get_tokenizer().encode(TEXT, add_special_tokens=False)
        both, neither = self.get_tokenizer(add_eos_token=True), self.get_tokenizer(add_bos_token=False)
        self.assertEqual([both.encode(TEXT), neither.encode(TEXT)], [[1, *text_ids, 2], text_ids])
        neither.add_eos_token = True  # the setters update the backend at once
        self.assertEqual(neither.encode(TEXT), [*text_ids, 2])
        with tempfile.TemporaryDirectory() as tmp_dir:  # the setting is saved with the tokenizer
            both.save_pretrained(tmp_dir)
            self.assertEqual(ArlowTokenizer.from_pretrained(tmp_dir).encode(TEXT), [1, *text_ids, 2])
            self.assertEqual(ArlowTokenizer.from_pretrained(tmp_dir, add_bos_token=False).encode(TEXT), [*text_ids, 2])

    @PROPERTY
    @given(texts=st.lists(st.text().filter(lambda text: "<|" not in text), min_size=1, max_size=4))
    def test_round_trip_any_text(self, texts):
        tokenizer, prefixed = self.get_tokenizer(), self.get_tokenizer(add_prefix_space=True)
        self.assertEqual(tokenizer.batch_decode(tokenizer(texts)["input_ids"], skip_special_tokens=True), texts)
        self.assertEqual(prefixed.batch_decode(prefixed(texts, add_special_tokens=False)["input_ids"]), texts)
        text = "a" + texts[0]  # with `add_prefix_space`, encoded as after a space
        self.assertEqual(prefixed.encode(text), [1, *tokenizer.encode(" " + text, add_special_tokens=False)])

    def test_construction_from_vocab_and_merges(self):
        reference, model = self.get_tokenizer(), json.loads(self.get_tokenizer().backend_tokenizer.to_str())["model"]
        vocab, merges = model["vocab"], [" ".join(merge) for merge in model["merges"]]
        self.assertEqual(ArlowTokenizer(vocab=vocab, merges=merges).encode(TEXT), reference.encode(TEXT))
        with tempfile.TemporaryDirectory() as tmp_dir:  # the layout of upstream's byte-level BPE checkpoints
            Path(tmp_dir, "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
            Path(tmp_dir, "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n", encoding="utf-8")
            self.assertEqual(ArlowTokenizer.from_pretrained(tmp_dir).encode(TEXT), reference.encode(TEXT))
            self.assertEqual(ArlowTokenizer(f"{tmp_dir}/vocab.json", f"{tmp_dir}/merges.txt").get_vocab(), vocab)

    def test_bad_input_is_a_clear_error(self):
        vocab, error, load = self.get_tokenizer().get_vocab(), self.assertRaisesRegex, ArlowTokenizer.from_pretrained
        with tempfile.TemporaryDirectory() as tmp_dir:
            error(ValueError, "holds no tokenizer.json, vocab.json or tokenizer.model", load, tmp_dir)
            self.get_tokenizer().save_pretrained(tmp_dir)
            Path(tmp_dir, "tokenizer.json").write_text('{"added_tokens": [], "model": {}}', encoding="utf-8")
            error(ValueError, "tokenizer.json is not a valid tokenizer file", load, tmp_dir)
        error(
            ValueError,
            "/no/tokenizer.json is not a valid tokenizer file",
            ArlowTokenizer,
            tokenizer_file="/no/tokenizer.json",
        )
        error(
            ValueError, "/no/vocab.json is not a valid vocab.json", ArlowTokenizer, "/no/vocab.json", "/no/merges.txt"
        )
        for merges in (["a b c"], [("<missing>", "a")], [("Q", "z")]):
            error(
                ValueError, "is not a pair of tokens whose merge is in the vocabulary", ArlowTokenizer, vocab, merges
            )
        vocab.pop("Ā")
        error(ValueError, "lacks 1 of the 256 byte symbols", ArlowTokenizer, vocab, [])

    def test_loads_with_auto_and_without_arlow(self):
        with tempfile.TemporaryDirectory() as tmp_dir:
            ArlowConfig().save_pretrained(tmp_dir)
            self.get_tokenizer().save_pretrained(tmp_dir)
            self.assertIsInstance(AutoTokenizer.from_pretrained(tmp_dir), ArlowTokenizer)
            expected = self.get_tokenizer().encode(TEXT)  # a transformers without Arlow: the generic class
            self.assertEqual(TokenizersBackend.from_pretrained(tmp_dir).encode(TEXT), expected)
            os.remove(Path(tmp_dir, "tokenizer_config.json"))  # then the model type in config.json decides
            self.assertEqual(AutoTokenizer.from_pretrained(tmp_dir).encode(TEXT), expected)

    @require_sentencepiece
    def test_sentencepiece_model(self):
        processor, tokenizer = self.sentencepiece
        self.assertEqual([tokenizer.pad_token, tokenizer.bos_token, tokenizer.eos_token], SPECIAL_TOKENS)
        self.assertEqual([tokenizer.unk_token_id, len(tokenizer)], [3, processor.get_piece_size()])
        self.assertEqual(tokenizer.encode("Hello world!"), [1, *processor.encode("Hello world!")])
        batch = tokenizer(CORPUS, add_special_tokens=False)["input_ids"]
        self.assertEqual([batch, tokenizer.batch_decode(batch)], [processor.encode(CORPUS), CORPUS])
        with tempfile.TemporaryDirectory() as tmp_dir:  # saved as a `tokenizer.json`, loaded as it is
            tokenizer.save_pretrained(tmp_dir)
            self.assertEqual(ArlowTokenizer.from_pretrained(tmp_dir).encode(TEXT), tokenizer.encode(TEXT))
            train_sentencepiece(tmp_dir, model_type="unigram", vocab_size=100)
            os.remove(Path(tmp_dir, "tokenizer.json"))
            load = ArlowTokenizer.from_pretrained
            self.assertRaisesRegex(ValueError, "tokenizer.model is not a SentencePiece BPE model", load, tmp_dir)
            Path(tmp_dir, "tokenizer.model").write_bytes(b"not a sentencepiece model")
            self.assertRaisesRegex(ValueError, "tokenizer.model is not a valid SentencePiece model", load, tmp_dir)

    @require_sentencepiece
    @PROPERTY
    @given(text=st.text().filter(lambda text: "<" not in text))
    def test_sentencepiece_model_on_any_text(self, text):
        processor, tokenizer = self.sentencepiece
        ids = tokenizer.encode(text, add_special_tokens=False)
        self.assertEqual([ids, tokenizer.decode(ids)], [processor.encode(text), processor.decode(ids)])
