"""The seeded examples that chapters 01 (Sec. 2.1) and 02 (Sec. 3.1-3.2, App. D.1) draw and
assert on: filters, inputs, a small operator, an attention matrix, and matrices read off them.
Everything is built from its arguments and a seed; the global torch RNG is left as it was.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from ..checks import check_float, check_ndim, check_positive_float, check_positive_int
from ..mixers import causal_softmax
from ..operator import HyenaOperator
from .matrix_costs import seeded_operator

__all__ = [
    "DEMO_D_MODEL", "DEMO_L_MAX", "FILTER_KINDS", "PARAM_MEANING", "PATTERNS",
    "causal_attention_matrix", "demo_operator", "example_filter", "make_input", "matrix_of",
    "probe_input", "random_qk_weights", "toeplitz_deviation",
]  # fmt: skip

#: The filter shapes of chapter 01's explorer, in the order of its drop-down menu.
FILTER_KINDS: tuple[str, ...] = ("exponential decay", "delay (shifted impulse)", "moving average",
                                 "random")  # fmt: skip
#: What the single numeric parameter of :func:`example_filter` means for each filter kind.
PARAM_MEANING: dict[str, str] = {
    "exponential decay": "tau: decay time constant (steps, > 0)",
    "delay (shifted impulse)": "shift: delay (whole steps, 0 <= shift <= L - 1)",
    "moving average": "width: window length (whole steps, 1 <= width <= L)",
    "random": "tau: time constant of the exp(-t/tau) window (steps, > 0)",
}
#: Input patterns of chapter 02's widget, in the order of its drop-down menu.
PATTERNS: tuple[str, ...] = ("random", "step", "repeated token")
#: Width and longest sequence of chapter 02's widget operator (small: ``A(u)`` is dense).
DEMO_D_MODEL = 8
DEMO_L_MAX = 64


def _generator(seed: int) -> torch.Generator:
    """A CPU generator seeded with ``seed`` (an int >= 0), leaving the global RNG alone."""
    return torch.Generator().manual_seed(check_positive_int(seed, "seed", minimum=0))


def _whole_steps(param: float, name: str, lo: int, hi: int) -> int:
    """``param`` as an int in ``[lo, hi]``; a ``ValueError`` names the range otherwise."""
    value = float(param)
    if not math.isfinite(value) or not value.is_integer() or not lo <= value <= hi:
        raise ValueError(f"{name} must be a whole number of steps in [{lo}, {hi}] for this L, "
                         f"got {param!r}")
    return int(value)


def example_filter(kind: str, L: int, param: float, *, seed: int = 0) -> torch.Tensor:
    """A causal filter ``h`` of one of the :data:`FILTER_KINDS`, float64 ``(L,)``.

    ``param`` (:data:`PARAM_MEANING`): ``tau`` of ``h_t = exp(-t / tau)`` (the recurrence
    ``y_t = exp(-1/tau) y_{t-1} + u_t``, a tiny SSM), the ``shift`` of a delay, the ``width`` of
    a moving average, or the ``tau`` of the window on i.i.d. normal taps from ``seed`` (as Hyena
    windows its filters, Sec. 3.3). ``ValueError`` / ``TypeError`` for bad values.
    """
    if kind not in FILTER_KINDS:
        raise ValueError(f"unknown filter kind {kind!r}; expected one of {list(FILTER_KINDS)}")
    L = check_positive_int(L, "L")
    g = _generator(seed)
    if isinstance(param, bool) or not isinstance(param, (int, float)):
        raise TypeError(f"param must be a number ({PARAM_MEANING[kind]}), got {param!r}")
    t = torch.arange(L, dtype=torch.float64)  # lags 0 .. L-1
    if kind == "delay (shifted impulse)":
        return (t == _whole_steps(param, "shift", 0, L - 1)).to(torch.float64)
    if kind == "moving average":
        width = _whole_steps(param, "width", 1, L)
        return (t < width).to(torch.float64) / width
    which = "decay" if kind == "exponential decay" else "window"
    window = torch.exp(-t / check_positive_float(param, f"tau (the {which} time constant)"))
    if kind == "exponential decay":
        return window
    return torch.randn(L, generator=g, dtype=torch.float64) * window


def probe_input(L: int) -> torch.Tensor:
    """The explorer's input ``u``, float64 ``(L,)``: ones on the first ``max(1, L // 4)`` steps
    (an edge, to smooth and delay) and, for ``L >= 4``, a unit impulse at ``L // 2``."""
    u = torch.zeros(check_positive_int(L, "L"), dtype=torch.float64)
    u[: max(1, L // 4)] = 1.0
    if L >= 4:
        u[L // 2] = 1.0
    return u


def matrix_of(conv: Callable[[torch.Tensor], torch.Tensor], L: int) -> torch.Tensor:
    """The ``(L, L)`` float64 matrix ``M`` of a linear map of sequences, ``conv(u) == M @ u``.

    Column ``s`` is the response to a unit impulse at ``s``; ``conv`` maps ``(batch, 1, L)`` to
    ``(batch, 1, L)``, e.g. ``lambda u: fftconv(u, h[None])``, whose matrix is ``S_h``.
    """
    L = check_positive_int(L, "L")
    out = conv(torch.eye(L, dtype=torch.float64)[:, None, :])  # out[s, 0, t]: impulse at s
    if not isinstance(out, torch.Tensor) or out.shape != (L, 1, L):
        got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(f"conv must map (batch, 1, L) to (batch, 1, L) with L={L}, got {got}")
    return out[:, 0, :].T.contiguous()  # M[t, s]


def make_input(pattern: str, seq_len: int, d_model: int, seed: int = 0) -> torch.Tensor:
    """An input ``u`` ``(1, seq_len, d_model)``, float64, of one of :data:`PATTERNS`.

    ``"random"``: i.i.d. normal features; ``"step"``: zero, then from ``seq_len // 2`` on one
    random vector (``A(u)`` changes there); ``"repeated token"``: one random vector everywhere
    (after the short filter's warm-up the gates are constant: ``A(u)`` is Toeplitz).
    """
    if pattern not in PATTERNS:
        raise ValueError(f"unknown input pattern {pattern!r}; expected one of {list(PATTERNS)}")
    L = check_positive_int(seq_len, "seq_len")
    d = check_positive_int(d_model, "d_model")
    g = _generator(seed)
    if pattern == "random":
        return torch.randn(1, L, d, generator=g, dtype=torch.float64)
    u = torch.randn(d, generator=g, dtype=torch.float64).expand(1, L, d).clone()  # (1, L, d)
    if pattern == "step":
        u[:, : L // 2] = 0.0
    return u


def demo_operator(order: int, *, d_model: int = DEMO_D_MODEL, l_max: int = DEMO_L_MAX,
                  seed: int = 0, **kwargs: Any) -> HyenaOperator:  # fmt: skip
    """Chapter 02's operator: :func:`~hyena_lab.experiments.matrix_costs.seeded_operator`
    (float64, seeded); ``kwargs`` go to the constructor (e.g. ``identity_first=True``)."""
    return seeded_operator(order, d_model=d_model, l_max=l_max, seed=seed, **kwargs)


def random_qk_weights(
    d_model: int, d_k: int | None = None, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Random ``W_q, W_k``, each ``(d_model, d_k)`` float64 with i.i.d. ``N(0, 1/d_model)``
    entries (unit-variance ``u W`` for unit-variance ``u``), drawn from ``seed``."""
    d = check_positive_int(d_model, "d_model")
    d_k = d if d_k is None else check_positive_int(d_k, "d_k")
    g = _generator(seed)
    W_q = torch.randn(d, d_k, generator=g, dtype=torch.float64) / math.sqrt(d)
    W_k = torch.randn(d, d_k, generator=g, dtype=torch.float64) / math.sqrt(d)
    return W_q, W_k


def causal_attention_matrix(
    u: torch.Tensor, *, d_k: int | None = None, seed: int = 0
) -> torch.Tensor:
    """``softmax(Q K^T / sqrt(d_k) + M)`` ``(L, L)`` of one untrained head for ``u``
    ``(1, L, d_model)`` or ``(L, d_model)``, in ``u``'s dtype: ``Q = u W_q``, ``K = u W_k``
    (:func:`random_qk_weights`), ``M`` the causal mask. Drawn beside ``A(u)`` (App. D.1)."""
    check_float(u, "u")
    check_ndim(u, "u", (2, 3), "(1, seq_len, d_model) or (seq_len, d_model)")
    if u.ndim == 3 and u.shape[0] != 1:
        raise ValueError(f"causal_attention_matrix takes one sequence (1, seq_len, d_model), "
                         f"got {tuple(u.shape)}; select one with u[i:i+1]")
    u = u.reshape(u.shape[-2:])  # (L, d)
    W_q, W_k = random_qk_weights(u.shape[1], d_k, seed)
    x = u.detach().to(torch.float64)  # (L, d)
    scores = (x @ W_q) @ (x @ W_k).T / math.sqrt(W_q.shape[1])  # (L, L): q_t . k_s / sqrt(d_k)
    return causal_softmax(scores).to(u.dtype)


def toeplitz_deviation(M: torch.Tensor) -> float:
    """``max |M[t+1, s+1] - M[t, s]| / max |M|`` of a square ``(L, L)``: 0 for a Toeplitz
    (shift-invariant) matrix such as ``S_h``; ``A(u)`` is one only where the gates are constant."""
    check_float(M, "M")
    check_ndim(M, "M", 2, "(L, L)")
    if M.shape[0] != M.shape[1]:
        raise ValueError(f"M must be square (L, L), got shape {tuple(M.shape)}")
    M = M.detach().to(torch.float64)
    scale = float(M.abs().max())
    if M.shape[0] < 2 or scale == 0.0:
        return 0.0
    return float((M[1:, 1:] - M[:-1, :-1]).abs().max()) / scale
