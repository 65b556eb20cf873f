"""Gradient-based hyperparameter tuning through implicit differentiation."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import Array
from jax.typing import ArrayLike

from jaxreg import _compile, _problem
from jaxreg import _validation as v
from jaxreg.cv import _check_foldid, make_folds
from jaxreg.models import (
    _alpha_max,
    _common_inputs,
    _solve_glm,
    _solve_ridge,
    _unrolled_blocks,
    _use_gram,
)
from jaxreg.result import FitResult

__all__ = ["TuneResult", "tune"]

_PARAMS = ("alpha", "l1_ratio", "penalty_factor")


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class TuneResult:
    """The outcome of :func:`tune`: the best point visited and the trajectory.

    Attributes:
      alpha: the best alpha visited (lowest validation loss).
      l1_ratio: the l1_ratio at that point.
      penalty_factor: the penalty factors at that point, shape ``(p,)``
        (rescaled to sum to ``p``, the convention of the fits).
      loss: the validation loss there.
      fit: the model refit on all the training data at that point.
      alphas: alpha at each step, shape ``(n_steps,)``.
      l1_ratios: l1_ratio at each step, shape ``(n_steps,)``.
      losses: validation loss at each step, shape ``(n_steps,)``.
      grad_log_alpha: derivative of the loss in ``log(alpha)`` at each step.
      best_step: index of the best step.
      n_solves: solves of the training problem(s): one per step (every fold
        solved in the same batched call), plus the final refit.
    """

    alpha: Array
    l1_ratio: Array
    penalty_factor: Array
    loss: Array
    fit: FitResult
    alphas: Array
    l1_ratios: Array
    losses: Array
    grad_log_alpha: Array
    best_step: int = dataclasses.field(metadata=dict(static=True), default=0)
    n_solves: int = dataclasses.field(metadata=dict(static=True), default=0)


def _score(loss: str, X, y, w, coef, intercept):
    """Weighted mean squared error, or binomial deviance, of a fit on ``(X, y, w)``."""
    eta = X @ coef + intercept
    if loss == "squared":
        err = (y - eta) ** 2
    else:
        err = 2.0 * (jax.nn.softplus(eta) - y * eta)
    return jnp.dot(w, err) / jnp.sum(w)


def _decode(u, fixed):
    """``(alpha, l1_ratio, penalty_factor)`` from the unconstrained parameters."""
    alpha = jnp.exp(u["log_alpha"])
    l1_ratio = jax.nn.sigmoid(u["logit_l1_ratio"]) if "logit_l1_ratio" in u else fixed["l1_ratio"]
    pf = jnp.exp(u["log_pf"]) if "log_pf" in u else fixed["penalty_factor"]
    return alpha, l1_ratio, pf


def _fit(
    X,
    y,
    alpha,
    l1_ratio,
    sw,
    pf,
    lower,
    upper,
    tol,
    max_iter,
    *,
    model,
    fit_intercept,
    standardize,
    use_gram,
    unrolled_blocks,
) -> FitResult:
    """One training fit of ``model`` (traced; differentiable)."""
    if model == "ridge":
        return _solve_ridge(
            X,
            y,
            alpha,
            sw,
            pf,
            tol,
            fit_intercept=fit_intercept,
            standardize=standardize,
            solver="cholesky" if X.shape[0] >= X.shape[1] else "dual",
        )
    return _solve_glm(
        X,
        y,
        alpha,
        l1_ratio,
        sw,
        pf,
        lower,
        upper,
        tol,
        max_iter,
        loss="logistic" if model == "logistic" else "squared",
        fit_intercept=fit_intercept,
        standardize=standardize,
        use_gram=use_gram,
        accelerate=True,
        check_every=10,
        unrolled_blocks=unrolled_blocks,
    )


def _validation_loss(
    u,
    fixed,
    X,
    y,
    train_w,
    X_val,
    y_val,
    val_w,
    lower,
    upper,
    tol,
    max_iter,
    *,
    model,
    fit_intercept,
    standardize,
    use_gram,
    unrolled_blocks,
):
    """Loss on the validation rows of every split, averaged with the splits' weights."""
    alpha, l1_ratio, pf = _decode(u, fixed)
    loss = "logistic" if model == "logistic" else "squared"
    statics = dict(
        model=model,
        fit_intercept=fit_intercept,
        standardize=standardize,
        use_gram=use_gram,
        unrolled_blocks=unrolled_blocks,
    )

    def one(sw, vw):
        fit = _fit(X, y, alpha, l1_ratio, sw, pf, lower, upper, tol, max_iter, **statics)
        return _score(loss, X_val, y_val, vw, fit.coef, fit.intercept), jnp.sum(vw)

    scores, weights = jax.vmap(one)(train_w, val_w)
    return jnp.dot(weights, scores) / jnp.sum(weights)


