"""PyTorch parity: the same initial parameters and the same gradient sequence, every step compared.

Skipped cleanly when PyTorch is not installed.
"""

import math

import numpy as np
import pytest
import tinytorch.tensor as tt
from tinytorch import optim
from tinytorch.optim import lr_scheduler as ls

torch = pytest.importorskip("torch")

SHAPES = [(4, 3), (3,), (2, 2, 2)]
STEPS = 20


def make_params(seed=0, shapes=SHAPES):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    ours = [tt.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    return ours, theirs


def grad_sequence(seed=1, steps=STEPS, shapes=SHAPES):
    rng = np.random.default_rng(seed)
    # gradients of varied scale (and sign), so that Adam's adaptivity and amsgrad's max matter
    return [
        [(rng.standard_normal(s) * rng.uniform(0.1, 3.0)).astype(np.float32) for s in shapes]
        for _ in range(steps)
    ]


def run_both(make_ours, make_theirs, steps=STEPS, groups=None, skip_last_grad_at=None):
    ours, theirs = make_params()
    if groups:
        ours_arg = [{"params": [ours[i] for i in idx], **opts} for idx, opts in groups]
        theirs_arg = [{"params": [theirs[i] for i in idx], **opts} for idx, opts in groups]
    else:
        ours_arg, theirs_arg = ours, theirs
    opt_a, opt_b = make_ours(ours_arg), make_theirs(theirs_arg)
    for k, grads in enumerate(grad_sequence(steps=steps)):
        for i, (p, q, g) in enumerate(zip(ours, theirs, grads, strict=True)):
            if skip_last_grad_at is not None and k % skip_last_grad_at == 0 and i == len(ours) - 1:
                p.grad, q.grad = None, None  # skipped by both
            else:
                p.grad, q.grad = tt.tensor(g), torch.tensor(g)
        opt_a.step()
        opt_b.step()
        for p, q in zip(ours, theirs, strict=True):
            np.testing.assert_allclose(
                p.numpy(), q.detach().numpy(), rtol=2e-5, atol=2e-6, err_msg=f"step {k}"
            )
    return opt_a, opt_b


SGD_CASES = {
    "plain": dict(lr=0.1),
    "momentum": dict(lr=0.05, momentum=0.9),
    "nesterov": dict(lr=0.05, momentum=0.9, nesterov=True),
    "dampening": dict(lr=0.05, momentum=0.8, dampening=0.3),
    "weight_decay": dict(lr=0.05, weight_decay=0.1),
    "everything": dict(lr=0.02, momentum=0.7, dampening=0.1, weight_decay=0.05),
    "nesterov_wd": dict(lr=0.02, momentum=0.9, weight_decay=0.01, nesterov=True),
}


@pytest.mark.parametrize("case", SGD_CASES)
def test_sgd_matches_torch(case):
    kw = SGD_CASES[case]
    run_both(lambda p: optim.SGD(p, **kw), lambda p: torch.optim.SGD(p, **kw))


ADAM_CASES = {
    "default": dict(lr=0.01),
    "betas_eps": dict(lr=0.02, betas=(0.8, 0.99), eps=1e-6),
    "weight_decay": dict(lr=0.01, weight_decay=0.1),
    "amsgrad": dict(lr=0.01, amsgrad=True),
    "amsgrad_wd": dict(lr=0.01, weight_decay=0.05, amsgrad=True),
}


@pytest.mark.parametrize("case", ADAM_CASES)
def test_adam_matches_torch(case):
    kw = ADAM_CASES[case]
    run_both(lambda p: optim.Adam(p, **kw), lambda p: torch.optim.Adam(p, **kw))


@pytest.mark.parametrize(
    "kw",
    [
        dict(lr=0.01),
        dict(lr=0.01, weight_decay=0.3),
        dict(lr=0.02, weight_decay=0.1, amsgrad=True, betas=(0.85, 0.98)),
    ],
)
def test_adamw_matches_torch(kw):
    run_both(lambda p: optim.AdamW(p, **kw), lambda p: torch.optim.AdamW(p, **kw))


def test_skipped_grads_match_torch():
    # a parameter without a gradient at some steps: skipped, its state untouched (both)
    kw = dict(lr=0.01, weight_decay=0.1)
    run_both(
        lambda p: optim.Adam(p, **kw), lambda p: torch.optim.Adam(p, **kw), skip_last_grad_at=3
    )
    kw = dict(lr=0.05, momentum=0.9)
    run_both(lambda p: optim.SGD(p, **kw), lambda p: torch.optim.SGD(p, **kw), skip_last_grad_at=3)


def test_param_groups_with_different_options_match_torch():
    groups = [([0, 2], dict(lr=0.1)), ([1], dict(lr=0.001, momentum=0.5))]
    run_both(
        lambda p: optim.SGD(p, lr=0.01, momentum=0.9),
        lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9),
        groups=groups,
    )
    groups = [([0], dict(lr=0.05, betas=(0.5, 0.9))), ([1, 2], dict(weight_decay=0.2))]
    a, b = run_both(
        lambda p: optim.AdamW(p, lr=0.01), lambda p: torch.optim.AdamW(p, lr=0.01), groups=groups
    )
    # the state dicts agree too: same param indices per group, same steps and moments
    sa, sb = a.state_dict(), b.state_dict()
    assert [g["params"] for g in sa["param_groups"]] == [g["params"] for g in sb["param_groups"]]
    for i, entry in sb["state"].items():
        assert sa["state"][i]["step"] == int(entry["step"])
        np.testing.assert_allclose(
            sa["state"][i]["exp_avg_sq"], entry["exp_avg_sq"].numpy(), rtol=1e-5, atol=1e-7
        )


