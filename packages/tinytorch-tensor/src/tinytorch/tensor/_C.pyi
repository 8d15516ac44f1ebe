"""Type stub for ``tinytorch.tensor._C``, the native (C++/pybind11) kernels.

The sources live in ``packages/tinytorch-tensor/csrc/``: one file per kernel family, each with a
naive reference beside the fast version. All kernels release the GIL while they run.
"""

from typing import Any

import numpy as np
import numpy.typing as npt

class NotImplemented(NotImplementedError):
    """Raised by a course stub in a C++ kernel (``tt::NotImplemented`` in csrc/common.h): the
    student's workspace has not implemented that kernel yet."""

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
    ``cpu_features`` (dict of feature name -> bool; empty off x86-64), ``clone_isa`` (which
    ``TT_CLONES`` version of the memory-bound kernels the loader picked: ``"x86-64-v4"``,
    ``"x86-64-v3"``, ``"x86-64 (baseline)"``, or a single build off x86-64 Linux/GCC).
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

_NormArray = npt.NDArray[np.float32]

def batch_norm_forward(
    x: _NormArray,
    weight: _NormArray | None = None,
    bias: _NormArray | None = None,
    eps: float = 1e-5,
) -> tuple[_NormArray, _NormArray, _NormArray, _NormArray]:
    """BatchNorm training forward: per-channel batch statistics, then normalise.

    Args:
        x: (N, C, ...) float32 (other dtypes and layouts are converted to C-contiguous float32);
            a channel is the N runs of ``prod(shape[2:])`` contiguous floats.
        weight: (C,) or None (1).
        bias: (C,) or None (0).
        eps: added to the variance.

    Returns:
        ``(y, mean, inv_std, var)``: y like x, ``(x - mean) * inv_std * weight + bias``; and per
        channel (C,) the batch mean, ``1 / sqrt(var + eps)`` and the biased variance. Two-pass
        statistics (blocked float32 sums, float64 totals), OpenMP over channels.

    Raises:
        ValueError: x has fewer than 2 dims or no values per channel, or weight / bias is not (C,)
            (``batch_norm_forward: expected weight of shape (3,) for x of shape (4, 3, 5), ...``).
    """

def batch_norm_forward_naive(
    x: _NormArray,
    weight: _NormArray | None = None,
    bias: _NormArray | None = None,
    eps: float = 1e-5,
) -> tuple[_NormArray, _NormArray, _NormArray, _NormArray]:
    """Reference for `batch_norm_forward`: plain loops, float64 sums, one thread. Same contract."""

def batch_norm_eval(
    x: _NormArray,
    mean: _NormArray,
    inv_std: _NormArray,
    weight: _NormArray | None = None,
    bias: _NormArray | None = None,
) -> _NormArray:
    """BatchNorm with given statistics (evaluation): ``(x - mean) * inv_std * weight + bias``.

    Args:
        x: (N, C, ...) float32.
        mean: (C,).
        inv_std: (C,), ``1 / sqrt(running_var + eps)``.
        weight: (C,) or None.
        bias: (C,) or None.

    Raises:
        ValueError: a per-channel argument is not (C,).
    """

def batch_norm_eval_naive(
    x: _NormArray,
    mean: _NormArray,
    inv_std: _NormArray,
    weight: _NormArray | None = None,
    bias: _NormArray | None = None,
) -> _NormArray:
    """Reference for `batch_norm_eval`: plain loops. Same contract."""

def batch_norm_backward(
    dy: _NormArray,
    x: _NormArray,
    mean: _NormArray,
    inv_std: _NormArray,
    weight: _NormArray | None = None,
    training: bool = True,
    need_dx: bool = True,
    need_params: bool = True,
) -> tuple[_NormArray | None, _NormArray | None, _NormArray | None]:
    """Fused BatchNorm backward: ``(dx, dweight, dbias)`` from one kernel.

    Per channel, over its M = N * H * W values, with ``x_hat = (x - mean) * inv_std``:
    ``dbias = sum(dy)``, ``dweight = sum(dy * x_hat)`` and, when ``training`` (the statistics
    were the batch's), ``dx = weight * inv_std / M * (M * dy - dbias - x_hat * dweight)``;
    otherwise (running statistics, constants) ``dx = weight * inv_std * dy``.

    Args:
        dy: (N, C, ...) float32, the gradient of y.
        x: the forward's input, the same shape.
        mean: (C,), as the forward used.
        inv_std: (C,), as the forward used.
        weight: (C,) or None (1).
        training: True if mean and inv_std were the batch's statistics.
        need_dx: compute dx (else None).
        need_params: compute dweight and dbias (else None).

    Raises:
        ValueError: dy and x differ in shape, or a per-channel argument is not (C,).
    """

