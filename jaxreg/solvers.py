"""Solvers: proximal gradient (ISTA / FISTA) and closed-form ridge.

The proximal-gradient solver is a ``lax.while_loop`` whose body runs
``check_every`` iterations in an inner ``fori_loop`` and then evaluates the
optimality certificate (duality gap and KKT residual). There is no branching
on traced values, so the solver vmaps into batched matrix products: under
``vmap`` a finished lane is frozen by the loop's select while the others go on.

A penalized solver takes ``(problem, penalty, start)``: a
:class:`SolverProblem` (or any object with its attributes), the penalty, read
only through its methods, and a :class:`Start`; it returns a
:class:`SolverResult`.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax import Array

from jaxreg._certificate import RUNNING, Certificate, certificate, certificate_at, meets_tolerance
from jaxreg.penalties import ElasticNetPenalty
from jaxreg.result import Status

__all__ = [
    "SolverProblem",
    "SolverResult",
    "Start",
    "certificate",
    "conjugate_gradient",
    "fista",
    "ridge_cg",
    "ridge_cholesky",
    "ridge_dual",
    "ridge_svd",
]

# Share of each block of iterations given to conjugate-gradient steps on the
# current support (quadratic datafits, blocks of at least _POLISH_MIN_BLOCK).
_POLISH_SHARE = 0.3
_POLISH_MIN_BLOCK = 4
# The iterate jumps to the polished point when the steps cut the squared
# residual on the support at least this much (a well-conditioned support);
# elsewhere it keeps its momentum, which badly conditioned supports need.
_POLISH_JUMP = 0.1
# A solve whose gap has not improved by 1%, nor its objective reached a new
# low by more than _OBJECTIVE_ROUNDING eps (relative), for this many checks,
# while already within sqrt(eps) (relative) of the tolerance's scale, has hit
# rounding noise.
_STALL_CHECKS = 100
_OBJECTIVE_ROUNDING = 256.0


class SolverProblem(NamedTuple):
    """What a solver reads of a problem: the datafit, the Lipschitz constant of
    its gradient, the duality-gap tolerance and the objective's scale (the
    stall test's unit; ``None``: that of ``gap_tol``). The engine's prepared
    problem has the same attributes and is passed as it is."""

    datafit: Any
    lipschitz: Array
    gap_tol: Array
    gap_scale: Array | None = None


class Start(NamedTuple):
    """A solver's starting point ``(beta, b)``. ``u``: its image
    ``datafit.forward(beta)`` when the caller has it; ``grad``: the datafit's
    gradient in ``beta`` there; ``valid``: a traced boolean, whether ``u`` and
    ``grad`` may be used (``None``: they may, where given)."""

    beta: Array
    b: Array
    u: Array | None = None
    grad: Array | None = None
    valid: Array | None = None


class SolverResult(NamedTuple):
    """A solver's answer: the coefficients ``beta`` and intercept ``b``, the
    iterations spent, the :class:`Certificate` of the point returned and its
    :class:`~jaxreg.result.Status`. ``image``: ``(u, grad)``, the datafit's
    image and gradient at ``beta``, where the solver has them (the working-set
    solver; ``None`` otherwise)."""

    beta: Array
    b: Array
    n_iter: Array
    cert: Certificate
    status: Array
    image: tuple[Array, Array] | None = None


class _State(NamedTuple):
    beta: Array
    b: Array
    u: Array  # datafit.forward(beta)
    z: Array
    zb: Array
    uz: Array  # datafit.forward(z), by linearity
    t: Array
    n_iter: Array
    cert: Certificate
    status: Array
    best_gap: Array
    best_objective: Array
    since_best: Array
    beta_ref: Array  # mixed precision: the last point whose image is exact (else empty)
    u_ref: Array
    x: Array  # with support polishing: the certified point (else empty)
    ux: Array


def _polish_steps(datafit, check_every: int, unrolled_blocks) -> int:
    """Conjugate-gradient steps per block of ``check_every`` iterations (static;
    none for a non-quadratic datafit, an unrolled solve or a short block)."""
    quadratic = hasattr(datafit, "curvature")
    if not quadratic or unrolled_blocks is not None or check_every < _POLISH_MIN_BLOCK:
        return 0
    return round(_POLISH_SHARE * check_every)


def _support_polish(datafit, penalty: ElasticNetPenalty, beta, u, b, steps: int, mixed: bool):
    r"""Conjugate gradients on the support of ``beta``, its signs held fixed.

    On the coordinates ``F`` strictly inside their bounds and nonzero (or
    unpenalized), with signs ``s``, the objective of a quadratic datafit is the
    quadratic :math:`f(w) + \sum_{j \in F} \lambda_{1,j} s_j w_j + \tfrac12
    \lambda_{2,j} w_j^2`: once a prox-gradient method has found the support, its
    minimizer is the solution, and conjugate gradients reach it at the rate of
    the support's conditioning, where the prox-gradient steps have the full
    problem's. Returns the point after ``steps`` steps from ``beta`` and its
    image (tracked, by linearity).
    """
    grad, _ = datafit.grad_at(u, b)
    F = (beta > penalty.lower) & (beta < penalty.upper) & ((beta != 0) | (penalty.l1 == 0))
    r = jnp.where(F, -(grad + penalty.l1 * jnp.sign(beta) + penalty.l2 * beta), 0.0)
    rr0 = jnp.dot(r, r)

    def cg_step(_, state):
        x, ux, r, d, rr = state
        image = datafit.forward_increment(d) if mixed else datafit.forward(d)
        Hd = jnp.where(F, datafit.curvature(image) + penalty.l2 * d, 0.0)
        x, r, d, rr, a = _cg_update(x, r, d, rr, Hd)
        return x, ux + a * image, r, d, rr

    # A loop, not unrolled: one copy of the step in the compiled code.
    x, ux, _, _, rr = jax.lax.fori_loop(0, steps, cg_step, (beta, u, r, r, rr0))
    return x, ux, rr / jnp.where(rr0 > 0, rr0, 1.0)


def _cg_update(x, r, d, rr, Ad):
    """One conjugate-gradient step given ``Ad``, the operator applied to the
    direction ``d``: the new point, residual, direction, squared residual norm,
    and the step length (zero where the curvature along ``d`` is not positive)."""
    dAd = jnp.dot(d, Ad)
    ok = dAd > 0
    a = jnp.where(ok, rr / jnp.where(ok, dAd, 1.0), 0.0)
    x, r = x + a * d, r - a * Ad
    rr_new = jnp.dot(r, r)
    d = r + jnp.where(rr > 0, rr_new / jnp.where(rr > 0, rr, 1.0), 0.0) * d
    return x, r, d, rr_new, a


class _Fista(NamedTuple):
    """What the blocks of one proximal-gradient solve read: the problem's
    arrays (traced) and the solve's static options (Python values, bound with
    ``functools.partial`` and never traced)."""

    datafit: Any
    penalty: ElasticNetPenalty
    step: Array
    step_b: Array | float  # the intercept's step (0 when it is not iterated)
    gap_tol: Array
    lipschitz: Array
    stall_gap: Array
    max_iter: Array
    fit_b: bool
    accelerate: bool
    mixed: bool
    polish_steps: int
    check_every: int


def _fista_context(
    problem, penalty, dtype, max_iter, accelerate: bool, check_every: int, unrolled_blocks
) -> _Fista:
    """The solve's context: its step sizes, stall threshold and static options."""
    datafit = problem.datafit
    fit_b = datafit.iterates_intercept
    scale = problem.gap_tol if problem.gap_scale is None else problem.gap_scale
    return _Fista(
        datafit=datafit,
        penalty=penalty,
        step=1.0 / problem.lipschitz,
        step_b=1.0 / datafit.intercept_lipschitz if fit_b else 0.0,
        gap_tol=problem.gap_tol,
        lipschitz=problem.lipschitz,
        stall_gap=jnp.sqrt(jnp.finfo(dtype).eps) * scale,
        max_iter=max_iter,
        fit_b=fit_b,
        accelerate=accelerate,
        # Mixed precision (a float64 Gram matrix with a float32 copy): products in
        # float32 on the step from the last exact image. Not when unrolled, whose
        # derivative would go through the rounded products.
        mixed=getattr(datafit, "mixed", False) and unrolled_blocks is None,
        # The polish reads per-coordinate weights: separable penalties only.
        polish_steps=_polish_steps(datafit, check_every, unrolled_blocks)
        if penalty.separable
        else 0,
        check_every=check_every,
    )


