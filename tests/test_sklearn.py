"""Oracle tests: jaxreg against scikit-learn at tight tolerance (float64).

Every case draws its data from a fixed seed (its position in ``CASES``), so a
failure reproduces in any process.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
from _jaxreg_problems import alpha_max_squared, classification, regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import ElasticNet, Lasso, LogisticRegression, Ridge

import jaxreg

ATOL = 1e-6

SHAPES = [(80, 20), (40, 100)]  # n > p and p > n
KINDS = ["random", "corr", "offset"]
CASES = list(itertools.product(SHAPES, KINDS, [True, False], [False, True]))


def enet_kkt(X, y, sw, coef, intercept, alpha, l1_ratio):
    """Independent KKT check of the ElasticNet objective, in numpy."""
    n = X.shape[0]
    s = np.ones(n) / n if sw is None else sw / sw.sum()
    r = y - X @ coef - intercept
    g = X.T @ (s * r) - alpha * (1 - l1_ratio) * coef
    l1 = alpha * l1_ratio
    nz = coef != 0
    viol = np.where(nz, np.abs(g - l1 * np.sign(coef)), np.maximum(np.abs(g) - l1, 0.0))
    return viol.max()


def case_data(case):
    """A case's data, from a seed fixed per case (the same in every process)."""
    (n, p), kind, _, weights = case
    return regression(n, p, kind, seed=CASES.index(case), weights=weights)


