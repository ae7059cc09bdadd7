"""Tests of fastoptim.schedules: closed forms, composition, errors, torch parity."""

from __future__ import annotations

import math
import pickle
import warnings
from typing import Any

import numpy as np
import pytest

from fastoptim import schedules as S

COUNTS = range(260)


def approx(x: float) -> object:
    # Only for comparisons against formulas written differently from the
    # implementation (different operation order => a few ulps apart).
    return pytest.approx(x, rel=1e-12, abs=1e-15)


# ----------------------------------------------------------------------------- closed forms


def test_constant() -> None:
    s = S.constant(0.25)
    assert [s(c) for c in (0, 1, 10**12)] == [0.25, 0.25, 0.25]


@pytest.mark.parametrize(("init", "size", "gamma"), [(0.1, 7, 0.5), (1.0, 1, 0.97), (3.0, 30, 0.1)])
def test_step_decay(init: float, size: int, gamma: float) -> None:
    s = S.step_decay(init, size, gamma)
    for c in COUNTS:
        assert s(c) == init * gamma ** (c // size)


def test_step_decay_default_gamma() -> None:
    s = S.step_decay(1.0, 10)
    assert (s(9), s(10), s(25)) == (1.0, 0.1, 1.0 * 0.1**2)


@pytest.mark.parametrize(
    ("milestones", "gamma"), [([10, 25, 80], 0.3), ([1, 2, 3], 0.5), ([], 0.1)]
)
def test_multi_step(milestones: list[int], gamma: float) -> None:
    s = S.multi_step(0.2, milestones, gamma)
    for c in COUNTS:
        n = sum(1 for m in milestones if m <= c)
        assert s(c) == 0.2 * gamma**n


@pytest.mark.parametrize("staircase", [False, True])
@pytest.mark.parametrize(("rate", "begin", "end"), [(0.5, 0, None), (0.9, 20, 0.3), (1.5, 5, 4.0)])
def test_exponential_decay(staircase: bool, rate: float, begin: int, end: float | None) -> None:
    init, steps = 2.0, 13
    s = S.exponential_decay(init, steps, rate, begin, staircase, end)
    for c in COUNTS:
        t = max(c - begin, 0)
        p = math.floor(t / steps) if staircase else t / steps
        want = init * rate**p
        if end is not None:
            want = max(want, end) if rate < 1 else min(want, end)
        assert s(c) == approx(want)


@pytest.mark.parametrize(("alpha", "exponent"), [(0.0, 1.0), (0.1, 1.0), (0.05, 2.0), (0.0, 0.5)])
def test_cosine_decay(alpha: float, exponent: float) -> None:
    init, steps = 0.3, 100
    s = S.cosine_decay(init, steps, alpha, exponent)
    for c in COUNTS:
        cos = (1 + math.cos(math.pi * min(c, steps) / steps)) / 2
        assert s(c) == approx(init * ((1 - alpha) * cos**exponent + alpha))
    assert s(0) == init
    assert s(steps) == approx(alpha * init)
    assert s(10**9) == s(steps)


def test_cosine_decay_midpoint() -> None:
    assert S.cosine_decay(1.0, 100)(50) == approx(0.5)


@pytest.mark.parametrize(("begin", "power"), [(0, 1.0), (5, 2.0), (17, 0.5)])
def test_polynomial(begin: int, power: float) -> None:
    init, end, steps = 1.0, 0.01, 100
    s = S.polynomial(init, end, power, steps, begin)
    for c in COUNTS:
        t = min(max(c - begin, 0), steps)
        assert s(c) == approx((init - end) * (1 - t / steps) ** power + end)
    assert s(begin + steps) == end


def test_polynomial_optax_doc_example() -> None:
    # The example printed in optax's polynomial_schedule docstring.
    s = S.polynomial(
        init_value=1.0, end_value=0.01, transition_steps=100, transition_begin=5, power=2
    )
    got = [f"{s(c):.4f}" for c in (0, 5, 6, 104, 105, 110)]
    assert got == ["1.0000", "1.0000", "0.9803", "0.0101", "0.0100", "0.0100"]


@pytest.mark.parametrize("begin", [0, 10])
def test_linear(begin: int) -> None:
    s = S.linear(0.0, 1.0, 40, begin)
    for c in COUNTS:
        assert s(c) == approx(min(max(c - begin, 0), 40) / 40)
    assert s(begin) == 0.0
    assert s(begin + 40) == 1.0
    assert s(begin + 20) == 0.5
    # linear is optax's polynomial with power 1, bit for bit.
    p = S.polynomial(0.0, 1.0, 1, 40, begin)
    assert [s(c) for c in COUNTS] == [p(c) for c in COUNTS]


def test_warmup_cosine() -> None:
    init, peak, end, w, d = 1e-4, 1e-2, 1e-3, 10, 110
    s = S.warmup_cosine(init, peak, w, d, end)
    for c in COUNTS:
        if c < w:
            want = init + (peak - init) * c / w
        else:
            t = min(c - w, d - w)
            want = end + (peak - end) * (1 + math.cos(math.pi * t / (d - w))) / 2
        assert s(c) == approx(want)
    assert (s(0), s(w)) == (init, peak)
    assert s(d) == approx(end)
    assert s(10**6) == s(d)


def test_warmup_cosine_without_warmup() -> None:
    s = S.warmup_cosine(0.0, 1.0, 0, 50)
    c = S.cosine_decay(1.0, 50)
    assert [s(i) for i in COUNTS] == [c(i) for i in COUNTS]


@pytest.mark.parametrize(
    ("pct", "div", "fdiv"), [(0.3, 25.0, 1e4), (0.1, 10.0, 100.0), (0.0, 4.0, 2.0)]
)
def test_one_cycle(pct: float, div: float, fdiv: float) -> None:
    steps, peak = 200, 0.5
    s = S.one_cycle(steps, peak, pct, div, fdiv)
    b = int(pct * steps)
    init, final = peak / div, peak / div / fdiv

    def cos_interp(start: float, end: float, p: float) -> float:
        return end + (start - end) / 2 * (math.cos(math.pi * p) + 1)

    for c in range(steps + 20):
        if c < b:
            want = cos_interp(init, peak, c / b)
        elif c < steps:
            want = cos_interp(peak, final, (c - b) / (steps - b))
        else:
            want = final
        assert s(c) == approx(want)
    assert s(0) == approx(init if b else peak)
    assert s(b) == approx(peak)


def test_one_cycle_full_warmup() -> None:
    # pct_start=1: the whole cycle ramps up, then the final value.
    s = S.one_cycle(10, 1.0, pct_start=1.0, div_factor=10.0, final_div_factor=10.0)
    assert s(0) == approx(0.1)
    assert s(9) < 1.0
    assert s(10) == approx(0.01)


@pytest.mark.parametrize(
    ("t0", "mult", "eta"), [(10, 1, 0.0), (5, 2, 1e-3), (1, 1, 0.0), (3, 3, 0.01)]
)
def test_cosine_restarts(t0: int, mult: int, eta: float) -> None:
    init = 0.1
    s = S.cosine_restarts(init, t0, mult, eta)
    start, period = 0, t0
    for c in range(2000):
        if c >= start + period:
            start, period = start + period, period * mult
        want = eta + (init - eta) * (1 + math.cos(math.pi * (c - start) / period)) / 2
        assert s(c) == want  # same arithmetic as the implementation
        if c == start:
            assert s(c) == init  # a restart returns to the initial value


# ----------------------------------------------------------------------------- composition


def test_join_shifts_counts() -> None:
    seen: list[tuple[str, int]] = []

    def rec(tag: str, value: float):
        def f(count: int) -> float:
            seen.append((tag, count))
            return value

        return f

    s = S.join([rec("a", 1.0), rec("b", 2.0), rec("c", 3.0)], [3, 5])
    assert [s(c) for c in range(7)] == [1.0, 1.0, 1.0, 2.0, 2.0, 3.0, 3.0]
    # Only the active schedule runs, and each one starts at its own count 0.
    assert seen == [("a", 0), ("a", 1), ("a", 2), ("b", 0), ("b", 1), ("c", 0), ("c", 1)]


def test_join_matches_warmup_cosine() -> None:
    w, d = 7, 60
    joined = S.join([S.linear(0.0, 1.0, w), S.cosine_decay(1.0, d - w, 0.1)], [w])
    s = S.warmup_cosine(0.0, 1.0, w, d, end_value=0.1)
    assert [joined(c) for c in COUNTS] == [s(c) for c in COUNTS]


def test_join_nested_and_numbers() -> None:
    inner = S.join([0.5, S.linear(0.5, 0.0, 10)], [5])
    s = S.join([S.constant(1.0), inner], [2])
    assert [s(c) for c in (0, 1, 2, 6, 7, 12, 17, 100)] == [1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.0, 0.0]


def test_join_boundary_zero_skips_first() -> None:
    s = S.join([S.constant(9.0), S.constant(1.0)], [0])
    assert s(0) == 1.0


def test_warmup_wraps_schedule() -> None:
    seen: list[int] = []

    def base(count: int) -> float:
        seen.append(count)
        return 1.0 / (1 + count)

    s = S.warmup(base, 4, init_value=0.2)
    assert seen == [0]  # the peak is read once, at construction
    seen.clear()
    assert [s(c) for c in range(4)] == [approx(0.2 + 0.8 * c / 4) for c in range(4)]
    assert seen == []
    assert [s(c) for c in range(4, 8)] == [1.0, 0.5, 1 / 3, 0.25]
    assert seen == [0, 1, 2, 3]


def test_warmup_of_value_and_zero_steps() -> None:
    s = S.warmup(0.1, 10)
    assert (s(0), s(5), s(10), s(1000)) == (0.0, 0.05, 0.1, 0.1)
    c = S.cosine_decay(1.0, 20)
    assert [S.warmup(c, 0)(i) for i in COUNTS] == [c(i) for i in COUNTS]


def test_warmup_approximates_warmup_cosine() -> None:
    w, d = 10, 100
    a = S.warmup(S.cosine_decay(1.0, d - w, 0.01), w, 0.0)
    b = S.warmup_cosine(0.0, 1.0, w, d, 0.01)
    for c in COUNTS:
        assert a(c) == approx(b(c))


# ----------------------------------------------------------------------------- count handling


ALL = [
    S.constant(0.1),
    S.step_decay(0.1, 5),
    S.multi_step(0.1, [3, 9]),
    S.exponential_decay(0.1, 10, 0.5, 3, True, 0.01),
    S.cosine_decay(0.1, 50, 0.1, 2.0),
    S.polynomial(0.1, 0.0, 2.0, 20, 3),
    S.linear(0.0, 0.1, 20),
    S.warmup(S.cosine_decay(0.1, 30), 5),
    S.warmup_cosine(0.0, 0.1, 5, 50, 0.001),
    S.one_cycle(100, 0.1),
    S.cosine_restarts(0.1, 10, 2, 0.001),
    S.join([S.constant(0.1), S.linear(0.1, 0.0, 10)], [5]),
]


@pytest.mark.parametrize("s", ALL, ids=lambda s: type(s).__name__)
def test_counts_and_return_type(s: S.Schedule) -> None:
    for c in (0, 1, 7, 63, 10**7):
        v = s(c)
        assert type(v) is float
        for np_count in (np.int64(c), np.int32(min(c, 2**31 - 1)), np.array(c)):
            assert s(np_count) == s(int(np_count))
    assert s(np.uint8(3)) == s(3)
    with pytest.raises(ValueError, match="count must be >= 0, got -1"):
        s(-1)
    with pytest.raises(ValueError, match="count must be >= 0"):
        s(np.int64(-5))
    for bad in (1.0, 2.5, "3", None, True, np.float64(2.0), np.bool_(True)):
        with pytest.raises(TypeError, match="count must be an integer"):
            s(bad)


@pytest.mark.parametrize("s", ALL, ids=lambda s: type(s).__name__)
def test_repr_eq_hash_pickle(s: S.Schedule) -> None:
    text = repr(s)
    assert text.startswith(type(s)._name + "(")
    rebuilt = eval(text, vars(S))  # repr is the call that rebuilds it
    assert rebuilt == s
    assert hash(rebuilt) == hash(s)
    clone = pickle.loads(pickle.dumps(s))
    assert clone == s
    assert [clone(c) for c in range(60)] == [s(c) for c in range(60)]
    assert s != S.constant(-1.0)
    assert isinstance(s, S.Schedule)


def test_numpy_arguments_become_floats() -> None:
    s = S.cosine_decay(np.float32(0.5), np.int64(10), alpha=np.float64(0.1))
    assert repr(s) == "cosine_decay(init_value=0.5, decay_steps=10, alpha=0.1, exponent=1.0)"
    assert type(s(3)) is float


def test_plain_callable_result_is_float() -> None:
    s = S.join([lambda c: np.float32(0.5), lambda c: 1], [2])
    assert [type(s(c)) for c in range(4)] == [float] * 4


# ----------------------------------------------------------------------------- errors


BAD = [
    (S.constant, ("x",), TypeError, "value must be a real number, got str"),
    (S.constant, (float("nan"),), ValueError, "value must be finite"),
    (S.constant, (True,), TypeError, "value must be a real number, got bool"),
    (S.step_decay, (0.1, 0), ValueError, "step_size must be >= 1, got 0"),
    (S.step_decay, (0.1, -3), ValueError, "step_size must be >= 1, got -3"),
    (S.step_decay, (0.1, 2.0), TypeError, "step_size must be an integer, got float"),
    (S.step_decay, (0.1, 5, "a"), TypeError, "gamma must be a real number"),
    (
        S.multi_step,
        (0.1, [5, 3]),
        ValueError,
        r"milestones must be strictly increasing, got \[5, 3\]",
    ),
    (S.multi_step, (0.1, [3, 3]), ValueError, "milestones must be strictly increasing"),
    (S.multi_step, (0.1, [0, 3]), ValueError, r"milestones\[0\] must be >= 1, got 0"),
    (S.multi_step, (0.1, [2, 4.5]), TypeError, r"milestones\[1\] must be an integer"),
    (S.multi_step, (0.1, 5), TypeError, "milestones must be a sequence of integers, got int"),
    (S.exponential_decay, (0.1, 0, 0.5), ValueError, "transition_steps must be >= 1, got 0"),
    (S.exponential_decay, (0.1, 10, 0.0), ValueError, "decay_rate must be > 0, got 0.0"),
    (S.exponential_decay, (0.1, 10, -0.5), ValueError, "decay_rate must be > 0"),
    (S.exponential_decay, (0.1, 10, 0.5, -1), ValueError, "transition_begin must be >= 0, got -1"),
    (S.exponential_decay, (0.1, 10, 0.5, 0, False, "x"), TypeError, "end_value must be a real"),
    (S.cosine_decay, (0.1, 0), ValueError, "decay_steps must be >= 1, got 0"),
    (S.cosine_decay, (0.1, 10, 0.0, 0.0), ValueError, "exponent must be > 0, got 0.0"),
    (S.cosine_decay, (0.1, 10, None), TypeError, "alpha must be a real number, got NoneType"),
    (S.polynomial, (1.0, 0.0, 2.0, 0), ValueError, "transition_steps must be >= 1, got 0"),
    (S.polynomial, (1.0, 0.0, -1.0, 10), ValueError, "power must be > 0, got -1.0"),
    (S.polynomial, (1.0, 0.0, 2.0, 10, -2), ValueError, "transition_begin must be >= 0, got -2"),
    (S.linear, (1.0, 0.0, 0), ValueError, "transition_steps must be >= 1, got 0"),
    (S.linear, (1.0, None, 10), TypeError, "end_value must be a real number"),
    (S.warmup, ("x", 5), TypeError, "schedule_or_value must be a schedule .callable. or a number"),
    (S.warmup, (0.1, -1), ValueError, "warmup_steps must be >= 0, got -1"),
    (S.warmup, (lambda c: None, 3), TypeError, r"schedule_or_value\(0\) must be a real number"),
    (S.warmup_cosine, (0.0, 1.0, 10, 10), ValueError, "decay_steps must be > warmup_steps"),
    (S.warmup_cosine, (0.0, 1.0, -1, 10), ValueError, "warmup_steps must be >= 0, got -1"),
    (S.warmup_cosine, (0.0, 1.0, 0, 0), ValueError, "decay_steps must be >= 1, got 0"),
    (S.one_cycle, (0, 1.0), ValueError, "transition_steps must be >= 1, got 0"),
    (S.one_cycle, (10, 1.0, 1.5), ValueError, r"pct_start must be in \[0, 1\], got 1.5"),
    (S.one_cycle, (10, 1.0, 0.3, 0.0), ValueError, "div_factor must be > 0, got 0.0"),
    (S.one_cycle, (10, 1.0, 0.3, 25.0, -1.0), ValueError, "final_div_factor must be > 0"),
    (S.cosine_restarts, (0.1, 0), ValueError, "first_period must be >= 1, got 0"),
    (S.cosine_restarts, (0.1, 10, 0), ValueError, "t_mult must be >= 1, got 0"),
    (S.cosine_restarts, (0.1, 10, 1.5), TypeError, "t_mult must be an integer, got float"),
    (S.join, ([], []), ValueError, "schedules must not be empty"),
    (S.join, ([0.1, 0.2], []), ValueError, "boundaries must have one entry less than schedules"),
    (S.join, ([0.1, 0.2, 0.3], [5, 5]), ValueError, "boundaries must be strictly increasing"),
    (S.join, ([0.1, 0.2], [-1]), ValueError, r"boundaries\[0\] must be >= 0, got -1"),
    (S.join, ([0.1, "x"], [3]), TypeError, r"schedules\[1\] must be a schedule"),
    (S.join, (S.constant(0.1), []), TypeError, "schedules must be a sequence"),
]


@pytest.mark.parametrize(("factory", "args", "exc", "msg"), BAD, ids=[b[3][:40] for b in BAD])
def test_bad_arguments(factory: Any, args: tuple, exc: type, msg: str) -> None:
    with pytest.raises(exc, match=msg):
        factory(*args)


# ----------------------------------------------------------------------------- torch parity


def _torch_lrs(make, steps: int, epoch_form: bool = False) -> list[float]:
    """lr sequence of a torch scheduler on one SGD group with lr 1.0."""
    torch = pytest.importorskip("torch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        sched = make(torch.optim.lr_scheduler, opt)
        out = [opt.param_groups[0]["lr"]]
        for e in range(1, steps):
            opt.step()
            sched.step(e) if epoch_form else sched.step()
            out.append(opt.param_groups[0]["lr"])
    return out


@pytest.mark.parametrize(
    ("t0", "mult", "eta"), [(10, 1, 0.0), (4, 2, 0.05), (1, 3, 0.0), (7, 1, 0.1)]
)
def test_cosine_restarts_equals_torch(t0: int, mult: int, eta: float) -> None:
    want = _torch_lrs(lambda m, o: m.CosineAnnealingWarmRestarts(o, t0, mult, eta), 400)
    s = S.cosine_restarts(1.0, t0, mult, eta)
    assert [s(c) for c in range(400)] == want  # exact: same arithmetic, integer bookkeeping


def test_step_and_multi_step_equal_torch_closed_form() -> None:
    want = _torch_lrs(lambda m, o: m.StepLR(o, 7, 0.5), 200, epoch_form=True)
    assert [S.step_decay(1.0, 7, 0.5)(c) for c in range(200)] == want
    want = _torch_lrs(lambda m, o: m.MultiStepLR(o, [10, 50, 120], 0.3), 200, epoch_form=True)
    assert [S.multi_step(1.0, [10, 50, 120], 0.3)(c) for c in range(200)] == want


def test_schedules_track_torch_recursive_schedulers() -> None:
    # torch's default step() is recursive (lr_t = lr_{t-1} * factor), which
    # rounds once per step; the closed forms here round once in total, so the
    # sequences agree to ~steps ulps, well inside rel 1e-12.
    n = 150
    cases = [
        (lambda m, o: m.StepLR(o, 7, 0.5), S.step_decay(1.0, 7, 0.5)),
        (lambda m, o: m.MultiStepLR(o, [10, 50], 0.3), S.multi_step(1.0, [10, 50], 0.3)),
        (lambda m, o: m.ExponentialLR(o, 0.97), S.exponential_decay(1.0, 1, 0.97)),
        (lambda m, o: m.LinearLR(o, 0.1, 1.0, 40), S.linear(0.1, 1.0, 40)),
        (lambda m, o: m.PolynomialLR(o, 100, 2.0), S.polynomial(1.0, 0.0, 2.0, 100)),
        (lambda m, o: m.CosineAnnealingLR(o, n - 1, 0.01), S.cosine_decay(1.0, n - 1, 0.01)),
    ]
    for make, sched in cases:
        want = _torch_lrs(make, n)
        assert [sched(c) for c in range(n)] == [approx(w) for w in want], repr(sched)
