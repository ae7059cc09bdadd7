"""Runs a step with the NumPy kernels instead of the native ones.

Validation is the native plan's (``check``: the same checks and messages as a native step),
so the reference differs from the native path only in who does the arithmetic. Storage is
handled as cpp/kernels/run.hpp does: every buffer not held in the compute type is decoded to
float32 (``storage.to_f32``), the kernel runs in float32 on the decoded values, and every
buffer it may have written is stored back in its storage (one rounding, or re-quantization
per block), a master-weights param last, as the round-to-nearest-even of its master.
"""

from __future__ import annotations

import numpy as np

from ..lowp import rounding as _rnd
from . import kernels, storage

_MASTER = "master_param"


class ReferencePlan:
    def __init__(self, native, kernel, params, buffers, coeff_names, state_names,
                 rounding="nearest"):
        self._native = native
        self._fn = getattr(kernels, kernel)
        self._params = params
        self._buffers = buffers
        self._coeff_names = coeff_names
        self._state_names = state_names
        self._rounding = rounding

    def check(self, grads, coeffs, rows: np.ndarray, keys=None) -> None:
        self._native.check(grads, coeffs, rows, keys)

    def step(self, grads, coeffs, rows: np.ndarray, keys=None) -> int:
        """As the native step: returns how many params were skipped (grad None)."""
        self._native.check(grads, coeffs, rows, keys)
        skipped = 0
        for i, p in enumerate(self._params):
            if grads[i] is None:
                skipped += 1
                continue
            c = dict(zip(self._coeff_names, map(float, coeffs[rows[i]])))
            bufs = self._buffers[i]
            states = [bufs.get(n) for n in self._state_names]
            master = bufs.get(_MASTER)
            target = p if master is None else master
            if master is None and all(_native_compute(b) for b in (target, grads[i], *states) if b is not None):
                self._fn(c, target, grads[i], *states)  # every buffer in the compute type
                continue
            seed = 0 if keys is None else _rnd.tensor_key(int(keys[rows[i]]), i)
            work = [storage.to_f32(target), storage.to_f32(grads[i])]
            work += [None if s is None else storage.to_f32(s) for s in states]
            self._fn(c, *work)
            for b, buf in enumerate((target, None, *states)):
                if buf is not None and not _native_compute(buf):
                    storage.store(buf, work[b], self._rounding, _rnd.buffer_key(seed, b))
            if master is not None:
                storage.store(p, storage.flat(master), "nearest")
        return skipped


def _native_compute(buf) -> bool:
    """Held in the compute type itself (float32 or float64): updated in place."""
    return isinstance(buf, np.ndarray) and buf.dtype in (np.float32, np.float64)
