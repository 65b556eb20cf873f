"""The engine's shape: a datafit added from outside the package, the
structural limits of the code, and the direction of imports between layers."""

from __future__ import annotations

import ast
import dataclasses
import importlib.util
import pathlib
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from _jaxreg_problems import regression
from jax import Array

import jaxreg
from jaxreg.datafits import Design, NullModel

ROOT = pathlib.Path(__file__).resolve().parent.parent


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class WeightedSquares:
    """Weighted least squares written from scratch on the protocol alone:
    ``1/2 sum_i s_i (r_i - u_i)^2`` with ``u = X~ beta`` and ``r`` the targets
    minus the null model's offset."""

    design: Design
    r: Array
    s: Array
    iterates_intercept = False
    tol_floor_eps = 10.0

    @staticmethod
    def pointwise(eta, y):
        return 0.5 * (y - eta) ** 2

    @staticmethod
    def null_model(y, s, fit_intercept):
        offset = jnp.dot(s, y) if fit_intercept else jnp.zeros((), y.dtype)
        return NullModel(offset, jnp.zeros((), y.dtype), jnp.dot(s, (y - offset) ** 2))

    @classmethod
    def build(cls, design, y, s, null, fit_intercept):
        return cls(design, y - null.offset, s)

    @staticmethod
    def check_targets(y, sample_weight):
        return None

    def forward(self, beta):
        return self.design.matvec(beta)

    def grad_at(self, u, b):
        return -self.design.rmatvec(self.s * (self.r - u)), jnp.zeros_like(b)

    def value_and_grad_at(self, u, beta, b):
        res = self.r - u
        rr = jnp.dot(self.s * res, res)
        return 0.5 * rr, self.grad_at(u, b)[0], jnp.zeros_like(b), rr

    def value_and_grad(self, beta, b):
        return self.value_and_grad_at(self.forward(beta), beta, b)

    def fenchel_young(self, aux, kappa):
        # At the dual point -kappa * residual, per sample s_i (1 - kappa)^2 r_i^2 / 2.
        return 0.5 * (1.0 - kappa) ** 2 * aux

    def lipschitz(self):
        return self.design.top_eigenvalue(self.s)


@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
def test_a_datafit_from_outside_fits_through_the_engine(l1_ratio):
    X, y, _ = regression(80, 15, "corr", seed=21, k=4)
    rng = np.random.default_rng(21)
    sw = rng.uniform(0.2, 2.0, 80)
    pf = rng.uniform(0.5, 1.5, 15)
    alpha = 0.05 * float(jaxreg.alpha_max(X, y, l1_ratio, sample_weight=sw, penalty_factor=pf))
    kw = dict(sample_weight=sw, penalty_factor=pf, standardize=True, tol=1e-12)
    toy = jaxreg.glm(X, y, WeightedSquares, alpha, l1_ratio, **kw)
    ref = jaxreg.elastic_net(X, y, alpha, l1_ratio, gram=False, **kw)
    assert int(toy.status) == jaxreg.Status.CONVERGED
    assert float(toy.gap) <= float(toy.gap_tol)
    assert np.count_nonzero(toy.coef) not in (0, 15)  # a sparse, non-trivial solution
    # Both certified to a gap of 1e-12 (relative): the objectives agree that
    # closely, the coefficients to the square root of it over the curvature.
    np.testing.assert_allclose(toy.objective, ref.objective, rtol=1e-10)
    np.testing.assert_allclose(toy.coef, ref.coef, atol=1e-6, rtol=0)
    np.testing.assert_allclose(toy.intercept, ref.intercept, atol=1e-6)
    # Implicit differentiation comes with the protocol (the pointwise loss).
    grad_toy = jax.grad(lambda a: jaxreg.glm(X, y, WeightedSquares, a, l1_ratio, **kw).coef[0])
    grad_ref = jax.grad(lambda a: jaxreg.elastic_net(X, y, a, l1_ratio, **kw).coef[0])
    np.testing.assert_allclose(grad_toy(alpha), grad_ref(alpha), rtol=1e-6, atol=1e-9)


