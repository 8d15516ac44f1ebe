"""The seed's `tinytorch.tinygpt` names are the real classes."""

from __future__ import annotations


def test_seed_imports_are_aliases_of_the_real_classes():
    from tinytorch import gpt, nn
    from tinytorch.tinygpt import CharTokenizer, MultiHeadAttention, TinyGPT

    assert CharTokenizer is gpt.CharTokenizer and TinyGPT is gpt.TinyGPT
    assert MultiHeadAttention is nn.MultiHeadAttention


def test_seed_style_usage():
    import tinytorch.tensor as tt
    from tinytorch.tinygpt import CharTokenizer, TinyGPT

    tt.manual_seed(0)
    text = "hello tinygpt"
    tok = CharTokenizer().fit(text)
    model = TinyGPT(vocab_size=tok.vocab_size, block_size=8, n_layer=1, n_head=2, n_embd=8)
    out = tok.decode(model.generate(tok.encode("hello"), max_new_tokens=5, seed=0))
    assert out.startswith("hello") and len(out) == 10 and set(out) <= set(text)
