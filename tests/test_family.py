"""The optimizer family of issue 3 — Adagrad, RMSprop, Adamax, NAdam, RAdam, Adadelta, Lion:
native == reference bit for bit, parity with torch.optim (Lion: with the paper's algorithm),
validation, state dicts."""

from __future__ import annotations

import contextlib
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastoptim as fo
from conftest import ISAS, assert_native_matches_reference, running_on

NAMES = ["Adagrad", "RMSprop", "Adamax", "NAdam", "RAdam", "Adadelta", "Lion"]


def run_steps(cls, options, init, grads, isa=None):
    """cls(copies of init, **options) after a step per entry of grads (on ISA `isa`)."""
    params = [p.copy(order="K") for p in init]
    opt = cls(params, **options)
    with running_on(isa or fo.isa(), 1), np.errstate(all="ignore"):
        for gs in grads:
            opt.step(gs)
    return params, opt


def assert_same(a, b, what=""):
    """Two (params, optimizer) pairs hold the same bits: params, every state entry (buffers,
    step, NAdam's mu_product) and the options. NaNs compare equal."""
    (pa, oa), (pb, ob) = a, b
    sa, sb = oa.state_dict(), ob.state_dict()
    assert sa["param_groups"] == sb["param_groups"], what
    assert sa["state"].keys() == sb["state"].keys(), what
    for i, (x, y) in enumerate(zip(pa, pb)):
        assert np.array_equal(x, y, equal_nan=True), (what, i)
        assert sa["state"][i].keys() == sb["state"][i].keys(), (what, i)
        for key, v in sa["state"][i].items():
            assert np.array_equal(v, sb["state"][i][key], equal_nan=True), (what, i, key)

# ------------------------------------------------------------------ native == reference
# Every combination of options that selects another loop variant in the kernels (a flag) or
# another coefficient path: weight decay (L2 / decoupled), maximize, centered, momentum,
# torch's lerp branch (weight 1 - beta1 or 1 - alpha >= 0.5), Adagrad's initial sum.
BITWISE = [
    ("Adagrad", dict()),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.1, initial_accumulator_value=0.5,
                     maximize=True)),
    ("RMSprop", dict()),
    ("RMSprop", dict(centered=True)),
    ("RMSprop", dict(centered=True, alpha=0.3, momentum=0.9)),
    ("RMSprop", dict(momentum=0.9, weight_decay=0.1, maximize=True)),
    ("RMSprop", dict(centered=True, momentum=0.5, weight_decay=0.1, eps=1e-3)),
    ("Adamax", dict()),
    ("Adamax", dict(betas=(0.3, 0.5), weight_decay=0.1, maximize=True)),
    ("NAdam", dict()),
    ("NAdam", dict(weight_decay=0.1, momentum_decay=0.01)),
    ("NAdam", dict(betas=(0.2, 0.9), weight_decay=0.1, decoupled_weight_decay=True,
                   maximize=True)),
    # 8 steps: rho_t > 5 from step 6 (beta2 >= 0.95), so both of RAdam's branches run.
    ("RAdam", dict()),
    ("RAdam", dict(betas=(0.3, 0.95), weight_decay=0.1, maximize=True)),
    ("RAdam", dict(betas=(0.9, 0.99), weight_decay=0.1, decoupled_weight_decay=True)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.2, weight_decay=0.1, maximize=True)),
    ("Lion", dict()),
    ("Lion", dict(lr=0.01, betas=(0.3, 0.5), weight_decay=0.5, maximize=True)),
]


@pytest.mark.parametrize("name, options", BITWISE, ids=[f"{n}-{o}" for n, o in BITWISE])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_native_equals_reference_bitwise(name, options, dtype):
    assert_native_matches_reference(name, options, dtype, steps=8)