# ------------------------------------------------------------------ schedulers


def lr_sequences(make_ours, make_theirs, steps, lr=0.1, opt="sgd", n_groups=1):
    p = [tt.zeros(1, requires_grad=True) for _ in range(n_groups)]
    q = [torch.zeros(1, requires_grad=True) for _ in range(n_groups)]
    if opt == "sgd":
        oa = optim.SGD(
            [{"params": [x], "lr": lr * (i + 1)} for i, x in enumerate(p)], lr=lr, momentum=0.9
        )
        ob = torch.optim.SGD(
            [{"params": [x], "lr": lr * (i + 1)} for i, x in enumerate(q)], lr=lr, momentum=0.9
        )
    else:
        oa = optim.Adam([{"params": [x], "lr": lr * (i + 1)} for i, x in enumerate(p)], lr=lr)
        ob = torch.optim.Adam([{"params": [x], "lr": lr * (i + 1)} for i, x in enumerate(q)], lr=lr)
    sa, sb = make_ours(oa), make_theirs(ob)
    ours, theirs = [], []
    for _ in range(steps):
        ours.append(
            [
                sa.get_last_lr(),
                [g["lr"] for g in oa.param_groups],
                [g.get("momentum", g.get("betas", (None,))[0]) for g in oa.param_groups],
            ]
        )
        theirs.append(
            [
                sb.get_last_lr(),
                [g["lr"] for g in ob.param_groups],
                [g.get("momentum", g.get("betas", (None,))[0]) for g in ob.param_groups],
            ]
        )
        oa.step()
        ob.step()
        sa.step()
        sb.step()
    return np.array(ours, dtype=np.float64), np.array(theirs, dtype=np.float64)


