"""Proximal Newton on working sets, for datafits with curvature weights.

The objective is ``f(X~ beta + b) + h(beta)`` with ``f`` a sum of smooth
per-sample losses (the logistic loss). Each outer iteration, at the point
``z = X~ beta + b``,

1. takes the full gradient and certifies the point by its duality gap (the
   certificate and stopping rule every solver uses);
2. picks a working set: every nonzero or unpenalized column and every column
   that violates its optimality condition;
3. builds the quadratic model of ``f`` there, with the per-sample curvature
   weights ``H`` (``s p (1 - p)`` for the logistic loss), and minimizes model
   plus penalty over the set (and the intercept, exactly: it is a coordinate
   like the others, with a column of ones) by cyclic coordinate descent;
4. moves along the model's step by a backtracking line search on the true
   objective.

The model's minimizer is a Newton-type direction, so the outer iterations
converge fast once the support is found, whatever the design's conditioning;
the cost per outer iteration is one product with the whole design (the
gradient that certifies the point and picks the next set) and coordinate
descent on the set's columns only.

The set is padded to a size from the ladder of :func:`jaxreg._working_set.sizes`
(the padding pinned at zero by its bounds) and a ``lax.switch`` picks the
rung, so shapes stay static. Under ``vmap`` a switch evaluates every rung:
this solver is for sequential solves (the CPU path and CV strategies).
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax import Array

from jaxreg import _columns, _working_set
from jaxreg._certificate import RUNNING, Certificate, certificate_parts, meets_tolerance
from jaxreg.penalties import ElasticNetPenalty
from jaxreg.prox import prox_elastic_net
from jaxreg.result import Status
from jaxreg.solvers import SolverResult, Start

_MAX_ROUNDS = 200
# Coordinate-descent epochs per model, at most.
_MAX_EPOCHS = 100
# A model is solved until its KKT residual falls below this share of the
# outer point's (loose while far away, tight near the solution), or to the
# rounding of the gradient (this many eps times its largest entry).
_MODEL_SHARE = 0.3
_MODEL_FLOOR = 64.0
# The stopping rule's KKT bound, as a share of FISTA's (see :func:`_pass`).
_KKT_SHARE = 0.1
# Armijo constant and the most halvings of the line search.
_ARMIJO = 0.25
_MAX_HALVINGS = 30


def applies(datafit) -> bool:
    """Whether this solver handles the datafit (static): curvature weights,
    on a dense or sparse design."""
    return hasattr(datafit, "second_order")


def transposed(datafit):
    """The design prepared for column access, once per path (see
    :mod:`jaxreg._columns`; no column norms: the curvature weights change
    every step)."""
    return _columns.columns_for(datafit.design)


class _Context(NamedTuple):
    problem: Any
    penalty: ElasticNetPenalty
    cols: Any  # the prepared design (jaxreg._columns)
    step: Array
    max_iter: Array
    fit_intercept: bool
    ladder: tuple[int, ...]


class _State(NamedTuple):
    beta: Array
    b: Array
    u: Array  # X~ beta
    cert: Certificate
    grad: Array
    grad_b: Array
    n_iter: Array
    rounds: Array
    status: Array
    stalled: Array  # the last step found no decrease


def _model_descent(ctx: _Context, cols, coords, g, grad_b, k, tol):
    """Coordinate descent on the quadratic model over the set's first ``k``
    columns ``cols`` (bound to the curvature weights ``H``; see
    :mod:`jaxreg._columns`) and the intercept. ``g``: the loss gradient on
    the set. Returns the model's point on the set, the intercept's step, the
    step's image ``q = X~_set d + db`` (an :class:`~jaxreg._columns.Image`)
    and the sweeps (over the whole set or over its nonzeros: each counts as
    an epoch)."""
    bw, pen = _working_set.unstack(coords)
    h = cols.curvatures()
    safe = jnp.where(h > 0, h, 1.0)
    l1, l2 = pen.l1 / safe, pen.l2 / safe
    hb = jnp.sum(cols.H)

    m = bw.shape[0]
    in_range = jnp.arange(m) < k
    tiny = jnp.finfo(bw.dtype).tiny

    def coordinate(i, carry, order):
        w, q, moved = carry
        j = order[i]

        def update(dot):
            # The model's gradient in w_j (q holds the whole step's image,
            # this coordinate's part included): its exact one-dimensional
            # minimum.
            gj = g[j] + dot
            new = prox_elastic_net(w[j] - gj / safe[j], l1[j], l2[j], pen.lower[j], pen.upper[j])
            return jnp.where(h[j] > 0, new - w[j], 0.0)

        delta, w, q = cols.visit(j, w, q, update)
        return w, q, jnp.maximum(moved, h[j] * jnp.abs(delta))

    def sweep(w, db, q, order, count):
        zero = jnp.zeros((), bw.dtype)
        body = functools.partial(coordinate, order=order)
        w, q, moved = jax.lax.fori_loop(0, count, body, (w, q, zero))
        if ctx.fit_intercept:
            step_b = -(grad_b + cols.wsum(q)) / jnp.maximum(hb, tiny)
            q, db = cols.shift(step_b, q), db + step_b
            moved = jnp.maximum(moved, hb * jnp.abs(step_b))
        return w, db, q, moved

    def residual(w, db, q):
        # The model's KKT residual on the set, in gradient units: each
        # coordinate's prox-Newton step times its curvature (a coordinate
        # descent epoch's own steps understate it where columns correlate).
        grad = g + cols.wgrad(q)
        new = prox_elastic_net(w - grad / safe, l1, l2, pen.lower, pen.upper)
        out = jnp.max(jnp.where(h > 0, h * jnp.abs(new - w), 0.0), initial=0.0)
        if ctx.fit_intercept:
            out = jnp.maximum(out, jnp.abs(grad_b + cols.wsum(q)))
        return out

    def active(state):
        # Sweeps over the nonzero coordinates only, until they settle: most
        # of the set stays at zero, and a sweep over it costs as much as one
        # over the nonzeros again.
        def body(inner):
            w, db, q, sweeps, _ = inner
            nonzero = (w != 0) & in_range
            order = _working_set.set_indices(nonzero, m)
            w, db, q, moved = sweep(w, db, q, order, jnp.sum(nonzero))
            return w, db, q, sweeps + 1, moved

        def unsettled(inner):
            return (inner[3] < _MAX_EPOCHS) & (inner[4] > tol)

        w, db, q, epochs = state
        init = (w, db, q, jnp.zeros((), jnp.int32), jnp.asarray(jnp.inf, bw.dtype))
        w, db, q, sweeps, _ = jax.lax.while_loop(unsettled, body, init)
        return w, db, q, epochs + sweeps

    def epoch(state):
        w, db, q, epochs, _ = state
        # g is the gradient at bw: the model's gradient at w is g + Z' H q,
        # q = Z (w - bw) + db. A full sweep (it may add coordinates), then
        # the nonzeros until they settle, then the model's residual.
        w, db, q, _ = sweep(w, db, q, jnp.arange(m), k)
        w, db, q, epochs = active((w, db, q, epochs))
        return w, db, q, epochs + 1, residual(w, db, q)

    def running(state):
        return (state[3] < _MAX_EPOCHS) & (state[4] > tol)

    zero = jnp.zeros((), bw.dtype)
    inf = jnp.asarray(jnp.inf, bw.dtype)
    q0 = cols.start(jnp.zeros_like(cols.H))
    init = (bw, zero, q0, jnp.zeros((), jnp.int32), inf)
    w, db, q, epochs, _ = jax.lax.while_loop(running, epoch, init)
    return w, db, q, epochs


def _line_search(datafit, z, pen, bw, w, q, db, g, grad_b):
    """The step length along ``(w - bw, db)``: backtracking from 1 until the
    true objective falls by an Armijo share of the model's predicted decrease.
    Only the set's coefficients move, so the penalty is evaluated on them."""
    d = w - bw
    base = datafit.loss_at(z) + pen.value(bw)
    predicted = jnp.dot(g, d) + grad_b * db + pen.value(w) - pen.value(bw)
    # Never positive at the model's minimizer; rounding can make it so.
    predicted = jnp.minimum(predicted, 0.0)

    def objective(t):
        return datafit.loss_at(z + t * q) + pen.value(bw + t * d)

    def shorter(state):
        t, _, halvings = state
        t = 0.5 * t
        return t, objective(t), halvings + 1

    # Near the solution the predicted decrease falls below the objective's
    # rounding: a step that raises the objective by no more than that is
    # taken (the KKT residual, which the gap needs, still improves).
    noise = 16 * jnp.finfo(z.dtype).eps * jnp.abs(base)

    def insufficient(state):
        t, value, halvings = state
        enough = value <= base + jnp.minimum(_ARMIJO * t * predicted, 0.0) + jnp.where(
            -predicted < noise, noise, 0.0
        )
        return (halvings < _MAX_HALVINGS) & ~enough

    one = jnp.ones((), z.dtype)
    t, value, halvings = jax.lax.while_loop(insufficient, shorter, (one, objective(one), 0))
    # No acceptable step after every halving: stay (the caller stops).
    return jnp.where(insufficient((t, value, halvings - 1)), 0.0, t)


