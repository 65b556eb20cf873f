"""The engine's two arguments: one static spec and one traced set of hyperparameters.

Every compiled entry point takes a :class:`Spec` as its single static
argument and a :class:`Hyper` among its traced ones. The spec holds what
changes the program (the datafit, the intercept, standardization, Gram mode,
the solver and its options, the differentiation mode, the path and CV
strategy); a new value compiles a new program. The hyperparameters hold what
only changes numbers (``alpha``, ``l1_ratio``, the weights, penalty factors,
bounds, ``tol``, ``max_iter``, ``eps``); a new value never recompiles, and
``vmap`` and ``grad`` reach each of them.

The public functions build both once, from their keyword arguments, after
validation; the layers below pass the two objects on instead of restating the
keyword lists.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import numpy as np
from jax import Array

from jaxreg._validation import as_array
from jaxreg.datafits import Logistic, Multinomial, Quadratic

# The public loss names and the datafit classes behind them: the only place
# where a loss is chosen by its name.
DATAFITS = {"squared": Quadratic, "logistic": Logistic, "multinomial": Multinomial}


# The datafit protocol (see :mod:`jaxreg.datafits`): what the setup asks of
# the class, and what the solvers and certificates ask of an instance.
DATAFIT_CLASS_ATTRIBUTES = ("null_model", "build", "pointwise", "check_targets", "tol_floor_eps")
DATAFIT_ATTRIBUTES = (
    "forward",
    "value_and_grad_at",
    "grad_at",
    "value_and_grad",
    "fenchel_young",
    "lipschitz",
    "iterates_intercept",
)


def check_datafit(datafit) -> None:
    """Raise a ``TypeError`` naming what ``datafit`` (a class) lacks of the protocol."""
    if not isinstance(datafit, type):
        raise TypeError(f"datafit must be a datafit class, got {datafit!r}")
    missing = [a for a in DATAFIT_CLASS_ATTRIBUTES + DATAFIT_ATTRIBUTES if not hasattr(datafit, a)]
    if missing:
        raise TypeError(
            f"datafit {datafit.__name__} lacks {', '.join(missing)} (see jaxreg.datafits)"
        )


def datafit_of(loss: str):
    """The datafit class of a public loss name (validated)."""
    if not isinstance(loss, str) or loss not in DATAFITS:
        raise ValueError(f"loss must be one of {tuple(DATAFITS)}, got {loss!r}")
    return DATAFITS[loss]


@dataclasses.dataclass(frozen=True)
class Spec:
    """Static choices of a fit, a path or a cross-validation (hashable).

    Attributes:
      datafit: the datafit class (see the protocol in :mod:`jaxreg.datafits`).
      fit_intercept: fit an unpenalized intercept.
      standardize: solve on columns scaled to unit weighted standard deviation.
      use_gram: solve on the Gram matrix (datafits with ``from_gram`` only).
      accelerate: FISTA (True) or ISTA.
      check_every: iterations between two certificates.
      unrolled_blocks: ``None`` for implicit differentiation, else the number
        of check blocks a differentiable unrolled solve runs.
      ridge_solver: the closed form of a ridge fit (``"cholesky"``, ``"dual"``,
        ``"svd"`` or ``"cg"``).
      working_set: a single fit runs on working sets (proximal Newton for
        datafits with ``second_order``, coordinate descent for the squared
        loss) instead of FISTA.
      strategy: path strategy, ``"vmap"``, ``"warm"`` or ``"working_set"``.
      chunk_size: grid points per chunk of the warm strategy.
      n_alphas: size of a default grid.
      null_fit: whether ``alpha_max`` must fit the null model (some feature
        may be unpenalized) or may take the cold start.
      strong: certify the Gram matrices' strong convexity (``"portable"``:
        without LAPACK calls).
      scoring: cross-validation score.
      full_path: whether cross-validation keeps the full data's path.
      mesh: a device mesh to shard cross-validation over, or None.
      free: how many coordinates may be free (unpenalized and unbounded: a
        zero penalty factor, or every one at ``alpha = 0``); where any may,
        fits refit and certify the free block (see :mod:`jaxreg._free`).
      groups: the group of each feature, integers ``0..G-1``, for a group
        penalty (:class:`~jaxreg.penalties.GroupPenalty`); None for the
        elastic net.
    """

    datafit: Any = Quadratic
    fit_intercept: bool = True
    standardize: bool = False
    use_gram: bool = False
    accelerate: bool = True
    check_every: int = 10
    unrolled_blocks: int | None = None
    ridge_solver: str = "cholesky"
    working_set: bool = False
    strategy: str = "warm"
    chunk_size: int = 4
    n_alphas: int = 100
    null_fit: bool = True
    strong: bool | str = False
    scoring: str = "mse"
    full_path: bool = True
    mesh: Any = None
    free: int = 0
    groups: tuple | None = None

    @property
    def coordinate_descent(self) -> bool:
        """Whether a path or CV with this spec runs coordinate descent (the
        working-set strategy on a datafit that supports it, in design mode)."""
        return (
            self.strategy == "working_set"
            and not self.use_gram
            and getattr(self.datafit, "coordinate_descent", False)
        )


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Hyper:
    """Traced hyperparameters of a fit (every leaf an array).

    ``alpha`` and ``l1_ratio`` may be any shape a caller vmaps over;
    ``sample_weight`` has shape ``(n,)``, ``penalty_factor``, ``lower`` and
    ``upper`` shape ``(p,)``; ``tol`` and ``eps`` are scalars of the data's
    dtype and ``max_iter`` an int32 scalar. ``col_scale`` (shape ``(p,)``)
    holds the powers of two the engine's X was divided by (ones but for an
    extreme design, see :mod:`jaxreg._rescale`): ``lower``, ``upper`` and the
    penalty stay on the caller's scale, and results are mapped back to it.
    """

    alpha: Array
    l1_ratio: Array
    sample_weight: Array
    penalty_factor: Array
    lower: Array
    upper: Array
    tol: Array
    max_iter: Array
    eps: Array
    col_scale: Array

    def replace(self, **changes) -> Hyper:
        return dataclasses.replace(self, **changes)


def make_hyper(inputs, alpha=0.0, l1_ratio=1.0, eps=1e-3) -> Hyper:
    """Hyperparameters from validated inputs (see :func:`jaxreg._validation.inputs`)."""
    dtype = inputs.dtype
    return Hyper(
        alpha=as_array(alpha, dtype),
        l1_ratio=as_array(l1_ratio, dtype),
        sample_weight=inputs.sample_weight,
        penalty_factor=inputs.penalty_factor,
        lower=inputs.lower,
        upper=inputs.upper,
        tol=inputs.tol,
        max_iter=as_array(inputs.max_iter, np.int32),
        eps=as_array(eps, dtype),
        col_scale=(
            as_array(np.ones(inputs.lower.shape), dtype)
            if inputs.col_scale is None
            else inputs.col_scale
        ),
    )
