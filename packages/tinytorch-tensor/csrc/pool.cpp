// pool.cpp: 2-D max and average pooling, forward and backward (float32, NCHW), plus references.
//
// Pooling reads every input once and does one compare or add per window element: it is bound
// by memory, not arithmetic, so the kernels are plain loops arranged for the compiler to
// vectorise, threaded over the N*C planes (every plane is pooled independently).
//
// Loop order. The obvious order (for each output, for each window element) has a short inner
// loop of kh*kw elements that changes direction at every output. Instead each output row keeps
// a running result for all its OW outputs, and the window loops go outside:
//
//   for each output row oy:
//     for each window offset (i, j) (only rows inside the image):
//       for ox in the range whose input column is inside the image:   <- long, vectorised
//         best[ox] = max(best[ox], x[oy*sh + i*dh - ph][ox*sw + j*dw - pw])
//
// Clipping the ox range once per (i, j) handles the padding without a test per element (max
// pooling pads with -inf, so a padded element can never win; average pooling pads with zeros).
// The clipped ranges are computed once per call (Plan): they take integer divisions, which at
// 16 outputs per row cost more than the row's work. The per-plane functions carry TT_CLONES
// (simd.h), so the inner loops are compiled for AVX-512, AVX2 and the baseline.
//
// Vectorising. The inner loops are specialised for stride 1 and 2 (a constant stride lets the
// compiler vectorise; stride 2 is two loads and a shuffle). Max pooling's loop updates a float
// and an int32 index per output under one condition; GCC leaves that scalar with a branch that
// mispredicts half the time on real data (~3x slower), so it is written with GCC's vector types
// (8 outputs per step, compare masks and blends); other compilers get the scalar loop.
//
// Max pooling indices: the backward pass needs to know which input element each output took.
// They are stored per plane (h*W + w) as int32, not as int64 flat indices into the whole
// tensor: half the memory (the index tensor is as large as the output and autograd keeps it
// until backward), and a plane never has 2^31 elements. Ties go to the first maximum in
// row-major window order, and a NaN wins over any number (the first NaN), as numpy's argmax.
//
// Backward: max pooling scatters each output gradient onto its index (adding where overlapping
// windows share a maximum); average pooling adds grad/divisor onto every element of the window.
// Both zero the input-gradient plane first and work one plane per thread, so they never race.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "common.h"
#include "gemm.h"  // active_num_threads
#include "simd.h"

