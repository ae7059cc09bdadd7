// The `run` every kernel shares: from KernelArgs (buffers of any storage type) to the kernel's
// one loop over the compute type. Included inside a per-ISA namespace; see common.hpp.
//
// A kernel K derives from fo_kernel<K> and provides only
//   enum Buf {PARAM, GRAD, <state...>, N_BUF}; enum Coef {..., N_COEF};
//   static constexpr KernelSpec spec;  static constexpr int N_VARIANTS;
//   static int variant(const double* coeffs);              (fo_variant of its flags)
//   template <class T, class V> static void loop(V, const T* c, T* p, const T* g, T* state...,
//                                                i64 n);     (V = fo_bits<variant>)
//
// run() casts the coefficients once and picks the loop variant. When every buffer is stored in
// the compute type (float32 or float64 throughout) the loop runs directly on the buffers. Else
// the range is cut into chunks of kChunk elements: each buffer not stored in the compute type
// is loaded into a float32 stage (L1-resident), the loop runs on the stages and the buffers it
// wrote are stored back in their storage (rounded once, or re-quantized per block), and a
// master-weights param is written to its 16-bit mirror. One pass over memory either way; the
// loop, and so the arithmetic, is the same code for every storage combination.

// Chunk of the staged path: a multiple of kQ8Block (chunks start on block boundaries), and
// 6 float32 stages of it (6 KiB) stay in L1. One block per chunk: out of cache, the loads of
// the next chunk then overlap the arithmetic of this one (measured on Zen 4 at 1e7 elements:
// bf16 state 0.40 vs 0.60 ns/element at 1 thread, 0.29 vs 0.40-0.48 at 2; int8 0.68 vs
// 0.73-0.83 at 1 thread) and in cache it costs nothing measurable.
constexpr i64 kChunk = 256;
static_assert(kChunk % kQ8Block == 0, "chunks must hold whole quantization blocks");

// Calls f(k, m) for each quantization block [k, k + m) of [0, n): m is the constant
// kQ8Block for every whole block, so the block loops inlined into f run a known trip count
// (no remainder loop, fully vectorized), and a plain i64 for a partial last block.
struct fo_whole_block {
    constexpr operator i64() const { return kQ8Block; }
};

template <class F>
FO_INLINE void fo_for_blocks(i64 n, F&& f) {
    i64 k = 0;
    for (; k + kQ8Block <= n; k += kQ8Block) f(k, fo_whole_block{});
    if (k < n) f(k, n - k);
}

// Loads elements [lo, lo + n) of `b` into `out` (float32). `lo` is a multiple of kQ8Block for
// Q8 buffers.
inline void fo_load(float* FO_RESTRICT out, const Buffer& b, i64 lo, i64 n) {
    switch (b.storage) {
        case kF16: {
            const u16* FO_RESTRICT h = reinterpret_cast<const u16*>(b.data) + lo;
            for (i64 i = 0; i < n; ++i) out[i] = fo_f16_to_f32(h[i]);
            break;
        }
        case kBF16: {
            const u16* FO_RESTRICT h = reinterpret_cast<const u16*>(b.data) + lo;
            for (i64 i = 0; i < n; ++i) out[i] = fo_bf16_to_f32(h[i]);
            break;
        }
        case kQ8Signed:
        case kQ8Unsigned:
            fo_for_blocks(n, [&](i64 k, auto m) {
                const float scale = b.scales[(lo + k) / kQ8Block];
                if (b.storage == kQ8Signed)
                    fo_q8_decode_signed(out + k, reinterpret_cast<const i8*>(b.data) + lo + k, m,
                                        scale);
                else
                    fo_q8_decode_unsigned(out + k, reinterpret_cast<const u8*>(b.data) + lo + k,
                                          m, scale);
            });
            break;
        default: {  // kF32 (a master-weights grad may be float32 beside 16-bit storage)
            const float* FO_RESTRICT f = reinterpret_cast<const float*>(b.data) + lo;
            for (i64 i = 0; i < n; ++i) out[i] = f[i];
        }
    }
}

