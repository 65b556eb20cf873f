"""Group lasso on a network's input layer drops the noise inputs; L2 shrinks, L1 scatters zeros.

Twenty standard-normal inputs, of which the first four drive the target,
``sin(2 x0) + 2 tanh(2 x1) - 1.5 tanh(3 x2) + x3`` plus noise; the other
sixteen are noise. The network is ``tanh(x W + b) . v + c`` with 16 hidden
units: row ``j`` of ``W`` holds the weights leaving input ``j``, and its norm
says how much the network uses that input. The same network is trained three times
by full-batch proximal gradient descent, ``jaxreg.optim.proximal(optax.sgd,
penalties, learning_rate)``: one learning rate serves the gradient step and
the proximal step. The input layer ``W`` gets

* ``jaxreg.optim.l2(0.1)``, ``0.05 * ||W||^2``: every row shrinks by the same
  factor each step, and the rows of the noise inputs, which the loss does not
  hold up, end small beside the informative ones but never zero;
* ``jaxreg.optim.l1(0.005)``, ``0.005 * sum |W_jk|``: single weights become
  exactly zero, scattered over the matrix: some noise inputs keep a few
  weights, and informative inputs lose some of theirs, so "which inputs"
  has no clean answer;
* ``jaxreg.optim.group_lasso(0.05)``, ``0.05 * sum_j ||W_j||``: a row whose
  norm falls below the threshold becomes exactly zero as a whole, so the noise
  inputs are dropped.

In both runs ``v`` gets a small ``l2(0.03)``: unpenalized, the output layer
would grow to make up for a smaller input layer, and the penalty on ``W``
would lose its meaning (and the step its stability).

Run: python examples/optax_feature_selection.py [--steps 2000]
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxreg

N_INPUTS, INFORMATIVE, HIDDEN = 20, 4, 16


def make_data(n: int, seed: int):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, N_INPUTS))
    signal = np.sin(2 * X[:, 0]) + 2 * np.tanh(2 * X[:, 1]) - 1.5 * np.tanh(3 * X[:, 2]) + X[:, 3]
    y = signal + 0.1 * rng.standard_normal(n)
    # float32 whether or not JAX runs in float64: the same numbers either way.
    return jnp.asarray(X, jnp.float32), jnp.asarray(y, jnp.float32)


def init_params(key):
    k1, k2 = jax.random.split(key)
    return {
        # Python scales keep float32 under x64 (a NumPy scalar would promote).
        "W": jax.random.normal(k1, (N_INPUTS, HIDDEN), jnp.float32) / N_INPUTS**0.5,
        "b": jnp.zeros(HIDDEN, jnp.float32),
        "v": jax.random.normal(k2, (HIDDEN,), jnp.float32) / HIDDEN**0.5,
        "c": jnp.zeros((), jnp.float32),
    }


def predict(params, X):
    return jnp.tanh(X @ params["W"] + params["b"]) @ params["v"] + params["c"]


def mse(params, X, y):
    return jnp.mean((predict(params, X) - y) ** 2)


def train(penalty, learning_rate: float, steps: int, X, y):
    """Full-batch proximal SGD on the mean squared error, ``penalty`` on ``W``."""
    # One penalty per parameter; None leaves the biases alone.
    penalties = {"W": penalty, "b": None, "v": jaxreg.optim.l2(0.03), "c": None}
    optimizer = jaxreg.optim.proximal(optax.sgd, penalties, learning_rate)

    def step(carry, _):
        params, state = carry
        grads = jax.grad(mse)(params, X, y)
        updates, state = optimizer.update(grads, state, params)
        return (optax.apply_updates(params, updates), state), None

    @jax.jit
    def fit(params):
        (params, _), _ = jax.lax.scan(step, (params, optimizer.init(params)), None, length=steps)
        return params

    return fit(init_params(jax.random.PRNGKey(0)))


def run(
    steps: int = 2000,
    learning_rate: float = 0.1,
    alpha_l2: float = 0.1,
    alpha_group: float = 0.05,
    n: int = 5000,
    alpha_l1: float = 0.005,
) -> dict[str, dict]:
    """Train with each penalty: the norm of each input's outgoing weights and the test MSE."""
    X, y = make_data(n, seed=0)
    X_test, y_test = make_data(2000, seed=1)
    penalties = {
        f"L2 (alpha={alpha_l2:g})": jaxreg.optim.l2(alpha_l2),
        f"L1 (alpha={alpha_l1:g})": jaxreg.optim.l1(alpha_l1),
        f"group lasso (alpha={alpha_group:g})": jaxreg.optim.group_lasso(alpha_group),
    }
    results = {}
    for name, penalty in penalties.items():
        params = train(penalty, learning_rate, steps, X, y)
        W = np.asarray(params["W"])
        results[name] = {
            "norms": np.linalg.norm(W, axis=1),
            "zeros": np.count_nonzero(W == 0, axis=1),  # exact zeros per input row
            "test_mse": float(mse(params, X_test, y_test)),
        }
    return results


def report(results: dict[str, dict]) -> str:
    (l2_name, l2), (l1_name, l1), (group_name, group) = results.items()
    lines = [
        f"inputs 0-{INFORMATIVE - 1} informative, {INFORMATIVE}-{N_INPUTS - 1} noise; "
        f"norm of each input's {HIDDEN} outgoing weights (L1: and how many are exactly zero):",
        f"{'input':>5}  {'informative':>11}  {l2_name:>22}  {l1_name:>24}  {group_name:>28}",
    ]
    for j in range(N_INPUTS):
        kept = f"{group['norms'][j]:.4f}" if group["norms"][j] != 0 else "0 (dropped)"
        sparse = f"{l1['norms'][j]:.4f} ({l1['zeros'][j]:2d} zero)"
        lines.append(
            f"{j:5d}  {'yes' if j < INFORMATIVE else 'no':>11}  {l2['norms'][j]:22.4f}  "
            f"{sparse:>24}  {kept:>28}"
        )
    lines.append(
        f"{'test MSE':>18}  {l2['test_mse']:22.4f}  {l1['test_mse']:24.4f}  "
        f"{group['test_mse']:28.4f}"
    )
    smallest, largest = l2["norms"][:INFORMATIVE].min(), l2["norms"][INFORMATIVE:].max()
    lines.append(
        f"L2: largest noise norm {largest:.4f} = {largest / smallest:.2f} x the smallest "
        f"informative one ({smallest:.4f}); inputs dropped: {int(np.sum(l2['norms'] == 0))}"
    )
    noise_dropped = int(np.sum(l1["norms"][INFORMATIVE:] == 0))
    informative_zeros = int(np.sum(l1["zeros"][:INFORMATIVE]))
    lines.append(
        f"L1: {noise_dropped} of {N_INPUTS - INFORMATIVE} noise inputs dropped, and "
        f"{informative_zeros} of the informative inputs' {INFORMATIVE * HIDDEN} weights zero"
    )
    kept = np.flatnonzero(group["norms"]).tolist()
    lines.append(f"group lasso: inputs kept {kept}, the other {N_INPUTS - len(kept)} exactly zero")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--alpha-l2", type=float, default=0.1)
    parser.add_argument("--alpha-group", type=float, default=0.05)
    args = parser.parse_args(argv)
    print(report(run(args.steps, args.lr, args.alpha_l2, args.alpha_group)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
