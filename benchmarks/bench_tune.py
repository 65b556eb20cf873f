"""Gradient-based tuning against a grid search, on the benchmark problems.

For each problem, the same 5 folds: ``jaxreg.cross_validate`` on a 100-alpha
grid (the reference: the best mean CV loss on the grid) and ``jaxreg.tune``
(20 optax steps in log(alpha) from its default start, each step one batched
solve of the 5 folds plus the implicit gradient). Reported: fold solves,
time (first call, compilation included, and warm), the best loss each finds
and tune's gap to the grid's best (the acceptance: within 1%).

Problems: the peer-baseline least-squares problem of ``bench_core.py``
(AR(1) rho 0.6, sparse truth, SNR 3; tall 5000 x 500 and wide 500 x 5000
Lasso, and the tall one with the elastic net tuning alpha and l1_ratio), and
its logistic counterpart (labels drawn from the same linear predictor).

Exit status 1 when tune misses the grid's best by more than 1%.

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

import numpy as np  # noqa: E402

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


def run(args: argparse.Namespace) -> tuple[list[list[str]], list[str]]:
    rows, failures = [], []
    tall = (200, 40, 5) if args.smoke else (5000, 500, 50)
    wide = (60, 150, 5) if args.smoke else (500, 5000, 50)
    jobs = [
        ("lasso", "tall", tall, ("alpha",)),
        ("lasso", "wide", wide, ("alpha",)),
        ("elastic_net", "tall", tall, ("alpha", "l1_ratio")),
        ("logistic", "tall", tall, ("alpha",)),
    ]
    for model, shape_name, (n, p, k), params in jobs:
        prob = make_problem(n, p, k, seed=args.seed)
        X, y = prob.X, prob.y
        if model == "logistic":
            rng = np.random.default_rng(args.seed)
            y = (rng.uniform(size=n) < 1.0 / (1.0 + np.exp(-y))).astype(float)
        foldid = jaxreg.make_folds(n, 5, seed=args.seed)
        kw = dict(foldid=foldid, tol=args.tol)
        ratios = [0.1, 0.5, 0.7, 0.9, 0.95, 1.0] if model == "elastic_net" else None
        g_first, g_warm, grid = timed(
            lambda: jaxreg.cross_validate(X, y, model, l1_ratio=ratios, n_alphas=100, **kw)  # noqa: B023
        )
        t_first, t_warm, res = timed(
            lambda: jaxreg.tune(X, y, model, params=params, n_steps=args.steps, **kw)  # noqa: B023
        )
        best = float(grid.mean.min())
        gap = float(res.loss) / best - 1.0
        n_grid = 5 * grid.mean.size
        label = f"{model} {shape_name} {n} x {p}"
        rows.append(
            [
                label,
                "grid " + ("6 l1_ratios x 100 alphas" if ratios else "100 alphas"),
                f"{n_grid}",
                f"{g_first:.2f}",
                f"{g_warm:.2f}",
                f"{best:.6g}",
                "",
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
        if gap > 0.01:
            failures.append(f"{label}: tune is {100 * gap:.2f}% above the grid's best")
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
            "5 folds, the same folds for both methods. Loss: mean squared error "
            "(regression) or binomial deviance (logistic) on the held-out folds.\n\n" + table + "\n"
        )
    for f in failures:
        print("FAIL:", f, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
