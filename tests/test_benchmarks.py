"""The benchmarks run in smoke mode with the tests, so they never rot."""

from __future__ import annotations

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_bench_core_smoke(tmp_path):
    out = tmp_path / "bench.md"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_core.py"), "--smoke", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    table = out.read_text()
    assert "| lasso |" in table and "| ridge |" in table


def test_bench_paths_smoke(tmp_path):
    out = tmp_path / "paths.md"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_paths.py"), "--smoke", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    table = out.read_text()
    for job in ("lasso path", "lasso cv", "enet cv", "ridge loo cv"):
        assert f"| {job}" in table
