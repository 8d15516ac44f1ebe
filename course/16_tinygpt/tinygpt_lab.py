# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Module 16 lab: TinyGPT, end to end
#
# You built the pieces of `tinytorch.gpt`: the character tokenizer
# (`tokenizers.py`), the pre-LN `Block` and the `TinyGPT` forward pass (`model.py`), the KV
# cache's attention (`_attend_with_cache` in `model.py`) and `sample_logits`
# (`generate.py`). This lab runs *your* package: it compares tokenizers, counts the model's
# parameters against the formula, trains a small model on the corpus that ships with the
# package, and times generation with and without the cache.

# %%
import math
import time

import numpy as np
import tinytorch.tensor as tt
from tinytorch.data import TextDataset
from tinytorch.gpt import (
    BPETokenizer,
    CharTokenizer,
    GPTConfig,
    KVCache,
    TinyGPT,
    TrainConfig,
    generate,
    tinytorch_corpus,
    train,
)

print("backend:", tt.get_backend())
text = tinytorch_corpus()
print(f"corpus: {len(text):,} characters")
print(text[:300])

# %% [markdown]
# ## 1. Tokenizers: characters vs byte-pair encoding
#
# A character tokenizer is exact and tiny, but every character is one step of the model. BPE
# learns merges of frequent byte pairs, so common words become one token: fewer, richer
# tokens for a bigger vocabulary (and a bigger embedding table).

# %%
char = CharTokenizer().fit(text)
t0 = time.perf_counter()
bpe = BPETokenizer.train(text, vocab_size=512)
print(f"BPE: learned {len(bpe.merges)} merges in {time.perf_counter() - t0:.2f} s")
print("first merges:", [bpe.token_bytes(256 + i) for i in range(8)])
print("longest tokens:", sorted(bpe.vocab, key=len)[-5:])

paragraph = (
    "The model is trained to predict the next token. Attention lets every position look at "
    "the earlier ones, and the cache keeps their keys and values so that generation does not "
    "recompute them."
)
n_bytes = len(paragraph.encode("utf-8"))
for name, tok in (("char", char), ("BPE 512", bpe)):
    ids = tok.encode(paragraph)
    print(
        f"{name:8s} vocab {tok.vocab_size:4d}: {len(ids):4d} tokens, "
        f"{n_bytes / len(ids):.2f} bytes per token"
    )
print("BPE pieces:", [bpe.decode([i]) for i in bpe.encode(paragraph)][:16])

# %% [markdown]
# An unknown character is an error that says where it is, unless the tokenizer has an
# ``unk_token``. BPE has no unknowns: it falls back to bytes.

# %%
try:
    char.encode("naïve ✓")
except ValueError as e:
    print(type(e).__name__, ":", e)
lenient = CharTokenizer(unk_token="?").fit(text)
print(lenient.decode(lenient.encode("naïve ✓")), "|", bpe.decode(bpe.encode("naïve ✓")))

# %% tags=["tests"]
assert char.decode(char.encode(paragraph)) == paragraph
assert char.chars == sorted(set(text))
assert bpe.decode(bpe.encode(paragraph)) == paragraph
assert len(bpe.encode(paragraph)) < len(char.encode(paragraph)) / 2  # BPE compresses > 2x

# %% [markdown]
# ## 2. Parameters: the model against the formula
#
# With no biases (nanoGPT's default), a block holds 4C² in the attention projections, 8C² in
# the MLP (C -> 4C -> C) and two LayerNorm weights (2C). Add the token table V·C (it is also
# the head: tied), the position table T·C and the final LayerNorm C.


# %%
def gpt_params(v, t, c, n_layer):
    return v * c + t * c + n_layer * (12 * c * c + 2 * c) + c


cfg = GPTConfig.baby(vocab_size=char.vocab_size)
tt.manual_seed(0)
baby = TinyGPT(cfg)
print(baby.blocks[0])
counted = baby.num_parameters()
formula = gpt_params(cfg.vocab_size, cfg.block_size, cfg.n_embd, cfg.n_layer)
print(f"baby TinyGPT: {counted:,} parameters (formula {formula:,}), {counted * 4 / 2**20:.2f} MiB")
untied = counted + cfg.vocab_size * cfg.n_embd
print(f"without weight tying it would be {untied:,} ({untied / counted - 1:.1%} more)")
for name, (v, t, c, n_layer) in {
    "GPT-2 small": (50257, 1024, 768, 12),  # without its biases
    "GPT-2 medium": (50257, 1024, 1024, 24),
}.items():
    n = gpt_params(v, t, c, n_layer)
    print(f"{name:13s}: {n / 1e6:6.1f}M parameters ({4 * n / 2**20:6.0f} MiB float32)")

