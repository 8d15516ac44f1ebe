// copy.cpp: strided copies -> C-contiguous arrays, and the cache-blocked transpose.
//
// `contiguous(x)` is what makes a view (a slice, a transpose, a broadcast) into a fresh row-major
// array. Two tricks:
//
// 1. Merge dimensions first. If dim d's stride equals size(d+1) * stride(d+1), dims d and d+1
//    walk memory as one longer dimension, so (2, 3, 4) contiguous becomes one run of 24 elements
//    (a memcpy), and a slice x[:, ::2] of a 3-D array loses a loop level. Size-1 dims vanish.
//
// 2. Blocked transpose for the last two dims when the source is column-major-ish (the row stride
//    is the small one, e.g. x.T). Copying row by row then reads down a column: every element is
//    on a new cache line (and for large strides a new page), and by the time we come back for
//    the next column those lines are evicted: ~16x the memory traffic for float32. Instead copy
//    T x T tiles: read T source lines, write T destination lines, all of which stay in L1 until
//    the tile is done. T = 32 elements: a float32 tile is 32 * 32 * 4 = 4 KiB per side, so
//    source + destination (8 KiB, 64 cache lines plus 32 TLB entries) fit easily in a 32-48 KiB
//    L1d with room to spare, and every tile row is at least 2 full cache lines (for 1- and
//    2-byte types T = 64, so a tile row is still a whole 64-byte line).
//
// Elements are copied as raw 1/2/4/8-byte words: the copy is the same for every dtype of a size.
#include <cstring>
#include <string>
#include <vector>

#include "common.h"

