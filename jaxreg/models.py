"""The functional API: one call fits one model.

Hyperparameters (``alpha``, ``l1_ratio``, ``sample_weight``, ``penalty_factor``,
bounds, ``tol``) are traced arrays: the functions ``jit``, ``vmap`` over them,
and a new value never recompiles. Options that change the computation's shape
or structure (``fit_intercept``, ``standardize``, the solver, Gram mode) are
static.
"""

from __future__ import annotations

from typing import Literal

import jax.numpy as jnp
from jax import Array
from jax.typing import ArrayLike

from jaxreg import _engine, _problem
from jaxreg import _validation as v
from jaxreg._spec import Spec, check_datafit, datafit_of, make_hyper
from jaxreg.datafits import Logistic, Multinomial, Quadratic, multinomial_of
from jaxreg.result import FitResult, Status

__all__ = ["lasso", "elastic_net", "ridge", "logistic", "multinomial", "alpha_max", "glm"]


_SOLVER_DOC = """      solver: ``"auto"`` (default): on a CPU, coordinate descent on working
        sets for a sparse X in design mode with more than 128 columns when
        every input is concrete and ``diff="implicit"`` (each visit costs a
        column's nonzeros; ``max_iter`` and ``n_iter`` then count its epochs
        and any FISTA iterations that finish it), else ``"fista"``
        (accelerated, with adaptive restart; under a caller's ``jit``,
        ``vmap`` or ``grad`` it batches and traces as one loop); or ``"ista"``.
"""

_OPTIONS_DOC = """
    Args:
      X: design matrix, shape ``(n_samples, n_features)``.
      y: {y_doc}
      alpha: regularization strength, a nonnegative scalar (traced: vmap over it).{extra_args}
      fit_intercept: fit an unpenalized intercept (default True).
      sample_weight: nonnegative per-sample weights, shape ``(n,)``; rescaled
        internally to sum to one (scikit-learn rescales to sum to n: the same
        objective).
      penalty_factor: nonnegative per-feature multipliers of the penalty,
        shape ``(p,)``, rescaled to sum to ``p`` as glmnet's ``penalty.factor``
        is. A zero leaves that feature unpenalized.
      positive: constrain the coefficients to be nonnegative (raises ``lower`` to 0).
      lower: lower bounds on the coefficients, a scalar or shape ``(p,)``.
      upper: upper bounds on the coefficients, a scalar or shape ``(p,)``.
      groups: one integer label per feature, shape ``(p,)``, for the group
        penalty: ``alpha sum_g f_g (rho sqrt(|g|) ||w_g||_2 + (1 - rho) / 2
        ||w_g||^2)``, whole groups in or out (see ``docs/conventions.md``).
        Not with bounds; penalty factors equal within a group. Solved by
        FISTA with block soft-thresholding. None (default): the elastic net.
      standardize: fit on columns scaled to unit weighted standard deviation
        (glmnet's default), returning coefficients on the original scale.
      tol: stopping tolerance on the duality gap, relative to {tol_scale};
        floored at {floor} machine epsilons of the dtype.
      max_iter: maximum number of proximal-gradient iterations.
{solver_doc}      gram: ``"auto"`` (Gram mode when ``n > p``), ``True`` or ``False``.
      check_every: iterations between two evaluations of the certificate.
      diff: how ``jax.grad`` / ``jax.jvp`` differentiate the solution with
        respect to ``X``, ``y``, ``alpha``, {diff_args}``sample_weight``,
        ``penalty_factor`` and the bounds. ``"implicit"`` (default):
        implicit differentiation of the optimality conditions restricted to
        the free coordinates (exact at the solution, costs one linear solve of
        the size of the support, independent of the iterations; see
        ``docs/differentiation.md``). ``"unrolled"``: differentiate through a
        fixed number of solver iterations (``max_iter``, rounded up to a
        multiple of ``check_every``, becomes static); the derivative of the
        returned iterate, right even when it is not converged, at a memory
        cost growing with ``max_iter``.

    Returns:
      A :class:`~jaxreg.FitResult`: ``coef``, ``intercept``, ``n_iter``, the final
      duality ``gap`` and ``gap_tol``, ``kkt``, ``objective`` and ``status``.
      The dtype of ``X`` is kept (float32 stays float32).

    Raises:
      ValueError: on NaN or infinite values, mismatched shapes, empty arrays,
        a negative ``alpha``, ``l1_ratio`` outside [0, 1], negative weights or
        penalty factors, ``lower > upper``{raises_extra}. Value checks run on
        concrete inputs only: under ``jit``/``vmap`` they are skipped.
"""


