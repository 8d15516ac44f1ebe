"""The fused C++ optimizer updates (csrc/optim.cpp): native vs numpy backend bit for bit, fast vs
``_naive`` C++, PyTorch, fallbacks, in-place semantics, memory (tracemalloc), bad input."""

import collections
import os
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest
import tinytorch.tensor as tt
from hypothesis import given, settings
from hypothesis import strategies as st
from tinytorch import optim
from tinytorch.optim import _fused
from tinytorch.tensor import Tensor

C = pytest.importorskip("tinytorch.tensor._C")

# Odd sizes, size 1, a 0-d parameter, and sizes past one chunk (16384) and past the threading
# threshold (32768), with remainders, so that chunk edges, SIMD tails and threads are exercised.
SHAPES = [(37, 29), (1,), (), (7,), (3, 5, 2), (70_001,), (16_385,)]

CASES = {
    "sgd": lambda ps: optim.SGD(ps, lr=0.1),
    "sgd_wd": lambda ps: optim.SGD(ps, lr=0.1, weight_decay=0.05),
    "momentum": lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9),
    "dampening_wd": lambda ps: optim.SGD(
        ps, lr=0.05, momentum=0.8, dampening=0.3, weight_decay=0.01
    ),
    "nesterov": lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True),
    "nesterov_wd": lambda ps: optim.SGD(
        ps, lr=0.02, momentum=0.7, nesterov=True, weight_decay=0.02
    ),
    "adam": lambda ps: optim.Adam(ps, lr=0.01),
    "adam_wd": lambda ps: optim.Adam(ps, lr=0.01, weight_decay=0.1, betas=(0.8, 0.99)),
    "amsgrad": lambda ps: optim.Adam(ps, lr=0.01, amsgrad=True),
    "amsgrad_wd": lambda ps: optim.Adam(ps, lr=0.01, amsgrad=True, weight_decay=0.05, eps=1e-6),
    "adamw": lambda ps: optim.AdamW(ps, lr=0.01),
    "adamw_nodecay": lambda ps: optim.AdamW(ps, lr=0.01, weight_decay=0.0),
    "adamw_amsgrad": lambda ps: optim.AdamW(
        ps, lr=0.02, weight_decay=0.3, amsgrad=True, betas=(0.85, 0.98)
    ),
}
KERNEL = {
    "sgd": "sgd_update",
    "momentum": "sgd_update",
    "nesterov": "sgd_update",
    "dampening": "sgd_update",
    "adam": "adam_update",
    "amsgrad": "adam_update",
    "adamw": "adamw_update",
}


def kernel_of(case):
    return KERNEL[case.split("_")[0]]


def make_params(seed=0, shapes=SHAPES, dtype=np.float32):
    rng = np.random.default_rng(seed)
    return [tt.tensor(rng.standard_normal(s).astype(dtype), requires_grad=True) for s in shapes]


def feed(ps, rng):
    # varied scale, so Adam's adaptivity and amsgrad's running max both matter
    for p in ps:
        g = rng.standard_normal(p.shape) * rng.uniform(0.05, 3.0)
        p.grad = tt.tensor(g.astype(p.data.dtype))


class Recorder:
    """Stands in for tinytorch.tensor._C and counts calls to the update kernels."""

    def __init__(self):
        self.calls = collections.Counter()

    def __getattr__(self, name):
        fn = getattr(C, name)
        if not name.endswith("_update"):
            return fn

        def counted(*args, **kwargs):
            self.calls[name] += 1
            return fn(*args, **kwargs)

        return counted


@pytest.fixture
def recorder(monkeypatch):
    rec = Recorder()
    real = _fused.kernels
    monkeypatch.setattr(_fused, "kernels", lambda: rec if real() is not None else None)
    return rec


def run(case, backend, steps, seed=0, shapes=SHAPES, dtype=np.float32):
    ps = make_params(seed, shapes, dtype)
    opt = CASES[case](ps)
    rng = np.random.default_rng(seed + 1)
    with tt.use_backend(backend):
        for _ in range(steps):
            feed(ps, rng)
            opt.step()
    return ps, opt


