// norm.cpp: batch normalisation and layer normalisation, forward and fused backward.
//
// Both normalise a group of numbers to mean 0 and variance 1, then scale and shift:
//
//     x_hat = (x - mean) * inv_std,   inv_std = 1 / sqrt(var + eps),   y = x_hat * w + b
//
// and both have the same closed-form backward over a group of M numbers (sums over the group):
//
//     dx = w * inv_std / M * (M * dy - sum(dy) - x_hat * sum(dy * x_hat))
//     dw = sum(dy * x_hat),   db = sum(dy)          (for LayerNorm w is per element: dy -> dy * w)
//
// What differs is the group, and so the memory layout of the reduction:
//
// BatchNorm: x (N, C, S) with S = H * W (or 1 for (N, C), L for (N, C, L)); the group is one
//   channel c, M = N * S numbers. In NCHW memory a channel is NOT contiguous: it is N separate
//   contiguous runs of S floats, one per image, each C * S floats after the previous one. The
//   kernel walks those N runs. One thread owns one channel (OpenMP over channels), so every
//   statistic is a private sum and no thread ever writes where another reads. One channel of a
//   (64, 32, 32, 32) batch is 256 KiB, which stays in the per-core L2 cache between the passes
//   over it: only the first pass reads main memory / L3.
//   When S is small (< 32, e.g. BatchNorm1d on (N, C)) the runs are too short to vectorise, so
//   the kernel instead views x as N rows of K = C * S floats, splits the rows between the
//   threads, accumulates per-column float64 sums (vectorised along the row; each thread its own
//   row of partial sums), adds the threads' partials, and folds each channel's S columns.
//
// LayerNorm: x (..., *normalized) seen as (R, D); the group is one row of D contiguous floats.
//   Rows are independent: OpenMP over blocks of 64 rows. dw and db are sums over rows (per
//   column), so each thread adds each block's rows into float32 partials, flushes them into
//   its own float64 totals, and the threads' totals are added at the end.
//
// Numerics. The variance is computed in two passes: first the mean, then sum((x - mean)^2).
//   The one-pass formula E[x^2] - E[x]^2 subtracts two large numbers when |mean| >> std (a
//   feature with mean 1000 and std 1 loses 6 of float32's 7 digits); the second pass costs a
//   read of data that is already in cache.
//   Sums are blocked: 32 float32 partial sums side by side (two AVX-512 registers; the compiler
//   vectorises the 32-wide inner loop), and after every kBlock = 2048 floats the 32 partials are
//   added as a tree (pairwise, vectorised) into a float64 total and restart at 0. So a float32
//   partial holds at most a few hundred terms, however large the group: a BatchNorm channel can hold
//   millions of numbers, and a plain float32 running sum of a million terms loses ~3 digits,
//   while a float64 accumulator per element costs a conversion and half the SIMD width. Blocked
//   float32 + float64 keeps the error at the level of float32 rounding of the inputs at float32
//   speed. (Adding the 32 partials one by one into a double instead of as a tree is a chain of
//   32 dependent adds, ~130 cycles: more than a whole 384-float LayerNorm row's main loop.)
//   In the subtraction x - mean, mean is rounded to float32; the variance is corrected for that
//   exactly (sum((x - m32)^2) = sum((x - m)^2) + M (m - m32)^2). The output is computed as
//   (x - mean) * (inv_std * w) + b, not as x * a + c with c = b - mean * a, which would again
//   cancel large terms when |mean| >> std.
//   The backward folds the formula per group into dx = a * dy - k * (x - mean) + c with three
//   per-group constants, two FMAs per element.
//
// Passes over memory: BatchNorm forward reads x three times (sum, squared deviations,
// normalise; two from L2) and writes y; backward reads dy and x twice (sums, then dx) and
// writes dx. The backward saves nothing but mean and inv_std per group from the forward (x is
// kept by autograd anyway): x_hat is recomputed on the fly instead of being stored.
//
// Runtime ISA: the inner per-channel / per-row functions are TT_CLONES (simd.h): compiled for
// AVX-512, AVX2 and baseline x86-64, picked at load time. The OpenMP loops are plain functions
// that call them.
//
// Every fast function has a `_naive` twin bound for tests: plain loops, float64 sums, the
// textbook formulas, no threads.
#include <cmath>
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

// Width of the blocked sums: 32 float32 partials = two AVX-512 registers, four AVX2 ones.
constexpr int kLanes = 32;
// BatchNorm runs shorter than this use the column (rows of C * S) kernels instead.
constexpr i64 kMinRun = 32;
// Padding between per-thread partial-sum arrays: at least one 64-byte cache line, so two
// threads never write the same line (false sharing: the line would bounce between the cores'
// caches on every row, which cost LayerNorm's dweight/dbias most of its 2-thread speedup).
constexpr i64 kPadFloats = 16, kPadDoubles = 8;
// Below this many elements a kernel runs on one thread: a parallel region costs microseconds.
constexpr i64 kMinThreadWork = i64(1) << 15;

#if defined(__GNUC__)
#define TT_INLINE inline __attribute__((always_inline))
#else
#define TT_INLINE inline
#endif

inline std::size_t sz(i64 n) { return static_cast<std::size_t>(n); }

inline int pick_threads(i64 work) { return work < kMinThreadWork ? 1 : active_num_threads(); }

inline int thread_id() {
#if defined(_OPENMP)
    return omp_get_thread_num();
#else
    return 0;
#endif
}

inline int team_size() {
#if defined(_OPENMP)
    return omp_get_num_threads();
#else
    return 1;
#endif
}

// ---------------------------------------------------------------------------------------------
// Blocked sums. A group is `nruns` contiguous runs of `len` floats, `stride` floats apart (a
// BatchNorm channel: N runs of H*W; a LayerNorm row: one run of D). Each run is cut into
// pieces that go into 32 float32 partials (the tail of a piece into the first lanes); after
// every kBlock floats the partials are added up (as a tree) into a float64 total and reset.
// So a float32 partial holds about 2 * kBlock / 32 = 128 terms (a few hundred at most, when
// short runs put their tails into the first lanes), whatever the group size.
// TT_INLINE: inlined into each TT_CLONES caller, so compiled for that caller's ISA (a called,
// non-inlined helper would be baseline code).

