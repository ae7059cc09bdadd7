// A test driver for the kernel tables without Python: runs every kernel, every loop variant,
// every storage combination, the reductions and the storage conversions of one ISA's table on
// fixed inputs, and prints one FNV-1a 64 hash of the output bytes per case (every step's; NaNs
// made canonical, see hash_owned: IEEE 754 does not fix their payload). The same driver
// built for two targets (x86-64 scalar, aarch64 NEON under qemu-aarch64, ...) must print the
// same lines; tests/native/run.sh builds and compares them.
//
//   driver --list      the ISAs of this build that this CPU runs (cpp/core/dispatch.cpp)
//   driver ISA         the case hashes of ISA, one per line, then a total
//   driver ISA CASE    the same, with every buffer of case CASE (a line's name) after each step
//
// Inputs are built from integer hashes as bit patterns (no libm, no FP arithmetic), including
// +-0, subnormals, +-inf, NaN with payloads, huge and tiny values. Per-step coefficients are
// computed with + - * / and sqrt only (correctly rounded everywhere) and this file is built
// with -ffp-contract=off like the kernels, so the coefficients are the same on every target.
// A coefficient or buffer the driver does not know (a kernel changed) stops it with a message.
#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/dispatch.hpp"
#include "core/isa_table.hpp"

using namespace fastoptim;
using u64 = std::uint64_t;
using u32 = std::uint32_t;
using u16 = std::uint16_t;
using i64 = std::int64_t;

