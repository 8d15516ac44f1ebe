"""TinyGPT: shapes, weight tying, init, the KV-cache forward, bad input, PyTorch parity."""

from __future__ import annotations

import numpy as np
import pytest
import tinytorch.tensor as tt
from tinytorch.autograd import no_grad
from tinytorch.gpt import GPTConfig, KVCache, TinyGPT

SMALL = GPTConfig(vocab_size=11, block_size=12, n_layer=2, n_head=2, n_embd=16)


@pytest.fixture()
def model():
    tt.manual_seed(0)
    return TinyGPT(SMALL)


def ids(b, t, v=11, seed=0):
    return np.random.default_rng(seed).integers(0, v, size=(b, t))


def test_baby_config_matches_nanogpt():
    cfg = GPTConfig.baby()
    assert (cfg.n_layer, cfg.n_head, cfg.n_embd, cfg.block_size) == (4, 4, 128, 64)
    assert cfg.dropout == 0.0 and cfg.bias is False
    model = TinyGPT(cfg)
    # nanoGPT prints "number of parameters: 0.80M" for it (position table excluded)
    assert model.num_parameters(non_embedding=True) == 795_904
    assert model.num_parameters() == 795_904 + 64 * 128


def test_forward_shapes_and_loss(model):
    logits = model(ids(3, 7))
    assert logits.shape == (3, 7, 11)
    loss = model.loss(ids(3, 7), ids(3, 7, seed=1))
    assert abs(loss.item() - np.log(11)) < 0.3  # small init: near uniform


def test_weight_tying_gets_gradient_from_both_uses(model):
    assert model.lm_head.weight is model.wte.weight
    names = [n for n, _ in model.named_parameters()]
    assert "lm_head.weight" not in names  # a tied parameter is listed once
    model.loss(ids(2, 5), ids(2, 5, seed=1)).backward()
    g = model.wte.weight.grad.numpy()
    used = set(ids(2, 5).ravel())
    unused = [i for i in range(11) if i not in used]
    # rows never looked up still get gradient through the head
    assert np.abs(g[unused]).sum() > 0


def test_initialisation_follows_gpt2(model):
    std = lambda p: float(np.std(p.numpy()))  # noqa: E731
    assert 0.015 < std(model.wte.weight) < 0.025
    assert 0.015 < std(model.blocks[0].fc.weight) < 0.025
    resid = 0.02 / np.sqrt(2 * SMALL.n_layer)
    assert abs(std(model.blocks[0].proj.weight) - resid) < 0.3 * resid
    assert abs(std(model.blocks[1].attn.out_proj.weight) - resid) < 0.3 * resid
    assert np.all(model.ln_f.weight.numpy() == 1)


def test_bias_option_adds_biases():
    with_bias = TinyGPT(SMALL.replace(bias=True))
    assert with_bias.blocks[0].fc.bias is not None and with_bias.ln_f.bias is not None
    assert with_bias.num_parameters() > TinyGPT(SMALL).num_parameters()


def test_too_long_input_is_an_error_naming_block_size(model):
    with pytest.raises(ValueError, match="block_size 12"):
        model(ids(1, 13))
    with pytest.raises(ValueError, match=r"\(B, T\)"):
        model(np.arange(5))


def test_config_validation_names_the_field():
    with pytest.raises(ValueError, match="n_embd .* divisible by n_head"):
        GPTConfig(n_embd=10, n_head=4)
    with pytest.raises(ValueError, match="block_size"):
        GPTConfig(block_size=0)
    with pytest.raises(ValueError, match="dropout"):
        GPTConfig(dropout=1.0)
    with pytest.raises(ValueError, match="unknown field.*n_layers"):
        GPTConfig.from_dict({"n_layers": 3})


@pytest.mark.parametrize("chunks", [[12], [5, 1, 1, 1, 4], [1] * 12, [3, 4, 5]])
def test_cached_forward_equals_the_full_forward(model, chunks):
    x = ids(2, 12, seed=3)
    model.eval()
    with no_grad():
        full = model(x).numpy()
        cache = KVCache(SMALL, batch_size=2)
        parts, pos = [], 0
        for n in chunks:
            parts.append(model(x[:, pos : pos + n], cache=cache).numpy())
            pos += n
        assert cache.length == 12 and cache.remaining == 0
    np.testing.assert_allclose(np.concatenate(parts, axis=1), full, rtol=1e-4, atol=1e-5)


def test_cache_overflow_and_batch_mismatch_are_errors(model):
    cache = KVCache(SMALL, batch_size=1)
    with no_grad():
        model(ids(1, 10), cache=cache)
        with pytest.raises(ValueError, match="exceed block_size|do not fit"):
            model(ids(1, 3), cache=cache)
        with pytest.raises(ValueError, match="cache holds 1"):
            model(ids(2, 1), cache=cache)
    with pytest.raises(ValueError, match="capacity"):
        KVCache(SMALL, 1, capacity=13)
    assert KVCache(SMALL, 3).nbytes == 2 * 2 * 3 * 2 * 12 * 8 * 4


