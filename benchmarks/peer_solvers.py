"""How each peer library runs each job of ``bench_peers.py``.

A peer either does a job (an :class:`Attempt`: a ladder of tolerance settings,
tightest last, and a function that turns its raw output into an
:class:`Answer`) or does not (a :class:`Skip` with the reason). A library that
cannot be imported becomes a ``Skip`` of kind ``"unavailable"`` with the
import error; nothing here raises on a missing peer.

The harness runs a ladder from its first setting and stops at the first one
whose measured suboptimality meets the bound (or when a run exceeds the time
cap), so each peer is timed at the loosest setting that reaches the accuracy
asked for, and the table says which setting that was.
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

JOBS = ("fit", "path", "cv", "enet-cv", "ridge-cv", "logistic-path", "logistic-cv")
CD_MAX_ITER = 1_000_000


class CapExceeded(Exception):
    """A run stopped by the time cap (only runs that can be interrupted raise it)."""

    def __init__(self, elapsed: float):
        super().__init__(f"stopped after {elapsed:.1f} s")
        self.elapsed = elapsed


@dataclasses.dataclass
class Answer:
    """A solver's result in a common form; fields a job does not use stay None.

    Attributes:
      coefs: coefficients per grid point, ``(A, p)``; for CV jobs the full-data
        path(s), ``(L, A, p)``, when the solver exposes them.
      intercepts: per grid point (logistic), ``(A,)``.
      best: for CV jobs, ``(l, a, coef)``: grid indices of the selected point
        and its full-data coefficients.
      best_intercept: the intercept of that full-data fit (logistic CV).
      curve: for CV jobs, the mean held-out score ``(L, A)``: mean squared
        error, or binomial deviance (twice the mean log-loss) for logistic CV.
      info: free text for the notes column (iterations, statuses, ...).
      certified_folds: jaxreg CV only: whether every fold fit reports convergence.
    """

    coefs: np.ndarray | None = None
    intercepts: np.ndarray | None = None
    best: tuple[int, int, np.ndarray] | None = None
    best_intercept: float = 0.0
    curve: np.ndarray | None = None
    info: str = ""
    certified_folds: str | None = None


@dataclasses.dataclass
class Attempt:
    """One way a peer does a job: ``ladder`` of ``(setting, run)``, loosest first."""

    solver: str
    ladder: Sequence[tuple[str, Callable[[], Any]]]
    extract: Callable[[Any], Answer]
    note: str = ""
    compiled: bool = False  # compiles on its first call: always give it a warm call


@dataclasses.dataclass
class Skip:
    """A peer that cannot run a job; ``kind`` is ``"unavailable"``, ``"n/a"`` or ``"broken"``."""

    solver: str
    kind: str
    reason: str


@dataclasses.dataclass
class JobData:
    """Everything a solver needs for one job on one problem, in one dtype.

    ``X`` is dense (Fortran order) or CSC for the CD peers; grids are float64.
    """

    job: str
    X: Any
    y: np.ndarray
    dtype: str
    grid: np.ndarray  # (A,): fit (A = 1), path, cv, logistic jobs; ridge alphas for ridge-cv
    grids: np.ndarray | None  # (L, A) for enet-cv
    l1_ratios: Sequence[float]
    foldid: np.ndarray
    seed: int
    cap: float
    lipschitz: float  # of the smooth part, for jaxopt's fixed step
    saga_max_iter: int = 10_000  # epochs per alpha: saga cannot be stopped by the time cap

    @property
    def n(self) -> int:
        return self.X.shape[0]


def _quiet(fn: Callable[[], Any]) -> Callable[[], Any]:
    """Run ``fn`` with the peers' convergence warnings silenced (accuracy is measured)."""

    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn()

    return run


def _fmt(x: float) -> str:
    return f"{x:.0e}".replace("e-0", "e-")


def _ladder(fn: Callable[[float], Any], values, knob: str = "tol") -> list:
    """``(setting, run)`` pairs of a tolerance ladder: ``fn`` at each value, quietly."""
    return [(f"{knob} {_fmt(t)}", _quiet(lambda t=t: fn(t))) for t in values]


