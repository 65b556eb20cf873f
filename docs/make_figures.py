"""Draw the figures of the docs with jaxreg's own plots: those of
docs/choosing-a-penalty.md, and the ones ``jaxreg demo`` writes (docs/img/demo/).

Run from the repository root: python docs/make_figures.py (needs matplotlib).
"""

from __future__ import annotations

from pathlib import Path

import jax
import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import jaxreg  # noqa: E402
from jaxreg import cli  # noqa: E402

jax.config.update("jax_enable_x64", True)
OUT = Path(__file__).resolve().parent / "img"


def paths_figure(X, y, names):
    # Stacked, one panel per penalty, each on the standardized scale that the
    # fits penalize (otherwise the two large-unit coefficients hide the rest).
    fig, axes = plt.subplots(3, 1, figsize=(7.5, 11.5))
    ridge_alphas = np.geomspace(1e4, 1e-2, 100)
    lasso = jaxreg.lasso_path(X, y, standardize=True)
    enet = jaxreg.enet_path(X, y, l1_ratio=0.5, standardize=True)
    ridge = jaxreg.ridge_path(X, y, ridge_alphas, standardize=True)
    df = jaxreg.plot.effective_df(X, ridge_alphas, standardize=True)
    scale = jaxreg.plot.column_scale(X)
    for ax, path, title, extra in zip(
        axes,
        (lasso, enet, ridge),
        ("lasso (L1)", "elastic net, l1_ratio 0.5", "ridge (L2)"),
        ({}, {}, {"df": df}),
        strict=True,
    ):
        jaxreg.plot.plot_path(path, names=names, scale=scale, ax=ax, **extra)
        ax.set_title(title, fontsize=11, loc="left")
    fig.tight_layout()
    fig.savefig(OUT / "paths.png", dpi=110)
    return fig


def correlated_figure():
    # Three near-copies (correlation about 0.99) of one informative signal, and
    # seven independent noise features.
    rng = np.random.default_rng(0)
    n = 200
    z = rng.standard_normal(n)
    group = np.stack([z + 0.1 * rng.standard_normal(n) for _ in range(3)], axis=1)
    X = np.hstack([group, rng.standard_normal((n, 7))])
    y = z + 0.5 * rng.standard_normal(n)
    names = ["g1", "g2", "g3"] + [f"noise{j}" for j in range(7)]
    fits = {}
    for label, model, ratio in (
        ("lasso", "lasso", None),
        ("elastic net 0.3", "elastic_net", 0.3),
    ):
        res = jaxreg.cross_validate(X, y, model, l1_ratio=ratio, cv=5, tol=1e-8)
        fits[label] = res.best_1se
    ridge = jaxreg.cross_validate(X, y, "ridge", alphas=np.geomspace(1e3, 1e-3, 60), cv="loo")
    fits["ridge"] = ridge.best
    fig, ax = plt.subplots(figsize=(8, 3.8))
    jaxreg.plot.plot_coefficients(fits, names=names, ax=ax)
    ax.set_title(
        "three correlated copies of one signal (alpha: 5-fold CV, one-standard-error rule for L1)",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(OUT / "correlated.png", dpi=90)
    return {k: np.round(np.asarray(v.coef), 3) for k, v in fits.items()}


def cv_figure(X, y):
    res = jaxreg.cross_validate(X, y, standardize=True, cv=10, seed=0)
    fig, ax = plt.subplots(figsize=(7, 4))
    jaxreg.plot.plot_cv(res, ax=ax)
    fig.tight_layout()
    fig.savefig(OUT / "cv.png", dpi=90)
    return res


def demo_figures(X, y, names):
    # The same computations and figures as `jaxreg demo` with its defaults.
    rows, _ = cli._demo_results(X, y, n_alphas=50, seed=0, folds=5, quiet=True)
    (OUT / "demo").mkdir(exist_ok=True)
    for name, fig in cli._demo_figures(rows, names, X).items():
        fig.savefig(OUT / "demo" / name, dpi=100)


def main() -> None:
    OUT.mkdir(exist_ok=True)
    X, y, names = jaxreg.datasets.load_diabetes()
    demo_figures(X, y, names)
    paths_figure(X, y, names)
    print(correlated_figure())
    res = cv_figure(X, y)
    print(
        f"alpha_min {float(res.alpha_min):.4g} ({int(res.best.coef.__ne__(0).sum())} nonzeros), "
        f"alpha_1se {float(res.alpha_1se):.4g} ({int(res.best_1se.coef.__ne__(0).sum())} nonzeros)"
    )


if __name__ == "__main__":
    main()
