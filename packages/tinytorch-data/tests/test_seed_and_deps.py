"""The seed module reuses the one implementation; tinytorch-data depends on the tensor layer only."""

from pathlib import Path


def test_seed_module_reuses_the_implementation():
    import tinytorch.core.dataloader as seed
    import tinytorch.data as data

    assert seed.DataLoader is data.DataLoader


def test_depends_on_tensor_only():
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib
    pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
    deps = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    names = sorted(d.split(">")[0].split("<")[0].split("=")[0].strip() for d in deps)
    assert names == ["numpy", "tinytorch-tensor"]
