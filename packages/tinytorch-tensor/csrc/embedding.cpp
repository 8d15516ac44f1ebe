// embedding.cpp: the embedding lookup (a row gather) and its gradient (a row scatter-add).
//
// Forward: out[n, :] = weight[idx[n], :] for every index n (indices of any shape, flattened to N).
// Each output row is one contiguous copy of D floats, so the gather is a loop of memcpy's,
// threaded over n: pure memory traffic, no arithmetic.
//
// Backward: dW[v, :] = sum of grad[n, :] over every n with idx[n] == v (and v != padding_idx).
// The same id usually appears many times in a batch (common tokens, every position of a
// position table), so a parallel loop over n would have two threads add into the same row at
// once: a race, and atomics on floats would be slow and make the sum's order (hence its
// rounding) depend on timing. Instead the threads split the *destination* rows: a task owns
// the ids [v_t, v_{t+1}) and scans all N indices, adding only those it owns. No two threads
// ever write one row, no atomics, and every row adds its contributions in increasing n, the
// same order as the one-thread reference, so the result is bitwise identical whatever the
// thread count. The split points come from a histogram of the indices (prefix sums of the
// per-id counts), so each of the 4 * threads ranges gets about the same number of rows to add
// even when a few ids are very frequent (one id still goes to one range). Rescanning the
// indices costs N integer compares per range, small beside the N * D float additions.
//
// Every index is checked against V before any work (an IndexError names the op, the index and
// V): a bad id must never read or write outside the table.
#include <algorithm>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "common.h"
#include "gemm.h"  // active_num_threads
#include "simd.h"


