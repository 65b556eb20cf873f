"""Agreement with glmnet (python-glmnet) to 1e-5 on coefficients and intercepts.

Conventions: jaxreg's ``alpha`` is glmnet's ``lambda`` and jaxreg's ``l1_ratio`` is
glmnet's ``alpha``. glmnet fits a whole path, so each case passes a decreasing
``lambda_path`` that ends at the compared lambda and reads its last column.

For the gaussian family glmnet divides ``y`` by its weighted (population) standard
deviation before fitting, which rescales the L2 part of the elastic net; the
gaussian cases with ``l1_ratio < 1`` therefore standardize ``y`` to unit variance
first, so both libraries solve the same problem.
"""

from __future__ import annotations

import dataclasses
import warnings

import jax
import numpy as np
import pytest

import jaxreg

jax.config.update("jax_enable_x64", True)

glmnet = pytest.importorskip("glmnet")

ATOL = 1e-5
PATH = np.geomspace(30.0, 1.0, 25)  # relative lambda path, ends at the compared lambda
INF = np.inf


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    family: str  # "gaussian" (glmnet.ElasticNet) or "binomial" (glmnet.LogitNet)
    n: int
    p: int
    rho: float  # AR(1) correlation between neighbouring columns (0: independent)
    lam: float
    l1_ratio: float = 1.0
    standardize: bool = False
    weights: bool = False
    penalty_factor: tuple[float, ...] | None = None
    lower: tuple[float, ...] | None = None
    upper: tuple[float, ...] | None = None
    positive: bool = False
    seed: int = 0


CASES = [
    Case("lasso-random-pf0", "gaussian", 80, 8, 0.0, 0.08,
         penalty_factor=(1.0, 0.0, 2.0, 1.0, 0.5, 1.0, 3.0, 1.0)),
    Case("lasso-corr-bounds-std", "gaussian", 100, 8, 0.9, 0.01, standardize=True,
         lower=(-INF, -0.3, -INF, 0.0, -INF, -INF, -INF, -INF),
         upper=(0.5, INF, INF, INF, INF, INF, 0.0, INF), seed=1),
    Case("lasso-wide-positive-std-weights", "gaussian", 30, 50, 0.7, 0.05,
         standardize=True, weights=True, positive=True, seed=2),
    Case("enet-corr-weights-pf0-std", "gaussian", 120, 10, 0.85, 0.03, l1_ratio=0.4,
         standardize=True, weights=True,
         penalty_factor=(0.0, 1.0, 1.0, 2.0, 0.5, 1.0, 1.0, 0.0, 1.5, 1.0), seed=3),
    Case("enet-random-bounds-weights", "gaussian", 60, 6, 0.0, 0.02, l1_ratio=0.3,
         weights=True, lower=(-INF, -0.3, -INF, 0.0, -INF, -INF),
         upper=(0.5, INF, 0.0, INF, INF, INF), seed=4),
    Case("logit-l1-corr-pf0-std", "binomial", 150, 8, 0.8, 0.02, standardize=True,
         penalty_factor=(1.0, 1.0, 0.0, 1.0, 2.0, 1.0, 0.5, 1.0), seed=5),
    Case("logit-l1-random-weights-bounds", "binomial", 120, 6, 0.0, 0.03, weights=True,
         lower=(-INF, -0.3, -INF, -INF, -INF, -INF), upper=(0.7, INF, INF, INF, INF, INF),
         seed=6),
    Case("logit-enet-corr-positive-std-weights", "binomial", 200, 10, 0.9, 0.01,
         l1_ratio=0.5, standardize=True, weights=True, positive=True, seed=7),
]  # fmt: skip


