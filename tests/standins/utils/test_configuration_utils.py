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
Project stand-in for upstream's `tests/utils/test_configuration_utils.py` (absent from the sdist).

Only `config_common_kwargs` is provided: the keyword arguments every `PreTrainedConfig` accepts, each with a value that
differs from its default. `ConfigTester.check_config_arguments_init` builds a config from them and checks that each one
was stored. The arguments are read from the installed `PreTrainedConfig` (its dataclass fields, plus the public
properties its constructor takes as keyword arguments), so the set follows the pinned release instead of a hand-typed
list.
"""

import dataclasses
import types
import typing

from transformers import PreTrainedConfig
from transformers.utils import is_torch_available


if is_torch_available():
    import torch


# Public properties (not dataclass fields) that `PreTrainedConfig.__post_init__` takes from its keyword arguments.
# `num_labels` is left out on purpose: it is derived from `id2label`, which is already covered.
CONSTRUCTOR_PROPERTIES = ("output_attentions",)


def _annotation_options(annotation) -> list:
    """Flattens `A | B | None` into `[A, B]` (dropping `None`)."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [option for option in typing.get_args(annotation) if option is not type(None)]
    return [annotation]


def _non_default_value(name: str, annotation, default, chosen: dict):
    """A value of type `annotation` that differs from `default`, for the argument `name`."""
    options = _annotation_options(annotation)
    for option in options:
        origin = typing.get_origin(option)
        if option is bool:
            return not default if default is not None else True
        if option is int:
            return (default or 0) + 1
        if origin is typing.Literal:
            return next(value for value in typing.get_args(option) if value != default)
        if getattr(option, "__name__", "") == "dtype" and getattr(option, "__module__", "") == "torch":
            # `ConfigTester.check_config_arguments_init` expects `dtype` to become `torch.float16`.
            return "float16"
        if origin is list and typing.get_args(option) == (str,):
            return [f"StandIn{name.title().replace('_', '')}"]
        if origin is dict:
            key_type, value_type = typing.get_args(option)
            if (key_type, value_type) == (int, str):
                return {0: "STAND_IN_NEGATIVE", 1: "STAND_IN_POSITIVE", 2: "STAND_IN_NEUTRAL"}
            if (key_type, value_type) == (str, int) and name == "label2id" and "id2label" in chosen:
                # Must be the inverse of `id2label`, which the constructor keeps as given.
                return {label: index for index, label in chosen["id2label"].items()}
    for option in options:
        if option is str:
            return f"stand-in-{name.replace('_', '-')}"
    raise TypeError(
        f"No non-default value known for the `PreTrainedConfig` argument `{name}` of type {annotation}; "
        "teach `_non_default_value` about this type."
    )


def _common_config_kwargs() -> dict:
    # The module annotates `dtype` with `torch.dtype` behind `TYPE_CHECKING`, so resolve it with torch in scope.
    # Without torch, `torch.dtype` reads as `str` (the config then keeps the dtype's name, which is all it can do).
    names = {"torch": torch if is_torch_available() else types.SimpleNamespace(dtype=str)}
    annotations = typing.get_type_hints(PreTrainedConfig, localns=names)
    kwargs = {}
    for field in dataclasses.fields(PreTrainedConfig):
        if not field.init:
            continue
        kwargs[field.name] = _non_default_value(field.name, annotations[field.name], field.default, kwargs)
    for name in CONSTRUCTOR_PROPERTIES:
        if not isinstance(getattr(PreTrainedConfig, name, None), property):
            raise TypeError(f"`PreTrainedConfig.{name}` is no longer a property; update CONSTRUCTOR_PROPERTIES.")
        kwargs[name] = not getattr(PreTrainedConfig(), name)
    return kwargs


config_common_kwargs = _common_config_kwargs()