def elastic_net(
    X: ArrayLike,
    y: ArrayLike,
    alpha: ArrayLike,
    l1_ratio: ArrayLike = 0.5,
    *,
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
    solver: Literal["auto", "fista", "ista"] = "auto",
    gram: Literal["auto"] | bool = "auto",
    check_every: int = 10,
    diff: Literal["implicit", "unrolled"] = "implicit",
) -> FitResult:
    return _engine.glm_fit(Quadratic, X, y, locals())


elastic_net.__doc__ = (
    r"""Elastic-net regression (scikit-learn's ``ElasticNet`` objective).

    Minimizes over ``w`` (with ``lower <= w <= upper``) and ``b``

    .. math:: \frac{1}{2 \sum_i s_i} \sum_i s_i (y_i - x_i^\top w - b)^2
              + \alpha \sum_j f_j \Big(\rho |w_j| + \frac{1 - \rho}{2} w_j^2\Big)

    with ``rho = l1_ratio``, sample weights ``s`` and penalty factors ``f``
    (rescaled to sum to ``p``). This equals scikit-learn's ``ElasticNet(alpha,
    l1_ratio)`` and glmnet's gaussian family with ``lambda = alpha`` and glmnet's
    ``alpha = l1_ratio``. With ``standardize=True`` the penalty applies to
    coefficients of the standardized columns, as in glmnet.
"""
    + _OPTIONS_DOC.format(
        y_doc="targets, shape ``(n_samples,)``.",
        solver_doc=_SOLVER_DOC,
        extra_args="\n      l1_ratio: mixing ``rho`` in [0, 1]: 1 is the lasso, 0 ridge (traced).",
        tol_scale="the weighted variance of ``y`` (scikit-learn's scaling:\n"
        "        ``gap <= tol * ||y - mean(y)||^2 / n``)",
        raises_extra="",
        floor=10,
        diff_args="``l1_ratio``, ",
    )
    + """
    Example:
      >>> import numpy as np, jaxreg
      >>> rng = np.random.default_rng(0)
      >>> X = rng.standard_normal((50, 5)); y = X @ np.array([1.0, 0, 0, -2, 0])
      >>> fit = jaxreg.elastic_net(X, y, alpha=0.1, l1_ratio=0.7)
      >>> bool(fit.converged), int((fit.coef != 0).sum())
      (True, 2)

    References:
      Zou and Hastie, Regularization and variable selection via the elastic net,
      JRSS B 67(2), 2005. Friedman, Hastie and Tibshirani, Regularization paths
      for generalized linear models via coordinate descent, JSS 33(1), 2010.
    """
)


def lasso(
    X: ArrayLike,
    y: ArrayLike,
    alpha: ArrayLike,
    *,
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
    solver: Literal["auto", "fista", "ista"] = "auto",
    gram: Literal["auto"] | bool = "auto",
    check_every: int = 10,
    diff: Literal["implicit", "unrolled"] = "implicit",
) -> FitResult:
    return _engine.glm_fit(Quadratic, X, y, {**locals(), "l1_ratio": 1.0})


lasso.__doc__ = (
    r"""Lasso regression (scikit-learn's ``Lasso`` objective).

    Minimizes over ``w`` (with ``lower <= w <= upper``) and ``b``

    .. math:: \frac{1}{2 \sum_i s_i} \sum_i s_i (y_i - x_i^\top w - b)^2
              + \alpha \sum_j f_j |w_j|,

    scikit-learn's ``Lasso(alpha)``, glmnet's gaussian lasso with
    ``lambda = alpha``, and jaxopt's ``prox_lasso`` with
    ``l1reg = alpha`` on a ``1/(2n)``-scaled loss.
"""
    + _OPTIONS_DOC.format(
        y_doc="targets, shape ``(n_samples,)``.",
        solver_doc=_SOLVER_DOC,
        extra_args="",
        tol_scale="the weighted variance of ``y`` (scikit-learn's scaling:\n"
        "        ``gap <= tol * ||y - mean(y)||^2 / n``)",
        raises_extra="",
        floor=10,
        diff_args="",
    )
    + """
    Example:
      >>> import numpy as np, jaxreg
      >>> rng = np.random.default_rng(0)
      >>> X = rng.standard_normal((50, 5)); y = X @ np.array([1.0, 0, 0, -2, 0])
      >>> fit = jaxreg.lasso(X, y, alpha=0.1, tol=1e-8)
      >>> (np.round(np.asarray(fit.coef, dtype=float), 1) + 0.0).tolist()
      [0.9, 0.0, 0.0, -1.9, 0.0]

    References:
      Tibshirani, Regression shrinkage and selection via the lasso, JRSS B 58(1), 1996.
    """
)


