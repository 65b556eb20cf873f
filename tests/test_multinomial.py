"""The multinomial (softmax) model: scikit-learn's multinomial
LogisticRegression (L2: coefficients and probabilities; L1 and elastic net:
objective), glmnet's ungrouped multinomial, the grouped KKT conditions in
numpy, implicit derivatives against central differences, jit/vmap against
eager, float32, sparse designs and the input errors."""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import log_softmax, logsumexp, softmax
from sklearn.linear_model import LogisticRegression

import jaxreg
from jaxreg import Status


def _problem(n, p, K, seed=0, weights=False):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)) * rng.uniform(0.5, 2.0, p)
    W = np.zeros((p, K))
    W[: min(p, 4)] = rng.standard_normal((min(p, 4), K))
    y = np.argmax(X @ W + rng.gumbel(size=(n, K)), axis=1)
    y[:K] = np.arange(K)  # every class present
    sw = rng.uniform(0.5, 2.0, n) if weights else None
    return X, y, sw


def _objective(X, y, sw, W, b, alpha, rho, grouped=False):
    """The documented objective, in numpy."""
    n = X.shape[0]
    s = np.ones(n) if sw is None else sw
    Z = X @ W + b
    loss = s @ (logsumexp(Z, axis=1) - Z[np.arange(n), y]) / s.sum()
    l1 = np.sum(np.linalg.norm(W, axis=1)) if grouped else np.sum(np.abs(W))
    return loss + alpha * (rho * l1 + 0.5 * (1 - rho) * np.sum(W * W))


def _gradient(X, y, sw, W, b):
    n, K = X.shape[0], W.shape[1]
    s = np.ones(n) if sw is None else sw
    R = (softmax(X @ W + b, axis=1) - np.eye(K)[y]) * (s / s.sum())[:, None]
    return X.T @ R, R.sum(axis=0)


L2_CASES = [  # (n, p, K, weights)
    (120, 8, 3, False),
    (150, 10, 4, True),
    (200, 6, 10, False),
    (40, 60, 3, False),
    (50, 80, 5, True),
    (300, 20, 7, True),
]


@pytest.mark.parametrize("n,p,K,weights", L2_CASES)
def test_l2_matches_scikit_learn(n, p, K, weights):
    X, y, sw = _problem(n, p, K, seed=n + p + K, weights=weights)
    alpha = 0.02
    s_sum = n if sw is None else sw.sum()
    fit = jaxreg.multinomial(X, y, alpha, 0.0, sample_weight=sw, tol=1e-15)
    assert int(fit.status) == Status.CONVERGED
    assert fit.coef.shape == (p, K) and fit.intercept.shape == (K,)
    ref = LogisticRegression(C=1.0 / (alpha * s_sum), tol=1e-12, max_iter=100_000)
    ref.fit(X, y, sample_weight=sw)
    W = np.asarray(fit.coef)
    b = np.asarray(fit.intercept)
    np.testing.assert_allclose(W, ref.coef_.T, atol=1e-6)
    # Intercepts are defined up to a shared constant; the objective is flat
    # enough along them that both solvers leave about 1e-6 there (objectives
    # equal to 1e-15).
    np.testing.assert_allclose(b - b.mean(), ref.intercept_ - ref.intercept_.mean(), atol=1e-5)
    proba = softmax(X @ W + b, axis=1)
    np.testing.assert_allclose(proba, ref.predict_proba(X), atol=1e-6)
    np.testing.assert_allclose(
        float(fit.objective), _objective(X, y, sw, W, b, alpha, 0.0), rtol=1e-12
    )


