"""Gradient-based tuning against a grid search, on the benchmark problems.

For each problem, the same 5 folds: ``jaxreg.cross_validate`` on a 100-alpha
grid (25 in smoke mode) and ``jaxreg.tune`` (20 optax steps in log(alpha) from its default
start, each step one batched solve of the 5 folds plus the implicit
gradient). The reference is an outside grid search: scikit-learn's solvers
(``enet_path``, or ``LogisticRegression`` with saga, warm-started along the
grid) on the same folds and grid points, each training fold standardized as
``StandardScaler`` does, the intercept fitted. Reported: fold solves, time
(first call, compilation included, and warm), the best loss each finds and
tune's gap to the outside grid's best (the acceptance: within 1%); the
jaxreg grid's best must agree with the outside one to 1e-3.

Problems: the peer-baseline least-squares problem of ``bench_core.py``
(AR(1) rho 0.6, sparse truth, SNR 3; tall 5000 x 500 and wide 500 x 5000
Lasso, and the tall one with the elastic net tuning alpha and l1_ratio), and
its logistic counterpart (labels drawn from the same linear predictor), with
the columns given offsets and scales and the target an offset, fitted with an
intercept and ``standardize=True``.

Exit status 1 when tune misses the outside grid's best by more than 1%, or
the two grids disagree.

Usage::

    python benchmarks/bench_tune.py                # full sizes
    python benchmarks/bench_tune.py --smoke        # tiny, for CI
    python benchmarks/bench_tune.py --out results.md
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)

import warnings  # noqa: E402

import numpy as np  # noqa: E402
import sklearn  # noqa: E402
from sklearn.linear_model import LogisticRegression, enet_path  # noqa: E402

import jaxreg  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_core import make_problem  # noqa: E402


def timed(fn):
    start = time.perf_counter()
    out = jax.block_until_ready(fn())
    first = time.perf_counter() - start
    start = time.perf_counter()
    out = jax.block_until_ready(fn())
    return first, time.perf_counter() - start, out


SKLEARN = tuple(int(part) for part in sklearn.__version__.split(".")[:2])


def outside_grid(X, y, foldid, model: str, alphas: np.ndarray, ratios) -> np.ndarray:
    """Mean held-out loss, shape ``(L, A)``, of scikit-learn's solvers on each
    training fold (standardized with its own mean and population standard
    deviation, as ``StandardScaler`` does; intercept fitted), fold-weighted
    by held-out size: MSE, or the binomial deviance for the logistic model."""
    K = int(foldid.max()) + 1
    total = np.zeros(alphas.shape)
    for k in range(K):
        train, test = foldid != k, foldid == k
        mean, sd = X[train].mean(axis=0), X[train].std(axis=0)
        X_tr, X_te = (X[train] - mean) / sd, (X[test] - mean) / sd
        y_tr, y_te = y[train], y[test]
        if model != "logistic":
            ybar = y_tr.mean()
            for li, ratio in enumerate(ratios):
                _, coefs, _ = enet_path(
                    X_tr, y_tr - ybar, l1_ratio=ratio, alphas=alphas[li], tol=1e-10, max_iter=10**5
                )
                pred = ybar + X_te @ coefs  # (m, A)
                total[li] += np.sum((y_te[:, None] - pred) ** 2, axis=0)
            continue
        # penalty="elasticnet" is needed before scikit-learn 1.8, deprecated after.
        spelled = {} if SKLEARN >= (1, 8) else {"penalty": "elasticnet"}
        clf = LogisticRegression(
            l1_ratio=1.0, solver="saga", tol=1e-8, max_iter=10**5, warm_start=True, **spelled
        )
        for ai, alpha in enumerate(alphas[0]):
            # scikit-learn's C multiplies the summed log-loss: C = 1 / (alpha n).
            clf.set_params(C=1.0 / (alpha * train.sum()))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                clf.fit(X_tr, y_tr)
            eta = X_te @ clf.coef_[0] + clf.intercept_[0]
            total[0, ai] += np.sum(2.0 * (np.logaddexp(0.0, eta) - y_te * eta))
    return total / X.shape[0]


def raw_problem(n: int, p: int, k: int, seed: int, logistic: bool):
    """The benchmark problem with offset and scaled columns and an offset target."""
    prob = make_problem(n, p, k, seed=seed)
    rng = np.random.default_rng(seed + 1)
    X = prob.X * rng.uniform(0.2, 5.0, p) + rng.uniform(-3.0, 3.0, p)
    if logistic:
        y = (rng.uniform(size=n) < 1.0 / (1.0 + np.exp(-(prob.y - 0.5)))).astype(float)
    else:
        y = prob.y + 3.0
    return X, y


def run(args: argparse.Namespace) -> tuple[list[list[str]], list[str]]:
    rows, failures = [], []
    tall = (200, 40, 5) if args.smoke else (5000, 500, 50)
    wide = (60, 150, 5) if args.smoke else (500, 5000, 50)
    # The smoke grid is coarser: the outside grid refits every point of it.
    n_alphas = 25 if args.smoke else 100
    jobs = [
        ("lasso", "tall", tall, ("alpha",)),
        ("lasso", "wide", wide, ("alpha",)),
        ("elastic_net", "tall", tall, ("alpha", "l1_ratio")),
        ("logistic", "tall", tall, ("alpha",)),
    ]
    for model, shape_name, (n, p, k), params in jobs:
        X, y = raw_problem(n, p, k, args.seed, model == "logistic")
        foldid = jaxreg.make_folds(n, 5, seed=args.seed)
        kw = dict(foldid=foldid, tol=args.tol, standardize=True)
        ratios = [0.1, 0.5, 0.7, 0.9, 0.95, 1.0] if model == "elastic_net" else None
        g_first, g_warm, grid = timed(
            lambda: jaxreg.cross_validate(X, y, model, l1_ratio=ratios, n_alphas=n_alphas, **kw)  # noqa: B023
        )
        t_first, t_warm, res = timed(
            lambda: jaxreg.tune(X, y, model, params=params, n_steps=args.steps, **kw)  # noqa: B023
        )
        outside = outside_grid(X, y, foldid, model, np.asarray(grid.alphas), ratios or [1.0])
        best = float(outside.min())
        gap = float(res.loss) / best - 1.0
        grids_differ = abs(float(grid.mean.min()) / best - 1.0)
        n_grid = 5 * grid.mean.size
        label = f"{model} {shape_name} {n} x {p}"
        rows.append(
            [
                label,
                f"grid {'6 l1_ratios x ' if ratios else ''}{n_alphas} alphas",
                f"{n_grid}",
                f"{g_first:.2f}",
                f"{g_warm:.2f}",
                f"{float(grid.mean.min()):.6g}",
                f"{100 * grids_differ:.2g}% from the outside grid's {best:.6g}",
            ]
        )
        rows.append(
            [
                label,
                "tune " + " + ".join(params),
                f"{5 * args.steps} (+1 refit)",
                f"{t_first:.2f}",
                f"{t_warm:.2f}",
                f"{float(res.loss):.6g}",
                f"{100 * gap:+.3f}% (best at step {res.best_step})",
            ]
        )
        print(" | ".join(rows[-2]), "\n", " | ".join(rows[-1]), flush=True)
        if not gap <= 0.01:
            failures.append(f"{label}: tune is {100 * gap:.2f}% above the outside grid's best")
        if not grids_differ <= 1e-3:
            failures.append(f"{label}: the grids' bests differ by {100 * grids_differ:.3f}%")
    return rows, failures


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes (CI)")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--tol", type=float, default=1e-6)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="also write the table as markdown")
    args = parser.parse_args(argv)
    rows, failures = run(args)
    header = [
        "problem",
        "method",
        "fold solves",
        "first call (s)",
        "warm (s)",
        "best CV loss",
        "vs grid",
    ]
    lines = [
        "| " + " | ".join(header) + " |",
        "| " + " | ".join("---" for _ in header) + " |",
        *("| " + " | ".join(r) + " |" for r in rows),
    ]
    table = "\n".join(lines)
    print(table)
    if args.out:
        dev = jax.devices()[0]
        args.out.write_text(
            "# Gradient tuning vs grid search\n\n"
            f"Command: `python benchmarks/bench_tune.py{' --smoke' if args.smoke else ''}`; "
            f"jax {jax.__version__} ({dev.platform}), float64, tol {args.tol:g}, "
            "5 folds, the same folds for both methods, intercept and standardize. Loss: "
            "mean squared error (regression) or binomial deviance (logistic) on the "
            "held-out folds; 'vs grid' is against scikit-learn's solvers on the same "
            "folds and grid.\n\n" + table + "\n"
        )
    for f in failures:
        print("FAIL:", f, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
