// activation.cpp: ReLU, GELU (tanh approximation and exact), their derivatives, and erf,
// elementwise.
//
// Layout: any shape, read as one flat C-contiguous float32 run of n elements; threads split the
// run into equal contiguous parts. The arithmetic is in vecmath.h's native-width vectors
// (16 / 8 / 4 floats for AVX-512 / AVX2 / SSE2 and NEON), one template instantiated per ISA.
//
// GELU, tanh form: gelu(x) = 0.5 x (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3).
// Trick: 0.5 (1 + tanh(u)) = sigmoid(2u) = 1 / (1 + exp(-2u)), so
//     gelu(x) = x / (1 + exp(-2u))
// one exp and one divide, and no cancellation: the textbook 1 + tanh(u) loses every digit for
// negative x (tanh(u) -> -1), whereas this form keeps full relative accuracy in the left tail.
// Derivative, with s = sigmoid(2u): gelu'(x) = s + 2 x s (1 - s) u', u' = sqrt(2/pi)(1 + 3 c x^2).
//
// GELU, exact: gelu(x) = x Phi(x), Phi(x) = (1 + erf(x / sqrt 2)) / 2 = erfc(-x / sqrt 2) / 2.
// std::erf is a libm call (not vectorisable, and the reason the numpy path with math.erf was
// slow), so we approximate erfc on z >= 0 in the classic form
//     erfc(z) = t Q(t) exp(-z^2),   t = 1 / (1 + 0.46 z),   Q a polynomial of degree 9.
// t Q(t) approximates erfcx(z) = erfc(z) exp(z^2), a smooth function that falls like
// 1 / (z sqrt(pi)), which is why a polynomial in t (not in z) fits it on all of [0, inf).
// Q's coefficients were fitted for *relative* error (weighted least squares on Chebyshev
// nodes in t, reweighted towards the worst points, against mpmath): max 6.8e-8 over z in
// [0, 200] in float64, and 3.6e-7 (~6 ulp) evaluated in float32. (Numerical Recipes' erfcc,
// t exp(P(t) - z^2), reaches the same float32 accuracy with the polynomial inside the exp;
// this form leaves exp(-z^2) bare, and the GELU derivative needs exactly that exp for phi, so
// the backward costs one exp instead of two.) Then, with z = x / sqrt 2 and
// h = erfc(|z|) / 2:  Phi(x) = h for x < 0, 1 - h for x >= 0,
// which, like the tanh form, stays accurate relative to the value in the left tail instead of
// computing 1 + erf(z) ~ 1 - 1. Measured over x in [-12, 12] against float64: absolute error
// <= 4e-7 (half an ulp of the largest |gelu| there), relative error <= 6e-7 where
// |gelu(x)| > 1e-3 and <= 4e-6 all the way down the tail (the extra is the rounding of
// exp(-x^2 / 2)'s argument, 6e-8 * x^2 / 2 relative). The erf kernel: absolute error < 2e-7.
// Derivative: gelu'(x) = Phi(x) + x phi(x), phi(x) = exp(-x^2 / 2) / sqrt(2 pi).
//
// erf(z) itself: 1 - erfc(|z|) would lose relative accuracy near 0 (erf(z) ~ 1.13 z), so for
// |z| < 0.5 it uses the Taylor series z * (c0 + c1 z^2 + ... + c6 z^12) (the next term is
// below 1e-9 relative there), and sign(z) (1 - erfc(|z|)) elsewhere.
//
// ReLU is one compare-and-select per lane; it is here, and not left to numpy, because numpy runs
// it on one core and its backward (np.where(x > 0, g, 0)) makes a bool temporary and a second
// pass: on the seed CNN's (64, 64, 28, 28) activations that was 5 ms per call. NaN stays NaN
// forward (x < 0 is false for NaN), as np.maximum and PyTorch do; the backward passes grad only
// where x > 0, so NaN gets 0, as the numpy reference's where(x > 0, ...) does.
//
// Each fast kernel has a `_naive` twin: a plain loop over std::tanh / std::erf / std::exp, one
// thread, which the tests compare against.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "common.h"
#include "vecmath.h"

