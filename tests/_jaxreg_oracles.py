"""Outside references for the tests, in plain numpy, written from the objectives.

Nothing here imports jaxreg or reuses its formulas: the objectives come from
``docs/conventions.md`` and are evaluated on the original scale of ``X``.

* :func:`primal` is the documented objective.
* :func:`dual_gap` is ``P(w, b) - D(v)`` for the dual points a certificate
  may use (the residual rescaled into the penalty's dual domain), with the
  conjugates evaluated by brute force over the few points where a concave
  one-dimensional function of a box can peak.
* :func:`solve` is an exact solver (proximal Newton with coordinate descent
  on the quadratic model, run to machine precision) for ``P*``.
* :func:`select` is glmnet's selection rule (min and one standard error)
  applied to a table of mean scores by plain loops.
"""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class Spec:
    """One regularized GLM, as the docs define it.

    Objective: ``sum_i s_i l(y_i, x_i'w + b) + alpha * sum_j pf_j (l1_ratio
    |w_j sd_j| + (1 - l1_ratio)/2 (w_j sd_j)^2)`` subject to ``lower <= w <=
    upper``, with ``s = sample_weight / sum(sample_weight)``, ``pf`` rescaled to
    sum to ``p``, ``sd_j`` the weighted population standard deviation of column
    ``j`` when standardizing (the root mean square without an intercept), else 1.
    """

    X: np.ndarray
    y: np.ndarray
    alpha: float
    l1_ratio: float = 1.0
    loss: str = "squared"
    sample_weight: np.ndarray | None = None
    penalty_factor: np.ndarray | None = None
    lower: np.ndarray | float = -np.inf
    upper: np.ndarray | float = np.inf
    fit_intercept: bool = True
    standardize: bool = False
    # Relative slack on the bounds: a float32 solve clips to rounded bounds.
    bound_slack: float = 1e-12

    @property
    def s(self) -> np.ndarray:
        n = self.X.shape[0]
        sw = np.ones(n) if self.sample_weight is None else np.asarray(self.sample_weight, float)
        return sw / sw.sum()

    @property
    def sd(self) -> np.ndarray:
        X = np.asarray(self.X, float)
        if not self.standardize:
            return np.ones(X.shape[1])
        m = self.s @ X if self.fit_intercept else np.zeros(X.shape[1])
        sd = np.sqrt(self.s @ (X - m) ** 2)
        return np.where(sd > 0, sd, 1.0)

    @property
    def weights(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-coordinate L1 and L2 weights on the original scale of ``w``."""
        p = self.X.shape[1]
        pf = np.ones(p) if self.penalty_factor is None else np.asarray(self.penalty_factor, float)
        pf = pf * p / pf.sum()
        sd = self.sd
        return (
            self.alpha * self.l1_ratio * pf * sd,
            self.alpha * (1 - self.l1_ratio) * pf * sd**2,
        )

    @property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        p = self.X.shape[1]
        return (
            np.broadcast_to(np.asarray(self.lower, float), (p,)),
            np.broadcast_to(np.asarray(self.upper, float), (p,)),
        )


def _loss(loss: str, y, z):
    if loss == "squared":
        return 0.5 * (y - z) ** 2
    return np.logaddexp(0.0, z) - y * z


def _dloss(loss: str, y, z):
    if loss == "squared":
        return z - y
    return 1.0 / (1.0 + np.exp(-z)) - y


def _d2loss(loss: str, y, z):
    if loss == "squared":
        return np.ones_like(z)
    p = 1.0 / (1.0 + np.exp(-z))
    return p * (1 - p)


def _xlogx(x):
    x = np.asarray(x, float)
    return np.where(x > 0, x * np.log(np.where(x > 0, x, 1.0)), 0.0)


def _loss_conjugate(loss: str, y, t):
    """``l*(t) = sup_z t z - l(y, z)`` per sample."""
    if loss == "squared":
        return t * y + 0.5 * t * t
    q = t + y  # must lie in [0, 1]
    if np.any((q < -1e-12) | (q > 1 + 1e-12)):
        return np.full_like(q, np.inf)
    q = np.clip(q, 0.0, 1.0)
    return _xlogx(q) + _xlogx(1 - q)


def _box_conjugate(q, l1, l2, lo, hi):
    """``sup_{lo <= w <= hi} q w - l1 |w| - l2 w^2 / 2`` per coordinate, by
    evaluating every point where the concave function can peak."""
    out = np.empty_like(q)
    for j in range(q.size):

        def f(w, j=j):
            return q[j] * w - l1[j] * abs(w) - 0.5 * l2[j] * w * w

        if l2[j] == 0:
            # Piecewise linear: a peak at 0 or at an end; unbounded slopes run off.
            if (hi[j] == np.inf and q[j] - l1[j] > 0) or (lo[j] == -np.inf and q[j] + l1[j] < 0):
                out[j] = np.inf
                continue
            points = [min(max(0.0, lo[j]), hi[j]), lo[j], hi[j]]
        else:
            stationary = [(q[j] - l1[j]) / l2[j], (q[j] + l1[j]) / l2[j], 0.0]
            points = [min(max(w, lo[j]), hi[j]) for w in stationary] + [lo[j], hi[j]]
        out[j] = max(f(w) for w in points if np.isfinite(w))
    return out


def penalty_value(spec: Spec, w) -> float:
    l1, l2 = spec.weights
    lo, hi = spec.bounds
    slack = spec.bound_slack * (1 + np.abs(w))
    if np.any(w < lo - slack) or np.any(w > hi + slack):
        return np.inf
    return float(np.sum(l1 * np.abs(w) + 0.5 * l2 * w * w))


def primal(spec: Spec, w, b=0.0) -> float:
    """The documented objective at ``(w, b)`` (``inf`` outside the bounds)."""
    w = np.asarray(w, float)
    z = np.asarray(spec.X, float) @ w + float(b)
    return float(spec.s @ _loss(spec.loss, np.asarray(spec.y, float), z)) + penalty_value(spec, w)


def _free(spec: Spec, q) -> np.ndarray:
    """Coordinates with no penalty and no bound in the direction of ``q``:
    no dual point can make their conjugate finite; they are held fixed."""
    l1, l2 = spec.weights
    lo, hi = spec.bounds
    open_side = np.where(q > 0, hi == np.inf, lo == -np.inf)
    return (l1 == 0) & (l2 == 0) & open_side


def _dual(spec: Spec, w, b, v) -> float:
    """Dual objective at ``v`` of the problem with the intercept and the free
    coordinates held at their values:
    ``D(v) = -sum_i s_i l*(-v_i / s_i) - v'(X_F w_F + b) - sum_{j not in F} h_j*(x_j'v)``."""
    X, y, s = np.asarray(spec.X, float), np.asarray(spec.y, float), spec.s
    pos = s > 0
    t = -v[pos] / s[pos]
    data = -float(s[pos] @ _loss_conjugate(spec.loss, y[pos], t))
    q = X.T @ v
    free = _free(spec, q)
    l1, l2 = spec.weights
    lo, hi = spec.bounds
    # A rescaled point sits on the boundary |q_j| = l1_j of the dual domain;
    # rounding in the rescaling must not push it past (an infinite conjugate).
    open_side = np.where(q > 0, hi == np.inf, lo == -np.inf)
    edge = open_side & (l2 == 0) & (np.abs(q) > l1) & (np.abs(q) <= l1 * (1 + 1e-9))
    q = np.where(edge, np.sign(q) * l1, q)
    conj = _box_conjugate(q[~free], l1[~free], l2[~free], lo[~free], hi[~free])
    held = float(q[free] @ w[free]) + float(np.sum(v)) * float(b)
    return data - held - float(np.sum(conj))


def dual_point(spec: Spec, w, b=0.0):
    """The residual direction ``v = -s * l'(z)`` and the two rescalings a
    certificate may use: the largest ``kappa <= 1`` with a finite conjugate on
    the coordinates that are not free, and the same with every bound ignored.

    Returns ``(v, (kappa_bounded, kappa_unbounded))``.
    """
    X, y = np.asarray(spec.X, float), np.asarray(spec.y, float)
    w = np.asarray(w, float)
    v = -spec.s * _dloss(spec.loss, y, X @ w + float(b))
    q = X.T @ v
    l1, l2 = spec.weights
    lo, hi = spec.bounds
    open_side = np.where(q > 0, hi == np.inf, lo == -np.inf)
    kappas = []
    for unbounded in (open_side, np.ones_like(open_side)):
        limited = unbounded & (l2 == 0) & (l1 > 0) & (np.abs(q) > l1)
        ratio = l1[limited] / np.abs(q[limited])
        kappas.append(min(1.0, float(ratio.min())) if ratio.size else 1.0)
    return v, tuple(kappas)


def dual_gap(spec: Spec, w, b=0.0) -> float:
    """``P(w, b) - max_kappa D(kappa v)`` over the two rescalings of
    :func:`dual_point`, computed as a plain difference of the two objectives."""
    w = np.asarray(w, float)
    v, kappas = dual_point(spec, w, b)
    p = primal(spec, w, b)
    return min(p - _dual(spec, w, b, k * v) for k in kappas)


def intercept_residual(spec: Spec, w, b) -> float:
    """``|sum_i s_i l'(z_i)|``: zero where the intercept is optimal for ``w``
    (the dual constraint that lets the intercept leave the gap)."""
    v, _ = dual_point(spec, w, b)
    return abs(float(np.sum(v)))


def _cd_model(spec: Spec, w, b, g, h, sweeps: int, tol: float):
    """Coordinate descent on the quadratic model ``sum_i s_i (g_i dz_i + h_i
    dz_i^2 / 2) + penalty(w)``, ``dz = X (w - w0) + (b - b0)``, from ``(w0, b0)``."""
    X, s = np.asarray(spec.X, float), spec.s
    l1, l2 = spec.weights
    lo, hi = spec.bounds
    w, b = w.copy(), float(b)
    dz = np.zeros(X.shape[0])
    sh = s * h
    a = sh @ X**2
    for _ in range(sweeps):
        biggest = 0.0
        if spec.fit_intercept and sh.sum() > 0:
            step = -float(s @ (g + h * dz)) / sh.sum()
            b += step
            dz += step
            biggest = abs(step)
        for j in range(X.shape[1]):
            if a[j] + l2[j] == 0:
                continue
            grad = float(X[:, j] @ (s * (g + h * dz)))
            u = a[j] * w[j] - grad
            new = np.sign(u) * max(abs(u) - l1[j], 0.0) / (a[j] + l2[j])
            new = min(max(new, lo[j]), hi[j])
            if new != w[j]:
                dz += (new - w[j]) * X[:, j]
                biggest = max(biggest, abs(new - w[j]) * np.sqrt(a[j]))
                w[j] = new
        if biggest <= tol:
            break
    return w, b


def solve(spec: Spec, *, max_newton: int = 60, sweeps: int = 20_000, tol: float = 1e-15):
    """An exact solve: proximal Newton (one step for the squared loss), each
    quadratic model minimized by coordinate descent to ``tol``, with a
    backtracking line search on the true objective.

    Returns ``(w, b, P*)``.
    """
    X, y = np.asarray(spec.X, float), np.asarray(spec.y, float)
    p = X.shape[1]
    lo, hi = spec.bounds
    w = np.clip(np.zeros(p), lo, hi)
    b = 0.0
    if spec.fit_intercept and spec.loss == "logistic":
        ybar = min(max(float(spec.s @ y), 1e-12), 1 - 1e-12)
        b = np.log(ybar / (1 - ybar))
    value = primal(spec, w, b)
    for _ in range(max_newton):
        z = X @ w + b
        g, h = _dloss(spec.loss, y, z), _d2loss(spec.loss, y, z)
        w_new, b_new = _cd_model(spec, w, b, g, h, sweeps, tol)
        step, moved = 1.0, 0.0
        while step >= 1e-10:
            w_try = w + step * (w_new - w)
            b_try = b + step * (b_new - b)
            v_try = primal(spec, w_try, b_try)
            if v_try <= value:  # a step that does not decrease is refused
                moved = max(np.max(np.abs(w_try - w), initial=0.0), abs(b_try - b))
                w, b, value = w_try, b_try, v_try
                break
            step *= 0.5
        if spec.loss == "squared" or moved <= 1e-14 * (1 + np.max(np.abs(w), initial=0.0)):
            break
    residual = kkt_residual(spec, w, b)
    assert residual <= 1e-9, f"the reference solve did not converge (KKT residual {residual:.2e})"
    return w, b, primal(spec, w, b)


def kkt_residual(spec: Spec, w, b=0.0) -> float:
    """Largest violation of the optimality conditions at ``(w, b)``, relative
    to the largest gradient entry: ``|w_j - argmin_t (g_j t + h_j(t) +
    (t - w_j)^2 / 2)|`` per coordinate (zero exactly at a solution, free
    coordinates included) and the intercept's gradient."""
    X, y = np.asarray(spec.X, float), np.asarray(spec.y, float)
    w = np.asarray(w, float)
    d = spec.s * _dloss(spec.loss, y, X @ w + float(b))
    g = X.T @ d
    l1, l2 = spec.weights
    lo, hi = spec.bounds
    u = w - g
    moved = np.clip(np.sign(u) * np.maximum(np.abs(u) - l1, 0.0) / (1 + l2), lo, hi)
    scale = max(1.0, float(np.max(np.abs(g), initial=0.0)), float(np.max(np.abs(X.T @ spec.s))))
    icpt = abs(float(np.sum(d))) if spec.fit_intercept else 0.0
    return max(float(np.max(np.abs(w - moved), initial=0.0)), icpt) / scale


