"""Tests of fastoptim.lr_scheduler: torch parity (exact), state, errors."""

from __future__ import annotations

import copy
import functools
import math
import pickle
import types
import warnings
from typing import Any, Callable

import pytest

from fastoptim import lr_scheduler as L
from fastoptim import schedules as S

STEPS = 150


class FakeOpt:
    """Just the part of the optimizer contract that schedulers use."""

    def __init__(self, *groups: dict[str, Any]) -> None:
        self.param_groups = [dict(g) for g in groups]

    def step(self) -> None:
        pass


SGD_GROUPS = ({"lr": 0.1, "momentum": 0.9}, {"lr": 0.0375, "momentum": 0.8})
ADAM_GROUPS = ({"lr": 1e-3, "betas": (0.9, 0.999)}, {"lr": 3e-4, "betas": (0.85, 0.99)})

# (id, factory(module, optimizer), uses Adam-style betas, number of steps).
# The same factory builds the torch and the fastoptim scheduler.
CASES: list[tuple[str, Callable[[Any, Any], Any], bool, int]] = [
    ("lambda", lambda m, o: m.LambdaLR(o, lambda e: 1.0 / (1 + 0.05 * e)), False, STEPS),
    (
        "lambda-per-group",
        lambda m, o: m.LambdaLR(o, [lambda e: 0.99**e, lambda e: max(0.0, 1 - e / 120)]),
        False,
        STEPS,
    ),
    (
        "lambda-schedule",
        lambda m, o: m.LambdaLR(o, S.warmup_cosine(0.0, 1.0, 10, 120, 0.05)),
        False,
        STEPS,
    ),
    ("multiplicative", lambda m, o: m.MultiplicativeLR(o, lambda e: 0.95), False, STEPS),
    (
        "multiplicative-steps",
        lambda m, o: m.MultiplicativeLR(o, lambda e: 0.9 if e % 10 == 0 else 1.0),
        False,
        STEPS,
    ),
    ("step", lambda m, o: m.StepLR(o, 7, gamma=0.5), False, STEPS),
    ("step-default", lambda m, o: m.StepLR(o, step_size=30), False, STEPS),
    ("step-1", lambda m, o: m.StepLR(o, 1, gamma=0.97), False, STEPS),
    ("multistep", lambda m, o: m.MultiStepLR(o, [10, 25, 80], gamma=0.3), False, STEPS),
    ("multistep-default", lambda m, o: m.MultiStepLR(o, milestones=[1, 2, 3]), False, STEPS),
    ("constant-default", lambda m, o: m.ConstantLR(o), False, STEPS),
    ("constant", lambda m, o: m.ConstantLR(o, factor=0.5, total_iters=40), False, STEPS),
    ("constant-1", lambda m, o: m.ConstantLR(o, factor=1.0, total_iters=3), False, STEPS),
    ("linear-default", lambda m, o: m.LinearLR(o), False, STEPS),
    ("linear-warmup", lambda m, o: m.LinearLR(o, 0.01, 1.0, total_iters=100), False, STEPS),
    ("linear-decay", lambda m, o: m.LinearLR(o, 1.0, 0.1, 60), False, STEPS),
    ("linear-to-zero", lambda m, o: m.LinearLR(o, 0.25, 0.0, 33), False, STEPS),
    ("exponential", lambda m, o: m.ExponentialLR(o, 0.95), False, STEPS),
    ("exponential-up", lambda m, o: m.ExponentialLR(o, gamma=1.01), False, STEPS),
    ("polynomial-default", lambda m, o: m.PolynomialLR(o), False, STEPS),
    ("polynomial", lambda m, o: m.PolynomialLR(o, total_iters=100, power=2.0), False, STEPS),
    ("polynomial-sqrt", lambda m, o: m.PolynomialLR(o, 37, 0.5), False, STEPS),
    ("cosine-periodic", lambda m, o: m.CosineAnnealingLR(o, T_max=50), False, STEPS),
    ("cosine-eta", lambda m, o: m.CosineAnnealingLR(o, STEPS, eta_min=1e-4), False, STEPS),
    ("cosine-1", lambda m, o: m.CosineAnnealingLR(o, 1), False, STEPS),
    ("cosine-7", lambda m, o: m.CosineAnnealingLR(o, 7, 0.01), False, STEPS),
    ("restarts", lambda m, o: m.CosineAnnealingWarmRestarts(o, 10), False, STEPS),
    (
        "restarts-mult",
        lambda m, o: m.CosineAnnealingWarmRestarts(o, 5, T_mult=2, eta_min=1e-3),
        False,
        STEPS,
    ),
    ("restarts-1", lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=1), False, STEPS),
    ("onecycle", lambda m, o: m.OneCycleLR(o, max_lr=1.0, total_steps=STEPS), False, STEPS),
    (
        "onecycle-linear-epochs",
        lambda m, o: m.OneCycleLR(
            o, [0.5, 0.2], epochs=10, steps_per_epoch=15, anneal_strategy="linear", pct_start=0.1
        ),
        False,
        STEPS,
    ),
    (
        "onecycle-three-phase",
        lambda m, o: m.OneCycleLR(
            o, 0.3, total_steps=STEPS, three_phase=True, div_factor=10.0, final_div_factor=100.0
        ),
        False,
        STEPS,
    ),
    (
        "onecycle-adam",
        lambda m, o: m.OneCycleLR(
            o, 3e-3, total_steps=STEPS, base_momentum=[0.8, 0.7], max_momentum=0.95
        ),
        True,
        STEPS,
    ),
    (
        "onecycle-no-momentum-short",
        lambda m, o: m.OneCycleLR(o, 0.1, total_steps=7, pct_start=0.5, cycle_momentum=False),
        False,
        7,
    ),
    ("cyclic", lambda m, o: m.CyclicLR(o, 0.01, 0.1, step_size_up=10), False, STEPS),
    (
        "cyclic-triangular2",
        lambda m, o: m.CyclicLR(o, [0.01, 0.001], 0.1, 10, 5, mode="triangular2"),
        False,
        STEPS,
    ),
    (
        "cyclic-exp-range",
        lambda m, o: m.CyclicLR(o, 0.01, [0.1, 0.05], 8, mode="exp_range", gamma=0.98),
        False,
        STEPS,
    ),
    (
        "cyclic-scale-fn-cycle",
        lambda m, o: m.CyclicLR(
            o, 0.01, 0.1, 6, 9, scale_fn=lambda x: 0.5 * (1 + math.sin(x * math.pi / 2))
        ),
        False,
        STEPS,
    ),
    (
        "cyclic-scale-fn-iterations",
        lambda m, o: m.CyclicLR(
            o, 0.01, 0.1, 6, scale_fn=lambda x: 1 / (1 + x), scale_mode="iterations"
        ),
        False,
        STEPS,
    ),
    (
        "cyclic-adam",
        lambda m, o: m.CyclicLR(o, 1e-4, 1e-3, 12, base_momentum=0.8, max_momentum=0.9),
        True,
        STEPS,
    ),
    (
        "cyclic-no-momentum",
        lambda m, o: m.CyclicLR(o, 0.01, 0.1, 3, 7, cycle_momentum=False),
        False,
        STEPS,
    ),
    (
        "sequential",
        lambda m, o: m.SequentialLR(
            o, [m.LinearLR(o, 0.1, total_iters=10), m.ExponentialLR(o, 0.97)], milestones=[10]
        ),
        False,
        STEPS,
    ),
    (
        "sequential-3",
        lambda m, o: m.SequentialLR(
            o,
            [m.ConstantLR(o, 0.5, 5), m.CosineAnnealingLR(o, 40), m.StepLR(o, 10, 0.5)],
            [20, 60],
        ),
        False,
        STEPS,
    ),
    (
        "sequential-lambda-restarts",
        lambda m, o: m.SequentialLR(
            o,
            [m.LambdaLR(o, lambda e: (e + 1) / 8), m.CosineAnnealingWarmRestarts(o, 9, 2)],
            [8],
        ),
        False,
        STEPS,
    ),
    (
        "chained",
        lambda m, o: m.ChainedScheduler([m.ConstantLR(o, 0.1, 8), m.ExponentialLR(o, 0.98)]),
        False,
        STEPS,
    ),
    (
        "chained-3",
        lambda m, o: m.ChainedScheduler(
            [
                m.LinearLR(o, 0.2, total_iters=15),
                m.MultiStepLR(o, [40, 90]),
                m.PolynomialLR(o, 120),
            ],
            optimizer=o,
        ),
        False,
        STEPS,
    ),
]
CASE_IDS = [c[0] for c in CASES]