// The random bits of stochastic rounding for global element indices [j0, j0 + n) of one
// buffer: mix32(mix32(key + hi32(j)) ^ lo32(j)); [j0, j0 + n) never crosses a multiple of 2^32
// (run() cuts chunks there).
inline void fo_random_bits(u32* FO_RESTRICT out, u32 key, i64 j0, i64 n) {
    const u32 k = fo_mix32(key + static_cast<u32>(static_cast<unsigned long long>(j0) >> 32));
    const u32 lo = static_cast<u32>(j0);
    for (i64 i = 0; i < n; ++i) out[i] = fo_mix32(k ^ (lo + static_cast<u32>(i)));
}

// The key of buffer `b` of a tensor whose stochastic-rounding key this step is `seed`.
inline u32 fo_buffer_key(u32 seed, int b) { return fo_mix32(seed ^ (0x9e3779b9U * (b + 1U))); }

// Stores float32 `in` into elements [lo, lo + n) of `b`, rounding 16-bit storage as `rounding`
// says (the random bits for global indices index0 + lo...) and re-quantizing Q8 per block.
inline void fo_store(const Buffer& b, const float* FO_RESTRICT in, i64 lo, i64 n, int rounding,
                     u32 key, i64 index0) {
    switch (b.storage) {
        case kF16:
        case kBF16: {
            u16* FO_RESTRICT h = reinterpret_cast<u16*>(b.data) + lo;
            const bool f16 = b.storage == kF16;
            if (rounding == kRoundStochastic) {
                u32 rnd[kChunk];
                fo_random_bits(rnd, key, index0 + lo, n);
                if (f16)
                    for (i64 i = 0; i < n; ++i) h[i] = fo_f32_to_f16(in[i], true, rnd[i]);
                else
                    for (i64 i = 0; i < n; ++i) h[i] = fo_f32_to_bf16(in[i], true, rnd[i]);
            } else if (f16) {
                for (i64 i = 0; i < n; ++i) h[i] = fo_f32_to_f16(in[i], false, 0);
            } else {
                for (i64 i = 0; i < n; ++i) h[i] = fo_f32_to_bf16(in[i], false, 0);
            }
            break;
        }
        case kQ8Signed:
        case kQ8Unsigned: {
            u32 rnd[kChunk];
            const bool sr = rounding == kRoundStochastic;
            if (sr) fo_random_bits(rnd, key, index0 + lo, n);
            fo_for_blocks(n, [&](i64 k, auto m) {
                const float scale = fo_q8_scale(in + k, m);
                b.scales[(lo + k) / kQ8Block] = scale;
                const float inv = 1.0f / scale;  // exact: a power of two (or NaN/inf/0)
                const u32* r = sr ? rnd + k : nullptr;
                if (b.storage == kQ8Signed)
                    fo_q8_encode_signed(reinterpret_cast<i8*>(b.data) + lo + k, in + k, m, inv,
                                        r);
                else
                    fo_q8_encode_unsigned(reinterpret_cast<u8*>(b.data) + lo + k, in + k, m,
                                          inv, r);
            });
            break;
        }
        default: {
            float* FO_RESTRICT f = reinterpret_cast<float*>(b.data) + lo;
            for (i64 i = 0; i < n; ++i) f[i] = in[i];
        }
    }
}

template <int S>
struct fo_native_storage;  // the storage that is the compute type itself
template <>
struct fo_native_storage<0> {
    using type = float;
    static constexpr int value = kF32;
};
template <>
struct fo_native_storage<1> {
    using type = double;
    static constexpr int value = kF64;
};

template <class K>
struct fo_kernel {
    template <class T, int N, class V>
    static void call(V bits, const T* c, T* const* b, i64 n) {
        static_assert(N >= 2 && N <= kMaxBuffers, "fo_kernel: 0 to 4 states");
        if constexpr (N == 2)
            K::template loop<T>(bits, c, b[0], b[1], n);
        else if constexpr (N == 3)
            K::template loop<T>(bits, c, b[0], b[1], b[2], n);
        else if constexpr (N == 4)
            K::template loop<T>(bits, c, b[0], b[1], b[2], b[3], n);
        else if constexpr (N == 5)
            K::template loop<T>(bits, c, b[0], b[1], b[2], b[3], b[4], n);
        else
            K::template loop<T>(bits, c, b[0], b[1], b[2], b[3], b[4], b[5], n);
    }

