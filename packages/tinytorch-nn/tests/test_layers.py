"""Linear / Dense, containers, Flatten, Dropout, Embedding and init: values, gradcheck, errors."""

import math

import numpy as np
import pytest
import tinytorch.tensor as tt
from tinytorch import nn
from tinytorch.autograd import gradcheck
from tinytorch.nn import init


def gradcheck_module(module, *inputs):
    """gradcheck with respect to the inputs and every parameter, in float64."""
    module.double()
    params = list(module.parameters())
    n = len(inputs)
    return gradcheck(lambda *a: module(*a[:n]), list(inputs) + params)


def leaf(*shape, seed=0):
    rng = np.random.default_rng(seed)
    return tt.tensor(rng.standard_normal(shape), dtype="float64", requires_grad=True)


# ---------------------------------------------------------------- Linear / Dense
def test_linear_forward_matches_numpy_and_pytorch_init_range():
    tt.manual_seed(0)
    layer = nn.Linear(20, 7)
    bound = 1 / math.sqrt(20)
    w, b = layer.weight.numpy(), layer.bias.numpy()
    assert w.shape == (7, 20) and b.shape == (7,)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.8 * bound
    assert np.abs(b).max() <= bound
    x = np.random.default_rng(1).standard_normal((3, 20)).astype(np.float32)
    np.testing.assert_allclose(layer(tt.tensor(x)).numpy(), x @ w.T + b, rtol=1e-5, atol=1e-6)
    x3 = np.random.default_rng(2).standard_normal((2, 5, 20)).astype(np.float32)
    np.testing.assert_allclose(layer(tt.tensor(x3)).numpy(), x3 @ w.T + b, rtol=1e-5, atol=1e-6)


def test_linear_seeded_init_is_reproducible():
    tt.manual_seed(123)
    a = nn.Linear(5, 5).weight.numpy().copy()
    tt.manual_seed(123)
    assert np.array_equal(nn.Linear(5, 5).weight.numpy(), a)


@pytest.mark.parametrize("bias", [True, False])
def test_linear_gradcheck(bias):
    assert gradcheck_module(nn.Linear(4, 3, bias=bias), leaf(5, 4))
    assert gradcheck_module(nn.Linear(4, 2), leaf(2, 3, 4))


def test_linear_shape_error_names_layer_and_shapes():
    with pytest.raises(ValueError) as info:
        nn.Linear(4, 3)(tt.zeros(2, 5))
    assert str(info.value) == (
        "Linear(in_features=4, out_features=3, bias=True): input has 5 features in its last "
        "dimension, expected 4 (input shape (2, 5))"
    )
    with pytest.raises(ValueError, match="expected 4"):
        nn.Linear(4, 3)(tt.zeros(2, 2, 2, 1))  # plain Linear never flattens


@pytest.mark.parametrize(
    "args, err",
    [((0, 3), ValueError), ((4, -1), ValueError), ((4.0, 3), TypeError), ((True, 3), TypeError)],
)
def test_linear_bad_arguments(args, err):
    with pytest.raises(err, match="Linear"):
        nn.Linear(*args)
    with pytest.raises(TypeError):
        nn.Linear(2, 2, bias="yes")


def test_dense_flattens_seed_style_input():
    tt.manual_seed(0)
    dense = nn.Dense(8 * 3 * 3, 5)
    assert isinstance(dense, nn.Linear)
    x = tt.randn(2, 8, 3, 3)
    np.testing.assert_allclose(dense(x).numpy(), nn.Linear.forward(dense, x.reshape(2, 72)).numpy())
    assert dense(tt.randn(4, 72)).shape == (4, 5)
    assert nn.Dense(4, 2)(tt.randn(3, 7, 4)).shape == (3, 7, 2)  # last dim matches: like Linear
    with pytest.raises(ValueError, match="Dense\\(in_features=72.*\\(2, 8, 3, 4\\)"):
        dense(tt.randn(2, 8, 3, 4))
    assert nn.Dense(3, 2, use_bias=False).bias is None
    x = leaf(2, 2, 3, 1)
    assert gradcheck_module(nn.Dense(6, 2), x)


