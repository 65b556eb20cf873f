"""Cross-validation against scikit-learn's LassoCV / ElasticNetCV and scoring oracles."""

from __future__ import annotations

import logging

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _jaxreg_problems import classification, engine_inputs, regression
from sklearn.linear_model import ElasticNetCV, LassoCV
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import KFold

import jaxreg
from jaxreg import _crossval
from jaxreg._folds import folds_of
from jaxreg._spec import Spec, make_hyper
from jaxreg.datafits import Quadratic, _weighted_gram


def kfold_ids(n, k=5):
    ids = np.empty(n, dtype=int)
    for i, (_, test) in enumerate(KFold(k).split(np.zeros(n))):
        ids[test] = i
    return ids


@pytest.mark.parametrize("shape,eps", [((300, 40), 1e-3), ((60, 150), 1e-2)])
@pytest.mark.parametrize("weights", [False, True])
def test_lasso_cv_matches_sklearn(shape, eps, weights):
    X, y, sw = regression(*shape, "corr", seed=2, weights=weights)
    n = shape[0]
    res = jaxreg.cross_validate(
        X, y, foldid=kfold_ids(n), n_alphas=40, eps=eps, tol=1e-14, sample_weight=sw
    )
    ref = LassoCV(cv=KFold(5), alphas=40, eps=eps, tol=1e-14, max_iter=10**6)
    ref.fit(X, y, sample_weight=sw)
    np.testing.assert_allclose(res.alphas[0], ref.alphas_, rtol=1e-12)
    # scikit-learn's mse_path_ is (alphas, folds); ours is (folds, l1_ratios, alphas).
    np.testing.assert_allclose(np.asarray(res.fold_scores[:, 0, :]).T, ref.mse_path_, rtol=1e-6)
    assert float(res.alpha_min) == pytest.approx(ref.alpha_, rel=1e-12)
    np.testing.assert_allclose(res.best.coef, ref.coef_, atol=1e-6, rtol=0)
    np.testing.assert_allclose(res.best.intercept, ref.intercept_, atol=1e-6, rtol=0)
    assert np.all(np.asarray(res.fold_status) == 0)
    assert float(res.alpha_1se) >= float(res.alpha_min)


def test_elastic_net_cv_matches_sklearn():
    X, y, _ = regression(240, 30, "corr", seed=3)
    ratios = [0.2, 0.5, 0.9]
    res = jaxreg.cross_validate(
        X, y, "elastic_net", l1_ratio=ratios, foldid=kfold_ids(240), n_alphas=30, tol=1e-14
    )
    ref = ElasticNetCV(l1_ratio=ratios, cv=KFold(5), alphas=30, tol=1e-14, max_iter=10**6)
    ref.fit(X, y)
    np.testing.assert_allclose(res.alphas, ref.alphas_, rtol=1e-12)
    # scikit-learn: (l1_ratios, alphas, folds)
    np.testing.assert_allclose(
        np.moveaxis(np.asarray(res.fold_scores), 0, -1), ref.mse_path_, rtol=1e-6
    )
    assert float(res.alpha_min) == pytest.approx(ref.alpha_, rel=1e-12)
    assert float(res.l1_ratio_min) == ref.l1_ratio_
    np.testing.assert_allclose(res.best.coef, ref.coef_, atol=1e-6, rtol=0)


def test_mean_se_and_one_standard_error_rule():
    X, y, sw = regression(150, 12, "random", seed=4, weights=True)
    foldid = jaxreg.make_folds(150, 4, seed=1)
    res = jaxreg.cross_validate(X, y, foldid=foldid, n_alphas=25, sample_weight=sw, tol=1e-10)
    scores = np.asarray(res.fold_scores[:, 0, :])
    w = np.array([sw[foldid == k].sum() for k in range(4)])
    cvm = w @ scores / w.sum()
    cvsd = np.sqrt((w @ (scores - cvm) ** 2) / w.sum() / 3)
    np.testing.assert_allclose(res.mean[0], cvm, rtol=1e-12)
    np.testing.assert_allclose(res.se[0], cvsd, rtol=1e-10)
    alphas = np.asarray(res.alphas[0])
    i = int(np.argmin(cvm))
    assert float(res.alpha_min) == alphas[i]
    assert float(res.alpha_1se) == alphas[cvm <= cvm[i] + cvsd[i]].max()
    # The refits are the full-data path at those points.
    single = jaxreg.lasso(X, y, float(res.alpha_1se), sample_weight=sw, tol=1e-10)
    np.testing.assert_allclose(res.best_1se.coef, single.coef, atol=1e-5)
    np.testing.assert_array_equal(res.n_nonzero[0], np.asarray(res.path.n_nonzero[0]))


