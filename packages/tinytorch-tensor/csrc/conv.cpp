// conv.cpp: conv2d forward, grad input, grad weight and grad bias (float32, NCHW), plus
// direct-loop references.
//
// Shapes: x (N, C, H, W), weight (O, C, KH, KW), y = grad_out (N, O, OH, OW); K = C*KH*KW is the
// length of one receptive field, P = OH*OW the number of output pixels of one image.
//
// Which algorithm. A convolution is a matrix product once every receptive field is laid out as
// a column (im2col): y[n] (O, P) = W (O, K) @ cols[n] (K, P). The alternatives:
//   - direct loops (the *_naive functions below) re-read each weight for every pixel and cannot
//     keep a register tile busy: ~70x slower than this file's kernels on one core;
//   - Winograd F(2x2, 3x3) saves 2.25x of the multiplies, but only for 3x3 stride 1, with its own
//     transforms for the two backward passes and a precision loss students would have to hear
//     about; the GEMM here already runs near the FMA limit, so the gain is small in practice;
//   - im2col + GEMM reuses the packed, register-tiled GEMM (gemm.h) for all three passes and all
//     strides, paddings and dilations. That is what this file does, with three changes from the
//     textbook version (whole-batch column matrix + one library GEMM call):
//
// 1. Implicit im2col: the column matrix is never built. The GEMM packs its operands into panels
//    anyway (gemm_pack.h: B panels are (k, NR) with NR = 32 pixels side by side), so the packing
//    step reads the receptive fields straight out of the image. The expanded data (9x the input
//    for 3x3) only ever exists one 32 KiB panel at a time, in L1, right before the micro-kernel
//    uses it. The weights are packed once per call (not once per image, as a per-image GEMM
//    call would), since they are the same for every image.
// 2. Padding is done once per image, by copying it into a zero-bordered buffer (which also
//    absorbs any input strides). Packing then never tests bounds: a receptive field row is a
//    plain run of floats, one vectorised copy.
// 3. Threads split the batch (one image, or part of one, per work item), never the inner GEMM:
//    no barriers inside, each thread packs its own panels and writes its own outputs.
//
// The three passes:
//   forward      y[n] (O, P) = W (O, K) @ cols[n] (K, P) + b    A = W (packed once), B = panels
//                of cols packed from the padded image, C written straight into y's NCHW planes
//                (row o of C is channel o: P contiguous floats). The bias is written first and the
//                GEMM accumulates onto it.
//   grad input   dcols[n] (K, P) = W^T (K, O) @ gy[n] (O, P); dx[n] = col2im(dcols[n])
//                A = W^T (packed once, per channel block), B = gy[n] (a plain 2-D view), C =
//                dcols in a per-thread buffer that stays in L2; col2im adds each row of it onto
//                the zero-bordered dx image (windows overlap, so this is a sum), and the border is
//                dropped when the image is copied out. Work items are (image, channel block):
//                col2im of different channels never touches the same floats, so no races.
//   grad weight  dW^T (K, O) = sum over n, p of cols (K, pixels) @ gy^T (pixels, O)
//                The sum over pixels is the GEMM's k loop, so k-blocks of ~256 pixels can span
//                several images (at 8x8 one image has only 64 pixels). A = cols must be packed as
//                MR rows side by side for each pixel: from an NCHW image that is a transpose, one
//                scalar store per float. So the images are first copied to zero-bordered NHWC
//                (channels last), and the rows of cols are ordered (i, j, c) instead of (c, i, j):
//                the MR rows of a panel are then MR consecutive channels of one pixel, a
//                contiguous run (with dilation 1, a whole kernel row (j, c) is one run). Each
//                thread sums into its own (K, O) matrix; the matrices are added and reordered
//                into (O, C, KH, KW) at the end. B = gy^T is a transpose of gy[n].
//
// Small things that matter (each measured, each a few % to 2x of a pass):
//   - Runs are short (an output row: 8, 16 or 32 floats at these sizes). A copy loop with a
//     run-time length gets scalar head/tail code, or is turned into a libc memmove call, so the
//     packers detect the usual fixed lengths and use constant-size memcpy (one or two vector
//     moves). GCC also drops `restrict` when it inlines a helper and then scalarises an add loop;
//     col2im's adds are therefore written with GCC's portable vector types (v8f below).
//   - For grad weight with few channels (RGB: runs of 3 to 9 floats), each run is copied as a
//     fixed 16-float block: the excess is overwritten by the next run, the zero tail or the
//     next pixel, which are all written afterwards (16 floats of slack end each buffer).
//   - Transposes (NCHW -> NHWC, gy -> gy^T) go through 8x8 blocks shuffled in registers
//     (transpose8x8); a plain loop compiles to one scalar load and store per float.
//   - A broadcast gradient (stride 0, what .sum().backward() produces) is read as such: one
//     row of the panel is built and repeated, no N*O*P copy.
//
// Memory: beyond the output, a call allocates the packed weights (the size of W), per thread a
// padded image and the panels, and for grad weight an NHWC copy of up to ~8 MiB of images. No
// K x (N*P) column matrix exists at any time.
#include <algorithm>
#include <array>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "common.h"
#include "gemm.h"
#include "simd.h"

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace tt {

namespace {

using i64 = std::int64_t;
using Pair = std::array<i64, 2>;

inline i64 cdiv(i64 a, i64 b) { return (a + b - 1) / b; }
inline i64 round_up(i64 a, i64 b) { return cdiv(a, b) * b; }

inline int thread_id() {
#if defined(_OPENMP)
    return omp_get_thread_num();
#else
    return 0;
#endif
}

// Below this many flops a pass runs on one thread (starting a parallel region costs a few us).
constexpr double kMinFlopsToThread = double(1 << 21);

int threads_for(double flops, i64 items) {
    int nt = active_num_threads();
    if (flops < kMinFlopsToThread) nt = 1;
    return static_cast<int>(std::max<i64>(1, std::min<i64>(nt, items)));
}

// Per-thread buffers, reused across calls (fresh pages cost a page fault each; see gemm.cpp).
// Slot 0 is used by the calling thread only, outside parallel regions (shared packed weights).
float* scratch(int slot, i64 n) {
    thread_local AlignedFloats buf[4];
    thread_local i64 cap[4] = {0, 0, 0, 0};
    if (cap[slot] < n) {
        buf[slot].reset();
        buf[slot] = aligned_floats(n);
        cap[slot] = n;
    }
    return buf[slot].get();
}

// A strided 4-D float32 view; strides in elements.
struct View4 {
    const float* p;
    i64 s[4];
};

struct Geom {
    i64 N, C, H, W;  // input
    i64 O, KH, KW;   // weight
    i64 SH, SW, PH, PW, DH, DW;
    i64 OH, OW;
    i64 Hp, Wp;  // zero-bordered input
    i64 K() const { return C * KH * KW; }
    i64 P() const { return OH * OW; }
    double flops() const { return 2.0 * N * O * K() * P(); }
};

// A run of pixels that are evenly spaced in the source: dst[t] <-> src[t * step], t < len.
struct Run {
    i64 src, dst, len, step;
};

// ---------------------------------------------------------------------------------------------
// Input checks.

std::string pair_str(Pair p) {
    return "(" + std::to_string(p[0]) + ", " + std::to_string(p[1]) + ")";
}

View4 view4(const char* op, const char* name, const char* dims, const py::array& x) {
    if (!x.dtype().equal(py::dtype::of<float>()))
        throw py::type_error(std::string(op) + ": expected float32 arrays, got " + dtype_str(x) +
                             " for " + name);
    if (x.ndim() != 4)
        throw py::value_error(std::string(op) + ": expected " + name + " of shape " + dims +
                              ", got shape " + shape_str(x));
    View4 v{static_cast<const float*>(x.data()), {0, 0, 0, 0}};
    for (int d = 0; d < 4; ++d) {
        const auto s = x.strides(d);
        if (s < 0 || s % static_cast<py::ssize_t>(sizeof(float)) != 0)
            throw py::value_error(std::string(op) + ": " + name +
                                  " needs non-negative strides that are multiples of 4 bytes, "
                                  "got stride " +
                                  std::to_string(s) + " in dim " + std::to_string(d) +
                                  "; pass a contiguous copy");
        v.s[d] = s / static_cast<i64>(sizeof(float));
    }
    if (reinterpret_cast<std::uintptr_t>(x.data()) % alignof(float) != 0)
        throw py::value_error(std::string(op) + ": " + name + " is not 4-byte aligned");
    return v;
}

Geom make_geom(const char* op, i64 N, i64 C, i64 H, i64 W, i64 O, i64 KH, i64 KW, Pair stride,
               Pair padding, Pair dilation) {
    if (stride[0] < 1 || stride[1] < 1)
        throw py::value_error(std::string(op) + ": stride must be >= 1, got " + pair_str(stride));
    if (dilation[0] < 1 || dilation[1] < 1)
        throw py::value_error(std::string(op) + ": dilation must be >= 1, got " +
                              pair_str(dilation));
    if (padding[0] < 0 || padding[1] < 0)
        throw py::value_error(std::string(op) + ": padding must be >= 0, got " +
                              pair_str(padding));
    if (KH < 1 || KW < 1)
        throw py::value_error(std::string(op) + ": kernel size must be >= 1, got (" +
                              std::to_string(KH) + ", " + std::to_string(KW) + ")");
    Geom g{N, C, H, W, O, KH, KW, stride[0], stride[1], padding[0], padding[1],
           dilation[0], dilation[1], 0, 0, 0, 0};
    const i64 nh = H + 2 * g.PH - g.DH * (KH - 1) - 1, nw = W + 2 * g.PW - g.DW * (KW - 1) - 1;
    if (nh < 0 || nw < 0)
        throw py::value_error(std::string(op) + ": kernel (" + std::to_string(KH) + ", " +
                              std::to_string(KW) + ") with dilation " + pair_str(dilation) +
                              " does not fit an input of size (" + std::to_string(H) + ", " +
                              std::to_string(W) + ") with padding " + pair_str(padding));
    g.OH = nh / g.SH + 1;
    g.OW = nw / g.SW + 1;
    g.Hp = H + 2 * g.PH;
    g.Wp = W + 2 * g.PW;
    return g;
}

// ---------------------------------------------------------------------------------------------
// Building blocks (the TT_CLONES ones are compiled per ISA; see simd.h).

// Runs of output pixels [p0, p0 + n) within one output row each, as offsets into a zero-bordered
// NCHW plane of row length wp: pixel (oy, ox) reads (oy*SH, ox*SW) plus the tap's offset.
void pixel_runs(const Geom& g, i64 p0, i64 n, std::vector<Run>& runs) {
    runs.clear();
    for (i64 t = 0; t < n;) {
        const i64 p = p0 + t, oy = p / g.OW, ox = p % g.OW;
        const i64 len = std::min(n - t, g.OW - ox);
        runs.push_back(Run{oy * g.SH * g.Wp + ox * g.SW, t, len, g.SW});
        t += len;
    }
}

// Offset of row kk = (c, i, j) of cols (the tap (i, j) of channel c) in a zero-bordered NCHW
// image: the receptive field of output pixel (oy, ox) is at koff[kk] + oy*SH*Wp + ox*SW.
std::vector<i64> tap_offsets_nchw(const Geom& g, i64 c0, i64 c1) {
    std::vector<i64> koff;
    koff.reserve((c1 - c0) * g.KH * g.KW);
    for (i64 c = c0; c < c1; ++c)
        for (i64 i = 0; i < g.KH; ++i)
            for (i64 j = 0; j < g.KW; ++j)
                koff.push_back((c - c0) * g.Hp * g.Wp + i * g.DH * g.Wp + j * g.DW);
    return koff;
}

// Helpers called from TT_CLONES functions must be inlined into them to get the clone's ISA: an
// out-of-line copy would be compiled once, for the baseline.
#if defined(__GNUC__)
#define TT_INLINE inline __attribute__((always_inline))
#else
#define TT_INLINE inline
#endif

#if defined(__GNUC__) && !defined(__clang__)
#define TT_VEC8 1
typedef float v8f __attribute__((vector_size(32), aligned(4)));
typedef int v8i __attribute__((vector_size(32)));
#endif

// Short copies of n floats. Runs are short (often 8 to 32 floats: one output row), so these
// unroll into fixed 16/8/4-float blocks: GCC turns a constant-size memcpy into plain vector
// moves, where a variable-length loop would get scalar prologue/epilogue code or a libc call.
TT_INLINE void copy_run(float* __restrict d, const float* __restrict s, i64 n) {
    i64 t = 0;
    for (; t + 16 <= n; t += 16) std::memcpy(d + t, s + t, 64);
    if (t + 8 <= n) std::memcpy(d + t, s + t, 32), t += 8;
    if (t + 4 <= n) std::memcpy(d + t, s + t, 16), t += 4;
    // At most 3 left: spelled out, since GCC turns a tail loop into a call to memmove.
    if (t < n) d[t] = s[t];
    if (t + 1 < n) d[t + 1] = s[t + 1];
    if (t + 2 < n) d[t + 2] = s[t + 2];
}

TT_INLINE void zero_run(float* d, i64 n) {
    i64 t = 0;
    for (; t + 16 <= n; t += 16) std::memset(d + t, 0, 64);
    if (t + 8 <= n) std::memset(d + t, 0, 32), t += 8;
    if (t + 4 <= n) std::memset(d + t, 0, 16), t += 4;
    if (t < n) d[t] = 0.0f;
    if (t + 1 < n) d[t + 1] = 0.0f;
    if (t + 2 < n) d[t + 2] = 0.0f;
}

// d[0:8] += s[0:8]. GCC vectorises neither this loop nor the copy loops reliably once they are
// inlined (it loses the no-overlap guarantee and falls back to scalar code), so with GCC it is
// written with its portable vector extensions: 8-float vectors, compiled per clone.
TT_INLINE void add8(float* d, const float* s) {
#if defined(TT_VEC8)
    v8f a, b;
    std::memcpy(&a, d, 32);
    std::memcpy(&b, s, 32);
    a += b;
    std::memcpy(d, &a, 32);
#else
    for (int u = 0; u < 8; ++u) d[u] += s[u];
#endif
}

TT_INLINE void add_run(float* d, const float* s, i64 n) {
    i64 t = 0;
    for (; t + 8 <= n; t += 8) add8(d + t, s + t);
    for (; t < n; ++t) d[t] += s[t];
}

// xp: (C, Hp, Wp) zero-bordered copy of one image x: (C, H, W) with strides s (in elements).
TT_CLONES void pad_image(const float* x, const i64* s, i64 C, i64 H, i64 W, i64 PH, i64 PW,
                         float* xp) {
    const i64 Wp = W + 2 * PW, Hp = H + 2 * PH;
    for (i64 c = 0; c < C; ++c) {
        float* plane = xp + c * Hp * Wp;
        std::memset(plane, 0, sizeof(float) * PH * Wp);
        std::memset(plane + (PH + H) * Wp, 0, sizeof(float) * PH * Wp);
        for (i64 h = 0; h < H; ++h) {
            float* __restrict d = plane + (PH + h) * Wp;
            const float* __restrict src = x + c * s[0] + h * s[1];
            for (i64 w = 0; w < PW; ++w) d[w] = 0.0f, d[PW + W + w] = 0.0f;
            if (s[2] == 1) {
                copy_run(d + PW, src, W);
            } else {
                for (i64 w = 0; w < W; ++w) d[PW + w] = src[w * s[2]];
            }
        }
    }
}

// d[j*ld + i] = s[i*ls + j] for an 8x8 block. Compilers do not vectorise a transpose written
// as loops (it needs shuffles), so with GCC this uses its portable vector extensions: eight
// 8-float vectors and the textbook unpack / shuffle / permute network (24 shuffles for 64
// floats). Each clone (simd.h) compiles it for its ISA: single AVX instructions on AVX2 and
// AVX-512, pairs of SSE ones on the baseline. Other compilers get the plain loop.
#if defined(TT_VEC8)
TT_INLINE void transpose8x8(const float* __restrict s, i64 ls, float* __restrict d, i64 ld) {
    v8f r[8], t[8], u[8];
    for (int i = 0; i < 8; ++i) std::memcpy(&r[i], s + i * ls, 32);
    for (int i = 0; i < 8; i += 2) {  // unpacklo / unpackhi of row pairs
        t[i] = __builtin_shuffle(r[i], r[i + 1], v8i{0, 8, 1, 9, 4, 12, 5, 13});
        t[i + 1] = __builtin_shuffle(r[i], r[i + 1], v8i{2, 10, 3, 11, 6, 14, 7, 15});
    }
    for (int i = 0; i < 8; i += 4)  // shuffle pairs of 2-float groups
        for (int h = 0; h < 2; ++h) {
            u[i + h] = __builtin_shuffle(t[i + h], t[i + h + 2], v8i{0, 1, 8, 9, 4, 5, 12, 13});
            u[i + h + 2] =
                __builtin_shuffle(t[i + h], t[i + h + 2], v8i{2, 3, 10, 11, 6, 7, 14, 15});
        }
    // u[0..3] hold columns {0,4}, {2,6}, {1,5}, {3,7} of rows 0-3 (low/high 128-bit halves);
    // u[4..7] the same for rows 4-7. Join the halves.
    const int col_of[4] = {0, 2, 1, 3};
    for (int k = 0; k < 4; ++k) {
        const v8f lo = __builtin_shuffle(u[k], u[k + 4], v8i{0, 1, 2, 3, 8, 9, 10, 11});
        const v8f hi = __builtin_shuffle(u[k], u[k + 4], v8i{4, 5, 6, 7, 12, 13, 14, 15});
        std::memcpy(d + col_of[k] * ld, &lo, 32);
        std::memcpy(d + (col_of[k] + 4) * ld, &hi, 32);
    }
}
#else
TT_INLINE void transpose8x8(const float* __restrict s, i64 ls, float* __restrict d, i64 ld) {
    for (int i = 0; i < 8; ++i)
        for (int j = 0; j < 8; ++j) d[j * ld + i] = s[i * ls + j];
}
#endif

// xt: (Hp, Wp, C) zero-bordered channels-last copy of one image x: (C, H, W), strides s.
// A transpose of each image row (C, W) -> (W, C), done in 8x8 blocks so that both the reads and
// the writes stay within a few cache lines.
TT_CLONES void pad_image_nhwc(const float* x, const i64* s, i64 C, i64 H, i64 W, i64 PH, i64 PW,
                              float* xt) {
    const i64 Wp = W + 2 * PW;
    std::memset(xt, 0, sizeof(float) * PH * Wp * C);
    std::memset(xt + (PH + H) * Wp * C, 0, sizeof(float) * PH * Wp * C);
    for (i64 h = 0; h < H; ++h) {
        float* row = xt + (PH + h) * Wp * C;
        std::memset(row, 0, sizeof(float) * PW * C);
        std::memset(row + (PW + W) * C, 0, sizeof(float) * PW * C);
        row += PW * C;
        const float* src = x + h * s[1];
        i64 c0 = 0;
        if (s[2] == 1) {
            for (; c0 + 8 <= C; c0 += 8) {
                i64 w0 = 0;
                for (; w0 + 8 <= W; w0 += 8)
                    transpose8x8(src + c0 * s[0] + w0, s[0], row + w0 * C + c0, C);
                for (; w0 < W; ++w0)
                    for (i64 c = c0; c < c0 + 8; ++c) row[w0 * C + c] = src[c * s[0] + w0];
            }
        }
        for (; c0 < C; ++c0)
            for (i64 w = 0; w < W; ++w) row[w * C + c0] = src[c0 * s[0] + w * s[2]];
    }
}

// One B panel of the forward GEMM, read from a zero-bordered image: dst (k, nr) with
// dst[kk*nr + t] = cols[kk][pixel t] = xp[koff[kk] + pixel t's offset]; columns past `valid`
// are zero.
TT_CLONES void pack_cols_panel(const float* xp, const i64* koff, i64 k, const Run* runs,
                               i64 nruns, i64 valid, i64 nr, float* dst) {
    // The common case: a full panel of whole output rows of 8, 16 or 32 pixels, stride 1
    // (OW = 8, 16, 32, or a multiple of 32). Then every copy has the same constant length.
    bool uniform = valid == nr && nruns <= 8;
    for (i64 r = 0; r < nruns && uniform; ++r)
        uniform = runs[r].step == 1 && runs[r].len == runs[0].len && runs[r].dst == r * runs[0].len;
    const i64 len = nruns > 0 ? runs[0].len : 0;
    if (uniform && (len == 8 || len == 16 || len == 32)) {
        i64 src[8];
        for (i64 r = 0; r < nruns; ++r) src[r] = runs[r].src;
        for (i64 kk = 0; kk < k; ++kk) {
            const float* s = xp + koff[kk];
            float* d = dst + kk * nr;
            if (len == 32)
                for (i64 r = 0; r < nruns; ++r) std::memcpy(d + r * 32, s + src[r], 128);
            else if (len == 16)
                for (i64 r = 0; r < nruns; ++r) std::memcpy(d + r * 16, s + src[r], 64);
            else
                for (i64 r = 0; r < nruns; ++r) std::memcpy(d + r * 8, s + src[r], 32);
        }
        return;
    }
    for (i64 kk = 0; kk < k; ++kk) {
        const float* s = xp + koff[kk];
        float* d = dst + kk * nr;
        for (i64 r = 0; r < nruns; ++r) {
            const Run& run = runs[r];
            const float* sr = s + run.src;
            float* dr = d + run.dst;
            if (run.step == 1) {
                copy_run(dr, sr, run.len);
            } else {
                for (i64 t = 0; t < run.len; ++t) dr[t] = sr[t * run.step];
            }
        }
        zero_run(d + valid, nr - valid);
    }
}

// col2im of a block of columns: for each row kk of dcols (rows, ld), add its pixels onto the
// zero-bordered image dxp at koff[kk] + pixel offset. For one kk no two pixels share a target,
// so the inner loop is a plain vectorisable add.
TT_CLONES void col2im_add(const float* dcols, i64 ld, i64 rows, const i64* koff, const Run* runs,
                          i64 nruns, float* dxp) {
    // Common case (as in pack_cols_panel): unit-stride runs of 8, 16 or 32 pixels, one per
    // output row: fixed-size adds.
    bool uniform = nruns > 0;
    for (i64 r = 0; r < nruns && uniform; ++r)
        uniform = runs[r].step == 1 && runs[r].len == runs[0].len;
    const i64 len = nruns > 0 ? runs[0].len : 0;
    if (uniform && (len == 8 || len == 16 || len == 32)) {
        for (i64 kk = 0; kk < rows; ++kk) {
            const float* s = dcols + kk * ld;
            float* d = dxp + koff[kk];
            for (i64 r = 0; r < nruns; ++r)
                for (i64 t = 0; t < len; t += 8) add8(d + runs[r].src + t, s + runs[r].dst + t);
        }
        return;
    }
    for (i64 kk = 0; kk < rows; ++kk) {
        const float* s = dcols + kk * ld;
        float* d = dxp + koff[kk];
        for (i64 r = 0; r < nruns; ++r) {
            const Run& run = runs[r];
            const float* sr = s + run.dst;
            float* dr = d + run.src;
            if (run.step == 1) {
                add_run(dr, sr, run.len);
            } else {
                for (i64 t = 0; t < run.len; ++t) dr[t * run.step] += sr[t];
            }
        }
    }
}

// One A panel of the grad-weight GEMM: dst (k, mr) with dst[q*mr + r] = cols[row r][pixel q],
// read from channels-last images. pix[q] is pixel q's offset (image and position); a row run
// copies run.len consecutive floats (channels, or whole kernel rows) from pix[q] + run.src.
// The runs cover rows [0, rows) in order; rows [rows, mr) of a last, partial panel are zero.
TT_CLONES void pack_cols_t_panel(const float* xt, const i64* pix, i64 k, const Run* runs,
                                 i64 nruns, i64 rows, i64 mr, float* dst) {
    if (nruns == 1 && runs[0].len == mr && runs[0].dst == 0) {
        const i64 off = runs[0].src;
        if (mr == 14) {  // the AVX-512 tile: a fixed-size copy, a few vector moves
            for (i64 q = 0; q < k; ++q) std::memcpy(dst + q * 14, xt + pix[q] + off, 14 * 4);
            return;
        }
        for (i64 q = 0; q < k; ++q) copy_run(dst + q * mr, xt + pix[q] + off, mr);
        return;
    }
    // Several short runs (few channels, e.g. 3): copy 16 floats for each, whatever its length.
    // The excess lands on the next run's place (or the next pixel's row, or the zero tail),
    // which is written afterwards in increasing order, so the result is right. The caller
    // gives both buffers 16 floats of slack at the end for the reads and writes past them.
    bool short_runs = true;
    for (i64 r = 0; r < nruns; ++r) short_runs = short_runs && runs[r].len <= 16;
    if (short_runs) {
        for (i64 q = 0; q < k; ++q) {
            const float* s = xt + pix[q];
            float* d = dst + q * mr;
            for (i64 r = 0; r < nruns; ++r) std::memcpy(d + runs[r].dst, s + runs[r].src, 64);
            zero_run(d + rows, mr - rows);
        }
        return;
    }
    for (i64 q = 0; q < k; ++q) {
        const float* s = xt + pix[q];
        float* d = dst + q * mr;
        for (i64 r = 0; r < nruns; ++r) copy_run(d + runs[r].dst, s + runs[r].src, runs[r].len);
        zero_run(d + rows, mr - rows);
    }
}

// B panels of the grad-input GEMM from gy[n] (O, P): rows [k0, k0+kc) (channels), columns
// [j0, j0+n) (pixels), as ceil(n/nr) panels (kc, nr); pixels past n are zero. gy's pixel stride
// may be 1 (contiguous), 0 (a broadcast gradient, e.g. from sum()) or anything else.
TT_CLONES void pack_gy_rows(const float* g, i64 s_o, i64 s_pix, i64 k0, i64 kc, i64 j0, i64 n,
                            i64 nr, float* dst) {
    for (i64 jp = 0; jp < n; jp += nr, dst += kc * nr) {
        const i64 cols = std::min(nr, n - jp);
        for (i64 kk = 0; kk < kc; ++kk) {
            const float* src = g + (k0 + kk) * s_o + (j0 + jp) * s_pix;
            float* d = dst + kk * nr;
            if (s_pix == 1) {
                copy_run(d, src, cols);
            } else if (s_pix == 0) {
                for (i64 t = 0; t < cols; ++t) d[t] = src[0];
            } else {
                for (i64 t = 0; t < cols; ++t) d[t] = src[t * s_pix];
            }
            zero_run(d + cols, nr - cols);
        }
    }
}

// One B panel of the grad-weight GEMM, gy^T: dst (len, nr) with dst[q*nr + j] = gy[n, j0+j,
// pixel p0+q] for j < ncols (zero beyond). With contiguous pixels this is a transpose, done in
// 8x8 blocks; a broadcast gradient (pixel stride 0) gives the same row len times.
TT_CLONES void pack_gy_t(const float* g, i64 s_pix, i64 s_o, i64 p0, i64 len, i64 j0, i64 ncols,
                         i64 nr, float* dst) {
    const float* base = g + p0 * s_pix + j0 * s_o;
    if (s_pix == 0) {
        for (i64 j = 0; j < nr; ++j) dst[j] = j < ncols ? base[j * s_o] : 0.0f;
        for (i64 q = 1; q < len; ++q) copy_run(dst + q * nr, dst, nr);
        return;
    }
    i64 j = 0;
    if (s_pix == 1) {
        for (; j + 8 <= ncols; j += 8) {
            i64 q = 0;
            for (; q + 8 <= len; q += 8)
                transpose8x8(base + j * s_o + q, s_o, dst + q * nr + j, nr);
            for (; q < len; ++q)
                for (i64 jj = j; jj < j + 8; ++jj) dst[q * nr + jj] = base[jj * s_o + q];
        }
    }
    for (; j < ncols; ++j)
        for (i64 q = 0; q < len; ++q) dst[q * nr + j] = base[j * s_o + q * s_pix];
    if (ncols < nr)
        for (i64 q = 0; q < len; ++q) zero_run(dst + q * nr + ncols, nr - ncols);
}

// Sum of n floats with stride s (0: a broadcast), in float lanes then double.
TT_CLONES double sum_run(const float* x, i64 n, i64 s) {
    if (s == 0) return static_cast<double>(x[0]) * static_cast<double>(n);
    if (s != 1) {
        double acc = 0.0;
        for (i64 t = 0; t < n; ++t) acc += x[t * s];
        return acc;
    }
    float lanes[16] = {};
    i64 t = 0;
    for (; t + 16 <= n; t += 16)
        for (int u = 0; u < 16; ++u) lanes[u] += x[t + u];
    double acc = 0.0;
    for (int u = 0; u < 16; ++u) acc += lanes[u];
    for (; t < n; ++t) acc += x[t];
    return acc;
}

// y[o, 0:n] = b[o] for the O rows of one block of output pixels (row stride ld).
TT_CLONES void fill_bias(float* y, i64 ld, const float* b, i64 O, i64 n) {
    for (i64 o = 0; o < O; ++o) {
        float* r = y + o * ld;
        const float v = b[o];
        for (i64 t = 0; t < n; ++t) r[t] = v;
    }
}

// Copy the interior of zero-bordered planes (C, Hp, Wp) into dx (C, H, W), contiguous.
TT_CLONES void unpad_image(const float* dxp, i64 C, i64 H, i64 W, i64 PH, i64 PW, float* dx) {
    const i64 Wp = W + 2 * PW, Hp = H + 2 * PH;
    for (i64 c = 0; c < C; ++c)
        for (i64 h = 0; h < H; ++h) {
            copy_run(dx + (c * H + h) * W, dxp + c * Hp * Wp + (PH + h) * Wp + PW, W);
        }
}

// ---------------------------------------------------------------------------------------------
// The fast passes. Call without the GIL.

// x: (N, C, H, W) strided, w: (O, K) contiguous, b: (O,) or null -> y: (N, O, OH, OW) contiguous
void forward_fast(const Geom& g, View4 x, const float* w, const float* b, float* y) {
    const GemmKernel& kern = active_gemm_kernel();
    const i64 MR = kern.mr, NR = kern.nr, K = g.K(), P = g.P(), O = g.O;
    const i64 MC = kern.mc;
    const i64 nkb = cdiv(K, kern.kc), kcb = cdiv(K, nkb);  // balanced k-blocks
    const i64 mpad = round_up(O, MR);

    // Packed weights, once: k-block starting at k0 is (mpad/MR, kc, MR) at pa + mpad * k0.
    float* pa = scratch(0, mpad * K);
    for (i64 k0 = 0; k0 < K; k0 += kcb)
        kern.pack_a(MatView{w, K, 1}, 0, O, k0, std::min(kcb, K - k0), pa + mpad * k0);
    const std::vector<i64> koff = tap_offsets_nchw(g, 0, g.C);

    // Work items: an image, or a range of its pixel panels when there are fewer images than
    // threads (so that one image still keeps every core busy).
    const i64 npan = cdiv(P, NR);
    const int nt_max = active_num_threads();
    const i64 pieces = g.N >= nt_max ? 1 : std::min(npan, cdiv(nt_max, g.N));
    const i64 items = g.N * pieces;
    const int nt = threads_for(g.flops(), items);
    (void)nt;  // used only by the OpenMP pragmas

#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        float* xp = scratch(1, g.C * g.Hp * g.Wp);
        float* pb = scratch(2, kcb * NR);
        std::vector<Run> runs;
        i64 padded = -1;  // which image xp holds
#pragma omp for schedule(dynamic, 1)
        for (i64 it = 0; it < items; ++it) {
            const i64 n = it / pieces, piece = it % pieces;
            if (padded != n) {
                pad_image(x.p + n * x.s[0], x.s + 1, g.C, g.H, g.W, g.PH, g.PW, xp);
                padded = n;
            }
            for (i64 q = npan * piece / pieces; q < npan * (piece + 1) / pieces; ++q) {
                const i64 j0 = q * NR, nr = std::min(NR, P - j0);
                pixel_runs(g, j0, nr, runs);
                float* yc = y + n * O * P + j0;  // C block: (O, nr), row stride P
                if (b) fill_bias(yc, P, b, O, nr);
                for (i64 k0 = 0; k0 < K; k0 += kcb) {
                    const i64 kc = std::min(kcb, K - k0);
                    pack_cols_panel(xp, koff.data() + k0, kc, runs.data(),
                                    static_cast<i64>(runs.size()), nr, NR, pb);
                    for (i64 ic = 0; ic < O; ic += MC)
                        kern.macro_kernel(std::min(MC, O - ic), nr, kc, pa + mpad * k0 + ic * kc,
                                          pb, yc + ic * P, P, k0 > 0 || b != nullptr);
                }
            }
        }
    }
}

// gy: (N, O, OH, OW) strided with mergeable (OH, OW), w: (O, K) contiguous -> dx: (N, C, H, W)
void grad_input_fast(const Geom& g, View4 gy, const float* w, float* dx) {
    const GemmKernel& kern = active_gemm_kernel();
    const i64 MR = kern.mr, NR = kern.nr, K = g.K(), P = g.P(), O = g.O, KK = g.KH * g.KW;
    const i64 MC = kern.mc;
    const i64 nkb = cdiv(O, kern.kc), kcb = cdiv(O, nkb);

    // Channel blocks: one when there are enough images, else enough to keep every thread busy.
    const int nt_max = active_num_threads();
    const i64 cblocks = g.N >= nt_max ? 1 : std::min(g.C, cdiv(nt_max, g.N));
    std::vector<i64> cstart(cblocks + 1), pa_off(cblocks + 1, 0);
    for (i64 cb = 0; cb <= cblocks; ++cb) cstart[cb] = g.C * cb / cblocks;
    for (i64 cb = 0; cb < cblocks; ++cb)
        pa_off[cb + 1] = pa_off[cb] + round_up((cstart[cb + 1] - cstart[cb]) * KK, MR) * O;
    i64 cmax = 0;
    for (i64 cb = 0; cb < cblocks; ++cb) cmax = std::max(cmax, cstart[cb + 1] - cstart[cb]);

    // Packed W^T (K, O) = strides (1, K) over w, once, per channel block (rows c0*KK .. c1*KK).
    float* pa = scratch(0, pa_off[cblocks]);
    for (i64 cb = 0; cb < cblocks; ++cb) {
        const i64 r0 = cstart[cb] * KK, m = (cstart[cb + 1] - cstart[cb]) * KK;
        for (i64 k0 = 0; k0 < O; k0 += kcb)
            kern.pack_a(MatView{w, 1, K}, r0, m, k0, std::min(kcb, O - k0),
                        pa + pa_off[cb] + round_up(m, MR) * k0);
    }

    // Pixel blocks: dcols (rows, nb) should stay well inside L2 (~1 MiB).
    const i64 mmax = cmax * KK;
    const i64 nb = std::min(round_up(P, NR), std::max(NR, (262144 / mmax) / NR * NR));
    const i64 items = g.N * cblocks;
    const int nt = threads_for(g.flops(), items);
    (void)nt;  // used only by the OpenMP pragmas
    const i64 gpix = gy.s[3];  // stride between pixels (OH, OW merge; checked by the caller)

#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        float* dxp = scratch(1, cmax * g.Hp * g.Wp);
        float* dcols = scratch(2, mmax * nb);
        float* pb = scratch(3, kcb * nb + NR * kcb);
        std::vector<Run> runs;
#pragma omp for schedule(dynamic, 1)
        for (i64 it = 0; it < items; ++it) {
            const i64 n = it / cblocks, cb = it % cblocks;
            const i64 c0 = cstart[cb], cn = cstart[cb + 1] - c0, m = cn * KK;
            const std::vector<i64> koff = tap_offsets_nchw(g, c0, c0 + cn);
            std::memset(dxp, 0, sizeof(float) * cn * g.Hp * g.Wp);
            const float* gn = gy.p + n * gy.s[0];  // gy[n]: (O, P), strides (s[1], gpix)
            for (i64 j0 = 0; j0 < P; j0 += nb) {
                const i64 nbb = std::min(nb, P - j0);
                for (i64 k0 = 0; k0 < O; k0 += kcb) {
                    const i64 kc = std::min(kcb, O - k0);
                    pack_gy_rows(gn, gy.s[1], gpix, k0, kc, j0, nbb, NR, pb);
                    const float* pak = pa + pa_off[cb] + round_up(m, MR) * k0;
                    for (i64 ic = 0; ic < m; ic += MC)
                        kern.macro_kernel(std::min(MC, m - ic), nbb, kc, pak + ic * kc, pb,
                                          dcols + ic * nbb, nbb, k0 > 0);
                }
                pixel_runs(g, j0, nbb, runs);
                col2im_add(dcols, nbb, m, koff.data(), runs.data(), static_cast<i64>(runs.size()),
                           dxp);
            }
            unpad_image(dxp, cn, g.H, g.W, g.PH, g.PW, dx + (n * g.C + c0) * g.H * g.W);
        }
    }
}

