"""tinytorch.gpt: a small GPT built from TinyTorch's own layers, trained for real.

- Tokenizers: `CharTokenizer` (one id per character; unknown characters are an error or map
  to an ``unk_token``) and `BPETokenizer` (byte-level byte-pair encoding, learned from a
  corpus); both save to and load from JSON.
- `TinyGPT` configured by `GPTConfig`: token and position embeddings, pre-LN blocks of causal
  `tinytorch.nn.MultiHeadAttention` and a GELU MLP, a final LayerNorm, a weight-tied head.
- `generate`: temperature, top-k, top-p and a seed, with a `KVCache` (O(T) per new token) or
  without (O(T^2), for comparison); both give the same tokens.
- `train` with `TrainConfig`: AdamW (decay on 2-D weights), warmup + cosine decay, gradient
  clipping, periodic evaluation, safe checkpoints (`save_gpt`, `load_gpt`).
- Text: `load_text` (Tiny Shakespeare, sha256-checked download; or ``"tinytorch"``, the
  project's own prose shipped with the package, for offline use).
- The ``tinytorch-gpt`` command (``python -m tinytorch.gpt``): ``train`` and ``sample``.

Examples:
    >>> import tinytorch.tensor as tt
    >>> from tinytorch.gpt import CharTokenizer, GPTConfig, TinyGPT
    >>> _ = tt.manual_seed(0)
    >>> tok = CharTokenizer().fit("to be or not to be")
    >>> model = TinyGPT(GPTConfig(vocab_size=tok.vocab_size, block_size=16, n_layer=1,
    ...                           n_head=2, n_embd=16))
    >>> out = model.generate(tok.encode("to be"), max_new_tokens=10, seed=0)
    >>> len(tok.decode(out))
    15
"""

from .config import ConfigMismatchError, GPTConfig
from .data import CORPORA, load_text, tinytorch_corpus
from .generate import context_start, generate, sample_logits
from .model import Block, KVCache, TinyGPT
from .tokenizers import (
    BPETokenizer,
    CharTokenizer,
    UnknownCharacterError,
    load_tokenizer,
    tokenizer_from_dict,
)
from .train import (
    TrainConfig,
    configure_optimizer,
    estimate_loss,
    load_gpt,
    save_gpt,
    train,
)

__version__ = "0.1.0"

__all__ = [
    "GPTConfig",
    "ConfigMismatchError",
    "TinyGPT",
    "Block",
    "KVCache",
    "generate",
    "sample_logits",
    "context_start",
    "CharTokenizer",
    "BPETokenizer",
    "UnknownCharacterError",
    "load_tokenizer",
    "tokenizer_from_dict",
    "load_text",
    "tinytorch_corpus",
    "CORPORA",
    "TrainConfig",
    "train",
    "estimate_loss",
    "configure_optimizer",
    "save_gpt",
    "load_gpt",
]
