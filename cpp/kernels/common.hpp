// Helpers shared by every kernel. This file is included *inside* a per-ISA namespace (see
// cpp/core/isa_table.cpp), so it must not include headers: anything defined here gets a
// separate, ISA-suffixed symbol in each ISA's object, and no AVX code can leak into the
// scalar path through a shared inline definition.
//
// Every kernel is written as a plain per-element loop. The same source is compiled once per
// ISA; the compiler vectorizes it. Bit-exactness across ISAs holds because every operation is
// a single IEEE-754 operation in the working dtype (+ - * / sqrt, comparisons), the build uses
// -ffp-contract=off (no fused multiply-add) and never -ffast-math.

typedef __INT64_TYPE__ i64;  // std::int64_t, without including <cstdint> here

inline float fo_sqrt(float x) { return __builtin_sqrtf(x); }
inline double fo_sqrt(double x) { return __builtin_sqrt(x); }

inline float fo_abs(float x) { return __builtin_fabsf(x); }
inline double fo_abs(double x) { return __builtin_fabs(x); }

// np.maximum semantics: NaN in either operand propagates.
template <class T>
inline T fo_max(T a, T b) {
    return (a >= b || a != a) ? a : b;
}

// sign(x) in {-1, 0, +1} (NaN gives 0, as the comparisons are false; np.sign gives NaN, so
// kernels that use this must document it).
template <class T>
inline T fo_sign(T x) {
    return static_cast<T>(x > T(0)) - static_cast<T>(x < T(0));
}

// A flag passed as a coefficient.
inline bool fo_flag(double c) { return c != 0.0; }

#define FO_RESTRICT __restrict__
#define FO_INLINE inline __attribute__((always_inline))

// Runtime flags -> compile-time loop variant. A kernel packs its flags into the bits of
// `variant` and gets `f(fo_bits<V>{})` called with the matching constant, so every loop is
// compiled branch-free (and vectorized) for each combination.
template <int V>
struct fo_bits {
    static constexpr bool bit(int k) { return ((V >> k) & 1) != 0; }
};

template <int N, int V = 0, class F>
inline void fo_dispatch(int variant, F&& f) {
    if constexpr (V < N) {
        if (variant == V) f(fo_bits<V>{});
        else fo_dispatch<N, V + 1>(variant, f);
    }
}

// Casts the float64 coefficients once to the working dtype.
template <class T, int N>
inline void fo_cast_coeffs(const double* cd, T* c) {
    for (int k = 0; k < N; ++k) c[k] = static_cast<T>(cd[k]);
}

// Typed view of buffer `b` starting at element `begin` (nullptr stays nullptr: optional
// buffers that the current flags do not use). The loop over kernels of any storage: run.hpp.
template <class T>
inline T* fo_buf(char* b, i64 begin) {
    return b ? reinterpret_cast<T*>(b) + begin : nullptr;
}

// torch's lerp(a, b, w) (aten/src/ATen/native/Lerp.h): a + w * (b - a) while |w| < 0.5,
// else b - (b - a) * (1 - w). FLIP selects the second form; the optimizer passes both w and
// 1 - w (computed in float64) as coefficients.
template <bool FLIP, class T>
inline T fo_lerp(T a, T b, T w, T one_minus_w) {
    return FLIP ? b - (b - a) * one_minus_w : a + w * (b - a);
}

// The first half of an Adam-family step (used by NAdam and RAdam), in torch's order:
//   g = sign * g;  p = p * decay (DECOUPLED);  g = g + weight_decay * p (L2);
//   m = lerp(m, g, w) (FLIP: see fo_lerp);  v = v * beta2 + ((1 - beta2) * g) * g
// p (the caller's local copy), g, m and v are updated in place; returns the new m.
template <class T>
struct fo_moments {
    T sign, decay, wd, w, one_minus_w, beta2, one_minus_beta2;

    template <bool DECOUPLED, bool L2, bool FLIP>
    T step(T& p, T& g, T& m, T& v) const {
        g = sign * g;
        if (DECOUPLED) p = p * decay;
        if (L2) g = g + wd * p;
        const T mi = fo_lerp<FLIP>(m, g, w, one_minus_w);
        m = mi;
        v = v * beta2 + (one_minus_beta2 * g) * g;
        return mi;
    }
};

// Packs a kernel's runtime flags into a loop variant: argument k is bit k, read back inside the
// loop as the compile-time constant fo_bits<V>::bit(k).
template <class... B>
inline int fo_variant(B... flags) {
    int v = 0, k = 0;
    ((v |= (flags ? 1 : 0) << k, ++k), ...);
    return v;
}
