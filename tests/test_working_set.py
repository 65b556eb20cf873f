"""The working-set strategy: same answers as scikit-learn and the FISTA strategies."""

from __future__ import annotations

import jax
import numpy as np
import pytest
from _jaxreg_problems import (
    OPTION_SETS,
    assert_option_constraints,
    option_kwargs,
    prepared_problem,
    regression,
)
from sklearn.linear_model import enet_path

import jaxreg
from jaxreg import _working_set
from jaxreg._spec import Spec
from jaxreg.datafits import Logistic, Quadratic
from jaxreg.path import default_strategy


def test_size_ladder():
    assert _working_set.sizes(5000) == (64, 256, 1024, 5000)
    assert _working_set.sizes(500) == (64, 500)
    assert _working_set.sizes(300) == (64, 300)
    assert _working_set.sizes(129) == (129,)
    # Design mode (n samples): 128, 512, ... below the power of two at or
    # above n, that power and its double, all below p / 2.
    assert _working_set.sizes(5000, 500) == (128, 512, 1024, 5000)
    assert _working_set.sizes(5000, 1000) == (128, 512, 1024, 2048, 5000)
    assert _working_set.sizes(20000, 2000) == (128, 512, 2048, 4096, 20000)
    assert _working_set.sizes(300, 100) == (128, 300)
    assert _working_set.sizes(300, 60) == (64, 128, 300)
    assert _working_set.sizes(500, 400) == (128, 500)
    assert _working_set.sizes(500, 5000) == (128, 500)
    assert _working_set.sizes(5000, 10) == (64, 128, 5000)  # fit at least 64


def test_auto_strategy():
    X = np.zeros((10, 200))
    design = Spec(Quadratic, use_gram=False)
    assert _working_set.suits(design, X)
    assert not _working_set.suits(Spec(Quadratic, use_gram=True), X)  # Gram mode: chunked FISTA
    assert _working_set.suits(Spec(Logistic), X)  # proximal Newton (see test_prox_newton.py)
    assert not _working_set.suits(design, np.zeros((10, 100)))
    expected = "vmap" if jax.default_backend() in ("gpu", "tpu") else "working_set"
    assert default_strategy("auto", None, working_set=True)[0] == expected
    assert default_strategy("working_set", 3) == ("working_set", 3)


@pytest.mark.parametrize("shape,gram", [((80, 300), False), ((400, 150), True)])
@pytest.mark.parametrize("l1_ratio", [1.0, 0.6])
def test_matches_sklearn(shape, gram, l1_ratio):
    X, y, _ = regression(*shape, "corr", seed=11, k=8)
    path = jaxreg.enet_path(
        X, y, l1_ratio, n_alphas=30, eps=1e-2, tol=1e-14, strategy="working_set", gram=gram
    )
    assert bool(path.converged.all())
    assert np.all(np.asarray(path.gap) <= np.asarray(path.gap_tol))
    Xc, yc = X - X.mean(0), y - y.mean()
    _, coefs, _ = enet_path(
        Xc, yc, l1_ratio=l1_ratio, alphas=np.asarray(path.alphas), tol=1e-15, max_iter=10**6
    )
    np.testing.assert_allclose(path.coef, coefs.T, atol=1e-6, rtol=0)
    intercepts = y.mean() - np.asarray(path.coef) @ X.mean(0)
    np.testing.assert_allclose(path.intercept, intercepts, atol=1e-6, rtol=0)


OPTIONS = OPTION_SETS


