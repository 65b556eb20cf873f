"""The scikit-learn estimators: scikit-learn's own estimator checks, and the
fitted attributes against their scikit-learn namesakes on dense and sparse data."""

from __future__ import annotations

import pickle
import warnings

import _jaxreg_oracles as oracle
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.sparse as sp
from jax.experimental import sparse as jsparse
from sklearn import linear_model as sk
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from jaxreg import estimators as je

ATOL = 1e-6
TIGHT = 1e-15  # floored by jaxreg at a few machine epsilons

# Checks that cannot pass by design, with the reason (also in docs/estimators.md).
EXPECTED_FAILURES = {
    "Ridge": {
        "check_non_transformer_estimators_n_iter": (
            "closed-form solves report n_iter_ = None, as scikit-learn's Ridge does"
        ),
    },
}

# Like scikit-learn's own checks of its CV estimators: 3 folds, short grids,
# and fewer iterations for the logistic (the checks test the API, the oracle
# tests below test the numbers). The CV estimators at tol 1e-10: the
# sample-weight checks compare weighted and repeated-row fits' predictions
# to 1e-9, finer than two fits certified at the default 1e-8 need agree
# (the selected fits parted at 5e-9).
ALL = [
    je.Lasso(),
    je.ElasticNet(),
    je.Ridge(),
    je.LassoCV(cv=3, alphas=10, tol=1e-10),
    je.ElasticNetCV(cv=3, alphas=10, tol=1e-10),
    je.RidgeCV(),
    je.LogisticRegression(),
    je.LogisticRegressionCV(cv=3, Cs=3, max_iter=500),
]
assert sorted(type(e).__name__ for e in ALL) == sorted(je.__all__)


def _expected_failures(estimator):
    return EXPECTED_FAILURES.get(type(estimator).__name__, {})


@parametrize_with_checks(ALL, expected_failed_checks=_expected_failures)
def test_sklearn_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


# ----------------------------------------------------------------------------
# Against scikit-learn, dense and sparse
# ----------------------------------------------------------------------------


