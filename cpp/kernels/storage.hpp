// Storage types: how a buffer's elements are held in memory, and the conversions between that
// storage and the compute type (float32) of a kernel. Included inside a per-ISA namespace; see
// common.hpp. Every conversion is written once, in integer and IEEE-754 operations that give
// the same bits on every ISA (no hardware conversion instructions: F16C and AVX512-BF16 are
// not used, so the scalar path stays the ground truth and subnormals are never flushed).
//
// The NumPy twins, with the same operations in the same order, are in
// python/fastoptim/reference/storage.py. What NumPy and ml_dtypes compute is the reference:
//
//   float16  <- float32: round to nearest even (NumPy's astype), overflow to inf, NaN keeps its
//            sign and the top 10 payload bits (made non-zero), as NumPy does.
//   bfloat16 <- float32: round to nearest even (ml_dtypes' astype), NaN becomes sign | 0x7fc0.
//   float32  <- float16 / bfloat16: exact.
//   "stochastic" rounding (16-bit stores only): the bits below the 16-bit format's last place
//            get a uniform random addend before truncation (round toward zero on the
//            magnitude), so a value rounds up with probability (x - lo) / (hi - lo); the random
//            bits are a counter-based hash of (seed, step, param, buffer, element index), so
//            they do not depend on the ISA, the thread split or the chunking.
//   int8 blockwise (Q8): see fo_q8 below.

typedef unsigned int u32;  // 32 bits on every target we build for (checked in kernel_api.hpp)
typedef unsigned short u16;
typedef unsigned char u8;
typedef signed char i8;

inline u32 fo_u32(float x) {
    u32 u;
    __builtin_memcpy(&u, &x, 4);
    return u;
}
inline float fo_float(u32 u) {
    float x;
    __builtin_memcpy(&x, &u, 4);
    return x;
}

// Chris Wellons' "lowbias32" integer hash (a public-domain finalizer with low bias): the
// random bits of stochastic rounding. python/fastoptim/lowp/rounding.py has its twin.
inline u32 fo_mix32(u32 x) {
    x ^= x >> 16;
    x *= 0x7feb352dU;
    x ^= x >> 15;
    x *= 0x846ca68bU;
    x ^= x >> 16;
    return x;
}

// ------------------------------------------------------------------------ float16
inline float fo_f16_to_f32(u16 h) {
    const u32 sign = static_cast<u32>(h & 0x8000U) << 16;
    const u32 mag = h & 0x7fffU;
    // normal: rebias the exponent; inf/NaN: all-ones exponent, payload shifted; subnormal:
    // mag * 2^-24 (exact in float32)
    const u32 normal = (mag << 13) + ((127U - 15U) << 23);
    const u32 special = 0x7f800000U | ((mag & 0x3ffU) << 13);
    const u32 sub = fo_u32(static_cast<float>(static_cast<int>(mag)) * 0x1p-24f);
    const u32 m = mag >= 0x7c00U ? special : (mag >= 0x0400U ? normal : sub);
    return fo_float(m | sign);
}

// float32 -> float16 with a rounding addend: `stochastic` selects the addend `rnd` (uniform
// random bits) instead of round-to-nearest-even's. Operates on the magnitude; the sign is put
// back at the end.
inline u16 fo_f32_to_f16(float x, bool stochastic, u32 rnd) {
    const u32 u = fo_u32(x);
    const u32 sign = (u >> 16) & 0x8000U;
    const u32 a = u & 0x7fffffffU;
    const int field = static_cast<int>(a >> 23);
    const int ex = field == 0 ? -126 : field - 127;              // unbiased exponent
    const u32 sig = (a & 0x7fffffU) | (field == 0 ? 0U : 0x800000U);
    // bits of sig below float16's last place: 13 for float16 normals, more below 2^-14
    int d = 13 + (ex < -14 ? -14 - ex : 0);
    d = d > 31 ? 31 : d;
    const u32 low = (1U << d) - 1U;
    const u32 add = stochastic ? (rnd & low) : ((low >> 1) + ((sig >> d) & 1U));
    const u32 kept = (sig + add) >> d;
    const u32 e16 = static_cast<u32>((ex < -14 ? -14 : ex) + 14);
    u32 h = (e16 << 10) + kept;                                  // a carry bumps the exponent
    h = (ex > 15 || h >= 0x7c00U) ? 0x7c00U : h;                 // overflow: inf
    u32 nan = 0x7c00U | ((a & 0x7fffffU) >> 13);
    nan = nan == 0x7c00U ? 0x7c01U : nan;
    h = a > 0x7f800000U ? nan : h;
    return static_cast<u16>(h | sign);
}

