"""scikit-learn estimators on top of the functional API.

``Lasso``, ``ElasticNet``, ``Ridge``, ``LassoCV``, ``ElasticNetCV``,
``RidgeCV``, ``LogisticRegression`` and ``LogisticRegressionCV`` take their
scikit-learn namesakes' constructor parameters and defaults, minimize the same
objectives, and expose the same fitted attributes, so they drop into
``Pipeline``, ``GridSearchCV`` and ``clone``. They hold no maths: every fit is
a call to :func:`jaxreg.elastic_net`, :func:`jaxreg.ridge`,
:func:`jaxreg.logistic` or :func:`jaxreg.cross_validate`.

Differences from scikit-learn, all deliberate:

- ``max_iter`` counts proximal-gradient iterations, not coordinate-descent
  epochs, so its default is 20000 (a FISTA iteration is much cheaper than an
  epoch); a sparse X with more than 128 features is solved by coordinate
  descent on working sets, whose epochs it then counts. ``solver``,
  ``selection``, ``random_state``, ``warm_start``, ``copy_X``, ``n_jobs``,
  ``verbose``, ``dual=False`` and ``intercept_scaling`` are accepted so that
  code written for scikit-learn runs unchanged; they do not change the
  solution (X is never modified and every fit is certified by its duality
  gap, whatever the path to it).
- ``precompute=True`` forces Gram mode; otherwise Gram mode is chosen when
  ``n_samples > n_features`` and X is dense (the answer is the same).
- Multi-class ``LogisticRegression`` and ``LogisticRegressionCV`` fit one
  softmax model, as scikit-learn does (:func:`jaxreg.multinomial`).
- Extras: ``penalty_factor`` (glmnet's ``penalty.factor``), ``standardize``
  (glmnet's default standardization), ``alpha_1se_`` (glmnet's
  ``lambda.1se``) and ``cv_results_`` curves on the CV estimators.

Inputs may be numpy arrays, pandas DataFrames, scipy.sparse matrices
(solved sparsely, as JAX ``BCOO`` matrices: never densified) and JAX arrays.
float64 input is fitted in float64 (JAX's 64-bit mode is switched on for the
duration of the fit only); float32 input stays float32.

Requires scikit-learn (``pip install "jaxreg[sklearn]"``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import numbers
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import scipy.sparse as sp
from jax.experimental import sparse as jsparse
from scipy.special import expit, softmax
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import get_scorer
from sklearn.model_selection import check_cv
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.extmath import safe_sparse_dot
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

import jaxreg
from jaxreg import _buckets
from jaxreg._crossval import fold_fits
from jaxreg._engine import checked_inputs, ridge_solver
from jaxreg._folds import folds_of
from jaxreg._spec import make_hyper
from jaxreg._validation import check_max_iter, check_sparse_design
from jaxreg.datafits import Logistic, multinomial_of
from jaxreg.path import path_spec
from jaxreg.result import Status

__all__ = [
    "ElasticNet",
    "ElasticNetCV",
    "Lasso",
    "LassoCV",
    "LogisticRegression",
    "LogisticRegressionCV",
    "Ridge",
    "RidgeCV",
]

_SPARSE_FORMATS = ("csr", "csc")  # anything else becomes CSR
_MAX_ITER = 20_000
# The default duality-gap tolerance of the lasso, elastic-net and logistic
# estimators. scikit-learn's coordinate descent stops on a coordinate-update
# test and overshoots its tol=1e-4 gap test by orders; a certified 1e-8
# leaves the default answer at least as close to the exact solution as
# scikit-learn's default on the oracle problems of
# tests/test_default_accuracy.py (costs in docs/benchmarks.md).
_TOL = 1e-8


# ----------------------------------------------------------------------------
# Shared plumbing (no maths)
# ----------------------------------------------------------------------------


def _from_jax(X):
    """JAX inputs as what scikit-learn's validation understands."""
    if isinstance(X, jsparse.BCOO):
        idx = np.asarray(X.indices)
        return sp.coo_matrix((np.asarray(X.data), (idx[:, 0], idx[:, 1])), shape=X.shape).tocsr()
    if isinstance(X, jax.Array):
        return np.asarray(X)
    return X


def _as_jax(X):
    """A validated dense or scipy.sparse X as a JAX array or ``BCOO``."""
    if sp.issparse(X):
        return check_sparse_design(X, X.dtype)
    return jax.numpy.asarray(X)


def _precision(dtype):
    """Fit float64 data in float64, whatever JAX's global 64-bit setting."""
    if np.dtype(dtype) == np.float64:
        return jax.enable_x64(True)
    return contextlib.nullcontext()


def _numpy(tree):
    return jax.tree.map(np.asarray, tree)


def _stacked(fits: list):
    """Results of one fit per target, stacked along a leading axis."""
    if len(fits) == 1:
        return jax.tree.map(lambda a: a[None], fits[0])
    return jax.tree.map(lambda *a: np.stack(a), *fits)


class _Statuses:
    """Bare statuses (the CV folds report no gaps)."""

    def __init__(self, status):
        self.status = status


def _warn_unconverged(fits, what: str):
    status = np.asarray(fits.status).ravel()
    bad = status != Status.CONVERGED
    if np.any(bad):
        detail = ""
        if hasattr(fits, "gap"):
            gap = np.asarray(fits.gap).ravel()[bad]
            gap_tol = np.asarray(fits.gap_tol).ravel()[bad]
            detail = f"duality gap {float(gap.max()):.3g} > tolerance {float(gap_tol.max()):.3g}, "
        warnings.warn(
            f"{what}: {int(bad.sum())} of {bad.size} fits did not converge ({detail}"
            f"statuses {sorted({Status(int(s)).name for s in status[bad]})}). "
            "Increase max_iter or tol, or check the data's scaling.",
            ConvergenceWarning,
            stacklevel=3,
        )


def _check_positive_number(value, name, *, strict=False, allow_inf=False):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    if np.isnan(value) or (np.isinf(value) and not allow_inf):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if value < 0 or (strict and value == 0):
        raise ValueError(f"{name} must be {'> 0' if strict else '>= 0'}, got {value!r}")


def _check_unit(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value <= 1:
        raise ValueError(f"{name} must be a number in [0, 1], got {value!r}")


def _folds_from_cv(cv, X, y, *, classifier: bool) -> np.ndarray:
    """Fold ids from a scikit-learn ``cv`` argument; its test sets must partition the rows."""
    splitter = check_cv(cv, y, classifier=classifier)
    n = X.shape[0]
    foldid = np.full(n, -1, dtype=np.int64)
    for k, (_, test) in enumerate(splitter.split(X, y)):
        if np.any(foldid[test] >= 0):
            raise ValueError(
                "cv: the test sets overlap; jaxreg solves all folds at once and needs "
                "splits whose test sets partition the samples (KFold, StratifiedKFold, "
                "GroupKFold, ...)"
            )
        foldid[test] = k
    if np.any(foldid < 0):
        raise ValueError(
            "cv: some samples are in no test set; jaxreg needs splits whose test sets "
            "partition the samples (KFold, StratifiedKFold, GroupKFold, ...)"
        )
    return foldid


class _LinearModel(BaseEstimator):
    """Validation, prediction and tags shared by every estimator here."""

    _multi_output = False

    def _path_plot_args(self, names, standardized) -> dict:
        if names is None and hasattr(self, "feature_names_in_"):
            names = list(self.feature_names_in_)
        if standardized is None:
            standardized = bool(self.standardize)
        return {"names": names, "scale": self._column_scale if standardized else None}

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.target_tags.multi_output = self._multi_output
        tags.target_tags.single_output = True
        return tags

    def _validate_fit(self, X, y, sample_weight, *, y_numeric=True):
        X = _from_jax(X)
        y = _from_jax(y)
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=_SPARSE_FORMATS,
            dtype=[np.float64, np.float32],
            y_numeric=y_numeric,
            multi_output=self._multi_output,
        )
        sample_weight = _check_sample_weight(
            _from_jax(sample_weight), X, dtype=X.dtype, ensure_non_negative=True
        )
        if not np.sum(sample_weight) > 0:
            raise ValueError("sample_weight must have a positive sum")
        return X, y, sample_weight

    def _decision_function(self, X):
        check_is_fitted(self)
        X = validate_data(
            self,
            _from_jax(X),
            accept_sparse=_SPARSE_FORMATS,
            dtype=[np.float64, np.float32],
            reset=False,
        )
        return safe_sparse_dot(X, np.asarray(self.coef_).T, dense_output=True) + self.intercept_

    @property
    def sparse_coef_(self):
        """``coef_`` as a scipy.sparse CSR matrix."""
        return sp.csr_matrix(np.atleast_2d(self.coef_))


class _Regressor(RegressorMixin, _LinearModel):
    def predict(self, X):
        """Predictions ``X @ coef_.T + intercept_``.

        Args:
          X: samples, shape ``(n_samples, n_features)``, dense or sparse.

        Returns:
          Array of shape ``(n_samples,)`` (or ``(n_samples, n_targets)``).
        """
        return self._decision_function(X)


