"""Optimality certificates: the duality gap, the KKT residual and the
stopping rule every solver shares.

A solver stops on a certificate, never on a step size or an iteration count:
the duality gap bounds the suboptimality of the point it is taken at, and the
KKT residual certifies what the gap cannot see (free coordinates, the
intercept). The certificate is taken at a point's image ``u =
datafit.forward(beta)`` when the solver has it, so the product with the data
is shared with the iterations.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax.numpy as jnp
from jax import Array

from jaxreg.penalties import ElasticNetPenalty

# The status of a solve that has not stopped (every public status is >= 0).
RUNNING = -1


class Certificate(NamedTuple):
    """A point's duality gap, KKT residual and primal objective."""

    gap: Array
    kkt: Array
    objective: Array


def certificate(datafit, penalty: ElasticNetPenalty, beta: Array, b: Array, step: Array):
    r"""Duality gap, KKT residual and primal objective at ``(beta, b)``.

    The dual point is the (rescaled) negative gradient of the loss in the linear
    predictor; the gap is written as a sum of nonnegative Fenchel-Young terms,
    one per sample and one per coefficient, so it has no cancellation.
    Coordinates that are free (unpenalized and unbounded) and the intercept do
    not enter the gap; the KKT residual certifies them.
    """
    return certificate_at(datafit, penalty, datafit.forward(beta), beta, b, step)


def certificate_at(datafit, penalty, u: Array, beta: Array, b: Array, step: Array):
    """:func:`certificate` given ``u = datafit.forward(beta)``."""
    return _certificate_and_grad(datafit, penalty, u, beta, b, step)[0]


def _certificate_and_grad(datafit, penalty, u: Array, beta: Array, b: Array, step: Array):
    """:func:`certificate` given ``u = datafit.forward(beta)``, and the gradient in ``beta``."""
    value, grad, grad_b, aux = datafit.value_and_grad_at(u, beta, b)
    return certificate_parts(penalty, datafit, value, grad, grad_b, aux, beta, step), grad


def certificate_from_grad(datafit, penalty, u, grad, beta, b, step):
    """:func:`certificate` given ``u`` and the gradient in ``beta``, for a datafit
    whose intercept is not iterated: the gradient the datafit would compute is
    unused, and compiled away with its product."""
    value, _, _, aux = datafit.value_and_grad_at(u, beta, b)
    return certificate_parts(penalty, datafit, value, grad, jnp.zeros_like(b), aux, beta, step)


def certificate_parts(penalty, datafit, value, grad, grad_b, aux, beta, step):
    """:func:`certificate` from the datafit's value, gradients and conjugate
    data ``aux`` at ``beta`` (what ``datafit.value_and_grad_at`` returns)."""
    g = -grad
    # Two valid dual rescalings: one that only tames coordinates unbounded in
    # the gradient's direction, one that treats every box as absent (better when
    # boxes are loose). The smaller gap is the certificate. Both are computed
    # stacked, one pass over the coordinates for the two.
    kappas = penalty.dual_scales(g)
    penalty_fy = penalty.fenchel_young(beta, kappas[:, None] * g)
    gap = jnp.minimum(
        datafit.fenchel_young(aux, kappas[0]) + penalty_fy[0],
        datafit.fenchel_young(aux, kappas[1]) + penalty_fy[1],
    )
    mu = getattr(datafit, "strong", None)
    if mu is not None:
        # A mu-strongly convex datafit f: the same objective is also
        # (f - mu/2 |w|^2) + (h + mu/2 |w|^2), a convex datafit and a penalty
        # with a finite conjugate. Its dual point needs no rescaling, so the
        # datafit's Fenchel-Young term is zero and the gap is quadratic in the
        # distance to the solution (the lasso's own gap is only linear in it).
        # (mu = 0: no such split, and the formula below would not be a bound.)
        split = dataclasses.replace(penalty, l2=penalty.l2 + mu)
        gap = jnp.where(
            mu > 0, jnp.minimum(gap, split.strong_fenchel_young(beta, g + mu * beta)), gap
        )
    kkt = penalty.kkt_residual(beta, g, step)
    if datafit.iterates_intercept:
        kkt = jnp.maximum(kkt, jnp.max(jnp.abs(grad_b)))
    return Certificate(gap, kkt, value + penalty.value(beta))


def meets_tolerance(cert: Certificate, gap_tol: Array, lipschitz: Array) -> Array:
    """The stopping rule of every solver: the duality gap within ``gap_tol`` and
    the KKT residual within ``sqrt(2 lipschitz gap_tol)``, the largest
    prox-gradient mapping compatible with a suboptimality of ``gap_tol``.

    Both sides must be finite: an overflowed gap is no certificate, even
    against an overflowed tolerance (``inf <= inf``)."""
    finite = jnp.isfinite(cert.gap) & jnp.isfinite(gap_tol)
    return finite & (cert.gap <= gap_tol) & (cert.kkt <= jnp.sqrt(2.0 * lipschitz * gap_tol))
