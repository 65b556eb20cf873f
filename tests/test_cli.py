"""The demo command and the examples run end to end."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest

from jaxreg import cli

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_demo_fits_and_certifies(capsys):
    assert cli.main(["demo", "--n-alphas", "12"]) == 0
    out = capsys.readouterr().out
    assert "442 patients" in out
    assert "certified by its duality gap: yes" in out
    lasso_nonzeros = int(out.split("\nlasso")[1].split()[2])
    assert 0 < lasso_nonzeros <= 10


def test_demo_rejects_bad_grid(capsys):
    with pytest.raises(SystemExit):
        cli.main(["demo", "--n-alphas", "1"])
    assert "--n-alphas must be at least 2" in capsys.readouterr().err


def test_quickstart_example_runs():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "quickstart.py")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert "status=CONVERGED" in proc.stdout


def test_tune_alpha_example_runs(tmp_path):
    out = tmp_path / "tune.png"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "tune_alpha.py"), "--smoke", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert "vs the grid" in proc.stdout
    assert out.stat().st_size > 10_000


def test_lasso_in_model_example_runs():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "lasso_in_model.py"), "--smoke"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    first = float(lines[0].split(":")[1])
    last = float(lines[-1].split(":")[1])
    assert last < first  # training the features through the Lasso helps
