"""The fused layer's half-precision transforms (``op.half_fft``, chapter 06, issue 17): the
padded signal in float16, pre-scaled by ``HALF_SCALE``, cuFFT in complex32, the spectral pass
reading and writing complex32.

torch has no complex32 FFT on the CPU, so here (Triton's interpreter) the transform is emulated:
computed in complex64 and rounded to complex32, which is what cuFFT's half-precision transform
returns up to its own internal rounding. Everything else runs as on the GPU: the padding pass
that scales, the spectral kernel on complex32, the gates that keep or undo the scale. On a GPU
the last tests run the real thing against float64.
"""

import os
import sys
import warnings

import pytest
import torch

if not torch.cuda.is_available():  # Triton reads it when it is first imported
    if "triton" in sys.modules and os.environ.get("TRITON_INTERPRET") != "1":
        raise RuntimeError("triton was imported before TRITON_INTERPRET=1 was set, and no GPU")
    os.environ.setdefault("TRITON_INTERPRET", "1")

pytest.importorskip("triton")

from hyena_lab import HyenaOperator
from hyena_lab.checks import F64_SAME_ALGEBRA, HALF_VS_F64
from hyena_lab.kernels import layer, long_conv
from hyena_lab.kernels.gates import gate
from hyena_lab.kernels.long_conv import causal_conv_padded, padded
from hyena_lab.kernels.spectral import filter_packed

from .helpers import DEV, pad_ref, randn, rel_err

pytestmark = [
    pytest.mark.usefixtures("one_thread", "poisoned_kernels"),  # conftest.py
    pytest.mark.filterwarnings("ignore:ComplexHalf support is experimental:UserWarning"),
]

#: float16 keeps 11 significant bits: every stored value is within 2^-11 of itself, relative.
#: The spectral pass reads two rounded values per output (``C[k]``, ``C[L-k]``), computes in
#: float32 and rounds once more: at most about 3 * 2^-11 = 1.5e-3 in norm; 2e-3 bounds it.
F16_STORAGE = 2e-3


