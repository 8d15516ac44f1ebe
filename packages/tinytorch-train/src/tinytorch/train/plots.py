"""Plots of a training history and of a confusion matrix, saved to PNG (matplotlib, optional).

matplotlib is an optional extra: ``pip install "tinytorch-train[plot]"``. Without it, the plot
functions raise an `ImportError` that says so. Plots use the non-interactive ``Agg`` backend
and are written to a file; nothing opens a window.

Examples:
    >>> from tinytorch.train.plots import plot_training_history
    >>> history = {"train_loss": [1.0, 0.6], "val_loss": [1.1, 0.8]}
    >>> plot_training_history(history, "history.png")  # doctest: +SKIP
    PosixPath('history.png')
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["plot_training_history", "plot_confusion_matrix"]


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise ImportError(
            'plotting needs matplotlib, an optional extra: pip install "tinytorch-train[plot]" '
            "(or pip install matplotlib)"
        ) from None
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def plot_training_history(
    history: dict, path="training_history.png", title: str | None = None
) -> Path:
    """Plot losses (train and validation) and every other metric per epoch; save a PNG.

    Returns the path written.

    Examples:
        >>> import os, tempfile
        >>> h = {"train_loss": [1.0, 0.5], "val_loss": [1.2, 0.7], "val_accuracy": [0.4, 0.8]}
        >>> path = os.path.join(tempfile.mkdtemp(), "h.png")
        >>> plot_training_history(h, path).name  # doctest: +SKIP
        'h.png'
    """
    if not isinstance(history, dict):
        raise TypeError(
            f"plot_training_history: expected a history dict, got {type(history).__name__}"
        )
    series = {
        k: v
        for k, v in history.items()
        if k not in ("epoch", "time", "lr")
        and isinstance(v, list)
        and v
        and all(isinstance(x, (int, float)) or x is None for x in v)
    }
    if not series:
        raise ValueError("plot_training_history: the history has no per-epoch values to plot")
    plt = _pyplot()
    losses = {k: v for k, v in series.items() if "loss" in k}
    others = {k: v for k, v in series.items() if "loss" not in k}
    panels = [(p, label) for p, label in ((losses, "loss"), (others, "value")) if p]
    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4), squeeze=False)
    for ax, (panel, label) in zip(axes[0], panels, strict=True):
        for name, values in panel.items():
            vals = [np.nan if v is None else v for v in values]
            ax.plot(range(1, len(vals) + 1), vals, marker="o", label=name)
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_confusion_matrix(
    cm, classes=None, path="confusion_matrix.png", normalize: bool = False
) -> Path:
    """Plot a confusion matrix (rows: true class, columns: predicted) with counts; save a PNG.

    Examples:
        >>> import os, tempfile
        >>> cm = [[5, 1], [2, 7]]
        >>> path = os.path.join(tempfile.mkdtemp(), "cm.png")
        >>> plot_confusion_matrix(cm, ["cat", "dog"], path).name  # doctest: +SKIP
        'cm.png'
    """
    cm = np.asarray(cm)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"plot_confusion_matrix: expected a square matrix, got shape {cm.shape}")
    n = cm.shape[0]
    classes = [str(c) for c in (classes if classes is not None else range(n))]
    if len(classes) != n:
        raise ValueError(f"plot_confusion_matrix: {len(classes)} class names for a {n}x{n} matrix")
    shown = cm.astype(np.float64)
    if normalize:
        rows = shown.sum(axis=1, keepdims=True)
        shown = np.divide(shown, rows, out=np.zeros_like(shown), where=rows > 0)
    plt = _pyplot()
    size = max(4.0, 0.6 * n + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    im = ax.imshow(shown, cmap="Blues")
    fig.colorbar(im, ax=ax, fraction=0.046)
    ax.set_xticks(range(n), classes, rotation=45, ha="right")
    ax.set_yticks(range(n), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    threshold = shown.max() / 2 if shown.size else 0
    for i in range(n):
        for j in range(n):
            text = f"{shown[i, j]:.2f}" if normalize else f"{int(cm[i, j])}"
            ax.text(
                j,
                i,
                text,
                ha="center",
                va="center",
                color="white" if shown[i, j] > threshold else "black",
                fontsize=8,
            )
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
