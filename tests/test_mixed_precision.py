"""Gram-mode iterations in float32 anchored at exact float64 images.

A float64 Gram matrix with at least 128 columns gets a float32 copy; FISTA's
products use it on the step from the last exact image, and every certificate
uses the float64 matrix. The solutions must be the float64 ones, to any
tolerance a float64 solve reaches.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _jaxreg_problems import regression
from sklearn.linear_model import enet_path

import jaxreg
from jaxreg import datafits, solvers
from jaxreg.datafits import QuadraticGram
from jaxreg.penalties import ElasticNetPenalty


def _gram_problem(n=600, p=200, seed=3):
    X, y, _ = regression(n, p, "corr", seed=seed, k=12)
    X = X - X.mean(0)
    y = y - y.mean()
    G = jnp.asarray(X.T @ X / n)
    c = jnp.asarray(X.T @ y / n)
    return X, y, G, c, jnp.asarray(y @ y / n)


def test_float32_copy_only_for_large_float64_gram():
    G = jnp.eye(200)
    c, yy = jnp.zeros(200), jnp.ones(())
    assert QuadraticGram.build(G, c, yy).G_low.dtype == jnp.float32
    assert QuadraticGram.build(G, c, yy).mixed
    assert not QuadraticGram.build(jnp.eye(100), jnp.zeros(100), yy).mixed
    assert not QuadraticGram.build(G.astype(jnp.float32), c, yy).mixed


@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
def test_mixed_fista_reaches_float64_accuracy(l1_ratio):
    X, y, G, c, yy = _gram_problem()
    p = G.shape[0]
    alpha = 0.02 * float(np.max(np.abs(c)))
    pen = ElasticNetPenalty(
        l1=jnp.full(p, alpha * l1_ratio),
        l2=jnp.full(p, alpha * (1 - l1_ratio)),
        lower=jnp.full(p, -jnp.inf),
        upper=jnp.full(p, jnp.inf),
    )
    lip = float(jnp.linalg.eigvalsh(G)[-1])
    gap_tol = 1e-14 * float(yy)
    out = {}
    for mixed in (False, True):
        df = QuadraticGram.build(G, c, yy) if mixed else QuadraticGram(G, c, yy)
        assert df.mixed == mixed
        fit = jax.jit(
            lambda d: solvers.fista(
                solvers.SolverProblem(d, lip, gap_tol),
                pen,
                solvers.Start(jnp.zeros(p), jnp.zeros(())),
                50_000,
            )
        )(df)
        beta, n_iter, status = fit.beta, fit.n_iter, fit.status
        assert int(status) == jaxreg.Status.CONVERGED, (mixed, int(status))
        # The certificate is the float64 one: recompute it from scratch.
        exact = solvers.certificate(QuadraticGram(G, c, yy), pen, beta, jnp.zeros(()), 1 / lip)
        assert float(exact.gap) <= gap_tol
        out[mixed] = np.asarray(beta), int(n_iter)
    np.testing.assert_allclose(out[True][0], out[False][0], atol=1e-9, rtol=0)
    # The float32 products must not slow convergence down.
    assert out[True][1] <= 1.2 * out[False][1] + 20


def test_mixed_path_and_cv_match_sklearn(monkeypatch):
    X, y, _ = regression(800, 160, "corr", seed=5, k=10)
    kw = dict(n_alphas=25, eps=1e-2, tol=1e-15, strategy="warm")
    path = jaxreg.enet_path(X, y, 0.7, **kw)
    assert bool(path.converged.all())
    Xc, yc = X - X.mean(0), y - y.mean()
    _, coefs, _ = enet_path(
        Xc, yc, l1_ratio=0.7, alphas=np.asarray(path.alphas), tol=1e-15, max_iter=10**6
    )
    # A badly conditioned design: 1e-15 of the gap is about 2e-7 in the coefficients.
    np.testing.assert_allclose(path.coef, coefs.T, atol=5e-7, rtol=0)
    # The same path in float64 alone.
    with monkeypatch.context() as m:
        m.setattr(datafits, "_MIXED_MIN_COLUMNS", 10**9)
        jax.clear_caches()  # the setting is read when tracing
        plain = jaxreg.enet_path(X, y, 0.7, **kw)
    jax.clear_caches()

    # Both are certified to 1e-15 of ||y||^2 / n: their objectives agree to that,
    # their coefficients to what it implies on this design (as above).
    def objective(coef):
        w = np.asarray(coef)
        r = yc[None, :] - w @ Xc.T
        a = np.asarray(path.alphas)
        pen = a * (0.7 * np.abs(w).sum(1) + 0.15 * (w * w).sum(1))
        return 0.5 * np.mean(r * r, axis=1) + pen

    scale = np.mean(yc * yc)
    assert np.all(np.abs(objective(path.coef) - objective(plain.coef)) <= 2e-15 * scale + 1e-16)
    np.testing.assert_allclose(path.coef, plain.coef, atol=5e-7, rtol=0)

    # Fold paths one after another with float32 products equal the batched
    # float64-only run up to the tolerance.
    kw = dict(n_alphas=15, eps=1e-2, tol=1e-13, check_every=5)
    res = jaxreg.cross_validate(X, y, "lasso", **kw)
    assert bool((np.asarray(res.fold_status) == jaxreg.Status.CONVERGED).all())
    ref = jaxreg.cross_validate(X, y, "lasso", gram=False, **kw)
    # At this tolerance the Gram-mode folds are also certified by their strong
    # convexity (smallest eigenvalue about 0.05 here), which stops them once
    # 1e-13 of ||y||^2 / n is guaranteed: about 1e-6 in the coefficients, so
    # in the scores, where the design-mode lasso gap runs further.
    np.testing.assert_allclose(res.fold_scores, ref.fold_scores, rtol=2e-6)
    np.testing.assert_allclose(res.path.coef, ref.path.coef, atol=1e-6, rtol=0)
