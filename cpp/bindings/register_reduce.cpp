// `grad_reduce(grads, op, p)`: per-array reductions (norm pieces, non-finite counts) for
// gradient clipping and the non-finite policy. Read-only: grads are never written here.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <string>
#include <vector>

#include "bindings/arrays.hpp"
#include "core/parallel.hpp"
#include "core/reduce.hpp"

namespace py = pybind11;
using namespace fastoptim;

namespace {

int reduce_op(const std::string& name) {
    static const char* const names[] = {"sumsq", "sumabs", "maxabs", "sumpow", "nonfinite"};
    for (int k = 0; k < REDUCE_NUM_OPS; ++k)
        if (name == names[k]) return k;
    throw py::value_error("unknown reduction '" + name + "'");
}

std::vector<double> grad_reduce(const py::sequence& grads, const std::string& op_name,
                                double p, bool blocks) {
    const int op = reduce_op(op_name);
    std::vector<ReduceTask> tasks;
    std::vector<py::array> refs;  // alive while the GIL is released
    tasks.reserve(grads.size());
    for (std::size_t i = 0; i < grads.size(); ++i) {
        py::object obj = grads[i];
        const std::string label = "grads[" + std::to_string(i) + "]";
        py::array a = readable_array(obj, label);
        const int dtype = float_storage(a);
        if (dtype < 0)
            throw py::type_error(label + ": dtype " + dtype_name(a) + " is not supported (" +
                                 kFloatStorages + ")");
        if (!(a.flags() & (py::array::c_style | py::array::f_style)))
            throw py::value_error(label + " is not contiguous; pass np.ascontiguousarray(grad)");
        tasks.push_back({dtype, a.data(), static_cast<std::int64_t>(a.size())});
        refs.push_back(std::move(a));
    }
    const int threads = get_num_threads();
    py::gil_scoped_release release;
    return reduce_tasks(tasks, op, p, threads, blocks);
}

// out = the mean of parts in order (core/reduce.hpp); float32 or float64, all of one dtype and
// size, C-contiguous (1-D views). out must not overlap a part (checked): a run of out is
// written after every part's run was read, but the next run's parts would see it.
void mean_into(py::array out, const py::sequence& parts) {
    const int dtype = float_storage(out);
    if (dtype != kF32 && dtype != kF64)
        throw py::type_error("mean_into: out must be float32 or float64, got " + dtype_name(out));
    if (!(out.flags() & py::array::c_style) || !out.writeable())
        throw py::value_error("mean_into: out must be a writable C-contiguous array");
    if (parts.size() == 0) throw py::value_error("mean_into: no parts");
    std::vector<py::array> refs;
    std::vector<const void*> ptrs;
    const auto lo = reinterpret_cast<std::uintptr_t>(out.data());
    const auto hi = lo + static_cast<std::uintptr_t>(out.nbytes());
    for (std::size_t i = 0; i < parts.size(); ++i) {
        py::object obj = parts[i];
        py::array a = readable_array(obj, "parts[" + std::to_string(i) + "]");
        if (float_storage(a) != dtype || a.size() != out.size() ||
            !(a.flags() & py::array::c_style))
            throw py::value_error("mean_into: parts[" + std::to_string(i) + "] must be a "
                                  "C-contiguous array of out's dtype and size");
        const auto plo = reinterpret_cast<std::uintptr_t>(a.data());
        if (out.size() > 0 && plo < hi && lo < plo + static_cast<std::uintptr_t>(a.nbytes()))
            throw py::value_error("mean_into: out overlaps parts[" + std::to_string(i) + "]");
        ptrs.push_back(a.data());
        refs.push_back(std::move(a));
    }
    const int k = static_cast<int>(ptrs.size());
    const std::int64_t n = static_cast<std::int64_t>(out.size());
    void* o = out.mutable_data();
    const int threads = get_num_threads();
    py::gil_scoped_release release;
    if (dtype == kF32)
        mean_in_order(reinterpret_cast<const float* const*>(ptrs.data()), k,
                      static_cast<float*>(o), n, threads);
    else
        mean_in_order(reinterpret_cast<const double* const*>(ptrs.data()), k,
                      static_cast<double*>(o), n, threads);
}

}  // namespace

void register_reduce(py::module_& m) {
    m.def("grad_reduce", &grad_reduce, py::arg("grads"), py::arg("op"), py::arg("p") = 2.0,
          py::arg("blocks") = false,
          "Per-array sumsq / sumabs / maxabs / sumpow (|x|^p) / nonfinite count, deterministic "
          "for every ISA and thread count (fixed blocks, fixed order), accumulated in float64. "
          "blocks=True: the per-block results (reduce_block elements each), array by array; "
          "an array's result is their sum in order from 0.");
    m.attr("reduce_block") = kReduceBlock;
    m.def("mean_into", &mean_into, py::arg("out"), py::arg("parts"),
          "out = (sum of parts in order, in float64) / len(parts), rounded once: the average "
          "over ranks of fastoptim.distributed (float32/float64).");
}