def _folds_split(foldid: np.ndarray):
    from sklearn.model_selection import PredefinedSplit

    return PredefinedSplit(foldid)


def _deviances(X, y: np.ndarray, coefs: np.ndarray, intercepts: np.ndarray) -> np.ndarray:
    """Binomial deviance (twice the mean log-loss) of each ``(coef, intercept)`` on ``(X, y)``."""
    eta = np.asarray(X @ coefs.T) + intercepts
    return 2.0 * np.mean(np.logaddexp(0.0, eta) - y[:, None] * eta, axis=0)


def _padded(values: np.ndarray, length: int) -> np.ndarray:
    """``values`` along its first axis, NaN-padded to ``length`` (a path that ended early)."""
    missing = length - values.shape[0]
    if missing <= 0:
        return values
    return np.concatenate([values, np.full((missing,) + values.shape[1:], np.nan)])


# ----------------------------------------------------------------------------
# scikit-learn
# ----------------------------------------------------------------------------

# liblinear's ladder on the logistic jobs, (tol, intercept_scaling): it penalizes
# the intercept as a column of intercept_scaling, so the column grows as the
# tolerance tightens until the penalty on the intercept stops mattering.
LIBLINEAR_LADDER = ((1e-6, 100.0), (1e-8, 1e3), (1e-10, 1e4))
LIBLINEAR_NOTE = "liblinear penalizes the intercept (as a column of intercept_scaling)"


