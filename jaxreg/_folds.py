"""Folds as weight rows: bookkeeping, held-out scores and the selection rules.

K folds over ``n`` rows are K + 1 rows of sample weights (each fold's
training weights, then the full data's), the held-out rows of each fold
(padded to equal length, with a validity mask), and their scores.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array

from jaxreg import _validation as v

# Scores where higher is better (the others are losses).
HIGHER_IS_BETTER = {"auc"}


class Folds(NamedTuple):
    """Training weight rows ``W`` (K + 1, n), the last the full data's; the
    held-out row indices of each fold (K, m) and their validity mask; and a
    scale of the penalty grid per row (ones in the library's convention,
    where the penalty does not depend on the training set's size)."""

    W: Array
    held_idx: Array
    held_valid: Array
    alpha_scale: Array


def make_folds(n: int, cv: int = 5, *, seed: int | None = 0) -> np.ndarray:
    """Fold ids for ``cv``-fold cross-validation: shuffled with ``seed`` (None: in order).

    Returns an int array of length ``n`` with values in ``0..cv-1`` and fold
    sizes differing by at most one (the first ``n % cv`` folds one larger, as
    scikit-learn's ``KFold``).

    Example:
      >>> make_folds(7, 3, seed=None).tolist()
      [0, 0, 0, 1, 1, 2, 2]
    """
    if not isinstance(cv, (int, np.integer)) or cv < 2:
        raise ValueError(f"cv must be an integer >= 2, got {cv!r}")
    if cv > n:
        raise ValueError(f"cv={cv} folds need at least {cv} samples, got {n}")
    sizes = np.full(cv, n // cv)
    sizes[: n % cv] += 1
    ids = np.repeat(np.arange(cv), sizes)
    order = np.arange(n) if seed is None else np.random.default_rng(seed).permutation(n)
    out = np.empty(n, dtype=np.int64)
    out[order] = ids
    return out


def check_foldid(foldid, n: int) -> np.ndarray:
    """A user's fold ids as integers ``0..K-1`` (every id used, K >= 2)."""
    foldid = np.asarray(foldid)
    if foldid.shape != (n,):
        raise ValueError(f"foldid must have shape ({n},), got {foldid.shape}")
    if not np.issubdtype(foldid.dtype, np.integer) or foldid.min() < 0:
        raise ValueError("foldid must hold integers 0..K-1")
    if len(np.unique(foldid)) != foldid.max() + 1 or foldid.max() < 1:
        raise ValueError("foldid must use every fold id 0..K-1, with K >= 2")
    return foldid


def folds_of(n: int, cv, foldid, seed, sw, dtype) -> Folds:
    """The :class:`Folds` of ``foldid``, or of ``cv`` shuffled folds (``seed``)."""
    foldid = make_folds(n, cv, seed=seed) if foldid is None else check_foldid(foldid, n)
    held_idx, held_valid = _fold_indices(foldid)
    W = _training_weights(foldid, held_idx.shape[0], sw, dtype)
    scale = v.as_array(np.ones((W.shape[0],)), dtype)
    return Folds(W, held_idx, held_valid, scale)


def _training_weights(foldid: np.ndarray, K: int, sw, dtype):
    """Training weights of the K folds, then of the full data: shape (K + 1, n)."""
    train = np.ones((K + 1, foldid.shape[0]), dtype=bool)
    train[:K] = foldid[None, :] != np.arange(K)[:, None]
    sw_vals = v.concrete_values(sw)
    if sw_vals is not None:
        # A fold with no training weight has no fit; one with no held-out
        # weight scores 0 / 0, and the mean over folds would be NaN.
        for rows, which in ((train[:K], "training"), (~train[:K], "held-out")):
            k = v.reduce_values(_first_weightless, rows, sw_vals)
            if k >= 0:
                raise ValueError(
                    f"the {which} rows of fold {k} have zero total sample_weight: "
                    "every fold needs positive weight on both sides"
                )
    if not isinstance(sw, jax.Array):
        # Host weights stay on the host: an eager product would compile a
        # kernel per shape.
        return v.as_array(train * np.asarray(sw)[None, :], dtype)
    return jnp.asarray(train, dtype) * sw[None, :]


def _first_weightless(xp, rows, sw):
    """The first row of the masks ``rows`` whose total weight is not positive, or -1."""
    return v.first_true(xp, rows.astype(sw.dtype) @ sw <= 0)


def check_fold_classes(folds: Folds, y) -> None:
    """Every training fold of a classifier holds two classes or more among its
    positive-weight rows (a one-class fold has no finite fit, and its
    scores would be NaN)."""
    values = v.concrete_values(y)
    if values is None or not v.is_concrete(folds.W):
        return
    k = v.reduce_values(_first_one_class_fold, folds.W[:-1], values)
    if k >= 0:
        raise ValueError(
            f"the training rows of fold {k} hold one class only (among positive "
            "sample weights): use fewer folds or stratified fold ids"
        )


def _first_one_class_fold(xp, W, y):
    """The first fold whose positive-weight training rows hold one class only, or -1."""
    train = W > 0
    first = y[xp.argmax(train, axis=1)]  # a label of each fold's training rows
    two = xp.any(train & (y[None, :] != first[:, None]), axis=1)
    return v.first_true(xp, ~two)


def _fold_indices(foldid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Held-out row indices per fold, padded to equal length, and their validity mask."""
    K = int(foldid.max()) + 1
    groups = [np.flatnonzero(foldid == k) for k in range(K)]
    m = max(len(g) for g in groups)
    idx = np.zeros((K, m), dtype=np.int32)
    valid = np.zeros((K, m), dtype=bool)
    for k, g in enumerate(groups):
        idx[k, : len(g)] = g
        valid[k, : len(g)] = True
    return idx, valid


def fold_weights(folds: Folds) -> Array:
    """Each fold's total held-out sample weight."""
    sw = folds.W[-1]
    return jnp.sum(jnp.where(folds.held_valid, sw[folds.held_idx], 0.0), axis=1)


def _weighted_auc(score, label, weight):
    """Weighted ROC AUC with ties counted one half, by sorting."""
    order = jnp.argsort(score)
    s, lab, w = score[order], label[order], weight[order]
    wneg = w * (1.0 - lab)
    cum_neg = jnp.concatenate([jnp.zeros((1,), w.dtype), jnp.cumsum(wneg)])
    below = cum_neg[jnp.searchsorted(s, s, side="left")]
    upto = cum_neg[jnp.searchsorted(s, s, side="right")]
    wpos = w * lab
    num = jnp.sum(wpos * (below + 0.5 * (upto - below)))
    return num / (jnp.sum(wpos) * jnp.sum(wneg))


def _errors(scoring: str, y, eta):
    """Per-sample errors of the loss-type scores."""
    if scoring == "mse":
        return (y - eta) ** 2
    if scoring == "mae":
        return jnp.abs(y - eta)
    if scoring == "deviance":
        return 2.0 * (jax.nn.softplus(eta) - y * eta)
    return ((eta > 0).astype(eta.dtype) != y).astype(eta.dtype)  # misclassification


def _class_errors(scoring: str, y, eta):
    """Per-sample errors of a multinomial model's linear predictors ``eta``
    (classes on the last axis) for labels ``y``."""
    labels = jnp.broadcast_to(y.astype(jnp.int32)[..., None], eta.shape[:-1] + (1,))
    if scoring == "misclassification":
        return (jnp.argmax(eta, axis=-1) != labels[..., 0]).astype(eta.dtype)
    picked = jnp.take_along_axis(eta, labels, axis=-1)[..., 0]
    log_loss = jax.nn.logsumexp(eta, axis=-1) - picked
    return 2.0 * log_loss if scoring == "deviance" else log_loss


def fold_scores(X, y, coef, intercept, folds: Folds, scoring: str):
    """Held-out score of every fold at every grid point: (K, L, A). ``coef``
    is ``(K, L, A, p)``, or ``(K, L, A, p, C)`` for a model with ``C``
    classes (``intercept`` then ``(K, L, A, C)``)."""
    sw = folds.W[-1]
    classes = coef.ndim == 5

    def one(args):
        idx, valid, coef_k, b_k = args
        yk = y[idx]
        wk = sw[idx] * valid
        grid = coef_k.shape[:2]
        outputs = coef_k.shape[3:]
        if v.is_sparse(X):
            # Sparse rows cannot be gathered: predict every row, keep the held-out ones.
            flat = jnp.moveaxis(coef_k, 2, 0).reshape(X.shape[1], -1)
            eta = (X @ flat)[idx].reshape((idx.shape[0],) + grid + outputs) + b_k
        else:
            eta = jnp.einsum("mp,lap...->mla...", X[idx], coef_k) + b_k  # (m, L, A[, C])
        if classes:
            err = _class_errors(scoring, yk[:, None, None], eta)
            return jnp.sum(wk[:, None, None] * err, axis=0) / jnp.sum(wk)
        if scoring == "auc":
            flat = eta.reshape(eta.shape[0], -1)
            auc = jax.vmap(lambda e: _weighted_auc(e, yk, wk), in_axes=1)(flat)
            return auc.reshape(eta.shape[1:])
        err = _errors(scoring, yk[:, None, None], eta)
        return jnp.sum(wk[:, None, None] * err, axis=0) / jnp.sum(wk)

    K = folds.held_idx.shape[0]
    return jax.lax.map(one, (folds.held_idx, folds.held_valid, coef[:K], intercept[:K]))


def select(fold_scores, fold_weights, alphas, scoring):
    """glmnet's cvm / cvsd, the best point and the one-standard-error rule."""
    K = fold_scores.shape[0]
    w = fold_weights / jnp.sum(fold_weights)
    mean = jnp.einsum("k,kla->la", w, fold_scores)
    var = jnp.einsum("k,kla->la", w, (fold_scores - mean) ** 2)
    se = jnp.sqrt(var / (K - 1))
    loss = -mean if scoring in HIGHER_IS_BETTER else mean
    flat = jnp.argmin(loss.reshape(-1))  # first minimum: largest alpha, first l1_ratio
    A = alphas.shape[1]
    li, ai = flat // A, flat % A
    threshold = loss[li, ai] + se[li, ai]
    within = (loss[li] <= threshold) & (jnp.arange(A) <= ai)
    i1se = jnp.argmax(within)  # the grid decreases: the first index is the largest alpha
    return mean, se, li, ai, i1se