def _on_rung(ctx: _Context, m: int, beta, b, u, grad, idx, coords, k, tol):
    """One outer step on a set of at most ``m`` columns: the model minimized
    by coordinate descent, then the line search. Returns the set's new values
    padded to the largest rung, the intercept, the image and the epochs."""
    datafit = ctx.problem.datafit
    idx, coords = idx[:m], coords[:, :m]
    bw, pen = _working_set.unstack(coords)
    z = u + b
    r, H = datafit.second_order(z)
    cols = ctx.cols.take(idx).bind(H)
    # The loss gradient on the set: the full one's entries (padding: zero).
    g = grad.at[idx].get(mode="fill", fill_value=0)
    grad_b = jnp.sum(r)
    w, db, q, epochs = _model_descent(ctx, cols, coords, g, grad_b, k, tol)
    q = cols.dense(q)
    t = _line_search(datafit, z, pen, bw, w, q, db, g, grad_b)
    # No acceptable step (t = 0): stay exactly where we are, even if the
    # model's point is not finite.
    moved = t > 0
    new = jnp.where(moved, bw + t * (w - bw), bw)
    b = jnp.where(moved, b + t * db, b)
    # Every nonzero is in the set: the image is a fresh product with the
    # set's columns (never one kept up to date by increments).
    top = ctx.ladder[-1]
    return jnp.pad(new, (0, top - m)), b, cols.image(new), epochs, moved


