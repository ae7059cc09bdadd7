// Exponential moving average of params (fastoptim.EMA): avg = lerp(avg, param, 1 - decay),
// torch.optim.swa_utils.get_ema_multi_avg_fn (torch._foreach_lerp_) and optax.ema without
// debiasing. Buffer 0 is the average (written), buffer 1 the live param (read, in the grad's
// slot). Included inside a per-ISA namespace; see common.hpp.
// Reference with the same operation order: python/fastoptim/reference/kernels.py::ema.
struct Ema : fo_kernel<Ema> {
    enum Buf { AVERAGE, PARAM, N_BUF };
    enum Coef { LERP_W, ONE_MINUS_LERP_W, LERP_FLIP, N_COEF };
    static constexpr KernelSpec spec = {
        "ema", N_BUF, {"average", "param"}, {kRequired, kRequired}, N_COEF,
        {"lerp_w", "one_minus_lerp_w", "lerp_flip"},
    };

    static constexpr int N_VARIANTS = 2;
    static int variant(const double* c) { return fo_variant(fo_flag(c[LERP_FLIP])); }

    template <class T, class V>
    static void loop(V, const T* c, T* FO_RESTRICT avg, const T* FO_RESTRICT p, i64 n) {
        const T w = c[LERP_W], one_minus_w = c[ONE_MINUS_LERP_W];
        for (i64 i = 0; i < n; ++i) avg[i] = fo_lerp<V::bit(0)>(avg[i], p[i], w, one_minus_w);
    }
};
