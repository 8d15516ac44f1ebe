// optim.cpp: fused, in-place SGD, Adam and AdamW updates (one pass over memory per parameter).
//
// Why fuse. An optimizer step is pure memory traffic: a handful of flops per element against
// 3-7 float32 arrays the size of the model. The numpy version in tinytorch.optim writes each
// formula as a few whole-array expressions (`m *= beta1; m += (1 - beta1) * g; ...`); every one
// is a full pass over memory, and most allocate a parameter-sized temporary: Adam's step is 13
// whole-array operations (about 120 bytes of traffic per element) and 8 temporaries. Here each
// element is loaded once, updated in registers and stored once:
//
//   SGD + momentum: read p, g, b; write p, b          5 floats = 20 bytes per element
//   Adam/AdamW:     read p, g, m, v; write p, m, v    7 floats = 28 bytes (+8 with amsgrad)
//
// and nothing is allocated: the parameter and its state are updated where they are, so every
// view of them (the model's, the optimizer's state dict) stays valid.
//
// Same numbers as numpy, bit for bit. The kernels do exactly the float32 operations numpy does,
// in the same order: every hyperparameter is rounded to float32 once (numpy turns a Python float
// into a float32 scalar when it meets a float32 array), every product and sum is rounded to
// float32, sqrt and division are IEEE (correctly rounded) in both. Two compiler habits would
// break that, so they are switched off for the kernels below:
//   - contraction: `a * b + c` compiled as one fused multiply-add rounds once instead of twice.
//     GCC does it by default whenever the target has FMA (the AVX2/AVX-512 clones do, the
//     baseline does not), so results would even differ between CPUs. `fp-contract=off`.
//   - -ffast-math style rewrites (reassociation, reciprocal approximations): never enabled.
// The tests therefore compare native and numpy with assert_array_equal, over many steps.
//
// Layout and threads. Every array is C-contiguous float32 of the parameter's shape, so the
// update is one flat loop over n elements. It is cut into chunks of kChunk elements (64 KiB per
// array); OpenMP hands each thread a contiguous run of chunks (schedule(static)), so each core
// streams through its own part of every array. Small parameters (biases) run on one thread:
// starting a parallel region costs a few microseconds, more than the update itself.
//
// SIMD. The per-chunk functions carry TT_CLONES (simd.h): GCC compiles them for AVX-512, AVX2
// and baseline x86-64 and the loader picks one. The options (weight decay on or off, Nesterov,
// first step, AMSGrad) are template parameters, so the branch is taken once per chunk and each
// inner loop is branch-free, which is what the auto-vectoriser needs.
//
// Adam's square root. The vectoriser will not touch `std::sqrt` here: C's sqrtf sets errno for a
// negative input, and without -fno-math-errno GCC keeps a call for that case inside the loop,
// which stops vectorisation of the whole loop (a `#pragma GCC optimize` cannot change that
// setting per function in GCC 12). So Adam works in blocks of kBlock = 256 elements (1 KiB, in
// L1): pass 1 updates m and v (vectorised) and leaves v (or max(v_max, v)) in a small stack
// buffer, pass 2 takes its square root four at a time with SSE's sqrtps (part of every x86-64
// CPU, so no runtime check is needed; on other CPUs a scalar loop), pass 3 forms the update and
// writes p (vectorised). The extra traffic is to L1 only; main memory still sees one pass.
//
// The `_naive` references beside each kernel are the formula as one scalar loop, no chunks, no
// threads, no blocks: the tests check that the fast kernels agree with them exactly.
#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "common.h"
#include "gemm.h"  // active_num_threads
#include "simd.h"  // TT_CLONES

#if defined(TT_X86_KERNELS)
#include <xmmintrin.h>  // SSE: _mm_sqrt_ps, baseline on every x86-64 CPU
#endif

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF  // clang's spelling, for the whole file (GCC's is below)
#endif