def logistic(
    X: ArrayLike,
    y: ArrayLike,
    alpha: ArrayLike,
    l1_ratio: ArrayLike = 1.0,
    *,
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
    solver: Literal["auto", "fista", "ista", "newton"] = "fista",
    check_every: int = 10,
    diff: Literal["implicit", "unrolled"] = "implicit",
) -> FitResult:
    return _engine.glm_fit(Logistic, X, y, {**locals(), "gram": False})


logistic.__doc__ = (
    r"""Penalized binary logistic regression (glmnet's binomial objective).

    Minimizes over ``w`` (with ``lower <= w <= upper``) and ``b``

    .. math:: \frac{1}{\sum_i s_i} \sum_i s_i \big[\log(1 + e^{z_i}) - y_i z_i\big]
              + \alpha \sum_j f_j \Big(\rho |w_j| + \frac{1 - \rho}{2} w_j^2\Big),
              \quad z_i = x_i^\top w + b,

    the mean log-loss plus the elastic-net penalty, ``y`` in {0, 1}. This is
    glmnet's binomial family with ``lambda = alpha`` and glmnet's
    ``alpha = l1_ratio``. scikit-learn's ``LogisticRegression(C, l1_ratio)``
    (unit sample weights) is the same problem with ``alpha = 1 / (C n)``. The
    default ``l1_ratio=1`` is the L1 (sparse) model, as in glmnet.

    The gap stopping rule is ``gap <= tol * H``, with ``H`` the binary entropy
    of the weighted mean of ``y`` (the mean log-loss of the intercept-only
    model) when fitting an intercept, else ``log 2`` (the loss at zero).
"""
    + _OPTIONS_DOC.format(
        y_doc="binary labels in {0, 1}, shape ``(n_samples,)``.",
        solver_doc=(
            '      solver: ``"newton"`` (proximal Newton on working sets: coordinate\n'
            "        descent on the loss's quadratic model, then a line search; dense or\n"
            '        sparse X), ``"fista"`` (default; accelerated, with adaptive restart),\n'
            '        ``"ista"`` or ``"auto"``: ``"newton"`` on a CPU when every input is\n'
            '        concrete, else ``"fista"`` (under a caller\'s ``jit``, ``vmap`` or\n'
            "        ``grad``, FISTA batches and traces as one loop).\n"
        ),
        extra_args="\n      l1_ratio: mixing ``rho`` in [0, 1]: 1 is L1, 0 is L2 (traced).",
        tol_scale="the null model's mean log-loss (see above)",
        raises_extra=", labels other than 0 and 1 or a single class",
        floor=100,
        diff_args="``l1_ratio``, ",
    ).replace('      gram: ``"auto"`` (Gram mode when ``n > p``), ``True`` or ``False``.\n', "")
    + """
    Example:
      >>> import numpy as np, jaxreg
      >>> rng = np.random.default_rng(0)
      >>> X = rng.standard_normal((200, 4))
      >>> y = (X[:, 0] - X[:, 2] + 0.5 * rng.standard_normal(200) > 0).astype(float)
      >>> fit = jaxreg.logistic(X, y, alpha=0.05)
      >>> bool(fit.converged), (np.asarray(fit.coef) != 0).tolist()
      (True, [True, False, True, False])

    References:
      Friedman, Hastie and Tibshirani, Regularization paths for generalized
      linear models via coordinate descent, JSS 33(1), 2010.
    """
)


