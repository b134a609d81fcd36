"""Modal distillation (hyena_lab.distill): exact recovery of modal filters, the recurrence against
the convolution with its kernel, the pole clamp, the filter module, and clear errors."""

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from hyena_lab.checks import F64_FFT_CHAIN, rel_err
from hyena_lab.conv import direct_conv
from hyena_lab.distill import (
    MAX_RADIUS,
    ModalFilter,
    ModalSSM,
    fit_modal,
    hankel,
    hankel_singular_values,
)
from hyena_lab.filters import ImplicitFilter, seeded

pytestmark = pytest.mark.usefixtures("one_thread")

#: Exact modal data recovered by Kung's method + least squares in float64: the error is round-off
#: amplified by the conditioning of the Hankel / Vandermonde factors (measured <= 1e-14 for the
#: separated poles drawn below); 1e-10 (the package's float64 FFT-chain tolerance) leaves 1e4 of
#: margin, and a missed or wrong pole gives an O(1e-2) or larger error.
EXACT = F64_FFT_CHAIN

#: The recurrence run step by step against direct_conv with its kernel, float64, L <= 64 terms
#: per output: both are sums of the same O(1) products in another order, ~sqrt(L) eps ~ 2e-15.
RECURRENCE = F64_FFT_CHAIN


def random_modes(channels: int, order: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Poles and residues (channels, order) of a real filter of state size ``order``: conjugate
    pairs with radii in [0.5, 0.95] and angles in separated bands, and one real pole if odd."""
    g = torch.Generator().manual_seed(seed)

    def rand(*shape):
        return torch.rand(*shape, generator=g, dtype=torch.float64)

    pairs = order // 2
    radius = 0.5 + 0.45 * rand(channels, pairs)
    band = torch.arange(pairs, dtype=torch.float64)
    angle = (band + 0.2 + 0.6 * rand(channels, pairs)) * math.pi / max(pairs, 1)
    lam = torch.polar(radius, angle)
    R = torch.complex(rand(channels, pairs) - 0.5, rand(channels, pairs) - 0.5)
    if order % 2:
        real = torch.complex(-0.9 + 1.8 * rand(channels, 1), torch.zeros(channels, 1).double())
        lam = torch.cat([lam, real], dim=1)
        zero = torch.zeros(channels, 1, dtype=torch.float64)
        R = torch.cat([R, torch.complex(rand(channels, 1) - 0.5, zero)], dim=1)
    return lam, R


def modal_filter(lam: torch.Tensor, R: torch.Tensor, L: int) -> torch.Tensor:
    """The reference ``h[t] = sum_i Re(R_i lambda_i^t)``, (channels, L), by repeated products."""
    h = torch.zeros(lam.shape[0], L, dtype=torch.float64)
    power = torch.ones_like(lam)
    for t in range(L):
        h[:, t] = (R * power).real.sum(-1)
        power = power * lam
    return h


@pytest.mark.parametrize(("order", "L"), [(1, 2), (2, 4), (2, 64), (3, 7), (4, 200), (7, 64),
                                          (8, 129), (16, 513)])  # fmt: skip
def test_fit_recovers_a_sum_of_modes_to_round_off(order, L):
    lam, R = random_modes(5, order, seed=order * 1000 + L)
    h = modal_filter(lam, R, L)
    ssm = fit_modal(h, order)
    assert ssm.order == order and ssm.channels == 5
    assert ssm.modes == (order + 1) // 2  # one slot per pair, one per real pole
    assert rel_err(ssm.kernel(L), h) < EXACT
    # the same poles (one of each pair), in any order
    got = sorted(ssm.poles[0].tolist(), key=lambda z: (round(z.imag, 6), z.real))
    want = sorted(
        [z for z in lam[0].tolist() if z.imag >= 0], key=lambda z: (round(z.imag, 6), z.real)
    )
    assert max(abs(a - b) for a, b in zip(got, want, strict=True)) < 1e-8


def test_fit_of_float32_filters_is_float64():
    lam, R = random_modes(3, 4, seed=1)
    h = modal_filter(lam, R, 50)
    ssm = fit_modal(h.float(), 4)
    assert ssm.poles.dtype == torch.complex128 and ssm.kernel(50).dtype == torch.float64
    assert rel_err(ssm.kernel(50), h) < 1e-6  # only the float32 rounding of h (eps 1.2e-7)
    assert ssm.to(torch.float32).kernel(50).dtype == torch.float32


def test_hankel_singular_values_count_the_modes():
    for order in (2, 3, 6):
        lam, R = random_modes(4, order, seed=order)
        s = hankel_singular_values(modal_filter(lam, R, 100))
        assert s.shape == (4, 50)
        assert (s[:, order - 1] / s[:, 0] > 1e-8).all()  # order values above the floor...
        assert (s[:, order] / s[:, 0] < 1e-12).all()  # ...and nothing beyond it
    assert hankel_singular_values(modal_filter(lam, R, 100), size=10).shape == (4, 10)


def test_hankel_matrix():
    h = torch.arange(10.0).reshape(1, 10)
    H = hankel(h, 4, 3)
    assert H.shape == (1, 4, 3) and H[0, 2, 1] == 3 and H[0, 3, 2] == 5
    with pytest.raises(ValueError, match="needs 7 taps"):
        hankel(h[:, :6], 4, 4)


def random_ssm(channels: int, modes: int, seed: int) -> ModalSSM:
    g = torch.Generator().manual_seed(seed)
    radius = 0.99 * torch.rand(channels, modes, generator=g, dtype=torch.float64)
    angle = math.pi * torch.rand(channels, modes, generator=g, dtype=torch.float64)
    R = torch.randn(channels, modes, 2, generator=g, dtype=torch.float64)
    return ModalSSM(torch.polar(radius, angle), torch.view_as_complex(R), 2 * modes)


@given(channels=st.integers(1, 4), modes=st.integers(1, 5), batch=st.integers(1, 3),
       L=st.integers(1, 64), seed=st.integers(0, 2**16))  # fmt: skip
def test_recurrence_equals_the_convolution_with_its_kernel(channels, modes, batch, L, seed):
    ssm = random_ssm(channels, modes, seed)
    u = torch.randn(batch, channels, L, generator=torch.Generator().manual_seed(seed + 1),
                    dtype=torch.float64)  # fmt: skip
    state, ys = ssm.init_state(batch), []
    for t in range(L):
        y, state = ssm.step(state, u[..., t])
        ys.append(y)
    y = torch.stack(ys, dim=-1)
    assert y.dtype == torch.float64
    assert rel_err(y, direct_conv(u, ssm.kernel(L))) < RECURRENCE
    # the one-pass state after the whole input is the stepped one
    after = ssm.state_after(u)
    assert float((after - state).abs().max()) <= RECURRENCE * float(state.abs().max() + 1)


def test_a_wrong_recurrence_would_fail():
    """The comparison above can fail: a kernel shifted by one tap is far off."""
    ssm = random_ssm(2, 3, 0)
    u = torch.randn(1, 2, 20, dtype=torch.float64)
    state, ys = ssm.init_state(1), []
    for t in range(20):
        y, state = ssm.step(state, u[..., t])
        ys.append(y)
    k = ssm.kernel(21)[:, 1:]  # h[t + 1] instead of h[t]
    assert rel_err(torch.stack(ys, -1), direct_conv(u, k)) > 1e-2


def test_poles_are_clamped_inside_the_unit_circle():
    t = torch.arange(40, dtype=torch.float64)
    h = torch.stack([1.05**t, 1.0 + 0 * t, torch.cos(0.3 * t)])  # growing, constant, undamped
    ssm = fit_modal(h, 2)
    assert (ssm.poles.abs() <= MAX_RADIUS * (1 + 1e-12)).all()
    assert ssm.kernel(100_000).isfinite().all()
    ssm = fit_modal(h, 2, max_radius=0.5)
    assert (ssm.poles.abs() <= 0.5 * (1 + 1e-12)).all()


def test_an_implicit_filter_distils_better_with_more_states():
    with seeded(0):
        h = ImplicitFilter(8, 64)(64).detach()
    errors = [rel_err(fit_modal(h, r).kernel(64), h) for r in (2, 4, 8, 16)]
    assert errors[-1] < errors[0] and errors[-1] < 0.05
    zero = fit_modal(torch.zeros(2, 16), 4)  # no energy: residues 0, kernel 0
    assert float(zero.kernel(16).abs().max()) == 0.0


def test_modal_filter_module():
    lam, R = random_modes(6, 4, seed=3)
    ssm = fit_modal(modal_filter(lam, R, 64), 4)
    f = ModalFilter(ssm, 64)
    assert torch.equal(f(32), ssm.kernel(32))
    f32 = ModalFilter(ssm, 64).to(torch.float32)  # keeps the imaginary parts
    assert f32(64).dtype == torch.float32 and rel_err(f32(64), ssm.kernel(64)) < 1e-6
    assert f.to(torch.float32).double()(64).dtype == torch.float64
    assert sum(b.numel() for b in f.buffers()) == 2 * 2 * ssm.poles.numel()
    with pytest.raises(ValueError, match="l_max=64"):
        f(65)
    with pytest.raises(TypeError, match="ModalSSM"):
        ModalFilter(torch.zeros(3), 8)


@pytest.mark.parametrize(
    ("h", "order", "kwargs", "error", "match"),
    [
        (torch.zeros(10), 2, {}, ValueError, r"\(channels, L\)"),
        (torch.zeros(2, 3, 10), 2, {}, ValueError, r"\(channels, L\)"),
        (torch.zeros(2, 10, dtype=torch.long), 2, {}, TypeError, "floating-point"),
        (torch.full((2, 10), float("nan")), 2, {}, ValueError, "non-finite"),
        (torch.zeros(2, 10), 0, {}, ValueError, "order must be >= 1"),
        (torch.zeros(2, 10), True, {}, TypeError, "order must be an int"),
        (torch.zeros(2, 10), 6, {}, ValueError, r"L >= 2 \* order = 12"),
        (torch.zeros(2, 40), 6, {"size": 4}, ValueError, "size >= order"),
        (torch.zeros(2, 40), 2, {"max_radius": 1.0}, ValueError, "max_radius must be < 1"),
        ("not a tensor", 2, {}, TypeError, "torch.Tensor"),
    ],
)  # fmt: skip
def test_fit_errors(h, order, kwargs, error, match):
    with pytest.raises(error, match=match):
        fit_modal(h, order, **kwargs)


def test_step_and_construction_errors():
    ssm = random_ssm(3, 2, 0)
    state = ssm.init_state(2)
    with pytest.raises(ValueError, match=r"state must be \(batch, 3, 2\)"):
        ssm.step(torch.zeros(2, 3, 5, dtype=torch.complex128), torch.zeros(2, 3))
    with pytest.raises(ValueError, match=r"u_t must have shape \(batch, channels\) = \(2, 3\)"):
        ssm.step(state, torch.zeros(2, 4))
    with pytest.raises(TypeError, match="floating-point"):
        ssm.step(state, torch.zeros(2, 3, dtype=torch.long))
    with pytest.raises(ValueError, match="3 channels"):
        ssm.state_after(torch.zeros(1, 4, 5))
    with pytest.raises(TypeError, match="complex"):
        ModalSSM(torch.zeros(3, 2), torch.zeros(3, 2), 2)
    with pytest.raises(ValueError, match="one shape and dtype"):
        ModalSSM(ssm.poles, ssm.residues[:, :1], 2)
    with pytest.raises(ValueError, match=r"float32 or torch\.float64"):
        ssm.to(torch.float16)
    with pytest.raises(ValueError, match="L must be >= 1"):
        ssm.kernel(0)
