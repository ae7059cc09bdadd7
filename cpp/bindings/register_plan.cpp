// `Plan`: the arrays of one optimizer (params and their state buffers), validated once, and a
// `step(grads, coeffs, rows)` that validates the grads, releases the GIL and runs the kernel on
// every tensor in one multi-tensor call. No math here: the kernels own the update, the Python
// optimizer owns the coefficients.
//
// Arrays are taken as they are, never converted: pybind11's default forcecast would hand the
// kernel a silent copy and the update would be lost. Anything that does not fit is refused with
// a ValueError/TypeError naming the param, before any buffer is written.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "core/dispatch.hpp"
#include "core/parallel.hpp"

namespace py = pybind11;
using namespace fastoptim;

namespace {

std::string dtype_name(const py::array& a) { return py::str(a.dtype()).cast<std::string>(); }

std::string shape_str(const py::array& a) {
    return py::str(a.attr("shape")).cast<std::string>();
}

// float32 / float64 in native byte order, or -1.
int dtype_code(const py::array& a) {
    if (py::array_t<float>::check_(a)) return kFloat32;
    if (py::array_t<double>::check_(a)) return kFloat64;
    return -1;
}

bool is_c(const py::array& a) { return (a.flags() & py::array::c_style) != 0; }
bool is_f(const py::array& a) { return (a.flags() & py::array::f_style) != 0; }

std::string type_name(const py::handle& h) {
    return py::str(py::type::handle_of(h).attr("__name__")).cast<std::string>();
}

// A written memory range, for the overlap checks.
struct Interval {
    std::uintptr_t lo, hi;
    std::size_t tensor;
    int buffer;
};

struct Tensor {
    int dtype;
    bool c_order;        // contiguous in C order (else in Fortran order)
    std::int64_t n;
    char* bufs[kMaxBuffers];
};

class Plan {
   public:
    Plan(const std::string& kernel, const py::list& params, const py::dict& states,
         std::vector<std::string> labels)
        : labels_(std::move(labels)) {
        kernel_ = kernel_index(kernel.c_str());
        if (kernel_ < 0) throw py::value_error("unknown kernel '" + kernel + "'");
        const KernelSpec& spec = kernel_spec(kernel_);
        const std::size_t n = params.size();
        if (labels_.size() != n) throw py::value_error("labels and params differ in length");
        // State lists by buffer index (2.. of the spec); a missing name means "absent".
        std::vector<py::object> state_lists(spec.n_buffers);  // null: absent
        for (auto item : states) {
            const std::string name = py::str(item.first).cast<std::string>();
            int b = 2;
            while (b < spec.n_buffers && name != spec.buffers[b]) ++b;
            if (b == spec.n_buffers)
                throw py::value_error("kernel '" + kernel + "' has no state buffer '" + name + "'");
            if (!py::isinstance<py::list>(item.second))
                throw py::type_error("state '" + name + "' must be a list");
            py::list lst = py::reinterpret_borrow<py::list>(item.second);
            if (lst.size() != n)
                throw py::value_error("state '" + name + "' has " + std::to_string(lst.size()) +
                                      " entries for " + std::to_string(n) + " params");
            state_lists[b] = lst;
        }
        tensors_.reserve(n);
        params_.reserve(n);
        std::vector<Interval> written;
        for (std::size_t i = 0; i < n; ++i) {
            py::handle ph = params[i];
            if (!py::isinstance<py::array>(ph))
                throw py::type_error("param " + labels_[i] + ": expected a numpy.ndarray, got " +
                                     type_name(ph));
            py::array p = py::reinterpret_borrow<py::array>(ph);
            check_writable_float(p, i, "param");
            Tensor t{};
            t.dtype = dtype_code(p);
            t.c_order = is_c(p);
            t.n = static_cast<std::int64_t>(p.size());
            t.bufs[0] = static_cast<char*>(p.mutable_data());
            params_.push_back(p);
            for (int b = 2; b < spec.n_buffers; ++b) {
                if (!state_lists[b]) continue;
                py::handle sh = py::reinterpret_borrow<py::list>(state_lists[b])[i];
                if (sh.is_none()) continue;
                const std::string what = std::string("state '") + spec.buffers[b] + "'";
                if (!py::isinstance<py::array>(sh))
                    throw py::type_error(what + " of param " + labels_[i] +
                                         ": expected a numpy.ndarray, got " + type_name(sh));
                py::array s = py::reinterpret_borrow<py::array>(sh);
                check_writable_float(s, i, what.c_str());
                check_matches(p, s, i, what);
                t.bufs[b] = static_cast<char*>(s.mutable_data());
                held_.push_back(s);
            }
            for (int b = 0; b < spec.n_buffers; ++b) {
                if (b == 1 || !t.bufs[b] || t.n == 0) continue;
                const auto lo = reinterpret_cast<std::uintptr_t>(t.bufs[b]);
                const std::size_t item = t.dtype == kFloat32 ? 4 : 8;
                written.push_back({lo, lo + static_cast<std::uintptr_t>(t.n) * item, i, b});
            }
            tensors_.push_back(t);
        }
        std::sort(written.begin(), written.end(),
                  [](const Interval& a, const Interval& b) { return a.lo < b.lo; });
        for (std::size_t k = 1; k < written.size(); ++k) {
            if (written[k].lo < written[k - 1].hi)
                throw py::value_error(describe(written[k - 1]) + " and " + describe(written[k]) +
                                      " share memory; every param and state buffer must be its "
                                      "own array (pass each array once)");
        }
        written_ = std::move(written);
    }

