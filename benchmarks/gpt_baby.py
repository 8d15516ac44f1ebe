#!/usr/bin/env python3
"""nanoGPT's CPU "baby" run, trained by TinyTorch and by a PyTorch twin on the same batches.

    python benchmarks/gpt_baby.py --data path/to/tinyshakespeare.txt [--seeds 1337,1]
                                  [--impls tinytorch,torch] [--max-iters 2000] [--eval-iters 200]
                                  [--out runs/gpt_baby/summary.json]

For every seed and implementation it trains the baby configuration (`GPTConfig.baby`,
`TrainConfig`'s defaults: 4 layers, 4 heads, width 128, block 64, batch 12, AdamW lr 1e-3, 2000
steps) on the file's characters, 90/10 split, and prints the train and validation loss at every
evaluation, then a table of the final losses.

TinyTorch runs `tinytorch.gpt.train`. PyTorch runs the same network layer for layer
(`gpt_step.torch_gpt`, initialised by ``torch.manual_seed(seed)``) through a copy of
`train`'s loop: the same training windows and evaluation windows (drawn from the same
`tinytorch.data.TextDataset` with the same generators), the same learning rate at every step
(`tinytorch.gpt.train.make_scheduler` computes both), AdamW with the same parameter groups, and
clipping. Only the initial weights differ (each framework's own generator), which is what
separates "the recipe gives this loss" from "this framework trains differently": if TinyTorch
and PyTorch land within the seed-to-seed spread of each other, the framework is not the gap.

PyTorch is optional (``--impls tinytorch`` runs without it).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

ROOT = Path(__file__).resolve().parent.parent


def _dataset(path: str, block_size: int):
    from tinytorch.data import TextDataset
    from tinytorch.gpt import CharTokenizer

    text = Path(path).read_text(encoding="utf-8")
    tok = CharTokenizer().fit(text)
    return tok, TextDataset(tok.encode(text), block_size=block_size)


def _train_tinytorch(data, shape: dict, tcfg, seed: int, log) -> dict:
    import tinytorch.tensor as tt
    from tinytorch.gpt import GPTConfig, TinyGPT, train

    tt.manual_seed(seed)
    model = TinyGPT(GPTConfig(**shape))
    return train(model, data, tcfg, progress=False, log=log)


def _train_torch(data, shape: dict, tcfg, seed: int, log) -> dict:
    """`tinytorch.gpt.train`'s loop, step for step, on the PyTorch twin of `TinyGPT`."""
    import numpy as np
    import tinytorch.tensor as tt
    import torch
    from gpt_step import torch_gpt
    from tinytorch.gpt.train import make_scheduler
    from tinytorch.optim import AdamW

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", os.cpu_count() or 1)))
    torch.manual_seed(seed)
    model = torch_gpt(shape)
    params = list(model.parameters())
    opt = torch.optim.AdamW(
        [
            {"params": [p for p in params if p.ndim >= 2], "weight_decay": tcfg.weight_decay},
            {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0},
        ],
        lr=tcfg.learning_rate,
        betas=(tcfg.beta1, tcfg.beta2),
    )
    # The schedule TinyTorch's train() follows, read off the same scheduler class.
    dummy = AdamW([tt.zeros(1, requires_grad=True)], lr=tcfg.learning_rate)
    sched = make_scheduler(dummy, tcfg)
    batch_gen, eval_gen = tt.Generator(tcfg.seed), tt.Generator(tcfg.seed + 1)

    def batch(split, gen):
        x, y = data.get_batch(split, tcfg.batch_size, generator=gen)
        return torch.from_numpy(np.asarray(x.data)), torch.from_numpy(np.asarray(y.data))

    history = {"iter": [], "train_loss": [], "val_loss": [], "time": []}
    t_start = time.perf_counter()
    train_time = 0.0
    for it in range(tcfg.max_iters + 1):
        if it % tcfg.eval_interval == 0 or it == tcfg.max_iters:
            model.eval()
            with torch.no_grad():
                losses = {
                    s: float(
                        np.mean([model(*batch(s, eval_gen)).item() for _ in range(tcfg.eval_iters)])
                    )
                    for s in ("train", "val")
                }
            model.train()
            history["iter"].append(it)
            history["train_loss"].append(losses["train"])
            history["val_loss"].append(losses["val"])
            history["time"].append(time.perf_counter() - t_start)
            if log is not None:
                log(f"step {it}: train loss {losses['train']:.4f}, val loss {losses['val']:.4f}")
        if it == tcfg.max_iters:
            break
        t0 = time.perf_counter()
        for group in opt.param_groups:
            group["lr"] = sched.lr_at(it)[0]
        x, y = batch("train", batch_gen)
        opt.zero_grad(set_to_none=True)
        loss = model(x, y)
        loss.backward()
        if tcfg.grad_clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), tcfg.grad_clip)
        opt.step()
        train_time += time.perf_counter() - t0
    history["train_time"] = train_time
    return history


