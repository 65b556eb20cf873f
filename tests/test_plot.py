"""Plots: drawn from real results, saved as PNG, with the documented annotations."""

from __future__ import annotations

import _jaxreg_oracles as oracle
import numpy as np
import pytest

import jaxreg

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture(scope="module")
def diabetes():
    return jaxreg.datasets.load_diabetes()


def test_plot_path(diabetes, tmp_path):
    X, y, names = diabetes
    path = jaxreg.lasso_path(X, y, n_alphas=30, standardize=True)
    ax = jaxreg.plot.plot_path(path, names=names)
    # One line per coefficient, through the path's values on the original scale.
    alphas = np.asarray(path.alphas)
    lines = [ln for ln in ax.get_lines() if len(ln.get_xdata()) == len(alphas)]
    assert len(lines) == X.shape[1]
    drawn = np.stack([ln.get_ydata() for ln in lines], axis=1)
    np.testing.assert_allclose(drawn, np.asarray(path.coef), atol=0)
    # And the path itself, at three of its points, against the exact numpy solve.
    # (Not at the path's end: there the diabetes columns' collinearity leaves
    # the coordinate-descent reference short of its own 1e-9 KKT check.)
    for k in (5, 15):
        w, b, _ = oracle.solve(oracle.Spec(X, y, float(alphas[k]), standardize=True))
        np.testing.assert_allclose(np.asarray(path.coef[k]), w, atol=1e-3 * np.abs(w).max())
    top = [a for a in ax.figure.axes if a is not ax][0]
    counts = [int(t.get_text()) for t in top.get_xticklabels()]
    assert counts[0] == 0 and counts[-1] == int(path.n_nonzero[-1])
    texts = {t.get_text() for t in ax.texts}
    assert texts and texts <= set(names)
    out = tmp_path / "path.png"
    ax.figure.savefig(out)
    assert out.stat().st_size > 5_000
    plt.close("all")


def test_plot_cv_marks_the_rules(diabetes, tmp_path):
    X, y, _ = diabetes
    res = jaxreg.cross_validate(X, y, "elastic_net", l1_ratio=[0.5, 1.0], n_alphas=20, cv=5)
    ax = jaxreg.plot.plot_cv(res)
    xs = sorted(float(line.get_xdata()[0]) for line in ax.get_lines() if len(line.get_xdata()) == 2)
    assert xs == sorted([float(res.alpha_min), float(res.alpha_1se)])
    assert "l1_ratio" in ax.get_legend().get_title().get_text()
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
