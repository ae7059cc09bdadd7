// Compiled once per ISA (CMakeLists.txt: one object library per target, each with its own
// -m flags and FASTOPTIM_ISA_NS). The kernels are included inside that namespace, so every
// instantiation gets ISA-specific symbols and the linker can never merge an AVX-512 copy of
// a template into the scalar path. Nothing here runs at load time: the table is plain data.
#include "core/isa_table.hpp"

#ifndef FASTOPTIM_ISA_NS
#error "FASTOPTIM_ISA_NS must name the ISA namespace (set by CMake)"
#endif

namespace fastoptim {
namespace FASTOPTIM_ISA_NS {

#include "kernels/all.hpp"
#include "kernels/reduce.hpp"

#define FO_TABLE_ENTRY(K) &K::run<float>, &K::run<double>,
static const KernelFn kFns[] = {FASTOPTIM_FOR_EACH_KERNEL(FO_TABLE_ENTRY)};
#undef FO_TABLE_ENTRY

static_assert(sizeof(kFns) / sizeof(kFns[0]) == kNumKernels * kNumCompute,
              "kernel list and kernel count disagree");

// by Storage: kF32, kF64, kF16, kBF16
static const ReduceFn kReduce[] = {&fo_reduce<float>, &fo_reduce<double>, &fo_reduce<fo_half>,
                                   &fo_reduce<fo_bhalf>};

KernelTable table() { return KernelTable{FASTOPTIM_ISA_NAME, kFns, kReduce, &fo_convert}; }

}  // namespace FASTOPTIM_ISA_NS
}  // namespace fastoptim