def _snapshot(opt: Any, sched: Any) -> list[Any]:
    groups = [(g["lr"], g.get("momentum"), g.get("betas")) for g in opt.param_groups]
    return [groups, list(sched.get_last_lr())]


def _run(sched: Any, opt: Any, steps: int, call_opt_step: bool = False) -> list[Any]:
    trace = [_snapshot(opt, sched)]
    for _ in range(steps):
        if call_opt_step:
            opt.step()
        sched.step()
        trace.append(_snapshot(opt, sched))
    return trace


def _torch_opt(torch: Any, adam: bool) -> Any:
    groups = ADAM_GROUPS if adam else SGD_GROUPS
    params = [{"params": [torch.zeros(1, requires_grad=True)], **g} for g in groups]
    if adam:
        return torch.optim.Adam(params, lr=groups[0]["lr"])
    return torch.optim.SGD(params, lr=groups[0]["lr"], momentum=0.9)


def _torch_trace(factory: Callable[[Any, Any], Any], adam: bool, steps: int) -> list[Any]:
    torch = pytest.importorskip("torch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        opt = _torch_opt(torch, adam)
        sched = factory(torch.optim.lr_scheduler, opt)
        return _run(sched, opt, steps, call_opt_step=True)


def _ours(factory: Callable[[Any, Any], Any], adam: bool) -> tuple[Any, FakeOpt]:
    opt = FakeOpt(*(ADAM_GROUPS if adam else SGD_GROUPS))
    return factory(L, opt), opt


# ----------------------------------------------------------------------------- torch parity


@pytest.mark.parametrize(("name", "factory", "adam", "steps"), CASES, ids=CASE_IDS)
def test_matches_torch_exactly(name: str, factory: Any, adam: bool, steps: int) -> None:
    want = _torch_trace(factory, adam, steps)
    sched, opt = _ours(factory, adam)
    got = _run(sched, opt, steps)
    # Exact float equality, lr and momentum/betas of every group at every step:
    # the recursive formulas use torch's operation order.
    assert got == want


EPOCH_CASES = [
    ("step", lambda m, o: m.StepLR(o, 7, gamma=0.5)),
    ("multistep", lambda m, o: m.MultiStepLR(o, [10, 25, 80], gamma=0.3)),
    ("constant", lambda m, o: m.ConstantLR(o, 0.25, 12)),
    ("linear", lambda m, o: m.LinearLR(o, 0.1, 0.9, 30)),
    ("exponential", lambda m, o: m.ExponentialLR(o, 0.97)),
    ("polynomial", lambda m, o: m.PolynomialLR(o, 50, 1.5)),
    ("cosine", lambda m, o: m.CosineAnnealingLR(o, 40, 0.001)),
    ("lambda", lambda m, o: m.LambdaLR(o, lambda e: 0.9**e)),
    ("restarts", lambda m, o: m.CosineAnnealingWarmRestarts(o, 10)),
    ("restarts-mult", lambda m, o: m.CosineAnnealingWarmRestarts(o, 3, 2, 1e-4)),
]
EPOCHS = [0, 3, 17, 5, 60, 61, 200, 2, 99, 1, 40, 41, 42, 150, 12, 10, 9]
FLOAT_EPOCHS = [0.5, 1.3, 9.99, 10.0, 27.4, 100.0, 3.0, 45.0, 44.999, 93.0, 0.0, 21.0, 20.5]


@pytest.mark.parametrize(("name", "factory"), EPOCH_CASES, ids=[c[0] for c in EPOCH_CASES])
def test_step_with_epoch_matches_torch(name: str, factory: Any) -> None:
    torch = pytest.importorskip("torch")
    epochs = EPOCHS + (FLOAT_EPOCHS if name.startswith("restarts") else [])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch deprecates step(epoch) with a warning
        topt = _torch_opt(torch, adam=False)
        tsched = factory(torch.optim.lr_scheduler, topt)
        want = []
        for e in epochs:
            topt.step()
            tsched.step(e)
            want.append(_snapshot(topt, tsched))
    sched, opt = _ours(factory, adam=False)
    got = []
    for e in epochs:
        sched.step(e)
        got.append(_snapshot(opt, sched))
    assert got == want


METRICS = [1.0 / (1 + i) if i < 20 else 0.05 + 0.001 * ((i * 37) % 11) for i in range(STEPS)]
PLATEAU_CASES = [
    ("default", {}, METRICS),
    ("patience-3", {"patience": 3, "factor": 0.5}, METRICS),
    ("max-abs", {"mode": "max", "threshold_mode": "abs", "patience": 2}, [-m for m in METRICS]),
    ("cooldown-minlr", {"patience": 1, "cooldown": 4, "min_lr": [0.01, 1e-4]}, METRICS),
    ("max-rel-eps", {"mode": "max", "patience": 0, "factor": 0.9, "eps": 1e-3}, METRICS),
]


@pytest.mark.parametrize(
    ("name", "kwargs", "metrics"), PLATEAU_CASES, ids=[c[0] for c in PLATEAU_CASES]
)
def test_reduce_on_plateau_matches_torch(name: str, kwargs: dict, metrics: list[float]) -> None:
    torch = pytest.importorskip("torch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        topt = _torch_opt(torch, adam=False)
        tsched = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, **kwargs)
        want = [_snapshot(topt, tsched)]
        for m in metrics:
            topt.step()
            tsched.step(m)
            want.append(_snapshot(topt, tsched))
    opt = FakeOpt(*SGD_GROUPS)
    sched = L.ReduceLROnPlateau(opt, **kwargs)
    got = [_snapshot(opt, sched)]
    for m in metrics:
        sched.step(m)
        got.append(_snapshot(opt, sched))
    assert got == want
    assert got[-1] != got[0]  # the metrics did trigger reductions


@pytest.mark.parametrize(
    "factory",
    [lambda m, o: m.StepLR(o, 7, 0.5), lambda m, o: m.CosineAnnealingLR(o, 30, 0.01)],
    ids=["step", "cosine"],
)
def test_resume_from_torch_state_dict(factory: Any) -> None:
    torch = pytest.importorskip("torch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        topt = _torch_opt(torch, adam=False)
        tsched = factory(torch.optim.lr_scheduler, topt)
        for _ in range(37):
            topt.step()
            tsched.step()
        state = copy.deepcopy(tsched.state_dict())
        groups = [{k: g[k] for k in ("lr", "initial_lr", "momentum")} for g in topt.param_groups]
        want = _run(tsched, topt, 60, call_opt_step=True)
    sched, opt = _ours(factory, adam=False)
    for g, saved in zip(opt.param_groups, groups):
        g.update(saved)
    sched.load_state_dict(state)
    assert _run(sched, opt, 60) == want


# ----------------------------------------------------------------------------- behaviour


@pytest.mark.parametrize(("name", "factory", "adam", "steps"), CASES, ids=CASE_IDS)
def test_state_dict_round_trip(name: str, factory: Any, adam: bool, steps: int) -> None:
    ref, ref_opt = _ours(factory, adam)
    full = _run(ref, ref_opt, steps)

    first, opt = _ours(factory, adam)
    head = _run(first, opt, steps // 2)
    state = copy.deepcopy(first.state_dict())
    saved_groups = copy.deepcopy(opt.param_groups)
    assert "optimizer" not in state

    # Resume as with torch: build optimizer + scheduler, then load both states.
    resumed, new_opt = _ours(factory, adam)
    for g, saved in zip(new_opt.param_groups, saved_groups):
        g.clear()
        g.update(saved)
    resumed.load_state_dict(state)
    tail = _run(resumed, new_opt, steps - steps // 2)
    assert head + tail[1:] == full


def test_reduce_on_plateau_state_dict() -> None:
    opt = FakeOpt({"lr": 1.0})
    sched = L.ReduceLROnPlateau(opt, patience=1)
    for m in (1.0, 1.0, 1.0):
        sched.step(m)
    state = copy.deepcopy(sched.state_dict())
    other = L.ReduceLROnPlateau(FakeOpt({"lr": 1.0}), mode="max")
    other.load_state_dict(state)
    assert (other.mode, other.mode_worse, other.best, other.num_bad_epochs) == (
        "min",
        math.inf,
        1.0,
        0,
    )


# ----------------------------------------------------------------------------- copy and pickle


def _user_callables(sched: Any) -> list[Any]:
    """The callables a user handed to ``sched`` (lr_lambda, scale_fn), nested ones too."""
    found = list(getattr(sched, "lr_lambdas", []))
    if getattr(sched, "_scale_fn_custom", None) is not None:
        found.append(sched._scale_fn_custom)
    for sub in getattr(sched, "_schedulers", []):
        found += _user_callables(sub)
    return found


def _stored_callables(obj: Any, seen: set[int] | None = None) -> list[Any]:
    """Every function, method or partial reachable from obj's attributes and containers
    (not through the optimizer, which is not the scheduler's own state)."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return []
    seen.add(id(obj))
    if isinstance(obj, (types.FunctionType, types.MethodType, types.BuiltinFunctionType)):
        return [obj]
    if isinstance(obj, functools.partial):
        return [obj, *_stored_callables(obj.func, seen)] + [
            c for a in obj.args for c in _stored_callables(a, seen)]
    if isinstance(obj, dict):
        values = list(obj.values())
    elif isinstance(obj, (list, tuple, set)):
        values = list(obj)
    elif isinstance(obj, L.LRScheduler):
        values = [v for k, v in vars(obj).items() if k != "optimizer"]
    else:
        return []
    return [c for v in values for c in _stored_callables(v, seen)]


@pytest.mark.parametrize(("name", "factory", "adam", "steps"), CASES, ids=CASE_IDS)
def test_no_local_functions_stored_on_schedulers(name: str, factory: Any, adam: bool,
                                                 steps: int) -> None:
    # What the implementation stores is picklable by reference; only a user's lambda (their
    # business, as in torch) can keep a scheduler from pickling.
    sched, opt = _ours(factory, adam)
    _run(sched, opt, 3)
    user = {id(fn) for fn in _user_callables(sched)}
    for fn in _stored_callables(sched):
        if id(fn) in user:
            continue
        qualname = getattr(fn, "__qualname__", "")
        assert "<locals>" not in qualname and "<lambda>" not in qualname, (name, fn)
        pickle.dumps(fn)


def _lambda_free(name: str) -> bool:
    sched, _ = _ours(dict((c[0], c[1]) for c in CASES)[name], False)
    return not any(getattr(fn, "__name__", "") == "<lambda>" for fn in _user_callables(sched))


PICKLABLE = [c for c in CASES if _lambda_free(c[0])]


@pytest.mark.parametrize(("name", "factory", "adam", "steps"), PICKLABLE,
                         ids=[c[0] for c in PICKLABLE])
@pytest.mark.parametrize("how", ["pickle", "deepcopy"])
def test_copy_continues_as_the_original(name: str, factory: Any, adam: bool, steps: int,
                                        how: str) -> None:
    sched, opt = _ours(factory, adam)
    _run(sched, opt, steps // 3)
    if how == "pickle":
        sched2, opt2 = pickle.loads(pickle.dumps((sched, opt)))
    else:
        sched2, opt2 = copy.deepcopy((sched, opt))
    assert sched2.optimizer is opt2 and opt2 is not opt
    for sub in getattr(sched2, "_schedulers", []):
        assert sub.optimizer is opt2
    copied = _run(sched2, opt2, steps - steps // 3)  # the copy first: the original untouched
    original = _run(sched, opt, steps - steps // 3)
    assert copied == original


@pytest.mark.parametrize("how", ["pickle", "deepcopy"])
def test_reduce_on_plateau_copies(how: str) -> None:
    opt = FakeOpt({"lr": 1.0}, {"lr": 0.5})
    sched = L.ReduceLROnPlateau(opt, patience=1, cooldown=1, min_lr=[0.01, 0.02])
    metrics = [1.0, 0.9, 0.9, 0.9, 0.95, 0.9, 0.8, 0.8, 0.8, 0.8]
    for m in metrics[:3]:
        sched.step(m)
    clone = (pickle.loads(pickle.dumps(sched)) if how == "pickle" else copy.deepcopy(sched))
    traces = []
    for s in (clone, sched):
        trace = []
        for m in metrics[3:]:
            s.step(m)
            trace.append((s.get_last_lr(), s.num_bad_epochs, s.cooldown_counter))
        traces.append(trace)
    assert traces[0] == traces[1]
    assert traces[0][-1][0] != [1.0, 0.5]  # the lr did drop: the comparison saw a change


@pytest.mark.parametrize(("name", "factory", "adam", "steps"), CASES, ids=CASE_IDS)
def test_state_dict_pickles_even_with_lambdas(name: str, factory: Any, adam: bool,
                                              steps: int) -> None:
    # torch.save pickles state dicts: user functions are left out of them (as torch does).
    first, opt = _ours(factory, adam)
    _run(first, opt, steps // 2)
    state = pickle.loads(pickle.dumps(first.state_dict()))
    groups = copy.deepcopy(opt.param_groups)
    resumed, new_opt = _ours(factory, adam)
    for g, saved in zip(new_opt.param_groups, groups):
        g.clear()
        g.update(saved)
    resumed.load_state_dict(state)
    rest = steps - steps // 2
    assert _run(resumed, new_opt, rest) == _run(first, opt, rest)


@pytest.mark.parametrize("how", ["pickle", "deepcopy"])
def test_copy_with_a_fastoptim_optimizer(how: str) -> None:
    np = pytest.importorskip("numpy")
    import fastoptim as fo

    params = [np.linspace(-1, 1, 64, dtype=np.float32)]
    opt = fo.SGD(params, lr=0.1, momentum=0.9)
    sched = L.OneCycleLR(opt, max_lr=0.5, total_steps=20)
    grads = [[np.full(64, k + 1.0, np.float32)] for k in range(10)]
    for g in grads[:3]:
        opt.step(g)
        sched.step()
    try:
        pair = pickle.loads(pickle.dumps((opt, sched))) if how == "pickle" else (
            copy.deepcopy((opt, sched)))
    except TypeError as e:  # the optimizer itself (its native plan) does not copy yet
        pytest.skip(f"fastoptim optimizers are not picklable yet: {e}")
    opt2, sched2 = pair
    assert sched2.optimizer is opt2 and opt2.param_groups[0]["params"][0] is not params[0]
    for o, s in ((opt2, sched2), (opt, sched)):
        for g in grads[3:]:
            o.step(g)
            s.step()
    assert sched2.get_last_lr() == sched.get_last_lr()
    assert np.array_equal(opt2.param_groups[0]["params"][0], params[0])


def test_initial_lr_and_first_epoch() -> None:
    seen: list[int] = []

    def fn(epoch: int) -> float:
        seen.append(epoch)
        return 0.5**epoch

    opt = FakeOpt({"lr": 0.4}, {"lr": 0.2, "initial_lr": 0.1})
    sched = L.LambdaLR(opt, fn)
    assert seen == [0, 0]  # lr_lambda gets epoch 0 on construction
    assert [g["initial_lr"] for g in opt.param_groups] == [0.4, 0.1]  # setdefault, like torch
    assert sched.base_lrs == [0.4, 0.1]
    assert sched.last_epoch == 0
    assert sched.get_last_lr() == [0.4, 0.1]
    sched.step()
    assert sched.last_epoch == 1
    assert sched.get_last_lr() == [0.2, 0.05]


def test_schedule_as_lambda_gets_zero_first() -> None:
    opt = FakeOpt({"lr": 1.0})
    s = S.cosine_restarts(1.0, 4)
    sched = L.LambdaLR(opt, s)
    lrs = [opt.param_groups[0]["lr"]]
    for _ in range(9):
        sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    assert lrs == [s(c) for c in range(10)]


def test_lr_written_between_steps_is_used() -> None:
    # Recursive schedulers build on whatever group["lr"] holds, as in torch.
    opt = FakeOpt({"lr": 1.0})
    sched = L.ExponentialLR(opt, 0.5)
    opt.param_groups[0]["lr"] = 8.0
    sched.step()
    assert opt.param_groups[0]["lr"] == 4.0
    assert type(opt.param_groups[0]["lr"]) is float


def test_get_last_lr_is_a_copy() -> None:
    sched = L.StepLR(FakeOpt({"lr": 1.0}), 1)
    sched.get_last_lr().append(5.0)
    assert sched.get_last_lr() == [1.0]


def test_optimizer_step_not_patched() -> None:
    opt = FakeOpt({"lr": 1.0, "momentum": 0.9})
    for make in (
        lambda: L.StepLR(opt, 3),
        lambda: L.OneCycleLR(opt, 1.0, total_steps=10),
        lambda: L.CyclicLR(opt, 0.1, 1.0),
        lambda: L.ReduceLROnPlateau(opt),
    ):
        make()
        assert "step" not in vars(opt)
        assert type(opt).step is FakeOpt.step


def test_no_warnings_in_any_order() -> None:
    # pytest turns warnings into errors; torch would warn for these orders.
    opt = FakeOpt({"lr": 1.0})
    sched = L.StepLR(opt, 2)
    sched.step()
    sched.step(5)
    sched.get_lr()
    seq = L.SequentialLR(opt, [L.ConstantLR(opt), L.ExponentialLR(opt, 0.9)], [3])
    for _ in range(5):
        seq.step()


def test_onecycle_past_total_steps_raises() -> None:
    sched = L.OneCycleLR(FakeOpt({"lr": 0.1, "momentum": 0.9}), 1.0, total_steps=3)
    for _ in range(3):
        sched.step()
    with pytest.raises(ValueError, match="Tried to step 4 times"):
        sched.step()


def test_constant_lr_zero_factor_restores_base() -> None:
    # torch divides by zero at total_iters; restoring the base lr is the intent.
    opt = FakeOpt({"lr": 0.3})
    sched = L.ConstantLR(opt, factor=0.0, total_iters=2)
    lrs = [opt.param_groups[0]["lr"]]
    for _ in range(3):
        sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    assert lrs == [0.0, 0.0, 0.3, 0.3]


def test_resume_with_last_epoch() -> None:
    opt = FakeOpt({"lr": 0.1})
    with pytest.raises(KeyError, match="initial_lr"):
        L.StepLR(opt, 2, last_epoch=4)
    opt.param_groups[0]["initial_lr"] = 1.0
    sched = L.StepLR(opt, 2, gamma=0.5, last_epoch=4)
    assert sched.last_epoch == 5
    assert sched.base_lrs == [1.0]


# ----------------------------------------------------------------------------- errors


class NoGroups:
    pass


ALL_SCHEDULERS: list[Callable[[Any], Any]] = [
    lambda o: L.LambdaLR(o, lambda e: 1.0),
    lambda o: L.MultiplicativeLR(o, lambda e: 1.0),
    lambda o: L.StepLR(o, 3),
    lambda o: L.MultiStepLR(o, [3]),
    lambda o: L.ConstantLR(o),
    lambda o: L.LinearLR(o),
    lambda o: L.ExponentialLR(o, 0.9),
    lambda o: L.PolynomialLR(o),
    lambda o: L.CosineAnnealingLR(o, 10),
    lambda o: L.CosineAnnealingWarmRestarts(o, 10),
    lambda o: L.OneCycleLR(o, 1.0, total_steps=10),
    lambda o: L.CyclicLR(o, 0.1, 1.0),
    lambda o: L.SequentialLR(o, [], []),
    lambda o: L.ReduceLROnPlateau(o),
]


@pytest.mark.parametrize("make", ALL_SCHEDULERS)
def test_rejects_object_without_param_groups(make: Callable[[Any], Any]) -> None:
    with pytest.raises(TypeError, match="`param_groups` list of dicts, got NoGroups"):
        make(NoGroups())


@pytest.mark.parametrize("make", ALL_SCHEDULERS)
def test_rejects_schedule_callable_lr(make: Callable[[Any], Any]) -> None:
    opt = FakeOpt({"lr": 0.1, "momentum": 0.9}, {"lr": S.constant(0.1), "momentum": 0.9})
    with pytest.raises(TypeError, match=r"param_groups\[1\]\['lr'\] is a schedule callable"):
        make(opt)


@pytest.mark.parametrize("make", ALL_SCHEDULERS[:-2] + ALL_SCHEDULERS[-1:])
def test_rejects_callable_lr_set_later(make: Callable[[Any], Any]) -> None:
    opt = FakeOpt({"lr": 0.1, "momentum": 0.9})
    sched = make(opt)
    opt.param_groups[0]["lr"] = lambda c: 0.1
    with pytest.raises(TypeError, match="is a schedule callable"):
        sched.step(1.0) if isinstance(sched, L.ReduceLROnPlateau) else sched.step()


def test_rejects_bad_lr_values() -> None:
    with pytest.raises(TypeError, match=r"param_groups\[0\]\['lr'\] must be a float, got str"):
        L.StepLR(FakeOpt({"lr": "0.1"}), 3)
    with pytest.raises(KeyError, match="has no 'lr'"):
        L.StepLR(FakeOpt({"momentum": 0.9}), 3)
    with pytest.raises(TypeError, match="list of dicts, got O"):
        L.StepLR(type("O", (), {"param_groups": [1]})(), 3)


def _opt() -> FakeOpt:
    return FakeOpt({"lr": 0.1, "momentum": 0.9}, {"lr": 0.2, "momentum": 0.9})


BAD: list[tuple[str, Callable[[FakeOpt], Any], type, str]] = [
    ("lambda-len", lambda o: L.LambdaLR(o, [lambda e: 1.0]), ValueError, "Expected 2 lr_lambdas"),
    ("lambda-call", lambda o: L.LambdaLR(o, 0.5), TypeError, "lr_lambda must be callable"),
    ("mult-call", lambda o: L.MultiplicativeLR(o, [1, 2]), TypeError, "lr_lambda must be callable"),
    ("step-0", lambda o: L.StepLR(o, 0), ValueError, "step_size must be >= 1, got 0"),
    ("step-neg", lambda o: L.StepLR(o, -2), ValueError, "step_size must be >= 1, got -2"),
    ("step-float", lambda o: L.StepLR(o, 2.5), TypeError, "step_size must be an integer"),
    ("last-epoch", lambda o: L.StepLR(o, 2, last_epoch=-2), ValueError, "last_epoch must be >= -1"),
    ("ms-order", lambda o: L.MultiStepLR(o, [5, 3]), ValueError, "strictly increasing, got .5, 3."),
    ("ms-dup", lambda o: L.MultiStepLR(o, [3, 3]), ValueError, "strictly increasing"),
    ("ms-neg", lambda o: L.MultiStepLR(o, [-1, 3]), ValueError, r"milestones\[0\] must be >= 0"),
    ("ms-type", lambda o: L.MultiStepLR(o, 5), TypeError, "milestones must be a list"),
    ("const-f", lambda o: L.ConstantLR(o, 1.5), ValueError, r"factor must be in \[0.0, 1.0\]"),
    ("const-neg", lambda o: L.ConstantLR(o, -0.1), ValueError, "factor must be in"),
    ("const-it", lambda o: L.ConstantLR(o, 0.5, 0), ValueError, "total_iters must be >= 1, got 0"),
    (
        "lin-start",
        lambda o: L.LinearLR(o, 0.0),
        ValueError,
        r"start_factor must be in \(0.0, 1.0\]",
    ),
    ("lin-start2", lambda o: L.LinearLR(o, 1.5), ValueError, "start_factor must be in"),
    ("lin-end", lambda o: L.LinearLR(o, 0.5, -0.1), ValueError, "end_factor must be in"),
    ("lin-it", lambda o: L.LinearLR(o, total_iters=0), ValueError, "total_iters must be >= 1"),
    ("poly-it", lambda o: L.PolynomialLR(o, 0), ValueError, "total_iters must be >= 1, got 0"),
    ("cos-t", lambda o: L.CosineAnnealingLR(o, 0), ValueError, "T_max must be >= 1, got 0"),
    ("wr-t0", lambda o: L.CosineAnnealingWarmRestarts(o, 0), ValueError, "T_0 must be >= 1"),
    (
        "wr-t0f",
        lambda o: L.CosineAnnealingWarmRestarts(o, 1.5),
        TypeError,
        "T_0 must be an integer",
    ),
    (
        "wr-mult",
        lambda o: L.CosineAnnealingWarmRestarts(o, 5, 0),
        ValueError,
        "T_mult must be >= 1",
    ),
    ("wr-eta", lambda o: L.CosineAnnealingWarmRestarts(o, 5, 1, "x"), TypeError, "eta_min must be"),
    (
        "wr-epoch",
        lambda o: L.CosineAnnealingWarmRestarts(o, 5).step(-1),
        ValueError,
        "epoch must be >= 0, got -1",
    ),
    (
        "oc-total",
        lambda o: L.OneCycleLR(o, 1.0, total_steps=0),
        ValueError,
        "total_steps must be >= 1",
    ),
    ("oc-none", lambda o: L.OneCycleLR(o, 1.0), ValueError, "either total_steps OR"),
    (
        "oc-epochs",
        lambda o: L.OneCycleLR(o, 1.0, epochs=0, steps_per_epoch=3),
        ValueError,
        "epochs",
    ),
    (
        "oc-spe",
        lambda o: L.OneCycleLR(o, 1.0, epochs=2, steps_per_epoch=0),
        ValueError,
        "steps_per_epoch must be >= 1",
    ),
    (
        "oc-pct",
        lambda o: L.OneCycleLR(o, 1.0, 10, pct_start=1.5),
        ValueError,
        "pct_start must be in",
    ),
    (
        "oc-anneal",
        lambda o: L.OneCycleLR(o, 1.0, 10, anneal_strategy="exp"),
        ValueError,
        "anneal_strategy must be 'cos' or 'linear'",
    ),
    (
        "oc-div",
        lambda o: L.OneCycleLR(o, 1.0, 10, div_factor=0),
        ValueError,
        "div_factor must be in",
    ),
    (
        "oc-maxlr",
        lambda o: L.OneCycleLR(o, [1.0], 10),
        ValueError,
        "max_lr must have one value per",
    ),
    ("cy-mode", lambda o: L.CyclicLR(o, 0.1, 1.0, mode="sine"), ValueError, "mode must be"),
    ("cy-up", lambda o: L.CyclicLR(o, 0.1, 1.0, 0), ValueError, "step_size_up must be in"),
    ("cy-down", lambda o: L.CyclicLR(o, 0.1, 1.0, 5, -1), ValueError, "step_size_down must be in"),
    (
        "cy-scale-mode",
        lambda o: L.CyclicLR(o, 0.1, 1.0, scale_fn=lambda x: 1.0, scale_mode="epoch"),
        ValueError,
        "scale_mode must be 'cycle' or 'iterations'",
    ),
    ("cy-base", lambda o: L.CyclicLR(o, [0.1, 0.2, 0.3], 1.0), ValueError, "base_lr must have one"),
    ("seq-empty", lambda o: L.SequentialLR(o, [], []), ValueError, "at least one scheduler"),
    (
        "seq-ms-len",
        lambda o: L.SequentialLR(o, [L.ConstantLR(o), L.ExponentialLR(o, 0.9)], []),
        ValueError,
        "one milestone less than schedulers",
    ),
    (
        "seq-ms-order",
        lambda o: L.SequentialLR(o, [L.ConstantLR(o), L.ConstantLR(o), L.ConstantLR(o)], [5, 5]),
        ValueError,
        "milestones must be strictly increasing",
    ),
    (
        "seq-plateau",
        lambda o: L.SequentialLR(o, [L.ConstantLR(o), L.ReduceLROnPlateau(o)], [3]),
        TypeError,
        "does not support ReduceLROnPlateau",
    ),
    (
        "seq-other-opt",
        lambda o: L.SequentialLR(o, [L.ConstantLR(_opt())], []),
        ValueError,
        "belongs to a different optimizer",
    ),
    ("seq-type", lambda o: L.SequentialLR(o, [object()], []), TypeError, "is not an LRScheduler"),
    ("chain-empty", lambda o: L.ChainedScheduler([]), ValueError, "at least one scheduler"),
    (
        "chain-plateau",
        lambda o: L.ChainedScheduler([L.ReduceLROnPlateau(o)]),
        TypeError,
        "does not support ReduceLROnPlateau",
    ),
    (
        "chain-other-opt",
        lambda o: L.ChainedScheduler([L.ConstantLR(o), L.ConstantLR(_opt())]),
        ValueError,
        "belongs to a different optimizer",
    ),
    (
        "rop-factor",
        lambda o: L.ReduceLROnPlateau(o, factor=1.0),
        ValueError,
        r"factor must be in \[0, 1\)",
    ),
    (
        "rop-mode",
        lambda o: L.ReduceLROnPlateau(o, mode="low"),
        ValueError,
        "mode must be 'min' or 'max'",
    ),
    (
        "rop-tmode",
        lambda o: L.ReduceLROnPlateau(o, threshold_mode="x"),
        ValueError,
        "threshold_mode",
    ),
    ("rop-minlr", lambda o: L.ReduceLROnPlateau(o, min_lr=[0.0]), ValueError, "expected 2 min_lrs"),
    (
        "rop-patience",
        lambda o: L.ReduceLROnPlateau(o, patience=-1),
        ValueError,
        "patience must be >= 0",
    ),
    (
        "rop-cooldown",
        lambda o: L.ReduceLROnPlateau(o, cooldown=-1),
        ValueError,
        "cooldown must be >= 0",
    ),
]


@pytest.mark.parametrize(("name", "make", "exc", "msg"), BAD, ids=[b[0] for b in BAD])
def test_bad_arguments(name: str, make: Callable[[FakeOpt], Any], exc: type, msg: str) -> None:
    with pytest.raises(exc, match=msg):
        make(_opt())


@pytest.mark.parametrize(
    "make",
    [
        lambda o: L.CyclicLR(o, 0.1, 1.0),
        lambda o: L.OneCycleLR(o, 1.0, total_steps=10),
    ],
    ids=["cyclic", "onecycle"],
)
def test_cycle_momentum_needs_momentum(make: Callable[[FakeOpt], Any]) -> None:
    with pytest.raises(ValueError, match="cycle_momentum=True needs param groups with 'momentum'"):
        make(FakeOpt({"lr": 0.1}))