constexpr i64 kBlock = 2048;

// The total of the 32 partials, added as a tree (16 + 16, 8 + 8, ...: vectorised and pairwise),
// then the partials reset to 0. Adding them one by one into a double would be a chain of 32
// dependent additions (~130 cycles), longer than the main loop over a LayerNorm row of 384.
TT_INLINE double lanes_flush(float* acc) {
    for (int w = kLanes / 2; w >= 1; w /= 2)
        for (int j = 0; j < w; ++j) acc[j] += acc[j + w];
    const double t = acc[0];
    for (int j = 0; j < kLanes; ++j) acc[j] = 0.0f;
    return t;
}

// acc += x[0:n]
TT_INLINE void lanes_sum(float* acc, const float* x, i64 n) {
    i64 i = 0;
    for (; i + kLanes <= n; i += kLanes)
        for (int j = 0; j < kLanes; ++j) acc[j] += x[i + j];
    for (int j = 0; i + j < n; ++j) acc[j] += x[i + j];
}

// acc += (x[0:n] - m)^2
TT_INLINE void lanes_sqdev(float* acc, const float* x, i64 n, float m) {
    i64 i = 0;
    for (; i + kLanes <= n; i += kLanes)
        for (int j = 0; j < kLanes; ++j) {
            const float d = x[i + j] - m;
            acc[j] += d * d;
        }
    for (int j = 0; i + j < n; ++j) {
        const float d = x[i + j] - m;
        acc[j] += d * d;
    }
}

// a1 += dy[0:n], a2 += dy * (x - m)
TT_INLINE void lanes_dot2(float* a1, float* a2, const float* dy, const float* x, i64 n, float m) {
    i64 i = 0;
    for (; i + kLanes <= n; i += kLanes)
        for (int j = 0; j < kLanes; ++j) {
            a1[j] += dy[i + j];
            a2[j] += dy[i + j] * (x[i + j] - m);
        }
    for (int j = 0; i + j < n; ++j) {
        a1[j] += dy[i + j];
        a2[j] += dy[i + j] * (x[i + j] - m);
    }
}

// Walks the runs of a group in pieces, calling piece(offset, length) and flushing the float32
// partials into float64 every kBlock floats (flush()).
#define TT_BLOCKED_RUNS(nruns, len, stride, piece, flush)          \
    do {                                                           \
        i64 pending_ = 0;                                          \
        for (i64 r_ = 0; r_ < (nruns); ++r_)                       \
            for (i64 i0_ = 0; i0_ < (len); i0_ += kBlock) {        \
                const i64 n_ = (len)-i0_ < kBlock ? (len)-i0_ : kBlock; \
                piece(r_ * (stride) + i0_, n_);                    \
                pending_ += n_;                                    \
                if (pending_ >= kBlock) {                          \
                    flush();                                       \
                    pending_ = 0;                                  \
                }                                                  \
            }                                                      \
        flush();                                                   \
    } while (0)

// sum over the group
TT_INLINE double group_sum(const float* x, i64 nruns, i64 len, i64 stride) {
    float acc[kLanes] = {};
    double total = 0.0;
#define TT_PIECE(off, n) lanes_sum(acc, x + (off), n)
#define TT_FLUSH() total += lanes_flush(acc)
    TT_BLOCKED_RUNS(nruns, len, stride, TT_PIECE, TT_FLUSH);
#undef TT_PIECE
#undef TT_FLUSH
    return total;
}

// sum of (x - m)^2 over the group
TT_INLINE double group_sqdev(const float* x, i64 nruns, i64 len, i64 stride, float m) {
    float acc[kLanes] = {};
    double total = 0.0;
#define TT_PIECE(off, n) lanes_sqdev(acc, x + (off), n, m)
#define TT_FLUSH() total += lanes_flush(acc)
    TT_BLOCKED_RUNS(nruns, len, stride, TT_PIECE, TT_FLUSH);
#undef TT_PIECE
#undef TT_FLUSH
    return total;
}

// sdy = sum(dy), sdyx = sum(dy * (x - m)) over the group
TT_INLINE void group_dot2(const float* dy, const float* x, i64 nruns, i64 len, i64 stride, float m,
                          double& sdy, double& sdyx) {
    float a1[kLanes] = {}, a2[kLanes] = {};
    sdy = sdyx = 0.0;
#define TT_PIECE(off, n) lanes_dot2(a1, a2, dy + (off), x + (off), n, m)
#define TT_FLUSH() (sdy += lanes_flush(a1), sdyx += lanes_flush(a2))
    TT_BLOCKED_RUNS(nruns, len, stride, TT_PIECE, TT_FLUSH);
#undef TT_PIECE
#undef TT_FLUSH
}

// Mean and biased variance of M = 1 / inv_m numbers from sum(x) and sum((x - m32)^2), where
// m32 = float(mean). (A multiplication by 1 / M: a division is ~15 cycles, per LayerNorm row.)
inline void finish_stats(double sum, double sqdev_m32, double inv_m, float m32, double& mean,
                         double& var) {
    mean = sum * inv_m;
    const double shift = mean - double(m32);
    var = sqdev_m32 * inv_m - shift * shift;  // exact correction for using m32 instead of mean
    if (var < 0) var = 0;
}

// =============================================================================================
// BatchNorm, run kernels: one channel, N runs of S floats, run n at x + n * sn (sn = C * S).

// Batch statistics of one channel. x: channel c of image 0.
TT_CLONES void bn_channel_stats(const float* x, i64 N, i64 S, i64 sn, double eps, float* mean,
                                float* inv_std, float* var) {
    const double M = double(N) * double(S);
    const double s = group_sum(x, N, S, sn);
    const float m32 = float(s / M);
    const double q = group_sqdev(x, N, S, sn, m32);
    double m, v;
    finish_stats(s, q, 1.0 / M, m32, m, v);
    *mean = float(m);
    *var = float(v);
    *inv_std = float(1.0 / std::sqrt(v + eps));
}