def assert_same_state(opt_a, ps_a, opt_b, ps_b):
    for pa, pb in zip(ps_a, ps_b, strict=True):
        np.testing.assert_array_equal(pa.numpy(), pb.numpy())
        sa, sb = opt_a.state.get(id(pa), {}), opt_b.state.get(id(pb), {})
        assert sa.keys() == sb.keys()
        for k in sa:
            np.testing.assert_array_equal(sa[k], sb[k], err_msg=k)


# ------------------------------------------------------------------ native == numpy, exactly


@pytest.mark.parametrize("case", CASES)
def test_native_matches_numpy_bit_for_bit_over_many_steps(case, recorder):
    ps_n, opt_n = run(case, "native", steps=40)
    assert recorder.calls[kernel_of(case)] == 40 * len(SHAPES)  # the kernel did every update
    ps_r, opt_r = run(case, "numpy", steps=40)
    assert sum(recorder.calls.values()) == 40 * len(SHAPES)  # and the numpy backend none
    assert_same_state(opt_n, ps_n, opt_r, ps_r)


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("case", ["nesterov_wd", "amsgrad_wd", "adamw"])
def test_native_matches_numpy_for_any_thread_count(case, threads):
    before = C.num_threads()
    C.set_num_threads(threads)
    try:
        ps_n, opt_n = run(case, "native", steps=5, shapes=[(100_003,)])
    finally:
        C.set_num_threads(before)
    ps_r, opt_r = run(case, "numpy", steps=5, shapes=[(100_003,)])
    assert_same_state(opt_n, ps_n, opt_r, ps_r)


@pytest.mark.parametrize("case", ["momentum", "amsgrad", "adamw_amsgrad"])
def test_nan_and_inf_propagate_as_in_numpy(case):
    def poisoned(backend):
        ps = make_params(3, [(9,), (40_000,)])
        opt = CASES[case](ps)
        rng = np.random.default_rng(4)
        with tt.use_backend(backend), np.errstate(all="ignore"):
            for k in range(6):
                feed(ps, rng)
                for p in ps:
                    g = p.grad.data
                    g[k % 3] = np.nan if k % 2 else np.inf  # a NaN or inf gradient element
                    g[-1] = -np.inf
                opt.step()
        return ps, opt

    ps_n, opt_n = poisoned("native")
    ps_r, opt_r = poisoned("numpy")
    assert np.isnan(ps_n[0].numpy()).any()  # the poison did reach the parameters
    assert_same_state(opt_n, ps_n, opt_r, ps_r)


def test_param_groups_and_skipped_grads_match_numpy():
    def go(backend):
        ps = make_params(5, [(64, 3), (5,), (20_000,)])
        opt = optim.Adam(
            [
                {"params": [ps[0], ps[2]], "lr": 0.05, "weight_decay": 0.1},
                {"params": [ps[1]], "lr": 0.001, "amsgrad": True},
            ]
        )
        rng = np.random.default_rng(6)
        with tt.use_backend(backend):
            for k in range(12):
                feed(ps, rng)
                if k % 3 == 0:
                    ps[2].grad = None  # skipped this step: state untouched
                opt.step()
        return ps, opt

    ps_n, opt_n = go("native")
    ps_r, opt_r = go("numpy")
    assert_same_state(opt_n, ps_n, opt_r, ps_r)
    assert opt_n.state[id(ps_n[2])]["step"] == 8


@pytest.mark.parametrize("case", ["nesterov_wd", "amsgrad_wd", "adamw"])
def test_state_dict_moves_between_backends(case):
    full, opt_full = run(case, "native", steps=10)
    # 5 steps on the numpy backend, saved, restored into a fresh optimizer, 5 more natively
    ps = make_params()
    opt = CASES[case](ps)
    rng = np.random.default_rng(1)
    with tt.use_backend("numpy"):
        for _ in range(5):
            feed(ps, rng)
            opt.step()
    sd = opt.state_dict()
    opt2 = CASES[case](ps)
    opt2.load_state_dict(sd)
    with tt.use_backend("native"):
        for _ in range(5):
            feed(ps, rng)
            opt2.step()
    assert_same_state(opt2, ps, opt_full, full)


