"""Module 16, task sampling: greedy, temperature, top-k, top-p, and the inverse-transform draw."""

import math

import numpy as np
import pytest
import tinytorch.tensor as tt
from tinytorch.gpt import sample_logits


@pytest.fixture(autouse=True)
def _numpy_backend():
    with tt.use_backend("numpy"):
        yield


def _softmax(x):
    e = np.exp(x - x.max())
    return e / e.sum()


def _frequencies(logits, n, seed=0, **kw):
    """Draw n tokens from one row of logits (n identical rows: one call)."""
    rows = np.tile(np.asarray(logits, dtype=np.float64), (n, 1))
    ids = sample_logits(rows, rng=np.random.default_rng(seed), **kw)
    assert ids.shape == (n,) and ids.dtype == np.int64
    return np.bincount(ids, minlength=rows.shape[1]) / n


def test_greedy_is_the_argmax():
    logits = np.random.default_rng(0).standard_normal((6, 11))
    out = sample_logits(logits, temperature=0)
    assert out.dtype == np.int64 and out.shape == (6,)
    assert out.tolist() == logits.argmax(axis=-1).tolist()
    # a Tensor of logits works too
    assert sample_logits(tt.tensor(logits.astype(np.float32)), temperature=0).tolist() == (
        logits.argmax(axis=-1).tolist()
    )


def test_top_k_one_is_the_argmax_whatever_the_draw():
    logits = np.random.default_rng(1).standard_normal((5, 9))
    for seed in range(5):
        out = sample_logits(logits, temperature=1.5, top_k=1, rng=np.random.default_rng(seed))
        assert out.tolist() == logits.argmax(axis=-1).tolist()


def test_top_k_keeps_only_the_k_largest():
    logits = np.array([0.5, 3.0, -1.0, 2.0, 1.0, 0.0])
    freq = _frequencies(logits, 4000, top_k=3)
    assert set(np.flatnonzero(freq)) == {1, 3, 4}
    want = np.zeros(6)
    want[[1, 3, 4]] = _softmax(logits[[1, 3, 4]])
    np.testing.assert_allclose(freq, want, atol=5 * math.sqrt(0.25 / 4000))


def test_top_p_keeps_the_smallest_set_reaching_p():
    logits = np.log(np.array([0.1, 0.6, 0.3]))
    for top_p, kept in ((0.5, {1}), (0.55, {1}), (0.65, {1, 2}), (0.85, {1, 2}), (0.95, {0, 1, 2})):
        freq = _frequencies(logits, 3000, seed=1, top_p=top_p)
        assert set(np.flatnonzero(freq)) == kept, (top_p, freq)
    # what is kept is renormalised: 0.6 / 0.9 and 0.3 / 0.9
    freq = _frequencies(logits, 20000, seed=2, top_p=0.85)
    np.testing.assert_allclose(freq, [0.0, 2 / 3, 1 / 3], atol=5 * math.sqrt(0.25 / 20000))


@pytest.mark.parametrize("temperature", [0.5, 1.0, 2.0])
def test_frequencies_follow_softmax_of_logits_over_temperature(temperature):
    logits = np.array([2.0, 1.0, 0.5, -1.0, 0.0, 1.5])
    n = 20000
    freq = _frequencies(logits, n, seed=3, temperature=temperature)
    want = _softmax(logits / temperature)
    # 5 standard deviations of a frequency from n draws: binomial, sqrt(p (1 - p) / n)
    tol = 5 * np.sqrt(want * (1 - want) / n)
    assert (np.abs(freq - want) <= tol).all(), (freq, want, tol)
    # and the tolerance is tight enough to tell the temperatures apart
    other = _softmax(logits / (temperature * 1.5))
    assert (np.abs(freq - other) > tol).any()


def test_a_seeded_generator_gives_the_same_draws():
    logits = np.random.default_rng(4).standard_normal((8, 20))
    a = sample_logits(logits, top_k=10, top_p=0.9, rng=np.random.default_rng(7))
    b = sample_logits(logits, top_k=10, top_p=0.9, rng=np.random.default_rng(7))
    assert a.tolist() == b.tolist()
    assert ((a >= 0) & (a < 20)).all()
