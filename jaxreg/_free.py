r"""Free coordinates: their partial minimization and its certificate.

A coordinate with no penalty and no bound (a zero penalty factor, or every
coordinate at ``alpha = 0``) has no finite conjugate: no rescaling of the dual
point makes it feasible, so the duality gap holds it fixed and cannot see how
far it is from its optimum. A small gradient there certifies nothing on an
ill-conditioned or unbounded direction (a singular design, separable labels).

After a solver stops, the free block ``F`` (with the logistic intercept) is
minimized with the penalized coordinates held fixed, by Newton steps on
``H_F``, the datafit's Hessian restricted to ``F``, and the point is
certified by the sum of the duality gap there (exact for the penalized
coordinates once the free gradient vanishes) and a bound on what the free
block can still gain: with ``lambda^2 = g_F' H_F^+ g_F`` (the Newton
decrement) and a loss whose per-sample curvature changes at most like
``|l'''| <= c l''`` (0 for the squared loss, 1 for the logistic one),

.. math:: f(w) - \inf_{v_F} f(w + v) \le \frac{a + (1 - a)\log(1 - a)}{(c R)^2},
          \qquad a = c R \lambda < 1,

where ``R^2 = max_i x_i' H_F^+ x_i`` over samples with curvature (``lambda^2
/ 2`` at ``c = 0``, the exact value for the squared loss in exact
arithmetic; the pseudo-inverse drops eigenvalues below the factorization's
rounding, as a least-squares solver does). Where ``a >= 1``, or the gradient
leaves the Hessian's range, this bound does not apply (separable labels: no
minimizer exists) and is taken as infinite. The sum is a bound where the
free gradient vanishes at the refit point (to the Newton steps' accuracy). The gap
at the zero dual point, ``P(w) - inf f - inf h``, needs no feasibility at
all and is the other candidate: it certifies a point within the tolerance of
an infimum that no point attains.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import Array

from jaxreg._certificate import Certificate, certificate_at, meets_tolerance
from jaxreg._validation import is_sparse
from jaxreg.result import Status

# Solver runs, each followed by a free-block refit, before a fit whose free
# certificate keeps failing is reported STALLED.
_ROUNDS = 4
# Newton steps per refit where the loss is not quadratic (the squared loss
# needs one); halvings of a step's line search.
_NEWTON_STEPS = 8
_HALVINGS = 12
# A refit stops once the block's bound is this share of the tolerance.
_TARGET_SHARE = 1e-3
# Each round after the first stops its solver at this share of the previous
# round's tolerance.
_TIGHTEN = 0.1


def negligible(dtype) -> float:
    """Penalty weights at most this are taken as none: within ten decades of
    the dtype's smallest normal number, where a solver's products with them
    underflow (its gap then reads 0 for any point)."""
    return float(jnp.finfo(dtype).tiny) * 1e10


def free_mask(pen) -> Array:
    """Coordinates with no (or a negligible) penalty and no bound on either side."""
    small = negligible(pen.l1.dtype)
    unbounded = (pen.lower == -jnp.inf) & (pen.upper == jnp.inf)
    return pen.negligible(small) & unbounded


def _decrement_bound(c, lam2: Array, r2: Array) -> Array:
    """The bound of the module docstring from ``lambda^2`` and ``R^2``."""
    if c == 0:
        return 0.5 * lam2
    a = c * jnp.sqrt(lam2 * r2)
    safe = jnp.where(a < 1, a, 0.5)
    # a + (1 - a) log(1 - a), written so small a keeps its digits (a^2 / 2 + ...)
    value = safe + (1.0 - safe) * jnp.log1p(-safe)
    bounded = jnp.where(r2 > 0, value / (c * c * r2), 0.5 * lam2)
    return jnp.where(a < 1, bounded, jnp.inf)


class _Block:
    """The free block's Hessian at one point, eigendecomposed.

    The block is ``k`` (static) gathered columns, those of ``mask`` first
    (the rest padding), and the intercept where the datafit iterates it.
    ``apply(g, ghat)`` returns ``(H_F^+ g, g' H_F^+ g)`` for a gradient ``g``
    on the block (``ghat``: the per-sample gradient it sums); ``r2`` is
    ``max_i x_i' H_F^+ x_i``; ``in_range`` is False where a sample with no
    curvature has a gradient (the decrement misses it).
    """

    def __init__(self, datafit, mask: Array, k: int, u: Array, b: Array):
        self.fit_b = datafit.iterates_intercept
        self.p = mask.shape[0]
        self.idx = jnp.nonzero(mask, size=k, fill_value=0)[0]
        # Padding entries of the block (past the free count) are zeroed.
        self.valid = (jnp.arange(k) < jnp.sum(mask)).astype(u.dtype)
        if hasattr(datafit, "G"):
            self.ghat = None
            G = datafit.G[self.idx][:, self.idx]
            self._from_gram(G * jnp.outer(self.valid, self.valid))
            return
        self.ghat, d = datafit.curvature_at(u, b)
        A = self._columns(datafit.design)
        if self.fit_b:
            A = jnp.concatenate([A, jnp.ones_like(A[:, :1])], axis=1)
        self.in_range = ~jnp.any((d <= 0) & (self.ghat != 0))
        if A.shape[1] <= A.shape[0]:
            self._from_gram(A.T @ (d[:, None] * A))
            rows = A @ (self.V * jnp.sqrt(self.inv)[None, :])
            self.r2 = _largest_where(d > 0, jnp.sum(rows * rows, axis=1))
        else:
            self._from_kernel(jnp.sqrt(d)[:, None] * A, d)

    def _columns(self, design) -> Array:
        """The block's columns of the design, ``(n, k)``, gathered (a dense X)
        or through a product with their indicator (a sparse one)."""
        if is_sparse(design.X):
            E = (jnp.arange(self.p)[:, None] == self.idx[None, :]) * self.valid[None, :]
            return design.matmat(E.astype(self.valid.dtype))
        return design.columns(self.idx) * self.valid[None, :]

    def _pinv(self, lam: Array) -> Array:
        eps = jnp.finfo(lam.dtype).eps
        cutoff = lam.shape[0] * eps * jnp.max(jnp.abs(lam), initial=0.0)
        return jnp.where(lam > cutoff, 1.0 / jnp.where(lam > 0, lam, 1.0), 0.0)

    def _from_gram(self, H: Array):
        lam, self.V = jnp.linalg.eigh(H)
        self.inv, self.kernel = self._pinv(lam), False
        self.in_range = getattr(self, "in_range", jnp.asarray(True))
        self.r2 = jnp.zeros((), H.dtype)

    def _from_kernel(self, A: Array, d: Array):
        # More unknowns than samples: the n x n kernel A A' of A = D^1/2 X_F
        # has the Hessian A'A's nonzero eigenvalues, and H^+ g = A' (AA')^+ t
        # for g = A' t.
        lam, U = jnp.linalg.eigh(A @ A.T)
        self.inv, self.kernel = self._pinv(lam), True
        self.A, self.U, self.d = A, U, d
        hat = jnp.sum(jnp.where(self.inv > 0, U * U, 0.0), axis=1)
        self.r2 = _largest_where(d > 0, hat / jnp.where(d > 0, d, 1.0))

    def gradient(self, grad: Array, grad_b: Array) -> Array:
        """The block's gradient from the datafit's."""
        g = grad[self.idx] * self.valid
        return jnp.append(g, grad_b) if self.fit_b else g

    def apply(self, g: Array, ghat: Array | None):
        if not self.kernel:
            coef = self.V.T @ g
            return self.V @ (self.inv * coef), jnp.sum(self.inv * coef * coef)
        # g = A' t with t = ghat / sqrt(d), where every sample with a gradient
        # has curvature (``in_range``).
        d = self.d
        t = jnp.where(d > 0, ghat / jnp.sqrt(jnp.where(d > 0, d, 1.0)), 0.0)
        coef = self.U.T @ t
        # g' H^+ g = t' A A^+ t: the squared projection of t on A's range.
        lam2 = jnp.sum(jnp.where(self.inv > 0, coef * coef, 0.0))
        return self.A.T @ (self.U @ (self.inv * coef)), lam2

    def split(self, step: Array, b: Array):
        """A step on the block as ``(dbeta, db)``."""
        k = self.idx.shape[0]
        db = step[k] if self.fit_b else jnp.zeros_like(b)
        dbeta = jnp.zeros((self.p,), step.dtype).at[self.idx].add(step[:k] * self.valid)
        return dbeta, db


def _largest_where(keep: Array, a: Array) -> Array:
    return jnp.max(jnp.where(keep, a, 0.0), initial=0.0)


def _bound(datafit, block: _Block, c, beta, b, u):
    """The block's Newton step and decrement bound at ``(beta, b)``."""
    _, grad, grad_b, _ = datafit.value_and_grad_at(u, beta, b)
    ghat = None if block.ghat is None else datafit.curvature_at(u, b)[0]
    step, lam2 = block.apply(block.gradient(grad, grad_b), ghat)
    bound = jnp.where(block.in_range, _decrement_bound(c, lam2, block.r2), jnp.inf)
    return step, lam2, bound


def _newton_step(datafit, mask, k, c, beta, b, u):
    """The decrement bound at ``(beta, b)`` and the point one Newton step on
    the block away (a backtracking line search on the loss where it is not
    quadratic)."""
    block = _Block(datafit, mask, k, u, b)
    step, lam2, bound = _bound(datafit, block, c, beta, b, u)
    dbeta, db = block.split(-step, b)
    du = datafit.forward(dbeta)
    # The first of 1, 1/2, 1/4, ... with an Armijo decrease of the loss.
    ts = 0.5 ** jnp.arange(_HALVINGS, dtype=beta.dtype)
    losses = jax.vmap(lambda t: datafit.loss_at(u + b + t * (du + db)))(ts)
    ok = losses <= datafit.loss_at(u + b) - 0.25 * ts * lam2
    t = jnp.where(jnp.any(ok), ts[jnp.argmax(ok)], 0.0)
    moved = (t > 0) & jnp.all(jnp.isfinite(dbeta)) & jnp.isfinite(db)
    stepped = (beta + t * dbeta, b + t * db, u + t * du)
    return bound, jax.tree.map(lambda new, old: jnp.where(moved, new, old), stepped, (beta, b, u))


def _quadratic_refit(datafit, mask, k, beta, b, u):
    """The squared loss: one exact step, and the bound at its end point (the
    Hessian does not change, one factorization serves both)."""
    block = _Block(datafit, mask, k, u, b)
    step, _, _ = _bound(datafit, block, 0.0, beta, b, u)
    dbeta, db = block.split(-step, b)
    stepped = (beta + dbeta, b + db, u + datafit.forward(dbeta))
    finite = jnp.all(jnp.isfinite(stepped[0])) & jnp.all(jnp.isfinite(stepped[2]))
    beta, b, u = jax.tree.map(lambda new, old: jnp.where(finite, new, old), stepped, (beta, b, u))
    bound = _bound(datafit, block, 0.0, beta, b, u)[2]
    return beta, b, u, jnp.where(finite, bound, jnp.inf)


def refit(datafit, pen, k: int, beta: Array, b: Array, u: Array, target: Array):
    """Newton steps on the free block (at most ``k`` coordinates, static)
    from ``(beta, b)`` (``u`` its image) until the bound on what the block
    can still gain (the module docstring's) is at most ``target``: the
    point, its image and the bound."""
    mask = free_mask(pen)
    c = getattr(datafit, "self_concordance", 0.0)
    if c == 0:
        return _quadratic_refit(datafit, mask, k, beta, b, u)

    def body(state):
        i, point, _, _ = state
        # The step lowers the loss, so the bound at its start holds at its
        # end too: it is taken even on the last pass (a spare quadratic gain),
        # and also where no bound holds yet (far from the block's minimum).
        bound, point = _newton_step(datafit, mask, k, c, *point)
        done = (bound <= target) | (i + 1 >= _NEWTON_STEPS)
        return i + 1, point, bound, done

    inf = jnp.full((), jnp.inf, beta.dtype)
    state = (jnp.zeros((), jnp.int32), (beta, b, u), inf, jnp.asarray(False))
    _, (beta, b, u), bound, _ = jax.lax.while_loop(lambda s: ~s[3], body, state)
    return beta, b, u, bound


def certify(datafit, pen, beta, b, u, bound, step) -> Certificate:
    """The certificate of a point whose free block was refit to within
    ``bound``: the smaller of the duality gap plus the bound, and the gap at
    the zero dual point."""
    # A negligible penalty on the free block is left out of the problem the
    # gap is taken for, and its value added: P(w) - P* <= [P0(w) - P0*] + h_F(w)
    # with P0 the objective without it (P0* <= P*, as h_F >= 0).
    mask = free_mask(pen)
    cert = certificate_at(datafit, pen.without(mask), u, beta, b, step)
    rest = pen.value(jnp.where(mask, beta, 0.0))
    cert = cert._replace(objective=cert.objective + rest)
    at_zero = _zero_dual_gap(pen, cert, beta)
    return cert._replace(gap=jnp.minimum(cert.gap + bound + rest, at_zero))


def _zero_dual_gap(pen, cert: Certificate, beta: Array) -> Array:
    """The gap at the zero dual point, a certificate whatever is free: the
    objective less the infima of the datafit (0 for every datafit here, whose
    targets a predictor can match) and of the penalty."""
    loss = cert.objective - pen.value(beta)
    return loss + pen.fenchel_young(beta, jnp.zeros_like(beta))


def guard(problem, pen, out):
    """A solver's output where no refit was compiled (no free coordinate
    expected, or an unrolled solve): should some be free after all (a traced
    alpha at zero), the gap is the zero dual point's, and a fit it does not
    certify is STALLED. Plain selects, no ``cond``: under ``vmap`` a ``cond``
    would broadcast the data it closes over to every batch member."""
    gap = _zero_dual_gap(pen, out.cert, out.beta)
    cert = out.cert._replace(gap=gap)
    met = meets_tolerance(cert, problem.gap_tol, problem.lipschitz)
    check = jnp.any(free_mask(pen)) & (out.status == Status.CONVERGED)
    status = jnp.where(check & ~met, Status.STALLED, out.status).astype(out.status.dtype)
    return out._replace(cert=cert._replace(gap=jnp.where(check, gap, out.cert.gap)), status=status)


def rounds(problem, pen, run, beta0, b0, max_iter):
    """``run(beta, b, iterations, first, tighten)`` (a solver, returning its
    :class:`~jaxreg.solvers.SolverResult`, stopping at ``tighten`` times the
    tolerance) in up to ``_ROUNDS`` rounds, each followed by a refit of the
    free block and its certificate: the fit is CONVERGED once that
    certificate meets the tolerance, STALLED if it still fails after the last
    round, NO_MINIMIZER where the datafit proves that none exists. The refit
    moves the free block, which leaves the penalized coordinates less optimal
    than the solver left them: each round after the first stops the solver at
    a tighter share of the tolerance (and accepts its stall there). Without
    free coordinates, one run as it is."""
    datafit = problem.datafit
    count = jnp.sum(free_mask(pen))
    step = 1.0 / problem.lipschitz
    # What the block may still gain is a small share of the tolerance.
    target = _TARGET_SHARE * problem.gap_tol

    def after(out):
        u = datafit.forward(out.beta)
        beta, b, u, bound = refit(datafit, pen, problem.free, out.beta, out.b, u, target)
        cert = certify(datafit, pen, beta, b, u, bound, step)
        met = meets_tolerance(cert, problem.gap_tol, problem.lipschitz)
        image = out.image
        if image is not None:
            image = (u, datafit.value_and_grad_at(u, beta, b)[1])
        out_of_iterations = out.n_iter >= max_iter
        status = jnp.where(met, Status.CONVERGED, Status.STALLED)
        status = jnp.where(~met & out_of_iterations, Status.MAX_ITER, status)
        # The free block alone puts every weighted sample on its side: scaling
        # it up drives the loss to an infimum (0) that no point attains,
        # whatever the penalized coordinates are.
        separated = getattr(datafit, "separated", None)
        if separated is not None:
            none = separated(datafit.forward(jnp.where(free_mask(pen), beta, 0.0)), b)
            status, met = jnp.where(none, Status.NO_MINIMIZER, status), met | none
        status = status.astype(out.status.dtype)
        return out._replace(beta=beta, b=b, cert=cert, status=status, image=image), met

    def body(state):
        k, _, out = state
        first = k == 0
        beta = jnp.where(first, beta0, out.beta)
        b = jnp.where(first, b0, out.b)
        used = jnp.where(first, 0, out.n_iter).astype(out.n_iter.dtype)
        tighten = jnp.asarray(_TIGHTEN, problem.gap_tol.dtype) ** k
        new = run(beta, b, max_iter - used, first, tighten)
        new = new._replace(n_iter=(new.n_iter + used).astype(out.n_iter.dtype))
        stopped = (new.status == Status.CONVERGED) | (~first & (new.status == Status.STALLED))
        check = (count > 0) & stopped
        # More free coordinates than the block holds (a traced alpha at zero):
        # the zero dual point alone. Both computed and selected (see guard).
        refit_out, met = after(new)
        use = check & (count <= problem.free)
        new = jax.tree.map(lambda a, b: jnp.where(use, a, b), refit_out, guard(problem, pen, new))
        met = met | ~use
        done = ~check | met | (k + 1 >= _ROUNDS) | (new.n_iter >= max_iter)
        return k + 1, done, new

    shape = jax.eval_shape(lambda: run(beta0, b0, max_iter, True, 1.0))
    filler = jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), shape)
    state = (jnp.zeros((), jnp.int32), jnp.asarray(False), filler)
    return jax.lax.while_loop(lambda s: ~s[1], body, state)[2]
