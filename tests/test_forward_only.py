"""The fused layer's forward-only fusions (chapter 06, issue 17): where no gradient is needed,
the short convolution writes ``v`` already zero-padded (and scaled) for the first FFT
(``short_conv_split_padded``), and each filter's padding pass applies eq. (7)'s decay window
(``causal_conv_padded(..., decay=Decay(...))``) instead of four eager passes over the bank.

Each is checked against the two-pass composition it replaces: bit for bit where the arithmetic
is the same (float32 and float64 ``v``), to float64 round-off for the window (``exp`` in the
kernel against torch's), and the whole layer against the operator. Every kernel buffer starts
as NaN (``poisoned_kernels``), so an element the fused stores forget fails.
"""

import os
import sys

import pytest
import torch

if not torch.cuda.is_available():  # Triton reads it when it is first imported
    if "triton" in sys.modules and os.environ.get("TRITON_INTERPRET") != "1":
        raise RuntimeError("triton was imported before TRITON_INTERPRET=1 was set, and no GPU")
    os.environ.setdefault("TRITON_INTERPRET", "1")

pytest.importorskip("triton")

from hyena_lab import HyenaOperator
from hyena_lab.checks import F32_FFT_CHAIN, F64_FFT_CHAIN
from hyena_lab.kernels import layer, long_conv
from hyena_lab.kernels import short_conv as short_conv_module
from hyena_lab.kernels.long_conv import Decay, causal_conv_padded, padded
from hyena_lab.kernels.short_conv import short_conv_split, short_conv_split_padded

from .helpers import DEV, pad_ref, randn, rel_err

pytestmark = pytest.mark.usefixtures("one_thread", "poisoned_kernels")  # conftest.py

#: float16 keeps 11 significant bits: one rounding of a float32 value, 2^-11 relative at most.
F16_ROUNDING = 2.0**-11


# ------------------------------------------------------------- v padded by the short conv
@pytest.mark.parametrize("small_tiles", [False, True])
@pytest.mark.parametrize("B,L,G,D,K", [(2, 7, 3, 5, 3), (1, 1, 2, 2, 3), (2, 9, 3, 25, 1)])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_short_conv_writes_v_padded(monkeypatch, B, L, G, D, K, dtype, small_tiles):
    """The gates are bit for bit ``short_conv_split``'s; ``vp`` is ``padded(v, dtype, scale)``
    bit for bit (the same float32/float64 sum, scaled once). 16-wide tiles put channels of two
    groups in one tile (D = 5, 25), so the masks that route ``v`` are exercised."""
    if small_tiles:
        monkeypatch.setattr(short_conv_module, "BLOCK_L", 16)
        monkeypatch.setattr(short_conv_module, "BLOCK_C", 16)
    C = G * D
    p, w, b = randn(B, L, C, seed=1, dtype=dtype), randn(C, 1, K, seed=2, dtype=dtype), randn(
        C, seed=3, dtype=dtype)  # fmt: skip
    *x_ref, v = short_conv_split(p, w, b, G).unbind(0)
    x, vp = short_conv_split_padded(p, w, b, G, dtype, scale=0.25)
    assert x.shape == (G - 1, B, D, L) and vp.shape == (B, D, 2 * L) and vp.dtype == dtype
    assert torch.equal(x, torch.stack(x_ref))
    assert torch.equal(vp, padded(v, dtype, 0.25))


def test_short_conv_writes_v_in_float16_scaled():
    """The half-precision path: ``vp`` float16, ``v`` times 2^-8 rounded once from float32."""
    p, w = randn(2, 8, 6, seed=4), randn(6, 1, 3, seed=5)
    *_, v = short_conv_split(p, w, None, 2).unbind(0)
    _, vp = short_conv_split_padded(p, w, None, 2, torch.float16, scale=2.0**-8)
    assert vp.dtype == torch.float16 and torch.equal(vp[..., 8:], torch.zeros_like(vp[..., 8:]))
    assert rel_err(vp.double() * 2**8, pad_ref(v.double())) <= F16_ROUNDING


def test_short_conv_padded_refuses_what_it_cannot_do():
    p, w = randn(1, 4, 6, seed=6), randn(6, 1, 3, seed=7)
    with pytest.raises(ValueError, match="forward only"):
        short_conv_split_padded(p.requires_grad_(), w, None, 2, torch.float32)
    p = p.detach()
    with pytest.raises(ValueError, match="groups must be >= 2"):
        short_conv_split_padded(p, w, None, 1, torch.float32)
    with pytest.raises(ValueError, match="finite non-zero"):
        short_conv_split_padded(p, w, None, 2, torch.float32, scale=float("nan"))
    with pytest.raises(ValueError, match="not divisible by groups=4"):
        short_conv_split_padded(p, w, None, 4, torch.float32)


# ------------------------------------------------------------ the window in the filter's pad
def _decay(D, L, shift=0.0, dtype=torch.float64):
    t = torch.linspace(0, 1, L, dtype=dtype, device=DEV)
    rate = torch.linspace(0.5, 12.0, D, dtype=dtype, device=DEV)  # eq. (7)'s |delta|, spread
    return Decay(t, rate, shift)


