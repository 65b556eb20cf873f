"""Paths against scikit-learn and glmnet; both strategies give the same answer."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from _jaxreg_problems import classification, regression
from sklearn.linear_model import ElasticNetCV, LassoCV, Ridge, enet_path, lasso_path

import jaxreg

PROBLEMS = [((200, 50), "corr", 1e-3), ((60, 150), "random", 1e-2), ((120, 30), "offset", 1e-3)]
STRATEGIES = [("vmap", 1), ("warm", 1), ("warm", 7)]


def centered(X, y):
    return X - X.mean(0), y - y.mean()


@pytest.mark.parametrize("shape,kind,eps", PROBLEMS)
@pytest.mark.parametrize("strategy,chunk", STRATEGIES)
def test_lasso_path_matches_sklearn(shape, kind, eps, strategy, chunk):
    X, y, _ = regression(*shape, kind, seed=4)
    path = jaxreg.lasso_path(X, y, eps=eps, tol=1e-15, strategy=strategy, chunk_size=chunk)
    assert bool(path.converged.all()) and np.all(np.asarray(path.gap) <= np.asarray(path.gap_tol))
    Xc, yc = centered(X, y)
    _, coefs, _ = lasso_path(Xc, yc, alphas=np.asarray(path.alphas), tol=1e-15, max_iter=10**6)
    np.testing.assert_allclose(path.coef, coefs.T, atol=1e-6, rtol=0)
    intercepts = y.mean() - np.asarray(path.coef) @ X.mean(0)
    np.testing.assert_allclose(path.intercept, intercepts, atol=1e-6, rtol=0)
    assert int(path.n_nonzero[0]) == 0 and int(path.n_nonzero[-1]) > 0


@pytest.mark.parametrize("shape,kind,eps", PROBLEMS)
@pytest.mark.parametrize("l1_ratio", [0.5, 0.8])
def test_enet_path_matches_sklearn_and_strategies_agree(shape, kind, eps, l1_ratio):
    X, y, _ = regression(*shape, kind, seed=5)
    kw = dict(eps=eps, tol=1e-15, n_alphas=40)
    cold = jaxreg.enet_path(X, y, l1_ratio, strategy="vmap", **kw)
    warm = jaxreg.enet_path(X, y, l1_ratio, strategy="warm", chunk_size=4, **kw)
    assert bool(cold.converged.all()) and bool(warm.converged.all())
    np.testing.assert_allclose(cold.coef, warm.coef, atol=1e-6, rtol=0)
    Xc, yc = centered(X, y)
    _, coefs, _ = enet_path(
        Xc, yc, l1_ratio=l1_ratio, alphas=np.asarray(cold.alphas), tol=1e-15, max_iter=10**6
    )
    np.testing.assert_allclose(warm.coef, coefs.T, atol=1e-6, rtol=0)


@pytest.mark.parametrize("weights", [False, True])
@pytest.mark.parametrize("l1_ratio", [1.0, 0.3])
def test_default_grid_matches_sklearn(weights, l1_ratio):
    X, y, sw = regression(80, 12, "offset", seed=6, weights=weights)
    grid = jaxreg.alpha_grid(X, y, l1_ratio, n_alphas=30, sample_weight=sw)
    cls = LassoCV(alphas=30) if l1_ratio == 1.0 else ElasticNetCV(l1_ratio=l1_ratio, alphas=30)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cls.set_params(cv=3, max_iter=50).fit(X, y, sample_weight=sw)
    np.testing.assert_allclose(grid, cls.alphas_, rtol=1e-12)


def test_glmnet_default_grid_rule():
    X, y, _ = regression(30, 60, "random", seed=1)
    grid = jaxreg.alpha_grid(X, y, n_alphas=5, eps="glmnet")
    np.testing.assert_allclose(grid[-1] / grid[0], 1e-2)
    X, y, _ = regression(60, 30, "random", seed=1)
    grid = jaxreg.alpha_grid(X, y, n_alphas=5, eps="glmnet")
    np.testing.assert_allclose(grid[-1] / grid[0], 1e-4)


def test_lasso_path_matches_glmnet_standardized():
    glmnet = pytest.importorskip("glmnet")
    X, y, _ = regression(150, 20, "offset", seed=8)
    path = jaxreg.lasso_path(X, y, standardize=True, n_alphas=30, eps=1e-2, tol=1e-15)
    model = glmnet.ElasticNet(
        alpha=1.0,
        lambda_path=np.asarray(path.alphas),
        standardize=True,
        tol=1e-14,
        max_iter=10**6,
        n_splits=0,
    )
    model.fit(X, y)
    np.testing.assert_allclose(path.coef, model.coef_path_.T, atol=1e-5, rtol=0)
    np.testing.assert_allclose(path.intercept, model.intercept_path_, atol=1e-5, rtol=0)


@pytest.mark.parametrize("weights", [False, True])
@pytest.mark.parametrize("shape", [(80, 20), (30, 60)])
def test_ridge_path_matches_sklearn(weights, shape):
    X, y, sw = regression(*shape, "corr", seed=9, weights=weights)
    alphas = np.geomspace(1e3, 1e-3, 15)
    path = jaxreg.ridge_path(X, y, alphas, sample_weight=sw)
    assert bool(path.converged.all())
    for i, a in enumerate(alphas):
        ref = Ridge(alpha=a, solver="svd").fit(X, y, sample_weight=sw)
        np.testing.assert_allclose(path.coef[i], ref.coef_, atol=1e-7, rtol=0)
        np.testing.assert_allclose(path.intercept[i], ref.intercept_, atol=1e-7, rtol=0)


@pytest.mark.parametrize("strategy", ["vmap", "warm"])
def test_logistic_path_matches_single_fits(strategy):
    X, y, _ = classification(150, 10, "corr", seed=3)
    path = jaxreg.logistic_path(X, y, n_alphas=12, tol=1e-13, strategy=strategy, chunk_size=3)
    assert bool(path.converged.all())
    for i in (0, 5, 11):
        single = jaxreg.logistic(X, y, float(path.alphas[i]), tol=1e-13)
        np.testing.assert_allclose(path.coef[i], single.coef, atol=1e-6, rtol=0)
        np.testing.assert_allclose(path.intercept[i], single.intercept, atol=1e-6, rtol=0)


def test_path_fit_accessor_and_bad_input():
    X, y, _ = regression(40, 5, "random", seed=0)
    path = jaxreg.lasso_path(X, y, n_alphas=5)
    fit = path.fit(2)
    assert fit.coef.shape == (5,) and float(fit.gap) == float(path.gap[2])
    with pytest.raises(ValueError, match="alphas must be nonnegative"):
        jaxreg.lasso_path(X, y, alphas=[1.0, -1.0])
    with pytest.raises(ValueError, match="strategy must be one of"):
        jaxreg.lasso_path(X, y, strategy="serial")
    with pytest.raises(ValueError, match="chunk_size must be a positive integer"):
        jaxreg.lasso_path(X, y, chunk_size=0)
    with pytest.raises(ValueError, match="eps must be in"):
        jaxreg.lasso_path(X, y, eps=2.0)
    with pytest.raises(ValueError, match="l1_ratio=0 has no alpha_max"):
        jaxreg.enet_path(X, y, 0.0)
    with pytest.raises(ValueError, match="penalty_factor must be positive for ridge_path"):
        jaxreg.ridge_path(X, y, [1.0], penalty_factor=[0, 1, 1, 1, 1])


def test_alpha_max_with_an_unpenalized_feature_matches_numpy():
    X, y, _ = regression(80, 6, "corr", seed=12)
    pf = np.array([0.0, 1, 1, 2, 1, 1])
    Xc, yc = centered(X, y)
    # Null model: the free feature fitted alone; then the largest scaled gradient.
    w0 = (Xc[:, 0] @ yc) / (Xc[:, 0] @ Xc[:, 0])
    grad = Xc.T @ (yc - Xc[:, 0] * w0) / 80
    pfn = pf * 6 / pf.sum()
    expected = np.max(np.abs(grad[1:]) / pfn[1:])
    got = float(jaxreg.alpha_max(X, y, penalty_factor=pf, tol=1e-14))
    assert got == pytest.approx(expected, rel=1e-8)
    loose = float(jaxreg.alpha_max(X, y, penalty_factor=pf, tol=1e-2))
    assert loose == pytest.approx(expected, rel=1e-2)  # the tolerance is honoured
    fit = jaxreg.lasso(X, y, got, penalty_factor=pf, tol=1e-12)
    assert np.all(np.asarray(fit.coef[1:]) == 0) and float(fit.coef[0]) != 0


def test_small_designs_walk_the_grid_one_point_at_a_time():
    # Small designs default to chunks of one grid point, solved unbatched
    # (their first call is mostly tracing and compiling); larger ones to
    # chunks of 4; an explicit chunk size is kept.
    from jaxreg import _compile
    from jaxreg.path import default_strategy

    assert _compile.small_design(np.zeros((442, 10)))
    assert not _compile.small_design(np.zeros((5000, 500)))
    assert default_strategy("warm", None, small=True) == ("warm", 1)
    assert default_strategy("warm", None) == ("warm", 4)
    assert default_strategy("warm", 3, small=True) == ("warm", 3)
    # The unbatched walk and a batched one reach the same path.
    X, y, _ = regression(120, 30, "offset", seed=6)
    one = jaxreg.lasso_path(X, y, n_alphas=20, tol=1e-14, strategy="warm", chunk_size=1)
    four = jaxreg.lasso_path(X, y, n_alphas=20, tol=1e-14, strategy="warm", chunk_size=4)
    default = jaxreg.lasso_path(X, y, n_alphas=20, tol=1e-14, strategy="warm")
    assert bool(one.converged.all()) and bool(four.converged.all())
    np.testing.assert_allclose(one.coef, four.coef, atol=1e-7, rtol=0)
    np.testing.assert_array_equal(np.asarray(default.coef), np.asarray(one.coef))
