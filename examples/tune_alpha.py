"""Tune the Lasso's alpha by gradient descent, and compare with a grid search.

The 5-fold cross-validation loss is a function of alpha through the fitted
coefficients; ``jaxreg.tune`` differentiates it implicitly and takes optax
steps in log(alpha). ``jaxreg.cross_validate`` evaluates the same loss on a
100-alpha grid. The plot shows the grid's curve with the gradient steps on it.

Run: python examples/tune_alpha.py [--out tune_alpha.png] [--smoke]
"""

from __future__ import annotations

import argparse
import time

import jax
import numpy as np

import jaxreg

jax.config.update("jax_enable_x64", True)


def correlated_problem(n: int, p: int, k: int, seed: int = 0):
    """AR(1) design (rho 0.6), k-sparse truth, signal-to-noise ratio 3."""
    rng = np.random.default_rng(seed)
    X = np.empty((n, p))
    X[:, 0] = rng.standard_normal(n)
    for j in range(1, p):
        X[:, j] = 0.6 * X[:, j - 1] + 0.8 * rng.standard_normal(n)
    w = np.zeros(p)
    w[rng.choice(p, k, replace=False)] = rng.choice([-1, 1], k) * rng.uniform(0.5, 2, k)
    signal = X @ w
    return X, signal + signal.std() / 3 * rng.standard_normal(n)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="tune_alpha.png", help="where to write the plot")
    parser.add_argument("--smoke", action="store_true", help="a small problem (for tests)")
    args = parser.parse_args(argv)
    n, p, k = (200, 30, 5) if args.smoke else (2000, 200, 20)
    X, y = correlated_problem(n, p, k)
    foldid = jaxreg.make_folds(n, 5, seed=0)

    start = time.perf_counter()
    grid = jaxreg.cross_validate(X, y, foldid=foldid, n_alphas=100, tol=1e-6)
    jax.block_until_ready(grid)
    grid_time = time.perf_counter() - start
    start = time.perf_counter()
    res = jaxreg.tune(X, y, foldid=foldid, n_steps=20, tol=1e-6)
    tune_time = time.perf_counter() - start

    best = float(grid.mean.min())
    print(f"problem: n={n}, p={p}, {k} true features, 5 folds")
    print(
        f"grid search: 100 alphas x 5 folds = 500 fold solves, {grid_time:.2f} s; "
        f"best CV MSE {best:.5f} at alpha {float(grid.alpha_min):.5g}"
    )
    print(
        f"gradient   : {res.n_solves - 1} steps x 5 folds = {5 * (res.n_solves - 1)} fold "
        f"solves (+1 refit), {tune_time:.2f} s; best CV MSE {float(res.loss):.5f} "
        f"at alpha {float(res.alpha):.5g} (step {res.best_step}), "
        f"{100 * (float(res.loss) / best - 1):+.3f}% vs the grid"
    )
    print(" step      alpha    CV MSE   dLoss/dlog(alpha)")
    for i, (a, v, g) in enumerate(zip(res.alphas, res.losses, res.grad_log_alpha, strict=True)):
        print(f"{i:5d} {float(a):10.5g} {float(v):9.5f} {float(g):+12.4e}")

    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot (pip install 'jaxreg[plot]')")
        return 0
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    alphas, mean, se = (np.asarray(a)[0] for a in (grid.alphas, grid.mean, grid.se))
    steps_a, steps_v = np.asarray(res.alphas), np.asarray(res.losses)
    for ax, zoom in zip(axes, (False, True), strict=True):
        if not zoom:
            ax.fill_between(alphas, mean - se, mean + se, color="0.85", label="grid: +- 1 s.e.")
        ax.plot(alphas, mean, color="0.3", lw=1.5, label="grid: 5-fold CV MSE")
        ax.plot(steps_a, steps_v, "-o", color="C3", ms=4, lw=0.8, label="gradient steps")
        ax.axvline(float(grid.alpha_min), color="0.5", ls=":", label="grid alpha_min")
        ax.set_xscale("log")
        ax.set_xlabel("alpha")
        if zoom:
            lo, hi = steps_a.min() / 1.5, steps_a.max() * 1.5
            inside = (alphas >= lo) & (alphas <= hi)
            top = max(mean[inside].max(), steps_v.max())
            ax.set_xlim(lo, hi)
            ax.set_ylim(mean.min() - 0.1 * (top - mean.min()), top + 0.1 * (top - mean.min()))
            for i in (0, len(steps_a) - 1):
                ax.annotate(
                    f"step {i}", (steps_a[i], steps_v[i]), textcoords="offset points", xytext=(4, 6)
                )
            ax.set_title("zoom on the steps")
        else:
            ax.set_ylabel("cross-validated MSE")
            ax.legend(loc="upper left", fontsize=8)
            ax.set_title("Tuning alpha: gradient steps vs a 100-point grid")
    fig.tight_layout()
    fig.savefig(args.out, dpi=120)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
