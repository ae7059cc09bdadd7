"""The NumPy twins of the kernels' storage conversions (cpp/kernels/storage.hpp and the loads and
stores of cpp/kernels/run.hpp): the same integer and IEEE-754 operations in the same order, so
the same bits.

- float16 / bfloat16 <- float32, round to nearest even: NumPy's and ml_dtypes' own ``astype``
  (the C++ code is written to give their bits; tests/test_storage.py holds them together over
  every float16/bfloat16 value and their midpoints).
- stochastic rounding: a uniform random addend below the 16-bit format's last place, then
  truncation, with the counter-based random bits of :mod:`fastoptim.lowp.rounding`.
- int8 blockwise codes: one power-of-two float32 scale per block of ``BLOCK`` elements (in
  memory order) and an 8-bit float of x / scale: signed E4M3 (sign bit 0x80), unsigned E4M4
  (a positive value never encodes as 0). See docs/lowp.rst for the choice.

Arrays are handled in memory order (``flat``), as the kernels see them.
"""

from __future__ import annotations

import numpy as np

from ..lowp import rounding as _rnd
from ..lowp.dtypes import BLOCK, storage_name

__all__ = ["BLOCK", "flat", "to_f32", "store", "f32_to_f16", "f32_to_bf16",
           "q8_scales", "q8_encode", "q8_decode", "Q8_SIGNED", "Q8_UNSIGNED"]

_U32 = np.uint32
_F32 = np.float32


def flat(a: np.ndarray) -> np.ndarray:
    """A 1-D view of a contiguous array in memory order."""
    if a.ndim > 1 and a.flags.f_contiguous and not a.flags.c_contiguous:
        return a.reshape(-1, order="F")
    return a.reshape(-1)


def _bits(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x, _F32).view(_U32)


