"""optax proximal optimizers: one learning rate, exact proximal steps, schedules,
masks, convergence to the penalized optimum, errors, and the feature-selection example."""

from __future__ import annotations

import functools
import importlib.util
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxreg
from jaxreg.optim import (
    elastic_net,
    elastic_net_prox,
    group_lasso,
    l1,
    l1_prox,
    l2,
    l2_prox,
    proximal,
)

ROOT = pathlib.Path(__file__).resolve().parents[1]


# --- oracles written in NumPy -------------------------------------------------


def _soft(v, t):
    return np.sign(v) * np.maximum(np.abs(v) - t, 0.0)


def _block_soft(V, t):
    norms = np.linalg.norm(V, axis=-1, keepdims=True)
    return V * np.maximum(1.0 - t / np.where(norms > 0, norms, 1.0), 0.0)


# name: (the penalty, its proximal step prox_{eta h}(v) by hand), alpha = 0.7
PENALTIES = {
    "l1": (lambda: l1(0.7), lambda v, eta: _soft(v, eta * 0.7)),
    "l2": (lambda: l2(0.7), lambda v, eta: v / (1.0 + eta * 0.7)),
    "elastic_net": (
        lambda: elastic_net(0.7, 0.3),
        lambda v, eta: _soft(v, eta * 0.7 * 0.3) / (1.0 + eta * 0.7 * 0.7),
    ),
    "group_lasso": (lambda: group_lasso(0.7), lambda v, eta: _block_soft(v, eta * 0.7)),
}


