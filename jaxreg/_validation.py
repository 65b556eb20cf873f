"""Input validation, run on concrete values before any compiled work.

Checks on shapes always run. Checks that need values (finiteness, signs,
ranges) run only on concrete inputs: under ``jit`` or ``vmap`` an argument is a
tracer and those checks are skipped, as documented in each public function.

A concrete JAX array is checked where it lives, by compiled reductions whose few
scalar results alone come to the host: copying a large array off an
accelerator only to look at it would cost more than the check. Other inputs
(numpy arrays, lists, scalars) are checked with numpy, without a trip to the
device.
"""

from __future__ import annotations

import functools
import numbers
import sys
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np


def is_concrete(x) -> bool:
    return not isinstance(x, jax.core.Tracer)


def is_sparse(X) -> bool:
    """True for a JAX ``BCOO`` matrix (scipy.sparse input is converted to one).

    JAX's sparse module (which imports scipy, a third of a second) is loaded
    only where sparse input arrives: while it is not loaded, nothing can be a
    ``BCOO``.
    """
    module = sys.modules.get("jax.experimental.sparse")
    return module is not None and isinstance(X, module.BCOO)


def _jsparse():
    """JAX's sparse module, loaded on first use (see :func:`is_sparse`)."""
    from jax.experimental import sparse  # noqa: PLC0415

    return sparse


def _is_scipy_sparse(X) -> bool:
    return hasattr(X, "tocoo") and hasattr(X, "nnz") and not is_sparse(X)


def from_frame(X, name: str = "X"):
    """A pandas frame's or series' values as a numpy array, where every
    column is numeric or boolean (nullable integer and boolean columns
    included, their missing values NaN, which the finiteness check then
    names): float32 where every column is float32, else float64. Anything
    else is returned as it is. ``np.asarray`` of a frame mixing such
    columns, or of a nullable column, gives objects."""
    if not type(X).__module__.startswith("pandas"):
        return X
    frame = getattr(X, "ndim", 1) == 2
    dtypes = list(X.dtypes) if frame else [X.dtype]
    kinds = [getattr(d, "kind", "O") for d in dtypes]
    if all(k in "biuf" for k in kinds):
        single = all(getattr(d, "numpy_dtype", d) == np.float32 for d in dtypes)
        return X.to_numpy(dtype=np.float32 if single else np.float64, na_value=np.nan)
    if frame:
        bad = [str(c) for c, k in zip(X.columns, kinds, strict=True) if k not in "biuf"]
        raise ValueError(f"{name} must be numeric, got non-numeric columns {bad[:5]}")
    return X


def float_dtype(X) -> jnp.dtype:
    """The working dtype: X's floating dtype, else JAX's default float."""
    dtype = X.dtype if hasattr(X, "dtype") else np.asarray(X).dtype
    if not (np.issubdtype(dtype, np.number) or dtype == np.bool_):
        raise ValueError(f"X must be numeric, got dtype {dtype}")
    if jnp.issubdtype(dtype, jnp.floating):
        # float64 becomes float32 when x64 is disabled, as everywhere in JAX.
        return jnp.dtype(jax.dtypes.canonicalize_dtype(dtype))
    return jnp.zeros(()).dtype


def as_array(x, dtype):
    """``x`` as an array of ``dtype``: JAX arrays and tracers stay JAX arrays,
    host values stay on the host as numpy arrays (the compiled call transfers
    them). Converting, filling or even transferring them eagerly compiles a
    small device program for every new shape."""
    if isinstance(x, jax.Array):
        return jnp.asarray(x, dtype)
    return np.asarray(x, dtype)


def concrete_values(x):
    """The values of a concrete input to check, None for a tracer: a JAX array
    as it is (see :func:`reduce_values`), anything else as a numpy array."""
    if not is_concrete(x):
        return None
    return x if isinstance(x, jax.Array) else np.asarray(x)


@functools.cache
def _compiled(fn):
    return jax.jit(functools.partial(fn, jnp))


