"""MultiHeadAttention and TransformerBlock: shapes, masks, errors, gradcheck, PyTorch parity."""

import numpy as np
import pytest
import tinytorch.autograd  # noqa: F401  (records the graph)
import tinytorch.tensor as tt
from tinytorch.autograd import gradcheck
from tinytorch.nn.attention import FeedForward, MultiHeadAttention, TransformerBlock
from tinytorch.nn.functional.attention import padding_mask


def close(actual, expected, rtol):
    expected = np.asarray(expected)
    np.testing.assert_allclose(
        actual, expected, rtol=rtol, atol=rtol * max(1.0, float(np.abs(expected).max()))
    )


def randn(*shape, dtype="float32", seed=0, grad=False):
    data = np.random.default_rng(seed).standard_normal(shape)
    return tt.tensor(data, dtype=dtype, requires_grad=grad)


def test_mha_shapes_and_parameters():
    mha = MultiHeadAttention(16, 4)
    x = randn(2, 5, 16)
    assert mha(x).shape == (2, 5, 16)
    assert mha(x, randn(2, 7, 16, seed=1)).shape == (2, 5, 16)  # cross-attention
    out, w = mha(x, is_causal=True, return_weights=True)
    assert out.shape == (2, 5, 16) and w.shape == (2, 4, 5, 5)
    np.testing.assert_allclose(w.data.sum(-1), 1.0, rtol=1e-6)
    assert np.all(np.triu(w.data[0, 0], k=1) == 0)
    assert mha.head_dim == 4
    assert [n for n, _ in mha.named_parameters()] == [
        f"{p}_proj.{k}" for p in ("q", "k", "v", "out") for k in ("weight", "bias")
    ]
    assert mha.num_parameters() == 4 * (16 * 16 + 16)
    assert [n for n, _ in MultiHeadAttention(8, 2, bias=False).named_parameters()] == [
        "q_proj.weight",
        "k_proj.weight",
        "v_proj.weight",
        "out_proj.weight",
    ]


def test_mha_causal_output_does_not_see_the_future():
    mha = MultiHeadAttention(8, 2)
    x = randn(1, 6, 8)
    y = randn(1, 6, 8, seed=5)
    x2 = tt.tensor(
        np.concatenate([x.data[:, :3], y.data[:, 3:]], axis=1)
    )  # same prefix, other future
    a, b = mha(x, is_causal=True), mha(x2, is_causal=True)
    np.testing.assert_allclose(a.data[:, :3], b.data[:, :3], rtol=1e-6, atol=1e-7)
    assert not np.allclose(a.data[:, 3:], b.data[:, 3:])


def test_mha_padding_mask_ignores_padded_keys():
    mha = MultiHeadAttention(8, 2)
    x = randn(2, 5, 8)
    keep = padding_mask([3, 5], 5)
    out = mha(x, mask=keep)
    x2 = x.data.copy()
    x2[0, 3:] = 100.0  # change only the padded positions of sequence 0
    out2 = mha(tt.tensor(x2), mask=keep)
    np.testing.assert_allclose(out2.data[0, :3], out.data[0, :3], rtol=1e-5, atol=1e-6)


def test_mha_dropout_only_in_training():
    mha = MultiHeadAttention(8, 2, dropout=0.5)
    x = randn(2, 6, 8)
    tt.manual_seed(0)
    a = mha(x)
    b = mha(x)
    assert not np.allclose(a.data, b.data)
    mha.eval()
    np.testing.assert_array_equal(mha(x).data, mha(x).data)


def test_mha_errors_name_the_layer_and_shapes():
    mha = MultiHeadAttention(16, 4)
    with pytest.raises(ValueError) as err:
        mha(randn(2, 5, 16), mask=tt.ones(5, 6, dtype="bool"))
    assert str(err.value) == (
        "MultiHeadAttention(embed_dim=16, num_heads=4): mask of shape (5, 6) does not broadcast "
        "to the attention scores' shape (2, 4, 5, 5) (batch, heads, queries T, keys S)"
    )
    with pytest.raises(
        ValueError,
        match=r"MultiHeadAttention\(embed_dim=16, num_heads=4\): expected query of "
        r"shape \(B, T, 16\), got shape \(2, 5, 12\)",
    ):
        mha(randn(2, 5, 12))
    with pytest.raises(ValueError, match=r"expected key of shape \(B, T, 16\), got shape \(2, 5\)"):
        mha(randn(2, 5, 16), randn(2, 5))
    with pytest.raises(ValueError, match="must share the batch size"):
        mha(randn(2, 5, 16), randn(3, 5, 16))
    with pytest.raises(ValueError, match="embed_dim 10 is not divisible by num_heads 4"):
        MultiHeadAttention(10, 4)
    with pytest.raises(ValueError, match="dropout must be a probability"):
        MultiHeadAttention(8, 2, dropout=1.5)


