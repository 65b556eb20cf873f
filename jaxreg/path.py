"""Regularization paths: a whole grid of alphas in one compiled call.

The data-dependent setup (centering, Gram matrix, Lipschitz constant) is done
once for the whole path, and the grid is walked by one of the strategies of
:mod:`jaxreg._strategies` (``"vmap"``, ``"warm"`` or ``"working_set"``).
"""

from __future__ import annotations

import dataclasses
from typing import Literal

import jax
import jax.numpy as jnp
from jax import Array
from jax.typing import ArrayLike

from jaxreg import _buckets, _compile, _problem, _working_set
from jaxreg import _validation as v
from jaxreg._engine import (
    checked_inputs,
    glm_spec,
    grouped_features,
    n_classes_of,
    solve_ridge,
    top_for_ratio,
)
from jaxreg._spec import Hyper, Spec, make_hyper
from jaxreg._strategies import coordinate_descent, geometric_grid, solve_path
from jaxreg.datafits import Logistic, Quadratic, multinomial_of
from jaxreg.result import PathResult

__all__ = [
    "PathResult",
    "alpha_grid",
    "lasso_path",
    "enet_path",
    "logistic_path",
    "multinomial_path",
    "ridge_path",
]


def resolve_eps(eps, n: int, p: int) -> float:
    if eps == "glmnet":
        # glmnet's lambda.min.ratio default
        return 1e-2 if n < p else 1e-4
    if isinstance(eps, str) or not 0 < float(eps) < 1:
        raise ValueError(f"eps must be in (0, 1) or 'glmnet', got {eps!r}")
    return float(eps)


def alpha_grid(
    X: ArrayLike,
    y: ArrayLike,
    l1_ratio: ArrayLike = 1.0,
    *,
    n_alphas: int = 100,
    eps: float | Literal["glmnet"] = 1e-3,
    loss: Literal["squared", "logistic", "multinomial"] = "squared",
    fit_intercept: bool = True,
    sample_weight: ArrayLike | None = None,
    penalty_factor: ArrayLike | None = None,
    positive: bool = False,
    lower: ArrayLike | None = None,
    upper: ArrayLike | None = None,
    groups: ArrayLike | None = None,
    standardize: bool = False,
) -> Array:
    r"""The default grid: ``n_alphas`` values from ``alpha_max`` down to ``eps * alpha_max``.

    Geometrically spaced, decreasing,

    .. math:: \alpha_k = \alpha_{\max}\, \epsilon^{k / (K - 1)}, \quad k = 0, \dots, K - 1,

    with :math:`\alpha_{\max}` from :func:`~jaxreg.alpha_max` (intercept,
    weights, penalty factors, bounds and ``l1_ratio`` taken into account), as
    scikit-learn's ``_alpha_grid`` and glmnet's lambda sequence are built.

    Args:
      X: design matrix, shape ``(n, p)``.
      y: targets, shape ``(n,)`` (``{0, 1}`` labels for ``loss="logistic"``).
      l1_ratio: the elastic-net mixing parameter (``alpha_max`` scales as ``1 / l1_ratio``).
      loss: ``"squared"`` or ``"logistic"``.
      fit_intercept: fit an unpenalized intercept.
      sample_weight: nonnegative per-sample weights, shape ``(n,)``.
      penalty_factor: nonnegative per-feature multipliers of the penalty, shape ``(p,)``.
      positive: constrain the coefficients to be nonnegative.
      lower: lower bounds on the coefficients, a scalar or shape ``(p,)``.
      upper: upper bounds on the coefficients, a scalar or shape ``(p,)``.
      groups: one integer label per feature for the group penalty, as in
        :func:`~jaxreg.alpha_max`.
      standardize: glmnet-style standardization, as in :func:`~jaxreg.alpha_max`.
      n_alphas: number of grid points.
      eps: ``alpha_min / alpha_max`` (default ``1e-3``, as scikit-learn), or
        ``"glmnet"`` for glmnet's ``lambda.min.ratio`` rule (``1e-2`` when
        ``n < p``, else ``1e-4``).

    Example:
      >>> import numpy as np, jaxreg
      >>> rng = np.random.default_rng(0)
      >>> X = rng.standard_normal((50, 4)); y = rng.standard_normal(50)
      >>> grid = jaxreg.alpha_grid(X, y, n_alphas=3, eps=1e-2)
      >>> bool(np.allclose(grid / grid[0], [1.0, 0.1, 0.01]))
      True
    """
    from jaxreg.models import alpha_max

    n, p = jnp.shape(X)
    eps = resolve_eps(eps, n, p)
    n_alphas = v.check_count(n_alphas, "n_alphas")
    top = alpha_max(
        X,
        y,
        l1_ratio,
        loss=loss,
        fit_intercept=fit_intercept,
        sample_weight=sample_weight,
        penalty_factor=penalty_factor,
        positive=positive,
        lower=lower,
        upper=upper,
        groups=groups,
        standardize=standardize,
    )
    return geometric_grid(top, int(n_alphas), eps)


