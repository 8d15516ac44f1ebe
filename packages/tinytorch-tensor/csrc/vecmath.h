// vecmath.h: native-width float vectors and a vectorised exp, for the row kernels of
// softmax.cpp and activation.cpp (softmax, log-softmax, cross-entropy, GELU).
//
// Why not TT_CLONES (simd.h) and the auto-vectoriser? Those kernels are reductions (row max, row
// sum) around an exp, and GCC 12 vectorises neither by itself: a float sum or max in a loop is
// a chain the compiler may not reorder without -ffast-math, and a 16-lane array of partial
// results trips its SLP pass on the max; target_clones of a loop with exp's range checks came
// out scalar in the AVX2 clone. Writing the vectors explicitly fixes that, but the width must
// be the clone's native one (16 floats for AVX-512, 8 for AVX2, 4 for SSE2 / NEON): GCC splits
// a wider vector's arithmetic into native pieces, but turns its compares and selects into
// scalar code.
//
// So each kernel is a template on the width W, written with GCC/Clang vector extensions (no
// intrinsics: `a * b + c`, `a > b ? a : b` on whole vectors), and instantiated three times
// inside functions carrying a target attribute (TT_TARGET_AVX512 / TT_TARGET_AVX2, baseline).
// Which instance runs follows the GEMM's ISA choice (`isa()`, `set_isa()`), so tests can run
// every width on one machine. Everything here is always_inline and in an unnamed namespace:
// it is compiled into each caller with the caller's ISA and never shared between files (see
// gemm.h on why ISA code must not be merged by the linker).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "gemm.h"  // TT_X86_KERNELS, active_gemm_kernel()

// The 32/64-byte vector helpers are always inlined, so GCC's warning that returning them
// without AVX changes the ABI never applies. (Arguments are taken by const reference, which
// also keeps its end-of-file ABI note, which no pragma silences, out of the build log.)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

#if defined(__GNUC__)
#define TT_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define TT_ALWAYS_INLINE inline
#endif

#if defined(TT_X86_KERNELS)
#define TT_TARGET_AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")))
#define TT_TARGET_AVX2 __attribute__((target("avx2,fma")))
#endif

