"""The storage types of params, grads and state, by name, without importing ml_dtypes: a
bfloat16 array can only exist if the user imported it, so its dtype is recognized by name."""

from __future__ import annotations

import numpy as np

__all__ = ["BLOCK", "FLOAT_STORAGES", "storage_name", "bfloat16", "is_16bit"]

#: Elements per float32 scale of int8 state (cpp/core/kernel_api.hpp kQ8Block).
BLOCK = 256

#: The float storage types of params and state.
FLOAT_STORAGES = ("float32", "float64", "float16", "bfloat16")


def storage_name(a) -> str | None:
    """``"float32"``, ``"float64"``, ``"float16"``, ``"bfloat16"`` for an array of that
    storage type (native byte order), else None."""
    dt = getattr(a, "dtype", None)
    if dt is None or not dt.isnative:
        return None
    if dt.kind == "f" and dt.itemsize in (2, 4, 8):
        return dt.name
    if dt.name == "bfloat16" and dt.itemsize == 2:
        return "bfloat16"
    return None


def is_16bit(a) -> bool:
    return storage_name(a) in ("float16", "bfloat16")


def bfloat16() -> np.dtype:
    """The bfloat16 dtype (``ml_dtypes.bfloat16``); a clear error without ml_dtypes."""
    try:
        import ml_dtypes
    except ImportError:
        raise ImportError("bfloat16 needs the ml_dtypes package: pip install "
                          "'fastoptim[bfloat16]' (or pip install ml_dtypes)") from None
    return np.dtype(ml_dtypes.bfloat16)
