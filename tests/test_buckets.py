"""Shape buckets: a new number of rows in the same bucket compiles nothing,
and the padded problem is the unpadded one (same certificate, coefficients
to 1e-10 at tight tolerances)."""

from __future__ import annotations

import collections

import jax
import numpy as np
import pytest
import scipy.sparse as sp
from _jaxreg_problems import classification, regression
from jax import monitoring

import jaxreg
from jaxreg import _buckets
from jaxreg.datasets import load_diabetes

_COMPILES = collections.Counter()


def _listen(name, secs, **kw):
    if name == "/jax/core/compile/backend_compile_duration":
        _COMPILES["n"] += 1


monitoring.register_event_duration_secs_listener(_listen)


@pytest.fixture
def buckets():
    """Buckets on for the test, whatever the setting was."""
    previous = jaxreg.set_shape_buckets(True)
    yield
    jaxreg.set_shape_buckets(previous)


def _compilations(call):
    before = _COMPILES["n"]
    jax.block_until_ready(call())
    return _COMPILES["n"] - before


def test_bucket_sizes():
    for p in (1, 10, 100):
        ns = range(1, 20_000)
        sizes = [_buckets.bucket(n, p) for n in ns]
        assert all(s >= n for n, s in zip(ns, sizes, strict=True))
        assert all(s < 2 * n for n, s in zip(ns, sizes, strict=True) if n > 1)
        for n, s in zip(ns, sizes, strict=True):
            power = 1 << (n - 1).bit_length()
            if power * p <= _buckets._COARSE_ELEMENTS:
                assert s == power
            else:
                assert s <= 1.5 * n or s == n
            if n * p > _buckets._MAX_ELEMENTS:
                assert s == n
    # LassoCV on 400 rows after 442, and a 5-fold grid search on 442 rows
    # (training folds of 353 and 354, the refit on 442), each in one bucket.
    assert _buckets.bucket(353, 10) == _buckets.bucket(400, 10) == _buckets.bucket(442, 10) == 512
    # The tall benchmark (5000 x 500) is solved at its own shape.
    assert _buckets.bucket(5000, 500) == 5000


def test_set_shape_buckets_checks_and_returns_the_previous_setting():
    previous = jaxreg.set_shape_buckets(False)
    try:
        assert jaxreg.set_shape_buckets(False) is False
        with pytest.raises(TypeError, match="enabled"):
            jaxreg.set_shape_buckets("no")
    finally:
        jaxreg.set_shape_buckets(previous)


X, Y, _ = load_diabetes()
XC, YC, _ = classification(442, 10, seed=2)

ENTRIES = {
    "lasso": lambda X, y: jaxreg.lasso(X, y, 1.0),
    "elastic_net": lambda X, y: jaxreg.elastic_net(X, y, 1.0, 0.5, standardize=True),
    "lasso_path": lambda X, y: jaxreg.lasso_path(X, y, n_alphas=10),
    "cross_validate": lambda X, y: jaxreg.cross_validate(X, y, n_alphas=10),
    "logistic": lambda X, y: jaxreg.logistic(X, y, 0.01),
}


@pytest.mark.parametrize("entry", sorted(ENTRIES))
def test_a_new_shape_in_the_same_bucket_compiles_nothing(buckets, entry):
    A, b = (XC, YC) if entry == "logistic" else (X, Y)
    call = ENTRIES[entry]
    call(A, b)
    assert _compilations(lambda: call(A[:400], b[:400])) == 0
    assert _compilations(lambda: call(A[:200], b[:200])) > 0  # another bucket: it can fail


def test_estimators_in_a_grid_search_compile_once_per_bucket(buckets):
    from sklearn.model_selection import cross_val_score

    from jaxreg.estimators import Lasso, LassoCV

    LassoCV(cv=5).fit(X, Y)
    assert _compilations(lambda: LassoCV(cv=5).fit(X[:400], Y[:400])) == 0
    Lasso(alpha=0.5).fit(X, Y)
    # Five folds of 353 or 354 training rows: the full data's bucket.
    assert _compilations(lambda: cross_val_score(Lasso(alpha=0.5), X, Y, cv=5)) == 0


def _problems():
    yield "diabetes", X, Y
    yield "correlated", *regression(300, 40, "corr0.9", seed=1)[:2]
    yield "wide", *regression(90, 300, "corr0.5", seed=2)[:2]
    A = sp.random(300, 50, density=0.1, random_state=0, format="csr")
    yield "sparse", A, A @ np.ones(50) + np.random.default_rng(0).standard_normal(300)


