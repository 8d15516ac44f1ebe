"""Parity with PyTorch (skipped without torch): outputs, input gradients and parameter gradients in float32.

Weights are copied from our modules into torch's; tolerances: outputs 1e-5 relative,
gradients 1e-4 (with a small absolute floor for values near zero).
"""

import numpy as np
import pytest
import tinytorch.tensor as tt
from tinytorch import nn
from tinytorch.nn import functional as F

torch = pytest.importorskip("torch")

OUT = dict(rtol=1e-5, atol=1e-6)
GRAD = dict(rtol=1e-4, atol=1e-5)


def _copy_params(ours, theirs):
    """Copy every parameter and buffer of ``ours`` into the torch module ``theirs`` (same names)."""
    theirs.load_state_dict(
        {k: torch.tensor(v.numpy().copy()) for k, v in ours.state_dict().items()}
    )


def _run_both(ours, theirs, x_np, upstream=None):
    """Forward both, backward a fixed random upstream gradient, return (ours_out, x), (theirs_out, tx)."""
    x = tt.tensor(x_np, requires_grad=True)
    tx = torch.tensor(x_np, requires_grad=True)
    y, ty = ours(x), theirs(tx)
    g = (
        np.random.default_rng(1).standard_normal(y.shape).astype(np.float32)
        if upstream is None
        else upstream
    )
    y.backward(tt.tensor(g))
    ty.backward(torch.tensor(g))
    return (y, x), (ty, tx)


def _check(ours, theirs, x_np, check_input_grad=True):
    (y, x), (ty, tx) = _run_both(ours, theirs, x_np)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), **OUT)
    if check_input_grad:
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), **GRAD)
    theirs_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(
            p.grad.numpy(), theirs_params[name].grad.numpy(), **GRAD, err_msg=name
        )


def _x(*shape, seed=0, scale=1.0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(np.float32)


@pytest.mark.parametrize(
    "ours_cls, torch_fn",
    [
        (lambda: nn.ReLU(), lambda: torch.nn.ReLU()),
        (lambda: nn.LeakyReLU(0.1), lambda: torch.nn.LeakyReLU(0.1)),
        (lambda: nn.Sigmoid(), lambda: torch.nn.Sigmoid()),
        (lambda: nn.Tanh(), lambda: torch.nn.Tanh()),
        (lambda: nn.GELU(), lambda: torch.nn.GELU(approximate="tanh")),
        (lambda: nn.GELU("none"), lambda: torch.nn.GELU()),
        (lambda: nn.SiLU(), lambda: torch.nn.SiLU()),
        (lambda: nn.Softmax(dim=1), lambda: torch.nn.Softmax(dim=1)),
        (lambda: nn.LogSoftmax(dim=0), lambda: torch.nn.LogSoftmax(dim=0)),
    ],
)
def test_activations(ours_cls, torch_fn):
    _check(ours_cls(), torch_fn(), _x(6, 7, scale=3))


@pytest.mark.parametrize("bias", [True, False])
def test_linear(bias):
    ours = nn.Linear(10, 6, bias=bias)
    theirs = torch.nn.Linear(10, 6, bias=bias)
    _copy_params(ours, theirs)
    _check(ours, theirs, _x(4, 10))
    ours.zero_grad()
    theirs.zero_grad()
    _check(ours, theirs, _x(2, 3, 10, seed=1))


def test_mlp_with_every_layer_kind():
    tt.manual_seed(0)
    ours = nn.Sequential(
        nn.Linear(5, 8),
        nn.BatchNorm1d(8),
        nn.GELU(),
        nn.Linear(8, 8),
        nn.LayerNorm(8),
        nn.Tanh(),
        nn.Linear(8, 3),
    )
    theirs = torch.nn.Sequential(
        torch.nn.Linear(5, 8),
        torch.nn.BatchNorm1d(8),
        torch.nn.GELU("tanh"),
        torch.nn.Linear(8, 8),
        torch.nn.LayerNorm(8),
        torch.nn.Tanh(),
        torch.nn.Linear(8, 3),
    )
    _copy_params(ours, theirs)
    _check(ours, theirs, _x(16, 5))


@pytest.mark.parametrize(
    "cls, tcls, shape",
    [
        (nn.BatchNorm1d, torch.nn.BatchNorm1d, (8, 4)),
        (nn.BatchNorm1d, torch.nn.BatchNorm1d, (4, 4, 6)),
        (nn.BatchNorm2d, torch.nn.BatchNorm2d, (3, 4, 5, 5)),
    ],
)
@pytest.mark.parametrize("momentum", [0.1, None])
def test_batchnorm_train_then_eval(cls, tcls, shape, momentum):
    ours, theirs = cls(4, momentum=momentum), tcls(4, momentum=momentum)
    ours.weight.data[...] = np.linspace(0.5, 2, 4)
    ours.bias.data[...] = np.linspace(-1, 1, 4)
    _copy_params(ours, theirs)
    for seed in range(3):
        ours.zero_grad()
        theirs.zero_grad()
        _check(ours, theirs, _x(*shape, seed=seed, scale=2) + 1)
    for name in ("running_mean", "running_var"):
        np.testing.assert_allclose(
            getattr(ours, name).numpy(), getattr(theirs, name).numpy(), **OUT
        )
    assert int(ours.num_batches_tracked.item()) == int(theirs.num_batches_tracked) == 3
    ours.eval()
    theirs.eval()
    ours.zero_grad()
    theirs.zero_grad()
    _check(ours, theirs, _x(*shape, seed=9))


@pytest.mark.parametrize("normalized_shape, shape", [(6, (3, 6)), ((4, 6), (2, 4, 6))])
def test_layernorm(normalized_shape, shape):
    ours, theirs = nn.LayerNorm(normalized_shape), torch.nn.LayerNorm(normalized_shape)
    ours.weight.data[...] = np.random.default_rng(3).uniform(0.5, 2, ours.weight.shape)
    ours.bias.data[...] = np.random.default_rng(4).standard_normal(ours.bias.shape)
    _copy_params(ours, theirs)
    _check(ours, theirs, _x(*shape, scale=3))


@pytest.mark.parametrize("padding_idx", [None, 2])
def test_embedding(padding_idx):
    ours = nn.Embedding(7, 5, padding_idx=padding_idx)
    theirs = torch.nn.Embedding(7, 5, padding_idx=padding_idx)
    _copy_params(ours, theirs)
    ids = np.array([[0, 2, 2, 6], [1, 2, 5, 0]])
    y, ty = ours(tt.tensor(ids)), theirs(torch.tensor(ids))
    g = _x(2, 4, 5, seed=2)
    y.backward(tt.tensor(g))
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), **OUT)
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), **GRAD)


