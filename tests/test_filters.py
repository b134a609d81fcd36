"""Filter parameterisations (Sec. 3.3, App. D.3): shapes, gradients, SSM == convolution, window,
spectra at initialisation, parameter counts, bad hyper-parameters, and the chapter's figures."""

import math

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from matplotlib.figure import Figure
from torch.func import functional_call

from hyena_lab import fftconv
from hyena_lab.checks import F64_FFT_CHAIN, F64_SAME_ALGEBRA
from hyena_lab.filters import (
    FILTERS,
    ExplicitFilter,
    ExponentialModulation,
    FrequencyFilter,
    ImplicitFilter,
    LongFilter,
    PositionalEncoding,
    SSMFilter,
    emb_dim_for_bands,
    make_filter,
    seeded,
    ssm_kernel,
    ssm_recurrence,
)
from hyena_lab.spectra import (
    energy_fractions,
    high_frequency_fraction,
    implicit_init_filters,
    implicit_init_spectra,
    implicit_param_count,
    init_energy_shares,
    magnitude_spectrum,
    parameter_counts,
    spectral_cutoff,
)
from hyena_lab.viz import filters as vf

from .helpers import rel_err

KINDS = sorted(FILTERS)


def _build(kind: str, channels: int, l_max: int, seed: int = 0, **hyper) -> LongFilter:
    torch.manual_seed(seed)
    return make_filter(kind, channels, l_max, **hyper)


# ---------------------------------------------------------------- shapes and the common interface


def test_registry_holds_the_four_parameterisations():
    assert FILTERS == {
        "implicit": ImplicitFilter,
        "explicit": ExplicitFilter,
        "ssm": SSMFilter,
        "frequency": FrequencyFilter,
    }


@given(
    st.sampled_from(KINDS),
    st.integers(1, 5),
    st.one_of(st.integers(1, 70), st.sampled_from([127, 128, 129])),
    st.data(),
)
def test_shapes_any_length_up_to_l_max(kind, channels, l_max, data):
    L = data.draw(st.integers(1, l_max))
    filt = _build(kind, channels, l_max)
    h = filt(L)
    assert h.shape == (channels, L)
    assert h.dtype == torch.float32
    assert torch.isfinite(h).all()
    # the filter is one function of position: a shorter filter is a prefix of the longest one.
    # Only the implicit filter recomputes it (its FFN on L rows instead of l_max), and float32
    # matmuls may then sum in another order: <= ~W eps32 = 64 * 1.2e-7 ~ 8e-6 per layer in the
    # worst case, 4 layers (|sin'| <= w = 1 does not amplify). 1e-4 is above that worst case;
    # a wrong position (another row of the encoding) gives an O(1) difference.
    assert rel_err(h, filt(l_max)[:, :L]) < 1e-4


@pytest.mark.parametrize("kind", KINDS)
def test_double_precision(kind):
    h = _build(kind, 3, 40).double()(33)
    assert h.dtype == torch.float64 and h.shape == (3, 33)


@pytest.mark.parametrize("kind", KINDS)
def test_gradients_reach_every_parameter(kind):
    filt = _build(kind, 4, 64)
    weights = torch.randn(4, 50, generator=torch.Generator().manual_seed(1))
    (filt(50) * weights).sum().backward()
    for name, p in filt.named_parameters():
        assert p.grad is not None, f"{kind}: no gradient for {name}"
        assert p.grad.abs().sum() > 0, f"{kind}: zero gradient for {name}"


@pytest.mark.parametrize("kind", ["ssm", "frequency", "implicit", "explicit"])
def test_gradcheck_float64(kind):
    filt = _build(kind, 2, 12, **({"d_state": 4} if kind == "ssm" else {})).double()
    if kind == "implicit":  # keep the check small: a narrow FFN
        torch.manual_seed(0)
        filt = ImplicitFilter(2, 12, filter_order=4).double()
    names = [n for n, _ in filt.named_parameters()]
    params = tuple(p.detach().clone().requires_grad_(True) for _, p in filt.named_parameters())

    def h_of(*ps):
        return functional_call(filt, dict(zip(names, ps, strict=True)), (9,))

    assert torch.autograd.gradcheck(h_of, params)


@pytest.mark.parametrize("kind", KINDS)
def test_length_errors(kind):
    filt = _build(kind, 2, 16)
    for L in (0, 17):
        with pytest.raises(ValueError, match=r"1 <= L <= l_max=16"):
            filt(L)
    with pytest.raises(TypeError, match="L must be an int"):
        filt(8.0)


