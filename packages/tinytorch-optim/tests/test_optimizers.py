"""Optimizers without PyTorch: closed forms, in-place updates, state dicts, state bytes, binding,
errors."""

import json

import numpy as np
import pytest
import tinytorch.tensor as tt
from tinytorch import optim
from tinytorch.autograd import is_grad_enabled


def params(seed=0, shapes=((5, 4), (4,), (3, 2, 2))):
    rng = np.random.default_rng(seed)
    return [
        tt.tensor(rng.standard_normal(s).astype(np.float32), requires_grad=True) for s in shapes
    ]


def feed(ps, seed):
    rng = np.random.default_rng(seed)
    for p in ps:
        p.grad = tt.tensor(rng.standard_normal(p.shape).astype(np.float32))


ALL = {
    "sgd": lambda ps: optim.SGD(ps, lr=0.1),
    "momentum": lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9, weight_decay=0.01),
    "nesterov": lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True),
    "adam": lambda ps: optim.Adam(ps, lr=0.01, weight_decay=0.1),
    "amsgrad": lambda ps: optim.Adam(ps, lr=0.01, amsgrad=True),
    "adamw": lambda ps: optim.AdamW(ps, lr=0.01),
}


# ------------------------------------------------------------------ closed forms


def test_one_sgd_step_is_p_minus_lr_g():
    ps = params()
    before = [p.numpy().copy() for p in ps]
    feed(ps, 1)
    optim.SGD(ps, lr=0.3).step()
    for p, b in zip(ps, before, strict=True):
        np.testing.assert_allclose(p.numpy(), b - np.float32(0.3) * p.grad.numpy(), rtol=1e-6)


def test_momentum_accumulates_by_hand():
    w = tt.tensor([0.0], requires_grad=True)
    opt = optim.SGD([w], lr=1.0, momentum=0.5, dampening=0.5)
    expected, buf = 0.0, None
    for g in [1.0, 2.0, -1.0, 4.0]:
        w.grad = tt.tensor([g])
        opt.step()
        buf = g if buf is None else 0.5 * buf + 0.5 * g  # first step: buf = g (no dampening)
        expected -= buf
        assert w.item() == pytest.approx(expected)


def test_adam_first_step_moves_each_param_by_lr_times_sign_of_grad():
    ps = params()
    before = [p.numpy().copy() for p in ps]
    feed(ps, 2)
    optim.Adam(ps, lr=0.01).step()
    # m_hat = g and v_hat = g^2 after one step, so the move is lr * g / (|g| + eps)
    for p, b in zip(ps, before, strict=True):
        np.testing.assert_allclose(
            p.numpy() - b, -0.01 * np.sign(p.grad.numpy()), rtol=1e-3, atol=1e-6
        )


def test_adamw_decays_independently_of_the_gradient_scale():
    a, b = tt.tensor([1.0], requires_grad=True), tt.tensor([1.0], requires_grad=True)
    oa, ob = optim.AdamW([a], lr=0.1, weight_decay=0.5), optim.AdamW([b], lr=0.1, weight_decay=0.5)
    a.grad, b.grad = tt.tensor([1e-3]), tt.tensor([1e3])
    oa.step()
    ob.step()
    # both: p * (1 - lr*wd) - lr * sign(g)
    assert a.item() == pytest.approx(0.95 - 0.1, abs=1e-4)
    assert b.item() == pytest.approx(0.95 - 0.1, abs=1e-4)


@pytest.mark.parametrize("name", ALL)
def test_updates_are_in_place_under_no_grad_and_skip_params_without_grad(name):
    ps = params()
    arrays = [p.data for p in ps]
    frozen = ps[1].numpy().copy()
    opt = ALL[name](ps)
    seen = []
    original = type(opt)._update_group

    def spy(self, group):
        seen.append(is_grad_enabled())
        return original(self, group)

    type(opt)._update_group = spy
    try:
        for k in range(3):
            feed(ps, k)
            ps[1].grad = None
            opt.step()
    finally:
        type(opt)._update_group = original
    assert seen and not any(seen)  # the update ran with grad recording off
    assert all(p.data is a for p, a in zip(ps, arrays, strict=True))  # same arrays, same objects
    np.testing.assert_array_equal(ps[1].numpy(), frozen)  # never had a gradient: untouched
    assert id(ps[1]) not in opt.state


def test_step_does_not_write_into_the_gradient():
    ps = params()
    feed(ps, 3)
    grads = [p.grad.numpy().copy() for p in ps]
    opt = optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.1)
    opt.step()
    opt.step()
    for p, g in zip(ps, grads, strict=True):
        np.testing.assert_array_equal(p.grad.numpy(), g)


def test_zero_grad():
    ps = params()
    feed(ps, 0)
    opt = optim.SGD(ps, lr=0.1)
    opt.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.numpy().any() for p in ps)
    opt.zero_grad()
    assert all(p.grad is None for p in ps)


