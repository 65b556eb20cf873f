"""The entry points' two compilations: float64 on CPU without XLA's tree-reduction
rewrite, everything else as XLA compiles it."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxreg
from jaxreg import _compile, path
from tests._problems import regression

CPU = jax.default_backend() == "cpu"


def _windowed(compiled) -> int:
    return compiled.as_text().count("reduce-window")


@pytest.mark.skipif(not CPU, reason="the option is used on CPU only")
def test_float64_compiles_without_the_rewrite_and_float32_keeps_it():
    total = _compile.jit(lambda x: jnp.sum(x * x))
    x = np.linspace(0.0, 1.0, 1000)  # a length XLA rewrites (longer sums go to XNNPACK)
    assert _windowed(total.lower(x).compile()) == 0
    # float32 (and mixed inputs) keep the accurate windowed sums.
    assert _windowed(total.lower(x.astype(np.float32)).compile()) > 0
    mixed = _compile.jit(lambda x, w: jnp.sum(x * w))
    assert _windowed(mixed.lower(x, x.astype(np.float32)).compile()) > 0


def test_same_answers_both_ways():
    total = _compile.jit(lambda x: jnp.sum(x * x))
    x = np.random.default_rng(0).standard_normal(50_000)
    np.testing.assert_allclose(float(total(x)), float(jnp.sum(jnp.asarray(x) ** 2)), rtol=1e-12)


def test_traced_calls_use_the_plain_jit():
    # Inside a user's jit, grad or vmap only the outermost jit may take
    # compiler options: the entry points must still compose.
    X, y, _ = regression(40, 12, "random", seed=3, k=3)
    amax = float(jaxreg.alpha_max(X, y))
    eager = np.asarray(jaxreg.lasso(X, y, 0.2 * amax, tol=1e-12).coef)
    jitted = jax.jit(lambda a: jaxreg.lasso(X, y, a, tol=1e-12).coef)(0.2 * amax)
    np.testing.assert_allclose(jitted, eager, atol=1e-10)
    grad = jax.grad(lambda a: jnp.sum(jaxreg.lasso(X, y, a, tol=1e-12).coef ** 2))(0.2 * amax)
    assert np.isfinite(float(grad))
    batched = jax.vmap(lambda a: jaxreg.lasso(X, y, a, tol=1e-12).coef)(
        jnp.asarray([0.2, 0.5]) * amax
    )
    np.testing.assert_allclose(batched[0], eager, atol=1e-10)


def test_path_same_both_ways():
    # The float64 path (no rewrite) and a float64 path traced inside a jit
    # (the plain compilation, with the rewrite) agree to rounding.
    X, y, _ = regression(60, 200, "corr", seed=4, k=5)
    kw = dict(n_alphas=15, eps=1e-2, tol=1e-12)
    direct = jaxreg.lasso_path(X, y, **kw)
    assert path._glm_path._cache_size() >= 1
    traced = jax.jit(lambda X, y: jaxreg.lasso_path(X, y, **kw).coef)(X, y)
    np.testing.assert_allclose(direct.coef, traced, atol=1e-8)
