"""Metrics against hand-computed values."""

import numpy as np
import pytest
import tinytorch.tensor as tt
from tinytorch.train import (
    F1,
    Accuracy,
    Precision,
    Recall,
    TopKAccuracy,
    compute_confusion_matrix,
)

# 3 classes; rows of the confusion matrix by hand:
#   true 0: pred 0,0,1      -> [2, 1, 0]
#   true 1: pred 1,2        -> [0, 1, 1]
#   true 2: pred 2,2,2,0    -> [1, 0, 3]
Y_TRUE = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2])
Y_PRED = np.array([0, 0, 1, 1, 2, 2, 2, 2, 0])


def test_confusion_matrix_by_hand():
    cm = compute_confusion_matrix(Y_TRUE, Y_PRED, num_classes=3)
    assert cm.tolist() == [[2, 1, 0], [0, 1, 1], [1, 0, 3]]
    assert compute_confusion_matrix(Y_TRUE, Y_PRED, 4).shape == (4, 4)
    with pytest.raises(ValueError, match="out of range"):
        compute_confusion_matrix(Y_TRUE, Y_PRED, num_classes=2)
    with pytest.raises(ValueError, match="9 targets but 2 predictions"):
        compute_confusion_matrix(Y_TRUE, [0, 1])


def test_confusion_matrix_from_logits_tensor():
    logits = tt.tensor(np.eye(3, dtype=np.float32)[Y_PRED] * 5)
    assert compute_confusion_matrix(Y_TRUE, logits, 3).tolist() == [[2, 1, 0], [0, 1, 1], [1, 0, 3]]


def test_accuracy_accumulates_over_batches():
    acc = Accuracy()
    acc.update(Y_PRED[:4], Y_TRUE[:4])  # 3 of 4
    acc.update(Y_PRED[4:], Y_TRUE[4:])  # 3 of 5
    assert acc.compute() == pytest.approx(6 / 9)
    logits = np.eye(3)[Y_PRED]
    assert Accuracy()(logits, tt.tensor(Y_TRUE)) == pytest.approx(6 / 9)
    onehot = np.eye(3)[Y_TRUE]
    assert Accuracy()(logits, onehot) == pytest.approx(6 / 9)
    acc.reset()
    assert acc.compute() == 0.0


def test_topk():
    logits = np.array([[0.1, 0.5, 0.4], [0.7, 0.2, 0.1], [0.3, 0.3, 0.4], [0.2, 0.5, 0.3]])
    y = np.array([2, 1, 0, 0])
    # top1: [1, 0, 2, 1] -> 0 hits; top2: {1,2} {0,1} {2, 0 or 1} {1,2} -> hits: 2 in, 1 in, ?, no
    assert TopKAccuracy(1)(logits, y) == 0.0
    top2 = TopKAccuracy(2)
    top2.update(logits[:2], y[:2])
    top2.update(logits[3:], y[3:])
    assert top2.compute() == pytest.approx(2 / 3)
    assert TopKAccuracy(3)(logits, y) == 1.0
    assert TopKAccuracy(2).name == "top2_accuracy"
    with pytest.raises(ValueError):
        TopKAccuracy(0)


def test_precision_recall_f1_by_hand():
    # columns (predicted) sums: [3, 2, 4]; rows (true) sums: [3, 2, 4]; tp = [2, 1, 3]
    p = np.array([2 / 3, 1 / 2, 3 / 4])
    r = np.array([2 / 3, 1 / 2, 3 / 4])
    f1 = 2 * p * r / (p + r)
    for cls, expected in ((Precision, p), (Recall, r), (F1, f1)):
        m = cls()
        m.update(Y_PRED[:5], Y_TRUE[:5])
        m.update(Y_PRED[5:], Y_TRUE[5:])
        assert m.compute() == pytest.approx(expected.mean())
        assert np.allclose(cls(average=None)(Y_PRED, Y_TRUE), expected)
        assert cls(average="micro")(Y_PRED, Y_TRUE) == pytest.approx(6 / 9)


def test_precision_recall_asymmetric():
    pred, true = np.array([0, 1, 1, 1]), np.array([0, 0, 1, 1])
    assert Precision(average=None)(pred, true).tolist() == pytest.approx([1.0, 2 / 3])
    assert Recall(average=None)(pred, true).tolist() == pytest.approx([0.5, 1.0])
    assert F1(average=None)(pred, true).tolist() == pytest.approx([2 / 3, 0.8])
    # weighted by support (2 and 2)
    assert Recall(average="weighted")(pred, true) == pytest.approx(0.75)
    # a class never predicted nor present is left out of the macro average
    assert Precision(num_classes=5)(pred, true) == pytest.approx((1.0 + 2 / 3) / 2)
    with pytest.raises(ValueError, match="average"):
        F1(average="bogus")


def test_metric_state_round_trip():
    a = F1()
    a.update(Y_PRED[:4], Y_TRUE[:4])
    b = F1()
    b.load_state_dict(a.state_dict())
    a.update(Y_PRED[4:], Y_TRUE[4:])
    b.update(Y_PRED[4:], Y_TRUE[4:])
    assert a.compute() == b.compute()
