"""Bad input gets a TypeError/ValueError that names the param and the problem, raised before
any buffer is written: params, state and step counts are unchanged afterwards."""

from __future__ import annotations

import math

import numpy as np
import pytest

import fastoptim as fo

OPTIMIZERS = [
    (fo.SGD, dict(lr=0.1, momentum=0.9)),
    (fo.Adam, dict(lr=0.1, amsgrad=True)),
    (fo.AdamW, dict(lr=0.1)),
    (fo.reference.Adam, dict(lr=0.1)),
]


def make(cls=fo.Adam, options=None, named=False):
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((4, 3)).astype(np.float32),
              rng.standard_normal(5).astype(np.float32),
              rng.standard_normal(20).astype(np.float32)]
    params = dict(zip("abc", arrays)) if named else arrays
    opt = cls(params, **(options or {}))
    good = [np.ones_like(p) for p in arrays]
    opt.step(dict(zip("abc", good)) if named else good)  # state exists, step count 1
    return opt, arrays, good


def snapshot(opt, arrays):
    return [p.copy() for p in arrays], opt.state_dict()


def assert_unchanged(opt, arrays, snap):
    params, sd = snap
    for p, q in zip(arrays, params):
        assert np.array_equal(p, q)
    now = opt.state_dict()
    assert now["state"].keys() == sd["state"].keys()
    for i, st in sd["state"].items():
        for k, v in st.items():
            assert np.array_equal(now["state"][i][k], v), (i, k)
    for g_now, g_then in zip(now["param_groups"], sd["param_groups"]):
        assert g_now == g_then


