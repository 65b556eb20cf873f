"""Proximal operators of the L1, L2 and elastic-net penalties, with bounds.

All operators are elementwise, so per-feature penalty factors and bounds are
simply arrays broadcast against the coefficients.
"""

from __future__ import annotations

import jax.numpy as jnp
from jax import Array
from jax.typing import ArrayLike

__all__ = ["soft_threshold", "prox_l2", "prox_elastic_net"]


def soft_threshold(v: ArrayLike, threshold: ArrayLike) -> Array:
    r"""Soft-thresholding, the proximal operator of the L1 norm.

    Solves, elementwise,

    .. math:: \operatorname{argmin}_w \tfrac12 (w - v)^2 + \tau |w|
              = \operatorname{sign}(v) \max(|v| - \tau, 0).

    Args:
      v: point at which the operator is evaluated.
      threshold: :math:`\tau \ge 0`, a scalar or an array broadcastable to ``v``.

    Returns:
      The thresholded array, with exact zeros where ``|v| <= threshold``.

    Example:
      >>> import jax.numpy as jnp
      >>> soft_threshold(jnp.array([-2.0, 0.5, 3.0]), 1.0).tolist()
      [-1.0, 0.0, 2.0]
    """
    v = jnp.asarray(v)
    return jnp.sign(v) * jnp.maximum(jnp.abs(v) - threshold, 0.0)


def prox_l2(v: ArrayLike, strength: ArrayLike) -> Array:
    r"""Proximal operator of the squared L2 penalty (closed-form shrinkage).

    .. math:: \operatorname{argmin}_w \tfrac12 (w - v)^2 + \tfrac{\mu}{2} w^2
              = \frac{v}{1 + \mu}.

    Args:
      v: point at which the operator is evaluated.
      strength: :math:`\mu \ge 0` (step size times the L2 weight).

    Example:
      >>> import jax.numpy as jnp
      >>> prox_l2(jnp.array([2.0, -4.0]), 1.0).tolist()
      [1.0, -2.0]
    """
    return jnp.asarray(v) / (1.0 + strength)


def prox_elastic_net(
    v: ArrayLike,
    l1: ArrayLike,
    l2: ArrayLike = 0.0,
    lower: ArrayLike = -jnp.inf,
    upper: ArrayLike = jnp.inf,
) -> Array:
    r"""Proximal operator of the bounded elastic-net penalty.

    Solves, elementwise,

    .. math:: \operatorname{argmin}_{l \le w \le u}
              \tfrac12 (w - v)^2 + \lambda_1 |w| + \tfrac{\lambda_2}{2} w^2
              = \operatorname{clip}\Big(\frac{S_{\lambda_1}(v)}{1 + \lambda_2}, l, u\Big),

    where :math:`S` is soft-thresholding. Clipping the unconstrained minimizer is
    exact because each coordinate is a one-dimensional convex problem.
    Per-feature penalty factors are expressed by passing arrays for ``l1`` and
    ``l2`` (already multiplied by the step size).

    Args:
      v: point at which the operator is evaluated.
      l1: L1 weight :math:`\lambda_1 \ge 0` (scalar or per coordinate).
      l2: L2 weight :math:`\lambda_2 \ge 0` (scalar or per coordinate).
      lower: lower bounds :math:`l` (``-inf`` for none).
      upper: upper bounds :math:`u` (``+inf`` for none).

    Example:
      >>> import jax.numpy as jnp
      >>> prox_elastic_net(jnp.array([-3.0, 0.5, 3.0]), 1.0, 1.0, lower=0.0).tolist()
      [0.0, 0.0, 1.0]

    References:
      Parikh and Boyd, *Proximal Algorithms*, Foundations and Trends in
      Optimization 1(3), 2014, section 6.5.
    """
    return jnp.clip(soft_threshold(v, l1) / (1.0 + jnp.asarray(l2)), lower, upper)
