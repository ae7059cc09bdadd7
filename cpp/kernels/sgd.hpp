// SGD with momentum, dampening, Nesterov, L2 or decoupled weight decay and maximize:
// torch.optim.SGD. Included inside a per-ISA namespace (cpp/core/isa_table.cpp); see common.hpp.
//
//   g    = sign * g                       (sign = -1 when maximize)
//   g    = g + weight_decay * p           (L2, if weight_decay != 0)
//   buf  = g                              (first step: torch clones the gradient)
//   buf  = momentum * buf + (1 - dampening) * g   (later steps, computed as buf*m + d*g)
//   g    = g + momentum * buf  (nesterov)  or  g = buf
//   p    = p * decay + (-lr) * g          (decoupled: decay = 1 - lr * weight_decay; p * 1 is
//                                          exact, so there is no flag for it)
//
// The lr inside the buffer (Keras: buf = momentum * buf - lr * g; p += buf, Nesterov
// p += momentum * buf - lr * g) is this loop with sign = -lr (times -1 when maximize),
// weight_decay = -lr * weight_decay and neg_lr = 1: (-lr) * g is Keras's -(g * lr) and
// p + 1 * buf is p + buf, the same IEEE operations.
//
// Reference with the same operation order: python/fastoptim/reference/kernels.py::sgd.
struct Sgd : fo_kernel<Sgd> {
    enum Buf { PARAM, GRAD, MOMENTUM_BUFFER, N_BUF };
    enum Coef { SIGN, DECAY, WEIGHT_DECAY, MOMENTUM, ONE_MINUS_DAMPENING, NESTEROV, INIT_BUFFER,
                NEG_LR, N_COEF };
    static constexpr KernelSpec spec = {
        "sgd",
        N_BUF,
        {"param", "grad", "momentum_buffer"},
        {-1, -1, MOMENTUM},
        N_COEF,
        {"sign", "decay", "weight_decay", "momentum", "one_minus_dampening", "nesterov",
         "init_buffer", "neg_lr"},
    };

    // bits: 0 nesterov, 1 init_buffer, 2 momentum, 3 weight_decay
    static constexpr int N_VARIANTS = 16;
    static int variant(const double* c) {
        return fo_variant(fo_flag(c[NESTEROV]), fo_flag(c[INIT_BUFFER]), fo_flag(c[MOMENTUM]),
                          fo_flag(c[WEIGHT_DECAY]));
    }

    template <class T, class V>
    static void loop(V, const T* c, T* FO_RESTRICT p, const T* FO_RESTRICT g,
                     T* FO_RESTRICT buf, i64 n) {
        constexpr bool NESTEROV = V::bit(0), INIT = V::bit(1), MOM = V::bit(2), WD = V::bit(3);
        const T sign = c[SIGN], decay = c[DECAY], wd = c[WEIGHT_DECAY], mom = c[MOMENTUM];
        const T damp = c[ONE_MINUS_DAMPENING], neg_lr = c[NEG_LR];
        for (i64 i = 0; i < n; ++i) {
            const T pi = p[i];
            T gi = sign * g[i];
            if (WD) gi = gi + wd * pi;
            if (MOM) {
                T b = INIT ? gi : buf[i] * mom + damp * gi;
                buf[i] = b;
                gi = NESTEROV ? gi + mom * b : b;
            }
            p[i] = pi * decay + neg_lr * gi;
        }
    }
};