    // Validates everything, then runs; raises before writing anything.
    void step(const py::sequence& grads, const py::sequence& coeffs, const py::array& rows) {
        std::vector<TensorTask> tasks;
        std::vector<py::array> grad_refs;  // keep the grads alive while the GIL is released
        std::vector<double> cbuf;
        prepare(grads, coeffs, rows, tasks, grad_refs, cbuf);
        const int threads = get_num_threads();
        // Safe without the GIL: every buffer is owned by an array referenced by this plan or by
        // grad_refs, numpy arrays cannot be resized while referenced, and nothing here touches
        // Python objects. Another Python thread writing the same arrays is the user's race.
        py::gil_scoped_release release;
        run_tasks(tasks, threads);
    }

    void check(const py::sequence& grads, const py::sequence& coeffs, const py::array& rows) {
        std::vector<TensorTask> tasks;
        std::vector<py::array> grad_refs;
        std::vector<double> cbuf;
        prepare(grads, coeffs, rows, tasks, grad_refs, cbuf);
    }

    std::size_t size() const { return tensors_.size(); }
    std::string kernel() const { return kernel_spec(kernel_).name; }

   private:
    void check_writable_float(const py::array& a, std::size_t i, const char* what) const {
        if (dtype_code(a) < 0)
            throw py::type_error(std::string(what) + " " + labels_[i] + ": dtype " +
                                 dtype_name(a) +
                                 " is not supported (float32 or float64 in native byte order)");
        if (!is_c(a) && !is_f(a))
            throw py::value_error(std::string(what) + " " + labels_[i] +
                                  " is not contiguous (strides " +
                                  py::str(a.attr("strides")).cast<std::string>() +
                                  "); an update through a copy would be lost, so pass a "
                                  "contiguous array");
        if (!a.writeable())
            throw py::value_error(std::string(what) + " " + labels_[i] +
                                  " is read-only; the optimizer updates it in place");
    }

