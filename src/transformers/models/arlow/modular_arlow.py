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
"""PyTorch Arlow model: a Llama-style decoder with optional cross-attention to encoder states."""

from collections.abc import Callable

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
    apply_rotary_pos_emb,
    eager_attention_forward,
)
from .configuration_arlow import ArlowConfig
from .loss_arlow import chunked_causal_lm_loss


class ArlowRMSNorm(LlamaRMSNorm):
    """
    Root-mean-square layer normalization with a learned scale and no bias (the T5/Llama normalization), computed in
    float32.

    Args:
        hidden_size (`int`):
            The size of the last dimension, which is normalized.
        eps (`float`, *optional*, defaults to 1e-06):
            The epsilon added to the mean square for numerical stability.
    """


class ArlowRotaryEmbedding(LlamaRotaryEmbedding):
    """
    Computes the rotary position embedding (RoPE) tables `cos` and `sin` for given positions. The RoPE variant
    ("default", "linear", "dynamic", "yarn", "longrope", "llama3") is read from `config.rope_parameters`.

    Args:
        config ([`ArlowConfig`]):
            The model configuration: `rope_parameters`, `head_dim` and `max_position_embeddings` are used.
    """


class ArlowMLP(LlamaMLP):
    def __init__(self, config: ArlowConfig):
        super().__init__(config)
        # Arlow's MLP projections have no bias (its config has no `mlp_bias`)
        self.gate_proj = nn.Linear(self.hidden_size, self.intermediate_size, bias=False)
        self.up_proj = nn.Linear(self.hidden_size, self.intermediate_size, bias=False)
        self.down_proj = nn.Linear(self.intermediate_size, self.hidden_size, bias=False)


class ArlowAttention(LlamaAttention):
    def __init__(self, config: ArlowConfig, layer_idx: int):
        super().__init__(config, layer_idx)
        # Arlow's attention projections have no bias (its config has no `attention_bias`)
        self.q_proj = nn.Linear(config.hidden_size, config.num_attention_heads * self.head_dim, bias=False)
        self.k_proj = nn.Linear(config.hidden_size, config.num_key_value_heads * self.head_dim, bias=False)
        self.v_proj = nn.Linear(config.hidden_size, config.num_key_value_heads * self.head_dim, bias=False)
        self.o_proj = nn.Linear(config.num_attention_heads * self.head_dim, config.hidden_size, bias=False)

    def forward(
        self,
        hidden_states: torch.Tensor,
        position_embeddings: tuple[torch.Tensor, torch.Tensor] | None = None,
        attention_mask: torch.Tensor | None = None,
        past_key_values: Cache | None = None,
        **kwargs: Unpack[TransformersKwargs],
    ) -> tuple[torch.Tensor, torch.Tensor]:
        input_shape = hidden_states.shape[:-1]
        hidden_shape = (*input_shape, -1, self.head_dim)

        query_states = self.q_proj(hidden_states).view(hidden_shape).transpose(1, 2)
        key_states = self.k_proj(hidden_states).view(hidden_shape).transpose(1, 2)
        value_states = self.v_proj(hidden_states).view(hidden_shape).transpose(1, 2)

        cos, sin = position_embeddings
        query_states, key_states = apply_rotary_pos_emb(query_states, key_states, cos, sin)

        if past_key_values is not None:
            key_states, value_states = past_key_values.update(key_states, value_states, self.layer_idx)

        return self.attend(query_states, key_states, value_states, attention_mask, **kwargs)

    def attend(
        self,
        query_states: torch.Tensor,
        key_states: torch.Tensor,
        value_states: torch.Tensor,
        attention_mask: torch.Tensor | None,
        **kwargs: Unpack[TransformersKwargs],
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """
        Attends from `query_states` (batch, heads, queries, head_dim) to `key_states`/`value_states` with the
        configured attention function and applies the output projection: the part self- and cross-attention share.
        """
        attention_interface: Callable = ALL_ATTENTION_FUNCTIONS.get_interface(
            self.config._attn_implementation, eager_attention_forward
        )

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

        # (batch, queries, heads, head_dim) -> (batch, queries, heads * head_dim)
        batch_size, _, num_queries, _ = query_states.shape
        attn_output = attn_output.reshape(batch_size, num_queries, -1).contiguous()
        attn_output = self.o_proj(attn_output)
        return attn_output, attn_weights


class ArlowCrossAttention(ArlowAttention):
    """
    Multi-headed attention from the decoder tokens to the encoder states: the projections of [`ArlowAttention`], but
    not causal and without rotary embeddings. The keys and values depend only on the encoder states, so during
    generation they are projected once and kept in the cross-attention half of an
    [`~cache_utils.EncoderDecoderCache`].
    """

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
    ) -> tuple[torch.Tensor, torch.Tensor]:
        input_shape = hidden_states.shape[:-1]
        query_states = self.q_proj(hidden_states).view(*input_shape, -1, self.head_dim).transpose(1, 2)

        if past_key_values is not None and past_key_values.is_updated.get(self.layer_idx):
            # The encoder states do not change between decoding steps: reuse the keys/values of the first step
            cached_layer = past_key_values.cross_attention_cache.layers[self.layer_idx]
            key_states, value_states = cached_layer.keys, cached_layer.values
        else:
            encoder_shape = (*encoder_hidden_states.shape[:-1], -1, self.head_dim)
            key_states = self.k_proj(encoder_hidden_states).view(encoder_shape).transpose(1, 2)
            value_states = self.v_proj(encoder_hidden_states).view(encoder_shape).transpose(1, 2)
            if past_key_values is not None:
                key_states, value_states = past_key_values.cross_attention_cache.update(
                    key_states, value_states, self.layer_idx
                )
                past_key_values.is_updated[self.layer_idx] = True

        return self.attend(query_states, key_states, value_states, attention_mask, **kwargs)


