import gc
import os
import pathlib
import sys

import jax
import pytest

# The shared helpers (``_jaxreg_problems``, ``_jaxreg_oracles``) are imported
# as top-level modules from this folder, under names no installed
# distribution uses: a ``tests`` package that some distributions ship cannot
# shadow them, whatever pytest's import mode.
_HERE = str(pathlib.Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

# The suite runs in float64; float32 behaviour is checked explicitly with
# float32 inputs (tests/test_float32.py) and in a subprocess without x64.
jax.config.update("jax_enable_x64", True)

# The command line keeps a persistent compilation cache by default; in the
# suite it would write to the user's cache folder and change how later tests
# in the same process compile. tests/test_cache.py turns it on explicitly.
os.environ["JAXREG_NO_COMPILATION_CACHE"] = "1"

# Every compiled executable that JAX keeps in its caches holds memory mappings.
# Over a thousand tests that compile for many distinct shapes (scikit-learn's
# estimator checks above all), one process would run into the kernel's
# per-process mapping limit (vm.max_map_count, 65530 by default), and XLA
# crashes when a mapping fails. Dropping the caches whenever the process holds
# many mappings keeps the suite well below it; it costs only recompilation.
_MAPS = "/proc/self/maps"
_MAX_MAPS = 15_000
_EVERY = 50  # where mappings cannot be counted, clear every this many tests
_count = [0]


def _n_maps() -> int | None:
    try:
        with open(_MAPS, "rb") as f:
            return sum(1 for _ in f)
    except OSError:
        return None


@pytest.fixture(autouse=True)
def _bounded_compilation_caches():
    yield
    _count[0] += 1
    n = _n_maps() if os.path.exists(_MAPS) else None
    if (n is not None and n > _MAX_MAPS) or (n is None and _count[0] % _EVERY == 0):
        jax.clear_caches()
        gc.collect()
