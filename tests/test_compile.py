"""The entry points' two compilations: float64 on CPU without XLA's tree-reduction
rewrite, everything else as XLA compiles it."""

from __future__ import annotations

import dataclasses
import re
import sys
import types

import jax
import jax.experimental.sparse
import jax.numpy as jnp
import numpy as np
import pytest
from _jaxreg_problems import engine_inputs, regression

import jaxreg
from jaxreg import _compile, _crossval, path
from jaxreg._spec import Spec, datafit_of, make_hyper
from jaxreg.datafits import Logistic, Quadratic

CPU = jax.default_backend() == "cpu"


@pytest.fixture
def large(monkeypatch):
    """Every problem counts as large: the variants below are those of designs
    past ``_compile._SMALL_ENTRIES`` (small ones are tested on their own)."""
    monkeypatch.setattr(_compile, "_SMALL_ENTRIES", 0)


def _hyper(X, y, **kw):
    inputs = engine_inputs(X, y, tol=1e-8, max_iter=1000)
    return make_hyper(inputs, l1_ratio=1.0, eps=1e-2)


def _windowed(compiled) -> int:
    return compiled.as_text().count("reduce-window")


def test_tracing_outside_and_inside_transformations():
    assert _compile._tracing() is False
    seen = {}

    def probe(name):
        def f(x):
            seen[name] = _compile._tracing()
            return x * 2.0

        return f

    jax.jit(probe("jit"))(1.0)
    jax.grad(probe("grad"))(1.0)
    jax.vmap(probe("vmap"))(jnp.ones(3))
    assert seen == {"jit": True, "grad": True, "vmap": True}
    assert _compile._tracing() is False


def _private_core(broken):
    """What ``sys.modules["jax._src.core"]`` holds when the private API has moved
    (None: the module is gone) or changed; JAX's own modules, which bound the
    real one when imported, are left as they are."""
    if broken == "module gone":
        return None
    fake = types.ModuleType("jax._src.core")
    checks = {
        "raises": lambda: 1 / 0,
        "always clean": lambda: True,  # a wrong "not tracing" inside a trace
        "not a bool": lambda: 1,
        "never clean": lambda: False,
    }
    if broken in checks:
        fake.trace_state_clean = checks[broken]
    return fake  # "function gone": the module without it


@pytest.mark.parametrize(
    "broken",
    ["module gone", "function gone", "raises", "always clean", "not a bool", "never clean"],
)
def test_tracing_assumed_when_the_private_api_moves(monkeypatch, broken):
    # Whatever became of JAX's private trace state, the answer is the safe one
    # ("assume tracing") and the entry points run their plain jit, correctly.
    monkeypatch.setattr(_compile, "_TRACE_CHECK_SOUND", {})
    monkeypatch.setitem(sys.modules, "jax._src.core", _private_core(broken))
    assert _compile._tracing() is True
    assert jax.jit(lambda x: x + float(_compile._tracing()))(1.0) == 2.0
    total = _compile.jit(lambda x: jnp.sum(x * x))
    x = np.random.default_rng(2).standard_normal(1000)
    assert total._variant(x) == "plain"
    np.testing.assert_allclose(float(total(x)), np.sum(x * x), rtol=1e-12)
    np.testing.assert_allclose(float(jax.jit(total)(x)), np.sum(x * x), rtol=1e-12)
    X, y, _ = regression(40, 12, "random", seed=3, k=3)
    amax = float(jaxreg.alpha_max(X, y))
    fit = jaxreg.lasso(X, y, 0.2 * amax, tol=1e-12)
    monkeypatch.undo()
    np.testing.assert_allclose(fit.coef, jaxreg.lasso(X, y, 0.2 * amax, tol=1e-12).coef, atol=1e-10)
    assert _compile._tracing() is False


@pytest.mark.skipif(not CPU, reason="the option is used on CPU only")
def test_float64_compiles_without_the_rewrite_and_float32_keeps_it():
    total = _compile.jit(lambda x: jnp.sum(x * x))
    x = np.linspace(0.0, 1.0, 1000)  # a length XLA rewrites (longer sums go to XNNPACK)
    assert _windowed(total.lower(x).compile()) == 0
    # float32 (and mixed inputs) keep the accurate windowed sums.
    assert _windowed(total.lower(x.astype(np.float32)).compile()) > 0
    mixed = _compile.jit(lambda x, w: jnp.sum(x * w))
    assert _windowed(mixed.lower(x, x.astype(np.float32)).compile()) > 0


