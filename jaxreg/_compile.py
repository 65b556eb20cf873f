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

An entry point may also name configurations (its ``unhoisted`` predicate on
the static arguments) whose float64 CPU compilation skips XLA's
loop-invariant code motion. That pass moves each invariant piece of a loop
body out of its fused kernel into a kernel of its own before the loop; the
working-set solver nests loops several deep, and on the wide 500 x 5000 lasso
path the pass adds 52 kernels (332 without it, 384 with it) and about 1.5 s
of compilation (4.6 to 5.2 s against 6.6 to 6.9 s), while the warm path runs
no slower (1.22 to 1.31 s against 1.22 to 1.34 s). The path and CV entry
points use it for the working-set strategy only: FISTA on a Gram matrix (the
tall problems' strategy) runs 3-6% slower without the pass and compiles
hardly faster.

Finally an entry point may name configurations (its ``quick`` predicate)
whose float64 CPU compilation uses XLA's elemental kernel emitters instead of
its newer fusion emitters (``xla_cpu_use_fusion_emitters`` off). The newer
emitters make more kernels, each slower to generate: on the wide 500 x 5000
lasso path 263 kernels against 192, and 3.6 to 4.1 s of XLA compilation
against 2.2 to 2.6 s; on the tall 5000 x 500 path 2.3 to 2.5 s against 1.4
to 1.6 s. What
the older kernels cost at run time depends on the program: nothing
measurable for FISTA (the tall path, the tall CV), 10-20% for the wide path's
coordinate descent (warm 1.32 to 1.48 s against 1.14 to 1.27 s: less than
the 1.3 to 1.6 s of compilation saved on a first call), 25-30% for the wide
CV's (which runs it five times as long for 0.4 s less compilation). So the
paths use them always and CV everywhere but coordinate descent. Where the
installed XLA does not know the option, it is left out. A persistent
compilation cache (``jax_compilation_cache_dir`` set) turns the trade around:
later processes load the program instead of compiling it, and only the slower
run would be left. So while one is set, the ``quick`` predicates are ignored.
"""

from __future__ import annotations

import functools

import jax
import numpy as np

# Passes left out of float64 CPU compilations (see the module docstring).
_F64_CPU_OPTIONS = {"xla_disable_hlo_passes": "tree_reduction_rewriter"}
_F64_CPU_UNHOISTED = {
    "xla_disable_hlo_passes": "tree_reduction_rewriter,while-loop-invariant-code-motion"
}
# Added for the ``quick`` configurations, where XLA knows it.
_ELEMENTAL_EMITTERS = {"xla_cpu_use_fusion_emitters": False}


@functools.cache
def _knows_elemental_emitters() -> bool:
    """Whether this XLA accepts ``_ELEMENTAL_EMITTERS`` (a tiny compilation, once)."""
    try:
        jax.jit(lambda x: x + 1.0).lower(np.float64(0.0)).compile(
            compiler_options=_ELEMENTAL_EMITTERS
        )
    except Exception:  # an unknown option is an error; older XLA lacks this one
        return False
    return True


def _persistent_cache() -> bool:
    """Whether a persistent compilation cache directory is configured."""
    return bool(getattr(jax.config, "jax_compilation_cache_dir", None))


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


def jit(fun=None, *, unhoisted=None, quick=None, **jit_kwargs):
    """``jax.jit(fun, **jit_kwargs)``, compiled without the tree-reduction
    rewrite when called eagerly on a CPU with float64 inputs only.

    Usable as ``jit(f, static_argnames=...)`` or as a decorator
    ``@jit(static_argnames=...)``. ``unhoisted`` and ``quick``: predicates on
    the call's keyword arguments (the static configuration); where
    ``unhoisted`` holds, that float64 CPU compilation also skips XLA's
    loop-invariant code motion, and where ``quick`` holds it uses XLA's
    elemental kernel emitters (unless a persistent compilation cache is
    configured; see the module docstring). The result has
    ``lower`` (the variant the same arguments would run), ``_cache_size``
    (all variants' entries) and ``_variant`` (the name of the variant the
    arguments would run: ``plain``, or ``fast`` or ``lean`` with ``+quick``
    where ``quick`` holds).
    """
    if fun is None:
        return functools.partial(jit, unhoisted=unhoisted, quick=quick, **jit_kwargs)
    variants = {"plain": jax.jit(fun, **jit_kwargs)}

    def variant(args, kwargs) -> str:
        if jax.default_backend() != "cpu" or _tracing():
            return "plain"
        if not _float64_only(jax.tree_util.tree_leaves((args, kwargs))):
            return "plain"
        name = "lean" if unhoisted is not None and unhoisted(kwargs) else "fast"
        if (
            quick is not None
            and quick(kwargs)
            and not _persistent_cache()
            and _knows_elemental_emitters()
        ):
            name += "+quick"
        return name

    def pick(args, kwargs):
        name = variant(args, kwargs)
        if name not in variants:  # built on first use
            options = dict(_F64_CPU_UNHOISTED if name.startswith("lean") else _F64_CPU_OPTIONS)
            if name.endswith("+quick"):
                options |= _ELEMENTAL_EMITTERS
            variants[name] = jax.jit(fun, compiler_options=options, **jit_kwargs)
        return variants[name]

    @functools.wraps(fun)
    def call(*args, **kwargs):
        return pick(args, kwargs)(*args, **kwargs)

    call.lower = lambda *args, **kwargs: pick(args, kwargs).lower(*args, **kwargs)
    call._cache_size = lambda: sum(f._cache_size() for f in variants.values())
    call._variant = lambda *args, **kwargs: variant(args, kwargs)
    return call


def always(kwargs) -> bool:
    """``quick`` for the path entry points: every configuration."""
    return True


def not_working_set(kwargs) -> bool:
    """``quick`` for the CV entry points: all but coordinate descent."""
    return not working_set_only(kwargs)


def working_set_only(kwargs) -> bool:
    """``unhoisted`` for the path and CV entry points: the working-set strategy
    where it runs coordinate descent (the squared loss in design mode; in Gram
    mode and for other losses it runs FISTA, which keeps the pass)."""
    return (
        kwargs.get("strategy") == "working_set"
        and kwargs.get("loss") == "squared"
        and not kwargs.get("use_gram")
    )
