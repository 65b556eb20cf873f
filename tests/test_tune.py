"""Gradient-based tuning, against an outside grid search.

The references refit every fold with scikit-learn (or, for penalty factors,
the exact numpy solver of ``_jaxreg_oracles``) and score the held-out rows in
numpy: tune's reported loss must be the cross-validation loss at the point it
returns, and that point must be as good as the best of a grid.
"""

from __future__ import annotations

import warnings

import _jaxreg_oracles as oracle
import numpy as np
import optax
import pytest
from _jaxreg_problems import classification
from sklearn.linear_model import ElasticNet, Ridge, enet_path

import jaxreg


def _regression(n, p, k, noise, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    w = np.zeros(p)
    w[:k] = rng.standard_normal(k)
    return X, X @ w + noise * rng.standard_normal(n)


def _held_out(X, y, foldid, fit_fold, loss="squared"):
    """Fold-size-weighted held-out loss (MSE, or binomial deviance) of
    ``fit_fold(X_train, y_train) -> (coef, intercept)`` refit on each fold."""
    total = 0.0
    for k in range(int(foldid.max()) + 1):
        train, test = foldid != k, foldid == k
        coef, b = fit_fold(X[train], y[train])
        eta = X[test] @ coef + b
        if loss == "squared":
            total += np.sum((y[test] - eta) ** 2)
        else:
            total += np.sum(2.0 * (np.logaddexp(0.0, eta) - y[test] * eta))
    return total / len(y)


def _sklearn(model):
    def fit(X, y):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            m = model.fit(X, y)
        return np.ravel(m.coef_), float(np.ravel(m.intercept_)[0])

    return fit


def _outside_lasso_grid(X, y, foldid, alphas):
    """Held-out MSE at each alpha, scikit-learn's lasso_path on each centered training fold."""
    total = np.zeros(len(alphas))
    for k in range(int(foldid.max()) + 1):
        train, test = foldid != k, foldid == k
        xm, ym = X[train].mean(axis=0), y[train].mean()
        _, coefs, _ = enet_path(X[train] - xm, y[train] - ym, alphas=alphas, tol=1e-10)
        pred = ym + (X[test] - xm) @ coefs
        total += np.sum((y[test][:, None] - pred) ** 2, axis=0)
    return total / len(y)


@pytest.mark.parametrize(
    "n,p,k,noise",
    [
        (300, 100, 10, 3.0),  # noisy: the optimum is a large alpha
        (200, 400, 10, 1.0),  # p > n
        (500, 50, 50, 0.05),  # dense truth, low noise: the optimum is the grid's end
    ],
)
def test_tune_reaches_the_grid_optimum_in_20_solves(n, p, k, noise):
    """Within 1% of the best of a 100-alpha grid with the same folds, in <= 20 steps."""
    X, y = _regression(n, p, k, noise, seed=p)
    foldid = jaxreg.make_folds(n, 5, seed=0)
    alphas = np.asarray(jaxreg.alpha_grid(X, y))
    best = _outside_lasso_grid(X, y, foldid, alphas).min()
    res = jaxreg.tune(X, y, foldid=foldid, n_steps=20)
    assert float(res.loss) <= 1.01 * best
    # The loss reported is the cross-validation loss at the alpha returned.
    alpha = float(res.alpha)
    outside = _held_out(X, y, foldid, _sklearn(ElasticNet(alpha=alpha, l1_ratio=1.0, tol=1e-10)))
    assert float(res.loss) == pytest.approx(outside, rel=1e-4)
    assert res.n_solves == 21
    assert res.losses.shape == res.alphas.shape == res.grad_log_alpha.shape == (20,)
    assert float(res.loss) == float(res.losses[res.best_step])
    assert float(res.alpha) == pytest.approx(float(res.alphas[res.best_step]))
    assert bool(res.fit.converged)


def test_tune_loss_is_the_cross_validation_curve():
    """The loss tune evaluates equals cross_validate's mean curve at the same alpha."""
    X, y = _regression(120, 10, 3, 1.0, seed=0)
    foldid = jaxreg.make_folds(120, 4, seed=2)
    alpha = 0.05
    grid = jaxreg.cross_validate(X, y, foldid=foldid, alphas=[alpha], tol=1e-10)
    res = jaxreg.tune(
        X, y, foldid=foldid, alpha=alpha, n_steps=1, tol=1e-10, optimizer=optax.sgd(0.0)
    )
    assert float(res.losses[0]) == pytest.approx(float(grid.mean[0, 0]), rel=1e-7)
    outside = _held_out(X, y, foldid, _sklearn(ElasticNet(alpha=alpha, l1_ratio=1.0, tol=1e-12)))
    assert float(res.losses[0]) == pytest.approx(outside, rel=1e-7)


def test_tune_holdout_gradient_points_downhill():
    X, y = _regression(200, 20, 4, 1.0, seed=1)
    Xv, yv = _regression(100, 20, 4, 1.0, seed=1)
    res = jaxreg.tune(X, y, X_val=Xv, y_val=yv, n_steps=8)
    assert float(res.loss) <= float(res.losses[0])
    # Finite difference of the validation loss in log(alpha) at the first step.
    a0, h = float(res.alphas[0]), 1e-4

    def val(a):
        fit = jaxreg.lasso(X, y, a, tol=1e-6)
        return float(np.mean((yv - Xv @ np.asarray(fit.coef) - float(fit.intercept)) ** 2))

    fd = (val(a0 * np.exp(h)) - val(a0 * np.exp(-h))) / (2 * h)
    assert float(res.grad_log_alpha[0]) == pytest.approx(fd, rel=1e-3)


def test_tune_elastic_net_ratio_and_penalty_factors():
    X, y = _regression(300, 20, 5, 1.0, seed=3)
    foldid = jaxreg.make_folds(300, 5, seed=0)
    enet = jaxreg.tune(X, y, "elastic_net", params=("alpha", "l1_ratio"), n_steps=10)
    assert 0.0 < float(enet.l1_ratio) < 1.0
    assert float(enet.loss) < float(enet.losses[0])
    assert enet.l1_ratios.shape == (10,)
    sk = ElasticNet(alpha=float(enet.alpha), l1_ratio=float(enet.l1_ratio), tol=1e-10)
    assert float(enet.loss) == pytest.approx(_held_out(X, y, foldid, _sklearn(sk)), rel=1e-4)
    weighted = jaxreg.tune(X, y, params=("alpha", "penalty_factor"), n_steps=15)
    assert weighted.penalty_factor.shape == (20,)
    assert float(weighted.penalty_factor.sum()) == pytest.approx(20.0)
    assert float(weighted.loss) < float(weighted.losses[0])
    pf = np.asarray(weighted.penalty_factor, float)

    def exact(Xk, yk):
        w, b, _ = oracle.solve(oracle.Spec(Xk, yk, float(weighted.alpha), penalty_factor=pf))
        return w, b

    assert float(weighted.loss) == pytest.approx(_held_out(X, y, foldid, exact), rel=1e-4)
    # The informative features end up less penalized than the average one.
    assert float(np.mean(np.asarray(weighted.penalty_factor)[:5])) < 1.0


def test_tune_logistic_and_ridge():
    X, y, _ = classification(200, 8, seed=0)
    foldid = jaxreg.make_folds(200, 5, seed=0)
    res = jaxreg.tune(X, y, "logistic", n_steps=8)

    def logistic_at(alpha, tol=1e-10):
        # scikit-learn's C multiplies the summed log-loss: C = 1 / (alpha n_train).
        def fit(Xk, yk):
            clf = oracle.sklearn_logistic(
                1.0 / (alpha * len(yk)), 1.0, solver="saga", tol=tol, max_iter=10**6
            )
            return _sklearn(clf)(Xk, yk)

        return fit

    grid = np.geomspace(0.3, 3e-4, 25)
    best = min(_held_out(X, y, foldid, logistic_at(a, 1e-8), "logistic") for a in grid)
    assert float(res.loss) <= 1.01 * best
    outside = _held_out(X, y, foldid, logistic_at(float(res.alpha)), "logistic")
    assert float(res.loss) == pytest.approx(outside, rel=1e-4)
    Xr, yr = _regression(150, 10, 10, 2.0, seed=4)
    ridge = jaxreg.tune(Xr, yr, "ridge", n_steps=15)
    assert float(ridge.loss) < float(ridge.losses[0])
    assert float(ridge.fit.gap) <= float(ridge.fit.gap_tol)
    sk = _sklearn(Ridge(alpha=float(ridge.alpha)))
    assert float(ridge.loss) == pytest.approx(
        _held_out(Xr, yr, jaxreg.make_folds(150, 5, seed=0), sk), rel=1e-6
    )


def test_tune_unrolled():
    X, y = _regression(150, 10, 3, 1.0, seed=5)
    a = jaxreg.tune(X, y, n_steps=3, tol=1e-10, optimizer=optax.sgd(0.0))
    b = jaxreg.tune(
        X, y, n_steps=3, tol=1e-10, diff="unrolled", max_iter=2000, optimizer=optax.sgd(0.0)
    )
    assert float(b.grad_log_alpha[0]) == pytest.approx(float(a.grad_log_alpha[0]), rel=1e-6)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(params="l1_ratio"), "params"),
        (dict(params=("alpha", "gamma")), "params"),
        (dict(params=("alpha", "l1_ratio")), "l1_ratio"),
        (dict(params=("alpha", "l1_ratio"), model="elastic_net", l1_ratio=1.0), "l1_ratio"),
        (dict(n_steps=0), "n_steps"),
        (dict(X_val=np.ones((3, 4))), "X_val"),
        (dict(alpha=-1.0), "alpha"),
        (dict(optimizer="adam"), "optimizer"),
        (dict(diff="magic"), "diff"),
        (dict(model="svm"), "model"),
        (dict(params=("alpha", "penalty_factor"), penalty_factor=[0, 1, 1, 1]), "penalty_factor"),
    ],
)
def test_tune_rejects_bad_input(kwargs, match):
    X, y = _regression(30, 4, 2, 1.0, seed=0)
    with pytest.raises(ValueError, match=match):
        jaxreg.tune(X, y, **kwargs)


def test_tune_logistic_l1_ratio_starts_inside():
    X, y, _ = classification(150, 6, seed=1)
    res = jaxreg.tune(X, y, "logistic", params=("alpha", "l1_ratio"), n_steps=3)
    assert float(res.l1_ratios[0]) == pytest.approx(0.5)
