"""Tests of the native kernels in ``tinytorch.tensor._C`` (csrc/), called directly.

Every GEMM test runs once per ISA this CPU supports (avx512 / avx2 / scalar) and compares the
fast kernel with the naive triple loop and with numpy in float64. Tolerances scale with K: an
fp32 dot product of K terms of size ~1 has a rounding error that grows like sqrt(K) * eps.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

_C = pytest.importorskip("tinytorch.tensor._C")

ISAS = _C.available_isas()
ISA_AT_IMPORT = _C.isa()


@pytest.fixture(params=ISAS)
def isa(request):
    """Run the test with each available ISA; restore the previous one afterwards."""
    before = _C.isa()
    _C.set_isa(request.param)
    try:
        yield request.param
    finally:
        _C.set_isa(before)


@pytest.fixture
def rng():
    return np.random.default_rng(20240601)


def ref_matmul(a, b):
    return a.astype(np.float64) @ b.astype(np.float64)


def assert_gemm_close(out, a, b, msg=""):
    """out must be float32, C-contiguous, the right shape, and match a @ b within fp32 error."""
    ref = ref_matmul(a, b)
    k = a.shape[-1]
    assert out.dtype == np.float32
    assert out.flags.c_contiguous
    assert out.shape == ref.shape
    # Inputs are ~U(-1, 1): each product is <= 1, the sum's error ~ sqrt(K) * 1e-7 per unit.
    np.testing.assert_allclose(
        out, ref, rtol=1e-4, atol=2e-5 * math.sqrt(max(k, 1)), err_msg=msg
    )


def rand(rng, *shape):
    return rng.uniform(-1.0, 1.0, size=shape).astype(np.float32)


# --- runtime ------------------------------------------------------------------------------------


def test_isa_reporting():
    assert _C.isa() in ("avx512", "avx2", "scalar")
    assert "scalar" in ISAS
    assert _C.isa() in ISAS
    info = _C.build_info()
    assert info["isa"] == _C.isa()
    assert info["available_isas"] == ISAS
    assert set(ISAS) <= set(info["compiled_isas"])
    assert info["openmp"] == _C.has_openmp()
    assert isinstance(info["compiler"], str) and info["compiler"]
    # The memory-bound kernels' clone follows the same CPU facts as the GEMM ISA.
    clone = info["clone_isa"]
    if clone.startswith("x86-64-v4"):
        assert info["cpu_features"]["avx512f"] and info["cpu_features"]["avx512bw"]
    elif clone.startswith("x86-64-v3"):
        assert info["cpu_features"]["avx2"] and info["cpu_features"]["fma"]
    else:
        assert clone.startswith(("x86-64 (baseline)", "single build"))
    cfg = _C.gemm_config()
    assert cfg["isa"] == _C.isa()
    assert cfg["mc"] % cfg["mr"] == 0 and cfg["nc"] % cfg["nr"] == 0


def test_isa_default_is_best():
    import os

    if os.environ.get("TINYTORCH_ISA"):
        pytest.skip("TINYTORCH_ISA overrides the default")
    assert ISA_AT_IMPORT == ISAS[0]  # the best supported ISA is picked at import


def test_set_isa_errors():
    with pytest.raises(ValueError, match="unknown ISA 'sse9'"):
        _C.set_isa("sse9")
    compiled = _C.build_info()["compiled_isas"]
    for name in compiled:
        if name not in ISAS:
            with pytest.raises(ValueError, match="not supported by this CPU"):
                _C.set_isa(name)


def test_isa_switch_changes_kernel(isa):
    assert _C.isa() == isa
    assert _C.gemm_config()["isa"] == isa


def test_threads_roundtrip():
    before = _C.num_threads()
    try:
        _C.set_num_threads(1)
        assert _C.num_threads() == 1
        _C.set_num_threads(3)
        assert _C.num_threads() == (3 if _C.has_openmp() else 1)
        with pytest.raises(ValueError, match="set_num_threads"):
            _C.set_num_threads(0)
    finally:
        _C.set_num_threads(before)


# --- gemm ---------------------------------------------------------------------------------------

SHAPES = [
    (1, 1, 1),
    (1, 7, 1),
    (2, 3, 4),
    (17, 17, 17),
    (13, 31, 33),
    (15, 1, 29),
    (33, 65, 1),
    (1, 1023, 1),
    (257, 129, 65),
    (1023, 3, 7),  # tall-skinny
    (3, 1023, 300),  # wide K
    (7, 5, 1023),  # short-fat
    (129, 300, 257),  # K > KC: several k-blocks accumulate into C
    (300, 513, 97),
]


@pytest.mark.parametrize("m,k,n", SHAPES)
def test_gemm_matches_naive_and_numpy(isa, rng, m, k, n):
    a, b = rand(rng, m, k), rand(rng, k, n)
    out = _C.gemm(a, b)
    assert_gemm_close(out, a, b)
    naive = _C.gemm_naive(a, b)
    assert_gemm_close(naive, a, b)
    np.testing.assert_allclose(out, naive, rtol=1e-4, atol=2e-5 * math.sqrt(k))


@pytest.mark.parametrize("m,k,n", [(0, 5, 3), (4, 5, 0), (0, 0, 0), (4, 0, 3), (1, 0, 1)])
def test_gemm_zero_sizes(isa, m, k, n):
    a = np.ones((m, k), np.float32)
    b = np.ones((k, n), np.float32)
    out = _C.gemm(a, b)
    assert out.shape == (m, n) and out.dtype == np.float32
    np.testing.assert_array_equal(out, np.zeros((m, n), np.float32))
    np.testing.assert_array_equal(_C.gemm_naive(a, b), np.zeros((m, n), np.float32))


def test_gemm_exact_small_integers(isa):
    # Small integers are exact in fp32: any summation order gives the same answer.
    a = (np.arange(6 * 40).reshape(6, 40) % 5).astype(np.float32)
    b = (np.arange(40 * 35).reshape(40, 35) % 3).astype(np.float32)
    np.testing.assert_array_equal(_C.gemm(a, b), (a @ b))


def layouts(rng, m, k, n):
    """(name, a, b) with the same values in different memory layouts."""
    a, b = rand(rng, m, k), rand(rng, k, n)
    a_t = np.ascontiguousarray(a.T).T  # column-major view of a
    b_t = np.ascontiguousarray(b.T).T
    big_a = rand(rng, 2 * m + 1, 3 * k + 2)
    big_b = rand(rng, 2 * k + 1, 3 * n + 2)
    a_sl = big_a[1::2, 2::3]  # strided in both dims
    b_sl = big_b[1::2, 2::3]
    return [
        ("contiguous", a, b),
        ("a.T", a_t, b),
        ("b.T", a, b_t),
        ("both.T", a_t, b_t),
        ("sliced", a_sl, b_sl),
        ("sliced.T", a_sl, np.ascontiguousarray(b_sl.T).T),
    ]


@pytest.mark.parametrize("m,k,n", [(1, 1, 1), (17, 33, 29), (130, 257, 67), (61, 300, 200)])
def test_gemm_strided_inputs(isa, rng, m, k, n):
    for name, a, b in layouts(rng, m, k, n):
        assert_gemm_close(_C.gemm(a, b), a, b, msg=name)
        assert_gemm_close(_C.gemm_naive(a, b), a, b, msg=f"naive {name}")


def test_gemm_stride_zero_broadcast(isa, rng):
    row = rand(rng, 1, 70)
    a = np.broadcast_to(row, (40, 70))  # every row the same: stride 0 in dim 0
    col = rand(rng, 70, 1)
    b = np.broadcast_to(col, (70, 33))  # every column the same: stride 0 in dim 1
    assert a.strides[0] == 0 and b.strides[1] == 0
    out = _C.gemm(a, b)
    assert_gemm_close(out, a, b)
    expected = float((row @ col)[0, 0])
    np.testing.assert_allclose(out, np.full((40, 33), expected), rtol=1e-5, atol=1e-5)
    scalar = np.broadcast_to(np.float32(2.0), (5, 9))  # both strides 0
    np.testing.assert_allclose(_C.gemm(scalar, scalar.T.copy()), np.full((5, 5), 36.0))


def test_gemm_threads_agree(isa, rng):
    if not _C.has_openmp():
        pytest.skip("no OpenMP")
    a, b = rand(rng, 301, 517), rand(rng, 517, 203)
    before = _C.num_threads()
    try:
        _C.set_num_threads(1)
        one = _C.gemm(a, b)
        _C.set_num_threads(2)
        two = _C.gemm(a, b)
    finally:
        _C.set_num_threads(before)
    # Threads split rows/columns of C, never the k sum: results must be bitwise identical.
    np.testing.assert_array_equal(one, two)
    assert_gemm_close(two, a, b)


def test_gemm_blocking_override(isa, rng):
    """Tiny cache blocks force many k-, m- and n-blocks (and edge tiles) on a small problem."""
    a, b = rand(rng, 71, 93), rand(rng, 93, 85)
    try:
        _C._set_gemm_blocking(1, 7, 1)
        cfg = _C.gemm_config()
        assert cfg["kc"] == 7 and cfg["mc"] == cfg["mr"] and cfg["nc"] == cfg["nr"]
        assert_gemm_close(_C.gemm(a, b), a, b)
        assert_gemm_close(_C.bmm(a[None], b[None]), a[None], b[None])
    finally:
        _C._set_gemm_blocking(0, 0, 0)
    with pytest.raises(ValueError):
        _C._set_gemm_blocking(-1, 0, 0)


@settings(max_examples=40, deadline=None)
@given(
    m=st.integers(0, 70),
    k=st.integers(0, 300),
    n=st.integers(0, 70),
    ta=st.booleans(),
    tb=st.booleans(),
    step_a=st.integers(1, 3),
    step_b=st.integers(1, 3),
    isa_name=st.sampled_from(ISAS),
    seed=st.integers(0, 2**31 - 1),
)
def test_gemm_hypothesis(m, k, n, ta, tb, step_a, step_b, isa_name, seed):
    rng = np.random.default_rng(seed)
    a = rand(rng, m * step_a, k)[::step_a] if not ta else rand(rng, k, m * step_a)[:, ::step_a].T
    b = rand(rng, k, n * step_b)[:, ::step_b] if not tb else rand(rng, n * step_b, k)[::step_b].T
    before = _C.isa()
    _C.set_isa(isa_name)
    try:
        out = _C.gemm(a, b)
    finally:
        _C.set_isa(before)
    assert_gemm_close(out, a, b)


# --- gemm errors --------------------------------------------------------------------------------


def test_gemm_shape_mismatch_message():
    a = np.zeros((32, 100), np.float32)
    b = np.zeros((64, 10), np.float32)
    for fn, op in ((_C.gemm, "gemm"), (_C.gemm_naive, "gemm_naive")):
        with pytest.raises(ValueError) as e:
            fn(a, b)
        assert str(e.value) == f"{op}: shapes (32, 100) and (64, 10) do not align (100 != 64)"


def test_gemm_wrong_ndim():
    with pytest.raises(ValueError, match=r"gemm: expected 2-D arrays, got a with shape \(3,\)"):
        _C.gemm(np.zeros(3, np.float32), np.zeros((3, 2), np.float32))
    with pytest.raises(ValueError, match=r"got b with shape \(2, 3, 4\)"):
        _C.gemm(np.zeros((2, 2), np.float32), np.zeros((2, 3, 4), np.float32))


def test_gemm_wrong_dtype():
    with pytest.raises(TypeError, match="gemm: expected float32 arrays, got float64 for a"):
        _C.gemm(np.zeros((2, 2)), np.zeros((2, 2), np.float32))
    with pytest.raises(TypeError, match="got int64 for b"):
        _C.gemm(np.zeros((2, 2), np.float32), np.zeros((2, 2), np.int64))
    with pytest.raises(TypeError, match="float32"):
        _C.gemm(np.zeros((2, 2), ">f4"), np.zeros((2, 2), np.float32))  # big-endian


def test_gemm_negative_stride_rejected():
    a = np.zeros((4, 4), np.float32)
    with pytest.raises(ValueError, match="gemm: negative strides are not supported"):
        _C.gemm(a[::-1], a)
    with pytest.raises(ValueError, match="negative strides"):
        _C.bmm(a[None], a[None, :, ::-1])


def test_gemm_odd_byte_stride_rejected():
    raw = np.zeros(4 * 4 * 4 + 2, np.uint8)
    x = np.lib.stride_tricks.as_strided(raw[1:].view(np.uint8), (3, 3), (5, 1))
    with pytest.raises(TypeError):
        _C.gemm(x, x)  # uint8, not float32
    f = np.zeros((4, 8), np.float32)
    odd = np.lib.stride_tricks.as_strided(f, (3, 3), (6, 4))
    with pytest.raises(ValueError, match="multiples of 4 bytes"):
        _C.gemm(odd, f[:3, :3])


# --- bmm ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bsz,m,k,n", [(1, 1, 1, 1), (3, 5, 7, 9), (8, 17, 33, 65), (2, 129, 257, 130), (5, 0, 3, 4)]
)
def test_bmm_matches_numpy(isa, rng, bsz, m, k, n):
    a, b = rand(rng, bsz, m, k), rand(rng, bsz, k, n)
    out = _C.bmm(a, b)
    assert out.shape == (bsz, m, n) and out.flags.c_contiguous and out.dtype == np.float32
    if out.size:
        assert_gemm_close(out, a, b)
    for i in range(bsz):
        np.testing.assert_array_equal(out[i], _C.gemm(a[i], b[i]))


def test_bmm_zero_batch_and_k(isa):
    out = _C.bmm(np.zeros((0, 3, 4), np.float32), np.zeros((0, 4, 5), np.float32))
    assert out.shape == (0, 3, 5)
    out = _C.bmm(np.ones((2, 3, 0), np.float32), np.ones((2, 0, 5), np.float32))
    np.testing.assert_array_equal(out, np.zeros((2, 3, 5), np.float32))


def test_bmm_broadcast_and_strides(isa, rng):
    w = rand(rng, 33, 47)
    x = rand(rng, 6, 20, 33)
    wb = np.broadcast_to(w, (6, 33, 47))  # batch stride 0
    assert wb.strides[0] == 0
    assert_gemm_close(_C.bmm(x, wb), x, wb)
    xt = np.ascontiguousarray(x.transpose(0, 2, 1)).transpose(0, 2, 1)  # transposed items
    assert_gemm_close(_C.bmm(xt, wb), xt, wb)
    big = rand(rng, 12, 40, 70)
    xs = big[::2, ::2, 1:34]  # strided batch, rows and cols
    assert_gemm_close(_C.bmm(xs, wb), xs, wb)


def test_bmm_big_items_use_threaded_gemm(isa, rng):
    # Above the batch-parallel threshold each item runs the threaded gemm: same answer.
    a, b = rand(rng, 2, 300, 260), rand(rng, 2, 260, 280)
    out = _C.bmm(a, b)
    assert_gemm_close(out, a, b)
    np.testing.assert_array_equal(out[1], _C.gemm(a[1], b[1]))


def test_bmm_threads_agree(isa, rng):
    a, b = rand(rng, 7, 30, 40), rand(rng, 7, 40, 20)
    before = _C.num_threads()
    try:
        _C.set_num_threads(1)
        one = _C.bmm(a, b)
        _C.set_num_threads(2)
        two = _C.bmm(a, b)
    finally:
        _C.set_num_threads(before)
    np.testing.assert_array_equal(one, two)


def test_bmm_errors():
    with pytest.raises(ValueError) as e:
        _C.bmm(np.zeros((3, 2, 2), np.float32), np.zeros((4, 2, 2), np.float32))
    assert str(e.value) == "bmm: batch sizes 3 and 4 differ"
    with pytest.raises(ValueError) as e:
        _C.bmm(np.zeros((3, 2, 5), np.float32), np.zeros((3, 4, 2), np.float32))
    assert str(e.value) == "bmm: shapes (3, 2, 5) and (3, 4, 2) do not align (5 != 4)"
    with pytest.raises(ValueError, match="bmm: expected 3-D arrays"):
        _C.bmm(np.zeros((2, 2), np.float32), np.zeros((2, 2), np.float32))
    with pytest.raises(TypeError, match="bmm: expected float32"):
        _C.bmm(np.zeros((1, 2, 2), np.float16), np.zeros((1, 2, 2), np.float32))


# --- contiguous / transpose2d -------------------------------------------------------------------

DTYPES = [np.float32, np.float64, np.int64, np.bool_, np.int8, np.float16, np.complex64]


def make(rng, shape, dtype):
    if np.dtype(dtype) == np.bool_:
        return rng.integers(0, 2, size=shape).astype(np.bool_)
    if np.dtype(dtype).kind == "c":
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dtype)
    return rng.integers(-100, 100, size=shape).astype(dtype)


def views(rng, dtype):
    """Arrays with every kind of layout the copy kernel must handle."""
    base = make(rng, (37, 70), dtype)
    cube = make(rng, (5, 6, 7, 8), dtype)
    return {
        "0d": np.array(make(rng, (), dtype)),
        "1d": make(rng, (13,), dtype),
        "1d-strided": make(rng, (40,), dtype)[::3],
        "1d-reversed": make(rng, (9,), dtype)[::-1],
        "2d": base,
        "2d.T": base.T,
        "2d-neg": base[::-1, ::-2],
        "2d.T-neg": base.T[::-1],
        "2d-slice": base[3:30:2, 5:60:3],
        "2d-slice.T": base[3:30:2, 5:60:3].T,
        "broadcast-row": np.broadcast_to(base[0], (9, 70)),
        "broadcast-col": np.broadcast_to(base[:, :1], (37, 11)),
        "broadcast-scalar": np.broadcast_to(base[0, 0], (4, 5, 6)),
        "4d": cube,
        "4d-perm": cube.transpose(2, 0, 3, 1),
        "4d-last2.T": cube.transpose(0, 1, 3, 2),
        "4d-neg": cube[::-1, :, ::-2, ::-1],
        "empty": base[:0],
        "empty.T": base[:, :0].T,
        "size1-dims": make(rng, (1, 1, 5, 1), dtype),
        "big.T": make(rng, (130, 97), dtype).T,
    }


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_contiguous_all_layouts(rng, dtype):
    for name, x in views(rng, dtype).items():
        for fn in (_C.contiguous, _C.contiguous_naive):
            out = fn(x)
            assert out.dtype == x.dtype, name
            assert out.shape == x.shape, name
            assert out.flags.c_contiguous, name
            np.testing.assert_array_equal(out, x, err_msg=name)
            if x.size:
                assert not np.shares_memory(out, x), name


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("shape", [(1, 1), (1, 9), (9, 1), (31, 33), (64, 64), (65, 127), (0, 4)])
def test_transpose2d(rng, dtype, shape):
    x = make(rng, shape, dtype)
    for src in (x, x[::-1], x.T.copy().T, x[:, ::-1]):
        for fn in (_C.transpose2d, _C.transpose2d_naive):
            out = fn(src)
            assert out.shape == src.shape[::-1] and out.dtype == src.dtype
            assert out.flags.c_contiguous
            np.testing.assert_array_equal(out, src.T)


@settings(max_examples=60, deadline=None)
@given(
    shape=st.lists(st.integers(0, 9), min_size=0, max_size=5),
    data=st.data(),
    dtype=st.sampled_from([np.uint8, np.int16, np.float32, np.float64]),
)
def test_contiguous_hypothesis(shape, data, dtype):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**31 - 1)))
    steps = [data.draw(st.sampled_from([1, 2, -1, -3])) for _ in shape]
    full = make(rng, [max(1, s * abs(st_)) for s, st_ in zip(shape, steps, strict=True)], dtype)
    x = full[tuple(slice(None, None, st_) for st_ in steps)]
    x = np.asarray(x[tuple(slice(0, s) for s in shape)])  # 0-d indexing gives a scalar
    perm = data.draw(st.permutations(range(len(shape))))
    x = x.transpose(perm)
    out = _C.contiguous(x)
    assert out.flags.c_contiguous and out.shape == x.shape
    np.testing.assert_array_equal(out, x)
    np.testing.assert_array_equal(_C.contiguous_naive(x), x)


def test_contiguous_errors():
    with pytest.raises(TypeError, match="contiguous: unsupported dtype object"):
        _C.contiguous(np.array([1, None], dtype=object))
    with pytest.raises(TypeError, match="unsupported dtype complex128"):
        _C.contiguous(np.zeros(3, np.complex128))
    with pytest.raises(TypeError, match="unsupported dtype"):
        _C.contiguous(np.array(["ab", "c"]))
    with pytest.raises(ValueError, match=r"contiguous: at most 8 dimensions, got shape \(1, 1"):
        _C.contiguous(np.zeros((1,) * 9, np.float32))
    msg = r"transpose2d: expected a 2-D array, got shape \(2, 2, 2\)"
    with pytest.raises(ValueError, match=msg):
        _C.transpose2d(np.zeros((2, 2, 2), np.float32))
    with pytest.raises(ValueError, match="transpose2d_naive: expected a 2-D array"):
        _C.transpose2d_naive(np.zeros(3, np.float32))


def test_contiguous_max_dims(rng):
    x = make(rng, (2,) * 8, np.float32).transpose(7, 6, 5, 4, 3, 2, 1, 0)[::-1]
    np.testing.assert_array_equal(_C.contiguous(x), x)