def _data(kind, n=83, p=11, seed=0):
    """Correlated columns of unequal scales; ``sparse``: 30% nonzeros, CSR."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)) @ np.triu(np.full((p, p), 0.3) + np.eye(p))
    X *= rng.uniform(0.5, 3.0, p)
    if kind == "sparse":
        X = np.where(rng.random((n, p)) < 0.3, X, 0.0)
    w = rng.standard_normal(p) * (rng.random(p) < 0.5)
    y = X @ w + 0.5 * rng.standard_normal(n) + 1.0
    sw = rng.uniform(0.2, 2.0, n)
    return (sp.csr_matrix(X) if kind == "sparse" else X), y, sw


def _assert_close(ours, ref, attrs, atol=ATOL):
    for name in attrs:
        np.testing.assert_allclose(
            np.asarray(getattr(ours, name), float),
            np.asarray(getattr(ref, name), float),
            atol=atol,
            rtol=0,
            err_msg=name,
        )


def _quiet(fit):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fit()


KINDS = ["dense", "sparse"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("weighted", [False, True])
def test_lasso_and_elastic_net_match(kind, weighted):
    X, y, sw = _data(kind)
    sw = sw if weighted else None
    for ours, ref in [
        (je.Lasso(alpha=0.05, tol=TIGHT), sk.Lasso(alpha=0.05, tol=1e-15, max_iter=10**6)),
        (
            je.ElasticNet(alpha=0.05, l1_ratio=0.3, tol=TIGHT),
            sk.ElasticNet(alpha=0.05, l1_ratio=0.3, tol=1e-15, max_iter=10**6),
        ),
        (
            je.Lasso(alpha=0.05, positive=True, fit_intercept=False, tol=TIGHT),
            sk.Lasso(alpha=0.05, positive=True, fit_intercept=False, tol=1e-15, max_iter=10**6),
        ),
    ]:
        ours.fit(X, y, sample_weight=sw)
        _quiet(lambda ref=ref: ref.fit(X, y, sample_weight=sw))
        _assert_close(ours, ref, ["coef_", "intercept_"])
        assert 0 < np.count_nonzero(ours.coef_) < X.shape[1]


@pytest.mark.parametrize("kind", KINDS)
def test_ridge_matches(kind):
    X, y, sw = _data(kind)
    ours = je.Ridge(alpha=3.0).fit(X, y, sample_weight=sw)
    ref = sk.Ridge(alpha=3.0, solver="auto" if kind == "dense" else "sparse_cg", tol=1e-14)
    ref.fit(X, y, sample_weight=sw)
    _assert_close(ours, ref, ["coef_", "intercept_"])
    # Two targets, one alpha each.
    Y = np.column_stack([y, -2 * y + 1])
    ours = je.Ridge(alpha=[3.0, 0.5]).fit(X, Y)
    ref = sk.Ridge(alpha=[3.0, 0.5], solver="auto" if kind == "dense" else "sparse_cg", tol=1e-14)
    _assert_close(ours, ref.fit(X, Y), ["coef_", "intercept_"])


@pytest.mark.parametrize(
    "make",
    [
        lambda m: m.Lasso(alpha=0.05, tol=1e-12, max_iter=10**6),
        lambda m: m.ElasticNet(alpha=0.05, l1_ratio=0.4, tol=1e-12, max_iter=10**6),
        lambda m: m.Ridge(alpha=2.0),
        lambda m: m.Lasso(alpha=0.05, fit_intercept=False, tol=1e-12, max_iter=10**6),
    ],
)
def test_single_column_y_is_one_target(make):
    # A y of shape (n, 1) (a one-column DataFrame, say) is one target, with
    # scikit-learn's shapes: coef_ (n_features,), intercept_ (1,), predictions (n,).
    X, y, _ = _data("dense")
    ours = make(je).fit(X, y[:, None])
    ref = _quiet(lambda: make(sk).fit(X, y[:, None]))
    assert ours.coef_.shape == ref.coef_.shape == (X.shape[1],)
    assert np.shape(ours.intercept_) == np.shape(ref.intercept_)
    assert ours.predict(X).shape == ref.predict(X).shape == (X.shape[0],)
    _assert_close(ours, ref, ["coef_", "intercept_"])
    np.testing.assert_allclose(ours.predict(X), make(je).fit(X, y).predict(X), rtol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_lasso_cv_matches(kind):
    X, y, _ = _data(kind, n=101)
    ours = _quiet(lambda: je.LassoCV(alphas=30, tol=TIGHT).fit(X, y))
    ref = _quiet(lambda: sk.LassoCV(alphas=30, tol=1e-15, max_iter=10**6).fit(X, y))
    assert ours.alpha_ == pytest.approx(ref.alpha_, rel=1e-12)
    _assert_close(ours, ref, ["alphas_", "coef_", "intercept_", "mse_path_"])
    assert ours.mse_path_.shape == ref.mse_path_.shape == (30, 5)
    assert ours.alpha_1se_ >= ours.alpha_


@pytest.mark.parametrize("kind", KINDS)
def test_elastic_net_cv_matches(kind):
    X, y, _ = _data(kind, n=101, seed=1)
    cv = KFold(4, shuffle=True, random_state=0)
    ours = _quiet(
        lambda: je.ElasticNetCV(l1_ratio=[0.2, 0.7, 1.0], alphas=25, cv=cv, tol=TIGHT).fit(X, y)
    )
    ref = _quiet(
        lambda: sk.ElasticNetCV(
            l1_ratio=[0.2, 0.7, 1.0], alphas=25, cv=cv, tol=1e-15, max_iter=10**6
        ).fit(X, y)
    )
    assert (ours.alpha_, ours.l1_ratio_) == pytest.approx((ref.alpha_, ref.l1_ratio_), rel=1e-12)
    _assert_close(ours, ref, ["alphas_", "coef_", "intercept_", "mse_path_"])
    assert ours.mse_path_.shape == (3, 25, 4)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("weighted", [False, True])
def test_ridge_cv_matches(kind, weighted):
    X, y, sw = _data(kind, seed=2)
    sw = sw if weighted else None
    alphas = np.geomspace(1e-2, 1e3, 16)[::-1].copy()
    alphas[[3, 9]] = alphas[[9, 3]]  # not sorted: the user's order is kept
    ours = je.RidgeCV(alphas=alphas, store_cv_results=True).fit(X, y, sample_weight=sw)
    ref = sk.RidgeCV(alphas=alphas, store_cv_results=True).fit(X, y, sample_weight=sw)
    assert ours.alpha_ == ref.alpha_
    assert ours.best_score_ == pytest.approx(ref.best_score_, rel=1e-9)
    _assert_close(ours, ref, ["coef_", "intercept_"])
    np.testing.assert_allclose(ours.cv_results_, ref.cv_results_, rtol=1e-8)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("l1_ratio", [0.0, 0.5, 1.0])
def test_logistic_matches(kind, l1_ratio):
    X, y, sw = _data(kind, seed=3)
    labels = np.where(y > np.median(y), "up", "down")
    ours = je.LogisticRegression(C=0.3, l1_ratio=l1_ratio, tol=TIGHT).fit(X, labels, sw)
    solver = "lbfgs" if l1_ratio == 0 else "saga"
    ref = sk.LogisticRegression(C=0.3, l1_ratio=l1_ratio, solver=solver, tol=1e-14, max_iter=10**6)
    _quiet(lambda: ref.fit(X, labels, sw))
    _assert_close(ours, ref, ["coef_", "intercept_"])
    assert list(ours.classes_) == list(ref.classes_)
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=ATOL)
    assert np.array_equal(ours.predict(X), ref.predict(X))


@pytest.mark.parametrize("kind", ["dense", "sparse"])
def test_logistic_multiclass_is_one_softmax_model(kind):
    """Three classes or more: one multinomial model, scikit-learn's."""
    X, y, _ = _data(kind, n=120, seed=4)
    labels = np.array(["low", "mid", "high"])[np.digitize(y, np.quantile(y, [0.33, 0.66]))]
    sw = np.random.default_rng(4).uniform(0.5, 2.0, len(labels))
    ours = je.LogisticRegression(C=0.5, tol=TIGHT).fit(X, labels, sw)
    ref = sk.LogisticRegression(C=0.5, tol=1e-14, max_iter=10**5).fit(X, labels, sw)
    assert list(ours.classes_) == list(ref.classes_)
    assert ours.coef_.shape == ref.coef_.shape == (3, X.shape[1])
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-6)
    # Intercepts up to a shared constant (the softmax ignores it).
    np.testing.assert_allclose(
        ours.intercept_ - ours.intercept_.mean(), ref.intercept_ - ref.intercept_.mean(), atol=1e-5
    )
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=1e-5)
    np.testing.assert_allclose(ours.predict_proba(X).sum(axis=1), 1.0)
    assert np.array_equal(ours.predict(X), ref.predict(X))
    # One-vs-rest remains a wrapper away, as in scikit-learn.
    ovr = OneVsRestClassifier(je.LogisticRegression(C=0.5, tol=TIGHT)).fit(X, labels)
    sk_ovr = OneVsRestClassifier(sk.LogisticRegression(C=0.5, tol=1e-14, max_iter=10**5))
    np.testing.assert_allclose(
        ovr.predict_proba(X), sk_ovr.fit(X, labels).predict_proba(X), atol=ATOL
    )


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("l1_ratios", [None, (0.0, 0.5)])
def test_logistic_cv_multiclass_is_one_softmax_model(kind, l1_ratios):
    """Three classes or more: one multinomial model per fold and C, one C_
    repeated per class, scikit-learn's legacy attribute layout."""
    X, y, _ = _data(kind, n=120, seed=6)
    labels = np.array(["a", "b", "c"])[np.digitize(y, np.quantile(y, [0.33, 0.66]))]
    kw = dict(Cs=np.logspace(-2, 1, 5), cv=3, scoring="neg_log_loss", l1_ratios=l1_ratios)
    ours = _quiet(lambda: je.LogisticRegressionCV(tol=TIGHT, **kw).fit(X, labels))
    ref = _quiet(
        lambda: sk.LogisticRegressionCV(
            tol=1e-14,
            max_iter=10**5,
            use_legacy_attributes=True,
            solver="lbfgs" if l1_ratios is None else "saga",
            **kw,
        ).fit(X, labels)
    )
    np.testing.assert_allclose(ours.C_, ref.C_)
    if l1_ratios is not None:
        np.testing.assert_allclose(ours.l1_ratio_, ref.l1_ratio_)
    assert ours.coef_.shape == ref.coef_.shape == (3, X.shape[1])
    atol = 1e-6 if l1_ratios is None else 1e-4  # saga's own accuracy
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=atol)
    assert ours.n_iter_.shape == ref.n_iter_.shape
    for c in ref.classes_:
        assert ours.scores_[c].shape == ref.scores_[c].shape
        assert ours.coefs_paths_[c].shape == ref.coefs_paths_[c].shape
        # saga leaves 1e-3 in the log-loss of the most penalized fits.
        np.testing.assert_allclose(
            ours.scores_[c], ref.scores_[c], atol=1e-5 if l1_ratios is None else 5e-3
        )
    if l1_ratios is None:
        for c in ref.classes_:
            np.testing.assert_allclose(ours.coefs_paths_[c], ref.coefs_paths_[c], atol=1e-5)
    # Accuracy (scoring=None) picks by the softmax's argmax.
    acc = je.LogisticRegressionCV(Cs=3, cv=3, tol=1e-10).fit(X, labels)
    assert 0.0 <= acc.scores_["a"].max() <= 1.0 and acc.C_.shape == (3,)


