"""Ridge cross-validation in closed form.

Three algorithms, all from eigendecompositions rather than solves:

* K-fold: each training fold's Gram matrix (the full one minus the held-out
  fold's, see :func:`jaxreg._problem.setup_rows`) is eigendecomposed once,
  and every alpha is a diagonal rescaling.
* exact leave-one-out (``cv="loo"``) and generalized CV (``cv="gcv"``): one
  decomposition of the full data (a thin SVD, or for wide float64 data the
  eigendecomposition of the ``n x n`` kernel) gives every alpha's fits, and
  the leave-one-out residuals follow from the hat matrix's diagonal.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from jaxreg import _compile, _problem
from jaxreg import _validation as v
from jaxreg._engine import certified_ridge, ridge_data, solve_ridge
from jaxreg._folds import Folds, fold_scores, fold_weights, select
from jaxreg._spec import Hyper, Spec
from jaxreg.datafits import Design
from jaxreg.result import CVResult, FitResult, PathResult
from jaxreg.solvers import thin_svd


def sparse_svd(design: Design, root_w, root_f):
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


def _unit_scale(root):
    """``(k, root / k)`` with ``k`` the power of two that brings the largest
    entry of ``root`` into ``[0.5, 1)`` (exact). The penalty metric ``root``
    holds the scales of rescaled columns, up to ``2^511`` or down to
    ``2^-511``: products with it, taken in the caller's metric, overflowed."""
    k = jnp.ldexp(jnp.ones((), root.dtype), jnp.frexp(jnp.max(root))[1])
    return k, root / k


def _kfold(X, y, hyper: Hyper, folds: Folds, alphas, spec: Spec):
    """Held-out scores of K-fold ridge from per-fold Gram eigendecompositions."""
    gram_spec = dataclasses.replace(spec, use_gram=True)
    held = (folds.held_idx, folds.held_valid)
    problems, _ = _problem.setup_rows(gram_spec, hyper, X, y, folds.W, held)
    totals = jnp.sum(folds.W, axis=1)
    root = 1.0 / jnp.sqrt(_problem.penalty_weights(hyper, spec.standardize)[1])
    # The spectrum is taken on the unit scale and k cancels from beta but for
    # alpha / k^2 (see _unit_scale).
    k, unit = _unit_scale(root)

    def per_fold(problem, total):
        # sum_i s_i r_i^2 + alpha sum_j f_j w_j^2 = 2T [1/2 ||r||_s~^2 + alpha/(2T) ...]
        lam, V = jnp.linalg.eigh(problem.datafit.G * unit[:, None] * unit[None, :])
        proj = V.T @ (problem.datafit.c * unit)
        damping = alphas[:, None] / total / k / k
        beta = ((proj / (lam + damping)) @ V.T) * unit
        coef = beta / problem.x_scale
        if spec.fit_intercept:
            return coef, problem.offset - coef @ problem.x_mean
        return coef, jnp.zeros(alphas.shape, X.dtype)

    coef, intercept = jax.vmap(per_fold)(problems, totals)
    # X's columns are the caller's over col_scale.
    coef_x = coef * hyper.col_scale
    scores = fold_scores(X, y, coef_x[:, None], intercept[:, None], folds, spec.scoring)
    return scores, fold_weights(folds)


def _kernel_eigh(A, u0):
    """Eigendecomposition of the kernel ``A A'``, restricted to the complement
    of the unit vector ``u0`` when given (``A' u0 = 0``: the intercept's
    direction ``sqrt(w)`` of a weighted-centered ``A``).

    The intercept's direction is removed exactly, by a Householder reflection
    ``H`` mapping ``u0`` to ``-e1``, rather than kept in the basis and its
    share ``s_i`` subtracted from each leverage afterwards: that subtraction
    cancels where the other directions are strongly damped (a small alpha),
    and magnifies the eigenvectors' rounding into the leave-one-out errors.
    """
    K = A @ A.T
    if u0 is None:
        lam, U = jnp.linalg.eigh(K)
        return jnp.maximum(lam, 0.0), U
    n = K.shape[0]
    v = u0.at[0].add(1.0)  # u0 >= 0: no cancellation in u0 + e1
    c = 2.0 / jnp.dot(v, v)
    Kv = K @ v
    # H K H with H = I - c v v', then its block off the first row and column.
    HKH = K - c * (jnp.outer(v, Kv) + jnp.outer(Kv, v)) + c * c * jnp.dot(v, Kv) * jnp.outer(v, v)
    lam, V = jnp.linalg.eigh(HKH[1:, 1:])
    # The basis H[:, 1:] V, orthogonal to u0.
    U = jnp.concatenate([jnp.zeros((1, n - 1), V.dtype), V]) - c * jnp.outer(v, v[1:] @ V)
    return jnp.maximum(lam, 0.0), U


