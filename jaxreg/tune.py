"""Gradient-based hyperparameter tuning through implicit differentiation."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array
from jax.typing import ArrayLike

from jaxreg import _compile, _engine, _problem
from jaxreg import _validation as v
from jaxreg._folds import folds_of
from jaxreg._spec import Hyper, Spec, make_hyper
from jaxreg.datafits import Logistic, Quadratic
from jaxreg.result import FitResult

if TYPE_CHECKING:
    import optax

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


# The datafit behind each model name (ridge: the squared loss, in closed form).
_MODELS = {"lasso": Quadratic, "elastic_net": Quadratic, "logistic": Logistic, "ridge": Quadratic}


class _Splits(NamedTuple):
    """The training data with one row of training weights per split, and the
    validation rows with one row of validation weights per split."""

    X: Array
    y: Array
    train_w: Array
    X_val: Array
    y_val: Array
    val_w: Array


def _score(datafit, X, y, w, coef, intercept):
    """Weighted mean deviance of a fit on ``(X, y, w)``: twice the datafit's
    pointwise loss (the squared error, or the binomial deviance)."""
    eta = X @ coef + intercept
    return 2.0 * jnp.dot(w, datafit.pointwise(eta, y)) / jnp.sum(w)


def _decode(u, fixed):
    """``(alpha, l1_ratio, penalty_factor)`` from the unconstrained parameters."""
    alpha = jnp.exp(u["log_alpha"])
    l1_ratio = jax.nn.sigmoid(u["logit_l1_ratio"]) if "logit_l1_ratio" in u else fixed["l1_ratio"]
    pf = jnp.exp(u["log_pf"]) if "log_pf" in u else fixed["penalty_factor"]
    return alpha, l1_ratio, pf


def _fit(X, y, hyper: Hyper, spec: Spec, ridge: bool) -> FitResult:
    """One training fit (traced; differentiable)."""
    if ridge:
        return _engine.solve_ridge(X, y, hyper, spec=spec)
    return _engine.solve_glm(X, y, hyper, spec=spec)


def _validation_loss(u, fixed, splits: _Splits, hyper: Hyper, *, spec: Spec, ridge: bool):
    """Loss on the validation rows of every split, averaged with the splits' weights."""
    alpha, l1_ratio, pf = _decode(u, fixed)
    hyper = hyper.replace(alpha=alpha, l1_ratio=l1_ratio, penalty_factor=pf)

    def one(sw, vw):
        fit = _fit(splits.X, splits.y, hyper.replace(sample_weight=sw), spec, ridge)
        score = _score(spec.datafit, splits.X_val, splits.y_val, vw, fit.coef, fit.intercept)
        return score, jnp.sum(vw)

    scores, weights = jax.vmap(one)(splits.train_w, splits.val_w)
    return jnp.dot(weights, scores) / jnp.sum(weights)