def test_radam_cases_cover_both_branches():
    """The RAdam cases above switch from the un-adapted to the rectified update mid-run."""
    for _, options in (c for c in BITWISE if c[0] == "RAdam"):
        beta2 = options.get("betas", (0.9, 0.999))[1]
        rho_inf = 2 / (1 - beta2) - 1
        rho = [rho_inf - 2 * t * beta2**t / (1 - beta2**t) for t in range(1, 9)]
        assert rho[0] <= 5 < rho[-1]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nonfinite_and_extreme_values_give_the_same_bits(name, dtype):
    """inf, NaN, huge, tiny and subnormal values in params and grads take the same path on
    every ISA as in NumPy (Adamax's NaN-propagating max, Lion's sign of NaN, sqrt of negative
    and infinite values...): params and state, bit for bit."""
    assert_extreme_values_match(name, dict(lr=0.1, weight_decay=0.1), dtype)


def assert_extreme_values_match(name, options, dtype):
    """fo.<name>(**options) on every ISA == fo.reference.<name> with special values (0, -0,
    subnormals, huge, inf, NaN) in params and grads, over 3 steps."""
    special = np.array([0.0, -0.0, 1e-45, -1e-40, 1e-30, 3e38, -3e38, np.inf, -np.inf, np.nan,
                        1.0, -1.0, 1e5, 1e-5, 7.0, -2.5, 0.5], dtype=dtype)
    rng = np.random.default_rng(1)
    init = [np.tile(special, 5)]
    grads = [[rng.permutation(init[0])] for _ in range(3)]
    expected = run_steps(getattr(fo.reference, name), options, init, grads)
    for isa in ISAS:
        assert_same(run_steps(getattr(fo, name), options, init, grads, isa), expected, isa)


# --------------------------------------------------------------- hypothesis: random cases
unit = st.floats(0.0, 0.999)
small = st.floats(0.0, 0.1)
eps = st.sampled_from([0.0, 1e-12, 1e-8, 1e-3])
flag = st.booleans()
OPTIONS = {
    "Adagrad": st.fixed_dictionaries({
        "lr": st.floats(0.0, 1.0), "lr_decay": small, "weight_decay": small,
        "initial_accumulator_value": st.floats(0.0, 1.0), "eps": eps, "maximize": flag}),
    "RMSprop": st.fixed_dictionaries({
        "lr": st.floats(0.0, 1.0), "alpha": unit, "eps": eps, "weight_decay": small,
        "momentum": st.sampled_from([0.0, 0.5, 0.9]), "centered": flag, "maximize": flag}),
    "Adamax": st.fixed_dictionaries({
        "lr": st.floats(0.0, 1.0), "betas": st.tuples(unit, unit), "eps": eps,
        "weight_decay": small, "maximize": flag}),
    "NAdam": st.fixed_dictionaries({
        "lr": st.floats(0.0, 1.0), "betas": st.tuples(unit, unit), "eps": eps,
        "weight_decay": small, "momentum_decay": st.floats(0.0, 0.1),
        "decoupled_weight_decay": flag, "maximize": flag}),
    "RAdam": st.fixed_dictionaries({
        "lr": st.floats(0.0, 1.0), "betas": st.tuples(unit, unit), "eps": eps,
        "weight_decay": small, "decoupled_weight_decay": flag, "maximize": flag}),
    "Adadelta": st.fixed_dictionaries({
        "lr": st.floats(0.0, 2.0), "rho": unit, "eps": eps, "weight_decay": small,
        "maximize": flag}),
    "Lion": st.fixed_dictionaries({
        "lr": st.floats(0.0, 1.0), "betas": st.tuples(unit, unit), "weight_decay": small,
        "maximize": flag}),
}
shapes = st.lists(st.integers(0, 40), min_size=0, max_size=3).map(tuple)


@settings(max_examples=70, deadline=None)
@given(data=st.data(), name=st.sampled_from(NAMES), n_params=st.integers(1, 3),
       dtype=st.sampled_from([np.float32, np.float64]), fortran=st.booleans(),
       g_exp=st.floats(-8.0, 3.0), steps=st.integers(1, 8), seed=st.integers(0, 2**32 - 1))
