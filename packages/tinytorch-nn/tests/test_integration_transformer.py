"""A 2-layer transformer learns to copy: Embedding, 2 TransformerBlocks, a head.

Each sequence is ``x1 .. x8 SEP x1 .. x8``; the model predicts every next token after SEP.
No MLP or position-wise trick can do that: each output must attend back to the token
8 positions earlier, so it tests attention, the causal mask, the embeddings and all
their gradients together. Trained on fresh random sequences, it must copy sequences it
has never seen, generating them token by token.
"""

import numpy as np
import tinytorch.nn as nn
import tinytorch.tensor as tt
from tinytorch.autograd import no_grad

VOCAB, LENGTH, WIDTH, HEADS = 10, 8, 32, 4  # data tokens 0..9; token 10 is SEP
SEP = VOCAB
T = 2 * LENGTH + 1


class Copier(nn.Module):
    """Token + position embeddings, 2 pre-LN blocks, a final LayerNorm, a linear head."""

    def __init__(self):
        super().__init__()
        self.tok = nn.Embedding(VOCAB + 1, WIDTH)
        self.pos = nn.Embedding(T, WIDTH)
        self.blocks = nn.ModuleList(
            [nn.TransformerBlock(WIDTH, HEADS, mlp_ratio=2) for _ in range(2)]
        )
        self.ln = nn.LayerNorm(WIDTH)
        self.head = nn.Linear(WIDTH, VOCAB + 1)

    def forward(self, idx):
        # idx: (B, T) token ids -> logits (B, T, VOCAB + 1)
        x = self.tok(idx) + self.pos(tt.arange(idx.shape[1]))
        for block in self.blocks:
            x = block(x, is_causal=True)
        return self.head(self.ln(x))


def make_batch(rng, n):
    data = rng.integers(0, VOCAB, (n, LENGTH))
    seq = np.concatenate([data, np.full((n, 1), SEP), data], axis=1)  # (n, T)
    inputs, targets = seq[:, :-1], seq[:, 1:].copy()
    targets[:, :LENGTH] = -100  # the first half is random: only the copy is learned
    return tt.tensor(inputs), tt.tensor(targets)


def adam_step(params, state, t, lr=3e-3, b1=0.9, b2=0.98, eps=1e-8):
    for p, (m, v) in zip(params, state, strict=True):
        g = p.grad.data
        m[...] = b1 * m + (1 - b1) * g
        v[...] = b2 * v + (1 - b2) * g * g
        p.data -= (lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)).astype(p.data.dtype)


def copy_accuracy(model, rng, n=256):
    inputs, targets = make_batch(rng, n)
    with no_grad():
        pred = model(inputs).data.argmax(-1)
    keep = targets.data != -100
    return float((pred[keep] == targets.data[keep]).mean())


def generate_copy(model, data):
    """Greedy decoding: feed ``data SEP``, then append the model's own predictions one at a time."""
    seq = np.concatenate([data, np.full((len(data), 1), SEP)], axis=1)
    with no_grad():
        for _ in range(LENGTH):
            nxt = model(tt.tensor(seq)).data[:, -1].argmax(-1)
            seq = np.concatenate([seq, nxt[:, None]], axis=1)
    return seq[:, LENGTH + 1 :]


def test_two_layer_transformer_learns_to_copy():
    tt.manual_seed(0)
    rng = np.random.default_rng(0)
    model = Copier()
    loss_fn = nn.CrossEntropyLoss(ignore_index=-100)
    params = list(model.parameters())
    state = [(np.zeros_like(p.data), np.zeros_like(p.data)) for p in params]
    before = copy_accuracy(model, rng)
    assert before < 0.3  # untrained: about chance (1 in 10)

    acc = 0.0
    for step in range(1, 801):
        inputs, targets = make_batch(rng, 64)
        for p in params:
            p.grad = None
        logits = model(inputs)  # (B, T, V)
        loss = loss_fn(logits.reshape(-1, VOCAB + 1), targets.reshape(-1))
        loss.backward()
        adam_step(params, state, step)
        if step % 25 == 0:
            acc = copy_accuracy(model, rng)
            if acc >= 0.995:
                break
    assert acc >= 0.995, f"copy accuracy only {acc:.3f} after {step} steps (loss {loss.item():.3f})"

    # Copies sequences it has never seen, generating each token from its own previous output.
    data = np.random.default_rng(123).integers(0, VOCAB, (16, LENGTH))
    np.testing.assert_array_equal(generate_copy(model, data), data)