// y = (x - m) * scale + b over one channel.
TT_CLONES void bn_channel_normalize(const float* x, float* y, i64 N, i64 S, i64 sn, float m,
                                    float scale, float b) {
    for (i64 n = 0; n < N; ++n) {
        const float* xr = x + n * sn;
        float* yr = y + n * sn;
        for (i64 i = 0; i < S; ++i) yr[i] = (xr[i] - m) * scale + b;
    }
}

// Backward sums of one channel: sdy = sum(dy), sdyx = sum(dy * (x - m)).
TT_CLONES void bn_channel_sums(const float* dy, const float* x, i64 N, i64 S, i64 sn, float m,
                               double* sdy, double* sdyx) {
    group_dot2(dy, x, N, S, sn, m, *sdy, *sdyx);
}

// dx = a * dy - k * (x - m) + c over one channel.
TT_CLONES void bn_channel_dx(const float* dy, const float* x, float* dx, i64 N, i64 S, i64 sn,
                             float m, float a, float k, float c) {
    for (i64 n = 0; n < N; ++n) {
        const float* dyr = dy + n * sn;
        const float* xr = x + n * sn;
        float* dxr = dx + n * sn;
        for (i64 i = 0; i < S; ++i) dxr[i] = a * dyr[i] - k * (xr[i] - m) + c;
    }
}

// =============================================================================================
// BatchNorm, column kernels: x as `rows` rows of K = C * S floats; acc[k] sums column k.

TT_CLONES void cols_sum(const float* x, i64 rows, i64 K, double* acc) {
    for (i64 r = 0; r < rows; ++r) {
        const float* xr = x + r * K;
        for (i64 k = 0; k < K; ++k) acc[k] += xr[k];
    }
}

TT_CLONES void cols_sqdev(const float* x, i64 rows, i64 K, const float* mk, double* acc) {
    for (i64 r = 0; r < rows; ++r) {
        const float* xr = x + r * K;
        for (i64 k = 0; k < K; ++k) {
            const double d = double(xr[k] - mk[k]);
            acc[k] += d * d;
        }
    }
}

// y = (x - mk) * sk + bk, per column.
TT_CLONES void cols_normalize(const float* x, float* y, i64 rows, i64 K, const float* mk,
                              const float* sk, const float* bk) {
    for (i64 r = 0; r < rows; ++r) {
        const float* xr = x + r * K;
        float* yr = y + r * K;
        for (i64 k = 0; k < K; ++k) yr[k] = (xr[k] - mk[k]) * sk[k] + bk[k];
    }
}

TT_CLONES void cols_sums(const float* dy, const float* x, i64 rows, i64 K, const float* mk,
                         double* sdy, double* sdyx) {
    for (i64 r = 0; r < rows; ++r) {
        const float* dyr = dy + r * K;
        const float* xr = x + r * K;
        for (i64 k = 0; k < K; ++k) {
            sdy[k] += dyr[k];
            sdyx[k] += double(dyr[k]) * double(xr[k] - mk[k]);
        }
    }
}

// dx = ak * dy - kk * (x - mk) + ck, per column.
TT_CLONES void cols_dx(const float* dy, const float* x, float* dx, i64 rows, i64 K,
                       const float* mk, const float* ak, const float* kk, const float* ck) {
    for (i64 r = 0; r < rows; ++r) {
        const float* dyr = dy + r * K;
        const float* xr = x + r * K;
        float* dxr = dx + r * K;
        for (i64 k = 0; k < K; ++k) dxr[k] = ak[k] * dyr[k] - kk[k] * (xr[k] - mk[k]) + ck[k];
    }
}

// Split `rows` rows between the threads; each adds its column sums into its own row of
// `parts` (team_size x K), then the rows are added: out[k] = sum over threads. f(r0, r1, acc).
template <typename F>
void column_reduce(i64 rows, i64 K, int nt, std::vector<double>& out, F f) {
    const i64 stride = K + kPadDoubles;  // no cache line shared between two threads' rows
    std::vector<double> parts(sz(nt) * sz(stride), 0.0);
    int used = 1;
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        const int t = thread_id(), T = team_size();
        if (t == 0) used = T;
        const i64 r0 = rows * t / T, r1 = rows * (t + 1) / T;
        if (r1 > r0) f(r0, r1, parts.data() + sz(t) * sz(stride));
    }
    out.assign(sz(K), 0.0);
    for (int t = 0; t < used; ++t)
        for (i64 k = 0; k < K; ++k) out[k] += parts[sz(t) * sz(stride) + k];
}

// Run f(r0, r1) over `rows` rows split between the threads.
template <typename F>
void rows_parallel(i64 rows, int nt, F f) {
    (void)nt;  // only read by OpenMP
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        const int t = thread_id(), T = team_size();
        const i64 r0 = rows * t / T, r1 = rows * (t + 1) / T;
        if (r1 > r0) f(r0, r1);
    }
}

// Per-channel values repeated over the channel's S columns: (C,) -> (C * S,).
std::vector<float> per_column(const std::vector<float>& v, i64 C, i64 S) {
    std::vector<float> out(sz(C * S));
    for (i64 c = 0; c < C; ++c)
        for (i64 s = 0; s < S; ++s) out[c * S + s] = v[c];
    return out;
}

// =============================================================================================
// BatchNorm drivers (no GIL). x, y, dy, dx: (N, C, S) contiguous; per-channel arrays: (C,).

// Training statistics: mean, inv_std and biased var of each channel.
void bn_stats(const float* x, i64 N, i64 C, i64 S, double eps, float* mean, float* inv_std,
              float* var) {
    const int nt = pick_threads(N * C * S);
    if (S >= kMinRun) {
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
        for (i64 c = 0; c < C; ++c)
            bn_channel_stats(x + c * S, N, S, C * S, eps, mean + c, inv_std + c, var + c);
        return;
    }
    const i64 K = C * S;
    const double M = double(N) * double(S);
    std::vector<double> col;
    column_reduce(N, K, nt, col, [&](i64 r0, i64 r1, double* acc) {
        cols_sum(x + r0 * K, r1 - r0, K, acc);
    });
    std::vector<float> m32(sz(C));
    std::vector<double> sum(sz(C), 0.0);
    for (i64 c = 0; c < C; ++c) {
        for (i64 s = 0; s < S; ++s) sum[c] += col[c * S + s];
        m32[c] = float(sum[c] / M);
    }
    const std::vector<float> mk = per_column(m32, C, S);
    column_reduce(N, K, nt, col, [&](i64 r0, i64 r1, double* acc) {
        cols_sqdev(x + r0 * K, r1 - r0, K, mk.data(), acc);
    });
    for (i64 c = 0; c < C; ++c) {
        double q = 0.0;
        for (i64 s = 0; s < S; ++s) q += col[c * S + s];
        double m, v;
        finish_stats(sum[c], q, 1.0 / M, m32[c], m, v);
        mean[c] = float(m);
        var[c] = float(v);
        inv_std[c] = float(1.0 / std::sqrt(v + eps));
    }
}