    void check_matches(const py::array& p, const py::array& s, std::size_t i,
                       const std::string& what) const {
        if (dtype_code(s) != dtype_code(p))
            throw py::type_error(what + " of param " + labels_[i] + ": dtype " + dtype_name(s) +
                                 " does not match the param's " + dtype_name(p));
        if (!shapes_equal(p, s))
            throw py::value_error(what + " of param " + labels_[i] + ": shape " + shape_str(s) +
                                  " does not match the param's " + shape_str(p));
        if (!((is_c(p) && is_c(s)) || (is_f(p) && is_f(s))))
            throw py::value_error(what + " of param " + labels_[i] +
                                  ": memory order differs from the param's (one is C-, the "
                                  "other Fortran-contiguous)");
    }

    static bool shapes_equal(const py::array& a, const py::array& b) {
        if (a.ndim() != b.ndim()) return false;
        for (py::ssize_t d = 0; d < a.ndim(); ++d)
            if (a.shape(d) != b.shape(d)) return false;
        return true;
    }

    std::string describe(const Interval& iv) const {
        const KernelSpec& spec = kernel_spec(kernel_);
        if (iv.buffer == 0) return "param " + labels_[iv.tensor];
        return std::string("state '") + spec.buffers[iv.buffer] + "' of param " +
               labels_[iv.tensor];
    }

    // The first written interval overlapping [lo, hi), or nullptr.
    const Interval* overlapping(std::uintptr_t lo, std::uintptr_t hi) const {
        // written_ is sorted and disjoint, so the ends are sorted too.
        auto it = std::upper_bound(written_.begin(), written_.end(), lo,
                                   [](std::uintptr_t x, const Interval& iv) { return x < iv.hi; });
        if (it != written_.end() && it->lo < hi) return &*it;
        return nullptr;
    }

    // Coefficients: one row (a sequence of floats, in the kernel's order) per coefficient set.
    void read_coeffs(const py::sequence& coeffs, std::vector<double>& out) const {
        const KernelSpec& spec = kernel_spec(kernel_);
        out.clear();
        out.reserve(coeffs.size() * static_cast<std::size_t>(spec.n_coeffs));
        for (py::handle row_h : coeffs) {
            py::sequence row = py::reinterpret_borrow<py::sequence>(row_h);
            if (!PySequence_Check(row_h.ptr()) ||
                static_cast<int>(row.size()) != spec.n_coeffs)
                throw py::value_error("each coefficient row must hold " +
                                      std::to_string(spec.n_coeffs) + " floats");
            for (py::handle x : row) {
                const double v = PyFloat_AsDouble(x.ptr());
                if (v == -1.0 && PyErr_Occurred()) throw py::error_already_set();
                out.push_back(v);
            }
        }
    }

