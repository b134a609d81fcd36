"""Chapter 2: the inputs and the attention matrix (hyena_lab.experiments.examples), the figures
that show D_x, S_h and A(u) (hyena_lab.viz.matrices), the widget's errors for bad values, and the
tables and figure of the cost records (the measurement itself: tests/test_matrix_costs.py)."""

import json
import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from matplotlib.figure import Figure

from hyena_lab import toeplitz
from hyena_lab.checks import F64_SAME_ALGEBRA
from hyena_lab.experiments.examples import (
    DEMO_D_MODEL,
    DEMO_L_MAX,
    PATTERNS,
    causal_attention_matrix,
    demo_operator,
    make_input,
    random_qk_weights,
    toeplitz_deviation,
)
from hyena_lab.roofline import fft_flops
from hyena_lab.viz import load_data
from hyena_lab.viz.matrices import (
    MAX_ORDER,
    RECORD_LENGTHS,
    RECORD_NAME,
    complexity_figure,
    complexity_table,
    count_matrix_costs,
    hyena_matrices_controls,
    hyena_matrices_figure,
    matrices_figure,
    patterns_figure,
)

from .helpers import rel_err

pytestmark = pytest.mark.usefixtures("one_thread")


def _plot_axes(fig: Figure) -> list:
    """The heat-map axes of a figure (colour bars excluded), row by row."""
    return [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]


def _assert_labelled(fig: Figure) -> None:
    assert isinstance(fig, Figure)
    for ax in _plot_axes(fig):
        assert ax.get_xlabel().strip() and ax.get_ylabel().strip(), ax.get_title()
        assert ax.get_title().strip()


def _image(ax) -> torch.Tensor:
    """The matrix drawn by ``matrix_heatmap`` on ``ax``."""
    return torch.from_numpy(ax.images[0].get_array().data.copy())


# ---------------------------------------------------------------------------------- make_input


