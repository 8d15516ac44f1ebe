"""Classification metrics: accuracy, top-k accuracy, precision, recall, F1, confusion matrix.

Each metric object accumulates over batches: ``reset()``, ``update(outputs, targets)`` (logits
of shape ``(N, C)`` or predicted labels ``(N,)``; integer targets ``(N,)`` or one-hot
``(N, C)``; tensors or arrays), ``compute()``; its ``name`` is the key it gets in a history.
Its running counts are plain numbers and arrays (`state_dict` / `load_state_dict`), so a
checkpoint taken mid-epoch restores them exactly.

Examples:
    >>> import numpy as np
    >>> from tinytorch.train.metrics import Accuracy, compute_confusion_matrix
    >>> acc = Accuracy()
    >>> acc.update(np.array([[2.0, 1.0], [0.0, 3.0], [1.0, 0.0]]), np.array([0, 1, 1]))
    >>> round(acc.compute(), 4)
    0.6667
    >>> compute_confusion_matrix([0, 1, 1], [0, 1, 0], num_classes=2).tolist()
    [[1, 0], [1, 1]]
"""

from __future__ import annotations

from typing import Any

import numpy as np
from tinytorch.tensor import Tensor

__all__ = [
    "Metric",
    "Accuracy",
    "TopKAccuracy",
    "Precision",
    "Recall",
    "F1",
    "F1Score",
    "compute_confusion_matrix",
    "to_labels",
]


def _np(x) -> np.ndarray:
    if isinstance(x, Tensor):
        return x.numpy()
    return np.asarray(x)


def to_labels(x) -> np.ndarray:
    """Class labels from logits/probabilities ``(N, C)`` (argmax) or labels ``(N,)``.

    Examples:
        >>> to_labels([[0.1, 0.9], [0.8, 0.2]]).tolist()
        [1, 0]
    """
    arr = _np(x)
    if arr.ndim == 2 and arr.shape[1] > 1:
        return arr.argmax(axis=1).astype(np.int64)
    if arr.ndim == 2 and arr.shape[1] == 1:  # one logit: binary, threshold at 0
        return (arr[:, 0] > 0).astype(np.int64)
    if arr.ndim != 1:
        raise ValueError(f"expected logits (N, C) or labels (N,), got shape {arr.shape}")
    if arr.dtype.kind == "f" and not np.all(arr == np.round(arr)):
        raise ValueError("labels must be whole numbers; pass logits as (N, C)")
    return arr.astype(np.int64)


def compute_confusion_matrix(y_true, y_pred, num_classes: int | None = None) -> np.ndarray:
    """``cm[i, j]`` = how many samples of true class ``i`` were predicted as class ``j``.

    ``y_pred`` may be labels or logits ``(N, C)``. ``num_classes`` defaults to the largest
    label seen plus one.

    Examples:
        >>> compute_confusion_matrix([0, 0, 1, 2], [0, 1, 1, 2]).tolist()
        [[1, 1, 0], [0, 1, 0], [0, 0, 1]]
    """
    t, p = to_labels(y_true), to_labels(y_pred)
    if t.shape != p.shape:
        raise ValueError(
            f"compute_confusion_matrix: {t.shape[0]} targets but {p.shape[0]} predictions"
        )
    if t.size and min(t.min(), p.min()) < 0:
        raise ValueError("compute_confusion_matrix: labels must be >= 0")
    seen = int(max(t.max(), p.max())) + 1 if t.size else 0
    if num_classes is None:
        num_classes = seen
    elif seen > num_classes:
        raise ValueError(
            f"compute_confusion_matrix: label {seen - 1} out of range for num_classes={num_classes}"
        )
    return (
        np.bincount(t * num_classes + p, minlength=num_classes * num_classes)
        .reshape(num_classes, num_classes)
        .astype(np.int64)
    )


