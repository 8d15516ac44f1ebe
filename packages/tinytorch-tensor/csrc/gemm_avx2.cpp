// gemm_avx2.cpp: the AVX2 GEMM micro-kernel (fp32), compiled with -mavx2 -mfma.
//
// The classic 6x16 register tile (as in BLIS's Haswell kernel): 6 rows x 2 ymm vectors of 8
// floats = 12 accumulators, plus 2 registers for the B vectors and 1 for the broadcast A value:
// 15 of the 16 ymm registers. Each step k does 12 FMAs for 2 loads + 6 broadcasts, enough
// independent FMAs (>= 2 units x ~4-5 cycles latency) to keep both FMA units busy.
// Cache blocks: KC=256 -> one packed B panel is 256*16*4 = 16 KiB (half a 32 KiB L1d: it stays
// there while every A panel streams past it); MC=120 -> a 120 KiB A block, comfortably inside the
// L2 of AVX2-era cores (256 KiB and up); NC=3072 bounds the shared B block.
// Edge tiles go through the scratch-tile path of gemm_pack.h.
#include "gemm.h"

#if defined(TT_X86_KERNELS)

#include <immintrin.h>

#include "gemm_pack.h"

namespace {

constexpr int MR = 6;
constexpr int NR = 16;

// a: (k, MR) packed, b: (k, NR) packed, c: (MR, NR) with row stride ldc.
void full_6x16(i64 k, const float* __restrict a, const float* __restrict b, float* c, i64 ldc,
               bool accumulate) {
    __m256 acc0[MR], acc1[MR];
#pragma GCC unroll 6
    for (int r = 0; r < MR; ++r) {
        acc0[r] = _mm256_setzero_ps();
        acc1[r] = _mm256_setzero_ps();
    }
#pragma GCC unroll 4
    for (i64 kk = 0; kk < k; ++kk) {
        // Fetch C (one 64-byte row per step) long before the stores at the end need it.
        if (kk < MR) _mm_prefetch((const char*)(c + kk * ldc), _MM_HINT_T0);
        const __m256 b0 = _mm256_load_ps(b);
        const __m256 b1 = _mm256_load_ps(b + 8);
        _mm_prefetch((const char*)(a + 32 * MR), _MM_HINT_T0);
#pragma GCC unroll 6
        for (int r = 0; r < MR; ++r) {
            const __m256 ar = _mm256_broadcast_ss(a + r);
            acc0[r] = _mm256_fmadd_ps(ar, b0, acc0[r]);
            acc1[r] = _mm256_fmadd_ps(ar, b1, acc1[r]);
        }
        a += MR;
        b += NR;
    }
#pragma GCC unroll 6
    for (int r = 0; r < MR; ++r) {
        float* cr = c + r * ldc;
        __m256 v0 = acc0[r], v1 = acc1[r];
        if (accumulate) {
            v0 = _mm256_add_ps(v0, _mm256_loadu_ps(cr));
            v1 = _mm256_add_ps(v1, _mm256_loadu_ps(cr + 8));
        }
        _mm256_storeu_ps(cr, v0);
        _mm256_storeu_ps(cr + 8, v1);
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
    macro_loop<MR, NR>(m, n, k, pa, pb, c, ldc, accumulate, tile_with_edges<MR, NR, full_6x16>);
}

}  // namespace

namespace tt {
const GemmKernel& gemm_kernel_avx2() {
    static const GemmKernel k{"avx2", MR, NR, /*mc=*/20 * MR, /*kc=*/256, /*nc=*/192 * NR,
                              pack_a, pack_b, macro_kernel};
    return k;
}
}  // namespace tt

#endif  // TT_X86_KERNELS
