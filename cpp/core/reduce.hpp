// Reductions over many arrays (gradient norms, the non-finite check), deterministic for every
// ISA and thread count: each array is cut into fixed blocks, each block reduced by the active
// ISA's kernel (fixed order inside, see cpp/kernels/reduce.hpp), and the block results combined
// in block order on the calling thread. Threads only decide who computes which block.
#pragma once

#include <cstdint>
#include <vector>

#include "core/kernel_api.hpp"

namespace fastoptim {

struct ReduceTask {
    int dtype;  // a float Storage: kF32, kF64, kF16 or kBF16
    const void* data;
    std::int64_t n;
};

// Elements per block (a multiple of the reduction lanes).
constexpr std::int64_t kReduceBlock = 1 << 14;

// One result per task: sum (or max, for the max op) over its blocks, in block order, starting
// from 0. With per_block, the block results themselves, task by task (an empty task has none):
// combining a task's run of them in order from 0 gives its result (fastoptim.distributed
// combines the blocks of a param cut into pieces on several processes so).
std::vector<double> reduce_tasks(const std::vector<ReduceTask>& tasks, int op, double p,
                                 int num_threads, bool per_block = false);

// out[i] = (parts[0][i] + parts[1][i] + ... + parts[k-1][i]) / k, the sum in float64 in that
// order, divided once and rounded once to T (float or double): fastoptim.distributed's average
// over ranks, with the bits of NumPy's float64 arithmetic (no reassociation, no FMA: additions
// and one division). Elementwise, so threads and vector width cannot change a result.
template <class T>
void mean_in_order(const T* const* parts, int k, T* out, std::int64_t n, int num_threads);

}  // namespace fastoptim