// x: (N, C, H, W) strided, gy: (N, O, OH, OW) strided with mergeable (OH, OW)
// -> dw: (O, C, KH, KW) contiguous
void grad_weight_fast(const Geom& g, View4 x, View4 gy, float* dw) {
    const GemmKernel& kern = active_gemm_kernel();
    const i64 MR = kern.mr, NR = kern.nr, K = g.K(), P = g.P(), O = g.O;
    const i64 MC = kern.mc;
    const i64 img = g.Hp * g.Wp * g.C;  // one channels-last image

    // Rows of cols in (i, j, c) order, as offsets into a channels-last image, grouped per A
    // panel into runs of consecutive floats.
    std::vector<i64> roff;
    roff.reserve(K);
    for (i64 i = 0; i < g.KH; ++i)
        for (i64 j = 0; j < g.KW; ++j)
            for (i64 c = 0; c < g.C; ++c) roff.push_back((i * g.DH * g.Wp + j * g.DW) * g.C + c);
    const i64 mpan = cdiv(K, MR);
    std::vector<std::vector<Run>> panel_runs(mpan);
    for (i64 pn = 0; pn < mpan; ++pn) {
        auto& runs = panel_runs[pn];
        for (i64 r = pn * MR; r < std::min(K, (pn + 1) * MR); ++r) {
            if (!runs.empty() && runs.back().src + runs.back().len == roff[r])
                ++runs.back().len;
            else
                runs.push_back(Run{roff[r], r - pn * MR, 1, 1});
        }
    }
    // Output pixel offsets within a channels-last image.
    std::vector<i64> poff(P);
    for (i64 p = 0; p < P; ++p) poff[p] = ((p / g.OW) * g.SH * g.Wp + (p % g.OW) * g.SW) * g.C;

    // Images are converted in chunks of at most ~8 MiB, all threads together.
    const i64 chunk = std::max<i64>(1, std::min<i64>(g.N, (i64(1) << 21) / std::max<i64>(img, 1)));
    const i64 max_kc = kern.kc;  // k-blocks never exceed this
    const int nt = threads_for(g.flops(), g.N * P / 16 + 1);
    float* xt = scratch(0, chunk * img + 16);  // + slack for pack_cols_t_panel's reads
    AlignedFloats acc = aligned_floats(static_cast<i64>(nt) * K * O);
    int team = 1;  // the threads OpenMP actually gives (it may give fewer than asked)

#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        const int tid = thread_id();
#if defined(_OPENMP)
        if (tid == 0) team = omp_get_num_threads();
#endif
        float* ct = acc.get() + static_cast<i64>(tid) * K * O;  // this thread's dW^T: (K, O)
        std::memset(ct, 0, sizeof(float) * K * O);
        float* pa = scratch(1, std::min(round_up(K, MR), round_up(MC, MR)) * max_kc + 16);
        float* pb = scratch(2, round_up(O, NR) * max_kc);
        std::vector<i64> pix(max_kc);
        for (i64 n0 = 0; n0 < g.N; n0 += chunk) {
            const i64 cn = std::min(chunk, g.N - n0);
#pragma omp for schedule(static)
            for (i64 n = 0; n < cn; ++n)
                pad_image_nhwc(x.p + (n0 + n) * x.s[0], x.s + 1, g.C, g.H, g.W, g.PH, g.PW,
                               xt + n * img);
            // (implicit barrier: the chunk is converted before anyone packs from it)
            const i64 total = cn * P;
            i64 nkb = cdiv(total, max_kc);
            if (nkb < nt) nkb = std::min<i64>(nt, total);
            const i64 kcb = cdiv(total, nkb);
#pragma omp for schedule(dynamic, 1)
            for (i64 kb = 0; kb < nkb; ++kb) {
                const i64 q0 = kb * kcb, kc = std::min(kcb, total - q0);
                if (kc <= 0) continue;
                for (i64 q = 0; q < kc; ++q) {
                    const i64 t = q0 + q;
                    pix[q] = (t / P) * img + poff[t % P];
                }
                // B = gy^T (pixels, O): per image segment and per NR panel of O.
                for (i64 q = 0; q < kc;) {
                    const i64 t = q0 + q, n = t / P, p = t % P, len = std::min(kc - q, P - p);
                    const float* gn = gy.p + (n0 + n) * gy.s[0];  // gy[n]^T: (P, O)
                    for (i64 j0 = 0; j0 < O; j0 += NR)
                        pack_gy_t(gn, gy.s[3], gy.s[1], p, len, j0, std::min(NR, O - j0), NR,
                                  pb + j0 * kc + q * NR);
                    q += len;
                }
                for (i64 ic = 0; ic < K; ic += MC) {
                    const i64 mc = std::min(MC, K - ic);
                    for (i64 pn = ic / MR; pn < cdiv(ic + mc, MR); ++pn)
                        pack_cols_t_panel(xt, pix.data(), kc, panel_runs[pn].data(),
                                          static_cast<i64>(panel_runs[pn].size()),
                                          std::min(MR, K - pn * MR), MR,
                                          pa + (pn - ic / MR) * kc * MR);
                    kern.macro_kernel(mc, O, kc, pa, pb, ct + ic * O, O, true);
                }
            }
            // (implicit barrier: nobody converts the next chunk while others still read this one)
        }
    }

    // dw[o, c, i, j] = sum over threads of ct[(i*KW + j)*C + c][o].
    const i64 KK = g.KH * g.KW;
    for (i64 o = 0; o < O; ++o)
        for (i64 c = 0; c < g.C; ++c)
            for (i64 ij = 0; ij < KK; ++ij) {
                const i64 r = ij * g.C + c;
                float s = 0.0f;
                for (int t = 0; t < team; ++t) s += acc[static_cast<i64>(t) * K * O + r * O + o];
                dw[(o * g.C + c) * KK + ij] = s;
            }
}

