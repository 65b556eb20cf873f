"""Designs with extreme or uneven column magnitudes: the fits are the scaled
fits of the unscaled data (the objective is equivariant), certified.

Before the internal power-of-two rescaling, X * 1e200 gave alpha_max 0 and
all-zero coefficients marked CONVERGED with gap 0, X * 1e80 (float32: 1e10)
NaN coefficients, and float32 columns spread over 1e-6..1e6 ran to max_iter.
"""

from __future__ import annotations

import jax
import numpy as np
import pytest
import scipy.sparse as sp
from _jaxreg_problems import classification, regression

import jaxreg
from jaxreg import _rescale
from jaxreg.estimators import LassoCV

X, Y, _ = regression(60, 8, seed=3)
XC, YC, _ = classification(80, 5, seed=4)
CONVERGED = jaxreg.Status.CONVERGED


def _amax(X, y, **kw):
    return float(jaxreg.alpha_max(X, y, **kw))


def test_well_scaled_designs_are_left_alone():
    # Fits on ordinary data stay bit for bit what they were.
    assert _rescale.column_scales(X) is None
    assert _rescale.column_scales(X * 100.0) is None
    from jax.experimental import sparse as jsparse

    mask = (np.abs(X) < 0.5).astype(float)
    assert _rescale.column_scales(jsparse.BCOO.fromdense(mask)) is None
    assert _rescale.column_scales(jsparse.BCOO.fromdense(mask * 1e-30)) is not None


def test_scales_are_powers_of_two_bringing_columns_to_one():
    A = X * np.logspace(-8, 8, X.shape[1])
    A[:, 3] = 0.0
    c = _rescale.column_scales(A)
    top = np.abs(A).max(axis=0)
    assert c[3] == 1.0
    on = top > 0
    assert np.all(np.log2(c) == np.round(np.log2(c)))
    assert np.all((top[on] / c[on] >= 1.0) & (top[on] / c[on] < 2.0))


