"""Cross-validation: folds x l1_ratios x alphas in one compiled call.

Folds are sample-weight rows over one shared ``X`` (:mod:`jaxreg._folds`);
nothing is copied per fold. Every fold's problem comes from the same setup as
a single fit (:func:`jaxreg._problem.setup_rows`): in Gram mode each training
fold's Gram matrix is the full one minus the held-out fold's, in design mode
the per-fold centering and scaling stay implicit in the linear operator. The
full data set rides along as one more row, so the path on all the data, its
nonzero counts and the refit at the chosen point come out of the same call.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from jaxreg import _buckets, _crossval
from jaxreg import _validation as v
from jaxreg._engine import checked_inputs, grouped_features, n_classes_of
from jaxreg._folds import check_fold_classes, folds_of, make_folds
from jaxreg._ridge_cv import cv_ridge
from jaxreg._spec import Spec, make_hyper
from jaxreg.datafits import Logistic, Multinomial, Quadratic, multinomial_of
from jaxreg.path import path_spec, resolve_eps
from jaxreg.result import CVResult

__all__ = ["CVResult", "cross_validate", "make_folds"]

# The datafit behind each model name.
_MODELS = {
    "lasso": Quadratic,
    "elastic_net": Quadratic,
    "logistic": Logistic,
    "multinomial": Multinomial,
}
# The scores each datafit can be cross-validated with (the first is the default).
_SCORES = {
    Quadratic: ("mse", "mae"),
    Logistic: ("deviance", "misclassification", "auc"),
    Multinomial: ("deviance", "misclassification", "log_loss"),
}


def _scores_of(datafit) -> tuple[str, ...]:
    """The scores of a datafit class (a multinomial one of any class count)."""
    return next(scores for base, scores in _SCORES.items() if issubclass(datafit, base))


# At or below this tolerance, cross-validation in Gram mode certifies each
# fold's strong convexity (see :meth:`QuadraticGram.with_strong_convexity`):
# the lasso's own gap is linear in the error left, so a tight tolerance
# otherwise runs many iterations past the solution. At looser tolerances the
# fixed cost of the certification (a Cholesky factorization per fold) is not
# repaid (``docs/benchmarks.md``).
_STRONG_TOL = 1e-5


def cross_validate(
    X: ArrayLike,
    y: ArrayLike,
    model: Literal["lasso", "elastic_net", "logistic", "multinomial", "ridge"] = "lasso",
    *,
    l1_ratio: float | Sequence[float] | None = None,
    grouped: bool = False,
    n_classes: int | None = None,
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
    groups: ArrayLike | None = None,
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
      model: ``"lasso"``, ``"elastic_net"``, ``"logistic"``, ``"multinomial"``
        (see :func:`~jaxreg.multinomial`; ``y`` holds labels ``0..K-1`` and the
        results' coefficients are ``(..., p, K)``) or ``"ridge"``. Ridge
        uses scikit-learn's ``Ridge`` objective and closed forms: per-fold
        eigendecompositions for K folds (``n >= p``), or ``cv="loo"``: exact
        leave-one-out from one decomposition of the data, scikit-learn
        ``RidgeCV``'s default (it calls it GCV), or ``cv="gcv"``: generalized
        CV. ``alphas`` is then required and is sorted in decreasing order;
        bounds and l1_ratio do not apply. Leave-one-out standardizes (and
        centers) once on all the data.
      l1_ratio: one value or a sequence (default 1 for lasso, logistic and
        multinomial, 0.5 for elastic net).
      grouped: multinomial only: the grouped penalty (a feature's class
        coefficients in or out together).
      n_classes: multinomial only: ``K`` (default ``max(y) + 1``).
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
        (default), ``"misclassification"`` or ``"auc"`` for logistic;
        ``"deviance"`` (default, twice the mean log-loss, glmnet's),
        ``"misclassification"`` or ``"log_loss"`` for multinomial.
      fit_intercept: fit an unpenalized intercept, as in the single-fit functions.
      sample_weight: nonnegative per-sample weights, shape ``(n,)``; they enter
        both the fits and the held-out scores.
      penalty_factor: per-feature multipliers of the penalty, as in
        :func:`~jaxreg.lasso`.
      positive: constrain the coefficients to be nonnegative.
      lower: lower bounds on the coefficients, a scalar or shape ``(p,)``.
      upper: upper bounds on the coefficients, a scalar or shape ``(p,)``.
      groups: one integer label per feature for the group penalty, as in
        :func:`~jaxreg.lasso` (not for ridge).
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
    v.check_choice(model, "model", ("lasso", "elastic_net", "logistic", "multinomial", "ridge"))
    if not isinstance(full_path, bool | np.bool_):
        raise TypeError(f"full_path must be True or False, got {full_path!r}")
    options = locals()
    if model == "ridge" and groups is not None:
        raise ValueError("groups does not apply to model='ridge' (use model='elastic_net')")
    if model == "ridge":
        res = _cross_validate_ridge(X, y, options)
        # The closed forms cost nothing more for the path: only the result differs.
        return res if full_path else dataclasses.replace(res, path=None, n_nonzero=None)
    datafit = _MODELS[model]
    if issubclass(datafit, Multinomial):  # one class per class count
        options["groups"] = _multinomial_groups(X, grouped, groups)
        datafit = multinomial_of(n_classes_of(y, n_classes))
    elif grouped or n_classes is not None:
        raise ValueError("grouped and n_classes apply to model='multinomial' only")
    return _cross_validate_glm(datafit, X, y, options)


def _multinomial_groups(X, grouped, groups):
    """A multinomial model's penalty groups: ``grouped`` (each feature over
    its classes) or the caller's ``groups``, not both."""
    if grouped and groups is not None:
        raise ValueError("pass grouped=True or groups, not both")
    return grouped_features(X, grouped) if groups is None else groups


