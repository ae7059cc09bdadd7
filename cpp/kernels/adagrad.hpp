// Adagrad with lr decay, L2 or decoupled weight decay and maximize: torch.optim.Adagrad
// (single-tensor path of torch 2.x; Duchi, Hazan & Singer 2011), and epsilon inside the square
// root (Keras, optax) through a coefficient. Included inside a per-ISA namespace; see
// common.hpp.
//
//   g    = sign * g                          (sign = -1 when maximize)
//   g    = g + weight_decay * p              (L2, if weight_decay != 0)
//   sum  = sum + g * g                       (torch: addcmul_ with value 1)
//   p    = p * decay + (-clr * g) / (sqrt(sum + eps_root) + eps)
//                                            (torch: addcdiv_ with value -clr, eps_root = 0;
//                                             Keras/optax: eps_root = their epsilon, eps = 0)
//
// decay = 1 - lr * weight_decay (decoupled) or 1; p * 1, sum + 0 (sum is never -0 after its
// update) and sqrt(...) + 0 are exact, so these forms need no loop variant.
// clr = lr / (1 + (t - 1) * lr_decay) is computed per step in float64 by the Python optimizer.
// Reference with the same operation order: python/fastoptim/reference/kernels.py::adagrad.
struct Adagrad : fo_kernel<Adagrad> {
    enum Buf { PARAM, GRAD, SUM, N_BUF };
    enum Coef { SIGN, DECAY, WEIGHT_DECAY, EPS_ROOT, EPS, NEG_CLR, N_COEF };
    static constexpr KernelSpec spec = {
        "adagrad",
        N_BUF,
        {"param", "grad", "sum"},
        {-1, -1, -1},
        N_COEF,
        {"sign", "decay", "weight_decay", "eps_root", "eps", "neg_clr"},
    };

    // bits: 0 weight_decay
    static constexpr int N_VARIANTS = 2;
    static int variant(const double* c) { return fo_variant(c[WEIGHT_DECAY] != 0.0); }

    template <class T, class V>
    static void loop(V, const T* c, T* FO_RESTRICT p, const T* FO_RESTRICT g, T* FO_RESTRICT sum,
                     i64 n) {
        const T sign = c[SIGN], decay = c[DECAY], wd = c[WEIGHT_DECAY], eps_root = c[EPS_ROOT];
        const T eps = c[EPS], neg_clr = c[NEG_CLR];
        for (i64 i = 0; i < n; ++i) {
            const T pi = p[i];
            T gi = sign * g[i];
            if (V::bit(0)) gi = gi + wd * pi;
            const T s = sum[i] + gi * gi;
            sum[i] = s;
            p[i] = pi * decay + (neg_clr * gi) / (fo_sqrt(s + eps_root) + eps);
        }
    }
};