# ------------------------------------------------------------------ fast C++ == naive C++


def random_operands(shape, seed, amsgrad=True):
    rng = np.random.default_rng(seed)

    def arr(scale=1.0):
        return np.asarray(rng.standard_normal(shape) * scale, dtype=np.float32)

    p, g, b, m = arr(), arr(2.0), arr(), arr(0.1)
    v = np.asarray(np.abs(arr(0.1)))
    vmax = np.asarray(np.maximum(v, np.abs(arr(0.1)))) if amsgrad else None
    return p, g, b, m, v, vmax


def copies(*xs):
    return [None if x is None else x.copy() for x in xs]


SIZES = [0, 1, 3, 15, 16, 17, 255, 256, 257, 1000, 16_384, 16_385, 40_001, 100_000]


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize(
    "kw",
    [
        dict(lr=0.1),
        dict(lr=0.1, weight_decay=0.01),
        dict(lr=0.05, momentum=0.9, init_buffer=True),
        dict(lr=0.05, momentum=0.9, dampening=0.2, weight_decay=0.1),
        dict(lr=0.05, momentum=0.9, nesterov=True, init_buffer=True, weight_decay=0.1),
        dict(lr=0.05, momentum=0.9, nesterov=True),
    ],
)
def test_sgd_fast_matches_naive(n, kw):
    p, g, b, *_ = random_operands((n,), n)
    p2, g2, b2 = copies(p, g, b)
    buf, buf2 = (b, b2) if kw.get("momentum") else (None, None)
    C.sgd_update(p, g, buf, **kw)
    C.sgd_update_naive(p2, g2, buf2, **kw)
    np.testing.assert_array_equal(p, p2)
    np.testing.assert_array_equal(b, b2)
    np.testing.assert_array_equal(g, g2)  # the gradient is only read


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("name", ["adam_update", "adamw_update"])
@pytest.mark.parametrize("amsgrad", [False, True])
@pytest.mark.parametrize("weight_decay", [0.0, 0.05])
def test_adam_fast_matches_naive(n, name, amsgrad, weight_decay):
    ops = random_operands((n,), n + 7, amsgrad)
    p, g, _, m, v, vmax = ops
    p2, g2, _, m2, v2, vmax2 = copies(*ops)
    kw = dict(step=3, lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=weight_decay)
    getattr(C, name)(p, g, m, v, vmax, **kw)
    getattr(C, name + "_naive")(p2, g2, m2, v2, vmax2, **kw)
    for a, b in zip([p, m, v, vmax], [p2, m2, v2, vmax2], strict=True):
        if a is not None:
            np.testing.assert_array_equal(a, b)


@settings(max_examples=60, deadline=None)
@given(
    shape=st.lists(st.integers(0, 40), min_size=0, max_size=3).map(tuple),
    kind=st.sampled_from(["sgd", "adam", "adamw"]),
    wd=st.sampled_from([0.0, 1e-4, 0.5]),
    flag=st.booleans(),
    step=st.integers(1, 10_000),
    lr=st.floats(1e-5, 1.0),
    beta=st.floats(0.0, 0.999),
    seed=st.integers(0, 2**16),
)
def test_fast_matches_naive_property(shape, kind, wd, flag, step, lr, beta, seed):
    ops = random_operands(shape, seed, amsgrad=flag)
    p, g, b, m, v, vmax = ops
    p2, g2, b2, m2, v2, vmax2 = copies(*ops)
    if kind == "sgd":
        kw = dict(lr=lr, momentum=beta, weight_decay=wd, nesterov=flag and beta > 0)
        C.sgd_update(p, g, b, **kw)
        C.sgd_update_naive(p2, g2, b2, **kw)
        pairs = [(p, p2), (b, b2)]
    else:
        kw = dict(step=step, lr=lr, beta1=beta, beta2=0.999, eps=1e-8, weight_decay=wd)
        getattr(C, f"{kind}_update")(p, g, m, v, vmax, **kw)
        getattr(C, f"{kind}_update_naive")(p2, g2, m2, v2, vmax2, **kw)
        pairs = [(p, p2), (m, m2), (v, v2)] + ([(vmax, vmax2)] if flag else [])
    for a, c in pairs:
        np.testing.assert_array_equal(a, c)