def batch_norm_backward_naive(
    dy: _NormArray,
    x: _NormArray,
    mean: _NormArray,
    inv_std: _NormArray,
    weight: _NormArray | None = None,
    training: bool = True,
    need_dx: bool = True,
    need_params: bool = True,
) -> tuple[_NormArray | None, _NormArray | None, _NormArray | None]:
    """Reference for `batch_norm_backward`: the textbook formula, float64 sums. Same contract."""

def layer_norm_forward(
    x: _NormArray,
    weight: _NormArray | None = None,
    bias: _NormArray | None = None,
    eps: float = 1e-5,
    normalized_ndim: int = 1,
) -> tuple[_NormArray, _NormArray, _NormArray]:
    """LayerNorm forward over the last ``normalized_ndim`` dims of x.

    Args:
        x: (..., *normalized) float32, seen as R rows (the leading dims) of D = prod(normalized)
            contiguous floats.
        weight: D floats (flattened) or None.
        bias: D floats (flattened) or None.
        eps: added to each row's variance.
        normalized_ndim: how many trailing dims form a row (>= 1).

    Returns:
        ``(y, mean, rstd)``: y like x, and per row (R,) the mean and ``1 / sqrt(var + eps)``.
        Two-pass statistics per row, OpenMP over blocks of rows.

    Raises:
        ValueError: x has fewer than normalized_ndim dims, D == 0, or weight / bias is not (D,).
    """

def layer_norm_forward_naive(
    x: _NormArray,
    weight: _NormArray | None = None,
    bias: _NormArray | None = None,
    eps: float = 1e-5,
    normalized_ndim: int = 1,
) -> tuple[_NormArray, _NormArray, _NormArray]:
    """Reference for `layer_norm_forward`: plain loops, float64 sums, one thread."""

def layer_norm_backward(
    dy: _NormArray,
    x: _NormArray,
    mean: _NormArray,
    rstd: _NormArray,
    weight: _NormArray | None = None,
    need_dx: bool = True,
    need_params: bool = True,
    normalized_ndim: int = 1,
) -> tuple[_NormArray | None, _NormArray | None, _NormArray | None]:
    """Fused LayerNorm backward: ``(dx, dweight, dbias)`` from one kernel.

    Per row, with ``g = dy * weight`` and ``x_hat = (x - mean) * rstd``:
    ``dx = rstd * (g - mean(g) - x_hat * mean(g * x_hat))``; over rows
    ``dweight = sum(dy * x_hat)``, ``dbias = sum(dy)`` (per-thread partial sums).

    Args:
        dy: (..., *normalized) float32, the gradient of y (R rows of D).
        x: the forward's input, the same shape.
        mean: (R,) from the forward.
        rstd: (R,) from the forward.
        weight: D floats or None.
        need_dx: compute dx (else None).
        need_params: compute dweight and dbias (else None).
        normalized_ndim: as in `layer_norm_forward`.

    Returns:
        dx like x; dweight and dbias flat (D,).

    Raises:
        ValueError: dy and x differ in shape, or an argument has the wrong length.
    """

def layer_norm_backward_naive(
    dy: _NormArray,
    x: _NormArray,
    mean: _NormArray,
    rstd: _NormArray,
    weight: _NormArray | None = None,
    need_dx: bool = True,
    need_params: bool = True,
    normalized_ndim: int = 1,
) -> tuple[_NormArray | None, _NormArray | None, _NormArray | None]:
    """Reference for `layer_norm_backward`: the textbook formula, float64 sums."""

# (end of norm)

# --- softmax: softmax, log-softmax, fused softmax-cross-entropy (csrc/softmax.cpp) ----------------

