"""A prepared problem: the data-dependent setup, done once, shared by every solve.

:func:`setup_rows` does the work that depends on the data and the sample
weights only (weight normalization, centering, standardization, the
constant-column rule, the null model, the Gram matrix, the Lipschitz
constant) for F rows of sample weights at once: a single fit is one row,
K-fold cross-validation K + 1, so both go through the same code. :func:`solve`
runs a solver for one ``alpha`` and ``l1_ratio`` from a start; paths scan or
vmap it over a grid.
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array

from jaxreg import _free, _prox_newton, _working_set
from jaxreg import _validation as v
from jaxreg.datafits import Design, QuadraticGram, _weighted_gram
from jaxreg.penalties import ElasticNetPenalty, GroupPenalty
from jaxreg.result import FitResult, Status
from jaxreg.solvers import Start, fista

# Slices whose traced start indices are known nonnegative skip the wrapping
# of negative ones, where this JAX offers that (see :func:`take`).
_NONNEGATIVE = (
    {"allow_negative_indices": False}
    if "allow_negative_indices" in inspect.signature(jax.lax.dynamic_slice).parameters
    else {}
)


def tol_floor(dtype, datafit) -> float:
    """The smallest relative tolerance a datafit resolves in ``dtype``: below
    it the gap is rounding noise and a float32 solve would spin to max_iter."""
    return datafit.tol_floor_eps * float(jnp.finfo(dtype).eps)


def normalized_penalty_factor(pf: Array) -> Array:
    # glmnet rescales penalty factors to sum to the number of features.
    return pf * (pf.shape[0] / jnp.sum(pf))


def penalty_weights(hyper, standardize: bool) -> tuple[Array, Array]:
    """The L1 and L2 weights (per unit of ``alpha`` times the L1 or L2 share)
    of the coefficients of the engine's X, whose columns the caller's were
    divided by ``hyper.col_scale``: the normalized penalty factors, over the
    column scale (L1) and its square (L2) unless the penalty is on
    standardized coefficients, which the rescaling leaves unchanged.

    An L2 weight beyond the dtype's range is held at its largest (and
    smallest) finite value: an infinite one would turn ``0 * inf`` into NaN.
    """
    pf = normalized_penalty_factor(hyper.penalty_factor)
    if standardize:
        return pf, pf
    c = hyper.col_scale
    info = jnp.finfo(pf.dtype)
    l2 = jnp.where(pf > 0, jnp.clip(pf / c / c, info.tiny, info.max), 0.0)
    return pf / c, l2


def constant_columns(X, var: Array) -> Array:
    """Columns whose variance ``var`` is below the noise of centering them
    (``n eps max|x|``, squared): constant up to rounding."""
    return var <= _centering_noise(X)


def _centering_noise(X, absmax=None) -> Array:
    """The squared noise of centering X's columns, ``(n eps max|x|)^2``
    (``absmax``: the columns' largest magnitudes, where known)."""
    n, p = X.shape
    if absmax is None and v.is_sparse(X):
        cols = X.indices[:, 1]
        absmax = jnp.maximum(jax.ops.segment_max(jnp.abs(X.data), cols, num_segments=p), 0.0)
    elif absmax is None:
        absmax = jnp.max(jnp.abs(X), axis=0)
    noise = n * jnp.finfo(X.dtype).eps * absmax
    return noise * noise


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
    return Xc, x_mean, var, constant_columns(X, var)


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
    if not v.is_sparse(X):
        Xt, x_mean, x_scale = prepare_design(X, s, fit_intercept, standardize)
        return Design(Xt, jnp.zeros((p,), dtype), jnp.ones((p,), dtype)), x_mean, x_scale
    sp = spread(X, s[None], fit_intercept)
    x_mean, var, constant = sp.mu + sp.D[0], sp.var[0], sp.constant[0]
    x_scale = scale_of(var, constant, standardize)
    design_scale = jnp.where(constant & fit_intercept, jnp.inf, x_scale)
    return Design(X, x_mean, design_scale), x_mean, x_scale


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Problem:
    """Everything a solve needs that does not depend on ``alpha`` or ``l1_ratio``.

    ``pf`` and ``pf_l2`` are the L1 and L2 weights of the internal coefficients
    (see :func:`penalty_weights`); ``x_mean`` and ``x_scale`` map them back to
    the caller's X; ``lower``/``upper`` are on the internal (standardized)
    scale; ``b0`` is the cold-start intercept (the null model's), ``offset`` what the datafit's
    null model moved out of the targets (see :class:`~jaxreg.datafits.NullModel`).
    """

    datafit: Any
    pf: Array
    pf_l2: Array
    lower: Array
    upper: Array
    x_mean: Array
    x_scale: Array
    offset: Array
    gap_tol: Array
    gap_scale: Array
    lipschitz: Array
    b0: Array
    fit_intercept: bool = dataclasses.field(metadata=dict(static=True), default=True)
    # How many coordinates may be free (static, see :mod:`jaxreg._free`):
    # where any may, fits refit the free block and certify it.
    free: int = dataclasses.field(metadata=dict(static=True), default=0)
    # The group of each coordinate (static, 0..G-1) for a group penalty, else None.
    groups: tuple | None = dataclasses.field(metadata=dict(static=True), default=None)


def callers_columns(hyper, x_mean: Array, x_scale: Array) -> tuple[Array, Array]:
    """Column means and scales of the engine's X (the caller's columns over
    ``hyper.col_scale``) on the caller's columns."""
    return x_mean * hyper.col_scale, x_scale * hyper.col_scale


def _finish(
    datafit,
    hyper,
    x_mean,
    x_scale,
    null,
    *,
    fit_intercept,
    standardize,
    strong,
    free=0,
    groups=None,
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
    tol = jnp.maximum(hyper.tol, tol_floor(dtype, datafit))
    pf, pf_l2 = penalty_weights(hyper, standardize)
    x_mean, x_scale = callers_columns(hyper, x_mean, x_scale)
    lower, upper = hyper.lower, hyper.upper
    outputs = getattr(datafit, "outputs", 1)
    if outputs > 1:
        # A coefficient per feature and output, flattened feature-major (see
        # jaxreg.datafits.Multinomial): the per-feature data are repeated.
        pf, pf_l2, x_mean, x_scale, lower, upper = (
            jnp.repeat(a, outputs) for a in (pf, pf_l2, x_mean, x_scale, lower, upper)
        )
    return Problem(
        datafit=datafit,
        pf=pf,
        pf_l2=pf_l2,
        lower=lower * x_scale,
        upper=upper * x_scale,
        x_mean=x_mean,
        x_scale=x_scale,
        offset=null.offset,
        gap_tol=tol * null.gap_scale,
        gap_scale=null.gap_scale,
        lipschitz=jnp.where(lip > 0, lip, 1.0),
        b0=null.b0,
        fit_intercept=fit_intercept,
        free=free,
        groups=groups,
    )


class Spread(NamedTuple):
    """Column statistics of X under F rows of sample weights.

    ``Xh``: X centered once by the last row's weighted means ``mu`` (dense X
    with an intercept; X itself otherwise); ``D``: each row's column means of
    ``Xh`` (small offsets: the row's means are ``mu + D``); ``var``: each
    row's weighted column variances (second moments without an intercept);
    ``constant``: columns constant up to rounding in that row; ``S``: the
    rows normalized to sum to one; ``totals``: their sums.
    """

    mu: Array
    Xh: Any
    D: Array
    var: Array
    constant: Array
    S: Array
    totals: Array


def spread(X, W: Array, fit_intercept: bool, transposed: bool = False) -> Spread:
    """:class:`Spread` of X under the weight rows ``W`` (F, n); the last row
    gives the global centering (a single fit's weights, or CV's full data).
    ``transposed``: a dense X's ``Xh`` is its transpose, ``(p, n)`` (see
    :func:`_transposed_copy`).

    A column is constant up to rounding when its variance is below the noise
    of centering it (``n eps max|x|`` squared): collinear with the intercept,
    it is then dropped from the fit rather than standardized into a second
    intercept.
    """
    dtype = X.dtype
    p = X.shape[1]
    totals = jnp.sum(W, axis=1)
    S = W / totals[:, None]
    sparse = v.is_sparse(X)
    if fit_intercept and not sparse:
        # One globally centered copy of X (not one per row): the per-row
        # offsets D are then small, which keeps the Gram downdates accurate.
        mu = S[-1] @ X
        sq = S @ jnp.square(X - mu)
        # Zeroing the globally constant columns (zero in every product
        # anyway) also orders the centered copy after the squares' product,
        # so the two n x p temporaries share one buffer.
        constant = constant_columns(X, sq[-1])
        if transposed:
            Xh = _transposed_copy(X, lambda Xt: jnp.where(constant[:, None], 0.0, Xt - mu[:, None]))
        else:
            Xh = jnp.where(constant, 0.0, X - mu)
        # The last row's offsets are zero but for the rounding of mu, which
        # they correct (visible in float32 on columns far from zero mean).
        D = (Xh @ S.T).T if transposed else S @ Xh
        var = sq - D * D
        return Spread(mu, Xh, D, var, constant_columns(X, var), S, totals)
    # A sparse X is never centered: its row means stay implicit in D.
    mu = jnp.zeros((p,), dtype)
    D = _left_product(S, X) if fit_intercept else jnp.zeros((W.shape[0], p), dtype)
    if sparse:
        var = jax.vmap(lambda s_k, d_k: sparse_variance(X, s_k, d_k))(S, D)
    else:
        var = S @ (X * X) - D * D
    Xh = _transposed_copy(X, lambda Xt: Xt) if transposed and not sparse else X
    return Spread(mu, Xh, D, var, constant_columns(X, var), S, totals)


def _transposed_copy(X: Array, centered):
    """``centered(X')`` as one physical ``(p, n)`` copy of X.

    Barriers around it: XLA would otherwise fuse the transpose into each of
    its readers, computing it in X's own layout (a free relabeling) and then
    copying that into a row-major buffer for the solver's loop and another
    for the products outside it (three copies of X where one will do).
    """
    Xt = jax.lax.optimization_barrier(X.T)
    return jax.lax.optimization_barrier(centered(Xt))


def _left_product(A, X):
    """``A @ X`` for a dense ``A`` of shape ``(k, n)`` and a dense or ``BCOO`` X."""
    if v.is_sparse(X):
        return (X.T @ A.T).T
    return A @ X


def _gram_rows(sp: Spread, W, held):
    """Centered weighted Gram matrices of the rows, (F, p, p), unnormalized by
    the row totals' offsets (see :func:`setup_rows`)."""
    Xh = sp.Xh
    if v.is_sparse(Xh):
        # Sparse rows cannot be gathered; one sparse product per row.
        raw = jax.lax.map(lambda w: (Xh.T @ (w[:, None] * Xh)).todense(), W)
    elif held is None:
        raw = jax.lax.map(lambda w: _weighted_gram(Xh, w), W)
    else:
        # Every row is held out exactly once: the full Gram matrix is the sum
        # of the held-out ones, so one pass over X makes all of them; the
        # training rows are the full one minus their held-out part.
        held_idx, held_valid = held
        sw = W[-1]
        held_g = jax.lax.map(lambda a: _weighted_gram(Xh[a[0]], sw[a[0]] * a[1]), held)
        full = jnp.sum(held_g, axis=0)
        raw = jnp.concatenate([full[None] - held_g, full[None]], axis=0)
    return raw / sp.totals[:, None, None] - sp.D[:, :, None] * sp.D[:, None, :]


def _scales(sp: Spread, fit_intercept: bool, standardize: bool):
    """Reported column scales, and the design's (infinite on the columns an
    intercept makes constant: a zero column in every product)."""
    scale = jax.vmap(scale_of, in_axes=(0, 0, None))(sp.var, sp.constant, standardize)
    design_scale = jnp.where(sp.constant & fit_intercept, jnp.inf, scale)
    return scale, design_scale


def setup_rows(spec, hyper, X, y, W, held=None):
    """One prepared problem per row of sample weights ``W`` (F, n), batched.

    A single fit is one row (its sample weights); K-fold cross-validation is
    K + 1 rows (the training weights of each fold, then the full data's),
    with ``held`` (the held-out row indices and their validity mask) for the
    Gram downdates. Returns the batched problems and their vmap axes (a shared
    X stays unbatched).
    """
    fit_intercept = spec.fit_intercept
    # Over several devices (a mesh, or a caller's sharded X) blocks of rows
    # would gather X onto each of them.
    if spec.use_gram and not v.is_sparse(X) and spec.mesh is None and not v.on_devices(X):
        return _dense_gram_problems(spec, hyper, X, y, W, held), 0
    # Design mode on one device stores X transposed: the solvers that visit
    # columns read it in place, and one copy serves them and every product.
    # (A mesh keeps the rows its X is sharded by.)
    transposed = not (spec.use_gram or v.is_sparse(X) or spec.mesh is not None or v.on_devices(X))
    sp = spread(X, W, fit_intercept, transposed)
    nulls = jax.vmap(spec.datafit.null_model, in_axes=(None, 0, None))(y, sp.S, fit_intercept)
    if spec.use_gram:
        resid = y[None, :] - nulls.offset[:, None]
        stats = (_gram_rows(sp, W, held), _left_product(sp.S * resid, sp.Xh), _centering_noise(X))
        return _gram_problems(spec, hyper, sp, nulls, stats), 0
    scale, design_scale = _scales(sp, fit_intercept, spec.standardize)

    def finish(s_k, D_k, scale_k, dscale_k, null_k):
        design = Design(sp.Xh, D_k, dscale_k, transposed)
        datafit = spec.datafit.build(design, y, s_k, null_k, fit_intercept)
        return _finish(
            datafit,
            hyper,
            sp.mu + D_k,
            scale_k,
            null_k,
            fit_intercept=fit_intercept,
            standardize=spec.standardize,
            strong=False,
            free=spec.free,
            groups=spec.groups,
        )

    args = (sp.S, sp.D, scale, design_scale, nulls)
    # The design X is shared by every row: keep it out of the batch, or vmap
    # would broadcast it into a per-row copy.
    template = jax.eval_shape(finish, *jax.tree.map(lambda a: a[0], args))
    axes = jax.tree.map(lambda _: 0, template)
    design_axes = dataclasses.replace(axes.datafit.design, X=None)
    axes = dataclasses.replace(axes, datafit=dataclasses.replace(axes.datafit, design=design_axes))
    return jax.vmap(finish, out_axes=axes)(*args), axes


def _gram_problems(spec, hyper, sp: Spread, nulls, stats):
    """:func:`setup_rows` in Gram mode: per row, the standardized centered
    Gram matrix, ``X~' S (y - offset)`` and the null model's loss, from
    ``stats``: the rows' centered Gram matrices, ``Xc' S (y - offset)``
    (``Xc``: X centered by the global means) and the squared noise of
    centering the columns (by the centered copy of :func:`spread`, or by
    blocks of rows in :func:`_dense_gram_problems`)."""
    G, c, noise = stats
    var = jnp.diagonal(G, axis1=1, axis2=2)
    sp = sp._replace(var=var, constant=var <= noise)
    scale, design_scale = _scales(sp, spec.fit_intercept, spec.standardize)
    inv = 1.0 / design_scale
    G = G * (inv[:, :, None] * inv[:, None, :])
    c = c * inv

    def finish(G_k, c_k, D_k, scale_k, null_k):
        datafit = spec.datafit.from_gram(G_k, c_k, null_k.gap_scale)
        return _finish(
            datafit,
            hyper,
            sp.mu + D_k,
            scale_k,
            null_k,
            fit_intercept=spec.fit_intercept,
            standardize=spec.standardize,
            strong=spec.strong,
            free=spec.free,
            groups=spec.groups,
        )

    args = (G, c, sp.D, scale, nulls)
    if spec.mesh is None and jax.default_backend() == "cpu":
        # One row after another on a CPU: each row's eigenvalue estimates are
        # loops (Lanczos, bisection), which a batch would select through at
        # every step, and trace at twice the cost, for a saving on products
        # with a p x p matrix that the solves dwarf. (An accelerator, where
        # each loop step is a kernel launch, keeps the batch.)
        return jax.lax.map(lambda a: finish(*a), args)
    return jax.vmap(finish)(*args)


# Blocks of the blockwise Gram-mode statistics: about 2^18 entries (2 MB in
# float64) stand in for whole copies of X, and at least 256 rows, enough for
# each block's products to run at the speed of one large product.
_BLOCK_ENTRIES = 1 << 18
_MIN_BLOCK_ROWS = 256


def _over_row_blocks(X, body, init):
    """``body(acc, Xb, start, keep)`` folded over blocks of X's rows.

    Blocks hold about :data:`_BLOCK_ENTRIES` entries; the last one is shifted
    back to end at the last row, and ``keep`` masks the rows its predecessor
    already visited. A design of one block is one call, no loop.
    """
    n, p = X.shape
    rows = min(n, max(_MIN_BLOCK_ROWS, _BLOCK_ENTRIES // max(p, 1)))
    count = -(-n // rows)
    if count == 1:
        return body(init, X, 0, jnp.ones((n,), bool))

    def step(b, acc):
        start = jnp.minimum(b * rows, n - rows)
        Xb = jax.lax.dynamic_slice_in_dim(X, start, rows, 0)
        keep = start + jnp.arange(rows) >= b * rows
        return body(acc, Xb, start, keep)

    return jax.lax.fori_loop(0, count, step, init)


def _block_rows(A, start, rows: int, keep):
    """Columns ``start:start + rows`` of the row weights ``A`` (F, n), zero
    where ``keep`` is false."""
    if rows == A.shape[1]:
        return A
    return jnp.where(keep, jax.lax.dynamic_slice_in_dim(A, start, rows, 1), 0.0)


def _dense_gram_problems(spec, hyper, X, y, W, held):
    """:func:`setup_rows` in Gram mode for a dense X, with no centered or
    weighted copy of X: the column statistics, Gram matrices and ``Xc' S r``
    (``Xc``: X centered) accumulate over blocks of rows, each block centered on the fly (two
    passes: the means and spreads, then the products)."""
    fit_intercept = spec.fit_intercept
    dtype = X.dtype
    p = X.shape[1]
    totals = jnp.sum(W, axis=1)
    S = W / totals[:, None]
    nulls = jax.vmap(spec.datafit.null_model, in_axes=(None, 0, None))(y, S, fit_intercept)
    mu = S[-1] @ X if fit_intercept else jnp.zeros((p,), dtype)

    def spreads(acc, Xb, start, keep):
        sq, absmax = acc
        d = Xb - mu
        Sb = _block_rows(S, start, Xb.shape[0], keep)
        return sq + Sb @ (d * d), jnp.maximum(absmax, jnp.max(jnp.abs(Xb), axis=0))

    zeros = jnp.zeros((W.shape[0], p), dtype)
    sq, absmax = _over_row_blocks(X, spreads, (zeros, jnp.zeros((p,), dtype)))
    noise = _centering_noise(X, absmax)
    # As in :func:`spread`: the globally constant columns are zero in every
    # centered block (with an intercept).
    dropped = (sq[-1] <= noise) & fit_intercept
    R = S * (y[None, :] - nulls.offset[:, None])

    def products(acc, Xb, start, keep):
        D, G, c = acc
        rows = Xb.shape[0]
        Xh = jnp.where(dropped, 0.0, Xb - mu)
        if fit_intercept:  # else the offsets are zero: second moments
            D = D + _block_rows(S, start, rows, keep) @ Xh
        c = c + _block_rows(R, start, rows, keep) @ Xh
        if held is None:
            Wb = _block_rows(W, start, rows, keep)
            G = G + jax.lax.map(lambda w: _weighted_gram(Xh, w), Wb)
        return D, G, c

    G0 = jnp.zeros((W.shape[0] if held is None else 0, p, p), dtype)
    D, G, c = _over_row_blocks(X, products, (zeros, G0, zeros))
    if held is not None:
        G = _held_out_grams(X, mu, dropped, W[-1], held)
    G = G / totals[:, None, None] - D[:, :, None] * D[:, None, :]
    var = sq - D * D
    sp = Spread(mu, None, D, var, var <= noise, S, totals)
    return _gram_problems(spec, hyper, sp, nulls, (G, c, noise))


def _held_out_grams(X, mu, dropped, sw, held):
    """The rows' Gram matrices when every row is held out exactly once (see
    :func:`_gram_rows`), each fold's held-out rows gathered and centered in
    turn."""

    def held_gram(a):
        Xh = jnp.where(dropped, 0.0, jnp.take(X, a[0], axis=0) - mu)
        return _weighted_gram(Xh, sw[a[0]] * a[1])

    held_g = jax.lax.map(held_gram, held)
    full = jnp.sum(held_g, axis=0)
    return jnp.concatenate([full[None] - held_g, full[None]], axis=0)


def take(tree, *indices):
    """``a[indices]`` for every leaf ``a`` of ``tree``: traced indices
    nonnegative, Python integers of either sign.

    One slice per leaf: NumPy-style indexing with a traced index also wraps
    negative values and converts the index, four more operations per leaf
    and index, which on trees of problems and results were a tenth of a
    small cross-validation's program.
    """
    k = len(indices)
    indices = tuple(
        int(i) if isinstance(i, int | np.integer) else jnp.asarray(i, jnp.int32) for i in indices
    )

    def one(a):
        start = tuple(
            np.int32(i % a.shape[d]) if isinstance(i, int) else i for d, i in enumerate(indices)
        )
        start += (np.int32(0),) * (a.ndim - k)
        sizes = (1,) * k + a.shape[k:]
        return jax.lax.dynamic_slice(a, start, sizes, **_NONNEGATIVE).reshape(a.shape[k:])

    return jax.tree.map(one, tree)


def one_problem(problems, axes, i):
    """Problem ``i`` of a batch from :func:`setup_rows` (unbatched leaves shared)."""
    if axes == 0:
        return take(problems, i)
    return jax.tree.map(
        lambda ax, a: a if ax is None else take(a, i), axes, problems, is_leaf=lambda x: x is None
    )


def setup(spec, hyper, X, y) -> Problem:
    """Prepare a single fit's problem (traced; vmappable over the hyperparameters)."""
    problems, axes = setup_rows(spec, hyper, X, y, hyper.sample_weight[None])
    return one_problem(problems, axes, 0)


def penalty(problem: Problem, alpha: Array, l1_ratio: Array):
    """The penalty at ``(alpha, l1_ratio)`` on the internal coefficients: the
    elastic net, or the group penalty where the problem has groups."""
    if problem.groups is not None:
        return _group_penalty(problem, alpha, l1_ratio)
    return ElasticNetPenalty(
        l1=alpha * l1_ratio * problem.pf,
        l2=jnp.minimum(alpha * (1.0 - l1_ratio) * problem.pf_l2, _largest(problem.pf_l2)),
        lower=problem.lower,
        upper=problem.upper,
    )


def _group_penalty(problem: Problem, alpha: Array, l1_ratio: Array) -> GroupPenalty:
    """Group weights ``sqrt(|g|) f_g`` (L1 part) and ``f_g`` (L2 part), with
    ``|g|`` the group's number of features and ``f_g`` the penalty factor
    they share (checked on input)."""
    # Sizes count features: a multinomial model's K coefficients of a feature
    # (repeated groups, see _finish) weigh as one feature, glmnet's grouped model.
    features, count, size = GroupPenalty.feature_groups(problem.groups, problem.pf.dtype)
    groups = jnp.repeat(features, getattr(problem.datafit, "outputs", 1))
    pf = jax.ops.segment_max(problem.pf, groups, num_segments=count)
    pf_l2 = jax.ops.segment_max(problem.pf_l2, groups, num_segments=count)
    uneven = jnp.any(jax.ops.segment_min(problem.pf, groups, num_segments=count) != pf)
    return GroupPenalty(
        l1=alpha * l1_ratio * jnp.sqrt(size) * pf,
        l2=jnp.minimum(alpha * (1.0 - l1_ratio) * pf_l2, _largest(pf_l2)),
        groups=groups,
        lower=problem.lower,
        upper=problem.upper,
        uneven=uneven,
    )


def _largest(a: Array) -> Array:
    return jnp.finfo(a.dtype).max


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
    xt=None,
    start: tuple[Array, Array, Array] | None = None,
    return_image: bool = False,
):
    """Solve at one ``(alpha, l1_ratio)`` from ``(beta0, b0)`` (internal scale).

    Returns the result on the original scale and the internal solution, which
    is the warm start for a neighbouring grid point. ``unrolled_blocks``: run
    a fixed number of check blocks (a differentiable ``scan``) instead of the
    early-exit loop. ``working_set``: the working-set solver where it applies
    (squared loss, dense, sparse or Gram; not batched under ``vmap``), with ``xt`` its
    per-path precomputation when the caller has it and ``start`` the image
    and gradient at ``beta0`` (see :func:`jaxreg._working_set.solve`); a
    datafit with curvature weights gets proximal Newton on working sets
    instead (:func:`jaxreg._prox_newton.solve`). With
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
    use_ws = working_set and accelerate and unrolled_blocks is None and pen.separable
    newton = use_ws and _prox_newton.applies(problem.datafit)

    def run(beta, b, iterations, first=True, tighten=1.0):
        # ``tighten``: a share of the tolerance to stop at (see _free.rounds).
        problem_k = dataclasses.replace(problem, gap_tol=problem.gap_tol * tighten)
        if newton:
            return _prox_newton.solve(
                problem_k, pen, Start(beta, b), iterations, refine=refine, xt=xt
            )
        if use_ws and _working_set.applies(problem.datafit):
            # The caller's image is the start's only in the first round.
            ok = None if valid is None else valid & first
            return _working_set.solve(
                problem_k,
                pen,
                Start(beta, b, u0, grad0, ok),
                iterations,
                check_every=check_every,
                refine=refine,
                xt=xt,
            )
        return fista(
            problem_k,
            pen,
            Start(beta, b),
            iterations,
            accelerate=accelerate,
            check_every=check_every,
            unrolled_blocks=unrolled_blocks,
            refine=refine,
        )

    refits = hasattr(problem.datafit, "curvature_at") or hasattr(problem.datafit, "G")
    if unrolled_blocks is not None:
        # A differentiable scan: no rounds (a while loop), and no guard, which
        # would leave unpenalized features STALLED; their KKT residual alone
        # certifies them, as documented.
        out = run(beta0, b0, max_iter)
    elif problem.free and refits:
        out = _free.rounds(problem, pen, run, beta0, b0, max_iter)
    else:
        out = _free.guard(problem, pen, run(beta0, b0, max_iter))
    beta, b, n_iter, cert, status, image = out
    status = jnp.where(out_of_domain(pen, alpha, l1_ratio), Status.INVALID_INPUT, status)
    result = FitResult(
        *original_scale(problem, beta, b),
        n_iter,
        cert.gap,
        problem.gap_tol,
        cert.kkt,
        cert.objective,
        status,
    )
    if return_image:
        return result, beta, b, image
    return result, beta, b


def out_of_domain(pen, alpha: Array, l1_ratio: Array) -> Array:
    """Whether the hyperparameters are outside their domain (NaN included):
    under ``jit`` they arrive unchecked, and a solve on them may still meet
    its (meaningless) stopping rule."""
    # As an array: ``~`` of a Python bool (scalar hyperparameters) is -2 or -1.
    valid = jnp.asarray((alpha >= 0) & (l1_ratio >= 0) & (l1_ratio <= 1))
    return ~valid | pen.invalid()


def original_scale(problem: Problem, beta: Array, b: Array) -> tuple[Array, Array]:
    """Coefficients and intercept on the data's scale from an internal solution."""
    coef = beta / problem.x_scale
    outputs = getattr(problem.datafit, "outputs", 1)
    x_mean = problem.x_mean
    if outputs > 1:
        coef, x_mean = coef.reshape(-1, outputs), x_mean.reshape(-1, outputs)[:, 0]
    if not problem.fit_intercept:
        return coef, jnp.zeros_like(problem.b0)
    return coef, problem.offset + b - x_mean @ coef


def needs_null_fit(pf) -> bool:
    """Whether ``alpha_max`` must fit the null model (static): unless the
    penalty factors are known (concrete) and all positive, when the null model
    is the cold start itself (zero coefficients, the intercept-only fit)."""
    return not (v.is_concrete(pf) and bool(v.reduce_values(_all_positive, pf)))


def _all_positive(xp, pf):
    return xp.all(pf > 0)


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
    floor = tol_floor(problem.x_scale.dtype, problem.datafit)
    gap_tol = problem.gap_scale * jnp.maximum(tol, floor)
    pinned = dataclasses.replace(
        problem,
        lower=jnp.where(penalized, 0.0, problem.lower),
        upper=jnp.where(penalized, 0.0, problem.upper),
        gap_tol=gap_tol,
        # Pinned by bounds, at alpha 0: an unpenalized fit of the free
        # coordinates, whatever their grouping (a group penalty takes no bounds).
        groups=None,
    )
    zero = jnp.zeros((), problem.x_scale.dtype)
    beta, b = cold_start(pinned)
    if null_fit:
        _, beta, b = solve(pinned, zero, zero + 1.0, beta, b, max_iter)
    _, grad, _, _ = problem.datafit.value_and_grad(beta, b)
    one = jnp.ones((), grad.dtype)
    return penalty(problem, one, one).alpha_max(grad)
