"""Small real datasets shipped with the package."""

from __future__ import annotations

from importlib import resources

import numpy as np

__all__ = ["load_diabetes"]


def load_diabetes() -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The diabetes data of Efron, Hastie, Johnstone and Tibshirani (2004).

    442 patients, ten raw (unscaled) baseline variables and a quantitative
    measure of disease progression one year later. See ``jaxreg/data/README.md``
    for the source.

    Returns:
      ``(X, y, feature_names)``: ``X`` of shape ``(442, 10)``, ``y`` of shape
      ``(442,)``, both float64 numpy arrays.

    Example:
      >>> X, y, names = load_diabetes()
      >>> X.shape, names[:3]
      ((442, 10), ['age', 'sex', 'bmi'])
    """
    with resources.files("jaxreg.data").joinpath("diabetes.csv").open("r") as f:
        header = f.readline().strip().split(",")
        data = np.loadtxt(f, delimiter=",", dtype=np.float64)
    return data[:, :-1], data[:, -1], header[:-1]
