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

__all__ = ["column_scale", "effective_df", "plot_coefficients", "plot_cv", "plot_path"]

_LABEL_SIZE = 7  # points
# Axes usually shrink when a figure is laid out (tight_layout, a suptitle)
# after the labels are placed; their spacing assumes this much of the height.
_LAYOUT_SHRINK = 0.75


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as err:  # pragma: no cover - exercised without matplotlib
        raise ImportError("jaxreg.plot needs matplotlib: pip install 'jaxreg[plot]'") from err
    return plt


def _axes(ax):
    if ax is not None:
        return ax
    _, ax = _pyplot().subplots(figsize=(7.5, 4.6))
    return ax


def _names(names, p: int) -> list[str]:
    if names is None:
        return [f"x{j}" for j in range(p)]
    names = [str(n) for n in names]
    if len(names) != p:
        raise ValueError(f"names must have {p} entries, got {len(names)}")
    return names


def _colors(k: int) -> list:
    """``k`` distinct colours: tab10, tab20 (dark shades first), then a sampled
    perceptual map, so that lines past the tenth never repeat a colour."""
    import matplotlib

    if k <= 10:
        cmap = matplotlib.colormaps["tab10"]
        return [cmap(i) for i in range(k)]
    if k <= 20:
        cmap = matplotlib.colormaps["tab20"]
        return [cmap(i) for i in (list(range(0, 20, 2)) + list(range(1, 20, 2)))[:k]]
    cmap = matplotlib.colormaps["turbo"]
    return [cmap(x) for x in np.linspace(0.05, 0.95, k)]


def _weights(sample_weight, n: int) -> np.ndarray:
    if sample_weight is None:
        return np.full(n, 1.0 / n)
    s = np.asarray(sample_weight, dtype=float).ravel()
    if s.shape != (n,) or not np.all(np.isfinite(s)) or np.any(s < 0) or s.sum() <= 0:
        raise ValueError(
            f"sample_weight must be {n} finite, non-negative numbers with a positive sum"
        )
    return s / s.sum()


def _moments(X, s: np.ndarray, fit_intercept: bool):
    """Weighted column means and (centered, with an intercept) second moments."""
    Xs = X.multiply(s[:, None]) if hasattr(X, "multiply") else X * s[:, None]
    mean = np.asarray(Xs.sum(axis=0)).ravel() if fit_intercept else np.zeros(X.shape[1])
    sq = X.multiply(X) if hasattr(X, "multiply") else X * X
    second = np.asarray(sq.T @ s).ravel()
    return mean, np.maximum(second - mean * mean, 0.0)


def column_scale(X, *, sample_weight=None, fit_intercept: bool = True) -> np.ndarray:
    """The column scales that ``standardize=True`` divides by.

    The weighted population standard deviation of each column,
    ``sqrt(sum_i s_i (x_ij - m_j)^2)`` with normalized weights ``s`` and
    weighted means ``m`` (the root mean square without an intercept), as glmnet
    standardizes; 1 for a constant column. Multiplying a path's coefficients by
    it gives the standardized coefficients that the penalty sees
    (``plot_path(path, scale=column_scale(X))``).

    Args:
      X: the design, dense or scipy.sparse, shape ``(n, p)``.
      sample_weight: per-sample weights (default: equal).
      fit_intercept: center the columns first.

    Returns:
      A numpy array of shape ``(p,)``.
    """
    X = X if hasattr(X, "tocsr") else np.asarray(X, dtype=float)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D, got shape {X.shape}")
    _, var = _moments(X, _weights(sample_weight, X.shape[0]), fit_intercept)
    scale = np.sqrt(var)
    return np.where(scale > 0, scale, 1.0)


