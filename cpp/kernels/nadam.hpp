// NAdam (Dozat 2016, "Incorporating Nesterov Momentum into Adam", with the momentum schedule
// mu_t = beta1 * (1 - 0.5 * 0.96^(t * momentum_decay))), with L2 or decoupled weight decay and
// maximize: torch.optim.NAdam (single-tensor path of torch 2.x). Included inside a per-ISA
// namespace; see common.hpp.
//
//   g     = sign * g                             (sign = -1 when maximize)
//   p     = p * decay                            (decoupled: decay = 1 - lr * weight_decay)
//   g     = g + weight_decay * p                 (L2, if weight_decay != 0)
//   m     = lerp(m, g, 1 - beta1)                (torch's lerp, see fo_lerp)
//   v     = v * beta2 + ((1 - beta2) * g) * g
//   denom = sqrt(v / (1 - beta2^t) + eps_root) + eps   (eps_root: optax's; 0 in torch, exact:
//                                                 v / (1 - beta2^t) is never -0)
//   p     = p + (grad_coef * g) / denom          (grad_coef = -lr (1 - mu_t) / (1 - prod mu))
//   p     = p + (exp_avg_coef * m) / denom       (exp_avg_coef = -lr mu_{t+1} /
//                                                   (1 - prod mu * mu_{t+1}))
//
// mu_t, mu_{t+1} and the running product prod_{i<=t} mu_i are computed per step in float64 by
// the Python optimizer (python/fastoptim/optim/nadam.py); with mu_t = beta1 for every t (no
// momentum schedule) the two coefficients are optax's nadam: Adam with Nesterov momentum.
// Reference with the same operation order: python/fastoptim/reference/kernels.py::nadam.
struct Nadam : fo_kernel<Nadam> {
    enum Buf { PARAM, GRAD, EXP_AVG, EXP_AVG_SQ, N_BUF };
    enum Coef { SIGN, DECAY, WEIGHT_DECAY, LERP_W, ONE_MINUS_LERP_W, LERP_FLIP, BETA2,
                ONE_MINUS_BETA2, BIAS_CORRECTION2, EPS_ROOT, EPS, GRAD_COEF, EXP_AVG_COEF, N_COEF };
    static constexpr KernelSpec spec = {
        "nadam",
        N_BUF,
        {"param", "grad", "exp_avg", "exp_avg_sq"},
        {-1, -1, -1, -1},
        N_COEF,
        {"sign", "decay", "weight_decay", "lerp_w", "one_minus_lerp_w", "lerp_flip", "beta2",
         "one_minus_beta2", "bias_correction2", "eps_root", "eps", "grad_coef", "exp_avg_coef"},
    };

    // bits: 0 decoupled weight decay, 1 L2 weight decay, 2 lerp_flip
    static constexpr int N_VARIANTS = 8;
    static int variant(const double* c) {
        return fo_variant(c[DECAY] != 1.0, c[WEIGHT_DECAY] != 0.0, fo_flag(c[LERP_FLIP]));
    }

    template <class T, class V>
    static void loop(V, const T* c, T* FO_RESTRICT p, const T* FO_RESTRICT g, T* FO_RESTRICT m,
                     T* FO_RESTRICT v, i64 n) {
        const fo_moments<T> k{c[SIGN], c[DECAY], c[WEIGHT_DECAY], c[LERP_W],
                              c[ONE_MINUS_LERP_W], c[BETA2], c[ONE_MINUS_BETA2]};
        const T bc2 = c[BIAS_CORRECTION2], eps_root = c[EPS_ROOT], eps = c[EPS];
        const T grad_coef = c[GRAD_COEF], exp_avg_coef = c[EXP_AVG_COEF];
        for (i64 i = 0; i < n; ++i) {
            T pi = p[i], gi = g[i];
            const T mi = k.template step<V::bit(0), V::bit(1), V::bit(2)>(pi, gi, m[i], v[i]);
            const T denom = fo_sqrt(v[i] / bc2 + eps_root) + eps;
            pi = pi + (grad_coef * gi) / denom;
            p[i] = pi + (exp_avg_coef * mi) / denom;
        }
    }
};
