"""Power-of-two column rescaling of designs with extreme or uneven magnitudes.

A fit is a change of variables away from the same fit on ``X diag(1/c)``:
with ``w~ = c w`` the loss is unchanged and the elastic-net penalty's weights
become ``pf / c`` (L1) and ``pf / c^2`` (L2), while a standardized fit's
penalty, on ``sd(X) w``, does not change at all. Solving on the rescaled
columns keeps every square and product of the solver finite (columns of
1e200 overflowed the variances and the Gram matrix, 1e-200 underflowed them)
and preconditions columns whose magnitudes differ by orders (first-order
solvers crawl there, in float32 to the point of stalling).

Powers of two divide exactly, so a design already within the window below is
left alone and its fits stay bit for bit what they were. The scales are
chosen on the host from a concrete X; a traced X (under ``jit`` or ``grad``)
is solved as given, and so is one on an accelerator (fetching its scales
would move data off the device before any compiled work).
"""

from __future__ import annotations

import jax
import numpy as np

from jaxreg import _validation as v

# Column magnitudes (max |x|) outside [1/_WINDOW, _WINDOW], or a largest one
# more than _SPREAD times the smallest, get every column rescaled to [1, 2).
_WINDOW = 2.0**16
_SPREAD = 2.0**10
# Room left above the largest L2 weight per unit of alpha for the penalty factors.
_PF_HEADROOM = 12


def column_scales(X, penalty_factor=None) -> np.ndarray | None:
    """Powers of two ``c`` with ``max |X[:, j]| / c_j`` in ``[1, 2)``, or None
    when X's columns need no rescaling (or X is traced). All-zero columns
    keep the scale one. With the (concrete) ``penalty_factor`` of a penalty on
    the raw coefficients, each scale also keeps that column's L2 weight per
    unit of alpha, ``pf_j / c_j^2``, within the dtype's range."""
    absmax = _column_absmax(X)
    if absmax is None:
        return None
    nonzero = absmax > 0
    if not nonzero.any():
        return None
    lo, hi = absmax[nonzero].min(), absmax[nonzero].max()
    if lo >= 1.0 / _WINDOW and hi <= _WINDOW and hi <= _SPREAD * lo:
        return None
    # absmax = m 2^e with m in [0.5, 1): dividing by 2^(e - 1) lands in [1, 2).
    # The L2 weights per unit of alpha are pf / c^2: the exponents stop where
    # c^-2 would leave the dtype's normal range (and, with penalty factors,
    # where pf / c^2 would come within 2^_PF_HEADROOM of leaving it).
    # Columns beyond that are brought within 2^(maxexp/2) of one, where their
    # squares and products are still finite.
    info = np.finfo(_real_dtype(X))
    limit = info.maxexp // 2 - 1
    low, high = np.full(absmax.shape, -limit), np.full(absmax.shape, limit)
    if penalty_factor is not None:
        low, high = _l2_weight_bounds(penalty_factor, info, low, high)
    exponents = np.clip(np.frexp(absmax)[1] - 1, low, high)
    return np.where(nonzero, np.ldexp(1.0, exponents), 1.0)


def _l2_weight_bounds(penalty_factor, info, low, high):
    """The exponents ``e`` with ``pf_j 2^(-2 e)`` (pf normalized to sum to p,
    as the fits use it) at least ``_PF_HEADROOM`` binades inside the range of
    ``info``'s dtype, intersected with ``[low, high]``; no bound where
    ``pf_j`` is zero. An out-of-range weight would be clipped, and the fit
    solved for another penalty."""
    pf = np.asarray(penalty_factor, np.float64)
    positive = pf > 0
    with np.errstate(divide="ignore"):
        lg = np.log2(pf * (pf.size / pf.sum()))
    top = np.floor((lg - (info.minexp + _PF_HEADROOM)) / 2)
    bottom = np.ceil((lg - (info.maxexp - _PF_HEADROOM)) / 2)
    low = np.where(positive, np.maximum(low, bottom), low).astype(int)
    high = np.where(positive, np.minimum(high, top), high).astype(int)
    return low, high


def _real_dtype(X):
    data = X.data if v.is_sparse(X) else X
    return data.dtype if np.issubdtype(data.dtype, np.floating) else np.float64


def rescaled(X, c: np.ndarray):
    """``X diag(1/c)`` for a dense array or a ``BCOO`` matrix (exact: powers of two)."""
    inv = v.as_array(1.0 / c, X.dtype)  # stays on the host with a host X
    if v.is_sparse(X):
        sparse = type(X)
        return sparse((X.data * inv[np.asarray(X.indices[:, 1])], X.indices), shape=X.shape)
    return X * inv


def _column_absmax(X) -> np.ndarray | None:
    """``max_i |X[i, j]|`` per column, on the host; None for a traced X."""
    data = X.data if v.is_sparse(X) else X
    if not v.is_concrete(data) or (v.is_sparse(X) and not v.is_concrete(X.indices)):
        return None
    if isinstance(data, jax.Array) and not v._on_host(data):
        # Fetching the scales would move data off an accelerator before any
        # compiled work: a design there is solved as given.
        return None
    if v.is_sparse(X):
        out = np.zeros(X.shape[1], np.float64)
        np.maximum.at(out, np.asarray(X.indices[:, 1]), np.abs(np.asarray(data, np.float64)))
        return out
    # Two reductions rather than abs(X): no temporary copy of X.
    A = np.asarray(data)
    return np.maximum(A.max(axis=0), -A.min(axis=0)).astype(np.float64)
