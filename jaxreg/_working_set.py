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

Design mode gathers its columns from a copy of the design prepared once per
path (centered, scaled and transposed, so each column is a contiguous row). A
path's grid point starts with the image ``X~ beta`` and the gradient
extrapolated from the previous ones (both are affine in the coefficients),
and a round computes the image from the set's columns alone (every nonzero
is in the set): it reads the whole design once, for the gradient that
certifies it and picks the next set.

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

import jax
import jax.numpy as jnp
from jax import Array
from jax.experimental import sparse as jsparse

from jaxreg.datafits import Quadratic, QuadraticGram
from jaxreg.penalties import ElasticNetPenalty
from jaxreg.prox import prox_elastic_net
from jaxreg.result import Status
from jaxreg.solvers import (
    _RUNNING,
    _certificate_and_grad,
    _certificate_from_grad,
    _certificate_parts,
    _meets_tolerance,
    fista,
)

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
        X = datafit.design.X
        return not isinstance(X, jsparse.BCOO) and X.shape[1] > _MIN_COLUMNS
    return False


def suits(loss: str, use_gram: bool, X) -> bool:
    """Whether ``strategy="auto"`` picks the working set on a CPU: the squared
    loss on a dense design in design mode (in Gram mode the chunked FISTA of
    the ``"warm"`` strategy is as fast and compiles less)."""
    return (
        loss == "squared"
        and not use_gram
        and not isinstance(X, jsparse.BCOO)
        and X.shape[1] > _MIN_COLUMNS
    )


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class _Columns:
    """Gathered columns of the design, centered and scaled, one per row of
    ``Zt`` (shape ``(m, n)``): the design operator of a design-mode
    subproblem. Products are written row-major (``b @ Zt``, ``Zt @ u``); XLA's
    CPU backend runs the transposed forms several times slower."""

    Zt: Array

    def matvec(self, beta: Array) -> Array:
        return beta @ self.Zt

    def rmatvec(self, u: Array) -> Array:
        return self.Zt @ u


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Columns:
    """Per-path precomputation for design-mode working sets: the centered and
    scaled design transposed (so each gathered column is a contiguous row) and
    each column's weighted squared norm, both with a zero row appended at
    index ``p``, the padding index (gathers then need no bounds masking)."""

    Zt: Array
    norms: Array


def transposed(datafit) -> Columns | None:
    """The design prepared for column gathers (design mode), else None.

    Computed once per path: every round of every grid point then gathers its
    columns ready to use, with no centering, scaling or transposing of its own.
    """
    if isinstance(datafit, Quadratic) and applies(datafit):
        d = datafit.design
        Zt = ((d.X - d.mean) / d.scale).T
        Zt = jnp.concatenate([Zt, jnp.zeros((1, Zt.shape[1]), Zt.dtype)])
        return Columns(Zt, (Zt * Zt) @ datafit.weights)
    return None


def _gather(penalty: ElasticNetPenalty, beta: Array, in_set: Array, k: Array):
    """The set's indices and its entries of ``beta`` and of the penalty, at full size.

    Returns ``idx`` (the set's columns in order, then ``p``, the padding
    index) and the gathered ``(beta, penalty)``, the positions past the set
    pinned at zero by their bounds. Computed once per round, outside the
    per-size code: a rung of size ``m`` slices the first ``m`` entries.
    """
    p = beta.shape[0]
    idx = jnp.nonzero(in_set, size=p, fill_value=p)[0]
    stacked = jnp.stack([beta, penalty.l1, penalty.l2, penalty.lower, penalty.upper])
    bw, l1, l2, lower, upper = stacked.at[:, idx].get(mode="fill", fill_value=0)
    pinned = jnp.arange(p) >= k
    pen = ElasticNetPenalty(
        l1=l1,
        l2=l2,
        lower=jnp.where(pinned, 0.0, lower),
        upper=jnp.where(pinned, 0.0, upper),
    )
    return idx, bw, pen