@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: next(iter(o)))
def test_options_match_fista(options):
    X, y, sw = regression(70, 260, "random", seed=12, k=6, weights=True)
    kw = option_kwargs(options, X.shape[1], sw, free=2)
    common = dict(n_alphas=25, eps=2e-2, tol=1e-14, **kw)
    ws = jaxreg.enet_path(X, y, 0.8, strategy="working_set", **common)
    ref = jaxreg.enet_path(X, y, 0.8, strategy="warm", chunk_size=1, **common)
    assert bool(ws.converged.all()) and bool(ref.converged.all())
    # Both are certified to 1e-14; at the small-alpha end (about as many
    # nonzeros as samples) the coefficients are ill-conditioned, the objective
    # is not.
    np.testing.assert_allclose(ws.objective, ref.objective, rtol=1e-10)
    np.testing.assert_allclose(ws.coef, ref.coef, atol=1e-5, rtol=0)
    np.testing.assert_allclose(ws.intercept, ref.intercept, atol=1e-5, rtol=0)
    assert_option_constraints(ws.coef, kw)


def test_cold_start_climbs_the_ladder():
    # A small alpha from a cold start: hundreds of violators, past the first rung.
    X, y, _ = regression(150, 600, "random", seed=13, k=40, noise=0.1)
    top = float(jaxreg.alpha_max(X, y))
    alphas = np.array([0.02 * top])
    ws = jaxreg.lasso_path(X, y, alphas=alphas, tol=1e-12, strategy="working_set")
    ref = jaxreg.lasso_path(X, y, alphas=alphas, tol=1e-12, strategy="warm", chunk_size=1)
    assert int(ws.n_nonzero[0]) > 64 and bool(ws.converged.all())
    np.testing.assert_allclose(ws.objective, ref.objective, rtol=1e-9)
    np.testing.assert_allclose(ws.coef, ref.coef, atol=1e-5, rtol=0)


def test_sets_past_the_rungs_go_to_the_fista_finish():
    # An elastic net with a small l1_ratio on a wide design: sets larger than
    # every rung below p, solved by the FISTA finish on the full problem.
    X, y, _ = regression(60, 300, "corr", seed=16, k=8)
    top_rung = _working_set.sizes(300, 60)[-2]
    common = dict(n_alphas=15, eps=1e-2, tol=1e-12)
    ws = jaxreg.enet_path(X, y, 0.05, strategy="working_set", **common)
    ref = jaxreg.enet_path(X, y, 0.05, strategy="warm", chunk_size=1, **common)
    assert bool(ws.converged.all()) and bool(ref.converged.all())
    assert int(np.max(ws.n_nonzero)) > top_rung
    np.testing.assert_allclose(ws.objective, ref.objective, rtol=1e-9)
    np.testing.assert_allclose(ws.coef, ref.coef, atol=1e-5, rtol=0)


def test_sets_sent_to_the_finish_are_still_refined():
    # A path's extrapolated start is never returned as it is, also when the
    # set skips coordinate descent for the FISTA finish (at a loose tolerance
    # the start would otherwise often pass unrefined).
    X, y, _ = regression(60, 300, "corr", seed=16, k=8)
    ws = jaxreg.enet_path(X, y, 0.05, n_alphas=15, eps=1e-2, tol=1e-3, strategy="working_set")
    assert int(np.max(ws.n_nonzero)) > _working_set.sizes(300, 60)[-2]
    assert bool(ws.converged.all())
    assert int(np.min(np.asarray(ws.n_iter)[1:])) >= 1


def test_cross_validation_matches_warm():
    X, y, _ = regression(90, 240, "corr", seed=14, k=6)
    kw = dict(n_alphas=20, eps=2e-2, tol=1e-12, l1_ratio=[0.5, 1.0])
    ws = jaxreg.cross_validate(X, y, "elastic_net", strategy="working_set", **kw)
    ref = jaxreg.cross_validate(X, y, "elastic_net", strategy="warm", **kw)
    assert bool(np.all(np.asarray(ws.fold_status) == jaxreg.Status.CONVERGED))
    np.testing.assert_array_equal(ws.best_index, ref.best_index)
    np.testing.assert_allclose(ws.mean, ref.mean, rtol=1e-5)
    np.testing.assert_allclose(ws.path.objective, ref.path.objective, rtol=1e-9)
    np.testing.assert_allclose(ws.path.coef, ref.path.coef, atol=1e-5, rtol=0)


