// The per-tensor key of stochastic rounding, computed on the host once per tensor and step from
// the row's key (python/fastoptim/lowp/rounding.py computes the same) and the param's id, with
// the kernels' own hash (cpp/kernels/storage.hpp, included here in a namespace of its own).
#pragma once

#include <cstdint>

#include "core/kernel_api.hpp"

namespace fastoptim {
namespace host_storage {
#include "kernels/common.hpp"
#include "kernels/storage.hpp"
}  // namespace host_storage

inline std::uint32_t tensor_key(std::uint32_t row_key, std::uint32_t id) {
    return host_storage::fo_mix32(row_key + host_storage::fo_mix32(id + 0x9e3779b9U));
}

}  // namespace fastoptim