@pytest.mark.parametrize("scoring", ["deviance", "misclassification", "auc"])
def test_logistic_cv_scores_match_direct_computation(scoring):
    X, y, sw = classification(160, 6, "corr", seed=5, weights=True)
    foldid = jaxreg.make_folds(160, 4, seed=0)
    res = jaxreg.cross_validate(
        X,
        y,
        "logistic",
        foldid=foldid,
        n_alphas=8,
        scoring=scoring,
        sample_weight=sw,
        tol=1e-12,
    )
    for k in range(4):
        train, test = foldid != k, foldid == k
        for a in (1, 5):
            fit = jaxreg.logistic(
                X[train], y[train], float(res.alphas[0, a]), sample_weight=sw[train], tol=1e-12
            )
            eta = X[test] @ np.asarray(fit.coef) + float(fit.intercept)
            w = sw[test]
            if scoring == "deviance":
                ref = 2 * np.average(np.logaddexp(0, eta) - y[test] * eta, weights=w)
            elif scoring == "misclassification":
                ref = np.average((eta > 0) != y[test], weights=w)
            else:
                ref = roc_auc_score(y[test], eta, sample_weight=w)
            assert float(res.fold_scores[k, 0, a]) == pytest.approx(ref, rel=1e-6, abs=1e-9)


def test_one_compilation_for_the_whole_grid(caplog):
    X, y, _ = regression(120, 10, "random", seed=6)
    kw = dict(l1_ratio=[0.3, 0.6, 1.0], cv=4, n_alphas=15)
    with jax.log_compiles(True), caplog.at_level(logging.WARNING):
        jaxreg.cross_validate(X, y, "elastic_net", **kw)
    done = [r.getMessage() for r in caplog.records if "Finished XLA compilation" in r.getMessage()]
    assert sum("jit(cv_glm)" in m for m in done) == 1, done
    # Nothing else that solves was compiled: no per-fold or per-alpha programs.
    assert not [m for m in done if "solve_" in m or "_path" in m or "alpha_max" in m], done
    before = _crossval.cv_glm._cache_size()
    jaxreg.cross_validate(X, y * 2.0, "elastic_net", seed=3, **kw)  # new data, same shapes
    assert _crossval.cv_glm._cache_size() == before


def _all_shapes(jaxpr):
    for eqn in jaxpr.eqns:
        for var in eqn.outvars:
            yield tuple(getattr(var.aval, "shape", ()))
        for sub in jax.core.subjaxprs(eqn) if hasattr(jax.core, "subjaxprs") else ():
            yield from _all_shapes(sub)
        for param in eqn.params.values():
            inner = getattr(param, "jaxpr", None)
            if inner is not None:
                yield from _all_shapes(getattr(inner, "jaxpr", inner))
            if isinstance(param, (list, tuple)):
                for item in param:
                    inner = getattr(item, "jaxpr", None)
                    if inner is not None:
                        yield from _all_shapes(getattr(inner, "jaxpr", inner))


@pytest.mark.parametrize("shape", [(200, 16), (40, 90)])  # Gram mode and design mode
@pytest.mark.parametrize("free", [0, 2])  # with two unpenalized features: their refit
def test_no_per_fold_copy_of_X(shape, free):
    n, p = shape
    X, y, _ = regression(n, p, "random", seed=7)
    folds = folds_of(n, 5, None, 0, jnp.ones(n), jnp.float64)
    pf = np.r_[np.zeros(free), np.ones(p - free)]
    inputs = engine_inputs(X, y, tol=1e-4, max_iter=100, penalty_factor=pf)
    hyper = make_hyper(inputs, eps=1e-3)
    args = (inputs.X, inputs.y, hyper, folds, None, jnp.asarray([0.5, 1.0]))
    spec = Spec(Quadratic, standardize=True, use_gram=n > p, n_alphas=10, chunk_size=1, free=free)
    kw = dict(spec=spec)
    jaxpr = jax.make_jaxpr(lambda *a: _crossval.cv_glm(*a, **kw))(*args)
    shapes = set(_all_shapes(jaxpr.jaxpr))
    per_fold_copies = {s for s in shapes if len(s) >= 3 and s[-2:] == (n, p)}
    assert not per_fold_copies, per_fold_copies
    assert sum(1 for s in shapes if s == (n, p)) >= 1  # X itself (and its centered copy)


