"""Low precision: float16/bfloat16 params and grads, float32 master weights, bfloat16 and
blockwise 8-bit optimizer state (docs/lowp.rst).

The options are keyword arguments of every optimizer (``master_weights``, ``state_dtype``,
``rounding``, ``seed``; see :class:`fastoptim.optim.base.Optimizer`). This package holds the
pieces they use: the storage types, the :class:`Quantized` state and the random bits of
stochastic rounding. ml_dtypes (for bfloat16) is imported only when bfloat16 is asked for.
"""

from __future__ import annotations

from .dtypes import BLOCK, FLOAT_STORAGES, bfloat16, storage_name
from .quantized import Quantized

__all__ = ["BLOCK", "FLOAT_STORAGES", "Quantized", "bfloat16", "storage_name"]
