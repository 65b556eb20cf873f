"""Model selection against a numpy oracle, over several l1_ratios.

The curves are recomputed from the per-fold scores by hand, the selection
rules applied by plain loops (``_jaxreg_oracles.select``), and the refits at
the selected points compared with an exact numpy solve. The problems are
chosen so that the best l1_ratio is not the first one and the one-standard-
error threshold of the selected row differs from the first row's: a rule
applied to the wrong row gives a different answer.
"""

from __future__ import annotations

import warnings

import _jaxreg_oracles as oracle
import numpy as np
import pytest
from _jaxreg_problems import classification, regression

import jaxreg

RATIOS = [1.0, 0.7, 0.3, 0.1]
N, K, A = 80, 5, 30


@pytest.fixture(scope="module")
def problem():
    X, y, sw = regression(N, 30, "corr0.8", seed=2, k=20, noise=2.0, weights=True)
    foldid = jaxreg.make_folds(N, K, seed=0)
    return X, y, sw, foldid


@pytest.fixture(scope="module")
def result(problem):
    X, y, sw, foldid = problem
    return jaxreg.cross_validate(
        X, y, "elastic_net", l1_ratio=RATIOS, n_alphas=A, sample_weight=sw, foldid=foldid, tol=1e-10
    )


def _assert_certified(spec, coef, intercept, gap):
    """The refit is the solution at the selected point: its suboptimality,
    from an exact solve, is within its own certified gap (the coefficients
    themselves are only as close as the problem's conditioning allows)."""
    w, b, p_star = oracle.solve(spec)
    coef, intercept = np.asarray(coef, float), float(intercept)
    subopt = oracle.primal(spec, coef, intercept) - p_star
    assert -1e-13 <= subopt <= gap + 1e-13, (subopt, gap)
    assert gap <= 1e-8 * p_star
    np.testing.assert_allclose(coef, w, atol=1e-3)
    np.testing.assert_allclose(intercept, b, atol=1e-3)


def test_curves_are_the_fold_weighted_mean_and_its_standard_error(problem, result):
    _, _, sw, foldid = problem
    fold_weights = np.array([sw[foldid == k].sum() for k in range(K)])
    mean, se = oracle.cv_curves(np.asarray(result.fold_scores), fold_weights)
    np.testing.assert_allclose(np.asarray(result.mean), mean, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(result.se), se, rtol=1e-10)


def test_fold_scores_are_held_out_errors_of_outside_refits(problem, result):
    # A few entries of the score table, from exact refits on the training rows.
    X, y, sw, foldid = problem
    alphas = np.asarray(result.alphas)
    for k, i, j in [(0, 1, 3), (2, 3, 17), (4, 0, 29)]:
        train, test = foldid != k, foldid == k
        spec = oracle.Spec(X[train], y[train], alphas[i, j], RATIOS[i], sample_weight=sw[train])
        w, b, _ = oracle.solve(spec)
        err = (y[test] - X[test] @ w - b) ** 2
        expected = np.sum(sw[test] * err) / np.sum(sw[test])
        # The fold fits are certified to tol 1e-10 in objective: their
        # coefficients, and so the held-out error, are good to about its root.
        np.testing.assert_allclose(float(result.fold_scores[k, i, j]), expected, rtol=1e-4)


def test_cross_validate_selects_as_the_oracle(problem, result):
    X, y, sw, _ = problem
    i, k, k1 = oracle.select(result.mean, result.se)
    # The test's teeth: the best row is not the first, and the rule applied
    # with the first row's threshold, or to the first row's curve, would
    # give another alpha.
    assert i != 0
    alphas = np.asarray(result.alphas)
    mean, se = np.asarray(result.mean), np.asarray(result.se)
    wrong_threshold = mean[i] <= mean[0, k] + se[0, k]
    wrong_curve = mean[0] <= mean[i, k] + se[i, k]
    for within in (wrong_threshold, wrong_curve):
        assert alphas[i, int(np.argmax(within))] != alphas[i, k1]
    assert tuple(int(j) for j in result.best_index) == (i, k)
    assert float(result.alpha_min) == alphas[i, k]
    assert float(result.alpha_1se) == alphas[i, k1]
    assert float(result.l1_ratio_min) == RATIOS[i]
    for fit, j in [(result.best, k), (result.best_1se, k1)]:
        spec = oracle.Spec(X, y, alphas[i, j], RATIOS[i], sample_weight=sw)
        _assert_certified(spec, fit.coef, fit.intercept, float(fit.gap))