def multinomial(
    X: ArrayLike,
    y: ArrayLike,
    alpha: ArrayLike,
    l1_ratio: ArrayLike = 1.0,
    *,
    grouped: bool = False,
    n_classes: int | None = None,
    fit_intercept: bool = True,
    sample_weight: ArrayLike | None = None,
    penalty_factor: ArrayLike | None = None,
    positive: bool = False,
    lower: ArrayLike | None = None,
    upper: ArrayLike | None = None,
    standardize: bool = False,
    tol: float = 1e-4,
    max_iter: int = 20_000,
    solver: Literal["fista", "ista"] = "fista",
    check_every: int = 10,
) -> FitResult:
    r"""Penalized multinomial (softmax) regression, glmnet's multinomial family.

    Minimizes over ``W`` (shape ``(p, K)``, with ``lower <= W <= upper``) and
    ``b`` (shape ``(K,)``)

    .. math:: \frac{1}{\sum_i s_i} \sum_i s_i \big[\log \textstyle\sum_k e^{z_{ik}}
              - z_{i y_i}\big] + \alpha \sum_j f_j \Big(\rho\, \mathrm{pen}_j
              + \frac{1 - \rho}{2} \|W_{j,:}\|_2^2\Big), \quad z_i = x_i^\top W + b,

    with ``pen_j = ||W_j,:||_1`` (ungrouped, glmnet's default) or
    ``||W_j,:||_2`` (``grouped=True``, glmnet's ``type.multinomial =
    "grouped"``: a feature is in or out for every class at once). This is
    glmnet's multinomial family with ``lambda = alpha`` and glmnet's ``alpha
    = l1_ratio``; scikit-learn's multinomial ``LogisticRegression(C)`` with
    an L2 penalty (unit weights) is ``l1_ratio = 0`` and ``alpha = 1 / (C
    n)``. The gap stopping rule is ``gap <= tol * H``, ``H`` the entropy of
    the weighted class frequencies (the intercept-only model's mean loss;
    ``log K`` without an intercept), floored at 100 machine epsilons.

    Args:
      X: design matrix, shape ``(n, p)``, dense or sparse.
      y: class labels ``0..K-1``, shape ``(n,)``.
      alpha: regularization strength, a nonnegative scalar (traced).
      l1_ratio: mixing ``rho`` in [0, 1] (traced).
      grouped: the grouped penalty (a feature's coefficients in or out
        together); not with bounds.
      n_classes: ``K``; inferred as ``max(y) + 1`` from a concrete ``y``
        (required under ``jit``).
      fit_intercept: fit one unpenalized intercept per class.
      sample_weight: nonnegative per-sample weights, as in :func:`logistic`.
      penalty_factor: per-feature multipliers, as in :func:`logistic`; a
        feature's factor applies to all its classes.
      positive: constrain every coefficient to be nonnegative (not with ``grouped``).
      lower: lower bounds, a scalar or one per feature (all its classes).
      upper: upper bounds, a scalar or one per feature (all its classes).
      standardize: penalize the coefficients of standardized columns.
      tol: stopping tolerance on the duality gap, relative to the null
        model's mean loss (see above).
      max_iter: maximum number of proximal-gradient iterations.
      check_every: iterations between two evaluations of the certificate.
      solver: ``"fista"`` (default, accelerated) or ``"ista"``.

    Returns:
      A :class:`~jaxreg.FitResult` with ``coef`` of shape ``(p, K)`` and
      ``intercept`` of shape ``(K,)``. Without a penalty on them the
      coefficients are defined up to a constant per feature across classes
      (the softmax ignores it); any penalty with ``alpha > 0`` removes it.

    Raises:
      ValueError: on labels outside ``0..K-1`` or fewer than two classes
        present, and on the bad inputs :func:`logistic` rejects.

    Example:
      >>> import numpy as np, jaxreg
      >>> rng = np.random.default_rng(0)
      >>> X = rng.standard_normal((150, 4))
      >>> y = np.argmax(X[:, :3] + 0.3 * rng.standard_normal((150, 3)), axis=1)
      >>> fit = jaxreg.multinomial(X, y, alpha=0.01)
      >>> fit.coef.shape, bool(fit.converged)
      ((4, 3), True)
    """
    datafit = multinomial_of(_engine.n_classes_of(y, n_classes))
    groups = _engine.grouped_features(X, grouped)
    options = {**locals(), "gram": False, "groups": groups, "diff": "implicit"}
    return _engine.glm_fit(datafit, X, v.from_frame(y, "y"), options)


# ----------------------------------------------------------------------------
# Ridge: closed forms
# ----------------------------------------------------------------------------


