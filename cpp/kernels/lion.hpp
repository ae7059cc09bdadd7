// Lion (Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms", Algorithm 2: sign of
// an interpolated momentum, decoupled weight decay) with maximize. Not in torch 2.13; the
// update is the paper's. Included inside a per-ISA namespace; see common.hpp.
//
//   g    = sign * g                              (sign = -1 when maximize)
//   c    = beta1 * m + (1 - beta1) * g
//   p    = p * decay + (-lr) * sgn(c)            (decay = 1 - lr * weight_decay)
//   m    = beta2 * m + (1 - beta2) * g
//
// sgn is fo_sign: -1, 0 or +1, and 0 for c = +-0 (a param with zero gradient and zero
// momentum does not move) and for c = NaN (the param keeps its value; the NaN stays in m).
// p * 1 is exact, so there is no flag for weight_decay = 0.
// Reference with the same operation order: python/fastoptim/reference/kernels.py::lion.
struct Lion : fo_kernel<Lion> {
    enum Buf { PARAM, GRAD, EXP_AVG, N_BUF };
    enum Coef { SIGN, DECAY, BETA1, ONE_MINUS_BETA1, BETA2, ONE_MINUS_BETA2, NEG_LR, N_COEF };
    static constexpr KernelSpec spec = {
        "lion",
        N_BUF,
        {"param", "grad", "exp_avg"},
        {-1, -1, -1},
        N_COEF,
        {"sign", "decay", "beta1", "one_minus_beta1", "beta2", "one_minus_beta2", "neg_lr"},
    };

    static constexpr int N_VARIANTS = 1;
    static int variant(const double*) { return 0; }

    template <class T, class V>
    static void loop(V, const T* c, T* FO_RESTRICT p, const T* FO_RESTRICT g, T* FO_RESTRICT m,
                     i64 n) {
        const T sign = c[SIGN], decay = c[DECAY], beta1 = c[BETA1];
        const T one_minus_beta1 = c[ONE_MINUS_BETA1], beta2 = c[BETA2];
        const T one_minus_beta2 = c[ONE_MINUS_BETA2], neg_lr = c[NEG_LR];
        for (i64 i = 0; i < n; ++i) {
            const T gi = sign * g[i];
            const T ci = beta1 * m[i] + one_minus_beta1 * gi;
            p[i] = p[i] * decay + neg_lr * fo_sign(ci);
            m[i] = beta2 * m[i] + one_minus_beta2 * gi;
        }
    }
};
