"""Module 16, tasks block and forward: the pre-LN block, the whole TinyGPT forward pass."""

import math

import numpy as np
import pytest
import tinytorch.tensor as tt
from tinytorch.gpt import Block, GPTConfig, TinyGPT


@pytest.fixture(autouse=True)
def _numpy_backend():
    with tt.use_backend("numpy"):
        yield


CFG = GPTConfig(vocab_size=23, block_size=16, n_layer=2, n_head=2, n_embd=16)


def _randomize_norms(module, seed=0):
    """LayerNorms start as the identity affine map; give them weights that show up."""
    rng = np.random.default_rng(seed)
    for name, p in module.named_parameters():
        if "ln" in name:
            p.data[...] = rng.uniform(0.5, 1.5, p.shape).astype(np.float32)


def _block_definition(block, x):
    """x + attn(ln1(x)) (causal), then + mlp(ln2(.)), spelled with the block's own parts."""
    h = x + block.attn(block.ln1(x), is_causal=True)
    return h + block.proj(block.act(block.fc(block.ln2(h))))


def test_block_is_its_definition():
    tt.manual_seed(0)
    block = Block(CFG)
    _randomize_norms(block)
    x = tt.randn(2, 7, 16)
    want = _block_definition(block, x).data
    for fused in (True, False):
        block.fused_attention = fused
        y = block(x)
        assert y.shape == (2, 7, 16)
        np.testing.assert_allclose(y.data, want, rtol=1e-4, atol=1e-5)


def test_block_is_causal():
    tt.manual_seed(1)
    block = Block(CFG)
    x = np.random.default_rng(0).standard_normal((1, 6, 16)).astype(np.float32)
    later = x.copy()
    later[:, 4:] += 3.0  # change the last two positions
    a, b = block(tt.tensor(x)).data, block(tt.tensor(later)).data
    np.testing.assert_allclose(a[:, :4], b[:, :4], rtol=1e-5, atol=1e-6)
    assert np.abs(a[:, 4:] - b[:, 4:]).max() > 1e-2


def test_every_block_parameter_gets_a_gradient():
    tt.manual_seed(2)
    block = Block(CFG)
    x = tt.randn(2, 5, 16, requires_grad=True)
    (block(x) ** 2).sum().backward()
    for name, p in block.named_parameters():
        assert p.grad is not None and np.abs(p.grad.data).sum() > 0, name
    assert x.grad is not None and x.grad.shape == (2, 5, 16)


def _model(seed=0, cfg=CFG):
    tt.manual_seed(seed)
    model = TinyGPT(cfg)
    _randomize_norms(model, seed)
    return model.eval()


def _ids(b, t, seed=0, v=CFG.vocab_size):
    return np.random.default_rng(seed).integers(0, v, (b, t))


def test_forward_shape_and_definition():
    model = _model()
    idx = _ids(2, 9)
    logits = model(tt.tensor(idx))
    assert logits.shape == (2, 9, CFG.vocab_size) and logits.dtype == np.float32
    # token + position embeddings, the blocks, the final norm, the head tied to wte
    x = tt.tensor(model.wte.weight.data[idx] + model.wpe.weight.data[:9])
    for block in model.blocks:
        x = _block_definition(block, x)
    want = model.ln_f(x).data @ model.wte.weight.data.T
    np.testing.assert_allclose(logits.data, want, rtol=1e-4, atol=1e-5)


def test_positions_matter():
    model = _model()
    logits = model(tt.tensor([[5, 5, 5]])).data
    assert np.abs(logits[0, 0] - logits[0, 2]).max() > 1e-3


def test_the_head_is_tied_to_the_token_embedding():
    model = _model()
    assert model.lm_head.weight is model.wte.weight
    idx = np.array([[1, 2, 3, 4]])
    targets = np.array([[2, 3, 4, 5]])
    model.loss(idx, targets).backward()
    grad = model.wte.weight.grad.data
    # token 20 is not in the input: only the head, through the tied weight, gives it a gradient
    assert np.abs(grad[20]).sum() > 0
    # changing that row changes the logits of token 20 only
    before = model(tt.tensor(idx)).data
    model.wte.weight.data[20] += 1.0
    after = model(tt.tensor(idx)).data
    changed = np.abs(after - before).max(axis=(0, 1)) > 1e-4
    assert changed.tolist() == [i == 20 for i in range(CFG.vocab_size)]


def test_forward_is_causal():
    model = _model(3)
    idx = _ids(2, 12, seed=1)
    full = model(tt.tensor(idx)).data
    prefix = model(tt.tensor(idx[:, :7])).data
    np.testing.assert_allclose(full[:, :7], prefix, rtol=1e-4, atol=1e-5)
    changed = idx.copy()
    changed[:, 7:] = (changed[:, 7:] + 1) % CFG.vocab_size
    other = model(tt.tensor(changed)).data
    np.testing.assert_allclose(other[:, :7], full[:, :7], rtol=1e-4, atol=1e-5)
    assert np.abs(other[:, 7:] - full[:, 7:]).max() > 1e-3


def test_loss_at_initialisation_is_about_ln_vocab():
    cfg = GPTConfig(vocab_size=50, block_size=16, n_layer=2, n_head=2, n_embd=32)
    tt.manual_seed(4)
    model = TinyGPT(cfg)
    idx, targets = _ids(4, 16, seed=2, v=50), _ids(4, 16, seed=3, v=50)
    loss = model.loss(idx, targets).item()
    assert abs(loss - math.log(50)) < 0.05, loss