def _sklearn(job: JobData) -> list[Attempt | Skip]:
    from sklearn.linear_model import (
        ElasticNetCV,
        Lasso,
        LassoCV,
        LogisticRegression,
        RidgeCV,
        lasso_path,
    )

    X, y, grid = job.X, job.y, job.grid
    tols = (5e-7, 5e-9, 5e-11)

    if job.job == "fit":

        def fit(tol):
            return Lasso(alpha=grid[0], fit_intercept=False, tol=tol, max_iter=CD_MAX_ITER).fit(
                X, y
            )

        return [
            Attempt(
                "scikit-learn Lasso",
                _ladder(fit, tols),
                lambda m: Answer(coefs=m.coef_[None], info=f"{m.n_iter_} epochs"),
            )
        ]
    if job.job == "path":
        return [
            Attempt(
                "scikit-learn lasso_path",
                [
                    (
                        f"tol {_fmt(t)}",
                        _quiet(
                            lambda t=t: lasso_path(X, y, alphas=grid, tol=t, max_iter=CD_MAX_ITER)
                        ),
                    )
                    for t in tols
                ],
                lambda out: Answer(coefs=out[1].T),
            )
        ]
    if job.job == "cv":

        def cv(tol):
            return LassoCV(
                alphas=grid,
                cv=_folds_split(job.foldid),
                fit_intercept=False,
                tol=tol,
                max_iter=CD_MAX_ITER,
            ).fit(X, y)

        def extract(m):
            a = int(np.argmin(np.abs(grid - m.alpha_)))
            return Answer(best=(0, a, m.coef_), curve=m.mse_path_.mean(axis=-1)[None])

        return [
            Attempt(
                "scikit-learn LassoCV",
                _ladder(cv, tols),
                extract,
            )
        ]
    if job.job == "enet-cv":

        def enet_cv(tol):
            return ElasticNetCV(
                l1_ratio=list(job.l1_ratios),
                alphas=job.grids.shape[1],
                eps=float(job.grids[0, -1] / job.grids[0, 0]),
                cv=_folds_split(job.foldid),
                fit_intercept=False,
                tol=tol,
                max_iter=CD_MAX_ITER,
            ).fit(X, y)

        def extract(m):
            # The grid is scikit-learn's own (computed in the input's dtype): check it is ours.
            if not np.allclose(m.alphas_, job.grids, rtol=1e-5):
                raise RuntimeError("ElasticNetCV built a different alpha grid")
            li = list(job.l1_ratios).index(m.l1_ratio_)
            a = int(np.argmin(np.abs(job.grids[li] - m.alpha_)))
            return Answer(best=(li, a, m.coef_), curve=m.mse_path_.mean(axis=-1))

        return [
            Attempt(
                "scikit-learn ElasticNetCV",
                _ladder(enet_cv, tols),
                extract,
            )
        ]
    if job.job == "ridge-cv":

        def ridge_cv():
            return RidgeCV(alphas=grid, fit_intercept=False, store_cv_results=True).fit(X, y)

        def extract(m):
            a = int(np.argmin(np.abs(grid - m.alpha_)))
            return Answer(best=(0, a, m.coef_), curve=m.cv_results_.mean(axis=0)[None])

        return [
            Attempt(
                "scikit-learn RidgeCV",
                [("leave-one-out (exact)", ridge_cv)],
                extract,
                note="efficient leave-one-out, as jaxreg's cv='loo'",
            )
        ]
    if job.job == "logistic-cv":
        return _sklearn_logistic_cv(job) if job.dtype == "float64" else []
    # logistic-path
    n = job.n
    out: list[Attempt | Skip] = []

    def logistic(solver, tol, scaling=1.0):
        model = LogisticRegression(
            C=1.0,
            l1_ratio=1.0,
            solver=solver,
            tol=tol,
            max_iter=100_000 if solver == "liblinear" else job.saga_max_iter,
            warm_start=True,
            intercept_scaling=scaling,
        )
        coefs, intercepts = [], []
        for a in grid:
            model.set_params(C=1.0 / (n * a))
            model.fit(X, y)
            coefs.append(model.coef_[0].copy())
            intercepts.append(float(model.intercept_[0]))
        return np.array(coefs), np.array(intercepts)

    def extract(out):
        return Answer(coefs=out[0], intercepts=out[1])

    if job.dtype == "float64":
        out.append(
            Attempt(
                "scikit-learn LogisticRegression liblinear",
                [
                    (
                        f"tol {_fmt(t)}, intercept_scaling {s:g}",
                        _quiet(lambda t=t, s=s: logistic("liblinear", t, s)),
                    )
                    for t, s in LIBLINEAR_LADDER
                ],
                extract,
                note=f"C = 1 / (n alpha); {LIBLINEAR_NOTE} and ignores warm_start",
            )
        )
    out.append(
        Attempt(
            "scikit-learn LogisticRegression saga",
            [(f"tol {_fmt(t)}", _quiet(lambda t=t: logistic("saga", t))) for t in (1e-6, 1e-8)],
            extract,
            note=f"C = 1 / (n alpha), warm_start, max_iter {job.saga_max_iter} epochs per alpha",
        )
    )
    return out


