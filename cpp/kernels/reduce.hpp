// Reductions over a gradient (norms for clipping, the non-finite check). Included inside a
// per-ISA namespace; see common.hpp.
//
// Deterministic on every ISA and thread count: element i of a block always goes to accumulator
// i % lanes (kReduceLanes = 8; 16 for the sum of squares, fo_sumsq), each accumulator is a
// float64 updated in element order (no reassociation: no -ffast-math), and the accumulators are
// combined in a fixed tree. The vectorizer may run the lanes side by side but cannot change
// that order. float32 squares are exact in float64, so a float32 sum of squares only rounds in
// the additions. The sum of squares runs at the memory's read speed (as np.dot here).
constexpr int kReduceLanes = 8;

// (The ops, ReduceOp, are declared in cpp/core/kernel_api.hpp.)

template <int OP>
inline double fo_reduce_step(double acc, double x, double p) {
    if (OP == REDUCE_SUMSQ) return acc + x * x;
    if (OP == REDUCE_SUMABS) return acc + fo_abs(x);
    if (OP == REDUCE_MAXABS) return fo_max(acc, fo_abs(x));
    if (OP == REDUCE_SUMPOW) return acc + __builtin_pow(fo_abs(x), p);  // scalar libm: exact same
    return acc + static_cast<double>(x - x != 0.0);                    // NaN and +-inf
}

template <int OP>
inline double fo_reduce_combine(double a, double b) {
    return OP == REDUCE_MAXABS ? fo_max(a, b) : a + b;
}

// 16-bit storage, read through fo_value: the reductions of a float16/bfloat16 array are those
// of its (exact) float32 upcast.
struct fo_half { u16 bits; };
struct fo_bhalf { u16 bits; };
inline double fo_value(float x) { return static_cast<double>(x); }
inline double fo_value(double x) { return x; }
inline double fo_value(fo_half x) { return static_cast<double>(fo_f16_to_f32(x.bits)); }
inline double fo_value(fo_bhalf x) { return static_cast<double>(fo_bf16_to_f32(x.bits)); }

template <class T, int OP>
double fo_reduce_loop(const T* FO_RESTRICT x, i64 n, double p) {
    double acc[kReduceLanes] = {0, 0, 0, 0, 0, 0, 0, 0};
    i64 i = 0;
    // main loop: kReduceLanes independent accumulators
    for (; i + kReduceLanes <= n; i += kReduceLanes)
        for (int j = 0; j < kReduceLanes; ++j)
            acc[j] = fo_reduce_step<OP>(acc[j], fo_value(x[i + j]), p);
    // tail: element i still goes to accumulator i % kReduceLanes
    for (int j = 0; i < n; ++i, ++j) acc[j] = fo_reduce_step<OP>(acc[j], fo_value(x[i]), p);
    const double a = fo_reduce_combine<OP>(fo_reduce_combine<OP>(acc[0], acc[1]),
                                           fo_reduce_combine<OP>(acc[2], acc[3]));
    const double b = fo_reduce_combine<OP>(fo_reduce_combine<OP>(acc[4], acc[5]),
                                           fo_reduce_combine<OP>(acc[6], acc[7]));
    return fo_reduce_combine<OP>(a, b);
}

// The sum of squares (gradient norms, and the first test of the non-finite policy) is the hot
// reduction: written with GCC/Clang vector extensions so that its 16 float64 lanes stay in
// registers as four 4-wide vectors on every ISA (lane j of a_k sums the elements
// i = 16m + 4k + j, in order: the same arithmetic however the vectors are lowered).
typedef double fo_v4d __attribute__((vector_size(32)));
typedef float fo_v4f __attribute__((vector_size(16)));

inline fo_v4d fo_load4(const float* p) {
    fo_v4f f;
    __builtin_memcpy(&f, p, sizeof f);
    return __builtin_convertvector(f, fo_v4d);
}
inline fo_v4d fo_load4(const double* p) {
    fo_v4d d;
    __builtin_memcpy(&d, p, sizeof d);
    return d;
}
template <class H>
inline fo_v4d fo_load4(const H* p) {
    const fo_v4d d = {fo_value(p[0]), fo_value(p[1]), fo_value(p[2]), fo_value(p[3])};
    return d;
}

template <class T>
double fo_sumsq(const T* FO_RESTRICT x, i64 n) {
    fo_v4d a0 = {0.0, 0.0, 0.0, 0.0}, a1 = a0, a2 = a0, a3 = a0;
    i64 i = 0;
    // main loop: 16 elements, four independent vector accumulators
    for (; i + 16 <= n; i += 16) {
        const fo_v4d d0 = fo_load4(x + i), d1 = fo_load4(x + i + 4);
        const fo_v4d d2 = fo_load4(x + i + 8), d3 = fo_load4(x + i + 12);
        a0 = a0 + d0 * d0;
        a1 = a1 + d1 * d1;
        a2 = a2 + d2 * d2;
        a3 = a3 + d3 * d3;
    }
    double acc[16];
    __builtin_memcpy(acc, &a0, sizeof a0);
    __builtin_memcpy(acc + 4, &a1, sizeof a1);
    __builtin_memcpy(acc + 8, &a2, sizeof a2);
    __builtin_memcpy(acc + 12, &a3, sizeof a3);
    // tail: element i still goes to lane i % 16
    for (int j = 0; i < n; ++i, ++j) {
        const double v = fo_value(x[i]);
        acc[j] = acc[j] + v * v;
    }
    // fixed pairwise tree
    for (int width = 8; width >= 1; width /= 2)
        for (int j = 0; j < width; ++j) acc[j] = acc[2 * j] + acc[2 * j + 1];
    return acc[0];
}

template <class T>
double fo_reduce(int op, const void* x, i64 begin, i64 end, double p) {
    const T* xs = static_cast<const T*>(x) + begin;
    const i64 n = end - begin;
    switch (op) {
        case REDUCE_SUMSQ: return fo_sumsq<T>(xs, n);
        case REDUCE_SUMABS: return fo_reduce_loop<T, REDUCE_SUMABS>(xs, n, p);
        case REDUCE_MAXABS: return fo_reduce_loop<T, REDUCE_MAXABS>(xs, n, p);
        case REDUCE_SUMPOW: return fo_reduce_loop<T, REDUCE_SUMPOW>(xs, n, p);
        default: return fo_reduce_loop<T, REDUCE_NONFINITE>(xs, n, p);
    }
}