// ---------------------------------------------------------------------------------------------
// Direct-loop references: every output element is its defining sum, bounds tested per tap.

float at(const View4& v, i64 a, i64 b, i64 c, i64 d) {
    return v.p[a * v.s[0] + b * v.s[1] + c * v.s[2] + d * v.s[3]];
}

void forward_naive(const Geom& g, View4 x, View4 w, const float* b, i64 bs, float* y) {
    for (i64 n = 0; n < g.N; ++n)
        for (i64 o = 0; o < g.O; ++o)
            for (i64 oy = 0; oy < g.OH; ++oy)
                for (i64 ox = 0; ox < g.OW; ++ox) {
                    float s = b ? b[o * bs] : 0.0f;
                    for (i64 c = 0; c < g.C; ++c)
                        for (i64 i = 0; i < g.KH; ++i)
                            for (i64 j = 0; j < g.KW; ++j) {
                                const i64 h = oy * g.SH + i * g.DH - g.PH;
                                const i64 wx = ox * g.SW + j * g.DW - g.PW;
                                if (h < 0 || h >= g.H || wx < 0 || wx >= g.W) continue;
                                s += at(x, n, c, h, wx) * at(w, o, c, i, j);
                            }
                    y[((n * g.O + o) * g.OH + oy) * g.OW + ox] = s;
                }
}

