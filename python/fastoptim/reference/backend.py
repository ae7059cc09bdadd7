"""Runs a step with the NumPy kernels instead of the native ones.

Validation is the native plan's (``check``: the same checks and messages as a native step),
so the reference differs from the native path only in who does the arithmetic.
"""

from __future__ import annotations

import numpy as np

from . import kernels


class ReferencePlan:
    def __init__(self, native, kernel, params, buffers, coeff_names, state_names):
        self._native = native
        self._fn = getattr(kernels, kernel)
        self._params = params
        self._buffers = buffers
        self._coeff_names = coeff_names
        self._state_names = state_names

    def check(self, grads, coeffs, rows: np.ndarray) -> None:
        self._native.check(grads, coeffs, rows)

    def step(self, grads, coeffs, rows: np.ndarray) -> None:
        self._native.check(grads, coeffs, rows)
        for i, p in enumerate(self._params):
            c = dict(zip(self._coeff_names, map(float, coeffs[rows[i]])))
            bufs = self._buffers[i]
            self._fn(c, p, grads[i], *(bufs.get(n) for n in self._state_names))