namespace tt {

namespace {

using i64 = std::int64_t;

constexpr i64 kChunk = 16384;        // elements per chunk handed to a thread (64 KiB per array)
constexpr i64 kMinParallel = 32768;  // below this many elements one thread does it all
constexpr i64 kBlock = 256;          // Adam's L1 block (see the header)

// From here to the pop_options: no fused multiply-adds (see the header). That includes the
// coefficients below, computed in double exactly as the Python code computes them.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC push_options
#pragma GCC optimize("fp-contract=off")
#endif

// ---------------------------------------------------------------------------------------------
// Hyperparameters, rounded to float32 once, as numpy rounds a Python float meeting a float32
// array. Derived values ((1 - dampening), lr / (1 - beta1^t), ...) are computed in double first,
// exactly as the Python code computes them, and then rounded.

struct SgdCoef {
    float lr, momentum, one_minus_dampening, weight_decay;
};

struct AdamCoef {
    float beta1, one_minus_beta1, beta2, one_minus_beta2;
    float weight_decay;   // Adam (L2): g + wd * p
    float decay;          // AdamW: p * (1 - lr * wd)
    float step_size;      // lr / (1 - beta1^t)
    float bias_corr2_sqrt;  // sqrt(1 - beta2^t)
    float eps;
};

SgdCoef sgd_coef(double lr, double momentum, double dampening, double weight_decay) {
    return {float(lr), float(momentum), float(1.0 - dampening), float(weight_decay)};
}

AdamCoef adam_coef(i64 step, double lr, double beta1, double beta2, double eps,
                   double weight_decay) {
    const double t = double(step);
    return {float(beta1),
            float(1.0 - beta1),
            float(beta2),
            float(1.0 - beta2),
            float(weight_decay),
            float(1.0 - lr * weight_decay),
            float(lr / (1.0 - std::pow(beta1, t))),
            float(std::sqrt(1.0 - std::pow(beta2, t))),
            float(eps)};
}

// Which form of weight decay: none, Adam's L2 (into the gradient), AdamW's decoupled (on p).
enum WeightDecay { kNoDecay = 0, kL2 = 1, kDecoupled = 2 };
// SGD's momentum buffer: none, the first step (b = g), later steps (b = momentum * b + ...).
enum Momentum { kNoMomentum = 0, kInitBuffer = 1, kUpdateBuffer = 2 };

#if defined(__GNUC__)
#define TT_INLINE inline __attribute__((always_inline))
#else
#define TT_INLINE inline
#endif

// ---------------------------------------------------------------------------------------------
// SGD. The formula, per element (numpy's order of operations, each step rounded to float32):
//   g = g + wd * p                            (if wd != 0)
//   b = g                                     (first step)
//   b = momentum * b + (1 - dampening) * g    (later steps)
//   g = g + momentum * b   (nesterov)   or   g = b
//   p = p - lr * g

// p, g, b: (n,)
template <bool WD, int MOM, bool NESTEROV>
TT_INLINE void sgd_loop(float* __restrict p, const float* __restrict g, float* __restrict b,
                        i64 n, const SgdCoef c) {
    for (i64 i = 0; i < n; ++i) {
        float gi = g[i];
        if (WD) gi = gi + c.weight_decay * p[i];
        if (MOM != kNoMomentum) {
            float bi;
            if (MOM == kInitBuffer) {
                bi = gi;
            } else {
                bi = c.momentum * b[i];
                bi = bi + c.one_minus_dampening * gi;
            }
            b[i] = bi;
            gi = NESTEROV ? gi + c.momentum * bi : bi;
        }
        p[i] = p[i] - c.lr * gi;
    }
}

template <bool WD>
TT_INLINE void sgd_pick(float* p, const float* g, float* b, i64 n, const SgdCoef& c, int mom,
                        bool nesterov) {
    if (mom == kNoMomentum) return sgd_loop<WD, kNoMomentum, false>(p, g, b, n, c);
    if (mom == kInitBuffer)
        return nesterov ? sgd_loop<WD, kInitBuffer, true>(p, g, b, n, c)
                        : sgd_loop<WD, kInitBuffer, false>(p, g, b, n, c);
    return nesterov ? sgd_loop<WD, kUpdateBuffer, true>(p, g, b, n, c)
                    : sgd_loop<WD, kUpdateBuffer, false>(p, g, b, n, c);
}

// One chunk: p, g, b: (n,). Compiled per ISA (TT_CLONES).
TT_CLONES void sgd_chunk(float* p, const float* g, float* b, i64 n, SgdCoef c, bool wd, int mom,
                         bool nesterov) {
    if (wd)
        sgd_pick<true>(p, g, b, n, c, mom, nesterov);
    else
        sgd_pick<false>(p, g, b, n, c, mom, nesterov);
}

// ---------------------------------------------------------------------------------------------
// Adam / AdamW. The formula, per element, at step t:
//   g = g + wd * p                        (Adam, if wd != 0)
//   m = beta1 * m + (1 - beta1) * g
//   v = beta2 * v + (1 - beta2) * (g * g)
//   v = v_max = max(v_max, v)             (amsgrad; NaN wins, as in np.maximum)
//   denom = sqrt(v) / sqrt(1 - beta2^t) + eps
//   p = p * (1 - lr * wd)                 (AdamW, if wd != 0)
//   p = p - (lr / (1 - beta1^t)) * (m / denom)
// (AdamW decays p before anything reads it; decaying it here, just before it is written, gives
// the same numbers because nothing in between reads p.)

// Pass 1 over a block. p, g, m, v, vmax: (n,); out: (n,) receives v (or v_max).
template <int WD, bool AMS>
TT_INLINE void adam_moments(const float* __restrict p, const float* __restrict g,
                            float* __restrict m, float* __restrict v, float* __restrict vmax,
                            float* __restrict out, i64 n, const AdamCoef c) {
    for (i64 i = 0; i < n; ++i) {
        float gi = g[i];
        if (WD == kL2) gi = gi + c.weight_decay * p[i];
        float mi = c.beta1 * m[i];
        m[i] = mi + c.one_minus_beta1 * gi;
        float vi = c.beta2 * v[i];
        vi = vi + c.one_minus_beta2 * (gi * gi);
        v[i] = vi;
        if (AMS) {
            const float x = vmax[i];
            vi = (x >= vi || x != x) ? x : vi;  // np.maximum: the larger, or NaN if either is
            vmax[i] = vi;
        }
        out[i] = vi;
    }
}

// Pass 2: x = sqrt(x) in place, x: (n,). sqrtps is IEEE-exact, like std::sqrt.
TT_INLINE void sqrt_block(float* x, i64 n) {
    i64 i = 0;
#if defined(TT_X86_KERNELS)
    for (; i + 4 <= n; i += 4) _mm_storeu_ps(x + i, _mm_sqrt_ps(_mm_loadu_ps(x + i)));
#endif
    for (; i < n; ++i) x[i] = std::sqrt(x[i]);
}

// Pass 3. p, m: (n,); root: (n,) = sqrt(v) from pass 2.
template <int WD>
TT_INLINE void adam_apply(float* __restrict p, const float* __restrict m,
                          const float* __restrict root, i64 n, const AdamCoef c) {
    for (i64 i = 0; i < n; ++i) {
        const float denom = root[i] / c.bias_corr2_sqrt + c.eps;
        float pi = p[i];
        if (WD == kDecoupled) pi = pi * c.decay;
        p[i] = pi - c.step_size * (m[i] / denom);
    }
}

template <int WD, bool AMS>
TT_INLINE void adam_blocks(float* p, const float* g, float* m, float* v, float* vmax, i64 n,
                           const AdamCoef& c) {
    alignas(64) float root[kBlock];
    for (i64 s = 0; s < n; s += kBlock) {
        const i64 k = std::min(kBlock, n - s);
        adam_moments<WD, AMS>(p + s, g + s, m + s, v + s, AMS ? vmax + s : nullptr, root, k, c);
        sqrt_block(root, k);
        adam_apply<WD>(p + s, m + s, root, k, c);
    }
}

template <int WD>
TT_INLINE void adam_pick(float* p, const float* g, float* m, float* v, float* vmax, i64 n,
                         const AdamCoef& c) {
    if (vmax)
        adam_blocks<WD, true>(p, g, m, v, vmax, n, c);
    else
        adam_blocks<WD, false>(p, g, m, v, vmax, n, c);
}

// One chunk: p, g, m, v, vmax (or null): (n,). Compiled per ISA (TT_CLONES).
TT_CLONES void adam_chunk(float* p, const float* g, float* m, float* v, float* vmax, i64 n,
                          AdamCoef c, int wd) {
    if (wd == kL2)
        adam_pick<kL2>(p, g, m, v, vmax, n, c);
    else if (wd == kDecoupled)
        adam_pick<kDecoupled>(p, g, m, v, vmax, n, c);
    else
        adam_pick<kNoDecay>(p, g, m, v, vmax, n, c);
}

// ---------------------------------------------------------------------------------------------
// Naive references: the formulas above as one plain loop over all elements, in the same order
// of float32 operations (so they agree with numpy and with the fast kernels exactly).

// p, g, b: (n,); b may be null when momentum is 0.
void sgd_naive(float* p, const float* g, float* b, i64 n, const SgdCoef c, bool wd, int mom,
               bool nesterov) {
    for (i64 i = 0; i < n; ++i) {
        float gi = g[i];
        if (wd) gi = gi + c.weight_decay * p[i];
        if (mom == kInitBuffer) b[i] = gi;
        if (mom == kUpdateBuffer) b[i] = c.momentum * b[i] + c.one_minus_dampening * gi;
        if (mom != kNoMomentum) gi = nesterov ? gi + c.momentum * b[i] : b[i];
        p[i] = p[i] - c.lr * gi;
    }
}

// p, g, m, v: (n,); vmax: (n,) or null (no amsgrad).
void adam_naive(float* p, const float* g, float* m, float* v, float* vmax, i64 n,
                const AdamCoef c, int wd) {
    for (i64 i = 0; i < n; ++i) {
        float gi = g[i];
        if (wd == kL2) gi = gi + c.weight_decay * p[i];
        if (wd == kDecoupled) p[i] = p[i] * c.decay;
        m[i] = c.beta1 * m[i] + c.one_minus_beta1 * gi;
        v[i] = c.beta2 * v[i] + c.one_minus_beta2 * (gi * gi);
        float vi = v[i];
        if (vmax) {
            if (std::isnan(vmax[i]) || vmax[i] > vi) vi = vmax[i];  // np.maximum: NaN wins
            vmax[i] = vi;
        }
        const float denom = std::sqrt(vi) / c.bias_corr2_sqrt + c.eps;
        p[i] = p[i] - c.step_size * (m[i] / denom);
    }
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC pop_options
#endif

// ---------------------------------------------------------------------------------------------
// Threads: chunks of kChunk elements, a contiguous run of them per thread.

template <typename Fn>
void for_each_chunk(i64 n, Fn&& chunk) {
    const i64 nchunks = (n + kChunk - 1) / kChunk;
    const int nt = active_num_threads();
    (void)nt;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1 && n >= kMinParallel)
    for (i64 k = 0; k < nchunks; ++k) {
        const i64 s = k * kChunk;
        chunk(s, std::min(kChunk, n - s));
    }
}

// ---------------------------------------------------------------------------------------------
// Input checks: everything is validated before anything is written.

struct Operand {
    const char* name;
    const py::array* arr;  // null: absent (optional state)
    bool written;
};

// Every array: float32, C-contiguous, the parameter's shape, writeable if written, and no two
// overlapping (the kernels read and write through restrict pointers).
void check_operands(const char* op, const std::vector<Operand>& xs) {
    const py::array& param = *xs[0].arr;
    for (const Operand& o : xs) {
        if (!o.arr) continue;
        const py::array& a = *o.arr;
        const bool f32 = a.dtype().kind() == 'f' && a.itemsize() == 4;
        if (!f32 || !(a.flags() & py::array::c_style))
            throw py::value_error(std::string(op) + ": " + o.name +
                                  " must be a C-contiguous float32 array, got " + dtype_str(a) +
                                  (f32 ? " (not C-contiguous)" : "") + " of shape " +
                                  shape_str(a));
        if (o.written && !a.writeable())
            throw py::value_error(std::string(op) + ": " + o.name + " of shape " + shape_str(a) +
                                  " is read-only, it is updated in place");
        bool same = a.ndim() == param.ndim();
        for (py::ssize_t d = 0; same && d < a.ndim(); ++d) same = a.shape(d) == param.shape(d);
        if (!same)
            throw py::value_error(std::string(op) + ": " + o.name + " has shape " + shape_str(a) +
                                  ", param has shape " + shape_str(param));
    }
    for (size_t i = 0; i < xs.size(); ++i)
        for (size_t j = i + 1; j < xs.size(); ++j) {
            if (!xs[i].arr || !xs[j].arr || xs[i].arr->size() == 0) continue;
            const char* a0 = static_cast<const char*>(xs[i].arr->data());
            const char* b0 = static_cast<const char*>(xs[j].arr->data());
            const char* a1 = a0 + xs[i].arr->nbytes();
            const char* b1 = b0 + xs[j].arr->nbytes();
            if (a0 < b1 && b0 < a1)
                throw py::value_error(std::string(op) + ": " + xs[i].name + " and " + xs[j].name +
                                      " overlap in memory (shape " + shape_str(param) + ")");
        }
}

float* fptr(const py::array& a) { return static_cast<float*>(const_cast<void*>(a.data())); }

// ---------------------------------------------------------------------------------------------
// Python entry points.

// param, grad, momentum_buffer: any shape, all the same, C-contiguous float32.
template <bool Naive>
void sgd_update(const py::array& param, const py::array& grad,
                const std::optional<py::array>& momentum_buffer, double lr, double momentum,
                double dampening, double weight_decay, bool nesterov, bool init_buffer) {
    const char* op = Naive ? "sgd_update_naive" : "sgd_update";
    const bool use_buf = momentum != 0.0;
    if (use_buf && !momentum_buffer)
        throw py::value_error(std::string(op) + ": momentum=" + std::to_string(momentum) +
                              " needs a momentum_buffer of shape " + shape_str(param));
    const py::array* buf = use_buf ? &*momentum_buffer : nullptr;
    check_operands(op, {{"param", &param, true}, {"grad", &grad, false},
                        {"momentum_buffer", buf, true}});
    const SgdCoef c = sgd_coef(lr, momentum, dampening, weight_decay);
    const bool wd = weight_decay != 0.0;
    const int mom = !use_buf ? kNoMomentum : init_buffer ? kInitBuffer : kUpdateBuffer;
    float* p = fptr(param);
    const float* g = fptr(grad);
    float* b = buf ? fptr(*buf) : nullptr;
    const i64 n = param.size();
    py::gil_scoped_release nogil;
    if (Naive) {
        sgd_naive(p, g, b, n, c, wd, mom, nesterov);
        return;
    }
    for_each_chunk(n, [&](i64 s, i64 k) {
        sgd_chunk(p + s, g + s, b ? b + s : nullptr, k, c, wd, mom, nesterov);
    });
}

// param, grad, exp_avg, exp_avg_sq (, max_exp_avg_sq): any shape, all the same, C-contiguous
// float32. Decoupled: AdamW's weight decay instead of Adam's.
template <bool Naive, bool Decoupled>
void adam_update(const py::array& param, const py::array& grad, const py::array& exp_avg,
                 const py::array& exp_avg_sq, const std::optional<py::array>& max_exp_avg_sq,
                 i64 step, double lr, double beta1, double beta2, double eps,
                 double weight_decay) {
    const std::string op = std::string(Decoupled ? "adamw_update" : "adam_update") +
                           (Naive ? "_naive" : "");
    if (step < 1)
        throw py::value_error(op + ": step must be >= 1 (the step being taken), got " +
                              std::to_string(step));
    const py::array* vmax_arr = max_exp_avg_sq ? &*max_exp_avg_sq : nullptr;
    check_operands(op.c_str(), {{"param", &param, true},
                                {"grad", &grad, false},
                                {"exp_avg", &exp_avg, true},
                                {"exp_avg_sq", &exp_avg_sq, true},
                                {"max_exp_avg_sq", vmax_arr, true}});
    const AdamCoef c = adam_coef(step, lr, beta1, beta2, eps, weight_decay);
    const int wd = weight_decay == 0.0 ? kNoDecay : Decoupled ? kDecoupled : kL2;
    float* p = fptr(param);
    const float* g = fptr(grad);
    float* m = fptr(exp_avg);
    float* v = fptr(exp_avg_sq);
    float* vmax = vmax_arr ? fptr(*vmax_arr) : nullptr;
    const i64 n = param.size();
    py::gil_scoped_release nogil;
    if (Naive) {
        adam_naive(p, g, m, v, vmax, n, c, wd);
        return;
    }
    for_each_chunk(n, [&](i64 s, i64 k) {
        adam_chunk(p + s, g + s, m + s, v + s, vmax ? vmax + s : nullptr, k, c, wd);
    });
}

const char* kSgdDoc =
    "SGD step on one parameter, in place: p, and the momentum buffer if momentum != 0.\n"
    "All arrays C-contiguous float32 of p's shape; float32 arithmetic in numpy's order.";
const char* kAdamDoc =
    "Adam step (L2 weight decay) on one parameter, in place: p, exp_avg, exp_avg_sq and\n"
    "max_exp_avg_sq (AMSGrad, when given). step is t, the step being taken (1 on the first).";
const char* kAdamWDoc =
    "AdamW step (decoupled weight decay) on one parameter, in place; as adam_update otherwise.";

template <bool Naive>
void def_sgd(py::module_& m, const char* name) {
    m.def(name, &sgd_update<Naive>, py::arg("param"), py::arg("grad"),
          py::arg("momentum_buffer") = py::none(), py::kw_only(), py::arg("lr"),
          py::arg("momentum") = 0.0, py::arg("dampening") = 0.0, py::arg("weight_decay") = 0.0,
          py::arg("nesterov") = false, py::arg("init_buffer") = false, kSgdDoc);
}

template <bool Naive, bool Decoupled>
void def_adam(py::module_& m, const char* name) {
    m.def(name, &adam_update<Naive, Decoupled>, py::arg("param"), py::arg("grad"),
          py::arg("exp_avg"), py::arg("exp_avg_sq"), py::arg("max_exp_avg_sq") = py::none(),
          py::kw_only(), py::arg("step"), py::arg("lr"), py::arg("beta1"), py::arg("beta2"),
          py::arg("eps"), py::arg("weight_decay") = 0.0, Decoupled ? kAdamWDoc : kAdamDoc);
}

}  // namespace

void register_optim(py::module_& m) {
    def_sgd<false>(m, "sgd_update");
    def_sgd<true>(m, "sgd_update_naive");
    def_adam<false, false>(m, "adam_update");
    def_adam<true, false>(m, "adam_update_naive");
    def_adam<false, true>(m, "adamw_update");
    def_adam<true, true>(m, "adamw_update_naive");
}

}  // namespace tt
