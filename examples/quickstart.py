"""Quickstart: lasso, elastic net, ridge and logistic fits, a vmapped alpha grid,
and the certificates every fit carries.

Run: python examples/quickstart.py
"""

import jax
import jax.numpy as jnp
import numpy as np

import jaxreg

jax.config.update("jax_enable_x64", True)

X, y, names = jaxreg.datasets.load_diabetes()

# One lasso fit on standardized columns (glmnet's convention).
amax = jaxreg.alpha_max(X, y, standardize=True)
fit = jaxreg.lasso(X, y, 0.05 * amax, standardize=True, tol=1e-10)
print(
    f"lasso at 0.05 alpha_max: status={jaxreg.Status(int(fit.status)).name}, "
    f"gap={float(fit.gap):.2e} <= {float(fit.gap_tol):.2e}, n_iter={int(fit.n_iter)}"
)
for name, c in zip(names, np.asarray(fit.coef) + 0.0, strict=True):
    print(f"  {name:>4}: {c: .4f}")

# A whole grid of alphas in one compiled call.
alphas = amax * jnp.geomspace(1.0, 1e-3, 30)
path = jax.jit(jax.vmap(lambda a: jaxreg.lasso(X, y, a, standardize=True)))(alphas)
print("nonzeros along the grid:", np.count_nonzero(np.asarray(path.coef), axis=1).tolist())

# Elastic net with a feature left unpenalized and nonnegative coefficients.
pf = np.ones(X.shape[1])
pf[names.index("bmi")] = 0.0
enet = jaxreg.elastic_net(
    X, y, 0.1 * amax, 0.5, standardize=True, penalty_factor=pf, positive=True, tol=1e-10
)
print("nonnegative elastic net, bmi unpenalized:", np.round(np.asarray(enet.coef), 3).tolist())

# Ridge in closed form, and an L1-logistic model of "progression above the median".
ridge = jaxreg.ridge(X, y, 10.0, standardize=True)
print("ridge coefficients:", np.round(np.asarray(ridge.coef), 3).tolist())
above = (y > np.median(y)).astype(float)
logit = jaxreg.logistic(X, above, 0.02, standardize=True, tol=1e-8)
print(
    "L1 logistic keeps:", [n for n, c in zip(names, np.asarray(logit.coef), strict=True) if c != 0]
)
