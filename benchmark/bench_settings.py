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
"""What a benchmark run measures: model sizes, sequence lengths, repetitions, device, dtype and attention backend."""

from dataclasses import asdict, dataclass, field


# Hyperparameters shared by Arlow and Llama. Llama's defaults differ from Arlow's on `attention_dropout` and
# `tie_word_embeddings`, so both are always set explicitly (see `model_pairs.shared_hyperparameters`).
MODEL_SIZES = {
    "tiny": {
        "vocab_size": 512,
        "hidden_size": 64,
        "intermediate_size": 176,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
    },
    "mini": {
        "vocab_size": 4096,
        "hidden_size": 128,
        "intermediate_size": 344,
        "num_hidden_layers": 4,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
    },
    "small": {
        "vocab_size": 8192,
        "hidden_size": 256,
        "intermediate_size": 688,
        "num_hidden_layers": 4,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
    },
    "medium": {
        "vocab_size": 16384,
        "hidden_size": 512,
        "intermediate_size": 1376,
        "num_hidden_layers": 8,
        "num_attention_heads": 8,
        "num_key_value_heads": 4,
    },
    # The shape users train on CPU (hidden 512, 6 layers, vocabulary 8192), timed at their batch (`TRAINING_BATCHES`)
    "user512": {
        "vocab_size": 8192,
        "hidden_size": 512,
        "intermediate_size": 1376,
        "num_hidden_layers": 6,
        "num_attention_heads": 8,
        "num_key_value_heads": 4,
    },
    # small with the vocabulary/hidden ratio of Arlow's default configuration (131072 / 2304 = 57): 57 x 256
    "ratio57": {
        "vocab_size": 14592,
        "hidden_size": 256,
        "intermediate_size": 688,
        "num_hidden_layers": 4,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
    },
    # For the GPU mode: a 1.3B-parameter decoder in the shape of Arlow's default (hidden 2304, head dim 192)
    "1b": {
        "vocab_size": 32768,
        "hidden_size": 2304,
        "intermediate_size": 9216,
        "num_hidden_layers": 16,
        "num_attention_heads": 12,
        "num_key_value_heads": 4,
    },
}

# Sizes timed at fixed batches, as (sequence length, sequences) pairs, instead of at every `seq_lens` entry
TRAINING_BATCHES = {"user512": ((256, 4),)}

DEVICES = ("cpu", "cuda")
DTYPES = ("float32", "bfloat16", "float16")
ATTENTION_BACKENDS = ("sdpa", "eager", "flash_attention_2", "flash_attention_3", "flex_attention")
SECTIONS = ("mfu", "training", "memory", "decoding", "cross_attention", "tokenizer")