def test_block_shapes_and_parameters():
    block = TransformerBlock(16, 4, mlp_ratio=2)
    assert block(randn(2, 5, 16), is_causal=True).shape == (2, 5, 16)
    names = [n for n, _ in block.named_parameters()]
    assert names[:2] == ["ln1.weight", "ln1.bias"] and "mlp.fc1.weight" in names
    assert block.mlp.fc1.weight.shape == (32, 16)
    assert FeedForward(8, 24)(randn(3, 8)).shape == (3, 8)
    with pytest.raises(ValueError, match="mlp_ratio must be a positive number"):
        TransformerBlock(8, 2, mlp_ratio=0)


def test_block_is_pre_ln_residual():
    # With both branches' output projections zeroed, the block is the identity (residuals only).
    block = TransformerBlock(8, 2)
    for lin in (block.attn.out_proj, block.mlp.fc2):
        lin.weight.data[...] = 0
        lin.bias.data[...] = 0
    x = randn(2, 4, 8)
    np.testing.assert_array_equal(block(x).data, x.data)


def test_mha_gradcheck_float64():
    tt.manual_seed(0)
    mha = MultiHeadAttention(6, 2).double()
    x = randn(2, 3, 6, dtype="float64", grad=True)
    kv = randn(2, 4, 6, dtype="float64", seed=1, grad=True)
    keep = padding_mask([2, 4], 4)
    params = list(mha.parameters())
    assert gradcheck(lambda x, kv, *p: mha(x, kv, mask=keep), [x, kv, *params])
    assert gradcheck(lambda x, *p: mha(x, is_causal=True), [x, *params])


def test_block_gradcheck_float64():
    tt.manual_seed(0)
    block = TransformerBlock(4, 2, mlp_ratio=2).double()
    x = randn(2, 3, 4, dtype="float64", grad=True)
    assert gradcheck(lambda x, *p: block(x, is_causal=True), [x, *block.parameters()])


# ------------------------------------------------------------------------------ PyTorch parity


def _copy_mha(torch, ours, ref):
    with torch.no_grad():
        ref.in_proj_weight.copy_(
            torch.from_numpy(
                np.concatenate(
                    [ours.q_proj.weight.data, ours.k_proj.weight.data, ours.v_proj.weight.data]
                )
            )
        )
        ref.in_proj_bias.copy_(
            torch.from_numpy(
                np.concatenate(
                    [ours.q_proj.bias.data, ours.k_proj.bias.data, ours.v_proj.bias.data]
                )
            )
        )
        ref.out_proj.weight.copy_(torch.from_numpy(ours.out_proj.weight.data))
        ref.out_proj.bias.copy_(torch.from_numpy(ours.out_proj.bias.data))


def _mha_grads(ours):
    return [
        np.concatenate(
            [
                ours.q_proj.weight.grad.data,
                ours.k_proj.weight.grad.data,
                ours.v_proj.weight.grad.data,
            ]
        ),
        np.concatenate(
            [ours.q_proj.bias.grad.data, ours.k_proj.bias.grad.data, ours.v_proj.bias.grad.data]
        ),
        ours.out_proj.weight.grad.data,
        ours.out_proj.bias.grad.data,
    ]


