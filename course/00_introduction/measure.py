"""Measure the numbers that the course READMEs quote, on the code installed here.

    python course/00_introduction/measure.py            # every module
    python course/00_introduction/measure.py 02 06      # some modules
    python course/00_introduction/measure.py --threads 2 02   # let kernels use 2 threads

Prints one line per number. Timings are the best of several runs (min of `repeat`) of the
process's CPU time (`time.process_time`, all threads together), which stays meaningful on a
busy machine where wall-clock time does not. By default everything runs on ONE thread
(numpy's BLAS and the C++ kernels alike): on a shared machine, idle worker threads spin and
burn CPU time that is not work, so one thread is the only fair per-core comparison. On an
idle machine, wall time equals this CPU time single-threaded; threaded kernels divide it by
up to the core count. The READMEs say which machine produced their copy.
"""

from __future__ import annotations

import sys
import time

import numpy as np


def best(fn, repeat: int = 3, number: int = 1) -> float:
    """The smallest of ``repeat`` CPU-time measurements of ``number`` calls, in seconds per call."""
    fn()  # warm up (first-call allocations, caches)
    times = []
    for _ in range(repeat):
        t0 = time.process_time()
        for _ in range(number):
            fn()
        times.append((time.process_time() - t0) / number)
    return max(min(times), 1e-9)


def show(name: str, value: str) -> None:
    print(f"  {name:<52} {value}", flush=True)


def m01():
    import tinytorch.tensor as tt

    for k, v in tt.system_info().items():
        show(k, str(v))


def m02():
    import tinytorch.tensor as tt

    x = tt.zeros(1000, 1000)
    show("zeros(1000, 1000) float32 nbytes", f"{x.nbytes / 1e6:.1f} MB")
    show("same in float64", f"{tt.zeros(1000, 1000, dtype='float64').nbytes / 1e6:.1f} MB")
    big = tt.randn(2048, 2048)
    show("reshape(4096, 1024): shares memory", str(tt.shares_memory(big, big.reshape(4096, 1024))))
    show("reshape time (a view)", f"{best(lambda: big.reshape(4096, 1024), 5, 100) * 1e6:.1f} us")
    t = big.T
    show("T is contiguous", str(t.is_contiguous()))
    show("T.contiguous() time (16.8 MB copy)", f"{best(lambda: t.contiguous()) * 1e3:.2f} ms")
    row = tt.randn(2048)
    show("x + row (broadcast, row not copied)", f"{best(lambda: big + row) * 1e3:.2f} ms")
    for n in (256, 512, 1024):
        a, b = tt.randn(n, n), tt.randn(n, n)
        flops = 2 * n**3
        for be in ("numpy", "native"):
            with tt.use_backend(be):
                s = best(lambda a=a, b=b: a @ b, 5)
            show(f"matmul {n}x{n} {be}", f"{s * 1e3:.2f} ms, {flops / s / 1e9:.1f} GFLOP/s")
    small = tt.randn(4, 4)
    show(
        "4x4 add, per call (dispatch overhead)",
        f"{best(lambda: small + small, 5, 2000) * 1e6:.2f} us",
    )
    show(
        "4x4 numpy add, per call", f"{best(lambda: small.data + small.data, 5, 2000) * 1e6:.2f} us"
    )


def m03():
    import tinytorch.nn.functional as F
    import tinytorch.tensor as tt

    x = tt.randn(1000, 1000)
    for name, f in (
        ("relu", F.relu),
        ("sigmoid", F.sigmoid),
        ("tanh", F.tanh),
        ("softmax (rows)", F.softmax),
        ("gelu", F.gelu),
    ):
        for be in ("numpy", "native"):
            with tt.use_backend(be):
                s = best(lambda f=f: f(x), 5)
            show(
                f"{name} 1M float32 {be}", f"{s * 1e3:.2f} ms ({x.nbytes / s / 1e9:.1f} GB/s read)"
            )
    with np.errstate(over="raise"):
        try:
            1 / (1 + np.exp(-np.float32(-100.0)))
            show("naive sigmoid(-100) in float32", "no overflow")
        except FloatingPointError:
            show("naive sigmoid(-100) in float32", "overflow in exp")
    show("stable sigmoid(-100)", str(F.sigmoid(tt.tensor([-100.0])).item()))
    show("softmax([1000, 1000])", str(F.softmax(tt.tensor([1000.0, 1000.0])).tolist()))


