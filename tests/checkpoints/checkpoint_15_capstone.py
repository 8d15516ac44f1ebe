"""Can I build complete end-to-end ML systems from scratch?

TinyGPT end to end: a character tokenizer round-trips text, the model's training loss falls
on a small corpus, and generation with the KV cache gives the same tokens as without it.
"""

import numpy as np
import pytest

REQUIRES = ["tinytorch-tensor", "tinytorch-nn", "tinytorch-optim", "tinytorch-gpt"]

tt = pytest.importorskip("tinytorch.tensor")
gpt = pytest.importorskip("tinytorch.gpt")
optim = pytest.importorskip("tinytorch.optim")
nn = pytest.importorskip("tinytorch.nn")

TEXT = "to be or not to be, that is the question. " * 8


def test_tokenizer_round_trip():
    tok = gpt.CharTokenizer().fit(TEXT)
    assert tok.decode(tok.encode("to be")) == "to be"
    assert tok.vocab_size == len(set(TEXT))


def test_tinygpt_learns_and_generates_consistently():
    tt.manual_seed(0)
    tok = gpt.CharTokenizer().fit(TEXT)
    cfg = gpt.GPTConfig(vocab_size=tok.vocab_size, block_size=16, n_layer=1, n_head=2, n_embd=32)
    model = gpt.TinyGPT(cfg)
    ids = np.array(tok.encode(TEXT), dtype=np.int64)
    rng = np.random.default_rng(0)
    opt = optim.AdamW(model.parameters(), lr=3e-3)
    loss_fn = nn.CrossEntropyLoss()
    losses = []
    for _ in range(30):
        starts = rng.integers(0, len(ids) - 17, 8)
        x = np.stack([ids[s : s + 16] for s in starts])
        y = np.stack([ids[s + 1 : s + 17] for s in starts])
        logits = model(tt.tensor(x))
        loss = loss_fn(logits.reshape(-1, tok.vocab_size), tt.tensor(y.reshape(-1)))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.item()))
    assert np.mean(losses[-5:]) < np.mean(losses[:5]) * 0.8
    model.eval()
    prompt = tok.encode("to be")
    a = gpt.generate(model, prompt, max_new_tokens=12, seed=0, use_cache=True)
    b = gpt.generate(model, prompt, max_new_tokens=12, seed=0, use_cache=False)
    assert list(a) == list(b) and len(a) == len(prompt) + 12
