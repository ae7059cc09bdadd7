// What the bindings need to know about a NumPy array: its storage type (float32, float64,
// float16, ml_dtypes' bfloat16, or int8/uint8 codes), layout and how to name it in an error.
// Arrays are never converted here: anything that does not fit is refused by the caller.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>

#include "core/kernel_api.hpp"

namespace fastoptim {
namespace py = pybind11;

// A float storage (kF32, kF64, kF16, kBF16) in native byte order, or -1.
int float_storage(const py::array& a);
// kQ8Signed for int8, kQ8Unsigned for uint8 (quantization codes), or -1.
int code_storage(const py::array& a);

std::string dtype_name(const py::array& a);
std::string shape_str(const py::array& a);
std::string strides_str(const py::array& a);
std::string type_name(const py::handle& h);
// `obj` as a NumPy array without a copy: an ndarray itself, or a view of any object with
// __dlpack__ (JAX, torch, CuPy...) or the buffer protocol. A non-CPU or otherwise unreadable
// object gives a ValueError/TypeError starting with `what`. For arrays that are only read.
py::array readable_array(const py::handle& obj, const std::string& what);
inline bool is_c(const py::array& a) { return (a.flags() & py::array::c_style) != 0; }
inline bool is_f(const py::array& a) { return (a.flags() & py::array::f_style) != 0; }
bool shapes_equal(const py::array& a, const py::array& b);

// "float32, float64, float16 or bfloat16": what a param may be, for error messages.
extern const char* const kFloatStorages;

}  // namespace fastoptim
