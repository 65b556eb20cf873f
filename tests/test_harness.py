"""The test suite itself: its helpers import whatever else is installed, and
its data are the same in every process."""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"


def test_no_test_module_imports_helpers_through_a_tests_package():
    # ``tests`` is a name some distributions install as a top-level package;
    # a regular package of that name anywhere on sys.path shadows this folder.
    pattern = re.compile(r"^\s*(from|import)\s+tests\b", flags=re.M)
    offenders = [p.name for p in TESTS.glob("*.py") if pattern.search(p.read_text("utf-8"))]
    assert not offenders


def test_helpers_import_beside_an_installed_tests_package(tmp_path):
    shadow = tmp_path / "site" / "tests"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("# a data package's own tests\n")
    env = dict(os.environ, PYTHONPATH=str(tmp_path / "site"))
    # The shadowing package is importable as ``tests`` in that environment...
    proc = subprocess.run(
        [sys.executable, "-c", "import tests; print(tests.__file__)"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert proc.stdout.strip() == str(shadow / "__init__.py"), proc.stderr
    # ...and a test module that uses both helpers collects beside it.
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:xdist",
         "-p", "no:cacheprovider", "-o", "addopts=", "tests/test_certificates.py"],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _data_digest(hash_seed: str) -> str:
    code = (
        "import hashlib, sys; sys.path.insert(0, sys.argv[1]); "
        "import numpy as np, test_sklearn as t; "
        "h = hashlib.sha256(); "
        "[h.update(np.ascontiguousarray(a).tobytes()) "
        " for c in t.CASES "
        " for a in t.case_data(c) "
        " if a is not None]; "
        "print(h.hexdigest())"
    )
    env = dict(os.environ, PYTHONHASHSEED=hash_seed)
    proc = subprocess.run(
        [sys.executable, "-c", code, str(TESTS)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_test_data_do_not_depend_on_the_hash_seed():
    assert _data_digest("1") == _data_digest("2")
    seeded = re.compile(r"\bhash\(")
    assert not [p.name for p in TESTS.glob("test_*.py") if seeded.search(p.read_text("utf-8"))]