@given(
    pattern=st.sampled_from(PATTERNS),
    L=st.one_of(st.just(1), st.integers(2, 70)),
    d=st.integers(1, 9),
    seed=st.integers(0, 1000),
)
def test_make_input_shapes_patterns_and_determinism(pattern, L, d, seed):
    u = make_input(pattern, L, d, seed)
    assert u.shape == (1, L, d) and u.dtype == torch.float64
    assert torch.equal(u, make_input(pattern, L, d, seed))  # same seed, same tensor
    if pattern == "step":
        assert torch.equal(u[0, : L // 2], torch.zeros(L // 2, d, dtype=torch.float64))
        assert torch.equal(u[0, L // 2 :], u[0, -1].expand(L - L // 2, d))
        assert u[0, -1].abs().sum() > 0
    if pattern == "repeated token":
        assert torch.equal(u[0], u[0, 0].expand(L, d))


def test_make_input_random_depends_on_seed():
    assert not torch.equal(make_input("random", 16, 4, 0), make_input("random", 16, 4, 1))


@pytest.mark.parametrize(
    ("args", "exc", "match"),
    [
        (("noise", 8, 4), ValueError, r"unknown input pattern 'noise'.*random"),
        (("random", 0, 4), ValueError, "seq_len must be >= 1"),
        (("random", 8.0, 4), TypeError, "seq_len must be an int"),
        (("step", 8, 0), ValueError, "d_model must be >= 1"),
        (("random", 8, 4, -1), ValueError, "seed must be >= 0"),
    ],
)
def test_make_input_bad_values(args, exc, match):
    with pytest.raises(exc, match=match):
        make_input(*args)


# ------------------------------------------------------------------------------ demo_operator


def test_demo_operator_is_seeded_float64_and_leaves_the_global_rng_alone():
    state = torch.random.get_rng_state()
    a, b = demo_operator(2, seed=3), demo_operator(2, seed=3)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert a.in_proj.weight.dtype == torch.float64 and a.order == 2
    for (name, p), q in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(p, q), name
    assert not torch.equal(a.in_proj.weight, demo_operator(2, seed=4).in_proj.weight)
    assert demo_operator(3, identity_first=True).identity_first
    assert (a.d_model, a.l_max) == (DEMO_D_MODEL, DEMO_L_MAX)  # the widget's width and length


def test_the_moved_names_are_still_importable_from_here():
    """The measurement moved to hyena_lab.experiments.matrix_costs, the inputs, operator and
    attention matrix to hyena_lab.experiments.examples; their names stay here too."""
    from hyena_lab.experiments import examples, matrix_costs
    from hyena_lab.viz import matrices

    for name in ("RECORD_NAME", "RECORD_LENGTHS", "DEMO_FILTER_ARGS", "count_matrix_costs"):
        assert getattr(matrices, name) is getattr(matrix_costs, name), name
    moved = [(matrix_costs, ("measure_matrix_costs", "record_matrix_costs")),
             (examples, ("DEMO_D_MODEL", "DEMO_L_MAX", "PATTERNS", "causal_attention_matrix",
                         "demo_operator", "make_input", "random_qk_weights",
                         "toeplitz_deviation"))]  # fmt: skip
    for module, names in moved:  # not drawing: deprecated here
        for name in names:
            with pytest.warns(DeprecationWarning, match=f"moved to {module.__name__}.{name}"):
                assert getattr(matrices, name) is getattr(module, name), name


# ----------------------------------------------------------------------- the attention matrix


@given(L=st.one_of(st.just(1), st.integers(2, 40)), d=st.integers(1, 8), seed=st.integers(0, 99))
def test_attention_matrix_equals_sdpa_with_identity_values(L, d, seed):
    """softmax(QK^T/sqrt(d) + mask) @ I is the matrix itself: an independent reference."""
    u = make_input("random", L, d, seed)
    P = causal_attention_matrix(u, seed=seed)
    W_q, W_k = random_qk_weights(d, seed=seed)
    q, k = (u[0] @ W_q)[None], (u[0] @ W_k)[None]  # (1, L, d)
    eye = torch.eye(L, dtype=torch.float64)[None]
    ref = F.scaled_dot_product_attention(q, k, eye, is_causal=True)[0]
    assert P.shape == (L, L)
    assert rel_err(P, ref) < F64_SAME_ALGEBRA
    assert torch.equal(P, torch.tril(P)) and (P >= 0).all()
    assert torch.allclose(P.sum(-1), torch.ones(L, dtype=torch.float64), atol=F64_SAME_ALGEBRA)


def test_attention_of_a_repeated_token_averages_uniformly():
    L = 12
    P = causal_attention_matrix(make_input("repeated token", L, 5, 2), seed=7)
    uniform = torch.tril(torch.ones(L, L, dtype=torch.float64)) / torch.arange(1, L + 1)[:, None]
    assert rel_err(P, uniform) < F64_SAME_ALGEBRA


def test_attention_is_causal_future_inputs_do_not_change_past_rows():
    u = make_input("random", 20, 4, 1)
    u2 = u.clone()
    u2[:, 13:] += 3.0
    P, P2 = causal_attention_matrix(u), causal_attention_matrix(u2)
    assert torch.equal(P[:13], P2[:13]) and not torch.allclose(P[13:], P2[13:])


def test_attention_accepts_2d_input_and_d_k():
    u = make_input("random", 9, 6, 0)
    assert torch.equal(causal_attention_matrix(u), causal_attention_matrix(u[0]))
    assert random_qk_weights(6, 3)[0].shape == (6, 3)
    assert causal_attention_matrix(u, d_k=3).shape == (9, 9)


@pytest.mark.parametrize(
    ("u", "kw", "exc", "match"),
    [
        (torch.randn(2, 5, 3), {}, ValueError, "one sequence"),
        (torch.randn(5), {}, ValueError, r"\(1, seq_len, d_model\)"),
        (torch.ones(1, 5, 3, dtype=torch.int64), {}, TypeError, "floating"),
        (torch.randn(1, 5, 3), {"d_k": 0}, ValueError, "d_k must be >= 1"),
    ],
)
def test_attention_bad_inputs(u, kw, exc, match):
    with pytest.raises(exc, match=match):
        causal_attention_matrix(u, **kw)


# --------------------------------------------------------------------------- toeplitz_deviation


def test_toeplitz_deviation():
    h = torch.randn(10, dtype=torch.float64)
    assert toeplitz_deviation(toeplitz(h)) < 1e-15
    M = toeplitz(h)
    M[5, 2] += 1.0  # one cell breaks shift invariance
    assert toeplitz_deviation(M) > 0.1
    assert toeplitz_deviation(torch.zeros(3, 3)) == 0.0
    assert toeplitz_deviation(torch.ones(1, 1)) == 0.0
    with pytest.raises(ValueError, match="square"):
        toeplitz_deviation(torch.zeros(3, 4))


def test_repeated_token_makes_A_toeplitz_after_the_short_filter_warm_up():
    """Constant input -> constant gates for t >= short_filter_order - 1 -> A(u) shift invariant."""
    for order in (1, 2, 3):
        op = demo_operator(order)
        with torch.no_grad():
            A = op.materialize(make_input("repeated token", 40, DEMO_D_MODEL, 1))
            A_random = op.materialize(make_input("random", 40, DEMO_D_MODEL, 1))
        w = op.short_filter_order - 1
        for c in range(DEMO_D_MODEL):
            assert toeplitz_deviation(A[c, w:, w:]) < F64_SAME_ALGEBRA
            assert toeplitz_deviation(A_random[c, w:, w:]) > 1e-2


# ---------------------------------------------------------------------------------- the figures


@pytest.mark.parametrize(("order", "L", "identity_first"), [(1, 1, False), (2, 17, False),
                                                            (3, 24, True)])
def test_matrices_figure_draws_the_factors_and_their_product(order, L, identity_first):
    op = demo_operator(order, identity_first=identity_first)
    u = make_input("random", L, DEMO_D_MODEL, 5)
    c = DEMO_D_MODEL - 1
    fig = matrices_figure(op, u, c, seed=2)
    _assert_labelled(fig)
    axes = _plot_axes(fig)
    assert len(axes) == 2 * (order + 1)
    top, bottom = axes[: order + 1], axes[order + 1 :]
    with torch.no_grad():
        m = op.matrices(u)
        A = op.materialize(u)
    for n in range(order):
        assert torch.equal(_image(top[n]), m.S_h[n][c])
        assert torch.equal(_image(bottom[n]), torch.diag(m.D_x[n][c]))
    assert torch.equal(_image(top[order]), A[c])
    assert torch.equal(_image(bottom[order]), causal_attention_matrix(u, seed=2))
    assert ("identity" in top[0].get_title()) == identity_first
    for n in range(order):  # titles numbered in the order the factors act on v
        assert top[n].get_title().startswith(f"({2 * n + 1}) ")
        assert bottom[n].get_title().startswith(f"({2 * n + 2}) ")
    assert f"({2 * order})" in top[order].get_title()


def test_patterns_figure_shows_one_operator_on_three_inputs():
    op = demo_operator(2)
    fig = patterns_figure(op, 3, 20, seed=1)
    _assert_labelled(fig)
    axes = _plot_axes(fig)
    assert len(axes) == 2 * len(PATTERNS)
    with torch.no_grad():
        for j, pattern in enumerate(PATTERNS):
            u = make_input(pattern, 20, DEMO_D_MODEL, 1)
            assert torch.equal(_image(axes[j]), op.materialize(u)[3]), pattern
            assert pattern in axes[j].get_title()


def test_widget_figure_is_deterministic_and_matches_its_parts():
    fig = hyena_matrices_figure(order=2, channel=1, seq_len=9, pattern="step", seed=4)
    _assert_labelled(fig)
    A_drawn = _image(_plot_axes(fig)[2])
    with torch.no_grad():
        A = demo_operator(2, seed=4).materialize(make_input("step", 9, DEMO_D_MODEL, 4))[1]
    assert torch.equal(A_drawn, A)
    again = _image(_plot_axes(hyena_matrices_figure(2, 1, 9, "step", seed=4))[2])
    assert torch.equal(A_drawn, again)


@pytest.mark.parametrize(("order", "L"), [(1, 1), (3, 1), (MAX_ORDER, DEMO_L_MAX)])
def test_widget_figure_at_the_extreme_orders_and_lengths(order, L):
    fig = hyena_matrices_figure(order, DEMO_D_MODEL - 1, L, "repeated token")
    assert len(_plot_axes(fig)) == 2 * (order + 1)


@pytest.mark.parametrize(
    ("kw", "exc", "match"),
    [
        ({"order": 0}, ValueError, r"order must be in \[1, 4\]"),
        ({"order": MAX_ORDER + 1}, ValueError, r"order must be in \[1, 4\]"),
        ({"order": True}, TypeError, "order must be an int"),
        ({"order": 2.0}, TypeError, "order must be an int"),
        ({"channel": -1}, ValueError, r"channel must be in \[0, 7\]"),
        ({"channel": DEMO_D_MODEL}, ValueError, r"channel must be in \[0, 7\]"),
        ({"seq_len": 0}, ValueError, r"seq_len must be in \[1, 64\]"),
        ({"seq_len": DEMO_L_MAX + 1}, ValueError, r"seq_len must be in \[1, 64\].*l_max"),
        ({"seq_len": "32"}, TypeError, "seq_len must be an int"),
        ({"pattern": "ramp"}, ValueError, r"unknown input pattern 'ramp'"),
        ({"seed": -3}, ValueError, "seed must be >= 0"),
    ],
)
def test_widget_figure_bad_values(kw, exc, match):
    with pytest.raises(exc, match=match):
        hyena_matrices_figure(**kw)


def test_figure_bad_operator_inputs():
    op = demo_operator(2)
    with pytest.raises(ValueError, match="one sequence"):
        matrices_figure(op, make_input("random", 8, DEMO_D_MODEL).expand(2, 8, DEMO_D_MODEL), 0)
    with pytest.raises(ValueError, match="exceeds l_max"):
        matrices_figure(op, make_input("random", DEMO_L_MAX + 1, DEMO_D_MODEL), 0)
    with pytest.raises(ValueError, match=r"channel must be in \[0, 7\]"):
        matrices_figure(op, make_input("random", 8, DEMO_D_MODEL), 8)
    with pytest.raises(ValueError, match=r"seq_len must be in \[1, 64\]"):
        patterns_figure(op, 0, 65)


def test_controls_cover_the_valid_ranges_and_drive_the_figure():
    controls = hyena_matrices_controls()
    assert set(controls) == {"order", "channel", "seq_len", "pattern"}
    assert (controls["order"].min, controls["order"].max) == (1, MAX_ORDER)
    assert (controls["channel"].min, controls["channel"].max) == (0, DEMO_D_MODEL - 1)
    assert (controls["seq_len"].min, controls["seq_len"].max) == (1, DEMO_L_MAX)
    assert tuple(controls["pattern"].options) == PATTERNS
    fig = hyena_matrices_figure(**{k: w.value for k, w in controls.items()})
    assert isinstance(fig, Figure)


# ----------------------------------------------------------------------------------- the costs


def test_complexity_table_one_line_per_length():
    recorded = load_data(RECORD_NAME)
    lines = complexity_table(recorded).splitlines()
    assert len(lines) == 2 + len(RECORD_LENGTHS) and lines[0].split()[0] == "L"
    assert "168.466 ms" in lines[2 + 3]  # L = 512: the materialisation, in ms
    assert lines[-1].split()[0] == "16384" and "skipped" in lines[-1]  # dense path not timed
    assert "8192.00 MiB" in lines[-1] and "2560.0 KiB" in lines[-1]  # 8 L^2 and 40 L floats


def test_fft_conventions_agree():
    """Chapter 2 counts complex FFTs, chapter 5 real ones: one function, a factor 2 apart, and
    chapter 2's exercise accepts either convention (and nothing far outside them)."""
    from hyena_lab.exercises import check_materialize_cost, solution_materialize_cost

    for n in (2, 8, 1024, 2**17):
        assert fft_flops(n, real=False) == 2 * fft_flops(n) == 5 * n * math.log2(n)

    def scaled(factor: float):
        def answer(d_model: int, L: int) -> dict:
            out = solution_materialize_cost(d_model, L)
            return {**out, "fft_ops": out["fft_ops"] * factor}
        return answer

    assert check_materialize_cost(scaled(1.0))  # complex FFTs, 2 per convolution
    assert check_materialize_cost(scaled(0.5))  # real FFTs (chapter 5's count)
    assert check_materialize_cost(scaled(1.5))  # 3 complex FFTs per convolution
    assert not check_materialize_cost(scaled(0.4)) and not check_materialize_cost(scaled(1.6))


def test_complexity_figure_draws_record_live_counts_and_memory():
    recorded = load_data(RECORD_NAME)  # the committed record the chapter asserts on
    assert [r["L"] for r in recorded["rows"]] == list(RECORD_LENGTHS)
    live = json.loads(json.dumps(recorded))
    for r in live["rows"]:
        for key in ("op_seconds", "materialize_seconds", "matvec_seconds"):
            r[key] = None if r[key] is None else r[key] / 2
    live["processor"] = "a faster test CPU"
    fig = complexity_figure(recorded, live)
    _assert_labelled(fig)
    ax_t, ax_f, ax_m = fig.axes
    solid = [ln for ln in ax_t.lines if ln.get_linestyle() == "-"]
    dotted = [ln for ln in ax_t.lines if ln.get_linestyle() == ":"]
    assert len(solid) == len(dotted) == 3  # op, materialize, matvec: recorded and live
    for a, b in zip(solid, dotted, strict=True):
        assert a.get_color() == b.get_color()
        assert list(b.get_ydata()) == [y / 2 for y in a.get_ydata()]
    labels = ax_t.get_legend().get_texts()
    assert any("a faster test CPU" in t.get_text() for t in labels)
    assert any(recorded["processor"] in t.get_text() for t in labels)
    counted = count_matrix_costs(RECORD_LENGTHS)
    assert list(ax_f.lines[0].get_ydata()) == [r["op_flops"] for r in counted["rows"]]
    assert len(ax_m.lines) == 2 and len(complexity_figure(recorded).axes[0].lines) == 3
