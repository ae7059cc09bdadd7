"""Copying and pickling optimizers, presets and EMA (torch's meaning: the copy owns its params
and state and continues bit for bit as the original would; the original is untouched), and
``None`` grads: the param is skipped with its state and step count, each param's bias
corrections and schedules following its own count, as torch does."""

from __future__ import annotations

import copy
import pickle
import warnings

import numpy as np
import pytest

import fastoptim as fo
import fastoptim.keras as fk
import fastoptim.optax as fx

NAMES = ["SGD", "Adam", "AdamW", "Adagrad", "RMSprop", "Adamax", "NAdam", "RAdam", "Adadelta",
         "Lion"]
OPTIONS = {"SGD": dict(lr=0.05, momentum=0.9, nesterov=True), "Adam": dict(amsgrad=True),
           "RMSprop": dict(momentum=0.5, centered=True), "Adagrad": dict(lr_decay=0.01),
           "NAdam": dict(decoupled_weight_decay=True, weight_decay=0.01)}
SHAPES = [(7, 5), (33,), (1,)]


def _problem(seed=0, steps=8, dtype=np.float64):
    rng = np.random.default_rng(seed)
    params = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    grads = [[rng.standard_normal(s).astype(dtype) for s in SHAPES] for _ in range(steps)]
    return params, grads


def _clone(obj, how):
    return pickle.loads(pickle.dumps(obj)) if how == "pickle" else copy.deepcopy(obj)


def _same_state(a, b):
    assert len(a.state_dict()["state"]) == len(b.state_dict()["state"])
    for (i, sa), (j, sb) in zip(a.state_dict()["state"].items(),
                                b.state_dict()["state"].items()):
        assert i == j and sa.keys() == sb.keys()
        for k in sa:
            assert np.array_equal(np.asarray(sa[k]), np.asarray(sb[k])), (i, k)


FACTORIES = [(f"fo.{n}-{backend}", (lambda n, backend: lambda ps: getattr(
    fo if backend == "native" else fo.reference, n)(ps, **OPTIONS.get(n, {})))(n, backend))
    for n in NAMES for backend in ("native", "reference")]
FACTORIES += [
    ("keras.Adam", lambda ps: fk.Adam(ps, learning_rate=0.01)),
    ("keras.Nadam", lambda ps: fk.Nadam(ps, learning_rate=0.01)),
    ("keras.SGD", lambda ps: fk.SGD(ps, learning_rate=0.01, momentum=0.9)),
    ("optax.adamw", lambda ps: fx.adamw(ps, 0.01)),
    ("optax.sgd", lambda ps: fx.sgd(ps, 0.01, momentum=0.9)),
    ("schedule lr", lambda ps: fo.Adam(ps, lr=fo.schedules.cosine_decay(0.01, 20))),
    ("two groups", lambda ps: fo.Adam([{"params": ps[:1], "lr": 0.1}, {"params": ps[1:]}])),
]


@pytest.mark.parametrize("how", ["pickle", "deepcopy"])
@pytest.mark.parametrize("name, factory", FACTORIES, ids=[f[0] for f in FACTORIES])
def test_copy_owns_its_params_and_continues_bit_for_bit(name, factory, how):
    params, grads = _problem()
    opt = factory(params)
    for g in grads[:3]:
        opt.step(g)
    before = [p.copy() for p in params]
    clone = _clone(opt, how)
    cparams = [p for group in clone.param_groups for p in group["params"]]
    assert all(c is not p and not np.shares_memory(c, p) for c, p in zip(cparams, params))
    _same_state(clone, opt)
    for g in grads[3:]:  # the copy first: the original must not move
        clone.step(g)
    assert all(np.array_equal(p, b) for p, b in zip(params, before))
    for g in grads[3:]:
        opt.step(g)
    assert all(np.array_equal(c, p) for c, p in zip(cparams, params))
    _same_state(clone, opt)
    # the copy's state is its own: stepping the original again leaves it alone
    snap = [v.copy() for v in clone.state[cparams[0]].values() if isinstance(v, np.ndarray)]
    opt.step(grads[0])
    now = [v for v in clone.state[cparams[0]].values() if isinstance(v, np.ndarray)]
    assert all(np.array_equal(a, b) for a, b in zip(snap, now))


