"""A whole gated causal FFT convolution of a row in one Triton kernel, on chip (chapter 06).

The eager operator (:func:`hyena_lab.fftconv` between two gates, paper Sec. 3.1 / Algorithm 3)
goes through device memory many times: gate, pad, ``rfft``, multiply, ``irfft``, slice, skip,
gate. :func:`fftconv_fused` does it in ONE kernel launch: each row ``(b, d)`` is read once, its
length-``N = 2L`` DFT is computed as matrix products (``tl.dot``) through the four-step /
Monarch form of :mod:`hyena_lab.monarch` (FlashFFTConv, Fu et al. 2023, runs the same idea on
tensor cores), multiplied by the filter's spectrum, transformed back, and written once::

    y = post_gate * (c + bias * w),   w = pre_gate * u,   c = causal_conv(w, k)

**The four-step DFT on one row.** ``N = N1 N2``; the padded row ``x`` is read as the matrix
``X[n1, n2] = x[N2 n1 + n2]`` ``(N1, N2)``. Then (``F_m`` the DFT matrix, ``T[k1, n2] =
w_N^(k1 n2)`` the twiddles, ``.`` elementwise)::

    U = ((F_N1 @ X) . T) @ F_N2          U[k1, k2] = DFT(x)[k1 + N1 k2]          (forward)
    y = Re( conj(F_N1) @ ((V @ conj(F_N2)) . conj(T)) )   rows n1 < N1/2 only     (inverse)

with ``V = U . K / N`` and ``K`` the filter's spectrum laid out in the same ``(k1, k2)`` order
(:func:`filter_spectrum`, made by torch once per call), so no permutation is ever formed: the
inverse is the forward transposed (``F_N`` is symmetric), and it starts from the order the
forward left. What is skipped: the zero half of the padded row (``X``'s rows ``n1 >= N1/2``:
neither loaded nor multiplied, stage one is ``(N1, N1/2) @ (N1/2, N2)``), and the second half of
the output and its imaginary part (the last stage is ``(N1/2, N1) @ (N1, N2)``).

**Two rows per transform.** ``k`` is real, so the convolution is real-linear and two rows
``a, b`` of one channel ride as one complex signal: ``conv(w_a + i w_b) = conv(w_a) + i
conv(w_b)``. The first and last stages do the same work per row as a real transform would (half
a complex one); the two middle ``(N1, N2) @ (N2, N2)`` stages are shared by the pair. Dot FLOPs
per row: ``4 N N1 + 8 N N2`` (:func:`kernel_cost`). Complex numbers are pairs of real fp32
tiles; every product accumulates in fp32.

**Round-off.** A radix-2 FFT chains ``log2 N`` butterfly stages; here the chain is four dot
stages (two per transform) and three elementwise complex products. Each dot rounds its operands
to its input precision ``u_in`` and sums in fp32: on random data a relative error of about
``sqrt(2) u_in`` per stage, ``~ sqrt(4 * 2) u_in`` over the four (worst case ``2 sqrt(f) u_in``
per stage of size ``f``, far from sharp). ``tf32`` (``u_in = 2^-11``; the dot precision for
bf16/fp16 inputs): ``~1.4e-3``; then the output is rounded to bf16 (``2^-8``, ``~2e-3`` rms),
so bf16 lands near ``3e-3`` and is held to ``1e-2`` (:data:`hyena_lab.checks.HALF_VS_F64`).
``tf32x3`` (fp32 inputs: each operand split into two tf32 parts, the ``lo * lo`` product
dropped, ``~2^-22``) plus fp32 sums of ``f <= 128`` terms: ``~1e-6``, held to ``1e-4``
(:func:`expected_rel_error`). Under ``TRITON_INTERPRET=1`` the dots are numpy fp32 products
(``~2e-7`` measured). The error is relative to the whole row: like every FFT convolution the
kernel is causal only up to it.

Supported lengths: ``L`` a power of two with ``256 <= 2L <= 8192`` (:func:`supported`), so that
``N1, N2 >= 16`` and every dot has an inner size ``>= 16`` (the smallest Triton accepts on
NVIDIA GPUs; at ``N = 256`` stage one's inner size is padded from 8 to 16 with masked zeros).
Other lengths: use :func:`hyena_lab.fftconv`.

Triton is imported on first use (:func:`_kernel`), never when this module is imported, so
``hyena_lab`` imports without it; set ``TRITON_INTERPRET=1`` before the first call to run on a
CPU (slowly: tests use tiny sizes).
"""

