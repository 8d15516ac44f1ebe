// gemm_avx512.cpp: the AVX-512 GEMM micro-kernel (fp32), compiled with -mavx512f/bw/dq/vl -mfma.
//
// The trick: register tiling. A 14x32 tile of C lives in 28 zmm registers (14 rows x 2 vectors
// of 16 floats) for the whole k loop and is written to memory once at the end. Each step k:
//   - load 2 vectors of the packed B panel   (b: 32 floats, 128 bytes, from L1)
//   - for each of the 14 rows: broadcast one float of the packed A panel and do 2 FMAs.
// That is 28 FMAs (448 flops) for 2 vector loads + 14 broadcasts. Why 14x32:
//   - 28 accumulators + 2 B vectors + 1 broadcast = 31 of the 32 zmm registers;
//   - an FMA has ~4 cycles latency and two FMA units can start one each per cycle, so at least
//     8 independent accumulators are needed to keep them busy; 28 leaves a wide margin;
//   - the broadcasts fold into the FMA as a memory operand ({1to16}), so loads stay well below
//     the two loads per cycle the core can do.
// Cache blocks (see gemm.cpp for the loops): KC=256 makes one packed B panel 256*32*4 = 32 KiB,
// which stays in the 48 KiB L1d while it is reused for every A panel; MC=280 (20 panels of 14)
// keeps the packed A block at 280 KiB, well inside the 2 MiB per-core L2 so it stays hot.
// NC=3072 bounds the shared packed B block (KC*NC*4 = 3 MiB) that both threads read.
//
// Edge tiles use AVX-512 masked loads/stores for the columns (no scratch copy needed) and skip
// the stores of rows past the end of C.
#include "gemm.h"

#if defined(TT_X86_KERNELS)

#include <immintrin.h>

#include "gemm_pack.h"

namespace {

constexpr int MR = 14;
constexpr int NR = 32;

// a: (k, MR) packed, b: (k, NR) packed, c: (mr, nr) with row stride ldc, mr <= MR, nr <= NR.
void tile_14x32(i64 k, const float* __restrict a, const float* __restrict b, float* c, i64 ldc,
                i64 mr, i64 nr, bool accumulate) {
    __m512 acc0[MR], acc1[MR];  // column halves 0..15 and 16..31 of each row
#pragma GCC unroll 14
    for (int r = 0; r < MR; ++r) {
        acc0[r] = _mm512_setzero_ps();
        acc1[r] = _mm512_setzero_ps();
    }
#pragma GCC unroll 4
    for (i64 kk = 0; kk < k; ++kk) {
        // C is read and written only at the end, and usually comes from L3 or memory. Ask for
        // it now, one row (2 cache lines) per step: all 28 lines at once would overflow the
        // L1's ~16 outstanding-miss slots and stall the FMAs behind them.
        if (kk < mr) {
            _mm_prefetch((const char*)(c + kk * ldc), _MM_HINT_T0);
            _mm_prefetch((const char*)(c + kk * ldc + 16), _MM_HINT_T0);
        }
        const __m512 b0 = _mm512_load_ps(b);
        const __m512 b1 = _mm512_load_ps(b + 16);
        // The A panel streams from L2: ask for it well ahead of use.
        _mm_prefetch((const char*)(a + 16 * MR), _MM_HINT_T0);
#pragma GCC unroll 14
        for (int r = 0; r < MR; ++r) {
            const __m512 ar = _mm512_set1_ps(a[r]);
            acc0[r] = _mm512_fmadd_ps(ar, b0, acc0[r]);
            acc1[r] = _mm512_fmadd_ps(ar, b1, acc1[r]);
        }
        a += MR;
        b += NR;
    }

    // Column masks: all ones for a full tile, fewer bits on the right edge of C.
    const __mmask16 m0 = nr >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << nr) - 1);
    const __mmask16 m1 = nr >= 32 ? (__mmask16)0xFFFF
                                  : nr > 16 ? (__mmask16)((1u << (nr - 16)) - 1) : (__mmask16)0;
#pragma GCC unroll 14
    for (int r = 0; r < MR; ++r) {
        if (r >= mr) break;
        float* cr = c + r * ldc;
        __m512 v0 = acc0[r], v1 = acc1[r];
        if (accumulate) {
            v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, cr));
            v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, cr + 16));
        }
        _mm512_mask_storeu_ps(cr, m0, v0);
        _mm512_mask_storeu_ps(cr + 16, m1, v1);
    }
}

void pack_a(tt::MatView a, i64 i0, i64 m, i64 p0, i64 k, float* dst) {
    pack_a_panels<MR>(a, i0, m, p0, k, dst);
}
void pack_b(tt::MatView b, i64 p0, i64 k, i64 j0, i64 n, float* dst) {
    pack_b_panels<NR>(b, p0, k, j0, n, dst);
}
void macro_kernel(i64 m, i64 n, i64 k, const float* pa, const float* pb, float* c, i64 ldc,
                  bool accumulate) {
    macro_loop<MR, NR>(m, n, k, pa, pb, c, ldc, accumulate, tile_14x32);
}

}  // namespace

namespace tt {
const GemmKernel& gemm_kernel_avx512() {
    static const GemmKernel k{"avx512", MR, NR, /*mc=*/20 * MR, /*kc=*/256, /*nc=*/96 * NR,
                              pack_a, pack_b, macro_kernel};
    return k;
}
}  // namespace tt

#endif  // TT_X86_KERNELS
