// attention.cpp: fused scaled dot-product attention (FlashAttention-style), forward and backward,
// with an optional causal mask, plus the naive references that materialise the score matrix.
//
// Notation, per (batch b, head h): Q (T, D), K (S, D), V (S, Dv), scores Z = scale * Q K^T (T, S),
// P = softmax(Z) row by row (causal: key j is visible to query i only if j <= i, top-left
// aligned as in PyTorch), O = P V (T, Dv).
//
// Why fuse. The composed version (matmul, mask, softmax, matmul) writes Z and P to memory: B*H*T*S
// floats each, 128 MiB at B=8, H=4, T=S=1024, and autograd keeps P alive until backward. The fused
// kernel never holds more than one (BR, BC) tile of Z per thread. It saves only O and the per-row
// log-sum-exp L_i = log sum_j exp(Z_ij) (B*H*T floats), so the memory is O(T) per row, not O(T^2).
//
// Forward: the online softmax (Milakov & Gimelshein 2018; Dao et al., FlashAttention 2022).
// Work item = one block of BR query rows of one (b, h). It streams over the key blocks (BC keys
// each) and keeps, per row i, the running maximum m_i, the running sum
// l_i = sum_j exp(Z_ij - m_i) over the keys seen so far, and an unnormalised output row
// acc_i = sum_j exp(Z_ij - m_i) V_j. For each key block:
//     Zb = Qb Kb^T                          (BR, BC) tile, GEMM micro-kernel
//     m' = max(m, rowmax(Zb))               new running maximum
//     Pb = exp(Zb - m'), alpha = exp(m - m') the tile's weights; how much the old maximum was off
//     l = alpha * l + rowsum(Pb);  acc = alpha * acc + Pb Vb        (GEMM again)
// and at the end O_i = acc_i / l_i, L_i = m_i + log l_i. This is exact (not an approximation):
// rescaling by alpha makes every term relative to the final maximum. Causal: key blocks wholly
// above the diagonal (first key > last query of the block) are never touched, which halves the
// work; only the tiles that straddle the diagonal apply a mask (query i keeps keys <= i).
//
// Two layout tricks make the forward's tile steps cheap:
//  - It computes the tile transposed, Z^T = Kb Qb^T (keys x queries). Then rowmax and rowsum
//    over keys become vector max / add *across* tile rows, with 16 different queries in the 16
//    lanes of a vector: no horizontal reductions, no per-row scalar bookkeeping.
//  - The micro-kernel writes Z^T one NR-wide panel of queries at a time (ldc = NR), which is
//    exactly the packed-B layout. So P^T, computed in place, is already the packed B operand of
//    acc^T += Vb^T P^T, and the tile is never copied or repacked.
// K and V^T blocks are packed once per thread and (b, h) and reused by its query blocks.
//
// Backward (FlashAttention-2): recompute each tile's probabilities from Q, K and the saved L
// instead of storing P: Pb = exp(Zb - L). With dO the output gradient and D_i = rowsum(dO_i * O_i)
// (= rowsum(P_i * dP_i), precomputed once per row), the softmax Jacobian collapses to
//     dP = dO V^T,  dS = P * (dP - D),  dV = P^T dO,  dK = scale dS^T Q,  dQ = scale dS K.
// Work item = one (b, h) (and, when B*H is smaller than the thread count, a share of its key
// blocks). It loops key blocks outside, query blocks inside: dK and dV of a key block accumulate
// in a small per-thread tile and are written once; dQ accumulates straight into the item's rows
// of dq, which no other thread touches (items that split one (b, h) get private dq buffers that
// are summed at the end). So the backward has no races and no atomics, and it is deterministic.
// Its tiles are row-major (queries x keys): P^T and dS^T are then runs of contiguous floats to
// pack (pack_xt); the packed forms of Q and dO are cached per query block for the (b, h).
//
// The block products use the packed GEMM's own pieces (gemm.h: pack_a, pack_b, macro_kernel of
// the active ISA) rather than gemm_run, and rather than register-blocked loops written here.
// Measured (one thread, B=8, H=4, causal, T=1024; forward): D=32: 26.7 ms this way, 46.1 ms with
// gemm_run on each tile (a tile product is only ~130k multiply-adds, so gemm_run's per-call
// blocking set-up and its repacking of every operand cost more than the product), 37.0 ms with
// 4-row x 32-column vector loops and a row-wise softmax; D=64: 42.8 / 71.5 / 61.2 ms. Packing is
// also what makes any strides free: the (B, H, T, D) views multi-head attention makes by
// transposing (B, T, H, D) are read in place, and K^T or V^T are views with swapped strides.
// The softmax steps are loops marked TT_CLONES (simd.h) over 16-float GCC vector types, which
// each clone lowers to its ISA (one zmm, two ymm or four xmm); exp is a polynomial exp2 (below)
// because libm's expf does not vectorise and would cost as much as the products.
//
// Block sizes: 64 queries x 64 keys per tile. Equal sizes put the causal diagonal on tile
// boundaries (64 x 70, the micro-kernel's 14-row multiple, ran 5-30% slower: every diagonal
// tile spilled into the next). 64 keeps a thread's working set in L1/L2: the tile (16 KiB), a
// packed Q block and the accumulator (8 KiB each at D=32), plus the packed K and V^T blocks of
// one head (S*(D+Dv) floats, 0.3 MiB at S=1024, D=32). Measured at T=1024, D=32 (fwd / bwd ms,
// one thread): 32: 26.3 / 65.9, 48: 34.2 / 63.5 (partial 32-wide panels), 64: 25.3 / 56.4,
// 96: 25.0 / 52.2, 128: 26.4 / 55.6. Smaller tiles pay the per-tile steps more often, larger
// ones waste more of the diagonal at short T (96 would compute 3/4 of the tiles at T=128).
// _set_attention_blocks lets you try others.
// Memory beyond the inputs: out and lse (saved for backward); in backward the three gradients,
// two (B, H, T) vectors (L in base 2, D), per-thread tiles and cached packed Q/dO of one head.
//
// Threads: the forward runs (b, h, query block) items in parallel, largest (causal: last) blocks
// first, dynamic schedule; the backward (b, h) items. Each micro-kernel call is single-threaded.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
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

constexpr float kLog2e = 1.44269504088896340736f;
constexpr float kLn2 = 0.69314718055994530942f;
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

