"""FLOP and byte counts of the benchmarked operators, and the roofline model (paper Sec. 4.4).

An operator's run time is at least ``max(F / P, Q / B)``: its work ``F`` (FLOP) at the rate
``P`` of the unit that does it, and the fewest bytes ``Q`` it moves through device memory (each
input read once, each output written once) at the bandwidth ``B``. Each ``*_cost`` function
states its ``F`` and ``Q``; :func:`measure_ceilings` measures ``P`` and ``B``. These are models,
good to a small factor.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from .checks import check_lengths, check_positive_float, check_positive_int
from .measure import environment, time_fn

__all__ = [
    "CONV_COSTS", "CONV_METHODS", "Ceilings", "Cost", "attention_cost", "copy_bandwidth",
    "counted_conv_work", "counted_crossover", "direct_conv_cost", "fft_flops", "fftconv_cost",
    "fftconv_unfused_bytes", "hyena_layer_cost", "layer_time_model", "matmul_rate",
    "measure_ceilings", "mha_layer_cost", "projection_cost", "toeplitz_matvec_cost",
]  # fmt: skip

#: Forward+backward FLOPs over forward FLOPs: matrix products x3 (the grads of both operands),
#: attention x3.5 (FlashAttention's backward does five ``L x L`` products to the forward's two),
#: the FFT convolution x2.5 (an FFT of the output gradient and two inverse FFTs).
BACKWARD_FACTOR = {"matmul": 3.0, "attention": 3.5, "fft": 2.5}


@dataclass(frozen=True)
class Cost:
    """Work of one operator call: ``flops`` (FLOP) and the fewest device-memory ``bytes``;
    ``matmul_flops`` is the part of ``flops`` on matrix units (tensor cores), the rest (FFTs,
    element-wise) runs on the ordinary float32 units."""

    flops: float
    bytes: float
    matmul_flops: float = 0.0

    def __add__(self, other: Cost) -> Cost:
        return Cost(self.flops + other.flops, self.bytes + other.bytes,
                    self.matmul_flops + other.matmul_flops)  # fmt: skip

    def scaled(self, factor: float) -> Cost:
        """The same cost multiplied by ``factor`` (e.g. a forward+backward model)."""
        return Cost(self.flops * factor, self.bytes * factor, self.matmul_flops * factor)

    @property
    def intensity(self) -> float:
        """Arithmetic intensity ``flops / bytes`` in FLOP per byte."""
        return self.flops / self.bytes if self.bytes > 0 else math.inf


@dataclass(frozen=True)
class Ceilings:
    """Measured ceilings of one device: ``bandwidth`` (byte/s, a copy's bytes read + written),
    ``matmul_flops`` (FLOP/s of a large low-precision matrix product, tensor cores),
    ``fp32_flops`` (float32 with TF32 off: the ordinary units, which also run cuFFT)."""

    bandwidth: float
    matmul_flops: float
    fp32_flops: float
    device: str = ""

    def __post_init__(self) -> None:
        for name in ("bandwidth", "matmul_flops", "fp32_flops"):
            check_positive_float(getattr(self, name), name)

    def ridge(self, unit: str = "matmul") -> float:
        """Ridge point ``P / B`` in FLOP/byte of ``unit`` (``"matmul"`` or ``"fp32"``)."""
        if unit not in ("matmul", "fp32"):
            raise ValueError(f"unit must be 'matmul' or 'fp32', got {unit!r}")
        return getattr(self, f"{unit}_flops") / self.bandwidth

    def memory_floor(self, cost: Cost) -> float:
        """Seconds to move ``cost.bytes`` at full bandwidth (the HBM floor)."""
        return cost.bytes / self.bandwidth

    def compute_floor(self, cost: Cost) -> float:
        """Seconds for the FLOPs: matrix-unit part at ``matmul_flops``, the rest at fp32."""
        other = cost.flops - cost.matmul_flops
        return cost.matmul_flops / self.matmul_flops + other / self.fp32_flops

    def floor(self, cost: Cost) -> float:
        """Roofline floor ``max(compute floor, memory floor)`` in seconds."""
        return max(self.compute_floor(cost), self.memory_floor(cost))

    def to_dict(self) -> dict[str, float | str]:
        """JSON-ready dict with readable units (GB/s, TFLOP/s)."""
        return {"device": self.device, "copy_bandwidth_gbs": self.bandwidth / 1e9,
                "matmul_tflops": self.matmul_flops / 1e12, "fp32_tflops": self.fp32_flops / 1e12}

    @classmethod
    def from_dict(cls, d: dict) -> Ceilings:
        """Inverse of :meth:`to_dict`."""
        return cls(bandwidth=float(d["copy_bandwidth_gbs"]) * 1e9,
                   matmul_flops=float(d["matmul_tflops"]) * 1e12,
                   fp32_flops=float(d["fp32_tflops"]) * 1e12, device=str(d.get("device", "")))


def fft_flops(n: int, *, real: bool = True) -> float:
    """FLOPs of one FFT (or inverse) of length ``n``: ``2.5 n log2 n`` real, ``5 n log2 n`` complex.

    The handbook's one FFT count (benchFFT's): ``(n / 2) log2 n`` radix-2 butterflies of one
    complex multiply (6 FLOP) and two complex adds (4); a real input (``torch.fft.rfft``, what
    ``fftconv`` runs) is a complex FFT of ``n / 2`` points plus ``O(n)`` work, about half.
    """
    check_positive_int(n, "n")
    return (2.5 if real else 5.0) * n * math.log2(n)


def _check_sizes(names: str, *sizes: int) -> None:
    for name, value in zip(names.split(), sizes, strict=True):
        check_positive_int(value, name)


def fftconv_cost(
    batch: int, channels: int, L: int, elt_bytes: int = 2, *, backward: bool = False
) -> Cost:
    """Cost of :func:`hyena_lab.fftconv` on ``u`` (batch, channels, L) with ``k`` (channels, L).

    ``F``: per (batch, channel) row a forward and an inverse real FFT of length ``2L`` and
    ``L + 1`` complex products (6 FLOP), plus one FFT per filter channel. ``Q``: read ``u``,
    ``k``, write ``y`` (and in the backward read ``dy``, write ``du``, ``dk``).
    """
    _check_sizes("batch channels L elt_bytes", batch, channels, L, elt_bytes)
    n = 2 * L
    flops = batch * channels * (2 * fft_flops(n) + 6 * (L + 1)) + channels * fft_flops(n)
    nbytes = (2 * batch * channels * L + channels * L) * elt_bytes
    if backward:
        extra = (3 * batch * channels * L + 2 * channels * L) * elt_bytes
        return Cost(flops * BACKWARD_FACTOR["fft"], nbytes + extra)
    return Cost(flops, nbytes)


def fftconv_unfused_bytes(batch: int, channels: int, L: int, elt_bytes: int = 2) -> float:
    """Bytes that the *unfused* PyTorch ``fftconv`` of half-precision inputs moves at least:
    each kernel reads its inputs and writes its output once (a large cuFFT may take several
    passes: not counted), against the ``2e`` bytes per element of :func:`fftconv_cost`."""
    _check_sizes("batch channels L elt_bytes", batch, channels, L, elt_bytes)
    # bytes read + written per element: cast to float32, zero-pad to 2L, real FFT, product with
    # the filter's spectrum, a clone (cuFFT's inverse overwrites its input), inverse FFT, slice
    # and cast back; the filter: cast, pad, FFT
    per_u = (elt_bytes + 4) + 12 + 16 + 16 + 16 + 16 + (4 + elt_bytes)
    per_k = (elt_bytes + 4) + 12 + 16
    return float(batch * channels * L * per_u + channels * L * per_k)


def direct_conv_cost(batch: int, channels: int, L: int, elt_bytes: int = 2) -> Cost:
    """Cost of :func:`hyena_lab.direct_conv` on ``u`` (batch, channels, L): output ``t`` sums
    ``t + 1`` products, ``F = L (L + 1)`` per (batch, channel) row; ``Q`` as for ``fftconv``."""
    _check_sizes("batch channels L elt_bytes", batch, channels, L, elt_bytes)
    flops = float(batch * channels * L * (L + 1))
    return Cost(flops, float((2 * batch * channels * L + channels * L) * elt_bytes))


def toeplitz_matvec_cost(batch: int, channels: int, L: int, elt_bytes: int = 2) -> Cost:
    """Cost of ``S_h @ u`` with the dense Toeplitz ``S_h`` (channels, L, L): ``F = 2 L^2`` per
    (batch, channel) row (zeros included); ``Q``: read ``S_h`` (O(L^2)) and ``u``, write ``y``."""
    _check_sizes("batch channels L elt_bytes", batch, channels, L, elt_bytes)
    flops = 2.0 * batch * channels * L * L
    return Cost(flops, float((channels * L * L + 2 * batch * channels * L) * elt_bytes))


#: Chapter 1's three ways of computing one causal convolution, and the cost model of each.
CONV_COSTS: dict[str, Callable[..., Cost]] = {
    "fftconv": fftconv_cost,
    "direct_conv": direct_conv_cost,
    "toeplitz_matvec": toeplitz_matvec_cost,
}
#: Their names, in the order of the chapter's figures.
CONV_METHODS: tuple[str, ...] = tuple(CONV_COSTS)


def counted_conv_work(
    lengths: Sequence[int], channels: int = 1, *, batch: int = 1, elt_bytes: int = 4
) -> dict[str, dict[str, list[float]]]:
    """``{method: {"L": [...], "flops": [...], "bytes": [...]}}`` of one call of each of
    :data:`CONV_METHODS` on ``u (batch, channels, L)``, by counting: the same on every machine,
    so chapter 1 asserts its growth claims on these numbers."""
    Ls = check_lengths(lengths)
    out: dict[str, dict[str, list[float]]] = {}
    for method, model in CONV_COSTS.items():
        costs = [model(batch, channels, L, elt_bytes) for L in Ls]
        out[method] = {"L": list(Ls), "flops": [c.flops for c in costs],
                       "bytes": [c.bytes for c in costs]}
    return out


def counted_crossover(
    fast: str = "fftconv", slow: str = "direct_conv", *, batch: int = 1, max_length: int = 2**14
) -> int | None:
    """The smallest ``L`` from which ``fast`` counts fewer FLOPs than ``slow`` at every length up
    to ``max_length`` (``None`` if it does not at ``max_length``), for any number of channels."""
    for m in (fast, slow):
        if m not in CONV_COSTS:
            raise ValueError(f"method must be one of {list(CONV_METHODS)}, got {m!r}")
    b = check_positive_int(batch, "batch")
    answer = None
    for L in range(check_positive_int(max_length, "max_length"), 0, -1):
        if CONV_COSTS[fast](b, 1, L).flops >= CONV_COSTS[slow](b, 1, L).flops:
            break
        answer = L
    return answer


def attention_cost(
    batch: int, heads: int, L: int, head_dim: int, elt_bytes: int = 2, *, causal: bool = True,
    backward: bool = False,
) -> Cost:  # fmt: skip
    """Cost of scaled dot-product attention on ``q, k, v`` (batch, heads, L, head_dim), Sec. 2.2.

    ``F``: ``QK^T`` and ``PV``, ``4 N H L^2 d_h``, times ``(L+1)/(2L)`` when causal (the lower
    triangle only; no softmax). ``Q``: read ``q, k, v``, write ``o`` (and ``do``, ``dq, dk, dv``).
    """
    _check_sizes("batch heads L elt_bytes head_dim", batch, heads, L, elt_bytes, head_dim)
    pairs = L * (L + 1) / 2 if causal else float(L * L)
    flops = 4.0 * batch * heads * head_dim * pairs
    if backward:
        flops *= BACKWARD_FACTOR["attention"]
    return Cost(flops, (9 if backward else 4) * batch * heads * L * head_dim * elt_bytes, flops)


def projection_cost(tokens: int, d_in: int, d_out: int, elt_bytes: int = 2) -> Cost:
    """A dense ``Linear(d_in, d_out)`` on ``tokens`` vectors: ``2 tokens d_in d_out`` FLOP."""
    _check_sizes("tokens d_in d_out", tokens, d_in, d_out)
    flops = 2.0 * tokens * d_in * d_out
    return Cost(flops, (tokens * (d_in + d_out) + d_in * d_out) * elt_bytes, flops)


def mha_layer_cost(
    batch: int, L: int, d_model: int, heads: int, elt_bytes: int = 2, *, backward: bool = False
) -> Cost:
    """A causal multi-head attention layer: q/k/v projection, attention, output projection."""
    tokens = batch * L
    proj = projection_cost(tokens, d_model, 3 * d_model, elt_bytes) + projection_cost(
        tokens, d_model, d_model, elt_bytes
    )
    attn = attention_cost(batch, heads, L, d_model // heads, elt_bytes, backward=backward)
    return (proj.scaled(BACKWARD_FACTOR["matmul"]) if backward else proj) + attn


def hyena_layer_cost(
    batch: int, L: int, d_model: int, order: int = 2, elt_bytes: int = 2, *,
    filter_order: int = 64, backward: bool = False,
) -> Cost:  # fmt: skip
    """An order-``N`` Hyena operator (paper Def. 3.1): ``in_proj`` to ``N + 1`` streams, a
    width-3 short convolution over them, ``N`` FFT convolutions and gates, ``out_proj``, and
    the implicit filter (an FFN of width ``filter_order`` at ``L`` positions, ``N d`` outputs)."""
    check_positive_int(order, "order")
    tokens = batch * L
    proj = projection_cost(tokens, d_model, (order + 1) * d_model, elt_bytes) + projection_cost(
        tokens, d_model, d_model, elt_bytes
    )
    filt = projection_cost(L, filter_order, filter_order, elt_bytes).scaled(2) + projection_cost(
        L, filter_order, order * d_model, elt_bytes
    )
    stream = tokens * (order + 1) * d_model
    short = Cost(2.0 * 3 * stream, 2.0 * stream * elt_bytes)
    gates = Cost(float(order * tokens * d_model), 3.0 * order * tokens * d_model * elt_bytes)
    convs = fftconv_cost(batch, d_model, L, elt_bytes, backward=backward).scaled(order)
    if not backward:
        return proj + filt + short + gates + convs
    return (proj + filt).scaled(BACKWARD_FACTOR["matmul"]) + (short + gates).scaled(3.0) + convs


def layer_time_model(
    L: int, tokens: int, d_model: int, heads: int, ceilings: Ceilings, *, order: int = 2,
    elt_bytes: int = 2, fft_bytes_factor: float = 1.0,
) -> tuple[float, float]:  # fmt: skip
    """Roofline times ``(attention layer, Hyena operator)`` in seconds at length ``L`` and batch
    ``max(1, tokens // L)``: the sum of the parts' floors, the FFT convolutions' bytes times
    ``fft_bytes_factor`` (1: a fused kernel; about 20: unfused PyTorch)."""
    check_positive_int(tokens, "tokens")
    check_positive_float(fft_bytes_factor, "fft_bytes_factor")
    batch = max(1, tokens // L)
    attn = ceilings.floor(mha_layer_cost(batch, L, d_model, heads, elt_bytes))
    full = hyena_layer_cost(batch, L, d_model, order, elt_bytes)
    convs = fftconv_cost(batch, d_model, L, elt_bytes).scaled(order)
    rest = Cost(full.flops - convs.flops, full.bytes - convs.bytes, full.matmul_flops)
    conv_time = max(
        convs.flops / ceilings.fp32_flops, convs.bytes * fft_bytes_factor / ceilings.bandwidth
    )
    return attn, ceilings.floor(rest) + conv_time


def copy_bandwidth(device: torch.device, mib: int, repeats: int = 10) -> float:
    """Device-memory bandwidth in byte/s of a ``mib`` MiB copy (bytes read + bytes written)."""
    g = torch.Generator(device=device).manual_seed(0)
    src = torch.randn(mib * 2**18, generator=g, device=device)  # float32: 4 bytes each
    dst = torch.empty_like(src)
    seconds = time_fn(lambda: dst.copy_(src), repeats=repeats, warmup=2, device=device)
    return 2 * src.numel() * src.element_size() / seconds


def matmul_rate(
    device: torch.device, n: int, dtype: torch.dtype, repeats: int = 10, *, tf32: bool = False
) -> float:
    """FLOP/s of an ``n x n x n`` product of random ``dtype`` matrices (``2 n^3`` FLOP)."""
    g = torch.Generator(device=device).manual_seed(1)
    a = torch.randn(n, n, generator=g, device=device).to(dtype)
    b = torch.randn(n, n, generator=g, device=device).to(dtype)
    old = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = tf32
    try:
        seconds = time_fn(lambda: a @ b, repeats=repeats, warmup=2, device=device)
    finally:
        torch.backends.cuda.matmul.allow_tf32 = old
    return 2.0 * n**3 / seconds


def measure_ceilings(
    device: str | torch.device = "cpu", *, copy_mib: int | None = None,
    matmul_n: int | None = None, dtype: torch.dtype = torch.bfloat16, repeats: int = 10,
) -> Ceilings:  # fmt: skip
    """Measure the copy bandwidth, the ``dtype`` matmul rate and the fp32 (no TF32) matmul rate
    on random inputs: a 1 GiB copy, an ``8192^3`` product and a ``4096^3`` float32 one on a GPU;
    64 MiB and ``512^3`` float32 products on the CPU (whose half precision is emulated)."""
    dev = torch.device(device)
    gpu = dev.type == "cuda"
    copy_mib = (1024 if gpu else 64) if copy_mib is None else copy_mib
    matmul_n = (8192 if gpu else 512) if matmul_n is None else matmul_n
    _check_sizes("copy_mib matmul_n repeats", copy_mib, matmul_n, repeats)
    n32 = max(1, matmul_n // 2) if gpu else matmul_n  # fp32 without tensor cores is ~10x slower
    return Ceilings(
        bandwidth=copy_bandwidth(dev, copy_mib, repeats),
        matmul_flops=matmul_rate(dev, matmul_n, dtype if gpu else torch.float32, repeats),
        fp32_flops=matmul_rate(dev, n32, torch.float32, repeats),
        device=environment(dev)["device"],
    )
