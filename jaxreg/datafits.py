"""Datafits: the smooth part of the objective, as pytrees.

The datafit protocol. The *class* tells the setup how to build an instance
from the data and what the loss is, pointwise:

* ``null_model(y, s, fit_intercept)`` -> :class:`NullModel`: the
  intercept-only fit (what is moved out of the targets, the start of the
  intercept, and the null loss that scales the relative tolerance);
* ``build(design, y, s, null, fit_intercept)``: the instance on a
  :class:`Design` with sample weights ``s`` summing to one;
* ``pointwise(eta, y)``: the per-sample loss at linear predictors ``eta``
  (for scoring and implicit differentiation: the instance's value must be
  ``sum_i s_i pointwise(eta_i, y_i)``);
* ``check_targets(y, sample_weight)``: raise a ``ValueError`` on targets the
  loss does not accept (called on concrete inputs, before compiled work);
* ``tol_floor_eps``: the tolerance floor in machine epsilons;
* optionally ``from_gram(G, c, yy)`` (Gram mode) and ``coordinate_descent``
  (working sets with coordinate descent apply: on the datafit itself for
  the squared loss, on its quadratic model for a datafit with
  ``second_order``).

An *instance* knows its value and gradient at ``(beta, b)`` (``b`` the
intercept, iterated only by datafits whose ``iterates_intercept`` is True,
which then also give ``best_intercept`` and ``intercept_lipschitz``), its
Lipschitz constant, and the Fenchel-Young term of the duality gap at the dual
point ``kappa * (negative gradient of the loss in the linear predictor)``.
A quadratic datafit may add ``curvature`` (Hessian-vector products), which
lets FISTA polish the support by conjugate gradients. A datafit that is a sum
of per-sample losses of the linear predictor ``z = X~ beta + b`` may add
``loss_at(z)`` and ``second_order(z)`` (the per-sample gradient and
curvature weights in ``z``): the proximal Newton working-set solver
(:mod:`jaxreg._prox_newton`) then applies.

Value and gradient depend on ``beta`` through one linear map, ``forward``
(``X~ beta`` in design mode, ``G beta`` in Gram mode), and the ``*_at``
methods take its image ``u`` instead of ``beta``. Images are linear in
``beta``, so a solver that keeps the image of its iterate gets the image of
any extrapolated point for free: one product with ``X~`` or ``G`` per
iteration serves both the step and the certificate.

All datafits work on a :class:`Design`: ``X`` with optional implicit column
centering and scaling, so standardization never needs a copy of ``X``.
Sample weights are normalized to sum to one, which is what makes the
objectives means over samples.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import ClassVar, NamedTuple

import jax
import jax.numpy as jnp
from jax import Array

from jaxreg._validation import is_sparse

__all__ = ["Design", "Quadratic", "QuadraticGram", "Logistic", "Multinomial", "NullModel"]


class NullModel(NamedTuple):
    """What a datafit's intercept-only fit gives the setup.

    Attributes:
      offset: added to the targets' fit outside the solver: the squared
        loss's weighted mean of ``y`` (its targets are centered by it and its
        intercept is never iterated); zero for a datafit that iterates its
        intercept.
      b0: the intercept the solver starts from (the null model's, for a
        datafit that iterates it).
      gap_scale: the null model's loss, the scale of the relative tolerance.
    """

    offset: Array
    b0: Array
    gap_scale: Array


# Gram matrices with fewer columns are cheap enough in float64 (products with
# them are latency-bound, so a float32 copy would not halve their cost).
_MIXED_MIN_COLUMNS = 128

# Lanczos steps for the top eigenvalue (the Lipschitz constant). Its Ritz
# value approaches the top eigenvalue from below; on the benchmark designs
# and on Gaussian ones, 32 steps came within 3e-5 of it, where 100 power
# iterations (three times the products) stopped up to 0.9% short.
_TOP_STEPS = 32
# A step a little shorter than 1/L keeps FISTA's descent guarantee with the
# estimate.
_TOP_SAFETY = 1.05

# Lanczos steps for the smallest eigenvalue of a Gram matrix.
_LANCZOS_STEPS = 30
# The Cholesky check is run at this share of the Lanczos estimate, which
# approaches the smallest eigenvalue from above (within a few percent after
# 30 steps on the benchmark designs).
_STRONG_SHARE = 0.8


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Design:
    r"""The linear operator :math:`\tilde X = (X - 1 m^\top)\,\mathrm{diag}(1/s)`.

    Attributes:
      X: the raw design, shape ``(n, p)``: a dense array or a JAX ``BCOO``
        sparse matrix (then centering and scaling never densify it); with
        ``transposed``, a dense ``X'`` of shape ``(p, n)``.
      mean: column offsets ``m`` (zeros when not centering), shape ``(p,)``.
      scale: column scales ``s`` (ones when not standardizing), shape ``(p,)``.
      transposed: X is stored transposed, each column a contiguous row: the
        layout of the solvers that visit columns, so that the one copy of X
        a fit makes serves them and every product.
    """

    X: Array
    mean: Array
    scale: Array
    transposed: bool = dataclasses.field(default=False, metadata=dict(static=True))

    @property
    def shape(self) -> tuple[int, int]:
        """``(n, p)``, however X is stored."""
        return self.X.shape[::-1] if self.transposed else self.X.shape

    def matvec(self, beta: Array) -> Array:
        v = beta / self.scale
        if is_sparse(self.X):
            return _sparse_product(self.X, v, 1) - jnp.dot(self.mean, v)
        raw = v @ self.X if self.transposed else self.X @ v
        return raw - jnp.dot(self.mean, v)

    def rmatvec(self, u: Array) -> Array:
        if is_sparse(self.X):
            raw = _sparse_product(self.X, u, 0)
        elif self.transposed:
            raw = self.X @ u
        else:
            # Written as a row vector times X: XLA's CPU backend computes
            # ``X.T @ u`` several times slower.
            raw = u @ self.X
        return (raw - self.mean * jnp.sum(u)) / self.scale

    def columns(self, idx: Array) -> Array:
        """The centered, scaled columns ``idx`` of a dense design, ``(n, k)``."""
        if self.transposed:
            return ((self.X[idx] - self.mean[idx, None]) / self.scale[idx, None]).T
        return (self.X[:, idx] - self.mean[idx]) / self.scale[idx]

    def gram(self, weights: Array) -> Array:
        """Weighted Gram matrix ``X~' diag(weights) X~`` (dense, ``(p, p)``).

        A dense X is centered explicitly for accuracy; a ``BCOO`` X gets its
        raw sparse product corrected for the offsets afterwards.
        """
        if is_sparse(self.X):
            raw = (self.X.T @ (weights[:, None] * self.X)).todense()
            xw = self.X.T @ weights
            m = self.mean
            G = raw - jnp.outer(m, xw) - jnp.outer(xw, m) + jnp.sum(weights) * jnp.outer(m, m)
            # An infinite scale marks a column zeroed by the centering.
            inv = jnp.where(jnp.isinf(self.scale), 0.0, 1.0 / self.scale)
            return G * jnp.outer(inv, inv)
        if self.transposed:
            Xc = ((self.X - self.mean[:, None]) / self.scale[:, None]).T
        else:
            Xc = (self.X - self.mean) / self.scale
        return _weighted_gram(Xc, weights)

    def matmat(self, B: Array) -> Array:
        """``X~ B`` for a dense ``B`` of shape ``(p, k)``."""
        V = B / self.scale[:, None]
        raw = (V.T @ self.X).T if self.transposed else self.X @ V
        return raw - (self.mean @ V)[None, :]

    def rmatmat(self, R: Array) -> Array:
        """``X~' R`` for a dense ``R`` of shape ``(n, k)``."""
        if is_sparse(self.X):
            raw = self.X.T @ R
        else:
            raw = self.X @ R if self.transposed else (R.T @ self.X).T
        return (raw - self.mean[:, None] * jnp.sum(R, axis=0)) / self.scale[:, None]

    def top_eigenvalue(self, weights: Array) -> Array:
        """Safe estimate of the top eigenvalue of ``X~' diag(weights) X~`` (Lanczos)."""
        op = lambda v: self.rmatvec(weights * self.matvec(v))  # noqa: E731
        return _top_eigenvalue(op, self.shape[1], self.X.dtype)


