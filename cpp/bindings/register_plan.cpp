// `Plan`: the arrays of one optimizer (params, master weights and state buffers), validated
// once, and a `step(grads, coeffs, rows, keys)` that validates the grads, releases the GIL and
// runs the kernel on every tensor in one multi-tensor call. A grad of None skips its param (as
// torch skips params whose .grad is None): nothing of it is read or written. No math here: the kernels own the
// update, the Python optimizer owns the coefficients.
//
// Arrays are taken as they are, never converted: pybind11's default forcecast would hand the
// kernel a silent copy and the update would be lost. Anything that does not fit is refused with
// a ValueError/TypeError naming the param, before any buffer is written.
//
// Storage (cpp/core/kernel_api.hpp): a param is float32, float64, float16 or bfloat16. A 16-bit
// param may have a float32 "master_param" (then the kernel updates the master and writes the
// param as its rounding). State buffers of a float64 param are float64; of any other param
// float32, float16, bfloat16, or quantized: a (codes, scales) pair, codes int8 (signed) or uint8
// (unsigned) in the param's shape and order, scales float32 with one entry per kQ8Block
// elements. Grads have the param's dtype, or float32 for a param with a master, or a 16-bit
// dtype for a float32 param.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "bindings/arrays.hpp"
#include "core/dispatch.hpp"
#include "core/keys.hpp"
#include "core/parallel.hpp"

namespace py = pybind11;
using namespace fastoptim;

