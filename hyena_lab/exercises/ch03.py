"""Chapter 3's exercises (implicit filters, Sec. 3.3 and App. D.3, and the SSM lineage): the
positional encoding, where each channel's decay window reaches its target, an S4D kernel."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from ..filters import ExponentialModulation, PositionalEncoding, SSMFilter
from ..filters import seeded as seeded_rng
from .feedback import Case, Exercise, checker, close

#: Tolerance of a positional encoding against the module's float32 one (the student may use
#: float64, or cos/sin instead of exp of a complex product): the phases f w reach 2 pi (K - 1)
#: ~ 19 at K = 4 bands and carry an absolute error ~ 19 eps32 / 2 ~ 1e-6; 1e-5 covers it, while a
#: wrong frequency or sign changes the entries by O(0.1).
PE_TOLERANCE = 1e-5


def solution_positional_encoding(L: int, emb_dim: int) -> torch.Tensor:
    """``PE = [t, Re rho_0..rho_{K-1}, Im rho_0..rho_{K-1}]``, ``(L, emb_dim)`` (App. D.3):
    ``t`` in ``[0, 1]``, ``rho_k = exp(-i f_k w)``, ``w = 2 pi n / L`` at position ``n``,
    ``K = (emb_dim - 1) / 2`` frequencies ``f = linspace(1e-4, K - 1, K)`` (official code)."""
    bands = (emb_dim - 1) // 2
    t = torch.linspace(0, 1, L)[:, None]  # (L, 1)
    w = 2 * math.pi * torch.arange(L, dtype=torch.float32)[:, None] / L  # (L, 1)
    f = torch.linspace(1e-4, bands - 1, bands)[None, :]  # (1, K)
    rho = torch.exp(-1j * f * w)  # (L, K) complex
    return torch.cat([t, rho.real, rho.imag], dim=-1)


@checker("fn(L, emb_dim) -> z")
def check_positional_encoding(fn: Callable[[int, int], torch.Tensor]) -> str:
    """Check ``fn(L, emb_dim)`` against :class:`hyena_lab.filters.PositionalEncoding`."""
    for L, emb_dim in ((16, 3), (33, 7), (64, 9)):
        case = Case(f"L={L}, emb_dim={emb_dim}")
        z = case.tensor(case.call(fn, L, emb_dim), (L, emb_dim), "z").double()
        ref = PositionalEncoding(emb_dim, L, learnable=False).z.double()
        K = (emb_dim - 1) // 2
        if not case.expect(z, ref, {
            # t in [0, 1]: float32 ~ 1e-7
            "column 0 must be t = linspace(0, 1, L)":
                not torch.allclose(z[:, 0], ref[:, 0], atol=1e-6),
            "the imaginary part has the wrong sign: rho = exp(-i f w)":
                close(z[:, 1 + K :], -ref[:, 1 + K :], PE_TOLERANCE),
            # f_0 = 0 instead of 1e-4 moves Re rho by ~(1e-4 w)^2 ~ 1e-7 (Im by ~1e-4 w): so 1e-3
            # on the Re columns tells that mistake (below) from a wrong layout or frequency grid
            "columns 1..K must be Re rho_k = cos(f_k w), then K columns Im rho_k; with "
            "f = linspace(1e-4, K - 1, K) and w = 2 pi n / L":
                not close(z[:, 1 : 1 + K], ref[:, 1 : 1 + K], 1e-3),
        }, PE_TOLERANCE):  # fmt: skip
            raise case.fail(
                "the imaginary columns differ: the first frequency is 1e-4, not 0 "
                "(f = linspace(1e-4, K - 1, K)), and w = 2 pi n / L"
            )
    return "equals PositionalEncoding(emb_dim, L).z: [t, Re rho, Im rho] for K = 1, 3, 4 bands"


def solution_decay_fraction(
    c: int, channels: int, fast_decay_pct: float = 0.3, slow_decay_pct: float = 1.5
) -> float:
    """Fraction of the sequence at which channel ``c`` of the window (eq. 7) reaches ``target``:
    the rates ``delta_c = log(target) / pct`` are spaced *linearly* in ``c`` (slow at channel 0),
    so ``t_c = log(target) / delta_c`` runs harmonically between the two fractions."""
    share = c / (channels - 1) if channels > 1 else 0.0
    return 1.0 / (1.0 / slow_decay_pct + share * (1.0 / fast_decay_pct - 1.0 / slow_decay_pct))


@checker("fn(c, channels, fast_decay_pct, slow_decay_pct) -> fraction")
def check_decay_fraction(fn: Callable[[int, int, float, float], float]) -> str:
    """Check ``fn(c, channels, fast_decay_pct, slow_decay_pct)`` against the filter's window."""
    for channels, fast, slow in ((8, 0.3, 1.5), (5, 0.1, 0.5), (64, 0.3, 1.5), (1, 0.3, 1.5)):
        modulation = ExponentialModulation(channels, fast, slow, target=1e-2).double()
        for c in sorted({0, channels // 3, channels - 1}):
            case = Case(f"c={c}, channels={channels}, fast={fast}, slow={slow}")
            got = case.number(case.call(fn, c, channels, fast, slow), "a fraction (a float)")
            # the window itself at the claimed time: it must equal target there
            value = float(modulation.window(torch.tensor([[got]], dtype=torch.float64))[0, c])
            # float64 round-off moves the window by ~1e-15; a wrong t_c by O(10%) moves it O(1)
            if not math.isclose(value, 1e-2, rel_tol=1e-4):
                share = c / (channels - 1) if channels > 1 else 0.0
                case.diagnose({
                    "the fractions are not spaced linearly, the rates delta_c are: t_c = "
                    "log(target) / delta_c, a harmonic interpolation":
                        math.isclose(got, slow + share * (fast - slow), rel_tol=1e-6),
                    f"at t = {got:.4g} the window of channel {c} is {value:.3g}, not 0.01": True,
                })  # fmt: skip
    return (
        "exp(-|delta_c| t_c) = target at your t_c for every channel tried: t_c runs "
        "harmonically from slow_decay_pct (channel 0) to fast_decay_pct (last channel)"
    )


def solution_s4d_kernel(A: torch.Tensor, C: torch.Tensor, dt: torch.Tensor, L: int) -> torch.Tensor:
    """The S4D kernel ``K_t = 2 Re sum_n C_n B_bar_n A_bar_n^t``, ``(channels, L)``, of the diagonal
    systems ``A``, ``C`` ``(channels, modes)`` complex, ``B = 1``, steps ``dt`` ``(channels,)``;
    zero-order hold, and the factor 2 adds the conjugate modes (a real system)."""
    dtA = dt[:, None] * A  # (channels, modes)
    B_bar = torch.expm1(dtA) / A  # ZOH with B = 1
    t = torch.arange(L, dtype=dt.dtype)
    powers = torch.exp(dtA[..., None] * t)  # A_bar^t, (channels, modes, L): a Vandermonde matrix
    return 2 * torch.einsum("cm,cml->cl", C * B_bar, powers).real


def s4d_system() -> tuple[SSMFilter, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The checker's seeded float64 SSMFilter (3 channels, 4 complex modes), its ``A``, ``C``
    (complex, ``(channels, modes)``) and ``dt`` ``(channels,)``."""
    with seeded_rng(3):
        filt = SSMFilter(3, 40, d_state=8, dt_min=0.01, dt_max=0.5).double()
    with torch.no_grad():
        A = torch.complex(-torch.exp(filt.log_A_real), filt.A_imag)
        return filt, A, torch.view_as_complex(filt.C.contiguous()), torch.exp(filt.log_dt)


@checker("fn(A, C, dt, L) -> K")
def check_s4d_kernel(fn: Callable[..., torch.Tensor]) -> str:
    """Check ``fn(A, C, dt, L)`` against the SSM run step by step on an impulse (SSMFilter)."""
    filt, A, C, dt = s4d_system()
    for L in (7, 40, 1):
        case = Case(f"L={L}, {A.shape[0]} channels, {A.shape[1]} modes")
        impulse = torch.zeros(3, L, dtype=torch.float64)
        impulse[:, 0] = 1.0
        with torch.no_grad():
            ref = filt.recurrence(impulse)  # the impulse response IS the kernel
        K = case.tensor(case.call(fn, A, C, dt, L), (3, L), "K")
        powers = torch.exp((dt[:, None] * A)[..., None] * torch.arange(L, dtype=dt.dtype))
        euler = 2 * torch.einsum("cm,cml->cl", C * dt[:, None], powers).real  # B_bar = dt
        # The last two mistakes are recognised within 1e-6, looser than EXACT: the student may
        # reach them by another route (a loop), and on these inputs they differ from the right
        # kernel by > 3e-2 (tested), so 1e-6 cannot mistake a right answer for them.
        if not case.expect(K, ref, {
            "off by a factor 2: K_t = 2 Re(...) counts the conjugate modes": close(2 * K, ref),
            "B_bar = dt * B is the Euler step; zero-order hold integrates exactly: "
            "B_bar = (exp(dt A) - 1) / A * B": close(K, euler, 1e-6),
            "shifted by one step: K_0 = 2 Re(C B_bar), t starts at 0":
                L > 1 and close(K[:, :-1], ref[:, 1:], 1e-6),
        }):  # fmt: skip
            raise case.mismatch(K, ref)
    return (
        "matches the impulse response of x_t = A_bar x_(t-1) + B_bar u_t, y_t = 2 Re(C x_t) "
        "(SSMFilter.recurrence) at L = 7, 40, 1: an SSM is a long convolution"
    )


#: Chapter 3's exercises in the order the chapter poses them.
EXERCISES = (
    Exercise("positional_encoding", 3, "the positional encoding of the implicit filter",
             solution_positional_encoding, check_positional_encoding),
    Exercise("decay_fraction", 3, "where each channel's window reaches its target",
             solution_decay_fraction, check_decay_fraction),
    Exercise("s4d_kernel", 3, "an S4D kernel in closed form (ZOH)",
             solution_s4d_kernel, check_s4d_kernel),
)  # fmt: skip
