"""Numbers published with the paper (Poli et al. 2023, arXiv 2302.10866) that chapters quote.

Kept in one module, each with its source, so that a chapter's sentence about "the paper" and the
code that checks it read the same numbers; the lowest layer of the package (imports nothing).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ANCHORS", "FLASHFFTCONV_H200", "FLASHFFTCONV_SPEEDUPS", "PAPER_CLAIMS",
    "PAPER_FIGURE_4_3_MS", "PAPER_LM", "PAPER_RECALL_LENGTHS_K", "PAPER_TABLE_4_2",
    "PAPER_TABLE_A2", "PAPER_TABLE_C1", "PAPER_TABLE_C1_VOCABS", "paper_speedups",
]  # fmt: skip

#: Forward times (ms) behind the paper's Figure 4.3 (Sec. 4.4): an order-2 Hyena operator,
#: FlashAttention and standard (PyTorch) attention on an A100, batch 64, as the authors
#: published them in the official repository's issue tracker (HazyResearch/safari, issue #10).
#: Standard attention has no point at 64K (``None``). The official fused FFT-convolution kernel
#: supports FFT sizes up to 16384, i.e. sequences up to 8K (safari issue #6), and in issue #10
#: the authors say these runtimes were not measured with the optimised kernel.
PAPER_FIGURE_4_3_MS: dict[str, tuple[float | None, ...]] = {
    "lengths": (1024, 2048, 4096, 8192, 16384, 32768, 65536),
    "hyena": (0.9, 1.16, 1.47, 1.5, 2.84, 5.41, 11.32),
    "flash_attention": (0.29, 0.3, 0.63, 2.1, 8.33, 32.85, 129.07),
    "standard_attention": (0.4, 1.25, 2.16, 6.17, 21.74, 90.71, None),
}


def paper_speedups(attention: str = "flash_attention") -> dict[int, float]:
    """Hyena's speedup ``t_attention / t_Hyena`` in :data:`PAPER_FIGURE_4_3_MS`, by length.

    ``attention`` is ``"flash_attention"`` or ``"standard_attention"``; lengths where the series
    has no point (standard attention at 64K) are left out. Raises ``ValueError`` otherwise.
    """
    if attention not in ("flash_attention", "standard_attention"):
        raise ValueError(
            f"attention must be one of ['flash_attention', 'standard_attention'], got {attention!r}"
        )
    data = PAPER_FIGURE_4_3_MS
    return {
        int(L): float(t_attn) / float(t_hyena)
        for L, t_attn, t_hyena in zip(data["lengths"], data[attention], data["hyena"], strict=True)
        if t_attn is not None and t_hyena is not None
    }


#: What the paper and its authors claim, and what the data behind Figure 4.3 give.
#: ``claimed_speedup``: the abstract ("twice as fast as highly optimized attention at sequence
#: length 8K, and 100x faster at sequence length 64K"). ``blog_crossover_L``: the authors' blog
#: post (Hazy Research, 2023-03-07) puts the crossover with FlashAttention near 6K tokens; the
#: paper gives no such number. ``figure_speedup``: Hyena over FlashAttention in the figure's own
#: data (1.4x at 8K, 11.4x at 64K). ``fused_max_L``: the official fused FFT-convolution
#: extension handles FFT sizes up to 16384, i.e. sequences up to 8K (safari issue #6): the
#: figure's 16K-64K points cannot have used it.
PAPER_CLAIMS: dict[str, Any] = {
    "blog_crossover_L": 6000,
    "claimed_speedup": {8192: 2.0, 65536: 100.0},
    "figure_speedup": {L: round(x, 1) for L, x in paper_speedups().items() if L in (8192, 65536)},
    "fused_max_fft_size": 16384,
    "fused_max_L": 16384 // 2,
}


#: Language modelling in the paper (Sec. 4.2): perplexity (lower is better) of models trained by
#: the authors. ``wikitext103``: 125M-parameter models. ``pile``: perplexity after 5B, 10B and
#: 15B tokens of The Pile (separate runs), and the training FLOPs the paper lists for 15B tokens:
#: the abstract's "Transformer quality with a 20% reduction in training compute" is 3.93e19
#: against 4.77e19 (18% fewer), which the chapters quote as the claimed ``compute_saving``.
#: ``parameters``: the model sizes of those tables (125M, 153M and 355M).
PAPER_LM: dict[str, Any] = {
    "wikitext103": {"Transformer (125M)": 18.6, "Hyena-3 (125M)": 18.6,
                    "Hyena-3-slim (125M)": 18.5},
    "pile_tokens": ("5B", "10B", "15B"),
    "pile": {"GPT (125M)": (13.3, 11.9, 11.2), "Hyena-2 (153M)": (13.3, 11.8, 11.1),
             "GPT (355M)": (11.4, 9.8, 9.1), "Hyena-2 (355M)": (11.3, 9.8, 9.2)},
    "pile_flops_15B": {"GPT": 4.77e19, "Hyena-2": 3.93e19},
    "compute_saving": 0.20,
    "parameters": (125_000_000, 153_000_000, 355_000_000),
}  # fmt: skip

#: The sequence lengths of the paper's recall tables as it writes them, in thousands of tokens:
#: Table 4.2 at "30K / 64K / 131K" (vocabulary 30; the last is also Table A.2's length).
PAPER_RECALL_LENGTHS_K: tuple[int, ...] = (30, 64, 131)

#: Table 4.2 of the paper: test accuracy (%) on associative recall, vocabulary 30, 2 layers, at
#: each of :data:`PAPER_RECALL_LENGTHS_K`; ``None`` is the paper's "does not fit in memory".
PAPER_TABLE_4_2: dict[str, tuple[float | None, ...]] = {
    "Hyena": (100.0, 100.0, 97.2), "FlashTransformer": (32.4, 26.7, None),
    "Transformer": (None, None, None), "GSS": (5.3, 2.1, 0.1), "H3": (8.4, 4.3, 0.6),
    "AFT": (2.3, 1.2, 0.8), "RWKV": (12.4, 6.5, 2.3),
}  # fmt: skip

#: Table C.1 of the paper: test accuracy (%) on associative recall at 2,048 tokens, at each
#: vocabulary size of :data:`PAPER_TABLE_C1_VOCABS`. The ordering a tiny-scale run should show.
PAPER_TABLE_C1_VOCABS: tuple[int, ...] = (10, 20, 30, 40)
PAPER_TABLE_C1: dict[str, tuple[int, ...]] = {
    "Conv1d": (32, 11, 10, 8), "AFT-conv": (55, 21, 12, 10), "H3": (92, 60, 13, 10),
    "Transformer": (100, 100, 92, 82), "Hyena": (100, 100, 98, 85),
}  # fmt: skip

#: Table A.2 of the paper: test accuracy (%) on associative recall at 131K tokens, vocabulary 30,
#: of an order-2 Hyena whose long convolutions use each parameterisation. "Conv1d" is
#: :class:`~hyena_lab.filters.ExplicitFilter`, "H3" the SSM (S4D) filters of
#: :class:`~hyena_lab.filters.SSMFilter`, "FNO" :class:`~hyena_lab.filters.FrequencyFilter`,
#: "Hyena" :class:`~hyena_lab.filters.ImplicitFilter`; CKConv and TransferFunc are not
#: implemented here. Also importable as ``hyena_lab.filters.PAPER_TABLE_A2``.
PAPER_TABLE_A2: dict[str, float] = {
    "Conv1d": 0.5, "FNO": 0.3, "H3": 0.6, "TransferFunc": 0.5, "CKConv": 14.3, "Hyena": 97.2,
}

#: Reference points from outside the paper that the chapters compare with.
#: ``nanogpt_cpu_val_loss``: nanoGPT's README (karpathy/nanoGPT), its small CPU recipe on Tiny
#: Shakespeare (4 layers, 4 heads, width 128, context 64, 2,000 iterations) reaches validation
#: loss 1.88 nats per character in about 3 minutes on a laptop CPU (chapter 7).
#: ``zoology_recall_share_of_gap``: Zoology (Arora et al. 2023): associative recall explains 82%
#: of the Pile perplexity gap between gated convolutions and attention (chapter 8).
ANCHORS: dict[str, float] = {"nanogpt_cpu_val_loss": 1.88, "zoology_recall_share_of_gap": 0.82}


#: FlashFFTConv (Fu et al. 2023, arXiv 2311.05908): its fused convolution against a PyTorch FFT
#: convolution, as it reports them (gated convolution, one H100-SXM, batch 64, width 768; the FFT
#: as matrix products on tensor cores, fp16/bf16). Its baseline is a complex fp32 FFT, so a
#: careful real-FFT baseline narrows these ratios.
FLASHFFTCONV_SPEEDUPS: dict[str, tuple[float, ...]] = {
    "lengths": (256, 1024, 4096, 8192, 16384, 32768, 1_048_576),
    "speedup": (5.6, 7.9, 6.6, 5.4, 2.5, 3.2, 1.7),
}

#: FlashFFTConv built from its source on the lent H200 (CUDA 13, torch 2.11, its own build flags)
#: and run as a causal convolution (FFT size ``2L``, bf16) against a careful PyTorch rfft
#: convolution (one cast, ``rfft`` in float32, no extra copies), as measured when chapter 06 was
#: planned (the project's issue 17; that run's record is not in ``figures/data``): its speed-up
#: over that baseline, ``(lowest, highest)`` over each range of ``L``. Slower than the baseline
#: from 8K on.
FLASHFFTCONV_H200: dict[str, tuple[float, float]] = {
    "1K-4K": (1.66, 1.66),
    "8K-256K": (0.55, 0.88),
}