def make_problem(case: Case):
    """A (possibly correlated) design, its response and, if asked, sample weights."""
    rng = np.random.default_rng(case.seed)
    n, p = case.n, case.p
    lags = np.abs(np.subtract.outer(np.arange(p), np.arange(p)))
    X = rng.standard_normal((n, p)) @ np.linalg.cholesky(case.rho**lags).T
    scale = np.ones(p)
    if case.standardize:  # uneven column scales and offsets, so standardizing matters
        scale = rng.uniform(0.2, 5.0, p)
        X = X * scale + rng.normal(0.0, 3.0, p)
    beta = np.zeros(p)
    beta[:5] = np.array([1.5, -1.0, 0.8, -0.5, 0.3])[: min(p, 5)]
    eta = 0.5 + (X - X.mean(0)) @ (beta / scale)
    sw = None
    if case.weights:
        sw = rng.uniform(0.2, 3.0, n)
        sw[:2] = 0.0  # zero weights drop those samples in both libraries
    if case.family == "binomial":
        y = (rng.uniform(size=n) < 1.0 / (1.0 + np.exp(-eta))).astype(float)
        return X, y, sw
    y = eta + 0.5 * rng.standard_normal(n)
    if case.l1_ratio < 1.0:  # unit weighted population variance, as glmnet scales y
        s = np.ones(n) if sw is None else sw
        s = s / s.sum()
        y = (y - s @ y) / np.sqrt(s @ (y - s @ y) ** 2)
    return X, y, sw


def glmnet_fit(case: Case, X, y, sw):
    p = X.shape[1]
    lower = np.full(p, -INF) if case.lower is None else np.array(case.lower)
    upper = np.full(p, INF) if case.upper is None else np.array(case.upper)
    if case.positive:
        lower = np.maximum(lower, 0.0)
    model_cls = glmnet.ElasticNet if case.family == "gaussian" else glmnet.LogitNet
    model = model_cls(
        alpha=case.l1_ratio,
        lambda_path=case.lam * PATH,
        standardize=case.standardize,
        lower_limits=lower,
        upper_limits=upper,
        n_splits=0,
        tol=1e-14,
        max_iter=10**7,
    )
    pf = None if case.penalty_factor is None else np.array(case.penalty_factor)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a glmnet convergence warning fails the test
        model.fit(X, y, sample_weight=sw, relative_penalties=pf)
    assert model.n_lambda_ == PATH.size, "glmnet stopped the path early"
    coef = np.asarray(model.coef_path_)[..., -1].ravel()
    intercept = float(np.ravel(np.asarray(model.intercept_path_)[..., -1])[0])
    return coef, intercept


def _array(values):
    return None if values is None else np.array(values)


def jaxreg_fit(case: Case, X, y, sw):
    kwargs = dict(standardize=case.standardize, tol=1e-14, max_iter=500_000)
    options = dict(
        sample_weight=sw,
        penalty_factor=_array(case.penalty_factor),
        lower=_array(case.lower),
        upper=_array(case.upper),
        positive=case.positive or None,
    )
    kwargs.update({k: v for k, v in options.items() if v is not None})
    if case.family == "binomial":
        return jaxreg.logistic(X, y, case.lam, case.l1_ratio, **kwargs)
    if case.l1_ratio == 1.0:
        return jaxreg.lasso(X, y, case.lam, **kwargs)
    return jaxreg.elastic_net(X, y, case.lam, case.l1_ratio, **kwargs)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_matches_glmnet(case: Case):
    X, y, sw = make_problem(case)
    ref_coef, ref_intercept = glmnet_fit(case, X, y, sw)
    fit = jaxreg_fit(case, X, y, sw)

    assert int(fit.status) == 0, f"jaxreg did not converge: status {int(fit.status)}"
    assert float(fit.gap) <= float(fit.gap_tol)
    coef, intercept = np.asarray(fit.coef), float(fit.intercept)
    coef_err = np.max(np.abs(coef - ref_coef))
    intercept_err = abs(intercept - ref_intercept)
    print(f"{case.name}: max|dcoef| = {coef_err:.2e}, |dintercept| = {intercept_err:.2e}")
    assert coef_err <= ATOL, f"coef {coef} vs glmnet {ref_coef}"
    assert intercept_err <= ATOL, f"intercept {intercept} vs glmnet {ref_intercept}"

    # The case exercises what it names: a sparse but nonzero solution, and binding
    # bounds where bounds are given.
    assert np.any(ref_coef != 0)
    if case.l1_ratio == 1.0:
        assert np.any(ref_coef == 0)
    if case.lower is not None or case.upper is not None or case.positive:
        free = dataclasses.replace(case, lower=None, upper=None, positive=False)
        free_coef, _ = glmnet_fit(free, X, y, sw)
        assert np.max(np.abs(free_coef - ref_coef)) > 1e-3, "the bounds do not bind"