@dataclass
class BenchSettings:
    """Everything a run depends on. `for_run` picks the preset for the device and the quick/full mode."""

    device: str = "cpu"
    dtype: str = "float32"
    attn: str = "sdpa"
    quick: bool = False
    # training and memory: every size at every sequence length, `tokens_per_step` tokens per step
    # the CPU defaults fit a full run in about a quarter of an hour on two cores
    sizes: tuple[str, ...] = ("mini", "small", "user512", "ratio57")
    seq_lens: tuple[int, ...] = (128, 512, 2048)
    tokens_per_step: int = 2048
    # memory is counted exactly (one step per case), so it affords the larger size
    memory_sizes: tuple[str, ...] = ("mini", "small", "medium", "user512", "ratio57")
    warmup: int = 1
    # Timed repetitions are multiples of twice the number of cases timed together (3 in training, 6 in decoding and
    # tokenizer), so that every case runs in every position equally often (`timing.run_order`). With 9 they did not,
    # and two identical Llamas then differed by 4 % in decoding.
    reps: int = 12
    # decoding (greedy, batch of one)
    decode_sizes: tuple[str, ...] = ("mini", "small")
    compile_sizes: tuple[str, ...] = ("mini",)
    prompt_len: int = 32
    new_tokens: int = 64
    decode_reps: int = 12
    compile_backend: str = "inductor"
    # cross-attention (Arlow only: on vs off)
    cross_size: str = "mini"
    cross_seq_len: int = 256
    encoder_lens: tuple[int, ...] = (64, 256, 1024, 4096)
    # tokenizer
    tokenizer_vocab_size: int = 8192
    tokenizer_texts: int = 0  # 0: every document of the corpus
    tokenizer_reps: int = 12
    # peak matrix-multiply rate
    matmul_sizes: tuple[int, ...] = (512, 1024, 2048)
    matmul_reps: int = 5
    sections: tuple[str, ...] = SECTIONS
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.device not in DEVICES:
            raise ValueError(f"`device` must be one of {DEVICES}, got {self.device!r}.")
        if self.dtype not in DTYPES:
            raise ValueError(f"`dtype` must be one of {DTYPES}, got {self.dtype!r}.")
        if self.attn not in ATTENTION_BACKENDS:
            raise ValueError(f"`attn` must be one of {ATTENTION_BACKENDS}, got {self.attn!r}.")
        unknown = sorted(
            set(self.sizes + self.memory_sizes + self.decode_sizes + self.compile_sizes) - set(MODEL_SIZES)
        )
        if self.cross_size not in MODEL_SIZES:
            unknown.append(self.cross_size)
        if unknown:
            raise ValueError(f"Unknown model sizes {unknown}; known sizes are {sorted(MODEL_SIZES)}.")
        unknown_sections = sorted(set(self.sections) - set(SECTIONS))
        if unknown_sections:
            raise ValueError(f"Unknown sections {unknown_sections}; known sections are {list(SECTIONS)}.")
        if self.reps < 1 or self.decode_reps < 1 or self.tokenizer_reps < 1 or self.matmul_reps < 1:
            raise ValueError("Every repetition count must be at least 1.")
        if self.new_tokens < 2:
            raise ValueError(f"`new_tokens` must be at least 2 to time decoding steps, got {self.new_tokens}.")
        too_long = [s for s in self.seq_lens if s > self.tokens_per_step]
        if too_long:
            raise ValueError(f"Sequence lengths {too_long} exceed `tokens_per_step` ({self.tokens_per_step}).")

    def training_batches(self, size: str) -> tuple[tuple[int, int], ...]:
        """The (sequence length, sequences) batches a size is trained at: its `TRAINING_BATCHES`, else every
        `seq_lens` entry with `tokens_per_step` tokens."""
        if size in TRAINING_BATCHES:
            return TRAINING_BATCHES[size]
        return tuple((seq_len, self.tokens_per_step // seq_len) for seq_len in self.seq_lens)

    @property
    def max_positions(self) -> int:
        """Positions the models must hold: the longest training sequence or prompt plus the decoded tokens."""
        return max(*self.seq_lens, self.cross_seq_len, self.prompt_len + self.new_tokens)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def for_run(cls, device: str = "cpu", quick: bool = False, **overrides) -> "BenchSettings":
        """The preset for a device in quick (smoke test) or full mode, with `overrides` applied last."""
        preset = {}
        if quick:
            preset = {
                "sizes": ("tiny",),
                "seq_lens": (32, 64),
                "tokens_per_step": 128,
                "memory_sizes": ("tiny",),
                "reps": 2,
                "decode_sizes": ("tiny",),
                "compile_sizes": ("tiny",),
                "prompt_len": 8,
                "new_tokens": 8,
                "decode_reps": 2,
                # inductor's C++ code generation alone takes minutes on a small CPU; the quick mode checks that
                # the decoding step traces into one graph (fullgraph) and leaves code generation to the full run
                "compile_backend": "eager",
                "cross_size": "tiny",
                "cross_seq_len": 32,
                "encoder_lens": (16, 64),
                "tokenizer_vocab_size": 512,
                "tokenizer_texts": 200,
                "tokenizer_reps": 2,
                "matmul_sizes": (128, 256),
                "matmul_reps": 2,
            }
        elif device == "cuda":
            preset = {
                "sizes": ("medium", "1b"),
                "seq_lens": (128, 256, 512, 1024, 2048, 4096),
                "tokens_per_step": 16384,
                "memory_sizes": ("1b",),
                "reps": 10,
                "warmup": 3,
                "decode_sizes": ("medium", "1b"),
                "compile_sizes": ("medium", "1b"),
                "new_tokens": 128,
                "decode_reps": 5,
                "cross_size": "1b",
                "cross_seq_len": 1024,
                "encoder_lens": (256, 1024, 4096, 16384),
                "matmul_sizes": (4096, 8192, 16384),
                "matmul_reps": 10,
            }
        preset.update(overrides)
        return cls(device=device, quick=quick, **preset)