def test_native_equals_reference_random(data, name, n_params, dtype, fortran, g_exp, steps,
                                        seed):
    """Random shapes and memory orders, hyperparameters in range, gradient scales 1e-8..1e3:
    the native step on every ISA == the NumPy reference, bit for bit (params and state)."""
    options = data.draw(OPTIONS[name])
    rng = np.random.default_rng(seed)
    order = "F" if fortran else "C"
    shp = [data.draw(shapes) for _ in range(n_params)]
    init = [np.asarray(rng.standard_normal(s), dtype=dtype, order=order) for s in shp]
    grads = [[np.asarray(rng.standard_normal(s) * 10.0**g_exp, dtype=dtype, order=order)
              for s in shp] for _ in range(steps)]

    expected = run_steps(getattr(fo.reference, name), options, init, grads)
    for isa in ISAS:
        assert_same(run_steps(getattr(fo, name), options, init, grads, isa), expected, isa)


# ------------------------------------------------------------------ parity with torch.optim
STEPS = 30

# (name, options, tiny-gradient scale): the scale at which eps is comparable to the
# denominator it guards (Adagrad's eps 1e-10 vs sqrt(sum); Adadelta's 1e-6 vs the averages of
# squares), so placing eps anywhere else changes the update by far more than the tolerance.
TORCH_CASES = [
    ("Adagrad", dict(), 1e-10),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.1, initial_accumulator_value=0.5,
                     maximize=True), 1e-5),
    ("RMSprop", dict(), 1e-8),
    ("RMSprop", dict(centered=True, momentum=0.9, weight_decay=0.1), 1e-8),
    ("RMSprop", dict(alpha=0.3, centered=True), 1e-8),
    ("RMSprop", dict(momentum=0.5, maximize=True), 1e-8),
    ("Adamax", dict(), 1e-8),
    ("Adamax", dict(betas=(0.3, 0.5), weight_decay=0.1, maximize=True), 1e-8),
    ("NAdam", dict(), 1e-8),
    ("NAdam", dict(betas=(0.2, 0.9), weight_decay=0.1, decoupled_weight_decay=True), 1e-8),
    ("NAdam", dict(weight_decay=0.1, momentum_decay=0.01, maximize=True), 1e-8),
    ("RAdam", dict(), 1e-8),
    ("RAdam", dict(betas=(0.9, 0.5), weight_decay=0.1), 1e-8),
    ("RAdam", dict(betas=(0.3, 0.99), weight_decay=0.1, decoupled_weight_decay=True,
                   maximize=True), 1e-8),
    ("Adadelta", dict(), 1e-3),
    ("Adadelta", dict(lr=0.5, rho=0.2, weight_decay=0.1, maximize=True), 1e-3),
]
TORCH_IDS = [f"{n}-{o}" for n, o, _ in TORCH_CASES]

# Tolerances. torch's CPU kernels round a few operations differently (its vectorized lerp and
# addcmul use fused multiply-add; we never fuse): ~1 ulp per operation, accumulated over STEPS.
# float64: compared on the displacement p - p0, relative to its largest element per array
# (elements whose displacement nearly cancels over the steps would make an element-wise
# relative error meaningless): measured <= 6e-13, bound 1e-10. float32: on the params
# themselves (|p| <= 4, ulp <= 4.8e-7): measured <= 5e-7, bound 2e-5 (40 ulp). A formula
# error (eps placement, bias correction, decay order, the lerp weight) shows at 1e-3..1 with
# the tiny float64 gradients (test_tolerance_sees_eps).
# float64 runs set torch's default dtype to float64: torch keeps NAdam's mu_product (and the
# step count) in its default dtype, float32 otherwise, which alone moves NAdam by ~3e-7
# relative; fastoptim always keeps mu_product in float64.
RTOL64, ATOL32 = 1e-10, 2e-5