# ---------------------------------------------------------------- parameter counts


def test_parameter_count_formulas():
    assert ExplicitFilter(8, 100).num_params == 8 * 100
    assert SSMFilter(8, 100, d_state=64).num_params == 8 * (1 + 2 * 64)
    assert FrequencyFilter(8, 1000, modes=64).num_params == 8 * (2 * 64 - 1)
    implicit = ImplicitFilter(8, 100, emb_dim=5, filter_order=16, trainable_pos_emb=False)
    ffn = (5 * 16 + 16) + 2 * (16 * 16 + 16) + 16 + 16 * 8  # layers, shared Sin freq, out
    assert implicit.num_params == ffn
    # the official default also trains the positional table z: emb_dim * l_max more
    assert ImplicitFilter(8, 100, emb_dim=5, filter_order=16).num_params == ffn + 5 * 100


@pytest.mark.parametrize("trainable", [True, False])
def test_trainable_pos_emb_makes_z_a_parameter_or_a_buffer(trainable):
    torch.manual_seed(0)
    filt = ImplicitFilter(3, 40, emb_dim=5, filter_order=8, trainable_pos_emb=trainable)
    params, buffers = dict(filt.named_parameters()), dict(filt.named_buffers())
    assert ("pos_emb.z" in params) is trainable and ("pos_emb.z" in buffers) is not trainable
    # the same features and the same state-dict keys either way (official weights load in both)
    torch.manual_seed(0)
    other = ImplicitFilter(3, 40, emb_dim=5, filter_order=8, trainable_pos_emb=not trainable)
    assert filt.state_dict().keys() == other.state_dict().keys()
    other.load_state_dict(filt.state_dict())
    assert torch.equal(filt(40), other(40))
    # gradients reach z only when it is trainable
    filt(40).sum().backward()
    z = filt.pos_emb.z
    assert (z.grad is not None and z.grad.abs().sum() > 0) if trainable else z.grad is None


def test_trainable_pos_emb_must_be_a_bool():
    with pytest.raises(TypeError, match="trainable_pos_emb must be True or False, got 'no'"):
        ImplicitFilter(2, 8, trainable_pos_emb="no")


@given(
    st.integers(1, 9), st.integers(1, 300), st.sampled_from([3, 5, 9]), st.integers(1, 24),
    st.integers(0, 3), st.booleans(),
)
def test_implicit_param_count_is_num_params(channels, l_max, emb_dim, width, inner, trainable):
    count = implicit_param_count(channels, l_max, emb_dim, width, inner, trainable)
    filt = ImplicitFilter(channels, l_max, emb_dim=emb_dim, filter_order=width,
                          num_inner_mlps=inner, trainable_pos_emb=trainable)
    assert count["total"] == filt.num_params == count["ffn"] + count["pos_emb"]
    assert count["pos_emb"] == (emb_dim * l_max if trainable else 0)
    # the FFN's part has no l_max term
    short = implicit_param_count(channels, 7, emb_dim, width, inner, trainable)
    assert short["ffn"] == count["ffn"]


def test_implicit_param_count_bad_values():
    with pytest.raises(ValueError, match="emb_dim must be >= 3"):
        implicit_param_count(4, 16, emb_dim=1)
    with pytest.raises(ValueError, match="l_max must be >= 1"):
        implicit_param_count(4, 0)


def test_parameter_counts_linear_for_explicit_constant_for_the_others():
    lengths = [2**k for k in range(7, 13)] + [1000]
    counts = parameter_counts(lengths, channels=64)
    assert counts["explicit"] == [64 * L for L in lengths]
    for kind in ("ssm", "frequency", "implicit"):
        assert len(set(counts[kind])) == 1, f"{kind} count changes with L: {counts[kind]}"
    # the official code also trains z: emb_dim more parameters per position
    diffs = [b - a for a, b in zip(counts["implicit"], counts["implicit (z trainable)"],
                                   strict=True)]
    assert diffs == [3 * L for L in lengths]
    assert counts["implicit (z trainable)"] == [implicit_param_count(64, L)["total"]
                                                for L in lengths]
    with pytest.raises(ValueError, match="unknown filter kinds"):
        parameter_counts([8], hyper={"fno": {}})


