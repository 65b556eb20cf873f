"""Everything that matters on an accelerator, measured in one command.

Jobs (full sizes; ``--smoke`` shrinks every one to run in seconds on a CPU):

* ``batch-small`` / ``batch-large``: many independent lasso problems in one
  call (``jax.vmap`` over 10 000 problems of 200 x 50, and over 1 000 of
  2 000 x 200; data drawn on the device, each problem at 0.1 of its own
  ``alpha_max``); fits per second against a scikit-learn ``Lasso`` loop on
  the host CPU over a subset of the same problems, timed in the same run.
* ``cv-tall`` / ``cv-wide``: ``cross_validate`` on 5 folds x 6 l1_ratios x 100
  alphas (the AR(1) designs of ``bench_peers.py``: 5 000 x 500 and
  500 x 5 000), in float32 and float64, against scikit-learn's
  ``ElasticNetCV`` on the host (same folds, grid rule and tolerance, all host
  cores). The float32 tall grid is also run with the other strategy and
  without the Gram matrix, to check that the accelerator's defaults are the
  fast choices.
* ``path-big`` / ``ridge-cv-big``: a 100-alpha lasso path and a 5-fold ridge
  CV on 1 000 000 x 100 data drawn on the device.
* ``text-path``: the text-like sparse L1-logistic path of ``bench_peers.py``
  (10 000 x 15 000, 0.2% nonzeros, 30 alphas down to 0.02 ``alpha_max``), its
  sparse products on the device.
* ``peak`` (last): the device's attainable rates, measured here: a square
  matrix product (FLOP/s, in each dtype, at JAX's default precision, the one
  the solvers' own products get: on recent NVIDIA GPUs float32 products may
  run as TF32) and a streaming ``2 x + 1`` over a large vector (bytes/s).
  Every job's achieved rates are quoted against these.

For every job: the first call (tracing, compilation, one solve) and the
median warm call, both synchronized; achieved FLOP/s and bytes/s from a
work model (below) against the measured peaks; peak device memory (the
allocator's high-water mark of the process, where the backend reports one:
it is the job's own peak where it rose above the earlier jobs');
and the certificates (every fit's status, and the largest ``gap / gap_tol``).

Work model (useful work, not hardware counters): each fit counts its solver
iterations times one iteration's products, ``4 n p`` FLOPs and ``n p``
elements read in design mode, ``2 p^2`` FLOPs and ``p^2`` elements in Gram
mode (``n > p`` on a dense design, the default), plus ``2 n p^2`` FLOPs to
form a Gram matrix; a sparse design counts ``4 nnz`` FLOPs and ``nnz`` values
and indices per iteration. Batched solves also compute on lanes that have
converged, and cross-validation counts the full-data path's iterations for
each fold, so the rates are lower bounds on what the hardware did.

Times on different machines are never compared: every ratio is between
jaxreg on the device and a peer on this run's host CPU.

Usage::

    python benchmarks/bench_gpu.py          # full sizes; writes results/<device>-gpu.md
    python benchmarks/bench_gpu.py --smoke      # seconds, on any backend (the tests run it on CPU)
    python benchmarks/bench_gpu.py --jobs cv-tall,text-path --out report.md

Exit status 1 when a jaxreg fit is not certified (a status other than
CONVERGED) or a job fails; never because of speed.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import platform
import re
import statistics
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import peer_problems as pp  # noqa: E402

import jaxreg  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
# "peak" runs last: its large arrays would set every later job's memory high-water mark.
JOBS = (
    "batch-small",
    "batch-large",
    "cv-tall",
    "cv-wide",
    "path-big",
    "ridge-cv-big",
    "text-path",
    "peak",
)
L1_RATIOS = (0.1, 0.5, 0.7, 0.9, 0.95, 1.0)  # ElasticNetCV's suggested spread
TOL = 1e-6


@dataclasses.dataclass(frozen=True)
class Sizes:
    peak_matmul: int
    peak_stream: int
    batch_small: tuple[int, int, int]  # problems, n, p
    batch_large: tuple[int, int, int]
    host_loop: int  # problems of each batch fitted by scikit-learn's loop
    tall: tuple[int, int, int]  # n, p, k
    wide: tuple[int, int, int]
    n_alphas: int
    big: tuple[int, int]
    text: tuple[int, int, float, int]
    text_alphas: int
    repeat: int


FULL = Sizes(
    8192,
    2**28,
    (10_000, 200, 50),
    (1_000, 2_000, 200),
    200,
    (5000, 500, 50),
    (500, 5000, 50),
    100,
    (1_000_000, 100),
    (10_000, 15_000, 0.002, 50),
    30,
    3,
)
SMOKE = Sizes(
    256,
    2**20,
    (64, 40, 10),
    (8, 200, 20),
    8,
    (200, 30, 5),
    (40, 120, 5),
    8,
    (5_000, 10),
    (300, 400, 0.02, 5),
    5,
    1,
)


# ----------------------------------------------------------------------------
# Measuring
# ----------------------------------------------------------------------------


@dataclasses.dataclass
class Row:
    job: str
    dtype: str
    what: str
    first: float = float("nan")
    warm: float = float("nan")
    flops: float = float("nan")  # work-model FLOPs of one call
    bytes: float = float("nan")  # work-model bytes of one call
    memory: str = "n/a"
    certified: str = ""
    peer: str = ""
    peer_time: float = float("nan")
    note: str = ""
    ok: bool = True


def timed(fn: Callable, *args, repeat: int, **kwargs) -> tuple[float, float, object]:
    """First-call time, median warm time and the last result of
    ``fn(*args, **kwargs)``, synchronized."""
    start = time.perf_counter()
    out = jax.block_until_ready(fn(*args, **kwargs))
    first = time.perf_counter() - start
    warm = []
    for _ in range(repeat):
        start = time.perf_counter()
        out = jax.block_until_ready(fn(*args, **kwargs))
        warm.append(time.perf_counter() - start)
    return first, statistics.median(warm), out


def device_memory() -> str:
    stats = jax.devices()[0].memory_stats() or {}
    peak = stats.get("peak_bytes_in_use")
    return "n/a" if peak is None else f"{peak / 2**30:.2f} GiB"


def certify(status, gap=None, gap_tol=None, dtype="float64") -> tuple[str, bool]:
    """The fits' statuses counted, and the largest ``gap / gap_tol``.

    Certified means CONVERGED; in float32, STALLED (the gap stopped falling at
    the dtype's resolution, an honest status) is reported but not a failure.
    """
    status = np.asarray(status).ravel()
    names = [jaxreg.Status(int(s)).name.lower() for s in status]
    counts = {name: names.count(name) for name in sorted(set(names))}
    allowed = {"converged"} | ({"stalled"} if dtype == "float32" else set())
    text = ", ".join(f"{c} {name}" for name, c in counts.items())
    if gap is not None:
        ratio = np.asarray(gap, np.float64) / np.asarray(gap_tol, np.float64)
        text += f"; gap/tol <= {float(np.nanmax(ratio)):.2f}"
    return text, set(counts) <= allowed


def certify_fits(fits, dtype) -> tuple[str, bool]:
    return certify(fits.status, fits.gap, fits.gap_tol, dtype)


def iteration_work(n: int, p: int, gram: bool, itemsize: int) -> tuple[float, float]:
    """FLOPs and bytes of one solver iteration (the work model)."""
    if gram:
        return 2.0 * p * p, float(p * p * itemsize)
    return 4.0 * n * p, float(n * p * itemsize)


# ----------------------------------------------------------------------------
# Jobs
# ----------------------------------------------------------------------------


def job_peak(sizes: Sizes, dtypes, peaks: dict) -> list[Row]:
    rows = []
    for dtype in dtypes:
        m = sizes.peak_matmul
        key = jax.random.key(0)
        A = jax.random.normal(key, (m, m), dtype)
        matmul = jax.jit(lambda a: a @ a)
        first, warm, _ = timed(matmul, A, repeat=max(3, sizes.repeat))
        peaks[("flops", dtype)] = 2.0 * m**3 / warm
        rows.append(
            Row(
                "peak",
                dtype,
                f"{m} x {m} matrix product",
                first,
                warm,
                2.0 * m**3,
                3.0 * m * m * np.dtype(dtype).itemsize,
                device_memory(),
            )
        )
        del A
        v = jax.random.normal(key, (sizes.peak_stream,), dtype)
        stream = jax.jit(lambda x: 2 * x + 1)
        first, warm, _ = timed(stream, v, repeat=max(3, sizes.repeat))
        nbytes = 2.0 * v.size * np.dtype(dtype).itemsize
        peaks[("bytes", dtype)] = max(peaks.get(("bytes", dtype), 0.0), nbytes / warm)
        rows.append(
            Row(
                "peak",
                dtype,
                f"2 x + 1 over {v.size:.3g} elements",
                first,
                warm,
                2.0 * v.size,
                nbytes,
                device_memory(),
            )
        )
        del v
    return rows


def _batch_data(B: int, n: int, p: int, dtype, seed: int):
    """``B`` problems drawn on the device: Gaussian designs, 5-sparse truths, SNR about 3."""
    kx, kw, ke = jax.random.split(jax.random.key(seed), 3)
    X = jax.random.normal(kx, (B, n, p), dtype)
    w = jnp.where(jnp.arange(p) < 5, jax.random.normal(kw, (B, p), dtype), 0)
    signal = jnp.einsum("bnp,bp->bn", X, w)
    y = signal + jnp.std(signal, axis=1, keepdims=True) / 3 * jax.random.normal(ke, (B, n), dtype)
    alphas = (
        0.1 * jnp.max(jnp.abs(jnp.einsum("bnp,bn->bp", X, y - y.mean(1, keepdims=True))), 1) / n
    )
    return X, y, alphas


def job_batch(name: str, shape, sizes: Sizes, dtypes) -> list[Row]:
    from sklearn.linear_model import Lasso

    B, n, p = shape
    rows = []
    fit = jax.jit(jax.vmap(lambda X, y, a: jaxreg.lasso(X, y, a, tol=TOL)))
    for dtype in dtypes:
        X, y, alphas = jax.block_until_ready(_batch_data(B, n, p, dtype, seed=1))
        first, warm, fits = timed(fit, X, y, alphas, repeat=sizes.repeat)
        text, ok = certify_fits(fits, dtype)
        per_flops, per_bytes = iteration_work(n, p, n > p, np.dtype(dtype).itemsize)
        iters = float(np.asarray(fits.n_iter).sum())
        row = Row(
            name,
            dtype,
            f"vmap over {B} lasso fits of {n} x {p}",
            first,
            warm,
            iters * per_flops + B * 2.0 * n * p * p * (n > p),
            iters * per_bytes + B * n * p * np.dtype(dtype).itemsize,
            device_memory(),
            text,
            ok=ok,
        )
        # The host loop on the first problems, copied to the host outside the clock.
        m = min(sizes.host_loop, B)
        Xh, yh, ah = (np.asarray(a[:m], np.float64) for a in (X, y, alphas))
        start = time.perf_counter()
        for i in range(m):
            Lasso(alpha=float(ah[i]), tol=TOL).fit(Xh[i], yh[i])
        host = (time.perf_counter() - start) / m * B
        row.peer, row.peer_time = f"scikit-learn Lasso loop (host, {m} fits, scaled to {B})", host
        row.note = f"{B / warm:,.0f} fits/s against {B / host:,.0f} on the host"
        rows.append(row)
        del X, y, alphas, fits
    return rows


def _cv_problem(shape, seed: int):
    n, p, k = shape
    problem = pp.dense_problem("cv", n, p, k, seed)
    # Offset targets and intercepts, as users have them.
    return problem.X, problem.y + 3.0


def _host_enet_cv(X, y, foldid, n_alphas: int) -> float:
    """Seconds for scikit-learn's ElasticNetCV on the host, same folds and grid rule."""
    from sklearn.linear_model import ElasticNetCV
    from sklearn.model_selection import PredefinedSplit

    est = ElasticNetCV(
        l1_ratio=list(L1_RATIOS), alphas=n_alphas, eps=1e-3, tol=TOL, max_iter=100_000,
        cv=PredefinedSplit(foldid), n_jobs=-1,
    )  # fmt: skip
    start = time.perf_counter()
    est.fit(X, y)
    return time.perf_counter() - start


@contextlib.contextmanager
def _float64_products():
    """Gram products in float64 throughout (the default multiplies by a
    float32 copy of a float64 Gram matrix of 128 columns or more)."""
    saved = jaxreg.datafits._MIXED_MIN_COLUMNS
    jaxreg.datafits._MIXED_MIN_COLUMNS = 2**62
    jax.clear_caches()  # the compiled programs hold the choice
    try:
        yield
    finally:
        jaxreg.datafits._MIXED_MIN_COLUMNS = saved
        jax.clear_caches()


def _cv_variants(dtype: str, ab: bool) -> list[tuple[str, dict, Callable]]:
    """(label, options, context) of the runs: the defaults, and where ``ab``
    the alternatives to the accelerator's choices."""
    runs = [("defaults", {}, contextlib.nullcontext)]
    if ab and dtype == "float32":
        runs += [
            ("strategy='warm'", dict(strategy="warm"), contextlib.nullcontext),
            ("gram=False", dict(gram=False), contextlib.nullcontext),
        ]
    if ab and dtype == "float64":
        runs += [("float64 Gram products", {}, _float64_products)]
    return runs


def job_cv(name: str, shape, sizes: Sizes, dtypes, ab: bool) -> list[Row]:
    X_host, y_host = _cv_problem(shape, seed=0)
    n, p = X_host.shape
    foldid = np.arange(n) % 5
    np.random.default_rng(0).shuffle(foldid)
    kw = dict(l1_ratio=list(L1_RATIOS), n_alphas=sizes.n_alphas, eps=1e-3, foldid=foldid, tol=TOL)
    host = _host_enet_cv(X_host, y_host, foldid, sizes.n_alphas)
    rows = []
    for dtype in dtypes:
        X, y = jnp.asarray(X_host, dtype), jnp.asarray(y_host, dtype)
        for label, extra, context in _cv_variants(dtype, ab):
            with context():
                first, warm, res = timed(
                    jaxreg.cross_validate, X, y, "elastic_net", **kw, **extra, repeat=sizes.repeat
                )
            path_text, path_ok = certify_fits(res.path, dtype)
            fold_text, fold_ok = certify(res.fold_status, dtype=dtype)
            gram = extra.get("gram", "auto") != False and n > p  # noqa: E712
            per_flops, per_bytes = iteration_work(n, p, gram, np.dtype(dtype).itemsize)
            iters = 6.0 * float(np.asarray(res.path.n_iter).sum())  # 5 folds + the full data
            what = f"5 folds x 6 l1_ratios x {sizes.n_alphas} alphas, {n} x {p}, {label}"
            row = Row(name, dtype, what, first, warm, ok=path_ok and fold_ok)
            row.flops = iters * per_flops + (2.0 * n * p * p if gram else 0.0)
            row.bytes = iters * per_bytes + n * p * X.dtype.itemsize
            row.memory = device_memory()
            row.certified = f"full data: {path_text}; folds: {fold_text}"
            row.peer, row.peer_time = "scikit-learn ElasticNetCV (host, all cores)", host
            rows.append(row)
    return rows


def _big_data(n: int, p: int, dtype):
    kx, ke = jax.random.split(jax.random.key(2))
    X = jax.random.normal(kx, (n, p), dtype)
    w = jnp.where(jnp.arange(p) < 10, 1.0, 0.0).astype(dtype)
    y = X @ w + jax.random.normal(ke, (n,), dtype)
    return jax.block_until_ready((X, y))


def job_big(name: str, sizes: Sizes, dtypes) -> list[Row]:
    n, p = sizes.big
    rows = []
    for dtype in dtypes:
        X, y = _big_data(n, p, dtype)
        itemsize = np.dtype(dtype).itemsize
        if name == "path-big":
            first, warm, path = timed(
                jaxreg.lasso_path, X, y, n_alphas=sizes.n_alphas, tol=TOL, repeat=sizes.repeat
            )
            text, ok = certify_fits(path, dtype)
            per_flops, per_bytes = iteration_work(n, p, True, itemsize)
            iters = float(np.asarray(path.n_iter).sum())
            what = f"lasso path, {sizes.n_alphas} alphas, {n:,} x {p}"
            flops = iters * per_flops + 2.0 * n * p * p
            nbytes = iters * per_bytes + n * p * itemsize
        else:
            grid = jnp.geomspace(1e3, 1e-3, sizes.n_alphas)
            first, warm, res = timed(
                jaxreg.cross_validate, X, y, "ridge", alphas=grid, cv=5, repeat=sizes.repeat
            )
            path_text, path_ok = certify_fits(res.path, dtype)
            fold_text, fold_ok = certify(res.fold_status, dtype=dtype)
            text = f"closed forms; full data: {path_text}; folds: {fold_text}"
            ok = path_ok and fold_ok
            what = f"ridge 5-fold CV, {sizes.n_alphas} alphas, {n:,} x {p}"
            flops = 2.0 * n * p * p + 5 * (10.0 * p**3 + 4.0 * sizes.n_alphas * p * p)
            nbytes = float(n * p * itemsize)
        rows.append(
            Row(name, dtype, what, first, warm, flops, nbytes, device_memory(), text, ok=ok)
        )
        del X, y
    return rows


def job_text(sizes: Sizes, dtypes) -> list[Row]:
    from jax.experimental import sparse as jsparse

    n, p, density, k = sizes.text
    problem = pp.logistic_counterpart(pp.sparse_problem(n, p, density, k, seed=0), seed=0)
    grid = pp.geometric_grid(pp.logistic_alpha_max(problem.X, problem.y), sizes.text_alphas, 2e-2)
    rows = []
    for dtype in dtypes:
        X = jsparse.BCOO.from_scipy_sparse(problem.X.astype(dtype))
        X = jax.device_put(X)
        y = jnp.asarray(problem.y, dtype)
        first, warm, path = timed(
            jaxreg.logistic_path, X, y, alphas=grid, tol=TOL, repeat=sizes.repeat
        )
        text, ok = certify_fits(path, dtype)
        nnz = problem.X.nnz
        iters = float(np.asarray(path.n_iter).sum())
        itemsize = np.dtype(dtype).itemsize
        rows.append(
            Row(
                "text-path",
                dtype,
                f"sparse L1-logistic path, {len(grid)} alphas, {n} x {p}, {nnz:,} nonzeros",
                first,
                warm,
                iters * 4.0 * nnz,
                iters * nnz * (itemsize + 8),
                device_memory(),
                text,
                ok=ok,
            )
        )
    return rows


# ----------------------------------------------------------------------------
# Report
# ----------------------------------------------------------------------------


def _rate(value: float, peak: float | None, unit: str) -> str:
    if not np.isfinite(value) or value <= 0:
        return "n/a"
    text = f"{value / 1e9:,.1f} G{unit}/s"
    return text + (f" ({value / peak:.0%})" if peak else "")


_COLUMNS = (
    "job", "dtype", "what", "first call (s)", "warm (s)", "FLOP/s", "bytes/s",
    "peak memory", "certificate", "host peer (s)", "peer / jaxreg",
)  # fmt: skip


def _header(peaks: dict, args, elapsed: float) -> list[str]:
    dev = jax.devices()[0]
    host = platform.processor() or platform.machine()
    measured = ", ".join(
        f"{dtype} {v / 1e9:,.0f} G{'FLOP' if kind == 'flops' else 'B'}/s"
        for (kind, dtype), v in sorted(peaks.items())
    )
    return [
        f"# jaxreg on {dev.device_kind} ({jax.default_backend()})",
        "",
        f"- command: `python benchmarks/bench_gpu.py {' '.join(args.argv)}`",
        f"- devices: {jax.device_count()} x {dev.device_kind}; "
        f"host: {host}, {os.cpu_count()} logical CPUs",
        f"- jax {jax.__version__}, jaxreg {jaxreg.__version__}, "
        f"Python {platform.python_version()}; tol {TOL:g}; {elapsed:.0f} s in all",
        f"- peaks measured in this run (job `peak`): {measured or 'not run'}",
        "- rates: the work model of the script's docstring (useful work, a lower bound), "
        "in % of those peaks",
        "",
        "| " + " | ".join(_COLUMNS) + " |",
        "|---|---|---|---:|---:|---|---|---|---|---:|---:|",
    ]


def _line(r: Row, peaks: dict) -> str:
    flops = _rate(r.flops / r.warm, peaks.get(("flops", r.dtype)), "FLOP")
    nbytes = _rate(r.bytes / r.warm, peaks.get(("bytes", r.dtype)), "B")
    has_peer = np.isfinite(r.peer_time)
    cells = [
        r.job, r.dtype, r.what, f"{r.first:.3g}", f"{r.warm:.3g}", flops, nbytes, r.memory,
        r.certified, f"{r.peer_time:.3g}" if has_peer else "",
        f"{r.peer_time / r.warm:.1f}" if has_peer else "",
    ]  # fmt: skip
    return "| " + " | ".join(cells) + " |"


def report(rows: list[Row], peaks: dict, args, failures: list[str], elapsed: float) -> str:
    lines = _header(peaks, args, elapsed) + [_line(r, peaks) for r in rows]
    peers = {f"- {r.job}: {r.peer}" for r in rows if r.peer}
    notes = sorted(peers) + [f"- {r.job} ({r.dtype}): {r.note}" for r in rows if r.note]
    if notes:
        lines += ["", "Host peers:", "", *notes]
    if failures:
        lines += ["", "Failures:", "", *[f"- {f}" for f in failures]]
    return "\n".join(lines) + "\n"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def parse(argv) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, one warm call")
    parser.add_argument(
        "--jobs", default=",".join(JOBS), help=f"comma-separated subset of {','.join(JOBS)}"
    )
    parser.add_argument(
        "--dtypes", default="float32,float64", help="dtypes of the jobs that take both"
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="report path (default: results/<device>-gpu.md)"
    )
    args = parser.parse_args(argv)
    args.argv = list(argv)
    args.jobs = args.jobs.split(",")
    unknown = sorted(set(args.jobs) - set(JOBS))
    if unknown:
        parser.error(f"unknown jobs {unknown}; choose from {', '.join(JOBS)}")
    args.dtypes = args.dtypes.split(",")
    if not set(args.dtypes) <= {"float32", "float64"}:
        parser.error(f"--dtypes must be float32 and/or float64, got {args.dtypes}")
    return args


def main(argv=None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    sizes = SMOKE if args.smoke else FULL
    # The smoke run compiles each job once (the tall grid, whose variants
    # differ by dtype, in both): it checks that the script runs, not speed.
    one = args.dtypes[-1:] if args.smoke else args.dtypes
    started = time.perf_counter()
    peaks: dict = {}
    rows: list[Row] = []
    failures: list[str] = []
    runs = {
        "peak": lambda: job_peak(sizes, args.dtypes, peaks),
        "batch-small": lambda: job_batch("batch-small", sizes.batch_small, sizes, one),
        "batch-large": lambda: job_batch("batch-large", sizes.batch_large, sizes, one),
        "cv-tall": lambda: job_cv("cv-tall", sizes.tall, sizes, args.dtypes, ab=True),
        "cv-wide": lambda: job_cv("cv-wide", sizes.wide, sizes, one, ab=False),
        "path-big": lambda: job_big("path-big", sizes, one),
        "ridge-cv-big": lambda: job_big("ridge-cv-big", sizes, one),
        "text-path": lambda: job_text(sizes, ["float64"]),
    }
    for job in JOBS:
        if job not in args.jobs:
            continue
        print(f"{job} ...", flush=True)
        try:
            rows += runs[job]()
        except Exception:  # one broken job must not lose the others' measurements
            failures.append(f"{job}: " + traceback.format_exc().strip().splitlines()[-1])
            traceback.print_exc()
    failures += [
        f"{r.job} ({r.dtype}, {r.what}): not certified: {r.certified}" for r in rows if not r.ok
    ]
    text = report(rows, peaks, args, failures, time.perf_counter() - started)
    print(text)
    out = args.out or RESULTS / f"{_slug(jax.devices()[0].device_kind)}-gpu.md"
    out.write_text(text, encoding="utf-8")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