from __future__ import annotations

import math
import os
from functools import lru_cache
from typing import Any

import torch

from ..checks import HALF_VS_F64, check_float, check_ndim, check_positive_int
from ..monarch import dft_matrix, twiddle
from ..roofline import Cost
from . import grid

__all__ = [
    "SUPPORTED_LENGTHS", "expected_rel_error", "factors", "fftconv_fused", "fftconv_rows",
    "filter_spectrum", "kernel_cost", "launch_config", "supported",
]  # fmt: skip

#: The sequence lengths the kernel runs: powers of two with 16 * 16 <= 2L <= 8192.
SUPPORTED_LENGTHS = tuple(2**m for m in range(7, 13))  # 128 ... 4096

_INPUT_DTYPES = (torch.float32, torch.bfloat16, torch.float16)

#: ``triton.language``, bound by :func:`_kernel` on first use (the kernel body reads it as a
#: module global, as ``triton.jit`` and its interpreter expect).
tl: Any = None


# ----------------------------------------------------------------------------------- the plan
def supported(L: int) -> bool:
    """Whether :func:`fftconv_fused` runs length ``L``: a power of two, ``128 <= L <= 4096``."""
    return isinstance(L, int) and not isinstance(L, bool) and L in SUPPORTED_LENGTHS


def _check_length(L: int) -> None:
    if not supported(L):
        raise ValueError(
            f"fftconv_fused supports L a power of two with 256 <= 2L <= 8192, i.e. L in "
            f"{list(SUPPORTED_LENGTHS)}; got L={L}. Use hyena_lab.fftconv for other lengths."
        )


