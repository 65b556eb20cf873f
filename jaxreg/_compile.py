"""``jax.jit`` for the library's entry points, with CPU compiler options for float64.

XLA's CPU backend rewrites reductions of more than a few dozen entries (a
sum or a max; the longest go to XNNPACK instead) as a windowed reduction
over blocks followed by a reduction of the blocks: two or three kernels
where one would do. It keeps long float32 sums accurate, and jaxreg keeps it
there. In float64 it buys nothing that matters at the tolerances a solver
certifies, and it costs compilation time and run time: compiled without it,
a wide lasso path has fewer kernels and its warm run is faster.

So each entry point is jitted twice. Called with concrete arguments on a CPU
backend, every floating array among them float64, and outside any trace, it
runs the variant compiled without the rewrite; otherwise (float32 or mixed
inputs, another backend, or a call inside a user's ``jit``, ``grad`` or
``vmap``, where only the outermost ``jit`` may take compiler options) the
plain one. Whether a trace is active is asked of JAX's private trace state,
in :func:`_tracing` alone; where that answer is unavailable, the plain
variant runs (same results, without the options).

An entry point may also name configurations (its ``unhoisted`` predicate on
the static arguments) whose float64 CPU compilation skips XLA's
loop-invariant code motion. That pass moves each invariant piece of a loop
body out of its fused kernel into a kernel of its own before the loop; the
working-set solver nests loops several deep, and on a wide lasso path the
pass adds kernels and compilation time while the warm path runs no slower
without it. The path and CV entry points skip it for the working-set
strategy only: FISTA on a Gram matrix (the tall problems' strategy) runs a
few percent slower without the pass and compiles hardly faster.

Finally an entry point may name configurations (its ``quick`` predicate)
whose float64 CPU compilation uses XLA's elemental kernel emitters instead of
its newer fusion emitters (``xla_cpu_use_fusion_emitters`` off). The newer
emitters make more kernels, each slower to generate, so the older ones
compile the wide and the tall paths markedly faster. What the older kernels
cost at run time depends on the program: nothing measurable for FISTA (the
tall path, the tall CV); for the wide path's coordinate descent less than the
compilation they save on a first call; for the wide CV's coordinate descent
(which runs it several times as long) more than they save. So the paths use
them always and CV everywhere but coordinate descent. Where the installed XLA
does not know the option, it is left out. A persistent compilation cache
(``jax_compilation_cache_dir`` set) turns the trade around: later processes
load the program instead of compiling it, and only the slower run would be
left. So while one is set, the ``quick`` predicates are ignored.

The measured kernel counts, compilation and run times behind these choices
are in ``docs/benchmarks.md``, "Measurements behind design choices".
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


# Private trace-state checks that ``_tracing`` has found sound (or not): the
# check's function object -> whether it reported a trace inside one.
_TRACE_CHECK_SOUND: dict = {}


def _tracing() -> bool:
    """Whether a JAX trace is active: a call now would be staged into an outer
    program (a ``jit``, ``grad``, ``vmap`` or other transformation) rather than run.

    JAX (0.10) has no public query for this, so this is the one function in
    jaxreg that reaches into a private module: ``jax._src.core.trace_state_clean``.
    It degrades to True ("assume tracing": the entry points then run their plain
    ``jax.jit``, with the same results and without the float64 CPU options)
    wherever that answer cannot be trusted:

    - the module or function is gone (moved or renamed in another JAX);
    - the function raises; and any answer but ``True`` ("clean") counts as a trace;
    - it changed meaning: once per function object, it is asked inside a trace
      of its own (``jax.make_jaxpr``), and unless it answers "not clean" there
      it is never used again.

    Only a wrong False could do harm (compiler options passed to an inner
    ``jit``); every failure above answers True.
    """
    try:
        from jax._src.core import trace_state_clean as clean
    except Exception:  # the private API moved
        return True
    try:
        sound = _TRACE_CHECK_SOUND.get(clean)
        if sound is None:
            seen = []
            jax.make_jaxpr(lambda: seen.append(clean()))()
            sound = _TRACE_CHECK_SOUND[clean] = len(seen) == 1 and seen[0] is False
        return not sound or clean() is not True
    except Exception:  # it raises (or is not even hashable): assume tracing
        return True


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