namespace tt {

namespace {

using i64 = std::int64_t;
using Pair = std::array<i64, 2>;
using FArray = py::array_t<float, py::array::c_style | py::array::forcecast>;
using IArray = py::array_t<std::int32_t, py::array::c_style | py::array::forcecast>;

struct PoolGeom {
    i64 N, C, H, W;
    i64 KH, KW, SH, SW, PH, PW, DH, DW;
    i64 OH, OW;
    i64 planes() const { return N * C; }
    // Filled by Plan (below): for window column j, the outputs [lo[j], hi[j]) whose input
    // column is inside the image; for output row oy / column ox, the first window row / column
    // inside the image. Computed once per call: the divisions they take cost more than the
    // work of a short output row.
    const i64 *lo = nullptr, *hi = nullptr, *row_first = nullptr, *col_first = nullptr;
};

inline i64 floor_div(i64 a, i64 b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
inline i64 ceil_div(i64 a, i64 b) { return -floor_div(-a, b); }

// The outputs ox whose input column ox*s + off lies in [0, W): [lo, hi).
inline void valid_range(i64 off, i64 s, i64 W, i64 OW, i64& lo, i64& hi) {
    lo = std::max<i64>(0, ceil_div(-off, s));
    hi = std::min<i64>(OW, floor_div(W - 1 - off, s) + 1);
    if (hi < lo) hi = lo;
}

struct Plan {
    std::vector<i64> lo, hi, row_first, col_first;
    explicit Plan(PoolGeom& g) : lo(g.KW), hi(g.KW), row_first(g.OH), col_first(g.OW) {
        for (i64 j = 0; j < g.KW; ++j) valid_range(j * g.DW - g.PW, g.SW, g.W, g.OW, lo[j], hi[j]);
        for (i64 oy = 0; oy < g.OH; ++oy) {
            const i64 y0 = oy * g.SH - g.PH;
            row_first[oy] = y0 >= 0 ? 0 : ceil_div(-y0, g.DH);
        }
        for (i64 ox = 0; ox < g.OW; ++ox) {
            const i64 x0 = ox * g.SW - g.PW;
            col_first[ox] = x0 >= 0 ? 0 : ceil_div(-x0, g.DW);
        }
        g.lo = lo.data(), g.hi = hi.data();
        g.row_first = row_first.data(), g.col_first = col_first.data();
    }
};

int pool_threads(double work, i64 planes) {
    int nt = active_num_threads();
    if (work < double(1 << 18)) nt = 1;  // ~a quarter million elements: not worth a fork
    return static_cast<int>(std::max<i64>(1, std::min<i64>(nt, planes)));
}

std::string pair_str(Pair p) {
    return "(" + std::to_string(p[0]) + ", " + std::to_string(p[1]) + ")";
}

void check_f32(const char* op, const char* name, const py::array& a) {
    if (!a.dtype().equal(py::dtype::of<float>()))
        throw py::type_error(std::string(op) + ": expected float32 arrays, got " + dtype_str(a) +
                             " for " + name);
}

void check_4d(const char* op, const char* name, const py::array& a) {
    if (a.ndim() != 4)
        throw py::value_error(std::string(op) + ": expected " + name +
                              " of shape (N, C, H, W), got shape " + shape_str(a));
}

PoolGeom make_geom(const char* op, i64 N, i64 C, i64 H, i64 W, Pair k, Pair s, Pair p, Pair d) {
    if (k[0] < 1 || k[1] < 1)
        throw py::value_error(std::string(op) + ": kernel_size must be >= 1, got " + pair_str(k));
    if (s[0] < 1 || s[1] < 1)
        throw py::value_error(std::string(op) + ": stride must be >= 1, got " + pair_str(s));
    if (d[0] < 1 || d[1] < 1)
        throw py::value_error(std::string(op) + ": dilation must be >= 1, got " + pair_str(d));
    if (p[0] < 0 || p[1] < 0 || 2 * p[0] > k[0] || 2 * p[1] > k[1])
        throw py::value_error(std::string(op) + ": padding " + pair_str(p) +
                              " must be >= 0 and at most half the kernel size " + pair_str(k));
    PoolGeom g{N, C, H, W, k[0], k[1], s[0], s[1], p[0], p[1], d[0], d[1], 0, 0};
    const i64 nh = H + 2 * g.PH - g.DH * (g.KH - 1) - 1, nw = W + 2 * g.PW - g.DW * (g.KW - 1) - 1;
    if (nh < 0 || nw < 0)
        throw py::value_error(std::string(op) + ": kernel_size " + pair_str(k) +
                              " (dilation " + pair_str(d) + ") does not fit an input of size (" +
                              std::to_string(H) + ", " + std::to_string(W) + ") with padding " +
                              pair_str(p));
    g.OH = nh / g.SH + 1;
    g.OW = nw / g.SW + 1;
    return g;
}

// With dilation, a window can fall entirely in the padding (its taps straddle the image):
// it would have no maximum. The first such output row or column, or -1.
i64 empty_window(i64 out, i64 k, i64 s, i64 p, i64 d, i64 size) {
    for (i64 o = 0; o < out; ++o) {
        bool any = false;
        for (i64 i = 0; i < k && !any; ++i) {
            const i64 at = o * s + i * d - p;
            any = at >= 0 && at < size;
        }
        if (!any) return o;
    }
    return -1;
}

// ---------------------------------------------------------------------------------------------
// Per-plane kernels.

#if defined(__GNUC__)
#define TT_INLINE inline __attribute__((always_inline))
#else
#define TT_INLINE inline
#endif

// The inner loops, with the stride a template constant when it is 1 or 2 (S = 0: any stride,
// read from `sw`). With a constant stride the compiler vectorises (stride 2 with two loads and a
// shuffle); with a run-time one it falls back to scalar code. They are inlined into the
// TT_CLONES plane functions, so they get each clone's ISA.
#if defined(__GNUC__) && !defined(__clang__)
#define TT_VEC8 1
typedef float v8f __attribute__((vector_size(32), aligned(4)));
typedef std::int32_t v8i __attribute__((vector_size(32), aligned(4)));
#endif

// The max update for outputs [lo, hi) of one window offset; row_len bounds the reads.
template <int S>
TT_INLINE void max_update(const float* row, i64 row_len, i64 off, i64 sw, i64 lo, i64 hi,
                          std::int32_t base, float* best, std::int32_t* at) {
    const i64 st = S ? S : sw;
    i64 ox = lo;
#if defined(TT_VEC8)
    // Eight outputs at a time with GCC's vector types: GCC does not vectorise the scalar loop
    // below (the float/int32 select pair defeats it), and a compare-and-branch per element
    // mispredicts half the time on real data. Stride 2 loads 16 floats and keeps every other
    // one: starting one float early (keeping the odd ones) whenever possible, so that the last
    // read is the last element needed and never past the end of the row.
    if (S == 1 || S == 2) {
        const v8i lane = {0, 1, 2, 3, 4, 5, 6, 7};
        for (; ox + 8 <= hi; ox += 8) {
            const i64 first = ox * S + off;  // the first element needed
            v8f v, b;
            v8i a;
            if (S == 1) {
                std::memcpy(&v, row + first, 32);
            } else {
                v8f r0, r1;
                if (first >= 1) {  // read [first - 1, first + 15): the needed ones are odd
                    std::memcpy(&r0, row + first - 1, 32);
                    std::memcpy(&r1, row + first + 7, 32);
                    v = __builtin_shuffle(r0, r1, v8i{1, 3, 5, 7, 9, 11, 13, 15});
                } else {  // first == 0: read [0, 16), the needed ones are even
                    if (16 > row_len) break;
                    std::memcpy(&r0, row, 32);
                    std::memcpy(&r1, row + 8, 32);
                    v = __builtin_shuffle(r0, r1, v8i{0, 2, 4, 6, 8, 10, 12, 14});
                }
            }
            std::memcpy(&b, best + ox, 32);
            std::memcpy(&a, at + ox, 32);
            const v8i take = (v > b) | ((v != v) & (b == b));  // lanes: -1 (true) or 0
            const v8i pos = base + static_cast<std::int32_t>(ox * S) + lane * S;
            const v8i bi = ((v8i)v & take) | ((v8i)b & ~take);
            a = (pos & take) | (a & ~take);
            std::memcpy(best + ox, &bi, 32);
            std::memcpy(at + ox, &a, 32);
        }
    }
#endif
    for (; ox < hi; ++ox) {
        const float v = row[ox * st + off];
        const float b = best[ox];
        // v wins if larger, or if it is the first NaN (b is not a NaN yet).
        if (v > b || (v != v && b == b)) {
            best[ox] = v;
            at[ox] = base + static_cast<std::int32_t>(ox * st);
        }
    }
    (void)row_len;
}

template <int S>
TT_INLINE void sum_update(const float* row, i64 off, i64 sw, i64 lo, i64 hi, float* acc) {
    const i64 st = S ? S : sw;
    for (i64 ox = lo; ox < hi; ++ox) acc[ox] += row[ox * st + off];
}

template <int S>
TT_INLINE void spread_update(float* row, i64 off, i64 sw, i64 lo, i64 hi, const float* v) {
    const i64 st = S ? S : sw;
    for (i64 ox = lo; ox < hi; ++ox) row[ox * st + off] += v[ox];
}

// x: (H, W) -> out, idx: (OH, OW). idx = h*W + w of each output's maximum.
TT_CLONES void max_pool_plane(const float* x, const PoolGeom& g, float* out, std::int32_t* idx) {
    const i64 W = g.W, OW = g.OW;
    const float ninf = -std::numeric_limits<float>::infinity();
    for (i64 oy = 0; oy < g.OH; ++oy) {
        float* best = out + oy * OW;
        std::int32_t* at = idx + oy * OW;
        const i64 y0 = oy * g.SH - g.PH;
        // The window's first row inside the image (the caller refuses windows that have none)
        // and, per output, its first column inside: the index reported when every element is
        // -inf.
        const i64 i_first = g.row_first[oy];
        const i64 first_row = (y0 + i_first * g.DH) * W;
        for (i64 ox = 0; ox < OW; ++ox) {
            best[ox] = ninf;
            at[ox] = static_cast<std::int32_t>(first_row + ox * g.SW - g.PW +
                                               g.col_first[ox] * g.DW);
        }
        for (i64 i = i_first; i < g.KH; ++i) {
            const i64 iy = y0 + i * g.DH;
            if (iy >= g.H) break;
            const float* row = x + iy * W;
            for (i64 j = 0; j < g.KW; ++j) {
                const i64 off = j * g.DW - g.PW, lo = g.lo[j], hi = g.hi[j];
                const std::int32_t base = static_cast<std::int32_t>(iy * W + off);
                if (g.SW == 1)
                    max_update<1>(row, W, off, 1, lo, hi, base, best, at);
                else if (g.SW == 2)
                    max_update<2>(row, W, off, 2, lo, hi, base, best, at);
                else
                    max_update<0>(row, W, off, g.SW, lo, hi, base, best, at);
            }
        }
    }
}

// g: (OH, OW), idx: (OH, OW) -> dx: (H, W), zeroed here, += at each index.
// Returns -1, or the position of the first index outside [0, hw) (then dx is incomplete).
// One unsigned compare per element checks both ends; it is always false, so it costs about
// nothing next to the scatter, and it keeps a corrupted index from writing out of bounds.
TT_CLONES i64 max_pool_backward_plane(const float* g, const std::int32_t* idx, i64 n, i64 hw,
                                      float* dx) {
    std::memset(dx, 0, sizeof(float) * hw);
    for (i64 t = 0; t < n; ++t) {
        const std::uint32_t i = static_cast<std::uint32_t>(idx[t]);
        if (i >= static_cast<std::uint64_t>(hw)) return t;
        dx[i] += g[t];
    }
    return -1;
}

// The divisor of output (oy, ox): the whole window, or only its elements inside the image.
inline float avg_divisor(const PoolGeom& g, i64 oy, i64 ox, bool count_include_pad) {
    if (count_include_pad) return static_cast<float>(g.KH * g.KW);
    const i64 y0 = oy * g.SH - g.PH, x0 = ox * g.SW - g.PW;
    const i64 rows = std::min(y0 + g.KH, g.H) - std::max<i64>(y0, 0);
    const i64 cols = std::min(x0 + g.KW, g.W) - std::max<i64>(x0, 0);
    return static_cast<float>(rows * cols);
}

// x: (H, W) -> out: (OH, OW); inv: (OH, OW) precomputed 1/divisor.
TT_CLONES void avg_pool_plane(const float* x, const PoolGeom& g, const float* inv, float* out) {
    const i64 W = g.W, OW = g.OW;
    for (i64 oy = 0; oy < g.OH; ++oy) {
        float* acc = out + oy * OW;
        for (i64 ox = 0; ox < OW; ++ox) acc[ox] = 0.0f;
        const i64 y0 = oy * g.SH - g.PH;
        for (i64 i = 0; i < g.KH; ++i) {
            const i64 iy = y0 + i;
            if (iy < 0 || iy >= g.H) continue;
            const float* row = x + iy * W;
            for (i64 j = 0; j < g.KW; ++j) {
                const i64 off = j - g.PW, lo = g.lo[j], hi = g.hi[j];
                if (g.SW == 1)
                    sum_update<1>(row, off, 1, lo, hi, acc);
                else if (g.SW == 2)
                    sum_update<2>(row, off, 2, lo, hi, acc);
                else
                    sum_update<0>(row, off, g.SW, lo, hi, acc);
            }
        }
        const float* iv = inv + oy * OW;
        for (i64 ox = 0; ox < OW; ++ox) acc[ox] *= iv[ox];
    }
}

// gy: (OH, OW), inv: (OH, OW) -> dx: (H, W), zeroed here; every window element gets gy/divisor.
// scaled: an OW-float scratch row.
TT_CLONES void avg_pool_backward_plane(const float* gy, const PoolGeom& g, const float* inv,
                                       float* scaled, float* dx) {
    const i64 W = g.W, OW = g.OW;
    std::memset(dx, 0, sizeof(float) * g.H * W);
    for (i64 oy = 0; oy < g.OH; ++oy) {
        for (i64 ox = 0; ox < OW; ++ox) scaled[ox] = gy[oy * OW + ox] * inv[oy * OW + ox];
        const i64 y0 = oy * g.SH - g.PH;
        for (i64 i = 0; i < g.KH; ++i) {
            const i64 iy = y0 + i;
            if (iy < 0 || iy >= g.H) continue;
            float* row = dx + iy * W;
            for (i64 j = 0; j < g.KW; ++j) {
                const i64 off = j - g.PW, lo = g.lo[j], hi = g.hi[j];
                // For one (i, j) the outputs hit distinct columns: no overlap inside the loop.
                if (g.SW == 1)
                    spread_update<1>(row, off, 1, lo, hi, scaled);
                else if (g.SW == 2)
                    spread_update<2>(row, off, 2, lo, hi, scaled);
                else
                    spread_update<0>(row, off, g.SW, lo, hi, scaled);
            }
        }
    }
}

std::vector<float> inverse_divisors(const PoolGeom& g, bool count_include_pad) {
    std::vector<float> inv(g.OH * g.OW);
    for (i64 oy = 0; oy < g.OH; ++oy)
        for (i64 ox = 0; ox < g.OW; ++ox)
            inv[oy * g.OW + ox] = 1.0f / avg_divisor(g, oy, ox, count_include_pad);
    return inv;
}

// ---------------------------------------------------------------------------------------------
// Python entry points.

py::tuple max_pool2d_forward(const py::array& x_in, Pair k, Pair s, Pair p, Pair d, bool naive) {
    const char* op = naive ? "max_pool2d_forward_naive" : "max_pool2d_forward";
    check_f32(op, "x", x_in);
    check_4d(op, "x", x_in);
    PoolGeom g = make_geom(op, x_in.shape(0), x_in.shape(1), x_in.shape(2), x_in.shape(3), k,
                           s, p, d);
    if (g.H * g.W >= (i64(1) << 31))
        throw py::value_error(std::string(op) + ": planes of 2^31 or more elements are not "
                                                "supported (int32 indices), got shape " +
                              shape_str(x_in));
    const i64 er = empty_window(g.OH, g.KH, g.SH, g.PH, g.DH, g.H);
    const i64 ec = empty_window(g.OW, g.KW, g.SW, g.PW, g.DW, g.W);
    if (er >= 0 || ec >= 0)
        throw py::value_error(std::string(op) + ": the window of output " +
                              (er >= 0 ? "row " + std::to_string(er)
                                       : "column " + std::to_string(ec)) +
                              " lies entirely in the padding (kernel_size " + pair_str(k) +
                              ", dilation " + pair_str(d) + ", padding " + pair_str(p) +
                              ", input " + shape_str(x_in) + ")");
    const Plan plan(g);
    FArray x = FArray::ensure(x_in);
    py::array_t<float> out({g.N, g.C, g.OH, g.OW});
    py::array_t<std::int32_t> idx({g.N, g.C, g.OH, g.OW});
    const float* xp = x.data();
    float* op_ = out.mutable_data();
    std::int32_t* ip = idx.mutable_data();
    const i64 hw = g.H * g.W, ohw = g.OH * g.OW;
    {
        py::gil_scoped_release nogil;
        if (naive) {
            // The definition: scan each window in row-major order, skipping padding.
            for (i64 pl = 0; pl < g.planes(); ++pl)
                for (i64 oy = 0; oy < g.OH; ++oy)
                    for (i64 ox = 0; ox < g.OW; ++ox) {
                        float best = -std::numeric_limits<float>::infinity();
                        i64 at = -1;
                        for (i64 i = 0; i < g.KH; ++i)
                            for (i64 j = 0; j < g.KW; ++j) {
                                const i64 h = oy * g.SH + i * g.DH - g.PH;
                                const i64 w = ox * g.SW + j * g.DW - g.PW;
                                if (h < 0 || h >= g.H || w < 0 || w >= g.W) continue;
                                const float v = xp[pl * hw + h * g.W + w];
                                if (at < 0 || v > best || (std::isnan(v) && !std::isnan(best)))
                                    best = v, at = h * g.W + w;
                            }
                        op_[pl * ohw + oy * g.OW + ox] = best;
                        ip[pl * ohw + oy * g.OW + ox] = static_cast<std::int32_t>(at);
                    }
        } else {
            const int nt = pool_threads(double(g.planes()) * ohw * g.KH * g.KW, g.planes());
            (void)nt;  // used only by the OpenMP pragmas
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
            for (i64 pl = 0; pl < g.planes(); ++pl)
                max_pool_plane(xp + pl * hw, g, op_ + pl * ohw, ip + pl * ohw);
        }
    }
    return py::make_tuple(out, idx);
}

py::array_t<float> max_pool2d_backward(const py::array& gy_in, const py::array& idx_in,
                                       Pair input_size, bool naive) {
    const char* op = naive ? "max_pool2d_backward_naive" : "max_pool2d_backward";
    check_f32(op, "grad_out", gy_in);
    check_4d(op, "grad_out", gy_in);
    if (!idx_in.dtype().equal(py::dtype::of<std::int32_t>()))
        throw py::type_error(std::string(op) + ": expected int32 indices, got " +
                             dtype_str(idx_in));
    if (idx_in.ndim() != 4 || !std::equal(gy_in.shape(), gy_in.shape() + 4, idx_in.shape()))
        throw py::value_error(std::string(op) + ": indices of shape " + shape_str(idx_in) +
                              " do not match grad_out of shape " + shape_str(gy_in));
    const i64 N = gy_in.shape(0), C = gy_in.shape(1), H = input_size[0], W = input_size[1];
    if (H < 1 || W < 1)
        throw py::value_error(std::string(op) + ": input_size must be positive, got " +
                              pair_str(input_size));
    FArray gy = FArray::ensure(gy_in);
    IArray idx = IArray::ensure(idx_in);
    const i64 hw = H * W, ohw = gy_in.shape(2) * gy_in.shape(3), planes = N * C;
    const std::int32_t* ip = idx.data();
    auto bad_index = [&](i64 t) {
        return py::value_error(std::string(op) + ": index " + std::to_string(ip[t]) +
                               " is outside a plane of size " + pair_str(input_size));
    };
    if (naive)  // out-of-range indices would write out of bounds: refuse them first
        for (i64 t = 0; t < planes * ohw; ++t)
            if (ip[t] < 0 || ip[t] >= hw) throw bad_index(t);
    i64 bad = -1;  // the fast path checks while it scatters
    py::array_t<float> dx({N, C, H, W});
    const float* gp = gy.data();
    float* dp = dx.mutable_data();
    {
        py::gil_scoped_release nogil;
        if (naive) {
            std::memset(dp, 0, sizeof(float) * planes * hw);
            for (i64 pl = 0; pl < planes; ++pl)
                for (i64 t = 0; t < ohw; ++t) dp[pl * hw + ip[pl * ohw + t]] += gp[pl * ohw + t];
        } else {
            const int nt = pool_threads(double(planes) * (hw + ohw), planes);
            (void)nt;  // used only by the OpenMP pragmas
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
            for (i64 pl = 0; pl < planes; ++pl) {
                const i64 t = max_pool_backward_plane(gp + pl * ohw, ip + pl * ohw, ohw, hw,
                                                      dp + pl * hw);
                if (t >= 0) {
#pragma omp critical(tt_max_pool_bad_index)
                    bad = std::max(bad, pl * ohw + t);
                }
            }
        }
    }
    if (bad >= 0) throw bad_index(bad);
    return dx;
}

py::array_t<float> avg_pool2d_forward(const py::array& x_in, Pair k, Pair s, Pair p,
                                      bool count_include_pad, bool naive) {
    const char* op = naive ? "avg_pool2d_forward_naive" : "avg_pool2d_forward";
    check_f32(op, "x", x_in);
    check_4d(op, "x", x_in);
    PoolGeom g = make_geom(op, x_in.shape(0), x_in.shape(1), x_in.shape(2), x_in.shape(3), k,
                           s, p, Pair{1, 1});
    const Plan plan(g);
    FArray x = FArray::ensure(x_in);
    py::array_t<float> out({g.N, g.C, g.OH, g.OW});
    const float* xp = x.data();
    float* op_ = out.mutable_data();
    const i64 hw = g.H * g.W, ohw = g.OH * g.OW;
    {
        py::gil_scoped_release nogil;
        if (naive) {
            for (i64 pl = 0; pl < g.planes(); ++pl)
                for (i64 oy = 0; oy < g.OH; ++oy)
                    for (i64 ox = 0; ox < g.OW; ++ox) {
                        float sum = 0.0f;
                        for (i64 i = 0; i < g.KH; ++i)
                            for (i64 j = 0; j < g.KW; ++j) {
                                const i64 h = oy * g.SH + i - g.PH, w = ox * g.SW + j - g.PW;
                                if (h >= 0 && h < g.H && w >= 0 && w < g.W)
                                    sum += xp[pl * hw + h * g.W + w];
                            }
                        op_[pl * ohw + oy * g.OW + ox] =
                            sum / avg_divisor(g, oy, ox, count_include_pad);
                    }
        } else {
            const std::vector<float> inv = inverse_divisors(g, count_include_pad);
            const int nt = pool_threads(double(g.planes()) * ohw * g.KH * g.KW, g.planes());
            (void)nt;  // used only by the OpenMP pragmas
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
            for (i64 pl = 0; pl < g.planes(); ++pl)
                avg_pool_plane(xp + pl * hw, g, inv.data(), op_ + pl * ohw);
        }
    }
    return out;
}

py::array_t<float> avg_pool2d_backward(const py::array& gy_in, Pair input_size, Pair k, Pair s,
                                       Pair p, bool count_include_pad, bool naive) {
    const char* op = naive ? "avg_pool2d_backward_naive" : "avg_pool2d_backward";
    check_f32(op, "grad_out", gy_in);
    check_4d(op, "grad_out", gy_in);
    if (input_size[0] < 1 || input_size[1] < 1)
        throw py::value_error(std::string(op) + ": input_size must be positive, got " +
                              pair_str(input_size));
    PoolGeom g = make_geom(op, gy_in.shape(0), gy_in.shape(1), input_size[0], input_size[1], k,
                           s, p, Pair{1, 1});
    const Plan plan(g);
    if (gy_in.shape(2) != g.OH || gy_in.shape(3) != g.OW)
        throw py::value_error(std::string(op) + ": expected grad_out of shape (" +
                              std::to_string(g.N) + ", " + std::to_string(g.C) + ", " +
                              std::to_string(g.OH) + ", " + std::to_string(g.OW) +
                              "), got shape " + shape_str(gy_in));
    FArray gy = FArray::ensure(gy_in);
    py::array_t<float> dx({g.N, g.C, g.H, g.W});
    const float* gp = gy.data();
    float* dp = dx.mutable_data();
    const i64 hw = g.H * g.W, ohw = g.OH * g.OW;
    {
        py::gil_scoped_release nogil;
        if (naive) {
            std::memset(dp, 0, sizeof(float) * g.planes() * hw);
            for (i64 pl = 0; pl < g.planes(); ++pl)
                for (i64 oy = 0; oy < g.OH; ++oy)
                    for (i64 ox = 0; ox < g.OW; ++ox) {
                        const float v = gp[pl * ohw + oy * g.OW + ox] /
                                        avg_divisor(g, oy, ox, count_include_pad);
                        for (i64 i = 0; i < g.KH; ++i)
                            for (i64 j = 0; j < g.KW; ++j) {
                                const i64 h = oy * g.SH + i - g.PH, w = ox * g.SW + j - g.PW;
                                if (h >= 0 && h < g.H && w >= 0 && w < g.W)
                                    dp[pl * hw + h * g.W + w] += v;
                            }
                    }
        } else {
            const std::vector<float> inv = inverse_divisors(g, count_include_pad);
            const int nt = pool_threads(double(g.planes()) * (hw + ohw * g.KH * g.KW), g.planes());
            (void)nt;  // used only by the OpenMP pragmas
#pragma omp parallel num_threads(nt) if (nt > 1)
            {
                std::vector<float> scaled(g.OW);
#pragma omp for schedule(static)
                for (i64 pl = 0; pl < g.planes(); ++pl)
                    avg_pool_backward_plane(gp + pl * ohw, g, inv.data(), scaled.data(),
                                            dp + pl * hw);
            }
        }
    }
    return dx;
}

}  // namespace

void register_pool(py::module_& m) {
    const Pair one{1, 1}, zero{0, 0};
    for (bool naive : {false, true}) {
        const std::string sfx = naive ? "_naive" : "";
        m.def(
            ("max_pool2d_forward" + sfx).c_str(),
            [naive](const py::array& x, Pair k, Pair s, Pair p, Pair d) {
                return max_pool2d_forward(x, k, s, p, d, naive);
            },
            py::arg("x"), py::arg("kernel_size"), py::arg("stride"), py::arg("padding") = zero,
            py::arg("dilation") = one,
            naive ? "Reference max_pool2d_forward: scan each window, skipping padding."
                  : R"doc(Max pooling: x (N, C, H, W) float32 -> (out, indices).

Both outputs are (N, C, OH, OW).

indices are int32 positions h*W + w within each input plane (ties: the first maximum in
row-major window order; NaN wins). Padding (at most half the kernel) never wins. Threaded
over the N*C planes.)doc");
        m.def(
            ("max_pool2d_backward" + sfx).c_str(),
            [naive](const py::array& gy, const py::array& idx, Pair input_size) {
                return max_pool2d_backward(gy, idx, input_size, naive);
            },
            py::arg("grad_out"), py::arg("indices"), py::arg("input_size"),
            naive ? "Reference max_pool2d_backward: one scatter-add loop over all outputs."
                  : R"doc(Backward of max pooling: scatter grad_out onto the int32 indices.

grad_out and indices are (N, C, OH, OW); indices are per-plane positions h*W + w.

Returns dx (N, C, H, W) for input_size (H, W); gradients of windows that share a maximum
add up. Raises ValueError for an index outside the plane.)doc");
        m.def(
            ("avg_pool2d_forward" + sfx).c_str(),
            [naive](const py::array& x, Pair k, Pair s, Pair p, bool cip) {
                return avg_pool2d_forward(x, k, s, p, cip, naive);
            },
            py::arg("x"), py::arg("kernel_size"), py::arg("stride"), py::arg("padding") = zero,
            py::arg("count_include_pad") = true,
            naive ? "Reference avg_pool2d_forward: sum each window, divide."
                  : R"doc(Average pooling: x (N, C, H, W) float32 -> (N, C, OH, OW).

count_include_pad=True divides by kh*kw, False by the number of elements inside the image.
Threaded over the N*C planes.)doc");
        m.def(
            ("avg_pool2d_backward" + sfx).c_str(),
            [naive](const py::array& gy, Pair input_size, Pair k, Pair s, Pair p, bool cip) {
                return avg_pool2d_backward(gy, input_size, k, s, p, cip, naive);
            },
            py::arg("grad_out"), py::arg("input_size"), py::arg("kernel_size"), py::arg("stride"),
            py::arg("padding") = zero, py::arg("count_include_pad") = true,
            naive ? "Reference avg_pool2d_backward: spread each gradient over its window."
                  : R"doc(Backward of average pooling.

grad_out (N, C, OH, OW) -> dx (N, C, H, W) for input_size (H, W).

Every element of a window receives grad / divisor; overlapping windows add up.)doc");
    }
}

}  // namespace tt