@contextlib.contextmanager
def torch_default_dtype(torch, dtype):
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64 if dtype == np.float64 else torch.float32)
    try:
        yield
    finally:
        torch.set_default_dtype(before)


def torch_trajectory(name, options, init, grads):
    torch = pytest.importorskip("torch")
    theirs = [torch.tensor(p.copy(), requires_grad=True) for p in init]
    with torch_default_dtype(torch, init[0].dtype), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        topt = getattr(torch.optim, name)(theirs, foreach=False, **options)
        for gs in grads:
            for t, g in zip(theirs, gs):
                t.grad = torch.from_numpy(g.copy())
            topt.step()
    return [t.detach().numpy() for t in theirs]


def problem(dtype, scale, seed=0, steps=STEPS):
    rng = np.random.default_rng(seed)
    shapes = [(7, 5), (33,), (1,)]
    init = [rng.standard_normal(s).astype(dtype) for s in shapes]
    grads = [[(rng.standard_normal(s) * scale).astype(dtype) for s in shapes]
             for _ in range(steps)]
    return init, grads


def ours_trajectory(cls, options, init, grads):
    return run_steps(cls, options, init, grads)[0]


def displacement_error(ours, theirs, init):
    """Largest |ours - theirs| of the displacement, relative to the largest displacement."""
    return max(np.max(np.abs((a - p0) - (b - p0))) / np.max(np.abs(b - p0))
               for a, b, p0 in zip(ours, theirs, init))


@pytest.mark.parametrize("name, options, tiny", TORCH_CASES, ids=TORCH_IDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matches_torch(name, options, tiny, dtype):
    init, grads = problem(dtype, 1.0)
    theirs = torch_trajectory(name, options, init, grads)
    ours = ours_trajectory(getattr(fo, name), options, init, grads)
    if dtype == np.float64:
        assert displacement_error(ours, theirs, init) <= RTOL64
    else:
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a, b, rtol=0, atol=ATOL32)


@pytest.mark.parametrize("name, options, tiny", TORCH_CASES, ids=TORCH_IDS)
def test_matches_torch_tiny_gradients_float64(name, options, tiny):
    """Gradients so small that eps is comparable to the denominator: the eps placement (inside
    or outside the square root, before or after the bias correction) decides the result."""
    init, grads = problem(np.float64, tiny)
    theirs = torch_trajectory(name, options, init, grads)
    ours = ours_trajectory(getattr(fo, name), options, init, grads)
    assert displacement_error(ours, theirs, init) <= RTOL64


# Where eps plays no part: Adagrad with a sum starting at 0.5 (sqrt(sum) >= 0.7 at any
# gradient scale), RAdam with beta2 = 0.5 (rho_inf = 3: never rectified, so never divided).
EPS_CASES = [c for c in TORCH_CASES if not c[1].get("initial_accumulator_value")
             and c[1].get("betas", (0, 0.9))[1] != 0.5]


@pytest.mark.parametrize("name, options, tiny", EPS_CASES,
                         ids=[f"{n}-{o}" for n, o, _ in EPS_CASES])
def test_tolerance_sees_eps(name, options, tiny):
    """At the tiny-gradient scale, eps moves the trajectory by far more than RTOL64: doubling
    it changes the result by > 1e4 x the tolerance, so an eps placed elsewhere would fail."""
    init, grads = problem(np.float64, tiny)
    eps = options.get("eps", getattr(fo, name)([np.zeros(1)]).defaults["eps"])
    a = ours_trajectory(getattr(fo, name), options, init, grads)
    b = ours_trajectory(getattr(fo, name), {**options, "eps": 2 * eps}, init, grads)
    assert displacement_error(a, b, init) > 1e4 * RTOL64


