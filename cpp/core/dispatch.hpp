// Runtime ISA selection: which kernel tables were compiled, which the CPU supports, and which
// one is active. The active table is chosen at import (the best supported one, or the one named
// by FASTOPTIM_ISA, read by the Python package) and may be switched at run time (tests do).
#pragma once

#include <string>
#include <vector>

#include "core/isa_table.hpp"

namespace fastoptim {

// Names of the ISAs compiled into this build, best last (e.g. scalar, sse2, avx2, avx512).
std::vector<std::string> compiled_isas();
// The subset this CPU (and OS) can run.
std::vector<std::string> available_isas();
// Makes `name` the active ISA; throws std::invalid_argument if unknown or unsupported here.
void use_isa(const std::string& name);
// The active table (read once per step).
KernelTable active_table();

}  // namespace fastoptim
