// gemm.cpp: fp32 matrix multiply C = A @ B, the GotoBLAS/BLIS way, plus its naive reference and
// the batched version.
//
// The loops (BLIS numbering), for A: (M, K), B: (K, N), C: (M, N):
//
//   for jc in 0..N step NC:              5th loop: a column block of B and C
//     for pc in 0..K step KC:            4th loop: a k-slice; pack B[pc:pc+KC, jc:jc+NC]
//                                        -> shared by all threads (it is read-only once packed)
//       for ic in 0..M step MC:          3rd loop: pack A[ic:ic+MC, pc:pc+KC] -> per thread, L2
//         macro-kernel:
//           for jr in 0..NC step NR:     2nd loop: one packed B panel (KC x NR) -> stays in L1
//             for ir in 0..MC step MR:   1st loop: one packed A panel (MR x KC) streams from L2
//               micro-kernel: C[ir:ir+MR, jr:jr+NR] += A_panel @ B_panel in registers
//
// Why this order: every level reuses the data of the level above while it is in a cache that
// fits it. The micro-kernel does 2*MR*NR flops per MR+NR floats it reads, the B panel in L1 is
// reused MC/MR times, the A block in L2 is reused NC/NR times. The per-ISA files (gemm_avx512.cpp,
// gemm_avx2.cpp, gemm_scalar.cpp) choose MR, NR, MC, KC, NC for their registers and caches; this
// file only runs the loops, so it is the same for every CPU.
//
// Threads: both threads pack one B block together, then each computes its own rows of C (the
// 3rd loop is split) and, when M is too small to split, its own columns (the 2nd loop). Every
// thread therefore reads the same packed B block, and only the small A block is per thread.
#include <algorithm>
#include <cstring>
#include <string>