def test_lion_is_not_in_torch_or_matches_it():
    """Lion is not in torch.optim 2.13; should a later torch add it, compare with it."""
    torch = pytest.importorskip("torch")
    if not hasattr(torch.optim, "Lion"):
        return
    options = dict(lr=1e-3, betas=(0.9, 0.99), weight_decay=0.1)
    init, grads = problem(np.float64, 1.0)
    ours = ours_trajectory(fo.Lion, options, init, grads)
    theirs = torch_trajectory("Lion", options, init, grads)
    assert displacement_error(ours, theirs, init) <= RTOL64


# ------------------------------------------------------------------------------- Lion
def lion_paper(init, grads, lr, beta1, beta2, wd, maximize=False):
    """Chen et al. 2023, Algorithm 2 (Lion with decoupled weight decay), transcribed:
        c_t = beta1 m_{t-1} + (1 - beta1) g_t
        theta_t = theta_{t-1} - eta_t (sign(c_t) + lambda theta_{t-1})
        m_t = beta2 m_{t-1} + (1 - beta2) g_t
    """
    params = [p.copy() for p in init]
    ms = [np.zeros_like(p) for p in init]
    for gs in grads:
        for k, g in enumerate(gs):
            g = -g if maximize else g
            c = beta1 * ms[k] + (1 - beta1) * g
            if wd:
                params[k] = params[k] - lr * (np.sign(c) + wd * params[k])
            else:
                params[k] = params[k] - lr * np.sign(c)
            ms[k] = beta2 * ms[k] + (1 - beta2) * g
    return params


@pytest.mark.parametrize("maximize", [False, True])
def test_lion_matches_the_paper_exactly_without_weight_decay(maximize):
    """Without weight decay the paper's operations are ours, one for one (p * 1 is exact): the
    same bits in float64."""
    init, grads = problem(np.float64, 1.0)
    options = dict(lr=3e-3, betas=(0.9, 0.99), maximize=maximize)
    expected = lion_paper(init, grads, 3e-3, 0.9, 0.99, 0.0, maximize)
    for cls in (fo.Lion, fo.reference.Lion):
        for a, b in zip(ours_trajectory(cls, options, init, grads), expected):
            assert np.array_equal(a, b)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_lion_matches_the_paper_with_weight_decay(dtype):
    """With weight decay we compute p * (1 - lr wd) - lr sign(c), the paper
    p - lr (sign(c) + wd p): one rounding apart per step. float64: 30 steps x ~1 ulp of |p|
    (<= 4) stays below 1e-13; float32 (the paper's algorithm run in float64 on the same float32
    inputs): ~1 ulp (4.8e-7 at |p| <= 4) per step, below 2e-5 in 30 steps."""
    init, grads = problem(dtype, 1.0)
    options = dict(lr=3e-3, betas=(0.8, 0.95), weight_decay=0.5)
    expected = lion_paper([p.astype(np.float64) for p in init],
                          [[g.astype(np.float64) for g in gs] for gs in grads],
                          3e-3, 0.8, 0.95, 0.5)
    ours = ours_trajectory(fo.Lion, options, init, grads)
    for a, b in zip(ours, expected):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-13 if dtype == np.float64 else 2e-5)