def reduce_values(fn, *values):
    """``fn(xp, *values)``, a scalar, with ``xp`` the array module of the values.

    The values must be concrete (see :func:`concrete_values`). Where any is a
    JAX array off the host, ``fn`` runs compiled on its device and only its
    scalar result is fetched; otherwise it runs with numpy, on host arrays
    viewed in place (a JAX array on the CPU shares its buffer with numpy:
    neither a copy nor a compilation, which would cost a small fit's first
    call more than the check). The evaluation is eager even when the caller
    is being traced (a concrete array closed over by ``jit``), so checks on
    concrete values still run there.
    """
    if any(isinstance(x, jax.Array) and not _on_host(x) for x in values):
        with jax.ensure_compile_time_eval():
            return _compiled(fn)(*values).item()
    return fn(np, *(None if x is None else np.asarray(x) for x in values)).item()


def _on_host(x) -> bool:
    """Whether a concrete JAX array lives in this process's host memory (CPU
    devices of this process). An array spanning several processes is reduced
    compiled, like one on an accelerator: every process then gets the same
    answer, where a check of its own rows alone could raise in one process
    and leave the others waiting in a collective."""
    return x.is_fully_addressable and all(d.platform == "cpu" for d in x.devices())


def on_devices(*arrays) -> bool:
    """Whether any array (a sparse design's values, or the tracer standing
    for an array) is laid out over several devices: a concrete array by its
    devices, a tracer by the mesh of its abstract value (so also under
    ``jit``)."""
    for a in arrays:
        a = a.data if is_sparse(a) else a
        if isinstance(a, jax.Array) and is_concrete(a):
            if len(a.sharding.device_set) > 1:
                return True
            continue
        try:
            mesh = jax.typeof(a).sharding.mesh
        except (AttributeError, TypeError):
            continue
        if mesh.size > 1:
            return True
    return False


def _element(v, j):
    """``v[j]`` of a concrete array, fetched alone, as a numpy scalar."""
    with jax.ensure_compile_time_eval():
        return np.asarray(jax.device_get(v[j]))[()]


def _has_nan(xp, v):
    return xp.any(xp.isnan(v))


def _has_nonfinite(xp, v):
    return xp.any(~xp.isfinite(v))


def _max_abs(xp, v):
    return xp.max(xp.abs(v))


def _sum_as(xp, v, dtype):
    """The sum of ``v`` cast to ``dtype``, as a run in that precision sees it."""
    return xp.sum(v.astype(dtype))


def check_representable(v, name: str, dtype) -> None:
    """Refuse finite values that overflow ``dtype`` once cast to it (float64
    data in a float32 run): they would turn into inf and then NaN inside."""
    kind = np.dtype(v.dtype)
    if not np.issubdtype(kind, np.floating) or kind.itemsize <= np.dtype(dtype).itemsize:
        return
    largest = float(jnp.finfo(dtype).max)
    value = float(reduce_values(_max_abs, v))
    if value > largest:
        way = (
            "pass X as float64 (the run takes X's precision)"
            if jax.config.jax_enable_x64
            else "enable float64 with jax.config.update('jax_enable_x64', True)"
        )
        raise ValueError(
            f"{name} {'is' if np.ndim(v) == 0 else 'has values up to'} {value:.3g}, beyond "
            f"{np.dtype(dtype).name}'s range "
            f"({largest:.3g}): rescale {name}, or {way}"
        )


def _has_negative(xp, v):
    return xp.any(v < 0)


def _has_positive_sum(xp, v):
    return xp.sum(v) > 0


def first_true(xp, flags):
    """The index of the first true entry of a 1-D boolean array, or -1."""
    return xp.where(xp.any(flags), xp.argmax(flags), -1)


def _first_crossed(xp, lo, hi):
    """The first feature with ``lo > hi``, or -1."""
    return first_true(xp, lo > hi)


def _has_pos_inf(xp, v):
    return xp.any(v == np.inf)


def _has_neg_inf(xp, v):
    return xp.any(v == -np.inf)


def _not_binary(xp, y):
    return xp.any((y != 0) & (y != 1))