def _enet_options(est, sample_weight):
    return dict(
        fit_intercept=bool(est.fit_intercept),
        sample_weight=sample_weight,
        penalty_factor=est.penalty_factor,
        positive=bool(est.positive),
        standardize=bool(est.standardize),
        tol=est.tol,
        max_iter=est.max_iter,
        gram=True if est.precompute is True else "auto",
    )


def _check_enet_params(est):
    _check_positive_number(est.tol, "tol", strict=True)
    check_max_iter(est.max_iter)
    precompute = est.precompute
    if not (isinstance(precompute, bool) or (isinstance(precompute, str) and precompute == "auto")):
        raise ValueError(
            f"precompute must be True, False or 'auto', got {est.precompute!r} "
            "(a precomputed Gram matrix is not accepted: jaxreg forms its own)"
        )


def _single_target(y) -> bool:
    """Whether ``y`` holds one target: shape ``(n,)`` or ``(n, 1)``."""
    return y.ndim == 1 or y.shape[1] == 1


def _columns(y):
    return [y] if y.ndim == 1 else [y[:, k] for k in range(y.shape[1])]


# ----------------------------------------------------------------------------
# Lasso and elastic net
# ----------------------------------------------------------------------------


class _ENetBase(_Regressor):
    _multi_output = True

    def fit(self, X, y, sample_weight=None):
        """Fit the model.

        Args:
          X: training data, shape ``(n_samples, n_features)``: numpy, pandas,
            scipy.sparse or JAX.
          y: targets, shape ``(n_samples,)`` or ``(n_samples, n_targets)``.
          sample_weight: optional nonnegative weights, shape ``(n_samples,)``.

        Returns:
          self.
        """
        _check_positive_number(self.alpha, "alpha")
        _check_unit(self._l1_ratio(), "l1_ratio")
        _check_enet_params(self)
        X, y, sw = self._validate_fit(X, y, sample_weight)
        # Unit weights when none are given: the fit skips their checks.
        options = _enet_options(self, None if sample_weight is None else sw)
        with _precision(X.dtype):
            fits = [
                _numpy(jaxreg.elastic_net(X, col, self.alpha, self._l1_ratio(), **options))
                for col in _columns(y)
            ]
        fits = _stacked(fits)
        _warn_unconverged(fits, type(self).__name__)
        # One target (y of shape (n,) or (n, 1)): scikit-learn's shapes, coef_
        # of shape (n_features,); a column y keeps an intercept of shape (1,).
        squeeze = (lambda a: a[0]) if _single_target(y) else (lambda a: a)
        self.coef_ = squeeze(fits.coef)
        if not self.fit_intercept:
            self.intercept_ = 0.0
        elif y.ndim == 1:
            self.intercept_ = float(fits.intercept[0])
        else:
            self.intercept_ = fits.intercept
        self.n_iter_ = squeeze(fits.n_iter)
        self.dual_gap_ = squeeze(fits.gap)
        return self


class ElasticNet(_ENetBase):
    r"""Elastic-net regression, scikit-learn's ``ElasticNet`` solved by jaxreg.

    Minimizes

    .. math:: \frac{1}{2 \sum_i s_i} \sum_i s_i (y_i - x_i^\top w - b)^2
              + \alpha \sum_j f_j \Big(\rho |w_j| + \frac{1 - \rho}{2} w_j^2\Big)

    with ``rho = l1_ratio``, sample weights ``s`` and penalty factors ``f``
    (default 1), exactly scikit-learn's ``ElasticNet(alpha, l1_ratio)``. A 2-D
    ``y`` fits one model per column.

    Args:
      alpha: penalty strength ``alpha >= 0``.
      l1_ratio: mixing ``rho`` in [0, 1] (1: lasso, 0: ridge-like).
      fit_intercept: fit an unpenalized intercept.
      precompute: ``True`` forces Gram mode; ``False``/``"auto"``: Gram mode
        when ``n_samples > n_features`` and X is dense.
      max_iter: maximum proximal-gradient iterations, or coordinate-descent
        epochs for a sparse X on working sets (default 20000).
      copy_X: accepted for compatibility; X is never modified.
      tol: duality-gap tolerance relative to ``||y - mean(y)||^2 / n``
        (scikit-learn's scaling). The default, 1e-8, is tighter than
        scikit-learn's 1e-4 because a certified gap stops where scikit-learn's
        coordinate descent goes well past its own: at 1e-8 the default answer
        is at least as close to the exact solution.
      warm_start: accepted for compatibility; every fit starts cold and is
        certified by its gap.
      positive: constrain the coefficients to be nonnegative.
      random_state: accepted for compatibility (the solver is deterministic).
      selection: accepted for compatibility (coordinate order of scikit-learn's solver).
      penalty_factor: per-feature penalty multipliers, shape ``(n_features,)``,
        rescaled to sum to ``n_features`` (glmnet's ``penalty.factor``).
      standardize: penalize the coefficients of standardized columns (glmnet's
        convention); coefficients are returned on the original scale.

    Attributes:
      coef_: coefficients, shape ``(n_features,)`` (``(n_targets, n_features)``
        for a 2-D ``y`` of several columns; a single-column ``y`` is one target,
        as in scikit-learn).
      intercept_: intercept (0.0 without ``fit_intercept``; shape ``(1,)`` for
        a single-column ``y``, as in scikit-learn).
      n_iter_: iterations run (per target for several targets).
      dual_gap_: the certified duality gap of the objective above.
      n_features_in_: number of features seen in ``fit``.
      feature_names_in_: column names, when X had string column names.

    Example:
      >>> import numpy as np
      >>> from jaxreg.estimators import ElasticNet
      >>> rng = np.random.default_rng(0)
      >>> X = rng.standard_normal((50, 4)); y = X @ np.array([1.0, 0, 0, -2]) + 1
      >>> est = ElasticNet(alpha=0.1, l1_ratio=0.9).fit(X, y)
      >>> (np.abs(est.coef_) > 0).tolist(), round(float(est.intercept_), 1)
      ([True, False, False, True], 1.0)
    """

    def __init__(
        self,
        alpha=1.0,
        *,
        l1_ratio=0.5,
        fit_intercept=True,
        precompute=False,
        max_iter=_MAX_ITER,
        copy_X=True,
        tol=_TOL,
        warm_start=False,
        positive=False,
        random_state=None,
        selection="cyclic",
        penalty_factor=None,
        standardize=False,
    ):
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.precompute = precompute
        self.max_iter = max_iter
        self.copy_X = copy_X
        self.tol = tol
        self.warm_start = warm_start
        self.positive = positive
        self.random_state = random_state
        self.selection = selection
        self.penalty_factor = penalty_factor
        self.standardize = standardize

    def _l1_ratio(self):
        return self.l1_ratio


class Lasso(_ENetBase):
    r"""Lasso regression, scikit-learn's ``Lasso`` solved by jaxreg.

    Minimizes

    .. math:: \frac{1}{2 \sum_i s_i} \sum_i s_i (y_i - x_i^\top w - b)^2
              + \alpha \sum_j f_j |w_j|,

    exactly scikit-learn's ``Lasso(alpha)``. Parameters and attributes as
    :class:`ElasticNet` without ``l1_ratio``.

    Args:
      alpha: penalty strength ``alpha >= 0``.
      fit_intercept: fit an unpenalized intercept.
      precompute: ``True`` forces Gram mode (see :class:`ElasticNet`).
      copy_X: accepted for compatibility; X is never modified.
      max_iter: maximum proximal-gradient iterations, or coordinate-descent
        epochs for a sparse X on working sets (default 20000).
      tol: duality-gap tolerance relative to ``||y - mean(y)||^2 / n``
        (default 1e-8, as in :class:`ElasticNet`).
      warm_start: accepted for compatibility.
      positive: constrain the coefficients to be nonnegative.
      random_state: accepted for compatibility.
      selection: accepted for compatibility.
      penalty_factor: per-feature penalty multipliers (glmnet's ``penalty.factor``).
      standardize: penalize standardized coefficients (glmnet's convention).

    Example:
      >>> import numpy as np
      >>> from jaxreg.estimators import Lasso
      >>> rng = np.random.default_rng(0)
      >>> X = rng.standard_normal((50, 4)); y = X @ np.array([1.0, 0, 0, -2])
      >>> (Lasso(alpha=0.1).fit(X, y).coef_.round(1) + 0.0).tolist()
      [0.9, 0.0, 0.0, -1.9]
    """

    def __init__(
        self,
        alpha=1.0,
        *,
        fit_intercept=True,
        precompute=False,
        copy_X=True,
        max_iter=_MAX_ITER,
        tol=_TOL,
        warm_start=False,
        positive=False,
        random_state=None,
        selection="cyclic",
        penalty_factor=None,
        standardize=False,
    ):
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.precompute = precompute
        self.copy_X = copy_X
        self.max_iter = max_iter
        self.tol = tol
        self.warm_start = warm_start
        self.positive = positive
        self.random_state = random_state
        self.selection = selection
        self.penalty_factor = penalty_factor
        self.standardize = standardize

    def _l1_ratio(self):
        return 1.0


# ----------------------------------------------------------------------------
# Ridge
# ----------------------------------------------------------------------------