// y = (x - mean) * inv_std * w + b per channel (w, b may be null: 1 and 0).
void bn_normalize(const float* x, float* y, i64 N, i64 C, i64 S, const float* mean,
                  const float* inv_std, const float* w, const float* b) {
    const int nt = pick_threads(N * C * S);
    std::vector<float> scale(sz(C)), shift(sz(C)), m(mean, mean + C);
    for (i64 c = 0; c < C; ++c) {
        scale[c] = inv_std[c] * (w ? w[c] : 1.0f);
        shift[c] = b ? b[c] : 0.0f;
    }
    if (S >= kMinRun) {
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
        for (i64 c = 0; c < C; ++c)
            bn_channel_normalize(x + c * S, y + c * S, N, S, C * S, m[c], scale[c], shift[c]);
        return;
    }
    const i64 K = C * S;
    const auto mk = per_column(m, C, S), sk = per_column(scale, C, S),
               bk = per_column(shift, C, S);
    rows_parallel(N, nt, [&](i64 r0, i64 r1) {
        cols_normalize(x + r0 * K, y + r0 * K, r1 - r0, K, mk.data(), sk.data(), bk.data());
    });
}

// The fused backward. training: mean/inv_std are batch statistics (they depend on x);
// otherwise running statistics (constants). dx may be null (not wanted); dw/db may be null.
void bn_backward(const float* dy, const float* x, float* dx, float* dw, float* db, i64 N, i64 C,
                 i64 S, const float* mean, const float* inv_std, const float* w, bool training) {
    const int nt = pick_threads(N * C * S);
    const bool need_sums = (dx && training) || dw || db;
    const double M = double(N) * double(S);
    // Per-channel constants of dx = a * dy - k * (x - mean) + c, from the sums.
    auto constants = [&](i64 c, double sdy, double sdyx, float& a, float& k, float& cc) {
        const double wi = double(w ? w[c] : 1.0f) * inv_std[c];
        a = float(wi);
        k = training ? float(wi * inv_std[c] * inv_std[c] * sdyx / M) : 0.0f;
        cc = training ? float(-wi * sdy / M) : 0.0f;
    };
    if (S >= kMinRun) {
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
        for (i64 c = 0; c < C; ++c) {
            double sdy = 0.0, sdyx = 0.0;
            if (need_sums) bn_channel_sums(dy + c * S, x + c * S, N, S, C * S, mean[c], &sdy, &sdyx);
            if (dw) dw[c] = float(sdyx * inv_std[c]);
            if (db) db[c] = float(sdy);
            if (dx) {
                float a, k, cc;
                constants(c, sdy, sdyx, a, k, cc);
                bn_channel_dx(dy + c * S, x + c * S, dx + c * S, N, S, C * S, mean[c], a, k, cc);
            }
        }
        return;
    }
    const i64 K = C * S;
    const std::vector<float> mk = per_column(std::vector<float>(mean, mean + C), C, S);
    std::vector<double> sdy(sz(C), 0.0), sdyx(sz(C), 0.0);
    if (need_sums) {
        // One pass for both sums: each thread's partials are 2 * K (sdy columns, then sdyx).
        std::vector<double> col;
        column_reduce(N, 2 * K, nt, col, [&](i64 r0, i64 r1, double* acc) {
            cols_sums(dy + r0 * K, x + r0 * K, r1 - r0, K, mk.data(), acc, acc + K);
        });
        for (i64 c = 0; c < C; ++c)
            for (i64 s = 0; s < S; ++s) sdy[c] += col[c * S + s], sdyx[c] += col[K + c * S + s];
    }
    for (i64 c = 0; c < C; ++c) {
        if (dw) dw[c] = float(sdyx[c] * inv_std[c]);
        if (db) db[c] = float(sdy[c]);
    }
    if (!dx) return;
    std::vector<float> a(sz(C)), k(sz(C)), cc(sz(C));
    for (i64 c = 0; c < C; ++c) constants(c, sdy[c], sdyx[c], a[c], k[c], cc[c]);
    const auto ak = per_column(a, C, S), kk = per_column(k, C, S), ck = per_column(cc, C, S);
    rows_parallel(N, nt, [&](i64 r0, i64 r1) {
        cols_dx(dy + r0 * K, x + r0 * K, dx + r0 * K, r1 - r0, K, mk.data(), ak.data(), kk.data(),
                ck.data());
    });
}

// =============================================================================================
// LayerNorm kernels: rows [0, rows) of D floats.

// Statistics and output of `rows` rows. w, b: (D,) or null.
TT_CLONES void ln_forward_rows(const float* x, float* y, i64 rows, i64 D, const float* w,
                               const float* b, double eps, float* mean, float* rstd) {
    const double inv_d = 1.0 / double(D);
    for (i64 r = 0; r < rows; ++r) {
        const float* xr = x + r * D;
        float* yr = y + r * D;
        const double s = group_sum(xr, 1, D, 0);
        const float m32 = float(s * inv_d);
        double m, v;
        finish_stats(s, group_sqdev(xr, 1, D, 0, m32), inv_d, m32, m, v);
        const float mf = float(m), rs = float(1.0 / std::sqrt(v + eps));
        mean[r] = mf;
        rstd[r] = rs;
        if (w && b) {
            for (i64 i = 0; i < D; ++i) yr[i] = (xr[i] - mf) * rs * w[i] + b[i];
        } else if (w) {
            for (i64 i = 0; i < D; ++i) yr[i] = (xr[i] - mf) * rs * w[i];
        } else if (b) {
            for (i64 i = 0; i < D; ++i) yr[i] = (xr[i] - mf) * rs + b[i];
        } else {
            for (i64 i = 0; i < D; ++i) yr[i] = (xr[i] - mf) * rs;
        }
    }
}

