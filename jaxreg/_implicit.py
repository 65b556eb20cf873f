r"""Implicit differentiation of the penalized GLM solution map.

At a solution ``(w*, b*)`` of

.. math:: P(w, b; \theta) = L(w, b; X, y, s) + \alpha \sum_j f_j
          \big(\rho |c_j w_j| + \tfrac{1 - \rho}{2} (c_j w_j)^2\big),
          \quad l \le w \le u,

(``c`` the standardization scales, ``f`` the rescaled penalty factors) the
coordinates split into *fixed* ones, which stay put under a small perturbation
of ``theta``, and *free* ones, on which the optimality condition is smooth:

* a coordinate at zero with a positive L1 weight stays at zero (the
  generalized Jacobian of soft-thresholding is zero there);
* a coordinate at an active bound follows the bound;
* a column that is constant (with an intercept) has a coefficient pinned at
  zero;
* every other coordinate, and the intercept, is free: there the gradient of
  the smooth surrogate ``phi`` (``P`` with ``|w_j|`` replaced by
  ``sign(w*_j) w_j``) vanishes.

Differentiating ``grad_z phi(z*(theta), theta) = 0`` on the free set gives
``A_FF dz_F = -(d_theta grad phi . dtheta + A dz_fixed)_F`` with ``A`` the
Hessian of ``phi``. The system is restricted to the free set (rows and columns
of fixed coordinates are replaced by the identity), so it is as well
conditioned as the Hessian on the support, not the full (possibly singular)
Hessian.

The tangent rule is linear in ``dtheta`` and built from transposable
primitives (``jvp`` and a linear solve), so the same rule serves forward mode
(``jax.jvp``, ``jax.jacfwd``) and reverse mode (``jax.grad``, ``jax.jacrev``).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array

from jaxreg import _problem
from jaxreg._spec import Hyper, Spec
from jaxreg.penalties import GroupPenalty
from jaxreg.result import FitResult
from jaxreg.solvers import conjugate_gradient

# Dense Hessian and LU up to this many unknowns; conjugate gradient beyond.
_DENSE_LIMIT = 2048


class Theta(NamedTuple):
    """The differentiable inputs of a fit: the data and the hyperparameters."""

    X: Array
    y: Array
    hyper: Hyper


def solve_internal(spec: Spec, theta: Theta):
    """Set up and solve one fit; also return the internal solution and problem."""
    hyper = theta.hyper
    problem = _problem.setup(spec, hyper, theta.X, theta.y)
    beta0, b0 = _problem.cold_start(problem)
    result, beta, _ = _problem.solve(
        problem,
        hyper.alpha,
        hyper.l1_ratio,
        beta0,
        b0,
        hyper.max_iter,
        accelerate=spec.accelerate,
        check_every=spec.check_every,
        unrolled_blocks=spec.unrolled_blocks,
        working_set=spec.working_set,
    )
    return result, beta, problem


def _weights_and_spread(spec: Spec, theta: Theta):
    """Normalized sample weights and the column statistics the setup uses."""
    s = theta.hyper.sample_weight / jnp.sum(theta.hyper.sample_weight)
    return s, _problem.spread(theta.X, s[None], spec.fit_intercept)


def surrogate(spec: Spec, z: Array, theta: Theta, sign: Array) -> Array:
    """``P`` with ``|w_j|`` replaced by ``sign_j w_j`` (and the bounds dropped)."""
    X, hyper = theta.X, theta.hyper
    p = X.shape[1]
    K = _outputs(spec)
    # A multinomial model's coefficients are a (p, K) matrix, flattened
    # feature-major in z, then its K intercepts; per-feature data broadcast.
    w = z[:p] if K == 1 else z[: p * K].reshape(p, K)
    b = z[p * K :].reshape(-1 if K > 1 else ()) if spec.fit_intercept else 0.0
    col = (lambda a: a) if K == 1 else (lambda a: a[:, None])  # noqa: E731
    s, sp = _weights_and_spread(spec, theta)
    scale = _problem.scale_of(sp.var[0], sp.constant[0], spec.standardize)
    f = _problem.normalized_penalty_factor(hyper.penalty_factor)
    # X's columns are the caller's over col_scale; w is on the caller's scale.
    c = hyper.col_scale
    eta = X @ (col(c) * w) + b
    loss = jnp.dot(s, spec.datafit.pointwise(eta, theta.y))
    beta = col(scale * c) * w if spec.standardize else w
    rho = hyper.l1_ratio
    if spec.groups is not None:
        return loss + hyper.alpha * _group_surrogate(spec.groups, f, rho, beta)
    sign = sign.reshape(beta.shape)
    pen = hyper.alpha * jnp.sum(col(f) * (rho * sign * beta + 0.5 * (1.0 - rho) * beta * beta))
    return loss + pen


def _outputs(spec: Spec) -> int:
    """Coefficients per feature: one, or a multinomial model's classes."""
    return getattr(spec.datafit, "outputs", 1)


