"""Modal distillation of long filters (Laughing Hyena, Massaroli et al. 2023): the recurrent view.

A trained Hyena filter ``h`` is only defined by its ``L`` taps, so generating token ``t`` with it
costs a dot product over the whole past. Distillation replaces each filter by a *modal*
state-space model, a sum of damped complex exponentials with a real impulse response,

    h_hat[t] = sum_i Re(R_i lambda_i^t),      t = 0, 1, 2, ...      (|lambda_i| < 1)

whose convolution is the recurrence ``s_t = lambda * s_{t-1} + u_t``, ``y_t = Re(sum_i R_i
s_{t,i})``: ``O(r)`` work and state per channel and token, whatever the context length.

:func:`fit_modal` finds poles and residues by model-order reduction:

1. the Hankel matrix ``H[i, j] = h[i + j]`` of each filter (rank ``r`` exactly when ``h`` is a
   sum of ``r`` real-state modes: a complex-conjugate pair has rank 2, a real pole rank 1);
2. its truncated SVD ``H ~ U_r S_r V_r^T`` and Kung's shift-invariance (Ho-Kalman realisation):
   ``U_r[1:] ~ U_r[:-1] A``, solved by least squares; the poles are the eigenvalues of the real
   ``(r, r)`` matrix ``A`` (conjugate pairs, and real poles where ``r`` is odd or the data ask);
3. poles clamped inside the unit circle, ``lambda <- lambda * min(1, max_radius / |lambda|)``
   (the angle kept, so conjugate pairs stay conjugate): a stable recurrence at any length;
4. the residues by real least squares of the kernel against all ``L`` taps of ``h``.

:func:`hankel_singular_values` says how many modes a filter needs (how fast they fall), and
:class:`ModalFilter` is a :class:`~hyena_lab.filters.LongFilter` that evaluates a distilled bank,
to put in a :class:`~hyena_lab.operator.HyenaOperator` in place of its trained filters.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .checks import check_float, check_ndim, check_positive_float, check_positive_int
from .filters import LongFilter

__all__ = [
    "DEFAULT_HANKEL_SIZE", "MAX_RADIUS", "ModalFilter", "ModalSSM", "fit_modal", "hankel",
    "hankel_singular_values",
]  # fmt: skip

#: Largest side of the Hankel matrix the fit factorises (its SVD is ``O(size^3)`` per channel):
#: poles come from the first ``2 * size`` taps at most, residues from all ``L`` taps.
DEFAULT_HANKEL_SIZE = 128

#: Radius that a fitted pole is clamped to if it lies on or outside it: ``1 - 1e-4`` keeps every
#: mode decaying (time constant <= 10^4 steps) and is far from any pole a trained, windowed
#: filter needs.
MAX_RADIUS = 1.0 - 1e-4

_COMPLEX = {torch.float32: torch.complex64, torch.float64: torch.complex128}


@dataclass(frozen=True, eq=False)
class ModalSSM:
    """A bank of modal state-space models, one per channel (the distilled filters).

    Each channel holds ``modes`` complex slots: one per complex-conjugate pair (its residue
    counts both members, ``R = 2 R_pair``, so the pair's ``Re(R_pair lambda^t) + Re(conj(R_pair)
    conj(lambda)^t)`` is ``Re(R lambda^t)``), one per real pole, and unused slots (pole and
    residue 0) where a channel needs fewer. A real state of size ``order`` per channel therefore
    takes at most ``order`` complex slots, ``ceil(order / 2)`` when all poles pair up.

    Attributes:
        poles: ``lambda``, complex ``(channels, modes)``, ``|lambda| < 1``.
        residues: ``R``, complex ``(channels, modes)``, with the same dtype as ``poles``.
        order: the real state size per channel that was fitted (a conjugate pair counts two).
    """

    poles: torch.Tensor
    residues: torch.Tensor
    order: int

    def __post_init__(self) -> None:
        for name in ("poles", "residues"):
            t = getattr(self, name)
            if not isinstance(t, torch.Tensor) or t.dtype not in _COMPLEX.values():
                raise TypeError(f"{name} must be a complex64 or complex128 tensor, got "
                                f"{getattr(t, 'dtype', type(t).__name__)}")  # fmt: skip
            check_ndim(t, name, 2, "(channels, modes)")
        if self.residues.shape != self.poles.shape or self.residues.dtype != self.poles.dtype:
            raise ValueError(
                f"poles and residues must have one shape and dtype, got {tuple(self.poles.shape)} "
                f"{self.poles.dtype} and {tuple(self.residues.shape)} {self.residues.dtype}"
            )
        check_positive_int(self.order, "order")

    @property
    def channels(self) -> int:
        return self.poles.shape[0]

    @property
    def modes(self) -> int:
        """Complex slots per channel (``<= order``)."""
        return self.poles.shape[1]

    @property
    def dtype(self) -> torch.dtype:
        """The real dtype of the kernel and outputs (float64 for complex128 poles)."""
        return self.poles.real.dtype

    def to(self, dtype: torch.dtype | None = None, device: str | torch.device | None = None
           ) -> ModalSSM:  # fmt: skip
        """The same system in real ``dtype`` (float32 or float64: complex64 / complex128 poles)
        and/or on ``device``."""
        cdtype = self.poles.dtype if dtype is None else _COMPLEX.get(dtype)
        if cdtype is None:
            raise ValueError(f"dtype must be torch.float32 or torch.float64, got {dtype}")
        return ModalSSM(self.poles.to(device, cdtype), self.residues.to(device, cdtype),
                        self.order)  # fmt: skip

    def select(self, rows: slice) -> ModalSSM:
        """The systems of channels ``rows`` (e.g. one filter of a Hyena operator's bank)."""
        return ModalSSM(self.poles[rows], self.residues[rows], self.order)

    def powers(self, L: int) -> torch.Tensor:
        """``lambda^t`` for ``t = 0..L-1``, complex ``(channels, modes, L)``, in polar form
        (``|lambda|^t e^{i t angle}``: no accumulated round-off; ``0^0 = 1`` in unused slots)."""
        check_positive_int(L, "L")
        t = torch.arange(L, dtype=self.dtype, device=self.poles.device)
        return torch.polar(self.poles.abs()[..., None] ** t, self.poles.angle()[..., None] * t)

    def kernel(self, L: int) -> torch.Tensor:
        """The impulse response ``h[t] = sum_i Re(R_i lambda_i^t)``, real ``(channels, L)``."""
        return torch.einsum("cm,cml->cl", self.residues, self.powers(L)).real

    def init_state(self, batch: int) -> torch.Tensor:
        """The zero state ``s_{-1}``, complex ``(batch, channels, modes)``."""
        check_positive_int(batch, "batch")
        return torch.zeros(batch, self.channels, self.modes, dtype=self.poles.dtype,
                           device=self.poles.device)  # fmt: skip

    def state_after(self, u: torch.Tensor) -> torch.Tensor:
        """The state after reading ``u`` ``(batch, channels, T)`` from the zero state, in one
        pass: ``s_{T-1} = sum_s lambda^{T-1-s} u_s`` ``(batch, channels, modes)`` (what ``T``
        calls of :meth:`step` give, up to round-off)."""
        check_float(u, "u")
        check_ndim(u, "u", 3, "(batch, channels, T)")
        self._check_channels(u, "u")
        lags = self.powers(u.shape[-1]).flip(-1)  # (channels, modes, T): lambda^{T-1-s}
        return torch.einsum("bcs,cms->bcm", u.to(self.poles.dtype), lags)

    def step(self, state: torch.Tensor, u_t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One step of the recurrence: ``s_t = lambda * s_{t-1} + u_t``, ``y_t = Re(sum R s_t)``.

        ``state`` ``(batch, channels, modes)`` (from :meth:`init_state`), ``u_t`` real
        ``(batch, channels)``. Returns ``(y_t, s_t)``, ``y_t`` ``(batch, channels)`` in
        :attr:`dtype`. Run over ``t = 0..L-1`` it is the causal convolution of ``u`` with
        :meth:`kernel` ``(L)``, in ``O(modes)`` work per channel and step.
        """
        if not isinstance(state, torch.Tensor) or state.shape[1:] != self.poles.shape:
            raise ValueError(
                f"state must be (batch, {self.channels}, {self.modes}) from "
                f"init_state(batch), got {getattr(state, 'shape', state)}"
            )
        check_float(u_t, "u_t")
        if u_t.shape != state.shape[:2]:
            raise ValueError(f"u_t must have shape (batch, channels) = {tuple(state.shape[:2])}, "
                             f"got {tuple(u_t.shape)}")  # fmt: skip
        state = self.poles * state + u_t.to(state.dtype)[..., None]  # (batch, channels, modes)
        y = torch.einsum("cm,bcm->bc", self.residues, state).real
        return y, state

    def _check_channels(self, u: torch.Tensor, name: str) -> None:
        if u.shape[-2] != self.channels:
            raise ValueError(f"{name} must have {self.channels} channels in dim -2, got shape "
                             f"{tuple(u.shape)}")  # fmt: skip


def hankel(h: torch.Tensor, rows: int, cols: int) -> torch.Tensor:
    """``H[c, i, j] = h[c, i + j]``, ``(channels, rows, cols)``; needs ``rows + cols - 1 <= L``."""
    L = h.shape[-1]
    if rows + cols - 1 > L:
        raise ValueError(f"a {rows} x {cols} Hankel matrix needs {rows + cols - 1} taps, the "
                         f"filters have L={L}")  # fmt: skip
    return h.unfold(-1, cols, 1)[:, :rows]  # (channels, rows, cols)


def _check_filters(h: object) -> torch.Tensor:
    """``h`` as float64 ``(channels, L)``, or a clear error."""
    h = check_float(h, "h")
    check_ndim(h, "h", 2, "(channels, L)")
    if not torch.isfinite(h).all():
        raise ValueError("h holds non-finite values (inf or NaN); expected finite filter taps")
    return h.detach().to(torch.float64)


def _hankel_shape(L: int, size: int | None) -> tuple[int, int]:
    """Rows and columns of the fit's Hankel matrix: as square as ``L`` allows, capped at
    ``size`` columns (``size + 1`` rows, so that the shifted row blocks are ``size`` tall)."""
    size = DEFAULT_HANKEL_SIZE if size is None else check_positive_int(size, "size")
    cols = max(1, min(L // 2, size))
    return min(L - cols + 1, size + 1), cols


def hankel_singular_values(h: torch.Tensor, size: int | None = None) -> torch.Tensor:
    """Singular values of each filter's Hankel matrix, descending, float64 ``(channels, k)``.

    The number of values above the noise floor is the number of real state dimensions the
    filter needs (a pair of conjugate modes gives two): the Hankel matrix of a sum of ``r``
    such modes has rank ``r``. ``size`` caps its side (default :data:`DEFAULT_HANKEL_SIZE`);
    ``k = min(rows, cols)``, as for :func:`fit_modal`.
    """
    h = _check_filters(h)
    rows, cols = _hankel_shape(h.shape[-1], size)
    return torch.linalg.svdvals(hankel(h, rows, cols))


def _poles(h: torch.Tensor, order: int, rows: int, cols: int, max_radius: float) -> torch.Tensor:
    """Kung's method: ``order`` poles per channel, complex ``(channels, order)``."""
    U = torch.linalg.svd(hankel(h, rows, cols), full_matrices=False).U[..., :order]  # (c, rows, r)
    A = torch.linalg.lstsq(U[:, :-1], U[:, 1:], driver="gelsd").solution  # U[1:] = U[:-1] A
    lam = torch.linalg.eigvals(A)  # (channels, r): real, or conjugate pairs (real A)
    radius = lam.abs()
    scale = torch.where(radius >= max_radius, max_radius / radius.clamp_min(1e-300), 1.0)
    return lam * scale


def _one_per_pair(lam: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Keep one pole of each conjugate pair (``Im > 0``) and every real one, padded with unused
    slots: ``(poles, used)``, each ``(channels, modes)``."""
    keep = lam.imag >= 0  # LAPACK returns exact conjugates for a real matrix: one of each
    order = torch.argsort((~keep).to(torch.int8), dim=-1, stable=True)  # kept ones first
    lam, keep = lam.gather(-1, order), keep.gather(-1, order)
    modes = int(keep.sum(-1).max())
    return torch.where(keep, lam, 0)[:, :modes], keep[:, :modes]


def _residues(h: torch.Tensor, lam: torch.Tensor, used: torch.Tensor) -> torch.Tensor:
    """Least-squares residues, complex ``(channels, modes)``: ``h[t] ~ Re(sum R lambda^t)``.

    Real unknowns ``(Re R, Im R)`` against the columns ``Re(lambda^t)`` and ``-Im(lambda^t)``
    (zero for a real pole or an unused slot: the minimum-norm solution leaves those at 0).
    """
    L = h.shape[-1]
    V = ModalSSM(lam, torch.zeros_like(lam), 1).powers(L) * used[..., None]  # (c, m, L)
    basis = torch.cat([V.real, -V.imag], dim=1).transpose(1, 2)  # (channels, L, 2 modes)
    coef = torch.linalg.lstsq(basis, h[..., None], driver="gelsd").solution[..., 0]
    re, im = coef.split(lam.shape[-1], dim=-1)
    return torch.complex(re, torch.where(lam.imag == 0, 0.0, im)) * used


def fit_modal(
    h: torch.Tensor, order: int, *, size: int | None = None, max_radius: float = MAX_RADIUS
) -> ModalSSM:
    """Distil filters ``h`` ``(channels, L)`` into modal SSMs of real state size ``order``.

    Computed in float64 whatever the dtype of ``h`` (the result is complex128: ``.to(dtype)``
    converts it). ``order`` counts real state dimensions: a complex-conjugate pair of poles
    counts two, a real pole one, so an odd ``order`` is allowed and gives at least one real pole
    per channel. A filter that is exactly a sum of ``order`` such modes is recovered to round-off.

    Args:
        h: the filters, ``(channels, L)``, finite, ``L >= 2 * order``.
        order: real state size per channel, ``>= 1``.
        size: cap on the Hankel matrix's side (default :data:`DEFAULT_HANKEL_SIZE`); the poles
            are found from its ``rows + cols - 1`` first taps, so ``size >= order`` is needed.
        max_radius: poles with ``|lambda| >= max_radius`` are pulled onto that radius (``< 1``).

    Returns:
        a :class:`ModalSSM` whose :meth:`~ModalSSM.kernel` ``(L)`` approximates ``h``.
    """
    h = _check_filters(h)
    check_positive_int(order, "order")
    check_positive_float(max_radius, "max_radius")
    if max_radius >= 1:
        raise ValueError(f"max_radius must be < 1 (a stable recurrence), got {max_radius}")
    L = h.shape[-1]
    if L < 2 * order:
        raise ValueError(
            f"order={order} needs filters of length L >= 2 * order = {2 * order} "
            f"(a Hankel matrix of {order + 1} rows and {order} columns), got L={L}"
        )
    rows, cols = _hankel_shape(L, size)
    if cols < order:
        raise ValueError(f"size={size} gives a Hankel matrix of {cols} columns, fewer than "
                         f"order={order}; use size >= order")  # fmt: skip
    lam, used = _one_per_pair(_poles(h, order, rows, cols, max_radius))
    return ModalSSM(lam, _residues(h, lam, used), order)


class ModalFilter(LongFilter):
    """A distilled filter bank as a :class:`~hyena_lab.filters.LongFilter`: ``forward(L)`` is
    ``ssm.kernel(L)`` ``(channels, L)``, in the dtype of the module (``.double()`` works).

    Poles and residues are stored as real buffers ``(channels, modes, 2)`` (real and imaginary
    parts), so that ``module.to(dtype)`` converts them instead of dropping imaginary parts.
    """

    def __init__(self, ssm: ModalSSM, l_max: int) -> None:
        if not isinstance(ssm, ModalSSM):
            raise TypeError(f"ssm must be a ModalSSM (from fit_modal), got {type(ssm).__name__}")
        super().__init__(ssm.channels, l_max)
        self.order = ssm.order
        self.register_buffer("poles_ri", torch.view_as_real(ssm.poles).clone())
        self.register_buffer("residues_ri", torch.view_as_real(ssm.residues).clone())

    @property
    def ssm(self) -> ModalSSM:
        """The modal systems, in the dtype of the buffers."""
        return ModalSSM(
            torch.view_as_complex(self.poles_ri.contiguous()),
            torch.view_as_complex(self.residues_ri.contiguous()),
            self.order,
        )

    def forward(self, L: int) -> torch.Tensor:
        """The distilled filters ``(channels, L)``."""
        return self.ssm.kernel(self.check_length(L))

    def extra_repr(self) -> str:
        return f"channels={self.channels}, l_max={self.l_max}, order={self.order}"