@pytest.mark.parametrize(
    "name, A, b", list(_problems()), ids=lambda v: v if isinstance(v, str) else ""
)
def test_padded_fits_are_the_unpadded_fits(name, A, b):
    # Both are certified for the same problem: their objectives agree within
    # the gaps, their coefficients to what the gaps allow (the iterates
    # differ from the rounding of sums over more rows on).
    fits = {}
    for on in (True, False):
        previous = jaxreg.set_shape_buckets(on)
        try:
            top = float(jaxreg.alpha_max(A, b))
            fits[on] = (
                jaxreg.lasso(A, b, 0.05 * top, tol=1e-12),
                jaxreg.enet_path(A, b, 0.5, n_alphas=10, tol=1e-12),
                jaxreg.cross_validate(A, b, n_alphas=10, tol=1e-12, full_path=False),
            )
        finally:
            jaxreg.set_shape_buckets(previous)
    for padded, plain in zip(fits[True], fits[False], strict=True):
        if isinstance(plain, jaxreg.CVResult):
            np.testing.assert_allclose(padded.fold_scores, plain.fold_scores, rtol=1e-5)
            assert padded.alpha_min == plain.alpha_min
            padded, plain = padded.best, plain.best
        assert np.all(np.asarray(padded.status) == jaxreg.Status.CONVERGED)
        assert np.all(np.asarray(plain.status) == jaxreg.Status.CONVERGED)
        gaps = np.asarray(padded.gap) + np.asarray(plain.gap)
        rounding = 1e-13 * np.abs(np.asarray(plain.objective))
        assert np.all(np.abs(np.asarray(padded.objective) - plain.objective) <= gaps + rounding)
        # The squared loss is 1-strongly convex in the predictions: two points
        # within gaps g1, g2 of the optimum predict within sqrt(2 g1) + sqrt(2 g2).
        Ad = A.toarray() if sp.issparse(A) else A
        coef = np.atleast_2d(padded.coef) - np.atleast_2d(plain.coef)
        shift = np.atleast_1d(padded.intercept) - np.atleast_1d(plain.intercept)
        moved = np.sqrt(np.mean((coef @ Ad.T + shift[:, None]) ** 2, axis=1))
        bound = np.sqrt(2 * np.atleast_1d(padded.gap)) + np.sqrt(2 * np.atleast_1d(plain.gap))
        assert np.all(moved <= bound + 1e-12 * np.std(b)), (moved, bound)


def test_the_padded_problem_is_the_unpadded_one():
    # What the solver sees: the same Gram matrix, targets, centering and
    # certificate scale, to rounding.
    from _jaxreg_problems import prepared_problem

    pad = 70
    Xp, yp = np.r_[X, np.zeros((pad, X.shape[1]))], np.r_[Y, np.zeros(pad)]
    wp = np.r_[np.ones(len(Y)), np.zeros(pad)]
    plain = prepared_problem(X, Y, use_gram=True)
    padded = prepared_problem(Xp, yp, use_gram=True, sample_weight=wp)
    for field in ("G", "c", "yy"):
        a, b = getattr(plain.datafit, field), getattr(padded.datafit, field)
        np.testing.assert_allclose(b, a, rtol=1e-13, atol=1e-13 * np.max(np.abs(a)))
    for field in ("x_mean", "x_scale", "gap_tol", "lipschitz", "offset"):
        np.testing.assert_allclose(getattr(padded, field), getattr(plain, field), rtol=1e-13)


def test_jit_and_vmap_solve_the_same_padded_problem(buckets):
    eager = jaxreg.lasso(X, Y, 1.0, tol=1e-10)
    jitted = jax.jit(lambda X, y: jaxreg.lasso(X, y, 1.0, tol=1e-10))(X, Y)
    np.testing.assert_allclose(jitted.coef, eager.coef, rtol=1e-10, atol=1e-10)
    assert int(jitted.n_iter) == int(eager.n_iter)
    ys = np.stack([Y, Y[::-1]])
    batched = jax.vmap(lambda y: jaxreg.lasso(X, y, 1.0, tol=1e-10))(ys)
    for i, y in enumerate(ys):
        one = jaxreg.lasso(X, y, 1.0, tol=1e-10)
        # A batch runs each lane until the slowest converges: equal to the
        # tolerance both meet.
        np.testing.assert_allclose(batched.coef[i], one.coef, rtol=1e-6, atol=1e-6)


def test_gradients_through_a_padded_fit(buckets):
    # d coef / d X flows back through the padding to the caller's rows only.
    Xs = (X - X.mean(0)) / X.std(0)

    def loss(A):
        return jax.numpy.sum(jaxreg.lasso(A, Y, 1.0, tol=1e-12).coef ** 2)

    g = jax.grad(loss)(Xs)
    assert g.shape == Xs.shape and np.all(np.isfinite(g))
    E = np.zeros_like(Xs)
    E[3, 2] = 1e-5
    fd = (loss(Xs + E) - loss(Xs - E)) / 2e-5
    np.testing.assert_allclose(g[3, 2], fd, rtol=1e-4)
