// softmax.cpp: softmax, log-softmax and the fused softmax-cross-entropy loss, forward and backward.
//
// Layout. Every kernel works on the last axis of a C-contiguous (rows, C) float32 array: one
// row is one softmax. Python moves another axis last before calling (and back after), and
// cross-entropy's (N, C, d1, ...) logits arrive already flattened to (N * d1 * ..., C).
// Rows are independent, so threads split the rows (static schedule: every row costs the same).
//
// Numerical stability. softmax(x) = exp(x - m) / sum(exp(x - m)) for any constant m; with m the
// row maximum every exponent is <= 0, so exp cannot overflow, and the largest term is exactly 1,
// so the sum is >= 1 and its log is safe. log_softmax(x) = x - lse with
// lse = m + log(sum(exp(x - m))) (the log-sum-exp).
//
// Online softmax (one read of x for the max and the sum). The textbook version reads a row
// twice: once for the max, once for the sum of exp(x - max). The online form (Milakov and
// Gimelshein, 2018) keeps a running max m and a running sum s relative to it: when a larger
// max m' shows up, the sum so far is rescaled, s <- s * exp(m - m') + ... . Done per element
// that costs two exps per element; done per *chunk* (kChunk floats, 8 KiB, which stays in L1)
// it costs one exp per element plus one per chunk: take the chunk's max (cheap: one compare per
// element), rescale s if it grew, then add the chunk's exps. So x streams from memory once.
// - log_softmax and cross-entropy need only (m, s): one sweep, then y = x - lse (no exp).
// - softmax also stores exp(x - m) into y during the sweep, remembering which running max
//   each chunk used; a last pass multiplies chunk k by exp(m_k - m) / s (one exp per chunk).
//   For rows that fit in one chunk (the usual case) that is: max, exp-store-sum, scale.
//
// Vectors (vecmath.h). Each kernel is a template on the vector width W, instantiated for
// AVX-512 (16 floats), AVX2 (8) and the baseline (4, SSE2 / NEON), picked at run time like the
// GEMM's ISA. Why explicit vectors: a float sum or max in a loop is a chain of dependent
// operations the compiler may not reorder without -ffast-math, so it stays scalar; with a
// vector accumulator the W lanes are W independent partial sums, combined once per row by a
// tree (log2 W steps). exp is vecmath's exp_v: Cephes' expf in plain vector arithmetic
// (std::exp is a libm call that does not vectorise), at most 2 ulp from float64.
//
// Row tails without a scalar loop. A row of C = 65 floats is 4 full AVX-512 vectors and 1 float.
// The last partial vector is loaded so that it *ends* at the row's end (x[C-16 .. C)), overlapping
// lanes already done: a max does not mind seeing them twice, a sum masks them out with one
// compare-and-blend against {0, 1, ..., 15}, and an elementwise store just writes the same
// values again. (Copying the tail into a padded buffer instead costs a store-forwarding stall
// per row, which tripled the time for C = 65.) Rows shorter than one vector (C = 10) run the
// half-width instance, 16 -> 8 -> 4 floats; only C < 4 is staged through a buffer.
//
// Backward. softmax: dx = y * (dy - sum(dy * y)); log-softmax: dx = dy - exp(y) * sum(dy);
// both are two passes over a row that is in L1 after the first. Cross-entropy saves only the
// log-sum-exp per row (rows floats, not rows * C), and its backward is one pass:
//   p_j = exp(x_j - lse),  dx_j = s * (a * p_j - (eps / C) w_j),  dx_t -= s * (1 - eps) w_t
// with s = grad * row_scale (1 / sum of target weights for 'mean'), a = (1 - eps) w_t +
// (eps / C) sum_c w_c (a = 1 without weights): the gradient of PyTorch's formula
//   loss_i = (1 - eps) w_t (lse - x_t) + (eps / C) sum_c w_c (lse - x_c)
// for each row i whose target t is not ignore_index (the others get loss 0 and gradient 0).
//
// Every fast kernel has a `_naive` twin: the textbook loops with std::exp, one thread, which the
// tests compare against (and the float64 numpy results, and PyTorch).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "common.h"
#include "vecmath.h"