namespace {

constexpr const char* kMaster = "master_param";
// Steps of fewer elements (all tensors together) keep the GIL: see Plan::step.
constexpr std::int64_t kGilFreeMin = 8192;

// A written memory range, for the overlap checks.
struct Interval {
    std::uintptr_t lo, hi;
    std::size_t tensor;
    int buffer;  // kernel buffer index; -1 the 16-bit param of a master, -2 a Q8 buffer's scales
};

struct Tensor {
    int storage;          // the param's
    int compute;          // kComputeF32 / kComputeF64
    bool c_order;         // contiguous in C order (else in Fortran order)
    bool has_master;
    std::int64_t n;
    std::uint32_t id;     // stochastic rounding: the param's id
    std::int64_t index0;  // index of element 0 in the whole param
    Buffer bufs[kMaxBuffers];
    Buffer mirror;
};

std::int64_t n_blocks(std::int64_t n) { return (n + kQ8Block - 1) / kQ8Block; }

class Plan {
   public:
    Plan(const std::string& kernel, const py::list& params, const py::dict& states,
         std::vector<std::string> labels, const std::string& rounding, py::object ids,
         py::object offsets)
        : labels_(std::move(labels)) {
        kernel_ = kernel_index(kernel.c_str());
        if (kernel_ < 0) throw py::value_error("unknown kernel '" + kernel + "'");
        if (rounding == "nearest") rounding_ = kRoundNearest;
        else if (rounding == "stochastic") rounding_ = kRoundStochastic;
        else throw py::value_error("rounding must be 'nearest' or 'stochastic', got '" +
                                   rounding + "'");
        const KernelSpec& spec = kernel_spec(kernel_);
        const std::size_t n = params.size();
        if (labels_.size() != n) throw py::value_error("labels and params differ in length");
        std::vector<std::int64_t> id_list = optional_ints(ids, n, "ids");
        std::vector<std::int64_t> offset_list = optional_ints(offsets, n, "offsets");
        // State lists by buffer index (2.. of the spec; kMaxBuffers: the master); null: absent.
        std::vector<py::object> state_lists(kMaxBuffers + 1);
        for (auto item : states) {
            const std::string name = py::str(item.first).cast<std::string>();
            int b = 2;
            while (b < spec.n_buffers && name != spec.buffers[b]) ++b;
            if (name == kMaster) b = kMaxBuffers;
            else if (b == spec.n_buffers)
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
                                     type_name(ph) + " (params are updated in place, so they "
                                     "are never converted: a conversion may copy; pass a "
                                     "writable NumPy view of the memory, e.g. tensor.numpy(), "
                                     "or use fastoptim.torch for torch tensors)");
            py::array p = py::reinterpret_borrow<py::array>(ph);
            check_writable(p, i, "param", float_storage(p), kFloatStorages);
            Tensor t{};
            t.storage = float_storage(p);
            t.compute = t.storage == kF64 ? kComputeF64 : kComputeF32;
            t.c_order = is_c(p);
            t.n = static_cast<std::int64_t>(p.size());
            t.id = static_cast<std::uint32_t>(id_list.empty() ? i : id_list[i]);
            t.index0 = offset_list.empty() ? 0 : offset_list[i];
            // a multiple of the block, so the staged path's chunks (cut where the global index
            // crosses a multiple of 2^32) start on quantization blocks
            if (t.index0 < 0 || t.index0 % kQ8Block != 0)
                throw py::value_error("offsets must be >= 0 and multiples of " +
                                      std::to_string(kQ8Block));
            t.bufs[0].data = static_cast<char*>(p.mutable_data());
            t.bufs[0].storage = t.storage;
            params_.push_back(p);
            if (state_lists[kMaxBuffers]) {
                py::handle mh = py::reinterpret_borrow<py::list>(state_lists[kMaxBuffers])[i];
                if (!mh.is_none()) attach_master(t, p, mh, i);
            }
            for (int b = 2; b < spec.n_buffers; ++b) {
                if (!state_lists[b]) continue;
                py::handle sh = py::reinterpret_borrow<py::list>(state_lists[b])[i];
                if (!sh.is_none()) attach_state(t, p, sh, i, spec.buffers[b], t.bufs[b]);
            }
            if (t.n > 0) {
                for (int b = 0; b < spec.n_buffers; ++b) {
                    if (b == 1 || !t.bufs[b].data) continue;
                    add_interval(written, t.bufs[b].data, t.n * storage_bytes(t.bufs[b].storage),
                                 i, b);
                    if (t.bufs[b].scales)
                        add_interval(written, reinterpret_cast<char*>(t.bufs[b].scales),
                                     n_blocks(t.n) * 4, i, -2 - b);
                }
                if (t.mirror.data)
                    add_interval(written, t.mirror.data, t.n * storage_bytes(t.mirror.storage), i,
                                 -1);
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
    // Returns how many params were skipped (their grad was None).
    std::size_t step(const py::sequence& grads, const py::sequence& coeffs,
                     const py::array& rows, const py::object& keys) {
        std::vector<TensorTask> tasks;
        std::vector<py::array> grad_refs;  // keep the grads alive while the GIL is released
        std::vector<double> cbuf;
        prepare(grads, coeffs, rows, keys, tasks, grad_refs, cbuf);
        const int threads = get_num_threads();
        std::int64_t total = 0;
        for (const TensorTask& t : tasks) total += t.n;
        if (total < kGilFreeMin) {
            // a step of a few microseconds: releasing and re-taking the GIL would cost as much
            // as the update itself (measured: ~0.1 us of a ~1 us step), and no other Python
            // thread could do anything useful in the meantime
            run_tasks(tasks, threads);
        } else {
            // Safe without the GIL: every buffer is owned by an array referenced by this plan
            // or by grad_refs, numpy arrays cannot be resized while referenced, and nothing
            // here touches Python objects. Another Python thread writing the same arrays is
            // the user's race.
            py::gil_scoped_release release;
            run_tasks(tasks, threads);
        }
        return tasks.size() - grad_refs.size();
    }

    void check(const py::sequence& grads, const py::sequence& coeffs, const py::array& rows,
               const py::object& keys) {
        std::vector<TensorTask> tasks;
        std::vector<py::array> grad_refs;
        std::vector<double> cbuf;
        prepare(grads, coeffs, rows, keys, tasks, grad_refs, cbuf);
    }

    std::size_t size() const { return tensors_.size(); }
    std::string kernel() const { return kernel_spec(kernel_).name; }

   private:
    static std::vector<std::int64_t> optional_ints(const py::object& obj, std::size_t n,
                                                   const char* what) {
        if (obj.is_none()) return {};
        auto v = obj.cast<std::vector<std::int64_t>>();
        if (v.size() != n)
            throw py::value_error(std::string(what) + " must have one entry per param");
        return v;
    }

    void check_writable(const py::array& a, std::size_t i, const std::string& what, int storage,
                        const char* expected) const {
        if (storage < 0)
            throw py::type_error(what + " " + labels_[i] + ": dtype " + dtype_name(a) +
                                 " is not supported (" + expected + ")");
        if (!is_c(a) && !is_f(a))
            throw py::value_error(what + " " + labels_[i] + " is not contiguous (strides " +
                                  strides_str(a) +
                                  "); an update through a copy would be lost, so pass a "
                                  "contiguous array");
        if (!a.writeable())
            throw py::value_error(what + " " + labels_[i] +
                                  " is read-only; the optimizer updates it in place");
    }

    // Same shape and memory order as the param.
    void check_like(const py::array& p, const py::array& s, std::size_t i,
                    const std::string& what) const {
        if (!shapes_equal(p, s))
            throw py::value_error(what + " of param " + labels_[i] + ": shape " + shape_str(s) +
                                  " does not match the param's " + shape_str(p));
        if (p.ndim() > 1 && !((is_c(p) && is_c(s)) || (is_f(p) && is_f(s))))
            throw py::value_error(what + " of param " + labels_[i] +
                                  ": memory order differs from the param's (one is C-, the "
                                  "other Fortran-contiguous)");
    }

    void attach_master(Tensor& t, const py::array& p, py::handle mh, std::size_t i) {
        const std::string what = std::string("state '") + kMaster + "'";
        if (t.storage != kF16 && t.storage != kBF16)
            throw py::type_error(what + " of param " + labels_[i] + ": master weights are for "
                                 "float16/bfloat16 params, this one is " + dtype_name(p));
        if (!py::isinstance<py::array>(mh))
            throw py::type_error(what + " of param " + labels_[i] +
                                 ": expected a numpy.ndarray, got " + type_name(mh));
        py::array m = py::reinterpret_borrow<py::array>(mh);
        const int st = float_storage(m);
        check_writable(m, i, what + " of param", st, "float32");
        if (st != kF32)
            throw py::type_error(what + " of param " + labels_[i] + ": dtype " + dtype_name(m) +
                                 " is not float32");
        check_like(p, m, i, what);
        t.has_master = true;
        t.mirror = t.bufs[0];
        t.bufs[0].data = static_cast<char*>(m.mutable_data());
        t.bufs[0].storage = kF32;
        held_.push_back(m);
    }

    void attach_state(Tensor& t, const py::array& p, py::handle sh, std::size_t i,
                      const char* name, Buffer& out) {
        const std::string what = std::string("state '") + name + "'";
        const std::string of = what + " of param " + labels_[i];
        if (py::isinstance<py::tuple>(sh)) {  // quantized: (codes, scales)
            py::tuple pair = py::reinterpret_borrow<py::tuple>(sh);
            if (pair.size() != 2 || !py::isinstance<py::array>(pair[0]) ||
                !py::isinstance<py::array>(pair[1]))
                throw py::type_error(of + ": a quantized buffer is a (codes, scales) pair of "
                                     "numpy arrays");
            if (t.compute == kComputeF64)
                throw py::type_error(of + ": float64 params keep float64 state (no quantized "
                                     "state)");
            py::array codes = py::reinterpret_borrow<py::array>(pair[0]);
            py::array scales = py::reinterpret_borrow<py::array>(pair[1]);
            const int st = code_storage(codes);
            check_writable(codes, i, what + " codes of param", st, "int8 or uint8 codes");
            check_like(p, codes, i, what + " codes");
            if (!py::array_t<float>::check_(scales) || scales.ndim() != 1 || !is_c(scales) ||
                !scales.writeable() || scales.shape(0) != n_blocks(t.n))
                throw py::value_error(of + ": scales must be a writeable contiguous float32 "
                                      "array of " + std::to_string(n_blocks(t.n)) +
                                      " entries (one per " + std::to_string(kQ8Block) +
                                      " elements), got " + dtype_name(scales) + " of shape " +
                                      shape_str(scales));
            out.data = static_cast<char*>(codes.mutable_data());
            out.scales = static_cast<float*>(scales.mutable_data());
            out.storage = st;
            held_.push_back(codes);
            held_.push_back(scales);
            return;
        }
        if (!py::isinstance<py::array>(sh))
            throw py::type_error(of + ": expected a numpy.ndarray, got " + type_name(sh));
        py::array s = py::reinterpret_borrow<py::array>(sh);
        const int st = float_storage(s);
        check_writable(s, i, what + " of param", st, kFloatStorages);
        if (t.compute == kComputeF64 ? st != kF64 : st == kF64)
            throw py::type_error(of + ": dtype " + dtype_name(s) + " does not go with the "
                                 "param's " + dtype_name(p) +
                                 (t.compute == kComputeF64
                                      ? " (float64 params keep float64 state)"
                                      : " (float64 state is for float64 params)"));
        check_like(p, s, i, what);
        out.data = static_cast<char*>(s.mutable_data());
        out.storage = st;
        held_.push_back(s);
    }

    static void add_interval(std::vector<Interval>& w, char* data, std::int64_t bytes,
                             std::size_t i, int b) {
        const auto lo = reinterpret_cast<std::uintptr_t>(data);
        w.push_back({lo, lo + static_cast<std::uintptr_t>(bytes), i, b});
    }

    std::string describe(const Interval& iv) const {
        const KernelSpec& spec = kernel_spec(kernel_);
        const Tensor& t = tensors_.size() > iv.tensor ? tensors_[iv.tensor] : Tensor{};
        const std::string of = " of param " + labels_[iv.tensor];
        if (iv.buffer == -1) return "param " + labels_[iv.tensor];
        if (iv.buffer <= -2)
            return std::string("the scales of state '") + spec.buffers[-2 - iv.buffer] + "'" + of;
        if (iv.buffer == 0)
            return t.has_master ? std::string("state '") + kMaster + "'" + of
                                : "param " + labels_[iv.tensor];
        return std::string("state '") + spec.buffers[iv.buffer] + "'" + of;
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
            if (!PySequence_Check(row_h.ptr()) ||
                static_cast<int>(py::len(row_h)) != spec.n_coeffs)
                throw py::value_error("each coefficient row must hold " +
                                      std::to_string(spec.n_coeffs) + " floats");
            py::sequence row = py::reinterpret_borrow<py::sequence>(row_h);
            for (py::handle x : row) {
                const double v = PyFloat_AsDouble(x.ptr());
                if (v == -1.0 && PyErr_Occurred()) throw py::error_already_set();
                out.push_back(v);
            }
        }
    }

    // Returns the grad's storage.
    int check_grad(const Tensor& t, const py::array& p, const py::object& gobj,
                   std::size_t i) const {
        if (!py::isinstance<py::array>(gobj))
            throw py::type_error("grad of param " + labels_[i] +
                                 ": expected a numpy.ndarray, got " + type_name(gobj));
        const py::array g = py::reinterpret_borrow<py::array>(gobj);
        const int gs = float_storage(g);
        // the param's dtype; float32 for a 16-bit param with a master; float16/bfloat16 for a
        // float32 param (the kernel reads them exactly, e.g. grads from a 16-bit backward)
        const bool half = gs == kF16 || gs == kBF16;
        if (gs != t.storage && !(t.has_master && gs == kF32) && !(t.storage == kF32 && half))
            throw py::type_error("grad of param " + labels_[i] + ": dtype " + dtype_name(g) +
                                 " does not match the param's " + dtype_name(p) +
                                 (t.has_master ? " (or float32, with master weights)" : "") +
                                 (t.storage == kF32 ? " (or float16/bfloat16)" : "") +
                                 " (no implicit casts: convert it with .astype)");
        if (!shapes_equal(p, g))
            throw py::value_error("grad of param " + labels_[i] + ": shape " + shape_str(g) +
                                  " does not match the param's " + shape_str(p));
        if (!((is_c(p) && is_c(g)) || (is_f(p) && is_f(g))))
            throw py::value_error(
                "grad of param " + labels_[i] + " is not contiguous in the param's order " +
                "(strides " + strides_str(g) + "); pass np.ascontiguousarray(grad)" +
                (t.c_order ? "" : " in Fortran order"));
        const auto glo = reinterpret_cast<std::uintptr_t>(g.data());
        if (t.n > 0) {
            if (const Interval* iv = overlapping(glo, glo + t.n * storage_bytes(gs)))
                throw py::value_error("grad of param " + labels_[i] + " shares memory with " +
                                      describe(*iv) + ", which the step writes");
        }
        return gs;
    }

    void prepare(const py::sequence& grads, const py::sequence& coeffs, const py::array& rows,
                 const py::object& keys, std::vector<TensorTask>& tasks,
                 std::vector<py::array>& grad_refs, std::vector<double>& cbuf) const {
        const KernelSpec& spec = kernel_spec(kernel_);
        const std::size_t n = tensors_.size();
        if (grads.size() != n)
            throw py::value_error("expected " + std::to_string(n) + " grads (one per param), got " +
                                  std::to_string(grads.size()));
        read_coeffs(coeffs, cbuf);
        if (!py::array_t<std::int64_t>::check_(rows) || rows.ndim() != 1 || !is_c(rows) ||
            static_cast<std::size_t>(rows.shape(0)) != n)
            throw py::value_error("rows must be a contiguous int64 array with one entry per param");
        const std::int64_t n_rows = static_cast<std::int64_t>(coeffs.size());
        std::vector<std::int64_t> row_keys;
        if (!keys.is_none()) {
            row_keys = keys.cast<std::vector<std::int64_t>>();
            if (static_cast<std::int64_t>(row_keys.size()) != n_rows)
                throw py::value_error("keys must have one entry per coefficient row");
        } else if (rounding_ == kRoundStochastic) {
            throw py::value_error("stochastic rounding needs keys (one per coefficient row)");
        }
        const double* cbase = cbuf.data();
        const std::int64_t* rbase = static_cast<const std::int64_t*>(rows.data());
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
            TensorTask& task = tasks[i];
            if (gobj.is_none()) {  // torch: a param without a grad is skipped, state untouched
                task.fn = nullptr;
                task.n = 0;
                continue;
            }
            if (!py::isinstance<py::array>(gobj))  // any CPU array, viewed without a copy
                gobj = readable_array(gobj, "grad of param " + labels_[i]);
            const int gs = check_grad(t, p, gobj, i);
            py::array g = py::reinterpret_borrow<py::array>(gobj);
            const std::int64_t r = rbase[i];
            if (r < 0 || r >= n_rows)
                throw py::value_error("rows[" + std::to_string(i) + "] is out of range");
            const double* c = cbase + r * spec.n_coeffs;
            for (int b = 2; b < spec.n_buffers; ++b) {
                const int flag = spec.buffer_flag[b];
                if (t.bufs[b].data || flag == kOptional) continue;
                if (flag == kRequired)
                    throw py::value_error(std::string("state '") + spec.buffers[b] +
                                          "' of param " + labels_[i] + " is missing");
                if (c[flag] != 0.0)
                    throw py::value_error(std::string("state '") + spec.buffers[b] +
                                          "' of param " + labels_[i] + " is missing but '" +
                                          spec.coeffs[flag] + "' is on");
            }
            task.fn = table.fns[kernel_ * kNumCompute + t.compute];
            task.n = t.n;
            KernelArgs& a = task.args;
            a.coeffs = c;
            std::copy(t.bufs, t.bufs + kMaxBuffers, a.bufs);
            a.bufs[1].data = static_cast<char*>(const_cast<void*>(g.data()));
            a.bufs[1].storage = gs;
            a.mirror = t.mirror;
            a.rounding = rounding_;
            a.seed = row_keys.empty()
                         ? 0
                         : tensor_key(static_cast<std::uint32_t>(row_keys[r]), t.id);
            a.index0 = t.index0;
            grad_refs.push_back(std::move(g));
        }
    }

