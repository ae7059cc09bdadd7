// RMSprop, plain or centered, with momentum, L2 or decoupled weight decay and maximize:
// torch.optim.RMSprop (single-tensor path of torch 2.x; Hinton, Lecture 6e of "Neural Networks
// for Machine Learning", 2012; centered form from Graves 2013), and through its coefficients
// epsilon inside the square root and the lr inside the momentum buffer (Keras, optax).
// Included inside a per-ISA namespace; see common.hpp.
//
//   g    = sign * g                              (sign = -1 when maximize)
//   g    = g + weight_decay * p                  (L2, if weight_decay != 0)
//   sa   = sa * alpha + ((1 - alpha) * g) * g    (torch: mul_ then addcmul_)
//   ga   = lerp(ga, g, 1 - alpha)                (centered; torch's lerp, see fo_lerp)
//   avg  = sqrt((sa - ga * ga) + eps_root) + eps (centered; torch: addcmul(ga, ga, value=-1))
//   avg  = sqrt(sa + eps_root) + eps             (otherwise)
//   buf  = buf * momentum + (buffer_lr * g) / avg;  p = p * decay + neg_lr * buf  (momentum > 0)
//   p    = p * decay + (neg_lr * g) / avg                                        (otherwise)
//
// torch: eps_root = 0, buffer_lr = 1, neg_lr = -lr. Keras: eps_root = its epsilon, eps = 0,
// buffer_lr = lr and neg_lr = -1 with momentum (buf = momentum * buf + lr * g / sqrt(...);
// p -= buf). decay = 1 - lr * weight_decay (decoupled) or 1. x * 1, x + 0 (sa and sa - ga * ga
// are never -0) and sqrt(...) + 0 are exact, so these forms need no loop variant.
// sa + (-1 * ga) * ga and sa - ga * ga are the same IEEE operations (negation is exact).
// Reference with the same operation order: python/fastoptim/reference/kernels.py::rmsprop.
struct Rmsprop : fo_kernel<Rmsprop> {
    enum Buf { PARAM, GRAD, SQUARE_AVG, MOMENTUM_BUFFER, GRAD_AVG, N_BUF };
    enum Coef { SIGN, DECAY, WEIGHT_DECAY, ALPHA, ONE_MINUS_ALPHA, CENTERED, LERP_W,
                ONE_MINUS_LERP_W, LERP_FLIP, EPS_ROOT, EPS, MOMENTUM, BUFFER_LR, NEG_LR, N_COEF };
    static constexpr KernelSpec spec = {
        "rmsprop",
        N_BUF,
        {"param", "grad", "square_avg", "momentum_buffer", "grad_avg"},
        {-1, -1, -1, MOMENTUM, CENTERED},
        N_COEF,
        {"sign", "decay", "weight_decay", "alpha", "one_minus_alpha", "centered", "lerp_w",
         "one_minus_lerp_w", "lerp_flip", "eps_root", "eps", "momentum", "buffer_lr", "neg_lr"},
    };

    // bits: 0 weight_decay, 1 centered, 2 lerp_flip, 3 momentum
    static constexpr int N_VARIANTS = 16;
    static int variant(const double* c) {
        return fo_variant(c[WEIGHT_DECAY] != 0.0, fo_flag(c[CENTERED]), fo_flag(c[LERP_FLIP]),
                          c[MOMENTUM] != 0.0);
    }

    template <class T, class V>
    static void loop(V, const T* c, T* FO_RESTRICT p, const T* FO_RESTRICT g,
                     T* FO_RESTRICT sa, T* FO_RESTRICT buf, T* FO_RESTRICT ga, i64 n) {
        constexpr bool WD = V::bit(0), CENTER = V::bit(1), FLIP = V::bit(2), MOM = V::bit(3);
        const T sign = c[SIGN], decay = c[DECAY], wd = c[WEIGHT_DECAY], alpha = c[ALPHA];
        const T one_minus_alpha = c[ONE_MINUS_ALPHA], w = c[LERP_W];
        const T one_minus_w = c[ONE_MINUS_LERP_W], eps_root = c[EPS_ROOT], eps = c[EPS];
        const T mom = c[MOMENTUM], buffer_lr = c[BUFFER_LR], neg_lr = c[NEG_LR];
        for (i64 i = 0; i < n; ++i) {
            const T pi = p[i];
            T gi = sign * g[i];
            if (WD) gi = gi + wd * pi;
            const T s = sa[i] * alpha + (one_minus_alpha * gi) * gi;
            sa[i] = s;
            T avg;
            if (CENTER) {
                const T a = fo_lerp<FLIP>(ga[i], gi, w, one_minus_w);
                ga[i] = a;
                avg = fo_sqrt((s - a * a) + eps_root) + eps;
            } else {
                avg = fo_sqrt(s + eps_root) + eps;
            }
            if (MOM) {
                const T b = buf[i] * mom + (buffer_lr * gi) / avg;
                buf[i] = b;
                p[i] = pi * decay + neg_lr * b;
            } else {
                p[i] = pi * decay + (neg_lr * gi) / avg;
            }
        }
    }
};