_RIDGE_SOLVERS = {
    "auto": "auto",
    "svd": "svd",
    "cholesky": "cholesky",
    "lsqr": "cg",
    "sparse_cg": "cg",
    "sag": "auto",
    "saga": "auto",
    "lbfgs": "fista",
}


class Ridge(_Regressor):
    r"""Ridge regression, scikit-learn's ``Ridge`` solved by jaxreg.

    Minimizes

    .. math:: \sum_i s_i (y_i - x_i^\top w - b)^2 + \alpha \sum_j f_j w_j^2,

    exactly scikit-learn's ``Ridge(alpha)`` (sample weights used as given).
    Solved in closed form (Cholesky, dual or SVD; conjugate gradients for a
    wide sparse X), or by FISTA with ``positive=True``. A 2-D ``y`` fits one
    model per column, with one alpha per column if ``alpha`` is an array.

    Args:
      alpha: penalty ``alpha >= 0``, a float or one per target.
      fit_intercept: fit an unpenalized intercept.
      copy_X: accepted for compatibility; X is never modified.
      max_iter: iterations for the ``positive`` (FISTA) and conjugate-gradient
        routes; None means 20000.
      tol: duality-gap tolerance, relative to twice the objective at ``w = 0``.
      solver: scikit-learn's names: ``"auto"``, ``"svd"``, ``"cholesky"``;
        ``"lsqr"`` and ``"sparse_cg"`` map to conjugate gradients, ``"lbfgs"``
        (with ``positive``) to FISTA, ``"sag"``/``"saga"`` to ``"auto"``.
      positive: constrain the coefficients to be nonnegative.
      random_state: accepted for compatibility.
      penalty_factor: per-feature penalty multipliers, rescaled to sum to
        ``n_features``.
      standardize: penalize standardized coefficients (glmnet's convention).

    Attributes:
      coef_: shape ``(n_features,)`` (also for a single-column ``y``, as in
        scikit-learn) or ``(n_targets, n_features)``.
      intercept_: intercept (0.0 without ``fit_intercept``; shape ``(1,)`` for
        a single-column ``y``).
      n_iter_: None for the closed forms, else iterations per target.
      solver_: the jaxreg solver used.
      n_features_in_, feature_names_in_: as in scikit-learn.

    Example:
      >>> import numpy as np
      >>> from jaxreg.estimators import Ridge
      >>> X = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [2.0, 1.0]])
      >>> Ridge(alpha=1.0).fit(X, X @ [1.0, 2.0]).coef_.round(3).tolist()
      [0.667, 0.857]
    """

    _multi_output = True

    def __init__(
        self,
        alpha=1.0,
        *,
        fit_intercept=True,
        copy_X=True,
        max_iter=None,
        tol=1e-4,
        solver="auto",
        positive=False,
        random_state=None,
        penalty_factor=None,
        standardize=False,
    ):
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.copy_X = copy_X
        self.max_iter = max_iter
        self.tol = tol
        self.solver = solver
        self.positive = positive
        self.random_state = random_state
        self.penalty_factor = penalty_factor
        self.standardize = standardize

    def fit(self, X, y, sample_weight=None):
        """Fit the model.

        Args:
          X: training data, shape ``(n_samples, n_features)``: numpy, pandas,
            scipy.sparse or JAX.
          y: targets, shape ``(n_samples,)`` or ``(n_samples, n_targets)``.
          sample_weight: optional nonnegative weights, shape ``(n_samples,)``.

        Returns:
          self.
        """
        if self.solver not in _RIDGE_SOLVERS:
            raise ValueError(f"solver must be one of {sorted(_RIDGE_SOLVERS)}, got {self.solver!r}")
        _check_positive_number(self.tol, "tol", strict=True)
        max_iter = _MAX_ITER if self.max_iter is None else self.max_iter
        check_max_iter(max_iter)
        X, y, sw = self._validate_fit(X, y, sample_weight)
        cols = _columns(y)
        alphas = np.atleast_1d(np.asarray(self.alpha))
        if alphas.dtype == np.bool_ or not np.issubdtype(alphas.dtype, np.number):
            # np.asarray("0.1", dtype=float) reads a string as a number.
            raise ValueError(f"alpha must be a real number or an array of them, got {self.alpha!r}")
        alphas = alphas.astype(np.float64)
        if alphas.ndim != 1 or alphas.size not in (1, len(cols)):
            raise ValueError(
                f"alpha must be a number or have one value per target ({len(cols)}), "
                f"got shape {np.shape(self.alpha)}"
            )
        for a in alphas:
            _check_positive_number(float(a), "alpha")
        alphas = np.broadcast_to(alphas, (len(cols),))
        solver = "fista" if self.positive else _RIDGE_SOLVERS[self.solver]
        if solver == "fista" and not self.positive:
            solver = "auto"
        if sp.issparse(X) and solver == "svd":
            solver = "auto"
        # The route jaxreg.ridge takes, as it resolves it.
        solver = ridge_solver(solver, X.shape, sp.issparse(X), bool(self.positive))
        with _precision(X.dtype):
            fits = [
                _numpy(
                    jaxreg.ridge(
                        X,
                        col,
                        float(a),
                        fit_intercept=bool(self.fit_intercept),
                        sample_weight=sw,
                        penalty_factor=self.penalty_factor,
                        positive=bool(self.positive),
                        standardize=bool(self.standardize),
                        solver=solver,
                        tol=self.tol,
                        max_iter=max_iter,
                    )
                )
                for col, a in zip(cols, alphas, strict=True)
            ]
        fits = _stacked(fits)
        _warn_unconverged(fits, "Ridge")
        squeeze = (lambda a: a[0]) if _single_target(y) else (lambda a: a)
        self.coef_ = squeeze(fits.coef)
        if not self.fit_intercept:
            self.intercept_ = 0.0
        else:
            self.intercept_ = float(fits.intercept[0]) if y.ndim == 1 else fits.intercept
        self.n_iter_ = squeeze(fits.n_iter) if solver == "fista" else None
        self.solver_ = solver
        return self


# ----------------------------------------------------------------------------
# Cross-validated lasso, elastic net and ridge
# ----------------------------------------------------------------------------


def _curves(res):
    """The CV curves as a dict of numpy arrays (the estimators' ``cv_results_``)."""
    return {
        "alphas": np.asarray(res.alphas),
        "l1_ratios": np.asarray(res.l1_ratios),
        "mean": np.asarray(res.mean),
        "se": np.asarray(res.se),
        "fold_scores": np.asarray(res.fold_scores),
        "n_nonzero": np.asarray(res.n_nonzero),
        "alpha_min": float(res.alpha_min),
        "alpha_1se": float(res.alpha_1se),
    }