_DEFAULT_CHUNK = 4


def default_strategy(
    strategy: str, chunk_size: int | None, *, working_set: bool = False, small: bool = False
) -> tuple[str, int]:
    """Resolve ``strategy="auto"`` and the chunk size.

    ``working_set``: whether the problem suits the working-set solvers (see
    :func:`jaxreg._working_set.suits`: a dense or sparse design in design
    mode, and for the squared loss more than 128 features); ``"auto"`` then
    picks them on a CPU. ``small``: a small design (see
    :func:`jaxreg._compile.small_design`), whose chunks default to one grid
    point: a chunk's points share each product with a large design, while a
    small one's first call is mostly tracing and compiling, and an unbatched
    solve traces in half the time (a batch's loops select every carried
    value at every iteration).
    """
    v.check_choice(strategy, "strategy", ("auto", "vmap", "warm", "working_set"))
    if strategy == "auto":
        if jax.default_backend() in ("gpu", "tpu"):
            strategy = "vmap"
        else:
            strategy = "working_set" if working_set else "warm"
    if chunk_size is None:
        chunk_size = 1 if small else _DEFAULT_CHUNK
    if int(chunk_size) < 1:
        raise ValueError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    return strategy, int(chunk_size)


@_compile.jit(
    static_argnames=("spec",), unhoisted=coordinate_descent, quick=lambda kw: True, unoptimized=True
)
def _glm_path(X, y, alphas, hyper: Hyper, *, spec: Spec) -> PathResult:
    problem = _problem.setup(spec, hyper, X, y)
    if alphas is None:
        # From the prepared problem: no second setup (centering, Lipschitz).
        tol = jnp.asarray(1e-10, X.dtype)
        top = _problem.alpha_max(problem, hyper.max_iter, tol, spec.null_fit)
        alphas = geometric_grid(top_for_ratio(top, hyper.l1_ratio), spec.n_alphas, hyper.eps)
    fits = solve_path(problem, alphas, hyper.l1_ratio, hyper.max_iter, spec)
    return PathResult.from_fits(alphas, fits)


def path_spec(datafit, inputs: v.Inputs, options: dict, alphas) -> Spec:
    """The static spec of a public path or CV call from its keyword arguments."""
    spec = glm_spec(datafit, inputs, options)
    n_alphas = v.check_count(options["n_alphas"], "n_alphas")
    strategy, chunk_size = default_strategy(
        options["strategy"],
        options["chunk_size"],
        working_set=_working_set.suits(spec, inputs.X),
        small=_compile.small_design(inputs.X),
    )
    if spec.groups is not None and strategy == "working_set":
        raise ValueError("strategy='working_set' needs a separable penalty; with groups use 'warm'")
    return dataclasses.replace(
        spec,
        strategy=strategy,
        chunk_size=chunk_size,
        n_alphas=n_alphas,
        # Only a default grid needs alpha_max (a fixed flag otherwise: one compilation).
        null_fit=alphas is None and _problem.needs_null_fit(inputs.penalty_factor),
    )


def _glm_path_public(datafit, X, y, options: dict) -> PathResult:
    """The path behind :func:`enet_path`, :func:`lasso_path` and :func:`logistic_path`."""
    inputs = checked_inputs(datafit, X, y, options)
    dtype = inputs.dtype
    l1_ratio = v.check_scalar(options["l1_ratio"], "l1_ratio", dtype, low=0.0, high=1.0)
    alphas = v.check_alphas(options["alphas"], dtype)
    if alphas is None and v.is_concrete(l1_ratio) and float(l1_ratio) == 0.0:
        raise ValueError("l1_ratio=0 has no alpha_max: pass alphas explicitly")
    spec = path_spec(datafit, inputs, options, alphas)
    eps = resolve_eps(options["eps"], *inputs.X.shape)
    hyper = make_hyper(inputs, l1_ratio=l1_ratio, eps=eps)
    X, y, hyper, _ = _buckets.padded_rows(inputs.X, inputs.y, hyper)
    return _glm_path(X, y, alphas, hyper, spec=spec)


