"""Blockwise 8-bit state: ``Quantized``, the codes and scales of one state buffer."""

from __future__ import annotations

import numpy as np

from .. import _native
from .dtypes import BLOCK

__all__ = ["Quantized"]


class Quantized:
    """One state buffer held as 8-bit codes with one float32 scale per block of ``BLOCK`` (256)
    elements in memory order: ``value = decode(code) * scale``.

    ``codes``: int8 (signed buffers, e.g. first moments: an E4M3 float of value / scale) or
    uint8 (unsigned buffers, second moments: E4M4), in the param's shape and memory order.
    ``scales``: float32, one per block, each a power of two (the largest at or below the
    block's largest magnitude). The optimizer's kernels decode, update and re-encode them in one pass;
    read the values with ``np.asarray(q)`` or :meth:`dequantize` (a float32 copy). Formats, their
    source and accuracy: docs/lowp.rst.
    """

    __slots__ = ("codes", "scales")
    __array_priority__ = 0

    def __init__(self, codes: np.ndarray, scales: np.ndarray) -> None:
        if not isinstance(codes, np.ndarray) or codes.dtype not in (np.int8, np.uint8):
            raise TypeError(f"codes must be an int8 or uint8 numpy array, got "
                            f"{getattr(codes, 'dtype', type(codes).__name__)}")
        if not (codes.flags.c_contiguous or codes.flags.f_contiguous):
            raise ValueError("codes must be contiguous")
        blocks = -(-codes.size // BLOCK)
        if (not isinstance(scales, np.ndarray) or scales.dtype != np.float32
                or scales.shape != (blocks,) or not scales.flags.c_contiguous):
            raise ValueError(f"scales must be a contiguous float32 array of shape ({blocks},) "
                             f"for {codes.size} codes (one per {BLOCK}), got "
                             f"{getattr(scales, 'dtype', '?')} {getattr(scales, 'shape', '')}")
        self.codes = codes
        self.scales = scales

    @classmethod
    def zeros_like(cls, a: np.ndarray, signed: bool) -> "Quantized":
        """All-zero state in ``a``'s shape and memory order."""
        order = "F" if a.flags.f_contiguous and not a.flags.c_contiguous else "C"
        codes = np.zeros(a.shape, np.int8 if signed else np.uint8, order=order)
        return cls(codes, np.full(-(-a.size // BLOCK), 2.0**-126, np.float32))

    @classmethod
    def from_float(cls, values: np.ndarray, signed: bool) -> "Quantized":
        """Quantize float32 ``values`` (the kernels' encoding)."""
        values = np.asarray(values, np.float32)
        order = "F" if values.flags.f_contiguous and not values.flags.c_contiguous else "C"
        values = np.asarray(values, order=order)
        q = cls.zeros_like(values, signed)
        _native.encode(values, q.codes, q.scales)
        return q

    @property
    def signed(self) -> bool:
        return self.codes.dtype == np.int8

    @property
    def shape(self) -> tuple[int, ...]:
        return self.codes.shape

    @property
    def size(self) -> int:
        return self.codes.size

    @property
    def nbytes(self) -> int:
        """Bytes held: codes and scales."""
        return self.codes.nbytes + self.scales.nbytes

    def dequantize(self) -> np.ndarray:
        """The values as a new float32 array (param shape and memory order)."""
        return _native.decode(self.codes, self.scales)

    def __array__(self, dtype=None, copy=None):
        if copy is False:
            raise ValueError("a Quantized buffer cannot be read as an array without a copy")
        out = self.dequantize()
        return out if dtype is None else out.astype(dtype, copy=False)

    def copy(self) -> "Quantized":
        return Quantized(self.codes.copy(order="K"), self.scales.copy())

    def __eq__(self, other) -> bool:  # same codes and scales (bit for bit)
        if not isinstance(other, Quantized):
            return NotImplemented
        return (self.codes.dtype == other.codes.dtype and self.codes.shape == other.codes.shape
                and np.array_equal(self.codes, other.codes)
                and np.array_equal(self.scales.view(np.uint32), other.scales.view(np.uint32)))

    __hash__ = None  # mutable

    def __repr__(self) -> str:
        kind = "signed" if self.signed else "unsigned"
        return f"Quantized({kind}, shape={self.shape}, blocks={self.scales.size})"