// ------------------------------------------------------------------------ bfloat16
inline float fo_bf16_to_f32(u16 h) { return fo_float(static_cast<u32>(h) << 16); }

inline u16 fo_f32_to_bf16(float x, bool stochastic, u32 rnd) {
    const u32 u = fo_u32(x);
    const u32 add = stochastic ? (rnd & 0xffffU) : (0x7fffU + ((u >> 16) & 1U));
    const u32 r = (u + add) >> 16;                               // a carry bumps the exponent
    const bool nan = (u & 0x7fffffffU) > 0x7f800000U;
    return static_cast<u16>(nan ? ((u >> 16) & 0x8000U) | 0x7fc0U : r);
}

// ------------------------------------------------------------------- int8 blockwise (Q8)
// One 8-bit code per element and one float32 scale per block of kQ8Block elements (block k of
// a buffer holds its elements [k * kQ8Block, (k + 1) * kQ8Block); the last may be shorter).
// The scale is a power of two, S = 2^floor(log2(max |x|)) over the block, so x / S is exact
// and lies in [0, 2); the code is a small floating-point number of x / S ("block floating
// point", as the OCP Microscaling formats; the element format is chosen by the accuracy study
// in docs/lowp.rst):
//   signed buffers (momentum-like):  int8,  1 sign + 4 exponent + 3 mantissa bits;
//   unsigned buffers (second moments): uint8, UEXP exponent + UMAN mantissa bits, no sign, and a
//                                      positive value never encodes as 0 (a second moment
//                                      that underflowed to 0 would divide by eps alone).
// Exponent field e > 0: (1 + m / 2^MAN) * 2^(e - BIAS), BIAS = 2^EXP - 1 (so the top binade is
// [1, 2)); e = 0: m / 2^MAN * 2^(1 - BIAS) (subnormals). Encoding rounds to nearest even and
// saturates at the largest code. A block holding NaN or inf has a non-finite scale: the whole
// block decodes to NaN/inf (non-finite state poisons its block; fo_q8_nonfinite).
constexpr int kQ8SignedExp = 4, kQ8SignedMan = 3;
constexpr int kQ8UnsignedExp = 4, kQ8UnsignedMan = 4;

template <int EXP, int MAN>
struct fo_q8_format {
    static constexpr int BIAS = (1 << EXP) - 1;
    static constexpr int EMIN = 1 - BIAS;                        // smallest normal exponent
    static constexpr u32 QMAX = (1U << (EXP + MAN)) - 1U;       // largest magnitude code

