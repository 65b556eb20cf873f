"""L1 on the input layer of a small MLP selects the informative inputs; L2 only shrinks.

Twenty inputs, of which the first four drive the target
(``sin(2 x0) + x1 x2 + 0.5 x3`` plus noise). The network's input layer scales
each input by a weight ``g_j`` (a diagonal layer), then a dense tanh layer and a
linear output follow. The same network is trained twice with
``optax.sgd(momentum=0.9)`` chained with a proximal step on the input layer
only (``mask``):

* ``jaxreg.optim.l1_prox``: soft-thresholding, so the weights of inputs that
  do not help become exactly zero and those inputs are dropped;
* ``jaxreg.optim.l2_prox``: shrinkage, every weight gets smaller, none is zero.

Run: python examples/optax_feature_selection.py [--epochs 1500]
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxreg

N_INPUTS, INFORMATIVE, HIDDEN = 20, 4, 32


def make_data(n: int, seed: int):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, N_INPUTS)).astype(np.float32)
    y = np.sin(2 * X[:, 0]) + X[:, 1] * X[:, 2] + 0.5 * X[:, 3] + 0.1 * rng.standard_normal(n)
    return jnp.asarray(X), jnp.asarray(y.astype(np.float32))


def init_params(key):
    k1, k2 = jax.random.split(key)
    return {
        "input": jnp.ones(N_INPUTS),  # one weight per input: the layer the penalty acts on
        "hidden": {
            "w": jax.random.normal(k1, (N_INPUTS, HIDDEN)) / np.sqrt(N_INPUTS),
            "b": jnp.zeros(HIDDEN),
        },
        "output": {"w": jax.random.normal(k2, (HIDDEN,)) / np.sqrt(HIDDEN), "b": jnp.zeros(())},
    }


def predict(params, X):
    h = jnp.tanh((X * params["input"]) @ params["hidden"]["w"] + params["hidden"]["b"])
    return h @ params["output"]["w"] + params["output"]["b"]


def mse(params, X, y):
    return jnp.mean((predict(params, X) - y) ** 2)


def train(penalty: str, alpha: float, lr: float, epochs: int, X, y):
    # The mask mirrors the parameter tree: only the input layer is penalized.
    mask = jax.tree.map(lambda _: False, init_params(jax.random.PRNGKey(0)))
    mask["input"] = True
    prox = jaxreg.optim.l1_prox if penalty == "L1" else jaxreg.optim.l2_prox
    optimizer = optax.chain(optax.sgd(lr, momentum=0.9), prox(alpha, learning_rate=lr, mask=mask))
    params = init_params(jax.random.PRNGKey(0))
    state = optimizer.init(params)

    @jax.jit
    def step(params, state):
        loss, grads = jax.value_and_grad(mse)(params, X, y)
        updates, state = optimizer.update(grads, state, params)
        return optax.apply_updates(params, updates), state, loss

    for epoch in range(epochs):
        params, state, loss = step(params, state)
        if epoch % max(1, epochs // 6) == 0 or epoch == epochs - 1:
            used = int(jnp.sum(params["input"] != 0))
            print(f"  {penalty} epoch {epoch:5d}  train MSE {float(loss):.4f}  inputs used {used}")
    return params


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=1500)
    parser.add_argument("--alpha", type=float, default=0.1)
    parser.add_argument("--lr", type=float, default=0.02)
    args = parser.parse_args(argv)
    X, y = make_data(1000, seed=0)
    X_test, y_test = make_data(1000, seed=1)
    results = {}
    for penalty in ("L1", "L2"):
        params = train(penalty, args.alpha, args.lr, args.epochs, X, y)
        results[penalty] = params
        print(f"  {penalty} test MSE {float(mse(params, X_test, y_test)):.4f}\n")
    print("input  informative  weight (L1)  weight (L2)")
    for j in range(N_INPUTS):
        w1, w2 = float(results["L1"]["input"][j]), float(results["L2"]["input"][j])
        print(f"{j:5d}  {'yes' if j < INFORMATIVE else 'no':>11}  {w1:11.4f}  {w2:11.4f}")
    for penalty, params in results.items():
        used = np.flatnonzero(np.asarray(params["input"]) != 0).tolist()
        print(f"{penalty}: inputs used {used}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
