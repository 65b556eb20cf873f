"""Cross-validation on JAX's multi-process runtime equals a single-process run.

Two worker processes on localhost join one runtime with
``jax.distributed.initialize`` (CPU collectives over gloo), two CPU devices
each. Each worker holds only its half of the rows of ``X``, ``y`` and the
sample weights, and assembles its share of global arrays from them; the mesh
puts the rows across the two processes and the fold batch across each
process's two devices. Both workers must return the same curves, selections
and coefficients as one process holding all the data, run with the same
options.
"""

from __future__ import annotations

import os
import pathlib
import socket
import subprocess
import sys

import numpy as np
import pytest
from _jaxreg_problems import classification, regression

import jaxreg

ROOT = pathlib.Path(__file__).resolve().parents[1]

# name: (problem, model, options). Small grids: on CPU every solver iteration
# of a rows-sharded program is a collective over TCP (about a millisecond).
CASES = {
    "gram": (
        lambda: regression(200, 16, "corr", seed=0, weights=True),
        "elastic_net",
        dict(l1_ratio=[0.5, 1.0], n_alphas=12),
    ),
    "design": (lambda: regression(40, 90, seed=1), "lasso", dict(n_alphas=8, eps=0.05)),
    "logistic": (
        lambda: classification(120, 8, seed=2, weights=True),
        "logistic",
        dict(n_alphas=8, eps=0.05),
    ),
}
# Fixed on both sides: strategy="auto" picks working sets for a single
# process and batched paths under a mesh, which agree only to the tolerance.
COMMON = dict(tol=1e-12, check_every=5, strategy="warm", cv=4, seed=3)
FIELDS = (
    "fold_scores",
    "mean",
    "alpha_min",
    "alpha_1se",
    "path_coef",
    "path_intercept",
    "best_coef",
)

WORKER = r"""
import sys
pid, port, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
import jax
jax.config.update("jax_enable_x64", True)
jax.config.update("jax_num_cpu_devices", 2)
jax.config.update("jax_cpu_collectives_implementation", "gloo")
jax.distributed.initialize(f"localhost:{port}", num_processes=2, process_id=pid)
import numpy as np
import test_distributed as t

assert jax.process_count() == 2 and len(jax.devices()) == 4
# Rows across the processes, the fold batch across each process's devices.
devices = sorted(jax.devices(), key=lambda d: (d.process_index, d.id))
# Explicit axes, as jax.make_mesh makes them: the arrays carry the layout in their type.
explicit = (jax.sharding.AxisType.Explicit,) * 2
mesh = jax.sharding.Mesh(np.array(devices).reshape(2, 2), ("rows", "batch"), axis_types=explicit)


def my_rows(a):
    # Only this process's half is ever read: the global array is built from it.
    half = slice(pid * a.shape[0] // 2, (pid + 1) * a.shape[0] // 2)
    spec = jax.sharding.PartitionSpec("rows", *([None] * (a.ndim - 1)))
    sharding = jax.sharding.NamedSharding(mesh, spec)
    return jax.make_array_from_process_local_data(sharding, np.asarray(a)[half], a.shape)


results = {}
for name, (problem, model, options) in t.CASES.items():
    X, y, sw = problem()
    sw = None if sw is None else my_rows(sw)
    res = t.run(my_rows(X), my_rows(y), sw, model, options, mesh=mesh)
    assert not res["X_addressable"], "X was not spread over both processes"
    results.update({f"{name}/{k}": v for k, v in res.items()})
np.savez(f"{out}/worker{pid}.npz", **results)
"""