def _sparse_product(X, v: Array, axis: int) -> Array:
    """``X @ v`` (``axis=1``) or ``X' v`` (``axis=0``) for a ``BCOO`` X, as
    a gather and a segment sum over its entries: on a CPU about twice as
    fast as the ``BCOO`` products, and the same for any order of entries."""
    out = X.indices[:, 1 - axis]
    return jax.ops.segment_sum(X.data * v[X.indices[:, axis]], out, num_segments=X.shape[1 - axis])


@jax.custom_jvp
def _weighted_gram(A: Array, weights: Array) -> Array:
    """``A' diag(weights) A`` for a dense ``A`` and nonnegative ``weights``.

    Computed as ``Z' Z`` with ``Z = diag(sqrt(weights)) A``, by column blocks:
    the lower-left block is the transpose of the upper-right one, so the
    product costs three quarters of the full one and is exactly symmetric.
    The derivative is defined directly (a zero weight would make the square
    root's infinite).
    """
    p = A.shape[1]
    Z = jnp.sqrt(weights)[:, None] * A
    if p < 64:
        return Z.T @ Z
    h = p // 2
    Z1, Z2 = Z[:, :h], Z[:, h:]
    g12 = Z1.T @ Z2
    return jnp.block([[Z1.T @ Z1, g12], [g12.T, Z2.T @ Z2]])


@_weighted_gram.defjvp
def _weighted_gram_jvp(primals, tangents):
    A, weights = primals
    dA, dw = tangents
    half = A.T @ (weights[:, None] * dA)
    tangent = half + half.T + A.T @ (dw[:, None] * A)
    return _weighted_gram(A, weights), tangent