def effective_df(
    X,
    alphas,
    *,
    sample_weight=None,
    fit_intercept: bool = True,
    standardize: bool = False,
    penalty_factor=None,
) -> np.ndarray:
    r"""Effective degrees of freedom of ridge fits along a grid of alphas.

    For :func:`jaxreg.ridge`'s objective
    ``sum_i s_i (y_i - x_i'w - b)^2 + alpha sum_j f_j w_j^2`` the fitted
    values are linear in ``y``, and their degrees of freedom (the trace of the
    hat matrix, intercept excluded) are

    ``df(alpha) = trace((G + alpha F)^{-1} G)``,  ``G = Z' S Z``,

    with ``Z`` the centered (and, with ``standardize``, scaled) design,
    ``S = diag(s)`` and ``F = diag(f)`` (penalty factors rescaled to sum to
    ``p``, as the fit rescales them). It falls from the rank of ``Z`` at
    ``alpha = 0`` towards the number of unpenalized columns; it is the ridge
    counterpart of a lasso's number of nonzero coefficients. The cost is a
    ``p x p`` eigendecomposition.

    Args:
      X: the design, dense or scipy.sparse, shape ``(n, p)``.
      alphas: the grid, shape ``(A,)``.
      sample_weight: per-sample weights of the fit (default: equal).
      fit_intercept: whether the fit had an intercept (centers the columns).
      standardize: whether the fit standardized the columns.
      penalty_factor: the fit's per-feature penalty factors (default: ones).

    Returns:
      A numpy array of shape ``(A,)``.
    """
    X = X if hasattr(X, "tocsr") else np.asarray(X, dtype=float)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D, got shape {X.shape}")
    n, p = X.shape
    alphas = np.asarray(alphas, dtype=float).ravel()
    if not np.all(np.isfinite(alphas)) or np.any(alphas < 0):
        raise ValueError("alphas must be finite and >= 0")
    raw = np.ones(n) if sample_weight is None else np.ravel(np.asarray(sample_weight, float))
    s = _weights(raw, n)
    mean, var = _moments(X, s, fit_intercept)
    scale = np.where(var > 0, np.sqrt(var), 1.0) if standardize else np.ones(p)
    XtSX = X.T @ (X.multiply(raw[:, None]) if hasattr(X, "multiply") else X * raw[:, None])
    G = np.asarray(XtSX.todense() if hasattr(XtSX, "todense") else XtSX)
    G = (G - raw.sum() * np.outer(mean, mean)) / np.outer(scale, scale)
    f = np.ones(p) if penalty_factor is None else np.asarray(penalty_factor, dtype=float)
    if f.shape != (p,) or np.any(f < 0) or not f.sum() > 0:
        raise ValueError(f"penalty_factor must be {p} non-negative numbers with a positive sum")
    f = f * (p / f.sum())
    free = f == 0
    if free.any():
        # Unpenalized columns cost one degree of freedom each (their rank);
        # the penalized ones act on what those columns leave unexplained.
        Gff, Gfp = G[np.ix_(free, free)], G[np.ix_(free, ~free)]
        base = np.linalg.matrix_rank(Gff)
        G = G[np.ix_(~free, ~free)] - Gfp.T @ np.linalg.pinv(Gff) @ Gfp
        f = f[~free]
    else:
        base = 0
    d = 1.0 / np.sqrt(f)
    lam = np.clip(np.linalg.eigvalsh(G * np.outer(d, d)), 0.0, None)
    tiny = lam.max(initial=0.0) * max(G.shape[0], 1) * np.finfo(float).eps
    lam = np.where(lam > tiny, lam, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = lam[None, :] / (lam[None, :] + alphas[:, None])
    return base + np.nansum(np.where(lam[None, :] > 0, ratio, 0.0), axis=1)


def _spread(targets: np.ndarray, gap: float, lo: float, hi: float) -> np.ndarray:
    """Positions as close to ``targets`` as the minimum spacing ``gap`` allows,
    inside ``[lo, hi]`` (targets sorted; callers keep what fits)."""
    pos = np.clip(targets, lo, hi).astype(float)
    for i in range(1, len(pos)):
        pos[i] = max(pos[i], pos[i - 1] + gap)
    if len(pos):
        pos[-1] = min(pos[-1], hi)
    for i in range(len(pos) - 2, -1, -1):
        pos[i] = min(pos[i], pos[i + 1] - gap)
    return pos


def _axes_height_points(ax) -> float:
    fig = ax.figure
    return ax.get_position().height * fig.get_figheight() * 72.0


def _label_gap(ax) -> float:
    """The spacing of the edge labels, as a fraction of the axes' height."""
    return 1.5 * _LABEL_SIZE / (_LAYOUT_SHRINK * _axes_height_points(ax))


def _labels_that_fit(ax) -> int:
    """How many edge labels fit in ``[gap, 1 - gap]`` at the spacing ``gap``."""
    gap = _label_gap(ax)
    return max(0, int((1.0 - 2 * gap) / gap) + 1)


def _label_ends(ax, x_end: float, ends: np.ndarray, order, labels, colors) -> int:
    """Labels for the lines ending at ``ends[order]`` on the right edge, spread
    so that no two overlap, each joined to its line by a leader (``order``
    holds no more than :func:`_labels_that_fit`). Returns how many were placed."""
    lo_y, hi_y = ax.get_ylim()
    frac = (ends - lo_y) / (hi_y - lo_y)
    gap = _label_gap(ax)
    chosen = sorted(order, key=lambda j: frac[j])
    ys = _spread(np.array([frac[j] for j in chosen]), gap, gap, 1.0 - gap)
    for j, y in zip(chosen, ys, strict=True):
        ax.annotate(
            labels[j],
            xy=(x_end, ends[j]),
            xycoords="data",
            xytext=(1.03, y),
            textcoords="axes fraction",
            fontsize=_LABEL_SIZE,
            va="center",
            color=colors[j],
            annotation_clip=False,
            arrowprops=dict(arrowstyle="-", lw=0.5, color=colors[j], shrinkA=0, shrinkB=1),
        )
    return len(chosen)


def _distinct_ticks(alphas: np.ndarray, texts: list[str], max_ticks: int = 7) -> list[int]:
    """Grid indices for a top axis: where the label changes, never a label twice,
    at least 1/(max_ticks + 1) of the log range apart."""
    logs = np.log10(alphas)
    span = abs(logs[0] - logs[-1]) or 1.0
    keep: list[int] = []
    seen: set[str] = set()
    for i, text in enumerate(texts):
        if text in seen:
            continue
        if keep and abs(logs[i] - logs[keep[-1]]) < span / (max_ticks + 1):
            continue
        keep.append(i)
        seen.add(text)
    return keep


def _top_axis(ax, alphas: np.ndarray, texts: list[str], label: str) -> None:
    ticks = _distinct_ticks(alphas, texts)
    top = ax.twiny()
    top.set_xscale("log")
    top.set_xlim(ax.get_xlim())
    top.set_xticks(alphas[ticks])
    top.set_xticklabels([texts[i] for i in ticks])
    top.minorticks_off()
    top.set_xlabel(label, fontsize=9)


def _summary_axis(ax, alphas: np.ndarray, coef: np.ndarray, df, what: str) -> None:
    """Nonzero counts on a top axis where they vary; else the given degrees of
    freedom; else nothing (a constant count says nothing)."""
    counts = np.count_nonzero(coef, axis=-1)
    if counts.min() != counts.max():
        _top_axis(ax, alphas, [str(int(c)) for c in counts], f"nonzero coefficients{what}")
    elif df is not None:
        df = np.asarray(df, dtype=float).ravel()
        if df.shape != alphas.shape:
            raise ValueError(f"df must have one value per alpha ({alphas.size}), got {df.size}")
        _top_axis(ax, alphas, [f"{d:.1f}" for d in df], f"effective degrees of freedom{what}")


def plot_path(
    path: PathResult,
    *,
    names: Sequence[str] | None = None,
    scale: Any = None,
    df: Any = None,
    label_top: int = 12,
    ax: Any = None,
):
    """Coefficient paths against alpha (log scale), with a top axis of nonzero counts.

    Each line is one coefficient along the grid of a
    :func:`~jaxreg.lasso_path` / :func:`~jaxreg.enet_path` /
    :func:`~jaxreg.logistic_path` / :func:`~jaxreg.ridge_path` result (alpha
    decreases to the right, as the penalty is relaxed).

    Args:
      path: one path (``alphas`` of shape ``(A,)``, ``coef`` of shape ``(A, p)``).
      names: feature names (default ``x0, x1, ...``).
      scale: per-feature factors the coefficients are multiplied by, shape
        ``(p,)``. Pass the column standard deviations
        (:func:`column_scale`) to draw the standardized coefficients, the
        scale on which a ``standardize=True`` fit penalizes them, so that
        features measured in large units do not hide the others. Default:
        the coefficients as returned (original units).
      df: effective degrees of freedom per alpha (:func:`effective_df`),
        shown on the top axis where the number of nonzeros does not change
        along the path (ridge). Without it such a path gets no top axis.
      label_top: how many coefficients, the largest at the end of the path,
        get a colour and a name on the right edge (spread so that no two
        names overlap, each joined to its line); the others are drawn in grey.
      ax: matplotlib axes to draw on (default: a new figure).

    Returns:
      The matplotlib axes.
    """
    if not isinstance(path, PathResult):
        raise TypeError(f"path must be a jaxreg.PathResult, got {type(path).__name__}")
    alphas = np.asarray(path.alphas, dtype=float)
    coef = np.asarray(path.coef, dtype=float)
    if alphas.ndim != 1 or coef.ndim != 2:
        raise ValueError("plot_path takes one path (alphas of shape (A,), coef of shape (A, p))")
    p = coef.shape[1]
    labels = _names(names, p)
    if scale is not None:
        scale = np.asarray(scale, dtype=float).ravel()
        if scale.shape != (p,) or not np.all(np.isfinite(scale)) or np.any(scale <= 0):
            raise ValueError(f"scale must be {p} finite positive numbers")
        coef = coef * scale
    ax = _axes(ax)
    last = int(np.argmin(alphas))
    end = coef[last]
    # Named: the largest finite ends, as many as fit the axes' height.
    size = np.where(np.isfinite(end), np.abs(end), 0.0)
    room = min(max(0, label_top), _labels_that_fit(ax))
    order = [j for j in np.argsort(-size, kind="stable")[:room] if size[j] > 0]
    # Every line named: colour by feature, so that one feature keeps its
    # colour across plots of the same data; else by rank among the named.
    keys = sorted(order) if len(order) == p else order
    colors = dict(zip(keys, _colors(len(order)), strict=True))
    for j in range(p):
        if j not in colors:
            ax.plot(alphas, coef[:, j], lw=0.8, color="0.72", zorder=1)
    for j in order:
        ax.plot(alphas, coef[:, j], lw=1.4, color=colors[j], zorder=2)
    ax.set_xscale("log")
    ax.set_xlim(alphas.max(), alphas.min())
    # A non-finite fit on the path (its status says so) leaves a gap in its line.
    lo, hi = min(np.nanmin(coef, initial=0.0), 0.0), max(np.nanmax(coef, initial=0.0), 0.0)
    lo, hi = (lo, hi) if np.isfinite(lo) and np.isfinite(hi) else (-1.0, 1.0)
    pad = 0.05 * (hi - lo or 1.0)
    ax.set_ylim(lo - pad, hi + pad)
    ax.axhline(0.0, color="0.6", lw=0.6)
    placed = _label_ends(ax, alphas[last], end, order, labels, colors)
    grey = p - placed
    ax.set_xlabel(
        "alpha (log scale, decreasing)" + (f"; {grey} more coefficients in grey" if grey else "")
    )
    ax.set_ylabel("standardized coefficient" if scale is not None else "coefficient")
    _summary_axis(ax, alphas, coef, df, "")
    return ax


def plot_cv(result: CVResult, *, l1_ratio_index: int | None = None, df: Any = None, ax: Any = None):
    """Cross-validation curves with standard-error bars, ``alpha_min`` and ``alpha_1se``.

    Draws the mean held-out score of a :func:`~jaxreg.cross_validate` result
    against alpha: one curve per l1_ratio (a family; the selected one with one
    standard error either side), or the one at ``l1_ratio_index``, and marks
    the two selection rules. A top axis gives the number of nonzero
    coefficients of the full-data fit along the shown (or selected) curve's
    grid where it varies, or the effective degrees of freedom ``df`` (one per
    alpha of that grid, :func:`effective_df`) for ridge; it is left out for a
    result of ``cross_validate(..., full_path=False)``.

    Returns:
      The matplotlib axes.
    """
    if not isinstance(result, CVResult):
        raise TypeError(f"result must be a jaxreg.CVResult, got {type(result).__name__}")
    n_ratios = result.alphas.shape[0]
    best = int(result.best_index[0])
    if l1_ratio_index is not None and not 0 <= int(l1_ratio_index) < n_ratios:
        raise ValueError(f"l1_ratio_index must be in [0, {n_ratios}), got {l1_ratio_index}")
    shown = range(n_ratios) if l1_ratio_index is None else [int(l1_ratio_index)]
    main = best if l1_ratio_index is None else int(l1_ratio_index)
    ratios = np.asarray(result.l1_ratios, dtype=float)
    ridge = bool(np.all(ratios == 0))
    ax = _axes(ax)
    colors = _colors(n_ratios)
    for li in shown:
        alphas = np.asarray(result.alphas[li], dtype=float)
        mean = np.asarray(result.mean[li], dtype=float)
        se = np.asarray(result.se[li], dtype=float) if li == main else None
        label = (
            None if ridge else f"l1_ratio {ratios[li]:g}" + (" (selected)" if li == best else "")
        )
        ax.errorbar(
            alphas,
            mean,
            yerr=se,
            fmt="o-",
            ms=3,
            lw=1 if li == main else 0.8,
            color="C3" if len(shown) == 1 else colors[li],
            ecolor="0.7",
            elinewidth=1,
            label=label,
            zorder=3 if li == main else 2,
        )
    ax.axvline(float(result.alpha_min), color="0.3", ls="--", lw=1, label="alpha_min")
    ax.axvline(float(result.alpha_1se), color="0.3", ls=":", lw=1, label="alpha_1se")
    grid = np.asarray(result.alphas, dtype=float)[list(shown)]
    ax.set_xscale("log")
    ax.set_xlim(grid.max(), grid.min())
    ax.set_xlabel("alpha (log scale, decreasing)")
    ax.set_ylabel(f"cross-validated {result.scoring}")
    ax.legend(fontsize=8)
    if result.path is None:  # cross_validate(..., full_path=False): no full-data path
        return ax
    what = "" if len(shown) == 1 or ridge else f" (all data, l1_ratio {ratios[main]:g})"
    what = what or " (all data)"
    _summary_axis(
        ax,
        np.asarray(result.alphas[main], dtype=float),
        np.asarray(result.path.coef[main], dtype=float),
        df,
        what,
    )
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
