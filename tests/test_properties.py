"""Property-based tests on random small problems."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from test_sklearn import enet_kkt

import jaxreg

SETTINGS = settings(max_examples=25, deadline=None, derandomize=True)


@st.composite
def problems(draw):
    # A few fixed shapes keep compilation cached across examples.
    n, p = draw(st.sampled_from([(12, 4), (25, 8), (10, 15)]))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)) * rng.uniform(0.3, 3.0, p) + rng.uniform(-1, 1, p)
    y = X @ (rng.standard_normal(p) * (rng.uniform(size=p) < 0.5)) + rng.standard_normal(n)
    sw = rng.uniform(0.1, 2.0, n) if draw(st.booleans()) else None
    return X, y, sw, draw(st.booleans())


@SETTINGS
@given(problems(), st.floats(0.01, 1.0), st.sampled_from([1.0, 0.6, 0.1]))
def test_kkt_holds(problem, frac, l1_ratio):
    X, y, sw, fit_intercept = problem
    amax = float(jaxreg.alpha_max(X, y, l1_ratio, sample_weight=sw, fit_intercept=fit_intercept))
    alpha = frac * amax
    # At the tolerance floor the stopping rule guarantees a prox-gradient residual
    # of about sqrt(2 L 1e-15 ||y||^2): well inside the threshold below.
    fit = jaxreg.elastic_net(
        X, y, alpha, l1_ratio, sample_weight=sw, fit_intercept=fit_intercept, tol=1e-15
    )
    assert int(fit.status) == 0
    s = np.ones(len(y)) if sw is None else sw
    viol = enet_kkt(X, y, s, np.asarray(fit.coef), float(fit.intercept), alpha, l1_ratio)
    assert viol <= 1e-6 * max(amax * l1_ratio, 1e-3)


@SETTINGS
@given(problems(), st.sampled_from([1.0, 0.5]))
def test_zero_solution_exactly_from_alpha_max(problem, l1_ratio):
    X, y, sw, fit_intercept = problem
    kw = dict(sample_weight=sw, fit_intercept=fit_intercept)
    amax = float(jaxreg.alpha_max(X, y, l1_ratio, **kw))
    for factor in (1.0, 1.5, 10.0):
        fit = jaxreg.elastic_net(X, y, factor * amax, l1_ratio, tol=1e-12, **kw)
        assert np.all(np.asarray(fit.coef) == 0.0)
    below = jaxreg.elastic_net(X, y, 0.99 * amax, l1_ratio, tol=1e-12, **kw)
    assert np.count_nonzero(np.asarray(below.coef)) >= 1


@SETTINGS
@given(problems(), st.floats(1e-3, 1e3))
def test_ridge_equals_normal_equations(problem, alpha):
    X, y, sw, fit_intercept = problem
    n, p = X.shape
    s = np.ones(n) if sw is None else sw
    if fit_intercept:
        xm, ym = s @ X / s.sum(), s @ y / s.sum()
    else:
        xm, ym = np.zeros(p), 0.0
    Xc, yc = X - xm, y - ym
    w = np.linalg.solve(Xc.T @ (s[:, None] * Xc) + alpha * np.eye(p), Xc.T @ (s * yc))
    fit = jaxreg.ridge(X, y, alpha, sample_weight=sw, fit_intercept=fit_intercept)
    scale = max(1.0, np.abs(w).max())
    np.testing.assert_allclose(fit.coef, w, atol=1e-8 * scale, rtol=0)
    np.testing.assert_allclose(fit.intercept, ym - xm @ w, atol=1e-8 * scale, rtol=0)