def test_float32_path():
    X, y, _ = regression(80, 300, "corr", seed=15, k=8)
    path = jaxreg.lasso_path(
        X.astype(np.float32), y.astype(np.float32), n_alphas=20, eps=1e-2, strategy="working_set"
    )
    assert path.coef.dtype == np.float32
    assert bool(path.converged.all())
    ref = jaxreg.lasso_path(X, y, alphas=np.asarray(path.alphas, np.float64), tol=1e-12)
    # The float32 answers, scored in float64: within the default tolerance's
    # certified bound (2 tol relative to the null objective) of the optimum.
    Xc, yc = X - X.mean(0), y - y.mean()
    w = np.asarray(path.coef, np.float64)
    alphas = np.asarray(ref.alphas)
    values = 0.5 * np.mean((yc[:, None] - Xc @ w.T) ** 2, axis=0) + alphas * np.abs(w).sum(1)
    null = 0.5 * np.mean(yc**2)
    assert np.max((values - np.asarray(ref.objective)) / null) <= 2e-4


def test_fista_finishes_where_coordinate_descent_stops(monkeypatch):
    # One coordinate-descent epoch per round: every subproblem is left to the
    # FISTA finish (the full problem with the columns outside the set pinned).
    X, y, _ = regression(60, 200, "corr", seed=16, k=8)
    common = dict(n_alphas=15, eps=2e-2, tol=1e-12)
    ref = jaxreg.lasso_path(X, y, strategy="warm", chunk_size=1, **common)
    monkeypatch.setattr(_working_set, "_CD_EPOCHS", 1)
    jax.clear_caches()
    try:
        ws = jaxreg.lasso_path(X, y, strategy="working_set", **common)
    finally:
        monkeypatch.undo()
        jax.clear_caches()
    assert bool(ws.converged.all())
    # Rounds of one epoch each could not certify 1e-12 on their own.
    assert int(np.max(ws.n_iter)) > 10
    np.testing.assert_allclose(ws.objective, ref.objective, rtol=1e-10)
    np.testing.assert_allclose(ws.coef, ref.coef, atol=1e-6, rtol=0)


def test_start_image_is_used_only_where_valid():
    from jaxreg import _problem

    X, y, _ = regression(50, 200, "random", seed=17, k=5)
    n, p = X.shape
    problem = prepared_problem(X, y)
    beta0 = jax.numpy.zeros(p).at[:5].set(0.1)
    alpha = 0.1 * float(jaxreg.alpha_max(X, y))
    u = problem.datafit.forward(beta0)
    grad = problem.datafit.value_and_grad_at(u, beta0, 0.0)[1]

    def run(start):
        result, *_ = _problem.solve(
            problem, alpha, 1.0, beta0, 0.0, 10_000, working_set=True, start=start
        )
        return result

    exact = run(None)
    given = run((u, grad, jax.numpy.asarray(True)))
    garbage = run((2.0 * u, 2.0 * grad, jax.numpy.asarray(False)))
    # A wrong start marked valid only costs rounds: every certificate is taken
    # at a freshly computed image, so the answer is still the solution.
    trusted = run((2.0 * u, 2.0 * grad, jax.numpy.asarray(True)))
    for other in (given, garbage):
        assert int(other.status) == jaxreg.Status.CONVERGED
        np.testing.assert_allclose(other.coef, exact.coef, atol=1e-12, rtol=0)
        np.testing.assert_allclose(other.gap, exact.gap, atol=1e-15, rtol=1e-6)
    # Another trajectory (so a start marked valid is read, not recomputed: a
    # recomputed one would repeat the exact run bit for bit) to another point
    # within the same certified tolerance.
    assert (int(trusted.n_iter), float(trusted.kkt)) != (int(exact.n_iter), float(exact.kkt))
    assert int(trusted.status) == jaxreg.Status.CONVERGED
    assert float(trusted.gap) <= float(trusted.gap_tol)
    np.testing.assert_allclose(trusted.objective, exact.objective, rtol=1e-9)
    np.testing.assert_allclose(trusted.coef, exact.coef, atol=1e-7, rtol=0)