def run(X, y, sw, model, options, mesh=None) -> dict:
    """The cross-validation of one case, as host arrays."""
    res = jaxreg.cross_validate(X, y, model, sample_weight=sw, mesh=mesh, **options, **COMMON)
    values = dict(
        fold_scores=res.fold_scores,
        mean=res.mean,
        alpha_min=res.alpha_min,
        alpha_1se=res.alpha_1se,
        path_coef=res.path.coef,
        path_intercept=res.path.intercept,
        path_status=res.path.status,
        fold_status=res.fold_status,
        best_coef=res.best.coef,
    )
    out = {k: np.asarray(v) for k, v in values.items()}
    out["X_addressable"] = np.asarray(getattr(X, "is_fully_addressable", True))
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def _run_pair(command) -> None:
    """Run ``command(pid, port)`` as processes 0 and 1 of one runtime."""
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    env.pop("XLA_FLAGS", None)  # each worker sets its own device count
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "tests"), env.get("PYTHONPATH", "")])
    port = _free_port()
    procs = [
        subprocess.Popen(
            [sys.executable, *command(pid, port)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for pid in range(2)
    ]
    logs = []
    try:
        for proc in procs:
            logs.append(proc.communicate(timeout=300)[0])
    finally:
        for proc in procs:  # one that failed leaves the other waiting in a collective
            proc.kill()
    for pid, (proc, log) in enumerate(zip(procs, logs, strict=True)):
        assert proc.returncode == 0, f"worker {pid} failed:\n{log[-6000:]}"


@pytest.fixture(scope="module")
def workers(tmp_path_factory):
    out = tmp_path_factory.mktemp("distributed")
    _run_pair(lambda pid, port: ["-c", WORKER, str(pid), str(port), str(out)])
    return [dict(np.load(out / f"worker{pid}.npz")) for pid in range(2)]


def test_both_processes_return_the_same_results(workers):
    first, second = workers
    assert first.keys() == second.keys()
    for key in first:
        np.testing.assert_array_equal(first[key], second[key], err_msg=key)


@pytest.mark.parametrize("name", list(CASES))
def test_two_processes_equal_one(workers, name):
    problem, model, options = CASES[name]
    X, y, sw = problem()
    ref = run(X, y, sw, model, options)
    got = {k.split("/", 1)[1]: v for k, v in workers[0].items() if k.startswith(name + "/")}
    ok = jaxreg.Status.CONVERGED
    assert (ref["path_status"] == ok).all() and (ref["fold_status"] == ok).all()
    np.testing.assert_array_equal(got["path_status"], ref["path_status"])
    np.testing.assert_array_equal(got["fold_status"], ref["fold_status"])
    for field in FIELDS:
        # Sums over rows split in two add in another order: equal to rounding,
        # amplified by the tolerance to which each fit is solved.
        np.testing.assert_allclose(got[field], ref[field], rtol=1e-10, atol=1e-10, err_msg=field)


def test_multi_process_example(tmp_path):
    """examples/multi_process_cv.py (the recipe the docs show) runs as two
    processes and selects what one process holding all its rows selects."""
    out = tmp_path / "curves.npz"
    script = str(ROOT / "examples" / "multi_process_cv.py")

    def command(pid, port):
        args = ["--process-id", str(pid), "--num-processes", "2", "--cpu", "--cpu-devices", "2"]
        return [script, *args, "--coordinator", f"localhost:{port}", "--out", str(out)]

    _run_pair(command)
    got = np.load(out)
    X, y, _ = jaxreg.datasets.load_diabetes()
    ref = jaxreg.cross_validate(
        X[:440], y[:440], "elastic_net", l1_ratio=[0.5, 0.9, 1.0], cv=5, seed=0, standardize=True
    )
    # Default tolerance, and batched fold paths against one-after-another
    # ones: the curves agree to the tolerance the fits are certified to.
    np.testing.assert_allclose(got["mean"], ref.mean, rtol=5e-3)
    # So does the selection: on this flat curve, differences within that
    # tolerance may move the minimum to a neighbouring grid point. The point
    # selected is on the grid and minimal on the one-process curve within it.
    on_grid = np.isclose(np.asarray(ref.alphas), got["alpha_min"], rtol=1e-9, atol=0)
    assert on_grid.sum() == 1
    mean = np.asarray(ref.mean)
    assert mean[on_grid][0] <= mean.min() * (1 + 5e-3)