def test_bad_cv_input():
    X, y, _ = regression(30, 4, "random", seed=0)
    with pytest.raises(ValueError, match="cv must be an integer >= 2"):
        jaxreg.cross_validate(X, y, cv=1)
    with pytest.raises(ValueError, match="foldid must have shape"):
        jaxreg.cross_validate(X, y, foldid=np.zeros(5, int))
    with pytest.raises(ValueError, match="foldid must use every fold id"):
        jaxreg.cross_validate(X, y, foldid=np.r_[np.zeros(15, int), 2 * np.ones(15, int)])
    with pytest.raises(ValueError, match="model must be one of"):
        jaxreg.cross_validate(X, y, model="svm")
    with pytest.raises(ValueError, match="scoring must be one of"):
        jaxreg.cross_validate(X, y, scoring="auc")
    with pytest.raises(ValueError, match="model='lasso' has l1_ratio=1"):
        jaxreg.cross_validate(X, y, l1_ratio=0.5)
    with pytest.raises(ValueError, match="l1_ratio must be in"):
        jaxreg.cross_validate(X, y, "elastic_net", l1_ratio=[0.5, 1.5])
    with pytest.raises(ValueError, match="alphas has 1 rows but there are 2 l1_ratios"):
        jaxreg.cross_validate(X, y, "elastic_net", l1_ratio=[0.5, 1.0], alphas=[[1.0, 0.5]])
    with pytest.raises(TypeError, match="full_path must be True or False"):
        jaxreg.cross_validate(X, y, full_path="no")


@pytest.mark.parametrize(
    "model,shape,strategy",
    [
        ("elastic_net", (300, 40), "auto"),  # Gram mode: fold paths one after another
        ("lasso", (300, 40), "working_set"),  # one grid point at a time
        ("lasso", (60, 150), "auto"),  # design mode, working set
        ("lasso", (300, 40), "vmap"),  # batched folds, cold starts
        ("logistic", (200, 10), "auto"),  # batched folds, chunks
    ],
)
def test_without_the_full_path_the_refits_are_the_same(model, shape, strategy):
    if model == "logistic":
        X, y, _ = classification(*shape, seed=3)
    else:
        # Noisy enough that alpha_min sits mid-grid: the walk stops early.
        X, y, _ = regression(*shape, "corr", seed=3, k=6, noise=2.0)
    kw = dict(foldid=kfold_ids(shape[0]), n_alphas=30, eps=1e-2, tol=1e-9, strategy=strategy)
    if model == "elastic_net":
        kw["l1_ratio"] = [0.5, 0.9, 1.0]
    full = jaxreg.cross_validate(X, y, model, **kw)
    part = jaxreg.cross_validate(X, y, model, full_path=False, **kw)
    assert part.path is None and part.n_nonzero is None
    np.testing.assert_array_equal(np.asarray(part.best_index), np.asarray(full.best_index))
    # The walk stops before the grid's end: the early stop is exercised.
    assert int(full.best_index[1]) < 30 - 4
    # Two programs (with and without the full data's row): the same fold
    # solves, compiled apart, round apart.
    np.testing.assert_allclose(part.fold_scores, full.fold_scores, rtol=1e-10)
    assert part.fold_status.shape == full.fold_status.shape == (5, len(kw.get("l1_ratio", [1])), 30)
    np.testing.assert_array_equal(np.asarray(part.fold_status), np.asarray(full.fold_status))
    # The refits walk the same warm-started grid, stopped at alpha_min.
    for name in ("best", "best_1se"):
        a, b = getattr(part, name), getattr(full, name)
        assert int(a.status) == jaxreg.Status.CONVERGED
        np.testing.assert_allclose(a.coef, b.coef, rtol=0, atol=1e-10)
        np.testing.assert_allclose(a.intercept, b.intercept, rtol=0, atol=1e-10)
        np.testing.assert_allclose(a.objective, b.objective, rtol=1e-12)


