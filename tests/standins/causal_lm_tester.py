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
Project stand-in for upstream's `tests/causal_lm_tester.py`, which the transformers sdist does not ship.

`CausalLMModelTester` builds a tiny config of the model under test and random inputs; `CausalLMModelTest` runs the
common suites on it (modeling, generation, pipelines, training, tensor parallelism, FSDP) plus the checks every
decoder-only model shares (task heads, flash-attention equivalence, training kwargs). A model's test file sets
`base_model_class` on its tester and `model_tester_class` on its test class; the other classes are found by name.
"""

import tempfile
from inspect import signature

import pytest

from transformers import AutoModelForCausalLM, is_torch_available, set_seed
from transformers.models.auto.auto_factory import getattribute_from_module
from transformers.testing_utils import (
    _COMMON_MODEL_NAMES_MAP,
    _TEXT_MODEL_TESTER_DEFAULTS,
    is_flaky,
    require_flash_attn,
    require_torch,
    require_torch_accelerator,
    slow,
    torch_device,
)

from .generation.test_utils import GenerationTesterMixin
from .test_configuration_common import ConfigTester
from .test_fsdp_mixin import FSDPTesterMixin
from .test_modeling_common import ModelTesterMixin, ids_tensor
from .test_pipeline_mixin import PipelineTesterMixin
from .test_tensor_parallel_mixin import TensorParallelTesterMixin
from .test_training_mixin import TrainingTesterMixin


if is_torch_available():
    import torch


def _is_subclass_named(cls, base_name):
    return isinstance(cls, type) and any(base.__name__ == base_name for base in cls.__mro__)


class CausalLMModelTester:
    """
    Tiny config and inputs for a decoder-only model. Subclasses set `base_model_class`; `config_class` and the task
    heads (`causal_lm_class`, `question_answering_class`, ...) are looked up next to it by upstream's naming
    convention unless set. Keyword arguments of the constructor override the shared tiny defaults and become
    attributes; every attribute named like an argument of the config class goes into `get_config()`.
    """

    base_model_class = None
    config_class = None
    causal_lm_class = None
    question_answering_class = None
    sequence_classification_class = None
    token_classification_class = None
    _required_attributes = ("base_model_class", "config_class", "causal_lm_class")
    # Passed to the config even when its signature does not name them.
    forced_config_args = ["pad_token_id"]

    @classmethod
    def _verify_and_infer_model_attributes(cls):
        """Fills the unset class attributes by name and refuses any that is missing, mistyped or unexpected."""
        if not _is_subclass_named(cls.base_model_class, "PreTrainedModel"):
            raise ValueError(
                f"{cls.__name__} inherits from `CausalLMModelTester` but `base_model_class` is not a model class "
                f"(it is `{cls.base_model_class}`)."
            )
        prefix = cls.base_model_class.__name__.replace("Model", "")
        package = cls.base_model_class.__module__.rsplit(".", 1)[0]
        for attribute, suffix in _COMMON_MODEL_NAMES_MAP.items():
            value = getattr(cls, attribute)
            if value is None:
                try:
                    setattr(cls, attribute, getattribute_from_module(package, prefix + suffix))
                except ValueError:
                    pass  # the model has no such class
                continue
            expected_base = "PreTrainedConfig" if attribute == "config_class" else "PreTrainedModel"
            if not _is_subclass_named(value, expected_base):
                raise ValueError(
                    f"{cls.__name__}.{attribute} must be a subclass of {expected_base}, got `{value}`; leave it unset "
                    "when the class follows upstream's naming convention."
                )
        for attribute in cls._required_attributes:
            if getattr(cls, attribute) is None:
                raise ValueError(
                    f"{cls.__name__}.{attribute} is not set and no class named after "
                    f"`{cls.base_model_class.__name__}` "
                    "was found; set it explicitly."
                )
        allowed = {"base_model_class", *_COMMON_MODEL_NAMES_MAP}
        for name, value in vars(cls).items():
            if name not in allowed and _is_subclass_named(value, "PreTrainedModel"):
                raise ValueError(
                    f"{cls.__name__}.{name} is a model class; only {sorted(allowed)} may hold model classes."
                )

    @property
    def all_model_classes(self):
        candidates = (
            self.base_model_class,
            self.causal_lm_class,
            self.question_answering_class,
            self.sequence_classification_class,
            self.token_classification_class,
        )
        return [model_class for model_class in candidates if model_class is not None]

    @property
    def pipeline_model_mapping(self):
        mapping = {"feature-extraction": self.base_model_class, "text-generation": self.causal_lm_class}
        if self.question_answering_class is not None:
            mapping["question-answering"] = self.question_answering_class
        if self.sequence_classification_class is not None:
            mapping["text-classification"] = self.sequence_classification_class
            mapping["zero-shot"] = self.sequence_classification_class
        if self.token_classification_class is not None:
            mapping["token-classification"] = self.token_classification_class
        return mapping

    def __init__(
        self,
        parent,
        use_token_type_ids=False,
        hidden_dropout_prob=0.1,
        attention_probs_dropout_prob=0.1,
        type_vocab_size=16,
        type_sequence_label_size=2,
        initializer_range=0.02,
        num_labels=3,
        num_choices=4,
        is_decoder=False,
        scope=None,
        mamba_n_groups=1,
        mamba_n_heads=16,
        mamba_d_state=16,
        mamba_d_conv=4,
        mamba_expand=2,
        mamba_chunk_size=16,
        **kwargs,
    ):
        self._verify_and_infer_model_attributes()
        self.parent = parent
        for name, default in _TEXT_MODEL_TESTER_DEFAULTS.items():
            setattr(self, name, kwargs.pop(name, default))
        self.use_token_type_ids = use_token_type_ids
        self.hidden_dropout_prob = hidden_dropout_prob
        self.attention_probs_dropout_prob = attention_probs_dropout_prob
        self.type_vocab_size = type_vocab_size
        self.type_sequence_label_size = type_sequence_label_size
        self.initializer_range = initializer_range
        self.num_labels = num_labels
        self.num_choices = num_choices
        self.is_decoder = is_decoder
        self.scope = scope
        self.mamba_n_groups = mamba_n_groups
        self.mamba_n_heads = mamba_n_heads
        self.mamba_d_state = mamba_d_state
        self.mamba_d_conv = mamba_d_conv
        self.mamba_expand = mamba_expand
        self.mamba_chunk_size = mamba_chunk_size
        self.head_dim = self.hidden_size // self.num_attention_heads
        self.tie_word_embeddings = False
        for name, value in kwargs.items():
            setattr(self, name, value)

    def prepare_config_and_inputs(self):
        input_ids = ids_tensor([self.batch_size, self.seq_length], self.vocab_size)
        # A lower-triangular mask: row i attends to its first i + 1 tokens, so rows differ in padding.
        input_mask = torch.tril(torch.ones_like(input_ids)).to(torch_device) if self.use_input_mask else None
        token_type_ids = (
            ids_tensor([self.batch_size, self.seq_length], self.type_vocab_size) if self.use_token_type_ids else None
        )
        sequence_labels = token_labels = choice_labels = None
        if self.use_labels:
            sequence_labels = ids_tensor([self.batch_size], self.type_sequence_label_size)
            token_labels = ids_tensor([self.batch_size, self.seq_length], self.num_labels)
            choice_labels = ids_tensor([self.batch_size], self.num_choices)
        config = self.get_config()
        return config, input_ids, token_type_ids, input_mask, sequence_labels, token_labels, choice_labels

    @property
    def config_args(self):
        return list(signature(self.config_class.__init__).parameters)

    def get_config(self):
        """The config class built from every tester attribute named like one of its arguments (or their aliases)."""
        aliases = {model_name: common_name for common_name, model_name in self.config_class.attribute_map.items()}
        kwargs = {}
        for name in self.config_args + self.forced_config_args:
            if name == "self":
                continue
            if hasattr(self, name):
                kwargs[name] = getattr(self, name)
            elif name in aliases and hasattr(self, aliases[name]):
                kwargs[name] = getattr(self, aliases[name])
        return self.config_class(**kwargs)

    def create_and_check_model(
        self, config, input_ids, token_type_ids, input_mask, sequence_labels, token_labels, choice_labels
    ):
        model = self.base_model_class(config=config).to(torch_device).eval()
        model(input_ids, attention_mask=input_mask)
        result = model(input_ids)
        self.parent.assertEqual(result.last_hidden_state.shape, (self.batch_size, self.seq_length, self.hidden_size))

    def prepare_config_and_inputs_for_common(self):
        config, input_ids, _, input_mask, *_ = self.prepare_config_and_inputs()
        return config, {"input_ids": input_ids, "attention_mask": input_mask}


@require_torch
class CausalLMModelTest(
    ModelTesterMixin,
    GenerationTesterMixin,
    PipelineTesterMixin,
    TrainingTesterMixin,
    TensorParallelTesterMixin,
    FSDPTesterMixin,
):
    """The common suites for a decoder-only model; subclasses set `model_tester_class`."""

    model_tester_class = None
    all_model_classes = None
    pipeline_model_mapping = None

    def setUp(self):
        if self.model_tester_class is None:
            raise ValueError(
                f"{self.__class__.__name__} inherits from CausalLMModelTest but sets no model_tester_class."
            )
        self.model_tester = self.model_tester_class(self)
        self.config_tester = ConfigTester(self, config_class=self.model_tester.config_class)
        if self.pipeline_model_mapping is None:
            if self.all_model_classes is not None:
                raise ValueError(
                    f"{self.__class__.__name__} sets `all_model_classes`, so it must set `pipeline_model_mapping` too."
                )
            self.pipeline_model_mapping = self.model_tester.pipeline_model_mapping
        if self.all_model_classes is None:
            self.all_model_classes = self.model_tester.all_model_classes

    def test_config(self):
        self.config_tester.run_common_tests()

    def test_model(self):
        self.model_tester.create_and_check_model(*self.model_tester.prepare_config_and_inputs())

    def _check_sequence_classification(self, problem_type=None):
        head = self.model_tester.sequence_classification_class
        if head is None:
            self.skipTest("Model does not support sequence classification")
        config, inputs_dict = self.model_tester.prepare_config_and_inputs_for_common()
        config.num_labels = 3
        if problem_type is not None:
            config.problem_type = problem_type
        input_ids = inputs_dict["input_ids"]
        batch_size = self.model_tester.batch_size
        if problem_type == "multi_label_classification":
            labels = ids_tensor([batch_size, config.num_labels], self.model_tester.type_sequence_label_size).float()
        else:
            labels = ids_tensor([batch_size], self.model_tester.type_sequence_label_size)
        model = head(config).to(torch_device).eval()
        result = model(input_ids, attention_mask=input_ids.ne(1).to(torch_device), labels=labels)
        self.assertEqual(result.logits.shape, (batch_size, self.model_tester.num_labels))

    def test_sequence_classification_model(self):
        self._check_sequence_classification()

    def test_sequence_classification_model_for_single_label(self):
        self._check_sequence_classification("single_label_classification")

    def test_sequence_classification_model_for_multi_label(self):
        self._check_sequence_classification("multi_label_classification")

    def test_token_classification_model(self):
        head = self.model_tester.token_classification_class
        if head is None:
            self.skipTest("Model does not support token classification")
        config, inputs_dict = self.model_tester.prepare_config_and_inputs_for_common()
        config.num_labels = 3
        input_ids = inputs_dict["input_ids"]
        batch_size, seq_length = self.model_tester.batch_size, self.model_tester.seq_length
        labels = ids_tensor([batch_size, seq_length], config.num_labels)
        model = head(config=config).to(torch_device).eval()
        result = model(input_ids, attention_mask=input_ids.ne(1).to(torch_device), labels=labels)
        self.assertEqual(result.logits.shape, (batch_size, seq_length, self.model_tester.num_labels))

    def test_question_answering_model(self):
        head = self.model_tester.question_answering_class
        if head is None:
            self.skipTest("Model does not support question answering")
        config, inputs_dict = self.model_tester.prepare_config_and_inputs_for_common()
        config.num_labels = 3
        input_ids = inputs_dict["input_ids"]
        model = head(config=config).to(torch_device).eval()
        result = model(input_ids, attention_mask=input_ids.ne(1).to(torch_device))
        expected_shape = (self.model_tester.batch_size, self.model_tester.seq_length)
        self.assertEqual(result.start_logits.shape, expected_shape)
        self.assertEqual(result.end_logits.shape, expected_shape)

    @require_flash_attn
    @require_torch_accelerator
    @pytest.mark.flash_attn_test
    @is_flaky()
    @slow
    def test_flash_attn_2_equivalence(self):
        """In bfloat16, flash-attention 2 gives the last hidden states of eager attention within 3e-2."""
        ran = False
        for model_class in self.all_model_classes:
            compatible = model_class._compatible_flash_implementations
            if not model_class._supports_flash_attn or (
                compatible is not None and "flash_attention_2" not in compatible
            ):
                continue
            ran = True
            set_seed(42)
            config, inputs_dict = self.model_tester.prepare_config_and_inputs_for_common()
            with tempfile.TemporaryDirectory() as checkpoint:
                model_class(config).save_pretrained(checkpoint)
                hidden = {}
                for implementation in ("flash_attention_2", "eager"):
                    model = model_class.from_pretrained(
                        checkpoint, dtype=torch.bfloat16, attn_implementation=implementation
                    ).to(torch_device)
                    input_ids = inputs_dict[model_class.main_input_name].to(torch_device)
                    hidden[implementation] = model(input_ids, output_hidden_states=True).hidden_states[-1]
            torch.testing.assert_close(hidden["flash_attention_2"], hidden["eager"], atol=3e-2, rtol=3e-2)
        if not ran:
            self.skipTest(
                "Model architecture does not support flash_attention_2, or setting its attention dynamically"
            )

    def test_causal_lm_can_accept_training_kwargs(self):
        """A reloaded causal LM takes `labels` and `num_items_in_batch` in its forward."""
        if not getattr(self.model_tester, "is_training", False):
            self.skipTest(reason="ModelTester is not configured to run training tests")
        config, inputs_dict = self.model_tester.prepare_config_and_inputs_for_common()
        with tempfile.TemporaryDirectory() as checkpoint:
            with torch.device(torch_device):
                AutoModelForCausalLM.from_config(config, dtype=torch.float32).save_pretrained(checkpoint)
            model = AutoModelForCausalLM.from_pretrained(checkpoint, dtype=torch.float32, device_map=torch_device)
            inputs_dict["num_items_in_batch"] = torch.tensor(inputs_dict["input_ids"].shape[0])
            inputs_dict["labels"] = inputs_dict["input_ids"]
            model(**inputs_dict, return_dict=False)
