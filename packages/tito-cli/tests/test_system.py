"""`tito system info` and `tito system doctor`: their data, their output, their exit codes."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from tito import doctor, sysinfo
from tito.cli import main


def run_tito(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "tito", *args],
        capture_output=True, text=True, env=full_env, timeout=120, check=False,
    )


def installed(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def with_pythonpath(*dirs: Path) -> dict[str, str]:
    parts = [str(d) for d in dirs]
    if os.environ.get("PYTHONPATH"):
        parts.append(os.environ["PYTHONPATH"])
    return {"PYTHONPATH": os.pathsep.join(parts)}


# ----------------------------------------------------------------------------- info


def test_info_json_in_process(capsys):
    assert main(["system", "info", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["python"]["version"] == platform.python_version()
    assert data["python"]["executable"] == sys.executable
    assert data["cpu"]["logical_cores"] == os.cpu_count()
    assert data["cpu"]["isas"][0] == "scalar"
    import numpy as np

    assert data["numpy"]["version"] == np.__version__
    assert data["packages"]["tito-cli"]["version"] == metadata.version("tito-cli")
    assert data["packages"]["tito-cli"]["foreign"] is False


def test_info_reports_the_extension_when_tensor_is_installed(capsys):
    version = installed("tinytorch-tensor")
    if version is None:
        pytest.skip("tinytorch-tensor is not installed")
    assert main(["system", "info", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["packages"]["tinytorch-tensor"]["version"] == version
    ext = data["extension"]
    assert ext["loaded"] is True, ext
    from tinytorch.tensor import _C

    assert ext["isa"] == _C.isa()
    for name in ("available_isas", "num_threads", "has_openmp", "build_info"):
        if hasattr(_C, name):
            value = getattr(_C, name)()
            assert ext[name] == sysinfo.jsonable(value)
        else:
            assert ext[name] == {"error": "not provided"}


def test_info_text_output_subprocess():
    proc = run_tito("system", "info")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert platform.python_version() in out
    assert "tito-cli" in out
    assert "numpy" in out
    assert "tinytorch.tensor._C" in out
    if installed("tinytorch-tensor"):
        assert "tinytorch-tensor" in out


def test_info_survives_a_broken_extension(monkeypatch):
    def boom(name, *args, **kwargs):
        raise ImportError(f"no module named {name!r} (simulated)")

    monkeypatch.setattr(sysinfo.importlib, "import_module", boom)
    data = sysinfo.collect_info()
    assert data["extension"]["loaded"] is False
    assert "simulated" in data["extension"]["error"]
    assert "simulated" in data["backend"]["error"]


# ----------------------------------------------------------------------------- helpers


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("AVX-512", "avx512"), ("avx512f", "avx512"), ("avx512_vnni", "avx512"),
     ("AVX2", "avx2"), ("avx2+fma", "avx2"), ("scalar", "scalar"), ("generic", "scalar"),
     ("neon", "neon"), ("weird", "weird")],
)
def test_normalize_isa(raw, expected):
    assert sysinfo.normalize_isa(raw) == expected


def test_cpu_isas_from_flags():
    if platform.machine().lower() in ("arm64", "aarch64"):
        pytest.skip("x86 flags")
    avx512 = {"avx512f", "avx512bw", "avx512dq", "avx512vl"}
    assert sysinfo.cpu_isas(set()) == ["scalar"]
    assert sysinfo.cpu_isas({"avx2"}) == ["scalar"]  # AVX2 kernels also need FMA
    assert sysinfo.cpu_isas({"avx2", "fma"}) == ["scalar", "avx2"]
    assert sysinfo.cpu_isas({"avx2", "fma", "avx512f"}) == ["scalar", "avx2"]  # no BW/DQ/VL
    assert sysinfo.cpu_isas({"avx2", "fma"} | avx512) == ["scalar", "avx2", "avx512"]


def test_cpu_isas_agree_with_the_extension():
    """Our /proc/cpuinfo reading and the extension's __builtin_cpu_supports agree."""
    ext = sysinfo.extension_info()
    if not ext.get("loaded") or not isinstance(ext.get("available_isas"), list):
        pytest.skip("extension not loaded or does not report available_isas")
    build = ext.get("build_info")
    compiled = build.get("compiled_isas") if isinstance(build, dict) else None
    if not isinstance(compiled, list):
        pytest.skip("extension does not report compiled_isas")
    ours = [i for i in sysinfo.cpu_isas() if i in compiled]
    assert sorted(ours) == sorted(ext["available_isas"])


