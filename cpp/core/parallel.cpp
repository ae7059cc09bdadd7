#include "core/parallel.hpp"

#include <algorithm>
#include <atomic>

#if defined(FASTOPTIM_OPENMP)
#include <omp.h>
#endif

namespace fastoptim {
namespace {

std::atomic<int> g_num_threads{0};  // 0: not set yet

// Element alignment of thread boundaries: 64 elements keeps every boundary on a cache line
// for both dtypes, so two threads never write the same line.
constexpr std::int64_t kBoundaryAlign = 64;

// Runs elements [lo, hi) of the concatenation of all tasks; `offsets[i]` is where task i starts.
void run_range(const std::vector<TensorTask>& tasks, const std::vector<std::int64_t>& offsets,
               std::int64_t lo, std::int64_t hi) {
    auto it = std::upper_bound(offsets.begin(), offsets.end(), lo);
    std::size_t t = static_cast<std::size_t>(it - offsets.begin()) - 1;
    for (; t < tasks.size() && offsets[t] < hi; ++t) {
        const std::int64_t b = std::max(lo, offsets[t]) - offsets[t];
        const std::int64_t e = std::min(hi, offsets[t] + tasks[t].n) - offsets[t];
        if (e > b) tasks[t].fn(tasks[t].coeffs, tasks[t].bufs, b, e);
    }
}

}  // namespace

bool has_openmp() {
#if defined(FASTOPTIM_OPENMP)
    return true;
#else
    return false;
#endif
}

int get_num_threads() {
    int n = g_num_threads.load(std::memory_order_relaxed);
    if (n > 0) return n;
#if defined(FASTOPTIM_OPENMP)
    return std::max(1, omp_get_max_threads());
#else
    return 1;
#endif
}

void set_num_threads(int n) { g_num_threads.store(n, std::memory_order_relaxed); }

void run_tasks(const std::vector<TensorTask>& tasks, int num_threads) {
    std::int64_t total = 0;
    for (const TensorTask& t : tasks) total += t.n;
    const std::int64_t max_useful = std::max<std::int64_t>(1, total / kGrain);
    const int threads = static_cast<int>(std::min<std::int64_t>(num_threads, max_useful));
    if (threads <= 1) {
        // main loop over tensors on the calling thread
        for (const TensorTask& t : tasks)
            if (t.n > 0) t.fn(t.coeffs, t.bufs, 0, t.n);
        return;
    }
    std::vector<std::int64_t> offsets(tasks.size());
    std::int64_t acc = 0;
    for (std::size_t i = 0; i < tasks.size(); ++i) {
        offsets[i] = acc;
        acc += tasks[i].n;
    }
#if defined(FASTOPTIM_OPENMP)
#pragma omp parallel num_threads(threads)
    {
        const std::int64_t t = omp_get_thread_num();
        const std::int64_t nt = omp_get_num_threads();
        auto bound = [&](std::int64_t k) {
            if (k >= nt) return total;
            return (total / nt * k) / kBoundaryAlign * kBoundaryAlign;
        };
        run_range(tasks, offsets, bound(t), bound(t + 1));
    }
#else
    run_range(tasks, offsets, 0, total);
#endif
}

void run_blocks(std::int64_t n, std::int64_t min_per_thread, int num_threads,
                const std::function<void(std::int64_t, std::int64_t)>& f) {
    const int threads = static_cast<int>(
        std::min<std::int64_t>(num_threads, std::max<std::int64_t>(1, n / min_per_thread)));
    if (threads <= 1) {
        f(0, n);
        return;
    }
#if defined(FASTOPTIM_OPENMP)
#pragma omp parallel num_threads(threads)
    {
        const std::int64_t t = omp_get_thread_num();
        const std::int64_t nt = omp_get_num_threads();
        f(n * t / nt, n * (t + 1) / nt);
    }
#else
    f(0, n);
#endif
}

}  // namespace fastoptim
