// The same-traffic ceiling used by bench/: reads the grad and reads + writes every other
// buffer present, with one add per element. An optimizer step that moves the same bytes
// cannot beat it, so bench/ reports each optimizer as a fraction of it.
// Included inside a per-ISA namespace; see common.hpp.
struct Ceiling {
    enum Buf { PARAM, GRAD, S1, S2, S3, N_BUF };
    enum Coef { N_COEF };
    static constexpr KernelSpec spec = {
        "ceiling", N_BUF, {"param", "grad", "s1", "s2", "s3"}, {-1, -1, kOptional, kOptional, kOptional}, 0, {},
    };

    template <class T>
    static void touch(T* FO_RESTRICT x, const T* FO_RESTRICT g, i64 n) {
        for (i64 i = 0; i < n; ++i) x[i] = x[i] + g[i];
    }

    // Buffers stored in the compute type only (bench/ measures the mixed-storage ceiling with
    // the traffic kernel).
    template <class T>
    static void run(const KernelArgs& args, i64 begin, i64 end) {
        char* bufs[N_BUF];
        for (int k = 0; k < N_BUF; ++k) bufs[k] = args.bufs[k].data;
        const T* g = fo_buf<T>(bufs[GRAD], begin);
        const i64 n = end - begin;
        // One fused pass per buffer count: separate passes would re-read g and miss the point.
        T* x[4] = {fo_buf<T>(bufs[PARAM], begin), fo_buf<T>(bufs[S1], begin),
                   fo_buf<T>(bufs[S2], begin), fo_buf<T>(bufs[S3], begin)};
        int k = 1;
        while (k < 4 && x[k]) ++k;
        T* FO_RESTRICT a = x[0];
        T* FO_RESTRICT b = x[1];
        T* FO_RESTRICT c = x[2];
        T* FO_RESTRICT d = x[3];
        switch (k) {
            case 1: touch(a, g, n); break;
            case 2:
                for (i64 i = 0; i < n; ++i) { a[i] = a[i] + g[i]; b[i] = b[i] + g[i]; }
                break;
            case 3:
                for (i64 i = 0; i < n; ++i) {
                    a[i] = a[i] + g[i]; b[i] = b[i] + g[i]; c[i] = c[i] + g[i];
                }
                break;
            default:
                for (i64 i = 0; i < n; ++i) {
                    a[i] = a[i] + g[i]; b[i] = b[i] + g[i]; c[i] = c[i] + g[i]; d[i] = d[i] + g[i];
                }
                break;
        }
    }
};
