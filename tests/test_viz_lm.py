"""Chapter 07's figures draw what their records hold: one line per model or way, labelled axes."""

from __future__ import annotations

import pytest

from hyena_lab.viz.lm import (
    LM_LABELS,
    WAY_LABELS,
    context_figure,
    distill_figure,
    generation_figure,
    lm_curves_figure,
)

CURVE = {"step": [100, 200], "seconds": [5.0, 10.0], "train_loss": [2.5, 2.0],
         "valid_loss": [2.4, 2.1]}  # fmt: skip


def _labels(ax):
    return [line.get_label() for line in ax.get_lines() if not line.get_label().startswith("_")]


def test_curves_one_line_per_run_of_the_budget():
    runs = [{"mixer": m, "budget": b, "curve": CURVE} for m in ("attention", "hyena")
            for b in (60.0, 300.0) for _ in range(3)]  # fmt: skip
    fig = lm_curves_figure(runs, 60.0)
    by_step, by_time = fig.axes
    assert len(by_step.get_lines()) == len(by_time.get_lines()) == 6  # 2 mixers x 3 seeds
    assert _labels(by_step) == [LM_LABELS["attention"], LM_LABELS["hyena"]]  # once per mixer
    assert "nats per character" in by_step.get_ylabel() and "seconds" in by_time.get_xlabel()
    assert list(by_time.get_lines()[0].get_xdata()) == CURVE["seconds"]


def test_context_and_generation_figures_skip_missing_points():
    steps = {"contexts": [64, 128, 2048],
             "seconds_per_step": {"attention": [0.1, 0.2, 3.0], "hyena": [0.2, 0.3, 1.0]}}
    ax = context_figure(steps).axes[0]
    assert _labels(ax) == [LM_LABELS["attention"], LM_LABELS["hyena"]]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["64", "128", "2K"]
    speed = {"contexts": [256, 16384],
             "seconds_per_token": {"recompute": [0.01, None], "cache": [1e-3, 1e-2],
                                   "modal": [1e-3, 1e-3], "gpt_kv_cache": [1e-3, 3e-3]}}
    ax = generation_figure(speed).axes[0]
    assert _labels(ax) == [WAY_LABELS[w] for w in speed["seconds_per_token"]]
    assert list(ax.get_lines()[0].get_xdata()) == [256]  # recompute's missing point is skipped


def test_distill_figure_has_three_labelled_panels():
    layer = {"median": [1.0, 0.1, 0.01], "max": [1.0, 0.2, 0.05]}
    rec = {"hankel_singular_values": [layer, layer], "orders": [2, 4], "val_loss": 1.5,
           "distilled": [{"order": r, "val_loss": 1.5 + 0.01 / r,
                          "fit_error": [{"all": 0.1 / r}, {"all": 0.2 / r}]} for r in (2, 4)]}
    hsv, err, loss = distill_figure(rec).axes
    assert len(hsv.get_lines()) == 2 and len(err.get_lines()) == 2
    assert loss.get_lines()[1].get_ydata()[0] == pytest.approx(1.5)  # the undistilled level
    for ax in (hsv, err, loss):
        assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