# ---------------------------------------------------------------- every SSM is a long convolution


@given(
    st.integers(1, 3),
    st.sampled_from([2, 4, 16]),
    st.one_of(st.integers(1, 70), st.sampled_from([127, 128])),
    st.sampled_from(["zoh", "bilinear"]),
    st.integers(0, 99),
)
def test_ssm_recurrence_equals_convolution(channels, d_state, L, disc, seed):
    ssm = _build("ssm", channels, 128, seed, d_state=d_state, discretization=disc).double()
    u = torch.randn(2, channels, L, generator=torch.Generator().manual_seed(seed),
                    dtype=torch.float64)
    y_rec = ssm.recurrence(u)  # step by step
    y_conv = fftconv(u, ssm(L))  # closed-form kernel, FFT convolution
    assert y_rec.dtype == torch.float64
    assert rel_err(y_rec, y_conv) < F64_FFT_CHAIN


def test_ssm_impulse_response_is_the_kernel():
    ssm = _build("ssm", 3, 200, d_state=8).double()
    delta = torch.zeros(3, 200, dtype=torch.float64)
    delta[:, 0] = 1.0
    assert rel_err(ssm.recurrence(delta), ssm(200)) < F64_SAME_ALGEBRA


def test_ssm_recurrence_float32_filter_is_run_in_float64():
    ssm = _build("ssm", 2, 64, d_state=4)
    u = torch.randn(2, 64)
    assert ssm.recurrence(u).dtype == torch.float64
    assert rel_err(ssm.recurrence(u), fftconv(u.double(), ssm.double()(64))) < F64_FFT_CHAIN


def test_zoh_matches_the_matrix_exponential():
    """ZOH: [[A_bar, B_bar], [0, 1]] = expm(dt [[A, B], [0, 0]]) for each mode (B = 1)."""
    ssm = _build("ssm", 2, 16, d_state=6).double()
    dss = ssm.discretize()
    dt = torch.exp(ssm.log_dt.detach())
    A = torch.complex(-torch.exp(ssm.log_A_real.detach()), ssm.A_imag.detach())
    for c in range(2):
        for n in range(3):
            M = torch.zeros(2, 2, dtype=torch.complex128)
            M[0, 0], M[0, 1] = A[c, n] * dt[c], dt[c]
            E = torch.linalg.matrix_exp(M)
            assert abs(E[0, 0] - dss.A_bar[c, n]) < 1e-9  # matrix_exp is a Pade approximant
            assert abs(E[0, 1] - dss.B_bar[c, n]) < 1e-9


def test_bilinear_discretisation():
    ssm = _build("ssm", 2, 16, d_state=6, discretization="bilinear").double()
    dss = ssm.discretize()
    dt = torch.exp(ssm.log_dt.detach())[:, None]
    A = torch.complex(-torch.exp(ssm.log_A_real.detach()), ssm.A_imag.detach())
    assert rel_err(torch.view_as_real(dss.A_bar),
                   torch.view_as_real((1 + dt * A / 2) / (1 - dt * A / 2))) < 1e-13
    assert rel_err(torch.view_as_real(dss.B_bar),
                   torch.view_as_real(dt / (1 - dt * A / 2))) < 1e-13


def test_ssm_init_is_s4d_lin_and_stays_stable():
    ssm = _build("ssm", 16, 32, d_state=8, dt_min=1e-3, dt_max=1e-1)
    A_real = -torch.exp(ssm.log_A_real.detach())
    assert torch.allclose(A_real, torch.full_like(A_real, -0.5))
    assert torch.allclose(ssm.A_imag.detach(), math.pi * torch.arange(4.0).expand(16, 4))
    dt = torch.exp(ssm.log_dt.detach())
    assert (dt >= 1e-3 * (1 - 1e-6)).all() and (dt <= 1e-1 * (1 + 1e-6)).all()
    with torch.no_grad():  # whatever the optimiser does to the raw parameters, |A_bar| < 1
        for p in ssm.parameters():
            p.copy_(torch.randn_like(p) * 3)
    for disc in ("zoh", "bilinear"):
        ssm.discretization = disc
        assert (ssm.discretize().A_bar.abs() < 1).all()