@settings(max_examples=60, deadline=None)
@given(
    kind=st.sampled_from(["sgd", "adam", "adamw"]),
    lr=st.floats(1e-6, 2.0),
    beta1=st.floats(0.0, 0.999),
    beta2=st.floats(0.0, 0.9999),
    eps=st.floats(1e-12, 1e-2),
    wd=st.sampled_from([0.0, 1e-5, 0.1, 0.7]),
    flag=st.booleans(),
    dampening=st.floats(0.0, 1.0),
    start=st.integers(0, 100_000),
    n=st.integers(1, 300),
)
def test_native_matches_numpy_for_any_hyperparameters(
    kind, lr, beta1, beta2, eps, wd, flag, dampening, start, n
):
    # the coefficients (1 - dampening, lr / (1 - beta1**t), sqrt(1 - beta2**t), 1 - lr * wd)
    # come out of C++ exactly as out of Python, at any step count t
    def go(backend):
        ps = make_params(n, [(n,)])
        if kind == "sgd":
            nesterov = flag and dampening == 0
            opt = optim.SGD(
                ps, lr=lr, momentum=beta1, dampening=dampening, weight_decay=wd, nesterov=nesterov
            )
        else:
            make = optim.Adam if kind == "adam" else optim.AdamW
            opt = make(ps, lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=wd, amsgrad=flag)
        rng = np.random.default_rng(n)
        with tt.use_backend("numpy"):
            feed(ps, rng)
            opt.step()  # identical state on both sides, then the step count jumps ahead
        for state in opt.state.values():
            if "step" in state:
                state["step"] += start
        with tt.use_backend(backend), np.errstate(all="ignore"):
            for _ in range(3):
                feed(ps, rng)
                opt.step()
        return ps, opt

    ps_n, opt_n = go("native")
    ps_r, opt_r = go("numpy")
    assert_same_state(opt_n, ps_n, opt_r, ps_r)


# ------------------------------------------------------------------ PyTorch


@pytest.mark.parametrize(
    "ours, theirs",
    [
        ("dampening_wd", dict(lr=0.05, momentum=0.8, dampening=0.3, weight_decay=0.01)),
        ("nesterov_wd", dict(lr=0.02, momentum=0.7, nesterov=True, weight_decay=0.02)),
        ("amsgrad_wd", dict(lr=0.01, amsgrad=True, weight_decay=0.05, eps=1e-6)),
        ("adamw_amsgrad", dict(lr=0.02, weight_decay=0.3, amsgrad=True, betas=(0.85, 0.98))),
    ],
)
def test_native_matches_torch_over_a_few_steps(ours, theirs, recorder):
    torch = pytest.importorskip("torch")
    shapes = [(50, 30), (1,), (40_000,)]
    ps = make_params(shapes=shapes)
    qs = [torch.tensor(p.numpy().copy(), requires_grad=True) for p in ps]
    opt = CASES[ours](ps)
    kind = ours.split("_")[0]
    make = {"dampening": torch.optim.SGD, "nesterov": torch.optim.SGD, "amsgrad": torch.optim.Adam}
    opt_t = make.get(kind, torch.optim.AdamW)(qs, **theirs)
    rng = np.random.default_rng(2)
    with tt.use_backend("native"):
        for k in range(5):
            feed(ps, rng)
            for p, q in zip(ps, qs, strict=True):
                q.grad = torch.tensor(p.grad.numpy())
            opt.step()
            opt_t.step()
            for p, q in zip(ps, qs, strict=True):
                np.testing.assert_allclose(
                    p.numpy(), q.detach().numpy(), rtol=2e-5, atol=2e-6, err_msg=f"step {k}"
                )
    assert recorder.calls[kernel_of(ours)] == 5 * len(shapes)


