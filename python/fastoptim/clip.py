"""Gradient clipping: torch.nn.utils.clip_grad_norm_ / clip_grad_value_ for NumPy grads.

The norm is computed natively in one pass over all arrays, accumulated in float64 with a fixed
blocking and order, so it is the same number for every ISA path and thread count. Its accuracy:
float32 squares are exact in float64, so the total carries only the rounding of float64
additions — relative error below ~1e-15 for up to billions of elements in practice (bound:
n_blocks·2^-53 for blocks of 16384 elements), against a float64 ``np.linalg.norm`` (tested).
torch computes the norm in the grads' dtype, so a float32 torch norm can differ from ours in
the 7th digit; the clip coefficient is then cast to the grads' dtype and applied as torch does.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Union

import numpy as np

from . import _native

__all__ = ["clip_grad_norm_", "clip_grad_value_", "grad_norm"]

Grads = Union[np.ndarray, Sequence, Mapping]


def _arrays(grads: Grads) -> list:
    if isinstance(grads, np.ndarray):
        return [grads]
    if isinstance(grads, Mapping):
        return list(grads.values())
    if isinstance(grads, (list, tuple)):
        return list(grads)
    raise TypeError(f"grads must be an array, a list or a dict of arrays, got "
                    f"{type(grads).__name__}")


def _norm_type(norm_type: float) -> float:
    if isinstance(norm_type, bool) or not isinstance(norm_type, numbers.Real):
        raise TypeError(f"norm_type must be a real number, got {type(norm_type).__name__}")
    p = float(norm_type)
    if math.isnan(p) or p <= 0:
        raise ValueError(f"norm_type must be > 0 (or inf), got {norm_type}")
    return p


def _total_norm(arrays: list, p: float) -> float:
    if p == 2.0:
        return math.sqrt(math.fsum(_native.grad_reduce(arrays, "sumsq")))
    if p == 1.0:
        return math.fsum(_native.grad_reduce(arrays, "sumabs"))
    if math.isinf(p):
        parts = _native.grad_reduce(arrays, "maxabs")
        return max(parts, key=lambda v: (math.isnan(v), v)) if parts else 0.0
    return math.fsum(_native.grad_reduce(arrays, "sumpow", p)) ** (1.0 / p)


def grad_norm(grads: Grads, norm_type: float = 2.0) -> float:
    """The ``norm_type``-norm of all grads together (as if concatenated), in float64.

    A NaN or inf element gives a NaN or inf norm.
    """
    return _total_norm(_arrays(grads), _norm_type(norm_type))


def clip_grad_norm_(grads: Grads, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False) -> float:
    """Scale ``grads`` in place so their total norm is at most ``max_norm``; return the norm
    before clipping — ``torch.nn.utils.clip_grad_norm_``.

    ``coef = max_norm / (total_norm + 1e-6)``, clamped to 1, multiplied into every grad (cast to
    its dtype). With ``error_if_nonfinite`` a NaN/inf total raises ``FloatingPointError`` and
    nothing is changed; otherwise a non-finite total makes the grads NaN, as in torch.
    Everything is checked before any grad is written.
    """
    arrays = _arrays(grads)
    if isinstance(max_norm, bool) or not isinstance(max_norm, numbers.Real):
        raise TypeError(f"max_norm must be a real number, got {type(max_norm).__name__}")
    if not max_norm >= 0 or math.isinf(max_norm):
        raise ValueError(f"max_norm must be finite and >= 0, got {max_norm}")
    p = _norm_type(norm_type)
    total = _total_norm(arrays, p)  # validates every array
    if error_if_nonfinite and not math.isfinite(total):
        raise FloatingPointError(
            f"the total norm of order {norm_type} of the gradients is non-finite ({total}), "
            "so they cannot be clipped; set error_if_nonfinite=False to let NaN propagate")
    coef = max_norm / (total + 1e-6)
    if coef < 1.0 or math.isnan(coef):
        _check_writeable(arrays)
        for g in arrays:
            np.multiply(g, g.dtype.type(coef), out=g)
    return total


def clip_grad_value_(grads: Grads, clip_value: float) -> None:
    """Clamp every grad element to ``[-clip_value, clip_value]`` in place —
    ``torch.nn.utils.clip_grad_value_``. NaN stays NaN."""
    arrays = _arrays(grads)
    if isinstance(clip_value, bool) or not isinstance(clip_value, numbers.Real):
        raise TypeError(f"clip_value must be a real number, got {type(clip_value).__name__}")
    if not clip_value >= 0 or math.isinf(clip_value):
        raise ValueError(f"clip_value must be finite and >= 0, got {clip_value}")
    _native.grad_reduce(arrays, "maxabs")  # same validation as the norm: float, contiguous
    _check_writeable(arrays)
    for g in arrays:
        c = g.dtype.type(clip_value)
        np.clip(g, -c, c, out=g)


def _check_writeable(arrays: list) -> None:
    for i, g in enumerate(arrays):
        if not g.flags.writeable:
            raise ValueError(f"grads[{i}] is read-only; clipping scales the grads in place")
