"""Differentiating through solutions: oracles are finite differences and closed forms."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _jaxreg_problems import design

import jaxreg
from jaxreg import _implicit

TIGHT = 1e-15  # floored at the dtype's resolution: as converged as the solver gets

# (model, loss): the models the acceptance asks for, plus a logistic elastic net
# to exercise l1_ratio on the logistic loss.
MODELS = ["lasso", "enet", "ridge", "logistic_l1", "logistic_l2", "logistic_enet"]
SETTINGS = [
    # (n, p, kind, fit_intercept, standardize, weighted)
    (80, 10, "random", True, False, True),
    (60, 12, "offset", True, True, False),
    (70, 8, "corr0.6", False, False, True),
    (40, 60, "random", True, False, True),  # p > n
]


def _problem(model, setting, seed):
    n, p, kind, fit_intercept, standardize, weighted = setting
    rng = np.random.default_rng(seed)
    X = design(n, p, kind, rng)
    w = np.zeros(p)
    k = 3
    w[:k] = rng.choice([-1, 1], k) * rng.uniform(1.0, 2.0, k)
    eta = X @ w
    if model.startswith("logistic"):
        prob = 1.0 / (1.0 + np.exp(-(eta - eta.mean()) / max(eta.std(), 1e-12) * 2.0))
        y = (rng.uniform(size=n) < prob).astype(float)
    else:
        y = eta + 0.5 + 0.5 * rng.standard_normal(n)
    sw = rng.uniform(0.5, 2.0, n) if weighted else np.ones(n)
    return X, y, sw, fit_intercept, standardize


def _fit(model, X, y, alpha, l1_ratio, sw, fit_intercept, standardize, **kw):
    common = dict(sample_weight=sw, fit_intercept=fit_intercept, standardize=standardize)
    if model == "lasso":
        return jaxreg.lasso(X, y, alpha, tol=TIGHT, **common, **kw)
    if model == "enet":
        return jaxreg.elastic_net(X, y, alpha, l1_ratio, tol=TIGHT, **common, **kw)
    if model == "ridge":
        return jaxreg.ridge(X, y, alpha, **common, **kw)
    ratio = {"logistic_l1": 1.0, "logistic_l2": 0.0}.get(model, l1_ratio)
    return jaxreg.logistic(X, y, alpha, ratio, tol=TIGHT, **common, **kw)


def _alpha(model, X, y, sw, fit_intercept, standardize):
    if model == "ridge":
        return 3.0
    loss = "logistic" if model.startswith("logistic") else "squared"
    ratio = {"enet": 0.5, "logistic_enet": 0.5, "logistic_l2": 1.0}.get(model, 1.0)
    top = float(
        jaxreg.alpha_max(
            X,
            y,
            ratio,
            loss=loss,
            sample_weight=sw,
            fit_intercept=fit_intercept,
            standardize=standardize,
        )
    )
    return (0.01 if model == "logistic_l2" else 0.3) * top


def _params(model):
    names = ["X", "alpha", "sample_weight"]
    if not model.startswith("logistic"):
        names.append("y")
    if model in ("enet", "logistic_enet"):
        names.append("l1_ratio")
    return names


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("model", MODELS)
def test_gradients_match_central_differences(model, seed):
    """jax.grad and jax.jvp of a scalar read-out agree with central differences to 1e-5."""
    X, y, sw, fit_intercept, standardize = _problem(model, SETTINGS[seed], seed)
    alpha = _alpha(model, X, y, sw, fit_intercept, standardize)
    l1_ratio = 0.5
    rng = np.random.default_rng(1000 + seed)
    u = rng.standard_normal(X.shape[1] + 1)

    def readout(X, y, alpha, l1_ratio, sw):
        fit = _fit(model, X, y, alpha, l1_ratio, sw, fit_intercept, standardize)
        return jnp.dot(u[:-1], fit.coef) + u[-1] * fit.intercept, fit

    def value(*args):
        return readout(*args)[0]

    primals = dict(X=X, y=y, alpha=alpha, l1_ratio=l1_ratio, sample_weight=sw)
    order = ["X", "y", "alpha", "l1_ratio", "sample_weight"]
    base_fit = readout(*[primals[k] for k in order])[1]
    assert bool(base_fit.converged)
    support = np.asarray(base_fit.coef) != 0
    grads = jax.grad(value, argnums=(0, 1, 2, 3, 4))(*[primals[k] for k in order])
    grads = dict(zip(order, grads, strict=True))
    for name in _params(model):
        x0 = np.asarray(primals[name], dtype=float)
        direction = rng.standard_normal(x0.shape) if x0.ndim else np.array(1.0)
        if name == "sample_weight":
            direction = direction * 0.3
        h = 1e-5 * (abs(float(x0)) if x0.ndim == 0 else 1.0)

        def shifted(t, name=name, x0=x0, direction=direction):
            args = dict(primals)
            args[name] = x0 + t * direction
            return readout(*[args[k] for k in order])

        (vp, fp), (vm, fm) = shifted(h), shifted(-h)
        for fit in (fp, fm):  # the perturbation keeps the support
            assert bool(fit.converged)
            np.testing.assert_array_equal(np.asarray(fit.coef) != 0, support)
        fd = (float(vp) - float(vm)) / (2 * h)
        reverse = float(np.sum(np.asarray(grads[name]) * direction))
        forward = float(
            jax.jvp(
                lambda t, name=name, x0=x0, direction=direction: shifted(t)[0],
                (0.0,),
                (1.0,),
            )[1]
        )
        scale = max(abs(fd), 1e-3)
        assert abs(reverse - fd) <= 1e-5 * scale, (name, reverse, fd)
        assert abs(forward - fd) <= 1e-5 * scale, (name, forward, fd)


def _toeplitz_design(n, p, rho, seed):
    rng = np.random.default_rng(seed)
    cov = rho ** np.abs(np.subtract.outer(np.arange(p), np.arange(p)))
    return rng.standard_normal((n, p)) @ np.linalg.cholesky(cov).T


@pytest.mark.parametrize("n,p", [(200, 50), (50, 200)])
def test_lasso_alpha_jacobian_is_the_closed_form_on_correlated_designs(n, p):
    """d coef / d alpha = -n (Xc_S' Xc_S)^-1 sign(w_S), Toeplitz rho = 0.95, with intercept."""
    X = _toeplitz_design(n, p, 0.95, seed=3)
    rng = np.random.default_rng(4)
    w = np.zeros(p)
    w[[3, 17, 30]] = [2.0, -1.5, 1.0]
    y = X @ w + 1.0 + 0.3 * rng.standard_normal(n)
    alpha = 0.05 * float(jaxreg.alpha_max(X, y))
    # Certified convergence is asserted, so the tolerance sits just above the
    # float64 floor: at TIGHT (1e-15) the 50 x 200 fit's gap stalls at 1.27e-14
    # against a gap tolerance of 1.03e-14 on some CPUs, converged on others.
    tol = 1e-14

    def coef_and_intercept(a):
        fit = jaxreg.lasso(X, y, a, tol=tol)
        return fit.coef, fit.intercept

    fit = jaxreg.lasso(X, y, alpha, tol=tol)
    assert bool(fit.converged)
    coef = np.asarray(fit.coef)
    S = coef != 0
    Xc = X - X.mean(axis=0)
    closed = np.zeros(p)
    closed[S] = -n * np.linalg.solve(Xc[:, S].T @ Xc[:, S], np.sign(coef[S]))
    d_coef, d_intercept = jax.jacfwd(coef_and_intercept)(alpha)
    r_coef, r_intercept = jax.jacrev(coef_and_intercept)(alpha)
    assert np.all(np.isfinite(np.asarray(d_coef)))
    scale = np.max(np.abs(closed))
    np.testing.assert_allclose(d_coef, closed, rtol=0, atol=1e-8 * scale)
    np.testing.assert_allclose(r_coef, closed, rtol=0, atol=1e-8 * scale)
    # b = mean(y) - mean(x)' w, so db/dalpha = -mean(x)' dw/dalpha.
    expected_b = -X.mean(axis=0) @ closed
    np.testing.assert_allclose(d_intercept, expected_b, rtol=1e-8, atol=1e-8 * scale)
    np.testing.assert_allclose(r_intercept, expected_b, rtol=1e-8, atol=1e-8 * scale)
    # An unrestricted solve would use the full Hessian of the smooth part:
    # singular when p > n, while the system on the support is well posed.
    restricted_cond = np.linalg.cond(Xc[:, S].T @ Xc[:, S] / n)
    assert restricted_cond < 1e4
    if p > n:
        assert np.linalg.cond(Xc.T @ Xc / n) > 1e12


def test_vmapped_hypergradients_equal_a_loop():
    """50 alphas: vmap of jax.grad equals a Python loop of single gradients."""
    X = _toeplitz_design(100, 20, 0.5, seed=0)
    rng = np.random.default_rng(1)
    y = X[:, :4] @ np.array([1.0, -2.0, 0.5, 1.5]) + rng.standard_normal(100)
    X_val = _toeplitz_design(50, 20, 0.5, seed=2)
    y_val = X_val[:, :4] @ np.array([1.0, -2.0, 0.5, 1.5]) + rng.standard_normal(50)
    alphas = jnp.asarray(np.geomspace(1.0, 1e-3, 50) * float(jaxreg.alpha_max(X, y)))

    def val_loss(log_alpha):
        fit = jaxreg.lasso(X, y, jnp.exp(log_alpha), tol=1e-12)
        r = y_val - X_val @ fit.coef - fit.intercept
        return jnp.mean(r * r)

    batched = jax.jit(jax.vmap(jax.grad(val_loss)))(jnp.log(alphas))
    looped = np.array([float(jax.grad(val_loss)(jnp.log(a))) for a in alphas])
    np.testing.assert_allclose(batched, looped, rtol=1e-9, atol=1e-12)
    assert np.any(looped != 0)


def test_vmapped_over_fold_weights():
    """Hypergradients for all CV folds in one call equal per-fold ones."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((90, 8))
    y = X[:, 0] - X[:, 1] + rng.standard_normal(90)
    folds = jaxreg.make_folds(90, 3, seed=1)
    train = jnp.asarray(folds[None] != np.arange(3)[:, None], float)

    def fold_loss(alpha, w):
        fit = jaxreg.lasso(X, y, alpha, sample_weight=w, tol=1e-12)
        r = y - X @ fit.coef - fit.intercept
        return jnp.sum((1 - w) * r * r) / jnp.sum(1 - w)

    batched = jax.vmap(jax.grad(fold_loss), in_axes=(None, 0))(0.05, train)
    looped = [float(jax.grad(fold_loss)(0.05, train[k])) for k in range(3)]
    np.testing.assert_allclose(batched, looped, rtol=1e-9)


def test_jit_equals_eager_and_forward_equals_reverse():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 6))
    y = X[:, 0] + 0.5 * rng.standard_normal(50)

    def f(X, alpha):
        return jaxreg.elastic_net(X, y, alpha, 0.7, tol=1e-12).coef

    jac_rev = jax.jacrev(f, argnums=(0, 1))(X, 0.05)
    jac_fwd = jax.jacfwd(f, argnums=(0, 1))(X, 0.05)
    jac_jit = jax.jit(jax.jacrev(f, argnums=(0, 1)))(X, 0.05)
    with jax.disable_jit():
        jac_eager = jax.jacrev(f, argnums=(0, 1))(X, 0.05)
    for a, b, c, d in zip(jac_rev, jac_fwd, jac_jit, jac_eager, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(a, c, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(a, d, rtol=1e-9, atol=1e-12)


def test_unrolled_matches_implicit_when_converged():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 8))
    y = X[:, :2] @ np.array([1.0, -1.0]) + 0.3 * rng.standard_normal(60)

    def grad(diff, model):
        def f(alpha):
            if model == "lasso":
                fit = jaxreg.lasso(X, y, alpha, tol=1e-14, max_iter=3000, diff=diff)
            else:
                yb = (y > 0).astype(float)
                fit = jaxreg.logistic(X, yb, alpha, tol=1e-14, max_iter=3000, diff=diff)
            return jnp.sum(fit.coef**2) + fit.intercept

        return float(jax.grad(f)(0.05))

    for model in ("lasso", "logistic"):
        implicit, unrolled = grad("implicit", model), grad("unrolled", model)
        assert abs(unrolled - implicit) <= 1e-6 * abs(implicit), (model, implicit, unrolled)


def test_unrolled_differentiates_a_truncated_solve():
    """With few iterations, unrolled gives the derivative of the returned iterate."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 8))
    y = X[:, 0] + 0.3 * rng.standard_normal(60)

    def f(alpha):
        return jnp.sum(jaxreg.lasso(X, y, alpha, max_iter=20, tol=1e-14, diff="unrolled").coef)

    g = float(jax.grad(f)(0.05))
    h = 1e-6
    fd = (float(f(0.05 + h)) - float(f(0.05 - h))) / (2 * h)
    assert abs(g - fd) <= 1e-5 * abs(fd)


def test_conjugate_gradient_route_matches_dense(monkeypatch):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 30))
    y = X[:, :3] @ np.array([1.0, -1.0, 2.0]) + 0.2 * rng.standard_normal(40)

    def g():
        return jax.grad(lambda a: jnp.sum(jaxreg.elastic_net(X, y, a, 0.8, tol=1e-14).coef))(0.05)

    dense = float(g())
    monkeypatch.setattr(_implicit, "_DENSE_LIMIT", 0)
    jax.clear_caches()
    _implicit.implicit_fit.cache_clear()
    cg = float(g())
    assert abs(cg - dense) <= 1e-8 * abs(dense)