namespace tt {

namespace {

using i64 = std::int64_t;
using Floats = py::array_t<float, py::array::c_style | py::array::forcecast>;
using Ids = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>;

// Below this many floats moved, run on one thread (a parallel region costs microseconds).
constexpr i64 kMinToThread = i64(1) << 15;

// dst += src, one row of D floats.
TT_CLONES void add_row(float* dst, const float* src, i64 d) {
    for (i64 j = 0; j < d; ++j) dst[j] += src[j];
}

std::string shape_of(const std::vector<i64>& shape) {
    std::string s = "(";
    for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + (shape.size() == 1 ? ",)" : ")");
}

// Integer indices as a C-contiguous int64 array (floats are refused, not truncated).
Ids int64_indices(const char* op, const py::array& indices) {
    const char kind = indices.dtype().kind();
    if (kind != 'i' && kind != 'u')
        throw py::type_error(std::string(op) + ": indices must be integers (int64), got " +
                             dtype_str(indices));
    return Ids::ensure(indices);
}

// Every id in [0, V); else IndexError naming the op, the first bad id, V and the shapes.
void check_ids(const char* op, const std::int64_t* ids, i64 n, i64 V, const std::string& where) {
    for (i64 i = 0; i < n; ++i)
        if (ids[i] < 0 || ids[i] >= V)
            throw py::index_error(std::string(op) + ": index " + std::to_string(ids[i]) +
                                  " is out of range for " + std::to_string(V) +
                                  " embeddings (valid ids are 0.." + std::to_string(V - 1) + "; " +
                                  where + ")");
}

int threads_for(i64 work) {
#if defined(_OPENMP)
    return work >= kMinToThread ? std::max(1, active_num_threads()) : 1;
#else
    (void)work;
    return 1;
#endif
}

// ---------------------------------------------------------------------------------------------
// Gather. weight: (V, D), ids: (N,) -> out: (N, D)

void gather_fast(const float* weight, i64 D, const std::int64_t* ids, i64 N, float* out) {
    const int nt = threads_for(N * D);
    (void)nt;  // unused without OpenMP
    // Dynamic chunks of rows: on a shared machine a thread that loses its core for a moment
    // does not hold the others up (a static split would wait for it).
#pragma omp parallel for schedule(dynamic, 64) num_threads(nt) if (nt > 1)
    for (i64 n = 0; n < N; ++n) std::memcpy(out + n * D, weight + ids[n] * D, sizeof(float) * D);
}

void gather_naive(const float* weight, i64 D, const std::int64_t* ids, i64 N, float* out) {
    for (i64 n = 0; n < N; ++n)
        for (i64 j = 0; j < D; ++j) out[n * D + j] = weight[ids[n] * D + j];
}

// ---------------------------------------------------------------------------------------------
// Scatter-add. grad: (N, D), ids: (N,) -> dw: (V, D); rows of padding_idx (if >= 0) stay 0.

void scatter_fast(const float* grad, i64 D, const std::int64_t* ids, i64 N, i64 V, i64 pad,
                  float* dw) {
    const int nt = threads_for(N * D + V * D);
    if (nt <= 1 || V <= 1) {
        std::memset(dw, 0, sizeof(float) * V * D);
        for (i64 n = 0; n < N; ++n)
            if (ids[n] != pad) add_row(dw + ids[n] * D, grad + n * D, D);
        return;
    }
    // Split the ids [0, V) into `parts` ranges holding about the same number of contributions
    // (4 per thread, handed out dynamically, so that a thread that loses its core for a moment
    // on a busy machine does not hold the others up; each range rescans the N indices).
    const i64 parts = std::min<i64>(V, 4 * nt);
    std::vector<i64> count(static_cast<std::size_t>(V), 0);
    i64 total = 0;
    for (i64 n = 0; n < N; ++n)
        if (ids[n] != pad) ++count[ids[n]], ++total;
    // split[t] = the first id of range t: where the running count passes t/parts of the total.
    std::vector<i64> split(static_cast<std::size_t>(parts) + 1, V);
    split[0] = 0;
    i64 seen = 0, t = 1;
    for (i64 v = 0; v < V && t < parts; ++v) {
        seen += count[v];
        while (t < parts && seen * parts >= total * t) split[t++] = v + 1;
    }
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
    for (i64 part = 0; part < parts; ++part) {
        const i64 lo = split[part], hi = split[part + 1];
        std::memset(dw + lo * D, 0, sizeof(float) * (hi - lo) * D);  // first touch by the owner
        for (i64 n = 0; n < N; ++n) {
            const i64 v = ids[n];
            if (v >= lo && v < hi && v != pad) add_row(dw + v * D, grad + n * D, D);
        }
    }
}

void scatter_naive(const float* grad, i64 D, const std::int64_t* ids, i64 N, i64 V, i64 pad,
                   float* dw) {
    for (i64 i = 0; i < V * D; ++i) dw[i] = 0.0f;
    for (i64 n = 0; n < N; ++n)
        if (ids[n] != pad)
            for (i64 j = 0; j < D; ++j) dw[ids[n] * D + j] += grad[n * D + j];
}

// ---------------------------------------------------------------------------------------------
// Python entry points.

template <bool Naive>
py::array_t<float> embedding_gather(const Floats& weight, const py::array& indices) {
    const char* op = Naive ? "embedding_gather_naive" : "embedding_gather";
    if (weight.ndim() != 2)
        throw py::value_error(std::string(op) + ": weight must be 2-D (num_embeddings, dim), got " +
                              "shape " + shape_str(weight));
    const Ids ids = int64_indices(op, indices);
    const i64 V = weight.shape(0), D = weight.shape(1), N = ids.size();
    check_ids(op, ids.data(), N, V, "weight " + shape_str(weight) + ", indices " + shape_str(ids));
    std::vector<py::ssize_t> shape(ids.shape(), ids.shape() + ids.ndim());
    shape.push_back(D);
    py::array_t<float> out(shape);
    float* op_ = out.mutable_data();
    {
        py::gil_scoped_release nogil;
        (Naive ? gather_naive : gather_fast)(weight.data(), D, ids.data(), N, op_);
    }
    return out;
}

template <bool Naive>
py::array_t<float> embedding_scatter_add(const Floats& grad, const py::array& indices,
                                         i64 num_embeddings, std::optional<i64> padding_idx) {
    const char* op = Naive ? "embedding_scatter_add_naive" : "embedding_scatter_add";
    const Ids ids = int64_indices(op, indices);
    const i64 V = num_embeddings;
    if (V < 0) throw py::value_error(std::string(op) + ": num_embeddings must be >= 0");
    std::vector<i64> expect(ids.shape(), ids.shape() + ids.ndim());
    const bool fits = grad.ndim() == ids.ndim() + 1 &&
                      std::equal(expect.begin(), expect.end(), grad.shape());
    if (!fits)
        throw py::value_error(std::string(op) + ": grad of shape " + shape_str(grad) +
                              " does not fit indices of shape " + shape_str(ids) +
                              ": expected the indices' shape " + shape_of(expect) +
                              " plus the embedding dim");
    const i64 D = grad.shape(grad.ndim() - 1), N = ids.size();
    check_ids(op, ids.data(), N, V, "indices " + shape_str(ids) + ", grad " + shape_str(grad));
    const i64 pad = padding_idx ? *padding_idx : -1;
    if (padding_idx && (pad < 0 || pad >= V))
        throw py::value_error(std::string(op) + ": padding_idx " + std::to_string(pad) +
                              " is out of range for " + std::to_string(V) + " embeddings");
    py::array_t<float> dw({V, D});
    float* dp = dw.mutable_data();
    {
        py::gil_scoped_release nogil;
        (Naive ? scatter_naive : scatter_fast)(grad.data(), D, ids.data(), N, V, pad, dp);
    }
    return dw;
}

}  // namespace

void register_embedding(py::module_& m) {
    m.def("embedding_gather", &embedding_gather<false>, py::arg("weight"), py::arg("indices"),
          R"doc(Embedding lookup: ``weight[indices]``, rows of a float32 (V, D) table.

indices: integers of any shape, each in [0, V). Returns (*indices.shape, D) float32.
Raises IndexError naming the first bad index and V, TypeError for non-integer indices,
ValueError if weight is not 2-D. Threaded over the rows; releases the GIL.)doc");
    m.def("embedding_gather_naive", &embedding_gather<true>, py::arg("weight"),
          py::arg("indices"), "Reference for embedding_gather: a plain double loop, one thread.");
    m.def("embedding_scatter_add", &embedding_scatter_add<false>, py::arg("grad"),
          py::arg("indices"), py::arg("num_embeddings"), py::arg("padding_idx") = py::none(),
          R"doc(Embedding gradient (V, D): row v sums ``grad[n]`` over n with ``indices[n] == v``.

grad: (*indices.shape, D) float32. Positions whose index equals padding_idx add nothing.
Threads split the destination rows (balanced by a histogram of the indices), so there are no
races or atomics and the sums are bitwise the same for any thread count. Raises IndexError
for an index outside [0, num_embeddings), ValueError for mismatched shapes.)doc");
    m.def("embedding_scatter_add_naive", &embedding_scatter_add<true>, py::arg("grad"),
          py::arg("indices"), py::arg("num_embeddings"), py::arg("padding_idx") = py::none(),
          "Reference for embedding_scatter_add: one thread, in index order.");
}

}  // namespace tt
