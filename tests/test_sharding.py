"""Sharded over 4 forced host devices, cross-validation equals the single-device run."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]

SCRIPT = r"""
import jax
jax.config.update("jax_enable_x64", True)
import numpy as np
import jaxreg
from _jaxreg_problems import regression

assert len(jax.devices()) == 4, jax.devices()
ALL = [(("batch",), (4,)), (("rows",), (4,)), (("batch", "rows"), (2, 2))]


def no_lapack(*args, **kwargs):
    raise AssertionError("a LAPACK call traced into a program sharded over CPU devices")


# Gram mode and design mode; and Gram mode with p = 40, where the folds'
# strong-convexity certification (then batched LAPACK eigendecompositions and
# Cholesky factorizations) once deadlocked the devices' shared thread pool.
# On such meshes it is computed without LAPACK: the sharded runs trace with
# those functions disabled.
for shape, meshes in [((200, 16), ALL), ((40, 90), ALL), ((200, 40), ALL)]:
    X, y, _ = regression(*shape, "corr", seed=0)
    # check_every fixed: its default differs between the batched folds of a
    # mesh and the one-after-another folds of a single device.
    kw = dict(l1_ratio=[0.5, 1.0], n_alphas=12, tol=1e-12, check_every=5)
    ref = jaxreg.cross_validate(X, y, "elastic_net", **kw)
    for axes, mshape in meshes:
        mesh = jax.make_mesh(mshape, axes)
        saved = (jax.numpy.linalg.cholesky, jax.numpy.linalg.eigvalsh, jax.numpy.linalg.eigh)
        jax.numpy.linalg.cholesky = jax.numpy.linalg.eigvalsh = jax.numpy.linalg.eigh = no_lapack
        try:
            out = jaxreg.cross_validate(X, y, "elastic_net", mesh=mesh, **kw)
        finally:
            jax.numpy.linalg.cholesky, jax.numpy.linalg.eigvalsh, jax.numpy.linalg.eigh = saved
        # Both are certified to the tolerance; rounding that differs between a
        # batched and an unbatched product, or between the layouts of X (a
        # single device's design mode stores it transposed, a mesh by rows),
        # can tip the solver's support steps (conjugate gradients) one way or
        # the other within it (measured: 1.2e-8 relative in the scores of the
        # wide design, 1.6e-10 in its coefficients, objectives 9e-16). At 1e-12 a
        # badly conditioned point may instead stop STALLED at the dtype's
        # resolution (on some CPUs the folds-over-devices run's smallest alpha:
        # gap 1.6e-9, coefficients 2.5e-9 apart, objectives 5e-16 apart), so
        # converged points are held to 1e-9 and stalled ones to 1e-8.
        np.testing.assert_allclose(out.fold_scores, ref.fold_scores, rtol=5e-8, atol=1e-12)
        good = (jaxreg.Status.CONVERGED, jaxreg.Status.STALLED)
        assert np.isin(np.asarray(out.path.status), good).all()
        assert np.isin(np.asarray(ref.path.status), good).all()
        np.testing.assert_allclose(out.path.objective, ref.path.objective, rtol=1e-12)
        both = (np.asarray(out.path.status) == 0) & (np.asarray(ref.path.status) == 0)
        diff = np.abs(np.asarray(out.path.coef) - np.asarray(ref.path.coef))
        assert float(diff[both].max()) <= 1e-9, float(diff[both].max())
        assert float(diff.max()) <= 1e-8, float(diff.max())
        # The selected point is a minimum of the reference curve (ties differ by rounding).
        li, ai = (int(i) for i in out.best_index)
        assert abs(float(ref.mean[li, ai]) - float(ref.mean.min())) <= 1e-12 * float(ref.mean.min())
        if axes == ("batch",):  # folds split across devices: the same selection
            assert tuple(int(i) for i in ref.best_index) == (li, ai)
            # (alpha_max, hence the grid, is a product in another order)
            np.testing.assert_allclose(float(out.alpha_min), float(ref.alpha_min), rtol=1e-13)
# Unpenalized features: their refit (LAPACK) is not traced into a mesh's
# program; the zero dual point certifies them, or the fit says STALLED.
X, y, _ = regression(40, 90, "corr", seed=0)
pf = np.r_[np.zeros(2), np.ones(88)]
saved = (jax.numpy.linalg.cholesky, jax.numpy.linalg.eigvalsh, jax.numpy.linalg.eigh)
jax.numpy.linalg.cholesky = jax.numpy.linalg.eigvalsh = jax.numpy.linalg.eigh = no_lapack
try:
    mesh = jax.make_mesh((4,), ("batch",))
    out = jaxreg.cross_validate(X, y, mesh=mesh, penalty_factor=pf, n_alphas=5)
finally:
    jax.numpy.linalg.cholesky, jax.numpy.linalg.eigvalsh, jax.numpy.linalg.eigh = saved
assert np.isin(np.asarray(out.path.status), (0, 1, 4)).all()
print("ok")
"""


def test_cross_validate_sharded_over_4_host_devices():
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "tests"), env.get("PYTHONPATH", "")])
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    assert proc.stdout.strip().endswith("ok")