# ------------------------------------------------------------------ fallbacks and backend switch


@pytest.mark.parametrize("case", ["nesterov_wd", "amsgrad_wd", "adamw"])
def test_float64_parameters_take_the_numpy_path(case, recorder):
    ps_n, opt_n = run(case, "native", steps=6, dtype=np.float64)
    assert not recorder.calls
    assert all(p.data.dtype == np.float64 for p in ps_n)
    ps_r, opt_r = run(case, "numpy", steps=6, dtype=np.float64)
    assert_same_state(opt_n, ps_n, opt_r, ps_r)


@pytest.mark.parametrize("case", ["momentum", "amsgrad", "adamw"])
def test_non_contiguous_params_and_grads_take_the_numpy_path(case, recorder):
    def go(backend):
        rng = np.random.default_rng(8)
        base = rng.standard_normal((30, 20)).astype(np.float32)
        w_t = Tensor(base.T, requires_grad=True)  # a transposed view: not C-contiguous
        dense = tt.tensor(rng.standard_normal((6, 5)).astype(np.float32), requires_grad=True)
        opt = CASES[case]([w_t, dense])
        with tt.use_backend(backend):
            for _ in range(4):
                w_t.grad = tt.tensor(rng.standard_normal((20, 30)).astype(np.float32))
                g = rng.standard_normal((5, 6)).astype(np.float32)
                dense.grad = Tensor(g.T)  # a non-contiguous gradient
                opt.step()
        return [w_t, dense], opt

    assert not go("native")[0][0].data.flags.c_contiguous
    ps_n, opt_n = go("native")
    assert not recorder.calls
    ps_r, opt_r = go("numpy")
    assert_same_state(opt_n, ps_n, opt_r, ps_r)


def test_numpy_backend_never_calls_the_kernels(recorder):
    with tt.use_backend("numpy"):
        assert _fused.kernels() is None
        run("adamw", "numpy", steps=2)
    assert not recorder.calls
    run("adamw", "native", steps=2)
    assert recorder.calls["adamw_update"] == 2 * len(SHAPES)


def test_tinytorch_backend_environment_variable_selects_numpy():
    code = (
        "from tinytorch.optim import _fused; from tinytorch.tensor import backend; "
        "print(backend.get_backend(), _fused.kernels() is None)"
    )
    env = dict(os.environ, TINYTORCH_BACKEND="numpy")
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["numpy", "True"]


# ------------------------------------------------------------------ in place, state, memory


@pytest.mark.parametrize("case", ["nesterov_wd", "amsgrad_wd", "adamw"])
def test_updates_in_place_keep_arrays_views_and_state_objects(case, recorder):
    ps = make_params(shapes=[(8, 5), (40_000,)])
    arrays = [p.data for p in ps]
    views = [p.data.reshape(-1)[::3] for p in ps]  # views into the parameters' memory
    opt = CASES[case](ps)
    rng = np.random.default_rng(0)
    feed(ps, rng)
    with tt.use_backend("native"):
        opt.step()
    state_arrays = {
        (i, k): v
        for i, p in enumerate(ps)
        for k, v in opt.state[id(p)].items()
        if isinstance(v, np.ndarray)
    }
    grads = [p.grad.numpy().copy() for p in ps]
    with tt.use_backend("native"):
        opt.step()
    assert all(p.data is a for p, a in zip(ps, arrays, strict=True))
    for p, view in zip(ps, views, strict=True):
        np.testing.assert_array_equal(view, p.data.reshape(-1)[::3])  # the view saw the update
    for (i, k), v in state_arrays.items():
        assert opt.state[id(ps[i])][k] is v  # state updated in place, never replaced
    for p, g in zip(ps, grads, strict=True):
        np.testing.assert_array_equal(p.grad.numpy(), g)  # the gradient is only read
    assert recorder.calls[kernel_of(case)] == 2 * len(ps)