def _float(u: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(u, _U32).view(_F32)


# ----------------------------------------------------------------------- 16-bit stores
def f32_to_f16(x: np.ndarray, rnd: np.ndarray | None = None) -> np.ndarray:
    """float32 -> float16 bits (uint16): NumPy's rounding, or with ``rnd`` (uint32 random bits)
    stochastic rounding (fo_f32_to_f16)."""
    if rnd is None:
        with np.errstate(all="ignore"):
            return x.astype(np.float16).view(np.uint16)
    u = _bits(x)
    sign = (u >> _U32(16)) & _U32(0x8000)
    a = u & _U32(0x7FFFFFFF)
    field = (a >> _U32(23)).astype(np.int64)
    ex = np.where(field == 0, -126, field - 127)
    sig = (a & _U32(0x7FFFFF)) | np.where(field == 0, _U32(0), _U32(0x800000)).astype(_U32)
    d = np.minimum(13 + np.where(ex < -14, -14 - ex, 0), 31).astype(_U32)
    low = (_U32(1) << d) - _U32(1)
    kept = (sig + (rnd.astype(_U32) & low)) >> d
    e16 = (np.maximum(ex, -14) + 14).astype(_U32)
    h = (e16 << _U32(10)) + kept
    h = np.where((ex > 15) | (h >= 0x7C00), _U32(0x7C00), h).astype(_U32)
    nan = _U32(0x7C00) | ((a & _U32(0x7FFFFF)) >> _U32(13))
    nan = np.where(nan == 0x7C00, _U32(0x7C01), nan).astype(_U32)
    h = np.where(a > 0x7F800000, nan, h).astype(_U32)
    return (h | sign).astype(np.uint16)


def f32_to_bf16(x: np.ndarray, rnd: np.ndarray | None = None) -> np.ndarray:
    """float32 -> bfloat16 bits (uint16): round to nearest even (ml_dtypes' rounding, written
    out so it does not need ml_dtypes), or with ``rnd`` stochastic rounding (fo_f32_to_bf16)."""
    u = _bits(x)
    if rnd is None:
        add = _U32(0x7FFF) + ((u >> _U32(16)) & _U32(1))
    else:
        add = rnd.astype(_U32) & _U32(0xFFFF)
    r = (u + add) >> _U32(16)
    nan = (u & _U32(0x7FFFFFFF)) > 0x7F800000
    return np.where(nan, ((u >> _U32(16)) & _U32(0x8000)) | _U32(0x7FC0), r).astype(np.uint16)


def _f16_to_f32(h: np.ndarray) -> np.ndarray:
    return h.view(np.float16).astype(_F32)


def _bf16_to_f32(h: np.ndarray) -> np.ndarray:
    return _float(h.view(np.uint16).astype(_U32) << _U32(16))


# ------------------------------------------------------------------ int8 blockwise codes
class _Q8Format:
    """An 8-bit float of x / scale in [0, 2): EXP exponent and MAN mantissa bits, bias
    2^EXP - 1, subnormals at exponent field 0, saturating (fo_q8_format)."""

    def __init__(self, exp: int, man: int) -> None:
        self.exp, self.man = exp, man
        self.bias = (1 << exp) - 1
        self.emin = 1 - self.bias
        self.qmax = (1 << (exp + man)) - 1
        q = np.arange(self.qmax + 1, dtype=_U32)
        e, m = q >> _U32(man), q & _U32((1 << man) - 1)
        normal = _float(((e + _U32(127 - self.bias)) << _U32(23)) | (m << _U32(23 - man)))
        sub = m.astype(np.int32).astype(_F32) * _float(
            np.array([(127 + self.emin - man) << 23], _U32))[0]
        #: decoded magnitude of each code, exact float32
        self.table = np.where(e != 0, normal, sub).astype(_F32)

    def encode(self, a: np.ndarray, rnd: np.ndarray | None = None) -> np.ndarray:
        """|y| < 2 as float bits ``a`` (uint32, sign cleared) -> magnitude code, rounded to
        nearest even, or stochastically with the uint32 random words ``rnd``: integer
        arithmetic on the significand, bits kept as y's binade (or the smallest normal's)
        allows, saturating at the largest code."""
        field = (a >> _U32(23)).astype(np.int64)
        ex = np.where(field == 0, -126, field - 127)
        sig = (a & _U32(0x7FFFFF)) | np.where(field == 0, _U32(0), _U32(0x800000))
        d = np.minimum((23 - self.man) + np.maximum(self.emin - ex, 0), 31).astype(_U32)
        low = (_U32(1) << d) - _U32(1)
        if rnd is None:
            add = (low >> _U32(1)) + ((sig >> d) & _U32(1))
        else:
            add = rnd.astype(_U32) & low
        kept = ((sig + add) >> d).astype(np.int64)
        e = np.maximum(ex, self.emin) + self.bias - 1
        q = np.where(e > (1 << self.exp), self.qmax + 1, (e << self.man) + kept)
        return np.minimum(q, self.qmax).astype(_U32)


#: The element formats of signed (momentum-like) and unsigned (second-moment) buffers.
Q8_SIGNED = _Q8Format(4, 3)
Q8_UNSIGNED = _Q8Format(4, 4)


def q8_scales(x: np.ndarray) -> np.ndarray:
    """One float32 scale per block of flat float32 ``x``: the power of two at or below the
    block's max |x| (taken over bit patterns), at least 2^-126; NaN/inf if the block has one."""
    n = x.size
    a = _bits(x) & _U32(0x7FFFFFFF)
    nb = -(-n // BLOCK)
    padded = np.zeros(nb * BLOCK, _U32)
    padded[:n] = a
    amax = padded.reshape(nb, BLOCK).max(axis=1) if n else np.zeros(0, _U32)
    e = np.maximum(amax & _U32(0x7F800000), _U32(0x00800000))
    return _float(np.where(amax > 0x7F800000, amax, e).astype(_U32))


def q8_encode(x: np.ndarray, signed: bool,
              rnd: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Flat float32 ``x`` -> (codes, scales): int8 codes if ``signed`` else uint8; ``rnd``
    (one uint32 per element) rounds stochastically, None to nearest even."""
    scales = q8_scales(x)
    with np.errstate(all="ignore"):
        inv = (_F32(1.0) / scales).astype(_F32)          # exact: a power of two (or NaN/0)
        y = x * np.repeat(inv, BLOCK)[: x.size]
    u = _bits(y)
    a = u & _U32(0x7FFFFFFF)
    if signed:
        # the sign is x's own (a NaN scale's inverse may carry either sign)
        q = Q8_SIGNED.encode(a, rnd) | ((_bits(x) >> _U32(24)) & _U32(0x80))
        return q.astype(np.uint8).view(np.int8), scales
    q = Q8_UNSIGNED.encode(a, rnd)
    # x itself, not x / scale: a tiny x may underflow to 0 when divided by a huge scale
    nonzero = (_bits(x) & _U32(0x7FFFFFFF)) != 0
    return np.where((q == 0) & nonzero, _U32(1), q).astype(np.uint8), scales


def q8_decode(codes: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """Flat codes (int8 signed or uint8 unsigned) and their scales -> float32."""
    n = codes.size
    s = np.repeat(scales.astype(_F32), BLOCK)[:n]
    if codes.dtype == np.int8:
        c = codes.view(np.uint8)
        q = c & np.uint8(0x7F)
        sign = (c.astype(_U32) & _U32(0x80)) << _U32(24)
        v = _float(_bits(Q8_SIGNED.table[q]) | sign)
    else:
        q, sign = codes, _U32(0)
        v = Q8_UNSIGNED.table[codes]
    with np.errstate(all="ignore"):
        out = (v * s).astype(_F32)
    # a block with a non-finite scale, without arithmetic (fo_q8_nonfinite): a NaN scale's
    # own NaN, quieted; inf with the code's sign, or NaN 0x7fc00000 for a zero code
    # (the scale's sign ignored in the test, as fo_q8_finite; only a loaded scale has one)
    if np.all((_bits(scales) & _U32(0x7FFFFFFF)) < 0x7F800000):
        return out
    sb = _bits(s)
    sa = sb & _U32(0x7FFFFFFF)
    inf = np.where(q == 0, _U32(0x7FC00000), _U32(0x7F800000) | sign)
    special = np.where(sa > 0x7F800000, sb | _U32(0x00400000), inf)
    return np.where(sa >= 0x7F800000, _float(special.astype(_U32)), out).astype(_F32)


# ------------------------------------------------------------------- loads and stores
def to_f32(buf) -> np.ndarray:
    """A buffer's values as a flat float32 array: the buffer itself (a view) when it is float32
    or float64, else a decoded copy (fo_load). ``buf``: an array or a Quantized."""
    if hasattr(buf, "codes"):
        return q8_decode(flat(buf.codes), buf.scales)
    name = storage_name(buf)
    if name == "float16":
        return _f16_to_f32(flat(buf).view(np.uint16))
    if name == "bfloat16":
        return _bf16_to_f32(flat(buf).view(np.uint16))
    return flat(buf)


def store(buf, values: np.ndarray, rounding: str = "nearest", key: int = 0,
          index0: int = 0) -> None:
    """Write flat float32 ``values`` into ``buf`` (fo_store): 16-bit storage rounded as
    ``rounding`` says (the random bits of ``key`` at global indices index0...), int8 codes
    re-quantized per block, float32 copied."""
    if hasattr(buf, "codes"):
        rnd = None
        if rounding == "stochastic":
            rnd = _rnd.random_bits(key, index0, values.size)
        codes, scales = q8_encode(values, buf.codes.dtype == np.int8, rnd)
        flat(buf.codes)[...] = codes
        buf.scales[...] = scales
        return
    name = storage_name(buf)
    if name in ("float16", "bfloat16"):
        rnd = None
        if rounding == "stochastic":
            rnd = _rnd.random_bits(key, index0, values.size)
        bits = (f32_to_f16 if name == "float16" else f32_to_bf16)(values, rnd)
        flat(buf).view(np.uint16)[...] = bits
        return
    flat(buf)[...] = values
