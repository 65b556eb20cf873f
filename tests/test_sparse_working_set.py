"""Working sets on sparse designs: the squared-loss and proximal Newton
solvers read a ``BCOO`` design column by column, never densified, with the
centering kept implicit, and give the dense design's certified answers."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.sparse as sp
from _jaxreg_problems import OPTION_SETS, assert_option_constraints, option_kwargs
from jax.experimental import sparse as jsparse
from sklearn.linear_model import Lasso, LogisticRegression

import jaxreg
from jaxreg import _columns, _working_set
from jaxreg._spec import Spec
from jaxreg.datafits import Design, Logistic, Quadratic


def _sparse_problem(n=120, p=300, density=0.06, seed=0, k=6):
    """A sparse design whose columns have nonzero means (so the implicit
    centering matters), entries on different scales, one dense column and an
    empty one; a linear target and binary labels."""
    rng = np.random.default_rng(seed)
    X = sp.random(n, p, density=density, random_state=seed, format="lil")
    X[:, 1] = rng.uniform(0.5, 2.0, (n, 1))  # a column with every entry stored
    X[:, 2] = 0.0  # an empty column
    X = sp.csr_matrix(X)
    row_scale = np.repeat(rng.uniform(0.3, 3.0, n), np.diff(X.indptr))
    X.data = (1.0 + rng.standard_normal(X.nnz)) * row_scale
    X.eliminate_zeros()
    w = np.zeros(p)
    w[rng.choice(np.arange(3, p), k, replace=False)] = rng.choice([-1.0, 1.0], k) * 2.0
    z = X @ w
    y = z + 0.5 + 0.3 * rng.standard_normal(n)
    labels = (rng.uniform(size=n) < 1 / (1 + np.exp(-(z - z.mean())))).astype(float)
    sw = rng.uniform(0.2, 3.0, n)
    return X, y, labels, sw


def test_auto_picks_the_working_sets_for_sparse_designs():
    X = jsparse.BCOO.fromdense(np.zeros((10, 200)))
    assert _working_set.suits(Spec(Logistic), X)
    assert _working_set.suits(Spec(Quadratic), X)
    assert not _working_set.suits(Spec(Quadratic), jsparse.BCOO.fromdense(np.zeros((10, 20))))


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_sparse_columns_give_the_dense_products(fit_intercept):
    X, _, _, sw = _sparse_problem(n=40, p=30, density=0.2, seed=1)
    Xd = jnp.asarray(X.toarray())
    rng = np.random.default_rng(2)
    mean = jnp.asarray(rng.standard_normal(30)) if fit_intercept else jnp.zeros(30)
    scale = jnp.asarray(rng.uniform(0.5, 2.0, 30)).at[3].set(jnp.inf)  # a zeroed column
    dense = _columns.columns_for(Design(Xd, mean, scale), jnp.asarray(sw))
    sparse = _columns.columns_for(Design(jsparse.BCOO.fromdense(Xd), mean, scale), jnp.asarray(sw))
    assert isinstance(sparse, _columns.SparseColumns) and isinstance(dense, _columns.Columns)
    u = jnp.asarray(rng.standard_normal(40))
    np.testing.assert_allclose(sparse.rmatvec(u), dense.rmatvec(u), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(sparse.norms, dense.norms, rtol=1e-12, atol=1e-12)
    # Explicitly stored zeros (kept by validation) and entries out of column
    # order change nothing.
    B = jsparse.BCOO.fromdense(Xd)
    zeros = jnp.asarray([[0, 7], [5, 7], [9, 0]])
    zeros = zeros[np.asarray(Xd)[zeros[:, 0], zeros[:, 1]] == 0]
    stored = jsparse.BCOO(
        (jnp.concatenate([B.data, jnp.zeros(zeros.shape[0])]), jnp.concatenate([B.indices, zeros])),
        shape=B.shape,
    )
    with_zeros = _columns.columns_for(Design(stored, mean, scale), jnp.asarray(sw))
    np.testing.assert_allclose(with_zeros.norms, dense.norms, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(with_zeros.rmatvec(u), dense.rmatvec(u), rtol=1e-12, atol=1e-12)

    idx = jnp.asarray([5, 1, 3, 2, 17, 30, 30], jnp.int32)  # 30: padding
    H = jnp.asarray(rng.uniform(0.1, 1.0, 40))
    ds, ss = dense.take(idx).bind(H), sparse.take(idx).bind(H)
    np.testing.assert_allclose(ss.curvatures(), ds.curvatures(), rtol=1e-12, atol=1e-12)
    w = jnp.asarray([0.5, -1.0, 2.0, 0.0, 0.3, 0.0, 0.0])
    np.testing.assert_allclose(ss.image(w), ds.image(w), rtol=1e-12, atol=1e-12)

    # A sequence of visits and an intercept shift: the same products and
    # images whichever way the image is held.
    q0 = jnp.asarray(rng.standard_normal(40))
    imgs = [ds.start(q0), ss.start(q0)]
    for j, delta in [(0, 0.7), (1, -0.2), (4, 1.3), (3, 0.4), (5, 0.9)]:
        for i, cols in enumerate((ds, ss)):
            step = functools.partial(lambda dot, delta: jnp.full_like(dot, delta), delta=delta)
            d, _, imgs[i] = cols.visit(j, jnp.zeros(7), imgs[i], step, -1.0)
            assert float(d) == delta
        imgs = [ds.shift(0.1, imgs[0]), ss.shift(0.1, imgs[1])]
        np.testing.assert_allclose(ss.dense(imgs[1]), ds.dense(imgs[0]), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(ss.wsum(imgs[1]), ds.wsum(imgs[0]), rtol=1e-12)
        np.testing.assert_allclose(ss.wgrad(imgs[1]), ds.wgrad(imgs[0]), rtol=1e-11, atol=1e-11)
    # The products a visit sees are the dense ones too (returned as its step).
    pairs = zip((ds, ss), imgs, strict=True)
    seen = [cols.visit(4, jnp.zeros(7), img, lambda dot: dot)[0] for cols, img in pairs]
    np.testing.assert_allclose(seen[1], seen[0], rtol=1e-11)


OPTIONS = [dict(), *OPTION_SETS]


@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: next(iter(o), "plain"))
@pytest.mark.parametrize("loss", ["squared", "logistic"])
@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
def test_sparse_paths_match_the_dense_design(options, loss, l1_ratio):
    X, y, labels, sw = _sparse_problem()
    kw = option_kwargs(options, X.shape[1], sw)
    target = labels if loss == "logistic" else y
    common = dict(n_alphas=15, eps=2e-2, tol=1e-12, strategy="working_set", **kw)
    fn = jaxreg.logistic_path if loss == "logistic" else jaxreg.enet_path
    sparse = fn(X, target, l1_ratio, **common)
    dense = fn(X.toarray(), target, l1_ratio, **common)
    assert bool(sparse.converged.all()) and bool(dense.converged.all())
    assert np.all(np.asarray(sparse.gap) <= np.asarray(sparse.gap_tol))
    np.testing.assert_allclose(sparse.objective, dense.objective, rtol=1e-9)
    np.testing.assert_allclose(sparse.coef, dense.coef, atol=1e-5, rtol=0)
    np.testing.assert_allclose(sparse.intercept, dense.intercept, atol=1e-5, rtol=0)
    assert_option_constraints(sparse.coef, kw)


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_sparse_logistic_path_matches_sklearn(fit_intercept):
    X, _, labels, _ = _sparse_problem(seed=3)
    path = jaxreg.logistic_path(
        X, labels, n_alphas=6, eps=5e-2, tol=1e-12, fit_intercept=fit_intercept, strategy="auto"
    )
    assert bool(path.converged.all())
    n = X.shape[0]
    for alpha, coef, b in zip(path.alphas, path.coef, path.intercept, strict=True):
        ref = LogisticRegression(
            penalty="l1",
            C=1.0 / (n * float(alpha)),
            solver="saga" if fit_intercept else "liblinear",
            # liblinear at 1e-12 runs out its iterations (a minute and a
            # half); at 1e-9 it is within 4e-9 of the certified answer.
            tol=1e-12 if fit_intercept else 1e-9,
            max_iter=10**6,
            fit_intercept=fit_intercept,
        ).fit(X, labels)
        # saga converges slowest on the intercept: the certified answer is
        # held to the objective there (see test_prox_newton).
        atol = 1e-3 if fit_intercept else 1e-5
        np.testing.assert_allclose(coef, ref.coef_[0], atol=atol, rtol=0)
        Xd = X.toarray()
        z, z_ref = Xd @ coef + b, Xd @ ref.coef_[0] + np.ravel(ref.intercept_)[0]
        a = float(alpha)
        ours = np.mean(np.logaddexp(0, z) - labels * z) + a * np.abs(np.asarray(coef)).sum()
        theirs = np.mean(np.logaddexp(0, z_ref) - labels * z_ref) + a * np.abs(ref.coef_[0]).sum()
        assert ours <= theirs + 1e-12


def test_sparse_lasso_path_matches_sklearn():
    X, y, _, _ = _sparse_problem(seed=4)
    path = jaxreg.lasso_path(X, y, n_alphas=10, eps=1e-2, tol=1e-12, strategy="auto")
    assert bool(path.converged.all())
    for alpha, coef, b in zip(path.alphas, path.coef, path.intercept, strict=True):
        ref = Lasso(alpha=float(alpha), tol=1e-14, max_iter=10**6).fit(X, y)
        np.testing.assert_allclose(coef, ref.coef_, atol=1e-6, rtol=0)
        np.testing.assert_allclose(b, ref.intercept_, atol=1e-6)


@pytest.mark.parametrize("loss", ["squared", "logistic"])
def test_sparse_cross_validation_matches_vmap(loss):
    X, y, labels, _ = _sparse_problem(seed=5)
    target = labels if loss == "logistic" else y
    model = "logistic" if loss == "logistic" else "lasso"
    kw = dict(n_alphas=10, eps=3e-2, tol=1e-12)
    ws = jaxreg.cross_validate(X, target, model, strategy="working_set", **kw)
    ref = jaxreg.cross_validate(X, target, model, strategy="vmap", **kw)
    assert bool(np.all(np.asarray(ws.fold_status) == jaxreg.Status.CONVERGED))
    np.testing.assert_array_equal(ws.best_index, ref.best_index)
    np.testing.assert_allclose(ws.mean, ref.mean, rtol=1e-6)
    np.testing.assert_allclose(ws.path.objective, ref.path.objective, rtol=1e-9)


@pytest.mark.parametrize("loss", ["squared", "logistic"])
def test_sparse_float32_path_converges(loss):
    X, y, labels, _ = _sparse_problem(seed=6)
    target = labels if loss == "logistic" else y
    fn = jaxreg.logistic_path if loss == "logistic" else jaxreg.lasso_path
    kw = dict(n_alphas=10, eps=2e-2, strategy="working_set")
    X32 = sp.csr_matrix(X, dtype=np.float32)
    p32 = fn(X32, target.astype(np.float32), tol=1e-4, **kw)
    p64 = fn(X, target, tol=1e-10, **kw)
    assert p32.coef.dtype == jnp.float32
    assert bool(p32.converged.all())
    top = float(np.max(np.abs(np.asarray(p64.coef))))
    np.testing.assert_allclose(p32.coef, p64.coef, atol=2e-3 * max(top, 1.0))


def test_sparse_single_fit_newton_certified_jit_and_gradient():
    X, _, labels, sw = _sparse_problem(seed=7)
    Xb = jsparse.BCOO.from_scipy_sparse(X)
    top = float(jaxreg.alpha_max(X, labels, loss="logistic", sample_weight=sw))
    kw = dict(sample_weight=sw, tol=1e-12, l1_ratio=0.8)
    newton = jaxreg.logistic(X, labels, 0.1 * top, solver="newton", **kw)
    ref = jaxreg.logistic(X.toarray(), labels, 0.1 * top, solver="fista", **kw)
    assert int(newton.status) == int(ref.status) == jaxreg.Status.CONVERGED
    assert float(newton.gap) <= float(newton.gap_tol)
    np.testing.assert_allclose(newton.objective, ref.objective, rtol=1e-10)
    np.testing.assert_allclose(newton.coef, ref.coef, atol=1e-5)
    auto = jaxreg.logistic(X, labels, 0.1 * top, solver="auto", **kw)
    if jax.default_backend() == "cpu":
        assert int(auto.n_iter) == int(newton.n_iter)

    # jit == eager.
    jitted = jax.jit(lambda a: jaxreg.logistic(Xb, labels, a, solver="newton", **kw).coef)
    np.testing.assert_allclose(jitted(0.1 * top), newton.coef, atol=1e-12)

    # The gradient in alpha through the solution equals finite differences.
    def loss(a):
        fit = jaxreg.logistic(Xb, labels, a, solver="newton", **dict(kw, tol=1e-13))
        return jnp.sum(fit.coef**2) + fit.intercept

    a, h = 0.1 * top, 1e-6 * top
    fd = (float(loss(a + h)) - float(loss(a - h))) / (2 * h)
    np.testing.assert_allclose(float(jax.grad(loss)(a)), fd, rtol=1e-5)


def test_sparse_newton_under_vmap_equals_a_loop():
    X, _, labels, _ = _sparse_problem(n=60, p=40, density=0.15, seed=8)
    Xb = jsparse.BCOO.from_scipy_sparse(X)
    top = float(jaxreg.alpha_max(X, labels, loss="logistic"))
    alphas = jnp.array([0.3, 0.1]) * top

    def fit(a):
        return jaxreg.logistic(Xb, labels, a, solver="newton", tol=1e-12).coef

    batched = jax.vmap(fit)(alphas)
    for i, a in enumerate(alphas):
        np.testing.assert_allclose(batched[i], fit(float(a)), atol=1e-9)


def test_sparse_single_lasso_auto_runs_coordinate_descent():
    X, y, _, sw = _sparse_problem(seed=9)
    top = float(jaxreg.alpha_max(X, y, sample_weight=sw))
    kw = dict(sample_weight=sw, tol=1e-12, l1_ratio=0.9)
    auto = jaxreg.elastic_net(X, y, 0.2 * top, solver="auto", **kw)
    ref = jaxreg.elastic_net(X, y, 0.2 * top, solver="fista", **kw)
    assert int(auto.status) == int(ref.status) == jaxreg.Status.CONVERGED
    assert float(auto.gap) <= float(auto.gap_tol)
    np.testing.assert_allclose(auto.objective, ref.objective, rtol=1e-10)
    np.testing.assert_allclose(auto.coef, ref.coef, atol=1e-5)
    if jax.default_backend() == "cpu":
        # Coordinate-descent epochs, far fewer than FISTA's iterations.
        assert int(auto.n_iter) * 3 < int(ref.n_iter)
    # The gradient in alpha through the solution equals finite differences.
    Xb = jsparse.BCOO.from_scipy_sparse(X)

    def loss(a):
        fit = jaxreg.elastic_net(Xb, y, a, **kw)
        return jnp.sum(fit.coef**2) + fit.intercept

    a, h = 0.05 * top, 1e-6 * top
    fd = (float(loss(a + h)) - float(loss(a - h))) / (2 * h)
    np.testing.assert_allclose(float(jax.grad(loss)(a)), fd, rtol=1e-5)


def test_sparse_auto_under_a_callers_vmap_runs_fista():
    # A BCOO is never a tracer: its traced data must send "auto" to FISTA,
    # which batches.
    X, y, _, _ = _sparse_problem(seed=10)
    B = jsparse.BCOO.from_scipy_sparse(X)
    top = float(jaxreg.alpha_max(X, y))

    def fit(scale, solver):
        Xs = jsparse.BCOO((B.data * scale, B.indices), shape=B.shape)
        return jaxreg.lasso(Xs, y, 0.2 * top, solver=solver, tol=1e-10).n_iter

    scales = jnp.asarray([1.0, 1.5])
    auto = jax.vmap(lambda s: fit(s, "auto"))(scales)
    fista = jax.vmap(lambda s: fit(s, "fista"))(scales)
    np.testing.assert_array_equal(auto, fista)
    assert int(jaxreg.lasso(X, y, 0.2 * top, tol=1e-10).n_iter) != int(fista[0])