@pytest.mark.parametrize("how", ["pickle", "deepcopy"])
def test_copy_of_a_fresh_optimizer_and_with_options_changed(how):
    params, grads = _problem()
    opt = fo.Adam(params, lr=0.01)
    clone = _clone(opt, how)  # before any step: no plan, no state
    cparams = clone.param_groups[0]["params"]
    opt.param_groups[0]["lr"] = 0.02
    clone.param_groups[0]["lr"] = 0.02
    for g in grads:
        opt.step(g)
        clone.step(g)
    assert all(np.array_equal(c, p) for c, p in zip(cparams, params))


@pytest.mark.parametrize("how", ["pickle", "deepcopy"])
def test_ema_copies_with_its_optimizer(how):
    params, grads = _problem()
    opt = fo.Adam(params, lr=0.01)
    ema = fo.EMA(params, decay=0.9)
    for g in grads[:3]:
        opt.step(g)
        ema.update()
    opt2, ema2 = _clone((opt, ema), how)  # one copy: the EMA follows the copied params
    p2 = opt2.param_groups[0]["params"]
    for g in grads[3:]:
        opt2.step(g)
        ema2.update()
    for g in grads[3:]:
        opt.step(g)
        ema.update()
    assert all(np.array_equal(a, b) for a, b in zip(p2, params))
    for a, b in zip(ema2.state_dict()["averages"], ema.state_dict()["averages"]):
        assert np.array_equal(a, b)
    ema2.copy_to()
    assert all(np.array_equal(a, b) for a, b in zip(p2, ema.state_dict()["averages"]))
    assert not all(np.array_equal(a, b) for a, b in zip(params, p2))


# ------------------------------------------------------------------------------ None grads
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("backend", ["native", "reference"])
def test_none_grad_leaves_param_state_and_step_count(name, backend):
    params, grads = _problem()
    opt = getattr(fo if backend == "native" else fo.reference, name)(params,
                                                                     **OPTIONS.get(name, {}))
    opt.step(grads[0])
    snap = copy.deepcopy(opt.state_dict())
    frozen = params[1].copy()
    opt.step([grads[1][0], None, grads[1][2]])
    assert np.array_equal(params[1], frozen)
    assert opt.state[params[1]]["step"] == 1 and opt.state[params[0]]["step"] == 2
    for k, v in snap["state"][1].items():
        assert np.array_equal(np.asarray(opt.state_dict()["state"][1][k]), np.asarray(v)), k
    # as a dict by name too
    named = getattr(fo, name)({"a": params[0], "b": params[1], "c": params[2]},
                              **OPTIONS.get(name, {}))
    b = params[1].copy()
    named.step({"a": grads[2][0], "b": None, "c": grads[2][2]})
    assert np.array_equal(params[1], b)
    assert "b" not in named.state_dict()["state"] or named.state[params[1]]["step"] == 0


def test_a_param_skipped_at_its_first_step_has_no_state():
    params, grads = _problem()
    opt = fo.Adam(params)
    opt.step([None, grads[0][1], grads[0][2]])
    assert opt.state[params[0]] == {} or opt.state[params[0]].get("step", 0) == 0
    opt.step(grads[1])  # its first step now: bias correction of step 1
    ref = _problem()[0][0]
    fo.Adam([ref]).step([grads[1][0]])
    assert np.array_equal(params[0], ref)


def test_skipped_params_step_like_their_own_optimizer():
    # each param's bias correction follows its own count: a param stepped on steps 1, 3, 4 of
    # a joint optimizer ends exactly where a separate optimizer that saw only those grads does
    params, grads = _problem(steps=6)
    mask = [[True, True, True], [True, False, True], [False, True, True], [True, False, False],
            [True, True, False], [False, True, True]]
    opt = fo.NAdam(params, lr=0.01)
    for g, m in zip(grads, mask):
        opt.step([x if keep else None for x, keep in zip(g, m)])
    alone = _problem(steps=6)[0]
    for i, p in enumerate(alone):
        o = fo.NAdam([p], lr=0.01)
        for g, m in zip(grads, mask):
            if m[i]:
                o.step([g[i]])
        assert np.array_equal(p, params[i]), i
        assert opt.state[params[i]]["step"] == sum(m[i] for m in mask)


def test_schedule_follows_each_params_count():
    # a group's lr schedule is called with each param's own steps taken (torch keeps one lr
    # per group and per-param bias corrections; fastoptim documents the per-param schedule)
    seen = []

    def lr(t):
        seen.append(t)
        return 0.1 / (1 + t)

    params, grads = _problem(steps=3)
    opt = fo.SGD(params, lr=lr)
    opt.step(grads[0])
    opt.step([None, grads[1][1], grads[1][2]])
    opt.step(grads[2])
    assert sorted(set(seen)) == [0, 1, 2]


