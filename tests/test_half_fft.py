"""The fused layer's half-precision transforms (``op.half_fft``, chapter 06, issue 17): the
padded signal in float16, pre-scaled by ``HALF_SCALE``, cuFFT in complex32, the spectral pass
reading and writing complex32.

torch has no complex32 FFT on the CPU, so here (Triton's interpreter) the transform is emulated:
computed in complex64 and rounded to complex32, which is what cuFFT's half-precision transform
returns up to its own internal rounding. Everything else runs as on the GPU: the padding pass
that scales, the spectral kernel on complex32, the gates that keep or undo the scale. On a GPU
the last tests run the real thing against float64.
"""

import copy
import math
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
from hyena_lab.kernels.short_conv import short_conv_split, short_conv_split_padded
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


def test_the_passes_measure_the_largest_values_they_read_and_write():
    """The scale tracking rides on passes that run anyway: the gate measures the largest
    ``|y|`` it reads (``amax``) and the largest output before rounding (``amax_out``, seen
    even where float16 rounds it to zero); the short convolution ``|scale v|`` before its
    rounding. Each program stores its tile's value in a slot of its own, folded by one maximum
    into ``amax`` (raised, never lowered). A NaN counts as infinite. Checked against torch on
    the same float32 values (the buffers are poisoned: an unwritten slot would show as NaN)."""
    B, D, L = 2, 3, 64
    x = randn(B, D, L, seed=21, dtype=torch.float32)
    y = randn(B, D, 2 * L, seed=22, dtype=torch.float32) * 1e-6
    y[..., L:] = 1e9  # beyond column L: never read
    amax, amax_out = torch.zeros(1, device=DEV), torch.zeros(1, device=DEV)
    out = gate(y, None, x, scale=2.0**-20, amax=amax, amax_out=amax_out, pad_out=True,
               out_dtype=torch.float16)  # fmt: skip
    assert amax.item() == y[..., :L].abs().max().item()
    want = (x * y[..., :L] * 2.0**-20).abs().max().item()  # ~1e-12: float16 holds none of it
    assert amax_out.item() == pytest.approx(want, rel=1e-6) and not out[..., :L].any()
    amax.fill_(1.0)  # a running maximum: a larger value already there stays
    gate(y, None, x, amax=amax)
    assert amax.item() == 1.0
    y[0, 1, 5] = float("nan")
    gate(y, None, x, amax=amax)
    assert amax.item() == float("inf")
    p, w, b = randn(B, L, 3 * D, seed=3), randn(3 * D, 1, 4, seed=4), randn(3 * D, seed=5)
    amax.zero_()
    _, vp = short_conv_split_padded(p.float(), w.float(), b.float(), 3, torch.float16, 2.0**-30,
                                    amax)  # fmt: skip
    v = short_conv_split(p.float(), w.float(), b.float(), 3)[-1]  # (B, D, L)
    assert amax.item() == pytest.approx((v * 2.0**-30).abs().max().item(), rel=1e-6)
    assert not vp.any()  # all of it under float16's smallest subnormal
    for bad in (torch.zeros(2, device=DEV), torch.zeros(1, dtype=torch.float64, device=DEV)):
        with pytest.raises(ValueError, match="amax must be a float32 tensor of one element"):
            gate(y, None, x, amax=bad)
        with pytest.raises(ValueError, match="amax must be a float32 tensor of one element"):
            short_conv_split_padded(p, w, b, 3, torch.float16, amax=bad)


@pytest.mark.parametrize("D", [30, 40])
def test_the_short_convolution_measures_v_across_its_channel_tiles(D):
    """``v`` is the last third of the channels: with 90 channels its tiles of 64 hold some of
    it in both (60-89), with 120 only in the second (80-119). The tiles without ``v`` store 0;
    the maximum is ``v``'s, wherever it lies."""
    p, w = randn(2, 32, 3 * D, seed=31, dtype=torch.float32), randn(3 * D, 1, 3, seed=32,
                                                                      dtype=torch.float32)
    v = short_conv_split(p, w, None, 3)[-1]  # (B, D, L)
    for where in ((0, 0, 5), (1, D - 1, 31)):  # v's first channel, its last
        p2 = p.clone()
        p2[where[0], where[2], 2 * D + where[1]] = 1e5  # a spike in v's input
        v2 = short_conv_split(p2, w, None, 3)[-1]
        amax = torch.zeros(1, device=DEV)
        short_conv_split_padded(p2, w, None, 3, torch.float16, 0.5, amax)
        assert amax.item() == pytest.approx(0.5 * v2.abs().max().item(), rel=1e-6)
        assert v2.abs().max() > 10 * v.abs().max()  # the spike decides it


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