def case_id(case):
    (n, p), kind, fi, w = case
    return f"{n}x{p}-{kind}-{'icpt' if fi else 'noicpt'}-{'sw' if w else 'nosw'}"


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_lasso_matches_sklearn(case):
    (n, p), kind, fit_intercept, weights = case
    X, y, sw = case_data(case)
    alpha = 0.1 * alpha_max_squared(X, y, sw, fit_intercept)
    fit = jaxreg.lasso(X, y, alpha, fit_intercept=fit_intercept, sample_weight=sw, tol=1e-14)
    ref = Lasso(alpha=alpha, fit_intercept=fit_intercept, tol=1e-15, max_iter=10**6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref.fit(X, y, sample_weight=sw)
    assert int(fit.status) == jaxreg.Status.CONVERGED
    assert float(fit.gap) <= float(fit.gap_tol)
    np.testing.assert_allclose(fit.coef, ref.coef_, atol=ATOL, rtol=0)
    np.testing.assert_allclose(fit.intercept, ref.intercept_, atol=ATOL, rtol=0)
    coef, b = np.asarray(fit.coef), float(fit.intercept)
    # KKT residual relative to the gradient scale alpha_max.
    assert enet_kkt(X, y, sw, coef, b, alpha, 1.0) < 1e-7 * alpha / 0.1
    assert 0 < np.count_nonzero(coef) < p


ENET_CASES = [c for c in CASES if c[2]]  # with intercept; ratios vary below


@pytest.mark.parametrize("case", ENET_CASES, ids=[case_id(c) for c in ENET_CASES])
@pytest.mark.parametrize("l1_ratio", [0.2, 0.7])
def test_elastic_net_matches_sklearn(case, l1_ratio):
    (n, p), kind, fit_intercept, weights = case
    X, y, sw = regression(n, p, kind, seed=7, weights=weights)
    alpha = 0.05 * alpha_max_squared(X, y, sw) / l1_ratio
    fit = jaxreg.elastic_net(X, y, alpha, l1_ratio, sample_weight=sw, tol=1e-14)
    ref = ElasticNet(alpha=alpha, l1_ratio=l1_ratio, tol=1e-15, max_iter=10**6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref.fit(X, y, sample_weight=sw)
    assert int(fit.status) == 0 and float(fit.gap) <= float(fit.gap_tol)
    np.testing.assert_allclose(fit.coef, ref.coef_, atol=ATOL, rtol=0)
    np.testing.assert_allclose(fit.intercept, ref.intercept_, atol=ATOL, rtol=0)
    amax = alpha_max_squared(X, y, sw)
    kkt = enet_kkt(X, y, sw, np.asarray(fit.coef), float(fit.intercept), alpha, l1_ratio)
    assert kkt < 1e-7 * amax


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
@pytest.mark.parametrize("solver", ["auto", "svd", "cholesky"])
def test_ridge_matches_sklearn(case, solver):
    (n, p), kind, fit_intercept, weights = case
    X, y, sw = regression(n, p, kind, seed=3, weights=weights)
    alpha = 2.5
    fit = jaxreg.ridge(X, y, alpha, fit_intercept=fit_intercept, sample_weight=sw, solver=solver)
    ref = Ridge(alpha=alpha, fit_intercept=fit_intercept, solver="svd").fit(X, y, sample_weight=sw)
    assert int(fit.status) == 0 and float(fit.gap) <= float(fit.gap_tol)
    np.testing.assert_allclose(fit.coef, ref.coef_, atol=ATOL, rtol=0)
    np.testing.assert_allclose(fit.intercept, ref.intercept_, atol=ATOL, rtol=0)
    # Normal equations on the weighted, centered problem: the KKT condition.
    s = np.ones(n) if sw is None else sw
    r = y - X @ np.asarray(fit.coef) - float(fit.intercept)
    grad = -2 * X.T @ (s * r) + 2 * alpha * np.asarray(fit.coef)
    assert np.abs(grad).max() < 1e-8 * max(1.0, np.abs(X.T @ (s * y)).max())


def test_ridge_bounded_matches_nonnegative_least_squares_oracle():
    X, y, _ = regression(60, 8, "corr", seed=11)
    fit = jaxreg.ridge(X, y, 1.0, positive=True, tol=1e-14)
    ref = Ridge(alpha=1.0, positive=True, solver="lbfgs", tol=1e-12, max_iter=10**5).fit(X, y)
    assert int(fit.status) == 0
    np.testing.assert_allclose(fit.coef, ref.coef_, atol=1e-5, rtol=0)
    assert np.all(np.asarray(fit.coef) >= 0)


def sklearn_logistic(X, y, sw, alpha, l1_ratio, fit_intercept):
    n = X.shape[0]
    total = n if sw is None else sw.sum()
    C = 1.0 / (alpha * total)
    if l1_ratio == 0.0:
        model = LogisticRegression(
            C=C,
            l1_ratio=0.0,
            solver="lbfgs",
            tol=1e-14,
            max_iter=10**5,
            fit_intercept=fit_intercept,
        )
    elif l1_ratio == 1.0 and not fit_intercept:
        model = LogisticRegression(
            C=C, l1_ratio=1.0, solver="liblinear", tol=1e-14, max_iter=10**5, fit_intercept=False
        )
    else:
        model = LogisticRegression(
            C=C,
            l1_ratio=l1_ratio,
            solver="saga",
            tol=1e-14,
            max_iter=10**5,
            fit_intercept=fit_intercept,
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, y, sample_weight=sw)
    return model.coef_.ravel(), float(np.ravel(model.intercept_)[0]) if fit_intercept else 0.0


LOGIT_CASES = [
    # (n, p, kind, fit_intercept, weights, l1_ratio)
    (150, 6, "random", True, False, 1.0),
    (150, 6, "corr", True, True, 1.0),
    (120, 8, "offset", False, False, 1.0),
    (60, 30, "random", False, False, 1.0),
    (150, 6, "random", True, False, 0.0),
    (60, 30, "corr", True, True, 0.0),
    (120, 8, "offset", False, True, 0.0),
    (150, 6, "corr", True, False, 0.5),
]


@pytest.mark.parametrize("case", LOGIT_CASES, ids=[str(c) for c in LOGIT_CASES])
def test_logistic_matches_sklearn(case):
    n, p, kind, fit_intercept, weights, l1_ratio = case
    X, y, sw = classification(n, p, kind, seed=n + p, weights=weights)
    if kind == "offset" or l1_ratio not in (0.0,):
        # saga and liblinear converge to tight tolerances only on standardized data.
        X = (X - X.mean(0)) / X.std(0)
    alpha = 0.02
    fit = jaxreg.logistic(
        X, y, alpha, l1_ratio, fit_intercept=fit_intercept, sample_weight=sw, tol=1e-14
    )
    coef, b = sklearn_logistic(X, y, sw, alpha, l1_ratio, fit_intercept)
    assert int(fit.status) == 0 and float(fit.gap) <= float(fit.gap_tol)
    np.testing.assert_allclose(fit.coef, coef, atol=ATOL, rtol=0)
    np.testing.assert_allclose(fit.intercept, b, atol=ATOL, rtol=0)
