"""The dispatch point: backend choice (switch, context, env var), hooks, Op, backward engine."""

from __future__ import annotations

import contextvars
import os
import subprocess
import sys
import threading

import numpy as np
import pytest
import tinytorch.tensor as tt
from tinytorch.tensor import dispatch
from tinytorch.tensor.ops.elementwise import Add, Clip, Compare
from tinytorch.tensor.ops.reduce import Sum
from tinytorch.tensor.ops.shape import Reshape


@pytest.fixture
def recorded():
    """Registers a hook that records (op name, inputs, output) for every op; removes it after."""
    calls = []
    handle = dispatch.add_hook(lambda op, inputs, output: calls.append((op.name, inputs, output)))
    yield calls
    handle.remove()


# ----------------------------------------------------------------------- backend


def test_backends_and_availability():
    assert tt.BACKENDS == ("native", "numpy")
    assert tt.native_available() is True  # the extension is built with the package
    assert tt.backend.native() is not None


def test_use_backend_sets_and_restores():
    before = tt.get_backend()
    with tt.use_backend("numpy"):
        assert tt.get_backend() == "numpy"
        with tt.use_backend("native"):
            assert tt.get_backend() == "native"
        assert tt.get_backend() == "numpy"
    assert tt.get_backend() == before


def test_use_backend_restores_after_an_exception():
    before = tt.get_backend()
    with pytest.raises(ZeroDivisionError):
        with tt.use_backend("numpy"):
            _ = 1 / 0
    assert tt.get_backend() == before


def test_set_backend():
    before = tt.get_backend()
    try:
        tt.set_backend("numpy")
        assert tt.get_backend() == "numpy"
        tt.set_backend("native")
        assert tt.get_backend() == "native"
    finally:
        tt.set_backend(before)


@pytest.mark.parametrize("name", ["cuda", "Numpy", "", None])
def test_invalid_backend_names(name):
    before = tt.get_backend()
    message = "set_backend: unknown backend .*choose one of native, numpy"
    with pytest.raises(ValueError, match=message):
        tt.set_backend(name)
    with pytest.raises(ValueError, match="use_backend: unknown backend"):
        with tt.use_backend(name):
            pass
    assert tt.get_backend() == before


def test_backend_is_per_thread():
    seen = []
    with tt.use_backend("numpy"):
        thread = threading.Thread(target=lambda: seen.append(tt.get_backend()))
        thread.start()
        thread.join()
        assert tt.get_backend() == "numpy"
    default = contextvars.Context().run(tt.get_backend)  # the import-time choice
    assert seen == [default]  # a new thread starts from the default, not from this context


def test_the_backend_picks_the_implementation(backend):
    class Probe(dispatch.Op):
        name = "probe"

        def forward(self, x):
            return np.full_like(x, 1.0)

        def native(self, x):
            return np.full_like(x, 2.0)

    out = dispatch.apply(Probe(), tt.zeros(2))
    assert out.tolist() == ([2.0, 2.0] if backend == "native" else [1.0, 1.0])


def test_native_returning_none_falls_back_to_forward(backend):
    class Fallback(dispatch.Op):
        name = "fallback"

        def forward(self, x):
            return x + 1

    assert dispatch.apply(Fallback(), tt.zeros(2)).tolist() == [1.0, 1.0]


def test_op_without_forward():
    with pytest.raises(NotImplementedError, match="Op.forward"):
        dispatch.apply(dispatch.Op(), tt.zeros(1))


def _backend_in_subprocess(value):
    env = {k: v for k, v in os.environ.items() if k != "TINYTORCH_BACKEND"}
    if value is not None:
        env["TINYTORCH_BACKEND"] = value
    return subprocess.run(
        [sys.executable, "-c", "import tinytorch.tensor as tt; print(tt.get_backend())"],
        env=env, capture_output=True, text=True, timeout=60,
    )


@pytest.mark.parametrize(
    "value, expected",
    [(None, "native"), ("", "native"), ("numpy", "numpy"), (" NumPy ", "numpy"),
     ("native", "native")],
)
def test_env_var_chooses_the_backend_at_import(value, expected):
    result = _backend_in_subprocess(value)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


def test_env_var_with_an_unknown_backend_fails_at_import():
    result = _backend_in_subprocess("cuda")
    assert result.returncode != 0
    assert "ValueError: TINYTORCH_BACKEND: unknown backend 'cuda'" in result.stderr


