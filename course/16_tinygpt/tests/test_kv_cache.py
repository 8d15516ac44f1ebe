"""Module 16, task kv_cache: cached attention gives the uncached logits; generate agrees."""

import numpy as np
import pytest
import tinytorch.tensor as tt
from tinytorch.autograd import no_grad
from tinytorch.gpt import GPTConfig, KVCache, TinyGPT, generate


@pytest.fixture(autouse=True)
def _numpy_backend():
    with tt.use_backend("numpy"), no_grad():
        yield


CFG = GPTConfig(vocab_size=19, block_size=16, n_layer=2, n_head=2, n_embd=16)


@pytest.fixture
def model():
    tt.manual_seed(0)
    return TinyGPT(CFG).eval()


def _ids(b, t, seed=0):
    return np.random.default_rng(seed).integers(0, CFG.vocab_size, (b, t))


def test_prefill_then_one_token_at_a_time_matches_the_full_forward(model):
    idx = _ids(2, 12)
    full = model(tt.tensor(idx)).data
    cache = KVCache(CFG, batch_size=2)
    got = [model(tt.tensor(idx[:, :5]), cache=cache).data]
    assert cache.length == 5
    for t in range(5, 12):
        got.append(model(tt.tensor(idx[:, t : t + 1]), cache=cache).data)
    assert cache.length == 12
    np.testing.assert_allclose(np.concatenate(got, axis=1), full, rtol=1e-4, atol=1e-5)


def test_several_new_tokens_after_a_cache(model):
    idx = _ids(1, 10, seed=1)
    full = model(tt.tensor(idx)).data
    cache = KVCache(CFG, batch_size=1)
    a = model(tt.tensor(idx[:, :3]), cache=cache).data
    b = model(tt.tensor(idx[:, 3:7]), cache=cache).data  # 4 new tokens after 3 cached ones
    c = model(tt.tensor(idx[:, 7:]), cache=cache).data
    np.testing.assert_allclose(np.concatenate([a, b, c], axis=1), full, rtol=1e-4, atol=1e-5)


def test_the_cache_holds_each_layers_keys_and_values(model):
    idx = _ids(2, 6, seed=2)
    cache = KVCache(CFG, batch_size=2)
    model(tt.tensor(idx), cache=cache)
    # layer 0's keys and values: the projections of ln1(token + position embeddings)
    x = tt.tensor(model.wte.weight.data[idx] + model.wpe.weight.data[:6])
    block = model.blocks[0]
    h = block.ln1(x)
    for proj, store in ((block.attn.k_proj, cache.keys[0]), (block.attn.v_proj, cache.values[0])):
        want = proj(h).data.reshape(2, 6, 2, 8).transpose(0, 2, 1, 3)
        np.testing.assert_allclose(store[:, :, :6], want, rtol=1e-4, atol=1e-5)
        assert not store[:, :, 6:].any()  # positions not reached yet stay empty
    assert all(np.abs(k[:, :, :6]).sum() > 0 for k in cache.keys + cache.values)


def test_reset_cache_is_refilled(model):
    idx = _ids(1, 8, seed=3)
    cache = KVCache(CFG, batch_size=1)
    model(tt.tensor(_ids(1, 8, seed=4)), cache=cache)
    cache.reset()
    got = model(tt.tensor(idx), cache=cache).data
    np.testing.assert_allclose(got, model(tt.tensor(idx)).data, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kw", [{"temperature": 0}, {"temperature": 1.0, "top_k": 5}])
def test_cached_and_uncached_generate_give_the_same_tokens(model, kw):
    prompt = _ids(2, 4, seed=5)
    # 30 new tokens run past block_size 16: the window restarts and the cache is refilled
    a = generate(model, prompt, 30, seed=11, use_cache=True, **kw)
    b = generate(model, prompt, 30, seed=11, use_cache=False, **kw)
    assert a.shape == (2, 34) and a.dtype == np.int64
    assert (a[:, :4] == prompt).all()
    assert a.tolist() == b.tolist()
