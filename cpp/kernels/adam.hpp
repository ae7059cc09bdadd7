// Adam / AdamW with AMSGrad and maximize: torch.optim.Adam and torch.optim.AdamW
// (single-tensor path of torch 2.x; Kingma & Ba 2015, Algorithm 1, with epsilon added after
// the bias-corrected square root). Included inside a per-ISA namespace; see common.hpp.
//
//   g      = sign * g                              (sign = -1 when maximize)
//   p      = p * decay                             (AdamW: decay = 1 - lr * weight_decay)
//   g      = g + weight_decay * p                  (Adam's L2 form, if weight_decay != 0)
//   m      = m + w * (g - m)                       (torch's lerp with w = 1 - beta1 < 0.5,
//   m      = g - (g - m) * (1 - w)                  and its other branch for w >= 0.5)
//   v      = v * beta2 + ((1 - beta2) * g) * g     (torch: mul_ then addcmul_)
//   vmax   = max(vmax, v); v' = vmax               (amsgrad; max of the raw v, as torch)
//   denom  = sqrt(v') / sqrt(1 - beta2^t) + eps
//   p      = p + (-lr / (1 - beta1^t) * m) / denom
//
// Every scalar (decay, w, 1 - w, sqrt(1 - beta2^t), -lr / (1 - beta1^t), ...) is computed once
// per step in float64 by the Python optimizer and cast once to the working dtype.
// Reference with the same operation order: python/fastoptim/reference/kernels.py::adam.
struct Adam {
    enum Buf { PARAM, GRAD, EXP_AVG, EXP_AVG_SQ, MAX_EXP_AVG_SQ, N_BUF };
    enum Coef { SIGN, DECAY, WEIGHT_DECAY, LERP_W, ONE_MINUS_LERP_W, LERP_FLIP, BETA2,
                ONE_MINUS_BETA2, AMSGRAD, BC2_SQRT, EPS, NEG_STEP_SIZE, N_COEF };
    static constexpr KernelSpec spec = {
        "adam",
        N_BUF,
        {"param", "grad", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"},
        {-1, -1, -1, -1, AMSGRAD},
        N_COEF,
        {"sign", "decay", "weight_decay", "lerp_w", "one_minus_lerp_w", "lerp_flip", "beta2",
         "one_minus_beta2", "amsgrad", "bc2_sqrt", "eps", "neg_step_size"},
    };

    template <class T, bool DECOUPLED, bool L2, bool FLIP, bool AMS>
    static void loop(const T* c, T* FO_RESTRICT p, const T* FO_RESTRICT g, T* FO_RESTRICT m,
                     T* FO_RESTRICT v, T* FO_RESTRICT vmax, i64 n) {
        const T sign = c[SIGN], decay = c[DECAY], wd = c[WEIGHT_DECAY];
        const T w = c[LERP_W], one_minus_w = c[ONE_MINUS_LERP_W];
        const T beta2 = c[BETA2], one_minus_beta2 = c[ONE_MINUS_BETA2];
        const T bc2_sqrt = c[BC2_SQRT], eps = c[EPS], neg_step = c[NEG_STEP_SIZE];
        for (i64 i = 0; i < n; ++i) {
            T gi = sign * g[i];
            T pi = p[i];
            if (DECOUPLED) pi = pi * decay;
            if (L2) gi = gi + wd * pi;
            const T mi = FLIP ? gi - (gi - m[i]) * one_minus_w : m[i] + w * (gi - m[i]);
            const T vi = v[i] * beta2 + (one_minus_beta2 * gi) * gi;
            m[i] = mi;
            v[i] = vi;
            T vu = vi;
            if (AMS) {
                vu = fo_max(vmax[i], vi);
                vmax[i] = vu;
            }
            const T denom = fo_sqrt(vu) / bc2_sqrt + eps;
            p[i] = pi + (neg_step * mi) / denom;
        }
    }

    template <class T>
    static void run(const double* cd, char* const* bufs, i64 begin, i64 end) {
        T c[N_COEF];
        fo_cast_coeffs<T, N_COEF>(cd, c);
        T* p = fo_buf<T>(bufs[PARAM], begin);
        const T* g = fo_buf<T>(bufs[GRAD], begin);
        T* m = fo_buf<T>(bufs[EXP_AVG], begin);
        T* v = fo_buf<T>(bufs[EXP_AVG_SQ], begin);
        T* vmax = fo_buf<T>(bufs[MAX_EXP_AVG_SQ], begin);
        const i64 n = end - begin;
        // bits: 0 amsgrad, 1 lerp_flip, 2 L2 weight decay, 3 decoupled weight decay
        const int variant = (fo_flag(cd[AMSGRAD]) ? 1 : 0) | (fo_flag(cd[LERP_FLIP]) ? 2 : 0) |
                            (fo_flag(cd[WEIGHT_DECAY]) ? 4 : 0) | (cd[DECAY] != 1.0 ? 8 : 0);
        fo_dispatch<16>(variant, [&](auto bits) {
            using V = decltype(bits);
            loop<T, V::bit(3), V::bit(2), V::bit(1), V::bit(0)>(c, p, g, m, v, vmax, n);
        });
    }
};