namespace {

[[noreturn]] void die(const std::string& msg) {
    std::fprintf(stderr, "driver: %s\n", msg.c_str());
    std::exit(2);
}

// ------------------------------------------------------------------------------- hashing
struct Fnv {
    u64 h = 1469598103934665603ULL;
    void add(const void* p, std::size_t n) {
        const unsigned char* b = static_cast<const unsigned char*>(p);
        for (std::size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 1099511628211ULL;
    }
};

// ------------------------------------------------------------------------------- inputs
u64 mix64(u64 x) {  // splitmix64's finalizer
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}
u64 rnd(u64 stream, i64 i) { return mix64(mix64(stream) ^ static_cast<u64>(i)); }

// Special values sit at the first indices of every buffer (shifted per stream), so the small
// sizes are mostly special and the larger ones mostly ordinary; one more every 509 elements.
bool g_specials = true;  // off: ordinary values only (the reductions' finite case)

int special_slot(u64 stream, i64 i, int count) {
    if (!g_specials) return -1;
    const i64 j = i - static_cast<i64>(stream % 5);
    if (j >= 0 && j < count) return static_cast<int>(j);
    if (i % 509 == 300) return static_cast<int>((i / 509) % count);
    return -1;
}

const u32 kSpecialF32[] = {
    0x00000000, 0x80000000, 0x00000001, 0x80400000, 0x007fffff, 0x00800000, 0x7f800000,
    0xff800000, 0x7fc00000, 0xffc00123, 0x7f7fffff, 0xfe967699, 0x3f800000, 0x33800000,
    0x47800000, 0x38800000};
const u64 kSpecialF64[] = {
    0x0000000000000000ULL, 0x8000000000000000ULL, 0x0000000000000001ULL,
    0x8008000000000000ULL, 0x000fffffffffffffULL, 0x0010000000000000ULL,
    0x7ff0000000000000ULL, 0xfff0000000000000ULL, 0x7ff8000000000000ULL,
    0xfff8000000000abcULL, 0x7fefffffffffffffULL, 0xd4b249ad2594c37dULL,
    0x3ff0000000000000ULL, 0x3e70000000000000ULL};
const u16 kSpecialF16[] = {0x0000, 0x8000, 0x0001, 0x8200, 0x03ff, 0x0400, 0x7c00, 0xfc00,
                           0x7e00, 0xfe01, 0x7bff, 0xfbff, 0x3c00};
const u16 kSpecialBF16[] = {0x0000, 0x8000, 0x0001, 0x8040, 0x007f, 0x0080, 0x7f80, 0xff80,
                            0x7fc0, 0xffc1, 0x7f7f, 0xff00, 0x3f80};
template <class T, std::size_t N>
constexpr int count_of(const T (&)[N]) { return static_cast<int>(N); }

// `nonneg`: second-moment-like state (sums of squares), no sign bit on ordinary values.
u32 f32_bits(u64 s, i64 i, bool nonneg) {
    const int k = special_slot(s, i, count_of(kSpecialF32));
    if (k >= 0) return kSpecialF32[k];
    const u64 r = rnd(s, i);
    int e = 127 + static_cast<int>(r % 12) - 8;           // 2^-8 .. 2^3
    if (i % 13 == 5) e = 127 - 100;                       // results near the subnormals
    if (i % 17 == 6) e = 127 - 20;                        // float16 subnormal range
    if (i % 19 == 7) e = 127 + 17;                        // float16 overflow
    const u32 sign = nonneg ? 0U : static_cast<u32>((r >> 20) & 1U) << 31;
    return sign | (static_cast<u32>(e) << 23) | static_cast<u32>((r >> 32) & 0x7fffffU);
}
u64 f64_bits(u64 s, i64 i, bool nonneg) {
    const int k = special_slot(s, i, count_of(kSpecialF64));
    if (k >= 0) return kSpecialF64[k];
    const u64 r = rnd(s, i);
    int e = 1023 + static_cast<int>(r % 12) - 8;
    if (i % 13 == 5) e = 1023 - 1000;
    if (i % 19 == 7) e = 1023 + 900;
    const u64 sign = nonneg ? 0ULL : ((r >> 20) & 1ULL) << 63;
    const u64 r2 = rnd(s ^ 0x5555, i);
    return sign | (static_cast<u64>(e) << 52) | (r2 & 0xfffffffffffffULL);
}
u16 f16_bits(u64 s, i64 i, bool nonneg) {
    const int k = special_slot(s, i, count_of(kSpecialF16));
    if (k >= 0) return kSpecialF16[k];
    const u64 r = rnd(s, i);
    int e = 15 + static_cast<int>(r % 10) - 7;            // 2^-7 .. 2^2
    if (i % 17 == 6) e = 0;                               // subnormal
    const u16 sign = nonneg ? 0 : static_cast<u16>(((r >> 20) & 1U) << 15);
    return static_cast<u16>(sign | (e << 10) | ((r >> 32) & 0x3ffU));
}
u16 bf16_bits(u64 s, i64 i, bool nonneg) {
    const int k = special_slot(s, i, count_of(kSpecialBF16));
    if (k >= 0) return kSpecialBF16[k];
    return static_cast<u16>(f32_bits(s, i, nonneg) >> 16);
}

// ------------------------------------------------------------------------------- buffers
struct Owned {
    std::vector<unsigned char> data;
    std::vector<float> scales;
    int storage = kF32;
};

i64 n_blocks(i64 n) { return (n + kQ8Block - 1) / kQ8Block; }

void fill(Owned& o, int storage, i64 n, u64 stream, bool nonneg) {
    o.storage = storage;
    o.data.assign(static_cast<std::size_t>(n * storage_bytes(storage)) + 1, 0);
    o.scales.clear();
    unsigned char* d = o.data.data();
    for (i64 i = 0; i < n; ++i) {
        switch (storage) {
            case kF32: {
                const u32 b = f32_bits(stream, i, nonneg);
                std::memcpy(d + 4 * i, &b, 4);
                break;
            }
            case kF64: {
                const u64 b = f64_bits(stream, i, nonneg);
                std::memcpy(d + 8 * i, &b, 8);
                break;
            }
            case kF16: {
                const u16 b = f16_bits(stream, i, nonneg);
                std::memcpy(d + 2 * i, &b, 2);
                break;
            }
            case kBF16: {
                const u16 b = bf16_bits(stream, i, nonneg);
                std::memcpy(d + 2 * i, &b, 2);
                break;
            }
            default: d[i] = static_cast<unsigned char>(rnd(stream, i) >> 24);  // Q8 codes
        }
    }
    if (storage == kQ8Signed || storage == kQ8Unsigned) {
        for (i64 k = 0; k < n_blocks(n); ++k) {
            // powers of two 2^-3 .. 2^3; block 2: the smallest scale; block 3: a poisoned block
            u32 e = 127 + static_cast<u32>(rnd(stream ^ 0xabc, k) % 7) - 3;
            u32 bits = e << 23;
            if (k == 2) bits = 0x00800000U;
            if (k == 3) bits = 0x7fc00000U;
            float f;
            std::memcpy(&f, &bits, 4);
            o.scales.push_back(f);
        }
    }
}

Buffer view(Owned& o) {
    Buffer b;
    b.data = reinterpret_cast<char*>(o.data.data());
    b.scales = o.scales.empty() ? nullptr : o.scales.data();
    b.storage = o.storage;
    return b;
}

// One canonical NaN per format: IEEE 754 leaves the payload (and sign) of a NaN result to the
// hardware and to the operand order the compiler picks, and no result but a NaN depends on it,
// so NaNs compare equal (as np.array_equal(..., equal_nan=True) in the Python tests). Every
// other bit counts, the sign of zero included.
u32 canon32(u32 b) { return (b & 0x7fffffffU) > 0x7f800000U ? 0x7fc00000U : b; }
u64 canon64(u64 b) {
    return (b & 0x7fffffffffffffffULL) > 0x7ff0000000000000ULL ? 0x7ff8000000000000ULL : b;
}
u16 canon16(u16 b, int storage) {
    if (storage == kF16) return (b & 0x7fff) > 0x7c00 ? 0x7e00 : b;
    return (b & 0x7fff) > 0x7f80 ? 0x7fc0 : b;
}

// Element i of o as canonical bits (Q8: the code).
u64 element_bits(const Owned& o, i64 i) {
    const unsigned char* d = o.data.data();
    switch (o.storage) {
        case kF32: { u32 b; std::memcpy(&b, d + 4 * i, 4); return canon32(b); }
        case kF64: { u64 b; std::memcpy(&b, d + 8 * i, 8); return canon64(b); }
        case kF16:
        case kBF16: { u16 b; std::memcpy(&b, d + 2 * i, 2); return canon16(b, o.storage); }
        default: return d[i];
    }
}

// A Q8 block whose scale is NaN decodes to NaN whatever its codes (cpp/kernels/storage.hpp:
// the codes are then encodings of NaN, with a NaN's arbitrary sign): its codes count as 0.
bool nan_block(const Owned& o, i64 i) {
    if (o.scales.empty()) return false;
    const float s = o.scales[static_cast<std::size_t>(i / kQ8Block)];
    return s != s;
}

void hash_owned(Fnv& f, const Owned& o, i64 n) {
    const int bytes = storage_bytes(o.storage);
    for (i64 i = 0; i < n; ++i) {
        const u64 b = nan_block(o, i) ? 0 : element_bits(o, i);
        f.add(&b, static_cast<std::size_t>(bytes));  // little-endian on every target we build
    }
    for (float s : o.scales) {
        u32 b;
        std::memcpy(&b, &s, 4);
        b = canon32(b);
        f.add(&b, 4);
    }
}

std::string g_dump;  // driver ISA CASE: that case's buffers after each step, one element a line

void dump_owned(const char* what, const Owned& o, i64 n) {
    for (i64 i = 0; i < n; ++i)
        std::printf("  %s[%" PRId64 "] = %0*" PRIx64 "\n", what, i, 2 * storage_bytes(o.storage),
                    element_bits(o, i));
    for (std::size_t k = 0; k < o.scales.size(); ++k)
        std::printf("  %s.scales[%zu] = %a\n", what, k, static_cast<double>(o.scales[k]));
}

// ------------------------------------------------------------------------------- coefficients
struct Coefs {
    const KernelSpec& spec;
    double v[kMaxCoeffs];
    explicit Coefs(const KernelSpec& s) : spec(s) {
        for (double& x : v) x = std::nan("");
    }
    int index(const char* name) const {
        for (int k = 0; k < spec.n_coeffs; ++k)
            if (std::strcmp(spec.coeffs[k], name) == 0) return k;
        die(std::string("kernel '") + spec.name + "' has no coefficient '" + name +
            "' (tests/native/driver.cpp is out of date)");
    }
    void set(const char* name, double x) { v[index(name)] = x; }
    void check() const {
        for (int k = 0; k < spec.n_coeffs; ++k)
            if (std::isnan(v[k]))
                die(std::string("kernel '") + spec.name + "': coefficient '" + spec.coeffs[k] +
                    "' is not set by tests/native/driver.cpp (a new coefficient?)");
    }
};

double power(double x, int t) {  // x^t by multiplication: the same bits on every target
    double r = 1.0;
    for (int k = 0; k < t; ++k) r = r * x;
    return r;
}

// Loop-variant flag bits per kernel (the kernels' `variant()`, same bit order), and the number
// of optional buffers for the ceiling kernel (its "variants").
int variant_bits(const std::string& k) {
    if (k == "sgd" || k == "adam" || k == "rmsprop" || k == "radam") return 4;
    if (k == "nadam") return 3;
    if (k == "adamax") return 2;
    if (k == "adagrad" || k == "adadelta" || k == "ema") return 1;
    if (k == "lion") return 0;
    if (k == "ceiling") return 2;  // 0..3 optional buffers present
    die("unknown kernel '" + k + "' (tests/native/driver.cpp is out of date)");
}

// Coefficients of kernel k at step t (1-based) for variant bits v; `alt`: the other libraries'
// forms and maximize (sign -1, decoupled decay where it is not a variant bit, eps_root, ...).
void coefficients(const std::string& k, int v, bool alt, int t, Coefs& c) {
    auto bit = [v](int b) { return ((v >> b) & 1) != 0; };
    const double sign = alt ? -1.0 : 1.0;
    auto lerp = [&](int b, double w) {
        const double ww = bit(b) ? 0.75 : w;  // the flipped form is torch's branch for w >= 0.5
        c.set("lerp_w", ww);
        c.set("one_minus_lerp_w", 1.0 - ww);
        c.set("lerp_flip", bit(b) ? 1.0 : 0.0);
    };
    if (k == "sgd") {  // bits: 0 nesterov, 1 init_buffer, 2 momentum, 3 weight_decay
        // alt: Keras's lr inside the buffer (sign = -lr * -1, neg_lr = 1), maximize, decay
        c.set("sign", alt ? 0.01 : 1.0);
        c.set("decay", alt ? 0.999 : 1.0);
        c.set("weight_decay", bit(3) ? (alt ? -0.01 * 0.01 : 0.01) : 0.0);
        c.set("momentum", bit(2) ? 0.9 : 0.0);
        c.set("one_minus_dampening", alt ? 0.9 : 1.0);
        c.set("nesterov", bit(0) ? 1.0 : 0.0);
        c.set("init_buffer", bit(1) ? 1.0 : 0.0);
        c.set("neg_lr", alt ? 1.0 : -0.01);
    } else if (k == "adam") {  // bits: 0 decoupled, 1 L2, 2 lerp_flip, 3 amsgrad
        const double bc2 = 1.0 - power(0.999, t);
        c.set("sign", sign);
        c.set("decay", bit(0) ? 0.999 : 1.0);
        c.set("weight_decay", bit(1) ? 0.01 : 0.0);
        lerp(2, 0.1);
        c.set("beta2", 0.999);
        c.set("one_minus_beta2", 1.0 - 0.999);
        c.set("amsgrad", bit(3) ? 1.0 : 0.0);
        c.set("amsgrad_bc2", alt ? bc2 : 1.0);
        c.set("eps_root", alt ? 1e-12 : 0.0);
        c.set("bc2_sqrt", alt ? 1.0 : std::sqrt(bc2));
        c.set("eps", 1e-8);
        c.set("neg_step_size", -1e-3 / (1.0 - power(0.9, t)));
    } else if (k == "adagrad") {  // bits: 0 weight_decay
        c.set("sign", sign);
        c.set("decay", alt ? 0.999 : 1.0);
        c.set("weight_decay", bit(0) ? 0.01 : 0.0);
        c.set("eps_root", alt ? 1e-7 : 0.0);
        c.set("eps", alt ? 0.0 : 1e-10);
        c.set("neg_clr", -0.01 / (1.0 + (t - 1) * 0.001));
    } else if (k == "rmsprop") {  // bits: 0 weight_decay, 1 centered, 2 lerp_flip, 3 momentum
        c.set("sign", sign);
        c.set("decay", alt ? 0.999 : 1.0);
        c.set("weight_decay", bit(0) ? 0.01 : 0.0);
        c.set("alpha", 0.99);
        c.set("one_minus_alpha", 1.0 - 0.99);
        c.set("centered", bit(1) ? 1.0 : 0.0);
        lerp(2, 0.01);
        c.set("eps_root", alt ? 1e-7 : 0.0);
        c.set("eps", alt ? 0.0 : 1e-8);
        c.set("momentum", bit(3) ? 0.9 : 0.0);
        c.set("buffer_lr", alt ? 0.01 : 1.0);
        c.set("neg_lr", alt ? -1.0 : -0.01);
    } else if (k == "adamax") {  // bits: 0 weight_decay, 1 lerp_flip
        c.set("sign", sign);
        c.set("decay", alt ? 0.999 : 1.0);
        c.set("weight_decay", bit(0) ? 0.01 : 0.0);
        lerp(1, 0.1);
        c.set("beta2", 0.999);
        c.set("eps", alt ? 0.0 : 1e-8);
        c.set("eps_out", alt ? 1e-7 : 0.0);
        c.set("neg_clr", -2e-3 / (1.0 - power(0.9, t)));
    } else if (k == "nadam") {  // bits: 0 decoupled, 1 L2, 2 lerp_flip
        double prod = 1.0;
        for (int s = 1; s <= t; ++s) prod = prod * (0.45 + 0.01 * s);
        const double mu = 0.45 + 0.01 * t, mu_next = 0.45 + 0.01 * (t + 1);
        c.set("sign", sign);
        c.set("decay", bit(0) ? 0.999 : 1.0);
        c.set("weight_decay", bit(1) ? 0.01 : 0.0);
        lerp(2, 0.1);
        c.set("beta2", 0.999);
        c.set("one_minus_beta2", 1.0 - 0.999);
        c.set("bias_correction2", 1.0 - power(0.999, t));
        c.set("eps_root", alt ? 1e-12 : 0.0);
        c.set("eps", 1e-8);
        c.set("grad_coef", -2e-3 * (1.0 - mu) / (1.0 - prod));
        c.set("exp_avg_coef", -2e-3 * mu_next / (1.0 - prod * mu_next));
    } else if (k == "radam") {  // bits: 0 decoupled, 1 L2, 2 lerp_flip, 3 rectify
        c.set("sign", sign);
        c.set("decay", bit(0) ? 0.999 : 1.0);
        c.set("weight_decay", bit(1) ? 0.01 : 0.0);
        lerp(2, 0.1);
        c.set("beta2", 0.999);
        c.set("one_minus_beta2", 1.0 - 0.999);
        c.set("bias_correction1", 1.0 - power(0.9, t));
        c.set("lr", 1e-3);
        c.set("rectify", bit(3) ? 1.0 : 0.0);
        c.set("bc2_sqrt", std::sqrt(1.0 - power(0.999, t)));
        c.set("eps", alt ? 1e-6 : 1e-8);
        c.set("rect", 0.5 + 0.1 * t);
    } else if (k == "adadelta") {  // bits: 0 weight_decay
        c.set("sign", sign);
        c.set("decay", alt ? 0.999 : 1.0);
        c.set("weight_decay", bit(0) ? 0.01 : 0.0);
        c.set("rho", 0.9);
        c.set("one_minus_rho", 1.0 - 0.9);
        c.set("eps", 1e-6);
        c.set("neg_lr", alt ? -0.5 : -1.0);
    } else if (k == "lion") {
        c.set("sign", sign);
        c.set("decay", alt ? 0.99 : 1.0);
        c.set("beta1", 0.9);
        c.set("one_minus_beta1", 1.0 - 0.9);
        c.set("beta2", 0.99);
        c.set("one_minus_beta2", 1.0 - 0.99);
        c.set("neg_lr", alt ? -1e-3 : -1e-4);
    } else if (k == "ema") {  // bits: 0 lerp_flip
        lerp(0, alt ? 0.1 : 0.001);
    } else if (k == "ceiling") {
        // no coefficients
    } else {
        die("no coefficients for kernel '" + k + "'");
    }
    c.check();
}

// Second-moment-like state (never negative in use): quantized as unsigned codes.
bool unsigned_state(const char* name) {
    static const char* const kNames[] = {"exp_avg_sq", "max_exp_avg_sq", "sum", "square_avg",
                                         "exp_inf", "acc_delta"};
    for (const char* n : kNames)
        if (std::strcmp(n, name) == 0) return true;
    return false;
}
bool signed_state(const char* name) {
    static const char* const kNames[] = {"momentum_buffer", "exp_avg", "grad_avg", "s1", "s2",
                                         "s3"};
    for (const char* n : kNames)
        if (std::strcmp(n, name) == 0) return true;
    return false;
}

// ------------------------------------------------------------------------------- storage mixes
constexpr int kQ8 = -1;  // state storage: int8 codes (signed or unsigned by the buffer's role)

struct Combo {
    const char* name;
    int param, grad;  // param (the 16-bit mirror's storage with a master) and grad storage
    bool master;      // float32 master weights in buffer 0, the param as the mirror
    int state;        // storage of every state buffer (kQ8: codes)
    int rounding;
    u32 seed;
    i64 index0;
};

const Combo kCombos[] = {
    {"f32", kF32, kF32, false, kF32, kRoundNearest, 0, 0},
    {"f16", kF16, kF16, false, kF32, kRoundNearest, 0, 0},
    {"bf16", kBF16, kBF16, false, kF32, kRoundNearest, 0, 0},
    {"f16+master", kF16, kF32, true, kF32, kRoundNearest, 0, 0},
    {"bf16+master/bf16grad", kBF16, kBF16, true, kF32, kRoundNearest, 0, 0},
    {"bf16state", kF32, kF32, false, kBF16, kRoundNearest, 0, 0},
    {"f16state", kF32, kF32, false, kF16, kRoundNearest, 0, 0},
    {"q8state", kF32, kF32, false, kQ8, kRoundNearest, 0, 0},
    {"bf16+master/q8state", kBF16, kF32, true, kQ8, kRoundNearest, 0, 0},
    {"bf16/q8state", kBF16, kBF16, false, kQ8, kRoundNearest, 0, 0},
    // stochastic rounding; index0 just below 2^32 (chunks cut at the wrap) and past 2^40
    {"sr/bf16+bf16state", kBF16, kBF16, false, kBF16, kRoundStochastic, 0x12345678U,
     (1LL << 32) - 512},
    {"sr/f16+f16state", kF16, kF16, false, kF16, kRoundStochastic, 0xdeadbeefU, 1LL << 40},
    {"sr/f32+bf16state", kF32, kF32, false, kBF16, kRoundStochastic, 7U, 256},
    {"sr/f16+master+f16state", kF16, kF32, true, kF16, kRoundStochastic, 0x9e3779b9U, 0},
    {"sr/q8state", kF32, kF32, false, kQ8, kRoundStochastic, 0x2545f491U, (1LL << 32) - 768},
    {"f64", kF64, kF64, false, kF64, kRoundNearest, 0, 0},
};

const i64 kSizes[] = {0, 1, 7, 255, 256, 1000, 1025, 4097};
constexpr int kSteps = 3;

std::string case_name(const KernelSpec& spec, int variant, bool alt, const Combo& cb, i64 n) {
    char name[200];
    std::snprintf(name, sizeof name, "%s v%d %s %s n=%" PRId64, spec.name, variant,
                  alt ? "alt" : "std", cb.name, n);
    return name;
}

struct Run {
    KernelTable table;
    Fnv total;
    long cases = 0;

