// The contract between the per-ISA kernel objects and the rest of the core.
//
// A kernel updates elements [begin, end) of one tensor. Its arguments (`KernelArgs`) hold every
// buffer the kernel's spec names (param, grad, state...; a null `data` for an optional buffer
// that is absent), each with its own storage type, and the per-step coefficients the Python
// optimizer computed in float64. The update itself is written once per kernel over a compute
// type (float32, or float64 for float64 params); loads and stores convert each buffer from and
// to its storage (cpp/kernels/storage.hpp, cpp/kernels/run.hpp).
#pragma once

#include <cstdint>

namespace fastoptim {

static_assert(sizeof(unsigned int) == 4 && sizeof(unsigned short) == 2,
              "the storage conversions assume 32-bit int and 16-bit short");

constexpr int kMaxBuffers = 6;
constexpr int kMaxCoeffs = 24;

// How a buffer's elements are stored. Q8: one int8 (signed) or uint8 (unsigned) code per
// element plus one float32 scale per block of kQ8Block elements.
enum Storage : int {
    kF32 = 0,
    kF64 = 1,
    kF16 = 2,
    kBF16 = 3,
    kQ8Signed = 4,
    kQ8Unsigned = 5,
    kNumStorage = 6
};
// The arithmetic type of a kernel call: float64 for float64 params, float32 otherwise.
enum Compute : int { kComputeF32 = 0, kComputeF64 = 1, kNumCompute = 2 };

// Elements per quantization block; thread splits inside a tensor fall on multiples of it.
constexpr std::int64_t kQ8Block = 256;

enum Rounding : int { kRoundNearest = 0, kRoundStochastic = 1 };

inline int storage_bytes(int storage) {
    return storage == kF64 ? 8 : storage == kF32 ? 4 : storage <= kBF16 ? 2 : 1;
}

struct Buffer {
    char* data = nullptr;     // element 0 of the buffer (nullptr: absent)
    float* scales = nullptr;  // Q8 only: one per block
    int storage = kF32;
};

struct KernelArgs {
    const double* coeffs = nullptr;
    Buffer bufs[kMaxBuffers];
    // With master weights bufs[0] is the float32 master; `mirror` is the 16-bit param, written
    // as the master's round-to-nearest-even after each update.
    Buffer mirror;
    int rounding = kRoundNearest;  // for 16-bit stores (params without master, state)
    std::uint32_t seed = 0;        // stochastic rounding: this tensor's key at this step
    std::int64_t index0 = 0;       // index of element 0 in the whole param (a shard's offset)
};

using KernelFn = void (*)(const KernelArgs& args, std::int64_t begin, std::int64_t end);

constexpr int kRequired = -1;  // a buffer the kernel always reads
constexpr int kOptional = -2;  // a buffer the kernel reads only when present

// What the bindings need to know about a kernel, independent of the ISA it runs on.
struct KernelSpec {
    const char* name;
    int n_buffers;                        // buffers[0] is the param, buffers[1] the grad (read-only)
    const char* buffers[kMaxBuffers];
    int buffer_flag[kMaxBuffers];         // kRequired, kOptional, or the coefficient whose
                                          // non-zero value makes the buffer required
    int n_coeffs;
    const char* coeffs[kMaxCoeffs];
};

// Reductions (cpp/kernels/reduce.hpp): sum of squares, of |x|, max |x|, sum of |x|^p, and the
// number of non-finite elements.
enum ReduceOp : int { REDUCE_SUMSQ = 0, REDUCE_SUMABS, REDUCE_MAXABS, REDUCE_SUMPOW,
                      REDUCE_NONFINITE, REDUCE_NUM_OPS };

// A reduction over elements [begin, end) of one array.
using ReduceFn = double (*)(int op, const void* data, std::int64_t begin, std::int64_t end,
                            double p);

// Elementwise storage conversion of n elements (tests and the reference's checks):
// to float32 from `storage` (Q8: `scales` per block of the source), or from float32.
using ConvertFn = void (*)(int storage, bool to_f32, void* dst, const void* src, float* scales,
                           std::int64_t n, int rounding, std::uint32_t seed, std::int64_t index0);

// One function per (kernel, compute type), compiled for one ISA.
struct KernelTable {
    const char* isa;
    const KernelFn* fns;                  // fns[kernel * kNumCompute + compute]
    const ReduceFn* reduce;               // reduce[storage] for kF32, kF64, kF16, kBF16
    ConvertFn convert;
};

}  // namespace fastoptim