def cv_curves(scores, fold_weights):
    """glmnet's cvm and cvsd from per-fold scores (folds on the first axis):
    the mean weighted by the folds' weights, and its standard error."""
    scores = np.asarray(scores, float)
    w = np.asarray(fold_weights, float) / np.sum(fold_weights)
    mean = np.tensordot(w, scores, axes=1)
    var = np.tensordot(w, (scores - mean) ** 2, axes=1)
    return mean, np.sqrt(var / (scores.shape[0] - 1))


def select(mean, se, higher_is_better: bool = False):
    """glmnet's selection over a grid of l1_ratios (rows) and decreasing alphas
    (columns): the best mean score (the first in row-major order on ties),
    then the largest alpha on the same row whose score is within one standard
    error of the best one.

    Non-finite scores are passed over (glmnet's ``na.rm``).

    Returns ``(row, column, column_1se)``.
    """
    mean, se = np.asarray(mean, float), np.asarray(se, float)
    loss = -mean if higher_is_better else mean
    best = None
    for i in range(loss.shape[0]):
        for k in range(loss.shape[1]):
            if np.isfinite(loss[i, k]) and (best is None or loss[i, k] < loss[best]):
                best = (i, k)
    i, k = best
    threshold = loss[i, k] + se[i, k]
    k1 = next(j for j in range(loss.shape[1]) if loss[i, j] <= threshold)
    return i, k, k1


def sklearn_logistic(C: float, l1_ratio: float, **options):
    """scikit-learn's elastic-net ``LogisticRegression``, spelled for the
    installed version (``penalty="elasticnet"`` before 1.8, deprecated after)."""
    import sklearn
    from sklearn.linear_model import LogisticRegression

    version = tuple(int(part) for part in sklearn.__version__.split(".")[:2])
    if version < (1, 8):
        options["penalty"] = "elasticnet"
    return LogisticRegression(C=C, l1_ratio=l1_ratio, **options)