class _ENetCVBase(_Regressor):
    def _l1_ratios(self):
        raise NotImplementedError

    def fit(self, X, y, sample_weight=None):
        """Cross-validate the grid, then keep the full-data fit at the best alpha.

        The folds x l1_ratios x alphas grid is solved in one compiled call
        (:func:`jaxreg.cross_validate`). The selection follows scikit-learn:
        the smallest mean held-out MSE over the folds (a plain mean over
        folds), first l1_ratio and largest alpha on ties.

        Args:
          X: training data, shape ``(n_samples, n_features)``: numpy, pandas,
            scipy.sparse or JAX.
          y: targets, shape ``(n_samples,)``.
          sample_weight: optional nonnegative weights, shape ``(n_samples,)``.

        Returns:
          self.
        """
        ratios = self._l1_ratios()
        for r in ratios:
            _check_unit(r, "l1_ratio")
        _check_positive_number(self.eps, "eps", strict=True)
        _check_enet_params(self)
        X, y, sw = self._validate_fit(X, y, sample_weight)
        foldid = _folds_from_cv(self.cv, X, y, classifier=False)
        alphas = self.alphas
        n_alphas = 100
        if isinstance(alphas, numbers.Integral) and not isinstance(alphas, bool):
            if alphas < 1:
                raise ValueError(f"alphas must be a positive integer or an array, got {alphas}")
            n_alphas, alphas = int(alphas), None
        else:
            alphas = np.sort(np.asarray(alphas, dtype=np.float64).ravel())[::-1]
            if alphas.size == 0 or np.any(alphas < 0) or not np.all(np.isfinite(alphas)):
                raise ValueError("alphas must be finite and nonnegative")
        if alphas is None and any(r == 0 for r in ratios):
            raise ValueError("l1_ratio=0 needs an explicit alphas grid (there is no alpha_max)")
        options = _enet_options(self, sw)
        with _precision(X.dtype):
            res = jaxreg.cross_validate(
                X,
                y,
                "elastic_net",
                l1_ratio=list(ratios),
                alphas=alphas,
                n_alphas=n_alphas,
                eps=self.eps,
                foldid=foldid,
                **options,
            )
            res = _numpy(res)
        fold_scores = res.fold_scores  # (K, L, A)
        mean = fold_scores.mean(axis=0)
        li, ai = np.unravel_index(int(np.argmin(mean)), mean.shape)
        best = res.path.fit((li, ai))
        _warn_unconverged(res.path, type(self).__name__)
        _warn_unconverged(_Statuses(res.fold_status), type(self).__name__ + " (folds)")
        self.alpha_ = float(res.alphas[li, ai])
        if isinstance(self, ElasticNetCV):
            self.l1_ratio_ = float(ratios[li])
        self.coef_ = np.asarray(best.coef)
        self.intercept_ = float(best.intercept) if self.fit_intercept else 0.0
        self.dual_gap_ = float(best.gap)
        self.n_iter_ = int(best.n_iter)
        # scikit-learn's shapes: squeezed, one grid when it was given explicitly.
        explicit = alphas is not None
        self.alphas_ = res.alphas[0] if (explicit or len(ratios) == 1) else res.alphas
        self.mse_path_ = np.squeeze(np.moveaxis(fold_scores, 0, -1))  # (L, A, K)
        # One standard error rule, on scikit-learn's mean over folds.
        se = fold_scores.std(axis=0, ddof=1) / np.sqrt(fold_scores.shape[0])
        within = (mean[li] <= mean[li, ai] + se[li, ai]) & (np.arange(mean.shape[1]) <= ai)
        self.alpha_1se_ = float(res.alphas[li, int(np.argmax(within))])
        self.cv_results_ = _curves(res)
        self.cv_result_ = res
        self._column_scale = jaxreg.plot.column_scale(
            X, sample_weight=sw, fit_intercept=bool(self.fit_intercept)
        )
        return self

    def plot_cv(self, *, l1_ratio_index=None, ax=None):
        """The CV curve with standard-error bars, ``alpha_min`` and ``alpha_1se``
        (:func:`jaxreg.plot.plot_cv` on ``cv_result_``; needs matplotlib).

        Args:
          l1_ratio_index: which l1_ratio's curve (default: all of them).
          ax: matplotlib axes to draw on (default: a new figure).

        Returns:
          The matplotlib axes.
        """
        check_is_fitted(self)
        return jaxreg.plot.plot_cv(self.cv_result_, l1_ratio_index=l1_ratio_index, ax=ax)

    def plot_path(self, *, names=None, standardized=None, ax=None):
        """Coefficient paths of the full data at the selected l1_ratio, nonzero
        counts on the top axis (:func:`jaxreg.plot.plot_path`; needs matplotlib).

        Args:
          names: feature names (default: ``feature_names_in_`` if any).
          standardized: draw the coefficients times the columns' standard
            deviations, the scale the penalty sees when the fit standardized
            (default: ``standardize``).
          ax: matplotlib axes to draw on (default: a new figure).

        Returns:
          The matplotlib axes.
        """
        check_is_fitted(self)
        li = 0
        if hasattr(self, "l1_ratio_"):
            li = int(np.flatnonzero(self.cv_result_.l1_ratios == self.l1_ratio_)[0])
        path = jax.tree.map(lambda a: a[li], self.cv_result_.path)
        return jaxreg.plot.plot_path(path, **self._path_plot_args(names, standardized), ax=ax)


class ElasticNetCV(_ENetCVBase):
    r"""Elastic net with K-fold selection of ``alpha`` (and ``l1_ratio``),
    scikit-learn's ``ElasticNetCV`` solved by jaxreg.

    Objective as :class:`ElasticNet`. For each l1_ratio the grid runs from
    ``alpha_max / l1_ratio`` down to ``eps`` times it (log-spaced); all folds,
    l1_ratios and alphas are solved in one compiled call.

    Args:
      l1_ratio: a float or a list of floats in [0, 1].
      eps: ``alpha_min / alpha_max`` of the grid.
      alphas: number of alphas (int) or an explicit grid.
      fit_intercept: fit an unpenalized intercept.
      precompute: ``True`` forces Gram mode.
      max_iter: maximum proximal-gradient iterations per fit.
      tol: duality-gap tolerance, as in :class:`ElasticNet`.
      cv: None (5-fold ``KFold``), an int, or a scikit-learn splitter whose
        test sets partition the samples.
      copy_X: accepted for compatibility.
      verbose: accepted for compatibility.
      n_jobs: accepted for compatibility (the grid is one batched call).
      positive: constrain the coefficients to be nonnegative.
      random_state: accepted for compatibility.
      selection: accepted for compatibility.
      penalty_factor: per-feature penalty multipliers.
      standardize: penalize standardized coefficients (glmnet's convention).

    Attributes:
      alpha_, l1_ratio_: the selected point.
      alpha_1se_: the largest alpha (same l1_ratio) within one standard error
        of the best mean MSE (glmnet's ``lambda.1se``).
      coef_, intercept_, dual_gap_, n_iter_: the full-data fit at the selected point.
      alphas_: the grid, ``(n_alphas,)`` or ``(n_l1_ratios, n_alphas)``.
      mse_path_: held-out MSE, ``(n_alphas, n_folds)`` or
        ``(n_l1_ratios, n_alphas, n_folds)``.
      cv_results_: dict of curves: ``alphas``, ``mean``, ``se`` (fold-weighted,
        glmnet's ``cvm``/``cvsd``), ``fold_scores``, ``n_nonzero``, ...

    Example:
      >>> import numpy as np
      >>> from jaxreg.estimators import ElasticNetCV
      >>> rng = np.random.default_rng(0)
      >>> X = rng.standard_normal((100, 8)); y = X[:, 0] - X[:, 1] + 0.1 * rng.standard_normal(100)
      >>> est = ElasticNetCV(l1_ratio=[0.5, 1.0], alphas=20).fit(X, y)
      >>> est.mse_path_.shape, est.l1_ratio_
      ((2, 20, 5), 1.0)
    """

    def __init__(
        self,
        *,
        l1_ratio=0.5,
        eps=1e-3,
        alphas=100,
        fit_intercept=True,
        precompute="auto",
        max_iter=_MAX_ITER,
        tol=_TOL,
        cv=None,
        copy_X=True,
        verbose=0,
        n_jobs=None,
        positive=False,
        random_state=None,
        selection="cyclic",
        penalty_factor=None,
        standardize=False,
    ):
        self.l1_ratio = l1_ratio
        self.eps = eps
        self.alphas = alphas
        self.fit_intercept = fit_intercept
        self.precompute = precompute
        self.max_iter = max_iter
        self.tol = tol
        self.cv = cv
        self.copy_X = copy_X
        self.verbose = verbose
        self.n_jobs = n_jobs
        self.positive = positive
        self.random_state = random_state
        self.selection = selection
        self.penalty_factor = penalty_factor
        self.standardize = standardize

    def _l1_ratios(self):
        return [float(r) for r in np.atleast_1d(self.l1_ratio)]


class LassoCV(_ENetCVBase):
    r"""Lasso with K-fold selection of ``alpha``, scikit-learn's ``LassoCV``
    solved by jaxreg.

    Objective as :class:`Lasso`; grid, selection and attributes as
    :class:`ElasticNetCV` with ``l1_ratio = 1`` (``alphas_`` has shape
    ``(n_alphas,)`` and ``mse_path_`` ``(n_alphas, n_folds)``).

    Args:
      eps: ``alpha_min / alpha_max`` of the grid.
      alphas: number of alphas (int) or an explicit grid.
      fit_intercept: fit an unpenalized intercept.
      precompute: ``True`` forces Gram mode.
      max_iter: maximum proximal-gradient iterations per fit.
      tol: duality-gap tolerance (default 1e-8, as in :class:`ElasticNet`).
      copy_X: accepted for compatibility.
      cv: None (5-fold ``KFold``), an int, or a splitter whose test sets
        partition the samples.
      verbose: accepted for compatibility.
      n_jobs: accepted for compatibility.
      positive: constrain the coefficients to be nonnegative.
      random_state: accepted for compatibility.
      selection: accepted for compatibility.
      penalty_factor: per-feature penalty multipliers.
      standardize: penalize standardized coefficients (glmnet's convention).

    Example:
      >>> import numpy as np
      >>> from jaxreg.estimators import LassoCV
      >>> rng = np.random.default_rng(0)
      >>> X = rng.standard_normal((100, 8)); y = X[:, 0] - X[:, 1] + 0.1 * rng.standard_normal(100)
      >>> est = LassoCV(alphas=30).fit(X, y)
      >>> est.mse_path_.shape, bool(est.alpha_1se_ >= est.alpha_)
      ((30, 5), True)
    """

    def __init__(
        self,
        *,
        eps=1e-3,
        alphas=100,
        fit_intercept=True,
        precompute="auto",
        max_iter=_MAX_ITER,
        tol=_TOL,
        copy_X=True,
        cv=None,
        verbose=False,
        n_jobs=None,
        positive=False,
        random_state=None,
        selection="cyclic",
        penalty_factor=None,
        standardize=False,
    ):
        self.eps = eps
        self.alphas = alphas
        self.fit_intercept = fit_intercept
        self.precompute = precompute
        self.max_iter = max_iter
        self.tol = tol
        self.copy_X = copy_X
        self.cv = cv
        self.verbose = verbose
        self.n_jobs = n_jobs
        self.positive = positive
        self.random_state = random_state
        self.selection = selection
        self.penalty_factor = penalty_factor
        self.standardize = standardize

    def _l1_ratios(self):
        return [1.0]


