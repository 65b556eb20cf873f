"""Small-data latency: what a first-time user waits for on a 442-row table.

Each call runs in a fresh Python process on the shipped diabetes data
(442 x 10, float64, JAX's default configuration as a scikit-learn user has
it), for jaxreg's estimators and their scikit-learn namesakes:

* ``import``: ``import jaxreg`` after ``import jax`` (jaxreg's own share);
* ``LassoCV``: ``LassoCV(cv=5).fit(X, y)``, then, in the same process, the
  same on the first 400 rows (a new shape), with the number of XLA
  compilations that second fit caused;
* ``GridSearchCV``: ``GridSearchCV(make_pipeline(StandardScaler(), Lasso()),
  10 alphas, cv=5).fit(X, y)``, then the same again in the process.

jaxreg runs twice: cold (no persistent compilation cache), and with
``jaxreg.enable_compilation_cache`` pointed at a folder that a previous
process filled (the second user session on a machine). Times are wall
clock of the call alone (imports excluded, except in ``import``).

Usage::

    python benchmarks/bench_latency.py            # full (each number a median of 5 processes)
    python benchmarks/bench_latency.py --smoke    # fewer alphas and folds, for CI
    python benchmarks/bench_latency.py --out benchmarks/results/cpu-2core-latency.md
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from report import write_report

JOBS = ("import", "LassoCV", "GridSearchCV")

_CHILD = r"""
import json, sys, time
lib, job, cache, n_alphas, folds = {lib!r}, {job!r}, {cache!r}, {n_alphas}, {folds}
if job == "import":
    start = time.perf_counter()
    import jax
    mid = time.perf_counter()
    import jaxreg
    end = time.perf_counter()
    print(json.dumps(dict(first=end - mid, jax=mid - start)))
    sys.exit(0)
import warnings
warnings.simplefilter("ignore")
import numpy as np
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from jaxreg.datasets import load_diabetes
if lib == "jaxreg":
    import jax
    from jax import monitoring
    import jaxreg
    from jaxreg.estimators import Lasso, LassoCV
    compiles = [0]
    monitoring.register_event_duration_secs_listener(
        lambda name, secs, **kw: compiles.__setitem__(0, compiles[0] + 1)
        if name == "/jax/core/compile/backend_compile_duration" else None)
    if cache:
        jaxreg.enable_compilation_cache(cache)
    else:
        jax.config.update("jax_enable_compilation_cache", False)
else:
    from sklearn.linear_model import Lasso, LassoCV
    compiles = [0]
X, y, _ = load_diabetes()

def timed(call):
    start = time.perf_counter()
    call()
    return time.perf_counter() - start

if job == "LassoCV":
    first = timed(lambda: LassoCV(cv=folds).fit(X, y))
    before = compiles[0]
    second = timed(lambda: LassoCV(cv=folds).fit(X[:400], y[:400]))
    recompiles = compiles[0] - before
else:
    grid = dict(lasso__alpha=np.logspace(-2, 1, n_alphas))
    pipe = make_pipeline(StandardScaler(), Lasso())
    search = lambda: GridSearchCV(pipe, grid, cv=folds).fit(X, y)
    first = timed(search)
    before = compiles[0]
    second = timed(search)
    recompiles = compiles[0] - before
print(json.dumps(dict(first=first, second=second, recompiles=recompiles)))
"""


def _run_once(lib: str, job: str, cache: str | None, n_alphas: int, folds: int) -> dict:
    code = _CHILD.format(lib=lib, job=job, cache=cache, n_alphas=n_alphas, folds=folds)
    env = {k: v for k, v in os.environ.items() if k != "JAX_COMPILATION_CACHE_DIR"}
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=1800
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{lib} {job} failed:\n{proc.stdout}\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run(lib, job, cache, n_alphas, folds, repeat: int = 1) -> dict:
    """Each number the median over ``repeat`` fresh processes (compilation
    counts: the largest)."""
    runs = [_run_once(lib, job, cache, n_alphas, folds) for _ in range(repeat)]
    return {
        key: max(r[key] for r in runs)
        if key == "recompiles"
        else statistics.median(r[key] for r in runs)
        for key in runs[0]
    }


def _jax_version() -> str:
    from importlib.metadata import version

    return version("jax")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="2 alphas, 2 folds, no cache runs")
    parser.add_argument("--out", type=Path, help="also write the table as markdown")
    parser.add_argument(
        "--repeat", type=int, default=None, help="fresh processes per number (default 5; smoke 1)"
    )
    args = parser.parse_args(argv)
    n_alphas, folds = (2, 2) if args.smoke else (10, 5)
    repeat = args.repeat or (1 if args.smoke else 5)

    lines = [
        "| call | scikit-learn (s) | jaxreg cold (s) | jaxreg, cache warm (s) "
        "| compilations in the second call |",
        "|---|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory() as cache:
        for job in JOBS:
            if job == "import":
                r = run("jaxreg", job, None, n_alphas, folds, repeat)
                lines.append(
                    f"| import jaxreg (after jax, {r['jax']:.2f} s) | | {r['first']:.2f} | | |"
                )
                print(lines[-1], flush=True)
                continue
            peer = run("sklearn", job, None, n_alphas, folds, repeat)
            cold = run("jaxreg", job, None, n_alphas, folds, repeat)
            warm = None
            if not args.smoke:
                run("jaxreg", job, cache, n_alphas, folds)  # fills the cache
                warm = run("jaxreg", job, cache, n_alphas, folds, repeat)
            second = "on the first 400 rows" if job == "LassoCV" else "repeated in the process"
            for key, label in (("first", ""), ("second", f", {second}")):
                w = f"{warm[key]:.2f}" if warm else "-"
                comp = f"{cold['recompiles']}" if key == "second" else ""
                lines.append(f"| {job}{label} | {peer[key]:.2f} | {cold[key]:.2f} | {w} | {comp} |")
                print(lines[-1], flush=True)
    command = " ".join(["python benchmarks/bench_latency.py", *(argv or sys.argv[1:])])
    meta = [
        f"- command: `{command}`",
        f"- machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, jax {_jax_version()}",
        f"- diabetes 442 x 10; {folds} folds; GridSearchCV over {n_alphas} alphas; each row's "
        f"first call in a fresh process, each number the median of {repeat} such processes; "
        "cache warm: `jaxreg.enable_compilation_cache(folder)` after a process that filled "
        "the folder",
    ]
    write_report("Small-data latency", meta, lines, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