def test_same_answers_both_ways():
    total = _compile.jit(lambda x: jnp.sum(x * x))
    x = np.random.default_rng(0).standard_normal(50_000)
    np.testing.assert_allclose(float(total(x)), float(jnp.sum(jnp.asarray(x) ** 2)), rtol=1e-12)


def test_traced_calls_use_the_plain_jit():
    # Inside a user's jit, grad or vmap only the outermost jit may take
    # compiler options: the entry points must still compose.
    X, y, _ = regression(40, 12, "random", seed=3, k=3)
    amax = float(jaxreg.alpha_max(X, y))
    eager = np.asarray(jaxreg.lasso(X, y, 0.2 * amax, tol=1e-12).coef)
    jitted = jax.jit(lambda a: jaxreg.lasso(X, y, a, tol=1e-12).coef)(0.2 * amax)
    np.testing.assert_allclose(jitted, eager, atol=1e-10)
    grad = jax.grad(lambda a: jnp.sum(jaxreg.lasso(X, y, a, tol=1e-12).coef ** 2))(0.2 * amax)
    assert np.isfinite(float(grad))
    batched = jax.vmap(lambda a: jaxreg.lasso(X, y, a, tol=1e-12).coef)(
        jnp.asarray([0.2, 0.5]) * amax
    )
    np.testing.assert_allclose(batched[0], eager, atol=1e-10)


def test_path_same_both_ways():
    # The float64 path (no rewrite) and a float64 path traced inside a jit
    # (the plain compilation, with the rewrite) agree to rounding.
    X, y, _ = regression(60, 200, "corr", seed=4, k=5)
    kw = dict(n_alphas=15, eps=1e-2, tol=1e-12)
    direct = jaxreg.lasso_path(X, y, **kw)
    assert path._glm_path._cache_size() >= 1
    traced = jax.jit(lambda X, y: jaxreg.lasso_path(X, y, **kw).coef)(X, y)
    np.testing.assert_allclose(direct.coef, traced, atol=1e-8)


@pytest.mark.skipif(not CPU, reason="the options are used on CPU only")
def test_working_set_programs_compile_without_loop_motion(large):
    # The path and CV entry points skip XLA's loop-invariant code motion for
    # the working-set strategy (fewer kernels, same run time) and keep it for
    # the others; float32 keeps the plain compilation whatever the strategy.
    X, y, _ = regression(30, 140, "corr", seed=5, k=4)
    quick = "+quick" if _compile._knows_elemental_emitters() else ""
    for strategy, expected in (("working_set", "lean" + quick), ("warm", "fast" + quick)):
        for dtype, name in ((np.float64, expected), (np.float32, "plain")):
            Xd, yd = X.astype(dtype), y.astype(dtype)
            hyper = _hyper(Xd, yd)
            spec = Spec(Quadratic, strategy=strategy, n_alphas=8)
            args, kw = (Xd, yd, None, hyper), dict(spec=spec)
            assert path._glm_path._variant(*args, **kw) == name
        fits = jaxreg.lasso_path(X, y, n_alphas=8, eps=1e-2, tol=1e-10, strategy=strategy)
        assert bool(np.all(fits.converged))
    design = Spec(Quadratic, strategy="working_set", use_gram=False)
    assert path.coordinate_descent(dict(spec=design))
    # The logistic loss's working sets run coordinate descent on Newton models.
    assert path.coordinate_descent(dict(spec=dataclasses.replace(design, datafit=Logistic)))
    # Working sets that run FISTA (Gram mode) and the other strategies keep the pass.
    for change in (dict(use_gram=True), dict(strategy="vmap")):
        assert not path.coordinate_descent(dict(spec=dataclasses.replace(design, **change)))


@pytest.mark.skipif(not CPU, reason="the options are used on CPU only")
def test_quick_configurations(large):
    # Paths always; CV everywhere but coordinate descent (where the elemental
    # emitters' kernels run slower for longer than they save in compilation).
    design = Spec(Quadratic, strategy="working_set", use_gram=False)
    X, y = np.ones((4, 2)), np.ones(4)
    path_quick = path._glm_path._variant(X, y, None, _hyper(X, y), spec=design)
    cv_quick = _crossval.cv_glm._variant(X, y, _hyper(X, y), None, None, None, spec=design)
    assert path_quick.endswith("+quick") and not cv_quick.endswith("+quick")
    logistic = dataclasses.replace(design, datafit=Logistic)
    assert not _crossval.cv_glm._variant(
        X, y, _hyper(X, y), None, None, None, spec=logistic
    ).endswith("+quick")
    for change in (dict(use_gram=True), dict(strategy="warm")):
        other = dataclasses.replace(design, **change)
        assert _crossval.cv_glm._variant(X, y, _hyper(X, y), None, None, None, spec=other).endswith(
            "+quick"
        )
    # The installed XLA knows the option (CI installs a current jaxlib): the
    # fallback below must not hide it silently.
    assert _compile._knows_elemental_emitters()