// One pass over a piece of a LayerNorm row for the backward: a1 += g, a2 += g * (x - m) with
// g = dy * w (W: there is a weight, else g = dy); with P also dwa += dy * x_hat, dba += dy (the
// parameter partials, per column). Fusing the two saves a pass over dy and x.
template <bool W, bool P>
TT_INLINE void lanes_ln_backward(float* a1, float* a2, const float* dy, const float* w,
                                 const float* x, i64 n, float m, float rs, float* dwa,
                                 float* dba) {
#define TT_LN_STEP(j, i)                         \
    do {                                         \
        const float xm = x[i] - m;               \
        const float g = W ? dy[i] * w[i] : dy[i]; \
        a1[j] += g;                              \
        a2[j] += g * xm;                         \
        if (P) {                                 \
            dwa[i] += dy[i] * (xm * rs);         \
            dba[i] += dy[i];                     \
        }                                        \
    } while (0)
    i64 i = 0;
    for (; i + kLanes <= n; i += kLanes)
        for (int j = 0; j < kLanes; ++j) TT_LN_STEP(j, i + j);
    for (int j = 0; i + j < n; ++j) TT_LN_STEP(j, i + j);
#undef TT_LN_STEP
}

// Backward of one LayerNorm row (see ln_backward_rows).
template <bool W, bool P>
TT_INLINE void ln_backward_row(const float* dyr, const float* xr, float* dxr, i64 D, double inv_d,
                               float m, float rs, const float* w, float* dwa, float* dba) {
    // sg = sum(g), sgx = sum(g * x_hat) = rs * sum(g * (x - m))
    float a1[kLanes] = {}, a2[kLanes] = {};
    double sg = 0.0, sgx = 0.0;
#define TT_PIECE(off, n)                                                                     \
    lanes_ln_backward<W, P>(a1, a2, dyr + (off), W ? w + (off) : nullptr, xr + (off), n, m, rs, \
                            P ? dwa + (off) : nullptr, P ? dba + (off) : nullptr)
#define TT_FLUSH() (sg += lanes_flush(a1), sgx += lanes_flush(a2))
    TT_BLOCKED_RUNS(1, D, 0, TT_PIECE, TT_FLUSH);
#undef TT_PIECE
#undef TT_FLUSH
    sgx *= rs;
    // dx = rs * g - x_hat * (rs * mean(g x_hat)) - rs * mean(g)
    const float c1 = float(rs * sgx * inv_d), c0 = float(rs * sg * inv_d);
    for (i64 i = 0; i < D; ++i) {
        const float g = W ? dyr[i] * w[i] : dyr[i];
        dxr[i] = rs * g - ((xr[i] - m) * rs) * c1 - c0;
    }
}

// Backward of `rows` rows. dx may be null. dw_acc/db_acc (D,) float32 partials, both or
// neither: += dy * x_hat and += dy (the caller flushes them into float64 every block of rows).
// With g = dy * w and x_hat = (x - mean) * rstd:
//     dx = rstd * (g - mean(g) - x_hat * mean(g * x_hat))
TT_CLONES void ln_backward_rows(const float* dy, const float* x, float* dx, i64 rows, i64 D,
                                const float* mean, const float* rstd, const float* w,
                                float* dw_acc, float* db_acc) {
    const double inv_d = 1.0 / double(D);
    for (i64 r = 0; r < rows; ++r) {
        const float* dyr = dy + r * D;
        const float* xr = x + r * D;
        const float m = mean[r], rs = rstd[r];
        if (!dx) {  // parameter gradients only
            for (i64 i = 0; i < D; ++i) {
                dw_acc[i] += dyr[i] * ((xr[i] - m) * rs);
                db_acc[i] += dyr[i];
            }
            continue;
        }
        float* dxr = dx + r * D;
        if (w && dw_acc)
            ln_backward_row<true, true>(dyr, xr, dxr, D, inv_d, m, rs, w, dw_acc, db_acc);
        else if (w)
            ln_backward_row<true, false>(dyr, xr, dxr, D, inv_d, m, rs, w, nullptr, nullptr);
        else if (dw_acc)
            ln_backward_row<false, true>(dyr, xr, dxr, D, inv_d, m, rs, nullptr, dw_acc, db_acc);
        else
            ln_backward_row<false, false>(dyr, xr, dxr, D, inv_d, m, rs, nullptr, nullptr, nullptr);
    }
}

// Rows per work item: the float32 dw/db partials are flushed into float64 after each block.
constexpr i64 kLnBlock = 64;

void ln_forward(const float* x, float* y, i64 R, i64 D, const float* w, const float* b, double eps,
                float* mean, float* rstd) {
    const int nt = pick_threads(R * D);
    (void)nt;  // only read by OpenMP
    const i64 nblocks = (R + kLnBlock - 1) / kLnBlock;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (i64 blk = 0; blk < nblocks; ++blk) {
        const i64 r0 = blk * kLnBlock, r1 = r0 + kLnBlock < R ? r0 + kLnBlock : R;
        ln_forward_rows(x + r0 * D, y + r0 * D, r1 - r0, D, w, b, eps, mean + r0, rstd + r0);
    }
}

