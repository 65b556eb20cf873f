"""Path and cross-validation benchmark: jaxreg against scikit-learn (and glmnet).

Jobs on the peer-baseline problem of ``bench_core.py`` (AR(1) design, rho 0.6,
sparse truth, SNR 3, float64, centered, no intercept):

* ``lasso path``: 100 alphas down to ``1e-3 alpha_max``; ``jaxreg.lasso_path``
  against ``sklearn.linear_model.lasso_path`` (same grid, same gap rule) and
  glmnet (same lambdas). Accuracy is measured: the worst relative
  suboptimality ``(P(w) - P*) / P(0)`` over the grid, ``P*`` from a
  coordinate-descent path at tol 1e-12.
* ``lasso cv``: 5 folds x 100 alphas; ``jaxreg.cross_validate`` against
  ``LassoCV`` with the same folds, grid and tolerance (both stop on the same
  duality-gap rule). Reported: the selected alphas, the largest difference
  between the two mean-squared-error curves (relative to their minimum), and
  the regret: how much worse jaxreg's pick is on scikit-learn's own curve
  (the accuracy check, at most 1%).
* ``lasso path (intercept, weights, standardize)``: the same path as glmnet
  users run it, on raw columns (offsets and scales), an offset target, sample
  weights and ``standardize=True``; accuracy against ``lasso_path`` at tol
  1e-12 on the design whitened by hand (weighted centering, rows scaled by
  the square roots of the weights, columns by their weighted standard
  deviations), the objective evaluated with jaxreg's returned intercepts.
* ``enet cv``: 5 folds x 6 l1_ratios x 100 alphas against ``ElasticNetCV``.
* ``ridge cv``: leave-one-out over 100 alphas against ``RidgeCV`` (both exact).

Timings: jaxreg's first call (tracing + compilation + one run) apart from the
median of warm calls. Exit status 1 when an accuracy check fails, never
because of speed.

Usage::

    python benchmarks/bench_paths.py            # n = 5000, p = 500
    python benchmarks/bench_paths.py --smoke    # tiny, for CI
    python benchmarks/bench_paths.py --out results.md
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import jax

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.linear_model import ElasticNetCV, LassoCV, RidgeCV, lasso_path  # noqa: E402
from sklearn.model_selection import KFold  # noqa: E402

import jaxreg  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_core import lasso_objective, make_problem  # noqa: E402

L1_RATIOS = [0.1, 0.5, 0.7, 0.9, 0.95, 1.0]


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    """First-call time, median warm time, and the last result."""
    start = time.perf_counter()
    out = jax.block_until_ready(fn())
    first = time.perf_counter() - start
    warm = []
    for _ in range(repeat):
        start = time.perf_counter()
        out = jax.block_until_ready(fn())
        warm.append(time.perf_counter() - start)
    return first, (statistics.median(warm) if warm else first), out


def quiet(fn: Callable[[], Any]) -> Callable[[], Any]:
    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return fn()

    return run


def path_suboptimality(X, y, alphas, coefs, ref_coefs) -> float:
    p0 = 0.5 * np.mean(y**2)
    worst = 0.0
    for a, w, w_ref in zip(alphas, coefs, ref_coefs, strict=True):
        best = lasso_objective(X, y, a, w_ref)
        worst = max(worst, (lasso_objective(X, y, a, w) - best) / p0)
    return worst


def weighted_path(args: argparse.Namespace, prob) -> tuple[list[str], str | None]:
    """The lasso path with an intercept, sample weights and standardize (see
    the module docstring): one table row, and a failure message or None."""
    rng = np.random.default_rng(args.seed + 1)
    n, p = prob.X.shape
    X = prob.X * rng.uniform(0.2, 5.0, p) + rng.uniform(-3.0, 3.0, p)
    y = prob.y + 3.0
    sw = rng.uniform(0.5, 2.0, n)
    s = sw / sw.sum()
    mean, ybar = s @ X, s @ y
    sd = np.sqrt(s @ (X - mean) ** 2)
    root = np.sqrt(n * s)[:, None]
    Xt = np.asfortranarray(root * (X - mean) / sd)
    yt = root[:, 0] * (y - ybar)
    grid = np.asarray(jaxreg.alpha_grid(X, y, n_alphas=args.n_alphas, sample_weight=sw,
                                        standardize=True))  # fmt: skip
    ours = lambda: jaxreg.lasso_path(  # noqa: E731
        X, y, alphas=grid, sample_weight=sw, standardize=True, tol=args.tol_path
    )
    first, warm, res = timed(ours, args.repeat)
    _, sk_time, (_, ref, _) = timed(
        quiet(lambda: lasso_path(Xt, yt, alphas=grid, tol=1e-12, max_iter=1_000_000)), 0
    )

    def objective(alpha, w, b):
        r = y - X @ w - b
        return 0.5 * s @ (r * r) + alpha * np.abs(w * sd).sum()

    p0 = objective(0.0, np.zeros(p), ybar)
    worst = 0.0
    for k, alpha in enumerate(grid):
        w_ref = ref[:, k] / sd
        best = objective(alpha, w_ref, ybar - mean @ w_ref)
        mine = objective(alpha, np.asarray(res.coef[k]), float(res.intercept[k]))
        worst = max(worst, (mine - best) / p0)
    row = [
        "lasso path (intercept, weights, standardize)",
        f"{first:.2f}",
        f"{warm:.3f}",
        "lasso_path at tol 1e-12 (the reference; not timed at the same accuracy)",
        f"{sk_time:.3f}",
        "—",
        f"{worst:.1e} / 0",
    ]
    ok = bool(res.converged.all()) and worst <= args.max_subopt
    return row, None if ok else f"weighted lasso path: jaxreg subopt {worst:.2e}"


def selection_regret(peer_mean: np.ndarray, res) -> float:
    """How much worse jaxreg's selected point is on the peer's own mean CV curve."""
    li, ai = (int(i) for i in res.best_index)
    return float(peer_mean[li, ai] / peer_mean.min() - 1.0)


def kfold_ids(n: int, k: int) -> np.ndarray:
    ids = np.empty(n, dtype=int)
    for i, (_, test) in enumerate(KFold(k).split(np.zeros(n))):
        ids[test] = i
    return ids


def run(args: argparse.Namespace) -> tuple[list[list[str]], list[str]]:
    prob = make_problem(args.n, args.p, args.k, seed=args.seed)
    X, y = prob.X, prob.y
    Xj, yj = jax.numpy.asarray(X), jax.numpy.asarray(y)
    Xf = np.asfortranarray(X)
    rows, failures = [], []
    n_alphas = args.n_alphas

    # ---- lasso path -------------------------------------------------------
    grid = np.asarray(jaxreg.alpha_grid(X, y, n_alphas=n_alphas, fit_intercept=False))
    ours = lambda: jaxreg.lasso_path(  # noqa: E731
        Xj, yj, alphas=grid, fit_intercept=False, tol=args.tol_path
    )
    first, warm, res = timed(ours, args.repeat)
    sk = quiet(lambda: lasso_path(Xf, y, alphas=grid, tol=args.tol_path, max_iter=100_000))
    _, sk_time, (_, sk_coefs, _) = timed(sk, args.repeat)
    _, _, (_, ref_coefs, _) = timed(
        quiet(lambda: lasso_path(Xf, y, alphas=grid, tol=1e-12, max_iter=1_000_000)), 0
    )
    sub_j = path_suboptimality(X, y, grid, np.asarray(res.coef), ref_coefs.T)
    sub_s = path_suboptimality(X, y, grid, sk_coefs.T, ref_coefs.T)
    rows.append(
        [
            "lasso path",
            f"{first:.2f}",
            f"{warm:.3f}",
            "scikit-learn lasso_path",
            f"{sk_time:.3f}",
            f"{sk_time / warm:.2f}",
            f"{sub_j:.1e} / {sub_s:.1e}",
        ]
    )
    if not bool(res.converged.all()) or sub_j > args.max_subopt:
        failures.append(
            f"lasso path: jaxreg subopt {sub_j:.2e}, all converged {bool(res.converged.all())}"
        )
    try:
        import glmnet

        def fit_glmnet():
            m = glmnet.ElasticNet(
                alpha=1.0,
                lambda_path=grid,
                standardize=False,
                fit_intercept=False,
                tol=args.glmnet_thresh,
                n_splits=0,
            )
            return m.fit(X, y)

        _, g_time, g = timed(fit_glmnet, args.repeat)
        sub_g = path_suboptimality(X, y, grid, g.coef_path_.T, ref_coefs.T)
        rows.append(
            [
                "lasso path",
                "",
                "",
                f"glmnet (thresh {args.glmnet_thresh:g})",
                f"{g_time:.3f}",
                f"{g_time / warm:.2f}",
                f"{sub_j:.1e} / {sub_g:.1e}",
            ]
        )
    except ImportError:
        pass

    row, failure = weighted_path(args, prob)
    rows.append(row)
    if failure:
        failures.append(failure)

    # ---- 5-fold lasso CV ----------------------------------------------------
    foldid = kfold_ids(args.n, 5)
    ours = lambda: jaxreg.cross_validate(  # noqa: E731
        Xj, yj, foldid=foldid, n_alphas=n_alphas, fit_intercept=False, tol=args.tol_cv
    )
    first, warm, res = timed(ours, args.repeat)
    sk = quiet(
        lambda: LassoCV(
            cv=KFold(5), alphas=n_alphas, fit_intercept=False, tol=args.tol_cv, max_iter=100_000
        ).fit(Xf, y)
    )
    _, sk_time, ref = timed(sk, args.repeat)
    curve = np.abs(np.asarray(res.fold_scores[:, 0]).T - ref.mse_path_).max() / ref.mse_path_.min()
    regret = selection_regret(ref.mse_path_.mean(axis=-1)[None], res)
    rows.append(
        [
            f"lasso cv 5 x {n_alphas}",
            f"{first:.2f}",
            f"{warm:.3f}",
            "LassoCV",
            f"{sk_time:.3f}",
            f"{sk_time / warm:.2f}",
            f"alpha {float(res.alpha_min):.4g} vs {ref.alpha_:.4g}; curves {curve:.1e}; "
            f"regret {regret:.1e}",
        ]
    )
    if regret > args.max_regret:
        failures.append(f"lasso cv: selection regret {regret:.2e}")

    # ---- elastic-net CV -----------------------------------------------------
    ours = lambda: jaxreg.cross_validate(  # noqa: E731
        Xj,
        yj,
        "elastic_net",
        l1_ratio=L1_RATIOS,
        foldid=foldid,
        n_alphas=n_alphas,
        fit_intercept=False,
        tol=args.tol_cv,
    )
    first, warm, res = timed(ours, args.repeat)
    sk = quiet(
        lambda: ElasticNetCV(
            l1_ratio=L1_RATIOS,
            cv=KFold(5),
            alphas=n_alphas,
            fit_intercept=False,
            tol=args.tol_cv,
            max_iter=100_000,
        ).fit(Xf, y)
    )
    _, sk_time, ref = timed(sk, max(1, args.repeat // 2))
    curve = (
        np.abs(np.moveaxis(np.asarray(res.fold_scores), 0, -1) - ref.mse_path_).max()
        / ref.mse_path_.min()
    )
    regret = selection_regret(ref.mse_path_.mean(axis=-1), res)
    rows.append(
        [
            f"enet cv 5 x {len(L1_RATIOS)} x {n_alphas}",
            f"{first:.2f}",
            f"{warm:.3f}",
            "ElasticNetCV",
            f"{sk_time:.3f}",
            f"{sk_time / warm:.2f}",
            f"alpha {float(res.alpha_min):.4g} vs {ref.alpha_:.4g}, l1_ratio "
            f"{float(res.l1_ratio_min):g} vs {ref.l1_ratio_:g}; curves {curve:.1e}; "
            f"regret {regret:.1e}",
        ]
    )
    if regret > args.max_regret:
        failures.append(f"enet cv: selection regret {regret:.2e}")

    # ---- ridge leave-one-out CV --------------------------------------------
    alphas = np.geomspace(1e4, 1e-2, n_alphas)
    ours = lambda: jaxreg.cross_validate(  # noqa: E731
        Xj, yj, "ridge", alphas=alphas, cv="loo", fit_intercept=False
    )
    first, warm, res = timed(ours, args.repeat)
    _, sk_time, ref = timed(
        lambda: RidgeCV(alphas=alphas, fit_intercept=False).fit(Xf, y), args.repeat
    )
    same = float(res.alpha_min) == ref.alpha_
    rows.append(
        [
            f"ridge loo cv {n_alphas}",
            f"{first:.2f}",
            f"{warm:.3f}",
            "RidgeCV",
            f"{sk_time:.3f}",
            f"{sk_time / warm:.2f}",
            f"alpha {float(res.alpha_min):.4g} vs {ref.alpha_:.4g}",
        ]
    )
    if not same:
        failures.append("ridge cv: selected alphas differ")
    return rows, failures


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, one repeat (CI)")
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--p", type=int, default=500)
    parser.add_argument("--k", type=int, default=50)
    parser.add_argument("--n-alphas", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--tol-path",
        type=float,
        default=5e-7,
        help="gap tolerance of the paths (5e-7 certifies 1e-6 suboptimality)",
    )
    parser.add_argument(
        "--tol-cv",
        type=float,
        default=1e-4,
        help="gap tolerance of the CV fits (scikit-learn's default)",
    )
    parser.add_argument("--glmnet-thresh", type=float, default=1e-7)
    parser.add_argument("--max-subopt", type=float, default=1e-6)
    parser.add_argument(
        "--max-regret",
        type=float,
        default=1e-2,
        help="allowed excess of jaxreg's pick on the peer's CV curve",
    )
    parser.add_argument("--out", type=Path, help="also write the table as markdown")
    args = parser.parse_args(argv)
    if args.smoke:
        args.n, args.p, args.k, args.n_alphas, args.repeat = 200, 20, 5, 10, 1
    rows, failures = run(args)
    header = [
        "job",
        "jaxreg first call (s)",
        "jaxreg warm (s)",
        "peer",
        "peer (s)",
        "peer / jaxreg",
        "accuracy (jaxreg / peer)",
    ]
    lines = [
        f"n = {args.n}, p = {args.p}, k = {args.k}, float64; jax {jax.__version__} "
        f"({jax.default_backend()}, {jax.local_device_count()} device(s))",
        "",
        "| " + " | ".join(header) + " |",
        "| " + " | ".join("---" for _ in header) + " |",
    ] + ["| " + " | ".join(r) + " |" for r in rows]
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    for f in failures:
        print("ACCURACY FAILURE:", f, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
