"""JAX's persistent compilation cache, in a folder of jaxreg's own."""

from __future__ import annotations

import os
from pathlib import Path

import jax

# Set to a non-empty value other than "0", it keeps the command line from
# turning the cache on.
NO_CACHE_ENV = "JAXREG_NO_COMPILATION_CACHE"


def default_cache_dir() -> Path:
    """``$JAXREG_CACHE_DIR``, else ``$XDG_CACHE_HOME/jaxreg/xla``, else
    ``~/.cache/jaxreg/xla``."""
    if os.environ.get("JAXREG_CACHE_DIR"):
        return Path(os.environ["JAXREG_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "jaxreg" / "xla"


def enable_compilation_cache(path: str | os.PathLike | None = None) -> str:
    """Turn on JAX's persistent compilation cache: a program compiled once on
    this machine is then loaded from disk by later processes instead of
    being compiled again.

    A first fit, path or cross-validation in a fresh process spends most of
    its time compiling (seconds, against milliseconds for the solve on a
    table of a few hundred rows); with the cache warm it only loads.

    Args:
      path: the cache folder. Default: the folder JAX is already configured
        with (``jax_compilation_cache_dir`` or ``JAX_COMPILATION_CACHE_DIR``),
        which is kept; else ``$JAXREG_CACHE_DIR``; else
        ``$XDG_CACHE_HOME/jaxreg/xla`` (``~/.cache/jaxreg/xla``). It is
        created if missing.

    Returns:
      The folder in use, as a string.

    Every program is cached, however fast it compiled (JAX's default keeps
    only those that took a second or more): jaxreg's small-data programs
    compile in a fraction of a second each, and a first call runs several.
    The cache holds compiled programs only, keyed by the program, the
    compiler options, the JAX version and the device, so it never changes
    a result; deleting the folder is always safe.
    """
    configured = getattr(jax.config, "jax_compilation_cache_dir", None)
    if path is None:
        folder = Path(configured) if configured else default_cache_dir()
    else:
        folder = Path(path)
    folder = folder.expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", str(folder))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    return str(folder)


def cache_disabled_by_env() -> bool:
    """Whether ``$JAXREG_NO_COMPILATION_CACHE`` asks the command line for no cache."""
    return os.environ.get(NO_CACHE_ENV, "") not in ("", "0")