IMPLS = {"tinytorch": _train_tinytorch, "torch": _train_torch}


def main(argv=None) -> int:
    from tinytorch.gpt import TrainConfig

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="a text file (Tiny Shakespeare for the baby run)")
    p.add_argument("--seeds", default="1337,1", help="comma-separated seeds")
    p.add_argument("--impls", default="tinytorch,torch", help="tinytorch and/or torch")
    p.add_argument("--max-iters", type=int, default=TrainConfig.max_iters)
    p.add_argument("--eval-interval", type=int, default=TrainConfig.eval_interval)
    p.add_argument("--eval-iters", type=int, default=TrainConfig.eval_iters)
    p.add_argument(
        "--lr-schedule",
        choices=("wsd", "cosine"),
        default=TrainConfig.lr_schedule,
        help="cosine: nanoGPT's schedule; wsd: warmup-stable-decay (the default)",
    )
    p.add_argument(
        "--model",
        choices=("baby", "tiny"),
        default="baby",
        help="baby: nanoGPT's (default); tiny: 1 layer, width 16, block 8 (a smoke test)",
    )
    p.add_argument("--out", default=str(ROOT / "runs" / "gpt_baby" / "summary.json"))
    args = p.parse_args(argv)

    impls = [s.strip() for s in args.impls.split(",") if s.strip()]
    unknown = [s for s in impls if s not in IMPLS]
    if unknown or not impls:
        p.error(f"--impls: unknown {unknown}; choose from {sorted(IMPLS)}")
    try:
        seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    except ValueError:
        p.error(f"--seeds: expected comma-separated integers, got {args.seeds!r}")
    if "torch" in impls:
        try:
            import torch  # noqa: F401
        except ImportError:
            p.error("--impls torch needs PyTorch (pip install torch); or pass --impls tinytorch")
    if not Path(args.data).is_file():
        p.error(f"--data: no such file {args.data}")

    from gpt_step import BABY, TINY

    shape = dict(BABY if args.model == "baby" else TINY)
    tok, data = _dataset(args.data, shape["block_size"])
    shape["vocab_size"] = tok.vocab_size
    print(
        f"data: {args.data}, {len(data.train_data) + len(data.val_data):,} characters, "
        f"vocabulary {tok.vocab_size}"
    )
    runs = []
    for seed in seeds:
        tcfg = TrainConfig(
            max_iters=args.max_iters,
            lr_decay_iters=max(args.max_iters, TrainConfig.warmup_iters + 1),
            eval_interval=args.eval_interval,
            eval_iters=args.eval_iters,
            lr_schedule=args.lr_schedule,
            seed=seed,
        )
        for impl in impls:
            print(f"--- {impl}, seed {seed}", flush=True)
            t0 = time.perf_counter()
            h = IMPLS[impl](data, shape, tcfg, seed, lambda s: print("  " + s, flush=True))
            runs.append(
                {
                    "impl": impl,
                    "seed": seed,
                    "train_loss": h["train_loss"][-1],
                    "val_loss": h["val_loss"][-1],
                    "val_curve": list(zip(h["iter"], h["val_loss"], strict=True)),
                    "wall_s": time.perf_counter() - t0,
                    "ms_per_step": 1e3 * h["train_time"] / max(tcfg.max_iters, 1),
                }
            )

    print("\n| impl | seed | final train loss | final val loss | ms/step |")
    print("|---|---|---|---|---|")
    for r in runs:
        print(
            f"| {r['impl']} | {r['seed']} | {r['train_loss']:.4f} | {r['val_loss']:.4f} "
            f"| {r['ms_per_step']:.1f} |"
        )
    for impl in impls:
        vals = [r["val_loss"] for r in runs if r["impl"] == impl]
        spread = f" ± {statistics.stdev(vals):.4f}" if len(vals) > 1 else ""
        print(
            f"{impl}: mean final val loss {statistics.fmean(vals):.4f}{spread}"
            f" over {len(vals)} seed(s)"
        )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    from tinytorch.train.checkpoint import atomic_write_bytes

    atomic_write_bytes(out, json.dumps({"runs": runs}, indent=1).encode())
    print(f"summary: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
