"""tinytorch.train: a Trainer with metrics, callbacks, safe checkpoints, exact resume and plots.

- `Trainer` (``fit`` -> a history dict, also saved as JSON; ``save_best``; resume bit for bit
  from a checkpoint after any epoch or every N steps), `evaluate_model` -> a dict.
- Metrics: `Accuracy`, `TopKAccuracy`, `Precision`, `Recall`, `F1` (macro, micro, weighted or
  per class), `compute_confusion_matrix`.
- Callbacks: `Callback`, `EarlyStopping`, `LambdaCallback`.
- Checkpoints: `save_checkpoint` / `load_checkpoint` / `load_model`: a zip of ``.npy`` arrays
  plus JSON metadata, written atomically, never unpickled, whatever the file's extension.
- Plots (matplotlib, the ``plot`` extra): `plot_training_history`, `plot_confusion_matrix`.

Examples:
    >>> import tinytorch.tensor as tt
    >>> from tinytorch import nn
    >>> from tinytorch.data import DataLoader, make_blobs
    >>> from tinytorch.optim import Adam
    >>> from tinytorch.train import Accuracy, Trainer, evaluate_model
    >>> _ = tt.manual_seed(0)
    >>> X, y = make_blobs(300, centers=3, seed=0)
    >>> model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3))
    >>> trainer = Trainer(model, nn.CrossEntropyLoss(), Adam(lr=0.05), [Accuracy()])
    >>> _ = trainer.fit(DataLoader(X, y, batch_size=32, shuffle=True), epochs=5, verbose=False)
    >>> evaluate_model(model, DataLoader(X, y, batch_size=100))["accuracy"] > 0.9
    True
"""

from .callbacks import Callback, EarlyStopping, LambdaCallback
from .checkpoint import (
    CheckpointError,
    architecture_signature,
    check_architecture,
    load_checkpoint,
    load_model,
    save_checkpoint,
)
from .metrics import (
    F1,
    Accuracy,
    F1Score,
    Metric,
    Precision,
    Recall,
    TopKAccuracy,
    compute_confusion_matrix,
)
from .plots import plot_confusion_matrix, plot_training_history
from .trainer import Trainer, evaluate_model, last_checkpoint_path, load_history, save_history

__version__ = "0.1.0"

__all__ = [
    "Trainer",
    "evaluate_model",
    "save_history",
    "load_history",
    "last_checkpoint_path",
    "Metric",
    "Accuracy",
    "TopKAccuracy",
    "Precision",
    "Recall",
    "F1",
    "F1Score",
    "compute_confusion_matrix",
    "Callback",
    "EarlyStopping",
    "LambdaCallback",
    "CheckpointError",
    "save_checkpoint",
    "load_checkpoint",
    "load_model",
    "architecture_signature",
    "check_architecture",
    "plot_training_history",
    "plot_confusion_matrix",
]