#include "common.h"
#include "gemm.h"

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace tt {

namespace {

using i64 = std::int64_t;

inline int thread_id() {
#if defined(_OPENMP)
    return omp_get_thread_num();
#else
    return 0;
#endif
}

inline i64 ceil_div(i64 a, i64 b) { return (a + b - 1) / b; }
inline i64 round_up(i64 a, i64 b) { return ceil_div(a, b) * b; }

// Below this many flops a GEMM runs on one thread: starting a parallel region and the barriers
// between k-blocks cost a few microseconds, about what 2^21 flops (~ a 100x100x100 GEMM) take.
constexpr double kMinFlopsToThread = double(1 << 21);

// Packing buffers are kept per thread and reused across calls. Allocating them fresh each call
// costs more than it seems: the OS hands out new pages zeroed on first touch, which for a 3 MiB
// B block is ~750 page faults per call. Slot 0 holds the shared B block (owned by the calling
// thread), slot 1 this thread's A block. They only grow; the memory lives until the thread exits.
float* scratch(int slot, i64 n) {
    thread_local AlignedFloats buf[2];
    thread_local i64 cap[2] = {0, 0};
    if (cap[slot] < n) {
        buf[slot].reset();
        buf[slot] = aligned_floats(n);
        cap[slot] = n;
    }
    return buf[slot].get();
}

// Cache-block overrides for experiments (0 = the kernel's default); see _set_gemm_blocking.
i64 g_mc = 0, g_kc = 0, g_nc = 0;

}  // namespace

void gemm_run(const GemmKernel& kern, i64 M, i64 N, i64 K, MatView a, MatView b, float* c,
              i64 ldc, int nthreads) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {  // an empty sum is zero
        for (i64 i = 0; i < M; ++i) std::memset(c + i * ldc, 0, sizeof(float) * N);
        return;
    }
    const i64 MR = kern.mr, NR = kern.nr;
    const i64 MC = g_mc > 0 ? round_up(g_mc, MR) : kern.mc;
    const i64 KC = g_kc > 0 ? g_kc : kern.kc;
    const i64 NC = g_nc > 0 ? round_up(g_nc, NR) : kern.nc;

    // Thread grid tm x tn: split the MR-panels of M among tm threads and the NR-panels of each
    // NC block among tn threads; pick the split with the least work for the busiest thread,
    // preferring to split M (splitting N makes every thread pack the same A block).
    const i64 pm = ceil_div(M, MR), pn = ceil_div(std::min(N, NC), NR);
    if (2.0 * M * N * K < kMinFlopsToThread) nthreads = 1;
    nthreads = static_cast<int>(std::max<i64>(1, std::min<i64>(nthreads, pm * pn)));
#if !defined(_OPENMP)
    nthreads = 1;
#endif
    int tm = nthreads, tn = 1;
    i64 best = ceil_div(pm, tm) * pn;
    for (int t = nthreads - 1; t >= 1; --t) {
        if (nthreads % t) continue;
        const i64 cost = ceil_div(pm, t) * ceil_div(pn, nthreads / t);
        if (cost < best) best = cost, tm = t, tn = nthreads / t;
    }

    const i64 kc_max = std::min(KC, K);
    // Packed B block: (ceil(nc/NR), kc, NR), shared. Packed A blocks: (ceil(mc/MR), kc, MR), one
    // per thread. Both 64-byte aligned (see common.h).
    float* const pb = scratch(0, round_up(std::min(NC, N), NR) * kc_max);
    const i64 a_size = round_up(std::min(MC, round_up(M, MR)), MR) * kc_max;

#pragma omp parallel num_threads(nthreads) if (nthreads > 1)
    {
        const int tid = thread_id();
        const i64 ti = tid / tn, tj = tid % tn;
        // This thread's rows of C: a contiguous range of MR-panels.
        const i64 row_begin = (pm * ti / tm) * MR;
        const i64 row_end = std::min(M, (pm * (ti + 1) / tm) * MR);
        float* const pa = scratch(1, a_size);

        for (i64 jc = 0; jc < N; jc += NC) {
            const i64 nc = std::min(NC, N - jc);
            const i64 npanels = ceil_div(nc, NR);
            // This thread's columns of the block: a contiguous range of NR-panels.
            const i64 q0 = npanels * tj / tn, q1 = npanels * (tj + 1) / tn;
            const i64 col_begin = q0 * NR, col_end = std::min(nc, q1 * NR);

            for (i64 pc = 0; pc < K; pc += KC) {
                const i64 kc = std::min(KC, K - pc);

                // Pack B[pc:pc+kc, jc:jc+nc] together: each thread packs some panels.
#pragma omp for schedule(static)
                for (i64 q = 0; q < npanels; ++q)
                    kern.pack_b(b, pc, kc, jc + q * NR, std::min(NR, nc - q * NR), pb + q * kc * NR);
                // (implicit barrier: the whole B block is packed before anyone reads it)

                if (col_begin < col_end) {
                    for (i64 ic = row_begin; ic < row_end; ic += MC) {
                        const i64 mc = std::min(MC, row_end - ic);
                        kern.pack_a(a, ic, mc, pc, kc, pa);
                        kern.macro_kernel(mc, col_end - col_begin, kc, pa, pb + q0 * kc * NR,
                                          c + ic * ldc + jc + col_begin, ldc,
                                          /*accumulate=*/pc > 0);
                    }
                }
                // Nobody may start packing the next B block while others still read this one.
#pragma omp barrier
            }
        }
    }
}