def _decomposition(data, alphas, root_w, root_f, fit_intercept: bool):
    """Every alpha's fit from one decomposition: ``beta`` (A, p), the
    spectrum ``lam``, the basis ``U`` and ``U' S^1/2 yc``, and whether ``U``
    is the eigenbasis of the weighted samples (the kernel route; complete, or
    with an intercept complete but for the intercept's direction)."""
    dtype = data.yc.dtype
    A = None if v.is_sparse(data.design.X) else root_w[:, None] * data.design.X / root_f
    kernel = A is not None and A.shape[0] < A.shape[1] and dtype == jnp.float64
    if kernel:
        # Wide, float64: the eigendecomposition of the n x n kernel
        # A A' = U diag(sigma^2) U', and beta = A' U diag(1 / (sigma^2
        # + alpha)) U' y, which needs no right singular vectors. The fits'
        # rounding grows with sigma_max^2 / alpha rather than with its
        # square root, which float64 can spare at the alphas in use and
        # float32 cannot; every point is certified afterwards.
        u0 = root_w / jnp.linalg.norm(root_w) if fit_intercept else None
        lam, U = _kernel_eigh(A, u0)
        uty = U.T @ (root_w * data.yc)
        beta = (((uty / (lam + alphas[:, None])) @ U.T) @ A) / root_f  # (A, p)
        return beta, lam, U, uty, True
    U, sig, Vt = sparse_svd(data.design, root_w, root_f) if A is None else thin_svd(A)
    lam, uty = sig**2, U.T @ (root_w * data.yc)
    beta = ((sig / (lam + alphas[:, None]) * uty) @ Vt) / root_f  # (A, p)
    return beta, lam, U, uty, False


def _leave_one_out(X, y, hyper: Hyper, alphas, spec: Spec, mode: str):
    """Exact leave-one-out (or generalized CV) scores from one decomposition;
    also the fits and the data they were computed on."""
    sw = hyper.sample_weight
    data = ridge_data(X, y, hyper, spec.fit_intercept, spec.standardize)
    root_w, root_f = jnp.sqrt(sw), jnp.sqrt(data.pf)
    # Decomposed on the unit scale (columns divided by root_f / k), the
    # spectrum is k^2 times the caller's and alpha takes the same factor:
    # every ratio below is unchanged.
    k, root_f = _unit_scale(root_f)
    alphas = alphas * k * k
    beta, lam, U, uty, kernel = _decomposition(data, alphas, root_w, root_f, spec.fit_intercept)

    def direct():
        return data.yc[None, :] - data.design.matmat(beta.T).T  # (A, n)

    # 1 - h_ii, one minus the hat-matrix diagonal of the weighted problem
    # (the unpenalized intercept's share s_i included).
    if kernel:
        # In a complete eigenbasis, 1 - h_ii and the weighted residual
        # (I - H) S^1/2 y are sums of terms damped by alpha / (sigma^2 +
        # alpha), with no cancellation; formed as 1 - h_ii and y - X beta,
        # both cancel where the fit nearly interpolates (a leverage near
        # one), which magnifies the kernel's rounding.
        kept = alphas[:, None] / (lam + alphas[:, None])
        free = kept @ (U * U).T
        # Dividing by sqrt(w_i) would magnify the basis's rounding for a
        # sample of tiny weight; samples below 1e-6 of the largest weight
        # (zero weights included, which have no share in the basis) take
        # their residuals from the fits (a product with the design, skipped
        # when every sample is above that).
        weighted = root_w > 1e-3 * jnp.max(root_w)
        resid = ((kept * uty) @ U.T) / jnp.where(weighted, root_w, 1.0)
        resid = jax.lax.cond(
            jnp.all(weighted), lambda: resid, lambda: jnp.where(weighted, resid, direct())
        )
    else:
        resid = direct()
        free = 1.0 - (lam / (lam + alphas[:, None])) @ (U * U).T
    if spec.fit_intercept and not kernel:
        free = free - data.s[None, :]
    if mode == "loo":
        errors = resid / free
    else:  # generalized CV: the average leverage in place of each one
        df = jnp.sum(lam / (lam + alphas[:, None]), axis=1) + (1.0 if spec.fit_intercept else 0.0)
        errors = resid / (1.0 - df / jnp.sum(sw > 0))[:, None]
    per_sample = errors**2 if spec.scoring == "mse" else jnp.abs(errors)
    scores = per_sample.T[:, None, :]  # (n, 1, A): leave-one-out has n folds
    return scores, sw, (data, beta)


def _full_fits(X, y, hyper: Hyper, alphas, spec: Spec, decomposed) -> FitResult:
    """The full data's fits along the grid, certified at each alpha: from the
    decomposition the scores came from where there is one (dense
    leave-one-out), else by the closed form."""
    if decomposed is None:
        solver = "cholesky" if v.is_sparse(X) else "svd"
        route = dataclasses.replace(spec, ridge_solver=solver)
        return jax.vmap(lambda a: solve_ridge(X, y, hyper.replace(alpha=a), spec=route))(alphas)
    data, beta = decomposed
    return jax.vmap(lambda b, a: certified_ridge(data, a, b, hyper.tol, spec.fit_intercept))(
        beta, alphas
    )


@_compile.jit(static_argnames=("spec", "mode"))
def cv_ridge(X, y, hyper: Hyper, folds: Folds | None, alphas, *, spec: Spec, mode: str):
    """Ridge cross-validation (``mode``: ``"kfold"``, ``"loo"`` or ``"gcv"``)
    with the selection rules and the full data's path."""
    dtype = X.dtype
    decomposed = None
    if mode == "kfold":
        scores, weights = _kfold(X, y, hyper, folds, alphas, spec)
    else:
        scores, weights, decomposed = _leave_one_out(X, y, hyper, alphas, spec, mode)
        if v.is_sparse(X):
            decomposed = None
    mean, se, li, ai, i1se = select(scores, weights, alphas[None, :], spec.scoring)
    fits = _full_fits(X, y, hyper, alphas, spec, decomposed)
    path = PathResult.from_fits(alphas, fits)
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
        best=jax.tree.map(lambda a: a[ai], fits),
        best_1se=jax.tree.map(lambda a: a[i1se], fits),
        path=jax.tree.map(lambda a: a[None], path),
        fold_status=jnp.broadcast_to(fits.status, (scores.shape[0],) + fits.status.shape)[:, None],
        scoring=spec.scoring,
    )