    void emit(const std::string& name, u64 h) {
        std::printf("%s %016" PRIx64 "\n", name.c_str(), h);
        std::fflush(stdout);  // a case that never ends leaves the one before it as the last line
        total.add(name.data(), name.size());
        total.add(&h, sizeof h);
        ++cases;
    }

    void kernel_case(int k, const KernelSpec& spec, int variant, bool alt, const Combo& cb,
                     i64 n) {
        const std::string kname = spec.name;
        const bool f64 = cb.param == kF64;
        const int compute = f64 ? kComputeF64 : kComputeF32;
        Owned bufs[kMaxBuffers], mirror;
        // presence of the state buffers: by the spec's flags and the step-1 coefficients
        Coefs c1(spec);
        coefficients(kname, variant, alt, 1, c1);
        bool present[kMaxBuffers] = {};
        present[0] = present[1] = true;
        for (int b = 2; b < spec.n_buffers; ++b) {
            const int flag = spec.buffer_flag[b];
            if (flag == kRequired) present[b] = true;
            else if (flag == kOptional) present[b] = b - 2 < (kname == "ceiling" ? variant : 0);
            else present[b] = c1.v[flag] != 0.0;
        }
        // buffer 0: the param (or the float32 master); buffer 1: the grad, refilled per step
        fill(bufs[0], cb.master ? kF32 : cb.param, n, 1000 + 0, false);
        if (cb.master) {
            fill(mirror, cb.param, n, 1000 + 99, false);
            std::memset(mirror.data.data(), 0xa5, mirror.data.size());
        }
        for (int b = 2; b < spec.n_buffers; ++b) {
            if (!present[b]) continue;
            const char* name = spec.buffers[b];
            const bool uns = unsigned_state(name);
            if (!uns && !signed_state(name))
                die(std::string("state '") + name + "' of kernel '" + spec.name +
                    "' is neither signed nor unsigned here (tests/native/driver.cpp)");
            const int st = cb.state == kQ8 ? (uns ? kQ8Unsigned : kQ8Signed) : cb.state;
            fill(bufs[b], st, n, 1000 + static_cast<u64>(b), uns);
        }
        Fnv h;
        for (int t = 1; t <= kSteps; ++t) {
            fill(bufs[1], cb.grad, n, 2000 + static_cast<u64>(t), false);
            Coefs c(spec);
            coefficients(kname, variant, alt, t, c);
            KernelArgs a;
            a.coeffs = c.v;
            for (int b = 0; b < spec.n_buffers; ++b)
                if (present[b]) a.bufs[b] = view(bufs[b]);
            if (cb.master) a.mirror = view(mirror);
            a.rounding = cb.rounding;
            a.seed = cb.seed + static_cast<u32>(t);
            a.index0 = cb.index0;
            const KernelFn fn = table.fns[k * kNumCompute + compute];
            // two pieces cut on a quantization block, as a two-thread split would
            const i64 cut = n >= 2 * kQ8Block ? (n / 2) / kQ8Block * kQ8Block : n;
            fn(a, 0, cut);
            if (cut < n) fn(a, cut, n);
            for (int b = 0; b < spec.n_buffers; ++b)
                if (present[b] && b != 1) hash_owned(h, bufs[b], n);
            if (cb.master) hash_owned(h, mirror, n);
            if (!g_dump.empty() && g_dump == case_name(spec, variant, alt, cb, n)) {
                std::printf(" step %d\n", t);
                for (int b = 0; b < spec.n_buffers; ++b)
                    if (present[b]) dump_owned(spec.buffers[b], bufs[b], n);
                if (cb.master) dump_owned("mirror", mirror, n);
            }
        }
        // the grad is read-only: its last step's bytes must be what was filled
        Owned fresh;
        fill(fresh, cb.grad, n, 2000 + kSteps, false);
        if (std::memcmp(fresh.data.data(), bufs[1].data.data(), fresh.data.size()) != 0)
            die("kernel '" + kname + "' wrote its grad (combo " + cb.name + ")");
        emit(case_name(spec, variant, alt, cb, n), h.h);
    }