def _l1_ratios(model: str, l1_ratio, alphas) -> np.ndarray:
    """The validated l1_ratios of a GLM cross-validation."""
    if l1_ratio is None:
        l1_ratio = 0.5 if model == "elastic_net" else 1.0
    if model == "lasso" and np.any(np.asarray(l1_ratio) != 1.0):
        raise ValueError("model='lasso' has l1_ratio=1; use model='elastic_net'")
    ratios = np.atleast_1d(np.asarray(l1_ratio, dtype=np.float64))
    if ratios.ndim != 1 or np.any((ratios < 0) | (ratios > 1)) or not np.all(np.isfinite(ratios)):
        raise ValueError(f"l1_ratio must be in [0, 1], got {l1_ratio!r}")
    if alphas is None and np.any(ratios == 0):
        raise ValueError("l1_ratio=0 has no alpha_max: pass alphas explicitly")
    return ratios


def _cv_spec(datafit, inputs: v.Inputs, options: dict, alphas) -> Spec:
    """The static spec of a GLM cross-validation."""
    scoring = options["scoring"] or _scores_of(datafit)[0]
    v.check_choice(scoring, "scoring", _scores_of(datafit))
    mesh = options["mesh"]
    spec = path_spec(datafit, inputs, {**options, "check_every": 10}, alphas)
    spec = dataclasses.replace(
        spec, scoring=scoring, mesh=mesh, full_path=bool(options["full_path"])
    )
    if mesh is not None and options["strategy"] == "auto" and spec.strategy == "working_set":
        # Working sets run the folds one after another: a mesh spreads a batch.
        spec = dataclasses.replace(spec, strategy="warm")
    # Batched fold paths share each check: checking often costs little there.
    check_every = options["check_every"]
    check_every = (
        v.check_count(check_every, "check_every")
        if check_every is not None
        else (10 if _crossval.sequential(spec) else 5)
    )
    strong = False
    if spec.use_gram and _strong_pays(inputs.tol):
        strong = "portable" if _shared_cpu_pool(mesh) else True
    # The refit of free coefficients factorizes with LAPACK, which such a
    # mesh cannot run: there the zero dual point alone certifies them.
    free = 0 if _shared_cpu_pool(mesh) else spec.free
    return dataclasses.replace(spec, check_every=check_every, strong=strong, free=free)


