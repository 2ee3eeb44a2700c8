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
import filecmp
import importlib.util
import io
import json
import os
import tempfile
import unittest
from pathlib import Path

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from transformers import ArlowConfig, ArlowTokenizer, ArlowTokenizerFast, AutoTokenizer, TokenizersBackend
from transformers.testing_utils import require_sentencepiece, require_tokenizers, require_torch

from ...test_tokenization_common import TokenizerTesterMixin


FIXTURES_DIR = Path(__file__).resolve().parent / "fixtures"
BYTE_LEVEL_DIR = FIXTURES_DIR / "byte_level"
SENTENCEPIECE_DIR = FIXTURES_DIR / "sentencepiece"
SPECIAL_TOKENS = ("<|pad|>", "<|begin_of_text|>", "<|end_of_text|>")
# Reproducible property tests: the same examples on every run, no example database written, no timing.
PROPERTY_SETTINGS = settings(
    max_examples=200, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow]
)


def _load_fixture_script():
    spec = importlib.util.spec_from_file_location("make_arlow_fixtures", FIXTURES_DIR / "make_fixtures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _raw_backend_encoding(text):
    """
    The fixture's `tokenizer.json` run by the `tokenizers` library alone, as the reference for the integration test.
    """
    from tokenizers import Tokenizer

    return Tokenizer.from_file(str(BYTE_LEVEL_DIR / "tokenizer.json")).encode(text, add_special_tokens=False)


@require_tokenizers
class ArlowTokenizationTest(TokenizerTesterMixin, unittest.TestCase):
    # The committed fixture (made by `fixtures/make_fixtures.py`) stands in for a Hub checkpoint, so nothing
    # is downloaded.
    from_pretrained_id = [str(BYTE_LEVEL_DIR)]
    tokenizer_class = ArlowTokenizer
    from_pretrained_kwargs = {}

    # The expected tokens are the ones the `tokenizers` library gives for the fixture's `tokenizer.json`; byte-level
    # decoding gives the text back exactly.
    integration_expected_tokens = _raw_backend_encoding(TokenizerTesterMixin.integration_test_input_string).tokens
    integration_expected_token_ids = _raw_backend_encoding(TokenizerTesterMixin.integration_test_input_string).ids
    integration_expected_decoded_text = TokenizerTesterMixin.integration_test_input_string

    def test_seed_round_trip(self):
        tokenizer = self.get_tokenizer()
        input_ids = tokenizer("Hello world!")["input_ids"]
        self.assertEqual(input_ids[0], tokenizer.bos_token_id)
        self.assertEqual(tokenizer.decode(input_ids, skip_special_tokens=True), "Hello world!")
        self.assertEqual(tokenizer.decode(input_ids), "<|begin_of_text|>Hello world!")

    def test_fast_name_is_the_same_class(self):
        self.assertIs(ArlowTokenizerFast, ArlowTokenizer)

    def test_special_token_ids_agree_with_config(self):
        tokenizer = self.get_tokenizer()
        config = ArlowConfig()
        self.assertEqual(
            [tokenizer.pad_token, tokenizer.bos_token, tokenizer.eos_token], list(SPECIAL_TOKENS), "special tokens"
        )
        self.assertEqual([tokenizer.pad_token_id, tokenizer.bos_token_id, tokenizer.eos_token_id], [0, 1, 2])
        self.assertEqual(tokenizer.bos_token_id, config.bos_token_id)
        self.assertEqual(tokenizer.eos_token_id, config.eos_token_id)
        self.assertIsNone(tokenizer.unk_token)
        self.assertLessEqual(len(tokenizer), config.vocab_size)

    def test_special_tokens_in_text(self):
        tokenizer = self.get_tokenizer()
        ids = tokenizer.encode("one<|end_of_text|>two", add_special_tokens=False)
        self.assertEqual(ids.count(tokenizer.eos_token_id), 1)
        self.assertEqual(tokenizer.decode(ids), "one<|end_of_text|>two")
        self.assertEqual(tokenizer.decode(ids, skip_special_tokens=True), "onetwo")

    def test_add_bos_and_eos_token(self):
        tokenizer = self.get_tokenizer()
        text_ids = tokenizer.encode("Hello world!", add_special_tokens=False)
        self.assertTrue(tokenizer.add_bos_token)
        self.assertFalse(tokenizer.add_eos_token)
        self.assertEqual(tokenizer.encode("Hello world!"), [1] + text_ids)

        both = self.get_tokenizer(add_eos_token=True)
        self.assertEqual(both.encode("Hello world!"), [1] + text_ids + [2])
        neither = self.get_tokenizer(add_bos_token=False)
        self.assertEqual(neither.encode("Hello world!"), text_ids)
        self.assertEqual(neither("a", "b")["input_ids"], tokenizer.encode("a", "b", add_special_tokens=False))

        # The setters update the backend at once.
        neither.add_eos_token = True
        self.assertEqual(neither.encode("Hello world!"), text_ids + [2])

        # The setting is saved with the tokenizer and used again when it is loaded.
        with tempfile.TemporaryDirectory() as tmp_dir:
            both.save_pretrained(tmp_dir)
            reloaded = ArlowTokenizer.from_pretrained(tmp_dir)
            self.assertTrue(reloaded.add_bos_token and reloaded.add_eos_token)
            self.assertEqual(reloaded.encode("Hello world!"), [1] + text_ids + [2])
            overridden = ArlowTokenizer.from_pretrained(tmp_dir, add_bos_token=False)
            self.assertEqual(overridden.encode("Hello world!"), text_ids + [2])

    def test_add_prefix_space(self):
        tokenizer = self.get_tokenizer()
        prefixed = self.get_tokenizer(add_prefix_space=True)
        self.assertEqual(
            prefixed.encode("world", add_special_tokens=False), tokenizer.encode(" world", add_special_tokens=False)
        )
        for text in ["world", " world", "Hello world!", ""]:
            ids = prefixed.encode(text, add_special_tokens=False)
            self.assertEqual(prefixed.decode(ids), text)

    @PROPERTY_SETTINGS
    @given(text=st.text())
    def test_round_trip_any_text(self, text):
        assume(not any(token in text for token in SPECIAL_TOKENS))
        tokenizer = self.get_tokenizer()
        ids = tokenizer.encode(text, add_special_tokens=False)
        self.assertEqual(tokenizer.decode(ids), text)
        self.assertTrue(all(0 <= index < len(tokenizer) for index in ids))
        with_special = tokenizer.encode(text)
        self.assertEqual(tokenizer.decode(with_special, skip_special_tokens=True), text)
        prefixed = self.get_tokenizer(add_prefix_space=True)
        self.assertEqual(prefixed.decode(prefixed.encode(text, add_special_tokens=False)), text)

    @PROPERTY_SETTINGS
    @given(texts=st.lists(st.text(), min_size=1, max_size=8))
    def test_round_trip_any_batch(self, texts):
        assume(not any(token in text for text in texts for token in SPECIAL_TOKENS))
        tokenizer = self.get_tokenizer()
        batch = tokenizer(texts, add_special_tokens=False)["input_ids"]
        self.assertEqual(tokenizer.batch_decode(batch), texts)
        self.assertEqual(batch, [tokenizer.encode(text, add_special_tokens=False) for text in texts])

    def test_batch_padding_and_truncation(self):
        tokenizer = self.get_tokenizer()
        texts = ["Hello world!", "The lighthouse keeper climbed the spiral stairs every evening."]
        lengths = [len(tokenizer(text)["input_ids"]) for text in texts]
        self.assertLess(lengths[0], lengths[1])

        padded = tokenizer(texts, padding=True)
        self.assertEqual(tokenizer.padding_side, "left")
        self.assertEqual([len(ids) for ids in padded["input_ids"]], [lengths[1], lengths[1]])
        pad_count = lengths[1] - lengths[0]
        self.assertEqual(padded["input_ids"][0][:pad_count], [tokenizer.pad_token_id] * pad_count)
        self.assertEqual(padded["attention_mask"][0], [0] * pad_count + [1] * lengths[0])
        self.assertEqual(padded["input_ids"][0][pad_count:], tokenizer(texts[0])["input_ids"])

        right = tokenizer(texts, padding="max_length", max_length=lengths[1] + 3, padding_side="right")
        self.assertEqual(right["input_ids"][1][-3:], [tokenizer.pad_token_id] * 3)
        self.assertEqual(right["attention_mask"][1], [1] * lengths[1] + [0] * 3)

        truncated = tokenizer(texts, truncation=True, max_length=4)
        self.assertEqual([len(ids) for ids in truncated["input_ids"]], [min(4, length) for length in lengths])
        self.assertEqual(truncated["input_ids"][1], tokenizer(texts[1])["input_ids"][:4])

        left_truncating = self.get_tokenizer(truncation_side="left")
        left = left_truncating(texts, truncation=True, max_length=4)
        self.assertEqual(left["input_ids"][1], [tokenizer.bos_token_id] + tokenizer(texts[1])["input_ids"][-3:])

    @require_torch
    def test_batch_to_tensors(self):
        tokenizer = self.get_tokenizer()
        batch = tokenizer(["Hello world!", "Hello"], padding=True, return_tensors="pt")
        self.assertEqual(tuple(batch["input_ids"].shape), tuple(batch["attention_mask"].shape))
        self.assertEqual(batch["input_ids"].shape[0], 2)
        self.assertEqual(int(batch["attention_mask"][1].sum()), len(tokenizer("Hello")["input_ids"]))

    def test_save_and_load_keeps_everything(self):
        tokenizer = self.get_tokenizer(add_eos_token=True)
        tokenizer.add_tokens(["<|tool|>"], special_tokens=True)
        with tempfile.TemporaryDirectory() as tmp_dir:
            tokenizer.save_pretrained(tmp_dir)
            reloaded = ArlowTokenizer.from_pretrained(tmp_dir)
            self.assertEqual(reloaded.get_vocab(), tokenizer.get_vocab())
            self.assertEqual(reloaded.all_special_tokens, tokenizer.all_special_tokens)
            text = "Hello <|tool|> world, 1234567!"
            self.assertEqual(reloaded(text)["input_ids"], tokenizer(text)["input_ids"])
            with tempfile.TemporaryDirectory() as second_dir:
                reloaded.save_pretrained(second_dir)
                for name in ("tokenizer.json", "tokenizer_config.json"):
                    self.assertTrue(filecmp.cmp(Path(tmp_dir, name), Path(second_dir, name), shallow=False), name)

    def test_construction_from_vocab_and_merges(self):
        reference = self.get_tokenizer()
        model = json.loads((BYTE_LEVEL_DIR / "tokenizer.json").read_text(encoding="utf-8"))["model"]
        text = "The quick brown fox, 12345 times: 😊!"
        expected = reference.encode(text)

        from_lists = ArlowTokenizer(vocab=model["vocab"], merges=model["merges"])
        self.assertEqual(from_lists.encode(text), expected)
        from_strings = ArlowTokenizer(vocab=model["vocab"], merges=[" ".join(pair) for pair in model["merges"]])
        self.assertEqual(from_strings.encode(text), expected)

        with tempfile.TemporaryDirectory() as tmp_dir:
            vocab_file, merges_file = Path(tmp_dir, "vocab.json"), Path(tmp_dir, "merges.txt")
            vocab_file.write_text(json.dumps(model["vocab"]), encoding="utf-8")
            merges_file.write_text("\n".join(" ".join(pair) for pair in model["merges"]) + "\n", encoding="utf-8")
            from_files = ArlowTokenizer(vocab=str(vocab_file), merges=str(merges_file))
            self.assertEqual(from_files.encode(text), expected)

        from_tokenizer_file = ArlowTokenizer(tokenizer_file=str(BYTE_LEVEL_DIR / "tokenizer.json"))
        self.assertEqual(from_tokenizer_file.encode(text), expected)

    def test_default_vocabulary_is_bytes_and_special_tokens(self):
        tokenizer = ArlowTokenizer()
        self.assertEqual(len(tokenizer), 256 + len(SPECIAL_TOKENS))
        self.assertEqual([tokenizer.pad_token_id, tokenizer.bos_token_id, tokenizer.eos_token_id], [0, 1, 2])
        text = "héllo 😊"
        ids = tokenizer.encode(text, add_special_tokens=False)
        self.assertEqual(len(ids), len(text.encode("utf-8")))
        self.assertEqual(tokenizer.decode(ids), text)

    def test_auto_tokenizer_resolution(self):
        with tempfile.TemporaryDirectory() as tmp_dir:
            ArlowConfig().save_pretrained(tmp_dir)
            self.get_tokenizer().save_pretrained(tmp_dir)
            self.assertIsInstance(AutoTokenizer.from_pretrained(tmp_dir), ArlowTokenizer)
            # Without `tokenizer_class` in tokenizer_config.json, the model type of config.json decides.
            os.remove(Path(tmp_dir, "tokenizer_config.json"))
            tokenizer = AutoTokenizer.from_pretrained(tmp_dir)
            self.assertIsInstance(tokenizer, ArlowTokenizer)
            self.assertEqual(tokenizer.encode("Hello world!"), self.get_tokenizer().encode("Hello world!"))

    def test_missing_or_malformed_files(self):
        with tempfile.TemporaryDirectory() as tmp_dir:
            with self.assertRaisesRegex(ValueError, "holds no `tokenizer.json`, `vocab.json` or SentencePiece"):
                ArlowTokenizer.from_pretrained(tmp_dir)

            tokenizer_file = Path(tmp_dir, "tokenizer.json")
            tokenizer_file.write_text("{ this is not json", encoding="utf-8")
            with self.assertRaisesRegex(ValueError, "tokenizer.json is not a valid tokenizer file"):
                ArlowTokenizer.from_pretrained(tmp_dir)
            with self.assertRaisesRegex(ValueError, "tokenizer.json is not a valid tokenizer file"):
                ArlowTokenizer(tokenizer_file=str(tokenizer_file))

            tokenizer_file.write_text(json.dumps({"model": {"type": "WordLevel", "vocab": {}}}), encoding="utf-8")
            with self.assertRaisesRegex(ValueError, "holds a WordLevel model, but ArlowTokenizer is a BPE tokenizer"):
                ArlowTokenizer.from_pretrained(tmp_dir)

        with self.assertRaisesRegex(FileNotFoundError, "does not exist"):
            ArlowTokenizer(tokenizer_file="/nonexistent/tokenizer.json")
        with self.assertRaisesRegex(FileNotFoundError, "/nonexistent/vocab.json does not exist"):
            ArlowTokenizer(vocab="/nonexistent/vocab.json", merges="/nonexistent/merges.txt")
        with self.assertRaisesRegex(FileNotFoundError, "needs a `merges.txt` path"):
            ArlowTokenizer(vocab=str(BYTE_LEVEL_DIR / "tokenizer.json"))

    def test_merges_that_do_not_match_the_vocab(self):
        model = json.loads((BYTE_LEVEL_DIR / "tokenizer.json").read_text(encoding="utf-8"))["model"]
        vocab = dict(model["vocab"])
        # A merge whose result is not in the vocabulary.
        with self.assertRaisesRegex(ValueError, r"Merge #0 \('a', 'b'\) is not a pair of tokens whose merge is in"):
            ArlowTokenizer(vocab=vocab, merges=[("a", "b")] + model["merges"])
        # A merge of a token that is not in the vocabulary.
        with self.assertRaisesRegex(ValueError, r"Merge #0 \('<missing>', 'a'\) is not a pair"):
            ArlowTokenizer(vocab=vocab, merges=[("<missing>", "a")])
        with self.assertRaisesRegex(ValueError, "is not a pair of tokens"):
            ArlowTokenizer(vocab=vocab, merges=["a b c"])
        # Merges of the default vocabulary (special tokens and byte symbols) that it does not hold.
        with self.assertRaisesRegex(ValueError, "is not a pair of tokens whose merge is in the vocabulary"):
            ArlowTokenizer(merges=model["merges"])
        # A vocabulary without all the byte symbols cannot encode every text.
        del vocab["Ā"]
        with self.assertRaisesRegex(ValueError, "lacks 1 of the 256 byte-level symbols"):
            ArlowTokenizer(vocab=vocab, merges=[])

    def test_vocab_size_too_small_for_training(self):
        with self.assertRaisesRegex(ValueError, "vocab_size=200 is too small.*at least 259"):
            ArlowTokenizer().train_new_from_iterator(["some text"], vocab_size=200)
        with self.assertRaisesRegex(ValueError, "at least 260"):
            ArlowTokenizer().train_new_from_iterator(["some text"], 259, new_special_tokens=["<|tool|>"])
        smallest = ArlowTokenizer().train_new_from_iterator(["some text"], vocab_size=259)
        self.assertEqual(len(smallest), 259)
        self.assertEqual(smallest.decode(smallest.encode("any text ✓", add_special_tokens=False)), "any text ✓")

    def test_training_from_scratch(self):
        # An untrained tokenizer (special tokens and byte symbols) trained with the base class's method.
        corpus = _load_fixture_script().read_corpus()
        for vocab_size in (300, 500):
            tokenizer = ArlowTokenizer().train_new_from_iterator(iter(corpus), vocab_size=vocab_size)
            self.assertIsInstance(tokenizer, ArlowTokenizer)
            self.assertEqual(len(tokenizer), vocab_size)
            self.assertEqual([tokenizer.pad_token_id, tokenizer.bos_token_id, tokenizer.eos_token_id], [0, 1, 2])
            self.assertEqual(tokenizer.decode(tokenizer.encode(corpus[0]), skip_special_tokens=True), corpus[0])
        # Batches of texts are accepted too, and new special tokens come right after the three default ones.
        batched = ArlowTokenizer(add_eos_token=True).train_new_from_iterator(
            [corpus[:3], corpus[3:]], vocab_size=400, new_special_tokens=["<|tool|>"]
        )
        self.assertEqual(batched.convert_tokens_to_ids("<|tool|>"), 3)
        self.assertEqual(batched.encode("Hi")[-1], batched.eos_token_id)
        self.assertEqual(batched.encode("Hi")[0], batched.bos_token_id)

    def test_training_is_deterministic(self):
        corpus = _load_fixture_script().read_corpus()
        with tempfile.TemporaryDirectory() as first, tempfile.TemporaryDirectory() as second:
            ArlowTokenizer().train_new_from_iterator(corpus, 700, min_frequency=2).save_pretrained(first)
            ArlowTokenizer().train_new_from_iterator(iter(corpus), 700, min_frequency=2).save_pretrained(second)
            first_json = Path(first, "tokenizer.json").read_bytes()
            self.assertEqual(first_json, Path(second, "tokenizer.json").read_bytes())
            # `min_frequency` reaches the trainer: the corpus has only 684 tokens that occur twice.
            self.assertEqual(len(json.loads(first_json)["model"]["vocab"]), 684)

    def test_train_new_from_iterator(self):
        tokenizer = self.get_tokenizer(add_eos_token=True)
        corpus = _load_fixture_script().read_corpus()
        new_tokenizer = tokenizer.train_new_from_iterator(corpus, vocab_size=400)
        self.assertIsInstance(new_tokenizer, ArlowTokenizer)
        self.assertEqual(len(new_tokenizer), 400)
        self.assertEqual(new_tokenizer.all_special_tokens, tokenizer.all_special_tokens)
        ids = new_tokenizer.encode("Hello world!")
        self.assertEqual([ids[0], ids[-1]], [1, 2])
        self.assertEqual(new_tokenizer.decode(ids, skip_special_tokens=True), "Hello world!")
        # The pipeline (pre-tokenizer, decoder) is the one it was trained from.
        self.assertEqual(
            new_tokenizer.backend_tokenizer.pre_tokenizer.__getstate__(),
            tokenizer.backend_tokenizer.pre_tokenizer.__getstate__(),
        )

    def test_vocab_and_merges_files(self):
        # A folder in the layout of upstream's byte-level BPE tokenizers (`vocab.json`, `merges.txt`) loads.
        reference = self.get_tokenizer()
        model = json.loads((BYTE_LEVEL_DIR / "tokenizer.json").read_text(encoding="utf-8"))["model"]
        self.assertEqual(
            ArlowTokenizer.vocab_files_names,
            {"vocab_file": "vocab.json", "merges_file": "merges.txt", "tokenizer_file": "tokenizer.json"},
        )
        with tempfile.TemporaryDirectory() as tmp_dir:
            Path(tmp_dir, "vocab.json").write_text(json.dumps(model["vocab"]), encoding="utf-8")
            merges = "\n".join(" ".join(pair) for pair in model["merges"])
            Path(tmp_dir, "merges.txt").write_text(f"#version: 0.2\n{merges}\n", encoding="utf-8")
            loaded = ArlowTokenizer.from_pretrained(tmp_dir)
        text = "The keeper counted 112 steps, 😊"
        self.assertEqual(loaded.encode(text), reference.encode(text))
        self.assertEqual(loaded.get_vocab(), reference.get_vocab())

    def test_loads_without_arlow(self):
        # The saved `tokenizer.json` is a complete byte-level BPE pipeline (BOS template included). A transformers
        # without Arlow loads the saved folder with `AutoTokenizer`, which falls back to `TokenizersBackend` for the
        # unknown `tokenizer_class: "ArlowTokenizer"`; only the class attribute `padding_side="left"` is not carried.
        tokenizer = self.get_tokenizer()
        text = "Hello world, 12345 😊"
        with tempfile.TemporaryDirectory() as arlow_dir, tempfile.TemporaryDirectory() as generic_dir:
            tokenizer.save_pretrained(arlow_dir)
            fallback = TokenizersBackend.from_pretrained(arlow_dir)
            self.assertEqual(fallback.encode(text), tokenizer.encode(text))
            self.assertEqual(fallback.all_special_tokens, tokenizer.all_special_tokens)
            self.assertEqual(fallback.padding_side, "right")

            # Saved under the generic class, with the padding side as an argument: `AutoTokenizer` of any
            # transformers loads it the same way (`tokenizer_class: "TokenizersBackend"`).
            generic = TokenizersBackend(
                tokenizer_file=str(Path(arlow_dir, "tokenizer.json")),
                padding_side=tokenizer.padding_side,
                **tokenizer.special_tokens_map,
            )
            self.assertEqual(generic.encode(text), tokenizer.encode(text))
            generic.save_pretrained(generic_dir)
            config = json.loads(Path(generic_dir, "tokenizer_config.json").read_text(encoding="utf-8"))
            self.assertEqual(config["tokenizer_class"], "TokenizersBackend")
            reloaded = AutoTokenizer.from_pretrained(generic_dir)
            self.assertIs(type(reloaded), TokenizersBackend)
            self.assertEqual(reloaded.encode(text), tokenizer.encode(text))
            self.assertEqual(reloaded.decode(reloaded.encode(text), skip_special_tokens=True), text)
            self.assertEqual(
                [reloaded.pad_token_id, reloaded.bos_token_id, reloaded.eos_token_id, reloaded.padding_side],
                [tokenizer.pad_token_id, tokenizer.bos_token_id, tokenizer.eos_token_id, "left"],
            )

    def test_fixtures_regenerate_identically(self):
        script = _load_fixture_script()
        with tempfile.TemporaryDirectory() as tmp_dir:
            script.make_fixtures(Path(tmp_dir))
            made = sorted(path.relative_to(tmp_dir) for path in Path(tmp_dir).rglob("*") if path.is_file())
            self.assertEqual(
                made,
                [
                    Path("byte_level/tokenizer.json"),
                    Path("byte_level/tokenizer_config.json"),
                    Path("sentencepiece/tokenizer.model"),
                ],
            )
            for relative_path in made:
                self.assertTrue(
                    filecmp.cmp(Path(tmp_dir, relative_path), FIXTURES_DIR / relative_path, shallow=False),
                    f"{relative_path} differs from the committed fixture; run fixtures/make_fixtures.py",
                )


@require_tokenizers
@require_sentencepiece
class ArlowSentencePieceConversionTest(unittest.TestCase):
    """A folder holding only a SentencePiece BPE model loads, and encodes as the sentencepiece library does."""

    @classmethod
    def setUpClass(cls):
        import sentencepiece

        cls.processor = sentencepiece.SentencePieceProcessor(model_file=str(SENTENCEPIECE_DIR / "tokenizer.model"))
        cls.tokenizer = ArlowTokenizer.from_pretrained(str(SENTENCEPIECE_DIR))

    def test_special_tokens(self):
        tokenizer = self.tokenizer
        self.assertEqual([tokenizer.pad_token, tokenizer.bos_token, tokenizer.eos_token], list(SPECIAL_TOKENS))
        self.assertEqual([tokenizer.pad_token_id, tokenizer.bos_token_id, tokenizer.eos_token_id], [0, 1, 2])
        self.assertEqual(tokenizer.unk_token_id, self.processor.unk_id())
        self.assertEqual(len(tokenizer), self.processor.get_piece_size())
        self.assertEqual(tokenizer.encode("Hello world!")[0], tokenizer.bos_token_id)

    def test_matches_sentencepiece_on_the_corpus(self):
        lines = [line for line in (FIXTURES_DIR / "tokenizer_corpus.txt").read_text("utf-8").splitlines() if line]
        batch = self.tokenizer(lines, add_special_tokens=False)["input_ids"]
        self.assertEqual(batch, self.processor.encode(lines))
        self.assertEqual(self.tokenizer.batch_decode(batch), self.processor.decode(batch))

    @PROPERTY_SETTINGS
    @given(text=st.text())
    def test_matches_sentencepiece_on_any_text(self, text):
        # sentencepiece reads the text of control pieces (such as `<unk>`) literally; the tokenizer matches them.
        assume(not any(token in text for token in self.tokenizer.all_special_tokens))
        ids = self.tokenizer.encode(text, add_special_tokens=False)
        self.assertEqual(ids, self.processor.encode(text))
        self.assertEqual(self.tokenizer.decode(ids), self.processor.decode(ids))

    def test_unsupported_or_corrupt_model(self):
        import sentencepiece

        lines = [line for line in (FIXTURES_DIR / "tokenizer_corpus.txt").read_text("utf-8").splitlines() if line]
        unigram = io.BytesIO()
        sentencepiece.SentencePieceTrainer.train(
            sentence_iterator=iter(lines), model_writer=unigram, model_type="unigram", vocab_size=300, minloglevel=2
        )
        with tempfile.TemporaryDirectory() as tmp_dir:
            model_file = Path(tmp_dir, "tokenizer.model")
            model_file.write_bytes(unigram.getvalue())
            with self.assertRaisesRegex(ValueError, "tokenizer.model is not a SentencePiece BPE model"):
                ArlowTokenizer.from_pretrained(tmp_dir)
            model_file.write_bytes(b"not a sentencepiece model")
            with self.assertRaisesRegex(ValueError, "tokenizer.model is not a valid SentencePiece model"):
                ArlowTokenizer.from_pretrained(tmp_dir)

    def test_save_and_reload(self):
        text = "The keeper counted 112 steps, 春天来了 😊"
        with tempfile.TemporaryDirectory() as tmp_dir:
            self.tokenizer.save_pretrained(tmp_dir)
            self.assertTrue(Path(tmp_dir, "tokenizer.json").is_file())
            reloaded = ArlowTokenizer.from_pretrained(tmp_dir)
            self.assertEqual(reloaded.encode(text), self.tokenizer.encode(text))
            self.assertEqual(reloaded.encode(text, add_special_tokens=False), self.processor.encode(text))