def test_higher_is_better_scores_select_the_maximum():
    X, y, sw = classification(120, 12, "corr0.8", seed=5, k=6, weights=True)
    foldid = jaxreg.make_folds(120, 4, seed=1)
    res = jaxreg.cross_validate(
        X, y, "logistic", l1_ratio=[1.0, 0.2], n_alphas=12, scoring="auc", sample_weight=sw,
        foldid=foldid,
    )  # fmt: skip
    fold_weights = np.array([sw[foldid == k].sum() for k in range(4)])
    mean, se = oracle.cv_curves(np.asarray(res.fold_scores), fold_weights)
    np.testing.assert_allclose(np.asarray(res.mean), mean, rtol=1e-12)
    i, k, k1 = oracle.select(mean, se, higher_is_better=True)
    assert tuple(int(j) for j in res.best_index) == (i, k)
    assert float(res.alpha_1se) == float(res.alphas[i, k1])


def test_elastic_net_cv_selects_as_the_oracle(problem):
    from sklearn.model_selection import KFold

    from jaxreg.estimators import ElasticNetCV

    X, y, sw, _ = problem
    est = ElasticNetCV(l1_ratio=RATIOS, alphas=A, cv=KFold(K), tol=1e-10)
    est.fit(X, y, sample_weight=sw)
    # scikit-learn's curves: the plain mean over folds and its standard error.
    scores = np.moveaxis(np.asarray(est.mse_path_), -1, 0)  # (K, L, A)
    mean = scores.mean(axis=0)
    se = scores.std(axis=0, ddof=1) / np.sqrt(K)
    i, k, k1 = oracle.select(mean, se)
    assert i != 0
    assert est.alpha_ == est.alphas_[i, k]
    assert est.l1_ratio_ == RATIOS[i]
    assert est.alpha_1se_ == est.alphas_[i, k1]
    spec = oracle.Spec(X, y, est.alpha_, est.l1_ratio_, sample_weight=sw)
    _assert_certified(spec, est.coef_, est.intercept_, est.dual_gap_)


def test_logistic_regression_cv_selects_as_the_oracle():
    from sklearn.model_selection import StratifiedKFold

    from jaxreg.estimators import LogisticRegressionCV

    X, y, _ = classification(150, 10, "corr0.8", seed=7, k=4)
    Cs, ratios = np.geomspace(0.02, 5.0, 8), [1.0, 0.5, 0.1]
    est = LogisticRegressionCV(
        Cs=Cs, l1_ratios=ratios, cv=StratifiedKFold(4), scoring="neg_log_loss", tol=1e-10
    )
    est.fit(X, y)
    scores = est.scores_[1]  # (folds, Cs, l1_ratios)
    mean = scores.mean(axis=0)
    # scikit-learn's rule: the first maximum in C-major, l1_ratio-minor order.
    best = None
    for c in range(len(Cs)):
        for r in range(len(ratios)):
            if best is None or mean[c, r] > mean[best]:
                best = (c, r)
    c, r = best
    assert est.C_[0] == Cs[c] and est.l1_ratio_[0] == ratios[r]
    # scikit-learn's C scales the summed log-loss: alpha = 1 / (C n).
    spec = oracle.Spec(X, y, 1.0 / (Cs[c] * len(y)), ratios[r], "logistic")
    w, b, p_star = oracle.solve(spec)
    subopt = oracle.primal(spec, est.coef_[0], est.intercept_[0]) - p_star
    assert -1e-13 <= subopt <= 1e-9 * p_star
    np.testing.assert_allclose(est.coef_[0], w, atol=1e-3)


def test_plot_cv_marks_the_oracle_selection(problem, result):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    i, k, k1 = oracle.select(result.mean, result.se)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ax = jaxreg.plot.plot_cv(result)
    try:
        alphas = np.asarray(result.alphas)
        # One curve per l1_ratio; the selected one's, point by point, carries the bars.
        assert len(ax.containers) == alphas.shape[0]
        curve = ax.containers[i].lines[0]
        assert ax.containers[i].has_yerr
        np.testing.assert_allclose(curve.get_xdata(), alphas[i])
        np.testing.assert_allclose(curve.get_ydata(), np.asarray(result.mean)[i])
        marks = {ln.get_label(): ln.get_xdata()[0] for ln in ax.lines if ln.get_label()[0] != "_"}
        assert marks["alpha_min"] == alphas[i, k]
        assert marks["alpha_1se"] == alphas[i, k1]
    finally:
        plt.close("all")