@pytest.mark.parametrize("rho", [1.0, 0.5])
def test_l1_and_elastic_net_reach_saga_objective(rho):
    X, y, _ = _problem(150, 10, 4, seed=3)
    n = X.shape[0]
    alpha = 0.02
    fit = jaxreg.multinomial(X, y, alpha, rho, tol=1e-15)
    assert int(fit.status) == Status.CONVERGED
    W, b = np.asarray(fit.coef), np.asarray(fit.intercept)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = LogisticRegression(
            C=1.0 / (alpha * n), l1_ratio=rho, solver="saga", tol=1e-10, max_iter=200_000
        ).fit(X, y)
    ours = _objective(X, y, None, W, b, alpha, rho)
    theirs = _objective(X, y, None, ref.coef_.T, ref.intercept_, alpha, rho)
    assert ours <= theirs + 1e-12
    if rho == 1.0:
        assert np.any(W == 0)
    # saga leaves the direction that adds a constant to a feature's entries
    # (which only the penalty fixes, weakly) unresolved at 1e-2: compare what
    # it determines, the probabilities and the coefficients centered per feature.
    np.testing.assert_allclose(softmax(X @ W + b, axis=1), ref.predict_proba(X), atol=1e-5)
    np.testing.assert_allclose(
        W - W.mean(axis=1, keepdims=True),
        ref.coef_.T - ref.coef_.T.mean(axis=1, keepdims=True),
        atol=1e-5,
    )


