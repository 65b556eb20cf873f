"""The choices jaxreg makes on a GPU or TPU give the answers of the CPU's.

``strategy="auto"`` and ``solver="auto"`` read ``jax.default_backend()``: on
an accelerator, paths and cross-validation batch every alpha with ``vmap``
and single fits run FISTA, where a CPU walks warm starts and working sets.
Here the backend is reported as ``"gpu"`` to jaxreg on this CPU, so the
accelerator's programs run, and their answers must be certified and equal
the CPU choices' to the tolerance both are solved to.
"""

from __future__ import annotations

import jax
import numpy as np
import pytest
import scipy.sparse as sp
from _jaxreg_problems import classification, regression
from jax.experimental import sparse as jsparse

import jaxreg
from jaxreg import _engine, path

TOL = 1e-9


@pytest.fixture
def as_gpu(monkeypatch):
    """Run the body with jaxreg seeing a GPU backend."""

    def run(fn):
        with monkeypatch.context() as m:
            m.setattr(jax, "default_backend", lambda: "gpu")
            return fn()

    return run


def _sparse(n, p, seed):
    X = sp.random(n, p, density=0.05, random_state=seed, format="csr")
    rng = np.random.default_rng(seed)
    w = np.zeros(p)
    w[:4] = [2.0, -1.5, 1.0, 0.8]
    return X, rng, X @ w


def test_the_accelerator_choices_are_the_batched_ones(as_gpu):
    assert path.default_strategy("auto", None, working_set=True)[0] == "working_set"
    assert as_gpu(lambda: path.default_strategy("auto", None, working_set=True))[0] == "vmap"
    X, y, _ = classification(60, 8, seed=0)
    inputs = _engine.checked_inputs(
        jaxreg.datafits.Logistic,
        X,
        y,
        dict(
            sample_weight=None,
            penalty_factor=None,
            lower=None,
            upper=None,
            positive=False,
            tol=1e-6,
            max_iter=100,
        ),
    )
    opts = dict(alpha=0.1, l1_ratio=1.0)
    assert _engine._working_set_fit("auto", jaxreg.datafits.Logistic, inputs, opts, None)
    on_gpu = as_gpu(
        lambda: _engine._working_set_fit("auto", jaxreg.datafits.Logistic, inputs, opts, None)
    )
    assert not on_gpu


def _same_path(a, b):
    """Both certified, and their objectives within the sum of their
    certified gaps: each is at most its gap above the optimum."""
    for res in (a, b):
        assert np.all(np.asarray(res.status) == jaxreg.Status.CONVERGED)
    diff = np.abs(np.asarray(a.objective) - np.asarray(b.objective))
    bound = np.asarray(a.gap) + np.asarray(b.gap)
    assert np.all(diff <= bound + 1e-14 * np.abs(np.asarray(a.objective))), (diff, bound)


@pytest.mark.parametrize(
    "shape,kind", [((120, 15), "corr"), ((40, 150), "corr")], ids=["tall-gram", "wide-design"]
)
def test_paths_and_cv_squared_loss(as_gpu, shape, kind):
    X, y, sw = regression(*shape, kind, seed=1, weights=True)
    kw = dict(l1_ratio=0.7, n_alphas=15, tol=TOL, sample_weight=sw, standardize=True)
    cpu = jaxreg.enet_path(X, y, **kw)
    gpu = as_gpu(lambda: jaxreg.enet_path(X, y, **kw))
    _same_path(cpu, gpu)
    kw_cv = dict(l1_ratio=[0.5, 1.0], n_alphas=10, tol=TOL, seed=2)
    cpu = jaxreg.cross_validate(X, y, "elastic_net", **kw_cv)
    gpu = as_gpu(lambda: jaxreg.cross_validate(X, y, "elastic_net", **kw_cv))
    _same_path(cpu.path, gpu.path)
    # TOL is below sqrt(eps) relative, where a fold's gap may stop improving at
    # float64's resolution: STALLED is then the honest status (it was, for the
    # smallest alpha of one fold, in one CI process and not in another).
    honest = (jaxreg.Status.CONVERGED, jaxreg.Status.STALLED)
    assert np.all(np.isin(np.asarray(gpu.fold_status), honest))
    # Held-out errors depend on the coefficients, which a gap bound pins only
    # to about sqrt(2 gap / curvature): on these correlated designs 2e-4 and
    # 2e-3 relative apart at this tol between the two walks (measured).
    np.testing.assert_allclose(gpu.fold_scores, cpu.fold_scores, rtol=1e-2)
    assert float(gpu.alpha_min) == pytest.approx(float(cpu.alpha_min), rel=1e-12)


def test_logistic_dense_and_sparse(as_gpu):
    X, y, sw = classification(150, 30, seed=3, weights=True)
    kw = dict(n_alphas=10, tol=TOL, sample_weight=sw)
    _same_path(jaxreg.logistic_path(X, y, **kw), as_gpu(lambda: jaxreg.logistic_path(X, y, **kw)))
    Xs, rng, z = _sparse(200, 60, seed=4)
    ys = (rng.uniform(size=200) < 1 / (1 + np.exp(-2 * z))).astype(float)
    Xb = jsparse.BCOO.from_scipy_sparse(Xs)
    kw = dict(n_alphas=8, eps=0.05, tol=TOL)
    _same_path(
        jaxreg.logistic_path(Xb, ys, **kw), as_gpu(lambda: jaxreg.logistic_path(Xb, ys, **kw))
    )
    one = dict(alpha=0.02, tol=TOL)
    cpu, gpu = (
        jaxreg.logistic(Xs, ys, solver="auto", **one),
        as_gpu(lambda: jaxreg.logistic(Xs, ys, solver="auto", **one)),
    )
    _same_path(cpu, gpu)
    np.testing.assert_allclose(gpu.coef, cpu.coef, atol=1e-5)


def test_sparse_lasso_single_fit(as_gpu):
    Xs, rng, z = _sparse(150, 80, seed=5)
    y = z + 0.1 * rng.standard_normal(150)
    alpha = 0.05 * float(np.max(np.abs(Xs.T @ (y - y.mean())))) / 150
    cpu = jaxreg.lasso(Xs, y, alpha, tol=TOL)
    gpu = as_gpu(lambda: jaxreg.lasso(Xs, y, alpha, tol=TOL))
    _same_path(cpu, gpu)
    np.testing.assert_allclose(gpu.coef, cpu.coef, atol=1e-5)
