"""jaxreg: L1, L2 and elastic-net regularized linear and logistic models in JAX."""

from jaxreg import datafits, datasets, penalties, prox, solvers
from jaxreg.models import alpha_max, elastic_net, lasso, logistic, ridge
from jaxreg.result import FitResult, Status

__version__ = "0.1.0"

__all__ = [
    "FitResult",
    "Status",
    "alpha_max",
    "datafits",
    "datasets",
    "elastic_net",
    "lasso",
    "logistic",
    "penalties",
    "prox",
    "ridge",
    "solvers",
]
