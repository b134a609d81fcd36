"""FLOP and byte counts of the benchmarked operators, and the roofline model (paper Sec. 4.4).

The roofline model bounds the run time of an operator from below by two numbers:

* its floating-point work ``F`` (FLOP) over the rate ``P`` of the unit that does it, and
* the fewest bytes ``Q`` it must move through device memory (each input read once, each output
  written once) over the memory bandwidth ``B``.

``floor = max(F / P, Q / B)``. The ratio ``I = F / Q`` (FLOP per byte) is the *arithmetic
intensity*; the operator is memory-bound when ``I`` is below the *ridge point* ``P / B``. The
ceilings ``P`` and ``B`` are measured once on the device (:func:`measure_ceilings`): a large
device-to-device copy (bytes read plus bytes written) for ``B``, a large matrix product for the
tensor-core rate, and a float32 matrix product with TF32 off for the rate of the ordinary
(non-tensor-core) float32 units that an FFT runs on.

Counts used by the benchmark (``N`` = batch, ``L`` = sequence length, ``d`` = d_model, ``H`` heads
of width ``d / H``, ``e`` bytes per element):

* causal attention (paper Sec. 2.2): ``QK^T`` and ``PV`` are two ``(L x L) x (L x d/H)`` products
  per head, halved by the causal mask: ``F = 2 N L^2 d`` (matrix products only); the floor reads
  ``q, k, v`` and writes ``o``: ``Q = 4 N L d e``.
* causal FFT convolution (Sec. 2.1, 3.3): a real FFT of length ``n = 2L`` costs about
  ``2.5 n log2 n`` FLOP (half the classic ``5 n log2 n`` of a complex FFT: :func:`fft_flops`,
  the handbook's one FFT count); per channel: one
  forward FFT of ``u``, one inverse FFT, a pointwise complex product (6 FLOP a bin), plus one FFT
  of the filter per channel shared by the batch. The floor reads ``u`` and ``k`` and writes ``y``.
* projections: ``2 N L d_in d_out`` FLOP on the tensor cores.
* chapter 1's three ways of one causal convolution (:data:`CONV_METHODS`): the FFT as above, the
  definition (``L (L + 1)`` FLOP a row) and the dense Toeplitz mat-vec (``2 L^2``), compared by
  :func:`counted_conv_work` and :func:`counted_crossover`.

Backward passes are modelled as: matrix products x2 (grad of both operands), attention x2.5
(FlashAttention's backward does five ``L x L`` products to the forward's two), FFT convolution
x1.5 (one FFT of the output gradient and two inverse FFTs, against two FFTs forward).
These are *models*: good to a small factor, stated so that the notebook can reason with them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from .checks import check_lengths, check_positive_float, check_positive_int
from .measure import environment, time_fn

__all__ = [
    "CONV_COSTS",
    "CONV_METHODS",
    "Ceilings",
    "Cost",
    "attention_cost",
    "copy_bandwidth",
    "counted_conv_work",
    "counted_crossover",
    "direct_conv_cost",
    "fft_flops",
    "fftconv_cost",
    "fftconv_unfused_bytes",
    "hyena_layer_cost",
    "layer_time_model",
    "matmul_rate",
    "measure_ceilings",
    "mha_layer_cost",
    "projection_cost",
    "toeplitz_matvec_cost",
]

#: Multipliers that turn a forward cost into a forward+backward cost (see module docstring).
BACKWARD_FACTOR = {"matmul": 3.0, "attention": 3.5, "fft": 2.5}


@dataclass(frozen=True)
class Cost:
    """Work of one operator call: ``flops`` (FLOP) and the fewest device-memory ``bytes``.

    ``matmul_flops`` is the part of ``flops`` that runs on matrix units (tensor cores); the rest
    (FFTs, element-wise) runs on the ordinary float32 units.
    """

    flops: float
    bytes: float
    matmul_flops: float = 0.0

    def __add__(self, other: Cost) -> Cost:
        return Cost(
            self.flops + other.flops,
            self.bytes + other.bytes,
            self.matmul_flops + other.matmul_flops,
        )

    def scaled(self, factor: float) -> Cost:
        """The same cost multiplied by ``factor`` (e.g. a forward+backward model)."""
        return Cost(self.flops * factor, self.bytes * factor, self.matmul_flops * factor)

    @property
    def intensity(self) -> float:
        """Arithmetic intensity ``flops / bytes`` in FLOP per byte."""
        return self.flops / self.bytes if self.bytes > 0 else math.inf


@dataclass(frozen=True)
class Ceilings:
    """Measured ceilings of one device.

    Attributes:
        bandwidth: device-memory bandwidth in byte/s (a copy, bytes read + bytes written).
        matmul_flops: rate of a large low-precision matrix product in FLOP/s (tensor cores).
        fp32_flops: rate of a large float32 matrix product with TF32 off in FLOP/s (the
            ordinary float32 units, which also run cuFFT).
        device: the device's name, for the record.
    """

    bandwidth: float
    matmul_flops: float
    fp32_flops: float
    device: str = ""

    def __post_init__(self) -> None:
        for name in ("bandwidth", "matmul_flops", "fp32_flops"):
            check_positive_float(getattr(self, name), name)

    def ridge(self, unit: str = "matmul") -> float:
        """Ridge point ``P / B`` in FLOP/byte of ``unit`` (``"matmul"`` or ``"fp32"``)."""
        return self._rate(unit) / self.bandwidth

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

    def _rate(self, unit: str) -> float:
        if unit == "matmul":
            return self.matmul_flops
        if unit == "fp32":
            return self.fp32_flops
        raise ValueError(f"unit must be 'matmul' or 'fp32', got {unit!r}")

    def to_dict(self) -> dict[str, float | str]:
        """JSON-ready dict with readable units (GB/s, TFLOP/s)."""
        return {
            "device": self.device,
            "copy_bandwidth_gbs": self.bandwidth / 1e9,
            "matmul_tflops": self.matmul_flops / 1e12,
            "fp32_tflops": self.fp32_flops / 1e12,
        }

    @classmethod
    def from_dict(cls, d: dict) -> Ceilings:
        """Inverse of :meth:`to_dict`."""
        return cls(
            bandwidth=float(d["copy_bandwidth_gbs"]) * 1e9,
            matmul_flops=float(d["matmul_tflops"]) * 1e12,
            fp32_flops=float(d["fp32_tflops"]) * 1e12,
            device=str(d.get("device", "")),
        )


def fft_flops(n: int, *, real: bool = True) -> float:
    """FLOPs of one FFT (or inverse) of length ``n``: ``2.5 n log2 n`` real, ``5 n log2 n`` complex.

    The handbook's one FFT counting convention. A complex radix-2 FFT of ``n`` points makes
    ``(n / 2) log2 n`` butterflies of one complex multiply (6 real FLOP) and two complex adds
    (4 FLOP): ``5 n log2 n`` (``real=False``). A real input (``torch.fft.rfft``) is transformed
    as a complex FFT of ``n / 2`` points plus ``O(n)`` post-processing, about half:
    ``2.5 n log2 n`` (``real=True``, the default; what ``fftconv`` runs). These are the two
    counts of FFTW's benchmark methodology (benchFFT) for complex and real-data transforms; true
    operation counts of split-radix codes are ~20% lower, which no claim here depends on.
    Chapter 2 counts with the complex formula, chapter 5 with the real one;
    they agree: ``fft_flops(n, real=False) == 2 * fft_flops(n)``. 0 for ``n = 1``.
    """
    check_positive_int(n, "n")
    per_point = 2.5 if real else 5.0
    return per_point * n * math.log2(n)


def _check_shape(batch: int, channels: int, L: int, elt_bytes: int) -> None:
    check_positive_int(batch, "batch")
    check_positive_int(channels, "channels")
    check_positive_int(L, "L")
    check_positive_int(elt_bytes, "elt_bytes")


def fftconv_cost(
    batch: int, channels: int, L: int, elt_bytes: int = 2, *, backward: bool = False
) -> Cost:
    """Cost of :func:`hyena_lab.fftconv` on ``u`` (batch, channels, L) with ``k`` (channels, L).

    FLOPs: per (batch, channel) row one forward and one inverse real FFT of length ``2L`` and
    ``L + 1`` complex products; plus one FFT per filter channel. Floor bytes: read ``u``, ``k``,
    write ``y``. With ``backward`` the forward+backward model (module docstring).
    """
    _check_shape(batch, channels, L, elt_bytes)
    n = 2 * L
    flops = batch * channels * (2 * fft_flops(n) + 6 * (L + 1)) + channels * fft_flops(n)
    nbytes = (2 * batch * channels * L + channels * L) * elt_bytes
    cost = Cost(flops, nbytes)
    if backward:  # the backward reads dy, u, k and writes du, dk
        extra = (3 * batch * channels * L + 2 * channels * L) * elt_bytes
        return Cost(flops * BACKWARD_FACTOR["fft"], nbytes + extra)
    return cost


def fftconv_unfused_bytes(batch: int, channels: int, L: int, elt_bytes: int = 2) -> float:
    """Bytes that the *unfused* PyTorch ``fftconv`` moves at least (one pass per kernel).

    A model of the kernels :func:`hyena_lab.fftconv` launches for half-precision inputs, per
    element of ``u`` (batch x channels x L), each kernel reading its inputs and writing its
    output once through device memory (a large cuFFT may take several passes: not counted):

    1. cast to float32: read ``e``, write 4;
    2. zero-pad to ``2L``: read 4, write 8;
    3. forward real FFT: read 8, write 8 (``L + 1`` complex64);
    4. product with the filter's spectrum: read 8, write 8;
    5. inverse FFT (cuFFT's complex-to-real overwrites its input, so PyTorch clones it first:
       read 8, write 8), then the transform: read 8, write 8 (``2L`` float32);
    6. keep the first ``L`` outputs and cast back: read 4, write ``e``.

    The filter's own FFT (``channels x L`` elements) is added likewise. Compare with the floor of
    :func:`fftconv_cost` (``2e`` bytes per element): the gap that kernel fusion would close.
    """
    _check_shape(batch, channels, L, elt_bytes)
    per_u = (elt_bytes + 4) + 12 + 16 + 16 + 16 + 16 + (4 + elt_bytes)
    per_k = (elt_bytes + 4) + 12 + 16
    return float(batch * channels * L * per_u + channels * L * per_k)


def direct_conv_cost(batch: int, channels: int, L: int, elt_bytes: int = 2) -> Cost:
    """Cost of :func:`hyena_lab.direct_conv` (the definition) on ``u`` (batch, channels, L).

    Output ``t`` sums ``t + 1`` products ``k[j] u[t - j]``: ``L (L + 1) / 2`` multiply-adds per
    (batch, channel) row, ``F = batch channels L (L + 1)`` FLOP (a multiply and an add each),
    O(L^2) against the O(L log L) of :func:`fftconv_cost`. Floor bytes as for ``fftconv``: read
    ``u`` and ``k``, write ``y`` (the lag-by-lag loop moves far more; not counted).
    """
    _check_shape(batch, channels, L, elt_bytes)
    flops = float(batch * channels * L * (L + 1))
    return Cost(flops, float((2 * batch * channels * L + channels * L) * elt_bytes))


def toeplitz_matvec_cost(batch: int, channels: int, L: int, elt_bytes: int = 2) -> Cost:
    """Cost of ``S_h @ u`` with the dense Toeplitz matrices ``S_h`` (channels, L, L) built.

    A dense mat-vec multiplies the zeros above the diagonal too: ``2 L^2`` FLOP per (batch,
    channel) row. Floor bytes: read ``S_h`` (``channels L^2`` elements: O(L^2) memory traffic, not
    just work) and ``u``, write ``y``.
    """
    _check_shape(batch, channels, L, elt_bytes)
    flops = 2.0 * batch * channels * L * L
    return Cost(flops, float((channels * L * L + 2 * batch * channels * L) * elt_bytes))


#: The three ways of computing one causal convolution that chapter 1 counts and times, and the
#: cost model of each.
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
    """FLOPs and floor bytes of one call of each of :data:`CONV_METHODS`, by counting.

    ``{method: {"L": [...], "flops": [...], "bytes": [...]}}`` for ``u (batch, channels, L)``:
    ``direct_conv`` ``L (L + 1)`` FLOP per row (a multiply and an add for each of the
    ``L (L + 1) / 2`` pairs ``s <= t``), the dense Toeplitz mat-vec ``2 L^2`` (it multiplies the
    zeros too) and ``fftconv`` three real FFTs of length ``2L`` at ``2.5 n log2 n`` FLOP each plus
    ``L + 1`` complex products: ``15 L log2(2L) + 6 (L + 1)`` per row with ``batch = 1`` (the
    filter's FFT is shared by the batch). The same on every machine: chapter 1 asserts its growth
    claims on these numbers.
    """
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
    to ``max_length`` (``None`` if it does not at ``max_length``); ``batch`` as in
    :func:`counted_conv_work`. Both counts scale with the channels, so they do not move it."""
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
    batch: int,
    heads: int,
    L: int,
    head_dim: int,
    elt_bytes: int = 2,
    *,
    causal: bool = True,
    backward: bool = False,
) -> Cost:
    """Cost of scaled dot-product attention on ``q, k, v`` (batch, heads, L, head_dim).

    FLOPs of the two products ``QK^T`` and ``PV``: ``4 N H L^2 d_h``, times ``(L+1)/(2L)`` when
    causal (only the lower triangle is computed by a causal kernel); the softmax is left out.
    Floor bytes: read ``q, k, v``, write ``o`` (plus ``do`` read and ``dq, dk, dv`` written in
    the backward).
    """
    _check_shape(batch, heads, L, elt_bytes)
    check_positive_int(head_dim, "head_dim")
    pairs = L * (L + 1) / 2 if causal else float(L * L)
    flops = 4.0 * batch * heads * head_dim * pairs
    one = batch * heads * L * head_dim * elt_bytes
    if backward:
        return Cost(flops * BACKWARD_FACTOR["attention"], 9 * one, flops * 3.5)
    return Cost(flops, 4 * one, flops)


