// Runs one kernel call over many tensors ("multi-tensor"): the total number of elements is
// split into contiguous, equal ranges, one per thread, inside a single parallel region, so a
// step over 1000 small arrays costs one thread start, not 1000. Below the grain size the work
// runs on the calling thread without starting any.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "core/kernel_api.hpp"

namespace fastoptim {

struct TensorTask {
    KernelFn fn;
    KernelArgs args;
    std::int64_t n;
};

// Elements per thread below which no extra thread is started: 32768, chosen by measurement
// (bench/grain.py, results in bench/README.md). Changeable at run time only for that
// measurement (fastoptim._native._set_grain).
constexpr std::int64_t kDefaultGrain = 1 << 15;
std::int64_t grain();
void set_grain(std::int64_t elements);

void run_tasks(const std::vector<TensorTask>& tasks, int num_threads);

// How run_tasks splits work, exposed for tests: the number of threads used for `total`
// elements, and the pieces [begin, end) of each tensor each thread runs — contiguous, near-equal
// shares of the concatenation, with every cut inside a tensor on a multiple of kSplitAlign
// elements from the tensor's start (whole quantization blocks, whole cache lines), 64-bit
// throughout.
constexpr std::int64_t kSplitAlign = kQ8Block;
struct Piece {
    int thread;
    std::size_t task;
    std::int64_t begin, end;
};
int threads_for(std::int64_t total, int num_threads);
std::vector<Piece> partition(const std::vector<std::int64_t>& sizes, int threads);

// Calls f(lo, hi) on contiguous ranges covering [0, n), in parallel when each thread gets at
// least `min_per_thread` items.
void run_blocks(std::int64_t n, std::int64_t min_per_thread, int num_threads,
                const std::function<void(std::int64_t, std::int64_t)>& f);

// Thread count used by steps: defaults to the OpenMP maximum (OMP_NUM_THREADS) or 1 without
// OpenMP. Our own setting: it does not change omp_set_num_threads for other libraries.
// In a child made by fork() it starts at 1 (see forked()).
int get_num_threads();
void set_num_threads(int n);
bool has_openmp();

}  // namespace fastoptim