def _fista_status(ctx: _Fista, cert: Certificate, n_iter: Array, since_best: Array) -> Array:
    """The status after a certificate: converged, out of iterations, stalled
    at the dtype's resolution, non-finite, or still running."""
    done = meets_tolerance(cert, ctx.gap_tol, ctx.lipschitz)
    finite = jnp.isfinite(cert.gap) & jnp.isfinite(cert.kkt)
    stalled = (since_best >= _STALL_CHECKS) & (cert.gap <= ctx.stall_gap)
    status = jnp.where(n_iter >= ctx.max_iter, Status.MAX_ITER, RUNNING)
    status = jnp.where(stalled, Status.STALLED, status)
    status = jnp.where(~finite, Status.NONFINITE, status)
    return jnp.where(done, Status.CONVERGED, status).astype(jnp.int32)


def _fista_step(ctx: _Fista, _, s: _State) -> _State:
    """One proximal-gradient iteration (with momentum and adaptive restart
    when accelerated)."""
    datafit, step = ctx.datafit, ctx.step
    grad, grad_b = datafit.grad_at(s.uz, s.zb)
    beta = ctx.penalty.prox(s.z - step * grad, step)
    b = s.zb - ctx.step_b * grad_b if ctx.fit_b else s.zb
    # The one product with the data per iteration: the image of the new
    # iterate, which the next step (through uz) and the certificate share.
    if ctx.mixed:
        u = s.u_ref + datafit.forward_increment(beta - s.beta_ref)
    else:
        u = datafit.forward(beta)
    if not ctx.accelerate:
        return s._replace(beta=beta, b=b, u=u, z=beta, zb=b, uz=u)
    t = 0.5 * (1.0 + jnp.sqrt(1.0 + 4.0 * s.t * s.t))
    momentum = (s.t - 1.0) / t
    # Restart when the momentum direction opposes the prox-gradient step.
    restart = jnp.dot(s.z - beta, beta - s.beta) + jnp.vdot(s.zb - b, b - s.b) > 0
    momentum = jnp.where(restart, 0.0, momentum)
    t = jnp.where(restart, jnp.ones_like(t), t)
    z = beta + momentum * (beta - s.beta)
    zb = b + momentum * (b - s.b)
    uz = u + momentum * (u - s.u)
    return s._replace(beta=beta, b=b, u=u, z=z, zb=zb, uz=uz, t=t)


