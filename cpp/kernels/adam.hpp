// Adam / AdamW with AMSGrad and maximize: torch.optim.Adam and torch.optim.AdamW
// (single-tensor path of torch 2.x; Kingma & Ba 2015, Algorithm 1, with epsilon added after
// the bias-corrected square root), and through its coefficients the other libraries' forms
// (python/fastoptim/optim/adam.py: eps_hat, eps_root, amsgrad_max, bias_correction).
// Included inside a per-ISA namespace; see common.hpp.
//
//   g      = sign * g                              (sign = -1 when maximize)
//   p      = p * decay                             (AdamW: decay = 1 - lr * weight_decay)
//   g      = g + weight_decay * p                  (Adam's L2 form, if weight_decay != 0)
//   m      = m + w * (g - m)                       (torch's lerp with w = 1 - beta1 < 0.5,
//   m      = g - (g - m) * (1 - w)                  and its other branch for w >= 0.5)
//   v      = v * beta2 + ((1 - beta2) * g) * g     (torch: mul_ then addcmul_)
//   vmax   = max(vmax, v / amsgrad_bc2); v' = vmax (amsgrad; amsgrad_bc2 = 1: the max of the
//                                                   raw v, as torch; 1 - beta2^t: of v-hat,
//                                                   as optax)
//   denom  = sqrt(v' + eps_root) / bc2_sqrt + eps
//   p      = p + (neg_step_size * m) / denom        (torch: -lr / (1 - beta1^t))
//
// torch: eps_root = 0 and bc2_sqrt = sqrt(1 - beta2^t); v' + 0 is exact (v' is never -0: v is
// +0 or more after its update; only a max_exp_avg_sq loaded as -0 could stay -0, and then only
// eps = 0 would see the sign of the zero). x / 1 is exact, so the other forms (epsilon hat:
// bc2_sqrt = 1 and sqrt(1 - beta2^t) in the step size; optax's eps_root; no bias correction)
// are coefficients, not loop variants. Every scalar is computed once per step in float64 by
// the Python optimizer and cast once to the working dtype.
// Reference with the same operation order: python/fastoptim/reference/kernels.py::adam.
struct Adam : fo_kernel<Adam> {
    enum Buf { PARAM, GRAD, EXP_AVG, EXP_AVG_SQ, MAX_EXP_AVG_SQ, N_BUF };
    enum Coef { SIGN, DECAY, WEIGHT_DECAY, LERP_W, ONE_MINUS_LERP_W, LERP_FLIP, BETA2,
                ONE_MINUS_BETA2, AMSGRAD, AMSGRAD_BC2, EPS_ROOT, BC2_SQRT, EPS, NEG_STEP_SIZE,
                N_COEF };
    static constexpr KernelSpec spec = {
        "adam",
        N_BUF,
        {"param", "grad", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"},
        {-1, -1, -1, -1, AMSGRAD},
        N_COEF,
        {"sign", "decay", "weight_decay", "lerp_w", "one_minus_lerp_w", "lerp_flip", "beta2",
         "one_minus_beta2", "amsgrad", "amsgrad_bc2", "eps_root", "bc2_sqrt", "eps",
         "neg_step_size"},
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
        const T ams_bc2 = c[AMSGRAD_BC2], eps_root = c[EPS_ROOT], bc2_sqrt = c[BC2_SQRT];
        const T eps = c[EPS], neg_step = c[NEG_STEP_SIZE];
        for (i64 i = 0; i < n; ++i) {
            T pi = p[i], gi = g[i];
            const T mi = k.template step<V::bit(0), V::bit(1), V::bit(2)>(pi, gi, m[i], v[i]);
            T vu = v[i];
            if (V::bit(3)) {
                vu = fo_max(vmax[i], vu / ams_bc2);
                vmax[i] = vu;
            }
            const T denom = fo_sqrt(vu + eps_root) / bc2_sqrt + eps;
            p[i] = pi + (neg_step * mi) / denom;
        }
    }
};