def test_stopped_path_solves_only_its_first_points():
    from _jaxreg_problems import prepared_problem

    from jaxreg._spec import Spec
    from jaxreg.path import solve_path

    X, y, _ = regression(200, 30, "corr", seed=4, k=6)
    problem = prepared_problem(X, y, use_gram=True)
    alphas = jnp.geomspace(1.0, 0.01, 18) * float(np.max(np.abs((X - X.mean(0)).T @ y))) / 200
    spec = Spec(strategy="warm", chunk_size=4, check_every=10)
    whole = jax.jit(lambda a: solve_path(problem, a, 1.0, 10_000, spec))(alphas)
    part = jax.jit(lambda a, s: solve_path(problem, a, 1.0, 10_000, spec, stop=s))(alphas, 6)
    # Chunks [0, 4) and [4, 8) are solved as in the whole path; the rest is filler.
    np.testing.assert_allclose(part.coef[:8], whole.coef[:8], rtol=0, atol=1e-12)
    assert bool(jnp.all(part.status[:8] == jaxreg.Status.CONVERGED))
    assert bool(jnp.all(part.n_iter[8:] == 0))
    assert bool(jnp.all(part.status[8:] == jaxreg.Status.MAX_ITER))
    assert bool(jnp.all(part.coef[8:] == 0))


def test_ridge_without_the_full_path():
    X, y, _ = regression(80, 10, "random", seed=5)
    res = jaxreg.cross_validate(X, y, "ridge", alphas=[10.0, 1.0, 0.1], full_path=False)
    ref = jaxreg.cross_validate(X, y, "ridge", alphas=[10.0, 1.0, 0.1])
    assert res.path is None and res.n_nonzero is None
    np.testing.assert_allclose(res.best.coef, ref.best.coef, rtol=1e-12)


@pytest.mark.parametrize("shape", [(100, 20), (40, 80)])
@pytest.mark.parametrize("weights", [False, True])
def test_ridge_loo_matches_ridgecv(shape, weights):
    from sklearn.linear_model import RidgeCV

    X, y, sw = regression(*shape, "corr", seed=1, weights=weights)
    alphas = np.geomspace(1e3, 1e-3, 30)
    res = jaxreg.cross_validate(X, y, "ridge", alphas=alphas, cv="loo", sample_weight=sw)
    ref = RidgeCV(alphas=alphas, store_cv_results=True).fit(X, y, sample_weight=sw)
    assert float(res.alpha_min) == ref.alpha_
    np.testing.assert_allclose(res.best.coef, ref.coef_, atol=1e-8)
    # RidgeCV stores sqrt(s_i)-rescaled leave-one-out errors; ours are per sample.
    s = np.ones(shape[0]) if sw is None else sw
    ours = np.asarray(res.fold_scores[:, 0, :]) * s[:, None]
    np.testing.assert_allclose(ours, ref.cv_results_, rtol=1e-7, atol=1e-10)