def test_coefficients_at_a_bound_follow_it():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((80, 5))
    y = X @ np.array([3.0, -1.0, 0.0, 0.5, 0.0]) + 0.1 * rng.standard_normal(80)
    upper = np.full(5, 1.0)

    def f(upper):
        return jaxreg.lasso(X, y, 0.01, upper=upper, tol=1e-14).coef

    fit = jaxreg.lasso(X, y, 0.01, upper=upper, tol=1e-14)
    assert float(fit.coef[0]) == 1.0  # pinned by its bound
    J = np.asarray(jax.jacfwd(f)(upper))
    assert J[0, 0] == 1.0
    h = 1e-6
    for j in range(5):
        e = np.zeros(5)
        e[j] = h
        fd = (np.asarray(f(upper + e)) - np.asarray(f(upper - e))) / (2 * h)
        np.testing.assert_allclose(J[:, j], fd, atol=1e-6)


def test_objective_derivative_is_the_envelope():
    """d P* / d alpha = sum |w*| for the lasso (and a finite difference agrees)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 8))
    y = X[:, 0] - X[:, 3] + 0.5 * rng.standard_normal(60)

    def obj(a):
        return jaxreg.lasso(X, y, a, tol=TIGHT).objective

    a = 0.05
    g = float(jax.grad(obj)(a))
    assert abs(g - float(jnp.sum(jnp.abs(jaxreg.lasso(X, y, a, tol=TIGHT).coef)))) < 1e-9
    h = 1e-6
    assert abs(g - (float(obj(a + h)) - float(obj(a - h))) / (2 * h)) < 1e-6


def test_float32_gradients_are_close_to_float64():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((80, 10))
    y = X[:, :3] @ np.array([1.0, -2.0, 0.5]) + 0.3 * rng.standard_normal(80)

    def g(X, y, alpha):
        return jax.grad(lambda a: jnp.sum(jaxreg.lasso(X, y, a, tol=1e-7).coef ** 2))(alpha)

    g64 = float(g(X, y, 0.05))
    g32 = g(X.astype(np.float32), y.astype(np.float32), np.float32(0.05))
    assert g32.dtype == jnp.float32
    assert abs(float(g32) - g64) <= 1e-3 * abs(g64)


def test_diff_is_validated():
    X, y = np.ones((5, 2)), np.ones(5)
    with pytest.raises(ValueError, match="diff"):
        jaxreg.lasso(X, y, 0.1, diff="backprop")
    with pytest.raises(ValueError, match="diff"):
        jaxreg.ridge(X, y, 0.1, diff="backprop")


@pytest.mark.parametrize("model", ["lasso", "logistic"])
def test_penalty_factor_gradient_matches_central_differences(model):
    rng = np.random.default_rng(7)
    X = rng.standard_normal((90, 6))
    eta = X[:, :3] @ np.array([1.5, -1.0, 0.8])
    if model == "lasso":
        y, fit_fn = eta + 0.3 * rng.standard_normal(90), jaxreg.lasso
    else:
        y, fit_fn = (rng.uniform(size=90) < 1 / (1 + np.exp(-eta))).astype(float), jaxreg.logistic
    pf = rng.uniform(0.5, 2.0, 6)
    u = rng.standard_normal(6)

    def f(pf):
        fit = fit_fn(X, y, 0.05, penalty_factor=pf, tol=TIGHT)
        return jnp.dot(u, fit.coef) + fit.intercept

    g = np.asarray(jax.grad(f)(pf))
    d = rng.standard_normal(6)
    h = 1e-6
    fd = (float(f(pf + h * d)) - float(f(pf - h * d))) / (2 * h)
    assert abs(g @ d - fd) <= 1e-5 * abs(fd)


def test_constant_column_gradients_are_finite_and_right():
    """Standardized fit with a constant column: reverse mode stays finite (and exact)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 5))
    X[:, 4] = 2.0
    y = X[:, 0] - X[:, 1] + 0.3 * rng.standard_normal(40)
    sw = rng.uniform(0.5, 2.0, 40)

    def f(X, sw):
        return jnp.sum(jaxreg.lasso(X, y, 0.05, sample_weight=sw, standardize=True, tol=TIGHT).coef)

    gX, gsw = jax.grad(f, argnums=(0, 1))(X, sw)
    assert np.all(np.isfinite(np.asarray(gX))) and np.all(np.isfinite(np.asarray(gsw)))
    d = rng.standard_normal(40)
    h = 1e-4
    fd = (float(f(X, sw + h * d)) - float(f(X, sw - h * d))) / (2 * h)
    assert abs(float(np.asarray(gsw) @ d) - fd) <= 1e-5 * abs(fd)
    g_ridge = jax.grad(
        lambda sw: jnp.sum(jaxreg.ridge(X, y, 1.0, sample_weight=sw, standardize=True).coef)
    )(sw)
    assert np.all(np.isfinite(np.asarray(g_ridge)))


def test_constant_column_held_at_a_bound_follows_it():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((50, 4))
    X[:, 3] = 2.0
    y = X[:, 0] + 0.3 * rng.standard_normal(50)
    lower = np.array([-np.inf, -np.inf, -np.inf, 0.3])

    def f(lower):
        fit = jaxreg.lasso(X, y, 0.05, lower=lower, tol=TIGHT)
        return fit.coef[3], fit.intercept

    assert float(f(lower)[0]) == pytest.approx(0.3)
    d_coef, d_b = jax.jacfwd(f)(lower)
    assert float(d_coef[3]) == pytest.approx(1.0)
    h = 1e-5
    e = np.array([0, 0, 0, h])
    fd_b = (float(f(lower + e)[1]) - float(f(lower - e)[1])) / (2 * h)
    assert float(d_b[3]) == pytest.approx(fd_b, rel=1e-6)
