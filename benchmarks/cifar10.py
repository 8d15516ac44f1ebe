#!/usr/bin/env python3
"""The project's CIFAR-10 recipe: 90%+ test accuracy on 2 CPU cores, trained with TinyTorch.

    python benchmarks/cifar10.py [--epochs 10] [--widths 64,256,256] [--batch-size 1024] [--root DIR]
                                  [--archive PATH]

Data: `tinytorch.data.CIFAR10` under the data root (``TINYTORCH_DATA``, else
~/.cache/tinytorch), or ``--archive`` pointing at a `cifar-10-python.tar.gz`; with
``--download`` it fetches the official archive (md5-checked).

The recipe follows the published fast-CIFAR line of work (Page's ResNet training on DAWNBench,
hlb-CIFAR10, Keller Jordan's airbench), which spends few FLOPs per point of accuracy; here at
airbench94's widths (64, 256, 256): 118M multiply-adds per image forward, so a training step
costs about 0.7 GFLOP per image (``--widths 64,128,128`` halves that and reached 89.9% in 15
epochs, short of 90%):

    conv2x2(3->24, frozen patch-whitening weights, bias trained 3 epochs) GELU   # (N, 24, 31, 31)
    group(24->64):   conv3x3 maxpool2 BN GELU conv3x3 BN GELU                     # (N, 64, 15, 15)
    group(64->256):  the same                                                     # (N, 256, 7, 7)
    group(256->256): the same                                                     # (N, 256, 3, 3)
    maxpool3, flatten, linear(256 -> 10, no bias), times 1/9

- The first layer is fixed to the whitening transform of the training set's 2x2 patches (the
  eigenvectors of their covariance, scaled by 1/sqrt(eigenvalue), with their negatives: 24
  filters). Training starts from decorrelated inputs instead of having to learn that.
- 3x3 convs start as identity (dirac) on their first C_in output channels: an implicit
  residual connection, without residual wiring.
- BatchNorm has no learned scale (weight frozen at 1), a bias trained with a 64x learning rate,
  eps 1e-12 and a fast running-stat momentum (0.4).
- Nesterov SGD (momentum 0.85) with hyperparameters in "decoupled" form: the step size and the
  weight decay per step do not change when the momentum or the batch size changes. Learning rate
  on a triangle: 0.2x at the start, 1x at 23% of the steps, 0.07x at the end. Label smoothing 0.2.
- Lookahead: from epoch 4 on, every 5 steps the weights move to an exponential moving average of
  themselves, with a decay that grows over training (cubic in progress).
- Augmentation: random translation by up to 2 pixels (reflect padding) and horizontal flips.
- Test-time augmentation for the final number: the mean of the logits of the image, its mirror,
  and two 1-pixel translations of both. Per-epoch accuracy is measured without it.

It prints the test accuracy after every epoch, the wall time and images/s; the history goes to
runs/cifar10/history.json, a summary to runs/cifar10/summary.json and a plot to
runs/cifar10/training_history.png (with matplotlib).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent

WIDTHS = (64, 256, 256)
WHITEN_KERNEL = 2
LABEL_SMOOTHING = 0.2
MOMENTUM = 0.85
LR = 11.5  # per 1024 examples, decoupled (see `optimizer`)
WEIGHT_DECAY = 0.0153  # per 1024 examples, decoupled from the learning rate
BIAS_LR_SCALE = 64.0  # BatchNorm biases learn 64x faster (no extra weight decay)
WHITEN_BIAS_EPOCHS = 3
BN_MOMENTUM = 0.4  # PyTorch convention: running = 0.6 * running + 0.4 * batch
LOGIT_SCALE = 1 / 9
LOOKAHEAD_START_EPOCH = 3
LOOKAHEAD_EVERY = 5


# ----------------------------------------------------------------------------- the network


def conv_group(cin: int, cout: int):
    """conv3x3 -> maxpool2 -> BN -> GELU -> conv3x3 -> BN -> GELU; halves H and W."""
    from tinytorch import nn

    def bn():
        norm = nn.BatchNorm2d(cout, eps=1e-12, momentum=BN_MOMENTUM)
        norm.weight.requires_grad = False  # no learned scale: only the bias trains
        return norm

    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False),
        nn.MaxPool2d(2),
        bn(),
        nn.GELU(),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False),
        bn(),
        nn.GELU(),
    )


def dirac_(weight) -> None:
    """Make the first C_in filters of a (O, C_in, k, k) weight the identity (centre tap = 1)."""
    w = weight.data
    o, c, kh, kw = w.shape
    n = min(o, c)
    w[:n] = 0.0
    w[np.arange(n), np.arange(n), kh // 2, kw // 2] = 1.0


def build_model(widths=WIDTHS):
    """The network above, with dirac-initialised 3x3 convs (the whitening layer is set later)."""
    from tinytorch import nn

    class Scale(nn.Module):
        """Multiply by a constant: small logits keep the early loss and gradients tame."""

        def __init__(self, factor: float):
            super().__init__()
            self.factor = factor

        def forward(self, x):
            return x * self.factor

    whiten_width = 2 * 3 * WHITEN_KERNEL**2
    model = nn.Sequential(
        nn.Conv2d(3, whiten_width, WHITEN_KERNEL, padding=0, bias=True),
        nn.GELU(),
        conv_group(whiten_width, widths[0]),
        conv_group(widths[0], widths[1]),
        conv_group(widths[1], widths[2]),
        nn.MaxPool2d(3),
        nn.Flatten(),
        nn.Linear(widths[2], 10, bias=False),
        Scale(LOGIT_SCALE),
    )
    for m in model.modules():
        if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3):
            dirac_(m.weight)
    model[0].weight.requires_grad = False  # the whitening filters stay fixed
    model[0].bias.data[:] = 0.0
    return model


def whitening_filters(images: np.ndarray, k: int = WHITEN_KERNEL, eps: float = 5e-4):
    """(2 * 3k^2, 3, k, k) filters that whiten the k x k patches of ``images`` (N, 3, H, W).

    The patch covariance's eigenvectors, each divided by sqrt(its eigenvalue + eps): a conv with
    them outputs decorrelated, unit-variance features. The negated copies let a following GELU
    keep both signs.
    """
    windows = np.lib.stride_tricks.sliding_window_view(images, (k, k), axis=(2, 3))
    # windows: (N, 3, H-k+1, W-k+1, k, k) -> patches: (N * (H-k+1) * (W-k+1), 3 * k * k)
    patches = windows.transpose(0, 2, 3, 1, 4, 5).reshape(-1, 3 * k * k).astype(np.float64)
    cov = patches.T @ patches / len(patches)
    eigenvalues, eigenvectors = np.linalg.eigh(cov)  # ascending
    order = np.argsort(eigenvalues)[::-1]
    eigenvalues, eigenvectors = eigenvalues[order], eigenvectors[:, order]
    filters = (eigenvectors.T / np.sqrt(eigenvalues + eps)[:, None]).reshape(-1, 3, k, k)
    return np.concatenate([filters, -filters]).astype(np.float32)


# ----------------------------------------------------------------------------- the optimizer


def triangle(step: int, total: int, start=0.2, peak_at=0.23, end=0.07) -> float:
    """The learning-rate multiplier: linear from ``start`` to 1 at ``peak_at``, then to ``end``."""
    peak = max(1, int(peak_at * total))
    if step <= peak:
        return start + (1.0 - start) * step / peak
    return 1.0 + (end - 1.0) * min(1.0, (step - peak) / max(1, total - peak))


def optimizer(model, batch_size: int):
    """Nesterov SGD with two groups: BatchNorm biases (64x learning rate) and everything else.

    Decoupled form: with Nesterov momentum m, a steady gradient g moves a weight by about
    lr * g * (1 + 1 / (1 - m)) per step, so LR is divided by that factor (times 1024) to be the
    step per 1024 examples whatever m is; the loss is a batch mean, whose gradient is 1/batch of
    the sum's, hence the factor batch_size. Weight decay is an absolute amount per step, divided
    by each group's learning rate (SGD multiplies it back), so the biases' 64x learning rate does
    not also multiply their decay.
    """
    from tinytorch import nn, optim

    kilostep = 1024 * (1 + 1 / (1 - MOMENTUM))
    lr = LR / kilostep * batch_size
    decay_per_step = WEIGHT_DECAY * batch_size / kilostep
    norm_ids = {
        id(m.bias) for m in model.modules() if isinstance(m, nn.BatchNorm2d) and m.bias is not None
    }
    trainable = [p for p in model.parameters() if p.requires_grad]
    biases = [p for p in trainable if id(p) in norm_ids]
    others = [p for p in trainable if id(p) not in norm_ids]
    lr_bias = lr * BIAS_LR_SCALE
    groups = [
        {"params": biases, "lr": lr_bias, "weight_decay": decay_per_step / lr_bias},
        {"params": others, "lr": lr, "weight_decay": decay_per_step / lr},
    ]
    return optim.SGD(groups, lr=lr, momentum=MOMENTUM, nesterov=True)


# ----------------------------------------------------------------------------- callbacks


def callbacks(model, total_steps: int):
    """Freeze the whitening bias after a few epochs; Lookahead (an EMA the weights snap to)."""
    from tinytorch.train import Callback

    class FreezeWhiteningBias(Callback):
        def on_epoch_begin(self, trainer, epoch):
            model[0].bias.requires_grad = epoch < WHITEN_BIAS_EPOCHS

    class Lookahead(Callback):
        """Every few steps: ema = lerp(ema, w, 1 - rho), then w = ema (weights and BN stats)."""

        def __init__(self):
            self.ema: list[np.ndarray] | None = None
            self.epoch = 0

        def tensors(self):
            return [t for t in model.state_dict().values() if t.dtype.kind == "f"]

        def on_epoch_begin(self, trainer, epoch):
            self.epoch = epoch

        def on_batch_end(self, trainer, step, logs):
            if self.epoch < LOOKAHEAD_START_EPOCH or step % LOOKAHEAD_EVERY:
                return
            if self.ema is None:
                self.ema = [t.data.copy() for t in self.tensors()]
                return
            rho = 0.95**LOOKAHEAD_EVERY * (step / total_steps) ** 3
            for ema, t in zip(self.ema, self.tensors(), strict=True):
                ema += (1 - rho) * (t.data - ema)
                t.data[...] = ema

        def on_epoch_end(self, trainer, epoch, logs):
            if self.ema is not None:  # end every epoch on the averaged weights
                for ema, t in zip(self.ema, self.tensors(), strict=True):
                    t.data[...] = ema

    return [FreezeWhiteningBias(), Lookahead()]


# ----------------------------------------------------------------------------- evaluation


def tta_accuracy(model, images: np.ndarray, labels: np.ndarray, batch: int = 1000) -> float:
    """Accuracy of the mean logits over the image, 1-pixel translations and mirrors."""
    import tinytorch.tensor as tt
    from tinytorch.autograd import no_grad

    model.eval()
    correct = 0
    with no_grad():
        for i in range(0, len(images), batch):
            x = images[i : i + batch]
            padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), mode="reflect")
            shifted = [padded[:, :, :-2, :-2], padded[:, :, 2:, 2:]]

            def mirrored(v):
                a = model(tt.tensor(np.ascontiguousarray(v))).numpy()
                b = model(tt.tensor(np.ascontiguousarray(v[..., ::-1]))).numpy()
                return 0.5 * (a + b)

            logits = 0.5 * mirrored(x) + 0.25 * (mirrored(shifted[0]) + mirrored(shifted[1]))
            correct += int((logits.argmax(1) == labels[i : i + batch]).sum())
    return correct / len(images)


# ----------------------------------------------------------------------------- main


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--widths", default=",".join(map(str, WIDTHS)),
                        help="channels of the three conv groups, e.g. 64,256,256")
    parser.add_argument("--root", default=None, help="data root (default: TINYTORCH_DATA or ~/.cache/tinytorch)")
    parser.add_argument("--archive", default=None, help="a local cifar-10-python.tar.gz")
    parser.add_argument("--download", action="store_true", help="download the official archive")
    parser.add_argument("--limit", type=int, default=None, help="use only this many training images")
    parser.add_argument("--test-limit", type=int, default=None, help="use only this many test images")
    parser.add_argument("--out", default=str(ROOT / "runs" / "cifar10"))
    args = parser.parse_args(argv)
    try:
        widths = tuple(int(w) for w in args.widths.split(","))
    except ValueError:
        widths = ()
    if len(widths) != 3 or min(widths) < 1:
        parser.error(f"--widths: three positive channel counts, got {args.widths!r}")

    import tinytorch.tensor as tt
    from tinytorch import data, nn, optim, train

    tt.manual_seed(0)
    t_start = time.monotonic()
    train_set = data.CIFAR10(args.root, train=True, download=args.download, archive=args.archive)
    test_set = data.CIFAR10(args.root, train=False, download=args.download, archive=args.archive)
    x_train = train_set.data.astype(np.float32) / 255.0  # (50000, 3, 32, 32)
    y_train = np.asarray(train_set.labels, dtype=np.int64)
    x_test = test_set.data.astype(np.float32) / 255.0
    y_test = np.asarray(test_set.labels, dtype=np.int64)
    if args.limit:
        x_train, y_train = x_train[: args.limit], y_train[: args.limit]
    if args.test_limit:
        x_test, y_test = x_test[: args.test_limit], y_test[: args.test_limit]
    mean = x_train.mean(axis=(0, 2, 3), keepdims=True)
    std = x_train.std(axis=(0, 2, 3), keepdims=True)
    x_train = (x_train - mean) / std
    x_test = (x_test - mean) / std

    augment = data.Compose(
        [
            data.RandomCrop(32, padding=2, padding_mode="reflect", generator=tt.Generator(1)),
            data.RandomHorizontalFlip(generator=tt.Generator(2)),
        ]
    )
    train_loader = data.DataLoader(x_train, y_train, batch_size=args.batch_size, shuffle=True,
                                   seed=0, transform=augment, drop_last=True)
    test_loader = data.DataLoader(x_test, y_test, batch_size=1000)

    model = build_model(widths)
    model[0].weight.data[...] = whitening_filters(x_train[:5000])
    opt = optimizer(model, args.batch_size)
    total_steps = args.epochs * len(train_loader)
    sched = optim.lr_scheduler.LambdaLR(opt, lambda step: triangle(step, total_steps))
    trainer = train.Trainer(model, nn.CrossEntropyLoss(label_smoothing=LABEL_SMOOTHING), opt,
                            [train.Accuracy()], scheduler=sched, scheduler_step="batch",
                            callbacks=callbacks(model, total_steps))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    history = trainer.fit(train_loader, val_dataloader=test_loader, epochs=args.epochs,
                          history_path=out / "history.json")
    train_s = time.monotonic() - t0
    t1 = time.monotonic()
    accuracy = tta_accuracy(model, x_test, y_test)
    tta_s = time.monotonic() - t1
    wall = time.monotonic() - t_start
    images = total_steps * args.batch_size
    summary = {
        "test_accuracy_tta": accuracy,
        "test_accuracy_per_epoch": history.get("val_accuracy"),
        "epochs": args.epochs,
        "widths": list(widths),
        "batch_size": args.batch_size,
        "train_s": round(train_s, 1),
        "tta_eval_s": round(tta_s, 1),
        "wall_s": round(wall, 1),
        "train_images_per_s": round(images / train_s, 1),
        "epoch_s": history.get("time"),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    try:
        train.plot_training_history(history, path=out / "training_history.png")
    except ImportError as exc:
        print(f"no plot: {exc}")
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