void ln_backward(const float* dy, const float* x, float* dx, float* dw, float* db, i64 R, i64 D,
                 const float* mean, const float* rstd, const float* w) {
    const int nt = pick_threads(R * D);
    const i64 nblocks = (R + kLnBlock - 1) / kLnBlock;
    const bool params = dw || db;
    // Per thread: float64 totals (2 * D) and float32 block partials (2 * D), padded so that no
    // cache line is shared between two threads' arrays.
    const i64 ts = 2 * D + kPadDoubles, bs = 2 * D + kPadFloats;
    std::vector<double> tot(params ? sz(nt) * sz(ts) : 0, 0.0);
    std::vector<float> blk_acc(params ? sz(nt) * sz(bs) : 0, 0.0f);
    int used = 1;
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        const int t = thread_id();
        if (t == 0) used = team_size();
        double* tw = params ? tot.data() + sz(t) * sz(ts) : nullptr;
        float* bw = params ? blk_acc.data() + sz(t) * sz(bs) : nullptr;
#pragma omp for schedule(static)
        for (i64 blk = 0; blk < nblocks; ++blk) {
            const i64 r0 = blk * kLnBlock, r1 = r0 + kLnBlock < R ? r0 + kLnBlock : R;
            if (params)
                for (i64 i = 0; i < 2 * D; ++i) bw[i] = 0.0f;
            ln_backward_rows(dy + r0 * D, x + r0 * D, dx ? dx + r0 * D : nullptr, r1 - r0, D,
                             mean + r0, rstd + r0, w, bw, params ? bw + D : nullptr);
            if (params)
                for (i64 i = 0; i < 2 * D; ++i) tw[i] += bw[i];
        }
    }
    if (!params) return;
    for (i64 i = 0; i < D; ++i) {
        double sw = 0.0, sb = 0.0;
        for (int t = 0; t < used; ++t) {
            sw += tot[sz(t) * sz(ts) + i];
            sb += tot[sz(t) * sz(ts) + D + i];
        }
        if (dw) dw[i] = float(sw);
        if (db) db[i] = float(sb);
    }
}

// =============================================================================================
// Naive references: the textbook formulas, float64 sums, plain loops, one thread.

void bn_stats_naive(const float* x, i64 N, i64 C, i64 S, double eps, float* mean, float* inv_std,
                    float* var) {
    const double M = double(N) * double(S);
    for (i64 c = 0; c < C; ++c) {
        double s = 0.0;
        for (i64 n = 0; n < N; ++n)
            for (i64 i = 0; i < S; ++i) s += x[(n * C + c) * S + i];
        const double m = s / M;
        double q = 0.0;
        for (i64 n = 0; n < N; ++n)
            for (i64 i = 0; i < S; ++i) {
                const double d = x[(n * C + c) * S + i] - m;
                q += d * d;
            }
        mean[c] = float(m);
        var[c] = float(q / M);
        inv_std[c] = float(1.0 / std::sqrt(q / M + eps));
    }
}

void bn_normalize_naive(const float* x, float* y, i64 N, i64 C, i64 S, const float* mean,
                        const float* inv_std, const float* w, const float* b) {
    for (i64 n = 0; n < N; ++n)
        for (i64 c = 0; c < C; ++c)
            for (i64 i = 0; i < S; ++i) {
                const i64 j = (n * C + c) * S + i;
                const double xh = (double(x[j]) - mean[c]) * inv_std[c];
                y[j] = float(xh * (w ? w[c] : 1.0f) + (b ? b[c] : 0.0f));
            }
}

void bn_backward_naive(const float* dy, const float* x, float* dx, float* dw, float* db, i64 N,
                       i64 C, i64 S, const float* mean, const float* inv_std, const float* w,
                       bool training) {
    const double M = double(N) * double(S);
    for (i64 c = 0; c < C; ++c) {
        double sdy = 0.0, sdyxh = 0.0;  // sum(dy), sum(dy * x_hat)
        for (i64 n = 0; n < N; ++n)
            for (i64 i = 0; i < S; ++i) {
                const i64 j = (n * C + c) * S + i;
                sdy += dy[j];
                sdyxh += double(dy[j]) * (double(x[j]) - mean[c]) * inv_std[c];
            }
        if (dw) dw[c] = float(sdyxh);
        if (db) db[c] = float(sdy);
        if (!dx) continue;
        const double wi = double(w ? w[c] : 1.0f) * inv_std[c];
        for (i64 n = 0; n < N; ++n)
            for (i64 i = 0; i < S; ++i) {
                const i64 j = (n * C + c) * S + i;
                const double xh = (double(x[j]) - mean[c]) * inv_std[c];
                dx[j] = training ? float(wi / M * (M * dy[j] - sdy - xh * sdyxh))
                                 : float(wi * dy[j]);
            }
    }
}

void ln_forward_naive(const float* x, float* y, i64 R, i64 D, const float* w, const float* b,
                      double eps, float* mean, float* rstd) {
    for (i64 r = 0; r < R; ++r) {
        const float* xr = x + r * D;
        double s = 0.0;
        for (i64 i = 0; i < D; ++i) s += xr[i];
        const double m = s / double(D);
        double q = 0.0;
        for (i64 i = 0; i < D; ++i) q += (xr[i] - m) * (xr[i] - m);
        const double rs = 1.0 / std::sqrt(q / double(D) + eps);
        mean[r] = float(m);
        rstd[r] = float(rs);
        for (i64 i = 0; i < D; ++i)
            y[r * D + i] = float((xr[i] - m) * rs * (w ? w[i] : 1.0f) + (b ? b[i] : 0.0f));
    }
}

void ln_backward_naive(const float* dy, const float* x, float* dx, float* dw, float* db, i64 R,
                       i64 D, const float* mean, const float* rstd, const float* w) {
    std::vector<double> sw(sz(D), 0.0), sb(sz(D), 0.0);
    for (i64 r = 0; r < R; ++r) {
        const float* dyr = dy + r * D;
        const float* xr = x + r * D;
        double sg = 0.0, sgx = 0.0;
        for (i64 i = 0; i < D; ++i) {
            const double xh = (double(xr[i]) - mean[r]) * rstd[r];
            const double g = double(dyr[i]) * (w ? w[i] : 1.0f);
            sg += g;
            sgx += g * xh;
            sw[i] += dyr[i] * xh;
            sb[i] += dyr[i];
        }
        if (!dx) continue;
        for (i64 i = 0; i < D; ++i) {
            const double xh = (double(xr[i]) - mean[r]) * rstd[r];
            const double g = double(dyr[i]) * (w ? w[i] : 1.0f);
            dx[r * D + i] = float(rstd[r] / double(D) * (double(D) * g - sg - xh * sgx));
        }
    }
    for (i64 i = 0; i < D; ++i) {
        if (dw) dw[i] = float(sw[i]);
        if (db) db[i] = float(sb[i]);
    }
}

// =============================================================================================
// Bindings: checks first (every shape, before any work), then the kernel without the GIL.

using F32 = py::array_t<float, py::array::c_style | py::array::forcecast>;
using OptF32 = std::optional<F32>;