@pytest.mark.parametrize("gram", [False, True])
def test_solve_loop_certifies_its_start_and_its_answer(gram):
    # Called at a converged point: without refine the start is returned as it
    # is (no iterations, one certificate); with refine at least one round
    # runs. Either way the certificate and gradient returned are those of the
    # returned point.
    import jax.numpy as jnp

    from jaxreg import _problem, solvers  # noqa: F401
    from jaxreg.result import Status

    X, y, _ = regression(40, 300, "corr", seed=8, k=6)
    if gram:
        X, y, _ = regression(400, 200, "corr", seed=8, k=6)
    n, p = X.shape
    problem = prepared_problem(X, y, use_gram=gram)
    alpha = 0.1 * float(_problem.alpha_max(problem, 10_000, jnp.asarray(1e-12)))
    pen = _problem.penalty(problem, jnp.asarray(alpha), jnp.asarray(1.0))
    df = problem.datafit
    assert _working_set.applies(df)

    @jax.jit
    def run(beta0, refine):
        return _working_set.solve(
            problem, pen, solvers.Start(beta0, problem.b0), jnp.asarray(10_000), refine=refine
        )

    beta, _, n_iter, cert, status, (u, grad) = run(jnp.zeros(p), False)
    assert int(status) == Status.CONVERGED and int(n_iter) > 0
    for refine in (False, True):
        out = run(beta, refine)
        assert int(out.status) == Status.CONVERGED
        assert (int(out.n_iter) > 0) if refine else (int(out.n_iter) == 0)
        if not refine:
            np.testing.assert_array_equal(out.beta, beta)
        step = 1.0 / problem.lipschitz
        ref = solvers.certificate(df, pen, out.beta, problem.b0, step)
        # The two gaps differ by rounding of the O(1) objectives.
        np.testing.assert_allclose(out.cert.gap, ref.gap, rtol=1e-6, atol=1e-13)
        np.testing.assert_allclose(out.cert.objective, ref.objective, rtol=1e-12)
        ref_grad = df.value_and_grad(out.beta, problem.b0)[1]
        np.testing.assert_allclose(out.image[1], ref_grad, rtol=1e-9, atol=1e-12)


class _Stop(Exception):
    pass


def test_a_wide_design_mode_path_holds_one_copy_of_x(monkeypatch):
    """XLA's memory analysis of the program a concrete wide lasso path runs
    (working sets, coordinate descent): beyond its argument X, its buffers
    hold one copy of X, the centered transpose that every product and every
    column visit reads, and the small gathered sets. It held three before: a
    centered X, a centered transpose for the column visits, and that
    transpose's squares."""
    from jaxreg import path as path_module

    rng = np.random.default_rng(0)
    X = rng.standard_normal((400, 20_000))  # above the shape buckets: no padded copy
    y = X[:, :5] @ np.ones(5) + rng.standard_normal(400)
    compiled = path_module._glm_path
    seen = {}

    def analysed(X, y, alphas, hyper, *, spec):
        lowered = compiled.lower(X, y, alphas, hyper, spec=spec)
        seen["temp"] = lowered.compile().memory_analysis().temp_size_in_bytes
        seen["strategy"] = spec.strategy
        raise _Stop

    monkeypatch.setattr(path_module, "_glm_path", analysed)
    with pytest.raises(_Stop):
        jaxreg.lasso_path(X, y, n_alphas=5)
    assert seen["strategy"] == "working_set"
    assert seen["temp"] < 1.3 * X.nbytes, seen["temp"] / X.nbytes
