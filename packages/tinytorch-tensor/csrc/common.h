// common.h: small helpers shared by the binding code (not by the ISA kernels: see gemm.h).
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>

namespace tt {

namespace py = pybind11;

// "(32, 100)" from a numpy array's shape, for error messages.
inline std::string shape_str(const py::array& x) {
    std::string s = "(";
    for (py::ssize_t i = 0; i < x.ndim(); ++i) {
        if (i) s += ", ";
        s += std::to_string(x.shape(i));
    }
    if (x.ndim() == 1) s += ",";
    return s + ")";
}

// numpy's dtype string, e.g. "float64", for error messages.
inline std::string dtype_str(const py::array& x) { return py::str(x.dtype()).cast<std::string>(); }

// A 64-byte aligned float buffer (one cache line, and the width of a zmm register), so packed
// panels can be read with aligned vector loads and never straddle cache lines needlessly.
struct AlignedFree {
    void operator()(float* p) const { std::free(p); }
};
using AlignedFloats = std::unique_ptr<float[], AlignedFree>;

inline AlignedFloats aligned_floats(std::int64_t n) {
    std::size_t bytes = static_cast<std::size_t>(n > 0 ? n : 1) * sizeof(float);
    bytes = (bytes + 63) / 64 * 64;  // aligned_alloc wants a multiple of the alignment
    void* p = std::aligned_alloc(64, bytes);
    if (!p) throw std::bad_alloc();
    return AlignedFloats(static_cast<float*>(p));
}

// The exception a course stub throws in place of a solution region (see docs/tito.md):
// module.cpp registers it with pybind11 as Python's NotImplementedError, so a student's
// unfinished C++ kernel fails exactly like an unfinished Python one. Throw it before entering
// an OpenMP parallel region (an exception must not escape one).
class NotImplemented : public std::runtime_error {
public:
    explicit NotImplemented(const std::string& what) : std::runtime_error(what) {}
};

// Registration hooks, one per kernel family; module.cpp calls them all.
void register_runtime(py::module_& m);
void register_gemm(py::module_& m);
void register_copy(py::module_& m);
void register_conv(py::module_& m);
void register_pool(py::module_& m);
void register_norm(py::module_& m);
void register_softmax(py::module_& m);
void register_activation(py::module_& m);
void register_attention(py::module_& m);
void register_embedding(py::module_& m);
void register_optim(py::module_& m);

}  // namespace tt