namespace tt {

namespace {

using i64 = std::int64_t;
using namespace vec;

constexpr i64 kMinWorkToThread = 1 << 14;  // elements; below, a parallel region costs more
constexpr float kSqrt2OverPi = 0.7978845608028654f;
constexpr float kGeluC = 0.044715f;
constexpr float kInvSqrt2 = 0.7071067811865476f;
constexpr float kInvSqrt2Pi = 0.3989422804014327f;  // 1 / sqrt(2 pi)

// ---------------------------------------------------------------------------------------------
// Lane-wise math, templates on the vector width W.

// erfcx(z) = erfc(z) exp(z^2) for z >= 0, as t Q(t) (see the header; relative error 6.8e-8).
template <int W>
TT_ALWAYS_INLINE typename V<W>::F erfcx_pos(const typename V<W>::F& z) {
    using F = typename V<W>::F;
    const F t = 1.0f / (1.0f + 0.46f * z);
    F q = splat<W>(-0.04172387346625328f);
    q = q * t + 0.1796872615814209f;
    q = q * t + -0.2529526352882385f;
    q = q * t + 0.07994836568832397f;
    q = q * t + -0.00028402465977706015f;
    q = q * t + 0.10710571706295013f;
    q = q * t + 0.17712710797786713f;
    q = q * t + 0.23203563690185547f;
    q = q * t + 0.2595292329788208f;
    q = q * t + 0.25952720642089844f;
    return t * q;
}

// Phi(x), the standard normal CDF, given e = exp(-x^2 / 2).
template <int W>
TT_ALWAYS_INLINE typename V<W>::F normal_cdf(const typename V<W>::F& x,
                                             const typename V<W>::F& e) {
    const typename V<W>::F h = 0.5f * erfcx_pos<W>(vabs<W>(x) * kInvSqrt2) * e;
    return x < 0.0f ? h : 1.0f - h;
}

// erf(z): Taylor series near 0, 1 - erfc(|z|) (with z's sign) elsewhere.
template <int W>
TT_ALWAYS_INLINE typename V<W>::F erf_v(const typename V<W>::F& z) {
    using F = typename V<W>::F;
    const F az = vabs<W>(z);
    const F z2 = z * z;
    // 2/sqrt(pi) * sum_n (-1)^n z^(2n+1) / (n! (2n+1)), n = 0..6, in Horner form in z^2
    F p = splat<W>(0.00012055332981789664f);
    p = p * z2 + -0.0008548327023450852f;
    p = p * z2 + 0.005223977625442188f;
    p = p * z2 + -0.026866170645131252f;
    p = p * z2 + 0.11283791670955126f;
    p = p * z2 + -0.37612638903183754f;
    p = p * z2 + 1.1283791670955126f;
    const F small = z * p;
    const F big = 1.0f - erfcx_pos<W>(az) * exp_v<W, true>(-(az * az));
    const F big_signed = z < 0.0f ? -big : big;
    return az < 0.5f ? small : big_signed;
}

// ---------------------------------------------------------------------------------------------
// Kernels over [i0, i1) of flat arrays. kOp: which function. The tail (< W elements) goes
// through the same vector code via a padded temporary.

enum Op { kGeluTanh, kGeluTanhBw, kGeluErf, kGeluErfBw, kErf, kRelu, kReluBw };

template <int W, int kOp>
TT_ALWAYS_INLINE typename V<W>::F apply(const typename V<W>::F& x, const typename V<W>::F& g) {
    using F = typename V<W>::F;
    // ReLU: one compare and one select per lane. `x < 0.0f` compares W lanes at once and gives a
    // lane mask; `mask ? a : b` picks lane by lane (vecmath.h's operators); F{} is all zeros.
    if (kOp == kRelu) {
        // BEGIN SOLUTION 13 relu
        return x < 0.0f ? F{} : x;  // NaN < 0 is false: NaN stays NaN, as np.maximum
        // END SOLUTION
    }
    if (kOp == kReluBw) {
        // BEGIN SOLUTION 13 relu_backward
        return x > 0.0f ? g : F{};  // the gradient passes where x > 0 (0 at x == 0 and NaN)
        // END SOLUTION
    }
    if (kOp == kGeluTanh || kOp == kGeluTanhBw) {
        const F x2 = x * x;
        const F u = kSqrt2OverPi * (x + kGeluC * x2 * x);
        if (kOp == kGeluTanh) return x / (1.0f + exp_v<W>(-2.0f * u));  // x * sigmoid(2u)
        // Where -2u > 80 (x < -9.6) the derivative is below 1e-32: return 0 there, which also
        // keeps e finite (e * s * s would be inf * 0 for very negative x).
        const F a = -2.0f * u;
        const F e = exp_v<W>(a > 80.0f ? splat<W>(80.0f) : a);
        const F s = 1.0f / (1.0f + e);  // sigmoid(2u)
        const F du = kSqrt2OverPi * (1.0f + (3.0f * kGeluC) * x2);
        const F d = s + 2.0f * x * (e * s * s) * du;  // s (1 - s) = e s^2
        return g * (a > 80.0f ? F{} : d);
    }
    const F e = exp_v<W, true>(-0.5f * x * x);  // one exp for Phi and phi
    if (kOp == kGeluErf) return x * normal_cdf<W>(x, e);
    if (kOp == kGeluErfBw) return g * (normal_cdf<W>(x, e) + x * (kInvSqrt2Pi * e));
    return erf_v<W>(x);
}

// y[i] = f(x[i]) or, for the backward ops, f'(x[i]) * g[i].
template <int W, int kOp>
TT_ALWAYS_INLINE void elementwise(const float* x, const float* g, float* y, i64 i0, i64 i1) {
    using F = typename V<W>::F;
    const bool bw = kOp == kGeluTanhBw || kOp == kGeluErfBw || kOp == kReluBw;
    i64 i = i0;
    for (; i + W <= i1; i += W)
        store<W>(y + i, apply<W, kOp>(load<W>(x + i), bw ? load<W>(g + i) : F{}));
    if (i < i1) {
        const F xv = load_tail<W>(x + i, i1 - i, 0.0f);
        const F gv = bw ? load_tail<W>(g + i, i1 - i, 0.0f) : F{};
        store_tail<W>(y + i, apply<W, kOp>(xv, gv), i1 - i);
    }
}

using ElementwiseFn = void (*)(const float*, const float*, float*, i64, i64);

struct Kernels {
    ElementwiseFn fn[7];  // indexed by Op
};

#define TT_ACTIVATION_KERNELS(NAME, W, TARGET)                                               \
    TARGET void NAME##_gelu_tanh(const float* x, const float* g, float* y, i64 a, i64 b) {    \
        elementwise<W, kGeluTanh>(x, g, y, a, b);                                            \
    }                                                                                        \
    TARGET void NAME##_gelu_tanh_bw(const float* x, const float* g, float* y, i64 a, i64 b) { \
        elementwise<W, kGeluTanhBw>(x, g, y, a, b);                                          \
    }                                                                                        \
    TARGET void NAME##_gelu_erf(const float* x, const float* g, float* y, i64 a, i64 b) {     \
        elementwise<W, kGeluErf>(x, g, y, a, b);                                             \
    }                                                                                        \
    TARGET void NAME##_gelu_erf_bw(const float* x, const float* g, float* y, i64 a, i64 b) {  \
        elementwise<W, kGeluErfBw>(x, g, y, a, b);                                           \
    }                                                                                        \
    TARGET void NAME##_erf(const float* x, const float* g, float* y, i64 a, i64 b) {          \
        elementwise<W, kErf>(x, g, y, a, b);                                                 \
    }                                                                                        \
    TARGET void NAME##_relu(const float* x, const float* g, float* y, i64 a, i64 b) {         \
        elementwise<W, kRelu>(x, g, y, a, b);                                                \
    }                                                                                        \
    TARGET void NAME##_relu_bw(const float* x, const float* g, float* y, i64 a, i64 b) {      \
        elementwise<W, kReluBw>(x, g, y, a, b);                                              \
    }                                                                                        \
    const Kernels NAME = {{NAME##_gelu_tanh, NAME##_gelu_tanh_bw, NAME##_gelu_erf,           \
                           NAME##_gelu_erf_bw, NAME##_erf, NAME##_relu, NAME##_relu_bw}};

#if defined(TT_X86_KERNELS)
TT_ACTIVATION_KERNELS(k_avx512, 16, TT_TARGET_AVX512)
TT_ACTIVATION_KERNELS(k_avx2, 8, TT_TARGET_AVX2)
#endif
TT_ACTIVATION_KERNELS(k_base, 4, )

const Kernels& kernels() {
#if defined(TT_X86_KERNELS)
    switch (active_width()) {
        case 16: return k_avx512;
        case 8: return k_avx2;
        default: break;
    }
#endif
    return k_base;
}

// Split [0, n) into one contiguous part per thread, part boundaries on 16-float lines.
// The first line (16 floats) runs on the calling thread before the parallel region: a kernel
// that throws (a course stub: tt::NotImplemented) then throws here, where pybind11 turns it into
// a Python exception, and never inside an OpenMP region (where a throw would terminate the process).
void run_parallel(ElementwiseFn fn, const float* x, const float* g, float* y, i64 n) {
    const i64 head = std::min<i64>(n, 16);
    if (head > 0) fn(x, g, y, 0, head);
    if (head == n) return;
    x += head, y += head, n -= head;  // 16 floats = 64 bytes: the alignment of what follows is kept
    if (g) g += head;
    const int nt = active_num_threads();
    if (nt <= 1 || n < kMinWorkToThread) {
        fn(x, g, y, 0, n);
        return;
    }
    const i64 lines = (n + 15) / 16;
#pragma omp parallel for schedule(static) num_threads(nt)
    for (int p = 0; p < nt; ++p) {
        const i64 a = std::min(n, lines * p / nt * 16), b = std::min(n, lines * (p + 1) / nt * 16);
        if (a < b) fn(x, g, y, a, b);
    }
}

// ---------------------------------------------------------------------------------------------
// Entry points. x (and grad): any shape, float32; the result has x's shape, C-contiguous.

using F32 = py::array_t<float, py::array::c_style | py::array::forcecast>;

F32 f32(const std::string& op, const char* name, const py::array& x) {
    if (x.dtype().kind() != 'f' || x.itemsize() != 4)
        throw py::type_error(op + ": " + name + " must be float32, got " + dtype_str(x) +
                             " of shape " + shape_str(x));
    return F32::ensure(x);  // a C-contiguous copy only if x is not already
}

py::array_t<float> new_like(const py::array& x) {
    std::vector<py::ssize_t> shape(x.shape(), x.shape() + x.ndim());
    return py::array_t<float>(shape);
}

py::array_t<float> unary(const char* op, int which, const py::array& x_in) {
    const F32 x = f32(op, "x", x_in);
    py::array_t<float> y = new_like(x);
    const float* xp = x.data();
    float* yp = y.mutable_data();
    const i64 n = x.size();
    {
        py::gil_scoped_release nogil;
        run_parallel(kernels().fn[which], xp, nullptr, yp, n);
    }
    return y;
}

F32 grad_like(const char* op, const F32& x, const py::array& grad_in) {
    const F32 g = f32(op, "grad", grad_in);
    bool same = g.ndim() == x.ndim();
    for (py::ssize_t d = 0; same && d < x.ndim(); ++d) same = g.shape(d) == x.shape(d);
    if (!same)
        throw py::value_error(std::string(op) + ": x and grad must have the same shape, got " +
                              shape_str(x) + " and " + shape_str(grad_in));
    return g;
}

py::array_t<float> binary(const char* op, int which, const py::array& x_in,
                          const py::array& grad_in) {
    const F32 x = f32(op, "x", x_in);
    const F32 g = grad_like(op, x, grad_in);
    py::array_t<float> y = new_like(x);
    const float *xp = x.data(), *gp = g.data();
    float* yp = y.mutable_data();
    const i64 n = x.size();
    {
        py::gil_scoped_release nogil;
        run_parallel(kernels().fn[which], xp, gp, yp, n);
    }
    return y;
}

// Naive references: the textbook formulas with std::tanh / std::erf / std::exp, one thread.
float naive_scalar(int which, float x, float g) {
    switch (which) {
        case kGeluTanh:
            return 0.5f * x * (1.0f + std::tanh(kSqrt2OverPi * (x + kGeluC * x * x * x)));
        case kGeluTanhBw: {
            const float t = std::tanh(kSqrt2OverPi * (x + kGeluC * x * x * x));
            const float du = kSqrt2OverPi * (1.0f + 3.0f * kGeluC * x * x);
            return g * (0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * du);
        }
        case kGeluErf:
            return 0.5f * x * (1.0f + std::erf(x * kInvSqrt2));
        case kGeluErfBw:
            return g * (0.5f * (1.0f + std::erf(x * kInvSqrt2)) +
                        x * kInvSqrt2Pi * std::exp(-0.5f * x * x));
        case kRelu: {
            // BEGIN SOLUTION 13 relu
            return x < 0.0f ? 0.0f : x;
            // END SOLUTION
        }
        case kReluBw: {
            // BEGIN SOLUTION 13 relu_backward
            return x > 0.0f ? g : 0.0f;
            // END SOLUTION
        }
        default:
            return std::erf(x);
    }
}

py::array_t<float> naive(const char* op, int which, const py::array& x_in,
                         const py::array* grad_in) {
    const F32 x = f32(op, "x", x_in);
    F32 g;
    if (grad_in) g = grad_like(op, x, *grad_in);
    py::array_t<float> y = new_like(x);
    const float* xp = x.data();
    const float* gp = grad_in ? g.data() : nullptr;
    float* yp = y.mutable_data();
    const i64 n = x.size();
    {
        py::gil_scoped_release nogil;
        for (i64 i = 0; i < n; ++i) yp[i] = naive_scalar(which, xp[i], gp ? gp[i] : 0.0f);
    }
    return y;
}

}  // namespace

void register_activation(py::module_& m) {
    m.def(
        "gelu_tanh", [](const py::array& x) { return unary("gelu_tanh", kGeluTanh, x); },
        py::arg("x"),
        R"doc(GELU, tanh approximation, elementwise on a float32 array of any shape.

0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), computed as x / (1 + exp(-2u)) (the same
value, without the cancellation of 1 + tanh for negative x). Returns a new C-contiguous array.)doc");
    m.def(
        "gelu_tanh_backward",
        [](const py::array& x, const py::array& grad) {
            return binary("gelu_tanh_backward", kGeluTanhBw, x, grad);
        },
        py::arg("x"), py::arg("grad"),
        R"doc(grad * gelu_tanh'(x), elementwise; x and grad float32 of the same shape.)doc");
    m.def(
        "gelu_erf", [](const py::array& x) { return unary("gelu_erf", kGeluErf, x); },
        py::arg("x"),
        R"doc(Exact GELU, x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)), elementwise (float32).

Phi comes from a vectorised erfc (Numerical Recipes' Chebyshev fit, relative error < 1.2e-7),
accurate relative to the value also in the left tail.)doc");
    m.def(
        "gelu_erf_backward",
        [](const py::array& x, const py::array& grad) {
            return binary("gelu_erf_backward", kGeluErfBw, x, grad);
        },
        py::arg("x"), py::arg("grad"),
        R"doc(grad * (Phi(x) + x phi(x)), the exact GELU's derivative times grad, elementwise.)doc");
    m.def(
        "erf", [](const py::array& x) { return unary("erf", kErf, x); }, py::arg("x"),
        R"doc(The error function, elementwise on a float32 array (vectorised, float32 accuracy).)doc");

    m.def(
        "gelu_tanh_naive",
        [](const py::array& x) { return naive("gelu_tanh_naive", kGeluTanh, x, nullptr); },
        py::arg("x"), "Reference tanh GELU: the textbook formula with std::tanh, one thread.");
    m.def(
        "gelu_tanh_backward_naive",
        [](const py::array& x, const py::array& g) {
            return naive("gelu_tanh_backward_naive", kGeluTanhBw, x, &g);
        },
        py::arg("x"), py::arg("grad"), "Reference tanh-GELU backward with std::tanh, one thread.");
    m.def(
        "gelu_erf_naive",
        [](const py::array& x) { return naive("gelu_erf_naive", kGeluErf, x, nullptr); },
        py::arg("x"), "Reference exact GELU: 0.5 x (1 + std::erf(x / sqrt 2)), one thread.");
    m.def(
        "gelu_erf_backward_naive",
        [](const py::array& x, const py::array& g) {
            return naive("gelu_erf_backward_naive", kGeluErfBw, x, &g);
        },
        py::arg("x"), py::arg("grad"), "Reference exact-GELU backward with std::erf, one thread.");
    m.def(
        "erf_naive", [](const py::array& x) { return naive("erf_naive", kErf, x, nullptr); },
        py::arg("x"), "Reference erf: std::erf per element, one thread.");

    m.def(
        "relu", [](const py::array& x) { return unary("relu", kRelu, x); }, py::arg("x"),
        R"doc(max(x, 0) elementwise on a float32 array of any shape (NaN stays NaN), threaded.)doc");
    m.def(
        "relu_backward",
        [](const py::array& x, const py::array& grad) {
            return binary("relu_backward", kReluBw, x, grad);
        },
        py::arg("x"), py::arg("grad"),
        R"doc(grad where x > 0, else 0: ReLU's backward in one pass; x and grad float32, same shape.)doc");
    m.def(
        "relu_naive", [](const py::array& x) { return naive("relu_naive", kRelu, x, nullptr); },
        py::arg("x"), "Reference ReLU: a plain loop, one thread.");
    m.def(
        "relu_backward_naive",
        [](const py::array& x, const py::array& g) {
            return naive("relu_backward_naive", kReluBw, x, &g);
        },
        py::arg("x"), py::arg("grad"), "Reference ReLU backward: a plain loop, one thread.");
}

}  // namespace tt