def factors(L: int) -> tuple[int, int, int]:
    """``(N1, N2, K1)`` for ``N = 2L = N1 N2``: ``N1 = 2^ceil(m/2) >= N2 = 2^floor(m/2)``
    (``N = 2^m``; balanced factors minimise the dot FLOPs ``4 N N1 + 8 N N2`` up to ties) and
    ``K1 = max(N1 / 2, 16)``, the rows of ``X`` that hold the unpadded input (padded with masked
    zero rows to 16, the smallest inner size of a dot, at ``N = 256``)."""
    _check_length(L)
    m = (2 * L).bit_length() - 1
    N1, N2 = 2 ** ((m + 1) // 2), 2 ** (m // 2)
    return N1, N2, max(N1 // 2, 16)


def launch_config(L: int) -> dict[str, int | bool]:
    """``num_warps`` and whether the twiddles and the spectrum stay in registers (``hoist``).

    One program holds a pair of rows: about six live ``(N1, N2)`` fp32 tiles, plus the
    constants (``F_N1``'s half, ``F_N2``, and when hoisted ``T`` and the spectrum: ``N1^2/2 +
    2 N2^2 + 4 N`` floats). Measured on the H200 (bf16, ``B D = 2^18 * 768 / L`` rows, one
    gated convolution, 2026-12-03, ``num_warps`` 2/4/8/16 x hoist): every configuration spills
    registers; the fastest were 4 warps, hoisted, at ``L = 1024`` (2.27 ms; 2 warps 2.18 ms)
    and ``L = 2048`` (2.02 ms), and 8 warps, hoisted, at ``L = 4096`` (3.52 ms; 4 warps 7.6 ms,
    16 warps 13.6 ms). Lengths below 1024 were not measured and keep 4 warps.
    """
    N = 2 * L
    _check_length(L)
    return {"num_warps": 4 if N <= 4096 else 8, "hoist": True}


def kernel_cost(L: int, rows: int, elt_bytes: int = 2, gates: int = 2) -> Cost:
    """Counted work of one :func:`fftconv_fused` forward over ``rows = B D`` rows of length ``L``.

    FLOPs: the dots (``2 m n k`` each; per pair of rows four of each shape ``(N1, K1, N2)``,
    ``(N1, N2, N2)`` twice, ``(K1, N1, N2)``), plus the elementwise work on fp32 units: two
    twiddle products and one spectrum product (complex, 6 FLOPs each, per pair of rows), the
    gates (1 FLOP each) and the skip (2). Bytes: the input, each gate read once, the output
    written once (``elt_bytes`` each), plus the spectra (``D`` of them, ``8 N`` bytes, read once
    if the rows of one channel run together, which the grid arranges; not counted here since
    ``D`` is not known). ``Cost.matmul_flops`` holds the dot FLOPs.
    """
    N1, N2, K1 = factors(L)
    N = 2 * L
    pair_dots = 4 * (2 * N1 * K1 * N2) + 8 * (2 * N1 * N2 * N2) + 4 * (2 * K1 * N1 * N2)
    dot_flops = rows * pair_dots / 2
    elementwise = rows * (3 * 6 * N / 2 + (gates + 2) * L)
    nbytes = rows * L * elt_bytes * (2 + gates)
    return Cost(dot_flops + elementwise, float(nbytes), float(dot_flops))


def expected_rel_error(dtype: torch.dtype) -> float:
    """The tolerance on ``rel_err(fftconv_fused(...), float64 reference)`` for inputs of
    ``dtype`` on O(1) random data (module docstring, *Round-off*): ``HALF_VS_F64 = 1e-2`` for
    bf16/fp16 (the output's own rounding, ``2^-8`` for bf16, and the tf32 stages' ``~1.4e-3``),
    ``1e-4`` for fp32 (tf32x3 stages, ``~1e-6``; a hundredfold margin)."""
    if dtype in (torch.bfloat16, torch.float16):
        return HALF_VS_F64
    if dtype == torch.float32:
        return 1e-4
    raise TypeError(f"dtype must be one of {_INPUT_DTYPES}, got {dtype}")


# ------------------------------------------------------------------------------- the constants
@lru_cache(maxsize=32)
def _tables(L: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``F_N1[:, :K1]`` ``(2, N1, K1)``, ``F_N2`` ``(2, N2, N2)``, ``T`` ``(2, N1, N2)``: real and
    imaginary parts, fp32, rounded once from float64 (:mod:`hyena_lab.monarch`)."""
    N1, N2, K1 = factors(L)
    with torch.inference_mode(False):
        f1 = dft_matrix(N1)[:, :K1]  # (N1, K1): only columns n1 < K1 meet nonzero input
        f2 = dft_matrix(N2)  # (N2, N2)
        tw = twiddle(N1, N2)  # (N1, N2): T[k1, n2] = w_N^(k1 n2)
        return tuple(
            torch.stack([m.real, m.imag]).to(torch.float32).contiguous().to(device)
            for m in (f1, f2, tw)
        )  # type: ignore[return-value]


def filter_spectrum(k: torch.Tensor) -> torch.Tensor:
    """The spectrum of filters ``k`` ``(D, L)`` in the kernel's layout: ``(D, 2, N1, N2)`` fp32,
    ``S[d, :, k1, k2] = (Re, Im) of DFT_N(k_d padded)[k1 + N1 k2] / N`` (``N = 2L``), the order
    the forward four-step transform leaves its output in, with the inverse's ``1 / N``."""
    check_float(k, "k")
    check_ndim(k, "k", 2, "(D, L)")
    L = k.shape[-1]
    N1, N2, _ = factors(L)
    N = 2 * L
    spec = torch.fft.fft(k.detach().to(torch.float32), n=N) / N  # (D, N), index k1 + N1 k2
    spec = spec.reshape(-1, N2, N1).transpose(-1, -2)  # (D, N1, N2), [k1, k2]
    return torch.stack([spec.real, spec.imag], dim=1).contiguous()  # (D, 2, N1, N2)


# ---------------------------------------------------------------------------------- the kernel
def _fftconv_sram_kernel(
    u_ptr, pre_ptr, post_ptr, bias_ptr, out_ptr, spec_ptr, f1_ptr, f2_ptr, tw_ptr,
    B, D, SPLIT,
    ITERS: tl.constexpr, L: tl.constexpr, N1: tl.constexpr, N2: tl.constexpr, K1: tl.constexpr,
    HAS_PRE: tl.constexpr, HAS_POST: tl.constexpr, HAS_BIAS: tl.constexpr,
    FLIP: tl.constexpr, HOIST: tl.constexpr, PRECISION: tl.constexpr,
):  # fmt: skip
    """Program ``(d, s)``: channel ``d``, the row pairs ``(2p, 2p + 1)``, ``p = s + i SPLIT`` for
    ``i < ITERS`` (a trip count fixed at compile time: the interpreter cannot loop to a run-time
    bound; pairs past the end are masked off).
    ``u``, gates, ``out``: ``(B, D, L)`` contiguous; ``spec`` ``(D, 2, N1, N2)``; tables as in
    :func:`_tables`. ``FLIP`` reverses time on load and store (the adjoint, anti-causal conv)."""
    d = tl.program_id(0)
    s = tl.program_id(1)
    r1 = tl.arange(0, N1)  # k1 (rows of the spectrum tiles)
    c2 = tl.arange(0, N2)  # n2 / k2 (columns)
    h1 = tl.arange(0, K1)  # n1 < K1: rows of the input tile
    # constants, read once per program
    f1 = r1[:, None] * K1 + h1[None, :]  # (N1, K1)
    F1r = tl.load(f1_ptr + f1)
    F1i = tl.load(f1_ptr + N1 * K1 + f1)
    F1rT = tl.trans(F1r)  # (K1, N1): rows n1 < K1 of F_N1 (symmetric)
    F1iT = tl.trans(F1i)
    f2 = c2[:, None] * N2 + c2[None, :]  # (N2, N2)
    F2r = tl.load(f2_ptr + f2)
    F2i = tl.load(f2_ptr + N2 * N2 + f2)
    tile = r1[:, None] * N2 + c2[None, :]  # (N1, N2) offsets of T and the spectrum
    spec_d = spec_ptr + d.to(tl.int64) * (2 * N1 * N2)
    if HOIST:
        Tr = tl.load(tw_ptr + tile)
        Ti = tl.load(tw_ptr + N1 * N2 + tile)
        Kr = tl.load(spec_d + tile)
        Ki = tl.load(spec_d + N1 * N2 + tile)
    t = h1[:, None] * N2 + c2[None, :]  # (K1, N2): time t = N2 n1 + n2 of X[n1, n2]
    live = t < L  # rows n1 >= N1/2 are the zero padding (all live but at N = 256)
    if FLIP:
        pos = (L - 1) - t
    else:
        pos = t
    if HAS_BIAS:
        bias = tl.load(bias_ptr + d).to(tl.float32)
    for i in range(ITERS):
        p = s + i * SPLIT
        row_a = (2 * p).to(tl.int64) * D + d
        off_a = row_a * L + pos  # (K1, N2)
        off_b = off_a + D * L
        live_a = live & (2 * p < B)  # the last program's last pair may lie past the end
        live_b = live & (2 * p + 1 < B)  # an odd B leaves the last row without a partner
        xa = tl.load(u_ptr + off_a, mask=live_a, other=0.0).to(tl.float32)
        xb = tl.load(u_ptr + off_b, mask=live_b, other=0.0).to(tl.float32)
        if HAS_PRE:
            xa = xa * tl.load(pre_ptr + off_a, mask=live_a, other=0.0).to(tl.float32)
            xb = xb * tl.load(pre_ptr + off_b, mask=live_b, other=0.0).to(tl.float32)
        if HOIST:
            tr, ti, kr, ki = Tr, Ti, Kr, Ki
        else:
            tr = tl.load(tw_ptr + tile)
            ti = tl.load(tw_ptr + N1 * N2 + tile)
            kr = tl.load(spec_d + tile)
            ki = tl.load(spec_d + N1 * N2 + tile)
        # forward 1, (F_N1 (x) I) on x = xa + i xb: (N1, K1) @ (K1, N2), padding rows skipped
        yr = tl.dot(F1r, xa, input_precision=PRECISION)
        yr = tl.dot(F1i, -xb, yr, input_precision=PRECISION)
        yi = tl.dot(F1r, xb, input_precision=PRECISION)
        yi = tl.dot(F1i, xa, yi, input_precision=PRECISION)
        # twiddles T: (N1, N2), complex product
        zr = yr * tr - yi * ti
        zi = yr * ti + yi * tr
        # forward 2, (I (x) F_N2): (N1, N2) @ (N2, N2); U[k1, k2] = DFT(x)[k1 + N1 k2]
        ur = tl.dot(zr, F2r, input_precision=PRECISION)
        ur = tl.dot(-zi, F2i, ur, input_precision=PRECISION)
        ui = tl.dot(zr, F2i, input_precision=PRECISION)
        ui = tl.dot(zi, F2r, ui, input_precision=PRECISION)
        # the filter: V = U . K / N (the spectrum is laid out [k1, k2], 1/N folded in)
        vr = ur * kr - ui * ki
        vi = ur * ki + ui * kr
        # inverse 1, V @ conj(F_N2): (N1, N2) @ (N2, N2)
        wr = tl.dot(vr, F2r, input_precision=PRECISION)
        wr = tl.dot(vi, F2i, wr, input_precision=PRECISION)
        wi = tl.dot(vi, F2r, input_precision=PRECISION)
        wi = tl.dot(-vr, F2i, wi, input_precision=PRECISION)
        # conj(T)
        qr = wr * tr + wi * ti
        qi = wi * tr - wr * ti
        # inverse 2, conj(F_N1)[:K1] @ Q: (K1, N1) @ (N1, N2); Re -> row a, Im -> row b
        ya = tl.dot(F1rT, qr, input_precision=PRECISION)
        ya = tl.dot(F1iT, qi, ya, input_precision=PRECISION)
        yb = tl.dot(F1rT, qi, input_precision=PRECISION)
        yb = tl.dot(F1iT, -qr, yb, input_precision=PRECISION)
        if HAS_BIAS:  # the skip term of Sec. 3.1, on the gated input w
            ya = ya + bias * xa
            yb = yb + bias * xb
        if HAS_POST:
            ya = ya * tl.load(post_ptr + off_a, mask=live_a, other=0.0).to(tl.float32)
            yb = yb * tl.load(post_ptr + off_b, mask=live_b, other=0.0).to(tl.float32)
        tl.store(out_ptr + off_a, ya.to(out_ptr.dtype.element_ty), mask=live_a)
        tl.store(out_ptr + off_b, yb.to(out_ptr.dtype.element_ty), mask=live_b)


@lru_cache(maxsize=1)
def _kernel() -> Any:
    """Import triton, bind :data:`tl`, and jit the kernel (once; ``TRITON_INTERPRET`` is read
    here, so set it before the first call)."""
    global tl
    try:
        import triton
        import triton.language as triton_language
    except ImportError as err:  # pragma: no cover - the tests skip without triton
        raise RuntimeError(
            "fftconv_fused needs triton (pip install triton); use hyena_lab.fftconv without it"
        ) from err
    tl = triton_language
    return triton.jit(_fftconv_sram_kernel)


def _interpreting() -> bool:
    return os.environ.get("TRITON_INTERPRET", "0") not in ("", "0")


def _check_device(u: torch.Tensor) -> None:
    if u.device.type != "cuda" and not _interpreting():
        raise RuntimeError(
            f"fftconv_fused runs on a CUDA device (got a tensor on {u.device}); on a CPU set "
            "TRITON_INTERPRET=1 before the first call (slow: tests only) or use hyena_lab.fftconv"
        )


def _split(B: int, D: int, device: torch.device) -> int:
    """Programs per channel: about 4 programs per multiprocessor in all, each looping over its
    pairs of rows (a persistent grid: the constants are read once per program)."""
    pairs = (B + 1) // 2
    if device.type != "cuda":
        return 1
    sms = torch.cuda.get_device_properties(device).multi_processor_count
    return max(1, min(pairs, math.ceil(4 * sms / D)))


def _check_rows(u: torch.Tensor, name: str = "u") -> None:
    check_float(u, name)
    check_ndim(u, name, 3, "(B, D, L)")
    if u.dtype not in _INPUT_DTYPES:
        raise TypeError(
            f"{name} must be float32, bfloat16 or float16 (got {u.dtype}); use hyena_lab.fftconv "
            "for float64"
        )


def _check_bias(bias: torch.Tensor | None, u: torch.Tensor) -> None:
    if bias is None:
        return
    check_float(bias, "bias")
    D = u.shape[1]
    if bias.shape != (D,) or bias.device != u.device:
        raise ValueError(
            f"bias must have shape (D,) = ({D},) on {u.device}, got {tuple(bias.shape)} on "
            f"{bias.device}"
        )


def _check_like(x: torch.Tensor | None, u: torch.Tensor, name: str) -> torch.Tensor | None:
    if x is None:
        return None
    check_float(x, name)
    if x.shape != u.shape or x.dtype != u.dtype or x.device != u.device:
        raise ValueError(
            f"{name} must be like u: shape {tuple(u.shape)}, dtype {u.dtype}, device {u.device}; "
            f"got shape {tuple(x.shape)}, dtype {x.dtype}, device {x.device}"
        )
    return x.contiguous()


def fftconv_rows(
    u: torch.Tensor,
    spectrum: torch.Tensor,
    bias: torch.Tensor | None = None,
    pre_gate: torch.Tensor | None = None,
    post_gate: torch.Tensor | None = None,
    *,
    flip: bool = False,
    out: torch.Tensor | None = None,
    split: int | None = None,
    config: dict[str, int | bool] | None = None,
) -> torch.Tensor:
    """One kernel launch, no autograd: ``out = post_gate * (conv(w) + bias * w)``, ``w =
    pre_gate * u``, ``conv`` causal with the filters whose :func:`filter_spectrum` is
    ``spectrum`` (anti-causal, ``flip(conv(flip(w)))``, with ``flip=True``).

    ``out``: ``(B, D, L)`` contiguous, any float dtype (fp32 keeps the backward's adjoint
    unrounded), written by the kernel; a new tensor of ``u``'s dtype if ``None``. ``split``:
    programs per channel (each loops over every ``split``-th pair of rows); ``None`` picks about
    four programs per multiprocessor (one on a CPU). ``config``: ``num_warps`` / ``hoist``
    overriding :func:`launch_config` (for tuning on a GPU).
    """
    out, _ = _launch(u, spectrum, bias, pre_gate, post_gate, flip, out, split, config)
    return out


def _launch(
    u: torch.Tensor,
    spectrum: torch.Tensor,
    bias: torch.Tensor | None,
    pre_gate: torch.Tensor | None,
    post_gate: torch.Tensor | None,
    flip: bool,
    out: torch.Tensor | None,
    split: int | None,
    config: dict[str, int | bool] | None,
) -> tuple[torch.Tensor, Any]:
    """Check, allocate and launch; returns ``(out, the launched kernel)`` (the second carries the
    compiler's report on a GPU: ``n_regs``, ``n_spills``)."""
    _check_rows(u)
    B, D, L = u.shape
    N1, N2, K1 = factors(L)
    if spectrum.shape != (D, 2, N1, N2) or spectrum.dtype != torch.float32:
        raise ValueError(
            f"spectrum must be filter_spectrum(k) of k (D, L) = ({D}, {L}): float32 "
            f"{(D, 2, N1, N2)}, got {spectrum.dtype} {tuple(spectrum.shape)}"
        )
    _check_bias(bias, u)
    pre_gate = _check_like(pre_gate, u, "pre_gate")
    post_gate = _check_like(post_gate, u, "post_gate")
    if out is None:
        out = torch.empty_like(u, memory_format=torch.contiguous_format)
    elif (
        out.shape != u.shape
        or not out.is_contiguous()
        or not out.is_floating_point()
        or out.device != u.device
    ):
        raise ValueError(f"out must be a contiguous float tensor {tuple(u.shape)} on {u.device}")
    _check_device(u)
    u = u.contiguous()
    spectrum = spectrum.to(u.device).contiguous()
    f1, f2, tw = _tables(L, u.device)
    cfg = {**launch_config(L), **(config or {})}
    split = _split(B, D, u.device) if split is None else check_positive_int(split, "split")
    iters = math.ceil((B + 1) // 2 / split)
    dummy = spectrum  # stands in for absent gates / bias (never read)
    handle = _kernel()[grid(D, split)](
        u, dummy if pre_gate is None else pre_gate, dummy if post_gate is None else post_gate,
        dummy if bias is None else bias.contiguous(), out, spectrum, f1, f2, tw,
        B, D, split,
        ITERS=iters, L=L, N1=N1, N2=N2, K1=K1,
        HAS_PRE=pre_gate is not None, HAS_POST=post_gate is not None, HAS_BIAS=bias is not None,
        FLIP=bool(flip), HOIST=bool(cfg["hoist"]),
        PRECISION="tf32x3" if u.dtype == torch.float32 else "tf32",
        num_warps=int(cfg["num_warps"]), num_stages=1,
    )  # fmt: skip
    return out, handle


# ------------------------------------------------------------------------------------ autograd
def _cross_correlate_sum(gz: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """``dk[d, j] = sum_b sum_t gz[b, d, t] w[b, d, t - j]`` ``(D, L)`` fp32, by ``rfft`` at
    ``2L`` (no wrap: ``t - j < 0`` lands in the zero padding): the filter's gradient."""
    L = gz.shape[-1]
    prod = torch.fft.rfft(gz, n=2 * L) * torch.fft.rfft(w, n=2 * L).conj()  # (B, D, L + 1)
    return torch.fft.irfft(prod.sum(0), n=2 * L)[..., :L]


class _FFTConvFused(torch.autograd.Function):
    """``y = post * (conv(w, k) + bias w)``, ``w = pre u``. Backward, with ``g_z = post g``:
    ``d_w = flip(conv(flip(g_z), k)) + bias g_z`` by the same kernel (``flip=True``, ``post`` as
    its pre-gate, fp32 out), ``d_u = pre d_w``, ``d_pre = u d_w``; ``d_k`` (a sum over the batch)
    and ``d_bias`` by torch; ``d_post = g z`` with ``z = conv(w, k) + bias w`` *recomputed* by
    one more forward launch (only when ``post`` needs a gradient) rather than saved: it keeps
    the saved activations to the inputs, for one extra read of ``u``, ``pre`` and a write."""

    @staticmethod
    def forward(ctx, u, k, bias, pre_gate, post_gate):  # type: ignore[override]
        spectrum = filter_spectrum(k)
        y = fftconv_rows(u, spectrum, bias, pre_gate, post_gate)
        ctx.save_for_backward(u, spectrum, bias, pre_gate, post_gate)
        ctx.k_dtype = k.dtype
        return y

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, g):  # type: ignore[override]
        u, spectrum, bias, pre, post = ctx.saved_tensors
        need_u, need_k, need_bias, need_pre, need_post = ctx.needs_input_grad
        g = g.contiguous().to(u.dtype)
        f32 = torch.float32
        d_u = d_k = d_bias = d_pre = d_post = None
        if need_u or need_pre:
            d_w = torch.empty(u.shape, dtype=f32, device=u.device)
            fftconv_rows(g, spectrum, bias, post, None, flip=True, out=d_w)
            if need_u:
                d_u = (d_w if pre is None else d_w * pre.to(f32)).to(u.dtype)
            if need_pre:
                d_pre = (d_w * u.to(f32)).to(pre.dtype)
        if need_k or need_bias:
            w = u.to(f32) if pre is None else u.to(f32) * pre.to(f32)
            gz = g.to(f32) if post is None else g.to(f32) * post.to(f32)
            if need_k:
                d_k = _cross_correlate_sum(gz, w).to(ctx.k_dtype)
            if need_bias:
                d_bias = (gz * w).sum(dim=(0, 2)).to(bias.dtype)
        if need_post:
            z = torch.empty(u.shape, dtype=f32, device=u.device)
            fftconv_rows(u, spectrum, bias, pre, None, out=z)
            d_post = (g.to(f32) * z).to(post.dtype)
        return d_u, d_k, d_bias, d_pre, d_post


def fftconv_fused(
    u: torch.Tensor,
    k: torch.Tensor,
    bias: torch.Tensor | None = None,
    pre_gate: torch.Tensor | None = None,
    post_gate: torch.Tensor | None = None,
) -> torch.Tensor:
    """The gated causal long convolution of Hyena (Sec. 3.1) in one Triton kernel launch:
    ``post_gate * (c + bias * w)`` with ``w = pre_gate * u`` and ``c[t] = sum_{s<=t} k[t-s]
    w[s]``, i.e. ``post_gate * hyena_lab.fftconv(w, k, bias)`` (missing gates = 1).

    Args:
        u: ``(B, D, L)`` float32, bfloat16 or float16; ``L`` in :data:`SUPPORTED_LENGTHS`
            (a power of two, ``256 <= 2L <= 8192``; else ``ValueError``: use
            :func:`hyena_lab.fftconv`).
        k: filters ``(D, L)``, any float dtype (its spectrum is taken in fp32).
        bias: the skip term ``(D,)``, or ``None``.
        pre_gate, post_gate: ``(B, D, L)`` like ``u`` (shape, dtype, device), or ``None``.

    Returns:
        ``(B, D, L)`` in ``u``'s dtype. Differentiable in every tensor argument.

    Round-off against a float64 evaluation, on O(1) random data: ``<= 1e-2`` relative for
    bf16/fp16 (tf32 dots, ``~1.4e-3`` over four stages of ``~sqrt(2) 2^-11``, then the output's
    rounding to bf16, ``2^-8``), ``<= 1e-4`` for fp32 (tf32x3 dots, ``~1e-6``); see
    :func:`expected_rel_error` and the module docstring. Like every FFT convolution it is causal
    only up to this round-off, relative to the whole row. Not twice differentiable.
    """
    _check_rows(u)
    _, D, L = u.shape
    _check_length(L)
    check_float(k, "k")
    if k.shape != (D, L):
        raise ValueError(
            f"k must be filters (D, L) = ({D}, {L}) matching u {tuple(u.shape)}, got "
            f"{tuple(k.shape)}"
        )
    _check_bias(bias, u)
    pre_gate = _check_like(pre_gate, u, "pre_gate")
    post_gate = _check_like(post_gate, u, "post_gate")
    _check_device(u)
    return _FFTConvFused.apply(u.contiguous(), k, bias, pre_gate, post_gate)