# ----------------------------------------------------------------------------- PyTorch parity


def torch_twin(model: TinyGPT):
    """The same network written in PyTorch, with the TinyGPT's weights copied in."""
    torch = pytest.importorskip("torch")
    nn, F = torch.nn, torch.nn.functional
    cfg = model.config

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            c = cfg.n_embd
            self.ln1, self.ln2 = nn.LayerNorm(c, bias=False), nn.LayerNorm(c, bias=False)
            self.q, self.k, self.v, self.o = (nn.Linear(c, c, bias=False) for _ in range(4))
            self.fc, self.proj = nn.Linear(c, 4 * c, bias=False), nn.Linear(4 * c, c, bias=False)

        def forward(self, x):
            b, t, c = x.shape
            h = self.ln1(x)
            heads = (
                m(h).view(b, t, cfg.n_head, -1).transpose(1, 2) for m in (self.q, self.k, self.v)
            )
            q, k, v = heads
            a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.o(a.transpose(1, 2).reshape(b, t, c))
            return x + self.proj(F.gelu(self.fc(self.ln2(x))))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)
            self.wpe = nn.Embedding(cfg.block_size, cfg.n_embd)
            self.blocks = nn.ModuleList(Block() for _ in range(cfg.n_layer))
            self.ln_f = nn.LayerNorm(cfg.n_embd, bias=False)

        def forward(self, idx):
            x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1]))
            for blk in self.blocks:
                x = blk(x)
            return self.ln_f(x) @ self.wte.weight.T

    twin = GPT()
    names = {"attn.q_proj": "q", "attn.k_proj": "k", "attn.v_proj": "v", "attn.out_proj": "o"}
    state = {}
    for key, value in model.state_dict().items():
        if key == "lm_head.weight":
            continue
        for a, b in names.items():
            key = key.replace(a, b)
        state[key] = torch.from_numpy(np.array(value.numpy()))
    twin.load_state_dict(state)
    return torch, twin


def test_logits_loss_and_gradients_match_pytorch(model):
    torch, twin = torch_twin(model)
    x, y = ids(3, 12, seed=5), ids(3, 12, seed=6)
    loss = model.loss(x, y)
    loss.backward()
    tl = twin(torch.from_numpy(x))
    np.testing.assert_allclose(model(x).numpy(), tl.detach().numpy(), rtol=1e-4, atol=1e-5)
    tloss = torch.nn.functional.cross_entropy(tl.reshape(-1, 11), torch.from_numpy(y).reshape(-1))
    tloss.backward()
    assert abs(loss.item() - tloss.item()) < 1e-5
    np.testing.assert_allclose(
        model.wte.weight.grad.numpy(), twin.wte.weight.grad.numpy(), rtol=1e-3, atol=1e-6
    )
    np.testing.assert_allclose(
        model.blocks[0].attn.q_proj.weight.grad.numpy(),
        twin.blocks[0].q.weight.grad.numpy(),
        rtol=1e-3,
        atol=1e-6,
    )
    np.testing.assert_allclose(
        model.blocks[1].fc.weight.grad.numpy(),
        twin.blocks[1].fc.weight.grad.numpy(),
        rtol=1e-3,
        atol=1e-6,
    )


# ----------------------------------------------------------------------------- fused q, k, v path


def test_qkv_attention_op_gradcheck():
    from tinytorch.autograd import gradcheck
    from tinytorch.gpt._qkv import QKVCausalAttention
    from tinytorch.tensor import dispatch

    qkv = tt.randn(2, 5, 3 * 6, dtype="float64", requires_grad=True)
    assert gradcheck(lambda x: dispatch.apply(QKVCausalAttention(2), x), [qkv])


@pytest.mark.parametrize("backend", ["native", "numpy"])
def test_fused_attention_path_equals_multihead_attention(backend):
    tt.manual_seed(2)
    model = TinyGPT(SMALL.replace(bias=True))
    x, y = ids(2, 12, seed=8), ids(2, 12, seed=9)
    results = []
    with tt.use_backend(backend):
        for fused in (True, False):
            for blk in model.blocks:
                blk.fused_attention = fused
            model.zero_grad()
            loss = model.loss(x, y)
            loss.backward()
            grads = {n: p.grad.numpy().copy() for n, p in model.named_parameters()}
            results.append((loss.item(), grads))
    (l1, g1), (l2, g2) = results
    assert abs(l1 - l2) < 1e-6
    for name in g1:
        np.testing.assert_allclose(g1[name], g2[name], rtol=1e-4, atol=1e-7, err_msg=name)
    assert np.abs(g1["blocks.0.attn.k_proj.bias"]).max() < 1e-8  # softmax ignores a key shift
    assert np.abs(g1["blocks.0.attn.q_proj.weight"]).sum() > 0


def test_fused_path_refuses_double_backward(model):
    from tinytorch.autograd import backward

    loss = model.loss(ids(1, 4), ids(1, 4, seed=1))
    with pytest.raises(RuntimeError, match="gradients of gradients"):
        backward(loss, create_graph=True)
