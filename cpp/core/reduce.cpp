#include "core/reduce.hpp"

#include <algorithm>

#include "core/dispatch.hpp"
#include "core/parallel.hpp"

namespace fastoptim {

std::vector<double> reduce_tasks(const std::vector<ReduceTask>& tasks, int op, double p,
                                 int num_threads, bool per_block) {
    const KernelTable table = active_table();
    struct Block {
        std::size_t task;
        std::int64_t begin, end;
    };
    std::vector<Block> blocks;
    for (std::size_t t = 0; t < tasks.size(); ++t)
        for (std::int64_t b = 0; b < tasks[t].n; b += kReduceBlock)
            blocks.push_back({t, b, std::min(tasks[t].n, b + kReduceBlock)});
    std::vector<double> partial(blocks.size());
    auto run = [&](std::int64_t lo, std::int64_t hi) {
        for (std::int64_t k = lo; k < hi; ++k) {
            const Block& b = blocks[k];
            const ReduceTask& t = tasks[b.task];
            partial[k] = table.reduce[t.dtype](op, t.data, b.begin, b.end, p);
        }
    };
    run_blocks(static_cast<std::int64_t>(blocks.size()),
               std::max<std::int64_t>(1, grain() / kReduceBlock), num_threads, run);
    if (per_block) return partial;
    // Combine in block order, on this thread.
    std::vector<double> out(tasks.size(), 0.0);
    for (std::size_t k = 0; k < blocks.size(); ++k) {
        double& o = out[blocks[k].task];
        const double v = partial[k];
        if (op != REDUCE_MAXABS) o += v;
        else if (v != v || o < v) o = v;  // a NaN, once in, stays
    }
    return out;
}

template <class T>
void mean_in_order(const T* const* parts, int k, T* out, std::int64_t n, int num_threads) {
    const double count = static_cast<double>(k);
    // x / 2^j == x * 2^-j exactly (both are the exact quotient, rounded once), and a multiply
    // is several times cheaper than a divide: world sizes 1, 2, 4, 8, ...
    const bool pow2 = (k & (k - 1)) == 0;
    const double inverse = 1.0 / count;
    auto run = [&](std::int64_t lo, std::int64_t hi) {
        // in cache-sized runs: each part is read once, the float64 sums stay in L1
        constexpr std::int64_t kRun = 1024;
        double acc[kRun];
        for (std::int64_t a = lo; a < hi; a += kRun) {
            const std::int64_t m = std::min(kRun, hi - a);
            const T* p0 = parts[0] + a;
            for (std::int64_t i = 0; i < m; ++i) acc[i] = static_cast<double>(p0[i]);
            for (int s = 1; s < k; ++s) {
                const T* ps = parts[s] + a;
                for (std::int64_t i = 0; i < m; ++i) acc[i] += static_cast<double>(ps[i]);
            }
            T* o = out + a;
            if (pow2)
                for (std::int64_t i = 0; i < m; ++i) o[i] = static_cast<T>(acc[i] * inverse);
            else
                for (std::int64_t i = 0; i < m; ++i) o[i] = static_cast<T>(acc[i] / count);
        }
    };
    run_blocks(n, grain(), num_threads, run);
}

template void mean_in_order<float>(const float* const*, int, float*, std::int64_t, int);
template void mean_in_order<double>(const double* const*, int, double*, std::int64_t, int);

}  // namespace fastoptim
