"""Module 16: everything together: `tinytorch.gpt.train` overfits a tiny repeating corpus."""

import math

import numpy as np
import pytest
import tinytorch.tensor as tt
from tinytorch.data import TextDataset
from tinytorch.gpt import CharTokenizer, GPTConfig, TinyGPT, TrainConfig, train


@pytest.fixture(autouse=True)
def _numpy_backend():
    with tt.use_backend("numpy"):
        yield


def test_tiny_overfit():
    tt.manual_seed(0)
    tok = CharTokenizer().fit("abcdefgh")
    data = TextDataset(tok.encode("abcdefgh" * 40), block_size=8)
    model = TinyGPT(GPTConfig(vocab_size=8, block_size=8, n_layer=1, n_head=2, n_embd=16))
    cfg = TrainConfig(
        max_iters=60,
        batch_size=8,
        learning_rate=1e-2,
        warmup_iters=5,
        lr_decay_iters=60,
        eval_interval=30,
        eval_iters=2,
    )
    history = train(model, data, cfg, progress=False, log=None)
    assert history["iter"] == [0, 30, 60]
    start, end = history["val_loss"][0], history["val_loss"][-1]
    assert abs(start - math.log(8)) < 0.1  # chance level at the start
    assert end < 0.25 * start, history["val_loss"]
    assert np.mean(history["step_loss"][-5:]) < np.mean(history["step_loss"][:5]) / 4
    # the trained model continues the pattern
    out = model.generate(tok.encode("abc"), max_new_tokens=8, temperature=0)
    assert tok.decode(out) == "abcdefghabc"
