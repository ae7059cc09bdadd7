"""state_dict / load_state_dict: resuming gives the same bits as never stopping; snapshots are
copies; a bad state dict is refused with nothing changed."""

from __future__ import annotations

import numpy as np
import pytest

import fastoptim as fo

CASES = [
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.1)),
    ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.1)),
    ("AdamW", dict(lr=0.01)),
]


def setup(seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    params = {"W": rng.standard_normal((6, 4)).astype(dtype),
              "b": rng.standard_normal(4).astype(dtype)}
    grads = [{k: rng.standard_normal(v.shape).astype(dtype) for k, v in params.items()}
             for _ in range(10)]
    return params, grads


@pytest.mark.parametrize("name, options", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("backends", [("", ""), ("", "reference"), ("reference", "")])
def test_resume_is_bit_exact(name, options, backends):
    def cls(backend):
        return getattr(fo.reference if backend else fo, name)

    straight, grads = setup()
    opt = cls("")(straight, **options)
    for g in grads:
        opt.step(g)

    first, _ = setup()
    a = cls(backends[0])(first, **options)
    for g in grads[:5]:
        a.step(g)
    sd = a.state_dict()
    resumed = {k: v.copy() for k, v in first.items()}
    b = cls(backends[1])(resumed, lr=123.0)  # options come back from the state dict
    b.load_state_dict(sd)
    assert b.param_groups[0]["lr"] == options["lr"]
    for g in grads[5:]:
        b.step(g)
    for k in straight:
        assert np.array_equal(resumed[k], straight[k]), k
        assert b.state[resumed[k]]["step"] == 10


def test_state_dict_layout_and_snapshot_semantics():
    params, grads = setup()
    opt = fo.Adam(params, lr=0.01)
    assert opt.state_dict()["state"] == {}
    opt.step(grads[0])
    sd = opt.state_dict()
    assert sd["optimizer"] == "Adam" and sd["format"] == 1
    assert sd["param_groups"][0]["params"] == [0, 1]
    assert sd["param_groups"][0]["param_names"] == ["W", "b"]
    assert set(sd["state"][0]) == {"step", "exp_avg", "exp_avg_sq"}
    assert sd["state"][0]["step"] == 1
    saved = sd["state"][0]["exp_avg"].copy()
    opt.step(grads[1])
    assert np.array_equal(sd["state"][0]["exp_avg"], saved)  # a snapshot, not a live view
    assert not np.array_equal(opt.state[params["W"]]["exp_avg"], saved)


def test_state_view_is_read_only_and_live():
    params, grads = setup()
    opt = fo.SGD(params, lr=0.1, momentum=0.9)
    opt.step(grads[0])
    st = opt.state[params["W"]]
    with pytest.raises(TypeError):
        st["momentum_buffer"] = np.zeros((6, 4), np.float32)
    buf = st["momentum_buffer"]
    before = buf.copy()
    opt.step(grads[1])
    assert not np.array_equal(buf, before)  # the live buffer
    with pytest.raises(KeyError):
        opt.state[np.zeros(3, np.float32)]
    assert len(opt.state) == 2


def bad_state_dicts():
    params, grads = setup()
    opt = fo.Adam(params, lr=0.01)
    opt.step(grads[0])
    good = opt.state_dict()

    def edit(fn):
        sd = {"optimizer": good["optimizer"], "format": good["format"],
              "state": {i: dict(s) for i, s in good["state"].items()},
              "param_groups": [dict(g) for g in good["param_groups"]]}
        fn(sd)
        return sd

    return [
        ("kind", edit(lambda sd: sd.update(optimizer="SGD")), ValueError, "from a SGD"),
        ("format", edit(lambda sd: sd.update(format=99)), ValueError, "format 99"),
        ("no state", edit(lambda sd: sd.pop("state")), ValueError, "no 'state'"),
        ("groups", edit(lambda sd: sd["param_groups"].append(dict(sd["param_groups"][0]))),
         ValueError, "2 param groups"),
        ("params", edit(lambda sd: sd["param_groups"][0].update(params=[0])),
         ValueError, "has params"),
        ("shape", edit(lambda sd: sd["state"][0].update(exp_avg=np.zeros(3, np.float32))),
         ValueError, "shape"),
        ("dtype", edit(lambda sd: sd["state"][1].update(exp_avg=np.zeros(4, np.float64))),
         TypeError, "dtype float64"),
        ("missing buffer", edit(lambda sd: sd["state"][1].pop("exp_avg_sq")),
         ValueError, "exp_avg_sq"),
        ("unknown buffer", edit(lambda sd: sd["state"][1].update(momentum_buffer=np.zeros(4))),
         ValueError, "unknown buffer"),
        ("step", edit(lambda sd: sd["state"][1].update(step=-1)), ValueError, "'step'"),
        ("float step", edit(lambda sd: sd["state"][1].update(step=1.5)), ValueError, "'step'"),
        ("index", edit(lambda sd: sd["state"].update({5: sd["state"][0]})), ValueError, "key 5"),
        ("bad lr", edit(lambda sd: sd["param_groups"][0].update(lr=-1.0)), ValueError, "lr"),
        ("unknown option", edit(lambda sd: sd["param_groups"][0].update(foo=1)),
         ValueError, "unknown option"),
    ]


@pytest.mark.parametrize("what, sd, exc, message", bad_state_dicts(),
                         ids=[b[0] for b in bad_state_dicts()])
def test_bad_state_dict_refused_and_nothing_changes(what, sd, exc, message):
    params, grads = setup(seed=1)
    opt = fo.Adam(params, lr=0.05)
    for g in grads[:3]:
        opt.step(g)
    before = opt.state_dict()
    with pytest.raises(exc, match=message):
        opt.load_state_dict(sd)
    after = opt.state_dict()
    assert after["param_groups"] == before["param_groups"]
    for i in before["state"]:
        for k, v in before["state"][i].items():
            assert np.array_equal(after["state"][i][k], v)


def test_load_does_not_alias_the_state_dict():
    params, grads = setup()
    a = fo.Adam(params, lr=0.01)
    a.step(grads[0])
    sd = a.state_dict()
    saved = sd["state"][0]["exp_avg"].copy()
    b = fo.Adam({k: v.copy() for k, v in params.items()}, lr=0.01)
    b.load_state_dict(sd)
    b.step(grads[1])
    assert np.array_equal(sd["state"][0]["exp_avg"], saved)
