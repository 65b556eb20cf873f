"""``jax.jit`` for the library's entry points, with CPU compiler options for float64.

XLA's CPU backend rewrites reductions of more than a few dozen entries (a
sum or a max; the longest go to XNNPACK instead) as a windowed reduction
over blocks followed by a reduction of the blocks: two or three kernels
where one would do. It keeps
long float32 sums accurate, and jaxreg keeps it there. In float64 it buys
nothing that matters at the tolerances a solver certifies, and it costs
compilation time and run time. On the wide 500 x 5000 lasso path, compiling
without it drops the fused kernels from 592 to 485, and the warm path runs
in 0.99 s instead of 1.22 s (``docs/benchmarks.md``, "Compilation").

So each entry point is jitted twice. Called with concrete arguments on a CPU
backend, every floating array among them float64, and outside any trace, it
runs the variant compiled without the rewrite; otherwise (float32 or mixed
inputs, another backend, or a call inside a user's ``jit``, ``grad`` or
``vmap``, where only the outermost ``jit`` may take compiler options) the
plain one.
"""

from __future__ import annotations

import functools

import jax
import numpy as np

# Passes left out of float64 CPU compilations (see the module docstring).
_F64_CPU_OPTIONS = {"xla_disable_hlo_passes": "tree_reduction_rewriter"}


def _tracing() -> bool:
    """Whether a trace is active (a call would be staged into an outer program)."""
    try:
        from jax._src.core import trace_state_clean
    except ImportError:  # pragma: no cover - private API moved: be conservative
        return True
    return not trace_state_clean()


def _float64_only(leaves) -> bool:
    """Whether no leaf is traced and every floating array leaf is float64."""
    floating = False
    for leaf in leaves:
        if isinstance(leaf, jax.core.Tracer):
            return False
        dtype = getattr(leaf, "dtype", None)
        if dtype is not None and np.issubdtype(dtype, np.inexact):
            if dtype != np.float64:
                return False
            floating = True
    return floating


def jit(fun=None, **jit_kwargs):
    """``jax.jit(fun, **jit_kwargs)``, compiled without the tree-reduction
    rewrite when called eagerly on a CPU with float64 inputs only.

    Usable as ``jit(f, static_argnames=...)`` or as a decorator
    ``@jit(static_argnames=...)``. The result has ``lower`` (the variant the
    same arguments would run) and ``_cache_size`` (both variants' entries).
    """
    if fun is None:
        return functools.partial(jit, **jit_kwargs)
    plain = jax.jit(fun, **jit_kwargs)
    fast = jax.jit(fun, compiler_options=_F64_CPU_OPTIONS, **jit_kwargs)

    def pick(args, kwargs):
        if jax.default_backend() != "cpu" or _tracing():
            return plain
        return fast if _float64_only(jax.tree_util.tree_leaves((args, kwargs))) else plain

    @functools.wraps(fun)
    def call(*args, **kwargs):
        return pick(args, kwargs)(*args, **kwargs)

    call.lower = lambda *args, **kwargs: pick(args, kwargs).lower(*args, **kwargs)
    call._cache_size = lambda: plain._cache_size() + fast._cache_size()
    return call