SCHEDULERS = {
    "StepLR": (
        lambda o: ls.StepLR(o, step_size=7, gamma=0.5),
        lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=7, gamma=0.5),
        60,
    ),
    "ExponentialLR": (
        lambda o: ls.ExponentialLR(o, gamma=0.95),
        lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.95),
        60,
    ),
    "LinearLR": (
        lambda o: ls.LinearLR(o, start_factor=0.1, end_factor=0.9, total_iters=13),
        lambda o: torch.optim.lr_scheduler.LinearLR(
            o, start_factor=0.1, end_factor=0.9, total_iters=13
        ),
        40,
    ),
    "LinearWarmup": (
        lambda o: ls.LinearWarmup(o, warmup_steps=10),
        lambda o: torch.optim.lr_scheduler.LinearLR(
            o, start_factor=0.1, end_factor=1.0, total_iters=9
        ),
        40,
    ),
    "CosineAnnealingLR": (
        lambda o: ls.CosineAnnealingLR(o, T_max=25, eta_min=0.001),
        lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=25, eta_min=0.001),
        100,
    ),  # four half periods: past T_max too
    "LambdaLR": (
        lambda o: ls.LambdaLR(o, lambda t: 0.9**t + 0.01 * (t % 3)),
        lambda o: torch.optim.lr_scheduler.LambdaLR(o, lambda t: 0.9**t + 0.01 * (t % 3)),
        50,
    ),
    "OneCycleLR_cos": (
        lambda o: ls.OneCycleLR(o, max_lr=1.0, total_steps=100),
        lambda o: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=1.0, total_steps=100),
        100,
    ),
    "OneCycleLR_linear_three_phase": (
        lambda o: ls.OneCycleLR(
            o,
            max_lr=[0.5, 2.0],
            epochs=7,
            steps_per_epoch=9,
            pct_start=0.25,
            anneal_strategy="linear",
            three_phase=True,
            div_factor=10,
            final_div_factor=100,
            base_momentum=0.8,
            max_momentum=0.9,
        ),
        lambda o: torch.optim.lr_scheduler.OneCycleLR(
            o,
            max_lr=[0.5, 2.0],
            epochs=7,
            steps_per_epoch=9,
            pct_start=0.25,
            anneal_strategy="linear",
            three_phase=True,
            div_factor=10,
            final_div_factor=100,
            base_momentum=0.8,
            max_momentum=0.9,
        ),
        63,
    ),
    "OneCycleLR_no_momentum": (
        lambda o: ls.OneCycleLR(o, max_lr=0.3, total_steps=50, cycle_momentum=False, pct_start=0.5),
        lambda o: torch.optim.lr_scheduler.OneCycleLR(
            o, max_lr=0.3, total_steps=50, cycle_momentum=False, pct_start=0.5
        ),
        50,
    ),
    "SequentialLR": (
        lambda o: ls.SequentialLR(
            o,
            [
                ls.LinearLR(o, start_factor=0.2, total_iters=5),
                ls.CosineAnnealingLR(o, T_max=20, eta_min=0.01),
                ls.StepLR(o, step_size=3, gamma=0.7),
            ],
            milestones=[8, 28],
        ),
        lambda o: torch.optim.lr_scheduler.SequentialLR(
            o,
            [
                torch.optim.lr_scheduler.LinearLR(o, start_factor=0.2, total_iters=5),
                torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=20, eta_min=0.01),
                torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.7),
            ],
            milestones=[8, 28],
        ),
        50,
    ),
    "WarmupCosineLR": (
        lambda o: ls.WarmupCosineLR(o, warmup_steps=10, total_steps=60, eta_min=0.005),
        lambda o: torch.optim.lr_scheduler.SequentialLR(
            o,
            [
                torch.optim.lr_scheduler.LinearLR(
                    o, start_factor=0.1, end_factor=1.0, total_iters=9
                ),
                torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=50, eta_min=0.005),
            ],
            milestones=[10],
        ),
        61,
    ),
    "WarmupStableDecayLR": (
        lambda o: ls.WarmupStableDecayLR(
            o, warmup_steps=10, total_steps=60, decay_steps=20, eta_min=0.0
        ),
        lambda o: torch.optim.lr_scheduler.SequentialLR(
            o,
            [
                torch.optim.lr_scheduler.LinearLR(
                    o, start_factor=0.1, end_factor=1.0, total_iters=9
                ),
                torch.optim.lr_scheduler.ConstantLR(o, factor=1.0, total_iters=0),
                torch.optim.lr_scheduler.LinearLR(
                    o, start_factor=1.0, end_factor=0.0, total_iters=20
                ),
            ],
            milestones=[10, 40],
        ),
        70,
    ),
}


# OneCycleLR_linear gives a per-group max_lr list, which needs two groups: it is not paired with 1.
SCHEDULER_CASES = [
    (name, n_groups)
    for name in SCHEDULERS
    for n_groups in (1, 2)
    if not (name.startswith("OneCycleLR_linear") and n_groups == 1)
]


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("name, n_groups", SCHEDULER_CASES)
@pytest.mark.parametrize("opt", ["sgd", "adam"])
def test_scheduler_lr_sequence_matches_torch(name, opt, n_groups):
    ours_fn, theirs_fn, steps = SCHEDULERS[name]
    ours, theirs = lr_sequences(ours_fn, theirs_fn, steps, opt=opt, n_groups=n_groups)
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)


def test_one_cycle_refuses_to_step_past_total_steps_like_torch():
    w = tt.zeros(1, requires_grad=True)
    sched = ls.OneCycleLR(optim.SGD([w], lr=0.1), max_lr=1.0, total_steps=3)
    for _ in range(3):
        sched.step()
    with pytest.raises(ValueError, match="total_steps is 3"):
        sched.step()


# ------------------------------------------------------------------ clipping


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    ours, theirs = make_params()
    grads = grad_sequence(steps=1)[0]
    for p, q, g in zip(ours, theirs, grads, strict=True):
        p.grad, q.grad = tt.tensor(g), torch.tensor(g)
    ours[1].grad, theirs[1].grad = None, None  # skipped by both
    total_a = optim.clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    total_b = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    np.testing.assert_allclose(total_a.item(), total_b.item(), rtol=1e-5)
    for p, q in zip(ours, theirs, strict=True):
        if q.grad is None:
            assert p.grad is None
        else:
            np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_clip_grad_value_matches_torch():
    ours, theirs = make_params()
    for p, q, g in zip(ours, theirs, grad_sequence(steps=1)[0], strict=True):
        p.grad, q.grad = tt.tensor(g), torch.tensor(g)
    optim.clip_grad_value_(ours, 0.3)
    torch.nn.utils.clip_grad_value_(theirs, 0.3)
    for p, q in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(p.grad.numpy(), q.grad.numpy())