_value_and_grad = _compile.jit(
    jax.value_and_grad(_validation_loss), static_argnames=("spec", "ridge")
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
    v.check_choice(model, "model", tuple(_MODELS))
    params = _check_params(model, params, n_steps)
    options = locals()
    datafit = _MODELS[model]
    # Held-out splits of X are scored with the fits' coefficients directly,
    # so X is kept on the caller's scale.
    inputs = _engine.checked_inputs(datafit, X, y, options, rescale=False)
    dtype, X, y = inputs.dtype, inputs.X, inputs.y
    n, p = X.shape
    ridge = model == "ridge"
    if ridge and (positive or lower is not None or upper is not None):
        raise ValueError("model='ridge' tunes the closed form: bounds are not supported")
    if ridge and "penalty_factor" in params and n < p:
        raise ValueError("params: penalty factors of ridge need n >= p (Cholesky route)")
    l1_ratio = _start_l1_ratio(model, params, l1_ratio, dtype)
    pf = inputs.penalty_factor
    if "penalty_factor" in params and bool(jnp.any(pf <= 0)):
        raise ValueError("penalty_factor must be positive to tune it (it is tuned in log scale)")
    # On the device once: every descent step reads them.
    splits = jax.device_put(_splits(datafit, inputs, options))
    spec = _engine.glm_spec(datafit, inputs, {**options, "check_every": 10})
    if ridge:
        spec = dataclasses.replace(spec, ridge_solver="cholesky" if n >= p else "dual")
    hyper = make_hyper(inputs, l1_ratio=l1_ratio)
    alpha = _start_alpha(alpha, inputs, hyper, spec, ridge)

    u = {"log_alpha": jnp.log(alpha)}
    if "l1_ratio" in params:
        u["logit_l1_ratio"] = jnp.log(l1_ratio) - jnp.log1p(-l1_ratio)
    if "penalty_factor" in params:
        u["log_pf"] = jnp.log(pf)
    fixed = {"l1_ratio": l1_ratio, "penalty_factor": pf}
    import optax  # noqa: PLC0415 (loaded on first use: importing jaxreg does not need it)

    optimizer = optax.adam(0.5) if optimizer is None else optimizer
    if not isinstance(optimizer, optax.GradientTransformation):
        raise ValueError("optimizer must be an optax.GradientTransformation")
    history = _descend(u, fixed, splits, hyper, spec, ridge, optimizer, int(n_steps))
    return _result(history, fixed, inputs, hyper, spec, ridge)


def _check_params(model: str, params, n_steps) -> tuple[str, ...]:
    """The validated tuple of tuned parameters (and the step count)."""
    params = (params,) if isinstance(params, str) else tuple(params)
    for name in params:
        v.check_choice(name, "params", _PARAMS)
    if "alpha" not in params:
        raise ValueError(f"params must include 'alpha', got {params!r}")
    if "l1_ratio" in params and model in ("lasso", "ridge"):
        raise ValueError(f"params: model={model!r} has no l1_ratio to tune")
    if not isinstance(n_steps, (int, np.integer)) or n_steps < 1:
        raise ValueError(f"n_steps must be a positive integer, got {n_steps!r}")
    return params


def _start_l1_ratio(model: str, params, l1_ratio, dtype):
    """The starting (or fixed) l1_ratio, validated."""
    if l1_ratio is None:
        l1_ratio = 0.5 if (model == "elastic_net" or "l1_ratio" in params) else 1.0
    if model == "lasso" and l1_ratio != 1.0:
        raise ValueError("model='lasso' has l1_ratio=1; use model='elastic_net'")
    l1_ratio = v.check_scalar(l1_ratio, "l1_ratio", dtype, low=0.0, high=1.0)
    if "l1_ratio" in params and not 0.0 < float(l1_ratio) < 1.0:
        raise ValueError(f"l1_ratio must be strictly inside (0, 1) to tune it, got {l1_ratio}")
    return l1_ratio


def _splits(datafit, inputs: v.Inputs, options: dict) -> _Splits:
    """Training and validation weights: one held-out set, or K folds of ``(X, y)``."""
    X_val, y_val, sw_val = options["X_val"], options["y_val"], options["sample_weight_val"]
    dtype, X, y, sw = inputs.dtype, inputs.X, inputs.y, inputs.sample_weight
    n, p = X.shape
    if (X_val is None) != (y_val is None):
        raise ValueError("X_val and y_val must be given together")
    if X_val is not None:
        X_val, y_val = v.check_Xy(X_val, y_val, dtype)
        if X_val.shape[1] != p:
            raise ValueError(f"X_val must have {p} columns, got {X_val.shape[1]}")
        datafit.check_targets(y_val, sw_val)
        val_w = v.check_sample_weight(sw_val, X_val.shape[0], dtype)[None]
        return _Splits(X, y, sw[None], X_val, y_val, val_w)
    if sw_val is not None:
        raise ValueError("sample_weight_val needs X_val and y_val")
    folds = folds_of(n, options["cv"], options["foldid"], options["seed"], sw, dtype)
    K = folds.held_idx.shape[0]
    held = (
        jnp.zeros((K, n), dtype)
        .at[jnp.arange(K)[:, None], folds.held_idx]
        .add(folds.held_valid.astype(dtype))
    )
    return _Splits(X, y, folds.W[:K], X, y, held * sw[None])


def _start_alpha(alpha, inputs: v.Inputs, hyper: Hyper, spec: Spec, ridge: bool):
    """The starting alpha: the user's, else ``alpha_max / 30`` (ridge: the
    mean eigenvalue of ``X' S X``)."""
    if alpha is None:
        X, sw = inputs.X, inputs.sample_weight
        if ridge:
            s = sw / jnp.sum(sw)
            Xc = X - s @ X if spec.fit_intercept else X
            alpha = jnp.sum(s @ (Xc * Xc)) / X.shape[1] * jnp.sum(sw)
        else:
            null_fit = _problem.needs_null_fit(inputs.penalty_factor)
            spec_max = dataclasses.replace(spec, null_fit=null_fit, unrolled_blocks=None)
            hyper_max = hyper.replace(tol=jnp.asarray(1e-10, inputs.dtype))
            alpha = _engine.alpha_max(X, inputs.y, hyper_max, spec=spec_max) / 30.0
        if not bool(jnp.isfinite(alpha)) or float(alpha) <= 0:
            raise ValueError("could not derive a starting alpha from the data; pass alpha")
    return v.check_scalar(alpha, "alpha", inputs.dtype, low=0.0, low_open=True)


def _descend(u, fixed, splits, hyper, spec, ridge, optimizer, n_steps):
    """``n_steps`` optimizer steps; the visited points, losses and gradients."""
    import optax  # noqa: PLC0415 (see tune)

    state = optimizer.init(u)
    history = []
    for _ in range(n_steps):
        value, grad = _value_and_grad(u, fixed, splits, hyper, spec=spec, ridge=ridge)
        history.append((u, value, grad))
        updates, state = optimizer.update(grad, state, u)
        u = optax.apply_updates(u, updates)
    return history


def _result(history, fixed, inputs: v.Inputs, hyper: Hyper, spec: Spec, ridge: bool):
    """The best point visited, refit on all the training data, and the trajectory."""
    dtype, p = inputs.dtype, inputs.X.shape[1]
    losses = jnp.stack([h[1] for h in history])
    best = int(jnp.nanargmin(losses))
    if not bool(jnp.isfinite(losses[best])):
        raise FloatingPointError("the validation loss was not finite at any step")

    def point(u):
        a, r, f = _decode(u, fixed)
        return a, jnp.asarray(r, dtype), f * (p / jnp.sum(f))

    a_best, r_best, f_best = point(history[best][0])
    fit_hyper = hyper.replace(alpha=a_best, l1_ratio=r_best, penalty_factor=f_best)
    fit = _fit(inputs.X, inputs.y, fit_hyper, spec, ridge)
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
        n_solves=len(history) + 1,
    )
