#!/usr/bin/env python3
"""The workspace's main job, run by `python3 tools/dev.py run` inside .venv.

1. A short tensor tour: creation, broadcasting, views vs copies (nbytes, shares_memory),
   a matmul checked against numpy on both backends.
2. Training. With CIFAR-10 under the data root (``TINYTORCH_DATA``, else ~/.cache/tinytorch),
   the project's CIFAR-10 recipe (`benchmarks/cifar10.py`, about 47 minutes on 2 cores).
   Otherwise, on data that needs no download: scikit-learn's digits when it is installed,
   else a synthetic 3-class spiral set, with an MLP, the Trainer and Adam. The job prints the
   accuracy and writes the history (JSON, and a PNG plot when matplotlib is installed).
3. The quick GEMM benchmark, `benchmarks/run.py gemm --quick`.

Options: --skip-benchmark (or --demo-only), --epochs N.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def section(title: str) -> None:
    print(f"\n=== {title} " + "=" * max(0, 70 - len(title)), flush=True)


def tensor_demo() -> None:
    import numpy as np
    import tinytorch.tensor as tt

    section("tinytorch.tensor: creation")
    x = tt.arange(12, dtype="float32").reshape(3, 4)
    print(f"x = tt.arange(12).reshape(3, 4) -> shape {x.shape}, dtype {x.dtype}, "
          f"nbytes {x.nbytes}, strides {x.strides}")
    print(x)
    z = tt.zeros(2, 3)
    print(f"tt.zeros(2, 3): dtype {z.dtype} (float32 is the default)")

    section("broadcasting")
    row = tt.tensor([10.0, 20.0, 30.0, 40.0])
    col = tt.tensor([[1.0], [2.0], [3.0]])
    y = x + row * col
    print(f"x {x.shape} + row {row.shape} * col {col.shape} -> {y.shape}")
    expected = x.numpy() + row.numpy() * col.numpy()
    assert np.array_equal(y.numpy(), expected), "broadcast result differs from numpy"
    print(y)

    section("views vs copies")
    t = x.T
    print(f"x.T: shape {t.shape}, strides {t.strides}, contiguous {t.is_contiguous()}, "
          f"shares memory with x: {tt.shares_memory(x, t)}  (a view: no bytes copied)")
    c = t.contiguous()
    print(f"x.T.contiguous(): contiguous {c.is_contiguous()}, nbytes {c.nbytes}, "
          f"shares memory with x: {tt.shares_memory(x, c)}  (a copy)")
    r = x.reshape(4, 3)
    print(f"x.reshape(4, 3): shares memory with x: {tt.shares_memory(x, r)}  "
          "(contiguous input: a view)")
    s = x[:, 1]
    print(f"x[:, 1]: shape {s.shape}, strides {s.strides}, "
          f"shares memory: {tt.shares_memory(x, s)}  (basic indexing: a view)")
    f = x[[0, 2]]
    print(f"x[[0, 2]]: shares memory: {tt.shares_memory(x, f)}  (advanced indexing: a copy)")

    section("matmul (native C++ GEMM vs numpy reference)")
    g = tt.manual_seed(0)
    a = tt.randn(256, 384, generator=g)
    b = tt.randn(384, 128, generator=g)
    reference = a.numpy() @ b.numpy()
    for backend in tt.BACKENDS:
        if backend == "native" and not tt.native_available():
            print("native: the C++ extension is not available; skipped")
            continue
        with tt.use_backend(backend):
            out = a @ b  # warm-up: the first call starts threads and allocates packing buffers
            times = []
            for _ in range(5):
                t0 = time.perf_counter()
                out = a @ b
                times.append(time.perf_counter() - t0)
            ms = min(times) * 1e3
        err = float(np.max(np.abs(out.numpy() - reference)))
        print(f"{backend:>6}: (256, 384) @ (384, 128) -> {out.shape} in {ms:.2f} ms (best of 5), "
              f"max |diff| vs numpy {err:.2e}")
        assert err < 1e-3, f"{backend} matmul differs from numpy by {err}"
    try:
        from tinytorch.tensor import _C

        print(f"extension ISA: {_C.isa()}" + (
            f", threads: {_C.num_threads()}" if hasattr(_C, "num_threads") else ""))
    except ImportError as exc:
        print(f"extension not loaded: {exc}")


def train_offline(epochs: int) -> float:
    """Train an MLP on offline data with the Trainer; return the validation accuracy."""
    import numpy as np
    import tinytorch.tensor as tt
    from tinytorch import data, nn, optim, train

    try:
        X, y = data.load_digits()
        name = "scikit-learn's digits (1,797 8x8 images, 10 classes)"
    except ImportError:
        X, y = data.make_spirals(1500, classes=3, noise=0.15, seed=0)
        name = "synthetic spirals (1,500 points, 3 classes; install scikit-learn for digits)"
    section(f"training an MLP on {name}")
    tt.manual_seed(0)
    order = np.random.default_rng(0).permutation(len(X))
    cut = int(0.8 * len(X))
    train_idx, val_idx = order[:cut], order[cut:]
    train_loader = data.DataLoader(X[train_idx], y[train_idx], batch_size=64, shuffle=True, seed=0)
    val_loader = data.DataLoader(X[val_idx], y[val_idx], batch_size=256)
    classes = int(y.max()) + 1
    model = nn.MLP([X.shape[1], 128, 128, classes])
    print(model)
    out = ROOT / "runs" / "main_job"
    out.mkdir(parents=True, exist_ok=True)
    trainer = train.Trainer(model, nn.CrossEntropyLoss(), optim.Adam(lr=0.005), [train.Accuracy()])
    history = trainer.fit(train_loader, val_dataloader=val_loader, epochs=epochs,
                          save_best=True, checkpoint_path=out / "best_model.ttz",
                          history_path=out / "history.json")
    accuracy = train.evaluate_model(model, val_loader)["accuracy"]
    print(f"validation accuracy after {epochs} epochs: {accuracy:.2%}")
    try:
        plot = train.plot_training_history(history, path=out / "training_history.png")
        print(f"history plot: {plot.relative_to(ROOT)}")
    except ImportError as exc:
        print(f"no plot: {exc}")
    print(f"history: {(out / 'history.json').relative_to(ROOT)}; best checkpoint: "
          f"{(out / 'best_model.ttz').relative_to(ROOT)}")
    return accuracy


def cifar10_available() -> bool:
    """True when CIFAR-10 is under the data root (nothing is downloaded to find out)."""
    from tinytorch import data

    try:
        data.CIFAR10(train=False)
    except FileNotFoundError:
        return False
    return True


def train_cifar10() -> int:
    """Run the CIFAR-10 recipe, which prints per-epoch accuracy and writes runs/cifar10/."""
    section("CIFAR-10 found under the data root: training the recipe (benchmarks/cifar10.py)")
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "cifar10.py")], cwd=ROOT,
                          check=False)
    return proc.returncode


def benchmark() -> int:
    script = ROOT / "benchmarks" / "run.py"
    section("quick GEMM benchmark (benchmarks/run.py gemm --quick)")
    if not script.exists():
        print("benchmarks/run.py does not exist yet; skipped")
        return 0
    proc = subprocess.run([sys.executable, str(script), "gemm", "--quick"], cwd=ROOT,
                          check=False)
    if proc.returncode != 0:
        print(f"benchmark failed with exit code {proc.returncode}")
    return proc.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-benchmark", "--demo-only", action="store_true",
                        help="skip the GEMM benchmark")
    parser.add_argument("--epochs", type=int, default=30,
                        help="epochs of the offline training (default 30)")
    args = parser.parse_args(argv)
    t0 = time.monotonic()
    tensor_demo()
    if cifar10_available():
        code = train_cifar10()
    else:
        train_offline(args.epochs)
        code = 0
    if code == 0 and not args.skip_benchmark:
        code = benchmark()
    section(f"main job finished in {time.monotonic() - t0:.1f}s")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