inline i64 ceil_div(i64 a, i64 b) { return (a + b - 1) / b; }
inline i64 round_up(i64 a, i64 b) { return ceil_div(a, b) * b; }

// Block-size overrides for experiments (0 = default); see _set_attention_blocks.
i64 g_br = 0, g_bc = 0;

// Below this many multiply-adds a call runs on one thread (a parallel region costs microseconds).
constexpr double kMinFlopsToThread = double(1 << 20);

// ---------------------------------------------------------------------------------------------
// Vectorisable pieces (one clone per ISA, see simd.h).

// The exp2 and vector helpers below are always inlined, so each TT_CLONES clone gets its own
// copy compiled for its ISA and no 64-byte vector is ever passed between functions built for
// different ISAs (which is what GCC's -Wpsabi note about AVX-512 vector arguments warns of).
#if defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wpsabi"
#define TT_VEC_INLINE inline __attribute__((always_inline))
#else
#define TT_VEC_INLINE inline
#endif

// 2^x, relative error < 2e-7 for x in [-126, 127] (x is clamped there, so -inf gives ~1e-38, not
// 0: callers zero masked entries themselves). Branch-free and call-free so that loops calling it
// vectorise: x = n + f with n = round(x) and |f| <= 1/2; 2^f by its degree-6 Taylor polynomial
// (the first dropped term is (f ln 2)^7 / 7! < 1.2e-7); 2^n by writing n + 127 into the exponent
// bits. round(x) uses the 1.5 * 2^23 trick: adding it pushes the fraction bits out of the float.
TT_VEC_INLINE float exp2_poly(float x) {
    x = x < -126.0f ? -126.0f : x;
    x = x > 127.0f ? 127.0f : x;
    const float shifter = 12582912.0f;  // 1.5 * 2^23
    const float r = x + shifter;
    const float n = r - shifter;
    const float f = x - n;
    float p = 1.5403530393381608e-4f;
    p = p * f + 1.3333558146428443e-3f;
    p = p * f + 9.6181291076284772e-3f;
    p = p * f + 5.5504108664821580e-2f;
    p = p * f + 2.4022650695910071e-1f;
    p = p * f + 6.9314718055994531e-1f;
    p = p * f + 1.0f;
    std::int32_t ri, si;
    std::memcpy(&ri, &r, 4);
    const float sh = shifter;
    std::memcpy(&si, &sh, 4);
    const std::int32_t bits = (ri - si + 127) << 23;  // ri - si == n: the low mantissa bits of r
    float scale;
    std::memcpy(&scale, &bits, 4);
    return p * scale;
}

// 16 floats as one GCC/Clang vector: each TT_CLONES clone lowers it to its ISA (one zmm register
// for AVX-512, two ymm for AVX2, four xmm for the baseline). The compiler does not vectorise the
// row reductions (max, sum) by itself: that would reorder float additions, which it may not do
// without -ffast-math. Writing the 16 partial results explicitly says which order we want.
typedef float vf16 __attribute__((vector_size(64)));
typedef std::int32_t vi16 __attribute__((vector_size(64)));
constexpr i64 kLanes = 16;

TT_VEC_INLINE vf16 loadu(const float* p) {
    vf16 v;
    std::memcpy(&v, p, sizeof v);  // an unaligned vector load
    return v;
}
TT_VEC_INLINE void storeu(float* p, vf16 v) { std::memcpy(p, &v, sizeof v); }
TT_VEC_INLINE vf16 splat(float x) { return vf16{} + x; }

// exp2_poly on 16 lanes (the same steps; comparisons give lane masks, ?: selects per lane).
TT_VEC_INLINE vf16 exp2_vec(vf16 x) {
    const vf16 lo = splat(-126.0f), hi = splat(127.0f), shifter = splat(12582912.0f);
    x = x < lo ? lo : x;
    x = x > hi ? hi : x;
    const vf16 r = x + shifter;
    const vf16 f = x - (r - shifter);
    vf16 p = splat(1.5403530393381608e-4f);
    p = p * f + 1.3333558146428443e-3f;
    p = p * f + 9.6181291076284772e-3f;
    p = p * f + 5.5504108664821580e-2f;
    p = p * f + 2.4022650695910071e-1f;
    p = p * f + 6.9314718055994531e-1f;
    p = p * f + 1.0f;
    const vi16 bits = (((vi16)r - (vi16)shifter) + 127) << 23;  // (vi16)r: the same bits as ints
    return p * (vf16)bits;
}

TT_VEC_INLINE vi16 splat_i(std::int32_t x) { return vi16{} + x; }

// The forward's online-softmax step for one key block, on the transposed tile.
// zt: the tile Z^T = K_blk Q_blk^T in packed-B panel layout: panel p holds queries
// [p*nr, p*nr + nr), as bc rows (one per key) of nr floats. So a row of a panel holds nr queries
// side by side, and every step below is a vector operation across 16 queries at once: no
// horizontal reductions, and the result (P^T) is already the packed B operand of O^T += V^T P^T.
// In: raw scores. Out: P^T = 2^(c z - m'), 0 where masked. c = scale * log2(e) (base-2 units).
// m, l, alpha: (npan * nr,) per query: running maximum and sum, and the factor exp2(m - m') by
// which the caller rescales the accumulator. diag = i0 - j0: query r may see key kk when
// kk <= r + diag (causal), checked only when the tile straddles the diagonal.
TT_CLONES void tile_softmax(float* zt, i64 npan, i64 nr, i64 bc, float c, bool straddles,
                            i64 diag, float* m, float* l, float* alpha) {
    vi16 iota;
    for (int u = 0; u < 16; ++u) iota[u] = u;
    const vf16 ninf = splat(kNegInf), zero = {};
    for (i64 p = 0; p < npan; ++p)
        for (i64 g = 0; g < nr; g += kLanes) {
            const i64 r0 = p * nr + g;  // first query of these 16 lanes, within the block
            float* col = zt + p * bc * nr + g;
            const vi16 last_key = iota + splat_i(static_cast<std::int32_t>(r0 + diag));
            vf16 mx = ninf;
            for (i64 kk = 0; kk < bc; ++kk) {
                vf16 t = loadu(col + kk * nr) * c;
                if (straddles) t = splat_i(static_cast<std::int32_t>(kk)) <= last_key ? t : ninf;
                storeu(col + kk * nr, t);
                mx = mx > t ? mx : t;
            }
            const vf16 mold = loadu(m + r0);
            const vf16 mnew = mold > mx ? mold : mx;
            // A lane that has seen no visible key yet keeps m = -inf; shift by 0 there, not by
            // -inf (which would give inf - inf = nan). Its probabilities are masked to 0 anyway.
            const vf16 shift = mnew == ninf ? zero : mnew;
            vf16 sum = zero;
            for (i64 kk = 0; kk < bc; ++kk) {
                vf16 pr = exp2_vec(loadu(col + kk * nr) - shift);
                if (straddles) pr = splat_i(static_cast<std::int32_t>(kk)) <= last_key ? pr : zero;
                storeu(col + kk * nr, pr);
                sum += pr;
            }
            // alpha = 2^(m - m'); exp2 clamps -inf to 2^-126, harmless: l and acc are still 0.
            const vf16 al = exp2_vec(mold - shift);
            storeu(alpha + r0, al);
            storeu(l + r0, loadu(l + r0) * al + sum);
            storeu(m + r0, mnew);
        }
}