def _count_computes(monkeypatch) -> list:
    """Spy on the layer's passes: one entry per computation of the steps (its scales, or
    ``None`` for float32 transforms)."""
    computes = []
    real_steps = layer._steps
    monkeypatch.setattr(layer, "_steps",
                        lambda *a, **k: computes.append(a[5]) or real_steps(*a, **k))  # fmt: skip
    return computes


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # numpy on inf
@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.parametrize("size", [1e4, 1e7])
def test_an_overflow_is_computed_again_at_a_lower_scale(monkeypatch, size):
    """Inputs 10^4 and 10^7 times the usual size overflow float16 at the first pre-scale
    (2^-8; emulated cuFFT rounds past 65,504 to inf): the call is computed again, silently,
    with the overflowing step's scale lowered from what was measured, in half precision
    within the half-precision bound of float64; the next call computes once."""
    _emulated_half_fft(monkeypatch)
    monkeypatch.setattr(layer, "_half_fft", lambda op, u: True)
    torch.manual_seed(0)
    op = HyenaOperator(4, 64, order=2, backend="torch").to(DEV)
    u = randn(1, 64, 4, seed=10) * size
    computes = _count_computes(monkeypatch)
    with torch.no_grad():
        ref = op.double()(u)
        op.float().backend = "triton"
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", RuntimeWarning)
            got = op(u.float())
        assert not [w for w in caught if "op.half_fft" in str(w.message)]
        assert 1 < len(computes) <= 1 + layer.HALF_RETRIES and None not in computes
        assert min(layer.half_scales(op, 64).signal) < 2**-8
        computes.clear()
        again = op(u.float())
    assert len(computes) == 1 and computes[0] is not None
    assert rel_err(got.double(), ref) < HALF_VS_F64 and rel_err(again.double(), ref) < HALF_VS_F64


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_a_nan_input_takes_float32_transforms_with_a_warning(monkeypatch):
    """A NaN in the input makes every output row it reaches NaN at any scale: after
    ``HALF_RETRIES`` lowerings the call is computed with float32 transforms, with a warning,
    and returns what the float32 path returns (NaN where it is NaN, equal elsewhere); the
    scales kept are finite, and a clean input afterwards takes the half path again."""
    _emulated_half_fft(monkeypatch)
    monkeypatch.setattr(layer, "_half_fft", lambda op, u: True)
    torch.manual_seed(0)
    op = HyenaOperator(4, 64, order=2, backend="triton").to(DEV)
    u = randn(2, 64, 4, seed=11, dtype=torch.float32)
    u_nan = u.clone()
    u_nan[0, 30, 1] = float("nan")
    computes = _count_computes(monkeypatch)
    with torch.no_grad():
        with pytest.warns(RuntimeWarning, match=r"not finite with float16 transforms .* after "
                          r"3 lowering\(s\)\); computed with float32 transforms"):  # fmt: skip
            got = op(u_nan)
        assert len(computes) == layer.HALF_RETRIES + 2 and computes[-1] is None
        assert all(map(math.isfinite, layer.half_scales(op, 64).signal))
        computes.clear()
        clean = op(u)
        assert computes and computes[-1] is not None
        op.half_fft = False
        want = op(u_nan)
    torch.testing.assert_close(got, want, rtol=0, atol=0, equal_nan=True)
    assert torch.isnan(got[0]).any() and torch.isfinite(got[1]).all() and clean.isfinite().all()