def _start_vector(p: int, seed: int, dtype) -> Array:
    """A fixed pseudo-random start for the Lanczos iterations, entries
    in ``[1/2, 3/2)``: an integer hash of each index (one fused kernel; a
    ``jax.random`` draw compiles to several), so that it has, like a random
    vector, a component along every eigenvector with high probability, and a
    large one along a vector of one sign (the top eigenvector of positively
    correlated columns)."""
    x = jnp.arange(p, dtype=jnp.uint32) * jnp.uint32(0x9E3779B9) + jnp.uint32(seed)
    x = (x ^ (x >> 16)) * jnp.uint32(0x7FEB352D)
    x = (x ^ (x >> 15)) * jnp.uint32(0x846CA68B)
    x = x ^ (x >> 16)
    return (x >> 8).astype(dtype) / 16777216.0 + 0.5


def _lanczos(operator, p: int, dtype, steps: int, seed: int, fill, floor):
    """The tridiagonal matrix of ``steps`` Lanczos steps on a symmetric
    operator, as its diagonal and off-diagonal (``off[i]`` couples entries
    ``i`` and ``i + 1``; its last entry is unused).

    No reorthogonalization (a loss of orthogonality only duplicates converged
    Ritz values). A step whose new off-diagonal entry ``beta`` is at most
    ``floor(a, beta_prev)`` is a breakdown (an invariant subspace found, e.g.
    for ``c I``): the remaining diagonal entries are set to ``fill``, chosen
    on the side of the spectrum whose end is not wanted, with zero
    off-diagonal entries.
    """
    v0 = _start_vector(p, seed, dtype)
    tiny = jnp.finfo(dtype).tiny

    def body(k, carry):
        v, v_prev, beta_prev, alive, diag, off = carry
        w = operator(v) - beta_prev * v_prev
        a = jnp.dot(w, v)
        w = w - a * v
        beta = jnp.linalg.norm(w)
        go_on = alive & (beta > floor(a, beta_prev))
        v_next = jnp.where(go_on, w / jnp.maximum(beta, tiny), 0.0)
        diag = diag.at[k].set(jnp.where(alive, a, fill))
        off = off.at[k].set(jnp.where(go_on, beta, 0.0))
        return v_next, v, jnp.where(go_on, beta, 0.0), go_on, diag, off

    zeros = jnp.zeros((steps,), dtype)
    alive = jnp.ones((), bool)
    init = (v0 / jnp.linalg.norm(v0), jnp.zeros_like(v0), zeros[0], alive, zeros, zeros)
    _, _, _, _, diag, off = jax.lax.fori_loop(0, steps, body, init)
    return diag, off


def _tridiagonal_extreme(diag: Array, off: Array, top: bool) -> Array:
    """The largest (``top``) or smallest eigenvalue of a symmetric tridiagonal
    matrix, by bisection on Sturm counts, in plain array operations.

    The count of eigenvalues below ``x`` is the number of negative pivots of
    the LDL' factorization of ``T - x I`` (a recurrence over the ``k``
    entries; a loop, which compiles faster than the recurrence unrolled and
    ran faster too). Bisection starts from the
    Gershgorin interval and halves it until it is a few ulps wide; the end
    returned is the one away from the spectrum's interior (above the top,
    below the bottom). The counts are exact for a matrix within about
    ``k`` ulps of ``T`` (measured: within 3e-15 of LAPACK's eigenvalues,
    relative to the largest, in float64; 2e-7 in float32).

    Why not ``eigvalsh``: on CPU, LAPACK's batched kernels (under vmap, one
    matrix per problem) split the batch over the thread pool that runs the
    XLA program and wait for it; with several host devices each running its
    share of a sharded program, every thread of the pool can end up waiting
    for the others (measured: a hang of the 2 x 2 mesh cross-validation).
    """
    k = diag.shape[-1]
    dtype = diag.dtype
    info = jnp.finfo(dtype)
    e = jnp.abs(off[:-1])
    e2 = e * e
    zero = jnp.zeros((1,), dtype)
    radius = jnp.concatenate([e, zero]) + jnp.concatenate([zero, e])
    pivmin = info.tiny * jnp.maximum(1.0, jnp.max(e2, initial=0.0))
    lo, hi = jnp.min(diag - radius), jnp.max(diag + radius)
    pad = 2.0 * info.eps * jnp.maximum(jnp.abs(lo), jnp.abs(hi)) + pivmin
    lo, hi = lo - pad, hi + pad

    e2_before = jnp.concatenate([zero, e2])  # e2_before[i] couples i - 1 and i

    def below(x):
        def pivot(i, carry):
            q, count = carry
            q = jnp.where(jnp.abs(q) < pivmin, -pivmin, q)
            q = diag[i] - x - e2_before[i] / q
            return q, count + (q < 0)

        q = diag[0] - x
        return jax.lax.fori_loop(1, k, pivot, (q, (q < 0).astype(jnp.int32)))[1]

    def halve(_, ends):
        lo, hi = ends
        mid = 0.5 * (lo + hi)
        # Top: all k eigenvalues below mid puts the top below it. Bottom: any.
        past = below(mid) >= (k if top else 1)
        return jnp.where(past, lo, mid), jnp.where(past, mid, hi)

    # Enough halvings to shrink the Gershgorin interval to its rounding.
    lo, hi = jax.lax.fori_loop(0, info.nmant + 8, halve, (lo, hi))
    # A diagonal T (a breakdown at the first step: c I, a zero operator) has
    # its diagonal for eigenvalues, exactly.
    diagonal = jnp.max(e, initial=0.0) == 0
    if top:
        return jnp.where(diagonal, jnp.max(diag), hi)
    return jnp.where(diagonal, jnp.min(diag), lo)


