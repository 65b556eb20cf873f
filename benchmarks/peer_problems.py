"""Problems, objectives and tight references for ``bench_peers.py``.

Everything here is NumPy / SciPy in float64 and independent of the solvers
being timed, so that every solver's answer is scored the same way:

* problems: the AR(1) designs of ``bench_core.py`` (tall and wide), a sparse
  text-like design, binary-label counterparts of the three, and the CoIL 2000
  "Caravan" insurance data (``benchmarks/data/``);
* objectives: the lasso / elastic net of scikit-learn without intercept, the
  L1-penalized mean log-loss with an unpenalized intercept (glmnet's binomial
  objective), and scikit-learn's ``Ridge`` objective;
* references: ``P*`` per grid point, each certified (a duality gap for the
  squared loss, the KKT conditions after a Newton polish for the logistic
  loss, the normal equations for ridge).
"""

from __future__ import annotations

import dataclasses
import gzip
import sys
import warnings
from pathlib import Path

import numpy as np
import scipy.optimize
import scipy.sparse as sp
from scipy.special import expit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_core import make_problem  # noqa: E402

DATA_DIR = Path(__file__).resolve().parent / "data"
CARAVAN_FILE = DATA_DIR / "caravan.csv.gz"

# Tolerance of the coordinate-descent reference; its recomputed duality gap
# (relative to P(0)) must then be below REFERENCE_MAX_GAP to be trusted.
REFERENCE_TOL = 1e-12
REFERENCE_MAX_GAP = 1e-9


@dataclasses.dataclass(frozen=True)
class Problem:
    """One data set: a design, real targets or labels, and how it was made."""

    name: str
    X: np.ndarray | sp.csr_matrix
    y: np.ndarray
    loss: str  # "squared" or "logistic"
    description: str

    @property
    def sparse(self) -> bool:
        return sp.issparse(self.X)

    @property
    def shape(self) -> tuple[int, int]:
        return self.X.shape


# ----------------------------------------------------------------------------
# Problems
# ----------------------------------------------------------------------------


def dense_problem(name: str, n: int, p: int, k: int, seed: int) -> Problem:
    """The AR(1) design of ``bench_core.make_problem`` (rho 0.6, SNR 3, centered)."""
    prob = make_problem(n, p, k, seed=seed)
    return Problem(
        name,
        prob.X,
        prob.y,
        "squared",
        f"{n} x {p} AR(1) design (rho 0.6, standardized), {k}-sparse truth, SNR 3, seed {seed}",
    )


def sparse_problem(n: int, p: int, density: float, k: int, seed: int) -> Problem:
    """A text-like sparse design: Zipf-popular columns, tf-idf-like nonnegative values.

    Each row draws about ``density * p`` distinct columns with probabilities
    decaying as ``1 / rank``; a term count ``c`` (geometric) becomes
    ``(1 + log c) * idf``, and rows are scaled to unit Euclidean norm, as a
    tf-idf vectorizer does. The truth has ``k`` nonzero coefficients among the
    columns present in at least 1% of the rows; noise at SNR 3; ``y`` centered.
    The design is neither centered nor scaled (that would make it dense).
    """
    rng = np.random.default_rng(seed)
    per_row = np.maximum(1, rng.poisson(density * p, size=n))
    weights = 1.0 / np.arange(1, p + 1)
    weights /= weights.sum()
    perm = rng.permutation(p)  # popular columns at random positions
    rows, cols = [], []
    for i, m in enumerate(per_row):
        m = min(int(m), p)
        # Gumbel top-k: m distinct columns drawn with probabilities ~ weights.
        keys = np.log(weights) - np.log(-np.log(rng.random(p)))
        chosen = perm[np.argpartition(-keys, m - 1)[:m]]
        rows.append(np.full(m, i))
        cols.append(chosen)
    rows = np.concatenate(rows)
    cols = np.concatenate(cols)
    counts = rng.geometric(0.5, size=rows.shape[0])
    X = sp.csr_matrix((1.0 + np.log(counts), (rows, cols)), shape=(n, p))
    df = np.bincount(X.indices, minlength=p)
    idf = np.log((1.0 + n) / (1.0 + df)) + 1.0
    X = sp.csr_matrix(X @ sp.diags(idf))
    norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
    X = sp.csr_matrix(sp.diags(1.0 / np.maximum(norms, 1e-300)) @ X)
    X.sort_indices()

    frequent = np.flatnonzero(df >= max(1, 0.01 * n))
    candidates = frequent if frequent.size >= k else np.argsort(-df)[:k]
    support = rng.choice(candidates, size=k, replace=False)
    w = np.zeros(p)
    w[support] = rng.choice([-1.0, 1.0], size=k) * rng.uniform(0.5, 2.0, size=k)
    signal = X @ w
    y = signal + rng.standard_normal(n) * (signal.std() / 3.0)
    y -= y.mean()
    return Problem(
        "sparse",
        X,
        y,
        "squared",
        f"{n} x {p} sparse tf-idf-like design ({X.nnz / (n * p):.2%} nonzeros, rows of unit "
        f"norm, not centered), {k}-sparse truth, SNR 3, seed {seed}",
    )