void grad_input_naive(const Geom& g, View4 gy, View4 w, float* dx) {
    std::memset(dx, 0, sizeof(float) * g.N * g.C * g.H * g.W);
    for (i64 n = 0; n < g.N; ++n)
        for (i64 o = 0; o < g.O; ++o)
            for (i64 oy = 0; oy < g.OH; ++oy)
                for (i64 ox = 0; ox < g.OW; ++ox) {
                    const float gv = at(gy, n, o, oy, ox);
                    for (i64 c = 0; c < g.C; ++c)
                        for (i64 i = 0; i < g.KH; ++i)
                            for (i64 j = 0; j < g.KW; ++j) {
                                const i64 h = oy * g.SH + i * g.DH - g.PH;
                                const i64 wx = ox * g.SW + j * g.DW - g.PW;
                                if (h < 0 || h >= g.H || wx < 0 || wx >= g.W) continue;
                                dx[((n * g.C + c) * g.H + h) * g.W + wx] += gv * at(w, o, c, i, j);
                            }
                }
}

void grad_weight_naive(const Geom& g, View4 x, View4 gy, float* dw) {
    for (i64 o = 0; o < g.O; ++o)
        for (i64 c = 0; c < g.C; ++c)
            for (i64 i = 0; i < g.KH; ++i)
                for (i64 j = 0; j < g.KW; ++j) {
                    float s = 0.0f;
                    for (i64 n = 0; n < g.N; ++n)
                        for (i64 oy = 0; oy < g.OH; ++oy)
                            for (i64 ox = 0; ox < g.OW; ++ox) {
                                const i64 h = oy * g.SH + i * g.DH - g.PH;
                                const i64 wx = ox * g.SW + j * g.DW - g.PW;
                                if (h < 0 || h >= g.H || wx < 0 || wx >= g.W) continue;
                                s += at(gy, n, o, oy, ox) * at(x, n, c, h, wx);
                            }
                    dw[((o * g.C + c) * g.KH + i) * g.KW + j] = s;
                }
}

