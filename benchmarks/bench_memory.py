"""Peak resident memory of a lasso path and of a 5-fold CV, against the size of X.

Two problems, float64, dense: ``tall`` 200 000 x 200 and ``wide`` 2 000 x 20 000
(320 MB each), X standard normal, ``y = X @ w + noise`` with a 10-sparse
truth, passed as NumPy arrays as a user would (so the call's conversion of
X into an XLA buffer is part of what is measured). Two calls on each, with
the library's defaults otherwise (100 alphas, an intercept, tol 1e-4,
``strategy="auto"``):

* ``lasso path``: ``jaxreg.lasso_path(X, y, n_alphas=...)``;
* ``5-fold cv``: ``jaxreg.cross_validate(X, y, cv=5, n_alphas=...)``.

Each case runs in a fresh process, so that peaks do not mix. The child first
compiles and runs the same call on a problem a hundred times smaller (n and p
each divided by 10: same aspect, so usually the same strategy), so that the
JAX runtime is loaded; then it returns freed heap to the system
(``malloc_trim``), reads its resident set (``VmRSS``), resets the kernel's
high-water mark (``/proc/self/clear_refs``) and makes the call. The rise is
``VmHWM`` after the call minus ``VmRSS`` before it: every copy of X the call
makes and the compilation of the full-size program are in it. Where the
high-water mark cannot be reset, ``VmRSS`` is sampled every 5 ms instead
(which can miss short spikes).

The target (from the issue) is a rise of at most 2x the size of X for every
case. It is reported, not asserted: the exit status is 0 when every case was
measured, 1 when a child failed, 2 on bad arguments.

Usage::

    python benchmarks/bench_memory.py            # full sizes (a few minutes)
    python benchmarks/bench_memory.py --smoke    # tiny, tall problem only, for CI
    python benchmarks/bench_memory.py --out benchmarks/results/cpu-2core-memory.md
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import os
import platform
import re
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from report import write_report

HERE = Path(__file__).resolve().parent
FULL = {"tall": (200_000, 200), "wide": (2_000, 20_000)}
SMOKE = {"tall": (4_000, 40), "wide": (100, 1_000)}
CALLS = {"path": "lasso path", "cv": "5-fold cv"}
TARGET = 2.0  # the bound on the rise, in multiples of X.nbytes


def _status_kb(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as fh:
        return int(re.search(rf"^{field}:\s+(\d+) kB", fh.read(), re.MULTILINE).group(1))


class PeakRSS:
    """Peak resident set (bytes) over a ``with`` block: VmHWM if it can be reset, else sampled."""

    def __enter__(self) -> PeakRSS:
        try:
            with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
                fh.write("5")  # resets VmHWM to the current VmRSS (Linux >= 4.0)
            self.method, self._thread = "VmHWM reset", None
        except OSError:
            self.method, self._stop, self._seen = "VmRSS sampled every 5 ms", False, 0
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop:
            self._seen = max(self._seen, _status_kb("VmRSS"))
            time.sleep(0.005)

    def __exit__(self, *exc: object) -> None:
        if self._thread is None:
            self.peak = _status_kb("VmHWM") * 1024
        else:
            self._stop = True
            self._thread.join()
            self.peak = max(self._seen, _status_kb("VmRSS")) * 1024


def _trim() -> None:
    """Collect garbage and hand freed heap back to the system (glibc keeps it
    resident otherwise, where it could absorb part of a rise or inflate a level)."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def make_problem(n: int, p: int, seed: int):
    """Dense float64 X (standard normal), y = X @ w + noise with a 10-sparse w."""
    import numpy as np

    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    w = np.zeros(p)
    w[rng.choice(p, size=min(10, p), replace=False)] = rng.choice([-1.0, 1.0], min(10, p))
    return X, X @ w + rng.standard_normal(n)


