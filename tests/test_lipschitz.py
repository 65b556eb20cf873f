"""The Lipschitz estimate: the top eigenvalue of the datafit's curvature.

Every solver steps with ``1 / L`` and certifies with ``L``; the estimate (the
top Ritz value of a few Lanczos steps, times a 1.05 safety factor) must be at
least the top eigenvalue, and not far above it.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _jaxreg_problems import regression

from jaxreg import datafits
from jaxreg.datafits import Design, QuadraticGram

SAFETY = datafits._TOP_SAFETY


def _two_close_tops(rng, n=300):
    # Singular values 0.1 .. 1 with the top two 1 and 0.999: the hardest case
    # for an iteration that separates the top eigenvector.
    U, _ = np.linalg.qr(rng.standard_normal((n, n)))
    V, _ = np.linalg.qr(rng.standard_normal((n, n)))
    s = np.linspace(0.1, 1.0, n)
    s[-2] = 0.999
    return (U * s) @ V.T


def _designs():
    rng = np.random.default_rng(3)
    return {
        "wide corr0.6": regression(300, 2000, "corr0.6", seed=1)[0],
        "tall corr0.6": regression(3000, 300, "corr0.6", seed=1)[0],
        "wide gaussian": rng.standard_normal((200, 3000)),
        "tall gaussian": rng.standard_normal((3000, 300)),
        "two close tops": _two_close_tops(rng),
        "rank one": np.outer(rng.standard_normal(150), rng.standard_normal(400)),
        "one column": rng.standard_normal((50, 1)),
    }


DESIGNS = _designs()


def _exact_top(X, w):
    Z = X * np.sqrt(w)[:, None]
    small = Z @ Z.T if Z.shape[0] < Z.shape[1] else Z.T @ Z
    return np.linalg.eigvalsh(small)[-1]


@pytest.mark.parametrize("name", sorted(DESIGNS))
def test_design_estimate_is_safe_and_tight(name):
    X = DESIGNS[name]
    n, p = X.shape
    w = np.random.default_rng(0).uniform(0.5, 1.5, n)
    w /= w.sum()
    mean, scale = X.mean(0), np.maximum(X.std(0), 1e-12)
    d = Design(*(jnp.asarray(a) for a in (X, mean, scale)))
    est = float(jax.jit(d.top_eigenvalue)(jnp.asarray(w)))
    true = _exact_top((X - mean) / scale, w)
    # Safe (at least the top eigenvalue) and at most the safety factor above it:
    # the Ritz value is within 1e-4 of the top eigenvalue.
    assert true <= est <= SAFETY * true * (1 + 1e-10), (est / true, name)
    assert est >= SAFETY * true * (1 - 1e-4), (est / true, name)


def test_gram_estimate_with_and_without_float32_copy():
    X = DESIGNS["tall corr0.6"]
    X = X - X.mean(0)
    G = X.T @ X / X.shape[0]
    true = np.linalg.eigvalsh(G)[-1]
    c, yy = jnp.zeros(G.shape[0]), jnp.asarray(1.0)
    mixed = QuadraticGram.build(jnp.asarray(G), c, yy)
    plain = QuadraticGram(jnp.asarray(G), c, yy)
    assert mixed.mixed and not plain.mixed
    for df in (mixed, plain):
        est = float(df.lipschitz())
        assert SAFETY * true * (1 - 1e-6) <= est <= SAFETY * true * (1 + 1e-10)


def test_breakdown_and_zero_operators():
    # c I: the first step finds an invariant subspace; the estimate is exact.
    G = 2.5 * jnp.eye(64)
    est = float(QuadraticGram(G, jnp.ones(64), jnp.asarray(1.0)).lipschitz())
    np.testing.assert_allclose(est, SAFETY * 2.5, rtol=1e-12)
    # A zero operator (every column constant, centered away): zero, not NaN;
    # the problem setup then steps with 1.
    Z = QuadraticGram(jnp.zeros((10, 10)), jnp.zeros(10), jnp.asarray(0.0))
    assert float(Z.lipschitz()) == 0.0


def test_float32_estimate_is_safe():
    X = DESIGNS["wide corr0.6"].astype(np.float32)
    n = X.shape[0]
    w = np.full(n, 1.0 / n, np.float32)
    mean, scale = X.mean(0), X.std(0)
    d = Design(*(jnp.asarray(a) for a in (X, mean, scale)))
    est = d.top_eigenvalue(jnp.asarray(w))
    assert est.dtype == jnp.float32
    true = _exact_top((X.astype(np.float64) - mean) / scale, w.astype(np.float64))
    assert true <= float(est) <= SAFETY * true * (1 + 1e-5)


def test_vmap_equals_loop():
    Xs = np.stack([regression(100, 400, "corr0.6", seed=s)[0] for s in range(3)])
    w = jnp.full((100,), 1.0 / 100)

    def top(X):
        return Design(X, jnp.mean(X, 0), jnp.std(X, 0)).top_eigenvalue(w)

    batched = jax.vmap(top)(jnp.asarray(Xs))
    looped = jnp.stack([top(jnp.asarray(X)) for X in Xs])
    np.testing.assert_allclose(batched, looped, rtol=1e-10)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_tridiagonal_extremes_match_lapack(dtype):
    # The Ritz values come from Sturm-count bisection (no LAPACK call, which
    # can wait on the thread pool of a sharded CPU program); compared with
    # numpy's eigvalsh on tridiagonals of mixed scales, with zero couplings
    # (a breakdown) and zero blocks, the extremes are within k ulps of the
    # largest eigenvalue, on the safe side of the bisection.
    rng = np.random.default_rng(5)
    extreme = jax.jit(datafits._tridiagonal_extreme, static_argnums=2)
    eps = np.finfo(dtype).eps
    for trial in range(60):
        k = (1, 2, 3, 17, 32)[trial % 5]
        d = rng.standard_normal(k) * 10 ** rng.uniform(-3, 3)
        off = rng.standard_normal(k) * 10 ** rng.uniform(-3, 3)
        if trial % 4 == 0:
            off[rng.integers(0, k)] = 0.0
        if trial % 6 == 0:
            d[k // 2 :], off[k // 2 :] = 0.0, 0.0
        d, off = d.astype(dtype), off.astype(dtype)
        T = np.diag(d) + np.diag(off[:-1], 1) + np.diag(off[:-1], -1)
        ev = np.linalg.eigvalsh(T.astype(np.float64))
        scale = np.abs(ev).max()
        top = float(extreme(jnp.asarray(d), jnp.asarray(off), True))
        bottom = float(extreme(jnp.asarray(d), jnp.asarray(off), False))
        assert abs(top - ev[-1]) <= 4 * k * eps * scale, (trial, top, ev[-1])
        assert abs(bottom - ev[0]) <= 4 * k * eps * scale, (trial, bottom, ev[0])
    # A diagonal matrix (a breakdown at the first step) gives its diagonal.
    d = jnp.asarray([3.0, -1.0, 2.0], dtype)
    assert float(extreme(d, jnp.zeros(3, dtype), True)) == 3.0
    assert float(extreme(d, jnp.zeros(3, dtype), False)) == -1.0
    # vmap equals the loop.
    D = jnp.asarray(rng.standard_normal((4, 32)), dtype)
    O = jnp.asarray(rng.standard_normal((4, 32)), dtype)
    batched = jax.vmap(lambda a, b: datafits._tridiagonal_extreme(a, b, True))(D, O)
    looped = jnp.stack([extreme(a, b, True) for a, b in zip(D, O, strict=True)])
    np.testing.assert_array_equal(batched, looped)
