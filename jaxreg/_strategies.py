"""Path strategies: how a grid of alphas is walked on one prepared problem.

Three strategies (:func:`solve_path`):

* ``"vmap"``: every alpha is solved from a cold start, all in one ``vmap``.
  Each iteration is one matrix-matrix product over the grid: the shape that
  fills a GPU.
* ``"warm"``: the (decreasing) grid is cut into chunks; a ``lax.scan`` walks the
  chunks, each chunk is vmapped and warm-started from the last solution of the
  previous one. ``chunk_size=1`` is classical sequential continuation. Far
  fewer iterations, less parallelism: the better choice on a CPU, where the
  products with ``X`` or the Gram matrix are memory-bound and a chunk's
  right-hand sides share one pass over it.
* ``"working_set"``: continuation one grid point at a time, each solved by
  the working-set solver (``jaxreg/_working_set.py``): coordinate descent on
  the columns that are nonzero or violate the optimality conditions, certified
  on all columns; the CPU default for the squared loss in design mode.
  Its starts come with their image and gradient, extrapolated like the
  coefficients (both are affine in them), so a grid point costs no product
  with the data before its first round (unless bounds clip its start or an
  uneven grid stretches the extrapolation).

The data-dependent setup (centering, Gram matrix, Lipschitz constant) is done
once for the whole path. Measured timings of the strategies are in
``docs/benchmarks.md``.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
from jax import Array

from jaxreg import _problem, _prox_newton, _working_set
from jaxreg._spec import Spec
from jaxreg.result import FitResult, Status


def geometric_grid(top: Array, n_alphas: int, eps) -> Array:
    """``n_alphas`` values from ``top`` down to ``eps * top`` (``eps`` may be traced)."""
    return top * jnp.geomspace(1.0, eps, n_alphas, dtype=top.dtype)


def solve_path(problem, alphas, l1_ratio, max_iter, spec: Spec, stop=None) -> FitResult:
    """Solve ``problem`` along ``alphas`` with ``spec.strategy`` (traced).

    ``stop`` (traced, warm and working-set strategies): only the first ``stop``
    grid points are needed. The walk along the grid skips the chunks past them
    (a ``lax.cond``, so no work when unbatched); their entries are filler
    (zero coefficients, status ``MAX_ITER``, zero iterations) that no caller
    may expose. ``None``: solve the whole grid.
    """
    walk = _STRATEGIES[spec.strategy]
    return walk(problem, alphas, l1_ratio, max_iter, spec, stop)


def _vmap_path(problem, alphas, l1_ratio, max_iter, spec: Spec, stop=None) -> FitResult:
    """Every grid point from the cold start, in one batch."""
    beta0, b0 = _problem.cold_start(problem)

    def one(alpha):
        return _problem.solve(
            problem, alpha, l1_ratio, beta0, b0, max_iter, check_every=spec.check_every
        )[0]

    return jax.vmap(one)(alphas)


def _secant(alpha, carry):
    """Secant predictor along the path: on a fixed support the lasso solution
    is affine in alpha (and the elastic net's smooth), so extrapolating the
    last two solutions is an exact or close warm start. Returns the start, the
    extrapolation factor ``r`` and whether the start moved."""
    beta1, b1, a1, beta2, b2, a2 = carry
    step_back = a1 - a2
    r = jnp.where(step_back != 0, (alpha - a1) / jnp.where(step_back != 0, step_back, 1.0), 0.0)
    beta = beta1 + r * (beta1 - beta2)
    moved = (r != 0) & (jnp.any(beta1 != beta2) | jnp.any(b1 != b2))
    return beta, b1 + r * (b1 - b2), moved, r


def _predict(alpha, carry):
    """:func:`_secant`'s start, a coordinate whose sign would flip set to zero
    instead (it left the support somewhere between the two grid points)."""
    beta, b, moved, _ = _secant(alpha, carry)
    return jnp.where(beta * carry[0] < 0, 0.0, beta), b, moved


def _warm_path(problem, alphas, l1_ratio, max_iter, spec: Spec, stop=None) -> FitResult:
    """Continuation over chunks of the grid, each chunk one batch."""
    beta0, b0 = _problem.cold_start(problem)
    n = alphas.shape[0]
    chunk_size = min(spec.chunk_size, n)
    n_chunks = -(-n // chunk_size)
    # Pad by repeating the last alpha: the extra solves start at their solution.
    padded = jnp.concatenate([alphas, jnp.repeat(alphas[-1:], n_chunks * chunk_size - n)])

    def one(alpha, beta, b, refine):
        return _problem.solve(
            problem,
            alpha,
            l1_ratio,
            beta,
            b,
            max_iter,
            check_every=spec.check_every,
            refine=refine,
        )

    def step(carry, chunk):
        # An extrapolated start may already meet the tolerance; refining it
        # anyway keeps the path smooth instead of tolerance-sized steps.
        if chunk_size == 1:
            # Unbatched: a batch of one would still batch the solver's loops
            # (a select per carried value and iteration), and trace slower.
            solved = one(chunk[0], *_predict(chunk[0], carry))
            fits, betas, bs = jax.tree.map(lambda a: a[None], solved)
        else:
            starts = jax.vmap(_predict, in_axes=(0, None))(chunk, carry)
            fits, betas, bs = jax.vmap(one)(chunk, *starts)
        beta1, b1, a1 = carry[:3]
        return (betas[-1], bs[-1], chunk[-1], beta1, b1, a1), fits

    init = (beta0, b0, alphas[0], beta0, b0, alphas[0])
    chunks = (padded.reshape(n_chunks, chunk_size), jnp.arange(n_chunks) * chunk_size)
    _, fits = jax.lax.scan(_until(step, stop), init, chunks)
    return jax.tree.map(lambda a: a.reshape((n_chunks * chunk_size,) + a.shape[2:])[:n], fits)


def _working_set_path(problem, alphas, l1_ratio, max_iter, spec: Spec, stop=None) -> FitResult:
    """Continuation one grid point at a time, each by the working-set solver.

    Not vmapped: the solver's switch over set sizes must see an unbatched
    index. The image and gradient are affine in the coefficients, so the
    secant start gets them by the same extrapolation, without a product with
    the data. Its coordinates whose sign flips are kept as extrapolated (not
    zeroed as in :func:`_predict`): zeroing them would cost the start a fresh
    image and gradient, two products with the data, and coordinate descent
    settles such a coordinate in its first visit anyway.
    """
    # The solver gathers columns of the design: once transposed for the whole
    # path, each gather copies contiguous rows.
    datafit = problem.datafit
    if _prox_newton.applies(datafit):
        xt = _prox_newton.transposed(datafit)
    else:
        xt = _working_set.transposed(datafit)
    beta0, b0 = _problem.cold_start(problem)

    def step_one(carry, alpha):
        points, (u1, g1), (u2, g2) = carry
        beta, b, moved, r = _secant(alpha, points)
        # A long extrapolation (an uneven grid) also magnifies rounding: such
        # a start gets its image computed afresh.
        start = (u1 + r * (u1 - u2), g1 + r * (g1 - g2), jnp.abs(r) <= 2.0)
        fit, beta, b, image = _problem.solve(
            problem,
            alpha,
            l1_ratio,
            beta,
            b,
            max_iter,
            check_every=spec.check_every,
            refine=moved,
            working_set=True,
            xt=xt,
            start=start,
            return_image=True,
        )
        if image is None:  # the working set does not apply: no image to carry
            image = (u1, g1)
        beta1, b1, a1 = points[:3]
        return ((beta, b, alpha, beta1, b1, a1), image, (u1, g1)), fit

    # The cold start's image: the first start extrapolates nothing (r = 0).
    u0 = problem.datafit.forward(beta0)
    g0 = problem.datafit.value_and_grad_at(u0, beta0, b0)[1]
    points = (beta0, b0, alphas[0], beta0, b0, alphas[0])
    init = (points, (u0, g0), (u0, g0))
    return jax.lax.scan(_until(step_one, stop), init, (alphas, jnp.arange(alphas.shape[0])))[1]


_STRATEGIES = {"vmap": _vmap_path, "warm": _warm_path, "working_set": _working_set_path}


def _until(step, stop):
    """A scan step over ``(x, first grid index)`` that runs ``step`` only while
    ``first index < stop`` and otherwise passes the carry through with filler."""
    if stop is None:
        return lambda carry, xs: step(carry, xs[0])

    def skip(carry, x):
        out = jax.eval_shape(step, carry, x)[1]
        filler = jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), out)
        filler = dataclasses.replace(
            filler, status=jnp.full(out.status.shape, Status.MAX_ITER, out.status.dtype)
        )
        return carry, filler

    def guarded(carry, xs):
        x, first = xs
        return jax.lax.cond(first < stop, step, skip, carry, x)

    return guarded


def coordinate_descent(kwargs) -> bool:
    """``unhoisted`` for the path and CV entry points (see :mod:`jaxreg._compile`):
    the configurations that run coordinate descent."""
    return kwargs["spec"].coordinate_descent