def softmax(x: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Softmax of each row of a float32 (rows, C) array -> a new (rows, C) array.

    Max-subtracted (no overflow; -inf entries give 0, a row of -inf or one holding a NaN or
    +inf gives NaN, as PyTorch), online (x is read once for the max and the sum), vectorised
    for the active `isa()` and threaded over rows. A non-contiguous x is copied first.

    Raises:
        TypeError: x is not float32 (``softmax: x must be float32, got float64 of shape (2, 3)``).
        ValueError: x is not 2-D.
    """

def log_softmax(x: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Log-softmax of each row of a float32 (rows, C) array: ``x - logsumexp(x)``.

    The log-sum-exp is computed online (one read of x). Same errors as `softmax`.
    """

def softmax_backward(
    y: npt.NDArray[np.float32], dy: npt.NDArray[np.float32]
) -> npt.NDArray[np.float32]:
    """Softmax's vector-Jacobian product per row: ``dx = y * (dy - sum(dy * y))``.

    Args:
        y: softmax(x), float32 (rows, C).
        dy: the gradient of the output, float32 of the same shape.

    Raises:
        ValueError: the shapes differ (``softmax_backward: y and dy must have the same shape,
            got (8, 6) and (6, 8)``) or are not 2-D.
    """

def log_softmax_backward(
    y: npt.NDArray[np.float32], dy: npt.NDArray[np.float32]
) -> npt.NDArray[np.float32]:
    """Log-softmax's vector-Jacobian product per row: ``dx = dy - exp(y) * sum(dy)``.

    ``y`` is log_softmax(x); same shapes and errors as `softmax_backward`.
    """

def cross_entropy_forward(
    logits: npt.NDArray[np.float32],
    target: npt.NDArray[np.integer[Any]],
    weight: npt.NDArray[np.float32] | None = None,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], float, float]:
    """Fused softmax + cross-entropy of each row, PyTorch's formula.

    For row i with label t (eps = label_smoothing, w = weight or ones):
    ``loss_i = (1 - eps) w_t (lse_i - x_it) + (eps / C) sum_c w_c (lse_i - x_ic)``, and 0 where
    t == ignore_index. One pass over the logits (the log-sum-exp is computed online).

    Args:
        logits: float32 (rows, C).
        target: integer class labels (rows,).
        weight: float32 class weights (C,), or None.

    Returns:
        ``(loss, lse, total, weight_sum)``: the per-row losses (rows,), each row's log-sum-exp
        (rows,) (all the backward needs), the sum of the losses, and the summed weight of the
        kept labels (their count without weights); 'mean' is ``total / weight_sum``.

    Raises:
        TypeError: logits not float32, or target not integer.
        ValueError: a label outside [0, C) that is not ignore_index
            (``cross_entropy: target label 9 is out of range for 6 classes (valid labels are
            0..5, or ignore_index=-100)``), a target or weight of the wrong shape, or
            label_smoothing outside [0, 1].
    """

def cross_entropy_backward(
    logits: npt.NDArray[np.float32],
    lse: npt.NDArray[np.float32],
    target: npt.NDArray[np.integer[Any]],
    grad: npt.NDArray[np.float32],
    weight: npt.NDArray[np.float32] | None = None,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    scale: float = 1.0,
) -> npt.NDArray[np.float32]:
    """The gradient of `cross_entropy_forward`'s loss with respect to the logits, in one pass.

    ``dlogits_i = grad_i * scale * ((1 - eps) w_t (p_i - onehot_t) + (eps / C)(sum(w) p_i - w))``
    with ``p_i = exp(logits_i - lse_i)``, and 0 for ignored rows.

    Args:
        lse: the forward's log-sum-exp per row (rows,).
        grad: one value (reductions 'mean' and 'sum') or one per row (rows,) ('none').
        scale: ``1 / weight_sum`` for 'mean', else 1.

    Raises:
        ValueError: as `cross_entropy_forward`, or lse / grad of the wrong shape.
    """

