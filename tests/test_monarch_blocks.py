"""The Monarch form of the DFT (hyena_lab.monarch_blocks): P L P^T R P == F_N with the DFT's
blocks, its five explicit factors, learned blocks from random ones (seeded, the DFT up to a
diagonal rescaling), factors sized for tensor cores, bad inputs; and chapter 06's figures
(hyena_lab.viz.monarch) draw what they are given, with labelled axes."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from matplotlib.figure import Figure

from hyena_lab import monarch
from hyena_lab.checks import F64_SAME_ALGEBRA
from hyena_lab.monarch_blocks import (
    BlockFit,
    dft_blocks,
    diagonal_gauge,
    fit_dft_blocks,
    monarch_apply,
    monarch_factor_matrices,
    monarch_matrix,
    tensor_core_factors,
)
from hyena_lab.roofline import Ceilings
from hyena_lab.viz import monarch as mviz

pytestmark = pytest.mark.usefixtures("one_thread")
C128 = torch.complex128


def crel(a, b):
    a, b = a.detach().to(C128), b.detach().to(C128)
    return float((a - b).norm() / b.norm())


def _complex(shape, seed):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=C128)


# F64_SAME_ALGEBRA (1e-12): two matmul stages of size <= 12 against torch.fft.fft, both in
# float64 on O(1) data; monarch.matmul_fft_rel_bound gives < 1e-13 here, a wrong twiddle or
# permutation changes the result by O(1).
@given(st.integers(1, 12), st.integers(1, 12), st.lists(st.integers(1, 3), max_size=2),
       st.integers(0, 99))  # fmt: skip
def test_dft_blocks_give_the_fft(a, b, lead, seed):
    L, R = dft_blocks(a, b)
    assert L.shape == (a, b, b) and R.shape == (b, a, a) and L.dtype == R.dtype == C128
    x = _complex((*lead, a * b), seed)
    y = monarch_apply(x, L, R)
    assert y.shape == x.shape and crel(y, torch.fft.fft(x)) < F64_SAME_ALGEBRA


@pytest.mark.parametrize(("a", "b"), [(3, 4), (4, 3), (2, 8), (1, 5), (5, 1)])
def test_five_factors_multiply_to_the_dft(a, b):
    L, R = dft_blocks(a, b)
    mats = monarch_factor_matrices(L, R)
    P, R_dense, P_T, L_dense, P_out = mats
    product = torch.eye(a * b, dtype=C128)
    for M in mats:
        product = M @ product
    F = monarch.dft_matrix(a * b)
    assert crel(product, F) < F64_SAME_ALGEBRA and crel(monarch_matrix(L, R), F) < F64_SAME_ALGEBRA
    assert torch.equal(P_T, P.T) and torch.equal(P_out, P)
    assert torch.equal(P @ P.T, torch.eye(a * b, dtype=C128))  # a permutation
    assert torch.equal(R_dense, torch.kron(torch.eye(b, dtype=C128), monarch.dft_matrix(a)))
    assert torch.equal(L_dense, torch.block_diag(*L))  # a blocks F_b diag(T[k1, :])
    if a > 1 and b > 1:  # P is the P of the four-step form (monarch.four_step_matrices)
        assert torch.equal(P, monarch.four_step_matrices(a * b, (a, b))[-1])


def test_monarch_apply_is_differentiable_and_matches_the_dense_matrix():
    g = torch.Generator().manual_seed(0)
    L = torch.randn(3, 4, 4, generator=g, dtype=C128).requires_grad_()
    R = torch.randn(4, 3, 3, generator=g, dtype=C128)
    x = _complex((2, 12), 1)
    y = monarch_apply(x, L, R)
    assert crel(y, x @ monarch_matrix(L, R).mT) < F64_SAME_ALGEBRA
    y.abs().sum().backward()
    assert L.grad is not None and L.grad.shape == L.shape


@pytest.mark.parametrize(("a", "b", "seed"), [(4, 4, 0), (2, 8, 1), (3, 5, 2)])
def test_fit_learns_the_dft_up_to_a_diagonal_rescaling(a, b, seed):
    fit = fit_dft_blocks(a, b, seed=seed)
    assert isinstance(fit, BlockFit) and len(fit.losses) == 301
    assert fit.losses[0] > 0.5  # random blocks: nowhere near F_N
    # Adam on this bilinear loss reaches ~1e-13 in 300 steps on these seeds; 1e-8 leaves room
    # for round-off differences between machines and still means the DFT was found
    assert fit.losses[-1] < 1e-8 and math.isclose(fit.rel_error, math.sqrt(fit.losses[-1]))
    assert crel(monarch_matrix(fit.L, fit.R), monarch.dft_matrix(a * b)) < 1e-4
    _, R_dft = dft_blocks(a, b)
    scale, off = diagonal_gauge(fit.R, R_dft)
    assert scale.shape == (a, b) and off < 1e-3 and crel(fit.R, R_dft) > 1e-2


def test_fit_is_seeded():
    one, two = fit_dft_blocks(2, 2, steps=5, seed=3), fit_dft_blocks(2, 2, steps=5, seed=3)
    assert one.losses == two.losses and torch.equal(one.L, two.L)
    assert fit_dft_blocks(2, 2, steps=5, seed=4).losses != one.losses


def test_diagonal_gauge_recovers_a_known_scale():
    _, R = dft_blocks(3, 4)
    d = torch.polar(torch.linspace(0.5, 2, 12, dtype=torch.float64).reshape(3, 4),
                    torch.linspace(0, 3, 12, dtype=torch.float64).reshape(3, 4))  # fmt: skip
    scale, off = diagonal_gauge(d.mT[:, :, None] * R, R)
    assert crel(scale, d) < F64_SAME_ALGEBRA and off < F64_SAME_ALGEBRA
    _, off_full = diagonal_gauge(R.flip(-1), R)  # not a rescaling: columns permuted
    assert off_full > 0.1


def test_tensor_core_factors():
    assert tensor_core_factors(4096) == (16, 16, 16)
    assert tensor_core_factors(512) == (16, 32)
    assert tensor_core_factors(2048) == (32, 64)
    assert tensor_core_factors(255) == (255,) and tensor_core_factors(97) == (97,)
    assert tensor_core_factors(1) == () and tensor_core_factors(64, tile=8) == (8, 8)
    for p in range(4, 25):
        fs = tensor_core_factors(2**p)
        assert math.prod(fs) == 2**p and (len(fs) == 1 or min(fs) >= 16)
        assert len(fs) == max(1, p // 4)  # the most stages with every factor >= 16


def test_bad_inputs_say_what_was_expected():
    L, R = dft_blocks(3, 4)
    with pytest.raises(ValueError, match=r"R must hold b=4 blocks of a x a"):
        monarch_apply(torch.zeros(12, dtype=C128), L, L)
    with pytest.raises(ValueError, match=r"last axis of length N = a b = 12"):
        monarch_apply(torch.zeros(10, dtype=C128), L, R)
    with pytest.raises(ValueError, match=r"shape \(a, b, b\)"):
        monarch_matrix(L[0], R)
    with pytest.raises(TypeError, match="complex64 or complex128"):
        monarch_matrix(L.real, R.real)
    with pytest.raises(TypeError, match="one dtype"):
        monarch_matrix(L, R.to(torch.complex64))
    with pytest.raises(ValueError, match="N <= 1024"):
        monarch_factor_matrices(*dft_blocks(32, 33))
    with pytest.raises(ValueError, match="steps must be >= 1"):
        fit_dft_blocks(2, 2, steps=0)
    with pytest.raises(ValueError, match="lr must be finite and > 0"):
        fit_dft_blocks(2, 2, lr=-1.0)
    with pytest.raises(ValueError, match="both be"):
        diagonal_gauge(R, L)
    with pytest.raises(ValueError, match="tile must be >= 2"):
        tensor_core_factors(16, tile=1)


# ----------------------------------------------------------------------------------- figures
def _labelled(fig):
    assert isinstance(fig, Figure)
    for ax in fig.axes:
        if ax.get_images() or ax.get_lines():
            assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()


@pytest.mark.parametrize(("N", "factors", "form", "panels"),
                         [(12, (3, 4), "four-step", 5), (24, (2, 3, 4), "four-step", 8),
                          (12, (3, 4), "monarch", 6), (7, None, "four-step", 2)])  # fmt: skip
def test_factors_figure_draws_every_factor_and_the_product(N, factors, form, panels):
    fig = mviz.factors_figure(N, factors, form)
    _labelled(fig)
    images = [ax for ax in fig.axes if ax.get_images()]
    assert len(images) == panels
    assert images[-1].get_title().startswith(f"$= F_{{{N}}}$")
    assert f"{N * N} nonzeros" in images[-1].get_title()  # the product is dense


def test_factors_figure_refuses_what_it_cannot_draw():
    with pytest.raises(ValueError, match="form must be"):
        mviz.factors_figure(12, (3, 4), "butterfly")
    with pytest.raises(ValueError, match="two factors"):
        mviz.factors_figure(24, (2, 3, 4), "monarch")


def test_flops_speedup_and_fit_figures():
    fig = mviz.flops_figure([16, 64, 256])
    _labelled(fig)
    (ax,) = fig.axes
    lines = {line.get_label(): list(line.get_ydata()) for line in ax.get_lines()}
    assert lines["dense $F_N x$: $8N^2$"] == [8.0 * n * n for n in (16, 64, 256)]
    ceil = Ceilings(bandwidth=3e12, matmul_flops=800e12, fp32_flops=50e12, device="test GPU")
    fig = mviz.speedup_figure(ceil, [16, 256, 4096])
    _labelled(fig)
    assert "test GPU" in fig.axes[0].get_title()
    fig = mviz.fit_figure([1.0, 0.1, 1e-3], label="demo")
    _labelled(fig)
    with pytest.raises(ValueError, match="finite numbers"):
        mviz.fit_figure([1.0])
    with pytest.raises(ValueError, match="finite numbers"):
        mviz.fit_figure([1.0, float("nan")])
