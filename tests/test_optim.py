"""optax proximal transformations: exact prox steps, masks, schedules, composition."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxreg
from jaxreg.optim import elastic_net_prox, l1_prox, l2_prox


def _one_step(transform, params, grads):
    opt = optax.chain(optax.sgd(0.1), transform)
    state = opt.init(params)
    updates, state = opt.update(grads, state, params)
    return optax.apply_updates(params, updates), state


def test_prox_steps_are_exact():
    rng = np.random.default_rng(0)
    w = jnp.asarray(rng.standard_normal(50))
    g = jnp.asarray(rng.standard_normal(50))
    v = w - 0.1 * g
    new, _ = _one_step(l1_prox(0.7, 0.1), w, g)
    np.testing.assert_allclose(new, jnp.sign(v) * jnp.maximum(jnp.abs(v) - 0.07, 0.0), atol=1e-12)
    assert int(jnp.sum(new == 0)) > 0  # exact zeros
    new, _ = _one_step(l2_prox(0.7, 0.1), w, g)
    np.testing.assert_allclose(new, v / (1 + 0.07), atol=1e-12)
    assert not bool(jnp.any(new == 0))
    new, _ = _one_step(elastic_net_prox(0.7, 0.3, 0.1), w, g)
    expected = jnp.sign(v) * jnp.maximum(jnp.abs(v) - 0.1 * 0.7 * 0.3, 0.0) / (1 + 0.1 * 0.7 * 0.7)
    np.testing.assert_allclose(new, expected, atol=1e-12)


def test_proximal_gradient_solves_the_lasso():
    """sgd(1/L) + l1_prox is ISTA: it converges to jaxreg.lasso's solution."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((100, 8))
    y = X[:, :3] @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.standard_normal(100)
    alpha = 0.1
    L = float(np.linalg.eigvalsh(X.T @ X / 100).max())
    opt = optax.chain(optax.sgd(1 / L), l1_prox(alpha, 1 / L))
    w = jnp.zeros(8)
    state = opt.init(w)

    def loss(w):
        return 0.5 * jnp.mean((y - X @ w) ** 2)

    @jax.jit
    def step(w, state):
        updates, state = opt.update(jax.grad(loss)(w), state, w)
        return optax.apply_updates(w, updates), state

    for _ in range(3000):
        w, state = step(w, state)
    ref = jaxreg.lasso(X, y, alpha, fit_intercept=False, tol=1e-12).coef
    np.testing.assert_allclose(w, ref, atol=1e-8)
    np.testing.assert_array_equal(np.asarray(w) == 0, np.asarray(ref) == 0)


def test_mask_selects_parameters():
    params = {"w": jnp.array([0.05, -0.5]), "b": jnp.array([0.05, 0.5])}
    grads = jax.tree.map(jnp.zeros_like, params)
    new, _ = _one_step(l1_prox(1.0, 0.1, mask={"w": True, "b": False}), params, grads)
    np.testing.assert_allclose(new["w"], [0.0, -0.4])
    np.testing.assert_allclose(new["b"], [0.05, 0.5])
    new, _ = _one_step(l1_prox(1.0, 0.1, mask=lambda p: {"w": False, "b": True}), params, grads)
    np.testing.assert_allclose(new["w"], [0.05, -0.5])
    np.testing.assert_allclose(new["b"], [0.0, 0.4])


def test_schedules_follow_the_step_count():
    w = jnp.array([1.0])
    schedule = optax.linear_schedule(0.0, 1.0, 10)
    opt = optax.chain(optax.sgd(0.1), l1_prox(schedule, 0.1))
    state = opt.init(w)
    seen = []
    for _ in range(3):
        updates, state = opt.update(jnp.zeros(1), state, w)
        new = optax.apply_updates(w, updates)
        seen.append(float(w[0] - new[0]))
        w = new
    np.testing.assert_allclose(seen, [0.0, 0.01, 0.02], atol=1e-7)


def test_float32_and_jit():
    w = jnp.ones(4, jnp.float32)
    opt = optax.chain(optax.sgd(0.1), elastic_net_prox(0.5, 0.5, 0.1))
    state = opt.init(w)
    updates, _ = jax.jit(opt.update)(jnp.ones(4, jnp.float32), state, w)
    assert updates.dtype == jnp.float32


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda: l1_prox(-1.0, 0.1), "alpha"),
        (lambda: l2_prox(1.0, -0.1), "learning_rate"),
        (lambda: elastic_net_prox(1.0, 1.5, 0.1), "l1_ratio"),
    ],
)
def test_bad_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_update_needs_params():
    t = l1_prox(0.1, 0.1)
    with pytest.raises(ValueError, match="params"):
        t.update(jnp.ones(2), t.init(jnp.ones(2)))


def test_feature_selection_example_zeros_exactly_the_uninformative_inputs():
    """The MLP example: L1 keeps inputs 0-3 and zeros the other 16 exactly; L2 zeros none."""
    import pathlib
    import subprocess
    import sys

    script = pathlib.Path(__file__).resolve().parents[1] / "examples" / "optax_feature_selection.py"
    proc = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[-2] == "L1: inputs used [0, 1, 2, 3]"
    assert lines[-1] == f"L2: inputs used {list(range(20))}"
    assert "L1 epoch" in proc.stdout and "train MSE" in proc.stdout
