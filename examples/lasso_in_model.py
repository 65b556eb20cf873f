"""A Lasso solve inside a larger JAX model, trained end to end.

The model maps raw inputs ``Z`` to features ``H = tanh(Z W + c)`` and fits a
Lasso on the training features: the readout is the *solution* of a Lasso, not
a layer trained by gradient steps. The outer loss is the readout's error on
validation data. ``jax.grad`` reaches ``W``, ``c`` and ``log(alpha)`` through
the Lasso solution by implicit differentiation (with respect to the design
matrix ``H`` and to ``alpha``), and one jitted optax step updates them all.

Run: python examples/lasso_in_model.py [--steps 150] [--smoke]
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxreg

jax.config.update("jax_enable_x64", True)


def make_data(n: int, d: int, seed: int):
    """y depends on two nonlinear functions of the first 3 of d inputs."""
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((n, d))
    y = np.sin(2.0 * Z[:, 0]) + Z[:, 1] * Z[:, 2] + 0.1 * rng.standard_normal(n)
    return jnp.asarray(Z), jnp.asarray(y)


def features(params, Z):
    return jnp.tanh(Z @ params["W"] + params["c"])


def lasso_readout(params, Z_train, y_train):
    """Fit the Lasso on the training features: its solution is the readout."""
    fit = jaxreg.lasso(features(params, Z_train), y_train, jnp.exp(params["log_alpha"]), tol=1e-8)
    return fit


def outer_loss(params, Z_train, y_train, Z_val, y_val):
    fit = lasso_readout(params, Z_train, y_train)
    pred = features(params, Z_val) @ fit.coef + fit.intercept
    return jnp.mean((y_val - pred) ** 2), fit


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--smoke", action="store_true", help="a few steps (for tests)")
    args = parser.parse_args(argv)
    steps = 10 if args.smoke else args.steps
    d = 6
    Z_train, y_train = make_data(400, d, seed=0)
    Z_val, y_val = make_data(200, d, seed=1)
    Z_test, y_test = make_data(1000, d, seed=2)

    key_w, key_c = jax.random.split(jax.random.PRNGKey(0))
    params = {
        "W": jax.random.normal(key_w, (d, args.hidden)),
        "c": 0.5 * jax.random.normal(key_c, (args.hidden,)),
        "log_alpha": jnp.log(1e-2),
    }
    optimizer = optax.adam(3e-2)
    state = optimizer.init(params)

    @jax.jit
    def step(params, state):
        (loss, fit), grads = jax.value_and_grad(outer_loss, has_aux=True)(
            params, Z_train, y_train, Z_val, y_val
        )
        updates, state = optimizer.update(grads, state, params)
        return optax.apply_updates(params, updates), state, loss, fit

    def test_mse(params):
        fit = lasso_readout(params, Z_train, y_train)
        pred = features(params, Z_test) @ fit.coef + fit.intercept
        return float(jnp.mean((y_test - pred) ** 2))

    print(f"test MSE with random features: {test_mse(params):.4f}")
    print(" step   val MSE     alpha  nonzeros  status")
    for i in range(steps):
        params, state, loss, fit = step(params, state)
        if i % max(1, steps // 10) == 0 or i == steps - 1:
            status = jaxreg.Status(int(fit.status)).name
            print(
                f"{i:5d} {float(loss):9.4f} {float(jnp.exp(params['log_alpha'])):9.2e} "
                f"{int(jnp.sum(fit.coef != 0)):9d}  {status}"
            )
    print(f"test MSE with trained features: {test_mse(params):.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