class ArlowDecoderLayer(LlamaDecoderLayer):
    def __init__(self, config: ArlowConfig, layer_idx: int):
        super().__init__(config, layer_idx)
        # CODEPATH: `cross_attention=True` checkpoints (the default, and every decoder of an `EncoderDecoderModel`)
        # have cross-attention weights in each layer; `cross_attention=False` ones are plain decoders like Llama. The
        # block only runs when encoder states are given (see `ArlowModel.forward`).
        if config.cross_attention:
            self.cross_attn = ArlowCrossAttention(config=config, layer_idx=layer_idx)
            self.cross_attn_layernorm = ArlowRMSNorm(config.hidden_size, eps=config.rms_norm_eps)

    def forward(
        self,
        hidden_states: torch.Tensor,
        encoder_hidden_states: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        encoder_attention_mask: torch.Tensor | None = None,
        position_ids: torch.LongTensor | None = None,
        past_key_values: Cache | None = None,
        use_cache: bool | None = False,
        position_embeddings: tuple[torch.Tensor, torch.Tensor] | None = None,
        **kwargs: Unpack[TransformersKwargs],
    ) -> torch.Tensor:
        if isinstance(past_key_values, EncoderDecoderCache):
            self_attention_cache, cross_attention_cache = past_key_values.self_attention_cache, past_key_values
        else:
            self_attention_cache, cross_attention_cache = past_key_values, None

        residual = hidden_states
        hidden_states = self.input_layernorm(hidden_states)
        # Self Attention
        hidden_states, _ = self.self_attn(
            hidden_states=hidden_states,
            attention_mask=attention_mask,
            position_ids=position_ids,
            past_key_values=self_attention_cache,
            use_cache=use_cache,
            position_embeddings=position_embeddings,
            **kwargs,
        )
        hidden_states = residual + hidden_states

        # Cross Attention, skipped when the model decided not to run it (then `encoder_hidden_states` is None)
        if encoder_hidden_states is not None:
            residual = hidden_states
            hidden_states = self.cross_attn_layernorm(hidden_states)
            # Self-attention kwargs (packed-sequence metadata, decoder positions) describe the decoder tokens only,
            # so none of them are forwarded to the attention over the encoder states
            hidden_states, _ = self.cross_attn(
                hidden_states=hidden_states,
                encoder_hidden_states=encoder_hidden_states,
                attention_mask=encoder_attention_mask,
                past_key_values=cross_attention_cache,
            )
            hidden_states = residual + hidden_states

        # Fully Connected
        residual = hidden_states
        hidden_states = self.post_attention_layernorm(hidden_states)
        hidden_states = self.mlp(hidden_states)
        hidden_states = residual + hidden_states
        return hidden_states