def _sklearn_logistic_cv(job: JobData) -> list[Attempt | Skip]:
    """``LogisticRegressionCV`` (liblinear) on the job's folds, then a refit at the selected alpha.

    ``C`` multiplies a summed log-loss: one ``C`` is ``alpha`` on a training fold of
    ``n_k`` rows when ``C = 1 / (n_k alpha)`` but another alpha on the full data. So
    the folds get ``C = 1 / (n_k alpha)``, the selection is made here on the mean
    deviance, and the refit at ``C = 1 / (n alpha)`` is a ``LogisticRegression``
    (``refit=True`` would refit at the fold's ``C``, off the job's grid).
    """
    from sklearn.linear_model import LogisticRegression, LogisticRegressionCV

    X, y, grid, n = job.X, job.y, job.grid, job.n
    held = np.bincount(job.foldid)
    n_train = float(np.mean(n - held))
    Cs = 1.0 / (n_train * grid)

    def run(tol, scaling):
        common = dict(solver="liblinear", tol=tol, intercept_scaling=scaling, max_iter=100_000)
        cv = LogisticRegressionCV(
            Cs=Cs,
            l1_ratios=(1.0,),
            cv=_folds_split(job.foldid),
            scoring="neg_log_loss",
            refit=False,
            use_legacy_attributes=False,
            **common,
        ).fit(X, y)
        if not np.allclose(cv.Cs_, Cs):
            raise RuntimeError("LogisticRegressionCV reordered the Cs")
        # scores_: (folds, l1_ratios, Cs) of the negated mean log-loss.
        curve = -2.0 * np.average(cv.scores_[:, 0, :], axis=0, weights=held)
        a = int(np.argmin(curve))
        refit = LogisticRegression(C=1.0 / (n * grid[a]), l1_ratio=1.0, **common).fit(X, y)
        return a, refit, curve

    def extract(out):
        a, model, curve = out
        return Answer(
            best=(0, a, model.coef_[0].copy()),
            best_intercept=float(model.intercept_[0]),
            curve=curve[None],
        )

    uneven = "" if np.all(held == held[0]) else f" (folds differ by a row: n_k = {n_train:g})"
    return [
        Attempt(
            "scikit-learn LogisticRegressionCV liblinear, refit",
            [
                (
                    f"tol {_fmt(t)}, intercept_scaling {s:g}",
                    _quiet(lambda t=t, s=s: run(t, s)),
                )
                for t, s in LIBLINEAR_LADDER
            ],
            extract,
            note=f"same folds (PredefinedSplit); C = 1 / (n_k alpha) on the folds{uneven}, "
            "selection on the mean deviance, then a LogisticRegression refit at "
            f"C = 1 / (n alpha); {LIBLINEAR_NOTE}",
        )
    ]


# ----------------------------------------------------------------------------
# glmnet (python-glmnet)
# ----------------------------------------------------------------------------


STD_NOTE = (
    "y passed divided by its std, lambda and alpha mapped so that glmnet's objective is the "
    "job's (glmnet rescales y itself otherwise, which changes the elastic net)"
)