def _loss_check(ours_fn, torch_fn, x_np, target_ours, target_torch):
    x = tt.tensor(x_np, requires_grad=True)
    tx = torch.tensor(x_np, requires_grad=True)
    loss, tloss = ours_fn(x, target_ours), torch_fn(tx, target_torch)
    np.testing.assert_allclose(loss.numpy(), tloss.detach().numpy(), **OUT)
    g = np.random.default_rng(5).standard_normal(loss.shape).astype(np.float32)
    loss.backward(tt.tensor(g))
    tloss.backward(torch.tensor(g))
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), **GRAD)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"label_smoothing": 0.1},
        {"ignore_index": 2},
        {"ignore_index": 0, "label_smoothing": 0.25},
        {"reduction": "sum", "label_smoothing": 0.1},
        {"reduction": "none", "ignore_index": 1},
        {"weight": [0.5, 1.0, 2.0, 0.1]},
        {"weight": [0.5, 1.0, 2.0, 0.1], "label_smoothing": 0.2, "ignore_index": 3},
    ],
)
@pytest.mark.parametrize("shape", [(8, 4), (2, 4, 3, 3)])
def test_cross_entropy(kwargs, shape):
    target = np.random.default_rng(7).integers(0, 4, size=(shape[0],) + shape[2:])
    tk = dict(kwargs)
    if "weight" in kwargs:
        tk["weight"] = torch.tensor(kwargs["weight"], dtype=torch.float32)
    _loss_check(
        nn.CrossEntropyLoss(**kwargs),
        torch.nn.CrossEntropyLoss(**tk),
        _x(*shape, scale=3),
        tt.tensor(target),
        torch.tensor(target),
    )


def test_cross_entropy_probability_targets():
    p = np.random.default_rng(8).dirichlet(np.ones(5), size=6).astype(np.float32)
    _loss_check(
        nn.CrossEntropyLoss(label_smoothing=0.1),
        torch.nn.CrossEntropyLoss(label_smoothing=0.1),
        _x(6, 5),
        tt.tensor(p),
        torch.tensor(p),
    )


@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_nll_loss(reduction):
    target = np.array([0, 3, 1, 1, 2, 3])
    logp = F.log_softmax(tt.tensor(_x(6, 4)), dim=1).numpy()
    _loss_check(
        nn.NLLLoss(reduction=reduction, ignore_index=1),
        torch.nn.NLLLoss(reduction=reduction, ignore_index=1),
        logp,
        tt.tensor(target),
        torch.tensor(target),
    )


@pytest.mark.parametrize("pos_weight", [None, [0.5, 2.0, 3.0]])
def test_bce_with_logits(pos_weight):
    y = (np.random.default_rng(9).random((5, 3)) > 0.5).astype(np.float32)
    x = _x(5, 3, scale=4)
    x[0, 0] = 0.0
    tpw = None if pos_weight is None else torch.tensor(pos_weight)
    _loss_check(
        nn.BCEWithLogitsLoss(pos_weight=pos_weight),
        torch.nn.BCEWithLogitsLoss(pos_weight=tpw),
        x,
        tt.tensor(y),
        torch.tensor(y),
    )


def test_mse_and_l1():
    t = _x(4, 3, seed=3)
    _loss_check(nn.MSELoss(), torch.nn.MSELoss(), _x(4, 3), tt.tensor(t), torch.tensor(t))
    _loss_check(
        nn.L1Loss("sum"), torch.nn.L1Loss(reduction="sum"), _x(4, 3), tt.tensor(t), torch.tensor(t)
    )


def test_state_dict_loads_from_torch_and_back():
    theirs = torch.nn.Sequential(
        torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.ReLU(), torch.nn.Linear(4, 2)
    )
    theirs(torch.randn(8, 3))  # move the running statistics
    ours = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    ours.eval()
    theirs.eval()
    x = _x(5, 3)
    np.testing.assert_allclose(
        ours(tt.tensor(x)).numpy(), theirs(torch.tensor(x)).detach().numpy(), **OUT
    )
    back = torch.nn.Sequential(
        torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.ReLU(), torch.nn.Linear(4, 2)
    )
    _copy_params(ours, back)
    back.eval()
    np.testing.assert_allclose(
        back(torch.tensor(x)).detach().numpy(), ours(tt.tensor(x)).numpy(), **OUT
    )
