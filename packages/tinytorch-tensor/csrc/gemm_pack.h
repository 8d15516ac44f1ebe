// gemm_pack.h: packing and the macro-kernel loop, shared by every ISA file.
//
// Why pack? The micro-kernel wants, for each step k, `mr` values of A and `nr` values of B sitting
// next to each other in memory, so it can read them with one or two cache lines and no TLB
// misses, whatever the layout of the caller's arrays (row-major, transposed, sliced, stride 0).
// Packing copies each cache block once into that order; the copy is O(m*k + k*n) while the
// arithmetic that reuses it is O(m*n*k), so for all but tiny matrices it is almost free. It is
// also why this GEMM accepts any (non-negative) strides: `a.T` costs nothing extra.
//
// Packed layouts (padded with zeros, so the micro-kernel never needs bounds checks on k and the
// padding rows/cols just produce values that are never stored):
//   A block (m, k)  ->  ceil(m/MR) panels, each (k, MR): for every k, MR rows side by side.
//   B block (k, n)  ->  ceil(n/NR) panels, each (k, NR): for every k, NR columns side by side.
//
// This header is included by each ISA file and everything in it has internal linkage (anonymous
// namespace): each file gets its own copy compiled with its own -m flags. See gemm.h for why.
#pragma once

#include <cstdint>

#include "gemm.h"

namespace {

using i64 = std::int64_t;

inline i64 imin(i64 a, i64 b) { return a < b ? a : b; }

// dst: (ceil(m/MR), k, MR)
template <int MR>
void pack_a_panels(tt::MatView a, i64 i0, i64 m, i64 p0, i64 k, float* dst) {
    for (i64 ip = 0; ip < m; ip += MR, dst += MR * k) {
        const i64 rows = imin(MR, m - ip);
        const float* src = a.data + (i0 + ip) * a.s0 + p0 * a.s1;
        if (rows == MR) {
            // Full panel: k outer, the MR rows inner and fully unrolled. The MR reads of one
            // step come from MR rows walked in parallel (each sequential: the hardware prefetcher
            // follows all of them), and the writes are one contiguous run. About 2x faster than
            // walking one row at a time and scattering with stride MR.
            for (i64 kk = 0; kk < k; ++kk) {
#pragma GCC unroll 32
                for (int r = 0; r < MR; ++r) dst[kk * MR + r] = src[r * a.s0 + kk * a.s1];
            }
        } else {
            // The last, partial panel: zero-pad the missing rows.
            for (i64 kk = 0; kk < k; ++kk) {
                for (i64 r = 0; r < rows; ++r) dst[kk * MR + r] = src[r * a.s0 + kk * a.s1];
                for (i64 r = rows; r < MR; ++r) dst[kk * MR + r] = 0.0f;
            }
        }
    }
}

// dst: (ceil(n/NR), k, NR)
template <int NR>
void pack_b_panels(tt::MatView b, i64 p0, i64 k, i64 j0, i64 n, float* dst) {
    for (i64 jp = 0; jp < n; jp += NR, dst += NR * k) {
        const i64 cols = imin(NR, n - jp);
        const float* src = b.data + p0 * b.s0 + (j0 + jp) * b.s1;
        if (b.s1 == 1 && cols == NR) {
            // Row-major B, full panel: each k is one contiguous run of NR floats (a plain copy
            // the compiler turns into vector loads/stores).
            for (i64 kk = 0; kk < k; ++kk)
                for (int j = 0; j < NR; ++j) dst[kk * NR + j] = src[kk * b.s0 + j];
        } else if (b.s0 == 1 && b.s1 != 0) {
            // Transposed B (b.T passed in): each column is contiguous, so walk columns outer.
            for (i64 j = 0; j < cols; ++j)
                for (i64 kk = 0; kk < k; ++kk) dst[kk * NR + j] = src[j * b.s1 + kk];
            for (i64 kk = 0; kk < k; ++kk)
                for (i64 j = cols; j < NR; ++j) dst[kk * NR + j] = 0.0f;
        } else {
            for (i64 kk = 0; kk < k; ++kk) {
                for (i64 j = 0; j < cols; ++j) dst[kk * NR + j] = src[kk * b.s0 + j * b.s1];
                for (i64 j = cols; j < NR; ++j) dst[kk * NR + j] = 0.0f;
            }
        }
    }
}

// A micro-kernel computes a full (MR, NR) tile: c (+)= a_panel @ b_panel.
//   a: (k, MR) packed, b: (k, NR) packed, c: (MR, NR) with row stride ldc.
using FullTileFn = void (*)(i64 k, const float* a, const float* b, float* c, i64 ldc,
                            bool accumulate);

// Edge tiles (mr < MR or nr < NR) for kernels without masked stores: compute the whole tile into
// a small aligned scratch buffer (the packed zeros make that safe), then copy the valid corner.
template <int MR, int NR, FullTileFn FULL>
inline void tile_with_edges(i64 k, const float* a, const float* b, float* c, i64 ldc, i64 mr,
                            i64 nr, bool accumulate) {
    if (mr == MR && nr == NR) {
        FULL(k, a, b, c, ldc, accumulate);
        return;
    }
    alignas(64) float tile[MR * NR];
    FULL(k, a, b, tile, NR, false);
    for (i64 r = 0; r < mr; ++r)
        for (i64 j = 0; j < nr; ++j)
            c[r * ldc + j] = accumulate ? c[r * ldc + j] + tile[r * NR + j] : tile[r * NR + j];
}

// The macro-kernel: loop over the NR-wide panels of the packed B block (outer) and the MR-tall
// panels of the packed A block (inner). The inner loop reuses the same B panel (k * NR floats,
// sized by KC to stay in L1) for every A panel, while the A block (MC * KC floats) stays in L2.
// TILE(k, a, b, c, ldc, mr, nr, accumulate) handles one (possibly partial) tile.
template <int MR, int NR, typename Tile>
inline void macro_loop(i64 m, i64 n, i64 k, const float* pa, const float* pb, float* c, i64 ldc,
                       bool accumulate, Tile tile) {
    for (i64 jr = 0; jr < n; jr += NR) {
        const float* b_panel = pb + (jr / NR) * k * NR;
        const i64 nr = imin(NR, n - jr);
        for (i64 ir = 0; ir < m; ir += MR) {
            const float* a_panel = pa + (ir / MR) * k * MR;
            tile(k, a_panel, b_panel, c + ir * ldc + jr, ldc, imin(MR, m - ir), nr, accumulate);
        }
    }
}

}  // namespace