_value_and_grad = _compile.jit(
    jax.value_and_grad(_validation_loss),
    static_argnames=("model", "fit_intercept", "standardize", "use_gram", "unrolled_blocks"),
)


def tune(
    X: ArrayLike,
    y: ArrayLike,
    model: Literal["lasso", "elastic_net", "logistic", "ridge"] = "lasso",
    *,
    params: str | Sequence[str] = ("alpha",),
    X_val: ArrayLike | None = None,
    y_val: ArrayLike | None = None,
    sample_weight_val: ArrayLike | None = None,
    cv: int = 5,
    foldid: ArrayLike | None = None,
    seed: int | None = 0,
    alpha: float | None = None,
    l1_ratio: float | None = None,
    penalty_factor: ArrayLike | None = None,
    fit_intercept: bool = True,
    sample_weight: ArrayLike | None = None,
    positive: bool = False,
    lower: ArrayLike | None = None,
    upper: ArrayLike | None = None,
    standardize: bool = False,
    optimizer: optax.GradientTransformation | None = None,
    n_steps: int = 20,
    tol: float = 1e-6,
    max_iter: int = 20_000,
    diff: Literal["implicit", "unrolled"] = "implicit",
    gram: Literal["auto"] | bool = "auto",
) -> TuneResult:
    r"""Tune hyperparameters by gradient descent on a validation loss.

    Minimizes over ``log(alpha)`` (and, per ``params``, ``logit(l1_ratio)``
    and ``log(penalty_factor)``, one factor per feature: a weighted Lasso)

    .. math:: V(\alpha, \rho, f) = \frac{1}{\sum_k m_k}
              \sum_k m_k\, \mathrm{loss}_k\big(w^*_k(\alpha, \rho, f)\big),

    where ``w*_k`` solves the training problem of split ``k`` (the objective of
    :func:`~jaxreg.elastic_net`, :func:`~jaxreg.logistic` or
    :func:`~jaxreg.ridge`), ``loss_k`` is the weighted mean squared error
    (regression) or binomial deviance (logistic) on that split's validation
    rows, and ``m_k`` their total weight: K-fold cross-validation (the curves
    of :func:`~jaxreg.cross_validate`) or one held-out set (``X_val``,
    ``y_val``). Gradients come from implicit differentiation of each
    training solution (``diff``), all folds in one batched call.

    Each step evaluates ``V`` and its gradient (one solve per fold) and
    applies ``optimizer``; the best point visited is returned, refit on all
    the training data.

    Args:
      X: training design matrix, shape ``(n, p)``.
      y: training targets, shape ``(n,)`` (in {0, 1} for ``model="logistic"``).
      model: ``"lasso"``, ``"elastic_net"``, ``"logistic"`` or ``"ridge"``.
      params: what to tune: ``"alpha"`` always, plus ``"l1_ratio"`` (elastic
        net and logistic) and/or ``"penalty_factor"`` (not ridge's closed form
        with ``p > n``).
      X_val: design matrix of a held-out validation set; without it, K-fold
        cross-validation on ``(X, y)``.
      y_val: targets of the held-out validation set.
      sample_weight_val: sample weights of the held-out validation set.
      cv: number of folds (as in :func:`~jaxreg.cross_validate`).
      foldid: fold id of each row (as in :func:`~jaxreg.cross_validate`).
      seed: shuffling seed of the folds (as in :func:`~jaxreg.cross_validate`).
      alpha: starting alpha. Default: ``alpha_max / 30`` (about the geometric
        middle of the default grid, in log scale), or, for ridge, the mean
        eigenvalue of ``X' S X`` (a penalty comparable to the data's scale).
      l1_ratio: starting (or fixed) l1_ratio (default 0.5 when it is tuned or
        for the elastic net, else 1).
      penalty_factor: starting (or fixed) penalty factors (default ones).
      fit_intercept: fit an unpenalized intercept.
      sample_weight: nonnegative per-sample weights of ``(X, y)``.
      positive: constrain the coefficients to be nonnegative.
      lower: lower bounds on the coefficients, a scalar or shape ``(p,)``.
      upper: upper bounds on the coefficients, a scalar or shape ``(p,)``.
      standardize: fit on standardized columns, as in the single-fit functions.
      tol: stopping tolerance of each solve, as in the single-fit functions;
        defaults to 1e-6: gradients are only as accurate as the solutions.
      max_iter: maximum number of proximal-gradient iterations per solve.
      diff: ``"implicit"`` or ``"unrolled"``, as in :func:`~jaxreg.lasso`.
      gram: ``"auto"``, ``True`` or ``False``, as in :func:`~jaxreg.lasso`.
      optimizer: an optax transformation for the (unconstrained) parameters;
        default ``optax.adam(0.5)``, whose first steps move log(alpha) by
        about 0.5 whatever the scale of the loss.
      n_steps: loss-and-gradient evaluations (each one solve per fold).

    Returns:
      A :class:`TuneResult`.

    Example:
      >>> import numpy as np, jaxreg
      >>> rng = np.random.default_rng(0)
      >>> X = rng.standard_normal((200, 10))
      >>> y = X[:, 0] - X[:, 1] + rng.standard_normal(200)
      >>> res = jaxreg.tune(X, y, n_steps=10)
      >>> bool(res.losses[res.best_step] <= res.losses[0]), res.n_solves
      (True, 11)
    """
    v.check_choice(model, "model", ("lasso", "elastic_net", "logistic", "ridge"))
    params = (params,) if isinstance(params, str) else tuple(params)
    for name in params:
        v.check_choice(name, "params", _PARAMS)
    if "alpha" not in params:
        raise ValueError(f"params must include 'alpha', got {params!r}")
    if "l1_ratio" in params and model in ("lasso", "ridge"):
        raise ValueError(f"params: model={model!r} has no l1_ratio to tune")
    if not isinstance(n_steps, (int, np.integer)) or n_steps < 1:
        raise ValueError(f"n_steps must be a positive integer, got {n_steps!r}")
    v.check_choice(diff, "diff", ("implicit", "unrolled"))
    loss = "logistic" if model == "logistic" else "squared"
    dtype, X, y, sw, pf, lo, hi, tol, max_iter = _common_inputs(
        X, y, sample_weight, penalty_factor, lower, upper, positive, tol, max_iter
    )
    n, p = X.shape
    if loss == "logistic":
        v.check_binary(y, sample_weight)
    if model == "ridge" and (positive or lower is not None or upper is not None):
        raise ValueError("model='ridge' tunes the closed form: bounds are not supported")
    if model == "ridge" and "penalty_factor" in params and n < p:
        raise ValueError("params: penalty factors of ridge need n >= p (Cholesky route)")
    if l1_ratio is None:
        l1_ratio = 0.5 if (model == "elastic_net" or "l1_ratio" in params) else 1.0
    if model == "lasso" and l1_ratio != 1.0:
        raise ValueError("model='lasso' has l1_ratio=1; use model='elastic_net'")
    l1_ratio = v.check_scalar(l1_ratio, "l1_ratio", dtype, low=0.0, high=1.0)
    if "l1_ratio" in params and not 0.0 < float(l1_ratio) < 1.0:
        raise ValueError(f"l1_ratio must be strictly inside (0, 1) to tune it, got {l1_ratio}")
    if "penalty_factor" in params and bool(jnp.any(pf <= 0)):
        raise ValueError("penalty_factor must be positive to tune it (it is tuned in log scale)")

    # Splits: training weights and validation weights (and rows).
    if (X_val is None) != (y_val is None):
        raise ValueError("X_val and y_val must be given together")
    if X_val is not None:
        X_val, y_val = v.check_Xy(X_val, y_val, dtype)
        if X_val.shape[1] != p:
            raise ValueError(f"X_val must have {p} columns, got {X_val.shape[1]}")
        if loss == "logistic":
            v.check_binary(y_val, sample_weight_val)
        val_w = v.check_sample_weight(sample_weight_val, X_val.shape[0], dtype)[None]
        train_w = sw[None]
    else:
        if sample_weight_val is not None:
            raise ValueError("sample_weight_val needs X_val and y_val")
        folds = make_folds(n, cv, seed=seed) if foldid is None else _check_foldid(foldid, n)
        K = int(folds.max()) + 1
        held = folds[None, :] == np.arange(K)[:, None]
        train_w = jnp.asarray(~held, dtype) * sw[None]
        val_w = jnp.asarray(held, dtype) * sw[None]
        if np.any(np.asarray(train_w.sum(axis=1)) <= 0):
            raise ValueError("every training fold needs a positive total sample_weight")
        X_val, y_val = X, y

    if alpha is None:
        if model == "ridge":
            s = sw / jnp.sum(sw)
            Xc = X - s @ X if fit_intercept else X
            alpha = jnp.sum(s @ (Xc * Xc)) / p * jnp.sum(sw)
        else:
            top = _alpha_max(
                X,
                y,
                l1_ratio,
                sw,
                pf,
                lo,
                hi,
                jnp.asarray(1e-10, dtype),
                jnp.asarray(max_iter, jnp.int32),
                loss=loss,
                fit_intercept=bool(fit_intercept),
                standardize=bool(standardize),
                null_fit=_problem.needs_null_fit(pf),
            )
            alpha = top / 30.0
        if not bool(jnp.isfinite(alpha)) or float(alpha) <= 0:
            raise ValueError("could not derive a starting alpha from the data; pass alpha")
    alpha = v.check_scalar(alpha, "alpha", dtype, low=0.0, low_open=True)

    u = {"log_alpha": jnp.log(alpha)}
    if "l1_ratio" in params:
        u["logit_l1_ratio"] = jnp.log(l1_ratio) - jnp.log1p(-l1_ratio)
    if "penalty_factor" in params:
        u["log_pf"] = jnp.log(pf)
    fixed = {"l1_ratio": l1_ratio, "penalty_factor": pf}
    optimizer = optax.adam(0.5) if optimizer is None else optimizer
    if not isinstance(optimizer, optax.GradientTransformation):
        raise ValueError("optimizer must be an optax.GradientTransformation")
    statics = dict(
        model=model,
        fit_intercept=bool(fit_intercept),
        standardize=bool(standardize),
        use_gram=loss == "squared" and _use_gram(gram, n, p, v.is_sparse(X)),
        unrolled_blocks=_unrolled_blocks(diff, max_iter, 10),
    )
    data = (X, y, train_w, X_val, y_val, val_w, lo, hi, tol, jnp.asarray(max_iter, jnp.int32))

    state = optimizer.init(u)
    history = []
    for _ in range(int(n_steps)):
        value, grad = _value_and_grad(u, fixed, *data, **statics)
        history.append((u, value, grad))
        updates, state = optimizer.update(grad, state, u)
        u = optax.apply_updates(u, updates)

    losses = jnp.stack([h[1] for h in history])
    best = int(jnp.nanargmin(losses))
    if not bool(jnp.isfinite(losses[best])):
        raise FloatingPointError("the validation loss was not finite at any step")
    u_best = history[best][0]

    def point(u):
        a, r, f = _decode(u, fixed)
        return a, jnp.asarray(r, dtype), f * (p / jnp.sum(f))

    a_best, r_best, f_best = point(u_best)
    fit = _fit(X, y, a_best, r_best, sw, f_best, lo, hi, *data[-2:], **statics)
    points = [point(h[0]) for h in history]
    return TuneResult(
        alpha=a_best,
        l1_ratio=r_best,
        penalty_factor=f_best,
        loss=losses[best],
        fit=fit,
        alphas=jnp.stack([pt[0] for pt in points]),
        l1_ratios=jnp.stack([pt[1] for pt in points]),
        losses=losses,
        grad_log_alpha=jnp.stack([h[2]["log_alpha"] for h in history]),
        best_step=best,
        n_solves=int(n_steps) + 1,
    )
