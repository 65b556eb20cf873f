"""Plots of regularization paths, cross-validation curves and fitted coefficients.

matplotlib is optional (``pip install 'jaxreg[plot]'``): it is imported when a
function here is called. Every function draws on a given ``ax`` (or a new
figure) and returns the axes, so plots compose with the rest of a figure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from jaxreg.cv import CVResult
from jaxreg.path import PathResult

__all__ = ["plot_coefficients", "plot_cv", "plot_path"]


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as err:  # pragma: no cover - exercised without matplotlib
        raise ImportError("jaxreg.plot needs matplotlib: pip install 'jaxreg[plot]'") from err
    return plt


def _axes(ax):
    if ax is not None:
        return ax
    _, ax = _pyplot().subplots(figsize=(7, 4.2))
    return ax


def _names(names, p: int) -> list[str]:
    if names is None:
        return [f"x{j}" for j in range(p)]
    names = [str(n) for n in names]
    if len(names) != p:
        raise ValueError(f"names must have {p} entries, got {len(names)}")
    return names


def plot_path(
    path: PathResult,
    *,
    names: Sequence[str] | None = None,
    label_top: int = 8,
    ax: Any = None,
):
    """Coefficient paths against alpha (log scale), nonzero counts on a top axis.

    Each line is one coefficient along the grid of a
    :func:`~jaxreg.lasso_path` / :func:`~jaxreg.enet_path` /
    :func:`~jaxreg.logistic_path` / :func:`~jaxreg.ridge_path` result (alpha
    decreases to the right, as the penalty is relaxed). The ``label_top``
    coefficients largest at the end of the path are labelled with ``names``.

    Returns:
      The matplotlib axes.
    """
    if not isinstance(path, PathResult):
        raise TypeError(f"path must be a jaxreg.PathResult, got {type(path).__name__}")
    ax = _axes(ax)
    alphas = np.asarray(path.alphas, dtype=float)
    coef = np.asarray(path.coef, dtype=float)
    if alphas.ndim != 1 or coef.ndim != 2:
        raise ValueError("plot_path takes one path (alphas of shape (A,), coef of shape (A, p))")
    labels = _names(names, coef.shape[1])
    ax.plot(alphas, coef, lw=1.2)
    ax.set_xscale("log")
    ax.set_xlim(alphas.max(), alphas.min())
    ax.axhline(0.0, color="0.6", lw=0.6)
    ax.set_xlabel("alpha (log scale, decreasing)")
    ax.set_ylabel("coefficient")
    end = np.abs(coef[np.argmin(alphas)])
    for j in np.argsort(end)[::-1][: max(0, label_top)]:
        if end[j] > 0:
            ax.annotate(
                labels[j],
                (alphas.min(), coef[np.argmin(alphas), j]),
                textcoords="offset points",
                xytext=(3, 0),
                fontsize=7,
                va="center",
            )
    # Number of nonzeros at a few grid points, on a secondary x axis.
    top = ax.twiny()
    top.set_xscale("log")
    top.set_xlim(ax.get_xlim())
    ticks = np.unique(np.linspace(0, len(alphas) - 1, 6).round().astype(int))
    top.set_xticks(alphas[ticks])
    top.set_xticklabels([str(int(np.count_nonzero(coef[i]))) for i in ticks])
    top.minorticks_off()
    top.set_xlabel("nonzero coefficients")
    return ax


def plot_cv(result: CVResult, *, l1_ratio_index: int | None = None, ax: Any = None):
    """Cross-validation curve with standard-error bars, ``alpha_min`` and ``alpha_1se``.

    Draws the mean held-out score of a :func:`~jaxreg.cross_validate` result
    against alpha for one l1_ratio (default: the selected one), with one
    standard error either side, and marks the two selection rules. A top axis
    gives the number of nonzero coefficients of the full-data fit along the
    grid; it is left out for a result of ``cross_validate(..., full_path=False)``,
    which has no full-data path.

    Returns:
      The matplotlib axes.
    """
    if not isinstance(result, CVResult):
        raise TypeError(f"result must be a jaxreg.CVResult, got {type(result).__name__}")
    ax = _axes(ax)
    li = int(result.best_index[0]) if l1_ratio_index is None else int(l1_ratio_index)
    if not 0 <= li < result.alphas.shape[0]:
        raise ValueError(f"l1_ratio_index must be in [0, {result.alphas.shape[0]}), got {li}")
    alphas = np.asarray(result.alphas[li], dtype=float)
    mean = np.asarray(result.mean[li], dtype=float)
    se = np.asarray(result.se[li], dtype=float)
    ax.errorbar(alphas, mean, yerr=se, fmt="o", ms=3, color="C3", ecolor="0.7", elinewidth=1)
    ax.axvline(float(result.alpha_min), color="0.3", ls="--", lw=1, label="alpha_min")
    ax.axvline(float(result.alpha_1se), color="0.3", ls=":", lw=1, label="alpha_1se")
    ax.set_xscale("log")
    ax.set_xlim(alphas.max(), alphas.min())
    ax.set_xlabel("alpha (log scale, decreasing)")
    ax.set_ylabel(f"cross-validated {result.scoring}")
    ratio = float(result.l1_ratios[li])
    ax.legend(fontsize=8, title=f"l1_ratio = {ratio:g}", title_fontsize=8)
    if result.n_nonzero is None:  # cross_validate(..., full_path=False): no full-data path
        return ax
    top = ax.twiny()
    top.set_xscale("log")
    top.set_xlim(ax.get_xlim())
    ticks = np.unique(np.linspace(0, len(alphas) - 1, 6).round().astype(int))
    nonzero = np.asarray(result.n_nonzero[li])
    top.set_xticks(alphas[ticks])
    top.set_xticklabels([str(int(nonzero[i])) for i in ticks])
    top.minorticks_off()
    top.set_xlabel("nonzero coefficients (all data)")
    return ax


def plot_coefficients(
    coefs: Mapping[str, Any],
    *,
    names: Sequence[str] | None = None,
    ax: Any = None,
):
    """Side-by-side bars of several models' coefficients (e.g. L1 vs L2 vs elastic net).

    Args:
      coefs: model name -> coefficient vector, a fit with a ``coef``, or a
        fitted estimator with a 1-D ``coef_``.
      names: feature names (default ``x0, x1, ...``).

    Returns:
      The matplotlib axes. Exact zeros (features an L1 penalty dropped) are
      marked with a small cross on the axis.
    """
    if not coefs:
        raise ValueError("coefs must name at least one model")
    vectors = {
        k: np.asarray(getattr(v, "coef", getattr(v, "coef_", v)), dtype=float)
        for k, v in coefs.items()
    }
    p = {v.shape for v in vectors.values()}
    if len(p) != 1 or len(next(iter(p))) != 1:
        raise ValueError("every coefficient vector must be 1-D and of the same length")
    p = next(iter(p))[0]
    labels = _names(names, p)
    ax = _axes(ax)
    width = 0.8 / len(vectors)
    x = np.arange(p)
    for i, (model, w) in enumerate(vectors.items()):
        pos = x - 0.4 + width * (i + 0.5)
        ax.bar(pos, w, width=width, label=model, color=f"C{i}")
        zeros = w == 0
        ax.plot(pos[zeros], np.zeros(zeros.sum()), "x", color=f"C{i}", ms=5)
    ax.axhline(0.0, color="0.5", lw=0.6)
    ax.set_xticks(x)
    ax.set_xticklabels(labels, rotation=45, ha="right", fontsize=8)
    ax.set_ylabel("coefficient")
    ax.legend(fontsize=8)
    return ax
