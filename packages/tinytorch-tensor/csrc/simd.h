// simd.h: runtime ISA choice for the memory-bound kernels (everything but GEMM).
//
// GEMM picks its ISA through hand-written per-ISA files (gemm.h explains why). The other
// kernels (normalisation, softmax, pooling, optimizer updates, ...) are simple loops that the
// compiler vectorises well by itself, so they use function multi-versioning instead: a
// function marked TT_CLONES is compiled three times, for AVX-512, AVX2+FMA and the baseline
// x86-64, and the dynamic loader picks the best clone for this CPU when the module is loaded
// (GCC's target_clones, resolved through an ELF ifunc). One binary still runs on any x86-64.
//
// Usage: put TT_CLONES on the *inner* per-row / per-chunk function, and keep the OpenMP loop
// in a plain function that calls it. An `omp parallel` body is outlined into a separate
// function, which would not inherit the clone's target.
//
//     TT_CLONES static void scale_row(const float* x, float* y, int64_t n, float s) {
//         for (int64_t i = 0; i < n; ++i) y[i] = s * x[i];   // vectorised per clone
//     }
//
// Elsewhere (arm64, macOS, TT_SCALAR_ONLY builds) TT_CLONES expands to nothing: one baseline
// build, still vectorised for that target's default SIMD (NEON on arm64).
#pragma once

#include "gemm.h"  // TT_X86_KERNELS

#if defined(TT_X86_KERNELS) && defined(__ELF__) && defined(__GNUC__) && !defined(__clang__)
#define TT_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#define TT_HAVE_CLONES 1
#else
#define TT_CLONES
#endif