def _cholesky_succeeds(A: Array) -> Array:
    """Whether the Cholesky factorization of a symmetric ``A`` runs to the end
    with positive pivots, in plain array operations (no LAPACK).

    The outer-product form: ``p`` steps, each taking a column of the factor
    and subtracting its rank-one term from the rest of the matrix (masked to
    the trailing block, so shapes stay static): ``p^3`` operations where
    LAPACK's blocked factorization does ``p^3 / 3``, with the same backward
    error bound. For programs sharded over several CPU devices, where
    jaxlib's batched LAPACK kernels can deadlock the devices' shared thread
    pool (see :func:`_tridiagonal_extreme`).
    """
    p = A.shape[-1]
    index = jnp.arange(p)

    def step(k, carry):
        M, ok = carry
        pivot = M[k, k]
        ok = ok & (pivot > 0)  # False for NaN too
        column = jnp.where(index > k, M[:, k], 0.0) / jnp.sqrt(jnp.where(pivot > 0, pivot, 1.0))
        return M - column[:, None] * column[None, :], ok

    return jax.lax.fori_loop(0, p, step, (A, jnp.ones((), bool)))[1]


def _lanczos_bottom(G: Array, steps: int) -> Array:
    """Smallest Ritz value of ``steps`` Lanczos steps on a symmetric ``G``: an
    estimate of its smallest eigenvalue from above. After a breakdown the
    remaining diagonal entries are set above the spectrum (the largest
    absolute row sum), so they leave the smallest Ritz value alone."""
    tiny = jnp.finfo(G.dtype).tiny
    above = jnp.max(jnp.sum(jnp.abs(G), axis=1))
    floor = lambda a, beta_prev: tiny * above  # noqa: E731
    diag, off = _lanczos(lambda v: G @ v, G.shape[-1], G.dtype, steps, 1, above, floor)
    return _tridiagonal_extreme(diag, off, top=False)


