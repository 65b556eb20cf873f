"""The result pytree returned by every solver, and its status codes."""

from __future__ import annotations

import dataclasses
import enum

import jax
from jax import Array

__all__ = ["FitResult", "Status"]


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
    """

    CONVERGED = 0
    MAX_ITER = 1
    NONFINITE = 2
    INACCURATE = 3
    STALLED = 4


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
