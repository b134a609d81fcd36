"""The Hyena operator: shapes, the matrix form A(u), causality, data control, bad inputs."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from hyena_lab import HyenaOperator, direct_conv, fftconv, toeplitz
from hyena_lab import operator as operator_module
from hyena_lab.checks import F32_FFT_CHAIN, F64_FFT_CHAIN, F64_SAME_ALGEBRA
from hyena_lab.operator import algorithm3_steps, resolve_backend

from .helpers import rel_err


def _op(d=4, l_max=32, order=2, seed=0, **kw):
    torch.manual_seed(seed)
    return HyenaOperator(d, l_max, order=order, **kw).double()


def _u(b, L, d, seed=1):
    return torch.randn(b, L, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@given(
    order=st.integers(1, 4),
    L=st.one_of(st.just(1), st.integers(2, 32)),
    d=st.integers(1, 5),
    identity_first=st.booleans(),
    seed=st.integers(0, 50),
)
def test_operator_equals_its_materialized_matrix(order, L, d, identity_first, seed):
    if identity_first and order < 2:
        order = 2
    op = _op(d, 32, order, seed, identity_first=identity_first)
    u = _u(1, L, d, seed + 1)
    m = op.matrices(u)
    A = op.materialize(u)
    assert A.shape == (d, L, L)
    Av = (A @ m.v[..., None])[..., 0]  # (d, L)
    assert rel_err(Av, op.core(u)[0]) < F64_FFT_CHAIN
    assert rel_err(op.out_proj(Av.T), op(u)[0]) < F64_FFT_CHAIN
    assert torch.equal(A, torch.tril(A))  # causal
    assert len(m.D_x) == len(m.S_h) == order
    for S in m.S_h:  # every S_h is lower-triangular Toeplitz: fixed by its first column
        assert torch.equal(S, toeplitz(S[..., :, 0]))


@pytest.mark.parametrize("order", [1, 2, 3])
@pytest.mark.parametrize("L", [1, 7, 31, 32])
def test_shapes_odd_and_short_lengths(order, L):
    op = _op(6, 32, order)
    y = op(_u(3, L, 6))
    assert y.shape == (3, L, 6)
    assert op.filters(L).shape == (order, 6, L)


def test_causality_future_does_not_leak(monkeypatch):
    op = _op(4, 40, 3)
    u = _u(2, 40, 4)
    u2 = u.clone()
    u2[:, 25:] += 5 * _u(2, 15, 4, seed=9)
    y, y2 = op(u), op(u2)
    # The FFT path mixes all positions, so the past may move by round-off of the future's size
    # (checks.fftconv_error_bound: ~ eps * log2(2L) * ||k||_1 ||u||_2 per convolution), far below
    # what a real leak would change (the future moved by O(1) here).
    assert rel_err(y2[:, :25], y[:, :25]) < F64_SAME_ALGEBRA
    assert not torch.allclose(y[:, 25:], y2[:, 25:])
    # With the definition in place of the FFT, nothing but the past is read: bit-for-bit equal.
    monkeypatch.setattr(operator_module, "fftconv", direct_conv)
    assert torch.equal(op(u)[:, :25], op(u2)[:, :25])


def test_data_control_A_changes_with_u_but_S_h_does_not():
    op = _op(3, 16, 2)
    u1, u2 = _u(1, 16, 3, 1), _u(1, 16, 3, 2)
    m1, m2 = op.matrices(u1), op.matrices(u2)
    assert rel_err(op.materialize(u1), op.materialize(u2)) > 1e-2  # O(1) apart: far above round-off
    for S1, S2 in zip(m1.S_h, m2.S_h, strict=True):
        assert torch.equal(S1, S2)  # filters do not depend on the input
    assert rel_err(m1.D_x[0], m2.D_x[0]) > 1e-2  # gates do


def test_order_one_is_a_gated_convolution():
    op = _op(3, 16, 1)
    u = _u(2, 16, 3)
    (x1,), v = op.projections(u)
    expected = x1 * fftconv(v, op.filters(16)[0], op.bias[0])
    assert rel_err(op.core(u), expected) < F64_FFT_CHAIN


def test_gradients_reach_every_parameter():
    op = _op(4, 16, 2)
    op(_u(2, 16, 4)).pow(2).sum().backward()
    for name, p in op.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_gradcheck_small_operator():
    op = _op(2, 8, 2)
    u = _u(1, 5, 2).requires_grad_(True)
    assert torch.autograd.gradcheck(op, (u,))


def test_float32_matches_float64():
    op = _op(4, 64, 2)
    u = _u(2, 50, 4)
    y64 = op(u)
    y32 = op.float()(u.float())
    assert rel_err(y32, y64) < F32_FFT_CHAIN


@pytest.mark.parametrize(
    ("u", "exc", "match"),
    [
        (torch.randn(1, 33, 4), ValueError, "exceeds l_max=32"),
        (torch.randn(1, 8, 5), ValueError, "d_model=4"),
        (torch.randn(8, 4), ValueError, r"\(batch, seq_len, d_model\)"),
        (torch.ones(1, 8, 4, dtype=torch.int64), TypeError, "floating"),
    ],
)
def test_bad_inputs(u, exc, match):
    op = HyenaOperator(4, 32)
    with pytest.raises(exc, match=match):
        op(u)


def test_bad_constructor_args():
    with pytest.raises(ValueError, match="order must be >= 1"):
        HyenaOperator(4, 32, order=0)
    with pytest.raises(ValueError, match="identity_first needs order >= 2"):
        HyenaOperator(4, 32, order=1, identity_first=True)
    with pytest.raises(ValueError, match="unknown filter"):
        HyenaOperator(4, 32, filter="nope")
    with pytest.raises(ValueError, match="single sequence"):
        HyenaOperator(4, 32).matrices(torch.randn(2, 8, 4))


def test_without_filter_bias_the_skip_term_is_zero_and_frozen():
    op = _op(3, 16, 2, filter_bias=False)
    assert not op.bias.requires_grad and torch.equal(op.bias, torch.zeros_like(op.bias))
    k = op.filters(16)  # (order, d, L)
    for n, S in enumerate(op.matrices(_u(1, 16, 3)).S_h):
        # with no skip term the diagonal of S_h is the filter's first tap h_0
        assert torch.equal(torch.diagonal(S, dim1=-2, dim2=-1), k[n][:, :1].expand(3, 16))


def test_input_of_another_dtype_than_the_weights_says_how_to_convert():
    op = HyenaOperator(4, 16)  # float32 weights
    with pytest.raises(TypeError, match=r"u has dtype torch.float64 but the module's weights are "
                       r"torch.float32: convert the input \(u.float\(\)\)"):
        op(torch.randn(1, 8, 4, dtype=torch.float64))


def test_filter_of_step_maps_each_step_to_its_filter_row():
    assert _op(order=3).filter_of_step == (0, 1, 2)  # the paper: h^n at row n - 1
    op = _op(order=3, identity_first=True)
    assert op.filter_of_step == (None, 0, 1) and op.n_filters == 2  # official: S_h^1 = I
    u = _u(2, 9, 4)
    z = _u(2, 9, 4, seed=5).transpose(1, 2)  # (batch, d, L)
    h = op.filters(9)
    assert torch.equal(op.long_conv(0, z, h), z)  # the identity step
    assert torch.equal(op.long_conv(2, z, h), fftconv(z, h[1], op.bias[1]))  # step 3: row 1
    assert torch.equal(op.conv_matrix(2, h), toeplitz(h[1], op.bias[1]))
    (x1, x2, x3), v = op.projections(u)  # the official order-3 layer, written out
    y = x3 * fftconv(x2 * fftconv(x1 * v, h[0], op.bias[0]), h[1], op.bias[1])
    assert torch.equal(op.core(u), y)


def test_filter_network_runs_once_per_forward(monkeypatch):
    op = _op(order=4)
    calls = []
    monkeypatch.setattr(op, "filters", lambda L: calls.append(L) or HyenaOperator.filters(op, L))
    op(_u(1, 8, 4))
    assert calls == [8]  # one bank for all N steps, not one evaluation per step


@pytest.mark.parametrize(
    ("order", "kw"),
    [(2, {}), (3, {"identity_first": True}), (1, {"filter": "ssm"}),
     (2, {"filter_args": {"normalize": "l1", "modulate": False}})],
)
def test_algorithm3_steps_name_every_tensor_and_end_at_op_u(order, kw):
    op = _op(5, 16, order, **kw)
    u = _u(2, 11, 5)
    s = algorithm3_steps(op, u)
    # The walk spells out the operator's steps; only the skip term is added outside fftconv,
    # the same float64 operations in the same order (measured: bit-for-bit equal), so
    # F64_SAME_ALGEBRA is a wide bound, ~1e8 below a wrong gate or filter (O(1e-2) or more).
    assert rel_err(s["out_proj"], op(u)) < F64_SAME_ALGEBRA
    assert rel_err(s[f"z^{order + 1}"], op.core(u)) < F64_SAME_ALGEBRA
    assert s["in_proj"].shape == (2, 11, (order + 1) * 5)
    assert s["short_conv"].shape == (2, (order + 1) * 5, 11)
    x, v = op.projections(u)
    assert torch.equal(s["v"], v) and all(torch.equal(s[f"x^{n + 1}"], x[n]) for n in range(order))
    has_filter = [n + 1 for n, j in enumerate(op.filter_of_step) if j is not None]
    filters = [k for k in s if k.startswith("h^") and "conv" not in k]
    assert filters == [f"h^{n}" for n in has_filter]
    assert torch.equal(torch.stack([s[f"h^{n}"] for n in has_filter]), op.filters(11))
    for n in has_filter:
        assert s[f"h^{n} conv z^{n}"].shape == s[f"b^{n} z^{n}"].shape == (2, 5, 11)
    implicit = "filter" not in kw and "filter_args" not in kw
    assert ("PE(t)" in s) == implicit  # step by step only for the plain implicit filter
    if implicit:
        assert s["PE(t)"].shape == (11, op.filter.pos_emb.z.shape[1])
        assert s["FFN(PE(t))"].shape == s["window"].shape == (op.n_filters * 5, 11)


@settings(max_examples=10, deadline=None)
@given(
    order=st.integers(1, 3),
    L=st.integers(1, 40),
    identity_first=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_monarch_backend_equals_torch_backend(order, L, identity_first, seed):
    """backend="monarch" (the FFT as matrix products, chapter 06) gives the torch backend's
    output and gradients in float64: both are FFT convolutions whose round-off is ~1e-15 relative
    at these lengths (checks.F64_FFT_CHAIN), so 1e-12 leaves a margin of ~1e3; a wrong zero
    padding or twiddle would be O(1)."""
    if identity_first and order < 2:
        return
    torch.manual_seed(seed)
    ref = HyenaOperator(8, 64, order=order, identity_first=identity_first).double()
    mat = HyenaOperator(8, 64, order=order, identity_first=identity_first, backend="monarch")
    mat.load_state_dict(ref.state_dict())
    mat.double()
    u = torch.randn(2, L, 8, dtype=torch.float64, requires_grad=True)
    y_ref, y_mat = ref(u), mat(u)
    assert rel_err(y_mat, y_ref) < 1e-12
    g_ref = torch.autograd.grad(y_ref.square().sum(), [u, *ref.parameters()], allow_unused=True)
    g_mat = torch.autograd.grad(y_mat.square().sum(), [u, *mat.parameters()], allow_unused=True)
    for a, b in zip(g_mat, g_ref, strict=True):
        if b is not None:
            assert rel_err(a, b) < 1e-12


def test_backend_names():
    assert HyenaOperator(4, 8).backend == "auto" and resolve_backend("auto", "cpu") == "torch"
    assert "backend='monarch'" in repr(HyenaOperator(4, 8, backend="monarch"))
    with pytest.raises(ValueError, match=r"backend must be one of \['auto', 'torch', 'monarch', "
                                         r"'triton'\]"):  # fmt: skip
        HyenaOperator(4, 8, backend="cuda")


def test_triton_backend_without_a_gpu_is_a_clear_error(monkeypatch):
    """backend='triton' on CPU tensors outside the interpreter says what to do instead."""
    monkeypatch.setenv("TRITON_INTERPRET", "0")
    op = HyenaOperator(4, 8, backend="triton")
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises((RuntimeError, ImportError), match="backend='torch'"):
        op(torch.randn(1, 8, 4))
