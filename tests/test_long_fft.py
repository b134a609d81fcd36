"""The three-pass long FFT convolution (``kernels.long_fft``), in Triton's interpreter on the CPU:
against ``hyena_lab.fftconv`` in float64 (``F32_FFT_CHAIN``: the passes compute in float32),
causality by perturbing the future, an odd batch (a row without a partner), both factorisations
of the interpreter's lengths (256 x 256 and 256 x 512), any strides, and bad inputs."""

import pytest
import torch

triton = pytest.importorskip("triton")

from hyena_lab import fftconv  # noqa: E402
from hyena_lab.checks import F32_FFT_CHAIN  # noqa: E402
from hyena_lab.kernels.long_fft import MIN_L, factors, fftconv_long, supported  # noqa: E402

from .helpers import DEV, randn, rel_err  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread", "poisoned_kernels")  # conftest.py



def _filters(D, L, seed=1):  # decaying, like the implicit filter's window
    return randn(D, L, seed=seed) * torch.exp(-torch.arange(L, device=DEV) / (L / 8))


def test_factors_and_lengths():
    assert factors(2**15) == (256, 256) and factors(2**16) == (256, 512)
    assert factors(2**20) == (1024, 2048)
    assert supported(2**15) and supported(2**19)
    # 1M: no tile compiles on the H200 (shared memory; record 06_fft_matmul-gpu_long_fft_1m)
    assert not supported(2**14) and not supported(3 * 2**14) and not supported(2**20)


@pytest.mark.parametrize("B,L", [(3, 2**15), (2, 2**16)])
def test_gated_convolution_with_bias_equals_fftconv(B, L):
    """Odd B at 32K (the last row rides alone), even B at 64K (N2 = 512)."""
    D = 2
    z, h, b, x = randn(B, D, L, seed=2), _filters(D, L), randn(D, seed=3), randn(B, D, L, seed=4)
    with torch.no_grad():
        y = fftconv_long(z.float(), h.float(), b.float(), x.float())
    assert y.shape == (B, D, L) and y.dtype == torch.float32
    assert rel_err(y.double(), x * fftconv(z, h, b)) < F32_FFT_CHAIN


def test_no_gate_no_bias_any_strides_and_bfloat16_out():
    B, D, L = 2, 3, MIN_L
    z = randn(B, L, D, seed=5).transpose(1, 2)  # (B, D, L) with the channels contiguous
    h = _filters(D, L, seed=6)
    with torch.no_grad():
        y = fftconv_long(z.float(), h.float(), out_dtype=torch.bfloat16)
    assert y.dtype == torch.bfloat16
    assert rel_err(y.double(), fftconv(z, h)) < 1e-2  # one bf16 rounding of the output


def test_causal_the_future_does_not_reach_the_past():
    B, D, L, t = 1, 1, MIN_L, 20_000
    z, h = randn(B, D, L, seed=7), _filters(D, L, seed=8)
    z2 = z.clone()
    z2[..., t:] += 100 * randn(B, D, L - t, seed=9)
    with torch.no_grad():
        a, b = (fftconv_long(v.float(), h.float()) for v in (z, z2))
    scale = a[..., :t].abs().max()
    assert (a[..., :t] - b[..., :t]).abs().max() <= 1e-4 * 100 * scale  # float32 round-off
    assert (a[..., t:] - b[..., t:]).abs().max() > 1  # and the future does change


def test_bad_inputs_say_what_was_expected():
    z, h = randn(1, 2, MIN_L).float(), _filters(2, MIN_L).float()
    with pytest.raises(ValueError, match=r"h must have shape \(d_model, seq_len\) = \(2, 32768\)"):
        fftconv_long(z, h[:1])
    with pytest.raises(ValueError, match="L a power of two in"):
        fftconv_long(z[..., :1000], h[:, :1000])
    with pytest.raises(RuntimeError, match="forward only"):
        fftconv_long(z, h.requires_grad_())
    with pytest.raises(TypeError, match="float32"):
        with torch.no_grad():
            fftconv_long(z.double(), h.double())
    with pytest.raises(ValueError, match="precision must be"):
        with torch.no_grad():
            fftconv_long(z, h.detach(), precision="fp8")


def test_the_layer_uses_it_without_autograd_and_agrees():
    """``op.long_fft = True``: the fused layer's long convolutions in three passes where no
    gradient is needed, the same output as the operator's own torch path (one channel and one
    row: at 32K every interpreted kernel of the layer costs seconds)."""
    from hyena_lab import HyenaOperator
    from hyena_lab.kernels import layer

    L = MIN_L
    torch.manual_seed(0)
    op = HyenaOperator(1, L, order=2, backend="torch").to(DEV)  # two long convolutions
    u = randn(1, L, 1, seed=10).float()
    with torch.no_grad():
        ref = op(u)
        op.backend, op.long_fft = "triton", True
        assert layer._long_fft(op, u)
        got = op(u)
    assert rel_err(got.double(), ref.double()) < F32_FFT_CHAIN
    assert not layer._long_fft(op, u)  # grad enabled and parameters that need it: cuFFT path
    assert not layer._long_fft(op, u[:, : L // 2])  # a length it does not take


def test_a_tile_is_three_powers_of_two():
    z = randn(1, 1, 2**15, dtype=torch.float32)
    with pytest.raises(ValueError, match="three powers of two"):
        fftconv_long(z, z[0], tile=(16, 6, 8))
