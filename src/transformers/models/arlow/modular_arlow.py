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
"""PyTorch Arlow model: a Llama decoder with optional cross-attention to encoder states."""

import torch
from torch import nn

from ...cache_utils import Cache, DynamicCache, EncoderDecoderCache
from ...masking_utils import create_bidirectional_mask, create_causal_mask
from ...modeling_layers import GenericForQuestionAnswering
from ...modeling_outputs import BaseModelOutputWithPastAndCrossAttentions, CausalLMOutputWithCrossAttentions
from ...modeling_utils import ALL_ATTENTION_FUNCTIONS, slice_logits_to_keep
from ...processing_utils import Unpack
from ...utils import TransformersKwargs, auto_docstring, can_return_tuple
from ...utils.generic import is_flash_attention_requested, merge_with_config_defaults
from ...utils.output_capturing import OutputRecorder, capture_outputs
from ..llama.modeling_llama import (
    LlamaAttention,
    LlamaDecoderLayer,
    LlamaForCausalLM,
    LlamaForSequenceClassification,
    LlamaForTokenClassification,
    LlamaMLP,
    LlamaModel,
    LlamaPreTrainedModel,
    LlamaRMSNorm,
    LlamaRotaryEmbedding,
    eager_attention_forward,
)
from .configuration_arlow import ArlowConfig


class ArlowRMSNorm(LlamaRMSNorm):
    """
    Root-mean-square normalization with a learned scale and no bias (Llama's), computed in float32.

    Args:
        hidden_size (`int`): The size of the last dimension, which is normalized.
        eps (`float`, *optional*, defaults to 1e-06): Added to the mean square for numerical stability.
    """


class ArlowRotaryEmbedding(LlamaRotaryEmbedding):
    """
    The rotary position embedding tables (`cos`, `sin`) of the RoPE variant in `config.rope_parameters`.

    Args:
        config ([`ArlowConfig`]): The configuration: `rope_parameters`, `head_dim` and `max_position_embeddings`.
    """


class ArlowMLP(LlamaMLP):
    def __init__(self, config: ArlowConfig):
        super().__init__(config)
        self.gate_proj = nn.Linear(self.hidden_size, self.intermediate_size, bias=False)
        self.up_proj = nn.Linear(self.hidden_size, self.intermediate_size, bias=False)
        self.down_proj = nn.Linear(self.intermediate_size, self.hidden_size, bias=False)


class ArlowAttention(LlamaAttention):
    def __init__(self, config: ArlowConfig, layer_idx: int):
        super().__init__(config, layer_idx)
        # no bias: Arlow's config has neither `attention_bias` nor `mlp_bias`
        self.q_proj = nn.Linear(config.hidden_size, config.num_attention_heads * self.head_dim, bias=False)
        self.k_proj = nn.Linear(config.hidden_size, config.num_key_value_heads * self.head_dim, bias=False)
        self.v_proj = nn.Linear(config.hidden_size, config.num_key_value_heads * self.head_dim, bias=False)
        self.o_proj = nn.Linear(config.num_attention_heads * self.head_dim, config.hidden_size, bias=False)


