"""Can I configure my TinyTorch development environment?

Python and numpy are recent enough, ``tinytorch`` is a namespace package (no foreign
``tinytorch/__init__.py`` shadows it), ``tinytorch.tensor`` imports with its C++ extension, and
the backend switch works.
"""

import sys

import pytest

REQUIRES = ["tinytorch-tensor"]

tt = pytest.importorskip("tinytorch.tensor")


def test_python_and_numpy_versions():
    import numpy as np

    assert sys.version_info >= (3, 10)
    assert tuple(int(x) for x in np.__version__.split(".")[:2]) >= (1, 24)


def test_tinytorch_is_a_namespace_package():
    import tinytorch

    assert getattr(tinytorch, "__file__", None) is None
    assert len(list(tinytorch.__path__)) >= 1


def test_native_extension_loads_and_reports_its_isa():
    from tinytorch.tensor import _C

    assert tt.native_available()
    assert _C.isa() in _C.available_isas()
    assert _C.num_threads() >= 1


def test_backend_switch():
    with tt.use_backend("numpy"):
        assert tt.get_backend() == "numpy"
    with tt.use_backend("native"):
        assert tt.get_backend() == "native"