    void kernels() {
        for (int k = 0; k < kNumKernels; ++k) {
            const KernelSpec& spec = kernel_spec(k);
            const std::string kname = spec.name;
            const int variants = kname == "ceiling" ? 4 : 1 << variant_bits(kname);
            const bool has_state = spec.n_buffers > 2;
            for (int v = 0; v < variants; ++v)
                for (int alt = 0; alt < 2; ++alt)
                    for (const Combo& cb : kCombos) {
                        // the ceiling kernel takes buffers stored in the compute type only
                        if (kname == "ceiling" && (alt || (std::strcmp(cb.name, "f32") != 0 &&
                                                           std::strcmp(cb.name, "f64") != 0)))
                            continue;
                        // a kernel without state: mixes that differ in the state only
                        if (!has_state && cb.state != kF32 && cb.state != kF64 &&
                            cb.param == kF32 && !cb.master)
                            continue;
                        for (i64 n : kSizes) kernel_case(k, spec, v, alt != 0, cb, n);
                    }
        }
    }

    void reductions() {
        const int storages[] = {kF32, kF64, kF16, kBF16};
        const char* names[] = {"f32", "f64", "f16", "bf16"};
        const char* ops[] = {"sumsq", "sumabs", "maxabs", "sumpow", "nonfinite"};
        for (int s = 0; s < 4; ++s)
            for (i64 n : kSizes) {
                for (int finite = 0; finite < 2; ++finite) {
                    Owned o;
                    g_specials = !finite;  // finite: sums of ordinary numbers
                    fill(o, storages[s], n, 3, false);
                    g_specials = true;
                    for (int op = 0; op < REDUCE_NUM_OPS; ++op)
                        for (i64 begin : {i64(0), i64(3)}) {
                            if (begin > n) continue;
                            const double p = op == REDUCE_SUMPOW ? 2.5 : 2.0;
                            const double r =
                                table.reduce[storages[s]](op, o.data.data(), begin, n, p);
                            u64 bits;
                            std::memcpy(&bits, &r, 8);
                            bits = canon64(bits);
                            Fnv h;
                            h.add(&bits, sizeof bits);
                            char name[200];
                            std::snprintf(name, sizeof name, "reduce %s %s%s begin=%" PRId64
                                          " n=%" PRId64, ops[op], names[s],
                                          finite ? "" : "+specials", begin, n);
                            emit(name, h.h);
                        }
                }
            }
    }

