"""The benchmark suite runs: every case at toy sizes, its JSON has the columns and numbers.

Each case runs as ``benchmarks/run.py <case> --quick --tiny`` in a subprocess (``--tiny`` is
the runner's hidden smoke-test mode: toy shapes, one round). Speed is never asserted: only that
each case produces its table, with positive timings, and the TinyTorch-vs-PyTorch columns
filled exactly when PyTorch is installed. The whole file takes about 30 s on 2 cores.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
RUN = ROOT / "benchmarks" / "run.py"
HAVE_TORCH = importlib.util.find_spec("torch") is not None


def load_runner():
    spec = importlib.util.spec_from_file_location("_bench_runner", RUN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


runner = load_runner()

TIMED = ["tinytorch native ms", "tinytorch numpy ms"]
TORCH_TIMED = ["torch ms", "native / torch"]
# case: (columns, columns that hold a positive number in every row, the same for PyTorch)
EXPECTED = {
    "gemm": (["impl", "N=64 GFLOP/s", "N=128 GFLOP/s"], ["N=64 GFLOP/s"], []),
    "conv": (
        ["shape", *TIMED, "torch ms", "native / torch", "numpy / torch", "numpy / native"],
        [*TIMED, "numpy / native"],
        [*TORCH_TIMED, "numpy / torch"],
    ),
    "cnn_step": (
        ["phase", *TIMED, "torch ms", "native / torch", "numpy / native"],
        [*TIMED, "numpy / native"],
        TORCH_TIMED,
    ),
    "resnet_step": (
        ["phase", *TIMED, "torch ms", "native / torch", "numpy / native"],
        [*TIMED, "numpy / native"],
        TORCH_TIMED,
    ),
    "attention": (
        [
            "T",
            *TIMED,
            "torch ms",
            "native / torch",
            "numpy / native",
            "native x T=16",
            "torch x T=16",
            "(T/16)^2",
        ],
        [*TIMED, "numpy / native", "native x T=16", "(T/16)^2"],
        [*TORCH_TIMED, "torch x T=16"],
    ),
    "dataloader": (
        [
            "loader",
            "images/s (loop only)",
            "ms / batch",
            "images/s, 2 ms/batch consumer",
            "loop only vs tinytorch prefetch 0",
        ],
        [
            "images/s (loop only)",
            "ms / batch",
            "images/s, 2 ms/batch consumer",
            "loop only vs tinytorch prefetch 0",
        ],
        [],
    ),
    "optim_memory": (
        [
            "optimizer",
            "impl",
            "params MB",
            "state MB",
            "(params + state) / params",
            "traced peak MB, first step",
            "traced peak MB, steady step",
            "RSS peak MB, first step",
            "RSS peak MB, steady step",
            "step ms",
            "step / torch",
        ],
        ["params MB", "(params + state) / params", "step ms"],
        ["step / torch"],
    ),
}


def run_bench(*args: str, tmp_path: Path, env_extra: dict | None = None, check: bool = True):
    env = dict(os.environ, **(env_extra or {}))
    env.pop("TINYTORCH_BACKEND", None)
    proc = subprocess.run(
        [sys.executable, str(RUN), *args, "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    if check:
        assert proc.returncode == 0, proc.stderr[-4000:]
    return proc


def positive(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def check_result(case: str, data: dict, with_torch: bool) -> None:
    columns, numeric, torch_numeric = EXPECTED[case]
    assert data["case"] == case and data["quick"] is True and data["tiny"] is True
    assert data["columns"] == columns
    assert data["rows"], f"{case}: no rows"
    for key in ("cpu", "logical_cpus", "numpy", "numpy_blas", "bench_threads"):
        assert key in data["machine"], key
    for row in data["rows"]:
        assert set(columns) <= set(row), f"{case}: row {row} lacks columns"
        is_torch_row = row.get("impl") == "torch" or str(row.get("loader", "")).startswith("torch")
        for col in numeric:
            assert positive(row[col]), f"{case}: {col} = {row[col]!r} in {row}"
        for col in torch_numeric:
            if with_torch:
                assert positive(row[col]), f"{case}: {col} = {row[col]!r} in {row}"
            elif not is_torch_row:
                assert row[col] == "", f"{case}: {col} = {row[col]!r} without PyTorch"
    if not with_torch and torch_numeric:  # GEMM compares with numpy only: no torch columns
        assert any("PyTorch is not installed" in n for n in data["notes"])
    md = (Path(data["_out"]) / f"{case}.md").read_text()
    assert md.startswith(f"## {case}") and "| " + " | ".join(columns) + " |" in md


@pytest.mark.parametrize("case", runner.CASES)
def test_case_runs_at_tiny_size(case, tmp_path):
    assert case in EXPECTED, f"add the columns of the new case {case} to EXPECTED"
    run_bench(case, "--quick", "--tiny", tmp_path=tmp_path)
    data = json.loads((tmp_path / f"{case}.json").read_text())
    data["_out"] = str(tmp_path)
    check_result(case, data, HAVE_TORCH)
    if case == "optim_memory":  # parameters + state: SGD 1x, SGD with momentum 2x, Adam 3x
        want = {"SGD": 1.0, "SGD momentum 0.9": 2.0, "Adam": 3.0}
        for row in data["rows"]:
            assert row["(params + state) / params"] == want[row["optimizer"]], row
        assert data["extra"]["adam_state_exactly_2x"] is True
    if case == "dataloader":
        loaders = [row["loader"] for row in data["rows"]]
        assert loaders[:2] == ["tinytorch, prefetch 0", "tinytorch, prefetch 2"]
        assert any(name.startswith("torch") for name in loaders) == HAVE_TORCH
        assert all(shape == [32, 3, 16, 16] for shape in data["extra"]["batch_shape"].values())


def test_without_torch_the_torch_columns_are_empty(tmp_path):
    # TINYTORCH_BENCH_NO_TORCH=1 makes the suite behave as if PyTorch were not installed.
    proc = run_bench(
        "cnn_step", "--tiny", tmp_path=tmp_path, env_extra={"TINYTORCH_BENCH_NO_TORCH": "1"}
    )
    data = json.loads((tmp_path / "cnn_step.json").read_text())
    data["_out"] = str(tmp_path)
    check_result("cnn_step", data, with_torch=False)
    assert data["machine"]["torch"] is None
    assert "pip install torch" in proc.stdout


def test_missing_optional_case_is_skipped_cleanly(tmp_path):
    if runner.optional_case_missing("gpt_step") is None:
        pytest.skip("tinytorch-gpt and benchmarks/gpt_step.py are present: gpt_step runs")
    proc = run_bench("gpt_step", "--tiny", tmp_path=tmp_path)
    assert "skipping gpt_step" in proc.stderr
    assert not (tmp_path / "gpt_step.json").exists()


def test_gpt_step_runs_at_tiny_size(tmp_path):
    why = runner.optional_case_missing("gpt_step")
    if why is not None:
        pytest.skip(why)
    run_bench("gpt_step", "--quick", "--tiny", tmp_path=tmp_path)
    data = json.loads((tmp_path / "gpt_step.json").read_text())
    assert data["case"] == "gpt_step" and data["tiny"] is True
    assert data["columns"] == [
        "measure", *TIMED, "torch ms", "native / torch", "numpy / native", "no cache / KV cache"
    ]
    steps = [r for r in data["rows"] if not r["measure"].startswith("generate")]
    gens = [r for r in data["rows"] if r["measure"].startswith("generate")]
    assert len(steps) == 5 and len(gens) == 4
    for row in steps:
        for col in (*TIMED, "numpy / native"):
            assert positive(row[col]), (col, row)
        for col in TORCH_TIMED:
            assert positive(row[col]) if HAVE_TORCH else row[col] == "", (col, row)
    for row in gens:
        assert positive(row["tinytorch native ms"]) and positive(row["tinytorch numpy ms"])
        assert positive(row["no cache / KV cache"]) == ("with KV cache" in row["measure"])
    assert data["extra"]["same_tokens"] is True
    assert (tmp_path / "gpt_step.md").read_text().startswith("## gpt_step")


def test_unknown_case_is_an_error(tmp_path):
    proc = run_bench("no_such_case", tmp_path=tmp_path, check=False)
    assert proc.returncode == 2 and "unknown case" in proc.stderr


def payload(case: str, value: float) -> dict:
    mach = {
        "cpu": "Test CPU",
        "logical_cpus": 2,
        "cpu_flags": ["avx2"],
        "numpy": "2.0",
        "numpy_blas": "OpenBLAS",
        "python": "3.11",
        "isa": "avx2",
        "openmp": True,
        "compiler": "GNU",
        "torch": None,
        "tinytorch_tensor": "0.1.0",
        "bench_threads": 2,
    }
    return {
        "case": case,
        "title": f"Title of {case}",
        "when": "2030-01-02T03:04:05+00:00",
        "quick": False,
        "tiny": False,
        "wall_s": 1.0,
        "machine": mach,
        "columns": ["a", "b"],
        "rows": [{"a": "x", "b": value}],
        "notes": ["a note"],
    }


def test_write_docs_replaces_blocks_and_keeps_prose(tmp_path):
    docs = tmp_path / "performance.md"
    docs.write_text(
        "# Performance\n\nIntro prose.\n\n## Conv\n\nConv prose before.\n\n"
        "<!-- bench:conv:start -->\nold table\n<!-- bench:conv:end -->\n\nConv prose after.\n"
    )
    runner.write_docs([payload("conv", 1.5), payload("newcase", 2.5)], docs)
    text = docs.read_text()
    assert "old table" not in text
    for prose in ("Intro prose.", "Conv prose before.", "Conv prose after."):
        assert text.count(prose) == 1
    assert "| x | 1.5 |" in text and "Measured 2030-01-02" in text and "Test CPU" in text
    assert text.index("| x | 1.5 |") < text.index("Conv prose after.")
    # A case without a block gets a section at the end, under its title.
    assert text.rstrip().endswith("<!-- bench:newcase:end -->")
    assert "## Title of newcase" in text and "| x | 2.5 |" in text
    # Rewriting replaces the blocks again instead of adding more.
    runner.write_docs([payload("conv", 7.0), payload("newcase", 8.0)], docs)
    text = docs.read_text()
    assert text.count("<!-- bench:conv:start -->") == 1 and "| x | 7.0 |" in text
    assert "| x | 1.5 |" not in text and text.count("## Title of newcase") == 1


def test_docs_only_writes_saved_results(tmp_path):
    docs = tmp_path / "performance.md"
    docs.write_text("# P\n\n<!-- bench:conv:start -->\n<!-- bench:conv:end -->\n")
    (tmp_path / "conv.json").write_text(json.dumps(payload("conv", 3.25)))
    run_bench("conv", "--docs-only", "--docs", str(docs), tmp_path=tmp_path)
    assert "| x | 3.25 |" in docs.read_text()


def test_the_docs_have_a_block_for_every_case():
    text = (ROOT / "docs" / "performance.md").read_text()
    for case in runner.CASES:
        assert text.count(f"<!-- bench:{case}:start -->") == 1, case
        assert text.count(f"<!-- bench:{case}:end -->") == 1, case


# --- the CIFAR-10 recipe -----------------------------------------------------------------------

CIFAR = ROOT / "benchmarks" / "cifar10.py"


def run_cifar(*args: str, cwd: Path):
    env = dict(os.environ)
    env.pop("TINYTORCH_BACKEND", None)
    return subprocess.run(
        [sys.executable, str(CIFAR), *args], capture_output=True, text=True, env=env,
        cwd=cwd, timeout=300,
    )


def test_cifar10_recipe_runs_end_to_end_on_a_tiny_archive(tmp_path):
    """The whole recipe (whitening, lookahead from epoch 3, TTA) on 60 + 12 synthetic images."""
    from tinytorch.data import write_cifar10_archive

    archive = tmp_path / "cifar-10-python.tar.gz"
    write_cifar10_archive(archive, images_per_batch=12)
    out = tmp_path / "run"
    proc = run_cifar(
        "--archive", str(archive), "--root", str(tmp_path / "root"), "--epochs", "4",
        "--widths", "8,8,16", "--batch-size", "16", "--out", str(out), cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["epochs"] == 4 and summary["widths"] == [8, 8, 16]
    per_epoch = summary["test_accuracy_per_epoch"]
    assert len(per_epoch) == 4 and all(0 <= a <= 1 for a in per_epoch)
    assert 0 <= summary["test_accuracy_tta"] <= 1
    assert len(summary["epoch_s"]) == 4 and all(positive(t) for t in summary["epoch_s"])
    assert (out / "history.json").is_file()
    assert "epoch 4/4" in proc.stdout


def test_cifar10_recipe_rejects_bad_widths(tmp_path):
    proc = run_cifar("--widths", "64,256", "--out", str(tmp_path / "run"), cwd=tmp_path)
    assert proc.returncode == 2
    assert "--widths: three positive channel counts, got '64,256'" in proc.stderr


# --- the GPT baby run, TinyTorch against its PyTorch twin ------------------------------------

GPT_BABY = ROOT / "benchmarks" / "gpt_baby.py"


def run_gpt_baby(*args: str, cwd: Path):
    return subprocess.run(
        [sys.executable, str(GPT_BABY), *args], capture_output=True, text=True, cwd=cwd,
        timeout=300,
    )


def test_gpt_baby_trains_both_frameworks_on_the_same_batches(tmp_path):
    """The tiny model through the whole script: every (impl, seed) run lands in the summary."""
    words = "to be or not to be that is the question whether tis nobler in the mind".split()
    rng = np.random.default_rng(0)
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(" ".join(rng.choice(words, 3000)))
    impls = "tinytorch,torch" if HAVE_TORCH else "tinytorch"
    out = tmp_path / "summary.json"
    proc = run_gpt_baby(
        "--data", str(corpus), "--model", "tiny", "--seeds", "3", "--impls", impls,
        "--max-iters", "150", "--eval-interval", "75", "--eval-iters", "4", "--out", str(out),
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    runs = json.loads(out.read_text())["runs"]
    assert sorted((r["impl"], r["seed"]) for r in runs) == sorted(
        (i, 3) for i in impls.split(",")
    )
    vocab = len(set(corpus.read_text()))
    for r in runs:
        first = r["val_curve"][0][1]
        assert [it for it, _ in r["val_curve"]] == [0, 75, 150]
        assert abs(first - np.log(vocab)) < 0.3, r  # about ln(V) at initialisation
        assert r["val_loss"] < first - 0.3, r  # it learned something in 150 steps
    assert "mean final val loss" in proc.stdout


def test_gpt_baby_rejects_bad_arguments(tmp_path):
    proc = run_gpt_baby("--data", str(tmp_path / "missing.txt"), "--impls", "tinytorch",
                        cwd=tmp_path)
    assert proc.returncode == 2 and "--data: no such file" in proc.stderr
    proc = run_gpt_baby("--data", __file__, "--impls", "jax", cwd=tmp_path)
    assert proc.returncode == 2 and "--impls: unknown ['jax']" in proc.stderr
