// Adadelta (Zeiler 2012, "ADADELTA: An Adaptive Learning Rate Method", Algorithm 1, with a
// learning rate scaling the update) with L2 or decoupled weight decay and maximize:
// torch.optim.Adadelta (single-tensor path of torch 2.x). Included inside a per-ISA namespace;
// see common.hpp.
//
//   g     = sign * g                             (sign = -1 when maximize)
//   g     = g + weight_decay * p                 (L2, if weight_decay != 0)
//   sa    = sa * rho + ((1 - rho) * g) * g
//   std   = sqrt(sa + eps)
//   delta = (sqrt(acc + eps) / std) * g
//   acc   = acc * rho + ((1 - rho) * delta) * delta
//   p     = p * decay + (-lr) * delta           (decay = 1 - lr * weight_decay if decoupled,
//                                                  else 1: p * 1 is exact)
//
// Reference with the same operation order: python/fastoptim/reference/kernels.py::adadelta.
struct Adadelta : fo_kernel<Adadelta> {
    enum Buf { PARAM, GRAD, SQUARE_AVG, ACC_DELTA, N_BUF };
    enum Coef { SIGN, DECAY, WEIGHT_DECAY, RHO, ONE_MINUS_RHO, EPS, NEG_LR, N_COEF };
    static constexpr KernelSpec spec = {
        "adadelta",
        N_BUF,
        {"param", "grad", "square_avg", "acc_delta"},
        {-1, -1, -1, -1},
        N_COEF,
        {"sign", "decay", "weight_decay", "rho", "one_minus_rho", "eps", "neg_lr"},
    };

    // bits: 0 weight_decay
    static constexpr int N_VARIANTS = 2;
    static int variant(const double* c) { return fo_variant(c[WEIGHT_DECAY] != 0.0); }

    template <class T, class V>
    static void loop(V, const T* c, T* FO_RESTRICT p, const T* FO_RESTRICT g, T* FO_RESTRICT sa,
                     T* FO_RESTRICT acc, i64 n) {
        const T sign = c[SIGN], decay = c[DECAY], wd = c[WEIGHT_DECAY], rho = c[RHO];
        const T one_minus_rho = c[ONE_MINUS_RHO], eps = c[EPS], neg_lr = c[NEG_LR];
        for (i64 i = 0; i < n; ++i) {
            const T pi = p[i];
            T gi = sign * g[i];
            if (V::bit(0)) gi = gi + wd * pi;
            const T s = sa[i] * rho + (one_minus_rho * gi) * gi;
            sa[i] = s;
            const T delta = (fo_sqrt(acc[i] + eps) / fo_sqrt(s + eps)) * gi;
            acc[i] = acc[i] * rho + (one_minus_rho * delta) * delta;
            p[i] = pi * decay + neg_lr * delta;
        }
    }
};
