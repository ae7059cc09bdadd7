// Adamax (Kingma & Ba 2015, Algorithm 2, the infinity-norm variant of Adam) with L2 or
// decoupled weight decay and maximize: torch.optim.Adamax (single-tensor path of torch 2.x),
// and Keras's epsilon outside the max through a coefficient. Included inside a per-ISA
// namespace; see common.hpp.
//
//   g    = sign * g                              (sign = -1 when maximize)
//   g    = g + weight_decay * p                  (L2, if weight_decay != 0)
//   m    = lerp(m, g, 1 - beta1)                 (torch's lerp, see fo_lerp)
//   u    = max(u * beta2, |g| + eps)             (NaN-propagating, as torch.maximum)
//   p    = p * decay + (-clr * m) / (u + eps_out)  (clr = lr / (1 - beta1^t), torch's addcdiv_)
//
// torch, optax: eps_out = 0 (u + 0 is exact: u is never -0 unless loaded so). Keras: eps = 0
// (|g| + 0 is exact) and eps_out = its epsilon. decay = 1 - lr * weight_decay (decoupled) or 1
// (p * 1 is exact).
// Reference with the same operation order: python/fastoptim/reference/kernels.py::adamax.
struct Adamax : fo_kernel<Adamax> {
    enum Buf { PARAM, GRAD, EXP_AVG, EXP_INF, N_BUF };
    enum Coef { SIGN, DECAY, WEIGHT_DECAY, LERP_W, ONE_MINUS_LERP_W, LERP_FLIP, BETA2, EPS,
                EPS_OUT, NEG_CLR, N_COEF };
    static constexpr KernelSpec spec = {
        "adamax",
        N_BUF,
        {"param", "grad", "exp_avg", "exp_inf"},
        {-1, -1, -1, -1},
        N_COEF,
        {"sign", "decay", "weight_decay", "lerp_w", "one_minus_lerp_w", "lerp_flip", "beta2",
         "eps", "eps_out", "neg_clr"},
    };

    // bits: 0 weight_decay, 1 lerp_flip
    static constexpr int N_VARIANTS = 4;
    static int variant(const double* c) {
        return fo_variant(c[WEIGHT_DECAY] != 0.0, fo_flag(c[LERP_FLIP]));
    }

    template <class T, class V>
    static void loop(V, const T* c, T* FO_RESTRICT p, const T* FO_RESTRICT g, T* FO_RESTRICT m,
                     T* FO_RESTRICT u, i64 n) {
        const T sign = c[SIGN], decay = c[DECAY], wd = c[WEIGHT_DECAY], w = c[LERP_W];
        const T one_minus_w = c[ONE_MINUS_LERP_W], beta2 = c[BETA2], eps = c[EPS];
        const T eps_out = c[EPS_OUT], neg_clr = c[NEG_CLR];
        for (i64 i = 0; i < n; ++i) {
            const T pi = p[i];
            T gi = sign * g[i];
            if (V::bit(0)) gi = gi + wd * pi;
            const T mi = fo_lerp<V::bit(1)>(m[i], gi, w, one_minus_w);
            const T ui = fo_max(u[i] * beta2, fo_abs(gi) + eps);
            m[i] = mi;
            u[i] = ui;
            p[i] = pi * decay + (neg_clr * mi) / (ui + eps_out);
        }
    }
};
