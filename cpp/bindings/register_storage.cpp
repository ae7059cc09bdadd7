// `encode(src, dst, scales, rounding, seed, index0)` and `decode(src, scales)`: the kernels'
// storage conversions on their own (float32 <-> float16, bfloat16, int8/uint8 blockwise
// codes), on the active ISA. Used to read quantized state as float32 and by the tests that
// hold them against the NumPy reference (python/fastoptim/reference/storage.py).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>

#include "bindings/arrays.hpp"
#include "core/dispatch.hpp"

namespace py = pybind11;
using namespace fastoptim;

namespace {

int storage_or_throw(const py::array& a, const py::object& scales, const char* what) {
    int st = float_storage(a);
    if (st == kF32 || st == kF64) st = -1;
    if (st < 0) st = code_storage(a);
    if (st < 0)
        throw py::type_error(std::string(what) + ": dtype " + dtype_name(a) +
                             " is not a storage type (float16, bfloat16, int8 or uint8 codes)");
    const bool q8 = st == kQ8Signed || st == kQ8Unsigned;
    if (q8 != !scales.is_none())
        throw py::value_error(q8 ? "int8/uint8 codes need their scales"
                                 : "scales are only for int8/uint8 codes");
    return st;
}

float* checked_scales(const py::object& scales, std::int64_t n, bool writeable) {
    if (scales.is_none()) return nullptr;
    py::array s = scales.cast<py::array>();
    const std::int64_t blocks = (n + kQ8Block - 1) / kQ8Block;
    if (!py::array_t<float>::check_(s) || s.ndim() != 1 || !is_c(s) || s.shape(0) != blocks ||
        (writeable && !s.writeable()))
        throw py::value_error("scales must be a contiguous float32 array of " +
                              std::to_string(blocks) + " entries");
    return static_cast<float*>(const_cast<void*>(s.data()));
}

void check_pair(const py::array& f32, const py::array& other) {
    if (!py::array_t<float>::check_(f32))
        throw py::type_error("expected float32 values, got " + dtype_name(f32));
    if (f32.size() != other.size() || !is_c(f32) || !is_c(other))
        throw py::value_error("values and storage must be C-contiguous and of the same size");
}

}  // namespace

void register_storage(py::module_& m) {
    m.attr("q8_block") = kQ8Block;  // elements per float32 scale of an int8/uint8 buffer
    m.def(
        "encode",
        [](const py::array& src, const py::array& dst, const py::object& scales,
           const std::string& rounding, std::uint32_t seed, std::int64_t index0) {
            const int st = storage_or_throw(dst, scales, "dst");
            check_pair(src, dst);
            if (!dst.writeable()) throw py::value_error("dst is read-only");
            const std::int64_t n = static_cast<std::int64_t>(src.size());
            float* sc = checked_scales(scales, n, true);
            if (rounding != "nearest" && rounding != "stochastic")
                throw py::value_error("rounding must be 'nearest' or 'stochastic'");
            const int r = rounding == "stochastic" ? kRoundStochastic : kRoundNearest;
            const KernelTable table = active_table();
            void* out = const_cast<void*>(dst.data());
            py::gil_scoped_release release;
            table.convert(st, false, out, src.data(), sc, n, r, seed, index0);
        },
        py::arg("src"), py::arg("dst"), py::arg("scales") = py::none(),
        py::arg("rounding") = "nearest", py::arg("seed") = 0, py::arg("index0") = 0,
        "Store float32 `src` into `dst` (float16, bfloat16, or int8/uint8 codes with their "
        "float32 `scales`, written too), rounded as the kernels round their stores.");
    m.def(
        "decode",
        [](const py::array& src, const py::object& scales) {
            const int st = storage_or_throw(src, scales, "src");
            if (!is_c(src)) throw py::value_error("src must be C-contiguous");
            const std::int64_t n = static_cast<std::int64_t>(src.size());
            float* sc = checked_scales(scales, n, false);
            py::array_t<float> out(std::vector<py::ssize_t>(src.shape(), src.shape() + src.ndim()));
            const KernelTable table = active_table();
            void* dst = out.mutable_data();
            {
                py::gil_scoped_release release;
                table.convert(st, true, dst, src.data(), sc, n, kRoundNearest, 0, 0);
            }
            return out;
        },
        py::arg("src"), py::arg("scales") = py::none(),
        "float32 values of `src` (float16, bfloat16, or int8/uint8 codes with their scales).");
}