def _variant_with_cache(folder, g, *args, **kwargs) -> str:
    """The variant ``g`` runs for the arguments while a persistent
    compilation cache is configured in ``folder``."""
    before = jax.config.jax_compilation_cache_dir
    jax.config.update("jax_compilation_cache_dir", str(folder))
    try:
        return g._variant(*args, **kwargs)
    finally:
        jax.config.update("jax_compilation_cache_dir", before)


def _reduce_rows(x, *, quick):
    return jnp.sum(jnp.exp(x) * x, axis=1) / jnp.max(x, axis=1)


@pytest.mark.skipif(not CPU, reason="the options are used on CPU only")
def test_quick_variant_compiles_with_other_emitters_and_same_answers(monkeypatch, tmp_path, large):
    g = _compile.jit(_reduce_rows, static_argnames="quick", quick=lambda kw: kw["quick"])
    x = np.random.default_rng(1).uniform(0.5, 1.5, (64, 300))
    assert g._variant(x, quick=True) == "fast+quick"
    assert g._variant(x, quick=False) == "fast"
    assert g._variant(x.astype(np.float32), quick=True) == "plain"

    # The option reaches XLA: the newer emitters wrap the lone division in a
    # kernel of its own (a loop fusion); the elemental ones emit it as it is.
    def loop_fusions(quick):
        return g.lower(x, quick=quick).compile().as_text().count("kind=kLoop")

    assert loop_fusions(True) < loop_fusions(False)
    np.testing.assert_allclose(g(x, quick=True), g(x, quick=False), rtol=1e-13)
    # The working-set path called directly (quick) and traced inside a jit
    # (plain) agree to rounding.
    X, y, _ = regression(40, 160, "corr", seed=8, k=5)
    kw = dict(n_alphas=10, eps=1e-2, tol=1e-12)
    direct = jaxreg.lasso_path(X, y, **kw)
    traced = jax.jit(lambda X, y: jaxreg.lasso_path(X, y, **kw).coef)(X, y)
    assert bool(np.all(direct.converged))
    np.testing.assert_allclose(direct.coef, traced, atol=1e-9)
    # With a persistent compilation cache, compilation is paid once across
    # processes: the faster-running variant is kept.
    assert _variant_with_cache(tmp_path, g, x, quick=True) == "fast"
    assert g._variant(x, quick=True) == "fast+quick"
    # An XLA without the option compiles the variant without it.
    monkeypatch.setattr(_compile, "_knows_elemental_emitters", lambda: False)
    assert g._variant(x, quick=True) == "fast"


def _loop_with_invariant(a, x):
    # exp(a) does not change in the loop: code motion computes it once, before.
    def body(_, v):
        return jnp.tanh(v * jnp.exp(a))

    return jax.lax.fori_loop(0, 5, body, x)


@pytest.mark.skipif(not CPU, reason="the options are used on CPU only")
def test_unhoisted_variant_keeps_invariant_code_in_the_loop(large):
    a, x = np.linspace(0.0, 1.0, 300), np.linspace(-1.0, 1.0, 300)
    g = _compile.jit(
        lambda a, x, *, lean: _loop_with_invariant(a, x),
        static_argnames="lean",
        unhoisted=lambda kw: kw["lean"],
    )

    def exps_outside_loops(compiled) -> int:
        # Exponentials in the entry computation (hoisted) rather than in a loop body.
        text = compiled.as_text()
        entry = text[text.index("ENTRY") :]
        fused = {
            name
            for name, body in re.findall(r"%([\w.\-]+) [^{]*\{(.*?)\n\}", text, re.S)
            if " exponential(" in body
        }
        return sum(1 for line in entry.splitlines() if any(f"calls=%{n}" in line for n in fused))

    assert g._variant(a, x, lean=True) == "lean" and g._variant(a, x, lean=False) == "fast"
    assert exps_outside_loops(g.lower(a, x, lean=False).compile()) >= 1
    assert exps_outside_loops(g.lower(a, x, lean=True).compile()) == 0
    np.testing.assert_allclose(g(a, x, lean=True), g(a, x, lean=False), rtol=1e-14)


