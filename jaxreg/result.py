"""The results of fits and paths, and their status codes."""

from __future__ import annotations

import dataclasses
import enum

import jax
import jax.numpy as jnp
from jax import Array

__all__ = ["CVResult", "FitResult", "PathResult", "Status"]


class Status(enum.IntEnum):
    """Why a solver stopped. Stored as an int32 array in :class:`FitResult`.

    Attributes:
      CONVERGED: the duality gap and the KKT residual are below tolerance.
      MAX_ITER: ``max_iter`` was reached first.
      NONFINITE: an iterate or certificate became NaN or infinite.
      INACCURATE: a closed-form solve whose certificate exceeds the tolerance
        (an ill-conditioned system in low precision).
      STALLED: the gap stopped decreasing at the dtype's resolution (below
        ``sqrt(eps)`` relative) before reaching the tolerance: the answer is as
        good as the dtype allows on this problem, but not certified to ``tol``.
      INVALID_INPUT: a hyperparameter outside its domain (a negative or NaN
        ``alpha``, ``l1_ratio`` outside [0, 1], ``lower > upper``) reached the
        solver traced, under ``jit`` or ``vmap``, where value checks cannot
        raise; eager calls raise a ValueError instead. The returned numbers
        mean nothing.
      NO_MINIMIZER: the objective has no minimizer: a logistic fit whose
        unpenalized, unbounded coefficients (every one at ``alpha = 0``) and
        intercept alone put every weighted sample on its label's side
        (separable data). The loss then falls towards 0 as they grow without
        bound; the returned point is not a solution.
    """

    CONVERGED = 0
    MAX_ITER = 1
    NONFINITE = 2
    INACCURATE = 3
    STALLED = 4
    INVALID_INPUT = 5
    NO_MINIMIZER = 6


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class FitResult:
    """A fitted model, with its optimality certificate.

    Every field is an array, so results stack under ``vmap``.

    Attributes:
      coef: coefficients on the original scale of ``X``, shape ``(p,)``.
      intercept: intercept (0 when ``fit_intercept=False``).
      n_iter: iterations run (a multiple of the check interval; 0 for closed forms).
      gap: duality gap of the solved objective at the returned point, in the
        objective's own units (see each function's docstring).
      gap_tol: the tolerance the gap was compared with (``tol`` times the
        documented scale, floored at what the dtype can resolve).
      kkt: max-abs prox-gradient residual (zero exactly at a solution), on the
        solver's internal (standardized) scale.
      objective: value of the documented objective at the returned point.
      status: a :class:`Status` code.
    """

    coef: Array
    intercept: Array
    n_iter: Array
    gap: Array
    gap_tol: Array
    kkt: Array
    objective: Array
    status: Array

    @property
    def converged(self) -> Array:
        """Boolean array: ``status == Status.CONVERGED``."""
        return self.status == Status.CONVERGED


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class PathResult:
    """Solutions along a grid of alphas (leading axis: the grid).

    Attributes:
      alphas: the grid, shape ``(n_alphas,)``.
      coef: coefficients, shape ``(n_alphas, p)`` (``(n_alphas, p, K)`` for a
        multinomial path, whose intercepts are ``(n_alphas, K)``).
      intercept, n_iter, gap, gap_tol, kkt, objective, status: per grid point,
        as in :class:`~jaxreg.FitResult`.
    """

    alphas: Array
    coef: Array
    intercept: Array
    n_iter: Array
    gap: Array
    gap_tol: Array
    kkt: Array
    objective: Array
    status: Array

    @property
    def converged(self) -> Array:
        return self.status == Status.CONVERGED

    @property
    def n_nonzero(self) -> Array:
        """Number of nonzero coefficients at each grid point (for a
        multinomial path, whose ``coef`` is ``(n_alphas, p, K)``: features
        with a nonzero coefficient for some class)."""
        nonzero = self.coef != 0
        if self.coef.ndim == self.alphas.ndim + 2:
            nonzero = jnp.any(nonzero, axis=-1)
        return jnp.sum(nonzero, axis=-1)

    @classmethod
    def from_fits(cls, alphas: Array, fits: FitResult) -> PathResult:
        """The path of ``fits`` batched along the grid ``alphas``."""
        return cls(alphas, *(getattr(fits, f.name) for f in dataclasses.fields(FitResult)))

    def fit(self, i: int) -> FitResult:
        """The :class:`~jaxreg.FitResult` at grid index ``i``."""
        return FitResult(*(getattr(self, f.name)[i] for f in dataclasses.fields(FitResult)))


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class CVResult:
    """Cross-validation curves, the selected point and the refit model.

    Shapes: ``K`` folds, ``L`` l1_ratios, ``A`` alphas.

    Attributes:
      alphas: the grid per l1_ratio, shape ``(L, A)`` (scikit-learn's ``alphas_``).
      l1_ratios: shape ``(L,)``.
      fold_scores: score of each fold at each grid point, shape ``(K, L, A)``
        (scikit-learn's ``mse_path_`` transposed to folds first).
      mean: fold-weighted mean score, shape ``(L, A)`` (glmnet's ``cvm``).
      se: its standard error, shape ``(L, A)`` (glmnet's ``cvsd``).
      n_nonzero: nonzero coefficients of the full-data path, shape ``(L, A)``
        (None with ``full_path=False``).
      best_index: ``(l, a)`` indices of the selected point.
      alpha_min: the alpha with the best mean score.
      alpha_1se: the largest alpha (same l1_ratio) whose mean score is within
        one standard error of the best (glmnet's ``lambda.1se``).
      l1_ratio_min: the l1_ratio of the best point.
      best: the full-data fit at ``(l1_ratio_min, alpha_min)``.
      best_1se: the full-data fit at ``(l1_ratio_min, alpha_1se)``.
      path: the full-data paths, one per l1_ratio (leading axes ``(L, A)``;
        None with ``full_path=False``).
      fold_status: solver status per fold and grid point, ``(K, L, A)``.
    """

    alphas: Array
    l1_ratios: Array
    fold_scores: Array
    mean: Array
    se: Array
    n_nonzero: Array | None
    best_index: Array
    alpha_min: Array
    alpha_1se: Array
    l1_ratio_min: Array
    best: FitResult
    best_1se: FitResult
    path: PathResult | None
    fold_status: Array
    scoring: str = dataclasses.field(metadata=dict(static=True), default="mse")
