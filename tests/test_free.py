"""Free coordinates (zero penalty factors, alpha = 0): the refit of the free
block and its certificate (:mod:`jaxreg._free`).

Before it, these fits were certified by the KKT residual alone: CONVERGED
with gap 0 on separable labels (no minimizer exists), and far above the
optimum on nearly collinear free columns.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.optimize import minimize

import jaxreg
from jaxreg import Status, _free
from jaxreg.datafits import Design, Logistic


def _logloss(z, y, s):
    return float(np.sum(s * (np.logaddexp(0.0, z) - y * z)))


def _unpenalized_logistic(X, y, s):
    """The unpenalized logistic optimum (intercept included), by BFGS to 1e-12."""
    A = np.c_[X, np.ones(len(y))]

    def f(w):
        z = A @ w
        p = 1.0 / (1.0 + np.exp(-z))
        return _logloss(z, y, s), A.T @ (s * (p - y))

    res = minimize(f, np.zeros(A.shape[1]), jac=True, method="BFGS", options=dict(gtol=1e-13))
    return res.fun, res.x


def test_lasso_at_alpha_zero_is_least_squares_and_certified():
    rng = np.random.default_rng(0)
    # Nearly collinear columns: a small gradient is far from the optimum.
    X = rng.standard_normal((40, 6))
    X[:, 5] = X[:, 4] + 1e-4 * rng.standard_normal(40)
    y = X @ rng.standard_normal(6) + 0.1 * rng.standard_normal(40)
    fit = jaxreg.lasso(X, y, 0.0, tol=1e-10)
    A = np.c_[X, np.ones(40)]
    w = np.linalg.lstsq(A, y, rcond=None)[0]
    best = 0.5 * np.mean((y - A @ w) ** 2)
    assert fit.status == Status.CONVERGED
    assert float(fit.objective) - best <= float(fit.gap) + 1e-15
    # The collinear pair is determined only through its sum (to the gap):
    # compare predictions.
    pred = X @ np.asarray(fit.coef) + float(fit.intercept)
    np.testing.assert_allclose(pred, A @ w, rtol=1e-6, atol=1e-6 * np.abs(y).max())


def test_wide_free_columns_spread_in_scale():
    """A wide design with columns from 1e-10 to 1e10 and three unpenalized:
    the last point of the path (alpha 0, least squares) was CONVERGED with
    gap 0 while 2e4 above the optimum."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((8, 12)) * 10.0 ** np.linspace(-10, 10, 12)
    y = rng.standard_normal(8)
    pf = np.ones(12)
    pf[[1, 5, 9]] = 0.0
    path = jaxreg.lasso_path(X, y, alphas=[1.6e13, 1e3, 0.0], penalty_factor=pf)
    for k in range(3):
        fit = path.fit(k)
        if fit.status != Status.CONVERGED:
            continue
        # The first point: the penalized coefficients are zero, the free ones
        # the least-squares fit on their columns.
        if k == 0:
            A = np.c_[X[:, [1, 5, 9]], np.ones(8)]
            w = np.linalg.lstsq(A, y, rcond=None)[0]
            best = 0.5 * np.mean((y - A @ w) ** 2)
        else:
            best = 0.0 if k == 2 else None  # 8 samples, 12 columns: interpolation
        if best is not None:
            assert float(fit.objective) - best <= 1.1 * float(fit.gap) + 1e-12 * np.var(y)
    assert path.status[0] == Status.CONVERGED and path.status[2] == Status.CONVERGED


