// Declarations of the per-ISA kernel tables and of the ISA-independent kernel specs.
#pragma once

#include "core/kernel_api.hpp"

namespace fastoptim {

// Number of kernel families (the length of FASTOPTIM_FOR_EACH_KERNEL); checked at compile time
// in every ISA object and in kernel_specs.cpp.
constexpr int kNumKernels = 11;

// Spec of kernel `k` (0 <= k < kNumKernels), and the index of the kernel named `name` or -1.
const KernelSpec& kernel_spec(int k);
int kernel_index(const char* name);

#define FASTOPTIM_DECLARE_ISA(ns) \
    namespace ns {                \
    KernelTable table();          \
    }
FASTOPTIM_DECLARE_ISA(isa_scalar)
FASTOPTIM_DECLARE_ISA(isa_sse2)
FASTOPTIM_DECLARE_ISA(isa_avx2)
FASTOPTIM_DECLARE_ISA(isa_avx512)
FASTOPTIM_DECLARE_ISA(isa_neon)
#undef FASTOPTIM_DECLARE_ISA

}  // namespace fastoptim