namespace tt {
namespace vec {
namespace {

using i64 = std::int64_t;
constexpr float kInf = std::numeric_limits<float>::infinity();

// W floats in one vector, and the int vectors of the same size (comparisons give lane masks
// of type I; a cast between vector types of one size keeps the bits).
template <int W>
struct V {
    typedef float F __attribute__((vector_size(4 * W)));
    typedef std::int32_t I __attribute__((vector_size(4 * W)));
    typedef std::uint32_t U __attribute__((vector_size(4 * W)));
};

// The width the kernels use now: follows the GEMM ISA ("avx512" -> 16, "avx2" -> 8, else 4).
inline int active_width() {
#if defined(TT_X86_KERNELS)
    const char* isa = active_gemm_kernel().name;
    if (std::strcmp(isa, "avx512") == 0) return 16;
    if (std::strcmp(isa, "avx2") == 0) return 8;
#endif
    return 4;
}

template <int W>
TT_ALWAYS_INLINE typename V<W>::F splat(float a) {
    return typename V<W>::F{} + a;
}

template <int W>
TT_ALWAYS_INLINE typename V<W>::F load(const float* p) {
    typename V<W>::F v;
    std::memcpy(&v, p, sizeof v);  // an unaligned vector load
    return v;
}

template <int W>
TT_ALWAYS_INLINE void store(float* p, const typename V<W>::F& v) {
    std::memcpy(p, &v, sizeof v);
}

// The first n < W floats at p, the other lanes set to `fill` (a reduction's neutral value), so
// that the last, partial vector of a row runs through the same vector code.
template <int W>
TT_ALWAYS_INLINE typename V<W>::F load_tail(const float* p, i64 n, float fill) {
    float t[W];
    for (int l = 0; l < W; ++l) t[l] = fill;
    std::memcpy(t, p, sizeof(float) * n);
    return load<W>(t);
}

template <int W>
TT_ALWAYS_INLINE void store_tail(float* p, const typename V<W>::F& v, i64 n) {
    float t[W];
    store<W>(t, v);
    std::memcpy(p, t, sizeof(float) * n);
}

// a > b ? a : b lane by lane; a NaN in a keeps b (the max skips NaNs). Selects are always
// written with the comparison inside the ?: so that GCC emits native compare + blend.
template <int W>
TT_ALWAYS_INLINE typename V<W>::F vmax(const typename V<W>::F& a, const typename V<W>::F& b) {
    return a > b ? a : b;
}

// Horizontal sum and max: halve the vector until it is 4 wide (a tree: log2(W) dependent steps
// instead of W - 1, which matters once per row).
template <int W>
TT_ALWAYS_INLINE float hsum(const typename V<W>::F& v) {
    if constexpr (W > 4) {
        typename V<W / 2>::F lo, hi;
        std::memcpy(&lo, &v, sizeof lo);
        std::memcpy(&hi, reinterpret_cast<const char*>(&v) + sizeof lo, sizeof hi);
        return hsum<W / 2>(lo + hi);
    } else {
        return (v[0] + v[2]) + (v[1] + v[3]);
    }
}

template <int W>
TT_ALWAYS_INLINE float hmax(const typename V<W>::F& v) {
    if constexpr (W > 4) {
        typename V<W / 2>::F lo, hi;
        std::memcpy(&lo, &v, sizeof lo);
        std::memcpy(&hi, reinterpret_cast<const char*>(&v) + sizeof lo, sizeof hi);
        return hmax<W / 2>(vmax<W / 2>(lo, hi));
    } else {
        const float a = v[0] > v[2] ? v[0] : v[2], b = v[1] > v[3] ? v[1] : v[3];
        return a > b ? a : b;
    }
}

// {0, 1, ..., W - 1}. A row's last partial vector is loaded so that it *ends* at the row's end,
// overlapping lanes already done; `lane_index<W>() >= W - rem` marks its rem new lanes. (That
// costs a compare and a blend; staging the rem floats through a buffer on the stack instead
// stalls the vector load for ~15 cycles: the CPU cannot forward several scalar stores to one
// wide load.)
template <int W>
TT_ALWAYS_INLINE typename V<W>::F lane_index() {
    static constexpr float kIota[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    return load<W>(kIota);
}

// e^x lane by lane (Cephes expf): x = n ln2 + r with |r| <= ln2 / 2, e^r by a degree-6
// polynomial, 2^n written straight into the exponent bits. Inputs below -87.34 give 0 (the
// true value would be subnormal), above 88.38 give +inf, NaN gives NaN. Elsewhere the relative
// error is at most 2 ulp (the tests measure it against float64 exp).
// kNonPositive: the caller guarantees x <= 0 (or NaN), which saves the overflow checks.
template <int W, bool kNonPositive = false>
TT_ALWAYS_INLINE typename V<W>::F exp_v(const typename V<W>::F& x) {
    using F = typename V<W>::F;
    using I = typename V<W>::I;
    using U = typename V<W>::U;
    const F hi = splat<W>(88.3762626647949f);   // 127.5 ln 2: n <= 127, 2^n is a normal float
    const F lo = splat<W>(-87.3365478515625f);  // ~ -126 ln 2: n >= -126
    F xc = x;
    if (!kNonPositive) xc = x > hi ? hi : x;  // NaN fails both tests and passes through
    xc = xc < lo ? lo : xc;
    // n = round(x / ln 2): adding 1.5 * 2^23 pushes the fraction bits out of the mantissa
    // (round to nearest), and the integer n is then in the low mantissa bits of t.
    const float magic = 12582912.0f;
    const F t = xc * 1.44269504088896341f + magic;
    const F n = t - magic;
    // r = x - n ln 2 with ln 2 split in two parts (the first has few mantissa bits, so n * C1
    // is exact): r keeps its low bits even for |x| ~ 88.
    F r = xc - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    F p = splat<W>(1.9875691500e-4f);
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r + 1.0f;
    const U bits = (U)((I)t - 0x4B400000 + 127) << 23;  // 2^n: n + 127 in the exponent field
    F y = p * (F)bits;
    if (!kNonPositive) y = x > hi ? splat<W>(kInf) : y;
    y = x < lo ? F{} : y;
    return y;
}

// |x| lane by lane (clears the sign bit).
template <int W>
TT_ALWAYS_INLINE typename V<W>::F vabs(const typename V<W>::F& x) {
    return (typename V<W>::F)((typename V<W>::I)x & 0x7fffffff);
}

}  // namespace
}  // namespace vec
}  // namespace tt