// acc: (dv, n) with row stride ld; every row times alpha (n,), a multiple of 16.
TT_CLONES void scale_columns(float* acc, i64 dv, i64 n, i64 ld, const float* alpha) {
    for (i64 d = 0; d < dv; ++d)
        for (i64 r = 0; r < n; r += kLanes)
            storeu(acc + d * ld + r, loadu(acc + d * ld + r) * loadu(alpha + r));
}

// out rows [0, br) (row stride dv) = acc^T / l: acc is (dv, br) with row stride ld.
TT_CLONES void finish_rows(const float* acc, i64 ld, const float* l, i64 br, i64 dv, float* out) {
    for (i64 r = 0; r < br; ++r) {
        const float inv = 1.0f / l[r];
        for (i64 d = 0; d < dv; ++d) out[r * dv + d] = acc[d * ld + r] * inv;
    }
}

// One row of the backward, for one (query block, key block) tile.
// z: (bc,) raw scores in, P_ij = 2^(c z_j - lse2) out; dp: (bc,) dP_ij = dO_i . V_j in,
// scale * dS_ij = scale * P_ij (dP_ij - D_i) out. Both 0 past nvalid.
TT_CLONES void backward_row(float* z, float* dp, i64 nvalid, i64 bc, float c, float lse2, float di,
                            float scale) {
    const i64 nfull = nvalid / kLanes * kLanes;
    for (i64 j = 0; j < nfull; j += kLanes) {
        const vf16 p = exp2_vec(loadu(z + j) * c - lse2);
        storeu(z + j, p);
        storeu(dp + j, scale * p * (loadu(dp + j) - di));
    }
    for (i64 j = nfull; j < nvalid; ++j) {
        const float p = exp2_poly(z[j] * c - lse2);
        z[j] = p;
        dp[j] = scale * p * (dp[j] - di);
    }
    for (i64 j = nvalid; j < bc; ++j) z[j] = dp[j] = 0.0f;
}

// Pack A = X^T into micro-kernel panels, for a row-major tile X (k, m) with row stride ldx:
// dst (ceil(m/MR), k, MR). Each panel row is MR consecutive floats of one row of X, so this is
// a run of short copies; the GEMM's own pack_a handles any strides, but one float at a time.
// MR is a template parameter so that each copy is a fixed-size move the compiler vectorises.
template <int MR>
TT_CLONES void pack_xt_panels(const float* x, i64 ldx, i64 k, i64 m, float* dst) {
    for (i64 i0 = 0; i0 < m; i0 += MR, dst += k * MR) {
        const i64 rows = std::min<i64>(MR, m - i0);
        if (rows == MR) {
            for (i64 kk = 0; kk < k; ++kk) std::memcpy(dst + kk * MR, x + kk * ldx + i0, MR * 4);
        } else {
            for (i64 kk = 0; kk < k; ++kk)
                for (i64 r = 0; r < MR; ++r)
                    dst[kk * MR + r] = r < rows ? x[kk * ldx + i0 + r] : 0.0f;
        }
    }
}

void pack_xt(const GemmKernel& kern, const float* x, i64 ldx, i64 k, i64 m, float* dst) {
    switch (kern.mr) {
        case 14: return pack_xt_panels<14>(x, ldx, k, m, dst);
        case 6: return pack_xt_panels<6>(x, ldx, k, m, dst);
        case 4: return pack_xt_panels<4>(x, ldx, k, m, dst);
        default: kern.pack_a(MatView{x, 1, ldx}, 0, m, 0, k, dst);  // any other kernel
    }
}

// D_i = sum_d dO_id * O_id for one row, each with its own stride.
TT_CLONES float dot_strided(const float* a, i64 sa, const float* b, i64 sb, i64 n) {
    if (sa == 1 && sb == 1) {
        vf16 acc = {};
        i64 d = 0;
        for (; d + kLanes <= n; d += kLanes) acc += loadu(a + d) * loadu(b + d);
        float s = 0.0f;
        for (; d < n; ++d) s += a[d] * b[d];
        for (i64 u = 0; u < kLanes; ++u) s += acc[u];
        return s;
    }
    float s = 0.0f;
    for (i64 d = 0; d < n; ++d) s += a[d * sa] * b[d * sb];
    return s;
}

// (a, b) += (c, d) row sums for the dq reduction.
TT_CLONES void add_into(float* dst, const float* src, i64 n) {
    for (i64 i = 0; i < n; ++i) dst[i] += src[i];
}

// ---------------------------------------------------------------------------------------------
// Strided 4-D views of the inputs.

// A float32 (B, H, L, E) array: element (b, h, i, e) is at data[b*s0 + h*s1 + i*s2 + e*s3].
struct View4 {
    const float* data;
    i64 n[4];
    i64 s[4];  // strides in elements
    const float* at(i64 bh, i64 H) const { return data + (bh / H) * s[0] + (bh % H) * s[1]; }
    // The (L, E) matrix of one (b, h), and its transpose (E, L): the same data, strides swapped.
    MatView mat(i64 bh, i64 H) const { return {at(bh, H), s[2], s[3]}; }
    MatView mat_t(i64 bh, i64 H) const { return {at(bh, H), s[3], s[2]}; }
};