def _least_squares(n=40, shape=(6, 3), seed=0):
    """``0.5 * mean((A vec(W) - b)^2)`` on a matrix parameter, and its gradient in NumPy."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, int(np.prod(shape))))
    b = rng.standard_normal(n)

    def loss(W):
        return 0.5 * jnp.mean((A @ W.ravel() - b) ** 2)

    def grad(W):
        return (A.T @ (A @ W.ravel() - b) / n).reshape(shape)

    return loss, grad, rng.standard_normal(shape)


def _iterates(opt, w0, loss, steps):
    """The parameters before each of ``steps`` steps, then after the last, and the state."""

    @jax.jit
    def go(w):
        def body(carry, _):
            w, state = carry
            updates, state = opt.update(jax.grad(loss)(w), state, w)
            return (optax.apply_updates(w, updates), state), w

        (w, state), path = jax.lax.scan(body, (w, opt.init(w)), None, length=steps)
        return jnp.concatenate([path, w[None]]), state

    return go(jnp.asarray(w0))


# --- one step, several steps, schedules ---------------------------------------


@pytest.mark.parametrize("name", sorted(PENALTIES))
def test_sgd_step_is_one_proximal_gradient_step(name):
    make, prox = PENALTIES[name]
    rng = np.random.default_rng(1)
    w = rng.standard_normal((8, 4))
    g = rng.standard_normal((8, 4))
    w[:3] *= 0.05  # small rows, for the thresholds to zero
    g[:3] *= 0.05
    opt = proximal(optax.sgd, make(), 0.5)
    updates, state = opt.update(jnp.asarray(g), opt.init(jnp.asarray(w)), jnp.asarray(w))
    new = np.asarray(optax.apply_updates(jnp.asarray(w), updates))
    np.testing.assert_allclose(new, prox(w - 0.5 * g, 0.5), rtol=0, atol=1e-13)
    # Soft-thresholding gives exact zeros (single weights or whole rows); L2 never does.
    n_zero = int(np.sum(new == 0))
    assert n_zero == 0 if name == "l2" else n_zero > 0
    if name == "group_lasso":
        assert np.all((new == 0).all(axis=1) == (new == 0).any(axis=1))
    assert int(state.count) == 1


SCHEDULES = {
    # the rate changes at every step, so a prox that read another step's rate
    # (or the first one) would be caught
    "exponential": optax.exponential_decay(0.8, transition_steps=1, decay_rate=0.7),
    "callable": lambda count: 0.1 + 0.15 * count,
    "warmup from 0": optax.linear_schedule(0.0, 0.6, transition_steps=3),
}


@pytest.mark.parametrize("schedule", sorted(SCHEDULES))
@pytest.mark.parametrize("name", sorted(PENALTIES))
def test_schedule_reaches_gradient_and_proximal_steps_alike(name, schedule):
    make, prox = PENALTIES[name]
    rate = SCHEDULES[schedule]
    loss, grad, w0 = _least_squares(seed=2)
    path, _ = _iterates(proximal(optax.sgd, make(), rate), w0, loss, steps=6)
    w = w0
    for t in range(6):
        # the rate as the step computes it: from an int32 count, compiled (optax's
        # schedules compute in float32, where compiled and eager may round apart)
        eta = float(jax.jit(rate)(jnp.int32(t)))
        w = prox(w - eta * grad(w), eta)
        np.testing.assert_allclose(path[t + 1], w, rtol=0, atol=1e-12, err_msg=f"step {t}")
    assert np.all(np.isfinite(path))


def test_one_rate_equals_the_same_rate_given_twice():
    # What proximal replaces: sgd(rate) chained with l1_prox(alpha, rate).
    rate = optax.exponential_decay(0.8, transition_steps=1, decay_rate=0.7)
    loss, _, w0 = _least_squares(seed=3)
    one, _ = _iterates(proximal(optax.sgd, l1(0.7), rate), w0, loss, 6)
    two, _ = _iterates(optax.chain(optax.sgd(rate), l1_prox(0.7, rate)), w0, loss, 6)
    np.testing.assert_allclose(one, two, rtol=0, atol=1e-13)
    np.testing.assert_array_equal(one == 0, two == 0)


def test_penalty_schedule_follows_the_step_count():
    w = jnp.array([1.0])
    opt = proximal(optax.sgd, lambda count: l1(0.5 * count), 0.1)
    path, _ = _iterates(opt, w, lambda w: 0.0 * jnp.sum(w), 4)
    # thresholds 0.1 * 0.5 * t at step t
    np.testing.assert_allclose(-np.diff(path[:, 0]), [0.0, 0.05, 0.1, 0.15], atol=1e-14)


# --- convergence to the penalized optimum ------------------------------------


@pytest.fixture(scope="module")
def lasso_problem():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((100, 8))
    y = X[:, :3] @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.standard_normal(100)
    L = float(np.linalg.eigvalsh(X.T @ X / 100).max())

    def loss(w):  # jaxreg.lasso's datafit: 1/(2n) ||y - X w||^2
        return 0.5 * jnp.mean((y - X @ w) ** 2)

    return X, y, L, loss


def _lasso(X, y, alpha, l1_ratio=1.0):
    fit = jaxreg.elastic_net(X, y, alpha, l1_ratio, fit_intercept=False, tol=1e-14)
    return np.asarray(fit.coef)


@pytest.mark.parametrize(
    "optimizer,rate",
    [
        (optax.sgd, "1/L"),
        (optax.sgd, "0.5/L"),
        (optax.sgd, "decaying"),
        (functools.partial(optax.sgd, momentum=0.9), "1/L"),
        (functools.partial(optax.sgd, momentum=0.9, nesterov=True), "0.5/L"),
    ],
    ids=["sgd", "sgd-half-rate", "sgd-schedule", "momentum", "nesterov"],
)
def test_iterates_converge_to_the_lasso_whatever_the_rate(lasso_problem, optimizer, rate):
    """The solution depends on alpha alone: not on the rate, its schedule or momentum."""
    X, y, L, loss = lasso_problem
    rates = {
        "1/L": 1 / L,
        "0.5/L": 0.5 / L,
        "decaying": optax.linear_schedule(1 / L, 0.5 / L, transition_steps=500),
    }
    alpha = 0.1
    path, state = _iterates(proximal(optimizer, l1(alpha), rates[rate]), np.zeros(8), loss, 3000)
    w, ref = np.asarray(path[-1]), _lasso(X, y, alpha)
    assert 0 < np.count_nonzero(ref) < 8
    np.testing.assert_allclose(w, ref, rtol=0, atol=1e-8)
    np.testing.assert_array_equal(w == 0, ref == 0)
    # The subgradient the last prox produced certifies optimality: grad L + r = 0.
    np.testing.assert_allclose(jax.grad(loss)(w) + state.subgradient, 0.0, atol=1e-8)


def test_elastic_net_converges_to_jaxreg_elastic_net(lasso_problem):
    X, y, L, loss = lasso_problem
    path, _ = _iterates(proximal(optax.sgd, elastic_net(0.2, 0.4), 1 / L), np.zeros(8), loss, 3000)
    np.testing.assert_allclose(path[-1], _lasso(X, y, 0.2, 0.4), rtol=0, atol=1e-8)


def test_adam_comes_to_rest_near_the_lasso(lasso_problem):
    # Adam's fixed points are the optimum too (it is fed grad L + r); a
    # decaying rate lets it settle there.
    X, y, _, loss = lasso_problem
    rate = optax.exponential_decay(0.05, transition_steps=100, decay_rate=0.8)
    path, _ = _iterates(proximal(optax.adam, l1(0.1), rate), np.zeros(8), loss, 5000)
    np.testing.assert_allclose(path[-1], _lasso(X, y, 0.1), rtol=0, atol=1e-5)


def test_a_standalone_prox_after_momentum_solves_a_weaker_problem(lasso_problem):
    """Documented contrast: sgd(momentum=beta) + l1_prox reaches the lasso at
    (1 - beta) alpha, which is why proximal feeds the penalty to the optimizer."""
    X, y, L, loss = lasso_problem
    chain = optax.chain(optax.sgd(1 / L, momentum=0.9), l1_prox(0.1, 1 / L))
    path, _ = _iterates(chain, np.zeros(8), loss, 3000)
    np.testing.assert_allclose(path[-1], _lasso(X, y, 0.1 * (1 - 0.9)), rtol=0, atol=1e-8)
    assert np.abs(np.asarray(path[-1]) - _lasso(X, y, 0.1)).max() > 1e-2


def test_group_lasso_reaches_its_optimality_conditions():
    rng = np.random.default_rng(4)
    n, G, s = 200, 8, 3
    X = rng.standard_normal((n, G * s))
    W_true = np.zeros((G, s))
    W_true[:3] = rng.standard_normal((3, s))
    y = X @ W_true.ravel() + 0.1 * rng.standard_normal(n)

    def loss(W):
        return 0.5 * jnp.mean((y - X @ W.ravel()) ** 2)

    alpha = 0.05
    step = 1 / float(np.linalg.eigvalsh(X.T @ X / n).max())
    path, state = _iterates(
        proximal(optax.sgd, group_lasso(alpha), step), np.zeros((G, s)), loss, 2000
    )
    W = np.asarray(path[-1])
    g = np.asarray(jax.grad(loss)(W))
    norms = np.linalg.norm(W, axis=1)
    zero = norms == 0
    assert zero[3:].all() and not zero[:3].any()  # exactly the noise groups, as whole rows
    # KKT: grad_g = -alpha W_g / ||W_g|| on kept groups, ||grad_g|| <= alpha on zero ones
    kept = ~zero
    np.testing.assert_allclose(g[kept], -alpha * W[kept] / norms[kept, None], atol=1e-9)
    assert np.linalg.norm(g[zero], axis=1).max() < alpha
    np.testing.assert_allclose(g + np.asarray(state.subgradient), 0.0, atol=1e-9)


# --- which parameters, dtypes, jit ----------------------------------------------


def test_mask_and_tree_of_penalties_select_parameters():
    params = {"w": jnp.array([0.05, -0.5]), "b": jnp.array([0.05, 0.5])}
    grads = {"w": jnp.array([1.0, 1.0]), "b": jnp.array([1.0, 1.0])}

    def step(opt):
        updates, _ = opt.update(grads, opt.init(params), params)
        return optax.apply_updates(params, updates)

    by_mask = step(proximal(optax.sgd, l1(1.0), 0.1, mask={"w": True, "b": False}))
    by_fn = step(proximal(optax.sgd, l1(1.0), 0.1, mask=lambda p: {"w": True, "b": False}))
    by_tree = step(proximal(optax.sgd, {"w": l1(1.0), "b": None}, 0.1))
    for new in (by_mask, by_fn, by_tree):
        np.testing.assert_allclose(new["w"], [-0.0, -0.5], atol=1e-15)  # (0.05 - 0.1) thresholded
        np.testing.assert_array_equal(new["b"], params["b"] - 0.1)  # the SGD update, untouched
    both = step(proximal(optax.sgd, {"w": l1(1.0), "b": l2(1.0)}, 0.1))
    np.testing.assert_allclose(both["b"], (params["b"] - 0.1) / 1.1, atol=1e-15)


def test_prefix_mask_covers_a_subtree():
    params = {"layer": {"w": jnp.ones((2, 2)), "b": jnp.ones(2)}, "head": jnp.ones(2)}
    grads = jax.tree.map(jnp.zeros_like, params)
    opt = proximal(optax.sgd, l2(1.0), 1.0, mask={"layer": True, "head": False})
    state = opt.init(params)
    updates, state = opt.update(grads, state, params)
    new = optax.apply_updates(params, updates)
    np.testing.assert_allclose(new["layer"]["w"], 0.5)
    np.testing.assert_allclose(new["layer"]["b"], 0.5)
    np.testing.assert_array_equal(new["head"], 1.0)
    assert isinstance(state.subgradient["head"], optax.MaskedNode)


def test_float32_jit_and_eager_agree():
    w = jnp.linspace(-1.0, 1.0, 6, dtype=jnp.float32)
    g = jnp.ones(6, jnp.float32)
    for penalty in (elastic_net(0.5, 0.5), group_lasso(0.5)):
        opt = proximal(functools.partial(optax.sgd, momentum=0.9), penalty, 0.1)
        state = opt.init(w)
        eager, eager_state = opt.update(g, state, w)
        jitted, jit_state = jax.jit(opt.update)(g, state, w)
        assert eager.dtype == jitted.dtype == jnp.float32
        assert jit_state.subgradient.dtype == jnp.float32
        np.testing.assert_allclose(eager, jitted, rtol=1e-6)


# --- errors name the argument ----------------------------------------------------


@pytest.mark.parametrize(
    "make,error,match",
    [
        (lambda: proximal(optax.sgd, l1(0.1), -0.1), ValueError, "learning_rate"),
        (lambda: proximal(optax.sgd, l1(0.1), float("nan")), ValueError, "learning_rate"),
        (lambda: proximal(optax.sgd, l1(0.1), float("inf")), ValueError, "learning_rate"),
        (lambda: proximal(optax.sgd, l1(0.1), "0.1"), TypeError, "learning_rate"),
        (lambda: proximal(optax.sgd, l1(0.1), None), TypeError, "learning_rate"),
        (lambda: proximal(optax.sgd, None, 0.1), TypeError, "penalty"),
        (lambda: proximal(optax.sgd, "l1", 0.1), TypeError, "penalty"),
        (lambda: proximal(optax.sgd, {"w": None}, 0.1), TypeError, "penalty"),
        (lambda: proximal(optax.sgd, learning_rate=0.1), TypeError, "penalty"),
        (lambda: proximal(optax.sgd(0.1), l1(0.1), 0.1), TypeError, "optimizer"),
        (lambda: proximal("sgd", l1(0.1), 0.1), TypeError, "optimizer"),
        (lambda: proximal(lambda rate: rate, l1(0.1), 0.1), TypeError, "optimizer"),
        (lambda: proximal(optax.sgd, {"w": l1(0.1)}, 0.1, mask={"w": True}), ValueError, "mask"),
        (lambda: l1(-1.0), ValueError, "alpha"),
        (lambda: l2(float("nan")), ValueError, "alpha"),
        (lambda: group_lasso(float("inf")), ValueError, "alpha"),
        (lambda: l1(None), TypeError, "alpha"),
        (lambda: l1(optax.linear_schedule(0.0, 1.0, 10)), TypeError, "alpha"),
        (lambda: elastic_net(0.1, 1.5), ValueError, "l1_ratio"),
        (lambda: elastic_net(0.1, "half"), TypeError, "l1_ratio"),
        (lambda: group_lasso(0.1, axis="rows"), TypeError, "axis"),
        (lambda: l1_prox(-1.0, 0.1), ValueError, "alpha"),
        (lambda: l2_prox(1.0, -0.1), ValueError, "learning_rate"),
        (lambda: elastic_net_prox(1.0, 1.5, 0.1), ValueError, "l1_ratio"),
    ],
)
def test_bad_arguments_are_named(make, error, match):
    with pytest.raises(error, match=match):
        make()


@pytest.mark.parametrize(
    "make", [lambda: proximal(optax.sgd, l1(0.1), 0.1), lambda: l1_prox(0.1, 0.1)]
)
def test_update_needs_params(make):
    t = make()
    with pytest.raises(ValueError, match="params"):
        t.update(jnp.ones(2), t.init(jnp.ones(2)))


# --- the stand-alone transforms ---------------------------------------------------


def test_standalone_prox_steps_are_exact():
    rng = np.random.default_rng(0)
    w = jnp.asarray(rng.standard_normal(50))
    g = jnp.asarray(rng.standard_normal(50))
    v = np.asarray(w - 0.1 * g)

    def one_step(transform):
        opt = optax.chain(optax.sgd(0.1), transform)
        updates, _ = opt.update(g, opt.init(w), w)
        return np.asarray(optax.apply_updates(w, updates))

    np.testing.assert_allclose(one_step(l1_prox(0.7, 0.1)), _soft(v, 0.07), atol=1e-12)
    np.testing.assert_allclose(one_step(l2_prox(0.7, 0.1)), v / 1.07, atol=1e-12)
    expected = _soft(v, 0.1 * 0.7 * 0.3) / (1 + 0.1 * 0.7 * 0.7)
    np.testing.assert_allclose(one_step(elastic_net_prox(0.7, 0.3, 0.1)), expected, atol=1e-12)
    masked = one_step(l1_prox(0.7, 0.1, mask=lambda p: False))
    np.testing.assert_allclose(masked, v, atol=1e-15)


def test_standalone_alpha_schedule_follows_the_step_count():
    w = jnp.array([1.0])
    schedule = optax.linear_schedule(0.0, 1.0, 10)
    path, _ = _iterates(
        optax.chain(optax.sgd(0.1), l1_prox(schedule, 0.1)), w, lambda w: 0.0 * jnp.sum(w), 3
    )
    # optax's linear_schedule computes in float32
    np.testing.assert_allclose(-np.diff(path[:, 0]), [0.0, 0.01, 0.02], atol=1e-7)


# --- the example -------------------------------------------------------------------


def _example():
    path = ROOT / "examples" / "optax_feature_selection.py"
    spec = importlib.util.spec_from_file_location("optax_feature_selection", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_feature_selection_example_shows_its_claim():
    """L2 leaves the noise inputs' weights small beside the informative ones;
    group lasso zeros exactly the noise inputs."""
    example = _example()
    results = example.run()
    (l2_name, l2_run), (l1_name, l1_run), (group_name, group_run) = results.items()
    assert l2_name.startswith("L2") and group_name.startswith("group lasso")
    assert l1_name.startswith("L1")
    k = example.INFORMATIVE
    l2_norms, group_norms = l2_run["norms"], group_run["norms"]
    assert np.all(l2_norms > 0)  # L2 only shrinks
    assert l2_norms[k:].max() < l2_norms[:k].min() / 3
    np.testing.assert_array_equal(group_norms[k:], 0.0)  # exact zeros, whole rows
    assert np.all(group_norms[:k] > 0.1)
    assert group_run["test_mse"] < 0.2 and l2_run["test_mse"] < 0.3
    # Elementwise L1 zeros single weights: some inside the informative inputs'
    # rows (a row partly zero), while noise inputs are not all dropped.
    k_zeros = l1_run["zeros"][:k]
    assert np.any((k_zeros > 0) & (k_zeros < example.HIDDEN))
    assert np.any(l1_run["norms"][k:] > 0)
    assert set(np.unique(group_run["zeros"])) <= {0, example.HIDDEN}  # whole rows or none
    text = example.report(results)
    assert "group lasso: inputs kept [0, 1, 2, 3], the other 16 exactly zero" in text
    assert "inputs dropped: 0" in text


def test_group_lasso_prox_equals_proximal_with_group_lasso():
    """The chainable step and proximal(...) agree iterate for iterate (a
    schedule included), whole rows reach zero, and a mask leaves a parameter alone."""
    from jaxreg.optim import group_lasso_prox

    r = np.random.default_rng(7)
    X = jnp.asarray(r.standard_normal((60, 5)))
    Y = X[:, :2] @ jnp.asarray(r.standard_normal((2, 3)))
    Y = Y + 0.1 * jnp.asarray(r.standard_normal((60, 3)))
    W0 = {"W": jnp.zeros((5, 3)), "b": jnp.ones(3)}

    def loss(p):
        return 0.5 * jnp.mean((Y - X @ p["W"] - p["b"]) ** 2)

    rate = optax.exponential_decay(0.3, transition_steps=10, decay_rate=0.9)
    mask = {"W": True, "b": False}
    one_opt = proximal(optax.sgd, group_lasso(0.05), rate, mask=mask)
    two_opt = optax.chain(optax.sgd(rate), group_lasso_prox(0.05, rate, mask=mask))
    results = []
    for opt in (one_opt, two_opt):
        p, state = W0, opt.init(W0)
        for _ in range(300):
            updates, state = opt.update(jax.grad(loss)(p), state, p)
            p = optax.apply_updates(p, updates)
        results.append(p)
    np.testing.assert_allclose(results[0]["W"], results[1]["W"], atol=1e-12)
    rows = np.linalg.norm(np.asarray(results[1]["W"]), axis=1)
    assert np.all(rows[2:] == 0) and np.all(rows[:2] > 0)
    assert np.all(np.asarray(results[1]["b"]) != 0)
    with pytest.raises(ValueError, match="alpha"):
        group_lasso_prox(-1.0, 0.1)
    with pytest.raises(TypeError, match="axis"):
        group_lasso_prox(0.1, 0.1, axis="rows")