def test_none_grads_against_torch():
    torch = pytest.importorskip("torch")
    cases = [("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)), ("Adam", dict(lr=0.01)),
             ("AdamW", dict(lr=0.01, amsgrad=True)), ("RMSprop", dict(lr=0.01, centered=True)),
             ("Adagrad", dict(lr=0.1)), ("Adamax", dict(lr=0.01)), ("NAdam", dict(lr=0.01)),
             ("RAdam", dict(lr=0.01)), ("Adadelta", dict(lr=1.0))]
    rng = np.random.default_rng(3)
    mask = rng.random((12, len(SHAPES))) < 0.6
    # torch keeps NAdam's mu_product and step counts in its default dtype: float64 here, as
    # fastoptim does (in float32 they alone move NAdam by ~1e-8 relative)
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        _against_torch(torch, cases, mask)
    finally:
        torch.set_default_dtype(before)


def _against_torch(torch, cases, mask):
    for name, options in cases:
        params, grads = _problem(steps=12)
        theirs = [torch.tensor(p.copy(), requires_grad=True) for p in params]
        opt = getattr(fo, name)(params, **options)
        topt = getattr(torch.optim, name)(theirs, foreach=False, **options)
        for g, m in zip(grads, mask):
            opt.step([x if keep else None for x, keep in zip(g, m)])
            for t, x, keep in zip(theirs, g, m):
                t.grad = torch.from_numpy(x.copy()) if keep else None
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                topt.step()
        for i, (p, t) in enumerate(zip(params, theirs)):
            # float64, 12 steps: each a few ulp apart from torch's operation order (see
            # test_torch_parity.py); a skipped param stepped or a wrong count is off by >1e-4
            np.testing.assert_allclose(p, t.detach().numpy(), rtol=1e-11, atol=1e-13,
                                       err_msg=f"{name} param {i}")
            if "step" in topt.state[t]:
                assert opt.state[p]["step"] == int(topt.state[t]["step"]), (name, i)


# ------------------------------------------------------------------- the per-step fast path
def _mutations():
    """Each changes the optimizer between steps the way user code and schedulers do."""
    def betas(o):
        o.param_groups[0]["betas"] = (0.5, 0.9)

    def lr(o):
        o.param_groups[0]["lr"] = 0.003

    def lr_schedule(o):
        o.param_groups[0]["lr"] = fo.schedules.cosine_decay(0.01, 10)

    def update(o):
        o.param_groups[0].update(weight_decay=0.1)

    def replace_group(o):
        o.param_groups[0] = {**o.param_groups[0], "amsgrad": True}

    def clip(o):
        o.clip_norm = 0.5

    def add_group(o):
        o.add_param_group({"params": [np.ones(4)], "lr": 0.02})

    return [betas, lr, lr_schedule, update, replace_group, clip, add_group]


@pytest.mark.parametrize("change", _mutations(), ids=lambda f: f.__name__)
def test_fast_path_sees_every_change(change):
    # the same run twice: once as it comes (the fast path from the second step on), once with
    # the fast path dropped before every step (every step validated in full): the same bits
    params_a, grads = _problem(steps=8)
    params_b = [p.copy() for p in params_a]
    a, b = fo.Adam(params_a, lr=0.01), fo.Adam(params_b, lr=0.01)
    for k, g in enumerate(grads):
        if k == 4:
            change(a)
            change(b)
        extra = [np.full(4, 0.1)] * (len(a._params) - len(g))
        a.step(g + extra)
        b._fast = None
        b.step(g + [e.copy() for e in extra])
        assert all(np.array_equal(x, y) for x, y in zip(a._params, b._params)), (k, change)
    assert a._fast is not None or change.__name__ == "clip"


def test_fast_path_bad_lr_is_refused_with_nothing_changed():
    params, grads = _problem()
    opt = fo.SGD(params, lr=0.1, momentum=0.9)
    opt.step(grads[0])
    opt.step(grads[1])
    before = [p.copy() for p in params]
    opt.param_groups[0]["lr"] = -1.0  # lr writes do not count as a change: still the fast path
    with pytest.raises(ValueError, match="lr"):
        opt.step(grads[2])
    assert all(np.array_equal(p, b) for p, b in zip(params, before))
    assert opt.state[params[0]]["step"] == 2
