"""The engine of cross-validation: one compiled call for folds x l1_ratios x alphas.

Every fold's problem comes from the same setup as a single fit
(:func:`jaxreg._problem.setup_rows`); the full data rides along as one more
row, so the path on all the data and the refit at the chosen point come out
of the same call. :func:`cv_glm` is :func:`jaxreg.cross_validate`'s;
:func:`fold_fits` returns the raw fold paths for callers that score them
their own way (scikit-learn's ``LogisticRegressionCV``), with a per-row
scale of the grid for conventions whose penalty scales with the training
set's size.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import Array

from jaxreg import _compile, _problem
from jaxreg._folds import Folds, fold_scores, fold_weights, select
from jaxreg._spec import Hyper, Spec
from jaxreg._strategies import coordinate_descent, geometric_grid, solve_path
from jaxreg.result import CVResult, PathResult


def sequential(spec: Spec) -> bool:
    """Whether the fold x l1_ratio paths run one after another (else vmapped)."""
    return spec.strategy == "working_set" or (
        spec.use_gram and spec.strategy == "warm" and spec.mesh is None
    )


def auto_axes(x):
    """``x`` relabelled onto a mesh whose axes the compiler places (same
    devices, same layout, its buffers not copied).

    Arrays laid out on a mesh with explicit axes (``jax.make_mesh``'s
    default) carry their layout in their type, which the sharding
    constraints of :func:`_shard` cannot mix with; the constraints say where
    the data is to be, so the type adds nothing.
    """
    sharding = getattr(x, "sharding", None)
    if not isinstance(sharding, jax.sharding.NamedSharding):
        return x
    mesh = sharding.mesh
    if all(t == jax.sharding.AxisType.Auto for t in mesh.axis_types):
        return x
    relabelled = jax.sharding.NamedSharding(
        _auto_mesh(mesh), sharding.spec, memory_kind=sharding.memory_kind
    )
    shards = [s.data for s in x.addressable_shards]
    return jax.make_array_from_single_device_arrays(x.shape, relabelled, shards)


def _auto_mesh(mesh):
    """``mesh`` with automatic (compiler-chosen) axes, which sharding
    constraints need, whatever the mesh was made with."""
    auto = (jax.sharding.AxisType.Auto,) * len(mesh.axis_names)
    return jax.sharding.Mesh(mesh.devices, mesh.axis_names, axis_types=auto)


def _replicated(tree, mesh):
    """Every leaf of ``tree`` on every device of ``mesh``: the results are
    small, and where the mesh spans several processes each of them can then
    read every result (a leaf split across processes could not be fetched)."""
    if mesh is None:
        return tree
    everywhere = jax.sharding.NamedSharding(_auto_mesh(mesh), jax.sharding.PartitionSpec())
    return jax.tree.map(lambda a: jax.lax.with_sharding_constraint(a, everywhere), tree)


def _shard(X, W, mesh):
    """Place the fold batch on the mesh axis "batch" and the rows of X on "rows".

    Sharding constraints inside the compiled call: XLA partitions the batched
    solves across devices (uneven splits are padded), and never changes results.
    """
    if mesh is None:
        return X, W
    names = mesh.axis_names
    mesh = _auto_mesh(mesh)
    P = jax.sharding.PartitionSpec
    if "rows" in names:
        X = jax.lax.with_sharding_constraint(X, jax.sharding.NamedSharding(mesh, P("rows", None)))
    if "batch" in names:
        W = jax.lax.with_sharding_constraint(W, jax.sharding.NamedSharding(mesh, P("batch", None)))
    return X, W


def _fold_paths(problems, axes, alphas, l1_ratios, hyper: Hyper, spec: Spec, scale):
    """The paths of the problems along every l1_ratio's grid, row ``f``'s grid
    multiplied by ``scale[f]`` (one row per problem run): leaves
    ``(rows, L, A, ...)``."""
    n_rows = scale.shape[0]

    def walk(problem, grid, ratio):
        return solve_path(problem, grid, ratio, hyper.max_iter, spec)

    if sequential(spec):
        # One path after another, folds x l1_ratios as one sequential map: the
        # working-set solver must not be vmapped, and in Gram mode every fold
        # has its own Gram matrix, so a batch shares no data and would run each
        # chunk until its slowest lane converges.
        n_ratios = l1_ratios.shape[0]

        def one_path(k):
            f, r = k // n_ratios, k % n_ratios
            return walk(_problem.one_problem(problems, axes, f), alphas[r] * scale[f], l1_ratios[r])

        flat = jax.lax.map(one_path, jnp.arange(n_rows * n_ratios))
        return jax.tree.map(lambda a: a.reshape((n_rows, n_ratios) + a.shape[1:]), flat)

    def per_fold(problem, scale_f):
        return jax.vmap(lambda grid, ratio: walk(problem, grid * scale_f, ratio))(alphas, l1_ratios)

    return jax.vmap(per_fold, in_axes=(axes, 0))(problems, scale)


def _grid(problems, axes, alphas, l1_ratios, hyper: Hyper, spec: Spec):
    """The grid per l1_ratio, (L, A): the user's, or the default one from the
    full data's ``alpha_max`` (the last problem, already prepared)."""
    if alphas is None:
        full = _problem.one_problem(problems, axes, -1)
        top = _problem.alpha_max(full, hyper.max_iter, 1e-10, spec.null_fit)
        grid = geometric_grid(jnp.ones((), hyper.eps.dtype), spec.n_alphas, hyper.eps)
        return (top / l1_ratios)[:, None] * grid[None, :]
    if alphas.ndim == 1:
        return jnp.broadcast_to(alphas, (l1_ratios.shape[0], alphas.shape[0]))
    return alphas