def projection_cost(tokens: int, d_in: int, d_out: int, elt_bytes: int = 2) -> Cost:
    """A dense ``Linear(d_in, d_out)`` on ``tokens`` vectors: ``2 tokens d_in d_out`` FLOP."""
    for v, n in ((tokens, "tokens"), (d_in, "d_in"), (d_out, "d_out")):
        check_positive_int(v, n)
    flops = 2.0 * tokens * d_in * d_out
    nbytes = (tokens * (d_in + d_out) + d_in * d_out) * elt_bytes
    return Cost(flops, nbytes, flops)


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
    batch: int,
    L: int,
    d_model: int,
    order: int = 2,
    elt_bytes: int = 2,
    *,
    filter_order: int = 64,
    backward: bool = False,
) -> Cost:
    """An order-``N`` Hyena operator (paper Def. 3.1): projections, ``N`` FFT convolutions.

    ``in_proj`` makes ``N + 1`` streams (``x^1..x^N, v``), a width-3 short depthwise convolution
    runs over all of them, ``N`` long convolutions and ``N`` gates follow, then ``out_proj``.
    The implicit filter is an FFN of width ``filter_order`` evaluated at ``L`` positions with
    ``N d`` outputs. Element-wise work (short conv, gates) is counted as FLOPs and bytes.
    """
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
    convs = fftconv_cost(batch, d_model, L, elt_bytes).scaled(order)
    fwd = proj + filt + short + gates + convs
    if not backward:
        return fwd
    return (
        (proj + filt).scaled(BACKWARD_FACTOR["matmul"])
        + (short + gates).scaled(3.0)
        + fftconv_cost(batch, d_model, L, elt_bytes, backward=True).scaled(order)
    )