def m04():
    import tinytorch.nn.functional as F
    import tinytorch.tensor as tt
    from tinytorch import nn

    layer = nn.Linear(784, 128)
    n = layer.num_parameters()
    show("Linear(784, 128) parameters", f"{n} ({n * 4 / 1e3:.0f} KB float32)")
    x = tt.randn(256, 784)
    flops = 2 * 256 * 784 * 128
    for be in ("numpy", "native"):
        with tt.use_backend(be):
            s = best(lambda: layer(x), 7)
        show(
            f"Linear(784,128) on (256, 784) {be}",
            f"{s * 1e3:.3f} ms, {flops / s / 1e9:.1f} GFLOP/s",
        )
    x3 = tt.randn(32, 64, 512)
    w = tt.randn(512, 512)
    with tt.use_backend("native"):
        s = best(lambda: F.linear(x3, w), 5)
    show("linear (32, 64, 512) x (512, 512): one folded GEMM", f"{s * 1e3:.2f} ms")
    from tinytorch.nn import init

    for fan_in in (64, 256, 1024):
        tt.manual_seed(0)
        h = tt.randn(512, fan_in)
        stds = {}
        for name, fill in (
            ("N(0,1)", lambda w: init.normal_(w)),
            ("kaiming", lambda w: init.kaiming_normal_(w, nonlinearity="relu")),
        ):
            a = h
            for _ in range(10):
                lin = nn.Linear(fan_in, fan_in, bias=False)
                fill(lin.weight)
                a = F.relu(lin(a))
            stds[name] = float(a.data.std())
        show(
            f"std after 10 ReLU layers of width {fan_in}",
            ", ".join(f"{k}: {v:.3g}" for k, v in stds.items()),
        )


def m05():
    import tinytorch.tensor as tt
    from tinytorch import nn

    for sizes in ([784, 128, 10], [784, 256, 128, 10], [784, 1024, 1024, 10]):
        net = nn.MLP(sizes)
        p = net.num_parameters()
        x = tt.randn(64, 784)
        with tt.use_backend("native"):
            s = best(lambda net=net, x=x: net(x), 7)
        acts = 64 * sum(sizes[1:]) * 4
        show(
            f"MLP{sizes}",
            f"{p} params ({p * 4 / 1e6:.2f} MB), activations {acts / 1e3:.0f} KB "
            f"per batch of 64, forward {s * 1e3:.2f} ms",
        )


def m06():
    import tinytorch.nn.functional as F
    import tinytorch.tensor as tt

    for n, c, h, o, k in ((32, 3, 32, 16, 3), (32, 16, 32, 32, 3), (8, 64, 28, 64, 5)):
        x, w = tt.randn(n, c, h, h), tt.randn(o, c, k, k)
        oh = h - k + 1
        flops = 2 * n * o * oh * oh * c * k * k
        cols = F.im2col(x, k)
        show(
            f"im2col of ({n},{c},{h},{h}) k={k}",
            f"{x.nbytes / 1e6:.2f} MB -> {cols.nbytes / 1e6:.2f} MB "
            f"({cols.nbytes / x.nbytes:.1f}x)",
        )
        for be in ("numpy", "native"):
            with tt.use_backend(be):
                s = best(lambda x=x, w=w: F.conv2d(x, w), 3)
            show(
                f"conv2d ({n},{c},{h},{h})*({o},{c},{k},{k}) {be}",
                f"{s * 1e3:.2f} ms, {flops / 1e9:.2f} GFLOP, {flops / s / 1e9:.1f} GFLOP/s",
            )
    x = tt.randn(32, 16, 32, 32)
    for be in ("numpy", "native"):
        with tt.use_backend(be):
            s = best(lambda: F.max_pool2d(x, 2), 5)
        show(f"max_pool2d 2x2 on (32,16,32,32) {be}", f"{s * 1e3:.2f} ms")