def softmax_naive(x: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Reference for `softmax`: the two-pass textbook loop with std::exp, one thread."""

def log_softmax_naive(x: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Reference for `log_softmax`: the two-pass textbook loop, one thread."""

def softmax_backward_naive(
    y: npt.NDArray[np.float32], dy: npt.NDArray[np.float32]
) -> npt.NDArray[np.float32]:
    """Reference for `softmax_backward`, one thread."""

def log_softmax_backward_naive(
    y: npt.NDArray[np.float32], dy: npt.NDArray[np.float32]
) -> npt.NDArray[np.float32]:
    """Reference for `log_softmax_backward` (std::exp), one thread."""

def cross_entropy_forward_naive(
    logits: npt.NDArray[np.float32],
    target: npt.NDArray[np.integer[Any]],
    weight: npt.NDArray[np.float32] | None = None,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], float, float]:
    """Reference for `cross_entropy_forward`: two passes per row, std::exp, one thread."""

def cross_entropy_backward_naive(
    logits: npt.NDArray[np.float32],
    lse: npt.NDArray[np.float32],
    target: npt.NDArray[np.integer[Any]],
    grad: npt.NDArray[np.float32],
    weight: npt.NDArray[np.float32] | None = None,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    scale: float = 1.0,
) -> npt.NDArray[np.float32]:
    """Reference for `cross_entropy_backward`: the gradient formula element by element."""

# (end of softmax)

# --- activation: ReLU, GELU (csrc/activation.cpp) -------------------------------------------------

def gelu_tanh(x: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """GELU, tanh approximation, elementwise on a float32 array of any shape.

    ``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``, computed as ``x / (1 + exp(-2u))``
    (the same value without the cancellation of 1 + tanh for negative x). Returns a new
    C-contiguous array of x's shape. Raises TypeError unless x is float32.
    """

def gelu_tanh_backward(
    x: npt.NDArray[np.float32], grad: npt.NDArray[np.float32]
) -> npt.NDArray[np.float32]:
    """``grad * gelu_tanh'(x)``, elementwise.

    Raises:
        TypeError: x or grad is not float32.
        ValueError: the shapes differ.
    """

def gelu_erf(x: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Exact GELU, ``x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2))``, elementwise (float32).

    Phi comes from a vectorised erfc (``t Q(t) exp(-z^2)``, relative error 6.8e-8 in float64):
    absolute error <= 4e-7 on [-12, 12], and accurate relative to the value in the left tail.
    Raises TypeError unless x is float32.
    """

def gelu_erf_backward(
    x: npt.NDArray[np.float32], grad: npt.NDArray[np.float32]
) -> npt.NDArray[np.float32]:
    """``grad * (Phi(x) + x phi(x))``, the exact GELU's derivative times grad (one exp).

    Same errors as `gelu_tanh_backward`.
    """

def erf(x: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """The error function, elementwise on a float32 array: absolute error < 2.5e-7, relative
    accuracy near 0 (Taylor series for |x| < 0.5, 1 - erfc elsewhere)."""

def gelu_tanh_naive(x: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Reference for `gelu_tanh`: the textbook formula with std::tanh, one thread."""

def gelu_tanh_backward_naive(
    x: npt.NDArray[np.float32], grad: npt.NDArray[np.float32]
) -> npt.NDArray[np.float32]:
    """Reference for `gelu_tanh_backward` with std::tanh, one thread."""