namespace tt {

namespace {

using i64 = std::int64_t;
using namespace vec;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr i64 kChunk = 2048;       // online-softmax chunk: 8 KiB of x, stays in L1
constexpr int kMaxChunks = 64;     // longer rows use longer chunks (see chunk_len)
constexpr i64 kMinWorkToThread = 1 << 15;  // elements; below, a parallel region costs more

// ---------------------------------------------------------------------------------------------
// Row helpers, templates on the vector width W (see vecmath.h). They take n >= W; a shorter n
// (only possible for W = 4, or for the last online chunk) is staged through a small buffer.
// The last partial vector of a row overlaps the previous one (see lane_index): reductions mask
// the lanes already counted, stores simply write the same values again.

// The mask of the new lanes of the overlapping last vector, for rem = n % W (0 < rem < W).
#define TT_NEW_LANES(W, rem) (lane_index<W>() >= static_cast<float>(W - (rem)))

// max(x[0:n]); NaNs are skipped here (they reach the result through the sum of exps).
template <int W>
TT_ALWAYS_INLINE float max_of(const float* x, i64 n) {
    using F = typename V<W>::F;
    if (n < W) return hmax<W>(load_tail<W>(x, n, -kInf));
    F acc0 = splat<W>(-kInf), acc1 = acc0;  // two chains: a vector max has a latency of cycles
    i64 j = 0;
    for (; j + 2 * W <= n; j += 2 * W) {
        acc0 = vmax<W>(load<W>(x + j), acc0);
        acc1 = vmax<W>(load<W>(x + j + W), acc1);
    }
    if (j + W <= n) {
        acc0 = vmax<W>(load<W>(x + j), acc0);
        j += W;
    }
    if (j < n) acc1 = vmax<W>(load<W>(x + n - W), acc1);  // overlapping lanes: max does not mind
    return hmax<W>(vmax<W>(acc0, acc1));
}

// sum(exp(x[0:n] - m)), and when kStore also y[j] = exp(x[j] - m). m must not be -inf.
template <int W, bool kStore>
TT_ALWAYS_INLINE float sum_exp(const float* x, float* y, i64 n, float m) {
    using F = typename V<W>::F;
    const F mv = splat<W>(m);
    if (n < W) {
        const F e = exp_v<W>(load_tail<W>(x, n, -kInf) - mv);  // padding: exp(-inf) = 0
        if (kStore) store_tail<W>(y, e, n);
        return hsum<W>(e);
    }
    F acc = F{};
    i64 j = 0;
    for (; j + W <= n; j += W) {
        const F e = exp_v<W>(load<W>(x + j) - mv);
        if (kStore) store<W>(y + j, e);
        acc += e;
    }
    if (j < n) {
        const F e = exp_v<W>(load<W>(x + n - W) - mv);
        if (kStore) store<W>(y + n - W, e);
        acc += TT_NEW_LANES(W, n - j) ? e : F{};
    }
    return hsum<W>(acc);
}

// A chunk whose elements are all -inf or NaN while the running max is still -inf: it adds
// exp(-inf) = 0 per -inf, and NaN if there is a NaN (x - m would be -inf - -inf = NaN for all).
// (Written with a bool: GCC 12 -O3 vectorises `if (...) s = NaN;` in a loop into code that
// returns 0, a miscompile the tests caught.)
TT_ALWAYS_INLINE float neg_inf_chunk(const float* x, float* y, i64 n) {
    bool nan = false;
    for (i64 j = 0; j < n; ++j) {
        nan |= !(x[j] == -kInf);
        if (y) y[j] = 0.0f;
    }
    return nan ? kNaN : 0.0f;
}

// Chunk length for a row of n: kChunk, or longer so that a row has at most kMaxChunks chunks
// (softmax remembers one running max per chunk on the stack). A multiple of 16.
TT_ALWAYS_INLINE i64 chunk_len(i64 n) {
    const i64 k = (n + kMaxChunks - 1) / kMaxChunks;
    return std::max(kChunk, (k + 15) / 16 * 16);
}

// Fold a chunk's max cm into the running (m, s): rescale s if the max grew.
TT_ALWAYS_INLINE void update_max(float cm, float& m, float& s) {
    if (cm > m) {
        if (m != -kInf) s *= std::exp(m - cm);  // (s is still 0 while m is -inf)
        m = cm;
    }
}

// Online max and sum of one row: on return m = max(x), s = sum(exp(x - m)).
template <int W>
TT_ALWAYS_INLINE void online_max_sum(const float* x, i64 n, float& m_out, float& s_out) {
    const i64 K = chunk_len(n);
    float m = -kInf, s = 0.0f;
    for (i64 c0 = 0; c0 < n; c0 += K) {
        const i64 len = std::min(K, n - c0);
        update_max(max_of<W>(x + c0, len), m, s);
        s += m == -kInf ? neg_inf_chunk(x + c0, nullptr, len)
                        : sum_exp<W, false>(x + c0, nullptr, len, m);
    }
    m_out = m;
    s_out = s;
}

// sum(a[0:n] * b[0:n]), or sum(a[0:n]) when b is null.
template <int W>
TT_ALWAYS_INLINE float dot_or_sum(const float* a, const float* b, i64 n) {
    using F = typename V<W>::F;
    if (n < W) {
        const F va = load_tail<W>(a, n, 0.0f);
        return hsum<W>(b ? va * load_tail<W>(b, n, 0.0f) : va);
    }
    F acc = F{};
    i64 j = 0;
    for (; j + W <= n; j += W) acc += b ? load<W>(a + j) * load<W>(b + j) : load<W>(a + j);
    if (j < n) {
        const F va = load<W>(a + n - W);
        const F v = b ? va * load<W>(b + n - W) : va;
        acc += TT_NEW_LANES(W, n - j) ? v : F{};
    }
    return hsum<W>(acc);
}

// sum_j w_j (lse - x_j) (w_j = 1 when w is null).
template <int W>
TT_ALWAYS_INLINE float smooth_sum(const float* x, const float* w, i64 n, float lse) {
    using F = typename V<W>::F;
    const F lv = splat<W>(lse);
    if (n < W) {
        const F d = lv - load_tail<W>(x, n, lse);
        return hsum<W>(w ? load_tail<W>(w, n, 0.0f) * d : d);
    }
    F acc = F{};
    i64 j = 0;
    for (; j + W <= n; j += W) {
        const F d = lv - load<W>(x + j);
        acc += w ? load<W>(w + j) * d : d;
    }
    if (j < n) {
        const F d = lv - load<W>(x + n - W);
        const F v = w ? load<W>(w + n - W) * d : d;
        acc += TT_NEW_LANES(W, n - j) ? v : F{};
    }
    return hsum<W>(acc);
}

// y[0:n] = f(ld), vector by vector: f gets a loader `ld(p)` that returns the current W floats of
// any row p of the same length (full loads, the overlapping last vector, or a padded buffer
// for n < W), so one lambda serves every case. The overlapping last vector writes lanes
// already written again, with the same values: y must not be one of f's inputs.
template <int W, class Fn>
TT_ALWAYS_INLINE void map_row(float* y, i64 n, Fn f) {
    if (n < W) {
        store_tail<W>(y, f([&](const float* p) { return load_tail<W>(p, n, 0.0f); }), n);
        return;
    }
    i64 j = 0;
    for (; j + W <= n; j += W) store<W>(y + j, f([&](const float* p) { return load<W>(p + j); }));
    if (j < n) store<W>(y + n - W, f([&](const float* p) { return load<W>(p + n - W); }));
}

// ---------------------------------------------------------------------------------------------
// Row kernels: each does rows [r0, r1) of a (rows, C) array. Rows shorter than one vector run
// the half-width instance (16 -> 8 -> 4 floats), so tails stay in registers.

#define TT_NARROW_ROWS(fn, ...)                                   \
    if constexpr (W > 4) {                                        \
        if (C < W) return fn<W / 2>(__VA_ARGS__);                 \
    }

// x, y: (rows, C)
template <int W>
TT_ALWAYS_INLINE void softmax_rows(const float* x, float* y, i64 C, i64 r0, i64 r1) {
    TT_NARROW_ROWS(softmax_rows, x, y, C, r0, r1)
    using F = typename V<W>::F;
    const i64 K = chunk_len(C);
    float chunk_max[kMaxChunks];
    for (i64 r = r0; r < r1; ++r) {
        const float* xr = x + r * C;
        float* yr = y + r * C;
        float m = -kInf, s = 0.0f;
        int k = 0;
        for (i64 c0 = 0; c0 < C; c0 += K, ++k) {
            const i64 len = std::min(K, C - c0);
            update_max(max_of<W>(xr + c0, len), m, s);
            chunk_max[k] = m;  // this chunk's y holds exp(x - m) for the m of this moment
            s += m == -kInf ? neg_inf_chunk(xr + c0, yr + c0, len)
                            : sum_exp<W, true>(xr + c0, yr + c0, len, m);
        }
        const float inv = 1.0f / s;
        k = 0;
        for (i64 c0 = 0; c0 < C; c0 += K, ++k) {
            const i64 len = std::min(K, C - c0);
            const float f = chunk_max[k] == m ? inv : std::exp(chunk_max[k] - m) * inv;
            float* yc = yr + c0;
            const F fv = splat<W>(f);
            if (len < W) {
                for (i64 j = 0; j < len; ++j) yc[j] *= f;
                continue;
            }
            i64 j = 0;
            for (; j + W <= len; j += W) store<W>(yc + j, load<W>(yc + j) * fv);
            if (j < len) {  // in place: scale only the new lanes of the overlapping vector
                const F v = load<W>(yc + len - W);
                store<W>(yc + len - W, TT_NEW_LANES(W, len - j) ? v * fv : v);
            }
        }
    }
}

// x, y: (rows, C)
template <int W>
TT_ALWAYS_INLINE void log_softmax_rows(const float* x, float* y, i64 C, i64 r0, i64 r1) {
    TT_NARROW_ROWS(log_softmax_rows, x, y, C, r0, r1)
    using F = typename V<W>::F;
    for (i64 r = r0; r < r1; ++r) {
        const float* xr = x + r * C;
        float m, s;
        online_max_sum<W>(xr, C, m, s);
        const F lse = splat<W>(m + std::log(s));
        map_row<W>(y + r * C, C, [&](auto ld) { return ld(xr) - lse; });
    }
}

// y, dy, dx: (rows, C); dx = y * (dy - sum(dy * y))
template <int W>
TT_ALWAYS_INLINE void softmax_backward_rows(const float* y, const float* dy, float* dx, i64 C,
                                            i64 r0, i64 r1) {
    TT_NARROW_ROWS(softmax_backward_rows, y, dy, dx, C, r0, r1)
    using F = typename V<W>::F;
    for (i64 r = r0; r < r1; ++r) {
        const float* yr = y + r * C;
        const float* gr = dy + r * C;
        const F dot = splat<W>(dot_or_sum<W>(yr, gr, C));
        map_row<W>(dx + r * C, C, [&](auto ld) { return ld(yr) * (ld(gr) - dot); });
    }
}

// y, dy, dx: (rows, C); y = log_softmax(x), dx = dy - exp(y) * sum(dy)
template <int W>
TT_ALWAYS_INLINE void log_softmax_backward_rows(const float* y, const float* dy, float* dx, i64 C,
                                                i64 r0, i64 r1) {
    TT_NARROW_ROWS(log_softmax_backward_rows, y, dy, dx, C, r0, r1)
    using F = typename V<W>::F;
    for (i64 r = r0; r < r1; ++r) {
        const float* yr = y + r * C;
        const float* gr = dy + r * C;
        const F sum = splat<W>(dot_or_sum<W>(gr, nullptr, C));
        map_row<W>(dx + r * C, C, [&](auto ld) { return ld(gr) - exp_v<W>(ld(yr)) * sum; });
    }
}

// What the cross-entropy kernels share. x: (rows, C) logits, target: (rows,), weight: (C,) or
// null, wsum = sum(weight) (C without weights).
struct CeArgs {
    const float* x;
    const std::int64_t* target;
    const float* weight;
    i64 C;
    std::int64_t ignore_index;
    float eps;
    float wsum;
};

// loss, lse: (rows,)
template <int W>
TT_ALWAYS_INLINE void ce_forward_rows(const CeArgs& a, float* loss, float* lse_out, i64 r0,
                                      i64 r1) {
    const i64 C = a.C;
    TT_NARROW_ROWS(ce_forward_rows, a, loss, lse_out, r0, r1)
    for (i64 r = r0; r < r1; ++r) {
        const float* xr = a.x + r * C;
        float m, s;
        online_max_sum<W>(xr, C, m, s);
        const float lse = m + std::log(s);
        lse_out[r] = lse;
        const std::int64_t t = a.target[r];
        if (t == a.ignore_index) {
            loss[r] = 0.0f;
            continue;
        }
        const float wt = a.weight ? a.weight[t] : 1.0f;
        float l = (1.0f - a.eps) * wt * (lse - xr[t]);
        if (a.eps > 0.0f) {
            // sum_c w_c (lse - x_c): every term >= 0, so no cancellation (lse sum(w) - sum(w x)
            // would cancel badly for large logits).
            l += a.eps / static_cast<float>(C) * smooth_sum<W>(xr, a.weight, C, lse);
        }
        loss[r] = l;
    }
}

// lse: (rows,) from the forward; grad: (rows,) or one value (gstride 0); dx: (rows, C)
template <int W>
TT_ALWAYS_INLINE void ce_backward_rows(const CeArgs& a, const float* lse, const float* grad,
                                       i64 gstride, float scale, float* dx, i64 r0, i64 r1) {
    const i64 C = a.C;
    TT_NARROW_ROWS(ce_backward_rows, a, lse, grad, gstride, scale, dx, r0, r1)
    using F = typename V<W>::F;
    const float eps_c = a.eps / static_cast<float>(C);
    const bool weighted = a.weight && a.eps > 0.0f;
    for (i64 r = r0; r < r1; ++r) {
        const float* xr = a.x + r * C;
        float* dr = dx + r * C;
        const std::int64_t t = a.target[r];
        if (t == a.ignore_index) {
            std::memset(dr, 0, sizeof(float) * C);
            continue;
        }
        const float s = grad[r * gstride] * scale;
        const float wt = a.weight ? a.weight[t] : 1.0f;
        const F sa = splat<W>(s * ((1.0f - a.eps) * wt + eps_c * a.wsum));
        const F sb = splat<W>(s * eps_c);  // 0 without label smoothing
        const F l = splat<W>(lse[r]);
        if (weighted)
            map_row<W>(dr, C, [&](auto ld) { return sa * exp_v<W>(ld(xr) - l) - sb * ld(a.weight); });
        else
            map_row<W>(dr, C, [&](auto ld) { return sa * exp_v<W>(ld(xr) - l) - sb; });
        dr[t] -= s * (1.0f - a.eps) * wt;
    }
}

// ---------------------------------------------------------------------------------------------
// One instance of every row kernel per ISA, and the table the entry points pick from.

struct Kernels {
    void (*softmax)(const float*, float*, i64, i64, i64);
    void (*log_softmax)(const float*, float*, i64, i64, i64);
    void (*softmax_backward)(const float*, const float*, float*, i64, i64, i64);
    void (*log_softmax_backward)(const float*, const float*, float*, i64, i64, i64);
    void (*ce_forward)(const CeArgs&, float*, float*, i64, i64);
    void (*ce_backward)(const CeArgs&, const float*, const float*, i64, float, float*, i64, i64);
};

#define TT_SOFTMAX_KERNELS(NAME, W, TARGET)                                                     \
    TARGET void NAME##_softmax(const float* x, float* y, i64 C, i64 r0, i64 r1) {              \
        softmax_rows<W>(x, y, C, r0, r1);                                                      \
    }                                                                                          \
    TARGET void NAME##_log_softmax(const float* x, float* y, i64 C, i64 r0, i64 r1) {          \
        log_softmax_rows<W>(x, y, C, r0, r1);                                                  \
    }                                                                                          \
    TARGET void NAME##_softmax_bw(const float* y, const float* g, float* d, i64 C, i64 r0,     \
                                  i64 r1) {                                                    \
        softmax_backward_rows<W>(y, g, d, C, r0, r1);                                          \
    }                                                                                          \
    TARGET void NAME##_log_softmax_bw(const float* y, const float* g, float* d, i64 C, i64 r0, \
                                      i64 r1) {                                                \
        log_softmax_backward_rows<W>(y, g, d, C, r0, r1);                                      \
    }                                                                                          \
    TARGET void NAME##_ce_fw(const CeArgs& a, float* loss, float* lse, i64 r0, i64 r1) {       \
        ce_forward_rows<W>(a, loss, lse, r0, r1);                                              \
    }                                                                                          \
    TARGET void NAME##_ce_bw(const CeArgs& a, const float* lse, const float* g, i64 gs,        \
                             float sc, float* dx, i64 r0, i64 r1) {                            \
        ce_backward_rows<W>(a, lse, g, gs, sc, dx, r0, r1);                                    \
    }                                                                                          \
    const Kernels NAME = {NAME##_softmax,    NAME##_log_softmax, NAME##_softmax_bw,            \
                          NAME##_log_softmax_bw, NAME##_ce_fw,   NAME##_ce_bw};

#if defined(TT_X86_KERNELS)
TT_SOFTMAX_KERNELS(k_avx512, 16, TT_TARGET_AVX512)
TT_SOFTMAX_KERNELS(k_avx2, 8, TT_TARGET_AVX2)
#endif
TT_SOFTMAX_KERNELS(k_base, 4, )

const Kernels& kernels() {
#if defined(TT_X86_KERNELS)
    switch (active_width()) {
        case 16: return k_avx512;
        case 8: return k_avx2;
        default: break;
    }
#endif
    return k_base;
}

// ---------------------------------------------------------------------------------------------
// Threads: split [0, rows) into one contiguous block per thread (every row costs the same).

template <class Fn>
void for_rows(i64 rows, i64 cols, Fn&& fn) {
    const int nt = active_num_threads();
    if (nt <= 1 || rows < 2 || rows * std::max<i64>(cols, 1) < kMinWorkToThread) {
        fn(i64{0}, rows);
        return;
    }
    const i64 parts = std::min<i64>(nt, rows);
#pragma omp parallel for schedule(static) num_threads(static_cast<int>(parts))
    for (i64 p = 0; p < parts; ++p) fn(rows * p / parts, rows * (p + 1) / parts);
}

// ---------------------------------------------------------------------------------------------
// Input checks (all before any work): dtype float32 (TypeError), then ranks and shapes
// (ValueError), every message naming the op and the shapes.

using F32 = py::array_t<float, py::array::c_style | py::array::forcecast>;
using I64 = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>;

F32 f32(const std::string& op, const char* name, const py::array& x) {
    if (x.dtype().kind() != 'f' || x.itemsize() != 4)
        throw py::type_error(op + ": " + name + " must be float32, got " + dtype_str(x) +
                             " of shape " + shape_str(x));
    return F32::ensure(x);  // a C-contiguous copy only if x is not already
}

F32 f32_2d(const std::string& op, const char* name, const py::array& x) {
    F32 a = f32(op, name, x);
    if (a.ndim() != 2)
        throw py::value_error(op + ": " + name + " must be 2-D (rows, C), got shape " +
                              shape_str(x));
    return a;
}

void same_shape(const std::string& op, const py::array& a, const py::array& b) {
    if (a.ndim() != b.ndim() || a.shape(0) != b.shape(0) || a.shape(1) != b.shape(1))
        throw py::value_error(op + ": y and dy must have the same shape, got " + shape_str(a) +
                              " and " + shape_str(b));
}

// Targets (rows,) int64 and optional weights (C,) float32 for cross-entropy; checks every label.
struct CeInputs {
    F32 x;
    I64 target;
    F32 weight;  // empty when there are no weights
    CeArgs args;
};

CeInputs ce_inputs(const std::string& op, const py::array& logits, const py::array& target,
                   const py::object& weight, std::int64_t ignore_index, double eps) {
    CeInputs in{f32_2d(op, "logits", logits), I64(), F32(), CeArgs{}};
    const i64 rows = in.x.shape(0), C = in.x.shape(1);
    if (target.dtype().kind() != 'i' && target.dtype().kind() != 'u')
        throw py::type_error(op + ": target must hold integer class indices, got " +
                             dtype_str(target));
    if (target.ndim() != 1 || target.shape(0) != rows)
        throw py::value_error(op + ": logits of shape " + shape_str(logits) +
                              " need a target of shape (" + std::to_string(rows) +
                              ",), got shape " + shape_str(target));
    in.target = I64::ensure(target);
    float wsum = static_cast<float>(C);
    const float* wp = nullptr;
    if (!weight.is_none()) {
        in.weight = f32(op, "weight", weight.cast<py::array>());
        if (in.weight.ndim() != 1 || in.weight.shape(0) != C)
            throw py::value_error(op + ": weight must have one entry per class, shape (" +
                                  std::to_string(C) + ",), got shape " + shape_str(in.weight));
        wp = in.weight.data();
        double sw = 0.0;
        for (i64 c = 0; c < C; ++c) sw += wp[c];
        wsum = static_cast<float>(sw);
    }
    if (!(eps >= 0.0 && eps <= 1.0))
        throw py::value_error(op + ": label_smoothing must be in [0, 1], got " +
                              std::to_string(eps));
    const std::int64_t* tp = in.target.data();
    for (i64 r = 0; r < rows; ++r) {
        const std::int64_t t = tp[r];
        if (t != ignore_index && (t < 0 || t >= C))
            throw py::value_error(op + ": target label " + std::to_string(t) +
                                  " is out of range for " + std::to_string(C) +
                                  " classes (valid labels are 0.." + std::to_string(C - 1) +
                                  ", or ignore_index=" + std::to_string(ignore_index) + ")");
    }
    in.args = CeArgs{in.x.data(), tp, wp, C, ignore_index, static_cast<float>(eps), wsum};
    return in;
}

// ---------------------------------------------------------------------------------------------
// Python entry points: fast kernels.

// x: (rows, C) -> y: (rows, C)
py::array_t<float> softmax(const py::array& x_in) {
    const F32 x = f32_2d("softmax", "x", x_in);
    const i64 rows = x.shape(0), C = x.shape(1);
    py::array_t<float> y({rows, C});
    const float* xp = x.data();
    float* yp = y.mutable_data();
    {
        py::gil_scoped_release nogil;
        const Kernels& k = kernels();
        for_rows(rows, C, [&](i64 r0, i64 r1) { k.softmax(xp, yp, C, r0, r1); });
    }
    return y;
}

py::array_t<float> log_softmax(const py::array& x_in) {
    const F32 x = f32_2d("log_softmax", "x", x_in);
    const i64 rows = x.shape(0), C = x.shape(1);
    py::array_t<float> y({rows, C});
    const float* xp = x.data();
    float* yp = y.mutable_data();
    {
        py::gil_scoped_release nogil;
        const Kernels& k = kernels();
        for_rows(rows, C, [&](i64 r0, i64 r1) { k.log_softmax(xp, yp, C, r0, r1); });
    }
    return y;
}

template <bool kLog>
py::array_t<float> softmax_backward_impl(const char* op, const py::array& y_in,
                                         const py::array& dy_in) {
    const F32 y = f32_2d(op, "y", y_in);
    const F32 dy = f32_2d(op, "dy", dy_in);
    same_shape(op, y, dy);
    const i64 rows = y.shape(0), C = y.shape(1);
    py::array_t<float> dx({rows, C});
    const float *yp = y.data(), *gp = dy.data();
    float* dp = dx.mutable_data();
    {
        py::gil_scoped_release nogil;
        const auto fn = kLog ? kernels().log_softmax_backward : kernels().softmax_backward;
        for_rows(rows, C, [&](i64 r0, i64 r1) { fn(yp, gp, dp, C, r0, r1); });
    }
    return dx;
}

// logits: (rows, C), target: (rows,) -> (loss (rows,), lse (rows,), sum of losses, sum of
// the kept targets' weights)
py::tuple cross_entropy_forward(const py::array& logits, const py::array& target,
                                const py::object& weight, std::int64_t ignore_index,
                                double label_smoothing) {
    CeInputs in = ce_inputs("cross_entropy", logits, target, weight, ignore_index, label_smoothing);
    const i64 rows = in.x.shape(0), C = in.x.shape(1);
    py::array_t<float> loss(rows), lse(rows);
    float* lp = loss.mutable_data();
    float* ep = lse.mutable_data();
    double total = 0.0, wkept = 0.0;
    {
        py::gil_scoped_release nogil;
        const CeArgs& a = in.args;
        const auto fn = kernels().ce_forward;
        for_rows(rows, C, [&](i64 r0, i64 r1) { fn(a, lp, ep, r0, r1); });
        for (i64 r = 0; r < rows; ++r) {
            total += lp[r];
            const std::int64_t t = a.target[r];
            if (t != a.ignore_index) wkept += a.weight ? a.weight[t] : 1.0f;
        }
    }
    return py::make_tuple(loss, lse, total, wkept);
}

// grad: one value or (rows,) -> dlogits (rows, C)
py::array_t<float> cross_entropy_backward(const py::array& logits, const py::array& lse_in,
                                          const py::array& target, const py::array& grad_in,
                                          const py::object& weight, std::int64_t ignore_index,
                                          double label_smoothing, double scale) {
    const std::string op = "cross_entropy_backward";
    CeInputs in = ce_inputs(op, logits, target, weight, ignore_index, label_smoothing);
    const i64 rows = in.x.shape(0), C = in.x.shape(1);
    const F32 lse = f32(op, "lse", lse_in);
    if (lse.ndim() != 1 || lse.shape(0) != rows)
        throw py::value_error(op + ": lse must have shape (" + std::to_string(rows) +
                              ",), got shape " + shape_str(lse_in));
    const F32 grad = f32(op, "grad", grad_in);
    if (grad.size() != 1 && !(grad.ndim() == 1 && grad.shape(0) == rows))
        throw py::value_error(op + ": grad must hold one value or have shape (" +
                              std::to_string(rows) + ",), got shape " + shape_str(grad_in));
    const i64 gstride = grad.size() == 1 ? 0 : 1;
    py::array_t<float> dx({rows, C});
    float* dp = dx.mutable_data();
    const float *lp = lse.data(), *gp = grad.data();
    const float sc = static_cast<float>(scale);
    {
        py::gil_scoped_release nogil;
        const CeArgs& a = in.args;
        const auto fn = kernels().ce_backward;
        for_rows(rows, C, [&](i64 r0, i64 r1) { fn(a, lp, gp, gstride, sc, dp, r0, r1); });
    }
    return dx;
}

// ---------------------------------------------------------------------------------------------
// Naive references: two passes per row, std::exp / std::log, float accumulation, one thread.

py::array_t<float> softmax_naive(const py::array& x_in) {
    const F32 x = f32_2d("softmax_naive", "x", x_in);
    const i64 rows = x.shape(0), C = x.shape(1);
    py::array_t<float> y({rows, C});
    const float* xp = x.data();
    float* yp = y.mutable_data();
    {
        py::gil_scoped_release nogil;
        for (i64 r = 0; r < rows; ++r) {
            float m = -kInf, s = 0.0f;
            for (i64 j = 0; j < C; ++j) m = std::max(m, xp[r * C + j]);
            for (i64 j = 0; j < C; ++j) s += std::exp(xp[r * C + j] - m);
            for (i64 j = 0; j < C; ++j) yp[r * C + j] = std::exp(xp[r * C + j] - m) / s;
        }
    }
    return y;
}

py::array_t<float> log_softmax_naive(const py::array& x_in) {
    const F32 x = f32_2d("log_softmax_naive", "x", x_in);
    const i64 rows = x.shape(0), C = x.shape(1);
    py::array_t<float> y({rows, C});
    const float* xp = x.data();
    float* yp = y.mutable_data();
    {
        py::gil_scoped_release nogil;
        for (i64 r = 0; r < rows; ++r) {
            float m = -kInf, s = 0.0f;
            for (i64 j = 0; j < C; ++j) m = std::max(m, xp[r * C + j]);
            for (i64 j = 0; j < C; ++j) s += std::exp(xp[r * C + j] - m);
            const float ls = std::log(s);
            for (i64 j = 0; j < C; ++j) yp[r * C + j] = (xp[r * C + j] - m) - ls;
        }
    }
    return y;
}

template <bool kLog>
py::array_t<float> softmax_backward_naive_impl(const char* op, const py::array& y_in,
                                               const py::array& dy_in) {
    const F32 y = f32_2d(op, "y", y_in);
    const F32 dy = f32_2d(op, "dy", dy_in);
    same_shape(op, y, dy);
    const i64 rows = y.shape(0), C = y.shape(1);
    py::array_t<float> dx({rows, C});
    const float *yp = y.data(), *gp = dy.data();
    float* dp = dx.mutable_data();
    {
        py::gil_scoped_release nogil;
        for (i64 r = 0; r < rows; ++r) {
            float s = 0.0f;
            for (i64 j = 0; j < C; ++j) s += kLog ? gp[r * C + j] : gp[r * C + j] * yp[r * C + j];
            for (i64 j = 0; j < C; ++j) {
                const i64 k = r * C + j;
                dp[k] = kLog ? gp[k] - std::exp(yp[k]) * s : yp[k] * (gp[k] - s);
            }
        }
    }
    return dx;
}

py::tuple cross_entropy_forward_naive(const py::array& logits, const py::array& target,
                                      const py::object& weight, std::int64_t ignore_index,
                                      double label_smoothing) {
    CeInputs in =
        ce_inputs("cross_entropy_naive", logits, target, weight, ignore_index, label_smoothing);
    const CeArgs& a = in.args;
    const i64 rows = in.x.shape(0), C = a.C;
    py::array_t<float> loss(rows), lse(rows);
    float* lp = loss.mutable_data();
    float* ep = lse.mutable_data();
    double total = 0.0, wkept = 0.0;
    {
        py::gil_scoped_release nogil;
        for (i64 r = 0; r < rows; ++r) {
            const float* xr = a.x + r * C;
            float m = -kInf, s = 0.0f;
            for (i64 j = 0; j < C; ++j) m = std::max(m, xr[j]);
            for (i64 j = 0; j < C; ++j) s += std::exp(xr[j] - m);
            const float l = m + std::log(s);
            ep[r] = l;
            const std::int64_t t = a.target[r];
            if (t == ignore_index) {
                lp[r] = 0.0f;
                continue;
            }
            const float wt = a.weight ? a.weight[t] : 1.0f;
            float smooth = 0.0f;
            for (i64 j = 0; j < C; ++j) smooth += (a.weight ? a.weight[j] : 1.0f) * (l - xr[j]);
            lp[r] = (1.0f - a.eps) * wt * (l - xr[t]) + a.eps / static_cast<float>(C) * smooth;
            total += lp[r];
            wkept += wt;
        }
    }
    return py::make_tuple(loss, lse, total, wkept);
}

py::array_t<float> cross_entropy_backward_naive(const py::array& logits, const py::array& lse_in,
                                                const py::array& target, const py::array& grad_in,
                                                const py::object& weight,
                                                std::int64_t ignore_index, double label_smoothing,
                                                double scale) {
    const std::string op = "cross_entropy_backward_naive";
    CeInputs in = ce_inputs(op, logits, target, weight, ignore_index, label_smoothing);
    const CeArgs& a = in.args;
    const i64 rows = in.x.shape(0), C = a.C;
    const F32 lse = f32(op, "lse", lse_in);
    const F32 grad = f32(op, "grad", grad_in);
    if (lse.ndim() != 1 || lse.shape(0) != rows)
        throw py::value_error(op + ": lse must have shape (" + std::to_string(rows) +
                              ",), got shape " + shape_str(lse_in));
    if (grad.size() != 1 && !(grad.ndim() == 1 && grad.shape(0) == rows))
        throw py::value_error(op + ": grad must hold one value or have shape (" +
                              std::to_string(rows) + ",), got shape " + shape_str(grad_in));
    py::array_t<float> dx({rows, C});
    float* dp = dx.mutable_data();
    const float *lp = lse.data(), *gp = grad.data();
    {
        py::gil_scoped_release nogil;
        for (i64 r = 0; r < rows; ++r) {
            const std::int64_t t = a.target[r];
            const float s = gp[grad.size() == 1 ? 0 : r] * static_cast<float>(scale);
            for (i64 j = 0; j < C; ++j) {
                if (t == ignore_index) {
                    dp[r * C + j] = 0.0f;
                    continue;
                }
                // d loss / d x_j = sum_c q_c (p_j - [j == c]) with q_c the weighted target mass.
                const float p = std::exp(a.x[r * C + j] - lp[r]);
                const float wj = a.weight ? a.weight[j] : 1.0f;
                const float wt = a.weight ? a.weight[t] : 1.0f;
                const float eps_c = a.eps / static_cast<float>(C);
                float g = (1.0f - a.eps) * wt * (p - (j == t ? 1.0f : 0.0f));
                g += eps_c * (a.wsum * p - wj);
                dp[r * C + j] = s * g;
            }
        }
    }
    return dx;
}

}  // namespace