@pytest.mark.parametrize("cls", [fo.Lion, fo.reference.Lion], ids=["native", "reference"])
def test_lion_sign_of_zero_is_zero(cls):
    """A zero gradient on zero momentum gives sign(0) = 0: the param does not move (and
    without weight decay it stays exactly where it is); other elements move by exactly lr."""
    p = np.array([1.0, -2.0, 3.0, 0.5, 0.0, -0.0], np.float32)
    g = np.array([0.0, -0.0, 0.0, 1.0, 0.0, -1.0], np.float32)
    start = p.copy()
    opt = cls([p], lr=0.25)
    opt.step([g])
    lr = np.float32(0.25)
    assert np.array_equal(p[:3], start[:3])
    assert p[3] == start[3] - lr and p[5] == lr
    assert p[4] == 0.0
    assert np.array_equal(opt.state[p]["exp_avg"][:3], np.zeros(3, np.float32))
    opt.step([np.zeros_like(p)])  # momentum alone now moves the elements it holds
    assert np.array_equal(p[:3], start[:3])
    assert p[3] == start[3] - 2 * lr


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_lion_nan_gradient_leaves_the_param(dtype):
    """sign(NaN) = 0 (np.sign gives NaN; the reference computes the kernel's sign): the element
    keeps its value, the NaN stays in exp_avg, and the other elements move as usual."""
    p = np.array([1.0, 2.0, 3.0], dtype)
    g = np.array([np.nan, 1.0, -1.0], dtype)
    ref = p.copy()
    opt, ref_opt = fo.Lion([p], lr=0.5), fo.reference.Lion([ref], lr=0.5)
    for _ in range(2):
        opt.step([g])
        ref_opt.step([g])
    assert np.array_equal(p, np.array([1.0, 1.0, 4.0], dtype))
    assert np.array_equal(p, ref)
    assert np.isnan(opt.state[p]["exp_avg"][0])


# ---------------------------------------------------------------------------- validation
GOOD = {
    "Adagrad": dict(lr=0.1, weight_decay=0.1),
    "RMSprop": dict(lr=0.01, momentum=0.9, centered=True),
    "Adamax": dict(lr=0.01),
    "NAdam": dict(lr=0.01),
    "RAdam": dict(lr=0.01),
    "Adadelta": dict(lr=1.0),
    "Lion": dict(lr=0.01, weight_decay=0.1),
}
BAD = [(name, key, value, ValueError) for name in NAMES
       for key, value in [("lr", -1.0), ("lr", float("nan")), ("weight_decay", -0.1),
                          ("weight_decay", float("inf"))]]
BAD += [(name, key, value, TypeError) for name in NAMES
        for key, value in [("lr", "0.1"), ("weight_decay", None), ("maximize", 1)]]
BAD += [(name, "eps", value, ValueError) for name in NAMES if name != "Lion"
        for value in (-1e-8, float("nan"))]
BAD += [(name, "betas", value, exc) for name in ("Adamax", "NAdam", "RAdam", "Lion")
        for value, exc in [((1.0, 0.9), ValueError), ((0.9, -0.1), ValueError),
                           ((0.9, float("nan")), ValueError), (0.9, TypeError),
                           ((0.9, "0.9"), TypeError), ((0.9,), TypeError)]]
BAD += [
    ("Adagrad", "lr_decay", -0.01, ValueError),
    ("Adagrad", "initial_accumulator_value", -1.0, ValueError),
    ("Adagrad", "initial_accumulator_value", float("nan"), ValueError),
    ("RMSprop", "alpha", 1.0, ValueError),
    ("RMSprop", "alpha", -0.5, ValueError),
    ("RMSprop", "alpha", float("nan"), ValueError),
    ("RMSprop", "momentum", -0.9, ValueError),
    ("RMSprop", "centered", "yes", TypeError),
    ("NAdam", "momentum_decay", -4e-3, ValueError),
    ("NAdam", "decoupled_weight_decay", "yes", TypeError),
    ("RAdam", "decoupled_weight_decay", None, TypeError),
    ("Adadelta", "rho", 1.0, ValueError),
    ("Adadelta", "rho", 1.5, ValueError),
    ("Adadelta", "rho", -0.1, ValueError),
    ("Adadelta", "rho", "0.9", TypeError),
]
BAD_IDS = [f"{n}-{k}={v!r}" for n, k, v, _ in BAD]


