"""Losses: values against independent numpy, reductions, ignore_index, label smoothing, gradcheck, errors."""

import numpy as np
import pytest
import tinytorch.tensor as tt
from tinytorch import nn
from tinytorch.autograd import gradcheck
from tinytorch.nn import functional as F

RNG = np.random.default_rng(0)


def leaf(a):
    return tt.tensor(np.asarray(a, dtype=np.float64), requires_grad=True)


def _log_softmax(a, axis=1):
    s = a - a.max(axis=axis, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=axis, keepdims=True))


def _ce_ref(logits, target, ignore_index=-100, eps=0.0, weight=None, reduction="mean"):
    """Cross-entropy written out per element, independently of the implementation."""
    c = logits.shape[1]
    lp = _log_softmax(logits, 1)
    lp = np.moveaxis(lp, 1, -1).reshape(-1, c)
    t = target.reshape(-1)
    w = np.ones(c) if weight is None else weight
    nll, smooth, wsum, count = [], [], 0.0, 0
    for i, ti in enumerate(t):
        if ti == ignore_index:
            nll.append(0.0)
            smooth.append(0.0)
            continue
        nll.append(-w[ti] * lp[i, ti])
        smooth.append(-(w * lp[i]).sum())
        wsum += w[ti]
        count += 1
    nll, smooth = np.array(nll), np.array(smooth)
    if reduction == "mean":
        return (1 - eps) * nll.sum() / wsum + eps / c * smooth.sum() / (
            wsum if weight is not None else count
        )
    if reduction == "sum":
        return (1 - eps) * nll.sum() + eps / c * smooth.sum()
    return ((1 - eps) * nll + eps / c * smooth).reshape(target.shape)


CE_CASES = [
    dict(shape=(5, 4), kwargs={}),
    dict(shape=(5, 4), kwargs={"label_smoothing": 0.2}),
    dict(shape=(5, 4), kwargs={"ignore_index": 1}),
    dict(shape=(5, 4), kwargs={"ignore_index": 1, "label_smoothing": 0.1, "reduction": "sum"}),
    dict(shape=(5, 4), kwargs={"reduction": "none", "label_smoothing": 0.3}),
    dict(shape=(2, 3, 4), kwargs={}),
    dict(shape=(2, 3, 2, 2), kwargs={"ignore_index": 0, "label_smoothing": 0.1}),
    dict(shape=(2, 3, 2, 2), kwargs={"reduction": "none"}),
    dict(shape=(6, 3), kwargs={"weight": [0.2, 1.0, 3.0]}),
    dict(
        shape=(6, 3), kwargs={"weight": [0.2, 1.0, 3.0], "label_smoothing": 0.2, "ignore_index": 2}
    ),
]


@pytest.mark.parametrize("case", CE_CASES, ids=lambda c: f"{c['shape']}-{c['kwargs']}")
def test_cross_entropy_values_and_gradcheck(case):
    shape, kwargs = case["shape"], dict(case["kwargs"])
    logits = RNG.standard_normal(shape) * 2
    target = RNG.integers(0, shape[1], size=(shape[0],) + shape[2:])
    weight = kwargs.get("weight")
    ref = _ce_ref(
        logits,
        target,
        kwargs.get("ignore_index", -100),
        kwargs.get("label_smoothing", 0.0),
        None if weight is None else np.array(weight),
        kwargs.get("reduction", "mean"),
    )
    if weight is not None:
        kwargs["weight"] = tt.tensor(weight, dtype="float64")
    loss_fn = nn.CrossEntropyLoss(**kwargs)
    x = leaf(logits)
    np.testing.assert_allclose(loss_fn(x, tt.tensor(target)).numpy(), ref, rtol=1e-10)
    assert gradcheck(lambda x: loss_fn(x, tt.tensor(target)), [x])


def test_cross_entropy_probability_targets_and_unbatched():
    logits = RNG.standard_normal((4, 3))
    probs = _log_softmax(RNG.standard_normal((4, 3)))
    probs = np.exp(probs)
    ref = -(probs * _log_softmax(logits)).sum(1).mean()
    x = leaf(logits)
    np.testing.assert_allclose(F.cross_entropy(x, tt.tensor(probs)).item(), ref, rtol=1e-10)
    assert gradcheck(lambda x: F.cross_entropy(x, tt.tensor(probs), label_smoothing=0.1), [x])
    one = F.cross_entropy(tt.tensor(logits[0]), tt.tensor(2))
    np.testing.assert_allclose(one.item(), -_log_softmax(logits[:1])[0, 2], rtol=1e-6)


def test_cross_entropy_large_logits_are_stable():
    x = tt.tensor([[1000.0, 0.0], [0.0, -1000.0]])
    loss = F.cross_entropy(x, tt.tensor([0, 1]), reduction="none")
    np.testing.assert_allclose(loss.numpy(), [0.0, 1000.0])


def test_nll_loss_values_and_gradcheck():
    logp = _log_softmax(RNG.standard_normal((6, 4)))
    target = np.array([0, 3, 1, 1, -100, 2])
    ref = -np.mean([logp[i, t] for i, t in enumerate(target) if t != -100])
    x = leaf(logp)
    np.testing.assert_allclose(nn.NLLLoss()(x, tt.tensor(target)).item(), ref, rtol=1e-12)
    assert gradcheck(lambda x: nn.NLLLoss(reduction="sum")(x, tt.tensor(target)), [x])
    w = np.array([1.0, 2.0, 0.5, 3.0])
    keep = target != -100
    ref_w = (
        -sum(w[t] * logp[i, t] for i, t in enumerate(target) if t != -100) / w[target[keep]].sum()
    )
    np.testing.assert_allclose(nn.NLLLoss(weight=w)(x, tt.tensor(target)).item(), ref_w, rtol=1e-12)