@pytest.mark.parametrize("kind", KINDS)
def test_logistic_cv_matches(kind):
    X, y, _ = _data(kind, n=120, seed=5)
    labels = (y > np.median(y)).astype(int)
    # Log-loss scoring: a smooth score, so the selected C is stable to rounding.
    # C up to 10: beyond, the nearly unpenalized fits need very many iterations.
    kw = dict(Cs=np.logspace(-3, 1, 6), cv=4, scoring="neg_log_loss", l1_ratios=(0.0,))
    ours = _quiet(lambda: je.LogisticRegressionCV(tol=TIGHT, **kw).fit(X, labels))
    ref = _quiet(
        lambda: sk.LogisticRegressionCV(
            tol=1e-14, max_iter=10**5, use_legacy_attributes=True, **kw
        ).fit(X, labels)
    )
    np.testing.assert_allclose(ours.Cs_, ref.Cs_)
    np.testing.assert_allclose(ours.C_, ref.C_)
    _assert_close(ours, ref, ["coef_", "intercept_"])
    np.testing.assert_allclose(ours.scores_[1], ref.scores_[1], atol=1e-6)
    # score() uses the scoring, as scikit-learn's does (not accuracy).
    w = np.linspace(0.5, 2.0, X.shape[0])
    assert ours.score(X, labels) == pytest.approx(ref.score(X, labels), abs=1e-7)
    assert ours.score(X, labels) < 0
    assert ours.score(X, labels, sample_weight=w) == pytest.approx(
        ref.score(X, labels, sample_weight=w), abs=1e-7
    )


