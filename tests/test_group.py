"""The group penalty on the linear and logistic models: KKT conditions checked
in numpy, the lasso with groups of one, alpha_max, paths and CV against
single fits, jit/vmap against eager, implicit derivatives against central
differences, float32, and the input errors."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.sparse as sp

import jaxreg
from jaxreg import Status
from jaxreg.penalties import GroupPenalty


def _problem(n=80, p=15, seed=0, logistic=False):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)) * rng.uniform(0.5, 2.0, p)
    w = np.zeros(p)
    w[:3] = [1.0, -2.0, 0.5]
    w[6] = 0.8
    z = X @ w + 0.3 * rng.standard_normal(n)
    y = (z > 0).astype(float) if logistic else z
    return X, y


GROUPS = np.array([7, 7, 7, 3, 3, 3, 5, 5, 5, 9, 9, 9, 2, 2, 2])  # labels need not be 0..G-1


def _loss_grad(X, y, w, b, s, logistic):
    """Gradient in w of the weighted mean loss, and in b."""
    z = X @ w + b
    r = (1.0 / (1.0 + np.exp(-z)) - y) if logistic else (z - y)
    r = s * r / s.sum()
    return X.T @ r, r.sum()


def _standardization(X, s, fit_intercept):
    s = s / s.sum()
    mu = s @ X if fit_intercept else np.zeros(X.shape[1])
    return np.sqrt(s @ (X - mu) ** 2)


def _check_group_kkt(
    fit,
    X,
    y,
    groups,
    alpha,
    rho,
    *,
    s=None,
    pf=None,
    logistic=False,
    standardize=False,
    fit_intercept=True,
    rtol=1e-6,
):
    """The group KKT conditions, in numpy, in the penalty's coordinates:
    ``||grad_g|| <= l1_g`` at a zero group, else
    ``grad_g + l1_g w_g / ||w_g|| + l2_g w_g = 0`` (relative to ``l1_g``)."""
    n, p = X.shape
    s = np.ones(n) if s is None else np.asarray(s, float)
    pf = np.ones(p) if pf is None else np.asarray(pf, float)
    pf = pf * p / pf.sum()
    w = np.asarray(fit.coef, float)
    b = float(fit.intercept)
    g, gb = _loss_grad(X, y, w, b, s, logistic)
    if fit_intercept:
        assert abs(gb) <= 1e-7
    scale = _standardization(X, s, fit_intercept) if standardize else np.ones(p)
    beta, grad = w * scale, g / scale  # the penalized coordinates and their gradient
    checked = 0
    for label in np.unique(groups):
        idx = groups == label
        l1 = alpha * rho * np.sqrt(idx.sum()) * pf[idx][0]
        l2 = alpha * (1 - rho) * pf[idx][0]
        norm = np.linalg.norm(beta[idx])
        if norm == 0:
            assert np.linalg.norm(grad[idx]) <= l1 * (1 + rtol) + 1e-12, label
        else:
            resid = grad[idx] + l1 * beta[idx] / norm + l2 * beta[idx]
            assert np.linalg.norm(resid) <= rtol * max(l1, 1e-3), (label, resid)
            checked += 1
    return checked


@pytest.mark.parametrize("logistic", [False, True])
@pytest.mark.parametrize("rho", [1.0, 0.5])
@pytest.mark.parametrize("standardize", [False, True])
def test_group_kkt_holds(logistic, rho, standardize):
    X, y = _problem(logistic=logistic)
    s = np.random.default_rng(1).uniform(0.5, 2.0, X.shape[0])
    pf = np.repeat([1.0, 2.0, 0.5, 1.0, 1.5], 3)
    fn = jaxreg.logistic if logistic else jaxreg.elastic_net
    alpha = 0.02 if logistic else 0.1
    fit = fn(
        X,
        y,
        alpha,
        rho,
        groups=GROUPS,
        sample_weight=s,
        penalty_factor=pf,
        standardize=standardize,
        tol=1e-15,
    )
    assert int(fit.status) == Status.CONVERGED
    active = _check_group_kkt(
        fit, X, y, GROUPS, alpha, rho, s=s, pf=pf, logistic=logistic, standardize=standardize
    )
    # Some groups in, some out: both conditions were exercised.
    assert 0 < active < len(np.unique(GROUPS))
    w = np.asarray(fit.coef)
    for label in np.unique(GROUPS):
        block = w[GROUPS == label]
        assert np.all(block == 0) or np.all(block != 0)


def test_wide_and_sparse_designs():
    X, y = _problem(n=30, p=60, seed=3)
    groups = np.arange(60) // 4
    fit = jaxreg.lasso(X, y, 0.1, groups=groups, tol=1e-15)
    assert int(fit.status) == Status.CONVERGED
    _check_group_kkt(fit, X, y, groups, 0.1, 1.0)
    Xs = sp.csr_matrix(np.where(np.abs(X) > 0.8, X, 0.0))
    sparse = jaxreg.lasso(Xs, y, 0.05, groups=groups, tol=1e-15)
    dense = jaxreg.lasso(Xs.toarray(), y, 0.05, groups=groups, tol=1e-15)
    assert int(sparse.status) == Status.CONVERGED
    np.testing.assert_allclose(sparse.coef, dense.coef, atol=1e-8)
    _check_group_kkt(sparse, Xs.toarray(), y, groups, 0.05, 1.0)


@pytest.mark.parametrize("logistic", [False, True])
def test_groups_of_one_are_the_lasso(logistic):
    X, y = _problem(logistic=logistic)
    fn = jaxreg.logistic if logistic else jaxreg.lasso
    alpha = 0.01 if logistic else 0.05
    grouped = fn(X, y, alpha, groups=np.arange(X.shape[1]), tol=1e-14)
    plain = fn(X, y, alpha, tol=1e-14)
    np.testing.assert_allclose(grouped.coef, plain.coef, atol=1e-10)
    np.testing.assert_allclose(grouped.intercept, plain.intercept, atol=1e-10)
    np.testing.assert_allclose(grouped.objective, plain.objective, rtol=1e-12)


@pytest.mark.parametrize("logistic", [False, True])
def test_alpha_max_is_where_every_group_leaves(logistic):
    X, y = _problem(logistic=logistic)
    pf = np.repeat([1.0, 0.0, 1.0, 2.0, 1.0], 3)  # one unpenalized group
    fn = jaxreg.logistic if logistic else jaxreg.lasso
    loss = "logistic" if logistic else "squared"
    top = float(jaxreg.alpha_max(X, y, loss=loss, groups=GROUPS, penalty_factor=pf))
    above = fn(X, y, top * (1 + 1e-6), groups=GROUPS, penalty_factor=pf, tol=1e-12)
    penalized = pf > 0
    assert np.all(np.asarray(above.coef)[penalized] == 0)
    assert np.any(np.asarray(above.coef)[~penalized] != 0)
    below = fn(X, y, top * (1 - 1e-3), groups=GROUPS, penalty_factor=pf, tol=1e-12)
    assert np.any(np.asarray(below.coef)[penalized] != 0)
    # The elementwise alpha_max differs (a group's norm is not its largest entry).
    assert top != pytest.approx(float(jaxreg.alpha_max(X, y, loss=loss, penalty_factor=pf)))


@pytest.mark.parametrize("logistic", [False, True])
def test_path_points_equal_single_fits(logistic):
    X, y = _problem(logistic=logistic)
    path_fn = jaxreg.logistic_path if logistic else jaxreg.enet_path
    fn = jaxreg.logistic if logistic else jaxreg.elastic_net
    path = path_fn(X, y, l1_ratio=0.7, groups=GROUPS, n_alphas=8, tol=1e-15)
    assert np.all(np.asarray(path.status) == Status.CONVERGED)
    for k in (0, 3, 7):
        a = float(path.alphas[k])
        fit = fn(X, y, a, 0.7, groups=GROUPS, tol=1e-15)
        np.testing.assert_allclose(path.coef[k], fit.coef, rtol=1e-5, atol=1e-7)
    grid = jaxreg.alpha_grid(
        X, y, 0.7, n_alphas=8, groups=GROUPS, loss="logistic" if logistic else "squared"
    )
    np.testing.assert_allclose(path.alphas, grid, rtol=1e-8)


def test_cross_validation_curves_equal_per_fold_refits():
    X, y = _problem(n=60)
    foldid = np.arange(60) % 3
    res = jaxreg.cross_validate(X, y, groups=GROUPS, foldid=foldid, n_alphas=6, tol=1e-15)
    for k in range(3):
        train = foldid != k
        for j in (0, 2, 5):
            a = float(res.alphas[0, j]) if np.ndim(res.alphas) == 2 else float(res.alphas[j])
            fit = jaxreg.lasso(X[train], y[train], a, groups=GROUPS, tol=1e-15)
            pred = X[~train] @ np.asarray(fit.coef) + float(fit.intercept)
            mse = np.mean((y[~train] - pred) ** 2)
            np.testing.assert_allclose(res.fold_scores[k, 0, j], mse, rtol=1e-6)


def test_jit_and_vmap_match_eager():
    X, y = _problem()
    alphas = jnp.array([0.3, 0.1, 0.03])
    eager = np.stack(
        [np.asarray(jaxreg.lasso(X, y, float(a), groups=GROUPS, tol=1e-10).coef) for a in alphas]
    )
    fit = lambda a: jaxreg.lasso(X, y, a, groups=GROUPS, tol=1e-10).coef  # noqa: E731
    np.testing.assert_allclose(jax.jit(fit)(alphas[1]), eager[1], atol=1e-9)
    np.testing.assert_allclose(jax.vmap(fit)(alphas), eager, atol=1e-9)


@pytest.mark.parametrize("logistic", [False, True])
def test_gradients_match_central_differences(logistic):
    X, y = _problem(logistic=logistic)
    s = np.random.default_rng(2).uniform(0.5, 2.0, X.shape[0])
    fn = jaxreg.logistic if logistic else jaxreg.elastic_net
    alpha = 0.05 if logistic else 0.1
    c = np.random.default_rng(4).standard_normal(X.shape[1])

    def f(a, rho, w, X):
        fit = fn(X, y, a, rho, groups=GROUPS, sample_weight=w, tol=1e-15)
        return jnp.dot(fit.coef, c) + fit.intercept

    args = (alpha, 0.6, jnp.asarray(s), jnp.asarray(X))
    grads = jax.grad(f, argnums=(0, 1, 2, 3))(*args)
    rng = np.random.default_rng(5)
    for i, g in enumerate(grads):
        d = rng.standard_normal(np.shape(args[i])) if np.ndim(args[i]) else 1.0
        h = 1e-5 * (abs(float(args[i])) if np.ndim(args[i]) == 0 else 1.0)
        plus = [a for a in args]
        minus = [a for a in args]
        plus[i] = args[i] + h * d
        minus[i] = args[i] - h * d
        fd = (f(*plus) - f(*minus)) / (2 * h)
        np.testing.assert_allclose(
            np.sum(np.asarray(g) * d), fd, rtol=1e-5, atol=1e-8, err_msg=str(i)
        )


def _group_lasso_objective(X, y, w, b, alpha, groups):
    pen = sum(
        np.sqrt(np.sum(groups == g)) * np.linalg.norm(w[groups == g]) for g in np.unique(groups)
    )
    return 0.5 * np.mean((y - X @ w - b) ** 2) + alpha * pen


def test_float32_converges_to_its_floor():
    X, y = _problem()
    fit = jaxreg.lasso(X.astype(np.float32), y.astype(np.float32), 0.1, groups=GROUPS, tol=1e-5)
    assert fit.coef.dtype == np.float32
    assert int(fit.status) == Status.CONVERGED
    ref = jaxreg.lasso(X, y, 0.1, groups=GROUPS, tol=1e-15)
    # The float32 point, evaluated in float64, within its tolerance of the optimum.
    w32 = np.asarray(fit.coef, float)
    sub = _group_lasso_objective(X, y, w32, float(fit.intercept), 0.1, GROUPS) - float(
        ref.objective
    )
    assert -1e-12 <= sub <= 1e-5 * np.var(y) * 1.5


def test_penalty_pieces_agree_with_numpy():
    rng = np.random.default_rng(0)
    groups = np.array([0, 0, 1, 1, 1, 2])
    pen = GroupPenalty(
        l1=jnp.array([0.5, 1.0, 0.0]),
        l2=jnp.array([0.2, 0.0, 0.0]),
        groups=jnp.asarray(groups),
        lower=jnp.full(6, -jnp.inf),
        upper=jnp.full(6, jnp.inf),
    )
    v = rng.standard_normal(6)
    out = np.asarray(pen.prox(jnp.asarray(v), 0.7))
    for g, (l1, l2) in enumerate([(0.5, 0.2), (1.0, 0.0), (0.0, 0.0)]):
        vg = v[groups == g]
        # The prox minimizes 0.5 |x - v|^2 + 0.7 h(x): check its optimality.
        xg = out[groups == g]
        nrm = np.linalg.norm(xg)
        if nrm == 0:
            assert np.linalg.norm(vg) <= 0.7 * l1
        else:
            np.testing.assert_allclose(xg - vg + 0.7 * (l1 * xg / nrm + l2 * xg), 0, atol=1e-12)
    w = rng.standard_normal(6)
    expected = sum(
        l1 * np.linalg.norm(w[groups == g]) + 0.5 * l2 * np.sum(w[groups == g] ** 2)
        for g, (l1, l2) in enumerate([(0.5, 0.2), (1.0, 0.0), (0.0, 0.0)])
    )
    np.testing.assert_allclose(pen.value(jnp.asarray(w)), expected, rtol=1e-12)
    # Fenchel-Young terms vanish at w = prox point pairs (w, v - w scaled) and
    # are nonnegative elsewhere.
    x = pen.prox(jnp.asarray(v), 1.0)
    assert abs(float(pen.fenchel_young(x, jnp.asarray(v) - x))) <= 1e-12
    assert float(pen.fenchel_young(jnp.asarray(w), jnp.asarray(v))) >= 0


def test_bad_groups_are_refused():
    X, y = _problem()
    p = X.shape[1]
    with pytest.raises(ValueError, match="groups must have shape"):
        jaxreg.lasso(X, y, 0.1, groups=np.zeros(p - 1, int))
    with pytest.raises(ValueError, match="groups must hold integer"):
        jaxreg.lasso(X, y, 0.1, groups=np.linspace(0, 1, p))
    with pytest.raises(ValueError, match="bounds"):
        jaxreg.lasso(X, y, 0.1, groups=GROUPS, positive=True)
    with pytest.raises(ValueError, match="bounds"):
        jaxreg.lasso(X, y, 0.1, groups=GROUPS, upper=1.0)
    with pytest.raises(ValueError, match="equal within each group"):
        jaxreg.lasso(X, y, 0.1, groups=GROUPS, penalty_factor=np.arange(1.0, p + 1))
    with pytest.raises(ValueError, match="newton"):
        jaxreg.logistic(X, (y > 0).astype(float), 0.1, groups=GROUPS, solver="newton")
    with pytest.raises(ValueError, match="working_set"):
        jaxreg.lasso_path(X, y, groups=GROUPS, strategy="working_set")


def test_traced_bounds_with_groups_are_invalid_input():
    X, y = _problem()
    fit = jax.jit(lambda u: jaxreg.lasso(X, y, 0.1, groups=GROUPS, upper=u))(jnp.ones(X.shape[1]))
    assert int(fit.status) == Status.INVALID_INPUT


@pytest.mark.parametrize("logistic", [False, True])
@pytest.mark.parametrize("rho", [1.0, 0.5])
@pytest.mark.parametrize("tol", [1e-1, 1e-3])
def test_loose_fits_are_within_their_gap(logistic, rho, tol):
    """At a loose tolerance the gap, not the KKT rule, stops the solver: the
    certificate must bound the true suboptimality (a wrong dual scaling or
    conjugate would show here, where tight fits hide it)."""
    X, y = _problem(logistic=logistic)
    pf = np.repeat([1.0, 0.0, 2.0, 1.0, 1.0], 3)  # one free group
    fn = jaxreg.logistic if logistic else jaxreg.elastic_net
    alpha = 0.02 if logistic else 0.1
    kwargs = dict(groups=GROUPS, penalty_factor=pf)
    fit = fn(X, y, alpha, rho, tol=tol, max_iter=3, check_every=1, **kwargs)
    best = fn(X, y, alpha, rho, tol=1e-15, **kwargs)
    assert float(fit.objective) - float(best.objective) <= float(fit.gap) * (1 + 1e-9) + 1e-15
    assert float(fit.gap) > 0


def test_fenchel_young_terms_are_exact():
    rng = np.random.default_rng(3)
    groups = np.array([0, 0, 1, 1, 1, 2, 2])
    l1, l2 = np.array([0.5, 1.0, 0.3]), np.array([0.2, 0.0, 0.7])
    pen = GroupPenalty(
        l1=jnp.asarray(l1),
        l2=jnp.asarray(l2),
        groups=jnp.asarray(groups),
        lower=jnp.full(7, -jnp.inf),
        upper=jnp.full(7, jnp.inf),
    )
    w, v = rng.standard_normal(7), rng.standard_normal(7)
    v[groups == 1] *= 0.9 / np.linalg.norm(v[groups == 1])  # inside the l2 = 0 group's ball
    expected = 0.0
    for g in range(3):
        wg, vg = w[groups == g], v[groups == g]
        h = l1[g] * np.linalg.norm(wg) + 0.5 * l2[g] * wg @ wg
        excess = max(np.linalg.norm(vg) - l1[g], 0.0)
        conj = excess**2 / (2 * l2[g]) if l2[g] > 0 else 0.0
        expected += h + conj - vg @ wg
    np.testing.assert_allclose(float(pen.fenchel_young(jnp.asarray(w), jnp.asarray(v))), expected)


def test_unrolled_and_grid_derivatives_are_finite_with_zero_groups():
    X, y = _problem()
    X = X.copy()
    X[:, 9:12] = 1.0  # a group of constant columns: zero with an intercept
    a = 0.1
    fit = jaxreg.lasso(X, y, a, groups=GROUPS, tol=1e-12)
    assert np.any(np.asarray(fit.coef) == 0)

    def coef(alpha, diff):
        return jaxreg.lasso(X, y, alpha, groups=GROUPS, diff=diff, tol=1e-12, max_iter=3000).coef

    unrolled = jax.jacfwd(lambda t: coef(t, "unrolled"))(a)
    implicit = jax.jacfwd(lambda t: coef(t, "implicit"))(a)
    assert np.all(np.isfinite(unrolled))
    np.testing.assert_allclose(unrolled, implicit, atol=1e-6)
    grad_y = jax.grad(lambda y: jaxreg.alpha_max(X, y, groups=GROUPS))(jnp.asarray(y))
    assert np.all(np.isfinite(grad_y))


def test_traced_uneven_penalty_factors_are_invalid_input():
    X, y = _problem()
    pf = jnp.arange(1.0, X.shape[1] + 1)
    fit = jax.jit(lambda f: jaxreg.lasso(X, y, 0.1, groups=GROUPS, penalty_factor=f))(pf)
    assert int(fit.status) == Status.INVALID_INPUT
    even = jax.jit(lambda f: jaxreg.lasso(X, y, 0.1, groups=GROUPS, penalty_factor=f))(
        jnp.repeat(jnp.arange(1.0, 6.0), 3)
    )
    assert int(even.status) == Status.CONVERGED


def test_ridge_cross_validation_refuses_groups():
    X, y = _problem()
    with pytest.raises(ValueError, match="groups"):
        jaxreg.cross_validate(X, y, "ridge", alphas=[1.0, 0.1], groups=GROUPS)