# %% tags=["tests"]
assert counted == formula
assert baby.lm_head.weight is baby.wte.weight
rng = np.random.default_rng(0)
batch = rng.integers(0, cfg.vocab_size, (4, cfg.block_size))
targets = rng.integers(0, cfg.vocab_size, (4, cfg.block_size))
loss0 = baby.loss(batch, targets).item()
assert abs(loss0 - math.log(cfg.vocab_size)) < 0.1  # chance level before training

# %% [markdown]
# ## 3. Train on the corpus
#
# A small model (2 layers, width 64, context 32: about 110,000 parameters) for 1,000 steps of
# AdamW with warmup and cosine decay, on the characters of the package's own documentation
# (about 10 s of one core). The loss starts at ln(V), chance, and falls as the model learns
# which characters follow which: common words first, then some grammar.

# %%
ids = char.encode(text)
data = TextDataset(ids, block_size=32)
small = GPTConfig(vocab_size=char.vocab_size, block_size=32, n_layer=2, n_head=4, n_embd=64)
tt.manual_seed(0)
model = TinyGPT(small)
run = TrainConfig(
    max_iters=1000,
    batch_size=16,
    learning_rate=3e-3,
    warmup_iters=50,
    lr_decay_iters=1000,
    lr_schedule="cosine",  # nanoGPT's; the default "wsd" holds the peak lr longer
    eval_interval=250,
    eval_iters=10,
)
print(f"{model.num_parameters():,} parameters")
t0 = time.perf_counter()
history = train(model, data, run, progress=False)
elapsed = time.perf_counter() - t0
ms_per_step = 1e3 * history["train_time"] / run.max_iters
print(f"{run.max_iters} steps in {elapsed:.1f} s ({ms_per_step:.0f} ms per step)")
print(f"ln(V) = {math.log(char.vocab_size):.3f}")
prompt = char.encode("The model ")
sample = generate(model, prompt, max_new_tokens=120, temperature=0.8, top_k=20, seed=0)
print(repr(char.decode(sample)))

# %% tags=["tests"]
assert history["val_loss"][-1] < 0.65 * history["val_loss"][0]
assert history["train_loss"][-1] < history["train_loss"][0] - 1.5
assert len(sample) == len(prompt) + 120

# %% [markdown]
# ## 4. Generation: with and without the KV cache
#
# Without a cache, each new token runs the model over the whole context again: O(T) work per
# token in the projections and MLP, O(T²) in attention. With the cache, the keys and values
# of earlier tokens are kept, so a new token costs one position's projections plus attention
# over the cache. Both must produce the same tokens for the same seed.

# %%
long = GPTConfig(vocab_size=char.vocab_size, block_size=256, n_layer=2, n_head=4, n_embd=64)
tt.manual_seed(1)
gen_model = TinyGPT(long)
start = char.encode("Attention ")
times = {}
outs = {}
for use_cache in (False, True):
    t0 = time.process_time()
    outs[use_cache] = generate(gen_model, start, max_new_tokens=200, seed=3, use_cache=use_cache)
    times[use_cache] = time.process_time() - t0
print(
    f"200 tokens: no cache {times[False]:.2f} s, cache {times[True]:.2f} s "
    f"({times[False] / times[True]:.1f}x faster)"
)
kv_bytes = 2 * long.n_layer * long.block_size * long.n_embd * 4
print(f"the cache holds 2 x L x T x C floats: {kv_bytes / 2**10:.0f} KiB per sequence")
cache = KVCache(long, batch_size=1)
gen_model.eval()
logits = gen_model(np.array([start]), cache=cache)  # the prefill: the prompt's keys, values
print(f"after the prefill: {cache.length} of {cache.capacity} positions cached")

# %% tags=["tests"]
assert outs[True].tolist() == outs[False].tolist()  # the cache changes the cost, not the tokens
assert cache.nbytes == kv_bytes and cache.length == len(start)
assert np.allclose(logits.data, gen_model(np.array([start])).data, atol=1e-5)
print("module 16 lab: all checks passed")