@pytest.mark.parametrize("scale", [1e200, 1e80, 1e-200])
@pytest.mark.parametrize("sparse", [False, True])
def test_lasso_is_scale_equivariant(scale, sparse):
    # lasso(c X, y, c alpha) = lasso(X, y, alpha) / c.
    ref_alpha = 0.1 * _amax(X, Y)
    ref = jaxreg.lasso(X, Y, ref_alpha, tol=1e-10)
    Xs = X * scale
    data = sp.csr_matrix(Xs) if sparse else Xs
    np.testing.assert_allclose(_amax(data, Y) / scale, _amax(X, Y), rtol=1e-12)
    fit = jaxreg.lasso(data, Y, ref_alpha * scale, tol=1e-10)
    assert fit.status == CONVERGED
    np.testing.assert_allclose(np.asarray(fit.coef) * scale, ref.coef, rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(fit.intercept, ref.intercept, rtol=1e-9)
    np.testing.assert_allclose(fit.objective, ref.objective, rtol=1e-9)


def test_ridge_and_standardized_elastic_net_are_scale_equivariant():
    c = 1e100
    ref = jaxreg.ridge(X, Y, 2.0)
    fit = jaxreg.ridge(X * c, Y, 2.0 * c * c)
    assert fit.status == CONVERGED
    np.testing.assert_allclose(np.asarray(fit.coef) * c, ref.coef, rtol=1e-9)
    # A standardized penalty does not see the column scales at all.
    scales = np.logspace(-150, 150, X.shape[1])
    ref = jaxreg.elastic_net(X, Y, 0.05, 0.5, standardize=True, tol=1e-10)
    fit = jaxreg.elastic_net(X * scales, Y, 0.05, 0.5, standardize=True, tol=1e-10)
    assert fit.status == CONVERGED
    np.testing.assert_allclose(np.asarray(fit.coef) * scales, ref.coef, rtol=1e-7, atol=1e-10)


def test_tiny_columns_keep_finite_l2_weights():
    # Columns of 1e-200 would need c ~ 2^-665, and an L2 weight per unit of
    # alpha of 1/c^2 ~ 2^1330, beyond float64: the scales stop at 2^-511 so
    # that alpha * pf / c^2 is exact. (The weight was clipped to the largest
    # float: coefficients 1e45 times too small, marked CONVERGED.)
    s, t, alpha = 1e-200, 1e-66, 1.29e134
    c = _rescale.column_scales(X * s)
    assert np.all(np.isfinite(1.0 / c**2))
    ref = jaxreg.ridge(X, Y, alpha)
    fit = jaxreg.ridge(X * s, Y * t, alpha * s * s)
    assert fit.status == CONVERGED
    np.testing.assert_allclose(np.asarray(fit.coef) * s / t, ref.coef, rtol=1e-9)
    np.testing.assert_allclose(fit.objective, ref.objective * t * t, rtol=1e-9)
    cv = jaxreg.cross_validate(X * s, Y * t, "ridge", alphas=[alpha * s * s], cv=3)
    np.testing.assert_allclose(np.asarray(cv.best.coef) * s / t, ref.coef, rtol=1e-9)


@pytest.mark.parametrize("scale", [1e200, 1e-200])
def test_l2_weights_per_unit_alpha_stay_normal(scale):
    # Columns of 1e200 need c ~ 2^664: pf / c^2 underflowed and was held at
    # the smallest normal number, the same for every column, so the penalty
    # factors were lost (a ridge path over 1e200 columns solved another
    # problem, marked CONVERGED). The scales now stop where each column's L2
    # weight per unit of alpha, normalized pf / c^2, stays normal with room.
    pf = np.logspace(-60, 60, X.shape[1])
    c = _rescale.column_scales(X * scale, pf)
    weights = pf * (pf.size / pf.sum()) / c**2
    tiny, huge = np.finfo(np.float64).tiny, np.finfo(np.float64).max
    assert np.all((weights > tiny * 2.0**10) & (weights < huge / 2.0**10))
    # Still powers of two, and the columns' squares finite.
    assert np.all(np.log2(c) == np.round(np.log2(c)))
    assert np.all(np.isfinite((X * scale / c) ** 2))


@pytest.mark.parametrize(
    "cv, wide", [(3, False), ("loo", False), ("gcv", False), ("loo", True), ("gcv", True)]
)
def test_ridge_cv_on_huge_columns(cv, wide):
    # Columns of 1e154 are scaled by 2^511, and ridge CV formed its spectrum
    # in the caller's metric (G * c c', or X c): it overflowed, and scores
    # were NaN next to a CONVERGED status (K-fold) or the fits NONFINITE.
    A, b = (X[:6], Y[:6]) if wide else (X, Y)
    s, alphas = 1e154, np.array([1e-3, 0.1, 1.0])
    ref = jaxreg.cross_validate(A, b, "ridge", alphas=alphas, cv=cv)
    res = jaxreg.cross_validate(A * s, b, "ridge", alphas=alphas * s * s, cv=cv)
    np.testing.assert_allclose(res.fold_scores, ref.fold_scores, rtol=1e-9)
    assert np.all(np.asarray(res.path.status) == np.asarray(ref.path.status))


def test_uneven_columns_keep_their_elastic_net_weights():
    # Per column, L1 weight pf / c and L2 weight pf / c^2: the elastic net on
    # X diag(s) at coef / s is the elastic net on X with those weights, which
    # an unscaled fit reproduces when s is one but on one column, through the
    # exact answer of a tiny tolerance.
    s = np.ones(X.shape[1])
    s[2] = 2.0**40
    fit = jaxreg.elastic_net(X * s, Y, 0.05, 0.5, tol=1e-12)
    assert fit.status == CONVERGED
    coef = np.asarray(fit.coef) * s
    # KKT of the unscaled problem whose column 2 has L1 weight / 2^40 and L2 / 2^80.
    n = len(Y)
    r = Y - fit.intercept - X @ coef
    g = -(X.T @ r) / n
    l1 = 0.05 * 0.5 / s
    l2 = 0.05 * 0.5 / s**2
    on = coef != 0
    np.testing.assert_allclose(g[on] + l2[on] * coef[on], -l1[on] * np.sign(coef[on]), atol=1e-8)
    assert np.all(np.abs(g[~on]) <= l1[~on] + 1e-8)


@pytest.mark.parametrize("scale", [1e10, 1e25])
def test_float32_lasso_on_large_values(scale):
    # NaN (1e10) or zeros marked CONVERGED (1e25) before.
    X32, y32 = X.astype(np.float32), Y.astype(np.float32)
    alpha = 0.1 * _amax(X32, y32)
    ref = jaxreg.lasso(X32, y32, alpha)
    fit = jaxreg.lasso(X32 * np.float32(scale), y32, alpha * scale)
    assert fit.status == CONVERGED
    np.testing.assert_allclose(np.asarray(fit.coef) * scale, ref.coef, rtol=2e-3, atol=1e-4)


def test_float32_uneven_columns_converge():
    # MAX_ITER after 20 000 iterations before (the gap stuck far above tol).
    s = np.logspace(-3, 3, X.shape[1])
    ref = jaxreg.lasso(X * s, Y, 0.01, tol=1e-10)
    fit = jaxreg.lasso((X * s).astype(np.float32), Y.astype(np.float32), 0.01)
    assert fit.status == CONVERGED and int(fit.n_iter) < 2000
    assert float(fit.objective) <= float(ref.objective) * (1 + 1e-4)


def test_float32_logistic_uneven_columns_converge():
    s = np.logspace(-2, 2, XC.shape[1])
    fit = jaxreg.logistic((XC * s).astype(np.float32), YC.astype(np.float32), 0.001)
    assert fit.status == CONVERGED
    ref = jaxreg.logistic(XC * s, YC, 0.001, tol=1e-10)
    assert float(fit.objective) <= float(ref.objective) * (1 + 1e-4)


def test_bounds_and_penalty_factors_stay_on_the_callers_scale():
    c = 2.0**100 * 3.0
    pf = np.r_[0.0, np.ones(X.shape[1] - 1)]
    kw = dict(upper=0.5, penalty_factor=pf, tol=1e-10)
    ref = jaxreg.lasso(X, Y, 0.05, **kw)
    fit = jaxreg.lasso(X * c, Y, 0.05 * c, **(kw | dict(upper=0.5 / c)))
    assert fit.status == CONVERGED
    np.testing.assert_allclose(np.asarray(fit.coef) * c, ref.coef, rtol=1e-7, atol=1e-10)
    assert np.all(np.asarray(fit.coef) <= 0.5 / c)


def test_paths_and_cross_validation_on_large_values():
    c = 1e150
    kw = dict(n_alphas=8, cv=3, tol=1e-10, gram=False)
    ref = jaxreg.cross_validate(X, Y, **kw)
    cv = jaxreg.cross_validate(X * c, Y, **kw)
    np.testing.assert_allclose(cv.mean, ref.mean, rtol=1e-6)
    np.testing.assert_allclose(float(cv.alpha_min) / c, float(ref.alpha_min), rtol=1e-12)
    assert np.all(np.asarray(cv.path.status) == CONVERGED)
    path = jaxreg.lasso_path(X * c, Y, n_alphas=8, tol=1e-10)
    np.testing.assert_allclose(np.asarray(path.coef) * c, ref.path.coef[0], rtol=1e-6, atol=1e-9)
    assert np.all(np.isfinite(np.asarray(jaxreg.cross_validate(X * c, Y, n_alphas=8).mean)))
    ridge = jaxreg.cross_validate(X * 1e100, Y, "ridge", alphas=[1e200, 1e202], cv=3)
    ref = jaxreg.cross_validate(X, Y, "ridge", alphas=[1.0, 100.0], cv=3)
    np.testing.assert_allclose(ridge.mean, ref.mean, rtol=1e-9)


def test_lasso_cv_estimator_on_large_float32_values():
    # LassoCV picked an all-zero vector from NaN folds before.
    X32, y32 = X.astype(np.float32), Y.astype(np.float32)
    ref = LassoCV(cv=3).fit(X32, y32)
    est = LassoCV(cv=3).fit(X32 * np.float32(1e10), y32)
    np.testing.assert_allclose(est.coef_ * 1e10, ref.coef_, rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(est.alpha_ / 1e10, ref.alpha_, rtol=1e-5)


def test_gradients_through_a_rescaled_fit():
    # Implicit differentiation sees the same problem on the rescaled columns.
    c = 2.0**120
    amax = _amax(X, Y)

    def ref(a):
        return jaxreg.lasso(X, Y, a, tol=1e-12).coef.sum()

    def big(a):
        return jaxreg.lasso(X * c, Y, a * c, tol=1e-12).coef.sum() * c

    np.testing.assert_allclose(jax.grad(big)(0.1 * amax), jax.grad(ref)(0.1 * amax), rtol=1e-6)


def _ridge_objective(A, y, w, b, alpha):
    r = y - A @ w - b
    return float(r @ r + alpha * w @ w)


@pytest.mark.parametrize("scale, dtype", [(1e4, np.float32), (1e6, np.float32), (1e20, np.float64)])
def test_ridge_certificate_on_large_columns(scale, dtype):
    # The duality gap alone measured the gradient against the L2 weight only:
    # INACCURATE with gaps of 30 to 5e8 against 0.09, the fit exact.
    A = X * scale
    fit = jaxreg.ridge(A.astype(dtype), Y.astype(dtype), 1.0)
    assert fit.status == CONVERGED
    # The exact optimum in float64, intercept and all (augmented least squares).
    Z = np.column_stack([A - A.mean(0), np.ones(len(Y))])
    w = np.linalg.solve(Z.T @ Z + np.diag(np.r_[np.ones(X.shape[1]), 0.0]), Z.T @ Y)
    best = _ridge_objective(A, Y, w[:-1], w[-1] - A.mean(0) @ w[:-1], 1.0)
    got = _ridge_objective(A, Y, np.asarray(fit.coef, float), float(fit.intercept), 1.0)
    assert got - best <= float(fit.gap_tol)


def test_ridge_newton_decrement_measures_a_wrong_fit():
    # The decrement is the exact suboptimality of a quadratic: it must see a
    # perturbed solution, not vouch for anything the factorization returns.
    from jaxreg import _engine
    from jaxreg._spec import make_hyper
    from jaxreg.datafits import Quadratic

    opts = dict(
        sample_weight=None,
        penalty_factor=None,
        lower=None,
        upper=None,
        positive=False,
        tol=1e-4,
        max_iter=100,
    )
    inputs = _engine.checked_inputs(Quadratic, X * 1e20, Y, opts)
    hyper = make_hyper(inputs, 1.0)
    data = _engine.ridge_data(inputs.X, inputs.y, hyper, True, False)
    reg = (hyper.alpha / data.total) * data.pf
    beta, solve = _engine._ridge_beta(data, reg, hyper, "cholesky")
    exact = _engine.certified_ridge(data, 1.0, beta, 1e-4, True, hessian_solve=solve)
    off = _engine.certified_ridge(data, 1.0, beta * 1.1, 1e-4, True, hessian_solve=solve)
    assert float(exact.gap) < 1e-12 * float(exact.gap_tol)
    assert float(off.gap) > float(off.gap_tol)
    # The same perturbation, measured in float64 numpy.
    coef_off = np.asarray(off.coef)
    subopt = _ridge_objective(X * 1e20, Y, coef_off, float(off.intercept), 1.0) - _ridge_objective(
        X * 1e20, Y, np.asarray(exact.coef), float(exact.intercept), 1.0
    )
    np.testing.assert_allclose(float(off.gap), subopt, rtol=1e-6)
