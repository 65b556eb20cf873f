"""Bad input raises a ValueError naming the argument, before any compiled work."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxreg
from jaxreg import _engine, _folds, _validation

rng = np.random.default_rng(0)
X = rng.standard_normal((20, 4))
y = rng.standard_normal(20)
yb = (y > 0).astype(float)


def with_nan(a, idx):
    a = a.copy()
    a[idx] = np.nan
    return a


def with_inf(a, idx):
    a = a.copy()
    a[idx] = np.inf
    return a


CASES = [
    ("X NaN", lambda: jaxreg.lasso(with_nan(X, (0, 0)), y, 0.1), "X contains NaN"),
    ("X inf", lambda: jaxreg.ridge(with_inf(X, (1, 1)), y, 0.1), "X contains NaN or infinite"),
    ("y NaN", lambda: jaxreg.lasso(X, with_nan(y, 3), 0.1), "y contains NaN"),
    ("y inf", lambda: jaxreg.elastic_net(X, with_inf(y, 3), 0.1), "y contains NaN or infinite"),
    (
        "weights NaN",
        lambda: jaxreg.lasso(X, y, 0.1, sample_weight=with_nan(np.ones(20), 2)),
        "sample_weight contains NaN",
    ),
    (
        "weights inf",
        lambda: jaxreg.lasso(X, y, 0.1, sample_weight=with_inf(np.ones(20), 2)),
        "sample_weight contains NaN or infinite",
    ),
    (
        "weights negative",
        lambda: jaxreg.lasso(X, y, 0.1, sample_weight=-np.ones(20)),
        "sample_weight must be nonnegative",
    ),
    (
        "weights zero",
        lambda: jaxreg.lasso(X, y, 0.1, sample_weight=np.zeros(20)),
        "sample_weight must have a positive sum",
    ),
    (
        "weights length",
        lambda: jaxreg.lasso(X, y, 0.1, sample_weight=np.ones(19)),
        "sample_weight has length 19 but X has 20 rows",
    ),
    (
        "pf NaN",
        lambda: jaxreg.lasso(X, y, 0.1, penalty_factor=with_nan(np.ones(4), 0)),
        "penalty_factor contains NaN",
    ),
    (
        "pf negative",
        lambda: jaxreg.lasso(X, y, 0.1, penalty_factor=[1, -1, 1, 1]),
        "penalty_factor must be nonnegative",
    ),
    (
        "pf all zero",
        lambda: jaxreg.lasso(X, y, 0.1, penalty_factor=np.zeros(4)),
        "penalty_factor must not be all zero",
    ),
    (
        "pf length",
        lambda: jaxreg.lasso(X, y, 0.1, penalty_factor=np.ones(3)),
        "penalty_factor has length 3 but X has 4 columns",
    ),
    ("shape mismatch", lambda: jaxreg.lasso(X, y[:-1], 0.1), "y has 19 samples but X has 20 rows"),
    ("X 1-d", lambda: jaxreg.lasso(y, y, 0.1), "X must be 2-dimensional"),
    ("y 2-d", lambda: jaxreg.lasso(X, X, 0.1), "y must be 1-dimensional"),
    ("X empty rows", lambda: jaxreg.lasso(np.zeros((0, 4)), np.zeros(0), 0.1), "X is empty"),
    ("X empty cols", lambda: jaxreg.ridge(np.zeros((20, 0)), y, 0.1), "X is empty"),
    (
        "X non-numeric",
        lambda: jaxreg.lasso(np.array([["a", "b"]] * 3), np.ones(3), 0.1),
        "X must be numeric",
    ),
    ("alpha negative", lambda: jaxreg.lasso(X, y, -0.1), "alpha must be >= 0.0"),
    ("alpha NaN", lambda: jaxreg.elastic_net(X, y, np.nan), "alpha must be finite"),
    ("alpha vector", lambda: jaxreg.lasso(X, y, np.ones(3)), "alpha must be a scalar"),
    ("ridge alpha negative", lambda: jaxreg.ridge(X, y, -1.0), "alpha must be >= 0.0"),
    ("logistic alpha negative", lambda: jaxreg.logistic(X, yb, -1.0), "alpha must be >= 0.0"),
    ("l1_ratio high", lambda: jaxreg.elastic_net(X, y, 0.1, 1.5), "l1_ratio must be <= 1.0"),
    ("l1_ratio low", lambda: jaxreg.elastic_net(X, y, 0.1, -0.5), "l1_ratio must be >= 0.0"),
    ("logistic l1_ratio", lambda: jaxreg.logistic(X, yb, 0.1, 2.0), "l1_ratio must be <= 1.0"),
    (
        "logistic labels",
        lambda: jaxreg.logistic(X, y, 0.1),
        "y must contain only 0 and 1 for the logistic loss",
    ),
    (
        "logistic labels -1/1",
        lambda: jaxreg.logistic(X, np.sign(y), 0.1),
        "y must contain only 0 and 1",
    ),
    (
        "logistic one class",
        lambda: jaxreg.logistic(X, np.ones(20), 0.1),
        "y must contain both classes",
    ),
    (
        "lower > upper",
        lambda: jaxreg.lasso(X, y, 0.1, lower=1.0, upper=0.5),
        "lower > upper for feature 0: 1.0 > 0.5",
    ),
    (
        "positive vs upper",
        lambda: jaxreg.lasso(X, y, 0.1, positive=True, upper=-1.0),
        "positive=True raises lower to 0",
    ),
    (
        "bounds shape",
        lambda: jaxreg.lasso(X, y, 0.1, lower=np.zeros(3)),
        "lower must be a scalar or have shape (4,)",
    ),
    (
        "bounds NaN",
        lambda: jaxreg.lasso(X, y, 0.1, upper=with_nan(np.ones(4), 1)),
        "upper contains NaN",
    ),
    ("tol zero", lambda: jaxreg.lasso(X, y, 0.1, tol=0.0), "tol must be > 0.0"),
    ("max_iter", lambda: jaxreg.lasso(X, y, 0.1, max_iter=0), "max_iter must be a positive"),
    ("solver", lambda: jaxreg.lasso(X, y, 0.1, solver="cd"), "solver must be one of"),
    ("ridge solver", lambda: jaxreg.ridge(X, y, 0.1, solver="lsqr"), "solver must be one of"),
    (
        "ridge bounds closed form",
        lambda: jaxreg.ridge(X, y, 0.1, positive=True, solver="svd"),
        "has no closed form with bounds",
    ),
    (
        "ridge dual pf zero",
        lambda: jaxreg.ridge(X, y, 0.1, penalty_factor=[0, 1, 1, 1], solver="dual"),
        "penalty_factor must be positive with solver='dual'",
    ),
    ("alpha_max loss", lambda: jaxreg.alpha_max(X, y, loss="hinge"), "loss must be one of"),
]


@pytest.mark.parametrize("call,message", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_raises_with_message(call, message):
    before = _engine.solve_glm._cache_size() + _engine.solve_ridge._cache_size()
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call()
    # Raised before any compiled work: nothing new was traced.
    assert _engine.solve_glm._cache_size() + _engine.solve_ridge._cache_size() == before


def test_value_checks_are_skipped_under_jit():
    """Documented behaviour: traced values cannot be inspected, shapes still are."""
    fit = jax.jit(lambda a: jaxreg.lasso(X, y, a))(0.1)
    assert int(fit.status) == 0
    with pytest.raises(ValueError, match="alpha must be a scalar"):
        jax.jit(lambda a: jaxreg.lasso(X, y, a))(np.ones(2))


def _forbid_host_copies(monkeypatch, views_allowed=False):
    """Fail on any copy of a JAX array of more than a few elements to a numpy
    array: through numpy's constructors, or through ``__array__``, numpy's route
    for arrays off the CPU (on the CPU numpy reads the buffer directly, so the
    constructors are watched as well)."""
    copies = []

    def watch(owner, name):
        original = getattr(owner, name)

        def spy(a, *args, **kwargs):
            out = original(a, *args, **kwargs)
            if isinstance(a, jax.Array) and a.size > 5:
                view = getattr(out, "__array_interface__", {}).get("data", (None,))[0]
                if not (views_allowed and view == a.unsafe_buffer_pointer()):
                    copies.append(f"{name} of shape {a.shape}")
            return out

        monkeypatch.setattr(owner, name, spy)

    for name in ("asarray", "array", "asanyarray"):
        watch(np, name)
    watch(type(jnp.zeros(())), "__array__")
    return copies


@pytest.mark.parametrize("device", ["accelerator", "host"])
def test_jax_inputs_are_checked_on_their_device(monkeypatch, device):
    """A concrete JAX input off the host is checked by reductions on its
    device: only a few scalars (or the few offending values of a message)
    reach the host. On the CPU numpy views the buffer in place, which is no
    copy: conversions that share the buffer are allowed there."""
    if device == "accelerator":
        # Every array treated as off the host: no conversion at all may happen.
        monkeypatch.setattr(_validation, "_on_host", lambda x: False)
    data = np.random.default_rng(1)
    Xh, yh = data.standard_normal((30, 8)), data.standard_normal(30)
    Xj, yj, ybj = jnp.asarray(Xh), jnp.asarray(yh), jnp.asarray((yh > 0).astype(float))
    swj, pfj = jnp.linspace(0.5, 1.5, 30), jnp.ones(8)
    copies = _forbid_host_copies(monkeypatch, views_allowed=device == "host")

    bounds = dict(lower=-jnp.ones(8), upper=jnp.ones(8))
    fit = jaxreg.lasso(Xj, yj, 0.1, sample_weight=swj, penalty_factor=pfj, **bounds)
    assert int(fit.status) == 0
    assert int(jaxreg.logistic(Xj, ybj, 0.01, sample_weight=swj).status) == 0
    assert int(jaxreg.logistic(Xj, ybj, 0.01).status) == 0
    assert _folds.folds_of(30, 3, None, 0, swj, swj.dtype).W.shape == (4, 30)
    assert copies == []

    fold0 = np.arange(30) % 3 == 0
    bad = [
        (lambda: jaxreg.lasso(Xj.at[3, 2].set(jnp.nan), yj, 0.1), "X contains NaN or infinite"),
        (lambda: jaxreg.lasso(Xj, yj.at[5].set(jnp.inf), 0.1), "y contains NaN or infinite"),
        (lambda: jaxreg.lasso(Xj, yj, 0.1, sample_weight=-swj), "sample_weight must be nonneg"),
        (lambda: jaxreg.lasso(Xj, yj, 0.1, penalty_factor=0 * pfj), "must not be all zero"),
        (
            lambda: jaxreg.lasso(Xj, yj, 0.1, lower=jnp.zeros(8), upper=-jnp.arange(8.0)),
            r"lower > upper for feature 1: 0\.0 > -1\.0",
        ),
        (
            lambda: jaxreg.logistic(Xj, jnp.full(30, 2.0).at[0].set(-1.0), 0.1),
            r"found \[-1\.  2\.\]",
        ),
        (lambda: jaxreg.logistic(Xj, 0 * ybj, 0.1), "y must contain both classes"),
        (
            lambda: _folds.folds_of(30, None, np.arange(30) % 3, 0, swj * fold0, swj.dtype),
            "the training rows of fold 0 have zero total sample_weight",
        ),
    ]
    for call, message in bad:
        with pytest.raises(ValueError, match=message):
            call()
    assert copies == []


def test_concrete_jax_inputs_closed_over_by_jit_are_still_checked():
    Xnan = jnp.asarray(with_nan(X, (0, 0)))
    with pytest.raises(ValueError, match="X contains NaN or infinite"):
        jax.jit(lambda a: jaxreg.lasso(Xnan, y, a))(0.1)
