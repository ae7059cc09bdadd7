"""The random bits of stochastic rounding, as the kernels draw them (cpp/kernels/storage.hpp,
run.hpp, cpp/core/keys.hpp): a counter-based hash, so every element's bits depend only on
(seed, step, param, buffer, element index) — not on the ISA, the thread split or the order of
evaluation — and the NumPy reference reproduces them.

For the ``step``-th step of a param with id ``i`` (its index in the optimizer), buffer ``b``
(0 the param, 2... the state buffers in the kernel's order) and element ``j`` (its index in
memory order, offset by the shard's start in distributed use)::

    row    = mix32(mix32(seed) + step)
    tensor = mix32(row + mix32(i + 0x9e3779b9))
    key    = mix32(tensor ^ (0x9e3779b9 * (b + 1)))
    bits   = mix32(mix32(key + (j >> 32)) ^ (j & 0xffffffff))

``mix32`` is Chris Wellons' public-domain "lowbias32" integer finalizer (all arithmetic mod
2^32). A value x between the 16-bit neighbours lo < x < hi rounds to hi with probability
(x - lo) / (hi - lo) (the low 16 (bfloat16) or 13+ (float16) bits of ``bits`` added below the
last kept place, then truncation).
"""

from __future__ import annotations

import numpy as np

__all__ = ["mix32", "row_key", "tensor_key", "buffer_key", "random_bits"]

_M = 0xFFFFFFFF
_GOLDEN = 0x9E3779B9


def mix32(x: int) -> int:
    """lowbias32 of a Python int (taken mod 2^32)."""
    x &= _M
    x ^= x >> 16
    x = (x * 0x7FEB352D) & _M
    x ^= x >> 15
    x = (x * 0x846CA68B) & _M
    x ^= x >> 16
    return x


def _mix32_array(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.uint32)
    x ^= x >> np.uint32(16)
    x *= np.uint32(0x7FEB352D)
    x ^= x >> np.uint32(15)
    x *= np.uint32(0x846CA68B)
    x ^= x >> np.uint32(16)
    return x


def row_key(seed: int, step: int) -> int:
    """The key of one step (1-based) of an optimizer seeded with ``seed``."""
    return mix32(mix32(seed) + step)


def tensor_key(row: int, param_id: int) -> int:
    """The key of one param at one step (cpp/core/keys.hpp)."""
    return mix32(row + mix32(param_id + _GOLDEN))


def buffer_key(tensor: int, buffer: int) -> int:
    """The key of one of a param's buffers (fo_buffer_key)."""
    return mix32(tensor ^ ((_GOLDEN * (buffer + 1)) & _M))


def random_bits(key: int, index0: int, n: int) -> np.ndarray:
    """uint32 random bits of elements index0 ... index0 + n - 1 (fo_random_bits)."""
    j = np.arange(index0, index0 + n, dtype=np.uint64)
    hi = (j >> np.uint64(32)).astype(np.uint32)
    lo = (j & np.uint64(_M)).astype(np.uint32)
    k = _mix32_array((np.uint64(key) + hi.astype(np.uint64)) & np.uint64(_M))
    return _mix32_array(k ^ lo)
