"""float32 fits converge (no max_iter) and agree with float64 to float32 accuracy."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys

import numpy as np
import pytest
from _jaxreg_problems import alpha_max_squared, classification, regression

import jaxreg

PROBLEMS = list(itertools.product([(80, 20), (40, 100), (500, 50)], ["random", "corr", "offset"]))


def enet_objective(X, y, sw, coef, intercept, alpha, l1_ratio):
    s = sw / sw.sum()
    r = y - X @ coef - intercept
    return 0.5 * s @ (r * r) + alpha * (
        l1_ratio * np.abs(coef).sum() + 0.5 * (1 - l1_ratio) * coef @ coef
    )


def logistic_objective(X, y, sw, coef, intercept, alpha):
    s = sw / sw.sum()
    z = X @ coef + intercept
    return s @ (np.logaddexp(0, z) - y * z) + alpha * np.abs(coef).sum()


@pytest.mark.parametrize("shape,kind", PROBLEMS)
@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
@pytest.mark.parametrize("tol", [1e-4, 1e-8])
def test_float32_enet_converges_and_agrees(shape, kind, l1_ratio, tol):
    X, y, sw = regression(*shape, kind, seed=1, weights=True)
    alpha = 0.1 * alpha_max_squared(X, y, sw)
    f64 = jaxreg.elastic_net(X, y, alpha, l1_ratio, sample_weight=sw, tol=1e-14)
    f32 = jaxreg.elastic_net(
        X.astype(np.float32),
        y.astype(np.float32),
        alpha,
        l1_ratio,
        sample_weight=sw.astype(np.float32),
        tol=tol,
    )
    assert f32.coef.dtype == np.float32 and f32.gap.dtype == np.float32
    assert int(f32.status) == jaxreg.Status.CONVERGED, int(f32.status)
    assert float(f32.gap) <= float(f32.gap_tol)
    # Evaluated in float64, the float32 answer is within its certified gap of the optimum.
    p32 = enet_objective(
        X, y, sw, np.asarray(f32.coef, np.float64), float(f32.intercept), alpha, l1_ratio
    )
    p64 = enet_objective(X, y, sw, np.asarray(f64.coef), float(f64.intercept), alpha, l1_ratio)
    scale = sw @ (y - sw @ y / sw.sum()) ** 2 / sw.sum()
    assert p32 - p64 <= 2 * float(f32.gap_tol) + 1e-6 * scale
    # Coefficients: float32 accuracy limited by the conditioning (sqrt of the gap).
    err = np.abs(np.asarray(f32.coef, np.float64) - np.asarray(f64.coef)).max()
    assert err <= 2e-2 * np.abs(np.asarray(f64.coef)).max()


@pytest.mark.parametrize("shape,kind", PROBLEMS[::2])
def test_float32_ridge_agrees(shape, kind):
    X, y, sw = regression(*shape, kind, seed=2, weights=True)
    f64 = jaxreg.ridge(X, y, 2.0, sample_weight=sw)
    f32 = jaxreg.ridge(
        X.astype(np.float32), y.astype(np.float32), 2.0, sample_weight=sw.astype(np.float32)
    )
    assert f32.coef.dtype == np.float32 and int(f32.status) == 0
    np.testing.assert_allclose(f32.coef, f64.coef, atol=1e-4 * np.abs(f64.coef).max(), rtol=0)


@pytest.mark.parametrize("shape,kind", PROBLEMS)
@pytest.mark.parametrize("tol", [1e-4, 1e-8])
def test_float32_logistic_converges_and_agrees(shape, kind, tol):
    X, y, sw = classification(*shape, kind, seed=1, weights=True)
    alpha = 0.02
    f64 = jaxreg.logistic(X, y, alpha, sample_weight=sw, tol=1e-14)
    f32 = jaxreg.logistic(
        X.astype(np.float32),
        y.astype(np.float32),
        alpha,
        sample_weight=sw.astype(np.float32),
        tol=tol,
    )
    assert f32.coef.dtype == np.float32
    assert int(f32.status) == jaxreg.Status.CONVERGED, int(f32.status)
    p32 = logistic_objective(
        X, y, sw, np.asarray(f32.coef, np.float64), float(f32.intercept), alpha
    )
    p64 = logistic_objective(X, y, sw, np.asarray(f64.coef), float(f64.intercept), alpha)
    assert p32 - p64 <= 2 * float(f32.gap_tol) + 1e-6


def test_float32_without_x64_in_a_fresh_process():
    """The default JAX configuration (no x64) keeps float32 end to end."""
    code = (
        "import numpy as np, jaxreg\n"
        "rng = np.random.default_rng(0)\n"
        "X = rng.standard_normal((300, 40)).astype(np.float32)\n"
        "y = (X[:, :4] @ np.ones(4) + rng.standard_normal(300)).astype(np.float32)\n"
        "for fit in (jaxreg.lasso(X, y, 0.05, tol=1e-7), jaxreg.ridge(X, y, 1.0),\n"
        "            jaxreg.logistic(X, (y > 0).astype(np.float32), 0.01, tol=1e-7)):\n"
        "    assert fit.coef.dtype == np.float32, fit.coef.dtype\n"
        "    assert int(fit.status) == 0, int(fit.status)\n"
        "print('ok')\n"
    )
    env = dict(os.environ, JAX_ENABLE_X64="0")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