# ------------------------------------------------------------------------- hooks


def test_hook_sees_name_inputs_and_output(recorded, backend):
    a, b = tt.ones(2, 3), tt.ones(3, 4)
    out = a @ b
    assert len(recorded) == 1
    name, inputs, output = recorded[0]
    assert name == "matmul" and inputs == (a, b) and output is out
    assert inputs[0] is a and inputs[1] is b


def test_hook_sees_every_op_in_a_chain(recorded, backend):
    x = tt.arange(6).reshape(2, 3)  # int64: the * 0.5 below casts first
    y = (x * 0.5).sum(axis=0)
    z = y[1:]
    w = z.exp() > 1.0
    names = [name for name, _, _ in recorded]
    assert names == ["reshape", "cast", "mul", "sum", "getitem", "exp", "gt"]
    assert recorded[-1][2] is w
    # each op's output is the next op's input
    assert recorded[2][1][0] is recorded[1][2]  # mul reads the cast's output
    assert recorded[3][1][0] is recorded[2][2]  # sum reads mul's output


@pytest.mark.parametrize(
    "expr, name",
    [
        (lambda x: x + x, "add"), (lambda x: x - 1.0, "sub"), (lambda x: x * x, "mul"),
        (lambda x: x / 2.0, "div"), (lambda x: x**2, "pow"), (lambda x: -x, "neg"),
        (lambda x: x.exp(), "exp"), (lambda x: x.log(), "log"), (lambda x: x.sqrt(), "sqrt"),
        (lambda x: abs(x), "abs"), (lambda x: x.clip(0, 1), "clip"),
        (lambda x: x.maximum(x), "maximum"), (lambda x: x.minimum(x), "minimum"),
        (lambda x: x == x, "eq"), (lambda x: x != x, "ne"), (lambda x: x < x, "lt"),
        (lambda x: x <= x, "le"), (lambda x: x > x, "gt"), (lambda x: x >= x, "ge"),
        (lambda x: tt.where(x > 0, x, x), "where"), (lambda x: x.double(), "cast"),
        (lambda x: x.sum(), "sum"), (lambda x: x.mean(), "mean"), (lambda x: x.max(), "max"),
        (lambda x: x.min(), "min"), (lambda x: x.argmax(), "argmax"),
        (lambda x: x.argmin(), "argmin"), (lambda x: x.var(), "var"), (lambda x: x.any(), "any"),
        (lambda x: x.all(), "all"), (lambda x: x.reshape(3, 2), "reshape"),
        (lambda x: x.view(6), "reshape"), (lambda x: x.T, "permute"),
        (lambda x: x.transpose(0, 1), "permute"), (lambda x: x[:1].expand(4, 3), "broadcast_to"),
        (lambda x: tt.cat([x, x]), "concatenate"), (lambda x: x[0], "getitem"),
        (lambda x: x @ x.T, "matmul"), (lambda x: x.T.contiguous(), "contiguous"),
        (lambda x: x.clone(), "contiguous"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_every_op_reaches_the_hook(expr, name, recorded, backend):
    out = expr(tt.rand(2, 3, generator=tt.Generator(seed=0)) + 0.5)
    assert name in [n for n, _, _ in recorded]
    assert recorded[-1][2] is out


def test_setitem_reaches_the_hook(recorded, backend):
    x = tt.zeros(3)
    x[1] = 2.0
    name, inputs, output = recorded[-1]
    assert name == "setitem" and inputs[0] is x and output.shares_memory(x)


def test_hooks_run_in_order_and_can_be_removed(backend):
    order = []
    first = dispatch.add_hook(lambda op, inputs, out: order.append("first"))
    second = dispatch.add_hook(lambda op, inputs, out: order.append("second"))
    try:
        tt.ones(2) + 1.0
        assert order == ["first", "second"]
        first.remove()
        tt.ones(2) + 1.0
        assert order == ["first", "second", "second"]
        first.remove()  # removing twice is harmless
    finally:
        first.remove()
        second.remove()
    tt.ones(2) + 1.0
    assert order == ["first", "second", "second"]


def test_creation_functions_are_not_ops(recorded):
    tt.zeros(2), tt.tensor([1.0]), tt.rand(2), tt.arange(3)
    assert recorded == []


# ----------------------------------------------------------------------- Op repr


@pytest.mark.parametrize(
    "op, text",
    [
        (Add(), "Add()"),
        (Clip(0, 1.5), "Clip(low=0, high=1.5)"),
        (Compare("lt"), "Compare(name='lt')"),
        (Sum((0, 2), True), "Sum(axis=(0, 2), keepdims=True)"),
        (Reshape((2, 3)), "Reshape(shape=(2, 3))"),
    ],
)
def test_op_repr_shows_its_attributes(op, text):
    assert repr(op) == text


def test_ops_seen_by_hooks_carry_their_attributes(backend):
    ops = []
    handle = dispatch.add_hook(lambda op, inputs, out: ops.append(op))
    try:
        tt.ones(2, 3).sum(axis=-1, keepdims=True)
    finally:
        handle.remove()
    assert repr(ops[-1]) == "Sum(axis=(1,), keepdims=True)"


# --------------------------------------------------------------- backward engine


@pytest.fixture
def no_engine():
    saved = dispatch.backward_engine()
    dispatch.set_backward_engine(None)
    yield
    dispatch.set_backward_engine(saved)


def test_backward_without_an_engine(no_engine):
    with pytest.raises(RuntimeError, match="tinytorch-autograd"):
        tt.ones(1, requires_grad=True).backward()


def test_backward_calls_the_installed_engine(no_engine):
    calls = []
    dispatch.set_backward_engine(
        lambda tensor, grad, create_graph=False: calls.append((tensor, grad, create_graph)))
    x = tt.ones(1, requires_grad=True)
    g = tt.ones(1)
    x.backward(g)
    x.backward()
    x.backward(create_graph=True)
    assert calls == [(x, g, False), (x, None, False), (x, None, True)]
    assert dispatch.backward_engine() is not None
    dispatch.set_backward_engine(None)
    with pytest.raises(RuntimeError, match="tinytorch-autograd"):
        x.backward()


# ------------------------------------------------------- which kernels really run


@pytest.fixture
def kernel_calls(monkeypatch):
    """Wraps _C.gemm, _C.bmm and _C.contiguous so that a test sees which of them ran."""
    from tinytorch.tensor import _C

    calls = []
    for name in ("gemm", "bmm", "contiguous"):
        real = getattr(_C, name)
        monkeypatch.setattr(_C, name, lambda *a, _real=real, _name=name: calls.append(_name) or _real(*a))
    return calls


@pytest.mark.parametrize(
    "run, native_kernel",
    [
        (lambda: tt.ones(4, 3) @ tt.ones(3, 2), "gemm"),
        (lambda: tt.ones(5, 4, 3) @ tt.ones(3, 2), "gemm"),  # batch folded into M
        (lambda: tt.ones(5, 4, 3) @ tt.ones(5, 3, 2), "bmm"),
        (lambda: tt.ones(4, 3).T.contiguous(), "contiguous"),
    ],
)
def test_native_backend_runs_the_kernel_and_numpy_backend_does_not(kernel_calls, run, native_kernel):
    with tt.use_backend("native"):
        run()
    assert kernel_calls == [native_kernel]
    kernel_calls.clear()
    with tt.use_backend("numpy"):
        run()
    assert kernel_calls == []


def test_float64_matmul_uses_the_numpy_reference_on_either_backend(kernel_calls):
    with tt.use_backend("native"):
        out = tt.ones(4, 3, dtype="float64") @ tt.ones(3, 2, dtype="float64")
    assert kernel_calls == [] and out.dtype == np.float64


def test_pre_hooks_run_before_the_op_and_can_refuse_it():
    seen = []

    def refuse_setitem(op, inputs):
        seen.append(op.name)
        if op.name == "setitem":
            raise RuntimeError("refused")

    handle = dispatch.add_pre_hook(refuse_setitem)
    try:
        x = tt.zeros(3)
        y = x + 1
        with pytest.raises(RuntimeError, match="refused"):
            x[0] = 5.0
    finally:
        handle.remove()
    assert seen == ["add", "setitem"]
    assert x.tolist() == [0.0, 0.0, 0.0] and y.tolist() == [1.0, 1.0, 1.0]  # nothing written
    x[0] = 5.0  # removed: writes again
    assert x.tolist() == [5.0, 0.0, 0.0]