_GROUPS_ARG = """      groups: one integer label per feature for the group penalty, as in
        :func:`~jaxreg.lasso` (default None: the elastic net).
"""
_PATH_ARGS = """
    Args:
      X: design matrix, shape ``(n, p)``.
      y: {y}
      {l1}alphas: the grid (decreasing for the warm strategy); by default
        ``n_alphas`` values geometrically spaced from :func:`~jaxreg.alpha_max`
        down to ``eps * alpha_max``, as scikit-learn builds it.
      n_alphas: grid size when ``alphas`` is None (default 100).
      eps: ratio of the smallest to the largest alpha (default ``1e-3``, as
        scikit-learn); ``"glmnet"`` uses glmnet's ``lambda.min.ratio`` rule
        (``1e-2`` when ``n < p``, else ``1e-4``).
      fit_intercept: fit an unpenalized intercept.
      sample_weight: nonnegative per-sample weights, shape ``(n,)``.
      penalty_factor: nonnegative per-feature multipliers of the penalty,
        shape ``(p,)``, as in :func:`~jaxreg.{single}`.
      positive: constrain the coefficients to be nonnegative.
      lower: lower bounds on the coefficients, a scalar or shape ``(p,)``.
      upper: upper bounds on the coefficients, a scalar or shape ``(p,)``.
      groups: one integer label per feature for the group penalty, as in
        :func:`~jaxreg.lasso` (default None: the elastic net).
      standardize: fit on standardized columns, as in :func:`~jaxreg.{single}`.
      tol: stopping tolerance on the duality gap, as in :func:`~jaxreg.{single}`.
      max_iter: maximum number of iterations per grid point (proximal-gradient
        iterations, or coordinate-descent sweeps on a working set).
      strategy: ``"vmap"`` (cold starts, one batch), ``"warm"`` (continuation
        over chunks of the grid), ``"working_set"`` (continuation one point at
        a time, each solved on a working set of columns: for the squared loss
        coordinate descent in design mode, FISTA in Gram mode; for the
        logistic loss proximal Newton steps; a sparse design is read column
        by column, never densified) or ``"auto"``: on GPU and TPU
        ``"vmap"``; on CPU ``"working_set"`` for the squared loss in design
        mode (``n <= p``, ``gram=False`` or a sparse X) and for the logistic
        loss, else ``"warm"``. Under an outer
        ``vmap`` pass ``"warm"`` or ``"vmap"``: a vmapped working-set solve
        evaluates every set size.
      chunk_size: grid points per chunk for the warm strategy (default 4, and
        1 for a design of at most 65 536 entries; 1 is plain sequential
        continuation).{gram}
      check_every: iterations between certificate evaluations.

    Returns:
      A :class:`PathResult`: the grid and, per grid point, the fields of
      :class:`~jaxreg.FitResult`.
"""


def enet_path(
    X: ArrayLike,
    y: ArrayLike,
    l1_ratio: ArrayLike = 0.5,
    *,
    alphas: ArrayLike | None = None,
    n_alphas: int = 100,
    eps: float | Literal["glmnet"] = 1e-3,
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
    check_every: int = 10,
) -> PathResult:
    return _glm_path_public(Quadratic, X, y, locals())


enet_path.__doc__ = (
    r"""Elastic-net path: :func:`~jaxreg.elastic_net` along a grid of alphas.

    At each ``alpha`` of the grid, minimizes

    .. math:: \frac{1}{2 \sum_i s_i} \sum_i s_i (y_i - x_i^\top w - b)^2
              + \alpha \sum_j f_j \Big(\rho |w_j| + \frac{1 - \rho}{2} w_j^2\Big),

    scikit-learn's ``enet_path`` objective (glmnet's gaussian path with
    ``lambda = alpha``), solved for the whole grid in one compiled call.
"""
    + _PATH_ARGS.format(
        y="targets, shape ``(n,)``.",
        l1="l1_ratio: the mixing ``rho`` in [0, 1].\n      ",
        single="elastic_net",
        gram='\n      gram: Gram mode (``"auto"``: when ``n > p``).',
    )
    + """
    Example:
      >>> import numpy as np, jaxreg
      >>> rng = np.random.default_rng(0)
      >>> X = rng.standard_normal((60, 8)); y = X[:, 0] - 2 * X[:, 3] + rng.standard_normal(60)
      >>> path = jaxreg.enet_path(X, y, 0.5, n_alphas=20)
      >>> path.coef.shape, int(path.n_nonzero[0]), bool(path.converged.all())
      ((20, 8), 0, True)
    """
)