def _glmnet(job: JobData) -> list[Attempt | Skip]:
    import glmnet

    if job.dtype != "float64":
        return []
    X, y, grid = job.X, job.y, job.grid
    X = X.tocsr() if sp.issparse(X) else np.ascontiguousarray(X)
    threshes = (1e-7, 1e-9, 1e-11, 1e-13)
    # glmnet scales a gaussian y to unit variance before fitting, which changes the
    # elastic-net objective (its L1 and L2 parts scale differently). Given y / s, the
    # job's objective at (alpha, l1_ratio) is glmnet's at (lam, rho) below, w = s b.
    scale = float(np.std(y))
    y_unit = y / scale

    def glmnet_params(l1_ratio, lambdas):
        l1, l2 = np.asarray(lambdas) * l1_ratio / scale, np.asarray(lambdas) * (1 - l1_ratio)
        lam = l1 + l2
        return float(l1[0] / lam[0]), lam

    def elastic_net(l1_ratio, lambdas, thresh, n_splits=0):
        rho, lam = glmnet_params(l1_ratio, lambdas)
        model = glmnet.ElasticNet(
            alpha=rho,
            lambda_path=lam,
            standardize=False,
            fit_intercept=False,
            tol=thresh,
            max_iter=CD_MAX_ITER,
            n_splits=n_splits,
            scoring="mean_squared_error",  # python-glmnet's name; scores are negated
        )
        if n_splits:
            return model.fit(X, y_unit, groups=job.foldid)
        return model.fit(X, y_unit)

    def full_path(model, lambdas):
        coefs = np.asarray(model.coef_path_).T * scale
        if coefs.shape[0] < len(lambdas):
            # glmnet ends its path early once the fit saturates: score the rest as missing.
            pad = np.full((len(lambdas) - coefs.shape[0], coefs.shape[1]), np.nan)
            coefs = np.vstack([coefs, pad])
        return coefs

    def ladder(make):
        return _ladder(make, threshes, "thresh")

    if job.job in ("fit", "path"):
        name = "glmnet ElasticNet" + (" (one lambda)" if job.job == "fit" else "")
        return [
            Attempt(
                name,
                ladder(lambda t: elastic_net(1.0, grid, t)),
                lambda m: Answer(coefs=full_path(m, grid)),
                note=STD_NOTE,
            )
        ]
    if job.job == "cv":

        def extract(m):
            coefs = full_path(m, grid)
            curve = -np.asarray(m.cv_mean_score_) * scale**2
            curve = np.concatenate([curve, np.full(len(grid) - curve.shape[0], np.nan)])
            a = int(m.lambda_max_inx_)
            return Answer(coefs=coefs[None], best=(0, a, coefs[a]), curve=curve[None])

        return [
            Attempt(
                "glmnet ElasticNet, 5 splits",
                ladder(lambda t: elastic_net(1.0, grid, t, n_splits=5)),
                extract,
                note="same folds (groups=foldid); " + STD_NOTE,
            )
        ]
    if job.job == "enet-cv":

        def run(thresh):
            return [
                elastic_net(r, lambdas, thresh, n_splits=5)
                for r, lambdas in zip(job.l1_ratios, job.grids, strict=True)
            ]

        def extract(models):
            coefs = np.stack([full_path(m, g) for m, g in zip(models, job.grids, strict=True)])
            curve = np.stack([-np.asarray(m.cv_mean_score_) * scale**2 for m in models])
            li, a = np.unravel_index(int(np.argmin(curve)), curve.shape)
            return Answer(coefs=coefs, best=(int(li), int(a), coefs[li, a]), curve=curve)

        return [
            Attempt(
                "glmnet ElasticNet, 5 splits per l1_ratio",
                ladder(run),
                extract,
                note="one glmnet CV per l1_ratio, same folds (groups=foldid); " + STD_NOTE,
            )
        ]
    if job.job == "ridge-cv":
        return [Skip("glmnet", "n/a", "no leave-one-out CV (glmnet cross-validates K folds)")]

    def logit(thresh, n_splits=0):
        model = glmnet.LogitNet(
            alpha=1.0,
            lambda_path=grid,
            standardize=False,
            fit_intercept=True,
            tol=thresh,
            max_iter=CD_MAX_ITER,
            n_splits=n_splits,
            scoring="log_loss",  # scores are negated
        )
        if n_splits:
            return model.fit(X, y, groups=job.foldid)
        return model.fit(X, y)

    def extract_logit(m):
        # glmnet ends its path early once the fit saturates: the rest is scored as missing.
        coefs = _padded(np.asarray(m.coef_path_)[0].T, len(grid))
        intercepts = _padded(np.asarray(m.intercept_path_).reshape(-1), len(grid))
        return Answer(coefs=coefs, intercepts=intercepts)

    if job.job == "logistic-path":
        return [Attempt("glmnet LogitNet", ladder(logit), extract_logit)]

    def extract_logit_cv(m):
        path = extract_logit(m)
        curve = _padded(-2.0 * np.asarray(m.cv_mean_score_), len(grid))
        a = int(m.lambda_max_inx_)
        return Answer(
            coefs=path.coefs[None],
            intercepts=path.intercepts[None],
            best=(0, a, path.coefs[a]),
            best_intercept=float(path.intercepts[a]),
            curve=curve[None],
        )

    return [
        Attempt(
            "glmnet LogitNet, 5 splits",
            ladder(lambda t: logit(t, n_splits=5)),
            extract_logit_cv,
            note="same folds (groups=foldid); scoring log_loss, reported as deviance "
            "(twice the mean log-loss); unweighted mean over the folds",
        )
    ]


# ----------------------------------------------------------------------------
# celer
# ----------------------------------------------------------------------------


