"""Precision options of an optimizer: which storage each buffer gets (master weights, state
dtype), how 16-bit stores round, and the seed of stochastic rounding. The kernels compute in
float32 for every param that is not float64 (float64 in float64) and round once per store.

A buffer's storage (``storage_of``):

=================  ================  ==============  ===================  ==================
param              state_dtype=None  "float32"       "bfloat16"           "int8"
=================  ================  ==============  ===================  ==================
float64            float64           (refused)       (refused)            (refused)
float32            float32           float32         bfloat16             codes + scales
float16/bfloat16   float32           float32         bfloat16             codes + scales
=================  ================  ==============  ===================  ==================

except the buffers an optimizer lists as ``"float32"`` in its ``_state_codes`` (AMSGrad's max,
Adagrad's sum: see :class:`fastoptim.Adam`, :class:`fastoptim.Adagrad`), which stay float32.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..lowp.dtypes import bfloat16, storage_name
from ..lowp.quantized import Quantized

__all__ = ["Precision", "STATE_DTYPES", "ROUNDINGS", "MASTER"]

STATE_DTYPES = (None, "float32", "bfloat16", "int8")
ROUNDINGS = ("nearest", "stochastic")
#: The state name of a 16-bit param's float32 master copy.
MASTER = "master_param"


def _order(a: np.ndarray) -> str:
    return "F" if a.ndim > 1 and a.flags.f_contiguous and not a.flags.c_contiguous else "C"


class Precision:
    """The validated ``master_weights``, ``state_dtype``, ``rounding`` and ``seed`` of one
    optimizer (one set for all its groups)."""

    __slots__ = ("master_weights", "rounding", "seed", "state_dtype")

    def __init__(self, master_weights: bool = False, state_dtype: str | None = None,
                 rounding: str = "nearest", seed: int = 0) -> None:
        if not isinstance(master_weights, (bool, np.bool_)):
            raise TypeError(f"master_weights must be a bool, got {type(master_weights).__name__}")
        if state_dtype is not None and not isinstance(state_dtype, str):
            # np.float32 or a dtype: accepted by name
            try:
                state_dtype = np.dtype(state_dtype).name
            except TypeError:
                raise TypeError(f"state_dtype must be one of {STATE_DTYPES}, got "
                                f"{state_dtype!r}") from None
        if state_dtype not in STATE_DTYPES:
            raise ValueError(f"state_dtype must be one of {STATE_DTYPES}, got {state_dtype!r}")
        if state_dtype == "bfloat16":
            bfloat16()  # ImportError naming the extra, before anything else
        if rounding not in ROUNDINGS:
            raise ValueError(f"rounding must be one of {ROUNDINGS}, got {rounding!r}")
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not (
            0 <= seed < 2**32
        ):
            raise ValueError(f"seed must be an int in [0, 2**32), got {seed!r}")
        self.master_weights = bool(master_weights)
        self.state_dtype = state_dtype
        self.rounding = rounding
        self.seed = int(seed)

    def options(self) -> dict[str, Any]:
        return {"master_weights": self.master_weights, "state_dtype": self.state_dtype,
                "rounding": self.rounding, "seed": self.seed}

    # --------------------------------------------------------------------- validation
    def check_param(self, p: Any, label: str) -> None:
        """Refuse a param these options cannot serve (the native plan checks the rest)."""
        name = storage_name(p)
        if name is None:
            return
        if self.master_weights and name in ("float32", "float64"):
            raise TypeError(f"param {label}: master_weights=True is for float16/bfloat16 "
                            f"params; this one is {name} (its own precision already is the "
                            "master's)")
        if self.state_dtype is not None and name == "float64":
            raise TypeError(f"param {label}: state_dtype={self.state_dtype!r} is for float32 "
                            "and 16-bit params; float64 params keep float64 state (use "
                            "state_dtype=None)")

    # ---------------------------------------------------------------------- storage
    def storage_of(self, p: np.ndarray, kind: str) -> tuple[str, ...]:
        """How a state buffer of ``p`` is held: ``("array", dtype name)`` or
        ``("int8", "signed" | "unsigned")``. ``kind``: the buffer's entry in the optimizer's
        ``_state_codes``."""
        name = storage_name(p)
        if name == "float64":
            return ("array", "float64")
        if kind == "float32" or self.state_dtype in (None, "float32"):
            return ("array", "float32")
        if self.state_dtype == "bfloat16":
            return ("array", "bfloat16")
        return ("int8", kind)

    def new_state(self, p: np.ndarray, kind: str, fill: float, reference: bool) -> Any:
        """A new state buffer for ``p`` holding ``fill`` everywhere (rounded as a store)."""
        how = self.storage_of(p, kind)
        if how[0] == "array":
            dt = bfloat16() if how[1] == "bfloat16" else np.dtype(how[1])
            # np.full rounds to nearest even (ml_dtypes for bfloat16), as the kernels' stores
            return np.full(p.shape, fill, dt, order=_order(p))
        signed = how[1] == "signed"
        if fill == 0:
            return Quantized.zeros_like(p, signed)  # code 0, scale 2^-126 (as encoded)
        values = np.full(p.shape, fill, np.float32, order=_order(p))
        if reference:
            from ..reference import storage

            codes, scales = storage.q8_encode(storage.flat(values), signed)
            q = Quantized.zeros_like(p, signed)
            storage.flat(q.codes)[...] = codes
            q.scales[...] = scales
            return q
        return Quantized.from_float(values, signed)

    def wants_master(self, p: np.ndarray) -> bool:
        return self.master_weights and storage_name(p) in ("float16", "bfloat16")

    @staticmethod
    def new_master(p: np.ndarray) -> np.ndarray:
        """The float32 master of a 16-bit param: its exact value."""
        return p.astype(np.float32, order="K")

    # --------------------------------------------------------------- state dict checks
    def check_loaded(self, p: np.ndarray, kind: str, value: Any, where: str) -> Any:
        """A copy of a state-dict buffer in this optimizer's storage for it, or an error (no
        conversion: quantized state stays codes + scales, and a mismatch is refused)."""
        how = self.storage_of(p, kind)
        if how[0] == "int8":
            if isinstance(value, Mapping) and set(value) == {"codes", "scales"}:
                value = Quantized(np.asarray(value["codes"]), np.asarray(value["scales"]))
            if not isinstance(value, Quantized):
                raise TypeError(f"{where}: this optimizer keeps it as int8 codes + scales "
                                f"(state_dtype='int8'), the state dict has "
                                f"{getattr(value, 'dtype', type(value).__name__)}")
            if value.signed != (how[1] == "signed"):
                raise TypeError(f"{where}: expected {how[1]} codes "
                                f"({'int8' if how[1] == 'signed' else 'uint8'}), got "
                                f"{value.codes.dtype}")
            if value.shape != p.shape:
                raise ValueError(f"{where}: shape {value.shape}, the param {p.shape}")
            q = Quantized.zeros_like(p, value.signed)
            q.codes[...] = value.codes
            q.scales[...] = value.scales
            return q
        if isinstance(value, Quantized):
            raise TypeError(f"{where}: the state dict holds int8 codes, this optimizer keeps "
                            f"{how[1]} state (state_dtype={self.state_dtype!r})")
        if not isinstance(value, np.ndarray):
            raise TypeError(f"{where}: not an array")
        if value.shape != p.shape:
            raise ValueError(f"{where}: shape {value.shape}, the param {p.shape}")
        if storage_name(value) != how[1]:
            raise TypeError(f"{where}: dtype {value.dtype}, this optimizer keeps {how[1]} "
                            f"state for a {p.dtype} param (state_dtype={self.state_dtype!r})")
        out = np.empty(p.shape, value.dtype, order=_order(p))
        out[...] = value
        return out