@pytest.mark.parametrize("n, p", [(60, 4), (30, 40)])
def test_logistic_with_unpenalized_features(n, p):
    """The free coordinates are refit, and the gap bounds the distance to an
    optimum found independently (penalized coordinates held at the fit's,
    which a converged fit's support makes the full problem's optimum where
    the gap is tight)."""
    rng = np.random.default_rng(1)
    X = rng.standard_normal((n, p))
    y = (X[:, 0] - X[:, 1] + rng.standard_normal(n) > 0) * 1.0
    pf = np.ones(p)
    pf[[0, 2]] = 0.0
    fit = jaxreg.logistic(X, y, 0.05, penalty_factor=pf, tol=1e-8)
    assert fit.status in (Status.CONVERGED, Status.NO_MINIMIZER)
    if fit.status == Status.NO_MINIMIZER:
        return
    # Optimize the free block from the fit's point with the rest held fixed.
    coef = np.asarray(fit.coef)
    rest = X @ np.where(pf > 0, coef, 0.0)
    s = np.full(n, 1.0 / n)
    A = np.c_[X[:, [0, 2]], np.ones(n)]

    def f(w):
        z = rest + A @ w
        q = 1.0 / (1.0 + np.exp(-z))
        return _logloss(z, y, s), A.T @ (s * (q - y))

    start = np.r_[coef[[0, 2]], float(fit.intercept)]
    res = minimize(f, start, jac=True, method="BFGS", options=dict(gtol=1e-13))
    # Penalty factors are rescaled to sum to p (see docs/conventions.md).
    penalty = 0.05 * np.sum(pf * p / pf.sum() * np.abs(coef))
    assert float(fit.objective) - (res.fun + penalty) <= 1.1 * float(fit.gap) + 1e-13


