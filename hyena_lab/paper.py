"""Numbers published with the paper (Poli et al. 2023, arXiv 2302.10866) that chapters quote.

Kept in one module, each with its source, so that a chapter's sentence about "the paper" and the
code that checks it read the same numbers; the lowest layer of the package (imports nothing).
"""

from __future__ import annotations

__all__ = ["PAPER_FIGURE_4_3_MS"]

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