def _certify(ctx: _Context, beta, b, u):
    datafit = ctx.problem.datafit
    value, grad, grad_b, aux = datafit.value_and_grad_at(u, beta, b)
    cert = certificate_parts(ctx.penalty, datafit, value, grad, grad_b, aux, beta, ctx.step)
    return cert, grad, grad_b


def _pass(ctx: _Context, rungs, refine, state: _State) -> _State:
    """Certify the current point; if it falls short, one outer step."""
    problem = ctx.problem
    if ctx.fit_intercept:
        # Certified at the intercept's exact minimizer for this image: the
        # intercept's dual constraint then holds, so the gap is a true bound.
        state = state._replace(b=problem.datafit.best_intercept(state.u, state.b))
    cert, grad, grad_b = _certify(ctx, state.beta, state.b, state.u)
    finite = jnp.isfinite(cert.gap) & jnp.isfinite(cert.kkt)
    first = state.rounds == 0
    # The KKT residual is held 10x below FISTA's bound: on free coordinates
    # (which the gap cannot see) the residual bounds the suboptimality only
    # through the flattest curvature, and one more Newton step, converging
    # fast, costs little.
    met = meets_tolerance(cert, problem.gap_tol, _KKT_SHARE**2 * problem.lipschitz)
    met = met & ~(jnp.asarray(refine) & first)
    status = jnp.where(state.n_iter >= ctx.max_iter, Status.MAX_ITER, RUNNING)
    status = jnp.where(state.rounds >= _MAX_ROUNDS, Status.MAX_ITER, status)
    # No step lowers the objective, yet the certificate falls short: the
    # point is at the dtype's resolution.
    status = jnp.where(state.stalled, Status.STALLED, status)
    status = jnp.where(finite, status, Status.NONFINITE)
    status = jnp.where(met, Status.CONVERGED, status).astype(jnp.int32)
    state = state._replace(cert=cert, grad=grad, grad_b=grad_b, status=status)
    return jax.lax.cond(status == RUNNING, functools.partial(_step, ctx, rungs), lambda s: s, state)