void register_softmax(py::module_& m) {
    m.def("softmax", &softmax, py::arg("x"),
          R"doc(Softmax of each row of a float32 (rows, C) array -> (rows, C).

Max-subtracted (no overflow), online (x is read once for the max and the sum), threaded over
rows. Non-contiguous input is copied first. Raises TypeError for non-float32 input and
ValueError unless x is 2-D.)doc");
    m.def("log_softmax", &log_softmax, py::arg("x"),
          R"doc(Log-softmax of each row of a float32 (rows, C) array -> (rows, C).

x - logsumexp(x) per row, with the log-sum-exp computed online (one read of x).)doc");
    m.def(
        "softmax_backward",
        [](const py::array& y, const py::array& dy) {
            return softmax_backward_impl<false>("softmax_backward", y, dy);
        },
        py::arg("y"), py::arg("dy"),
        R"doc(Softmax's vector-Jacobian product: dx = y * (dy - sum(dy * y)) per row.

y = softmax(x) and dy: float32 (rows, C) of the same shape.)doc");
    m.def(
        "log_softmax_backward",
        [](const py::array& y, const py::array& dy) {
            return softmax_backward_impl<true>("log_softmax_backward", y, dy);
        },
        py::arg("y"), py::arg("dy"),
        R"doc(Log-softmax's vector-Jacobian product: dx = dy - exp(y) * sum(dy) per row.

y = log_softmax(x) and dy: float32 (rows, C) of the same shape.)doc");
    m.def("cross_entropy_forward", &cross_entropy_forward, py::arg("logits"), py::arg("target"),
          py::arg("weight") = py::none(), py::arg("ignore_index") = -100,
          py::arg("label_smoothing") = 0.0,
          R"doc(Fused softmax + cross-entropy per row, PyTorch's formula.

logits: float32 (rows, C); target: integer (rows,); weight: float32 (C,) or None.
Returns (loss, lse, total, weight_sum): loss (rows,) the per-row losses (0 where the target
is ignore_index), lse (rows,) each row's log-sum-exp (what the backward needs), total the
sum of the losses, weight_sum the sum of the kept targets' weights (their count without
weights): the 'mean' reduction is total / weight_sum.
Raises ValueError for a label outside [0, C) that is not ignore_index.)doc");
    m.def("cross_entropy_backward", &cross_entropy_backward, py::arg("logits"), py::arg("lse"),
          py::arg("target"), py::arg("grad"), py::arg("weight") = py::none(),
          py::arg("ignore_index") = -100, py::arg("label_smoothing") = 0.0,
          py::arg("scale") = 1.0,
          R"doc(Gradient of the fused cross-entropy with respect to the logits, in one pass.

dlogits[i] = grad_i * scale * ((1 - eps) w_t (p_i - onehot_t) + (eps / C) (sum(w) p_i - w))
with p_i = softmax(logits[i]) = exp(logits[i] - lse[i]); 0 for ignored rows. grad: one value (reduction 'mean' or 'sum') or (rows,) ('none');
scale: 1 / weight_sum for 'mean', else 1.)doc");

    m.def("softmax_naive", &softmax_naive, py::arg("x"),
          "Reference softmax: the two-pass textbook loop with std::exp, one thread.");
    m.def("log_softmax_naive", &log_softmax_naive, py::arg("x"),
          "Reference log-softmax: the two-pass textbook loop, one thread.");
    m.def(
        "softmax_backward_naive",
        [](const py::array& y, const py::array& dy) {
            return softmax_backward_naive_impl<false>("softmax_backward_naive", y, dy);
        },
        py::arg("y"), py::arg("dy"), "Reference softmax backward, one thread.");
    m.def(
        "log_softmax_backward_naive",
        [](const py::array& y, const py::array& dy) {
            return softmax_backward_naive_impl<true>("log_softmax_backward_naive", y, dy);
        },
        py::arg("y"), py::arg("dy"), "Reference log-softmax backward (std::exp), one thread.");
    m.def("cross_entropy_forward_naive", &cross_entropy_forward_naive, py::arg("logits"),
          py::arg("target"), py::arg("weight") = py::none(), py::arg("ignore_index") = -100,
          py::arg("label_smoothing") = 0.0,
          "Reference fused cross-entropy forward (same returns as cross_entropy_forward).");
    m.def("cross_entropy_backward_naive", &cross_entropy_backward_naive, py::arg("logits"),
          py::arg("lse"), py::arg("target"), py::arg("grad"), py::arg("weight") = py::none(),
          py::arg("ignore_index") = -100, py::arg("label_smoothing") = 0.0,
          py::arg("scale") = 1.0,
          "Reference fused cross-entropy backward: the gradient formula element by element.");
}

}  // namespace tt