View4 view4(const char* op, const char* name, const py::array& x) {
    if (!x.dtype().equal(py::dtype::of<float>()))
        throw py::type_error(std::string(op) + ": expected float32 arrays, got " + dtype_str(x) +
                             " for " + name + " of shape " + shape_str(x));
    if (x.ndim() != 4)
        throw py::value_error(std::string(op) + ": expected " + name +
                              " of shape (B, H, L, E), got shape " + shape_str(x));
    View4 v{static_cast<const float*>(x.data()), {}, {}};
    for (int d = 0; d < 4; ++d) {
        const auto st = x.strides(d);
        if (st < 0 || st % static_cast<py::ssize_t>(sizeof(float)) != 0)
            throw py::value_error(std::string(op) + ": " + name + " has stride " +
                                  std::to_string(st) + " bytes in dim " + std::to_string(d) +
                                  "; strides must be non-negative multiples of 4 (pass a copy)");
        v.n[d] = x.shape(d);
        v.s[d] = st / 4;
    }
    if (reinterpret_cast<std::uintptr_t>(x.data()) % alignof(float) != 0)
        throw py::value_error(std::string(op) + ": " + name + " is not 4-byte aligned");
    return v;
}

struct Dims {
    i64 B, H, T, S, D, Dv;
    float scale;
};

// q: (B, H, T, D), k: (B, H, S, D), v: (B, H, S, Dv)
Dims check_qkv(const char* op, const py::array& q, const py::array& k, const py::array& v,
               const View4& qv, const View4& kv, const View4& vv, std::optional<double> scale) {
    const bool fits = kv.n[0] == qv.n[0] && vv.n[0] == qv.n[0] && kv.n[1] == qv.n[1] &&
                      vv.n[1] == qv.n[1] && kv.n[3] == qv.n[3] && vv.n[2] == kv.n[2];
    if (!fits)
        throw py::value_error(std::string(op) + ": q " + shape_str(q) + ", k " + shape_str(k) +
                              " and v " + shape_str(v) +
                              " do not fit: expected q (B, H, T, D), k (B, H, S, D), "
                              "v (B, H, S, Dv)");
    if (kv.n[2] == 0)
        throw py::value_error(std::string(op) + ": k " + shape_str(k) +
                              " has no keys (S = 0): softmax over nothing is undefined");
    Dims d{qv.n[0], qv.n[1], qv.n[2], kv.n[2], qv.n[3], vv.n[3], 0.0f};
    d.scale = scale ? static_cast<float>(*scale)
                    : (d.D > 0 ? 1.0f / std::sqrt(static_cast<float>(d.D)) : 1.0f);
    return d;
}

void check_same(const char* op, const char* name, const py::array& x, const Dims& d, i64 last) {
    const bool ok = x.ndim() == 4 && x.shape(0) == d.B && x.shape(1) == d.H && x.shape(2) == d.T &&
                    x.shape(3) == last;
    if (!ok)
        throw py::value_error(std::string(op) + ": " + name + " has shape " + shape_str(x) +
                              ", expected (" + std::to_string(d.B) + ", " + std::to_string(d.H) +
                              ", " + std::to_string(d.T) + ", " + std::to_string(last) +
                              ") like the attention output");
}

int threads_for(const Dims& d, int nthreads, i64 items) {
    const double work = double(d.B) * d.H * d.T * d.S * (d.D + d.Dv);
    if (work < kMinFlopsToThread) return 1;
#if !defined(_OPENMP)
    (void)nthreads, (void)items;
    return 1;
#else
    return static_cast<int>(std::max<i64>(1, std::min<i64>(nthreads, items)));
#endif
}

struct Blocks {
    i64 br, bc;
};

// BR queries by BC keys per tile, 64 x 64 unless _set_attention_blocks says otherwise. Equal
// sizes matter more than matching the micro-kernel's tile: they put the causal diagonal on tile
// boundaries, so the tiles above it are skipped whole (with 64 queries by 70 keys, say, every
// diagonal tile would spill into the next one). A size that is not a multiple of MR or NR just
// computes a few padded rows or columns in the last panel.
Blocks attention_blocks() { return {g_br > 0 ? g_br : 64, g_bc > 0 ? g_bc : 64}; }

// ---------------------------------------------------------------------------------------------
// Forward.

// Per-thread scratch of the forward, sized for full blocks, 64-byte aligned (the AVX-512
// micro-kernel reads packed B panels with aligned loads). pk and pvt cache the packed K and V^T
// blocks of one (b, h) (`cached_bh`), packed lazily the first time a query block needs them:
// the items of one (b, h) mostly run one after the other on the same thread, so each K and V
// block is packed about once per thread instead of once per query block.
struct FwdScratch {
    i64 brp;           // BR rounded up to whole NR panels
    i64 kslot, vslot;  // floats per packed key block in pk (K) and pvt (V^T)
    AlignedFloats pqt, pk, pvt, zt, acc, m, l, alpha;
    i64 cached_bh = -1;
    std::vector<char> packed;  // per key block: packed for cached_bh?
    FwdScratch(const GemmKernel& kern, const Blocks& bl, const Dims& d)
        : brp(round_up(bl.br, kern.nr)),
          kslot(round_up(bl.bc, kern.mr) * d.D),
          vslot(round_up(d.Dv, kern.mr) * bl.bc) {
        const i64 nkb = ceil_div(d.S, bl.bc);
        pqt = aligned_floats(brp * d.D);  // Q_blk^T as B panels: (brp/NR, D, NR)
        pk = aligned_floats(nkb * kslot);   // per key block, K_blk as A panels: (., D, MR)
        pvt = aligned_floats(nkb * vslot);  // per key block, V_blk^T as A panels: (., bc, MR)
        zt = aligned_floats(brp * bl.bc);   // Z^T / P^T as B panels: (brp/NR, bc, NR)
        acc = aligned_floats(d.Dv * brp);   // O^T, unnormalised: (Dv, brp)
        m = aligned_floats(brp);
        l = aligned_floats(brp);
        alpha = aligned_floats(brp);
        // Lanes past the last query of a short block are computed but never stored; start them
        // from zeros so that they hold finite numbers.
        std::fill(zt.get(), zt.get() + brp * bl.bc, 0.0f);
        packed.assign(static_cast<std::size_t>(nkb), 0);
    }
};