def _cross_validate_glm(datafit, X, y, options: dict) -> CVResult:
    inputs = checked_inputs(datafit, X, y, options)
    if options["mesh"] is not None:
        sharded = ("X", "y", "sample_weight")
        inputs = inputs._replace(**{k: _crossval.auto_axes(getattr(inputs, k)) for k in sharded})
    dtype = inputs.dtype
    n, p = inputs.X.shape
    alphas = options["alphas"]
    ratios = _l1_ratios(options["model"], options["l1_ratio"], alphas)
    alphas = v.check_alphas(alphas, dtype, ndims=(1, 2))
    if alphas is not None and alphas.ndim == 2 and alphas.shape[0] != len(ratios):
        raise ValueError(f"alphas has {alphas.shape[0]} rows but there are {len(ratios)} l1_ratios")
    spec = _cv_spec(datafit, inputs, options, alphas)
    folds = folds_of(
        n, options["cv"], options["foldid"], options["seed"], inputs.sample_weight, dtype
    )
    if issubclass(datafit, Logistic | Multinomial):
        check_fold_classes(folds, inputs.y)
    hyper = make_hyper(inputs, eps=resolve_eps(options["eps"], n, p))
    X, y, hyper, folds = _buckets.padded_rows(inputs.X, inputs.y, hyper, folds)
    return _crossval.cv_glm(X, y, hyper, folds, alphas, jnp.asarray(ratios, dtype), spec=spec)


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


def _cross_validate_ridge(X, y, options: dict) -> CVResult:
    scoring = options["scoring"] or "mse"
    v.check_choice(scoring, "scoring", _SCORES[Quadratic])
    fixed = dict(lower=None, upper=None, positive=False, tol=1e-4, max_iter=1)
    inputs = checked_inputs(Quadratic, X, y, {**options, **fixed})
    n, p = inputs.X.shape
    alphas = options["alphas"]
    if alphas is None:
        raise ValueError("model='ridge' needs alphas (ridge has no alpha_max)")
    alphas = np.sort(np.asarray(v.check_alphas(alphas, inputs.dtype)))[::-1]
    pf = inputs.penalty_factor
    if v.is_concrete(pf) and bool(jnp.any(pf == 0)):
        raise ValueError("penalty_factor must be positive for ridge cross-validation")
    cv, foldid = options["cv"], options["foldid"]
    if foldid is None and cv in ("loo", "gcv"):
        mode, folds = cv, None
        # With one weighted sample, leaving it out leaves nothing to fit.
        sw = v.concrete_values(inputs.sample_weight)
        positive = None if sw is None else int(np.count_nonzero(np.asarray(sw) > 0))
        if positive is not None and positive < 2:
            raise ValueError(
                f"cv={cv!r} needs sample_weight positive on at least two samples, "
                f"got {positive} sample"
            )
    else:
        if p > n:
            raise ValueError(
                "K-fold ridge needs n_samples >= n_features (per-fold p x p "
                "eigendecompositions); use cv='loo' for wide data"
            )
        mode = "kfold"
        folds = folds_of(n, cv, foldid, options["seed"], inputs.sample_weight, inputs.dtype)
    spec = Spec(
        Quadratic,
        fit_intercept=bool(options["fit_intercept"]),
        standardize=bool(options["standardize"]),
        scoring=scoring,
    )
    alphas = jnp.asarray(alphas, inputs.dtype)
    return cv_ridge(inputs.X, inputs.y, make_hyper(inputs), folds, alphas, spec=spec, mode=mode)