def _group_surrogate(groups: tuple, f: Array, rho: Array, beta: Array) -> Array:
    """The group penalty per unit of alpha, smooth wherever no group is at
    zero; a group at zero gets a zero gradient (its coordinates are fixed)."""
    ids, count, size = GroupPenalty.feature_groups(groups, f.dtype)
    f_g = jax.ops.segment_max(f, ids, num_segments=count)
    # Per feature: its square, or the sum of its K coefficients' squares.
    squares = jnp.sum((beta * beta).reshape(beta.shape[0], -1), axis=1)
    sq = jax.ops.segment_sum(squares, ids, num_segments=count)
    # The double where keeps the norm's derivative at zero finite (not 0/0).
    norm = jnp.where(sq > 0, jnp.sqrt(jnp.where(sq > 0, sq, 1.0)), 0.0)
    return jnp.sum(f_g * (rho * jnp.sqrt(size) * norm + 0.5 * (1.0 - rho) * sq))


def _float0_like(x: Array):
    return np.zeros(np.shape(x), dtype=jax.dtypes.float0)


@functools.cache
def implicit_fit(spec: Spec):
    """A fit ``theta -> FitResult`` with an implicit JVP rule (``tol``,
    ``max_iter`` and ``eps`` get no derivative)."""

    @jax.custom_jvp
    def fit(theta: Theta) -> FitResult:
        return solve_internal(spec, theta)[0]

    @fit.defjvp
    def fit_jvp(primals, tangents):
        (theta,), (dtheta,) = primals, tangents
        result, beta, problem = solve_internal(spec, theta)
        X, hyper, dhyper = theta.X, theta.hyper, dtheta.hyper
        dtype = X.dtype
        p = X.shape[1]

        # Which coordinates are fixed, and how the fixed ones move.
        l1 = hyper.alpha * hyper.l1_ratio * problem.pf
        at_lower = jnp.isfinite(problem.lower) & (beta <= problem.lower)
        at_upper = jnp.isfinite(problem.upper) & (beta >= problem.upper)
        zero = (beta == 0) & (l1 > 0)
        if spec.groups is not None:
            # A group is fixed at zero as a whole, or free as a whole.
            pen = _problem.penalty(problem, hyper.alpha, hyper.l1_ratio)
            zero = jnp.take(pen.norms(beta) == 0, pen.groups) & (l1 > 0)
        # Columns the solver pins at zero: constant, hence collinear with the intercept.
        K = _outputs(spec)
        pinned = _weights_and_spread(spec, theta)[1].constant[0] & spec.fit_intercept
        free_w = ~(at_lower | at_upper | zero | jnp.repeat(pinned, K))
        # A pinned column's coefficient is clip(0, lower, upper): it too follows
        # an active bound.
        lower, upper = jnp.repeat(dhyper.lower, K), jnp.repeat(dhyper.upper, K)
        dw_fixed = jnp.where(at_lower, lower, jnp.where(at_upper, upper, 0.0))
        dw_fixed = jnp.where(free_w, 0.0, dw_fixed).astype(dtype)
        free = jnp.concatenate([free_w, jnp.full((K,), spec.fit_intercept)])
        dz_fixed = jnp.concatenate([dw_fixed, jnp.zeros((K,), dtype)])

        z = jnp.concatenate([result.coef.reshape(-1), jnp.reshape(result.intercept, (K,))])
        sign = jnp.sign(beta).astype(dtype)
        phi = functools.partial(surrogate, spec, sign=sign)
        grad_z = jax.grad(phi, argnums=0)

        # Right-hand side: the change of the optimality condition caused by
        # dtheta and by the moving fixed coordinates.
        _, dgrad = jax.jvp(grad_z, (z, theta), (dz_fixed, dtheta))
        rhs = -jnp.where(free, dgrad, 0.0)
        dz_free = _solve_restricted(grad_z, z, theta, free, rhs)
        dz = dz_fixed + dz_free
        _, dobj = jax.jvp(phi, (z, theta), (dz, dtheta))

        m = p * K
        d_intercept = dz[m:].reshape(result.intercept.shape)
        tangent = FitResult(
            coef=dz[:m].reshape(result.coef.shape),
            intercept=d_intercept if spec.fit_intercept else jnp.zeros_like(d_intercept),
            n_iter=_float0_like(result.n_iter),
            gap=jnp.zeros_like(result.gap),
            gap_tol=jnp.zeros_like(result.gap_tol),
            kkt=jnp.zeros_like(result.kkt),
            objective=dobj.astype(result.objective.dtype),
            status=_float0_like(result.status),
        )
        return result, tangent

    return fit