# ---------------------------------------------------------------- bad grads at step time
BAD_LAST_GRAD = [
    ("float64 grad", lambda p: np.ones(p.shape, np.float64), TypeError, "dtype float64"),
    ("int grad", lambda p: np.ones(p.shape, np.int32), TypeError, "dtype int32"),
    ("uint16 grad", lambda p: np.ones(p.shape, np.uint16), TypeError, "dtype uint16"),
    ("shape", lambda p: np.ones(p.size + 1, p.dtype), ValueError, "shape"),
    ("2-d shape", lambda p: np.ones((2, p.size // 2), p.dtype), ValueError, "shape"),
    ("a string", lambda p: "grad", TypeError, "str"),
    ("list", lambda p: [1.0] * p.size, TypeError, "list"),
    ("strided", lambda p: np.ones(2 * p.size, p.dtype)[::2], ValueError, "not contiguous"),
    ("reversed", lambda p: np.ones(p.size, p.dtype)[::-1], ValueError, "not contiguous"),
    ("view of the param", lambda p: p, ValueError, "shares memory"),
]


@pytest.mark.parametrize("cls, options", OPTIMIZERS, ids=lambda x: getattr(x, "__name__", ""))
@pytest.mark.parametrize("what, make_grad, exc, message", BAD_LAST_GRAD,
                         ids=[b[0] for b in BAD_LAST_GRAD])
def test_bad_grad_names_param_and_changes_nothing(cls, options, what, make_grad, exc, message):
    opt, arrays, good = make(cls, options)
    snap = snapshot(opt, arrays)
    # the bad grad is the last one: a lazy validation would have written the others already
    grads = good[:2] + [make_grad(arrays[2])]
    with pytest.raises(exc, match=message) as info:
        opt.step(grads)
    assert "params[2]" in str(info.value)
    assert_unchanged(opt, arrays, snap)


def test_grad_that_is_another_params_state_is_refused():
    opt, arrays, good = make(fo.Adam)
    snap = snapshot(opt, arrays)
    with pytest.raises(ValueError, match="shares memory with state 'exp_avg' of param params"):
        opt.step(good[:2] + [opt.state[arrays[2]]["exp_avg"]])
    assert_unchanged(opt, arrays, snap)


@pytest.mark.parametrize("grads, exc, message", [
    ("nope", TypeError, "list or dict"),
    (np.ones(3, np.float32), TypeError, "single numpy.ndarray"),
    ([np.ones((4, 3), np.float32)], ValueError, "expected 3 grads"),
])
def test_bad_grads_structure(grads, exc, message):
    opt, arrays, _ = make()
    snap = snapshot(opt, arrays)
    with pytest.raises(exc, match=message):
        opt.step(grads)
    assert_unchanged(opt, arrays, snap)


def test_dict_grads_must_match_names():
    opt, arrays, good = make(named=True)
    snap = snapshot(opt, arrays)
    with pytest.raises(ValueError, match=r"no entry for param\(s\) \['c'\]"):
        opt.step({"a": good[0], "b": good[1]})
    with pytest.raises(ValueError, match=r"unknown param\(s\) \['d'\]"):
        opt.step({"a": good[0], "b": good[1], "c": good[2], "d": good[2]})
    with pytest.raises(TypeError, match="'c'"):  # named params are named in errors
        opt.step({"a": good[0], "b": good[1], "c": good[2].astype(np.float64)})
    assert_unchanged(opt, arrays, snap)
    unnamed, _, g = make()
    with pytest.raises(TypeError, match="not given names"):
        unnamed.step({"a": g[0]})


# ------------------------------------------------------------------ bad params at construction
@pytest.mark.parametrize("param, exc, message", [
    (np.zeros(3, np.int64), TypeError, "dtype int64"),
    (np.zeros(3, np.complex64), TypeError, "dtype complex64"),
    (np.zeros(3, bool), TypeError, "dtype bool"),
    (np.zeros(3, object), TypeError, "dtype object"),
    (np.zeros(3, np.float16).view(np.uint16), TypeError, "dtype uint16"),
    (np.zeros(3, ">f4"), TypeError, "native byte order"),
    (np.zeros((4, 4), np.float32)[:, ::2], ValueError, "not contiguous"),
    (np.zeros(3, np.float32)[::-1], ValueError, "not contiguous"),
    ([0.0, 1.0], TypeError, "numpy.ndarray"),
    (None, TypeError, "numpy.ndarray"),
])
def test_bad_param_refused_at_construction(param, exc, message):
    with pytest.raises(exc, match=message) as info:
        fo.SGD([np.zeros(2, np.float32), param], lr=0.1)
    assert "params[1]" in str(info.value)


def test_read_only_param_refused():
    p = np.zeros(3, np.float32)
    p.flags.writeable = False
    with pytest.raises(ValueError, match="params\\[0\\] is read-only"):
        fo.Adam([p])


def test_param_made_read_only_later_is_refused_at_step():
    opt, arrays, good = make()
    snap = snapshot(opt, arrays)
    arrays[2].flags.writeable = False
    with pytest.raises(ValueError, match="params\\[2\\] has become read-only"):
        opt.step(good)
    arrays[2].flags.writeable = True
    assert_unchanged(opt, arrays, snap)


@pytest.mark.parametrize("second", [
    lambda a: a, lambda a: a[2:], lambda a: a.reshape(2, 4), lambda a: a[::-1][::-1],
])
def test_params_sharing_memory_refused(second):
    a = np.zeros(8, np.float32)
    with pytest.raises(ValueError, match="share memory"):
        fo.SGD([a, second(a)], lr=0.1)


def test_same_array_in_two_groups_refused():
    a = np.zeros(8, np.float32)
    opt = fo.SGD([{"params": [np.zeros(2, np.float32)]}], lr=0.1)
    opt.add_param_group({"params": [a]})
    with pytest.raises(ValueError, match="share memory"):
        opt.add_param_group({"params": [a]})
    assert len(opt.param_groups) == 2


@pytest.mark.parametrize("params, exc, message", [
    ([], ValueError, "empty parameter list"),
    (np.zeros(3, np.float32), TypeError, "single numpy.ndarray"),
    ("w", TypeError, "got str"),
    ([{"lr": 0.1}], ValueError, "no 'params'"),
    ([{"params": [np.zeros(2, np.float32)], "lrr": 0.1}], TypeError, "unknown option"),
])
def test_bad_params_structure(params, exc, message):
    with pytest.raises(exc, match=message):
        fo.Adam(params)


# -------------------------------------------------------------------------- hyperparameters
BAD_OPTIONS = [
    (fo.SGD, dict(lr=-0.1), ValueError, "lr must be finite and >= 0"),
    (fo.SGD, dict(lr=math.nan), ValueError, "lr must be"),
    (fo.SGD, dict(lr="0.1"), TypeError, "lr must be a real number"),
    (fo.SGD, dict(lr=0.1, momentum=-0.9), ValueError, "momentum"),
    (fo.SGD, dict(lr=0.1, weight_decay=-1.0), ValueError, "weight_decay"),
    (fo.SGD, dict(lr=0.1, dampening=1.5), ValueError, "dampening"),
    (fo.SGD, dict(lr=0.1, nesterov=True), ValueError, "nesterov requires momentum"),
    (fo.SGD, dict(lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), ValueError, "nesterov"),
    (fo.SGD, dict(lr=0.1, nesterov=1), TypeError, "nesterov must be a bool"),
    (fo.Adam, dict(betas=(0.9, 1.0)), ValueError, r"betas\[1\] must be in \[0, 1\)"),
    (fo.Adam, dict(betas=(-0.1, 0.9)), ValueError, r"betas\[0\]"),
    (fo.Adam, dict(betas=(math.nan, 0.9)), ValueError, r"betas\[0\]"),
    (fo.Adam, dict(betas=0.9), TypeError, "pair"),
    (fo.Adam, dict(eps=-1e-8), ValueError, "eps"),
    (fo.Adam, dict(eps=math.inf), ValueError, "eps"),
    (fo.Adam, dict(weight_decay=math.nan), ValueError, "weight_decay"),
    (fo.Adam, dict(amsgrad="yes"), TypeError, "amsgrad must be a bool"),
    (fo.AdamW, dict(lr=math.inf), ValueError, "lr"),
]


@pytest.mark.parametrize("cls, options, exc, message", BAD_OPTIONS,
                         ids=[f"{c.__name__}-{o}" for c, o, _, _ in BAD_OPTIONS])
def test_bad_hyperparameters(cls, options, exc, message):
    with pytest.raises(exc, match=message):
        cls([np.zeros(3, np.float32)], **options)


def test_unknown_keyword():
    with pytest.raises(TypeError):
        fo.Adam([np.zeros(3, np.float32)], learning_rate=0.1)


@pytest.mark.parametrize("key, value, exc", [
    ("lr", -1.0, ValueError), ("lr", math.nan, ValueError), ("betas", (0.9, 1.5), ValueError),
    ("amsgrad", None, TypeError), ("lr", lambda count: -0.5, ValueError),
])
def test_group_option_changed_to_bad_value_fails_step_and_changes_nothing(key, value, exc):
    opt, arrays, good = make(fo.Adam)
    snap = snapshot(opt, arrays)
    before = opt.param_groups[0][key]
    opt.param_groups[0][key] = value
    with pytest.raises(exc, match=r"param_groups\[0\]"):
        opt.step(good)
    opt.param_groups[0][key] = before
    assert_unchanged(opt, arrays, snap)
    opt.step(good)  # and it still works


def test_failed_first_step_creates_no_state():
    p = np.zeros(4, np.float32)
    opt = fo.Adam([p])
    with pytest.raises(TypeError):
        opt.step([np.zeros(4, np.float64)])
    assert len(opt.state) == 0 and opt.state_dict()["state"] == {}
    opt.step([np.ones(4, np.float32)])
    assert opt.state[p]["step"] == 1


def test_option_of_the_wrong_type_set_between_steps_is_refused():
    """False == 0, but a bool is no weight decay: the change detection compares types too."""
    opt, arrays, good = make(fo.Adam)
    snap = snapshot(opt, arrays)
    opt.param_groups[0]["weight_decay"] = False
    with pytest.raises(TypeError, match=r"param_groups\[0\]: weight_decay"):
        opt.step(good)
    opt.param_groups[0]["weight_decay"] = 0.0
    assert_unchanged(opt, arrays, snap)


def test_native_plan_refuses_a_missing_required_buffer():
    """The binding is reachable from Python: a missing state buffer is an error, not a crash."""
    p, g = np.zeros(4, np.float32), np.ones(4, np.float32)
    plan = fo._native.Plan("adam", [p], {}, ["p"])
    row = tuple(1.0 if n in ("sign", "decay", "bc2_sqrt") else 0.0
                for n in fo._native.kernel_specs["adam"][1])
    with pytest.raises(ValueError, match="state 'exp_avg' of param p is missing"):
        plan.step([g], [row], np.zeros(1, np.int64))
    assert not p.any()