def test_closure_runs_with_grad_enabled_and_its_loss_is_returned():
    from tinytorch.autograd import no_grad

    w = tt.tensor([2.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    with no_grad():
        loss = opt.step(closure)
    assert loss.item() == 4.0 and w.item() == pytest.approx(2.0 - 0.1 * 4.0)


# ------------------------------------------------------------------ state bytes


def test_state_bytes():
    ps = params()
    param_bytes = sum(p.nbytes for p in ps)
    expected = {"sgd": 0, "momentum": 1, "nesterov": 1, "adam": 2, "amsgrad": 3, "adamw": 2}
    for name, factor in expected.items():
        ps = params()
        opt = ALL[name](ps)
        assert opt.state_bytes() == 0  # state is made on the first step
        feed(ps, 0)
        opt.step()
        assert opt.state_bytes() == factor * param_bytes, name


def test_adam_state_is_exactly_twice_the_parameters_of_a_model():
    from tinytorch import nn

    model = nn.MLP([32, 64, 10])
    opt = optim.Adam(model.parameters(), lr=1e-3)
    model(tt.randn(8, 32)).sum().backward()
    opt.step()
    assert opt.state_bytes() == 2 * sum(p.nbytes for p in model.parameters())


# ------------------------------------------------------------------ state dicts


def to_json_and_back(sd):
    """What a checkpoint writer does: arrays to an .npz-like dict, everything else to JSON."""
    arrays, meta = {}, {"param_groups": sd["param_groups"], "state": {}}
    for i, entry in sd["state"].items():
        meta["state"][i] = {}
        for k, v in entry.items():
            if isinstance(v, np.ndarray):
                arrays[f"{i}.{k}"] = v
                meta["state"][i][k] = {"array": f"{i}.{k}"}
            else:
                meta["state"][i][k] = v
    meta = json.loads(json.dumps(meta))  # keys become strings, tuples lists
    state = {
        i: {k: (arrays[v["array"]] if isinstance(v, dict) else v) for k, v in e.items()}
        for i, e in meta["state"].items()
    }
    return {"param_groups": meta["param_groups"], "state": state}


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("via_json", [False, True])
def test_state_dict_round_trip_continues_exactly(name, via_json):
    # uninterrupted: 10 steps
    ps = params()
    opt = ALL[name](ps)
    for k in range(10):
        feed(ps, k)
        opt.step()
    final = [p.numpy().copy() for p in ps]

    # interrupted after 5 steps: parameters and optimizer state saved, loaded into fresh objects
    ps = params()
    opt = ALL[name](ps)
    for k in range(5):
        feed(ps, k)
        opt.step()
    saved_params = [p.numpy().copy() for p in ps]
    sd = opt.state_dict()
    if via_json:
        sd = to_json_and_back(sd)
    for k in range(5, 7):  # steps after the save must not leak into it (copies)
        feed(ps, k)
        opt.step()

    ps2 = params(seed=99)
    for p, a in zip(ps2, saved_params, strict=True):
        p.data[...] = a
    opt2 = ALL[name](ps2)
    opt2.load_state_dict(sd)
    for k in range(5, 10):
        feed(ps2, k)
        opt2.step()
    for p, f in zip(ps2, final, strict=True):
        np.testing.assert_array_equal(p.numpy(), f)
    assert opt2.param_groups[0]["params"][0] is ps2[0]


def test_state_dict_keeps_group_options_and_indexes_params_across_groups():
    ps = params()
    opt = optim.Adam(
        [{"params": ps[:2], "lr": 0.1}, {"params": ps[2:], "betas": (0.5, 0.6)}], lr=0.01
    )
    sd = opt.state_dict()
    assert [g["params"] for g in sd["param_groups"]] == [[0, 1], [2]]
    assert sd["param_groups"][0]["lr"] == 0.1 and sd["param_groups"][1]["lr"] == 0.01
    assert sd["param_groups"][1]["betas"] == [0.5, 0.6]
    json.dumps(sd["param_groups"])  # plain data

    opt2 = optim.Adam([{"params": ps[:2]}, {"params": ps[2:]}], lr=0.5)
    opt2.load_state_dict(sd)
    assert opt2.param_groups[0]["lr"] == 0.1 and opt2.param_groups[1]["betas"] == (0.5, 0.6)


def test_load_state_dict_mismatches_are_clear_and_change_nothing():
    ps = params()
    opt = optim.Adam(ps, lr=0.01)
    feed(ps, 0)
    opt.step()
    sd = opt.state_dict()

    other = optim.Adam([{"params": ps[:1]}, {"params": ps[1:]}])
    with pytest.raises(ValueError, match="1 param group.*this optimizer has 2"):
        other.load_state_dict(sd)
    with pytest.raises(ValueError, match="param group 0 has 3 parameter.*and 2 here"):
        optim.Adam(ps[:2]).load_state_dict(sd)
    shapes = params(shapes=((5, 4), (7,), (3, 2, 2)))
    fresh = optim.Adam(shapes, lr=0.123)
    with pytest.raises(
        ValueError, match=r"'exp_avg' of parameter 1 has shape \(4,\).*shape \(7,\)"
    ):
        fresh.load_state_dict(sd)
    assert fresh.param_groups[0]["lr"] == 0.123 and fresh.state == {}  # nothing was written
    with pytest.raises(ValueError, match="invalid learning rate"):
        bad = {"state": {}, "param_groups": [{**sd["param_groups"][0], "lr": -1.0}]}
        optim.Adam(ps).load_state_dict(bad)


# ------------------------------------------------------------------ deferred binding


def test_seed_style_deferred_binding():
    opt = optim.Adam(lr=0.001)
    assert not opt.is_bound and opt.state_bytes() == 0
    with pytest.raises(RuntimeError, match=r"no parameters yet.*bind"):
        opt.step()
    with pytest.raises(RuntimeError, match="bind"):
        optim.lr_scheduler.StepLR(opt, step_size=1)
    ps = params()
    assert opt.bind(ps) is opt and opt.is_bound
    assert opt.param_groups[0]["lr"] == 0.001 and opt.param_groups[0]["params"][0] is ps[0]
    feed(ps, 0)
    opt.step()
    assert opt.state_bytes() == 2 * sum(p.nbytes for p in ps)
    with pytest.raises(RuntimeError, match="already has parameters"):
        opt.bind(params())


def test_bind_accepts_a_generator_and_groups():
    from tinytorch import nn

    model = nn.MLP([3, 4, 2])
    opt = optim.SGD(lr=0.1).bind(model.parameters())
    assert len(opt.parameters()) == len(list(model.parameters()))
    opt = optim.SGD(lr=0.1).bind([{"params": list(model.parameters())[:2], "lr": 1.0}])
    assert opt.param_groups[0]["lr"] == 1.0


# ------------------------------------------------------------------ errors


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: optim.SGD(lr=-0.1), r"SGD: invalid learning rate lr=-0.1"),
        (lambda: optim.SGD(lr=0.1, momentum=-0.5), r"SGD: invalid momentum=-0.5"),
        (lambda: optim.SGD(lr=0.1, weight_decay=-1), r"SGD: invalid weight_decay=-1"),
        (lambda: optim.SGD(lr=0.1, nesterov=True), r"SGD: nesterov=True needs momentum > 0"),
        (
            lambda: optim.SGD(lr=0.1, momentum=0.9, dampening=0.1, nesterov=True),
            r"dampening == 0 \(got momentum=0.9, dampening=0.1\)",
        ),
        (lambda: optim.Adam(lr=0.1, betas=(1.0, 0.999)), r"Adam: invalid beta1=1.0"),
        (lambda: optim.Adam(lr=0.1, betas=(0.9, -0.1)), r"Adam: invalid beta2=-0.1"),
        (lambda: optim.Adam(lr=0.1, betas=(0.9,)), r"Adam: betas must be a pair"),
        (lambda: optim.Adam(lr=0.1, eps=-1e-8), r"Adam: invalid eps"),
        (lambda: optim.AdamW(lr="fast"), r"AdamW: invalid learning rate lr='fast'"),
        (lambda: optim.AdamW(lr=0.1, weight_decay=-0.01), r"AdamW: invalid weight_decay"),
        (lambda: optim.SGD([], lr=0.1), r"SGD: got an empty parameter list"),
        (
            lambda: optim.SGD([{"params": params()[:1], "learning_rate": 1.0}], lr=0.1),
            r"unknown option\(s\) \['learning_rate'\]",
        ),
    ],
)
def test_bad_hyperparameters_raise_value_error_at_construction(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_bad_params_raise_type_or_value_errors():
    w = params()[0]
    with pytest.raises(TypeError, match="single Tensor"):
        optim.SGD(w, lr=0.1)
    with pytest.raises(TypeError, match="can only optimize Tensors"):
        optim.SGD([np.zeros(3)], lr=0.1)
    with pytest.raises(TypeError, match="floating-point"):
        optim.SGD([tt.tensor([1, 2])], lr=0.1)
    with pytest.raises(ValueError, match="more than one group"):
        optim.SGD([{"params": [w]}, {"params": [w]}], lr=0.1)
    opt = optim.SGD([w], lr=0.1)
    with pytest.raises(ValueError, match="more than one group"):
        opt.add_param_group({"params": [w]})
    w.grad = tt.zeros(3)
    with pytest.raises(
        ValueError, match=r"SGD.step: gradient of shape \(3,\) for a parameter of shape \(5, 4\)"
    ):
        opt.step()


def test_repr_lists_groups():
    text = repr(optim.SGD(params()[:1], lr=0.1, momentum=0.9))
    assert "Parameter Group 0" in text and "momentum: 0.9" in text
    assert "unbound" in repr(optim.Adam(lr=0.1))