# ---------------------------------------------------------------- containers
def test_sequential_list_positional_dict_and_indexing():
    a, r, b = nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)
    for seq in (nn.Sequential([a, r, b]), nn.Sequential(a, r, b)):
        assert len(seq) == 3 and seq[0] is a and seq[-1] is b and list(seq) == [a, r, b]
        assert seq.layers == [a, r, b]
        x = tt.randn(4, 2)
        np.testing.assert_allclose(seq(x).numpy(), b(r(a(x))).numpy())
        assert isinstance(seq[:2], nn.Sequential) and len(seq[:2]) == 2 and seq[:2][1] is r
    named = nn.Sequential({"enc": a, "act": r})
    assert [n for n, _ in named.named_children()] == ["enc", "act"]
    seq = nn.Sequential(a).append(r).append(b)
    assert [n for n, _ in seq.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    del seq[1]
    assert [n for n, _ in seq.named_children()] == ["0", "1"] and seq[1] is b
    seq[0] = nn.Linear(2, 3)
    assert seq[0] is not a
    with pytest.raises(IndexError, match="out of range"):
        seq[5]
    with pytest.raises(TypeError, match="ReLU\\(\\)"):
        nn.Sequential(nn.Linear(2, 2), nn.ReLU)  # the class, not an instance
    with pytest.raises(TypeError, match="item 0"):
        nn.Sequential([lambda x: x])


def test_mlp_builder():
    tt.manual_seed(0)
    mlp = nn.MLP([2, 8, 8, 3])
    assert [type(m).__name__ for m in mlp] == ["Linear", "ReLU", "Linear", "ReLU", "Linear"]
    assert mlp.num_parameters() == 2 * 8 + 8 + 8 * 8 + 8 + 8 * 3 + 3
    assert mlp(tt.randn(4, 2)).shape == (4, 3)
    m2 = nn.MLP(
        [4, 5, 1], activation=lambda: nn.LeakyReLU(0.2), output_activation=nn.Sigmoid, dropout=0.1
    )
    assert [type(m).__name__ for m in m2] == ["Linear", "LeakyReLU", "Dropout", "Linear", "Sigmoid"]
    assert type(nn.MLP([1, 2, 1], activation="tanh")[1]) is nn.Tanh
    with pytest.raises(ValueError, match="at least 2"):
        nn.MLP([3])
    with pytest.raises(ValueError, match="positive"):
        nn.MLP([3, 0, 1])
    with pytest.raises(ValueError, match="unknown activation"):
        nn.MLP([3, 4, 2], activation="swoosh")
    with pytest.raises(TypeError, match="not an instance"):
        nn.MLP([3, 4, 2], activation=nn.ReLU())
    assert gradcheck_module(nn.MLP([3, 4, 2], activation="tanh"), leaf(5, 3))


def test_module_list_and_dict_register_parameters():
    ml = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    assert len(ml) == 3 and len(list(ml.parameters())) == 6
    ml.append(nn.Linear(2, 1))
    ml.insert(0, nn.ReLU())
    assert [type(m).__name__ for m in ml] == ["ReLU", "Linear", "Linear", "Linear", "Linear"]
    assert [n for n, _ in ml.named_children()] == ["0", "1", "2", "3", "4"]
    del ml[0]
    assert isinstance(ml[0], nn.Linear) and isinstance(ml[1:], nn.ModuleList)
    md = nn.ModuleDict({"a": nn.Linear(2, 2)})
    md["b"] = nn.Linear(2, 3)
    assert list(md) == ["a", "b"] and "b" in md and len(list(md.parameters())) == 4
    with pytest.raises(NotImplementedError):
        ml(1)


def test_flatten():
    x = tt.randn(2, 3, 4, 5)
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Flatten(0)(x).shape == (120,)
    assert nn.Flatten(1, 2)(x).shape == (2, 12, 5)
    assert gradcheck(nn.Flatten(), [leaf(2, 3, 2)])
    with pytest.raises(TypeError):
        nn.Flatten(1.5)


# ---------------------------------------------------------------- Dropout
def test_dropout_train_and_eval():
    tt.manual_seed(0)
    drop = nn.Dropout(0.25)
    y = drop(tt.ones(200, 200)).numpy()
    assert set(np.unique(y)) == {0.0, np.float32(1 / 0.75)}
    assert abs((y == 0).mean() - 0.25) < 0.01
    assert abs(y.mean() - 1.0) < 0.02  # inverted dropout keeps the expectation
    drop.eval()
    x = tt.randn(3, 3)
    assert drop(x) is x
    drop.train()
    assert nn.Dropout(0.0)(x) is x
    assert not nn.Dropout(1.0)(x).numpy().any()
    for bad in (-0.1, 1.5, "0.5", True):
        with pytest.raises(ValueError, match="Dropout"):
            nn.Dropout(bad)


def test_dropout_is_seeded_and_gradient_uses_the_mask():
    tt.manual_seed(7)
    a = nn.Dropout(0.5)(tt.ones(50)).numpy()
    tt.manual_seed(7)
    b = nn.Dropout(0.5)(tt.ones(50)).numpy()
    assert np.array_equal(a, b)
    g = tt.Generator(3)
    x = tt.ones(40, requires_grad=True)
    y = nn.Dropout(0.5, generator=g)(x)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), y.numpy())  # d(mask * 2 * x)/dx = mask * 2


