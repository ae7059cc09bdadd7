// SGD with momentum, dampening, Nesterov, L2 weight decay and maximize: torch.optim.SGD.
// Included inside a per-ISA namespace (cpp/core/isa_table.cpp); see common.hpp.
//
//   g    = sign * g                       (sign = -1 when maximize)
//   g    = g + weight_decay * p           (if weight_decay != 0)
//   buf  = g                              (first step: torch clones the gradient)
//   buf  = momentum * buf + (1 - dampening) * g   (later steps, computed as buf*m + d*g)
//   g    = g + momentum * buf  (nesterov)  or  g = buf
//   p    = p + (-lr) * g
//
// Reference with the same operation order: python/fastoptim/reference/kernels.py::sgd.
struct Sgd {
    enum Buf { PARAM, GRAD, MOMENTUM_BUFFER, N_BUF };
    enum Coef { SIGN, WEIGHT_DECAY, MOMENTUM, ONE_MINUS_DAMPENING, NESTEROV, INIT_BUFFER, NEG_LR,
                N_COEF };
    static constexpr KernelSpec spec = {
        "sgd",
        N_BUF,
        {"param", "grad", "momentum_buffer"},
        {-1, -1, MOMENTUM},
        N_COEF,
        {"sign", "weight_decay", "momentum", "one_minus_dampening", "nesterov", "init_buffer",
         "neg_lr"},
    };

    template <class T, bool WD, bool MOM, bool INIT, bool NESTEROV>
    static void loop(const T* c, T* FO_RESTRICT p, const T* FO_RESTRICT g, T* FO_RESTRICT buf,
                     i64 n) {
        const T sign = c[SIGN], wd = c[WEIGHT_DECAY], mom = c[MOMENTUM];
        const T damp = c[ONE_MINUS_DAMPENING], neg_lr = c[NEG_LR];
        for (i64 i = 0; i < n; ++i) {
            T gi = sign * g[i];
            if (WD) gi = gi + wd * p[i];
            if (MOM) {
                T b = INIT ? gi : buf[i] * mom + damp * gi;
                buf[i] = b;
                gi = NESTEROV ? gi + mom * b : b;
            }
            p[i] = p[i] + neg_lr * gi;
        }
    }

    template <class T>
    static void run(const double* cd, char* const* bufs, i64 begin, i64 end) {
        T c[N_COEF];
        fo_cast_coeffs<T, N_COEF>(cd, c);
        T* p = fo_buf<T>(bufs[PARAM], begin);
        const T* g = fo_buf<T>(bufs[GRAD], begin);
        T* buf = fo_buf<T>(bufs[MOMENTUM_BUFFER], begin);
        const i64 n = end - begin;
        // bits: 0 nesterov, 1 init_buffer, 2 momentum, 3 weight_decay
        const int variant = (fo_flag(cd[NESTEROV]) ? 1 : 0) | (fo_flag(cd[INIT_BUFFER]) ? 2 : 0) |
                            (fo_flag(cd[MOMENTUM]) ? 4 : 0) | (fo_flag(cd[WEIGHT_DECAY]) ? 8 : 0);
        fo_dispatch<16>(variant, [&](auto bits) {
            using V = decltype(bits);
            loop<T, V::bit(3), V::bit(2), V::bit(1), V::bit(0)>(c, p, g, buf, n);
        });
    }
};
