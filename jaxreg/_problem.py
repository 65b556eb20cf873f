"""A prepared problem: data-dependent setup done once, solves per hyperparameter.

``setup`` does the work that depends on the data and weights only (weight
normalization, centering, standardization, the Gram matrix, the Lipschitz
constant); ``solve`` runs the proximal-gradient solver for one ``alpha`` and
``l1_ratio`` from a given starting point. Paths vmap or scan ``solve`` over a
grid, so the setup is shared by every grid point; CV vmaps ``setup`` over fold
weights.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.experimental import sparse as jsparse

from jaxreg import _validation as v
from jaxreg import _working_set
from jaxreg.datafits import Design, Logistic, Quadratic, QuadraticGram
from jaxreg.penalties import ElasticNetPenalty
from jaxreg.result import FitResult
from jaxreg.solvers import Start, fista

# The stopping tolerance is floored at this many machine epsilons (relative to
# the objective's scale): below it the gap is rounding noise and a float32
# solve would spin to max_iter. The logistic gradient sums terms of mixed sign
# over samples and resolves about ten times less than least squares.
TOL_FLOOR_EPS = {"squared": 10.0, "logistic": 100.0}


def tol_floor(dtype, loss: str = "squared") -> float:
    return TOL_FLOOR_EPS[loss] * float(jnp.finfo(dtype).eps)


def normalized_penalty_factor(pf: Array) -> Array:
    # glmnet rescales penalty factors to sum to the number of features.
    return pf * (pf.shape[0] / jnp.sum(pf))


def binary_entropy(q: Array) -> Array:
    return -(jax.scipy.special.xlogy(q, q) + jax.scipy.special.xlogy(1 - q, 1 - q))


def _is_sparse(X) -> bool:
    return isinstance(X, jsparse.BCOO)


def column_spread(X, s: Array, fit_intercept: bool):
    """Column means (zeros without an intercept), weighted variances about them,
    and the columns constant up to rounding (variance below the centering's
    noise), for a dense or a ``BCOO`` X. ``s`` sums to one.

    Dense columns are centered explicitly before squaring (accurate); sparse
    ones use the second moment, as centering would fill the matrix in.
    """
    p = X.shape[1]
    eps = jnp.finfo(X.dtype).eps
    if _is_sparse(X):
        x_mean = X.T @ s if fit_intercept else jnp.zeros((p,), X.dtype)
        var = sparse_variance(X, s, x_mean)
        cols = X.indices[:, 1]
        absmax = jax.ops.segment_max(jnp.abs(X.data), cols, num_segments=p)
        noise = X.shape[0] * eps * jnp.maximum(absmax, 0.0)
        return x_mean, var, var <= noise * noise
    Xc, x_mean, var, constant = centered_spread(X, s, fit_intercept)
    return x_mean, var, constant


def sparse_variance(X, s: Array, mean: Array) -> Array:
    """Weighted variances about ``mean`` of a ``BCOO`` X's columns (``s`` sums
    to one), without the cancellation of ``E[x^2] - mean^2``: the stored
    entries contribute ``s_i (x_ij - m_j)^2`` and the implicit zeros
    ``m_j^2`` times their total weight. Costs one pass over the nonzeros.
    """
    p = X.shape[1]
    rows, cols = X.indices[:, 0], X.indices[:, 1]
    w = s[rows]
    dev = X.data - mean[cols]
    stored = jax.ops.segment_sum(w * dev * dev, cols, num_segments=p)
    stored_weight = jax.ops.segment_sum(w, cols, num_segments=p)
    return stored + mean * mean * jnp.maximum(1.0 - stored_weight, 0.0)


def centered_spread(X: Array, s: Array, fit_intercept: bool):
    """Centered X (with an intercept), column means, weighted variances, and the
    columns constant up to rounding (variance below the centering's noise)."""
    x_mean = s @ X if fit_intercept else jnp.zeros((X.shape[1],), X.dtype)
    Xc = X - x_mean if fit_intercept else X
    var = s @ (Xc * Xc)
    noise = X.shape[0] * jnp.finfo(X.dtype).eps * jnp.max(jnp.abs(X), axis=0)
    return Xc, x_mean, var, var <= noise * noise


def scale_of(var: Array, constant: Array, standardize: bool) -> Array:
    # glmnet's convention: weighted population standard deviation; without an
    # intercept, the uncentered root mean square. The square root only sees
    # safe values, so its derivative is finite for constant columns too.
    if standardize:
        return jnp.sqrt(jnp.where(constant, 1.0, var))
    return jnp.ones_like(var)


def prepare_design(X: Array, s: Array, fit_intercept: bool, standardize: bool):
    """Centered (with an intercept) and standardized copy of a dense X, with its offsets.

    A column that is constant up to rounding is collinear with the intercept:
    its centered values are set to exactly zero (and its scale to one) rather
    than standardizing rounding noise into a second intercept.
    """
    Xc, x_mean, var, constant = centered_spread(X, s, fit_intercept)
    if fit_intercept:
        Xc = jnp.where(constant, 0.0, Xc)
    x_scale = scale_of(var, constant, standardize)
    if standardize:
        Xc = Xc / x_scale
    return Xc, x_mean, x_scale


def make_design(X, s: Array, fit_intercept: bool, standardize: bool):
    """The internal design operator for a dense or sparse X, and its offsets.

    Returns ``(design, x_mean, x_scale)``. A dense X is centered and scaled
    into a copy (:func:`prepare_design`). A ``BCOO`` X stays as it is: the
    centering and scaling are implicit in :class:`~jaxreg.datafits.Design`,
    so no dense copy is ever made; a constant column gets an infinite design
    scale, which zeroes it in every product (the dense route's zero column).
    """
    p = X.shape[1]
    dtype = X.dtype
    if not _is_sparse(X):
        Xt, x_mean, x_scale = prepare_design(X, s, fit_intercept, standardize)
        return Design(Xt, jnp.zeros((p,), dtype), jnp.ones((p,), dtype)), x_mean, x_scale
    x_mean, var, constant = column_spread(X, s, fit_intercept)
    x_scale = scale_of(var, constant, standardize)
    design_scale = jnp.where(constant & fit_intercept, jnp.inf, x_scale)
    return Design(X, x_mean, design_scale), x_mean, x_scale


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Problem:
    """Everything a solve needs that does not depend on the hyperparameters.

    ``lower``/``upper`` are on the internal (standardized) scale; ``b0`` is the
    cold-start intercept (the null model's for the logistic loss).
    """

    datafit: Any
    pf: Array
    lower: Array
    upper: Array
    x_mean: Array
    x_scale: Array
    y_mean: Array
    gap_tol: Array
    gap_scale: Array
    lipschitz: Array
    b0: Array
    loss: str = dataclasses.field(metadata=dict(static=True), default="squared")
    fit_intercept: bool = dataclasses.field(metadata=dict(static=True), default=True)


def finish_setup(
    datafit,
    penalty_factor,
    lower,
    upper,
    x_mean,
    x_scale,
    y_mean,
    gap_scale,
    tol,
    b0,
    *,
    loss: str,
    fit_intercept: bool,
    strong: bool | str = False,
) -> Problem:
    """A prepared problem from its datafit. ``strong``: certify the strong
    convexity of a Gram-mode datafit (:meth:`QuadraticGram.with_strong_convexity`),
    which tightens the lasso's certificate for every fit on it, at a fixed
    cost worth paying where many fits share the matrix at a tight tolerance
    (cross-validation); ``"portable"``: the same without LAPACK calls."""
    dtype = x_scale.dtype
    # The solution does not depend on the step size: no derivative through it.
    lip = jax.lax.stop_gradient(datafit.lipschitz())
    if strong and isinstance(datafit, QuadraticGram):
        datafit = datafit.with_strong_convexity(portable=strong == "portable")
    tol = jnp.maximum(tol, tol_floor(dtype, loss))
    return Problem(
        datafit=datafit,
        pf=normalized_penalty_factor(penalty_factor),
        lower=lower * x_scale,
        upper=upper * x_scale,
        x_mean=x_mean,
        x_scale=x_scale,
        y_mean=y_mean,
        gap_tol=tol * gap_scale,
        gap_scale=gap_scale,
        lipschitz=jnp.where(lip > 0, lip, 1.0),
        b0=b0,
        loss=loss,
        fit_intercept=fit_intercept,
    )


def setup(
    X,
    y,
    sample_weight,
    penalty_factor,
    lower,
    upper,
    tol,
    *,
    loss: str,
    fit_intercept: bool,
    standardize: bool,
    use_gram: bool,
) -> Problem:
    """Prepare a problem from raw data (traced; vmappable over weights)."""
    dtype = X.dtype
    s = sample_weight / jnp.sum(sample_weight)
    design, x_mean, x_scale = make_design(X, s, fit_intercept, standardize)
    if loss == "squared":
        y_mean = s @ y if fit_intercept else jnp.zeros((), dtype)
        yc = y - y_mean
        yy = s @ (yc * yc)
        if use_gram:
            datafit = QuadraticGram.build(design.gram(s), design.rmatvec(s * yc), yy)
        else:
            datafit = Quadratic(design, yc, s)
        b0 = jnp.zeros((), dtype)
        gap_scale = yy
    else:
        y_mean = s @ y
        datafit = Logistic(design, y, s, fit_intercept)
        b0 = jnp.log(y_mean) - jnp.log1p(-y_mean) if fit_intercept else jnp.zeros((), dtype)
        gap_scale = (binary_entropy(y_mean) if fit_intercept else jnp.log(2.0)).astype(dtype)
    return finish_setup(
        datafit,
        penalty_factor,
        lower,
        upper,
        x_mean,
        x_scale,
        y_mean,
        gap_scale,
        tol,
        b0,
        loss=loss,
        fit_intercept=fit_intercept,
    )


def penalty(problem: Problem, alpha: Array, l1_ratio: Array) -> ElasticNetPenalty:
    return ElasticNetPenalty(
        l1=alpha * l1_ratio * problem.pf,
        l2=alpha * (1.0 - l1_ratio) * problem.pf,
        lower=problem.lower,
        upper=problem.upper,
    )


def cold_start(problem: Problem) -> tuple[Array, Array]:
    """The zero solution (projected on the bounds) and the null intercept."""
    beta0 = jnp.clip(jnp.zeros_like(problem.x_scale), problem.lower, problem.upper)
    return beta0, problem.b0


def solve(
    problem: Problem,
    alpha,
    l1_ratio,
    beta0,
    b0,
    max_iter,
    *,
    accelerate: bool = True,
    check_every: int = 10,
    unrolled_blocks: int | None = None,
    refine: Array | bool = False,
    working_set: bool = False,
    xt: _working_set.Columns | None = None,
    start: tuple[Array, Array, Array] | None = None,
    return_image: bool = False,
):
    """Solve at one ``(alpha, l1_ratio)`` from ``(beta0, b0)`` (internal scale).

    Returns the result on the original scale and the internal solution, which
    is the warm start for a neighbouring grid point. ``unrolled_blocks``: run
    a fixed number of check blocks (a differentiable ``scan``) instead of the
    early-exit loop. ``working_set``: the working-set solver where it applies
    (squared loss, dense or Gram; not batched under ``vmap``), with ``xt`` its
    per-path precomputation when the caller has it and ``start`` the image
    and gradient at ``beta0`` (see :func:`jaxreg._working_set.solve`). With
    ``return_image`` (static), also returns ``(u, grad)`` at the solution
    (working set only; None otherwise).
    """
    pen = penalty(problem, alpha, l1_ratio)
    clipped = jnp.clip(beta0, pen.lower, pen.upper)
    u0 = grad0 = valid = None
    if start is not None:
        # The image is beta0's: valid only if the bounds left it unchanged.
        u0, grad0, valid = start[0], start[1], start[2] & jnp.all(clipped == beta0)
    beta0 = clipped
    use_ws = (
        working_set
        and accelerate
        and unrolled_blocks is None
        and _working_set.applies(problem.datafit)
    )
    if use_ws:
        out = _working_set.solve(
            problem,
            pen,
            Start(beta0, b0, u0, grad0, valid),
            max_iter,
            check_every=check_every,
            refine=refine,
            xt=xt,
        )
    else:
        out = fista(
            problem,
            pen,
            Start(beta0, b0),
            max_iter,
            accelerate=accelerate,
            check_every=check_every,
            unrolled_blocks=unrolled_blocks,
            refine=refine,
        )
    beta, b, n_iter, cert, status, image = out
    coef = beta / problem.x_scale
    dtype = coef.dtype
    if not problem.fit_intercept:
        intercept = jnp.zeros((), dtype)
    elif problem.loss == "squared":
        intercept = problem.y_mean - problem.x_mean @ coef
    else:
        intercept = b - problem.x_mean @ coef
    result = FitResult(
        coef, intercept, n_iter, cert.gap, problem.gap_tol, cert.kkt, cert.objective, status
    )
    if return_image:
        return result, beta, b, image
    return result, beta, b


def needs_null_fit(pf) -> bool:
    """Whether ``alpha_max`` must fit the null model (static): unless the
    penalty factors are known (concrete) and all positive, when the null model
    is the cold start itself (zero coefficients, the intercept-only fit)."""
    return not (v.is_concrete(pf) and bool(np.all(np.asarray(pf) > 0)))


def alpha_max(problem: Problem, max_iter, tol, null_fit: bool = True) -> Array:
    """``alpha_max`` at ``l1_ratio = 1`` for a prepared problem (divide by l1_ratio).

    Fits the null model (penalized coefficients pinned to zero by their bounds,
    unpenalized ones free, to the relative tolerance ``tol``), then takes the
    largest penalty-factor-scaled gradient in a direction the bounds allow.
    With ``null_fit`` false (static; every feature penalized, see
    :func:`needs_null_fit`) the null model is the cold start, and no solver is
    compiled: the intercept-only fit is closed-form (the centered targets for
    the squared loss, the log-odds of the weighted mean for the logistic).
    """
    penalized = problem.pf > 0
    gap_tol = problem.gap_scale * jnp.maximum(tol, tol_floor(problem.x_scale.dtype, problem.loss))
    pinned = dataclasses.replace(
        problem,
        lower=jnp.where(penalized, 0.0, problem.lower),
        upper=jnp.where(penalized, 0.0, problem.upper),
        gap_tol=gap_tol,
    )
    zero = jnp.zeros((), problem.x_scale.dtype)
    beta, b = cold_start(pinned)
    if null_fit:
        _, beta, b = solve(pinned, zero, zero + 1.0, beta, b, max_iter)
    _, grad, _, _ = problem.datafit.value_and_grad(beta, b)
    directional = jnp.maximum(
        jnp.where(problem.upper > 0, -grad, 0.0), jnp.where(problem.lower < 0, grad, 0.0)
    )
    ratios = jnp.where(penalized, directional / jnp.where(penalized, problem.pf, 1.0), 0.0)
    return jnp.max(ratios)
