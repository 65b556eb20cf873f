"""The strong-convexity certificate of Gram mode.

A Gram-mode datafit carries ``strong``, a certified lower bound on the
smallest eigenvalue of its Gram matrix. The certificate then also takes the
duality gap of the split that moves ``strong / 2 |w|^2`` from the datafit into
the penalty. The bound must never exceed the smallest eigenvalue (else the
split datafit is not convex and its "gap" is no bound), must be zero for a
singular Gram matrix, and the split gap must bound the suboptimality while
shrinking quadratically where the lasso's own gap shrinks linearly.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _jaxreg_problems import regression
from sklearn.linear_model import Lasso, lasso_path

import jaxreg
from jaxreg import solvers
from jaxreg.datafits import QuadraticGram
from jaxreg.penalties import ElasticNetPenalty


def _gram(X, y, dtype=jnp.float64):
    n = X.shape[0]
    X = X - X.mean(0)
    y = y - y.mean()
    G, c, yy = X.T @ X / n, X.T @ y / n, y @ y / n
    return X, y, QuadraticGram.build(*(jnp.asarray(a, dtype) for a in (G, c, yy)))


def _penalty(p, l1, l2, lower=-np.inf, upper=np.inf, pf=None):
    pf = np.ones(p) if pf is None else pf
    return ElasticNetPenalty(
        jnp.asarray(l1 * pf), jnp.asarray(l2 * pf), jnp.full(p, lower), jnp.full(p, upper)
    )


@pytest.mark.parametrize(
    "n,p,kind",
    [
        (400, 40, "corr0.6"),
        (400, 50, "corr0.9"),
        (2000, 200, "corr0.6"),
        (600, 150, "corr0.9"),
        (3000, 300, "random"),
    ],
)
def test_bound_is_below_the_smallest_eigenvalue_and_close_to_it(n, p, kind):
    X, y, _ = regression(n, p, kind, seed=1)
    _, _, df = _gram(X, y)
    mu = float(jax.jit(QuadraticGram.with_strong_convexity)(df).strong)
    eig = np.linalg.eigvalsh(np.asarray(df.G))
    assert 0 <= mu <= eig[0]
    if p <= 60 or eig[-1] / eig[0] < 100:
        # Lanczos (one step per column up to 60, else 30 steps), then a
        # check at 0.8 of the estimate.
        assert mu >= 0.6 * eig[0], (mu, eig[0], eig[-1] / eig[0])
    else:
        # Condition number 1000: 30 steps overestimate the smallest eigenvalue
        # by more than the check's margin, which then fails: no bound.
        assert mu == 0.0


def test_lanczos_breakdown_keeps_the_bound():
    # G = c I: the first Lanczos step finds an invariant subspace.
    G = 2.5 * jnp.eye(100)
    df = QuadraticGram(G, jnp.ones(100), jnp.asarray(10.0)).with_strong_convexity()
    assert 0.8 * 2.5 * 0.999 <= float(df.strong) <= 2.5


@pytest.mark.parametrize("case", ["duplicate column", "p > n", "zero column"])
def test_singular_gram_gets_no_bound(case):
    X, y, _ = regression(300, 80, "corr0.6", seed=2)
    if case == "duplicate column":
        X[:, 7] = X[:, 3]
    elif case == "p > n":
        X = X[:60]
        y = y[:60]
    else:
        X[:, 5] = 0.0
    _, _, df = _gram(X, y)
    assert float(df.with_strong_convexity().strong) == 0.0


def test_float32_bound_is_certified():
    X, y, _ = regression(2000, 200, "corr0.6", seed=3)
    _, _, df32 = _gram(X, y, jnp.float32)
    mu = float(df32.with_strong_convexity().strong)
    # The float32 matrix's own spectrum, computed in float64.
    lam = np.linalg.eigvalsh(np.asarray(df32.G, np.float64))[0]
    assert 0 < mu <= lam


def _objective(X, y, w, l1, l2):
    n = X.shape[0]
    r = y - X @ w
    return r @ r / (2 * n) + np.sum(l1 * np.abs(w) + 0.5 * l2 * w * w)


@pytest.mark.parametrize(
    "l1_ratio,box,factors", [(1.0, False, False), (0.9, False, True), (1.0, True, True)]
)
def test_split_gap_bounds_the_suboptimality(l1_ratio, box, factors):
    X, y, _ = regression(500, 60, "corr0.6", seed=4, k=10)
    X, y, df = _gram(X, y)
    df = df.with_strong_convexity()
    plain = QuadraticGram(df.G, df.c, df.yy)
    n, p = X.shape
    alpha = 0.03 * np.max(np.abs(X.T @ y / n))
    rng = np.random.default_rng(0)
    pf = rng.uniform(0.0, 2.0, p) if factors else np.ones(p)
    pf[:3] = 0.0 if factors else pf[:3]
    lower, upper = (-0.3, 0.5) if box else (-np.inf, np.inf)
    l1, l2 = alpha * l1_ratio * pf, alpha * (1 - l1_ratio) * pf
    pen = _penalty(p, alpha * l1_ratio, alpha * (1 - l1_ratio), lower, upper, pf)
    lip = float(np.linalg.eigvalsh(np.asarray(df.G))[-1])
    # The solution, certified by the plain gap alone.
    w_star, _, _, cert, status, _ = solvers.fista(
        solvers.SolverProblem(plain, lip, 1e-15 * float(df.yy)),
        pen,
        solvers.Start(jnp.zeros(p), jnp.zeros(())),
        200_000,
    )
    assert int(status) == jaxreg.Status.CONVERGED
    p_star = _objective(X, y, np.asarray(w_star), l1, l2) - float(cert.gap)
    mu = float(df.strong)
    assert mu > 0
    shifted = ElasticNetPenalty(pen.l1, pen.l2 + mu, pen.lower, pen.upper)
    for scale in (1e-1, 1e-2, 1e-3, 1e-4):
        # On the support, and (half the draws) off it too.
        for where in (np.asarray(w_star) != 0, np.ones(p, bool)):
            w = np.asarray(w_star) + scale * rng.standard_normal(p) * where
            w = np.clip(w, lower, upper)
            subopt = _objective(X, y, w, l1, l2) - p_star
            # The split's own gap, not only the minimum the certificate reports.
            grad = np.asarray(df.G) @ w - np.asarray(df.c)
            split = float(shifted.strong_fenchel_young(jnp.asarray(w), jnp.asarray(-grad + mu * w)))
            assert split >= subopt - 1e-13, (scale, split, subopt)
            cert = solvers.certificate(df, pen, jnp.asarray(w), jnp.zeros(()), 1 / lip)
            assert float(cert.gap) >= subopt - 1e-13
            assert float(cert.gap) <= split * (1 + 1e-12) + 1e-300


def test_split_gap_is_quadratic_where_the_lasso_gap_is_linear():
    X, y, _ = regression(500, 60, "corr0.6", seed=6, k=10)
    X, y, df = _gram(X, y)
    n, p = X.shape
    alpha = 0.03 * np.max(np.abs(X.T @ y / n))
    w_star = Lasso(alpha=alpha, fit_intercept=False, tol=1e-15, max_iter=10**6).fit(X, y).coef_
    pen = _penalty(p, alpha, 0.0)
    direction = np.random.default_rng(1).standard_normal(p) * (w_star != 0)
    gaps = {}
    for strong in (False, True):
        d = df.with_strong_convexity() if strong else QuadraticGram(df.G, df.c, df.yy)
        gaps[strong] = [
            float(solvers.certificate(d, pen, jnp.asarray(w_star + s * direction), 0.0, 1.0).gap)
            for s in (1e-3, 1e-4)
        ]
    # Ten times closer: the plain gap about ten times smaller, the split one about a hundred.
    assert 5 < gaps[False][0] / gaps[False][1] < 20
    assert gaps[True][0] / gaps[True][1] > 50
    assert gaps[True][1] < 1e-2 * gaps[False][1]


def test_cv_gaps_use_the_split_and_bound_the_suboptimality():
    # Cross-validation certifies each fold's Gram matrix: every point of its
    # full-data path reports a gap that bounds its suboptimality against
    # scikit-learn's tightly converged path, and that is, on most of the
    # path, far below the lasso's own gap at the same point.
    X, y, _ = regression(1000, 100, "corr0.6", seed=7, k=12)
    Xc, yc = X - X.mean(0), y - y.mean()
    res = jaxreg.cross_validate(X, y, n_alphas=30, eps=1e-3, tol=1e-7, gram=True)
    path = jax.tree.map(lambda a: a[0], res.path)
    assert bool(path.converged.all()) and bool(jnp.all(res.fold_status == 0))
    alphas = np.asarray(path.alphas)
    _, ref, _ = lasso_path(Xc, yc, alphas=alphas, tol=1e-15, max_iter=10**6)
    _, _, plain = _gram(X, y)
    plain = QuadraticGram(plain.G, plain.c, plain.yy)
    n, p = X.shape
    lip = float(np.linalg.eigvalsh(np.asarray(plain.G))[-1])
    tighter = 0
    for i, a in enumerate(alphas):
        ours = _objective(Xc, yc, np.asarray(path.coef[i]), a, 0.0)
        best = _objective(Xc, yc, ref[:, i], a, 0.0)
        assert ours - best <= float(path.gap[i]) + 1e-13
        assert float(path.gap[i]) <= float(path.gap_tol[i])
        lasso_gap = solvers.certificate(plain, _penalty(p, a, 0.0), path.coef[i], 0.0, 1 / lip).gap
        tighter += float(path.gap[i]) < 0.1 * float(lasso_gap)
    assert tighter >= len(alphas) // 2, tighter


@pytest.mark.parametrize("where", ["single fit", "path", "loose CV"])
def test_elsewhere_the_lasso_gap_is_kept(where):
    # Outside cross-validation at a tight tolerance nothing is certified (a
    # fixed cost that a single fit or path, or a loose tolerance, would not
    # recover): the reported gap is the lasso's own.
    X, y, _ = regression(500, 60, "corr0.6", seed=8, k=8)
    if where == "single fit":
        fit = jaxreg.lasso(X, y, 0.05, tol=1e-8, gram=True)
    elif where == "path":
        fit = jaxreg.lasso_path(X, y, alphas=[0.2, 0.1, 0.05], tol=1e-8, gram=True).fit(2)
    else:
        res = jaxreg.cross_validate(X, y, alphas=[0.2, 0.1, 0.05], tol=1e-4, gram=True)
        fit = jax.tree.map(lambda a: a[0, 2], res.path)
    _, _, plain = _gram(X, y)
    plain = QuadraticGram(plain.G, plain.c, plain.yy)
    n, p = X.shape
    lip = float(np.linalg.eigvalsh(np.asarray(plain.G))[-1])
    gap = solvers.certificate(plain, _penalty(p, 0.05, 0.0), fit.coef, 0.0, 1 / lip).gap
    # Equal to the rounding of two evaluations (programs compiled apart, 1e-14
    # apart on the path) of a difference of values near the objective; the
    # strong-convexity gap would be 10x smaller.
    np.testing.assert_allclose(float(fit.gap), float(gap), rtol=1e-6, atol=1e-13)


def test_portable_certificate_matches_lapack():
    # Without LAPACK (for programs sharded over several CPU devices): the
    # Cholesky check in plain array operations decides as LAPACK's does, down
    # to shifts within 1e-6 of the smallest eigenvalue, batched under vmap
    # too, and the certified bound is the same.
    from jaxreg.datafits import _cholesky_succeeds

    rng = np.random.default_rng(7)
    cases, expected = [], []
    for p in (1, 5, 40, 130):
        B = rng.standard_normal((p + 3, p))
        A = B.T @ B / (p + 3) + 0.01 * np.eye(p)
        lam = np.linalg.eigvalsh(A)
        for shift in (0.0, lam[0] * (1 - 1e-6), lam[0] * (1 + 1e-6), lam[p // 2]):
            M = A - shift * np.eye(p)
            try:
                np.linalg.cholesky(M)
                ok = True
            except np.linalg.LinAlgError:
                ok = False
            assert ok == (shift < lam[0]), (p, shift)
            assert bool(_cholesky_succeeds(jnp.asarray(M))) == ok, (p, shift)
            if p == 40:
                cases.append(M)
                expected.append(ok)
    batched = jax.vmap(_cholesky_succeeds)(jnp.asarray(np.stack(cases)))
    np.testing.assert_array_equal(batched, expected)
    assert not bool(_cholesky_succeeds(jnp.full((3, 3), jnp.nan)))
    for n, p in ((400, 40), (600, 150)):
        X, y, _ = regression(n, p, "corr0.6", seed=1)
        _, _, df = _gram(X, y)
        lapack = float(df.with_strong_convexity().strong)
        portable = float(df.with_strong_convexity(portable=True).strong)
        assert lapack > 0 and portable == lapack