def layer_time_model(
    L: int,
    tokens: int,
    d_model: int,
    heads: int,
    ceilings: Ceilings,
    *,
    order: int = 2,
    elt_bytes: int = 2,
    fft_bytes_factor: float = 1.0,
) -> tuple[float, float]:
    """Roofline time model ``(attention layer, Hyena operator)`` in seconds at length ``L``.

    ``batch = max(1, tokens // L)``. Each layer's time is the sum of its parts' floors: matrix
    products at the matrix rate (attention is compute-bound), the FFT convolutions at
    ``max(fp32 FLOP floor, bytes / bandwidth)`` with the bytes multiplied by
    ``fft_bytes_factor`` (1 = a perfectly fused kernel; about 20 = unfused PyTorch, see
    :func:`fftconv_unfused_bytes`). This is the complexity argument with the device's numbers.
    """
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
    device: str | torch.device = "cpu",
    *,
    copy_mib: int | None = None,
    matmul_n: int | None = None,
    dtype: torch.dtype = torch.bfloat16,
    repeats: int = 10,
) -> Ceilings:
    """Measure the copy bandwidth, the ``dtype`` matmul rate and the fp32 (no TF32) matmul rate.

    Defaults: a 1 GiB copy, an ``8192^3`` product and a ``4096^3`` float32 one on a GPU;
    64 MiB and ``512^3`` on the CPU (where ``dtype`` falls back to float32: CPU half-precision
    products are emulated). Inputs are random (never zeros, which can run faster).
    """
    dev = torch.device(device)
    gpu = dev.type == "cuda"
    copy_mib = copy_mib if copy_mib is not None else (1024 if gpu else 64)
    matmul_n = matmul_n if matmul_n is not None else (8192 if gpu else 512)
    check_positive_int(copy_mib, "copy_mib")
    check_positive_int(matmul_n, "matmul_n")
    check_positive_int(repeats, "repeats")
    n32 = max(1, matmul_n // 2) if gpu else matmul_n  # fp32 without tensor cores is ~10x slower
    return Ceilings(
        bandwidth=copy_bandwidth(dev, copy_mib, repeats),
        matmul_flops=matmul_rate(dev, matmul_n, dtype if gpu else torch.float32, repeats),
        fp32_flops=matmul_rate(dev, n32, torch.float32, repeats),
        device=environment(dev)["device"],
    )