def lasso_path(
    X: ArrayLike,
    y: ArrayLike,
    *,
    alphas: ArrayLike | None = None,
    n_alphas: int = 100,
    eps: float | Literal["glmnet"] = 1e-3,
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
    check_every: int = 10,
) -> PathResult:
    return _glm_path_public(Quadratic, X, y, {**locals(), "l1_ratio": 1.0})


lasso_path.__doc__ = (
    r"""Lasso path: :func:`~jaxreg.lasso` along a grid of alphas.

    At each ``alpha`` of the grid, minimizes

    .. math:: \frac{1}{2 \sum_i s_i} \sum_i s_i (y_i - x_i^\top w - b)^2
              + \alpha \sum_j f_j |w_j|,

    scikit-learn's ``lasso_path`` objective, solved for the whole grid in one
    compiled call.
"""
    + _PATH_ARGS.format(
        y="targets, shape ``(n,)``.",
        l1="",
        single="lasso",
        gram='\n      gram: Gram mode (``"auto"``: when ``n > p``).',
    )
    + """
    Example:
      >>> import numpy as np, jaxreg
      >>> rng = np.random.default_rng(0)
      >>> X = rng.standard_normal((60, 8)); y = X[:, 0] - 2 * X[:, 3] + rng.standard_normal(60)
      >>> path = jaxreg.lasso_path(X, y, n_alphas=10)
      >>> int(path.n_nonzero[0]), int(path.n_nonzero[-1]) >= 2, bool(path.converged.all())
      (0, True, True)
    """
)


def logistic_path(
    X: ArrayLike,
    y: ArrayLike,
    l1_ratio: ArrayLike = 1.0,
    *,
    alphas: ArrayLike | None = None,
    n_alphas: int = 100,
    eps: float | Literal["glmnet"] = 1e-3,
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
    check_every: int = 10,
) -> PathResult:
    return _glm_path_public(Logistic, X, y, {**locals(), "gram": False})


logistic_path.__doc__ = (
    r"""Penalized logistic path: :func:`~jaxreg.logistic` along a grid of alphas.

    At each ``alpha`` of the grid, minimizes the mean log-loss plus
    ``alpha * sum_j f_j (rho |w_j| + (1 - rho)/2 w_j^2)`` (glmnet's binomial
    path with ``lambda = alpha``), ``y`` in {0, 1}.
"""
    + _PATH_ARGS.format(
        y="binary labels in {0, 1}, shape ``(n,)``.",
        l1="l1_ratio: the mixing ``rho`` in [0, 1] (default 1: L1).\n      ",
        single="logistic",
        gram="",
    )
    + """
    Example:
      >>> import numpy as np, jaxreg
      >>> rng = np.random.default_rng(0)
      >>> X = rng.standard_normal((100, 5)); y = (X[:, 0] > 0).astype(float)
      >>> path = jaxreg.logistic_path(X, y, n_alphas=5)
      >>> path.n_nonzero.tolist()[0], bool(path.converged.all())
      (0, True)
    """
)


def multinomial_path(
    X: ArrayLike,
    y: ArrayLike,
    l1_ratio: ArrayLike = 1.0,
    *,
    grouped: bool = False,
    n_classes: int | None = None,
    alphas: ArrayLike | None = None,
    n_alphas: int = 100,
    eps: float | Literal["glmnet"] = 1e-3,
    fit_intercept: bool = True,
    sample_weight: ArrayLike | None = None,
    penalty_factor: ArrayLike | None = None,
    positive: bool = False,
    lower: ArrayLike | None = None,
    upper: ArrayLike | None = None,
    standardize: bool = False,
    tol: float = 1e-4,
    max_iter: int = 20_000,
    strategy: Literal["auto", "vmap", "warm"] = "auto",
    chunk_size: int | None = None,
    check_every: int = 10,
) -> PathResult:
    options = {**locals(), "gram": False, "groups": grouped_features(X, grouped)}
    return _glm_path_public(multinomial_of(n_classes_of(y, n_classes)), X, y, options)


