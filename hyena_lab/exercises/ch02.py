"""Chapter 2's exercises (Hyena matrices, Sec. 3.1-3.2): constant gates make one filter, the cost
of materialising ``A(u)``, the official order-2 recurrence and the order-N one by hand."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import torch

from ..conv import direct_conv, fftconv, toeplitz
from ..filters import seeded as seeded_rng
from ..official import from_safari, load_vectors
from ..operator import HyenaOperator
from ..roofline import fft_flops
from .feedback import Case, Exercise, Wrong, checker, close, seeded


def solution_constant_gates_filter(
    h1: torch.Tensor, b1: float, h2: torch.Tensor, b2: float, a: float, c: float
) -> torch.Tensor:
    """The filter ``f`` ``(L,)`` of the order-2 matrix with constant gates ``x^1 = a``, ``x^2 = c``
    (Sec. 3.2): ``A = c S_h2 a S_h1 = a c S_f`` with ``S_h + b I = S_(h + b delta)``, so
    ``f = a c (h2 + b2 delta) * (h1 + b1 delta)``, causal and truncated to ``L`` taps."""
    k1, k2 = h1.clone(), h2.clone()
    k1[0] += b1  # the skip term b^n is the lag-0 tap of the effective filter
    k2[0] += b2
    return a * c * direct_conv(k2[None], k1[None])[0]


@checker("fn(h1, b1, h2, b2, a, c) -> f")
def check_constant_gates_filter(fn: Callable[..., torch.Tensor]) -> str:
    """Check ``fn(h1, b1, h2, b2, a, c) -> f`` against the operator's ``c S_h^2 a S_h^1``."""
    for L, (a, c) in ((12, (0.7, -1.3)), (5, (2.0, 0.5)), (1, (1.5, 3.0))):
        with seeded_rng(50 + L):  # the global RNG untouched
            op = HyenaOperator(2, 16, order=2).double()
        with torch.no_grad():
            h, b = op.filters(L)[:, 0], op.bias.detach()[:, 0]  # channel 0: (2, L), (2,)
        ref = c * toeplitz(h[1], b[1]) @ (a * toeplitz(h[0], b[0]))  # skip terms on diagonals
        case = Case(f"L={L}, a={a}, c={c}")
        f = case.call(fn, h[0], float(b[0]), h[1], float(b[1]), a, c)
        f = case.tensor(f, (L,), "f", {(2 * L - 1,): f"keep the first L taps: S_f is {L} x {L}"})
        if not case.expect(toeplitz(f), ref, {
            "the skip terms are missing: S_h^n carries b^n on its diagonal, so its filter is "
            "h^n + b^n delta (add b^n to tap 0)":
                close(f, a * c * direct_conv(h[1][None], h[0][None])[0]),
            "the constant gates scale the result: multiply by a * c":
                close(a * c * f, ref[:, 0]),  # the first column of S_f is f
        }):  # fmt: skip
            raise case.mismatch(toeplitz(f), ref, ", S_f vs c S_h2 a S_h1")
    return (
        "constant gates give A = a c S_f with f = (h2 + b2 delta) * (h1 + b1 delta): without "
        "input-dependent gates, Hyena is one long convolution"
    )


def solution_materialize_cost(d_model: int, L: int) -> dict[str, float]:
    """Bytes of one layer's ``A(u)`` ``(d_model, L, L)`` in bfloat16, the multiply-adds of a dense
    ``A @ v`` and the operations of two FFT convolutions of length ``2L`` (a forward and an
    inverse FFT per channel each, counted as complex FFTs by :func:`roofline.fft_flops`)."""
    return {
        "A_bytes": 2 * d_model * L * L,
        "matvec_macs": float(d_model * L * L),
        "fft_ops": 2 * 2 * d_model * fft_flops(2 * L, real=False),
    }