def _top_eigenvalue(operator, p: int, dtype) -> Array:
    """Safe estimate of the top eigenvalue of a PSD operator on vectors of
    length ``p``: the top Ritz value of ``_TOP_STEPS`` Lanczos
    steps (from below) times ``_TOP_SAFETY``.

    Each step is one application of the operator: for a design, a product
    with ``X`` and one with its transpose, which read the whole design from
    memory. Lanczos converges to the top of the spectrum far faster than
    power iteration per product (see ``_TOP_STEPS``), and batches under vmap.
    A breakdown fills the remaining diagonal with zeros, below the top of a
    PSD spectrum.
    """
    eps = jnp.finfo(dtype).eps
    floor = lambda a, beta_prev: 64.0 * eps * (jnp.abs(a) + beta_prev)  # noqa: E731
    # A Krylov space of R^p is spanned in p steps: more would only repeat
    # the spectrum (and cost a small problem's setup three times the time).
    diag, off = _lanczos(operator, p, dtype, min(_TOP_STEPS, p), 0, 0.0, floor)
    return _TOP_SAFETY * _tridiagonal_extreme(diag, off, top=True)


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Quadratic:
    r"""Weighted least squares :math:`\tfrac12 \sum_i s_i (y_i - \tilde x_i^\top \beta)^2`.

    ``weights`` sum to one. ``y`` is already centered when an intercept is fit,
    so the intercept is recovered in closed form afterwards and never iterated.
    """

    design: Design
    y: Array
    weights: Array
    iterates_intercept = False
    tol_floor_eps = 10.0
    coordinate_descent = True

    @staticmethod
    def pointwise(eta: Array, y: Array) -> Array:
        """Per-sample loss ``(y - eta)^2 / 2`` at linear predictors ``eta``."""
        return 0.5 * (y - eta) ** 2

    @staticmethod
    def null_model(y: Array, s: Array, fit_intercept: bool) -> NullModel:
        """The intercept-only fit: the weighted mean of ``y`` (zero without an intercept)."""
        zero = jnp.zeros((), y.dtype)
        offset = s @ y if fit_intercept else zero
        yc = y - offset
        return NullModel(offset, zero, s @ (yc * yc))

    @classmethod
    def build(cls, design: Design, y: Array, s: Array, null: NullModel, fit_intercept: bool):
        """The datafit on a design, with targets centered by the null model."""
        return cls(design, y - null.offset, s)

    @staticmethod
    def from_gram(G: Array, c: Array, yy: Array) -> QuadraticGram:
        """The same loss through its sufficient statistics (Gram mode)."""
        return QuadraticGram.build(G, c, yy)

    @staticmethod
    def check_targets(y, sample_weight) -> None:
        """Any finite targets are valid."""

    def forward(self, beta: Array) -> Array:
        return self.design.matvec(beta)

    def value_and_grad_at(self, u: Array, beta: Array, b: Array):
        r = self.y - u
        wr = self.weights * r
        rr = jnp.dot(wr, r)
        return 0.5 * rr, -self.design.rmatvec(wr), jnp.zeros_like(b), rr

    def grad_at(self, u: Array, b: Array):
        return -self.design.rmatvec(self.weights * (self.y - u)), jnp.zeros_like(b)

    def value_and_grad(self, beta: Array, b: Array):
        return self.value_and_grad_at(self.forward(beta), beta, b)

    def curvature(self, image: Array) -> Array:
        """Hessian-vector product ``X~' S X~ d`` from the image ``X~ d``."""
        return self.design.rmatvec(self.weights * image)

    def curvature_at(self, u: Array, b: Array):
        """Per-sample gradient ``-s r`` and curvature ``s`` of the loss in the
        linear predictor at the image ``u``."""
        return -self.weights * (self.y - u), self.weights

    def fenchel_young(self, aux: Array, kappa: Array) -> Array:
        # sum_i s_i [l_i(z_i) + l_i^*(v_i) - z_i v_i] with v = -kappa r.
        return 0.5 * (1.0 - kappa) ** 2 * aux

    def lipschitz(self) -> Array:
        return self.design.top_eigenvalue(self.weights)


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class QuadraticGram:
    r"""Least squares through its sufficient statistics (Gram mode, for n > p).

    :math:`\tfrac12 (yy - 2 c^\top\beta + \beta^\top G \beta)` with
    ``G = X~' S X~``, ``c = X~' S y`` and ``yy = y' S y``. Each iteration costs
    ``O(p^2)`` instead of ``O(n p)``.
    """

    G: Array
    c: Array
    yy: Array
    # Optional float32 copy of a float64 G, for the iterations' products (see
    # :meth:`forward_increment`); certificates always use G itself.
    G_low: Array | None = None
    # A certified lower bound on the smallest eigenvalue of G (see
    # :meth:`with_strong_convexity`); None where not computed.
    strong: Array | None = None
    iterates_intercept = False
    tol_floor_eps = 10.0

    @classmethod
    def build(cls, G: Array, c: Array, yy: Array) -> QuadraticGram:
        """The datafit, with a float32 copy of ``G`` when ``G`` is a float64
        matrix large enough for products with it to be memory-bound."""
        low = G.dtype == jnp.float64 and G.shape[-1] >= _MIXED_MIN_COLUMNS
        return cls(G, c, yy, G.astype(jnp.float32) if low else None)

    def with_strong_convexity(self, portable: bool = False) -> QuadraticGram:
        r"""The datafit with ``strong``: a certified :math:`\mu \le \lambda_{\min}(G)`.

        The objective is then :math:`\mu`-strongly convex, and its duality gap
        can also be taken for the split that moves :math:`\tfrac{\mu}{2}\|w\|^2`
        from the datafit into the penalty (see :func:`jaxreg.solvers.certificate`).
        A Lanczos estimate of the smallest eigenvalue, from above, is checked
        by a Cholesky factorization of ``G - tau I`` at a share of it: success
        proves ``G - tau I`` positive definite up to the factorization's
        rounding, which is subtracted. ``mu = 0`` where the check fails (a
        singular or badly conditioned ``G``). About a Gram matrix's own cost
        times ``p / (3 n)``, plus a fixed cost: LAPACK's BLAS threads keep
        spinning for a while after the factorization and slow the solve that
        follows. No derivative flows through it.

        ``portable`` (static): no LAPACK call, for programs sharded over
        several CPU devices (see :func:`_cholesky_succeeds`): the
        factorization in plain array operations, the same certificate at a
        higher cost.
        """
        G = jax.lax.stop_gradient(self.G)
        p = G.shape[-1]
        eps = jnp.finfo(G.dtype).eps
        # Lanczos at every size, small ones too, where it runs at least one
        # step per column (p <= 60), enough for the smallest eigenvalue to
        # converge: a dense eigensolver would be a LAPACK call, and the
        # estimate must be the same with and without ``portable`` for the
        # certificates of sharded and single-device runs to agree.
        steps = max(_LANCZOS_STEPS, p) if p <= 2 * _LANCZOS_STEPS else _LANCZOS_STEPS
        estimate = _lanczos_bottom(G, steps)
        tau = _STRONG_SHARE * estimate
        # Backward error of a successful Cholesky factorization: it is exact
        # for G - tau I + E with ||E|| <= (p + 1) p eps max_i G_ii (Demmel).
        margin = (p + 1) * p * eps * jnp.max(jnp.diagonal(G))
        shifted = G - tau * jnp.eye(p, dtype=G.dtype)
        if portable:
            factored = _cholesky_succeeds(shifted)
        else:
            factored = jnp.all(jnp.diagonal(jnp.linalg.cholesky(shifted)) > 0)
        ok = factored & (tau > margin)  # False for NaN too
        return dataclasses.replace(self, strong=jnp.where(ok, tau - margin, 0.0).astype(G.dtype))

    @property
    def mixed(self) -> bool:
        """Whether iterations may use the float32 copy (static)."""
        return self.G_low is not None

    def forward(self, beta: Array) -> Array:
        return self.G @ beta

    def forward_increment(self, delta: Array) -> Array:
        """``G @ delta`` in float32, for a small step ``delta`` from a point
        whose image is known exactly: the rounding error is relative to the
        step, not to the iterate, so iterations anchored at exact images
        converge to the float64 solution at half the memory traffic."""
        return (self.G_low @ delta.astype(jnp.float32)).astype(delta.dtype)

    def curvature(self, image: Array) -> Array:
        """Hessian-vector product ``G d`` from the image ``G d``: the image itself."""
        return image

    def value_and_grad_at(self, u: Array, beta: Array, b: Array):
        grad = u - self.c
        # ||r||^2 = yy - 2 c'beta + beta'G beta = yy - c'beta + beta'(G beta - c)
        rr = jnp.maximum(self.yy - jnp.dot(self.c, beta) + jnp.dot(beta, grad), 0.0)
        return 0.5 * rr, grad, jnp.zeros_like(b), rr

    def grad_at(self, u: Array, b: Array):
        return u - self.c, jnp.zeros_like(b)

    def value_and_grad(self, beta: Array, b: Array):
        return self.value_and_grad_at(self.forward(beta), beta, b)

    def fenchel_young(self, aux: Array, kappa: Array) -> Array:
        return 0.5 * (1.0 - kappa) ** 2 * aux

    def lipschitz(self) -> Array:
        # On G itself, also where a float32 copy exists: a few dozen Lanczos
        # steps in float64 are cheap next to the solve, and exact.
        return _top_eigenvalue(lambda v: self.G @ v, self.G.shape[1], self.G.dtype)


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Logistic:
    r"""Weighted binary log-loss :math:`\sum_i s_i [\log(1 + e^{z_i}) - y_i z_i]`.

    ``z = X~ beta + b``, ``y`` in {0, 1}, ``weights`` summing to one. With an
    intercept the design is centered (a reparametrization of ``b``), which
    decouples ``b`` from ``beta`` in the Lipschitz constant.
    """

    design: Design
    y: Array
    weights: Array
    fit_intercept: bool = dataclasses.field(metadata=dict(static=True), default=True)
    # The logistic gradient sums terms of mixed sign over samples and resolves
    # about ten times less than least squares.
    tol_floor_eps = 100.0
    coordinate_descent = True
    # The per-sample loss's third derivative is at most its second (see
    # :mod:`jaxreg._free`).
    self_concordance = 1.0

    @staticmethod
    def pointwise(eta: Array, y: Array) -> Array:
        """Per-sample log-loss ``log(1 + e^eta) - y eta``."""
        return jax.nn.softplus(eta) - y * eta

    @staticmethod
    def null_model(y: Array, s: Array, fit_intercept: bool) -> NullModel:
        """The intercept-only fit: the log-odds of the weighted mean of ``y``,
        its loss the binary entropy of that mean (``log 2`` at zero without an
        intercept)."""
        dtype = y.dtype
        zero = jnp.zeros((), dtype)
        if not fit_intercept:
            return NullModel(zero, zero, jnp.log(2.0).astype(dtype))
        q = s @ y
        entropy = -(jax.scipy.special.xlogy(q, q) + jax.scipy.special.xlogy(1 - q, 1 - q))
        return NullModel(zero, jnp.log(q) - jnp.log1p(-q), entropy.astype(dtype))

    @classmethod
    def build(cls, design: Design, y: Array, s: Array, null: NullModel, fit_intercept: bool):
        """The datafit on a design (labels as given)."""
        return cls(design, y, s, fit_intercept)

    @staticmethod
    def check_targets(y, sample_weight) -> None:
        """Labels must be 0 or 1, with both classes present."""
        from jaxreg._validation import check_binary

        check_binary(y, sample_weight)

    @property
    def iterates_intercept(self) -> bool:
        return self.fit_intercept

    def forward(self, beta: Array) -> Array:
        return self.design.matvec(beta)

    def value_and_grad_at(self, u: Array, beta: Array, b: Array):
        z = u + b
        value = jnp.dot(self.weights, jax.nn.softplus(z) - self.y * z)
        wres = self.weights * (jax.nn.sigmoid(z) - self.y)
        gb = jnp.sum(wres) if self.fit_intercept else jnp.zeros_like(b)
        return value, self.design.rmatvec(wres), gb, z

    def grad_at(self, u: Array, b: Array):
        wres = self.weights * (jax.nn.sigmoid(u + b) - self.y)
        gb = jnp.sum(wres) if self.fit_intercept else jnp.zeros_like(b)
        return self.design.rmatvec(wres), gb

    def value_and_grad(self, beta: Array, b: Array):
        return self.value_and_grad_at(self.forward(beta), beta, b)

    def fenchel_young(self, aux: Array, kappa: Array) -> Array:
        z = aux
        # The dual point v_i = kappa (sigma(z_i) - y_i) gives per-sample terms
        # equal to the Bernoulli divergence KL(q || p), p = sigma(z) and
        # q = kappa p + (1 - kappa) y. Per label it factors without cancellation:
        #   y = 1: (p + (1-k) pn) softplus(log(1-k) - z) + pn k log k
        #   y = 0: (pn + (1-k) p) softplus(log(1-k) + z) + p k log k
        # with pn = 1 - p = sigma(-z), so tiny gaps are resolved and nothing
        # overflows for large |z|.
        p, pn = jax.nn.sigmoid(z), jax.nn.sigmoid(-z)
        log_rest = jnp.log1p(-kappa)
        klogk = jax.scipy.special.xlogy(kappa, kappa)
        ones = (p + (1.0 - kappa) * pn) * jax.nn.softplus(log_rest - z) + pn * klogk
        zeros = (pn + (1.0 - kappa) * p) * jax.nn.softplus(log_rest + z) + p * klogk
        terms = self.y * ones + (1.0 - self.y) * zeros
        return jnp.dot(self.weights, jnp.maximum(terms, 0.0))

    def loss_at(self, z: Array) -> Array:
        """The loss at the linear predictor ``z = X~ beta + b``."""
        return jnp.dot(self.weights, self.pointwise(z, self.y))

    def second_order(self, z: Array):
        """Per-sample gradient ``s (p - y)`` and curvature ``s p (1 - p)`` of
        the loss in the linear predictor ``z`` (``p = sigmoid(z)``): what a
        Newton-type step needs."""
        p, pn = jax.nn.sigmoid(z), jax.nn.sigmoid(-z)
        return self.weights * (p - self.y), self.weights * (p * pn)

    def curvature_at(self, u: Array, b: Array):
        """:meth:`second_order` at the image ``u`` and intercept ``b``."""
        return self.second_order(u + b)

    def separated(self, u: Array, b: Array) -> Array:
        """Whether the linear predictor puts every weighted sample strictly on
        its label's side: then, unpenalized, the loss falls towards 0 along
        the point's own direction, and no point attains that infimum."""
        z = u + b
        right = jnp.where(self.y > 0, z > 0, z < 0)
        return jnp.all(right | (self.weights == 0))

    def best_intercept(self, u: Array, b: Array, steps: int = 8) -> Array:
        """The intercept minimizing the loss for fixed ``u = X~ beta`` (safeguarded Newton).

        Certifying at the exactly fitted intercept makes the intercept's dual
        constraint hold, so the duality gap is a true bound for ``(beta, b)``.
        """
        z = u

        def newton(_, b):
            p = jax.nn.sigmoid(z + b)
            grad = jnp.dot(self.weights, p - self.y)
            curv = jnp.dot(self.weights, p * (1.0 - p))
            return b - jnp.clip(grad / jnp.maximum(curv, 1e-12), -4.0, 4.0)

        return jax.lax.fori_loop(0, steps, newton, b)

    def lipschitz(self) -> Array:
        # With a centered design, [X~ 1]' S [X~ 1] is block diagonal, so the
        # Hessian is bounded by diag(lambda_max / 4 for beta, 1/4 for b): beta
        # and b get their own steps (the intercept's is 4), whatever X's scale.
        return 0.25 * self.design.top_eigenvalue(self.weights)

    intercept_lipschitz = 0.25


