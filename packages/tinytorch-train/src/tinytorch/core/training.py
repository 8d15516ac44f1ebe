"""The seed's ``tinytorch.core.training``: `tinytorch.train` and the losses, re-exported (aliases).

``Trainer(model, CrossEntropyLoss(), Adam(lr=0.001), [Accuracy()])`` binds the optimizer to the
model; ``trainer.fit(train_loader, val_dataloader=test_loader, epochs=30, save_best=True,
checkpoint_path='best_model.pkl')`` writes the best epoch to ``best_model.pkl`` in the safe
checkpoint format (arrays + JSON, never a pickle, despite the extension).

Examples:
    >>> from tinytorch.core.training import Trainer, CrossEntropyLoss, Accuracy
    >>> from tinytorch.core.training import evaluate_model, plot_training_history
    >>> from tinytorch.core.training import compute_confusion_matrix
    >>> compute_confusion_matrix([0, 1], [1, 1]).tolist()
    [[0, 1], [0, 1]]
"""

from tinytorch.nn import CrossEntropyLoss, MSELoss
from tinytorch.train import *  # noqa: F403  (every public name of tinytorch.train)
from tinytorch.train import __all__ as _train_all

MeanSquaredError = MSELoss

__all__ = list(_train_all) + ["CrossEntropyLoss", "MSELoss", "MeanSquaredError"]
