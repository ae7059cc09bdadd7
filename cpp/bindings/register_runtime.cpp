// ISA selection, thread count and kernel specs, exposed to Python as-is.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <stdexcept>

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
    m.attr("grain_size") = kGrain;
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
