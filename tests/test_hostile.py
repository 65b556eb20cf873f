"""Hostile inputs: no hang, no silent NaN, and never CONVERGED without a finite
certificate. Each case here failed (hung, overflowed or claimed convergence)
before the check that it guards."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
from _jaxreg_problems import classification, regression

import jaxreg
from jaxreg import cli

X, Y, _ = regression(40, 5, seed=0)
_RIDGE_OPTIONS = dict(
    sample_weight=None,
    penalty_factor=None,
    lower=None,
    upper=None,
    positive=False,
    tol=1e-12,
    max_iter=1000,
    standardize=False,
)
XC, YC, _ = classification(40, 5, seed=0)

ENTRY_POINTS = {
    "lasso": lambda **kw: jaxreg.lasso(X, Y, 0.1, **kw),
    "elastic_net": lambda **kw: jaxreg.elastic_net(X, Y, 0.1, 0.5, **kw),
    "logistic": lambda **kw: jaxreg.logistic(XC, YC, 0.01, **kw),
    "ridge": lambda **kw: jaxreg.ridge(X, Y, 1.0, solver="fista", **kw),
    "lasso_path": lambda **kw: jaxreg.lasso_path(X, Y, n_alphas=3, **kw),
    "enet_path": lambda **kw: jaxreg.enet_path(X, Y, n_alphas=3, **kw),
    "logistic_path": lambda **kw: jaxreg.logistic_path(XC, YC, n_alphas=3, **kw),
    "cross_validate": lambda **kw: jaxreg.cross_validate(X, Y, n_alphas=3, cv=3, **kw),
}


@pytest.mark.parametrize("value", [0, -1, 2.5, True, 2**40])
@pytest.mark.parametrize("entry", list(ENTRY_POINTS))
def test_check_every_must_be_a_positive_count(entry, value):
    # 0 never returned, -1 ran 2**31 iterations, 2.5 was taken as 2.
    with pytest.raises(ValueError, match="check_every must be a positive integer"):
        ENTRY_POINTS[entry](check_every=value)


@pytest.mark.parametrize("value", [0, 2.5, True, 2**40])
@pytest.mark.parametrize("entry", ["lasso", "logistic_path", "cross_validate"])
def test_max_iter_must_be_a_count_that_fits_the_solver(entry, value):
    # 2**40 overflowed the solver's int32 counter; True was taken as 1.
    with pytest.raises(ValueError, match="max_iter must be a positive integer"):
        ENTRY_POINTS[entry](max_iter=value)


def test_estimators_reject_the_same_counts():
    from jaxreg.estimators import Lasso

    for value in (True, 2**40):
        with pytest.raises(ValueError, match="max_iter must be a positive integer"):
            Lasso(alpha=0.1, max_iter=value).fit(X, Y)


@pytest.mark.parametrize(
    "fit",
    [
        lambda y: jaxreg.lasso(X, y, 1e153),
        lambda y: jaxreg.elastic_net(X, y, 1e153, 0.5),
        lambda y: jaxreg.ridge(X, y, 1e153),
        lambda y: jaxreg.lasso_path(X, y, n_alphas=3),
    ],
    ids=["lasso", "elastic_net", "ridge", "lasso_path"],
)
def test_an_overflowed_certificate_is_never_converged(fit):
    # y scaled by 1e154: the gap and its tolerance overflow to inf, and
    # inf <= inf used to read as CONVERGED.
    res = fit(Y * 1e154)
    gap, gap_tol = np.atleast_1d(res.gap), np.atleast_1d(res.gap_tol)
    status = np.atleast_1d(res.status)
    honest = np.isfinite(gap) & np.isfinite(gap_tol) & (gap <= gap_tol)
    assert np.all((status != jaxreg.Status.CONVERGED) | honest)
    assert np.all(status[~honest] == jaxreg.Status.NONFINITE)


@pytest.mark.parametrize("route", ["ridge", "path"])
def test_a_ridge_certificate_beyond_the_units_of_ridge_is_not_converged(route):
    # Ridge reports in sum-of-squares units, 2 sum(w) times the mean-loss
    # problem it certifies: weights of 1e200 and y of 1e80 overflow them.
    # The fit is right, but its gap read inf and its status CONVERGED.
    weights = np.full(X.shape[0], 1e200)
    if route == "ridge":
        res = jaxreg.ridge(X, Y * 1e80, 1.0, sample_weight=weights)
        ref = jaxreg.ridge(X, Y, 1e-200)
    else:
        res = jaxreg.ridge_path(X, Y * 1e80, [1.0], sample_weight=weights)
        ref = jaxreg.ridge_path(X, Y, [1e-200])
    status = np.asarray(res.status)
    assert np.all(status != jaxreg.Status.CONVERGED)
    assert np.all((status == jaxreg.Status.NONFINITE) | ~np.isfinite(np.asarray(res.objective)))
    np.testing.assert_allclose(np.asarray(res.coef) / 1e80, ref.coef, rtol=1e-9)


@pytest.mark.parametrize("route", ["cholesky", "svd", "cg", "dual"])
def test_ridge_at_alpha_zero_is_certified_by_its_newton_decrement(route):
    # At alpha = 0 every coordinate is free and the ridge dual gap is 0 by
    # construction: it read CONVERGED wherever the solve stopped. The Newton
    # decrement certifies it now; a route without one is not CONVERGED.
    fit = jaxreg.ridge(X, Y, 0.0, solver=route, fit_intercept=False)
    ref = np.linalg.lstsq(X, Y, rcond=None)[0]
    assert fit.status == jaxreg.Status.CONVERGED
    np.testing.assert_allclose(fit.coef, ref, rtol=1e-9)
    # A perturbed point: the decrement is its exact suboptimality.
    from jaxreg import _engine
    from jaxreg._spec import make_hyper

    inputs = _engine.checked_inputs(jaxreg.datafits.Quadratic, X, Y, _RIDGE_OPTIONS)
    data = _engine.ridge_data(X, Y, make_hyper(inputs, 0.0), False, False)
    beta = jnp.asarray(ref * 1.1)
    reg = jnp.zeros(X.shape[1])
    hyper = make_hyper(inputs, 0.0)
    _, solve = _engine._ridge_beta(data, reg, hyper, route if route != "dual" else "svd")
    cert = _engine.certified_ridge(data, 0.0, beta, 1e-12, False, hessian_solve=solve)
    r, r0 = Y - X @ np.asarray(beta), Y - X @ ref
    np.testing.assert_allclose(cert.gap, r @ r - r0 @ r0, rtol=1e-6)
    assert cert.status == jaxreg.Status.INACCURATE
    nothing = _engine.certified_ridge(data, 0.0, beta, 1e-12, False, hessian_solve=None)
    assert nothing.status == jaxreg.Status.INACCURATE and np.isinf(nothing.gap)


@pytest.mark.parametrize("dtype, scale", [(np.float32, 1e-45), (np.float64, 1e-320)])
def test_subnormal_sample_weights_are_refused(dtype, scale):
    # float32 weights of 1e-45 passed the checks (their sum is positive) and
    # the logistic fit came back INVALID_INPUT from an eager call.
    rng = np.random.default_rng(0)
    A = XC[:12].astype(dtype)
    weights = rng.uniform(0.1, 2.0, 12) * scale
    with pytest.raises(ValueError, match="sample_weight has positive values below"):
        jaxreg.logistic(A, YC[:12], 0.1, sample_weight=weights)
    with pytest.raises(ValueError, match="sample_weight has positive values below"):
        jaxreg.lasso(A, YC[:12], 0.1, sample_weight=weights)


def test_cli_states_the_comparison_that_holds(tmp_path, capsys):
    path = tmp_path / "data.csv"
    rows = ["y," + ",".join(f"x{j}" for j in range(X.shape[1]))]
    rows += [",".join(f"{v:.17g}" for v in (Y[i], *X[i])) for i in range(len(Y))]
    path.write_text("\n".join(rows) + "\n")
    argv = ["fit", str(path), "--alpha", "0.001", "--max-iter", "1", "--tol", "1e-12", "-q"]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "converged: NO" in out
    line = next(ln for ln in out.splitlines() if "duality gap" in ln)
    gap, relation, tol = line.split("duality gap ")[1].split(";")[0].split()
    assert relation == ">" and float(gap) > float(tol)
    with pytest.raises(SystemExit) as stop:  # a usage error: no traceback, status 2
        cli.main(["fit", str(path), "--alpha", "0.001", "--max-iter", "99999999999"])
    assert stop.value.code == 2
    assert "--max-iter must be between 1 and 2147483647" in capsys.readouterr().err


@pytest.mark.parametrize("value", [None, "0.1", True, [0.1], np.array(["0.1"])])
@pytest.mark.parametrize(
    "fit",
    [
        lambda a: jaxreg.lasso(X, Y, a),
        lambda a: jaxreg.ridge(X, Y, a),
        lambda a: jaxreg.logistic(XC, YC, a),
        lambda a: jaxreg.elastic_net(X, Y, 0.1, a),
    ],
    ids=["lasso alpha", "ridge alpha", "logistic alpha", "elastic_net l1_ratio"],
)
def test_a_penalty_must_be_a_real_number(fit, value):
    # None raised a TypeError naming nothing; "0.1" and True were taken as numbers.
    with pytest.raises(ValueError, match=r"(alpha|l1_ratio) must be a (real number|scalar)"):
        fit(value)


@pytest.mark.parametrize(
    "bounds,message",
    [
        (dict(lower=np.inf), "lower must not be inf"),
        (dict(upper=-np.inf), "upper must not be -inf"),
        (dict(lower=np.r_[0.0, 0.0, np.inf, 0.0, 0.0]), "lower must not be inf"),
    ],
)
@pytest.mark.parametrize("entry", ["lasso", "logistic", "lasso_path", "cross_validate"])
def test_an_infinite_bound_on_the_wrong_side_is_refused(entry, bounds, message):
    # lower=inf and upper=-inf were accepted and gave infinite coefficients.
    with pytest.raises(ValueError, match=message):
        ENTRY_POINTS[entry](**bounds)


@pytest.mark.parametrize("value", ["0.1", None, True, ["0.1"]])
def test_estimators_refuse_a_penalty_that_is_not_a_number(value):
    # Ridge read alpha="0.1" as 0.1 while Lasso refused it.
    from jaxreg.estimators import Lasso, Ridge

    for est in (Ridge(alpha=value), Lasso(alpha=value)):
        with pytest.raises((ValueError, TypeError), match="alpha"):
            est.fit(X, Y)


def test_frames_with_boolean_and_nullable_columns_are_numeric():
    # A bool or nullable Int64 column made the whole frame "dtype object".
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(X.shape[1])])
    frame["flag"] = X[:, 0] > 0
    frame["count"] = pd.array(np.arange(len(Y)) % 3, dtype="Int64")
    labels = pd.Series(pd.array(YC.astype(int), dtype="Int64"))
    values = frame.to_numpy(dtype=float)
    np.testing.assert_allclose(
        jaxreg.lasso(frame, Y, 0.05).coef, jaxreg.lasso(values, Y, 0.05).coef
    )
    fit = jaxreg.logistic(frame, labels, 0.01)
    assert fit.status == jaxreg.Status.CONVERGED
    frame.loc[3, "count"] = pd.NA
    with pytest.raises(ValueError, match="X contains NaN"):
        jaxreg.lasso(frame, Y, 0.05)
    frame["name"] = "a"
    with pytest.raises(ValueError, match=r"non-numeric columns \['name'\]"):
        jaxreg.lasso(frame, Y, 0.05)


def test_a_fold_with_no_held_out_weight_is_refused():
    # Its scores were 0 / 0: the mean curve NaN, alpha_min the largest alpha, silently.
    foldid = np.arange(len(Y)) % 4
    sw = np.where(foldid == 2, 0.0, 1.0)
    with pytest.raises(ValueError, match="held-out rows of fold 2 have zero total sample_weight"):
        jaxreg.cross_validate(X, Y, n_alphas=3, foldid=foldid, sample_weight=sw)


def test_a_logistic_training_fold_with_one_class_is_refused():
    # Every score was NaN, silently.
    foldid = np.arange(len(YC)) % 4
    labels = np.where(foldid == 0, YC, 1.0)  # fold 0 trains on the other folds: all ones
    labels[0] = 0.0
    with pytest.raises(ValueError, match="training rows of fold 0 hold one class only"):
        jaxreg.cross_validate(XC, labels, "logistic", n_alphas=3, foldid=foldid)
    # Zero weights hide class 0 from fold 3's training rows (folds 0 to 2).
    sw = np.where((YC == 0) & (foldid != 3), 0.0, 1.0)
    with pytest.raises(ValueError, match="training rows of fold 3 hold one class only"):
        jaxreg.cross_validate(XC, YC, "logistic", n_alphas=3, foldid=foldid, sample_weight=sw)


@pytest.mark.parametrize("name", ["alpha", "learning_rate"])
@pytest.mark.parametrize("value", [np.inf, np.nan, -1.0])
def test_prox_transforms_refuse_infinite_steps_and_penalties(name, value):
    # alpha=inf or learning_rate=inf turned every parameter into NaN.
    kw = dict(alpha=0.1, learning_rate=0.1) | {name: value}
    for make in (jaxreg.optim.l1_prox, jaxreg.optim.l2_prox):
        with pytest.raises(ValueError, match=f"{name} must be a finite nonnegative number"):
            make(**kw)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("design", ["constant column", "p > n"])
def test_ridge_at_alpha_zero_is_the_minimum_norm_least_squares(design, sparse):
    # Cholesky and the dual form failed (NaN, NONFINITE) on a rank-deficient design.
    import scipy.sparse as sp
    from sklearn.linear_model import LinearRegression

    from jaxreg.estimators import Ridge

    rng = np.random.default_rng(1)
    A = X.copy() if design == "constant column" else rng.standard_normal((10, 30))
    if design == "constant column":
        A[:, 2] = 1.0
    b = A[:, 0] + 0.1 * rng.standard_normal(A.shape[0])
    ref = LinearRegression().fit(A, b)  # lstsq: the minimum-norm solution
    data = sp.csr_matrix(A) if sparse else A
    fit = jaxreg.ridge(data, b, 0.0)
    assert fit.status == jaxreg.Status.CONVERGED
    np.testing.assert_allclose(fit.coef, ref.coef_, atol=1e-9)
    np.testing.assert_allclose(fit.intercept, ref.intercept_, atol=1e-9)
    np.testing.assert_allclose(Ridge(alpha=0.0).fit(data, b).coef_, ref.coef_, atol=1e-9)
    if not sparse:
        path = jaxreg.ridge_path(A, b, alphas=[1.0, 0.0])
        np.testing.assert_allclose(path.coef[1], ref.coef_, atol=1e-9)


def test_traced_hyperparameters_outside_their_domain_are_never_converged():
    # Under jit the value checks cannot raise: l1_ratio=-0.5 or lower > upper
    # ended CONVERGED with a gap of about zero.
    import jax

    invalid = jaxreg.Status.INVALID_INPUT
    enet = jax.jit(lambda a, r: jaxreg.elastic_net(X, Y, a, r))
    assert enet(0.1, -0.5).status == invalid
    assert enet(0.1, 1.5).status == invalid
    assert enet(-0.1, 0.5).status == invalid
    assert enet(np.nan, 0.5).status == invalid
    assert enet(0.1, 0.5).status == jaxreg.Status.CONVERGED
    bounded = jax.jit(lambda lo: jaxreg.lasso(X, Y, 0.01, lower=lo, upper=0.0))
    assert bounded(1.0).status == invalid
    assert bounded(-1.0).status == jaxreg.Status.CONVERGED
    logistic = jax.jit(lambda a: jaxreg.logistic(XC, YC, a))
    assert logistic(-0.01).status == invalid
    ridge = jax.jit(lambda a: jaxreg.ridge(X, Y, a))
    assert ridge(-1.0).status == invalid
    lanes = jax.vmap(lambda a: jaxreg.lasso(X, Y, a))(np.array([0.1, -0.1, 0.05]))
    np.testing.assert_array_equal(lanes.status, [0, invalid, 0])


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda X32: jaxreg.lasso(X32, Y * 1e200, 0.1), "y has values up to"),
        (lambda X32: jaxreg.lasso(X32, Y, 1e300), "alpha is 1e[+]300, beyond float32"),
        (
            lambda X32: jaxreg.lasso(X32, Y, 0.1, sample_weight=np.full(len(Y), 1e300)),
            "sample_weight has values",
        ),
        (
            lambda X32: jaxreg.lasso(X32, Y, 0.1, sample_weight=np.full(len(Y), 1e-300)),
            "sample_weight sums to 0 in float32",
        ),
        (lambda X32: jaxreg.lasso_path(X32, Y * 1e200, n_alphas=3), "y has values up to"),
        (lambda X32: jaxreg.ridge(X32, Y, 1e300), "alpha is"),
        (
            lambda X32: jaxreg.cross_validate(
                X32, Y, n_alphas=3, cv=3, sample_weight=np.full(len(Y), 1e-300)
            ),
            "sample_weight sums to 0",
        ),
    ],
)
def test_values_that_overflow_the_cast_to_float32_are_refused(call, message):
    # Checked as float64, they turned into inf (or 0) once cast to float32,
    # and the fit into NaN with status NONFINITE.
    with pytest.raises(ValueError, match=message):
        call(X.astype(np.float32))


def test_float64_data_beyond_float32_range_is_refused_without_x64():
    # Without x64, float64 input runs in float32: X scaled by 1e200 became
    # inf after the cast.
    import subprocess
    import sys

    code = (
        "import numpy as np, jaxreg\n"
        "X = np.random.default_rng(0).standard_normal((20, 3)) * 1e200\n"
        "try:\n"
        "    jaxreg.lasso(X, np.arange(20.0), 0.1)\n"
        "except ValueError as err:\n"
        "    print(err)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "X has values up to" in out.stdout and "float32" in out.stdout


def test_weight_checks_hold_under_jit_with_other_dtypes():
    # The float32-sum check reduced the cast weights, a tracer under jit
    # when the weights' dtype differs from the run's: it raised there.
    import jax
    import jax.numpy as jnp

    fit = jax.jit(lambda A, b: jaxreg.lasso(A, b, 0.1, sample_weight=jnp.ones(len(Y), jnp.int32)))
    assert fit(X, Y).status == jaxreg.Status.CONVERGED


@pytest.mark.parametrize("model", ["lasso", "logistic"])
def test_gradients_with_a_duplicated_column_are_finite(model):
    # Both copies in the support made the implicit system singular: NaN.
    import jax
    import jax.numpy as jnp

    A, b = (X, Y) if model == "lasso" else (XC, YC)
    A = np.column_stack([A, A[:, 0]])
    fit = getattr(jaxreg, model)
    alpha = 0.05 if model == "lasso" else 0.005

    def loss(a):
        f = fit(A, b, a, tol=1e-12)
        return jnp.sum((A @ f.coef + f.intercept) ** 2)

    assert np.count_nonzero(np.asarray(fit(A, b, alpha).coef)[[0, -1]]) == 2
    g = float(jax.grad(loss)(alpha))
    h = 1e-6 * alpha
    fd = (float(loss(alpha + h)) - float(loss(alpha - h))) / (2 * h)
    assert np.isfinite(g)
    np.testing.assert_allclose(g, fd, rtol=1e-5)
    # The minimum-norm derivative moves the two copies alike.
    d = jax.jacobian(lambda a: fit(A, b, a, tol=1e-12).coef)(alpha)
    np.testing.assert_allclose(d[0], d[-1], rtol=1e-6)


@pytest.mark.parametrize("value", [0, -3, 2.5, True])
def test_grid_sizes_must_be_positive_counts(value):
    # n_alphas=0 was a ZeroDivisionError.
    with pytest.raises(ValueError, match="n_alphas must be a positive integer"):
        jaxreg.cross_validate(X, Y, n_alphas=value, cv=3)
    with pytest.raises(ValueError, match="n_alphas must be a positive integer"):
        jaxreg.lasso_path(X, Y, n_alphas=value)


def test_boolean_designs_fit_as_zeros_and_ones():
    # A sparse boolean X was a raw JAX TypeError.
    import scipy.sparse as sp

    B = np.abs(X) > 0.5
    ref = jaxreg.lasso(B.astype(float), Y, 0.05)
    for data in (B, sp.csr_matrix(B), sp.csc_matrix(B)):
        fit = jaxreg.lasso(data, Y, 0.05)
        assert fit.status == jaxreg.Status.CONVERGED
        np.testing.assert_allclose(fit.coef, ref.coef, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("cv", ["loo", "gcv"])
def test_leave_one_out_needs_two_weighted_samples(cv):
    # One positive weight: NaN held-out scores marked CONVERGED.
    w = np.zeros(len(Y))
    w[0] = 1.0
    with pytest.raises(ValueError, match="sample_weight positive on at least two"):
        jaxreg.cross_validate(X, Y, "ridge", alphas=[1.0, 0.1], cv=cv, sample_weight=w)
    w[1] = 1.0
    res = jaxreg.cross_validate(X, Y, "ridge", alphas=[1.0, 0.1], cv=cv, sample_weight=w)
    assert np.all(np.isfinite(np.asarray(res.mean)))


def test_ridge_cv_on_huge_columns_fits_without_a_df_axis():
    # The plotting aid's eigendecomposition of a Gram matrix near 1e342 raised
    # LinAlgError out of RidgeCV.fit.
    from jaxreg.estimators import RidgeCV

    est = RidgeCV(alphas=[1e-3, 1.0, 1e3]).fit(X * 1e171, Y * 1e80)
    assert np.all(np.isfinite(est.coef_))
    assert est._df is None
    ref = RidgeCV(alphas=[1e-3, 1.0, 1e3]).fit(X, Y)
    assert ref._df is not None
