r"""optax transformations that put L1, elastic-net or L2 penalties on any JAX model.

Each transformation turns the update of the optimizer before it in an
``optax.chain`` into a *proximal* update: with ``u`` the incoming update and
``eta`` the learning rate, the parameters become

.. math:: \theta \leftarrow \operatorname{prox}_{\eta h}(\theta + u),

for the penalty :math:`h(\theta) = \alpha \sum_j \big(\rho |\theta_j| +
\tfrac{1 - \rho}{2} \theta_j^2\big)` over the selected parameters. Chained after
``optax.sgd(eta)`` this is proximal gradient descent on
:math:`L(\theta) + h(\theta)` (with momentum, its accelerated variant). After
an adaptive optimizer such as Adam the threshold is not rescaled by the
optimizer's preconditioner, so weights that Adam keeps moving by about ``eta``
per step rarely reach zero: use SGD (with momentum) where exact zeros matter
(see ``examples/optax_feature_selection.py``). Unlike adding :math:`\alpha |\theta|` to the loss
(whose subgradient steps oscillate around zero), the L1 prox sets weights to
exactly zero, which is what feature selection needs.

``mask`` selects the parameters the penalty touches (a pytree of booleans
like the parameters, or a function of the parameters returning one), as
``optax.masked`` does; unselected parameters pass through unchanged.

Example:
  >>> import jax.numpy as jnp, optax, jaxreg
  >>> params = {"w": jnp.array([0.5, -0.02, 0.3]), "b": jnp.array(0.1)}
  >>> opt = optax.chain(
  ...     optax.sgd(0.1),
  ...     jaxreg.optim.l1_prox(alpha=0.5, learning_rate=0.1, mask={"w": True, "b": False}),
  ... )
  >>> state = opt.init(params)
  >>> grads = {"w": jnp.zeros(3), "b": jnp.zeros(())}
  >>> updates, state = opt.update(grads, state, params)
  >>> optax.apply_updates(params, updates)["w"].tolist()
  [0.45, 0.0, 0.25]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from jaxreg.prox import prox_elastic_net

__all__ = ["elastic_net_prox", "l1_prox", "l2_prox"]

Schedule = Callable[[Any], Any]


class _ProxState(NamedTuple):
    count: jax.Array


def _check_nonneg(value, name: str) -> None:
    # inf is no step and no penalty: it turned every parameter into NaN.
    if not callable(value) and not (0.0 <= float(value) < float("inf")):
        raise ValueError(f"{name} must be a finite nonnegative number or a schedule, got {value!r}")


def _value(value, count):
    return value(count) if callable(value) else value


def elastic_net_prox(
    alpha: float | Schedule,
    l1_ratio: float,
    learning_rate: float | Schedule,
    mask: Any | Callable[[Any], Any] | None = None,
) -> optax.GradientTransformation:
    r"""Proximal step of the elastic-net penalty, applied after an update.

    Penalty on the selected parameters:
    :math:`h(\theta) = \alpha \sum_j \big(\rho |\theta_j| + \tfrac{1-\rho}{2}\theta_j^2\big)`,
    ``rho = l1_ratio``. The new parameters are ``prox_{eta h}(theta + u)``,
    ``soft_threshold(theta + u, eta alpha rho) / (1 + eta alpha (1 - rho))``.

    Args:
      alpha: penalty strength (a number or an optax schedule of the step count).
      l1_ratio: mixing ``rho`` in [0, 1] (1: L1, 0: L2).
      learning_rate: the step size ``eta`` of the optimizer this follows (a
        number or the same schedule), which scales the threshold.
      mask: which parameters are penalized (see the module docstring); default all.

    Returns:
      An ``optax.GradientTransformation``; its ``update`` needs ``params``.

    Raises:
      ValueError: for a negative ``alpha`` or ``learning_rate``, or ``l1_ratio``
        outside [0, 1].
    """
    _check_nonneg(alpha, "alpha")
    _check_nonneg(learning_rate, "learning_rate")
    if not 0.0 <= float(l1_ratio) <= 1.0:
        raise ValueError(f"l1_ratio must be in [0, 1], got {l1_ratio!r}")
    rho = float(l1_ratio)

    def init(params):
        del params
        return _ProxState(count=jnp.zeros((), jnp.int32))

    def update(updates, state, params=None):
        if params is None:
            raise ValueError("elastic_net_prox needs params: call update(updates, state, params)")
        a = _value(alpha, state.count)
        eta = _value(learning_rate, state.count)

        def prox(u, p):
            target = p + u
            dtype = target.dtype
            new = prox_elastic_net(
                target,
                jnp.asarray(eta * a * rho, dtype),
                jnp.asarray(eta * a * (1.0 - rho), dtype),
                jnp.asarray(-jnp.inf, dtype),
                jnp.asarray(jnp.inf, dtype),
            )
            return new - p

        new_updates = jax.tree.map(prox, updates, params)
        return new_updates, _ProxState(count=optax.safe_increment(state.count))

    transform = optax.GradientTransformation(init, update)
    return transform if mask is None else optax.masked(transform, mask)


def l1_prox(
    alpha: float | Schedule,
    learning_rate: float | Schedule,
    mask: Any | Callable[[Any], Any] | None = None,
) -> optax.GradientTransformation:
    r"""Soft-thresholding after an update: the proximal step of ``alpha * sum |theta|``.

    The new parameters are ``sign(v) * max(|v| - eta * alpha, 0)`` with
    ``v = theta + u``: weights whose magnitude falls below the threshold become
    exactly zero. See :func:`elastic_net_prox` for the arguments.
    """
    return elastic_net_prox(alpha, 1.0, learning_rate, mask)


def l2_prox(
    alpha: float | Schedule,
    learning_rate: float | Schedule,
    mask: Any | Callable[[Any], Any] | None = None,
) -> optax.GradientTransformation:
    r"""Shrinkage after an update: the proximal step of ``(alpha / 2) * sum theta^2``.

    The new parameters are ``(theta + u) / (1 + eta * alpha)``: every weight
    shrinks by the same factor and none becomes zero (weight decay in its
    implicit form). See :func:`elastic_net_prox` for the arguments.
    """
    return elastic_net_prox(alpha, 0.0, learning_rate, mask)