def logistic_counterpart(problem: Problem, seed: int) -> Problem:
    """Binary labels on the same design: ``y ~ Bernoulli(sigmoid(2 z))``.

    ``z`` is the problem's regression target standardized to zero mean and unit
    variance (signal plus its SNR-3 noise), so the labels follow the same
    sparse truth.
    """
    rng = np.random.default_rng(seed + 1)
    z = (problem.y - problem.y.mean()) / problem.y.std()
    labels = (rng.random(z.shape[0]) < expit(2.0 * z)).astype(np.float64)
    return Problem(
        problem.name,
        problem.X,
        labels,
        "logistic",
        f"{problem.description}; labels Bernoulli(sigmoid(2 z)), z the standardized "
        f"regression target ({labels.mean():.0%} positive)",
    )


def caravan_problem(n_rows: int | None = None) -> Problem:
    """The CoIL 2000 Caravan insurance data: 5822 x 85, target ``Purchase``.

    Columns standardized (zero mean, unit variance); labels 1 for ``Yes``.
    ``n_rows`` keeps only the first rows (for the smoke test).
    """
    with gzip.open(CARAVAN_FILE, "rt", encoding="ascii") as fh:
        header = fh.readline().strip().split(",")
        lines = fh.read().splitlines()
    if n_rows is not None:
        lines = lines[:n_rows]
    target = header.index("Purchase")
    cells = [line.split(",") for line in lines]
    labels = np.array([row[target] == "Yes" for row in cells], dtype=np.float64)
    X = np.array(
        [[float(v) for j, v in enumerate(row) if j != target] for row in cells], dtype=np.float64
    )
    std = X.std(axis=0)
    X = (X - X.mean(axis=0)) / np.where(std > 0, std, 1.0)
    n, p = X.shape
    return Problem(
        "caravan",
        X,
        labels,
        "logistic",
        f"CoIL 2000 Caravan insurance data, {n} x {p}, standardized columns "
        f"({labels.mean():.1%} positive)",
    )


def geometric_grid(top: float, n_alphas: int, eps: float) -> np.ndarray:
    return top * np.geomspace(1.0, eps, n_alphas)


def shifted_grid(grid: np.ndarray) -> np.ndarray:
    """Another grid of the same length: every point moved half a step down."""
    if grid.shape[0] < 2:
        return grid * 0.9
    step = grid[1] / grid[0]
    return grid * np.sqrt(step)


def lasso_alpha_max(X, y, l1_ratio: float = 1.0) -> float:
    """Smallest alpha with an all-zero solution (no intercept)."""
    return float(np.max(np.abs(X.T @ y)) / (X.shape[0] * l1_ratio))


def logistic_alpha_max(X, y) -> float:
    """Smallest alpha with an all-zero L1-logistic solution (intercept fitted)."""
    return float(np.max(np.abs(X.T @ (y - y.mean()))) / X.shape[0])


def ridge_grid(X, n_alphas: int) -> np.ndarray:
    """Ridge alphas scaled by the mean squared column norm: 1e2 down to 1e-4 of it."""
    sq = X.multiply(X).sum() if sp.issparse(X) else float(np.sum(X * X))
    return float(sq) / X.shape[1] * np.geomspace(1e2, 1e-4, n_alphas)


# ----------------------------------------------------------------------------
# Objectives and certificates
# ----------------------------------------------------------------------------


def enet_objective(X, y, alpha: float, l1_ratio: float, w: np.ndarray) -> float:
    """``||y - X w||^2 / (2 n) + alpha (l1_ratio ||w||_1 + (1 - l1_ratio) / 2 ||w||^2)``."""
    r = y - X @ w
    pen = l1_ratio * np.abs(w).sum() + 0.5 * (1.0 - l1_ratio) * (w @ w)
    return float(r @ r / (2 * X.shape[0]) + alpha * pen)