@dataclasses.dataclass(frozen=True)
class Multinomial:
    r"""Weighted softmax cross-entropy :math:`\sum_i s_i [\mathrm{lse}(z_i) - z_{i, y_i}]`
    over ``K`` classes (``outputs``), ``z = X~ W + b`` with one column of
    ``W`` and one intercept per class.

    The coefficient the solvers see is ``W`` flattened feature-major
    (``beta[j K + k] = W[j, k]``): a vector, so every solver, penalty and
    certificate applies unchanged, the per-feature penalty data are repeated
    ``K`` times (a feature's ``K`` entries share its factor), and a group
    penalty over each feature's entries is glmnet's grouped multinomial.
    ``y`` holds labels ``0..K-1``; the instance keeps them one-hot. A class
    for a given ``K`` comes from :func:`multinomial_of`.
    """

    design: Design
    Y: Array  # one-hot labels, (n, K)
    weights: Array
    fit_intercept: bool = dataclasses.field(metadata=dict(static=True), default=True)
    outputs: ClassVar[int] = 2
    tol_floor_eps = 10.0

    @staticmethod
    def pointwise(eta: Array, y: Array) -> Array:
        """Per-sample cross-entropy ``lse(eta_i) - eta_{i, y_i}``; ``eta`` of
        shape ``(n, K)``, ``y`` labels."""
        picked = jnp.take_along_axis(eta, y.astype(jnp.int32)[:, None], axis=1)[:, 0]
        return jax.nn.logsumexp(eta, axis=1) - picked

    @classmethod
    def _one_hot(cls, y: Array) -> Array:
        return jax.nn.one_hot(y.astype(jnp.int32), cls.outputs, dtype=y.dtype)

    @classmethod
    def null_model(cls, y: Array, s: Array, fit_intercept: bool) -> NullModel:
        """The intercept-only fit: the log class frequencies (centered; a
        class absent from the weights held at the smallest normal frequency),
        its loss their entropy (``log K`` at zero without an intercept)."""
        dtype = y.dtype
        K = cls.outputs
        zero = jnp.zeros((K,), dtype)
        if not fit_intercept:
            return NullModel(zero, zero, jnp.log(jnp.asarray(K, dtype)))
        q = s @ cls._one_hot(y)
        logq = jnp.log(jnp.maximum(q, jnp.finfo(dtype).tiny))
        entropy = -jnp.sum(jax.scipy.special.xlogy(q, q))
        return NullModel(zero, logq - jnp.mean(logq), entropy.astype(dtype))

    @classmethod
    def build(cls, design: Design, y: Array, s: Array, null: NullModel, fit_intercept: bool):
        """The datafit on a design (labels made one-hot)."""
        return cls(design, cls._one_hot(y), s, fit_intercept)

    @classmethod
    def check_targets(cls, y, sample_weight) -> None:
        """Labels must be integers in ``0..K-1``, two classes or more present."""
        from jaxreg._validation import check_labels

        check_labels(y, sample_weight, cls.outputs)

    @property
    def iterates_intercept(self) -> bool:
        return self.fit_intercept

    def _matrix(self, beta: Array) -> Array:
        return beta.reshape(-1, self.outputs)

    def forward(self, beta: Array) -> Array:
        """The linear predictors without intercept, ``X~ W``, shape ``(n, K)``."""
        return self.design.matmat(self._matrix(beta))

    def _rmatmat(self, R: Array) -> Array:
        """``X~' R`` flattened, for per-sample residuals ``R`` of shape ``(n, K)``."""
        return self.design.rmatmat(R).reshape(-1)

    def _residuals(self, z: Array) -> Array:
        return self.weights[:, None] * (jax.nn.softmax(z, axis=1) - self.Y)

    def value_and_grad_at(self, u: Array, beta: Array, b: Array):
        z = u + b
        value = jnp.dot(self.weights, jax.nn.logsumexp(z, axis=1) - jnp.sum(self.Y * z, axis=1))
        R = self._residuals(z)
        gb = jnp.sum(R, axis=0) if self.fit_intercept else jnp.zeros_like(b)
        return value, self._rmatmat(R), gb, z

    def grad_at(self, u: Array, b: Array):
        R = self._residuals(u + b)
        gb = jnp.sum(R, axis=0) if self.fit_intercept else jnp.zeros_like(b)
        return self._rmatmat(R), gb

    def value_and_grad(self, beta: Array, b: Array):
        return self.value_and_grad_at(self.forward(beta), beta, b)

    def fenchel_young(self, aux: Array, kappa: Array) -> Array:
        # At the dual point v_i = kappa (p_i - y_i) each sample's term is the
        # divergence KL(q_i || p_i) of q_i = kappa p_i + (1 - kappa) y_i from
        # the predicted p_i = softmax(z_i): a sum of nonnegative terms.
        logp = jax.nn.log_softmax(aux, axis=1)
        q = kappa * jnp.exp(logp) + (1.0 - kappa) * self.Y
        terms = jnp.sum(jax.scipy.special.xlogy(q, q) - q * logp, axis=1)
        return jnp.dot(self.weights, jnp.maximum(terms, 0.0))

    def best_intercept(self, u: Array, b: Array, steps: int = 8) -> Array:
        """The intercepts minimizing the loss for fixed ``u = X~ W``: Newton
        steps on the ``K x K`` Hessian (singular along the all-ones direction,
        which the softmax ignores: regularized at rounding level), clipped."""
        K = self.outputs
        eye = jnp.eye(K, dtype=u.dtype)

        def newton(_, b):
            P = jax.nn.softmax(u + b, axis=1)
            g = self.weights @ (P - self.Y)
            H = jnp.diag(self.weights @ P) - (self.weights[:, None] * P).T @ P
            H = H + (jnp.finfo(u.dtype).eps * (1.0 + jnp.trace(H))) * eye
            step = jnp.linalg.solve(H, g)
            b = b - jnp.clip(jnp.where(jnp.isfinite(step), step, 0.0), -4.0, 4.0)
            return b - jnp.mean(b)

        return jax.lax.fori_loop(0, steps, newton, b)

    def lipschitz(self) -> Array:
        # The softmax Hessian diag(p) - p p' is at most 1/2 in every direction;
        # with a centered design the bound on the Hessian in (W, b) is block
        # diagonal, as for the binary loss: W and b get their own steps.
        return 0.5 * self.design.top_eigenvalue(self.weights)

    intercept_lipschitz = 0.5


@functools.cache
def multinomial_of(n_classes: int) -> type:
    """The :class:`Multinomial` datafit class of ``n_classes`` classes (one
    class per count, so that a spec holding it compiles once per count)."""
    cls = type(f"Multinomial{n_classes}", (Multinomial,), {"outputs": int(n_classes)})
    return jax.tree_util.register_dataclass(dataclasses.dataclass(frozen=True)(cls))