_RIDGE_CV_SCORING = {
    None: "mse",
    "neg_mean_squared_error": "mse",
    "r2": "mse",
    "neg_mean_absolute_error": "mae",
}


class RidgeCV(_Regressor):
    r"""Ridge with the penalty chosen by leave-one-out or K-fold CV,
    scikit-learn's ``RidgeCV`` solved by jaxreg.

    Objective as :class:`Ridge`. With ``cv=None`` the exact leave-one-out
    errors of every alpha come from one SVD (one eigendecomposition of the
    Gram matrix for a sparse X); otherwise all folds are solved in one call.

    Args:
      alphas: the candidate penalties (positive), tried in the order given.
      fit_intercept: fit an unpenalized intercept.
      scoring: None or ``"neg_mean_squared_error"`` (squared errors),
        ``"r2"`` (same ranking as squared errors under leave-one-out), or
        ``"neg_mean_absolute_error"``.
      cv: None (efficient leave-one-out), an int, or a splitter whose test
        sets partition the samples.
      gcv_mode: accepted for compatibility: the leave-one-out errors are exact
        whichever decomposition computes them.
      store_cv_results: keep the leave-one-out errors in ``cv_results_``.
      alpha_per_target: must be False (one target).
      penalty_factor: per-feature penalty multipliers (positive).
      standardize: penalize standardized coefficients (glmnet's convention).

    Attributes:
      alpha_: the selected penalty.
      best_score_: its score (negative mean squared error under leave-one-out,
        each error weighted by its sample weight, as scikit-learn does).
      coef_, intercept_: the full-data fit at ``alpha_``.
      cv_results_: with ``store_cv_results`` and ``cv=None``, the
        weighted squared (or absolute) leave-one-out errors,
        ``(n_samples, n_alphas)``.
      cv_result_: the :class:`jaxreg.CVResult` (curves on the sorted grid).

    Example:
      >>> import numpy as np
      >>> from jaxreg.estimators import RidgeCV
      >>> rng = np.random.default_rng(0)
      >>> X = rng.standard_normal((60, 5)); y = X @ np.arange(5.0) + rng.standard_normal(60)
      >>> float(RidgeCV(alphas=[0.1, 1.0, 10.0]).fit(X, y).alpha_)
      0.1
    """

    def __init__(
        self,
        alphas=(0.1, 1.0, 10.0),
        *,
        fit_intercept=True,
        scoring=None,
        cv=None,
        gcv_mode=None,
        store_cv_results=False,
        alpha_per_target=False,
        penalty_factor=None,
        standardize=False,
    ):
        self.alphas = alphas
        self.fit_intercept = fit_intercept
        self.scoring = scoring
        self.cv = cv
        self.gcv_mode = gcv_mode
        self.store_cv_results = store_cv_results
        self.alpha_per_target = alpha_per_target
        self.penalty_factor = penalty_factor
        self.standardize = standardize

    def fit(self, X, y, sample_weight=None):
        """Select ``alpha_`` by cross-validation and fit the full data with it.

        Args:
          X: training data, shape ``(n_samples, n_features)``: numpy, pandas,
            scipy.sparse or JAX.
          y: targets, shape ``(n_samples,)``.
          sample_weight: optional nonnegative weights, shape ``(n_samples,)``.

        Returns:
          self.
        """
        if self.scoring not in _RIDGE_CV_SCORING:
            raise ValueError(
                f"scoring must be one of {list(_RIDGE_CV_SCORING)}, got {self.scoring!r}"
            )
        if self.alpha_per_target:
            raise ValueError("alpha_per_target=True needs several targets; RidgeCV fits one")
        if self.store_cv_results and self.cv is not None:
            raise ValueError("store_cv_results=True needs cv=None (leave-one-out)")
        alphas = np.asarray(self.alphas, dtype=np.float64).ravel()
        if alphas.size == 0 or not np.all(np.isfinite(alphas)) or np.any(alphas <= 0):
            raise ValueError(f"alphas must be finite and > 0, got {self.alphas!r}")
        X, y, sw = self._validate_fit(X, y, sample_weight)
        scoring = _RIDGE_CV_SCORING[self.scoring]
        kwargs = {}
        if self.cv is None:
            kwargs["cv"] = "loo"
        else:
            kwargs["foldid"] = _folds_from_cv(self.cv, X, y, classifier=False)
        with _precision(X.dtype):
            res = jaxreg.cross_validate(
                X,
                y,
                "ridge",
                alphas=alphas,
                scoring=scoring,
                fit_intercept=bool(self.fit_intercept),
                sample_weight=sw,
                penalty_factor=self.penalty_factor,
                standardize=bool(self.standardize),
                **kwargs,
            )
            res = _numpy(res)
        # The result's grid is sorted decreasing: map it back to the user's order.
        grid = res.alphas[0]
        order = np.array([int(np.argmin(np.abs(grid - a))) for a in alphas])
        fold_scores = res.fold_scores[:, 0, order]  # (folds or samples, n_alphas)
        if self.cv is None:
            # scikit-learn weights each leave-one-out error by its sample weight
            # and averages over the samples.
            per_sample = sw[:, None] * fold_scores
            score = -per_sample.mean(axis=0)
            if self.store_cv_results:
                self.cv_results_ = per_sample
        else:
            score = -fold_scores.mean(axis=0)
        best = int(np.argmax(score))
        fit = res.path.fit((0, order[best]))
        _warn_unconverged(res.path, "RidgeCV")
        self.alpha_ = float(alphas[best])
        self.best_score_ = float(score[best])
        self.coef_ = np.asarray(fit.coef)
        self.intercept_ = float(fit.intercept) if self.fit_intercept else 0.0
        self.cv_result_ = res
        self._column_scale = jaxreg.plot.column_scale(
            X, sample_weight=sw, fit_intercept=bool(self.fit_intercept)
        )
        self._df = self._degrees_of_freedom(X, sw, grid)
        return self

    def _degrees_of_freedom(self, X, sw, grid):
        # A p x p Gram matrix and its eigenvalues: kept only where that is a
        # small part of the fit, so plotting never slows a search loop.
        n, p = X.shape
        if n * p * p > 1e8:
            return None
        # A plotting aid must never fail the fit: on designs whose Gram
        # matrix overflows (columns near 1e160) there is simply no df axis.
        try:
            with np.errstate(all="ignore"):
                df = jaxreg.plot.effective_df(
                    X,
                    grid,
                    sample_weight=sw,
                    fit_intercept=bool(self.fit_intercept),
                    standardize=bool(self.standardize),
                    penalty_factor=self.penalty_factor,
                )
        except np.linalg.LinAlgError:
            return None
        return df if np.all(np.isfinite(df)) else None

    def plot_path(self, *, names=None, standardized=None, ax=None):
        """Coefficient paths of the full-data ridge fits along the grid, the
        effective degrees of freedom on the top axis
        (:func:`jaxreg.plot.plot_path`; needs matplotlib).

        Args:
          names: feature names (default: ``feature_names_in_`` if any).
          standardized: draw the coefficients times the columns' standard
            deviations (default: ``standardize``).
          ax: matplotlib axes to draw on (default: a new figure).

        Returns:
          The matplotlib axes.
        """
        check_is_fitted(self)
        path = jax.tree.map(lambda a: a[0], self.cv_result_.path)
        kwargs = self._path_plot_args(names, standardized)
        return jaxreg.plot.plot_path(path, df=self._df, **kwargs, ax=ax)

    def plot_cv(self, *, ax=None):
        """The CV curve over the (sorted) alphas with standard-error bars and
        the selected alphas (:func:`jaxreg.plot.plot_cv`; needs matplotlib).

        Args:
          ax: matplotlib axes to draw on (default: a new figure).

        Returns:
          The matplotlib axes.
        """
        check_is_fitted(self)
        return jaxreg.plot.plot_cv(self.cv_result_, df=self._df, ax=ax)


# ----------------------------------------------------------------------------
# Logistic regression
# ----------------------------------------------------------------------------


def _resolve_logistic_penalty(est, l1_ratio):
    """``(C, l1_ratio)`` from scikit-learn's current or deprecated arguments."""
    C = est.C
    penalty = est.penalty
    if penalty == "deprecated":
        return C, l1_ratio
    if penalty == "l1":
        return C, 1.0
    if penalty == "l2":
        return C, 0.0
    if penalty == "elasticnet":
        return C, l1_ratio
    if penalty is None:
        return np.inf, 0.0
    raise ValueError(f"penalty must be 'l1', 'l2', 'elasticnet' or None, got {penalty!r}")


def _alpha_from_C(C, weight_sum):
    """scikit-learn's ``C * sum_i s_i loss_i + penalty`` is the mean loss plus
    ``penalty / (C * sum_i s_i)``."""
    return 0.0 if np.isinf(C) else 1.0 / (C * weight_sum)


