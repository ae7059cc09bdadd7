// The contract between the per-ISA kernel objects and the rest of the core.
//
// A kernel updates elements [begin, end) of one tensor. `bufs` holds the base pointer of every
// buffer the kernel's spec names (param, grad, state...; nullptr for an optional buffer that is
// absent), `coeffs` the per-step coefficients the Python optimizer computed in float64.
#pragma once

#include <cstdint>

namespace fastoptim {

constexpr int kMaxBuffers = 6;
constexpr int kMaxCoeffs = 24;

enum DType : int { kFloat32 = 0, kFloat64 = 1, kNumDTypes = 2 };

using KernelFn = void (*)(const double* coeffs, char* const* bufs, std::int64_t begin,
                          std::int64_t end);

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

// One function per (kernel, dtype), compiled for one ISA.
struct KernelTable {
    const char* isa;
    const KernelFn* fns;                  // fns[kernel * kNumDTypes + dtype]
    const ReduceFn* reduce;               // reduce[dtype]
};

}  // namespace fastoptim