@pytest.mark.parametrize("name, key, value, exc", BAD, ids=BAD_IDS)
def test_bad_hyperparameter_refused_with_nothing_changed(name, key, value, exc):
    cls = getattr(fo, name)
    init, grads = problem(np.float32, 1.0, steps=2)
    with pytest.raises(exc, match=rf"param_groups\[0\]: {key}"):
        cls([p.copy() for p in init], **{**GOOD[name], key: value})
    live = run_steps(cls, GOOD[name], init, grads[:1])
    twin = run_steps(cls, GOOD[name], init, grads[:1])
    opt = live[1]
    good_value = opt.param_groups[0][key]
    opt.param_groups[0][key] = value
    with pytest.raises(exc, match=rf"param_groups\[0\]: {key}"):
        opt.step(grads[1])
    with pytest.raises(exc, match=rf"param_groups\[1\]: {key}"):
        opt.add_param_group({"params": [np.zeros(3, np.float32)], key: value})
    opt.param_groups[0][key] = good_value
    assert_same(live, twin)
    # The run continues as if the failed step had never been tried.
    opt.step(grads[1])
    twin[1].step(grads[1])
    assert_same(live, twin)


def mu(t, beta1=0.9, psi=4e-3):
    return beta1 * (1.0 - 0.5 * 0.96 ** (t * psi))


def test_failed_step_does_not_advance_nadam_mu_product():
    init, grads = problem(np.float32, 1.0, steps=2)
    live = run_steps(fo.NAdam, {}, init, grads[:1])
    twin = run_steps(fo.NAdam, {}, init, grads[:1])
    assert live[1].state[live[0][0]]["mu_product"] == mu(1)
    with pytest.raises(ValueError, match="shape"):
        live[1].step(grads[1][:2] + [np.zeros(5, np.float32)])
    assert_same(live, twin)
    live[1].step(grads[1])
    assert live[1].state[live[0][2]]["mu_product"] == mu(1) * mu(2)


# ---------------------------------------------------------------------------- state dicts
RESUME = [
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.3)),
    ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True)),
    ("Adamax", dict(lr=0.01)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1)),
    ("RAdam", dict(lr=0.01, betas=(0.9, 0.95))),
    ("Adadelta", dict(lr=1.0, weight_decay=0.1)),
    ("Lion", dict(lr=0.01, weight_decay=0.1)),
]


@pytest.mark.parametrize("name, options", RESUME, ids=[c[0] for c in RESUME])
@pytest.mark.parametrize("backends", [("", ""), ("", "reference"), ("reference", "")])
def test_resume_is_bit_exact(name, options, backends):
    """Stopping after 5 steps, saving and loading into a new optimizer (native or reference)
    gives the same bits after 10 steps as never stopping: params and all state."""
    first, second = (getattr(fo.reference if b else fo, name) for b in backends)
    init, grads = problem(np.float32, 1.0, steps=10)
    straight = run_steps(getattr(fo, name), options, init, grads)
    params, opt = run_steps(first, options, init, grads[:5])
    resumed = second([p.copy() for p in params], lr=123.0)  # options come from the state dict
    resumed.load_state_dict(opt.state_dict())
    for gs in grads[5:]:
        resumed.step(gs)
    assert_same((resumed.param_groups[0]["params"], resumed), straight)


def test_nadam_state_dict_carries_mu_product():
    init, grads = problem(np.float32, 1.0, steps=4)
    params, opt = run_steps(fo.NAdam, {}, init, [])
    assert opt.state_dict()["state"] == {}
    for gs in grads[:3]:
        opt.step(gs)
    sd = opt.state_dict()
    for entry in sd["state"].values():
        assert set(entry) == {"step", "exp_avg", "exp_avg_sq", "mu_product"}
        assert type(entry["mu_product"]) is float
        assert entry["mu_product"] == mu(1) * mu(2) * mu(3)
    # A 0-d array (torch's tensor, converted) is accepted too.
    for entry in sd["state"].values():
        entry["mu_product"] = np.array(entry["mu_product"])
    other = fo.NAdam([p.copy() for p in params])
    other.load_state_dict(sd)
    opt.step(grads[3])
    other.step(grads[3])
    assert_same((other.param_groups[0]["params"], other), (params, opt))


