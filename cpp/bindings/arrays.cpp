#include "bindings/arrays.hpp"

#include <atomic>

namespace fastoptim {

const char* const kFloatStorages =
    "float32, float64, float16 or bfloat16 (ml_dtypes) in native byte order";

namespace {

// NumPy's fixed type numbers
constexpr int kNpyByte = 1, kNpyUByte = 2, kNpyFloat = 11, kNpyDouble = 12, kNpyHalf = 23;

// ml_dtypes registers bfloat16 at its import with a type number of its own: recognized by
// name once, then by number.
std::atomic<int> g_bfloat16_num{-1};

bool native_order(const py::dtype& d) { return d.byteorder() != '>'; }

}  // namespace

int float_storage(const py::array& a) {
    // by type number and byte order (a field read each: this runs per grad per step)
    const py::dtype d = a.dtype();
    const int num = d.num();
    if (num == kNpyFloat) return native_order(d) ? kF32 : -1;
    if (num == kNpyDouble) return native_order(d) ? kF64 : -1;
    if (num == kNpyHalf) return native_order(d) ? kF16 : -1;
    const int bf = g_bfloat16_num.load(std::memory_order_relaxed);
    if (bf >= 0) return num == bf ? kBF16 : -1;
    if (d.kind() == 'V' && d.itemsize() == 2 &&
        py::str(d.attr("name")).cast<std::string>() == "bfloat16") {
        g_bfloat16_num.store(num, std::memory_order_relaxed);
        return kBF16;
    }
    return -1;
}

int code_storage(const py::array& a) {
    const int num = a.dtype().num();
    if (num == kNpyByte) return kQ8Signed;
    if (num == kNpyUByte) return kQ8Unsigned;
    return -1;
}

py::array readable_array(const py::handle& obj, const std::string& what) {
    if (py::isinstance<py::array>(obj)) return py::reinterpret_borrow<py::array>(obj);
    const py::module_ np = py::module_::import("numpy");
    if (py::hasattr(obj, "__dlpack__")) {
        try {
            return np.attr("from_dlpack")(obj);
        } catch (py::error_already_set& e) {
            throw py::value_error(what + ": a " + type_name(obj) +
                                  " that NumPy cannot view through __dlpack__ (fastoptim reads "
                                  "CPU memory in place, never a copy): " +
                                  py::str(e.type().attr("__name__")).cast<std::string>() +
                                  ": " + py::str(e.value()).cast<std::string>());
        }
    }
    if (PyObject_CheckBuffer(obj.ptr()))
        return np.attr("asarray")(py::memoryview(py::reinterpret_borrow<py::object>(obj)));
    throw py::type_error(what + ": expected a numpy.ndarray (or a CPU array with __dlpack__ or "
                         "the buffer protocol), got " + type_name(obj));
}

std::string dtype_name(const py::array& a) { return py::str(a.dtype()).cast<std::string>(); }

std::string shape_str(const py::array& a) {
    return py::str(a.attr("shape")).cast<std::string>();
}

std::string strides_str(const py::array& a) {
    return py::str(a.attr("strides")).cast<std::string>();
}

std::string type_name(const py::handle& h) {
    return py::str(py::type::handle_of(h).attr("__name__")).cast<std::string>();
}

bool shapes_equal(const py::array& a, const py::array& b) {
    if (a.ndim() != b.ndim()) return false;
    for (py::ssize_t d = 0; d < a.ndim(); ++d)
        if (a.shape(d) != b.shape(d)) return false;
    return true;
}

}  // namespace fastoptim