def _celer(job: JobData) -> list[Attempt | Skip]:
    import celer

    if job.dtype != "float64":
        return []
    X, y, grid = job.X, job.y, job.grid
    tols = (1e-6, 1e-8, 1e-10)

    if job.job == "fit":

        def fit(tol):
            return celer.Lasso(alpha=grid[0], fit_intercept=False, tol=tol).fit(X, y)

        return [
            Attempt(
                "celer Lasso",
                _ladder(fit, tols),
                lambda m: Answer(coefs=m.coef_[None]),
            )
        ]
    if job.job == "path":
        return [
            Attempt(
                "celer celer_path",
                [
                    (
                        f"tol {_fmt(t)}",
                        _quiet(lambda t=t: celer.celer_path(X, y, "lasso", alphas=grid, tol=t)),
                    )
                    for t in tols
                ],
                lambda out: Answer(coefs=np.asarray(out[1]).T),
            )
        ]
    if job.job == "cv":

        def cv(tol):
            return celer.LassoCV(
                alphas=grid, cv=_folds_split(job.foldid), fit_intercept=False, tol=tol
            ).fit(X, y)

        def extract(m):
            a = int(np.argmin(np.abs(grid - m.alpha_)))
            return Answer(best=(0, a, m.coef_), curve=m.mse_path_.mean(axis=-1)[None])

        return [
            Attempt(
                "celer LassoCV",
                _ladder(cv, tols),
                extract,
            )
        ]
    if job.job == "enet-cv":
        return [Skip("celer", "n/a", "no elastic-net cross-validation estimator")]
    if job.job == "ridge-cv":
        return [Skip("celer", "n/a", "no ridge")]
    return [
        Skip(
            "celer",
            "n/a",
            "celer_path('logreg') fits no intercept and rejects a zero penalty weight "
            "for a column of ones",
        )
    ]


# ----------------------------------------------------------------------------
# skglm
# ----------------------------------------------------------------------------


def _skglm(job: JobData) -> list[Attempt | Skip]:
    import skglm
    from skglm.datafits import Quadratic
    from skglm.penalties import L1
    from skglm.solvers import AndersonCD

    if job.dtype != "float64":
        return []
    X, y, grid = job.X, job.y, job.grid
    tols = (1e-6, 1e-8, 1e-10)

    if job.job == "fit":

        def fit(tol):
            return skglm.Lasso(alpha=grid[0], fit_intercept=False, tol=tol).fit(X, y)

        return [
            Attempt(
                "skglm Lasso",
                _ladder(fit, tols),
                lambda m: Answer(coefs=np.asarray(m.coef_)[None]),
                note="the first call includes numba compilation",
                compiled=True,
            )
        ]
    if job.job == "path":

        def path(tol):
            model = skglm.Lasso(alpha=grid[0], fit_intercept=False, tol=tol, warm_start=True)
            coefs = []
            for a in grid:
                model.alpha = a
                coefs.append(np.array(model.fit(X, y).coef_))
            return np.array(coefs)

        return [
            Attempt(
                "skglm Lasso, warm-started loop",
                _ladder(path, tols),
                lambda coefs: Answer(coefs=coefs),
                note="the first call includes numba compilation",
                compiled=True,
            )
        ]
    if job.job == "cv":

        def cv(tol):
            return skglm.GeneralizedLinearEstimatorCV(
                Quadratic(),
                L1(1.0),
                AndersonCD(fit_intercept=False, tol=tol, warm_start=True),
                alphas=grid,
                cv=5,
                random_state=job.seed,
            ).fit(X, y)

        def extract(m):
            a = int(np.argmin(np.abs(grid - m.alpha_)))
            scores = np.asarray(m.scores_path_).reshape(len(grid), -1)
            return Answer(best=(0, a, np.asarray(m.coef_)), curve=-scores.mean(axis=-1)[None])

        return [
            Attempt(
                "skglm GeneralizedLinearEstimatorCV",
                _ladder(cv, tols),
                extract,
                note="its own KFold(5, shuffle, seed): the harness's folds are the same split",
                compiled=True,
            )
        ]
    if job.job == "enet-cv":
        return [
            Skip(
                "skglm",
                "n/a",
                "GeneralizedLinearEstimatorCV shares one alpha grid across l1_ratios "
                "(the job uses one grid per l1_ratio)",
            )
        ]
    if job.job == "ridge-cv":
        return [Skip("skglm", "n/a", "no leave-one-out ridge CV")]
    if job.job == "logistic-cv":
        return _skglm_logistic_cv(job, tols)
    return [
        Attempt(
            "skglm ProxNewton, warm-started loop",
            _ladder(lambda t: _skglm_logistic_path(X, y, grid, t), tols),
            lambda out: Answer(coefs=out[0], intercepts=out[1]),
            note="the first call includes numba compilation",
            compiled=True,
        )
    ]