@pytest.mark.parametrize("shift", [0.0, 0.3])
@pytest.mark.parametrize("with_bias", [False, True])
@pytest.mark.parametrize("D,L", [(3, 1), (5, 17), (2, 40)])
def test_the_window_in_the_padding_pass_is_the_windowed_filter(D, L, with_bias, shift):
    """``decay`` on the raw filter = the windowed filter, to float64 round-off (the kernel's
    ``exp`` against torch's, then the same FFTs)."""
    zp, h = pad_ref(randn(2, D, L, seed=8)), randn(D, L, seed=9)
    b = randn(D, seed=10) if with_bias else None
    decay = _decay(D, L, shift)
    window = torch.exp(-decay.rate[:, None] * decay.t[None, :]) + shift  # (D, L)
    got = causal_conv_padded(zp, h, b, decay)
    want = causal_conv_padded(zp, h * window, b)
    assert got.shape == want.shape == (2, D, 2 * L)
    assert rel_err(got, want) < F64_FFT_CHAIN


def test_the_window_reads_the_filter_through_its_strides():
    """The layer hands the raw bank as a transposed view ``(L, channels).T``."""
    D, L = 4, 12
    h_t = randn(L, D, seed=11)  # (L, D), as the FFN writes it
    decay, zp = _decay(D, L), pad_ref(randn(1, D, L, seed=12))
    window = torch.exp(-decay.rate[:, None] * decay.t[None, :])
    got = causal_conv_padded(zp, h_t.T, None, decay)
    assert rel_err(got, causal_conv_padded(zp, h_t.T.contiguous() * window)) < F64_FFT_CHAIN


def test_a_decay_is_checked():
    zp, h = pad_ref(randn(1, 3, 8, seed=13)), randn(3, 8, seed=14)
    good = _decay(3, 8)
    with pytest.raises(TypeError, match="Decay"):
        causal_conv_padded(zp, h, None, (good.t, good.rate, 0.0))
    with pytest.raises(ValueError, match=r"decay.t must be \(8,\) and decay.rate \(3,\)"):
        causal_conv_padded(zp, h, None, Decay(good.t[:5], good.rate, 0.0))
    with pytest.raises(ValueError, match="finite number"):
        causal_conv_padded(zp, h, None, Decay(good.t, good.rate, float("inf")))
    with pytest.raises(ValueError, match="forward only"):
        causal_conv_padded(zp, h.requires_grad_(), None, good)


# ---------------------------------------------------------------------------- the layer
LAYERS = [  # (order, identity_first, filter_args): the paths the forward-only branch takes
    (2, False, {}),
    (3, False, {"shift": 0.2}),
    (2, True, {}),  # the first step is a gate: v stays unpadded
    (2, False, {"normalize": "l1"}),  # the window is not last: the bank is windowed eagerly
    (2, False, {"modulate": False}),  # no window at all
]


@pytest.mark.parametrize("order,identity_first,filter_args", LAYERS)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_the_layer_without_gradients_takes_the_fused_passes(
    monkeypatch, order, identity_first, filter_args, dtype
):  # fmt: skip
    """Under ``no_grad`` the fused layer equals the operator (the torch backend) and used the
    padded short convolution and the filters' decay exactly where they apply."""
    torch.manual_seed(order)
    op = HyenaOperator(6, 32, order=order, identity_first=identity_first,
                       filter_args=filter_args, backend="torch").to(DEV, dtype)  # fmt: skip
    u = randn(2, 11, 6, seed=15, dtype=dtype)
    calls = {"padded_v": 0, "decays": []}
    real_split, real_conv = layer.short_conv_split_padded, layer.causal_conv_padded

    def split(*a, **k):
        calls["padded_v"] += 1
        return real_split(*a, **k)

    def conv(zp, h, bias=None, decay=None, filter_scale=1.0):
        calls["decays"].append(decay is not None)
        return real_conv(zp, h, bias, decay, filter_scale)

    monkeypatch.setattr(layer, "short_conv_split_padded", split)
    monkeypatch.setattr(layer, "causal_conv_padded", conv)
    with torch.no_grad():
        ref = op(u)
        op.backend = "triton"
        got = op(u)
    tol = F64_FFT_CHAIN if dtype == torch.float64 else F32_FFT_CHAIN
    assert rel_err(got, ref) < tol
    assert calls["padded_v"] == (0 if identity_first else 1)
    fused_window = not filter_args  # the default ImplicitFilter, or one with a shift only
    fused_window |= set(filter_args) == {"shift"}
    assert calls["decays"] and set(calls["decays"]) == {fused_window}


def test_with_gradients_the_layer_keeps_the_differentiable_passes(monkeypatch):
    """Where a gradient is needed neither forward-only pass runs (they have no backward)."""
    monkeypatch.setattr(layer, "short_conv_split_padded",
                        lambda *a, **k: pytest.fail("the forward-only short convolution ran"))
    seen = []
    real_conv = layer.causal_conv_padded
    monkeypatch.setattr(layer, "causal_conv_padded", lambda zp, h, b=None, d=None, f=1.0:
                        seen.append(d) or real_conv(zp, h, b, d, f))  # fmt: skip
    torch.manual_seed(0)
    op = HyenaOperator(6, 32, order=2, backend="triton").to(DEV)
    op(randn(1, 8, 6, seed=16, dtype=torch.float32)).sum().backward()
    assert seen == [None, None]
    assert long_conv.Decay is Decay  # the public name the docs point to
