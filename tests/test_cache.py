"""The persistent compilation cache: jaxreg.enable_compilation_cache and the
command line's default. Each case runs in a fresh process (the cache is a
process-wide JAX setting, and only a new process can load from it)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

FIT = (
    "import jax, jaxreg\n"
    "jax.config.update('jax_enable_x64', True)\n"
    "X, y, _ = jaxreg.datasets.load_diabetes()\n"
    "{enable}\n"
    "print('FOLDER', jax.config.jax_compilation_cache_dir)\n"
    "print(int(jaxreg.lasso(X, y, 0.1).status))\n"
)


def _run(code, env=None, args=None):
    full = {k: v for k, v in os.environ.items() if not k.startswith(("JAX_COMP", "JAXREG_"))}
    full |= env or {}
    cmd = [sys.executable, "-c", code] if args is None else [sys.executable, "-m", "jaxreg", *args]
    out = subprocess.run(cmd, capture_output=True, text=True, env=full, timeout=300)
    assert out.returncode == 0, out.stderr
    return out.stdout


def _entries(folder):
    return sorted(p.name for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def test_programs_compiled_once_are_loaded_by_the_next_process(tmp_path):
    folder = tmp_path / "cache"
    code = FIT.format(enable=f"print('USING', jaxreg.enable_compilation_cache({str(folder)!r}))")
    first = _run(code)
    assert f"USING {folder}" in first and first.strip().endswith("0")
    written = _entries(folder)
    assert written, "nothing was cached"
    # The second process finds every program: nothing new is written.
    _run(code)
    assert _entries(folder) == written


def test_a_folder_jax_already_uses_is_kept(tmp_path):
    mine = tmp_path / "mine"
    out = _run(
        FIT.format(enable="print('USING', jaxreg.enable_compilation_cache())"),
        env={"JAX_COMPILATION_CACHE_DIR": str(mine)},
    )
    assert f"USING {mine}" in out and _entries(mine)


def test_the_default_folder_is_jaxregs_own(tmp_path):
    out = _run(
        FIT.format(enable="print('USING', jaxreg.enable_compilation_cache())"),
        env={"XDG_CACHE_HOME": str(tmp_path)},
    )
    assert f"USING {tmp_path / 'jaxreg' / 'xla'}" in out
    out = _run(
        FIT.format(enable="print('USING', jaxreg.enable_compilation_cache())"),
        env={"JAXREG_CACHE_DIR": str(tmp_path / "here")},
    )
    assert f"USING {tmp_path / 'here'}" in out


@pytest.mark.parametrize(
    "extra, env, cached",
    [
        ([], {}, True),
        (["--no-compilation-cache"], {}, False),
        ([], {"JAXREG_NO_COMPILATION_CACHE": "1"}, False),
    ],
    ids=["default", "option", "environment"],
)
def test_the_command_line_caches_unless_told_not_to(tmp_path, extra, env, cached):
    args = ["demo", "--no-plots", "--n-alphas", "3", "-q", *extra]
    _run(None, env={"XDG_CACHE_HOME": str(tmp_path), **env}, args=args)
    assert bool(_entries(tmp_path / "jaxreg" / "xla")) == cached