def enet_dual_gap(X, y, alpha: float, l1_ratio: float, w: np.ndarray) -> float:
    """Duality gap at ``w`` (the elastic net as a lasso on augmented data)."""
    n = X.shape[0]
    r = y - X @ w
    ridge = n * alpha * (1.0 - l1_ratio)
    corr = float(np.max(np.abs(X.T @ r - ridge * w)))
    bound = n * alpha * l1_ratio
    s = min(1.0, bound / corr) if corr > 0 else 1.0
    d = y - s * r
    dual = (y @ y - d @ d - s * s * ridge * (w @ w)) / (2 * n)
    return enet_objective(X, y, alpha, l1_ratio, w) - float(dual)


def logistic_objective(X, y, alpha: float, w: np.ndarray, b: float) -> float:
    """Mean log-loss with intercept ``b`` plus ``alpha ||w||_1``; ``y`` in {0, 1}."""
    eta = X @ w + b
    loss = np.logaddexp(0.0, eta) - y * eta
    return float(loss.mean() + alpha * np.abs(w).sum())


def logistic_null(y: np.ndarray) -> float:
    """``P(0)``: the mean log-loss of the best intercept-only model."""
    ybar = float(y.mean())
    return float(-(ybar * np.log(ybar) + (1 - ybar) * np.log1p(-ybar)))


def logistic_dual_gap(X, y, alpha: float, w: np.ndarray, b: float) -> float:
    """Duality gap at ``(w, b)``; ``y`` in {0, 1}, intercept unpenalized.

    The dual of ``min mean(l(y, X w + b)) + alpha ||w||_1`` is
    ``max mean(H(q))`` (``H`` the binary entropy) over ``q`` in [0, 1]^n with
    ``sum(y - q) = 0`` and ``||X'(y - q)||_inf <= n alpha``. The candidate
    ``q = sigmoid(X w + b + c)``, with the shift ``c`` making the sum vanish,
    is scaled towards ``y`` until the sup-norm constraint holds.
    """
    n = X.shape[0]
    eta = X @ w + b
    c = 0.0
    for _ in range(100):  # Newton on the sum condition, a monotone scalar equation
        q = expit(eta + c)
        f = float(np.sum(q - y))
        slope = float(np.sum(q * (1 - q)))
        if abs(f) <= 1e-15 * n or slope == 0.0:
            break
        c -= f / slope
    q = expit(eta + c)
    corr = float(np.max(np.abs(X.T @ (y - q))))
    s = min(1.0, n * alpha / corr) if corr > 0 else 1.0
    q = (1 - s) * y + s * q
    with np.errstate(divide="ignore", invalid="ignore"):
        ent = -(np.where(q > 0, q * np.log(q), 0.0) + np.where(q < 1, (1 - q) * np.log1p(-q), 0.0))
    return logistic_objective(X, y, alpha, w, b) - float(ent.mean())


def ridge_excess(X, alpha: float, w: np.ndarray, w_star: np.ndarray) -> float:
    """``P(w) - P(w*)`` for ``||y - X w||^2 + alpha ||w||^2`` (exact for a quadratic)."""
    d = w - w_star
    Xd = X @ d
    return float(Xd @ Xd + alpha * (d @ d))


# ----------------------------------------------------------------------------
# References
# ----------------------------------------------------------------------------


@dataclasses.dataclass
class Reference:
    """``P*`` per grid point (kept as the lowest value seen) and its certificate."""

    alphas: np.ndarray
    values: np.ndarray
    p0: float
    certificate: float  # worst relative gap (or KKT residual for the logistic loss)
    how: str

    def subopt(self, values: np.ndarray) -> np.ndarray:
        """Relative suboptimality of a solver's objective values; lowers P* if beaten."""
        values = np.asarray(values, dtype=np.float64)
        self.values = np.fmin(self.values, values)
        return (values - self.values) / self.p0

    @property
    def tight(self) -> bool:
        return bool(self.certificate <= REFERENCE_MAX_GAP)


def _dense_or_csc(X):
    return X.tocsc() if sp.issparse(X) else np.asfortranarray(X)


def _importable(module: str) -> bool:
    import importlib

    try:
        importlib.import_module(module)
    except Exception:
        return False
    return True


