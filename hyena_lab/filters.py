"""Long-filter parameterisations (paper Sec. 3.3, App. D.3, Table A.2): how a Hyena operator's
``N`` filters per channel, each as long as the input, are computed. Every class is an
``nn.Module`` built as ``Cls(channels, l_max, **hyper)`` whose ``forward(L)`` returns the filters
``(channels, L)`` for any ``1 <= L <= l_max`` and whose ``num_params`` counts its trainable
scalars: :class:`ImplicitFilter`, Hyena's ``h_t = Window(t) * FFN(PositionalEncoding(t))``
(eq. 7, built from :class:`PositionalEncoding`, :class:`Sin` and :class:`ExponentialModulation`,
with the official code's conventions so that its weights load, see :mod:`hyena_lab.official`),
and the baselines of Table A.2: :class:`ExplicitFilter` (free taps, "Conv1d"),
:class:`SSMFilter` (S4D, H3's filters; :func:`ssm_recurrence` runs it step by step) and
:class:`FrequencyFilter` (FNO modes). :func:`make_filter` builds one by name, :func:`seeded`
reproducibly. Their spectra and parameter counts live in :mod:`hyena_lab.spectra` (re-exported
here).
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from .checks import check_float, check_min_ndim, check_positive_float, check_positive_int
from .paper import PAPER_TABLE_A2  # the paper's numbers live in `paper`; importable from here

#: Names that moved to :mod:`hyena_lab.spectra` and stay importable from here (lazily, see
#: ``__getattr__`` at the end: ``spectra`` imports this module).
_SPECTRA = (
    "energy_fractions", "high_frequency_fraction", "implicit_init_filters",
    "implicit_init_spectra", "implicit_param_count", "init_energy_shares",
    "magnitude_spectrum", "parameter_counts", "spectral_cutoff",
)

__all__ = [
    "FILTERS",
    "PAPER_TABLE_A2",
    "DiscreteSSM",
    "ExplicitFilter",
    "ExponentialModulation",
    "FrequencyFilter",
    "ImplicitFilter",
    "LongFilter",
    "PositionalEncoding",
    "SSMFilter",
    "Sin",
    "emb_dim_for_bands",
    "make_filter",
    "seeded",
    "ssm_kernel",
    "ssm_recurrence",
    *_SPECTRA,
]


class LongFilter(nn.Module):
    """Base class of the filter parameterisations: ``forward(L) -> (channels, L)``."""

    def __init__(self, channels: int, l_max: int) -> None:
        super().__init__()
        self.channels = check_positive_int(channels, "channels")
        self.l_max = check_positive_int(l_max, "l_max")

    @property
    def num_params(self) -> int:
        """Number of trainable scalars of the parameterisation."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def check_length(self, L: int) -> int:
        """Raise unless ``1 <= L <= l_max``; return ``L``."""
        if isinstance(L, bool) or not isinstance(L, int):
            raise TypeError(f"L must be an int, got {L!r}")
        if not 1 <= L <= self.l_max:
            raise ValueError(
                f"filter length L must satisfy 1 <= L <= l_max={self.l_max}, got L={L}; "
                f"build the filter with a larger l_max to evaluate longer filters"
            )
        return L

    def forward(self, L: int) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError


def emb_dim_for_bands(bands: int) -> int:
    """``emb_dim = 2 K + 1`` for ``K`` bands: ``t`` plus a cosine and a sine per band (App. D.3).

    Widgets expose the number of bands ``K``; the filter classes take ``emb_dim``.
    """
    if isinstance(bands, bool) or not isinstance(bands, int):
        raise TypeError(
            f"bands (the number K of positional-encoding frequencies) must be an int, got {bands!r}"
        )
    if bands < 1:
        raise ValueError(
            f"bands (the number K of positional-encoding frequencies) must be >= 1, got {bands}; "
            f"the encoding holds t plus a cosine and a sine per band, emb_dim = 2K + 1"
        )
    return 2 * bands + 1