def _small_layer(scale: float) -> HyenaOperator:
    """Order 2 with every activation ``scale`` times its usual size (``in_proj`` and the short
    filter's bias scaled: ``v`` and the gates ``x`` by ``scale``, so ``z^2`` by ``scale^2``)."""
    torch.manual_seed(0)
    op = HyenaOperator(4, 64, order=2, backend="torch").to(DEV)
    with torch.no_grad():
        op.in_proj.weight.mul_(scale)
        op.in_proj.bias.mul_(scale)
        op.short_filter.bias.mul_(scale)
    return op


@pytest.mark.parametrize("size", [1e-3, 1e-5])
def test_small_activations_raise_the_scales_before_the_result_is_returned(monkeypatch, size):
    """Activations of 1e-3 and 1e-5 (the second step's 1e-6 and 1e-10): at the first scale
    (2^-8) their float16 values are subnormal or zero and the result is wrong (the check
    below shows it); the layer measures that, raises each step's scale and computes again
    within the same call, with no warning: within the half-precision bound of float64. A
    second call keeps the scales and computes once."""
    _emulated_half_fft(monkeypatch)
    monkeypatch.setattr(layer, "_half_fft", lambda op, u: True)
    op = _small_layer(size)
    u = randn(1, 64, 4, seed=12)
    calls = []
    real_conv = layer.causal_conv_padded
    monkeypatch.setattr(layer, "causal_conv_padded",
                        lambda zp, *a: calls.append(zp.dtype) or real_conv(zp, *a))  # fmt: skip
    with torch.no_grad():
        ref = op.double().core(u)  # (B, D, L): z^3 before out_proj (whose bias would hide it)
        op.float().backend = "triton"
        fixed = layer.HalfScales((2**-8, 2**-8), layer.filter_prescale(op, 64))
        stuck = layer._steps(op, u.float(), False, False, False, fixed)
        assert rel_err(stuck.double(), ref) > 10 * HALF_VS_F64  # what a fixed scale gives
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            got = layer.fused_core(op, u.float())
            kept = layer.half_scales(op, 64)
            calls.clear()
            again = layer.fused_core(op, u.float())
    assert len(calls) == 2 and torch.equal(got, again)  # no retry the second time
    assert all(s > 2**-8 for s in kept.signal) and kept.signal[1] > kept.signal[0]
    assert rel_err(got.double(), ref) < HALF_VS_F64


def test_the_scales_follow_activations_that_change_between_calls(monkeypatch):
    """The same layer called on inputs of size 1, then 10^-3 and 10^2 (inputs or weights
    change between calls, as in training): each call is within the half-precision bound of
    float64, none warns, and the first step's kept scale moves against the input's size."""
    _emulated_half_fft(monkeypatch)
    monkeypatch.setattr(layer, "_half_fft", lambda op, u: True)
    torch.manual_seed(0)
    op = HyenaOperator(4, 64, order=2, backend="torch").to(DEV)
    with torch.no_grad():
        op.in_proj.bias.zero_()  # v and the gates proportional to u
        op.short_filter.bias.zero_()
        ref_op = copy.deepcopy(op).double()
        op.float().backend = "triton"
        seen = []
        for size in (1.0, 1e-3, 1e2):  # the last jump (10^5) is past the headroom: computed
            u = randn(1, 64, 4, seed=13) * size  # again at a lower scale, silently
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", RuntimeWarning)
                got = layer.fused_core(op, u.float())  # before out_proj (whose bias hides it)
            assert not [w for w in caught if "op.half_fft" in str(w.message)]
            assert rel_err(got.double(), ref_op.core(u)) < HALF_VS_F64, size
            seen.append(layer.half_scales(op, 64).signal[0])
    assert seen[1] / seen[0] >= 1e3 / 16 and seen[2] / seen[0] <= 16 / 1e2


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
        assert layer.half_scales(op, 64).filters == 1 / 8
        assert rel_err(got.double(), ref) < HALF_VS_F64
        monkeypatch.setattr(layer, "filter_prescale", lambda op, L: 1.0)
        op._half_scales.clear()
        with pytest.warns(RuntimeWarning, match=r"not finite with float16 transforms"):
            op(u.float())


