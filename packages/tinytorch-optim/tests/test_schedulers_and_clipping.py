"""Schedulers and gradient clipping without PyTorch: closed forms, exact resume, errors."""

import json
import math

import numpy as np
import pytest
import tinytorch.tensor as tt
from tinytorch import optim
from tinytorch.optim import lr_scheduler as ls


def sgd(lr=1.0, n_groups=1, **kw):
    return optim.SGD(
        [
            {"params": [tt.zeros(2, requires_grad=True)], "lr": lr * (i + 1)}
            for i in range(n_groups)
        ],
        lr=lr,
        **kw,
    )


def lrs(sched, n):
    out = []
    for _ in range(n):
        out.append(sched.get_last_lr())
        sched.optimizer.step()
        sched.step()
    return out


def test_step_lr_closed_form_and_groups():
    opt = sgd(lr=0.1, n_groups=2)
    got = lrs(ls.StepLR(opt, step_size=3, gamma=0.5), 9)
    for t, (a, b) in enumerate(got):
        assert a == pytest.approx(0.1 * 0.5 ** (t // 3)) and b == pytest.approx(
            0.2 * 0.5 ** (t // 3)
        )
    assert opt.param_groups[1]["lr"] == pytest.approx(0.2 * 0.5**3)


def test_cosine_hits_endpoints():
    got = [x[0] for x in lrs(ls.CosineAnnealingLR(sgd(lr=0.5), T_max=10, eta_min=0.05), 11)]
    assert got[0] == 0.5 and got[10] == pytest.approx(0.05) and got[5] == pytest.approx(0.275)
    assert all(a > b for a, b in zip(got[:-1], got[1:], strict=True))


def test_warmup_cosine_shape():
    got = [
        x[0]
        for x in lrs(
            ls.WarmupCosineLR(sgd(lr=1.0), warmup_steps=5, total_steps=25, eta_min=0.1), 40
        )
    ]
    assert got[:5] == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0])
    assert (
        got[5] == 1.0 and got[15] == pytest.approx(0.55) and got[25:] == pytest.approx([0.1] * 15)
    )
    assert all(a >= b for a, b in zip(got[4:-1], got[5:], strict=True))


def test_warmup_stable_decay_shape():
    sched = ls.WarmupStableDecayLR(
        sgd(lr=1.0), warmup_steps=4, total_steps=20, decay_steps=5, eta_min=0.1
    )
    got = [x[0] for x in lrs(sched, 25)]
    assert got[:4] == pytest.approx([0.25, 0.5, 0.75, 1.0])
    assert got[4:15] == [1.0] * 11  # the stable phase ends where the decay starts
    # linear from 1.0 at step 15 down to eta_min at step 20, then flat
    assert got[15:20] == pytest.approx([1.0, 0.82, 0.64, 0.46, 0.28])
    assert got[20:] == pytest.approx([0.1] * 5)


def test_warmup_stable_decay_spends_more_of_the_run_at_the_peak_than_cosine():
    wsd = [x[0] for x in lrs(ls.WarmupStableDecayLR(sgd(lr=1.0), 100, 2000, 400), 2000)]
    cos = [x[0] for x in lrs(ls.WarmupCosineLR(sgd(lr=1.0), 100, 2000), 2000)]
    assert np.mean(wsd) == pytest.approx(0.875, abs=0.01)  # 100 warmup, 1500 at 1, 400 linear
    assert np.mean(cos) == pytest.approx(0.50, abs=0.01)


def test_one_cycle_peaks_at_max_lr_and_ends_far_below_the_start():
    opt = sgd(lr=0.1, momentum=0.9)
    sched = ls.OneCycleLR(opt, max_lr=2.0, total_steps=100, pct_start=0.3)
    got, moms = [], []
    for _ in range(100):
        got.append(sched.get_last_lr()[0])
        moms.append(opt.param_groups[0]["momentum"])
        opt.step()
        sched.step()
    assert got[0] == pytest.approx(2.0 / 25) and max(got) == pytest.approx(2.0)
    assert int(np.argmax(got)) == 29 and got[-1] == pytest.approx(2.0 / 25 / 1e4)
    # momentum moves the other way: max at the ends, base at the peak
    assert moms[0] == pytest.approx(0.95) and moms[29] == pytest.approx(0.85)
    assert moms[-1] == pytest.approx(0.95)


def test_one_cycle_cycles_adams_beta1():
    opt = optim.Adam([tt.zeros(1, requires_grad=True)], lr=0.1)
    sched = ls.OneCycleLR(opt, max_lr=1.0, total_steps=10, pct_start=0.5)
    for _ in range(2):
        sched.step()
    beta1, beta2 = opt.param_groups[0]["betas"]
    assert 0.85 < beta1 < 0.95 and beta2 == 0.999


SCHEDULERS = {
    "StepLR": lambda o: ls.StepLR(o, step_size=4, gamma=0.7),
    "ExponentialLR": lambda o: ls.ExponentialLR(o, gamma=0.9),
    "LinearLR": lambda o: ls.LinearLR(o, start_factor=0.25, total_iters=6),
    "LinearWarmup": lambda o: ls.LinearWarmup(o, warmup_steps=6),
    "CosineAnnealingLR": lambda o: ls.CosineAnnealingLR(o, T_max=12, eta_min=0.01),
    "WarmupCosineLR": lambda o: ls.WarmupCosineLR(o, warmup_steps=3, total_steps=15),
    "WarmupStableDecayLR": lambda o: ls.WarmupStableDecayLR(
        o, warmup_steps=3, total_steps=15, decay_steps=6, eta_min=0.01
    ),
    "OneCycleLR": lambda o: ls.OneCycleLR(o, max_lr=1.0, total_steps=20),
    "LambdaLR": lambda o: ls.LambdaLR(o, lambda t: 1.0 / (1 + t)),
    "SequentialLR": lambda o: ls.SequentialLR(
        o, [ls.LinearWarmup(o, 4), ls.CosineAnnealingLR(o, T_max=10)], milestones=[4]
    ),
}