def _refit_intercept(ctx: _Fista, s: _State) -> _State:
    """The intercept's exact minimizer at the current image, for a datafit
    that iterates it."""
    if not ctx.fit_b:
        return s
    b = ctx.datafit.best_intercept(s.u, s.b)
    return s._replace(b=b, zb=b)


def _polish_block(ctx: _Fista, s: _State) -> _State:
    """The end of a block with support polishing: the certified point, and the
    iterate's jump there where the steps converge fast."""
    datafit, penalty = ctx.datafit, ctx.penalty
    # The certified point: conjugate gradients on the support from the
    # iterate, which itself goes on undisturbed (its momentum intact).
    x, ux, shrink = _support_polish(datafit, penalty, s.beta, s.u, s.b, ctx.polish_steps, ctx.mixed)
    # Certified where it improves on the iterate within the bounds.
    value = lambda u, w: datafit.value_and_grad_at(u, w, s.b)[0] + penalty.value(w)  # noqa: E731
    new = value(ux, x)
    valid = (
        (new < value(s.u, s.beta))
        & jnp.isfinite(new)
        & jnp.all(x >= penalty.lower)
        & jnp.all(x <= penalty.upper)
    )
    x, ux = jnp.where(valid, x, s.beta), jnp.where(valid, ux, s.u)
    if ctx.mixed:
        # Exact image for the certificate; the next block is anchored there.
        ux = datafit.forward(x)
        s = s._replace(u_ref=ux, beta_ref=x)
    s = s._replace(x=x, ux=ux)
    # Where the steps converge fast (a well-conditioned support), the
    # iterate jumps to their end point and restarts its momentum.
    jump = valid & (shrink <= _POLISH_JUMP)
    pick = lambda a, c: jnp.where(jump, a, c)  # noqa: E731
    return s._replace(
        beta=pick(x, s.beta),
        u=pick(ux, s.u),
        z=pick(x, s.z),
        uz=pick(ux, s.uz),
        t=pick(jnp.ones_like(s.t), s.t),
    )