// ---------------------------------------------------------------------------------------------
// Python entry points.

using FArray = py::array_t<float, py::array::c_style | py::array::forcecast>;

// Weight (O, C, KH, KW) as a contiguous float32 array (a copy only if it is not one already).
FArray weight_array(const char* op, const py::array& w) {
    if (!w.dtype().equal(py::dtype::of<float>()))
        throw py::type_error(std::string(op) + ": expected float32 arrays, got " + dtype_str(w) +
                             " for weight");
    if (w.ndim() != 4)
        throw py::value_error(std::string(op) + ": expected weight of shape (O, C, kh, kw), got "
                                                "shape " +
                              shape_str(w));
    return FArray::ensure(w);
}

// The output pixels of gy must be one evenly strided run (stride(OH) == OW * stride(OW)), so gy[n]
// reads as a 2-D (O, OH*OW) matrix; otherwise work from a contiguous copy.
py::array mergeable_grad(const py::array& gy) {
    const bool ok = gy.ndim() == 4 && (gy.shape(2) == 1 || gy.shape(3) == 1 ||
                                       gy.strides(2) == gy.shape(3) * gy.strides(3));
    if (ok) return gy;
    return FArray::ensure(gy);
}

void check_grad_shape(const char* op, const Geom& g, const py::array& gy) {
    if (gy.shape(0) != g.N || gy.shape(1) != g.O || gy.shape(2) != g.OH || gy.shape(3) != g.OW)
        throw py::value_error(std::string(op) + ": expected grad_out of shape (" +
                              std::to_string(g.N) + ", " + std::to_string(g.O) + ", " +
                              std::to_string(g.OH) + ", " + std::to_string(g.OW) + "), got shape " +
                              shape_str(gy));
}