@checker("fn(d_model, L) -> dict(A_bytes=..., matvec_macs=..., fft_ops=...)")
def check_materialize_cost(fn: Callable[[int, int], Mapping[str, float]]) -> str:
    """Check ``fn(d_model, L) -> {"A_bytes", "matvec_macs", "fft_ops"}``, accepting 2 or 3 FFTs
    per convolution, each real (``2.5 n log2 n``) or complex (``5 n log2 n``)."""
    report, keys = [], ("A_bytes", "matvec_macs", "fft_ops")
    for d, L in ((1024, 2048), (1024, 65536), (3, 5)):
        case = Case(f"d_model={d}, L={L}")
        out = case.call(fn, d, L)
        if not isinstance(out, Mapping) or any(k not in out for k in keys):
            raise case.fail(f"return a dict with keys {', '.join(keys)}")
        A_bytes, macs, ops = (case.number(out[k], f"a number as {k}") for k in keys)
        dense, triangular = d * L * L, d * L * (L + 1) / 2
        # 2 real FFTs (2.5 n log2 n each) up to 3 complex ones (5 n log2 n) per convolution
        low, high = 4 * d * fft_flops(2 * L), 6 * d * fft_flops(2 * L, real=False)
        per_channel = " (per channel: d_model of them)" if ops * d <= high * 1.01 else ""
        case.diagnose({
            "bfloat16 takes 2 bytes an entry, not 4": A_bytes == 4 * d * L * L,
            "A(u) has one L x L matrix per channel: d_model of them": A_bytes == 2 * L * L,
            f"A_bytes = {A_bytes:.4g}, expected d_model L^2 x 2 bytes = {2 * dense:.4g}":
                A_bytes != 2 * dense,
            f"matvec_macs = {macs:.4g}: a dense (d_model, L, L) @ (d_model, L) product is "
            f"d_model L^2 = {dense:.4g} multiply-adds":
                not any(math.isclose(macs, m, rel_tol=0.01) for m in (dense, triangular)),
            f"fft_ops = {ops:.4g}, expected between {low:.4g} and {high:.4g}: two convolutions, "
            "each 2-3 FFTs of length 2L per channel, 2.5 (real) to 5 (complex) n log2 n "
            f"operations per FFT{per_channel}": not low * 0.99 <= ops <= high * 1.01,
        })  # fmt: skip
        report.append(f"L={L}: A(u) {A_bytes / 2**30:,.4g} GiB, A @ v / FFTs = {macs / ops:.3g}")
    return "; ".join(report[:2]) + ": the matrix is for looking, the recurrence for computing"


def solution_official_recurrence(
    x: Sequence[torch.Tensor], v: torch.Tensor, h: torch.Tensor, bias: torch.Tensor
) -> torch.Tensor:
    """The official order-2 layer's core by hand, ``(batch, d_model, L)``: with ``x = [x^1, x^2]``
    (``op.projections(u)``; the official code calls them ``x[1]``, ``x[0]``), it gates ``v`` with
    ``x^1``, runs ONE long convolution with the skip term, then gates with ``x^2``."""
    z = x[0] * v  # official v * x[1]
    z = fftconv(z, h, bias)  # the long convolution with its skip term
    return x[1] * z  # official ... * x[0]


@checker("fn(x, v, h, bias) -> y")
def check_official_recurrence(fn: Callable[..., torch.Tensor]) -> str:
    """Check ``fn(x, v, h, bias)`` against the official outputs (safari_order2_recall vectors)."""
    vec = load_vectors("safari_order2_recall")
    op = from_safari(vec["config"], vec["state_dict"])
    u, L, y_official = vec["cases"][0]["u"], vec["cases"][0]["L"], vec["cases"][0]["y"]
    with torch.no_grad():
        x, v = op.projections(u)  # [x^1, x^2], v: each (batch, d_model, L)
        h, bias = op.filters(L)[0], op.bias[0]  # the one long filter (d_model, L), its skip
    case = Case(f"the official order-2 recall layer, u of shape {tuple(u.shape)}")
    shape = tuple(v.shape)  # (batch, d_model, L); u is (batch, L, d_model)
    before = {tuple(u.shape): f"return the core before out_proj, shape {shape} (batch, d_model, L)"}
    y = case.tensor(case.call(fn, x, v, h, bias), shape, "y", before)
    with torch.no_grad():
        out = op.out_proj(y.transpose(1, 2))  # (batch, L, d_model)
    if not case.expect(out, y_official, {
        "the gates are swapped: official x[1] = handbook x^1 gates v first, official x[0] = "
        "handbook x^2 gates last": close(y, x[0] * fftconv(x[1] * v, h, bias)),
        "the skip term bias * (x^1 * v) is missing": close(y, x[1] * fftconv(x[0] * v, h)),
        "the official order 2 gates v BEFORE the conv":
            close(y, x[1] * (x[0] * fftconv(v, h, bias))),
    }):  # fmt: skip
        raise case.mismatch(out, y_official, ", after out_proj vs the official y")
    return (
        "out_proj(x^2 * (h conv (x^1 * v) + bias * x^1 v)) reproduces the official output: "
        "official x[1] is the handbook's x^1 (first gate), x[0] its x^2 (last gate)"
    )