namespace tt {

namespace {

using i64 = std::int64_t;
constexpr int kMaxDims = 8;

// Byte strides may be unaligned for the word type (numpy allows odd strides), so copy through
// memcpy, which compiles to a single load/store on x86 and arm64.
template <typename W>
inline void copy_word(char* dst, const char* src) {
    W w;
    std::memcpy(&w, src, sizeof(W));
    std::memcpy(dst, &w, sizeof(W));
}

// dst: (rows, cols) contiguous. src: (rows, cols) with byte strides (rs, cs).
template <typename W>
void copy_2d(i64 rows, i64 cols, const char* src, i64 rs, i64 cs, char* dst) {
    constexpr i64 E = sizeof(W);
    const i64 ars = rs < 0 ? -rs : rs, acs = cs < 0 ? -cs : cs;
    if (cs == E && rs == cols * E) {  // already contiguous: one memcpy
        std::memcpy(dst, src, rows * cols * E);
        return;
    }
    if (ars >= acs || ars == 0 || rows < 2 || cols < 2) {
        // Row-major-ish (reading along a row is the short stride), or every row is the same
        // row (rs == 0, a broadcast): copy row by row.
        for (i64 i = 0; i < rows; ++i) {
            const char* s = src + i * rs;
            char* d = dst + i * cols * E;
            if (cs == E) {
                std::memcpy(d, s, cols * E);
            } else {
                for (i64 j = 0; j < cols; ++j) copy_word<W>(d + j * E, s + j * cs);
            }
        }
        return;
    }
    // Column-major-ish (rs is the short stride): blocked transpose, T x T tiles.
    constexpr i64 T = E <= 2 ? 64 : 32;
    for (i64 i0 = 0; i0 < rows; i0 += T) {
        const i64 i1 = i0 + T < rows ? i0 + T : rows;
        for (i64 j0 = 0; j0 < cols; j0 += T) {
            const i64 j1 = j0 + T < cols ? j0 + T : cols;
            // Inside a tile walk down the columns: the source reads are then (nearly)
            // sequential, and the T destination rows being written all stay in L1.
            for (i64 j = j0; j < j1; ++j)
                for (i64 i = i0; i < i1; ++i)
                    copy_word<W>(dst + (i * cols + j) * E, src + i * rs + j * cs);
        }
    }
}

// dst: shape, C-contiguous. src: shape with byte strides. ndim >= 2 after normalization.
template <typename W>
void copy_nd(int ndim, const i64* shape, const i64* strides, const char* src, char* dst) {
    constexpr i64 E = sizeof(W);
    const i64 rows = shape[ndim - 2], cols = shape[ndim - 1];
    const i64 rs = strides[ndim - 2], cs = strides[ndim - 1];
    const int outer = ndim - 2;
    i64 n_outer = 1;
    for (int d = 0; d < outer; ++d) n_outer *= shape[d];
    // Odometer over the outer dims: idx is the multi-index, off the source byte offset.
    i64 idx[kMaxDims] = {0};
    i64 off = 0;
    for (i64 t = 0; t < n_outer; ++t) {
        copy_2d<W>(rows, cols, src + off, rs, cs, dst + t * rows * cols * E);
        for (int d = outer - 1; d >= 0; --d) {
            if (++idx[d] < shape[d]) {
                off += strides[d];
                break;
            }
            off -= (shape[d] - 1) * strides[d];
            idx[d] = 0;
        }
    }
}

// Drop size-1 dims and merge dims that are contiguous with each other (see the header). Works in
// place on shape/strides; returns the new ndim (at least 2: missing dims are size 1 in front).
int normalize(int ndim, i64* shape, i64* strides) {
    int n = 0;
    for (int d = 0; d < ndim; ++d) {
        if (shape[d] == 1) continue;
        if (n > 0 && strides[n - 1] == shape[d] * strides[d]) {
            shape[n - 1] *= shape[d];
            strides[n - 1] = strides[d];
        } else {
            shape[n] = shape[d];
            strides[n] = strides[d];
            ++n;
        }
    }
    if (n >= 2) return n;
    // Pad in front to 2-D: (1, k) or (1, 1).
    const i64 s0 = n == 1 ? shape[0] : 1, st0 = n == 1 ? strides[0] : 0;
    shape[0] = 1, strides[0] = 0;
    shape[1] = s0, strides[1] = st0;
    return 2;
}

void check_copyable(const char* op, const py::array& x) {
    const char kind = x.dtype().kind();
    const auto size = x.itemsize();
    const bool kind_ok = kind == 'b' || kind == 'i' || kind == 'u' || kind == 'f' || kind == 'c' ||
                         kind == 'm' || kind == 'M';
    if (!kind_ok || !(size == 1 || size == 2 || size == 4 || size == 8))
        throw py::type_error(std::string(op) + ": unsupported dtype " + dtype_str(x) +
                             " (numeric or bool with itemsize 1, 2, 4 or 8)");
    if (x.ndim() > kMaxDims)
        throw py::value_error(std::string(op) + ": at most " + std::to_string(kMaxDims) +
                              " dimensions, got shape " + shape_str(x));
}

template <typename Fn>
void dispatch_itemsize(py::ssize_t size, Fn&& fn) {
    switch (size) {
        case 1: fn(std::uint8_t{}); break;
        case 2: fn(std::uint16_t{}); break;
        case 4: fn(std::uint32_t{}); break;
        default: fn(std::uint64_t{}); break;
    }
}

// x: any shape, any strides -> same shape, C-contiguous copy.
py::array contiguous(const py::array& x) {
    check_copyable("contiguous", x);
    const int ndim = static_cast<int>(x.ndim());
    std::vector<py::ssize_t> out_shape(x.shape(), x.shape() + ndim);
    py::array out(x.dtype(), out_shape);
    if (x.size() == 0) return out;
    i64 shape[kMaxDims + 2], strides[kMaxDims + 2];
    for (int d = 0; d < ndim; ++d) shape[d] = x.shape(d), strides[d] = x.strides(d);
    const char* src = static_cast<const char*>(x.data());
    char* dst = static_cast<char*>(out.mutable_data());
    {
        py::gil_scoped_release nogil;
        const int n = normalize(ndim, shape, strides);
        dispatch_itemsize(x.itemsize(), [&](auto w) {
            copy_nd<decltype(w)>(n, shape, strides, src, dst);
        });
    }
    return out;
}

// x: (M, N) -> (N, M) contiguous
py::array transpose2d(const py::array& x) {
    check_copyable("transpose2d", x);
    if (x.ndim() != 2)
        throw py::value_error("transpose2d: expected a 2-D array, got shape " + shape_str(x));
    const i64 M = x.shape(0), N = x.shape(1);
    py::array out(x.dtype(), std::vector<py::ssize_t>{N, M});
    if (x.size() == 0) return out;
    // The transpose is a copy of the view x.T: shape (N, M), strides swapped.
    i64 shape[2] = {N, M}, strides[2] = {x.strides(1), x.strides(0)};
    const char* src = static_cast<const char*>(x.data());
    char* dst = static_cast<char*>(out.mutable_data());
    {
        py::gil_scoped_release nogil;
        dispatch_itemsize(x.itemsize(), [&](auto w) {
            copy_2d<decltype(w)>(shape[0], shape[1], src, strides[0], strides[1], dst);
        });
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// Naive references: one element at a time in output order, no merging, no blocking.

template <typename W>
void copy_naive(int ndim, const i64* shape, const i64* strides, const char* src, char* dst,
                i64 total) {
    i64 idx[kMaxDims] = {0};
    for (i64 t = 0; t < total; ++t) {
        i64 off = 0;
        for (int d = 0; d < ndim; ++d) off += idx[d] * strides[d];
        copy_word<W>(dst + t * sizeof(W), src + off);
        for (int d = ndim - 1; d >= 0; --d) {
            if (++idx[d] < shape[d]) break;
            idx[d] = 0;
        }
    }
}

py::array contiguous_naive(const py::array& x) {
    check_copyable("contiguous_naive", x);
    const int ndim = static_cast<int>(x.ndim());
    py::array out(x.dtype(), std::vector<py::ssize_t>(x.shape(), x.shape() + ndim));
    if (x.size() == 0) return out;
    i64 shape[kMaxDims], strides[kMaxDims];
    for (int d = 0; d < ndim; ++d) shape[d] = x.shape(d), strides[d] = x.strides(d);
    const char* src = static_cast<const char*>(x.data());
    char* dst = static_cast<char*>(out.mutable_data());
    const i64 total = x.size();
    py::gil_scoped_release nogil;
    dispatch_itemsize(x.itemsize(), [&](auto w) {
        copy_naive<decltype(w)>(ndim, shape, strides, src, dst, total);
    });
    return out;
}

// x: (M, N) -> (N, M): out[j, i] = x[i, j], in output order.
py::array transpose2d_naive(const py::array& x) {
    check_copyable("transpose2d_naive", x);
    if (x.ndim() != 2)
        throw py::value_error("transpose2d_naive: expected a 2-D array, got shape " +
                              shape_str(x));
    const i64 M = x.shape(0), N = x.shape(1);
    py::array out(x.dtype(), std::vector<py::ssize_t>{N, M});
    if (x.size() == 0) return out;
    i64 shape[2] = {N, M}, strides[2] = {x.strides(1), x.strides(0)};
    const char* src = static_cast<const char*>(x.data());
    char* dst = static_cast<char*>(out.mutable_data());
    py::gil_scoped_release nogil;
    dispatch_itemsize(x.itemsize(), [&](auto w) {
        copy_naive<decltype(w)>(2, shape, strides, src, dst, M * N);
    });
    return out;
}

}  // namespace

void register_copy(py::module_& m) {
    m.def("contiguous", &contiguous, py::arg("x"),
          R"doc(A C-contiguous copy of ``x`` (same dtype and shape).

Accepts any numeric or bool dtype of itemsize 1, 2, 4 or 8, up to 8 dimensions, and any strides
(0 and negative included). Transposed 2-D (or last-two-dims) layouts use a cache-blocked
transpose. Always copies, even if ``x`` is already contiguous. Releases the GIL.)doc");
    m.def("transpose2d", &transpose2d, py::arg("x"),
          R"doc(``x.T`` as a new C-contiguous array: (M, N) -> (N, M), cache-blocked.

Same dtype rules as contiguous(); x must be 2-D.)doc");
    m.def("contiguous_naive", &contiguous_naive, py::arg("x"),
          "Reference for contiguous(): one element at a time in output order.");
    m.def("transpose2d_naive", &transpose2d_naive, py::arg("x"),
          "Reference for transpose2d(): out[j, i] = x[i, j], one element at a time.");
}

}  // namespace tt