# ---------------------------------------------------------------- Embedding
def test_embedding_gathers_rows_and_scatters_gradients():
    tt.manual_seed(0)
    emb = nn.Embedding(6, 3)
    ids = tt.tensor([[0, 2, 2], [5, 1, 0]])
    out = emb(ids)
    assert out.shape == (2, 3, 3)
    np.testing.assert_array_equal(out.numpy(), emb.weight.numpy()[ids.numpy()])
    out.sum().backward()
    counts = np.bincount(ids.numpy().ravel(), minlength=6)[:, None] * np.ones((1, 3))
    np.testing.assert_array_equal(emb.weight.grad.numpy(), counts)  # repeated ids add up
    assert emb([1, 2]).shape == (2, 3)  # lists are accepted
    emb.double()
    assert gradcheck(lambda w: nn.functional.embedding(ids, w), [emb.weight])


def test_embedding_errors_and_padding_idx():
    emb = nn.Embedding(4, 2)
    with pytest.raises(IndexError) as info:
        emb(tt.tensor([1, 4]))
    assert (
        "Embedding(4, 2)" in str(info.value)
        and "index 4" in str(info.value)
        and "4 embeddings" in str(info.value)
    )
    with pytest.raises(IndexError, match="index -1"):
        emb(tt.tensor([-1]))
    with pytest.raises(TypeError, match="integers"):
        emb(tt.tensor([1.0]))
    with pytest.raises(ValueError):
        nn.Embedding(0, 2)
    with pytest.raises(ValueError):
        nn.Embedding(4, 2, padding_idx=4)
    pad = nn.Embedding(4, 2, padding_idx=-1)
    assert pad.padding_idx == 3 and not pad.weight.numpy()[3].any()
    pad.weight.data[3] = 5.0
    out = pad(tt.tensor([3, 1, 3]))
    assert out.numpy()[0].tolist() == [5.0, 5.0]  # forward still reads the row
    out.sum().backward()
    assert pad.weight.grad.numpy()[3].tolist() == [0.0, 0.0]  # but it gets no gradient
    assert pad.weight.grad.numpy()[1].tolist() == [1.0, 1.0]
    assert repr(pad) == "Embedding(4, 2, padding_idx=3)"


# ---------------------------------------------------------------- init
def test_fan_and_gain():
    assert init.calculate_fan_in_and_fan_out(tt.zeros(16, 3, 5, 5)) == (75, 400)
    assert init.calculate_fan_in_and_fan_out(tt.zeros(7, 20)) == (20, 7)
    with pytest.raises(ValueError, match="at least 2"):
        init.calculate_fan_in_and_fan_out(tt.zeros(3))
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    with pytest.raises(ValueError, match="unsupported nonlinearity"):
        init.calculate_gain("swish")


@pytest.mark.parametrize(
    "fn, expected_std",
    [
        (lambda t: init.xavier_uniform_(t), math.sqrt(2 / (400 + 300))),
        (lambda t: init.xavier_normal_(t, gain=2.0), 2 * math.sqrt(2 / (400 + 300))),
        (lambda t: init.kaiming_uniform_(t, nonlinearity="relu"), math.sqrt(2 / 400)),
        (lambda t: init.kaiming_normal_(t, nonlinearity="relu"), math.sqrt(2 / 400)),
        (
            lambda t: init.kaiming_normal_(t, mode="fan_out", nonlinearity="relu"),
            math.sqrt(2 / 300),
        ),
        (lambda t: init.normal_(t, 1.0, 0.5), 0.5),
        (lambda t: init.uniform_(t, -1, 1), 1 / math.sqrt(3)),
    ],
)
def test_initialiser_statistics(fn, expected_std):
    tt.manual_seed(0)
    t = tt.empty(300, 400)
    assert fn(t) is t
    assert t.numpy().std() == pytest.approx(expected_std, rel=0.02)


def test_initialisers_fill_in_place_and_are_seeded():
    p = nn.Parameter(np.empty((3, 4), dtype=np.float32))
    assert init.zeros_(p) is p and not p.numpy().any()
    assert init.ones_(p).numpy().min() == 1.0
    assert init.constant_(p, 0.5).numpy().max() == 0.5
    tt.manual_seed(5)
    a = init.xavier_uniform_(tt.empty(4, 4)).numpy().copy()
    tt.manual_seed(5)
    assert np.array_equal(init.xavier_uniform_(tt.empty(4, 4)).numpy(), a)
    g1, g2 = tt.Generator(1), tt.Generator(1)
    assert np.array_equal(
        init.normal_(tt.empty(5), generator=g1).numpy(),
        init.normal_(tt.empty(5), generator=g2).numpy(),
    )
    with pytest.raises(ValueError, match="mode"):
        init.kaiming_uniform_(tt.empty(2, 2), mode="fan_avg")
    with pytest.raises(TypeError, match="floating"):
        init.normal_(tt.zeros(2, dtype="int64"))
