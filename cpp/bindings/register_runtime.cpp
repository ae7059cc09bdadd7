// ISA selection, thread count and kernel specs, exposed to Python as-is.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <stdexcept>
#include <tuple>

#include "core/dispatch.hpp"
#include "core/parallel.hpp"

namespace py = pybind11;
using namespace fastoptim;

void register_runtime(py::module_& m) {
    m.def("compiled_isas", &compiled_isas, "ISAs compiled into this build, worst to best.");
    m.def("available_isas", &available_isas, "Compiled ISAs this CPU can run, worst to best.");
    m.def("isa", []() { return std::string(active_table().isa); }, "The active ISA.");
    m.def(
        "use_isa",
        [](const std::string& name) {
            try {
                use_isa(name);
            } catch (const std::invalid_argument& e) {
                throw py::value_error(e.what());
            }
        },
        py::arg("name"), "Switch the kernels of every later step to ISA `name`.");
    m.def("get_num_threads", &get_num_threads);
    m.def(
        "set_num_threads",
        [](int n) {
            if (n < 1) throw py::value_error("num_threads must be >= 1, got " + std::to_string(n));
            set_num_threads(n);
        },
        py::arg("n"));
    m.def("has_openmp", &has_openmp);
    m.attr("grain_size") = kDefaultGrain;
    m.def(
        "_set_grain",
        [](std::int64_t elements) {
            if (elements < 1) throw py::value_error("grain must be >= 1");
            set_grain(elements);
        },
        py::arg("elements"),
        "Measurement aid (bench/grain.py): elements per thread below which no thread starts.");
    m.attr("split_align") = kSplitAlign;  // thread cuts inside a tensor: multiples of this
    m.def(
        "_partition",
        [](const std::vector<std::int64_t>& sizes, int num_threads) {
            std::int64_t total = 0;
            for (std::int64_t n : sizes) {
                if (n < 0) throw py::value_error("sizes must be >= 0");
                total += n;
            }
            std::vector<std::tuple<int, std::size_t, std::int64_t, std::int64_t>> out;
            for (const Piece& p : partition(sizes, threads_for(total, num_threads)))
                out.emplace_back(p.thread, p.task, p.begin, p.end);
            return out;
        },
        py::arg("sizes"), py::arg("num_threads"),
        "Testing aid: (thread, tensor, begin, end) pieces a step over tensors of these sizes "
        "runs with num_threads threads. Needs no memory, so 64-bit sizes can be tested.");
    py::dict specs;
    for (int k = 0; k < kNumKernels; ++k) {
        const KernelSpec& s = kernel_spec(k);
        py::list buffers, coeffs;
        for (int b = 0; b < s.n_buffers; ++b) buffers.append(s.buffers[b]);
        for (int c = 0; c < s.n_coeffs; ++c) coeffs.append(s.coeffs[c]);
        specs[s.name] = py::make_tuple(py::tuple(buffers), py::tuple(coeffs));
    }
    m.attr("kernel_specs") = specs;
}