def test_state_bytes_on_the_native_path():
    ps = make_params(shapes=[(300, 7), (7,)])
    param_bytes = sum(p.nbytes for p in ps)
    for make, factor in [
        (lambda: optim.SGD(ps, lr=0.1), 0),
        (lambda: optim.SGD(ps, lr=0.1, momentum=0.9), 1),
        (lambda: optim.Adam(ps), 2),
        (lambda: optim.AdamW(ps), 2),
        (lambda: optim.Adam(ps, amsgrad=True), 3),
    ]:
        opt = make()
        feed(ps, np.random.default_rng(0))
        with tt.use_backend("native"):
            opt.step()
            opt.step()
        assert opt.state_bytes() == factor * param_bytes


def peak_step_bytes(opt):
    """Peak bytes allocated (numpy arrays included: numpy reports to tracemalloc) in one step."""
    tracemalloc.start()
    try:
        opt.step()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize(
    "case", ["sgd_wd", "dampening_wd", "nesterov_wd", "adam_wd", "amsgrad_wd", "adamw"]
)
def test_native_step_allocates_no_parameter_sized_temporaries(case):
    shapes = [(400, 250), (250,), (250, 400), (400,)]  # 200,650 parameters, 0.8 MB
    peaks = {}
    for backend in ("native", "numpy"):
        ps = make_params(shapes=shapes)
        param_bytes = sum(p.nbytes for p in ps)
        opt = CASES[case](ps)
        feed(ps, np.random.default_rng(0))
        with tt.use_backend(backend):
            opt.step()  # the first step creates the state (1x-3x the parameters: not temporaries)
            peaks[backend] = peak_step_bytes(opt)
    assert peaks["native"] < 0.05 * param_bytes, peaks
    # the same measurement does see the numpy path's temporaries (so it can fail)
    assert peaks["numpy"] > 0.5 * param_bytes, peaks


# ------------------------------------------------------------------ bad input


def test_bad_input_raises_value_errors_naming_the_op_and_shapes():
    p, g, b, m, v, _ = random_operands((4, 3), 0)
    adam_kw = dict(step=1, lr=0.1, beta1=0.9, beta2=0.99, eps=1e-8)
    before = p.copy()
    with pytest.raises(ValueError, match=r"sgd_update: grad has shape \(3, 4\), param has shape"):
        C.sgd_update(p, g.T.copy(), lr=0.1)
    with pytest.raises(ValueError, match=r"sgd_update: grad must be a C-contiguous float32 array"):
        C.sgd_update(p, g.astype(np.float64), lr=0.1)
    with pytest.raises(ValueError, match=r"not C-contiguous\) of shape \(4, 3\)"):
        C.sgd_update(p, np.ascontiguousarray(g.T).T, lr=0.1)
    with pytest.raises(ValueError, match=r"sgd_update: momentum=0.9.* needs a momentum_buffer"):
        C.sgd_update(p, g, lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match=r"adam_update: exp_avg_sq has shape \(12,\), param"):
        C.adam_update(p, g, m, v.reshape(-1), **adam_kw)
    with pytest.raises(ValueError, match=r"adamw_update: param must be a C-contiguous float32"):
        C.adamw_update(p.astype(np.float64), g, m, v, **adam_kw)
    with pytest.raises(ValueError, match=r"adam_update_naive: step must be >= 1"):
        C.adam_update_naive(p, g, m, v, **{**adam_kw, "step": 0})
    with pytest.raises(ValueError, match=r"adam_update: exp_avg and exp_avg_sq overlap"):
        C.adam_update(p, g, m, m, **adam_kw)
    frozen = b.copy()
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match=r"momentum_buffer of shape \(4, 3\) is read-only"):
        C.sgd_update(p, g, frozen, lr=0.1, momentum=0.9)
    np.testing.assert_array_equal(p, before)  # nothing was written by a rejected call
