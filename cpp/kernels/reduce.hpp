// Reductions over a gradient (norms for clipping, the non-finite check). Included inside a
// per-ISA namespace; see common.hpp.
//
// Deterministic on every ISA and thread count: element i of a block always goes to accumulator
// i % kReduceLanes, each accumulator is a float64 updated in element order (no
// reassociation: no -ffast-math), and the accumulators are combined in a fixed tree. The
// vectorizer may run the lanes side by side but cannot change that order. float32 squares are
// exact in float64, so a float32 sum of squares only rounds in the additions.
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

template <class T, int OP>
double fo_reduce_loop(const T* FO_RESTRICT x, i64 n, double p) {
    double acc[kReduceLanes] = {0, 0, 0, 0, 0, 0, 0, 0};
    i64 i = 0;
    // main loop: kReduceLanes independent accumulators
    for (; i + kReduceLanes <= n; i += kReduceLanes)
        for (int j = 0; j < kReduceLanes; ++j)
            acc[j] = fo_reduce_step<OP>(acc[j], static_cast<double>(x[i + j]), p);
    // tail: element i still goes to accumulator i % kReduceLanes
    for (int j = 0; i < n; ++i, ++j) acc[j] = fo_reduce_step<OP>(acc[j], static_cast<double>(x[i]), p);
    const double a = fo_reduce_combine<OP>(fo_reduce_combine<OP>(acc[0], acc[1]),
                                           fo_reduce_combine<OP>(acc[2], acc[3]));
    const double b = fo_reduce_combine<OP>(fo_reduce_combine<OP>(acc[4], acc[5]),
                                           fo_reduce_combine<OP>(acc[6], acc[7]));
    return fo_reduce_combine<OP>(a, b);
}

template <class T>
double fo_reduce(int op, const void* x, i64 begin, i64 end, double p) {
    const T* xs = static_cast<const T*>(x) + begin;
    const i64 n = end - begin;
    switch (op) {
        case REDUCE_SUMSQ: return fo_reduce_loop<T, REDUCE_SUMSQ>(xs, n, p);
        case REDUCE_SUMABS: return fo_reduce_loop<T, REDUCE_SUMABS>(xs, n, p);
        case REDUCE_MAXABS: return fo_reduce_loop<T, REDUCE_MAXABS>(xs, n, p);
        case REDUCE_SUMPOW: return fo_reduce_loop<T, REDUCE_SUMPOW>(xs, n, p);
        default: return fo_reduce_loop<T, REDUCE_NONFINITE>(xs, n, p);
    }
}