def _skglm_logistic_path(X, y, grid, tol) -> tuple[np.ndarray, np.ndarray]:
    """L1-logistic fits along ``grid`` by skglm's ProxNewton, each warm-started
    from the previous one; the coefficients ``(A, p)`` and intercepts ``(A,)``."""
    import skglm
    from skglm.datafits import Logistic
    from skglm.penalties import L1
    from skglm.solvers import ProxNewton

    model = skglm.GeneralizedLinearEstimator(
        Logistic(), L1(grid[0]), ProxNewton(fit_intercept=True, tol=tol, warm_start=True)
    )
    coefs, intercepts = [], []
    for a in grid:
        model.penalty = L1(a)
        model.fit(X, y)
        coefs.append(np.array(model.coef_).ravel())
        intercepts.append(float(np.ravel(model.intercept_)[0]))
    return np.array(coefs), np.array(intercepts)


def _skglm_logistic_cv(job: JobData, tols: Sequence[float]) -> list[Attempt | Skip]:
    """A warm-started ProxNewton path per fold, scored by deviance, then a refit.

    skglm's ``GeneralizedLinearEstimatorCV`` draws its own ``StratifiedKFold``
    split for a logistic datafit and scores accuracy, so the job's folds and
    score are run here, each fold by the logistic-path job's ProxNewton loop.
    """
    X, y, grid, foldid = job.X, job.y, job.grid, job.foldid
    held = np.bincount(foldid)

    def run(tol):
        scores = np.empty((held.size, grid.size))
        for k in range(held.size):
            train, test = foldid != k, foldid == k
            coefs, intercepts = _skglm_logistic_path(X[train], y[train], grid, tol)
            scores[k] = _deviances(X[test], y[test], coefs, intercepts)
        curve = np.average(scores, axis=0, weights=held)
        a = int(np.argmin(curve))
        coef, intercept = _skglm_logistic_path(X, y, grid[a : a + 1], tol)
        return a, coef[0], float(intercept[0]), curve

    def extract(out):
        a, coef, intercept, curve = out
        return Answer(best=(0, a, coef), best_intercept=intercept, curve=curve[None])

    return [
        Attempt(
            "skglm ProxNewton, warm-started loop per fold, refit",
            _ladder(run, tols),
            extract,
            note="same folds; GeneralizedLinearEstimatorCV is not used: for a logistic "
            "datafit it draws its own stratified split and scores accuracy; the refit at the "
            "selected alpha starts from zero; the first call includes numba compilation",
            compiled=True,
        )
    ]


# ----------------------------------------------------------------------------
# jaxopt
# ----------------------------------------------------------------------------


