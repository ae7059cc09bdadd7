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
struct Adam : fo_kernel<Adam> {
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

    // bits: 0 decoupled weight decay, 1 L2 weight decay, 2 lerp_flip, 3 amsgrad
    static constexpr int N_VARIANTS = 16;
    static int variant(const double* c) {
        return fo_variant(c[DECAY] != 1.0, c[WEIGHT_DECAY] != 0.0, fo_flag(c[LERP_FLIP]),
                          fo_flag(c[AMSGRAD]));
    }

    template <class T, class V>
    static void loop(V, const T* c, T* FO_RESTRICT p, const T* FO_RESTRICT g, T* FO_RESTRICT m,
                     T* FO_RESTRICT v, T* FO_RESTRICT vmax, i64 n) {
        const fo_moments<T> k{c[SIGN], c[DECAY], c[WEIGHT_DECAY], c[LERP_W],
                              c[ONE_MINUS_LERP_W], c[BETA2], c[ONE_MINUS_BETA2]};
        const T bc2_sqrt = c[BC2_SQRT], eps = c[EPS], neg_step = c[NEG_STEP_SIZE];
        for (i64 i = 0; i < n; ++i) {
            T pi = p[i], gi = g[i];
            const T mi = k.template step<V::bit(0), V::bit(1), V::bit(2)>(pi, gi, m[i], v[i]);
            T vu = v[i];
            if (V::bit(3)) {
                vu = fo_max(vmax[i], vu);
                vmax[i] = vu;
            }
            const T denom = fo_sqrt(vu) / bc2_sqrt + eps;
            p[i] = pi + (neg_step * mi) / denom;
        }
    }
};
