"""Edge cases: certificates stay finite and valid where they are easiest to break."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from _jaxreg_problems import classification
from sklearn.linear_model import LogisticRegression

import jaxreg


def logistic_objective(X, y, coef, intercept, alpha):
    z = X @ coef + intercept
    return np.mean(np.logaddexp(0, z) - y * z) + 0.5 * alpha * coef @ coef


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("frac", [1e-3, 1e-4])
def test_logistic_certificate_finite_at_small_alpha(dtype, frac):
    X, y, _ = classification(500, 20, "corr", seed=0)
    amax = float(jaxreg.alpha_max(X, y, loss="logistic"))
    fit = jaxreg.logistic(X.astype(dtype), y.astype(dtype), frac * amax, tol=1e-6)
    assert int(fit.status) == jaxreg.Status.CONVERGED
    assert np.isfinite(float(fit.gap))


@pytest.mark.parametrize("seed", range(8))
def test_logistic_gap_bounds_true_suboptimality_with_intercept(seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((100, 2)) * np.array([30.0, 1.0])  # badly scaled columns
    y = (rng.uniform(size=100) < 0.1 + 0.2 * (X[:, 1] > 0)).astype(float)  # imbalanced
    alpha = 1e-3
    fit = jaxreg.logistic(X, y, alpha, 0.0, tol=1e-4)
    ref = LogisticRegression(C=1 / (alpha * 100), l1_ratio=0.0, tol=1e-12, max_iter=10**5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref.fit(X, y)
    p_ours = logistic_objective(X, y, np.asarray(fit.coef), float(fit.intercept), alpha)
    p_star = logistic_objective(X, y, ref.coef_.ravel(), float(ref.intercept_[0]), alpha)
    assert int(fit.status) == 0
    assert p_ours - p_star <= float(fit.gap) + 1e-9


@pytest.mark.parametrize("scale", [1.0, 1e-2, 1e-3])
def test_logistic_with_intercept_converges_at_any_scale_of_X(scale):
    X, y, _ = classification(200, 5, "random", seed=1)
    fit = jaxreg.logistic(X * scale, y, 0.001, tol=1e-6, max_iter=5000)
    assert int(fit.status) == 0 and int(fit.n_iter) < 2000


def test_constant_column_gets_zero_coefficient():
    rng = np.random.default_rng(0)
    X = np.column_stack([0.1 * np.ones(30), rng.standard_normal((30, 2))])
    y = X[:, 1] + 0.1 * rng.standard_normal(30)
    yb = (y > 0).astype(float)
    fits = [
        jaxreg.ridge(X, y, 1.0, standardize=True),
        jaxreg.elastic_net(X, y, 0.01, 0.0, standardize=True),
        jaxreg.lasso(X, y, 0.01, standardize=True, penalty_factor=[0, 1, 1]),
        jaxreg.logistic(X, yb, 0.01, standardize=True, penalty_factor=[0, 1, 1]),
    ]
    for fit in fits:
        assert float(fit.coef[0]) == 0.0 and int(fit.status) == 0


@pytest.mark.parametrize("box", [1e2, 1e4, 1e6])
def test_loose_box_does_not_stall_the_certificate(box):
    X, y, _ = classification(200, 10, "random", seed=2)
    free = jaxreg.lasso(X.astype(np.float32), y.astype(np.float32), 0.01)
    boxed = jaxreg.lasso(X.astype(np.float32), y.astype(np.float32), 0.01, lower=-box, upper=box)
    assert int(boxed.status) == 0 and int(boxed.n_iter) <= 2 * int(free.n_iter) + 10


def test_a_flat_gap_over_a_falling_objective_is_not_a_stall():
    # The diabetes CV at tol 1e-12, one grid point at a time: the last point
    # (nearly unpenalized, 2 900 iterations) keeps its gap flat for more than
    # 100 checks while its objective still falls, then the gap drops. Read
    # from the gap alone, that plateau ended the solve as STALLED at 2 600
    # iterations, 2e4 times the tolerance away.
    X, y, _ = jaxreg.datasets.load_diabetes()
    res = jaxreg.cross_validate(X, y, n_alphas=10, tol=1e-12, chunk_size=1)
    assert np.all(np.asarray(res.path.status) == jaxreg.Status.CONVERGED)
    assert np.all(np.asarray(res.fold_status) == jaxreg.Status.CONVERGED)
    assert np.all(np.asarray(res.path.gap) <= np.asarray(res.path.gap_tol))
