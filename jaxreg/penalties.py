"""Penalties, as pytrees of weights: separable (per coordinate) and grouped.

The penalty protocol (what solvers and certificates may use): ``value``,
``prox(v, step)``, the Fenchel-Young terms of the duality gap
(``fenchel_young``, with ``dual_scales`` the rescalings that make a dual
point feasible and ``free`` the coordinates no rescaling can), the
subdifferential distance ``kkt_residual``, ``alpha_max`` from the gradient at
zero, ``support``, the per-coordinate mask of negligible weights
(``negligible``) and the penalty with some coordinates' weights removed
(``without``). ``separable`` says whether it is a sum over coordinates:
coordinate-wise solvers (working sets, proximal Newton, the support polish)
also read the per-coordinate weights and bounds (``l1``, ``l2``, ``lower``,
``upper``) of a separable penalty, and run on nothing else.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
from jax import Array

from jaxreg.prox import prox_elastic_net, soft_threshold

__all__ = ["ElasticNetPenalty", "GroupPenalty"]


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class ElasticNetPenalty:
    r"""Bounded, weighted elastic-net penalty.

    .. math:: h(w) = \sum_j \lambda_{1,j} |w_j| + \tfrac{\lambda_{2,j}}{2} w_j^2
              + \iota_{[l_j, u_j]}(w_j).

    With ``alpha``, ``l1_ratio`` and penalty factors ``pf`` this is
    ``l1 = alpha * l1_ratio * pf`` and ``l2 = alpha * (1 - l1_ratio) * pf``.
    Coordinates with ``l1 = l2 = 0`` and an infinite bound in the direction of
    their gradient are *free* (unpenalized): no dual rescaling can make them
    feasible, so the duality gap treats them as held fixed and the KKT residual
    certifies them instead.

    Attributes:
      l1: per-coordinate L1 weights, shape ``(p,)``.
      l2: per-coordinate L2 weights, shape ``(p,)``.
      lower: per-coordinate lower bounds (``-inf`` for none).
      upper: per-coordinate upper bounds (``+inf`` for none).
    """

    l1: Array
    l2: Array
    lower: Array
    upper: Array
    separable = True

    def value(self, w: Array) -> Array:
        """Penalty value (bounds assumed to hold)."""
        return jnp.sum(self.l1 * jnp.abs(w) + 0.5 * self.l2 * w * w)

    def negligible(self, small) -> Array:
        """Coordinates whose weights are both at most ``small``."""
        return (self.l1 <= small) & (self.l2 <= small)

    def without(self, mask: Array) -> ElasticNetPenalty:
        """The penalty with the weights of ``mask``'s coordinates set to zero."""
        return dataclasses.replace(
            self, l1=jnp.where(mask, 0.0, self.l1), l2=jnp.where(mask, 0.0, self.l2)
        )

    def invalid(self) -> Array:
        """Whether the bounds are inconsistent (``lower > upper`` somewhere)."""
        return jnp.any(self.lower > self.upper)

    def prox(self, v: Array, step: Array) -> Array:
        """Proximal operator of ``step * h``."""
        return prox_elastic_net(v, step * self.l1, step * self.l2, self.lower, self.upper)

    def _conjugate_argmax(self, g: Array) -> Array:
        # argmax_{l <= w <= u} g w - l1 |w| - l2 w^2 / 2: clip of the unconstrained
        # maximizer, which is infinite when l2 == 0 and |g| > l1.
        s = soft_threshold(g, self.l1)
        safe_l2 = jnp.where(self.l2 > 0, self.l2, 1.0)
        unconstrained = jnp.where(
            self.l2 > 0, s / safe_l2, jnp.where(s == 0, 0.0, jnp.sign(s) * jnp.inf)
        )
        return jnp.clip(unconstrained, self.lower, self.upper)

    def _unbounded_direction(self, g: Array) -> Array:
        """Coordinates whose conjugate is +inf once |g| exceeds l1."""
        return (self.l2 == 0) & jnp.where(g > 0, self.upper == jnp.inf, self.lower == -jnp.inf)

    def free(self, g: Array) -> Array:
        """Coordinates that are unpenalized and unbounded in the direction of ``g``."""
        return self._unbounded_direction(g) & (self.l1 == 0)

    def dual_scales(self, g: Array) -> Array:
        r"""Two valid rescalings, shape ``(2,)``: the largest :math:`\kappa \le 1`
        with :math:`h^*(\kappa g)` finite, bar free coordinates, and the same
        with every box treated as absent (better when boxes are loose).

        Computed in one pass over the coordinates.
        """
        absg = jnp.abs(g)
        unbounded = jnp.stack(
            [self._unbounded_direction(g), jnp.broadcast_to(self.l2 == 0, g.shape)]
        )
        limited = unbounded & (self.l1 > 0) & (absg > self.l1)
        ratios = jnp.where(limited, self.l1 / jnp.where(limited, absg, 1.0), 1.0)
        return jnp.minimum(1.0, jnp.min(ratios, axis=-1, initial=1.0))

    def fenchel_young(self, w: Array, v: Array) -> Array:
        r"""Sum over coordinates of :math:`h_j(w_j) + h_j^*(v_j) - v_j w_j \ge 0`.

        ``v`` may stack several dual points along leading axes (one sum each).
        Free coordinates contribute zero (they are certified by the KKT residual).
        Summing nonnegative terms avoids the cancellation of ``P(w) - D(theta)``,
        which is what lets float32 reach small relative gaps.
        """
        # The dual rescaling guarantees |v| <= l1 on unbounded coordinates; clamp
        # so that rounding in kappa * g cannot push the conjugate to +inf.
        limited = self._unbounded_direction(v) & (self.l1 > 0)
        v = jnp.where(limited, jnp.clip(v, -self.l1, self.l1), v)
        w_star = self._conjugate_argmax(v)
        free = self.free(v)
        w_star = jnp.where(free, w, w_star)
        return jnp.sum(jnp.where(free, 0.0, self._fenchel_young_terms(w, v, w_star)), axis=-1)

    def strong_fenchel_young(self, w: Array, v: Array) -> Array:
        r""":meth:`fenchel_young` for a penalty with every ``l2 > 0``: each
        conjugate is finite, no coordinate is free and nothing needs clamping.
        (Where some ``l2`` is zero the terms are meaningless: callers check.)"""
        safe_l2 = jnp.where(self.l2 > 0, self.l2, 1.0)
        w_star = jnp.clip(soft_threshold(v, self.l1) / safe_l2, self.lower, self.upper)
        return jnp.sum(self._fenchel_young_terms(w, v, w_star))

    def _fenchel_young_terms(self, w: Array, v: Array, w_star: Array) -> Array:
        """Per-coordinate ``h(w) + h*(v) - v w`` given the conjugate's maximizer
        ``w_star``, floored at zero (it is nonnegative up to rounding)."""
        conj = v * w_star - self.l1 * jnp.abs(w_star) - 0.5 * self.l2 * w_star * w_star
        terms = self.l1 * jnp.abs(w) + 0.5 * self.l2 * w * w + conj - v * w
        return jnp.maximum(terms, 0.0)

    def support(self, w: Array) -> Array:
        """The coordinates a solution keeps: nonzero ones."""
        return w != 0

    def alpha_max(self, grad: Array) -> Array:
        """The smallest multiple of the L1 weights at which zero is optimal for
        a datafit with gradient ``grad`` at zero: the largest ratio of the
        gradient, in a direction the bounds allow, to the L1 weight (over the
        coordinates with a positive weight)."""
        penalized = self.l1 > 0
        directional = jnp.maximum(
            jnp.where(self.upper > 0, -grad, 0.0), jnp.where(self.lower < 0, grad, 0.0)
        )
        ratios = jnp.where(penalized, directional / jnp.where(penalized, self.l1, 1.0), 0.0)
        return jnp.max(ratios)

    def kkt_residual(self, w: Array, neg_grad: Array, step: Array) -> Array:
        """Max-abs prox-gradient mapping ``|w - prox(w + step * g)| / step``.

        Zero exactly at a solution; in gradient units.
        """
        return _prox_gradient_residual(self, w, neg_grad, step)


