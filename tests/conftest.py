import jax

# The suite runs in float64; float32 behaviour is checked explicitly with
# float32 inputs (tests/test_float32.py) and in a subprocess without x64.
jax.config.update("jax_enable_x64", True)
