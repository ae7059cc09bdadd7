// The extension module `fastoptim._native`: only registers the areas, each in its own file.
#include <pybind11/pybind11.h>

namespace py = pybind11;

void register_runtime(py::module_& m);  // register_runtime.cpp: ISAs, threads, kernel specs
void register_plan(py::module_& m);     // register_plan.cpp: the multi-tensor step
void register_reduce(py::module_& m);   // register_reduce.cpp: norms, non-finite checks
void register_storage(py::module_& m);  // register_storage.cpp: 16-bit and int8 conversions

PYBIND11_MODULE(_native, m) {
    m.doc() = "fastoptim's C++ core (kernels, ISA dispatch, threads). Use the fastoptim package.";
    register_runtime(m);
    register_plan(m);
    register_reduce(m);
    register_storage(m);
}