def test_logistic_cv_l1_and_accuracy():
    X, y, _ = _data("dense", n=120, seed=6)
    labels = (y > np.median(y)).astype(int)
    Cs = np.logspace(-3, 1, 5)
    ours = je.LogisticRegressionCV(Cs=Cs, l1_ratios=[0.5, 1.0], tol=TIGHT).fit(X, labels)
    assert ours.scores_[1].shape == (5, 5, 2)
    assert ours.coefs_paths_[1].shape == (5, 5, 2, X.shape[1] + 1)
    assert ours.l1_ratio_[0] in (0.5, 1.0)
    # The refit is the full-data fit at the selected point.
    ref = je.LogisticRegression(C=ours.C_[0], l1_ratio=ours.l1_ratio_[0], tol=TIGHT).fit(X, labels)
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-7)
    assert 0.5 < ours.score(X, labels) <= 1.0


# ----------------------------------------------------------------------------
# Inputs, composition and warnings
# ----------------------------------------------------------------------------


def test_inputs_numpy_pandas_sparse_and_jax_agree():
    pd = pytest.importorskip("pandas")
    X, y, _ = _data("dense")
    names = [f"f{j}" for j in range(X.shape[1])]
    ref = je.Lasso(alpha=0.05, tol=TIGHT).fit(X, y)
    df = pd.DataFrame(X, columns=names)
    from_pandas = je.Lasso(alpha=0.05, tol=TIGHT).fit(df, pd.Series(y))
    assert list(from_pandas.feature_names_in_) == names
    for other in [
        from_pandas,
        je.Lasso(alpha=0.05, tol=TIGHT).fit(sp.csc_matrix(X), y),
        je.Lasso(alpha=0.05, tol=TIGHT).fit(jsparse.BCOO.fromdense(X), y),
        je.Lasso(alpha=0.05, tol=TIGHT).fit(np.asarray(X), jnp.asarray(y)),
    ]:
        np.testing.assert_allclose(other.coef_, ref.coef_, atol=1e-9)
    np.testing.assert_allclose(from_pandas.predict(df), ref.predict(X), atol=1e-9)