@pytest.mark.parametrize(
    ("spec", "version", "ok"),
    [(">=0.1,<0.2", "0.1.0", True), (">=0.1,<0.2", "0.1.7", True),
     (">=0.1,<0.2", "0.2.0", False), (">=0.2", "0.1.9", False), ("==0.1.*", "0.1.3", True),
     ("==0.1.*", "0.2.0", False), ("~=0.1.2", "0.1.5", True), ("~=0.1.2", "0.2.0", False),
     ("!=0.1.0", "0.1.0", False), ("==1.0", "1", True), ("", "3.0", True)],
)
def test_simple_version_ranges_agree_with_packaging(spec, version, ok):
    assert doctor._simple_contains(spec, version) is ok
    packaging = pytest.importorskip("packaging.specifiers")
    assert packaging.SpecifierSet(spec).contains(version, prereleases=True) is ok


# ----------------------------------------------------------------------------- doctor


def test_doctor_json_in_process(capsys):
    code = main(["system", "doctor", "--json"])
    data = json.loads(capsys.readouterr().out)
    names = [c["name"] for c in data["checks"]]
    for expected in ("python", "numpy", "namespace", "tinytorch.tensor", "dependencies",
                     "isa", "openblas"):
        assert expected in names
    statuses = {c["status"] for c in data["checks"]}
    assert statuses <= {"pass", "fail", "warn", "info", "skip"}
    failed = [c for c in data["checks"] if c["status"] == "fail"]
    assert data["ok"] is (not failed)
    assert code == (1 if failed else 0)
    for check in failed:
        assert check["fix"], f"failed check {check['name']} has no fix"
    by_name = {c["name"]: c for c in data["checks"]}
    assert by_name["python"]["status"] == "pass"
    assert by_name["numpy"]["status"] == "pass"
    assert by_name["openblas"]["status"] == "info"


def test_doctor_healthy_dev_environment_passes():
    """In the repository's own environment (tools/dev.py setup) nothing fails."""
    if not installed("tinytorch-tensor"):
        pytest.skip("tinytorch-tensor is not installed")
    proc = run_tito("system", "doctor", "--json")
    data = json.loads(proc.stdout)
    failed = [c for c in data["checks"] if c["status"] == "fail"]
    assert not failed, failed
    assert proc.returncode == 0


def test_doctor_text_output():
    proc = run_tito("system", "doctor")
    assert proc.returncode in (0, 1)
    assert "PASS" in proc.stdout and "python" in proc.stdout
    assert ("All checks passed." in proc.stdout) is (proc.returncode == 0)


def test_doctor_detects_shadowing_tinytorch_on_pythonpath(tmp_path):
    shadow = tmp_path / "shadow"
    (shadow / "tinytorch").mkdir(parents=True)
    init = shadow / "tinytorch" / "__init__.py"
    init.write_text("NAME = 'somebody else'\n")
    proc = run_tito("system", "doctor", "--json", env=with_pythonpath(shadow))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    data = json.loads(proc.stdout)
    assert data["ok"] is False
    check = next(c for c in data["checks"] if c["name"] == "namespace")
    assert check["status"] == "fail"
    assert str(init) in check["detail"]
    assert str(init) in check["fix"] and "PYTHONPATH" in check["fix"]

    text = run_tito("system", "doctor", env=with_pythonpath(shadow))
    assert text.returncode == 1
    assert "FAIL" in text.stdout and "namespace" in text.stdout
    assert "check(s) failed" in text.stdout


def test_doctor_detects_shadowing_in_process(tmp_path, monkeypatch):
    (tmp_path / "tinytorch").mkdir()
    init = tmp_path / "tinytorch" / "__init__.py"
    init.write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    check = doctor.check_namespace()
    assert check.status == "fail"
    assert str(init) in check.detail


def _fake_dist(site: Path, name: str, version: str, requires: list[str] = (),
               files: list[str] = ()) -> None:
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    lines += [f"Requires-Dist: {r}" for r in requires]
    (info / "METADATA").write_text("\n".join(lines) + "\n")
    (info / "RECORD").write_text("".join(f"{f},,\n" for f in files))


