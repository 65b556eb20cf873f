"""Small regression and classification problems shared by the tests."""

from __future__ import annotations

import numpy as np


def design(n: int, p: int, kind: str, rng: np.random.Generator) -> np.ndarray:
    """Random designs: iid Gaussian, AR(1)-correlated columns, or shifted/scaled columns."""
    if kind == "random":
        return rng.standard_normal((n, p))
    if kind.startswith("corr"):
        rho = float(kind[4:] or 0.8)
        X = np.empty((n, p))
        X[:, 0] = rng.standard_normal(n)
        for j in range(1, p):
            X[:, j] = rho * X[:, j - 1] + np.sqrt(1 - rho**2) * rng.standard_normal(n)
        return X
    if kind == "offset":
        return rng.standard_normal((n, p)) * rng.uniform(0.2, 5, p) + rng.uniform(-3, 3, p)
    raise ValueError(kind)


def regression(n, p, kind="random", seed=0, k=5, noise=0.5, weights=False):
    rng = np.random.default_rng(seed)
    X = design(n, p, kind, rng)
    w = np.zeros(p)
    idx = rng.choice(p, min(k, p), replace=False)
    w[idx] = rng.choice([-1, 1], len(idx)) * rng.uniform(0.5, 2, len(idx))
    y = X @ w + 1.5 + noise * rng.standard_normal(n)
    sw = rng.uniform(0.2, 3.0, n) if weights else None
    return X, y, sw


def classification(n, p, kind="random", seed=0, k=3, weights=False):
    rng = np.random.default_rng(seed)
    X = design(n, p, kind, rng)
    w = np.zeros(p)
    idx = rng.choice(p, min(k, p), replace=False)
    w[idx] = rng.choice([-1, 1], len(idx)) * rng.uniform(0.5, 1.5, len(idx))
    z = X @ w - 0.3
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-z))).astype(float)
    sw = rng.uniform(0.2, 3.0, n) if weights else None
    return X, y, sw


def alpha_max_squared(X, y, sw=None, fit_intercept=True):
    n = X.shape[0]
    s = np.ones(n) / n if sw is None else sw / sw.sum()
    if fit_intercept:
        Xc = X - s @ X
        yc = y - s @ y
    else:
        Xc, yc = X, y
    return np.max(np.abs(Xc.T @ (s * yc)))


def engine_inputs(X, y, *, loss="squared", tol=1e-10, max_iter=10_000, **options):
    """The engine's validated inputs for ``(X, y)`` (``options``: sample_weight,
    penalty_factor), as a public call builds them."""
    from jaxreg import _validation
    from jaxreg._spec import datafit_of

    return _validation.inputs(
        X,
        y,
        sample_weight=options.get("sample_weight"),
        penalty_factor=options.get("penalty_factor"),
        lower=None,
        upper=None,
        positive=False,
        tol=tol,
        max_iter=max_iter,
        datafit=datafit_of(loss),
    )


def prepared_problem(X, y, *, loss="squared", use_gram=False, tol=1e-10, **options):
    """The engine's prepared problem for ``(X, y)`` (``options``: fit_intercept,
    standardize, sample_weight, penalty_factor), as a single fit builds it."""
    from jaxreg import _problem
    from jaxreg._spec import Spec, datafit_of, make_hyper

    inputs = engine_inputs(X, y, loss=loss, tol=tol, **options)
    spec = Spec(
        datafit_of(loss),
        fit_intercept=options.get("fit_intercept", True),
        standardize=options.get("standardize", False),
        use_gram=use_gram,
    )
    return _problem.setup(spec, make_hyper(inputs), inputs.X, inputs.y)


# Option sets the solver tests run a path under (see :func:`option_kwargs`).
OPTION_SETS = [
    dict(standardize=True),
    dict(positive=True),
    dict(lower=-0.3, upper=0.5),
    dict(penalty_factor="first free"),
    dict(sample_weight=True),
    dict(fit_intercept=False),
]


def option_kwargs(options: dict, p: int, sw, free: int = 1) -> dict:
    """Keyword arguments of a path from one of :data:`OPTION_SETS`:
    ``penalty_factor="first free"`` leaves the first ``free`` columns
    unpenalized and ``sample_weight=True`` takes the weights ``sw``."""
    kw = dict(options)
    if kw.get("penalty_factor") == "first free":
        kw["penalty_factor"] = np.r_[np.zeros(free), np.ones(p - free)]
    if kw.get("sample_weight"):
        kw["sample_weight"] = sw
    return kw


def assert_option_constraints(coef, kw: dict) -> None:
    """The coefficients respect the option set's sign constraint or bounds."""
    coef = np.asarray(coef)
    if "positive" in kw:
        assert float(np.min(coef)) >= 0.0
    if "lower" in kw:
        assert float(np.min(coef)) >= kw["lower"] and float(np.max(coef)) <= kw["upper"]
