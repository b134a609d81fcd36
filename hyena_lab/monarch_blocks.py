"""The DFT as a Monarch matrix: two block-diagonal factors between fixed permutations, their exact
values, the same factors learned by gradient descent, and factors sized for tensor cores.

:mod:`hyena_lab.monarch` writes the four-step FFT for ``N = a b`` as
``F_N = P (I_a (x) F_b) T (F_a (x) I_b)``. The strided ``F_a (x) I_b`` is block-diagonal once the
input is permuted, ``F_a (x) I_b = P^T (I_b (x) F_a) P``, and the diagonal ``T`` merges into the
blocks that follow it, so that

    F_N = P L P^T R P,   L = diag(L_0, ..., L_(a-1)),  R = diag(R_0, ..., R_(b-1))      (Monarch)

with ``P`` the permutation "read ``(a, b)`` row-major, transpose, flatten" (entry ``b i + j``
moves to ``a j + i``), ``b x b`` blocks ``L_k1 = F_b diag(w_N^(k1 n2))_n2`` and ``a x a`` blocks
``R_n2 = F_a``. ``P L P^T R`` is the form of the Monarch matrices of Dao et al. 2022 (ICML,
"Monarch: expressive structured matrices for efficient and accurate training"), trained there as
weight matrices; FlashFFTConv (Fu et al. 2023, arXiv 2311.05908) evaluates it as batched small
matrix products on tensor cores. Every factor is a batch of small dense matmuls, so the blocks
can also be *learned*: :func:`fit_dft_blocks` starts from random blocks and fits ``F_N``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .checks import check_positive_float, check_positive_int, check_tensor
from .monarch import balanced_factors, dft_matrix, twiddle

__all__ = [
    "BlockFit", "dft_blocks", "diagonal_gauge", "fit_dft_blocks", "monarch_apply",
    "monarch_factor_matrices", "monarch_matrix", "tensor_core_factors",
]  # fmt: skip

_COMPLEX = (torch.complex64, torch.complex128)


def _check_blocks(L: object, R: object) -> tuple[int, int]:
    """``(a, b)`` of blocks ``L`` ``(a, b, b)`` and ``R`` ``(b, a, a)``, complex, same dtype."""
    L, R = check_tensor(L, "L"), check_tensor(R, "R")
    if L.ndim != 3 or L.shape[1] != L.shape[2]:
        raise ValueError(
            f"L must be a stack of a square b x b blocks, shape (a, b, b), got {tuple(L.shape)}"
        )
    a, b = L.shape[0], L.shape[1]
    if tuple(R.shape) != (b, a, a):
        raise ValueError(
            f"R must hold b={b} blocks of a x a = {a} x {a} (shape ({b}, {a}, {a})) to match "
            f"L of shape {tuple(L.shape)}, got {tuple(R.shape)}"
        )
    for name, t in (("L", L), ("R", R)):
        if t.dtype not in _COMPLEX:
            raise TypeError(f"{name} must be complex64 or complex128, got {t.dtype}")
    if L.dtype != R.dtype:
        raise TypeError(f"L and R must have one dtype, got {L.dtype} and {R.dtype}")
    return a, b


def monarch_apply(x: torch.Tensor, L: torch.Tensor, R: torch.Tensor) -> torch.Tensor:
    """``P L P^T R P x`` along the last axis of ``x`` ``(..., N)``, ``N = a b``, for blocks ``L``
    ``(a, b, b)`` and ``R`` ``(b, a, a)``: two batched small matmuls and reshapes, no dense
    ``(N, N)`` matrix. With :func:`dft_blocks` this is the DFT."""
    a, b = _check_blocks(L, R)
    x = check_tensor(x, "x")
    if x.ndim == 0 or x.shape[-1] != a * b:
        raise ValueError(
            f"x must have a last axis of length N = a b = {a * b} (blocks L {tuple(L.shape)}, "
            f"R {tuple(R.shape)}), got shape {tuple(x.shape)}"
        )
    X = x.to(L.dtype).reshape(*x.shape[:-1], a, b)  # X[n1, n2] = x[b n1 + n2]; P x reads columns
    X = torch.einsum("jik,...kj->...ij", R, X)  # R: column n2 <- R_n2 @ column n2, (..., a, b)
    X = torch.einsum("ijk,...ik->...ij", L, X)  # L: row k1 <- L_k1 @ row k1 (P^T back to rows)
    return X.transpose(-1, -2).reshape(x.shape)  # P: (k1, k2) -> k1 + a k2


def monarch_matrix(L: torch.Tensor, R: torch.Tensor) -> torch.Tensor:
    """The dense ``(N, N)`` matrix ``P L P^T R P`` of blocks ``L`` ``(a, b, b)``, ``R``
    ``(b, a, a)`` (differentiable; for small ``N``)."""
    a, b = _check_blocks(L, R)
    eye = torch.eye(a * b, dtype=L.dtype, device=L.device)
    return monarch_apply(eye, L, R).mT  # row j of apply(I) is M e_j, the column j of M


def _transpose_permutation(a: int, b: int, dtype: torch.dtype) -> torch.Tensor:
    """``P`` ``(N, N)``: entry ``b i + j`` of a vector moves to ``a j + i``."""
    i, j = torch.meshgrid(torch.arange(a), torch.arange(b), indexing="ij")
    P = torch.zeros(a * b, a * b, dtype=dtype)
    P[(a * j + i).flatten(), (b * i + j).flatten()] = 1
    return P


def monarch_factor_matrices(L: torch.Tensor, R: torch.Tensor) -> list[torch.Tensor]:
    """The five dense ``(N, N)`` factors in the order they are applied, ``[P, R, P^T, L, P]``
    (``M[-1] @ ... @ M[0] == monarch_matrix(L, R)``): for pictures and checks, small ``N``."""
    a, b = _check_blocks(L, R)
    if a * b > 1024:
        raise ValueError(f"monarch_factor_matrices builds dense (N, N) matrices: N <= 1024, "
                         f"got N = {a * b}")  # fmt: skip
    P = _transpose_permutation(a, b, L.dtype)  # (a, b) grid -> (b, a) grid
    P_back = _transpose_permutation(b, a, L.dtype)  # = P^T
    return [P, torch.block_diag(*R), P_back, torch.block_diag(*L), P]


def dft_blocks(a: int, b: int, dtype: torch.dtype = torch.complex128) -> tuple[torch.Tensor, ...]:
    """The exact blocks of ``F_N`` (``N = a b``) in the Monarch form: ``L`` ``(a, b, b)`` with
    ``L_k1 = F_b diag(T[k1, :])`` (the twiddles ``T = twiddle(a, b)`` merged into the second
    stage) and ``R`` ``(b, a, a)`` with every ``R_n2 = F_a``."""
    check_positive_int(a, "a")
    check_positive_int(b, "b")
    L = dft_matrix(b, dtype)[None] * twiddle(a, b, dtype)[:, None, :]  # F_b @ diag(T[k1]): cols
    R = dft_matrix(a, dtype).expand(b, a, a).clone()
    return L, R


@dataclass(frozen=True)
class BlockFit:
    """Blocks ``L`` ``(a, b, b)``, ``R`` ``(b, a, a)`` fitted to ``F_N``, and the loss
    ``||P L P^T R P - F_N||_F^2 / ||F_N||_F^2`` before each step (``losses[0]``: at the random
    start) and after the last (``losses[-1]``)."""

    L: torch.Tensor
    R: torch.Tensor
    losses: list[float]
    seed: int
    lr: float

    @property
    def rel_error(self) -> float:
        """``||P L P^T R P - F_N||_F / ||F_N||_F`` of the fitted blocks."""
        return math.sqrt(self.losses[-1])


def fit_dft_blocks(
    a: int, b: int, *, steps: int = 300, lr: float = 0.02, seed: int = 0
) -> BlockFit:
    """Learn the Monarch blocks of ``F_N``, ``N = a b``, by gradient descent (Adam) from random
    complex blocks (entries of variance ``1 / block size``, seeded), in float64, permutations
    fixed. The loss is the relative squared Frobenius error of the product; it is bilinear in
    ``(L, R)``, not convex, yet reaches round-off level in a few hundred steps at ``N <= 64``.
    The blocks found are the DFT's up to a diagonal rescaling between the two stages
    (:func:`diagonal_gauge`)."""
    check_positive_int(a, "a")
    check_positive_int(b, "b")
    steps = check_positive_int(steps, "steps")
    lr = check_positive_float(lr, "lr")
    seed = check_positive_int(seed, "seed", minimum=0)
    g = torch.Generator().manual_seed(seed)
    # real (..., 2) views of complex blocks: Adam's moments per real component
    L_ri = torch.randn(a, b, b, 2, generator=g, dtype=torch.float64) / math.sqrt(2 * b)
    R_ri = torch.randn(b, a, a, 2, generator=g, dtype=torch.float64) / math.sqrt(2 * a)
    params = [L_ri.requires_grad_(), R_ri.requires_grad_()]
    target = dft_matrix(a * b)  # (N, N)
    scale = float(target.abs().pow(2).sum())  # ||F_N||_F^2 = N^2
    opt = torch.optim.Adam(params, lr=lr)

    def loss_fn() -> torch.Tensor:
        M = monarch_matrix(torch.view_as_complex(L_ri), torch.view_as_complex(R_ri))
        return (M - target).abs().pow(2).sum() / scale

    losses = []
    with torch.enable_grad():
        for _ in range(steps):
            loss = loss_fn()
            losses.append(float(loss.detach()))
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            losses.append(float(loss_fn()))
    L_fit = torch.view_as_complex(L_ri.detach()).clone()
    R_fit = torch.view_as_complex(R_ri.detach()).clone()
    return BlockFit(L_fit, R_fit, losses, seed, lr)


def diagonal_gauge(R: torch.Tensor, R_ref: torch.Tensor) -> tuple[torch.Tensor, float]:
    """How ``R`` ``(b, a, a)`` differs from ``R_ref``: ``R_n2 = diag(d[:, n2]) R_ref_n2`` for a
    diagonal ``d`` ``(a, b)`` (any invertible ``d`` on ``R``'s outputs is undone by
    ``1 / d`` on ``L``'s inputs: ``P L P^T R`` is unchanged). Returns ``d`` and the relative
    size of what is *not* diagonal in ``R_n2 R_ref_n2^-1`` (``~0``: only a rescaling)."""
    R, R_ref = check_tensor(R, "R"), check_tensor(R_ref, "R_ref")
    if R.shape != R_ref.shape or R.ndim != 3 or R.shape[1] != R.shape[2]:
        raise ValueError(f"R and R_ref must both be (b, a, a), got {tuple(R.shape)} and "
                         f"{tuple(R_ref.shape)}")  # fmt: skip
    ratio = torch.linalg.solve(R_ref.mT, R.mT).mT  # R_n2 R_ref_n2^-1, (b, a, a)
    diag = torch.diagonal(ratio, dim1=-2, dim2=-1)  # (b, a)
    off = ratio - torch.diag_embed(diag)
    return diag.mT.contiguous(), float(off.norm() / ratio.norm())


def tensor_core_factors(N: int, tile: int = 16) -> tuple[int, ...]:
    """Balanced factors of ``N`` with as many stages as keep every factor ``>= tile`` (a matrix
    unit multiplies ``tile``-wide operands; a smaller DFT matrix leaves it partly idle):
    ``(16, 16, 16)`` for 4096, ``(16, 32)`` for 512; ``(N,)``, one dense DFT, when no split
    keeps every factor ``>= tile`` (``N < tile^2``, or a prime). The cost model of chapter 06
    puts each FFT size on this form."""
    check_positive_int(N, "N")
    check_positive_int(tile, "tile", minimum=2)
    best: tuple[int, ...] = (N,) if N > 1 else ()
    parts = 2
    while tile**parts <= N:  # integer test: no rounding of log(N) / log(tile)
        fs = balanced_factors(N, parts)
        if len(fs) == parts and min(fs) >= tile:
            best = fs
        parts += 1
    return best