@jax.jit
def _non_binary_values(y):
    """Up to five distinct values of ``y`` other than 0 and 1 (it holds one at
    least), in increasing order, padded with repeats: fixed-size, so the mask
    never leaves the device (indexing by a boolean mask would fetch it)."""
    bad = (y != 0) & (y != 1)
    some = y[jnp.argmax(bad)]
    return jnp.unique(jnp.where(bad, y, some), size=5, fill_value=some)


def _has_both_classes(xp, y, w):
    positive = True if w is None else w > 0
    return xp.any((y == 1) & positive) & xp.any((y == 0) & positive)


def _as_array_like(x):
    return np.asarray(x) if isinstance(x, (list, tuple)) else x


def check_array(x, name: str, ndim: int, dtype, *, allow_inf: bool = False):
    """Convert ``x`` to a JAX array of ``dtype`` after shape and value checks."""
    x = _as_array_like(x)
    shape = jnp.shape(x)
    if len(shape) != ndim:
        raise ValueError(f"{name} must be {ndim}-dimensional, got shape {tuple(shape)}")
    if any(s == 0 for s in shape):
        raise ValueError(f"{name} is empty (shape {tuple(shape)})")
    v = concrete_values(x)
    if v is not None:
        if not np.issubdtype(v.dtype, np.number) and v.dtype != np.bool_:
            raise ValueError(f"{name} must be numeric, got dtype {v.dtype}")
        if reduce_values(_has_nan if allow_inf else _has_nonfinite, v):
            what = "NaN" if allow_inf else "NaN or infinite"
            raise ValueError(f"{name} contains {what} values")
        if not allow_inf:  # a bound past the range is no bound: inf is right
            check_representable(v, name, dtype)
    with np.errstate(over="ignore"):  # (there, the cast's overflow to inf)
        return as_array(x, dtype)


