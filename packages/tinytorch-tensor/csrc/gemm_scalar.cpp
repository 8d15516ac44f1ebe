// gemm_scalar.cpp: the portable GEMM micro-kernel (fp32), compiled with no special flags.
//
// Same blocking and packing as the SIMD kernels, but the 4x16 register tile is plain C++: a
// local accumulator array the compiler can keep in registers and vectorize with whatever the
// baseline ISA offers (SSE2 on x86-64, NEON on arm64). It is the fallback for any CPU and the
// easiest version to read: the SIMD files do exactly this, with explicit vector instructions.
// Cache blocks: KC=256 keeps a packed B panel at 16 KiB (fits any L1d of 32 KiB and up),
// MC=64 keeps the A block at 64 KiB (fits any L2).
#include "gemm_pack.h"

namespace {

constexpr int MR = 4;
constexpr int NR = 16;

// a: (k, MR) packed, b: (k, NR) packed, c: (MR, NR) with row stride ldc.
void full_4x16(i64 k, const float* __restrict a, const float* __restrict b, float* c, i64 ldc,
               bool accumulate) {
    float acc[MR][NR] = {};
    for (i64 kk = 0; kk < k; ++kk) {
        for (int r = 0; r < MR; ++r) {
            const float ar = a[r];
            for (int j = 0; j < NR; ++j) acc[r][j] += ar * b[j];
        }
        a += MR;
        b += NR;
    }
    for (int r = 0; r < MR; ++r)
        for (int j = 0; j < NR; ++j)
            c[r * ldc + j] = accumulate ? c[r * ldc + j] + acc[r][j] : acc[r][j];
}

void pack_a(tt::MatView a, i64 i0, i64 m, i64 p0, i64 k, float* dst) {
    pack_a_panels<MR>(a, i0, m, p0, k, dst);
}
void pack_b(tt::MatView b, i64 p0, i64 k, i64 j0, i64 n, float* dst) {
    pack_b_panels<NR>(b, p0, k, j0, n, dst);
}
void macro_kernel(i64 m, i64 n, i64 k, const float* pa, const float* pb, float* c, i64 ldc,
                  bool accumulate) {
    macro_loop<MR, NR>(m, n, k, pa, pb, c, ldc, accumulate, tile_with_edges<MR, NR, full_4x16>);
}

}  // namespace

namespace tt {
const GemmKernel& gemm_kernel_scalar() {
    static const GemmKernel k{"scalar", MR, NR, /*mc=*/16 * MR, /*kc=*/256, /*nc=*/256 * NR,
                              pack_a, pack_b, macro_kernel};
    return k;
}
}  // namespace tt
