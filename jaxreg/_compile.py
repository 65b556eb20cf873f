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
few percent slower without the pass and compiles hardly faster. Those
configurations also leave out XLA's library (YNNPACK) fusions, where XLA
knows the option: fused with the products of a design stored transposed,
they allocated scratch memory of most of a copy of X at run time (outside
the program's own buffers), and the wide paths and CV ran no slower
without them.

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

Small problems (every array argument at most ``_SMALL_ENTRIES`` entries, in
any precision) compile with the elemental emitters, whatever the
configuration, and the paths and cross-validations also at XLA's backend
optimization level 0: LLVM's optimizations and the number of kernels are
most of their compilation, and on such data a faster kernel saves less at
run time than it costs once. Those programs run up to about twice as long
and compile in a third of the time; a 5-fold ``LassoCV`` on a 442 x 10 table
spends its first call compiling. Level 0 also rounds differently (no fused
multiply-adds), so single fits keep LLVM's optimizations: a caller may
repeat them thousands of times, and expects the same answer eagerly and
inside a ``jit``. Here too a persistent compilation cache turns the trade
around, and the options are left out while one is set.

The measured kernel counts, compilation and run times behind these choices
are in ``docs/benchmarks.md``, "Measurements behind design choices".
"""

from __future__ import annotations

import contextlib
import functools
import gc
import math
import re

import jax
import numpy as np

# Passes left out of float64 CPU compilations (see the module docstring).
_F64_CPU_OPTIONS = {"xla_disable_hlo_passes": "tree_reduction_rewriter"}
# Library (YNNPACK) fusions off where XLA knows the option: see the module docstring.
_NO_LIBRARY_FUSIONS = {"xla_cpu_experimental_ynn_fusion_type": ""}
_F64_CPU_UNHOISTED = {
    "xla_disable_hlo_passes": "tree_reduction_rewriter,while-loop-invariant-code-motion",
    **_NO_LIBRARY_FUSIONS,
}
# Added for the ``quick`` configurations, where XLA knows it.
_ELEMENTAL_EMITTERS = {"xla_cpu_use_fusion_emitters": False}
# Added for small problems (see the module docstring), where XLA knows it.
_UNOPTIMIZED = {"xla_backend_optimization_level": 0}
# The most entries of an array argument for which a problem counts as small:
# the padded designs of the small shape buckets (see jaxreg._buckets).
_SMALL_ENTRIES = 2**16


# Optional options this XLA rejected ("No such compile option"): found on
# first use rather than by a test compilation, which cost a small first call
# a few hundredths of a second.
_REJECTED: set[str] = set()


def _accepted(options: dict) -> bool:
    """Whether XLA has not rejected any of ``options``."""
    return not (set(options) & _REJECTED)


def _knows_elemental_emitters() -> bool:
    """Whether ``_ELEMENTAL_EMITTERS`` may be passed (not rejected so far)."""
    return _accepted(_ELEMENTAL_EMITTERS)


def _knows_unoptimized() -> bool:
    """Whether ``_UNOPTIMIZED`` may be passed (not rejected so far)."""
    return _accepted(_UNOPTIMIZED)


def _rejected_option(error: Exception) -> str | None:
    """The optional option an XLA compilation error rejects, if that is what
    it says (None for any other error)."""
    match = re.search(r"No such compile option: '([\w.]+)'", str(error))
    if match is None:
        return None
    name = match.group(1)
    optional = set(_ELEMENTAL_EMITTERS) | set(_UNOPTIMIZED) | set(_NO_LIBRARY_FUSIONS)
    return name if name in optional else None


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


def small_design(X) -> bool:
    """Whether a design (dense or sparse) has at most ``_SMALL_ENTRIES``
    entries, counting the zeros of a sparse one: the problems whose first
    call is mostly tracing and compiling."""
    return math.prod(X.shape) <= _SMALL_ENTRIES


def _small(tree) -> bool:
    """Whether no array in ``tree`` has more than ``_SMALL_ENTRIES`` entries,
    a sparse one counted by its shape (see :func:`small_design`)."""
    arrays = jax.tree_util.tree_leaves(tree, is_leaf=lambda x: type(x).__name__ == "BCOO")
    return all(small_design(a) for a in arrays if hasattr(a, "shape"))


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


@contextlib.contextmanager
def _collector_paused():
    """Python's cyclic garbage collector paused for the block, unless the
    caller had paused it already.

    Tracing a solver allocates hundreds of thousands of short-lived objects,
    which trigger full collections that walk every object of the process;
    on a small first call they were about a fifth of the tracing time. The
    cycles left behind are collected once the collector runs again.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def jit(fun=None, *, unhoisted=None, quick=None, unoptimized=False, **jit_kwargs):
    """``jax.jit(fun, **jit_kwargs)``, compiled without the tree-reduction
    rewrite when called eagerly on a CPU with float64 inputs only.

    Usable as ``jit(f, static_argnames=...)`` or as a decorator
    ``@jit(static_argnames=...)``. ``unhoisted`` and ``quick``: predicates on
    the call's keyword arguments (the static configuration); where
    ``unhoisted`` holds, that float64 CPU compilation also skips XLA's
    loop-invariant code motion, and where ``quick`` holds (or the problem is
    small) it uses XLA's elemental kernel emitters. ``unoptimized``: small
    problems also compile at XLA's backend optimization level 0 (the paths
    and cross-validations, whose first call is mostly compilation; not the
    single fits, which a caller may repeat thousands of times and expects
    equal, eagerly and inside a ``jit``). Neither the emitters nor level 0
    while a persistent compilation cache is configured (see the module
    docstring). The result
    has ``lower`` (the variant the same arguments would run),
    ``_cache_size`` (all variants' entries) and ``_variant`` (the name of
    the variant the arguments would run: ``plain``, ``fast`` or ``lean``,
    then ``+quick`` for the elemental emitters or ``+small`` for those and
    level 0).
    """
    if fun is None:
        return functools.partial(
            jit, unhoisted=unhoisted, quick=quick, unoptimized=unoptimized, **jit_kwargs
        )
    # Keyed by the compiler options themselves: a variant built with an option
    # XLA then rejects is never picked again.
    variants = {(): jax.jit(fun, **jit_kwargs)}

    def variant(args, kwargs) -> str:
        if jax.default_backend() != "cpu" or _tracing():
            return "plain"
        leaves = jax.tree_util.tree_leaves((args, kwargs))
        if any(isinstance(leaf, jax.core.Tracer) for leaf in leaves):
            return "plain"
        name = "plain"
        if _float64_only(leaves):
            name = "lean" if unhoisted is not None and unhoisted(kwargs) else "fast"
        if _persistent_cache():
            return name
        small = _small((args, kwargs))
        if small and unoptimized and _knows_unoptimized():
            return name + "+small"
        wanted = small or (name != "plain" and quick is not None and quick(kwargs))
        return name + "+quick" if wanted and _knows_elemental_emitters() else name

    def options_of(name: str) -> dict:
        base = name.split("+")[0]
        options = {}
        if base != "plain":
            options = dict(_F64_CPU_UNHOISTED if base == "lean" else _F64_CPU_OPTIONS)
        if name.endswith(("+quick", "+small")):
            options |= _ELEMENTAL_EMITTERS
        if name.endswith("+small"):
            options |= _UNOPTIMIZED
        return {k: v for k, v in options.items() if k not in _REJECTED}

    def pick(args, kwargs):
        options = options_of(variant(args, kwargs))
        key = tuple(sorted(options.items()))
        if key not in variants:  # built on first use
            variants[key] = jax.jit(fun, compiler_options=options, **jit_kwargs)
        return variants[key]

    @functools.wraps(fun)
    def call(*args, **kwargs):
        with _collector_paused():
            rejected = set()
            while True:
                try:
                    return pick(args, kwargs)(*args, **kwargs)
                except Exception as error:
                    # An XLA without an optional option: compiled again without
                    # it (also where another thread found it out first).
                    option = _rejected_option(error)
                    if option is None or option in rejected:
                        raise
                    rejected.add(option)
                    _REJECTED.add(option)

    call.lower = lambda *args, **kwargs: pick(args, kwargs).lower(*args, **kwargs)
    call._cache_size = lambda: sum(f._cache_size() for f in variants.values())
    call._variant = lambda *args, **kwargs: variant(args, kwargs)
    return call
