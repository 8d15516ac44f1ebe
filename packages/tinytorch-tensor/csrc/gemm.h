// gemm.h: the contract between the GEMM driver (gemm.cpp) and the per-ISA kernels.
//
// The driver does everything that does not depend on the instruction set: cache blocking,
// threading, input checks. Each ISA file (gemm_avx512.cpp, gemm_avx2.cpp, gemm_scalar.cpp) fills
// in one GemmKernel: how to pack panels and how to multiply packed panels. Those files are
// compiled with different -m flags, so they must only be *called* when the CPU has the
// instructions; runtime.cpp decides which one is active.
//
// The driver talks to them through plain function pointers, never through shared inline/template
// code: an inline function compiled with -mavx512f in one file and without it in another would
// be merged by the linker into a single copy, possibly the AVX-512 one, which then crashes on an
// older CPU. Keeping ISA code behind `static`/anonymous-namespace functions avoids that trap.
#pragma once

#include <cstddef>
#include <cstdint>

// The AVX2/AVX-512 kernels exist on x86-64 only; elsewhere (arm64, ...) the build has just the
// scalar kernel. TT_SCALAR_ONLY (CMake option TT_SCALAR_ONLY=ON) forces that portable build on
// x86-64 too, which is how the non-x86 code path gets compiled and tested.
#if defined(__x86_64__) && !defined(TT_SCALAR_ONLY)
#define TT_X86_KERNELS 1
#endif

namespace tt {

// A strided, read-only 2-D view of float32 data: element (i, j) is at data[i * s0 + j * s1].
// Strides are in elements (numpy reports bytes; the bindings divide by 4) and may be 0.
struct MatView {
    const float* data;
    std::int64_t s0, s1;
};

struct GemmKernel {
    const char* name;  // "avx512", "avx2", "scalar"
    int mr, nr;        // register tile: the micro-kernel computes an (mr, nr) block of C
    int mc, kc, nc;    // default cache blocks (mc multiple of mr, nc multiple of nr)

    // Pack rows [i0, i0+m) x cols [p0, p0+k) of A into ceil(m/mr) panels; panel p holds
    // k columns of mr consecutive floats (rows past m are zero). dst: (ceil(m/mr), k, mr).
    void (*pack_a)(MatView a, std::int64_t i0, std::int64_t m, std::int64_t p0, std::int64_t k,
                   float* dst);
    // Pack rows [p0, p0+k) x cols [j0, j0+n) of B into ceil(n/nr) panels; panel q holds
    // k rows of nr consecutive floats (cols past n are zero). dst: (ceil(n/nr), k, nr).
    void (*pack_b)(MatView b, std::int64_t p0, std::int64_t k, std::int64_t j0, std::int64_t n,
                   float* dst);
    // The macro-kernel: C[0:m, 0:n] (+)= packed_A @ packed_B for one cache block.
    // pa: (ceil(m/mr), k, mr), pb: (ceil(n/nr), k, nr), c: (m, n) with row stride ldc.
    // accumulate=false overwrites C (first k-block), true adds to it.
    void (*macro_kernel)(std::int64_t m, std::int64_t n, std::int64_t k, const float* pa,
                         const float* pb, float* c, std::int64_t ldc, bool accumulate);
};

// Defined in the per-ISA files. On non-x86 builds only the scalar one exists.
const GemmKernel& gemm_kernel_scalar();
#if defined(TT_X86_KERNELS)
const GemmKernel& gemm_kernel_avx2();
const GemmKernel& gemm_kernel_avx512();
#endif

// Defined in runtime.cpp.
const GemmKernel& active_gemm_kernel();
int active_num_threads();

// Defined in gemm.cpp: C (M, N), row stride ldc, = A (M, K) @ B (K, N).
// Call without the GIL. nthreads <= 1 runs on the calling thread only.
void gemm_run(const GemmKernel& kern, std::int64_t M, std::int64_t N, std::int64_t K, MatView a,
              MatView b, float* c, std::int64_t ldc, int nthreads);

}  // namespace tt