def ridge(
    X: ArrayLike,
    y: ArrayLike,
    alpha: ArrayLike,
    *,
    fit_intercept: bool = True,
    sample_weight: ArrayLike | None = None,
    penalty_factor: ArrayLike | None = None,
    positive: bool = False,
    lower: ArrayLike | None = None,
    upper: ArrayLike | None = None,
    standardize: bool = False,
    solver: Literal["auto", "cholesky", "dual", "svd", "cg", "fista"] = "auto",
    tol: float = 1e-4,
    max_iter: int = 20_000,
    check_every: int = 10,
    diff: Literal["implicit", "unrolled"] = "implicit",
) -> FitResult:
    r"""Ridge regression (scikit-learn's ``Ridge`` objective).

    Minimizes over ``w`` and ``b``

    .. math:: \sum_i s_i (y_i - x_i^\top w - b)^2 + \alpha \sum_j f_j w_j^2,

    exactly scikit-learn's ``Ridge(alpha)`` (whose sample weights are *not*
    rescaled) with penalty factors ``f`` rescaled to sum to ``p``. Solved in
    closed form: Cholesky on the ``p x p`` normal equations when ``n >= p``,
    the dual (kernel) ``n x n`` system when ``p > n``, or an SVD (``"svd"``,
    the route that serves many alphas at once, see :func:`jaxreg.solvers.ridge_svd`).
    With bounds (``positive``, ``lower``, ``upper``) there is no closed form and
    the problem is solved by FISTA as the equivalent elastic net with
    ``l1_ratio = 0`` and ``alpha / sum(s)``.

    Args:
      X: design matrix, shape ``(n_samples, n_features)``.
      y: targets, shape ``(n_samples,)``.
      alpha: nonnegative penalty (traced). At ``alpha = 0`` (least squares) a
        rank-deficient design (a constant column, ``p > n``) breaks the
        Cholesky and dual factorizations; an eager call then solves again by
        SVD (dense X) or conjugate gradients (sparse X), which give the
        minimum-norm solution (scikit-learn's ``LinearRegression``). Under
        ``jit`` or ``grad`` the route stays as chosen, so ask for
        ``solver="svd"`` there.
      fit_intercept: fit an unpenalized intercept (default True).
      sample_weight: nonnegative per-sample weights, used as given.
      penalty_factor: nonnegative per-feature multipliers, rescaled to sum to
        ``p``. The dual and SVD routes need them positive.
      positive: constrain the coefficients to be nonnegative.
      lower: lower bounds on the coefficients, a scalar or shape ``(p,)``.
      upper: upper bounds on the coefficients, a scalar or shape ``(p,)``.
      standardize: fit on columns scaled to unit weighted standard deviation
        (as glmnet does), returning coefficients on the original scale.
      solver: ``"auto"``, ``"cholesky"``, ``"dual"``, ``"svd"``, ``"cg"`` or
        ``"fista"``. ``"cg"``: conjugate gradients on the normal equations,
        matrix-free (a sparse X stays sparse). ``"auto"`` picks ``"fista"``
        with bounds; for a sparse X, ``"cholesky"`` on its Gram matrix when
        ``p <= min(n, 2048)``, else ``"cg"``; for a dense X, ``"cholesky"``
        when ``n >= p``, else ``"dual"``.
      tol: tolerance on the duality gap: ``gap <= tol * 2 sum_i s_i (y_i - ybar)^2``
        (``ybar = 0`` without intercept), the objective's value at ``w = 0``
        times two; a closed form whose gap exceeds it is reported ``INACCURATE``.
      max_iter: iterations for the bounded (FISTA) route and products for ``"cg"``.
      check_every: iterations between certificates for the FISTA route.
      diff: for the FISTA route (bounds), ``"implicit"`` or ``"unrolled"`` as in
        :func:`jaxreg.lasso`. The closed forms are differentiated directly by
        JAX (through the Cholesky factorization or the SVD), in both modes.

    Returns:
      A :class:`~jaxreg.FitResult`; ``gap`` and ``objective`` are in the units
      of the objective above. ``n_iter`` is 0 for the closed forms.

    Raises:
      ValueError: on invalid inputs, as :func:`jaxreg.lasso`, and on zero
        penalty factors with the dual or SVD route.

    Example:
      >>> import numpy as np, jaxreg
      >>> rng = np.random.default_rng(0)
      >>> X = rng.standard_normal((30, 3)); y = X @ np.array([1.0, 2.0, 3.0])
      >>> fit = jaxreg.ridge(X, y, alpha=1.0, fit_intercept=False)
      >>> w = np.linalg.solve(X.T @ X + np.eye(3), X.T @ y)
      >>> bool(np.allclose(fit.coef, w, atol=1e-5))
      True

    References:
      Hoerl and Kennard, Ridge regression: biased estimation for nonorthogonal
      problems, Technometrics 12(1), 1970.
    """
    v.check_choice(solver, "solver", ("auto", "cholesky", "dual", "svd", "cg", "fista"))
    v.check_choice(diff, "diff", ("implicit", "unrolled"))
    options = locals()
    inputs = _engine.checked_inputs(Quadratic, X, y, options)
    alpha = v.check_scalar(alpha, "alpha", inputs.dtype, low=0.0)
    bounded = positive or lower is not None or upper is not None
    solver = _engine.ridge_solver(solver, inputs.X.shape, v.is_sparse(inputs.X), bounded)
    if solver in ("dual", "svd") and v.is_concrete(inputs.penalty_factor):
        if bool(jnp.any(inputs.penalty_factor == 0)):
            raise ValueError(
                f"penalty_factor must be positive with solver={solver!r}; use solver='cholesky'"
            )
    if solver == "fista":
        # The equivalent elastic net (l1_ratio = 0, alpha / sum(s)), in Gram
        # mode when n > p.
        total = jnp.sum(inputs.sample_weight)
        n, p = inputs.X.shape
        spec = _engine.glm_spec(Quadratic, inputs, {**options, "gram": n > p, "solver": "fista"})
        hyper = make_hyper(inputs, alpha / total, 0.0)
        fit = _engine.solve_glm(inputs.X, inputs.y, hyper, spec=spec)
        return _engine.in_ridge_units(fit, total)
    fit = _closed_form_ridge(inputs, alpha, solver, fit_intercept, standardize)
    if solver in ("cholesky", "dual") and _least_squares_failed(fit, alpha, inputs):
        # Least squares on a rank-deficient design (a constant column, p > n),
        # where both factorizations break down: the SVD gives the
        # minimum-norm solution, and conjugate gradients from zero reach it.
        solver = "cg" if v.is_sparse(inputs.X) else "svd"
        fit = _closed_form_ridge(inputs, alpha, solver, fit_intercept, standardize)
    return fit


