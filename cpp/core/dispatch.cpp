#include "core/dispatch.hpp"

#include <atomic>
#include <stdexcept>

namespace fastoptim {
namespace {

struct IsaEntry {
    const char* name;
    KernelTable (*table)();
    bool (*supported)();
};

bool always() { return true; }

#if defined(__x86_64__) || defined(_M_X64)
// __builtin_cpu_supports checks both the CPUID bits and that the OS saves the wider registers
// (XGETBV), so a kernel is only chosen where it can run.
#if defined(FASTOPTIM_HAVE_AVX2)
bool has_avx2() {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#endif
#if defined(FASTOPTIM_HAVE_AVX512)
bool has_avx512() {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
}
#endif
#endif

// Worst to best: the default is the last supported entry.
const IsaEntry kIsas[] = {
    {"scalar", &isa_scalar::table, &always},
#if defined(FASTOPTIM_HAVE_SSE2)
    {"sse2", &isa_sse2::table, &always},
#endif
#if defined(FASTOPTIM_HAVE_NEON)
    {"neon", &isa_neon::table, &always},
#endif
#if defined(FASTOPTIM_HAVE_AVX2)
    {"avx2", &isa_avx2::table, &has_avx2},
#endif
#if defined(FASTOPTIM_HAVE_AVX512)
    {"avx512", &isa_avx512::table, &has_avx512},
#endif
};

const IsaEntry* best_supported() {
    const IsaEntry* best = &kIsas[0];
    for (const IsaEntry& e : kIsas)
        if (e.supported()) best = &e;
    return best;
}

std::atomic<const IsaEntry*> g_active{nullptr};

const IsaEntry* active_entry() {
    const IsaEntry* e = g_active.load(std::memory_order_acquire);
    if (!e) {
        e = best_supported();
        g_active.store(e, std::memory_order_release);
    }
    return e;
}

}  // namespace

std::vector<std::string> compiled_isas() {
    std::vector<std::string> out;
    for (const IsaEntry& e : kIsas) out.emplace_back(e.name);
    return out;
}

std::vector<std::string> available_isas() {
    std::vector<std::string> out;
    for (const IsaEntry& e : kIsas)
        if (e.supported()) out.emplace_back(e.name);
    return out;
}

void use_isa(const std::string& name) {
    for (const IsaEntry& e : kIsas) {
        if (name == e.name) {
            if (!e.supported())
                throw std::invalid_argument("ISA '" + name +
                                            "' is compiled in but this CPU does not support it");
            g_active.store(&e, std::memory_order_release);
            return;
        }
    }
    std::string known;
    for (const IsaEntry& e : kIsas) known += std::string(known.empty() ? "" : ", ") + e.name;
    throw std::invalid_argument("unknown ISA '" + name + "' (compiled: " + known + ")");
}

KernelTable active_table() { return active_entry()->table(); }

}  // namespace fastoptim
