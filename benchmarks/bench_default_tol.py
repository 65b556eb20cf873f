"""What the estimators' default tolerance costs: warm fit times at tol 1e-4
and at the default 1e-8, same process, best of three.

Usage::

    python benchmarks/bench_default_tol.py            # full sizes
    python benchmarks/bench_default_tol.py --smoke    # tiny, for CI
    python benchmarks/bench_default_tol.py --out table.md
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from report import write_report

JOBS = (
    "Lasso tall",
    "ElasticNet tall",
    "Lasso wide",
    "Lasso sparse",
    "L1 logistic",
    "L2 logistic",
    "LassoCV diabetes",
    "LassoCV tall",
    "LogisticRegressionCV",
)


def _regression(n, p, rho, k, seed):
    rng = np.random.default_rng(seed)
    X = np.empty((n, p))
    X[:, 0] = rng.standard_normal(n)
    for j in range(1, p):
        X[:, j] = rho * X[:, j - 1] + np.sqrt(1 - rho**2) * rng.standard_normal(n)
    w = np.zeros(p)
    w[rng.choice(p, k, replace=False)] = rng.choice([-1, 1], k) * rng.uniform(0.5, 2, k)
    return X, X @ w + 1.5 + 0.5 * rng.standard_normal(n)


def _cases(smoke: bool):
    from jaxreg import estimators as jr
    from jaxreg.datasets import load_diabetes

    f = 10 if smoke else 1
    tall = _regression(5000 // f, 500 // f, 0.8, 20 // (f // 5 or 1), 1)
    wide = _regression(500 // f, 5000 // f, 0.5, 20 // (f // 5 or 1), 2)
    rng = np.random.default_rng(0)
    S = sp.random(10000 // f, 2000 // f, density=0.01, random_state=4, format="csr")
    w = np.zeros(S.shape[1])
    w[:20] = 2.0
    sparse = (S, S @ w + 0.1 * rng.standard_normal(S.shape[0]))
    Xc, z = _regression(5000 // f, 100 // f, 0.7, 5, 5)
    binary = (Xc, (rng.uniform(size=len(z)) < 1 / (1 + np.exp(-(z - z.mean())))).astype(float))
    Xd, yd, _ = load_diabetes()
    return {
        "Lasso tall": (jr.Lasso, tall, dict(alpha=0.01)),
        "ElasticNet tall": (jr.ElasticNet, tall, dict(alpha=0.01, l1_ratio=0.5)),
        "Lasso wide": (jr.Lasso, wide, dict(alpha=0.02)),
        "Lasso sparse": (jr.Lasso, sparse, dict(alpha=5e-4)),
        "L1 logistic": (jr.LogisticRegression, binary, dict(C=0.01, l1_ratio=1.0)),
        "L2 logistic": (jr.LogisticRegression, binary, dict(C=1.0)),
        "LassoCV diabetes": (jr.LassoCV, (Xd, yd), dict(cv=5)),
        "LassoCV tall": (jr.LassoCV, tall, dict(cv=5)),
        "LogisticRegressionCV": (jr.LogisticRegressionCV, binary, dict(cv=5)),
    }


def _best_of(make, X, y, repeat: int) -> float:
    make().fit(X, y)  # compiles
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        make().fit(X, y)
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, one timed call")
    parser.add_argument("--out", type=Path, help="also write the table as markdown")
    args = parser.parse_args(argv)
    import jax

    jax.config.update("jax_enable_x64", True)
    repeat = 1 if args.smoke else 3
    lines = ["| fit | tol 1e-4 (ms) | tol 1e-8, the default (ms) | ratio |", "|---|---|---|---|"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for job, (cls, (X, y), kw) in _cases(args.smoke).items():
            loose = _best_of(lambda cls=cls, kw=kw: cls(**kw, tol=1e-4), X, y, repeat)
            tight = _best_of(lambda cls=cls, kw=kw: cls(**kw), X, y, repeat)
            lines.append(f"| {job} | {1e3 * loose:.1f} | {1e3 * tight:.1f} | {tight / loose:.2f} |")
            print(lines[-1], flush=True)
    command = " ".join(["python benchmarks/bench_default_tol.py", *(argv or sys.argv[1:])])
    write_report("Default tolerance", [f"- command: `{command}`"], lines, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
