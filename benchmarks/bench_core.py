"""Single-fit benchmark: jaxreg against scikit-learn at matched accuracy.

Two jobs on the peer-baseline problem: an ``n x p`` design whose columns are an
AR(1) chain (``rho = 0.6``), centered and scaled to unit standard deviation; a
``k``-sparse truth with signs times Uniform(0.5, 2); Gaussian noise at SNR 3;
``y`` centered; float64, no intercept.

* ``lasso``: one fit at ``alpha = 0.1 * alpha_max``, ``jaxreg.lasso`` against
  ``sklearn.linear_model.Lasso``;
* ``ridge``: one fit at ``alpha = 1``, ``jaxreg.ridge`` against
  ``sklearn.linear_model.Ridge``.

Accuracy is measured, not inferred from ``tol``: each answer is scored by its
relative suboptimality ``(P(w) - P*) / P(0)``. For the lasso ``P*`` comes from a
coordinate-descent solve at tolerance 1e-12 whose duality gap is recomputed
here; for ridge the minimizer solves the normal equations and
``P(w) - P* = ||X d||^2 + alpha ||d||^2`` with ``d = w - w*`` (exact for a
quadratic, and free of cancellation).

Both libraries stop the lasso on the same duality-gap rule,
``gap <= tol * ||y||^2 / n``; since ``P(0) = ||y||^2 / (2 n)``, ``tol = 5e-7``
certifies a relative suboptimality of at most 1e-6 for either of them.

Timings: the first call (for jaxreg: tracing, compilation and one solve) is
reported apart from the median of ``--repeat`` warm calls; jaxreg results are
synchronized with ``jax.block_until_ready``. Each library gets its input in its
preferred layout, prepared outside the timed region: a ``jax.Array`` for
jaxreg, a Fortran-ordered array for scikit-learn (whose coordinate descent
would otherwise copy ``X``).

The script exits with status 1 when an accuracy check fails (suboptimality above
``--max-subopt``, a jaxreg fit not reporting convergence, or a reference that is
not tight), never because of speed.

Usage::

    python benchmarks/bench_core.py            # n = 5000, p = 500, k = 50
    python benchmarks/bench_core.py --smoke    # n = 200, p = 20, k = 5, one repeat
    python benchmarks/bench_core.py --out results.md
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import jax
import numpy as np
import sklearn
from sklearn.linear_model import Lasso, Ridge

import jaxreg

RHO = 0.6
SNR = 3.0
LASSO_ALPHA_RATIO = 0.1
RIDGE_ALPHA = 1.0
DEFAULT_TOL = 5e-7
DEFAULT_MAX_SUBOPT = 1e-6
REFERENCE_TOL = 1e-12
# The reference's own certified relative gap must be this small for P* to be
# trusted at the accuracy being checked.
REFERENCE_MAX_GAP = 1e-9
CD_MAX_ITER = 100_000


# ----------------------------------------------------------------------------
# Problem
# ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Problem:
    X: np.ndarray
    y: np.ndarray
    k: int
    seed: int

    @property
    def n(self) -> int:
        return self.X.shape[0]

    @property
    def p(self) -> int:
        return self.X.shape[1]


def make_problem(n: int, p: int, k: int, *, seed: int = 0) -> Problem:
    """AR(1)-correlated standardized design, ``k``-sparse truth, SNR 3, centered ``y``."""
    if not 0 < k <= p:
        raise ValueError(f"need 0 < k <= p, got k={k}, p={p}")
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((n, p))
    X = np.empty((n, p))
    X[:, 0] = Z[:, 0]
    innovation = np.sqrt(1.0 - RHO**2)
    for j in range(1, p):
        X[:, j] = RHO * X[:, j - 1] + innovation * Z[:, j]
    X -= X.mean(axis=0)
    X /= X.std(axis=0)

    w = np.zeros(p)
    support = rng.choice(p, size=k, replace=False)
    w[support] = rng.choice([-1.0, 1.0], size=k) * rng.uniform(0.5, 2.0, size=k)
    signal = X @ w
    y = signal + rng.standard_normal(n) * (signal.std() / SNR)
    y -= y.mean()
    return Problem(X=X, y=y, k=k, seed=seed)


def lasso_alpha_max(X: np.ndarray, y: np.ndarray) -> float:
    return float(np.max(np.abs(X.T @ y)) / X.shape[0])


# ----------------------------------------------------------------------------
# Objectives and certificates (NumPy, float64)
# ----------------------------------------------------------------------------


def lasso_objective(X: np.ndarray, y: np.ndarray, alpha: float, w: np.ndarray) -> float:
    """``||y - X w||^2 / (2 n) + alpha ||w||_1``."""
    r = y - X @ w
    return float(r @ r / (2 * X.shape[0]) + alpha * np.abs(w).sum())


def lasso_dual_gap(X: np.ndarray, y: np.ndarray, alpha: float, w: np.ndarray) -> float:
    """Duality gap at ``w``, with the residual rescaled into the dual feasible set."""
    n = X.shape[0]
    r = y - X @ w
    corr = float(np.max(np.abs(X.T @ r)))
    u = r * min(1.0, n * alpha / corr) if corr > 0 else r
    dual = float(y @ y - (y - u) @ (y - u)) / (2 * n)
    return lasso_objective(X, y, alpha, w) - dual


def ridge_excess(X: np.ndarray, alpha: float, w: np.ndarray, w_star: np.ndarray) -> float:
    """``P(w) - P(w*)`` for ``P(w) = ||y - X w||^2 + alpha ||w||^2`` and its minimizer ``w*``."""
    d = w - w_star
    Xd = X @ d
    return float(Xd @ Xd + alpha * d @ d)


# ----------------------------------------------------------------------------
# Timing
# ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Timing:
    first: float
    warm: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.warm)

    def spread(self) -> str:
        return f"{min(self.warm):.4f}-{max(self.warm):.4f} s"


def measure(fits: Sequence[Callable[[], Any]], repeat: int) -> list[tuple[Timing, Any]]:
    """Time each callable's first call, then ``repeat`` warm rounds.

    The warm calls are interleaved (one call of each callable per round), so
    that a burst of load on the machine hits every competitor alike. Each
    callable must return only once its result is computed (synchronize JAX
    outputs with ``jax.block_until_ready``). Returns ``(timing, last output)``
    per callable.
    """

    def timed(fit: Callable[[], Any]) -> tuple[float, Any]:
        start = time.perf_counter()
        out = fit()
        return time.perf_counter() - start, out

    firsts = [timed(fit) for fit in fits]
    outputs = [out for _, out in firsts]
    warm: list[list[float]] = [[] for _ in fits]
    for _ in range(repeat):
        for i, fit in enumerate(fits):
            elapsed, outputs[i] = timed(fit)
            warm[i].append(elapsed)
    return [
        (Timing(first=first, warm=tuple(times)), out)
        for (first, _), times, out in zip(firsts, warm, outputs, strict=True)
    ]


# ----------------------------------------------------------------------------
# Jobs
# ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class JobResult:
    job: str
    settings: str
    jaxreg: Timing
    sklearn: Timing
    jaxreg_subopt: float
    sklearn_subopt: float
    jaxreg_iters: str
    sklearn_iters: str
    jaxreg_status: str
    reference_gap: float | None
    notes: tuple[str, ...]

    @property
    def ratio(self) -> float:
        return self.sklearn.median / self.jaxreg.median


def run_lasso(
    problem: Problem, X_jax: jax.Array, y_jax: jax.Array, tol: float, repeat: int
) -> JobResult:
    X, y, n = problem.X, problem.y, problem.n
    X_f = np.asfortranarray(X)
    alpha = LASSO_ALPHA_RATIO * lasso_alpha_max(X, y)

    def fit_jaxreg() -> jaxreg.FitResult:
        fit = jaxreg.lasso(X_jax, y_jax, alpha, fit_intercept=False, tol=tol)
        return jax.block_until_ready(fit)

    def fit_sklearn(tol_: float) -> Lasso:
        model = Lasso(alpha=alpha, fit_intercept=False, tol=tol_, max_iter=CD_MAX_ITER)
        return model.fit(X_f, y)

    # jaxreg's first call must come first: nothing before it may have compiled
    # this signature.
    (t_jax, fit), (t_sk, model) = measure([fit_jaxreg, lambda: fit_sklearn(tol)], repeat)
    reference = fit_sklearn(REFERENCE_TOL)

    w_jax = np.asarray(fit.coef)
    w_sk = np.asarray(model.coef_)
    w_ref = np.asarray(reference.coef_)
    p0 = float(y @ y) / (2 * n)
    values = {
        name: lasso_objective(X, y, alpha, w)
        for name, w in (("jaxreg", w_jax), ("sklearn", w_sk), ("reference", w_ref))
    }
    # P* is the lowest value seen (see _lasso_result); the reference's gap
    # bounds how far it can be above the true minimum.
    ref_gap = lasso_dual_gap(X, y, alpha, w_ref) / p0
    status = jaxreg.Status(int(fit.status)).name
    notes = (
        f"alpha = {LASSO_ALPHA_RATIO} * alpha_max = {alpha:.6g}; "
        f"nonzeros: jaxreg {np.count_nonzero(w_jax)}, sklearn {np.count_nonzero(w_sk)}, "
        f"reference {np.count_nonzero(w_ref)}",
        f"jaxreg certified gap / P(0) = {float(fit.gap) / p0:.2e}, status {status}; "
        f"sklearn dual_gap_ / P(0) = {float(model.dual_gap_) / p0:.2e}",
        f"P* reference: sklearn Lasso tol={REFERENCE_TOL:g}, "
        f"its recomputed gap / P(0) = {ref_gap:.2e}",
    )
    return _lasso_result("lasso", tol, (t_jax, t_sk), (fit, model), values, p0, ref_gap, notes)


def _lasso_result(job, tol, timings, fits, values, p0, ref_gap, notes) -> JobResult:
    """A lasso job's row: suboptimalities relative to ``P(0)`` against the
    lowest objective seen (``values``: jaxreg, sklearn, reference)."""
    (t_jax, t_sk), (fit, model) = timings, fits
    p_star = min(values.values())
    return JobResult(
        job=job,
        settings=f"alpha={LASSO_ALPHA_RATIO:g} alpha_max, tol={tol:g}",
        jaxreg=t_jax,
        sklearn=t_sk,
        jaxreg_subopt=(values["jaxreg"] - p_star) / p0,
        sklearn_subopt=(values["sklearn"] - p_star) / p0,
        jaxreg_iters=str(int(fit.n_iter)),
        sklearn_iters=str(int(model.n_iter_)),
        jaxreg_status=jaxreg.Status(int(fit.status)).name,
        reference_gap=ref_gap,
        notes=notes,
    )


def run_lasso_weighted(problem: Problem, tol: float, repeat: int) -> JobResult:
    """The lasso as glmnet users run it: raw columns (offsets and scales), an
    intercept, sample weights and ``standardize=True``, against scikit-learn's
    ``Lasso`` on the columns standardized by hand (weighted mean and weighted
    population standard deviation), its coefficients mapped back."""
    rng = np.random.default_rng(problem.seed + 1)
    n, p = problem.n, problem.p
    X = problem.X * rng.uniform(0.2, 5.0, p) + rng.uniform(-3.0, 3.0, p)
    y = problem.y + 3.0
    sw = rng.uniform(0.5, 2.0, n)
    s = sw / sw.sum()
    mean = s @ X
    sd = np.sqrt(s @ (X - mean) ** 2)
    Xs = np.asfortranarray((X - mean) / sd)
    yc = y - s @ y
    alpha = LASSO_ALPHA_RATIO * float(np.max(np.abs(Xs.T @ (s * yc))))
    X_jax, y_jax, sw_jax = (jax.device_put(a) for a in (X, y, sw))

    def objective(w: np.ndarray, b: float) -> float:
        r = y - X @ w - b
        return float(0.5 * s @ (r * r) + alpha * np.abs(w * sd).sum())

    def fit_jaxreg() -> jaxreg.FitResult:
        fit = jaxreg.lasso(X_jax, y_jax, alpha, sample_weight=sw_jax, standardize=True, tol=tol)
        return jax.block_until_ready(fit)

    def fit_sklearn(tol_: float) -> tuple[np.ndarray, float, Lasso]:
        model = Lasso(alpha=alpha, tol=tol_, max_iter=CD_MAX_ITER).fit(Xs, y, sample_weight=sw)
        w = model.coef_ / sd
        return w, float(model.intercept_ - mean @ w), model

    (t_jax, fit), (t_sk, (w_sk, b_sk, model)) = measure(
        [fit_jaxreg, lambda: fit_sklearn(tol)], repeat
    )
    w_ref, b_ref, reference = fit_sklearn(REFERENCE_TOL)
    w_jax, b_jax = np.asarray(fit.coef), float(fit.intercept)
    values = {
        "jaxreg": objective(w_jax, b_jax),
        "sklearn": objective(w_sk, b_sk),
        "reference": objective(w_ref, b_ref),
    }
    p0 = objective(np.zeros(p), float(s @ y))
    # The reference's gap, on the equivalent unweighted problem: rows scaled
    # by sqrt(n s_i), centered (its objective is the one above).
    root = np.sqrt(n * s)
    ref_gap = lasso_dual_gap(root[:, None] * Xs, root * yc, alpha, reference.coef_) / p0
    status = jaxreg.Status(int(fit.status)).name
    notes = (
        f"alpha = {LASSO_ALPHA_RATIO} * alpha_max (standardized) = {alpha:.6g}; "
        f"intercept: jaxreg {b_jax:.6g}, reference {b_ref:.6g}",
        f"jaxreg certified gap / P(0) = {float(fit.gap) / p0:.2e}, status {status}",
        f"P* reference: sklearn Lasso tol={REFERENCE_TOL:g} on the standardized columns, "
        f"its recomputed gap / P(0) = {ref_gap:.2e}",
    )
    job = "lasso (intercept, weights, standardize)"
    return _lasso_result(job, tol, (t_jax, t_sk), (fit, model), values, p0, ref_gap, notes)


def run_ridge(
    problem: Problem, X_jax: jax.Array, y_jax: jax.Array, tol: float, repeat: int
) -> JobResult:
    X, y, p = problem.X, problem.y, problem.p
    X_f = np.asfortranarray(X)
    alpha = RIDGE_ALPHA

    def fit_jaxreg() -> jaxreg.FitResult:
        fit = jaxreg.ridge(X_jax, y_jax, alpha, fit_intercept=False, tol=tol)
        return jax.block_until_ready(fit)

    def fit_sklearn() -> Ridge:
        return Ridge(alpha=alpha, fit_intercept=False).fit(X_f, y)

    (t_jax, fit), (t_sk, model) = measure([fit_jaxreg, fit_sklearn], repeat)

    w_star = np.linalg.solve(X.T @ X + alpha * np.eye(p), X.T @ y)
    p0 = float(y @ y)
    status = jaxreg.Status(int(fit.status)).name
    return JobResult(
        job="ridge",
        settings=f"alpha={alpha:g}, tol={tol:g}",
        jaxreg=t_jax,
        sklearn=t_sk,
        jaxreg_subopt=ridge_excess(X, alpha, np.asarray(fit.coef), w_star) / p0,
        sklearn_subopt=ridge_excess(X, alpha, np.asarray(model.coef_), w_star) / p0,
        jaxreg_iters="direct",
        sklearn_iters=f"direct ({model.solver_})",
        jaxreg_status=status,
        reference_gap=None,
        notes=(
            f"jaxreg certified gap / P(0) = {float(fit.gap) / p0:.2e}, status {status}",
            "P* reference: normal equations (np.linalg.solve)",
        ),
    )


# ----------------------------------------------------------------------------
# Report
# ----------------------------------------------------------------------------


COLUMNS = (
    "job",
    "settings",
    "jaxreg first call (s)",
    "jaxreg warm median (s)",
    "sklearn first call (s)",
    "sklearn warm median (s)",
    "sklearn / jaxreg",
    "jaxreg subopt",
    "sklearn subopt",
    "iters jaxreg / sklearn",
)


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def markdown_table(results: Sequence[JobResult]) -> str:
    """The results as a markdown table, one row per job."""
    lines = [_row(COLUMNS), _row(["---"] * len(COLUMNS))]
    for r in results:
        cells = (
            r.job,
            r.settings,
            f"{r.jaxreg.first:.4f}",
            f"{r.jaxreg.median:.4f}",
            f"{r.sklearn.first:.4f}",
            f"{r.sklearn.median:.4f}",
            f"{r.ratio:.3g}",
            f"{r.jaxreg_subopt:.1e}",
            f"{r.sklearn_subopt:.1e}",
            f"{r.jaxreg_iters} / {r.sklearn_iters}",
        )
        lines.append(_row(cells))
    return "\n".join(lines)


def environment_lines(problem: Problem, repeat: int) -> list[str]:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return [
        f"problem: n={problem.n}, p={problem.p}, k={problem.k}, rho={RHO}, SNR={SNR:g}, "
        f"seed={problem.seed}, float64, no intercept (the weighted job: raw columns, "
        "an intercept, sample weights, standardize)",
        f"timing: first call, then median of {repeat} warm call(s)",
        f"jax {jax.__version__} ({jax.default_backend()}), "
        f"jaxreg {jaxreg.__version__}, scikit-learn {sklearn.__version__}, "
        f"numpy {np.__version__}, python {platform.python_version()}",
        f"cpus: {os.cpu_count()}, 1-min load average at start: {load:.2f}",
    ]


def accuracy_failures(results: Sequence[JobResult], max_subopt: float) -> list[str]:
    failures = []
    for r in results:
        for lib, value in (("jaxreg", r.jaxreg_subopt), ("sklearn", r.sklearn_subopt)):
            # Written so that NaN fails.
            if not value <= max_subopt:
                failures.append(f"{r.job}: {lib} suboptimality {value:.2e} > {max_subopt:g}")
        if r.jaxreg_status != jaxreg.Status.CONVERGED.name:
            failures.append(f"{r.job}: jaxreg status {r.jaxreg_status}")
        if r.reference_gap is not None and not r.reference_gap <= REFERENCE_MAX_GAP:
            failures.append(
                f"{r.job}: reference gap / P(0) {r.reference_gap:.2e} > {REFERENCE_MAX_GAP:g}"
            )
    return failures


# ----------------------------------------------------------------------------
# Entry point
# ----------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Time one lasso and one ridge fit, jaxreg against scikit-learn, "
        "at matched (measured) accuracy."
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="tiny problem (200 x 20, k=5) and one warm repeat, for CI",
    )
    parser.add_argument("--n", type=int, default=None, help="samples (default 5000; smoke 200)")
    parser.add_argument("--p", type=int, default=None, help="features (default 500; smoke 20)")
    parser.add_argument(
        "--k", type=int, default=None, help="nonzero true coefficients (default min(50, p // 4))"
    )
    parser.add_argument(
        "--repeat", type=int, default=None, help="warm calls timed per solver (default 20; smoke 1)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--tol",
        type=float,
        default=DEFAULT_TOL,
        help="duality-gap tolerance given to both lasso solvers, relative to "
        f"||y||^2 / n (default {DEFAULT_TOL:g})",
    )
    parser.add_argument(
        "--max-subopt",
        type=float,
        default=DEFAULT_MAX_SUBOPT,
        help="accuracy check: largest accepted relative suboptimality "
        f"(default {DEFAULT_MAX_SUBOPT:g})",
    )
    parser.add_argument(
        "--out", metavar="FILE", default=None, help="also write the report as markdown to FILE"
    )
    args = parser.parse_args(argv)
    args.n = args.n if args.n is not None else (200 if args.smoke else 5000)
    args.p = args.p if args.p is not None else (20 if args.smoke else 500)
    args.k = args.k if args.k is not None else min(50, max(1, args.p // 4))
    args.repeat = args.repeat if args.repeat is not None else (1 if args.smoke else 20)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; return 1 if an accuracy check fails, else 0."""
    args = parse_args(argv)
    jax.config.update("jax_enable_x64", True)

    problem = make_problem(args.n, args.p, args.k, seed=args.seed)
    X_jax = jax.block_until_ready(jax.device_put(problem.X))
    y_jax = jax.block_until_ready(jax.device_put(problem.y))

    results = [
        run_lasso(problem, X_jax, y_jax, args.tol, args.repeat),
        run_ridge(problem, X_jax, y_jax, args.tol, args.repeat),
        run_lasso_weighted(problem, args.tol, args.repeat),
    ]

    title = "## jaxreg vs scikit-learn: single fits" + (" (smoke)" if args.smoke else "")
    lines = [title, "", *(f"- {line}" for line in environment_lines(problem, args.repeat)), ""]
    lines += [markdown_table(results), ""]
    for r in results:
        lines += [f"- {r.job}: {note}" for note in r.notes]
        lines.append(
            f"- {r.job}: warm-call range: jaxreg {r.jaxreg.spread()}, sklearn {r.sklearn.spread()}"
        )
    report = "\n".join(lines) + "\n"
    print(report, end="")

    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write(report)

    failures = accuracy_failures(results, args.max_subopt)
    for failure in failures:
        print(f"ACCURACY CHECK FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
