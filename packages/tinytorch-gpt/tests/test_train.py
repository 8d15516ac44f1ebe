"""Training: the model overfits a tiny corpus; checkpoints round-trip; mismatches name the field."""

from __future__ import annotations

import numpy as np
import pytest
import tinytorch.tensor as tt
from tinytorch.data import TextDataset
from tinytorch.gpt import (
    CharTokenizer,
    ConfigMismatchError,
    GPTConfig,
    TinyGPT,
    TrainConfig,
    generate,
    load_gpt,
    save_gpt,
    train,
)
from tinytorch.train.checkpoint import CheckpointError, load_checkpoint

CORPUS = "TinyTorch trains a tiny GPT. "


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tt.manual_seed(0)
    tok = CharTokenizer().fit(CORPUS)
    data = TextDataset(tok.encode(CORPUS * 40), block_size=16)
    model = TinyGPT(
        GPTConfig(vocab_size=tok.vocab_size, block_size=16, n_layer=2, n_head=2, n_embd=32)
    )
    cfg = TrainConfig(
        max_iters=150,
        batch_size=16,
        learning_rate=1e-2,
        min_lr=1e-3,
        warmup_iters=10,
        lr_decay_iters=150,
        eval_interval=50,
        eval_iters=4,
        weight_decay=0.0,
    )
    path = tmp_path_factory.mktemp("ckpt") / "gpt.ckpt"
    history = train(model, data, cfg, checkpoint_path=path, tokenizer=tok, progress=False, log=None)
    return model, tok, data, cfg, path, history


def test_overfits_a_tiny_corpus(trained):
    model, tok, data, cfg, path, history = trained
    assert history["iter"] == [0, 50, 100, 150]
    assert history["val_loss"][0] > 2.0  # about ln(vocab) at the start
    assert history["train_loss"][-1] < 0.1 and history["val_loss"][-1] < 0.1
    assert len(history["step_loss"]) == 150 and history["train_time"] > 0
    # the learning rate warmed up, then decayed to min_lr
    assert history["lr"][0] == pytest.approx(1e-3) and history["lr"][-1] == pytest.approx(1e-3)
    assert max(history["lr"]) > 5e-3
    # and it has memorised the sentence: greedy decoding continues it
    out = tok.decode(generate(model, tok.encode("TinyTorch "), 20, temperature=0))
    assert out == (CORPUS * 2)[:30]


def test_checkpoint_round_trip(trained, tmp_path):
    model, tok, data, cfg, path, history = trained
    ckpt = load_checkpoint(path)  # the safe format of tinytorch.train
    assert ckpt["format"] == "tinytorch-checkpoint" and ckpt["kind"] == "tinytorch-gpt"
    # the best validation loss is what train() keeps
    best = history["iter"][int(np.argmin(history["val_loss"]))]
    assert ckpt["step"] == best and ckpt["train_config"]["max_iters"] == 150
    assert "optimizer" in ckpt and "scheduler" in ckpt
    loaded, loaded_tok, _ = load_gpt(path)
    assert loaded.config == model.config and loaded_tok.chars == tok.chars
    # save_gpt + load_gpt reproduce the model exactly
    again, _, _ = load_gpt(save_gpt(tmp_path / "now.ckpt", model, tok))
    x = np.array([tok.encode("a tiny GPT")])
    np.testing.assert_array_equal(again(x).numpy(), model(x).numpy())
    assert again.lm_head.weight is again.wte.weight  # tying survives loading


def test_checkpoint_with_another_configuration_names_the_field(trained, tmp_path):
    model, tok, data, cfg, path, history = trained
    other = TinyGPT(model.config.replace(n_layer=3, n_embd=48))
    with pytest.raises(ConfigMismatchError) as info:
        load_gpt(path, model=other)
    assert info.value.fields == ["n_layer", "n_embd"]
    assert "n_layer: checkpoint" in str(info.value) and "has 2, expected 3" in str(info.value)
    with pytest.raises(ConfigMismatchError, match="block_size"):
        load_gpt(path, config=model.config.replace(block_size=32))
    # dropout is a training setting: it may differ
    load_gpt(path, config=model.config.replace(dropout=0.1))


def test_load_gpt_rejects_other_checkpoints(tmp_path):
    from tinytorch.nn import Linear
    from tinytorch.train.checkpoint import save_checkpoint

    path = save_checkpoint(tmp_path / "linear.ckpt", model=Linear(2, 2))
    with pytest.raises(CheckpointError, match="not of a TinyGPT"):
        load_gpt(path)
    (tmp_path / "evil.pkl").write_bytes(b"\x80\x04not a zip")
    with pytest.raises(CheckpointError):
        load_gpt(tmp_path / "evil.pkl")


def test_save_gpt_without_extras(tmp_path):
    model = TinyGPT(GPTConfig(vocab_size=5, block_size=4, n_layer=1, n_head=1, n_embd=4))
    _, tok, ckpt = load_gpt(save_gpt(tmp_path / "m.ckpt", model))
    assert tok is None and "optimizer" not in ckpt


def test_train_rejects_data_longer_than_the_block():
    model = TinyGPT(GPTConfig(vocab_size=5, block_size=4, n_layer=1, n_head=1, n_embd=4))
    with pytest.raises(ValueError, match="block_size 4"):
        train(model, TextDataset(list(range(5)) * 10, block_size=8), progress=False, log=None)


def test_train_config_validation():
    with pytest.raises(ValueError, match="lr_schedule must be 'wsd' or 'cosine', got 'step'"):
        TrainConfig(lr_schedule="step")
    with pytest.raises(ValueError, match="decay_frac must be in"):
        TrainConfig(decay_frac=0)
    with pytest.raises(ValueError, match="lr_decay_iters"):
        TrainConfig(warmup_iters=100, lr_decay_iters=50)
    with pytest.raises(ValueError, match="batch_size"):
        TrainConfig(batch_size=0)
    assert TrainConfig.from_dict(TrainConfig().to_dict()) == TrainConfig()


def test_make_scheduler_follows_the_configured_schedule():
    from tinytorch.gpt.train import make_scheduler
    from tinytorch.optim import AdamW, WarmupCosineLR, WarmupStableDecayLR

    def lr_curve(cfg):
        opt = AdamW([tt.zeros(1, requires_grad=True)], lr=cfg.learning_rate)
        sched = make_scheduler(opt, cfg)
        return sched, [sched.lr_at(t)[0] for t in range(cfg.lr_decay_iters + 2)]

    sched, wsd = lr_curve(TrainConfig())  # the default: 100 warmup, decay over steps 1600-2000
    assert isinstance(sched, WarmupStableDecayLR) and sched.decay_steps == 400
    assert wsd[99] == wsd[100] == wsd[1600] == pytest.approx(1e-3)
    assert wsd[1800] == pytest.approx(1e-4 + 0.5 * 9e-4) and wsd[2000] == pytest.approx(1e-4)
    sched, cos = lr_curve(TrainConfig(lr_schedule="cosine"))  # nanoGPT's
    assert isinstance(sched, WarmupCosineLR)
    assert cos[1050] == pytest.approx(1e-4 + 0.5 * 9e-4) and cos[2000] == pytest.approx(1e-4)
    # a decay longer than what follows the warmup is cut to fit
    sched, _ = lr_curve(TrainConfig(warmup_iters=90, lr_decay_iters=100, decay_frac=0.5))
    assert sched.decay_steps == 10
