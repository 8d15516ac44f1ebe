"""The ``tinytorch-gpt`` command (also ``python -m tinytorch.gpt``): train a GPT, sample from it.

    tinytorch-gpt train  [--data shakespeare|tinytorch|FILE] [--download] [--out gpt.ckpt] ...
    tinytorch-gpt sample --checkpoint gpt.ckpt [--prompt TEXT] [--max-new-tokens 500] ...

``train`` defaults to nanoGPT's CPU baby run on Tiny Shakespeare (4 layers, 4 heads, width
128, block 64, batch 12, 2000 steps, AdamW at a peak lr of 1e-3), with a warmup-stable-decay
schedule (``--lr-schedule cosine`` is nanoGPT's own warmup + cosine); pass
``--data tinytorch`` to train on the corpus the package ships, offline. It shows a rich
progress bar on a terminal (lines otherwise, or with ``--no-progress``), saves the best
checkpoint to ``--out`` and the history to ``--history``.

``sample`` prints text generated from a checkpoint: ``--temperature``, ``--top-k``,
``--top-p``, ``--seed``; ``--no-cache`` takes the O(T^2) path. A prompt longer than the
block size is cropped to its last ``block_size`` tokens (printed in full).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``tinytorch-gpt`` command."""
    from .config import GPTConfig
    from .train import TrainConfig

    g, t = GPTConfig(), TrainConfig()
    p = argparse.ArgumentParser(
        prog="tinytorch-gpt", description="Train a TinyGPT and sample text from it."
    )
    sub = p.add_subparsers(dest="command", required=True)

    tr = sub.add_parser("train", help="train a TinyGPT (default: nanoGPT's baby Shakespeare run)")
    tr.add_argument(
        "--data",
        default="shakespeare",
        help="shakespeare, tinytorch (offline corpus) or a text file",
    )
    tr.add_argument("--data-path", default=None, help="a local copy of Tiny Shakespeare")
    tr.add_argument("--download", action="store_true", help="download Tiny Shakespeare if missing")
    tr.add_argument("--tokenizer", choices=("char", "bpe"), default="char")
    tr.add_argument("--bpe-vocab-size", type=int, default=512)
    tr.add_argument("--out", default="gpt.ckpt", help="checkpoint path (best validation loss)")
    tr.add_argument("--history", default=None, help="write the history as JSON here")
    tr.add_argument("--block-size", type=int, default=g.block_size)
    tr.add_argument("--n-layer", type=int, default=g.n_layer)
    tr.add_argument("--n-head", type=int, default=g.n_head)
    tr.add_argument("--n-embd", type=int, default=g.n_embd)
    tr.add_argument("--dropout", type=float, default=g.dropout)
    tr.add_argument("--bias", action="store_true", help="biases in Linear and LayerNorm")
    tr.add_argument("--max-iters", type=int, default=t.max_iters)
    tr.add_argument("--batch-size", type=int, default=t.batch_size)
    tr.add_argument("--lr", type=float, default=t.learning_rate)
    tr.add_argument("--min-lr", type=float, default=t.min_lr)
    tr.add_argument("--warmup-iters", type=int, default=t.warmup_iters)
    tr.add_argument("--lr-decay-iters", type=int, default=None, help="default: --max-iters")
    tr.add_argument(
        "--lr-schedule",
        choices=("wsd", "cosine"),
        default=t.lr_schedule,
        help="wsd: warmup, constant, linear decay over the last --decay-frac (default); "
        "cosine: nanoGPT's warmup + cosine",
    )
    tr.add_argument("--decay-frac", type=float, default=t.decay_frac)
    tr.add_argument("--weight-decay", type=float, default=t.weight_decay)
    tr.add_argument("--grad-clip", type=float, default=t.grad_clip)
    tr.add_argument("--eval-interval", type=int, default=t.eval_interval)
    tr.add_argument("--eval-iters", type=int, default=t.eval_iters)
    tr.add_argument("--seed", type=int, default=t.seed)
    tr.add_argument("--no-progress", action="store_true", help="no progress bar")
    tr.add_argument(
        "--sample-tokens",
        type=int,
        default=0,
        help="print a sample of this many tokens after training",
    )

    sa = sub.add_parser("sample", help="generate text from a checkpoint")
    sa.add_argument("--checkpoint", required=True)
    sa.add_argument("--prompt", default="\n", help="the text to continue (default: a newline)")
    sa.add_argument("--max-new-tokens", type=int, default=500)
    sa.add_argument("--num-samples", type=int, default=1)
    sa.add_argument("--temperature", type=float, default=0.8)
    sa.add_argument("--top-k", type=int, default=200)
    sa.add_argument("--top-p", type=float, default=None)
    sa.add_argument("--seed", type=int, default=1337)
    sa.add_argument("--no-cache", action="store_true", help="the O(T^2) path without KV cache")
    return p