    // Every buffer is stored in the compute type: the loop on the buffers themselves.
    template <class T>
    static bool direct(const KernelArgs& a) {
        constexpr int native = sizeof(T) == 8 ? kF64 : kF32;
        if (a.mirror.data) return false;
        for (int k = 0; k < K::N_BUF; ++k)
            if (a.bufs[k].data && a.bufs[k].storage != native) return false;
        return true;
    }

    template <class T>
    static void run(const KernelArgs& a, i64 begin, i64 end) {
        T c[K::N_COEF];
        fo_cast_coeffs<T, K::N_COEF>(a.coeffs, c);
        const int variant = K::variant(a.coeffs);
        if (direct<T>(a)) {
            T* b[kMaxBuffers] = {};
            for (int k = 0; k < K::N_BUF; ++k) b[k] = fo_buf<T>(a.bufs[k].data, begin);
            fo_dispatch<K::N_VARIANTS>(
                variant, [&](auto bits) { call<T, K::N_BUF>(bits, c, b, end - begin); });
            return;
        }
        if constexpr (sizeof(T) == 4) staged(a, c, variant, begin, end);
        // (float64 params take float64 buffers only: the bindings refuse anything else.)
    }

    static void staged(const KernelArgs& a, const float* c, int variant, i64 begin, i64 end) {
        alignas(64) float stage[K::N_BUF][kChunk];
        u32 keys[K::N_BUF];
        bool staged_buf[K::N_BUF];
        for (int k = 0; k < K::N_BUF; ++k) {
            staged_buf[k] = a.bufs[k].data && a.bufs[k].storage != kF32;
            keys[k] = fo_buffer_key(a.seed, k);
        }
        for (i64 lo = begin; lo < end;) {
            // a chunk never crosses a multiple of 2^32 of the global index (fo_random_bits)
            const unsigned long long j = static_cast<unsigned long long>(a.index0 + lo);
            const i64 to_wrap = static_cast<i64>((1ULL << 32) - (j & 0xffffffffULL));
            i64 n = end - lo < kChunk ? end - lo : kChunk;
            n = n < to_wrap ? n : to_wrap;
            float* b[kMaxBuffers] = {};
            for (int k = 0; k < K::N_BUF; ++k) {
                if (!a.bufs[k].data) continue;
                if (staged_buf[k]) {
                    fo_load(stage[k], a.bufs[k], lo, n);
                    b[k] = stage[k];
                } else {
                    b[k] = reinterpret_cast<float*>(a.bufs[k].data) + lo;
                }
            }
            fo_dispatch<K::N_VARIANTS>(variant,
                                       [&](auto bits) { call<float, K::N_BUF>(bits, c, b, n); });
            for (int k = 0; k < K::N_BUF; ++k)  // buffer 1 (the grad slot) is read-only
                if (k != 1 && staged_buf[k])
                    fo_store(a.bufs[k], stage[k], lo, n, a.rounding, keys[k], a.index0);
            if (a.mirror.data) fo_store(a.mirror, b[0], lo, n, kRoundNearest, 0, a.index0);
            lo += n;
        }
    }
};

// Elementwise conversion between float32 and a storage type (ConvertFn in kernel_api.hpp): the
// loads and stores above on their own, for tests and for reading quantized state.
inline void fo_convert(int storage, bool to_f32, void* dst, const void* src, float* scales,
                       i64 n, int rounding, u32 seed, i64 index0) {
    Buffer b;
    b.storage = storage;
    b.scales = scales;
    b.data = static_cast<char*>(to_f32 ? const_cast<void*>(src) : dst);
    float* f = static_cast<float*>(to_f32 ? dst : const_cast<void*>(src));
    const u32 key = fo_buffer_key(seed, 0);
    for (i64 lo = 0; lo < n;) {
        const unsigned long long j = static_cast<unsigned long long>(index0 + lo);
        const i64 to_wrap = static_cast<i64>((1ULL << 32) - (j & 0xffffffffULL));
        i64 m = n - lo < kChunk ? n - lo : kChunk;
        m = m < to_wrap ? m : to_wrap;
        if (to_f32) fo_load(f + lo, b, lo, m);
        else fo_store(b, f + lo, lo, m, rounding, key, index0);
        lo += m;
    }
}