def _lars_lasso(X: np.ndarray, y: np.ndarray, alphas: np.ndarray) -> np.ndarray:
    """Lasso solutions at ``alphas`` from the LARS-lasso path (linear between its knots)."""
    from sklearn.linear_model import lars_path

    knots, _, path = lars_path(
        X, y, method="lasso", alpha_min=float(alphas.min()) * (1 - 1e-9), max_iter=1_000_000
    )
    xs, ws = knots[::-1], path[:, ::-1]  # increasing alpha
    a = np.clip(alphas, xs[0], xs[-1])
    i = np.clip(np.searchsorted(xs, a), 1, xs.size - 1)
    width = xs[i] - xs[i - 1]
    t = np.where(width > 0, (a - xs[i - 1]) / np.where(width > 0, width, 1.0), 1.0)
    return (ws[:, i - 1] * (1.0 - t) + ws[:, i] * t).T


def enet_reference(X, y, alphas, l1_ratio: float = 1.0) -> tuple[Reference, np.ndarray]:
    """Certified elastic-net (lasso) solutions along a decreasing grid, no intercept.

    The lasso on a dense design: the exact LARS-lasso homotopy. Otherwise
    coordinate descent: celer at tol 1e-13 on wide designs when it is
    installed (scikit-learn's coordinate descent takes many minutes to
    converge tightly there), else scikit-learn ``enet_path`` at tol 1e-12.
    Either way each point's duality gap is recomputed, and points above
    ``REFERENCE_MAX_GAP / 10`` are polished by a warm-started ``ElasticNet``
    at tol 1e-13. The certificate does not depend on which solver found the
    point. Returns the reference and its coefficients ``(A, p)``.
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import ElasticNet, enet_path

    n, p = X.shape
    Xc = _dense_or_csc(X)
    alphas = np.asarray(alphas, dtype=np.float64)
    if l1_ratio == 1.0 and not sp.issparse(X):
        coefs = _lars_lasso(X, y, alphas)
        how = "LARS-lasso homotopy (exact piecewise-linear path), interpolated at the grid"
    elif n < p and _importable("celer"):
        from celer import celer_path

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _, coefs, _ = celer_path(
                Xc,
                y,
                "lasso",
                alphas=alphas,
                l1_ratio=l1_ratio,
                tol=1e-13,
                max_iter=1000,
                max_epochs=1_000_000,
            )
        coefs = np.ascontiguousarray(np.asarray(coefs).T)
        how = "celer_path, tol 1e-13 (coordinate descent is slow to converge tightly here)"
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            _, coefs, _ = enet_path(
                Xc, y, l1_ratio=l1_ratio, alphas=alphas, tol=REFERENCE_TOL, max_iter=1_000_000
            )
        coefs = np.ascontiguousarray(coefs.T)
        how = f"scikit-learn enet_path, tol {REFERENCE_TOL:g}"
    p0 = float(y @ y) / (2 * n)
    gaps = (
        np.array([enet_dual_gap(X, y, a, l1_ratio, w) for a, w in zip(alphas, coefs, strict=True)])
        / p0
    )
    loose = np.flatnonzero(gaps > REFERENCE_MAX_GAP / 10)
    if loose.size:
        how += f"; {loose.size} point(s) polished by coordinate descent at tol 1e-13"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            for i in loose:
                model = ElasticNet(
                    alpha=alphas[i],
                    l1_ratio=l1_ratio,
                    fit_intercept=False,
                    tol=1e-13,
                    max_iter=100_000,
                    warm_start=True,
                )
                model.coef_ = coefs[i].copy()
                model.fit(Xc, y)
                coefs[i] = model.coef_
                gaps[i] = enet_dual_gap(X, y, alphas[i], l1_ratio, coefs[i]) / p0
    values = np.array(
        [enet_objective(X, y, a, l1_ratio, w) for a, w in zip(alphas, coefs, strict=True)]
    )
    return Reference(
        alphas, values, p0, float(gaps.max()), how + "; certificate: duality gap / P(0)"
    ), coefs


def _logistic_lbfgs(X, y, alpha, w0, b0):
    """L-BFGS-B on the split form ``w = u - v`` (u, v >= 0): a smooth bound-constrained problem."""
    n, p = X.shape

    def fun(z):
        u, v, b = z[:p], z[p : 2 * p], z[-1]
        eta = X @ (u - v) + b
        loss = np.logaddexp(0.0, eta) - y * eta
        resid = (expit(eta) - y) / n
        g = X.T @ resid
        grad = np.concatenate([g + alpha, -g + alpha, [resid.sum()]])
        return loss.mean() + alpha * (u.sum() + v.sum()), grad

    z0 = np.concatenate([np.maximum(w0, 0), np.maximum(-w0, 0), [b0]])
    bounds = [(0, None)] * (2 * p) + [(None, None)]
    res = scipy.optimize.minimize(
        fun,
        z0,
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options=dict(maxiter=50_000, maxfun=100_000, ftol=1e-16, gtol=1e-13, maxcor=30),
    )
    z = res.x
    return z[:p] - z[p : 2 * p], float(z[-1])


def _logistic_newton_polish(X, y, alpha, w, b, iters: int = 30):
    """Newton's method on the support of ``w`` with its signs fixed (smooth there)."""
    n = X.shape[0]
    support = np.flatnonzero(np.abs(w) > 1e-10 * max(1.0, np.abs(w).max()))
    signs = np.sign(w[support])
    Xs = X[:, support]
    Xs = Xs.toarray() if sp.issparse(Xs) else Xs
    A = np.hstack([Xs, np.ones((n, 1))])
    theta = np.concatenate([w[support], [b]])
    pen = np.concatenate([alpha * signs, [0.0]])

    def value(t):
        eta = A @ t
        return np.mean(np.logaddexp(0.0, eta) - y * eta) + pen @ t

    for _ in range(iters):
        eta = A @ theta
        mu = expit(eta)
        grad = A.T @ (mu - y) / n + pen
        if np.max(np.abs(grad)) < 1e-15:
            break
        H = (A * (mu * (1 - mu))[:, None]).T @ A / n
        step = np.linalg.solve(H + 1e-14 * np.eye(H.shape[0]), grad)
        t, f0 = 1.0, value(theta)
        while t > 1e-8 and value(theta - t * step) > f0 + 1e-16 * abs(f0):
            t *= 0.5
        theta = theta - t * step
    w_new = np.zeros_like(w)
    w_new[support] = theta[:-1]
    if np.any(np.sign(w_new[support]) != signs):
        return w, b  # the support changed: keep the unpolished point
    return w_new, float(theta[-1])