def _closed_form_ridge(inputs, alpha, solver: str, fit_intercept, standardize) -> FitResult:
    spec = Spec(
        Quadratic,
        fit_intercept=bool(fit_intercept),
        standardize=bool(standardize),
        ridge_solver=solver,
    )
    return _engine.solve_ridge(inputs.X, inputs.y, make_hyper(inputs, alpha), spec=spec)


def _least_squares_failed(fit: FitResult, alpha, inputs) -> bool:
    """Whether an eager fit at ``alpha = 0`` came back non-finite, or
    uncertified (the dual form has no Newton decrement for the free
    coordinates), where the SVD can serve (penalty factors, which scale its
    columns, all positive). Traced calls keep their route: its derivatives
    are finite wherever the design has full rank."""
    pf = inputs.penalty_factor
    concrete = all(v.is_concrete(a) for a in (alpha, fit.status, pf))
    return (
        concrete
        and float(alpha) == 0
        and int(fit.status) in (Status.NONFINITE, Status.INACCURATE)
        and bool(jnp.all(pf > 0))
    )


# ----------------------------------------------------------------------------
# alpha_max
# ----------------------------------------------------------------------------


def alpha_max(
    X: ArrayLike,
    y: ArrayLike,
    l1_ratio: ArrayLike = 1.0,
    *,
    loss: Literal["squared", "logistic", "multinomial"] = "squared",
    fit_intercept: bool = True,
    sample_weight: ArrayLike | None = None,
    penalty_factor: ArrayLike | None = None,
    positive: bool = False,
    lower: ArrayLike | None = None,
    upper: ArrayLike | None = None,
    groups: ArrayLike | None = None,
    standardize: bool = False,
    tol: float = 1e-10,
    max_iter: int = 20_000,
) -> Array:
    r"""Smallest ``alpha`` at which every penalized coefficient is zero.

    For the objectives of :func:`elastic_net`, :func:`logistic` and
    :func:`multinomial` (``loss="multinomial"``, labels ``0..K-1``; same
    arguments and conventions), the penalized coefficients are all zero iff

    .. math:: \alpha \ge \max_{j: f_j > 0} \frac{|\nabla_j L(w^0)|_{\pm}}{\rho f_j},

    where :math:`w^0` is the fit of the intercept and the unpenalized features
    alone (computed by the solver when some ``f_j = 0``), :math:`L` the mean loss,
    ``f`` the rescaled penalty factors, and :math:`|\cdot|_\pm` keeps only the
    directions the bounds allow (a feature with ``upper = 0`` cannot move up).
    Infinite when ``l1_ratio = 0``. With ``groups`` (as in :func:`lasso`) the
    ratio is taken per group: :math:`\max_g \|\nabla_g L(w^0)\|_2 / (\rho
    \sqrt{|g|} f_g)`.

    Example:
      >>> import numpy as np, jaxreg
      >>> rng = np.random.default_rng(0)
      >>> X = rng.standard_normal((40, 6)); y = rng.standard_normal(40)
      >>> a = float(jaxreg.alpha_max(X, y))
      >>> bool(np.all(np.asarray(jaxreg.lasso(X, y, a).coef) == 0))
      True
    """
    datafit = datafit_of(loss)
    if datafit is Multinomial:  # a class per class count, from the labels
        datafit = multinomial_of(_engine.n_classes_of(y, None))
    options = locals()
    inputs = _engine.checked_inputs(datafit, X, y, options)
    l1_ratio = v.check_scalar(l1_ratio, "l1_ratio", inputs.dtype, low=0.0, high=1.0)
    spec = Spec(
        datafit,
        fit_intercept=bool(fit_intercept),
        standardize=bool(standardize),
        null_fit=_problem.needs_null_fit(inputs.penalty_factor),
        free=_engine.free_count(inputs),
        groups=v.check_groups(groups, inputs, bool(positive)),
    )
    hyper = make_hyper(inputs, l1_ratio=l1_ratio)
    return _engine.alpha_max(inputs.X, inputs.y, hyper, spec=spec)