def test_filter_scale_is_for_the_half_path_only():
    zp, h = pad_ref(randn(1, 4, 8, dtype=torch.float32)), randn(4, 8, dtype=torch.float32)
    with pytest.raises(ValueError, match="filter_scale is for a float16 zp"):
        causal_conv_padded(zp, h, filter_scale=0.5)
    with pytest.raises(ValueError, match="filter_scale must be a finite non-zero"):
        causal_conv_padded(zp, h, filter_scale=float("nan"))


def test_the_half_path_is_chosen_only_where_it_runs():
    """By default (``op.half_fft`` unset) for bfloat16 inputs only; ``True`` adds float16 and
    float32, ``False`` none; always only without gradients, on CUDA, at powers of two."""
    op = HyenaOperator(4, 64, order=2, backend="triton")
    assert layer._half_dtypes(op) == (torch.bfloat16,)  # the default
    op.half_fft = False
    assert layer._half_dtypes(op) == ()
    op.half_fft = True
    assert set(layer._half_dtypes(op)) == {torch.bfloat16, torch.float16, torch.float32}
    u = torch.zeros(1, 64, 4)
    assert not layer._half_fft(op, u)  # parameters that need gradients
    with torch.no_grad():
        assert not layer._half_fft(op, u)  # on the CPU: torch has no complex32 FFT
        if torch.cuda.is_available():
            assert layer._half_fft(op.cuda(), u.cuda())
            assert not layer._half_fft(op, torch.zeros(1, 48, 4, device="cuda"))  # not 2^k
            del op.half_fft
            assert layer._half_fft(op, u.cuda().bfloat16())
            assert not layer._half_fft(op, u.cuda())  # float32: only when asked for
    if not torch.cuda.is_available():
        zp = pad_ref(randn(1, 4, 64, dtype=torch.float16))
        with pytest.raises(ValueError, match="CUDA device and a power-of-two"):
            causal_conv_padded(zp, randn(4, 64, dtype=torch.float32))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="complex32 FFTs need CUDA")
@pytest.mark.parametrize("L", [1024, 8192, 65536])
@pytest.mark.parametrize("size", [1e-4, 1.0, 1e2])
def test_on_the_gpu_the_half_path_agrees_with_float64(L, size):
    """cuFFT's complex32 transforms against float64, the default path of a bf16 layer without
    gradients, with activations of size 1e-4 to 1e2 (``in_proj`` and the short filter's bias
    scaled): the core's output within the half-precision bound at the first call and the
    second, whose scales stay where the first left them; no warning (an overflow or an
    underflow is computed again, silently)."""
    torch.manual_seed(0)
    op = HyenaOperator(16, L, order=2, backend="torch").to(DEV)
    with torch.no_grad():
        for t in (op.in_proj.weight, op.in_proj.bias, op.short_filter.bias):
            t.mul_(size)
    u = randn(2, L, 16, seed=8)
    with torch.no_grad(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        op.to(torch.bfloat16)
        ref = copy.deepcopy(op).double().core(u.bfloat16().double())
        op.backend = "triton"
        assert layer._half_fft(op, u.bfloat16())  # the default for bf16
        got = layer.fused_core(op, u.bfloat16())
        kept = layer.half_scales(op, L)
        again = layer.fused_core(op, u.bfloat16())
    assert not [w for w in caught if "op.half_fft" in str(w.message)]
    assert kept is not None and layer.half_scales(op, L) == kept
    assert rel_err(got.double(), ref) < HALF_VS_F64
    assert rel_err(again.double(), ref) < HALF_VS_F64


@pytest.mark.skipif(not torch.cuda.is_available(), reason="complex32 FFTs need CUDA")
def test_on_the_gpu_the_half_path_refuses_what_it_cannot_do():
    with pytest.raises(ValueError, match="forward only"):
        zp = pad_ref(randn(1, 4, 64, dtype=torch.float16)).requires_grad_()
        causal_conv_padded(zp, randn(4, 64, dtype=torch.float32))
    with pytest.raises(ValueError, match="power-of-two"):
        causal_conv_padded(pad_ref(randn(1, 4, 48, dtype=torch.float16)),
                           randn(4, 48, dtype=torch.float32))  # fmt: skip