@pytest.mark.parametrize("name", SCHEDULERS)
def test_resume_from_state_dicts_continues_exactly(name):
    opt = sgd(lr=0.5, n_groups=2, momentum=0.9)
    full = lrs(SCHEDULERS[name](opt), 20)

    opt = sgd(lr=0.5, n_groups=2, momentum=0.9)
    sched = SCHEDULERS[name](opt)
    first = lrs(sched, 8)
    saved_opt = opt.state_dict()
    saved = json.loads(json.dumps(sched.state_dict()))  # plain data
    # a fresh optimizer and scheduler, as after a restart
    opt2 = sgd(lr=0.5, n_groups=2, momentum=0.9)
    sched2 = SCHEDULERS[name](opt2)
    opt2.load_state_dict(saved_opt)
    sched2.load_state_dict(saved)
    rest = lrs(sched2, 12)
    assert first + rest == full
    assert [g["lr"] for g in opt2.param_groups] == sched2.get_last_lr()


def test_scheduler_errors():
    with pytest.raises(ValueError, match="StepLR: step_size must be a positive int"):
        ls.StepLR(sgd(), step_size=0)
    with pytest.raises(ValueError, match="OneCycleLR: give total_steps"):
        ls.OneCycleLR(sgd(), max_lr=1.0)
    with pytest.raises(ValueError, match="anneal_strategy"):
        ls.OneCycleLR(sgd(), max_lr=1.0, total_steps=5, anneal_strategy="exp")
    with pytest.raises(ValueError, match="expected 1 values for max_lr"):
        ls.OneCycleLR(sgd(), max_lr=[1.0, 2.0], total_steps=5)
    with pytest.raises(ValueError, match="WarmupCosineLR: total_steps"):
        ls.WarmupCosineLR(sgd(), warmup_steps=10, total_steps=10)
    with pytest.raises(
        ValueError, match=r"WarmupStableDecayLR: warmup_steps \(10\) \+ decay_steps"
    ):
        ls.WarmupStableDecayLR(sgd(), warmup_steps=10, total_steps=15, decay_steps=6)
    with pytest.raises(ValueError, match="WarmupStableDecayLR: decay_steps must be a positive"):
        ls.WarmupStableDecayLR(sgd(), warmup_steps=1, total_steps=15, decay_steps=0)
    with pytest.raises(ValueError, match="2 schedulers need 1 milestones"):
        o = sgd()
        ls.SequentialLR(o, [ls.StepLR(o, 1), ls.StepLR(o, 2)], milestones=[])
    with pytest.raises(ValueError, match="different optimizer"):
        o = sgd()
        ls.SequentialLR(o, [ls.StepLR(o, 1), ls.StepLR(sgd(), 2)], milestones=[3])
    with pytest.raises(ValueError, match="unknown key"):
        ls.StepLR(sgd(), 2).load_state_dict(ls.CosineAnnealingLR(sgd(), T_max=3).state_dict())
    with pytest.raises(KeyError, match="initial_lr"):
        ls.StepLR(sgd(), 2, last_epoch=5)
    with pytest.raises(TypeError, match="not an optimizer"):
        ls.StepLR(object(), 2)


# ------------------------------------------------------------------ clipping


def with_grads(*grads):
    ps = []
    for g in grads:
        p = tt.zeros(len(g), requires_grad=True)
        p.grad = tt.tensor(g)
        ps.append(p)
    return ps


def test_clip_grad_norm_scales_jointly():
    ps = with_grads([3.0, 0.0], [0.0, 4.0])
    total = optim.clip_grad_norm_(ps, max_norm=2.5)
    assert total.item() == pytest.approx(5.0)
    joint = np.concatenate([p.grad.numpy() for p in ps])
    assert np.linalg.norm(joint) == pytest.approx(2.5, rel=1e-5)
    np.testing.assert_allclose(joint, [1.5, 0.0, 0.0, 2.0], rtol=1e-5)


def test_clip_grad_norm_leaves_small_gradients_and_handles_none_and_inf_norm():
    ps = with_grads([0.3, -0.4])
    assert optim.clip_grad_norm_(ps, max_norm=10.0).item() == pytest.approx(0.5)
    np.testing.assert_allclose(ps[0].grad.numpy(), [0.3, -0.4], rtol=1e-5)
    assert optim.clip_grad_norm_([tt.zeros(2, requires_grad=True)], 1.0).item() == 0.0
    ps = with_grads([1.0, -6.0], [2.0])
    assert optim.clip_grad_norm_(ps, 3.0, norm_type=math.inf).item() == 6.0
    np.testing.assert_allclose(ps[0].grad.numpy(), [0.5, -3.0], rtol=1e-5)


def test_clip_grad_norm_nonfinite():
    ps = with_grads([1.0, float("inf")])
    with pytest.raises(RuntimeError, match="clip_grad_norm_.*inf"):
        optim.clip_grad_norm_(ps, 1.0, error_if_nonfinite=True)
    assert math.isinf(
        optim.clip_grad_norm_(ps, 1.0).item()
    )  # clipped anyway: 0 * inf = nan, as torch


def test_clip_grad_value():
    ps = with_grads([-2.0, 0.1, 2.0])
    optim.clip_grad_value_(ps, 0.5)
    np.testing.assert_allclose(ps[0].grad.numpy(), [-0.5, 0.1, 0.5])
    with pytest.raises(ValueError, match="clip_value must be >= 0"):
        optim.clip_grad_value_(ps, -1.0)
