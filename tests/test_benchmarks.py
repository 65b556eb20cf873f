"""The benchmarks run in smoke mode with the tests, so they never rot."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    "script,jobs",
    [
        ("bench_core.py", ("lasso", "ridge", "lasso (intercept, weights, standardize)")),
        (
            "bench_paths.py",
            (
                "lasso path",
                "lasso path (intercept, weights, standardize)",
                "lasso cv",
                "enet cv",
                "ridge loo cv",
            ),
        ),
        ("bench_tune.py", ("lasso tall", "lasso wide", "elastic_net tall", "logistic tall")),
        ("bench_compile.py", ("lasso path", "lasso path (defaults)", "lasso cv")),
        ("bench_memory.py", ("lasso path", "5-fold cv")),
        ("bench_latency.py", ("import jaxreg", "LassoCV", "GridSearchCV")),
        ("bench_default_tol.py", ("Lasso tall", "LassoCV diabetes", "LogisticRegressionCV")),
        (
            "bench_gpu.py",
            (
                "peak",
                "batch-small",
                "batch-large",
                "cv-tall",
                "cv-wide",
                "path-big",
                "ridge-cv-big",
                "text-path",
            ),
        ),
        # Peers missing from the test environment are reported as unavailable, not fatal.
        (
            "bench_peers.py",
            (
                "fit",
                "path",
                "cv",
                "enet-cv",
                "ridge-cv",
                "logistic-path",
                "logistic-cv",
                "multinomial-path",
            ),
        ),
    ],
)
def test_benchmark_smoke(tmp_path, script, jobs):
    out = tmp_path / "table.md"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), "--smoke", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    table = out.read_text()
    for job in jobs:
        assert f"| {job}" in table
