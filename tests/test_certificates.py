"""The returned duality gap against an outside computation of P(w) - D(theta).

The references (``tests/_jaxreg_oracles.py``) evaluate the documented primal
objective and the dual objective at the rescaled residual in numpy, on the
original scale of ``X``, and solve each problem exactly for ``P*``. The checks
run at unconverged iterates (``max_iter`` 1, 5 and 20), where a missing or
wrong term of the gap is first order, and at convergence:

* the reported gap equals the reference gap;
* the gap bounds the suboptimality: ``gap >= P(w) - P*``;
* the intercept is optimal for the coefficients it is reported with (the
  dual constraint that lets it leave the gap);
* ``gap_tol`` is ``max(tol, floor) * scale`` with the documented scale and the
  dtype's floor (10 eps for least squares, 100 eps for the log-loss).
"""

from __future__ import annotations

import dataclasses
import functools

import _jaxreg_oracles as oracle
import numpy as np
import pytest
from _jaxreg_problems import classification, regression

import jaxreg

MODELS = {
    "lasso": ("squared", 1.0),
    "enet": ("squared", 0.5),
    "logistic": ("logistic", 1.0),
    "logistic-enet": ("logistic", 0.4),
}
P = 20
PF = np.tile([0.5, 1.0, 2.0, 1.0], P // 4)
UNPENALIZED = np.where(np.arange(P) < 2, 0.0, PF)  # two free coefficients
UPPER = np.where(np.arange(P) % 5 == 2, 0.0, 0.4)
UPPER[7] = np.inf
VARIANTS = {
    "plain": dict(fit_intercept=False),
    "intercept-weights": dict(weights=True),
    "penalty-factor": dict(penalty_factor=PF, weights=True),
    "unpenalized": dict(penalty_factor=UNPENALIZED),
    "bounds": dict(lower=-0.15, upper=UPPER),
    "standardize": dict(standardize=True, weights=True),
    "all": dict(standardize=True, weights=True, penalty_factor=UNPENALIZED, lower=-0.3, upper=0.5),
}
MAX_ITERS = (1, 5, 20)
KIND, SHARE = "corr0.95", 0.05
FLOOR_EPS = {"squared": 10.0, "logistic": 100.0}


@functools.cache
def _case(model: str, variant: str):
    loss, ratio = MODELS[model]
    opts = dict(VARIANTS[variant])
    weights = opts.pop("weights", False)
    if loss == "squared":
        X, y, sw = regression(60, P, KIND, seed=3, k=8, weights=weights)
    else:
        X, y, sw = classification(90, P, KIND, seed=4, k=6, weights=weights)
    spec = oracle.Spec(X, y, 1.0, ratio, loss, sw, **opts)
    # A twentieth (SHARE) of the penalty's scale on this problem: the largest
    # L1-weighted gradient at zero coefficients (and zero intercept).
    v, _ = oracle.dual_point(oracle.Spec(X, y, 1.0, 1.0, loss, sw, **opts), np.zeros(P))
    l1 = spec.weights[0]
    top = np.max(np.abs(X.T @ v)[l1 > 0] / l1[l1 > 0])
    spec = oracle.Spec(X, y, SHARE * top, ratio, loss, sw, **opts)
    return spec, oracle.solve(spec)


def _fit(spec: oracle.Spec, dtype, **kw):
    cast = lambda a: None if a is None else np.asarray(a, dtype)  # noqa: E731
    common = dict(
        sample_weight=cast(spec.sample_weight),
        penalty_factor=spec.penalty_factor,
        lower=spec.lower,
        upper=spec.upper,
        fit_intercept=spec.fit_intercept,
        standardize=spec.standardize,
        **kw,
    )
    X, y = cast(spec.X), cast(spec.y)
    if spec.loss == "logistic":
        return jaxreg.logistic(X, y, spec.alpha, spec.l1_ratio, **common)
    return jaxreg.elastic_net(X, y, spec.alpha, spec.l1_ratio, **common)


def _scale(spec: oracle.Spec) -> float:
    """The documented scale of the tolerance: the weighted variance of y (its
    mean square without an intercept), or the null model's log-loss."""
    s, y = spec.s, np.asarray(spec.y, float)
    if spec.loss == "squared":
        c = y - s @ y if spec.fit_intercept else y
        return float(s @ c**2)
    if not spec.fit_intercept:
        return float(np.log(2.0))
    m = float(s @ y)
    return float(-(m * np.log(m) + (1 - m) * np.log(1 - m)))


def _as64(spec: oracle.Spec, dtype) -> oracle.Spec:
    """The problem the solver saw: its data rounded to ``dtype`` (and its
    bounds, to which a float32 solve clips, met up to that rounding)."""
    if dtype == np.float64:
        return spec
    r = lambda a: None if a is None else np.asarray(np.asarray(a, dtype), float)  # noqa: E731
    return dataclasses.replace(
        spec, X=r(spec.X), y=r(spec.y), sample_weight=r(spec.sample_weight), bound_slack=1e-7
    )


@functools.cache
def _seen(model: str, variant: str, dtype):
    """The rounded problem and its exact solution."""
    seen = _as64(_case(model, variant)[0], dtype)
    return seen, oracle.solve(seen)


def _restricted(spec: oracle.Spec, w) -> oracle.Spec:
    """The problem with its free coefficients (no penalty, no bound) held at
    their values in ``w``: the problem whose gap a certificate reports."""
    l1, l2 = spec.weights
    lo, hi = (np.array(b, float) for b in spec.bounds)
    free = (l1 == 0) & (l2 == 0) & np.isinf(lo) & np.isinf(hi)
    return dataclasses.replace(spec, lower=np.where(free, w, lo), upper=np.where(free, w, hi))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("model", list(MODELS))
def test_gap_is_primal_minus_dual_and_bounds_the_suboptimality(model, variant, dtype):
    spec, _ = _case(model, variant)
    seen, (_, _, p_star) = _seen(model, variant, dtype)
    scale = _scale(spec)
    eps = float(np.finfo(dtype).eps)
    # Rounding of the objectives themselves: the reference is exact to about
    # 1e-15 relative; a float32 solve rounds its data and its sums.
    slack = (1e-13 if dtype == np.float64 else 300 * eps) * scale
    rtol = 1e-9 if dtype == np.float64 else 1e-3
    for max_iter in MAX_ITERS:
        fit = _fit(spec, dtype, max_iter=max_iter)
        w, b = np.asarray(fit.coef, float), float(fit.intercept)
        gap = float(fit.gap)
        ref = oracle.dual_gap(seen, w, b)
        where = f"max_iter={max_iter}: reported gap {gap:.6g}, reference {ref:.6g}"
        assert np.isfinite(ref), where
        assert abs(gap - ref) <= rtol * ref + slack, where
        # The point is not optimal yet, so the check below has teeth: a gap
        # that lost a term falls under the true suboptimality.
        subopt = oracle.primal(seen, w, b) - p_star
        if variant == "unpenalized":
            # Free coefficients are held fixed in the gap (no dual point can
            # bound them; the KKT residual certifies them): the gap bounds the
            # suboptimality of the problem with them fixed where they are.
            held = _restricted(seen, w)
            subopt = oracle.primal(held, w, b) - oracle.solve(held)[2]
        assert gap >= subopt - slack, f"{where}, P(w) - P* = {subopt:.6g}"
        if spec.fit_intercept:
            assert oracle.intercept_residual(seen, w, b) <= slack, where
    fit = _fit(spec, dtype, tol=1e-12)
    w, b = np.asarray(fit.coef, float), float(fit.intercept)
    floor = FLOOR_EPS[spec.loss] * eps
    np.testing.assert_allclose(float(fit.gap_tol), max(1e-12, floor) * scale, rtol=1e-5)
    assert int(fit.status) == jaxreg.Status.CONVERGED
    assert float(fit.gap) <= float(fit.gap_tol)
    # At convergence both gaps are at rounding level, where the reported one
    # (a sum of terms each floored at zero) runs a little above the plain
    # difference: the reference must meet the same tolerance.
    assert oracle.dual_gap(seen, w, b) <= float(fit.gap_tol) + slack
    subopt = oracle.primal(seen, w, b) - p_star
    if variant == "unpenalized":
        # The KKT test on free coefficients assumes the curvature of the
        # Lipschitz bound; along a flatter direction the suboptimality can
        # exceed gap_tol by the ratio of the two (a few here).
        assert subopt <= 10 * float(fit.gap_tol) + slack
    else:
        assert subopt <= float(fit.gap_tol) + slack


def test_some_unconverged_gaps_are_large():
    # The comparisons above are only as strong as the iterates are far from
    # the optimum: most unconverged gaps must be well above rounding.
    big = 0
    for model in MODELS:
        for variant in VARIANTS:
            spec, _ = _case(model, variant)
            fit = _fit(spec, np.float64, max_iter=1)
            big += float(fit.gap) > 1e-4 * _scale(spec)
    assert big >= 0.75 * len(MODELS) * len(VARIANTS)


@pytest.mark.parametrize("model", ["lasso", "logistic-enet"])
def test_path_gaps_against_the_reference(model):
    # Along a path each point is warm-started from the last one: the
    # certificate must hold for every point, at a loose and a tight tolerance.
    spec, _ = _case(model, "all")
    alphas = spec.alpha * np.geomspace(2.0, 0.1, 5)
    common = dict(
        sample_weight=spec.sample_weight,
        penalty_factor=spec.penalty_factor,
        lower=spec.lower,
        upper=spec.upper,
        standardize=spec.standardize,
        l1_ratio=spec.l1_ratio,
    )
    run = jaxreg.logistic_path if spec.loss == "logistic" else jaxreg.enet_path
    scale = _scale(spec)
    problems = [dataclasses.replace(spec, alpha=float(a)) for a in alphas]
    p_stars = [oracle.solve(at)[2] for at in problems]
    for max_iter in (10, 10_000):
        path = run(spec.X, spec.y, alphas=alphas, max_iter=max_iter, **common)
        np.testing.assert_allclose(np.asarray(path.alphas), alphas, rtol=1e-12)
        for k, at in enumerate(problems):
            w, b = np.asarray(path.coef[k]), float(path.intercept[k])
            gap, ref = float(path.gap[k]), oracle.dual_gap(at, w, b)
            assert abs(gap - ref) <= 1e-9 * ref + 1e-13 * scale, (max_iter, k, gap, ref)
            assert gap >= oracle.primal(at, w, b) - p_stars[k] - 1e-13 * scale
            assert oracle.intercept_residual(at, w, b) <= 1e-13 * scale


def test_reference_matches_scikit_learn_and_certifies_itself():
    # The oracle itself is checked: its exact solve against scikit-learn's
    # Lasso and LogisticRegression at tight tolerance, and its own gap at its
    # own solution against a gap at a perturbed point.
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import Lasso

    X, y, sw = regression(70, 8, "offset", seed=3, weights=True)
    spec = oracle.Spec(X, y, 0.05, sample_weight=sw)
    w, b, _ = oracle.solve(spec)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref = Lasso(alpha=0.05, tol=1e-15, max_iter=10**6).fit(X, y, sample_weight=sw)
    np.testing.assert_allclose(w, ref.coef_, atol=1e-10)
    np.testing.assert_allclose(b, ref.intercept_, atol=1e-10)
    assert abs(oracle.dual_gap(spec, w, b)) < 1e-13
    assert oracle.dual_gap(spec, w + 0.01, b) > 1e-6

    X, y, _ = classification(90, 8, "offset", seed=4)
    alpha = 0.02
    spec = oracle.Spec(X, y, alpha, loss="logistic", standardize=True)
    w, b, _ = oracle.solve(spec)
    ref = oracle.sklearn_logistic(
        1 / (alpha * len(y)), 1.0, solver="saga", tol=1e-12, max_iter=10**6
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref.fit((X - X.mean(0)) / X.std(0), y)
    np.testing.assert_allclose(w * X.std(0), ref.coef_[0], atol=1e-6)
    assert abs(oracle.dual_gap(spec, w, b)) < 1e-13


def test_selection_oracle_on_a_hand_made_table():
    mean = np.array([[5.0, 3.0, 2.2, 2.5], [4.0, 2.05, 2.0, 2.1]])
    se = np.full_like(mean, 0.1)
    assert oracle.select(mean, se) == (1, 2, 1)
    assert oracle.select(-mean, se, higher_is_better=True) == (1, 2, 1)
    mean[0, 2] = 1.0  # now the first row holds the best point
    assert oracle.select(mean, se) == (0, 2, 2)


@pytest.mark.parametrize("positive", [False, True])
def test_standardize_is_scikit_learn_on_columns_scaled_by_hand(positive):
    # glmnet's standardization, without glmnet: scikit-learn's Lasso on the
    # columns divided by their weighted population standard deviations (with
    # the weights rescaled as scikit-learn does), coefficients mapped back.
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import Lasso

    X, y, sw = regression(60, P, "offset", seed=5, k=8, weights=True)
    s = sw / sw.sum()
    sd = np.sqrt(s @ (X - s @ X) ** 2)
    fit = jaxreg.lasso(X, y, 0.05, sample_weight=sw, standardize=True, positive=positive, tol=1e-14)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref = Lasso(alpha=0.05, positive=positive, tol=1e-15, max_iter=10**6)
        ref.fit(X / sd, y, sample_weight=sw)
    np.testing.assert_allclose(np.asarray(fit.coef), ref.coef_ / sd, atol=1e-8)
    np.testing.assert_allclose(float(fit.intercept), ref.intercept_, atol=1e-8)
    assert 0 < np.count_nonzero(ref.coef_) < P


@pytest.mark.parametrize("max_iter", [10, 10_000])
def test_cross_validation_path_gaps_bound_the_suboptimality(max_iter):
    # In Gram mode at a tight tolerance the CV's fits also take the gap of the
    # split that moves the certified strong convexity into the penalty: it may
    # be below the reference gap, never below the true suboptimality.
    X, y, sw = regression(80, 12, "corr0.9", seed=6, k=5, weights=True)
    ratios = [0.5, 1.0]
    res = jaxreg.cross_validate(
        X, y, "elastic_net", l1_ratio=ratios, n_alphas=6, sample_weight=sw, tol=1e-8,
        max_iter=max_iter, cv=3,
    )  # fmt: skip
    scale = _scale(oracle.Spec(X, y, 1.0, sample_weight=sw))
    below_reference = 0
    for i, ratio in enumerate(ratios):
        for k, alpha in enumerate(np.asarray(res.alphas[i])):
            spec = oracle.Spec(X, y, float(alpha), ratio, sample_weight=sw)
            w, b = np.asarray(res.path.coef[i, k]), float(res.path.intercept[i, k])
            gap = float(res.path.gap[i, k])
            subopt = oracle.primal(spec, w, b) - oracle.solve(spec)[2]
            assert gap >= subopt - 1e-13 * scale, (i, k, gap, subopt)
            assert gap <= oracle.dual_gap(spec, w, b) * (1 + 1e-9) + 1e-13 * scale
            below_reference += gap < 0.5 * oracle.dual_gap(spec, w, b)
    if max_iter == 10:
        # The split is in use: some gaps are well below the plain one.
        assert below_reference > 0