// One query block [i0, i0 + br) of one (b, h): out rows (br, Dv) and their lse.
void forward_block(const GemmKernel& kern, const Blocks& bl, const Dims& d, const View4& q,
                   const View4& k, const View4& v, bool causal, i64 bh, i64 i0, FwdScratch& w,
                   float* out, float* lse) {
    const i64 NR = kern.nr, BC = bl.bc, br = std::min(bl.br, d.T - i0);
    const i64 npan = ceil_div(br, NR), lanes = npan * NR;
    const float c = d.scale * kLog2e;
    float *zt = w.zt.get(), *acc = w.acc.get(), *m = w.m.get(), *l = w.l.get();
    if (w.cached_bh != bh) {
        std::fill(w.packed.begin(), w.packed.end(), 0);
        w.cached_bh = bh;
    }
    kern.pack_b(q.mat_t(bh, d.H), 0, d.D, i0, br, w.pqt.get());  // Q_blk^T: (D, br), once
    std::fill(acc, acc + d.Dv * w.brp, 0.0f);
    std::fill(m, m + lanes, kNegInf);
    std::fill(l, l + lanes, 0.0f);
    // Causal: keys past the block's last query are masked for every row, so stop there.
    const i64 kend = causal ? std::min(d.S, i0 + br) : d.S;
    for (i64 j0 = 0; j0 < kend; j0 += BC) {
        // Whole key blocks even at the causal end (the mask zeroes the extra keys), so that one
        // packed copy of each block serves every query block.
        const i64 kb = j0 / BC, bc = std::min(BC, d.S - j0);
        float *pk = w.pk.get() + kb * w.kslot, *pvt = w.pvt.get() + kb * w.vslot;
        if (!w.packed[kb]) {
            kern.pack_a(k.mat(bh, d.H), j0, bc, 0, d.D, pk);      // K_blk: (bc, D)
            kern.pack_a(v.mat_t(bh, d.H), 0, d.Dv, j0, bc, pvt);  // V_blk^T: (Dv, bc)
            w.packed[kb] = 1;
        }
        // Z^T = K_blk Q_blk^T, one NR-panel of queries at a time with ldc = NR, so that the
        // result lands in packed-B layout: (npan, bc, NR).
        for (i64 p = 0; p < npan; ++p)
            kern.macro_kernel(bc, std::min(NR, br - p * NR), d.D, pk, w.pqt.get() + p * d.D * NR,
                              zt + p * bc * NR, NR, false);
        const bool straddles = causal && j0 + bc - 1 > i0;  // some query sees only part of it
        tile_softmax(zt, npan, NR, bc, c, straddles, i0 - j0, m, l, w.alpha.get());
        // O^T = alpha * O^T + V_blk^T P^T: (Dv, bc) @ (bc, br); P^T is already packed.
        scale_columns(acc, d.Dv, lanes, w.brp, w.alpha.get());
        kern.macro_kernel(d.Dv, br, bc, pvt, zt, acc, w.brp, true);
    }
    // Every query sees at least key 0, so l >= 1 (the maximum's own term is 2^0).
    finish_rows(acc, w.brp, l, br, d.Dv, out + i0 * d.Dv);
    for (i64 r = 0; r < br; ++r) lse[i0 + r] = m[r] * kLn2 + std::log(l[r]);
}