@pytest.mark.parametrize("kind", ["self", "causal", "padding", "cross"])
def test_mha_parity_with_pytorch(kind):
    torch = pytest.importorskip("torch")
    tt.manual_seed(0)
    ours = MultiHeadAttention(16, 4)
    for p in ours.parameters():  # non-zero biases, so that their gradients are compared too
        p.data[...] = np.random.default_rng(p.size).uniform(-0.3, 0.3, p.shape)
    ref = torch.nn.MultiheadAttention(16, 4, batch_first=True)
    _copy_mha(torch, ours, ref)
    q_np = np.random.default_rng(0).standard_normal((3, 5, 16)).astype(np.float32)
    kv_np = (
        np.random.default_rng(1)
        .standard_normal((3, 7 if kind == "cross" else 5, 16))
        .astype(np.float32)
    )
    q, qr = tt.tensor(q_np, requires_grad=True), torch.tensor(q_np, requires_grad=True)
    kv, kvr = tt.tensor(kv_np, requires_grad=True), torch.tensor(kv_np, requires_grad=True)
    if kind == "cross":
        out = ours(q, kv)
        out_ref = ref(qr, kvr, kvr, need_weights=False)[0]
    else:
        keep = {"self": None, "causal": None, "padding": padding_mask([5, 3, 4], 5)}[kind]
        out = ours(q, mask=keep, is_causal=kind == "causal")
        kwargs = {}
        if kind == "causal":
            kwargs["attn_mask"] = torch.triu(
                torch.ones(5, 5, dtype=torch.bool), 1
            )  # True = blocked in torch
        if kind == "padding":
            kwargs["key_padding_mask"] = torch.from_numpy(~keep.data[:, 0, 0])
        out_ref = ref(qr, qr, qr, need_weights=False, **kwargs)[0]
    close(out.data, out_ref.detach().numpy(), 1e-5)
    g = np.random.default_rng(2).standard_normal(out.shape).astype(np.float32)
    out.backward(tt.tensor(g))
    out_ref.backward(torch.from_numpy(g))
    close(q.grad.data, qr.grad.numpy(), 1e-4)
    if kind == "cross":
        close(kv.grad.data, kvr.grad.numpy(), 1e-4)
    refs = [
        ref.in_proj_weight.grad,
        ref.in_proj_bias.grad,
        ref.out_proj.weight.grad,
        ref.out_proj.bias.grad,
    ]
    for mine, theirs in zip(_mha_grads(ours), refs, strict=True):
        close(mine, theirs.numpy(), 1e-4)


def test_block_parity_with_pytorch():
    torch = pytest.importorskip("torch")
    tt.manual_seed(0)
    ours = TransformerBlock(16, 4, mlp_ratio=4)
    for p in ours.parameters():
        p.data[...] = np.random.default_rng(p.size).uniform(-0.3, 0.3, p.shape) + (
            1.0 if p.ndim == 1 and p.size == 16 else 0.0
        )
    tnn = torch.nn
    ln1, ln2 = tnn.LayerNorm(16), tnn.LayerNorm(16)
    mha = tnn.MultiheadAttention(16, 4, batch_first=True)
    fc1, fc2 = tnn.Linear(16, 64), tnn.Linear(64, 16)
    _copy_mha(torch, ours.attn, mha)
    with torch.no_grad():
        for mod, src in (
            (ln1, ours.ln1),
            (ln2, ours.ln2),
            (fc1, ours.mlp.fc1),
            (fc2, ours.mlp.fc2),
        ):
            mod.weight.copy_(torch.from_numpy(src.weight.data))
            mod.bias.copy_(torch.from_numpy(src.bias.data))
    causal = torch.triu(torch.ones(6, 6, dtype=torch.bool), 1)

    def ref_block(x):
        h = ln1(x)
        x = x + mha(h, h, h, attn_mask=causal, need_weights=False)[0]
        return x + fc2(tnn.functional.gelu(fc1(ln2(x)), approximate="tanh"))

    x_np = np.random.default_rng(0).standard_normal((2, 6, 16)).astype(np.float32)
    x, xr = tt.tensor(x_np, requires_grad=True), torch.tensor(x_np, requires_grad=True)
    out, out_ref = ours(x, is_causal=True), ref_block(xr)
    close(out.data, out_ref.detach().numpy(), 1e-5)
    g = np.random.default_rng(3).standard_normal(out.shape).astype(np.float32)
    out.backward(tt.tensor(g))
    out_ref.backward(torch.from_numpy(g))
    close(x.grad.data, xr.grad.numpy(), 1e-4)
    for mine, theirs in (
        (ours.ln1.weight, ln1.weight),
        (ours.ln2.bias, ln2.bias),
        (ours.mlp.fc1.weight, fc1.weight),
        (ours.mlp.fc2.bias, fc2.bias),
    ):
        close(mine.grad.data, theirs.grad.numpy(), 1e-4)
    for mine, theirs in zip(
        _mha_grads(ours.attn),
        [
            mha.in_proj_weight.grad,
            mha.in_proj_bias.grad,
            mha.out_proj.weight.grad,
            mha.out_proj.bias.grad,
        ], strict=True,
    ):
        close(mine, theirs.numpy(), 1e-4)