def test_an_incomplete_datafit_is_refused_by_name():
    @dataclasses.dataclass(frozen=True)
    class NoConjugate:
        pointwise = WeightedSquares.pointwise

    X, y, _ = regression(20, 4, "random", seed=1)
    with pytest.raises(TypeError, match="NoConjugate lacks .*fenchel_young"):
        jaxreg.glm(X, y, NoConjugate, 0.1)
    with pytest.raises(TypeError, match="datafit class"):
        jaxreg.glm(X, y, WeightedSquares(None, None, None), 0.1)


def _metrics():
    spec = importlib.util.spec_from_file_location(
        "engine_metrics", ROOT / "tools/engine_metrics.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_structural_limits_hold(capsys):
    metrics = _metrics()
    assert metrics.main(["--check", "--verbose"]) == 0, capsys.readouterr().out


def test_structural_metrics_can_fail(tmp_path):
    # A package with a long function, a wide private signature, a loss-name
    # comparison and private names shared across modules is over every limit.
    package = tmp_path / "jaxreg"
    package.mkdir()
    body = "\n".join(f"    x{i} = {i}" for i in range(160))
    args = ", ".join(f"a{i}" for i in range(12))
    (package / "a.py").write_text(
        f"def _long():\n{body}\n\n\ndef _wide({args}):\n    return loss == 'logistic'\n"
        + "".join(f"\n\ndef _p{i}():\n    pass\n" for i in range(6))
    )
    names = ", ".join(f"_p{i}" for i in range(6))
    (package / "b.py").write_text(f"from jaxreg.a import {names}\n")
    metrics = _metrics()
    metrics.PACKAGE = package
    assert metrics.main(["--check"]) == 1


# The layers, bottom up: a module may import only from its own layer or below.
LAYERS = {
    "maths": {
        "prox",
        "penalties",
        "datafits",
        "result",
        "_validation",
        "_compile",
        "_cache",
        "datasets",
    },
    "solvers": {
        "_certificate",
        "solvers",
        "_columns",
        "_working_set",
        "_prox_newton",
        "_free",
    },
    "engine": {
        "_spec",
        "_problem",
        "_strategies",
        "_implicit",
        "_engine",
        "_folds",
        "_crossval",
        "_ridge_cv",
        "_rescale",
        "_buckets",
    },
    "public": {"models", "path", "cv", "tune"},
    "front": {"estimators", "optim", "plot", "cli", "__main__", "__init__"},
}
ORDER = list(LAYERS)


def _layer(module: str) -> str:
    for name, members in LAYERS.items():
        if module in members:
            return name
    raise AssertionError(f"jaxreg.{module} belongs to no layer: add it to LAYERS")


def test_imports_go_down_the_layers():
    wrong = []
    for path in sorted((ROOT / "jaxreg").glob("*.py")):
        module = path.stem
        here = ORDER.index(_layer(module))
        for node in ast.walk(ast.parse(path.read_text())):
            targets = []
            if (
                isinstance(node, ast.ImportFrom)
                and node.module
                and node.module.startswith("jaxreg")
            ):
                if node.module == "jaxreg":
                    targets = [a.name for a in node.names]
                else:
                    targets = [node.module.split(".")[1]]
            for target in targets:
                if ORDER.index(_layer(target)) > here:
                    wrong.append(f"jaxreg.{module} ({_layer(module)}) imports jaxreg.{target}")
    assert not wrong, wrong


def test_import_is_light():
    # A fit needs JAX alone: scipy (loaded by JAX's sparse module), scikit-learn,
    # matplotlib and optax load where their features are first used.
    code = (
        "import sys, jaxreg\n"
        "heavy = ('scipy', 'sklearn', 'matplotlib', 'optax', 'pandas', 'jax.experimental.sparse')\n"
        "print(','.join(m for m in heavy if m in sys.modules))\n"
        "assert callable(jaxreg.tune) and callable(jaxreg.optim.l1_prox)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"import jaxreg loads {out.stdout.strip()}"