def _train(args) -> int:
    import tinytorch.tensor as tt
    from tinytorch.data import TextDataset

    from .config import GPTConfig
    from .data import load_text
    from .generate import generate
    from .model import TinyGPT
    from .tokenizers import BPETokenizer, CharTokenizer
    from .train import TrainConfig, train

    text = load_text(args.data, path=args.data_path, download=args.download)
    if args.tokenizer == "char":
        tok = CharTokenizer().fit(text)
    else:
        t0 = time.perf_counter()
        tok = BPETokenizer.train(text, args.bpe_vocab_size)
        print(f"BPE: {tok.vocab_size} tokens learned in {time.perf_counter() - t0:.1f}s")
    ids = tok.encode(text)
    print(
        f"data: {args.data}, {len(text):,} characters, {len(ids):,} tokens, "
        f"vocabulary {tok.vocab_size}"
    )
    gcfg = GPTConfig(
        vocab_size=tok.vocab_size,
        block_size=args.block_size,
        n_layer=args.n_layer,
        n_head=args.n_head,
        n_embd=args.n_embd,
        dropout=args.dropout,
        bias=args.bias,
    )
    tcfg = TrainConfig(
        max_iters=args.max_iters,
        batch_size=args.batch_size,
        learning_rate=args.lr,
        min_lr=args.min_lr,
        warmup_iters=args.warmup_iters,
        lr_decay_iters=args.lr_decay_iters or max(args.max_iters, args.warmup_iters + 1),
        lr_schedule=args.lr_schedule,
        decay_frac=args.decay_frac,
        weight_decay=args.weight_decay,
        grad_clip=args.grad_clip,
        eval_interval=args.eval_interval,
        eval_iters=args.eval_iters,
        seed=args.seed,
    )
    data = TextDataset(ids, block_size=gcfg.block_size)
    tt.manual_seed(args.seed)
    model = TinyGPT(gcfg)
    print(f"TinyGPT: {model.num_parameters() / 1e6:.2f}M parameters, {gcfg}")
    history = train(
        model,
        data,
        tcfg,
        checkpoint_path=args.out,
        tokenizer=tok,
        progress=False if args.no_progress else None,
    )
    steps = tcfg.max_iters
    print(
        f"done: val loss {history['val_loss'][0]:.4f} -> {history['val_loss'][-1]:.4f} "
        f"(best {min(history['val_loss']):.4f}), train loss {history['train_loss'][-1]:.4f}; "
        f"{history['time'][-1]:.0f}s wall, {history['train_time']:.0f}s in {steps} steps "
        f"({1e3 * history['train_time'] / max(steps, 1):.1f} ms/step)"
    )
    if args.history:
        from tinytorch.train.checkpoint import atomic_write_bytes

        atomic_write_bytes(args.history, json.dumps(history).encode())
    if args.sample_tokens:
        out = generate(
            model, tok.encode("\n"), args.sample_tokens, temperature=0.8, top_k=200, seed=args.seed
        )
        print(tok.decode(out))
    return 0


def _sample(args) -> int:
    from .generate import generate
    from .train import load_gpt

    model, tok, _ = load_gpt(args.checkpoint)
    if tok is None:
        print(f"error: {args.checkpoint} holds no tokenizer", file=sys.stderr)
        return 2
    prompt = tok.encode(args.prompt)
    if not prompt:
        print("error: the prompt is empty", file=sys.stderr)
        return 2
    bs = model.config.block_size
    if len(prompt) > bs:
        print(
            f"(the prompt has {len(prompt)} tokens; the model sees its last {bs})", file=sys.stderr
        )
    for i in range(args.num_samples):
        out = generate(
            model,
            prompt,
            args.max_new_tokens,
            temperature=args.temperature,
            top_k=args.top_k,
            top_p=args.top_p,
            seed=args.seed + i,
            use_cache=not args.no_cache,
        )
        print(tok.decode(out))
        if i + 1 < args.num_samples:
            print("-" * 40)
    return 0


def main(argv=None) -> int:
    """Run the command line; returns the exit status."""
    from .config import ConfigMismatchError
    from .tokenizers import UnknownCharacterError

    args = build_parser().parse_args(argv)
    try:
        return _train(args) if args.command == "train" else _sample(args)
    except (FileNotFoundError, ConfigMismatchError, UnknownCharacterError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
