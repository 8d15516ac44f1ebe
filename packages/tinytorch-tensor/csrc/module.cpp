// module.cpp: the one PYBIND11_MODULE of tinytorch.tensor._C.
//
// Each kernel family lives in its own file and adds its functions through a register_* hook,
// so this file stays a table of contents.
#include "common.h"

PYBIND11_MODULE(_C, m) {
    m.doc() =
        "TinyTorch native kernels: packed, register-tiled SIMD GEMM (AVX-512 / AVX2 / scalar, "
        "picked at run time), batched GEMM, strided copies and blocked transposes.";
    // Course stubs throw tt::NotImplemented; Python sees NotImplementedError.
    pybind11::register_exception<tt::NotImplemented>(m, "NotImplemented",
                                                     PyExc_NotImplementedError);
    tt::register_runtime(m);     // runtime.cpp: isa(), threads, build_info()
    tt::register_gemm(m);        // gemm.cpp: gemm, gemm_naive, bmm
    tt::register_copy(m);        // copy.cpp: contiguous, transpose2d (+ naive references)
    tt::register_conv(m);        // conv.cpp: conv2d forward, grad input, grad weight, grad bias
    tt::register_pool(m);        // pool.cpp: max and average pooling
    tt::register_norm(m);        // norm.cpp: batchnorm and layernorm
    tt::register_softmax(m);     // softmax.cpp: softmax, log-softmax, fused softmax-cross-entropy
    tt::register_activation(m);  // activation.cpp: GELU
    tt::register_attention(m);   // attention.cpp: fused causal attention
    tt::register_embedding(m);   // embedding.cpp: embedding gather and scatter-add
    tt::register_optim(m);       // optim.cpp: fused SGD, Adam and AdamW updates
}