def gelu_erf_naive(x: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Reference for `gelu_erf`: ``0.5 x (1 + std::erf(x / sqrt 2))``, one thread."""

def gelu_erf_backward_naive(
    x: npt.NDArray[np.float32], grad: npt.NDArray[np.float32]
) -> npt.NDArray[np.float32]:
    """Reference for `gelu_erf_backward` with std::erf, one thread."""

def erf_naive(x: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Reference for `erf`: std::erf per element, one thread."""

def relu(x: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """``max(x, 0)`` elementwise on a float32 array of any shape, threaded; NaN stays NaN.

    Returns a new C-contiguous array of x's shape. Raises TypeError unless x is float32.
    """

def relu_backward(
    x: npt.NDArray[np.float32], grad: npt.NDArray[np.float32]
) -> npt.NDArray[np.float32]:
    """``grad`` where ``x > 0``, else 0: ReLU's backward in one pass.

    Same errors as `gelu_tanh_backward`.
    """

def relu_naive(x: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Reference for `relu`: a plain loop, one thread."""

def relu_backward_naive(
    x: npt.NDArray[np.float32], grad: npt.NDArray[np.float32]
) -> npt.NDArray[np.float32]:
    """Reference for `relu_backward`: a plain loop, one thread."""

# (end of activation)

# --- attention: fused causal attention (csrc/attention.cpp) ---------------------------------------

def attention_forward(
    q: npt.NDArray[np.float32],
    k: npt.NDArray[np.float32],
    v: npt.NDArray[np.float32],
    causal: bool = False,
    scale: float | None = None,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Fused attention forward: ``softmax(scale * q @ k^T [causal]) @ v`` and its log-sum-exp.

    FlashAttention-style: each block of query rows streams over the key blocks with an online
    softmax (running maximum and sum), so no (T, S) matrix is ever held; causal key blocks
    wholly above the diagonal are skipped. Block products run on the GEMM micro-kernel of
    `isa()`; threaded over (batch, head, query block).

    Args:
        q: (B, H, T, D) float32, any non-negative strides (views are read in place).
        k: (B, H, S, D) float32.
        v: (B, H, S, Dv) float32.
        causal: query i sees keys 0..i only (top-left aligned, as PyTorch's ``is_causal``).
        scale: multiplies the scores; default 1/sqrt(D).

    Returns:
        ``(out, lse)``: out (B, H, T, Dv) and lse (B, H, T) with
        ``lse[i] = log(sum_j exp(scale * q_i . k_j))`` over the keys row i sees, both new
        C-contiguous float32 arrays. `attention_backward` needs lse.

    Raises:
        TypeError: an input is not float32.
        ValueError: an input is not 4-D, the shapes do not fit
            (``attention_forward: q (2, 3, 4, 8), k (2, 3, 5, 6) and v (2, 3, 5, 8) do not
            fit: ...``), S is 0, or a stride is negative.
    """

def attention_forward_naive(
    q: npt.NDArray[np.float32],
    k: npt.NDArray[np.float32],
    v: npt.NDArray[np.float32],
    causal: bool = False,
    scale: float | None = None,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Reference for `attention_forward`: materialises each (T, S) matrix; plain loops."""

def attention_backward(
    q: npt.NDArray[np.float32],
    k: npt.NDArray[np.float32],
    v: npt.NDArray[np.float32],
    out: npt.NDArray[np.float32],
    lse: npt.NDArray[np.float32],
    grad_out: npt.NDArray[np.float32],
    causal: bool = False,
    scale: float | None = None,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Fused attention backward: ``(dq, dk, dv)`` given dL/d(out).

    Recomputes the probabilities tile by tile from q, k and ``lse`` (FlashAttention-2), with
    ``D_i = rowsum(grad_out * out)``: dS = P * (grad_out @ v^T - D), dv = P^T grad_out,
    dq = scale dS k, dk = scale dS^T q. Threaded over (batch, head), splitting the key blocks
    of one head when there are fewer heads than threads; no atomics.

    Args:
        q: (B, H, T, D), as given to `attention_forward`.
        k: (B, H, S, D), likewise.
        v: (B, H, S, Dv), likewise.
        out: (B, H, T, Dv), the forward's output.
        lse: (B, H, T), the forward's log-sum-exp.
        grad_out: (B, H, T, Dv) float32, any non-negative strides.
        causal: as given to `attention_forward`.
        scale: as given to `attention_forward`.

    Returns:
        dq (B, H, T, D), dk (B, H, S, D), dv (B, H, S, Dv): C-contiguous float32 views of one
        new buffer (``dq.base``), in that order.

    Raises:
        TypeError: an input is not float32.
        ValueError: as `attention_forward`, or out, grad_out or lse has the wrong shape.
    """

def attention_backward_naive(
    q: npt.NDArray[np.float32],
    k: npt.NDArray[np.float32],
    v: npt.NDArray[np.float32],
    out: npt.NDArray[np.float32],
    lse: npt.NDArray[np.float32],
    grad_out: npt.NDArray[np.float32],
    causal: bool = False,
    scale: float | None = None,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Reference for `attention_backward`: materialises P and dS (T, S); plain loops, one thread."""

def attention_config() -> dict[str, Any]:
    """The fused attention's tile: ``br`` queries by ``bc`` keys, and the GEMM ``isa`` it uses."""

def _set_attention_blocks(br: int = 0, bc: int = 0) -> None:
    """Tuning hook: tiles of ``br`` queries by ``bc`` keys (0 restores the default, 64 x 64)."""

# (end of attention)

# --- embedding: embedding gather and scatter-add (csrc/embedding.cpp) -----------------------------

def embedding_gather(
    weight: npt.NDArray[np.float32], indices: npt.NDArray[np.integer]
) -> npt.NDArray[np.float32]:
    """Embedding lookup: ``weight[indices]``.

    Args:
        weight: (V, D) float32 (copied first if not C-contiguous).
        indices: integers of any shape, each in [0, V) (widened to int64).

    Returns:
        A new float32 array of shape (*indices.shape, D). Threaded over the rows.

    Raises:
        IndexError: an index is outside [0, V) (``embedding_gather: index 12 is out of range
            for 10 embeddings (valid ids are 0..9; weight (10, 4), indices (3,))``).
        TypeError: the indices are not integers.
        ValueError: weight is not 2-D.
    """

def embedding_gather_naive(
    weight: npt.NDArray[np.float32], indices: npt.NDArray[np.integer]
) -> npt.NDArray[np.float32]:
    """Reference for `embedding_gather`: a plain double loop, one thread."""

def embedding_scatter_add(
    grad: npt.NDArray[np.float32],
    indices: npt.NDArray[np.integer],
    num_embeddings: int,
    padding_idx: int | None = None,
) -> npt.NDArray[np.float32]:
    """The embedding's weight gradient: row v of the (V, D) result sums ``grad[n]`` over every n
    with ``indices[n] == v``; positions whose index is ``padding_idx`` add nothing.

    Threads split the destination rows (balanced by a histogram of the indices), so no two
    threads add into one row: no races, no atomics, and the result is bitwise the same for any
    thread count.

    Args:
        grad: (*indices.shape, D) float32.
        indices: integers, each in [0, num_embeddings).
        num_embeddings: V.
        padding_idx: an id in [0, V) whose row gets no gradient, or None.

    Returns:
        A new (V, D) float32 array.

    Raises:
        IndexError: an index is out of range. ValueError: grad does not fit the indices, or
            padding_idx is out of range. TypeError: the indices are not integers.
    """

def embedding_scatter_add_naive(
    grad: npt.NDArray[np.float32],
    indices: npt.NDArray[np.integer],
    num_embeddings: int,
    padding_idx: int | None = None,
) -> npt.NDArray[np.float32]:
    """Reference for `embedding_scatter_add`: one thread, in index order."""

# (end of embedding)

# --- optim: fused SGD, Adam and AdamW updates (csrc/optim.cpp) ------------------------------------

# Each call updates one parameter and its optimizer state in place, in one pass over memory,
# with no allocation. Every array is a C-contiguous float32 array of the parameter's shape (a
# copy would defeat the in-place update, so nothing is converted: anything else is a ValueError);
# no two may overlap. The arithmetic is float32 in the numpy reference's order (tinytorch.optim),
# without fused multiply-adds, so results equal the numpy path bit for bit on every CPU.

def sgd_update(
    param: npt.NDArray[np.float32],
    grad: npt.NDArray[np.float32],
    momentum_buffer: npt.NDArray[np.float32] | None = None,
    *,
    lr: float,
    momentum: float = 0.0,
    dampening: float = 0.0,
    weight_decay: float = 0.0,
    nesterov: bool = False,
    init_buffer: bool = False,
) -> None:
    """One SGD step on ``param`` (PyTorch's rule), in place; ``grad`` is only read.

    Per element: ``g = g + weight_decay * p`` (if ``weight_decay != 0``); with momentum,
    ``b = g`` (``init_buffer=True``: the first step) or ``b = momentum * b + (1 - dampening) * g``,
    then ``g = g + momentum * b`` (``nesterov``) or ``g = b``; finally ``p = p - lr * g``.

    Args:
        param: the parameter, updated in place.
        grad: its gradient.
        momentum_buffer: the momentum buffer, updated in place; needed when ``momentum != 0``,
            ignored otherwise.
        lr: learning rate.
        momentum: momentum factor (0: plain SGD).
        dampening: dampening of the gradient entering the buffer.
        weight_decay: L2 penalty folded into the gradient.
        nesterov: Nesterov momentum.
        init_buffer: write ``b = g`` instead of updating ``b`` (the buffer's first step).

    Raises:
        ValueError: a dtype, layout, shape, read-only or overlap problem (naming the array and
            the shapes), or ``momentum != 0`` without a buffer. Nothing is written then.
    """

def sgd_update_naive(
    param: npt.NDArray[np.float32],
    grad: npt.NDArray[np.float32],
    momentum_buffer: npt.NDArray[np.float32] | None = None,
    *,
    lr: float,
    momentum: float = 0.0,
    dampening: float = 0.0,
    weight_decay: float = 0.0,
    nesterov: bool = False,
    init_buffer: bool = False,
) -> None:
    """Reference for `sgd_update`: the formula as one scalar loop (no chunks, threads or SIMD)."""

def adam_update(
    param: npt.NDArray[np.float32],
    grad: npt.NDArray[np.float32],
    exp_avg: npt.NDArray[np.float32],
    exp_avg_sq: npt.NDArray[np.float32],
    max_exp_avg_sq: npt.NDArray[np.float32] | None = None,
    *,
    step: int,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float = 0.0,
) -> None:
    """One Adam step on ``param`` (PyTorch's rule, L2 weight decay), in place.

    Per element, at step ``t = step``: ``g = g + weight_decay * p``;
    ``m = beta1 * m + (1 - beta1) * g``; ``v = beta2 * v + (1 - beta2) * g * g``;
    with AMSGrad ``v = v_max = max(v_max, v)``;
    ``p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)``.

    Args:
        param: the parameter, updated in place.
        grad: its gradient (only read).
        exp_avg: the first moment ``m``, updated in place.
        exp_avg_sq: the second moment ``v``, updated in place.
        max_exp_avg_sq: AMSGrad's running maximum of ``v``, updated in place; None: no AMSGrad.
        step: the step being taken, 1 on the first (the bias corrections use it).
        lr: learning rate.
        beta1: decay of the first moment.
        beta2: decay of the second moment.
        eps: added to the denominator.
        weight_decay: L2 penalty folded into the gradient.

    Raises:
        ValueError: a dtype, layout, shape, read-only or overlap problem, or ``step < 1``.
            Nothing is written then.
    """

def adam_update_naive(
    param: npt.NDArray[np.float32],
    grad: npt.NDArray[np.float32],
    exp_avg: npt.NDArray[np.float32],
    exp_avg_sq: npt.NDArray[np.float32],
    max_exp_avg_sq: npt.NDArray[np.float32] | None = None,
    *,
    step: int,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float = 0.0,
) -> None:
    """Reference for `adam_update`: the formula as one scalar loop (no blocks, threads or SIMD)."""

def adamw_update(
    param: npt.NDArray[np.float32],
    grad: npt.NDArray[np.float32],
    exp_avg: npt.NDArray[np.float32],
    exp_avg_sq: npt.NDArray[np.float32],
    max_exp_avg_sq: npt.NDArray[np.float32] | None = None,
    *,
    step: int,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float = 0.0,
) -> None:
    """One AdamW step: `adam_update` with decoupled weight decay, ``p = p * (1 - lr * wd)``.

    The decay acts on the parameter, not through the gradient, so it does not pass through the
    adaptive denominator. Arguments and errors as in `adam_update`.
    """

def adamw_update_naive(
    param: npt.NDArray[np.float32],
    grad: npt.NDArray[np.float32],
    exp_avg: npt.NDArray[np.float32],
    exp_avg_sq: npt.NDArray[np.float32],
    max_exp_avg_sq: npt.NDArray[np.float32] | None = None,
    *,
    step: int,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float = 0.0,
) -> None:
    """Reference for `adamw_update`: the formula as one scalar loop."""

# (end of optim)