@pytest.fixture
def one_thread():
    """Run a test of many tiny ops on one thread (no contention on a busy machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_ssm_trains_stably(one_thread):
    """A few Adam steps fitting a decaying oscillation: the loss falls and stays finite."""
    ssm = _build("ssm", 4, 128, d_state=16)
    t = torch.arange(128.0)
    target = 0.2 * (torch.exp(-t / 20) * torch.cos(t / 3)).expand(4, 128)
    opt = torch.optim.Adam(ssm.parameters(), lr=3e-2)
    losses = []
    for _ in range(60):
        loss = (ssm(128) - target).square().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert all(math.isfinite(x) for x in losses)
    assert losses[-1] < 0.5 * losses[0]


def test_ssm_functions_check_their_inputs():
    ssm = _build("ssm", 4, 16, d_state=4)
    with pytest.raises(ValueError, match=r"u must have 4 channels"):
        ssm_recurrence(torch.randn(3, 16), ssm.discretize())
    with pytest.raises(TypeError, match="floating"):
        ssm.recurrence(torch.ones(4, 8, dtype=torch.int64))
    with pytest.raises(ValueError, match=r"1 <= L <= l_max=16"):
        ssm.recurrence(torch.randn(4, 17))
    with pytest.raises(ValueError, match="L must be >= 1"):
        ssm_kernel(ssm.discretize(), 0)


# ---------------------------------------------------------------- explicit and frequency filters


def test_explicit_filter_is_its_taps():
    filt = _build("explicit", 3, 20)
    assert torch.equal(filt(7), filt.h[:, :7])
    energy = _build("explicit", 512, 256)(256).detach().square().sum(-1).mean()
    assert 0.9 < float(energy) < 1.1  # init_scale**2 whatever l_max


@pytest.mark.parametrize("l_max", [16, 17, 255])
def test_frequency_filter_is_band_limited_with_its_weights(l_max):
    filt = FrequencyFilter(3, l_max, modes=5).double()
    spec = torch.fft.rfft(filt(l_max), dim=-1)  # (3, l_max // 2 + 1)
    W = filt.spectrum().detach()
    assert rel_err(torch.view_as_real(spec[:, :5]), torch.view_as_real(W)) < F64_SAME_ALGEBRA
    assert spec[:, 5:].abs().max() < 1e-12 * W.abs().max()  # nothing above the kept modes
    assert W[:, 0].imag.abs().max() == 0  # the DC weight is real


def test_frequency_filter_init_scale_and_default_modes():
    assert FrequencyFilter(2, 1000).modes == 64
    assert FrequencyFilter(2, 9).modes == 5  # (l_max + 1) // 2
    energy = _build("frequency", 512, 256, init_scale=2.0)(256).detach().square().sum(-1).mean()
    assert 3.6 < float(energy) < 4.4


# ---------------------------------------------------------------- implicit filter pieces


def test_positional_encoding_features():
    K, L = 4, 64
    pe = PositionalEncoding(emb_dim_for_bands(K), L, learnable=False)
    z, t = pe(L)
    assert z.shape == (L, 2 * K + 1) and t.shape == (L, 1)
    assert torch.allclose(z[:, 0], torch.linspace(0, 1, L))
    assert torch.allclose(z[:, 1 : K + 1] ** 2 + z[:, K + 1 :] ** 2, torch.ones(L, K), atol=1e-6)
    # band k oscillates k cycles over the sequence (f = linspace(1e-4, K - 1, K))
    peaks = magnitude_spectrum(z[:, 1 : K + 1].T).argmax(dim=-1)
    assert peaks.tolist() == list(range(K))


@given(
    st.floats(0.05, 1.0), st.floats(1.0, 3.0), st.floats(1e-4, 0.5), st.floats(-0.5, 0.5),
    st.integers(2, 9),
)
def test_window_decays_monotonically_to_target(fast, slow, target, shift, channels):
    mod = ExponentialModulation(channels, fast, slow, target, shift)
    t = torch.linspace(0, 1, 101, dtype=torch.float64)[:, None]
    win = mod.window(t)  # (101, channels)
    assert (win[1:] <= win[:-1]).all(), "every channel's window decays"
    decay = ExponentialModulation(channels, fast, slow, target).window(t)  # shift 0
    assert (decay[1:] < decay[:-1]).all(), "exp(-|delta| t) decays strictly"
    assert (decay > 0).all()
    assert torch.allclose(win[0], torch.full((channels,), 1.0 + shift, dtype=win.dtype))
    assert (win[:, :-1] >= win[:, 1:]).all(), "channel 0 decays slowest, the last fastest"
    # channel 0 reaches target at t = slow, the last at t = fast
    at = mod.window(torch.tensor([[slow], [fast]], dtype=torch.float64))
    assert abs(float(at[0, 0]) - (target + shift)) < 1e-5
    assert abs(float(at[1, -1]) - (target + shift)) < 1e-5


def test_window_switch_and_filter_window():
    on = ImplicitFilter(4, 32)
    off = ImplicitFilter(4, 32, modulate=False)
    off.load_state_dict(on.state_dict())
    assert torch.equal(off.window(32), torch.ones(4, 32))
    assert torch.allclose(on(32), off(32) * on.window(32))
    assert on.bands == 1


def test_normalisation_options():
    torch.manual_seed(0)
    l1 = ImplicitFilter(5, 40, normalize="l1")
    assert torch.allclose(l1(40).abs().sum(-1), torch.ones(5))
    torch.manual_seed(0)
    official = ImplicitFilter(5, 40, normalize="l1_channels").double()
    z, t = official.pos_emb(40)
    raw = official.ffn(z)  # (L, channels)
    ref = (raw / raw.abs().sum(-1, keepdim=True)) * official.modulation.window(t)
    assert rel_err(official(40).T, ref) < 1e-14


def test_emb_dim_for_bands():
    assert [emb_dim_for_bands(k) for k in (1, 2, 8)] == [3, 5, 17]
    with pytest.raises(ValueError, match=r"bands .* must be >= 1, got 0"):
        emb_dim_for_bands(0)
    with pytest.raises(TypeError, match=r"bands .* must be an int"):
        emb_dim_for_bands(2.5)


# ---------------------------------------------------------------- spectra at init (App. D.3)


def test_implicit_init_filters_are_seeded_and_windowless():
    state = torch.random.get_rng_state()
    h = implicit_init_filters(4, 10.0, L=32, channels=3, seed=5)
    assert torch.equal(state, torch.random.get_rng_state()), "the global RNG moved"
    assert h.shape == (3, 32) and not h.requires_grad
    assert torch.equal(h, implicit_init_filters(4, 10.0, L=32, channels=3, seed=5))
    torch.manual_seed(5)
    ref = ImplicitFilter(3, 32, emb_dim=9, w=10.0, modulate=False)
    assert torch.equal(h, ref(32).detach())


def test_seeded_builds_the_same_filter_and_leaves_the_global_rng_alone():
    state = torch.random.get_rng_state()
    with seeded(3):
        a = make_filter("ssm", 2, 16)
    with seeded(3):
        b = make_filter("ssm", 2, 16)
    assert torch.equal(state, torch.random.get_rng_state()), "the global RNG moved"
    assert torch.equal(a(16), b(16))
    with seeded(4):
        assert not torch.equal(make_filter("ssm", 2, 16)(16), a(16))
    with pytest.raises(ValueError, match="seed must be >= 0"), seeded(-1):
        pass


def test_spectra_names_stay_importable_from_filters():
    import hyena_lab.filters as filters
    import hyena_lab.spectra as spectra

    for name in spectra.__all__:
        assert getattr(filters, name) is getattr(spectra, name), name
        assert name in filters.__all__
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        filters.nope  # noqa: B018


def test_init_energy_shares_rows_are_the_energy_fractions():
    shares, cutoffs = init_energy_shares((2, 8), 1.0, L=32, channels=4, seed=1)
    assert shares.shape == (2, 17) and shares.dtype == torch.float64
    for row, K, cut in zip(shares, (2, 8), cutoffs, strict=True):
        h = implicit_init_filters(K, 1.0, 32, 4, 1)
        assert torch.equal(row, energy_fractions(h)) and cut == spectral_cutoff(h, 0.99)
    with pytest.raises(ValueError, match="at least one value"):
        init_energy_shares((), 1.0)


def test_low_pass_at_w1_with_cutoff_growing_with_bands_spread_at_w10():
    L = 128
    rows = implicit_init_spectra((2, 8, 32), (1.0, 10.0), L=L, channels=32)
    stat = {(r["bands"], r["w"]): r for r in rows}
    cut_w1 = [stat[K, 1.0]["cutoff_99"] for K in (2, 8, 32)]
    assert cut_w1 == sorted(cut_w1) and len(set(cut_w1)) == 3, cut_w1
    for K in (2, 8, 32):
        assert K - 2 <= stat[K, 1.0]["cutoff_99"] <= K + 2  # low-pass, cutoff at bin K
        assert stat[K, 1.0]["energy_above_K"] < 0.01
        assert stat[K, 10.0]["cutoff_99"] > 0.9 * (L // 2)  # spread over the spectrum
        assert (stat[K, 10.0]["energy_above_cutoff_bin"]
                > stat[K, 1.0]["energy_above_cutoff_bin"] + 0.3)
    above = [stat[K, 1.0]["energy_above_cutoff_bin"] for K in (2, 8, 32)]  # bin 16
    assert above[0] < 0.01 and above[1] < 0.01 and above[2] > 0.1


def test_spectral_measures():
    L = 64
    t = torch.arange(L, dtype=torch.float64)
    h = torch.stack([torch.cos(2 * math.pi * 3 * t / L), torch.cos(2 * math.pi * 20 * t / L)])
    assert spectral_cutoff(h[:1]) == 4  # all energy in bin 3
    assert spectral_cutoff(h) == 21
    share = energy_fractions(h)  # (33,): half in bin 3, half in bin 20
    assert share.shape == (L // 2 + 1,) and abs(float(share.sum()) - 1) < 1e-12
    assert abs(float(share[3]) - 0.5) < 1e-12 and abs(float(share[20]) - 0.5) < 1e-12
    noise = torch.randn(4, L, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert spectral_cutoff(noise, 1.0) == L // 2 + 1  # white noise needs every bin
    assert abs(high_frequency_fraction(h, 10) - 0.5) < 1e-12
    with pytest.raises(ValueError, match="identically zero"):
        spectral_cutoff(torch.zeros(2, 8))
    with pytest.raises(ValueError, match=r"cutoff_bin must be < L // 2 \+ 1 = 33"):
        high_frequency_fraction(h, 33)
    with pytest.raises(ValueError, match="0 < energy <= 1"):
        spectral_cutoff(h, 1.5)


# ---------------------------------------------------------------- bad hyper-parameters


@pytest.mark.parametrize(
    ("cls", "hyper", "exc", "match"),
    [
        (ImplicitFilter, {"emb_dim": 4}, ValueError, "emb_dim must be odd"),
        (ImplicitFilter, {"emb_dim": 1}, ValueError, "emb_dim must be >= 3"),
        (ImplicitFilter, {"fast_decay_pct": -0.3}, ValueError, "fast_decay_pct must be finite"),
        (ImplicitFilter, {"slow_decay_pct": 0.0}, ValueError, "slow_decay_pct must be finite"),
        (ImplicitFilter, {"fast_decay_pct": 2.0, "slow_decay_pct": 1.0}, ValueError,
         r"fast_decay_pct \(2.0\) must be <= slow_decay_pct \(1.0\)"),
        (ImplicitFilter, {"target": 0.0}, ValueError, "target must be finite and > 0"),
        (ImplicitFilter, {"target": 1.5}, ValueError, r"expected 0 < target < 1, got 1.5"),
        (ImplicitFilter, {"filter_order": 0}, ValueError, "filter_order must be >= 1"),
        (ImplicitFilter, {"num_inner_mlps": -1}, ValueError, "num_inner_mlps must be >= 0"),
        (ImplicitFilter, {"w": 0.0}, ValueError, r"w \(the initial frequency .*\) must be"),
        (ImplicitFilter, {"shift": float("nan")}, ValueError, "shift must be a finite number"),
        (ImplicitFilter, {"normalize": "l2"}, ValueError, "normalize must be None, 'l1' or"),
        (SSMFilter, {"d_state": 3}, ValueError, "d_state must be even"),
        (SSMFilter, {"d_state": 0}, ValueError, "d_state must be >= 2"),
        (SSMFilter, {"dt_min": -1e-3}, ValueError, "dt_min must be finite and > 0"),
        (SSMFilter, {"dt_min": 0.5, "dt_max": 0.1}, ValueError, r"dt_min \(0.5\) must be <="),
        (SSMFilter, {"discretization": "euler"}, ValueError, "'zoh' or 'bilinear'"),
        (FrequencyFilter, {"modes": 0}, ValueError, "modes must be >= 1"),
        (FrequencyFilter, {"modes": 9}, ValueError, r"modes must be <= \(l_max \+ 1\) // 2 = 8"),
        (FrequencyFilter, {"init_scale": 0.0}, ValueError, "init_scale must be finite and > 0"),
        (ExplicitFilter, {"init_scale": -1.0}, ValueError, "init_scale must be finite and > 0"),
    ],
)
def test_bad_hyper_parameters_say_what_was_expected(cls, hyper, exc, match):
    with pytest.raises(exc, match=match):
        cls(4, 16, **hyper)


@pytest.mark.parametrize("kind", KINDS)
def test_bad_sizes(kind):
    with pytest.raises(ValueError, match="channels must be >= 1"):
        make_filter(kind, 0, 16)
    with pytest.raises(ValueError, match="l_max must be >= 1"):
        make_filter(kind, 2, 0)


def test_make_filter_errors():
    with pytest.raises(ValueError, match=r"unknown filter 'fno'; expected one of"):
        make_filter("fno", 4, 16)
    filt = SSMFilter(4, 16)
    assert make_filter(filt, 4, 16) is filt
    with pytest.raises(ValueError, match="expected channels=8"):
        make_filter(filt, 8, 16)
    with pytest.raises(ValueError, match="cannot be given with a filter module"):
        make_filter(filt, 4, 16, d_state=2)


# ---------------------------------------------------------------- the chapter's figures


def _close(fig: Figure) -> None:
    plt.close(fig)


def test_filter_bank_figure_is_pure_and_deterministic():
    state = torch.random.get_rng_state()
    fig1 = vf.filter_bank_figure(L=64, channels=3, filter_order=8)
    fig2 = vf.filter_bank_figure(L=64, channels=3, filter_order=8)
    assert torch.equal(state, torch.random.get_rng_state()), "the widget moved the global RNG"
    assert isinstance(fig1, Figure) and len(fig1.axes) == 3
    for a, b in zip(fig1.axes[0].lines, fig2.axes[0].lines, strict=True):
        assert (a.get_ydata() == b.get_ydata()).all()
    fig3 = vf.filter_bank_figure(L=64, channels=3, filter_order=8, seed=1)
    assert not (fig1.axes[0].lines[0].get_ydata() == fig3.axes[0].lines[0].get_ydata()).all()
    assert len(vf.filter_bank_figure(L=32, channels=2, modulate=False).axes) == 3


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"bands": 0}, ValueError, r"bands .* must be >= 1"),
        ({"L": 1}, ValueError, "L must be >= 2"),
        ({"channels": 0}, ValueError, "channels must be >= 1"),
        ({"decay_fast": -0.1}, ValueError, "fast_decay_pct must be finite and > 0"),
        ({"decay_fast": 2.0, "decay_slow": 1.0}, ValueError, "must be <= slow_decay_pct"),
        ({"target": 2.0}, ValueError, "0 < target < 1"),
        ({"w": 0.0}, ValueError, r"w \(the initial frequency"),
        ({"filter_order": 0}, ValueError, "filter_order must be >= 1"),
        ({"seed": -1}, ValueError, "seed must be >= 0"),
        ({"bands": 2.5}, TypeError, "bands .* must be an int"),
    ],
)
def test_filter_bank_figure_bad_widget_values(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        vf.filter_bank_figure(**kwargs)


def test_other_figures():
    figs = [
        (vf.positional_encoding_figure(bands=6, L=32), 3),  # 2 panels + colour bar
        (vf.bands_frequency_figure(bands=(2, 4), ws=(1.0,), L=32, channels=4), 3),  # +bar
        (vf.modulation_figure(L=32, channels=3), 4),
        (vf.parameterisations_figure(L=32, channels=2), 8),
        (vf.ssm_figure(d_state=4, L=32, channels=2), 3),
    ]
    for fig, n_axes in figs:
        assert isinstance(fig, Figure) and len(fig.axes) == n_axes
        _close(fig)
    # the SSM panel reports the recurrence == convolution check in its title
    fig = vf.ssm_figure(d_state=4, L=32, channels=2)
    err = float(fig.axes[2].get_title().split()[-1])
    assert err < 1e-10
    lengths = [16, 32]
    fig = vf.param_count_figure(lengths, parameter_counts(lengths, channels=4), channels=4)
    assert len(fig.axes[0].lines) == len(FILTERS) + 1
    assert set(FILTERS) <= set(vf.LABELS)


def test_init_spectra_figure_marks_the_measured_bands():
    bands, ws = (2, 4, 8), (1.0, 10.0)
    fig = vf.bands_frequency_figure(bands=bands, ws=ws, L=64, channels=8, seed=1)
    maps = [ax for ax in fig.axes if ax.images]
    assert len(maps) == 2 and len(fig.axes) == 5  # 2 heat maps, 2 time panels, 1 colour bar
    for ax, w in zip(maps, ws, strict=True):
        image = ax.images[0].get_array()
        assert image.shape == (len(bands), 64 // 2 + 1)  # one row per K, one column per bin
        k_edge, band_edge = ax.lines  # the edge of bins < K, the edge of the 99% band
        assert list(k_edge.get_xdata()) == [K - 0.5 for K in bands]
        expected = [spectral_cutoff(implicit_init_filters(K, w, 64, 8, 1)) - 0.5 for K in bands]
        assert list(band_edge.get_xdata()) == expected
        # each row is the share of the energy per bin in dB, floored at -60 dB
        for row, K in zip(np.asarray(image), bands, strict=True):
            share = energy_fractions(implicit_init_filters(K, w, 64, 8, 1)).numpy()
            assert np.allclose(row, 10 * np.log10(np.maximum(share, 1e-6)))
    _close(fig)


def test_count_label_splits_the_trainable_table():
    assert vf.count_label(make_filter("implicit", 3, 256)) == "8,832 FFN + 768 z = 9,600 params"
    fixed = make_filter("implicit", 3, 256, trainable_pos_emb=False)
    assert vf.count_label(fixed) == "8,832 params"
    assert vf.count_label(make_filter("ssm", 3, 256)) == "387 params"
    fig = vf.parameterisations_figure(L=256, channels=3)
    assert "8,832 FFN + 768 z = 9,600 params for 3 filters" in fig.axes[6].get_title()
    _close(fig)


def test_other_figures_bad_values():
    with pytest.raises(ValueError, match="L must be >= 2"):
        vf.positional_encoding_figure(L=1)
    with pytest.raises(ValueError, match=r"bands .* must be >= 1"):
        vf.positional_encoding_figure(bands=0)
    with pytest.raises(ValueError, match="at least one value"):
        vf.bands_frequency_figure(bands=())
    with pytest.raises(ValueError, match="d_state must be even"):
        vf.ssm_figure(d_state=5)
    with pytest.raises(ValueError, match="dt_min must be finite and > 0"):
        vf.ssm_figure(dt_min=0.0)
    with pytest.raises(ValueError, match=r"counts\['ssm'\] has 1 values for 2 lengths"):
        vf.param_count_figure([16, 32], {"ssm": [1]}, channels=4)


@pytest.mark.parametrize(
    ("controls", "figure", "low", "high", "big", "small"),
    [
        (vf.filter_bank_controls, vf.filter_bank_figure, "decay_fast", "decay_slow", 3.0, 0.01),
        (vf.ssm_controls, vf.ssm_figure, "dt_min", "dt_max", 1.0, 1e-4),
    ],
)
def test_controls_cover_the_figure_and_keep_their_order(controls, figure, low, high, big, small):
    import inspect

    widgets = controls()
    assert set(widgets) == set(inspect.signature(figure).parameters)
    # moving the lower slider above the upper one drags the upper one along, and back
    widgets[low].value = big
    assert widgets[high].value == pytest.approx(big)
    widgets[high].value = small
    assert widgets[low].value == pytest.approx(small)
    with pytest.raises(ValueError, match="l_max must be >= 16"):
        controls(l_max=8)


def test_paper_table_a2_as_published():
    """Table A.2 (131K tokens, vocabulary 30): Hyena first by far, every other filter near 0
    except CKConv; FNO, not Conv1d, is last (0.3 < 0.5)."""
    from hyena_lab.filters import PAPER_TABLE_A2

    assert PAPER_TABLE_A2 == {"Conv1d": 0.5, "FNO": 0.3, "H3": 0.6, "TransferFunc": 0.5,
                              "CKConv": 14.3, "Hyena": 97.2}
    assert min(PAPER_TABLE_A2, key=PAPER_TABLE_A2.get) == "FNO"


def test_learn_pos_emb_is_a_deprecated_alias_of_trainable_pos_emb():
    with pytest.warns(DeprecationWarning, match="use trainable_pos_emb"):
        f = ImplicitFilter(4, 32, learn_pos_emb=False)
    assert not any(n.endswith("pos_emb.z") for n, _ in f.named_parameters())
