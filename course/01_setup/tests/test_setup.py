"""Module 01 (setup): `tinytorch.tensor.system_info` and `check_python` describe this machine."""

import os
import platform
import sys

import numpy as np
import tinytorch.tensor as tt

KEYS = {
    "python",
    "platform",
    "machine",
    "cpu_count",
    "numpy",
    "backend",
    "native",
    "isa",
    "threads",
}


def test_system_info_has_every_key():
    info = tt.system_info()
    assert isinstance(info, dict)
    assert set(info) == KEYS


def test_system_info_values_match_the_machine():
    info = tt.system_info()
    assert info["python"] == platform.python_version()
    assert info["numpy"] == np.__version__
    assert info["machine"] == platform.machine()
    assert info["cpu_count"] == (os.cpu_count() or 1)
    assert info["native"] is tt.native_available()


def test_system_info_follows_the_backend():
    with tt.use_backend("numpy"):
        assert tt.system_info()["backend"] == "numpy"
    if tt.native_available():
        with tt.use_backend("native"):
            info = tt.system_info()
        assert info["backend"] == "native"
        assert isinstance(info["isa"], str) and info["isa"]
        assert info["threads"] >= 1
    else:
        assert tt.system_info()["isa"] is None


def test_check_python():
    assert tt.check_python((3, 0)) is True
    assert tt.check_python(sys.version_info[:2]) is True
    assert tt.check_python((sys.version_info[0] + 1, 0)) is False
    assert tt.check_python((sys.version_info[0], sys.version_info[1] + 1)) is False