def _jaxopt(job: JobData) -> list[Attempt | Skip]:
    import jax
    import jax.numpy as jnp
    from jax.experimental import sparse as jsparse
    from jaxopt import ProximalGradient
    from jaxopt.prox import prox_lasso

    if job.job not in ("fit", "path", "logistic-path"):
        return [Skip("jaxopt", "n/a", "no cross-validation")]
    dtype = jnp.float32 if job.dtype == "float32" else jnp.float64
    if sp.issparse(job.X):
        Xj = jsparse.BCOO.from_scipy_sparse(job.X.astype(dtype))
    else:
        Xj = jnp.asarray(job.X, dtype)
    yj = jnp.asarray(job.y, dtype)
    alphas = jnp.asarray(job.grid, dtype)
    n, p = job.X.shape
    logistic = job.job == "logistic-path"

    if logistic:

        def fun(params, X, y):
            w, b = params
            eta = X @ w + b
            return jnp.mean(jax.nn.softplus(eta) - y * eta)

        def prox(params, l1reg, scaling=1.0):
            w, b = params
            return prox_lasso(w, l1reg, scaling), b

        init = (jnp.zeros((p,), dtype), jnp.zeros((), dtype))
    else:

        def fun(w, X, y):
            r = y - X @ w
            return 0.5 * jnp.mean(r * r)

        prox = prox_lasso
        init = jnp.zeros((p,), dtype)

    chunk = 200

    def ladder_run(tol):
        solver = ProximalGradient(
            fun=fun, prox=prox, stepsize=1.0 / job.lipschitz, tol=tol, maxiter=chunk, jit=True
        )

        @jax.jit
        def start(alphas):
            return jax.vmap(lambda a: solver.init_state(init, a, Xj, yj))(alphas)

        @jax.jit
        def advance(params, state, alphas):
            def body(_, carry):
                params, state = carry
                step = jax.vmap(lambda w, s, a: solver.update(w, s, a, Xj, yj))(
                    params, state, alphas
                )
                return step.params, step.state

            return jax.lax.fori_loop(0, chunk, body, (params, state))

        def run():
            t0 = time.perf_counter()
            params = jax.tree.map(lambda x: jnp.broadcast_to(x, alphas.shape + x.shape), init)
            state = start(alphas)
            iters = 0
            while True:
                params, state = jax.block_until_ready(advance(params, state, alphas))
                iters += chunk
                if float(jnp.max(state.error)) <= tol:
                    break
                if time.perf_counter() - t0 > job.cap:
                    raise CapExceeded(time.perf_counter() - t0)
            return params, iters

        return run

    def extract(out):
        params, iters = out
        if logistic:
            w, b = params
            return Answer(
                coefs=np.asarray(w, np.float64),
                intercepts=np.asarray(b, np.float64),
                info=f"{iters} iterations",
            )
        return Answer(coefs=np.asarray(params, np.float64), info=f"{iters} iterations")

    tols = (1e-6, 1e-8, 1e-10) if job.dtype == "float64" else (1e-5, 1e-6)
    return [
        Attempt(
            "jaxopt ProximalGradient, vmap over alphas",
            [(f"tol {_fmt(t)}", ladder_run(t)) for t in tols],
            extract,
            note=f"FISTA, fixed step 1/L, cold starts; checked every {chunk} iterations "
            "against the time cap",
            compiled=True,
        )
    ]


# ----------------------------------------------------------------------------
# Registry
# ----------------------------------------------------------------------------

PEERS: dict[str, Callable[[JobData], list[Attempt | Skip]]] = {
    "scikit-learn": _sklearn,
    "glmnet": _glmnet,
    "celer": _celer,
    "skglm": _skglm,
    "jaxopt": _jaxopt,
}

# Import names and distribution names, for the availability check and the version list.
DISTRIBUTIONS = {
    "scikit-learn": ("sklearn", "scikit-learn"),
    "glmnet": ("glmnet", "python-glmnet"),
    "celer": ("celer", "celer"),
    "skglm": ("skglm", "skglm"),
    "jaxopt": ("jaxopt", "jaxopt"),
}


def availability(peer: str) -> str | None:
    """None when the peer imports, else the reason it does not."""
    import importlib

    module, _ = DISTRIBUTIONS[peer]
    try:
        importlib.import_module(module)
    except Exception as exc:  # an ImportError, or a broken binary dependency
        return f"{type(exc).__name__}: {exc}".splitlines()[0]
    return None


def attempts(peer: str, job: JobData) -> list[Attempt | Skip]:
    """The peer's attempts at ``job``; a Skip if it cannot be imported or set up."""
    reason = availability(peer)
    if reason is not None:
        return [Skip(peer, "unavailable", reason)]
    try:
        return PEERS[peer](job)
    except Exception as exc:
        return [Skip(peer, "broken", f"{type(exc).__name__}: {exc}".splitlines()[0])]