class PositionalEncoding(nn.Module):
    """Features of time fed to the filter FFN (App. D.3), ``(l_max, emb_dim)``.

    Column 0 is ``t`` in ``[0, 1]``; then the real and imaginary parts of
    ``exp(-i f_k w_n)`` with ``w_n = 2 pi n / l_max`` for position ``n`` and ``K = (emb_dim-1)/2``
    frequencies ``f = linspace(1e-4, K - 1, K)``. A filter of length ``L < l_max`` uses the first
    ``L`` rows, so a filter is the same function of position whatever the input length.

    Args:
        emb_dim: number of features, odd and >= 3 (``t`` plus a sine and a cosine per band).
        l_max: longest sequence.
        learnable: if True (as in the official code), ``z`` is an ``nn.Parameter``.
    """

    def __init__(self, emb_dim: int, l_max: int, learnable: bool = True) -> None:
        super().__init__()
        check_positive_int(emb_dim, "emb_dim", minimum=3)
        if emb_dim % 2 == 0:
            raise ValueError(
                f"emb_dim must be odd (t plus one sine and one cosine per band), got {emb_dim}"
            )
        check_positive_int(l_max, "l_max")
        self.emb_dim, self.l_max, self.bands = emb_dim, l_max, (emb_dim - 1) // 2
        t = torch.linspace(0, 1, l_max)[:, None]  # (l_max, 1)
        w = 2 * math.pi * torch.arange(l_max, dtype=torch.float32)[:, None] / l_max  # (l_max, 1)
        f = torch.linspace(1e-4, self.bands - 1, self.bands)[None, :]  # (1, bands)
        rho = torch.exp(-1j * f * w)  # (l_max, bands), complex
        z = torch.cat([t, rho.real, rho.imag], dim=-1)  # (l_max, emb_dim)
        if learnable:
            self.z = nn.Parameter(z)
        else:
            self.register_buffer("z", z)
        self.register_buffer("t", t)

    def forward(self, L: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``(z, t)`` for the first ``L`` positions: ``(L, emb_dim)`` and ``(L, 1)``."""
        return self.z[:L], self.t[:L]


class Sin(nn.Module):
    """``sin(freq * x)`` with a learnable frequency per unit (init ``w``), Sec. 3.3."""

    def __init__(self, dim: int, w: float = 1.0, learnable: bool = True) -> None:
        super().__init__()
        self.w = float(w)  # the initial frequency (the learned one is ``freq``)
        freq = torch.full((dim,), float(w))
        if learnable:
            self.freq = nn.Parameter(freq)
        else:
            self.register_buffer("freq", freq)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sin(self.freq * x)


class ExponentialModulation(nn.Module):
    """The decay window of eq. (7): ``h_t <- h_t * (exp(-|delta_c| t) + shift)``.

    ``deltas`` are spaced linearly from ``log(target) / slow_decay_pct`` (slowest channel) to
    ``log(target) / fast_decay_pct`` (fastest), so channel ``c`` reaches ``target`` at
    ``t = log(target) / delta_c``, i.e. between ``fast_decay_pct`` and ``slow_decay_pct`` of the
    sequence (``t`` runs over ``[0, 1]``). ``modulate=False`` switches the window off.
    """

    def __init__(
        self,
        channels: int,
        fast_decay_pct: float = 0.3,
        slow_decay_pct: float = 1.5,
        target: float = 1e-2,
        shift: float = 0.0,
        modulate: bool = True,
    ) -> None:
        super().__init__()
        check_positive_float(fast_decay_pct, "fast_decay_pct")
        check_positive_float(slow_decay_pct, "slow_decay_pct")
        check_positive_float(target, "target")
        if not target < 1:
            raise ValueError(
                f"target is the value the window decays to, expected 0 < target < 1, got {target}"
            )
        if fast_decay_pct > slow_decay_pct:
            raise ValueError(
                f"fast_decay_pct ({fast_decay_pct}) must be <= slow_decay_pct ({slow_decay_pct})"
            )
        self.modulate, self.shift = bool(modulate), float(shift)
        self.fast_decay_pct, self.slow_decay_pct = float(fast_decay_pct), float(slow_decay_pct)
        self.target = float(target)
        slowest = math.log(target) / slow_decay_pct
        fastest = math.log(target) / fast_decay_pct
        self.register_buffer("deltas", torch.linspace(slowest, fastest, channels))  # (channels,)

    def window(self, t: torch.Tensor) -> torch.Tensor:
        """The window ``(L, channels)`` at times ``t`` ``(L, 1)`` (ones when switched off)."""
        if not self.modulate:
            return torch.ones(t.shape[0], self.deltas.shape[0], dtype=t.dtype, device=t.device)
        return torch.exp(-t * self.deltas.abs()) + self.shift

    def forward(self, t: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """Multiply filters ``h`` ``(L, channels)`` by the window at times ``t`` ``(L, 1)``."""
        return h * (torch.exp(-t * self.deltas.abs()) + self.shift) if self.modulate else h


class ImplicitFilter(LongFilter):
    """The implicit Hyena filter (Sec. 3.3): a small FFN of the positional encoding, windowed.

    ``forward(L)`` evaluates ``Window(t) * FFN(PE(t))`` at the first ``L`` positions and returns
    ``(channels, L)``. The FFN's parameter count does not depend on ``l_max``: that is the
    paper's *sublinear* parameter scaling. The positional-encoding table ``z`` does, with
    ``emb_dim * l_max`` entries: the official code trains it (with a learning rate of ``1e-5``),
    so ``num_params`` counts it unless ``trainable_pos_emb=False`` (see
    :func:`implicit_param_count`).

    Args:
        channels: number of filters (``order * d_model`` inside a Hyena operator).
        l_max: longest filter.
        emb_dim: positional-encoding features (odd, >= 3).
        filter_order: width of the FFN.
        num_inner_mlps: hidden ``Linear(filter_order, filter_order)`` layers.
        w: initial frequency of the sine activation (1 gives smooth low-pass filters at init,
            10 spreads them over the spectrum, App. D.3).
        modulate, fast_decay_pct, slow_decay_pct, target, shift: the decay window.
        normalize: ``None`` (default), ``"l1"`` or ``"l1_channels"``. ``"l1"`` divides each
            filter by its L1 norm over time (after the window), so that ``max |y| <= max |u|``
            for the convolution alone. ``"l1_channels"`` is what the official
            ``normalized=True`` does: at each position, divide the FFN output by its L1 norm
            over the *channels*, before the window.
        trainable_pos_emb: ``True`` (official code): the table ``z`` ``(l_max, emb_dim)`` is an
            ``nn.Parameter``, ``emb_dim * l_max`` more trainable scalars. ``False``: ``z`` is a
            buffer of fixed features (saved in the state dict all the same), and ``num_params``
            is the FFN's alone, independent of ``l_max`` (the paper's count).
    """

    def __init__(
        self,
        channels: int,
        l_max: int,
        emb_dim: int = 3,
        filter_order: int = 64,
        num_inner_mlps: int = 2,
        w: float = 1.0,
        modulate: bool = True,
        fast_decay_pct: float = 0.3,
        slow_decay_pct: float = 1.5,
        target: float = 1e-2,
        shift: float = 0.0,
        normalize: str | None = None,
        trainable_pos_emb: bool = True,
        learn_pos_emb: bool | None = None,
    ) -> None:
        super().__init__(channels, l_max)
        if learn_pos_emb is not None:  # the name before 0.2; kept for a release
            warnings.warn("learn_pos_emb is deprecated: use trainable_pos_emb",
                          DeprecationWarning, stacklevel=2)
            trainable_pos_emb = learn_pos_emb
        check_positive_int(filter_order, "filter_order")
        check_positive_int(num_inner_mlps, "num_inner_mlps", minimum=0)
        check_positive_float(w, "w (the initial frequency of the sine activation)")
        if not math.isfinite(float(shift)):
            raise ValueError(f"shift must be a finite number, got {shift}")
        if normalize not in (None, "l1", "l1_channels"):
            raise ValueError(f"normalize must be None, 'l1' or 'l1_channels', got {normalize!r}")
        if not isinstance(trainable_pos_emb, bool):
            raise TypeError(f"trainable_pos_emb must be True or False, got {trainable_pos_emb!r}")
        self.normalize = normalize
        self.pos_emb = PositionalEncoding(emb_dim, l_max, learnable=trainable_pos_emb)
        widths = [emb_dim] + [filter_order] * (num_inner_mlps + 1)
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in itertools.pairwise(widths))
        self.act = Sin(filter_order, w)  # ONE activation, shared by every hidden layer
        self.out = nn.Linear(filter_order, channels, bias=False)
        self.modulation = ExponentialModulation(
            channels, fast_decay_pct, slow_decay_pct, target, shift, modulate
        )

    def ffn(self, z: torch.Tensor) -> torch.Tensor:
        """The FFN of eq. (7) on features ``(L, emb_dim)``, returning ``(L, channels)``."""
        for layer in self.layers:
            z = self.act(layer(z))
        return self.out(z)

    @property
    def bands(self) -> int:
        """Number ``K`` of positional-encoding frequencies, ``emb_dim = 2K + 1``."""
        return self.pos_emb.bands

    def window(self, L: int) -> torch.Tensor:
        """The modulation window ``(channels, L)`` at the first ``L`` positions (ones if off)."""
        self.check_length(L)
        return self.modulation.window(self.pos_emb.t[:L]).T

    def forward(self, L: int) -> torch.Tensor:
        """Filters ``(channels, L)``."""
        self.check_length(L)
        z, t = self.pos_emb(L)  # (L, emb_dim), (L, 1)
        h = self.ffn(z)  # (L, channels)
        if self.normalize == "l1_channels":  # official `normalized=True`: over channels, pre-window
            h = h / torch.linalg.vector_norm(h, ord=1, dim=-1, keepdim=True)
        h = self.modulation(t, h)  # (L, channels)
        if self.normalize == "l1":
            h = h / h.abs().sum(dim=0, keepdim=True).clamp_min(torch.finfo(h.dtype).tiny)
        return h.T  # (channels, L)


class ExplicitFilter(LongFilter):
    """Free filter taps, one per position and channel: the "Conv1d" baseline (Table A.2).

    ``forward(L)`` returns the first ``L`` of ``l_max`` learned taps, so ``num_params`` is
    ``channels * l_max``: linear in the sequence length, the cost implicit filters avoid.

    Args:
        channels: number of filters.
        l_max: longest filter (= number of taps per channel).
        init_scale: taps start as ``N(0, init_scale**2 / l_max)``, so the energy
            ``sum_t h_t**2`` of a full-length filter is about ``init_scale**2`` whatever
            ``l_max`` (the output of the convolution keeps the scale of its input).
    """

    def __init__(self, channels: int, l_max: int, init_scale: float = 1.0) -> None:
        super().__init__(channels, l_max)
        check_positive_float(init_scale, "init_scale")
        self.h = nn.Parameter(torch.randn(channels, l_max) * (init_scale / math.sqrt(l_max)))

    def forward(self, L: int) -> torch.Tensor:
        """Filters ``(channels, L)``: the first ``L`` taps."""
        self.check_length(L)
        return self.h[:, :L]


class DiscreteSSM(NamedTuple):
    """A discretised complex diagonal state space of ``modes`` modes per channel.

    ``x_t = A_bar x_{t-1} + B_bar u_t``, ``y_t = 2 Re(C x_t)`` with ``x_t`` in C^modes and
    ``A_bar = exp(log_A_bar)``; all fields are complex ``(channels, modes)``. The factor 2 counts
    the complex-conjugate modes, so that the system is a *real* SSM of state size
    ``2 * modes`` (the S4D convention).
    """

    log_A_bar: torch.Tensor
    B_bar: torch.Tensor
    C: torch.Tensor

    @property
    def A_bar(self) -> torch.Tensor:
        """The diagonal of the discrete state matrix, ``(channels, modes)``."""
        return torch.exp(self.log_A_bar)


def ssm_kernel(ssm: DiscreteSSM, L: int) -> torch.Tensor:
    """The convolution kernel of a diagonal SSM in closed form, ``(channels, L)``.

    Unrolling the recurrence from ``x_{-1} = 0`` gives ``y_t = sum_{s<=t} K_{t-s} u_s`` with

        K_t = 2 Re( sum_n C_n B_bar_n A_bar_n^t ),

    computed through the Vandermonde matrix ``A_bar_n^t = exp(t log A_bar_n)`` of shape
    ``(channels, modes, L)``: ``O(modes L)`` memory per channel, no recurrence.
    """
    check_positive_int(L, "L")
    t = torch.arange(L, device=ssm.log_A_bar.device, dtype=ssm.log_A_bar.real.dtype)
    vandermonde = torch.exp(ssm.log_A_bar[..., None] * t)  # (channels, modes, L)
    return 2 * torch.einsum("cn,cnl->cl", ssm.C * ssm.B_bar, vandermonde).real


def ssm_recurrence(u: torch.Tensor, ssm: DiscreteSSM) -> torch.Tensor:
    """Run the SSM step by step: ``x_t = A_bar x_{t-1} + B_bar u_t``, ``y_t = 2 Re(C x_t)``.

    The sequential (RNN) view of the same map that :func:`ssm_kernel` writes as a convolution:
    ``ssm_recurrence(u, ssm) == fftconv(u, ssm_kernel(ssm, L))`` up to round-off. ``O(L)``
    sequential steps: a reference, not a fast path.

    Args:
        u: input ``(..., channels, L)``.
        ssm: the discretised system (its dtype decides the precision).

    Returns:
        ``(..., channels, L)`` real, in the real dtype of ``ssm``.
    """
    check_float(u, "u")
    check_min_ndim(u, "u", 2, "(..., channels, L)")
    channels = ssm.C.shape[0]
    if u.shape[-2] != channels:
        raise ValueError(
            f"u must have {channels} channels in dim -2 (layout (..., channels, L)), "
            f"got shape {tuple(u.shape)}"
        )
    u = u.to(ssm.C.real.dtype)
    A_bar, B_bar, C = ssm.A_bar, ssm.B_bar, ssm.C  # (channels, modes)
    x = torch.zeros(*u.shape[:-1], A_bar.shape[-1], dtype=A_bar.dtype, device=u.device)
    ys = []
    for t in range(u.shape[-1]):
        x = A_bar * x + B_bar * u[..., t, None]  # (..., channels, modes)
        ys.append(2 * (C * x).sum(dim=-1).real)  # (..., channels)
    return torch.stack(ys, dim=-1)


class SSMFilter(LongFilter):
    """A diagonal state-space model as a long filter (S4D; the H3 baseline's filters).

    Per channel, a continuous system ``x'(s) = A x(s) + B u(s)``, ``y = 2 Re(C x)`` with a
    complex diagonal ``A`` of ``modes = d_state / 2`` entries (the conjugate modes make it a real
    system of state size ``d_state``), sampled with step ``dt`` and unrolled into its kernel by
    :func:`ssm_kernel`. ``B`` is fixed to ones (its scale is absorbed into ``C``).

    Initialisation (S4D-Lin, Gu et al. 2022): ``A_n = -1/2 + i pi n``, ``C`` complex standard
    normal, ``dt`` log-uniform in ``[dt_min, dt_max]`` per channel, so the channels' kernels
    decay over roughly ``1 / (dt / 2)`` steps: between about 20 and 2,000 with the defaults.
    Parameterised as ``Re A = -exp(log_A_real)`` and ``dt = exp(log_dt)``, the system stays
    stable (``|A_bar| < 1``) whatever the optimiser does. S4/H3 usually train ``log_dt``,
    ``log_A_real`` and ``A_imag`` with a smaller learning rate and no weight decay.

    Discretisation (``discretization=``):

    * ``"zoh"`` (default, S4D): zero-order hold, ``A_bar = exp(dt A)``,
      ``B_bar = (A_bar - 1) / A * B``; exact for inputs constant over each step.
    * ``"bilinear"`` (S4): ``A_bar = (1 + dt A / 2) / (1 - dt A / 2)``,
      ``B_bar = dt B / (1 - dt A / 2)``.

    ``num_params = channels * (1 + 2 d_state)`` (``log_dt``, then ``Re A``, ``Im A``, ``Re C``,
    ``Im C`` per mode): independent of ``l_max``.
    """

    def __init__(
        self,
        channels: int,
        l_max: int,
        d_state: int = 64,
        dt_min: float = 1e-3,
        dt_max: float = 1e-1,
        discretization: str = "zoh",
    ) -> None:
        super().__init__(channels, l_max)
        check_positive_int(d_state, "d_state", minimum=2)
        if d_state % 2:
            raise ValueError(
                f"d_state must be even (complex modes come in conjugate pairs), got {d_state}"
            )
        check_positive_float(dt_min, "dt_min")
        check_positive_float(dt_max, "dt_max")
        if dt_min > dt_max:
            raise ValueError(f"dt_min ({dt_min}) must be <= dt_max ({dt_max})")
        if discretization not in ("zoh", "bilinear"):
            raise ValueError(
                f"discretization must be 'zoh' or 'bilinear', got {discretization!r}"
            )
        self.d_state, self.modes, self.discretization = d_state, d_state // 2, discretization
        log_dt = math.log(dt_min) + torch.rand(channels) * (math.log(dt_max) - math.log(dt_min))
        self.log_dt = nn.Parameter(log_dt)  # (channels,)
        self.log_A_real = nn.Parameter(torch.full((channels, self.modes), math.log(0.5)))
        self.A_imag = nn.Parameter(math.pi * torch.arange(self.modes).repeat(channels, 1).float())
        C = torch.randn(channels, self.modes, dtype=torch.cfloat)  # E|C_n|^2 = 1
        self.C = nn.Parameter(torch.view_as_real(C))  # (channels, modes, 2): real and imaginary

    def discretize(self, dtype: torch.dtype | None = None) -> DiscreteSSM:
        """The discrete system (``A_bar``, ``B_bar``, ``C``), optionally cast to ``dtype`` first.

        ``dtype`` is a real dtype (``torch.float64`` for references); complex results follow it.
        """
        cast = (lambda p: p.to(dtype)) if dtype is not None else (lambda p: p)
        dt = torch.exp(cast(self.log_dt))[:, None]  # (channels, 1)
        A = torch.complex(-torch.exp(cast(self.log_A_real)), cast(self.A_imag))  # (channels, modes)
        C = torch.view_as_complex(cast(self.C).contiguous())  # (channels, modes)
        dtA = dt * A
        if self.discretization == "zoh":
            return DiscreteSSM(log_A_bar=dtA, B_bar=torch.expm1(dtA) / A, C=C)
        denom = 1 - dtA / 2
        return DiscreteSSM(log_A_bar=torch.log((1 + dtA / 2) / denom), B_bar=dt / denom, C=C)

    def forward(self, L: int) -> torch.Tensor:
        """Filters ``(channels, L)``: the kernel ``K_t = 2 Re(C A_bar^t B_bar)``, ``t < L``."""
        self.check_length(L)
        return ssm_kernel(self.discretize(), L)

    def recurrence(self, u: torch.Tensor) -> torch.Tensor:
        """Apply the SSM to ``u`` ``(..., channels, L)`` step by step, in float64.

        Equals ``fftconv(u, self(L))`` up to round-off: the SSM is a long convolution.
        """
        check_float(u, "u")
        self.check_length(u.shape[-1])
        return ssm_recurrence(u.double(), self.discretize(torch.float64))


class FrequencyFilter(LongFilter):
    """FNO-style filter: learnable complex weights on the lowest ``modes`` Fourier bins.

    The spectral convolution of a Fourier Neural Operator multiplies the first ``modes``
    Fourier coefficients of a signal by learned weights and drops the rest; that is a
    convolution with a *band-limited* kernel. Here the kernel is materialised in time on a
    grid of ``l_max`` points,

        h_t = irfft(W, n=l_max)_t
            = (1 / l_max) [W_0 + 2 sum_{k=1}^{modes-1} Re(W_k exp(2 pi i k t / l_max))]

    (bin ``k`` is ``k`` cycles per ``l_max`` samples) and then used like every other filter
    (causally, by :func:`hyena_lab.fftconv`). ``forward(L)`` for ``L < l_max`` evaluates the
    kernel at ``l_max`` and keeps its first ``L`` taps, so the filter is the same function of
    position whatever the input length (as for the implicit filter; the cost is one
    length-``l_max`` inverse FFT).

    The imaginary parts of bin 0 (and of the Nyquist bin, which is excluded by requiring
    ``modes <= (l_max + 1) // 2``) would not change a real signal, so they are not parameters:
    ``num_params = channels * (2 modes - 1)``, constant in ``L`` for fixed ``modes``.

    Args:
        channels: number of filters.
        l_max: longest filter; the length of the grid the modes live on.
        modes: kept Fourier bins; ``None`` means ``min(64, (l_max + 1) // 2)`` (the paper's FNO
            baseline keeps 64).
        init_scale: weights start normal with a variance chosen so that the energy
            ``sum_t h_t**2`` of a full-length filter is about ``init_scale**2``.
    """

    def __init__(
        self, channels: int, l_max: int, modes: int | None = None, init_scale: float = 1.0
    ) -> None:
        super().__init__(channels, l_max)
        most = (l_max + 1) // 2
        if modes is None:
            modes = min(64, most)
        check_positive_int(modes, "modes")
        if modes > most:
            raise ValueError(
                f"modes must be <= (l_max + 1) // 2 = {most} (bins below the Nyquist bin of a "
                f"length-{l_max} grid), got {modes}"
            )
        check_positive_float(init_scale, "init_scale")
        self.modes = modes
        # Parseval: sum_t h_t^2 = (|W_0|^2 + 2 sum_k |W_k|^2) / l_max; with every real and
        # imaginary part of variance s^2 that is (4 modes - 3) s^2 / l_max.
        std = init_scale * math.sqrt(l_max / (4 * modes - 3))
        self.weight_real = nn.Parameter(torch.randn(channels, modes) * std)  # bins 0..modes-1
        self.weight_imag = nn.Parameter(torch.randn(channels, modes - 1) * std)  # bins 1..

    def spectrum(self) -> torch.Tensor:
        """The complex weights ``W`` ``(channels, modes)`` (bin 0 real)."""
        imag = F.pad(self.weight_imag, (1, 0))  # (channels, modes): Im W_0 = 0
        return torch.complex(self.weight_real, imag)

    def forward(self, L: int) -> torch.Tensor:
        """Filters ``(channels, L)``: the length-``l_max`` band-limited kernel, truncated."""
        self.check_length(L)
        h = torch.fft.irfft(self.spectrum(), n=self.l_max)  # zero bins beyond `modes` implied
        return h[:, :L]  # (channels, L)


#: Filter parameterisations by name, as accepted by ``HyenaOperator(filter=...)``.
FILTERS: dict[str, type[LongFilter]] = {
    "implicit": ImplicitFilter,
    "explicit": ExplicitFilter,
    "ssm": SSMFilter,
    "frequency": FrequencyFilter,
}


def make_filter(kind: str | LongFilter, channels: int, l_max: int, **hyper: object) -> LongFilter:
    """Build a filter bank by name (``"implicit"``, ...) or check a given one fits.

    A module passed in must produce ``channels`` filters of length up to ``l_max``.
    """
    if isinstance(kind, LongFilter):
        if hyper:
            raise ValueError("filter hyper-parameters cannot be given with a filter module")
        if kind.channels != channels or kind.l_max < l_max:
            raise ValueError(
                f"filter module has channels={kind.channels}, l_max={kind.l_max}; "
                f"expected channels={channels} and l_max >= {l_max}"
            )
        return kind
    if kind not in FILTERS:
        raise ValueError(f"unknown filter {kind!r}; expected one of {sorted(FILTERS)}")
    return FILTERS[kind](channels, l_max, **hyper)


@contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Seed torch's CPU RNG inside the block and restore the caller's RNG state afterwards:
    ``with seeded(0): filt = make_filter(...)`` builds the same filter every time."""
    check_positive_int(seed, "seed", minimum=0)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def __getattr__(name: str) -> Any:
    """``hyena_lab.filters.magnitude_spectrum`` & co.: the analysis lives in ``spectra``, which
    imports this module (so it is loaded on first use, not at import, to avoid a cycle)."""
    if name in _SPECTRA:
        from . import spectra

        return getattr(spectra, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
