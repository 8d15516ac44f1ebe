"""Type stub for ``tinytorch.tensor._C``, the native (C++/pybind11) kernels.

The sources live in ``packages/tinytorch-tensor/csrc/``: one file per kernel family, each with a
naive reference beside the fast version. All kernels release the GIL while they run.
"""

from typing import Any

import numpy as np
import numpy.typing as npt

# --- runtime: ISA and threads (csrc/runtime.cpp) ------------------------------------------------

def isa() -> str:
    """The instruction set the kernels use now: ``"avx512"``, ``"avx2"`` or ``"scalar"``.

    Chosen at import as the best one the CPU supports (``TINYTORCH_ISA`` in the environment can
    pick another supported one); change it with `set_isa`.
    """

def available_isas() -> list[str]:
    """The instruction sets this build has and this CPU supports, best first."""

def set_isa(name: str) -> None:
    """Switch the kernels to ``name``, one of `available_isas()` (for tests and benchmarks).

    Raises:
        ValueError: ``name`` is unknown, or this CPU does not support it.
    """

def num_threads() -> int:
    """Threads the kernels use (1 when the build has no OpenMP)."""

def set_num_threads(n: int) -> None:
    """Set the number of threads the kernels use.

    The default is OpenMP's (``OMP_NUM_THREADS``, else the core count). Without OpenMP the
    kernels stay single-threaded whatever ``n`` is.

    Raises:
        ValueError: ``n < 1``.
    """

def has_openmp() -> bool:
    """Whether this build was compiled with OpenMP."""

def build_info() -> dict[str, Any]:
    """Facts about this build and CPU, for ``tito system info``.

    Keys: ``compiler``, ``compiler_version_string``, ``cxx_standard``, ``build_type``,
    ``cxx_flags``, ``avx512_flags``, ``avx2_flags``, ``target``, ``openmp``,
    ``openmp_version`` (e.g. 201511, or None), ``pybind11_version``, ``compiled_isas``,
    ``available_isas``, ``isa``, ``num_threads``, ``default_threads``, ``isa_env``,
    ``cpu_features`` (dict of feature name -> bool; empty off x86-64).
    """

# --- GEMM (csrc/gemm.cpp, csrc/gemm_avx512.cpp, csrc/gemm_avx2.cpp, csrc/gemm_scalar.cpp) -------