def _summed_on_host(rows, cols, data, shape):
    """A ``BCOO`` from entries, duplicates summed and padding (out-of-range
    indices) dropped, on the host: a fraction of a ``BCOO``'s own sum, which
    sorts on the device every call and cannot run under a caller's ``jit``.

    The entries come out in column-major order, the order the coordinate
    solvers read them in (:mod:`jaxreg._columns` then skips its sort).
    """
    n, p = shape
    rows, cols, data = np.asarray(rows), np.asarray(cols), np.asarray(data)
    keep = (rows < n) & (cols < p)
    key = cols[keep].astype(np.int64) * n + rows[keep]
    uniq, inverse = np.unique(key, return_inverse=True)
    summed = np.bincount(inverse, weights=data[keep], minlength=uniq.shape[0]).astype(data.dtype)
    indices = np.stack([uniq % n, uniq // n], 1).astype(np.int32)
    return _jsparse().BCOO(
        (jnp.asarray(summed), jnp.asarray(indices)), shape=shape, unique_indices=True
    )


def check_sparse_design(X, dtype):
    """A scipy.sparse matrix or a JAX ``BCOO`` as a 2-D ``BCOO`` of ``dtype``.

    Duplicate entries are summed (the solvers square stored values to get
    column variances), so a concrete matrix is canonical on return.
    """
    if _is_scipy_sparse(X):
        coo = X.tocoo()
        check_representable(coo.data, "X", dtype)
        X = _summed_on_host(coo.row, coo.col, coo.data, coo.shape)
    if X.ndim != 2 or X.n_batch != 0 or X.n_dense != 0:
        raise ValueError(
            f"a sparse X must be a 2-D matrix with no batch or dense dimensions, got shape "
            f"{X.shape} (n_batch={X.n_batch}, n_dense={X.n_dense})"
        )
    if any(s == 0 for s in X.shape):
        raise ValueError(f"X is empty (shape {tuple(X.shape)})")
    if is_concrete(X.data):
        if reduce_values(_has_nonfinite, X.data):
            raise ValueError("X contains NaN or infinite values")
        check_representable(X.data, "X", dtype)
        if is_concrete(X.indices):
            indices = np.asarray(X.indices)  # host copy: slicing it stays off any trace
            X = _summed_on_host(indices[:, 0], indices[:, 1], X.data, X.shape)
    return _jsparse().BCOO((X.data.astype(dtype), X.indices), shape=X.shape)


def check_Xy(X, y, dtype):
    if is_sparse(X) or _is_scipy_sparse(X):
        X = check_sparse_design(X, dtype)
    else:
        X = check_array(X, "X", 2, dtype)
    y = check_array(y, "y", 1, dtype)
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"y has {y.shape[0]} samples but X has {X.shape[0]} rows; they must match")
    return X, y


def check_scalar(x, name: str, dtype, *, low=None, high=None, low_open=False):
    x = _as_array_like(x)
    if isinstance(x, numbers.Real) and not isinstance(x, bool | np.bool_):
        kind = np.dtype(np.float64)  # Fraction, Decimal and the like are real numbers
    elif is_concrete(x) and not isinstance(x, jax.Array):
        kind = np.asarray(x).dtype
    else:
        kind = x.dtype
    real = np.issubdtype(kind, np.integer) or np.issubdtype(kind, np.floating)
    if isinstance(x, bool) or not real:
        # None, strings, booleans and complex numbers are not real numbers,
        # whatever float() makes of them.
        raise ValueError(f"{name} must be a real number, got {x!r}")
    if jnp.ndim(x) != 0:
        raise ValueError(f"{name} must be a scalar, got shape {jnp.shape(x)}")
    v = concrete_values(x)
    if v is not None:
        v = float(v)
        if not np.isfinite(v):
            raise ValueError(f"{name} must be finite, got {v}")
        check_representable(np.float64(v), name, dtype)
        if low is not None and (v < low or (low_open and v == low)):
            op = ">" if low_open else ">="
            raise ValueError(f"{name} must be {op} {low}, got {v}")
        if high is not None and v > high:
            raise ValueError(f"{name} must be <= {high}, got {v}")
    return as_array(x, dtype)


# Iteration counts are int32 inside the compiled solvers.
INT32_MAX = 2**31 - 1


def check_count(value, name: str) -> int:
    """A positive iteration count that fits the solvers' int32 counters
    (``True`` and ``2.5`` are not counts)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Integral)
        or not 1 <= value <= INT32_MAX
    ):
        raise ValueError(f"{name} must be a positive integer (at most {INT32_MAX}), got {value!r}")
    return int(value)


def check_max_iter(max_iter) -> int:
    return check_count(max_iter, "max_iter")


def check_sample_weight(sample_weight, n: int, dtype):
    if sample_weight is None:
        return as_array(np.ones((n,)), dtype)
    sw = check_array(sample_weight, "sample_weight", 1, dtype)
    if sw.shape[0] != n:
        raise ValueError(f"sample_weight has length {sw.shape[0]} but X has {n} rows")
    v = concrete_values(sample_weight)
    if v is not None:
        if reduce_values(_has_negative, v):
            raise ValueError("sample_weight must be nonnegative")
        if not reduce_values(_has_positive_sum, v):
            raise ValueError("sample_weight must have a positive sum")
        cast_sum = functools.partial(_sum_as, dtype=np.dtype(dtype))
        total = float(reduce_values(cast_sum, v))
        if not (np.isfinite(total) and total > 0):
            raise ValueError(
                f"sample_weight sums to {total:g} in "
                f"{np.dtype(dtype).name} (its values overflow or underflow there): rescale it, "
                "only the ratios of the weights matter"
            )
        tiny = float(np.finfo(dtype).tiny)
        if reduce_values(functools.partial(_has_subnormal, tiny=tiny), sw):
            raise ValueError(
                f"sample_weight has positive values below {np.dtype(dtype).name}'s smallest "
                f"normal number ({tiny:.2g}), where they lose their precision: rescale it, "
                "only the ratios of the weights matter"
            )
    return sw


def _has_subnormal(xp, w, *, tiny):
    return xp.any((w > 0) & (w < tiny))


def check_penalty_factor(penalty_factor, p: int, dtype):
    if penalty_factor is None:
        return as_array(np.ones((p,)), dtype)
    pf = check_array(penalty_factor, "penalty_factor", 1, dtype)
    if pf.shape[0] != p:
        raise ValueError(f"penalty_factor has length {pf.shape[0]} but X has {p} columns")
    v = concrete_values(penalty_factor)
    if v is not None:
        if reduce_values(_has_negative, v):
            raise ValueError("penalty_factor must be nonnegative")
        if not reduce_values(_has_positive_sum, v):
            raise ValueError("penalty_factor must not be all zero")
    return pf


def check_bounds(lower, upper, positive: bool, p: int, dtype):
    """Per-feature bounds as two ``(p,)`` arrays; ``positive`` raises ``lower`` to 0."""

    def one(b, name, default):
        if b is None:
            return as_array(np.full((p,), default), dtype)
        b = _as_array_like(b)
        if jnp.ndim(b) == 0:
            # A concrete scalar is filled on the host (jnp.full would compile
            # and run a device kernel on every call).
            b = np.full((p,), np.asarray(b)) if is_concrete(b) else jnp.broadcast_to(b, (p,))
        elif jnp.shape(b) != (p,):
            raise ValueError(f"{name} must be a scalar or have shape ({p},), got {jnp.shape(b)}")
        return check_array(b, name, 1, dtype, allow_inf=True)

    lo = one(lower, "lower", -jnp.inf)
    hi = one(upper, "upper", jnp.inf)
    if lower is None and upper is None:
        # No bounds given: nothing to check (a small fit pays for each check).
        return (as_array(np.zeros((p,)), dtype) if positive else lo), hi
    # An infinite bound means "no bound" on its own side only: lower=+inf or
    # upper=-inf would pin coefficients at infinity.
    for bound, name, wrong, test in (
        (lo, "lower", "inf", _has_pos_inf),
        (hi, "upper", "-inf", _has_neg_inf),
    ):
        vals = concrete_values(bound)
        if vals is not None and reduce_values(test, vals):
            raise ValueError(f"{name} must not be {wrong} (an infinite bound on the wrong side)")
    if positive:
        lo = np.maximum(lo, 0.0) if isinstance(lo, np.ndarray) else jnp.maximum(lo, 0.0)
    vl, vh = concrete_values(lo), concrete_values(hi)
    if vl is not None and vh is not None:
        j = reduce_values(_first_crossed, vl, vh)
        if j >= 0:
            extra = " (positive=True raises lower to 0)" if positive else ""
            raise ValueError(
                f"lower > upper for feature {j}: {_element(vl, j)} > {_element(vh, j)}{extra}"
            )
    return lo, hi


def check_binary(y, sample_weight):
    v = concrete_values(y)
    if v is None:
        return
    if reduce_values(_not_binary, v):
        if isinstance(v, jax.Array):
            with jax.ensure_compile_time_eval():
                bad = np.unique(jax.device_get(_non_binary_values(v)))
        else:
            bad = np.unique(v[(v != 0) & (v != 1)])[:5]
        raise ValueError(f"y must contain only 0 and 1 for the logistic loss, found {bad}")
    w = None
    if sample_weight is not None:
        w = concrete_values(sample_weight)
        if w is None:
            return
    if not reduce_values(_has_both_classes, v, w):
        raise ValueError("y must contain both classes 0 and 1 (among positive-weight samples)")


def check_labels(y, sample_weight, n_classes: int):
    """Class labels: integers in ``0..n_classes-1``, at least two classes
    among the positive-weight samples (checked on concrete values only)."""
    v = concrete_values(y)
    if v is None:
        return
    labels = np.asarray(v)
    bad = labels[(labels != np.round(labels)) | (labels < 0) | (labels >= n_classes)]
    if bad.size:
        raise ValueError(
            f"y must hold class labels 0..{n_classes - 1} (integers), found {np.unique(bad)[:5]}"
        )
    w = None if sample_weight is None else concrete_values(sample_weight)
    present = labels if w is None else labels[np.asarray(w) > 0]
    if np.unique(present).size < 2:
        raise ValueError("y must contain at least two classes (among positive-weight samples)")


def check_choice(value, name: str, choices):
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")
    return value


def check_alphas(alphas, dtype, *, ndims=(1,)):
    """A user grid of penalties: ``ndims`` dimensions, non-empty, finite, nonnegative."""
    if alphas is None:
        return None
    alphas = _as_array_like(alphas)
    if jnp.ndim(alphas) not in ndims:
        shapes = " or ".join({1: "(A,)", 2: "(L, A)"}[d] for d in ndims)
        raise ValueError(f"alphas must have shape {shapes}, got {jnp.shape(alphas)}")
    alphas = check_array(alphas, "alphas", jnp.ndim(alphas), dtype)
    vals = concrete_values(alphas)
    if vals is not None and reduce_values(_has_negative, vals):
        raise ValueError("alphas must be nonnegative")
    return alphas


class Inputs(NamedTuple):
    """The validated inputs every public fit shares (see :func:`inputs`)."""

    dtype: Any
    X: Any
    y: Any
    sample_weight: Any
    penalty_factor: Any
    lower: Any
    upper: Any
    tol: Any
    max_iter: int
    # Powers of two X's columns were divided by (see jaxreg._rescale), or None.
    col_scale: Any = None


def inputs(X, y, *, sample_weight, penalty_factor, lower, upper, positive, tol, max_iter, datafit):
    """Validate the inputs of a fit once: the design and targets (for the
    ``datafit``'s target rule), the weights, penalty factors and bounds, and
    the ``tol`` and ``max_iter`` options."""
    X, y = from_frame(X), from_frame(y, "y")
    dtype = float_dtype(X)
    X, y = check_Xy(X, y, dtype)
    n, p = X.shape
    sw = check_sample_weight(sample_weight, n, dtype)
    pf = check_penalty_factor(penalty_factor, p, dtype)
    lo, hi = check_bounds(lower, upper, positive, p, dtype)
    tol = check_scalar(tol, "tol", dtype, low=0.0, low_open=True)
    max_iter = check_max_iter(max_iter)
    # The checked weights, already where y is, rather than the raw ones.
    datafit.check_targets(y, None if sample_weight is None else sw)
    return Inputs(dtype, X, y, sw, pf, lo, hi, tol, max_iter)


def check_groups(groups, inputs: Inputs, positive: bool) -> tuple | None:
    """The group of each feature as consecutive integers ``0..G-1`` (in order
    of first appearance), or None without groups. ``groups`` holds one
    integer label per feature; it fixes the program's structure, so it must
    be concrete. A group penalty takes no bounds, and the penalty factors of
    a group's features must agree (the group's norm is weighted as one)."""
    if groups is None:
        return None
    if not is_concrete(groups):
        raise ValueError("groups must be concrete (it fixes the compiled program), got a tracer")
    labels = np.asarray(groups)
    p = inputs.lower.shape[0]
    if labels.ndim != 1 or labels.shape[0] != p:
        raise ValueError(
            f"groups must have shape ({p},) (one label per feature), got {labels.shape}"
        )
    if labels.dtype == bool or not (
        np.issubdtype(labels.dtype, np.integer)
        or (np.issubdtype(labels.dtype, np.floating) and np.all(labels == np.round(labels)))
    ):
        raise ValueError(f"groups must hold integer labels, got dtype {labels.dtype}")
    if (
        positive
        or np.any(np.isfinite(_host(inputs.lower)))
        or np.any(np.isfinite(_host(inputs.upper)))
    ):
        raise ValueError("groups cannot be combined with bounds (lower, upper or positive)")
    _, first, ids = np.unique(labels, return_index=True, return_inverse=True)
    # Number the groups in order of first appearance.
    order = np.argsort(np.argsort(first))
    ids = order[ids.ravel()]
    pf = concrete_values(inputs.penalty_factor)
    if pf is not None:
        pf = np.asarray(pf, np.float64)
        shared = np.zeros(len(first))
        shared[ids] = pf
        if np.any(shared[ids] != pf):
            raise ValueError("penalty_factor must be equal within each group of groups")
    return tuple(int(i) for i in ids)


def _host(a):
    values = concrete_values(a)
    return np.zeros(0) if values is None else np.asarray(values)