def test_unpenalized_logistic_matches_the_optimum():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((50, 5))
    y = (X @ rng.standard_normal(5) + 2.0 * rng.standard_normal(50) > 0) * 1.0
    fit = jaxreg.logistic(X, y, 0.0, tol=1e-10)
    best, w = _unpenalized_logistic(X, y, np.full(50, 1 / 50))
    assert fit.status == Status.CONVERGED
    assert float(fit.objective) - best <= 1.1 * float(fit.gap) + 1e-14
    np.testing.assert_allclose(fit.coef, w[:5], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(fit.intercept, w[5], rtol=1e-5, atol=1e-7)


def test_separable_labels_have_no_minimizer():
    """Unpenalized logistic regression on separable labels: was CONVERGED with
    gap 0 after 30 iterations."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((12, 4))
    y = (X[:, 0] > 0) * 1.0
    assert jaxreg.logistic(X, y, 0.0).status == Status.NO_MINIMIZER
    # Separated by the unpenalized column alone, whatever the penalized do.
    pf = np.array([0.0, 1.0, 1.0, 1.0])
    assert jaxreg.logistic(X, y, 0.1, penalty_factor=pf).status == Status.NO_MINIMIZER
    # Not separable: a minimizer exists and is certified.
    X = rng.standard_normal((200, 4))
    y = (X[:, 0] + rng.standard_normal(200) > 0) * 1.0
    assert jaxreg.logistic(X, y, 0.0, tol=1e-8).status == Status.CONVERGED


def test_traced_alpha_zero_is_never_certified_wrongly():
    """A traced alpha is taken as positive (no refit is compiled): at zero,
    only the zero dual point can certify, and here it cannot (STALLED)."""
    rng = np.random.default_rng(4)
    X = rng.standard_normal((30, 5))
    X[:, 4] = X[:, 3] + 1e-6 * rng.standard_normal(30)
    y = X @ np.ones(5) + rng.standard_normal(30)
    eager = jaxreg.lasso(X, y, 0.0, tol=1e-10)
    traced = jax.jit(lambda a: jaxreg.lasso(X, y, a, tol=1e-10))(0.0)
    assert eager.status == Status.CONVERGED
    assert traced.status == Status.STALLED
    # Where the zero dual point does certify (interpolation, p > n), it does.
    Xw = rng.standard_normal((6, 10))
    yw = rng.standard_normal(6)
    wide = jax.jit(lambda a: jaxreg.lasso(Xw, yw, a, tol=1e-6, max_iter=100_000))(0.0)
    if wide.status == Status.CONVERGED:
        assert float(wide.objective) <= float(wide.gap) * 1.0000001


def _logistic_datafit(X, y, s):
    n, p = X.shape
    design = Design(jnp.asarray(X), jnp.zeros(p), jnp.ones(p))
    return Logistic(design, jnp.asarray(y), jnp.asarray(s), fit_intercept=True)


@pytest.mark.parametrize("n, p", [(40, 3), (5, 10)])
@pytest.mark.parametrize("distance", [0.01, 0.3, 3.0])
def test_logistic_decrement_bound_holds(n, p, distance):
    """At points around the optimum, the bound on what the free block can
    gain is at least the true gain, and close to it near the optimum (``n <
    p``: the kernel route, on data that is not separable)."""
    rng = np.random.default_rng(5)
    X = rng.standard_normal((n, p))
    y = (rng.standard_normal(n) > 0) * 1.0
    if n < p:
        # Two copies of each sample with opposite labels: no separation.
        X, y = np.r_[X, X], np.r_[y, 1.0 - y]
        n = 2 * n
    # Columns scaled up: Hessian eigenvalues well above 1, where a decrement
    # computed with the kernel's inverse instead of its projection shrinks.
    X = 5.0 * X
    s = rng.uniform(0.5, 1.5, n)
    s /= s.sum()
    best, w = _unpenalized_logistic(X, y, s)
    datafit = _logistic_datafit(X, y, s)
    mask = jnp.ones(p, bool)
    for _ in range(5):
        point = w + distance * rng.standard_normal(p + 1) / np.sqrt(p + 1)
        beta, b = jnp.asarray(point[:p]), jnp.asarray(point[p])
        u = datafit.forward(beta)
        block = _free._Block(datafit, mask, p, u, b)
        _, _, bound = _free._bound(datafit, block, 1.0, beta, b, u)
        gain = _logloss(X @ point[:p] + point[p], y, s) - best
        assert float(bound) >= gain * (1 - 1e-9) - 1e-15
        if distance == 0.01:
            assert float(bound) <= 5.0 * gain + 1e-14


@pytest.mark.parametrize("alpha", [5e-324, 1e-300])
def test_negligible_alpha_is_certified_as_free(alpha):
    """An alpha within ten decades of the smallest normal number: the
    solver's products with the penalty underflow, and its gap read 0 where
    the gap at that alpha was 0.10. Such weights are taken as none, and
    their value added to the gap."""
    rng = np.random.default_rng(6)
    X = rng.standard_normal((12, 4))
    y = X @ np.array([1.0, -2.0, 0.0, 0.5]) + rng.standard_normal(12)
    fit = jaxreg.lasso(X, y, alpha)
    A = np.c_[X, np.ones(12)]
    w = np.linalg.lstsq(A, y, rcond=None)[0]
    best = 0.5 * np.mean((y - A @ w) ** 2)
    assert fit.status == Status.CONVERGED
    assert float(fit.objective) - best <= 1.1 * float(fit.gap) + 1e-15
    np.testing.assert_allclose(fit.coef, w[:4], rtol=1e-4)


def test_unrolled_fits_keep_their_status_with_unpenalized_features():
    """An unrolled (scanned) solve compiles no refit: its unpenalized features
    are certified by the KKT residual as before, not sent to STALLED."""
    rng = np.random.default_rng(7)
    X = rng.standard_normal((40, 5))
    y = X @ np.ones(5) + rng.standard_normal(40)
    pf = np.array([0.0, 1.0, 1.0, 1.0, 1.0])
    unrolled = jaxreg.lasso(X, y, 0.01, penalty_factor=pf, diff="unrolled", max_iter=2000)
    implicit = jaxreg.lasso(X, y, 0.01, penalty_factor=pf)
    assert unrolled.status == implicit.status == Status.CONVERGED
    np.testing.assert_allclose(unrolled.coef, implicit.coef, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("loss", ["squared", "logistic"])
def test_sparse_design_refits_like_a_dense_one(loss):
    """The block's columns come from a sparse design through a product with
    their indicator, from a dense one by a gather: the same fit."""
    import scipy.sparse as sps

    rng = np.random.default_rng(8)
    X = rng.standard_normal((60, 8)) * (rng.uniform(size=(60, 8)) < 0.5)
    y = X @ np.ones(8) + rng.standard_normal(60)
    if loss == "logistic":
        y = (y > np.median(y)) * 1.0
    fn = jaxreg.lasso if loss == "squared" else jaxreg.logistic
    pf = np.r_[0.0, 0.0, np.ones(6)]
    dense = fn(X, y, 0.05, penalty_factor=pf, tol=1e-10)
    sparse = fn(sps.csr_matrix(X), y, 0.05, penalty_factor=pf, tol=1e-10)
    assert dense.status == sparse.status == Status.CONVERGED
    np.testing.assert_allclose(sparse.coef, dense.coef, rtol=1e-6, atol=1e-8)