def _prox_gradient_residual(pen, w: Array, neg_grad: Array, step: Array) -> Array:
    """Max-abs prox-gradient mapping of ``pen``: ``|w - prox(w + step g)| / step``."""
    return jnp.max(jnp.abs(w - pen.prox(w + step * neg_grad, step)), initial=0.0) / step


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class GroupPenalty:
    r"""Weighted group-lasso penalty with a ridge term (the sparse-group
    elastic net's group part).

    .. math:: h(w) = \sum_g \lambda_{1,g} \|w_g\|_2 + \tfrac{\lambda_{2,g}}{2} \|w_g\|_2^2

    over the groups ``g`` of coordinates. With ``alpha``, ``l1_ratio``, group
    sizes ``|g|`` and a penalty factor ``f_g`` per group this is
    ``l1 = alpha * l1_ratio * sqrt(|g|) * f_g`` and
    ``l2 = alpha * (1 - l1_ratio) * f_g``. A group with both weights zero is
    free (unpenalized). Its proximal operator shrinks each group's norm:
    block soft-thresholding, then the ridge's scaling. No bounds: ``lower``
    and ``upper`` are infinite and kept so that the protocol's readers find
    them; :meth:`invalid` flags any finite one (the proximal operator would
    ignore it).

    Attributes:
      l1: per-group weights of the norms, shape ``(G,)``.
      l2: per-group weights of the squared norms, shape ``(G,)``.
      groups: the group of each coordinate, integers in ``[0, G)``, shape ``(p,)``.
      lower: lower bounds, all ``-inf``, shape ``(p,)``.
      upper: upper bounds, all ``+inf``, shape ``(p,)``.
      uneven: whether the penalty factors of some group's coordinates
        differ (checked on concrete input; a traced one is flagged here).
    """

    l1: Array
    l2: Array
    groups: Array
    lower: Array
    upper: Array
    uneven: Array | bool = False
    separable = False

    @staticmethod
    def feature_groups(groups: tuple, dtype) -> tuple[Array, int, Array]:
        """Each feature's group id as an array, the number of groups, and
        each group's size counted in features (the ``|g|`` of its weight)."""
        ids = jnp.asarray(groups, jnp.int32)
        count = max(groups) + 1
        return ids, count, jax.ops.segment_sum(jnp.ones(ids.shape, dtype), ids, count)

    def _sums(self, a: Array) -> Array:
        """Per-group sums over the last axis: ``(..., p) -> (..., G)``."""
        out = jax.ops.segment_sum(
            jnp.moveaxis(a, -1, 0), self.groups, num_segments=self.l1.shape[-1]
        )
        return jnp.moveaxis(out, 0, -1)

    def _expand(self, a: Array) -> Array:
        """Per-group values on their coordinates: ``(..., G) -> (..., p)``."""
        return jnp.take(a, self.groups, axis=-1)

    def norms(self, w: Array) -> Array:
        """The Euclidean norm of each group of ``w``, shape ``(..., G)``.

        Its derivative at a zero group is taken as zero (the double ``where``):
        the square root's is infinite there, and a zero cotangent times it
        would be NaN in every derivative through a fit with a zero group."""
        sq = self._sums(w * w)
        return jnp.where(sq > 0, jnp.sqrt(jnp.where(sq > 0, sq, 1.0)), 0.0)

    def value(self, w: Array) -> Array:
        """Penalty value."""
        r = self.norms(w)
        return jnp.sum(self.l1 * r + 0.5 * self.l2 * r * r)

    def prox(self, v: Array, step: Array) -> Array:
        """Proximal operator of ``step * h``: each group's norm soft-thresholded
        at ``step * l1``, then divided by ``1 + step * l2``."""
        r = self.norms(v)
        keep = jnp.maximum(1.0 - step * self.l1 / jnp.where(r > 0, r, 1.0), 0.0)
        return v * self._expand(keep / (1.0 + step * self.l2))

    def negligible(self, small) -> Array:
        """Coordinates whose group's weights are both at most ``small``."""
        return self._expand((self.l1 <= small) & (self.l2 <= small))

    def without(self, mask: Array) -> GroupPenalty:
        """The penalty with the weights of the groups ``mask`` touches set to zero."""
        touched = self._sums(mask.astype(self.l1.dtype)) > 0
        return dataclasses.replace(
            self, l1=jnp.where(touched, 0.0, self.l1), l2=jnp.where(touched, 0.0, self.l2)
        )

    def invalid(self) -> Array:
        """Whether a bound is finite (a group penalty takes none), or a
        group's penalty factors differ (its norm is weighted as one)."""
        return jnp.any(jnp.isfinite(self.lower) | jnp.isfinite(self.upper)) | self.uneven

    def free(self, g: Array) -> Array:
        """Coordinates of unpenalized groups (no rescaling makes them feasible)."""
        return self._expand((self.l1 == 0) & (self.l2 == 0)) & jnp.ones(g.shape, bool)

    def dual_scales(self, g: Array) -> Array:
        r"""The largest :math:`\kappa \le 1` with :math:`h^*(\kappa g)` finite,
        bar free groups: groups with no ridge term need
        :math:`\kappa \|g_g\| \le \lambda_{1,g}`. Twice, shape ``(2,)``, as
        the bounded elastic net gives two (there are no boxes here)."""
        r = self.norms(g)
        limited = (self.l2 == 0) & (self.l1 > 0) & (r > self.l1)
        ratios = jnp.where(limited, self.l1 / jnp.where(limited, r, 1.0), 1.0)
        kappa = jnp.minimum(1.0, jnp.min(ratios, axis=-1, initial=1.0))
        return jnp.stack([kappa, kappa])

    def _terms(self, w: Array, v: Array, clamp: bool) -> Array:
        """Per-group ``h_g(w_g) + h_g^*(v_g) - <v_g, w_g>``, floored at zero.

        ``h_g^*(v_g) = (|v_g| - l1)_+^2 / (2 l2)``, or 0 where ``l2 = 0`` and
        ``|v_g| <= l1`` (``clamp``: rounding in a rescaled dual point is
        pulled back onto that ball)."""
        s = self.norms(v)
        dot = self._sums(v * w)
        if clamp:
            limited = (self.l2 == 0) & (self.l1 > 0) & (s > self.l1)
            shrink = jnp.where(limited, self.l1 / jnp.where(limited, s, 1.0), 1.0)
            s, dot = s * shrink, dot * shrink
        safe_l2 = jnp.where(self.l2 > 0, self.l2, 1.0)
        excess = jnp.maximum(s - self.l1, 0.0)
        conj = jnp.where(self.l2 > 0, 0.5 * excess * excess / safe_l2, 0.0)
        r = self.norms(w)
        return jnp.maximum(self.l1 * r + 0.5 * self.l2 * r * r + conj - dot, 0.0)

    def fenchel_young(self, w: Array, v: Array) -> Array:
        r"""Sum over groups of :math:`h_g(w_g) + h_g^*(v_g) - \langle v_g, w_g\rangle \ge 0`.

        ``v`` may stack several dual points along leading axes (one sum
        each). Free groups contribute zero (they are certified apart)."""
        free = (self.l1 == 0) & (self.l2 == 0)
        return jnp.sum(jnp.where(free, 0.0, self._terms(w, v, clamp=True)), axis=-1)

    def strong_fenchel_young(self, w: Array, v: Array) -> Array:
        """:meth:`fenchel_young` for a penalty with every ``l2 > 0`` (each
        conjugate finite, nothing to clamp; callers check)."""
        return jnp.sum(self._terms(w, v, clamp=False))

    def support(self, w: Array) -> Array:
        """The coordinates a solution keeps: nonzero ones (whole groups)."""
        return w != 0

    def alpha_max(self, grad: Array) -> Array:
        """The smallest multiple of the weights ``l1`` at which zero is optimal
        for a datafit with gradient ``grad`` at zero: the largest ratio of a
        group's gradient norm to its weight (over groups with a positive one)."""
        penalized = self.l1 > 0
        r = self.norms(grad)
        return jnp.max(jnp.where(penalized, r / jnp.where(penalized, self.l1, 1.0), 0.0))

    def kkt_residual(self, w: Array, neg_grad: Array, step: Array) -> Array:
        """Max-abs prox-gradient mapping ``|w - prox(w + step * g)| / step``."""
        return _prox_gradient_residual(self, w, neg_grad, step)