def gemm(a: npt.NDArray[np.float32], b: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Matrix product of two float32 matrices: ``a @ b``.

    Packed, register-tiled SIMD kernel with cache blocking, threaded with `num_threads()`.

    Args:
        a: (M, K) float32, any non-negative strides (``x.T`` and slices are packed without an
            extra copy; stride 0 broadcasts).
        b: (K, N) float32, same rules.

    Returns:
        A new C-contiguous float32 array of shape (M, N). K == 0 gives zeros.

    Raises:
        TypeError: an input is not float32 (native byte order).
        ValueError: an input is not 2-D, the shapes do not align
            (``gemm: shapes (32, 100) and (64, 10) do not align (100 != 64)``), or a stride is
            negative or not a multiple of 4 bytes.
    """

def gemm_naive(a: npt.NDArray[np.float32], b: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Reference for `gemm`: the plain triple loop, float32 accumulation. Same contract; slow."""

def bmm(a: npt.NDArray[np.float32], b: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Batched matrix product: ``c[i] = a[i] @ b[i]``.

    Args:
        a: (B, M, K) float32, any non-negative strides (batch stride 0 broadcasts one matrix).
        b: (B, K, N) float32, same rules.

    Returns:
        A new C-contiguous float32 array of shape (B, M, N). Small matrices run whole batch items
        in parallel; large ones (>= ~256^3 flops) run the threaded `gemm` per item.

    Raises:
        TypeError: an input is not float32.
        ValueError: an input is not 3-D, the batch sizes differ
            (``bmm: batch sizes 3 and 4 differ``), the inner sizes do not align, or a stride is
            negative.
    """

def gemm_config() -> dict[str, Any]:
    """The active GEMM kernel: ``isa``, register tile ``mr`` x ``nr``, cache blocks ``mc``,
    ``kc``, ``nc``."""

def _set_gemm_blocking(mc: int = 0, kc: int = 0, nc: int = 0) -> None:
    """Tuning hook: override the GEMM cache blocks (0 restores the kernel's default).

    mc is rounded up to a multiple of mr and nc to a multiple of nr. Not for normal use.
    """

# --- copies (csrc/copy.cpp) ---------------------------------------------------------------------

def contiguous(x: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """A C-contiguous copy of ``x`` with the same dtype and shape (always a copy).

    Accepts bool and numeric dtypes of itemsize 1, 2, 4 or 8, 0 to 8 dimensions, any strides
    (0 and negative included). Contiguous runs are merged; a transposed layout in the last two
    dimensions is copied with a cache-blocked transpose.

    Raises:
        TypeError: unsupported dtype (object, strings, itemsize 16, ...).
        ValueError: more than 8 dimensions.
    """

def transpose2d(x: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """``x.T`` as a new C-contiguous array, (M, N) -> (N, M), cache-blocked.

    Same dtype rules as `contiguous`.

    Raises:
        ValueError: ``x`` is not 2-D.
    """

def contiguous_naive(x: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Reference for `contiguous`: one element at a time in output order."""

def transpose2d_naive(x: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Reference for `transpose2d`: ``out[j, i] = x[i, j]`` one element at a time."""

# --- conv: conv2d forward, grad input, grad weight (csrc/conv.cpp) --------------------------------

def conv2d_forward(
    x: npt.NDArray[np.float32],
    weight: npt.NDArray[np.float32],
    bias: npt.NDArray[np.float32] | None = None,
    stride: tuple[int, int] = (1, 1),
    padding: tuple[int, int] = (0, 0),
    dilation: tuple[int, int] = (1, 1),
) -> npt.NDArray[np.float32]:
    """2-D convolution (cross-correlation): ``y[n, o] = sum_c,i,j w[o, c, i, j] * x[n, c, ...]``.

    Implicit im2col: receptive fields are packed straight from a zero-bordered copy of each image
    into the packed GEMM's panels (the column matrix is never built); the weights are packed once
    per call; threads split the batch. Bias is written first and the GEMM accumulates onto it.

    Args:
        x: (N, C, H, W) float32, any non-negative strides.
        weight: (O, C, kh, kw) float32 (copied if not contiguous).
        bias: (O,) float32 or None.
        stride: (height, width) step between output pixels, >= 1.
        padding: (height, width) zeros added on each side, >= 0.
        dilation: (height, width) spacing between kernel taps, >= 1.

    Returns:
        A new C-contiguous (N, O, OH, OW) float32 array,
        OH = (H + 2*padding - dilation*(kh-1) - 1) // stride + 1 (OW likewise).

    Raises:
        TypeError: an input is not float32.
        ValueError: wrong ndim, channel mismatch (``conv2d_forward: the weight (4, 3, 3, 3)
            expects input with 3 channels, got shape (2, 5, 8, 8)``), bad bias shape, invalid
            stride/padding/dilation, or a kernel that does not fit the padded input.
    """

def conv2d_forward_naive(
    x: npt.NDArray[np.float32],
    weight: npt.NDArray[np.float32],
    bias: npt.NDArray[np.float32] | None = None,
    stride: tuple[int, int] = (1, 1),
    padding: tuple[int, int] = (0, 0),
    dilation: tuple[int, int] = (1, 1),
) -> npt.NDArray[np.float32]:
    """Reference for `conv2d_forward`: the direct 7-loop sum, float32, bounds tested per tap."""

def conv2d_grad_input(
    grad_out: npt.NDArray[np.float32],
    weight: npt.NDArray[np.float32],
    input_size: tuple[int, int],
    stride: tuple[int, int] = (1, 1),
    padding: tuple[int, int] = (0, 0),
    dilation: tuple[int, int] = (1, 1),
) -> npt.NDArray[np.float32]:
    """Gradient of a conv2d with respect to its input: ``col2im(weight^T @ grad_out)``.

    Args:
        grad_out: (N, O, OH, OW) float32, any non-negative strides (a broadcast gradient from
            ``sum()`` is read without being materialised).
        weight: (O, C, kh, kw) float32.
        input_size: (H, W) of the conv's input (with stride > 1 it is not implied by OH, OW).
        stride: the conv's stride.
        padding: the conv's padding.
        dilation: the conv's dilation.

    Returns:
        A new C-contiguous (N, C, H, W) float32 array.

    Raises:
        TypeError: an input is not float32.
        ValueError: grad_out's shape does not match the geometry (``conv2d_grad_input: expected
            grad_out of shape (2, 4, 5, 5), got shape (2, 4, 6, 6)``), or as `conv2d_forward`.
    """

def conv2d_grad_input_naive(
    grad_out: npt.NDArray[np.float32],
    weight: npt.NDArray[np.float32],
    input_size: tuple[int, int],
    stride: tuple[int, int] = (1, 1),
    padding: tuple[int, int] = (0, 0),
    dilation: tuple[int, int] = (1, 1),
) -> npt.NDArray[np.float32]:
    """Reference for `conv2d_grad_input`: direct loops scattering each gradient onto its window."""

def conv2d_grad_weight(
    x: npt.NDArray[np.float32],
    grad_out: npt.NDArray[np.float32],
    kernel_size: tuple[int, int],
    stride: tuple[int, int] = (1, 1),
    padding: tuple[int, int] = (0, 0),
    dilation: tuple[int, int] = (1, 1),
) -> npt.NDArray[np.float32]:
    """Gradient of a conv2d with respect to its weight: ``sum_n grad_out[n] @ im2col(x)[n]^T``.

    The sum over images and pixels is the GEMM's k loop; the images are copied channels-last so
    that each packed panel row is a contiguous run; each thread sums into its own (O, C*kh*kw)
    partial result, added at the end.

    Args:
        x: (N, C, H, W) float32, any non-negative strides.
        grad_out: (N, O, OH, OW) float32, any non-negative strides.
        kernel_size: (kh, kw).
        stride: the conv's stride.
        padding: the conv's padding.
        dilation: the conv's dilation.

    Returns:
        A new C-contiguous (O, C, kh, kw) float32 array.

    Raises:
        TypeError: an input is not float32.
        ValueError: batch sizes differ, grad_out's shape does not match the geometry, or as
            `conv2d_forward`.
    """

def conv2d_grad_weight_naive(
    x: npt.NDArray[np.float32],
    grad_out: npt.NDArray[np.float32],
    kernel_size: tuple[int, int],
    stride: tuple[int, int] = (1, 1),
    padding: tuple[int, int] = (0, 0),
    dilation: tuple[int, int] = (1, 1),
) -> npt.NDArray[np.float32]:
    """Reference for `conv2d_grad_weight`: the direct sum over images and pixels per weight."""

def conv2d_grad_bias(grad_out: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Gradient of a conv2d with respect to its bias: (N, O, OH, OW) -> (O,), summed over N, OH, OW.

    Threaded over channels, float32 lanes added in double. Any non-negative strides.

    Raises:
        TypeError: not float32.
        ValueError: not 4-D, or negative strides.
    """

def conv2d_grad_bias_naive(grad_out: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Reference for `conv2d_grad_bias`: one float32 running sum per channel."""

# (end of conv)

# --- pool: max and average pooling (csrc/pool.cpp) ------------------------------------------------

def max_pool2d_forward(
    x: npt.NDArray[np.float32],
    kernel_size: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int] = (0, 0),
    dilation: tuple[int, int] = (1, 1),
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int32]]:
    """Max pooling: (out, indices), both (N, C, OH, OW).

    ``indices`` are int32 positions ``h*W + w`` within each input plane (half the memory of
    int64 flat indices). Ties go to the first maximum in row-major window order; a NaN wins.
    Padding (at most half the kernel) never wins. Threaded over the N*C planes.

    Args:
        x: (N, C, H, W) float32 (copied first if not C-contiguous).

    Raises:
        TypeError: not float32.
        ValueError: not 4-D, padding more than half the kernel, a kernel that does not fit.
    """

def max_pool2d_forward_naive(
    x: npt.NDArray[np.float32],
    kernel_size: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int] = (0, 0),
    dilation: tuple[int, int] = (1, 1),
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int32]]:
    """Reference for `max_pool2d_forward`: scan each window, skipping padding."""

def max_pool2d_backward(
    grad_out: npt.NDArray[np.float32],
    indices: npt.NDArray[np.int32],
    input_size: tuple[int, int],
) -> npt.NDArray[np.float32]:
    """Backward of max pooling: each gradient added onto the input element its output took.

    Args:
        grad_out: (N, C, OH, OW) float32.
        indices: (N, C, OH, OW) int32 per-plane positions, from `max_pool2d_forward`.
        input_size: (H, W) of the pooled input.

    Returns:
        dx (N, C, H, W) float32; windows that share a maximum add up.

    Raises:
        TypeError: grad_out is not float32 or indices not int32.
        ValueError: shapes differ, or an index lies outside the plane.
    """

def max_pool2d_backward_naive(
    grad_out: npt.NDArray[np.float32],
    indices: npt.NDArray[np.int32],
    input_size: tuple[int, int],
) -> npt.NDArray[np.float32]:
    """Reference for `max_pool2d_backward`: one scatter-add loop over all outputs."""

def avg_pool2d_forward(
    x: npt.NDArray[np.float32],
    kernel_size: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int] = (0, 0),
    count_include_pad: bool = True,
) -> npt.NDArray[np.float32]:
    """Average pooling: (N, C, H, W) -> (N, C, OH, OW), threaded over the N*C planes.

    ``count_include_pad=True`` divides by kh*kw (zeros of the padding included), False by the
    number of window elements inside the image.

    Raises:
        TypeError: not float32.
        ValueError: not 4-D, padding more than half the kernel, a kernel that does not fit.
    """

def avg_pool2d_forward_naive(
    x: npt.NDArray[np.float32],
    kernel_size: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int] = (0, 0),
    count_include_pad: bool = True,
) -> npt.NDArray[np.float32]:
    """Reference for `avg_pool2d_forward`: sum each window, divide."""

def avg_pool2d_backward(
    grad_out: npt.NDArray[np.float32],
    input_size: tuple[int, int],
    kernel_size: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int] = (0, 0),
    count_include_pad: bool = True,
) -> npt.NDArray[np.float32]:
    """Backward of average pooling: every window element gets its output's gradient / divisor.

    Args:
        grad_out: (N, C, OH, OW) float32.
        input_size: (H, W) of the pooled input.

    Returns:
        dx (N, C, H, W) float32; overlapping windows add up.

    Raises:
        TypeError: not float32.
        ValueError: grad_out's shape does not match the geometry.
    """

def avg_pool2d_backward_naive(
    grad_out: npt.NDArray[np.float32],
    input_size: tuple[int, int],
    kernel_size: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int] = (0, 0),
    count_include_pad: bool = True,
) -> npt.NDArray[np.float32]:
    """Reference for `avg_pool2d_backward`: spread each gradient over its window."""

# (end of pool)

# --- norm: batchnorm and layernorm (csrc/norm.cpp) ------------------------------------------------

# (end of norm)

# --- softmax: softmax, log-softmax, fused softmax-cross-entropy (csrc/softmax.cpp) ----------------

# (end of softmax)

# --- activation: GELU (csrc/activation.cpp) -------------------------------------------------------

# (end of activation)

# --- attention: fused causal attention (csrc/attention.cpp) ---------------------------------------

# (end of attention)

# --- embedding: embedding gather and scatter-add (csrc/embedding.cpp) -----------------------------

# (end of embedding)

# --- optim: fused SGD, Adam and AdamW updates (csrc/optim.cpp) ------------------------------------

# (end of optim)