def _fista_block(ctx: _Fista, s: _State) -> _State:
    """One block: ``check_every`` iterations, then the certificate."""
    steps = ctx.check_every - ctx.polish_steps
    s = _refit_intercept(ctx, jax.lax.fori_loop(0, steps, functools.partial(_fista_step, ctx), s))
    if ctx.polish_steps:
        s = _polish_block(ctx, s)
    elif ctx.mixed:
        # The certificate needs the exact image; the next block is anchored at it.
        u = ctx.datafit.forward(s.beta)
        s = s._replace(u=u, u_ref=u, beta_ref=s.beta)
    n_iter = s.n_iter + ctx.check_every
    if ctx.polish_steps:
        cert = certificate_at(ctx.datafit, ctx.penalty, s.ux, s.x, s.b, ctx.step)
    else:
        cert = certificate_at(ctx.datafit, ctx.penalty, s.u, s.beta, s.b, ctx.step)
    gap_fell = cert.gap < 0.99 * s.best_gap
    # Progress is also a new low of the objective beyond its rounding: an
    # ill-conditioned solve's gap can stay flat for hundreds of checks while
    # the objective still falls, and then drop.
    rounding = _OBJECTIVE_ROUNDING * jnp.finfo(cert.objective.dtype).eps
    fell = cert.objective < s.best_objective - rounding * jnp.abs(cert.objective)
    since_best = jnp.where(gap_fell | fell, 0, s.since_best + 1)
    return s._replace(
        n_iter=n_iter,
        cert=cert,
        status=_fista_status(ctx, cert, n_iter, since_best),
        best_gap=jnp.where(gap_fell, cert.gap, s.best_gap),
        best_objective=jnp.minimum(cert.objective, s.best_objective),
        since_best=since_best,
    )


def _start_image(datafit, start: Start) -> Array:
    """``datafit.forward(start.beta)``: the start's own where given and valid."""
    if start.u is None:
        return datafit.forward(start.beta)
    if start.valid is None:
        return start.u
    return jax.lax.cond(start.valid, lambda: start.u, lambda: datafit.forward(start.beta))


def _fista_init(ctx: _Fista, start: Start, refine, certify_start: bool) -> _State:
    """The loop's initial state at the start, its intercept refitted."""
    beta0, dtype = start.beta, start.beta.dtype
    zero_iter = jnp.zeros((), jnp.int32)
    u0 = _start_image(ctx.datafit, start)
    b0 = ctx.datafit.best_intercept(u0, start.b) if ctx.fit_b else start.b
    if certify_start:
        cert0 = certificate_at(ctx.datafit, ctx.penalty, u0, beta0, b0, ctx.step)
        status0 = jnp.where(refine, RUNNING, _fista_status(ctx, cert0, zero_iter, zero_iter))
    else:
        # Placeholders: the first block certifies its own point.
        cert0 = Certificate(*(jnp.full((), jnp.inf, dtype) for _ in range(3)))
        status0 = jnp.asarray(RUNNING)
    return _State(
        beta0,
        b0,
        u0,
        beta0,
        b0,
        u0,
        jnp.ones((), dtype),
        zero_iter,
        cert0,
        status0.astype(jnp.int32),
        cert0.gap,
        cert0.objective,
        zero_iter,
        # Only mixed precision reads the anchor: carry nothing otherwise.
        beta0 if ctx.mixed else jnp.zeros((0,), dtype),
        u0 if ctx.mixed else jnp.zeros((0,), u0.dtype),
        beta0 if ctx.polish_steps else jnp.zeros((0,), dtype),
        u0 if ctx.polish_steps else jnp.zeros((0,), u0.dtype),
    )


