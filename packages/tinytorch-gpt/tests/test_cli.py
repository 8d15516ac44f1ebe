"""The tinytorch-gpt command: train on a small file, sample from the checkpoint, bad input."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest
from tinytorch.gpt import tinytorch_corpus
from tinytorch.gpt.cli import main

TINY = [
    "--block-size",
    "16",
    "--n-layer",
    "1",
    "--n-head",
    "2",
    "--n-embd",
    "16",
    "--batch-size",
    "4",
    "--eval-interval",
    "10",
    "--eval-iters",
    "2",
    "--warmup-iters",
    "2",
]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    text = d / "text.txt"
    text.write_text("to be or not to be, that is the question. " * 30, encoding="utf-8")
    ckpt, hist = d / "gpt.ckpt", d / "history.json"
    rc = main(
        [
            "train",
            "--data",
            str(text),
            "--out",
            str(ckpt),
            "--history",
            str(hist),
            "--max-iters",
            "20",
            "--no-progress",
            *TINY,
        ]
    )
    assert rc == 0
    return ckpt, hist


def test_train_writes_checkpoint_and_history(checkpoint, capsys):
    ckpt, hist = checkpoint
    assert ckpt.is_file()
    history = json.loads(hist.read_text())
    assert history["iter"] == [0, 10, 20] and len(history["step_loss"]) == 20
    assert history["val_loss"][-1] < history["val_loss"][0]


def test_train_records_the_schedule_it_followed(checkpoint, tmp_path):
    """The default is warmup-stable-decay; --lr-schedule cosine is nanoGPT's."""
    ckpt, hist = checkpoint
    # 20 steps, warmup 2, decay over the last round(0.2 * 20) = 4: lr 1e-3 until step 16
    assert json.loads(hist.read_text())["lr"] == pytest.approx([5e-4, 1e-3, 1e-4])
    text = tmp_path / "text.txt"
    text.write_text("to be or not to be, that is the question. " * 30, encoding="utf-8")
    hist2 = tmp_path / "history.json"
    args = ["train", "--data", str(text), "--out", str(tmp_path / "c.ckpt"), "--history"]
    rc = main(
        [*args, str(hist2), "--max-iters", "20", "--no-progress", "--lr-schedule", "cosine", *TINY]
    )
    assert rc == 0
    # cosine from step 2 to 20: at step 10, progress 8/18
    mid = 1e-4 + 9e-4 * (1 + math.cos(math.pi * 8 / 18)) / 2
    assert json.loads(hist2.read_text())["lr"] == pytest.approx([5e-4, mid, 1e-4])


def test_sample_prints_prompt_and_continuation(checkpoint, capsys):
    ckpt, _ = checkpoint
    assert (
        main(
            [
                "sample",
                "--checkpoint",
                str(ckpt),
                "--prompt",
                "to be",
                "--max-new-tokens",
                "30",
                "--seed",
                "3",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert out.startswith("to be") and len(out.rstrip("\n")) >= 35
    # same seed without the cache: the same text
    assert (
        main(
            [
                "sample",
                "--checkpoint",
                str(ckpt),
                "--prompt",
                "to be",
                "--max-new-tokens",
                "30",
                "--seed",
                "3",
                "--no-cache",
            ]
        )
        == 0
    )
    assert capsys.readouterr().out == out


def test_long_prompt_is_cropped_with_a_note(checkpoint, capsys):
    ckpt, _ = checkpoint
    prompt = "to be or not to be, that is the question. "  # 42 chars > block 16
    assert (
        main(["sample", "--checkpoint", str(ckpt), "--prompt", prompt, "--max-new-tokens", "5"])
        == 0
    )
    captured = capsys.readouterr()
    assert captured.out.startswith(prompt)
    assert "the model sees its last 16" in captured.err


def test_unknown_prompt_character_is_a_clear_error(checkpoint, capsys):
    ckpt, _ = checkpoint
    assert main(["sample", "--checkpoint", str(ckpt), "--prompt", "to be Z"]) == 2
    assert "'Z'" in capsys.readouterr().err


def test_missing_data_is_a_clear_error(tmp_path, capsys):
    rc = main(
        [
            "train",
            "--data",
            str(tmp_path / "nope.txt"),
            "--out",
            str(tmp_path / "x"),
            "--max-iters",
            "1",
            *TINY,
        ]
    )
    assert rc == 2 and "neither a corpus name" in capsys.readouterr().err


def test_offline_corpus_and_bpe(tmp_path, capsys):
    rc = main(
        [
            "train",
            "--data",
            "tinytorch",
            "--tokenizer",
            "bpe",
            "--bpe-vocab-size",
            "300",
            "--out",
            str(tmp_path / "bpe.ckpt"),
            "--max-iters",
            "2",
            "--no-progress",
            *TINY,
        ]
    )
    assert rc == 0
    out = capsys.readouterr().out
    assert "vocabulary 300" in out and f"{len(tinytorch_corpus()):,} characters" in out
    assert (
        main(
            [
                "sample",
                "--checkpoint",
                str(tmp_path / "bpe.ckpt"),
                "--prompt",
                "Tensor",
                "--max-new-tokens",
                "5",
            ]
        )
        == 0
    )


def test_python_dash_m_runs_the_command():
    proc = subprocess.run(
        [sys.executable, "-m", "tinytorch.gpt", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0 and "train" in proc.stdout and "sample" in proc.stdout
