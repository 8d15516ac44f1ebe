"""ResNet-9 (the DAWNBench CIFAR-10 design), one SGD-Nesterov training step at batch 64.

David Page's "How to train your ResNet" network, as TinyTorch and PyTorch both spell it:

    prep    conv 3 -> 64, BN, ReLU                                          # 32x32
    layer1  conv 64 -> 128, BN, ReLU, maxpool 2                             # 16x16
            + residual: (conv 128 -> 128, BN, ReLU) x 2
    layer2  conv 128 -> 256, BN, ReLU, maxpool 2                            # 8x8
    layer3  conv 256 -> 512, BN, ReLU, maxpool 2                            # 4x4
            + residual: (conv 512 -> 512, BN, ReLU) x 2
    head    global max pool (MaxPool2d(4)), flatten, linear 512 -> 10 (no bias), x 0.125

Every conv is 3x3, padding 1, without bias (BatchNorm follows). CrossEntropyLoss on a fixed
random batch (64, 3, 32, 32); SGD with lr 0.05, momentum 0.9, Nesterov, weight decay 5e-4.
One step is zero_grad + forward + loss + backward + optimizer step; the table shows the whole
step and each phase.

Run through the runner:  python benchmarks/run.py resnet_step [--quick]
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import tiny, worker_main  # noqa: E402
from _train_step import run_case, worker  # noqa: E402

TITLE = "ResNet-9 training step (SGD, Nesterov)"
BATCH = 64
OPTIMIZER = {
    "kind": "SGD",
    "kwargs": {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 5e-4},
}


def build_model(nn, width: int, hw: int):
    """ResNet-9 for ``hw`` x ``hw`` RGB images (32: CIFAR); ``width`` divides every channel count.

    ``nn`` is ``tinytorch.nn`` or ``torch.nn``.
    """

    class Residual(nn.Module):
        def __init__(self, body):
            super().__init__()
            self.body = body

        def forward(self, x):
            return x + self.body(x)

    class Scale(nn.Module):
        def __init__(self, factor: float):
            super().__init__()
            self.factor = factor

        def forward(self, x):
            return x * self.factor

    def conv_bn(cin: int, cout: int, pool: bool = False) -> list:
        layers = [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]
        return layers + [nn.MaxPool2d(2)] if pool else layers

    c = [64 // width, 128 // width, 256 // width, 512 // width]
    return nn.Sequential(
        *conv_bn(3, c[0]),
        *conv_bn(c[0], c[1], pool=True),
        Residual(nn.Sequential(*conv_bn(c[1], c[1]), *conv_bn(c[1], c[1]))),
        *conv_bn(c[1], c[2], pool=True),
        *conv_bn(c[2], c[3], pool=True),
        Residual(nn.Sequential(*conv_bn(c[3], c[3]), *conv_bn(c[3], c[3]))),
        nn.MaxPool2d(hw // 8),
        nn.Flatten(),
        nn.Linear(c[3], 10, bias=False),
        Scale(0.125),
    )


def _worker(impl: str, **kw) -> dict:
    return worker(impl, build_model, **kw)


def run(quick: bool) -> dict:
    if tiny():
        size = dict(batch=2, hw=16, width=16, rounds=1, reps=1, budget_s=0.0)
    elif quick:
        size = dict(batch=BATCH, hw=32, width=1, rounds=1, reps=1, budget_s=0.0)
    else:
        size = dict(batch=BATCH, hw=32, width=1, rounds=2, reps=1, budget_s=3.0)
    label = f"batch {size['batch']}, {size['hw']}x{size['hw']}"
    if size["width"] != 1:
        label += f", channels / {size['width']}"
    return run_case(__file__, label=label, optimizer=OPTIMIZER, **size)


if __name__ == "__main__":
    worker_main(_worker)
