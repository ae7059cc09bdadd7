// The ISA-independent description of every kernel (buffer and coefficient names), read by the
// bindings to validate a plan and by Python to lay out coefficients. The kernels are included
// in a namespace of their own here only to read their `spec`; no loop is instantiated.
#include <cstring>

#include "core/isa_table.hpp"

namespace fastoptim {
namespace specs_only {
#include "kernels/all.hpp"

#define FO_SPEC_ENTRY(K) &K::spec,
static const KernelSpec* const kSpecs[] = {FASTOPTIM_FOR_EACH_KERNEL(FO_SPEC_ENTRY)};
#undef FO_SPEC_ENTRY
static_assert(sizeof(kSpecs) / sizeof(kSpecs[0]) == kNumKernels,
              "kernel list and kNumKernels disagree");
}  // namespace specs_only

const KernelSpec& kernel_spec(int k) { return *specs_only::kSpecs[k]; }

int kernel_index(const char* name) {
    for (int k = 0; k < kNumKernels; ++k)
        if (std::strcmp(specs_only::kSpecs[k]->name, name) == 0) return k;
    return -1;
}

}  // namespace fastoptim