def _emulated_half_fft(monkeypatch):
    """cuFFT's complex32 transforms on the CPU: complex64 arithmetic, rounded to complex32."""

    def fft(x):  # float16 rows -> complex32; the filter's float32 rows as before
        B, D, n = x.shape
        c = torch.fft.fft(torch.view_as_complex(x.float().contiguous().view(B, D, n // 2, 2)))
        return c.to(torch.complex32) if x.dtype == torch.float16 else c

    def ifft(q):
        B, D, L = q.shape
        y = torch.view_as_real(torch.fft.ifft(q.to(torch.complex64), norm="forward"))
        return y.reshape(B, D, 2 * L).to(torch.float16 if q.dtype == torch.complex32 else y.dtype)

    monkeypatch.setattr(long_conv, "_packed_fft", fft)
    monkeypatch.setattr(long_conv, "_packed_ifft", ifft)
    monkeypatch.setattr(long_conv, "_check_half", lambda *a: None)


def test_the_spectral_pass_reads_and_writes_complex32():
    B, D, L = 2, 3, 64
    c = torch.complex(randn(B, D, L, seed=1), randn(B, D, L, seed=11))  # any packed spectrum
    h_f = torch.complex(randn(D, L, seed=2), randn(D, L, seed=12)) / (2 * L)
    ref = filter_packed(c, h_f)  # complex128 throughout
    got = filter_packed(c.to(torch.complex32), h_f.to(torch.complex64))
    assert got.dtype == torch.complex32 and got.shape == (B, D, L)
    assert rel_err(got.to(torch.complex128), ref) < F16_STORAGE
    # the filter's spectrum in complex32 too, stored unscaled: 1/2L applied in registers
    got = filter_packed(c.to(torch.complex32), (h_f * 2 * L).to(torch.complex32),
                        h_scale=1 / (2 * L))  # fmt: skip
    assert rel_err(got.to(torch.complex128), ref) < F16_STORAGE
    with pytest.raises(ValueError, match=r"torch\.complex64 or torch\.complex32"):
        filter_packed(c.to(torch.complex32), h_f)  # complex128
    with pytest.raises(ValueError, match=r"packed spectrum, torch\.complex64 \(D, L\)"):
        filter_packed(c.to(torch.complex64), h_f.to(torch.complex32))  # complex32 only with c
    with pytest.raises(ValueError, match="h_scale must be a finite non-zero"):
        filter_packed(c, h_f, h_scale=0.0)


def test_the_last_gate_flags_what_is_not_finite():
    """The overflow check rides on the gate's own pass: an int32 flag set where the output is
    NaN or infinite, left alone where it is finite."""
    x, y = randn(2, 3, 20, seed=21, dtype=torch.float32), randn(2, 3, 40, seed=22,
                                                                 dtype=torch.float32)  # fmt: skip
    flag = torch.zeros(1, dtype=torch.int32, device=DEV)
    gate(y, None, x, flag=flag)
    assert flag.item() == 0
    for bad in (float("inf"), float("-inf"), float("nan")):
        y_bad = y.clone()
        y_bad[1, 2, 19] = bad  # the last column the gate reads
        flag.zero_()
        gate(y_bad, None, x, flag=flag, transpose_out=True)
        assert flag.item() == 1, bad
    y_bad = y.clone()
    y_bad[0, 0, 20] = float("nan")  # beyond column L: never read, never flagged
    flag.zero_()
    gate(y_bad, None, x, flag=flag)
    assert flag.item() == 0
    with pytest.raises(ValueError, match="int32 tensor of one element"):
        gate(y, None, x, flag=torch.zeros(2, dtype=torch.int32, device=DEV))


def test_padding_and_gate_carry_a_scale_and_its_gradient():
    z, x, y = randn(2, 3, 20, seed=3), randn(2, 3, 20, seed=4), randn(2, 3, 40, seed=5)
    zp = padded(z, torch.float64, 0.25)
    assert torch.equal(zp, pad_ref(z) * 0.25)
    assert rel_err(gate(y, None, x, scale=4.0), 4.0 * x * y[..., :20]) < F64_SAME_ALGEBRA
    zs = z[..., :4].clone().requires_grad_()
    xs, ys = x[..., :4].clone().requires_grad_(), y[..., :8].clone().requires_grad_()
    b = randn(3, seed=6).requires_grad_()
    assert torch.autograd.gradcheck(lambda t: padded(t, torch.float64, 0.25), (zs,))
    assert torch.autograd.gradcheck(lambda a, b_, c: gate(a, c, xs, b_, scale=0.5), (ys, b, zs))
    for bad in (0.0, float("inf"), float("nan")):
        with pytest.raises(ValueError, match="finite non-zero"):
            gate(y, None, x, scale=bad)
        with pytest.raises(ValueError, match="finite non-zero"):
            padded(z, torch.float32, bad)


@pytest.mark.parametrize("identity_first", [False, True])
def test_the_layer_in_half_precision_agrees_with_float64(monkeypatch, identity_first):
    """Order 3 (three pre-scaled steps, or an identity first filter that pads and scales in its
    gate) against the torch backend in float64: within the half-precision bound."""
    _emulated_half_fft(monkeypatch)
    monkeypatch.setattr(layer, "_half_fft", lambda op, u: True)  # the CPU has no complex32 FFT
    L = 64
    torch.manual_seed(0)
    op = HyenaOperator(4, L, order=3, identity_first=identity_first, backend="torch").to(DEV)
    u = randn(2, L, 4, seed=7)
    with torch.no_grad():
        ref = op.double()(u)
        op.float().backend = "triton"
        calls = []
        real_conv = layer.causal_conv_padded
        monkeypatch.setattr(layer, "causal_conv_padded",
                            lambda zp, *a: calls.append(zp.dtype) or real_conv(zp, *a))  # fmt: skip
        got = op(u.float())
    assert calls and set(calls) == {torch.float16}  # every long convolution took the half path
    assert got.dtype == torch.float32 and rel_err(got.double(), ref) < HALF_VS_F64


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # numpy on inf
def test_an_overflow_is_caught_and_recomputed_in_float32(monkeypatch):
    """Inputs of 1e7: the pre-scaled float16 spectrum passes 65,504 (emulated cuFFT rounds it
    to inf) at every pre-scale the layer tries; it warns at each, then returns the float32
    path's result, bit for bit, and goes straight to float32 at that length from then on."""
    _emulated_half_fft(monkeypatch)
    monkeypatch.setattr(layer, "_half_fft", lambda op, u: True)
    torch.manual_seed(0)
    op = HyenaOperator(4, 64, order=2, backend="triton").to(DEV)
    u = randn(1, 64, 4, dtype=torch.float32, seed=9) * 1e7
    with torch.no_grad():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", RuntimeWarning)
            got = op(u)
        said = [str(w.message) for w in caught if "overflowed at L = 64" in str(w.message)]
        assert len(said) == 3 and "float32 transforms" in said[-1]  # 2^-8, 2^-12, 2^-16
        assert "after the pre-scales 0.00391 and 1); recomputed with the pre-scales 0.000244 " \
            "(signal) and 1 (filters)" in said[0]  # fmt: skip
        assert layer.half_scales(op, 64) is None and layer.half_scales(op, 32) is None
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)  # no second warning, no retry
            again = op(u)
        monkeypatch.setattr(layer, "_half_fft", lambda op, u: False)
        want = op(u)
    assert torch.isfinite(want).all() and torch.equal(got, want) and torch.equal(again, want)


def test_after_an_overflow_a_lower_prescale_is_kept(monkeypatch):
    """A signal 10^4 times larger than usual overflows at the first pre-scale (2^-8) but not at
    2^-12: one warning, a half-precision result within the half-precision bound of float64,
    and the next call uses the lower scale without a retry."""
    _emulated_half_fft(monkeypatch)
    monkeypatch.setattr(layer, "_half_fft", lambda op, u: True)
    torch.manual_seed(0)
    op = HyenaOperator(4, 64, order=2, backend="torch").to(DEV)
    u = randn(1, 64, 4, seed=10) * 1e4
    calls = []
    real_conv = layer.causal_conv_padded
    monkeypatch.setattr(layer, "causal_conv_padded",
                        lambda zp, *a: calls.append(zp.dtype) or real_conv(zp, *a))  # fmt: skip
    with torch.no_grad():
        ref = op.double()(u)
        op.float().backend = "triton"
        with pytest.warns(RuntimeWarning, match="overflowed at L = 64") as caught:
            got = op(u.float())
        assert len([w for w in caught if "overflowed" in str(w.message)]) == 1
        assert layer.half_scales(op, 64) == (2**-12, 1.0)
        calls.clear()
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            again = op(u.float())
    assert calls == [torch.float16] * 2  # one try, both convolutions in half precision
    assert torch.equal(got, again) and rel_err(got.double(), ref) < HALF_VS_F64


def test_the_filters_prescale_comes_from_a_bound(monkeypatch):
    """A skip term of 10^5 (folded into the filter's first tap) is past float16's 65,504: the
    filters' pre-scale from their size bound is 2^-3 (10^5 / 8 < 2^14), the transforms never
    overflow, no warning; with the filters unscaled they would (what the bound prevents)."""
    _emulated_half_fft(monkeypatch)
    monkeypatch.setattr(layer, "_half_fft", lambda op, u: True)
    torch.manual_seed(0)
    op = HyenaOperator(4, 64, order=1, backend="torch").to(DEV)
    u = randn(1, 64, 4, seed=10)
    with torch.no_grad():
        op.bias.fill_(1e5)
        ref = op.double()(u)
        op.float().backend = "triton"
        h = op.filters(64).double()
        size = (h.abs().sum(-1) + 1e5).max().item()
        assert 1e5 < size <= 8 * layer.HALF_FILTER_MAX and layer.filter_prescale(op, 64) == 1 / 8
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            got = op(u.float())
        assert layer.half_scales(op, 64) == (2**-8, 1 / 8)
        assert rel_err(got.double(), ref) < HALF_VS_F64
        monkeypatch.setattr(layer, "filter_prescale", lambda op, L: 1.0)
        op._half_scales.clear()
        with pytest.warns(RuntimeWarning, match=r"after the pre-scales 0.00391 and 1\);"):
            op(u.float())


def test_filter_scale_is_for_the_half_path_only():
    zp, h = pad_ref(randn(1, 4, 8, dtype=torch.float32)), randn(4, 8, dtype=torch.float32)
    with pytest.raises(ValueError, match="filter_scale is for a float16 zp"):
        causal_conv_padded(zp, h, filter_scale=0.5)
    with pytest.raises(ValueError, match="filter_scale must be a finite non-zero"):
        causal_conv_padded(zp, h, filter_scale=float("nan"))


def test_the_half_path_is_chosen_only_where_it_runs():
    op = HyenaOperator(4, 64, order=2, backend="triton")
    u = torch.zeros(1, 64, 4)
    assert not layer._half_fft(op, u)  # off by default
    op.half_fft = True
    assert not layer._half_fft(op, u)  # parameters that need gradients
    with torch.no_grad():
        assert not layer._half_fft(op, u)  # on the CPU: torch has no complex32 FFT
        if torch.cuda.is_available():
            assert layer._half_fft(op.cuda(), u.cuda())
            assert not layer._half_fft(op, torch.zeros(1, 48, 4, device="cuda"))  # not 2^k
    if not torch.cuda.is_available():
        zp = pad_ref(randn(1, 4, 64, dtype=torch.float16))
        with pytest.raises(ValueError, match="CUDA device and a power-of-two"):
            causal_conv_padded(zp, randn(4, 64, dtype=torch.float32))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="complex32 FFTs need CUDA")
@pytest.mark.parametrize("L,overflows", [(1024, False), (8192, False), (65536, True)])
def test_on_the_gpu_the_half_path_agrees_with_float64(L, overflows):
    """cuFFT's complex32 transforms against float64. At 64K this small layer's activations grow
    past float16's range after the pre-scale (found on the H200 with inputs of size 1 and 0.1):
    the layer must say so and return the float32 path's result."""
    torch.manual_seed(0)
    op = HyenaOperator(16, L, order=2, backend="torch").to(DEV)
    u = randn(2, L, 16, seed=8)
    with torch.no_grad(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        ref = op.double()(u)
        op.to(torch.bfloat16).backend = "triton"
        op.half_fft = True
        assert layer._half_fft(op, u.bfloat16())
        got = op(u.bfloat16())
    assert any("overflowed" in str(w.message) for w in caught) == overflows
    assert rel_err(got.double(), ref) < HALF_VS_F64
    with pytest.raises(ValueError, match="forward only"):
        zp = pad_ref(randn(1, 4, 64, dtype=torch.float16)).requires_grad_()
        causal_conv_padded(zp, randn(4, 64, dtype=torch.float32))
    with pytest.raises(ValueError, match="power-of-two"):
        causal_conv_padded(pad_ref(randn(1, 4, 48, dtype=torch.float16)),
                           randn(4, 48, dtype=torch.float32))  # fmt: skip