std::string shape_of(const F32& a) { return shape_str(a); }

// x: (N, C, ...) -> (N, C, S).
void bn_dims(const char* op, const F32& x, i64& N, i64& C, i64& S) {
    if (x.ndim() < 2)
        throw py::value_error(std::string(op) + ": expected x of shape (N, C, ...), got shape " +
                              shape_of(x));
    N = x.shape(0), C = x.shape(1), S = 1;
    for (py::ssize_t d = 2; d < x.ndim(); ++d) S *= x.shape(d);
}

// A (n,) vector argument, or a ValueError naming the op, the argument and both shapes.
void check_vec(const char* op, const char* name, const F32& v, i64 n, const F32& x) {
    if (v.ndim() != 1 || v.shape(0) != n)
        throw py::value_error(std::string(op) + ": expected " + name + " of shape (" +
                              std::to_string(n) + ",) for x of shape " + shape_of(x) +
                              ", got shape " + shape_of(v));
}

void check_opt(const char* op, const char* name, const OptF32& v, i64 n, const F32& x) {
    if (v) check_vec(op, name, *v, n, x);
}

void check_same(const char* op, const F32& dy, const F32& x) {
    bool same = dy.ndim() == x.ndim();
    for (py::ssize_t d = 0; same && d < x.ndim(); ++d) same = dy.shape(d) == x.shape(d);
    if (!same)
        throw py::value_error(std::string(op) + ": dy of shape " + shape_of(dy) +
                              " does not match x of shape " + shape_of(x));
}

const float* ptr(const OptF32& v) { return v ? v->data() : nullptr; }

std::vector<py::ssize_t> shape_vec(const F32& x) {
    return std::vector<py::ssize_t>(x.shape(), x.shape() + x.ndim());
}

template <bool Naive>
py::tuple batch_norm_forward(const F32& x, const OptF32& weight, const OptF32& bias, double eps) {
    const char* op = Naive ? "batch_norm_forward_naive" : "batch_norm_forward";
    i64 N, C, S;
    bn_dims(op, x, N, C, S);
    check_opt(op, "weight", weight, C, x);
    check_opt(op, "bias", bias, C, x);
    if (N * S < 1)
        throw py::value_error(std::string(op) + ": no values per channel in x of shape " +
                              shape_of(x));
    F32 y(shape_vec(x)), mean(C), inv_std(C), var(C);
    {
        py::gil_scoped_release nogil;
        float *m = mean.mutable_data(), *is = inv_std.mutable_data(), *v = var.mutable_data();
        if (Naive) {
            bn_stats_naive(x.data(), N, C, S, eps, m, is, v);
            bn_normalize_naive(x.data(), y.mutable_data(), N, C, S, m, is, ptr(weight), ptr(bias));
        } else {
            bn_stats(x.data(), N, C, S, eps, m, is, v);
            bn_normalize(x.data(), y.mutable_data(), N, C, S, m, is, ptr(weight), ptr(bias));
        }
    }
    return py::make_tuple(y, mean, inv_std, var);
}

template <bool Naive>
F32 batch_norm_eval(const F32& x, const F32& mean, const F32& inv_std, const OptF32& weight,
                    const OptF32& bias) {
    const char* op = Naive ? "batch_norm_eval_naive" : "batch_norm_eval";
    i64 N, C, S;
    bn_dims(op, x, N, C, S);
    check_vec(op, "mean", mean, C, x);
    check_vec(op, "inv_std", inv_std, C, x);
    check_opt(op, "weight", weight, C, x);
    check_opt(op, "bias", bias, C, x);
    F32 y(shape_vec(x));
    {
        py::gil_scoped_release nogil;
        (Naive ? bn_normalize_naive : bn_normalize)(x.data(), y.mutable_data(), N, C, S,
                                                    mean.data(), inv_std.data(), ptr(weight),
                                                    ptr(bias));
    }
    return y;
}

template <bool Naive>
py::tuple batch_norm_backward(const F32& dy, const F32& x, const F32& mean, const F32& inv_std,
                              const OptF32& weight, bool training, bool need_dx,
                              bool need_params) {
    const char* op = Naive ? "batch_norm_backward_naive" : "batch_norm_backward";
    i64 N, C, S;
    bn_dims(op, x, N, C, S);
    check_same(op, dy, x);
    check_vec(op, "mean", mean, C, x);
    check_vec(op, "inv_std", inv_std, C, x);
    check_opt(op, "weight", weight, C, x);
    std::optional<F32> dx, dw, db;
    if (need_dx) dx.emplace(shape_vec(x));
    if (need_params) dw.emplace(C), db.emplace(C);
    {
        py::gil_scoped_release nogil;
        float* dxp = dx ? dx->mutable_data() : nullptr;
        float* dwp = dw ? dw->mutable_data() : nullptr;
        float* dbp = db ? db->mutable_data() : nullptr;
        (Naive ? bn_backward_naive : bn_backward)(dy.data(), x.data(), dxp, dwp, dbp, N, C, S,
                                                  mean.data(), inv_std.data(), ptr(weight),
                                                  training);
    }
    auto obj = [](std::optional<F32>& a) -> py::object {
        return a ? py::object(*a) : py::object(py::none());
    };
    return py::make_tuple(obj(dx), obj(dw), obj(db));
}

// x: (..., *normalized) with `k` normalized dims -> R rows (the leading dims) of D floats.
void ln_dims(const char* op, const F32& x, int k, i64& R, i64& D) {
    if (k < 1 || x.ndim() < k)
        throw py::value_error(std::string(op) + ": expected x with at least normalized_ndim = " +
                              std::to_string(k) + " >= 1 dims, got shape " + shape_of(x));
    R = 1, D = 1;
    for (py::ssize_t d = 0; d < x.ndim(); ++d) (d < x.ndim() - k ? R : D) *= x.shape(d);
}