    void prepare(const py::sequence& grads, const py::sequence& coeffs, const py::array& rows,
                 std::vector<TensorTask>& tasks, std::vector<py::array>& grad_refs,
                 std::vector<double>& cbuf) const {
        const KernelSpec& spec = kernel_spec(kernel_);
        const std::size_t n = tensors_.size();
        if (grads.size() != n)
            throw py::value_error("expected " + std::to_string(n) + " grads (one per param), got " +
                                  std::to_string(grads.size()));
        read_coeffs(coeffs, cbuf);
        if (!py::array_t<std::int64_t>::check_(rows) || rows.ndim() != 1 || !is_c(rows) ||
            static_cast<std::size_t>(rows.shape(0)) != n)
            throw py::value_error("rows must be a contiguous int64 array with one entry per param");
        const double* cbase = cbuf.data();
        const std::int64_t* rbase = static_cast<const std::int64_t*>(rows.data());
        const std::int64_t n_rows = static_cast<std::int64_t>(coeffs.size());
        const KernelTable table = active_table();
        tasks.resize(n);
        grad_refs.reserve(n);
        for (std::size_t i = 0; i < n; ++i) {
            const Tensor& t = tensors_[i];
            const py::array& p = params_[i];
            if (!p.writeable())
                throw py::value_error("param " + labels_[i] +
                                      " has become read-only; the optimizer updates it in place");
            py::object gobj = grads[i];
            if (!py::isinstance<py::array>(gobj))
                throw py::type_error("grad of param " + labels_[i] +
                                     ": expected a numpy.ndarray, got " + type_name(gobj));
            py::array g = py::reinterpret_borrow<py::array>(gobj);
            if (dtype_code(g) != t.dtype)
                throw py::type_error("grad of param " + labels_[i] + ": dtype " + dtype_name(g) +
                                     " does not match the param's " + dtype_name(p) +
                                     " (no implicit casts: convert it with .astype)");
            if (!shapes_equal(p, g))
                throw py::value_error("grad of param " + labels_[i] + ": shape " + shape_str(g) +
                                      " does not match the param's " + shape_str(p));
            if (!((is_c(p) && is_c(g)) || (is_f(p) && is_f(g))))
                throw py::value_error(
                    "grad of param " + labels_[i] + " is not contiguous in the param's order " +
                    "(strides " + py::str(g.attr("strides")).cast<std::string>() +
                    "); pass np.ascontiguousarray(grad)" + (t.c_order ? "" : " in Fortran order"));
            const auto glo = reinterpret_cast<std::uintptr_t>(g.data());
            const std::size_t item = t.dtype == kFloat32 ? 4 : 8;
            if (t.n > 0) {
                if (const Interval* iv = overlapping(glo, glo + t.n * item))
                    throw py::value_error("grad of param " + labels_[i] + " shares memory with " +
                                          describe(*iv) + ", which the step writes");
            }
            const std::int64_t r = rbase[i];
            if (r < 0 || r >= n_rows)
                throw py::value_error("rows[" + std::to_string(i) + "] is out of range");
            const double* c = cbase + r * spec.n_coeffs;
            for (int b = 2; b < spec.n_buffers; ++b) {
                const int flag = spec.buffer_flag[b];
                if (t.bufs[b] || flag == kOptional) continue;
                if (flag == kRequired)
                    throw py::value_error(std::string("state '") + spec.buffers[b] +
                                          "' of param " + labels_[i] + " is missing");
                if (c[flag] != 0.0)
                    throw py::value_error(std::string("state '") + spec.buffers[b] +
                                          "' of param " + labels_[i] + " is missing but '" +
                                          spec.coeffs[flag] + "' is on");
            }
            TensorTask& task = tasks[i];
            task.fn = table.fns[kernel_ * kNumDTypes + t.dtype];
            task.coeffs = c;
            std::copy(t.bufs, t.bufs + kMaxBuffers, task.bufs);
            task.bufs[1] = static_cast<char*>(const_cast<void*>(g.data()));
            task.n = t.n;
            grad_refs.push_back(std::move(g));
        }
    }

    int kernel_ = -1;
    std::vector<std::string> labels_;
    std::vector<Tensor> tensors_;
    std::vector<py::array> params_;
    std::vector<py::array> held_;      // state arrays: referenced so they outlive the plan's use
    std::vector<Interval> written_;    // sorted, disjoint
};

}  // namespace

void register_plan(py::module_& m) {
    py::class_<Plan>(m, "Plan",
                     "The params and state buffers of one optimizer, validated once; "
                     "step(grads, coeffs, rows) updates them all in one native call.")
        .def(py::init<const std::string&, const py::list&, const py::dict&,
                      std::vector<std::string>>(),
             py::arg("kernel"), py::arg("params"), py::arg("states"), py::arg("labels"))
        .def("step", &Plan::step, py::arg("grads"), py::arg("coeffs"), py::arg("rows"),
             "Validate every grad, then update every param and state in place (GIL released).")
        .def("check", &Plan::check, py::arg("grads"), py::arg("coeffs"), py::arg("rows"),
             "The validation of step(), without running any kernel.")
        .def("__len__", &Plan::size)
        .def_property_readonly("kernel", &Plan::kernel);
}
