"""Chapter 5's exercises (GPU kernels, FLOPs and memory, Sec. 4.4): attention's FLOPs, when naive
attention scores fill a GPU, Hyena's speedup in Figure 4.3's published data
(:data:`hyena_lab.paper.PAPER_FIGURE_4_3_MS`), and a faster ``fftconv`` that stays correct."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping

import torch

from ..checks import F32_FFT_CHAIN, HALF_VS_F64, rel_err
from ..conv import circular_fftconv, direct_conv
from ..paper import PAPER_FIGURE_4_3_MS
from ..roofline import attention_cost
from .feedback import Case, Exercise, Wrong, checker, seeded

#: Accepted relative error of an ``fftconv`` variant against the float64 definition, per input
#: dtype. float32: a chain of FFTs at L <= 1000 (``checks.F32_FFT_CHAIN`` = 1e-5). bfloat16:
#: ``checks.HALF_VS_F64`` = 1e-2 covers one rounding of the inputs and of the output; a variant
#: may round once more (e.g. its spectra or an intermediate product), hence twice that, 2e-2.
VARIANT_TOLERANCE = {torch.float32: F32_FFT_CHAIN, torch.bfloat16: 2 * HALF_VS_F64}


def solution_attention_flops(
    batch: int, heads: int, L: int, head_dim: int, causal: bool = True
) -> float:
    """FLOPs of ``QK^T`` and ``PV`` in scaled dot-product attention (softmax left out): 2 FLOP per
    multiply-add, per (query, key) pair and head dimension, two products; a causal kernel
    computes only the ``L (L + 1) / 2`` pairs with key <= query."""
    pairs = L * (L + 1) / 2 if causal else float(L * L)
    return 2 * 2.0 * batch * heads * head_dim * pairs


@checker("fn(batch, heads, L, head_dim, causal) -> flops")
def check_attention_flops(fn: Callable[..., float]) -> str:
    """Check ``fn(batch, heads, L, head_dim, causal)`` against ``roofline.attention_cost``."""
    shapes = ((2, 3, 5, 4), (64, 12, 8192, 64), (8, 16, 65536, 128), (1, 1, 1, 1))
    for (batch, heads, L, head_dim), causal in itertools.product(shapes, (True, False)):
        case = Case(f"batch={batch}, heads={heads}, L={L}, head_dim={head_dim}, causal={causal}")
        got = case.number(case.call(fn, batch, heads, L, head_dim, causal), "a number of FLOPs")
        ref = attention_cost(batch, heads, L, head_dim, causal=causal).flops
        if not math.isclose(got, ref, rel_tol=1e-9):  # integers below 2^53: exact in float64
            case.diagnose({
                "half the reference: 2 FLOP per multiply-add, and two products (QK^T and PV)":
                    math.isclose(got / ref, 0.5, rel_tol=1e-6),
                "the causal mask keeps L (L + 1) / 2 pairs, not L^2":
                    causal and L > 1 and math.isclose(got, 2 * ref * L / (L + 1), rel_tol=1e-6),
                "count the diagonal: L (L + 1) / 2 pairs, not L^2 / 2":
                    causal and L > 1 and math.isclose(got, ref * L / (L + 1), rel_tol=1e-6),
                f"returned {got:.4g}, expected {ref:.4g}": True,
            })  # fmt: skip
    return "4 N H L^2 d_h (x (L+1)/2L when causal) equals roofline.attention_cost on 8 shapes"


def solution_max_naive_attention_length(
    batch: int, heads: int, memory_bytes: int, elt_bytes: int = 2
) -> int:
    """Longest ``L`` whose ``(batch, heads, L, L)`` score matrix fits in ``memory_bytes``: naive
    attention stores ``softmax(QK^T)`` (FlashAttention never does), which is why the plain
    Transformer is "X" (out of memory) in Table 4.2."""
    return math.isqrt(memory_bytes // (batch * heads * elt_bytes))


@checker("fn(batch, heads, memory_bytes, elt_bytes) -> L")
def check_max_naive_attention_length(fn: Callable[..., int]) -> str:
    """Check ``fn(batch, heads, memory_bytes, elt_bytes)`` exactly, off-by-one included."""
    gib = 2**30
    cases = ((1, 1, 8, 2), (1, 1, 100, 4), (1, 12, 80 * gib, 2), (32, 12, 80 * gib, 2))
    for batch, heads, memory, elt in (*cases, (64, 16, 141 * 10**9, 4)):  # the last: an H200
        case = Case(f"batch={batch}, heads={heads}, memory_bytes={memory}, elt_bytes={elt}")
        got = case.integer(case.call(fn, batch, heads, memory, elt), "a whole length L")
        ref = solution_max_naive_attention_length(batch, heads, memory, elt)
        per_entry = batch * heads * elt  # score bytes per (query, key) pair, all batch and heads
        if got > ref:
            raise case.fail(f"at L={got} the scores need {per_entry * got**2:,} bytes > {memory:,}")
        if got < ref:
            need = per_entry * (got + 1) ** 2
            raise case.fail(f"L={got} fits, but so does L={got + 1} ({need:,} bytes)")
    return (
        "exact on 5 cases: at batch 32, 12 heads, bf16, one layer's scores fill 80 GiB at "
        f"L = {solution_max_naive_attention_length(32, 12, 80 * gib, 2):,}"
    )


def solution_published_speedups() -> dict[int, float]:
    """Speedup ``t_attention / t_hyena`` of Hyena over FlashAttention per length (Fig. 4.3)."""
    data = PAPER_FIGURE_4_3_MS
    times = zip(data["lengths"], data["flash_attention"], data["hyena"], strict=True)
    return {L: t_attn / t_hyena for L, t_attn, t_hyena in times}


@checker()
def check_published_speedups(answer: Mapping[int, float]) -> str:
    """Check a dict ``{L: speedup}`` at (at least) L = 8192 and 65536 from Figure 4.3's data."""
    ref = solution_published_speedups()
    if not isinstance(answer, Mapping):
        raise Wrong(f"expected a dict {{length: speedup}}, got {type(answer).__name__}")
    for L in (8192, 65536):
        if L not in answer:
            raise Wrong(f"no entry for L={L}; keys must be the lengths, e.g. {{8192: ...}}")
        case = Case(f"L={L}")
        got = case.number(answer[L], "a number as the speedup")
        if not math.isclose(got, ref[L], rel_tol=0.02):  # the published times have 2-4 digits
            case.diagnose({
                "inverted: speedup = t_attention / t_hyena (> 1 when Hyena is faster)":
                    math.isclose(got, 1 / ref[L], rel_tol=0.02),
                f"{got:g} at 64K is the abstract's '100x' claim; Figure 4.3's own data say "
                "otherwise: divide the measured times": L == 65536 and got >= 50,
                f"the speedup is {ref[L]:.2f} in the published data, you have {got:.3g}": True,
            })  # fmt: skip
    return (
        f"{ref[8192]:.1f}x at 8K and {ref[65536]:.1f}x at 64K in the paper's own data: the "
        "abstract's '100x at 64K' is not what Figure 4.3 shows"
    )


