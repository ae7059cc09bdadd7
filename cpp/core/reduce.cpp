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

}  // namespace fastoptim