def solution_hyena_recurrence(
    D_x: Sequence[torch.Tensor], S_h: Sequence[torch.Tensor], v: torch.Tensor
) -> torch.Tensor:
    """``y = D_x^N S_h^N ... D_x^1 S_h^1 v`` one factor at a time (Definition 3.1), never forming
    ``A(u)``; ``D_x[n]`` (d_model, L), ``S_h[n]`` (d_model, L, L), ``v`` (d_model, L)."""
    z = v  # (d_model, L)
    for D, S in zip(D_x, S_h, strict=True):
        z = D * (S @ z[..., None])[..., 0]  # convolve, then gate
    return z


@checker("fn(D_x, S_h, v) -> y")
def check_hyena_recurrence(fn: Callable[..., torch.Tensor]) -> str:
    """Check ``fn(D_x, S_h, v)`` against ``HyenaOperator.materialize(u) @ v`` at orders 1-3."""
    d, L = 3, 12
    for order in (2, 1, 3):  # order 2 first: a later failure then says "right at order 2"
        with seeded_rng(order):
            op = HyenaOperator(d, 16, order=order).double()
        u = torch.randn(1, L, d, generator=seeded(10 + order), dtype=torch.float64)
        with torch.no_grad():
            m = op.matrices(u)
            ref = (op.materialize(u) @ m.v[..., None])[..., 0]  # (d, L)
        case = Case(f"order {order}, d_model={d}, L={L}")
        y = case.tensor(case.call(fn, list(m.D_x), list(m.S_h), m.v), (d, L))
        gate_first = m.v
        for D, S in zip(m.D_x, m.S_h, strict=True):
            gate_first = (S @ (D * gate_first)[..., None])[..., 0]
        if case.expect(y, ref, {
            "you gate before convolving: z^(n+1) = x^n * (h^n conv z^n), i.e. apply S_h^n "
            "first, then D_x^n": close(y, gate_first),
            "factors applied in reverse order: D_x[0], S_h[0] act first on v":
                close(y, solution_hyena_recurrence(m.D_x[::-1], m.S_h[::-1], m.v)),
        }):  # fmt: skip
            continue
        if order != 2:
            raise Wrong(
                f"right at order 2 but not at order {order}: loop over all N factors "
                f"(len(D_x) == N)"
            )
        raise case.mismatch(y, ref)
    return (
        "y = D_x^N S_h^N ... D_x^1 S_h^1 v matches HyenaOperator.materialize(u) @ v at orders "
        "N = 1, 2, 3, without forming the L x L product"
    )


#: Chapter 2's exercises in the order the chapter poses them.
EXERCISES = (
    Exercise("constant_gates_filter", 2, "constant gates make one filter",
             solution_constant_gates_filter, check_constant_gates_filter),
    Exercise("materialize_cost", 2, "count the bytes of A(u) and the work of A @ v vs FFTs",
             solution_materialize_cost, check_materialize_cost),
    Exercise("official_recurrence", 2, "the official order-2 recurrence by hand",
             solution_official_recurrence, check_official_recurrence),
    Exercise("hyena_recurrence", 2, "the order-N recurrence by hand, checked against materialize",
             solution_hyena_recurrence, check_hyena_recurrence),
)  # fmt: skip