def solution_fftconv_variant(u: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """``fftconv`` with one memory pass less: no skip term, so ``u`` is cast to float32 once
    (``hyena_lab.fftconv`` casts it a second time for its skip term, even without a bias).
    ``rfft(x, n=2L)`` zero-pads, but with a copy of its own, so letting it pad saves no pass.
    Half precision is computed in float32 (cuFFT's half FFTs need power-of-two sizes) and cast
    back once: the result has the dtype of ``u``."""
    L = u.shape[-1]
    compute = torch.float32 if u.dtype in (torch.float16, torch.bfloat16) else u.dtype
    u_f = torch.fft.rfft(u.to(compute), n=2 * L)  # rfft zero-pads to n (an internal copy)
    k_f = torch.fft.rfft(k.to(compute), n=2 * L)
    return torch.fft.irfft(u_f * k_f, n=2 * L)[..., :L].to(u.dtype)


@checker("fn(u, k) -> y")
def check_fftconv_variant(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> str:
    """Check a faster ``fftconv`` variant ``fn(u, k)`` before timing it: against the float64
    definition within :data:`VARIANT_TOLERANCE` for float32 and bfloat16 inputs, output in the
    input's dtype, odd lengths included."""
    for (dtype, tol), L in itertools.product(VARIANT_TOLERANCE.items(), (7, 64, 1000)):
        g = seeded(300 + L)
        u = torch.randn(2, 8, L, generator=g).to(dtype)  # (batch, d, L)
        k = (torch.randn(8, L, generator=g) / L**0.5).to(dtype)  # (d, L)
        case = Case(f"{dtype}, u of shape {tuple(u.shape)}")
        y = case.call(fn, u, k)
        if isinstance(y, torch.Tensor) and y.dtype != dtype:
            raise case.fail(f"the output is {y.dtype}; return the input's dtype")
        y = case.tensor(y, tuple(u.shape))
        if (err := rel_err(y, direct_conv(u.double(), k.double()))) > tol:
            if rel_err(y, circular_fftconv(u.double(), k.double())) < tol:
                raise case.fail("the padding to 2L is gone: this wraps around")
            raise case.fail(f"relative error {err:.2g} > {tol:.0e}")
    f32, bf16 = VARIANT_TOLERANCE.values()
    return f"causal and accurate in float32 (< {f32:.0e}) and bfloat16 (< {bf16:.0e}): now time it"


#: Chapter 5's exercises in the order the chapter poses them (its stubs follow this order).
EXERCISES = (
    Exercise("attention_flops", 5, "count the FLOPs of (causal) attention",
             solution_attention_flops, check_attention_flops),
    Exercise("max_naive_attention_length", 5, "when do attention scores fill the GPU?",
             solution_max_naive_attention_length, check_max_naive_attention_length),
    Exercise("published_speedups", 5, "Hyena's speedup in Figure 4.3's own data",
             solution_published_speedups, check_published_speedups),
    Exercise("fftconv_variant", 5, "a faster fftconv variant must stay correct",
             solution_fftconv_variant, check_fftconv_variant),
)  # fmt: skip