template <bool Naive>
py::tuple layer_norm_forward(const F32& x, const OptF32& weight, const OptF32& bias, double eps,
                             int normalized_ndim) {
    const char* op = Naive ? "layer_norm_forward_naive" : "layer_norm_forward";
    i64 R, D;
    ln_dims(op, x, normalized_ndim, R, D);
    check_opt(op, "weight", weight, D, x);
    check_opt(op, "bias", bias, D, x);
    if (D < 1)
        throw py::value_error(std::string(op) + ": rows of x of shape " + shape_of(x) +
                              " are empty");
    F32 y(shape_vec(x)), mean(R), rstd(R);
    {
        py::gil_scoped_release nogil;
        (Naive ? ln_forward_naive : ln_forward)(x.data(), y.mutable_data(), R, D, ptr(weight),
                                                ptr(bias), eps, mean.mutable_data(),
                                                rstd.mutable_data());
    }
    return py::make_tuple(y, mean, rstd);
}

template <bool Naive>
py::tuple layer_norm_backward(const F32& dy, const F32& x, const F32& mean, const F32& rstd,
                              const OptF32& weight, bool need_dx, bool need_params,
                              int normalized_ndim) {
    const char* op = Naive ? "layer_norm_backward_naive" : "layer_norm_backward";
    i64 R, D;
    ln_dims(op, x, normalized_ndim, R, D);
    check_same(op, dy, x);
    check_vec(op, "mean", mean, R, x);
    check_vec(op, "rstd", rstd, R, x);
    check_opt(op, "weight", weight, D, x);
    std::optional<F32> dx, dw, db;
    if (need_dx) dx.emplace(shape_vec(x));
    if (need_params) dw.emplace(D), db.emplace(D);
    {
        py::gil_scoped_release nogil;
        float* dxp = dx ? dx->mutable_data() : nullptr;
        float* dwp = dw ? dw->mutable_data() : nullptr;
        float* dbp = db ? db->mutable_data() : nullptr;
        (Naive ? ln_backward_naive : ln_backward)(dy.data(), x.data(), dxp, dwp, dbp, R, D,
                                                  mean.data(), rstd.data(), ptr(weight));
    }
    auto obj = [](std::optional<F32>& a) -> py::object {
        return a ? py::object(*a) : py::object(py::none());
    };
    return py::make_tuple(obj(dx), obj(dw), obj(db));
}

}  // namespace

void register_norm(py::module_& m) {
    using py::arg;
    m.def("batch_norm_forward", &batch_norm_forward<false>, arg("x"), arg("weight") = py::none(),
          arg("bias") = py::none(), arg("eps") = 1e-5,
          R"doc(BatchNorm training forward: batch statistics per channel, then normalise.

x: (N, C, ...) float32; weight, bias: (C,) or None. Returns (y, mean, inv_std, var): y like x,
and per channel (C,) the batch mean, 1 / sqrt(var + eps) and the biased variance.)doc");
    m.def("batch_norm_forward_naive", &batch_norm_forward<true>, arg("x"),
          arg("weight") = py::none(), arg("bias") = py::none(), arg("eps") = 1e-5,
          "Reference for batch_norm_forward: plain loops, float64 sums, one thread.");
    m.def("batch_norm_eval", &batch_norm_eval<false>, arg("x"), arg("mean"), arg("inv_std"),
          arg("weight") = py::none(), arg("bias") = py::none(),
          R"doc(BatchNorm with given statistics: y = (x - mean) * inv_std * weight + bias per channel.

x: (N, C, ...) float32; mean, inv_std, weight, bias: (C,) (weight, bias may be None).)doc");
    m.def("batch_norm_eval_naive", &batch_norm_eval<true>, arg("x"), arg("mean"), arg("inv_std"),
          arg("weight") = py::none(), arg("bias") = py::none(),
          "Reference for batch_norm_eval: plain loops.");
    m.def("batch_norm_backward", &batch_norm_backward<false>, arg("dy"), arg("x"), arg("mean"),
          arg("inv_std"), arg("weight") = py::none(), arg("training") = true,
          arg("need_dx") = true, arg("need_params") = true,
          R"doc(Fused BatchNorm backward: (dx, dweight, dbias) in one kernel.

dy, x: (N, C, ...) float32; mean, inv_std: (C,) as the forward used them; weight (C,) or None.
training=True: the statistics were the batch's (dx includes their gradient); False: constants.
Entries not asked for (need_dx, need_params) are None.)doc");
    m.def("batch_norm_backward_naive", &batch_norm_backward<true>, arg("dy"), arg("x"),
          arg("mean"), arg("inv_std"), arg("weight") = py::none(), arg("training") = true,
          arg("need_dx") = true, arg("need_params") = true,
          "Reference for batch_norm_backward: the textbook formula, float64 sums.");
    m.def("layer_norm_forward", &layer_norm_forward<false>, arg("x"), arg("weight") = py::none(),
          arg("bias") = py::none(), arg("eps") = 1e-5, arg("normalized_ndim") = 1,
          R"doc(LayerNorm forward over the last normalized_ndim dims of x (float32).

x: (..., *normalized), seen as R rows of D = prod(normalized) floats; weight, bias: D floats or
None. Returns (y, mean, rstd): y like x, and per row (R,) the mean and 1 / sqrt(var + eps).)doc");
    m.def("layer_norm_forward_naive", &layer_norm_forward<true>, arg("x"),
          arg("weight") = py::none(), arg("bias") = py::none(), arg("eps") = 1e-5,
          arg("normalized_ndim") = 1,
          "Reference for layer_norm_forward: plain loops, float64 sums, one thread.");
    m.def("layer_norm_backward", &layer_norm_backward<false>, arg("dy"), arg("x"), arg("mean"),
          arg("rstd"), arg("weight") = py::none(), arg("need_dx") = true,
          arg("need_params") = true, arg("normalized_ndim") = 1,
          R"doc(Fused LayerNorm backward: (dx, dweight, dbias) in one kernel.

dy, x: (..., *normalized) float32 (R rows of D); mean, rstd: (R,) from the forward; weight: D
floats or None. dweight, dbias are flat (D,). Entries not asked for (need_dx, need_params) are
None.)doc");
    m.def("layer_norm_backward_naive", &layer_norm_backward<true>, arg("dy"), arg("x"),
          arg("mean"), arg("rstd"), arg("weight") = py::none(), arg("need_dx") = true,
          arg("need_params") = true, arg("normalized_ndim") = 1,
          "Reference for layer_norm_backward: the textbook formula, float64 sums.");
}

}  // namespace tt