@pytest.mark.parametrize("shape", [(60, 15), (30, 90)])
def test_ridge_loo_path_is_the_ridge_path(shape):
    # Leave-one-out CV returns the full-data path from the SVD its scores came
    # from: the same fits, certificates included, as ridge_path's own route.
    X, y, sw = regression(*shape, "corr", seed=3, weights=True)
    pf = np.linspace(0.5, 2.0, shape[1])
    alphas = np.geomspace(1e2, 1e-2, 12)
    res = jaxreg.cross_validate(
        X, y, "ridge", alphas=alphas, cv="loo", sample_weight=sw, penalty_factor=pf
    )
    ref = jaxreg.ridge_path(X, y, alphas, sample_weight=sw, penalty_factor=pf)
    assert bool(jnp.all(res.path.status[0] == jaxreg.Status.CONVERGED))
    np.testing.assert_allclose(res.path.coef[0], ref.coef, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(res.path.intercept[0], ref.intercept, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(res.path.objective[0], ref.objective, rtol=1e-12)
    assert float(jnp.max(res.path.gap[0])) <= float(jnp.max(res.path.gap_tol[0]))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_wide_ridge_loo_with_a_rank_deficient_kernel(dtype):
    # Wide float64 leave-one-out takes the n x n kernel's eigendecomposition
    # (float32 keeps the SVD). Repeated rows and zero-weight rows make the
    # kernel singular: its zero eigenvalues (rounded to either sign) must not
    # disturb the fits, which must match ridge_path's SVD route and the exact
    # solutions, and the scores, which must match a brute-force leave-one-out.
    rng = np.random.default_rng(5)
    X = rng.standard_normal((24, 70))
    X[12:18] = X[:6]  # repeated rows
    y = X[:, :5] @ rng.standard_normal(5) + 0.3 * rng.standard_normal(24)
    sw = np.ones(24)
    sw[[3, 20]] = 0.0
    # float32 stops where the problem's conditioning (largest eigenvalue
    # over alpha) would take most of its digits.
    alphas = np.geomspace(1e2, 1e-4 if dtype == np.float64 else 1e-1, 15)
    Xd, yd = X.astype(dtype), y.astype(dtype)
    res = jaxreg.cross_validate(
        Xd, yd, "ridge", alphas=alphas, cv="loo", sample_weight=sw, fit_intercept=False
    )
    ref = jaxreg.ridge_path(Xd, yd, alphas, sample_weight=sw, fit_intercept=False)
    assert bool(jnp.all(res.path.status[0] == jaxreg.Status.CONVERGED))
    rtol = 1e-9 if dtype == np.float64 else 1e-4
    scale = float(np.max(np.abs(ref.coef)))
    np.testing.assert_allclose(res.path.coef[0], ref.coef, rtol=rtol, atol=rtol * scale)
    # scikit-learn's Ridge, fitted afresh: the exact fits, and a brute-force
    # leave-one-out at three alphas.
    from sklearn.linear_model import Ridge

    for a, coef in zip(alphas, np.asarray(res.path.coef[0]), strict=True):
        exact = Ridge(alpha=a, fit_intercept=False).fit(X, y, sample_weight=sw).coef_
        np.testing.assert_allclose(coef, exact, rtol=rtol, atol=rtol * scale)
    # Samples 3 and 20 have weight zero: their residuals take the direct route.
    for k in (0, 7, 14):
        for i in (0, 3, 13, 20, 23):
            keep = np.arange(24) != i
            held_out = Ridge(alpha=alphas[k], fit_intercept=False)
            held_out.fit(X[keep], y[keep], sample_weight=sw[keep])
            err = (y[i] - X[i] @ held_out.coef_) ** 2
            np.testing.assert_allclose(
                float(res.fold_scores[i, 0, k]), err, rtol=1e-7 if dtype == np.float64 else 1e-3
            )


def test_wide_ridge_gcv_matches_the_hat_matrix():
    # Generalized CV on the kernel route (wide, float64, an intercept and
    # weights, one of them zero): each sample's error is its residual over
    # 1 - trace(H) / (samples of positive weight), with H the weighted
    # problem's hat matrix, formed densely here.
    rng = np.random.default_rng(6)
    n, p = 20, 45
    X = rng.standard_normal((n, p))
    y = X[:, :4] @ rng.standard_normal(4) + 0.5 * rng.standard_normal(n) + 2.0
    sw = rng.uniform(0.5, 2.0, n)
    sw[7] = 0.0
    alphas = np.geomspace(1e2, 1e-3, 9)
    res = jaxreg.cross_validate(X, y, "ridge", alphas=alphas, cv="gcv", sample_weight=sw)
    s = sw / sw.sum()
    xm, ym = s @ X, s @ y
    A = np.sqrt(sw)[:, None] * (X - xm)
    K = A @ A.T
    eig = np.linalg.eigvalsh(K)
    for k, a in enumerate(alphas):
        H = K @ np.linalg.inv(K + a * np.eye(n))
        b = A.T @ np.linalg.solve(K + a * np.eye(n), np.sqrt(sw) * (y - ym))
        resid = (y - ym) - (X - xm) @ b
        df = np.trace(H) + 1.0  # the intercept
        room = 1.0 - df / np.sum(sw > 0)
        err = resid / room
        # Both sides form trace(H) from a solve with K + a I, each to about
        # eps * cond(K + a I) * n; near interpolation the denominator 1 - df/m
        # is tiny and magnifies that (twice, squared) relative to itself.
        cond = (eig.max() + a) / (max(eig.min(), 0.0) + a)
        rtol = 1e-8 + 4 * np.finfo(float).eps * cond * n / room
        np.testing.assert_allclose(np.asarray(res.fold_scores[:, 0, k]), err**2, rtol=rtol)


@pytest.mark.parametrize("shape", [(50, 8), (8, 50), (12, 12)])
def test_thin_svd_matches_lapack_either_orientation(shape):
    from jaxreg.solvers import thin_svd

    A = np.random.default_rng(4).standard_normal(shape)
    U, sig, Vt = (np.asarray(a) for a in thin_svd(jnp.asarray(A)))
    k = min(shape)
    assert U.shape == (shape[0], k) and Vt.shape == (k, shape[1])
    np.testing.assert_allclose(sig, np.linalg.svd(A, compute_uv=False), rtol=1e-12)
    np.testing.assert_allclose((U * sig) @ Vt, A, atol=1e-12)
    np.testing.assert_allclose(U.T @ U, np.eye(k), atol=1e-12)
    np.testing.assert_allclose(Vt @ Vt.T, np.eye(k), atol=1e-12)


def test_ridge_kfold_matches_per_fold_fits():
    from sklearn.linear_model import Ridge

    X, y, sw = regression(120, 15, "offset", seed=2, weights=True)
    foldid = jaxreg.make_folds(120, 4, seed=2)
    alphas = np.geomspace(100, 0.01, 9)
    res = jaxreg.cross_validate(X, y, "ridge", alphas=alphas, foldid=foldid, sample_weight=sw)
    for k in range(4):
        tr, te = foldid != k, foldid == k
        for i, a in enumerate(res.alphas[0]):
            m = Ridge(alpha=float(a)).fit(X[tr], y[tr], sample_weight=sw[tr])
            ref = np.average((y[te] - m.predict(X[te])) ** 2, weights=sw[te])
            assert float(res.fold_scores[k, 0, i]) == pytest.approx(ref, rel=1e-9)
    gcv = jaxreg.cross_validate(X, y, "ridge", alphas=alphas, cv="gcv")
    assert gcv.mean.shape == (1, 9) and float(gcv.alpha_min) in alphas
    with pytest.raises(ValueError, match="model='ridge' needs alphas"):
        jaxreg.cross_validate(X, y, "ridge")
    with pytest.raises(ValueError, match="use cv='loo' for wide data"):
        jaxreg.cross_validate(X[:10], y[:10], "ridge", alphas=alphas, cv=2)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_alpha_1se_matches_glmnet_on_shared_foldid(seed):
    glmnet = pytest.importorskip("glmnet")
    X, y, _ = regression(200, 25, "corr", seed=10 + seed, noise=2.0)
    K = 5
    foldid = jaxreg.make_folds(200, K, seed=seed)  # equal fold sizes
    res = jaxreg.cross_validate(
        X, y, foldid=foldid, standardize=True, n_alphas=40, eps=1e-2, tol=1e-14
    )
    model = glmnet.ElasticNet(
        alpha=1.0,
        lambda_path=np.asarray(res.alphas[0]),
        standardize=True,
        tol=1e-14,
        max_iter=10**6,
        n_splits=K,
        scoring="mean_squared_error",
    )
    # GroupKFold with K groups puts each fold id in its own fold: the same folds.
    model.fit(X, y, groups=foldid)
    np.testing.assert_allclose(-model.cv_mean_score_, res.mean[0], rtol=1e-6)
    np.testing.assert_allclose(model.cv_standard_error_, res.se[0], rtol=1e-5)
    assert float(res.alpha_min) == pytest.approx(model.lambda_max_, rel=1e-12)
    assert float(res.alpha_1se) == pytest.approx(float(np.ravel(model.lambda_best_)[0]), rel=1e-12)
    assert float(res.alpha_1se) > float(res.alpha_min)


@pytest.mark.parametrize("p", [20, 90])  # one product, and the symmetric blocks
def test_weighted_gram_value_and_derivatives(p):
    # Held-out rows carry zero weights: the square root inside must not leak
    # an infinite derivative.
    rng = np.random.default_rng(3)
    A = jnp.asarray(rng.standard_normal((40, p)))
    w = jnp.asarray(rng.random(40)).at[jnp.array([2, 7])].set(0.0)

    def plain(A, w):
        return A.T @ (w[:, None] * A)

    G = _weighted_gram(A, w)
    np.testing.assert_allclose(G, plain(A, w), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(G, G.T)
    for argnum in (0, 1):
        got = jax.grad(lambda *a: jnp.sum(jnp.sin(_weighted_gram(*a))), argnum)(A, w)
        want = jax.grad(lambda *a: jnp.sum(jnp.sin(plain(*a))), argnum)(A, w)
        assert bool(jnp.all(jnp.isfinite(got)))
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)