def logistic_reference(X, y, alphas) -> tuple[Reference, np.ndarray, np.ndarray]:
    """L-BFGS-B on the split form, warm along the grid, then a Newton polish on the support.

    L-BFGS-B is restarted from its last point (at most 5 times) until the
    polished point's duality gap is below ``REFERENCE_MAX_GAP / 100``; the
    certificate is the worst relative duality gap. Returns the reference, the
    coefficients ``(A, p)`` and the intercepts ``(A,)``.
    """
    n, p = X.shape
    alphas = np.asarray(alphas, dtype=np.float64)
    ybar = float(y.mean())
    p0 = logistic_null(y)
    w, b = np.zeros(p), float(np.log(ybar / (1 - ybar)))
    coefs, intercepts, values, gaps = [], [], [], []
    restarts = 0
    for a in alphas:
        for attempt in range(6):
            restarts += attempt > 0
            w, b = _logistic_lbfgs(X, y, a, w, b)
            # L-BFGS-B leaves the two halves of a zero coefficient near, not at, their bound.
            w = np.where(np.abs(w) < 1e-12, 0.0, w)
            w, b = _logistic_newton_polish(X, y, a, w, b)
            gap = logistic_dual_gap(X, y, a, w, b) / p0
            if gap <= REFERENCE_MAX_GAP / 100:
                break
        coefs.append(w)
        intercepts.append(b)
        values.append(logistic_objective(X, y, a, w, b))
        gaps.append(gap)
    how = "L-BFGS-B on w = u - v, warm along the grid, then Newton on the support"
    if restarts:
        how += f" ({restarts} L-BFGS-B restart(s))"
    ref = Reference(
        alphas, np.array(values), p0, float(max(gaps)), how + "; certificate: duality gap / P(0)"
    )
    return ref, np.array(coefs), np.array(intercepts)


def ridge_solutions(X, y, alphas) -> np.ndarray:
    """Exact ridge solutions ``(A, p)`` from one SVD (or eigendecomposition) in float64."""
    Xd = X.toarray() if sp.issparse(X) else X
    U, s, Vt = np.linalg.svd(Xd, full_matrices=False)
    uty = U.T @ y
    return np.array([(Vt.T * (s / (s * s + a))) @ uty for a in alphas])


__all__ = [
    "CARAVAN_FILE",
    "Problem",
    "Reference",
    "caravan_problem",
    "dense_problem",
    "enet_dual_gap",
    "enet_objective",
    "enet_reference",
    "geometric_grid",
    "lasso_alpha_max",
    "logistic_alpha_max",
    "logistic_counterpart",
    "logistic_dual_gap",
    "logistic_null",
    "logistic_objective",
    "logistic_reference",
    "ridge_excess",
    "ridge_grid",
    "ridge_solutions",
    "shifted_grid",
    "sparse_problem",
]
