"""Gram-mode setup over blocks of rows: the column statistics, Gram matrices
and ``X' S r`` of a dense X accumulate block by block, each block centered on
the fly, so a tall design's setup holds no centered or weighted copy of X.
The blocks give the single-block answers, and the compiled setup's
temporaries stay far below the size of X."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _jaxreg_problems import engine_inputs, regression

import jaxreg
from jaxreg import _problem
from jaxreg._spec import Spec, make_hyper
from jaxreg.datafits import Quadratic


def _nine_row_blocks(monkeypatch):
    monkeypatch.setattr(_problem, "_BLOCK_ENTRIES", 64)
    monkeypatch.setattr(_problem, "_MIN_BLOCK_ROWS", 1)


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of 9 rows: a 103 x 7 design is 12 of them, the last one
    overlapping its predecessor."""
    jax.clear_caches()
    _nine_row_blocks(monkeypatch)
    yield
    jax.clear_caches()


def _design():
    X, y, sw = regression(103, 7, kind="offset", seed=3, weights=True)
    X[:, 4] = 2.5  # a constant column: dropped with an intercept
    return X, y, sw


def _setup(X, y, sw, W=None, held=None, reference=False, **spec_options):
    """The prepared Gram-mode problems of the weight rows ``W`` (default: one
    row, ``sw``); ``reference``: by the centered copy of X (the route of a
    sparse X or a mesh) instead of the blocks."""
    jax.config.update("jax_enable_x64", True)
    inputs = engine_inputs(X, y, sample_weight=sw)
    spec = Spec(Quadratic, use_gram=True, **spec_options)
    hyper = make_hyper(inputs)
    X, y = inputs.X, inputs.y
    W = inputs.sample_weight[None] if W is None else W
    if not reference:
        return _problem.setup_rows(spec, hyper, X, y, W, held)[0]
    sp = _problem.spread(X, W, spec.fit_intercept)
    nulls = jax.vmap(Quadratic.null_model, in_axes=(None, 0, None))(y, sp.S, spec.fit_intercept)
    resid = y[None, :] - nulls.offset[:, None]
    stats = (
        _problem._gram_rows(sp, W, held),
        (sp.S * resid) @ sp.Xh,
        _problem._centering_noise(X),
    )
    return _problem._gram_problems(spec, hyper, sp, nulls, stats)


_FIELDS = ("x_mean", "x_scale", "gap_tol", "gap_scale", "lipschitz", "offset", "b0")