    // |y| < 2 (float bits a, sign cleared) -> magnitude code, rounded to nearest even or, if
    // `stochastic`, up with probability (the dropped fraction) from the uniform bits `rnd`;
    // integer arithmetic on the significand, as fo_f32_to_f16: the bits kept are those of y's
    // binade, or of the smallest normal's below it (subnormal codes). Saturates at QMAX
    // (also for inf and NaN: their blocks decode through a non-finite scale).
    static u32 encode(u32 a, bool stochastic = false, u32 rnd = 0) {
        const int field = static_cast<int>(a >> 23);
        const int ex = field == 0 ? -126 : field - 127;          // unbiased exponent of y
        const u32 sig = (a & 0x7fffffU) | (field == 0 ? 0U : 0x800000U);
        int d = (23 - MAN) + (ex < EMIN ? EMIN - ex : 0);         // significand bits dropped
        d = d > 31 ? 31 : d;
        const u32 low = (1U << d) - 1U;
        const u32 add = stochastic ? (rnd & low) : ((low >> 1) + ((sig >> d) & 1U));
        const u32 kept = (sig + add) >> d;                        // implicit bit included
        const int e = (ex < EMIN ? EMIN : ex) + BIAS - 1;         // >= 0; a carry bumps it
        const u32 q = e > (1 << EXP) ? QMAX + 1U : (static_cast<u32>(e) << MAN) + kept;
        return q > QMAX ? QMAX : q;
    }

    // encode(a) (round to nearest even) in fewer vector operations, the same result (checked
    // for every a < 2^31): the normal range by an integer add on the bits (a carry into the
    // exponent is the rounding's); the subnormal codes by one float add of C = 2^(23 + EMIN -
    // MAN), whose last place is the subnormal codes' step: y + C rounds y to nearest even on
    // that step, exactly, and its bits minus C's are the code (2^MAN, the smallest normal's,
    // when y rounds up into it). A normal or non-finite y also goes through the add; its
    // result is not selected.
    static u32 encode_nearest(u32 a) {
        constexpr int s = 23 - MAN;
        constexpr u32 cbits = static_cast<u32>(127 + 23 + EMIN - MAN) << 23;
        const bool normal = a >= (static_cast<u32>(127 + EMIN) << 23);
        const u32 qn = ((a + ((1U << (s - 1)) - 1U) + ((a >> s) & 1U)) >> s) -
                       (static_cast<u32>(127 - BIAS) << MAN);
        const u32 qs = fo_u32(fo_float(a) + fo_float(cbits)) - cbits;
        const u32 q = normal ? qn : qs;
        return q > QMAX ? QMAX : q;
    }

    // magnitude code q -> its value, exact: a normal code's bits are q's own, shifted into
    // place and rebiased; a subnormal code is m * 2^(EMIN - MAN).
    static float decode(u32 q) {
        const u32 normal = (q << (23 - MAN)) + (static_cast<u32>(127 - BIAS) << 23);
        const float sub = static_cast<float>(static_cast<int>(q)) *
                          fo_float(static_cast<u32>(127 + EMIN - MAN) << 23);
        return q >= (1U << MAN) ? fo_float(normal) : sub;
    }
};

using fo_q8_signed = fo_q8_format<kQ8SignedExp, kQ8SignedMan>;
using fo_q8_unsigned = fo_q8_format<kQ8UnsignedExp, kQ8UnsignedMan>;

// The block's scale from its values: the power of two at or below max |x| (the maximum taken
// over the bit patterns of |x|, exact and vectorizable; NaN's patterns are the largest), at
// least 2^-126; NaN or inf when the block holds one.
FO_INLINE float fo_q8_scale(const float* FO_RESTRICT x, i64 n) {
    u32 amax = 0;
    for (i64 i = 0; i < n; ++i) {
        const u32 a = fo_u32(x[i]) & 0x7fffffffU;
        amax = a > amax ? a : amax;
    }
    if (amax > 0x7f800000U) return fo_float(amax);             // NaN
    const u32 e = amax & 0x7f800000U;
    return fo_float(e < 0x00800000U ? 0x00800000U : e);
}