@pytest.mark.parametrize("rho", [1.0, 0.5])
def test_ungrouped_l1_and_elastic_net_match_glmnet(rho):
    """glmnet's penalty is ours: lambda (alpha ||W||_1 + (1 - alpha)/2 ||W||_F^2)."""
    glmnet = pytest.importorskip("glmnet")
    X, y, _ = _problem(200, 8, 3, seed=5)
    lam = 0.02
    model = glmnet.LogitNet(
        alpha=rho,
        lambda_path=lam * np.array([8.0, 4.0, 2.0, 1.0]),
        standardize=False,
        n_splits=0,
        tol=1e-14,
        max_iter=10**7,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.fit(X, y)
    ref_W = np.asarray(model.coef_path_)[..., -1].T  # (p, K)
    ref_b = np.asarray(model.intercept_path_)[..., -1]
    fit = jaxreg.multinomial(X, y, lam, rho, tol=1e-15)
    W, b = np.asarray(fit.coef), np.asarray(fit.intercept)
    assert _objective(X, y, None, W, b, lam, rho) <= _objective(X, y, None, ref_W, ref_b, lam, rho)
    np.testing.assert_allclose(W, ref_W, atol=1e-5)
    assert np.any(W == 0) and np.any(W != 0)


@pytest.mark.parametrize("rho", [1.0, 0.5])
@pytest.mark.parametrize("standardize", [False, True])
def test_grouped_fits_satisfy_the_group_kkt_conditions(rho, standardize):
    X, y, sw = _problem(150, 12, 4, seed=7, weights=True)
    alpha = 0.08
    fit = jaxreg.multinomial(
        X, y, alpha, rho, grouped=True, sample_weight=sw, standardize=standardize, tol=1e-15
    )
    assert int(fit.status) == Status.CONVERGED
    W, b = np.asarray(fit.coef), np.asarray(fit.intercept)
    G, gb = _gradient(X, y, sw, W, b)
    np.testing.assert_allclose(gb, 0.0, atol=1e-8)
    if standardize:
        s = sw / sw.sum()
        scale = np.sqrt(s @ (X - s @ X) ** 2)
        W, G = W * scale[:, None], G / scale[:, None]
    kept = 0
    for j in range(X.shape[1]):
        norm = np.linalg.norm(W[j])
        if norm == 0:
            assert np.linalg.norm(G[j]) <= alpha * rho * (1 + 1e-6)
        else:
            resid = G[j] + alpha * rho * W[j] / norm + alpha * (1 - rho) * W[j]
            assert np.linalg.norm(resid) <= 1e-6 * np.linalg.norm(G[j]), (j, resid)
            assert np.all(W[j] != 0)
            kept += 1
    assert 0 < kept < X.shape[1]


def test_grouped_alpha_max_from_feature_gradient_norms():
    X, y, _ = _problem(120, 8, 3, seed=2)
    top = float(jaxreg.multinomial(X, y, 1.0, grouped=True).objective)  # compile once
    # At W = 0 and the null intercepts the gradient's row norms give alpha_max.
    q = np.bincount(y, minlength=3) / len(y)
    R = (q[None, :] - np.eye(3)[y]) / len(y)
    top = np.max(np.linalg.norm(X.T @ R, axis=1))
    above = jaxreg.multinomial(X, y, top * (1 + 1e-6), grouped=True, tol=1e-12)
    below = jaxreg.multinomial(X, y, top * (1 - 1e-3), grouped=True, tol=1e-12)
    assert np.all(np.asarray(above.coef) == 0)
    assert np.any(np.asarray(below.coef) != 0)


def _centered(a):
    return a - jnp.mean(a, axis=-1, keepdims=True)


@pytest.mark.parametrize("grouped", [False, True])
def test_gradients_match_central_differences(grouped):
    X, y, sw = _problem(120, 6, 3, seed=11, weights=True)
    rng = np.random.default_rng(12)
    C, cb = rng.standard_normal((6, 3)), rng.standard_normal(3)

    def f(alpha, X, sw):
        fit = jaxreg.multinomial(X, y, alpha, 0.5, grouped=grouped, sample_weight=sw, tol=1e-15)
        # Read out the gauge-free parts: a constant added to a feature's (or
        # the intercepts') entries over the classes changes no probability,
        # and the solver resolves it only to the tolerance.
        return jnp.sum(_centered(fit.coef) * C) + jnp.dot(_centered(fit.intercept), cb)

    args = (0.03, jnp.asarray(X), jnp.asarray(sw))
    grads = jax.grad(f, argnums=(0, 1, 2))(*args)
    for i, g in enumerate(grads):
        d = rng.standard_normal(np.shape(args[i])) if np.ndim(args[i]) else 1.0
        h = 1e-6 * (abs(float(args[i])) if np.ndim(args[i]) == 0 else 1.0)
        plus, minus = list(args), list(args)
        plus[i], minus[i] = args[i] + h * d, args[i] - h * d
        fd = (f(*plus) - f(*minus)) / (2 * h)
        np.testing.assert_allclose(np.sum(np.asarray(g) * d), fd, rtol=1e-4, err_msg=str(i))


def test_jit_and_vmap_match_eager():
    X, y, _ = _problem(100, 5, 3, seed=4)
    alphas = jnp.array([0.05, 0.02])
    eager = np.stack(
        [np.asarray(jaxreg.multinomial(X, y, float(a), tol=1e-12).coef) for a in alphas]
    )

    def fit(a, y):
        return jaxreg.multinomial(X, y, a, n_classes=3, tol=1e-12).coef

    np.testing.assert_allclose(jax.jit(fit)(alphas[0], y), eager[0], atol=1e-9)
    np.testing.assert_allclose(jax.vmap(fit, in_axes=(0, None))(alphas, y), eager, atol=1e-9)


def test_sparse_design_and_no_intercept():
    X, y, _ = _problem(120, 10, 3, seed=8)
    X = np.where(np.abs(X) > 0.7, X, 0.0)
    dense = jaxreg.multinomial(X, y, 0.02, tol=1e-14)
    sparse = jaxreg.multinomial(sp.csr_matrix(X), y, 0.02, tol=1e-14)
    np.testing.assert_allclose(sparse.coef, dense.coef, atol=1e-8)
    np.testing.assert_allclose(sparse.intercept, dense.intercept, atol=1e-8)
    plain = jaxreg.multinomial(X, y, 0.02, fit_intercept=False, tol=1e-14)
    assert int(plain.status) == Status.CONVERGED
    np.testing.assert_array_equal(plain.intercept, np.zeros(3))
    G, _ = _gradient(X, y, None, np.asarray(plain.coef), 0.0)
    W = np.asarray(plain.coef)
    # L1 KKT without an intercept: |grad| <= alpha at zeros, -alpha sign elsewhere.
    assert np.all(np.abs(G[W == 0]) <= 0.02 * (1 + 1e-6))
    np.testing.assert_allclose(G[W != 0], -0.02 * np.sign(W[W != 0]), atol=1e-7)


def test_float32_reaches_its_tolerance():
    X, y, _ = _problem(150, 8, 4, seed=9)
    fit = jaxreg.multinomial(X.astype(np.float32), y, 0.02, 0.5, tol=1e-5)
    assert fit.coef.dtype == np.float32
    assert int(fit.status) == Status.CONVERGED
    ref = jaxreg.multinomial(X, y, 0.02, 0.5, tol=1e-15)
    W32, b32 = np.asarray(fit.coef, float), np.asarray(fit.intercept, float)
    sub = _objective(X, y, None, W32, b32, 0.02, 0.5) - float(ref.objective)
    entropy = -np.sum(np.bincount(y) / len(y) * np.log(np.bincount(y) / len(y)))
    assert -1e-12 <= sub <= 2e-5 * entropy


def test_bad_inputs_are_refused():
    X, y, _ = _problem(60, 4, 3)
    with pytest.raises(ValueError, match="class labels"):
        jaxreg.multinomial(X, y, 0.1, n_classes=2)
    with pytest.raises(ValueError, match="class labels"):
        jaxreg.multinomial(X, y + 0.5, 0.1)
    with pytest.raises(ValueError, match="class labels"):
        jaxreg.multinomial(X, y - 1, 0.1, n_classes=3)
    with pytest.raises(ValueError, match="two classes"):
        jaxreg.multinomial(X, np.zeros(60), 0.1, n_classes=3)
    with pytest.raises(ValueError, match="two classes"):
        jaxreg.multinomial(X, y, 0.1, sample_weight=(y == 1).astype(float))
    with pytest.raises(ValueError, match="n_classes"):
        jaxreg.multinomial(X, y, 0.1, n_classes=1)
    with pytest.raises(ValueError, match="n_classes is required"):
        jax.jit(lambda y: jaxreg.multinomial(X, y, 0.1).coef)(y)
    with pytest.raises(ValueError, match="alpha"):
        jaxreg.multinomial(X, y, -1.0)
    with pytest.raises(ValueError, match="bounds"):
        jaxreg.multinomial(X, y, 0.1, grouped=True, positive=True)


def test_log_softmax_objective_is_reported():
    X, y, _ = _problem(80, 5, 3, seed=1)
    fit = jaxreg.multinomial(X, y, 0.05, 0.3, tol=1e-12)
    W, b = np.asarray(fit.coef), np.asarray(fit.intercept)
    np.testing.assert_allclose(float(fit.objective), _objective(X, y, None, W, b, 0.05, 0.3))
    # The reported probabilities' log-loss is the objective's data part.
    logp = log_softmax(X @ W + b, axis=1)
    assert np.isfinite(logp).all()


def test_path_points_equal_single_fits():
    X, y, _ = _problem(150, 8, 4, seed=6)
    for grouped in (False, True):
        path = jaxreg.multinomial_path(X, y, 0.8, grouped=grouped, n_alphas=6, tol=1e-14)
        assert path.coef.shape == (6, 8, 4) and path.intercept.shape == (6, 4)
        assert np.all(np.asarray(path.status) == Status.CONVERGED)
        assert int(path.n_nonzero[0]) == 0 and int(path.n_nonzero[-1]) > 0
        for k in (1, 3, 5):
            fit = jaxreg.multinomial(X, y, float(path.alphas[k]), 0.8, grouped=grouped, tol=1e-14)
            np.testing.assert_allclose(float(path.objective[k]), float(fit.objective), rtol=1e-12)
            W, b = np.asarray(path.coef[k]), np.asarray(path.intercept[k])
            np.testing.assert_allclose(
                softmax(X @ W + b, axis=1),
                softmax(X @ np.asarray(fit.coef) + np.asarray(fit.intercept), axis=1),
                atol=1e-7,
            )
        # The first grid point is alpha_max: just below it some feature enters.
        below = jaxreg.multinomial(
            X, y, float(path.alphas[0]) * (1 - 1e-3), 0.8, grouped=grouped, tol=1e-14
        )
        assert np.any(np.asarray(below.coef) != 0)


def test_l1_solutions_need_not_be_unique_but_their_objective_is():
    """With an even number of classes, a feature whose coefficients are all
    nonzero can shift them by a constant within the middle of their values
    at no cost (the L1 norm is flat there): compare objectives, not
    coefficients, between two routes to the same solution set."""
    X, y, _ = _problem(150, 8, 4, seed=6)
    a = jaxreg.multinomial(X, y, 0.01, tol=1e-14)
    b = jaxreg.multinomial(X, y, 0.01, tol=1e-14, standardize=False, check_every=7)
    np.testing.assert_allclose(float(a.objective), float(b.objective), rtol=1e-12)


@pytest.mark.parametrize("scoring", ["deviance", "misclassification", "log_loss"])
def test_cross_validation_scores_equal_per_fold_refits(scoring):
    X, y, sw = _problem(120, 6, 3, seed=13, weights=True)
    foldid = np.arange(120) % 3
    res = jaxreg.cross_validate(
        X,
        y,
        "multinomial",
        grouped=True,
        foldid=foldid,
        n_alphas=5,
        scoring=scoring,
        sample_weight=sw,
        tol=1e-14,
    )
    assert res.best.coef.shape == (6, 3)
    for k in range(3):
        train, held = foldid != k, foldid == k
        for j in (0, 2, 4):
            a = float(res.alphas[0, j])
            fit = jaxreg.multinomial(
                X[train], y[train], a, grouped=True, sample_weight=sw[train], tol=1e-14
            )
            Z = X[held] @ np.asarray(fit.coef) + np.asarray(fit.intercept)
            log_loss = logsumexp(Z, axis=1) - Z[np.arange(held.sum()), y[held]]
            err = {
                "deviance": 2 * log_loss,
                "log_loss": log_loss,
                "misclassification": (np.argmax(Z, axis=1) != y[held]).astype(float),
            }[scoring]
            expected = sw[held] @ err / sw[held].sum()
            np.testing.assert_allclose(res.fold_scores[k, 0, j], expected, rtol=1e-6, atol=1e-9)


def test_sparse_cross_validation_equals_dense():
    X, y, _ = _problem(90, 6, 3, seed=14)
    X = np.where(np.abs(X) > 0.6, X, 0.0)
    foldid = np.arange(90) % 3
    dense = jaxreg.cross_validate(X, y, "multinomial", foldid=foldid, n_alphas=5, tol=1e-12)
    sparse = jaxreg.cross_validate(
        sp.csr_matrix(X), y, "multinomial", foldid=foldid, n_alphas=5, tol=1e-12
    )
    np.testing.assert_allclose(sparse.fold_scores, dense.fold_scores, rtol=1e-8)
    np.testing.assert_array_equal(dense.n_nonzero, sparse.n_nonzero)


def test_cross_validation_refuses_a_one_class_training_fold():
    X, _, _ = _problem(60, 4, 3)
    y = np.where(np.arange(60) < 40, 0, np.arange(60) % 2 + 1)
    foldid = (np.arange(60) < 40).astype(int)  # fold 0 trains on rows 0..39: class 0 only
    with pytest.raises(ValueError, match="one class"):
        jaxreg.cross_validate(X, y, "multinomial", foldid=foldid)
