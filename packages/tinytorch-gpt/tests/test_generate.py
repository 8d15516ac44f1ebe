"""Generation: the KV cache gives the same tokens as the full recomputation; sampling options."""

from __future__ import annotations

import numpy as np
import pytest
import tinytorch.tensor as tt
from tinytorch.gpt import GPTConfig, TinyGPT, context_start, generate, sample_logits

CFG = GPTConfig(vocab_size=13, block_size=10, n_layer=2, n_head=2, n_embd=16)


@pytest.fixture(scope="module")
def model():
    tt.manual_seed(1)
    m = TinyGPT(CFG)
    # Sharpen the random model a little so that sampling is not uniform noise.
    for p in m.parameters():
        p.data *= 4
    return m


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(seed=0),
        dict(seed=1, temperature=0.7),
        dict(seed=2, top_k=3),
        dict(seed=3, top_p=0.8, temperature=1.3),
        dict(seed=4, temperature=0),
    ],
)
def test_cached_and_uncached_generation_give_the_same_tokens(model, kwargs):
    prompt = [1, 2, 3]
    # 40 new tokens: far past block_size 10, so the window restarts several times
    a = generate(model, prompt, 40, use_cache=True, **kwargs)
    b = generate(model, prompt, 40, use_cache=False, **kwargs)
    assert a.shape == (43,)
    np.testing.assert_array_equal(a, b)


def test_batched_generation_matches_one_by_one_for_greedy(model):
    prompts = np.array([[1, 2, 3], [4, 5, 6]])
    both = generate(model, prompts, 15, temperature=0)
    for i in range(2):
        np.testing.assert_array_equal(both[i], generate(model, prompts[i], 15, temperature=0))
    np.testing.assert_array_equal(
        both, generate(model, prompts, 15, temperature=0, use_cache=False)
    )


def test_same_seed_same_tokens_other_seed_other_tokens(model):
    a = generate(model, [0], 30, seed=11)
    assert np.array_equal(a, generate(model, [0], 30, seed=11))
    assert not np.array_equal(a, generate(model, [0], 30, seed=12))


def test_generation_restores_training_mode(model):
    model.train()
    generate(model, [0], 2, seed=0)
    assert model.training
    model.eval()
    generate(model, [0], 2, seed=0)
    assert not model.training


def test_long_prompt_is_cropped_to_its_last_block_size_tokens(model):
    long_prompt = list(np.random.default_rng(0).integers(0, 13, size=25))
    out = generate(model, long_prompt, 6, seed=5)
    assert out.shape == (31,) and out[:25].tolist() == long_prompt  # returned in full
    cropped = generate(model, long_prompt[-CFG.block_size :], 6, seed=5)
    assert out[25:].tolist() == cropped[CFG.block_size :].tolist()  # conditioned on the last 10
    assert (
        out[25:].tolist() == generate(model, long_prompt, 6, seed=5, use_cache=False)[25:].tolist()
    )


def test_context_window_rule():
    # grows to block_size, then restarts from the last block_size // 2 tokens
    starts, start = [], 0
    for length in range(1, 26):
        start = context_start(length, start, 10)
        starts.append(start)
        assert 1 <= length - start <= 10
    assert starts[:10] == [0] * 10 and starts[10] == 6  # 11 tokens -> keep the last 5


def test_bad_generation_arguments(model):
    with pytest.raises(ValueError, match="outside the vocabulary"):
        generate(model, [13], 1)
    with pytest.raises(ValueError, match="non-empty"):
        generate(model, [], 1)
    with pytest.raises(TypeError, match="integers"):
        generate(model, [1.5], 1)
    with pytest.raises(ValueError, match="temperature"):
        generate(model, [1], 1, temperature=-1)
    with pytest.raises(ValueError, match="top_k"):
        generate(model, [1], 1, top_k=0)
    with pytest.raises(ValueError, match="top_p"):
        generate(model, [1], 1, top_p=1.5)
    assert generate(model, [1, 2], 0).tolist() == [1, 2]


def test_sample_logits_filters():
    rng = np.random.default_rng(0)
    logits = np.log(np.array([[0.5, 0.3, 0.15, 0.05]] * 4000))
    draws = sample_logits(logits, rng=rng)
    freq = np.bincount(draws, minlength=4) / len(draws)
    np.testing.assert_allclose(freq, [0.5, 0.3, 0.15, 0.05], atol=0.03)
    assert set(sample_logits(logits, top_k=2, rng=rng).tolist()) == {0, 1}
    # top_p=0.7: 0.5 alone is short of 0.7, 0.5 + 0.3 reaches it
    assert set(sample_logits(logits, top_p=0.7, rng=rng).tolist()) == {0, 1}
    assert set(sample_logits(logits, top_p=0.01, rng=rng).tolist()) == {0}
    cold = sample_logits(logits, temperature=0.05, rng=rng)
    assert (cold == 0).mean() > 0.99
    assert sample_logits(logits[:1], temperature=0).tolist() == [0]