class _LogisticBase(ClassifierMixin, _LinearModel):
    def _validate_classes(self, X, y, sample_weight):
        X, y, sw = self._validate_fit(X, y, sample_weight, y_numeric=False)
        check_classification_targets(y)
        classes = np.unique(y)
        if classes.size < 2:
            raise ValueError(
                "This estimator needs samples of at least 2 classes in the data, but the "
                f"data contains only one class: {classes[0]!r}"
            )
        if self.class_weight is not None:
            # scikit-learn's "balanced" counts classes by their sample weights.
            weights = compute_class_weight(
                self.class_weight, classes=classes, y=y, sample_weight=sw
            )
            sw = sw * weights[np.searchsorted(classes, y)].astype(sw.dtype)
        if self.dual:
            raise ValueError("dual=True is not supported: jaxreg solves the primal problem")
        self.classes_ = classes
        return X, y, sw

    def _targets(self, y):
        """The binary 0/1 targets: one problem, or one per class (one-vs-rest)."""
        if self.classes_.size == 2:
            return [(y == self.classes_[1]).astype(np.float64)]
        return [(y == c).astype(np.float64) for c in self.classes_]

    def decision_function(self, X):
        """Confidence scores ``X @ coef_.T + intercept_``.

        Args:
          X: samples, shape ``(n_samples, n_features)``.

        Returns:
          Shape ``(n_samples,)`` for two classes (positive: ``classes_[1]``),
          else ``(n_samples, n_classes)``.
        """
        scores = self._decision_function(X)
        return scores.ravel() if scores.shape[1] == 1 else scores

    def predict(self, X):
        """Class labels.

        Args:
          X: samples, shape ``(n_samples, n_features)``.

        Returns:
          Labels from ``classes_``, shape ``(n_samples,)``.
        """
        scores = self.decision_function(X)
        if scores.ndim == 1:
            return self.classes_[(scores > 0).astype(int)]
        return self.classes_[np.argmax(scores, axis=1)]

    def predict_proba(self, X):
        """Class probabilities: the logistic function of the scores; with more
        than two classes, the softmax of the scores for a softmax model
        (:class:`LogisticRegression`), else the one-vs-rest probabilities
        normalized to sum to one.

        Args:
          X: samples, shape ``(n_samples, n_features)``.

        Returns:
          Shape ``(n_samples, n_classes)``.
        """
        scores = self.decision_function(X)
        if scores.ndim == 1:
            p = expit(scores)
            return np.column_stack([1.0 - p, p])
        if getattr(self, "_softmax", False):
            return softmax(scores, axis=1)
        p = expit(scores)
        return p / p.sum(axis=1, keepdims=True)

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`.

        Args:
          X: samples, shape ``(n_samples, n_features)``.

        Returns:
          Shape ``(n_samples, n_classes)``.
        """
        return np.log(self.predict_proba(X))


def _logistic_options(est, sample_weight, max_iter):
    return dict(
        fit_intercept=bool(est.fit_intercept),
        sample_weight=sample_weight,
        penalty_factor=est.penalty_factor,
        standardize=bool(est.standardize),
        tol=est.tol,
        max_iter=max_iter,
    )


class LogisticRegression(_LogisticBase):
    r"""Penalized logistic regression, scikit-learn's ``LogisticRegression``
    solved by jaxreg.

    Minimizes, for labels ``y`` in {0, 1} (``1`` = ``classes_[1]``),

    .. math:: C \sum_i s_i \big[\log(1 + e^{z_i}) - y_i z_i\big]
              + \rho \|w\|_1 + \frac{1 - \rho}{2} \|w\|_2^2,
              \quad z_i = x_i^\top w + b,

    scikit-learn's objective with ``rho = l1_ratio`` (0: L2, 1: L1), solved as
    :func:`jaxreg.logistic` with ``alpha = 1 / (C sum_i s_i)``. More than two
    classes: one softmax model over all of them, as scikit-learn fits, solved
    as :func:`jaxreg.multinomial` (ungrouped; wrap in scikit-learn's
    ``OneVsRestClassifier`` for one binary problem per class).

    Args:
      penalty: deprecated in scikit-learn; ``"l1"``, ``"l2"``,
        ``"elasticnet"`` or None still map to ``l1_ratio`` and ``C``.
      C: inverse penalty strength (``np.inf``: no penalty).
      l1_ratio: mixing ``rho`` in [0, 1].
      dual: must be False.
      tol: duality-gap tolerance, relative to the null model's mean log-loss
        (default 1e-8, as in :class:`ElasticNet`).
      fit_intercept: fit an unpenalized intercept.
      intercept_scaling: accepted for compatibility (the intercept is never penalized).
      class_weight: None, ``"balanced"`` or a dict; multiplies the sample weights.
      random_state: accepted for compatibility.
      solver: accepted for compatibility: every penalty is solved by FISTA.
      max_iter: maximum proximal-gradient iterations, or coordinate-descent
        epochs for a sparse X on working sets (default 20000).
      verbose: accepted for compatibility.
      warm_start: accepted for compatibility.
      n_jobs: accepted for compatibility.
      penalty_factor: per-feature penalty multipliers.
      standardize: penalize standardized coefficients (glmnet's convention).

    Attributes:
      classes_: the labels.
      coef_: shape ``(1, n_features)`` for two classes, else ``(n_classes, n_features)``.
      intercept_: shape ``(1,)`` or ``(n_classes,)``.
      n_iter_: iterations, shape ``(1,)`` (one problem, binary or softmax).
      n_features_in_, feature_names_in_: as in scikit-learn.

    Example:
      >>> import numpy as np
      >>> from jaxreg.estimators import LogisticRegression
      >>> rng = np.random.default_rng(0)
      >>> X = rng.standard_normal((200, 3)); y = np.where(X[:, 0] > 0, "yes", "no")
      >>> clf = LogisticRegression(C=0.1, l1_ratio=1.0).fit(X, y)
      >>> clf.classes_.tolist(), (clf.coef_[0] != 0).tolist()
      (['no', 'yes'], [True, False, False])
    """

    def __init__(
        self,
        penalty="deprecated",
        *,
        C=1.0,
        l1_ratio=0.0,
        dual=False,
        tol=_TOL,
        fit_intercept=True,
        intercept_scaling=1,
        class_weight=None,
        random_state=None,
        solver="lbfgs",
        max_iter=_MAX_ITER,
        verbose=0,
        warm_start=False,
        n_jobs=None,
        penalty_factor=None,
        standardize=False,
    ):
        self.penalty = penalty
        self.C = C
        self.l1_ratio = l1_ratio
        self.dual = dual
        self.tol = tol
        self.fit_intercept = fit_intercept
        self.intercept_scaling = intercept_scaling
        self.class_weight = class_weight
        self.random_state = random_state
        self.solver = solver
        self.max_iter = max_iter
        self.verbose = verbose
        self.warm_start = warm_start
        self.n_jobs = n_jobs
        self.penalty_factor = penalty_factor
        self.standardize = standardize

    def fit(self, X, y, sample_weight=None):
        """Fit the model (a softmax model beyond two classes).

        Args:
          X: training data, shape ``(n_samples, n_features)``: numpy, pandas,
            scipy.sparse or JAX.
          y: class labels, shape ``(n_samples,)``.
          sample_weight: optional nonnegative weights, shape ``(n_samples,)``.

        Returns:
          self.
        """
        C, l1_ratio = _resolve_logistic_penalty(self, self.l1_ratio)
        _check_positive_number(C, "C", strict=True, allow_inf=True)
        _check_unit(l1_ratio, "l1_ratio")
        _check_positive_number(self.tol, "tol", strict=True)
        check_max_iter(self.max_iter)
        X, y, sw = self._validate_classes(X, y, sample_weight)
        alpha = _alpha_from_C(C, float(np.sum(sw)))
        options = _logistic_options(self, sw, self.max_iter)
        self._softmax = self.classes_.size > 2
        with _precision(X.dtype):
            if self._softmax:
                # One softmax model over every class, as scikit-learn fits.
                labels = np.searchsorted(self.classes_, y).astype(X.dtype)
                K = self.classes_.size
                fit = _numpy(jaxreg.multinomial(X, labels, alpha, l1_ratio, n_classes=K, **options))
                fits = jax.tree.map(lambda a: a[None], fit)
            else:
                fits = _stacked(
                    [
                        _numpy(jaxreg.logistic(X, t, alpha, l1_ratio, **options))
                        for t in self._targets(y)
                    ]
                )
        _warn_unconverged(fits, "LogisticRegression")
        if self._softmax:
            self.coef_, self.intercept_ = fit.coef.T, fit.intercept
        else:
            self.coef_ = fits.coef
            self.intercept_ = fits.intercept if self.fit_intercept else np.zeros(len(fits.coef))
        self.n_iter_ = fits.n_iter
        return self


class LogisticRegressionCV(_LogisticBase):
    r"""Logistic regression with ``C`` (and ``l1_ratio``) chosen by K-fold CV,
    scikit-learn's ``LogisticRegressionCV`` solved by jaxreg.

    Objective as :class:`LogisticRegression`. Every fold x l1_ratio x C fit of
    a binary problem (plus the full-data fits) is solved in one compiled,
    batched call, warm-started along the C grid. The held-out score is
    scikit-learn's ``scoring`` (accuracy by default); the best point maximizes
    the mean score over the folds (on ties, the first C of ``Cs``, then the
    first l1_ratio, as scikit-learn breaks them).
    With more than two classes one softmax model (:func:`jaxreg.multinomial`)
    is cross-validated, as scikit-learn does: one ``C_`` (repeated per class).

    Args:
      Cs: number of C values (log-spaced in [1e-4, 1e4]) or a list of them.
      l1_ratios: None (L2 only, ``(0.0,)``) or a list of mixings in [0, 1].
      fit_intercept: fit an unpenalized intercept.
      cv: None (5-fold ``StratifiedKFold``), an int, or a splitter whose test
        sets partition the samples.
      dual: must be False.
      penalty: deprecated in scikit-learn; ``"l1"``/``"l2"`` set the l1_ratios.
      scoring: None (accuracy), a scikit-learn scorer name or a callable
        ``scorer(estimator, X, y)``.
      solver: accepted for compatibility.
      tol: duality-gap tolerance, as in :class:`LogisticRegression`.
      max_iter: maximum proximal-gradient iterations per fit.
      class_weight: None, ``"balanced"`` or a dict.
      n_jobs: accepted for compatibility.
      verbose: accepted for compatibility.
      refit: True: the full-data fit at the best point; False: the average of
        the folds' fits at their own best points (and the average C).
      intercept_scaling: accepted for compatibility.
      random_state: accepted for compatibility.
      penalty_factor: per-feature penalty multipliers.
      standardize: penalize standardized coefficients (glmnet's convention).

    Attributes:
      classes_, coef_, intercept_: as in :class:`LogisticRegression`.
      Cs_: the C grid. l1_ratios_: the l1_ratio grid.
      C_, l1_ratio_: the selected values, one per binary problem (a softmax
        model's repeated per class).
      scores_: dict class -> held-out scores, ``(n_folds, n_Cs)``, or
        ``(n_folds, n_Cs, n_l1_ratios)`` when ``l1_ratios`` is given
        (scikit-learn's layout).
      coefs_paths_: dict class -> fold coefficients (intercept last),
        ``(n_folds, n_Cs, n_features + fit_intercept)`` (an l1_ratio axis
        after ``n_Cs`` when ``l1_ratios`` is given).
      n_iter_: iterations, ``(n_problems, n_folds, n_Cs)`` (an l1_ratio axis
        last when ``l1_ratios`` is given).

    Example:
      >>> import numpy as np
      >>> from jaxreg.estimators import LogisticRegressionCV
      >>> rng = np.random.default_rng(0)
      >>> X = rng.standard_normal((200, 4))
      >>> y = (X[:, 0] + 0.5 * rng.standard_normal(200) > 0).astype(int)
      >>> clf = LogisticRegressionCV(Cs=5).fit(X, y)
      >>> clf.scores_[1].shape, clf.C_.shape
      ((5, 5), (1,))
    """

    def __init__(
        self,
        *,
        Cs=10,
        l1_ratios=None,
        fit_intercept=True,
        cv=None,
        dual=False,
        penalty="deprecated",
        scoring=None,
        solver="lbfgs",
        tol=_TOL,
        max_iter=_MAX_ITER,
        class_weight=None,
        n_jobs=None,
        verbose=0,
        refit=True,
        intercept_scaling=1.0,
        random_state=None,
        penalty_factor=None,
        standardize=False,
    ):
        self.Cs = Cs
        self.l1_ratios = l1_ratios
        self.fit_intercept = fit_intercept
        self.cv = cv
        self.dual = dual
        self.penalty = penalty
        self.scoring = scoring
        self.solver = solver
        self.tol = tol
        self.max_iter = max_iter
        self.class_weight = class_weight
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.refit = refit
        self.intercept_scaling = intercept_scaling
        self.random_state = random_state
        self.penalty_factor = penalty_factor
        self.standardize = standardize

    def _grids(self):
        Cs = self.Cs
        if isinstance(Cs, numbers.Integral) and not isinstance(Cs, bool):
            if Cs < 1:
                raise ValueError(f"Cs must be a positive integer or a list, got {Cs}")
            Cs = np.logspace(-4, 4, int(Cs))
        Cs = np.asarray(Cs, dtype=np.float64).ravel()
        if Cs.size == 0 or not np.all(np.isfinite(Cs)) or np.any(Cs <= 0):
            raise ValueError(f"Cs must be finite and > 0, got {self.Cs!r}")
        ratios = [0.0] if self.l1_ratios is None else list(np.ravel(self.l1_ratios))
        if self.penalty in ("l1", "l2") and self.l1_ratios is None:
            ratios = [1.0 if self.penalty == "l1" else 0.0]
        elif self.penalty not in ("deprecated", "l1", "l2", "elasticnet"):
            raise ValueError(f"penalty must be 'l1', 'l2' or 'elasticnet', got {self.penalty!r}")
        for r in ratios:
            _check_unit(r, "l1_ratios")
        return Cs, np.asarray(ratios, dtype=np.float64)

    def score(self, X, y, sample_weight=None):
        """The ``scoring`` of the fitted model on ``(X, y)`` (accuracy when it
        is None), as scikit-learn's ``LogisticRegressionCV.score``.

        Args:
          X: samples, shape ``(n_samples, n_features)``.
          y: labels, shape ``(n_samples,)``.
          sample_weight: optional weights, passed to the scorer.

        Returns:
          The score (higher is better, scikit-learn's scorer convention).
        """
        scorer = get_scorer(self.scoring if self.scoring is not None else "accuracy")
        kwargs = {} if sample_weight is None else {"sample_weight": sample_weight}
        return scorer(self, X, y, **kwargs)

    def fit(self, X, y, sample_weight=None):
        """Cross-validate the C (x l1_ratio) grid, select, and refit.

        Args:
          X: training data, shape ``(n_samples, n_features)``: numpy, pandas,
            scipy.sparse or JAX.
          y: class labels, shape ``(n_samples,)``.
          sample_weight: optional nonnegative weights, shape ``(n_samples,)``.

        Returns:
          self.
        """
        Cs, ratios = self._grids()
        _check_positive_number(self.tol, "tol", strict=True)
        check_max_iter(self.max_iter)
        X, y, sw = self._validate_classes(X, y, sample_weight)
        raw_sw = _check_sample_weight(_from_jax(sample_weight), X, dtype=X.dtype)
        foldid = _folds_from_cv(self.cv, X, y, classifier=True)
        K = int(foldid.max()) + 1
        # Increasing C is decreasing alpha: the path's warm-start direction.
        order = np.argsort(Cs)
        scorer = None if self.scoring is None else get_scorer(self.scoring)
        self.Cs_ = Cs
        self.l1_ratios_ = ratios
        self._softmax = self.classes_.size > 2
        if self._softmax:
            self._fit_softmax(X, y, sw, raw_sw, foldid, Cs, ratios, scorer)
            return self
        problems = self._targets(y)
        binary = len(problems) == 1
        with _precision(X.dtype):
            paths = [self._fold_paths(X, t, sw, foldid, Cs[order], ratios) for t in problems]
        unsort = np.argsort(order)
        self.Cs_ = Cs
        self.l1_ratios_ = ratios
        self.scores_, self.coefs_paths_ = {}, {}
        self._full_paths = {}
        coefs, intercepts, C_, l1_ratio_, n_iter = [], [], [], [], []
        keys = self.classes_[1:] if binary else self.classes_
        for key, t, path in zip(keys, problems, paths, strict=True):
            # path leaves: (K + 1, L, n_Cs, ...) on the sorted C grid; here
            # (L, K + 1, n_Cs, ...) on the given one.
            path = jax.tree.map(lambda a: np.swapaxes(a, 0, 1), path)
            # The full-data paths (per l1_ratio, increasing C: decreasing alpha).
            self._full_paths[key] = jax.tree.map(lambda a: a[:, K], path)
            coef = path.coef[:, :, unsort]
            icpt = path.intercept[:, :, unsort]
            _warn_unconverged(path, "LogisticRegressionCV")
            labels = y if binary else t
            classes = self.classes_ if binary else np.array([0.0, 1.0])
            scores = np.empty((K, len(Cs), len(ratios)))
            for k in range(K):
                test = foldid == k
                Xk, yk = X[test], labels[test]
                for li in range(len(ratios)):
                    for ci in range(len(Cs)):
                        scores[k, ci, li] = self._score(
                            scorer, Xk, yk, raw_sw[test], classes, coef[li, k, ci], icpt[li, k, ci]
                        )
            # scikit-learn's flat order: C-major, l1_ratio-minor; first maximum.
            flat = scores.reshape(K, -1)
            if self.refit:
                best = int(np.argmax(flat.mean(axis=0)))
                ci, li = divmod(best, len(ratios))
                coefs.append(coef[li, K, ci])
                intercepts.append(icpt[li, K, ci])
                C_.append(Cs[ci])
                l1_ratio_.append(ratios[li])
            else:
                per_fold = np.argmax(flat, axis=1)
                cis, lis = np.divmod(per_fold, len(ratios))
                coefs.append(np.mean([coef[lis[k], k, cis[k]] for k in range(K)], axis=0))
                intercepts.append(np.mean([icpt[lis[k], k, cis[k]] for k in range(K)]))
                C_.append(np.mean(Cs[cis]))
                l1_ratio_.append(np.mean(ratios[lis]))
            full = np.concatenate([coef, icpt[..., None]], axis=-1) if self.fit_intercept else coef
            full = np.moveaxis(full[:, :K], 0, 2)  # (K, n_Cs, L, p + 1)
            iters = np.moveaxis(path.n_iter[:, :K][:, :, unsort], 0, 2)  # (K, n_Cs, L)
            # scikit-learn keeps the l1_ratio axis whenever l1_ratios is given.
            single = self.l1_ratios is None and len(ratios) == 1
            self.scores_[key] = scores[..., 0] if single else scores
            self.coefs_paths_[key] = full[:, :, 0] if single else full
            n_iter.append(iters[..., 0] if single else iters)
        self.coef_ = np.stack(coefs)
        self.intercept_ = np.asarray(intercepts) if self.fit_intercept else np.zeros(len(coefs))
        self.C_ = np.asarray(C_)
        self.l1_ratio_ = np.asarray(l1_ratio_)
        self.n_iter_ = np.stack(n_iter)
        self._column_scale = jaxreg.plot.column_scale(
            X, sample_weight=sw, fit_intercept=bool(self.fit_intercept)
        )
        self._path_alphas = 1.0 / (Cs[order] * float(np.sum(sw)))
        return self

    def plot_path(self, *, class_=None, names=None, standardized=None, ax=None):
        """Coefficient paths of the full-data fits along the C grid (as
        ``alpha = 1 / (C sum(sample_weight))``, the mean-loss penalty), at the
        selected l1_ratio, nonzero counts on the top axis
        (:func:`jaxreg.plot.plot_path`; needs matplotlib).

        Args:
          class_: with more than two classes, whose coefficients (the
            softmax model's column of that class; default: the first class);
            a binary problem has one path.
          names: feature names (default: ``feature_names_in_`` if any).
          standardized: draw the coefficients times the columns' standard
            deviations (default: ``standardize``).
          ax: matplotlib axes to draw on (default: a new figure).

        Returns:
          The matplotlib axes.
        """
        check_is_fitted(self)
        keys = list(self._full_paths)
        key = keys[0] if class_ is None else class_
        if key not in self._full_paths:
            raise ValueError(f"class_ must be one of {keys}, got {class_!r}")
        row = keys.index(key)
        li = int(np.flatnonzero(self.l1_ratios_ == self.l1_ratio_[row])[0])
        fits = jax.tree.map(lambda a: a[li], self._full_paths[key])
        path = jaxreg.PathResult.from_fits(self._path_alphas, fits)
        return jaxreg.plot.plot_path(path, **self._path_plot_args(names, standardized), ax=ax)

    def _fit_softmax(self, X, y, sw, raw_sw, foldid, Cs, ratios, scorer):
        """Three classes or more: one softmax model per fold and grid point,
        scikit-learn's multinomial ``LogisticRegressionCV``, with its legacy
        attribute layout (one ``C_`` repeated per class; a class's
        ``coefs_paths_`` its column of the coefficients and its intercept)."""
        K, classes = int(foldid.max()) + 1, self.classes_
        order = np.argsort(Cs)
        codes = np.searchsorted(classes, y).astype(X.dtype)
        datafit = multinomial_of(classes.size)
        with _precision(X.dtype):
            path = self._fold_paths(X, codes, sw, foldid, Cs[order], ratios, datafit)
        _warn_unconverged(path, "LogisticRegressionCV")
        unsort = np.argsort(order)
        path = jax.tree.map(lambda a: np.swapaxes(a, 0, 1)[:, :, unsort], path)  # (L, K+1, C)
        coef, icpt = path.coef, path.intercept  # (..., p, n_classes) and (..., n_classes)
        scores = np.empty((K, len(Cs), len(ratios)))
        for k in range(K):
            test = foldid == k
            for li in range(len(ratios)):
                for ci in range(len(Cs)):
                    scores[k, ci, li] = self._score(
                        scorer,
                        X[test],
                        y[test],
                        raw_sw[test],
                        classes,
                        coef[li, k, ci],
                        icpt[li, k, ci],
                    )
        flat = scores.reshape(K, -1)  # C-major, l1_ratio-minor, as scikit-learn
        if self.refit:
            ci, li = divmod(int(np.argmax(flat.mean(axis=0))), len(ratios))
            W, b, C, ratio = coef[li, K, ci], icpt[li, K, ci], Cs[ci], ratios[li]
        else:
            cis, lis = np.divmod(np.argmax(flat, axis=1), len(ratios))
            W = np.mean([coef[lis[k], k, cis[k]] for k in range(K)], axis=0)
            b = np.mean([icpt[lis[k], k, cis[k]] for k in range(K)], axis=0)
            C, ratio = np.mean(Cs[cis]), np.mean(ratios[lis])
        self.coef_, self.intercept_ = W.T, (b if self.fit_intercept else np.zeros_like(b))
        self.C_ = np.full(classes.size, C)
        self.l1_ratio_ = np.full(classes.size, ratio)
        single = self.l1_ratios is None and len(ratios) == 1
        full = coef[:, :K]
        if self.fit_intercept:
            full = np.concatenate([full, icpt[:, :K, :, None, :]], axis=-2)
        full = np.moveaxis(full, 0, 2)  # (K, n_Cs, L, p + 1, n_classes)
        self.scores_ = {c: scores[..., 0] if single else scores for c in classes}
        self.coefs_paths_ = {
            c: full[:, :, 0, :, j] if single else full[..., j] for j, c in enumerate(classes)
        }
        iters = np.moveaxis(path.n_iter[:, :K], 0, 2)  # (K, n_Cs, L)
        self.n_iter_ = (iters[..., 0] if single else iters)[None]
        # Per class, the full data's coefficient paths (increasing C), for plot_path.
        full_path = jax.tree.map(lambda a: a[:, K][:, order], path)
        self._full_paths = {
            c: dataclasses.replace(
                full_path, coef=full_path.coef[..., j], intercept=full_path.intercept[..., j]
            )
            for j, c in enumerate(classes)
        }
        self._column_scale = jaxreg.plot.column_scale(
            X, sample_weight=sw, fit_intercept=bool(self.fit_intercept)
        )
        self._path_alphas = 1.0 / (Cs[order] * float(np.sum(sw)))

    def _fold_paths(self, X, t, sw, foldid, Cs, ratios, datafit=Logistic):
        """Every fold's (and the full data's, last) logistic path along the
        increasing ``Cs`` and the ``ratios``, by cross-validation's engine:
        leaves ``(K + 1, L, n_Cs, ...)`` as numpy arrays.

        scikit-learn's ``C`` multiplies a sum over the training rows: a
        training fold of total weight ``T_k`` solves the mean-loss problem at
        ``alpha = 1 / (C T_k)``, the full data's grid scaled by ``T / T_k``.
        """
        options = dict(
            fit_intercept=self.fit_intercept,
            sample_weight=sw,
            penalty_factor=self.penalty_factor,
            lower=None,
            upper=None,
            positive=False,
            tol=self.tol,
            max_iter=self.max_iter,
            standardize=self.standardize,
            strategy="auto",
            chunk_size=None,
            n_alphas=len(Cs),
            gram=False,
        )
        inputs = checked_inputs(datafit, _as_jax(X), t.astype(X.dtype), options)
        dtype = inputs.dtype
        folds = folds_of(X.shape[0], None, foldid, None, inputs.sample_weight, dtype)
        totals = jnp.sum(folds.W, axis=1)
        folds = folds._replace(alpha_scale=totals[-1] / totals)
        alphas = jnp.asarray(1.0 / (Cs * float(totals[-1])), dtype)
        alphas = jnp.broadcast_to(alphas, (len(ratios), len(Cs)))
        spec = path_spec(datafit, inputs, options, alphas)
        hyper = make_hyper(inputs)
        l1_ratios = jnp.asarray(ratios, dtype)
        X, y, hyper, folds = _buckets.padded_rows(inputs.X, inputs.y, hyper, folds)
        fits, _ = fold_fits(X, y, hyper, folds, alphas, l1_ratios, spec=spec)
        return _numpy(fits)

    def _score(self, scorer, X, y, sample_weight, classes, coef, intercept):
        """A fold's held-out score, weighted by the (raw) sample weights as
        scikit-learn weights it."""
        eta = safe_sparse_dot(X, coef, dense_output=True) + intercept
        if scorer is None:  # accuracy
            picked = np.argmax(eta, axis=1) if eta.ndim == 2 else (eta > 0).astype(int)
            hits = classes[picked] == y
            return float(np.average(hits, weights=sample_weight))
        shell = LogisticRegression()
        shell.classes_ = classes
        shell.coef_ = coef.T if coef.ndim == 2 else coef[None, :]
        shell.intercept_ = np.atleast_1d(intercept)
        shell._softmax = coef.ndim == 2
        shell.n_features_in_ = X.shape[1]
        return float(scorer(shell, X, y, sample_weight=sample_weight))
