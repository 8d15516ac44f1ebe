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

# (end of conv)

# --- pool: max and average pooling (csrc/pool.cpp) ------------------------------------------------

# (end of pool)

# --- norm: batchnorm and layernorm (csrc/norm.cpp) ------------------------------------------------

# (end of norm)

# --- softmax: softmax, log-softmax, fused softmax-cross-entropy (csrc/softmax.cpp) ----------------

# (end of softmax)

# --- activation: GELU (csrc/activation.cpp) -------------------------------------------------------

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

# (end of optim)
