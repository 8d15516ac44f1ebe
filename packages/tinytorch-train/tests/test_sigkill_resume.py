"""Fault test: SIGKILL a training process mid-epoch, resume in a new process, get the same weights.

The training script kills itself with SIGKILL (no cleanup, no atexit, no flush) at a given
optimizer step, between two mid-epoch checkpoints; a second process resumes from the last
checkpoint. Its final weights must equal, bit for bit, those of an uninterrupted run.
"""

import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

SCRIPT = textwrap.dedent("""
    import json, os, signal, sys
    import numpy as np
    import tinytorch.tensor as tt
    from tinytorch import nn
    from tinytorch.data import DataLoader, make_spirals
    from tinytorch.optim import Adam
    from tinytorch.optim.lr_scheduler import StepLR
    from tinytorch.train import Accuracy, Callback, Trainer

    workdir, kill_at, resume = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "resume"
    augment = sys.argv[4] == "augment"

    class Jitter:
        def __init__(self, seed):
            self.generator = tt.Generator(seed)

        def __call__(self, xb):
            noise = self.generator.numpy.standard_normal(xb.shape)
            return (xb + 0.05 * noise).astype(np.float32)

    class KillAt(Callback):
        def on_batch_end(self, trainer, step, logs):
            if step == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)

    tt.manual_seed(0)
    X, y = make_spirals(320, seed=0)
    model = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Dropout(0.1), nn.Linear(32, 2))
    opt = Adam(model.parameters(), lr=0.01)
    trainer = Trainer(model, nn.CrossEntropyLoss(), opt, [Accuracy()],
                      scheduler=StepLR(opt, step_size=1, gamma=0.8), callbacks=[KillAt()], seed=1)
    train = DataLoader(X, y, batch_size=16, shuffle=True, seed=2, prefetch=3,
                       transform=Jitter(5) if augment else None)   # 20 steps per epoch
    val = DataLoader(X, y, batch_size=160)
    history = trainer.fit(train, val, epochs=4, checkpoint_path=os.path.join(workdir, "run.ckpt"),
                          checkpoint_every=7, resume=resume, verbose=False)
    final = {k: v.numpy() for k, v in model.state_dict().items()}
    np.savez(os.path.join(workdir, "final.npz"), **final)
    history.pop("time")
    with open(os.path.join(workdir, "history.json"), "w") as f:
        json.dump(history, f)
""")


def _train(script, workdir, kill_at, mode, augment="plain"):
    return subprocess.run(
        [sys.executable, str(script), str(workdir), str(kill_at), mode, augment],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")
@pytest.mark.parametrize("augment", ["plain", "augment"])
def test_sigkill_mid_epoch_then_resume_equals_uninterrupted(tmp_path, augment):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    ref, cut = tmp_path / "ref", tmp_path / "cut"
    ref.mkdir()
    cut.mkdir()

    done = _train(script, ref, -1, "fresh", augment)
    assert done.returncode == 0, done.stderr

    # Step 45 is in epoch 3 (steps 41-60), three steps after the checkpoint at step 42.
    killed = _train(script, cut, 45, "fresh", augment)
    assert killed.returncode == -signal.SIGKILL, (killed.returncode, killed.stderr)
    assert (cut / "run.ckpt").exists() and not (cut / "final.npz").exists()
    leftovers = [p.name for p in cut.iterdir() if p.name != "run.ckpt"]
    assert leftovers == [] or all(p.endswith(".tmp") for p in leftovers)

    resumed = _train(script, cut, -1, "resume", augment)
    assert resumed.returncode == 0, resumed.stderr

    a, b = np.load(ref / "final.npz"), np.load(cut / "final.npz")
    assert sorted(a.files) == sorted(b.files)
    for k in a.files:
        assert np.array_equal(a[k], b[k]), k
    assert (ref / "history.json").read_text() == (cut / "history.json").read_text()


def test_resumed_checkpoint_was_mid_epoch(tmp_path):
    """The resume starts from the mid-epoch checkpoint (step 42, 2 batches into epoch 3)."""
    from tinytorch.train import load_checkpoint

    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    killed = _train(script, tmp_path, 45, "fresh")
    assert killed.returncode == -signal.SIGKILL
    ckpt = load_checkpoint(tmp_path / "run.ckpt")
    assert (ckpt["global_step"], ckpt["epoch"], ckpt["batches_done"]) == (42, 2, 2)
    assert ckpt["train_loader"]["batches_done"] == 2
    assert os.path.getsize(tmp_path / "run.ckpt") > 0
