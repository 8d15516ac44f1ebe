"""Image transforms, vectorised over a batch.

Every transform takes a batch ``(N, C, H, W)`` or one image ``(C, H, W)`` (`ToTensor`: channel
last ``(N, H, W, C)`` / ``(H, W, C)``), as a numpy array or a Tensor, and returns the same kind
(`ToTensor` returns a Tensor). Random transforms draw per-sample choices in one call from their
`tinytorch.tensor.Generator` (the default generator when none is given), so a seeded generator
gives the same augmentations run after run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from tinytorch.tensor import Generator, Tensor, from_numpy
from tinytorch.tensor.random import resolve

__all__ = ["Compose", "Normalize", "RandomCrop", "RandomHorizontalFlip", "ToTensor"]


def _unwrap(x) -> tuple[np.ndarray, bool]:
    if isinstance(x, Tensor):
        return x.data, True
    return np.asarray(x), False


def _wrap(arr: np.ndarray, as_tensor: bool):
    if not as_tensor:
        return arr
    if arr.dtype.kind in "iu":
        arr = arr.astype(np.int64)
    return from_numpy(np.ascontiguousarray(arr))


def _batched(arr: np.ndarray, who: str) -> tuple[np.ndarray, bool]:
    """(N, C, H, W) for a batch or one (C, H, W) image; the flag says it was one image."""
    if arr.ndim == 3:
        return arr[None], True
    if arr.ndim == 4:
        return arr, False
    raise ValueError(f"{who}: expected (C, H, W) or (N, C, H, W), got shape {arr.shape}")


class Compose:
    """Apply transforms one after the other.

    Examples:
        >>> t = Compose([RandomHorizontalFlip(p=1.0), Normalize([0.5], [0.5])])
        >>> t(np.array([[[0.0, 1.0]]], dtype=np.float32)).tolist()
        [[[1.0, -1.0]]]
    """

    def __init__(self, transforms: Sequence[Callable]):
        self.transforms = list(transforms)

    def __call__(self, x):
        for t in self.transforms:
            x = t(x)
        return x

    def __repr__(self) -> str:
        return "Compose([" + ", ".join(repr(t) for t in self.transforms) + "])"


class ToTensor:
    """uint8 images, channel last ``(H, W, C)`` or ``(N, H, W, C)``, to float32 ``(C, H, W)``
    / ``(N, C, H, W)`` Tensors in [0, 1].

    ``layout="CHW"`` takes channel-first input (as `CIFAR10.data` is) and only rescales.
    Float input is taken to be in [0, 1] already and is not rescaled.

    Examples:
        >>> img = np.full((2, 2, 3), 255, dtype=np.uint8)
        >>> t = ToTensor()(img)
        >>> t.shape, t.dtype, float(t.data.max())
        ((3, 2, 2), dtype('float32'), 1.0)
    """

    def __init__(self, layout: str = "HWC"):
        if layout not in ("HWC", "CHW"):
            raise ValueError(f"ToTensor: layout must be 'HWC' or 'CHW', got {layout!r}")
        self.layout = layout

    def __call__(self, x) -> Tensor:
        arr, _ = _unwrap(x)
        if arr.ndim == 2:  # one grayscale image (H, W)
            arr = arr[..., None] if self.layout == "HWC" else arr[None]
        if arr.ndim not in (3, 4):
            raise ValueError(
                f"ToTensor: expected an image or a batch of images, got shape {arr.shape}"
            )
        if self.layout == "HWC":
            arr = np.moveaxis(arr, -1, -3)
        if arr.dtype.kind in "iub":
            out = arr.astype(np.float32) / np.float32(255.0)
        else:
            out = arr.astype(np.float32)
        return from_numpy(np.ascontiguousarray(out))

    def __repr__(self) -> str:
        return f"ToTensor(layout={self.layout!r})"


class Normalize:
    """``(x - mean[c]) / std[c]`` per channel (channel axis: -3), in float32.

    Examples:
        >>> x = np.ones((2, 3, 1, 1), dtype=np.float32)
        >>> Normalize([0.5, 0.5, 0.5], [0.5, 0.25, 1.0])(x)[0, :, 0, 0].tolist()
        [1.0, 2.0, 0.5]
    """

    def __init__(self, mean: Sequence[float], std: Sequence[float]):
        self.mean = np.asarray(mean, dtype=np.float32).reshape(-1)
        self.std = np.asarray(std, dtype=np.float32).reshape(-1)
        if self.mean.shape != self.std.shape:
            raise ValueError(f"Normalize: mean has {self.mean.size} values, std {self.std.size}")
        if np.any(self.std == 0):
            raise ValueError("Normalize: std must not contain 0")

    def __call__(self, x):
        arr, was_tensor = _unwrap(x)
        if arr.ndim < 3:
            raise ValueError(
                f"Normalize: expected (C, H, W) or (N, C, H, W), got shape {arr.shape}"
            )
        # BEGIN SOLUTION 08 transforms
        c = arr.shape[-3]
        if self.mean.size not in (1, c):
            raise ValueError(f"Normalize: {self.mean.size} means for {c} channels")
        out = (arr.astype(np.float32) - self.mean[:, None, None]) / self.std[:, None, None]
        return _wrap(out.astype(np.float32, copy=False), was_tensor)
        # END SOLUTION

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean.tolist()}, std={self.std.tolist()})"


class RandomCrop:
    """Pad by ``padding`` pixels, then crop ``size`` at a random offset per sample.

    All N offsets are drawn at once and the crops are taken by one vectorised gather over a
    sliding-window view of the padded batch (no loop over samples).

    Args:
        size: the output (H, W), or one int for a square.
        padding: pixels added on every side before cropping.
        fill: the padding value (``padding_mode="constant"``).
        padding_mode: ``"constant"`` (``fill``), ``"reflect"`` (mirror without repeating the
            edge pixel, as torchvision's) or ``"edge"`` (repeat the edge pixel). Reflection
            keeps image statistics at the border, which helps small translations.
        generator: a `tinytorch.tensor.Generator` for the offsets.

    Examples:
        >>> from tinytorch.tensor import Generator
        >>> x = np.zeros((8, 3, 32, 32), dtype=np.float32)
        >>> RandomCrop(32, padding=4, generator=Generator(0))(x).shape
        (8, 3, 32, 32)
    """

    PADDING_MODES = ("constant", "reflect", "edge")

    def __init__(
        self,
        size,
        padding: int = 0,
        fill: float = 0,
        padding_mode: str = "constant",
        generator: Generator | None = None,
    ):
        if padding_mode not in self.PADDING_MODES:
            raise ValueError(
                f"RandomCrop: padding_mode must be one of {self.PADDING_MODES}, "
                f"got {padding_mode!r}"
            )
        self.padding_mode = padding_mode
        self.size = (int(size), int(size)) if np.isscalar(size) else tuple(int(s) for s in size)
        if len(self.size) != 2 or min(self.size) < 1:
            raise ValueError(f"RandomCrop: size must be a positive int or (H, W), got {size!r}")
        if padding < 0:
            raise ValueError(f"RandomCrop: padding must be >= 0, got {padding}")
        self.padding = int(padding)
        self.fill = fill
        self.generator = generator

    def offsets(self, n: int, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``n`` (top, left) offsets into a padded ``height`` x ``width`` image."""
        h, w = self.size
        if h > height or w > width:
            raise ValueError(
                f"RandomCrop: crop {self.size} is larger than the padded image ({height}, {width})"
            )
        rng = resolve(self.generator)
        top = rng.integers(0, height - h + 1, size=n)
        left = rng.integers(0, width - w + 1, size=n)
        return top, left

    def __call__(self, x):
        arr, was_tensor = _unwrap(x)
        batch, single = _batched(arr, "RandomCrop")
        p = self.padding
        if p:
            widths = ((0, 0), (0, 0), (p, p), (p, p))
            if self.padding_mode == "constant":
                batch = np.pad(batch, widths, constant_values=self.fill)
            else:
                if self.padding_mode == "reflect" and p >= min(batch.shape[2:]):
                    raise ValueError(
                        f"RandomCrop: reflect padding {p} needs images larger than {p} pixels, "
                        f"got shape {arr.shape}"
                    )
                batch = np.pad(batch, widths, mode=self.padding_mode)
        # BEGIN SOLUTION 08 transforms
        n, _, height, width = batch.shape
        top, left = self.offsets(n, height, width)
        windows = np.lib.stride_tricks.sliding_window_view(batch, self.size, axis=(2, 3))
        # windows: (N, C, H-h+1, W-w+1, h, w); pick window (top[i], left[i]) of sample i.
        out = windows[np.arange(n), :, top, left]  # (N, C, h, w)
        out = np.ascontiguousarray(out)
        return _wrap(out[0] if single else out, was_tensor)
        # END SOLUTION

    def __repr__(self) -> str:
        mode = "" if self.padding_mode == "constant" else f", padding_mode={self.padding_mode!r}"
        return f"RandomCrop(size={self.size}, padding={self.padding}{mode})"


class RandomHorizontalFlip:
    """Mirror each sample left-right with probability ``p`` (one draw per sample).

    Examples:
        >>> x = np.arange(4, dtype=np.float32).reshape(1, 1, 1, 4)
        >>> RandomHorizontalFlip(p=1.0)(x).reshape(-1).tolist()
        [3.0, 2.0, 1.0, 0.0]
    """

    def __init__(self, p: float = 0.5, generator: Generator | None = None):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"RandomHorizontalFlip: p must be in [0, 1], got {p}")
        self.p = float(p)
        self.generator = generator

    def __call__(self, x):
        arr, was_tensor = _unwrap(x)
        batch, single = _batched(arr, "RandomHorizontalFlip")
        # BEGIN SOLUTION 08 transforms
        flip = resolve(self.generator).random(len(batch)) < self.p
        out = np.where(flip[:, None, None, None], batch[..., ::-1], batch)
        return _wrap(out[0] if single else out, was_tensor)
        # END SOLUTION

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p})"