def test_hoisting_choice_same_answers():
    # The working-set path called directly (compiled without code motion) and
    # traced inside a jit (the plain compilation) agree to rounding.
    X, y, _ = regression(40, 160, "corr", seed=6, k=5)
    kw = dict(n_alphas=10, eps=1e-2, tol=1e-12, strategy="working_set")
    direct = jaxreg.lasso_path(X, y, **kw)
    traced = jax.jit(lambda X, y: jaxreg.lasso_path(X, y, **kw).coef)(X, y)
    assert bool(np.all(direct.converged))
    np.testing.assert_allclose(direct.coef, traced, atol=1e-9)


@pytest.mark.parametrize("loss", ["squared", "logistic"])
def test_alpha_max_without_the_null_fit_matches_it(loss):
    # Every feature penalized: the null model is the cold start, and alpha_max
    # computed without compiling a solver equals the one from the solver.
    from jaxreg import _problem

    X, y, _ = regression(50, 8, "corr", seed=7, k=3)
    if loss == "logistic":
        y = (y > np.median(y)).astype(float)
    sw = np.linspace(0.5, 1.5, 50)
    pf = np.linspace(0.5, 2.0, 8)
    for fit_intercept in (True, False):
        inputs = engine_inputs(X, y, loss=loss, tol=1e-12, sample_weight=sw, penalty_factor=pf)
        spec = Spec(datafit_of(loss), fit_intercept=fit_intercept, standardize=True)
        problem = _problem.setup(spec, make_hyper(inputs), inputs.X, inputs.y)
        fitted = _problem.alpha_max(problem, 10_000, jnp.asarray(1e-12), null_fit=True)
        closed = _problem.alpha_max(problem, 10_000, jnp.asarray(1e-12), null_fit=False)
        np.testing.assert_allclose(float(closed), float(fitted), rtol=1e-9)
    assert not _problem.needs_null_fit(jnp.asarray(pf))
    assert _problem.needs_null_fit(jnp.asarray(np.r_[0.0, pf[1:]]))
    # Through the public entry points: all penalized (no null fit) and one
    # feature unpenalized (the null fit), each against the solution's
    # solutions: just above alpha_max every penalized coefficient is zero, and
    # just below it one is not.
    fn = jaxreg.lasso if loss == "squared" else jaxreg.logistic
    for factors in (pf, np.r_[0.0, pf[1:]]):
        top = float(
            jaxreg.alpha_max(X, y, loss=loss, sample_weight=sw, penalty_factor=factors, tol=1e-12)
        )
        at = fn(X, y, 1.0001 * top, sample_weight=sw, penalty_factor=factors, tol=1e-12)
        below = fn(X, y, 0.99 * top, sample_weight=sw, penalty_factor=factors, tol=1e-12)
        penalized = factors > 0
        assert np.all(np.asarray(at.coef)[penalized] == 0)
        assert np.any(np.asarray(below.coef)[penalized] != 0)
        path_fn = jaxreg.lasso_path if loss == "squared" else jaxreg.logistic_path
        grid = path_fn(X, y, n_alphas=3, sample_weight=sw, penalty_factor=factors).alphas
        np.testing.assert_allclose(float(grid[0]), top, rtol=1e-9)