namespace {

// ---------------------------------------------------------------------------------------------
// Input checks shared by gemm, gemm_naive and bmm.

// Float32, native byte order, `ndim` dimensions, non-negative strides that are whole floats.
MatView checked_view(const char* op, const char* name, const py::array& x, int ndim) {
    if (!x.dtype().equal(py::dtype::of<float>()))
        throw py::type_error(std::string(op) + ": expected float32 arrays, got " + dtype_str(x) +
                             " for " + name);
    if (x.ndim() != ndim)
        throw py::value_error(std::string(op) + ": expected " + std::to_string(ndim) +
                              "-D arrays, got " + name + " with shape " + shape_str(x));
    for (int d = 0; d < ndim; ++d) {
        const auto s = x.strides(d);
        if (s < 0)
            throw py::value_error(std::string(op) + ": negative strides are not supported (" +
                                  name + " has stride " + std::to_string(s) + " bytes in dim " +
                                  std::to_string(d) + "); pass a contiguous copy");
        if (s % static_cast<py::ssize_t>(sizeof(float)) != 0)
            throw py::value_error(std::string(op) + ": strides must be multiples of 4 bytes (" +
                                  name + " has stride " + std::to_string(s) + ")");
    }
    if (reinterpret_cast<std::uintptr_t>(x.data()) % alignof(float) != 0)
        throw py::value_error(std::string(op) + ": " + name + " is not 4-byte aligned");
    // Strides of the last two dims, in elements. (bmm reads the batch stride itself.)
    return MatView{static_cast<const float*>(x.data()), x.strides(ndim - 2) / 4,
                   x.strides(ndim - 1) / 4};
}

std::string align_error(const char* op, const py::array& a, const py::array& b, i64 ka, i64 kb) {
    return std::string(op) + ": shapes " + shape_str(a) + " and " + shape_str(b) +
           " do not align (" + std::to_string(ka) + " != " + std::to_string(kb) + ")";
}

// ---------------------------------------------------------------------------------------------
// Python entry points.

// a: (M, K), b: (K, N) -> c: (M, N), C-contiguous
py::array_t<float> gemm(const py::array& a, const py::array& b) {
    const MatView av = checked_view("gemm", "a", a, 2);
    const MatView bv = checked_view("gemm", "b", b, 2);
    const i64 M = a.shape(0), K = a.shape(1), N = b.shape(1);
    if (b.shape(0) != K) throw py::value_error(align_error("gemm", a, b, K, b.shape(0)));
    py::array_t<float> c({M, N});
    float* cp = c.mutable_data();
    {
        py::gil_scoped_release nogil;
        gemm_run(active_gemm_kernel(), M, N, K, av, bv, cp, N, active_num_threads());
    }
    return c;
}

// The reference: the textbook triple loop, one dot product per output element, accumulated in
// float32 like the fast kernel. Slow on purpose (B is walked down a column for every element);
// the tests compare the fast kernel against it.
// a: (M, K), b: (K, N) -> c: (M, N)
py::array_t<float> gemm_naive(const py::array& a, const py::array& b) {
    const MatView av = checked_view("gemm_naive", "a", a, 2);
    const MatView bv = checked_view("gemm_naive", "b", b, 2);
    const i64 M = a.shape(0), K = a.shape(1), N = b.shape(1);
    if (b.shape(0) != K) throw py::value_error(align_error("gemm_naive", a, b, K, b.shape(0)));
    py::array_t<float> c({M, N});
    float* cp = c.mutable_data();
    {
        py::gil_scoped_release nogil;
        for (i64 i = 0; i < M; ++i)
            for (i64 j = 0; j < N; ++j) {
                float sum = 0.0f;
                for (i64 p = 0; p < K; ++p)
                    sum += av.data[i * av.s0 + p * av.s1] * bv.data[p * bv.s0 + j * bv.s1];
                cp[i * N + j] = sum;
            }
    }
    return c;
}

// Per-item work below which bmm runs whole items in parallel (one thread each) instead of
// threading each item's GEMM: 2^25 flops ~ a 256x256x256 product. Below that, a threaded GEMM
// spends a noticeable share of its time in barriers and in packing the same B block on two
// cores, whereas batch items are fully independent. Above it, one item is big enough to keep
// both cores busy and the per-item threading shares one packed B block (half the memory).
constexpr double kBatchParallelMaxFlops = double(1 << 25);

// a: (B, M, K), b: (B, K, N) -> c: (B, M, N), C-contiguous. Any batch stride, including 0.
py::array_t<float> bmm(const py::array& a, const py::array& b) {
    const MatView av = checked_view("bmm", "a", a, 3);
    const MatView bv = checked_view("bmm", "b", b, 3);
    const i64 B = a.shape(0), M = a.shape(1), K = a.shape(2), N = b.shape(2);
    if (b.shape(0) != B)
        throw py::value_error("bmm: batch sizes " + std::to_string(B) + " and " +
                              std::to_string(b.shape(0)) + " differ");
    if (b.shape(1) != K) throw py::value_error(align_error("bmm", a, b, K, b.shape(1)));
    const i64 sa = a.strides(0) / 4, sb = b.strides(0) / 4;  // batch strides, in floats
    py::array_t<float> c({B, M, N});
    float* cp = c.mutable_data();
    {
        py::gil_scoped_release nogil;
        const GemmKernel& kern = active_gemm_kernel();
        const int nthreads = active_num_threads();
        auto item = [&](i64 i, int threads) {
            MatView ai{av.data + i * sa, av.s0, av.s1};
            MatView bi{bv.data + i * sb, bv.s0, bv.s1};
            gemm_run(kern, M, N, K, ai, bi, cp + i * M * N, N, threads);
        };
        const bool batch_parallel =
            nthreads > 1 && B >= nthreads && 2.0 * M * N * K < kBatchParallelMaxFlops;
        if (batch_parallel) {
#pragma omp parallel for schedule(dynamic) num_threads(nthreads)
            for (i64 i = 0; i < B; ++i) item(i, 1);
        } else {
            for (i64 i = 0; i < B; ++i) item(i, nthreads);
        }
    }
    return c;
}

}  // namespace