def child(call: str, n: int, p: int, n_alphas: int, seed: int) -> None:
    """One case, in this (fresh) process; prints its numbers as JSON on the last line."""
    import jax

    jax.config.update("jax_enable_x64", True)
    import jaxreg

    def run(X, y):
        if call == "path":
            return jaxreg.lasso_path(X, y, n_alphas=n_alphas)
        return jaxreg.cross_validate(X, y, cv=5, n_alphas=n_alphas)

    # Load and exercise the runtime first, so that its one-time cost (XLA's
    # libraries, thread pools) is not charged to the measured call.
    jax.block_until_ready(run(*make_problem(max(n // 10, 10), max(p // 10, 10), seed + 1)))
    X, y = make_problem(n, p, seed)
    _trim()
    before = _status_kb("VmRSS") * 1024
    start = time.perf_counter()
    with PeakRSS() as peak:
        result = jax.block_until_ready(run(X, y))
    seconds = time.perf_counter() - start
    _trim()
    after = _status_kb("VmRSS") * 1024  # `result` still alive: what the call keeps
    del result
    numbers = dict(x_bytes=X.nbytes, before=before, peak=peak.peak, after=after)
    print(json.dumps({**numbers, "seconds": seconds, "method": peak.method}))


def run_case(call: str, n: int, p: int, n_alphas: int, seed: int) -> dict:
    code = (
        f"import sys; sys.path.insert(0, {str(HERE)!r}); import bench_memory; "
        f"bench_memory.child({call!r}, {n}, {p}, {n_alphas}, {seed})"
    )
    # No persistent compilation cache: compiling the full-size call is part of the cost.
    env = {k: v for k, v in os.environ.items() if k != "JAX_COMPILATION_CACHE_DIR"}
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=3600
    )
    if proc.returncode != 0:
        raise RuntimeError(f"exit status {proc.returncode}: {proc.stderr.strip()[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _git_state() -> str:
    """The commit measured, ``-dirty`` when the working tree has changes."""
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty"], cwd=HERE, capture_output=True, text=True
        )
    except OSError:
        return "unknown"
    return out.stdout.strip() or "unknown"


def _jax_version() -> str:
    from importlib.metadata import version

    return version("jax")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, 5 alphas, tall only (CI)")
    parser.add_argument("--n-alphas", type=int, help="grid size (default 100; smoke 5)")
    parser.add_argument(
        "--problems", help="comma-separated: tall, wide (default both; smoke: tall only)"
    )
    parser.add_argument("--calls", default="path,cv", help="comma-separated: path, cv")
    parser.add_argument("--seed", type=int, default=0, help="data seed (default 0)")
    parser.add_argument("--out", type=Path, help="also write the report as markdown")
    args = parser.parse_args(argv)
    sizes = SMOKE if args.smoke else FULL
    n_alphas = args.n_alphas if args.n_alphas is not None else (5 if args.smoke else 100)
    # The smoke run checks the script, whose code is the same for both problems:
    # one problem halves its time, which compilation dominates.
    problems = args.problems or ("tall" if args.smoke else "tall,wide")
    problems = [s.strip() for s in problems.split(",") if s.strip()]
    calls = [s.strip() for s in args.calls.split(",") if s.strip()]
    if n_alphas < 1:
        parser.error("--n-alphas must be positive")
    for name in problems:
        if name not in sizes:
            parser.error(f"--problems: unknown problem {name!r} (choose from tall, wide)")
    for call in calls:
        if call not in CALLS:
            parser.error(f"--calls: unknown call {call!r} (choose from path, cv)")

    mb = 1e6
    lines = [
        "| case | problem | n | p | X size (MB) | RSS before (MB) | peak rise (MB) "
        "| rise / size(X) | within 2x | held after (MB) | call (s) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    failures, methods = [], set()
    for name in problems:
        n, p = sizes[name]
        for call in calls:
            try:
                r = run_case(call, n, p, n_alphas, args.seed)
            except (RuntimeError, subprocess.TimeoutExpired) as err:
                failures.append(f"{CALLS[call]} {name}: {err}")
                lines.append(
                    f"| {CALLS[call]} | {name} | {n} | {p} | {8 * n * p / mb:.0f} "
                    "| failed | | | | | |"
                )
                print(lines[-1], flush=True)
                continue
            methods.add(r["method"])
            rise = max(0, r["peak"] - r["before"])
            ratio = rise / r["x_bytes"]
            lines.append(
                f"| {CALLS[call]} | {name} | {n} | {p} | {r['x_bytes'] / mb:.0f} "
                f"| {r['before'] / mb:.0f} | {rise / mb:.0f} | {ratio:.2f}x "
                f"| {'yes' if ratio <= TARGET else 'NO'} | {(r['after'] - r['before']) / mb:.0f} "
                f"| {r['seconds']:.1f} |"
            )
            print(lines[-1], flush=True)
    command = " ".join(["python benchmarks/bench_memory.py", *(argv or sys.argv[1:])])
    meta = [
        f"- command: `{command}`",
        f"- machine: {platform.machine()}, {os.cpu_count()} CPUs, Linux "
        f"{platform.release()}, Python {platform.python_version()}, jax {_jax_version()}, "
        f"backend cpu; XLA_FLAGS {os.environ.get('XLA_FLAGS') or '(unset)'}; "
        f"source {_git_state()}",
        f"- calls: `jaxreg.lasso_path(X, y, n_alphas={n_alphas})` and "
        f"`jaxreg.cross_validate(X, y, cv=5, n_alphas={n_alphas})`, defaults otherwise; "
        "X float64 dense standard normal, y = X @ (10-sparse w) + noise",
        "- each case in a fresh process, after the same call on a problem with n and p "
        "divided by 10 (runtime loaded), freed heap trimmed, no persistent compilation cache",
        "- peak rise: peak resident set during the call minus the resident set just before it "
        f"({', '.join(sorted(methods)) or 'n/a'}), compilation of the full-size call included; "
        f"target: at most {TARGET:g}x the size of X",
        "- held after: resident set after the call (its result alive, freed heap trimmed) "
        "minus before; MB = 10^6 bytes",
    ]
    write_report("Peak memory of a path and a 5-fold CV", meta, lines, args.out)
    for failure in failures:
        print("FAILED:", failure, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