def test_float32_stays_float32():
    X, y, _ = _data("dense")
    est = je.Lasso(alpha=0.05, tol=1e-6).fit(X.astype(np.float32), y.astype(np.float32))
    assert est.coef_.dtype == np.float32
    ref = je.Lasso(alpha=0.05, tol=TIGHT).fit(X, y)
    np.testing.assert_allclose(est.coef_, ref.coef_, atol=2e-4)


def test_float64_without_global_x64():
    """The estimators fit float64 in float64 even when JAX's 64-bit mode is off."""
    X, y, _ = _data("dense")
    with jax.enable_x64(False):
        est = je.Lasso(alpha=0.05, tol=TIGHT).fit(X, y)
    ref = sk.Lasso(alpha=0.05, tol=1e-15, max_iter=10**6).fit(X, y)
    assert est.coef_.dtype == np.float64
    np.testing.assert_allclose(est.coef_, ref.coef_, atol=ATOL)


def test_pipeline_grid_search_clone_pickle():
    X, y, _ = _data("dense")
    pipe = make_pipeline(StandardScaler(), je.ElasticNet(tol=TIGHT))
    search = GridSearchCV(
        pipe, {"elasticnet__alpha": [0.01, 0.1, 1.0], "elasticnet__l1_ratio": [0.5, 1.0]}, cv=3
    )
    search.fit(X, y)
    # The same search over scikit-learn's ElasticNet: the same scores, the same pick.
    ref = GridSearchCV(
        make_pipeline(StandardScaler(), sk.ElasticNet(tol=1e-12, max_iter=10**6)),
        search.param_grid,
        cv=3,
    ).fit(X, y)
    np.testing.assert_allclose(
        search.cv_results_["mean_test_score"], ref.cv_results_["mean_test_score"], atol=1e-8
    )
    assert search.best_params_ == ref.best_params_
    assert search.score(X, y) == pytest.approx(ref.score(X, y), abs=1e-8)
    est = clone(je.LassoCV(alphas=10, penalty_factor=np.ones(X.shape[1])))
    est.fit(X, y)
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(again.predict(X), est.predict(X))


def test_extras_penalty_factor_and_standardize():
    import jaxreg

    X, y, _ = _data("dense")
    pf = np.linspace(0.0, 2.0, X.shape[1])
    est = je.Lasso(alpha=0.05, penalty_factor=pf, standardize=True, tol=TIGHT).fit(X, y)
    fit = jaxreg.lasso(X, y, 0.05, penalty_factor=pf, standardize=True, tol=TIGHT)
    np.testing.assert_allclose(est.coef_, fit.coef, atol=1e-12)
    assert est.coef_[0] != 0  # unpenalized
    # Against the exact numpy solve of the documented objective.
    spec = oracle.Spec(X, y, 0.05, penalty_factor=pf, standardize=True)
    w, b, _ = oracle.solve(spec)
    np.testing.assert_allclose(est.coef_, w, atol=1e-7)
    np.testing.assert_allclose(est.intercept_, b, atol=1e-7)


