// RAdam (Liu et al. 2020, "On the Variance of the Adaptive Learning Rate and Beyond",
// Algorithm 2) with L2 or decoupled weight decay and maximize: torch.optim.RAdam (single-tensor
// path of torch 2.x). Included inside a per-ISA namespace; see common.hpp.
//
//   g     = sign * g                             (sign = -1 when maximize)
//   p     = p * decay                            (decoupled: decay = 1 - lr * weight_decay)
//   g     = g + weight_decay * p                 (L2, if weight_decay != 0)
//   m     = lerp(m, g, 1 - beta1)                (torch's lerp, see fo_lerp)
//   v     = v * beta2 + ((1 - beta2) * g) * g
//   u     = (m / (1 - beta1^t)) * lr
//   u     = (u * ((1 / (sqrt(v) + eps)) * sqrt(1 - beta2^t))) * rect    (if rho_t > 5)
//   p     = p - u
//
// torch's order: bias_corrected_exp_avg * lr * adaptive_lr * rect, where adaptive_lr =
// sqrt(1 - beta2^t) / (sqrt(v) + eps) is a Python float divided by a tensor, which torch
// computes as reciprocal() then multiply (Tensor.__rtruediv__). rho_t, the rectification term
// rect and the branch (a flag coefficient) are computed per step in float64 by the Python
// optimizer (python/fastoptim/optim/radam.py).
// Reference with the same operation order: python/fastoptim/reference/kernels.py::radam.
struct Radam : fo_kernel<Radam> {
    enum Buf { PARAM, GRAD, EXP_AVG, EXP_AVG_SQ, N_BUF };
    enum Coef { SIGN, DECAY, WEIGHT_DECAY, LERP_W, ONE_MINUS_LERP_W, LERP_FLIP, BETA2,
                ONE_MINUS_BETA2, BIAS_CORRECTION1, LR, RECTIFY, BC2_SQRT, EPS, RECT, N_COEF };
    static constexpr KernelSpec spec = {
        "radam",
        N_BUF,
        {"param", "grad", "exp_avg", "exp_avg_sq"},
        {-1, -1, -1, -1},
        N_COEF,
        {"sign", "decay", "weight_decay", "lerp_w", "one_minus_lerp_w", "lerp_flip", "beta2",
         "one_minus_beta2", "bias_correction1", "lr", "rectify", "bc2_sqrt", "eps", "rect"},
    };

    // bits: 0 decoupled weight decay, 1 L2 weight decay, 2 lerp_flip, 3 rectify (rho_t > 5)
    static constexpr int N_VARIANTS = 16;
    static int variant(const double* c) {
        return fo_variant(c[DECAY] != 1.0, c[WEIGHT_DECAY] != 0.0, fo_flag(c[LERP_FLIP]),
                          fo_flag(c[RECTIFY]));
    }

    template <class T, class V>
    static void loop(V, const T* c, T* FO_RESTRICT p, const T* FO_RESTRICT g, T* FO_RESTRICT m,
                     T* FO_RESTRICT v, i64 n) {
        const fo_moments<T> k{c[SIGN], c[DECAY], c[WEIGHT_DECAY], c[LERP_W],
                              c[ONE_MINUS_LERP_W], c[BETA2], c[ONE_MINUS_BETA2]};
        const T bc1 = c[BIAS_CORRECTION1], lr = c[LR], bc2_sqrt = c[BC2_SQRT], eps = c[EPS];
        const T rect = c[RECT];
        for (i64 i = 0; i < n; ++i) {
            T pi = p[i], gi = g[i];
            const T mi = k.template step<V::bit(0), V::bit(1), V::bit(2)>(pi, gi, m[i], v[i]);
            T u = (mi / bc1) * lr;
            if (V::bit(3)) u = (u * ((T(1) / (fo_sqrt(v[i]) + eps)) * bc2_sqrt)) * rect;
            p[i] = pi - u;
        }
    }
};