@auto_docstring
class ArlowPreTrainedModel(LlamaPreTrainedModel):
    _can_record_outputs = {
        "hidden_states": ArlowDecoderLayer,
        # `ArlowCrossAttention` is an `ArlowAttention` too: the self-attention weights are those of `self_attn`
        "attentions": OutputRecorder(ArlowAttention, index=1, layer_name="self_attn"),
        "cross_attentions": OutputRecorder(ArlowCrossAttention, index=1, layer_name="cross_attn"),
    }


@auto_docstring
class ArlowModel(LlamaModel):
    def _check_encoder_inputs(
        self,
        inputs_embeds: torch.Tensor,
        encoder_hidden_states: torch.Tensor | None,
        encoder_attention_mask: torch.Tensor | None,
    ) -> None:
        """Raises a `ValueError` naming the problem when the encoder inputs cannot be attended to."""
        if encoder_hidden_states is None:
            if encoder_attention_mask is not None:
                raise ValueError("`encoder_attention_mask` was given without `encoder_hidden_states`.")
            return
        # CODEPATH: only `cross_attention=True` checkpoints (the default) have cross-attention weights; the plain
        # decoders built with `cross_attention=False` refuse encoder states instead of ignoring them.
        if not self.config.cross_attention:
            raise ValueError(
                "`encoder_hidden_states` were given, but this model was built without cross-attention layers "
                "(`config.cross_attention=False`). Build it with `cross_attention=True` to attend to encoder states."
            )
        # CODEPATH: every checkpoint: the cross-attention projections take states of the decoder's own width.
        if encoder_hidden_states.ndim != 3 or encoder_hidden_states.shape[-1] != self.config.hidden_size:
            raise ValueError(
                "`encoder_hidden_states` must have shape (batch_size, encoder_sequence_length, hidden_size) with "
                f"hidden_size={self.config.hidden_size}, got {tuple(encoder_hidden_states.shape)}. Project the "
                "encoder outputs to the decoder's width first (`EncoderDecoderModel` does this with "
                "`enc_to_dec_proj`)."
            )
        if encoder_hidden_states.shape[0] != inputs_embeds.shape[0]:
            raise ValueError(
                f"`encoder_hidden_states` have batch size {encoder_hidden_states.shape[0]}, but the decoder inputs "
                f"have batch size {inputs_embeds.shape[0]}."
            )
        # The flash-attention integration unpads the queries with the (encoder) key mask, which is only right when the
        # query is a single token: refuse the case where it would silently attend to the wrong positions
        if (
            is_flash_attention_requested(self.config)
            and encoder_attention_mask is not None
            and inputs_embeds.shape[1] > 1
            and not encoder_attention_mask.bool().all()
        ):
            raise ValueError(
                "A padded `encoder_attention_mask` with more than one decoder token is not supported by "
                f"`attn_implementation={self.config._attn_implementation!r}` in cross-attention. Use 'sdpa' or "
                "'eager', or encoder states without padding."
            )

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

        self._check_encoder_inputs(inputs_embeds, encoder_hidden_states, encoder_attention_mask)
        # CODEPATH: `use_cross_attention=False` switches the cross-attention blocks off at run time (the weights stay);
        # the encoder states are then ignored. No checkpoint layout depends on it.
        if not self.config.use_cross_attention:
            encoder_hidden_states = encoder_attention_mask = None

        if use_cache and past_key_values is None:
            past_key_values = DynamicCache(config=self.config)

        # The cross-attention keys/values are cached apart from the self-attention ones (the GPT2/Whisper pattern)
        if (
            encoder_hidden_states is not None
            and past_key_values is not None
            and not isinstance(past_key_values, EncoderDecoderCache)
        ):
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

        hidden_states = self.norm(hidden_states)
        return BaseModelOutputWithPastAndCrossAttentions(
            last_hidden_state=hidden_states,
            past_key_values=past_key_values,
        )