def m07():
    import tinytorch.nn.functional as F
    import tinytorch.tensor as tt

    b, h, d = 1, 8, 64
    for t in (128, 512, 2048):
        q = tt.randn(b, h, t, d)
        scores = b * h * t * t * 4
        show(f"scores (B=1, H=8, T={t}) float32", f"{scores / 1e6:.1f} MB")
        with tt.use_backend("native"):
            fused = best(lambda q=q: F.scaled_dot_product_attention(q, q, q, is_causal=True), 3)
            comp = best(
                lambda q=q: F.scaled_dot_product_attention(
                    q, q, q, is_causal=True, return_weights=True
                ),
                3,
            )
        with tt.use_backend("numpy"):
            ref = best(lambda q=q: F.scaled_dot_product_attention(q, q, q, is_causal=True), 3)
        show(
            f"attention T={t}: fused native / composed / numpy ref",
            f"{fused * 1e3:.2f} / {comp * 1e3:.2f} / {ref * 1e3:.2f} ms",
        )


def m08():
    import tinytorch.tensor as tt
    from tinytorch.data import (
        Compose,
        DataLoader,
        Dataset,
        Normalize,
        RandomCrop,
        RandomHorizontalFlip,
    )

    n = 10000
    X = np.random.default_rng(0).random((n, 3, 32, 32), dtype=np.float32)
    y = np.arange(n) % 10

    def epoch(loader):
        for _ in loader:
            pass

    for prefetch in (0, 2):
        loader = DataLoader(X, y, batch_size=128, shuffle=True, seed=0, prefetch=prefetch)
        s = best(lambda loader=loader: epoch(loader), 3)
        show(f"TensorDataset fast path, shuffle, prefetch={prefetch}", f"{n / s:,.0f} samples/s")

    class PerSample(Dataset):
        def __len__(self):
            return n

        def __getitem__(self, i):
            return X[i], y[i]

    loader = DataLoader(PerSample(), batch_size=128, shuffle=True, seed=0, prefetch=0)
    s = best(lambda: epoch(loader), 2)
    show("per-sample Dataset + collate, prefetch=0", f"{n / s:,.0f} samples/s")
    aug = Compose(
        [RandomCrop(32, padding=4), RandomHorizontalFlip(), Normalize([0.5] * 3, [0.25] * 3)]
    )
    loader = DataLoader(X, y, batch_size=128, shuffle=True, seed=0, transform=aug, prefetch=0)
    s = best(lambda: epoch(loader), 3)
    show("fast path + crop/flip/normalize, prefetch=0", f"{n / s:,.0f} samples/s")
    loader = DataLoader(X, y, batch_size=128, shuffle=True, seed=0, transform=aug, prefetch=2)
    s = best(lambda: epoch(loader), 3)
    show("fast path + crop/flip/normalize, prefetch=2", f"{n / s:,.0f} samples/s")
    show("one epoch of data in memory", f"{X.nbytes / 1e6:.0f} MB")
    del tt


