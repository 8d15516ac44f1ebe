"""Safe checkpoints: round trip, atomic writes, never unpickling, architecture mismatches."""

import os
import pickle
import zipfile

import numpy as np
import pytest
import tinytorch.tensor as tt
from tinytorch import nn
from tinytorch.optim import Adam
from tinytorch.train import CheckpointError, load_checkpoint, load_model, save_checkpoint
from tinytorch.train import checkpoint as ckpt_module


def _model(hidden=8):
    tt.manual_seed(0)
    return nn.Sequential(nn.Linear(4, hidden), nn.ReLU(), nn.Linear(hidden, 3))


def test_round_trip_everything(tmp_path):
    model = _model()
    opt = Adam(model.parameters(), lr=0.01)
    model(tt.randn(5, 4)).sum().backward()
    opt.step()
    gen = tt.Generator(3)
    path = save_checkpoint(
        tmp_path / "c.pkl",
        model=model,
        optimizer=opt.state_dict(),
        epoch=4,
        rng=gen.get_state(),
        history={"loss": [1.0, float("nan")]},
        pair=(1, "a"),
        nested={"x": [np.int64(3), np.float32(0.5), None, True]},
    )
    c = load_checkpoint(path)
    assert c["epoch"] == 4 and c["pair"] == (1, "a")
    assert c["nested"] == {"x": [3, 0.5, None, True]}
    assert c["history"]["loss"][0] == 1.0 and np.isnan(c["history"]["loss"][1])
    for k, v in model.state_dict().items():
        assert np.array_equal(c["model"][k], v.numpy()) and c["model"][k].dtype == v.numpy().dtype
    g2 = tt.Generator(99)
    g2.set_state(c["rng"])
    assert g2.numpy.random() == gen.numpy.random()
    # the optimizer state (int keys, arrays) comes back loadable
    opt2 = Adam(_model().parameters(), lr=0.01)
    opt2.load_state_dict(c["optimizer"])
    for i, s in opt.state_dict()["state"].items():
        assert np.array_equal(opt2.state_dict()["state"][i]["exp_avg"], s["exp_avg"])
    assert [a[0] for a in c["architecture"]] == list(model.state_dict())


def test_file_is_a_zip_of_npy_and_json(tmp_path):
    path = save_checkpoint(tmp_path / "c.bin", model=_model(), epoch=1)
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
    assert "metadata.json" in names
    assert all(
        n == "metadata.json" or (n.startswith("arrays/") and n.endswith(".npy")) for n in names
    )


def test_unsupported_objects_are_refused(tmp_path):
    with pytest.raises(CheckpointError, match="state_dict"):
        save_checkpoint(tmp_path / "c", thing=object())
    with pytest.raises(CheckpointError, match="object array"):
        save_checkpoint(tmp_path / "c", arr=np.array([1, "a", None], dtype=object))
    assert not (tmp_path / "c").exists()


def test_crash_mid_write_leaves_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "best_model.pkl"
    save_checkpoint(path, epoch=1, w=np.zeros(3))
    before = path.read_bytes()

    def crash(src, dst):
        assert os.path.getsize(src) > 0  # the temp file was fully written
        raise OSError("simulated crash before the rename")

    monkeypatch.setattr(ckpt_module, "_replace", crash)
    with pytest.raises(OSError, match="simulated crash"):
        save_checkpoint(path, epoch=2, w=np.ones(3))
    assert path.read_bytes() == before
    assert load_checkpoint(path)["epoch"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best_model.pkl"]  # no temp left over


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("wrap", ["raw", "npy-in-zip"])
def test_loading_never_unpickles(tmp_path, wrap):
    marker = tmp_path / "PWNED"
    path = tmp_path / "best_model.pkl"
    payload = pickle.dumps(_Evil(marker))
    # sanity: this payload really would run code if unpickled (in a throwaway check)
    probe = tmp_path / "probe"
    pickle.loads(pickle.dumps(_Evil(probe)))
    assert probe.exists()
    if wrap == "raw":
        path.write_bytes(payload)
        match = "never unpickles"
    else:  # a well-formed checkpoint whose array entry is a pickled object array
        good = save_checkpoint(tmp_path / "good.ckpt", w=np.zeros(2))
        with zipfile.ZipFile(good) as zf:
            meta = zf.read("metadata.json")
        arr = np.array([_Evil(marker)], dtype=object)
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("metadata.json", meta)
            with zf.open("arrays/a0.npy", "w") as f:
                np.lib.format.write_array(f, arr, allow_pickle=True)
        match = "unreadable array"
    with pytest.raises(CheckpointError, match=match):
        load_checkpoint(path)
    with pytest.raises(CheckpointError):
        load_model(_model(), path)
    assert not marker.exists()


def test_damaged_or_foreign_files(tmp_path):
    good = save_checkpoint(tmp_path / "good.ckpt", model=_model())
    blob = good.read_bytes()
    (tmp_path / "trunc.ckpt").write_bytes(blob[: len(blob) // 2])
    with pytest.raises(CheckpointError, match="not a TinyTorch checkpoint|damaged"):
        load_checkpoint(tmp_path / "trunc.ckpt")
    np.savez(tmp_path / "plain.npz", a=np.zeros(2))
    with pytest.raises(CheckpointError, match="no metadata.json"):
        load_checkpoint(tmp_path / "plain.npz")


def test_other_architecture_names_keys_and_shapes(tmp_path):
    path = save_checkpoint(tmp_path / "best_model.pkl", model=_model(hidden=8))
    with pytest.raises(CheckpointError) as info:
        load_model(_model(hidden=16), path)
    msg = str(info.value)
    assert "0.weight: checkpoint (8, 4) vs model (16, 4)" in msg
    assert "2.weight: checkpoint (3, 8) vs model (3, 16)" in msg
    other = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 3))
    with pytest.raises(CheckpointError) as info:
        load_model(other, path)
    assert "missing from the checkpoint" in str(info.value) and "4.weight" in str(info.value)
    # the same architecture loads
    fresh = _model(hidden=8)
    load_model(fresh, path)
