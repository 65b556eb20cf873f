"""Cross-validation: folds x l1_ratios x alphas in one compiled call.

Folds are sample-weight masks over one shared ``X``; nothing is copied per
fold. In Gram mode (squared loss, ``n > p``) each training fold's Gram matrix
is the full Gram matrix minus the held-out fold's, whose rows are gathered one
fold at a time, and the full Gram matrix is the sum of the held-out ones: one
pass over the data, whatever the number of folds. In design mode the per-fold
centering and scaling stay implicit in the linear operator. The full data set
rides along as one more "fold", so the path on all the data, its nonzero
counts and the refit at the chosen point come out of the same call.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.typing import ArrayLike

from jaxreg import _compile, _problem, _working_set
from jaxreg import _validation as v
from jaxreg.datafits import Design, Logistic, Quadratic, QuadraticGram, _weighted_gram
from jaxreg.models import _certified_ridge, _common_inputs, _solve_ridge, _use_gram
from jaxreg.path import (
    PathResult,
    _resolve_eps,
    _with_alphas,
    default_strategy,
    solve_path,
)
from jaxreg.result import FitResult
from jaxreg.solvers import _thin_svd

__all__ = ["CVResult", "cross_validate", "make_folds"]

_SCORES = {
    "squared": ("mse", "mae"),
    "logistic": ("deviance", "misclassification", "auc"),
}
_HIGHER_IS_BETTER = {"auc"}


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class CVResult:
    """Cross-validation curves, the selected point and the refit model.

    Shapes: ``K`` folds, ``L`` l1_ratios, ``A`` alphas.

    Attributes:
      alphas: the grid per l1_ratio, shape ``(L, A)`` (scikit-learn's ``alphas_``).
      l1_ratios: shape ``(L,)``.
      fold_scores: score of each fold at each grid point, shape ``(K, L, A)``
        (scikit-learn's ``mse_path_`` transposed to folds first).
      mean: fold-weighted mean score, shape ``(L, A)`` (glmnet's ``cvm``).
      se: its standard error, shape ``(L, A)`` (glmnet's ``cvsd``).
      n_nonzero: nonzero coefficients of the full-data path, shape ``(L, A)``
        (None with ``full_path=False``).
      best_index: ``(l, a)`` indices of the selected point.
      alpha_min: the alpha with the best mean score.
      alpha_1se: the largest alpha (same l1_ratio) whose mean score is within
        one standard error of the best (glmnet's ``lambda.1se``).
      l1_ratio_min: the l1_ratio of the best point.
      best: the full-data fit at ``(l1_ratio_min, alpha_min)``.
      best_1se: the full-data fit at ``(l1_ratio_min, alpha_1se)``.
      path: the full-data paths, one per l1_ratio (leading axes ``(L, A)``;
        None with ``full_path=False``).
      fold_status: solver status per fold and grid point, ``(K, L, A)``.
    """

    alphas: Array
    l1_ratios: Array
    fold_scores: Array
    mean: Array
    se: Array
    n_nonzero: Array | None
    best_index: Array
    alpha_min: Array
    alpha_1se: Array
    l1_ratio_min: Array
    best: FitResult
    best_1se: FitResult
    path: PathResult | None
    fold_status: Array
    scoring: str = dataclasses.field(metadata=dict(static=True), default="mse")


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


def _check_foldid(foldid, n: int) -> np.ndarray:
    foldid = np.asarray(foldid)
    if foldid.shape != (n,):
        raise ValueError(f"foldid must have shape ({n},), got {foldid.shape}")
    if not np.issubdtype(foldid.dtype, np.integer) or foldid.min() < 0:
        raise ValueError("foldid must hold integers 0..K-1")
    if len(np.unique(foldid)) != foldid.max() + 1 or foldid.max() < 1:
        raise ValueError("foldid must use every fold id 0..K-1, with K >= 2")
    return foldid


def _training_weights(foldid: np.ndarray, K: int, sw, dtype):
    """Training weights of the K folds, then of the full data: shape (K + 1, n)."""
    train = np.ones((K + 1, foldid.shape[0]), dtype=bool)
    train[:K] = foldid[None, :] != np.arange(K)[:, None]
    sw_vals = v._values(sw)
    if sw_vals is not None and np.any(np.asarray(train[:K], float) @ sw_vals <= 0):
        raise ValueError("every training fold needs a positive total sample_weight")
    return jnp.asarray(train, dtype) * sw[None, :]


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


def _fold_problems(
    X,
    y,
    sw,
    W,
    held_idx,
    held_valid,
    pf,
    lower,
    upper,
    tol,
    *,
    loss,
    fit_intercept,
    standardize,
    use_gram,
    strong=False,
):
    """One prepared problem per row of the training weights ``W`` (F, n), batched.

    Returns the batched problems and their vmap axes (the shared X is unbatched).
    ``strong``: certify each Gram matrix's strong convexity (see
    :func:`jaxreg._problem.finish_setup`).
    """
    dtype = X.dtype
    n, p = X.shape
    totals = jnp.sum(W, axis=1)
    S = W / totals[:, None]
    sparse = v.is_sparse(X)
    if fit_intercept and sparse:
        # A sparse X is never centered: the per-fold means stay implicit.
        mu = jnp.zeros((p,), dtype)
        Xh = X
        D = _left_product(S, X)
    elif fit_intercept:
        # One globally centered copy of X (not one per fold): the per-fold offsets
        # D are then small, which keeps the Gram downdates accurate.
        mu = (sw / jnp.sum(sw)) @ X
        Xh = X - mu
        D = S @ Xh
    else:
        mu = jnp.zeros((p,), dtype)
        Xh = X
        D = jnp.zeros((W.shape[0], p), dtype)
    y_mean = S @ y if (fit_intercept and loss == "squared") else jnp.zeros((W.shape[0],), dtype)

    if loss == "squared" and use_gram:

        def held_gram(args):
            idx, valid = args
            return _weighted_gram(Xh[idx], sw[idx] * valid)

        if sparse:
            # Sparse rows cannot be gathered per fold; one sparse product per fold.
            raw = jax.lax.map(lambda w: (Xh.T @ (w[:, None] * Xh)).todense(), W)
        else:
            # Every row is held out exactly once: the full Gram matrix is the sum
            # of the held-out ones, so one pass over X makes all of them.
            held = jax.lax.map(held_gram, (held_idx, held_valid))
            full = jnp.sum(held, axis=0)
            # Training folds: full minus held-out; the last problem is the full data.
            raw = jnp.concatenate([full[None] - held, full[None]], axis=0)
        G = raw / totals[:, None, None] - D[:, :, None] * D[:, None, :]
        resid = y[None, :] - y_mean[:, None]
        c = _left_product(S * resid, Xh)
        yy = jnp.sum(S * resid * resid, axis=1)
        if standardize:
            scale = jnp.sqrt(jnp.maximum(jnp.diagonal(G, axis1=1, axis2=2), 0.0))
            scale = jnp.where(scale > 0, scale, 1.0)
            G = G / (scale[:, :, None] * scale[:, None, :])
            c = c / scale
        else:
            scale = jnp.ones((W.shape[0], p), dtype)

        def finish(G_k, c_k, yy_k, D_k, scale_k, ym_k):
            return _problem.finish_setup(
                QuadraticGram.build(G_k, c_k, yy_k),
                pf,
                lower,
                upper,
                mu + D_k,
                scale_k,
                ym_k,
                yy_k,
                tol,
                jnp.zeros((), dtype),
                loss=loss,
                fit_intercept=fit_intercept,
                strong=strong,
            )

        return jax.vmap(finish)(G, c, yy, D, scale, y_mean), 0

    if standardize:
        if sparse:
            var = jax.vmap(lambda s_k, d_k: _problem.sparse_variance(Xh, s_k, d_k))(S, D)
        else:
            var = S @ (Xh * Xh) - D * D
        scale = jnp.sqrt(jnp.maximum(var, 0.0))
        scale = jnp.where(scale > 0, scale, 1.0)
    else:
        scale = jnp.ones((W.shape[0], p), dtype)

    def finish(s_k, D_k, scale_k, ym_k):
        design = Design(Xh, D_k, scale_k)
        if loss == "squared":
            yc = y - ym_k
            yy = s_k @ (yc * yc)
            datafit, b0, gap_scale = Quadratic(design, yc, s_k), jnp.zeros((), dtype), yy
        else:
            ybar = s_k @ y
            datafit = Logistic(design, y, s_k, fit_intercept)
            if fit_intercept:
                b0 = jnp.log(ybar) - jnp.log1p(-ybar)
                gap_scale = _problem.binary_entropy(ybar)
            else:
                b0, gap_scale = jnp.zeros((), dtype), jnp.log(2.0).astype(dtype)
        return _problem.finish_setup(
            datafit,
            pf,
            lower,
            upper,
            mu + D_k,
            scale_k,
            ym_k,
            gap_scale,
            tol,
            b0,
            loss=loss,
            fit_intercept=fit_intercept,
        )

    # The design X is shared by every fold: keep it out of the batch, or vmap
    # would broadcast it into a per-fold copy.
    template = jax.eval_shape(finish, S[0], D[0], scale[0], y_mean[0])
    axes = jax.tree.map(lambda _: 0, template)
    design_axes = dataclasses.replace(axes.datafit.design, X=None)
    axes = dataclasses.replace(axes, datafit=dataclasses.replace(axes.datafit, design=design_axes))
    return jax.vmap(finish, out_axes=axes)(S, D, scale, y_mean), axes


def _sequential(strategy: str, use_gram: bool, mesh) -> bool:
    """Whether the fold x l1_ratio paths run one after another (else vmapped)."""
    return strategy == "working_set" or (use_gram and strategy == "warm" and mesh is None)


def _one_problem(problems, axes, i):
    """Problem ``i`` of the batch from :func:`_fold_problems` (unbatched leaves shared)."""
    if axes == 0:
        return jax.tree.map(lambda a: a[i], problems)
    return jax.tree.map(
        lambda ax, a: a if ax is None else a[i], axes, problems, is_leaf=lambda x: x is None
    )


def _left_product(A, X):
    """``A @ X`` for a dense ``A`` of shape ``(k, n)`` and a dense or ``BCOO`` X."""
    if v.is_sparse(X):
        return (X.T @ A.T).T
    return A @ X


def _sparse_svd(design: Design, root_w, root_f):
    """Thin SVD of ``diag(root_w) X~ diag(1 / root_f)`` for a sparse design,
    from the eigendecomposition of its (dense, ``p x p``) Gram matrix.

    Directions with a singular value below ``sqrt(eps)`` of the largest carry
    no information (their left vectors would be noise): they get a zero
    singular value and a zero left vector, which drops them from every sum.
    """
    G = design.gram(root_w * root_w) / jnp.outer(root_f, root_f)
    lam, V = jnp.linalg.eigh(G)
    lam, V = lam[::-1], V[:, ::-1]
    sig = jnp.sqrt(jnp.maximum(lam, 0.0))
    keep = sig > jnp.sqrt(jnp.finfo(sig.dtype).eps) * sig[0]
    AV = root_w[:, None] * design.matmat(V / root_f[:, None])
    U = jnp.where(keep, AV / jnp.where(keep, sig, 1.0), 0.0)
    return U, jnp.where(keep, sig, 0.0), V.T


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


def _fold_scores(X, y, sw, coef, intercept, held_idx, held_valid, *, loss, scoring):
    """Held-out score of every fold at every grid point: (K, L, A)."""

    def one(args):
        idx, valid, coef_k, b_k = args
        yk = y[idx]
        wk = sw[idx] * valid
        if v.is_sparse(X):
            # Sparse rows cannot be gathered: predict every row, keep the held-out ones.
            flat = coef_k.reshape(-1, coef_k.shape[-1])
            eta = (X @ flat.T)[idx].reshape((idx.shape[0],) + coef_k.shape[:-1]) + b_k
        else:
            eta = jnp.einsum("mp,lap->mla", X[idx], coef_k) + b_k  # (m, L, A)
        yk_, wk_ = yk[:, None, None], wk[:, None, None]
        if scoring == "mse":
            err = (yk_ - eta) ** 2
        elif scoring == "mae":
            err = jnp.abs(yk_ - eta)
        elif scoring == "deviance":
            err = 2.0 * (jax.nn.softplus(eta) - yk_ * eta)
        elif scoring == "misclassification":
            err = ((eta > 0).astype(eta.dtype) != yk_).astype(eta.dtype)
        else:
            flat = eta.reshape(eta.shape[0], -1)
            auc = jax.vmap(lambda e: _weighted_auc(e, yk, wk), in_axes=1)(flat)
            return auc.reshape(eta.shape[1:])
        return jnp.sum(wk_ * err, axis=0) / jnp.sum(wk)

    K = held_idx.shape[0]
    return jax.lax.map(one, (held_idx, held_valid, coef[:K], intercept[:K]))


def _select(fold_scores, fold_weights, alphas, scoring):
    """glmnet's cvm / cvsd, the best point and the one-standard-error rule."""
    K = fold_scores.shape[0]
    w = fold_weights / jnp.sum(fold_weights)
    mean = jnp.einsum("k,kla->la", w, fold_scores)
    var = jnp.einsum("k,kla->la", w, (fold_scores - mean) ** 2)
    se = jnp.sqrt(var / (K - 1))
    loss = -mean if scoring in _HIGHER_IS_BETTER else mean
    flat = jnp.argmin(loss.reshape(-1))  # first minimum: largest alpha, first l1_ratio
    A = alphas.shape[1]
    li, ai = flat // A, flat % A
    threshold = loss[li, ai] + se[li, ai]
    within = (loss[li] <= threshold) & (jnp.arange(A) <= ai)
    i1se = jnp.argmax(within)  # the grid decreases: the first index is the largest alpha
    return mean, se, li, ai, i1se


def _shard(X, W, mesh):
    """Place the fold batch on the mesh axis "batch" and the rows of X on "rows".

    Sharding constraints inside the compiled call: XLA partitions the batched
    solves across devices (uneven splits are padded), and never changes results.
    """
    if mesh is None:
        return X, W
    names = mesh.axis_names
    # Constraints need automatic (compiler-chosen) axes, whatever the mesh was made with.
    auto = (jax.sharding.AxisType.Auto,) * len(names)
    mesh = jax.sharding.Mesh(mesh.devices, names, axis_types=auto)
    P = jax.sharding.PartitionSpec
    if "rows" in names:
        X = jax.lax.with_sharding_constraint(X, jax.sharding.NamedSharding(mesh, P("rows", None)))
    if "batch" in names:
        W = jax.lax.with_sharding_constraint(W, jax.sharding.NamedSharding(mesh, P("batch", None)))
    return X, W


@_compile.jit(
    static_argnames=(
        "loss",
        "scoring",
        "fit_intercept",
        "standardize",
        "use_gram",
        "n_alphas",
        "eps",
        "strategy",
        "chunk_size",
        "check_every",
        "mesh",
        "full_path",
        "strong",
        "null_fit",
    ),
    unhoisted=_compile.working_set_only,
    quick=_compile.not_working_set,
)
def _cv_glm(
    X,
    y,
    sw,
    W,
    held_idx,
    held_valid,
    alphas,
    l1_ratios,
    pf,
    lower,
    upper,
    tol,
    max_iter,
    *,
    loss,
    scoring,
    fit_intercept,
    standardize,
    use_gram,
    n_alphas,
    eps,
    strategy,
    chunk_size,
    check_every,
    mesh=None,
    full_path=True,
    strong=False,
    null_fit=True,
) -> CVResult:
    dtype = X.dtype
    X, W = _shard(X, W, mesh)
    problems, axes = _fold_problems(
        X,
        y,
        sw,
        W,
        held_idx,
        held_valid,
        pf,
        lower,
        upper,
        tol,
        loss=loss,
        fit_intercept=fit_intercept,
        standardize=standardize,
        use_gram=use_gram,
        strong=strong,
    )
    if alphas is None:
        # alpha_max from the full-data problem (the last one), already prepared.
        top = _problem.alpha_max(_one_problem(problems, axes, -1), max_iter, 1e-10, null_fit)
        grid = jnp.geomspace(1.0, eps, n_alphas, dtype=dtype)
        alphas = (top / l1_ratios)[:, None] * grid[None, :]
    elif alphas.ndim == 1:
        alphas = jnp.broadcast_to(alphas, (l1_ratios.shape[0], alphas.shape[0]))

    def walk(problem, grid, ratio, stop=None):
        return solve_path(
            problem,
            grid,
            ratio,
            max_iter,
            strategy=strategy,
            chunk_size=chunk_size,
            check_every=check_every,
            stop=stop,
        )

    def per_fold(problem):
        return jax.vmap(lambda grid, ratio: walk(problem, grid, ratio))(alphas, l1_ratios)

    if _sequential(strategy, use_gram, mesh):
        # One path after another, folds x l1_ratios as one sequential map: the
        # working-set solver must not be vmapped, and in Gram mode every fold
        # has its own Gram matrix, so a batch shares no data and would run each
        # chunk until its slowest lane converges (tall 5000 x 500 elastic-net
        # CV: 2.07 s vmapped, 1.39 s mapped).
        n_problems = W.shape[0] if full_path else W.shape[0] - 1
        n_ratios = l1_ratios.shape[0]

        def one_path(k):
            f, r = k // n_ratios, k % n_ratios
            return walk(_one_problem(problems, axes, f), alphas[r], l1_ratios[r])

        flat = jax.lax.map(one_path, jnp.arange(n_problems * n_ratios))
        fits = jax.tree.map(lambda a: a.reshape((n_problems, n_ratios) + a.shape[1:]), flat)
    else:
        fits = jax.vmap(per_fold, in_axes=(axes,))(problems)  # leaves: (K + 1, L, A, ...)
    scores = _fold_scores(
        X, y, sw, fits.coef, fits.intercept, held_idx, held_valid, loss=loss, scoring=scoring
    )
    fold_weights = jnp.sum(jnp.where(held_valid, sw[held_idx], 0.0), axis=1)
    mean, se, li, ai, i1se = _select(scores, fold_weights, alphas, scoring)
    if fits.coef.shape[0] == W.shape[0]:  # the full data rode along as the last fold
        full = jax.tree.map(lambda a: a[-1], fits)  # (L, A, ...)
        best = jax.tree.map(lambda a: a[li, ai], full)
        best_1se = jax.tree.map(lambda a: a[li, i1se], full)
    else:
        # The full data along the selected l1_ratio only, down to alpha_min:
        # the same warm-started walk as its full path, stopped early.
        refit = walk(_one_problem(problems, axes, -1), alphas[li], l1_ratios[li], stop=ai + 1)
        best = jax.tree.map(lambda a: a[ai], refit)
        best_1se = jax.tree.map(lambda a: a[i1se], refit)
    path = jax.vmap(_with_alphas)(alphas, full) if full_path else None
    return CVResult(
        alphas=alphas,
        l1_ratios=l1_ratios,
        fold_scores=scores,
        mean=mean,
        se=se,
        n_nonzero=jnp.sum(full.coef != 0, axis=-1) if full_path else None,
        best_index=jnp.stack([li, ai]),
        alpha_min=alphas[li, ai],
        alpha_1se=alphas[li, i1se],
        l1_ratio_min=l1_ratios[li],
        best=best,
        best_1se=best_1se,
        path=path,
        fold_status=fits.status[: held_idx.shape[0]],  # the K folds, whatever rode along
        scoring=scoring,
    )


@_compile.jit(static_argnames=("fit_intercept", "standardize", "scoring", "mode"))
def _cv_ridge(
    X, y, sw, W, held_idx, held_valid, alphas, pf, tol, *, fit_intercept, standardize, scoring, mode
) -> CVResult:
    """Ridge CV in closed form: K-fold from per-fold Gram eigendecompositions, or
    exact leave-one-out / GCV from one decomposition of the full data (a thin
    SVD, or for wide float64 data the eigendecomposition of the n x n kernel)."""
    dtype = X.dtype
    n, p = X.shape
    pfn = _problem.normalized_penalty_factor(pf)
    if mode == "kfold":
        problems, _ = _fold_problems(
            X,
            y,
            sw,
            W,
            held_idx,
            held_valid,
            pf,
            jnp.full((p,), -jnp.inf, dtype),
            jnp.full((p,), jnp.inf, dtype),
            tol,
            loss="squared",
            fit_intercept=fit_intercept,
            standardize=standardize,
            use_gram=True,
        )
        totals = jnp.sum(W, axis=1)

        def per_fold(problem, total):
            # sum_i s_i r_i^2 + alpha sum_j f_j w_j^2 = 2T [1/2 ||r||_s~^2 + alpha/(2T) ...]
            root = 1.0 / jnp.sqrt(pfn)
            lam, V = jnp.linalg.eigh(problem.datafit.G * root[:, None] * root[None, :])
            proj = V.T @ (problem.datafit.c * root)
            beta = ((proj / (lam + alphas[:, None] / total)) @ V.T) * root
            coef = beta / problem.x_scale
            if fit_intercept:
                intercept = problem.y_mean - coef @ problem.x_mean
            else:
                intercept = jnp.zeros(alphas.shape, dtype)
            return coef, intercept

        coef, intercept = jax.vmap(per_fold)(problems, totals)
        scores = _fold_scores(
            X,
            y,
            sw,
            coef[:, None],
            intercept[:, None],
            held_idx,
            held_valid,
            loss="squared",
            scoring=scoring,
        )
        fold_weights = jnp.sum(jnp.where(held_valid, sw[held_idx], 0.0), axis=1)
    else:
        s = sw / jnp.sum(sw)
        design, x_mean, x_scale = _problem.make_design(X, s, fit_intercept, standardize)
        y_mean = s @ y if fit_intercept else jnp.zeros((), dtype)
        yc = y - y_mean
        root_w, root_f = jnp.sqrt(sw), jnp.sqrt(pfn)
        # kernel: whether U is the complete eigenbasis of the weighted samples
        # (the n x n kernel route below); else U, sig, Vt are a thin SVD.
        A = None if v.is_sparse(X) else root_w[:, None] * design.X / root_f
        kernel = A is not None and A.shape[0] < A.shape[1] and dtype == jnp.float64
        if kernel:
            # Wide, float64: the eigendecomposition of the n x n kernel
            # A A' = U diag(sigma^2) U', and beta = A' U diag(1 / (sigma^2
            # + alpha)) U' y, which needs no right singular vectors (500 x
            # 5000: 0.06 s against 0.21 s for the thin SVD). The fits'
            # rounding grows with sigma_max^2 / alpha rather than with its
            # square root, which float64 can spare at the alphas in use
            # and float32 cannot; every point is certified below.
            lam, U = jnp.linalg.eigh(A @ A.T)
            lam = jnp.maximum(lam, 0.0)
            uty = U.T @ (root_w * yc)
            beta = (((uty / (lam + alphas[:, None])) @ U.T) @ A) / root_f  # (A, p)
        else:
            U, sig, Vt = _sparse_svd(design, root_w, root_f) if A is None else _thin_svd(A)
            lam, uty = sig**2, U.T @ (root_w * yc)
            beta = ((sig / (lam + alphas[:, None]) * uty) @ Vt) / root_f  # (A, p)
        shrink = lam / (lam + alphas[:, None])  # (A, r)

        def direct():
            return yc[None, :] - design.matmat(beta.T).T  # (A, n)

        # 1 - h_ii, one minus the hat-matrix diagonal of the weighted problem
        # (the unpenalized intercept's share s_i included).
        if kernel:
            # In a complete eigenbasis, 1 - h_ii and the weighted residual
            # (I - H) S^1/2 y are sums of terms damped by alpha / (sigma^2 +
            # alpha), with no cancellation. Formed as 1 - h_ii and y - X beta,
            # both cancel where the fit nearly interpolates (a leverage near
            # one), which magnifies the kernel's rounding: on a 24 x 70 design
            # at alpha = 1e-4 a score came out 2e-5 off, against 2e-11 here.
            kept = alphas[:, None] / (lam + alphas[:, None])
            free = kept @ (U * U).T
            # Dividing by sqrt(w_i) would magnify the basis's rounding for
            # a sample of tiny weight; samples below 1e-6 of the largest
            # weight (zero weights included, which have no share in the
            # basis) take their residuals from the fits (a product with the
            # design, skipped when every sample is above that).
            weighted = root_w > 1e-3 * jnp.max(root_w)
            resid = ((kept * uty) @ U.T) / jnp.where(weighted, root_w, 1.0)
            resid = jax.lax.cond(
                jnp.all(weighted),
                lambda: resid,
                lambda: jnp.where(weighted, resid, direct()),
            )
        else:
            resid = direct()
            free = 1.0 - shrink @ (U * U).T
        if fit_intercept:
            free = free - s[None, :]
        if mode == "loo":
            errors = resid / free
        else:  # generalized CV: the average leverage in place of each one
            df = jnp.sum(shrink, axis=1) + (1.0 if fit_intercept else 0.0)
            errors = resid / (1.0 - df / jnp.sum(sw > 0))[:, None]
        per_sample = errors**2 if scoring == "mse" else jnp.abs(errors)
        scores = per_sample.T[:, None, :]  # (n, 1, A): leave-one-out has n folds
        fold_weights = sw
    mean, se, li, ai, i1se = _select(scores, fold_weights, alphas[None, :], scoring)
    if mode == "kfold" or v.is_sparse(X):
        fits = jax.vmap(
            lambda a: _solve_ridge(
                X,
                y,
                a,
                sw,
                pf,
                tol,
                fit_intercept=fit_intercept,
                standardize=standardize,
                solver="cholesky" if v.is_sparse(X) else "svd",
            )
        )(alphas)
    else:
        # The full-data path from the decomposition the scores came from (the exact
        # solutions at every alpha), certified at each one.
        total = jnp.sum(sw)
        fits = jax.vmap(
            lambda b, a: _certified_ridge(
                design, yc, s, total, pfn, a, b, tol, x_mean, x_scale, y_mean, fit_intercept
            )
        )(beta, alphas)
    path = _with_alphas(alphas, fits)
    best = jax.tree.map(lambda a: a[ai], fits)
    best_1se = jax.tree.map(lambda a: a[i1se], fits)
    return CVResult(
        alphas=alphas[None, :],
        l1_ratios=jnp.zeros((1,), dtype),
        fold_scores=scores,
        mean=mean,
        se=se,
        n_nonzero=jnp.sum(fits.coef != 0, axis=-1)[None, :],
        best_index=jnp.stack([li, ai]),
        alpha_min=alphas[ai],
        alpha_1se=alphas[i1se],
        l1_ratio_min=jnp.zeros((), dtype),
        best=best,
        best_1se=best_1se,
        path=jax.tree.map(lambda a: a[None], path),
        fold_status=jnp.broadcast_to(fits.status, (scores.shape[0],) + fits.status.shape)[:, None],
        scoring=scoring,
    )


def cross_validate(
    X: ArrayLike,
    y: ArrayLike,
    model: Literal["lasso", "elastic_net", "logistic", "ridge"] = "lasso",
    *,
    l1_ratio: float | Sequence[float] | None = None,
    alphas: ArrayLike | None = None,
    n_alphas: int = 100,
    eps: float | Literal["glmnet"] = 1e-3,
    cv: int | Literal["loo", "gcv"] = 5,
    foldid: ArrayLike | None = None,
    seed: int | None = 0,
    scoring: str | None = None,
    fit_intercept: bool = True,
    sample_weight: ArrayLike | None = None,
    penalty_factor: ArrayLike | None = None,
    positive: bool = False,
    lower: ArrayLike | None = None,
    upper: ArrayLike | None = None,
    standardize: bool = False,
    tol: float = 1e-4,
    max_iter: int = 20_000,
    strategy: Literal["auto", "vmap", "warm", "working_set"] = "auto",
    chunk_size: int | None = None,
    gram: Literal["auto"] | bool = "auto",
    check_every: int | None = None,
    mesh: jax.sharding.Mesh | None = None,
    full_path: bool = True,
) -> CVResult:
    r"""K-fold cross-validation over folds x l1_ratios x alphas, in one compiled call.

    Each fold's model minimizes the objective of :func:`~jaxreg.elastic_net`
    (``model="lasso"`` or ``"elastic_net"``) or :func:`~jaxreg.logistic`
    (``model="logistic"``) on its training rows,

    .. math:: \frac{1}{\sum_{i \in T_k} s_i} \sum_{i \in T_k} s_i\, \ell(y_i, x_i^\top w + b)
              + \alpha \sum_j f_j \Big(\rho |w_j| + \frac{1 - \rho}{2} w_j^2\Big),

    and is scored on its held-out rows. The curves are glmnet's: the mean
    over folds weighted by each fold's total sample weight, and its standard
    error ``sqrt(weighted variance / (K - 1))``. ``alpha_min`` minimizes the
    mean (the first minimum in l1_ratio-major, decreasing-alpha order, as
    scikit-learn's ``ElasticNetCV``); ``alpha_1se`` is the largest alpha, at the
    same l1_ratio, within one standard error of it (glmnet's ``lambda.1se``).

    Args:
      X: design matrix, shape ``(n, p)``.
      y: targets (``{0, 1}`` labels for ``model="logistic"``).
      model: ``"lasso"``, ``"elastic_net"``, ``"logistic"`` or ``"ridge"``. Ridge
        uses scikit-learn's ``Ridge`` objective and closed forms: per-fold
        eigendecompositions for K folds (``n >= p``), or ``cv="loo"``: exact
        leave-one-out from one decomposition of the data, scikit-learn
        ``RidgeCV``'s default (it calls it GCV), or ``cv="gcv"``: generalized
        CV. ``alphas`` is then required and is sorted in decreasing order;
        bounds and l1_ratio do not apply. Leave-one-out standardizes (and
        centers) once on all the data.
      l1_ratio: one value or a sequence (default 1 for lasso and logistic, 0.5
        for elastic net).
      alphas: a shared grid ``(A,)`` or one per l1_ratio ``(L, A)``; by default
        ``n_alphas`` points from each l1_ratio's ``alpha_max`` (on the full
        data) down to ``eps`` times it, as scikit-learn's ``ElasticNetCV``.
      n_alphas: size of the default grid.
      eps: ratio of the smallest to the largest alpha of the default grid
        (``"glmnet"``: glmnet's ``lambda.min.ratio`` rule).
      cv: number of folds when ``foldid`` is not given (rows shuffled with
        ``seed``); ``"loo"`` or ``"gcv"`` for ridge.
      foldid: fold id of each row, integers ``0..K-1`` (glmnet's ``foldid``,
        0-based), e.g. from scikit-learn's splitters.
      seed: shuffling seed for ``cv`` (None: rows in order, scikit-learn's
        ``KFold()``).
      scoring: ``"mse"`` (default) or ``"mae"`` for regression; ``"deviance"``
        (default), ``"misclassification"`` or ``"auc"`` for logistic.
      fit_intercept: fit an unpenalized intercept, as in the single-fit functions.
      sample_weight: nonnegative per-sample weights, shape ``(n,)``; they enter
        both the fits and the held-out scores.
      penalty_factor: per-feature multipliers of the penalty, as in
        :func:`~jaxreg.lasso`.
      positive: constrain the coefficients to be nonnegative.
      lower: lower bounds on the coefficients, a scalar or shape ``(p,)``.
      upper: upper bounds on the coefficients, a scalar or shape ``(p,)``.
      standardize: fit on standardized columns (glmnet's convention), as in
        :func:`~jaxreg.lasso`.
      tol: stopping tolerance on the duality gap, as in the single-fit functions.
        In Gram mode at ``tol <= 1e-5`` the strong convexity of each fold's
        problem and of the full data's is also certified (one Cholesky
        factorization each), which gives the lasso a second, tighter gap (see
        the conventions page, "Certificates"). With a mesh of several CPU
        devices this is done without LAPACK (whose batched calls can deadlock
        the devices' shared thread pool), at a higher cost.
      max_iter: maximum number of proximal-gradient iterations per fit.
      strategy: ``"vmap"``, ``"warm"``, ``"working_set"`` or ``"auto"``, as in
        :func:`~jaxreg.lasso_path`. With ``"working_set"``, and with
        ``"warm"`` in Gram mode without a mesh, the fold paths run one after
        another (a Gram matrix per fold leaves a batch no shared data); else
        they are batched.
      chunk_size: grid points per warm-started chunk, as in :func:`~jaxreg.lasso_path`.
      gram: ``"auto"``, ``True`` or ``False``, as in :func:`~jaxreg.lasso`.
      check_every: iterations between certificates. By default 10, as the
        single fits, where the fold paths run one after another, and 5 where
        they are batched: every fold then shares each check, so checking often
        costs little and saves the iterations run past convergence.
      mesh: optional ``jax.sharding.Mesh``. Its axis ``"batch"`` (if present)
        splits the folds across devices, its axis ``"rows"`` splits the rows
        of ``X`` (for data too large for one device). Results are the same as
        on one device.
      full_path: fit the full data along every l1_ratio's whole grid
        (``path`` and ``n_nonzero`` in the result, glmnet's ``glmnet.fit``).
        ``False``: only what scikit-learn's ``ElasticNetCV`` refits, ``best``
        and ``best_1se``; ``path`` and ``n_nonzero`` are then None. Where the
        fold paths run one after another (Gram mode with the warm strategy and
        no mesh, or the working-set strategy), the full data is then walked only
        along the selected l1_ratio's grid down to ``alpha_min``, which saves
        most of its paths (the same warm-started walk, so ``best`` and
        ``best_1se`` are the fits ``full_path=True`` returns); where they are
        batched, the full data stays one more member of the batch.

    Returns:
      A :class:`CVResult`.

    Example:
      >>> import numpy as np, jaxreg
      >>> rng = np.random.default_rng(0)
      >>> X = rng.standard_normal((100, 10))
      >>> y = X[:, 0] - X[:, 1] + 0.5 * rng.standard_normal(100)
      >>> res = jaxreg.cross_validate(X, y, n_alphas=20)
      >>> res.fold_scores.shape, bool(res.alpha_1se >= res.alpha_min)
      ((5, 1, 20), True)
    """
    v.check_choice(model, "model", ("lasso", "elastic_net", "logistic", "ridge"))
    if not isinstance(full_path, bool | np.bool_):
        raise TypeError(f"full_path must be True or False, got {full_path!r}")
    if model == "ridge":
        res = _cross_validate_ridge(
            X,
            y,
            alphas=alphas,
            cv=cv,
            foldid=foldid,
            seed=seed,
            scoring=scoring,
            fit_intercept=fit_intercept,
            sample_weight=sample_weight,
            penalty_factor=penalty_factor,
            standardize=standardize,
        )
        # The closed forms cost nothing more for the path: only the result differs.
        return res if full_path else dataclasses.replace(res, path=None, n_nonzero=None)
    loss = "logistic" if model == "logistic" else "squared"
    scoring = scoring or ("mse" if loss == "squared" else "deviance")
    v.check_choice(scoring, "scoring", _SCORES[loss])
    dtype, X, y, sw, pf, lo, hi, tol, max_iter = _common_inputs(
        X, y, sample_weight, penalty_factor, lower, upper, positive, tol, max_iter
    )
    tight = _strong_pays(tol)
    n, p = X.shape
    if loss == "logistic":
        v.check_binary(y, sample_weight)
    if l1_ratio is None:
        l1_ratio = 0.5 if model == "elastic_net" else 1.0
    if model == "lasso" and np.any(np.asarray(l1_ratio) != 1.0):
        raise ValueError("model='lasso' has l1_ratio=1; use model='elastic_net'")
    ratios = np.atleast_1d(np.asarray(l1_ratio, dtype=np.float64))
    if ratios.ndim != 1 or np.any((ratios < 0) | (ratios > 1)) or not np.all(np.isfinite(ratios)):
        raise ValueError(f"l1_ratio must be in [0, 1], got {l1_ratio!r}")
    if alphas is None and np.any(ratios == 0):
        raise ValueError("l1_ratio=0 has no alpha_max: pass alphas explicitly")
    alphas = v.check_alphas(alphas, dtype, ndims=(1, 2))
    if alphas is not None and alphas.ndim == 2 and alphas.shape[0] != len(ratios):
        raise ValueError(f"alphas has {alphas.shape[0]} rows but there are {len(ratios)} l1_ratios")
    foldid = make_folds(n, cv, seed=seed) if foldid is None else _check_foldid(foldid, n)
    held_idx, held_valid = _fold_indices(foldid)
    W = _training_weights(foldid, held_idx.shape[0], sw, dtype)
    use_gram = loss == "squared" and _use_gram(gram, n, p, v.is_sparse(X))
    strategy, chunk_size = default_strategy(
        strategy, chunk_size, working_set=_working_set.suits(loss, use_gram, X)
    )
    default_check = 10 if _sequential(strategy, use_gram, mesh) else 5
    return _cv_glm(
        X,
        y,
        sw,
        W,
        jnp.asarray(held_idx),
        jnp.asarray(held_valid),
        alphas,
        jnp.asarray(ratios, dtype),
        pf,
        lo,
        hi,
        tol,
        jnp.asarray(max_iter, jnp.int32),
        loss=loss,
        scoring=scoring,
        fit_intercept=bool(fit_intercept),
        standardize=bool(standardize),
        use_gram=use_gram,
        n_alphas=int(n_alphas),
        eps=_resolve_eps(eps, n, p),
        strategy=strategy,
        chunk_size=chunk_size,
        check_every=(
            v.check_count(check_every, "check_every") if check_every is not None else default_check
        ),
        mesh=mesh,
        full_path=bool(full_path),
        strong=(("portable" if _shared_cpu_pool(mesh) else True) if use_gram and tight else False),
        null_fit=alphas is None and _problem.needs_null_fit(pf),
    )


# At or below this tolerance, cross-validation in Gram mode certifies each
# fold's strong convexity (see _problem.finish_setup): the lasso's own gap is
# linear in the error left, so a tight tolerance otherwise runs many iterations
# past the solution. At looser tolerances the fixed cost of the certification
# (a Cholesky factorization per fold) was not repaid (tall 5000 x 500 lasso CV
# at tol 1e-4: 0.18 s with it, 0.17 s without; the elastic-net CV at 5e-7:
# 0.77 s with it, 0.89 s without).
_STRONG_TOL = 1e-5


def _shared_cpu_pool(mesh) -> bool:
    """Whether ``mesh`` spans several CPU devices of this process.

    Those devices run their shares of a program on one thread pool, and
    jaxlib's batched LAPACK kernels (eigendecompositions, Cholesky) hand their
    batch to that same pool and wait for it: with every device's share inside
    such a call at once, no thread is left to do the work. A Gram-mode
    elastic-net CV at tol 1e-12, p = 40, folds over 4 forced host devices,
    hung in ``dsyevd`` this way. Such programs are compiled without LAPACK:
    the strong-convexity certification, its only use there, takes its
    portable form (see :meth:`QuadraticGram.with_strong_convexity`).
    """
    if mesh is None:
        return False
    devices = list(np.asarray(mesh.devices).flat)
    return len(devices) > 1 and all(d.platform == "cpu" for d in devices)


def _strong_pays(tol) -> bool:
    """Whether the tolerance is tight enough for the certification (True when traced)."""
    # (A relative slack: 1e-5 rounded to float32 may land just above it.)
    return not v.is_concrete(tol) or float(np.asarray(tol)) <= _STRONG_TOL * (1 + 1e-6)


def _cross_validate_ridge(
    X,
    y,
    *,
    alphas,
    cv,
    foldid,
    seed,
    scoring,
    fit_intercept,
    sample_weight,
    penalty_factor,
    standardize,
) -> CVResult:
    scoring = scoring or "mse"
    v.check_choice(scoring, "scoring", _SCORES["squared"])
    dtype, X, y, sw, pf, _, _, tol, _ = _common_inputs(
        X, y, sample_weight, penalty_factor, None, None, False, 1e-4, 1
    )
    n, p = X.shape
    if alphas is None:
        raise ValueError("model='ridge' needs alphas (ridge has no alpha_max)")
    alphas = np.sort(np.asarray(v.check_alphas(alphas, dtype)))[::-1]
    if v.is_concrete(pf) and bool(jnp.any(pf == 0)):
        raise ValueError("penalty_factor must be positive for ridge cross-validation")
    if foldid is None and cv in ("loo", "gcv"):
        mode = cv
        held_idx = held_valid = W = None
    else:
        if p > n:
            raise ValueError(
                "K-fold ridge needs n_samples >= n_features (per-fold p x p "
                "eigendecompositions); use cv='loo' for wide data"
            )
        mode = "kfold"
        foldid = make_folds(n, cv, seed=seed) if foldid is None else _check_foldid(foldid, n)
        held_idx, held_valid = _fold_indices(foldid)
        W = _training_weights(foldid, held_idx.shape[0], sw, dtype)
    return _cv_ridge(
        X,
        y,
        sw,
        W,
        None if held_idx is None else jnp.asarray(held_idx),
        None if held_valid is None else jnp.asarray(held_valid),
        jnp.asarray(alphas, dtype),
        pf,
        tol,
        fit_intercept=bool(fit_intercept),
        standardize=bool(standardize),
        scoring=scoring,
        mode=mode,
    )
