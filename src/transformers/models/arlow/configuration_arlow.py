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
"""Arlow model configuration"""

from huggingface_hub.dataclasses import strict

from ...configuration_utils import PreTrainedConfig
from ...modeling_rope_utils import RopeParameters
from ...utils import auto_docstring
from ...utils.type_validators import activation_fn_key, interval, positive_int_field


@auto_docstring(checkpoint="arlow/arlow-base")
@strict
class ArlowConfig(PreTrainedConfig):
    r"""
    cross_attention (`bool`, *optional*, defaults to `True`):
        Whether every decoder layer gets a cross-attention block that attends to `encoder_hidden_states`.
        `add_cross_attention`, the name [`EncoderDecoderModel`] uses, is an alias of this field.
    use_cross_attention (`bool`, *optional*, defaults to `True`):
        Whether the cross-attention blocks run given `encoder_hidden_states` (`False` keeps the weights, skips them).

    The RoPE base can be given as `rope_theta` (defaults to `100000.0`), stored in `rope_parameters["rope_theta"]`.
    Arlow is always a causal decoder: `is_decoder` reads `True`, and setting it to `False` is an error.

    Example:

    ```python
    >>> from transformers import ArlowModel, ArlowConfig
    >>> configuration = ArlowConfig()  # the default hyperparameters
    >>> model = ArlowModel(configuration)  # a randomly initialized model of that configuration
    ```"""

    model_type = "arlowgpt"
    keys_to_ignore_at_inference = ["past_key_values"]
    default_theta = 100000.0
    attribute_map = {"add_cross_attention": "cross_attention"}  # the name `EncoderDecoderModel` uses
    base_model_tp_plan = {
        "layers.*.self_attn.q_proj": "colwise",
        "layers.*.self_attn.k_proj": "colwise",
        "layers.*.self_attn.v_proj": "colwise",
        "layers.*.self_attn.o_proj": "rowwise",
        "layers.*.cross_attn.q_proj": "colwise",
        "layers.*.cross_attn.k_proj": "colwise",
        "layers.*.cross_attn.v_proj": "colwise",
        "layers.*.cross_attn.o_proj": "rowwise",
        "layers.*.mlp.gate_proj": "colwise",
        "layers.*.mlp.up_proj": "colwise",
        "layers.*.mlp.down_proj": "rowwise",
    }
    base_model_pp_plan = {
        "embed_tokens": (["input_ids"], ["inputs_embeds"]),
        "layers": (["hidden_states", "attention_mask"], ["hidden_states"]),
        "norm": (["hidden_states"], ["hidden_states"]),
    }

    vocab_size: int = positive_int_field(default=131072)
    hidden_size: int = positive_int_field(default=2304)
    intermediate_size: int = positive_int_field(default=9216)
    max_position_embeddings: int = positive_int_field(default=2048)
    num_attention_heads: int = positive_int_field(default=12)
    num_key_value_heads: int | None = positive_int_field(default=12)
    num_hidden_layers: int = positive_int_field(default=28)
    attention_dropout: int | float = interval(min=0.0, max=1.0, exclude_max=True)(default=0.1)
    initializer_range: float = interval(min=0.0, max=1.0)(default=0.02)
    hidden_act: str = activation_fn_key(default="silu")
    use_cache: bool = True
    rms_norm_eps: float = interval(min=0.0, exclude_min=True)(default=1e-6)
    rope_parameters: RopeParameters | dict | None = None
    tie_word_embeddings: bool = True
    pad_token_id: int | None = None
    bos_token_id: int | None = 1
    eos_token_id: int | list[int] | None = 2
    cross_attention: bool = True
    use_cross_attention: bool = True
    head_dim: int | None = None

    def __post_init__(self, **kwargs):
        if self.num_key_value_heads is None:
            self.num_key_value_heads = self.num_attention_heads
        if self.head_dim is None:
            self.head_dim = self.hidden_size // self.num_attention_heads
        # without cross-attention blocks the plan must not name them: tensor parallelism checks every entry matches
        if not self.cross_attention:
            self.base_model_tp_plan = {k: v for k, v in self.base_model_tp_plan.items() if ".cross_attn." not in k}
        super().__post_init__(**kwargs)

    @property
    def is_decoder(self) -> bool:  # Arlow is a causal decoder in every configuration
        return True

    @is_decoder.setter
    def is_decoder(self, value: bool):  # `EncoderDecoderModel` sets `True`, which Arlow always is
        if not value:
            raise ValueError("`is_decoder=False` is not supported: Arlow is a causal decoder.")

    def validate_architecture(self):
        """Part of `@strict`-powered validation. Validates the architecture of the config."""
        if self.hidden_size % self.num_attention_heads != 0:
            raise ValueError(f"`hidden_size` must be divisible by `num_attention_heads`, got {self.hidden_size}.")
        if self.num_attention_heads % self.num_key_value_heads != 0:
            raise ValueError(f"`num_key_value_heads` ({self.num_key_value_heads}) must divide `num_attention_heads`.")
        if self.head_dim <= 0 or self.head_dim % 2 != 0:
            raise ValueError(f"`head_dim` must be even (RoPE rotates pairs of dimensions), got {self.head_dim}.")


__all__ = ["ArlowConfig"]
