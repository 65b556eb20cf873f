"""Working sets for the squared loss: solve on a few columns, certify on all.

A lasso or elastic-net solution has few nonzeros, and along a path the
nonzeros of one grid point predict the next one's. The working-set solver
solves a subproblem restricted to a set ``W`` of columns (every nonzero,
every unpenalized column, every zero column that violates its optimality
condition), then computes the duality-gap certificate of the full problem at
the assembled point. If it fails, columns outside ``W`` violate their
conditions (with none, the full gap equals the subproblem's); ``W`` is
rebuilt from the new gradient and the subproblem solved again from where it
was.

The subproblem is the same datafit on the gathered columns, the part of the
fit that the other columns explain moved into the targets. In design mode it
is solved by cyclic coordinate descent (exact one-dimensional minimizations,
the residual kept up to date), the solver of choice when ``p >> n``, with
FISTA finishing where coordinate descent crawls (a support about as large as
the number of samples), on the full problem with the columns outside ``W``
pinned at zero; in Gram mode by FISTA on the ``|W| x |W|`` block.

Design mode reads its columns from a copy of the design prepared once per
path (:mod:`jaxreg._columns`: a dense design centered, scaled and
transposed, so each column is a contiguous row; a sparse one sorted by
column, its centering kept implicit, never densified). A path's grid point
starts with the image ``X~ beta`` and the gradient extrapolated from the
previous ones (both are affine in the coefficients), and a round computes
the image from the set's columns alone (every nonzero is in the set): it
reads the whole design once, for the gradient that certifies it and picks
the next set.

``W`` is padded to a size from a fixed ladder (see :func:`sizes`; its last
rung is ``p``), the padding pinned at zero by its bounds, so shapes
stay static; a ``lax.switch`` picks the rung. In design mode, when there are
smaller rungs, the rung ``p`` is the FISTA finish itself: a set larger than
every smaller rung is solved on the full problem, the columns outside it
pinned. Under ``vmap`` a switch
evaluates every rung, so this solver is for sequential (scanned or mapped)
solves: the CPU path and CV strategies.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax import Array

from jaxreg import _columns
from jaxreg._certificate import (
    RUNNING,
    Certificate,
    certificate_from_grad,
    certificate_parts,
    meets_tolerance,
)
from jaxreg.datafits import Quadratic, QuadraticGram
from jaxreg.penalties import ElasticNetPenalty
from jaxreg.prox import prox_elastic_net
from jaxreg.result import Status
from jaxreg.solvers import SolverProblem, SolverResult, Start, fista

_MIN_SIZE = 64
_GROWTH = 4
_MAX_ROUNDS = 50
# Coordinate descent solves each subproblem to this fraction of the full
# problem's tolerance, so that the full certificate passes as soon as the set
# is right (its FISTA finish is held to the full tolerance, see below).
_SUB_TOL = 0.3
# Coordinate-descent epochs per subproblem before FISTA takes over.
_CD_EPOCHS = 200


def sizes(p: int, n: int | None = None) -> tuple[int, ...]:
    """The ladder of working-set sizes for ``p`` columns (the last one is ``p``).

    Gram mode: 64, 256, 1024, ... below ``p / 2``, then ``p``.

    Design mode (``n`` samples): a lasso has at most ``n`` nonzeros, so the
    sets of a path sit below about ``2 n``. With ``fit`` the power of two at
    or above ``n``, the rungs are 128, 512, ... below ``fit``, then ``fit``
    and ``2 fit``, all below ``p / 2`` (``fit`` at least 64), then ``p``,
    which is the FISTA finish rather than coordinate descent when there is a
    smaller rung (see :func:`solve`). Each rung is
    compiled code: fewer rungs compile faster, and on the wide 500 x 5000
    path these three (128, 512, 1024) run as fast as the five of a finer
    ladder.
    """
    # Rungs above p / 2 would cost about as much as p itself, so they are
    # left out.
    half = p // 2
    out = []
    if n is None:
        m = _MIN_SIZE
        while m < half:
            out.append(m)
            m *= _GROWTH
        return (*out, p)
    fit = max(1 << max(int(n) - 1, 1).bit_length(), _MIN_SIZE)
    m = 2 * _MIN_SIZE
    while m < min(half, fit):
        out.append(m)
        m *= _GROWTH
    out += [s for s in (fit, 2 * fit) if s < half]
    return (*out, p)


# Below this many columns a working set saves nothing over the full problem.
_MIN_COLUMNS = 2 * _MIN_SIZE


def applies(datafit) -> bool:
    """Whether the working-set solver handles this datafit (static)."""
    if isinstance(datafit, QuadraticGram):
        return datafit.G.shape[0] > _MIN_COLUMNS
    if isinstance(datafit, Quadratic):
        return datafit.design.shape[1] > _MIN_COLUMNS
    return False


def suits(spec, X) -> bool:
    """Whether ``strategy="auto"`` picks the working set on a CPU: a datafit
    with coordinate descent in design mode, dense or sparse (in Gram mode the
    chunked FISTA of the ``"warm"`` strategy is as fast and compiles less)."""
    # Proximal Newton pays on few columns too: its outer steps converge
    # fast whatever the design's conditioning.
    second_order = hasattr(spec.datafit, "second_order")
    return (
        getattr(spec.datafit, "coordinate_descent", False)
        and spec.groups is None
        and not spec.use_gram
        and (X.shape[1] > _MIN_COLUMNS or second_order)
    )


def transposed(datafit) -> _columns.Columns | _columns.SparseColumns | None:
    """The design prepared for column access (design mode), else None.

    Computed once per path (see :mod:`jaxreg._columns`): every round of every
    grid point then reads its columns ready to use, with no centering,
    scaling or transposing of its own. The column norms are weighted by the
    datafit's weights (the coordinate steps' curvatures).
    """
    if isinstance(datafit, Quadratic) and applies(datafit):
        return _columns.columns_for(datafit.design, datafit.weights)
    return None


def set_indices(in_set: Array, size: int) -> Array:
    """The first ``size`` columns of the set in order, then ``p`` (padding).

    Each column's rank in the set is a prefix sum of the mask; the columns
    are scattered to their ranks (``jnp.nonzero`` takes two prefix sums and a
    histogram for the same: about twice the compiled kernels)."""
    p = in_set.shape[0]
    rank = jnp.cumsum(in_set, dtype=jnp.int32) - 1
    slot = jnp.where(in_set & (rank < size), rank, size)  # past the end: dropped
    return jnp.full((size,), p, jnp.int32).at[slot].set(jnp.arange(p, dtype=jnp.int32), mode="drop")


def gather(penalty: ElasticNetPenalty, beta: Array, in_set: Array, k: Array, size: int, norms=None):
    """The set's indices and its per-coordinate data, ``size`` entries.

    Returns ``idx`` (the set's first ``size`` columns in order, then ``p``,
    the padding index) and one stacked array whose rows are the set's entries of ``beta``,
    ``l1``, ``l2``, ``lower`` and ``upper`` (the positions past the set pinned
    at zero by their bounds), and in design mode (``norms`` given, see
    :mod:`jaxreg._columns`) the columns' curvatures ``h`` and the penalty weights
    divided by them, ``l1 / h`` and ``l2 / h`` (what coordinate descent
    steps with). Computed once per round, outside the per-size code: a rung
    of size ``m`` slices the first ``m`` columns, one slice for all rows.
    """
    idx = set_indices(in_set, size)
    stacked = jnp.stack([beta, penalty.l1, penalty.l2, penalty.lower, penalty.upper])
    bw, l1, l2, lower, upper = stacked.at[:, idx].get(mode="fill", fill_value=0)
    pinned = jnp.arange(size) >= k
    rows = [bw, l1, l2, jnp.where(pinned, 0.0, lower), jnp.where(pinned, 0.0, upper)]
    if norms is not None:
        h = norms.at[idx].get(mode="promise_in_bounds")
        safe_h = jnp.where(h > 0, h, 1.0)
        rows += [h, l1 / safe_h, l2 / safe_h]
    return idx, jnp.stack(rows)


def unstack(coords: Array):
    """``(beta, penalty)`` of a subproblem from its stacked rows (see :func:`gather`)."""
    return coords[0], ElasticNetPenalty(
        l1=coords[1], l2=coords[2], lower=coords[3], upper=coords[4]
    )


def _restrict(datafit, idx: Array, bw: Array, beta: Array, u: Array, xt):
    """The subproblem on columns ``idx``, the other coefficients held at ``beta``.

    An index equal to ``p`` is padding: a zero column, pinned at zero.
    ``bw``: ``beta`` on the set. Returns the subproblem (a ``QuadraticGram``
    in Gram mode, the set's columns of :mod:`jaxreg._columns` in design mode)
    and in Gram mode ``rows``, the set's rows of ``G``: for a point ``w`` on
    the set, zero elsewhere, the image is ``w @ rows`` (``None`` in design
    mode: the set's own ``image``).
    """
    if isinstance(datafit, QuadraticGram):
        # G is symmetric: its rows are its columns.
        rows = jnp.take(datafit.G, idx, axis=0, mode="fill", fill_value=0)  # (m, p)
        u_out = u - bw @ rows  # G beta_out, beta_out = beta without the working set
        beta_out = beta.at[idx].set(0.0, mode="drop")
        yy = datafit.yy - 2.0 * jnp.dot(datafit.c, beta_out) + jnp.dot(beta_out, u_out)
        block = jnp.take(rows, idx, axis=1, mode="fill", fill_value=0)
        c = datafit.c.at[idx].get(mode="fill", fill_value=0)
        u_in = u_out.at[idx].get(mode="fill", fill_value=0)
        return QuadraticGram(block, c - u_in, jnp.maximum(yy, 0.0)), rows
    # Design mode: the gathered columns alone (the padding column is zero),
    # weighted by the datafit's weights; coordinate descent works from the
    # full problem's residual, which is the subproblem's.
    return xt.take(idx).bind(datafit.weights), None


def set_scores(penalty: ElasticNetPenalty, beta: Array, grad: Array) -> Array:
    """Priority of each column for the working set: infinite for the ones that
    must be in it (nonzero or unpenalized), else the ratio of the gradient in a
    direction the bounds allow to the L1 weight (above 1: a KKT violation)."""
    must = (beta != 0) | (penalty.l1 <= 0)
    directional = jnp.maximum(
        jnp.where(penalty.upper > 0, -grad, 0.0), jnp.where(penalty.lower < 0, grad, 0.0)
    )
    ratio = directional / jnp.where(must, 1.0, penalty.l1)
    return jnp.where(must, jnp.inf, ratio), must


def _coordinate_descent(
    datafit: Quadratic, cols, coords: Array, w0, r0, b0, lipschitz, gap_tol, budget, k
):
    """Cyclic coordinate descent on a design-mode subproblem, to its certificate.

    Exact minimization in one coordinate at a time (the bounded elastic-net
    prox of the coordinate's Newton step), the residual kept up to date;
    coordinates that do not move cost no update. The subproblem's duality gap
    is checked after every epoch. Only the first ``k`` coordinates are visited
    (the others are pinned at zero by their bounds). ``datafit`` is the full
    problem's (its weights and loss), ``cols`` the set's columns bound to its
    weights (:mod:`jaxreg._columns`), ``coords`` their stacked data from
    :func:`gather` (penalty, curvatures ``h`` and the penalty weights divided
    by them) and ``r0`` the residual at ``w0``. Returns ``(w, epochs, status)``.
    """
    step = 1.0 / lipschitz

    # The loops read the stacked data whole (a column per coordinate, the
    # rows for the certificate): rows split off outside them would each be a
    # separate copy, compiled once per rung.
    def coordinate(j, state):
        w, r = state
        c = coords[:, j]
        wj, hj = w[j], c[5]

        def update(dot):
            v = wj + dot / jnp.where(hj > 0, hj, 1.0)
            new = prox_elastic_net(v, c[6], c[7], c[3], c[4])
            return jnp.where(hj > 0, new - wj, 0.0)

        _, w, r = cols.visit(j, w, r, update, sign=-1.0)
        return w, r

    def certify(w, r):
        # The subproblem's certificate from its residual (what its datafit
        # would compute from the image, without forming the image).
        _, pen = unstack(coords)
        rd = cols.dense(r)
        rr = jnp.dot(datafit.weights * rd, rd)
        grad = -cols.wgrad(r)
        return certificate_parts(pen, datafit, 0.5 * rr, grad, jnp.zeros_like(b0), rr, w, step)

    def epoch(state):
        w, r, epochs, _ = state
        w, r = jax.lax.fori_loop(0, k, coordinate, (w, r))
        cert = certify(w, r)
        epochs = epochs + 1
        status = jnp.where(epochs >= budget, Status.MAX_ITER, RUNNING)
        status = jnp.where(jnp.isfinite(cert.gap), status, Status.NONFINITE)
        done = meets_tolerance(cert, gap_tol, lipschitz)
        return w, r, epochs, jnp.where(done, Status.CONVERGED, status).astype(jnp.int32)

    init = (w0, cols.start(r0), jnp.zeros((), jnp.int32), jnp.asarray(RUNNING, jnp.int32))
    w, _, epochs, status = jax.lax.while_loop(lambda s: s[-1] == RUNNING, epoch, init)
    return w, epochs, status


class _LoopState(NamedTuple):
    """The working-set loop's state: a point with its image and gradient, the
    certificate and status of the last pass, and the last subproblem's status."""

    beta: Array
    u: Array
    cert: Certificate
    grad: Array
    n_iter: Array
    rounds: Array
    status: Array
    sub_status: Array


class _WorkingSet(NamedTuple):
    """What the passes of one working-set solve read: the problem (its datafit,
    ``lipschitz``, ``gap_tol`` and ``gap_scale``), the penalty and the other
    arrays (traced), and the ladder of set sizes (Python values, bound with
    ``functools.partial`` and never traced)."""

    problem: Any
    penalty: ElasticNetPenalty
    b0: Array
    step: Array
    sub_tol: Array
    max_iter: Array
    refine: Array | bool
    xt: _columns.Columns | _columns.SparseColumns | None
    p: int
    ladder: tuple[int, ...]
    # Design mode with smaller rungs: the rung p is the FISTA finish itself.
    direct: bool
    # How many of the set's columns a round gathers: all of them, unless
    # sets larger than the top rung below p go to the FISTA finish (which
    # pins the columns outside the set by the set's mask, not its indices).
    gathered: int
    check_every: int


def _context(problem, penalty, start: Start, max_iter, refine, xt, check_every) -> _WorkingSet:
    """The solve's context: the ladder of set sizes and the arrays its passes read."""
    if xt is None:
        xt = transposed(problem.datafit)
    p = start.beta.shape[0]
    ladder = sizes(p, problem.datafit.design.shape[0] if xt is not None else None)
    direct = xt is not None and len(ladder) > 1
    return _WorkingSet(
        problem=problem,
        penalty=penalty,
        b0=start.b,
        step=1.0 / problem.lipschitz,
        sub_tol=_SUB_TOL * problem.gap_tol,
        max_iter=max_iter,
        refine=refine,
        xt=xt,
        p=p,
        ladder=ladder,
        direct=direct,
        gathered=ladder[-2] if direct else p,
        check_every=check_every,
    )


def _gradient(ctx: _WorkingSet, u: Array, beta: Array) -> Array:
    # The full gradient at a round's point (the one product with all the
    # data per round). In design mode from the prepared copy the columns
    # are read from, not from X: the round then reads one copy of the
    # design instead of two, which keeps more of it in cache (the
    # 500 x 5000 copies are 20 MB each).
    datafit = ctx.problem.datafit
    if ctx.xt is None:
        return datafit.value_and_grad_at(u, beta, ctx.b0)[1]
    return -ctx.xt.rmatvec(datafit.weights * (datafit.y - u))


def _choose_set(ctx: _WorkingSet, beta: Array, grad: Array):
    # The set: every column that must be in it and every violator; the
    # rung is the smallest size that holds it, and the positions past the
    # set are pinned at zero.
    scores, must = set_scores(ctx.penalty, beta, grad)
    in_set = must | (scores > 1.0)
    k = jnp.sum(in_set)
    rung = jnp.minimum(jnp.sum(jnp.asarray(ctx.ladder) < k), len(ctx.ladder) - 1)
    return rung.astype(jnp.int32), in_set, k.astype(jnp.int32)


def _solve_on(ctx: _WorkingSet, m: int, beta, u, idx, coords, k, budget, refine_now):
    """The rung of size ``m``: solve the subproblem on the set's first ``m``
    entries. Returns the set's values padded to ``gathered`` entries, the
    image at the assembled point, the iterations and the subproblem's status."""
    datafit, problem = ctx.problem.datafit, ctx.problem
    # The first m entries of the gathered set: its columns, then padding.
    idx, coords = idx[:m], coords[:, :m]
    bw, pen = unstack(coords)
    sub, rows = _restrict(datafit, idx, bw, beta, u, ctx.xt)

    if isinstance(sub, QuadraticGram):
        # FISTA is held to the full tolerance: a tighter one can fall into
        # the range where its stall test stops it at the dtype's resolution.
        sub_problem = SolverProblem(sub, problem.lipschitz, problem.gap_tol, problem.gap_scale)
        out = fista(
            sub_problem,
            pen,
            Start(bw, ctx.b0),
            budget,
            check_every=ctx.check_every,
            refine=refine_now,
        )
        bw, n_iter, status = out.beta, out.n_iter, out.status
    else:
        # Coordinate descent; the subproblem's residual at its start is
        # the full problem's.
        bw, n_iter, status = _coordinate_descent(
            datafit,
            sub,
            coords,
            bw,
            datafit.y - u,
            ctx.b0,
            problem.lipschitz,
            ctx.sub_tol,
            jnp.minimum(budget, _CD_EPOCHS),
            k,
        )
    # Every nonzero is in the set: the image is a fresh product with
    # the set's columns (never one kept up to date by increments, whose
    # rounding drifts, in float32 visibly). The set's values go back
    # padded to full size, scattered once outside the per-size code.
    image = bw @ rows if rows is not None else sub.image(bw)
    return jnp.pad(bw, (0, ctx.gathered - m)), image, n_iter, status


def _too_large(beta, u, idx, coords, k, budget, refine_now):
    """The rung ``p`` in design mode with smaller rungs: nothing solved here,
    the set goes to the FISTA finish (status ``MAX_ITER``)."""
    return coords[0], u, jnp.zeros((), jnp.int32), jnp.asarray(Status.MAX_ITER, jnp.int32)


def _rungs(ctx: _WorkingSet) -> list:
    """The branches of the switch over set sizes, one per rung."""
    rungs = [
        functools.partial(_solve_on, ctx, m)
        for m in (ctx.ladder[:-1] if ctx.direct else ctx.ladder)
    ]
    if ctx.direct:
        # Design mode: a set larger than every rung below p goes straight to
        # the FISTA finish (the full problem, the columns outside the set
        # pinned at zero), which is compiled anyway, rather than to coordinate
        # descent compiled once more at size p. On such sets (an elastic net
        # with a small l1_ratio on a wide design) FISTA with its support
        # polish is also the faster of the two, by several times.
        rungs.append(_too_large)
    return rungs


def _finish(ctx: _WorkingSet, beta: Array, u: Array, in_set: Array, n_iter: Array):
    """FISTA on the full problem from ``beta``, the columns outside the set
    pinned at zero (see :func:`_round`)."""
    penalty = ctx.penalty
    pen = dataclasses.replace(
        penalty,
        lower=jnp.where(in_set, penalty.lower, 0.0),
        upper=jnp.where(in_set, penalty.upper, 0.0),
    )
    # Held to the full tolerance: a tighter one can fall into the
    # range where its stall test stops it at the dtype's resolution.
    out = fista(
        ctx.problem,
        pen,
        Start(beta, ctx.b0, u),
        ctx.max_iter - n_iter,
        check_every=ctx.check_every,
        certify_start=False,
    )
    return out.beta, ctx.problem.datafit.forward(out.beta), out.n_iter, out.status


def _round(ctx: _WorkingSet, rungs: list, state: _LoopState) -> _LoopState:
    # One round: pick the set, solve on it, and the image and gradient at
    # the assembled point (the certificate is the next pass's).
    beta, u, grad, n_iter, rounds = state.beta, state.u, state.grad, state.n_iter, state.rounds
    rung, in_set, k = _choose_set(ctx, beta, grad)
    norms = None if ctx.xt is None else ctx.xt.norms
    idx, coords = gather(ctx.penalty, beta, in_set, k, ctx.gathered, norms)
    bw, u, it, sub_status = jax.lax.switch(
        rung, rungs, beta, u, idx, coords, k, ctx.max_iter - n_iter, ctx.refine & (rounds == 0)
    )
    beta = beta.at[idx].set(bw, mode="drop")
    n_iter = n_iter + it
    if isinstance(ctx.problem.datafit, Quadratic):
        # Where coordinate descent crawls (a support about as large as the
        # number of samples is badly conditioned), FISTA, whose rate depends
        # on the square root of the conditioning, finishes from where it
        # stopped: on the full problem with every column outside the set
        # pinned at zero, compiled once rather than once per rung. It runs
        # only where its start falls short (a subproblem left unsolved, or
        # a set sent straight here, larger than every rung below p), so it
        # skips the start's certificate and runs at least one block: a
        # path's extrapolated start is refined there too.
        # Only a coordinate descent stopped by its epoch budget, with
        # iterations left, has something to finish.
        beta, u, it, sub_status = jax.lax.cond(
            (sub_status == Status.MAX_ITER) & (n_iter < ctx.max_iter),
            functools.partial(_finish, ctx, beta, u, in_set, n_iter),
            lambda: (beta, u, jnp.zeros((), jnp.int32), sub_status),
        )
        n_iter = n_iter + it
    grad = _gradient(ctx, u, beta)
    return state._replace(
        beta=beta, u=u, grad=grad, n_iter=n_iter, rounds=rounds + 1, sub_status=sub_status
    )


def _pass(ctx: _WorkingSet, rungs: list, state: _LoopState) -> _LoopState:
    # Certify the current point (the start, or the last round's result);
    # if it falls short, run a round. The certificate is compiled once,
    # for the start and for every round.
    beta, u, grad, n_iter, rounds = state.beta, state.u, state.grad, state.n_iter, state.rounds
    sub_status = state.sub_status
    problem = ctx.problem
    # With refine, the start is never returned as it is (one round runs),
    # so its certificate is skipped: a pass over all the coordinates.
    cert = jax.lax.cond(
        jnp.asarray(ctx.refine) & (rounds == 0),
        lambda: state.cert,
        lambda: certificate_from_grad(
            problem.datafit, ctx.penalty, u, grad, beta, ctx.b0, ctx.step
        ),
    )
    finite = jnp.isfinite(cert.gap) & jnp.isfinite(cert.kkt)
    status = jnp.where(sub_status == Status.CONVERGED, RUNNING, sub_status)
    # A converged subproblem whose full certificate fails has violators
    # outside its set: another round. Exhausted rounds count as max_iter.
    status = jnp.where((status == RUNNING) & (rounds >= _MAX_ROUNDS), Status.MAX_ITER, status)
    status = jnp.where(
        (status == RUNNING) & (rounds > 0) & (n_iter >= ctx.max_iter), Status.MAX_ITER, status
    )
    status = jnp.where(finite | (rounds == 0), status, Status.NONFINITE)
    # With refine, the start is never returned as it is: one round runs.
    met = meets_tolerance(cert, problem.gap_tol, problem.lipschitz) & ~(
        jnp.asarray(ctx.refine) & (rounds == 0)
    )
    status = jnp.where(met, Status.CONVERGED, status).astype(jnp.int32)
    state = state._replace(cert=cert, status=status)
    # (Under vmap this cond is a select: every pass, the last one too,
    # would run a round and discard it. The solver is not vmapped.)
    return jax.lax.cond(
        status == RUNNING, functools.partial(_round, ctx, rungs), lambda s: s, state
    )


def _exact_start(ctx: _WorkingSet, beta0: Array):
    """The image and gradient at ``beta0``, computed: two full products."""
    u = ctx.problem.datafit.forward(beta0)
    return u, _gradient(ctx, u, beta0)


def solve(
    problem,
    penalty: ElasticNetPenalty,
    start: Start,
    max_iter: Array,
    *,
    check_every: int = 10,
    refine: Array | bool = False,
    xt: _columns.Columns | _columns.SparseColumns | None = None,
) -> SolverResult:
    """Minimize the squared-loss objective by working sets (see the module docstring).

    Same arguments as :func:`~jaxreg.solvers.fista` (the intercept is not
    iterated for the squared loss); returns its :class:`~jaxreg.solvers.SolverResult`
    with ``image``, ``(u, grad)``, the datafit's image and gradient at
    ``beta``. ``n_iter`` counts the proximal-gradient iterations and
    coordinate-descent epochs of all subproblems. ``xt``: the design prepared
    for column gathers (design mode; from :func:`transposed`, computed once
    for a whole path). ``start.u`` and ``start.grad``: the image and gradient
    at ``start.beta`` when a path has them by linearity (used where
    ``start.valid`` holds, or always when it is ``None``; computed when not
    given, two full products).
    """
    ctx = _context(problem, penalty, start, max_iter, refine, xt, check_every)
    rungs = _rungs(ctx)
    beta0 = start.beta
    # The image and gradient at the start (given, or two products): compiled
    # once whichever branch runs.
    if start.u is None or start.grad is None:
        u0, grad0 = _exact_start(ctx, beta0)
    elif start.valid is None:
        u0, grad0 = start.u, start.grad
    else:
        exact = functools.partial(_exact_start, ctx, beta0)
        u0, grad0 = jax.lax.cond(start.valid, lambda: (start.u, start.grad), exact)
    zero = jnp.zeros((), jnp.int32)
    # Placeholders until the first pass certifies the start.
    cert0 = Certificate(*(jnp.zeros((), beta0.dtype) for _ in range(3)))
    converged = jnp.asarray(Status.CONVERGED, jnp.int32)
    init = _LoopState(
        beta0, u0, cert0, grad0, zero, zero, jnp.asarray(RUNNING, jnp.int32), converged
    )
    # The loop runs while the last pass ran a round: its point is not yet certified.
    body = functools.partial(_pass, ctx, rungs)
    out = jax.lax.while_loop(lambda s: s.status == RUNNING, body, init)
    return SolverResult(out.beta, start.b, out.n_iter, out.cert, out.status, (out.u, out.grad))