// For tuning experiments and the benchmarks: override the cache blocks (0 keeps the default).
void set_gemm_blocking(i64 mc, i64 kc, i64 nc) {
    if (mc < 0 || kc < 0 || nc < 0)
        throw py::value_error("_set_gemm_blocking: block sizes must be >= 0");
    g_mc = mc, g_kc = kc, g_nc = nc;
}

py::dict gemm_config() {
    const GemmKernel& k = active_gemm_kernel();
    py::dict d;
    d["isa"] = k.name;
    d["mr"] = k.mr;
    d["nr"] = k.nr;
    d["mc"] = g_mc > 0 ? round_up(g_mc, k.mr) : k.mc;
    d["kc"] = g_kc > 0 ? g_kc : k.kc;
    d["nc"] = g_nc > 0 ? round_up(g_nc, k.nr) : k.nc;
    return d;
}

void register_gemm(py::module_& m) {
    m.def("gemm", &gemm, py::arg("a"), py::arg("b"),
          R"doc(Matrix product of two float32 matrices: ``a @ b``.

a: (M, K), b: (K, N), any non-negative strides (transposed or sliced views are packed without
an extra copy; stride 0 broadcasts). Returns a new C-contiguous float32 (M, N) array.
Uses the ISA from isa() and num_threads() threads; releases the GIL.
Raises TypeError for non-float32 input, ValueError for wrong ndim, misaligned shapes or
negative strides.)doc");
    m.def("gemm_naive", &gemm_naive, py::arg("a"), py::arg("b"),
          R"doc(Reference matrix product: the plain triple loop (float32 accumulation).

Same contract as gemm(); slow on purpose, for tests and the benchmarks.)doc");
    m.def("bmm", &bmm, py::arg("a"), py::arg("b"),
          R"doc(Batched matrix product: ``c[i] = a[i] @ b[i]``.

a: (B, M, K), b: (B, K, N) float32, any non-negative strides (a batch stride of 0 broadcasts one
matrix over the batch). Returns a new C-contiguous float32 (B, M, N) array. Small matrices run
whole batch items in parallel; large ones use the threaded gemm for each item.)doc");
    m.def("gemm_config", &gemm_config,
          "The active GEMM kernel's register tile (mr, nr) and cache blocks (mc, kc, nc).");
    m.def("_set_gemm_blocking", &set_gemm_blocking, py::arg("mc") = 0, py::arg("kc") = 0,
          py::arg("nc") = 0,
          "Tuning hook: override the GEMM cache blocks (0 restores the kernel's default).");
}

}  // namespace tt