class Metric:
    """Base class: accumulate with ``update``, read with ``compute``, clear with ``reset``.

    Subclasses list their running values in ``_state_names`` and set ``name``.

    Examples:
        >>> m = Accuracy()
        >>> m.update([1, 0], [1, 1]); m.compute()
        0.5
        >>> m.reset(); m.update([1], [1]); m.compute()
        1.0
    """

    name = "metric"
    _state_names: tuple[str, ...] = ()

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        """Clear the running counts."""
        raise NotImplementedError

    def update(self, outputs, targets) -> None:
        """Add a batch: ``outputs`` (logits ``(N, C)`` or labels) and ``targets`` (labels)."""
        raise NotImplementedError

    def compute(self) -> Any:
        """The metric over everything since the last ``reset``."""
        raise NotImplementedError

    def __call__(self, outputs, targets) -> Any:
        """The metric of one batch alone (does not touch the running counts)."""
        fresh = type(self).__new__(type(self))
        fresh.__dict__.update(
            {k: v for k, v in self.__dict__.items() if k not in self._state_names}
        )
        fresh.reset()
        fresh.update(outputs, targets)
        return fresh.compute()

    def state_dict(self) -> dict:
        """The running counts (numbers and arrays)."""
        return {
            k: (v.copy() if isinstance(v, np.ndarray) else v)
            for k, v in ((k, getattr(self, k)) for k in self._state_names)
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore the running counts from `state_dict`."""
        for k in self._state_names:
            v = state[k]
            setattr(self, k, np.array(v) if isinstance(v, np.ndarray) else v)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


def _targets(targets) -> np.ndarray:
    t = _np(targets)
    if t.ndim == 2:  # one-hot
        t = t.argmax(axis=1)
    return to_labels(t)


class Accuracy(Metric):
    """The fraction of samples whose predicted class equals the target.

    Examples:
        >>> acc = Accuracy()
        >>> acc.update([[0.9, 0.1], [0.2, 0.8]], [0, 0])
        >>> acc.compute(), acc.name
        (0.5, 'accuracy')
    """

    name = "accuracy"
    _state_names = ("correct", "total")

    def reset(self) -> None:
        """Clear the counts."""
        self.correct, self.total = 0, 0

    def update(self, outputs, targets) -> None:
        """Count the correct predictions of a batch."""
        # BEGIN SOLUTION 11 accuracy
        p, t = to_labels(outputs), _targets(targets)  # class labels, both (N,)
        if p.shape != t.shape:
            raise ValueError(f"Accuracy: {p.shape[0]} predictions but {t.shape[0]} targets")
        self.correct += int((p == t).sum())
        self.total += int(t.size)
        # END SOLUTION

    def compute(self) -> float:
        """Correct / total (0.0 before any update)."""
        # BEGIN SOLUTION 11 accuracy
        return self.correct / self.total if self.total else 0.0
        # END SOLUTION


class TopKAccuracy(Metric):
    """The fraction of samples whose target is among the ``k`` highest logits.

    Examples:
        >>> top2 = TopKAccuracy(2)
        >>> top2.update([[0.5, 0.3, 0.2], [0.1, 0.2, 0.7]], [1, 0])
        >>> top2.compute(), top2.name
        (0.5, 'top2_accuracy')
    """

    _state_names = ("correct", "total")

    def __init__(self, k: int = 5):
        if not isinstance(k, int) or k < 1:
            raise ValueError(f"TopKAccuracy: k must be an int >= 1, got {k!r}")
        self.k = k
        self.name = f"top{k}_accuracy"
        super().__init__()

    def reset(self) -> None:
        """Clear the counts."""
        self.correct, self.total = 0, 0

    def update(self, outputs, targets) -> None:
        """Count the samples whose target is in the top k of a batch's logits ``(N, C)``."""
        logits, t = _np(outputs), _targets(targets)
        if logits.ndim != 2:
            raise ValueError(f"TopKAccuracy: needs logits (N, C), got shape {logits.shape}")
        k = min(self.k, logits.shape[1])
        top = np.argpartition(-logits, k - 1, axis=1)[:, :k]
        self.correct += int((top == t[:, None]).any(axis=1).sum())
        self.total += int(t.size)

    def compute(self) -> float:
        """Hits / total (0.0 before any update)."""
        return self.correct / self.total if self.total else 0.0


class _ConfusionMetric(Metric):
    _state_names = ("cm",)

    def __init__(self, num_classes: int | None = None, average: str | None = "macro"):
        if average not in ("macro", "micro", "weighted", None):
            raise ValueError(
                f"{type(self).__name__}: average must be 'macro', 'micro', "
                f"'weighted' or None (per class), got {average!r}"
            )
        self.num_classes = num_classes
        self.average = average
        super().__init__()

    def reset(self) -> None:
        """Clear the confusion matrix."""
        n = self.num_classes or 0
        self.cm = np.zeros((n, n), dtype=np.int64)

    def update(self, outputs, targets) -> None:
        """Add a batch to the confusion matrix (it grows when a new class appears)."""
        p, t = to_labels(outputs), _targets(targets)
        n = max(self.cm.shape[0], int(max(p.max(initial=-1), t.max(initial=-1))) + 1)
        if self.num_classes is not None and n > self.num_classes:
            raise ValueError(
                f"{type(self).__name__}: label {n - 1} out of range for "
                f"num_classes={self.num_classes}"
            )
        if n > self.cm.shape[0]:
            grown = np.zeros((n, n), dtype=np.int64)
            grown[: self.cm.shape[0], : self.cm.shape[0]] = self.cm
            self.cm = grown
        self.cm += compute_confusion_matrix(t, p, n)

    def _per_class(self) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def compute(self):
        """Macro average over the classes seen (in targets or predictions), or per class."""
        cm = self.cm
        tp = np.diag(cm).astype(np.float64)
        pred, true = cm.sum(axis=0).astype(np.float64), cm.sum(axis=1).astype(np.float64)
        if self.average == "micro":
            num, den = self._micro(tp, pred, true)
            return float(num / den) if den else 0.0
        values = self._values(tp, pred, true)
        if self.average is None:
            return values
        seen = (pred + true) > 0
        if not seen.any():
            return 0.0
        if self.average == "weighted":
            return float((values * true).sum() / true.sum()) if true.sum() else 0.0
        return float(values[seen].mean())

    @staticmethod
    def _div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.divide(a, b, out=np.zeros_like(a), where=b > 0)

    def _micro(self, tp, pred, true):
        return tp.sum(), pred.sum()  # micro P = R = F1 = accuracy


class Precision(_ConfusionMetric):
    """Precision TP / (TP + FP): macro-averaged (default), ``average='micro'``/``'weighted'``,
    or per class with ``average=None``. A class never predicted has precision 0.

    Examples:
        >>> m = Precision()
        >>> m.update([0, 1, 1, 1], [0, 0, 1, 1])
        >>> round(m.compute(), 4)  # class 0: 1/1, class 1: 2/3
        0.8333
        >>> Precision(average=None)([0, 1, 1, 1], [0, 0, 1, 1]).round(4).tolist()
        [1.0, 0.6667]
    """

    name = "precision"

    def _values(self, tp, pred, true):
        return self._div(tp, pred)


class Recall(_ConfusionMetric):
    """Recall TP / (TP + FN): macro-averaged (default), micro, weighted or per class.

    Examples:
        >>> m = Recall()
        >>> m.update([0, 1, 1, 1], [0, 0, 1, 1])
        >>> m.compute()  # class 0: 1/2, class 1: 2/2
        0.75
    """

    name = "recall"

    def _values(self, tp, pred, true):
        return self._div(tp, true)


class F1(_ConfusionMetric):
    """F1 = 2PR / (P + R) per class, then macro-averaged (default), micro, weighted or per class.

    Examples:
        >>> m = F1()
        >>> m.update([0, 1, 1, 1], [0, 0, 1, 1])
        >>> round(m.compute(), 4)  # class 0: 2/3, class 1: 0.8
        0.7333
    """

    name = "f1"

    def _values(self, tp, pred, true):
        return self._div(2 * tp, pred + true)


F1Score = F1