// The strides of gy with (OH, OW) merged into one pixel stride in s[3] (s[2] is then unused).
View4 pixel_view(View4 v, const py::array& gy) {
    if (gy.shape(3) == 1) v.s[3] = v.s[2];  // one column: the pixels step by the row stride
    return v;
}

py::array_t<float> conv2d_forward_impl(const char* op, bool naive, const py::array& x,
                                       const py::array& w, const std::optional<py::array>& bias,
                                       Pair stride, Pair padding, Pair dilation) {
    const View4 xv = view4(op, "x", "(N, C, H, W)", x);
    FArray wc = weight_array(op, w);
    if (wc.shape(1) != x.shape(1))
        throw py::value_error(std::string(op) + ": the weight " + shape_str(w) +
                              " expects input with " + std::to_string(w.shape(1)) +
                              " channels, got shape " + shape_str(x));
    const Geom g = make_geom(op, x.shape(0), x.shape(1), x.shape(2), x.shape(3), wc.shape(0),
                             wc.shape(2), wc.shape(3), stride, padding, dilation);
    std::optional<FArray> bc;
    if (bias) {
        if (!bias->dtype().equal(py::dtype::of<float>()))
            throw py::type_error(std::string(op) + ": expected float32 arrays, got " +
                                 dtype_str(*bias) + " for bias");
        if (bias->ndim() != 1 || bias->shape(0) != g.O)
            throw py::value_error(std::string(op) + ": expected a bias of shape (" +
                                  std::to_string(g.O) + ",), got shape " + shape_str(*bias));
        bc = FArray::ensure(*bias);
    }
    py::array_t<float> y({g.N, g.O, g.OH, g.OW});
    float* yp = y.mutable_data();
    const float* bp = bc ? bc->data() : nullptr;
    const View4 wv{wc.data(), {wc.strides(0) / 4, wc.strides(1) / 4, wc.strides(2) / 4,
                               wc.strides(3) / 4}};
    if (g.N * g.O * g.P() == 0) return y;
    {
        py::gil_scoped_release nogil;
        if (naive)
            forward_naive(g, xv, wv, bp, 1, yp);
        else if (g.K() == 0)
            for (i64 n = 0; n < g.N; ++n)
                for (i64 o = 0; o < g.O; ++o)
                    for (i64 p = 0; p < g.P(); ++p) yp[(n * g.O + o) * g.P() + p] = bp ? bp[o] : 0;
        else
            forward_fast(g, xv, wc.data(), bp, yp);
    }
    return y;
}

