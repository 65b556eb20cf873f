"""Transformation invariants: jit == eager, vmap == loop, no recompilation, dtypes kept."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _jaxreg_problems import alpha_max_squared, classification, regression

import jaxreg
from jaxreg import _engine, path

X, Y, SW = regression(60, 12, "corr", seed=5, weights=True)
XC, YC, _ = classification(80, 6, "random", seed=5)
AMAX = alpha_max_squared(X, Y)


def assert_fits_close(a, b, atol):
    np.testing.assert_allclose(a.coef, b.coef, atol=atol, rtol=0)
    np.testing.assert_allclose(a.intercept, b.intercept, atol=atol, rtol=0)


@pytest.mark.parametrize(
    "fit_fn",
    [
        lambda a: jaxreg.lasso(X, Y, a, sample_weight=SW, tol=1e-12),
        lambda a: jaxreg.elastic_net(X, Y, a, 0.3, tol=1e-12, gram=False),
        lambda a: jaxreg.ridge(X, Y, 10 * a),
        lambda a: jaxreg.logistic(XC, YC, 0.1 * a, tol=1e-12),
    ],
    ids=["lasso", "enet-design", "ridge", "logistic"],
)
def test_jit_equals_eager(fit_fn):
    alpha = 0.2 * AMAX
    jitted = jax.jit(fit_fn)(alpha)
    with jax.disable_jit():
        eager = fit_fn(alpha)
    assert_fits_close(jitted, eager, 1e-10)
    assert int(jitted.status) == int(eager.status) == 0


def test_vmap_over_50_alphas_equals_loop():
    alphas = AMAX * np.geomspace(1.0, 1e-2, 50)
    batched = jax.vmap(lambda a: jaxreg.lasso(X, Y, a, tol=1e-12))(jnp.asarray(alphas))
    assert batched.coef.shape == (50, X.shape[1])
    for i, a in enumerate(alphas):
        single = jaxreg.lasso(X, Y, float(a), tol=1e-12)
        np.testing.assert_allclose(batched.coef[i], single.coef, atol=1e-9, rtol=0)
        np.testing.assert_allclose(batched.intercept[i], single.intercept, atol=1e-9, rtol=0)
    assert np.all(np.asarray(batched.status) == 0)
    # The first alpha is alpha_max: certified optimal at zero, without iterating.
    assert int(batched.n_iter[0]) == 0 and np.all(np.asarray(batched.coef[0]) == 0)


@pytest.mark.parametrize("what", ["l1_ratio", "sample_weight", "penalty_factor"])
def test_vmap_over_other_hyperparameters_equals_loop(what):
    rng = np.random.default_rng(0)
    if what == "l1_ratio":
        values = np.linspace(0.1, 1.0, 6)
        fit = lambda v: jaxreg.elastic_net(X, Y, 0.1 * AMAX, v, tol=1e-12)  # noqa: E731
    elif what == "sample_weight":
        values = rng.uniform(0.1, 2.0, (5, X.shape[0]))
        fit = lambda v: jaxreg.lasso(X, Y, 0.1 * AMAX, sample_weight=v, tol=1e-12)  # noqa: E731
    else:
        values = rng.uniform(0.0, 2.0, (5, X.shape[1]))
        fit = lambda v: jaxreg.lasso(X, Y, 0.1 * AMAX, penalty_factor=v, tol=1e-12)  # noqa: E731
    batched = jax.vmap(fit)(jnp.asarray(values))
    for i, v in enumerate(values):
        assert_fits_close(jax.tree.map(lambda a, i=i: a[i], batched), fit(v), 1e-9)


def test_no_recompilation_when_hyperparameters_change():
    jaxreg.lasso(X, Y, 0.5 * AMAX)
    before = _engine.solve_glm._cache_size()
    for a in [0.1, 0.2, 0.3]:
        jaxreg.lasso(X, Y, a * AMAX)
        jaxreg.elastic_net(X, Y, a * AMAX, a)
        jaxreg.lasso(X, Y, a * AMAX, sample_weight=SW, penalty_factor=np.full(12, a), tol=a * 1e-3)
    assert _engine.solve_glm._cache_size() == before

    traces = []

    @jax.jit
    def user_program(alpha):
        traces.append(1)  # runs once per trace
        return jaxreg.lasso(X, Y, alpha).coef

    for a in [0.1, 0.2, 0.3, 0.4]:
        user_program(a * AMAX)
    assert len(traces) == 1

    # A new eps (the default grid's depth) is a traced value too.
    jaxreg.lasso_path(X, Y, n_alphas=5, eps=1e-2)
    before = path._glm_path._cache_size()
    jaxreg.lasso_path(X, Y, n_alphas=5, eps=1e-3)
    assert path._glm_path._cache_size() == before

    jaxreg.ridge(X, Y, 1.0)
    before = _engine.solve_ridge._cache_size()
    for a in [2.0, 3.0]:
        jaxreg.ridge(X, Y, a)
    assert _engine.solve_ridge._cache_size() == before


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_preserved(dtype):
    Xd, yd = X.astype(dtype), Y.astype(dtype)
    for fit in (
        jaxreg.lasso(Xd, yd, 0.1 * AMAX),
        jaxreg.elastic_net(Xd, yd, 0.1 * AMAX, 0.5, standardize=True),
        jaxreg.ridge(Xd, yd, 1.0),
        jaxreg.ridge(Xd, yd, 1.0, positive=True),
        jaxreg.logistic(XC.astype(dtype), YC.astype(dtype), 0.01),
    ):
        for field in ("coef", "intercept", "gap", "gap_tol", "kkt", "objective"):
            assert getattr(fit, field).dtype == dtype, field
        assert fit.status.dtype == np.int32 and fit.n_iter.dtype == np.int32


def test_integer_inputs_use_the_default_float():
    Xi = np.round(X * 10).astype(np.int64)
    fit = jaxreg.lasso(Xi, Y, 1.0)
    assert fit.coef.dtype == jnp.zeros(()).dtype