// Encodes one block: `rnd` null rounds to nearest even, else holds n random words
// (stochastic rounding, as the 16-bit stores).
FO_INLINE void fo_q8_encode_signed(i8* FO_RESTRICT code, const float* FO_RESTRICT x, i64 n,
                                float inv, const u32* rnd) {
    // the sign is x's own (a NaN inv has any sign)
    if (rnd) {
        for (i64 i = 0; i < n; ++i) {
            const u32 a = fo_u32(x[i] * inv) & 0x7fffffffU;
            const u32 q = fo_q8_signed::encode(a, true, rnd[i]) | ((fo_u32(x[i]) >> 24) & 0x80U);
            code[i] = static_cast<i8>(static_cast<u8>(q));
        }
    } else {
        for (i64 i = 0; i < n; ++i) {
            const u32 a = fo_u32(x[i] * inv) & 0x7fffffffU;
            const u32 q = fo_q8_signed::encode_nearest(a) | ((fo_u32(x[i]) >> 24) & 0x80U);
            code[i] = static_cast<i8>(static_cast<u8>(q));
        }
    }
}

FO_INLINE void fo_q8_encode_unsigned(u8* FO_RESTRICT code, const float* FO_RESTRICT x, i64 n,
                                  float inv, const u32* rnd) {
    // a positive x never encodes as 0 (x itself, not x / scale: a tiny x may underflow to 0
    // when divided by a huge scale)
    if (rnd) {
        for (i64 i = 0; i < n; ++i) {
            const u32 q = fo_q8_unsigned::encode(fo_u32(x[i] * inv) & 0x7fffffffU, true, rnd[i]);
            const bool nonzero = (fo_u32(x[i]) & 0x7fffffffU) != 0U;
            code[i] = static_cast<u8>((q == 0U && nonzero) ? 1U : q);
        }
    } else {
        for (i64 i = 0; i < n; ++i) {
            const u32 q = fo_q8_unsigned::encode_nearest(fo_u32(x[i] * inv) & 0x7fffffffU);
            const bool nonzero = (fo_u32(x[i]) & 0x7fffffffU) != 0U;
            code[i] = static_cast<u8>((q == 0U && nonzero) ? 1U : q);
        }
    }
}

// A block whose scale is not finite (it held a NaN or an inf) decodes without arithmetic, so
// that no rewrite of the sign by the compiler (-(v * s) for (-v) * s, exact for numbers) can
// change a NaN's bits: a NaN scale gives its own NaN, quieted, for every element; an inf scale
// gives inf with the code's sign, or the NaN 0x7fc00000 for a zero code (0 * inf).
FO_INLINE bool fo_q8_finite(float scale) { return (fo_u32(scale) & 0x7fffffffU) < 0x7f800000U; }

FO_INLINE float fo_q8_nonfinite(float scale, u32 mag, u32 sign) {
    const u32 s = fo_u32(scale);
    const u32 inf = mag == 0U ? 0x7fc00000U : (0x7f800000U | sign);
    return fo_float((s & 0x7fffffffU) > 0x7f800000U ? s | 0x00400000U : inf);
}

FO_INLINE void fo_q8_decode_signed(float* FO_RESTRICT x, const i8* FO_RESTRICT code, i64 n,
                                float scale) {
    // the code widened once (sign-extended); its bit 7 is then bit 31
    if (!fo_q8_finite(scale)) {
        for (i64 i = 0; i < n; ++i) {
            const u32 w = static_cast<u32>(static_cast<int>(code[i]));
            x[i] = fo_q8_nonfinite(scale, w & 0x7fU, w & 0x80000000U);
        }
        return;
    }
    for (i64 i = 0; i < n; ++i) {
        const u32 w = static_cast<u32>(static_cast<int>(code[i]));
        const float v = fo_q8_signed::decode(w & 0x7fU);
        x[i] = fo_float(fo_u32(v) | (w & 0x80000000U)) * scale;
    }
}

FO_INLINE void fo_q8_decode_unsigned(float* FO_RESTRICT x, const u8* FO_RESTRICT code, i64 n,
                                  float scale) {
    if (!fo_q8_finite(scale)) {
        for (i64 i = 0; i < n; ++i) x[i] = fo_q8_nonfinite(scale, code[i], 0U);
        return;
    }
    for (i64 i = 0; i < n; ++i) x[i] = fo_q8_unsigned::decode(code[i]) * scale;
}