@pytest.mark.skipif(not CPU, reason="the options are used on CPU only")
def test_small_problems_compile_unoptimized(monkeypatch, tmp_path):
    # Every array argument within _SMALL_ENTRIES: backend optimization level 0
    # and the elemental emitters where the entry point allows it (paths and
    # CV), the elemental emitters alone elsewhere (single fits), in either
    # precision, whatever the configuration; eagerly only, and not with a
    # persistent cache.
    g = _compile.jit(
        _reduce_rows, static_argnames="quick", quick=lambda kw: kw["quick"], unoptimized=True
    )
    fit = _compile.jit(_reduce_rows, static_argnames="quick", quick=lambda kw: kw["quick"])
    x = np.random.default_rng(2).uniform(0.5, 1.5, (16, 300))
    assert x.size <= _compile._SMALL_ENTRIES
    assert g._variant(x, quick=True) == "fast+small" == g._variant(x, quick=False)
    assert g._variant(x.astype(np.float32), quick=False) == "plain+small"
    assert fit._variant(x, quick=False) == "fast+quick"
    assert fit._variant(x.astype(np.float32), quick=False) == "plain+quick"
    big = np.ones((_compile._SMALL_ENTRIES + 1,))
    assert g._variant(big[None, :], quick=False) == "fast"
    assert fit._variant(big[None, :], quick=False) == "fast"
    # A sparse array counts by its shape, as the designs' own test does.
    eye = jax.experimental.sparse.BCOO.fromdense(np.eye(300))
    assert not _compile._small(eye)  # 300 stored entries, 90 000 in all
    assert _compile._small(eye[:200]) and _compile.small_design(eye[:200])
    for name in ("lasso_path", "cross_validate"):
        entry = {"lasso_path": path._glm_path, "cross_validate": _crossval.cv_glm}[name]
        assert entry._variant(x, x[0], None, None, spec=Spec(Quadratic)).endswith("+small"), name
    seen = []
    jax.jit(lambda x: seen.append(g._variant(x, quick=False)) or x)(x)
    assert seen == ["plain"]
    # The options reach XLA (the elemental emitters leave the lone division
    # unwrapped, as for quick) and the answers are the same to rounding.
    fused = g.lower(x, quick=False).compile().as_text().count("kind=kLoop")
    monkeypatch.setattr(_compile, "_SMALL_ENTRIES", 0)
    assert g.lower(x, quick=False).compile().as_text().count("kind=kLoop") > fused
    plain = g(x, quick=False)
    monkeypatch.undo()
    np.testing.assert_allclose(g(x, quick=False), plain, rtol=1e-13)
    assert _variant_with_cache(tmp_path, g, x, quick=False) == "fast"


@pytest.mark.skipif(not CPU, reason="the options are used on CPU only")
def test_an_option_xla_rejects_is_left_out(monkeypatch):
    # No test compilation: an option the installed XLA does not know fails
    # the first compilation, which is done again without it.
    monkeypatch.setattr(_compile, "_UNOPTIMIZED", {"xla_no_such_option_for_jaxreg": 0})
    monkeypatch.setattr(_compile, "_REJECTED", set())
    g = _compile.jit(lambda x: jnp.sum(x * 2.0), unoptimized=True)
    x = np.arange(5.0)
    assert g._variant(x) == "fast+small"
    assert float(g(x)) == 20.0
    assert _compile._REJECTED == {"xla_no_such_option_for_jaxreg"}
    assert g._variant(x) == "fast+quick" and _compile._knows_elemental_emitters()
    # A path (level 0 and the emitters) whose emitters option is rejected
    # compiles without it, on this call and the next.
    monkeypatch.setattr(_compile, "_ELEMENTAL_EMITTERS", {"xla_no_such_emitters_for_jaxreg": 0})
    X, y, _ = regression(50, 5, "random", seed=1)
    for _ in range(2):
        assert bool(np.all(jaxreg.lasso_path(X, y, n_alphas=5, eps=1e-2).converged))
    assert "xla_no_such_emitters_for_jaxreg" in _compile._REJECTED
    # Threads that meet the same rejection at once all compile again.
    from concurrent.futures import ThreadPoolExecutor

    monkeypatch.setattr(_compile, "_UNOPTIMIZED", {"xla_no_such_level_for_jaxreg": 0})
    h = _compile.jit(lambda x: jnp.sum(x * 3.0), unoptimized=True)
    with ThreadPoolExecutor(4) as pool:
        assert [float(r) for r in pool.map(h, [x] * 4)] == [30.0] * 4
    # Other errors, a rejection of an option jaxreg does not add among them,
    # are raised as they are.
    assert _compile._rejected_option(ValueError("No such compile option: 'xla_other'")) is None
    assert _compile._rejected_option(ValueError("shapes do not match")) is None


def test_working_set_programs_leave_out_library_fusions():
    # Fused with the products of a design stored transposed, XLA's library
    # (YNNPACK) fusions allocated most of a copy of X at run time: the
    # working-set configurations turn them off, an option an XLA that does
    # not know it rejects (and the compilation is done again without it).
    option = "xla_cpu_experimental_ynn_fusion_type"
    assert _compile._F64_CPU_UNHOISTED[option] == ""
    assert option not in _compile._F64_CPU_OPTIONS
    assert _compile._rejected_option(ValueError(f"No such compile option: '{option}'")) == option