def test_convergence_warning():
    X, y, _ = _data("dense")
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        je.Lasso(alpha=1e-4, max_iter=3, tol=1e-12).fit(X, y)
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        je.LogisticRegression(C=1e4, max_iter=3, tol=1e-12).fit(X, y > 1)


@pytest.mark.parametrize(
    "est, message",
    [
        (je.Lasso(alpha=-1.0), "alpha must be >= 0"),
        (je.ElasticNet(l1_ratio=1.5), r"l1_ratio must be a number in \[0, 1\]"),
        (je.Lasso(max_iter=0), "max_iter must be a positive integer"),
        (je.Lasso(precompute=np.eye(3)), "precompute must be True, False or 'auto'"),
        (je.Ridge(solver="magic"), "solver must be one of"),
        (je.RidgeCV(alphas=[0.0, 1.0]), "alphas must be finite and > 0"),
        (je.LogisticRegression(C=0.0), "C must be > 0"),
        (je.LogisticRegressionCV(Cs=[1.0, -1.0]), "Cs must be finite and > 0"),
        (je.LassoCV(cv=KFold(3).split(np.zeros((5, 1)))), None),
    ],
)
def test_bad_parameters_are_named(est, message):
    X, y, _ = _data("dense", n=30)
    if message is None:  # a one-shot iterable of splits over the wrong rows
        with pytest.raises(ValueError):
            est.fit(X, y)
        return
    target = y > 1 if "Logistic" in type(est).__name__ else y
    with pytest.raises(ValueError, match=message):
        est.fit(X, target)


def test_cv_needs_partitioning_splits():
    from sklearn.model_selection import ShuffleSplit

    X, y, _ = _data("dense", n=40)
    with pytest.raises(ValueError, match="partition the samples"):
        je.LassoCV(cv=ShuffleSplit(3, test_size=0.2, random_state=0)).fit(X, y)


def test_plots_from_estimators(tmp_path):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import jaxreg

    X, y, _ = _data("dense")
    lcv = je.LassoCV(alphas=20).fit(X, y)
    ax = lcv.plot_cv()
    # The curve is glmnet's cvm: the folds' errors weighted by their sizes;
    # the marks are the two rules applied to it and its standard error.
    sizes = np.array([len(test) for _, test in KFold(5).split(X)], float)
    mean, se = oracle.cv_curves(np.moveaxis(lcv.mse_path_, -1, 0), sizes)
    curve = ax.containers[0].lines[0]
    np.testing.assert_allclose(curve.get_ydata(), mean, rtol=1e-12)
    _, k, k1 = oracle.select(mean[None], se[None])
    marks = {ln.get_label(): ln.get_xdata()[0] for ln in ax.lines}
    assert marks["alpha_min"] == lcv.alphas_[k]
    assert marks["alpha_1se"] == lcv.alphas_[k1]
    ax = lcv.plot_path()
    # One line per coefficient, through the path's values; at alpha_ they are coef_.
    paths = [ln for ln in ax.lines if len(ln.get_xdata()) == len(lcv.alphas_)]
    assert len(paths) == X.shape[1]
    k = int(np.flatnonzero(np.asarray(paths[0].get_xdata()) == lcv.alpha_)[0])
    at_alpha = sorted(float(ln.get_ydata()[k]) for ln in paths)
    np.testing.assert_allclose(at_alpha, np.sort(lcv.coef_), atol=1e-12)
    rcv = je.RidgeCV(alphas=np.geomspace(0.01, 100, 9)).fit(X, y)
    rcv.plot_cv()
    ax = jaxreg.plot.plot_coefficients(
        {"lasso": je.Lasso(alpha=0.1).fit(X, y), "ridge": je.Ridge(alpha=1.0).fit(X, y)}
    )
    ax.figure.savefig(tmp_path / "coef.png")
    assert (tmp_path / "coef.png").stat().st_size > 5_000