@pytest.mark.parametrize("edit, message", [
    (lambda entry: entry.pop("mu_product"), "no 'mu_product'"),
    (lambda entry: entry.update(mu_product=1.5), "mu_product"),
    (lambda entry: entry.update(mu_product="x"), "mu_product"),
    (lambda entry: entry.update(mu_product=0.5), "differs"),
    (lambda entry: entry.update(step=-1), "'step'"),
], ids=["missing", "range", "type", "uneven", "bad step"])
def test_nadam_bad_mu_product_refused_with_nothing_changed(edit, message):
    init, grads = problem(np.float32, 1.0, steps=2)
    sd = run_steps(fo.NAdam, {}, init, grads)[1].state_dict()
    edit(sd["state"][1])
    live = run_steps(fo.NAdam, {}, init, grads[:1])
    twin = run_steps(fo.NAdam, {}, init, grads[:1])
    with pytest.raises(ValueError, match=message):
        live[1].load_state_dict(sd)
    assert_same(live, twin)


def test_nadam_mu_product_per_group_and_new_groups():
    init, grads = problem(np.float32, 1.0, steps=2)
    params = [p.copy() for p in init]
    opt = fo.NAdam([{"params": params[:2]}, {"params": params[2:], "betas": (0.5, 0.9)}])
    opt.step(grads[0])
    assert opt.state[params[0]]["mu_product"] == mu(1)
    assert opt.state[params[2]]["mu_product"] == mu(1, beta1=0.5)
    extra = np.ones(3, np.float32)
    opt.add_param_group({"params": [extra]})
    opt.step(grads[1] + [np.ones(3, np.float32)])
    assert opt.state[params[2]]["mu_product"] == mu(1, beta1=0.5) * mu(2, beta1=0.5)
    # A group added later has its own step count (fastoptim keeps one per group) and its own
    # product, starting at 1.
    assert opt.state[extra]["step"] == 1 and opt.state[extra]["mu_product"] == mu(1)


# ------------------------------------------------------------------------------ API shape
def test_exports_and_defaults():
    expected = {
        "Adagrad": dict(lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0,
                        eps=1e-10, maximize=False, decoupled_weight_decay=False,
                        eps_in_sqrt=False),
        "RMSprop": dict(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                        centered=False, maximize=False, decoupled_weight_decay=False,
                        eps_in_sqrt=False, lr_in_momentum=False, initial_square_avg=0.0),
        "Adamax": dict(lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, maximize=False,
                       decoupled_weight_decay=False, eps_in_max=True),
        "NAdam": dict(lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                      momentum_decay=4e-3, decoupled_weight_decay=False, maximize=False,
                      momentum_schedule=True, eps_root=0.0),
        "RAdam": dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                      decoupled_weight_decay=False, maximize=False),
        "Adadelta": dict(lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, maximize=False,
                         decoupled_weight_decay=False),
        "Lion": dict(lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0, maximize=False),
    }
    for name, defaults in expected.items():
        assert name in fo.__all__ and name in fo.reference.__all__
        for cls in (getattr(fo, name), getattr(fo.reference, name)):
            assert cls([np.zeros(2)]).defaults == defaults, name
            assert "Source:" in cls.__doc__, name


def test_defaults_match_torch():
    torch = pytest.importorskip("torch")
    param = [torch.zeros(2, requires_grad=True)]
    for name in NAMES:
        if not hasattr(torch.optim, name):
            continue
        theirs = getattr(torch.optim, name)(param).defaults
        for key, value in getattr(fo, name)([np.zeros(2)]).defaults.items():
            if key in CONVENTION_OPTIONS and key not in theirs:
                continue  # other libraries' forms (tests/test_conventions.py); off by default
            assert theirs[key] == value, (name, key)


# Options for the other libraries' formulas, which torch.optim does not have.
CONVENTION_OPTIONS = {"decoupled_weight_decay", "eps_in_sqrt", "lr_in_momentum",
                      "initial_square_avg", "eps_in_max", "momentum_schedule", "eps_root"}