def test_doctor_names_pypi_tinytorch_as_the_culprit(tmp_path):
    site = tmp_path / "site"
    (site / "tinytorch").mkdir(parents=True)
    (site / "tinytorch" / "__init__.py").write_text("")
    _fake_dist(site, "tinytorch", "0.1.0", files=["tinytorch/__init__.py"])
    proc = run_tito("system", "doctor", "--json", env=with_pythonpath(site))
    assert proc.returncode == 1
    check = next(c for c in json.loads(proc.stdout)["checks"] if c["name"] == "namespace")
    assert check["status"] == "fail"
    assert "unrelated `tinytorch`" in check["detail"]
    assert "pip uninstall tinytorch" in check["fix"]
    info = json.loads(run_tito("system", "info", "--json", env=with_pythonpath(site)).stdout)
    assert info["packages"]["tinytorch"]["foreign"] is True


def test_doctor_detects_unsatisfied_inter_package_range(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    _fake_dist(site, "tinytorch-fake", "0.1.0",
               requires=["tinytorch-tensor>=9,<10", "tinytorch-missing>=0.1",
                         "tinytorch-optional>=1; extra == 'extra'"])
    proc = run_tito("system", "doctor", "--json", env=with_pythonpath(site))
    assert proc.returncode == 1
    check = next(c for c in json.loads(proc.stdout)["checks"] if c["name"] == "dependencies")
    assert check["status"] == "fail"
    assert "tinytorch-missing" in check["detail"]
    assert "tinytorch-optional" not in check["detail"]
    if installed("tinytorch-tensor"):
        assert "tinytorch-tensor>=9,<10" in check["detail"] or (
            "tinytorch-tensor<10,>=9" in check["detail"])
    assert "pip install" in check["fix"]


def test_doctor_rejects_unknown_backend_env():
    proc = run_tito("system", "doctor", "--json", env={"TINYTORCH_BACKEND": "cuda-please"})
    assert proc.returncode == 1
    check = next(c for c in json.loads(proc.stdout)["checks"] if c["name"] == "backend")
    assert check["status"] == "fail" and "numpy" in check["fix"]


def test_doctor_openblas_note_reflects_env():
    proc = run_tito("system", "doctor", "--json", env={"OPENBLAS_CORETYPE": "Haswell"})
    check = next(c for c in json.loads(proc.stdout)["checks"] if c["name"] == "openblas")
    assert check["status"] == "info" and "Haswell" in check["detail"]


def test_isa_check_compares_extension_with_cpu(monkeypatch):
    monkeypatch.setattr(sysinfo, "cpu_isas", lambda flags=None: ["scalar", "avx2", "avx512"])
    monkeypatch.delenv("TINYTORCH_ISA", raising=False)
    all3 = ["avx512", "avx2", "scalar"]

    def ext(isa, available, compiled=all3):
        info = {"loaded": True, "isa": isa, "available_isas": available,
                "build_info": {"compiled_isas": compiled}}
        return lambda: info

    monkeypatch.setattr(sysinfo, "extension_info", ext("avx512", all3))
    assert doctor.check_isa().status == "pass"
    # best runnable kernel not chosen: a bug (or a set_isa call) -> fail with a fix
    monkeypatch.setattr(sysinfo, "extension_info", ext("avx2", all3))
    result = doctor.check_isa()
    assert result.status == "fail" and "avx512" in result.detail and result.fix
    # ... unless the user asked for it
    monkeypatch.setenv("TINYTORCH_ISA", "avx2")
    assert doctor.check_isa().status == "warn"
    monkeypatch.delenv("TINYTORCH_ISA")
    # the build lacks AVX-512 kernels (e.g. an old compiler) -> warn
    monkeypatch.setattr(sysinfo, "extension_info",
                        ext("avx2", ["avx2", "scalar"], ["avx2", "scalar"]))
    assert doctor.check_isa().status == "warn"
    # compiled in, the CPU flags say yes, the runtime check says no (OS disabled it) -> warn
    monkeypatch.setattr(sysinfo, "extension_info", ext("avx2", ["avx2", "scalar"]))
    assert doctor.check_isa().status == "warn"
    # a scalar-only CPU running scalar: pass
    monkeypatch.setattr(sysinfo, "cpu_isas", lambda flags=None: ["scalar"])
    monkeypatch.setattr(sysinfo, "extension_info", ext("scalar", ["scalar"]))
    assert doctor.check_isa().status == "pass"
    monkeypatch.setattr(sysinfo, "extension_info", lambda: {"loaded": False, "error": "x"})
    assert doctor.check_isa().status == "skip"


def test_a_crashing_check_is_reported_not_raised(monkeypatch):
    def broken():
        raise RuntimeError("kaboom")

    monkeypatch.setattr(doctor, "CHECKS", [doctor.check_python, broken])
    results = doctor.run_checks()
    assert results[0].status == "pass"
    assert results[1].status == "fail" and "kaboom" in results[1].detail
