r"""Proximal optax optimizers: L1, elastic-net, L2 and group-lasso penalties on any JAX model.

:func:`proximal` turns an optax optimizer into its proximal version for a
penalty :math:`h` on (some of) the parameters, from *one* learning rate. To
minimize :math:`L(\theta) + h(\theta)`, where :math:`L` is the loss whose
gradients are passed to ``update``, step :math:`t` evaluates the rate
:math:`\eta_t` once (a number or an optax schedule), builds the optimizer
with it, and ends with the proximal step of :math:`\eta_t h`,

.. math:: \operatorname{prox}_{\eta h}(v)
          = \operatorname{argmin}_w \tfrac12 \|w - v\|^2 + \eta\, h(w).

With ``optax.sgd`` a step is exactly proximal gradient descent (ISTA),

.. math:: \theta \leftarrow
          \operatorname{prox}_{\eta_t h}\big(\theta - \eta_t \nabla L(\theta)\big),

which converges to a minimizer of :math:`L + h` for a convex :math:`L` with an
:math:`\ell`-Lipschitz gradient and :math:`\eta \le 1/\ell`. Because the
optimizer and the proximal step read the same rate, the penalty strength is
:math:`\alpha` whatever the rate or its schedule. With momentum or an adaptive
optimizer, the optimizer also sees the penalty (through the subgradient of
:math:`h` that the last proximal step produced), so the iteration still comes
to rest at a minimizer of :math:`L + h` rather than of a rescaled objective;
see :func:`proximal`. Exact zeros are surest with SGD, with or without
momentum: Adam's steps of about :math:`\eta` per weight, whatever the size of
its gradient, tend to carry weights across the threshold rather than onto zero.

The penalties, with their proximal steps:

* :func:`l1`: :math:`h(\theta) = \alpha \sum_j |\theta_j|`, soft-thresholding
  :math:`\operatorname{sign}(v) \max(|v| - \eta\alpha, 0)`;
* :func:`l2`: :math:`h(\theta) = \tfrac{\alpha}{2} \sum_j \theta_j^2`, shrinkage
  :math:`v / (1 + \eta\alpha)`;
* :func:`elastic_net`: :math:`h(\theta) = \alpha \sum_j \big(\rho |\theta_j| +
  \tfrac{1-\rho}{2}\theta_j^2\big)`, both in turn:
  :math:`\operatorname{sign}(v) \max(|v| - \eta\alpha\rho, 0) / (1 + \eta\alpha(1-\rho))`;
* :func:`group_lasso`: :math:`h(\theta) = \alpha \sum_g \|\theta_g\|_2`, block
  soft-thresholding :math:`v_g \max(1 - \eta\alpha / \|v_g\|_2, 0)` of each group.

These are scikit-learn's conventions (``Lasso(alpha)``, ``ElasticNet(alpha,
l1_ratio)``): ``proximal(optax.sgd, l1(alpha), 1 / ell)`` on
``0.5 * jnp.mean((y - X @ w) ** 2)`` converges to :func:`jaxreg.lasso`'s
solution. Unlike adding :math:`\alpha |\theta|` to the loss (whose subgradient
steps oscillate around zero), the L1 and group-lasso proximal steps set weights
(or whole groups, such as all the weights leaving one input) to exactly zero,
which is what feature selection needs. Any object with a ``prox(v, step)``
method returning :math:`\operatorname{prox}_{\mathrm{step}\, h}(v)`, such as
:class:`jaxreg.penalties.ElasticNetPenalty` (which adds bounds), can be a
penalty.

Which parameters a penalty touches: ``mask`` selects them for a single
penalty (a pytree of booleans like the parameters or a prefix of them, or a
function of the parameters returning one, as for ``optax.masked``), or the
penalty is itself a tree of penalties, a prefix of the parameters with
``None`` for those left alone, e.g. ``{"W": group_lasso(0.05), "v": l2(0.01),
"b": None}``. Unpenalized parameters take the optimizer's update unchanged.
``examples/optax_feature_selection.py`` selects the inputs of a small network
with :func:`group_lasso` on its input layer.

Example:
  >>> import jax.numpy as jnp, optax, jaxreg
  >>> params = {"w": jnp.array([0.75, -0.0625, 0.375]), "b": jnp.array(0.5)}
  >>> opt = jaxreg.optim.proximal(
  ...     optax.sgd, jaxreg.optim.l1(0.25), learning_rate=0.5, mask={"w": True, "b": False}
  ... )
  >>> state = opt.init(params)
  >>> grads = {"w": jnp.zeros(3), "b": jnp.zeros(())}
  >>> updates, state = opt.update(grads, state, params)
  >>> optax.apply_updates(params, updates)["w"].tolist()
  [0.625, 0.0, 0.25]
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax import Array

from jaxreg.penalties import ElasticNetPenalty

__all__ = [
    "GroupLasso",
    "ProximalState",
    "elastic_net",
    "elastic_net_prox",
    "group_lasso",
    "group_lasso_prox",
    "l1",
    "l1_prox",
    "l2",
    "l2_prox",
    "proximal",
]

Schedule = Callable[[Any], Any]
Mask = Any  # a pytree of booleans, or a function of the parameters returning one


def _check_nonneg(value, name: str, schedule: bool = True) -> None:
    if schedule and callable(value):  # its values are traced, and checked by no one
        return
    if isinstance(value, jax.core.Tracer):  # a scheduled value, inside the step
        return
    expected = "a finite nonnegative number" + (" or a schedule" if schedule else "")
    try:
        if isinstance(value, (bool, str, bytes)) or value is None:
            raise TypeError
        number = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be {expected}, got {value!r}") from None
    # inf is no step and no penalty: it turned every parameter into NaN.
    if not 0.0 <= number < math.inf:
        raise ValueError(f"{name} must be {expected}, got {value!r}")


def _value(value, count):
    return value(count) if callable(value) else value


# --- penalties ------------------------------------------------------------


def elastic_net(alpha: float | Array, l1_ratio: float = 0.5) -> ElasticNetPenalty:
    r"""The elastic-net penalty, scaled as scikit-learn's ``ElasticNet(alpha, l1_ratio)``.

    :math:`h(\theta) = \alpha \sum_j \big(\rho |\theta_j| + \tfrac{1-\rho}{2}\theta_j^2\big)`
    with ``rho = l1_ratio``.
    Its proximal step with step size :math:`\eta` is
    :math:`\operatorname{sign}(v) \max(|v| - \eta\alpha\rho, 0) / (1 + \eta\alpha(1-\rho))`.

    Args:
      alpha: penalty strength :math:`\alpha \ge 0`, a number (for a strength
        that changes with the step, give :func:`proximal` a function of the
        step count that returns the penalty).
      l1_ratio: mixing ``rho`` in [0, 1] (1: :func:`l1`, 0: :func:`l2`).

    Returns:
      A :class:`jaxreg.penalties.ElasticNetPenalty` with scalar weights, which
      applies to parameters of any shape.

    Raises:
      TypeError: for an ``alpha`` or ``l1_ratio`` that is not a number.
      ValueError: for a negative, infinite or NaN ``alpha``, or ``l1_ratio``
        outside [0, 1].

    Example:
      >>> import jax.numpy as jnp
      >>> elastic_net(1.0, 0.5).prox(jnp.array([-2.0, 0.25]), 1.0).tolist()
      [-1.0, 0.0]
    """
    _check_nonneg(alpha, "alpha", schedule=False)
    _check_l1_ratio(l1_ratio)
    return _elastic_net(alpha, l1_ratio)


def _check_l1_ratio(l1_ratio) -> None:
    if isinstance(l1_ratio, jax.core.Tracer):  # a scheduled value, inside the step
        return
    try:
        if isinstance(l1_ratio, (bool, str, bytes)):
            raise TypeError
        ok = 0.0 <= float(l1_ratio) <= 1.0
    except (TypeError, ValueError):
        raise TypeError(f"l1_ratio must be a number in [0, 1], got {l1_ratio!r}") from None
    if not ok:
        raise ValueError(f"l1_ratio must be in [0, 1], got {l1_ratio!r}")


def _elastic_net(alpha, l1_ratio) -> ElasticNetPenalty:
    # Unchecked: a scheduled alpha is a traced value inside the step.
    alpha = jnp.asarray(alpha)
    return ElasticNetPenalty(
        l1=alpha * l1_ratio,
        l2=alpha * (1.0 - l1_ratio),
        lower=jnp.full((), -jnp.inf, alpha.dtype),
        upper=jnp.full((), jnp.inf, alpha.dtype),
    )


def l1(alpha: float | Array) -> ElasticNetPenalty:
    r"""The L1 penalty :math:`\alpha \sum_j |\theta_j|` (scikit-learn's ``Lasso(alpha)``).

    Its proximal step is soft-thresholding,
    :math:`\operatorname{sign}(v) \max(|v| - \eta\alpha, 0)`: weights whose
    magnitude falls below :math:`\eta\alpha` become exactly zero.
    :func:`elastic_net` with ``l1_ratio=1``; see it for the errors.

    Example:
      >>> import jax.numpy as jnp
      >>> l1(0.5).prox(jnp.array([-2.0, 0.25]), 1.0).tolist()
      [-1.5, 0.0]
    """
    return elastic_net(alpha, 1.0)


def l2(alpha: float | Array) -> ElasticNetPenalty:
    r"""The squared L2 penalty :math:`\tfrac{\alpha}{2} \sum_j \theta_j^2`.

    Its proximal step is the shrinkage :math:`v / (1 + \eta\alpha)`: every
    weight shrinks by the same factor and none becomes zero (weight decay in
    its implicit form). :func:`elastic_net` with ``l1_ratio=0``; see it for the
    errors.

    Example:
      >>> import jax.numpy as jnp
      >>> l2(1.0).prox(jnp.array([2.0, -0.5]), 1.0).tolist()
      [1.0, -0.25]
    """
    return elastic_net(alpha, 0.0)


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class GroupLasso:
    r"""The group-lasso penalty :math:`\alpha \sum_g \|\theta_g\|_2` (see :func:`group_lasso`).

    The groups of a parameter array are its slices along ``axis``: with
    ``axis=-1`` the rows of a ``(n_inputs, n_outputs)`` weight matrix, i.e. the
    weights leaving each input. The proximal step with step size :math:`\eta`
    scales each group, :math:`v_g \max(1 - \eta\alpha / \|v_g\|_2, 0)`, so a
    group whose norm falls below :math:`\eta\alpha` becomes exactly zero as a
    whole.

    Attributes:
      alpha: penalty strength :math:`\alpha \ge 0`.
      axis: the axis or axes that each group spans (static).
    """

    alpha: Array
    axis: int | tuple[int, ...] = dataclasses.field(metadata=dict(static=True), default=-1)

    def _norms(self, v: Array) -> Array:
        return jnp.sqrt(jnp.sum(v * v, axis=self.axis, keepdims=True))

    def value(self, w: Array) -> Array:
        """Penalty value of one parameter array."""
        return self.alpha * jnp.sum(self._norms(w))

    def prox(self, v: Array, step: Array) -> Array:
        """Proximal operator of ``step * h`` (block soft-thresholding)."""
        norms = self._norms(v)
        # A zero group stays zero whatever the scale: divide by 1 there, not 0.
        scale = jnp.maximum(1.0 - step * self.alpha / jnp.where(norms > 0, norms, 1.0), 0.0)
        return v * scale


def group_lasso(alpha: float | Array, axis: int | tuple[int, ...] = -1) -> GroupLasso:
    r"""The group-lasso penalty :math:`\alpha \sum_g \|\theta_g\|_2`, groups along ``axis``.

    With ``axis=-1`` the groups of a ``(n_inputs, n_outputs)`` weight matrix
    (flax's ``Dense`` kernel layout) are its rows, the weights leaving each
    input: the proximal step :math:`v_g \max(1 - \eta\alpha / \|v_g\|_2, 0)`
    zeros a row, and so drops an input, as a whole. A 1-D parameter is one
    group. Groups are not weighted by their size (within one array they all
    have the same size).

    Args:
      alpha: penalty strength :math:`\alpha \ge 0`, a number (see
        :func:`elastic_net` for a strength that changes with the step).
      axis: the axis or axes each group spans; every index of the other axes
        is one group.

    Returns:
      A :class:`GroupLasso`.

    Raises:
      TypeError: for an ``alpha`` that is not a number, or an ``axis`` that is
        not an int or a tuple of ints.
      ValueError: for a negative, infinite or NaN ``alpha``.

    Example:
      >>> import jax.numpy as jnp
      >>> w = jnp.array([[3.0, 4.0], [0.6, 0.8]])  # row norms 5 and 1
      >>> group_lasso(2.5).prox(w, 1.0).tolist()
      [[1.5, 2.0], [0.0, 0.0]]
    """
    _check_nonneg(alpha, "alpha", schedule=False)
    axes = axis if isinstance(axis, tuple) else (axis,)
    if not axes or not all(isinstance(a, int) and not isinstance(a, bool) for a in axes):
        raise TypeError(f"axis must be an int or a tuple of ints, got {axis!r}")
    return GroupLasso(jnp.asarray(alpha), axis)


# --- the proximal step ------------------------------------------------------


def _is_penalty(x) -> bool:
    return hasattr(x, "prox")


def _is_plan_leaf(x) -> bool:
    return x is None or _is_penalty(x)


def _plan(penalty, mask: Mask | None, params):
    """The penalty of each parameter subtree (``None``: unpenalized), as a
    prefix tree of the parameters; a lone penalty covers them all."""
    if not _is_penalty(penalty):
        return penalty  # a tree of penalties, which says itself what it covers
    if mask is None:
        return penalty
    selected = mask(params) if callable(mask) else mask
    return jax.tree.map(lambda keep: penalty if keep else None, selected)


def _map_plan(fn, plan, *trees):
    """``fn(penalty, *subtrees)`` at each leaf of the plan."""
    return jax.tree.map(fn, plan, *trees, is_leaf=_is_plan_leaf)


def _unzip(structure, pairs, is_leaf=None):
    """Two trees from a tree of ``(first, second)`` pairs at the leaves of ``structure``."""
    return tuple(
        jax.tree.map(lambda _, pair, i=i: pair[i], structure, pairs, is_leaf=is_leaf)
        for i in (0, 1)
    )


def _prox_updates(penalty, updates, params, step):
    """Updates that move ``params`` to ``prox_{step h}(params + updates)``."""

    def leaf(u, p):
        target = p + u
        new = penalty.prox(target, jnp.asarray(step, target.dtype))
        # Penalty weights may be wider than the parameters (float64 under x64):
        # the parameters keep their dtype.
        return new.astype(target.dtype) - p

    return jax.tree.map(leaf, updates, params)


def _penalty_at(penalty, mask) -> Callable[[Any], Any]:
    """The penalty (or tree of penalties) at a step count, checked once here."""
    schedule = callable(penalty) and not _is_penalty(penalty)
    first = penalty(0) if schedule else penalty
    leaves = jax.tree.leaves(first, is_leaf=_is_plan_leaf)
    if _is_penalty(first):
        pass
    elif any(map(_is_penalty, leaves)) and all(map(_is_plan_leaf, leaves)):
        if mask is not None:
            raise ValueError(
                "mask applies to a single penalty: a tree of penalties says itself which "
                "parameters it covers (None for those it leaves alone)"
            )
    else:
        raise TypeError(
            "penalty must be a penalty such as jaxreg.optim.l1(alpha) (an object with a "
            "prox(v, step) method), a tree of them (None for unpenalized parameters) or a "
            f"function of the step count returning either, got {first!r}"
        )
    return penalty if schedule else (lambda count: penalty)


class ProximalState(NamedTuple):
    """State of :func:`proximal`."""

    count: Array
    """Steps taken: the argument of learning-rate and penalty schedules."""
    inner_state: optax.OptState
    """The state of the optimizer built from the learning rate."""
    subgradient: Any
    r"""The element :math:`r` of :math:`\partial h(\theta)` at the current parameters
    that the last proximal step produced (zeros before the first step,
    ``optax.MaskedNode`` at unpenalized parameters). ``grads + subgradient`` is
    a subgradient of :math:`L + h`, zero at a minimizer."""


def _builder(optimizer, learning_rate):
    """The optimizer at a given rate, checked once here rather than at the first step."""
    if isinstance(optimizer, optax.GradientTransformation) or not callable(optimizer):
        raise TypeError(
            "optimizer must be a function of the learning rate such as optax.sgd or "
            "functools.partial(optax.sgd, momentum=0.9), not an optimizer built with its "
            f"own rate: proximal builds it from learning_rate, got {optimizer!r}"
        )

    def build(rate):
        built = optimizer(rate)
        if not isinstance(built, optax.GradientTransformation):
            raise TypeError(
                f"optimizer(learning_rate) must return an optax.GradientTransformation, "
                f"got {type(built).__name__}"
            )
        return optax.with_extra_args_support(built)

    first = build(_value(learning_rate, 0))
    if callable(learning_rate):
        return build
    return lambda rate: first  # a fixed rate: the very optimizer the user would build


def _implicit_step(penalty, rate):
    """One parameter array's proximal step, given the optimizer's update ``u``
    and the subgradient ``r`` of the penalty that update was computed with."""

    def step(u, p, r):
        eta = jnp.asarray(rate, p.dtype)
        # The update took an explicit step -eta * r on the penalty (exactly so
        # for SGD): undo it and take the implicit, proximal one instead.
        v = p + (u + eta * r)
        new = penalty.prox(v, eta).astype(p.dtype)
        # prox optimality: (v - new) / eta is in the subdifferential at new. A
        # zero rate (a warmup from 0) moves nothing: keep the last one.
        positive = eta > 0
        r_new = jnp.where(positive, (v - new) / jnp.where(positive, eta, 1.0), r)
        return new - p, r_new

    return step


def proximal(
    optimizer: Callable[..., optax.GradientTransformation],
    penalty: Any,
    learning_rate: float | Schedule,
    *,
    mask: Mask | None = None,
) -> optax.GradientTransformationExtraArgs:
    r"""The proximal version of an optax optimizer, built from one learning rate.

    Minimizes :math:`L(\theta) + h(\theta)`, :math:`L` the loss whose
    gradients are passed to ``update`` and :math:`h` the penalty (on the
    parameters that ``mask`` selects, or a sum of penalties on subtrees).
    Step :math:`t` evaluates the rate :math:`\eta_t` once and builds
    ``optimizer(eta_t)``. The optimizer is given a subgradient of the whole
    objective at the current parameters, :math:`\nabla L(\theta) + r`, where
    :math:`r \in \partial h(\theta)` is the one the last proximal step
    produced (zero at the first step), and returns its update :math:`u_t`
    (optax's sign: :math:`u_t = -\eta_t(\nabla L(\theta) + r)` for SGD). The
    explicit step :math:`-\eta_t r` on the penalty is then replaced by the
    implicit one:

    .. math:: \theta \leftarrow \operatorname{prox}_{\eta_t h}(\theta + u_t + \eta_t r).

    With ``optax.sgd`` this is proximal gradient descent (ISTA),
    :math:`\theta \leftarrow \operatorname{prox}_{\eta_t h}(\theta - \eta_t \nabla L(\theta))`:
    soft-thresholding by :math:`\eta_t \alpha` for ``l1(alpha)``, division
    by :math:`1 + \eta_t \alpha` for ``l2(alpha)``. The rate reaches the
    optimizer and the proximal step together, so changing it or its schedule
    never changes the penalty strength.

    With momentum, Nesterov momentum or an adaptive optimizer, the momentum
    and the scalings see the penalty too, and a fixed point of the iteration
    (parameters and optimizer state that no longer change, so an update of
    zero) is a point where :math:`\nabla L(\theta) + r = 0` with
    :math:`r \in \partial h(\theta)`: a minimizer of :math:`L + h` for a
    convex :math:`L`, whatever the optimizer. (``optax.sgd(lr,
    momentum=beta)`` followed by a stand-alone proximal step such as
    :func:`l1_prox` comes to rest at a minimizer of :math:`L + (1 - \beta) h`
    instead: its momentum multiplies the gradient step by
    :math:`1/(1 - \beta)` but not the threshold.)

    Args:
      optimizer: a function of the learning rate returning an optax optimizer:
        ``optax.sgd``, ``functools.partial(optax.sgd, momentum=0.9)``,
        ``optax.adam``. With a schedule it is called at every step with that
        step's rate, as ``optax.inject_hyperparams`` does.
      penalty: :func:`l1`, :func:`l2`, :func:`elastic_net`,
        :func:`group_lasso` or any object with a ``prox(v, step)`` method; or
        a tree of them, a prefix of the parameters with ``None`` for the
        parameters left alone (``{"W": group_lasso(0.05), "b": None}``); or a
        function of the step count returning either (a penalty schedule).
      learning_rate: the step size :math:`\eta`, a finite nonnegative number
        or an optax schedule of the step count (evaluated from 0).
      mask: which parameters a single penalty touches, as for
        ``optax.masked`` (a pytree of booleans like the parameters or a prefix
        of them, or a function of the parameters returning one); default all.

    Returns:
      An ``optax.GradientTransformationExtraArgs`` whose state is a
      :class:`ProximalState`; its ``update`` needs ``params``.

    Raises:
      TypeError: for an ``optimizer`` that is not a function of the rate (an
        optimizer already built with its own rate is refused, since its rate
        cannot be read back), a ``penalty`` that is none of the above
        (``None`` included), or a ``learning_rate`` that is not a number or a
        schedule.
      ValueError: for a negative, infinite or NaN ``learning_rate``, or a
        ``mask`` given with a tree of penalties.

    Example:
      >>> import jax, jax.numpy as jnp, optax, jaxreg
      >>> X = jnp.array([[1.0, 0.0], [0.0, 1.0]])
      >>> y = jnp.array([1.0, 0.01])
      >>> loss = lambda w: 0.5 * jnp.mean((X @ w - y) ** 2)
      >>> opt = jaxreg.optim.proximal(
      ...     optax.sgd, jaxreg.optim.l1(0.1), learning_rate=optax.linear_schedule(1.0, 0.5, 50)
      ... )
      >>> w = jnp.zeros(2)
      >>> state = opt.init(w)
      >>> for _ in range(100):
      ...     updates, state = opt.update(jax.grad(loss)(w), state, w)
      ...     w = optax.apply_updates(w, updates)
      >>> [round(float(x), 6) for x in w]  # the lasso solution: (1 - 2 * 0.1, 0)
      [0.8, 0.0]

    References:
      Parikh and Boyd, *Proximal Algorithms*, Foundations and Trends in
      Optimization 1(3), 2014, section 4.2 (proximal gradient method).
    """
    _check_nonneg(learning_rate, "learning_rate")
    penalty_at = _penalty_at(penalty, mask)
    build = _builder(optimizer, learning_rate)

    def init(params):
        plan = _plan(penalty_at(0), mask, params)
        subgradient = _map_plan(
            lambda pen, p: optax.MaskedNode() if pen is None else jax.tree.map(jnp.zeros_like, p),
            plan,
            params,
        )
        inner = build(_value(learning_rate, 0)).init(params)
        return ProximalState(jnp.zeros((), jnp.int32), inner, subgradient)

    def update(grads, state, params=None, **extra_args):
        if params is None:
            raise ValueError("proximal needs params: call update(updates, state, params)")
        rate = _value(learning_rate, state.count)
        plan = _plan(penalty_at(state.count), mask, params)
        fed = _map_plan(
            lambda pen, g, r: g if pen is None else jax.tree.map(jnp.add, g, r),
            plan,
            grads,
            state.subgradient,
        )
        updates, inner = build(rate).update(fed, state.inner_state, params, **extra_args)

        def step(pen, u, p, r):
            if pen is None:
                return u, r
            return _unzip(u, jax.tree.map(_implicit_step(pen, rate), u, p, r))

        pairs = _map_plan(step, plan, updates, params, state.subgradient)
        updates, subgradient = _unzip(plan, pairs, is_leaf=_is_plan_leaf)
        return updates, ProximalState(optax.safe_increment(state.count), inner, subgradient)

    return optax.GradientTransformationExtraArgs(init, update)


# --- stand-alone proximal steps, for chains built by hand --------------------


class _ProxState(NamedTuple):
    count: jax.Array


def elastic_net_prox(
    alpha: float | Schedule,
    l1_ratio: float,
    learning_rate: float | Schedule,
    mask: Mask | None = None,
) -> optax.GradientTransformation:
    r"""The elastic-net proximal step alone, to follow an optimizer in an ``optax.chain``.

    Prefer :func:`proximal`, which takes the learning rate once: here
    ``learning_rate`` must repeat the rate (or schedule) of the optimizer
    before this in the chain, or the penalty strength is silently
    ``alpha * learning_rate / rate``; and after ``optax.sgd(rate,
    momentum=beta)`` the iteration comes to rest at a minimizer of
    :math:`L + (1 - \beta) h`, not of :math:`L + h`.

    Penalty on the selected parameters:
    :math:`h(\theta) = \alpha \sum_j \big(\rho |\theta_j| + \tfrac{1-\rho}{2}\theta_j^2\big)`,
    ``rho = l1_ratio``. With ``u`` the incoming update the new parameters are
    :math:`\operatorname{prox}_{\eta h}(\theta + u)
    = S_{\eta\alpha\rho}(\theta + u) / (1 + \eta\alpha(1-\rho))`.

    Args:
      alpha: penalty strength (a number or an optax schedule of the step count).
      l1_ratio: mixing ``rho`` in [0, 1] (1: L1, 0: L2).
      learning_rate: the step size ``eta`` of the optimizer this follows (a
        number or the same schedule), which scales the threshold.
      mask: which parameters are penalized (see :func:`proximal`); default all.

    Returns:
      An ``optax.GradientTransformation``; its ``update`` needs ``params``.

    Raises:
      TypeError: for an ``alpha``, ``learning_rate`` or ``l1_ratio`` that is
        not a number (or, for the first two, a schedule).
      ValueError: for a negative, infinite or NaN ``alpha`` or
        ``learning_rate``, or ``l1_ratio`` outside [0, 1].
    """
    _check_nonneg(alpha, "alpha")
    _check_nonneg(learning_rate, "learning_rate")
    _check_l1_ratio(l1_ratio)

    def penalty_at(count):
        return _elastic_net(_value(alpha, count), l1_ratio)

    return _chained_prox("elastic_net_prox", penalty_at, learning_rate, mask)


def _chained_prox(name: str, penalty_at, learning_rate, mask) -> optax.GradientTransformation:
    """The proximal step of ``penalty_at(step count)`` with the rate
    ``learning_rate`` (a number or schedule) applied to the incoming update,
    as a transformation for an ``optax.chain``."""

    def init(params):
        del params
        return _ProxState(count=jnp.zeros((), jnp.int32))

    def update(updates, state, params=None):
        if params is None:
            raise ValueError(f"{name} needs params: call update(updates, state, params)")
        eta = _value(learning_rate, state.count)
        new_updates = _prox_updates(penalty_at(state.count), updates, params, eta)
        return new_updates, _ProxState(count=optax.safe_increment(state.count))

    transform = optax.GradientTransformation(init, update)
    return transform if mask is None else optax.masked(transform, mask)


def l1_prox(
    alpha: float | Schedule,
    learning_rate: float | Schedule,
    mask: Mask | None = None,
) -> optax.GradientTransformation:
    r"""Soft-thresholding alone (the proximal step of ``alpha * sum |theta|``), for a chain.

    Prefer :func:`proximal` with :func:`l1`, which takes the learning rate
    once. The new parameters are ``sign(v) * max(|v| - eta * alpha, 0)`` with
    ``v = theta + u``. See :func:`elastic_net_prox` for the arguments.
    """
    return elastic_net_prox(alpha, 1.0, learning_rate, mask)


def l2_prox(
    alpha: float | Schedule,
    learning_rate: float | Schedule,
    mask: Mask | None = None,
) -> optax.GradientTransformation:
    r"""Shrinkage alone (the proximal step of ``(alpha / 2) * sum theta^2``), for a chain.

    Prefer :func:`proximal` with :func:`l2`, which takes the learning rate
    once. The new parameters are ``(theta + u) / (1 + eta * alpha)``. See
    :func:`elastic_net_prox` for the arguments.
    """
    return elastic_net_prox(alpha, 0.0, learning_rate, mask)


def group_lasso_prox(
    alpha: float | Schedule,
    learning_rate: float | Schedule,
    axis: int | tuple[int, ...] = -1,
    mask: Mask | None = None,
) -> optax.GradientTransformation:
    r"""Block soft-thresholding alone (the proximal step of
    :math:`\alpha \sum_g \|\theta_g\|_2`, groups along ``axis``), for a chain.

    Prefer :func:`proximal` with :func:`group_lasso`, which takes the
    learning rate once (see :func:`elastic_net_prox` for what goes wrong
    otherwise). With ``v = theta + u`` each group becomes
    :math:`v_g \max(1 - \eta\alpha / \|v_g\|_2, 0)`: with ``axis=-1`` the
    rows of a ``(n_inputs, n_outputs)`` kernel, so an input's weights all
    become exactly zero together.

    Args:
      alpha: penalty strength (a number or an optax schedule of the step count).
      learning_rate: the step size ``eta`` of the optimizer this follows.
      axis: the axis or axes each group spans, as in :func:`group_lasso`.
      mask: which parameters are penalized (see :func:`proximal`); default all.

    Returns:
      An ``optax.GradientTransformation``; its ``update`` needs ``params``.

    Example:
      >>> import jax.numpy as jnp, optax
      >>> from jaxreg.optim import group_lasso_prox
      >>> W = {"w": jnp.array([[3.0, 4.0], [0.6, 0.8]])}
      >>> opt = optax.chain(optax.sgd(1.0), group_lasso_prox(2.5, 1.0))
      >>> zero = {"w": jnp.zeros((2, 2))}
      >>> updates, _ = opt.update(zero, opt.init(W), W)
      >>> optax.apply_updates(W, updates)["w"].tolist()
      [[1.5, 2.0], [0.0, 0.0]]
    """
    _check_nonneg(alpha, "alpha")
    _check_nonneg(learning_rate, "learning_rate")
    group_lasso(0.0, axis)  # checks the axis

    def penalty_at(count):
        return GroupLasso(jnp.asarray(_value(alpha, count)), axis)

    return _chained_prox("group_lasso_prox", penalty_at, learning_rate, mask)
