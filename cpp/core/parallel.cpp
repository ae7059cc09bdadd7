#include "core/parallel.hpp"

#include <algorithm>
#include <atomic>
#include <system_error>
#include <thread>

#if defined(FASTOPTIM_OPENMP)
#include <omp.h>
#endif
#if defined(__unix__) || defined(__APPLE__)
#include <pthread.h>
#define FASTOPTIM_HAVE_ATFORK 1
#endif

namespace fastoptim {
namespace {

std::atomic<int> g_num_threads{0};  // 0: not set yet
std::atomic<std::int64_t> g_grain{kDefaultGrain};

// Fork safety. GNU OpenMP's thread team does not survive fork(): the child inherits the
// parent's pool bookkeeping but not its threads, so its next parallel region waits forever for
// them. A child handler, registered when the library loads, therefore (1) sets this process's
// thread count to 1, so the child's steps run on the calling thread until it calls
// set_num_threads again, and (2) marks the process as forked, so it never enters an OpenMP
// region again: threaded steps in a forked process run on threads started for that step
// (std::thread, joined before the step returns, so nothing survives to the next fork). Same
// partition, same kernels: the same bits on every path. The parent is untouched. Both stores
// are lock-free atomics, safe in an atfork child handler (PyTorch's ParallelNative.cpp does the
// same for its pool).
std::atomic<bool> g_forked{false};

#if defined(FASTOPTIM_HAVE_ATFORK)
void on_fork_child() {
    g_forked.store(true, std::memory_order_relaxed);
    g_num_threads.store(1, std::memory_order_relaxed);
}
// At load time, once per process (a forked child inherits the registration).
[[maybe_unused]] const int g_atfork_registered = pthread_atfork(nullptr, nullptr, &on_fork_child);
#endif

// Calls body(t) for t in [0, threads), each on its own thread, and returns when all are done.
void run_on_threads(int threads, const std::function<void(int)>& body) {
#if defined(FASTOPTIM_OPENMP)
    if (!g_forked.load(std::memory_order_relaxed)) {
#pragma omp parallel for num_threads(threads) schedule(static, 1)
        for (int t = 0; t < threads; ++t) body(t);
        return;
    }
    // A forked process: fresh threads for this call only. Share 0 runs on the calling thread;
    // a share whose thread cannot be started (resource limits) also runs here, so the call
    // always completes.
    std::vector<std::thread> workers;
    workers.reserve(static_cast<std::size_t>(threads));
    int t = 1;
    for (; t < threads; ++t) {
        try {
            workers.emplace_back(body, t);
        } catch (const std::system_error&) {
            break;
        }
    }
    for (int u = t; u < threads; ++u) body(u);
    body(0);
    for (std::thread& w : workers) w.join();
#else
    for (int t = 0; t < threads; ++t) body(t);
#endif
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

std::int64_t grain() { return g_grain.load(std::memory_order_relaxed); }
void set_grain(std::int64_t elements) { g_grain.store(elements, std::memory_order_relaxed); }

int threads_for(std::int64_t total, int num_threads) {
    const std::int64_t max_useful = std::max<std::int64_t>(1, total / grain());
    return static_cast<int>(std::max<std::int64_t>(1, std::min<std::int64_t>(num_threads,
                                                                              max_useful)));
}

std::vector<Piece> partition(const std::vector<std::int64_t>& sizes, int threads) {
    std::int64_t total = 0;
    for (std::int64_t n : sizes) total += n;
    // Thread t's share of the concatenation of all tensors starts at bound(t); a bound inside a
    // tensor is moved down to a multiple of kSplitAlign from the tensor's start, so no two
    // threads write one quantization block (nor, for aligned arrays, one cache line).
    auto bound = [&](std::int64_t t) {
        if (t >= threads) return total;
        return total / threads * t;
    };
    std::vector<Piece> pieces;
    pieces.reserve(sizes.size() + static_cast<std::size_t>(threads));
    std::int64_t offset = 0;  // where tensor i starts in the concatenation
    int t = 0;                // the thread whose share holds `offset`
    for (std::size_t i = 0; i < sizes.size(); ++i) {
        const std::int64_t lo = offset, n = sizes[i];
        while (t + 1 < threads && bound(t + 1) <= lo) ++t;
        // cut(u): where thread u's part of this tensor starts, for u > t
        auto cut = [&](int u) {
            const std::int64_t b = bound(u) - lo;
            return b >= n ? n : b / kSplitAlign * kSplitAlign;
        };
        std::int64_t at = 0;
        for (int u = t; at < n; ++u) {
            const std::int64_t end = u + 1 >= threads ? n : cut(u + 1);
            if (end > at) {
                pieces.push_back({u, i, at, end});
                at = end;
            }
        }
        offset = lo + n;
    }
    return pieces;
}

void run_tasks(const std::vector<TensorTask>& tasks, int num_threads) {
    std::int64_t total = 0;
    for (const TensorTask& t : tasks) total += t.n;
    const int threads = threads_for(total, num_threads);
    if (threads <= 1) {
        // main loop over tensors on the calling thread
        for (const TensorTask& t : tasks)
            if (t.n > 0) t.fn(t.args, 0, t.n);
        return;
    }
    std::vector<std::int64_t> sizes(tasks.size());
    for (std::size_t i = 0; i < tasks.size(); ++i) sizes[i] = tasks[i].n;
    const std::vector<Piece> pieces = partition(sizes, threads);
    // pieces are ordered by thread: first[t] is thread t's first piece
    std::vector<std::size_t> first(static_cast<std::size_t>(threads) + 1, pieces.size());
    for (std::size_t k = pieces.size(); k-- > 0;) first[pieces[k].thread] = k;
    for (int t = threads - 1; t >= 0; --t) first[t] = std::min(first[t], first[t + 1]);
    run_on_threads(threads, [&](int t) {
        for (std::size_t k = first[t]; k < first[t + 1]; ++k) {
            const Piece& p = pieces[k];
            const TensorTask& task = tasks[p.task];
            task.fn(task.args, p.begin, p.end);
        }
    });
}

void run_blocks(std::int64_t n, std::int64_t min_per_thread, int num_threads,
                const std::function<void(std::int64_t, std::int64_t)>& f) {
    const int threads = static_cast<int>(
        std::min<std::int64_t>(num_threads, std::max<std::int64_t>(1, n / min_per_thread)));
    if (threads <= 1) {
        f(0, n);
        return;
    }
    const std::int64_t nt = threads;
    run_on_threads(threads, [&](int t) { f(n * t / nt, n * (t + 1) / nt); });
}

}  // namespace fastoptim
