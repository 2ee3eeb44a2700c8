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
"""Writes a run's results: the JSON with every figure, a markdown report, and PNG plots."""

import json
from pathlib import Path

import matplotlib


matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402


MIB = 2**20


def _table(header: list[str], rows: list[list]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines + [""]


def _machine_lines(results: dict) -> list[str]:
    machine, settings = results["machine"], results["settings"]
    lines = [
        f"- Date (UTC): {machine['date_utc']}",
        f"- Machine: {machine['cpu_model']}, {machine['cpus_usable']} usable CPUs ({machine['cpu_logical_cores']} "
        f"logical), {machine['memory_gib']} GiB, {machine['torch_threads']} torch threads",
    ]
    if "gpu" in machine:
        lines.append(f"- GPU: {machine['gpu']} ({machine['gpu_memory_gib']} GiB), CUDA {machine['cuda']}")
    lines += [
        f"- Load average (1, 5, 15 min) at start {machine['load_average_at_start']}, at end "
        f"{machine.get('load_average_at_end')}",
        f"- torch {machine['torch']}, transformers {machine['transformers']}, tokenizers {machine['tokenizers']}, "
        f"Python {machine['python']}",
        f"- Mode: {'quick (smoke test: tiny sizes, timings meaningless)' if settings['quick'] else 'full'}; device "
        f"{settings['device']}, dtype {settings['dtype']}, attention {settings['attn']}; "
        f"warm-up {settings['warmup']}, "
        f"{settings['reps']} timed repetitions (decoding {settings['decode_reps']}), interleaved; medians",
        f"- Wall time of the run: {results.get('wall_s', float('nan')):.0f} s",
        "",
    ]
    return lines


def _operator_lines(rows: list[dict], key: str) -> list[str]:
    lines = []
    for name in dict.fromkeys(str(row[key]) + (f" {row['cache']}" if "cache" in row else "") for row in rows):
        row = next(row for row in rows if str(row[key]) + (f" {row['cache']}" if "cache" in row else "") == name)
        difference = row["operator_count_difference_llama_arlow"]
        verdict = "identical" if not difference else f"differ ({difference}, as [Llama, Arlow])"
        lines.append(f"- {name}: operators dispatched by Llama and Arlow (profiler counts) {verdict}")
    return lines + [""]


def _training_lines(results: dict) -> list[str]:
    rows = results.get("training")
    if not rows:
        return []
    header = [
        "size (params)",
        "seq",
        "batch",
        "Llama tok/s",
        "Arlow tok/s",
        "Arlow/Llama",
        "A/A: Llama copy/Llama",
        "MFU Llama",
        "MFU Arlow",
    ]
    body = [
        [
            f"{row['size']} ({row['parameters'] / 1e6:.1f}M)",
            row["seq_len"],
            row["batch"],
            f"{row['llama']['tokens_per_s']:.0f}",
            f"{row['arlow']['tokens_per_s']:.0f}",
            f"{row['ratio_arlow_over_llama']:.3f}",
            f"{row['ratio_llama_copy_over_llama']:.3f}",
            f"{row['llama'].get('mfu', float('nan')):.1%}",
            f"{row['arlow'].get('mfu', float('nan')):.1%}",
        ]
        for row in rows
    ]
    return [
        "## Training step (forward + backward + AdamW)",
        "",
        '"A/A" times a second Llama holding the same weights, interleaved with the other two: its ratio to Llama is '
        "what the machine's noise alone does to a ratio in this run.",
        "",
        *_table(header, body),
        *_operator_lines(rows, "size"),
    ]


def _memory_lines(results: dict) -> list[str]:
    rows = results.get("memory")
    if not rows:
        return []
    header = [
        "size",
        "seq",
        "batch",
        "Llama peak MiB",
        "Arlow peak MiB",
        "Arlow/Llama",
        "Llama ckpt MiB",
        "Arlow ckpt MiB",
        "Arlow/Llama ckpt",
        "ckpt cut (total)",
        "ckpt cut (above held)",
    ]
    body = []
    for row in rows:
        llama, arlow = row["llama"], row["arlow"]
        body.append(
            [
                row["size"],
                row["seq_len"],
                row["batch"],
                f"{llama['no_checkpointing']['peak_bytes'] / MIB:.1f}",
                f"{arlow['no_checkpointing']['peak_bytes'] / MIB:.1f}",
                f"{row['ratio_arlow_over_llama_no_checkpointing']:.3f}",
                f"{llama['checkpointing']['peak_bytes'] / MIB:.1f}",
                f"{arlow['checkpointing']['peak_bytes'] / MIB:.1f}",
                f"{row['ratio_arlow_over_llama_checkpointing']:.3f}",
                f"{arlow['checkpointing_reduction']:.1%}",
                f"{arlow['checkpointing_reduction_above_held']:.1%}",
            ]
        )
    held = ", ".join(
        f"{row['size']} {row['arlow']['no_checkpointing']['held_bytes'] / MIB:.1f} MiB"
        for row in rows
        if row["seq_len"] == rows[0]["seq_len"]
    )
    return [
        "## Peak memory of a training step",
        "",
        f"Peak = bytes held between steps (weights, AdamW state, buffers: {held}) + the step's high-water mark of "
        'live tensor bytes above them. "ckpt cut" is Arlow\'s reduction from gradient checkpointing.',
        "",
        *_table(header, body),
    ]


def _decoding_lines(results: dict) -> list[str]:
    rows = results.get("decoding")
    if not rows:
        return []
    header = [
        "size",
        "cache",
        "Llama tok/s",
        "Arlow tok/s",
        "Arlow/Llama",
        "A/A: Llama copy/Llama",
        "same greedy tokens",
    ]
    body = [
        [
            row["size"],
            row["cache"] + (f" ({row['compile_backend']})" if "compile_backend" in row else ""),
            f"{row['llama']['tokens_per_s']:.1f}",
            f"{row['arlow']['tokens_per_s']:.1f}",
            f"{row['ratio_arlow_over_llama']:.3f}",
            f"{row['ratio_llama_copy_over_llama']:.3f}",
            "yes" if row["same_greedy_tokens"] else "NO",
        ]
        for row in rows
    ]
    prompt, new = rows[0]["prompt_len"], rows[0]["new_tokens"]
    return [
        "## Greedy decoding (batch 1)",
        "",
        f"Prompt of {prompt} tokens, {new} new tokens per call; per-token time = the median gap between successive "
        "tokens of a call (noted by a stopping criterion that never stops), so the prefill is excluded.",
        "",
        *_table(header, body),
        *_operator_lines(rows, "size"),
    ]


def _cross_attention_lines(results: dict) -> list[str]:
    cross = results.get("cross_attention")
    if not cross:
        return []
    training = cross["training"]
    lines = [
        f"## Cross-attention on vs off (Arlow {cross['size']})",
        "",
        f"Training step, decoder sequence {training[0]['seq_len']}, batch {training[0]['batch']}:",
        "",
        *_table(
            ["encoder length", "off tok/s", "on tok/s", "on/off"],
            [
                [
                    row["encoder_len"],
                    f"{row['off_tokens_per_s']:.0f}",
                    f"{row['on_tokens_per_s']:.0f}",
                    f"{row['ratio_on_over_off']:.3f}",
                ]
                for row in training
            ],
        ),
    ]
    decoding = cross["decoding"]
    lines += [
        f"Decoding (dynamic cache), per-token time; off = no encoder states: {decoding['off_per_token_ms']:.2f} ms. "
        '"key projections" counts the cross-attention key projections run in one whole `generate` call of '
        f"{decoding['new_tokens']} tokens over {decoding['num_layers']} layers (one per layer means the encoder keys/"
        'values are computed once and reused); "re-projection" is what each step would pay if they were not.',
        "",
        *_table(
            ["encoder length", "ms/token", "key projections per generate", "re-projection ms/token"],
            [
                [
                    row["encoder_len"],
                    f"{row['per_token_ms']:.2f}",
                    row["cross_key_projections_per_generate"],
                    f"{row['reprojection_ms']:.2f}",
                ]
                for row in decoding["rows"]
            ],
        ),
        f"Slope of the per-token time: {decoding['per_token_ms_per_1k_encoder_tokens']:.3f} ms per 1000 encoder "
        f"tokens, against {decoding['reprojection_ms_per_1k_encoder_tokens']:.3f} ms per 1000 for re-projection.",
        "",
    ]
    return lines


def _tokenizer_lines(results: dict) -> list[str]:
    tok = results.get("tokenizer")
    if not tok:
        return []
    return [
        "## Tokenizer encoding",
        "",
        f"{tok['texts']} texts, {tok['bytes'] / MIB:.2f} MiB ({tok['corpus']}), vocabulary size "
        f"{tok['vocab_size_requested']} requested (learned: Arlow {tok['vocab_size']['arlow']}, plain "
        f"{tok['vocab_size']['plain']}); batch encoding.",
        "",
        *_table(
            ["tokenizer", "MiB/s", "tokens/s", "tokens"],
            [
                [name, f"{tok[key]['bytes_per_s'] / MIB:.2f}", f"{tok[key]['tokens_per_s']:.0f}", tok["tokens"][key]]
                for name, key in (
                    ("ArlowTokenizer, `tokenizer(texts)`", "arlow"),
                    ("ArlowTokenizer's backend, `encode_batch`", "arlow_backend"),
                    (
                        "plain BPE in Arlow's pipeline (BOS template, pre-tokenizer), `encode_batch`",
                        "plain_same_pipeline",
                    ),
                    ("plain BPE + the BOS template, `encode_batch`", "plain_with_bos"),
                    ("plain tokenizers byte-level BPE, `encode_batch`", "plain"),
                    ("A/A: a copy of the plain BPE, `encode_batch`", "plain_copy"),
                )
            ],
        ),
        "Arlow's backend / the plain BPE in the same pipeline: "
        f"{tok['ratio_arlow_backend_over_plain_same_pipeline']:.3f}"
        f". Against the plain BPE with the BOS template but its own GPT-2 split: "
        f"{tok['ratio_arlow_backend_over_plain_with_bos']:.3f}; against the plain BPE as is: "
        f"{tok['ratio_arlow_backend_over_plain']:.3f} (the BOS template alone costs it "
        f"{1 - tok['ratio_plain_with_bos_over_plain']:.1%}). The transformers call (attention masks and a "
        f"`BatchEncoding` on top): {tok['ratio_arlow_over_plain']:.3f} of the plain BPE. "
        "A/A control (two copies of the "
        f"plain BPE): {tok['ratio_plain_copy_over_plain']:.3f}.",
        "",
    ]


def _mfu_lines(results: dict) -> list[str]:
    mfu = results.get("mfu")
    if not mfu:
        return []
    return [
        "## Peak matrix-multiply rate",
        "",
        f"{mfu['peak_flops_per_s'] / 1e9:.1f} GFLOP/s ({mfu['dtype']}, `torch.mm` {mfu['at_size']}x{mfu['at_size']}, "
        "median of the timed repetitions; best of the sizes tried). MFU = 6 x parameters x tokens/s / this rate.",
        "",
    ]


def _target_lines(results: dict) -> list[str]:
    lines = ["## Targets", ""]
    if results["settings"]["quick"]:
        lines += [
            "Quick mode: tiny models whose timings are dominated by Python overhead; targets are not judged.",
            "",
        ]

    def verdict(target: dict) -> str:
        if target["passed"] is None:
            return "info"
        if results["settings"]["quick"]:
            return "not judged"
        return "pass" if target["passed"] else "MISS"

    lines += _table(
        ["target", "value", "result"],
        [[target["target"], f"{target['value']:.3f}", verdict(target)] for target in results["targets"]],
    )
    for section, error in results.get("errors", {}).items():
        lines.append(f"- Section `{section}` FAILED: {error}")
    return lines


def markdown_report(results: dict) -> str:
    lines = ["# Arlow vs Llama benchmark", "", *_machine_lines(results), *_target_lines(results)]
    for part in (
        _training_lines,
        _memory_lines,
        _decoding_lines,
        _cross_attention_lines,
        _tokenizer_lines,
        _mfu_lines,
    ):
        lines += part(results)
    return "\n".join(lines).rstrip() + "\n"


def _plot_by_size(rows: list[dict], title: str, ylabel: str, series, path: Path) -> None:
    sizes = list(dict.fromkeys(row["size"] for row in rows))
    figure, axes = plt.subplots(1, len(sizes), figsize=(5.5 * len(sizes), 4), squeeze=False)
    for axis, size in zip(axes[0], sizes):
        size_rows = [row for row in rows if row["size"] == size]
        seq_lens = [row["seq_len"] for row in size_rows]
        for label, value, style in series:
            axis.plot(seq_lens, [value(row) for row in size_rows], style, label=label)
        axis.set_xscale("log", base=2)
        axis.set_xticks(seq_lens, [str(seq) for seq in seq_lens])
        axis.set_xlabel("sequence length")
        axis.set_ylabel(ylabel)
        axis.set_title(f"{title} ({size})")
        axis.grid(True, alpha=0.3)
        axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def write_plots(results: dict, directory: Path, stem: str) -> list[str]:
    written = []
    if results.get("training"):
        path = directory / f"{stem}_training_tokens_per_s.png"
        _plot_by_size(
            results["training"],
            "training tokens/s",
            "tokens/s",
            [
                ("Llama", lambda row: row["llama"]["tokens_per_s"], "o-"),
                ("Arlow", lambda row: row["arlow"]["tokens_per_s"], "s--"),
            ],
            path,
        )
        written.append(path.name)
    if results.get("memory"):
        path = directory / f"{stem}_training_peak_memory.png"
        _plot_by_size(
            results["memory"],
            "training-step peak memory",
            "MiB",
            [
                ("Llama", lambda row: row["llama"]["no_checkpointing"]["peak_bytes"] / MIB, "o-"),
                ("Arlow", lambda row: row["arlow"]["no_checkpointing"]["peak_bytes"] / MIB, "s--"),
                ("Llama, checkpointing", lambda row: row["llama"]["checkpointing"]["peak_bytes"] / MIB, "^-"),
                ("Arlow, checkpointing", lambda row: row["arlow"]["checkpointing"]["peak_bytes"] / MIB, "v--"),
            ],
            path,
        )
        written.append(path.name)
    if results.get("cross_attention"):
        decoding = results["cross_attention"]["decoding"]
        lengths = [row["encoder_len"] for row in decoding["rows"]]
        figure, axis = plt.subplots(figsize=(5.5, 4))
        axis.plot(lengths, [row["per_token_ms"] for row in decoding["rows"]], "o-", label="measured (cached K/V)")
        axis.plot(
            lengths,
            [decoding["off_per_token_ms"] + row["reprojection_ms"] for row in decoding["rows"]],
            "x:",
            label="if K/V were re-projected each step",
        )
        axis.axhline(decoding["off_per_token_ms"], color="gray", linestyle="--", label="cross-attention off")
        axis.set_xscale("log", base=2)
        axis.set_xlabel("encoder length")
        axis.set_ylabel("ms per decoded token")
        axis.set_title("Arlow decoding with cross-attention")
        axis.grid(True, alpha=0.3)
        axis.legend()
        figure.tight_layout()
        path = directory / f"{stem}_cross_attention_decoding.png"
        figure.savefig(path, dpi=100)
        plt.close(figure)
        written.append(path.name)
    return written


def write_report(results: dict, directory: Path, stem: str) -> dict[str, Path]:
    """Writes `<stem>.json`, `<stem>.md` and the plots into `directory`; returns the JSON and markdown paths."""
    directory.mkdir(parents=True, exist_ok=True)
    results["plots"] = write_plots(results, directory, stem)
    json_path, markdown_path = directory / f"{stem}.json", directory / f"{stem}.md"
    json_path.write_text(json.dumps(results, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    markdown_path.write_text(markdown_report(results), encoding="utf-8")
    return {"json": json_path, "markdown": markdown_path}