def _fits(X, y, hyper: Hyper, folds: Folds, alphas, l1_ratios, spec: Spec):
    """The prepared problems, the grid and the fold paths (traced)."""
    X, W = _shard(X, folds.W, spec.mesh)
    folds = folds._replace(W=W)
    held = (folds.held_idx, folds.held_valid)
    problems, axes = _problem.setup_rows(spec, hyper, X, y, folds.W, held)
    alphas = _grid(problems, axes, alphas, l1_ratios, hyper, spec)
    # Without the full path, sequential walks leave the full data out (it is
    # refit along the selected l1_ratio only); batched ones keep it.
    rows = folds.W.shape[0] if (spec.full_path or not sequential(spec)) else folds.W.shape[0] - 1
    fits = _fold_paths(problems, axes, alphas, l1_ratios, hyper, spec, folds.alpha_scale[:rows])
    return X, folds, problems, axes, alphas, fits


_OPTIONS = dict(static_argnames=("spec",), unhoisted=coordinate_descent, unoptimized=True)


@_compile.jit(quick=lambda kwargs: not coordinate_descent(kwargs), **_OPTIONS)
def fold_fits(X, y, hyper: Hyper, folds: Folds, alphas, l1_ratios, *, spec: Spec):
    """The fits of every fold (and of the full data, last) at every grid
    point, leaves ``(K + 1, L, A, ...)``, and the grid ``(L, A)``; fold ``k``
    solves at its grid times ``folds.alpha_scale[k]``."""
    _, _, _, _, alphas, fits = _fits(X, y, hyper, folds, alphas, l1_ratios, spec)
    return fits, alphas


@_compile.jit(quick=lambda kwargs: not coordinate_descent(kwargs), **_OPTIONS)
def cv_glm(X, y, hyper: Hyper, folds: Folds, alphas, l1_ratios, *, spec: Spec) -> CVResult:
    """Cross-validation of a GLM: fold paths, held-out scores, the selection
    rules and the full data's fits (see :func:`jaxreg.cross_validate`)."""
    X, folds, problems, axes, alphas, fits = _fits(X, y, hyper, folds, alphas, l1_ratios, spec)
    # X's columns are the caller's over col_scale (see jaxreg._rescale).
    classes = getattr(spec.datafit, "outputs", 1) > 1
    coef_x = fits.coef * (hyper.col_scale[:, None] if classes else hyper.col_scale)
    scores = fold_scores(X, y, coef_x, fits.intercept, folds, spec.scoring)
    mean, se, li, ai, i1se = select(scores, fold_weights(folds), alphas, spec.scoring)
    if fits.coef.shape[0] == folds.W.shape[0]:  # the full data rode along as the last row
        full = jax.tree.map(lambda a: a[-1], fits)  # (L, A, ...)
        best = _problem.take(full, li, ai)
        best_1se = _problem.take(full, li, i1se)
    else:
        # The full data along the selected l1_ratio only, down to alpha_min:
        # the same warm-started walk as its full path, stopped early.
        problem = _problem.one_problem(problems, axes, -1)
        grid = alphas[li] * folds.alpha_scale[-1]
        refit = solve_path(problem, grid, l1_ratios[li], hyper.max_iter, spec, stop=ai + 1)
        best = _problem.take(refit, ai)
        best_1se = _problem.take(refit, i1se)
    path = jax.vmap(PathResult.from_fits)(alphas, full) if spec.full_path else None
    result = CVResult(
        alphas=alphas,
        l1_ratios=l1_ratios,
        fold_scores=scores,
        mean=mean,
        se=se,
        n_nonzero=_nonzero_features(full.coef, classes) if spec.full_path else None,
        best_index=jnp.stack([li, ai]),
        alpha_min=alphas[li, ai],
        alpha_1se=alphas[li, i1se],
        l1_ratio_min=l1_ratios[li],
        best=best,
        best_1se=best_1se,
        path=path,
        fold_status=fits.status[: folds.held_idx.shape[0]],  # the K folds, whatever rode along
        scoring=spec.scoring,
    )
    return _replicated(result, spec.mesh)


def _nonzero_features(coef: Array, classes: bool) -> Array:
    """Features with a nonzero coefficient (for any class), per grid point."""
    nonzero = coef != 0
    if classes:
        nonzero = jnp.any(nonzero, axis=-1)
    return jnp.sum(nonzero, axis=-1)