def glm(
    X: ArrayLike,
    y: ArrayLike,
    datafit,
    alpha: ArrayLike,
    l1_ratio: ArrayLike = 1.0,
    *,
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
    solver: Literal["fista", "ista"] = "fista",
    gram: bool = False,
    check_every: int = 10,
    diff: Literal["implicit", "unrolled"] = "implicit",
) -> FitResult:
    r"""Elastic-net fit of any datafit class that follows the datafit protocol.

    Minimizes over ``w`` (with ``lower <= w <= upper``) and ``b``

    .. math:: \frac{1}{\sum_i s_i} \sum_i s_i\, \ell(y_i, x_i^\top w + b)
              + \alpha \sum_j f_j \Big(\rho |w_j| + \frac{1 - \rho}{2} w_j^2\Big),

    with ``ell`` the datafit's ``pointwise`` loss: :func:`elastic_net` and
    :func:`logistic` are this function with the library's ``Quadratic`` and
    ``Logistic`` datafits. This is the extension point for a new loss: write
    a datafit class (``docs/architecture.md`` lists what it must provide) and
    it gets the solvers, certificates, standardization, weights, bounds and
    implicit differentiation of the built-in ones. Arguments as in
    :func:`logistic`; ``gram=True`` needs a datafit with ``from_gram``.

    Raises:
      TypeError: if ``datafit`` lacks part of the protocol.
      ValueError: on invalid inputs, as :func:`elastic_net`.

    Example:
      >>> import numpy as np, jaxreg
      >>> from jaxreg.datafits import Quadratic
      >>> rng = np.random.default_rng(0)
      >>> X = rng.standard_normal((50, 5)); y = X @ np.array([1.0, 0, 0, -2, 0])
      >>> a = jaxreg.glm(X, y, Quadratic, 0.1, tol=1e-10)
      >>> b = jaxreg.lasso(X, y, 0.1, tol=1e-10)
      >>> bool(np.allclose(a.coef, b.coef, atol=1e-8))
      True
    """
    check_datafit(datafit)
    return _engine.glm_fit(datafit, X, y, locals())
