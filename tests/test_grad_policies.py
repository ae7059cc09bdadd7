"""Optimizer-level gradient policies: nonfinite= ("propagate", "skip", "raise") and clip_norm=,
on every optimizer and both backends."""

from __future__ import annotations

import math

import numpy as np
import pytest

import fastoptim as fo

NAMES = ["SGD", "Adam", "AdamW", "Adagrad", "RMSprop", "Adamax", "NAdam", "RAdam", "Adadelta",
         "Lion"]


def setup(name, backend=fo, **kw):
    rng = np.random.default_rng(0)
    params = [rng.standard_normal((5, 3)).astype(np.float32),
              rng.standard_normal(7).astype(np.float32)]
    opt = getattr(backend, name)(params, lr=0.01, **kw)
    grads = [[rng.standard_normal(p.shape).astype(np.float32) for p in params]
             for _ in range(4)]
    return opt, params, grads


def snapshot(opt, params):
    return [p.copy() for p in params], opt.state_dict()


def assert_same(opt, params, snap):
    for p, q in zip(params, snap[0]):
        assert np.array_equal(p, q)
    sd = opt.state_dict()
    assert sd["state"].keys() == snap[1]["state"].keys()
    for i, st in snap[1]["state"].items():
        for k, v in st.items():
            assert np.array_equal(sd["state"][i][k], v)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_skip_changes_nothing_and_counts(name, bad):
    opt, params, grads = setup(name, nonfinite="skip")
    assert opt.step(grads[0]) is True
    snap = snapshot(opt, params)
    poisoned = [g.copy() for g in grads[1]]
    poisoned[1][3] = bad
    assert opt.step(poisoned) is False
    assert opt.skipped_steps == 1
    assert_same(opt, params, snap)
    # and the run goes on exactly as if the bad step never happened
    ref, ref_params, _ = setup(name)
    ref.step(grads[0])
    opt.step(grads[2])
    ref.step(grads[2])
    for p, q in zip(params, ref_params):
        assert np.array_equal(p, q)


@pytest.mark.parametrize("name", NAMES)
def test_raise_names_the_param_and_changes_nothing(name):
    opt, params, grads = setup(name, nonfinite="raise")
    opt.step(grads[0])
    snap = snapshot(opt, params)
    poisoned = [g.copy() for g in grads[1]]
    poisoned[1][[0, 4]] = np.nan
    with pytest.raises(FloatingPointError, match=r"params\[1\] has 2 non-finite"):
        opt.step(poisoned)
    assert_same(opt, params, snap)


def test_propagate_is_torch_behaviour():
    opt, params, grads = setup("Adam")
    poisoned = [g.copy() for g in grads[0]]
    poisoned[0][0, 0] = np.nan
    assert opt.step(poisoned) is True
    assert np.isnan(params[0][0, 0]) and np.isfinite(params[0][0, 1])


def test_huge_finite_float64_grads_are_not_called_non_finite():
    """Their float64 sum of squares overflows; the policy counts real NaN/inf only."""
    p = np.zeros(4)
    opt = fo.SGD([p], lr=1e-300, nonfinite="raise")
    assert opt.step([np.full(4, 1e200)])
    assert np.all(p == -1e-100)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("backend", [fo, fo.reference], ids=["native", "reference"])
def test_clip_norm_equals_clip_then_step(name, backend):
    """Bit for bit: clipping folded into the kernel == clip_grad_norm_ then a plain step."""
    opt, params, grads = setup(name, backend, clip_norm=0.5)
    ref, ref_params, _ = setup(name, backend)
    for gs in grads:
        clipped = [g.copy() for g in gs]
        norm = fo.clip_grad_norm_(clipped, 0.5)
        opt.step(gs)
        ref.step(clipped)
        assert opt.last_grad_norm == norm
    for p, q in zip(params, ref_params):
        assert np.array_equal(p, q)


def test_clip_norm_does_not_touch_grads_and_no_clip_below_threshold():
    opt, params, grads = setup("SGD", clip_norm=1e6)
    g0 = [g.copy() for g in grads[0]]
    ref, ref_params, _ = setup("SGD")
    opt.step(grads[0])
    ref.step(grads[0])
    for g, h in zip(grads[0], g0):
        assert np.array_equal(g, h)
    for p, q in zip(params, ref_params):
        assert np.array_equal(p, q)


@pytest.mark.parametrize("kw, exc", [
    (dict(nonfinite="ignore"), ValueError), (dict(clip_norm=-1.0), ValueError),
    (dict(clip_norm=math.nan), ValueError), (dict(clip_norm="1"), TypeError),
])
def test_bad_policy_arguments(kw, exc):
    with pytest.raises(exc):
        setup("Adam", **kw)


def test_invalid_grads_are_reported_before_the_policy_reads_them():
    opt, _, grads = setup("Adam", nonfinite="raise", clip_norm=1.0)
    with pytest.raises(TypeError, match=r"params\[1\]: dtype float64"):
        opt.step([grads[0][0], grads[0][1].astype(np.float64)])


@pytest.mark.parametrize("name", ["SGD", "AdamW", "Lion", "Adagrad"])
def test_weight_decay_schedule_equals_setting_it_each_step(name):
    """weight_decay may be a schedule count -> value (called with the steps already taken),
    exactly as if the group's value were set before each step."""
    from fastoptim import schedules

    sched = schedules.linear(0.1, 0.0, 3)
    opt, params, grads = setup(name, weight_decay=sched)
    ref, ref_params, _ = setup(name, weight_decay=0.0)
    for count, gs in enumerate(grads):
        ref.param_groups[0]["weight_decay"] = sched(count)
        opt.step(gs)
        ref.step(gs)
    for p, q in zip(params, ref_params):
        assert np.array_equal(p, q)
    bad, _, g = setup(name, weight_decay=lambda count: -1.0)
    with pytest.raises(ValueError, match=r"weight_decay schedule returned -1\.0"):
        bad.step(g[0])