def m16():
    import tinytorch.tensor as tt
    from tinytorch.autograd import no_grad
    from tinytorch.gpt import BPETokenizer, CharTokenizer, GPTConfig, KVCache, TinyGPT
    from tinytorch.gpt.data import tinytorch_corpus

    text = tinytorch_corpus()
    char = CharTokenizer().fit(text)
    t0 = time.process_time()
    bpe = BPETokenizer.train(text, vocab_size=512)
    show("BPETokenizer.train(corpus, vocab_size=512)", f"{time.process_time() - t0:.2f} s")
    n_bytes = len(text.encode("utf-8"))
    for name, tok in (("char", char), ("BPE 512", bpe)):
        n = len(tok.encode(text))
        show(
            f"{name}: vocab {tok.vocab_size}, tokens for {len(text):,} chars",
            f"{n:,} ({n_bytes / n:.2f} bytes/token)",
        )
    cfg = GPTConfig.baby(vocab_size=char.vocab_size)
    v, t, c, n_layer = cfg.vocab_size, cfg.block_size, cfg.n_embd, cfg.n_layer
    formula = v * c + t * c + n_layer * (12 * c * c + 2 * c) + c
    tt.manual_seed(0)
    model = TinyGPT(cfg)
    n = model.num_parameters()
    show(
        f"baby TinyGPT (V={v}, T={t}, C={c}, L={n_layer}) params",
        f"{n:,} (formula {formula:,}), {n * 4 / 1e6:.2f} MB float32",
    )
    ids = tt.tensor(np.random.default_rng(0).integers(0, v, (12, t)))
    for be in ("numpy", "native"):
        with tt.use_backend(be):

            def step():
                model.zero_grad()
                model.loss(ids, ids).backward()

            s = best(step, 3)
        show(f"train step forward+backward B=12, T={t} {be}", f"{s * 1e3:.1f} ms")
    long = TinyGPT(cfg.replace(block_size=256)).eval()
    cache = KVCache(long.config, batch_size=1)
    show("KV cache at T=256, batch 1", f"{cache.nbytes / 1e6:.2f} MB")
    ops = []
    with no_grad():
        long(ids[:1, :32], cache=cache)
        hook = tt.dispatch.add_pre_hook(lambda op, inputs: ops.append(type(op).__name__))
        long(ids[:1, :1], cache=cache)
        hook.remove()
    show("ops per cached token (reshapes among them)", f"{len(ops)} ({ops.count('Reshape')})")
    for be in ("numpy", "native"):
        with tt.use_backend(be), no_grad():
            for ctx in (32, 128, 255):
                prompt = tt.tensor(np.random.default_rng(1).integers(0, v, (1, ctx)))
                full = best(lambda p=prompt: long(p), 3)

                def cached(p=prompt, ctx=ctx):
                    cache.length = ctx  # the prompt's keys/values are cached: one new token
                    long(p[:, -1:], cache=cache)

                cache.reset()
                long(prompt, cache=cache)
                one = best(cached, 5, 5)
                show(
                    f"next token at context {ctx} {be}: no cache / cache",
                    f"{full * 1e3:.2f} / {one * 1e3:.2f} ms ({full / one:.1f}x)",
                )


SECTIONS = {
    "01": m01,
    "02": m02,
    "03": m03,
    "04": m04,
    "05": m05,
    "06": m06,
    "07": m07,
    "08": m08,
    "16": m16,
}


def main(argv: list[str]) -> int:
    """Run the sections named in ``argv`` (all when empty); ``--threads N`` (default 1)."""
    import os
    import platform

    import tinytorch.tensor as tt

    threads = 1
    if "--threads" in argv:
        i = argv.index("--threads")
        threads = int(argv[i + 1])
        argv = argv[:i] + argv[i + 2 :]
    if tt.native_available():
        tt.backend.native().set_num_threads(threads)
    print(
        f"# threads: {threads} "
        f"(BLAS: OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')})"
    )

    print(
        f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"python {platform.python_version()}, numpy {np.__version__}"
    )
    for key in argv or SECTIONS:
        print(f"module {key}:", flush=True)
        SECTIONS[key]()
    return 0


if __name__ == "__main__":
    if "OPENBLAS_NUM_THREADS" not in __import__("os").environ:  # must be set before numpy loads
        n = sys.argv[sys.argv.index("--threads") + 1] if "--threads" in sys.argv else "1"
        env = dict(__import__("os").environ, OPENBLAS_NUM_THREADS=n, OMP_NUM_THREADS=n)
        __import__("os").execve(sys.executable, [sys.executable, *sys.argv], env)
    sys.exit(main(sys.argv[1:]))
