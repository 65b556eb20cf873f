"""Columns of the design for coordinate descent, dense or sparse.

The working-set solvers (:mod:`jaxreg._working_set` for the squared loss,
:mod:`jaxreg._prox_newton` for curvature weights) visit one column of the
centered and scaled design ``Z = (X - 1 m') diag(1/s)`` at a time: a
weighted product of the column with an image ``q`` (a residual, or the
image of a model's step), then an update of ``q`` along the column. This
module gives them that column access.

* A dense design is stored transposed by the setup (:class:`Columns`: each
  column a contiguous row; that array is the fit's one copy of X and also
  serves every product); a set's columns are gathered, centered and scaled
  into a dense ``(m, n)`` block.
* A sparse (``BCOO``) design is never densified (:class:`SparseColumns`):
  its entries are sorted by column once per path, and a visit reads only
  its column's entries, a window of the sorted entries whose static length
  is the smallest of a few buckets that holds the column (a ``lax.switch``
  picks it). The centering stays implicit, as the sparse column solvers of
  glmnet keep it: an image is held as a sparse part plus a constant offset,
  ``q = v + o 1``, with the weighted sum ``H'v`` kept up to date, so that
  ``Z_j'(H q) = x_j'(H v)/s_j + o x_j'H/s_j - c_j (H'v + o sum(H))`` with
  ``c_j = m_j / s_j`` costs the column's nonzeros only.

Both read the padding index ``p`` of a gathered set as a zero column, so
gathers need no bounds masking.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import Array

from jaxreg._validation import is_sparse


class Image(NamedTuple):
    """An image ``q = v + o 1`` and the weighted sum ``wv = H'v`` (kept by
    sparse sets only; dense sets hold ``q`` in ``v`` and leave ``o`` and
    ``wv`` at zero)."""

    v: Array
    o: Array
    wv: Array


# ----------------------------------------------------------------------------
# Dense designs
# ----------------------------------------------------------------------------


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Columns:
    """A dense design stored transposed (``Xt``, each column a contiguous
    row: the design's own array, read in place), its column offsets
    ``mean`` and inverse scales ``inv`` (zero where the scale is infinite: a
    zeroed column), and each column's weighted squared norm (``norms``;
    empty where the caller does not need them). The per-column arrays have
    a zero entry appended at index ``p``, the padding column (a gather reads
    its row as zeros)."""

    Xt: Array
    mean: Array
    inv: Array
    norms: Array

    def rmatvec(self, u: Array) -> Array:
        """``Z' u``: the full design's product, ``(p,)``."""
        return (self.Xt @ u - self.mean[:-1] * jnp.sum(u)) * self.inv[:-1]

    def take(self, idx: Array) -> DenseSet:
        """The columns ``idx`` (``p``: padding), centered and scaled into an
        ``(m, n)`` block, as a set with no weights yet."""
        rows = self.Xt.at[idx].get(mode="fill", fill_value=0)
        return DenseSet((rows - self.mean[idx, None]) * self.inv[idx, None], None)


def dense_columns(design, weights: Array | None) -> Columns:
    """Prepare a dense design for column access (see :class:`Columns`), with
    the column norms weighted by ``weights`` when given."""
    # The setup stores a design-mode X transposed; any other is transposed here.
    Xt = design.X if design.transposed else design.X.T
    pad = jnp.zeros((1,), Xt.dtype)
    inv = jnp.where(jnp.isinf(design.scale), 0.0, 1.0 / design.scale)
    mean, inv = jnp.concatenate([design.mean, pad]), jnp.concatenate([inv, pad])
    if weights is None:
        return Columns(Xt, mean, inv, jnp.zeros((0,), Xt.dtype))
    # A reduction fused with its squares: no n x p temporary.
    dev = (Xt - design.mean[:, None]) * inv[:-1, None]
    norms = jnp.sum(dev * dev * weights, axis=1)
    return Columns(Xt, mean, inv, jnp.concatenate([norms, pad]))


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class DenseSet:
    """A set's gathered columns ``Zt`` (``(m, n)``) with the weights ``H``
    of the products (see :meth:`bind`)."""

    Zt: Array
    H: Array | None

    def bind(self, H: Array) -> DenseSet:
        return DenseSet(self.Zt, H)

    def start(self, v: Array) -> Image:
        zero = jnp.zeros((), v.dtype)
        return Image(v, zero, zero)

    def visit(self, j, w: Array, img: Image, update, sign: float = 1.0):
        """``delta = update(Z_j'(H q))``, then ``w_j + delta`` and
        ``q + sign delta Z_j``; returns ``(delta, w, image)``. A column that
        does not move costs no update."""
        # The weights are applied in the product's own fused kernel: a weighted
        # copy of the columns, made once per set, cost a pass over all of them
        # and saved nothing per coordinate.
        delta = update(jnp.dot(self.Zt[j] * self.H, img.v))
        # Both updates inside the branch: a coordinate that does not move
        # (most of them, once the support settles) then runs no update at all.
        w, v = jax.lax.cond(
            delta != 0,
            lambda: (w.at[j].add(delta), img.v + (sign * delta) * self.Zt[j]),
            lambda: (w, img.v),
        )
        return delta, w, img._replace(v=v)

    def shift(self, a, img: Image) -> Image:
        return img._replace(v=img.v + a)

    def wsum(self, img: Image) -> Array:
        return jnp.dot(self.H, img.v)

    def dense(self, img: Image) -> Array:
        return img.v

    def wgrad(self, img: Image) -> Array:
        """``Z_set'(H q)``, ``(m,)``."""
        return self.Zt @ (self.H * img.v)

    def curvatures(self) -> Array:
        """``Z_j' diag(H) Z_j`` for each column of the set."""
        return (self.Zt * self.Zt) @ self.H

    def image(self, w: Array) -> Array:
        """``Z_set w``: the image of a point that is zero outside the set."""
        return w @ self.Zt


# ----------------------------------------------------------------------------
# Sparse designs
# ----------------------------------------------------------------------------


def _buckets(n: int) -> tuple[int, ...]:
    """Window lengths for a column's entries: 16, 128, 1024, 8192 below
    ``n``, then ``n`` (a column has at most ``n`` entries)."""
    out = [length for length in (16, 128, 1024, 8192) if length < n]
    return (*out, n)


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class SparseColumns:
    """A ``BCOO`` design's entries sorted by column (compressed sparse column
    layout), values divided by their column's scale.

    ``rows``, ``vals``, ``cols``: the entries, followed by ``n`` padding
    entries (row 0, value 0, column ``p``) so that every window of a bucket's
    length starting at a column's first entry is in range. ``start`` and
    ``length``: each column's first entry and count, ``bucket`` the index of
    its window length in ``buckets``; ``center``: ``m_j / s_j``;
    ``norms``: the weighted squared norms of the centered, scaled columns
    (or empty). Every per-column array has ``p + 1`` entries, the last one
    the padding column (no entries, zero center).
    """

    rows: Array
    vals: Array
    cols: Array
    start: Array
    length: Array
    bucket: Array
    center: Array
    norms: Array
    buckets: tuple[int, ...] = dataclasses.field(metadata=dict(static=True))

    @property
    def n(self) -> int:
        return self.buckets[-1]

    def rmatvec(self, u: Array) -> Array:
        """``Z' u``: the full design's product, ``(p,)``."""
        return (self._raw_rmatvec(u) - self.center * jnp.sum(u))[:-1]

    def _raw_rmatvec(self, u: Array) -> Array:
        """``(X diag(1/s))' u`` with the padding column's zero entry, ``(p + 1,)``."""
        p1 = self.center.shape[0]
        return jax.ops.segment_sum(self.vals * u[self.rows], self.cols, num_segments=p1)

    def squared_norms(self, H: Array) -> Array:
        """``sum_i H_i (x_ij / s_j - c_j)^2`` for every column (``p + 1``),
        without the cancellation of expanding the square: the stored entries
        contribute their deviations, the implicit zeros ``c_j^2`` times
        their total weight."""
        p1 = self.center.shape[0]
        w = H[self.rows]
        dev = self.vals - self.center[self.cols]
        stored = jax.ops.segment_sum(w * dev * dev, self.cols, num_segments=p1)
        # Every stored entry, an explicit zero too, is out of the implicit
        # zeros' weight. The padding entries (column p) add nothing: the
        # padding column's center is zero.
        weight = jax.ops.segment_sum(w, self.cols, num_segments=p1)
        return stored + self.center**2 * (jnp.sum(H) - weight)

    def take(self, idx: Array) -> SparseSet:
        zero = jnp.zeros((), self.vals.dtype)
        return SparseSet(self, idx, None, zero, zero)


def sparse_columns(design, weights: Array | None) -> SparseColumns:
    """Prepare a ``BCOO`` design (see :class:`SparseColumns`), with the column
    norms weighted by ``weights`` when given."""
    X = design.X
    n, p = X.shape
    # Validated input arrives sorted by column (see
    # jaxreg._validation.check_sparse_design): the sort, the costliest step
    # by far, then runs only for other orders.
    cols = X.indices[:, 1]
    order = jax.lax.cond(
        jnp.all(cols[1:] >= cols[:-1]),
        lambda: jnp.arange(cols.shape[0], dtype=jnp.int32),
        lambda: jnp.argsort(cols, stable=True).astype(jnp.int32),
    )
    inv = jnp.where(jnp.isinf(design.scale), 0.0, 1.0 / design.scale)
    inv = jnp.concatenate([inv, jnp.zeros((1,), inv.dtype)])
    center = jnp.concatenate([design.mean, jnp.zeros((1,), inv.dtype)]) * inv
    rows = X.indices[order, 0].astype(jnp.int32)
    cols = X.indices[order, 1].astype(jnp.int32)
    vals = X.data[order] * inv[cols]
    pad = jnp.zeros((n,), jnp.int32)
    length = jnp.bincount(cols, length=p + 1).astype(jnp.int32)
    start = (jnp.cumsum(length) - length).astype(jnp.int32)
    buckets = _buckets(n)
    bucket = jnp.searchsorted(jnp.asarray(buckets), length, side="left").astype(jnp.int32)
    out = SparseColumns(
        rows=jnp.concatenate([rows, pad]),
        vals=jnp.concatenate([vals, jnp.zeros((n,), vals.dtype)]),
        cols=jnp.concatenate([cols, pad + p]),
        start=start,
        length=length,
        bucket=bucket,
        center=center,
        norms=jnp.zeros((0,), vals.dtype),
        buckets=buckets,
    )
    if weights is None:
        return out
    return dataclasses.replace(out, norms=out.squared_norms(weights))


def columns_for(design, weights: Array | None = None) -> Columns | SparseColumns:
    """The design prepared for column access, dense or sparse."""
    if is_sparse(design.X):
        return sparse_columns(design, weights)
    return dense_columns(design, weights)


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class SparseSet:
    """A set's columns of a :class:`SparseColumns`, positions ``idx``, with
    the weights ``H`` of the products, ``xH = (x_j / s_j)'H`` for each
    column of the set and ``sum_h = sum(H)`` (see :meth:`bind`)."""

    src: SparseColumns
    idx: Array
    H: Array | None
    xH: Array
    sum_h: Array

    def bind(self, H: Array) -> SparseSet:
        xH = self.src._raw_rmatvec(H).at[self.idx].get(mode="promise_in_bounds")
        return SparseSet(self.src, self.idx, H, xH, jnp.sum(H))

    def start(self, v: Array) -> Image:
        return Image(v, jnp.zeros((), v.dtype), jnp.dot(self.H, v))

    def _window(self, c, length: int):
        src = self.src
        s = src.start[c]
        rows = jax.lax.dynamic_slice(src.rows, (s,), (length,))
        vals = jax.lax.dynamic_slice(src.vals, (s,), (length,))
        return rows, jnp.where(jnp.arange(length) < src.length[c], vals, 0.0)

    def visit(self, j, w: Array, img: Image, update, sign: float = 1.0):
        """As :meth:`DenseSet.visit`, reading the column's entries only."""
        c = self.idx[j]
        center = self.src.center[c]

        def branch(length):
            def run():
                rows, vals = self._window(c, length)
                H, v = self.H[rows], img.v[rows]
                raw = jnp.dot(vals * H, v)
                dot = raw + img.o * self.xH[j] - center * (img.wv + img.o * self.sum_h)
                delta = update(dot)
                a = sign * delta
                # Entries past the column's end carry zero values: they add
                # nothing where they land.
                v_new = img.v.at[rows].add(a * vals)
                image = Image(v_new, img.o - a * center, img.wv + a * self.xH[j])
                return delta, w.at[j].add(delta), image

            return run

        return jax.lax.switch(self.src.bucket[c], [branch(b) for b in self.src.buckets])

    def shift(self, a, img: Image) -> Image:
        return img._replace(o=img.o + a)

    def wsum(self, img: Image) -> Array:
        return img.wv + img.o * self.sum_h

    def dense(self, img: Image) -> Array:
        return img.v + img.o

    def wgrad(self, img: Image) -> Array:
        Hq = self.H * self.dense(img)
        full = self.src._raw_rmatvec(Hq) - self.src.center * jnp.sum(Hq)
        return full.at[self.idx].get(mode="promise_in_bounds")

    def curvatures(self) -> Array:
        return self.src.squared_norms(self.H).at[self.idx].get(mode="promise_in_bounds")

    def image(self, w: Array) -> Array:
        src = self.src
        p1 = src.center.shape[0]
        # The set's values on the full index range (padding positions hold
        # zeros and land on the padding column).
        beta = jnp.zeros((p1,), w.dtype).at[self.idx].set(w)
        raw = jax.ops.segment_sum(src.vals * beta[src.cols], src.rows, num_segments=src.n)
        return raw - jnp.dot(src.center, beta)
