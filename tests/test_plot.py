"""Plots: drawn from real results, saved as PNG, with the documented annotations."""

from __future__ import annotations

import itertools
import pathlib

import _jaxreg_oracles as oracle
import numpy as np
import pytest

import jaxreg

ROOT = pathlib.Path(__file__).resolve().parents[1]
matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.text import Text  # noqa: E402


def _drawn_ticklabels(axis):
    lo, hi = sorted(axis.get_view_interval())
    slack = 1e-12 * max(abs(lo), abs(hi))
    out = []
    for tick in axis.get_major_ticks():
        if lo - slack <= tick.get_loc() <= hi + slack:
            out += [t for t in (tick.label1, tick.label2) if t.get_visible()]
    return out


def _text_boxes(fig):
    """(text, box) of every text drawn on ``fig``: tick labels inside the view
    only (matplotlib keeps the others but does not draw them), annotations
    without their leader lines."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    tick_labels, texts = set(), []
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            ticks = axis.get_major_ticks() + axis.get_minor_ticks()
            tick_labels.update(id(t) for tick in ticks for t in (tick.label1, tick.label2))
            if axis.get_visible() and ax.get_visible():
                texts += _drawn_ticklabels(axis)
    texts += [t for t in fig.findobj(Text) if id(t) not in tick_labels]
    return [
        (t.get_text(), Text.get_window_extent(t, renderer))
        for t in texts
        if t.get_visible() and t.get_text().strip()
    ]


def assert_readable(fig):
    """No two drawn texts overlap, and each top axis names distinct ticks."""
    boxes = _text_boxes(fig)
    clashes = [(a, b) for (a, p), (b, q) in itertools.combinations(boxes, 2) if p.overlaps(q)]
    assert not clashes, f"overlapping labels: {clashes}"
    for ax in fig.axes:
        if ax.xaxis.get_label_position() == "top" and ax.get_xlabel():
            ticks = [t.get_text() for t in _drawn_ticklabels(ax.xaxis)]
            assert len(ticks) == len(set(ticks)) >= 2, f"top axis ticks {ticks}"


@pytest.fixture(scope="module")
def diabetes():
    return jaxreg.datasets.load_diabetes()


def _path_lines(ax, n_points):
    return [ln for ln in ax.get_lines() if len(ln.get_xdata()) == n_points]


def test_plot_path(diabetes, tmp_path):
    X, y, names = diabetes
    path = jaxreg.lasso_path(X, y, n_alphas=30, standardize=True)
    ax = jaxreg.plot.plot_path(path, names=names)
    # One line per coefficient, through the path's values on the original scale.
    alphas = np.asarray(path.alphas)
    drawn = np.stack([ln.get_ydata() for ln in _path_lines(ax, len(alphas))], axis=1)
    assert drawn.shape == path.coef.shape
    coef = np.asarray(path.coef)
    order = [int(np.argmin(np.abs(coef - d[:, None]).sum(axis=0))) for d in drawn.T]
    assert sorted(order) == list(range(X.shape[1]))
    np.testing.assert_allclose(drawn, coef[:, order], atol=0)
    # And the path itself, at three of its points, against the exact numpy solve.
    # (Not at the path's end: there the diabetes columns' collinearity leaves
    # the coordinate-descent reference short of its own 1e-9 KKT check.)
    for k in (5, 15):
        w, b, _ = oracle.solve(oracle.Spec(X, y, float(alphas[k]), standardize=True))
        np.testing.assert_allclose(np.asarray(path.coef[k]), w, atol=1e-3 * np.abs(w).max())
    top = [a for a in ax.figure.axes if a is not ax][0]
    counts = [int(t.get_text()) for t in top.get_xticklabels()]
    assert counts[0] == 0 and len(counts) == len(set(counts)) >= 4
    assert set(counts) <= set(np.asarray(path.n_nonzero).tolist())
    texts = {t.get_text() for t in ax.texts}
    assert texts == set(names)  # ten names fit: every line is named
    assert ax.get_ylabel() == "coefficient"
    out = tmp_path / "path.png"
    ax.figure.savefig(out)
    assert out.stat().st_size > 5_000
    plt.close("all")


def test_plot_path_on_the_standardized_scale(diabetes):
    X, y, names = diabetes
    path = jaxreg.lasso_path(X, y, n_alphas=20, standardize=True)
    scale = jaxreg.plot.column_scale(X)
    np.testing.assert_allclose(scale, X.std(axis=0), rtol=1e-12)
    ax = jaxreg.plot.plot_path(path, names=names, scale=scale)
    drawn = np.stack([ln.get_ydata() for ln in _path_lines(ax, 20)], axis=1)
    want = np.asarray(path.coef) * scale
    assert np.allclose(np.sort(drawn[-1]), np.sort(want[-1]), rtol=1e-12)
    assert ax.get_ylabel() == "standardized coefficient"
    with pytest.raises(ValueError, match="scale"):
        jaxreg.plot.plot_path(path, scale=-scale)
    plt.close("all")


def test_plot_path_colours_stay_distinct_past_ten():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((80, 18))
    y = X @ rng.standard_normal(18) + 0.1 * rng.standard_normal(80)
    path = jaxreg.lasso_path(X, y, n_alphas=15)
    ax = jaxreg.plot.plot_path(path, label_top=18)
    colours = {matplotlib.colors.to_hex(ln.get_color()) for ln in _path_lines(ax, 15)}
    assert len(colours) == 18
    # With fewer labels, the unnamed lines are grey and the axis says how many.
    ax = jaxreg.plot.plot_path(path, label_top=5)
    colours = [matplotlib.colors.to_hex(ln.get_color()) for ln in _path_lines(ax, 15)]
    assert len(set(colours)) == 6 and colours.count(matplotlib.colors.to_hex("0.72")) == 13
    assert "13 more" in ax.get_xlabel() and len(ax.texts) == 5
    plt.close("all")


def _hat_trace(X, s, alpha, standardize, f):
    w = s / s.sum()
    Z = X - w @ X
    if standardize:
        Z = Z / np.sqrt(w @ Z**2)
    f = f * len(f) / f.sum()
    root = np.sqrt(s)[:, None] * Z
    return np.trace(root @ np.linalg.solve(Z.T @ (s[:, None] * Z) + alpha * np.diag(f), root.T))


@pytest.mark.parametrize("standardize", [False, True])
@pytest.mark.parametrize("sparse", [False, True])
def test_effective_df_is_the_trace_of_the_hat_matrix(standardize, sparse):
    import scipy.sparse as sps

    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 6)) * rng.uniform(0.1, 10, 6)
    s = rng.uniform(0.5, 2.0, 40)
    alphas = np.array([1e3, 10.0, 0.1])
    for f in (np.ones(6), np.array([3.0, 1, 2, 1, 1, 0.5])):
        got = jaxreg.plot.effective_df(
            sps.csr_matrix(X) if sparse else X,
            alphas,
            sample_weight=s,
            standardize=standardize,
            penalty_factor=f,
        )
        want = [_hat_trace(X, s, a, standardize, f) for a in alphas]
        np.testing.assert_allclose(got, want, rtol=1e-10)
    # An unpenalized column is one full degree of freedom at every alpha.
    f = np.array([0.0, 1, 1, 1, 1, 1])
    got = jaxreg.plot.effective_df(X, [1e12, 0.0], sample_weight=s, penalty_factor=f)
    np.testing.assert_allclose(got, [1.0, 6.0], atol=1e-6)


def test_ridge_path_shows_degrees_of_freedom(diabetes):
    X, y, names = diabetes
    alphas = np.geomspace(1e4, 1e-2, 40)
    path = jaxreg.ridge_path(X, y, alphas, standardize=True)
    ax = jaxreg.plot.plot_path(path, names=names)
    assert ax.figure.axes == [ax]  # ten nonzeros everywhere: no count axis
    plt.close("all")
    df = jaxreg.plot.effective_df(X, alphas, standardize=True)
    ax = jaxreg.plot.plot_path(path, names=names, df=df)
    (top,) = [a for a in ax.figure.axes if a is not ax]
    assert "degrees of freedom" in top.get_xlabel()
    ticks = [t.get_text() for t in top.get_xticklabels()]
    assert len(ticks) == len(set(ticks)) >= 4
    np.testing.assert_allclose(
        [float(t) for t in ticks], np.interp(top.get_xticks(), alphas[::-1], df[::-1]), atol=0.051
    )
    with pytest.raises(ValueError, match="df"):
        jaxreg.plot.plot_path(path, df=df[:3])
    plt.close("all")


def test_plot_cv_marks_the_rules(diabetes, tmp_path):
    X, y, _ = diabetes
    res = jaxreg.cross_validate(X, y, "elastic_net", l1_ratio=[0.5, 1.0], n_alphas=20, cv=5)
    ax = jaxreg.plot.plot_cv(res)
    xs = sorted(float(line.get_xdata()[0]) for line in ax.get_lines() if len(line.get_xdata()) == 2)
    assert xs == sorted([float(res.alpha_min), float(res.alpha_1se)])
    # Both l1_ratios as a family of curves; only the selected one has error bars.
    assert len(ax.containers) == 2
    best = int(res.best_index[0])
    assert [c.has_yerr for c in ax.containers] == [i == best for i in range(2)]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "l1_ratio 0.5" in " ".join(
        legend
    ) and f"{float(res.l1_ratios[best]):g} (selected)" in " ".join(legend)
    ax = jaxreg.plot.plot_cv(res, l1_ratio_index=0)
    assert len(ax.containers) == 1
    ax.figure.savefig(tmp_path / "cv.png")
    with pytest.raises(ValueError, match="l1_ratio_index"):
        jaxreg.plot.plot_cv(res, l1_ratio_index=5)
    plt.close("all")


def test_plot_cv_without_the_full_path(tmp_path):
    # cross_validate(..., full_path=False) has no full-data path (n_nonzero is
    # None): the curve, its error bars and the two rules are drawn, the top
    # axis of nonzero counts is left out.
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 8))
    y = X[:, :3] @ np.array([2.0, -1.0, 0.5]) + 0.5 * rng.standard_normal(60)
    res = jaxreg.cross_validate(X, y, "lasso", n_alphas=10, cv=3, full_path=False)
    assert res.n_nonzero is None and res.path is None
    ax = jaxreg.plot.plot_cv(res)
    alphas, mean, se = (np.asarray(a[0], dtype=float) for a in (res.alphas, res.mean, res.se))
    (curve,) = [ln for ln in ax.get_lines() if len(ln.get_xdata()) == len(alphas)]
    np.testing.assert_array_equal(curve.get_xdata(), alphas)
    np.testing.assert_array_equal(curve.get_ydata(), mean)
    # One standard error either side of each point.
    (bars,) = ax.collections
    spans = np.array([seg[:, 1] for seg in bars.get_segments()])
    np.testing.assert_allclose(spans, np.stack([mean - se, mean + se], axis=1), rtol=1e-12)
    xs = sorted(float(line.get_xdata()[0]) for line in ax.get_lines() if len(line.get_xdata()) == 2)
    assert xs == sorted([float(res.alpha_min), float(res.alpha_1se)])
    assert ax.figure.axes == [ax]  # no top axis without nonzero counts
    ax.figure.savefig(tmp_path / "cv_nopath.png")
    plt.close("all")


def test_plot_coefficients_marks_exact_zeros(diabetes, tmp_path):
    X, y, names = diabetes
    amax = float(jaxreg.alpha_max(X, y, standardize=True))
    fits = {
        "L1": jaxreg.lasso(X, y, 0.1 * amax, standardize=True),
        "L2": jaxreg.ridge(X, y, 10.0, standardize=True),
        "elastic net": jaxreg.elastic_net(X, y, 0.1 * amax, 0.5, standardize=True),
    }
    ax = jaxreg.plot.plot_coefficients(fits, names=names)
    assert len(ax.patches) == 3 * X.shape[1]
    # The bars are the coefficients, model by model.
    heights = np.array([bar.get_height() for bar in ax.patches]).reshape(3, X.shape[1])
    np.testing.assert_allclose(heights, np.stack([np.asarray(f.coef) for f in fits.values()]))
    zeros_marked = len(ax.get_lines()[0].get_xdata())
    assert zeros_marked == int(np.sum(np.asarray(fits["L1"].coef) == 0)) > 0
    ax.figure.savefig(tmp_path / "coef.png")
    plt.close("all")


def test_plot_errors(diabetes):
    X, y, names = diabetes
    with pytest.raises(TypeError, match="PathResult"):
        jaxreg.plot.plot_path(np.zeros((3, 3)))
    with pytest.raises(TypeError, match="CVResult"):
        jaxreg.plot.plot_cv(None)
    with pytest.raises(ValueError, match="names"):
        jaxreg.plot.plot_path(jaxreg.lasso_path(X, y, n_alphas=5), names=["a"])
    with pytest.raises(ValueError, match="same length"):
        jaxreg.plot.plot_coefficients({"a": np.zeros(3), "b": np.zeros(4)})
    with pytest.raises(ValueError, match="at least one"):
        jaxreg.plot.plot_coefficients({})


def test_estimator_plots_are_readable(diabetes):
    from jaxreg.estimators import ElasticNetCV, RidgeCV

    X, y, names = diabetes
    frame = pytest.importorskip("pandas").DataFrame(X, columns=names)
    enet = ElasticNetCV(l1_ratio=[0.2, 0.6, 1.0], alphas=30, cv=4, standardize=True).fit(frame, y)
    ridge = RidgeCV(alphas=np.geomspace(1e4, 1e-3, 30), standardize=True).fit(frame, y)
    for draw in (enet.plot_path, enet.plot_cv, ridge.plot_path, ridge.plot_cv):
        fig = plt.figure(figsize=(7.5, 4.6))
        ax = draw(ax=fig.add_subplot())
        fig.suptitle(draw.__qualname__)
        fig.tight_layout()
        assert_readable(fig)
        if draw.__name__ == "plot_path":
            # The fits standardized: the lines are the standardized coefficients.
            est = draw.__self__
            end = sorted(ln.get_ydata()[-1] for ln in ax.lines if len(ln.get_xdata()) > 2)
            li = 0 if est is ridge else list(est.cv_result_.l1_ratios).index(est.l1_ratio_)
            want = est.cv_result_.path.coef[li, -1]
            np.testing.assert_allclose(end, np.sort(want * X.std(axis=0)), rtol=1e-10)
            assert ax.get_ylabel() == "standardized coefficient"
            assert set(names) == {t.get_text() for t in ax.texts}
        plt.close(fig)
    # Ridge: degrees of freedom on top, no l1_ratio in the legend.
    ax = ridge.plot_cv()
    (top,) = [a for a in ax.figure.axes if a is not ax]
    assert "degrees of freedom" in top.get_xlabel()
    assert not any("l1_ratio" in t.get_text() for t in ax.get_legend().get_texts())
    # ElasticNetCV: every l1_ratio by default.
    assert len(enet.plot_cv().containers) == 3
    ax = ridge.plot_path(standardized=False)
    assert ax.get_ylabel() == "coefficient"
    plt.close("all")


def test_demo_figures_are_readable(diabetes):
    # The figures `jaxreg demo` writes (and docs/make_figures.py commits under
    # docs/img/demo/), with the demo's defaults, rendered and measured.
    from jaxreg import cli

    X, y, names = diabetes
    rows, _ = cli._demo_results(X, y, n_alphas=50, seed=0, folds=5, quiet=True)
    figures = cli._demo_figures(rows, names, X)
    committed = sorted(p.name for p in (ROOT / "docs" / "img" / "demo").glob("*.png"))
    assert sorted(figures) == committed
    for name, fig in figures.items():
        assert_readable(fig)
        if name.endswith("_path.png"):
            (ax, top) = fig.axes
            assert ax.get_ylabel() == "standardized coefficient"
            assert {t.get_text() for t in ax.texts} == set(names)
            want = "degrees of freedom" if name.startswith("ridge") else "nonzero"
            assert want in top.get_xlabel()


def test_logistic_cv_plot_path():
    from jaxreg.estimators import LogisticRegressionCV

    rng = np.random.default_rng(0)
    X = rng.standard_normal((120, 6))
    y = (X[:, 0] - X[:, 1] + 0.5 * rng.standard_normal(120) > 0).astype(int)
    est = LogisticRegressionCV(Cs=8, penalty="l1", cv=3, tol=1e-8).fit(X, y)
    ax = est.plot_path()
    lines = [ln for ln in ax.lines if len(ln.get_xdata()) == 8]
    assert len(lines) == 6 and ax.get_ylabel() == "coefficient"
    # At the selected C (alpha = 1 / (C n)), the lines pass through coef_.
    alpha = 1.0 / (est.C_[0] * len(y))
    k = int(np.argmin(np.abs(lines[0].get_xdata() - alpha)))
    np.testing.assert_allclose(
        sorted(ln.get_ydata()[k] for ln in lines), np.sort(est.coef_[0]), atol=1e-12
    )
    with pytest.raises(ValueError, match="class_"):
        est.plot_path(class_=5)
    plt.close("all")


def test_softmax_logistic_cv_plots_each_class_path():
    from jaxreg.estimators import LogisticRegressionCV

    rng = np.random.default_rng(1)
    X = rng.standard_normal((150, 5))
    y = np.argmax(X[:, :3] + 0.5 * rng.standard_normal((150, 3)), axis=1)
    est = LogisticRegressionCV(Cs=6, l1_ratios=[1.0], cv=3, tol=1e-10).fit(X, y)
    alpha = 1.0 / (est.C_[0] * len(y))
    for k in range(3):
        ax = est.plot_path(class_=k)
        lines = [ln for ln in ax.lines if len(ln.get_xdata()) == 6]
        i = int(np.argmin(np.abs(lines[0].get_xdata() - alpha)))
        np.testing.assert_allclose(
            sorted(ln.get_ydata()[i] for ln in lines), np.sort(est.coef_[k]), atol=1e-10
        )
        plt.close("all")


def test_plot_path_with_a_non_finite_fit_and_small_axes():
    # A NaN fit on the path made the axis limits NaN (matplotlib raised); on
    # small axes, lines were coloured beyond the names that fit.
    X, y, names = jaxreg.datasets.load_diabetes()
    path = jaxreg.lasso_path(X, y, n_alphas=10, standardize=True)
    coef = np.asarray(path.coef).copy()
    coef[4] = np.nan
    broken = jaxreg.PathResult(**{**vars(path), "coef": coef})
    fig, axes = plt.subplots(2, 2, figsize=(6, 4))
    ax = jaxreg.plot.plot_path(broken, names=names, ax=axes[0, 0])
    fig.tight_layout()
    named = len(ax.texts)
    assert 0 < named < 10
    grey = matplotlib.colors.to_hex("0.72")
    coloured = [
        ln for ln in _path_lines(ax, 10) if matplotlib.colors.to_hex(ln.get_color()) != grey
    ]
    assert len(coloured) == named and f"{10 - named} more" in ax.get_xlabel()
    assert_readable(fig)
    plt.close(fig)