def _is_running(s) -> Array:
    return s.status == RUNNING


def _frozen_block(block, s: _State, _):
    """A block under ``lax.scan``: a finished solve stays as it is."""
    new = block(s)
    running = s.status == RUNNING
    return jax.tree.map(lambda a, b: jnp.where(running, b, a), s, new), None


def fista(
    problem: SolverProblem,
    penalty: ElasticNetPenalty,
    start: Start,
    max_iter: Array,
    *,
    accelerate: bool = True,
    check_every: int = 10,
    unrolled_blocks: int | None = None,
    refine: Array | bool = False,
    certify_start: bool = True,
) -> SolverResult:
    r"""Minimize ``datafit(beta, b) + penalty(beta)`` by proximal gradient.

    FISTA (``accelerate=True``) with the gradient-based adaptive restart of
    O'Donoghue and Candes, or ISTA. Step ``1 / lipschitz``. Stops when

    * the duality gap is ``<= gap_tol`` and
    * the KKT residual is ``<= sqrt(2 * lipschitz * gap_tol)``: the largest
      prox-gradient mapping compatible with a suboptimality of ``gap_tol``,

    checked every ``check_every`` iterations, or at ``max_iter``. If neither
    the gap nor the objective improves for 100 checks (no 1% decrease of the
    gap, no new low of the objective beyond 256 eps of it) while the gap is
    below ``sqrt(eps) * gap_scale``, the solve is at the dtype's resolution
    and stops with status ``STALLED``.

    A datafit with a float32 copy of its float64 Gram matrix (``mixed``)
    gets its iterations' products in float32, on the step from the image last
    computed exactly: at every check the image is recomputed in float64, the
    certificate uses it and the next block is anchored at it. The rounding
    error is relative to the step, so the iterates converge to the float64
    solution at half the memory traffic per product.

    For a quadratic datafit (least squares, in design or Gram mode), the last
    ``round(0.3 * check_every)`` iterations of each block are
    conjugate-gradient steps on the support of the current iterate, its signs
    held fixed. The certificate is evaluated at their end point
    when it lowers the objective within the bounds (else at the iterate),
    and the certified point is the one returned. Where the steps converge
    fast (a well-conditioned support) the iterate jumps there and restarts
    its momentum; elsewhere it goes on undisturbed. Once the support is
    identified, conjugate gradients solve the problem on it at the support's
    conditioning, and the duality gap, which at a prox-gradient iterate
    shrinks only linearly with the error (its dual point must be rescaled into
    feasibility), becomes about as small as the suboptimality itself. Every
    step costs one product and counts as an iteration.

    With ``refine`` true (a traced boolean is fine) the starting point is never
    returned as it is: at least
    one block of ``check_every`` iterations runs, even when the start already
    meets the tolerance (a path's extrapolated warm start otherwise leaves
    visible tolerance-sized steps along the path).

    ``certify_start=False`` (static) skips the certificate of the start: at
    least one block runs, as with ``refine``, and none of the start's
    certificate is compiled (a caller that knows its start falls short, such
    as the working-set solver's finish).

    With ``unrolled_blocks`` set, the loop is a ``lax.scan`` over that many
    blocks of ``check_every`` iterations, frozen once finished: the same
    iterates, but reverse-mode differentiable (what ``diff="unrolled"`` uses).

    Args:
      problem: the datafit, its ``lipschitz`` constant, the gap tolerance
        ``gap_tol`` and the objective's scale ``gap_scale`` (``None``: that of
        ``gap_tol``); a :class:`SolverProblem`, or any object with these
        attributes.
      penalty: the penalty, read through its prox and certificate methods.
      start: the starting point; ``start.u``, its image
        ``datafit.forward(start.beta)``, is used where given (and
        ``start.valid`` holds, when given) instead of a product.
      max_iter: the iteration budget (traced).

    Returns:
      A :class:`SolverResult` (no ``image``).

    References:
      Beck and Teboulle, A fast iterative shrinkage-thresholding algorithm for
      linear inverse problems, SIAM J. Imaging Sci. 2(1), 2009.
      O'Donoghue and Candes, Adaptive restart for accelerated gradient schemes,
      Found. Comput. Math. 15, 2015.
    """
    dtype = start.beta.dtype
    ctx = _fista_context(
        problem, penalty, dtype, max_iter, accelerate, check_every, unrolled_blocks
    )
    init = _fista_init(ctx, start, refine, certify_start)
    block = functools.partial(_fista_block, ctx)
    if unrolled_blocks is None:
        out = jax.lax.while_loop(_is_running, block, init)
    else:
        body = functools.partial(_frozen_block, block)
        out, _ = jax.lax.scan(body, init, None, length=int(unrolled_blocks))
    beta = out.x if ctx.polish_steps else out.beta
    return SolverResult(beta, out.b, out.n_iter, out.cert, out.status)