py::array_t<float> conv2d_grad_input_impl(const char* op, bool naive, const py::array& gy_in,
                                          const py::array& w, Pair input_size, Pair stride,
                                          Pair padding, Pair dilation) {
    view4(op, "grad_out", "(N, O, OH, OW)", gy_in);
    FArray wc = weight_array(op, w);
    if (wc.shape(0) != gy_in.shape(1))
        throw py::value_error(std::string(op) + ": grad_out " + shape_str(gy_in) + " has " +
                              std::to_string(gy_in.shape(1)) + " channels, the weight " +
                              shape_str(w) + " has " + std::to_string(w.shape(0)) + " filters");
    if (input_size[0] < 1 || input_size[1] < 1)
        throw py::value_error(std::string(op) + ": input_size must be positive, got " +
                              pair_str(input_size));
    const Geom g = make_geom(op, gy_in.shape(0), wc.shape(1), input_size[0], input_size[1],
                             wc.shape(0), wc.shape(2), wc.shape(3), stride, padding, dilation);
    check_grad_shape(op, g, gy_in);
    const py::array gy = naive ? gy_in : mergeable_grad(gy_in);
    const View4 gv = pixel_view(view4(op, "grad_out", "(N, O, OH, OW)", gy), gy);
    const View4 wv{wc.data(), {wc.strides(0) / 4, wc.strides(1) / 4, wc.strides(2) / 4,
                               wc.strides(3) / 4}};
    py::array_t<float> dx({g.N, g.C, g.H, g.W});
    float* dxp = dx.mutable_data();
    {
        py::gil_scoped_release nogil;
        if (naive) {
            grad_input_naive(g, gv, wv, dxp);
        } else if (g.N * g.C * g.H * g.W > 0) {
            if (g.O == 0 || g.P() == 0)
                std::memset(dxp, 0, sizeof(float) * g.N * g.C * g.H * g.W);
            else
                grad_input_fast(g, gv, wc.data(), dxp);
        }
    }
    return dx;
}

