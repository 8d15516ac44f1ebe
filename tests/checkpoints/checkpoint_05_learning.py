"""Can I process spatial data like images with convolutional operations?

Conv2d computes the cross-correlation of multi-channel images with its kernels (checked
against a direct numpy loop), with stride and padding, and pooling downsamples.
"""

import numpy as np
import pytest

REQUIRES = ["tinytorch-tensor", "tinytorch-nn"]

tt = pytest.importorskip("tinytorch.tensor")
nn = pytest.importorskip("tinytorch.nn")


def reference_conv(x, w, b, stride=1, padding=0):
    x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    oh, ow = (h - kh) // stride + 1, (wd - kw) // stride + 1
    out = np.zeros((n, o, oh, ow), dtype=np.float64)
    for i in range(oh):
        for j in range(ow):
            patch = x[:, :, i * stride : i * stride + kh, j * stride : j * stride + kw]
            out[:, :, i, j] = np.tensordot(patch, w, axes=([1, 2, 3], [1, 2, 3]))
    return out + b[None, :, None, None]


@pytest.mark.parametrize("stride,padding", [(1, 0), (2, 1)])
def test_conv2d_matches_direct_loop(stride, padding):
    tt.manual_seed(0)
    conv = nn.Conv2d(3, 4, kernel_size=3, stride=stride, padding=padding)
    x = np.random.default_rng(1).standard_normal((2, 3, 8, 8)).astype(np.float32)
    out = conv(tt.tensor(x)).numpy()
    ref = reference_conv(x, conv.weight.numpy(), conv.bias.numpy(), stride, padding)
    assert out.shape == ref.shape
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-4)


def test_max_pool_downsamples():
    x = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
    out = nn.MaxPool2d(2)(tt.tensor(x)).numpy()
    assert out.tolist() == [[[[5.0, 7.0], [13.0, 15.0]]]]


def test_conv_network_classifies_shape():
    net = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(4 * 4 * 4, 10),
    )
    x = tt.tensor(np.zeros((3, 1, 8, 8), dtype=np.float32))
    assert net(x).shape == (3, 10)