def _solve_dense(A, rhs, free):
    """``A x = rhs`` for a symmetric positive semidefinite ``A``: by LU, or,
    where LU meets a pivot at rounding level, by Tikhonov-regularized
    Cholesky with iterative refinement, which tends to the minimum-norm
    solution.

    ``A`` is singular where two identical columns are both in the support:
    LU then returns NaN or a huge component along the null direction (their
    difference), while the derivative of any prediction only sees their sum.
    The choice depends on ``A`` alone, so the solve stays linear in ``rhs``
    (transposable for reverse mode).
    """
    # Jacobi scaling first: coordinates on very different scales (a rescaled
    # design's coefficients next to the intercept) must not look singular.
    d = jnp.diag(A)
    root = jnp.where(d > 0, 1.0 / jnp.sqrt(jnp.where(d > 0, d, 1.0)), 1.0)
    return root * _solve_scaled(A * root[:, None] * root[None, :], rhs * root, free)


def _solve_scaled(A, rhs, free):
    lu, piv = jax.scipy.linalg.lu_factor(A)
    pivots = jnp.abs(jnp.diag(lu))
    eps = jnp.finfo(A.dtype).eps
    singular = jnp.min(pivots) <= A.shape[0] * eps * jnp.max(pivots)
    # The branch not taken gets the identity: a zero pivot there would turn
    # the zero cotangent of reverse mode into NaN (0 / 0).
    eye = jnp.eye(A.shape[0], dtype=A.dtype)
    lu = jnp.where(singular, eye, lu)
    piv = jnp.where(singular, jnp.arange(A.shape[0], dtype=piv.dtype), piv)
    x_lu = jax.scipy.linalg.lu_solve((lu, piv), rhs)
    scale = jnp.max(jnp.where(free, jnp.diag(A), 0.0))
    delta = jnp.sqrt(eps) * jnp.where(scale > 0, scale, 1.0)
    factor = jax.scipy.linalg.cho_factor(jnp.where(singular, A + delta * eye, eye))
    x_reg = jax.scipy.linalg.cho_solve(factor, rhs)
    for _ in range(3):
        x_reg = x_reg + jax.scipy.linalg.cho_solve(factor, rhs - A @ x_reg)
    return jnp.where(singular, x_reg, x_lu)


def _solve_restricted(grad_z, z, theta, free, rhs):
    """Solve ``A_FF x_F = rhs_F`` (identity on the fixed coordinates)."""
    m = free.astype(rhs.dtype)
    size = z.shape[0]
    if size <= _DENSE_LIMIT:
        A = jax.jacfwd(grad_z, argnums=0)(z, theta)
        A = 0.5 * (A + A.T)
        A = jnp.where(free[:, None] & free[None, :], A, 0.0) + jnp.diag(1.0 - m)
        return _solve_dense(A, rhs, free)

    _, hvp = jax.linearize(lambda zz: grad_z(zz, theta), z)

    def matvec(v):
        return m * hvp(m * v) + (1.0 - m) * v

    eps = float(jnp.finfo(rhs.dtype).eps)
    solve = functools.partial(conjugate_gradient, tol=10 * eps, maxiter=4 * size)
    return jax.lax.custom_linear_solve(matvec, rhs, solve, symmetric=True)