// out: (B, H, T, Dv), lse: (B, H, T), both contiguous.
void forward_fast(const Dims& d, const View4& q, const View4& k, const View4& v, bool causal,
                  float* out, float* lse, int nthreads) {
    const GemmKernel& kern = active_gemm_kernel();
    const Blocks bl = attention_blocks();
    const i64 nqb = ceil_div(d.T, bl.br), items = d.B * d.H * nqb;
    nthreads = threads_for(d, nthreads, items);
#pragma omp parallel num_threads(nthreads) if (nthreads > 1)
    {
        FwdScratch w(kern, bl, d);
#pragma omp for schedule(dynamic, 1)
        for (i64 it = 0; it < items; ++it) {
            const i64 bh = it / nqb, qb = nqb - 1 - it % nqb;  // last (causal: biggest) first
            forward_block(kern, bl, d, q, k, v, causal, bh, qb * bl.br, w, out + bh * d.T * d.Dv,
                          lse + bh * d.T);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Backward.

// Per-thread scratch of the backward. The packed forms of Q and dO (as the A operand of one
// product and the B operand of another) are cached per query block for one (b, h): the key-block
// loop revisits every query block, and repacking them each time cost a fifth of the backward.
struct BwdScratch {
    i64 qa_slot, qb_slot, doa_slot, dob_slot;  // floats per query block in each cache
    AlignedFloats pkt, pvt, pkb, dk, dv, qa, qbp, doa, dob, z, dp, ppt, pdst, pds;
    i64 cached_bh = -1;
    std::vector<char> packed;  // per query block: are its four packed forms there?
    BwdScratch(const GemmKernel& kern, const Blocks& bl, const Dims& d) {
        const i64 brA = round_up(bl.br, kern.mr), bcA = round_up(bl.bc, kern.mr);
        const i64 bcB = round_up(bl.bc, kern.nr), dB = round_up(d.D, kern.nr),
                  dvB = round_up(d.Dv, kern.nr);
        const i64 nqb = ceil_div(d.T, bl.br);
        qa_slot = brA * d.D, doa_slot = brA * d.Dv, qb_slot = dB * bl.br, dob_slot = dvB * bl.br;
        pkt = aligned_floats(bcB * d.D);        // K_blk^T as B: (D, bc)
        pvt = aligned_floats(bcB * d.Dv);       // V_blk^T as B: (Dv, bc)
        pkb = aligned_floats(dB * bl.bc);       // K_blk   as B: (bc, D)
        dk = aligned_floats(bl.bc * d.D);       // dK_blk accumulator
        dv = aligned_floats(bl.bc * d.Dv);      // dV_blk accumulator
        qa = aligned_floats(nqb * qa_slot);     // per query block, Q_blk  as A: (br, D)
        qbp = aligned_floats(nqb * qb_slot);    // per query block, Q_blk  as B: (br, D)
        doa = aligned_floats(nqb * doa_slot);   // per query block, dO_blk as A: (br, Dv)
        dob = aligned_floats(nqb * dob_slot);   // per query block, dO_blk as B: (br, Dv)
        z = aligned_floats(bl.br * bl.bc);      // Z, then P: (br, bc)
        dp = aligned_floats(bl.br * bl.bc);     // dP, then scale * dS: (br, bc)
        ppt = aligned_floats(bcA * bl.br);      // P^T  as A: (bc, br)
        pdst = aligned_floats(bcA * bl.br);     // dS^T as A: (bc, br)
        pds = aligned_floats(brA * bl.bc);      // dS   as A: (br, bc)
        packed.assign(static_cast<std::size_t>(nqb), 0);
    }
};

// One key block [j0, j0 + bc) of one (b, h), against every query block that sees it.
// dq: (T, D) of this item, accumulated; dk: (S, D), dv: (S, Dv) of this (b, h), written.
// lse2: (T,) log-sum-exp in log2 units, di: (T,) rowsum(dO * O).
void backward_key_block(const GemmKernel& kern, const Blocks& bl, const Dims& d, const View4& q,
                        const View4& k, const View4& v, const View4& dout, const float* lse2,
                        const float* di, bool causal, i64 bh, i64 j0, i64 s_eff, BwdScratch& w,
                        float* dq, float* dk, float* dv) {
    const i64 BR = bl.br, BC = bl.bc, bc = std::min(BC, s_eff - j0);
    const float c = d.scale * kLog2e;
    float *z = w.z.get(), *dp = w.dp.get(), *dk_acc = w.dk.get(), *dv_acc = w.dv.get();
    if (w.cached_bh != bh) {
        std::fill(w.packed.begin(), w.packed.end(), 0);
        w.cached_bh = bh;
    }
    kern.pack_b(k.mat_t(bh, d.H), 0, d.D, j0, bc, w.pkt.get());
    kern.pack_b(v.mat_t(bh, d.H), 0, d.Dv, j0, bc, w.pvt.get());
    kern.pack_b(k.mat(bh, d.H), j0, bc, 0, d.D, w.pkb.get());
    std::fill(dk_acc, dk_acc + bc * d.D, 0.0f);
    std::fill(dv_acc, dv_acc + bc * d.Dv, 0.0f);
    const i64 nqb = ceil_div(d.T, BR);
    for (i64 qb = causal ? j0 / BR : 0; qb < nqb; ++qb) {  // causal: only rows i >= j0 see it
        const i64 i0 = qb * BR, br = std::min(BR, d.T - i0);
        float *qa = w.qa.get() + qb * w.qa_slot, *qbp = w.qbp.get() + qb * w.qb_slot;
        float *doa = w.doa.get() + qb * w.doa_slot, *dob = w.dob.get() + qb * w.dob_slot;
        if (!w.packed[qb]) {
            const MatView qm = q.mat(bh, d.H), dom = dout.mat(bh, d.H);
            kern.pack_a(qm, i0, br, 0, d.D, qa);
            kern.pack_b(qm, i0, br, 0, d.D, qbp);
            kern.pack_a(dom, i0, br, 0, d.Dv, doa);
            kern.pack_b(dom, i0, br, 0, d.Dv, dob);
            w.packed[qb] = 1;
        }
        // z = Q_blk K_blk^T, dp = dO_blk V_blk^T: (br, bc), row stride BC
        kern.macro_kernel(br, bc, d.D, qa, w.pkt.get(), z, BC, false);
        kern.macro_kernel(br, bc, d.Dv, doa, w.pvt.get(), dp, BC, false);
        const bool straddles = causal && j0 + bc - 1 > i0;
        for (i64 r = 0; r < br; ++r) {
            const i64 nvalid = straddles ? std::clamp<i64>(i0 + r - j0 + 1, 0, bc) : bc;
            backward_row(z + r * BC, dp + r * BC, nvalid, bc, c, lse2[i0 + r], di[i0 + r],
                         d.scale);
        }
        // dV_blk += P^T dO_blk: (bc, br) @ (br, Dv)
        pack_xt(kern, z, BC, br, bc, w.ppt.get());
        kern.macro_kernel(bc, d.Dv, br, w.ppt.get(), dob, dv_acc, d.Dv, true);
        // dK_blk += dS^T Q_blk: (bc, br) @ (br, D)   (dS already carries the scale)
        pack_xt(kern, dp, BC, br, bc, w.pdst.get());
        kern.macro_kernel(bc, d.D, br, w.pdst.get(), qbp, dk_acc, d.D, true);
        // dQ_blk += dS K_blk: (br, bc) @ (bc, D)
        kern.pack_a(MatView{dp, BC, 1}, 0, br, 0, bc, w.pds.get());
        kern.macro_kernel(br, d.D, bc, w.pds.get(), w.pkb.get(), dq + i0 * d.D, d.D, true);
    }
    std::memcpy(dk + j0 * d.D, dk_acc, sizeof(float) * bc * d.D);
    std::memcpy(dv + j0 * d.Dv, dv_acc, sizeof(float) * bc * d.Dv);
}

// dq: (B, H, T, D), dk: (B, H, S, D), dv: (B, H, S, Dv), contiguous. lse: (B, H, T) contiguous.
void backward_fast(const Dims& d, const View4& q, const View4& k, const View4& v,
                   const View4& out, const float* lse, const View4& dout, bool causal, float* dq,
                   float* dk, float* dv, int nthreads) {
    const GemmKernel& kern = active_gemm_kernel();
    const Blocks bl = attention_blocks();
    const i64 BH = d.B * d.H, rows = BH * d.T;
    // Keys at or past T are masked for every query in causal mode: their gradients are zero.
    const i64 s_eff = causal ? std::min(d.S, d.T) : d.S;
    const i64 nkb = ceil_div(s_eff, bl.bc);
    std::vector<float> lse2(rows), di(rows);
    const int nt = threads_for(d, nthreads, BH * std::max<i64>(nkb, 1));
    // D_i = rowsum(dO_i * O_i), and the lse in log2 units, once per row.
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (i64 r = 0; r < rows; ++r) {
        const i64 bh = r / d.T, i = r % d.T;
        const float* o = out.at(bh, d.H) + i * out.s[2];
        const float* g = dout.at(bh, d.H) + i * dout.s[2];
        di[r] = dot_strided(o, out.s[3], g, dout.s[3], d.Dv);
        lse2[r] = lse[r] * kLog2e;
    }
    std::memset(dq, 0, sizeof(float) * rows * d.D);
    if (s_eff < d.S)
        for (i64 bh = 0; bh < BH; ++bh) {
            std::memset(dk + (bh * d.S + s_eff) * d.D, 0, sizeof(float) * (d.S - s_eff) * d.D);
            std::memset(dv + (bh * d.S + s_eff) * d.Dv, 0, sizeof(float) * (d.S - s_eff) * d.Dv);
        }
    if (nkb == 0) return;
    // Split a (b, h) over several items only when there are fewer (b, h) than threads. Items of
    // one (b, h) take interleaved key blocks (balanced under the causal mask) and private dq.
    const i64 chunks = BH >= nt ? 1 : std::min<i64>(nkb, ceil_div(nt, BH));
    const i64 items = BH * chunks;
    std::vector<float> partial(chunks > 1 ? static_cast<std::size_t>(items * d.T * d.D) : 0, 0.0f);
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        BwdScratch w(kern, bl, d);
#pragma omp for schedule(dynamic, 1)
        for (i64 it = 0; it < items; ++it) {
            const i64 bh = it / chunks, ch = it % chunks;
            float* dq_item = chunks > 1 ? partial.data() + it * d.T * d.D : dq + bh * d.T * d.D;
            for (i64 kb = ch; kb < nkb; kb += chunks)
                backward_key_block(kern, bl, d, q, k, v, dout, lse2.data() + bh * d.T,
                                   di.data() + bh * d.T, causal, bh, kb * bl.bc, s_eff, w,
                                   dq_item, dk + bh * d.S * d.D, dv + bh * d.S * d.Dv);
        }
        if (chunks > 1) {
#pragma omp for schedule(static)
            for (i64 r = 0; r < rows; ++r) {
                const i64 bh = r / d.T, i = r % d.T;
                for (i64 ch = 0; ch < chunks; ++ch)
                    add_into(dq + r * d.D, partial.data() + ((bh * chunks + ch) * d.T + i) * d.D,
                             d.D);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The references: materialise the (T, S) matrices of one (b, h) at a time, plain loops, libm exp.
// Slow on purpose and obviously right; the tests compare the fast kernels against them.

void forward_naive(const Dims& d, const View4& q, const View4& k, const View4& v, bool causal,
                   float* out, float* lse) {
    std::vector<float> p(static_cast<std::size_t>(d.T * d.S));  // P: (T, S)
    for (i64 bh = 0; bh < d.B * d.H; ++bh) {
        const float *qp = q.at(bh, d.H), *kp = k.at(bh, d.H), *vp = v.at(bh, d.H);
        for (i64 i = 0; i < d.T; ++i) {
            float mx = kNegInf;
            for (i64 j = 0; j < d.S; ++j) {
                float s = 0.0f;
                for (i64 e = 0; e < d.D; ++e)
                    s += qp[i * q.s[2] + e * q.s[3]] * kp[j * k.s[2] + e * k.s[3]];
                s = (causal && j > i) ? kNegInf : s * d.scale;
                p[i * d.S + j] = s;
                mx = std::max(mx, s);
            }
            float sum = 0.0f;
            for (i64 j = 0; j < d.S; ++j) sum += (p[i * d.S + j] = std::exp(p[i * d.S + j] - mx));
            for (i64 j = 0; j < d.S; ++j) p[i * d.S + j] /= sum;
            lse[bh * d.T + i] = mx + std::log(sum);
        }
        for (i64 i = 0; i < d.T; ++i)
            for (i64 e = 0; e < d.Dv; ++e) {
                float acc = 0.0f;
                for (i64 j = 0; j < d.S; ++j) acc += p[i * d.S + j] * vp[j * v.s[2] + e * v.s[3]];
                out[(bh * d.T + i) * d.Dv + e] = acc;
            }
    }
}

void backward_naive(const Dims& d, const View4& q, const View4& k, const View4& v,
                    const View4& out, const float* lse, const View4& dout, bool causal, float* dq,
                    float* dk, float* dv) {
    std::vector<float> p(static_cast<std::size_t>(d.T * d.S)), ds(p.size());
    for (i64 bh = 0; bh < d.B * d.H; ++bh) {
        const float *qp = q.at(bh, d.H), *kp = k.at(bh, d.H), *vp = v.at(bh, d.H);
        const float *op = out.at(bh, d.H), *gp = dout.at(bh, d.H);
        auto Q = [&](i64 i, i64 e) { return qp[i * q.s[2] + e * q.s[3]]; };
        auto K = [&](i64 j, i64 e) { return kp[j * k.s[2] + e * k.s[3]]; };
        auto V = [&](i64 j, i64 e) { return vp[j * v.s[2] + e * v.s[3]]; };
        auto O = [&](i64 i, i64 e) { return op[i * out.s[2] + e * out.s[3]]; };
        auto G = [&](i64 i, i64 e) { return gp[i * dout.s[2] + e * dout.s[3]]; };
        for (i64 i = 0; i < d.T; ++i) {
            float di = 0.0f;
            for (i64 e = 0; e < d.Dv; ++e) di += G(i, e) * O(i, e);
            for (i64 j = 0; j < d.S; ++j) {
                float s = 0.0f, dpij = 0.0f;
                for (i64 e = 0; e < d.D; ++e) s += Q(i, e) * K(j, e);
                for (i64 e = 0; e < d.Dv; ++e) dpij += G(i, e) * V(j, e);
                const float pij =
                    (causal && j > i) ? 0.0f : std::exp(s * d.scale - lse[bh * d.T + i]);
                p[i * d.S + j] = pij;
                ds[i * d.S + j] = pij * (dpij - di) * d.scale;
            }
        }
        float *dqb = dq + bh * d.T * d.D, *dkb = dk + bh * d.S * d.D, *dvb = dv + bh * d.S * d.Dv;
        for (i64 i = 0; i < d.T; ++i)
            for (i64 e = 0; e < d.D; ++e) {
                float acc = 0.0f;
                for (i64 j = 0; j < d.S; ++j) acc += ds[i * d.S + j] * K(j, e);
                dqb[i * d.D + e] = acc;
            }
        for (i64 j = 0; j < d.S; ++j) {
            for (i64 e = 0; e < d.D; ++e) {
                float acc = 0.0f;
                for (i64 i = 0; i < d.T; ++i) acc += ds[i * d.S + j] * Q(i, e);
                dkb[j * d.D + e] = acc;
            }
            for (i64 e = 0; e < d.Dv; ++e) {
                float acc = 0.0f;
                for (i64 i = 0; i < d.T; ++i) acc += p[i * d.S + j] * G(i, e);
                dvb[j * d.Dv + e] = acc;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Python entry points.

using Lse = py::array_t<float, py::array::c_style | py::array::forcecast>;

template <bool Naive>
py::tuple attention_forward(const py::array& q, const py::array& k, const py::array& v,
                            bool causal, std::optional<double> scale) {
    const char* op = Naive ? "attention_forward_naive" : "attention_forward";
    const View4 qv = view4(op, "q", q), kv = view4(op, "k", k), vv = view4(op, "v", v);
    const Dims d = check_qkv(op, q, k, v, qv, kv, vv, scale);
    py::array_t<float> out({d.B, d.H, d.T, d.Dv});
    py::array_t<float> lse({d.B, d.H, d.T});
    float *op_ = out.mutable_data(), *lp = lse.mutable_data();
    {
        py::gil_scoped_release nogil;
        if (Naive)
            forward_naive(d, qv, kv, vv, causal, op_, lp);
        else
            forward_fast(d, qv, kv, vv, causal, op_, lp, active_num_threads());
    }
    return py::make_tuple(out, lse);
}

template <bool Naive>
py::tuple attention_backward(const py::array& q, const py::array& k, const py::array& v,
                             const py::array& out, const Lse& lse, const py::array& grad_out,
                             bool causal, std::optional<double> scale) {
    const char* op = Naive ? "attention_backward_naive" : "attention_backward";
    const View4 qv = view4(op, "q", q), kv = view4(op, "k", k), vv = view4(op, "v", v);
    const Dims d = check_qkv(op, q, k, v, qv, kv, vv, scale);
    check_same(op, "out", out, d, d.Dv);
    check_same(op, "grad_out", grad_out, d, d.Dv);
    const View4 ov = view4(op, "out", out), gv = view4(op, "grad_out", grad_out);
    if (lse.ndim() != 3 || lse.shape(0) != d.B || lse.shape(1) != d.H || lse.shape(2) != d.T)
        throw py::value_error(std::string(op) + ": lse has shape " + shape_str(lse) +
                              ", expected (" + std::to_string(d.B) + ", " + std::to_string(d.H) +
                              ", " + std::to_string(d.T) + ") (one log-sum-exp per query row)");
    // One buffer, three views: dq (B, H, T, D), dk (B, H, S, D), dv (B, H, S, Dv).
    const i64 nq = d.B * d.H * d.T * d.D, nk = d.B * d.H * d.S * d.D;
    const i64 nv = d.B * d.H * d.S * d.Dv;
    py::array_t<float> flat(nq + nk + nv);
    float* base = flat.mutable_data();
    {
        py::gil_scoped_release nogil;
        if (Naive)
            backward_naive(d, qv, kv, vv, ov, lse.data(), gv, causal, base, base + nq,
                           base + nq + nk);
        else
            backward_fast(d, qv, kv, vv, ov, lse.data(), gv, causal, base, base + nq,
                          base + nq + nk, active_num_threads());
    }
    auto view = [&](i64 offset, i64 l, i64 e) {
        return py::array_t<float>({d.B, d.H, l, e}, base + offset, flat);
    };
    return py::make_tuple(view(0, d.T, d.D), view(nq, d.S, d.D), view(nq + nk, d.S, d.Dv));
}

void set_attention_blocks(i64 br, i64 bc) {
    if (br < 0 || bc < 0) throw py::value_error("_set_attention_blocks: block sizes must be >= 0");
    g_br = br, g_bc = bc;
}

py::dict attention_config() {
    const Blocks bl = attention_blocks();
    py::dict dct;
    dct["br"] = bl.br;
    dct["bc"] = bl.bc;
    dct["isa"] = active_gemm_kernel().name;
    return dct;
}

}  // namespace

void register_attention(py::module_& m) {
    m.def("attention_forward", &attention_forward<false>, py::arg("q"), py::arg("k"), py::arg("v"),
          py::arg("causal") = false, py::arg("scale") = py::none(),
          R"doc(Fused attention forward: ``softmax(scale * q @ k^T [causal]) @ v`` and the lse.

q: (B, H, T, D), k: (B, H, S, D), v: (B, H, S, Dv) float32, any non-negative strides (views are
read in place). causal: query i sees keys 0..i only (top-left aligned). scale defaults to
1/sqrt(D). Returns (out (B, H, T, Dv), lse (B, H, T)), where lse[i] = log sum_j exp(scale q_i.k_j)
over the visible keys. Streams over key blocks with an online softmax: never holds the (T, S)
matrix. Raises TypeError for non-float32, ValueError for shapes that do not fit or S = 0.)doc");
    m.def("attention_forward_naive", &attention_forward<true>, py::arg("q"), py::arg("k"),
          py::arg("v"), py::arg("causal") = false, py::arg("scale") = py::none(),
          "Reference for attention_forward: materialises each (T, S) matrix, plain loops, "
          "one thread.");
    m.def("attention_backward", &attention_backward<false>, py::arg("q"), py::arg("k"),
          py::arg("v"), py::arg("out"), py::arg("lse"), py::arg("grad_out"),
          py::arg("causal") = false, py::arg("scale") = py::none(),
          R"doc(Fused attention backward: (dq, dk, dv) from q, k, v, out, lse and dL/dout.

Recomputes the probabilities tile by tile from q, k and lse (nothing of size (T, S) is stored).
Shapes as attention_forward; out and grad_out: (B, H, T, Dv), lse: (B, H, T). Returns dq
(B, H, T, D), dk (B, H, S, D), dv (B, H, S, Dv): C-contiguous views of one buffer (.base).)doc");
    m.def("attention_backward_naive", &attention_backward<true>, py::arg("q"), py::arg("k"),
          py::arg("v"), py::arg("out"), py::arg("lse"), py::arg("grad_out"),
          py::arg("causal") = false, py::arg("scale") = py::none(),
          "Reference for attention_backward: materialises P and dS (T, S); plain loops.");
    m.def("attention_config", &attention_config,
          "The fused attention's block sizes (br query rows, bc keys) and the GEMM ISA it uses.");
    m.def("_set_attention_blocks", &set_attention_blocks, py::arg("br") = 0, py::arg("bc") = 0,
          "Tuning hook: override the attention tiles, br queries by bc keys (0 restores 64).");
}

}  // namespace tt
