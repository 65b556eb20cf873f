"""jaxreg: L1, L2, elastic-net and group penalized linear, logistic and multinomial models."""

from jaxreg import datafits, datasets, penalties, plot, prox, solvers
from jaxreg._buckets import set_shape_buckets
from jaxreg._cache import enable_compilation_cache
from jaxreg.cv import CVResult, cross_validate, make_folds
from jaxreg.models import alpha_max, elastic_net, glm, lasso, logistic, multinomial, ridge
from jaxreg.path import (
    PathResult,
    alpha_grid,
    enet_path,
    lasso_path,
    logistic_path,
    multinomial_path,
    ridge_path,
)
from jaxreg.result import FitResult, Status
from jaxreg.tune import TuneResult, tune

__version__ = "0.1.0"


def __getattr__(name: str):
    # jaxreg.optim (optax transforms) loads optax, which a fit does not need:
    # it is imported on first use.
    if name == "optim":
        import importlib  # noqa: PLC0415

        return importlib.import_module("jaxreg.optim")
    raise AttributeError(f"module 'jaxreg' has no attribute {name!r}")


__all__ = [
    "CVResult",
    "FitResult",
    "PathResult",
    "Status",
    "TuneResult",
    "alpha_grid",
    "cross_validate",
    "alpha_max",
    "datafits",
    "datasets",
    "elastic_net",
    "enable_compilation_cache",
    "enet_path",
    "glm",
    "lasso",
    "lasso_path",
    "logistic",
    "logistic_path",
    "multinomial",
    "multinomial_path",
    "make_folds",
    "optim",
    "penalties",
    "plot",
    "prox",
    "ridge",
    "ridge_path",
    "set_shape_buckets",
    "solvers",
    "tune",
]
