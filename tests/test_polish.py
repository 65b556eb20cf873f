"""Conjugate-gradient steps on the support inside FISTA (quadratic datafits).

Each block of a least-squares FISTA solve ends with a few conjugate-gradient
steps on the current support, signs fixed. They must solve the support's
quadratic exactly when given enough steps, keep every bound, leave the
solution unchanged, and cut the work to a tight certificate.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _jaxreg_problems import regression
from sklearn.linear_model import Lasso

import jaxreg
from jaxreg import solvers
from jaxreg.datafits import Design, Quadratic, QuadraticGram
from jaxreg.penalties import ElasticNetPenalty


def _problem(n=400, p=60, seed=5):
    X, y, _ = regression(n, p, "corr0.6", seed=seed, k=8)
    X = X - X.mean(0)
    y = y - y.mean()
    return X, y


def _penalty(p, l1, l2, lower=-np.inf, upper=np.inf):
    full = lambda v: jnp.full(p, v, dtype=jnp.float64)  # noqa: E731
    return ElasticNetPenalty(full(l1), full(l2), full(lower), full(upper))


def _datafits(X, y):
    n = X.shape[0]
    G, c, yy = X.T @ X / n, X.T @ y / n, y @ y / n
    gram = QuadraticGram(jnp.asarray(G), jnp.asarray(c), jnp.asarray(yy))
    design = Quadratic(
        Design(jnp.asarray(X), jnp.zeros(X.shape[1]), jnp.ones(X.shape[1])),
        jnp.asarray(y),
        jnp.full(n, 1.0 / n),
    )
    return {"gram": gram, "design": design}


@pytest.mark.parametrize("mode", ["gram", "design"])
@pytest.mark.parametrize("l1_ratio", [1.0, 0.6])
def test_polish_solves_the_support_quadratic(mode, l1_ratio):
    X, y = _problem()
    n, p = X.shape
    alpha = 0.05 * np.max(np.abs(X.T @ y / n))
    l1, l2 = alpha * l1_ratio, alpha * (1 - l1_ratio)
    # A point with the solution's support and signs, but the wrong values.
    w_star = Lasso(alpha=l1, fit_intercept=False, tol=1e-14, max_iter=100_000).fit(X, y).coef_
    rng = np.random.default_rng(0)
    beta = np.where(w_star != 0, w_star * rng.uniform(0.5, 1.5, p), 0.0)
    df = _datafits(X, y)[mode]
    pen = _penalty(p, l1, l2)
    x, ux, shrink = solvers._support_polish(
        df, pen, jnp.asarray(beta), df.forward(jnp.asarray(beta)), jnp.zeros(()), 60, False
    )
    S = beta != 0
    G = X.T @ X / n
    rhs = (X.T @ y / n)[S] - l1 * np.sign(beta[S])
    exact = np.zeros(p)
    exact[S] = np.linalg.solve(G[np.ix_(S, S)] + l2 * np.eye(S.sum()), rhs)
    np.testing.assert_allclose(np.asarray(x), exact, atol=1e-10)
    # The image is tracked by linearity.
    np.testing.assert_allclose(np.asarray(ux), np.asarray(df.forward(x)), atol=1e-10)
    # Off the support nothing moves; the residual on it is gone.
    assert np.all(np.asarray(x)[~S] == 0)
    assert float(shrink) < 1e-12


def _fista(df, pen, p, gap_tol, check_every=10):
    lip = float(jnp.linalg.eigvalsh(df.G)[-1]) if isinstance(df, QuadraticGram) else None
    if lip is None:
        lip = float(df.lipschitz())
    return jax.jit(
        lambda d: solvers.fista(
            solvers.SolverProblem(d, lip, gap_tol),
            pen,
            solvers.Start(jnp.zeros(p), jnp.zeros(())),
            100_000,
            check_every=check_every,
        )
    )(df)


@pytest.mark.parametrize("mode", ["gram", "design"])
@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
def test_polish_same_solution_fewer_iterations(mode, l1_ratio, monkeypatch):
    X, y = _problem(seed=11)
    n, p = X.shape
    alpha = 0.02 * np.max(np.abs(X.T @ y / n))
    pen = _penalty(p, alpha * l1_ratio, alpha * (1 - l1_ratio))
    df = _datafits(X, y)[mode]
    gap_tol = 1e-10 * float(y @ y / n)
    with_polish = _fista(df, pen, p, gap_tol)
    monkeypatch.setattr(solvers, "_POLISH_SHARE", 0.0)
    jax.clear_caches()
    plain = _fista(df, pen, p, gap_tol)
    for out in (with_polish, plain):
        assert int(out.status) == 0 and float(out.cert.gap) <= gap_tol
    # Both are within sqrt(2 gap / mu) of the solution (mu: strong convexity).
    mu = np.linalg.eigvalsh(X.T @ X / n)[0] + alpha * (1 - l1_ratio)
    bound = 2 * np.sqrt(2 * gap_tol / mu)
    assert np.linalg.norm(np.asarray(with_polish.beta) - np.asarray(plain.beta)) <= bound
    # The lasso's gap at a prox-gradient iterate is loose (linear in the error):
    # the polish must shorten the solve. The elastic net's is already tight.
    if l1_ratio == 1.0:
        assert int(with_polish.n_iter) < int(plain.n_iter)
    else:
        assert int(with_polish.n_iter) <= int(plain.n_iter)


def test_polish_keeps_bounds():
    # Nonnegative lasso whose unconstrained support solve would turn a coordinate
    # negative: the polish must never return a point outside the box.
    X, y = _problem(seed=2)
    n, p = X.shape
    y = y - 2.0 * X[:, 3]  # a strongly negative effect, clipped at 0 by the bound
    alpha = 0.01 * np.max(np.abs(X.T @ y / n))
    ref = Lasso(alpha=alpha, fit_intercept=False, positive=True, tol=1e-14, max_iter=100_000)
    ref.fit(X, y)
    fit = jaxreg.lasso(X, y, alpha, fit_intercept=False, positive=True, tol=1e-12, gram=True)
    assert np.all(np.asarray(fit.coef) >= 0)
    np.testing.assert_allclose(np.asarray(fit.coef), ref.coef_, atol=1e-8)