def ridge_cholesky(G: Array, c: Array, reg: Array) -> Array:
    """Solve ``(G + diag(reg)) beta = c`` by Cholesky (primal form, n >= p)."""
    return _cholesky_solver(G, reg)(c)


def _cholesky_solver(G: Array, reg: Array):
    """``v -> (G + diag(reg))^-1 v``, factorized once (the ridge Hessian's solve)."""
    factor = jax.scipy.linalg.cho_factor(G + jnp.diag(reg), lower=True)
    return functools.partial(jax.scipy.linalg.cho_solve, factor)


def ridge_cg(matvec, c: Array, reg: Array, max_iter) -> Array:
    """Solve ``(G + diag(reg)) beta = c`` by conjugate gradients, ``G`` given as
    its product ``matvec`` (matrix-free: a sparse design is never densified).

    Runs to a residual of ten machine epsilons relative to ``c``, or
    ``max_iter`` products; the caller certifies the result by its duality gap.
    """
    eps = float(jnp.finfo(c.dtype).eps)
    # Jacobi preconditioning would need G's diagonal; scaling by reg alone is
    # what a penalty-factor-weighted problem needs to stay well conditioned.
    return conjugate_gradient(lambda b: matvec(b) + reg * b, c, tol=10 * eps, maxiter=max_iter)


def conjugate_gradient(matvec, b: Array, *, tol, maxiter) -> Array:
    """Plain CG for a symmetric positive definite operator, from zero.

    Stops when ``||r|| <= tol ||b||`` or after ``maxiter`` products. Everything
    ``matvec`` closes over must be a primal constant when it is used inside
    ``lax.custom_linear_solve`` (it is then transposed by calling it again).
    """
    threshold = (tol * jnp.linalg.norm(b)) ** 2

    def cond(state):
        _, r, _, rr, k = state
        return (rr > threshold) & (k < maxiter)

    def body(state):
        x, r, d, rr, k = state
        x, r, d, rr, _ = _cg_update(x, r, d, rr, matvec(d))
        return x, r, d, rr, k + 1

    x0 = jnp.zeros_like(b)
    state = (x0, b, b, jnp.dot(b, b), 0)
    return jax.lax.while_loop(cond, body, state)[0]


def ridge_dual(Xs: Array, ys: Array, reg: Array) -> Array:
    r"""Ridge in the dual (kernel) form, for p > n.

    Minimizes ``||ys - Xs beta||^2 + sum_j reg_j beta_j^2`` (``reg > 0``) as
    ``beta = D^-1 Xs' (Xs D^-1 Xs' + I)^-1 ys`` with ``D = diag(reg)``: an
    ``n x n`` solve.
    """
    XD = Xs / reg
    K = XD @ Xs.T + jnp.eye(Xs.shape[0], dtype=Xs.dtype)
    factor = jax.scipy.linalg.cho_factor(K, lower=True)
    return XD.T @ jax.scipy.linalg.cho_solve(factor, ys)