multinomial_path.__doc__ = (
    r"""Penalized multinomial path: :func:`~jaxreg.multinomial` along a grid of alphas.

    At each ``alpha`` of the grid, minimizes the mean softmax cross-entropy
    plus ``alpha * sum_j f_j (rho pen_j + (1 - rho)/2 ||W_j||^2)``, with
    ``pen_j`` the L1 norm of feature ``j``'s class coefficients (glmnet's
    multinomial path with ``lambda = alpha``), or their Euclidean norm with
    ``grouped=True`` (``type.multinomial = "grouped"``). ``alpha_max`` is the
    largest entry (grouped: row norm) of the null model's gradient over
    ``rho f_j``. ``coef`` is ``(n_alphas, p, K)``, ``intercept`` ``(n_alphas, K)``.
"""
    + _PATH_ARGS.replace(_GROUPS_ARG, "").format(
        y="class labels ``0..K-1``, shape ``(n,)``.",
        l1="l1_ratio: the mixing ``rho`` in [0, 1] (default 1: L1).\n      "
        "grouped: the grouped penalty, as in :func:`~jaxreg.multinomial`.\n      "
        "n_classes: ``K`` (default ``max(y) + 1``).\n      ",
        single="multinomial",
        gram="",
    )
    + """
    Example:
      >>> import numpy as np, jaxreg
      >>> rng = np.random.default_rng(0)
      >>> X = rng.standard_normal((120, 5)); y = np.argmax(X[:, :3], axis=1)
      >>> path = jaxreg.multinomial_path(X, y, n_alphas=5)
      >>> path.coef.shape, int(path.n_nonzero[0]), bool(path.converged.all())
      ((5, 5, 3), 0, True)
    """
)


def ridge_path(
    X: ArrayLike,
    y: ArrayLike,
    alphas: ArrayLike,
    *,
    fit_intercept: bool = True,
    sample_weight: ArrayLike | None = None,
    penalty_factor: ArrayLike | None = None,
    standardize: bool = False,
) -> PathResult:
    r"""Ridge along a grid of alphas, all from one SVD.

    At each ``alpha``, minimizes scikit-learn's ``Ridge`` objective
    ``sum_i s_i (y_i - x_i'w - b)^2 + alpha sum_j f_j w_j^2``. One thin SVD of
    the weighted, centered design serves every alpha: each grid point costs
    ``O(p min(n, p))``. Certificates are computed per grid point.

    Args:
      X: design matrix, shape ``(n, p)``.
      y: targets, shape ``(n,)``.
      alphas: nonnegative penalties, shape ``(n_alphas,)``.
      fit_intercept: fit an unpenalized intercept.
      sample_weight: nonnegative per-sample weights, shape ``(n,)``, used as
        given (not rescaled), as in :func:`~jaxreg.ridge`.
      penalty_factor: positive per-feature multipliers of the penalty, shape ``(p,)``.
      standardize: glmnet-style standardization, as in :func:`~jaxreg.ridge`.

    Returns:
      A :class:`PathResult`.

    Example:
      >>> import numpy as np, jaxreg
      >>> rng = np.random.default_rng(0)
      >>> X = rng.standard_normal((30, 4)); y = X @ np.ones(4)
      >>> path = jaxreg.ridge_path(X, y, np.geomspace(100, 0.01, 5))
      >>> bool(np.allclose(path.coef[-1], 1.0, atol=1e-3))
      True
    """
    options = dict(locals(), lower=None, upper=None, positive=False, tol=1e-4, max_iter=1)
    inputs = checked_inputs(Quadratic, X, y, options)
    alphas = v.check_alphas(alphas, inputs.dtype)
    if v.is_concrete(inputs.penalty_factor) and bool(jnp.any(inputs.penalty_factor == 0)):
        raise ValueError("penalty_factor must be positive for ridge_path")
    spec = Spec(Quadratic, bool(fit_intercept), bool(standardize), ridge_solver="svd")
    return _ridge_path(inputs.X, inputs.y, alphas, make_hyper(inputs), spec=spec)


@_compile.jit(static_argnames=("spec",))
def _ridge_path(X, y, alphas, hyper: Hyper, *, spec: Spec):
    # One SVD for all alphas: the SVD route of the single-fit solver, vmapped
    # over alpha, shares its (alpha-independent) factorization across the grid.
    fits = jax.vmap(lambda a: solve_ridge(X, y, hyper.replace(alpha=a), spec=spec))(alphas)
    return PathResult.from_fits(alphas, fits)
