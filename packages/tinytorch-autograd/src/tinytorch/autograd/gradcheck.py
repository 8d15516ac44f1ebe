"""`gradcheck`: compare autograd's gradients with central finite differences in float64."""

from __future__ import annotations

import numpy as np

from tinytorch.tensor import Tensor

from .grad_mode import no_grad


class GradcheckError(AssertionError):
    """Raised by `gradcheck` when an analytical gradient disagrees with the numerical one."""


def gradcheck(fn, inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3, seed: int = 0) -> bool:
    """Check ``fn``'s gradients with respect to every input that requires grad.

    ``fn(*inputs)`` may return a tensor of any shape: it is reduced to a scalar
    with fixed random weights ``v`` (seeded), so one backward pass gives
    ``v . J`` for each input, and it is compared element by element with the
    central difference ``(f(x + eps) - f(x - eps)) / (2 eps)``. Inputs must be
    float64 (float32 rounding swamps ``eps``).

    Returns True, or raises `GradcheckError` naming the input, the element and both values.

    Examples:
        >>> import tinytorch.tensor as tt
        >>> x = tt.randn(3, 4, dtype="float64", requires_grad=True)
        >>> gradcheck(lambda x: (x * x).sum(axis=1), [x])
        True
    """
    inputs = list(inputs)
    checked = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad")
    for i in checked:
        if inputs[i].dtype != np.float64:
            raise TypeError(f"gradcheck: input {i} is {inputs[i].dtype}; use float64 inputs")

    out = fn(*inputs)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor, got {type(out).__name__}")
    weights = Tensor(np.random.default_rng(seed).standard_normal(out.shape), dtype="float64")

    def scalar() -> float:
        return float((fn(*inputs).data * weights.data).sum())

    for i in checked:
        inputs[i].grad = None
    (out * weights).sum().backward()

    for i in checked:
        x = inputs[i]
        analytical = np.zeros(x.shape) if x.grad is None else x.grad.data
        numerical = np.zeros(x.shape)
        flat = x.data.reshape(-1)  # a view: the perturbations below write into x
        with no_grad():
            for j in range(flat.size):
                old = flat[j]
                flat[j] = old + eps
                plus = scalar()
                flat[j] = old - eps
                minus = scalar()
                flat[j] = old
                numerical.reshape(-1)[j] = (plus - minus) / (2 * eps)
        bad = ~np.isclose(analytical, numerical, atol=atol, rtol=rtol)
        if bad.any():
            j = np.unravel_index(int(np.argmax(bad)), x.shape)
            raise GradcheckError(
                f"gradcheck: input {i} (shape {x.shape}) at index {tuple(int(v) for v in j)}: "
                f"analytical {analytical[j]:.8g} vs numerical {numerical[j]:.8g}; "
                f"{int(bad.sum())} of {bad.size} elements differ "
                f"(max abs error {np.max(np.abs(analytical - numerical)):.3g})"
            )
    return True