py::array_t<float> conv2d_grad_weight_impl(const char* op, bool naive, const py::array& x,
                                           const py::array& gy_in, Pair kernel_size, Pair stride,
                                           Pair padding, Pair dilation) {
    const View4 xv = view4(op, "x", "(N, C, H, W)", x);
    view4(op, "grad_out", "(N, O, OH, OW)", gy_in);
    if (gy_in.shape(0) != x.shape(0))
        throw py::value_error(std::string(op) + ": x " + shape_str(x) + " and grad_out " +
                              shape_str(gy_in) + " have different batch sizes");
    const Geom g = make_geom(op, x.shape(0), x.shape(1), x.shape(2), x.shape(3), gy_in.shape(1),
                             kernel_size[0], kernel_size[1], stride, padding, dilation);
    check_grad_shape(op, g, gy_in);
    const py::array gy = naive ? gy_in : mergeable_grad(gy_in);
    const View4 gv = pixel_view(view4(op, "grad_out", "(N, O, OH, OW)", gy), gy);
    py::array_t<float> dw({g.O, g.C, g.KH, g.KW});
    float* dwp = dw.mutable_data();
    {
        py::gil_scoped_release nogil;
        if (naive) {
            grad_weight_naive(g, xv, gv, dwp);
        } else if (g.O * g.K() > 0) {
            if (g.N * g.P() == 0)
                std::memset(dwp, 0, sizeof(float) * g.O * g.K());
            else
                grad_weight_fast(g, xv, gv, dwp);
        }
    }
    return dw;
}

// gy: (N, O, OH, OW) any strides -> (O,): the bias gradient, sum over images and pixels.
py::array_t<float> conv2d_grad_bias_impl(const char* op, bool naive, const py::array& gy_in) {
    view4(op, "grad_out", "(N, O, OH, OW)", gy_in);
    const py::array gy = naive ? gy_in : mergeable_grad(gy_in);
    const View4 g = pixel_view(view4(op, "grad_out", "(N, O, OH, OW)", gy), gy);
    const i64 N = gy.shape(0), O = gy.shape(1), OH = gy.shape(2), OW = gy.shape(3), P = OH * OW;
    py::array_t<float> db({O});
    float* out = db.mutable_data();
    {
        py::gil_scoped_release nogil;
        if (naive) {
            for (i64 o = 0; o < O; ++o) {
                float acc = 0.0f;
                for (i64 n = 0; n < N; ++n)
                    for (i64 y = 0; y < OH; ++y)
                        for (i64 x = 0; x < OW; ++x)
                            acc += g.p[n * g.s[0] + o * g.s[1] + y * g.s[2] + x * g.s[3]];
                out[o] = acc;
            }
        } else {
            const int nt = threads_for(4.0 * N * O * P, O);
            (void)nt;  // used only by the OpenMP pragmas
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
            for (i64 o = 0; o < O; ++o) {
                double acc = 0.0;
                for (i64 n = 0; n < N; ++n)
                    acc += sum_run(g.p + n * g.s[0] + o * g.s[1], P, g.s[3]);
                out[o] = static_cast<float>(acc);
            }
        }
    }
    return db;
}

}  // namespace

void register_conv(py::module_& m) {
    const Pair one{1, 1}, zero{0, 0};
    m.def(
        "conv2d_forward",
        [](const py::array& x, const py::array& w, const std::optional<py::array>& bias,
           Pair stride, Pair padding, Pair dilation) {
            return conv2d_forward_impl("conv2d_forward", false, x, w, bias, stride, padding,
                                       dilation);
        },
        py::arg("x"), py::arg("weight"), py::arg("bias") = py::none(), py::arg("stride") = one,
        py::arg("padding") = zero, py::arg("dilation") = one,
        R"doc(2-D convolution (cross-correlation): x (N, C, H, W), weight (O, C, kh, kw) -> y.

y is (N, O, OH, OW).

Implicit im2col + the packed GEMM, threaded over images; bias (O,) optional and fused. x may
have any non-negative strides. Raises TypeError for non-float32 input, ValueError for
inconsistent shapes or a kernel that does not fit.)doc");
    m.def(
        "conv2d_forward_naive",
        [](const py::array& x, const py::array& w, const std::optional<py::array>& bias,
           Pair stride, Pair padding, Pair dilation) {
            return conv2d_forward_impl("conv2d_forward_naive", true, x, w, bias, stride, padding,
                                       dilation);
        },
        py::arg("x"), py::arg("weight"), py::arg("bias") = py::none(), py::arg("stride") = one,
        py::arg("padding") = zero, py::arg("dilation") = one,
        "Reference conv2d_forward: the direct 7-loop sum (slow on purpose, for tests).");
    m.def(
        "conv2d_grad_input",
        [](const py::array& gy, const py::array& w, Pair input_size, Pair stride, Pair padding,
           Pair dilation) {
            return conv2d_grad_input_impl("conv2d_grad_input", false, gy, w, input_size, stride,
                                          padding, dilation);
        },
        py::arg("grad_out"), py::arg("weight"), py::arg("input_size"), py::arg("stride") = one,
        py::arg("padding") = zero, py::arg("dilation") = one,
        R"doc(Gradient of conv2d with respect to its input.

grad_out (N, O, OH, OW), weight (O, C, kh, kw) -> dx (N, C, H, W).

input_size is (H, W) of the input (with stride > 1 it is not implied by OH, OW). Computed as
W^T @ grad_out per image and col2im, threaded over images (or channel blocks).)doc");
    m.def(
        "conv2d_grad_input_naive",
        [](const py::array& gy, const py::array& w, Pair input_size, Pair stride, Pair padding,
           Pair dilation) {
            return conv2d_grad_input_impl("conv2d_grad_input_naive", true, gy, w, input_size,
                                          stride, padding, dilation);
        },
        py::arg("grad_out"), py::arg("weight"), py::arg("input_size"), py::arg("stride") = one,
        py::arg("padding") = zero, py::arg("dilation") = one,
        "Reference conv2d_grad_input: direct loops scattering each gradient onto its window.");
    m.def(
        "conv2d_grad_weight",
        [](const py::array& x, const py::array& gy, Pair kernel_size, Pair stride, Pair padding,
           Pair dilation) {
            return conv2d_grad_weight_impl("conv2d_grad_weight", false, x, gy, kernel_size, stride,
                                           padding, dilation);
        },
        py::arg("x"), py::arg("grad_out"), py::arg("kernel_size"), py::arg("stride") = one,
        py::arg("padding") = zero, py::arg("dilation") = one,
        R"doc(Gradient of conv2d with respect to its weight.

x (N, C, H, W), grad_out (N, O, OH, OW) -> dw (O, C, kh, kw).

The sum over images and pixels is the GEMM's k loop (channels-last packing, per-thread partial
sums added at the end).)doc");
    m.def(
        "conv2d_grad_weight_naive",
        [](const py::array& x, const py::array& gy, Pair kernel_size, Pair stride, Pair padding,
           Pair dilation) {
            return conv2d_grad_weight_impl("conv2d_grad_weight_naive", true, x, gy, kernel_size,
                                           stride, padding, dilation);
        },
        py::arg("x"), py::arg("grad_out"), py::arg("kernel_size"), py::arg("stride") = one,
        py::arg("padding") = zero, py::arg("dilation") = one,
        "Reference conv2d_grad_weight: the direct sum over images and output pixels per weight.");
    m.def(
        "conv2d_grad_bias",
        [](const py::array& gy) { return conv2d_grad_bias_impl("conv2d_grad_bias", false, gy); },
        py::arg("grad_out"),
        R"doc(Gradient of conv2d with respect to its bias: (N, O, OH, OW) -> (O,).

The sum over N, OH and OW.

Threaded over channels; any strides (a broadcast gradient costs nothing to sum).)doc");
    m.def(
        "conv2d_grad_bias_naive",
        [](const py::array& gy) {
            return conv2d_grad_bias_impl("conv2d_grad_bias_naive", true, gy);
        },
        py::arg("grad_out"), "Reference conv2d_grad_bias: one float32 running sum per channel.");
}

}  // namespace tt