def _step(ctx: _Context, rungs, state: _State) -> _State:
    scores, must = _working_set.set_scores(ctx.penalty, state.beta, state.grad)
    in_set = must | (scores > 1.0)
    k = jnp.sum(in_set).astype(jnp.int32)
    rung = jnp.minimum(jnp.sum(jnp.asarray(ctx.ladder) < k), len(ctx.ladder) - 1)
    idx, coords = _working_set.gather(ctx.penalty, state.beta, in_set, k, ctx.ladder[-1])
    # The floor is the rounding of the gradient itself: below it the model's
    # residual cannot be resolved.
    noise = _MODEL_FLOOR * jnp.finfo(state.grad.dtype).eps * jnp.max(jnp.abs(state.grad))
    tol = jnp.maximum(_MODEL_SHARE * state.cert.kkt, noise)
    new, b, u, epochs, moved = jax.lax.switch(
        rung, rungs, state.beta, state.b, state.u, state.grad, idx, coords, k, tol
    )
    beta = state.beta.at[idx].set(new, mode="drop")
    return state._replace(
        beta=beta,
        b=b,
        u=u,
        n_iter=state.n_iter + epochs,
        rounds=state.rounds + 1,
        stalled=~moved,
    )


def solve(
    problem,
    penalty: ElasticNetPenalty,
    start: Start,
    max_iter: Array,
    *,
    refine: Array | bool = False,
    xt=None,
) -> SolverResult:
    """Minimize ``datafit(beta, b) + penalty(beta)`` by proximal Newton steps
    on working sets (see the module docstring).

    ``problem``, ``penalty``, ``start``, ``max_iter`` and ``refine`` as for
    :func:`~jaxreg.solvers.fista`; ``xt``: the design from :func:`transposed`
    when the caller has it (a path computes it once). ``n_iter`` counts the
    coordinate-descent sweeps of all models (over a whole set or over its
    nonzeros), checked against ``max_iter`` between outer steps. Stops on the
    full problem's duality gap, by FISTA's rule
    (:func:`~jaxreg._certificate.meets_tolerance`) with a KKT bound ten times
    tighter, at the intercept refitted exactly for the iterate's coefficients
    (as FISTA does); ``MAX_ITER`` after ``max_iter`` sweeps or 200 outer steps,
    ``STALLED`` when no step along the model's direction lowers the
    objective while the certificate still falls short, ``NONFINITE`` on a
    non-finite certificate.
    """
    datafit = problem.datafit
    if xt is None:
        xt = transposed(datafit)
    p = start.beta.shape[0]
    # A sparse design's set costs its size in vectors only (its columns are
    # read entry by entry): one rung, p, compiles once.
    sparse = isinstance(xt, _columns.SparseColumns)
    ladder = (p,) if sparse else _working_set.sizes(p, datafit.design.shape[0])
    ctx = _Context(
        problem=problem,
        penalty=penalty,
        cols=xt,
        step=1.0 / problem.lipschitz,
        max_iter=max_iter,
        fit_intercept=datafit.iterates_intercept,
        ladder=ladder,
    )
    rungs = [functools.partial(_on_rung, ctx, m) for m in ladder]
    zero = jnp.zeros((), jnp.int32)
    beta0 = start.beta
    b0 = start.b if ctx.fit_intercept else jnp.zeros_like(start.b)
    u0 = datafit.forward(beta0)
    cert0 = Certificate(*(jnp.zeros((), beta0.dtype) for _ in range(3)))
    init = _State(
        beta0,
        b0,
        u0,
        cert0,
        jnp.zeros_like(beta0),
        jnp.zeros_like(b0),
        zero,
        zero,
        jnp.asarray(RUNNING, jnp.int32),
        jnp.asarray(False),
    )
    body = functools.partial(_pass, ctx, rungs, refine)
    out = jax.lax.while_loop(lambda s: s.status == RUNNING, body, init)
    return SolverResult(out.beta, out.b, out.n_iter, out.cert, out.status, None)
