"""Shape buckets: nearby numbers of rows share one compiled program.

A compiled program is specialized to its array shapes, so every new number
of rows compiles again: ``GridSearchCV`` and ``cross_val_score`` hand each
fold a slightly different one, and on a small table compilation, not the
solve, is the whole cost. The fits, paths and cross-validations therefore
pad the rows up to the next bucket size, with zero weight: the next power
of two while the padded design has at most 65 536 entries (compilation
outweighs the solve there), then the next power of two or three halves of
one (at most half again as many rows) up to 1 048 576 entries.

A zero-weight row takes no part in any sum of the objective, its gradient,
the centering or the scores, so the padded problem is the same problem up
to the rounding of sums over more terms (its Gram matrix agrees to 1e-15).
Iterates are not bit for bit those of the unpadded solve, and a certificate
check may fall an iteration block earlier or later: both fits meet the same
certificate, and their predictions agree within what the two gaps allow.

Padding copies a dense X, so it stops there, where the solve outgrows
compilation anyway; :func:`jaxreg.set_shape_buckets` turns it off.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from jaxreg import _validation as v

# Designs padded to a power of two of rows while that holds at most this
# many entries: compilation outweighs the solve there, and one bucket then
# holds both a 5-fold CV's training folds (0.8 n) and the full data (n)
# unless n is within 1.25 times above a power of two, so that a grid
# search's refit usually compiles nothing either.
_COARSE_ELEMENTS = 2**16
# Larger designs up to this many entries get the finer buckets (at most half
# again as many rows); beyond it the solve outweighs compilation and a padded
# copy of X would cost memory, so it is solved at its own shape.
_MAX_ELEMENTS = 2**20
_enabled = True


def set_shape_buckets(enabled: bool) -> bool:
    """Turn shape buckets on or off; returns the previous setting.

    With buckets on (the default), the fits, paths and cross-validations pad
    the rows with zero weight: to the next power of two while the padded
    design has at most 65 536 entries, then to the next power of two or three
    halves of one up to 1 048 576 entries (larger designs are not padded).
    Nearby numbers of rows then share one compiled program. Results are
    those of the unpadded problem, to the certificate both meet. Turn them
    off to compile for the exact shape (a process that sees one shape only
    gains nothing from them).

    Example:
      >>> import jaxreg
      >>> previous = jaxreg.set_shape_buckets(False)
      >>> jaxreg.set_shape_buckets(previous)
      False
    """
    global _enabled
    if not isinstance(enabled, bool | np.bool_):
        raise TypeError(f"enabled must be True or False, got {enabled!r}")
    previous, _enabled = _enabled, bool(enabled)
    return previous


def bucket(n: int, p: int = 1) -> int:
    """The number of rows an ``n x p`` design is padded to (``n`` where it
    is not padded): the power of two ``>= n`` while that makes at most
    ``_COARSE_ELEMENTS`` entries, else the smallest ``2^k`` or ``3 * 2^(k-1)``
    up to ``_MAX_ELEMENTS`` entries."""
    if n <= 2:
        return max(n, 1)
    power = 1 << (n - 1).bit_length()  # the power of two >= n
    if power * p <= _COARSE_ELEMENTS:
        return power
    three = 3 * power // 4
    fine = three if three >= n else power
    return fine if fine * p <= _MAX_ELEMENTS else n


def padded_rows(X, y, hyper, folds=None):
    """``(X, y, hyper, folds)`` with the rows padded up to their bucket: zero
    rows of X, zero targets, zero sample weights, zero training weight in
    every fold and held-out index lists padded to their own bucket (invalid
    entries). Unchanged where buckets are off, X is too large, or an input is
    laid out over several devices.

    Host arrays are padded in numpy (no compiled work for a new shape),
    others (traced, or on an accelerator) with ``jax.numpy``, so that a fit
    under ``jit``, ``vmap`` or ``grad`` solves the same padded problem as the
    same fit called eagerly."""
    n, p = X.shape
    target = bucket(n, p)
    if not _enabled or target == n or v.on_devices(X, y, hyper.sample_weight):
        return X, y, hyper, folds
    extra = target - n
    X = _pad_design(X, extra)
    y = _pad(y, extra)
    hyper = hyper.replace(sample_weight=_pad(hyper.sample_weight, extra))
    if folds is not None:
        folds = _pad_folds(folds, extra)
    return X, y, hyper, folds


def _on_host(a) -> bool:
    return v.is_concrete(a) and not (isinstance(a, jax.Array) and not v._on_host(a))


def _pad(a, extra: int, value=0):
    """``a`` with ``extra`` entries of ``value`` appended on its last axis."""
    if _on_host(a):
        # A filled buffer and one copy (np.pad costs several times as much,
        # which a small fit called in a loop pays on every call).
        a = np.asarray(a)
        out = np.full(a.shape[:-1] + (a.shape[-1] + extra,), value, a.dtype)
        out[..., : a.shape[-1]] = a
        return out
    widths = [(0, 0)] * (np.ndim(a) - 1) + [(0, extra)]
    return jnp.pad(a, widths, constant_values=value)


def _pad_design(X, extra: int):
    n, p = X.shape
    if v.is_sparse(X):
        # Zero rows of a sparse matrix store nothing: only the shape grows.
        return type(X)((X.data, X.indices), shape=(n + extra, p))
    if _on_host(X):
        A = np.asarray(X)
        return np.concatenate([A, np.zeros((extra, p), A.dtype)])
    return jnp.concatenate([X, jnp.zeros((extra, p), X.dtype)])


def _pad_folds(folds, extra: int):
    m = folds.held_idx.shape[1]
    more = bucket(m, 1) - m if math.prod(folds.held_idx.shape) else 0
    return folds._replace(
        W=_pad(folds.W, extra),
        held_idx=_pad(folds.held_idx, more),
        held_valid=_pad(folds.held_valid, more, False),
    )
