"""The engine under the public fits: compiled entry points taking one static
:class:`~jaxreg._spec.Spec` and traced :class:`~jaxreg._spec.Hyper`, and the
helpers that build both from a public call's keyword arguments.
"""

from __future__ import annotations

import dataclasses
import numbers
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array

from jaxreg import _buckets, _compile, _free, _implicit, _problem, _rescale, solvers
from jaxreg import _validation as v
from jaxreg._spec import Hyper, Spec, make_hyper
from jaxreg.datafits import Quadratic
from jaxreg.penalties import ElasticNetPenalty
from jaxreg.result import FitResult, Status
from jaxreg.solvers import _cholesky_solver, ridge_cg, ridge_dual


@_compile.jit(static_argnames=("spec",))
def solve_glm(X, y, hyper: Hyper, *, spec: Spec) -> FitResult:
    theta = _implicit.Theta(X, y, hyper)
    if spec.unrolled_blocks is None:
        return _implicit.implicit_fit(spec)(theta)
    return _implicit.solve_internal(spec, theta)[0]


def unrolled_blocks(diff: str, max_iter: int, check_every: int) -> int | None:
    """``None`` for implicit differentiation, else the static number of check blocks."""
    v.check_choice(diff, "diff", ("implicit", "unrolled"))
    if diff == "implicit":
        return None
    return -(-int(max_iter) // int(check_every))


# The keyword arguments of the public fits that :func:`jaxreg._validation.inputs` checks.
_INPUT_KEYS = (
    "sample_weight",
    "penalty_factor",
    "lower",
    "upper",
    "positive",
    "tol",
    "max_iter",
)


def checked_inputs(datafit, X, y, options: dict, rescale: bool = True) -> v.Inputs:
    """Validated inputs of a public call whose keyword arguments are ``options``;
    with ``rescale``, X's columns divided by powers of two where their
    magnitudes are extreme or uneven (see :mod:`jaxreg._rescale`)."""
    inputs = v.inputs(X, y, datafit=datafit, **{k: options[k] for k in _INPUT_KEYS})
    # A group's norm would weigh rescaled columns unevenly: groups keep X's columns.
    rescale = rescale and options.get("groups") is None
    raw_penalty = not options.get("standardize", False)
    pf = inputs.penalty_factor if raw_penalty and v.is_concrete(inputs.penalty_factor) else None
    c = _rescale.column_scales(inputs.X, pf) if rescale else None
    if c is None:
        return inputs
    X = _rescale.rescaled(inputs.X, c)
    return inputs._replace(X=X, col_scale=v.as_array(c, inputs.dtype))


def glm_spec(datafit, inputs: v.Inputs, options: dict, **static) -> Spec:
    """The static spec of a public GLM call from its keyword arguments."""
    check_every = v.check_count(options.get("check_every", 10), "check_every")
    solver = options.get("solver", "fista")
    v.check_choice(solver, "solver", ("auto", "fista", "ista", "newton"))
    gram = options.get("gram", False)
    use_gram = hasattr(datafit, "from_gram") and use_gram_for(gram, inputs.X)
    unrolled = unrolled_blocks(options.get("diff", "implicit"), inputs.max_iter, check_every)
    groups = v.check_groups(options.get("groups"), inputs, bool(options.get("positive", False)))
    if groups is not None and solver == "newton":
        raise ValueError("solver='newton' needs a separable penalty; with groups use 'fista'")
    return Spec(
        datafit=datafit,
        fit_intercept=bool(options["fit_intercept"]),
        standardize=bool(options["standardize"]),
        use_gram=use_gram,
        accelerate=solver != "ista",
        check_every=check_every,
        unrolled_blocks=unrolled,
        # The working sets read per-coordinate weights: no groups.
        working_set=groups is None and _working_set_fit(solver, datafit, inputs, options, unrolled),
        groups=groups,
        # A caller's X over several CPU devices: no refit (its LAPACK calls can
        # deadlock their shared thread pool, see cv._shared_cpu_pool).
        free=0
        if v.on_devices(inputs.X) and jax.default_backend() == "cpu"
        else free_count(inputs, options.get("alpha"), options.get("alphas")),
        **static,
    )


def free_count(inputs: v.Inputs, *alphas) -> int:
    """How many coordinates a fit may leave free (static, see
    :mod:`jaxreg._free`): every one where some alpha is zero, else those
    with a zero penalty factor (every one for traced factors). A traced alpha
    is taken as positive: should it be zero, the fit is certified by the
    zero dual point alone (:func:`jaxreg._free.guard`), which keeps the
    derivatives of fits at a traced alpha as lean as they were."""
    p = inputs.X.shape[1]
    small = _free.negligible(inputs.dtype)
    for alpha in alphas:
        values = None if alpha is None else v.concrete_values(alpha)
        if values is not None and bool(v.reduce_values(_any_below, values, small)):
            return p
    pf = v.concrete_values(inputs.penalty_factor)
    if pf is None:
        return p
    return int(v.reduce_values(_count_below, pf, small))


def _any_below(xp, a, small):
    return xp.any(xp.abs(a) <= small)


def _count_below(xp, a, small):
    return xp.sum(xp.abs(a) <= small)


def _working_set_fit(solver: str, datafit, inputs: v.Inputs, options: dict, unrolled) -> bool:
    """Whether a single fit runs on working sets: proximal Newton for a datafit
    with curvature weights, coordinate descent for the squared loss.
    ``"auto"`` picks them on a CPU, when every input is concrete, for a datafit
    with curvature weights (dense or sparse X) and for a sparse X with
    coordinate descent (its full-width products cost as much as many
    coordinate visits): under a caller's ``vmap`` (traced inputs) a batched
    working-set solve would run every set size, so FISTA batches instead."""
    second_order = hasattr(datafit, "second_order")
    if solver == "newton":
        if not second_order:
            raise ValueError("solver='newton' needs a loss with curvature weights (logistic)")
        if unrolled is not None:
            raise ValueError("solver='newton' cannot be unrolled; use diff='implicit'")
        return True
    sparse_cd = v.is_sparse(inputs.X) and getattr(datafit, "coordinate_descent", False)
    if solver != "auto" or not (second_order or sparse_cd) or unrolled is not None:
        return False
    # A BCOO is never a tracer itself: its arrays are what a caller's
    # transformation traces.
    X = (inputs.X.data, inputs.X.indices) if v.is_sparse(inputs.X) else (inputs.X,)
    values = (
        *X,
        inputs.y,
        inputs.sample_weight,
        options.get("alpha"),
        options.get("l1_ratio"),
    )
    return jax.default_backend() == "cpu" and all(v.is_concrete(a) for a in values)


def glm_fit(datafit, X, y, options: dict) -> FitResult:
    """The single fit behind :func:`elastic_net`, :func:`lasso` and :func:`logistic`."""
    inputs = checked_inputs(datafit, X, y, options)
    alpha = v.check_scalar(options["alpha"], "alpha", inputs.dtype, low=0.0)
    l1_ratio = v.check_scalar(options["l1_ratio"], "l1_ratio", inputs.dtype, low=0.0, high=1.0)
    spec = glm_spec(datafit, inputs, options)
    hyper = make_hyper(inputs, alpha, l1_ratio)
    X, y, hyper, _ = _buckets.padded_rows(inputs.X, inputs.y, hyper)
    return solve_glm(X, y, hyper, spec=spec)


# A sparse design forms a dense (p, p) Gram matrix only up to this width.
SPARSE_GRAM_LIMIT = 2048


def use_gram_for(gram, X) -> bool:
    """Whether ``gram`` (``"auto"``, True or False) means Gram mode for X."""
    # A sparse design's products cost its nonzeros, usually less than the
    # Gram matrix's p^2: design mode unless asked.
    if gram == "auto":
        n, p = X.shape
        return n > p and not v.is_sparse(X)
    return bool(v.check_choice(gram, "gram", ("auto", True, False)))


class RidgeData(NamedTuple):
    """A ridge problem in the mean-loss form of :func:`certified_ridge`:
    ``1/2 ||yc - X~ beta||_s^2 + (alpha / total)/2 sum_j pf_j beta_j^2``."""

    design: Any
    yc: Array
    s: Array
    total: Array
    pf: Array
    x_mean: Array
    x_scale: Array
    y_mean: Array


def ridge_data(X, y, hyper: Hyper, fit_intercept, standardize) -> RidgeData:
    """Center, scale and normalize a ridge problem (see :class:`RidgeData`);
    ``x_mean`` and ``x_scale`` map back to the caller's columns (see
    :func:`jaxreg._problem.penalty_weights`)."""
    dtype = X.dtype
    total = jnp.sum(hyper.sample_weight)
    s = hyper.sample_weight / total
    design, x_mean, x_scale = _problem.make_design(X, s, fit_intercept, standardize)
    y_mean = s @ y if fit_intercept else jnp.zeros((), dtype)
    pf = _problem.penalty_weights(hyper, standardize)[1]
    x_mean, x_scale = _problem.callers_columns(hyper, x_mean, x_scale)
    return RidgeData(design, y - y_mean, s, total, pf, x_mean, x_scale, y_mean)


@_compile.jit(static_argnames=("spec",))
def solve_ridge(X, y, hyper: Hyper, *, spec: Spec) -> FitResult:
    data = ridge_data(X, y, hyper, spec.fit_intercept, spec.standardize)
    # ||y - Xw - b||_S^2 + alpha sum_j f_j w_j^2
    #     = 2 S * [1/2 ||r||_s^2 + (alpha / S)/2 sum_j f_j w_j^2]
    reg = (hyper.alpha / data.total) * data.pf
    beta, hessian_solve = _ridge_beta(data, reg, hyper, spec.ridge_solver)
    return certified_ridge(
        data, hyper.alpha, beta, hyper.tol, spec.fit_intercept, hessian_solve=hessian_solve
    )


def _ridge_beta(data: RidgeData, reg, hyper: Hyper, solver: str):
    """The closed-form ridge solution by ``solver``, and a solve with the
    objective's Hessian where the solver factorized it (else None)."""
    design, s, yc = data.design, data.s, data.yc
    if solver == "cholesky":
        hessian_solve = _cholesky_solver(design.gram(s), reg)
        return hessian_solve(design.rmatvec(s * yc)), hessian_solve
    if solver == "cg":
        matvec = lambda b: design.rmatvec(s * design.matvec(b))  # noqa: E731

        def hessian_solve(v):
            # Another CG solve, paid only where coordinates are free (the
            # gap cannot certify them); NaN elsewhere leaves the gap alone.
            return jax.lax.cond(
                jnp.any(reg == 0),
                lambda: ridge_cg(matvec, v, reg, hyper.max_iter),
                lambda: jnp.full_like(v, jnp.nan),
            )

        return ridge_cg(matvec, design.rmatvec(s * yc), reg, hyper.max_iter), hessian_solve
    root = jnp.sqrt(s)
    # design.X: a dense design is centered and scaled already.
    Xs, ys = root[:, None] * design.X, root * yc
    if solver == "dual":
        return ridge_dual(Xs, ys, reg), None
    factors = solvers._scaled_svd(Xs, data.pf)
    alpha = hyper.alpha / data.total
    return solvers._svd_ridge(factors, ys, alpha), solvers._svd_hessian_solver(factors, alpha)


def certified_ridge(
    data: RidgeData, alpha, beta, tol, fit_intercept: bool, hessian_solve=None
) -> FitResult:
    """The ridge fit at ``beta`` (standardized units) with its certificates.

    ``beta`` minimizes (or approximates) the mean-loss form of ridge's
    objective (see :class:`RidgeData`); the duality gap and KKT residual are
    computed here, at ``beta``, and everything is returned in ridge's
    sum-of-squares units.

    With ``hessian_solve`` (``v -> H^-1 v`` for the objective's Hessian
    ``H``), the certificate is the smaller of the duality gap and the Newton
    decrement ``g' H^-1 g / 2`` at ``beta``, the exact suboptimality of a
    quadratic. The gap alone measures the gradient ``g`` against the L2
    weights only, ``sum_j g_j^2 / (2 reg_j)``: when those are tiny next to
    the data's curvature (large columns, or float32), the rounding of ``g``
    alone exceeds any tolerance although the fit is exact. Coordinates with
    no L2 weight (alpha = 0, zero penalty factors) do not enter the gap at
    all: there the decrement alone certifies, and without ``hessian_solve``
    the certificate is infinite (INACCURATE).
    """
    dtype = beta.dtype
    p = beta.shape[0]
    s, yc = data.s, data.yc
    reg = (alpha / data.total) * data.pf
    datafit = Quadratic(data.design, yc, s)
    inf = jnp.full((p,), jnp.inf, dtype)
    penalty = ElasticNetPenalty(jnp.zeros((p,), dtype), reg, -inf, inf)
    value, grad, _, aux = datafit.value_and_grad(beta, jnp.zeros((), dtype))
    gap = datafit.fenchel_young(aux, 1.0) + penalty.fenchel_young(beta, -grad)
    g = grad + reg * beta
    kkt = jnp.max(jnp.abs(g))
    # Coordinates without an L2 weight (alpha = 0, zero penalty factors) do
    # not enter the gap: there the Newton decrement alone is a certificate,
    # and without one nothing certifies them.
    free = jnp.any(reg == 0)
    if hessian_solve is not None:
        decrement = jnp.abs(0.5 * jnp.dot(g, hessian_solve(g)))
        known = jnp.isfinite(decrement)
        gap = jnp.where(
            free,
            jnp.where(known, decrement, jnp.inf),
            jnp.where(known, jnp.minimum(gap, decrement), gap),
        )
    else:
        gap = jnp.where(free, jnp.inf, gap)
    objective = value + penalty.value(beta)
    gap_tol = jnp.maximum(tol, _problem.tol_floor(dtype, Quadratic)) * (s @ (yc * yc))
    # An infinite gap (free coordinates, nothing to certify them) is a
    # certificate that fails, not a non-finite fit.
    finite = jnp.all(jnp.isfinite(beta)) & ~jnp.isnan(gap) & jnp.isfinite(gap_tol)
    status = jnp.where(
        ~finite, Status.NONFINITE, jnp.where(gap <= gap_tol, Status.CONVERGED, Status.INACCURATE)
    )
    # A traced negative or NaN alpha skipped the value checks.
    status = jnp.where(alpha >= 0, status, Status.INVALID_INPUT).astype(jnp.int32)
    coef = beta / data.x_scale
    intercept = data.y_mean - data.x_mean @ coef if fit_intercept else jnp.zeros((), dtype)
    fit = FitResult(coef, intercept, jnp.zeros((), jnp.int32), gap, gap_tol, kkt, objective, status)
    return in_ridge_units(fit, data.total)


def in_ridge_units(fit: FitResult, total) -> FitResult:
    """Certificates of the internal (mean-loss) problem in the units of ridge's
    sum-of-squares objective, which is ``2 * sum(s)`` times it."""
    factor = 2.0 * total
    gap, gap_tol, objective = factor * fit.gap, factor * fit.gap_tol, factor * fit.objective
    # Huge sample weights can overflow these units although the mean-loss
    # problem was certified: a certificate that cannot be stated is none.
    stated = jnp.isfinite(gap) & jnp.isfinite(gap_tol) & jnp.isfinite(objective)
    status = jnp.where(
        stated | (fit.status != Status.CONVERGED), fit.status, Status.NONFINITE
    ).astype(jnp.int32)
    return dataclasses.replace(fit, gap=gap, gap_tol=gap_tol, objective=objective, status=status)


def ridge_solver(solver: str, shape: tuple[int, int], sparse: bool, bounded: bool) -> str:
    """The ridge route for ``solver`` (``"auto"`` resolved) on an X of
    ``shape`` (dense or ``sparse``), validated.

    ``"auto"``: FISTA with bounds; for a sparse X, Cholesky on its Gram matrix
    when ``p <= min(n, 2048)``, else conjugate gradients; for a dense X,
    Cholesky when ``n >= p``, else the dual (kernel) form.
    """
    n, p = shape
    if solver == "auto":
        if bounded:
            return "fista"
        if sparse:
            return "cholesky" if p <= min(n, SPARSE_GRAM_LIMIT) else "cg"
        return "cholesky" if n >= p else "dual"
    if bounded and solver != "fista":
        raise ValueError(f"solver={solver!r} has no closed form with bounds; use solver='fista'")
    if sparse and solver in ("dual", "svd"):
        raise ValueError(
            f"solver={solver!r} needs a dense X; with a sparse X use 'cholesky', 'cg' or 'auto'"
        )
    return solver


@_compile.jit(static_argnames=("spec",))
def alpha_max(X, y, hyper: Hyper, *, spec: Spec):
    problem = _problem.setup(spec, hyper, X, y)
    top = _problem.alpha_max(problem, hyper.max_iter, hyper.tol, spec.null_fit)
    return top_for_ratio(top, hyper.l1_ratio)


def top_for_ratio(top, l1_ratio):
    """``alpha_max`` at ``l1_ratio`` from its value at 1 (infinite at 0)."""
    positive = l1_ratio > 0
    return jnp.where(positive, top / jnp.where(positive, l1_ratio, 1.0), jnp.inf)


def n_classes_of(y, n_classes) -> int:
    """``n_classes`` checked, or ``max(y) + 1`` from concrete labels."""
    if n_classes is not None:
        integer = isinstance(n_classes, numbers.Integral) and not isinstance(n_classes, bool)
        if not integer or n_classes < 2:
            raise ValueError(f"n_classes must be an integer >= 2, got {n_classes!r}")
        return int(n_classes)
    labels = v.concrete_values(v.from_frame(y, "y"))
    if labels is None:
        raise ValueError("n_classes is required when y is traced (under jit)")
    labels = np.asarray(labels)
    if labels.size == 0 or not np.all(np.isfinite(labels)):
        raise ValueError("y must be a nonempty array of finite class labels")
    return max(int(np.max(labels)) + 1, 2)


def grouped_features(X, grouped) -> np.ndarray | None:
    """The groups of a multinomial model's penalty: each feature its own
    group (over its classes) when ``grouped``, else None."""
    if not isinstance(grouped, bool | np.bool_):
        raise TypeError(f"grouped must be True or False, got {grouped!r}")
    return np.arange(np.shape(X)[1]) if grouped else None