def test_mse_l1_values_reductions_gradcheck():
    a, b = RNG.standard_normal((3, 4)), RNG.standard_normal((3, 4))
    x = leaf(a)
    np.testing.assert_allclose(nn.MSELoss()(x, tt.tensor(b)).item(), ((a - b) ** 2).mean())
    np.testing.assert_allclose(nn.MSELoss("sum")(x, tt.tensor(b)).item(), ((a - b) ** 2).sum())
    np.testing.assert_allclose(nn.MSELoss("none")(x, tt.tensor(b)).numpy(), (a - b) ** 2)
    np.testing.assert_allclose(nn.L1Loss()(x, tt.tensor(b)).item(), np.abs(a - b).mean())
    y = leaf(b)
    assert gradcheck(lambda x, y: nn.MSELoss()(x, y), [x, y])
    assert gradcheck(lambda x: nn.L1Loss("sum")(x, tt.tensor(b)), [x])
    with pytest.raises(
        ValueError, match="mse_loss: input shape \\(3, 1\\) and target shape \\(3,\\)"
    ):
        nn.MSELoss()(tt.zeros(3, 1), tt.zeros(3))


@pytest.mark.parametrize("pos_weight", [None, [0.5, 2.0, 4.0]])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_bce_with_logits(pos_weight, reduction):
    x_np = RNG.standard_normal((5, 3)) * 3
    x_np[0, 0] = 0.0  # the kink of |x|: the gradient must still be sigmoid(x) - y
    y_np = (RNG.random((5, 3)) > 0.5).astype(np.float64)
    pw = np.ones(3) if pos_weight is None else np.array(pos_weight)
    sig = 1 / (1 + np.exp(-x_np))
    ref = -(pw * y_np * np.log(sig) + (1 - y_np) * np.log(1 - sig))
    ref = {"mean": ref.mean(), "sum": ref.sum(), "none": ref}[reduction]
    loss_fn = nn.BCEWithLogitsLoss(reduction=reduction, pos_weight=pos_weight)
    x = leaf(x_np)
    np.testing.assert_allclose(loss_fn(x, tt.tensor(y_np)).numpy(), ref, rtol=1e-10)
    assert gradcheck(lambda x: loss_fn(x, tt.tensor(y_np)), [x])
    if pos_weight is None and reduction == "sum":
        x.grad = None
        loss_fn(x, tt.tensor(y_np)).backward()
        np.testing.assert_allclose(x.grad.numpy(), sig - y_np, rtol=1e-12)


def test_bce_with_logits_extreme_logits_and_bce():
    loss = F.binary_cross_entropy_with_logits(
        tt.tensor([800.0, -800.0]), tt.tensor([0.0, 1.0]), reduction="none"
    )
    np.testing.assert_allclose(loss.numpy(), [800.0, 800.0])
    p = RNG.uniform(0.05, 0.95, (4,))
    y = np.array([0.0, 1.0, 1.0, 0.0])
    x = leaf(p)
    ref = -(y * np.log(p) + (1 - y) * np.log(1 - p)).mean()
    np.testing.assert_allclose(nn.BCELoss()(x, tt.tensor(y)).item(), ref, rtol=1e-12)
    assert gradcheck(lambda x: nn.BCELoss()(x, tt.tensor(y)), [x])
    with pytest.raises(ValueError, match="probabilities"):
        nn.BCELoss()(tt.tensor([1.5]), tt.tensor([1.0]))


def test_label_errors_name_loss_label_and_classes():
    with pytest.raises(ValueError) as info:
        nn.CrossEntropyLoss()(tt.zeros(2, 3), tt.tensor([0, 3]))
    msg = str(info.value)
    assert msg.startswith("CrossEntropyLoss:") and "label 3" in msg and "3 classes" in msg
    with pytest.raises(ValueError, match="nll_loss: target label -2 is out of range for 4 classes"):
        nn.NLLLoss()(tt.zeros(2, 4), tt.tensor([-2, 0]))
    nn.CrossEntropyLoss(ignore_index=-1)(
        tt.zeros(2, 3), tt.tensor([-1, 0])
    )  # ignored labels are fine
    with pytest.raises(ValueError, match="target shape \\(3,\\)"):
        nn.CrossEntropyLoss()(tt.zeros(2, 3), tt.tensor([0, 1, 2]))
    with pytest.raises(TypeError, match="integer class indices"):
        nn.NLLLoss()(tt.zeros(2, 3), tt.tensor([0.0, 1.0]))


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="reduction"):
        nn.MSELoss("avg")
    with pytest.raises(ValueError, match="label_smoothing"):
        nn.CrossEntropyLoss(label_smoothing=1.5)
    with pytest.raises(TypeError, match="ignore_index"):
        nn.CrossEntropyLoss(ignore_index=1.0)
    with pytest.raises(ValueError, match="weight"):
        F.cross_entropy(tt.zeros(2, 3), tt.tensor([0, 1]), weight=tt.ones(4))
    assert repr(nn.CrossEntropyLoss(label_smoothing=0.1)) == "CrossEntropyLoss(label_smoothing=0.1)"
    assert repr(nn.MSELoss("sum")) == "MSELoss(reduction='sum')"