@auto_docstring
class ArlowForCausalLM(LlamaForCausalLM):
    def _lm_head_is_plain_linear(self) -> bool:
        """
        Whether `lm_head` computes exactly `hidden_states @ lm_head.weight.T`, so that `skip_logits=True` may compute
        the loss from its weight without calling it. Anything that changes what `lm_head` computes makes the forward
        call it instead: a replaced or wrapped module (adapters, quantization, kernels), hooks on it (offloading), or a
        sharded weight (tensor parallelism).
        """
        lm_head = self.lm_head
        return (
            not hasattr(self, "_loss_function")
            and getattr(self.config, "loss_type", None) in (None, "ForCausalLM")
            and type(lm_head) is nn.Linear
            and lm_head.bias is None
            and type(lm_head.weight) is nn.Parameter
            and not (lm_head._forward_hooks or lm_head._forward_pre_hooks or hasattr(lm_head, "_hf_hook"))
        )

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
        skip_logits: bool | None = None,
        **kwargs: Unpack[TransformersKwargs],
    ) -> CausalLMOutputWithCrossAttentions:
        r"""
        skip_logits (`bool`, *optional*):
            Whether to compute only the loss, without materialising the (tokens x vocabulary) logits: the loss is then
            computed from the final hidden states and `lm_head.weight` a chunk of tokens at a time, with the same value
            and gradients, and the output's `logits` is `None`. Requires `labels`. By default the logits are returned.

        Example:

        ```python
        >>> from transformers import AutoTokenizer, ArlowForCausalLM

        >>> model = ArlowForCausalLM.from_pretrained("arlow/arlow-base")
        >>> tokenizer = AutoTokenizer.from_pretrained("arlow/arlow-base")

        >>> prompt = "Hey, are you conscious? Can you talk to me?"
        >>> inputs = tokenizer(prompt, return_tensors="pt")

        >>> # Generate
        >>> generate_ids = model.generate(inputs.input_ids, max_length=30)
        >>> tokenizer.batch_decode(generate_ids, skip_special_tokens=True, clean_up_tokenization_spaces=False)[0]
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

        hidden_states = outputs.last_hidden_state
        hidden_states = slice_logits_to_keep(hidden_states, logits_to_keep)

        if skip_logits and labels is None:
            raise ValueError("`skip_logits=True` computes only the loss, so it needs `labels`.")

        logits = loss = None
        if skip_logits and self._lm_head_is_plain_linear():
            loss = chunked_causal_lm_loss(hidden_states, self.lm_head.weight, labels, **kwargs)
        else:
            logits = self.lm_head(hidden_states)
            if labels is not None:
                loss = self.loss_function(logits=logits, labels=labels, vocab_size=self.config.vocab_size, **kwargs)
            if skip_logits:
                logits = None

        return CausalLMOutputWithCrossAttentions(
            loss=loss,
            logits=logits,
            past_key_values=outputs.past_key_values,
            hidden_states=outputs.hidden_states,
            attentions=outputs.attentions,
            cross_attentions=outputs.cross_attentions,
        )


@auto_docstring
class ArlowForSequenceClassification(LlamaForSequenceClassification):
    pass


@auto_docstring
class ArlowForQuestionAnswering(GenericForQuestionAnswering, ArlowPreTrainedModel): ...


@auto_docstring
class ArlowForTokenClassification(LlamaForTokenClassification):
    pass


__all__ = [
    "ArlowForCausalLM",
    "ArlowModel",
    "ArlowPreTrainedModel",
    "ArlowForSequenceClassification",
    "ArlowForQuestionAnswering",
    "ArlowForTokenClassification",
]
