"""Plots: PNG files with matplotlib; a clear ImportError naming the extra without it."""

import sys

import numpy as np
import pytest
from tinytorch.train import compute_confusion_matrix, plot_confusion_matrix, plot_training_history

PNG = b"\x89PNG\r\n\x1a\n"
HISTORY = {
    "epoch": [1, 2, 3],
    "train_loss": [1.0, 0.7, 0.5],
    "val_loss": [1.1, 0.8, 0.7],
    "train_accuracy": [0.5, 0.7, 0.8],
    "val_accuracy": [0.4, 0.6, 0.7],
    "lr": [0.1] * 3,
    "time": [1.0] * 3,
}


def test_without_matplotlib_the_error_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` fail
    with pytest.raises(ImportError, match=r"tinytorch-train\[plot\]"):
        plot_training_history(HISTORY, tmp_path / "h.png")
    with pytest.raises(ImportError, match=r"tinytorch-train\[plot\]"):
        plot_confusion_matrix(np.eye(2), path=tmp_path / "cm.png")
    assert not any(tmp_path.iterdir())


def test_bad_inputs_fail_before_plotting(tmp_path):
    with pytest.raises(ValueError, match="no per-epoch values"):
        plot_training_history({"epoch": [1]}, tmp_path / "h.png")
    with pytest.raises(ValueError, match="square"):
        plot_confusion_matrix(np.zeros((2, 3)), path=tmp_path / "cm.png")
    with pytest.raises(ValueError, match="3 class names"):
        plot_confusion_matrix(np.eye(2), ["a", "b", "c"], tmp_path / "cm.png")


def test_pngs_are_written(tmp_path):
    pytest.importorskip("matplotlib")
    h = plot_training_history(HISTORY, tmp_path / "sub" / "h.png")
    assert h.read_bytes()[:8] == PNG
    cm = compute_confusion_matrix([0, 1, 2, 2], [0, 2, 2, 1])
    c = plot_confusion_matrix(cm, ["cat", "dog", "ship"], tmp_path / "cm.png", normalize=True)
    assert c.read_bytes()[:8] == PNG