def thin_svd(A: Array) -> tuple[Array, Array, Array]:
    """Thin SVD ``A = U diag(sigma) Vt``, computed on the tall orientation.

    LAPACK's divide-and-conquer SVD of a wide matrix runs about twice as long
    as that of its transpose, so a wide ``A`` is decomposed as ``A'`` and the
    factors swapped.
    """
    if A.shape[0] >= A.shape[1]:
        return jnp.linalg.svd(A, full_matrices=False)
    U, sigma, Vt = jnp.linalg.svd(A.T, full_matrices=False)
    return Vt.T, sigma, U.T


def ridge_svd(Xs: Array, ys: Array, reg_scale: Array, alphas: Array) -> Array:
    r"""Ridge for many penalties from one SVD.

    Minimizes ``||ys - Xs beta||^2 + alpha * sum_j reg_scale_j beta_j^2`` for
    each ``alpha`` in ``alphas`` (``reg_scale > 0``). With
    ``Xs D^-1/2 = U diag(sigma) V'`` the solution is
    ``D^-1/2 V diag(sigma / (sigma^2 + alpha)) U' ys``.

    At ``alpha = 0`` this is least squares, and where ``Xs`` is rank
    deficient (a constant column, ``p > n``) the minimum-norm solution:
    singular values at the rounding level of the largest (``max(n, p)``
    epsilons of it, NumPy's ``lstsq`` cutoff) are treated as zero, where
    their inverses would amplify rounding without bound.

    Returns:
      Coefficients of shape ``alphas.shape + (p,)``.
    """
    return _svd_ridge(_scaled_svd(Xs, reg_scale), ys, alphas)


def _scaled_svd(Xs: Array, reg_scale: Array):
    """``(root, U, sigma, Vt)``: ``root = sqrt(reg_scale)`` and the thin SVD
    of ``Xs / root`` (see :func:`ridge_svd`)."""
    root = jnp.sqrt(reg_scale)
    return (root, *thin_svd(Xs / root))


def _svd_kept(sigma: Array, shape, alphas: Array) -> Array:
    """The singular directions :func:`ridge_svd` inverts at ``alphas``."""
    cutoff = max(shape) * jnp.finfo(sigma.dtype).eps * jnp.max(sigma)
    return (sigma > cutoff) | (alphas > 0)


def _svd_ridge(factors, ys: Array, alphas: Array) -> Array:
    root, U, sigma, Vt = factors
    uty = U.T @ ys
    alphas = jnp.asarray(alphas)[..., None]
    kept = _svd_kept(sigma, (U.shape[0], Vt.shape[1]), alphas)
    shrink = jnp.where(kept, sigma / jnp.where(kept, sigma**2 + alphas, 1.0), 0.0)
    return ((shrink * uty) @ Vt) / root


def _svd_hessian_solver(factors, alpha: Array):
    """``v -> H^-1 v`` for ridge's Hessian ``H = Xs'Xs + alpha diag(reg_scale)``
    from :func:`_scaled_svd`'s factors (``alpha`` a scalar). With ``A = Xs /
    root = U S Vt``, ``H = R (A'A + alpha I) R`` (``R = diag(root)``), whose
    inverse is ``R^-1 [V (S^2 + alpha)^-1 Vt + (I - V Vt) / alpha] R^-1``.
    At ``alpha = 0`` the second term is dropped and so are the directions
    :func:`ridge_svd` treats as zero: a generalized inverse, exact for the
    gradients of least squares, which lie in the span of ``Vt``."""
    root, U, sigma, Vt = factors
    kept = _svd_kept(sigma, (U.shape[0], Vt.shape[1]), alpha)
    inverse = jnp.where(kept, 1.0 / jnp.where(kept, sigma**2 + alpha, 1.0), 0.0)
    positive = alpha > 0
    safe = jnp.where(positive, alpha, 1.0)

    def solve(v):
        w = v / root
        coords = Vt @ w
        rest = jnp.where(positive, (w - Vt.T @ coords) / safe, 0.0)
        return (Vt.T @ (inverse * coords) + rest) / root

    return solve