def _restrict(datafit, idx: Array, bw: Array, beta: Array, u: Array, xt):
    """The subproblem on columns ``idx``, the other coefficients held at ``beta``.

    An index equal to ``p`` is padding: a zero column, pinned at zero.
    ``bw``: ``beta`` on the set. Returns the subproblem (a ``QuadraticGram``
    in Gram mode, the gathered ``_Columns`` in design mode) and ``rows``, the
    set's rows of ``G`` (Gram mode) or of ``X~'`` (design mode): for a point
    ``w`` on the set, zero elsewhere, the image is ``w @ rows``.
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
    # Design mode: the gathered columns alone (row p is zero); coordinate
    # descent works from the full problem's residual, which is the subproblem's.
    cols = _Columns(xt.Zt.at[idx].get(mode="promise_in_bounds"))  # (m, n)
    return cols, cols.Zt


def _scores(penalty: ElasticNetPenalty, beta: Array, grad: Array) -> Array:
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
    datafit: Quadratic,
    cols: _Columns,
    pen: ElasticNetPenalty,
    h,
    w0,
    r0,
    b0,
    lipschitz,
    gap_tol,
    budget,
    k,
):
    """Cyclic coordinate descent on a design-mode subproblem, to its certificate.

    Exact minimization in one coordinate at a time (the bounded elastic-net
    prox of the coordinate's Newton step), the residual kept up to date;
    coordinates that do not move cost no update. The subproblem's duality gap
    is checked after every epoch. Only the first ``k`` coordinates are visited
    (the others are pinned at zero by their bounds). ``datafit`` is the full
    problem's (its weights and loss), ``cols`` the gathered columns, ``h``
    their curvatures (weighted squared norms) and ``r0`` the residual at
    ``w0``. Returns ``(w, epochs, status)``.
    """
    Zt = cols.Zt  # (m, n): each column contiguous
    SZt = Zt * datafit.weights
    safe_h = jnp.where(h > 0, h, 1.0)
    l1, l2 = pen.l1 / safe_h, pen.l2 / safe_h
    step = 1.0 / lipschitz

    def coordinate(j, state):
        w, r = state
        wj = w[j]
        v = wj + jnp.dot(SZt[j], r) / safe_h[j]
        new = prox_elastic_net(v, l1[j], l2[j], pen.lower[j], pen.upper[j])
        delta = jnp.where(h[j] > 0, new - wj, 0.0)
        return jax.lax.cond(
            delta != 0,
            lambda: (w.at[j].add(delta), r - delta * Zt[j]),
            lambda: (w, r),
        )

    def certify(w, r):
        # The subproblem's certificate from its residual (what its datafit
        # would compute from the image, without forming the image).
        wr = datafit.weights * r
        rr = jnp.dot(wr, r)
        grad = -cols.rmatvec(wr)
        return _certificate_parts(pen, datafit, 0.5 * rr, grad, jnp.zeros_like(b0), rr, w, step)

    def epoch(state):
        w, r, epochs, _ = state
        w, r = jax.lax.fori_loop(0, k, coordinate, (w, r))
        cert = certify(w, r)
        epochs = epochs + 1
        status = jnp.where(epochs >= budget, Status.MAX_ITER, _RUNNING)
        status = jnp.where(jnp.isfinite(cert.gap), status, Status.NONFINITE)
        done = _meets_tolerance(cert, gap_tol, lipschitz)
        return w, r, epochs, jnp.where(done, Status.CONVERGED, status).astype(jnp.int32)

    init = (w0, r0, jnp.zeros((), jnp.int32), jnp.asarray(_RUNNING, jnp.int32))
    w, _, epochs, status = jax.lax.while_loop(lambda s: s[-1] == _RUNNING, epoch, init)
    return w, epochs, status


def solve(
    datafit,
    penalty: ElasticNetPenalty,
    beta0: Array,
    b0: Array,
    lipschitz: Array,
    gap_tol: Array,
    max_iter: Array,
    *,
    gap_scale: Array,
    check_every: int = 10,
    refine: Array | bool = False,
    xt: Columns | None = None,
    start: tuple[Array, Array, Array] | None = None,
):
    """Minimize the squared-loss objective by working sets (see the module docstring).

    Same arguments as :func:`~jaxreg.solvers.fista` (the intercept is not
    iterated for the squared loss); returns its ``(beta, b, n_iter,
    certificate, status)`` and ``(u, grad)``, the datafit's image and gradient
    at ``beta``. ``n_iter`` counts the proximal-gradient iterations and
    coordinate-descent epochs of all subproblems. ``xt``: the design prepared
    for column gathers (design mode; from :func:`transposed`, computed once
    for a whole path). ``start``: ``(u0, grad0, valid)``, the image and
    gradient at ``beta0`` when a path has them by linearity (used where
    ``valid`` holds; computed otherwise, two full products).
    """
    if xt is None:
        xt = transposed(datafit)
    p = beta0.shape[0]
    ladder = sizes(p, xt.Zt.shape[1] if xt is not None else None)
    step = 1.0 / lipschitz
    sub_tol = _SUB_TOL * gap_tol

    def certify_at(beta, u):
        return _certificate_and_grad(datafit, penalty, u, beta, b0, step)

    def done(cert):
        return _meets_tolerance(cert, gap_tol, lipschitz)

    def working_set(beta, grad):
        # The set: every column that must be in it and every violator; the
        # rung is the smallest size that holds it, and the positions past the
        # set are pinned at zero.
        scores, must = _scores(penalty, beta, grad)
        in_set = must | (scores > 1.0)
        k = jnp.sum(in_set)
        rung = jnp.minimum(jnp.sum(jnp.asarray(ladder) < k), len(ladder) - 1)
        return rung.astype(jnp.int32), in_set, k.astype(jnp.int32)

    def solve_on(m: int):
        def run(beta, u, idx, bw, pen, k, budget, refine_now):
            # The first m entries of the gathered set: its columns, then padding.
            idx, bw = idx[:m], bw[:m]
            pen = jax.tree.map(lambda a: a[:m], pen)
            sub, rows = _restrict(datafit, idx, bw, beta, u, xt)

            if isinstance(sub, QuadraticGram):
                # FISTA is held to the full tolerance: a tighter one can fall into
                # the range where its stall test stops it at the dtype's resolution.
                bw, _, n_iter, _, status = fista(
                    sub,
                    pen,
                    bw,
                    b0,
                    lipschitz,
                    gap_tol,
                    budget,
                    gap_scale=gap_scale,
                    check_every=check_every,
                    refine=refine_now,
                )
            else:
                # Coordinate descent; the subproblem's residual at its start is
                # the full problem's.
                h = xt.norms.at[idx].get(mode="promise_in_bounds")
                bw, n_iter, status = _coordinate_descent(
                    datafit,
                    sub,
                    pen,
                    h,
                    bw,
                    datafit.y - u,
                    b0,
                    lipschitz,
                    sub_tol,
                    jnp.minimum(budget, _CD_EPOCHS),
                    k,
                )
            # Every nonzero is in the set: the image is a fresh product with
            # the set's rows (never one kept up to date by increments, whose
            # rounding drifts, in float32 visibly). The set's values go back
            # padded to full size, scattered once outside the per-size code.
            return jnp.pad(bw, (0, p - m)), bw @ rows, n_iter, status

        return run

    rungs = [solve_on(m) for m in ladder]
    direct = xt is not None and len(ladder) > 1
    if direct:
        # Design mode: a set larger than every rung below p goes straight to
        # the FISTA finish (the full problem, the columns outside the set
        # pinned at zero), which is compiled anyway, rather than to coordinate
        # descent compiled once more at size p. On such sets (an elastic net
        # with a small l1_ratio on a wide design) FISTA with its support
        # polish is also the faster of the two, by several times.
        def too_large(beta, u, idx, bw, pen, k, budget, refine_now):
            return bw, u, jnp.zeros((), jnp.int32), jnp.asarray(Status.MAX_ITER, jnp.int32)

        rungs[-1] = too_large

    def body(state):
        beta, u, cert, grad, n_iter, rounds, _ = state
        rung, in_set, k = working_set(beta, grad)
        idx, bw, pen = _gather(penalty, beta, in_set, k)
        bw, u, it, sub_status = jax.lax.switch(
            rung, rungs, beta, u, idx, bw, pen, k, max_iter - n_iter, refine & (rounds == 0)
        )
        beta = beta.at[idx].set(bw, mode="drop")
        n_iter = n_iter + it
        if isinstance(datafit, Quadratic):
            # Where coordinate descent crawls (a support about as large as the
            # number of samples is badly conditioned), FISTA, whose rate depends
            # on the square root of the conditioning, finishes from where it
            # stopped: on the full problem with every column outside the set
            # pinned at zero, compiled once rather than once per rung. Coordinate
            # descent, when it ran, ran at least one epoch, so the start is
            # refined; a set sent straight here (larger than every rung below
            # p) asks the finish to refine it on the first round.
            skipped = (rung == len(ladder) - 1) if direct else jnp.asarray(False)
            refine_finish = jnp.asarray(refine) & (rounds == 0) & skipped

            def finish():
                pen = dataclasses.replace(
                    penalty,
                    lower=jnp.where(in_set, penalty.lower, 0.0),
                    upper=jnp.where(in_set, penalty.upper, 0.0),
                )
                # Held to the full tolerance: a tighter one can fall into the
                # range where its stall test stops it at the dtype's resolution.
                b, _, it, _, status = fista(
                    datafit,
                    pen,
                    beta,
                    b0,
                    lipschitz,
                    gap_tol,
                    max_iter - n_iter,
                    gap_scale=gap_scale,
                    check_every=check_every,
                    refine=refine_finish,
                )
                return b, datafit.forward(b), it, status

            # Only a coordinate descent stopped by its epoch budget, with
            # iterations left, has something to finish.
            beta, u, it, sub_status = jax.lax.cond(
                (sub_status == Status.MAX_ITER) & (n_iter < max_iter),
                finish,
                lambda: (beta, u, jnp.zeros((), jnp.int32), sub_status),
            )
            n_iter = n_iter + it
        rounds = rounds + 1
        cert, grad = certify_at(beta, u)
        finite = jnp.isfinite(cert.gap) & jnp.isfinite(cert.kkt)
        status = jnp.where(sub_status == Status.CONVERGED, _RUNNING, sub_status)
        # A converged subproblem whose full certificate fails has violators
        # outside its set: another round. Exhausted rounds count as max_iter.
        status = jnp.where((status == _RUNNING) & (rounds >= _MAX_ROUNDS), Status.MAX_ITER, status)
        status = jnp.where((status == _RUNNING) & (n_iter >= max_iter), Status.MAX_ITER, status)
        status = jnp.where(finite, status, Status.NONFINITE)
        status = jnp.where(done(cert), Status.CONVERGED, status).astype(jnp.int32)
        return beta, u, cert, grad, n_iter, rounds, status

    def exact_start():
        u = datafit.forward(beta0)
        return u, datafit.value_and_grad_at(u, beta0, b0)[1]

    # The image and gradient at the start (given, or two products), then one
    # certificate: compiled once whichever branch runs.
    if start is None:
        u0, grad0 = exact_start()
    else:
        u0, grad0 = jax.lax.cond(start[2], lambda: start[:2], exact_start)
    cert0 = _certificate_from_grad(datafit, penalty, u0, grad0, beta0, b0, step)
    zero = jnp.zeros((), jnp.int32)
    status0 = jnp.where(done(cert0) & ~jnp.asarray(refine), Status.CONVERGED, _RUNNING)
    init = (beta0, u0, cert0, grad0, zero, zero, status0.astype(jnp.int32))
    beta, u, cert, grad, n_iter, _, status = jax.lax.while_loop(
        lambda s: s[-1] == _RUNNING, body, init
    )
    return beta, b0, n_iter, cert, status, (u, grad)
