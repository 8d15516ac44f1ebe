"""The seed's README example runs verbatim (one epoch on a tiny synthetic CIFAR-10, no network).

The data root is an empty folder, and the archive (official format, 60 + 12 images) is served on
127.0.0.1 and selected with the mirror variables; the only edit to the seed's text is
``epochs=30`` -> ``epochs=1``.
"""

import functools
import hashlib
import http.server
import threading
import zipfile

import pytest
from tinytorch.data import write_cifar10_archive

SEED_EXAMPLE = """
from tinytorch.core.tensor import Tensor
from tinytorch.core.layers import Dense
from tinytorch.core.spatial import Conv2D
from tinytorch.core.activations import ReLU
from tinytorch.core.networks import Sequential
from tinytorch.core.dataloader import CIFAR10Dataset, DataLoader
from tinytorch.core.training import Trainer, CrossEntropyLoss, Accuracy
from tinytorch.core.training import evaluate_model, plot_training_history
from tinytorch.core.optimizers import Adam

# Load CIFAR-10
dataset = CIFAR10Dataset(download=True, flatten=False)
train_loader = DataLoader(dataset.train_data, dataset.train_labels, batch_size=32)
test_loader = DataLoader(dataset.test_data, dataset.test_labels, batch_size=32)

# Build a CNN
model = Sequential([
    Conv2D(3, 32, kernel_size=3),
    ReLU(),
    Conv2D(32, 64, kernel_size=3),
    ReLU(),
    Dense(64 * 28 * 28, 128),
    ReLU(),
    Dense(128, 10)
])

# Train it
trainer = Trainer(model, CrossEntropyLoss(), Adam(lr=0.001), [Accuracy()])
history = trainer.fit(train_loader, val_dataloader=test_loader, epochs=30,
                      save_best=True, checkpoint_path='best_model.pkl')

test_accuracy = evaluate_model(model, test_loader)['accuracy']
print(f"Test Accuracy: {test_accuracy:.1%}")
plot_training_history(history)
"""

PER_BATCH = 12


@pytest.fixture
def cifar_mirror(tmp_path, monkeypatch):
    served = tmp_path / "served"
    served.mkdir()
    archive = served / "cifar-10-python.tar.gz"
    write_cifar10_archive(archive, images_per_batch=PER_BATCH)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *a: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    root = tmp_path / "data-root"
    root.mkdir()
    monkeypatch.setenv("TINYTORCH_DATA", str(root))
    monkeypatch.setenv(
        "TINYTORCH_CIFAR10_URL",
        f"http://127.0.0.1:{httpd.server_address[1]}/cifar-10-python.tar.gz",
    )
    monkeypatch.setenv("TINYTORCH_CIFAR10_MD5", hashlib.md5(archive.read_bytes()).hexdigest())
    yield root
    httpd.shutdown()
    httpd.server_close()


def test_seed_example_runs_verbatim(cifar_mirror, tmp_path, monkeypatch, capsys):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    code = SEED_EXAMPLE.replace("epochs=30", "epochs=1")
    assert code.count("epochs=1") == 1
    try:
        import matplotlib  # noqa: F401

        has_plot = True
    except ImportError:
        has_plot = False
    scope: dict = {}
    if has_plot:
        exec(compile(code, "seed_example.py", "exec"), scope)
        assert (work / "training_history.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    else:  # only the last line needs the plot extra, and it says so
        with pytest.raises(ImportError, match=r"tinytorch-train\[plot\]"):
            exec(compile(code, "seed_example.py", "exec"), scope)
    assert "Test Accuracy:" in capsys.readouterr().out
    assert 0.0 <= scope["test_accuracy"] <= 1.0
    assert scope["history"]["epoch"] == [1] and "val_accuracy" in scope["history"]
    # best_model.pkl is the safe format (a zip of arrays and JSON), not a pickle
    assert zipfile.is_zipfile(work / "best_model.pkl")
    from tinytorch.train import load_model

    load_model(scope["model"], work / "best_model.pkl")
    assert any(cifar_mirror.rglob("data_batch_1"))  # downloaded into the empty data root


def test_seed_names_are_the_real_ones():
    import tinytorch.nn as nn
    import tinytorch.train as train
    from tinytorch.core import training

    assert training.Trainer is train.Trainer and training.Accuracy is train.Accuracy
    assert training.CrossEntropyLoss is nn.CrossEntropyLoss
    assert training.MeanSquaredError is nn.MSELoss and training.MSELoss is nn.MSELoss
    assert training.evaluate_model is train.evaluate_model
    assert training.plot_training_history is train.plot_training_history
    assert training.compute_confusion_matrix is train.compute_confusion_matrix