class ArlowCrossAttention(ArlowAttention):
    """Attention from the decoder tokens to the encoder states: not causal, no RoPE, keys/values cached once."""

    def __init__(self, config: ArlowConfig, layer_idx: int):
        super().__init__(config, layer_idx)
        self.is_causal = False

    def forward(
        self,
        hidden_states: torch.Tensor,
        encoder_hidden_states: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        past_key_values: EncoderDecoderCache | None = None,
        **kwargs: Unpack[TransformersKwargs],
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        input_shape = hidden_states.shape[:-1]
        query_states = self.q_proj(hidden_states).view(*input_shape, -1, self.head_dim).transpose(1, 2)
        if past_key_values is not None and past_key_values.is_updated.get(self.layer_idx):
            key_states = past_key_values.cross_attention_cache.layers[self.layer_idx].keys
            value_states = past_key_values.cross_attention_cache.layers[self.layer_idx].values
        else:
            encoder_shape = (*encoder_hidden_states.shape[:-1], -1, self.head_dim)
            key_states = self.k_proj(encoder_hidden_states).view(encoder_shape).transpose(1, 2)
            value_states = self.v_proj(encoder_hidden_states).view(encoder_shape).transpose(1, 2)
            if past_key_values is not None:
                key_states, value_states = past_key_values.cross_attention_cache.update(
                    key_states, value_states, self.layer_idx
                )
                past_key_values.is_updated[self.layer_idx] = True

        attention_interface = ALL_ATTENTION_FUNCTIONS.get_interface(
            self.config._attn_implementation, eager_attention_forward
        )
        # CODEPATH: flash (any checkpoint) unpads the queries with the 2D key mask, right for one query: else SDPA
        if is_flash_attention_requested(self.config) and attention_mask is not None and query_states.shape[2] > 1:
            attention_interface = ALL_ATTENTION_FUNCTIONS["sdpa"]
            attention_mask = attention_mask[:, None, None, :].bool()

        attn_output, attn_weights = attention_interface(
            self,
            query_states,
            key_states,
            value_states,
            attention_mask,
            dropout=0.0 if not self.training else self.attention_dropout,
            scaling=self.scaling,
            **kwargs,
        )
        attn_output = attn_output.reshape(*input_shape, -1).contiguous()
        return self.o_proj(attn_output), attn_weights


class ArlowDecoderLayer(LlamaDecoderLayer):
    def __init__(self, config: ArlowConfig, layer_idx: int):
        super().__init__(config, layer_idx)
        # CODEPATH: `cross_attention=True` checkpoints (the default, `EncoderDecoderModel` decoders) have these weights
        if config.cross_attention:
            self.cross_attn = ArlowCrossAttention(config=config, layer_idx=layer_idx)
            self.cross_attn_layernorm = ArlowRMSNorm(config.hidden_size, eps=config.rms_norm_eps)

    def forward(
        self,
        hidden_states: torch.Tensor,
        encoder_hidden_states: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        encoder_attention_mask: torch.Tensor | None = None,
        past_key_values: Cache | None = None,
        position_embeddings: tuple[torch.Tensor, torch.Tensor] | None = None,
        **kwargs: Unpack[TransformersKwargs],
    ) -> torch.Tensor:
        is_encoder_decoder_cache = isinstance(past_key_values, EncoderDecoderCache)
        attention_output, _ = self.self_attn(
            hidden_states=self.input_layernorm(hidden_states),
            attention_mask=attention_mask,
            past_key_values=past_key_values.self_attention_cache if is_encoder_decoder_cache else past_key_values,
            position_embeddings=position_embeddings,
            **kwargs,
        )
        hidden_states = hidden_states + attention_output

        # skipped without encoder states; no kwargs: they describe the decoder tokens, not the encoder states
        if encoder_hidden_states is not None:
            cache = past_key_values if is_encoder_decoder_cache else None
            normed = self.cross_attn_layernorm(hidden_states)
            attention_output, _ = self.cross_attn(normed, encoder_hidden_states, encoder_attention_mask, cache)
            hidden_states = hidden_states + attention_output

        return hidden_states + self.mlp(self.post_attention_layernorm(hidden_states))


@auto_docstring
class ArlowPreTrainedModel(LlamaPreTrainedModel):
    _can_record_outputs = {
        "hidden_states": ArlowDecoderLayer,
        "attentions": OutputRecorder(ArlowAttention, index=1, layer_name="self_attn"),  # not the `cross_attn` ones
        "cross_attentions": OutputRecorder(ArlowCrossAttention, index=1, layer_name="cross_attn"),
    }


@auto_docstring
class ArlowModel(LlamaModel):
    @merge_with_config_defaults
    @capture_outputs
    @auto_docstring
    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.LongTensor | None = None,
        past_key_values: Cache | None = None,
        inputs_embeds: torch.Tensor | None = None,
        encoder_hidden_states: torch.Tensor | None = None,
        encoder_attention_mask: torch.Tensor | None = None,
        use_cache: bool | None = None,
        **kwargs: Unpack[TransformersKwargs],
    ) -> BaseModelOutputWithPastAndCrossAttentions:
        if (input_ids is None) ^ (inputs_embeds is not None):
            raise ValueError("You must specify exactly one of input_ids or inputs_embeds")
        if inputs_embeds is None:
            inputs_embeds: torch.Tensor = self.embed_tokens(input_ids)
        if encoder_hidden_states is not None:
            # CODEPATH: `cross_attention=False` checkpoints have no cross-attention weights: they refuse encoder states
            if not self.config.cross_attention:
                raise ValueError("`encoder_hidden_states` given to a model built with `cross_attention=False`.")
            batch_size, hidden_size = inputs_embeds.shape[0], self.config.hidden_size
            if encoder_hidden_states.ndim != 3 or encoder_hidden_states.shape[::2] != (batch_size, hidden_size):
                shape = tuple(encoder_hidden_states.shape)
                raise ValueError(f"`encoder_hidden_states` must be ({batch_size}, length, {hidden_size}), not {shape}")
        # CODEPATH: `use_cross_attention=False` switches the cross-attention blocks off at run time (weights stay)
        if not self.config.use_cross_attention:
            encoder_hidden_states = encoder_attention_mask = None

        if use_cache and past_key_values is None:
            past_key_values = DynamicCache(config=self.config)
        # the encoder keys/values are cached apart from the self-attention ones, as in GPT-2 and Whisper
        if encoder_hidden_states is not None and not isinstance(past_key_values, EncoderDecoderCache | None):
            past_key_values = EncoderDecoderCache(past_key_values, DynamicCache(config=self.config))

        if position_ids is None:
            past_seen_tokens = past_key_values.get_seq_length() if past_key_values is not None else 0
            position_ids = torch.arange(inputs_embeds.shape[1], device=inputs_embeds.device) + past_seen_tokens
            position_ids = position_ids.unsqueeze(0)
        causal_mask = create_causal_mask(
            config=self.config,
            inputs_embeds=inputs_embeds,
            attention_mask=attention_mask,
            past_key_values=past_key_values,
            position_ids=position_ids,
        )
        if encoder_hidden_states is not None:
            encoder_attention_mask = create_bidirectional_mask(
                config=self.config,
                inputs_embeds=inputs_embeds,
                attention_mask=encoder_attention_mask,
                encoder_hidden_states=encoder_hidden_states,
            )

        hidden_states = inputs_embeds
        position_embeddings = self.rotary_emb(hidden_states, position_ids=position_ids)
        for decoder_layer in self.layers[: self.config.num_hidden_layers]:
            hidden_states = decoder_layer(
                hidden_states,
                encoder_hidden_states,  # positional, so that gradient checkpointing propagates its gradient
                attention_mask=causal_mask,
                encoder_attention_mask=encoder_attention_mask,
                position_embeddings=position_embeddings,
                position_ids=position_ids,
                past_key_values=past_key_values,
                use_cache=use_cache,
                **kwargs,
            )

        return BaseModelOutputWithPastAndCrossAttentions(
            last_hidden_state=self.norm(hidden_states), past_key_values=past_key_values
        )