    int kernel_ = -1;
    int rounding_ = kRoundNearest;
    std::vector<std::string> labels_;
    std::vector<Tensor> tensors_;
    std::vector<py::array> params_;
    std::vector<py::array> held_;      // master and state arrays: referenced while in use
    std::vector<Interval> written_;    // sorted, disjoint
};

}  // namespace

void register_plan(py::module_& m) {
    py::class_<Plan>(m, "Plan",
                     "The params and state buffers of one optimizer, validated once; "
                     "step(grads, coeffs, rows, keys) updates them all in one native call.")
        .def(py::init<const std::string&, const py::list&, const py::dict&,
                      std::vector<std::string>, const std::string&, py::object, py::object>(),
             py::arg("kernel"), py::arg("params"), py::arg("states"), py::arg("labels"),
             py::arg("rounding") = "nearest", py::arg("ids") = py::none(),
             py::arg("offsets") = py::none())
        .def("step", &Plan::step, py::arg("grads"), py::arg("coeffs"), py::arg("rows"),
             py::arg("keys") = py::none(),
             "Validate every grad, then update every param and state in place (GIL released); "
             "returns how many params were skipped (grad None).")
        .def("check", &Plan::check, py::arg("grads"), py::arg("coeffs"), py::arg("rows"),
             py::arg("keys") = py::none(), "The validation of step(), without running any kernel.")
        .def("__len__", &Plan::size)
        .def_property_readonly("kernel", &Plan::kernel);
}