    void conversions() {
        const int storages[] = {kF16, kBF16, kQ8Signed, kQ8Unsigned};
        const char* names[] = {"f16", "bf16", "q8s", "q8u"};
        for (int s = 0; s < 4; ++s)
            for (i64 n : kSizes) {
                // storage -> float32
                Owned src;
                fill(src, storages[s], n, 11, storages[s] == kQ8Unsigned);
                std::vector<float> out(static_cast<std::size_t>(n) + 1);
                table.convert(storages[s], true, out.data(), src.data.data(),
                              src.scales.empty() ? nullptr : src.scales.data(), n,
                              kRoundNearest, 0, 0);
                Fnv h;
                h.add(out.data(), static_cast<std::size_t>(n) * 4);
                char name[200];
                std::snprintf(name, sizeof name, "convert %s->f32 n=%" PRId64, names[s], n);
                emit(name, h.h);
                // float32 -> storage, nearest and stochastic
                Owned f;
                fill(f, kF32, n, 12, storages[s] == kQ8Unsigned);
                for (int r = 0; r < 2; ++r) {
                    if (r == 1 && storages[s] >= kQ8Signed) continue;  // Q8 rounds to nearest
                    Owned dst;
                    fill(dst, storages[s], n, 13, false);
                    table.convert(storages[s], false, dst.data.data(), f.data.data(),
                                  dst.scales.empty() ? nullptr : dst.scales.data(), n, r,
                                  0xc0ffeeU, (1LL << 32) - 256);
                    Fnv g;
                    hash_owned(g, dst, n);
                    std::snprintf(name, sizeof name, "convert f32->%s %s n=%" PRId64, names[s],
                                  r ? "stochastic" : "nearest", n);
                    emit(name, g.h);
                }
            }
    }
};

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2 && argc != 3) die("usage: driver --list | driver ISA [CASE]");
    const std::string arg = argv[1];
    if (argc == 3) g_dump = argv[2];
    if (arg == "--list") {
        for (const std::string& s : available_isas()) std::printf("%s\n", s.c_str());
        return 0;
    }
    try {
        use_isa(arg);
    } catch (const std::invalid_argument& e) {
        die(e.what());
    }
    Run run{active_table(), {}, 0};
    if (arg != run.table.isa) die("dispatch gave table '" + std::string(run.table.isa) + "'");
    run.kernels();
    run.reductions();
    run.conversions();
    std::printf("total %ld cases %016" PRIx64 "\n", run.cases, run.total.h);
    return 0;
}