def _assert_same(a, b):
    for field in ("G", "c", "yy"):
        x, z = getattr(a.datafit, field), getattr(b.datafit, field)
        np.testing.assert_allclose(x, z, rtol=1e-12, atol=1e-13 * float(jnp.max(jnp.abs(z))))
    for field in _FIELDS:
        np.testing.assert_allclose(getattr(a, field), getattr(b, field), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("standardize", [True, False])
def test_blocks_give_the_centered_copys_problem(fit_intercept, standardize, monkeypatch):
    X, y, sw = _design()
    options = dict(fit_intercept=fit_intercept, standardize=standardize)
    reference = _setup(X, y, sw, reference=True, **options)
    _assert_same(_setup(X, y, sw, **options), reference)
    _nine_row_blocks(monkeypatch)
    _assert_same(_setup(X, y, sw, **options), reference)


def test_held_out_folds_over_blocks(monkeypatch):
    """Cross-validation's rows: K training weights and the full data's, the
    Gram matrices downdated by each fold's held-out rows."""
    X, y, sw = _design()
    folds = np.arange(X.shape[0]) % 4
    W = np.stack([np.where(folds == k, 0.0, sw) for k in range(4)] + [sw])
    held_idx = np.zeros((4, 26), np.int32)
    valid = np.zeros((4, 26), bool)
    for k in range(4):
        rows = np.flatnonzero(folds == k)  # 26, 26, 26 and 25 rows
        held_idx[k, : rows.size], valid[k, : rows.size] = rows, True
    held = (jnp.asarray(held_idx), jnp.asarray(valid))
    W = jnp.asarray(W)
    reference = _setup(X, y, sw, W=W, held=held, reference=True)
    _assert_same(_setup(X, y, sw, W=W, held=held), reference)
    _nine_row_blocks(monkeypatch)
    _assert_same(_setup(X, y, sw, W=W, held=held), reference)


def test_cross_validation_over_blocks_equals_one_block(small_blocks):
    X, y, sw = _design()
    blocks = jaxreg.cross_validate(X, y, cv=4, n_alphas=8, sample_weight=sw, tol=1e-12)
    assert blocks.fold_scores.shape == (4, 1, 8)
    jax.clear_caches()
    _problem._BLOCK_ENTRIES = 1 << 30  # one block; the fixture restores it
    whole = jaxreg.cross_validate(X, y, cv=4, n_alphas=8, sample_weight=sw, tol=1e-12)
    np.testing.assert_allclose(blocks.alphas, whole.alphas, rtol=1e-12)
    np.testing.assert_allclose(blocks.fold_scores, whole.fold_scores, rtol=1e-9)
    np.testing.assert_allclose(blocks.best.coef, whole.best.coef, atol=1e-8)


def test_path_over_blocks_equals_one_block(small_blocks):
    X, y, sw = _design()
    blocks = jaxreg.lasso_path(X, y, n_alphas=10, sample_weight=sw, tol=1e-12, gram=True)
    jax.clear_caches()
    _problem._BLOCK_ENTRIES = 1 << 30
    whole = jaxreg.lasso_path(X, y, n_alphas=10, sample_weight=sw, tol=1e-12, gram=True)
    np.testing.assert_allclose(blocks.coef, whole.coef, atol=1e-9)
    assert np.all(np.asarray(blocks.status) == jaxreg.Status.CONVERGED)


def test_a_tall_setup_holds_no_copy_of_x():
    """XLA's memory analysis of a tall Gram-mode path: its temporaries (the
    blocks, the Gram matrix) stay below a fifth of X; a centered copy and a
    weighted one were each the size of X."""
    jax.config.update("jax_enable_x64", True)
    n, p = 80_000, 60  # above the shape buckets' limit: no padded copy
    X = jax.ShapeDtypeStruct((n, p), jnp.float64)
    y = jax.ShapeDtypeStruct((n,), jnp.float64)
    path = jax.jit(lambda X, y: jaxreg.lasso_path(X, y, n_alphas=5, gram=True))
    temp = path.lower(X, y).compile().memory_analysis().temp_size_in_bytes
    assert temp < 0.2 * n * p * 8, temp / (n * p * 8)


def test_derivatives_through_the_blocks(small_blocks):
    """An unrolled fit differentiates through the setup: the blocks' loop
    gives the single block's derivatives."""
    X, y, sw = _design()

    def loss(A, a):
        fit = jaxreg.lasso(A, y, a, sample_weight=sw, gram=True, diff="unrolled", max_iter=200)
        return jnp.sum(fit.coef**2) + fit.intercept**2

    grad = jax.grad(loss, argnums=(0, 1))
    blocks = grad(jnp.asarray(X), 0.05)
    jax.clear_caches()
    _problem._BLOCK_ENTRIES = 1 << 30  # one block; the fixture restores it
    whole = grad(jnp.asarray(X), 0.05)
    scale = float(jnp.max(jnp.abs(whole[0])))
    np.testing.assert_allclose(blocks[0], whole[0], rtol=1e-8, atol=1e-10 * scale)
    np.testing.assert_allclose(blocks[1], whole[1], rtol=1e-8)


_SHARDED = """
import jax, numpy as np
jax.config.update("jax_enable_x64", True)
from jax.sharding import NamedSharding, PartitionSpec as P
import jaxreg
mesh = jax.make_mesh((4,), ("rows",), axis_types=(jax.sharding.AxisType.Auto,))
rng = np.random.default_rng(0)
X = jax.device_put(rng.standard_normal((80_000, 60)), NamedSharding(mesh, P("rows", None)))
y = jax.device_put(rng.standard_normal(80_000), NamedSharding(mesh, P("rows")))
path = jax.jit(lambda X, y: jaxreg.lasso_path(X, y, n_alphas=5, gram=True).coef)
assert "all-gather" not in path.lower(X, y).compile().as_text()
print("ok")
"""


def test_rows_sharded_by_the_caller_are_not_gathered():
    """A caller's X sharded over devices keeps the centered-copy route:
    blocks of its rows would gather the whole of X onto every device."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4")
    proc = subprocess.run(
        [sys.executable, "-c", _SHARDED], env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    assert proc.stdout.strip().endswith("ok")