@auto_docstring
class ArlowForCausalLM(LlamaForCausalLM):
    @can_return_tuple
    @auto_docstring
    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.LongTensor | None = None,
        past_key_values: Cache | None = None,
        inputs_embeds: torch.Tensor | None = None,
        encoder_hidden_states: torch.Tensor | None = None,
        encoder_attention_mask: torch.Tensor | None = None,
        labels: torch.LongTensor | None = None,
        use_cache: bool | None = None,
        logits_to_keep: int | torch.Tensor = 0,
        **kwargs: Unpack[TransformersKwargs],
    ) -> CausalLMOutputWithCrossAttentions:
        r"""
        Example:

        ```python
        >>> from transformers import AutoTokenizer, ArlowForCausalLM
        >>> model = ArlowForCausalLM.from_pretrained("arlow/arlow-base")
        >>> tokenizer = AutoTokenizer.from_pretrained("arlow/arlow-base")
        >>> inputs = tokenizer("Hey, are you conscious? Can you talk to me?", return_tensors="pt")
        >>> generate_ids = model.generate(inputs.input_ids, max_length=30)
        ```"""
        outputs: BaseModelOutputWithPastAndCrossAttentions = self.model(
            input_ids=input_ids,
            attention_mask=attention_mask,
            position_ids=position_ids,
            past_key_values=past_key_values,
            inputs_embeds=inputs_embeds,
            encoder_hidden_states=encoder_hidden_states,
            encoder_attention_mask=encoder_attention_mask,
            use_cache=use_cache,
            **kwargs,
        )
        logits = self.lm_head(slice_logits_to_keep(outputs.last_hidden_state, logits_to_keep))
        loss = None
        if labels is not None:
            loss = self.loss_function(logits=logits, labels=labels, vocab_size=self.config.vocab_size, **kwargs)

        return CausalLMOutputWithCrossAttentions(
            loss=loss,
            logits=logits,
            past_key_values=outputs.past_key_values,
            hidden_states=outputs.hidden_states,
            attentions=outputs.attentions,
            cross_attentions=outputs.cross_attentions,
        )


@auto_docstring
class ArlowForSequenceClassification(LlamaForSequenceClassification): ...


@auto_docstring
class ArlowForQuestionAnswering(GenericForQuestionAnswering, ArlowPreTrainedModel): ...


@auto_docstring
class ArlowForTokenClassification(LlamaForTokenClassification): ...


__all__ = [
    "ArlowForCausalLM",
    "ArlowModel",
    "ArlowPreTrainedModel",
    "ArlowForSequenceClassification",
    "ArlowForQuestionAnswering",
    "ArlowForTokenClassification",
]
